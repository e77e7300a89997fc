// Win32 handles, events, semaphores, mutexes and waits: thin translations to
// the Nt* services plus last-error mapping (S-W32-1..3).
#include <string>

#include "ke/objects.hpp"
#include "ob/services.hpp"
#include "ps/thread.hpp"
#include "system.hpp"
#include "win32/win32.hpp"

namespace ntio::win32 {

namespace {
thread_local DWORD t_last_error = 0;
}

DWORD last_error() { return t_last_error; }
void set_last_error(DWORD e) { t_last_error = e; }

void set_error_from_status(NTSTATUS s) { t_last_error = RtlNtStatusToDosError(s); }

LARGE_INTEGER* timeout_from_ms(DWORD ms, LARGE_INTEGER* storage) {
    if (ms == INFINITE) return nullptr;
    storage->QuadPart = -static_cast<LONGLONG>(ms) * 10000;
    return storage;
}

DWORD wait_result(NTSTATUS s) {
    if (s >= STATUS_WAIT_0 && s <= STATUS_WAIT_63) return static_cast<DWORD>(s);
    if (s >= STATUS_ABANDONED_WAIT_0 && s <= STATUS_ABANDONED_WAIT_63) return static_cast<DWORD>(s);
    if (s == STATUS_TIMEOUT) return WAIT_TIMEOUT;
    if (s == STATUS_USER_APC || s == STATUS_ALERTED) return WAIT_IO_COMPLETION;
    set_error_from_status(s);
    return WAIT_FAILED;
}

// Win32 object names live in \BaseNamedObjects; "Global\" and "Local\" select the
// namespace of a session, and ntio has one session, so both land in the same place.
bool named_object_attributes(const std::wstring& name, std::wstring* path, UNICODE_STRING* us, OBJECT_ATTRIBUTES* oa,
                             ULONG attributes) {
    std::wstring n = name;
    for (const wchar_t* prefix : {L"Global\\", L"Local\\"})
        if (n.rfind(prefix, 0) == 0) {
            n.erase(0, wcslen(prefix));
            break;
        }
    if (n.empty() || n.find(L'\\') != std::wstring::npos) return false;
    *path = L"\\BaseNamedObjects\\" + n;
    us->Buffer = path->data();
    us->Length = us->MaximumLength = static_cast<USHORT>(path->size() * sizeof(WCHAR));
    InitializeObjectAttributes(oa, us, attributes, nullptr, nullptr);
    return true;
}

std::wstring widen(LPCSTR s) {
    std::wstring w;
    for (; *s; ++s) w += static_cast<wchar_t>(static_cast<unsigned char>(*s));
    return w;
}

// An existing named object by its Win32 name (OpenEvent and the others).
HANDLE open_object(LPCWSTR name, ACCESS_MASK access, OpenFn open, ULONG attributes) {
    if (!name) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return nullptr;
    }
    OBJECT_ATTRIBUTES oa;
    UNICODE_STRING us;
    std::wstring path;
    if (!named_object_attributes(name, &path, &us, &oa, attributes)) {
        set_last_error(ERROR_BAD_PATHNAME);
        return nullptr;
    }
    HANDLE h = nullptr;
    NTSTATUS s = open(&h, access, &oa);
    if (!NT_SUCCESS(s)) {
        set_error_from_status(s);
        return nullptr;
    }
    return h;
}

}  // namespace ntio::win32

using namespace ntio::win32;

