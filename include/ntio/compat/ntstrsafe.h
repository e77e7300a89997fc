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
typedef const char *STRSAFE_PCNZCH;
typedef const wchar_t *STRSAFE_PCNZWCH;

/* ---- the formatting engine (src/rtl, shared with DbgPrint) ------------------------- *
 * Windows' printf rules, not glibc's: %ld/%lu/%lx are 32-bit (ULONG is unsigned int here),
 * %I64d/%lld 64-bit, %Id/%Iu pointer-sized; %wZ takes a PUNICODE_STRING and %Z a
 * PANSI_STRING (counted, need no terminator); %ws/%ls are wide strings and %hs narrow.
 * The A routine reads %s/%c as narrow and %S/%C as wide; the W routine the other way round
 * (%s is a wchar_t string there, as in MSVC's wprintf, where glibc's vswprintf would read
 * it as char *). This is why the header cannot simply call vsnprintf/vswprintf: %wZ and
 * the 32-bit %lu change how the argument list is read, which only a formatter that walks
 * the arguments itself can do, and the library has one already.
 *
 * Both write at most Count characters including the terminator (always terminated when
 * Count > 0) and return the length of the whole result without it, as C99's vsnprintf
 * does; SIZE_MAX when Format is NULL or the result cannot be built. %n writes nothing. */
NTIO_EXTERN_C_BEGIN
NTIO_API size_t ntio_vsnprintf_windows(char *Buffer, size_t Count, const char *Format, va_list Args);
NTIO_API size_t ntio_vswprintf_windows(wchar_t *Buffer, size_t Count, const wchar_t *Format, va_list Args);
NTIO_EXTERN_C_END

/* ---- workers: one per operation and width; cch is the destination in characters ---- */
#define NTIO_STRSAFE_BAD_CCH(cch) ((cch) == 0 || (cch) > (size_t)NTSTRSAFE_MAX_CCH)

/* Length of psz, looking at no more than max characters; the string must end within them. */
NTIO_INLINE NTSTATUS ntio_strsafe_length_a(const char *psz, size_t max, size_t *length) {
    NTSTATUS status = STATUS_INVALID_PARAMETER;
    size_t n = 0;
    if (psz != NULL && max <= (size_t)NTSTRSAFE_MAX_CCH) {
        while (n < max && psz[n] != '\0') ++n;
        if (n < max) status = STATUS_SUCCESS;
        else n = 0; /* no terminator in range: report 0, as the WDK does on failure */
    }
    if (length != NULL) *length = n;
    return status;
}

NTIO_INLINE NTSTATUS ntio_strsafe_length_w(const wchar_t *psz, size_t max, size_t *length) {
    NTSTATUS status = STATUS_INVALID_PARAMETER;
    size_t n = 0;
    if (psz != NULL && max <= (size_t)NTSTRSAFE_MAX_CCH) {
        while (n < max && psz[n] != L'\0') ++n;
        if (n < max) status = STATUS_SUCCESS;
        else n = 0;
    }
    if (length != NULL) *length = n;
    return status;
}

/* Copies at most max characters of src (stopping at its terminator) into dst. */
NTIO_INLINE NTSTATUS ntio_strsafe_copy_a(char *dst, size_t cch, const char *src, size_t max) {
    size_t i = 0;
    int truncated;
    if (dst == NULL || NTIO_STRSAFE_BAD_CCH(cch)) return STATUS_INVALID_PARAMETER;
    if (src == NULL || max > (size_t)NTSTRSAFE_MAX_CCH) {
        dst[0] = '\0'; /* the destination is valid: leave it a string */
        return STATUS_INVALID_PARAMETER;
    }
    while (i + 1 < cch && i < max && src[i] != '\0') {
        dst[i] = src[i];
        ++i;
    }
    truncated = i < max && src[i] != '\0'; /* read before the terminator is written */
    dst[i] = '\0';
    return truncated ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}

