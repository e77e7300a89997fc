/* A RAM "disk" with DO_DIRECT_IO, as an outside author writes one (test compat.disk_c):
 * reads and writes through the MDL, partial transfers at the end, STATUS_END_OF_FILE past
 * it, sector-aligned writes only, and the disk class's geometry and length requests from
 * <ntdddisk.h> (S-DISK-1). Strict C11. */
#include <ntddk.h>
#include <ntdddisk.h>

#define DISK_SIZE (8 * 1024)
#define SECTOR 512

typedef struct { UCHAR Data[DISK_SIZE]; FAST_MUTEX Lock; } DISK_EXT;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD DiskUnload;
static DRIVER_DISPATCH DiskCreateClose, DiskReadWrite, DiskIoctl;

static NTSTATUS complete(PIRP irp, NTSTATUS st, ULONG_PTR info)
{
    irp->IoStatus.Status = st;
    irp->IoStatus.Information = info;
    IoCompleteRequest(irp, IO_DISK_INCREMENT);
    return st;
}

static NTSTATUS DiskCreateClose(PDEVICE_OBJECT d, PIRP irp)
{
    UNREFERENCED_PARAMETER(d);
    return complete(irp, STATUS_SUCCESS, 0);
}

static NTSTATUS DiskReadWrite(PDEVICE_OBJECT d, PIRP irp)
{
    DISK_EXT *x = (DISK_EXT *)d->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(irp);
    BOOLEAN write = sl->MajorFunction == IRP_MJ_WRITE;
    ULONG len = write ? sl->Parameters.Write.Length : sl->Parameters.Read.Length;
    LONGLONG off = write ? sl->Parameters.Write.ByteOffset.QuadPart : sl->Parameters.Read.ByteOffset.QuadPart;
    if (len == 0) return complete(irp, STATUS_SUCCESS, 0);
    if (irp->MdlAddress == NULL) return complete(irp, STATUS_INVALID_PARAMETER, 0);
    if (MmGetMdlByteCount(irp->MdlAddress) != len) {
        DbgPrint("disk: MDL byte count %lu != length %lu\n", MmGetMdlByteCount(irp->MdlAddress), len);
        return complete(irp, STATUS_INVALID_PARAMETER, 0);
    }
    if (write && ((len % SECTOR) != 0 || (off % SECTOR) != 0)) return complete(irp, STATUS_INVALID_PARAMETER, 0);
    if (off < 0) return complete(irp, STATUS_INVALID_PARAMETER, 0);
    if (off >= DISK_SIZE) return complete(irp, write ? STATUS_DISK_FULL : STATUS_END_OF_FILE, 0);
    PUCHAR va = (PUCHAR)MmGetSystemAddressForMdlSafe(irp->MdlAddress, NormalPagePriority | MdlMappingNoExecute);
    if (!va) return complete(irp, STATUS_INSUFFICIENT_RESOURCES, 0);
    ULONG n = (ULONG)min((LONGLONG)len, DISK_SIZE - off);
    ExAcquireFastMutex(&x->Lock);
    if (write) RtlCopyMemory(x->Data + off, va, n);
    else RtlCopyMemory(va, x->Data + off, n);
    ExReleaseFastMutex(&x->Lock);
    /* As a file system does for a synchronous file object: move its position on. */
    if (sl->FileObject && (sl->FileObject->Flags & FO_SYNCHRONOUS_IO))
        sl->FileObject->CurrentByteOffset.QuadPart = off + n;
    return complete(irp, STATUS_SUCCESS, n);
}

static NTSTATUS DiskIoctl(PDEVICE_OBJECT d, PIRP irp)
{
    UNREFERENCED_PARAMETER(d);
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(irp);
    switch (sl->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_DISK_GET_LENGTH_INFO:
        if (sl->Parameters.DeviceIoControl.OutputBufferLength < sizeof(GET_LENGTH_INFORMATION))
            return complete(irp, STATUS_BUFFER_TOO_SMALL, 0);
        ((PGET_LENGTH_INFORMATION)irp->AssociatedIrp.SystemBuffer)->Length.QuadPart = DISK_SIZE;
        return complete(irp, STATUS_SUCCESS, sizeof(GET_LENGTH_INFORMATION));
    case IOCTL_DISK_GET_DRIVE_GEOMETRY: {
        if (sl->Parameters.DeviceIoControl.OutputBufferLength < sizeof(DISK_GEOMETRY))
            return complete(irp, STATUS_BUFFER_TOO_SMALL, 0);
        PDISK_GEOMETRY g = (PDISK_GEOMETRY)irp->AssociatedIrp.SystemBuffer;
        g->Cylinders.QuadPart = 1;
        g->MediaType = FixedMedia;
        g->TracksPerCylinder = 1;
        g->SectorsPerTrack = DISK_SIZE / SECTOR;
        g->BytesPerSector = SECTOR;
        return complete(irp, STATUS_SUCCESS, sizeof *g);
    }
    default:
        return complete(irp, STATUS_INVALID_DEVICE_REQUEST, 0);
    }
}

static VOID DiskUnload(PDRIVER_OBJECT drv)
{
    UNICODE_STRING link = RTL_CONSTANT_STRING(L"\\DosDevices\\ProbeDisk");
    IoDeleteSymbolicLink(&link);
    IoDeleteDevice(drv->DeviceObject);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT drv, PUNICODE_STRING reg)
{
    UNREFERENCED_PARAMETER(reg);
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Device\\ProbeDisk");
    UNICODE_STRING link = RTL_CONSTANT_STRING(L"\\DosDevices\\ProbeDisk");
    PDEVICE_OBJECT d;
    NTSTATUS st = IoCreateDevice(drv, sizeof(DISK_EXT), &name, FILE_DEVICE_DISK, 0, FALSE, &d);
    if (!NT_SUCCESS(st)) return st;
    DISK_EXT *x = (DISK_EXT *)d->DeviceExtension;
    RtlZeroMemory(x->Data, sizeof x->Data);
    ExInitializeFastMutex(&x->Lock);
    IoCreateSymbolicLink(&link, &name);
    d->Flags |= DO_DIRECT_IO;
    d->AlignmentRequirement = FILE_WORD_ALIGNMENT;
    d->Flags &= ~DO_DEVICE_INITIALIZING;
    drv->MajorFunction[IRP_MJ_CREATE] = drv->MajorFunction[IRP_MJ_CLOSE] = DiskCreateClose;
    drv->MajorFunction[IRP_MJ_READ] = drv->MajorFunction[IRP_MJ_WRITE] = DiskReadWrite;
    drv->MajorFunction[IRP_MJ_DEVICE_CONTROL] = DiskIoctl;
    drv->DriverUnload = DiskUnload;
    return STATUS_SUCCESS;
}
