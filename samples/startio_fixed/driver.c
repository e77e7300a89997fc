/* startio_fixed driver: the StartIo article's driver (samples/startio) with its one
 * DRIVER BUG fixed. The article's StartIo "works" for 3 seconds by waiting on an event
 * with a timeout, at DISPATCH_LEVEL, where no thread may block (the verifier reports
 * WaitAtDispatchLevel). Here StartIo only starts the work: it sets a 3-second timer and
 * returns; the timer's DPC finishes the request (XOR into the output through the MDL),
 * completes it and calls IoStartNextPacket. The device, the control code and the log
 * lines are the article's, so its application (startio_app) runs unchanged and the
 * requests complete at the same times: 3, 6, 9, 12 and 15 s.
 *
 * Two things change for the better, as a consequence: nothing blocks at DISPATCH_LEVEL,
 * and IoStartNextPacket runs from the DPC, so StartIo is never re-entered (no
 * StartIoRecursion) and thread 0's DeviceIoControl returns at once instead of after 15 s. */
#include <ntddk.h>

#include "../startio/public.h"

typedef struct _DEVICE_EXTENSION {
    char Buffer[100];
    ULONG Length;
    KTIMER Timer; /* the 3 seconds of "work" of the current request */
    KDPC Done;    /* finishes it */
} DEVICE_EXTENSION, *PDEVICE_EXTENSION;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD StartIoUnload;
static DRIVER_DISPATCH StartIoCreateClose;
static DRIVER_DISPATCH StartIoDeviceControl;
static DRIVER_STARTIO StartIoRoutine;
static DRIVER_CANCEL StartIoCancel;
static KDEFERRED_ROUTINE WorkDone;

/* StartIo, at DISPATCH_LEVEL: take the request's input and start the 3-second timer. */
static VOID StartIoRoutine(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    PDEVICE_EXTENSION ext = (PDEVICE_EXTENSION)DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
    LARGE_INTEGER due;
    KIRQL irql;
    ULONG in = sp->Parameters.DeviceIoControl.InputBufferLength;

    IoAcquireCancelSpinLock(&irql);
    if (Irp != DeviceObject->CurrentIrp || Irp->Cancel) {
        IoReleaseCancelSpinLock(irql);
        if (Irp == DeviceObject->CurrentIrp) {
            KdPrint(("StartIo: request was cancelled before it started\n"));
            Irp->IoStatus.Status = STATUS_CANCELLED;
            Irp->IoStatus.Information = 0;
            IoCompleteRequest(Irp, IO_NO_INCREMENT);
            IoStartNextPacket(DeviceObject, TRUE);
        }
        return;
    }
    IoSetCancelRoutine(Irp, NULL); /* from here on it cannot be cancelled */
    IoReleaseCancelSpinLock(irql);

    if (in > sizeof(ext->Buffer)) in = sizeof(ext->Buffer);
    RtlCopyMemory(ext->Buffer, Irp->AssociatedIrp.SystemBuffer, in);
    ext->Length = in;
    KdPrint(("StartIo: encoding \"%.*s\"\n", (int)in, ext->Buffer));
    due.QuadPart = -10000LL * STARTIO_WORK_MS;
    KeSetTimer(&ext->Timer, due, &ext->Done);
}

/* The timer's DPC, at DISPATCH_LEVEL: the work is done; finish the current request and
 * start the next one. Called from here, IoStartNextPacket's StartIo only sets the timer
 * again and returns: no recursion. */
static VOID WorkDone(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2) {
    PDEVICE_OBJECT DeviceObject = (PDEVICE_OBJECT)Context;
    PDEVICE_EXTENSION ext = (PDEVICE_EXTENSION)DeviceObject->DeviceExtension;
    PIRP Irp = DeviceObject->CurrentIrp;
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
    ULONG out = sp->Parameters.DeviceIoControl.OutputBufferLength, i;
    char *outBuf;
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Arg1);
    UNREFERENCED_PARAMETER(Arg2);

    for (i = 0; i < ext->Length; i++) ext->Buffer[i] ^= 'm';
    outBuf = (char *)MmGetSystemAddressForMdlSafe(Irp->MdlAddress, NormalPagePriority);
    if (outBuf && out >= ext->Length) {
        RtlCopyMemory(outBuf, ext->Buffer, ext->Length);
        Irp->IoStatus.Status = STATUS_SUCCESS;
        Irp->IoStatus.Information = ext->Length;
    } else {
        Irp->IoStatus.Status = STATUS_BUFFER_TOO_SMALL;
        Irp->IoStatus.Information = 0;
    }
    KdPrint(("StartIo: request for \"%.*s\" completes\n", (int)ext->Length, (char *)Irp->AssociatedIrp.SystemBuffer));
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    IoStartNextPacket(DeviceObject, TRUE);
}

