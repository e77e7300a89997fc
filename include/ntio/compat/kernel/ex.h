/* ntio compat, kernel side: executive pool with per-tag accounting, resources, work
 * items. Part of <wdm.h>. */
#ifndef NTIO_COMPAT_KERNEL_EX_H
#define NTIO_COMPAT_KERNEL_EX_H

NTIO_EXTERN_C_BEGIN

typedef enum _POOL_TYPE {
    NonPagedPool = 0,
    NonPagedPoolExecute = 0,
    PagedPool = 1,
    NonPagedPoolMustSucceed = 2,
    DontUseThisType = 3,
    NonPagedPoolCacheAligned = 4,
    PagedPoolCacheAligned = 5,
    NonPagedPoolCacheAlignedMustS = 6,
    MaxPoolType = 7,
    NonPagedPoolNx = 512,
    NonPagedPoolNxCacheAligned = 516,
    NonPagedPoolSession = 32,
    PagedPoolSession = 33
} POOL_TYPE;

typedef ULONG64 POOL_FLAGS;
#define POOL_FLAG_REQUIRED_START         0x0000000000000001ULL
#define POOL_FLAG_USE_QUOTA              0x0000000000000001ULL
#define POOL_FLAG_UNINITIALIZED          0x0000000000000002ULL
#define POOL_FLAG_SESSION                0x0000000000000004ULL
#define POOL_FLAG_CACHE_ALIGNED          0x0000000000000008ULL
#define POOL_FLAG_RAISE_ON_FAILURE       0x0000000000000020ULL
#define POOL_FLAG_NON_PAGED              0x0000000000000040ULL
#define POOL_FLAG_NON_PAGED_EXECUTE      0x0000000000000080ULL
#define POOL_FLAG_PAGED                  0x0000000000000100ULL
#define POOL_FLAG_REQUIRED_END           0x0000000080000000ULL
#define POOL_FLAG_OPTIONAL_START         0x0000000100000000ULL
#define POOL_FLAG_SPECIAL_POOL           0x0000000100000000ULL
#define POOL_FLAG_OPTIONAL_END           0x8000000000000000ULL

/* Alignment (S-POOL-1): a block of PAGE_SIZE bytes or more starts on a page; one of a
 * *CacheAligned type (or POOL_FLAG_CACHE_ALIGNED) on a SYSTEM_CACHE_ALIGNMENT_SIZE
 * boundary; any other on a MEMORY_ALLOCATION_ALIGNMENT (16) boundary. A PoolType ORed
 * with POOL_RAISE_IF_ALLOCATION_FAILURE raises STATUS_INSUFFICIENT_RESOURCES instead of
 * returning NULL. */
NTIO_API PVOID ExAllocatePoolWithTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
/* The priority says how much the caller needs the memory when pool runs short; ntio's
 * pool does not, so each priority allocates as ExAllocatePoolWithTag does (no special
 * pool: the *SpecialPool* priorities are the same). */
typedef enum _EX_POOL_PRIORITY {
    LowPoolPriority = 0,
    LowPoolPrioritySpecialPoolOverrun = 8,
    LowPoolPrioritySpecialPoolUnderrun = 9,
    NormalPoolPriority = 16,
    NormalPoolPrioritySpecialPoolOverrun = 24,
    NormalPoolPrioritySpecialPoolUnderrun = 25,
    HighPoolPriority = 32,
    HighPoolPrioritySpecialPoolOverrun = 40,
    HighPoolPrioritySpecialPoolUnderrun = 41
} EX_POOL_PRIORITY;
NTIO_API PVOID ExAllocatePoolWithTagPriority(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag,
                                             EX_POOL_PRIORITY Priority);
