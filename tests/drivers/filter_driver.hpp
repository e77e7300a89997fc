// A filter driver for the device-stack tests: an unnamed device attached on top of a
// named one, passing requests down in one of several ways and recording what each of
// its completion routines saw. Linked into the test program and loaded with
// System::load_driver("ntiofilter", filterdrv::DriverEntry).
#pragma once
#include <atomic>
#include <mutex>
#include <vector>

#include "wdm.h"

namespace filterdrv {

enum class Pass : UCHAR {
    copy_with_routine,  // IoCopyCurrentIrpStackLocationToNext + IoSetCompletionRoutine, return IoCallDriver's status
    copy_with_routine_ex,  // the same with IoSetCompletionRoutineEx
    skip,               // IoSkipCurrentIrpStackLocation, return IoCallDriver's status
    forward_and_wait,   // routine returns STATUS_MORE_PROCESSING_REQUIRED; wait if pending; complete again
    copy_no_routine,    // IoCopyCurrentIrpStackLocationToNext without a routine
    forward_synchronously,  // IoForwardIrpSynchronously, then complete again
};

struct RoutineCall {
    int order = 0;  // across every routine the tests record (see next_order)
    PDEVICE_OBJECT device = nullptr;
    CHAR location = 0;
    BOOLEAN pending_returned = FALSE;
    NTSTATUS status = 0;
    UCHAR lower_control = 0xff;  // the lower location's Control as the routine saw it (scrubbed: 0)
};

struct State {
    std::mutex lock;
    Pass pass = Pass::copy_with_routine;
    bool remark_pending = true;  // the routine does `if (PendingReturned) IoMarkIrpPending` (S-CMP-4)
    std::vector<RoutineCall> calls;
    std::atomic<int> dispatched{0};
    NTSTATUS forward_lower_status = 0;  // what forward_and_wait saw from below
    CHAR seen_stack_count = 0;          // Irp->StackCount of the last request the filter received
};
State& state();
void reset();
int next_order();

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);
// Creates a filter device and attaches it over the named device's stack (IoAttachDevice).
NTSTATUS attach(const wchar_t* target_nt_name, PDEVICE_OBJECT* filter, PDEVICE_OBJECT* lower);
// IoDetachDevice(lower) + IoDeleteDevice(filter).
void detach(PDEVICE_OBJECT filter);

}  // namespace filterdrv
