/* A minimal WDM PnP driver in C, built as a module for `ntio run --driver pnp_driver.so
 * --instances N`: each device gets an FDO over its PDO, registers the test interface in
 * AddDevice, enables it once started and answers who it is. Also checks that the
 * kernel-side PnP declarations compile as strict C11. */
#include <ntddk.h>
#include <initguid.h>

#include "pnp_public.h"

typedef struct _PNPTEST_EXTENSION {
    PDEVICE_OBJECT Lower;
    UNICODE_STRING Interface;
    ULONG Number;
} PNPTEST_EXTENSION, *PPNPTEST_EXTENSION;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_ADD_DEVICE PnpTestAddDevice;
static DRIVER_DISPATCH PnpTestPnp, PnpTestCreateClose, PnpTestIoctl;
static DRIVER_UNLOAD PnpTestUnload;
static IO_COMPLETION_ROUTINE PnpTestLowerDone;

static ULONG g_devices;

static NTSTATUS PnpTestLowerDone(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context) {
    UNREFERENCED_PARAMETER(DeviceObject);
    UNREFERENCED_PARAMETER(Irp);
    KeSetEvent((PKEVENT)Context, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static NTSTATUS PnpTestPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    PPNPTEST_EXTENSION ext = (PPNPTEST_EXTENSION)DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    NTSTATUS status;
    KEVENT done;

    switch (sl->MinorFunction) {
    case IRP_MN_START_DEVICE:
        /* The bus starts the device first; then the interface becomes visible. */
        KeInitializeEvent(&done, NotificationEvent, FALSE);
        IoCopyCurrentIrpStackLocationToNext(Irp);
        IoSetCompletionRoutine(Irp, PnpTestLowerDone, &done, TRUE, TRUE, TRUE);
        if (IoCallDriver(ext->Lower, Irp) == STATUS_PENDING)
            KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, NULL);
        status = Irp->IoStatus.Status;
        if (NT_SUCCESS(status)) status = IoSetDeviceInterfaceState(&ext->Interface, TRUE);
        DbgPrint("PnpTest: device %lu started (0x%08lX)\n", ext->Number, (ULONG)status);
        Irp->IoStatus.Status = status;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return status;
    case IRP_MN_QUERY_REMOVE_DEVICE:
    case IRP_MN_CANCEL_REMOVE_DEVICE:
        Irp->IoStatus.Status = STATUS_SUCCESS;
        IoSkipCurrentIrpStackLocation(Irp);
        return IoCallDriver(ext->Lower, Irp);
    case IRP_MN_SURPRISE_REMOVAL:
        IoSetDeviceInterfaceState(&ext->Interface, FALSE);
        Irp->IoStatus.Status = STATUS_SUCCESS;
        IoSkipCurrentIrpStackLocation(Irp);
        return IoCallDriver(ext->Lower, Irp);
    case IRP_MN_REMOVE_DEVICE:
        IoSetDeviceInterfaceState(&ext->Interface, FALSE);
        Irp->IoStatus.Status = STATUS_SUCCESS;
        IoSkipCurrentIrpStackLocation(Irp);
        status = IoCallDriver(ext->Lower, Irp);
        DbgPrint("PnpTest: device %lu removed\n", ext->Number);
        IoDetachDevice(ext->Lower);
        RtlFreeUnicodeString(&ext->Interface);
        IoDeleteDevice(DeviceObject);
        return status;
    default:
        IoSkipCurrentIrpStackLocation(Irp);
        return IoCallDriver(ext->Lower, Irp);
    }
}

static NTSTATUS PnpTestCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    UNREFERENCED_PARAMETER(DeviceObject);
    Irp->IoStatus.Status = STATUS_SUCCESS;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

static NTSTATUS PnpTestIoctl(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    PPNPTEST_EXTENSION ext = (PPNPTEST_EXTENSION)DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    NTSTATUS status = STATUS_INVALID_DEVICE_REQUEST;
    Irp->IoStatus.Information = 0;
    if (sl->Parameters.DeviceIoControl.IoControlCode == IOCTL_PNPTEST_WHO_ARE_YOU) {
        if (sl->Parameters.DeviceIoControl.OutputBufferLength < sizeof(ULONG)) {
            status = STATUS_BUFFER_TOO_SMALL;
        } else {
            *(PULONG)Irp->AssociatedIrp.SystemBuffer = ext->Number;
            Irp->IoStatus.Information = sizeof(ULONG);
            status = STATUS_SUCCESS;
        }
    }
    Irp->IoStatus.Status = status;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return status;
}

static NTSTATUS PnpTestAddDevice(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT PhysicalDeviceObject) {
    PDEVICE_OBJECT fdo;
    PPNPTEST_EXTENSION ext;
    WCHAR class_name[16];
    ULONG length = 0;
    NTSTATUS status;
    /* Who the PDO says the device is (S-PROP-1): no INF, so the System class. */
    status = IoGetDeviceProperty(PhysicalDeviceObject, DevicePropertyClassName, sizeof class_name, class_name, &length);
    if (status != STATUS_SUCCESS || length != sizeof(L"System") || class_name[0] != L'S') return STATUS_UNSUCCESSFUL;
    status = IoCreateDevice(DriverObject, sizeof(PNPTEST_EXTENSION), NULL, FILE_DEVICE_UNKNOWN,
                                     FILE_DEVICE_SECURE_OPEN, FALSE, &fdo);
    if (!NT_SUCCESS(status)) return status;
    ext = (PPNPTEST_EXTENSION)fdo->DeviceExtension;
    ext->Number = g_devices++;
    status = IoRegisterDeviceInterface(PhysicalDeviceObject, &GUID_DEVINTERFACE_NTIO_PNPTEST, NULL, &ext->Interface);
    if (!NT_SUCCESS(status)) {
        IoDeleteDevice(fdo);
        return status;
    }
    ext->Lower = IoAttachDeviceToDeviceStack(fdo, PhysicalDeviceObject);
    if (!ext->Lower) {
        RtlFreeUnicodeString(&ext->Interface);
        IoDeleteDevice(fdo);
        return STATUS_NO_SUCH_DEVICE;
    }
    DbgPrint("PnpTest: AddDevice %lu: %wZ\n", ext->Number, &ext->Interface);
    fdo->Flags |= DO_BUFFERED_IO;
    fdo->Flags &= ~DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

static VOID PnpTestUnload(PDRIVER_OBJECT DriverObject) {
    UNREFERENCED_PARAMETER(DriverObject);
    DbgPrint("PnpTest: unloaded after %lu device(s)\n", g_devices);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) {
    UNREFERENCED_PARAMETER(RegistryPath);
    DriverObject->DriverExtension->AddDevice = PnpTestAddDevice;
    DriverObject->DriverUnload = PnpTestUnload;
    DriverObject->MajorFunction[IRP_MJ_PNP] = PnpTestPnp;
    DriverObject->MajorFunction[IRP_MJ_CREATE] = PnpTestCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = PnpTestCreateClose;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = PnpTestIoctl;
    return STATUS_SUCCESS;
}
