/* systhread driver (article 003): a system thread ticks once a second, waiting on
 * a kill event with a 1-second timeout; IOCTLs start and stop it. Stopping sets
 * the event and waits on the thread object, and DriverUnload does the same for a
 * thread still running, so the code never goes away under a running thread. */
#include <ntddk.h>

#include "public.h"

typedef struct _DEVICE_EXTENSION {
    KEVENT Kill;
    PKTHREAD Thread; /* referenced while running */
    LONG Ticks;
    KMUTEX Lock; /* serializes start/stop; a KMUTEX keeps the holder at PASSIVE_LEVEL */
} DEVICE_EXTENSION, *PDEVICE_EXTENSION;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD SysThreadUnload;
static DRIVER_DISPATCH SysThreadCreateClose;
static DRIVER_DISPATCH SysThreadDeviceControl;
static KSTART_ROUTINE SysThreadProc;

static VOID SysThreadProc(PVOID Context) {
    PDEVICE_EXTENSION ext = (PDEVICE_EXTENSION)Context;
    LARGE_INTEGER timeout;
    timeout.QuadPart = -10 * 1000 * 1000; /* 1 s */
    KdPrint(("SysThread: thread starts\n"));
    for (;;) {
        NTSTATUS status = KeWaitForSingleObject(&ext->Kill, Executive, KernelMode, FALSE, &timeout);
        if (status != STATUS_TIMEOUT) break;
        KdPrint(("SysThread: tick %ld\n", InterlockedIncrement(&ext->Ticks)));
    }
    KdPrint(("SysThread: thread ends after %ld ticks\n", ext->Ticks));
    PsTerminateSystemThread(STATUS_SUCCESS);
}

static NTSTATUS StartThread(PDEVICE_EXTENSION ext) {
    HANDLE h;
    NTSTATUS status;
    if (ext->Thread) return STATUS_DEVICE_BUSY;
    KeClearEvent(&ext->Kill);
    ext->Ticks = 0;
    status = PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, SysThreadProc, ext);
    if (!NT_SUCCESS(status)) return status;
    status = ObReferenceObjectByHandle(h, THREAD_ALL_ACCESS, NULL, KernelMode, (PVOID *)&ext->Thread, NULL);
    ZwClose(h);
    return status;
}

static LONG StopThread(PDEVICE_EXTENSION ext) {
    if (!ext->Thread) return -1;
    KeSetEvent(&ext->Kill, IO_NO_INCREMENT, FALSE);
    KeWaitForSingleObject(ext->Thread, Executive, KernelMode, FALSE, NULL);
    ObDereferenceObject(ext->Thread);
    ext->Thread = NULL;
    return ext->Ticks;
}

static NTSTATUS SysThreadCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    UNREFERENCED_PARAMETER(DeviceObject);
    Irp->IoStatus.Status = STATUS_SUCCESS;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

static NTSTATUS SysThreadDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    PDEVICE_EXTENSION ext = (PDEVICE_EXTENSION)DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
    NTSTATUS status = STATUS_SUCCESS;
    ULONG_PTR info = 0;
    LONG ticks;
    PAGED_CODE();
    KeWaitForMutexObject(&ext->Lock, Executive, KernelMode, FALSE, NULL);
    switch (sp->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_SYSTHREAD_START:
        status = StartThread(ext);
        break;
    case IOCTL_SYSTHREAD_STOP:
        if (sp->Parameters.DeviceIoControl.OutputBufferLength < sizeof(ULONG)) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        ticks = StopThread(ext);
        if (ticks < 0) {
            status = STATUS_INVALID_DEVICE_STATE;
            break;
        }
        *(PULONG)Irp->AssociatedIrp.SystemBuffer = (ULONG)ticks;
        info = sizeof(ULONG);
        break;
    default:
        status = STATUS_INVALID_DEVICE_REQUEST;
        break;
    }
    KeReleaseMutex(&ext->Lock, FALSE);
    Irp->IoStatus.Status = status;
    Irp->IoStatus.Information = info;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return status;
}

static VOID SysThreadUnload(PDRIVER_OBJECT DriverObject) {
    UNICODE_STRING dos = RTL_CONSTANT_STRING(SYSTHREAD_DOS_NAME);
    PDEVICE_EXTENSION ext = (PDEVICE_EXTENSION)DriverObject->DeviceObject->DeviceExtension;
    if (ext->Thread) KdPrint(("SysThread: unload stops the thread after %ld ticks\n", StopThread(ext)));
    IoDeleteSymbolicLink(&dos);
    IoDeleteDevice(DriverObject->DeviceObject);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) {
    UNICODE_STRING name = RTL_CONSTANT_STRING(SYSTHREAD_NT_NAME);
    UNICODE_STRING dos = RTL_CONSTANT_STRING(SYSTHREAD_DOS_NAME);
    PDEVICE_OBJECT device;
    PDEVICE_EXTENSION ext;
    NTSTATUS status;
    KdPrint(("SysThread: DriverEntry, registry path %wZ\n", RegistryPath));
    status = IoCreateDevice(DriverObject, sizeof(DEVICE_EXTENSION), &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &device);
    if (!NT_SUCCESS(status)) return status;
    ext = (PDEVICE_EXTENSION)device->DeviceExtension;
    KeInitializeEvent(&ext->Kill, NotificationEvent, FALSE);
    KeInitializeMutex(&ext->Lock, 0);
    ext->Thread = NULL;
    device->Flags |= DO_BUFFERED_IO;
    status = IoCreateSymbolicLink(&dos, &name);
    if (!NT_SUCCESS(status)) {
        IoDeleteDevice(device);
        return status;
    }
    DriverObject->MajorFunction[IRP_MJ_CREATE] = SysThreadCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = SysThreadCreateClose;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = SysThreadDeviceControl;
    DriverObject->DriverUnload = SysThreadUnload;
    return STATUS_SUCCESS;
}
