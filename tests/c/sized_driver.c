/* A device with a size, as a file system presents a file: IRP_MJ_QUERY_INFORMATION
   answers FileStandardInformation, IRP_MJ_SET_INFORMATION takes a new end of file,
   IRP_MJ_READ returns the bytes at the offset (byte i is i % 251) and moves a
   synchronous file's position past them (the I/O manager does not, S-DSP-5), and
   IRP_MJ_FLUSH_BUFFERS counts. Built like an outside driver (strict C11, installed
   headers) for the Information.* command tests in io_information_test.cpp. */
#include <ntddk.h>

#define SIZED_DEVICE L"\\Device\\SizedTest"
#define SIZED_LINK L"\\DosDevices\\SizedTest"

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD SizedUnload;
static DRIVER_DISPATCH SizedCreateClose, SizedRead, SizedQuery, SizedSet, SizedFlush;

static LONGLONG g_end_of_file = 5000;
static LONG g_flushes;

static NTSTATUS Finish(PIRP Irp, NTSTATUS status, ULONG_PTR information) {
    Irp->IoStatus.Status = status;
    Irp->IoStatus.Information = information;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return status;
}

static NTSTATUS SizedCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    UNREFERENCED_PARAMETER(DeviceObject);
    return Finish(Irp, STATUS_SUCCESS, 0);
}

static NTSTATUS SizedRead(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    LONGLONG offset = sl->Parameters.Read.ByteOffset.QuadPart;
    ULONG length = sl->Parameters.Read.Length, i;
    UCHAR* out = Irp->AssociatedIrp.SystemBuffer;
    UNREFERENCED_PARAMETER(DeviceObject);
    if (offset >= g_end_of_file) return Finish(Irp, STATUS_END_OF_FILE, 0);
    if ((LONGLONG)length > g_end_of_file - offset) length = (ULONG)(g_end_of_file - offset);
    for (i = 0; i < length; ++i) out[i] = (UCHAR)((offset + i) % 251);
    if (sl->FileObject->Flags & FO_SYNCHRONOUS_IO) sl->FileObject->CurrentByteOffset.QuadPart = offset + length;
    return Finish(Irp, STATUS_SUCCESS, length);
}

static NTSTATUS SizedQuery(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    PFILE_STANDARD_INFORMATION info = Irp->AssociatedIrp.SystemBuffer;
    UNREFERENCED_PARAMETER(DeviceObject);
    if (sl->Parameters.QueryFile.FileInformationClass != FileStandardInformation ||
        sl->Parameters.QueryFile.Length < sizeof(*info))
        return Finish(Irp, STATUS_INVALID_PARAMETER, 0);
    RtlZeroMemory(info, sizeof(*info));
    info->EndOfFile.QuadPart = g_end_of_file;
    info->AllocationSize.QuadPart = (g_end_of_file + 4095) & ~4095LL;
    info->NumberOfLinks = 1;
    return Finish(Irp, STATUS_SUCCESS, sizeof(*info));
}

static NTSTATUS SizedSet(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    UNREFERENCED_PARAMETER(DeviceObject);
    if (sl->Parameters.SetFile.FileInformationClass != FileEndOfFileInformation)
        return Finish(Irp, STATUS_INVALID_PARAMETER, 0);
    g_end_of_file = ((PFILE_END_OF_FILE_INFORMATION)Irp->AssociatedIrp.SystemBuffer)->EndOfFile.QuadPart;
    return Finish(Irp, STATUS_SUCCESS, 0);
}

static NTSTATUS SizedFlush(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    UNREFERENCED_PARAMETER(DeviceObject);
    InterlockedIncrement(&g_flushes);
    return Finish(Irp, STATUS_SUCCESS, 0);
}

static VOID SizedUnload(PDRIVER_OBJECT DriverObject) {
    UNICODE_STRING link = RTL_CONSTANT_STRING(SIZED_LINK);
    DbgPrint("SizedTest: %ld flushes, end of file %lld\n", g_flushes, g_end_of_file);
    IoDeleteSymbolicLink(&link);
    IoDeleteDevice(DriverObject->DeviceObject);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) {
    UNICODE_STRING name = RTL_CONSTANT_STRING(SIZED_DEVICE), link = RTL_CONSTANT_STRING(SIZED_LINK);
    PDEVICE_OBJECT device;
    NTSTATUS status;
    UNREFERENCED_PARAMETER(RegistryPath);
    status = IoCreateDevice(DriverObject, 0, &name, FILE_DEVICE_DISK, 0, FALSE, &device);
    if (!NT_SUCCESS(status)) return status;
    device->Flags |= DO_BUFFERED_IO;
    status = IoCreateSymbolicLink(&link, &name);
    if (!NT_SUCCESS(status)) {
        IoDeleteDevice(device);
        return status;
    }
    DriverObject->MajorFunction[IRP_MJ_CREATE] = SizedCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = SizedCreateClose;
    DriverObject->MajorFunction[IRP_MJ_READ] = SizedRead;
    DriverObject->MajorFunction[IRP_MJ_QUERY_INFORMATION] = SizedQuery;
    DriverObject->MajorFunction[IRP_MJ_SET_INFORMATION] = SizedSet;
    DriverObject->MajorFunction[IRP_MJ_FLUSH_BUFFERS] = SizedFlush;
    DriverObject->DriverUnload = SizedUnload;
    device->Flags &= ~DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}
