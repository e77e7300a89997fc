/* driver_irps, the upper driver: a filter attached over \Device\NtioBlock. Requests
 * it does not know pass down untouched (IoSkipCurrentIrpStackLocation). Its own three
 * control codes show the ways a driver builds an IRP for the device below it, and who
 * frees each (article 002):
 *
 *   IOCTL_RELAY_WRITE  IoAllocateIrp + an MDL of its own; the completion routine signals,
 *                      frees the MDL and the IRP and returns STATUS_MORE_PROCESSING_REQUIRED
 *   IOCTL_RELAY_READ   IoBuildAsynchronousFsdRequest (the I/O manager builds the MDL); the
 *                      same routine releases it all
 *   IOCTL_RELAY_INFO   IoBuildDeviceIoControlRequest + an event: no routine, and never
 *                      IoFreeIrp: the I/O manager frees it after setting the event
 *
 * Each waits for the event only when IoCallDriver returned STATUS_PENDING, and holds a
 * remove lock while its IRP is below. */
#include <ntddk.h>

#include "public.h"

#define RELAY_TAG 'yleR'

typedef struct _RELAY_EXTENSION {
    PDEVICE_OBJECT Lower;
    IO_REMOVE_LOCK RemoveLock;
} RELAY_EXTENSION, *PRELAY_EXTENSION;

/* What a completion routine hands back to the dispatch routine waiting for it. */
typedef struct _BUILT_IRP_WAIT {
    KEVENT Done;
    IO_STATUS_BLOCK Result;
} BUILT_IRP_WAIT;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD RelayUnload;
static DRIVER_DISPATCH RelayDispatch;
static IO_COMPLETION_ROUTINE RelayOwnIrpDone;

static NTSTATUS Finish(PIRP Irp, NTSTATUS Status, ULONG_PTR Information) {
    Irp->IoStatus.Status = Status;
    Irp->IoStatus.Information = Information;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return Status;
}

/* The creator's routine for IRPs it must free itself: it has no stack location of its
 * own (DeviceObject is NULL), so it must not call IoMarkIrpPending. */
