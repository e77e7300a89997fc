/* ntio compat: the target-version macros of the SDK and WDK, and the platform macros
 * that shared driver/app headers test. Included by <ntdef.h>, so every header has them.
 *
 * The version ntio presents is Windows 10 version 2004 (NTDDI_WIN10_VB): the first with
 * ExAllocatePool2, which ntio provides, so code that picks its pool call by NTDDI_VERSION
 * takes the modern one. A program may set NTDDI_VERSION, _WIN32_WINNT or WINVER itself
 * before the first include, as with the SDK; ntio's declarations do not depend on them.
 *
 * Platform macros (docs/compat.md, "Compiler and platform macros"):
 *  - _WIN64 is defined: pointers are 64 bits, so `#ifdef _WIN64` layouts are the right ones.
 *    Some Linux headers that test `defined(_WIN32) || defined(_WIN64)` (ncurses, ICU,
 *    OpenSSL's e_os2.h) then take their Windows branch when included after ours: include
 *    them first, or define NTIO_NO_WIN64 before the first Windows header.
 *  - _WIN32 is NOT defined. On Windows the compiler predefines it, but here it would also be
 *    seen by the C++ library and other Linux headers included after ours, which would take
 *    their Windows branches (libstdc++'s <filesystem>, fmt, GoogleTest). Test
 *    NTIO_COMPAT_WINDOWS (defined here) or _WIN64 in shared headers instead.
 *  - _M_X64/_M_AMD64 and _MSC_VER are not defined either: code behind them uses MSVC's
 *    intrinsics and pragmas. */
#ifndef NTIO_COMPAT_SDKDDKVER_H
#define NTIO_COMPAT_SDKDDKVER_H

#define NTIO_COMPAT_WINDOWS 1
#if !defined(_WIN64) && !defined(NTIO_NO_WIN64)
#define _WIN64 1
#endif

/* _WIN32_WINNT / WINVER values */
#define _WIN32_WINNT_NT4 0x0400
#define _WIN32_WINNT_WIN2K 0x0500
#define _WIN32_WINNT_WINXP 0x0501
#define _WIN32_WINNT_WS03 0x0502
#define _WIN32_WINNT_VISTA 0x0600
#define _WIN32_WINNT_WS08 0x0600
#define _WIN32_WINNT_LONGHORN 0x0600
#define _WIN32_WINNT_WIN7 0x0601
#define _WIN32_WINNT_WIN8 0x0602
#define _WIN32_WINNT_WINBLUE 0x0603
#define _WIN32_WINNT_WINTHRESHOLD 0x0A00
#define _WIN32_WINNT_WIN10 0x0A00

/* NTDDI_VERSION values: the OS in the high word, the release below it */
#define NTDDI_WIN2K 0x05000000
#define NTDDI_WINXP 0x05010000
#define NTDDI_WINXPSP2 0x05010200
#define NTDDI_WS03 0x05020000
#define NTDDI_VISTA 0x06000000
#define NTDDI_WS08 0x06000100
#define NTDDI_LONGHORN NTDDI_VISTA
#define NTDDI_WIN7 0x06010000
#define NTDDI_WIN8 0x06020000
#define NTDDI_WINBLUE 0x06030000
#define NTDDI_WINTHRESHOLD 0x0A000000
#define NTDDI_WIN10 0x0A000000
#define NTDDI_WIN10_TH2 0x0A000001
#define NTDDI_WIN10_RS1 0x0A000002
#define NTDDI_WIN10_RS2 0x0A000003
#define NTDDI_WIN10_RS3 0x0A000004
#define NTDDI_WIN10_RS4 0x0A000005
#define NTDDI_WIN10_RS5 0x0A000006
#define NTDDI_WIN10_19H1 0x0A000007
#define NTDDI_WIN10_VB 0x0A000008
#define NTDDI_WIN10_MN 0x0A000009
#define NTDDI_WIN10_FE 0x0A00000A
#define NTDDI_WIN10_CO 0x0A00000B
#define NTDDI_WIN10_NI 0x0A00000C

#define OSVERSION_MASK 0xFFFF0000u
#define SPVERSION_MASK 0x0000FF00u
#define SUBVERSION_MASK 0x000000FFu
#define OSVER(Version) ((Version) & OSVERSION_MASK)
#define SPVER(Version) (((Version) & SPVERSION_MASK) >> 8)
#define SUBVER(Version) ((Version) & SUBVERSION_MASK)

#ifndef NTDDI_VERSION
#define NTDDI_VERSION NTDDI_WIN10_VB
#endif
#ifndef _WIN32_WINNT
#define _WIN32_WINNT _WIN32_WINNT_WIN10
#endif
#ifndef WINVER
#define WINVER _WIN32_WINNT
#endif

#endif