NTIO_API PVOID ExAllocatePool2(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag);
NTIO_API PVOID ExAllocatePoolZero(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
NTIO_API PVOID ExAllocatePoolUninitialized(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
NTIO_API PVOID ExAllocatePool(POOL_TYPE PoolType, SIZE_T NumberOfBytes);
/* Quota allocations: ntio charges no quota (one process), so these allocate as their
 * non-quota forms; a failure raises STATUS_INSUFFICIENT_RESOURCES (an exception for the
 * caller's __try) unless the pool type carries POOL_QUOTA_FAIL_INSTEAD_OF_RAISE, as on
 * Windows. */
#define POOL_QUOTA_FAIL_INSTEAD_OF_RAISE 8
#define POOL_RAISE_IF_ALLOCATION_FAILURE 16
NTIO_API PVOID ExAllocatePoolWithQuotaTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
NTIO_API PVOID ExAllocatePoolQuotaZero(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
NTIO_API PVOID ExAllocatePoolQuotaUninitialized(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
NTIO_API VOID ExFreePoolWithTag(PVOID P, ULONG Tag);
/* ExFreePool2 takes the tag and no extended parameters here (no secure pool). */
typedef struct _POOL_EXTENDED_PARAMETER POOL_EXTENDED_PARAMETER, *PPOOL_EXTENDED_PARAMETER;
typedef const POOL_EXTENDED_PARAMETER *PCPOOL_EXTENDED_PARAMETER;
NTIO_API VOID ExFreePool2(PVOID P, ULONG Tag, PCPOOL_EXTENDED_PARAMETER ExtendedParameters,
                          ULONG ExtendedParametersCount);
/* ExInitializeDriverRuntime(DrvRtPoolNxOptIn): ntio's pool is never executable, so the
 * opt-in has nothing left to change; other flags are refused loudly (S-DRT-3). */
#define DrvRtPoolNxOptIn 0x00000001
NTIO_API VOID ExInitializeDriverRuntime(ULONG RuntimeFlags);
/* Time zones: the host's local time, as Windows uses the system's zone (S-DRT-4). */
NTIO_API VOID ExSystemTimeToLocalTime(PLARGE_INTEGER SystemTime, PLARGE_INTEGER LocalTime);
NTIO_API VOID ExLocalTimeToSystemTime(PLARGE_INTEGER LocalTime, PLARGE_INTEGER SystemTime);
NTIO_API VOID ExFreePool(PVOID P);

/* ERESOURCE: a reader/writer lock for PASSIVE/APC-level code (S-KE-19). Acquire it
 * inside KeEnterCriticalRegion (or at APC_LEVEL). Exclusive ownership is recursive,
 * an exclusive owner may also acquire shared, and waiting exclusive requests are
 * served before new shared ones. */
typedef struct _ERESOURCE {
    KSPIN_LOCK SpinLock;
    PVOID OwnerTable; /* runtime-owned: owners and their counts */
    struct _KTHREAD *ExclusiveOwner;
    ULONG ExclusiveCount;
    ULONG SharedOwnerCount;
    LONG NumberOfSharedWaiters;
    LONG NumberOfExclusiveWaiters;
    BOOLEAN ExclusiveWakePending;
    KSEMAPHORE SharedWaiters;
    KEVENT ExclusiveWaiters;
} ERESOURCE, *PERESOURCE;

NTIO_API NTSTATUS ExInitializeResourceLite(PERESOURCE Resource);
NTIO_API NTSTATUS ExReinitializeResourceLite(PERESOURCE Resource);
NTIO_API NTSTATUS ExDeleteResourceLite(PERESOURCE Resource);
NTIO_API BOOLEAN ExAcquireResourceExclusiveLite(PERESOURCE Resource, BOOLEAN Wait);
NTIO_API BOOLEAN ExAcquireResourceSharedLite(PERESOURCE Resource, BOOLEAN Wait);
NTIO_API VOID ExReleaseResourceLite(PERESOURCE Resource);
NTIO_API VOID ExReleaseResourceForThreadLite(PERESOURCE Resource, ERESOURCE_THREAD ResourceThreadId);
NTIO_API BOOLEAN ExIsResourceAcquiredExclusiveLite(PERESOURCE Resource);
NTIO_API ULONG ExIsResourceAcquiredSharedLite(PERESOURCE Resource);
NTIO_API ERESOURCE_THREAD ExGetCurrentResourceThread(VOID);
#define ExReleaseResource ExReleaseResourceLite
#define ExIsResourceAcquiredLite ExIsResourceAcquiredSharedLite

/* ---- push locks (S-PL-1..4) ---------------------------------------------------------------- *
 * A pointer-sized reader/writer lock (wdm.h, Windows 10 version 1809): never recursive,
 * held exclusive by one thread or shared by many, taken at IRQL <= APC_LEVEL inside
 * KeEnterCriticalRegion as the WDK says. Flags is EX_DEFAULT_PUSH_LOCK_FLAGS (0); the
 * word holds ntio's own state (EX_PUSH_LOCK is opaque on Windows). An all-zero
 * EX_PUSH_LOCK is an unowned one, as ExInitializePushLock leaves it. */
#if NTDDI_VERSION >= NTDDI_WIN10_RS5
typedef ULONG_PTR EX_PUSH_LOCK, *PEX_PUSH_LOCK;
#define EX_DEFAULT_PUSH_LOCK_FLAGS 0
NTIO_API VOID ExInitializePushLock(PEX_PUSH_LOCK PushLock);
NTIO_API VOID ExAcquirePushLockExclusiveEx(PEX_PUSH_LOCK PushLock, ULONG Flags);
NTIO_API VOID ExAcquirePushLockSharedEx(PEX_PUSH_LOCK PushLock, ULONG Flags);
NTIO_API BOOLEAN ExTryAcquirePushLockExclusiveEx(PEX_PUSH_LOCK PushLock, ULONG Flags);
NTIO_API BOOLEAN ExTryAcquirePushLockSharedEx(PEX_PUSH_LOCK PushLock, ULONG Flags);
NTIO_API VOID ExReleasePushLockExclusiveEx(PEX_PUSH_LOCK PushLock, ULONG Flags);
NTIO_API VOID ExReleasePushLockSharedEx(PEX_PUSH_LOCK PushLock, ULONG Flags);
#define ExAcquirePushLockExclusive(Lock) ExAcquirePushLockExclusiveEx(Lock, EX_DEFAULT_PUSH_LOCK_FLAGS)
#define ExAcquirePushLockShared(Lock) ExAcquirePushLockSharedEx(Lock, EX_DEFAULT_PUSH_LOCK_FLAGS)
#define ExTryAcquirePushLockExclusive(Lock) ExTryAcquirePushLockExclusiveEx(Lock, EX_DEFAULT_PUSH_LOCK_FLAGS)
#define ExTryAcquirePushLockShared(Lock) ExTryAcquirePushLockSharedEx(Lock, EX_DEFAULT_PUSH_LOCK_FLAGS)
#define ExReleasePushLockExclusive(Lock) ExReleasePushLockExclusiveEx(Lock, EX_DEFAULT_PUSH_LOCK_FLAGS)
#define ExReleasePushLockShared(Lock) ExReleasePushLockSharedEx(Lock, EX_DEFAULT_PUSH_LOCK_FLAGS)
#endif

/* ---- lists under a spin lock, and sequenced lists (S-EX-1, S-EX-2) ------------------ *
 * The ExInterlocked list routines take the caller's spin lock around one list operation
 * and may be called at any IRQL up to DISPATCH_LEVEL (the lock must not also be taken
 * with KeAcquireSpinLock around other code). The insert and push routines return the
 * entry that was first (last, for a tail insert) before, or NULL for an empty list. */
/* An add under the caller's spin lock; both return the value before the add. */
NTIO_API ULONG ExInterlockedAddUlong(PULONG Addend, ULONG Increment, PKSPIN_LOCK Lock);
NTIO_API LARGE_INTEGER ExInterlockedAddLargeInteger(PLARGE_INTEGER Addend, LARGE_INTEGER Increment, PKSPIN_LOCK Lock);
NTIO_API PLIST_ENTRY ExInterlockedInsertHeadList(PLIST_ENTRY ListHead, PLIST_ENTRY ListEntry, PKSPIN_LOCK Lock);
NTIO_API PLIST_ENTRY ExInterlockedInsertTailList(PLIST_ENTRY ListHead, PLIST_ENTRY ListEntry, PKSPIN_LOCK Lock);
NTIO_API PLIST_ENTRY ExInterlockedRemoveHeadList(PLIST_ENTRY ListHead, PKSPIN_LOCK Lock);
NTIO_API PSINGLE_LIST_ENTRY ExInterlockedPushEntryList(PSINGLE_LIST_ENTRY ListHead, PSINGLE_LIST_ENTRY ListEntry,
                                                       PKSPIN_LOCK Lock);
NTIO_API PSINGLE_LIST_ENTRY ExInterlockedPopEntryList(PSINGLE_LIST_ENTRY ListHead, PKSPIN_LOCK Lock);

/* A sequenced singly linked list (SList): push, pop and flush are atomic without a lock
 * of the caller's. ntio keeps a small lock in the header (Windows uses a 128-bit
 * compare-exchange); entries are 16-byte aligned as on x64. */
typedef struct DECLSPEC_ALIGN(16) _SLIST_ENTRY {
    struct _SLIST_ENTRY *Next;
} SLIST_ENTRY, *PSLIST_ENTRY;
typedef union DECLSPEC_ALIGN(16) _SLIST_HEADER {
    struct {
        ULONGLONG Alignment;
        ULONGLONG Region;
    };
    struct {
        PSLIST_ENTRY Next;
        USHORT Depth;
        USHORT Sequence;
        volatile LONG Lock;
    } NtioList; /* runtime-owned */
} SLIST_HEADER, *PSLIST_HEADER;

NTIO_API VOID InitializeSListHead(PSLIST_HEADER SListHead);
NTIO_API PSLIST_ENTRY InterlockedPushEntrySList(PSLIST_HEADER ListHead, PSLIST_ENTRY ListEntry);
NTIO_API PSLIST_ENTRY InterlockedPopEntrySList(PSLIST_HEADER ListHead);
NTIO_API PSLIST_ENTRY InterlockedFlushSList(PSLIST_HEADER ListHead);
NTIO_API USHORT QueryDepthSList(PSLIST_HEADER ListHead);
#define ExInitializeSListHead InitializeSListHead
#define ExInterlockedPushEntrySList(ListHead, ListEntry, Lock) InterlockedPushEntrySList(ListHead, ListEntry)
#define ExInterlockedPopEntrySList(ListHead, Lock) InterlockedPopEntrySList(ListHead)
#define ExInterlockedFlushSList(ListHead) InterlockedFlushSList(ListHead)
#define ExQueryDepthSList(ListHead) QueryDepthSList(ListHead)

/* ---- lookaside lists (S-EX-3) --------------------------------------------------------- *
 * Fixed-size blocks kept on a list for reuse: an allocation takes a kept block or calls
 * the list's Allocate routine (ExAllocatePoolWithTag when NULL); a free keeps the block
 * while the list holds fewer than Depth blocks, else calls Free (ExFreePool when NULL).
 * Windows tunes the depth itself and ignores the caller's; ntio keeps up to 256 blocks.
 * Nonpaged lists work up to DISPATCH_LEVEL, paged ones up to APC_LEVEL. */
#define POOL_NX_ALLOCATION 512 /* Flags: nonpaged blocks are not executable (all of ntio's are not) */
#define LOOKASIDE_MINIMUM_BLOCK_SIZE (RTL_SIZEOF_THROUGH_FIELD(SLIST_ENTRY, Next))
typedef PVOID ALLOCATE_FUNCTION(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
typedef ALLOCATE_FUNCTION *PALLOCATE_FUNCTION;
typedef VOID FREE_FUNCTION(PVOID Buffer);
typedef FREE_FUNCTION *PFREE_FUNCTION;

typedef struct _LOOKASIDE_LIST_EX *PLOOKASIDE_LIST_EX;
typedef PVOID ALLOCATE_FUNCTION_EX(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag, PLOOKASIDE_LIST_EX Lookaside);
typedef ALLOCATE_FUNCTION_EX *PALLOCATE_FUNCTION_EX;
typedef VOID FREE_FUNCTION_EX(PVOID Buffer, PLOOKASIDE_LIST_EX Lookaside);
typedef FREE_FUNCTION_EX *PFREE_FUNCTION_EX;

/* The Allocate/Free routines of a LOOKASIDE_LIST_EX are the AllocateEx/FreeEx members. */
typedef struct _GENERAL_LOOKASIDE {
    SLIST_HEADER ListHead;
    USHORT Depth;
    USHORT MaximumDepth;
    ULONG TotalAllocates;
    ULONG AllocateMisses;
    ULONG TotalFrees;
    ULONG FreeMisses;
    POOL_TYPE Type;
    ULONG Tag;
    ULONG Size;
    union {
        PALLOCATE_FUNCTION Allocate;
        PALLOCATE_FUNCTION_EX AllocateEx;
    };
    union {
        PFREE_FUNCTION Free;
        PFREE_FUNCTION_EX FreeEx;
    };
    LIST_ENTRY ListEntry;
    ULONG LastTotalAllocates;
    ULONG LastAllocateMisses;
    ULONG Future[2];
} GENERAL_LOOKASIDE, *PGENERAL_LOOKASIDE;
/* The same fields without the cache alignment (LOOKASIDE_LIST_EX needs only 16). */
typedef GENERAL_LOOKASIDE GENERAL_LOOKASIDE_POOL, *PGENERAL_LOOKASIDE_POOL;
typedef struct _NPAGED_LOOKASIDE_LIST {
    GENERAL_LOOKASIDE L;
} DECLSPEC_CACHEALIGN NPAGED_LOOKASIDE_LIST, *PNPAGED_LOOKASIDE_LIST;
typedef struct _PAGED_LOOKASIDE_LIST {
    GENERAL_LOOKASIDE L;
} DECLSPEC_CACHEALIGN PAGED_LOOKASIDE_LIST, *PPAGED_LOOKASIDE_LIST;

NTIO_API VOID ExInitializeNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside, PALLOCATE_FUNCTION Allocate,
                                              PFREE_FUNCTION Free, ULONG Flags, SIZE_T Size, ULONG Tag, USHORT Depth);
NTIO_API VOID ExDeleteNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside);
NTIO_API PVOID ExAllocateFromNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside);
NTIO_API VOID ExFreeToNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside, PVOID Entry);
NTIO_API VOID ExInitializePagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside, PALLOCATE_FUNCTION Allocate,
                                             PFREE_FUNCTION Free, ULONG Flags, SIZE_T Size, ULONG Tag, USHORT Depth);
