/* driver_irps, the lower driver: a 4 KiB RAM "disk" with DO_DIRECT_IO. Reads and
 * writes are pended and carried out one at a time by a worker thread that takes
 * BLOCK_LATENCY_MS for each, as a slow device would; IOCTL_BLOCK_GET_INFO is answered
 * at once. It knows nothing of the relay filter above it. */
#include <ntddk.h>

#include "public.h"

typedef struct _BLOCK_EXTENSION {
    UCHAR Data[BLOCK_SIZE];
    ULONG Reads, Writes;
    KSPIN_LOCK QueueLock;
    LIST_ENTRY Queue; /* pended IRPs, through Tail.Overlay.ListEntry */
    KEVENT WorkReady;
    BOOLEAN Stopping;
    PVOID Worker; /* the worker's thread object */
} BLOCK_EXTENSION, *PBLOCK_EXTENSION;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD BlockUnload;
static DRIVER_DISPATCH BlockCreateClose;
static DRIVER_DISPATCH BlockReadWrite;
static DRIVER_DISPATCH BlockDeviceControl;
static KSTART_ROUTINE BlockWorker;

static NTSTATUS Finish(PIRP Irp, NTSTATUS Status, ULONG_PTR Information) {
    Irp->IoStatus.Status = Status;
    Irp->IoStatus.Information = Information;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return Status;
}

static VOID Transfer(PBLOCK_EXTENSION ext, PIRP Irp) {
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
    ULONG offset = (ULONG)sp->Parameters.Read.ByteOffset.QuadPart, length = sp->Parameters.Read.Length;
    PUCHAR buffer = length ? (PUCHAR)MmGetSystemAddressForMdlSafe(Irp->MdlAddress, NormalPagePriority) : NULL;
    if (length && !buffer) {
        Finish(Irp, STATUS_INSUFFICIENT_RESOURCES, 0);
        return;
    }
    if (sp->MajorFunction == IRP_MJ_WRITE) {
        RtlCopyMemory(ext->Data + offset, buffer, length);
        ext->Writes++;
    } else {
        RtlCopyMemory(buffer, ext->Data + offset, length);
        ext->Reads++;
    }
    KdPrint(("Block: %s of %lu bytes at %lu done\n", sp->MajorFunction == IRP_MJ_WRITE ? "write" : "read", length,
             offset));
    Finish(Irp, STATUS_SUCCESS, length);
}

static VOID BlockWorker(PVOID Context) {
    PBLOCK_EXTENSION ext = (PBLOCK_EXTENSION)Context;
    LARGE_INTEGER latency;
    latency.QuadPart = -10000LL * BLOCK_LATENCY_MS;
    for (;;) {
        KIRQL irql;
        PLIST_ENTRY entry = NULL;
        KeWaitForSingleObject(&ext->WorkReady, Executive, KernelMode, FALSE, NULL);
        for (;;) {
            KeAcquireSpinLock(&ext->QueueLock, &irql);
            entry = IsListEmpty(&ext->Queue) ? NULL : RemoveHeadList(&ext->Queue);
            KeReleaseSpinLock(&ext->QueueLock, irql);
            if (!entry) break;
            KeDelayExecutionThread(KernelMode, FALSE, &latency);
            Transfer(ext, CONTAINING_RECORD(entry, IRP, Tail.Overlay.ListEntry));
        }
        if (ext->Stopping) break;
    }
    PsTerminateSystemThread(STATUS_SUCCESS);
}

static NTSTATUS BlockCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    UNREFERENCED_PARAMETER(DeviceObject);
    return Finish(Irp, STATUS_SUCCESS, 0);
}

