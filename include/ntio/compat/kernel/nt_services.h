/* ntio compat: the Nt* system services for synchronization objects and handles.
 * The Win32 layer (CreateEvent, WaitForSingleObject, ...) is a thin translation
 * of these, as kernelbase is of ntdll on Windows. */
#ifndef NTIO_COMPAT_KERNEL_NT_SERVICES_H
#define NTIO_COMPAT_KERNEL_NT_SERVICES_H

NTIO_EXTERN_C_BEGIN

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
