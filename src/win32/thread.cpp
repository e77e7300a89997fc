// Win32 and CRT threads, Sleep and time (the runtime clock: real or virtual).
#include <cstdlib>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kernel/rtl.h"
#include "ke/objects.hpp"
#include "ob/services.hpp"
#include "process.h"
#include "ps/thread.hpp"
#include "system.hpp"
#include "win32/win32.hpp"

using ntio::sys;
using namespace ntio::win32;
namespace ps = ntio::ps;
namespace ob = ntio::ob;

namespace {

HANDLE start_thread(_KTHREAD::Entry entry, void* start, void* arg, size_t stack, bool suspended, DWORD* tid,
                    NTSTATUS* status) {
    ps::StartInfo info{entry, start, arg, false, suspended, stack};
    _KTHREAD* t = nullptr;
    HANDLE h = nullptr;
    *status = ps::create_thread(sys(), info, &t, &h, THREAD_ALL_ACCESS, false);
    if (!NT_SUCCESS(*status)) return nullptr;
    if (tid) *tid = t->id;
    ps::dereference(t);
    return h;
}

// Runs `f` on the thread object behind `h`.
template <typename F>
NTSTATUS with_thread(HANDLE h, ACCESS_MASK access, F&& f) {
    void* body = nullptr;
    NTSTATUS s = ob::reference_by_handle(h, &ob::g_thread_type, UserMode, access, &body, nullptr);
    if (!NT_SUCCESS(s)) return s;
    f(static_cast<_KTHREAD*>(body));
    ob::dereference(body);
    return STATUS_SUCCESS;
}

}  // namespace

extern "C" {

HANDLE CreateThread(LPSECURITY_ATTRIBUTES sa, SIZE_T dwStackSize, LPTHREAD_START_ROUTINE lpStartAddress,
                    LPVOID lpParameter, DWORD dwCreationFlags, LPDWORD lpThreadId) {
    if (!lpStartAddress) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return nullptr;
    }
    NTSTATUS s;
    DWORD tid = 0;
    HANDLE h = start_thread(_KTHREAD::Entry::win32, reinterpret_cast<void*>(lpStartAddress), lpParameter, dwStackSize,
                            (dwCreationFlags & CREATE_SUSPENDED) != 0, &tid, &s);
    if (!h) {
        set_error_from_status(s);
        return nullptr;
    }
    if (inherit_attribute(sa))  // S-OBH-1, before the caller sees the handle
        sys().handles.set_flags(h, KernelMode, ntio::ob::kHandleAttrInherit, ntio::ob::kHandleAttrInherit);
    if (lpThreadId) *lpThreadId = tid;
    return h;
}

VOID ExitThread(DWORD dwExitCode) { ps::exit_current_thread(dwExitCode); }
VOID ExitProcess(UINT uExitCode) { std::exit(static_cast<int>(uExitCode)); }

BOOL GetExitCodeThread(HANDLE hThread, LPDWORD lpExitCode) {
    if (!lpExitCode) {
        set_last_error(ERROR_NOACCESS);
        return FALSE;
    }
    NTSTATUS s = with_thread(hThread, THREAD_QUERY_LIMITED_INFORMATION,
                             [&](_KTHREAD* t) { *lpExitCode = t->exit_code.load(); });
    if (!NT_SUCCESS(s)) {
        set_error_from_status(s);
        return FALSE;
    }
    return TRUE;
}

DWORD ResumeThread(HANDLE hThread) {
    DWORD previous = 0;
    NTSTATUS s = with_thread(hThread, THREAD_SUSPEND_RESUME, [&](_KTHREAD* t) {
        ntio::ke::Dispatcher::Guard g(sys().dispatcher);
        previous = static_cast<DWORD>(t->suspend_count);
        if (t->suspend_count > 0 && --t->suspend_count == 0) {
            ntio::ke::set_signal_state(&t->resume_gate.Header, 1);
            sys().dispatcher.wait_test_locked(&t->resume_gate.Header);
        }
    });
    if (!NT_SUCCESS(s)) {
        set_error_from_status(s);
        return static_cast<DWORD>(-1);
    }
    return previous;
}

// S-PS-2: ntio's id, not the Linux tid. A thread that learns its id is known to the
// runtime from then on, so another thread can OpenThread it by that id (S-W32T-1), as on
// Windows, where every thread has one.
DWORD GetCurrentThreadId(VOID) { return ntio::ps::current_thread()->id; }

