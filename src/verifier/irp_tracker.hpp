// IRP records, kept while verifier::irp_hooks() is on: each IRP's last state transitions
// (a small ring: allocated, dispatched to a device, returned, marked pending, queued,
// StartIo, cancel, completion routines, completed, freed), the dispatch-return
// bookkeeping behind ReturnedPendingNotMarked / MarkedPendingNotReturned, and the
// quarantine that keeps freed IRPs poisoned for a while so that a later use is caught
// (IrpUsedAfterFree) instead of landing in a recycled IRP.
//
// A record belongs to the IRP from allocation until the IRP leaves the quarantine; a
// dispatch frame (the verified IoCallDriver) holds it too, so that what the dispatch
// routine returned can still be checked after the IRP was completed and freed under it.
// The IRP header's verifier_slot names the record; 0 is "not tracked" (allocated while
// tracking was off), and every hook then does nothing.
#pragma once
#include <cstdint>
#include <string>

#include "verifier/hooks.hpp"
#include "wdm.h"

namespace ntio::verifier::irps {

enum class Step : uint8_t {
    allocated,           // by a driver (IoAllocateIrp, IoBuild*) or the I/O manager
    dispatched,          // IoCallDriver to a device
    returned,            // the dispatch routine returned (value: status)
    marked_pending,      // IoMarkIrpPending
    forced_pending,      // fault injection: the caller is told STATUS_PENDING
    queued,              // IoStartPacket (queued unless the device is idle)
    started,             // StartIo
    cancel,              // IoCancelIrp
    cancel_routine,      // its cancel routine is called
    completed,           // IoCompleteRequest (value: status)
    completion_delayed,  // fault injection: the completion happens later
    completion_routine,  // a completion routine runs
    reclaimed,           // a completion routine returned STATUS_MORE_PROCESSING_REQUIRED
    freed_by_driver,     // IoFreeIrp
    freed,               // its memory went to the quarantine
};

// A fresh IRP (io::allocate_irp, IoInitializeIrp): its record.
NTIO_VERIFIER_COLD void allocated(IRP* irp);
// IoAllocateIrp, IoBuild*Request, IoMakeAssociatedIrp: a driver built it (the current
// one, or the one whose code `caller` is in).
NTIO_VERIFIER_COLD void created_by_driver(IRP* irp, const void* caller);
// IoReuseIrp: the IRP starts a new life under a new id.
NTIO_VERIFIER_COLD void reinitialized(IRP* irp);
// A transition for the history. `location`: the stack location it concerns; -1 reads
// the IRP's current one, which only its owner may (a canceller passes 0: the IRP may
// be unwinding on another thread meanwhile).
NTIO_VERIFIER_COLD void note(IRP* irp, Step step, DEVICE_OBJECT* device = nullptr, int64_t value = 0,
                             int location = -1);

// IoCallDriver with every IRP check: the twin of the fast path in io/irp.cpp.
NTIO_VERIFIER_COLD NTSTATUS call_driver(DEVICE_OBJECT* device, IRP* irp);
// The start of IoCompleteRequest. False: do not complete now (a freed IRP, reported;
// or fault injection delays this completion and will complete it itself).
NTIO_VERIFIER_COLD bool completing(IRP* irp, CCHAR priority_boost);
// IoCompleteRequest has unwound `location` (its Control as it was, and the completion
// routine it calls, if any).
NTIO_VERIFIER_COLD void location_done(IRP* irp, int location, UCHAR control, PIO_COMPLETION_ROUTINE routine);
// False (after a report) when `irp` was already freed; `api` is the caller.
NTIO_VERIFIER_COLD bool check_live(IRP* irp, const char* api);
// io::free_irp: true when the IRP went to the quarantine (its memory stays poisoned
// through the next 1024 frees; then it serves a later request, see
// io::reuse_after_quarantine).
NTIO_VERIFIER_COLD bool quarantined(IRP* irp);

// For reports: "IRP #12 IRP_MJ_DEVICE_CONTROL" details and the history, oldest first;
// empty when the IRP is not tracked.
std::string history(IRP* irp);
// The id of an IRP, live or in the quarantine (0: not an IRP the runtime knows).
uint64_t id_of(IRP* irp);
// The device the IRP was last sent to ("" when not tracked).
std::string last_device(IRP* irp);

// After DriverUnload: reports the IRPs the driver allocated and did not free, or still
// holds (dispatched to it and not completed past it).
void report_left_by(uint32_t driver);

// Teardown: frees the quarantined IRPs and every record.
void reset();

}  // namespace ntio::verifier::irps
