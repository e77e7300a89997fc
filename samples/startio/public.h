/* startio: what the driver and its application share. */
#ifndef STARTIO_PUBLIC_H
#define STARTIO_PUBLIC_H

#define STARTIO_NT_NAME L"\\Device\\StartIoSample"
#define STARTIO_DOS_NAME L"\\DosDevices\\StartIoSample"
#define STARTIO_WIN32_NAME "\\\\.\\StartIoSample"

/* Input: a string; output (through an MDL): the string XOR 'm'. */
#define IOCTL_ENCODE CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, METHOD_IN_DIRECT, FILE_ANY_ACCESS)

#define STARTIO_WORK_MS 3000

#endif
