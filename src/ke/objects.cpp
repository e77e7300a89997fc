// Kernel events, semaphores, mutexes and fast mutexes (S-KE-4..6, S-KE-16..18).
#include "ke/exception.hpp"
#include "ke/objects.hpp"
#include "ke/reentered.hpp"
#include "ps/thread.hpp"
#include "system.hpp"
#include "verifier/report.hpp"

using ntio::sys;
using ntio::ke::Dispatcher;
namespace ke = ntio::ke;

namespace {

void init_header(DISPATCHER_HEADER* h, uint8_t type, LONG state) {
    h->Type = type;
    h->Absolute = 0;
    h->Waiters = 0;
    h->Inserted = 0;
    ntio::ke::set_signal_state(h, state);
    InitializeListHead(&h->WaitListHead);
}

// Inner acquisitions of fast mutexes this thread owned, let through (ke/reentered.hpp):
// the end of one leaves the mutex, and the IRQL it saved, to the outer acquisition.
constinit thread_local ntio::ke::Reentered<FAST_MUTEX> t_reentered;

}  // namespace

namespace ntio::ke {

LONG set_event(KEVENT* event) {
    DISPATCHER_HEADER* h = &event->Header;
    if (h->Type == kEventNotification) {
        // A notification event is never consumed, so setting it needs the lock only to
        // wake waiters. The exchange and the waiters flag pair with the waiter's flag
        // store and re-check in Dispatcher::wait (a store-buffer handshake).
        // A waiter may see the event set (without the lock) before this returns, and
        // free it, as Windows lets it: the event is the waiter's (a KEVENT on its stack
        // or in its pool). So the setter counts itself in first and out last, and a
        // waiter that saw the event set lets the count drain before it returns
        // (settle_setters); nothing here touches the event after the count-out.
        __atomic_fetch_add(&h->Inserted, 1, __ATOMIC_SEQ_CST);
        LONG previous = __atomic_exchange_n(&h->SignalState, 1, __ATOMIC_SEQ_CST);
        if (previous <= 0 && __atomic_load_n(&h->Waiters, __ATOMIC_SEQ_CST) != 0) {
            Dispatcher& d = sys().dispatcher;
            Dispatcher::Guard g(d);
            d.wait_test_locked(h);
        }
        __atomic_fetch_sub(&h->Inserted, 1, __ATOMIC_RELEASE);
        return previous;
    }
    Dispatcher& d = sys().dispatcher;
    Dispatcher::Guard g(d);
    LONG previous = state_of(h);
    if (previous == 0) {
        set_signal_state(h, 1);
        d.wait_test_locked(h);
    }
    return previous;
}

void wake_notification_waiters_slow(KEVENT* event) {
    DISPATCHER_HEADER* h = &event->Header;
    Dispatcher& d = sys().dispatcher;
    Dispatcher::Guard g(d);
    d.wait_test_locked(h);
}

LONG pulse_event(KEVENT* event) {
    Dispatcher& d = sys().dispatcher;
    Dispatcher::Guard g(d);
    LONG previous = state_of(&event->Header);
    if (previous == 0) {
        set_signal_state(&event->Header, 1);
        d.wait_test_locked(&event->Header);
    }
    set_signal_state(&event->Header, 0);
    return previous;
}

// Returns STATUS_SEMAPHORE_LIMIT_EXCEEDED (count unchanged) or STATUS_SUCCESS with *previous.
NTSTATUS release_semaphore(KSEMAPHORE* s, LONG adjustment, LONG* previous) {
    Dispatcher& d = sys().dispatcher;
    Dispatcher::Guard g(d);
    LONG old = ntio::ke::state_of(&s->Header);
    if (adjustment <= 0 || old > s->Limit - adjustment) return STATUS_SEMAPHORE_LIMIT_EXCEEDED;
    ntio::ke::set_signal_state(&s->Header, old + adjustment);
    if (old == 0) d.wait_test_locked(&s->Header);
    if (previous) *previous = old;
    return STATUS_SUCCESS;
}

void init_mutant(KMUTANT* m, _KTHREAD* initial_owner) {
    init_header(&m->Header, kMutant, 1);
    m->OwnerThread = nullptr;
    m->Abandoned = FALSE;
    m->ApcDisable = 0;
    InitializeListHead(&m->MutantListEntry);
    if (initial_owner) {
        Dispatcher::Guard g(sys().dispatcher);
        ntio::ke::set_signal_state(&m->Header, 0);
        m->OwnerThread = initial_owner;
        InsertTailList(&initial_owner->owned_mutants, &m->MutantListEntry);
    }
}

// Returns STATUS_MUTANT_NOT_OWNED or STATUS_SUCCESS with *previous (the signal state before).
NTSTATUS release_mutant(KMUTANT* m, _KTHREAD* self, LONG* previous) {
    Dispatcher& d = sys().dispatcher;
    Dispatcher::Guard g(d);
    if (m->OwnerThread != self || ntio::ke::state_of(&m->Header) > 0) return STATUS_MUTANT_NOT_OWNED;
    LONG old = ntio::ke::state_of(&m->Header);
    ntio::ke::set_signal_state(&m->Header, old + 1);
    if (old + 1 == 1) {
        m->OwnerThread = nullptr;
        RemoveEntryList(&m->MutantListEntry);
        InitializeListHead(&m->MutantListEntry);
        d.wait_test_locked(&m->Header);
    }
    if (previous) *previous = old;
    return STATUS_SUCCESS;
}

// A thread ends owning mutants: each is released and marked abandoned (S-W32-2).
void abandon_mutants_locked(Dispatcher& d, _KTHREAD* t) {
    while (!IsListEmpty(&t->owned_mutants)) {
        KMUTANT* m = CONTAINING_RECORD(RemoveHeadList(&t->owned_mutants), KMUTANT, MutantListEntry);
        InitializeListHead(&m->MutantListEntry);
        m->OwnerThread = nullptr;
        ntio::ke::set_signal_state(&m->Header, 1);
        m->Abandoned = TRUE;
        d.wait_test_locked(&m->Header);
    }
}

void unlink_mutant_on_delete(KMUTANT* m) {
    Dispatcher::Guard g(sys().dispatcher);
    if (m->OwnerThread) {
        RemoveEntryList(&m->MutantListEntry);
        m->OwnerThread = nullptr;
    }
}

}  // namespace ntio::ke

