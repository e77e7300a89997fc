// Win32 waitable timers (S-WT-1..6): a handle over a KTIMER on the runtime's clock, so
// a wait on it, its period and its virtual-time exactness are the kernel timer's. The
// completion routine is a user APC queued, from the timer's DPC, to the thread that set
// the timer; it runs in that thread's next alertable wait.
//
// Ownership: handles ─ref─▶ WaitableTimer ─ref─▶ the setting thread (while a routine is set)
// The KTIMER and KDPC live in the object: its destruction cancels the timer, takes the
// DPC off the queue and lets a DPC already running end before the memory goes.
#include "ke/dispatcher.hpp"
#include "ke/spin.hpp"
#include "ob/services.hpp"
#include "ps/thread.hpp"
#include "system.hpp"
#include "win32/win32.hpp"

using ntio::sys;
namespace ke = ntio::ke;
namespace ob = ntio::ob;
namespace ps = ntio::ps;
using namespace ntio::win32;

namespace {

struct WaitableTimer {
    KTIMER timer;  // first: waits take the object's DISPATCHER_HEADER at offset 0
    KDPC dpc;
    ke::SpinLock lock;  // guards the routine, its argument and the thread; taken before the dispatcher's
    PTIMERAPCROUTINE routine = nullptr;
    void* argument = nullptr;
    _KTHREAD* thread = nullptr;  // referenced while a routine is set
    bool dpc_used = false;       // a DPC may be queued or running: destruction flushes
};

void destroy_timer(void* body);

}  // namespace

namespace ntio::ob {
ObjectType g_timer_type{"Timer", 0, TIMER_ALL_ACCESS, destroy_timer, nullptr};
}

namespace {

// The APC's routine: NtQueueApcThread's shape (context, argument1, argument2) carrying
// the program's routine, its argument and the expiry's system time.
void timer_apc(void* routine, void* argument, void* when) {
    auto t = reinterpret_cast<uintptr_t>(when);
    reinterpret_cast<PTIMERAPCROUTINE>(routine)(argument, static_cast<DWORD>(t & 0xffffffffu),
                                                static_cast<DWORD>(static_cast<uint64_t>(t) >> 32));
}

// The timer's DPC: at each expiry, on the runtime's DPC thread.
VOID timer_dpc(PKDPC, PVOID context, PVOID low, PVOID high) {
    auto* t = static_cast<WaitableTimer*>(context);
    auto when = (static_cast<uint64_t>(reinterpret_cast<uintptr_t>(high)) << 32) |
                (reinterpret_cast<uintptr_t>(low) & 0xffffffffu);
    t->lock.lock();
    if (t->routine && t->thread) {
        // A thread that has ended drops it (S-APC-5).
        ke::UserApc apc{reinterpret_cast<void*>(&timer_apc), reinterpret_cast<void*>(t->routine), t->argument,
                        reinterpret_cast<void*>(static_cast<uintptr_t>(when)), false};
        (void)sys().dispatcher.queue_user_apc(t->thread, apc);
    }
    t->lock.unlock();
}

// Drops the routine; returns the thread reference the caller releases.
_KTHREAD* clear_routine_locked(WaitableTimer* t) {
    _KTHREAD* old = t->thread;
    t->routine = nullptr;
    t->argument = nullptr;
    t->thread = nullptr;
    return old;
}

void destroy_timer(void* body) {
    auto* t = static_cast<WaitableTimer*>(body);
    ke::Dispatcher& d = sys().dispatcher;
    d.cancel_timer(&t->timer);
    if (t->dpc_used) {
        d.remove_dpc(&t->dpc);
        // One already taken off the queue may be running on the DPC thread.
        if (KeGetCurrentIrql() == PASSIVE_LEVEL) d.flush_dpcs();
    }
    if (_KTHREAD* old = clear_routine_locked(t)) ps::dereference(old);
    t->~WaitableTimer();
}

template <typename F>
BOOL with_timer(HANDLE h, ACCESS_MASK access, F&& f) {
    void* body = nullptr;
    NTSTATUS s = ob::reference_by_handle(h, &ob::g_timer_type, ps::previous_mode(), access, &body, nullptr);
    if (!NT_SUCCESS(s)) {
        set_error_from_status(s);  // another object's handle: ERROR_INVALID_HANDLE
        return FALSE;
    }
    BOOL r = f(static_cast<WaitableTimer*>(body));
    ob::dereference(body);
    return r;
}

}  // namespace

extern "C" {

HANDLE CreateWaitableTimerExW(LPSECURITY_ATTRIBUTES sa, LPCWSTR lpTimerName, DWORD dwFlags, DWORD dwDesiredAccess) {
    if (dwFlags & ~(CREATE_WAITABLE_TIMER_MANUAL_RESET | CREATE_WAITABLE_TIMER_HIGH_RESOLUTION)) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return nullptr;
    }
    OBJECT_ATTRIBUTES oa;
    UNICODE_STRING us;
    std::wstring path;
    OBJECT_ATTRIBUTES* poa = nullptr;
    if (lpTimerName && *lpTimerName) {
        if (!named_object_attributes(lpTimerName, &path, &us, &oa, OBJ_OPENIF | inherit_attribute(sa))) {
            set_last_error(ERROR_BAD_PATHNAME);
            return nullptr;
        }
        poa = &oa;
    } else if (inherit_attribute(sa)) {
        InitializeObjectAttributes(&oa, nullptr, OBJ_INHERIT, nullptr, nullptr);
        poa = &oa;
    }
    auto* t = ob::create<WaitableTimer>(ob::g_timer_type);
    KeInitializeTimerEx(&t->timer,
                        (dwFlags & CREATE_WAITABLE_TIMER_MANUAL_RESET) ? NotificationTimer : SynchronizationTimer);
    KeInitializeDpc(&t->dpc, timer_dpc, t);
    HANDLE h = nullptr;
    // An existing timer of that name is opened as it is (its type kept); another kind of
    // object of that name is STATUS_OBJECT_TYPE_MISMATCH (ERROR_INVALID_HANDLE).
    NTSTATUS s = ob::insert_new_object(t, poa, dwDesiredAccess, &h);
    if (!NT_SUCCESS(s)) {
        set_error_from_status(s);
        return nullptr;
    }
    set_last_error(s == STATUS_OBJECT_NAME_EXISTS ? ERROR_ALREADY_EXISTS : ERROR_SUCCESS);
    return h;
}

