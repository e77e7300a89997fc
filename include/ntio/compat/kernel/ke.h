/* ntio compat, kernel side: IRQL, spin locks, dispatcher objects (events,
 * semaphores, mutexes, timers, DPCs), waits and time. Part of <wdm.h>.
 *
 * The structures are real and drivers embed them (a KEVENT in a device
 * extension, a KTIMER + KDPC pair, ...). Their internals belong to the
 * runtime: initialize them with the Ke*Initialize* routines and touch them only
 * through the Ke* routines. Layouts are ntio's own, not Windows' binary ones. */
#ifndef NTIO_COMPAT_KERNEL_KE_H
#define NTIO_COMPAT_KERNEL_KE_H

NTIO_EXTERN_C_BEGIN

/* ---- IRQL (emulated per thread, S-KE-1) ------------------------------------- */
#define PASSIVE_LEVEL 0
#define LOW_LEVEL 0
#define APC_LEVEL 1
#define DISPATCH_LEVEL 2
#define CMCI_LEVEL 5
#define CLOCK_LEVEL 13
#define IPI_LEVEL 14
#define POWER_LEVEL 14
#define PROFILE_LEVEL 15
#define HIGH_LEVEL 15

NTIO_API KIRQL KeGetCurrentIrql(VOID);
NTIO_API KIRQL KfRaiseIrql(KIRQL NewIrql);
NTIO_API VOID KeLowerIrql(KIRQL NewIrql);
NTIO_API KIRQL KeRaiseIrqlToDpcLevel(VOID);
#define KeRaiseIrql(NewIrql, OldIrql) (*(OldIrql) = KfRaiseIrql(NewIrql))

/* PAGED_CODE() reports (through the verifier) when reached above APC_LEVEL. */
NTIO_API VOID ntio_paged_code_check(PCSTR File, ULONG Line, PCSTR Function);
#define PAGED_CODE() ntio_paged_code_check(__FILE__, __LINE__, __func__)
#define PAGED_CODE_LOCKED() ((void)0)
#define NTIO_PRAGMA(x) _Pragma(#x)
/* #pragma alloc_text(PAGE, f) / code_seg: accepted and ignored by GCC/Clang (unknown pragmas). */

NTIO_API VOID KeEnterCriticalRegion(VOID);
NTIO_API VOID KeLeaveCriticalRegion(VOID);
/* A guarded region disables all APCs, special kernel APCs included (S-KAPI-1). Both kinds
 * of region nest and are the calling thread's; at IRQL <= APC_LEVEL. */
NTIO_API VOID KeEnterGuardedRegion(VOID);
NTIO_API VOID KeLeaveGuardedRegion(VOID);
/* TRUE inside a critical or guarded region or at APC_LEVEL and above. */
NTIO_API BOOLEAN KeAreApcsDisabled(VOID);
/* TRUE inside a guarded region or at APC_LEVEL and above: even special kernel APCs wait. */
NTIO_API BOOLEAN KeAreAllApcsDisabled(VOID);

/* ---- spin locks (S-KE-20) ---------------------------------------------------- */
typedef ULONG_PTR KSPIN_LOCK, *PKSPIN_LOCK;

typedef struct _KSPIN_LOCK_QUEUE {
    struct _KSPIN_LOCK_QUEUE *volatile Next;
    PKSPIN_LOCK volatile Lock;
} KSPIN_LOCK_QUEUE, *PKSPIN_LOCK_QUEUE;

typedef struct _KLOCK_QUEUE_HANDLE {
    KSPIN_LOCK_QUEUE LockQueue;
    KIRQL OldIrql;
} KLOCK_QUEUE_HANDLE, *PKLOCK_QUEUE_HANDLE;

