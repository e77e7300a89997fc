// EX_TIMER, the system-allocated timers of Windows 8.1 (S-EXT-1..8): ExAllocateTimer,
// ExSetTimer, ExCancelTimer, ExDeleteTimer.
//
// An EX_TIMER is a KTIMER (first, so the wait routines take a PEX_TIMER) driven by the
// dispatcher's timer queue with 100-ns periods, so under the virtual clock each expiry
// is exact to the tick. Every expiry queues the timer's own DPC, which calls the driver's
// callback at DISPATCH_LEVEL on the DPC thread.
//
// Deletion is the delicate part: the object may be freed only once no expiry is pending,
// no DPC queued and no callback running. All three are settled on the one DPC thread,
// which runs DPCs one after another: ExDeleteTimer disables the timer and queues a second
// DPC; that DPC, and after it each expiry's DPC, frees the timer as soon as the
// dispatcher shows the timer not set and its expiry DPC not queued. Since the DPC running
// is the only one that could still be using the object, nothing can touch it afterwards.
#include <mutex>
#include <new>
#include <unordered_set>

#include <fmt/format.h>

#include "ex/objects.hpp"
#include "ex/pool.hpp"
#include "ke/dispatcher.hpp"
#include "system.hpp"
#include "verifier/drivers.hpp"
#include "verifier/hooks.hpp"
#include "verifier/report.hpp"
#include "wdm.h"

using ntio::sys;
namespace ke = ntio::ke;
namespace verifier = ntio::verifier;

struct _EX_TIMER {
    KTIMER timer;       // first: a PEX_TIMER is a dispatcher object
    KDPC expiry_dpc;    // queued by each expiry: the callback, then a pending deletion
    KDPC delete_dpc;    // queued by ExDeleteTimer
    PEXT_CALLBACK callback;
    PVOID context;
    ULONG attributes;
    std::mutex lock;            // orders ExSetTimer/ExCancelTimer against ExDeleteTimer
    bool disabled = false;      // ExDeleteTimer was called: set, cancel and delete do nothing
    bool delete_seen = false;   // the delete DPC ran (DPC thread only)
    EXT_DELETE_PARAMETERS on_delete{};
    KEVENT* deleted = nullptr;  // a waiting ExDeleteTimer's event, set once the timer is gone
};

namespace {

// Pool tag "ExTm": a timer never deleted shows in pool dumps and leak reports under it,
// charged to the driver that allocated it.
constexpr ULONG kTimerTag = 'E' | ('x' << 8) | ('T' << 16) | (ULONG('m') << 24);
constexpr ULONG kKnownAttributes = EX_TIMER_HIGH_RESOLUTION | EX_TIMER_NO_WAKE | EX_TIMER_NOTIFICATION;

// The timers ExAllocateTimer gave and ExDeleteTimer has not freed yet: a pointer that is
// not here (never allocated, or already freed) is reported instead of being used.
// Never destroyed: drivers unload at process exit, after this file's statics would have
// gone, and the unload check (cancel_ex_timers_in) still reads it. Made on first use: a
// DriverEntry may allocate a timer before this file's static initializers have run
// (NTIO_DRIVERS' drivers load from another file's; the order between files is not fixed).
struct Live {
    std::mutex lock;
    std::unordered_set<const _EX_TIMER*> timers;
};
Live& live_timers() {
    static Live& live = *new Live;
    return live;
}

// The timer whose callback the DPC thread is running: ExDeleteTimer(Wait) from it would
// wait for itself.
thread_local const _EX_TIMER* t_in_callback = nullptr;

bool live(const _EX_TIMER* t, const char* api) {
    {
        std::lock_guard g(live_timers().lock);
        if (t && live_timers().timers.count(t)) return true;
    }
    verifier::report(verifier::Check::InvalidParameter,
                     fmt::format("{}({}): not a timer ExAllocateTimer returned, or one already deleted; nothing done",
                                 api, static_cast<const void*>(t)));
    return false;
}

// DPC thread only, once nothing can use the timer any more.
void free_timer(_EX_TIMER* t) {
    {
        std::lock_guard g(live_timers().lock);
        live_timers().timers.erase(t);
    }
    EXT_DELETE_PARAMETERS on_delete = t->on_delete;
    KEVENT* deleted = t->deleted;
    t->~_EX_TIMER();
    sys().pool.free(t, kTimerTag, true, "ExDeleteTimer");
    // The object is gone before the delete callback runs, as Microsoft documents.
    if (on_delete.DeleteCallback) on_delete.DeleteCallback(on_delete.DeleteContext);
    if (deleted) KeSetEvent(deleted, IO_NO_INCREMENT, FALSE);
}

// DPC thread only: frees a deleted timer when no expiry is left to come. An expiry DPC
// queued now runs after the current DPC, and will call this again.
void free_if_done(_EX_TIMER* t) {
    if (!t->delete_seen) return;
    if (sys().dispatcher.timer_or_dpc_pending(&t->timer, &t->expiry_dpc)) return;
    free_timer(t);
}

VOID expiry_routine(PKDPC, PVOID context, PVOID, PVOID) {
    auto* t = static_cast<_EX_TIMER*>(context);
    if (t->callback) {
        t_in_callback = t;
        t->callback(t, t->context);
        t_in_callback = nullptr;
    }
    free_if_done(t);
}

VOID delete_routine(PKDPC, PVOID context, PVOID, PVOID) {
    auto* t = static_cast<_EX_TIMER*>(context);
    t->delete_seen = true;
    free_if_done(t);
}

}  // namespace