// S-PS-1: the program's process; a system thread (a driver's) is in the System process.
DWORD GetCurrentProcessId(VOID) { return ntio::ps::process_id_of(ntio::ps::current_thread()); }

DWORD GetThreadId(HANDLE Thread) {
    DWORD tid = 0;
    NTSTATUS s = with_thread(Thread, THREAD_QUERY_LIMITED_INFORMATION, [&](_KTHREAD* t) { tid = t->id; });
    if (!NT_SUCCESS(s)) {
        set_error_from_status(s);
        return 0;
    }
    return tid;
}

// S-W32T-1
HANDLE OpenThread(DWORD dwDesiredAccess, BOOL bInheritHandle, DWORD dwThreadId) {
    if (dwThreadId == GetCurrentThreadId()) ntio::ps::current_thread();  // the caller itself, known from now on
    ACCESS_MASK access = ntio::ob::map_generic(ntio::ob::g_thread_type, dwDesiredAccess);
    if (access & THREAD_QUERY_INFORMATION) access |= THREAD_QUERY_LIMITED_INFORMATION;
    if (access & THREAD_SET_INFORMATION) access |= THREAD_SET_LIMITED_INFORMATION;
    HANDLE h = nullptr;
    NTSTATUS s = ntio::ps::open_thread_by_id(sys(), dwThreadId, access, &h);
    if (!NT_SUCCESS(s)) {
        set_error_from_status(s);
        return nullptr;
    }
    if (bInheritHandle)  // S-OBH-1: a flag only, nothing inherits in one process
        sys().handles.set_flags(h, KernelMode, ntio::ob::kHandleAttrInherit, ntio::ob::kHandleAttrInherit);
    return h;
}

// S-W32T-2: the relative priority over the NORMAL_PRIORITY_CLASS base of 8; IDLE and
// TIME_CRITICAL saturate to 1 and 15, as Windows's do.
BOOL SetThreadPriority(HANDLE hThread, int nPriority) {
    KPRIORITY base;
    switch (nPriority) {
    case THREAD_PRIORITY_IDLE: base = 1; break;
    case THREAD_PRIORITY_TIME_CRITICAL: base = 15; break;
    case THREAD_PRIORITY_LOWEST:
    case THREAD_PRIORITY_BELOW_NORMAL:
    case THREAD_PRIORITY_NORMAL:
    case THREAD_PRIORITY_ABOVE_NORMAL:
    case THREAD_PRIORITY_HIGHEST: base = 8 + nPriority; break;
    default: set_last_error(ERROR_INVALID_PARAMETER); return FALSE;
    }
    NTSTATUS s = with_thread(hThread, THREAD_SET_LIMITED_INFORMATION, [&](_KTHREAD* t) { t->priority.store(base); });
    if (!NT_SUCCESS(s)) {
        set_error_from_status(s);
        return FALSE;
    }
    return TRUE;
}

int GetThreadPriority(HANDLE hThread) {
    KPRIORITY p = 0;
    NTSTATUS s = with_thread(hThread, THREAD_QUERY_LIMITED_INFORMATION, [&](_KTHREAD* t) { p = t->priority.load(); });
    if (!NT_SUCCESS(s)) {
        set_error_from_status(s);
        return THREAD_PRIORITY_ERROR_RETURN;
    }
    if (p <= 1) return THREAD_PRIORITY_IDLE;
    if (p >= 15) return THREAD_PRIORITY_TIME_CRITICAL;
    int relative = p - 8;  // a driver's KeSetPriorityThread may have left it anywhere between
    return relative < THREAD_PRIORITY_LOWEST ? THREAD_PRIORITY_LOWEST
           : relative > THREAD_PRIORITY_HIGHEST ? THREAD_PRIORITY_HIGHEST
                                                : relative;
}

HANDLE GetCurrentThread(VOID) { return NtCurrentThread(); }
HANDLE GetCurrentProcess(VOID) { return NtCurrentProcess(); }

BOOL SwitchToThread(VOID) {
    sched_yield();
    return TRUE;
}

