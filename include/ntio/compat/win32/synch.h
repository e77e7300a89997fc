/* ntio compat, Win32 side: handles, events, semaphores, mutexes, waits,
 * threads, time and last-error. Part of <windows.h>. */
#ifndef NTIO_COMPAT_WIN32_SYNCH_H
#define NTIO_COMPAT_WIN32_SYNCH_H

NTIO_EXTERN_C_BEGIN

typedef struct _SECURITY_ATTRIBUTES {
    DWORD nLength;
    LPVOID lpSecurityDescriptor;
    BOOL bInheritHandle;
} SECURITY_ATTRIBUTES, *PSECURITY_ATTRIBUTES, *LPSECURITY_ATTRIBUTES;

typedef struct _FILETIME {
    DWORD dwLowDateTime;
    DWORD dwHighDateTime;
} FILETIME, *PFILETIME, *LPFILETIME;

typedef DWORD(WINAPI *PTHREAD_START_ROUTINE)(LPVOID lpThreadParameter);
typedef PTHREAD_START_ROUTINE LPTHREAD_START_ROUTINE;

#define INVALID_HANDLE_VALUE ((HANDLE)(LONG_PTR)-1)
#define INFINITE 0xFFFFFFFFU
#define WAIT_OBJECT_0 0x00000000U
#define WAIT_ABANDONED 0x00000080U
#define WAIT_ABANDONED_0 0x00000080U
#define WAIT_IO_COMPLETION 0x000000C0U
#define WAIT_TIMEOUT 258U
#define WAIT_FAILED 0xFFFFFFFFU
#define STILL_ACTIVE 259U
#define CREATE_SUSPENDED 0x00000004U
#define STACK_SIZE_PARAM_IS_A_RESERVATION 0x00010000U
#ifndef DUPLICATE_CLOSE_SOURCE
#define DUPLICATE_CLOSE_SOURCE 0x00000001U
#define DUPLICATE_SAME_ACCESS 0x00000002U
#endif
#define HANDLE_FLAG_INHERIT 0x00000001U
#define HANDLE_FLAG_PROTECT_FROM_CLOSE 0x00000002U
#define CREATE_EVENT_MANUAL_RESET 0x00000001U
#define CREATE_EVENT_INITIAL_SET 0x00000002U
#define CREATE_MUTEX_INITIAL_OWNER 0x00000001U

/* Last error */
NTIO_API DWORD GetLastError(VOID);
NTIO_API VOID SetLastError(DWORD dwErrCode);

/* Handles */
NTIO_API BOOL CloseHandle(HANDLE hObject);
NTIO_API BOOL DuplicateHandle(HANDLE hSourceProcessHandle, HANDLE hSourceHandle, HANDLE hTargetProcessHandle,
                              LPHANDLE lpTargetHandle, DWORD dwDesiredAccess, BOOL bInheritHandle, DWORD dwOptions);
/* A handle's HANDLE_FLAG_INHERIT and HANDLE_FLAG_PROTECT_FROM_CLOSE (docs/design.md, S-OBH).
 * A protected handle's CloseHandle fails with ERROR_INVALID_HANDLE and leaves it open. */
NTIO_API BOOL GetHandleInformation(HANDLE hObject, LPDWORD lpdwFlags);
NTIO_API BOOL SetHandleInformation(HANDLE hObject, DWORD dwMask, DWORD dwFlags);

/* Events */
NTIO_API HANDLE CreateEventA(LPSECURITY_ATTRIBUTES lpEventAttributes, BOOL bManualReset, BOOL bInitialState, LPCSTR lpName);
NTIO_API HANDLE CreateEventW(LPSECURITY_ATTRIBUTES lpEventAttributes, BOOL bManualReset, BOOL bInitialState, LPCWSTR lpName);
NTIO_API HANDLE CreateEventExA(LPSECURITY_ATTRIBUTES lpEventAttributes, LPCSTR lpName, DWORD dwFlags, DWORD dwDesiredAccess);
NTIO_API HANDLE CreateEventExW(LPSECURITY_ATTRIBUTES lpEventAttributes, LPCWSTR lpName, DWORD dwFlags, DWORD dwDesiredAccess);
NTIO_API HANDLE OpenEventA(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCSTR lpName);
NTIO_API HANDLE OpenEventW(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCWSTR lpName);
NTIO_API BOOL SetEvent(HANDLE hEvent);
NTIO_API BOOL ResetEvent(HANDLE hEvent);
NTIO_API BOOL PulseEvent(HANDLE hEvent);