namespace {

using CreateFn = NTSTATUS (*)(HANDLE*, OBJECT_ATTRIBUTES*, void* ctx);

// Shared shape of CreateEvent/CreateSemaphore/CreateMutex with an optional name.
HANDLE create_object(LPCWSTR name, ACCESS_MASK, CreateFn create, void* ctx, ULONG attributes) {
    OBJECT_ATTRIBUTES oa;
    UNICODE_STRING us;
    std::wstring path;
    OBJECT_ATTRIBUTES* poa = nullptr;
    if (name && *name) {  // an empty name makes an unnamed object, as on Windows
        if (!named_object_attributes(name, &path, &us, &oa, OBJ_OPENIF | attributes)) {
            set_last_error(ERROR_BAD_PATHNAME);
            return nullptr;
        }
        poa = &oa;
    } else if (attributes) {
        InitializeObjectAttributes(&oa, nullptr, attributes, nullptr, nullptr);
        poa = &oa;
    }
    HANDLE h = nullptr;
    NTSTATUS s = create(&h, poa, ctx);
    if (!NT_SUCCESS(s)) {
        set_error_from_status(s);
        return nullptr;
    }
    set_last_error(s == STATUS_OBJECT_NAME_EXISTS ? ERROR_ALREADY_EXISTS : ERROR_SUCCESS);
    return h;
}


struct EventArgs {
    ACCESS_MASK access;
    EVENT_TYPE type;
    BOOLEAN initial;
};
struct SemaphoreArgs {
    ACCESS_MASK access;
    LONG initial, maximum;
};
struct MutexArgs {
    ACCESS_MASK access;
    BOOLEAN owner;
};

NTSTATUS create_event(HANDLE* h, OBJECT_ATTRIBUTES* oa, void* ctx) {
    auto* a = static_cast<EventArgs*>(ctx);
    return NtCreateEvent(h, a->access, oa, a->type, a->initial);
}
NTSTATUS create_semaphore(HANDLE* h, OBJECT_ATTRIBUTES* oa, void* ctx) {
    auto* a = static_cast<SemaphoreArgs*>(ctx);
    return NtCreateSemaphore(h, a->access, oa, a->initial, a->maximum);
}
NTSTATUS create_mutex(HANDLE* h, OBJECT_ATTRIBUTES* oa, void* ctx) {
    auto* a = static_cast<MutexArgs*>(ctx);
    return NtCreateMutant(h, a->access, oa, a->owner);
}

BOOL status_to_bool(NTSTATUS s) {
    if (NT_SUCCESS(s)) return TRUE;
    set_error_from_status(s);
    return FALSE;
}

}  // namespace

extern "C" {

DWORD GetLastError(VOID) { return last_error(); }
VOID SetLastError(DWORD dwErrCode) { set_last_error(dwErrCode); }

BOOL CloseHandle(HANDLE hObject) { return status_to_bool(NtClose(hObject)); }

BOOL DuplicateHandle(HANDLE hSourceProcessHandle, HANDLE hSourceHandle, HANDLE hTargetProcessHandle,
                     LPHANDLE lpTargetHandle, DWORD dwDesiredAccess, BOOL bInheritHandle, DWORD dwOptions) {
    return status_to_bool(NtDuplicateObject(hSourceProcessHandle, hSourceHandle, hTargetProcessHandle, lpTargetHandle,
                                            dwDesiredAccess, bInheritHandle ? OBJ_INHERIT : 0, dwOptions));
}

// S-OBH-1/5: kernelbase's shape. GetHandleInformation is NtQueryObject's
// ObjectHandleFlagInformation; SetHandleInformation changes the masked flags of what it
// reads (other mask bits are ignored) and writes both back.
BOOL GetHandleInformation(HANDLE hObject, LPDWORD lpdwFlags) {
    OBJECT_HANDLE_FLAG_INFORMATION info;
    NTSTATUS s = NtQueryObject(hObject, ObjectHandleFlagInformation, &info, sizeof info, nullptr);
    if (!NT_SUCCESS(s)) return status_to_bool(s);
    if (!lpdwFlags) return status_to_bool(STATUS_ACCESS_VIOLATION);
    *lpdwFlags = (info.Inherit ? HANDLE_FLAG_INHERIT : 0) | (info.ProtectFromClose ? HANDLE_FLAG_PROTECT_FROM_CLOSE : 0);
    return TRUE;
}

BOOL SetHandleInformation(HANDLE hObject, DWORD dwMask, DWORD dwFlags) {
    OBJECT_HANDLE_FLAG_INFORMATION info = {FALSE, FALSE};
    constexpr DWORD kBoth = HANDLE_FLAG_INHERIT | HANDLE_FLAG_PROTECT_FROM_CLOSE;
    if ((dwMask & kBoth) != kBoth) {  // keep the flag the mask leaves alone
        NTSTATUS s = NtQueryObject(hObject, ObjectHandleFlagInformation, &info, sizeof info, nullptr);
        if (!NT_SUCCESS(s)) return status_to_bool(s);
    }
    if (dwMask & HANDLE_FLAG_INHERIT) info.Inherit = (dwFlags & HANDLE_FLAG_INHERIT) ? TRUE : FALSE;
    if (dwMask & HANDLE_FLAG_PROTECT_FROM_CLOSE)
        info.ProtectFromClose = (dwFlags & HANDLE_FLAG_PROTECT_FROM_CLOSE) ? TRUE : FALSE;
    return status_to_bool(NtSetInformationObject(hObject, ObjectHandleFlagInformation, &info, sizeof info));
}

HANDLE CreateEventW(LPSECURITY_ATTRIBUTES sa, BOOL bManualReset, BOOL bInitialState, LPCWSTR lpName) {
    EventArgs a{EVENT_ALL_ACCESS, bManualReset ? NotificationEvent : SynchronizationEvent,
                static_cast<BOOLEAN>(bInitialState ? TRUE : FALSE)};
    return create_object(lpName, EVENT_ALL_ACCESS, create_event, &a, inherit_attribute(sa));
}

HANDLE CreateEventA(LPSECURITY_ATTRIBUTES sa, BOOL bManualReset, BOOL bInitialState, LPCSTR lpName) {
    if (!lpName) return CreateEventW(sa, bManualReset, bInitialState, nullptr);
    return CreateEventW(sa, bManualReset, bInitialState, widen(lpName).c_str());
}

HANDLE CreateEventExW(LPSECURITY_ATTRIBUTES sa, LPCWSTR lpName, DWORD dwFlags, DWORD dwDesiredAccess) {
    if (dwFlags & ~(CREATE_EVENT_MANUAL_RESET | CREATE_EVENT_INITIAL_SET)) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return nullptr;
    }
    EventArgs a{dwDesiredAccess, (dwFlags & CREATE_EVENT_MANUAL_RESET) ? NotificationEvent : SynchronizationEvent,
                static_cast<BOOLEAN>((dwFlags & CREATE_EVENT_INITIAL_SET) ? TRUE : FALSE)};
    return create_object(lpName, dwDesiredAccess, create_event, &a, inherit_attribute(sa));
}