// S-W32-2: 0 when the time is up; WAIT_IO_COMPLETION when alertable and user APCs ran
// (SleepEx(0, TRUE) runs those already queued and returns at once).
DWORD SleepEx(DWORD dwMilliseconds, BOOL bAlertable) {
    BOOLEAN alertable = bAlertable ? TRUE : FALSE;
    LARGE_INTEGER interval;
    // Sleep(INFINITE) waits on nothing without a deadline: for good, or until an APC.
    interval.QuadPart = dwMilliseconds == INFINITE ? INT64_MIN : -static_cast<LONGLONG>(dwMilliseconds) * 10000;
    NTSTATUS s = NtDelayExecution(alertable, &interval);
    ps::stop_if_program_exiting();
    return s == STATUS_USER_APC ? WAIT_IO_COMPLETION : 0;
}

VOID Sleep(DWORD dwMilliseconds) { SleepEx(dwMilliseconds, FALSE); }

// ---- user APCs (S-APC-1) ------------------------------------------------------------------

namespace {
// NtQueueApcThread's routine for QueueUserAPC: the caller's function and its parameter.
VOID NTAPI call_user_apc(PVOID routine, PVOID parameter, PVOID) {
    reinterpret_cast<PAPCFUNC>(routine)(reinterpret_cast<ULONG_PTR>(parameter));
}
}  // namespace

DWORD QueueUserAPC(PAPCFUNC pfnAPC, HANDLE hThread, ULONG_PTR dwData) {
    if (!pfnAPC) {
        // Windows queues it and the thread faults when it runs; ntio refuses it here.
        set_last_error(ERROR_INVALID_PARAMETER);
        return 0;
    }
    NTSTATUS s = NtQueueApcThread(hThread, call_user_apc, reinterpret_cast<PVOID>(pfnAPC),
                                  reinterpret_cast<PVOID>(dwData), nullptr);
    if (!NT_SUCCESS(s)) {
        set_error_from_status(s);
        return 0;
    }
    return 1;
}

DWORD GetTickCount(VOID) { return static_cast<DWORD>(sys().dispatcher.now() / ntio::ke::kTicksPerMs); }
ULONGLONG GetTickCount64(VOID) { return static_cast<ULONGLONG>(sys().dispatcher.now() / ntio::ke::kTicksPerMs); }

BOOL QueryPerformanceCounter(LARGE_INTEGER* lpPerformanceCount) {
    lpPerformanceCount->QuadPart = sys().dispatcher.now();
    return TRUE;
}

BOOL QueryPerformanceFrequency(LARGE_INTEGER* lpFrequency) {
    lpFrequency->QuadPart = 10000000;  // 100 ns ticks, as Windows 10 reports on most machines
    return TRUE;
}

VOID GetSystemTimeAsFileTime(LPFILETIME lpSystemTimeAsFileTime) {
    auto t = static_cast<ULONGLONG>(sys().dispatcher.system_time());
    lpSystemTimeAsFileTime->dwLowDateTime = static_cast<DWORD>(t);
    lpSystemTimeAsFileTime->dwHighDateTime = static_cast<DWORD>(t >> 32);
}

// ---- calendar time (S-W32T-3), through the kernel's time fields -----------------------

}  // extern "C"

// <wdm.h>'s; this file sees <windows.h>
extern "C" VOID ExSystemTimeToLocalTime(PLARGE_INTEGER SystemTime, PLARGE_INTEGER LocalTime);
extern "C" VOID ExLocalTimeToSystemTime(PLARGE_INTEGER LocalTime, PLARGE_INTEGER SystemTime);

namespace {
LARGE_INTEGER from_file_time(const FILETIME& f) {
    LARGE_INTEGER t;
    t.QuadPart = static_cast<LONGLONG>((static_cast<ULONGLONG>(f.dwHighDateTime) << 32) | f.dwLowDateTime);
    return t;
}
FILETIME to_file_time(LARGE_INTEGER t) {
    FILETIME f;
    f.dwLowDateTime = static_cast<DWORD>(t.QuadPart);
    f.dwHighDateTime = static_cast<DWORD>(static_cast<ULONGLONG>(t.QuadPart) >> 32);
    return f;
}
void to_system_time(LARGE_INTEGER t, SYSTEMTIME* out) {
    TIME_FIELDS f;
    RtlTimeToTimeFields(&t, &f);
    out->wYear = static_cast<WORD>(f.Year);
    out->wMonth = static_cast<WORD>(f.Month);
    out->wDayOfWeek = static_cast<WORD>(f.Weekday);
    out->wDay = static_cast<WORD>(f.Day);
    out->wHour = static_cast<WORD>(f.Hour);
    out->wMinute = static_cast<WORD>(f.Minute);
    out->wSecond = static_cast<WORD>(f.Second);
    out->wMilliseconds = static_cast<WORD>(f.Milliseconds);
}
}  // namespace