/* Semaphores and mutexes */
NTIO_API HANDLE CreateSemaphoreA(LPSECURITY_ATTRIBUTES lpAttributes, LONG lInitialCount, LONG lMaximumCount, LPCSTR lpName);
NTIO_API HANDLE CreateSemaphoreW(LPSECURITY_ATTRIBUTES lpAttributes, LONG lInitialCount, LONG lMaximumCount, LPCWSTR lpName);
NTIO_API HANDLE OpenSemaphoreA(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCSTR lpName);
NTIO_API HANDLE OpenSemaphoreW(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCWSTR lpName);
NTIO_API BOOL ReleaseSemaphore(HANDLE hSemaphore, LONG lReleaseCount, LPLONG lpPreviousCount);
NTIO_API HANDLE CreateMutexA(LPSECURITY_ATTRIBUTES lpMutexAttributes, BOOL bInitialOwner, LPCSTR lpName);
NTIO_API HANDLE CreateMutexW(LPSECURITY_ATTRIBUTES lpMutexAttributes, BOOL bInitialOwner, LPCWSTR lpName);
NTIO_API HANDLE OpenMutexA(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCSTR lpName);
NTIO_API HANDLE OpenMutexW(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCWSTR lpName);
NTIO_API BOOL ReleaseMutex(HANDLE hMutex);

/* Waits */
NTIO_API DWORD WaitForSingleObject(HANDLE hHandle, DWORD dwMilliseconds);
NTIO_API DWORD WaitForSingleObjectEx(HANDLE hHandle, DWORD dwMilliseconds, BOOL bAlertable);
NTIO_API DWORD WaitForMultipleObjects(DWORD nCount, const HANDLE *lpHandles, BOOL bWaitAll, DWORD dwMilliseconds);
NTIO_API DWORD WaitForMultipleObjectsEx(DWORD nCount, const HANDLE *lpHandles, BOOL bWaitAll, DWORD dwMilliseconds, BOOL bAlertable);
/* Signals hObjectToSignal (an event, a semaphore by one, a mutex) and waits on
 * hObjectToWait; not as one atomic step (docs/compat.md). */
NTIO_API DWORD SignalObjectAndWait(HANDLE hObjectToSignal, HANDLE hObjectToWaitOn, DWORD dwMilliseconds,
                                   BOOL bAlertable);
NTIO_API VOID Sleep(DWORD dwMilliseconds);
NTIO_API DWORD SleepEx(DWORD dwMilliseconds, BOOL bAlertable);
/* User APCs: the routine runs in hThread when that thread next waits alertably
 * (SleepEx, WaitFor*ObjectsEx, GetOverlappedResultEx, GetQueuedCompletionStatusEx with
 * bAlertable TRUE), which then returns WAIT_IO_COMPLETION. Nonzero on success; 0 with
 * ERROR_GEN_FAILURE once the thread has ended. */
typedef VOID(WINAPI *PAPCFUNC)(ULONG_PTR Parameter);
NTIO_API DWORD QueueUserAPC(PAPCFUNC pfnAPC, HANDLE hThread, ULONG_PTR dwData);

/* Waitable timers on the runtime's clock (exact under --virtual-time): a handle to wait
 * on, notification (manual-reset) or synchronization; the completion routine is a user
 * APC to the thread that set the timer, run in its next alertable wait with the expiry's
 * UTC FILETIME. fResume is not supported (ERROR_NOT_SUPPORTED as the last error of a
 * success). docs/design.md S-WT-1..6. */
