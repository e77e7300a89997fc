/* echo driver: a WDM function driver for a root-enumerated device, in the manner of the
 * WDK's Echo sample (our own code). AddDevice attaches a device over the PDO and
 * registers a device interface; IRP_MN_START_DEVICE enables it, so that clients find the
 * device with CM_Get_Device_Interface_List.
 *
 * Every WRITE stores a copy of its data at the end of a FIFO; every READ takes the oldest
 * stored chunk (up to its length). A READ that finds nothing waits, cancelable, in a
 * cancel-safe queue until a WRITE arrives, which then completes it directly. IRP_MJ_CLEANUP
 * cancels the reads its file object left waiting; removal cancels all of them. A remove
 * lock keeps removal from overtaking requests in progress. */
#include <ntddk.h>
#include <initguid.h>

#include "public.h"

#define ECHO_TAG 'ohcE'

typedef struct _ECHO_CHUNK {
    LIST_ENTRY Link;
    ULONG Length;
    UCHAR Data[1];
} ECHO_CHUNK;

typedef struct _ECHO_EXTENSION {
    PDEVICE_OBJECT Self, Lower, Pdo;
    UNICODE_STRING Interface; /* from IoRegisterDeviceInterface */
    IO_REMOVE_LOCK RemoveLock;
    KSPIN_LOCK Lock;          /* guards Chunks and PendingReads */
    LIST_ENTRY Chunks;        /* written data, oldest first */
    LIST_ENTRY PendingReads;  /* reads waiting for data, through Tail.Overlay.ListEntry */
    IO_CSQ ReadQueue;
    BOOLEAN Started, Removed;
} ECHO_EXTENSION, *PECHO_EXTENSION;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_ADD_DEVICE EchoAddDevice;
static DRIVER_UNLOAD EchoUnload;
static DRIVER_DISPATCH EchoCreateClose, EchoCleanup, EchoRead, EchoWrite, EchoPnp;
static IO_COMPLETION_ROUTINE EchoStartCompleted;
static IO_CSQ_INSERT_IRP_EX CsqInsertEx;
static IO_CSQ_REMOVE_IRP CsqRemove;
static IO_CSQ_PEEK_NEXT_IRP CsqPeek;
static IO_CSQ_ACQUIRE_LOCK CsqAcquire;
static IO_CSQ_RELEASE_LOCK CsqRelease;
static IO_CSQ_COMPLETE_CANCELED_IRP CsqCompleteCanceled;

#define EXT_OF_CSQ(csq) CONTAINING_RECORD(csq, ECHO_EXTENSION, ReadQueue)

static NTSTATUS Finish(PIRP Irp, NTSTATUS Status, ULONG_PTR Information) {
    Irp->IoStatus.Status = Status;
    Irp->IoStatus.Information = Information;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return Status;
}

/* ---- the cancel-safe queue of waiting reads ------------------------------------------- */
/* Under the queue's lock, which also guards the stored data: a read waits only if there is
 * no data; otherwise it leaves with the oldest chunk in *InsertContext, unqueued. This one
 * decision under one lock is what keeps a read from waiting beside stored data. */
static NTSTATUS CsqInsertEx(PIO_CSQ Csq, PIRP Irp, PVOID InsertContext) {
    PECHO_EXTENSION ext = EXT_OF_CSQ(Csq);
    if (!IsListEmpty(&ext->Chunks)) {
        *(ECHO_CHUNK **)InsertContext = CONTAINING_RECORD(RemoveHeadList(&ext->Chunks), ECHO_CHUNK, Link);
        return STATUS_UNSUCCESSFUL; /* not queued: the caller completes it with this chunk */
    }
    InsertTailList(&ext->PendingReads, &Irp->Tail.Overlay.ListEntry);
    return STATUS_SUCCESS;
}

static VOID CsqRemove(PIO_CSQ Csq, PIRP Irp) {
    UNREFERENCED_PARAMETER(Csq);
    RemoveEntryList(&Irp->Tail.Overlay.ListEntry);
}

/* PeekContext: a file object (only its reads) or NULL (any read). */
static PIRP CsqPeek(PIO_CSQ Csq, PIRP Irp, PVOID PeekContext) {
    PECHO_EXTENSION ext = EXT_OF_CSQ(Csq);
    PLIST_ENTRY next = Irp ? Irp->Tail.Overlay.ListEntry.Flink : ext->PendingReads.Flink;
    for (; next != &ext->PendingReads; next = next->Flink) {
        PIRP candidate = CONTAINING_RECORD(next, IRP, Tail.Overlay.ListEntry);
        if (!PeekContext || IoGetCurrentIrpStackLocation(candidate)->FileObject == (PFILE_OBJECT)PeekContext)
            return candidate;
    }
    return NULL;
}

