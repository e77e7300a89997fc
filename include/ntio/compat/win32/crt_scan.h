/* ntio compat: the MSVC C runtime's bounds-checked scanf family (sscanf_s, scanf_s,
 * fscanf_s and their v forms), for application files (included by <windows.h>).
 *
 * As MSVC's: %c, %s and %[ take the buffer's size in characters (an unsigned, after the
 * pointer), counting the terminator for %s and %[; a token that does not fit is not stored
 * and ends the scan, which returns the fields assigned so far. Integer sizes
 * are Windows's: %ld, %lu and %lx store 32 bits (LONG, ULONG, DWORD), %I64d/%lld 64,
 * %Id pointer-sized; %S and %C (and %ls, %lc, %ws) read into WCHARs. The count of fields
 * assigned is returned, or EOF when the input ends before the first conversion. The
 * parameter errors MSVC sends to its invalid-parameter handler (a NULL buffer or format)
 * return EOF with errno EINVAL (docs/design.md, S-SCAN). glibc's own sscanf, scanf and
 * fscanf are left alone: their %ld stores a Linux long (64 bits). */
#ifndef NTIO_COMPAT_WIN32_CRT_SCAN_H
#define NTIO_COMPAT_WIN32_CRT_SCAN_H

#include <stdarg.h>
#include <stdio.h>

NTIO_EXTERN_C_BEGIN
NTIO_API int sscanf_s(const char *Buffer, const char *Format, ...);
NTIO_API int vsscanf_s(const char *Buffer, const char *Format, va_list Args);
NTIO_API int scanf_s(const char *Format, ...);
NTIO_API int vscanf_s(const char *Format, va_list Args);
NTIO_API int fscanf_s(FILE *Stream, const char *Format, ...);
NTIO_API int vfscanf_s(FILE *Stream, const char *Format, va_list Args);
NTIO_EXTERN_C_END

#endif
