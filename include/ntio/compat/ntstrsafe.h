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

#define NTIO_STRSAFE_MAX_CCH NTSTRSAFE_MAX_CCH
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

#endif /* NTIO_COMPAT_NTSTRSAFE_H */
