/* ntio compat: <intsafe.h>, the SDK's checked integer arithmetic and conversions for
 * applications: Add, Sub and Mult for the unsigned types (UInt8Add, UShortAdd, WordAdd,
 * UIntAdd, ULongAdd, DWordAdd, SizeTAdd, SIZETAdd, UIntPtrAdd, ULongPtrAdd, DWordPtrAdd,
 * ULongLongAdd, UInt64Add, ULong64Add, DWord64Add, DWordLongAdd, and their Sub and Mult),
 * the signed ones (IntAdd, LongAdd, LongLongAdd, ...) when ENABLE_INTSAFE_SIGNED_FUNCTIONS
 * is defined before the include, as in the SDK, and the conversions XToY between them that
 * can lose the value (ULongLongToULong, SizeTToDWord, LongToULong, IntToUInt, ...).
 *
 * Each returns S_OK with the exact result, or INTSAFE_E_ARITHMETIC_OVERFLOW
 * (HRESULT_FROM_WIN32(ERROR_ARITHMETIC_OVERFLOW)) with the target type's error value in
 * *pResult (ULONG_ERROR, SIZE_T_ERROR, ...). The widths are Windows's: ULongAdd overflows
 * past 0xFFFFFFFF, SizeTAdd past 2^64 - 1. The routines are those of <ntintsafe.h>
 * (intsafe_core.h), which return NTSTATUS. Includable alone, as on Windows. */
#ifndef NTIO_COMPAT_INTSAFE_H
#define NTIO_COMPAT_INTSAFE_H
#define _INTSAFE_H_INCLUDED_

#include "ntdef.h"
#include "winerror.h"
#include "intsafe_core.h"

#ifndef INTSAFE_E_ARITHMETIC_OVERFLOW
#define INTSAFE_E_ARITHMETIC_OVERFLOW ((HRESULT)0x80070216L) /* HRESULT_FROM_WIN32(ERROR_ARITHMETIC_OVERFLOW) */
#endif

#define NTIO_INTSAFE_HRESULT_ARITHMETIC(Add, Sub, Mult, Type, Error) \
    NTIO_INTSAFE_ARITHMETIC(HRESULT, S_OK, INTSAFE_E_ARITHMETIC_OVERFLOW, Add, Sub, Mult, Type, Error)
#define NTIO_INTSAFE_HRESULT_CONVERSION(Function, From, To, Error) \
    NTIO_INTSAFE_CONVERSION(HRESULT, S_OK, INTSAFE_E_ARITHMETIC_OVERFLOW, Function, From, To, Error)

NTIO_INTSAFE_CONVERSIONS(NTIO_INTSAFE_PAIR, NTIO_INTSAFE_HRESULT_CONVERSION)
NTIO_INTSAFE_UNSIGNED_ARITHMETIC(NTIO_INTSAFE_HRESULT_ARITHMETIC)
#ifdef ENABLE_INTSAFE_SIGNED_FUNCTIONS
NTIO_INTSAFE_SIGNED_ARITHMETIC(NTIO_INTSAFE_HRESULT_ARITHMETIC)
#endif

#endif /* NTIO_COMPAT_INTSAFE_H */
