// A reader/writer lock in one pointer-sized word of the caller's memory: the algorithm of
// the application's SRW locks (win32/locks.cpp, S-LCK-2) and the drivers' push locks
// (ex/push_lock.cpp, S-PL), which are the same lock on Windows too. Bit 0: a writer holds
// it; bit 1: threads wait; the rest counts readers. Only a thread that must wait reaches
// the dispatcher (wait_address), where it counts as blocked for the virtual clock.
//
// Writers come first: once a thread waits, new readers wait too, so a stream of readers
// cannot starve a writer. A release that leaves waiters wakes them all to compete again.
#pragma once

#include <cstdint>

#include "ke/dispatcher.hpp"
#include "ps/thread.hpp"
#include "system.hpp"

namespace ntio::ke::rw_word {

constexpr uintptr_t kWriter = 1, kWaiters = 2, kReader = 4;

inline uintptr_t load(const uintptr_t* w) { return __atomic_load_n(w, __ATOMIC_ACQUIRE); }
inline bool swap_if(uintptr_t* w, uintptr_t* expected, uintptr_t desired) {
    return __atomic_compare_exchange_n(w, expected, desired, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

// Blocks while *w still holds `value` (or until a wake).
inline void wait_while(uintptr_t* w, uintptr_t value) {
    sys().dispatcher.wait_address(ps::current_thread(), w, &value, sizeof value, kNever);
    ps::stop_if_program_exiting();
}

inline void acquire_exclusive(uintptr_t* w) {
    for (uintptr_t s = load(w);;) {
        if ((s & ~kWaiters) == 0) {
            if (swap_if(w, &s, s | kWriter)) return;
            continue;
        }
        if (!(s & kWaiters) && !swap_if(w, &s, s | kWaiters)) continue;
        wait_while(w, s | kWaiters);
        s = load(w);
    }
}

inline void acquire_shared(uintptr_t* w) {
    for (uintptr_t s = load(w);;) {
        if (!(s & (kWriter | kWaiters))) {
            if (swap_if(w, &s, s + kReader)) return;
            continue;
        }
        if (!(s & kWaiters) && !swap_if(w, &s, s | kWaiters)) continue;
        wait_while(w, s | kWaiters);
        s = load(w);
    }
}

inline bool try_acquire_exclusive(uintptr_t* w) {
    uintptr_t s = load(w);
    return (s & ~kWaiters) == 0 && swap_if(w, &s, s | kWriter);
}

inline bool try_acquire_shared(uintptr_t* w) {
    uintptr_t s = load(w);
    return !(s & (kWriter | kWaiters)) && swap_if(w, &s, s + kReader);
}

inline void release_exclusive(uintptr_t* w) {
    if (__atomic_exchange_n(w, uintptr_t{0}, __ATOMIC_ACQ_REL) & kWaiters) sys().dispatcher.wake_address(w, true);
}

inline void release_shared(uintptr_t* w) {
    uintptr_t s = __atomic_sub_fetch(w, kReader, __ATOMIC_ACQ_REL);
    // The last reader out with threads waiting: clear the mark and wake them. If the
    // exchange fails a writer took the lock meanwhile, and its release wakes them.
    if (s == kWaiters && swap_if(w, &s, uintptr_t{0})) sys().dispatcher.wake_address(w, true);
}

}  // namespace ntio::ke::rw_word
