/* ntio compat: <strsafe.h>, the SDK's bounded string routines for applications:
 * StringCch and StringCb Copy, CopyN, Cat, CatN, Printf, VPrintf and Length, A and W, and
 * the generic names (StringCchCopy, ...) that follow UNICODE as the SDK's do.
 *
 * They share their workers with the driver-side <ntstrsafe.h> (strsafe_core.h), so they
 * keep the same contract and format as DbgPrint does; only the result type differs:
 *  - S_OK: the whole result, NUL-terminated;
 *  - STRSAFE_E_INSUFFICIENT_BUFFER: as much as fits, NUL-terminated;
 *  - STRSAFE_E_INVALID_PARAMETER: a destination size of 0 or over STRSAFE_MAX_CCH (the
 *    destination is not touched), or a NULL pointer (a usable destination is left empty,
 *    Cat keeps what was there). The SDK's routines would fault on a NULL source.
 * Printf formats with Windows's rules, not glibc's: %lu is 32-bit, %ws/%ls are wide
 * strings, %S is the other width; in the W routines %s is wide, as in MSVC's wide printf.
 * Cb forms take bytes; WCHAR is 4 bytes on Linux, so code that passes sizeof(buffer)
 * is unaffected.
 *
 * Not provided (a compile error, not a silent difference): the Ex forms with their flags,
 * StringCchGets/StringCbGets, and the deprecation of the unbounded CRT functions. */
#ifndef NTIO_COMPAT_STRSAFE_H
#define NTIO_COMPAT_STRSAFE_H
#define _STRSAFE_H_INCLUDED_

#include "ntdef.h"
#include "winerror.h"

#ifndef STRSAFE_MAX_CCH
#define STRSAFE_MAX_CCH 2147483647
#endif
#define STRSAFE_MAX_LENGTH (STRSAFE_MAX_CCH - 1)
#if defined(STRSAFE_NO_CB_FUNCTIONS) && defined(STRSAFE_NO_CCH_FUNCTIONS)
#error "STRSAFE_NO_CB_FUNCTIONS and STRSAFE_NO_CCH_FUNCTIONS cannot both be defined"
#endif

#ifndef STRSAFE_E_INSUFFICIENT_BUFFER
#define STRSAFE_E_INSUFFICIENT_BUFFER ((HRESULT)0x8007007AL) /* HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER) */
#define STRSAFE_E_INVALID_PARAMETER ((HRESULT)0x80070057L)   /* HRESULT_FROM_WIN32(ERROR_INVALID_PARAMETER) */
#define STRSAFE_E_END_OF_FILE ((HRESULT)0x80070026L)         /* HRESULT_FROM_WIN32(ERROR_HANDLE_EOF) */
#endif

typedef char *STRSAFE_LPSTR;
typedef const char *STRSAFE_LPCSTR;
typedef wchar_t *STRSAFE_LPWSTR;
typedef const wchar_t *STRSAFE_LPCWSTR;

/* The shared workers' bound, from whichever of <strsafe.h> and <ntstrsafe.h> comes first
 * (both are 2147483647 unless the program changes them); each routine passes its own. */
#ifndef NTIO_STRSAFE_MAX_CCH
#define NTIO_STRSAFE_MAX_CCH STRSAFE_MAX_CCH
#endif
#include "strsafe_core.h"

/* The workers' outcome as the SDK's routines report it. */
NTIO_INLINE HRESULT ntio_strsafe_hresult(int outcome) {
    return outcome == NTIO_STRSAFE_OK          ? S_OK
           : outcome == NTIO_STRSAFE_TRUNCATED ? STRSAFE_E_INSUFFICIENT_BUFFER
                                               : STRSAFE_E_INVALID_PARAMETER;
}