NTIO_INLINE NTSTATUS ntio_strsafe_copy_w(wchar_t *dst, size_t cch, const wchar_t *src, size_t max) {
    size_t i = 0;
    int truncated;
    if (dst == NULL || NTIO_STRSAFE_BAD_CCH(cch)) return STATUS_INVALID_PARAMETER;
    if (src == NULL || max > (size_t)NTSTRSAFE_MAX_CCH) {
        dst[0] = L'\0';
        return STATUS_INVALID_PARAMETER;
    }
    while (i + 1 < cch && i < max && src[i] != L'\0') {
        dst[i] = src[i];
        ++i;
    }
    truncated = i < max && src[i] != L'\0';
    dst[i] = L'\0';
    return truncated ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}

/* Appends after the string already in dst. A dst with no terminator within cch is the
 * "destination buffer already full" case: refused, and left as it is. */
NTIO_INLINE NTSTATUS ntio_strsafe_cat_a(char *dst, size_t cch, const char *src, size_t max) {
    size_t used;
    if (dst == NULL || NTIO_STRSAFE_BAD_CCH(cch)) return STATUS_INVALID_PARAMETER;
    if (!NT_SUCCESS(ntio_strsafe_length_a(dst, cch, &used))) return STATUS_INVALID_PARAMETER;
    return ntio_strsafe_copy_a(dst + used, cch - used, src, max);
}

NTIO_INLINE NTSTATUS ntio_strsafe_cat_w(wchar_t *dst, size_t cch, const wchar_t *src, size_t max) {
    size_t used;
    if (dst == NULL || NTIO_STRSAFE_BAD_CCH(cch)) return STATUS_INVALID_PARAMETER;
    if (!NT_SUCCESS(ntio_strsafe_length_w(dst, cch, &used))) return STATUS_INVALID_PARAMETER;
    return ntio_strsafe_copy_w(dst + used, cch - used, src, max);
}

NTIO_INLINE NTSTATUS ntio_strsafe_vprintf_a(char *dst, size_t cch, const char *format, va_list args) {
    size_t needed;
    if (dst == NULL || NTIO_STRSAFE_BAD_CCH(cch)) return STATUS_INVALID_PARAMETER;
    if (format == NULL) {
        dst[0] = '\0';
        return STATUS_INVALID_PARAMETER;
    }
    needed = ntio_vsnprintf_windows(dst, cch, format, args);
    if (needed == SIZE_MAX) {
        dst[0] = '\0';
        return STATUS_INVALID_PARAMETER;
    }
    return needed < cch ? STATUS_SUCCESS : STATUS_BUFFER_OVERFLOW;
}

NTIO_INLINE NTSTATUS ntio_strsafe_vprintf_w(wchar_t *dst, size_t cch, const wchar_t *format, va_list args) {
    size_t needed;
    if (dst == NULL || NTIO_STRSAFE_BAD_CCH(cch)) return STATUS_INVALID_PARAMETER;
    if (format == NULL) {
        dst[0] = L'\0';
        return STATUS_INVALID_PARAMETER;
    }
    needed = ntio_vswprintf_windows(dst, cch, format, args);
    if (needed == SIZE_MAX) {
        dst[0] = L'\0';
        return STATUS_INVALID_PARAMETER;
    }
    return needed < cch ? STATUS_SUCCESS : STATUS_BUFFER_OVERFLOW;
}

