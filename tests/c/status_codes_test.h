/* Shared by the status_codes_*.c files (test compat.status_codes). */
#ifndef NTIO_TEST_STATUS_CODES_TEST_H
#define NTIO_TEST_STATUS_CODES_TEST_H

#include <stdio.h>

#define IS_DWORD(code) _Generic((code), DWORD: 1, default: 0)
#define IS_NTSTATUS(code) _Generic((code), NTSTATUS: 1, default: 0)

/* Each returns its number of failed checks, having printed them. */
int status_codes_ntstatus_after(void);
int status_codes_ntstatus_first(void);
int status_codes_no_status(void);

#define CHECK_INTO(failures, cond)                                                    \
    do {                                                                              \
        if (!(cond)) {                                                                \
            ++(failures);                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                             \
    } while (0)

#endif
