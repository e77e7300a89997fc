// The executive's worker threads: ExQueueWorkItem (and IoQueueWorkItem, which queues
// through it) run a driver's routine at PASSIVE_LEVEL on a system thread.
#pragma once
#include <cstdint>
#include <vector>

#include "ke/spin.hpp"
#include "wdm.h"

struct _KTHREAD;

namespace ntio {
class System;
}

namespace ntio::ex {

// One pool of system threads for every queue type. It grows by one thread whenever an
// item is queued and no worker is idle, as Windows's dynamic worker threads do when
// the queue's threads are all busy or blocked, so that an item waiting for another
// item (or for a request a later item completes) cannot deadlock the queue. Items are
// linked through their own LIST_ENTRY: queueing allocates nothing once the threads
// exist.
class WorkQueue {
public:
    WorkQueue();
    // Any IRQL up to DISPATCH_LEVEL.
    void queue(PWORK_QUEUE_ITEM item);
    // Teardown: the items already queued still run, then the workers end. Returns the
    // threads, each with a reference for the caller.
    std::vector<_KTHREAD*> stop();
    void run_worker();  // a worker thread's body

    // For the verifier's unload check (WorkItemLeftAtUnload): the items whose routine lies
    // in [begin, end), a driver's image.
    struct Found {
        PWORK_QUEUE_ITEM item;
        PWORKER_THREAD_ROUTINE routine;
        PVOID parameter;
        unsigned slot = 0;  // running ones: the worker, and which of its runs
        uint64_t run = 0;
    };
    // Queued and not started: taken off the queue, so they never run.
    std::vector<Found> remove_queued_in(uintptr_t begin, uintptr_t end);
    // Running now on a worker other than the calling thread.
    std::vector<Found> running_in(uintptr_t begin, uintptr_t end);
    // Whether that run of the routine has not yet returned.
    bool still_running(const Found& f);

    WorkQueue(const WorkQueue&) = delete;
    WorkQueue& operator=(const WorkQueue&) = delete;

private:
    static constexpr unsigned kMaxWorkers = 64;
    ke::SpinLock m_lock;
    LIST_ENTRY m_items;   // queued WORK_QUEUE_ITEMs, oldest first
    KSEMAPHORE m_ready;   // one count per queued item, and one per worker at stop()
    unsigned m_idle = 0;  // workers waiting on m_ready
    unsigned m_live = 0;  // workers started and not yet ended
    bool m_stopping = false;
    std::vector<_KTHREAD*> m_workers;  // under m_lock; a reference each
    // What each worker runs, by the slot it took when it started; under m_lock. Set when
    // the item is taken, cleared when the worker comes back for the next one.
    struct Slot {
        PWORK_QUEUE_ITEM item = nullptr;
        PWORKER_THREAD_ROUTINE routine = nullptr;
        PVOID parameter = nullptr;
        uint64_t run = 0;  // counts the items it has taken
    };
    Slot m_slots[kMaxWorkers];
    unsigned m_slots_taken = 0;
};

}  // namespace ntio::ex
