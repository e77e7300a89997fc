/* driver_irps app: talks to the block device through the relay filter above it. The
 * relay's control codes make it build IRPs of its own for the device below (see
 * relay.c); the block device takes BLOCK_LATENCY_MS per read or write. Every result
 * is checked; the exit status says whether all checks passed. */
#include <stdio.h>
#include <string.h>
#include <windows.h>
#include <winioctl.h>

#include "public.h"

static int failures = 0;
static DWORD start;

static void check(int ok, const char *what) {
    printf("[%5lu ms] %s: %s\n", (unsigned long)(GetTickCount() - start), what, ok ? "ok" : "FAILED");
    if (!ok) failures++;
}

int main(void) {
    static const char message[] = "built by a driver, for a driver";
    RELAY_REQUEST req;
    BLOCK_INFO info;
    char data[RELAY_MAX_DATA];
    DWORD bytes = 0;
    BOOL ok;
    HANDLE h = CreateFileA(BLOCK_WIN32_NAME, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        printf("cannot open %s (error %lu): run with --driver blockdev.so --driver relay.so\n", BLOCK_WIN32_NAME,
               (unsigned long)GetLastError());
        return 1;
    }
    start = GetTickCount();

    memset(&req, 0, sizeof(req));
    req.Offset = 512;
    req.Length = sizeof(message);
    memcpy(req.Data, message, sizeof(message));
    ok = DeviceIoControl(h, IOCTL_RELAY_WRITE, &req, sizeof(req), NULL, 0, &bytes, NULL);
    check(ok && bytes == sizeof(message), "write through IoAllocateIrp, freed by the relay's completion routine");

    memset(&req, 0, sizeof(req));
    req.Offset = 512;
    req.Length = sizeof(message);
    memset(data, 0, sizeof(data));
    ok = DeviceIoControl(h, IOCTL_RELAY_READ, &req, FIELD_OFFSET(RELAY_REQUEST, Data), data, sizeof(data), &bytes,
                         NULL);
    check(ok && bytes == sizeof(message) && strcmp(data, message) == 0,
          "read back through IoBuildAsynchronousFsdRequest, the same bytes");

    ok = DeviceIoControl(h, IOCTL_RELAY_INFO, NULL, 0, &info, sizeof(info), &bytes, NULL);
    check(ok && bytes == sizeof(info) && info.Size == BLOCK_SIZE && info.Reads == 1 && info.Writes == 1,
          "info through IoBuildDeviceIoControlRequest, freed by the I/O manager");

    req.Offset = BLOCK_SIZE;
    req.Length = 16;
    ok = DeviceIoControl(h, IOCTL_RELAY_READ, &req, FIELD_OFFSET(RELAY_REQUEST, Data), data, sizeof(data), &bytes,
                         NULL);
    check(!ok && GetLastError() == ERROR_INVALID_PARAMETER,
          "a read past the end fails below and the error comes back up (ERROR_INVALID_PARAMETER)");

    memset(data, 0x55, sizeof(data));
    ok = ReadFile(h, data, 8, &bytes, NULL);
    check(ok && bytes == 8 && data[0] == 0 && data[8] == 0x55,
          "ReadFile goes down untouched (IoSkipCurrentIrpStackLocation), 8 bytes from offset 0");
    CloseHandle(h);
    printf("%s\n", failures ? "SOME CHECKS FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