HANDLE CreateWaitableTimerExA(LPSECURITY_ATTRIBUTES sa, LPCSTR lpTimerName, DWORD dwFlags, DWORD dwDesiredAccess) {
    if (!lpTimerName) return CreateWaitableTimerExW(sa, nullptr, dwFlags, dwDesiredAccess);
    return CreateWaitableTimerExW(sa, widen(lpTimerName).c_str(), dwFlags, dwDesiredAccess);
}

HANDLE CreateWaitableTimerW(LPSECURITY_ATTRIBUTES sa, BOOL bManualReset, LPCWSTR lpTimerName) {
    return CreateWaitableTimerExW(sa, lpTimerName, bManualReset ? CREATE_WAITABLE_TIMER_MANUAL_RESET : 0,
                                  TIMER_ALL_ACCESS);
}

HANDLE CreateWaitableTimerA(LPSECURITY_ATTRIBUTES sa, BOOL bManualReset, LPCSTR lpTimerName) {
    return CreateWaitableTimerExA(sa, lpTimerName, bManualReset ? CREATE_WAITABLE_TIMER_MANUAL_RESET : 0,
                                  TIMER_ALL_ACCESS);
}

HANDLE OpenWaitableTimerW(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCWSTR lpTimerName) {
    return open_object(
        lpTimerName, dwDesiredAccess,
        [](PHANDLE h, ACCESS_MASK access, POBJECT_ATTRIBUTES oa) {
            return ob::open_named_object(oa, ob::g_timer_type, access, h);
        },
        bInheritHandle ? OBJ_INHERIT : 0);
}

HANDLE OpenWaitableTimerA(DWORD dwDesiredAccess, BOOL inherit, LPCSTR lpTimerName) {
    return OpenWaitableTimerW(dwDesiredAccess, inherit, lpTimerName ? widen(lpTimerName).c_str() : nullptr);
}

BOOL SetWaitableTimer(HANDLE hTimer, const LARGE_INTEGER* lpDueTime, LONG lPeriod, PTIMERAPCROUTINE pfnCompletionRoutine,
                      LPVOID lpArgToCompletionRoutine, BOOL fResume) {
    if (!lpDueTime) {
        set_last_error(ERROR_NOACCESS);
        return FALSE;
    }
    if (lPeriod < 0) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    LARGE_INTEGER due = *lpDueTime;
    BOOL ok = with_timer(hTimer, TIMER_MODIFY_STATE, [&](WaitableTimer* t) {
        _KTHREAD* self = pfnCompletionRoutine ? ps::current_thread() : nullptr;
        if (self) ps::reference(self);
        t->lock.lock();
        _KTHREAD* old = clear_routine_locked(t);
        t->routine = pfnCompletionRoutine;
        t->argument = lpArgToCompletionRoutine;
        t->thread = self;
        if (self) t->dpc_used = true;
        ke::Dispatcher& d = sys().dispatcher;
        // Due 0 (and any time already past) expires at once, as NtSetTimer does.
        ke::Ticks when = due.QuadPart == 0 ? d.now() : d.deadline_for(due.QuadPart);
        d.set_timer(&t->timer, when, ke::Ticks(lPeriod) * ke::kTicksPerMs, self ? &t->dpc : nullptr);
        t->lock.unlock();
        if (old) ps::dereference(old);
        return TRUE;
    });
    // No power management: the timer never wakes the machine (Microsoft, SetWaitableTimer).
    if (ok) set_last_error(fResume ? ERROR_NOT_SUPPORTED : ERROR_SUCCESS);
    return ok;
}

BOOL SetWaitableTimerEx(HANDLE hTimer, const LARGE_INTEGER* lpDueTime, LONG lPeriod,
                        PTIMERAPCROUTINE pfnCompletionRoutine, LPVOID lpArgToCompletionRoutine, PREASON_CONTEXT WakeContext,
                        ULONG TolerableDelay) {
    (void)WakeContext;
    (void)TolerableDelay;  // the timer expires at its due time, never later
    return SetWaitableTimer(hTimer, lpDueTime, lPeriod, pfnCompletionRoutine, lpArgToCompletionRoutine, FALSE);
}

BOOL CancelWaitableTimer(HANDLE hTimer) {
    return with_timer(hTimer, TIMER_MODIFY_STATE, [&](WaitableTimer* t) {
        // The signal state stays as it is; an expiry before the cancel still has its APC
        // (S-WT-4). The routine's thread stays referenced until the next set or the end.
        sys().dispatcher.cancel_timer(&t->timer);
        return TRUE;
    });
}

}  // extern "C"