/* ---- character-counted forms ---------------------------------------------------- */
#ifndef NTSTRSAFE_NO_CCH_FUNCTIONS
NTIO_INLINE NTSTATUS RtlStringCchCopyA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszSrc) {
    return ntio_strsafe_copy_a(pszDest, cchDest, pszSrc, NTSTRSAFE_MAX_CCH);
}
NTIO_INLINE NTSTATUS RtlStringCchCopyW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, NTSTRSAFE_PCWSTR pszSrc) {
    return ntio_strsafe_copy_w(pszDest, cchDest, pszSrc, NTSTRSAFE_MAX_CCH);
}
NTIO_INLINE NTSTATUS RtlStringCchCopyNA(NTSTRSAFE_PSTR pszDest, size_t cchDest, STRSAFE_PCNZCH pszSrc,
                                        size_t cchToCopy) {
    return ntio_strsafe_copy_a(pszDest, cchDest, pszSrc, cchToCopy);
}
NTIO_INLINE NTSTATUS RtlStringCchCopyNW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, STRSAFE_PCNZWCH pszSrc,
                                        size_t cchToCopy) {
    return ntio_strsafe_copy_w(pszDest, cchDest, pszSrc, cchToCopy);
}
NTIO_INLINE NTSTATUS RtlStringCchCatA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszSrc) {
    return ntio_strsafe_cat_a(pszDest, cchDest, pszSrc, NTSTRSAFE_MAX_CCH);
}
NTIO_INLINE NTSTATUS RtlStringCchCatW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, NTSTRSAFE_PCWSTR pszSrc) {
    return ntio_strsafe_cat_w(pszDest, cchDest, pszSrc, NTSTRSAFE_MAX_CCH);
}
NTIO_INLINE NTSTATUS RtlStringCchCatNA(NTSTRSAFE_PSTR pszDest, size_t cchDest, STRSAFE_PCNZCH pszSrc,
                                       size_t cchToAppend) {
    return ntio_strsafe_cat_a(pszDest, cchDest, pszSrc, cchToAppend);
}
NTIO_INLINE NTSTATUS RtlStringCchCatNW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, STRSAFE_PCNZWCH pszSrc,
                                       size_t cchToAppend) {
    return ntio_strsafe_cat_w(pszDest, cchDest, pszSrc, cchToAppend);
}
NTIO_INLINE NTSTATUS RtlStringCchVPrintfA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszFormat,
                                          va_list argList) {
    return ntio_strsafe_vprintf_a(pszDest, cchDest, pszFormat, argList);
}
NTIO_INLINE NTSTATUS RtlStringCchVPrintfW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, NTSTRSAFE_PCWSTR pszFormat,
                                          va_list argList) {
    return ntio_strsafe_vprintf_w(pszDest, cchDest, pszFormat, argList);
}
NTIO_INLINE NTSTATUS RtlStringCchPrintfA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszFormat, ...) {
    NTSTATUS status;
    va_list args;
    va_start(args, pszFormat);
    status = ntio_strsafe_vprintf_a(pszDest, cchDest, pszFormat, args);
    va_end(args);
    return status;
}
NTIO_INLINE NTSTATUS RtlStringCchPrintfW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, NTSTRSAFE_PCWSTR pszFormat, ...) {
    NTSTATUS status;
    va_list args;
    va_start(args, pszFormat);
    status = ntio_strsafe_vprintf_w(pszDest, cchDest, pszFormat, args);
    va_end(args);
    return status;
}
NTIO_INLINE NTSTATUS RtlStringCchLengthA(STRSAFE_PCNZCH psz, size_t cchMax, size_t *pcchLength) {
    return ntio_strsafe_length_a(psz, cchMax, pcchLength);
}
NTIO_INLINE NTSTATUS RtlStringCchLengthW(STRSAFE_PCNZWCH psz, size_t cchMax, size_t *pcchLength) {
    return ntio_strsafe_length_w(psz, cchMax, pcchLength);
}
#endif /* NTSTRSAFE_NO_CCH_FUNCTIONS */

