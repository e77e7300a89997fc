/* ntio compat, kernel side: system threads, object references and handles. Part of <wdm.h>. */
#ifndef NTIO_COMPAT_KERNEL_PS_OB_H
#define NTIO_COMPAT_KERNEL_PS_OB_H

NTIO_EXTERN_C_BEGIN

typedef struct _OBJECT_TYPE *POBJECT_TYPE;
typedef struct _OBJECT_HANDLE_INFORMATION {
    ULONG HandleAttributes;
    ACCESS_MASK GrantedAccess;
} OBJECT_HANDLE_INFORMATION, *POBJECT_HANDLE_INFORMATION;
/* A handle's flags (S-OBH): ObSetHandleAttributes, and Nt/ZwQueryObject and
 * Nt/ZwSetInformationObject with ObjectHandleFlagInformation. */
typedef struct _OBJECT_HANDLE_FLAG_INFORMATION {
    BOOLEAN Inherit;
    BOOLEAN ProtectFromClose;
} OBJECT_HANDLE_FLAG_INFORMATION, *POBJECT_HANDLE_FLAG_INFORMATION;

/* As in the WDK these are pointers to the type pointer: pass *PsThreadType. */
NTIO_API extern POBJECT_TYPE *PsThreadType;
NTIO_API extern POBJECT_TYPE *PsProcessType;
NTIO_API extern POBJECT_TYPE *ExEventObjectType;
NTIO_API extern POBJECT_TYPE *ExSemaphoreObjectType;
NTIO_API extern POBJECT_TYPE *IoFileObjectType;
NTIO_API extern POBJECT_TYPE *IoDeviceObjectType;
NTIO_API extern POBJECT_TYPE *IoDriverObjectType;

NTIO_API NTSTATUS ObReferenceObjectByHandle(HANDLE Handle, ACCESS_MASK DesiredAccess, POBJECT_TYPE ObjectType,
                                            KPROCESSOR_MODE AccessMode, PVOID *Object,
                                            POBJECT_HANDLE_INFORMATION HandleInformation);
#ifndef __cplusplus
/* S-KAPI-10: C drivers pass the address of a typed pointer (PKEVENT *, PETHREAD *), as the
 * WDK's samples do; MSVC's C compiler takes that for PVOID * without a word, GCC calls it
 * an incompatible pointer type (an error from GCC 14). So in C the argument is converted,
 * after a check that it points at a pointer (the sizeof is not evaluated): passing the
 * object pointer itself instead of its address still fails to compile. C++ keeps the
 * plain declaration, whose rules MSVC's C++ compiler applies too. */
#define ObReferenceObjectByHandle(Handle, DesiredAccess, ObjectType, AccessMode, Object, HandleInformation) \
    ((void)sizeof(*(Object) == (void *)0),                                                                   \
     (ObReferenceObjectByHandle)((Handle), (DesiredAccess), (ObjectType), (AccessMode), (PVOID *)(Object),  \
                                 (HandleInformation)))
#endif
NTIO_API NTSTATUS ObReferenceObjectByPointer(PVOID Object, ACCESS_MASK DesiredAccess, POBJECT_TYPE ObjectType,
                                             KPROCESSOR_MODE AccessMode);
NTIO_API LONG_PTR ObfReferenceObject(PVOID Object);
NTIO_API LONG_PTR ObfDereferenceObject(PVOID Object);
#define ObReferenceObject(Object) ObfReferenceObject(Object)
#define ObDereferenceObject(Object) ObfDereferenceObject(Object)

NTIO_API NTSTATUS ZwClose(HANDLE Handle);
/* Sets the flags of a handle of the current process; PreviousMode UserMode cannot reach
 * kernel handles (STATUS_INVALID_HANDLE). A pseudo handle has none to set
 * (STATUS_ACCESS_DENIED). */
NTIO_API NTSTATUS ObSetHandleAttributes(HANDLE Handle, POBJECT_HANDLE_FLAG_INFORMATION HandleFlags,
                                        KPROCESSOR_MODE PreviousMode);
