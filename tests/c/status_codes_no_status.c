/* The SDK idiom for an app that wants all of ntstatus.h: WIN32_NO_STATUS around
 * <windows.h>, which then defines no STATUS_ code (test compat.status_codes). */
#define WIN32_NO_STATUS
#include <windows.h>
#undef WIN32_NO_STATUS

#if defined(STATUS_PENDING) || defined(STATUS_CANCELLED) || defined(STATUS_SUCCESS)
#error "<windows.h> with WIN32_NO_STATUS defines a STATUS_ code"
#endif

#include <ntstatus.h>

#include "status_codes_test.h"

int status_codes_no_status(void) {
    int failures = 0;
    CHECK_INTO(failures, IS_NTSTATUS(STATUS_PENDING));
    CHECK_INTO(failures, IS_NTSTATUS(STATUS_INVALID_HANDLE));
    CHECK_INTO(failures, IS_NTSTATUS(STATUS_CANCELLED));
    return failures;
}
