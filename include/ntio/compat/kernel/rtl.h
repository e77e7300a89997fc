/* ntio compat: run-time library routines of <wdm.h> beyond the string and memory ones of
 * <ntdef.h>: calendar time and the OS version (docs/design.md, S-DRT-4 and S-DRT-5). */
#ifndef NTIO_COMPAT_KERNEL_RTL_H
#define NTIO_COMPAT_KERNEL_RTL_H

#include "../ntdef.h"

NTIO_EXTERN_C_BEGIN

/* A system time (100 ns since 1601-01-01 UTC) broken into calendar fields. */
typedef struct _TIME_FIELDS {
    CSHORT Year;         /* 1601... */
    CSHORT Month;        /* 1..12 */
    CSHORT Day;          /* 1..31 */
    CSHORT Hour;         /* 0..23 */
    CSHORT Minute;       /* 0..59 */
    CSHORT Second;       /* 0..59 */
    CSHORT Milliseconds; /* 0..999 */
    CSHORT Weekday;      /* 0 = Sunday */
} TIME_FIELDS, *PTIME_FIELDS;
NTIO_API VOID RtlTimeToTimeFields(PLARGE_INTEGER Time, PTIME_FIELDS TimeFields);
/* FALSE for a field out of range (Weekday is ignored), as Windows's does. */
NTIO_API BOOLEAN RtlTimeFieldsToTime(PTIME_FIELDS TimeFields, PLARGE_INTEGER Time);

#define VER_PLATFORM_WIN32_NT 2
#define VER_NT_WORKSTATION 0x0000001
typedef struct _OSVERSIONINFOW {
    ULONG dwOSVersionInfoSize;
    ULONG dwMajorVersion;
    ULONG dwMinorVersion;
    ULONG dwBuildNumber;
    ULONG dwPlatformId;
    WCHAR szCSDVersion[128];
} RTL_OSVERSIONINFOW, *PRTL_OSVERSIONINFOW;
typedef struct _OSVERSIONINFOEXW {
    ULONG dwOSVersionInfoSize;
    ULONG dwMajorVersion;
    ULONG dwMinorVersion;
    ULONG dwBuildNumber;
    ULONG dwPlatformId;
    WCHAR szCSDVersion[128];
    USHORT wServicePackMajor;
    USHORT wServicePackMinor;
    USHORT wSuiteMask;
    UCHAR wProductType;
    UCHAR wReserved;
} RTL_OSVERSIONINFOEXW, *PRTL_OSVERSIONINFOEXW;
/* Windows 10 version 2004 (10.0.19041), the NTDDI_VERSION ntio presents. The size field
 * says which structure the caller passes; another size is STATUS_INVALID_PARAMETER. */
NTIO_API NTSTATUS RtlGetVersion(PRTL_OSVERSIONINFOW lpVersionInformation);

/* Byte order, as the WDK defines them on x64 (ntdef.h's intrinsics). */
#define RtlUshortByteSwap(_x) _byteswap_ushort((USHORT)(_x))
#define RtlUlongByteSwap(_x) _byteswap_ulong((ULONG)(_x))
#define RtlUlonglongByteSwap(_x) _byteswap_uint64((ULONGLONG)(_x))

NTIO_EXTERN_C_END
#endif
