/* Structured exceptions in strict C11, the way driver code writes them (test
 * compat.seh; rules S-SEH-1..11 in docs/design.md): faults and raises caught by
 * __except, filters that pass exceptions on, __finally on every way out of a __try,
 * __leave, break/continue/return out of a __try, the probes, threads.
 *
 * With an argument it runs one case that must stop the process instead (the
 * compat.seh_* tests match what it prints). */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <wdm.h>
#include <windows.h>
#include <sehmap.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"

static char *page_with(int prot) {
    char *p = mmap(NULL, (size_t)sysconf(_SC_PAGESIZE), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) abort();
    memset(p, 0x5A, (size_t)sysconf(_SC_PAGESIZE));
    if (mprotect(p, (size_t)sysconf(_SC_PAGESIZE), prot) != 0) abort();
    return p;
}

static volatile int sink;
static volatile int *volatile low_address = (volatile int *)(uintptr_t)16;

/* S-SEH-1: a hardware access violation inside __try reaches __except with its code,
 * read/write flag and address; execution goes on after the handler. */
static void access_violations(void) {
    char *none = page_with(PROT_NONE);
    char *read_only = page_with(PROT_READ);
    NTSTATUS code = 0;
    ULONG_PTR kind = 99, address = 0;
    int after = 0;

    __try {
        sink = none[16];
        CHECK(!"the read of a PROT_NONE page returned");
    } __except (code = GetExceptionCode(), kind = GetExceptionInformation()->ExceptionRecord->ExceptionInformation[0],
                address = GetExceptionInformation()->ExceptionRecord->ExceptionInformation[1], EXCEPTION_EXECUTE_HANDLER) {
        after = 1;
        CHECK(GetExceptionCode() == STATUS_ACCESS_VIOLATION);
    }
    CHECK(after == 1);
    CHECK(code == STATUS_ACCESS_VIOLATION);
    CHECK(kind == 0);
    CHECK(address == (ULONG_PTR)(none + 16));

    __try {
        read_only[8] = 1;
    } __except (kind = GetExceptionInformation()->ExceptionRecord->ExceptionInformation[0],
                address = GetExceptionInformation()->ExceptionRecord->ExceptionInformation[1], EXCEPTION_EXECUTE_HANDLER) {
        code = GetExceptionCode();
    }
    CHECK(code == STATUS_ACCESS_VIOLATION);
    CHECK(kind == 1);
    CHECK(address == (ULONG_PTR)(read_only + 8));
    CHECK(read_only[8] == 0x5A);

    /* The thread's signal mask after a caught fault is the one it had before (a
     * blocked SIGUSR1 stays blocked, nothing else is), as a return from the handler
     * would leave it; otherwise a later fault of a blocked kind kills the process. */
    {
        sigset_t before, after, usr1;
        sigemptyset(&usr1);
        sigaddset(&usr1, SIGUSR1);
        pthread_sigmask(SIG_BLOCK, &usr1, &before);
        pthread_sigmask(SIG_BLOCK, NULL, &before);
        __try {
            sink = none[1];
        } __except (EXCEPTION_EXECUTE_HANDLER) {
        }
        pthread_sigmask(SIG_BLOCK, NULL, &after);
        CHECK(sigismember(&after, SIGUSR1) == 1);
        CHECK(sigismember(&after, SIGSEGV) == 0);
        CHECK(sigismember(&after, SIGFPE) == 0);
        CHECK(sigismember(&after, SIGTERM) == sigismember(&before, SIGTERM));
        pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
    }

    /* The same __try a thousand times: each fault comes back to its own frame. */
    {
        int caught = 0, i;
        for (i = 0; i < 1000; ++i) {
            __try {
                sink = none[i];
            } __except (EXCEPTION_EXECUTE_HANDLER) {
                ++caught;
            }
        }
        CHECK(caught == 1000);
    }
    munmap(none, (size_t)sysconf(_SC_PAGESIZE));
    munmap(read_only, (size_t)sysconf(_SC_PAGESIZE));
}

