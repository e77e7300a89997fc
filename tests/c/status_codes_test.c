/* The types of the STATUS_ codes an app sees (test compat.status_codes; docs/compat.md,
 * "Status codes in app files"). This file includes only <windows.h>: winnt.h's subset is
 * DWORD there, so a status read back from a ULONG_PTR (OVERLAPPED.Internal) compares equal
 * on LP64 as it does on Windows. The other files include <ntstatus.h> after, before, or
 * with WIN32_NO_STATUS, and see every code as NTSTATUS, as the SDK's ntstatus.h makes them.
 * Strict C11, built with -Wall -Wextra -Werror -pedantic like the other header checks. */
#include <windows.h>

#include <stdio.h>
#include <string.h>

#include "status_codes_test.h"

static int failures;

#define CHECK(cond) CHECK_INTO(failures, cond)

int main(void) {
    OVERLAPPED ov;
    /* winnt.h's subset: DWORDs, so positive, and equal to the same bits widened. */
    CHECK(IS_DWORD(STATUS_PENDING));
    CHECK(IS_DWORD(STATUS_INVALID_HANDLE));
    CHECK(IS_DWORD(STATUS_ACCESS_VIOLATION));
    CHECK(IS_DWORD(STATUS_TIMEOUT));
    CHECK(IS_DWORD(DBG_CONTINUE));
    CHECK(STATUS_INVALID_HANDLE > 0);
    memset(&ov, 0, sizeof(ov));
    ov.Internal = 0xC0000008u; /* what ntio stores for a request that failed so */
    CHECK(ov.Internal == STATUS_INVALID_HANDLE);
    ov.Internal = 0xC000000Du;
    CHECK(ov.Internal == STATUS_INVALID_PARAMETER);
    ov.Internal = STATUS_PENDING;
    CHECK(!HasOverlappedIoCompleted(&ov));
    ov.Internal = STATUS_NO_MEMORY;
    CHECK(HasOverlappedIoCompleted(&ov));
    /* NT_SUCCESS takes the code as an NTSTATUS whatever its type. */
    CHECK(!NT_SUCCESS(STATUS_INVALID_HANDLE));
    CHECK(NT_SUCCESS(STATUS_PENDING));
    /* The codes winnt.h lacks are ntio's extension, typed as <ntstatus.h> types them. */
    CHECK(IS_NTSTATUS(STATUS_CANCELLED));
    CHECK(IS_NTSTATUS(STATUS_SUCCESS));
    CHECK(STATUS_CANCELLED < 0);

    failures += status_codes_ntstatus_after();
    failures += status_codes_ntstatus_first();
    failures += status_codes_no_status();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    puts("status codes: all checks passed");
    return 0;
}
