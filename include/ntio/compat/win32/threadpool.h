/* ntio compat, Win32 side: the thread pool (threadpoolapiset.h, threadpoollegacyapiset.h
 * and winnt.h's TP_* types): the default pool and private pools (CreateThreadpool),
 * callback environments and cleanup groups, work, I/O, wait and timer objects, the
 * callback instance's on-return actions, TrySubmitThreadpoolCallback, and the older
 * QueueUserWorkItem, BindIoCompletionCallback, RegisterWaitForSingleObject and timer
 * queues. Part of <windows.h>. What differs from Windows: docs/compat.md, "The thread
 * pool"; the rules: docs/design.md, "The Win32 thread pool". */
#ifndef NTIO_COMPAT_WIN32_THREADPOOL_H
#define NTIO_COMPAT_WIN32_THREADPOOL_H

NTIO_EXTERN_C_BEGIN

typedef struct _TP_CALLBACK_INSTANCE TP_CALLBACK_INSTANCE, *PTP_CALLBACK_INSTANCE;
typedef struct _TP_WORK TP_WORK, *PTP_WORK;
typedef struct _TP_IO TP_IO, *PTP_IO;
typedef struct _TP_WAIT TP_WAIT, *PTP_WAIT;
typedef struct _TP_TIMER TP_TIMER, *PTP_TIMER;
typedef DWORD TP_WAIT_RESULT;
typedef struct _TP_POOL TP_POOL, *PTP_POOL;
typedef struct _TP_CLEANUP_GROUP TP_CLEANUP_GROUP, *PTP_CLEANUP_GROUP;
typedef DWORD TP_VERSION, *PTP_VERSION;

typedef VOID(NTAPI *PTP_SIMPLE_CALLBACK)(PTP_CALLBACK_INSTANCE Instance, PVOID Context);
typedef VOID(NTAPI *PTP_WORK_CALLBACK)(PTP_CALLBACK_INSTANCE Instance, PVOID Context, PTP_WORK Work);
/* IoResult is a Win32 error code (0 on success); Overlapped is the request's OVERLAPPED. */
typedef VOID(WINAPI *PTP_WIN32_IO_CALLBACK)(PTP_CALLBACK_INSTANCE Instance, PVOID Context, PVOID Overlapped,
                                            ULONG IoResult, ULONG_PTR NumberOfBytesTransferred, PTP_IO Io);
/* WaitResult: WAIT_OBJECT_0 (the object was signaled) or WAIT_TIMEOUT. */
typedef VOID(NTAPI *PTP_WAIT_CALLBACK)(PTP_CALLBACK_INSTANCE Instance, PVOID Context, PTP_WAIT Wait,
                                       TP_WAIT_RESULT WaitResult);
typedef VOID(NTAPI *PTP_TIMER_CALLBACK)(PTP_CALLBACK_INSTANCE Instance, PVOID Context, PTP_TIMER Timer);
/* TimerOrWaitFired: TRUE for a timeout or a timer, FALSE for a signaled object. */
typedef VOID(NTAPI *WAITORTIMERCALLBACK)(PVOID lpParameter, BOOLEAN TimerOrWaitFired);
typedef WAITORTIMERCALLBACK WAITORTIMERCALLBACKFUNC;
typedef VOID(NTAPI *PTP_CLEANUP_GROUP_CANCEL_CALLBACK)(PVOID ObjectContext, PVOID CleanupContext);

typedef enum _TP_CALLBACK_PRIORITY {
    TP_CALLBACK_PRIORITY_HIGH,
    TP_CALLBACK_PRIORITY_NORMAL,
    TP_CALLBACK_PRIORITY_LOW,
    TP_CALLBACK_PRIORITY_INVALID,
    TP_CALLBACK_PRIORITY_COUNT = TP_CALLBACK_PRIORITY_INVALID
} TP_CALLBACK_PRIORITY;

/* The callback environment, laid out as the SDK's TP_CALLBACK_ENVIRON_V3, and its
 * helpers, inline as in the SDK: objects created with it run on its Pool (NULL: the
 * default pool), join its CleanupGroup, and start in the order of CallbackPriority.
 * LongFunction, Persistent and RaceDll are kept and change nothing (docs/compat.md);
 * ActivationContext and FinalizationCallback are ignored. */
