/* ntio compat: the Nt* system services for synchronization objects and handles.
 * The Win32 layer (CreateEvent, WaitForSingleObject, ...) is a thin translation
 * of these, as kernelbase is of ntdll on Windows. */
#ifndef NTIO_COMPAT_KERNEL_NT_SERVICES_H
#define NTIO_COMPAT_KERNEL_NT_SERVICES_H

NTIO_EXTERN_C_BEGIN

struct _IO_STATUS_BLOCK;
typedef VOID NTIO_IO_APC_ROUTINE(PVOID ApcContext, struct _IO_STATUS_BLOCK *IoStatusBlock, ULONG Reserved);

/* Files and devices. IoStatusBlock/ApcRoutine are PIO_STATUS_BLOCK/PIO_APC_ROUTINE. */
NTIO_API NTSTATUS NtCreateFile(PHANDLE FileHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                               struct _IO_STATUS_BLOCK *IoStatusBlock, PLARGE_INTEGER AllocationSize,
                               ULONG FileAttributes, ULONG ShareAccess, ULONG CreateDisposition, ULONG CreateOptions,
                               PVOID EaBuffer, ULONG EaLength);
NTIO_API NTSTATUS NtOpenFile(PHANDLE FileHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                             struct _IO_STATUS_BLOCK *IoStatusBlock, ULONG ShareAccess, ULONG OpenOptions);
NTIO_API NTSTATUS NtDeviceIoControlFile(HANDLE FileHandle, HANDLE Event, NTIO_IO_APC_ROUTINE *ApcRoutine,
                                        PVOID ApcContext, struct _IO_STATUS_BLOCK *IoStatusBlock, ULONG IoControlCode,
                                        PVOID InputBuffer, ULONG InputBufferLength, PVOID OutputBuffer,
                                        ULONG OutputBufferLength);
NTIO_API NTSTATUS NtFsControlFile(HANDLE FileHandle, HANDLE Event, NTIO_IO_APC_ROUTINE *ApcRoutine, PVOID ApcContext,
                                  struct _IO_STATUS_BLOCK *IoStatusBlock, ULONG FsControlCode, PVOID InputBuffer,
                                  ULONG InputBufferLength, PVOID OutputBuffer, ULONG OutputBufferLength);
NTIO_API NTSTATUS NtReadFile(HANDLE FileHandle, HANDLE Event, NTIO_IO_APC_ROUTINE *ApcRoutine, PVOID ApcContext,
                             struct _IO_STATUS_BLOCK *IoStatusBlock, PVOID Buffer, ULONG Length,
                             PLARGE_INTEGER ByteOffset, PULONG Key);
NTIO_API NTSTATUS NtWriteFile(HANDLE FileHandle, HANDLE Event, NTIO_IO_APC_ROUTINE *ApcRoutine, PVOID ApcContext,
                              struct _IO_STATUS_BLOCK *IoStatusBlock, PVOID Buffer, ULONG Length,
                              PLARGE_INTEGER ByteOffset, PULONG Key);
NTIO_API NTSTATUS NtCancelIoFile(HANDLE FileHandle, struct _IO_STATUS_BLOCK *IoStatusBlock);
NTIO_API NTSTATUS NtCancelIoFileEx(HANDLE FileHandle, struct _IO_STATUS_BLOCK *IoRequestToCancel,
                                   struct _IO_STATUS_BLOCK *IoStatusBlock);
NTIO_API NTSTATUS NtCancelSynchronousIoFile(HANDLE ThreadHandle, struct _IO_STATUS_BLOCK *IoRequestToCancel,
                                            struct _IO_STATUS_BLOCK *IoStatusBlock);
NTIO_API NTSTATUS ZwCreateFile(PHANDLE FileHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                               struct _IO_STATUS_BLOCK *IoStatusBlock, PLARGE_INTEGER AllocationSize,
                               ULONG FileAttributes, ULONG ShareAccess, ULONG CreateDisposition, ULONG CreateOptions,
                               PVOID EaBuffer, ULONG EaLength);
NTIO_API NTSTATUS ZwDeviceIoControlFile(HANDLE FileHandle, HANDLE Event, NTIO_IO_APC_ROUTINE *ApcRoutine,
                                        PVOID ApcContext, struct _IO_STATUS_BLOCK *IoStatusBlock, ULONG IoControlCode,
                                        PVOID InputBuffer, ULONG InputBufferLength, PVOID OutputBuffer,
                                        ULONG OutputBufferLength);
NTIO_API NTSTATUS ZwReadFile(HANDLE FileHandle, HANDLE Event, NTIO_IO_APC_ROUTINE *ApcRoutine, PVOID ApcContext,
                             struct _IO_STATUS_BLOCK *IoStatusBlock, PVOID Buffer, ULONG Length,
                             PLARGE_INTEGER ByteOffset, PULONG Key);
NTIO_API NTSTATUS ZwWriteFile(HANDLE FileHandle, HANDLE Event, NTIO_IO_APC_ROUTINE *ApcRoutine, PVOID ApcContext,
                              struct _IO_STATUS_BLOCK *IoStatusBlock, PVOID Buffer, ULONG Length,
                              PLARGE_INTEGER ByteOffset, PULONG Key);

NTIO_API NTSTATUS NtCreateEvent(PHANDLE EventHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                                EVENT_TYPE EventType, BOOLEAN InitialState);
NTIO_API NTSTATUS NtOpenEvent(PHANDLE EventHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes);
NTIO_API NTSTATUS NtSetEvent(HANDLE EventHandle, PLONG PreviousState);
NTIO_API NTSTATUS NtResetEvent(HANDLE EventHandle, PLONG PreviousState);
NTIO_API NTSTATUS NtClearEvent(HANDLE EventHandle);
NTIO_API NTSTATUS NtPulseEvent(HANDLE EventHandle, PLONG PreviousState);
NTIO_API NTSTATUS NtCreateSemaphore(PHANDLE SemaphoreHandle, ACCESS_MASK DesiredAccess,
                                    POBJECT_ATTRIBUTES ObjectAttributes, LONG InitialCount, LONG MaximumCount);
NTIO_API NTSTATUS NtOpenSemaphore(PHANDLE SemaphoreHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes);
NTIO_API NTSTATUS NtReleaseSemaphore(HANDLE SemaphoreHandle, LONG ReleaseCount, PLONG PreviousCount);
NTIO_API NTSTATUS NtCreateMutant(PHANDLE MutantHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                                 BOOLEAN InitialOwner);
NTIO_API NTSTATUS NtOpenMutant(PHANDLE MutantHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes);
NTIO_API NTSTATUS NtReleaseMutant(HANDLE MutantHandle, PLONG PreviousCount);
NTIO_API NTSTATUS NtWaitForSingleObject(HANDLE Handle, BOOLEAN Alertable, PLARGE_INTEGER Timeout);
NTIO_API NTSTATUS NtWaitForMultipleObjects(ULONG Count, const HANDLE *Handles, WAIT_TYPE WaitType, BOOLEAN Alertable,
                                           PLARGE_INTEGER Timeout);
NTIO_API NTSTATUS NtDelayExecution(BOOLEAN Alertable, PLARGE_INTEGER DelayInterval);
NTIO_API NTSTATUS NtClose(HANDLE Handle);
NTIO_API NTSTATUS NtDuplicateObject(HANDLE SourceProcessHandle, HANDLE SourceHandle, HANDLE TargetProcessHandle,
                                    PHANDLE TargetHandle, ACCESS_MASK DesiredAccess, ULONG HandleAttributes,
                                    ULONG Options);

NTIO_EXTERN_C_END
#endif
