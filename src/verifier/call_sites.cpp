// The Ntio*At entry points the compat macros call (IoCompleteRequest, IoCallDriver,
// KeAcquireSpinLock, KeWaitForSingleObject, ...): each records the driver's file and
// line for the duration of the call, so that a report made inside it can say where
// the driver called from, then runs the plain routine. The plain routines stay
// exported for code that calls them by name or through a pointer. With every check
// off (NTIO_VERIFIER=off), or built without the verifier's hooks, they only forward.
#include "ke/spin.hpp"
#include "verifier/hooks.hpp"
#include "verifier/irp_tracker.hpp"
#include "verifier/report.hpp"

using ntio::verifier::Api;
using ntio::verifier::CallSiteScope;

#define NTIO_AT(api, call)                                  \
    do {                                                    \
        if (!ntio::verifier::call_site_hooks()) return call; \
        CallSiteScope site(File, Line, Api::api);           \
        return call;                                        \
    } while (0)

extern "C" {

NTSTATUS NtioCallDriverAt(PDEVICE_OBJECT DeviceObject, PIRP Irp, PCSTR File, ULONG Line) {
    if (!ntio::verifier::call_site_hooks()) return IofCallDriver(DeviceObject, Irp);
    CallSiteScope site(File, Line, Api::IoCallDriver);
    // This line is for IoCallDriver's own checks (the IRQL, a stack location left), not
    // for what the called driver does: its reports must not name the line that sent it
    // the IRP. The verified IoCallDriver clears the site around the dispatch itself.
    if (ntio::verifier::irp_hooks() || Irp->CurrentLocation <= 1 || ntio::ke::t_irql > DISPATCH_LEVEL)
        return IofCallDriver(DeviceObject, Irp);
    CallSiteScope callee(nullptr, 0, Api::none);
    return IofCallDriver(DeviceObject, Irp);
}

// NtioCompleteRequestAt is in io/irp.cpp: the completion sets the call site only
// around what may report, which the common completion never reaches.

KIRQL NtioAcquireSpinLockAt(PKSPIN_LOCK SpinLock, PCSTR File, ULONG Line) {
    NTIO_AT(KeAcquireSpinLock, KeAcquireSpinLockRaiseToDpc(SpinLock));
}

VOID NtioReleaseSpinLockAt(PKSPIN_LOCK SpinLock, KIRQL NewIrql, PCSTR File, ULONG Line) {
    NTIO_AT(KeReleaseSpinLock, KeReleaseSpinLock(SpinLock, NewIrql));
}

VOID NtioAcquireSpinLockAtDpcLevelAt(PKSPIN_LOCK SpinLock, PCSTR File, ULONG Line) {
    NTIO_AT(KeAcquireSpinLockAtDpcLevel, KeAcquireSpinLockAtDpcLevel(SpinLock));
}

VOID NtioReleaseSpinLockFromDpcLevelAt(PKSPIN_LOCK SpinLock, PCSTR File, ULONG Line) {
    NTIO_AT(KeReleaseSpinLockFromDpcLevel, KeReleaseSpinLockFromDpcLevel(SpinLock));
}

NTSTATUS NtioWaitForSingleObjectAt(PVOID Object, KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
                                   PLARGE_INTEGER Timeout, PCSTR File, ULONG Line) {
    NTIO_AT(KeWaitForSingleObject, KeWaitForSingleObject(Object, WaitReason, WaitMode, Alertable, Timeout));
}

NTSTATUS NtioWaitForMultipleObjectsAt(ULONG Count, PVOID Object[], WAIT_TYPE WaitType, KWAIT_REASON WaitReason,
                                      KPROCESSOR_MODE WaitMode, BOOLEAN Alertable, PLARGE_INTEGER Timeout,
                                      PKWAIT_BLOCK WaitBlockArray, PCSTR File, ULONG Line) {
    NTIO_AT(KeWaitForMultipleObjects,
            KeWaitForMultipleObjects(Count, Object, WaitType, WaitReason, WaitMode, Alertable, Timeout, WaitBlockArray));
}

NTSTATUS NtioDelayExecutionThreadAt(KPROCESSOR_MODE WaitMode, BOOLEAN Alertable, PLARGE_INTEGER Interval, PCSTR File,
                                    ULONG Line) {
    NTIO_AT(KeDelayExecutionThread, KeDelayExecutionThread(WaitMode, Alertable, Interval));
}

VOID NtioNoteIrpPending(PIRP Irp, PCSTR File, ULONG Line) {
    if (!ntio::verifier::irp_hooks()) return;
    CallSiteScope site(File, Line, Api::IoMarkIrpPending);
    PDEVICE_OBJECT device =
        Irp->CurrentLocation <= Irp->StackCount ? IoGetCurrentIrpStackLocation(Irp)->DeviceObject : nullptr;
    ntio::verifier::irps::note(Irp, ntio::verifier::irps::Step::marked_pending, device);
}

}  // extern "C"
