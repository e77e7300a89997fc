/* A driver that configures itself from the registry, as WDM drivers do in DriverEntry:
 * RtlQueryRegistryValues on its RegistryPath with a Parameters subkey and a default,
 * ZwOpenKey/ZwQueryKey for the subkey count, and RtlWriteRegistryValue to leave a mark
 * that its unload checks (test compat.registry_c, run with --registry registry.reg). */
#include <ntddk.h>

#include "registry_public.h"

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD Unload;
static DRIVER_DISPATCH CreateClose;
static DRIVER_DISPATCH Control;

static REGISTRY_SETTINGS g_settings;

static NTSTATUS Complete(PIRP Irp, NTSTATUS Status, ULONG_PTR Information) {
    Irp->IoStatus.Status = Status;
    Irp->IoStatus.Information = Information;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return Status;
}

static NTSTATUS CreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    UNREFERENCED_PARAMETER(DeviceObject);
    return Complete(Irp, STATUS_SUCCESS, 0);
}

static NTSTATUS Control(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
    UNREFERENCED_PARAMETER(DeviceObject);
    if (sp->Parameters.DeviceIoControl.IoControlCode != IOCTL_REGISTRY_SETTINGS)
        return Complete(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
    if (sp->Parameters.DeviceIoControl.OutputBufferLength < sizeof g_settings)
        return Complete(Irp, STATUS_BUFFER_TOO_SMALL, 0);
    RtlCopyMemory(Irp->AssociatedIrp.SystemBuffer, &g_settings, sizeof g_settings);
    return Complete(Irp, STATUS_SUCCESS, sizeof g_settings);
}

static void Unload(PDRIVER_OBJECT DriverObject) {
    UNICODE_STRING dos = RTL_CONSTANT_STRING(L"\\DosDevices\\RegDemo");
    IoDeleteSymbolicLink(&dos);
    IoDeleteDevice(DriverObject->DeviceObject);
    if (NT_SUCCESS(RtlCheckRegistryKey(RTL_REGISTRY_SERVICES, L"regdemo\\Parameters\\Extra")))
        DbgPrint("registry: unloaded, Extra still there\n");
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) {
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Device\\RegDemo");
    UNICODE_STRING dos = RTL_CONSTANT_STRING(L"\\DosDevices\\RegDemo");
    UNICODE_STRING label = {0, 0, NULL};
    ULONG default_retries = 3;
    RTL_QUERY_REGISTRY_TABLE table[6];
    OBJECT_ATTRIBUTES oa;
    HANDLE key;
    UNICODE_STRING params = RTL_CONSTANT_STRING(L"Parameters");
    KEY_FULL_INFORMATION info;
    ULONG length;
    PDEVICE_OBJECT device;
    NTSTATUS status;

    /* The service key first: ntio writes Start (3, demand) before DriverEntry. */
    RtlZeroMemory(table, sizeof table);
    table[0].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_REQUIRED;
    table[0].Name = L"Start";
    table[0].EntryContext = &g_settings.Start;
    table[1].Flags = RTL_QUERY_REGISTRY_SUBKEY;
    table[1].Name = L"Parameters";
    table[2].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_TYPECHECK;
    table[2].Name = L"Level";
    table[2].EntryContext = &g_settings.Level;
    table[2].DefaultType = REG_DWORD << RTL_QUERY_REGISTRY_TYPECHECK_SHIFT;
    table[3].Flags = RTL_QUERY_REGISTRY_DIRECT;
    table[3].Name = L"Retries";
    table[3].EntryContext = &g_settings.Retries;
    table[3].DefaultType = REG_DWORD;
    table[3].DefaultData = &default_retries;
    table[3].DefaultLength = sizeof default_retries;
    table[4].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_NOEXPAND;
    table[4].Name = L"Label";
    table[4].EntryContext = &label;
    status = RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, RegistryPath->Buffer, table, NULL, NULL);
    if (!NT_SUCCESS(status)) {
        DbgPrint("registry: RtlQueryRegistryValues failed 0x%08X\n", (unsigned)status);
        return status;
    }
    if (label.Buffer) {
        RtlCopyMemory(g_settings.Label, label.Buffer,
                      label.Length < sizeof g_settings.Label - sizeof(WCHAR) ? label.Length
                                                                          : sizeof g_settings.Label - sizeof(WCHAR));
        RtlFreeUnicodeString(&label);
    }

    /* The Parameters key's subkeys, through a handle relative to the service key. */
    InitializeObjectAttributes(&oa, RegistryPath, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, NULL, NULL);
    status = ZwOpenKey(&key, KEY_READ, &oa);
    if (NT_SUCCESS(status)) {
        HANDLE sub;
        InitializeObjectAttributes(&oa, &params, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, key, NULL);
        status = ZwOpenKey(&sub, KEY_READ, &oa);
        if (NT_SUCCESS(status)) {
            status = ZwQueryKey(sub, KeyFullInformation, &info, sizeof info, &length);
            if (NT_SUCCESS(status)) g_settings.Subkeys = info.SubKeys;
            ZwClose(sub);
        }
        ZwClose(key);
    }
    if (!NT_SUCCESS(status)) return status;

    status = IoCreateDevice(DriverObject, 0, &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &device);
    if (!NT_SUCCESS(status)) return status;
    status = IoCreateSymbolicLink(&dos, &name);
    if (!NT_SUCCESS(status)) {
        IoDeleteDevice(device);
        return status;
    }
    DriverObject->MajorFunction[IRP_MJ_CREATE] = CreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = CreateClose;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = Control;
    DriverObject->DriverUnload = Unload;
    return STATUS_SUCCESS;
}
