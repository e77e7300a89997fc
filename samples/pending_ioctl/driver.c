/* pending_ioctl driver: an IOCTL that cannot be finished at once is marked
 * pending and handed to a system thread, which waits 5 seconds, writes the reply
 * into the request's buffer and completes it (articles 000 and 003).
 * IOCTL_PENDING_ANSWER_NOW is answered inside the dispatch routine instead. */
#include <ntddk.h>

#include "public.h"

/* Every system thread the driver starts, referenced, so that DriverUnload can wait for
 * each to end. A counter and an event that the worker signals are not enough: after the
 * signal the worker still runs the driver's code on its way out, which DriverUnload may
 * unload under it (Driver Verifier's 0xCE, ntio's ThreadLeftAtUnload). */
typedef struct _WORKER_THREAD {
    LIST_ENTRY Link;
    PKTHREAD Thread;
} WORKER_THREAD;

typedef struct _DEVICE_EXTENSION {
    KSPIN_LOCK Lock;
    LIST_ENTRY Workers; /* WORKER_THREADs, under Lock; kept until unload (a sample's few) */
} DEVICE_EXTENSION, *PDEVICE_EXTENSION;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD PendingUnload;
static DRIVER_DISPATCH PendingCreateClose;
static DRIVER_DISPATCH PendingDeviceControl;
static KSTART_ROUTINE PendingWorker;

typedef struct _WORK {
    PIRP Irp;
} WORK;

static VOID PendingWorker(PVOID Context) {
    WORK *work = (WORK *)Context;
    PIRP irp = work->Irp;
    LARGE_INTEGER delay;
    delay.QuadPart = -10000LL * PENDING_DELAY_MS;
    ExFreePoolWithTag(work, 'kroW');
    KeDelayExecutionThread(KernelMode, FALSE, &delay);
    RtlCopyMemory(irp->AssociatedIrp.SystemBuffer, PENDING_REPLY, sizeof(PENDING_REPLY));
    irp->IoStatus.Status = STATUS_SUCCESS;
    irp->IoStatus.Information = sizeof(PENDING_REPLY);
    KdPrint(("PendingIoctl: worker completes the request\n"));
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    PsTerminateSystemThread(STATUS_SUCCESS);
}

static NTSTATUS PendingCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    UNREFERENCED_PARAMETER(DeviceObject);
    Irp->IoStatus.Status = STATUS_SUCCESS;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