NTIO_API VOID ExDeletePagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside);
NTIO_API PVOID ExAllocateFromPagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside);
NTIO_API VOID ExFreeToPagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside, PVOID Entry);

/* LOOKASIDE_LIST_EX (S-EX-8..11): one list type for paged and nonpaged entries, whose
 * AllocateEx/FreeEx routines also get the list (to reach the caller's data around it with
 * CONTAINING_RECORD). ExInitializeLookasideListEx returns STATUS_INVALID_PARAMETER_4 for a
 * pool type a lookaside list cannot have (must-succeed, or bits other than paged, cache
 * aligned, session and Nx) and STATUS_INVALID_PARAMETER_5 for Flags other than 0 or one of
 * the two flags below. RAISE_ON_FAIL: the allocate routine gets the type ORed with
 * POOL_RAISE_IF_ALLOCATION_FAILURE (a failed default allocation raises); FAIL_NO_RAISE:
 * ORed with POOL_QUOTA_FAIL_INSTEAD_OF_RAISE, for an allocate routine that charges quota.
 * The routines work up to DISPATCH_LEVEL, allocations and frees of paged entries up to
 * APC_LEVEL. */
#define EX_LOOKASIDE_LIST_EX_FLAGS_RAISE_ON_FAIL 0x00000001UL
#define EX_LOOKASIDE_LIST_EX_FLAGS_FAIL_NO_RAISE 0x00000002UL
typedef struct _LOOKASIDE_LIST_EX {
    GENERAL_LOOKASIDE_POOL L;
} LOOKASIDE_LIST_EX;
NTIO_API NTSTATUS ExInitializeLookasideListEx(PLOOKASIDE_LIST_EX Lookaside, PALLOCATE_FUNCTION_EX Allocate,
                                              PFREE_FUNCTION_EX Free, POOL_TYPE PoolType, ULONG Flags, SIZE_T Size,
                                              ULONG Tag, USHORT Depth);
