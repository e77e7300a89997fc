/* ntio compat: <ntstrsafe.h>, the kernel's bounded string routines (the subset drivers
 * use: Copy, CopyN, Cat, CatN, Printf, VPrintf and Length, in Cb and Cch forms, A and W).
 *
 * As in the WDK they are inline functions, so nothing here needs the library except the
 * formatting engine behind the Printf family (ntio_vsnprintf_windows and
 * ntio_vswprintf_windows, in src/rtl), which DbgPrint shares: a format means the same
 * thing in KdPrint and in RtlStringCbPrintfA.
 *
 * The contract every routine keeps (Microsoft's pages for each routine):
 *  - a destination size of 0 characters, or more than NTSTRSAFE_MAX_CCH, is refused with
 *    STATUS_INVALID_PARAMETER and the destination is not touched;
 *  - otherwise the destination is always left NUL-terminated: the whole result and
 *    STATUS_SUCCESS, or as much as fits and STATUS_BUFFER_OVERFLOW;
 *  - a NULL pointer is STATUS_INVALID_PARAMETER, as the pages list it. A usable
 *    destination is then left empty (still a string), except by Cat, which keeps what
 *    was there.
 * Cb forms take bytes; a W routine uses cb / sizeof(WCHAR) characters, so a byte count
 * below one character is as invalid as 0 (strsafe's pages: "less than sizeof(TCHAR)").
 * WCHAR is wchar_t, 4 bytes on Linux, so the W byte counts are twice Windows' for the same
 * text: code that writes sizeof(buffer) or cch * sizeof(WCHAR) is unaffected. */
#ifndef NTIO_COMPAT_NTSTRSAFE_H
#define NTIO_COMPAT_NTSTRSAFE_H

#include "ntdef.h"
#include "ntstatus.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

/* A driver may lower these before including the header, as the WDK allows. */
#ifndef NTSTRSAFE_MAX_CCH
#define NTSTRSAFE_MAX_CCH 2147483647
#endif
#ifndef NTSTRSAFE_UNICODE_STRING_MAX_CCH
#define NTSTRSAFE_UNICODE_STRING_MAX_CCH 32767
#endif
#if defined(NTSTRSAFE_NO_CB_FUNCTIONS) && defined(NTSTRSAFE_NO_CCH_FUNCTIONS)
#error "NTSTRSAFE_NO_CB_FUNCTIONS and NTSTRSAFE_NO_CCH_FUNCTIONS cannot both be defined"
#endif

/* The WDK's names for the parameter types; "NZ" strings need no terminator within the
 * count the caller gives (the source of CopyN and CatN). */
typedef char *NTSTRSAFE_PSTR;
typedef const char *NTSTRSAFE_PCSTR;
typedef wchar_t *NTSTRSAFE_PWSTR;
typedef const wchar_t *NTSTRSAFE_PCWSTR;

/* The shared workers' bound, from whichever of <strsafe.h> and <ntstrsafe.h> comes first
 * (both are 2147483647 unless the program changes them); each routine passes its own. */
#ifndef NTIO_STRSAFE_MAX_CCH
#define NTIO_STRSAFE_MAX_CCH NTSTRSAFE_MAX_CCH
#endif
#include "strsafe_core.h"

/* The workers' outcome as the WDK's routines report it. */
NTIO_INLINE NTSTATUS ntio_strsafe_status(int outcome) {
    return outcome == NTIO_STRSAFE_OK          ? STATUS_SUCCESS
           : outcome == NTIO_STRSAFE_TRUNCATED ? STATUS_BUFFER_OVERFLOW
                                               : STATUS_INVALID_PARAMETER;
}

