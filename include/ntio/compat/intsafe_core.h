/* ntio compat: the one implementation behind <intsafe.h> (applications, HRESULT results) and
 * <ntintsafe.h> (drivers, NTSTATUS results, the names with Rtl in front): the limits and
 * error values the SDK names, and the lists of routines, which each header turns into
 * functions of its own status type. Not a header of the SDK; include <intsafe.h> or
 * <ntintsafe.h>.
 *
 * Every routine is a static inline function over GCC's and Clang's checked arithmetic
 * (__builtin_add_overflow, __builtin_sub_overflow, __builtin_mul_overflow), which compute
 * the exact result and say whether the destination type holds it; a conversion is the
 * checked sum of the operand and 0 into the target type. The types are the Windows ones
 * (LLP64): ULONG, LONG, DWORD, UINT and INT are 32-bit although Linux's `long` is not, and
 * the _PTR types, SIZE_T and size_t are 64-bit.
 *
 * On overflow, underflow or a value out of the target's range a routine stores the
 * target type's error value, as the SDK's do: all bits set for an unsigned type
 * (ULONG_ERROR, SIZE_T_ERROR, ...), -1 for a signed one (LONG_ERROR, ...), '\0' for UCHAR,
 * and for CHAR the INT8 one (-1) where char is signed, the UCHAR one where it is not. */
#ifndef NTIO_COMPAT_INTSAFE_CORE_H
#define NTIO_COMPAT_INTSAFE_CORE_H

#include "ntdef.h"
#include <limits.h>
#include <stddef.h>
#include <stdint.h>

/* ---- limits ------------------------------------------------------------------------- *
 * The SDK's names that the C library does not have. INT8_MAX, INT_MAX, UINT_MAX, ... are
 * <stdint.h>'s and <limits.h>'s with the same values; LONG_MAX, LONG_MIN and ULONG_MAX stay
 * the C library's, those of the 64-bit `long` (the SDK's are the 32-bit LONG's: use
 * MAXLONG, MINLONG and MAXULONG). */
#ifndef SHORT_MIN
#define SHORT_MIN (-32768)
#define SHORT_MAX 32767
#endif
#ifndef USHORT_MAX
#define USHORT_MAX 0xffff
#endif
#ifndef BYTE_MAX
#define BYTE_MAX 0xff
#endif
#ifndef WORD_MAX
#define WORD_MAX 0xffff
#endif
#ifndef DWORD_MAX
#define DWORD_MAX 0xffffffffU
#endif
#ifndef LONGLONG_MAX
#define LONGLONG_MIN (-9223372036854775807LL - 1)
#define LONGLONG_MAX 9223372036854775807LL
#define LONG64_MIN LONGLONG_MIN
#define LONG64_MAX LONGLONG_MAX
#define ULONGLONG_MAX 0xffffffffffffffffULL
#define DWORDLONG_MAX ULONGLONG_MAX
#define ULONG64_MAX ULONGLONG_MAX
#define DWORD64_MAX ULONGLONG_MAX
#endif
#ifndef SIZE_T_MAX
#define SIZE_T_MAX 0xffffffffffffffffULL
#endif
#ifndef INT_PTR_MAX
#define INT_PTR_MIN LONGLONG_MIN
#define INT_PTR_MAX LONGLONG_MAX
#define UINT_PTR_MAX ULONGLONG_MAX
#define LONG_PTR_MIN LONGLONG_MIN
#define LONG_PTR_MAX LONGLONG_MAX
#define ULONG_PTR_MAX ULONGLONG_MAX
#define DWORD_PTR_MAX ULONGLONG_MAX
#define PTRDIFF_T_MIN LONGLONG_MIN
#define PTRDIFF_T_MAX LONGLONG_MAX
#define SSIZE_T_MIN LONGLONG_MIN
#define SSIZE_T_MAX LONGLONG_MAX
#define _SIZE_T_MAX ULONGLONG_MAX
#endif

