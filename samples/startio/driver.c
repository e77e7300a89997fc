/* startio driver (article 001): every IOCTL_ENCODE goes through IoStartPacket, so
 * the device handles one request at a time in StartIo. StartIo takes 3 seconds
 * (it waits on an event with a timeout, as the article does: at DISPATCH_LEVEL,
 * which the verifier reports), XORs the input with 'm' into the output buffer
 * through the MDL (METHOD_IN_DIRECT), completes the request and starts the next
 * one, so the first caller's IoStartPacket runs every queued request by
 * recursion. A cancel routine removes requests still waiting in the device queue. */
#include <ntddk.h>

#include "public.h"

typedef struct _DEVICE_EXTENSION {
    char Buffer[100];
} DEVICE_EXTENSION, *PDEVICE_EXTENSION;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD StartIoUnload;
static DRIVER_DISPATCH StartIoCreateClose;
static DRIVER_DISPATCH StartIoDeviceControl;
static DRIVER_STARTIO StartIoRoutine;
static DRIVER_CANCEL StartIoCancel;

static VOID Encode(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
    PDEVICE_EXTENSION ext = (PDEVICE_EXTENSION)DeviceObject->DeviceExtension;
    ULONG in = sp->Parameters.DeviceIoControl.InputBufferLength;
    ULONG out = sp->Parameters.DeviceIoControl.OutputBufferLength;
    char *outBuf;
    KEVENT never;
    LARGE_INTEGER timeout;
    ULONG i;

    if (in > sizeof(ext->Buffer)) in = sizeof(ext->Buffer);
    RtlCopyMemory(ext->Buffer, Irp->AssociatedIrp.SystemBuffer, in);
    KdPrint(("StartIo: encoding \"%.*s\"\n", (int)in, ext->Buffer));
    /* The article's 3-second "work": a timed wait inside StartIo, at DISPATCH_LEVEL. */
    KeInitializeEvent(&never, NotificationEvent, FALSE);
    timeout.QuadPart = -10000LL * STARTIO_WORK_MS;
    KeWaitForSingleObject(&never, Executive, KernelMode, FALSE, &timeout);
    for (i = 0; i < in; i++) ext->Buffer[i] ^= 'm';
    outBuf = (char *)MmGetSystemAddressForMdlSafe(Irp->MdlAddress, NormalPagePriority);
    if (outBuf && out >= in) {
        RtlCopyMemory(outBuf, ext->Buffer, in);
        Irp->IoStatus.Status = STATUS_SUCCESS;
        Irp->IoStatus.Information = in;
    } else {
        Irp->IoStatus.Status = STATUS_BUFFER_TOO_SMALL;
        Irp->IoStatus.Information = 0;
    }
    KdPrint(("StartIo: request for \"%.*s\" completes\n", (int)in, (char *)Irp->AssociatedIrp.SystemBuffer));
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
}

static VOID StartIoRoutine(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    KIRQL irql;
    /* The article's check, under the cancel spin lock: a request that is no longer
     * current, or was cancelled before we got here, is not processed. */
    IoAcquireCancelSpinLock(&irql);
    if (Irp != DeviceObject->CurrentIrp || Irp->Cancel) {
        IoReleaseCancelSpinLock(irql);
        if (Irp == DeviceObject->CurrentIrp) {
            /* Cancelled while current: finish it here and move on. */
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
    Encode(DeviceObject, Irp);
    IoStartNextPacket(DeviceObject, TRUE); /* the recursion of the article */
}

/* S-DQ-10: the current request is left to StartIo; a queued one is taken out of the
 * device queue and completed as cancelled. */
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
    /* Pending first (S-DQ-6): StartIo may complete it before IoStartPacket returns. */
    IoMarkIrpPending(Irp);
    KdPrint(("StartIo: IoStartPacket\n"));
    IoStartPacket(DeviceObject, Irp, NULL, StartIoCancel);
    KdPrint(("StartIo: IoStartPacket returned\n"));
    return STATUS_PENDING;
}

static VOID StartIoUnload(PDRIVER_OBJECT DriverObject) {
    UNICODE_STRING dos = RTL_CONSTANT_STRING(STARTIO_DOS_NAME);
    IoDeleteSymbolicLink(&dos);
    IoDeleteDevice(DriverObject->DeviceObject);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) {
    UNICODE_STRING name = RTL_CONSTANT_STRING(STARTIO_NT_NAME);
    UNICODE_STRING dos = RTL_CONSTANT_STRING(STARTIO_DOS_NAME);
    PDEVICE_OBJECT device;
    NTSTATUS status;
    UNREFERENCED_PARAMETER(RegistryPath);
    status = IoCreateDevice(DriverObject, sizeof(DEVICE_EXTENSION), &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &device);
    if (!NT_SUCCESS(status)) return status;
    device->Flags |= DO_BUFFERED_IO;
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
