/* pending_ioctl: what the driver and its application share. */
#ifndef PENDING_IOCTL_PUBLIC_H
#define PENDING_IOCTL_PUBLIC_H

#define PENDING_NT_NAME L"\\Device\\PendingIoctl"
#define PENDING_DOS_NAME L"\\DosDevices\\PendingIoctl"
#define PENDING_WIN32_NAME "\\\\.\\PendingIoctl"

/* The request the article's filter driver could not finish at once. */
#define IOCTL_PENDING_SEND_MESSAGE CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* The same request answered inside the dispatch routine (the article's first surprise). */
#define IOCTL_PENDING_ANSWER_NOW CTL_CODE(FILE_DEVICE_UNKNOWN, 0x801, METHOD_BUFFERED, FILE_ANY_ACCESS)

#define PENDING_REPLY "Hi Mom, I finished your request!"
#define PENDING_DELAY_MS 5000

#endif