#define CREATE_WAITABLE_TIMER_MANUAL_RESET 0x00000001U
#define CREATE_WAITABLE_TIMER_HIGH_RESOLUTION 0x00000002U
typedef VOID(WINAPI *PTIMERAPCROUTINE)(LPVOID lpArgToCompletionRoutine, DWORD dwTimerLowValue, DWORD dwTimerHighValue);
typedef struct _REASON_CONTEXT {
    ULONG Version;
    DWORD Flags;
    union {
        struct {
            HANDLE LocalizedReasonModule;
            ULONG LocalizedReasonId;
            ULONG ReasonStringCount;
            LPWSTR *ReasonStrings;
        } Detailed;
        LPWSTR SimpleReasonString;
    } Reason;
} REASON_CONTEXT, *PREASON_CONTEXT;
NTIO_API HANDLE CreateWaitableTimerA(LPSECURITY_ATTRIBUTES lpTimerAttributes, BOOL bManualReset, LPCSTR lpTimerName);
NTIO_API HANDLE CreateWaitableTimerW(LPSECURITY_ATTRIBUTES lpTimerAttributes, BOOL bManualReset, LPCWSTR lpTimerName);
NTIO_API HANDLE CreateWaitableTimerExA(LPSECURITY_ATTRIBUTES lpTimerAttributes, LPCSTR lpTimerName, DWORD dwFlags,
                                       DWORD dwDesiredAccess);
NTIO_API HANDLE CreateWaitableTimerExW(LPSECURITY_ATTRIBUTES lpTimerAttributes, LPCWSTR lpTimerName, DWORD dwFlags,
                                       DWORD dwDesiredAccess);
NTIO_API HANDLE OpenWaitableTimerA(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCSTR lpTimerName);
NTIO_API HANDLE OpenWaitableTimerW(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCWSTR lpTimerName);
NTIO_API BOOL SetWaitableTimer(HANDLE hTimer, const LARGE_INTEGER *lpDueTime, LONG lPeriod,
                               PTIMERAPCROUTINE pfnCompletionRoutine, LPVOID lpArgToCompletionRoutine, BOOL fResume);
/* WakeContext and TolerableDelay are accepted and ignored: the timer expires on time. */
NTIO_API BOOL SetWaitableTimerEx(HANDLE hTimer, const LARGE_INTEGER *lpDueTime, LONG lPeriod,
                                 PTIMERAPCROUTINE pfnCompletionRoutine, LPVOID lpArgToCompletionRoutine,
                                 PREASON_CONTEXT WakeContext, ULONG TolerableDelay);
NTIO_API BOOL CancelWaitableTimer(HANDLE hTimer);

/* Locks in the application's memory: critical sections, slim reader/writer locks,
 * condition variables, one-time initialization and WaitOnAddress. Uncontended, they
 * stay in user memory; a thread that must wait blocks in ntio's dispatcher, so the
 * virtual clock moves while it waits. The structures have Windows's sizes; the meaning
 * of their fields is ntio's own (docs/compat.md). */
typedef struct _RTL_CRITICAL_SECTION_DEBUG *PRTL_CRITICAL_SECTION_DEBUG;
typedef struct _RTL_CRITICAL_SECTION {
    PRTL_CRITICAL_SECTION_DEBUG DebugInfo;
    LONG LockCount;
    LONG RecursionCount;
    HANDLE OwningThread;
    HANDLE LockSemaphore;
    ULONG_PTR SpinCount;
} RTL_CRITICAL_SECTION, *PRTL_CRITICAL_SECTION, CRITICAL_SECTION, *PCRITICAL_SECTION, *LPCRITICAL_SECTION;
typedef struct _RTL_SRWLOCK {
    PVOID Ptr;
} RTL_SRWLOCK, SRWLOCK, *PSRWLOCK;
#define RTL_SRWLOCK_INIT {0}
#define SRWLOCK_INIT RTL_SRWLOCK_INIT
typedef struct _RTL_CONDITION_VARIABLE {
    PVOID Ptr;
} RTL_CONDITION_VARIABLE, CONDITION_VARIABLE, *PCONDITION_VARIABLE;
#define RTL_CONDITION_VARIABLE_INIT {0}
#define CONDITION_VARIABLE_INIT RTL_CONDITION_VARIABLE_INIT
#define CONDITION_VARIABLE_LOCKMODE_SHARED 0x1U
typedef union _RTL_RUN_ONCE {
    PVOID Ptr;
} RTL_RUN_ONCE, INIT_ONCE, *PINIT_ONCE, *LPINIT_ONCE;
#define RTL_RUN_ONCE_INIT {0}
#define INIT_ONCE_STATIC_INIT RTL_RUN_ONCE_INIT
#define INIT_ONCE_CTX_RESERVED_BITS 2
typedef BOOL(WINAPI *PINIT_ONCE_FN)(PINIT_ONCE InitOnce, PVOID Parameter, PVOID *Context);

