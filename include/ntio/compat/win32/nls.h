/* ntio compat, Win32 side: converting between multibyte and wide strings. Part of
 * <windows.h>. WCHAR is 4 bytes on Linux, so a wide string holds one code point per
 * WCHAR (UTF-32) and a character beyond the BMP counts 1, not 2 (docs/compat.md). The
 * ANSI and OEM code pages are ISO-8859-1 (each byte is the code point of its value), as
 * in ntio's A functions. */
#ifndef NTIO_COMPAT_WIN32_NLS_H
#define NTIO_COMPAT_WIN32_NLS_H

NTIO_EXTERN_C_BEGIN

#define CP_ACP 0
#define CP_OEMCP 1
#define CP_MACCP 2
#define CP_THREAD_ACP 3
#define CP_UTF8 65001

#define MB_PRECOMPOSED 0x00000001U
#define MB_COMPOSITE 0x00000002U
#define MB_USEGLYPHCHARS 0x00000004U
#define MB_ERR_INVALID_CHARS 0x00000008U
#define WC_COMPOSITECHECK 0x00000200U
#define WC_DISCARDNS 0x00000010U
#define WC_SEPCHARS 0x00000020U
#define WC_DEFAULTCHAR 0x00000040U
#define WC_ERR_INVALID_CHARS 0x00000080U
#define WC_NO_BEST_FIT_CHARS 0x00000400U

/* Lengths of -1 take the string through its terminator, which is converted too; an
 * output length of 0 asks for the size needed. */
NTIO_API int MultiByteToWideChar(UINT CodePage, DWORD dwFlags, LPCCH lpMultiByteStr, int cbMultiByte,
                                 LPWSTR lpWideCharStr, int cchWideChar);
NTIO_API int WideCharToMultiByte(UINT CodePage, DWORD dwFlags, LPCWCH lpWideCharStr, int cchWideChar,
                                 LPSTR lpMultiByteStr, int cbMultiByte, LPCCH lpDefaultChar, LPBOOL lpUsedDefaultChar);
/* The ANSI and OEM code pages: 28591 (ISO-8859-1). */
NTIO_API UINT GetACP(VOID);
NTIO_API UINT GetOEMCP(VOID);

NTIO_EXTERN_C_END

#endif
