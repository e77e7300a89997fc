// The stack tests' filter driver (see filter_driver.hpp).
#include "drivers/filter_driver.hpp"

#include <string>

namespace filterdrv {
namespace {

State* g_state = new State();  // outlives late completions at process exit
PDRIVER_OBJECT g_driver = nullptr;
std::atomic<int> g_order{0};

struct Extension {
    PDEVICE_OBJECT lower;
};
Extension* ext(PDEVICE_OBJECT d) { return static_cast<Extension*>(d->DeviceExtension); }

void record(PDEVICE_OBJECT dev, PIRP irp) {
    RoutineCall c;
    c.order = next_order();
    c.device = dev;
    c.location = irp->CurrentLocation;
    c.pending_returned = irp->PendingReturned;
    c.status = irp->IoStatus.Status;
    c.lower_control = (IoGetCurrentIrpStackLocation(irp) - 1)->Control;
    std::lock_guard g(g_state->lock);
    g_state->calls.push_back(c);
}

NTSTATUS PassRoutine(PDEVICE_OBJECT dev, PIRP irp, PVOID) {
    record(dev, irp);
    if (g_state->remark_pending && irp->PendingReturned) IoMarkIrpPending(irp);
    return STATUS_CONTINUE_COMPLETION;
}

NTSTATUS SignalRoutine(PDEVICE_OBJECT dev, PIRP irp, PVOID context) {
    record(dev, irp);
    // S-CMP-6: only a pended request has a waiter.
    if (irp->PendingReturned) KeSetEvent(static_cast<PKEVENT>(context), IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

NTSTATUS Dispatch(PDEVICE_OBJECT dev, PIRP irp) {
    PDEVICE_OBJECT lower = ext(dev)->lower;
    UCHAR major = IoGetCurrentIrpStackLocation(irp)->MajorFunction;
    if (major != IRP_MJ_DEVICE_CONTROL && major != IRP_MJ_READ && major != IRP_MJ_WRITE) {
        IoSkipCurrentIrpStackLocation(irp);
        return IoCallDriver(lower, irp);
    }
    g_state->dispatched++;
    g_state->seen_stack_count = irp->StackCount;
    switch (g_state->pass) {
    case Pass::copy_with_routine:
        IoCopyCurrentIrpStackLocationToNext(irp);
        IoSetCompletionRoutine(irp, PassRoutine, nullptr, TRUE, TRUE, TRUE);
        return IoCallDriver(lower, irp);
    case Pass::copy_with_routine_ex:
        IoCopyCurrentIrpStackLocationToNext(irp);
        if (!NT_SUCCESS(IoSetCompletionRoutineEx(dev, irp, PassRoutine, nullptr, TRUE, TRUE, TRUE))) {
            irp->IoStatus.Status = STATUS_INSUFFICIENT_RESOURCES;
            IoCompleteRequest(irp, IO_NO_INCREMENT);
            return STATUS_INSUFFICIENT_RESOURCES;
        }
        return IoCallDriver(lower, irp);
    case Pass::skip:
        IoSkipCurrentIrpStackLocation(irp);
        return IoCallDriver(lower, irp);
    case Pass::copy_no_routine:
        IoCopyCurrentIrpStackLocationToNext(irp);
        return IoCallDriver(lower, irp);
    case Pass::forward_and_wait: {
        KEVENT done;
        KeInitializeEvent(&done, NotificationEvent, FALSE);
        IoCopyCurrentIrpStackLocationToNext(irp);
        IoSetCompletionRoutine(irp, SignalRoutine, &done, TRUE, TRUE, TRUE);
        NTSTATUS s = IoCallDriver(lower, irp);
        if (s == STATUS_PENDING) {
            KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, nullptr);
            s = irp->IoStatus.Status;
        }
        g_state->forward_lower_status = s;
        // The IRP is ours again: complete it a second time; unwinding resumes above us.
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        return s;
    }
    case Pass::forward_synchronously: {
        if (!IoForwardIrpSynchronously(lower, irp)) return STATUS_INVALID_DEVICE_REQUEST;
        NTSTATUS s = irp->IoStatus.Status;
        g_state->forward_lower_status = s;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        return s;
    }
    }
    return STATUS_INVALID_DEVICE_REQUEST;
}

VOID Unload(PDRIVER_OBJECT driver) {
    while (driver->DeviceObject) detach(driver->DeviceObject);
}

}  // namespace

State& state() { return *g_state; }
int next_order() { return ++g_order; }

void reset() {
    std::lock_guard g(g_state->lock);
    g_state->pass = Pass::copy_with_routine;
    g_state->remark_pending = true;
    g_state->calls.clear();
    g_state->dispatched = 0;
    g_state->forward_lower_status = 0;
    g_state->seen_stack_count = 0;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING) {
    g_driver = DriverObject;
    for (auto& f : DriverObject->MajorFunction) f = Dispatch;
    DriverObject->DriverUnload = Unload;
    return STATUS_SUCCESS;
}

NTSTATUS attach(const wchar_t* target_nt_name, PDEVICE_OBJECT* filter, PDEVICE_OBJECT* lower) {
    PDEVICE_OBJECT dev;
    NTSTATUS s = IoCreateDevice(g_driver, sizeof(Extension), nullptr, FILE_DEVICE_UNKNOWN, 0, FALSE, &dev);
    if (!NT_SUCCESS(s)) return s;
    std::wstring name = target_nt_name;
    UNICODE_STRING us{static_cast<USHORT>(name.size() * sizeof(WCHAR)), static_cast<USHORT>(name.size() * sizeof(WCHAR)),
                      name.data()};
    s = IoAttachDevice(dev, &us, &ext(dev)->lower);
    if (!NT_SUCCESS(s)) {
        IoDeleteDevice(dev);
        return s;
    }
    dev->Flags |= ext(dev)->lower->Flags & (DO_BUFFERED_IO | DO_DIRECT_IO);
    dev->Flags &= ~DO_DEVICE_INITIALIZING;
    *filter = dev;
    if (lower) *lower = ext(dev)->lower;
    return STATUS_SUCCESS;
}

void detach(PDEVICE_OBJECT filter) {
    IoDetachDevice(ext(filter)->lower);
    IoDeleteDevice(filter);
}

}  // namespace filterdrv