/* ---- character-counted forms ---------------------------------------------------- */
#ifndef NTSTRSAFE_NO_CCH_FUNCTIONS
NTIO_INLINE NTSTATUS RtlStringCchCopyA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszSrc) {
    return ntio_strsafe_status(ntio_strsafe_copy_a(pszDest, cchDest, pszSrc, NTSTRSAFE_MAX_CCH));
}
NTIO_INLINE NTSTATUS RtlStringCchCopyW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, NTSTRSAFE_PCWSTR pszSrc) {
    return ntio_strsafe_status(ntio_strsafe_copy_w(pszDest, cchDest, pszSrc, NTSTRSAFE_MAX_CCH));
}
NTIO_INLINE NTSTATUS RtlStringCchCopyNA(NTSTRSAFE_PSTR pszDest, size_t cchDest, STRSAFE_PCNZCH pszSrc,
                                        size_t cchToCopy) {
    return ntio_strsafe_status(ntio_strsafe_copy_a(pszDest, cchDest, pszSrc, cchToCopy));
}
NTIO_INLINE NTSTATUS RtlStringCchCopyNW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, STRSAFE_PCNZWCH pszSrc,
                                        size_t cchToCopy) {
    return ntio_strsafe_status(ntio_strsafe_copy_w(pszDest, cchDest, pszSrc, cchToCopy));
}
NTIO_INLINE NTSTATUS RtlStringCchCatA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszSrc) {
    return ntio_strsafe_status(ntio_strsafe_cat_a(pszDest, cchDest, pszSrc, NTSTRSAFE_MAX_CCH));
}
NTIO_INLINE NTSTATUS RtlStringCchCatW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, NTSTRSAFE_PCWSTR pszSrc) {
    return ntio_strsafe_status(ntio_strsafe_cat_w(pszDest, cchDest, pszSrc, NTSTRSAFE_MAX_CCH));
}
NTIO_INLINE NTSTATUS RtlStringCchCatNA(NTSTRSAFE_PSTR pszDest, size_t cchDest, STRSAFE_PCNZCH pszSrc,
                                       size_t cchToAppend) {
    return ntio_strsafe_status(ntio_strsafe_cat_a(pszDest, cchDest, pszSrc, cchToAppend));
}
NTIO_INLINE NTSTATUS RtlStringCchCatNW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, STRSAFE_PCNZWCH pszSrc,
                                       size_t cchToAppend) {
    return ntio_strsafe_status(ntio_strsafe_cat_w(pszDest, cchDest, pszSrc, cchToAppend));
}
NTIO_INLINE NTSTATUS RtlStringCchVPrintfA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszFormat,
                                          va_list argList) {
    return ntio_strsafe_status(ntio_strsafe_vprintf_a(pszDest, cchDest, pszFormat, argList));
}
NTIO_INLINE NTSTATUS RtlStringCchVPrintfW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, NTSTRSAFE_PCWSTR pszFormat,
                                          va_list argList) {
    return ntio_strsafe_status(ntio_strsafe_vprintf_w(pszDest, cchDest, pszFormat, argList));
}
NTIO_INLINE NTSTATUS RtlStringCchPrintfA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszFormat, ...) {
    NTSTATUS status;
    va_list args;
    va_start(args, pszFormat);
    status = ntio_strsafe_status(ntio_strsafe_vprintf_a(pszDest, cchDest, pszFormat, args));
    va_end(args);
    return status;
}
NTIO_INLINE NTSTATUS RtlStringCchPrintfW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, NTSTRSAFE_PCWSTR pszFormat, ...) {
    NTSTATUS status;
    va_list args;
    va_start(args, pszFormat);
    status = ntio_strsafe_status(ntio_strsafe_vprintf_w(pszDest, cchDest, pszFormat, args));
    va_end(args);
    return status;
}
NTIO_INLINE NTSTATUS RtlStringCchLengthA(STRSAFE_PCNZCH psz, size_t cchMax, size_t *pcchLength) {
    return ntio_strsafe_status(ntio_strsafe_length_a(psz, cchMax, pcchLength));
}
NTIO_INLINE NTSTATUS RtlStringCchLengthW(STRSAFE_PCNZWCH psz, size_t cchMax, size_t *pcchLength) {
    return ntio_strsafe_status(ntio_strsafe_length_w(psz, cchMax, pcchLength));
}
#endif /* NTSTRSAFE_NO_CCH_FUNCTIONS */

