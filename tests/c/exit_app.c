/* Leaves requests pending when main returns: `overlapped` one of its own on an
   overlapped handle, `thread` a synchronous one blocked in another thread, `wait` an
   overlapped one whose event another thread waits for, `port` an overlapped one whose
   packet another thread waits for. The process's exit cancels them before it closes
   the handles, and the waiting threads, which Windows would have ended, never get back
   to their code (S-CAN-12): none of their lines is printed. `inside` is `thread` with a
   driver that waits inside dispatch and fails the call there when it is cancelled. */
#include <windows.h>
#include <winioctl.h>
#include <stdio.h>
#include <string.h>

#define IOCTL_EXIT_HOLD CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_EXIT_WAIT_INSIDE CTL_CODE(FILE_DEVICE_UNKNOWN, 0x801, METHOD_BUFFERED, FILE_ANY_ACCESS)

static DWORD g_blocked_code = IOCTL_EXIT_HOLD;

static DWORD WINAPI blocked_call(LPVOID handle) {
    DWORD n = 0;
    BOOL ok = DeviceIoControl((HANDLE)handle, g_blocked_code, NULL, 0, NULL, 0, &n, NULL);
    printf("thread's call returned %d, error %lu\n", ok, (unsigned long)GetLastError());
    fflush(stdout);
    return 0;
}

static DWORD WINAPI wait_for_event(LPVOID event) {
    DWORD r = WaitForSingleObject((HANDLE)event, INFINITE);
    printf("thread's wait returned %lu\n", (unsigned long)r);
    fflush(stdout);
    return 0;
}

static DWORD WINAPI wait_for_packet(LPVOID port) {
    DWORD n = 0;
    ULONG_PTR key = 0;
    LPOVERLAPPED ov = NULL;
    BOOL ok = GetQueuedCompletionStatus((HANDLE)port, &n, &key, &ov, INFINITE);
    printf("thread's GetQueuedCompletionStatus returned %d, error %lu\n", ok, (unsigned long)GetLastError());
    fflush(stdout);
    return 0;
}

int main(int argc, char** argv) {
    const char* mode = argc > 1 ? argv[1] : "overlapped";
    if (strcmp(mode, "overlapped") == 0) {
        static OVERLAPPED ov;
        HANDLE h = CreateFileA("\\\\.\\ExitTest", GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                               FILE_FLAG_OVERLAPPED, NULL);
        DWORD n = 0;
        if (h == INVALID_HANDLE_VALUE) return 2;
        ov.hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
        if (DeviceIoControl(h, IOCTL_EXIT_HOLD, NULL, 0, NULL, 0, &n, &ov) || GetLastError() != ERROR_IO_PENDING)
            return 3;
        printf("main returns with its request pending\n");
    } else if (strcmp(mode, "wait") == 0 || strcmp(mode, "port") == 0) {
        static OVERLAPPED ov;
        HANDLE h = CreateFileA("\\\\.\\ExitTest", GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                               FILE_FLAG_OVERLAPPED, NULL);
        HANDLE port = NULL;
        DWORD n = 0;
        if (h == INVALID_HANDLE_VALUE) return 2;
        ov.hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
        if (mode[0] == 'p') {
            port = CreateIoCompletionPort(h, NULL, 7, 0);
            if (!port) return 4;
        }
        if (DeviceIoControl(h, IOCTL_EXIT_HOLD, NULL, 0, NULL, 0, &n, &ov) || GetLastError() != ERROR_IO_PENDING)
            return 3;
        if (!CreateThread(NULL, 0, mode[0] == 'p' ? wait_for_packet : wait_for_event, mode[0] == 'p' ? port : ov.hEvent,
                          0, NULL))
            return 5;
        Sleep(100);
        printf("main returns while a thread waits for its request\n");
    } else {
        /* `thread`: the driver pends the blocked call; `inside`: it waits inside dispatch. */
        if (strcmp(mode, "inside") == 0) g_blocked_code = IOCTL_EXIT_WAIT_INSIDE;
        HANDLE h = CreateFile(TEXT("\\\\.\\ExitTest"), GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
        if (h == INVALID_HANDLE_VALUE) return 2;
        if (!CreateThread(NULL, 0, blocked_call, h, 0, NULL)) return 3;
        Sleep(100);
        printf("main returns while a thread waits in its call\n");
    }
    fflush(stdout);
    return 0;
}