NTIO_API VOID ExDeleteLookasideListEx(PLOOKASIDE_LIST_EX Lookaside);
NTIO_API VOID ExFlushLookasideListEx(PLOOKASIDE_LIST_EX Lookaside);
NTIO_API PVOID ExAllocateFromLookasideListEx(PLOOKASIDE_LIST_EX Lookaside);
NTIO_API VOID ExFreeToLookasideListEx(PLOOKASIDE_LIST_EX Lookaside, PVOID Entry);

/* Work items: a routine run later at PASSIVE_LEVEL on a system worker thread. ntio runs
 * every queue type on one pool of worker threads that grows when all of them are busy
 * (docs/compat.md). ExQueueWorkItem is callable up to DISPATCH_LEVEL; the item must not
 * be queued again until its routine has started. */
typedef enum _WORK_QUEUE_TYPE {
    CriticalWorkQueue,
    DelayedWorkQueue,
    HyperCriticalWorkQueue,
    NormalWorkQueue,
    BackgroundWorkQueue,
    RealTimeWorkQueue,
    SuperCriticalWorkQueue,
    MaximumWorkQueue,
    CustomPriorityWorkQueue = 32
} WORK_QUEUE_TYPE;

typedef VOID WORKER_THREAD_ROUTINE(PVOID Parameter);
typedef WORKER_THREAD_ROUTINE *PWORKER_THREAD_ROUTINE;