HANDLE CreateEventExA(LPSECURITY_ATTRIBUTES sa, LPCSTR lpName, DWORD dwFlags, DWORD dwDesiredAccess) {
    if (!lpName) return CreateEventExW(sa, nullptr, dwFlags, dwDesiredAccess);
    return CreateEventExW(sa, widen(lpName).c_str(), dwFlags, dwDesiredAccess);
}

HANDLE OpenEventW(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCWSTR lpName) {
    return open_object(lpName, dwDesiredAccess, NtOpenEvent, bInheritHandle ? OBJ_INHERIT : 0);
}
HANDLE OpenEventA(DWORD dwDesiredAccess, BOOL inherit, LPCSTR lpName) {
    return OpenEventW(dwDesiredAccess, inherit, lpName ? widen(lpName).c_str() : nullptr);
}

BOOL SetEvent(HANDLE hEvent) { return status_to_bool(NtSetEvent(hEvent, nullptr)); }
BOOL ResetEvent(HANDLE hEvent) { return status_to_bool(NtResetEvent(hEvent, nullptr)); }
BOOL PulseEvent(HANDLE hEvent) { return status_to_bool(NtPulseEvent(hEvent, nullptr)); }

HANDLE CreateSemaphoreW(LPSECURITY_ATTRIBUTES sa, LONG lInitialCount, LONG lMaximumCount, LPCWSTR lpName) {
    SemaphoreArgs a{SEMAPHORE_ALL_ACCESS, lInitialCount, lMaximumCount};
    return create_object(lpName, SEMAPHORE_ALL_ACCESS, create_semaphore, &a, inherit_attribute(sa));
}
HANDLE CreateSemaphoreA(LPSECURITY_ATTRIBUTES sa, LONG lInitialCount, LONG lMaximumCount, LPCSTR lpName) {
    return CreateSemaphoreW(sa, lInitialCount, lMaximumCount, lpName ? widen(lpName).c_str() : nullptr);
}
HANDLE OpenSemaphoreW(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCWSTR lpName) {
    return open_object(lpName, dwDesiredAccess, NtOpenSemaphore, bInheritHandle ? OBJ_INHERIT : 0);
}
HANDLE OpenSemaphoreA(DWORD dwDesiredAccess, BOOL inherit, LPCSTR lpName) {
    return OpenSemaphoreW(dwDesiredAccess, inherit, lpName ? widen(lpName).c_str() : nullptr);
}
BOOL ReleaseSemaphore(HANDLE hSemaphore, LONG lReleaseCount, LPLONG lpPreviousCount) {
    return status_to_bool(NtReleaseSemaphore(hSemaphore, lReleaseCount, lpPreviousCount));
}

