/* <ntstatus.h> before <windows.h> (a driver header first, as in a file that holds a driver
 * and its client): every code stays NTSTATUS (test compat.status_codes). */
#include <ntstatus.h>
#include <windows.h>

#include "status_codes_test.h"

int status_codes_ntstatus_first(void) {
    int failures = 0;
    CHECK_INTO(failures, IS_NTSTATUS(STATUS_PENDING));
    CHECK_INTO(failures, IS_NTSTATUS(STATUS_ACCESS_VIOLATION));
    CHECK_INTO(failures, IS_NTSTATUS(STATUS_SUCCESS));
    CHECK_INTO(failures, STATUS_ACCESS_VIOLATION < 0);
    return failures;
}
