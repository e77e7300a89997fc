/* ntio compat: the workers behind <ntstrsafe.h> (drivers, NTSTATUS results) and
 * <strsafe.h> (applications, HRESULT results): one implementation of the bounded string
 * routines, each worker returning one of three outcomes that the public header turns into
 * its own status type. Not a header of the SDK; include <ntstrsafe.h> or <strsafe.h>.
 *
 * The including header defines NTIO_STRSAFE_MAX_CCH first (NTSTRSAFE_MAX_CCH or
 * STRSAFE_MAX_CCH, either of which the program may lower before its include). */
#ifndef NTIO_COMPAT_STRSAFE_CORE_H
#define NTIO_COMPAT_STRSAFE_CORE_H

#include "ntdef.h"
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

#ifndef NTIO_STRSAFE_MAX_CCH
#error "include <ntstrsafe.h> or <strsafe.h>, not this header"
#endif

#define NTIO_STRSAFE_OK 0
#define NTIO_STRSAFE_TRUNCATED 1 /* the whole result did not fit: as much as fits, terminated */
#define NTIO_STRSAFE_INVALID 2   /* a bad size or pointer: see each header for what is left */

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
#define NTIO_STRSAFE_BAD_CCH(cch) ((cch) == 0 || (cch) > (size_t)NTIO_STRSAFE_MAX_CCH)

/* Length of psz, looking at no more than max characters; the string must end within them. */
NTIO_INLINE int ntio_strsafe_length_a(const char *psz, size_t max, size_t *length) {
    int status = NTIO_STRSAFE_INVALID;
    size_t n = 0;
    if (psz != NULL && max <= (size_t)NTIO_STRSAFE_MAX_CCH) {
        while (n < max && psz[n] != '\0') ++n;
        if (n < max) status = NTIO_STRSAFE_OK;
        else n = 0; /* no terminator in range: report 0, as the WDK does on failure */
    }
    if (length != NULL) *length = n;
    return status;
}

NTIO_INLINE int ntio_strsafe_length_w(const wchar_t *psz, size_t max, size_t *length) {
    int status = NTIO_STRSAFE_INVALID;
    size_t n = 0;
    if (psz != NULL && max <= (size_t)NTIO_STRSAFE_MAX_CCH) {
        while (n < max && psz[n] != L'\0') ++n;
        if (n < max) status = NTIO_STRSAFE_OK;
        else n = 0;
    }
    if (length != NULL) *length = n;
    return status;
}

/* Copies at most max characters of src (stopping at its terminator) into dst. */
NTIO_INLINE int ntio_strsafe_copy_a(char *dst, size_t cch, const char *src, size_t max) {
    size_t i = 0;
    int truncated;
    if (dst == NULL || NTIO_STRSAFE_BAD_CCH(cch)) return NTIO_STRSAFE_INVALID;
    if (src == NULL || max > (size_t)NTIO_STRSAFE_MAX_CCH) {
        dst[0] = '\0'; /* the destination is valid: leave it a string */
        return NTIO_STRSAFE_INVALID;
    }
    while (i + 1 < cch && i < max && src[i] != '\0') {
        dst[i] = src[i];
        ++i;
    }
    truncated = i < max && src[i] != '\0'; /* read before the terminator is written */
    dst[i] = '\0';
    return truncated ? NTIO_STRSAFE_TRUNCATED : NTIO_STRSAFE_OK;
}

NTIO_INLINE int ntio_strsafe_copy_w(wchar_t *dst, size_t cch, const wchar_t *src, size_t max) {
    size_t i = 0;
    int truncated;
    if (dst == NULL || NTIO_STRSAFE_BAD_CCH(cch)) return NTIO_STRSAFE_INVALID;
    if (src == NULL || max > (size_t)NTIO_STRSAFE_MAX_CCH) {
        dst[0] = L'\0';
        return NTIO_STRSAFE_INVALID;
    }
    while (i + 1 < cch && i < max && src[i] != L'\0') {
        dst[i] = src[i];
        ++i;
    }
    truncated = i < max && src[i] != L'\0';
    dst[i] = L'\0';
    return truncated ? NTIO_STRSAFE_TRUNCATED : NTIO_STRSAFE_OK;
}

/* Appends after the string already in dst. A dst with no terminator within cch is the
 * "destination buffer already full" case: refused, and left as it is. */
NTIO_INLINE int ntio_strsafe_cat_a(char *dst, size_t cch, const char *src, size_t max) {
    size_t used;
    if (dst == NULL || NTIO_STRSAFE_BAD_CCH(cch)) return NTIO_STRSAFE_INVALID;
    if (ntio_strsafe_length_a(dst, cch, &used) != NTIO_STRSAFE_OK) return NTIO_STRSAFE_INVALID;
    return ntio_strsafe_copy_a(dst + used, cch - used, src, max);
}

NTIO_INLINE int ntio_strsafe_cat_w(wchar_t *dst, size_t cch, const wchar_t *src, size_t max) {
    size_t used;
    if (dst == NULL || NTIO_STRSAFE_BAD_CCH(cch)) return NTIO_STRSAFE_INVALID;
    if (ntio_strsafe_length_w(dst, cch, &used) != NTIO_STRSAFE_OK) return NTIO_STRSAFE_INVALID;
    return ntio_strsafe_copy_w(dst + used, cch - used, src, max);
}

NTIO_INLINE int ntio_strsafe_vprintf_a(char *dst, size_t cch, const char *format, va_list args) {
    size_t needed;
    if (dst == NULL || NTIO_STRSAFE_BAD_CCH(cch)) return NTIO_STRSAFE_INVALID;
    if (format == NULL) {
        dst[0] = '\0';
        return NTIO_STRSAFE_INVALID;
    }
    needed = ntio_vsnprintf_windows(dst, cch, format, args);
    if (needed == SIZE_MAX) {
        dst[0] = '\0';
        return NTIO_STRSAFE_INVALID;
    }
    return needed < cch ? NTIO_STRSAFE_OK : NTIO_STRSAFE_TRUNCATED;
}

NTIO_INLINE int ntio_strsafe_vprintf_w(wchar_t *dst, size_t cch, const wchar_t *format, va_list args) {
    size_t needed;
    if (dst == NULL || NTIO_STRSAFE_BAD_CCH(cch)) return NTIO_STRSAFE_INVALID;
    if (format == NULL) {
        dst[0] = L'\0';
        return NTIO_STRSAFE_INVALID;
    }
    needed = ntio_vswprintf_windows(dst, cch, format, args);
    if (needed == SIZE_MAX) {
        dst[0] = L'\0';
        return NTIO_STRSAFE_INVALID;
    }
    return needed < cch ? NTIO_STRSAFE_OK : NTIO_STRSAFE_TRUNCATED;
}

#endif /* NTIO_COMPAT_STRSAFE_CORE_H */