typedef struct _TP_CALLBACK_ENVIRON_V3 {
    TP_VERSION Version;
    PTP_POOL Pool;
    PTP_CLEANUP_GROUP CleanupGroup;
    PTP_CLEANUP_GROUP_CANCEL_CALLBACK CleanupGroupCancelCallback;
    PVOID RaceDll;
    struct _ACTIVATION_CONTEXT *ActivationContext;
    PTP_SIMPLE_CALLBACK FinalizationCallback;
    union {
        DWORD Flags;
        struct {
            DWORD LongFunction : 1;
            DWORD Persistent : 1;
            DWORD Private : 30;
        } s;
    } u;
    TP_CALLBACK_PRIORITY CallbackPriority;
    DWORD Size;
} TP_CALLBACK_ENVIRON_V3, TP_CALLBACK_ENVIRON, *PTP_CALLBACK_ENVIRON;

static inline VOID InitializeThreadpoolEnvironment(PTP_CALLBACK_ENVIRON pcbe) {
    pcbe->Version = 3;
    pcbe->Pool = NULL;
    pcbe->CleanupGroup = NULL;
    pcbe->CleanupGroupCancelCallback = NULL;
    pcbe->RaceDll = NULL;
    pcbe->ActivationContext = NULL;
    pcbe->FinalizationCallback = NULL;
    pcbe->u.Flags = 0;
    pcbe->CallbackPriority = TP_CALLBACK_PRIORITY_NORMAL;
    pcbe->Size = sizeof(TP_CALLBACK_ENVIRON_V3);
}
static inline VOID DestroyThreadpoolEnvironment(PTP_CALLBACK_ENVIRON pcbe) { (void)pcbe; }
static inline VOID SetThreadpoolCallbackPool(PTP_CALLBACK_ENVIRON pcbe, PTP_POOL ptpp) { pcbe->Pool = ptpp; }
static inline VOID SetThreadpoolCallbackCleanupGroup(PTP_CALLBACK_ENVIRON pcbe, PTP_CLEANUP_GROUP ptpcg,
                                                     PTP_CLEANUP_GROUP_CANCEL_CALLBACK pfng) {
    pcbe->CleanupGroup = ptpcg;
    pcbe->CleanupGroupCancelCallback = pfng;
}
static inline VOID SetThreadpoolCallbackRunsLong(PTP_CALLBACK_ENVIRON pcbe) { pcbe->u.s.LongFunction = 1; }
static inline VOID SetThreadpoolCallbackLibrary(PTP_CALLBACK_ENVIRON pcbe, PVOID mod) { pcbe->RaceDll = mod; }
static inline VOID SetThreadpoolCallbackPriority(PTP_CALLBACK_ENVIRON pcbe, TP_CALLBACK_PRIORITY priority) {
    pcbe->CallbackPriority = priority;
}
static inline VOID SetThreadpoolCallbackPersistent(PTP_CALLBACK_ENVIRON pcbe) { pcbe->u.s.Persistent = 1; }

/* Private pools: workers start on demand up to the maximum (at first the default
 * pool's); SetThreadpoolThreadMinimum starts that many at once. CloseThreadpool frees
 * the pool once its last object is freed. The stack size is the workers'. */
typedef struct _TP_POOL_STACK_INFORMATION {
    SIZE_T StackReserve;
    SIZE_T StackCommit;
} TP_POOL_STACK_INFORMATION, *PTP_POOL_STACK_INFORMATION;
NTIO_API PTP_POOL CreateThreadpool(PVOID reserved);
NTIO_API VOID CloseThreadpool(PTP_POOL ptpp);
NTIO_API VOID SetThreadpoolThreadMaximum(PTP_POOL ptpp, DWORD cthrdMost);
NTIO_API BOOL SetThreadpoolThreadMinimum(PTP_POOL ptpp, DWORD cthrdMic);
NTIO_API BOOL SetThreadpoolStackInformation(PTP_POOL ptpp, PTP_POOL_STACK_INFORMATION ptpsi);
NTIO_API BOOL QueryThreadpoolStackInformation(PTP_POOL ptpp, PTP_POOL_STACK_INFORMATION ptpsi);

/* Cleanup groups: work, I/O, wait and timer objects and one-shot callbacks created with
 * an environment naming the group are its members until freed.
 * CloseThreadpoolCleanupGroupMembers closes every member (the program must not close
 * them again), with fCancelPendingCallbacks drops their callbacks not started and calls
 * the environment's CleanupGroupCancelCallback(object context, pvCleanupContext) for
 * each member the program had not closed, and returns once no member's callback runs. */
NTIO_API PTP_CLEANUP_GROUP CreateThreadpoolCleanupGroup(void);
NTIO_API VOID CloseThreadpoolCleanupGroupMembers(PTP_CLEANUP_GROUP ptpcg, BOOL fCancelPendingCallbacks,
                                                 PVOID pvCleanupContext);
