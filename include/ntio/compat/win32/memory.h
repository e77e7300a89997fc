/* ntio compat, Win32 side: virtual memory (VirtualAlloc and friends) and GetSystemInfo.
 * Part of <windows.h>. Regions are the host's anonymous mappings, reserved at Windows's
 * 64 KiB allocation granularity and committed in 4 KiB pages. */
#ifndef NTIO_COMPAT_WIN32_MEMORY_H
#define NTIO_COMPAT_WIN32_MEMORY_H

NTIO_EXTERN_C_BEGIN

#define MEM_COMMIT 0x00001000U
#define MEM_RESERVE 0x00002000U
#define MEM_DECOMMIT 0x00004000U
#define MEM_RELEASE 0x00008000U
#define MEM_FREE 0x00010000U
#define MEM_PRIVATE 0x00020000U

#define PAGE_NOACCESS 0x01U
#define PAGE_READONLY 0x02U
#define PAGE_READWRITE 0x04U
#define PAGE_WRITECOPY 0x08U
#define PAGE_EXECUTE 0x10U
#define PAGE_EXECUTE_READ 0x20U
#define PAGE_EXECUTE_READWRITE 0x40U
#define PAGE_EXECUTE_WRITECOPY 0x80U
#define PAGE_GUARD 0x100U
#define PAGE_NOCACHE 0x200U
#define PAGE_WRITECOMBINE 0x400U

/* A NULL address reserves a new region (64 KiB aligned); an address inside a region
 * reserved before commits (MEM_COMMIT) pages of it. Committed pages start zeroed.
 * MEM_RELEASE takes a region's base and a size of 0; MEM_DECOMMIT gives pages back and
 * zeroes them. VirtualProtect changes whole pages of one region and returns the
 * protection its first page had. PAGE_GUARD, PAGE_NOCACHE, PAGE_WRITECOMBINE,
 * MEM_LARGE_PAGES and the like are refused with ERROR_INVALID_PARAMETER. */
NTIO_API LPVOID VirtualAlloc(LPVOID lpAddress, SIZE_T dwSize, DWORD flAllocationType, DWORD flProtect);
NTIO_API BOOL VirtualFree(LPVOID lpAddress, SIZE_T dwSize, DWORD dwFreeType);
NTIO_API BOOL VirtualProtect(LPVOID lpAddress, SIZE_T dwSize, DWORD flNewProtect, PDWORD lpflOldProtect);

#define PROCESSOR_ARCHITECTURE_AMD64 9
#define PROCESSOR_AMD_X8664 8664

typedef struct _SYSTEM_INFO {
    union {
        DWORD dwOemId;
        struct {
            WORD wProcessorArchitecture;
            WORD wReserved;
        };
    };
    DWORD dwPageSize;
    LPVOID lpMinimumApplicationAddress;
    LPVOID lpMaximumApplicationAddress;
    DWORD_PTR dwActiveProcessorMask;
    DWORD dwNumberOfProcessors;
    DWORD dwProcessorType;
    DWORD dwAllocationGranularity;
    WORD wProcessorLevel;
    WORD wProcessorRevision;
} SYSTEM_INFO, *LPSYSTEM_INFO;

/* An x64 machine with the host's online processors, 4 KiB pages and 64 KiB allocation
 * granularity, as Windows x64 reports them. */
NTIO_API VOID GetSystemInfo(LPSYSTEM_INFO lpSystemInfo);
NTIO_API VOID GetNativeSystemInfo(LPSYSTEM_INFO lpSystemInfo);
/* Whether the processor (and the OS, for the features it must enable) has a PF_* feature
 * (<ntdef.h> lists them), from cpuid; FALSE for a number it does not know (S-KAPI-6). */
NTIO_API BOOL IsProcessorFeaturePresent(DWORD ProcessorFeature);

NTIO_EXTERN_C_END

#endif
