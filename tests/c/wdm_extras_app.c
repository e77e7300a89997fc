/* The wdm_extras driver's client (test compat.wdm_extras_c): the page-by-page fill and
 * the power round trip, checked; prints "all checks passed" when every check holds. */
#include <windows.h>
#include <winioctl.h>

#include <stdio.h>
#include <stdlib.h>

#include "wdm_extras_public.h"

static int failures;
#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            ++failures;                                                               \
            printf("%s:%d: check failed: %s (error %lu)\n", __FILE__, __LINE__, #cond, \
                   (unsigned long)GetLastError());                                    \
        }                                                                             \
    } while (0)

int main(void) {
    enum { kLength = 3 * 4096 + 100 };
    HANDLE h = CreateFileA(WDM_EXTRAS_WIN32_NAME, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    unsigned char* buffer = malloc(kLength);
    ULONG states[2] = {99, 99};
    DWORD bytes = 0;
    int i;
    setvbuf(stdout, NULL, _IONBF, 0); /* in order with the driver's unload message */
    CHECK(h != INVALID_HANDLE_VALUE);
    CHECK(buffer != NULL);
    if (h == INVALID_HANDLE_VALUE || !buffer) return 1;
    CHECK(DeviceIoControl(h, IOCTL_EXTRAS_FILL, NULL, 0, buffer, kLength, &bytes, NULL));
    CHECK(bytes == kLength);
    for (i = 0; i < kLength; ++i)
        if (buffer[i] != 'A' + i / 4096) {
            printf("byte %d is %d\n", i, buffer[i]);
            CHECK(!"the fill");
            break;
        }
    CHECK(DeviceIoControl(h, IOCTL_EXTRAS_POWER, NULL, 0, states, sizeof states, &bytes, NULL));
    CHECK(bytes == sizeof states);
    printf("power: the power routine replaced %lu, D0 replaced %lu\n", (unsigned long)states[0],
           (unsigned long)states[1]);
    CHECK(states[0] == 0); /* PowerDeviceUnspecified: nothing recorded before */
    CHECK(states[1] == 4); /* PowerDeviceD3, which the power IRP recorded */
    CloseHandle(h);
    free(buffer);
    if (failures) return 1;
    printf("all checks passed\n");
    return 0;
}