static VOID CsqAcquire(PIO_CSQ Csq, PKIRQL Irql) { KeAcquireSpinLock(&EXT_OF_CSQ(Csq)->Lock, Irql); }
static VOID CsqRelease(PIO_CSQ Csq, KIRQL Irql) { KeReleaseSpinLock(&EXT_OF_CSQ(Csq)->Lock, Irql); }

static VOID CsqCompleteCanceled(PIO_CSQ Csq, PIRP Irp) {
    PECHO_EXTENSION ext = EXT_OF_CSQ(Csq);
    Finish(Irp, STATUS_CANCELLED, 0);
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
}

/* ---- reads and writes -------------------------------------------------------------------- */
/* Moves the oldest chunk into a read's buffer (buffered I/O) and frees it. */
static ULONG DeliverChunk(ECHO_CHUNK *chunk, PIRP read) {
    ULONG wanted = IoGetCurrentIrpStackLocation(read)->Parameters.Read.Length;
    ULONG n = chunk->Length < wanted ? chunk->Length : wanted;
    RtlCopyMemory(read->AssociatedIrp.SystemBuffer, chunk->Data, n);
    ExFreePoolWithTag(chunk, ECHO_TAG);
    return n;
}

/* Queues a read that has no answer yet, or completes it with the oldest chunk. Returns
 * whether it is waiting. The read holds a remove-lock acquisition until it completes. */
static BOOLEAN QueueOrAnswer(PECHO_EXTENSION ext, PIRP read) {
    ECHO_CHUNK *chunk = NULL;
    if (NT_SUCCESS(IoCsqInsertIrpEx(&ext->ReadQueue, read, NULL, &chunk))) return TRUE; /* marked pending */
    Finish(read, STATUS_SUCCESS, DeliverChunk(chunk, read));
    IoReleaseRemoveLock(&ext->RemoveLock, read);
    return FALSE;
}

static NTSTATUS EchoRead(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    PECHO_EXTENSION ext = (PECHO_EXTENSION)DeviceObject->DeviceExtension;
    NTSTATUS status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    if (!NT_SUCCESS(status)) return Finish(Irp, status, 0);
    if (ext->Removed) {
        IoReleaseRemoveLock(&ext->RemoveLock, Irp);
        return Finish(Irp, STATUS_DEVICE_REMOVED, 0);
    }
    if (IoGetCurrentIrpStackLocation(Irp)->Parameters.Read.Length == 0) {
        IoReleaseRemoveLock(&ext->RemoveLock, Irp);
        return Finish(Irp, STATUS_SUCCESS, 0);
    }
    /* Once completed the IRP is not ours to look at: the status comes from the decision. */
    return QueueOrAnswer(ext, Irp) ? STATUS_PENDING : STATUS_SUCCESS;
}

static NTSTATUS EchoWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    PECHO_EXTENSION ext = (PECHO_EXTENSION)DeviceObject->DeviceExtension;
    ULONG length = IoGetCurrentIrpStackLocation(Irp)->Parameters.Write.Length;
    ECHO_CHUNK *chunk;
    PIRP waiting;
    KIRQL irql;
    NTSTATUS status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    if (!NT_SUCCESS(status)) return Finish(Irp, status, 0);
    if (ext->Removed || length > ECHO_MAX_CHUNK) {
        IoReleaseRemoveLock(&ext->RemoveLock, Irp);
        return Finish(Irp, ext->Removed ? STATUS_DEVICE_REMOVED : STATUS_INVALID_BUFFER_SIZE, 0);
    }
    if (length == 0) {
        IoReleaseRemoveLock(&ext->RemoveLock, Irp);
        return Finish(Irp, STATUS_SUCCESS, 0);
    }
    chunk = (ECHO_CHUNK *)ExAllocatePoolWithTag(NonPagedPoolNx, FIELD_OFFSET(ECHO_CHUNK, Data) + length, ECHO_TAG);
    if (!chunk) {
        IoReleaseRemoveLock(&ext->RemoveLock, Irp);
        return Finish(Irp, STATUS_INSUFFICIENT_RESOURCES, 0);
    }
    chunk->Length = length;
    RtlCopyMemory(chunk->Data, Irp->AssociatedIrp.SystemBuffer, length);
    KeAcquireSpinLock(&ext->Lock, &irql);
    InsertTailList(&ext->Chunks, &chunk->Link);
    KeReleaseSpinLock(&ext->Lock, irql);
    /* A read that waits was queued when there was no data (CsqInsertEx): while data is
     * stored, hand it to the oldest waiting read. If a newer read took the data between
     * the look and the hand-over, the waiting read goes back to wait. */
    for (;;) {
        BOOLEAN stored;
        KeAcquireSpinLock(&ext->Lock, &irql);
        stored = !IsListEmpty(&ext->Chunks);
        KeReleaseSpinLock(&ext->Lock, irql);
        if (!stored || (waiting = IoCsqRemoveNextIrp(&ext->ReadQueue, NULL)) == NULL) break;
        if (QueueOrAnswer(ext, waiting)) break;
    }
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
    return Finish(Irp, STATUS_SUCCESS, length);
}

