// Locks in the application's memory (S-LCK-1..5 in docs/design.md, "Application
// locks"): critical sections, SRW locks, condition variables, InitOnceExecuteOnce and
// WaitOnAddress. Each is a word or two of state changed with atomic operations; only a
// thread that must wait goes to the dispatcher (Dispatcher::wait_address), where it
// counts as blocked for the virtual clock, which a host mutex could not give.
#include <cstdio>

#include "ke/dispatcher.hpp"
#include "ke/rw_word.hpp"
#include "ps/thread.hpp"
#include "system.hpp"
#include "win32/win32.hpp"
#include "windows.h"

using ntio::sys;
using namespace ntio::win32;
namespace ke = ntio::ke;
namespace ps = ntio::ps;

namespace {

template <typename T>
T load(const T* p) {
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
template <typename T>
bool swap_if(T* p, T* expected, T desired) {
    return __atomic_compare_exchange_n(p, expected, desired, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

ke::Ticks deadline_from_ms(DWORD ms) {
    if (ms == INFINITE) return ke::kNever;
    return sys().dispatcher.deadline_for(-static_cast<LONGLONG>(ms) * 10000);
}

// Blocks while the word at `address` still holds `value`; false on timeout.
template <typename T>
bool wait_while(const T* address, T value, ke::Ticks deadline = ke::kNever) {
    NTSTATUS s = sys().dispatcher.wait_address(ps::current_thread(), address, &value, sizeof value, deadline);
    ps::stop_if_program_exiting();
    return s != STATUS_TIMEOUT;
}

void wake(const void* address, bool all) { sys().dispatcher.wake_address(address, all); }

HANDLE self_id() { return reinterpret_cast<HANDLE>(static_cast<ULONG_PTR>(GetCurrentThreadId())); }

// ---- critical sections: LockCount is 0 (free), 1 (held) or 2 (held, maybe with waiters) --
constexpr LONG kFree = 0, kHeld = 1, kContended = 2;

HANDLE owner_of(const CRITICAL_SECTION* cs) { return load(&cs->OwningThread); }

void take_ownership(CRITICAL_SECTION* cs) {
    __atomic_store_n(&cs->OwningThread, self_id(), __ATOMIC_RELAXED);
    cs->RecursionCount = 1;
}

// ---- SRW locks: a word of ke/rw_word.hpp ----------------------------------------------------
namespace rw_word = ntio::ke::rw_word;
uintptr_t* word(PSRWLOCK l) { return reinterpret_cast<uintptr_t*>(&l->Ptr); }

uintptr_t* word(PCONDITION_VARIABLE cv) { return reinterpret_cast<uintptr_t*>(&cv->Ptr); }

// A condition variable's sleep: the sequence number read before the lock is released, so
// that a wake between the release and the wait is not missed; the lock taken again
// whatever ended the wait. FALSE with ERROR_TIMEOUT when the time ran out.
template <typename Release, typename Reacquire>
BOOL sleep_on(PCONDITION_VARIABLE cv, DWORD ms, Release release, Reacquire reacquire) {
    uintptr_t* w = word(cv);
    uintptr_t seq = load(w);
    ke::Ticks deadline = deadline_from_ms(ms);
    release();
    bool woken = wait_while(w, seq, deadline);
    reacquire();
    if (woken) return TRUE;
    set_last_error(ERROR_TIMEOUT);
    return FALSE;
}

// ---- one-time initialization: 0 not begun, 1 running, else the context | 2 ----------------
constexpr uintptr_t kOnceRunning = 1, kOnceDone = 2, kOnceStateBits = 3;
uintptr_t* word(PINIT_ONCE once) { return reinterpret_cast<uintptr_t*>(&once->Ptr); }

}  // namespace

extern "C" {

// ---- critical sections (S-LCK-1) ------------------------------------------------------------

VOID InitializeCriticalSection(LPCRITICAL_SECTION lpCriticalSection) {
    *lpCriticalSection = CRITICAL_SECTION{};
}

BOOL InitializeCriticalSectionAndSpinCount(LPCRITICAL_SECTION lpCriticalSection, DWORD dwSpinCount) {
    InitializeCriticalSection(lpCriticalSection);
    lpCriticalSection->SpinCount = dwSpinCount;  // kept, not used: a waiter blocks at once
    return TRUE;
}

BOOL InitializeCriticalSectionEx(LPCRITICAL_SECTION lpCriticalSection, DWORD dwSpinCount, DWORD Flags) {
    (void)Flags;  // CRITICAL_SECTION_NO_DEBUG_INFO and the like: ntio keeps no debug info
    return InitializeCriticalSectionAndSpinCount(lpCriticalSection, dwSpinCount);
}

DWORD SetCriticalSectionSpinCount(LPCRITICAL_SECTION lpCriticalSection, DWORD dwSpinCount) {
    auto previous = static_cast<DWORD>(lpCriticalSection->SpinCount);
    lpCriticalSection->SpinCount = dwSpinCount;
    return previous;
}

VOID EnterCriticalSection(LPCRITICAL_SECTION lpCriticalSection) {
    CRITICAL_SECTION* cs = lpCriticalSection;
    if (owner_of(cs) == self_id()) {
        ++cs->RecursionCount;
        return;
    }
    LONG state = kFree;
    if (!swap_if(&cs->LockCount, &state, kHeld)) {
        // Contended: mark it so that the owner's leave wakes a waiter, and wait.
        if (state != kContended) state = __atomic_exchange_n(&cs->LockCount, kContended, __ATOMIC_ACQ_REL);
        while (state != kFree) {
            wait_while(&cs->LockCount, kContended);
            state = __atomic_exchange_n(&cs->LockCount, kContended, __ATOMIC_ACQ_REL);
        }
    }
    take_ownership(cs);
}

BOOL TryEnterCriticalSection(LPCRITICAL_SECTION lpCriticalSection) {
    CRITICAL_SECTION* cs = lpCriticalSection;
    if (owner_of(cs) == self_id()) {
        ++cs->RecursionCount;
        return TRUE;
    }
    LONG state = kFree;
    if (!swap_if(&cs->LockCount, &state, kHeld)) return FALSE;
    take_ownership(cs);
    return TRUE;
}

VOID LeaveCriticalSection(LPCRITICAL_SECTION lpCriticalSection) {
    CRITICAL_SECTION* cs = lpCriticalSection;
    if (owner_of(cs) != self_id()) {
        // Windows corrupts the section silently; ntio leaves it as it is and says so.
        std::fprintf(stderr, "ntio: LeaveCriticalSection(%p) by a thread that does not own it; ignored\n",
                     static_cast<void*>(cs));
        return;
    }
    if (--cs->RecursionCount > 0) return;
    __atomic_store_n(&cs->OwningThread, static_cast<HANDLE>(nullptr), __ATOMIC_RELAXED);
    if (__atomic_exchange_n(&cs->LockCount, kFree, __ATOMIC_ACQ_REL) == kContended) wake(&cs->LockCount, false);
}

VOID DeleteCriticalSection(LPCRITICAL_SECTION lpCriticalSection) {
    *lpCriticalSection = CRITICAL_SECTION{};  // nothing was allocated for it
}

// ---- SRW locks (S-LCK-2): the reader/writer word of ke/rw_word.hpp -------------------------

VOID InitializeSRWLock(PSRWLOCK SRWLock) { SRWLock->Ptr = nullptr; }
VOID AcquireSRWLockExclusive(PSRWLOCK SRWLock) { rw_word::acquire_exclusive(word(SRWLock)); }
VOID AcquireSRWLockShared(PSRWLOCK SRWLock) { rw_word::acquire_shared(word(SRWLock)); }
VOID ReleaseSRWLockExclusive(PSRWLOCK SRWLock) { rw_word::release_exclusive(word(SRWLock)); }
VOID ReleaseSRWLockShared(PSRWLOCK SRWLock) { rw_word::release_shared(word(SRWLock)); }
BOOLEAN TryAcquireSRWLockExclusive(PSRWLOCK SRWLock) { return rw_word::try_acquire_exclusive(word(SRWLock)); }
BOOLEAN TryAcquireSRWLockShared(PSRWLOCK SRWLock) { return rw_word::try_acquire_shared(word(SRWLock)); }

// ---- condition variables (S-LCK-3): a sequence number the wakers advance -------------------

VOID InitializeConditionVariable(PCONDITION_VARIABLE ConditionVariable) { ConditionVariable->Ptr = nullptr; }

BOOL SleepConditionVariableCS(PCONDITION_VARIABLE ConditionVariable, PCRITICAL_SECTION CriticalSection,
                              DWORD dwMilliseconds) {
    return sleep_on(
        ConditionVariable, dwMilliseconds, [&] { LeaveCriticalSection(CriticalSection); },
        [&] { EnterCriticalSection(CriticalSection); });
}

BOOL SleepConditionVariableSRW(PCONDITION_VARIABLE ConditionVariable, PSRWLOCK SRWLock, DWORD dwMilliseconds,
                               ULONG Flags) {
    if (Flags & ~CONDITION_VARIABLE_LOCKMODE_SHARED) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    bool shared = Flags & CONDITION_VARIABLE_LOCKMODE_SHARED;
    return sleep_on(
        ConditionVariable, dwMilliseconds,
        [&] { shared ? ReleaseSRWLockShared(SRWLock) : ReleaseSRWLockExclusive(SRWLock); },
        [&] { shared ? AcquireSRWLockShared(SRWLock) : AcquireSRWLockExclusive(SRWLock); });
}

VOID WakeConditionVariable(PCONDITION_VARIABLE ConditionVariable) {
    uintptr_t* w = word(ConditionVariable);
    __atomic_add_fetch(w, 1, __ATOMIC_ACQ_REL);
    wake(w, false);
}

VOID WakeAllConditionVariable(PCONDITION_VARIABLE ConditionVariable) {
    uintptr_t* w = word(ConditionVariable);
    __atomic_add_fetch(w, 1, __ATOMIC_ACQ_REL);
    wake(w, true);
}

// ---- one-time initialization (S-LCK-4) ------------------------------------------------------

VOID InitOnceInitialize(PINIT_ONCE InitOnce) { InitOnce->Ptr = nullptr; }

BOOL InitOnceExecuteOnce(PINIT_ONCE InitOnce, PINIT_ONCE_FN InitFn, PVOID Parameter, LPVOID* Context) {
    uintptr_t* w = word(InitOnce);
    for (uintptr_t s = load(w);;) {
        if ((s & kOnceStateBits) == kOnceDone) {
            if (Context) *Context = reinterpret_cast<LPVOID>(s & ~kOnceStateBits);
            return TRUE;
        }
        if (s == 0) {
            if (!swap_if(w, &s, kOnceRunning)) continue;
            PVOID context = nullptr;
            BOOL ok = InitFn(InitOnce, Parameter, &context);
            auto bits = reinterpret_cast<uintptr_t>(context);
            if (ok && (bits & kOnceStateBits)) {
                // The low INIT_ONCE_CTX_RESERVED_BITS are the state's.
                ok = FALSE;
                set_last_error(ERROR_INVALID_PARAMETER);
            }
            // A failed initialization leaves it not begun: the next caller runs it again.
            __atomic_store_n(w, ok ? bits | kOnceDone : uintptr_t{0}, __ATOMIC_RELEASE);
            wake(w, true);
            if (ok && Context) *Context = context;
            return ok;
        }
        wait_while(w, kOnceRunning);  // another thread runs it
        s = load(w);
    }
}

// ---- WaitOnAddress (S-LCK-5) -------------------------------------------------------------------

BOOL WaitOnAddress(volatile VOID* Address, PVOID CompareAddress, SIZE_T AddressSize, DWORD dwMilliseconds) {
    if (!Address || !CompareAddress || (AddressSize != 1 && AddressSize != 2 && AddressSize != 4 && AddressSize != 8)) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    NTSTATUS s = sys().dispatcher.wait_address(ps::current_thread(), Address, CompareAddress, AddressSize,
                                               deadline_from_ms(dwMilliseconds));
    ps::stop_if_program_exiting();
    if (s != STATUS_TIMEOUT) return TRUE;
    set_last_error(ERROR_TIMEOUT);
    return FALSE;
}

VOID WakeByAddressSingle(PVOID Address) { wake(Address, false); }
VOID WakeByAddressAll(PVOID Address) { wake(Address, true); }

}  // extern "C"
