/* ntio compat: <ntddstor.h>, the storage class's control codes a disk-like driver
 * answers and its clients send (IOCTL_STORAGE_*), with the structure they return.
 * The values are Windows's, so a request built by either side means the same thing.
 * <winioctl.h> includes this for applications, as the SDK's carries the same section. */
#ifndef NTIO_COMPAT_NTDDSTOR_H
#define NTIO_COMPAT_NTDDSTOR_H
#ifndef _NTDDSTOR_H_
#define _NTDDSTOR_H_
#endif

#include "devioctl.h"

#define IOCTL_STORAGE_BASE FILE_DEVICE_MASS_STORAGE

#define IOCTL_STORAGE_CHECK_VERIFY      CTL_CODE(IOCTL_STORAGE_BASE, 0x0200, METHOD_BUFFERED, FILE_READ_ACCESS)
#define IOCTL_STORAGE_CHECK_VERIFY2     CTL_CODE(IOCTL_STORAGE_BASE, 0x0200, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_STORAGE_MEDIA_REMOVAL     CTL_CODE(IOCTL_STORAGE_BASE, 0x0201, METHOD_BUFFERED, FILE_READ_ACCESS)
#define IOCTL_STORAGE_EJECT_MEDIA       CTL_CODE(IOCTL_STORAGE_BASE, 0x0202, METHOD_BUFFERED, FILE_READ_ACCESS)
#define IOCTL_STORAGE_LOAD_MEDIA        CTL_CODE(IOCTL_STORAGE_BASE, 0x0203, METHOD_BUFFERED, FILE_READ_ACCESS)
#define IOCTL_STORAGE_LOAD_MEDIA2       CTL_CODE(IOCTL_STORAGE_BASE, 0x0203, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_STORAGE_GET_DEVICE_NUMBER CTL_CODE(IOCTL_STORAGE_BASE, 0x0420, METHOD_BUFFERED, FILE_ANY_ACCESS)

/* IOCTL_STORAGE_GET_DEVICE_NUMBER's answer. */
typedef struct _STORAGE_DEVICE_NUMBER {
    DEVICE_TYPE DeviceType;
    ULONG DeviceNumber;
    ULONG PartitionNumber; /* (ULONG)-1 for a device that cannot be partitioned */
} STORAGE_DEVICE_NUMBER, *PSTORAGE_DEVICE_NUMBER;

/* IOCTL_STORAGE_MEDIA_REMOVAL's input (and IOCTL_DISK_MEDIA_REMOVAL's). */
typedef struct _PREVENT_MEDIA_REMOVAL {
    BOOLEAN PreventMediaRemoval;
} PREVENT_MEDIA_REMOVAL, *PPREVENT_MEDIA_REMOVAL;

#endif
