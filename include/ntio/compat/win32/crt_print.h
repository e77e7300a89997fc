/* ntio compat: the C runtime's printf family with Windows's format rules, for application
 * files (included by <windows.h>).
 *
 * An application written for Windows formats as MSVC's C runtime does, and glibc's printf
 * reads some of those formats otherwise: %lu, %ld and %lx are 32-bit there (DWORD, ULONG)
 * and 64-bit in glibc; %ws is a wide string (glibc prints "%ws"); in wprintf %s is wide
 * (glibc reads a char pointer); %I64d and %Iu exist only there. So, after <windows.h>,
 * printf, fprintf, sprintf, snprintf, wprintf, fwprintf, swprintf, their v forms, and
 * MSVC's _snprintf, _vsnprintf, _snwprintf, _vsnwprintf, sprintf_s, vsprintf_s,
 * swprintf_s and printf_s/fprintf_s/wprintf_s are macros for ntio_* functions that
 * format with DbgPrint's engine (docs/compat.md, "printf in application code").
 *
 * Output: wide text goes out as UTF-8 through the narrow stream, so mixing printf and
 * wprintf on stdout works, as on Windows (glibc would fix the stream's orientation at the
 * first call and drop the other kind). A stream something else made wide-oriented
 * (glibc's fputws, fwide) is written with fputws instead.
 *
 * What changes for code written for glibc: %ld, %lu and %lx read 32 bits, so a Linux
 * `long` (off_t, time_t, ssize_t) needs %lld or %zd, as on Windows, where long is 32 bits;
 * <inttypes.h>'s PRId64 and friends are redefined to "lld" accordingly. Being macros, the
 * names also take over a member called printf or snprintf (obj.printf(...)) and a call
 * qualified by another namespace (fmt::printf) after this header: include such headers
 * first, or define NTIO_NO_WINDOWS_PRINTF. The functions return what MSVC's do; the _s forms
 * call no invalid-parameter handler: a buffer too small for sprintf_s is reported on
 * stderr and the process aborts, as MSVC's default handler ends it.
 *
 * They are function-like macros, so `printf` as a name (a function pointer, GCC's
 * format(printf, ...) attribute) is still glibc's. Define NTIO_NO_WINDOWS_PRINTF before
 * <windows.h> to keep glibc's printf family for calls too. <stdio.h> and <wchar.h> (in
 * C++ <cstdio> and <cwchar>, which #undef these names) are included first, so a later
 * include of them does not undo the macros. */
#ifndef NTIO_COMPAT_WIN32_CRT_PRINT_H
#define NTIO_COMPAT_WIN32_CRT_PRINT_H

#ifdef __cplusplus
#include <cstdio>
#include <cwchar>
#endif
#include <stdarg.h>
#include <stdio.h>
#include <wchar.h>

NTIO_EXTERN_C_BEGIN
NTIO_API int ntio_printf(const char *Format, ...);
NTIO_API int ntio_vprintf(const char *Format, va_list Args);
NTIO_API int ntio_fprintf(FILE *Stream, const char *Format, ...);
NTIO_API int ntio_vfprintf(FILE *Stream, const char *Format, va_list Args);
NTIO_API int ntio_sprintf(char *Buffer, const char *Format, ...);
NTIO_API int ntio_vsprintf(char *Buffer, const char *Format, va_list Args);
NTIO_API int ntio_snprintf(char *Buffer, size_t Count, const char *Format, ...);
NTIO_API int ntio_vsnprintf(char *Buffer, size_t Count, const char *Format, va_list Args);
NTIO_API int ntio__snprintf(char *Buffer, size_t Count, const char *Format, ...);
NTIO_API int ntio__vsnprintf(char *Buffer, size_t Count, const char *Format, va_list Args);
NTIO_API int ntio_sprintf_s(char *Buffer, size_t SizeInChars, const char *Format, ...);
NTIO_API int ntio_vsprintf_s(char *Buffer, size_t SizeInChars, const char *Format, va_list Args);
NTIO_API int ntio_wprintf(const wchar_t *Format, ...);
NTIO_API int ntio_vwprintf(const wchar_t *Format, va_list Args);
NTIO_API int ntio_fwprintf(FILE *Stream, const wchar_t *Format, ...);
NTIO_API int ntio_vfwprintf(FILE *Stream, const wchar_t *Format, va_list Args);
NTIO_API int ntio_swprintf(wchar_t *Buffer, size_t Count, const wchar_t *Format, ...);
NTIO_API int ntio_vswprintf(wchar_t *Buffer, size_t Count, const wchar_t *Format, va_list Args);
NTIO_API int ntio__snwprintf(wchar_t *Buffer, size_t Count, const wchar_t *Format, ...);
NTIO_API int ntio__vsnwprintf(wchar_t *Buffer, size_t Count, const wchar_t *Format, va_list Args);
NTIO_API int ntio_swprintf_s(wchar_t *Buffer, size_t SizeInWords, const wchar_t *Format, ...);
NTIO_EXTERN_C_END

#ifndef NTIO_NO_WINDOWS_PRINTF
#ifdef __cplusplus
/* std::printf(...) becomes std::ntio_printf(...) */
namespace std {
using ::ntio_fprintf;
using ::ntio_fwprintf;
using ::ntio_printf;
using ::ntio_snprintf;
using ::ntio_sprintf;
using ::ntio_swprintf;
using ::ntio_vfprintf;
using ::ntio_vfwprintf;
using ::ntio_vprintf;
using ::ntio_vsnprintf;
using ::ntio_vsprintf;
using ::ntio_vswprintf;
using ::ntio_vwprintf;
using ::ntio_wprintf;
}  // namespace std
#endif

