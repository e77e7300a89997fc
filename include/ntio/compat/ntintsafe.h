/* ntio compat: <ntintsafe.h>, the WDK's checked integer arithmetic and conversions for
 * drivers: the routines of <intsafe.h> with Rtl in front (RtlULongAdd, RtlSizeTMult,
 * RtlULongLongToULong, RtlULongPtrToULong, RtlLongToULong, ...), returning STATUS_SUCCESS
 * with the exact result or STATUS_INTEGER_OVERFLOW with the target type's error value in
 * *pResult. Add, Sub and Mult of the signed types (RtlLongAdd, ...) need
 * ENABLE_INTSAFE_SIGNED_FUNCTIONS before the include, as in the WDK, whose "Importing
 * Safe Integer Functions" page asks drivers to convert to unsigned and compute there.
 * One implementation with <intsafe.h> (intsafe_core.h); see there for the widths and the
 * error values. */
#ifndef NTIO_COMPAT_NTINTSAFE_H
#define NTIO_COMPAT_NTINTSAFE_H
#define _NTINTSAFE_H_INCLUDED_

#include "ntdef.h"
#include "ntstatus.h"
#include "intsafe_core.h"

#define NTIO_INTSAFE_NTSTATUS_ARITHMETIC(Add, Sub, Mult, Type, Error)                                         \
    NTIO_INTSAFE_ARITHMETIC(NTSTATUS, STATUS_SUCCESS, STATUS_INTEGER_OVERFLOW, Rtl##Add, Rtl##Sub, Rtl##Mult, \
                            Type, Error)
#define NTIO_INTSAFE_NTSTATUS_CONVERSION(Function, From, To, Error) \
    NTIO_INTSAFE_CONVERSION(NTSTATUS, STATUS_SUCCESS, STATUS_INTEGER_OVERFLOW, Rtl##Function, From, To, Error)

NTIO_INTSAFE_CONVERSIONS(NTIO_INTSAFE_PAIR, NTIO_INTSAFE_NTSTATUS_CONVERSION)
NTIO_INTSAFE_UNSIGNED_ARITHMETIC(NTIO_INTSAFE_NTSTATUS_ARITHMETIC)
#ifdef ENABLE_INTSAFE_SIGNED_FUNCTIONS
NTIO_INTSAFE_SIGNED_ARITHMETIC(NTIO_INTSAFE_NTSTATUS_ARITHMETIC)
#endif

#endif /* NTIO_COMPAT_NTINTSAFE_H */