static NTSTATUS BlockReadWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    PBLOCK_EXTENSION ext = (PBLOCK_EXTENSION)DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
    LONGLONG offset = sp->Parameters.Read.ByteOffset.QuadPart;
    ULONG length = sp->Parameters.Read.Length;
    KIRQL irql;
    if (offset < 0 || offset + length > BLOCK_SIZE) return Finish(Irp, STATUS_INVALID_PARAMETER, 0);
    IoMarkIrpPending(Irp);
    KeAcquireSpinLock(&ext->QueueLock, &irql);
    InsertTailList(&ext->Queue, &Irp->Tail.Overlay.ListEntry);
    KeReleaseSpinLock(&ext->QueueLock, irql);
    KeSetEvent(&ext->WorkReady, IO_NO_INCREMENT, FALSE);
    return STATUS_PENDING;
}

static NTSTATUS BlockDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    PBLOCK_EXTENSION ext = (PBLOCK_EXTENSION)DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
    BLOCK_INFO *info = (BLOCK_INFO *)Irp->AssociatedIrp.SystemBuffer;
    if (sp->Parameters.DeviceIoControl.IoControlCode != IOCTL_BLOCK_GET_INFO)
        return Finish(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
    if (sp->Parameters.DeviceIoControl.OutputBufferLength < sizeof(BLOCK_INFO))
        return Finish(Irp, STATUS_BUFFER_TOO_SMALL, 0);
    info->Size = BLOCK_SIZE;
    info->Reads = ext->Reads;
    info->Writes = ext->Writes;
    return Finish(Irp, STATUS_SUCCESS, sizeof(BLOCK_INFO));
}

static VOID BlockUnload(PDRIVER_OBJECT DriverObject) {
    PDEVICE_OBJECT dev = DriverObject->DeviceObject;
    PBLOCK_EXTENSION ext = (PBLOCK_EXTENSION)dev->DeviceExtension;
    UNICODE_STRING link = RTL_CONSTANT_STRING(BLOCK_LINK_NAME);
    ext->Stopping = TRUE;
    KeSetEvent(&ext->WorkReady, IO_NO_INCREMENT, FALSE);
    KeWaitForSingleObject(ext->Worker, Executive, KernelMode, FALSE, NULL);
    ObDereferenceObject(ext->Worker);
    IoDeleteSymbolicLink(&link);
    IoDeleteDevice(dev);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) {
    UNICODE_STRING name = RTL_CONSTANT_STRING(BLOCK_DEVICE_NAME), link = RTL_CONSTANT_STRING(BLOCK_LINK_NAME);
    PDEVICE_OBJECT dev;
    PBLOCK_EXTENSION ext;
    HANDLE thread;
    NTSTATUS status;
    UNREFERENCED_PARAMETER(RegistryPath);

    status = IoCreateDevice(DriverObject, sizeof(BLOCK_EXTENSION), &name, FILE_DEVICE_DISK, 0, FALSE, &dev);
    if (!NT_SUCCESS(status)) return status;
    dev->Flags |= DO_DIRECT_IO;
    ext = (PBLOCK_EXTENSION)dev->DeviceExtension;
    KeInitializeSpinLock(&ext->QueueLock);
    InitializeListHead(&ext->Queue);
    KeInitializeEvent(&ext->WorkReady, SynchronizationEvent, FALSE);
    status = PsCreateSystemThread(&thread, THREAD_ALL_ACCESS, NULL, NULL, NULL, BlockWorker, ext);
    if (NT_SUCCESS(status)) {
        ObReferenceObjectByHandle(thread, THREAD_ALL_ACCESS, *PsThreadType, KernelMode, &ext->Worker, NULL);
        ZwClose(thread);
        status = IoCreateSymbolicLink(&link, &name);
    }
    if (!NT_SUCCESS(status)) {
        IoDeleteDevice(dev);
        return status;
    }
    DriverObject->MajorFunction[IRP_MJ_CREATE] = BlockCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = BlockCreateClose;
    DriverObject->MajorFunction[IRP_MJ_READ] = BlockReadWrite;
    DriverObject->MajorFunction[IRP_MJ_WRITE] = BlockReadWrite;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = BlockDeviceControl;
    DriverObject->DriverUnload = BlockUnload;
    return STATUS_SUCCESS;
}
