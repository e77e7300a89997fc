/* The client of tests/consumer/cxx_driver.cpp, written as a Windows console app:
 * <strsafe.h>, printf with %ws and a DWORD under %lu. */
#include <windows.h>
#include <winioctl.h>
#include <strsafe.h>
#include <stdio.h>

#include "cxx_public.h"

int main(void) {
    WCHAR path[64];
    ULONG io[2] = {21, 0};
    DWORD got = 0;
    HANDLE h;
    if (FAILED(StringCchCopyW(path, sizeof path / sizeof path[0], L"\\\\.\\CxxDriver"))) return 2;
    printf("opening %ws\n", path);
    h = CreateFileW(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        printf("open failed: %lu\n", GetLastError());
        return 1;
    }
    if (!DeviceIoControl(h, IOCTL_CXX_DOUBLE, io, sizeof io[0], io, sizeof io, &got, NULL)) {
        printf("IOCTL failed: %lu\n", GetLastError());
        return 1;
    }
    printf("doubled: %lu, objects live in the call: %lu, bytes %lu\n", io[0], io[1], got);
    CloseHandle(h);
    return 0;
}