/* The CPU's division, not C's: a C division by zero is undefined behavior that UBSan
 * reports before the processor faults. */
static int divide(int dividend, int divisor) {
    int quotient;
    __asm__ volatile("cltd\n\tidivl %2" : "=a"(quotient) : "a"(dividend), "r"(divisor) : "edx", "cc");
    return quotient;
}

/* S-SEH-1: the other hardware exceptions Windows names. */
static void other_hardware_exceptions(void) {
    NTSTATUS code = 0;
    CHECK(divide(10, 3) == 3);
    __try {
        sink = divide(10, 0);
    } __except (EXCEPTION_EXECUTE_HANDLER) {
        code = GetExceptionCode();
    }
    CHECK(code == STATUS_INTEGER_DIVIDE_BY_ZERO);

    /* Breakpoints: DbgBreakPoint and a raw int3. */
    code = 0;
    __try {
        DbgBreakPoint();
    } __except (EXCEPTION_EXECUTE_HANDLER) {
        code = GetExceptionCode();
    }
    CHECK(code == STATUS_BREAKPOINT);
    code = 0;
    __try {
        __asm__ volatile("int3");
    } __except (code = GetExceptionCode(), EXCEPTION_EXECUTE_HANDLER) {
    }
    CHECK(code == STATUS_BREAKPOINT);
}

static int only_misalignment(NTSTATUS code) {
    return code == STATUS_DATATYPE_MISALIGNMENT ? EXCEPTION_EXECUTE_HANDLER : EXCEPTION_CONTINUE_SEARCH;
}

static void raise_in_callee(NTSTATUS status) {
    ExRaiseStatus(status);
}

static int filter_calls, inner_handler_runs;
static void declines_then_rethrows(NTSTATUS status) {
    __try {
        raise_in_callee(status);
    } __except (++filter_calls, only_misalignment(GetExceptionCode())) {
        ++inner_handler_runs;
    }
}

/* S-SEH-2: ExRaiseStatus reaches the innermost __try through the functions between;
 * a filter's EXCEPTION_CONTINUE_SEARCH passes it to the next frame out; the raise's
 * record is non-continuable and has its code and caller. */