/* <inttypes.h>'s 64-bit and pointer-sized conversions are "ld" in glibc (long is 64 bits),
 * which Windows's formats read as 32 bits; they become "lld", as MSVC's <inttypes.h> has
 * them. (glibc's int_fast16_t and int_fast32_t are long too.) */
#include <inttypes.h>
#undef PRId64
#define PRId64 "lld"
#undef PRIdLEAST64
#define PRIdLEAST64 "lld"
#undef PRIdFAST16
#define PRIdFAST16 "lld"
#undef PRIdFAST32
#define PRIdFAST32 "lld"
#undef PRIdFAST64
#define PRIdFAST64 "lld"
#undef PRIdMAX
#define PRIdMAX "lld"
#undef PRIdPTR
#define PRIdPTR "lld"
#undef PRIi64
#define PRIi64 "lli"
#undef PRIiLEAST64
#define PRIiLEAST64 "lli"
#undef PRIiFAST16
#define PRIiFAST16 "lli"
#undef PRIiFAST32
#define PRIiFAST32 "lli"
#undef PRIiFAST64
#define PRIiFAST64 "lli"
#undef PRIiMAX
#define PRIiMAX "lli"
#undef PRIiPTR
#define PRIiPTR "lli"
#undef PRIo64
#define PRIo64 "llo"
#undef PRIoLEAST64
#define PRIoLEAST64 "llo"
#undef PRIoFAST16
#define PRIoFAST16 "llo"
#undef PRIoFAST32
#define PRIoFAST32 "llo"
#undef PRIoFAST64
#define PRIoFAST64 "llo"
#undef PRIoMAX
#define PRIoMAX "llo"
#undef PRIoPTR
#define PRIoPTR "llo"
#undef PRIu64
#define PRIu64 "llu"
#undef PRIuLEAST64
#define PRIuLEAST64 "llu"
#undef PRIuFAST16
#define PRIuFAST16 "llu"
#undef PRIuFAST32
#define PRIuFAST32 "llu"
#undef PRIuFAST64
#define PRIuFAST64 "llu"
#undef PRIuMAX
#define PRIuMAX "llu"
#undef PRIuPTR
#define PRIuPTR "llu"
#undef PRIx64
#define PRIx64 "llx"
#undef PRIxLEAST64
#define PRIxLEAST64 "llx"
#undef PRIxFAST16
#define PRIxFAST16 "llx"
#undef PRIxFAST32
#define PRIxFAST32 "llx"
#undef PRIxFAST64
#define PRIxFAST64 "llx"
#undef PRIxMAX
#define PRIxMAX "llx"
#undef PRIxPTR
#define PRIxPTR "llx"
#undef PRIX64
#define PRIX64 "llX"
#undef PRIXLEAST64
#define PRIXLEAST64 "llX"
#undef PRIXFAST16
#define PRIXFAST16 "llX"
#undef PRIXFAST32
#define PRIXFAST32 "llX"
#undef PRIXFAST64
#define PRIXFAST64 "llX"
#undef PRIXMAX
#define PRIXMAX "llX"
#undef PRIXPTR
#define PRIXPTR "llX"

/* glibc's fortified <stdio.h> may define some of these names as macros already. */
#undef printf
#undef vprintf
#undef fprintf
#undef vfprintf
#undef sprintf
#undef vsprintf
#undef snprintf
#undef vsnprintf
#undef wprintf
#undef vwprintf
#undef fwprintf
#undef vfwprintf
#undef swprintf
#undef vswprintf
#define printf(...) ntio_printf(__VA_ARGS__)
#define vprintf(...) ntio_vprintf(__VA_ARGS__)
#define fprintf(...) ntio_fprintf(__VA_ARGS__)
#define vfprintf(...) ntio_vfprintf(__VA_ARGS__)
#define sprintf(...) ntio_sprintf(__VA_ARGS__)
#define vsprintf(...) ntio_vsprintf(__VA_ARGS__)
#define snprintf(...) ntio_snprintf(__VA_ARGS__)
#define vsnprintf(...) ntio_vsnprintf(__VA_ARGS__)
#define _snprintf(...) ntio__snprintf(__VA_ARGS__)
#define _vsnprintf(...) ntio__vsnprintf(__VA_ARGS__)
#define sprintf_s(...) ntio_sprintf_s(__VA_ARGS__)
#define vsprintf_s(...) ntio_vsprintf_s(__VA_ARGS__)
#define printf_s(...) ntio_printf(__VA_ARGS__)
#define fprintf_s(...) ntio_fprintf(__VA_ARGS__)
#define wprintf(...) ntio_wprintf(__VA_ARGS__)
#define vwprintf(...) ntio_vwprintf(__VA_ARGS__)
#define fwprintf(...) ntio_fwprintf(__VA_ARGS__)
#define vfwprintf(...) ntio_vfwprintf(__VA_ARGS__)
#define swprintf(...) ntio_swprintf(__VA_ARGS__)
#define vswprintf(...) ntio_vswprintf(__VA_ARGS__)
#define _snwprintf(...) ntio__snwprintf(__VA_ARGS__)
#define _vsnwprintf(...) ntio__vsnwprintf(__VA_ARGS__)
#define swprintf_s(...) ntio_swprintf_s(__VA_ARGS__)
#define wprintf_s(...) ntio_wprintf(__VA_ARGS__)
#endif /* NTIO_NO_WINDOWS_PRINTF */

#endif
