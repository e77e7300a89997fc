/* An outside program built only with the installed headers and pkg-config. */
#include <windows.h>
#include <stdio.h>

LONG DriverSideCount(void);

int main(void) {
    HANDLE e = CreateEvent(NULL, TRUE, FALSE, NULL);
    DWORD t0 = GetTickCount();
    DWORD r = WaitForSingleObject(e, 3000);
    DWORD elapsed = GetTickCount() - t0;
    LONG ticks = DriverSideCount();
    printf("wait: %lu after %lu ms; driver side: %ld\n", (unsigned long)r, (unsigned long)elapsed, (long)ticks);
    CloseHandle(e);
    return r == WAIT_TIMEOUT ? 0 : 1;
}
