/* driver_irps: shared between the block device, the relay filter and the app. */
#ifndef DRIVER_IRPS_PUBLIC_H
#define DRIVER_IRPS_PUBLIC_H

#define BLOCK_DEVICE_NAME L"\\Device\\NtioBlock"
#define BLOCK_LINK_NAME L"\\DosDevices\\NtioBlock"
#define BLOCK_WIN32_NAME "\\\\.\\NtioBlock"
#define BLOCK_SIZE 4096
#define BLOCK_LATENCY_MS 1000 /* each read or write takes this long, in a worker thread */

/* The block device's own control code, sent by the relay with IoBuildDeviceIoControlRequest. */
#define IOCTL_BLOCK_GET_INFO CTL_CODE(FILE_DEVICE_UNKNOWN, 0x900, METHOD_BUFFERED, FILE_ANY_ACCESS)
typedef struct _BLOCK_INFO {
    ULONG Size;
    ULONG Reads;
    ULONG Writes;
} BLOCK_INFO;

/* The relay filter's control codes: each makes the filter build an IRP of its own for
 * the block device below it. */
#define IOCTL_RELAY_WRITE CTL_CODE(FILE_DEVICE_UNKNOWN, 0xA00, METHOD_BUFFERED, FILE_ANY_ACCESS) /* IoAllocateIrp */
#define IOCTL_RELAY_READ CTL_CODE(FILE_DEVICE_UNKNOWN, 0xA01, METHOD_BUFFERED, FILE_ANY_ACCESS)  /* IoBuildAsynchronousFsdRequest */
#define IOCTL_RELAY_INFO CTL_CODE(FILE_DEVICE_UNKNOWN, 0xA02, METHOD_BUFFERED, FILE_ANY_ACCESS)  /* IoBuildDeviceIoControlRequest */

#define RELAY_MAX_DATA 256
typedef struct _RELAY_REQUEST {
    ULONG Offset;
    ULONG Length;
    UCHAR Data[RELAY_MAX_DATA]; /* IOCTL_RELAY_WRITE only */
} RELAY_REQUEST;

#endif
