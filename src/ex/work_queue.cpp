// ExQueueWorkItem and the worker threads behind it (and behind IoQueueWorkItem,
// io/work_item.cpp): ExInitializeWorkItem's item, queued through its own list entry,
// its routine called at PASSIVE_LEVEL on a system thread.
#include "ex/work_queue.hpp"

#include <cstdio>

#include <fmt/format.h>

#include "ke/objects.hpp"
#include "ps/thread.hpp"
#include "system.hpp"
#include "verifier/report.hpp"

namespace ntio::ex {
namespace {

void worker_main(void* context) { static_cast<WorkQueue*>(context)->run_worker(); }

// The calling worker's slot (running_in leaves out the thread that asks: a routine that
// unloads its own driver cannot wait for itself).
thread_local int t_slot = -1;

bool in(PWORKER_THREAD_ROUTINE routine, uintptr_t begin, uintptr_t end) {
    auto a = reinterpret_cast<uintptr_t>(routine);
    return a >= begin && a < end;
}

}  // namespace

WorkQueue::WorkQueue() {
    InitializeListHead(&m_items);
    KeInitializeSemaphore(&m_ready, 0, MAXLONG);
}

void WorkQueue::queue(PWORK_QUEUE_ITEM item) {
    bool wake = false, start = false;
    m_lock.lock();
    InsertTailList(&m_items, &item->List);
    if (m_idle > 0) {
        --m_idle;  // claimed: that worker takes this item or another one
        wake = true;
    } else if (!m_stopping && m_workers.size() < kMaxWorkers) {
        m_workers.push_back(nullptr);  // its place, filled once the thread exists
        ++m_live;
        start = true;
    }
    bool stopped = m_stopping && m_live == 0;
    m_lock.unlock();
    if (stopped) [[unlikely]]
        std::fprintf(stderr, "ntio: a work item was queued after the runtime stopped its worker threads; "
                             "its routine does not run\n");
    if (wake) KeReleaseSemaphore(&m_ready, IO_NO_INCREMENT, 1, FALSE);
    if (!start) return;
    ps::StartInfo info{_KTHREAD::Entry::system, reinterpret_cast<void*>(&worker_main), this, true, false, 0};
    _KTHREAD* t = nullptr;
    if (!NT_SUCCESS(ps::create_thread(sys(), info, &t))) {
        std::fprintf(stderr, "ntio: cannot start a worker thread for a work item\n");
        std::abort();
    }
    m_lock.lock();
    for (_KTHREAD*& w : m_workers)
        if (!w) {
            w = t;
            break;
        }
    m_lock.unlock();
}

void WorkQueue::run_worker() {
    m_lock.lock();
    // At most kMaxWorkers threads are ever started (queue() counts them), so a slot is free.
    const unsigned slot = m_slots_taken++;
    m_lock.unlock();
    t_slot = static_cast<int>(slot);
    for (;;) {
        m_lock.lock();
        m_slots[slot].routine = nullptr;  // the previous item (if any) has returned
        m_slots[slot].item = nullptr;
        if (IsListEmpty(&m_items)) {
            if (m_stopping) {
                --m_live;
                m_lock.unlock();
                return;
            }
            ++m_idle;
            m_lock.unlock();
            KeWaitForSingleObject(&m_ready, Executive, KernelMode, FALSE, nullptr);
            continue;
        }
        LIST_ENTRY* e = RemoveHeadList(&m_items);
        auto* item = CONTAINING_RECORD(e, WORK_QUEUE_ITEM, List);
        PWORKER_THREAD_ROUTINE routine = item->WorkerRoutine;
        PVOID parameter = item->Parameter;
        m_slots[slot] = {item, routine, parameter, m_slots[slot].run + 1};
        m_lock.unlock();
        // No longer queued before the routine runs: it may queue the item again, or free it.
        item->List.Flink = nullptr;
        routine(parameter);
        if (KeGetCurrentIrql() != PASSIVE_LEVEL) [[unlikely]] {
            verifier::report(verifier::Check::WORKER_THREAD_RETURNED_AT_BAD_IRQL,
                             fmt::format("work item routine {} returned at IRQL {}; it was called at PASSIVE_LEVEL",
                                         reinterpret_cast<void*>(routine), KeGetCurrentIrql()));
            KeLowerIrql(PASSIVE_LEVEL);  // the next item runs where it should
        }
    }
}

std::vector<WorkQueue::Found> WorkQueue::remove_queued_in(uintptr_t begin, uintptr_t end) {
    std::vector<Found> found;
    m_lock.lock();
    for (PLIST_ENTRY e = m_items.Flink; e != &m_items;) {
        auto* item = CONTAINING_RECORD(e, WORK_QUEUE_ITEM, List);
        e = e->Flink;
        if (!in(item->WorkerRoutine, begin, end)) continue;
        RemoveEntryList(&item->List);
        item->List.Flink = nullptr;  // not queued (as a worker leaves it)
        found.push_back({item, item->WorkerRoutine, item->Parameter});
    }
    // A worker woken for an item that is gone finds the queue empty and waits again: the
    // semaphore's counts are claims on "an item or another", not on this one.
    m_lock.unlock();
    return found;
}

std::vector<WorkQueue::Found> WorkQueue::running_in(uintptr_t begin, uintptr_t end) {
    std::vector<Found> found;
    m_lock.lock();
    for (unsigned i = 0; i < m_slots_taken; ++i) {
        const Slot& s = m_slots[i];
        if (s.routine && static_cast<int>(i) != t_slot && in(s.routine, begin, end))
            found.push_back({s.item, s.routine, s.parameter, i, s.run});
    }
    m_lock.unlock();
    return found;
}

bool WorkQueue::still_running(const Found& f) {
    m_lock.lock();
    bool running = m_slots[f.slot].run == f.run && m_slots[f.slot].routine;
    m_lock.unlock();
    return running;
}

std::vector<_KTHREAD*> WorkQueue::stop() {
    m_lock.lock();
    m_stopping = true;
    unsigned idle = m_idle;
    m_idle = 0;
    std::vector<_KTHREAD*> workers = m_workers;
    m_lock.unlock();
    if (idle) KeReleaseSemaphore(&m_ready, IO_NO_INCREMENT, static_cast<LONG>(idle), FALSE);
    return workers;
}

}  // namespace ntio::ex

using namespace ntio;

extern "C" {

VOID ExQueueWorkItem(PWORK_QUEUE_ITEM WorkItem, WORK_QUEUE_TYPE QueueType) {
    verifier::check_irql_at_most(DISPATCH_LEVEL, "ExQueueWorkItem");
    if (!WorkItem || !WorkItem->WorkerRoutine || static_cast<unsigned>(QueueType) >= MaximumWorkQueue) {
        verifier::report(verifier::Check::InvalidParameter,
                         fmt::format("ExQueueWorkItem({}, queue type {}): a work item with a routine "
                                     "(ExInitializeWorkItem) and a queue type below MaximumWorkQueue",
                                     static_cast<void*>(WorkItem), static_cast<int>(QueueType)));
        return;
    }
    // ExInitializeWorkItem cleared the link; a worker clears it again before the routine runs.
    if (WorkItem->List.Flink) {
        verifier::report(verifier::Check::WORKER_INVALID,
                         fmt::format("ExQueueWorkItem({}) on a work item that is already queued (routine {}); "
                                     "queueing it again would corrupt the queue, so it was not",
                                     static_cast<void*>(WorkItem), reinterpret_cast<void*>(WorkItem->WorkerRoutine)));
        return;
    }
    sys().work_items.queue(WorkItem);
}

}  // extern "C"
