/* ntio compat: generic-text mappings (<tchar.h>). Without _UNICODE, TCHAR is char
 * and _tmain is main. With _UNICODE, TCHAR is wchar_t and _tmain is wmain, which Linux
 * does not start: the main of libntio_wmain.a (last on pkg-config's link line) widens
 * the arguments and calls it (see docs/compat.md). */
#ifndef NTIO_COMPAT_TCHAR_H
#define NTIO_COMPAT_TCHAR_H
#include "ntdef.h"
#include <stdio.h>
#include <string.h>
#include <wchar.h>

#ifdef _UNICODE
typedef wchar_t _TCHAR;
#define __T(x) L##x
#define _tmain wmain
#define _tprintf wprintf
#define _ftprintf fwprintf
#define _stprintf swprintf
#define _tcslen wcslen
#define _tcscpy wcscpy
#define _tcscmp wcscmp
#define _tcsncpy wcsncpy
#define _tcscat wcscat
#define _tcschr wcschr
#define _tcsstr wcsstr
#define _ttoi(s) ((int)wcstol((s), NULL, 10))
#define _tcstoul wcstoul
#define _tcstol wcstol
#ifdef __cplusplus
extern "C" int wmain(int argc, wchar_t *argv[]); /* keeps its C name in C++, as main does */
#endif
#else
typedef char _TCHAR;
#define __T(x) x
#define _tmain main
#define _tprintf printf
#define _ftprintf fprintf
#define _stprintf sprintf
#define _tcslen strlen
#define _tcscpy strcpy
#define _tcscmp strcmp
#define _tcsncpy strncpy
#define _tcscat strcat
#define _tcschr strchr
#define _tcsstr strstr
#define _ttoi atoi
#define _tcstoul strtoul
#define _tcstol strtol
#endif
#define _T(x) __T(x)
#define _TEXT(x) __T(x)
/* TCHAR and its pointers, unless <windows.h> made them already (it follows UNICODE, this
 * header _UNICODE; a program defines both or neither, as on Windows). */
#ifndef _TCHAR_DEFINED
#define _TCHAR_DEFINED
typedef _TCHAR TCHAR, *PTCHAR, *LPTSTR, *PTSTR;
typedef const _TCHAR *LPCTSTR, *PCTSTR;
#endif
#endif
