/* systhread: what the driver and its application share. */
#ifndef SYSTHREAD_PUBLIC_H
#define SYSTHREAD_PUBLIC_H

#define SYSTHREAD_NT_NAME L"\\Device\\SysThread"
#define SYSTHREAD_DOS_NAME L"\\DosDevices\\SysThread"
#define SYSTHREAD_WIN32_NAME "\\\\.\\SysThread"

/* Start the ticking thread. */
#define IOCTL_SYSTHREAD_START CTL_CODE(FILE_DEVICE_UNKNOWN, 0x900, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* Stop it and wait for it; the output is the number of ticks (a ULONG). */
#define IOCTL_SYSTHREAD_STOP CTL_CODE(FILE_DEVICE_UNKNOWN, 0x901, METHOD_BUFFERED, FILE_ANY_ACCESS)

#endif