NTIO_API VOID CloseThreadpoolCleanupGroup(PTP_CLEANUP_GROUP ptpcg);

/* Work objects: each SubmitThreadpoolWork runs the callback once. */
NTIO_API PTP_WORK CreateThreadpoolWork(PTP_WORK_CALLBACK pfnwk, PVOID pv, PTP_CALLBACK_ENVIRON pcbe);
NTIO_API VOID SubmitThreadpoolWork(PTP_WORK pwk);
NTIO_API VOID WaitForThreadpoolWorkCallbacks(PTP_WORK pwk, BOOL fCancelPendingCallbacks);
NTIO_API VOID CloseThreadpoolWork(PTP_WORK pwk);
NTIO_API BOOL TrySubmitThreadpoolCallback(PTP_SIMPLE_CALLBACK pfns, PVOID pv, PTP_CALLBACK_ENVIRON pcbe);

/* I/O objects: the file (opened with FILE_FLAG_OVERLAPPED) is bound to the pool's
 * completion port; StartThreadpoolIo before each operation, CancelThreadpoolIo when one
 * did not start (it failed at once, or succeeded at once with
 * FILE_SKIP_COMPLETION_PORT_ON_SUCCESS). */
NTIO_API PTP_IO CreateThreadpoolIo(HANDLE fl, PTP_WIN32_IO_CALLBACK pfnio, PVOID pv, PTP_CALLBACK_ENVIRON pcbe);
NTIO_API VOID StartThreadpoolIo(PTP_IO pio);
NTIO_API VOID CancelThreadpoolIo(PTP_IO pio);
NTIO_API VOID WaitForThreadpoolIoCallbacks(PTP_IO pio, BOOL fCancelPendingCallbacks);
NTIO_API VOID CloseThreadpoolIo(PTP_IO pio);

/* Wait objects: each SetThreadpoolWait waits once on h (NULL stops the wait) until it is
 * signaled or pftTimeout (NULL: never; 0: at once after a look at h; negative: relative
 * 100 ns; positive: absolute UTC FILETIME), then the callback runs once. The handle must
 * stay open while the wait is pending. The Ex form returns whether a pending wait was
 * replaced. Served by the pool's waiter threads, 63 waits each. */
NTIO_API PTP_WAIT CreateThreadpoolWait(PTP_WAIT_CALLBACK pfnwa, PVOID pv, PTP_CALLBACK_ENVIRON pcbe);
NTIO_API VOID SetThreadpoolWait(PTP_WAIT pwa, HANDLE h, PFILETIME pftTimeout);
NTIO_API BOOL SetThreadpoolWaitEx(PTP_WAIT pwa, HANDLE h, PFILETIME pftTimeout, PVOID Reserved);
NTIO_API VOID WaitForThreadpoolWaitCallbacks(PTP_WAIT pwa, BOOL fCancelPendingCallbacks);
NTIO_API VOID CloseThreadpoolWait(PTP_WAIT pwa);

/* Timer objects on the runtime's clock (exact under --virtual-time): pftDueTime as above
 * (NULL stops the timer), msPeriod 0 for one expiry; msWindowLength is accepted and
 * ignored (expiries are never delayed to batch them). The Ex form returns whether the
 * timer was set. */
NTIO_API PTP_TIMER CreateThreadpoolTimer(PTP_TIMER_CALLBACK pfnti, PVOID pv, PTP_CALLBACK_ENVIRON pcbe);
NTIO_API VOID SetThreadpoolTimer(PTP_TIMER pti, PFILETIME pftDueTime, DWORD msPeriod, DWORD msWindowLength);
NTIO_API BOOL SetThreadpoolTimerEx(PTP_TIMER pti, PFILETIME pftDueTime, DWORD msPeriod, DWORD msWindowLength);
NTIO_API BOOL IsThreadpoolTimerSet(PTP_TIMER pti);
NTIO_API VOID WaitForThreadpoolTimerCallbacks(PTP_TIMER pti, BOOL fCancelPendingCallbacks);
NTIO_API VOID CloseThreadpoolTimer(PTP_TIMER pti);

