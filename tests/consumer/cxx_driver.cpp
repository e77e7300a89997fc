// A driver written in C++ as Windows drivers are (tests/consumer/run.sh): its own global
// operator new/delete on the pool, since a kernel has no C++ runtime heap, and a vendor
// device type's IOCTL as a case label. Built with the contract's line and g++; the
// driver's calls must reach its own operators, not libstdc++'s, which the program
// loaded first (pkg-config's -Bsymbolic-functions, docs/user-guide.md).
#include <ntddk.h>

#include "cxx_public.h"

static const ULONG kTag = 'xxCT';
static LONG g_live_objects;

void* __cdecl operator new(size_t size, POOL_FLAGS flags, ULONG tag) { return ExAllocatePool2(flags, size, tag); }
void* __cdecl operator new(size_t size) { return ExAllocatePool2(POOL_FLAG_NON_PAGED, size, kTag); }
void __cdecl operator delete(void* p) noexcept {
    if (p) ExFreePoolWithTag(p, kTag);
}
void __cdecl operator delete(void* p, size_t) noexcept {
    if (p) ExFreePoolWithTag(p, kTag);
}

namespace {

struct Widget {
    explicit Widget(ULONG v) : value(v) { InterlockedIncrement(&g_live_objects); }
    ~Widget() { InterlockedDecrement(&g_live_objects); }
    ULONG value;
};

DRIVER_DISPATCH CreateClose;
DRIVER_DISPATCH Control;
DRIVER_UNLOAD Unload;

NTSTATUS CreateClose(PDEVICE_OBJECT, PIRP irp) {
    irp->IoStatus.Status = STATUS_SUCCESS;
    irp->IoStatus.Information = 0;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

NTSTATUS Control(PDEVICE_OBJECT, PIRP irp) {
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(irp);
    NTSTATUS status = STATUS_INVALID_DEVICE_REQUEST;
    ULONG_PTR info = 0;
    switch (sp->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_CXX_DOUBLE: {  // bit 31 set: an unsigned case label
        if (sp->Parameters.DeviceIoControl.InputBufferLength < sizeof(ULONG) ||
            sp->Parameters.DeviceIoControl.OutputBufferLength < 2 * sizeof(ULONG)) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        ULONG* io = static_cast<ULONG*>(irp->AssociatedIrp.SystemBuffer);
        Widget* w = new (POOL_FLAG_NON_PAGED, kTag) Widget(io[0] * 2);  // placement form
        Widget* plain = new Widget(1);                                    // the plain form
        io[0] = w->value;
        io[1] = static_cast<ULONG>(g_live_objects);
        delete w;
        delete plain;
        status = STATUS_SUCCESS;
        info = 2 * sizeof(ULONG);
        break;
    }
    default:
        break;
    }
    irp->IoStatus.Status = status;
    irp->IoStatus.Information = info;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return status;
}

void Unload(PDRIVER_OBJECT driver) {
    UNICODE_STRING link = RTL_CONSTANT_STRING(L"\\DosDevices\\CxxDriver");
    IoDeleteSymbolicLink(&link);
    IoDeleteDevice(driver->DeviceObject);
    DbgPrint("cxx driver: unloaded with %ld live objects\n", g_live_objects);
}

}  // namespace

extern "C" NTSTATUS DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING) {
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Device\\CxxDriver");
    UNICODE_STRING link = RTL_CONSTANT_STRING(L"\\DosDevices\\CxxDriver");
    PDEVICE_OBJECT device;
    NTSTATUS status = IoCreateDevice(driver, 0, &name, FILE_DEVICE_CXX, 0, FALSE, &device);
    if (!NT_SUCCESS(status)) return status;
    status = IoCreateSymbolicLink(&link, &name);
    if (!NT_SUCCESS(status)) {
        IoDeleteDevice(device);
        return status;
    }
    device->Flags |= DO_BUFFERED_IO;
    driver->MajorFunction[IRP_MJ_CREATE] = CreateClose;
    driver->MajorFunction[IRP_MJ_CLOSE] = CreateClose;
    driver->MajorFunction[IRP_MJ_DEVICE_CONTROL] = Control;
    driver->DriverUnload = Unload;
    device->Flags &= ~DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}
