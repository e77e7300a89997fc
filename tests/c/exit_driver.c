/* A driver that holds each IOCTL until it is cancelled or its file is cleaned up,
   with a cancel routine as a correct driver has: for the process-exit test
   (ProcessExit.* in io_file_test.cpp). Strict C11 like the samples; it also uses the
   WDK's small macros (ARGUMENT_PRESENT, min, FlagOn from <ntifs.h>). */
#include <ntifs.h>

#define EXIT_TEST_DEVICE L"\\Device\\ExitTest"
#define EXIT_TEST_LINK L"\\DosDevices\\ExitTest"

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD ExitUnload;
static DRIVER_DISPATCH ExitCreateClose, ExitCleanup, ExitControl;
static DRIVER_CANCEL ExitCancel;

static PIRP g_held[8];  /* under the cancel spin lock */
static KEVENT g_cancelled_inside; /* set by InsideCancel */

#define IOCTL_EXIT_WAIT_INSIDE CTL_CODE(FILE_DEVICE_UNKNOWN, 0x801, METHOD_BUFFERED, FILE_ANY_ACCESS)

/* The cancel routine of a request its dispatch routine waits on without pending it: it
   only wakes the dispatch routine, which completes the request itself. */
static VOID InsideCancel(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    UNREFERENCED_PARAMETER(DeviceObject);
    IoReleaseCancelSpinLock(Irp->CancelIrql);
    KeSetEvent(&g_cancelled_inside, IO_NO_INCREMENT, FALSE);
}

static NTSTATUS ExitCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    UNREFERENCED_PARAMETER(DeviceObject);
    if (IoGetCurrentIrpStackLocation(Irp)->MajorFunction == IRP_MJ_CLOSE) {
        /* A close that takes a second: the exit must wait for it wherever it runs (a
           thread whose cancelled call drops the file's last reference sends it). */
        LARGE_INTEGER second;
        second.QuadPart = -10000000LL;
        KeDelayExecutionThread(KernelMode, FALSE, &second);
        DbgPrint("ExitTest: closed\n");
    }
    Irp->IoStatus.Status = STATUS_SUCCESS;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

static BOOLEAN Unhold(PIRP Irp) {
    for (int i = 0; i < 8; ++i)
        if (g_held[i] == Irp) {
            g_held[i] = NULL;
            return TRUE;
        }
    return FALSE;
}

static VOID ExitCancel(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    UNREFERENCED_PARAMETER(DeviceObject);
    Unhold(Irp);
    IoReleaseCancelSpinLock(Irp->CancelIrql);
    DbgPrint("ExitTest: request cancelled\n");
    Irp->IoStatus.Status = STATUS_CANCELLED;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
}

static NTSTATUS ExitControl(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    KIRQL irql;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    if (sl->Parameters.DeviceIoControl.IoControlCode == IOCTL_EXIT_WAIT_INSIDE) {
        /* Waits inside dispatch until cancelled, then completes the request and returns
           its status: the caller's synchronous call returns without ever pending. */
        IoSetCancelRoutine(Irp, InsideCancel);
        DbgPrint("ExitTest: waiting inside dispatch\n");
        KeWaitForSingleObject(&g_cancelled_inside, Executive, KernelMode, FALSE, NULL);
        IoSetCancelRoutine(Irp, NULL);
        DbgPrint("ExitTest: request cancelled inside dispatch\n");
        Irp->IoStatus.Status = STATUS_CANCELLED;
        Irp->IoStatus.Information = 0;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return STATUS_CANCELLED;
    }
    if (!ARGUMENT_PRESENT(sl->FileObject) || !FlagOn(sl->FileObject->Flags, FO_HANDLE_CREATED) ||
        min(sl->Parameters.DeviceIoControl.InputBufferLength, 1u) != 0) {
        /* held requests come from handles, without input */
        Irp->IoStatus.Status = STATUS_INVALID_PARAMETER;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return STATUS_INVALID_PARAMETER;
    }
    UNREFERENCED_PARAMETER(DeviceObject);
    IoAcquireCancelSpinLock(&irql);
    for (int i = 0; i < 8; ++i)
        if (!g_held[i]) {
            g_held[i] = Irp;
            IoMarkIrpPending(Irp);
            IoSetCancelRoutine(Irp, ExitCancel);
            IoReleaseCancelSpinLock(irql);
            DbgPrint("ExitTest: request held\n");
            return STATUS_PENDING;
        }
    IoReleaseCancelSpinLock(irql);
    Irp->IoStatus.Status = STATUS_INSUFFICIENT_RESOURCES;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_INSUFFICIENT_RESOURCES;
}

/* Completes what it still holds for this file, as S-CAN-13 asks. */
static NTSTATUS ExitCleanup(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    PFILE_OBJECT file = IoGetCurrentIrpStackLocation(Irp)->FileObject;
    int completed = 0;
    UNREFERENCED_PARAMETER(DeviceObject);
    for (;;) {
        KIRQL irql;
        PIRP held = NULL;
        IoAcquireCancelSpinLock(&irql);
        for (int i = 0; i < 8 && !held; ++i)
            if (g_held[i] && IoGetCurrentIrpStackLocation(g_held[i])->FileObject == file &&
                IoSetCancelRoutine(g_held[i], NULL)) {
                held = g_held[i];
                g_held[i] = NULL;
            }
        IoReleaseCancelSpinLock(irql);
        if (!held) break;
        held->IoStatus.Status = STATUS_CANCELLED;
        held->IoStatus.Information = 0;
        IoCompleteRequest(held, IO_NO_INCREMENT);
        ++completed;
    }
    DbgPrint("ExitTest: cleanup completed %d held request(s)\n", completed);
    Irp->IoStatus.Status = STATUS_SUCCESS;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

static VOID ExitUnload(PDRIVER_OBJECT DriverObject) {
    UNICODE_STRING link;
    RtlInitUnicodeString(&link, EXIT_TEST_LINK);
    IoDeleteSymbolicLink(&link);
    IoDeleteDevice(DriverObject->DeviceObject);
    DbgPrint("ExitTest: unloaded\n");
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) {
    UNICODE_STRING name, link;
    PDEVICE_OBJECT device;
    NTSTATUS status;
    UNREFERENCED_PARAMETER(RegistryPath);
    KeInitializeEvent(&g_cancelled_inside, SynchronizationEvent, FALSE);
    RtlInitUnicodeString(&name, EXIT_TEST_DEVICE);
    status = IoCreateDevice(DriverObject, 0, &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &device);
    if (!NT_SUCCESS(status)) return status;
    RtlInitUnicodeString(&link, EXIT_TEST_LINK);
    status = IoCreateSymbolicLink(&link, &name);
    if (!NT_SUCCESS(status)) {
        IoDeleteDevice(device);
        return status;
    }
    DriverObject->MajorFunction[IRP_MJ_CREATE] = ExitCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = ExitCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLEANUP] = ExitCleanup;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = ExitControl;
    DriverObject->DriverUnload = ExitUnload;
    return STATUS_SUCCESS;
}