/* What a callback asks to happen once it returns, and its hint that it runs long. */
NTIO_API BOOL CallbackMayRunLong(PTP_CALLBACK_INSTANCE pci);
NTIO_API VOID SetEventWhenCallbackReturns(PTP_CALLBACK_INSTANCE pci, HANDLE evt);
NTIO_API VOID ReleaseSemaphoreWhenCallbackReturns(PTP_CALLBACK_INSTANCE pci, HANDLE sem, DWORD crel);
NTIO_API VOID ReleaseMutexWhenCallbackReturns(PTP_CALLBACK_INSTANCE pci, HANDLE mut);
NTIO_API VOID LeaveCriticalSectionWhenCallbackReturns(PTP_CALLBACK_INSTANCE pci, PCRITICAL_SECTION pcs);
NTIO_API VOID DisassociateCurrentThreadFromCallback(PTP_CALLBACK_INSTANCE pci);

/* The WT_* flags. WT_EXECUTEONLYONCE: one callback (registered waits, queue timers);
 * WT_EXECUTEINWAITTHREAD (registered waits) and WT_EXECUTEINTIMERTHREAD (queue timers):
 * the callback runs on the thread serving the wait or the timers, not on a worker. The
 * others are accepted and change nothing here (docs/compat.md says why). */
#define WT_EXECUTEDEFAULT 0x00000000
#define WT_EXECUTEINIOTHREAD 0x00000001
#define WT_EXECUTEINUITHREAD 0x00000002
#define WT_EXECUTEINWAITTHREAD 0x00000004
#define WT_EXECUTEONLYONCE 0x00000008
#define WT_EXECUTEINTIMERTHREAD 0x00000020
#define WT_EXECUTELONGFUNCTION 0x00000010
#define WT_EXECUTEINPERSISTENTIOTHREAD 0x00000040
#define WT_EXECUTEINPERSISTENTTHREAD 0x00000080
#define WT_TRANSFER_IMPERSONATION 0x00000100
NTIO_API BOOL QueueUserWorkItem(LPTHREAD_START_ROUTINE Function, PVOID Context, ULONG Flags);

/* Every completed request on the file runs Function(error, bytes, overlapped) on the
 * pool; the binding lasts as long as the file. */
NTIO_API BOOL BindIoCompletionCallback(HANDLE FileHandle, LPOVERLAPPED_COMPLETION_ROUTINE Function, ULONG Flags);

/* The older registered waits: Callback(Context, TimerOrWaitFired) each time hObject is
 * signaled or dwMilliseconds pass, waiting again after each unless WT_EXECUTEONLYONCE.
 * UnregisterWait(Ex) stops it and drops callbacks not started; CompletionEvent NULL:
 * return at once, FALSE with ERROR_IO_PENDING if a callback still runs;
 * INVALID_HANDLE_VALUE: wait for running callbacks; an event: set once they are done. */
NTIO_API BOOL RegisterWaitForSingleObject(PHANDLE phNewWaitObject, HANDLE hObject, WAITORTIMERCALLBACK Callback,
                                          PVOID Context, ULONG dwMilliseconds, ULONG dwFlags);
NTIO_API BOOL UnregisterWait(HANDLE WaitHandle);
NTIO_API BOOL UnregisterWaitEx(HANDLE WaitHandle, HANDLE CompletionEvent);
/* Timer queues: NULL is the default queue. Timers run Callback(Parameter, TRUE) DueTime
 * ms after creation, then every Period ms (0 or WT_EXECUTEONLYONCE: once), on the
 * runtime's clock. ChangeTimerQueueTimer re-times a timer (not a one-shot one that has
 * expired). DeleteTimerQueueTimer's and DeleteTimerQueueEx's CompletionEvent: NULL returns
 * at once, INVALID_HANDLE_VALUE waits for running callbacks, an event is set once they
 * are done; DeleteTimerQueueTimer then fails with ERROR_IO_PENDING while a callback
 * still runs (as when called from the timer's own callback with NULL).
 * DeleteTimerQueue(q) is DeleteTimerQueueEx(q, NULL). */
NTIO_API HANDLE CreateTimerQueue(void);
NTIO_API BOOL DeleteTimerQueue(HANDLE TimerQueue);
NTIO_API BOOL DeleteTimerQueueEx(HANDLE TimerQueue, HANDLE CompletionEvent);
NTIO_API BOOL CreateTimerQueueTimer(PHANDLE phNewTimer, HANDLE TimerQueue, WAITORTIMERCALLBACK Callback,
                                    PVOID Parameter, DWORD DueTime, DWORD Period, ULONG Flags);
NTIO_API BOOL ChangeTimerQueueTimer(HANDLE TimerQueue, HANDLE Timer, ULONG DueTime, ULONG Period);
NTIO_API BOOL DeleteTimerQueueTimer(HANDLE TimerQueue, HANDLE Timer, HANDLE CompletionEvent);

NTIO_EXTERN_C_END
#endif