typedef struct _WORK_QUEUE_ITEM {
    LIST_ENTRY List; /* Flink is NULL while the item is not queued */
    PWORKER_THREAD_ROUTINE WorkerRoutine;
    volatile PVOID Parameter;
} WORK_QUEUE_ITEM, *PWORK_QUEUE_ITEM;

#define ExInitializeWorkItem(Item, Routine, Context) \
    do {                                             \
        (Item)->WorkerRoutine = (Routine);           \
        (Item)->Parameter = (Context);               \
        (Item)->List.Flink = NULL;                   \
    } while (0)
NTIO_API VOID ExQueueWorkItem(PWORK_QUEUE_ITEM WorkItem, WORK_QUEUE_TYPE QueueType);

/* ---- run-down protection: references that can be refused from a point on, and a wait
 * for the ones taken before it (src/ex/rundown.cpp). Count is 2 per reference; bit 0 is
 * set once the run-down has begun. ---- */
typedef struct _EX_RUNDOWN_REF {
    union {
        ULONG_PTR Count;
        PVOID Ptr;
    };
} EX_RUNDOWN_REF, *PEX_RUNDOWN_REF;
NTIO_API VOID ExInitializeRundownProtection(PEX_RUNDOWN_REF RunRef);
NTIO_API VOID ExReInitializeRundownProtection(PEX_RUNDOWN_REF RunRef);
NTIO_API BOOLEAN ExAcquireRundownProtection(PEX_RUNDOWN_REF RunRef);
NTIO_API BOOLEAN ExAcquireRundownProtectionEx(PEX_RUNDOWN_REF RunRef, ULONG Count);
NTIO_API VOID ExReleaseRundownProtection(PEX_RUNDOWN_REF RunRef);
NTIO_API VOID ExReleaseRundownProtectionEx(PEX_RUNDOWN_REF RunRef, ULONG Count);
NTIO_API VOID ExWaitForRundownProtectionRelease(PEX_RUNDOWN_REF RunRef);
NTIO_API VOID ExRundownCompleted(PEX_RUNDOWN_REF RunRef);