std::vector<std::string> ntio::ex::cancel_ex_timers_in(uintptr_t begin, uintptr_t end) {
    std::vector<std::string> out;
    ke::Dispatcher& d = sys().dispatcher;
    std::lock_guard live_guard(live_timers().lock);  // before a timer's lock, as everywhere
    for (const _EX_TIMER* c : live_timers().timers) {
        auto* t = const_cast<_EX_TIMER*>(c);
        auto callback = reinterpret_cast<uintptr_t>(t->callback);
        if (callback < begin || callback >= end) continue;
        std::lock_guard g(t->lock);
        if (!d.cancel_timer(&t->timer)) continue;
        out.push_back(fmt::format("the EX_TIMER at {} is still set (callback {}{})", static_cast<const void*>(t),
                                  reinterpret_cast<void*>(t->callback),
                                  t->disabled ? ", deleted without Cancel" : ""));
        // A deleted timer waited for this expiry to be freed: its delete DPC frees it now.
        if (t->disabled) d.queue_dpc(&t->delete_dpc, nullptr, nullptr);
    }
    return out;
}

extern "C" {

PEX_TIMER ExAllocateTimer(PEXT_CALLBACK Callback, PVOID CallbackContext, ULONG Attributes) {
    verifier::check_irql_at_most(DISPATCH_LEVEL, "ExAllocateTimer");
    // Windows stops with a bug check for both; ntio reports and gives no timer.
    if ((Attributes & EX_TIMER_HIGH_RESOLUTION) && (Attributes & EX_TIMER_NO_WAKE)) {
        verifier::report(verifier::Check::InvalidParameter,
                         "ExAllocateTimer: EX_TIMER_HIGH_RESOLUTION and EX_TIMER_NO_WAKE exclude each other; no timer "
                         "was allocated");
        return nullptr;
    }
    if (Attributes & ~kKnownAttributes) {
        verifier::report(verifier::Check::InvalidParameter,
                         fmt::format("ExAllocateTimer: unknown attributes {:#x}; no timer was allocated",
                                     Attributes & ~kKnownAttributes));
        return nullptr;
    }
    uint32_t owner = verifier::pool_owner_hooks() ? verifier::drivers::attribute(__builtin_return_address(0)) : 0;
    void* block = sys().pool.allocate(sizeof(_EX_TIMER), kTimerTag, true, false, owner);
    if (!block) return nullptr;
    auto* t = new (block) _EX_TIMER;
    KeInitializeTimerEx(&t->timer, (Attributes & EX_TIMER_NOTIFICATION) ? NotificationTimer : SynchronizationTimer);
    KeInitializeDpc(&t->expiry_dpc, expiry_routine, t);
    KeInitializeDpc(&t->delete_dpc, delete_routine, t);
    t->callback = Callback;
    t->context = CallbackContext;
    t->attributes = Attributes;
    std::lock_guard g(live_timers().lock);
    live_timers().timers.insert(t);
    return t;
}

BOOLEAN ExSetTimer(PEX_TIMER Timer, LONGLONG DueTime, LONGLONG Period, PEXT_SET_PARAMETERS Parameters) {
    verifier::check_irql_at_most(DISPATCH_LEVEL, "ExSetTimer");
    if (!live(Timer, "ExSetTimer")) return FALSE;
    // What Windows stops with a bug check for: reported, and the timer left as it was.
    if (Period < 0 || Period > MAXLONG) {
        verifier::report(verifier::Check::InvalidParameter,
                         fmt::format("ExSetTimer: a period of {} (100 ns) is outside 0..MAXLONG; the timer was not set",
                                     Period));
        return FALSE;
    }
    if ((Timer->attributes & EX_TIMER_HIGH_RESOLUTION) && DueTime >= 0) {
        verifier::report(verifier::Check::InvalidParameter,
                         fmt::format("ExSetTimer: a high-resolution timer takes a relative (negative) due time, not {}; "
                                     "the timer was not set",
                                     DueTime));
        return FALSE;
    }
    if (Parameters && (Parameters->Version != 0 ||
                       (Parameters->NoWakeTolerance < 0 && Parameters->NoWakeTolerance != EX_TIMER_UNLIMITED_TOLERANCE))) {
        verifier::report(verifier::Check::InvalidParameter,
                         fmt::format("ExSetTimer: EXT_SET_PARAMETERS with version {} and NoWakeTolerance {} (use "
                                     "ExInitializeSetTimerParameters; a tolerance is >= 0 or "
                                     "EX_TIMER_UNLIMITED_TOLERANCE); the timer was not set",
                                     Parameters->Version, Parameters->NoWakeTolerance));
        return FALSE;
    }
    // NoWakeTolerance only lets a sleeping processor sleep on; ntio's never sleep, so the
    // timer expires at its due time.
    std::lock_guard g(Timer->lock);
    if (Timer->disabled) return FALSE;
    ke::Dispatcher& d = sys().dispatcher;
    ke::Ticks due = DueTime == 0 ? d.now() : d.deadline_for(DueTime);
    return d.set_timer(&Timer->timer, due, Period, &Timer->expiry_dpc) ? TRUE : FALSE;
}

BOOLEAN ExCancelTimer(PEX_TIMER Timer, PEXT_CANCEL_PARAMETERS Parameters) {
    verifier::check_irql_at_most(DISPATCH_LEVEL, "ExCancelTimer");
    if (!live(Timer, "ExCancelTimer")) return FALSE;
    if (Parameters)
        verifier::report(verifier::Check::InvalidParameter,
                         fmt::format("ExCancelTimer: Parameters must be NULL, not {}; ignored", Parameters));
    std::lock_guard g(Timer->lock);
    if (Timer->disabled) return FALSE;
    return sys().dispatcher.cancel_timer(&Timer->timer) ? TRUE : FALSE;
}

BOOLEAN ExDeleteTimer(PEX_TIMER Timer, BOOLEAN Cancel, BOOLEAN Wait, PEXT_DELETE_PARAMETERS Parameters) {
    verifier::check_irql_at_most(Wait ? APC_LEVEL : DISPATCH_LEVEL, "ExDeleteTimer");
    if (!live(Timer, "ExDeleteTimer")) return FALSE;
    if (Wait && !Cancel) {
        verifier::report(verifier::Check::InvalidParameter,
                         "ExDeleteTimer: Wait = TRUE needs Cancel = TRUE (Windows stops with a bug check); the timer "
                         "was not deleted");
        return FALSE;
    }
    if (Parameters && Parameters->Version != 0) {
        verifier::report(verifier::Check::InvalidParameter,
                         fmt::format("ExDeleteTimer: EXT_DELETE_PARAMETERS version {} (use "
                                     "ExInitializeDeleteTimerParameters); the timer was not deleted",
                                     Parameters->Version));
        return FALSE;
    }
    // Waiting where the delete DPC cannot run before the wait ends would never return:
    // from the timer's own callback, or from any code at DISPATCH_LEVEL or above (the IRQL
    // check above has reported it). Such a call deletes without waiting.
    if (Wait && t_in_callback == Timer)
        verifier::report(verifier::Check::InvalidParameter,
                         "ExDeleteTimer(Wait = TRUE) from the timer's own callback would wait for itself; deleting "
                         "without waiting");
    bool wait = Wait && KeGetCurrentIrql() <= APC_LEVEL && t_in_callback != Timer;

    KEVENT deleted;
    if (wait) KeInitializeEvent(&deleted, NotificationEvent, FALSE);
    bool cancelled = false;
    {
        std::lock_guard g(Timer->lock);
        if (Timer->disabled) return FALSE;  // a second delete while the first is pending
        Timer->disabled = true;
        if (Parameters) Timer->on_delete = *Parameters;
        if (wait) Timer->deleted = &deleted;
        ke::Dispatcher& d = sys().dispatcher;
        if (Cancel)
            cancelled = d.cancel_timer(&Timer->timer);
        else
            d.make_last_expiry(&Timer->timer);  // a periodic timer expires once more at most
        d.queue_dpc(&Timer->delete_dpc, nullptr, nullptr);
    }
    // From here on the DPC thread may free the timer at any moment.
    if (wait) KeWaitForSingleObject(&deleted, Executive, KernelMode, FALSE, nullptr);
    return cancelled ? TRUE : FALSE;
}

}  // extern "C"
