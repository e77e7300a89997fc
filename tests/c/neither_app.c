/* The client of neither_driver.c: good buffers, then a read-only output page, a
 * misaligned output, an input on an unmapped page, each failing with ERROR_NOACCESS
 * (998) while the driver keeps working (test compat.neither_seh). */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <windows.h>
#include <winioctl.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define IOCTL_NEITHER_COPY CTL_CODE(FILE_DEVICE_UNKNOWN, 0x900, METHOD_NEITHER, FILE_ANY_ACCESS)
#define IOCTL_NEITHER_SUM CTL_CODE(FILE_DEVICE_UNKNOWN, 0x901, METHOD_NEITHER, FILE_ANY_ACCESS)
#define IOCTL_NEITHER_FILL CTL_CODE(FILE_DEVICE_UNKNOWN, 0x902, METHOD_NEITHER, FILE_ANY_ACCESS)
#define IOCTL_NEITHER_RAISE CTL_CODE(FILE_DEVICE_UNKNOWN, 0x903, METHOD_NEITHER, FILE_ANY_ACCESS)
#define IOCTL_NEITHER_FAULT CTL_CODE(FILE_DEVICE_UNKNOWN, 0x904, METHOD_NEITHER, FILE_ANY_ACCESS)

static int failures;
#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            ++failures;                                                              \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

static void copy_case(HANDLE h, const char *what, void *out, DWORD out_length, BOOL expect_ok) {
    char in[] = "probe me";
    DWORD bytes = 12345;
    BOOL ok;
    SetLastError(0);
    ok = DeviceIoControl(h, IOCTL_NEITHER_COPY, in, (DWORD)strlen(in), out, out_length, &bytes, NULL);
    printf("%s: DeviceIoControl=%s error=%lu bytes=%lu\n", what, ok ? "TRUE" : "FALSE",
           ok ? 0UL : (unsigned long)GetLastError(), (unsigned long)bytes);
    CHECK(ok == expect_ok);
    if (expect_ok) {
        CHECK(bytes == strlen(in));
        CHECK(memcmp(out, "PROBE ME", strlen(in)) == 0);
    } else {
        CHECK(GetLastError() == ERROR_NOACCESS);
    }
}

/* Exceptions in app code, typed as the SDK types them (DWORD codes): Microsoft's
 * try-except example's filter, and GetExceptionCode() against a DWORD. */
static int filter(unsigned int code, struct _EXCEPTION_POINTERS *ep) {
    (void)ep;
    return code == EXCEPTION_ACCESS_VIOLATION ? EXCEPTION_EXECUTE_HANDLER : EXCEPTION_CONTINUE_SEARCH;
}

static void app_side_exceptions(void) {
    volatile int caught = 0;
    DWORD code = 0;
    __try {
        __try {
            RaiseException(0xE0000003u, 0, 0, NULL);
        } __except (filter(GetExceptionCode(), GetExceptionInformation())) {
            caught = 1;
        }
    } __except (GetExceptionCode() == (DWORD)0xE0000003u ? EXCEPTION_EXECUTE_HANDLER : EXCEPTION_CONTINUE_SEARCH) {
        code = GetExceptionCode();
        caught = 2;
    }
    printf("app exception: caught by frame %d, code 0x%08lX\n", caught, (unsigned long)code);
    CHECK(caught == 2 && code == 0xE0000003u);
}

/* A driver's unhandled exception under the app's own __try: Windows never hands a
 * kernel exception to user mode (it stops the system), so neither may ntio. */
static int driver_bug_under_try(HANDLE h, DWORD code) {
    DWORD bytes = 0;
    __try {
        DeviceIoControl(h, code, NULL, 0, (void *)(uintptr_t)16, 4, &bytes, NULL);
    } __except (EXCEPTION_EXECUTE_HANDLER) {
        printf("the app caught the driver's exception 0x%08lX\n", (unsigned long)GetExceptionCode());
    }
    printf("went on after the driver's bug\n");
    return 1;
}

int main(int argc, char **argv) {
    HANDLE h = CreateFileA("\\\\.\\NeitherSeh", GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    char *pages = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ULONG numbers[4] = {1, 2, 3, 4}, sum = 0;
    DWORD bytes = 0;
    BOOL ok;
    setvbuf(stdout, NULL, _IONBF, 0); /* in order with the driver's DbgPrint lines */
    if (h == INVALID_HANDLE_VALUE || pages == MAP_FAILED) {
        printf("setup failed: error %lu\n", (unsigned long)GetLastError());
        return 2;
    }
    if (argc > 1 && !strcmp(argv[1], "raise-under-try")) return driver_bug_under_try(h, IOCTL_NEITHER_RAISE);
    if (argc > 1 && !strcmp(argv[1], "fault-under-try")) return driver_bug_under_try(h, IOCTL_NEITHER_FAULT);
    munmap(pages + 2 * 4096, 4096);         /* the third page is gone */
    mprotect(pages + 4096, 4096, PROT_READ); /* the second is read-only */

    copy_case(h, "good buffers", pages + 64, 64, TRUE);
    copy_case(h, "read-only output", pages + 4096 + 64, 64, FALSE);
    copy_case(h, "misaligned output", pages + 65, 64, FALSE);
    copy_case(h, "good buffers again", pages + 128, 64, TRUE);

    ok = DeviceIoControl(h, IOCTL_NEITHER_SUM, numbers, sizeof numbers, &sum, sizeof sum, &bytes, NULL);
    printf("sum: DeviceIoControl=%s sum=%lu\n", ok ? "TRUE" : "FALSE", (unsigned long)sum);
    CHECK(ok && sum == 10 && bytes == sizeof sum);
    ok = DeviceIoControl(h, IOCTL_NEITHER_SUM, pages + 2 * 4096, 16, &sum, sizeof sum, &bytes, NULL);
    printf("sum of an unmapped page: DeviceIoControl=%s error=%lu\n", ok ? "TRUE" : "FALSE",
           ok ? 0UL : (unsigned long)GetLastError());
    CHECK(!ok && GetLastError() == ERROR_NOACCESS);
    ok = DeviceIoControl(h, IOCTL_NEITHER_SUM, numbers, sizeof numbers, &sum, 2, &bytes, NULL);
    CHECK(!ok && GetLastError() == ERROR_INSUFFICIENT_BUFFER); /* __leave path */

    /* An MDL the driver probes and locks inside __try: a writable buffer is filled, a
     * read-only one fails the request with the exception's code. */
    {
        static char span[3 * 4096];
        char *fill = (char *)(((uintptr_t)span + 4095) & ~(uintptr_t)4095) + 4000; /* 96 bytes before a page end */
        ok = DeviceIoControl(h, IOCTL_NEITHER_FILL, NULL, 0, fill, 200, &bytes, NULL);
        printf("fill across a page: DeviceIoControl=%s bytes=%lu\n", ok ? "TRUE" : "FALSE", (unsigned long)bytes);
        CHECK(ok && bytes == 200 && (UCHAR)fill[0] == 0xF0 && (UCHAR)fill[17] == 0xF1 && (UCHAR)fill[199] == 0xF7);
    }
    ok = DeviceIoControl(h, IOCTL_NEITHER_FILL, NULL, 0, pages + 4096 + 8, 64, &bytes, NULL);
    printf("fill of a read-only page: DeviceIoControl=%s error=%lu\n", ok ? "TRUE" : "FALSE",
           ok ? 0UL : (unsigned long)GetLastError());
    CHECK(!ok && GetLastError() == ERROR_NOACCESS);

    CloseHandle(h);
    app_side_exceptions();
    printf("%s\n", failures ? "FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