/* ---- the values stored on failure ----------------------------------------------------- */
#ifndef ULONG_ERROR
#define INT8_ERROR (-1)
#define UINT8_ERROR 0xff
#define BYTE_ERROR 0xff
#define SHORT_ERROR (-1)
#define INT16_ERROR (-1)
#define USHORT_ERROR 0xffff
#define UINT16_ERROR 0xffff
#define WORD_ERROR 0xffff
#define INT_ERROR (-1)
#define INT32_ERROR (-1)
#define UINT_ERROR 0xffffffffU
#define UINT32_ERROR 0xffffffffU
#define LONG_ERROR (-1)
#define ULONG_ERROR 0xffffffffU
#define DWORD_ERROR 0xffffffffU
#define LONGLONG_ERROR (-1LL)
#define LONG64_ERROR (-1LL)
#define INT64_ERROR (-1LL)
#define ULONGLONG_ERROR 0xffffffffffffffffULL
#define DWORDLONG_ERROR 0xffffffffffffffffULL
#define ULONG64_ERROR 0xffffffffffffffffULL
#define DWORD64_ERROR 0xffffffffffffffffULL
#define UINT64_ERROR 0xffffffffffffffffULL
#define INT_PTR_ERROR (-1LL)
#define UINT_PTR_ERROR 0xffffffffffffffffULL
#define LONG_PTR_ERROR (-1LL)
#define ULONG_PTR_ERROR 0xffffffffffffffffULL
#define DWORD_PTR_ERROR 0xffffffffffffffffULL
#define PTRDIFF_T_ERROR (-1LL)
#define SIZE_T_ERROR 0xffffffffffffffffULL
#define SSIZE_T_ERROR (-1LL)
#define _SIZE_T_ERROR 0xffffffffffffffffULL
#endif
#ifdef __CHAR_UNSIGNED__
#define NTIO_INTSAFE_CHAR_ERROR 0 /* as for UCHAR */
#else
#define NTIO_INTSAFE_CHAR_ERROR (-1) /* as for INT8 */
#endif

/* ---- the bodies ------------------------------------------------------------------------ *
 * Result, Ok and Overflow are the including header's status type and values. */
#define NTIO_INTSAFE_OPERATION(Result, Ok, Overflow, Function, Checked, Type, Error) \
    NTIO_INLINE Result Function(Type Left, Type Right, Type *pResult) {              \
        if (!Checked(Left, Right, pResult)) return Ok;                               \
        *pResult = (Type)(Error);                                                    \
        return Overflow;                                                             \
    }
#define NTIO_INTSAFE_ARITHMETIC(Result, Ok, Overflow, Add, Sub, Mult, Type, Error)         \
    NTIO_INTSAFE_OPERATION(Result, Ok, Overflow, Add, __builtin_add_overflow, Type, Error) \
    NTIO_INTSAFE_OPERATION(Result, Ok, Overflow, Sub, __builtin_sub_overflow, Type, Error) \
    NTIO_INTSAFE_OPERATION(Result, Ok, Overflow, Mult, __builtin_mul_overflow, Type, Error)
#define NTIO_INTSAFE_CONVERSION(Result, Ok, Overflow, Function, From, To, Error) \
    NTIO_INLINE Result Function(From Operand, To *pResult) {                     \
        if (!__builtin_add_overflow(Operand, 0, pResult)) return Ok;             \
        *pResult = (To)(Error);                                                  \
        return Overflow;                                                         \
    }

/* ---- the names ------------------------------------------------------------------------- *
 * Each class of types that are one type here: F(Name, Type, Error, A, B, C) for each name
 * the SDK gives it (ULong and DWord are both ULONG). */
#define NTIO_INTSAFE_NAMES_INT8(F, A, B, C) F(Int8, INT8, INT8_ERROR, A, B, C)
#define NTIO_INTSAFE_NAMES_UCHAR(F, A, B, C) F(UChar, UCHAR, 0, A, B, C)
#define NTIO_INTSAFE_NAMES_UINT8(F, A, B, C) F(UInt8, UINT8, UINT8_ERROR, A, B, C) F(Byte, BYTE, BYTE_ERROR, A, B, C)
#define NTIO_INTSAFE_NAMES_CHAR(F, A, B, C) F(Char, CHAR, NTIO_INTSAFE_CHAR_ERROR, A, B, C)
#define NTIO_INTSAFE_NAMES_SHORT(F, A, B, C) F(Short, SHORT, SHORT_ERROR, A, B, C) F(Int16, INT16, INT16_ERROR, A, B, C)
#define NTIO_INTSAFE_NAMES_USHORT(F, A, B, C) \
    F(UShort, USHORT, USHORT_ERROR, A, B, C) F(UInt16, UINT16, UINT16_ERROR, A, B, C) F(Word, WORD, WORD_ERROR, A, B, C)