HANDLE CreateMutexW(LPSECURITY_ATTRIBUTES sa, BOOL bInitialOwner, LPCWSTR lpName) {
    MutexArgs a{MUTANT_ALL_ACCESS, static_cast<BOOLEAN>(bInitialOwner ? TRUE : FALSE)};
    return create_object(lpName, MUTANT_ALL_ACCESS, create_mutex, &a, inherit_attribute(sa));
}
HANDLE CreateMutexA(LPSECURITY_ATTRIBUTES sa, BOOL bInitialOwner, LPCSTR lpName) {
    return CreateMutexW(sa, bInitialOwner, lpName ? widen(lpName).c_str() : nullptr);
}
HANDLE OpenMutexW(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCWSTR lpName) {
    return open_object(lpName, dwDesiredAccess, NtOpenMutant, bInheritHandle ? OBJ_INHERIT : 0);
}
HANDLE OpenMutexA(DWORD dwDesiredAccess, BOOL inherit, LPCSTR lpName) {
    return OpenMutexW(dwDesiredAccess, inherit, lpName ? widen(lpName).c_str() : nullptr);
}
BOOL ReleaseMutex(HANDLE hMutex) { return status_to_bool(NtReleaseMutant(hMutex, nullptr)); }

DWORD WaitForMultipleObjectsEx(DWORD nCount, const HANDLE* lpHandles, BOOL bWaitAll, DWORD dwMilliseconds,
                               BOOL bAlertable) {
    if (nCount == 0 || nCount > MAXIMUM_WAIT_OBJECTS) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return WAIT_FAILED;
    }
    if (!lpHandles) {
        set_last_error(ERROR_NOACCESS);
        return WAIT_FAILED;
    }
    LARGE_INTEGER t;
    NTSTATUS s = NtWaitForMultipleObjects(nCount, lpHandles, bWaitAll ? WaitAll : WaitAny,
                                          static_cast<BOOLEAN>(bAlertable ? TRUE : FALSE),
                                          timeout_from_ms(dwMilliseconds, &t));
    ntio::ps::stop_if_program_exiting();
    return wait_result(s);
}

DWORD WaitForMultipleObjects(DWORD nCount, const HANDLE* lpHandles, BOOL bWaitAll, DWORD dwMilliseconds) {
    return WaitForMultipleObjectsEx(nCount, lpHandles, bWaitAll, dwMilliseconds, FALSE);
}

DWORD WaitForSingleObjectEx(HANDLE hHandle, DWORD dwMilliseconds, BOOL bAlertable) {
    LARGE_INTEGER t;
    NTSTATUS s = NtWaitForSingleObject(hHandle, static_cast<BOOLEAN>(bAlertable ? TRUE : FALSE),
                                       timeout_from_ms(dwMilliseconds, &t));
    ntio::ps::stop_if_program_exiting();
    if (s == STATUS_WAIT_0) [[likely]]
        return WAIT_OBJECT_0;
    return wait_result(s);
}

DWORD SignalObjectAndWait(HANDLE hObjectToSignal, HANDLE hObjectToWaitOn, DWORD dwMilliseconds, BOOL bAlertable) {
    LARGE_INTEGER t;
    NTSTATUS s = NtSignalAndWaitForSingleObject(hObjectToSignal, hObjectToWaitOn,
                                                static_cast<BOOLEAN>(bAlertable ? TRUE : FALSE),
                                                timeout_from_ms(dwMilliseconds, &t));
    ntio::ps::stop_if_program_exiting();
    return wait_result(s);
}

DWORD WaitForSingleObject(HANDLE hHandle, DWORD dwMilliseconds) {
    return WaitForSingleObjectEx(hHandle, dwMilliseconds, FALSE);
}

}  // extern "C"