/* ---- byte-counted forms: the same, with byte counts turned into characters ---------- */
#ifndef NTSTRSAFE_NO_CB_FUNCTIONS
#define NTIO_STRSAFE_CCH_W(cb) ((cb) / sizeof(wchar_t))
NTIO_INLINE NTSTATUS RtlStringCbCopyA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszSrc) {
    return ntio_strsafe_copy_a(pszDest, cbDest, pszSrc, NTSTRSAFE_MAX_CCH);
}
NTIO_INLINE NTSTATUS RtlStringCbCopyW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PCWSTR pszSrc) {
    return ntio_strsafe_copy_w(pszDest, NTIO_STRSAFE_CCH_W(cbDest), pszSrc, NTSTRSAFE_MAX_CCH);
}
NTIO_INLINE NTSTATUS RtlStringCbCopyNA(NTSTRSAFE_PSTR pszDest, size_t cbDest, STRSAFE_PCNZCH pszSrc,
                                       size_t cbToCopy) {
    return ntio_strsafe_copy_a(pszDest, cbDest, pszSrc, cbToCopy);
}
NTIO_INLINE NTSTATUS RtlStringCbCopyNW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, STRSAFE_PCNZWCH pszSrc,
                                       size_t cbToCopy) {
    return ntio_strsafe_copy_w(pszDest, NTIO_STRSAFE_CCH_W(cbDest), pszSrc, NTIO_STRSAFE_CCH_W(cbToCopy));
}
NTIO_INLINE NTSTATUS RtlStringCbCatA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszSrc) {
    return ntio_strsafe_cat_a(pszDest, cbDest, pszSrc, NTSTRSAFE_MAX_CCH);
}
NTIO_INLINE NTSTATUS RtlStringCbCatW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PCWSTR pszSrc) {
    return ntio_strsafe_cat_w(pszDest, NTIO_STRSAFE_CCH_W(cbDest), pszSrc, NTSTRSAFE_MAX_CCH);
}
NTIO_INLINE NTSTATUS RtlStringCbCatNA(NTSTRSAFE_PSTR pszDest, size_t cbDest, STRSAFE_PCNZCH pszSrc,
                                      size_t cbToAppend) {
    return ntio_strsafe_cat_a(pszDest, cbDest, pszSrc, cbToAppend);
}
NTIO_INLINE NTSTATUS RtlStringCbCatNW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, STRSAFE_PCNZWCH pszSrc,
                                      size_t cbToAppend) {
    return ntio_strsafe_cat_w(pszDest, NTIO_STRSAFE_CCH_W(cbDest), pszSrc, NTIO_STRSAFE_CCH_W(cbToAppend));
}
NTIO_INLINE NTSTATUS RtlStringCbVPrintfA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszFormat,
                                         va_list argList) {
    return ntio_strsafe_vprintf_a(pszDest, cbDest, pszFormat, argList);
}
NTIO_INLINE NTSTATUS RtlStringCbVPrintfW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PCWSTR pszFormat,
                                         va_list argList) {
    return ntio_strsafe_vprintf_w(pszDest, NTIO_STRSAFE_CCH_W(cbDest), pszFormat, argList);
}
NTIO_INLINE NTSTATUS RtlStringCbPrintfA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszFormat, ...) {
    NTSTATUS status;
    va_list args;
    va_start(args, pszFormat);
    status = ntio_strsafe_vprintf_a(pszDest, cbDest, pszFormat, args);
    va_end(args);
    return status;
}
NTIO_INLINE NTSTATUS RtlStringCbPrintfW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PCWSTR pszFormat, ...) {
    NTSTATUS status;
    va_list args;
    va_start(args, pszFormat);
    status = ntio_strsafe_vprintf_w(pszDest, NTIO_STRSAFE_CCH_W(cbDest), pszFormat, args);
    va_end(args);
    return status;
}
/* cbMax counts the terminator; *pcbLength does not. Both are bytes. */
NTIO_INLINE NTSTATUS RtlStringCbLengthA(STRSAFE_PCNZCH psz, size_t cbMax, size_t *pcbLength) {
    return ntio_strsafe_length_a(psz, cbMax, pcbLength);
}
NTIO_INLINE NTSTATUS RtlStringCbLengthW(STRSAFE_PCNZWCH psz, size_t cbMax, size_t *pcbLength) {
    size_t cch;
    NTSTATUS status = ntio_strsafe_length_w(psz, NTIO_STRSAFE_CCH_W(cbMax), &cch);
    if (pcbLength != NULL) *pcbLength = cch * sizeof(wchar_t);
    return status;
}
#endif /* NTSTRSAFE_NO_CB_FUNCTIONS */

#endif /* NTIO_COMPAT_NTSTRSAFE_H */
