/* The registry driver's client (test compat.registry_c): prints what the driver read
 * from the registry in DriverEntry and checks it against registry.reg. */
#include <windows.h>
#include <winioctl.h>

#include <stdio.h>
#include <wchar.h>

#include "registry_public.h"

int main(void) {
    REGISTRY_SETTINGS s;
    DWORD bytes = 0;
    int ok;
    HANDLE h;
    setvbuf(stdout, NULL, _IONBF, 0); /* in order with the driver's unload message */
    h = CreateFileA(REGISTRY_WIN32_NAME, GENERIC_READ, 0, NULL, OPEN_EXISTING, 0, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        printf("open failed: %lu\n", (unsigned long)GetLastError());
        return 1;
    }
    if (!DeviceIoControl(h, IOCTL_REGISTRY_SETTINGS, NULL, 0, &s, sizeof s, &bytes, NULL)) {
        printf("DeviceIoControl failed: %lu\n", (unsigned long)GetLastError());
        return 1;
    }
    CloseHandle(h);
    printf("registry: Level=%lu Retries=%lu Start=%lu Subkeys=%lu Label=%ls\n", (unsigned long)s.Level,
           (unsigned long)s.Retries, (unsigned long)s.Start, (unsigned long)s.Subkeys, s.Label);
    ok = bytes == sizeof s && s.Level == 7 && s.Retries == 3 && s.Start == 3 && s.Subkeys == 1 &&
         wcscmp(s.Label, L"from a .reg file") == 0;
    printf(ok ? "all checks passed\n" : "check failed\n");
    return ok ? 0 : 1;
}