static NTSTATUS EchoCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    UNREFERENCED_PARAMETER(DeviceObject);
    return Finish(Irp, STATUS_SUCCESS, 0);
}

/* The last handle of a file object closed: its waiting reads go. */
static NTSTATUS EchoCleanup(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    PECHO_EXTENSION ext = (PECHO_EXTENSION)DeviceObject->DeviceExtension;
    PFILE_OBJECT file = IoGetCurrentIrpStackLocation(Irp)->FileObject;
    PIRP read;
    while ((read = IoCsqRemoveNextIrp(&ext->ReadQueue, file)) != NULL) {
        Finish(read, STATUS_CANCELLED, 0);
        IoReleaseRemoveLock(&ext->RemoveLock, read);
    }
    return Finish(Irp, STATUS_SUCCESS, 0);
}

/* ---- Plug and Play ------------------------------------------------------------------------- */
static NTSTATUS EchoStartCompleted(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context) {
    UNREFERENCED_PARAMETER(DeviceObject);
    if (Irp->PendingReturned) KeSetEvent((PKEVENT)Context, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED; /* the IRP is ours again: EchoPnp finishes it */
}

static VOID FailWaitingReadsAndDropData(PECHO_EXTENSION ext) {
    PIRP read;
    KIRQL irql;
    while ((read = IoCsqRemoveNextIrp(&ext->ReadQueue, NULL)) != NULL) {
        Finish(read, STATUS_DEVICE_REMOVED, 0);
        IoReleaseRemoveLock(&ext->RemoveLock, read);
    }
    KeAcquireSpinLock(&ext->Lock, &irql);
    while (!IsListEmpty(&ext->Chunks))
        ExFreePoolWithTag(CONTAINING_RECORD(RemoveHeadList(&ext->Chunks), ECHO_CHUNK, Link), ECHO_TAG);
    KeReleaseSpinLock(&ext->Lock, irql);
}

static NTSTATUS EchoPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    PECHO_EXTENSION ext = (PECHO_EXTENSION)DeviceObject->DeviceExtension;
    UCHAR minor = IoGetCurrentIrpStackLocation(Irp)->MinorFunction;
    NTSTATUS status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    if (!NT_SUCCESS(status)) return Finish(Irp, status, 0);

    switch (minor) {
    case IRP_MN_START_DEVICE: {
        /* The bus driver starts the device first; we finish on the way up. */
        KEVENT started;
        KeInitializeEvent(&started, NotificationEvent, FALSE);
        IoCopyCurrentIrpStackLocationToNext(Irp);
        IoSetCompletionRoutine(Irp, EchoStartCompleted, &started, TRUE, TRUE, TRUE);
        status = IoCallDriver(ext->Lower, Irp);
        if (status == STATUS_PENDING) {
            KeWaitForSingleObject(&started, Executive, KernelMode, FALSE, NULL);
            status = Irp->IoStatus.Status;
        }
        if (NT_SUCCESS(status)) {
            ext->Started = TRUE;
            status = IoSetDeviceInterfaceState(&ext->Interface, TRUE);
            KdPrint(("Echo: started, interface %wZ enabled\n", &ext->Interface));
        }
        IoReleaseRemoveLock(&ext->RemoveLock, Irp);
        return Finish(Irp, status, 0);
    }
    case IRP_MN_QUERY_REMOVE_DEVICE:
    case IRP_MN_CANCEL_REMOVE_DEVICE:
        Irp->IoStatus.Status = STATUS_SUCCESS;
        break;
    case IRP_MN_SURPRISE_REMOVAL:
        /* Gone: fail what waits, hide the interface; the device object stays until REMOVE. */
        ext->Removed = TRUE;
        IoSetDeviceInterfaceState(&ext->Interface, FALSE);
        FailWaitingReadsAndDropData(ext);
        Irp->IoStatus.Status = STATUS_SUCCESS;
        break;
    case IRP_MN_REMOVE_DEVICE:
        if (!ext->Removed) IoSetDeviceInterfaceState(&ext->Interface, FALSE);
        ext->Removed = TRUE;
        FailWaitingReadsAndDropData(ext);
        Irp->IoStatus.Status = STATUS_SUCCESS;
        IoSkipCurrentIrpStackLocation(Irp);
        status = IoCallDriver(ext->Lower, Irp);
        /* S-RL-4: wait for every request still inside, then detach and delete. */
        IoReleaseRemoveLockAndWait(&ext->RemoveLock, Irp);
        KdPrint(("Echo: removed\n"));
        RtlFreeUnicodeString(&ext->Interface);
        IoDetachDevice(ext->Lower);
        IoDeleteDevice(DeviceObject);
        return status;
    default:
        break; /* not ours: IoStatus stays as the PnP manager set it */
    }
    IoSkipCurrentIrpStackLocation(Irp);
    status = IoCallDriver(ext->Lower, Irp);
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
    return status;
}