extern "C" {

VOID GetSystemTime(LPSYSTEMTIME lpSystemTime) {
    LARGE_INTEGER now;
    now.QuadPart = sys().dispatcher.system_time();
    to_system_time(now, lpSystemTime);
}

VOID GetLocalTime(LPSYSTEMTIME lpSystemTime) {
    LARGE_INTEGER now, local;
    now.QuadPart = sys().dispatcher.system_time();
    ExSystemTimeToLocalTime(&now, &local);
    to_system_time(local, lpSystemTime);
}

// A FILETIME past 0x7FFFFFFFFFFFFFFF is refused, as Windows refuses it.
BOOL FileTimeToSystemTime(const FILETIME* lpFileTime, LPSYSTEMTIME lpSystemTime) {
    LARGE_INTEGER t = from_file_time(*lpFileTime);
    if (t.QuadPart < 0) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    to_system_time(t, lpSystemTime);
    return TRUE;
}

// Every field is checked (wDayOfWeek is ignored), as RtlTimeFieldsToTime checks them.
BOOL SystemTimeToFileTime(const SYSTEMTIME* lpSystemTime, LPFILETIME lpFileTime) {
    TIME_FIELDS f;
    f.Year = static_cast<CSHORT>(lpSystemTime->wYear);
    f.Month = static_cast<CSHORT>(lpSystemTime->wMonth);
    f.Day = static_cast<CSHORT>(lpSystemTime->wDay);
    f.Hour = static_cast<CSHORT>(lpSystemTime->wHour);
    f.Minute = static_cast<CSHORT>(lpSystemTime->wMinute);
    f.Second = static_cast<CSHORT>(lpSystemTime->wSecond);
    f.Milliseconds = static_cast<CSHORT>(lpSystemTime->wMilliseconds);
    f.Weekday = 0;
    LARGE_INTEGER t;
    if (lpSystemTime->wYear > 30827 || !RtlTimeFieldsToTime(&f, &t)) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    *lpFileTime = to_file_time(t);
    return TRUE;
}

BOOL FileTimeToLocalFileTime(const FILETIME* lpFileTime, LPFILETIME lpLocalFileTime) {
    LARGE_INTEGER t = from_file_time(*lpFileTime), local;
    ExSystemTimeToLocalTime(&t, &local);
    *lpLocalFileTime = to_file_time(local);
    return TRUE;
}

BOOL LocalFileTimeToFileTime(const FILETIME* lpLocalFileTime, LPFILETIME lpFileTime) {
    LARGE_INTEGER local = from_file_time(*lpLocalFileTime), t;
    ExLocalTimeToSystemTime(&local, &t);
    *lpFileTime = to_file_time(t);
    return TRUE;
}

// ---- MSVC CRT threads ----------------------------------------------------------------

uintptr_t _beginthread(void (*start_address)(void*), unsigned stack_size, void* arglist) {
    NTSTATUS s;
    if (!start_address) {
        errno = EINVAL;
        return static_cast<uintptr_t>(-1);
    }
    HANDLE h = start_thread(_KTHREAD::Entry::crt, reinterpret_cast<void*>(start_address), arglist, stack_size, false,
                            nullptr, &s);
    if (!h) {
        errno = EAGAIN;
        return static_cast<uintptr_t>(-1);
    }
    return reinterpret_cast<uintptr_t>(h);
}

uintptr_t _beginthreadex(void* security, unsigned stack_size, unsigned (*start_address)(void*), void* arglist,
                         unsigned initflag, unsigned* thrdaddr) {
    (void)security;
    NTSTATUS s;
    if (!start_address) {
        errno = EINVAL;
        return 0;
    }
    DWORD tid = 0;
    HANDLE h = start_thread(_KTHREAD::Entry::crt_ex, reinterpret_cast<void*>(start_address), arglist, stack_size,
                            (initflag & CREATE_SUSPENDED) != 0, &tid, &s);
    if (!h) {
        errno = EAGAIN;
        return 0;
    }
    if (thrdaddr) *thrdaddr = tid;
    return reinterpret_cast<uintptr_t>(h);
}

void _endthread(void) { ps::exit_current_thread(0); }
void _endthreadex(unsigned retval) { ps::exit_current_thread(retval); }

}  // extern "C"
