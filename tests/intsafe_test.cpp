// <intsafe.h> and <ntintsafe.h>, checked integer arithmetic and conversions (S-INT-1..4,
// docs/design.md): both families in one C++ file, the signed arithmetic enabled. The C11
// side is checked by tests/c/intsafe_app.c and tests/c/intsafe_driver.c.
#define ENABLE_INTSAFE_SIGNED_FUNCTIONS
#include <ntddk.h>
#include <ntintsafe.h>
#include <windows.h>
#include <intsafe.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <type_traits>

namespace {

// S-INT-1: ULONG is Windows's 32-bit type, although Linux's unsigned long is 64-bit: the
// sum past 0xFFFFFFFF overflows and leaves ULONG_ERROR.
TEST(Intsafe, S_INT_1_ULongAddOverflowsAtTheWindowsWidth) {
    static_assert(sizeof(ULONG) == 4 && sizeof(DWORD) == 4 && sizeof(UINT) == 4);
    ULONG r = 7;
    EXPECT_EQ(ULongAdd(0xFFFFFFFEu, 1, &r), S_OK);
    EXPECT_EQ(r, 0xFFFFFFFFu);
    r = 7;
    EXPECT_EQ(ULongAdd(0xFFFFFFFFu, 1, &r), INTSAFE_E_ARITHMETIC_OVERFLOW);
    EXPECT_EQ(r, ULONG_ERROR);
    r = 7;
    EXPECT_EQ(DWordAdd(0x80000000u, 0x80000000u, &r), INTSAFE_E_ARITHMETIC_OVERFLOW);
    EXPECT_EQ(r, DWORD_ERROR);
    EXPECT_EQ(UIntAdd(0x7FFFFFFFu, 0x80000000u, &r), S_OK);
    EXPECT_EQ(r, 0xFFFFFFFFu);

    r = 7;
    EXPECT_EQ(RtlULongAdd(0xFFFFFFF0u, 0xF, &r), STATUS_SUCCESS);
    EXPECT_EQ(r, 0xFFFFFFFFu);
    r = 7;
    EXPECT_EQ(RtlULongAdd(0xFFFFFFF0u, 0x10, &r), STATUS_INTEGER_OVERFLOW);
    EXPECT_EQ(r, ULONG_ERROR);
    EXPECT_EQ(RtlDWordAdd(1, 2, &r), STATUS_SUCCESS);
    EXPECT_EQ(r, 3u);
}

// S-INT-1: a difference below 0 underflows, with the same code and error value.
TEST(Intsafe, S_INT_1_SubBelowZeroUnderflows) {
    ULONG r = 7;
    EXPECT_EQ(ULongSub(5, 5, &r), S_OK);
    EXPECT_EQ(r, 0u);
    EXPECT_EQ(ULongSub(0, 1, &r), INTSAFE_E_ARITHMETIC_OVERFLOW);
    EXPECT_EQ(r, ULONG_ERROR);
    SIZE_T s = 7;
    EXPECT_EQ(RtlSizeTSub(0, 1, &s), STATUS_INTEGER_OVERFLOW);
    EXPECT_EQ(s, SIZE_T_ERROR);
    USHORT us = 7;
    EXPECT_EQ(RtlUShortSub(1, 2, &us), STATUS_INTEGER_OVERFLOW);
    EXPECT_EQ(us, USHORT_ERROR);
    ULONGLONG ull = 7;
    EXPECT_EQ(ULongLongSub(0x100000000ULL, 1, &ull), S_OK);
    EXPECT_EQ(ull, 0xFFFFFFFFULL);
}

// S-INT-1: the largest product that fits and the one past it.
TEST(Intsafe, S_INT_1_MultOverflowsByOne) {
    ULONG r = 7;
    EXPECT_EQ(ULongMult(65537, 65535, &r), S_OK);  // 2^32 - 1
    EXPECT_EQ(r, 0xFFFFFFFFu);
    EXPECT_EQ(ULongMult(0x10000, 0x10000, &r), INTSAFE_E_ARITHMETIC_OVERFLOW);  // 2^32
    EXPECT_EQ(r, ULONG_ERROR);
    EXPECT_EQ(RtlULongMult(0, 0xFFFFFFFFu, &r), STATUS_SUCCESS);
    EXPECT_EQ(r, 0u);

    ULONGLONG ull = 7;
    EXPECT_EQ(RtlULongLongMult(0x100000001ULL, 0xFFFFFFFFULL, &ull), STATUS_SUCCESS);  // 2^64 - 1
    EXPECT_EQ(ull, 0xFFFFFFFFFFFFFFFFULL);
    EXPECT_EQ(RtlULongLongMult(0x100000000ULL, 0x100000000ULL, &ull), STATUS_INTEGER_OVERFLOW);
    EXPECT_EQ(ull, ULONGLONG_ERROR);

    USHORT us = 7;
    EXPECT_EQ(UShortMult(257, 255, &us), S_OK);
    EXPECT_EQ(us, 0xFFFFu);
    EXPECT_EQ(WordMult(256, 256, &us), INTSAFE_E_ARITHMETIC_OVERFLOW);
    EXPECT_EQ(us, WORD_ERROR);
    UINT8 u8 = 7;
    EXPECT_EQ(UInt8Mult(15, 17, &u8), S_OK);
    EXPECT_EQ(u8, 255);
    EXPECT_EQ(RtlUInt8Mult(16, 16, &u8), STATUS_INTEGER_OVERFLOW);
    EXPECT_EQ(u8, UINT8_ERROR);
}

// S-INT-1: SIZE_T, size_t and the _PTR types are 64-bit, as on Windows x64.
TEST(Intsafe, S_INT_1_SizeTAndPointerTypesAre64Bit) {
    static_assert(sizeof(SIZE_T) == 8 && sizeof(ULONG_PTR) == 8 && sizeof(DWORD_PTR) == 8);
    SIZE_T s = 7;
    EXPECT_EQ(SizeTAdd(0xFFFFFFFFu, 1, &s), S_OK) << "no overflow at 32 bits";
    EXPECT_EQ(s, 0x100000000ULL);
    EXPECT_EQ(SIZETMult(0x100000000ULL, 0xFFFFFFFFULL, &s), S_OK);
    EXPECT_EQ(s, 0xFFFFFFFF00000000ULL);
    EXPECT_EQ(SizeTAdd(SIZE_MAX, 1, &s), INTSAFE_E_ARITHMETIC_OVERFLOW);
    EXPECT_EQ(s, SIZE_T_ERROR);
    EXPECT_EQ(RtlSizeTMult(0x100000000ULL, 0x100000000ULL, &s), STATUS_INTEGER_OVERFLOW);
    EXPECT_EQ(s, SIZE_T_ERROR);
    // The driver's allocation-size check: count * size + header.
    EXPECT_EQ(RtlSizeTMult(0x2000000000000000ULL, 8, &s), STATUS_INTEGER_OVERFLOW);
    ULONG_PTR up = 7;
    EXPECT_EQ(RtlULongPtrAdd(MAXULONG_PTR - 1, 1, &up), STATUS_SUCCESS);
    EXPECT_EQ(up, MAXULONG_PTR);
    EXPECT_EQ(RtlULongPtrAdd(MAXULONG_PTR, 1, &up), STATUS_INTEGER_OVERFLOW);
    EXPECT_EQ(up, ULONG_PTR_ERROR);
    DWORD_PTR dp = 7;
    EXPECT_EQ(DWordPtrMult(0x80000000u, 2, &dp), S_OK);
    EXPECT_EQ(dp, 0x100000000ULL);
    UINT_PTR uip = 7;
    EXPECT_EQ(UIntPtrSub(0, 1, &uip), INTSAFE_E_ARITHMETIC_OVERFLOW);
    EXPECT_EQ(uip, UINT_PTR_ERROR);
}

// S-INT-1: every name of a 64-bit unsigned type is the same routine.
TEST(Intsafe, S_INT_1_TheNamesOfOneType) {
    ULONGLONG a = 1, b = 2, c = 3, d = 4, e = 5;
    EXPECT_EQ(ULong64Add(0xFFFFFFFFFFFFFFFEULL, 1, &a), S_OK);
    EXPECT_EQ(DWord64Add(0xFFFFFFFFFFFFFFFFULL, 1, &b), INTSAFE_E_ARITHMETIC_OVERFLOW);
    EXPECT_EQ(UInt64Mult(0x8000000000000000ULL, 2, &c), INTSAFE_E_ARITHMETIC_OVERFLOW);
    EXPECT_EQ(DWordLongSub(1, 2, &d), INTSAFE_E_ARITHMETIC_OVERFLOW);
    EXPECT_EQ(RtlUInt64Add(2, 3, &e), STATUS_SUCCESS);
    EXPECT_EQ(a, 0xFFFFFFFFFFFFFFFFULL);
    EXPECT_EQ(b, ULONGLONG_ERROR);
    EXPECT_EQ(c, UINT64_ERROR);
    EXPECT_EQ(d, DWORDLONG_ERROR);
    EXPECT_EQ(e, 5u);
    UINT16 u16 = 0;
    EXPECT_EQ(UInt16Add(0xFFFF, 1, &u16), INTSAFE_E_ARITHMETIC_OVERFLOW);
    EXPECT_EQ(u16, UINT16_ERROR);
    UINT32 u32 = 0;
    EXPECT_EQ(RtlUInt32Add(0xFFFFFFFFu, 0, &u32), STATUS_SUCCESS);
    EXPECT_EQ(u32, 0xFFFFFFFFu);
    BYTE by = 0;
    EXPECT_EQ(ByteAdd(0xFF, 1, &by), INTSAFE_E_ARITHMETIC_OVERFLOW);
    EXPECT_EQ(by, BYTE_ERROR);
}

// S-INT-2: narrowing keeps every value the target holds and refuses the next one.
TEST(Intsafe, S_INT_2_NarrowingKeepsWhatFits) {
    ULONG r = 7;
    EXPECT_EQ(ULongLongToULong(0xFFFFFFFFULL, &r), S_OK);
    EXPECT_EQ(r, 0xFFFFFFFFu);
    r = 7;
    EXPECT_EQ(ULongLongToULong(0x100000000ULL, &r), INTSAFE_E_ARITHMETIC_OVERFLOW);
    EXPECT_EQ(r, ULONG_ERROR);
    r = 7;
    EXPECT_EQ(RtlULongLongToULong(0x100000000ULL, &r), STATUS_INTEGER_OVERFLOW);
    EXPECT_EQ(r, ULONG_ERROR);
    EXPECT_EQ(RtlSizeTToULong(0xFFFFFFFFu, &r), STATUS_SUCCESS);
    EXPECT_EQ(r, 0xFFFFFFFFu);
    EXPECT_EQ(SizeTToDWord(0x1FFFFFFFFULL, &r), INTSAFE_E_ARITHMETIC_OVERFLOW);
    EXPECT_EQ(RtlULongPtrToULong(0x100000000ULL, &r), STATUS_INTEGER_OVERFLOW);
    EXPECT_EQ(RtlDWordPtrToULong(12345, &r), STATUS_SUCCESS);
    EXPECT_EQ(r, 12345u);
    EXPECT_EQ(UIntPtrToUInt(0x100000000ULL, &r), INTSAFE_E_ARITHMETIC_OVERFLOW);
    EXPECT_EQ(r, UINT_ERROR);

    USHORT us = 7;
    EXPECT_EQ(ULongToUShort(0xFFFF, &us), S_OK);
    EXPECT_EQ(us, 0xFFFFu);
    EXPECT_EQ(RtlULongToUShort(0x10000, &us), STATUS_INTEGER_OVERFLOW);
    EXPECT_EQ(us, USHORT_ERROR);
    EXPECT_EQ(DWordToWord(0x10001, &us), INTSAFE_E_ARITHMETIC_OVERFLOW);
    EXPECT_EQ(us, WORD_ERROR);

    // The 8-bit targets: BYTE and UINT8 store 0xFF, UCHAR stores '\0', as the SDK's do.
    BYTE b = 7;
    EXPECT_EQ(ULongToByte(255, &b), S_OK);
    EXPECT_EQ(b, 255);
    EXPECT_EQ(ULongToByte(256, &b), INTSAFE_E_ARITHMETIC_OVERFLOW);
    EXPECT_EQ(b, BYTE_ERROR);
    UINT8 u8 = 7;
    EXPECT_EQ(RtlUShortToUInt8(256, &u8), STATUS_INTEGER_OVERFLOW);
    EXPECT_EQ(u8, UINT8_ERROR);
    UCHAR uc = 7;
    EXPECT_EQ(ULongToUChar(256, &uc), INTSAFE_E_ARITHMETIC_OVERFLOW);
    EXPECT_EQ(uc, '\0');
    EXPECT_EQ(RtlULongToUChar(0x41, &uc), STATUS_SUCCESS);
    EXPECT_EQ(uc, 'A');
}

// S-INT-2: a negative value has no unsigned form, and an unsigned one past the signed
// maximum no signed form; the signed targets store -1.
TEST(Intsafe, S_INT_2_SignChangesCheckTheRange) {
    ULONG ul = 7;
    EXPECT_EQ(LongToULong(MAXLONG, &ul), S_OK);
    EXPECT_EQ(ul, 0x7FFFFFFFu);
    EXPECT_EQ(LongToULong(-1, &ul), INTSAFE_E_ARITHMETIC_OVERFLOW);
    EXPECT_EQ(ul, ULONG_ERROR);
    EXPECT_EQ(RtlLongToULong(0, &ul), STATUS_SUCCESS);
    EXPECT_EQ(ul, 0u);

    LONG l = 7;
    EXPECT_EQ(ULongToLong(0x7FFFFFFFu, &l), S_OK);
    EXPECT_EQ(l, MAXLONG);
    EXPECT_EQ(ULongToLong(0x80000000u, &l), INTSAFE_E_ARITHMETIC_OVERFLOW);
    EXPECT_EQ(l, LONG_ERROR);
    EXPECT_EQ(l, -1);

    UINT u = 7;
    EXPECT_EQ(IntToUInt(-1, &u), INTSAFE_E_ARITHMETIC_OVERFLOW);
    EXPECT_EQ(u, UINT_ERROR);
    INT i = 7;
    EXPECT_EQ(RtlUIntToInt(0x80000000u, &i), STATUS_INTEGER_OVERFLOW);
    EXPECT_EQ(i, INT_ERROR);

    EXPECT_EQ(LongLongToULong(0xFFFFFFFFLL, &ul), S_OK);
    EXPECT_EQ(ul, 0xFFFFFFFFu);
    EXPECT_EQ(LongLongToULong(-1, &ul), INTSAFE_E_ARITHMETIC_OVERFLOW);
    EXPECT_EQ(RtlLongLongToULong(0x100000000LL, &ul), STATUS_INTEGER_OVERFLOW);
    EXPECT_EQ(ul, ULONG_ERROR);
    EXPECT_EQ(Int64ToULong(42, &ul), S_OK);
    EXPECT_EQ(ul, 42u);
    EXPECT_EQ(LongLongToLong(static_cast<LONGLONG>(MINLONG), &l), S_OK);
    EXPECT_EQ(l, MINLONG);
    EXPECT_EQ(LongLongToLong(static_cast<LONGLONG>(MINLONG) - 1, &l), INTSAFE_E_ARITHMETIC_OVERFLOW);
    EXPECT_EQ(l, LONG_ERROR);

    SIZE_T s = 7;
    EXPECT_EQ(LongToSizeT(-1, &s), INTSAFE_E_ARITHMETIC_OVERFLOW);
    EXPECT_EQ(s, SIZE_T_ERROR);
    EXPECT_EQ(RtlIntToSizeT(5, &s), STATUS_SUCCESS);
    EXPECT_EQ(s, 5u);
    LONGLONG ll = 7;
    EXPECT_EQ(ULongLongToLongLong(0x8000000000000000ULL, &ll), INTSAFE_E_ARITHMETIC_OVERFLOW);
    EXPECT_EQ(ll, LONGLONG_ERROR);
    EXPECT_EQ(RtlSizeTToInt64(0x7FFFFFFFFFFFFFFFULL, &ll), STATUS_SUCCESS);
    EXPECT_EQ(ll, MAXLONGLONG);
    LONG_PTR lp = 7;
    EXPECT_EQ(ULongPtrToLongPtr(0x8000000000000000ULL, &lp), INTSAFE_E_ARITHMETIC_OVERFLOW);
    EXPECT_EQ(lp, LONG_PTR_ERROR);
}

// S-INT-2: where char is signed (x86-64, as with MSVC's default) a CHAR target holds
// -128..127 and stores INT8_ERROR (-1); where it is not, it is a UCHAR target, which
// stores '\0'.
TEST(Intsafe, S_INT_2_CharTargets) {
    CHAR c = 7;
    EXPECT_EQ(IntToChar(127, &c), S_OK);
    EXPECT_EQ(c, 127);
    EXPECT_EQ(IntToChar(-128, &c), S_OK);
    EXPECT_EQ(c, -128);
    EXPECT_EQ(IntToChar(128, &c), INTSAFE_E_ARITHMETIC_OVERFLOW);
    EXPECT_EQ(c, static_cast<CHAR>(std::is_signed<CHAR>::value ? -1 : 0));
    c = 7;
    EXPECT_EQ(RtlByteToChar(200, &c), std::is_signed<CHAR>::value ? STATUS_INTEGER_OVERFLOW : STATUS_SUCCESS);
    UCHAR uc = 7;
    EXPECT_EQ(IntToUChar(-1, &uc), INTSAFE_E_ARITHMETIC_OVERFLOW);
    EXPECT_EQ(uc, 0);
    INT8 i8 = 7;
    EXPECT_EQ(UInt8ToInt8(128, &i8), INTSAFE_E_ARITHMETIC_OVERFLOW);
    EXPECT_EQ(i8, INT8_ERROR);
}

// S-INT-2: the pointer-sized conversions are at 64 bits: a LONGLONG always fits a LONG_PTR,
// a ULONGLONG a SIZE_T (they exist for 32-bit Windows, where they can fail).
TEST(Intsafe, S_INT_2_PointerSizedConversionsAt64Bits) {
    INT_PTR ip = 7;
    EXPECT_EQ(LongLongToIntPtr(MAXLONGLONG, &ip), S_OK);
    EXPECT_EQ(ip, MAXINT_PTR);
    SIZE_T s = 7;
    EXPECT_EQ(ULongLongToSizeT(0xFFFFFFFFFFFFFFFFULL, &s), S_OK);
    EXPECT_EQ(s, MAXSIZE_T);
    ULONG_PTR up = 7;
    EXPECT_EQ(RtlULongLongToULongPtr(0x123456789ULL, &up), STATUS_SUCCESS);
    EXPECT_EQ(up, 0x123456789ULL);
    EXPECT_EQ(RtlIntPtrToULongPtr(-1, &up), STATUS_INTEGER_OVERFLOW);
    EXPECT_EQ(up, ULONG_PTR_ERROR);
    LONG_PTR lp = 7;
    EXPECT_EQ(IntPtrToLongPtr(MININT_PTR, &lp), S_OK);
    EXPECT_EQ(lp, MINLONG_PTR);
}

// S-INT-3: the signed Add, Sub and Mult (with ENABLE_INTSAFE_SIGNED_FUNCTIONS) fail past
// either end of the type and store -1.
TEST(Intsafe, S_INT_3_SignedArithmeticBothEnds) {
    LONG l = 7;
    EXPECT_EQ(LongAdd(-5, 3, &l), S_OK);
    EXPECT_EQ(l, -2);
    EXPECT_EQ(LongAdd(MAXLONG, 1, &l), INTSAFE_E_ARITHMETIC_OVERFLOW);
    EXPECT_EQ(l, LONG_ERROR);
    l = 7;
    EXPECT_EQ(RtlLongSub(MINLONG, 1, &l), STATUS_INTEGER_OVERFLOW);
    EXPECT_EQ(l, -1);
    EXPECT_EQ(LongMult(-0x10000, 0x8000, &l), S_OK);
    EXPECT_EQ(l, MINLONG);
    EXPECT_EQ(LongMult(0x10000, 0x8000, &l), INTSAFE_E_ARITHMETIC_OVERFLOW);
    INT i = 7;
    EXPECT_EQ(IntSub(0, MININT, &i), INTSAFE_E_ARITHMETIC_OVERFLOW);
    EXPECT_EQ(i, INT_ERROR);
    LONGLONG ll = 7;
    EXPECT_EQ(LongLongMult(MINLONGLONG, -1, &ll), INTSAFE_E_ARITHMETIC_OVERFLOW);
    EXPECT_EQ(ll, LONGLONG_ERROR);
    EXPECT_EQ(RtlInt64Add(MINLONGLONG, MAXLONGLONG, &ll), STATUS_SUCCESS);
    EXPECT_EQ(ll, -1);
    SHORT sh = 7;
    EXPECT_EQ(ShortAdd(-32768, -1, &sh), INTSAFE_E_ARITHMETIC_OVERFLOW);
    EXPECT_EQ(sh, SHORT_ERROR);
    INT8 i8 = 7;
    EXPECT_EQ(RtlInt8Mult(-16, 8, &i8), STATUS_SUCCESS);
    EXPECT_EQ(i8, -128);
    EXPECT_EQ(RtlInt8Mult(16, 8, &i8), STATUS_INTEGER_OVERFLOW);
    SSIZE_T ss = 7;
    EXPECT_EQ(SSIZETAdd(MAXSSIZE_T, 1, &ss), INTSAFE_E_ARITHMETIC_OVERFLOW);
    EXPECT_EQ(ss, SSIZE_T_ERROR);
}

// S-INT-4: the two families' codes, the error values' types, and the limits of the types.
TEST(Intsafe, S_INT_4_CodesAndLimits) {
    EXPECT_EQ(INTSAFE_E_ARITHMETIC_OVERFLOW, HRESULT_FROM_WIN32(ERROR_ARITHMETIC_OVERFLOW));
    EXPECT_EQ(static_cast<ULONG>(INTSAFE_E_ARITHMETIC_OVERFLOW), 0x80070216u);
    EXPECT_EQ(static_cast<ULONG>(STATUS_INTEGER_OVERFLOW), 0xC0000095u);
    EXPECT_TRUE(FAILED(INTSAFE_E_ARITHMETIC_OVERFLOW));
    EXPECT_FALSE(NT_SUCCESS(STATUS_INTEGER_OVERFLOW));
    EXPECT_EQ(RtlNtStatusToDosError(STATUS_INTEGER_OVERFLOW), static_cast<ULONG>(ERROR_ARITHMETIC_OVERFLOW));

    EXPECT_EQ(static_cast<ULONG>(ULONG_ERROR), MAXULONG);
    EXPECT_EQ(static_cast<SIZE_T>(SIZE_T_ERROR), MAXSIZE_T);
    EXPECT_EQ(static_cast<LONG>(LONG_ERROR), -1);
    EXPECT_EQ(MAXULONGLONG, UINT64_MAX);
    EXPECT_EQ(MINLONGLONG, INT64_MIN);
    EXPECT_EQ(MAXSSIZE_T, INT64_MAX);
    EXPECT_EQ(MINSSIZE_T, INT64_MIN);
    EXPECT_EQ(MAXINT, 0x7FFFFFFF);
    EXPECT_EQ(MININT, -0x7FFFFFFF - 1);
    EXPECT_EQ(MAXUINT, 0xFFFFFFFFu);
    EXPECT_EQ(MAXSHORT, 0x7FFF);
    EXPECT_EQ(MINSHORT, -0x8000);
    EXPECT_EQ(MAXCHAR, 0x7F);
    EXPECT_EQ(MINCHAR, -0x80);
    EXPECT_EQ(MAXBYTE, 0xFF);
    EXPECT_EQ(MAXWORD, 0xFFFF);
    EXPECT_EQ(MAXUINT8, 0xFF);
    EXPECT_EQ(MININT8, -128);
    EXPECT_EQ(MAXINT16, 0x7FFF);
    EXPECT_EQ(MAXLONG32, 0x7FFFFFFF);
    EXPECT_EQ(MINLONG64, INT64_MIN);
    EXPECT_EQ(MAXDWORD64, UINT64_MAX);
    EXPECT_EQ(SIZE_T_MAX, SIZE_MAX);
    EXPECT_EQ(DWORD_MAX, 0xFFFFFFFFu);
    EXPECT_EQ(LONGLONG_MIN, INT64_MIN);
    EXPECT_EQ(USHORT_MAX, 0xFFFF);
}

}  // namespace