extern "C" {

VOID KeInitializeEvent(PRKEVENT Event, EVENT_TYPE Type, BOOLEAN State) {
    init_header(&Event->Header, Type == NotificationEvent ? ke::kEventNotification : ke::kEventSynchronization,
                State ? 1 : 0);
}

LONG KeSetEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait) {
    (void)Increment;
    // Wait=TRUE only promises that a wait follows at once; the effect on the event is the same (S-KE-6).
    (void)Wait;
    ntio::verifier::check_irql_at_most(DISPATCH_LEVEL, "KeSetEvent");
    return ke::set_event(Event);
}

LONG KeResetEvent(PRKEVENT Event) {
    ntio::verifier::check_irql_at_most(DISPATCH_LEVEL, "KeResetEvent");
    return ke::reset_event(Event);
}

VOID KeClearEvent(PRKEVENT Event) {
    ntio::verifier::check_irql_at_most(DISPATCH_LEVEL, "KeClearEvent");
    ke::reset_event(Event);
}

LONG KeReadStateEvent(PRKEVENT Event) { return __atomic_load_n(&Event->Header.SignalState, __ATOMIC_ACQUIRE); }

LONG KePulseEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait) {
    (void)Increment;
    (void)Wait;
    return ke::pulse_event(Event);
}

VOID KeInitializeSemaphore(PRKSEMAPHORE Semaphore, LONG Count, LONG Limit) {
    init_header(&Semaphore->Header, ke::kSemaphore, Count);
    Semaphore->Limit = Limit;
}

LONG KeReleaseSemaphore(PRKSEMAPHORE Semaphore, KPRIORITY Increment, LONG Adjustment, BOOLEAN Wait) {
    (void)Increment;
    (void)Wait;
    ntio::verifier::check_irql_at_most(DISPATCH_LEVEL, "KeReleaseSemaphore");
    LONG previous = 0;
    if (ke::release_semaphore(Semaphore, Adjustment, &previous) != STATUS_SUCCESS) {
        // S-KE-16: Windows raises STATUS_SEMAPHORE_LIMIT_EXCEEDED, the count unchanged. A
        // driver that releases inside __try gets the exception, as there; with no frame to
        // take it (Windows would stop the system) the verifier reports it and the call
        // returns the count.
        void* caller = __builtin_return_address(0);
        if (ntio::ke::frame_would_take(caller))
            ntio::ke::raise_status_for(STATUS_SEMAPHORE_LIMIT_EXCEEDED, caller, __builtin_frame_address(0));
        ntio::verifier::report(ntio::verifier::Check::SemaphoreLimitExceeded,
                                   fmt::format("KeReleaseSemaphore({}, adjustment {}) would pass the limit {} "
                                               "(count {})",
                                               static_cast<void*>(Semaphore), Adjustment, Semaphore->Limit,
                                               ntio::ke::state_of(&Semaphore->Header)));
        return ntio::ke::state_of(&Semaphore->Header);
    }
    return previous;
}

LONG KeReadStateSemaphore(PRKSEMAPHORE Semaphore) { return __atomic_load_n(&Semaphore->Header.SignalState, __ATOMIC_ACQUIRE); }

VOID KeInitializeMutex(PRKMUTEX Mutex, ULONG Level) {
    (void)Level;
    ke::init_mutant(Mutex, nullptr);
}