static NTSTATUS RelayOwnIrpDone(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context) {
    BUILT_IRP_WAIT *wait = (BUILT_IRP_WAIT *)Context;
    UNREFERENCED_PARAMETER(DeviceObject);
    wait->Result = Irp->IoStatus;
    if (Irp->MdlAddress) {
        MmUnlockPages(Irp->MdlAddress);
        IoFreeMdl(Irp->MdlAddress);
        Irp->MdlAddress = NULL;
    }
    if (Irp->PendingReturned) KeSetEvent(&wait->Done, IO_NO_INCREMENT, FALSE);
    IoFreeIrp(Irp);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

/* Sends an IRP this driver owns and waits only if the device below pended it. */
static NTSTATUS SendOwnIrp(PDEVICE_OBJECT lower, PIRP irp, BUILT_IRP_WAIT *wait) {
    NTSTATUS status;
    IoSetCompletionRoutine(irp, RelayOwnIrpDone, wait, TRUE, TRUE, TRUE);
    status = IoCallDriver(lower, irp); /* the IRP may be freed by now */
    if (status == STATUS_PENDING) {
        KeWaitForSingleObject(&wait->Done, Executive, KernelMode, FALSE, NULL);
        status = wait->Result.Status;
    }
    return status;
}

static NTSTATUS RelayWrite(PRELAY_EXTENSION ext, const RELAY_REQUEST *req, ULONG_PTR *written) {
    BUILT_IRP_WAIT wait;
    PIO_STACK_LOCATION next;
    PMDL mdl;
    PIRP irp;
    NTSTATUS status;
    PVOID copy = ExAllocatePoolWithTag(NonPagedPoolNx, req->Length ? req->Length : 1, RELAY_TAG);
    if (!copy) return STATUS_INSUFFICIENT_RESOURCES;
    RtlCopyMemory(copy, req->Data, req->Length);
    irp = IoAllocateIrp(ext->Lower->StackSize, FALSE);
    mdl = irp ? IoAllocateMdl(copy, req->Length, FALSE, FALSE, irp) : NULL;
    if (!mdl) {
        if (irp) IoFreeIrp(irp);
        ExFreePoolWithTag(copy, RELAY_TAG);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    MmProbeAndLockPages(mdl, KernelMode, IoReadAccess);
    next = IoGetNextIrpStackLocation(irp);
    next->MajorFunction = IRP_MJ_WRITE;
    next->Parameters.Write.Length = req->Length;
    next->Parameters.Write.ByteOffset.QuadPart = req->Offset;
    KeInitializeEvent(&wait.Done, NotificationEvent, FALSE);
    KdPrint(("Relay: write of %lu bytes through an IRP from IoAllocateIrp\n", req->Length));
    status = SendOwnIrp(ext->Lower, irp, &wait);
    *written = NT_SUCCESS(status) ? wait.Result.Information : 0;
    ExFreePoolWithTag(copy, RELAY_TAG);
    return status;
}

static NTSTATUS RelayRead(PRELAY_EXTENSION ext, const RELAY_REQUEST *req, PVOID out, ULONG outLength,
                          ULONG_PTR *read) {
    BUILT_IRP_WAIT wait;
    LARGE_INTEGER offset;
    NTSTATUS status;
    PIRP irp;
    PVOID buffer;
    if (req->Length > outLength) return STATUS_BUFFER_TOO_SMALL;
    buffer = ExAllocatePoolWithTag(NonPagedPoolNx, req->Length ? req->Length : 1, RELAY_TAG);
    if (!buffer) return STATUS_INSUFFICIENT_RESOURCES;
    offset.QuadPart = req->Offset;
    irp = IoBuildAsynchronousFsdRequest(IRP_MJ_READ, ext->Lower, buffer, req->Length, &offset, NULL);
    if (!irp) {
        ExFreePoolWithTag(buffer, RELAY_TAG);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    KeInitializeEvent(&wait.Done, NotificationEvent, FALSE);
    KdPrint(("Relay: read of %lu bytes through IoBuildAsynchronousFsdRequest\n", req->Length));
    status = SendOwnIrp(ext->Lower, irp, &wait);
    *read = NT_SUCCESS(status) ? wait.Result.Information : 0;
    if (NT_SUCCESS(status)) RtlCopyMemory(out, buffer, *read);
    ExFreePoolWithTag(buffer, RELAY_TAG);
    return status;
}

static NTSTATUS RelayInfo(PRELAY_EXTENSION ext, BLOCK_INFO *info) {
    KEVENT done;
    IO_STATUS_BLOCK iosb;
    NTSTATUS status;
    PIRP irp;
    KeInitializeEvent(&done, NotificationEvent, FALSE);
    irp = IoBuildDeviceIoControlRequest(IOCTL_BLOCK_GET_INFO, ext->Lower, NULL, 0, info, sizeof(*info), FALSE, &done,
                                        &iosb);
    if (!irp) return STATUS_INSUFFICIENT_RESOURCES;
    KdPrint(("Relay: info through IoBuildDeviceIoControlRequest\n"));
    status = IoCallDriver(ext->Lower, irp); /* freed by the I/O manager at completion */
    if (status == STATUS_PENDING) {
        KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, NULL);
        status = iosb.Status;
    }
    return status;
}

static NTSTATUS RelayDispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    PRELAY_EXTENSION ext = (PRELAY_EXTENSION)DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
    ULONG code = sp->Parameters.DeviceIoControl.IoControlCode;
    ULONG inLength = sp->Parameters.DeviceIoControl.InputBufferLength;
    ULONG outLength = sp->Parameters.DeviceIoControl.OutputBufferLength;
    PVOID buffer = Irp->AssociatedIrp.SystemBuffer;
    ULONG_PTR information = 0;
    NTSTATUS status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    if (!NT_SUCCESS(status)) return Finish(Irp, status, 0);

    if (sp->MajorFunction != IRP_MJ_DEVICE_CONTROL ||
        (code != IOCTL_RELAY_WRITE && code != IOCTL_RELAY_READ && code != IOCTL_RELAY_INFO)) {
        /* Not ours: the device below gets our location as it is. */
        IoSkipCurrentIrpStackLocation(Irp);
        status = IoCallDriver(ext->Lower, Irp);
        IoReleaseRemoveLock(&ext->RemoveLock, Irp);
        return status;
    }
    if (code == IOCTL_RELAY_INFO) {
        BLOCK_INFO info;
        status = outLength < sizeof(info) ? STATUS_BUFFER_TOO_SMALL : RelayInfo(ext, &info);
        if (NT_SUCCESS(status)) {
            RtlCopyMemory(buffer, &info, sizeof(info));
            information = sizeof(info);
        }
    } else if (inLength < FIELD_OFFSET(RELAY_REQUEST, Data) ||
               ((const RELAY_REQUEST *)buffer)->Length > RELAY_MAX_DATA) {
        status = STATUS_INVALID_PARAMETER;
    } else {
        RELAY_REQUEST req;
        RtlCopyMemory(&req, buffer, inLength < sizeof(req) ? inLength : sizeof(req));
        status = code == IOCTL_RELAY_WRITE ? RelayWrite(ext, &req, &information)
                                           : RelayRead(ext, &req, buffer, outLength, &information);
    }
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
    return Finish(Irp, status, information);
}

static VOID RelayUnload(PDRIVER_OBJECT DriverObject) {
    PDEVICE_OBJECT dev = DriverObject->DeviceObject;
    PRELAY_EXTENSION ext = (PRELAY_EXTENSION)dev->DeviceExtension;
    /* No relay may still be using the device below once we detach from it. */
    if (NT_SUCCESS(IoAcquireRemoveLock(&ext->RemoveLock, DriverObject)))
        IoReleaseRemoveLockAndWait(&ext->RemoveLock, DriverObject);
    IoDetachDevice(ext->Lower);
    IoDeleteDevice(dev);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) {
    UNICODE_STRING target = RTL_CONSTANT_STRING(BLOCK_DEVICE_NAME);
    PDEVICE_OBJECT dev;
    PRELAY_EXTENSION ext;
    NTSTATUS status;
    ULONG i;
    UNREFERENCED_PARAMETER(RegistryPath);

    status = IoCreateDevice(DriverObject, sizeof(RELAY_EXTENSION), NULL, FILE_DEVICE_DISK, 0, FALSE, &dev);
    if (!NT_SUCCESS(status)) return status;
    ext = (PRELAY_EXTENSION)dev->DeviceExtension;
    IoInitializeRemoveLock(&ext->RemoveLock, RELAY_TAG, 0, 0);
    status = IoAttachDevice(dev, &target, &ext->Lower);
    if (!NT_SUCCESS(status)) {
        KdPrint(("Relay: cannot attach to %ls (0x%08lX): load blockdev first\n", BLOCK_DEVICE_NAME, (ULONG)status));
        IoDeleteDevice(dev);
        return status;
    }
    dev->Flags |= ext->Lower->Flags & (DO_BUFFERED_IO | DO_DIRECT_IO);
    for (i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; ++i) DriverObject->MajorFunction[i] = RelayDispatch;
    DriverObject->DriverUnload = RelayUnload;
    return STATUS_SUCCESS;
}