static void raises_and_filters(void) {
    NTSTATUS code = 0;
    ULONG flags = 0;
    PVOID where = NULL;
    filter_calls = inner_handler_runs = 0;
    __try {
        declines_then_rethrows(STATUS_INSUFFICIENT_RESOURCES);
    } __except (flags = GetExceptionInformation()->ExceptionRecord->ExceptionFlags,
                where = GetExceptionInformation()->ExceptionRecord->ExceptionAddress, EXCEPTION_EXECUTE_HANDLER) {
        code = GetExceptionCode();
    }
    CHECK(filter_calls == 1 && inner_handler_runs == 0);
    CHECK(code == STATUS_INSUFFICIENT_RESOURCES);
    CHECK(flags & EXCEPTION_NONCONTINUABLE);
    CHECK(where != NULL);

    code = 0;
    __try {
        declines_then_rethrows(STATUS_DATATYPE_MISALIGNMENT);
        code = 1;
    } __except (EXCEPTION_EXECUTE_HANDLER) {
        code = 2;
    }
    CHECK(code == 1 && inner_handler_runs == 1); /* the inner frame took it and its caller went on */

    /* The raise helpers. */
    code = 0;
    __try { ExRaiseAccessViolation(); } __except (EXCEPTION_EXECUTE_HANDLER) { code = GetExceptionCode(); }
    CHECK(code == STATUS_ACCESS_VIOLATION);
    __try { ExRaiseDatatypeMisalignment(); } __except (EXCEPTION_EXECUTE_HANDLER) { code = GetExceptionCode(); }
    CHECK(code == STATUS_DATATYPE_MISALIGNMENT);
    __try { RtlRaiseStatus(STATUS_INVALID_PARAMETER); } __except (EXCEPTION_EXECUTE_HANDLER) { code = GetExceptionCode(); }
    CHECK(code == STATUS_INVALID_PARAMETER);

    /* ExAllocatePool2 with POOL_FLAG_RAISE_ON_FAILURE raises when it fails. */
    code = 0;
    __try {
        PVOID p = ExAllocatePool2(POOL_FLAG_NON_PAGED | POOL_FLAG_RAISE_ON_FAILURE, ~(SIZE_T)0, 0x74736554);
        CHECK(!"an impossible allocation returned");
        ExFreePool(p);
    } __except (EXCEPTION_EXECUTE_HANDLER) {
        code = GetExceptionCode();
    }
    CHECK(code == STATUS_INSUFFICIENT_RESOURCES);

    /* So does ExAllocatePoolWithTag with a type ORed with POOL_RAISE_IF_ALLOCATION_FAILURE
     * (S-POOL-3), as a RAISE_ON_FAIL lookaside list's allocate routine gets it (S-EX-9). */
    code = 0;
    __try {
        PVOID p = ExAllocatePoolWithTag((POOL_TYPE)(NonPagedPoolNx | POOL_RAISE_IF_ALLOCATION_FAILURE), ~(SIZE_T)0,
                                        0x74736554);
        CHECK(!"an impossible allocation returned");
        ExFreePool(p);
    } __except (EXCEPTION_EXECUTE_HANDLER) {
        code = GetExceptionCode();
    }
    CHECK(code == STATUS_INSUFFICIENT_RESOURCES);

    /* HeapAlloc with HEAP_GENERATE_EXCEPTIONS raises STATUS_NO_MEMORY when it fails. */
    code = 0;
    __try {
        CHECK(HeapAlloc(GetProcessHeap(), HEAP_GENERATE_EXCEPTIONS, ~(SIZE_T)0 - 8) == NULL);
        CHECK(!"a failed HeapAlloc with HEAP_GENERATE_EXCEPTIONS returned");
    } __except (EXCEPTION_EXECUTE_HANDLER) {
        code = GetExceptionCode();
    }
    CHECK(code == STATUS_NO_MEMORY);

    /* An exception inside a handler goes to the frame outside, not back to its own. */
    code = 0;
    __try {
        __try {
            ExRaiseStatus(STATUS_UNSUCCESSFUL);
        } __except (EXCEPTION_EXECUTE_HANDLER) {
            ExRaiseStatus(STATUS_NOT_SUPPORTED);
        }
    } __except (EXCEPTION_EXECUTE_HANDLER) {
        code = GetExceptionCode();
    }
    CHECK(code == STATUS_NOT_SUPPORTED);
}

static int readable(volatile char *p) {
    int ok = 1;
    __try {
        sink = *p;
    } __except (EXCEPTION_EXECUTE_HANDLER) {
        ok = 0;
    }
    return ok;
}

/* S-SEH-9: a filter or handler that calls a function which catches an exception of its
 * own still sees its frame's exception, and passes that one on. */
static void nested_exceptions_in_filters(void) {
    NTSTATUS outer = 0, in_handler = 0;
    volatile int readable_in_filter = -1; /* written before the jump to the outer frame */
    __try {
        __try {
            RaiseException(0xE0000003u, 0, 0, NULL);
        } __except (readable_in_filter = readable((volatile char *)low_address),
                    GetExceptionCode() == (NTSTATUS)0xE0000003u ? EXCEPTION_CONTINUE_SEARCH : EXCEPTION_EXECUTE_HANDLER) {
            CHECK(!"the filter saw the access violation instead of its own exception");
        }
    } __except (outer = GetExceptionCode(), EXCEPTION_EXECUTE_HANDLER) {
        CHECK(!readable((volatile char *)low_address));
        in_handler = GetExceptionCode();
    }
    CHECK(readable_in_filter == 0);
    CHECK(outer == (NTSTATUS)0xE0000003u);
    CHECK(in_handler == (NTSTATUS)0xE0000003u);
}

/* S-SEH-10 (GCC): locals written inside a __try keep the values they had when a call
 * in the body raised, at any optimization level: a loop counter GCC would otherwise
 * never store, and a pointer allocated in the body and freed in the handler. */
