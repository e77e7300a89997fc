/* Article 000's driver as the article writes it, not as samples/pending_ioctl tidies
   it: the NDIS sample's habits (NdisMoveMemory, NDIS_STATUS_SUCCESS, a DEBUGP macro),
   OSR's time macros on `signed __int64`, a system thread per pended request that
   sleeps 5 s, completes and calls PsTerminateSystemThread. It serves the
   pending_ioctl sample's device and codes, so that sample's app checks it
   (compat.article000_style in tests/CMakeLists.txt). Built strict C11 with -Werror: the
   check that these spellings compile against ntio's headers. */
#include <ndis.h>

#include "../../samples/pending_ioctl/public.h"

#define DL_TEST 1
#define DEBUGP(level, args) \
    do {                    \
        if (level) {        \
            DbgPrint args;  \
        }                   \
    } while (0)

/* Define some times (OSR's) */
#define ABSOLUTE(wait) (wait)
#define RELATIVE(wait) (-(wait))
#define NANOSECONDS(nanos) (((signed __int64)(nanos)) / 100L)
#define MICROSECONDS(micros) (((signed __int64)(micros)) * NANOSECONDS(1000L))
#define MILLISECONDS(milli) (((signed __int64)(milli)) * MICROSECONDS(1000L))
#define SECONDS(seconds) (((signed __int64)(seconds)) * MILLISECONDS(1000L))

DRIVER_INITIALIZE DriverEntry;

static VOID mySleepTimer(IN ULONG time) {
    LARGE_INTEGER my_interval;
    my_interval.QuadPart = RELATIVE(SECONDS(time));
    KeDelayExecutionThread(KernelMode, FALSE, &my_interval);
}

static VOID printSomething(IN PVOID Context) {
    PIRP pIrp = (PIRP)Context;
    PUCHAR OutputBuffer = NULL;
    PCSTR pTestBuf = PENDING_REPLY;
    ULONG bufSize = sizeof(PENDING_REPLY);
    mySleepTimer(PENDING_DELAY_MS / 1000);
    DEBUGP(DL_TEST, ("Five seconds, I have finished doing something\n"));
    pIrp->IoStatus.Status = NDIS_STATUS_SUCCESS;
    OutputBuffer = (PUCHAR)pIrp->AssociatedIrp.SystemBuffer;
    NdisMoveMemory(OutputBuffer, pTestBuf, bufSize);
    pIrp->IoStatus.Information = bufSize;
    IoCompleteRequest(pIrp, IO_NO_INCREMENT);
    PsTerminateSystemThread(STATUS_SUCCESS);
}

static NTSTATUS DevCreateClose(IN PDEVICE_OBJECT DeviceObject, IN PIRP Irp) {
    UNREFERENCED_PARAMETER(DeviceObject);
    Irp->IoStatus.Status = NDIS_STATUS_SUCCESS;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return NDIS_STATUS_SUCCESS;
}

static NTSTATUS DevIoControl(IN PDEVICE_OBJECT DeviceObject, IN PIRP Irp) {
    PIO_STACK_LOCATION IrpSp = IoGetCurrentIrpStackLocation(Irp);
    PUCHAR InputBuffer, OutputBuffer;
    ULONG InputBufferLength, OutputBufferLength;
    NTSTATUS Status;
    HANDLE threadHandle;
    UNREFERENCED_PARAMETER(DeviceObject);
    InputBuffer = OutputBuffer = (PUCHAR)Irp->AssociatedIrp.SystemBuffer;
    InputBufferLength = IrpSp->Parameters.DeviceIoControl.InputBufferLength;
    OutputBufferLength = IrpSp->Parameters.DeviceIoControl.OutputBufferLength;
    if (OutputBufferLength < sizeof(PENDING_REPLY)) {
        Status = STATUS_BUFFER_TOO_SMALL;
        Irp->IoStatus.Information = 0;
    } else {
        switch (IrpSp->Parameters.DeviceIoControl.IoControlCode) {
        case IOCTL_PENDING_ANSWER_NOW:
            NdisMoveMemory(OutputBuffer, PENDING_REPLY, sizeof(PENDING_REPLY));
            Irp->IoStatus.Information = sizeof(PENDING_REPLY);
            Status = NDIS_STATUS_SUCCESS;
            break;
        case IOCTL_PENDING_SEND_MESSAGE:
            DEBUGP(DL_TEST, ("The input length is %u, and inputdata is %s\n", InputBufferLength,
                             InputBufferLength ? (char*)InputBuffer : ""));
            DEBUGP(DL_TEST, ("I am waiting this io dispatch\n"));
            Status = STATUS_PENDING;
            IoMarkIrpPending(Irp);
            Irp->IoStatus.Status = Status;
            Status = PsCreateSystemThread(&threadHandle, THREAD_ALL_ACCESS, NULL, NULL, NULL,
                                          (PKSTART_ROUTINE)printSomething, Irp);
            if (!NT_SUCCESS(Status)) {
                DEBUGP(DL_TEST, ("Fail to start a thread!\n"));
                Irp->IoStatus.Status = Status;
                IoCompleteRequest(Irp, IO_NO_INCREMENT);
                return STATUS_PENDING;
            }
            ZwClose(threadHandle);
            return STATUS_PENDING;
        default:
            Status = STATUS_INVALID_DEVICE_REQUEST;
            Irp->IoStatus.Information = 0;
            break;
        }
    }
    Irp->IoStatus.Status = Status;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return Status;
}

static VOID DevUnload(IN PDRIVER_OBJECT DriverObject) {
    UNICODE_STRING dos = RTL_CONSTANT_STRING(PENDING_DOS_NAME);
    IoDeleteSymbolicLink(&dos);
    IoDeleteDevice(DriverObject->DeviceObject);
}

NTSTATUS DriverEntry(IN PDRIVER_OBJECT DriverObject, IN PUNICODE_STRING RegistryPath) {
    UNICODE_STRING name = RTL_CONSTANT_STRING(PENDING_NT_NAME), dos = RTL_CONSTANT_STRING(PENDING_DOS_NAME);
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
    DriverObject->MajorFunction[IRP_MJ_CREATE] = DevCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = DevCreateClose;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = DevIoControl;
    DriverObject->DriverUnload = DevUnload;
    device->Flags &= ~DO_DEVICE_INITIALIZING;
    DEBUGP(DL_TEST, ("article 000 driver loaded\n"));
    return STATUS_SUCCESS;
}