/* S-DQ-10: the current request is left to StartIo and its DPC; a queued one is taken
 * out of the device queue and completed as cancelled. */
static VOID StartIoCancel(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    if (Irp == DeviceObject->CurrentIrp) {
        IoReleaseCancelSpinLock(Irp->CancelIrql);
        return;
    }
    if (KeRemoveEntryDeviceQueue(&DeviceObject->DeviceQueue, &Irp->Tail.Overlay.DeviceQueueEntry)) {
        IoReleaseCancelSpinLock(Irp->CancelIrql);
        KdPrint(("StartIo: queued request cancelled\n"));
        Irp->IoStatus.Status = STATUS_CANCELLED;
        Irp->IoStatus.Information = 0;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return;
    }
    IoReleaseCancelSpinLock(Irp->CancelIrql);
}

static NTSTATUS StartIoCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    UNREFERENCED_PARAMETER(DeviceObject);
    Irp->IoStatus.Status = STATUS_SUCCESS;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

static NTSTATUS StartIoDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
    if (sp->Parameters.DeviceIoControl.IoControlCode != IOCTL_ENCODE) {
        Irp->IoStatus.Status = STATUS_INVALID_DEVICE_REQUEST;
        Irp->IoStatus.Information = 0;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return STATUS_INVALID_DEVICE_REQUEST;
    }
    IoMarkIrpPending(Irp);
    KdPrint(("StartIo: IoStartPacket\n"));
    IoStartPacket(DeviceObject, Irp, NULL, StartIoCancel);
    KdPrint(("StartIo: IoStartPacket returned\n"));
    return STATUS_PENDING;
}

static VOID StartIoUnload(PDRIVER_OBJECT DriverObject) {
    UNICODE_STRING dos = RTL_CONSTANT_STRING(STARTIO_DOS_NAME);
    PDEVICE_EXTENSION ext = (PDEVICE_EXTENSION)DriverObject->DeviceObject->DeviceExtension;
    KeCancelTimer(&ext->Timer);
    KeFlushQueuedDpcs(); /* a DPC still running would touch the device deleted below */
    IoDeleteSymbolicLink(&dos);
    IoDeleteDevice(DriverObject->DeviceObject);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) {
    UNICODE_STRING name = RTL_CONSTANT_STRING(STARTIO_NT_NAME);
    UNICODE_STRING dos = RTL_CONSTANT_STRING(STARTIO_DOS_NAME);
    PDEVICE_OBJECT device;
    PDEVICE_EXTENSION ext;
    NTSTATUS status;
    UNREFERENCED_PARAMETER(RegistryPath);
    status = IoCreateDevice(DriverObject, sizeof(DEVICE_EXTENSION), &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &device);
    if (!NT_SUCCESS(status)) return status;
    device->Flags |= DO_BUFFERED_IO;
    ext = (PDEVICE_EXTENSION)device->DeviceExtension;
    KeInitializeTimer(&ext->Timer);
    KeInitializeDpc(&ext->Done, WorkDone, device);
    status = IoCreateSymbolicLink(&dos, &name);
    if (!NT_SUCCESS(status)) {
        IoDeleteDevice(device);
        return status;
    }
    DriverObject->MajorFunction[IRP_MJ_CREATE] = StartIoCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = StartIoCreateClose;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = StartIoDeviceControl;
    DriverObject->DriverStartIo = StartIoRoutine;
    DriverObject->DriverUnload = StartIoUnload;
    return STATUS_SUCCESS;
}
