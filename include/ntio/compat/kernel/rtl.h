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
/* Whether the system is at least the NTDDI_* version given (the one RtlGetVersion
 * reports: NTDDI_WIN10_VB), and whether the given version's OS is this one with at least
 * that service pack or release (S-KAPI-7). */
NTIO_API BOOLEAN RtlIsNtDdiVersionAvailable(ULONG Version);
NTIO_API BOOLEAN RtlIsServicePackVersionInstalled(ULONG Version);

/* Pseudo-random numbers from a caller's seed, updated on each call: each value is in
 * [0, MAXLONG - 1] and the sequence is the same for the same seed (S-KAPI-4), though not
 * Windows' sequence. RtlRandom at IRQL <= APC_LEVEL. */
NTIO_API ULONG RtlRandomEx(PULONG Seed);
NTIO_API ULONG RtlRandom(PULONG Seed);

/* A string's hash (S-KAPI-3): HASH_STRING_ALGORITHM_X65599 (and DEFAULT, the same) is
 * Windows' multiply-by-65599 hash of the UTF-16 code units, upcased first when
 * CaseInSensitive. At IRQL <= APC_LEVEL. */
#define HASH_STRING_ALGORITHM_DEFAULT 0
#define HASH_STRING_ALGORITHM_X65599 1
#define HASH_STRING_ALGORITHM_INVALID 0xffffffff
NTIO_API NTSTATUS RtlHashUnicodeString(PCUNICODE_STRING String, BOOLEAN CaseInSensitive, ULONG HashAlgorithm,
                                       PULONG HashValue);

/* The kernel debugger: none is attached under ntio (S-KAPI-8). The WDK's variables are
 * pointers to the flags; KdRefreshDebuggerNotPresent gives KD_DEBUGGER_NOT_PRESENT anew. */
NTIO_API extern PBOOLEAN KdDebuggerNotPresent;
NTIO_API extern PBOOLEAN KdDebuggerEnabled;
#define KD_DEBUGGER_NOT_PRESENT (*KdDebuggerNotPresent)
#define KD_DEBUGGER_ENABLED (*KdDebuggerEnabled)
NTIO_API BOOLEAN KdRefreshDebuggerNotPresent(VOID);

/* Byte order, as the WDK defines them on x64 (ntdef.h's intrinsics). */
#define RtlUshortByteSwap(_x) _byteswap_ushort((USHORT)(_x))
#define RtlUlongByteSwap(_x) _byteswap_ulong((ULONG)(_x))
#define RtlUlonglongByteSwap(_x) _byteswap_uint64((ULONGLONG)(_x))

NTIO_EXTERN_C_END
#endif
