/* <ntintsafe.h> in a strict C11 driver (test compat.ntintsafe_driver, S-INT-1..4):
 * included before <ntddk.h> and with <ntstrsafe.h>, the signed arithmetic enabled as the
 * WDK allows; DriverEntry checks the routines drivers use for their size arithmetic and
 * fails the load if one is wrong. Run with tests/c/intsafe_app.c. */
#define ENABLE_INTSAFE_SIGNED_FUNCTIONS
#include <ntintsafe.h>
#include <ntddk.h>
#include <ntstrsafe.h>

static int g_checks;
static int g_failures;

#define CHECK(cond)                                                              \
    do {                                                                         \
        ++g_checks;                                                              \
        if (!(cond)) {                                                           \
            ++g_failures;                                                        \
            DbgPrint("ntintsafe: line %d: check failed: %s\n", __LINE__, #cond); \
        }                                                                        \
    } while (0)

static VOID Unload(PDRIVER_OBJECT DriverObject) {
    UNREFERENCED_PARAMETER(DriverObject);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) {
    ULONG ul = 7;
    SIZE_T cb = 7;
    USHORT us = 7;
    LONG l = 7;
    ULONG_PTR up = 7;
    char text[32];
    UNREFERENCED_PARAMETER(RegistryPath);

    /* S-INT-1: a header plus count records, as a driver sizes an allocation */
    CHECK(RtlSizeTMult(100, sizeof(ULONG), &cb) == STATUS_SUCCESS && cb == 400);
    CHECK(RtlSizeTAdd(cb, sizeof(LIST_ENTRY), &cb) == STATUS_SUCCESS && cb == 416);
    CHECK(RtlSizeTMult(MAXSIZE_T / 2 + 1, 2, &cb) == STATUS_INTEGER_OVERFLOW && cb == SIZE_T_ERROR);
    CHECK(RtlULongAdd(0xFFFFFFFFu, 1, &ul) == STATUS_INTEGER_OVERFLOW && ul == ULONG_ERROR);
    CHECK(RtlULongSub(0, 1, &ul) == STATUS_INTEGER_OVERFLOW && ul == ULONG_ERROR);
    CHECK(RtlULongMult(0x10000, 0xFFFF, &ul) == STATUS_SUCCESS && ul == 0xFFFF0000u);
    CHECK(RtlUShortAdd(0xFFFF, 1, &us) == STATUS_INTEGER_OVERFLOW && us == USHORT_ERROR);
    CHECK(RtlULongPtrAdd(MAXULONG_PTR, 1, &up) == STATUS_INTEGER_OVERFLOW && up == ULONG_PTR_ERROR);

    /* S-INT-2: an IOCTL's 64-bit length into a ULONG, a SIZE_T into a UNICODE_STRING's USHORT */
    CHECK(RtlULongLongToULong(0x100000000ull, &ul) == STATUS_INTEGER_OVERFLOW && ul == ULONG_ERROR);
    CHECK(RtlULongLongToULong(4096, &ul) == STATUS_SUCCESS && ul == 4096);
    CHECK(RtlSizeTToUShort(0x10000, &us) == STATUS_INTEGER_OVERFLOW && us == USHORT_ERROR);
    CHECK(RtlSizeTToULong(0xFFFFFFFFu, &ul) == STATUS_SUCCESS && ul == 0xFFFFFFFFu);
    CHECK(RtlLongToULong(-1, &ul) == STATUS_INTEGER_OVERFLOW && ul == ULONG_ERROR);
    CHECK(RtlULongToLong(0x80000000u, &l) == STATUS_INTEGER_OVERFLOW && l == LONG_ERROR);

    /* S-INT-3, S-INT-4 (534 is ERROR_ARITHMETIC_OVERFLOW, which is winerror.h's, not the WDK's) */
    CHECK(RtlLongAdd(MAXLONG, 1, &l) == STATUS_INTEGER_OVERFLOW && l == -1);
    CHECK(RtlLongSub(-1, MAXLONG, &l) == STATUS_SUCCESS && l == MINLONG);
    CHECK(!NT_SUCCESS(STATUS_INTEGER_OVERFLOW) && RtlNtStatusToDosError(STATUS_INTEGER_OVERFLOW) == 534u);
    CHECK(RtlStringCbPrintfA(text, sizeof text, "%lu", ULONG_ERROR) == STATUS_SUCCESS);

    DriverObject->DriverUnload = Unload;
    if (g_failures) {
        DbgPrint("ntintsafe: %d of %d checks failed\n", g_failures, g_checks);
        return STATUS_UNSUCCESSFUL;
    }
    DbgPrint("ntintsafe: %d checks passed (%s)\n", g_checks, text);
    return STATUS_SUCCESS;
}
