/* systhread application: starts the driver's ticking thread, lets it tick for 5.5 s,
 * stops it (5 ticks), then starts it again and exits without stopping it: the
 * driver's DriverUnload stops it (2 ticks after 2.5 s). */
#include <windows.h>
#include <winioctl.h>
#include <stdio.h>

#include "public.h"

int main(void) {
    ULONG ticks = 0;
    DWORD bytes = 0, t0;
    BOOL ok;
    HANDLE dev;
    setvbuf(stdout, NULL, _IONBF, 0); /* interleave with the driver's DbgPrint lines */
    dev = CreateFileA(SYSTHREAD_WIN32_NAME, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    if (dev == INVALID_HANDLE_VALUE) {
        printf("cannot open %s: error %u (load the driver: ntio run --driver systhread_driver.so -- ...)\n",
               SYSTHREAD_WIN32_NAME, (unsigned)GetLastError());
        return 2;
    }
    ok = DeviceIoControl(dev, IOCTL_SYSTHREAD_START, NULL, 0, NULL, 0, &bytes, NULL);
    t0 = GetTickCount();
    Sleep(5500);
    ok = ok && DeviceIoControl(dev, IOCTL_SYSTHREAD_STOP, NULL, 0, &ticks, sizeof(ticks), &bytes, NULL);
    printf("ticks in %u ms: %u\n", (unsigned)(GetTickCount() - t0), (unsigned)ticks);
    /* Stopping a stopped thread is refused. */
    if (DeviceIoControl(dev, IOCTL_SYSTHREAD_STOP, NULL, 0, &ticks, sizeof(ticks), &bytes, NULL) ||
        GetLastError() != ERROR_BAD_COMMAND) {
        printf("a second stop should fail with ERROR_BAD_COMMAND, got %u\n", (unsigned)GetLastError());
        ok = FALSE;
    }
    ok = ok && DeviceIoControl(dev, IOCTL_SYSTHREAD_START, NULL, 0, NULL, 0, &bytes, NULL);
    Sleep(2500);
    CloseHandle(dev);
    printf("exiting with the thread still running; DriverUnload stops it\n");
    return ok && ticks == 5 ? 0 : 1;
}