NTIO_API VOID InitializeCriticalSection(LPCRITICAL_SECTION lpCriticalSection);
NTIO_API BOOL InitializeCriticalSectionAndSpinCount(LPCRITICAL_SECTION lpCriticalSection, DWORD dwSpinCount);
NTIO_API BOOL InitializeCriticalSectionEx(LPCRITICAL_SECTION lpCriticalSection, DWORD dwSpinCount, DWORD Flags);
NTIO_API DWORD SetCriticalSectionSpinCount(LPCRITICAL_SECTION lpCriticalSection, DWORD dwSpinCount);
NTIO_API VOID EnterCriticalSection(LPCRITICAL_SECTION lpCriticalSection);
NTIO_API BOOL TryEnterCriticalSection(LPCRITICAL_SECTION lpCriticalSection);
NTIO_API VOID LeaveCriticalSection(LPCRITICAL_SECTION lpCriticalSection);
NTIO_API VOID DeleteCriticalSection(LPCRITICAL_SECTION lpCriticalSection);
NTIO_API VOID InitializeSRWLock(PSRWLOCK SRWLock);
NTIO_API VOID AcquireSRWLockExclusive(PSRWLOCK SRWLock);
NTIO_API VOID AcquireSRWLockShared(PSRWLOCK SRWLock);
NTIO_API VOID ReleaseSRWLockExclusive(PSRWLOCK SRWLock);
NTIO_API VOID ReleaseSRWLockShared(PSRWLOCK SRWLock);
NTIO_API BOOLEAN TryAcquireSRWLockExclusive(PSRWLOCK SRWLock);
NTIO_API BOOLEAN TryAcquireSRWLockShared(PSRWLOCK SRWLock);
NTIO_API VOID InitializeConditionVariable(PCONDITION_VARIABLE ConditionVariable);
NTIO_API BOOL SleepConditionVariableCS(PCONDITION_VARIABLE ConditionVariable, PCRITICAL_SECTION CriticalSection,
                                       DWORD dwMilliseconds);
NTIO_API BOOL SleepConditionVariableSRW(PCONDITION_VARIABLE ConditionVariable, PSRWLOCK SRWLock, DWORD dwMilliseconds,
                                        ULONG Flags);
NTIO_API VOID WakeConditionVariable(PCONDITION_VARIABLE ConditionVariable);
NTIO_API VOID WakeAllConditionVariable(PCONDITION_VARIABLE ConditionVariable);
NTIO_API VOID InitOnceInitialize(PINIT_ONCE InitOnce);
NTIO_API BOOL InitOnceExecuteOnce(PINIT_ONCE InitOnce, PINIT_ONCE_FN InitFn, PVOID Parameter, LPVOID *Context);
NTIO_API BOOL WaitOnAddress(volatile VOID *Address, PVOID CompareAddress, SIZE_T AddressSize, DWORD dwMilliseconds);
NTIO_API VOID WakeByAddressSingle(PVOID Address);
NTIO_API VOID WakeByAddressAll(PVOID Address);

/* Threads */
NTIO_API HANDLE CreateThread(LPSECURITY_ATTRIBUTES lpThreadAttributes, SIZE_T dwStackSize,
                             LPTHREAD_START_ROUTINE lpStartAddress, LPVOID lpParameter, DWORD dwCreationFlags,
                             LPDWORD lpThreadId);
NTIO_API DECLSPEC_NORETURN VOID ExitThread(DWORD dwExitCode);
/* Ends the process as exit() does (drivers unload, ntio's report runs); Linux keeps the
 * low 8 bits of the code as the exit status. */
NTIO_API DECLSPEC_NORETURN VOID ExitProcess(UINT uExitCode);
NTIO_API BOOL GetExitCodeThread(HANDLE hThread, LPDWORD lpExitCode);
NTIO_API DWORD ResumeThread(HANDLE hThread);
NTIO_API DWORD GetCurrentThreadId(VOID);
NTIO_API DWORD GetCurrentProcessId(VOID);
NTIO_API DWORD GetThreadId(HANDLE Thread);
/* A handle to a thread of the process by its id (docs/design.md, S-W32T-1); a thread that
 * does not exist is ERROR_INVALID_PARAMETER. The access is granted as asked, with the
 * limited rights the full ones imply, as on Windows. */
