/* Headers that stand alone, as the SDK's do (test compat.header_order): <excpt.h> and
 * <devioctl.h> included first, before anything that defines their types; the platform
 * and version macros of sdkddkver.h; TCHAR from <windows.h> alone; <strsafe.h> with
 * <ntstrsafe.h>; <ctype.h>'s routines from <windows.h>, as winnt.h includes it (the cancel
 * sample's testapp.c calls isalpha with nothing else). Strict C11. */
#include <excpt.h>
#include <devioctl.h>
#include <winioctl.h>
#include <windows.h>
/* Both string-safety headers in one file (their shared workers come once). */
#include <strsafe.h>
#include <ntstrsafe.h>

#include <stdio.h>

#if !defined(_WIN64) || !defined(_WINDOWS_) || !defined(_WINIOCTL_) || !defined(_DEVIOCTL_)
#error "platform or header macros missing"
#endif
#if defined(_WIN32)
#error "_WIN32 would send Linux headers included later down their Windows branches (sdkddkver.h)"
#endif
#if _WIN32_WINNT != _WIN32_WINNT_WIN10 || WINVER != _WIN32_WINNT || NTDDI_VERSION != NTDDI_WIN10_VB
#error "the version ntio presents"
#endif

int main(void) {
    TCHAR name[] = TEXT("tchar");
    int handled = 0;
    /* GetExceptionCode in a __try around a raise, from <excpt.h> included first */
    __try {
        RaiseException(0xE0000001u, 0, 0, NULL);
    } __except (GetExceptionCode() == 0xE0000001u ? EXCEPTION_EXECUTE_HANDLER : EXCEPTION_CONTINUE_SEARCH) {
        handled = 1;
    }
    if (!handled || !isalpha('q') || isalpha('1') || sizeof name != 6 || CTL_CODE(0xFFFF, 0xFFF, METHOD_NEITHER, FILE_READ_ACCESS | FILE_WRITE_ACCESS) != 0xFFFFFFFFu) {
        printf("header order: FAILED\n");
        return 1;
    }
    printf("header order: ok\n");
    return 0;
}