/* ---- raising exceptions and probing user buffers (docs/compat.md, "Structured
 * exceptions"). A raise with no __try to take it stops the system as Windows does
 * (KMODE_EXCEPTION_NOT_HANDLED). ---- */
NTIO_API DECLSPEC_NORETURN VOID ExRaiseStatus(NTSTATUS Status);
NTIO_API DECLSPEC_NORETURN VOID ExRaiseAccessViolation(VOID);
NTIO_API DECLSPEC_NORETURN VOID ExRaiseDatatypeMisalignment(VOID);
NTIO_API DECLSPEC_NORETURN VOID RtlRaiseStatus(NTSTATUS Status);
NTIO_API VOID RtlRaiseException(PEXCEPTION_RECORD ExceptionRecord);

/* The highest address a user buffer may reach, as on x64 Windows. Drivers and apps
 * share one address space in ntio, so this is the only "user range" check there is. */
extern NTIO_API ULONG_PTR MmUserProbeAddress;
#define MM_USER_PROBE_ADDRESS MmUserProbeAddress
/* Raise STATUS_DATATYPE_MISALIGNMENT if Address is not a multiple of Alignment, and
 * STATUS_ACCESS_VIOLATION if the range wraps or passes MM_USER_PROBE_ADDRESS;
 * ProbeForWrite then writes each page of the range back to itself, so a read-only or
 * unmapped page raises STATUS_ACCESS_VIOLATION. A zero Length checks nothing. */
