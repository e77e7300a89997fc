/* ntio compat: the I/O completion object's system services (what CreateIoCompletionPort,
 * PostQueuedCompletionStatus and GetQueuedCompletionStatus(Ex) are made of).
 * Part of <wdm.h>. */
#ifndef NTIO_COMPAT_KERNEL_IO_COMPLETION_H
#define NTIO_COMPAT_KERNEL_IO_COMPLETION_H

#include "io.h"

NTIO_EXTERN_C_BEGIN

#define IO_COMPLETION_QUERY_STATE 0x0001U
#define IO_COMPLETION_MODIFY_STATE 0x0002U
#define IO_COMPLETION_ALL_ACCESS (STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | 0x3U)

/* FileIoCompletionNotificationInformation flags (SetFileCompletionNotificationModes);
 * <windows.h> defines the same. */
#define FILE_SKIP_COMPLETION_PORT_ON_SUCCESS 0x1
#define FILE_SKIP_SET_EVENT_ON_HANDLE 0x2

/* One removed packet: the file's completion key, the request's ApcContext (its
 * OVERLAPPED) and its final status block. Same layout as OVERLAPPED_ENTRY. */
typedef struct _FILE_IO_COMPLETION_INFORMATION {
    PVOID KeyContext;
    PVOID ApcContext;
    IO_STATUS_BLOCK IoStatusBlock;
} FILE_IO_COMPLETION_INFORMATION, *PFILE_IO_COMPLETION_INFORMATION;

/* NumberOfConcurrentThreads 0 means the number of processors. */
NTIO_API NTSTATUS NtCreateIoCompletion(PHANDLE IoCompletionHandle, ACCESS_MASK DesiredAccess,
                                       POBJECT_ATTRIBUTES ObjectAttributes, ULONG NumberOfConcurrentThreads);
/* Queues a packet {KeyContext, ApcContext, IoStatus, IoStatusInformation}. */
NTIO_API NTSTATUS NtSetIoCompletion(HANDLE IoCompletionHandle, PVOID KeyContext, PVOID ApcContext, NTSTATUS IoStatus,
                                    ULONG_PTR IoStatusInformation);
/* STATUS_SUCCESS with a packet, STATUS_TIMEOUT, or STATUS_ABANDONED_WAIT_0 when the
 * port's last handle is closed during the wait. */
NTIO_API NTSTATUS NtRemoveIoCompletion(HANDLE IoCompletionHandle, PVOID *KeyContext, PVOID *ApcContext,
                                       PIO_STATUS_BLOCK IoStatusBlock, PLARGE_INTEGER Timeout);
/* Removes 1..Count packets. ntio has no APCs, so an alertable wait is never alerted. */
NTIO_API NTSTATUS NtRemoveIoCompletionEx(HANDLE IoCompletionHandle,
                                         PFILE_IO_COMPLETION_INFORMATION IoCompletionInformation, ULONG Count,
                                         PULONG NumEntriesRemoved, PLARGE_INTEGER Timeout, BOOLEAN Alertable);

NTIO_EXTERN_C_END
#endif
