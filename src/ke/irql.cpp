// Per-thread IRQL and spin locks (S-KE-1, S-KE-20). IRQL is a thread-local
// number: raising it does not stop Linux from preempting the thread, but every
// rule that depends on it (no blocking waits at DISPATCH_LEVEL, StartIo and
// cancel routines at DISPATCH_LEVEL, ...) is checked against it.
#include <atomic>
#include <cfenv>
#include <cstring>

#include "ke/dispatcher.hpp"
#include "ke/reentered.hpp"
#include "ke/spin.hpp"
#include "ps/thread.hpp"
#include "system.hpp"
#include "verifier/hooks.hpp"
#include "verifier/locks.hpp"
#include "verifier/report.hpp"

namespace ntio::ke {
constinit thread_local KIRQL t_irql = PASSIVE_LEVEL;
}
using ntio::ke::t_irql;

namespace {

// Critical and guarded region depths of the calling thread (KeEnterCriticalRegion,
// KeEnterGuardedRegion). ntio delivers no kernel-mode APCs: the I/O manager's last stage
// of completion, for which Windows queues a special kernel APC to the issuing thread,
// runs in the thread that completes the request, and user APCs run only on a user-mode
// alertable wait. So nothing is held back by these: they are what KeAreApcsDisabled,
// KeAreAllApcsDisabled and the routines that require a region (ExAcquireResource*) check.
thread_local int t_critical_region = 0;
thread_local int t_guarded_region = 0;

// A non-zero word unique to the calling thread, stored in a held spin lock.
KSPIN_LOCK owner_tag() { return reinterpret_cast<KSPIN_LOCK>(&t_irql); }

// Inner acquisitions of spin locks this thread held, let through (ke/reentered.hpp).
constinit thread_local ntio::ke::Reentered<KSPIN_LOCK> t_reentered;

void spin_acquire(PKSPIN_LOCK lock) {
    KSPIN_LOCK me = owner_tag();
    KSPIN_LOCK expected = 0;
    if (__atomic_compare_exchange_n(lock, &expected, me, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) return;
    if (expected == me) [[unlikely]] {
        ntio::verifier::report(ntio::verifier::Check::SPIN_LOCK_ALREADY_OWNED,
                                   fmt::format("spin lock {} acquired again by the thread that holds it: on Windows "
                                               "this deadlocks (spin locks are not recursive). ntio lets it through; "
                                               "the next release of the lock ends this inner acquisition",
                                               static_cast<void*>(lock)));
        if (t_reentered.push(lock)) return;
    }
    for (unsigned spins = 0;;) {
        while (__atomic_load_n(lock, __ATOMIC_RELAXED) != 0) {
            if (++spins < 256) ntio::ke::cpu_relax();
            else { sched_yield(); spins = 0; }
        }
        expected = 0;
        if (__atomic_compare_exchange_n(lock, &expected, me, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) return;
    }
}

void spin_release(PKSPIN_LOCK lock, const char* api) {
    if (t_reentered.count && t_reentered.end(lock)) [[unlikely]]
        return;  // the outer acquisition still holds it
    KSPIN_LOCK held = __atomic_load_n(lock, __ATOMIC_RELAXED);
    if (held != owner_tag())
        ntio::verifier::report(ntio::verifier::Check::SPIN_LOCK_NOT_OWNED,
                                   fmt::format("{}({}): the lock is {} by this thread", api, static_cast<void*>(lock),
                                               held == 0 ? "not held at all" : "held by another thread, not"));
    __atomic_store_n(lock, 0, __ATOMIC_RELEASE);
}

}  // namespace

extern "C" {

KIRQL KeGetCurrentIrql(VOID) { return t_irql; }

KIRQL KfRaiseIrql(KIRQL NewIrql) {
    KIRQL old = t_irql;
    if (NewIrql < old)
        ntio::verifier::report(ntio::verifier::Check::IRQL_NOT_GREATER_OR_EQUAL,
                                   fmt::format("KeRaiseIrql to {} from the higher IRQL {}", NewIrql, old));
    t_irql = NewIrql;
    return old;
}

VOID KeLowerIrql(KIRQL NewIrql) {
    if (NewIrql > t_irql)
        ntio::verifier::report(ntio::verifier::Check::IRQL_NOT_LESS_OR_EQUAL,
                                   fmt::format("KeLowerIrql to {} from the lower IRQL {}", NewIrql, t_irql));
    t_irql = NewIrql;
    // S-DPC-1: the DPCs this thread queued at DISPATCH_LEVEL may run now.
    if (ntio::ke::t_holds_dpcs && NewIrql < DISPATCH_LEVEL) [[unlikely]] {
        ntio::ke::t_holds_dpcs = false;
        if (_KTHREAD* self = ntio::ps::current_thread_if_known()) ntio::sys().dispatcher.release_held_dpcs(self);
    }
}

KIRQL KeRaiseIrqlToDpcLevel(VOID) { return KfRaiseIrql(DISPATCH_LEVEL); }

VOID ntio_paged_code_check(PCSTR File, ULONG Line, PCSTR Function) {
    if (t_irql > APC_LEVEL) [[unlikely]]
        ntio::verifier::report(ntio::verifier::Check::PagedCodeAtDispatchLevel,
                                   fmt::format("PAGED_CODE() in {} ({}:{}) reached at IRQL {}: pageable code must run "
                                               "at or below APC_LEVEL",
                                               Function, File, Line, t_irql));
}

VOID KeEnterCriticalRegion(VOID) { ++t_critical_region; }
VOID KeLeaveCriticalRegion(VOID) {
    if (t_critical_region == 0) {
        ntio::verifier::report(ntio::verifier::Check::APC_INDEX_MISMATCH, "KeLeaveCriticalRegion without KeEnterCriticalRegion");
        return;
    }
    --t_critical_region;
}
VOID KeEnterGuardedRegion(VOID) {
    ntio::verifier::check_irql_at_most(APC_LEVEL, "KeEnterGuardedRegion");
    ++t_guarded_region;
}
VOID KeLeaveGuardedRegion(VOID) {
    ntio::verifier::check_irql_at_most(APC_LEVEL, "KeLeaveGuardedRegion");
    if (t_guarded_region == 0) {
        ntio::verifier::report(ntio::verifier::Check::APC_INDEX_MISMATCH, "KeLeaveGuardedRegion without KeEnterGuardedRegion");
        return;
    }
    --t_guarded_region;
}
// A guarded region disables normal kernel APCs too, so it counts for both.
BOOLEAN KeAreApcsDisabled(VOID) { return t_critical_region > 0 || t_guarded_region > 0 || t_irql >= APC_LEVEL; }
BOOLEAN KeAreAllApcsDisabled(VOID) { return t_guarded_region > 0 || t_irql >= APC_LEVEL; }

// The floating-point environment is the C library's fenv_t: it holds what Windows calls the
// nonvolatile floating-point context (the x87 control word and MXCSR on x64).
static_assert(sizeof(fenv_t) <= sizeof(KFLOATING_SAVE), "KFLOATING_SAVE must hold an fenv_t");

NTSTATUS KeSaveFloatingPointState(PKFLOATING_SAVE FloatSave) {
    if (t_irql > DISPATCH_LEVEL) [[unlikely]]
        ntio::verifier::report(ntio::verifier::Check::IRQL_NOT_LESS_OR_EQUAL,
                                   fmt::format("KeSaveFloatingPointState at IRQL {}: it is called at or below "
                                               "DISPATCH_LEVEL",
                                               t_irql));
    fenv_t env;
    if (fegetenv(&env) != 0) return STATUS_ILLEGAL_FLOAT_CONTEXT;
    memcpy(FloatSave, &env, sizeof env);
    // A fresh context for the caller, as Windows sets up: the defaults, exceptions masked.
    fesetenv(FE_DFL_ENV);
    return STATUS_SUCCESS;
}

NTSTATUS KeRestoreFloatingPointState(PKFLOATING_SAVE FloatSave) {
    fenv_t env;
    memcpy(&env, FloatSave, sizeof env);
    fesetenv(&env);
    return STATUS_SUCCESS;
}

VOID KeInitializeSpinLock(PKSPIN_LOCK SpinLock) {
    *SpinLock = 0;
    if (ntio::verifier::lock_hooks()) [[unlikely]]  // a new lock: nothing known of its address holds
        ntio::verifier::locks::forget(SpinLock, sizeof *SpinLock);
}

KIRQL KeAcquireSpinLockRaiseToDpc(PKSPIN_LOCK SpinLock) {
    KIRQL old = KfRaiseIrql(DISPATCH_LEVEL);
    spin_acquire(SpinLock);
    if (ntio::verifier::lock_hooks()) [[unlikely]]
        ntio::verifier::locks::acquired(SpinLock, old);
    return old;
}

VOID KeReleaseSpinLock(PKSPIN_LOCK SpinLock, KIRQL NewIrql) {
    if (t_irql != DISPATCH_LEVEL)
        ntio::verifier::report(ntio::verifier::Check::IRQL_NOT_DISPATCH_LEVEL,
                                   fmt::format("KeReleaseSpinLock({}) at IRQL {}; a spin lock is held at "
                                               "DISPATCH_LEVEL until released",
                                               static_cast<void*>(SpinLock), t_irql));
    if (ntio::verifier::lock_hooks()) [[unlikely]]
        ntio::verifier::locks::releasing(SpinLock, NewIrql, true);
    spin_release(SpinLock, "KeReleaseSpinLock");
    KeLowerIrql(NewIrql);
}

VOID KeAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock) {
    if (t_irql < DISPATCH_LEVEL)
        ntio::verifier::report(ntio::verifier::Check::IRQL_NOT_GREATER_OR_EQUAL,
                                   fmt::format("KeAcquireSpinLockAtDpcLevel({}) at IRQL {}; it requires DISPATCH_LEVEL",
                                               static_cast<void*>(SpinLock), t_irql));
    spin_acquire(SpinLock);
    if (ntio::verifier::lock_hooks()) [[unlikely]]
        ntio::verifier::locks::acquired(SpinLock, t_irql);
}

VOID KeReleaseSpinLockFromDpcLevel(PKSPIN_LOCK SpinLock) {
    if (t_irql < DISPATCH_LEVEL)
        ntio::verifier::report(ntio::verifier::Check::IRQL_NOT_GREATER_OR_EQUAL,
                                   fmt::format("KeReleaseSpinLockFromDpcLevel({}) at IRQL {}",
                                               static_cast<void*>(SpinLock), t_irql));
    if (ntio::verifier::lock_hooks()) [[unlikely]]
        ntio::verifier::locks::releasing(SpinLock, t_irql, false);
    spin_release(SpinLock, "KeReleaseSpinLockFromDpcLevel");
}

BOOLEAN KeTryToAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock) {
    KSPIN_LOCK expected = 0;
    bool got = __atomic_compare_exchange_n(SpinLock, &expected, owner_tag(), false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
    if (got && ntio::verifier::lock_hooks()) [[unlikely]]
        ntio::verifier::locks::acquired(SpinLock, t_irql);
    return got;
}

BOOLEAN KeTestSpinLock(PKSPIN_LOCK SpinLock) { return __atomic_load_n(SpinLock, __ATOMIC_RELAXED) == 0; }

// In-stack queued spin locks: an MCS queue whose tail pointer is the lock word, so
// waiters are served in arrival order. Bit 0 of LockQueue.Lock means "still waiting".
VOID KeAcquireInStackQueuedSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock, PKLOCK_QUEUE_HANDLE LockHandle) {
    PKSPIN_LOCK_QUEUE me = &LockHandle->LockQueue;
    me->Next = nullptr;
    __atomic_store_n(&me->Lock, reinterpret_cast<PKSPIN_LOCK>(reinterpret_cast<uintptr_t>(SpinLock) | 1),
                     __ATOMIC_RELAXED);
    auto prev = reinterpret_cast<PKSPIN_LOCK_QUEUE>(
        __atomic_exchange_n(SpinLock, reinterpret_cast<KSPIN_LOCK>(me), __ATOMIC_ACQ_REL));
    if (prev) {
        __atomic_store_n(&prev->Next, me, __ATOMIC_RELEASE);
        unsigned spins = 0;
        while (reinterpret_cast<uintptr_t>(__atomic_load_n(&me->Lock, __ATOMIC_ACQUIRE)) & 1) {
            if (++spins < 256) ntio::ke::cpu_relax();
            else { sched_yield(); spins = 0; }
        }
    } else {
        __atomic_store_n(&me->Lock, SpinLock, __ATOMIC_RELAXED);
    }
    if (ntio::verifier::lock_hooks()) [[unlikely]]
        ntio::verifier::locks::acquired(SpinLock, t_irql);
}

VOID KeReleaseInStackQueuedSpinLockFromDpcLevel(PKLOCK_QUEUE_HANDLE LockHandle) {
    PKSPIN_LOCK_QUEUE me = &LockHandle->LockQueue;
    PKSPIN_LOCK lock = __atomic_load_n(&me->Lock, __ATOMIC_RELAXED);
    if (ntio::verifier::lock_hooks()) [[unlikely]]
        ntio::verifier::locks::releasing(lock, t_irql, false);
    PKSPIN_LOCK_QUEUE next = __atomic_load_n(&me->Next, __ATOMIC_ACQUIRE);
    if (!next) {
        KSPIN_LOCK expected = reinterpret_cast<KSPIN_LOCK>(me);
        if (__atomic_compare_exchange_n(lock, &expected, 0, false, __ATOMIC_RELEASE, __ATOMIC_RELAXED)) return;
        while (!(next = __atomic_load_n(&me->Next, __ATOMIC_ACQUIRE))) ntio::ke::cpu_relax();
    }
    __atomic_store_n(&next->Lock, lock, __ATOMIC_RELEASE);
}

VOID KeAcquireInStackQueuedSpinLock(PKSPIN_LOCK SpinLock, PKLOCK_QUEUE_HANDLE LockHandle) {
    LockHandle->OldIrql = KfRaiseIrql(DISPATCH_LEVEL);
    KeAcquireInStackQueuedSpinLockAtDpcLevel(SpinLock, LockHandle);
}

VOID KeReleaseInStackQueuedSpinLock(PKLOCK_QUEUE_HANDLE LockHandle) {
    KeReleaseInStackQueuedSpinLockFromDpcLevel(LockHandle);
    KeLowerIrql(LockHandle->OldIrql);
}

VOID ntio_assert_failed(PCSTR Expression, PCSTR File, ULONG Line) {
    ntio::verifier::CallSiteScope site(File, Line, ntio::verifier::Api::ASSERT);  // the report's `at` line
    ntio::verifier::report(ntio::verifier::Check::AssertionFailed, fmt::format("ASSERT({}) failed at {}:{}", Expression, File, Line));
}

}  // extern "C"