LONG KeReleaseMutex(PRKMUTEX Mutex, BOOLEAN Wait) {
    (void)Wait;
    LONG previous = 0;
    if (ke::release_mutant(Mutex, ntio::ps::current_thread(), &previous) != STATUS_SUCCESS) {
        ntio::verifier::report(ntio::verifier::Check::THREAD_NOT_MUTEX_OWNER,
                                   fmt::format("KeReleaseMutex({}) by a thread that does not own it",
                                               static_cast<void*>(Mutex)));
        return ntio::ke::state_of(&Mutex->Header);
    }
    return previous;
}

LONG KeReadStateMutex(PRKMUTEX Mutex) { return __atomic_load_n(&Mutex->Header.SignalState, __ATOMIC_ACQUIRE); }

// FAST_MUTEX: Count 1 = free; contenders wait on a synchronization event (S-KE-18).
VOID ExInitializeFastMutex(PFAST_MUTEX FastMutex) {
    FastMutex->Count = 1;
    FastMutex->Owner = nullptr;
    FastMutex->Contention = 0;
    FastMutex->OldIrql = 0;
    KeInitializeEvent(&FastMutex->Event, SynchronizationEvent, FALSE);
}

// False when the caller did not take the mutex: an inner acquisition by its owner, let through.
static bool fast_mutex_acquire(PFAST_MUTEX m, const char* api) {
    _KTHREAD* self = ntio::ps::current_thread();
    if (__atomic_load_n(&m->Owner, __ATOMIC_RELAXED) == self) [[unlikely]] {
        ntio::verifier::report(ntio::verifier::Check::FastMutexMisuse,
                                   fmt::format("{}({}) by its owner: fast mutexes are not recursive, and on Windows "
                                               "this deadlocks. ntio lets it through; the next release of the mutex "
                                               "ends this inner acquisition",
                                               api, static_cast<void*>(m)));
        if (t_reentered.push(m)) return false;
    }
    if (__atomic_sub_fetch(&m->Count, 1, __ATOMIC_ACQUIRE) != 0) {
        __atomic_add_fetch(&m->Contention, 1, __ATOMIC_RELAXED);
        KeWaitForSingleObject(&m->Event, WrFastMutex, KernelMode, FALSE, nullptr);
    }
    __atomic_store_n(&m->Owner, static_cast<PVOID>(self), __ATOMIC_RELAXED);
    return true;
}

// False when nothing was released: the end of an inner acquisition, or a caller that
// does not own the mutex (reported; releasing it anyway would let a second thread in
// beside the owner, or count a free mutex twice).
static bool fast_mutex_release(PFAST_MUTEX m, const char* api) {
    if (t_reentered.count && t_reentered.end(m)) [[unlikely]]
        return false;
    if (__atomic_load_n(&m->Owner, __ATOMIC_RELAXED) != ntio::ps::current_thread()) [[unlikely]] {
        ntio::verifier::report(ntio::verifier::Check::FastMutexMisuse,
                                   fmt::format("{}({}) by a thread that does not own it; ntio did not release it",
                                               api, static_cast<void*>(m)));
        return false;
    }
    __atomic_store_n(&m->Owner, static_cast<PVOID>(nullptr), __ATOMIC_RELAXED);
    if (__atomic_add_fetch(&m->Count, 1, __ATOMIC_RELEASE) != 1) ke::set_event(&m->Event);
    return true;
}

VOID ExAcquireFastMutex(PFAST_MUTEX FastMutex) {
    ntio::verifier::check_irql_at_most(APC_LEVEL, "ExAcquireFastMutex");
    KIRQL old = KfRaiseIrql(APC_LEVEL);
    if (fast_mutex_acquire(FastMutex, "ExAcquireFastMutex")) FastMutex->OldIrql = old;
}

VOID ExReleaseFastMutex(PFAST_MUTEX FastMutex) {
    KIRQL old = static_cast<KIRQL>(FastMutex->OldIrql);
    if (fast_mutex_release(FastMutex, "ExReleaseFastMutex")) KeLowerIrql(old);
}

BOOLEAN ExTryToAcquireFastMutex(PFAST_MUTEX FastMutex) {
    ntio::verifier::check_irql_at_most(APC_LEVEL, "ExTryToAcquireFastMutex");
    KIRQL old = KfRaiseIrql(APC_LEVEL);
    LONG expected = 1;
    if (!__atomic_compare_exchange_n(&FastMutex->Count, &expected, 0, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
        KeLowerIrql(old);
        return FALSE;
    }
    FastMutex->Owner = ntio::ps::current_thread();
    FastMutex->OldIrql = old;
    return TRUE;
}

VOID ExAcquireFastMutexUnsafe(PFAST_MUTEX FastMutex) { fast_mutex_acquire(FastMutex, "ExAcquireFastMutexUnsafe"); }
VOID ExReleaseFastMutexUnsafe(PFAST_MUTEX FastMutex) { fast_mutex_release(FastMutex, "ExReleaseFastMutexUnsafe"); }

}  // extern "C"
