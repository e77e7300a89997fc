// KTIMER and KDPC (S-KE-13..15). Expiry happens in the dispatcher: at the idle
// point (virtual clock) or on the clock thread (real clock); timer DPCs run on
// the runtime's DPC thread at DISPATCH_LEVEL.
#include "ke/objects.hpp"
#include "ke/spin.hpp"
#include "ps/thread.hpp"
#include "system.hpp"
#include "verifier/report.hpp"

using ntio::sys;
namespace ke = ntio::ke;

extern "C" {

VOID KeInitializeTimerEx(PKTIMER Timer, TIMER_TYPE Type) {
    Timer->Header.Type = Type == NotificationTimer ? ke::kTimerNotification : ke::kTimerSynchronization;
    Timer->Header.Absolute = 0;
    Timer->Header.Waiters = 0;
    Timer->Header.Inserted = FALSE;
    ntio::ke::set_signal_state(&Timer->Header, 0);
    InitializeListHead(&Timer->Header.WaitListHead);
    Timer->DueTime.QuadPart = 0;
    InitializeListHead(&Timer->TimerListEntry);
    Timer->Dpc = nullptr;
    Timer->Processor = 0;
    Timer->Period = 0;
    Timer->NtioPeriod = 0;
}

VOID KeInitializeTimer(PKTIMER Timer) { KeInitializeTimerEx(Timer, NotificationTimer); }

BOOLEAN KeSetTimerEx(PKTIMER Timer, LARGE_INTEGER DueTime, LONG Period, PKDPC Dpc) {
    ntio::verifier::check_irql_at_most(DISPATCH_LEVEL, "KeSetTimerEx");
    if (Period < 0) {
        ntio::verifier::report(ntio::verifier::Check::InvalidParameter, fmt::format("KeSetTimerEx with a negative period {}", Period));
        Period = 0;
    }
    ke::Dispatcher& d = sys().dispatcher;
    ke::Ticks due = DueTime.QuadPart == 0 ? d.now() : d.deadline_for(DueTime.QuadPart);
    return d.set_timer(Timer, due, ke::Ticks(Period) * ke::kTicksPerMs, Dpc);
}

BOOLEAN KeSetCoalescableTimer(PKTIMER Timer, LARGE_INTEGER DueTime, ULONG Period, ULONG TolerableDelay, PKDPC Dpc) {
    ntio::verifier::check_irql_at_most(DISPATCH_LEVEL, "KeSetCoalescableTimer");
    if (Period > static_cast<ULONG>(MAXLONG)) {
        ntio::verifier::report(ntio::verifier::Check::InvalidParameter,
                               fmt::format("KeSetCoalescableTimer with a period of {} ms, above MAXLONG", Period));
        return FALSE;
    }
    return KeSetTimerEx(Timer, DueTime, static_cast<LONG>(Period), Dpc);
}

BOOLEAN KeSetTimer(PKTIMER Timer, LARGE_INTEGER DueTime, PKDPC Dpc) { return KeSetTimerEx(Timer, DueTime, 0, Dpc); }

BOOLEAN KeCancelTimer(PKTIMER Timer) {
    ntio::verifier::check_irql_at_most(DISPATCH_LEVEL, "KeCancelTimer");
    return sys().dispatcher.cancel_timer(Timer);
}

BOOLEAN KeReadStateTimer(PKTIMER Timer) { return __atomic_load_n(&Timer->Header.SignalState, __ATOMIC_ACQUIRE) > 0; }

VOID KeInitializeDpc(PRKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine, PVOID DeferredContext) {
    Dpc->Type = 19;  // DpcObject
    Dpc->Importance = 1;  // MediumImportance
    Dpc->Number = 0;
    InitializeListHead(&Dpc->DpcListEntry);
    Dpc->DeferredRoutine = DeferredRoutine;
    Dpc->DeferredContext = DeferredContext;
    Dpc->SystemArgument1 = nullptr;
    Dpc->SystemArgument2 = nullptr;
    Dpc->DpcData = nullptr;
}

// Threaded DPCs run at PASSIVE_LEVEL on Windows when threaded DPCs are enabled; ntio
// runs them as ordinary DPCs, which Windows also does when they are disabled.
VOID KeInitializeThreadedDpc(PRKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine, PVOID DeferredContext) {
    KeInitializeDpc(Dpc, DeferredRoutine, DeferredContext);
}

// S-DPC-1: queued at DISPATCH_LEVEL or above (a spin lock held, a DPC's own IRQL
// raised by hand), the DPC waits until this thread lowers its IRQL below
// DISPATCH_LEVEL, as one queued to the current processor does on Windows; the DPC
// thread's own inserts run after the routine in progress anyway.
BOOLEAN KeInsertQueueDpc(PRKDPC Dpc, PVOID SystemArgument1, PVOID SystemArgument2) {
    if (ntio::ke::t_irql >= DISPATCH_LEVEL && !ntio::ke::t_runs_dpcs) {
        if (_KTHREAD* self = ntio::ps::current_thread_if_known()) {
            ntio::ke::t_holds_dpcs = true;
            return sys().dispatcher.queue_dpc_held(Dpc, SystemArgument1, SystemArgument2, self);
        }
    }
    return sys().dispatcher.queue_dpc(Dpc, SystemArgument1, SystemArgument2);
}

BOOLEAN KeRemoveQueueDpc(PRKDPC Dpc) { return sys().dispatcher.remove_dpc(Dpc); }

// S-DRT-1: importance picks the end of the DPC queue the next insertion takes.
VOID KeSetImportanceDpc(PRKDPC Dpc, KDPC_IMPORTANCE Importance) {
    if (Importance < LowImportance || Importance > MediumHighImportance) {
        ntio::verifier::report(ntio::verifier::Check::InvalidParameter,
                               fmt::format("KeSetImportanceDpc: importance {} is not a KDPC_IMPORTANCE; nothing changed",
                                           static_cast<int>(Importance)));
        return;
    }
    Dpc->Importance = static_cast<UCHAR>(Importance);
}

// S-DRT-1: the routine still runs on the DPC thread, which reports the target as its
// processor while it runs. Number is kept as target + 1 (0: no target).
VOID KeSetTargetProcessorDpc(PRKDPC Dpc, CCHAR Number) {
    ULONG count = KeQueryActiveProcessorCount(nullptr);
    if (Number < 0 || static_cast<ULONG>(Number) >= count) {
        ntio::verifier::report(ntio::verifier::Check::InvalidParameter,
                               fmt::format("KeSetTargetProcessorDpc: processor {} does not exist (this machine has {}); "
                                           "nothing changed",
                                           static_cast<int>(Number), count));
        return;
    }
    Dpc->Number = static_cast<USHORT>(Number + 1);
}

VOID KeFlushQueuedDpcs(VOID) {
    ntio::verifier::check_irql_at_most(PASSIVE_LEVEL, "KeFlushQueuedDpcs");
    sys().dispatcher.flush_dpcs();
}

}  // extern "C"
