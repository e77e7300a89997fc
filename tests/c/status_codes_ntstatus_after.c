/* <windows.h>, then <ntstatus.h> without WIN32_NO_STATUS: the SDK's ntstatus.h redefines
 * winnt.h's codes, so from here on they are NTSTATUS (test compat.status_codes). */
#include <windows.h>
#include <ntstatus.h>

#include "status_codes_test.h"

int status_codes_ntstatus_after(void) {
    int failures = 0;
    ULONG_PTR internal = 0xC0000008u;
    CHECK_INTO(failures, IS_NTSTATUS(STATUS_PENDING));
    CHECK_INTO(failures, IS_NTSTATUS(STATUS_INVALID_HANDLE));
    CHECK_INTO(failures, IS_NTSTATUS(STATUS_CANCELLED));
    CHECK_INTO(failures, STATUS_INVALID_HANDLE < 0);
    /* As on Windows: a negative NTSTATUS widened to 64 bits is not the stored DWORD. */
    CHECK_INTO(failures, internal != (ULONG_PTR)STATUS_INVALID_HANDLE);
    CHECK_INTO(failures, (NTSTATUS)internal == STATUS_INVALID_HANDLE);
    return failures;
}