NTIO_API VOID KeInitializeSpinLock(PKSPIN_LOCK SpinLock);
NTIO_API KIRQL KeAcquireSpinLockRaiseToDpc(PKSPIN_LOCK SpinLock);
NTIO_API VOID KeReleaseSpinLock(PKSPIN_LOCK SpinLock, KIRQL NewIrql);
NTIO_API VOID KeAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock);
NTIO_API VOID KeReleaseSpinLockFromDpcLevel(PKSPIN_LOCK SpinLock);
NTIO_API BOOLEAN KeTryToAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock);
NTIO_API BOOLEAN KeTestSpinLock(PKSPIN_LOCK SpinLock);
NTIO_API VOID KeAcquireInStackQueuedSpinLock(PKSPIN_LOCK SpinLock, PKLOCK_QUEUE_HANDLE LockHandle);
NTIO_API VOID KeReleaseInStackQueuedSpinLock(PKLOCK_QUEUE_HANDLE LockHandle);
NTIO_API VOID KeAcquireInStackQueuedSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock, PKLOCK_QUEUE_HANDLE LockHandle);
NTIO_API VOID KeReleaseInStackQueuedSpinLockFromDpcLevel(PKLOCK_QUEUE_HANDLE LockHandle);
/* The same with the caller's source line, which verifier reports quote (lock order,
 * release IRQL). The macros below use them unless NTIO_NO_CALL_SITES is defined. */
NTIO_API KIRQL NtioAcquireSpinLockAt(PKSPIN_LOCK SpinLock, PCSTR File, ULONG Line);
NTIO_API VOID NtioReleaseSpinLockAt(PKSPIN_LOCK SpinLock, KIRQL NewIrql, PCSTR File, ULONG Line);
NTIO_API VOID NtioAcquireSpinLockAtDpcLevelAt(PKSPIN_LOCK SpinLock, PCSTR File, ULONG Line);
NTIO_API VOID NtioReleaseSpinLockFromDpcLevelAt(PKSPIN_LOCK SpinLock, PCSTR File, ULONG Line);
#ifdef NTIO_NO_CALL_SITES
#define KeAcquireSpinLock(SpinLock, OldIrql) (*(OldIrql) = KeAcquireSpinLockRaiseToDpc(SpinLock))
#else
#define KeAcquireSpinLock(SpinLock, OldIrql) (*(OldIrql) = NtioAcquireSpinLockAt((SpinLock), __FILE__, __LINE__))
#define KeReleaseSpinLock(SpinLock, NewIrql) NtioReleaseSpinLockAt((SpinLock), (NewIrql), __FILE__, __LINE__)
#define KeAcquireSpinLockAtDpcLevel(SpinLock) NtioAcquireSpinLockAtDpcLevelAt((SpinLock), __FILE__, __LINE__)
#define KeReleaseSpinLockFromDpcLevel(SpinLock) NtioReleaseSpinLockFromDpcLevelAt((SpinLock), __FILE__, __LINE__)
#endif

/* ---- dispatcher objects ---------------------------------------------------------- */
typedef enum _EVENT_TYPE { NotificationEvent, SynchronizationEvent } EVENT_TYPE;
typedef enum _TIMER_TYPE { NotificationTimer, SynchronizationTimer } TIMER_TYPE;
typedef enum _WAIT_TYPE { WaitAll, WaitAny, WaitNotification, WaitDequeue } WAIT_TYPE;
typedef enum _MODE { KernelMode, UserMode, MaximumMode } MODE;
typedef enum _KWAIT_REASON {
    Executive, FreePage, PageIn, PoolAllocation, DelayExecution, Suspended, UserRequest,
    WrExecutive, WrFreePage, WrPageIn, WrPoolAllocation, WrDelayExecution, WrSuspended,
    WrUserRequest, WrEventPair, WrQueue, WrLpcReceive, WrLpcReply, WrVirtualMemory,
    WrPageOut, WrRendezvous, WrKeyedEvent, WrTerminated, WrProcessInSwap, WrCpuRateControl,
    WrCalloutStack, WrKernel, WrResource, WrPushLock, WrMutex, WrQuantumEnd, WrDispatchInt,
    WrPreempted, WrYieldExecution, WrFastMutex, WrGuardedMutex, WrRundown, MaximumWaitReason
} KWAIT_REASON;

