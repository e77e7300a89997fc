// Win32 I/O completion ports: CreateIoCompletionPort, GetQueuedCompletionStatus(Ex),
// PostQueuedCompletionStatus and SetFileCompletionNotificationModes, as thin
// translations to the IoCompletion services (S-W32-14..20, S-DSP-10/11).
// Binding a file and setting its notification modes are NtSetInformationFile
// classes on Windows; ntio calls the I/O manager's equivalents directly
// (io/completion_port.hpp) rather than declare a partial NtSetInformationFile.
#include "trace/trace.hpp"
#include "io/completion_port.hpp"
#include "ps/thread.hpp"
#include "win32/win32.hpp"
#include "wdm.h"

using namespace ntio::win32;
namespace io = ntio::io;

namespace {

BOOL fail(NTSTATUS s) {
    set_error_from_status(s);
    return FALSE;
}

// A failed removal: WAIT_TIMEOUT for a timeout (not the mapped ERROR_TIMEOUT),
// ERROR_ABANDONED_WAIT_0 when the port was closed during the wait, else the status
// mapped (ERROR_INVALID_HANDLE for a handle that is not a port).
BOOL fail_removal(NTSTATUS s) {
    if (s == STATUS_TIMEOUT || s == STATUS_USER_APC) {
        // An alertable wait that ran APCs (S-W32-18): WAIT_IO_COMPLETION, the same number.
        set_last_error(s == STATUS_TIMEOUT ? WAIT_TIMEOUT : WAIT_IO_COMPLETION);
        return FALSE;
    }
    return fail(s);
}

}  // namespace

extern "C" {

HANDLE CreateIoCompletionPort(HANDLE FileHandle, HANDLE ExistingCompletionPort, ULONG_PTR CompletionKey,
                              DWORD NumberOfConcurrentThreads) {
    HANDLE port = ExistingCompletionPort;
    if (!port) {
        NTSTATUS s = NtCreateIoCompletion(&port, IO_COMPLETION_ALL_ACCESS, nullptr, NumberOfConcurrentThreads);
        if (!NT_SUCCESS(s)) {
            set_error_from_status(s);
            return nullptr;
        }
    } else if (FileHandle == INVALID_HANDLE_VALUE) {
        set_last_error(ERROR_INVALID_PARAMETER);  // an existing port and nothing to bind
        return nullptr;
    }
    if (FileHandle != INVALID_HANDLE_VALUE) {
        NTSTATUS s = io::associate_completion_port(FileHandle, port, CompletionKey);
        if (!NT_SUCCESS(s)) {
            if (!ExistingCompletionPort) NtClose(port);  // the port made for this call goes too
            set_error_from_status(s);
            return nullptr;
        }
    }
    return port;
}

BOOL GetQueuedCompletionStatus(HANDLE CompletionPort, LPDWORD lpNumberOfBytesTransferred, PULONG_PTR lpCompletionKey,
                               LPOVERLAPPED* lpOverlapped, DWORD dwMilliseconds) {
    if (!lpOverlapped || !lpNumberOfBytesTransferred || !lpCompletionKey) {
        // Windows faults writing through the NULL pointer; refuse before a packet is taken.
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    *lpOverlapped = nullptr;  // S-W32-17: NULL unless a packet was removed
    LARGE_INTEGER t;
    PVOID key = nullptr, context = nullptr;
    IO_STATUS_BLOCK iosb{};
    NTSTATUS s = NtRemoveIoCompletion(CompletionPort, &key, &context, &iosb, timeout_from_ms(dwMilliseconds, &t));
    ntio::ps::stop_if_program_exiting();
    if (s != STATUS_SUCCESS) return fail_removal(s);
    *lpCompletionKey = reinterpret_cast<ULONG_PTR>(key);
    *lpOverlapped = static_cast<LPOVERLAPPED>(context);
    *lpNumberOfBytesTransferred = static_cast<DWORD>(iosb.Information);
    if (ntio::trace::enabled() && context) [[unlikely]]
        ntio::trace::result_collected(context, ntio::trace::kCollectedFromPort);
    // A packet for a failed request (a warning too): FALSE with the packet filled in.
    if (NT_SUCCESS(iosb.Status)) return TRUE;
    return fail(iosb.Status);
}

BOOL GetQueuedCompletionStatusEx(HANDLE CompletionPort, LPOVERLAPPED_ENTRY lpCompletionPortEntries, ULONG ulCount,
                                 PULONG ulNumEntriesRemoved, DWORD dwMilliseconds, BOOL fAlertable) {
    if (!lpCompletionPortEntries || !ulNumEntriesRemoved) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    if (ulCount == 0) return fail(STATUS_INVALID_PARAMETER);
    // The service's entries carry the same fields; they are copied in chunks, and only
    // the first chunk may wait.
    constexpr ULONG kChunk = 64;
    FILE_IO_COMPLETION_INFORMATION chunk[kChunk];
    LARGE_INTEGER t;
    LARGE_INTEGER* timeout = timeout_from_ms(dwMilliseconds, &t);
    LARGE_INTEGER no_wait{};
    ULONG total = 0;
    NTSTATUS first = STATUS_SUCCESS;
    for (;;) {
        ULONG want = ulCount - total < kChunk ? ulCount - total : kChunk;
        ULONG removed = 0;
        NTSTATUS s = NtRemoveIoCompletionEx(CompletionPort, chunk, want, &removed, total ? &no_wait : timeout,
                                            static_cast<BOOLEAN>(fAlertable ? TRUE : FALSE));
        if (total == 0) first = s;
        for (ULONG i = 0; i < removed; ++i) {
            OVERLAPPED_ENTRY& e = lpCompletionPortEntries[total + i];
            e.lpCompletionKey = reinterpret_cast<ULONG_PTR>(chunk[i].KeyContext);
            e.lpOverlapped = static_cast<LPOVERLAPPED>(chunk[i].ApcContext);
            e.Internal = static_cast<ULONG_PTR>(static_cast<ULONG>(chunk[i].IoStatusBlock.Status));
            e.dwNumberOfBytesTransferred = static_cast<DWORD>(chunk[i].IoStatusBlock.Information);
            if (ntio::trace::enabled() && e.lpOverlapped) [[unlikely]]
                ntio::trace::result_collected(e.lpOverlapped, ntio::trace::kCollectedFromPort);
        }
        total += removed;
        if (s != STATUS_SUCCESS || removed < want || total == ulCount) break;
    }
    ntio::ps::stop_if_program_exiting();
    *ulNumEntriesRemoved = total;
    // S-W32-18: TRUE whenever something was removed, whatever the requests' statuses.
    if (first == STATUS_SUCCESS) return TRUE;
    return fail_removal(first);
}

BOOL PostQueuedCompletionStatus(HANDLE CompletionPort, DWORD dwNumberOfBytesTransferred, ULONG_PTR dwCompletionKey,
                                LPOVERLAPPED lpOverlapped) {
    NTSTATUS s = NtSetIoCompletion(CompletionPort, reinterpret_cast<PVOID>(dwCompletionKey), lpOverlapped,
                                   STATUS_SUCCESS, dwNumberOfBytesTransferred);
    return NT_SUCCESS(s) ? TRUE : fail(s);
}

BOOL SetFileCompletionNotificationModes(HANDLE FileHandle, UCHAR Flags) {
    NTSTATUS s = io::set_completion_notification_modes(FileHandle, Flags);
    return NT_SUCCESS(s) ? TRUE : fail(s);
}

}  // extern "C"