static NTSTATUS EchoAddDevice(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT Pdo) {
    PDEVICE_OBJECT fdo;
    PECHO_EXTENSION ext;
    NTSTATUS status = IoCreateDevice(DriverObject, sizeof(ECHO_EXTENSION), NULL, FILE_DEVICE_UNKNOWN,
                                     FILE_DEVICE_SECURE_OPEN, FALSE, &fdo);
    if (!NT_SUCCESS(status)) return status;
    ext = (PECHO_EXTENSION)fdo->DeviceExtension;
    RtlZeroMemory(ext, sizeof(*ext));
    ext->Self = fdo;
    ext->Pdo = Pdo;
    KeInitializeSpinLock(&ext->Lock);
    InitializeListHead(&ext->Chunks);
    InitializeListHead(&ext->PendingReads);
    IoInitializeRemoveLock(&ext->RemoveLock, ECHO_TAG, 0, 0);
    IoCsqInitializeEx(&ext->ReadQueue, CsqInsertEx, CsqRemove, CsqPeek, CsqAcquire, CsqRelease, CsqCompleteCanceled);
    status = IoRegisterDeviceInterface(Pdo, &GUID_DEVINTERFACE_NTIO_ECHO, NULL, &ext->Interface);
    if (!NT_SUCCESS(status)) {
        IoDeleteDevice(fdo);
        return status;
    }
    ext->Lower = IoAttachDeviceToDeviceStack(fdo, Pdo);
    if (!ext->Lower) {
        RtlFreeUnicodeString(&ext->Interface);
        IoDeleteDevice(fdo);
        return STATUS_NO_SUCH_DEVICE;
    }
    fdo->Flags |= DO_BUFFERED_IO;
    fdo->Flags &= ~DO_DEVICE_INITIALIZING; /* ours to clear in AddDevice (S-W32-12) */
    return STATUS_SUCCESS;
}

static VOID EchoUnload(PDRIVER_OBJECT DriverObject) {
    UNREFERENCED_PARAMETER(DriverObject); /* every device went with IRP_MN_REMOVE_DEVICE */
    KdPrint(("Echo: unloaded\n"));
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) {
    UNREFERENCED_PARAMETER(RegistryPath);
    DriverObject->DriverExtension->AddDevice = EchoAddDevice;
    DriverObject->MajorFunction[IRP_MJ_CREATE] = EchoCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = EchoCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLEANUP] = EchoCleanup;
    DriverObject->MajorFunction[IRP_MJ_READ] = EchoRead;
    DriverObject->MajorFunction[IRP_MJ_WRITE] = EchoWrite;
    DriverObject->MajorFunction[IRP_MJ_PNP] = EchoPnp;
    DriverObject->DriverUnload = EchoUnload;
    return STATUS_SUCCESS;
}
