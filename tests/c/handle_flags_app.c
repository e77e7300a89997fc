/* Per-handle flags from a strict C11 application (S-OBH-1, 2, 4, 5, 6):
 * SECURITY_ATTRIBUTES.bInheritHandle, GetHandleInformation/SetHandleInformation, a
 * protected handle that CloseHandle refuses (ERROR_INVALID_HANDLE) and that still works,
 * DuplicateHandle's flags and DUPLICATE_CLOSE_SOURCE on a protected source, the pseudo
 * handle's flags. It leaves one protected handle open on purpose: the exit closes it
 * ("the program left 1 handle(s) open; closed at exit"). Prints "handle flags: all checks
 * passed". */
#include <windows.h>

#include "check.h"

static DWORD flags_of(HANDLE h) {
    DWORD flags = 0xdead;
    CHECK(GetHandleInformation(h, &flags));
    return flags;
}

int main(void) {
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    HANDLE inheritable = CreateEventW(&sa, TRUE, FALSE, NULL);
    HANDLE plain = CreateEventW(NULL, TRUE, FALSE, NULL);
    HANDLE dup = NULL, left = NULL;
    DWORD flags = 0;
    CHECK(inheritable != NULL && plain != NULL);
    CHECK(flags_of(inheritable) == HANDLE_FLAG_INHERIT);
    CHECK(flags_of(plain) == 0);

    /* Protected: CloseHandle fails and the handle goes on working. */
    CHECK(SetHandleInformation(plain, HANDLE_FLAG_PROTECT_FROM_CLOSE, HANDLE_FLAG_PROTECT_FROM_CLOSE));
    CHECK(flags_of(plain) == HANDLE_FLAG_PROTECT_FROM_CLOSE);
    SetLastError(0);
    CHECK(!CloseHandle(plain));
    CHECK(GetLastError() == ERROR_INVALID_HANDLE);
    CHECK(SetEvent(plain));
    CHECK(WaitForSingleObject(plain, 0) == WAIT_OBJECT_0);

    /* A duplicate has the flags the call gives it; a protected source survives
     * DUPLICATE_CLOSE_SOURCE and the call still succeeds. */
    CHECK(DuplicateHandle(GetCurrentProcess(), plain, GetCurrentProcess(), &dup, 0, TRUE,
                          DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE));
    CHECK(flags_of(dup) == HANDLE_FLAG_INHERIT);
    CHECK(ResetEvent(plain));
    CHECK(WaitForSingleObject(dup, 0) == WAIT_TIMEOUT);

    /* Pseudo handles: no flags, and none can be set. */
    CHECK(GetHandleInformation(GetCurrentProcess(), &flags) && flags == 0);
    CHECK(!SetHandleInformation(GetCurrentProcess(), HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT));
    CHECK(GetLastError() == ERROR_ACCESS_DENIED);
    CHECK(!GetHandleInformation((HANDLE)(ULONG_PTR)0x7770, &flags));
    CHECK(GetLastError() == ERROR_INVALID_HANDLE);

    CHECK(SetHandleInformation(plain, HANDLE_FLAG_PROTECT_FROM_CLOSE, 0));
    CHECK(CloseHandle(plain));
    CHECK(CloseHandle(dup));
    CHECK(CloseHandle(inheritable));

    /* Left open, protected: the process's exit still closes it. */
    left = CreateEventW(NULL, TRUE, FALSE, NULL);
    CHECK(SetHandleInformation(left, HANDLE_FLAG_PROTECT_FROM_CLOSE, HANDLE_FLAG_PROTECT_FROM_CLOSE));

    if (failures) {
        printf("handle flags: %d of %d checks failed\n", failures, checks);
        return 1;
    }
    printf("handle flags: all checks passed (%d)\n", checks);
    fflush(stdout); /* before the exit's own message on stderr */
    return 0;
}
