/* ntio compat: the application-side header, as in the Windows SDK. An app file
 * includes <windows.h> and links against ntio (pkg-config ntio). Without UNICODE
 * the generic names (CreateEvent, ...) map to the A variants, as on Windows. */
#ifndef NTIO_COMPAT_WINDOWS_H
#define NTIO_COMPAT_WINDOWS_H
#define _WINDOWS_

#include "ntdef.h"
/* The SDK's winnt.h includes <ctype.h>, so Windows programs call isalpha, toupper, ...
 * with <windows.h> alone (the cancel sample's testapp.c does). */
#include <ctype.h>
/* winnt.h's status codes (DWORDs; docs/compat.md), unless the app asks for none, to include
 * <ntstatus.h> itself; and, as an extension, the other codes typed as <ntstatus.h> types them. */
#ifndef WIN32_NO_STATUS
#include "win32/winnt_status.h"
#include "ntstatus_values.h"
#endif
#include "winerror.h"
#include "win32/synch.h"
#include "win32/file.h"
#include "win32/iocp.h"
#include "win32/threadpool.h"
#include "win32/message.h"
#include "win32/heap.h"
#include "win32/memory.h"
#include "win32/nls.h"
#include "win32/crt_print.h"
#include "win32/crt_scan.h"
#include "win32/winsvc.h"

/* A program's wide entry point, wmain(int, wchar_t *[]): Linux starts programs at main,
 * so libntio_wmain.a (last on pkg-config's link line; ntio::wmain in CMake) brings a main
 * that widens the arguments and the environment and calls it. In C++ the declaration
 * keeps wmain's C name, as MSVC treats it like main. */
#ifdef __cplusplus
extern "C" int wmain(int argc, wchar_t *argv[]);
#endif

/* The longest path the A/W file functions take without the \\?\ prefix. */
#ifndef MAX_PATH
#define MAX_PATH 260
#endif

/* The generic character type, as winnt.h has it: wide with UNICODE. <tchar.h> makes the
 * same names from _UNICODE when it comes first. */
#ifndef _TCHAR_DEFINED
#define _TCHAR_DEFINED
#ifdef UNICODE
typedef WCHAR TCHAR, *PTCHAR, *LPTSTR, *PTSTR;
typedef const WCHAR *LPCTSTR, *PCTSTR;
#else
typedef char TCHAR, *PTCHAR, *LPTSTR, *PTSTR;
typedef const char *LPCTSTR, *PCTSTR;
#endif
#endif

/* Literals of the TCHAR type (wide with UNICODE), as winnt.h has them. */
#ifndef TEXT
#ifdef UNICODE
#define __TEXT(quote) L##quote
#else
#define __TEXT(quote) quote
#endif
#define TEXT(quote) __TEXT(quote)
#endif

#endif
