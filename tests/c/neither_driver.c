/* A METHOD_NEITHER driver written the way the WDK's samples write one: the user's
 * buffers are probed and touched only inside __try, and a bad buffer fails the request
 * with the exception's code instead of stopping the system. A __finally frees the pool
 * it took on every way out. Strict C11, installed headers (test compat.neither_seh). */
#include <ntddk.h>

#define NEITHER_DEVICE L"\\Device\\NeitherSeh"
#define NEITHER_LINK L"\\DosDevices\\NeitherSeh"
#define IOCTL_NEITHER_COPY CTL_CODE(FILE_DEVICE_UNKNOWN, 0x900, METHOD_NEITHER, FILE_ANY_ACCESS)
#define IOCTL_NEITHER_SUM CTL_CODE(FILE_DEVICE_UNKNOWN, 0x901, METHOD_NEITHER, FILE_ANY_ACCESS)
#define IOCTL_NEITHER_FILL CTL_CODE(FILE_DEVICE_UNKNOWN, 0x902, METHOD_NEITHER, FILE_ANY_ACCESS)
#define IOCTL_NEITHER_RAISE CTL_CODE(FILE_DEVICE_UNKNOWN, 0x903, METHOD_NEITHER, FILE_ANY_ACCESS)
#define IOCTL_NEITHER_FAULT CTL_CODE(FILE_DEVICE_UNKNOWN, 0x904, METHOD_NEITHER, FILE_ANY_ACCESS)

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD NeitherUnload;
static DRIVER_DISPATCH NeitherCreateClose, NeitherControl;

static NTSTATUS NeitherCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    UNREFERENCED_PARAMETER(DeviceObject);
    Irp->IoStatus.Status = STATUS_SUCCESS;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

/* Copies the input to the output through a pool buffer, upper-casing letters. */
static NTSTATUS CopyUpper(PVOID in, ULONG in_length, PVOID out, ULONG out_length, ULONG_PTR *information) {
    NTSTATUS status = STATUS_SUCCESS;
    ULONG n = in_length < out_length ? in_length : out_length, i;
    PUCHAR staging = ExAllocatePoolWithTag(NonPagedPool, n ? n : 1, 'ehSN');
    if (!staging) return STATUS_INSUFFICIENT_RESOURCES;
    __try {
        ProbeForRead(in, in_length, sizeof(UCHAR));
        ProbeForWrite(out, out_length, sizeof(ULONG));
        RtlCopyMemory(staging, in, n);
        for (i = 0; i < n; ++i)
            if (staging[i] >= 'a' && staging[i] <= 'z') staging[i] = (UCHAR)(staging[i] - 'a' + 'A');
        RtlCopyMemory(out, staging, n);
        *information = n;
    } __finally {
        ExFreePoolWithTag(staging, 'ehSN');
        if (AbnormalTermination()) DbgPrint("NeitherSeh: copy abandoned, pool freed\n");
    }
    return status;
}

static NTSTATUS NeitherControl(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    PVOID in = sl->Parameters.DeviceIoControl.Type3InputBuffer;
    ULONG in_length = sl->Parameters.DeviceIoControl.InputBufferLength;
    ULONG out_length = sl->Parameters.DeviceIoControl.OutputBufferLength;
    NTSTATUS status = STATUS_SUCCESS;
    ULONG_PTR information = 0;
    UNREFERENCED_PARAMETER(DeviceObject);

    switch (sl->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_NEITHER_COPY:
        __try {
            status = CopyUpper(in, in_length, Irp->UserBuffer, out_length, &information);
        } __except (EXCEPTION_EXECUTE_HANDLER) {
            status = GetExceptionCode();
            information = 0;
            DbgPrint("NeitherSeh: copy failed with 0x%08lX\n", (ULONG)status);
        }
        break;
    case IOCTL_NEITHER_SUM: {
        /* Reads the user's ULONGs without a probe; the __try still catches the fault. */
        ULONG sum = 0, i;
        __try {
            for (i = 0; i < in_length / sizeof(ULONG); ++i) sum += ((ULONG *)in)[i];
            if (out_length < sizeof(ULONG)) {
                status = STATUS_BUFFER_TOO_SMALL;
                __leave;
            }
            *(ULONG *)Irp->UserBuffer = sum;
            information = sizeof(ULONG);
        } __except (GetExceptionCode() == STATUS_ACCESS_VIOLATION ? EXCEPTION_EXECUTE_HANDLER
                                                                 : EXCEPTION_CONTINUE_SEARCH) {
            status = GetExceptionCode();
            DbgPrint("NeitherSeh: sum faulted at %p\n",
                     (PVOID)GetExceptionInformation()->ExceptionRecord->ExceptionInformation[1]);
        }
        break;
    }
    case IOCTL_NEITHER_FILL: {
        /* Direct I/O by hand: an MDL for the user's output, probed and locked inside
         * __try as Microsoft's MmProbeAndLockPages page asks, then filled through its
         * system address. */
        PMDL mdl = IoAllocateMdl(Irp->UserBuffer, out_length, FALSE, FALSE, NULL);
        PUCHAR va;
        ULONG i;
        if (!mdl) {
            status = STATUS_INSUFFICIENT_RESOURCES;
            break;
        }
        __try {
            MmProbeAndLockPages(mdl, UserMode, IoWriteAccess);
        } __except (EXCEPTION_EXECUTE_HANDLER) {
            status = GetExceptionCode();
        }
        if (!NT_SUCCESS(status)) {
            IoFreeMdl(mdl);
            DbgPrint("NeitherSeh: MmProbeAndLockPages raised 0x%08lX\n", (ULONG)status);
            break;
        }
        va = MmGetSystemAddressForMdlSafe(mdl, NormalPagePriority);
        for (i = 0; va && i < out_length; ++i) va[i] = (UCHAR)(0xF0 + i % 16);
        MmUnlockPages(mdl);
        IoFreeMdl(mdl);
        information = out_length;
        break;
    }
    case IOCTL_NEITHER_RAISE: /* a driver bug: a raise with no __try of the driver's */
        ExRaiseStatus(STATUS_INVALID_PARAMETER);
        break;
    case IOCTL_NEITHER_FAULT: /* a driver bug: a fault with no __try of the driver's */
        *(volatile ULONG *)Irp->UserBuffer = 1;
        break;
    default:
        status = STATUS_INVALID_DEVICE_REQUEST;
        break;
    }
    Irp->IoStatus.Status = status;
    Irp->IoStatus.Information = information;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return status;
}

static VOID NeitherUnload(PDRIVER_OBJECT DriverObject) {
    UNICODE_STRING link = RTL_CONSTANT_STRING(NEITHER_LINK);
    IoDeleteSymbolicLink(&link);
    IoDeleteDevice(DriverObject->DeviceObject);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) {
    UNICODE_STRING name = RTL_CONSTANT_STRING(NEITHER_DEVICE), link = RTL_CONSTANT_STRING(NEITHER_LINK);
    PDEVICE_OBJECT device;
    NTSTATUS status;
    UNREFERENCED_PARAMETER(RegistryPath);
    status = IoCreateDevice(DriverObject, 0, &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &device);
    if (!NT_SUCCESS(status)) return status;
    status = IoCreateSymbolicLink(&link, &name);
    if (!NT_SUCCESS(status)) {
        IoDeleteDevice(device);
        return status;
    }
    DriverObject->MajorFunction[IRP_MJ_CREATE] = NeitherCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = NeitherCreateClose;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = NeitherControl;
    DriverObject->DriverUnload = NeitherUnload;
    device->Flags &= ~DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}