#if defined(__GNUC__) && !defined(__clang__)
static __attribute__((noinline)) void step(int i) {
    if (i == 3) ExRaiseStatus(STATUS_UNSUCCESSFUL);
}
#endif

static void locals_survive_an_exception(void) {
#if defined(__GNUC__) && !defined(__clang__)
    int done = 0, i;
    char *buffer = NULL;
    __try {
        for (i = 0; i < 10; i++) {
            step(i);
            done = i + 1;
        }
    } __except (EXCEPTION_EXECUTE_HANDLER) {
    }
    CHECK(done == 3);
    __try {
        buffer = HeapAlloc(GetProcessHeap(), 0, 64);
        step(3);
    } __except (EXCEPTION_EXECUTE_HANDLER) {
        CHECK(buffer != NULL);
        if (buffer) HeapFree(GetProcessHeap(), 0, buffer);
        buffer = NULL;
    }
    CHECK(buffer == NULL);
#endif
}

/* S-SEH-3: RaiseException carries its code, flags and arguments (at most 15);
 * EXCEPTION_CONTINUE_EXECUTION on a non-continuable exception raises
 * STATUS_NONCONTINUABLE_EXCEPTION, whose record points at the first. */
static void raise_exception_records(void) {
    ULONG_PTR args[20];
    EXCEPTION_RECORD seen;
    NTSTATUS chained = 0;
    int i;
    for (i = 0; i < 20; ++i) args[i] = (ULONG_PTR)(100 + i);
    memset(&seen, 0, sizeof seen);
    __try {
        RaiseException(0xE0000001u, 0, 20, args);
    } __except (seen = *GetExceptionInformation()->ExceptionRecord, EXCEPTION_EXECUTE_HANDLER) {
    }
    CHECK(seen.ExceptionCode == (NTSTATUS)0xE0000001u);
    CHECK(seen.ExceptionFlags == 0);
    CHECK(seen.NumberParameters == EXCEPTION_MAXIMUM_PARAMETERS);
    CHECK(seen.ExceptionInformation[0] == 100 && seen.ExceptionInformation[14] == 114);

    /* Bit 28 is the system's: RaiseException clears it. */
    __try {
        RaiseException(0xF0000001u, 0, 0, NULL);
    } __except (seen = *GetExceptionInformation()->ExceptionRecord, EXCEPTION_EXECUTE_HANDLER) {
    }
    CHECK(seen.ExceptionCode == (NTSTATUS)0xE0000001u);

    __try {
        __try {
            RaiseException(0xE0000002u, EXCEPTION_NONCONTINUABLE, 0, NULL);
        } __except (EXCEPTION_CONTINUE_EXECUTION) {
            CHECK(!"a handler ran after EXCEPTION_CONTINUE_EXECUTION");
        }
    } __except (seen = *GetExceptionInformation()->ExceptionRecord,
                chained = seen.ExceptionRecord ? seen.ExceptionRecord->ExceptionCode : 0, EXCEPTION_EXECUTE_HANDLER) {
    }
    CHECK(seen.ExceptionCode == STATUS_NONCONTINUABLE_EXCEPTION);
    CHECK(chained == (NTSTATUS)0xE0000002u);
}

static int trail[16];
static int trail_length;
static void note(int step) {
    if (trail_length < 16) trail[trail_length] = step;
    ++trail_length;
}

static void finally_passes_exception(void) {
    __try {
        note(1);
        ExRaiseStatus(STATUS_UNSUCCESSFUL);
    } __finally {
        note(AbnormalTermination() ? 2 : 20);
    }
    note(99); /* never: the exception went on */
}

/* S-SEH-4: __finally runs when its __try ends, by __leave, and (with
 * AbnormalTermination() true) while an exception passes through it to the handler
 * outside; then the exception goes on. */