/* ---- byte-counted forms: the same, with byte counts turned into characters ---------- */
#ifndef NTSTRSAFE_NO_CB_FUNCTIONS
#define NTIO_STRSAFE_CCH_W(cb) ((cb) / sizeof(wchar_t))
NTIO_INLINE NTSTATUS RtlStringCbCopyA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszSrc) {
    return ntio_strsafe_status(ntio_strsafe_copy_a(pszDest, cbDest, pszSrc, NTSTRSAFE_MAX_CCH));
}
NTIO_INLINE NTSTATUS RtlStringCbCopyW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PCWSTR pszSrc) {
    return ntio_strsafe_status(ntio_strsafe_copy_w(pszDest, NTIO_STRSAFE_CCH_W(cbDest), pszSrc, NTSTRSAFE_MAX_CCH));
}
NTIO_INLINE NTSTATUS RtlStringCbCopyNA(NTSTRSAFE_PSTR pszDest, size_t cbDest, STRSAFE_PCNZCH pszSrc,
                                       size_t cbToCopy) {
    return ntio_strsafe_status(ntio_strsafe_copy_a(pszDest, cbDest, pszSrc, cbToCopy));
}
NTIO_INLINE NTSTATUS RtlStringCbCopyNW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, STRSAFE_PCNZWCH pszSrc,
                                       size_t cbToCopy) {
    return ntio_strsafe_status(ntio_strsafe_copy_w(pszDest, NTIO_STRSAFE_CCH_W(cbDest), pszSrc, NTIO_STRSAFE_CCH_W(cbToCopy)));
}
NTIO_INLINE NTSTATUS RtlStringCbCatA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszSrc) {
    return ntio_strsafe_status(ntio_strsafe_cat_a(pszDest, cbDest, pszSrc, NTSTRSAFE_MAX_CCH));
}
NTIO_INLINE NTSTATUS RtlStringCbCatW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PCWSTR pszSrc) {
    return ntio_strsafe_status(ntio_strsafe_cat_w(pszDest, NTIO_STRSAFE_CCH_W(cbDest), pszSrc, NTSTRSAFE_MAX_CCH));
}
NTIO_INLINE NTSTATUS RtlStringCbCatNA(NTSTRSAFE_PSTR pszDest, size_t cbDest, STRSAFE_PCNZCH pszSrc,
                                      size_t cbToAppend) {
    return ntio_strsafe_status(ntio_strsafe_cat_a(pszDest, cbDest, pszSrc, cbToAppend));
}
NTIO_INLINE NTSTATUS RtlStringCbCatNW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, STRSAFE_PCNZWCH pszSrc,
                                      size_t cbToAppend) {
    return ntio_strsafe_status(ntio_strsafe_cat_w(pszDest, NTIO_STRSAFE_CCH_W(cbDest), pszSrc, NTIO_STRSAFE_CCH_W(cbToAppend)));
}
NTIO_INLINE NTSTATUS RtlStringCbVPrintfA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszFormat,
                                         va_list argList) {
    return ntio_strsafe_status(ntio_strsafe_vprintf_a(pszDest, cbDest, pszFormat, argList));
}
NTIO_INLINE NTSTATUS RtlStringCbVPrintfW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PCWSTR pszFormat,
                                         va_list argList) {
    return ntio_strsafe_status(ntio_strsafe_vprintf_w(pszDest, NTIO_STRSAFE_CCH_W(cbDest), pszFormat, argList));
}
NTIO_INLINE NTSTATUS RtlStringCbPrintfA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszFormat, ...) {
    NTSTATUS status;
    va_list args;
    va_start(args, pszFormat);
    status = ntio_strsafe_status(ntio_strsafe_vprintf_a(pszDest, cbDest, pszFormat, args));
    va_end(args);
    return status;
}
NTIO_INLINE NTSTATUS RtlStringCbPrintfW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PCWSTR pszFormat, ...) {
    NTSTATUS status;
    va_list args;
    va_start(args, pszFormat);
    status = ntio_strsafe_status(ntio_strsafe_vprintf_w(pszDest, NTIO_STRSAFE_CCH_W(cbDest), pszFormat, args));
    va_end(args);
    return status;
}
/* cbMax counts the terminator; *pcbLength does not. Both are bytes. */
NTIO_INLINE NTSTATUS RtlStringCbLengthA(STRSAFE_PCNZCH psz, size_t cbMax, size_t *pcbLength) {
    return ntio_strsafe_status(ntio_strsafe_length_a(psz, cbMax, pcbLength));
}
NTIO_INLINE NTSTATUS RtlStringCbLengthW(STRSAFE_PCNZWCH psz, size_t cbMax, size_t *pcbLength) {
    size_t cch;
    NTSTATUS status = ntio_strsafe_status(ntio_strsafe_length_w(psz, NTIO_STRSAFE_CCH_W(cbMax), &cch));
    if (pcbLength != NULL) *pcbLength = cch * sizeof(wchar_t);
    return status;
}
#endif /* NTSTRSAFE_NO_CB_FUNCTIONS */