/* Common header of every waitable object. Type takes the KOBJECTS values below. */
typedef struct _DISPATCHER_HEADER {
    UCHAR Type;
    UCHAR Absolute;
    UCHAR Waiters; /* 1 while WaitListHead is not empty */
    UCHAR Inserted; /* a timer: in the timer queue; a notification event: setters still in KeSetEvent */
    LONG SignalState;
    LIST_ENTRY WaitListHead;
} DISPATCHER_HEADER, *PDISPATCHER_HEADER;

typedef struct _KEVENT {
    DISPATCHER_HEADER Header;
} KEVENT, *PKEVENT, *PRKEVENT;

typedef struct _KSEMAPHORE {
    DISPATCHER_HEADER Header;
    LONG Limit;
} KSEMAPHORE, *PKSEMAPHORE, *PRKSEMAPHORE;

struct _KTHREAD;
typedef struct _KTHREAD *PKTHREAD, *PRKTHREAD;
struct _ETHREAD;
typedef struct _ETHREAD *PETHREAD;
struct _EPROCESS;
typedef struct _EPROCESS *PEPROCESS, *PKPROCESS;

/* SignalState 1 = free; <= 0 = owned, with -SignalState + 1 recursive acquisitions. */
typedef struct _KMUTANT {
    DISPATCHER_HEADER Header;
    LIST_ENTRY MutantListEntry;
    struct _KTHREAD *OwnerThread;
    BOOLEAN Abandoned;
    UCHAR ApcDisable;
} KMUTANT, *PKMUTANT, *PRKMUTANT, KMUTEX, *PKMUTEX, *PRKMUTEX;

struct _KDPC;
typedef VOID KDEFERRED_ROUTINE(struct _KDPC *Dpc, PVOID DeferredContext, PVOID SystemArgument1, PVOID SystemArgument2);
typedef KDEFERRED_ROUTINE *PKDEFERRED_ROUTINE;

typedef struct _KDPC {
    UCHAR Type;
    UCHAR Importance;
    volatile USHORT Number;
    LIST_ENTRY DpcListEntry;
    PKDEFERRED_ROUTINE DeferredRoutine;
    PVOID DeferredContext;
    PVOID SystemArgument1;
    PVOID SystemArgument2;
    volatile PVOID DpcData; /* non-NULL while queued */
} KDPC, *PKDPC, *PRKDPC;

typedef struct _KTIMER {
    DISPATCHER_HEADER Header;
    ULARGE_INTEGER DueTime; /* interrupt time (100 ns) of the next expiry */
    LIST_ENTRY TimerListEntry;
    struct _KDPC *Dpc;
    ULONG Processor;
    ULONG Period; /* ms, 0 = one-shot: as Windows keeps KeSetTimerEx's period, for drivers that read it */
    LONGLONG NtioPeriod; /* ntio's own: the period the dispatcher uses, in 100-ns units, so that one
                          * that is no whole number of ms (ExSetTimer's) stays exact */
} KTIMER, *PKTIMER, *PRKTIMER;

typedef struct _KWAIT_BLOCK {
    LIST_ENTRY WaitListEntry;
    struct _KTHREAD *Thread;
    PVOID Object;
    struct _KWAIT_BLOCK *NextWaitBlock;
    USHORT WaitKey;
    UCHAR WaitType;
    UCHAR BlockState;
} KWAIT_BLOCK, *PKWAIT_BLOCK, *PRKWAIT_BLOCK;

#define THREAD_WAIT_OBJECTS 3
#define MAXIMUM_WAIT_OBJECTS 64

typedef struct _FAST_MUTEX {
    LONG Count; /* 1 = free */
    PVOID Owner;
    ULONG Contention;
    KEVENT Event;
    ULONG OldIrql;
} FAST_MUTEX, *PFAST_MUTEX, KGUARDED_MUTEX, *PKGUARDED_MUTEX;