#define NTIO_INTSAFE_NAMES_INT(F, A, B, C) F(Int, INT, INT_ERROR, A, B, C) F(Int32, INT32, INT32_ERROR, A, B, C)
#define NTIO_INTSAFE_NAMES_UINT(F, A, B, C) F(UInt, UINT, UINT_ERROR, A, B, C) F(UInt32, UINT32, UINT32_ERROR, A, B, C)
#define NTIO_INTSAFE_NAMES_LONG(F, A, B, C) F(Long, LONG, LONG_ERROR, A, B, C)
#define NTIO_INTSAFE_NAMES_ULONG(F, A, B, C) F(ULong, ULONG, ULONG_ERROR, A, B, C) F(DWord, DWORD, DWORD_ERROR, A, B, C)
#define NTIO_INTSAFE_NAMES_INT_PTR(F, A, B, C) F(IntPtr, INT_PTR, INT_PTR_ERROR, A, B, C)
#define NTIO_INTSAFE_NAMES_LONG_PTR(F, A, B, C) F(LongPtr, LONG_PTR, LONG_PTR_ERROR, A, B, C)
#define NTIO_INTSAFE_NAMES_SSIZE_T(F, A, B, C) F(SSIZET, SSIZE_T, SSIZE_T_ERROR, A, B, C)
#define NTIO_INTSAFE_NAMES_PTRDIFF_T(F, A, B, C) F(PtrdiffT, ptrdiff_t, PTRDIFF_T_ERROR, A, B, C)
#define NTIO_INTSAFE_NAMES_UINT_PTR(F, A, B, C) \
    F(UIntPtr, UINT_PTR, UINT_PTR_ERROR, A, B, C) F(SizeT, size_t, SIZE_T_ERROR, A, B, C)
#define NTIO_INTSAFE_NAMES_ULONG_PTR(F, A, B, C)                                                      \
    F(ULongPtr, ULONG_PTR, ULONG_PTR_ERROR, A, B, C) F(DWordPtr, DWORD_PTR, DWORD_PTR_ERROR, A, B, C) \
    F(SIZET, SIZE_T, SIZE_T_ERROR, A, B, C)
#define NTIO_INTSAFE_NAMES_LONGLONG(F, A, B, C)                                          \
    F(LongLong, LONGLONG, LONGLONG_ERROR, A, B, C) F(Int64, INT64, INT64_ERROR, A, B, C) \
    F(Long64, LONG64, LONG64_ERROR, A, B, C)
#define NTIO_INTSAFE_NAMES_ULONGLONG(F, A, B, C)                                               \
    F(ULongLong, ULONGLONG, ULONGLONG_ERROR, A, B, C) F(UInt64, UINT64, UINT64_ERROR, A, B, C) \
    F(ULong64, ULONG64, ULONG64_ERROR, A, B, C) F(DWord64, DWORD64, DWORD64_ERROR, A, B, C)    \
    F(DWordLong, DWORDLONG, DWORDLONG_ERROR, A, B, C)

/* Add, Sub and Mult for every name of a class: Define(NameAdd, NameSub, NameMult, Type,
 * Error). The signed ones are the SDK's only with ENABLE_INTSAFE_SIGNED_FUNCTIONS (see the
 * headers). The names are pasted here, where no macro of the program's (a `Byte`) can
 * replace a piece of them; the conversions' below are pasted a piece at a time for the
 * same reason. */
