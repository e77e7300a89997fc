/* ntio compat, Win32 side: FormatMessage and the local heap it allocates from. Part of
 * <windows.h>. FORMAT_MESSAGE_FROM_SYSTEM reads ntio's table of the Win32 error codes
 * <winerror.h> defines; the descriptions are ntio's own words, not Windows's (a program
 * that prints them works; one that compares them with Windows's texts does not).
 * Modules have no message tables. */
#ifndef NTIO_COMPAT_WIN32_MESSAGE_H
#define NTIO_COMPAT_WIN32_MESSAGE_H

#include <stdarg.h>

NTIO_EXTERN_C_BEGIN

typedef HANDLE HLOCAL;
typedef HANDLE HMODULE;

#define LMEM_FIXED 0x0000
#define LMEM_MOVEABLE 0x0002
#define LMEM_ZEROINIT 0x0040
#define LPTR (LMEM_FIXED | LMEM_ZEROINIT)
/* LMEM_FIXED memory, optionally zeroed; LMEM_MOVEABLE is refused (ERROR_INVALID_PARAMETER):
 * ntio has no handle-based local heap. LocalFree(NULL) does nothing; both return NULL on
 * success. */
NTIO_API HLOCAL LocalAlloc(UINT uFlags, SIZE_T uBytes);
NTIO_API HLOCAL LocalFree(HLOCAL hMem);

#define FORMAT_MESSAGE_ALLOCATE_BUFFER 0x00000100
#define FORMAT_MESSAGE_IGNORE_INSERTS 0x00000200
#define FORMAT_MESSAGE_FROM_STRING 0x00000400
#define FORMAT_MESSAGE_FROM_HMODULE 0x00000800
#define FORMAT_MESSAGE_FROM_SYSTEM 0x00001000
#define FORMAT_MESSAGE_ARGUMENT_ARRAY 0x00002000
#define FORMAT_MESSAGE_MAX_WIDTH_MASK 0x000000FF

#define LANG_NEUTRAL 0x00
#define LANG_ENGLISH 0x09
#define SUBLANG_NEUTRAL 0x00
#define SUBLANG_DEFAULT 0x01
#define SUBLANG_SYS_DEFAULT 0x02
#define SUBLANG_ENGLISH_US 0x01
#define MAKELANGID(p, s) ((((WORD)(s)) << 10) | (WORD)(p))
#define LANG_USER_DEFAULT MAKELANGID(LANG_NEUTRAL, SUBLANG_DEFAULT)
#define LANG_SYSTEM_DEFAULT MAKELANGID(LANG_NEUTRAL, SUBLANG_SYS_DEFAULT)
#define PRIMARYLANGID(lgid) ((WORD)(lgid) & 0x3ff)
#define SUBLANGID(lgid) ((WORD)(lgid) >> 10)

/* The message's text with its inserts (%1..%99, with an optional !printf format!, as
 * Windows reads them: %lu is 32-bit, %s is wide in FormatMessageW) and escapes (%n, %0,
 * %%, %t, %r, %space, %., %!). System messages end with "\r\n". Only English (or a
 * neutral or default language) is there: another language gives
 * ERROR_RESOURCE_LANG_NOT_FOUND. */
NTIO_API DWORD FormatMessageA(DWORD dwFlags, LPCVOID lpSource, DWORD dwMessageId, DWORD dwLanguageId, LPSTR lpBuffer,
                              DWORD nSize, va_list *Arguments);
NTIO_API DWORD FormatMessageW(DWORD dwFlags, LPCVOID lpSource, DWORD dwMessageId, DWORD dwLanguageId, LPWSTR lpBuffer,
                              DWORD nSize, va_list *Arguments);
#ifdef UNICODE
#define FormatMessage FormatMessageW
#else
#define FormatMessage FormatMessageA
#endif

/* RaiseException: a software exception for the thread's __try frames (<excpt.h>).
 * With none to take it the process stops, as an unhandled exception ends a Windows
 * process. EXCEPTION_CONTINUE_EXECUTION cannot return here (docs/compat.md). */
NTIO_API VOID RaiseException(DWORD dwExceptionCode, DWORD dwExceptionFlags, DWORD nNumberOfArguments,
                             const ULONG_PTR *lpArguments);

NTIO_EXTERN_C_END
#endif