/* ---- counted UNICODE_STRINGs (RtlUnicodeString*) ------------------------------------ *
 * A UNICODE_STRING is valid when Length <= MaximumLength, both are whole WCHARs, the
 * maximum is at most NTIO_USTR_MAX_CCH characters (below), and Buffer is non-NULL
 * unless both are 0. The result needs no terminator: Length is set to what was written,
 * STATUS_BUFFER_OVERFLOW when the whole result did not fit (as much as fits is kept). */
NTIO_EXTERN_C_BEGIN
NTIO_API size_t ntio_vswprintf_windows_counted(wchar_t *Buffer, size_t Count, const wchar_t *Format, va_list Args);
NTIO_EXTERN_C_END

/* The most characters a counted string holds: NTSTRSAFE_UNICODE_STRING_MAX_CCH, or what
 * the USHORT byte counts can express with 4-byte WCHARs (16383), whichever is less. */
#define NTIO_USTR_MAX_CCH \
    ((size_t)NTSTRSAFE_UNICODE_STRING_MAX_CCH < 0xFFFFu / sizeof(wchar_t) ? (size_t)NTSTRSAFE_UNICODE_STRING_MAX_CCH \
                                                                          : 0xFFFFu / sizeof(wchar_t) - 1)
#define NTIO_USTR_MAX_BYTES (NTIO_USTR_MAX_CCH * sizeof(wchar_t))
NTIO_INLINE int ntio_ustr_valid(PCUNICODE_STRING s) {
    return s != NULL && s->Length <= s->MaximumLength && s->Length % sizeof(wchar_t) == 0 &&
           s->MaximumLength % sizeof(wchar_t) == 0 && s->MaximumLength <= NTIO_USTR_MAX_BYTES &&
           (s->Buffer != NULL || s->MaximumLength == 0);
}
NTIO_INLINE NTSTATUS RtlUnicodeStringValidate(PCUNICODE_STRING SourceString) {
    return ntio_ustr_valid(SourceString) ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
}
/* Points DestinationString at pszSrc (a NULL pszSrc makes an empty string), refusing one
 * longer than the maximum. */
NTIO_INLINE NTSTATUS RtlUnicodeStringInit(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszSrc) {
    size_t n = 0;
    if (DestinationString == NULL) return STATUS_INVALID_PARAMETER;
    DestinationString->Length = DestinationString->MaximumLength = 0;
    DestinationString->Buffer = (PWSTR)pszSrc;
    if (pszSrc == NULL) return STATUS_SUCCESS;
    while (n < NTIO_USTR_MAX_CCH && pszSrc[n] != L'\0') ++n;
    if (pszSrc[n] != L'\0') {
        DestinationString->Buffer = NULL;
        return STATUS_INVALID_PARAMETER;
    }
    DestinationString->Length = (USHORT)(n * sizeof(wchar_t));
    DestinationString->MaximumLength = (USHORT)((n + (n < NTIO_USTR_MAX_CCH)) * sizeof(wchar_t));
    return STATUS_SUCCESS;
}
/* Appends count characters of src at character `at` of dst, as many as fit. */
NTIO_INLINE NTSTATUS ntio_ustr_put(PUNICODE_STRING dst, size_t at, const wchar_t *src, size_t count) {
    size_t room = dst->MaximumLength / sizeof(wchar_t) - at;
    size_t n = count < room ? count : room;
    if (n) memmove(dst->Buffer + at, src, n * sizeof(wchar_t));
    dst->Length = (USHORT)((at + n) * sizeof(wchar_t));
    return n < count ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}