NTIO_API VOID ProbeForRead(const volatile VOID *Address, SIZE_T Length, ULONG Alignment);
NTIO_API VOID ProbeForWrite(volatile VOID *Address, SIZE_T Length, ULONG Alignment);

/* ---- EX_TIMER: system-allocated timers, Windows 8.1 (S-EXT-1..8) ---------------------
 * An EX_TIMER is opaque; it is a dispatcher object, so KeWaitForSingleObject waits for it
 * to expire. Times are 100-ns units: DueTime negative is relative, positive absolute
 * system time; Period 0 is one expiry, else 1..MAXLONG. The callback runs at
 * DISPATCH_LEVEL on the DPC thread. ntio's processors never sleep, so a no-wake timer
 * expires at its due time as any other, and a high-resolution one is exact to 100 ns. */
typedef struct _EX_TIMER *PEX_TIMER;
typedef VOID EXT_CALLBACK(PEX_TIMER Timer, PVOID Context);
typedef EXT_CALLBACK *PEXT_CALLBACK;
typedef VOID EXT_DELETE_CALLBACK(PVOID Context);
typedef EXT_DELETE_CALLBACK *PEXT_DELETE_CALLBACK;
typedef PVOID PEXT_CANCEL_PARAMETERS;

typedef struct _EXT_SET_PARAMETERS_V0 {
    ULONG Version;
    ULONG Reserved;
    LONGLONG NoWakeTolerance; /* 100-ns units, or EX_TIMER_UNLIMITED_TOLERANCE */
} EXT_SET_PARAMETERS, *PEXT_SET_PARAMETERS;
typedef EXT_SET_PARAMETERS KT2_SET_PARAMETERS, *PKT2_SET_PARAMETERS;

typedef struct _EXT_DELETE_PARAMETERS {
    ULONG Version;
    ULONG Reserved;
    PEXT_DELETE_CALLBACK DeleteCallback; /* runs once the timer object is gone */
    PVOID DeleteContext;
} EXT_DELETE_PARAMETERS, *PEXT_DELETE_PARAMETERS;

#define EX_TIMER_HIGH_RESOLUTION 0x4
#define EX_TIMER_NO_WAKE 0x8
#define EX_TIMER_NOTIFICATION (1UL << 31)
#define EX_TIMER_UNLIMITED_TOLERANCE ((LONGLONG)-1)

FORCEINLINE VOID ExInitializeSetTimerParameters(PEXT_SET_PARAMETERS Parameters) {
    Parameters->Version = 0;
    Parameters->Reserved = 0;
    Parameters->NoWakeTolerance = 0;
}
FORCEINLINE VOID ExInitializeDeleteTimerParameters(PEXT_DELETE_PARAMETERS Parameters) {
    Parameters->Version = 0;
    Parameters->Reserved = 0;
    Parameters->DeleteCallback = NULL;
    Parameters->DeleteContext = NULL;
}

