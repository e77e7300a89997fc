/* ntio compat, Win32 side: I/O completion ports. Part of <windows.h>. */
#ifndef NTIO_COMPAT_WIN32_IOCP_H
#define NTIO_COMPAT_WIN32_IOCP_H

NTIO_EXTERN_C_BEGIN

/* What GetQueuedCompletionStatusEx returns per packet; Internal is the request's
 * NTSTATUS (a failed request does not fail the call). */
typedef struct _OVERLAPPED_ENTRY {
    ULONG_PTR lpCompletionKey;
    LPOVERLAPPED lpOverlapped;
    ULONG_PTR Internal;
    DWORD dwNumberOfBytesTransferred;
} OVERLAPPED_ENTRY, *LPOVERLAPPED_ENTRY;

/* SetFileCompletionNotificationModes; once set, a mode stays. */
#define FILE_SKIP_COMPLETION_PORT_ON_SUCCESS 0x1
#define FILE_SKIP_SET_EVENT_ON_HANDLE 0x2

/* (INVALID_HANDLE_VALUE, NULL, key, n) creates a port; (h, NULL, key, n) creates one
 * and binds h; (h, port, key, ignored) binds h to port and returns port.
 * NumberOfConcurrentThreads 0 means the number of processors. */
NTIO_API HANDLE CreateIoCompletionPort(HANDLE FileHandle, HANDLE ExistingCompletionPort, ULONG_PTR CompletionKey,
                                       DWORD NumberOfConcurrentThreads);
NTIO_API BOOL GetQueuedCompletionStatus(HANDLE CompletionPort, LPDWORD lpNumberOfBytesTransferred,
                                        PULONG_PTR lpCompletionKey, LPOVERLAPPED *lpOverlapped, DWORD dwMilliseconds);
NTIO_API BOOL GetQueuedCompletionStatusEx(HANDLE CompletionPort, LPOVERLAPPED_ENTRY lpCompletionPortEntries,
                                          ULONG ulCount, PULONG ulNumEntriesRemoved, DWORD dwMilliseconds,
                                          BOOL fAlertable);
NTIO_API BOOL PostQueuedCompletionStatus(HANDLE CompletionPort, DWORD dwNumberOfBytesTransferred,
                                         ULONG_PTR dwCompletionKey, LPOVERLAPPED lpOverlapped);
NTIO_API BOOL SetFileCompletionNotificationModes(HANDLE FileHandle, UCHAR Flags);

NTIO_EXTERN_C_END
#endif