NTIO_INLINE size_t ntio_wcsnlen_max(const wchar_t *s, size_t max) {
    size_t n = 0;
    while (n < max && s[n] != L'\0') ++n;
    return n;
}
NTIO_INLINE NTSTATUS RtlUnicodeStringCopy(PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString) {
    if (!ntio_ustr_valid(DestinationString) || !ntio_ustr_valid(SourceString)) return STATUS_INVALID_PARAMETER;
    return ntio_ustr_put(DestinationString, 0, SourceString->Buffer, SourceString->Length / sizeof(wchar_t));
}
NTIO_INLINE NTSTATUS RtlUnicodeStringCopyString(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszSrc) {
    if (!ntio_ustr_valid(DestinationString) || pszSrc == NULL) return STATUS_INVALID_PARAMETER;
    return ntio_ustr_put(DestinationString, 0, pszSrc, ntio_wcsnlen_max(pszSrc, NTIO_USTR_MAX_CCH));
}
NTIO_INLINE NTSTATUS RtlUnicodeStringCbCopyStringN(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszSrc,
                                                   size_t cbToCopy) {
    if (!ntio_ustr_valid(DestinationString) || pszSrc == NULL || cbToCopy > NTIO_USTR_MAX_BYTES)
        return STATUS_INVALID_PARAMETER;
    return ntio_ustr_put(DestinationString, 0, pszSrc, ntio_wcsnlen_max(pszSrc, cbToCopy / sizeof(wchar_t)));
}
NTIO_INLINE NTSTATUS RtlUnicodeStringCchCopyStringN(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszSrc,
                                                    size_t cchToCopy) {
    if (!ntio_ustr_valid(DestinationString) || pszSrc == NULL || cchToCopy > NTIO_USTR_MAX_CCH)
        return STATUS_INVALID_PARAMETER;
    return ntio_ustr_put(DestinationString, 0, pszSrc, ntio_wcsnlen_max(pszSrc, cchToCopy));
}
NTIO_INLINE NTSTATUS RtlUnicodeStringCat(PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString) {
    if (!ntio_ustr_valid(DestinationString) || !ntio_ustr_valid(SourceString)) return STATUS_INVALID_PARAMETER;
    return ntio_ustr_put(DestinationString, DestinationString->Length / sizeof(wchar_t), SourceString->Buffer,
                         SourceString->Length / sizeof(wchar_t));
}
NTIO_INLINE NTSTATUS RtlUnicodeStringCatString(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszSrc) {
    if (!ntio_ustr_valid(DestinationString) || pszSrc == NULL) return STATUS_INVALID_PARAMETER;
    return ntio_ustr_put(DestinationString, DestinationString->Length / sizeof(wchar_t), pszSrc,
                         ntio_wcsnlen_max(pszSrc, NTIO_USTR_MAX_CCH));
}
NTIO_INLINE NTSTATUS RtlUnicodeStringVPrintf(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszFormat,
                                             va_list argList) {
    size_t cch, needed;
    if (!ntio_ustr_valid(DestinationString) || pszFormat == NULL) return STATUS_INVALID_PARAMETER;
    cch = DestinationString->MaximumLength / sizeof(wchar_t);
    needed = ntio_vswprintf_windows_counted(DestinationString->Buffer, cch, pszFormat, argList);
    if (needed == SIZE_MAX) {
        DestinationString->Length = 0;
        return STATUS_INVALID_PARAMETER;
    }
    DestinationString->Length = (USHORT)((needed < cch ? needed : cch) * sizeof(wchar_t));
    return needed <= cch ? STATUS_SUCCESS : STATUS_BUFFER_OVERFLOW;
}
NTIO_INLINE NTSTATUS RtlUnicodeStringPrintf(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszFormat, ...) {
    NTSTATUS status;
    va_list args;
    va_start(args, pszFormat);
    status = RtlUnicodeStringVPrintf(DestinationString, pszFormat, args);
    va_end(args);
    return status;
}

#endif /* NTIO_COMPAT_NTSTRSAFE_H */
