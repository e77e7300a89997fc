// IoCallDriver's body, inline: IofCallDriver is this, and the I/O manager's own
// requests (io/file.cpp) send their IRPs with it in their own frame instead of calling
// IofCallDriver, which would save and restore registers around the dispatch routine a
// second time.
#pragma once
#include "io/iomgr.hpp"
#include "ke/spin.hpp"
#include "trace/trace.hpp"
#include "verifier/hooks.hpp"
#include "verifier/irp_tracker.hpp"
#include "verifier/report.hpp"

namespace ntio::io {

// Its reports and the traced dispatch, out of line and cold (io/irp.cpp).
NTSTATUS no_stack_location_left(PDEVICE_OBJECT DeviceObject, PIRP Irp);
// `packed`: the dispatch routine's major function << 8 | the IRQL it was called at (one
// register kept across the call instead of three).
void dispatch_changed_irql(PDEVICE_OBJECT DeviceObject, uint32_t packed);

// `watched`: false when the caller has found that nothing watches IRPs
// (verifier::irps_watched()), so that neither the verifier's nor the tracer's path is
// tested again here.
template <bool watched = true>
[[gnu::always_inline]] inline NTSTATUS call_driver(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    verifier::check_irql_at_most(DISPATCH_LEVEL, "IoCallDriver");
    if (watched && verifier::irp_hooks()) [[unlikely]]  // the same call with every IRP check (verifier/irp_tracker.cpp)
        return verifier::irps::call_driver(DeviceObject, Irp);
    if (Irp->CurrentLocation <= 1) [[unlikely]]
        return no_stack_location_left(DeviceObject, Irp);
    Irp->CurrentLocation--;
    PIO_STACK_LOCATION sl = --Irp->Tail.Overlay.CurrentStackLocation;
    sl->DeviceObject = DeviceObject;
    UCHAR major = sl->MajorFunction;  // the IRP may be gone when dispatch returns
    PDRIVER_DISPATCH dispatch = DeviceObject->DriverObject->MajorFunction[major];
    uint32_t packed = uint32_t(major) << 8 | ke::t_irql;
    NTSTATUS status = watched && trace::enabled() ? dispatch_traced(DeviceObject, Irp, dispatch)
                                                  : dispatch(DeviceObject, Irp);
    if (ke::t_irql != static_cast<KIRQL>(packed)) [[unlikely]]
        dispatch_changed_irql(DeviceObject, packed);
    return status;
}

}  // namespace ntio::io
