#include "bench_driver.hpp"

#include <cstring>

namespace bench {
namespace {

struct Extension {
    KSPIN_LOCK lock;
    LIST_ENTRY queue;     // pended IRPs, through Tail.Overlay.ListEntry
    KEVENT work;          // synchronization event: the queue has work
    KEVENT stop;
    PKTHREAD worker;
};

VOID Worker(PVOID ctx) {
    auto* ext = static_cast<Extension*>(ctx);
    PVOID objects[2] = {&ext->work, &ext->stop};
    for (;;) {
        NTSTATUS s = KeWaitForMultipleObjects(2, objects, WaitAny, Executive, KernelMode, FALSE, nullptr, nullptr);
        for (;;) {
            KIRQL old;
            KeAcquireSpinLock(&ext->lock, &old);
            PLIST_ENTRY e = IsListEmpty(&ext->queue) ? nullptr : RemoveHeadList(&ext->queue);
            KeReleaseSpinLock(&ext->lock, old);
            if (!e) break;
            PIRP irp = CONTAINING_RECORD(e, IRP, Tail.Overlay.ListEntry);
            irp->IoStatus.Status = STATUS_SUCCESS;
            irp->IoStatus.Information = IoGetCurrentIrpStackLocation(irp)->Parameters.DeviceIoControl.OutputBufferLength;
            IoCompleteRequest(irp, IO_NO_INCREMENT);
        }
        if (s == STATUS_WAIT_1) return;
    }
}

NTSTATUS CreateClose(PDEVICE_OBJECT, PIRP irp) {
    irp->IoStatus.Status = STATUS_SUCCESS;
    irp->IoStatus.Information = 0;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

NTSTATUS Control(PDEVICE_OBJECT dev, PIRP irp) {
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(irp);
    ULONG in = sp->Parameters.DeviceIoControl.InputBufferLength;
    ULONG out = sp->Parameters.DeviceIoControl.OutputBufferLength;
    if (sp->Parameters.DeviceIoControl.IoControlCode == IOCTL_BENCH_PEND) {
        auto* ext = static_cast<Extension*>(dev->DeviceExtension);
        IoMarkIrpPending(irp);
        KIRQL old;
        KeAcquireSpinLock(&ext->lock, &old);
        InsertTailList(&ext->queue, &irp->Tail.Overlay.ListEntry);
        KeReleaseSpinLock(&ext->lock, old);
        KeSetEvent(&ext->work, IO_NO_INCREMENT, FALSE);
        return STATUS_PENDING;
    }
    // METHOD_BUFFERED: input and output share SystemBuffer; the "copy" is the echo.
    ULONG n = in < out ? in : out;
    std::memmove(irp->AssociatedIrp.SystemBuffer, irp->AssociatedIrp.SystemBuffer, n);
    irp->IoStatus.Status = STATUS_SUCCESS;
    irp->IoStatus.Information = n;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

VOID Unload(PDRIVER_OBJECT driver) {
    auto* ext = static_cast<Extension*>(driver->DeviceObject->DeviceExtension);
    KeSetEvent(&ext->stop, IO_NO_INCREMENT, FALSE);
    KeWaitForSingleObject(ext->worker, Executive, KernelMode, FALSE, nullptr);
    ObDereferenceObject(ext->worker);
    UNICODE_STRING dos = RTL_CONSTANT_STRING(L"\\DosDevices\\BenchEcho");
    IoDeleteSymbolicLink(&dos);
    IoDeleteDevice(driver->DeviceObject);
}

}  // namespace

NTSTATUS DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING) {
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Device\\BenchEcho");
    UNICODE_STRING dos = RTL_CONSTANT_STRING(L"\\DosDevices\\BenchEcho");
    PDEVICE_OBJECT dev;
    NTSTATUS s = IoCreateDevice(driver, sizeof(Extension), &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &dev);
    if (!NT_SUCCESS(s)) return s;
    dev->Flags |= DO_BUFFERED_IO;
    auto* ext = static_cast<Extension*>(dev->DeviceExtension);
    KeInitializeSpinLock(&ext->lock);
    InitializeListHead(&ext->queue);
    KeInitializeEvent(&ext->work, SynchronizationEvent, FALSE);
    KeInitializeEvent(&ext->stop, NotificationEvent, FALSE);
    HANDLE h;
    s = PsCreateSystemThread(&h, THREAD_ALL_ACCESS, nullptr, nullptr, nullptr, Worker, ext);
    if (!NT_SUCCESS(s)) return s;
    ObReferenceObjectByHandle(h, SYNCHRONIZE, *PsThreadType, KernelMode, reinterpret_cast<PVOID*>(&ext->worker), nullptr);
    ZwClose(h);
    driver->MajorFunction[IRP_MJ_CREATE] = CreateClose;
    driver->MajorFunction[IRP_MJ_CLOSE] = CreateClose;
    driver->MajorFunction[IRP_MJ_DEVICE_CONTROL] = Control;
    driver->DriverUnload = Unload;
    return IoCreateSymbolicLink(&dos, &name);
}

}  // namespace bench