typedef LONG KPRIORITY_T;
#define LOW_PRIORITY 0
#define LOW_REALTIME_PRIORITY 16
#define HIGH_PRIORITY 31
#define MAXIMUM_PRIORITY 32
#define IO_NO_INCREMENT 0
#define EVENT_INCREMENT 1
#define SEMAPHORE_INCREMENT 1
#define MUTANT_INCREMENT 1
#define IO_DISK_INCREMENT 1
#define IO_KEYBOARD_INCREMENT 6
#define IO_MOUSE_INCREMENT 6
#define IO_NETWORK_INCREMENT 2
#define IO_SERIAL_INCREMENT 2
#define IO_SOUND_INCREMENT 8
#define IO_VIDEO_INCREMENT 1
#define IO_PARALLEL_INCREMENT 1
#define IO_CD_ROM_INCREMENT 1

/* Events (S-KE-4..7) */
NTIO_API VOID KeInitializeEvent(PRKEVENT Event, EVENT_TYPE Type, BOOLEAN State);
NTIO_API LONG KeSetEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait);
NTIO_API LONG KeResetEvent(PRKEVENT Event);
NTIO_API VOID KeClearEvent(PRKEVENT Event);
NTIO_API LONG KeReadStateEvent(PRKEVENT Event);
NTIO_API LONG KePulseEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait);

/* Semaphores and mutexes (S-KE-16..18) */
NTIO_API VOID KeInitializeSemaphore(PRKSEMAPHORE Semaphore, LONG Count, LONG Limit);
NTIO_API LONG KeReleaseSemaphore(PRKSEMAPHORE Semaphore, KPRIORITY Increment, LONG Adjustment, BOOLEAN Wait);
NTIO_API LONG KeReadStateSemaphore(PRKSEMAPHORE Semaphore);
NTIO_API VOID KeInitializeMutex(PRKMUTEX Mutex, ULONG Level);
NTIO_API LONG KeReleaseMutex(PRKMUTEX Mutex, BOOLEAN Wait);
NTIO_API LONG KeReadStateMutex(PRKMUTEX Mutex);
#define KeWaitForMutexObject KeWaitForSingleObject
NTIO_API VOID ExInitializeFastMutex(PFAST_MUTEX FastMutex);
NTIO_API VOID ExAcquireFastMutex(PFAST_MUTEX FastMutex);
NTIO_API VOID ExReleaseFastMutex(PFAST_MUTEX FastMutex);
NTIO_API BOOLEAN ExTryToAcquireFastMutex(PFAST_MUTEX FastMutex);
NTIO_API VOID ExAcquireFastMutexUnsafe(PFAST_MUTEX FastMutex);
NTIO_API VOID ExReleaseFastMutexUnsafe(PFAST_MUTEX FastMutex);
#define KeInitializeGuardedMutex ExInitializeFastMutex
#define KeAcquireGuardedMutex ExAcquireFastMutex
#define KeReleaseGuardedMutex ExReleaseFastMutex
#define KeTryToAcquireGuardedMutex ExTryToAcquireFastMutex

/* Timers and DPCs (S-KE-13..15) */
NTIO_API VOID KeInitializeTimer(PKTIMER Timer);
NTIO_API VOID KeInitializeTimerEx(PKTIMER Timer, TIMER_TYPE Type);
NTIO_API BOOLEAN KeSetTimer(PKTIMER Timer, LARGE_INTEGER DueTime, PKDPC Dpc);
NTIO_API BOOLEAN KeSetTimerEx(PKTIMER Timer, LARGE_INTEGER DueTime, LONG Period, PKDPC Dpc);
/* KeSetTimerEx with a tolerance the system may use to coalesce expirations; ntio expires
 * every timer at its due time, so the tolerance changes nothing. */
NTIO_API BOOLEAN KeSetCoalescableTimer(PKTIMER Timer, LARGE_INTEGER DueTime, ULONG Period, ULONG TolerableDelay,
                                       PKDPC Dpc);