NTIO_API NTSTATUS ZwWaitForSingleObject(HANDLE Handle, BOOLEAN Alertable, PLARGE_INTEGER Timeout);
NTIO_API NTSTATUS ZwCreateEvent(PHANDLE EventHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                                EVENT_TYPE EventType, BOOLEAN InitialState);
NTIO_API NTSTATUS ZwSetEvent(HANDLE EventHandle, PLONG PreviousState);
/* S-KE-7: a named event (\BaseNamedObjects\Name is where an application's
 * CreateEvent/OpenEvent names live), created signaled or opened as it is; a kernel handle
 * in *EventHandle and the event behind it, alive until ZwClose. NULL on failure. */
NTIO_API PKEVENT IoCreateNotificationEvent(PUNICODE_STRING EventName, PHANDLE EventHandle);
NTIO_API PKEVENT IoCreateSynchronizationEvent(PUNICODE_STRING EventName, PHANDLE EventHandle);
NTIO_API NTSTATUS ZwCreateDirectoryObject(PHANDLE DirectoryHandle, ACCESS_MASK DesiredAccess,
                                          POBJECT_ATTRIBUTES ObjectAttributes);

typedef VOID KSTART_ROUTINE(PVOID StartContext);
typedef KSTART_ROUTINE *PKSTART_ROUTINE;

NTIO_API NTSTATUS PsCreateSystemThread(PHANDLE ThreadHandle, ULONG DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                                       HANDLE ProcessHandle, PCLIENT_ID ClientId, PKSTART_ROUTINE StartRoutine,
                                       PVOID StartContext);
NTIO_API NTSTATUS PsTerminateSystemThread(NTSTATUS ExitStatus);
NTIO_API PETHREAD PsGetCurrentThread(VOID);
NTIO_API PKTHREAD KeGetCurrentThread(VOID);
NTIO_API HANDLE PsGetCurrentThreadId(VOID);
NTIO_API HANDLE PsGetCurrentProcessId(VOID);
NTIO_API HANDLE PsGetThreadId(PETHREAD Thread);
NTIO_API BOOLEAN PsIsSystemThread(PETHREAD Thread);
/* Processes (S-PS-1): the program's threads belong to its process, whose id is the Linux
 * process id; system threads (PsCreateSystemThread's, the ones DriverEntry, DPCs and
 * work items run on) belong to the System process, id 4, PsInitialSystemProcess. Thread
 * ids are ntio's own, multiples of 4 that never equal a process id (S-PS-2). */
NTIO_API PEPROCESS PsGetCurrentProcess(VOID);
NTIO_API HANDLE PsGetProcessId(PEPROCESS Process);
NTIO_API HANDLE PsGetThreadProcessId(PETHREAD Thread);
NTIO_API PEPROCESS PsGetThreadProcess(PETHREAD Thread);
NTIO_API PEPROCESS IoThreadToProcess(PETHREAD Thread);
extern NTIO_API PEPROCESS PsInitialSystemProcess;
NTIO_API KPROCESSOR_MODE ExGetPreviousMode(VOID);
/* The same: UserMode inside a request an application issued, KernelMode in a driver's own. */
NTIO_API KPROCESSOR_MODE KeGetPreviousMode(VOID);
/* A thread's priority, 1..31 (8 at its start). ntio records it and answers with it;
 * the host's scheduler does not see it (docs/compat.md). */
NTIO_API KPRIORITY KeSetPriorityThread(PKTHREAD Thread, KPRIORITY Priority);
NTIO_API KPRIORITY KeQueryPriorityThread(PKTHREAD Thread);
#define IoGetCurrentProcess PsGetCurrentProcess
#define NtCurrentProcess() ((HANDLE)(LONG_PTR)-1)
#define ZwCurrentProcess() NtCurrentProcess()
#define NtCurrentThread() ((HANDLE)(LONG_PTR)-2)
#define ZwCurrentThread() NtCurrentThread()

NTIO_EXTERN_C_END
#endif
