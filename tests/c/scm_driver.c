/* A legacy driver that an application installs and starts itself through the service
 * control manager (S-SCM), as Microsoft's WDM samples do: \Device\ScmDemo with the link
 * \DosDevices\ScmDemo. Built three ways: as is (scmdemo.so); with SCM_FAIL_ENTRY, whose
 * DriverEntry fails (scmfail.so); with SCM_NO_UNLOAD, which has no DriverUnload and so
 * cannot be stopped (scmstay.so). */
#include <ntddk.h>
#include <ntstrsafe.h>
#include <string.h>

#include "scm_public.h"

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD Unload;
static DRIVER_DISPATCH CreateClose;
static DRIVER_DISPATCH Control;

static LONG g_requests;

static NTSTATUS CreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    UNREFERENCED_PARAMETER(DeviceObject);
    Irp->IoStatus.Status = STATUS_SUCCESS;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

static NTSTATUS Control(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
    NTSTATUS status = STATUS_INVALID_DEVICE_REQUEST;
    ULONG_PTR info = 0;
    UNREFERENCED_PARAMETER(DeviceObject);
    if (sp->Parameters.DeviceIoControl.IoControlCode == IOCTL_SCM_HELLO) {
        status = RtlStringCbPrintfA((NTSTRSAFE_PSTR)Irp->AssociatedIrp.SystemBuffer,
                                    sp->Parameters.DeviceIoControl.OutputBufferLength, "scmdemo %ld",
                                    InterlockedIncrement(&g_requests));
        if (NT_SUCCESS(status)) info = strlen((const char *)Irp->AssociatedIrp.SystemBuffer) + 1;
    }
    Irp->IoStatus.Status = status;
    Irp->IoStatus.Information = info;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return status;
}

static void Unload(PDRIVER_OBJECT DriverObject) {
    UNICODE_STRING dos = RTL_CONSTANT_STRING(L"\\DosDevices\\ScmDemo");
    IoDeleteSymbolicLink(&dos);
    IoDeleteDevice(DriverObject->DeviceObject);
    DbgPrint("scmdemo: unloaded after %ld requests\n", g_requests);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) {
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Device\\ScmDemo");
    UNICODE_STRING dos = RTL_CONSTANT_STRING(L"\\DosDevices\\ScmDemo");
    PDEVICE_OBJECT device;
    NTSTATUS status;
    DbgPrint("scmdemo: DriverEntry for %wZ\n", RegistryPath);
    g_requests = 0;
    status = IoCreateDevice(DriverObject, 0, &name, SCM_DEVICE_TYPE, 0, FALSE, &device);
    if (!NT_SUCCESS(status)) return status;
    status = IoCreateSymbolicLink(&dos, &name);
    if (!NT_SUCCESS(status)) {
        IoDeleteDevice(device);
        return status;
    }
    DriverObject->MajorFunction[IRP_MJ_CREATE] = CreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = CreateClose;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = Control;
#if defined(SCM_NO_UNLOAD)
    (void)Unload;
#else
    DriverObject->DriverUnload = Unload;
#endif
#ifdef SCM_FAIL_ENTRY
    /* A failing DriverEntry undoes what it made: the driver is not loaded. */
    IoDeleteSymbolicLink(&dos);
    IoDeleteDevice(device);
    return STATUS_UNSUCCESSFUL;
#else
    return STATUS_SUCCESS;
#endif
}
