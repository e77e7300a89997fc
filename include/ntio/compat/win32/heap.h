/* ntio compat, Win32 side: the process heap and lstr* / wsprintf string helpers. Part of
 * <windows.h>. One heap: GetProcessHeap's. HeapCreate/HeapDestroy (private heaps) are
 * not provided. */
#ifndef NTIO_COMPAT_WIN32_HEAP_H
#define NTIO_COMPAT_WIN32_HEAP_H

#include <stdarg.h>

NTIO_EXTERN_C_BEGIN

#define HEAP_NO_SERIALIZE 0x00000001
#define HEAP_GENERATE_EXCEPTIONS 0x00000004
#define HEAP_ZERO_MEMORY 0x00000008
#define HEAP_REALLOC_IN_PLACE_ONLY 0x00000010

/* HeapAlloc/HeapReAlloc fail with NULL and, as on Windows, without setting the last
 * error; with HEAP_GENERATE_EXCEPTIONS they raise STATUS_NO_MEMORY instead (<excpt.h>).
 * A heap handle other than GetProcessHeap()'s, or a block the heap did not give, fails
 * with ERROR_INVALID_HANDLE / ERROR_INVALID_PARAMETER. HeapSize is the size asked for. */
NTIO_API HANDLE GetProcessHeap(VOID);
NTIO_API LPVOID HeapAlloc(HANDLE hHeap, DWORD dwFlags, SIZE_T dwBytes);
NTIO_API LPVOID HeapReAlloc(HANDLE hHeap, DWORD dwFlags, LPVOID lpMem, SIZE_T dwBytes);
NTIO_API BOOL HeapFree(HANDLE hHeap, DWORD dwFlags, LPVOID lpMem);
NTIO_API SIZE_T HeapSize(HANDLE hHeap, DWORD dwFlags, LPCVOID lpMem);

/* lstrlen of NULL is 0, as Windows's. wsprintf formats with Windows's rules (as DbgPrint:
 * %lu is 32-bit, %S the other width) into at most 1024 characters with the terminator,
 * and returns the characters stored without it. lstrcmp/lstrcmpi (word-sort comparison
 * in the user's locale) are not provided. */
NTIO_API int lstrlenA(LPCSTR lpString);
NTIO_API int lstrlenW(LPCWSTR lpString);
NTIO_API LPSTR lstrcpyA(LPSTR lpString1, LPCSTR lpString2);
NTIO_API LPWSTR lstrcpyW(LPWSTR lpString1, LPCWSTR lpString2);
NTIO_API LPSTR lstrcpynA(LPSTR lpString1, LPCSTR lpString2, int iMaxLength);
NTIO_API LPWSTR lstrcpynW(LPWSTR lpString1, LPCWSTR lpString2, int iMaxLength);
NTIO_API LPSTR lstrcatA(LPSTR lpString1, LPCSTR lpString2);
NTIO_API LPWSTR lstrcatW(LPWSTR lpString1, LPCWSTR lpString2);
NTIO_API int wsprintfA(LPSTR lpOut, LPCSTR lpFmt, ...);
NTIO_API int wsprintfW(LPWSTR lpOut, LPCWSTR lpFmt, ...);
NTIO_API int wvsprintfA(LPSTR lpOut, LPCSTR lpFmt, va_list arglist);
NTIO_API int wvsprintfW(LPWSTR lpOut, LPCWSTR lpFmt, va_list arglist);

NTIO_EXTERN_C_END

#ifdef UNICODE
#define lstrlen lstrlenW
#define lstrcpy lstrcpyW
#define lstrcpyn lstrcpynW
#define lstrcat lstrcatW
#define wsprintf wsprintfW
#define wvsprintf wvsprintfW
#else
#define lstrlen lstrlenA
#define lstrcpy lstrcpyA
#define lstrcpyn lstrcpynA
#define lstrcat lstrcatA
#define wsprintf wsprintfA
#define wvsprintf wvsprintfA
#endif

#endif
