/* The EX_TIMER driver's client (test compat.ex_timer_c): one synchronous request that
 * returns when the driver's timer has expired four times, 1.5 ms apart, and been
 * deleted; prints the offsets and checks them to the 100-ns tick. */
#include <windows.h>
#include <winioctl.h>

#include <stdio.h>

#include "ex_timer_public.h"

int main(void) {
    EXT_RESULT r;
    DWORD bytes = 0, before, after;
    int ok, i;
    HANDLE h;
    setvbuf(stdout, NULL, _IONBF, 0); /* in order with the driver's unload message */
    h = CreateFileA(EX_TIMER_WIN32_NAME, GENERIC_READ, 0, NULL, OPEN_EXISTING, 0, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        printf("open failed: %lu\n", (unsigned long)GetLastError());
        return 1;
    }
    before = GetTickCount();
    if (!DeviceIoControl(h, IOCTL_EXT_RUN, NULL, 0, &r, sizeof r, &bytes, NULL)) {
        printf("DeviceIoControl failed: %lu\n", (unsigned long)GetLastError());
        return 1;
    }
    after = GetTickCount();
    CloseHandle(h);
    printf("ex_timer: set %u, reset %u, deleted %u, expiries at", (unsigned)r.FirstSet, (unsigned)r.Reset,
           (unsigned)r.Deleted);
    for (i = 0; i < EXT_EXPIRIES; ++i) printf(" +%lld", (long long)r.Offset[i]);
    printf(" (100 ns), IRQL %lu, request took %lu ms\n", (unsigned long)r.Irql[0], (unsigned long)(after - before));
    ok = bytes == sizeof r && r.FirstSet == FALSE && r.Reset == TRUE && r.Deleted == TRUE && r.SameTimer;
    for (i = 0; i < EXT_EXPIRIES; ++i) ok = ok && r.Offset[i] == 15000LL * (i + 1) && r.Irql[i] == 2; /* DISPATCH_LEVEL */
    ok = ok && after - before == 6;
    printf(ok ? "all checks passed\n" : "check failed\n");
    return ok ? 0 : 1;
}