NTIO_API BOOLEAN KeCancelTimer(PKTIMER Timer);
NTIO_API BOOLEAN KeReadStateTimer(PKTIMER Timer);
NTIO_API VOID KeInitializeDpc(PRKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine, PVOID DeferredContext);
NTIO_API VOID KeInitializeThreadedDpc(PRKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine, PVOID DeferredContext);
NTIO_API BOOLEAN KeInsertQueueDpc(PRKDPC Dpc, PVOID SystemArgument1, PVOID SystemArgument2);
NTIO_API BOOLEAN KeRemoveQueueDpc(PRKDPC Dpc);
NTIO_API VOID KeFlushQueuedDpcs(VOID);
/* Where a queued DPC goes in the DPC queue: HighImportance at the head, the others at the
 * tail (S-DRT-1). */
typedef enum _KDPC_IMPORTANCE { LowImportance, MediumImportance, HighImportance, MediumHighImportance } KDPC_IMPORTANCE;
NTIO_API VOID KeSetImportanceDpc(PRKDPC Dpc, KDPC_IMPORTANCE Importance);
/* The processor a DPC runs on: ntio runs every DPC on its DPC thread, which reports the
 * target as KeGetCurrentProcessorNumber while the routine runs (S-DRT-1). */
NTIO_API VOID KeSetTargetProcessorDpc(PRKDPC Dpc, CCHAR Number);

/* Waits (S-KE-8..12) */
NTIO_API NTSTATUS KeWaitForSingleObject(PVOID Object, KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode,
                                        BOOLEAN Alertable, PLARGE_INTEGER Timeout);
NTIO_API NTSTATUS KeWaitForMultipleObjects(ULONG Count, PVOID Object[], WAIT_TYPE WaitType, KWAIT_REASON WaitReason,
                                           KPROCESSOR_MODE WaitMode, BOOLEAN Alertable, PLARGE_INTEGER Timeout,
                                           PKWAIT_BLOCK WaitBlockArray);
NTIO_API NTSTATUS KeDelayExecutionThread(KPROCESSOR_MODE WaitMode, BOOLEAN Alertable, PLARGE_INTEGER Interval);
/* The same with the caller's source line (a wait at DISPATCH_LEVEL is reported there). */
NTIO_API NTSTATUS NtioWaitForSingleObjectAt(PVOID Object, KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode,
                                            BOOLEAN Alertable, PLARGE_INTEGER Timeout, PCSTR File, ULONG Line);
NTIO_API NTSTATUS NtioWaitForMultipleObjectsAt(ULONG Count, PVOID Object[], WAIT_TYPE WaitType,
                                               KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
                                               PLARGE_INTEGER Timeout, PKWAIT_BLOCK WaitBlockArray, PCSTR File,
                                               ULONG Line);
NTIO_API NTSTATUS NtioDelayExecutionThreadAt(KPROCESSOR_MODE WaitMode, BOOLEAN Alertable, PLARGE_INTEGER Interval,
                                             PCSTR File, ULONG Line);
#ifndef NTIO_NO_CALL_SITES
#define KeWaitForSingleObject(Object, WaitReason, WaitMode, Alertable, Timeout) \
    NtioWaitForSingleObjectAt((Object), (WaitReason), (WaitMode), (Alertable), (Timeout), __FILE__, __LINE__)
#define KeWaitForMultipleObjects(Count, Object, WaitType, WaitReason, WaitMode, Alertable, Timeout, WaitBlockArray) \
    NtioWaitForMultipleObjectsAt((Count), (Object), (WaitType), (WaitReason), (WaitMode), (Alertable), (Timeout), \
                                 (WaitBlockArray), __FILE__, __LINE__)
#define KeDelayExecutionThread(WaitMode, Alertable, Interval) \
    NtioDelayExecutionThreadAt((WaitMode), (Alertable), (Interval), __FILE__, __LINE__)
#endif

/* Time: system time is 100 ns since 1601-01-01 UTC; interrupt time is 100 ns since
 * the runtime started (both read the one runtime clock, real or virtual). */
