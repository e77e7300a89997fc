/* Leaves requests pending when main returns: `overlapped` one of its own on an
   overlapped handle, `thread` a synchronous one blocked in another thread. The
   process's exit cancels both before it closes the handles (S-CAN-12). */
#include <windows.h>
#include <winioctl.h>
#include <stdio.h>
#include <string.h>

#define IOCTL_EXIT_HOLD CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS)

static DWORD WINAPI blocked_call(LPVOID handle) {
    DWORD n = 0;
    BOOL ok = DeviceIoControl((HANDLE)handle, IOCTL_EXIT_HOLD, NULL, 0, NULL, 0, &n, NULL);
    printf("thread's call returned %d, error %lu\n", ok, (unsigned long)GetLastError());
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
    } else {
        HANDLE h = CreateFile(TEXT("\\\\.\\ExitTest"), GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
        if (h == INVALID_HANDLE_VALUE) return 2;
        if (!CreateThread(NULL, 0, blocked_call, h, 0, NULL)) return 3;
        Sleep(100);
        printf("main returns while a thread waits in its call\n");
    }
    fflush(stdout);
    return 0;
}