NTIO_API HANDLE OpenThread(DWORD dwDesiredAccess, BOOL bInheritHandle, DWORD dwThreadId);
/* Thread priorities relative to the process's class (NORMAL_PRIORITY_CLASS, base 8), kept
 * in the thread's KPRIORITY as KeSetPriorityThread keeps it; like it, the host's scheduler
 * never sees them (S-W32T-2). */
#define THREAD_PRIORITY_IDLE (-15)
#define THREAD_PRIORITY_LOWEST (-2)
#define THREAD_PRIORITY_BELOW_NORMAL (-1)
#define THREAD_PRIORITY_NORMAL 0
#define THREAD_PRIORITY_ABOVE_NORMAL 1
#define THREAD_PRIORITY_HIGHEST 2
#define THREAD_PRIORITY_TIME_CRITICAL 15
#define THREAD_PRIORITY_ERROR_RETURN (0x7fffffff)
NTIO_API BOOL SetThreadPriority(HANDLE hThread, int nPriority);
NTIO_API int GetThreadPriority(HANDLE hThread);
NTIO_API HANDLE GetCurrentThread(VOID);
NTIO_API HANDLE GetCurrentProcess(VOID);
NTIO_API BOOL SwitchToThread(VOID);

/* Time (the runtime clock: real, or virtual under `ntio run --virtual-time`) */
NTIO_API DWORD GetTickCount(VOID);
NTIO_API ULONGLONG GetTickCount64(VOID);
NTIO_API BOOL QueryPerformanceCounter(LARGE_INTEGER *lpPerformanceCount);
NTIO_API BOOL QueryPerformanceFrequency(LARGE_INTEGER *lpFrequency);
NTIO_API VOID GetSystemTimeAsFileTime(LPFILETIME lpSystemTimeAsFileTime);
/* Calendar time on the runtime's clock (virtual time moves it too): UTC, and the host's
 * local time zone, as Windows uses the system's (S-W32T-3). */
typedef struct _SYSTEMTIME {
    WORD wYear;
    WORD wMonth;
    WORD wDayOfWeek;
    WORD wDay;
    WORD wHour;
    WORD wMinute;
    WORD wSecond;
    WORD wMilliseconds;
} SYSTEMTIME, *PSYSTEMTIME, *LPSYSTEMTIME;
NTIO_API VOID GetSystemTime(LPSYSTEMTIME lpSystemTime);
NTIO_API VOID GetLocalTime(LPSYSTEMTIME lpSystemTime);
NTIO_API BOOL FileTimeToSystemTime(const FILETIME *lpFileTime, LPSYSTEMTIME lpSystemTime);
NTIO_API BOOL SystemTimeToFileTime(const SYSTEMTIME *lpSystemTime, LPFILETIME lpFileTime);
NTIO_API BOOL FileTimeToLocalFileTime(const FILETIME *lpFileTime, LPFILETIME lpLocalFileTime);
NTIO_API BOOL LocalFileTimeToFileTime(const FILETIME *lpLocalFileTime, LPFILETIME lpFileTime);

/* Debug output: the same channel as the kernel's DbgPrint. */
NTIO_API VOID OutputDebugStringA(LPCSTR lpOutputString);
NTIO_API VOID OutputDebugStringW(LPCWSTR lpOutputString);

#ifdef UNICODE
#define CreateEvent CreateEventW
#define CreateEventEx CreateEventExW
#define OpenEvent OpenEventW
#define CreateSemaphore CreateSemaphoreW
#define OpenSemaphore OpenSemaphoreW
#define CreateMutex CreateMutexW
#define OpenMutex OpenMutexW
#define CreateWaitableTimer CreateWaitableTimerW
#define CreateWaitableTimerEx CreateWaitableTimerExW
#define OpenWaitableTimer OpenWaitableTimerW
#define OutputDebugString OutputDebugStringW
#else
#define CreateEvent CreateEventA
#define CreateEventEx CreateEventExA
#define OpenEvent OpenEventA
#define CreateSemaphore CreateSemaphoreA
#define OpenSemaphore OpenSemaphoreA
#define CreateMutex CreateMutexA
#define OpenMutex OpenMutexA
#define CreateWaitableTimer CreateWaitableTimerA
#define CreateWaitableTimerEx CreateWaitableTimerExA
#define OpenWaitableTimer OpenWaitableTimerA
#define OutputDebugString OutputDebugStringA
#endif

NTIO_EXTERN_C_END
#endif
