// Kernel queues (NT's KQUEUE), the dispatcher object under an I/O completion port
// (S-W32-16..20): packets leave in the order they came (FIFO), a packet goes to the
// thread that waited last (LIFO), and no more than maximum_count associated threads
// run at once. Everything here runs under the dispatcher lock, so the hand-off to a
// waiter, the timeout, the concurrency count and the virtual clock's running count
// change together.
//
// A thread's association (_KTHREAD::queue) starts with its first remove_queue and
// ends when it removes from another queue, exits, or the queue is run down. While
// associated it counts in current_count except while it waits: in remove_queue, or
// in any other dispatcher wait (Dispatcher::wait gives the slot back through
// queue_thread_stopped_locked, and unwait_locked takes it again).
#include <cstdlib>

#include "ke/dispatcher.hpp"
#include "ps/thread.hpp"

namespace ntio::ke {
namespace {

// Spare nodes a queue keeps for reuse. Enough for the deepest queue a server keeps
// in steady state; bounded so that a burst of a million posts does not pin their
// memory for the rest of the port's life.
constexpr uint32_t kMaxSpareNodes = 4096;

QueueNode* pop_spare_locked(Queue* q) {
    QueueNode* n = q->spare;
    if (n) {
        q->spare = reinterpret_cast<QueueNode*>(n->link.Flink);
        --q->spare_count;
    }
    return n;
}

// False when the queue already keeps enough spares: the caller frees the node after
// the lock is released.
bool push_spare_locked(Queue* q, QueueNode* n) {
    if (q->spare_count >= kMaxSpareNodes) return false;
    n->link.Flink = reinterpret_cast<LIST_ENTRY*>(q->spare);
    q->spare = n;
    ++q->spare_count;
    return true;
}

void free_chain(QueueNode* n) {
    while (n) {
        QueueNode* next = reinterpret_cast<QueueNode*>(n->link.Flink);
        std::free(n);
        n = next;
    }
}

// Moves up to `capacity` queued packets to `out`; nodes the spare list cannot take are
// chained on *excess.
ULONG take_packets_locked(Queue* q, QueuePacket* out, ULONG capacity, QueueNode** excess) {
    ULONG n = 0;
    while (n < capacity && !IsListEmpty(&q->packets)) {
        auto* node = CONTAINING_RECORD(RemoveHeadList(&q->packets), QueueNode, link);
        out[n++] = node->packet;
        if (!push_spare_locked(q, node)) {
            node->link.Flink = reinterpret_cast<LIST_ENTRY*>(*excess);
            *excess = node;
        }
    }
    set_signal_state(&q->Header, state_of(&q->Header) - static_cast<LONG>(n));
    return n;
}

_KTHREAD* newest_remover_locked(Queue* q) { return CONTAINING_RECORD(q->removers.Flink, WaitBlock, entry)->thread; }

}  // namespace

void Dispatcher::init_queue(Queue* q, ULONG maximum_count) {
    q->Header.Type = kQueue;
    q->Header.Absolute = 0;
    q->Header.Waiters = 0;
    q->Header.Inserted = 0;
    set_signal_state(&q->Header, 0);
    InitializeListHead(&q->Header.WaitListHead);
    InitializeListHead(&q->packets);
    InitializeListHead(&q->removers);
    InitializeListHead(&q->threads);
    q->spare = nullptr;
    q->spare_count = 0;
    q->current_count = 0;
    q->maximum_count = maximum_count ? maximum_count : KeQueryActiveProcessorCount(nullptr);
    q->closed = false;
}

NTSTATUS Dispatcher::insert_queue(Queue* q, const QueuePacket& packet) {
    QueueNode* fresh = nullptr;  // allocated with the lock released when no spare was left
    lock();
    for (;;) {
        if (q->closed) [[unlikely]] {
            // Nobody can remove it any more (S-W32-20): dropped, as the rundown dropped the rest.
            unlock();
            std::free(fresh);
            return STATUS_SUCCESS;
        }
        if (!IsListEmpty(&q->removers) && q->current_count < q->maximum_count) {
            // Straight to the thread that waited last; it counts as running from now.
            _KTHREAD* t = newest_remover_locked(q);
            t->queue_packet = packet;
            unwait_locked(t, STATUS_SUCCESS);
            if (fresh) {
                fresh->link.Flink = reinterpret_cast<LIST_ENTRY*>(q->spare);
                q->spare = fresh;
                ++q->spare_count;
            }
            unlock();
            return STATUS_SUCCESS;
        }
        QueueNode* node = fresh ? fresh : pop_spare_locked(q);
        if (node) {
            node->packet = packet;
            InsertTailList(&q->packets, &node->link);
            LONG before = state_of(&q->Header);
            set_signal_state(&q->Header, before + 1);
            if (before == 0 && !IsListEmpty(&q->Header.WaitListHead)) wait_test_locked(&q->Header);
            unlock();
            return STATUS_SUCCESS;
        }
        unlock();
        fresh = static_cast<QueueNode*>(std::malloc(sizeof(QueueNode)));
        if (!fresh) return STATUS_INSUFFICIENT_RESOURCES;
        lock();
    }
}

NTSTATUS Dispatcher::remove_queue(_KTHREAD* self, Queue* q, QueuePacket* out, ULONG capacity, ULONG* removed,
                                  Ticks deadline, bool poll, bool alertable) {
    *removed = 0;
    QueueNode* excess = nullptr;
    lock();
    if (q->closed) [[unlikely]] {
        unlock();
        return STATUS_ABANDONED_WAIT_0;
    }
    // A thread not yet associated with this queue runs its APCs before it takes a packet
    // and stays unassociated; an associated one takes a packet first (S-APC-4, after
    // Wine's test of NtRemoveIoCompletionEx, which passes on Windows).
    if (self->queue != q && user_apc_ends_wait_locked(self, alertable)) [[unlikely]] {
        unlock();
        return STATUS_USER_APC;
    }
    if (self->queue != q) {
        // Associated from now on; the queue it served before loses a running thread.
        if (self->queue) leave_queue_locked(self);
        self->queue = q;
        InsertTailList(&q->threads, &self->queue_link);
    } else {
        --q->current_count;  // back for more: not running while it looks
    }
    if (!IsListEmpty(&q->packets) && q->current_count < q->maximum_count) {
        ++q->current_count;
        ULONG n = take_packets_locked(q, out, capacity, &excess);
        unlock();
        free_chain(excess);
        *removed = n;
        return STATUS_SUCCESS;
    }
    if (user_apc_ends_wait_locked(self, alertable)) [[unlikely]] {
        ++q->current_count;
        unlock();
        return STATUS_USER_APC;
    }
    if (poll || (deadline != kNever && deadline <= now())) {
        ++q->current_count;
        unlock();
        return STATUS_TIMEOUT;
    }
    WaitBlock& wb = self->wait_blocks[0];
    wb.object = &q->Header;
    wb.thread = self;
    wb.key = 0;
    wb.wait_type = WaitAny;
    InsertHeadList(&q->removers, &wb.entry);  // newest first: LIFO wake-up
    self->wait_count = 1;
    self->queue_slot_released = true;  // unwait_locked counts it running again
    NTSTATUS status = block_locked(self, deadline, alertable);
    if (status != STATUS_SUCCESS) return status;
    out[0] = self->queue_packet;
    ULONG n = 1;
    // GetQueuedCompletionStatusEx: whatever else is queued by now comes along. The
    // thread already holds its running slot, so the limit does not apply again.
    if (capacity > 1 && state_of(&q->Header) > 0) {
        lock();
        n += take_packets_locked(q, out + 1, capacity - 1, &excess);
        unlock();
        free_chain(excess);
    }
    *removed = n;
    return STATUS_SUCCESS;
}

void Dispatcher::queue_thread_stopped_locked(Queue* q) {
    --q->current_count;
    if (q->current_count >= q->maximum_count || IsListEmpty(&q->removers) || IsListEmpty(&q->packets)) return;
    auto* node = CONTAINING_RECORD(RemoveHeadList(&q->packets), QueueNode, link);
    set_signal_state(&q->Header, state_of(&q->Header) - 1);
    _KTHREAD* t = newest_remover_locked(q);
    t->queue_packet = node->packet;
    // The spare list may be full; one node over the bound is not worth a free under the lock.
    node->link.Flink = reinterpret_cast<LIST_ENTRY*>(q->spare);
    q->spare = node;
    ++q->spare_count;
    unwait_locked(t, STATUS_SUCCESS);
}

void Dispatcher::leave_queue_locked(_KTHREAD* t) {
    Queue* q = t->queue;
    RemoveEntryList(&t->queue_link);
    t->queue = nullptr;
    queue_thread_stopped_locked(q);
}

size_t Dispatcher::rundown_queue(Queue* q) {
    QueueNode* discarded = nullptr;
    size_t count = 0;
    lock();
    if (!q->closed) {
        q->closed = true;
        // Let every associated thread go first, so that waking the removers below does
        // not count them against a queue that is gone.
        while (!IsListEmpty(&q->threads))
            CONTAINING_RECORD(RemoveHeadList(&q->threads), _KTHREAD, queue_link)->queue = nullptr;
        while (!IsListEmpty(&q->removers)) unwait_locked(newest_remover_locked(q), STATUS_ABANDONED_WAIT_0);
        while (!IsListEmpty(&q->packets)) {
            auto* node = CONTAINING_RECORD(RemoveHeadList(&q->packets), QueueNode, link);
            node->link.Flink = reinterpret_cast<LIST_ENTRY*>(discarded);
            discarded = node;
            ++count;
        }
        set_signal_state(&q->Header, 0);
    }
    unlock();
    free_chain(discarded);
    return count;
}

void Dispatcher::free_queue_nodes(Queue* q) {
    while (!IsListEmpty(&q->packets)) std::free(CONTAINING_RECORD(RemoveHeadList(&q->packets), QueueNode, link));
    free_chain(q->spare);
    q->spare = nullptr;
    q->spare_count = 0;
}

}  // namespace ntio::ke