/* A new timer (a synchronization timer unless EX_TIMER_NOTIFICATION), or NULL. */
NTIO_API PEX_TIMER ExAllocateTimer(PEXT_CALLBACK Callback, PVOID CallbackContext, ULONG Attributes);
/* TRUE when it cancelled a timer still set (which the new one replaces). */
NTIO_API BOOLEAN ExSetTimer(PEX_TIMER Timer, LONGLONG DueTime, LONGLONG Period, PEXT_SET_PARAMETERS Parameters);
/* TRUE when the timer was set and is cancelled; Parameters must be NULL. */
NTIO_API BOOLEAN ExCancelTimer(PEX_TIMER Timer, PEXT_CANCEL_PARAMETERS Parameters);
/* Disables the timer and frees it once no expiry or callback is left; Wait (which needs
 * Cancel) returns after that, with the delete callback run. TRUE when Cancel cancelled
 * a timer still set. */
NTIO_API BOOLEAN ExDeleteTimer(PEX_TIMER Timer, BOOLEAN Cancel, BOOLEAN Wait, PEXT_DELETE_PARAMETERS Parameters);

/* ---- system information (S-KAPI-5, S-KAPI-6) ------------------------------------------ */
#ifndef UUID_DEFINED
#define UUID_DEFINED
typedef GUID UUID;
#endif
/* A new random (version 4, RFC 4122 variant) UUID; STATUS_SUCCESS. At PASSIVE_LEVEL. */
NTIO_API NTSTATUS ExUuidCreate(UUID *Uuid);
/* IsProcessorFeaturePresent's answer, at any IRQL. */
NTIO_API BOOLEAN ExIsProcessorFeaturePresent(ULONG ProcessorFeature);

/* ---- callback objects (S-CB) ----------------------------------------------------------
 * ExCreateCallback opens the callback object named by ObjectAttributes (\Callback\Name) or,
 * with Create, makes it when there is none (AllowMultipleCallbacks then decides whether
 * more than one routine may register). *CallbackObject is referenced: ObDereferenceObject it
 * when done; the object, and its name, go with the last reference (each registration holds
 * one). Opening a missing name without Create: STATUS_OBJECT_NAME_NOT_FOUND (in a missing
 * directory STATUS_OBJECT_PATH_NOT_FOUND); no name and no Create: STATUS_UNSUCCESSFUL; a
 * name that is another kind of object: STATUS_OBJECT_TYPE_MISMATCH.
 * ExRegisterCallback returns the registration, or NULL when the object allows one routine
 * and has one. ExNotifyCallback (IRQL <= DISPATCH_LEVEL) calls every registered routine,
 * oldest first, at the caller's IRQL on the caller's thread. ExUnregisterCallback returns
 * once no call of the routine is in progress on another thread. */
typedef struct _CALLBACK_OBJECT *PCALLBACK_OBJECT;
typedef VOID CALLBACK_FUNCTION(PVOID CallbackContext, PVOID Argument1, PVOID Argument2);
typedef CALLBACK_FUNCTION *PCALLBACK_FUNCTION;
NTIO_API NTSTATUS ExCreateCallback(PCALLBACK_OBJECT *CallbackObject, POBJECT_ATTRIBUTES ObjectAttributes,
                                   BOOLEAN Create, BOOLEAN AllowMultipleCallbacks);
NTIO_API PVOID ExRegisterCallback(PCALLBACK_OBJECT CallbackObject, PCALLBACK_FUNCTION CallbackFunction,
                                  PVOID CallbackContext);
NTIO_API VOID ExUnregisterCallback(PVOID CallbackRegistration);
NTIO_API VOID ExNotifyCallback(PVOID CallbackObject, PVOID Argument1, PVOID Argument2);

NTIO_EXTERN_C_END
#endif
