/* A strict C11 driver on the Windows 8.1 timer routines (test compat.ex_timer_c): one
 * METHOD_BUFFERED request sets a high-resolution timer with a 1.5 ms period, which no
 * KeSetTimerEx millisecond period can express; the fourth callback deletes the timer
 * from inside itself (Wait = FALSE, as it must at DISPATCH_LEVEL), and the delete
 * callback completes the request with what the callbacks saw (S-EXT-2, -3, -6). */
#include <wdm.h>

#include "ex_timer_public.h"

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD Unload;
static DRIVER_DISPATCH CreateClose;
static DRIVER_DISPATCH Control;
static EXT_CALLBACK OnExpiry;
static EXT_DELETE_CALLBACK OnDeleted;

static struct {
    PEX_TIMER Timer;
    PIRP Irp;
    ULONGLONG SetAt;
    ULONG Count;
    EXT_RESULT Result;
} g_run;

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

/* Runs once the timer object is gone, after the last callback returned. */
static VOID OnDeleted(PVOID Context) {
    PIRP irp = (PIRP)Context;
    RtlCopyMemory(irp->AssociatedIrp.SystemBuffer, &g_run.Result, sizeof g_run.Result);
    Complete(irp, STATUS_SUCCESS, sizeof g_run.Result);
}

static VOID OnExpiry(PEX_TIMER Timer, PVOID Context) {
    ULONG n = g_run.Count++;
    UNREFERENCED_PARAMETER(Context);
    if (n >= EXT_EXPIRIES) return;
    g_run.Result.Offset[n] = (LONGLONG)(KeQueryInterruptTime() - g_run.SetAt);
    g_run.Result.Irql[n] = KeGetCurrentIrql();
    if (Timer != g_run.Timer) g_run.Result.SameTimer = FALSE;
    if (n == EXT_EXPIRIES - 1) {
        EXT_DELETE_PARAMETERS params;
        ExInitializeDeleteTimerParameters(&params);
        params.DeleteCallback = OnDeleted;
        params.DeleteContext = g_run.Irp;
        g_run.Result.Deleted = ExDeleteTimer(Timer, TRUE, FALSE, &params);
    }
}

static NTSTATUS Control(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
    EXT_SET_PARAMETERS params;
    UNREFERENCED_PARAMETER(DeviceObject);
    if (sp->Parameters.DeviceIoControl.IoControlCode != IOCTL_EXT_RUN)
        return Complete(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
    if (sp->Parameters.DeviceIoControl.OutputBufferLength < sizeof(EXT_RESULT))
        return Complete(Irp, STATUS_BUFFER_TOO_SMALL, 0);
    RtlZeroMemory(&g_run, sizeof g_run);
    g_run.Result.SameTimer = TRUE;
    g_run.Irp = Irp;
    g_run.Timer = ExAllocateTimer(OnExpiry, NULL, EX_TIMER_HIGH_RESOLUTION);
    if (!g_run.Timer) return Complete(Irp, STATUS_INSUFFICIENT_RESOURCES, 0);
    IoMarkIrpPending(Irp);
    g_run.Result.FirstSet = ExSetTimer(g_run.Timer, -10000000LL, 0, NULL); /* 1 s, replaced below */
    ExInitializeSetTimerParameters(&params);
    g_run.SetAt = KeQueryInterruptTime();
    g_run.Result.Reset = ExSetTimer(g_run.Timer, -15000LL, 15000LL, &params); /* 1.5 ms, every 1.5 ms */
    return STATUS_PENDING;
}

static VOID Unload(PDRIVER_OBJECT DriverObject) {
    UNICODE_STRING dos = RTL_CONSTANT_STRING(L"\\DosDevices\\ExTimerDemo");
    IoDeleteSymbolicLink(&dos);
    IoDeleteDevice(DriverObject->DeviceObject);
    DbgPrint("ex_timer: unloaded after %lu expiries\n", (unsigned long)g_run.Count);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) {
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Device\\ExTimerDemo");
    UNICODE_STRING dos = RTL_CONSTANT_STRING(L"\\DosDevices\\ExTimerDemo");
    PDEVICE_OBJECT device;
    NTSTATUS status;
    UNREFERENCED_PARAMETER(RegistryPath);
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