#define NTIO_INTSAFE_EACH(Name, Type, Error, Define, Unused1, Unused2) \
    Define(Name##Add, Name##Sub, Name##Mult, Type, Error)
#define NTIO_INTSAFE_UNSIGNED_ARITHMETIC(Define)                  \
    NTIO_INTSAFE_NAMES_UINT8(NTIO_INTSAFE_EACH, Define, 0, 0)     \
    NTIO_INTSAFE_NAMES_USHORT(NTIO_INTSAFE_EACH, Define, 0, 0)    \
    NTIO_INTSAFE_NAMES_UINT(NTIO_INTSAFE_EACH, Define, 0, 0)      \
    NTIO_INTSAFE_NAMES_ULONG(NTIO_INTSAFE_EACH, Define, 0, 0)     \
    NTIO_INTSAFE_NAMES_UINT_PTR(NTIO_INTSAFE_EACH, Define, 0, 0)  \
    NTIO_INTSAFE_NAMES_ULONG_PTR(NTIO_INTSAFE_EACH, Define, 0, 0) \
    NTIO_INTSAFE_NAMES_ULONGLONG(NTIO_INTSAFE_EACH, Define, 0, 0)
#define NTIO_INTSAFE_SIGNED_ARITHMETIC(Define)                    \
    NTIO_INTSAFE_NAMES_INT8(NTIO_INTSAFE_EACH, Define, 0, 0)      \
    NTIO_INTSAFE_NAMES_SHORT(NTIO_INTSAFE_EACH, Define, 0, 0)     \
    NTIO_INTSAFE_NAMES_INT(NTIO_INTSAFE_EACH, Define, 0, 0)       \
    NTIO_INTSAFE_NAMES_LONG(NTIO_INTSAFE_EACH, Define, 0, 0)      \
    NTIO_INTSAFE_NAMES_INT_PTR(NTIO_INTSAFE_EACH, Define, 0, 0)   \
    NTIO_INTSAFE_NAMES_LONG_PTR(NTIO_INTSAFE_EACH, Define, 0, 0)  \
    NTIO_INTSAFE_NAMES_SSIZE_T(NTIO_INTSAFE_EACH, Define, 0, 0)   \
    NTIO_INTSAFE_NAMES_PTRDIFF_T(NTIO_INTSAFE_EACH, Define, 0, 0) \
    NTIO_INTSAFE_NAMES_LONGLONG(NTIO_INTSAFE_EACH, Define, 0, 0)

/* The conversions XToY for every name X of the first class and Y of the second:
 * Define(XToY, FromType, ToType, Error); the name is pasted as XTo, then XToY. */
#define NTIO_INTSAFE_PAIR(From, To, Define) \
    NTIO_INTSAFE_NAMES_##From(NTIO_INTSAFE_PAIR_FROM, NTIO_INTSAFE_NAMES_##To, Define, 0)
#define NTIO_INTSAFE_PAIR_FROM(Name, Type, Error, ToNames, Define, Unused) \
    ToNames(NTIO_INTSAFE_PAIR_TO, Name##To, Type, Define)
#define NTIO_INTSAFE_PAIR_TO(Name, Type, Error, FromNameTo, FromType, Define) \
    Define(FromNameTo##Name, FromType, Type, Error)

/* The pairs: every one where a value of the first can be out of the second's range on
 * Windows, 32-bit or 64-bit (LongLongToIntPtr can fail on 32-bit Windows only), and the
 * pairs of classes with the same range (IntToLong, UIntPtrToULongPtr, ...). Widening
 * conversions that cannot fail (UShortToULong) are not the SDK's and are not here; CHAR
 * and UCHAR are targets only (ByteToChar, IntToUChar). */
#define NTIO_INTSAFE_CONVERSIONS(X, D) \
    X(INT8, UCHAR, D) X(INT8, UINT8, D) X(INT8, CHAR, D) X(INT8, USHORT, D) X(INT8, UINT, D) X(INT8, ULONG, D) \
    X(INT8, UINT_PTR, D) X(INT8, ULONG_PTR, D) X(INT8, ULONGLONG, D) \
    X(UINT8, INT8, D) X(UINT8, UCHAR, D) X(UINT8, CHAR, D) \
    X(SHORT, INT8, D) X(SHORT, UCHAR, D) X(SHORT, UINT8, D) X(SHORT, CHAR, D) X(SHORT, USHORT, D) \
    X(SHORT, UINT, D) X(SHORT, ULONG, D) X(SHORT, UINT_PTR, D) X(SHORT, ULONG_PTR, D) X(SHORT, ULONGLONG, D) \
    X(USHORT, INT8, D) X(USHORT, UCHAR, D) X(USHORT, UINT8, D) X(USHORT, CHAR, D) X(USHORT, SHORT, D) \
    X(INT, INT8, D) X(INT, UCHAR, D) X(INT, UINT8, D) X(INT, CHAR, D) X(INT, SHORT, D) X(INT, USHORT, D) \
    X(INT, UINT, D) X(INT, LONG, D) X(INT, ULONG, D) X(INT, UINT_PTR, D) X(INT, ULONG_PTR, D) \
    X(INT, ULONGLONG, D) \
    X(UINT, INT8, D) X(UINT, UCHAR, D) X(UINT, UINT8, D) X(UINT, CHAR, D) X(UINT, SHORT, D) X(UINT, USHORT, D) \
    X(UINT, INT, D) X(UINT, LONG, D) X(UINT, ULONG, D) X(UINT, INT_PTR, D) X(UINT, LONG_PTR, D) \
    X(UINT, SSIZE_T, D) X(UINT, PTRDIFF_T, D) \
    X(LONG, INT8, D) X(LONG, UCHAR, D) X(LONG, UINT8, D) X(LONG, CHAR, D) X(LONG, SHORT, D) X(LONG, USHORT, D) \
    X(LONG, INT, D) X(LONG, UINT, D) X(LONG, ULONG, D) X(LONG, UINT_PTR, D) X(LONG, ULONG_PTR, D) \
    X(LONG, ULONGLONG, D) \
    X(ULONG, INT8, D) X(ULONG, UCHAR, D) X(ULONG, UINT8, D) X(ULONG, CHAR, D) X(ULONG, SHORT, D) \
    X(ULONG, USHORT, D) X(ULONG, INT, D) X(ULONG, UINT, D) X(ULONG, LONG, D) X(ULONG, INT_PTR, D) \
    X(ULONG, LONG_PTR, D) X(ULONG, SSIZE_T, D) X(ULONG, PTRDIFF_T, D) \
    X(INT_PTR, INT8, D) X(INT_PTR, UCHAR, D) X(INT_PTR, UINT8, D) X(INT_PTR, CHAR, D) X(INT_PTR, SHORT, D) \
    X(INT_PTR, USHORT, D) X(INT_PTR, INT, D) X(INT_PTR, UINT, D) X(INT_PTR, LONG, D) X(INT_PTR, ULONG, D) \
    X(INT_PTR, LONG_PTR, D) X(INT_PTR, SSIZE_T, D) X(INT_PTR, PTRDIFF_T, D) X(INT_PTR, UINT_PTR, D) \
    X(INT_PTR, ULONG_PTR, D) X(INT_PTR, ULONGLONG, D) \
    X(LONG_PTR, INT8, D) X(LONG_PTR, UCHAR, D) X(LONG_PTR, UINT8, D) X(LONG_PTR, CHAR, D) X(LONG_PTR, SHORT, D) \
    X(LONG_PTR, USHORT, D) X(LONG_PTR, INT, D) X(LONG_PTR, UINT, D) X(LONG_PTR, LONG, D) X(LONG_PTR, ULONG, D) \
    X(LONG_PTR, INT_PTR, D) X(LONG_PTR, SSIZE_T, D) X(LONG_PTR, PTRDIFF_T, D) X(LONG_PTR, UINT_PTR, D) \
    X(LONG_PTR, ULONG_PTR, D) X(LONG_PTR, ULONGLONG, D) \
    X(SSIZE_T, INT8, D) X(SSIZE_T, UCHAR, D) X(SSIZE_T, UINT8, D) X(SSIZE_T, CHAR, D) X(SSIZE_T, SHORT, D) \
    X(SSIZE_T, USHORT, D) X(SSIZE_T, INT, D) X(SSIZE_T, UINT, D) X(SSIZE_T, LONG, D) X(SSIZE_T, ULONG, D) \
    X(SSIZE_T, INT_PTR, D) X(SSIZE_T, LONG_PTR, D) X(SSIZE_T, PTRDIFF_T, D) X(SSIZE_T, UINT_PTR, D) \
    X(SSIZE_T, ULONG_PTR, D) X(SSIZE_T, ULONGLONG, D) \
    X(PTRDIFF_T, INT8, D) X(PTRDIFF_T, UCHAR, D) X(PTRDIFF_T, UINT8, D) X(PTRDIFF_T, CHAR, D) \
    X(PTRDIFF_T, SHORT, D) X(PTRDIFF_T, USHORT, D) X(PTRDIFF_T, INT, D) X(PTRDIFF_T, UINT, D) \
    X(PTRDIFF_T, LONG, D) X(PTRDIFF_T, ULONG, D) X(PTRDIFF_T, INT_PTR, D) X(PTRDIFF_T, LONG_PTR, D) \
    X(PTRDIFF_T, SSIZE_T, D) X(PTRDIFF_T, UINT_PTR, D) X(PTRDIFF_T, ULONG_PTR, D) X(PTRDIFF_T, ULONGLONG, D) \
    X(UINT_PTR, INT8, D) X(UINT_PTR, UCHAR, D) X(UINT_PTR, UINT8, D) X(UINT_PTR, CHAR, D) X(UINT_PTR, SHORT, D) \
    X(UINT_PTR, USHORT, D) X(UINT_PTR, INT, D) X(UINT_PTR, UINT, D) X(UINT_PTR, LONG, D) X(UINT_PTR, ULONG, D) \
    X(UINT_PTR, INT_PTR, D) X(UINT_PTR, LONG_PTR, D) X(UINT_PTR, SSIZE_T, D) X(UINT_PTR, PTRDIFF_T, D) \
    X(UINT_PTR, ULONG_PTR, D) X(UINT_PTR, LONGLONG, D) \
    X(ULONG_PTR, INT8, D) X(ULONG_PTR, UCHAR, D) X(ULONG_PTR, UINT8, D) X(ULONG_PTR, CHAR, D) \
    X(ULONG_PTR, SHORT, D) X(ULONG_PTR, USHORT, D) X(ULONG_PTR, INT, D) X(ULONG_PTR, UINT, D) \
    X(ULONG_PTR, LONG, D) X(ULONG_PTR, ULONG, D) X(ULONG_PTR, INT_PTR, D) X(ULONG_PTR, LONG_PTR, D) \
    X(ULONG_PTR, SSIZE_T, D) X(ULONG_PTR, PTRDIFF_T, D) X(ULONG_PTR, UINT_PTR, D) X(ULONG_PTR, LONGLONG, D) \
    X(LONGLONG, INT8, D) X(LONGLONG, UCHAR, D) X(LONGLONG, UINT8, D) X(LONGLONG, CHAR, D) X(LONGLONG, SHORT, D) \
    X(LONGLONG, USHORT, D) X(LONGLONG, INT, D) X(LONGLONG, UINT, D) X(LONGLONG, LONG, D) X(LONGLONG, ULONG, D) \
    X(LONGLONG, INT_PTR, D) X(LONGLONG, LONG_PTR, D) X(LONGLONG, SSIZE_T, D) X(LONGLONG, PTRDIFF_T, D) \
    X(LONGLONG, UINT_PTR, D) X(LONGLONG, ULONG_PTR, D) X(LONGLONG, ULONGLONG, D) \
    X(ULONGLONG, INT8, D) X(ULONGLONG, UCHAR, D) X(ULONGLONG, UINT8, D) X(ULONGLONG, CHAR, D) \
    X(ULONGLONG, SHORT, D) X(ULONGLONG, USHORT, D) X(ULONGLONG, INT, D) X(ULONGLONG, UINT, D) \
    X(ULONGLONG, LONG, D) X(ULONGLONG, ULONG, D) X(ULONGLONG, INT_PTR, D) X(ULONGLONG, LONG_PTR, D) \
    X(ULONGLONG, SSIZE_T, D) X(ULONGLONG, PTRDIFF_T, D) X(ULONGLONG, UINT_PTR, D) X(ULONGLONG, ULONG_PTR, D) \
    X(ULONGLONG, LONGLONG, D)

#endif /* NTIO_COMPAT_INTSAFE_CORE_H */
