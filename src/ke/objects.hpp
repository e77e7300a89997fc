// Internal entry points shared by the Ke* and Nt*/Win32 layers.
#pragma once
#include <sched.h>

#include "ke/dispatcher.hpp"

namespace ntio::ke {
LONG set_event(KEVENT* event);
// set_event for a notification event in two halves, for a setter that has other
// store-buffer handshakes to complete and runs one seq_cst fence for all of them:
//   set_notification_event_unfenced(e); ...other stores...; fence; wake_notification_waiters(e);
// is set_event(e) for a notification event (the fence stands for set_event's exchange).
inline void set_notification_event_unfenced(KEVENT* event) {
    __atomic_store_n(&event->Header.SignalState, 1, __ATOMIC_RELEASE);
}
// That fence. TSan does not model fences (GCC warns at every inlined copy): it need
// not, since the fence only keeps a wake-up from being lost; what the handshake
// publishes is ordered by release and acquire, which TSan does see.
inline void handshake_fence() {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wtsan"
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
#pragma GCC diagnostic pop
}
void wake_notification_waiters_slow(KEVENT* event);
[[gnu::always_inline]] inline void wake_notification_waiters(KEVENT* event) {
    if (__atomic_load_n(&event->Header.Waiters, __ATOMIC_RELAXED)) [[unlikely]]
        wake_notification_waiters_slow(event);
}
// Resetting never wakes anyone, so it needs no lock: a set racing with the reset is
// ordered before it (its exchange sees the event still signaled and wakes no one) or
// after it (it sees 0 and wakes waiters as usual).
// S-KE-26: the reset of KeResetEvent, KeClearEvent and NtResetEvent is an exchange, so
// that what the caller reads next is read after it. "Reset, test a flag that another
// thread sets before it sets the event, wait" lost wake-ups with a plain store: the
// flag was read before the store left the store buffer, the setter saw the event still
// signaled, the store then cleared its set, and the waiter slept with the flag set.
// An event that is not signaled is left alone, and no store is made at all.
[[gnu::always_inline]] inline LONG reset_event(KEVENT* event) {
    DISPATCHER_HEADER* h = &event->Header;
    LONG previous = state_of(h);
    if (previous != 0) previous = __atomic_exchange_n(&h->SignalState, 0, __ATOMIC_SEQ_CST);
    return previous;
}
// The I/O manager's resets at the start of a request (S-DSP-6: the caller's event and
// the file object's): nothing between them and the request's own set reads shared
// state that a set could be lost against, and the request's hand-over to the driver
// orders the store before that set. A plain store keeps the request path free of
// another locked instruction. Inline: every request resets its file object's event.
[[gnu::always_inline]] inline void reset_event_at_issue(KEVENT* event) {
    DISPATCHER_HEADER* h = &event->Header;
    if (state_of(h) != 0) __atomic_store_n(&h->SignalState, 0, __ATOMIC_RELEASE);
}
LONG pulse_event(KEVENT* event);
NTSTATUS release_semaphore(KSEMAPHORE* s, LONG adjustment, LONG* previous);
void init_mutant(KMUTANT* m, _KTHREAD* initial_owner);
NTSTATUS release_mutant(KMUTANT* m, _KTHREAD* self, LONG* previous);
void abandon_mutants_locked(Dispatcher& d, _KTHREAD* t);
void unlink_mutant_on_delete(KMUTANT* m);
// Waits on dispatcher objects for the calling thread (adopting it if needed).
// A delay (KeDelayExecutionThread, NtDelayExecution): STATUS_SUCCESS when it elapsed,
// STATUS_USER_APC when `alertable` and a user APC is (or gets) queued.
NTSTATUS delay(const LARGE_INTEGER* interval, bool alertable);
// `alertable`: a user-mode alertable wait (Dispatcher::wait); the caller delivers the APCs.
NTSTATUS wait_objects(ULONG count, DISPATCHER_HEADER* const* objects, WAIT_TYPE type, const LARGE_INTEGER* timeout,
                      bool alertable = false);
// A waiter about to return lets set_event finish with the notification events it
// waited on (their Header.Inserted counts the setters still inside): the caller may
// free an event as soon as its wait returns, as on Windows, where KeSetEvent is done
// with the event before the waiter can run.
inline void settle_setters(ULONG count, DISPATCHER_HEADER* const* objects) {
    for (ULONG i = 0; i < count; ++i) {
        if (objects[i]->Type != kEventNotification) continue;
        for (unsigned spins = 0; __atomic_load_n(&objects[i]->Inserted, __ATOMIC_ACQUIRE);)
            if (++spins < 128) cpu_relax();
            else sched_yield(), spins = 0;  // the setter was preempted
    }
}
}  // namespace ntio::ke