NTIO_API VOID KeQuerySystemTime(PLARGE_INTEGER CurrentTime);
NTIO_API VOID KeQuerySystemTimePrecise(PLARGE_INTEGER CurrentTime);
NTIO_API ULONGLONG KeQueryInterruptTime(VOID);
NTIO_API ULONGLONG KeQueryInterruptTimePrecise(PULONGLONG QpcTimeStamp);
NTIO_API VOID KeQueryTickCount(PLARGE_INTEGER CurrentCount);
NTIO_API ULONG KeQueryTimeIncrement(VOID);
NTIO_API LARGE_INTEGER KeQueryPerformanceCounter(PLARGE_INTEGER PerformanceFrequency);
/* Spins for MicroSeconds of real time, at any IRQL, without waiting: the virtual clock
 * does not move (a stall is the processor's time, not a wait); keep it short, as on
 * Windows (50 microseconds or less). */
NTIO_API VOID KeStallExecutionProcessor(ULONG MicroSeconds);
/* Floating point in a driver: the caller's floating-point environment (rounding, masked
 * exceptions, x87 and SSE control) is saved in FloatSave and a fresh default one set up;
 * KeRestoreFloatingPointState puts the saved one back. x64 code needs neither (Microsoft,
 * "Using Floating Point in a WDM Driver"), but drivers shared with x86 call them. At
 * IRQL <= DISPATCH_LEVEL. The contents are opaque, as on Windows. */
typedef struct _KFLOATING_SAVE {
    ULONGLONG Opaque[8];
} KFLOATING_SAVE, *PKFLOATING_SAVE;
NTIO_API NTSTATUS KeSaveFloatingPointState(PKFLOATING_SAVE FloatSave);
NTIO_API NTSTATUS KeRestoreFloatingPointState(PKFLOATING_SAVE FloatSave);
NTIO_API ULONG KeQueryActiveProcessorCount(PKAFFINITY ActiveProcessors);
/* The WDK's variable, as the number it holds: the processors online. */
#define KeNumberProcessors ((CCHAR)KeQueryActiveProcessorCount(NULL))
NTIO_API ULONG KeGetCurrentProcessorNumber(VOID);
/* One processor group (group 0), as on a machine with at most 64 processors. */
#define ALL_PROCESSOR_GROUPS 0xffff
NTIO_API ULONG KeQueryActiveProcessorCountEx(USHORT GroupNumber);
/* The processors the machine may have (the configured ones, S-KAPI-2): never fewer than
 * the active ones. */
NTIO_API ULONG KeQueryMaximumProcessorCount(VOID);
NTIO_API ULONG KeQueryMaximumProcessorCountEx(USHORT GroupNumber);
NTIO_API USHORT KeQueryActiveGroupCount(VOID);
NTIO_API USHORT KeQueryMaximumGroupCount(VOID);
/* The active processors' affinity mask, KeQueryActiveProcessorCount's. */
NTIO_API KAFFINITY KeQueryActiveProcessors(VOID);
/* The current processor's system-wide number, as KeGetCurrentProcessorNumber, and its
 * group (0) and number in the group when ProcNumber is not NULL. */
NTIO_API ULONG KeGetCurrentProcessorNumberEx(PPROCESSOR_NUMBER ProcNumber);
/* The alignment that keeps data shared between processors off each other's cache lines:
 * SYSTEM_CACHE_ALIGNMENT_SIZE, the line the pool's cache-aligned blocks start on (S-POOL-2). */
NTIO_API ULONG KeGetRecommendedSharedDataAlignment(VOID);
/* No sleep or hibernation happens under ntio, so the unbiased time is the interrupt time. */
NTIO_API ULONGLONG KeQueryUnbiasedInterruptTime(VOID);

/* Bugchecks stop the process with the code and parameters, as a crash dump would show them. */
NTIO_API DECLSPEC_NORETURN VOID KeBugCheckEx(ULONG BugCheckCode, ULONG_PTR P1, ULONG_PTR P2, ULONG_PTR P3, ULONG_PTR P4);
NTIO_API DECLSPEC_NORETURN VOID KeBugCheck(ULONG BugCheckCode);

NTIO_EXTERN_C_END
#endif
