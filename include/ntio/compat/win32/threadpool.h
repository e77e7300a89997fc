/* ntio compat, Win32 side: the default thread pool (threadpoolapiset.h and winnt.h's
 * TP_* types): work, I/O, wait and timer objects, the callback instance's on-return
 * actions, TrySubmitThreadpoolCallback, and the older QueueUserWorkItem,
 * BindIoCompletionCallback, RegisterWaitForSingleObject and default-queue timers. Part of
 * <windows.h>. One process-wide pool: no CreateThreadpool, no cleanup groups (docs/compat.md, design.md "The Win32 thread pool"). */
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

/* The callback environment. ntio accepts one whose Pool and CleanupGroup are NULL (the
 * default pool, no group); the other fields are kept and ignored. */
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
static inline VOID SetThreadpoolCallbackRunsLong(PTP_CALLBACK_ENVIRON pcbe) { pcbe->u.s.LongFunction = 1; }
static inline VOID SetThreadpoolCallbackPriority(PTP_CALLBACK_ENVIRON pcbe, TP_CALLBACK_PRIORITY priority) {
    pcbe->CallbackPriority = priority;
}

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

/* QueueUserWorkItem's and RegisterWaitForSingleObject's flags: accepted; every callback
 * runs on the one pool; WT_EXECUTEONLYONCE is honoured by RegisterWaitForSingleObject
 * and CreateTimerQueueTimer. */
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
/* Timer-queue timers on the default queue only (TimerQueue NULL): DueTime and Period
 * in ms; DeleteTimerQueueTimer's CompletionEvent as UnregisterWaitEx's. */
NTIO_API BOOL CreateTimerQueueTimer(PHANDLE phNewTimer, HANDLE TimerQueue, WAITORTIMERCALLBACK Callback,
                                    PVOID Parameter, DWORD DueTime, DWORD Period, ULONG Flags);
NTIO_API BOOL ChangeTimerQueueTimer(HANDLE TimerQueue, HANDLE Timer, ULONG DueTime, ULONG Period);
NTIO_API BOOL DeleteTimerQueueTimer(HANDLE TimerQueue, HANDLE Timer, HANDLE CompletionEvent);

NTIO_EXTERN_C_END
#endif