/* ---- character-counted forms ---------------------------------------------------- */
#ifndef STRSAFE_NO_CCH_FUNCTIONS
NTIO_INLINE HRESULT StringCchCopyA(STRSAFE_LPSTR pszDest, size_t cchDest, STRSAFE_LPCSTR pszSrc) {
    return ntio_strsafe_hresult(ntio_strsafe_copy_a(pszDest, cchDest, pszSrc, STRSAFE_MAX_CCH));
}
NTIO_INLINE HRESULT StringCchCopyW(STRSAFE_LPWSTR pszDest, size_t cchDest, STRSAFE_LPCWSTR pszSrc) {
    return ntio_strsafe_hresult(ntio_strsafe_copy_w(pszDest, cchDest, pszSrc, STRSAFE_MAX_CCH));
}
NTIO_INLINE HRESULT StringCchCopyNA(STRSAFE_LPSTR pszDest, size_t cchDest, STRSAFE_PCNZCH pszSrc, size_t cchToCopy) {
    return ntio_strsafe_hresult(ntio_strsafe_copy_a(pszDest, cchDest, pszSrc, cchToCopy));
}
NTIO_INLINE HRESULT StringCchCopyNW(STRSAFE_LPWSTR pszDest, size_t cchDest, STRSAFE_PCNZWCH pszSrc, size_t cchToCopy) {
    return ntio_strsafe_hresult(ntio_strsafe_copy_w(pszDest, cchDest, pszSrc, cchToCopy));
}
NTIO_INLINE HRESULT StringCchCatA(STRSAFE_LPSTR pszDest, size_t cchDest, STRSAFE_LPCSTR pszSrc) {
    return ntio_strsafe_hresult(ntio_strsafe_cat_a(pszDest, cchDest, pszSrc, STRSAFE_MAX_CCH));
}
NTIO_INLINE HRESULT StringCchCatW(STRSAFE_LPWSTR pszDest, size_t cchDest, STRSAFE_LPCWSTR pszSrc) {
    return ntio_strsafe_hresult(ntio_strsafe_cat_w(pszDest, cchDest, pszSrc, STRSAFE_MAX_CCH));
}
NTIO_INLINE HRESULT StringCchCatNA(STRSAFE_LPSTR pszDest, size_t cchDest, STRSAFE_PCNZCH pszSrc, size_t cchToAppend) {
    return ntio_strsafe_hresult(ntio_strsafe_cat_a(pszDest, cchDest, pszSrc, cchToAppend));
}
NTIO_INLINE HRESULT StringCchCatNW(STRSAFE_LPWSTR pszDest, size_t cchDest, STRSAFE_PCNZWCH pszSrc, size_t cchToAppend) {
    return ntio_strsafe_hresult(ntio_strsafe_cat_w(pszDest, cchDest, pszSrc, cchToAppend));
}
NTIO_INLINE HRESULT StringCchVPrintfA(STRSAFE_LPSTR pszDest, size_t cchDest, STRSAFE_LPCSTR pszFormat, va_list argList) {
    return ntio_strsafe_hresult(ntio_strsafe_vprintf_a(pszDest, cchDest, pszFormat, argList));
}
NTIO_INLINE HRESULT StringCchVPrintfW(STRSAFE_LPWSTR pszDest, size_t cchDest, STRSAFE_LPCWSTR pszFormat,
                                      va_list argList) {
    return ntio_strsafe_hresult(ntio_strsafe_vprintf_w(pszDest, cchDest, pszFormat, argList));
}
NTIO_INLINE HRESULT StringCchPrintfA(STRSAFE_LPSTR pszDest, size_t cchDest, STRSAFE_LPCSTR pszFormat, ...) {
    int outcome;
    va_list args;
    va_start(args, pszFormat);
    outcome = ntio_strsafe_vprintf_a(pszDest, cchDest, pszFormat, args);
    va_end(args);
    return ntio_strsafe_hresult(outcome);
}
NTIO_INLINE HRESULT StringCchPrintfW(STRSAFE_LPWSTR pszDest, size_t cchDest, STRSAFE_LPCWSTR pszFormat, ...) {
    int outcome;
    va_list args;
    va_start(args, pszFormat);
    outcome = ntio_strsafe_vprintf_w(pszDest, cchDest, pszFormat, args);
    va_end(args);
    return ntio_strsafe_hresult(outcome);
}
/* cchMax counts the terminator; *pcchLength does not. */
NTIO_INLINE HRESULT StringCchLengthA(STRSAFE_PCNZCH psz, size_t cchMax, size_t *pcchLength) {
    return ntio_strsafe_hresult(ntio_strsafe_length_a(psz, cchMax, pcchLength));
}
NTIO_INLINE HRESULT StringCchLengthW(STRSAFE_PCNZWCH psz, size_t cchMax, size_t *pcchLength) {
    return ntio_strsafe_hresult(ntio_strsafe_length_w(psz, cchMax, pcchLength));
}
#endif /* STRSAFE_NO_CCH_FUNCTIONS */