static void finally_blocks(void) {
    int ran = 0, abnormal = -1, body = 0;
    __try {
        body = 1;
    } __finally {
        ran = 1;
        abnormal = AbnormalTermination();
    }
    CHECK(body == 1 && ran == 1 && abnormal == 0);

    ran = 0, body = 0;
    __try {
        body = 1;
        __leave;
        body = 2;
    } __finally {
        ran = 1;
        abnormal = AbnormalTermination();
    }
    CHECK(body == 1 && ran == 1 && abnormal == 0);

    trail_length = 0;
    __try {
        finally_passes_exception();
    } __except (note(3), EXCEPTION_EXECUTE_HANDLER) {
        note(4);
    }
    note(5);
    CHECK(trail_length == 5);
    CHECK(trail[0] == 1 && trail[1] == 2 && trail[2] == 3 && trail[3] == 4 && trail[4] == 5);

    /* A __try/__finally inside a __try/__except inside a __try/__finally. */
    trail_length = 0;
    __try {
        __try {
            __try {
                note(1);
                ExRaiseStatus(STATUS_UNSUCCESSFUL);
            } __finally {
                note(2);
            }
        } __except (EXCEPTION_EXECUTE_HANDLER) {
            note(3);
        }
        note(4);
    } __finally {
        note(AbnormalTermination() ? 50 : 5);
    }
    CHECK(trail_length == 5);
    CHECK(trail[0] == 1 && trail[1] == 2 && trail[2] == 3 && trail[3] == 4 && trail[4] == 5);
}

static int leaves_by_return(int fault) {
    __try {
        if (!fault) return 7;
        ExRaiseStatus(STATUS_UNSUCCESSFUL);
    } __except (EXCEPTION_EXECUTE_HANDLER) {
        return 8;
    }
    return 9;
}

/* Both the __try and the __except return: the function does not fall off its end
 * (this file builds with -Wall -Werror, so -Wreturn-type would stop it). */
static int returns_from_both(volatile int *p) {
    __try {
        return *p;
    } __except (EXCEPTION_EXECUTE_HANDLER) {
        return -1;
    }
#if defined(__GNUC__) && !defined(__clang__) && !defined(__OPTIMIZE__)
    return -2; /* GCC at -O0 cannot see that this is unreachable (docs/compat.md) */
#endif
}

/* Two __except on one line. */
static int two_on_a_line(void) {
    int n = 0;
    __try { ExRaiseStatus(STATUS_UNSUCCESSFUL); } __except (1) { n += 1; } __try { ExRaiseStatus(STATUS_UNSUCCESSFUL); } __except (1) { n += 2; }
    return n;
}

/* S-SEH-5: return, break and continue out of a __try with __except leave it
 * properly: the frame is gone, so the next exception finds the right one. */
static void jumps_out_of_try(void) {
    int i, seen = 0, caught = 0;
    CHECK(returns_from_both(low_address) == -1);
    CHECK(two_on_a_line() == 3);
    CHECK(leaves_by_return(0) == 7);
    CHECK(leaves_by_return(1) == 8);
    for (i = 0; i < 10; ++i) {
        __try {
            if (i == 2) continue;
            if (i == 5) break;
            ++seen;
        } __except (EXCEPTION_EXECUTE_HANDLER) {
            CHECK(!"no exception was raised");
        }
    }
    CHECK(i == 5 && seen == 4);
    /* Nothing of those frames is left: this one takes the exception. */
    __try {
        ExRaiseStatus(STATUS_UNSUCCESSFUL);
    } __except (EXCEPTION_EXECUTE_HANDLER) {
        ++caught;
    }
    CHECK(caught == 1);
    /* break inside a handler leaves the caller's loop. */
    for (i = 0; i < 10; ++i) {
        __try {
            if (i == 3) ExRaiseStatus(STATUS_UNSUCCESSFUL);
        } __except (EXCEPTION_EXECUTE_HANDLER) {
            break;
        }
    }
    CHECK(i == 3);
    /* An if and else without braces around a whole __try ... __except guard all of it
     * (GCC suggests braces there: the construct is an if statement inside). */
    caught = 0;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdangling-else"
    if (i == 3)
        __try { ExRaiseStatus(STATUS_UNSUCCESSFUL); } __except (EXCEPTION_EXECUTE_HANDLER) { caught += 1; }
    else
        caught += 10;
    if (i != 3)
        __try { ExRaiseStatus(STATUS_UNSUCCESSFUL); } __except (EXCEPTION_EXECUTE_HANDLER) { caught += 100; }
    else
        caught += 1000;
#pragma GCC diagnostic pop
    CHECK(caught == 1001);
}

