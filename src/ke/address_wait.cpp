// Address waits (Dispatcher::wait_address / wake_address): NT's keyed events and
// Windows 8's WaitOnAddress, as Linux's futexes are made: waiters hash by address into
// a fixed set of buckets, each a dispatcher header whose wait list holds their wait
// blocks. The application locks (win32/locks.cpp) block here, so a thread waiting for a
// critical section counts as blocked and the virtual clock can move meanwhile.
#include <cstring>

#include "ke/dispatcher.hpp"
#include "ps/thread.hpp"

namespace ntio::ke {
namespace {

bool same_value(const volatile void* address, const void* compare, size_t size) {
    switch (size) {
    case 1: return __atomic_load_n(static_cast<const volatile uint8_t*>(address), __ATOMIC_SEQ_CST) ==
                   *static_cast<const uint8_t*>(compare);
    case 2: return __atomic_load_n(static_cast<const volatile uint16_t*>(address), __ATOMIC_SEQ_CST) ==
                   *static_cast<const uint16_t*>(compare);
    case 4: return __atomic_load_n(static_cast<const volatile uint32_t*>(address), __ATOMIC_SEQ_CST) ==
                   *static_cast<const uint32_t*>(compare);
    default: return __atomic_load_n(static_cast<const volatile uint64_t*>(address), __ATOMIC_SEQ_CST) ==
                    *static_cast<const uint64_t*>(compare);
    }
}

}  // namespace

DISPATCHER_HEADER* Dispatcher::address_bucket(const volatile void* address) {
    auto v = reinterpret_cast<uintptr_t>(address);
    return &m_address_buckets[((v >> 3) ^ (v >> 11)) % kAddressBuckets];
}

NTSTATUS Dispatcher::wait_address(_KTHREAD* self, const volatile void* address, const void* compare, size_t size,
                                  Ticks deadline) {
    DISPATCHER_HEADER* bucket = address_bucket(address);
    lock();
    if (deadline != kNever && deadline <= now()) {
        bool same = same_value(address, compare, size);
        unlock();
        return same ? STATUS_TIMEOUT : STATUS_SUCCESS;
    }
    WaitBlock& wb = self->wait_blocks[0];
    wb.object = bucket;
    wb.thread = self;
    wb.key = 0;
    wb.wait_type = WaitAny;
    wb.address = address;
    InsertTailList(&bucket->WaitListHead, &wb.entry);
    self->wait_count = 1;
    // Listed and flagged before the value is read: a waker changes the value and then
    // reads the flag (wake_address), so one of the two sees the other (both sequentially
    // consistent).
    __atomic_store_n(&bucket->Waiters, 1, __ATOMIC_SEQ_CST);
    if (!same_value(address, compare, size)) {
        remove_wait_blocks_locked(self);
        unlock();
        return STATUS_SUCCESS;
    }
    if (self->queue) [[unlikely]] {
        queue_thread_stopped_locked(self->queue);  // S-W32-16, as in wait()
        self->queue_slot_released = true;
    }
    return block_locked(self, deadline, false);
}

void Dispatcher::wake_address(const volatile void* address, bool all) {
    DISPATCHER_HEADER* bucket = address_bucket(address);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (!__atomic_load_n(&bucket->Waiters, __ATOMIC_SEQ_CST)) return;
    lock();
    for (LIST_ENTRY* e = bucket->WaitListHead.Flink; e != &bucket->WaitListHead;) {
        auto* wb = CONTAINING_RECORD(e, WaitBlock, entry);
        e = e->Flink;  // unwait_locked unlinks wb (a thread waits on one address at a time)
        if (wb->address != address) continue;
        unwait_locked(wb->thread, STATUS_SUCCESS);
        if (!all) break;
    }
    unlock();
}

}  // namespace ntio::ke