/* ---- byte-counted forms: the same, with byte counts turned into characters ---------- */
#ifndef STRSAFE_NO_CB_FUNCTIONS
#define NTIO_STRSAFE_CB_TO_CCH_W(cb) ((cb) / sizeof(wchar_t))
NTIO_INLINE HRESULT StringCbCopyA(STRSAFE_LPSTR pszDest, size_t cbDest, STRSAFE_LPCSTR pszSrc) {
    return ntio_strsafe_hresult(ntio_strsafe_copy_a(pszDest, cbDest, pszSrc, STRSAFE_MAX_CCH));
}
NTIO_INLINE HRESULT StringCbCopyW(STRSAFE_LPWSTR pszDest, size_t cbDest, STRSAFE_LPCWSTR pszSrc) {
    return ntio_strsafe_hresult(ntio_strsafe_copy_w(pszDest, NTIO_STRSAFE_CB_TO_CCH_W(cbDest), pszSrc, STRSAFE_MAX_CCH));
}
NTIO_INLINE HRESULT StringCbCopyNA(STRSAFE_LPSTR pszDest, size_t cbDest, STRSAFE_PCNZCH pszSrc, size_t cbToCopy) {
    return ntio_strsafe_hresult(ntio_strsafe_copy_a(pszDest, cbDest, pszSrc, cbToCopy));
}
NTIO_INLINE HRESULT StringCbCopyNW(STRSAFE_LPWSTR pszDest, size_t cbDest, STRSAFE_PCNZWCH pszSrc, size_t cbToCopy) {
    return ntio_strsafe_hresult(ntio_strsafe_copy_w(pszDest, NTIO_STRSAFE_CB_TO_CCH_W(cbDest), pszSrc,
                                                    NTIO_STRSAFE_CB_TO_CCH_W(cbToCopy)));
}
NTIO_INLINE HRESULT StringCbCatA(STRSAFE_LPSTR pszDest, size_t cbDest, STRSAFE_LPCSTR pszSrc) {
    return ntio_strsafe_hresult(ntio_strsafe_cat_a(pszDest, cbDest, pszSrc, STRSAFE_MAX_CCH));
}
NTIO_INLINE HRESULT StringCbCatW(STRSAFE_LPWSTR pszDest, size_t cbDest, STRSAFE_LPCWSTR pszSrc) {
    return ntio_strsafe_hresult(ntio_strsafe_cat_w(pszDest, NTIO_STRSAFE_CB_TO_CCH_W(cbDest), pszSrc, STRSAFE_MAX_CCH));
}
NTIO_INLINE HRESULT StringCbCatNA(STRSAFE_LPSTR pszDest, size_t cbDest, STRSAFE_PCNZCH pszSrc, size_t cbToAppend) {
    return ntio_strsafe_hresult(ntio_strsafe_cat_a(pszDest, cbDest, pszSrc, cbToAppend));
}
NTIO_INLINE HRESULT StringCbCatNW(STRSAFE_LPWSTR pszDest, size_t cbDest, STRSAFE_PCNZWCH pszSrc, size_t cbToAppend) {
    return ntio_strsafe_hresult(ntio_strsafe_cat_w(pszDest, NTIO_STRSAFE_CB_TO_CCH_W(cbDest), pszSrc,
                                                   NTIO_STRSAFE_CB_TO_CCH_W(cbToAppend)));
}
NTIO_INLINE HRESULT StringCbVPrintfA(STRSAFE_LPSTR pszDest, size_t cbDest, STRSAFE_LPCSTR pszFormat, va_list argList) {
    return ntio_strsafe_hresult(ntio_strsafe_vprintf_a(pszDest, cbDest, pszFormat, argList));
}
NTIO_INLINE HRESULT StringCbVPrintfW(STRSAFE_LPWSTR pszDest, size_t cbDest, STRSAFE_LPCWSTR pszFormat, va_list argList) {
    return ntio_strsafe_hresult(ntio_strsafe_vprintf_w(pszDest, NTIO_STRSAFE_CB_TO_CCH_W(cbDest), pszFormat, argList));
}
NTIO_INLINE HRESULT StringCbPrintfA(STRSAFE_LPSTR pszDest, size_t cbDest, STRSAFE_LPCSTR pszFormat, ...) {
    int outcome;
    va_list args;
    va_start(args, pszFormat);
    outcome = ntio_strsafe_vprintf_a(pszDest, cbDest, pszFormat, args);
    va_end(args);
    return ntio_strsafe_hresult(outcome);
}
NTIO_INLINE HRESULT StringCbPrintfW(STRSAFE_LPWSTR pszDest, size_t cbDest, STRSAFE_LPCWSTR pszFormat, ...) {
    int outcome;
    va_list args;
    va_start(args, pszFormat);
    outcome = ntio_strsafe_vprintf_w(pszDest, NTIO_STRSAFE_CB_TO_CCH_W(cbDest), pszFormat, args);
    va_end(args);
    return ntio_strsafe_hresult(outcome);
}
/* cbMax counts the terminator; *pcbLength does not. Both are bytes. */
NTIO_INLINE HRESULT StringCbLengthA(STRSAFE_PCNZCH psz, size_t cbMax, size_t *pcbLength) {
    return ntio_strsafe_hresult(ntio_strsafe_length_a(psz, cbMax, pcbLength));
}
NTIO_INLINE HRESULT StringCbLengthW(STRSAFE_PCNZWCH psz, size_t cbMax, size_t *pcbLength) {
    size_t cch;
    int outcome = ntio_strsafe_length_w(psz, NTIO_STRSAFE_CB_TO_CCH_W(cbMax), &cch);
    if (pcbLength != NULL) *pcbLength = cch * sizeof(wchar_t);
    return ntio_strsafe_hresult(outcome);
}
#endif /* STRSAFE_NO_CB_FUNCTIONS */

