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

NTIO_API PVOID ExAllocatePoolWithTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
NTIO_API PVOID ExAllocatePool2(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag);
NTIO_API PVOID ExAllocatePoolZero(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
NTIO_API PVOID ExAllocatePoolUninitialized(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
NTIO_API PVOID ExAllocatePool(POOL_TYPE PoolType, SIZE_T NumberOfBytes);
NTIO_API VOID ExFreePoolWithTag(PVOID P, ULONG Tag);
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

NTIO_EXTERN_C_END
#endif