/* S-SEH-6: the probes check alignment and the user range without touching memory
 * (ProbeForRead) or write every page back (ProbeForWrite). */
static NTSTATUS probe(int write, const void *address, SIZE_T length, ULONG alignment, ULONG_PTR *where) {
    NTSTATUS status = STATUS_SUCCESS;
    __try {
        if (write) ProbeForWrite((PVOID)address, length, alignment);
        else ProbeForRead(address, length, alignment);
    } __except (*where = GetExceptionInformation()->ExceptionRecord->ExceptionInformation[1], EXCEPTION_EXECUTE_HANDLER) {
        status = GetExceptionCode();
    }
    return status;
}

static void probes(void) {
    long page = sysconf(_SC_PAGESIZE);
    char *three = mmap(NULL, (size_t)page * 3, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ULONG_PTR where = 0;
    if (three == MAP_FAILED) abort();
    memset(three, 0x33, (size_t)page * 3);

    CHECK(probe(0, three, 16, 1, &where) == STATUS_SUCCESS);
    CHECK(probe(0, three + 2, 16, 4, &where) == STATUS_DATATYPE_MISALIGNMENT);
    CHECK(probe(0, NULL, 0, 4, &where) == STATUS_SUCCESS);          /* zero length: no check */
    CHECK(probe(0, three + 1, 0, 8, &where) == STATUS_SUCCESS);
    CHECK(probe(0, (void *)(uintptr_t)0x1000, 64, 1, &where) == STATUS_SUCCESS); /* read: range only */
    where = 0;
    CHECK(probe(0, (void *)(MmUserProbeAddress - 8), 16, 1, &where) == STATUS_ACCESS_VIOLATION);
    CHECK(where == MmUserProbeAddress);
    CHECK(probe(0, (void *)(uintptr_t)~(uintptr_t)15, 64, 1, &where) == STATUS_ACCESS_VIOLATION); /* wraps */
    where = 0;
    CHECK(probe(1, (void *)(MmUserProbeAddress - 8), 16, 1, &where) == STATUS_ACCESS_VIOLATION);
    CHECK(where == MmUserProbeAddress); /* the range check comes before any write */

    CHECK(probe(1, three, (SIZE_T)page * 3, 8, &where) == STATUS_SUCCESS);
    CHECK(three[0] == 0x33 && three[page] == 0x33 && three[2 * page] == 0x33); /* written back unchanged */
    mprotect(three + 2 * page, (size_t)page, PROT_READ);
    where = 0;
    CHECK(probe(1, three + 100, (SIZE_T)page * 2, 4, &where) == STATUS_ACCESS_VIOLATION);
    CHECK(where == (ULONG_PTR)(three + 2 * page));
    CHECK(probe(0, three + 100, (SIZE_T)page * 2, 4, &where) == STATUS_SUCCESS);
    CHECK(probe(1, three + 100, (SIZE_T)page, 4, &where) == STATUS_SUCCESS); /* ends before the read-only page */
    CHECK(probe(1, (void *)(uintptr_t)0x1000, 1, 1, &where) == STATUS_ACCESS_VIOLATION); /* unmapped */
    munmap(three, (size_t)page * 3);
}

/* S-SEH-7: frames belong to their thread: two threads fault in a loop at once, and
 * each exception lands in its own thread's handler. */
static void *faulting_thread(void *arg) {
    char *none = arg;
    long caught = 0;
    int i;
    for (i = 0; i < 2000; ++i) {
        __try {
            if (i % 2) sink = none[i % 64];
            else ExRaiseStatus(STATUS_UNSUCCESSFUL);
        } __except (EXCEPTION_EXECUTE_HANDLER) {
            ++caught;
        }
    }
    return (void *)caught;
}

static void threads(void) {
    char *none = page_with(PROT_NONE);
    pthread_t a, b;
    void *ra = NULL, *rb = NULL;
    pthread_create(&a, NULL, faulting_thread, none);
    pthread_create(&b, NULL, faulting_thread, none);
    pthread_join(a, &ra);
    pthread_join(b, &rb);
    CHECK((long)ra == 2000 && (long)rb == 2000);
    munmap(none, (size_t)sysconf(_SC_PAGESIZE));
}

/* The older spellings through <sehmap.h>. */
static void short_keywords(void) {
    NTSTATUS status = STATUS_SUCCESS;
    int done = 0;
    try {
        ExRaiseStatus(STATUS_INVALID_USER_BUFFER);
    } except (EXCEPTION_EXECUTE_HANDLER) {
        status = GetExceptionCode();
    }
    try {
        leave;
    } finally {
        done = 1;
    }
    CHECK(status == STATUS_INVALID_USER_BUFFER && done == 1);
}

/* ---- the cases that must stop the process ---- */
static int returns_out_of_finally_try(void) {
    __try {
        return 1;
    } __finally {
        sink = 2;
    }
    return 0;
}

/* S-KE-16: KeReleaseSemaphore past the limit inside __try raises
 * STATUS_SEMAPHORE_LIMIT_EXCEEDED, as on Windows, and leaves the count; the semaphore
 * goes on working. (With no frame it is a verifier report instead: KeObjects tests.) */
static void semaphore_past_its_limit(void) {
    KSEMAPHORE s;
    NTSTATUS code = STATUS_SUCCESS;
    LONG previous = -1;
    KeInitializeSemaphore(&s, 4, 5);
    __try {
        previous = KeReleaseSemaphore(&s, IO_NO_INCREMENT, 2, FALSE);
    } __except (EXCEPTION_EXECUTE_HANDLER) {
        code = GetExceptionCode();
    }
    CHECK(code == STATUS_SEMAPHORE_LIMIT_EXCEEDED);
    CHECK(previous == -1);
    CHECK(KeReadStateSemaphore(&s) == 4);
    CHECK(KeReleaseSemaphore(&s, IO_NO_INCREMENT, 1, FALSE) == 4);
}

int main(int argc, char **argv) {
    if (argc > 1) {
        const char *c = argv[1];
        if (!strcmp(c, "unhandled-raise")) ExRaiseStatus(STATUS_INVALID_DEVICE_REQUEST);
        if (!strcmp(c, "raise-after-jumps")) {
            /* Frames left by return, break and continue are gone: nothing takes this. */
            jumps_out_of_try();
            ExRaiseStatus(STATUS_INVALID_DEVICE_REQUEST);
        }
        if (!strcmp(c, "declined-fault")) {
            __try { sink = *low_address; } __except (EXCEPTION_CONTINUE_SEARCH) {}
        }
        if (!strcmp(c, "return-out-of-finally")) returns_out_of_finally_try();
        if (!strcmp(c, "continue-execution")) {
            __try { RaiseException(0xE0000003u, 0, 0, NULL); } __except (EXCEPTION_CONTINUE_EXECUTION) {}
        }
        if (!strcmp(c, "break-outside-try")) DbgBreakPoint(); /* no debugger: the process stops */
        if (!strcmp(c, "fault-outside-try")) {
            __try { sink = 1; } __except (EXCEPTION_EXECUTE_HANDLER) {}
            sink = *low_address; /* no frame: the process crashes as it would without ntio */
        }
        printf("case %s went on\n", c);
        return 0;
    }
    access_violations();
    semaphore_past_its_limit();
    other_hardware_exceptions();
    raises_and_filters();
    raise_exception_records();
    nested_exceptions_in_filters();
    locals_survive_an_exception();
    finally_blocks();
    jumps_out_of_try();
    probes();
    threads();
    short_keywords();
    printf("%d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
