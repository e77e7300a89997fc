/* <intsafe.h> in a strict C11 application (test compat.intsafe, S-INT-1..4): included first,
 * alone, as the SDK's may be, then <windows.h>; the unsigned arithmetic at Windows's widths,
 * conversions with the error value they store, and the signed arithmetic left out without
 * ENABLE_INTSAFE_SIGNED_FUNCTIONS (this file defines a LongAdd of its own). The driver side
 * is tests/c/intsafe_driver.c, run with this program by compat.ntintsafe_driver. */
#include <intsafe.h>
#include <windows.h>

#include <stdio.h>

#include "check.h"

/* S-INT-3: without ENABLE_INTSAFE_SIGNED_FUNCTIONS the name is the program's. */
static LONG LongAdd(LONG a, LONG b) {
    return a + b;
}

int main(void) {
    ULONG ul = 7;
    USHORT us = 7;
    UCHAR uc = 7;
    BYTE b = 7;
    CHAR c = 7;
    LONG l = 7;
    INT i = 7;
    SIZE_T s = 7;
    ULONGLONG ull = 7;
    DWORD_PTR dp = 7;

    /* S-INT-1 */
    CHECK(ULongAdd(0xFFFFFFFEu, 1, &ul) == S_OK && ul == 0xFFFFFFFFu);
    CHECK(ULongAdd(0xFFFFFFFFu, 1, &ul) == INTSAFE_E_ARITHMETIC_OVERFLOW && ul == ULONG_ERROR);
    CHECK(DWordSub(0, 1, &ul) == INTSAFE_E_ARITHMETIC_OVERFLOW && ul == DWORD_ERROR);
    CHECK(UIntMult(65537, 65535, &ul) == S_OK && ul == 0xFFFFFFFFu);
    CHECK(ULongMult(0x10000, 0x10000, &ul) == INTSAFE_E_ARITHMETIC_OVERFLOW && ul == ULONG_ERROR);
    CHECK(SizeTAdd(0xFFFFFFFFu, 1, &s) == S_OK && s == 0x100000000ull);
    CHECK(SizeTMult((SIZE_T)1 << 32, (SIZE_T)1 << 32, &s) == INTSAFE_E_ARITHMETIC_OVERFLOW && s == SIZE_T_ERROR);
    CHECK(SIZETSub(1, 1, &s) == S_OK && s == 0);
    CHECK(DWordPtrAdd(MAXULONG_PTR, 0, &dp) == S_OK && dp == MAXULONG_PTR);
    CHECK(ULongLongAdd(MAXULONGLONG, 1, &ull) == INTSAFE_E_ARITHMETIC_OVERFLOW && ull == ULONGLONG_ERROR);
    CHECK(WordAdd(0xFFFF, 1, &us) == INTSAFE_E_ARITHMETIC_OVERFLOW && us == WORD_ERROR);

    /* S-INT-2 */
    CHECK(ULongLongToULong(0xFFFFFFFFull, &ul) == S_OK && ul == 0xFFFFFFFFu);
    CHECK(ULongLongToULong(0x100000000ull, &ul) == INTSAFE_E_ARITHMETIC_OVERFLOW && ul == ULONG_ERROR);
    CHECK(SizeTToDWord(0x100000000ull, &ul) == INTSAFE_E_ARITHMETIC_OVERFLOW && ul == DWORD_ERROR);
    CHECK(SizeTToULong(42, &ul) == S_OK && ul == 42);
    CHECK(ULongPtrToULong(0xFFFFFFFFu, &ul) == S_OK && ul == 0xFFFFFFFFu);
    CHECK(LongToULong(-1, &ul) == INTSAFE_E_ARITHMETIC_OVERFLOW && ul == ULONG_ERROR);
    CHECK(ULongToLong(0x80000000u, &l) == INTSAFE_E_ARITHMETIC_OVERFLOW && l == LONG_ERROR);
    CHECK(UIntToInt(MAXINT, &i) == S_OK && i == MAXINT);
    CHECK(IntToUInt(-5, (UINT *)&ul) == INTSAFE_E_ARITHMETIC_OVERFLOW && ul == UINT_ERROR);
    CHECK(LongLongToULong(-1, &ul) == INTSAFE_E_ARITHMETIC_OVERFLOW && ul == ULONG_ERROR);
    CHECK(Int64ToULong(0xFFFFFFFFll, &ul) == S_OK && ul == 0xFFFFFFFFu);
    CHECK(ULongToUShort(0x10000, &us) == INTSAFE_E_ARITHMETIC_OVERFLOW && us == USHORT_ERROR);
    CHECK(ULongToUChar(0x100, &uc) == INTSAFE_E_ARITHMETIC_OVERFLOW && uc == '\0');
    CHECK(ULongToByte(0x100, &b) == INTSAFE_E_ARITHMETIC_OVERFLOW && b == BYTE_ERROR);
    CHECK(IntToChar(-128, &c) == S_OK && c == -128);
    CHECK(IntToChar(300, &c) == INTSAFE_E_ARITHMETIC_OVERFLOW);

    /* S-INT-3 and S-INT-4 */
    CHECK(LongAdd(2, 3) == 5);
    CHECK(INTSAFE_E_ARITHMETIC_OVERFLOW == HRESULT_FROM_WIN32(ERROR_ARITHMETIC_OVERFLOW));
    CHECK(FAILED(INTSAFE_E_ARITHMETIC_OVERFLOW) && SUCCEEDED(S_OK));
    CHECK(MAXSIZE_T == SIZE_T_ERROR && MAXULONG == ULONG_ERROR && MINLONG < 0 && MINSHORT == -32768);

    if (failures) {
        fprintf(stderr, "%d of %d checks failed\n", failures, checks);
        return 1;
    }
    printf("intsafe app: %d checks passed\n", checks);
    return 0;
}