/* ---- the generic names, which follow UNICODE as the SDK's do --------------------- */
#ifdef UNICODE
#define NTIO_STRSAFE_T(name) name##W
#else
#define NTIO_STRSAFE_T(name) name##A
#endif
#ifndef STRSAFE_NO_CCH_FUNCTIONS
#define StringCchCopy NTIO_STRSAFE_T(StringCchCopy)
#define StringCchCopyN NTIO_STRSAFE_T(StringCchCopyN)
#define StringCchCat NTIO_STRSAFE_T(StringCchCat)
#define StringCchCatN NTIO_STRSAFE_T(StringCchCatN)
#define StringCchPrintf NTIO_STRSAFE_T(StringCchPrintf)
#define StringCchVPrintf NTIO_STRSAFE_T(StringCchVPrintf)
#define StringCchLength NTIO_STRSAFE_T(StringCchLength)
#endif
#ifndef STRSAFE_NO_CB_FUNCTIONS
#define StringCbCopy NTIO_STRSAFE_T(StringCbCopy)
#define StringCbCopyN NTIO_STRSAFE_T(StringCbCopyN)
#define StringCbCat NTIO_STRSAFE_T(StringCbCat)
#define StringCbCatN NTIO_STRSAFE_T(StringCbCatN)
#define StringCbPrintf NTIO_STRSAFE_T(StringCbPrintf)
#define StringCbVPrintf NTIO_STRSAFE_T(StringCbVPrintf)
#define StringCbLength NTIO_STRSAFE_T(StringCbLength)
#endif

#endif /* NTIO_COMPAT_STRSAFE_H */
