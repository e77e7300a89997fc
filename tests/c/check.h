/* The C tests' checks: CHECK(cond) counts, reports a failed condition with its line on
 * stderr and goes on; main reports the counts and fails when any check failed. */
#ifndef NTIO_TESTS_C_CHECK_H
#define NTIO_TESTS_C_CHECK_H

#include <stdio.h>

static int failures;
static int checks;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        ++checks;                                                                    \
        if (!(cond)) {                                                               \
            ++failures;                                                              \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

#endif