static NTSTATUS PendingDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
    PDEVICE_EXTENSION ext = (PDEVICE_EXTENSION)DeviceObject->DeviceExtension;
    ULONG code = sp->Parameters.DeviceIoControl.IoControlCode;
    ULONG outLen = sp->Parameters.DeviceIoControl.OutputBufferLength;
    NTSTATUS status;
    HANDLE thread;
    WORK *work;
    WORKER_THREAD *worker;
    KIRQL irql;

    if (code != IOCTL_PENDING_SEND_MESSAGE && code != IOCTL_PENDING_ANSWER_NOW) {
        status = STATUS_INVALID_DEVICE_REQUEST;
        goto complete;
    }
    if (outLen < sizeof(PENDING_REPLY)) {
        status = STATUS_BUFFER_TOO_SMALL;
        goto complete;
    }
    if (sp->Parameters.DeviceIoControl.InputBufferLength > 0)
        KdPrint(("PendingIoctl: request says \"%s\"\n", (char *)Irp->AssociatedIrp.SystemBuffer));
    if (code == IOCTL_PENDING_ANSWER_NOW) {
        RtlCopyMemory(Irp->AssociatedIrp.SystemBuffer, PENDING_REPLY, sizeof(PENDING_REPLY));
        Irp->IoStatus.Information = sizeof(PENDING_REPLY);
        status = STATUS_SUCCESS;
        goto complete;
    }

    work = (WORK *)ExAllocatePoolWithTag(NonPagedPoolNx, sizeof(WORK), 'kroW');
    worker = (WORKER_THREAD *)ExAllocatePoolWithTag(NonPagedPoolNx, sizeof(WORKER_THREAD), 'hTrW');
    if (!work || !worker) {
        if (work) ExFreePoolWithTag(work, 'kroW');
        if (worker) ExFreePoolWithTag(worker, 'hTrW');
        status = STATUS_INSUFFICIENT_RESOURCES;
        goto complete;
    }
    work->Irp = Irp;
    /* Mark pending before the IRP can be reached from the worker (S-DSP-1). */
    IoMarkIrpPending(Irp);
    status = PsCreateSystemThread(&thread, THREAD_ALL_ACCESS, NULL, NULL, NULL, PendingWorker, work);
    if (!NT_SUCCESS(status)) {
        ExFreePoolWithTag(work, 'kroW');
        ExFreePoolWithTag(worker, 'hTrW');
        Irp->IoStatus.Status = status;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return STATUS_PENDING; /* marked pending: return STATUS_PENDING even though it is complete */
    }
    /* The thread object, for DriverUnload to wait on; the handle is not needed. */
    status = ObReferenceObjectByHandle(thread, SYNCHRONIZE, NULL, KernelMode, (PVOID *)&worker->Thread, NULL);
    ZwClose(thread);
    if (NT_SUCCESS(status)) {
        KeAcquireSpinLock(&ext->Lock, &irql);
        InsertTailList(&ext->Workers, &worker->Link);
        KeReleaseSpinLock(&ext->Lock, irql);
    } else {
        ExFreePoolWithTag(worker, 'hTrW'); /* cannot happen for a handle just made */
    }
    return STATUS_PENDING;

complete:
    Irp->IoStatus.Status = status;
    if (!NT_SUCCESS(status)) Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return status;
}

static VOID PendingUnload(PDRIVER_OBJECT DriverObject) {
    UNICODE_STRING dos = RTL_CONSTANT_STRING(PENDING_DOS_NAME);
    PDEVICE_EXTENSION ext = (PDEVICE_EXTENSION)DriverObject->DeviceObject->DeviceExtension;
    /* Every worker thread has ended, and with it its request, before the code goes away.
     * No request arrives any more: every handle is closed before a driver unloads. */
    while (!IsListEmpty(&ext->Workers)) {
        WORKER_THREAD *worker = CONTAINING_RECORD(RemoveHeadList(&ext->Workers), WORKER_THREAD, Link);
        KeWaitForSingleObject(worker->Thread, Executive, KernelMode, FALSE, NULL);
        ObDereferenceObject(worker->Thread);
        ExFreePoolWithTag(worker, 'hTrW');
    }
    IoDeleteSymbolicLink(&dos);
    IoDeleteDevice(DriverObject->DeviceObject);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) {
    UNICODE_STRING name = RTL_CONSTANT_STRING(PENDING_NT_NAME);
    UNICODE_STRING dos = RTL_CONSTANT_STRING(PENDING_DOS_NAME);
    PDEVICE_OBJECT device;
    PDEVICE_EXTENSION ext;
    NTSTATUS status;
    UNREFERENCED_PARAMETER(RegistryPath);

    status = IoCreateDevice(DriverObject, sizeof(DEVICE_EXTENSION), &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &device);
    if (!NT_SUCCESS(status)) return status;
    ext = (PDEVICE_EXTENSION)device->DeviceExtension;
    KeInitializeSpinLock(&ext->Lock);
    InitializeListHead(&ext->Workers);
    device->Flags |= DO_BUFFERED_IO;
    status = IoCreateSymbolicLink(&dos, &name);
    if (!NT_SUCCESS(status)) {
        IoDeleteDevice(device);
        return status;
    }
    DriverObject->MajorFunction[IRP_MJ_CREATE] = PendingCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = PendingCreateClose;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = PendingDeviceControl;
    DriverObject->DriverUnload = PendingUnload;
    KdPrint(("PendingIoctl: loaded\n"));
    return STATUS_SUCCESS;
}
