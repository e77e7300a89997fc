/* ntio compat: the base types, macros and inline helpers shared by kernel
 * (wdm.h) and user (windows.h) code.
 *
 * Type widths follow Windows (LLP64) where sample code depends on them:
 * ULONG and DWORD are one 32-bit unsigned type, LONG is 32-bit, pointers and
 * *_PTR types are 64-bit. WCHAR is wchar_t so L"..." literals and wcslen()
 * work unchanged; on Linux wchar_t is 4 bytes (documented difference).
 * Calling-convention macros expand to nothing. */
#ifndef NTIO_COMPAT_NTDEF_H
#define NTIO_COMPAT_NTDEF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <wchar.h>
#include <stdarg.h>
#include "sal.h"
#include "sdkddkver.h"

#ifdef __cplusplus
#define NTIO_EXTERN_C extern "C"
#define NTIO_EXTERN_C_BEGIN extern "C" {
#define NTIO_EXTERN_C_END }
#else
#define NTIO_EXTERN_C extern
#define NTIO_EXTERN_C_BEGIN
#define NTIO_EXTERN_C_END
#endif

/* Pool tags and other four-character constants ('gaTx') are multi-character literals,
 * which MSVC takes silently and GCC warns about by default (-Wmultichar, an error under
 * -Werror): code written for the WDK and the SDK builds as cleanly as with MSVC. GCC
 * before 13 ignores this in C++ (bug 53431): pkg-config's flags and the CMake target add
 * -Wno-multichar as well. */
#pragma GCC diagnostic ignored "-Wmultichar"

#define NTIO_API __attribute__((visibility("default")))
#define NTIO_INLINE static inline __attribute__((unused))

/* ---- calling conventions and decorations: all no-ops -------------------- */
#define NTAPI
#define WINAPI
#define APIENTRY
#define CALLBACK
#define WINAPIV
#define NTAPI_INLINE
#define STDCALL
#define __stdcall
#define __cdecl
#define __fastcall
#define FASTCALL
#define DECLSPEC_IMPORT
#define DECLSPEC_EXPORT
#define DECLSPEC_NORETURN __attribute__((noreturn))
#define DECLSPEC_ALIGN(x) __attribute__((aligned(x)))
#define DECLSPEC_NOINLINE __attribute__((noinline))
/* The cache line the pool's cache-aligned blocks and DECLSPEC_CACHEALIGN types are aligned
 * to: 64 bytes on x86 and x64, 128 elsewhere, as Windows' ntdef.h has it. */
#if defined(__x86_64__) || defined(__i386__)
#define SYSTEM_CACHE_ALIGNMENT_SIZE 64
#else
#define SYSTEM_CACHE_ALIGNMENT_SIZE 128
#endif
#define DECLSPEC_CACHEALIGN __attribute__((aligned(SYSTEM_CACHE_ALIGNMENT_SIZE)))
/* MSVC's __declspec(...) spelled as GCC attributes, for code that writes it out rather than
 * through the DECLSPEC_* macros: each spec maps to NTIO_DECLSPEC_<spec>, so one ntio does
 * not know is a compile error that names it. */
#ifndef __declspec
#define __declspec(spec) NTIO_DECLSPEC_##spec
#endif
#define NTIO_DECLSPEC_align(x) __attribute__((aligned(x)))
#define NTIO_DECLSPEC_noreturn __attribute__((noreturn))
#define NTIO_DECLSPEC_noinline __attribute__((noinline))
#define NTIO_DECLSPEC_dllexport __attribute__((visibility("default")))
#define NTIO_DECLSPEC_dllimport
#define NTIO_DECLSPEC_selectany __attribute__((weak))
#define NTIO_DECLSPEC_thread __thread
#define NTIO_DECLSPEC_nothrow __attribute__((nothrow))
#define NTIO_DECLSPEC_novtable
#define NTIO_DECLSPEC_noalias
#define NTIO_DECLSPEC_restrict __attribute__((malloc))
#define NTIO_DECLSPEC_deprecated __attribute__((deprecated))
#define NTIO_DECLSPEC_allocator
#ifndef __forceinline
#define __forceinline __inline__ __attribute__((always_inline))
#endif
/* Pointer-aligned members of the WDK's structures (an x64 build's 8 bytes). */
#define POINTER_ALIGNMENT DECLSPEC_ALIGN(8)
#define NTSYSAPI
#define NTSYSCALLAPI
#define NTKERNELAPI
#define NTHALAPI
#define WINBASEAPI
#define WINADVAPI
#define WINUSERAPI
#define CMAPI
#define FORCEINLINE static inline __attribute__((always_inline, unused))
#define NTIO_NOEXCEPT
#ifndef CONST
#define CONST const
#endif
#define VOID void
#define RESTRICTED_POINTER
#define POINTER_64
#define POINTER_32
#define EXTERN_C NTIO_EXTERN_C
#ifdef __cplusplus
#define EXTERN_C_START extern "C" {
#define EXTERN_C_END }
#else
#define EXTERN_C_START
#define EXTERN_C_END
#endif
#define _ANONYMOUS_UNION
#define _ANONYMOUS_STRUCT
#define DUMMYUNIONNAME
#define DUMMYUNIONNAME2
#define DUMMYSTRUCTNAME
#define DUMMYSTRUCTNAME2

/* ---- integer and pointer types ----------------------------------------- */
typedef void *PVOID, *LPVOID, **PPVOID;
typedef const void *PCVOID, *LPCVOID;
typedef char CHAR, CCHAR, *PCHAR, *PSTR, *LPSTR, *PCH, *LPCH;
typedef const char *PCSTR, *LPCSTR, *PCCH, *LPCCH;
typedef unsigned char UCHAR, *PUCHAR, BYTE, *PBYTE, *LPBYTE, BOOLEAN, *PBOOLEAN;
typedef short SHORT, *PSHORT, CSHORT;
/* The declared length of a trailing variable-length array, as winnt.h has it. */
#define ANYSIZE_ARRAY 1
/* 32 x 32 -> 64-bit products, signed and unsigned, as winnt.h has them. */
#define Int32x32To64(a, b) ((LONGLONG)((LONG)(a)) * (LONGLONG)((LONG)(b)))
#define UInt32x32To64(a, b) ((ULONGLONG)((ULONG)(a)) * (ULONGLONG)((ULONG)(b)))
typedef unsigned short USHORT, *PUSHORT, WORD, *PWORD, *LPWORD;
typedef int INT, *PINT, *LPINT, LONG, *PLONG, *LPLONG, BOOL, *PBOOL, *LPBOOL;
typedef unsigned int UINT, *PUINT, ULONG, *PULONG, DWORD, *PDWORD, *LPDWORD;
typedef int INT32, *PINT32, LONG32, *PLONG32;
typedef unsigned int UINT32, *PUINT32, ULONG32, *PULONG32, DWORD32, *PDWORD32;
typedef long long LONGLONG, *PLONGLONG, LONG64, *PLONG64, INT64, *PINT64;
typedef unsigned long long ULONGLONG, *PULONGLONG, ULONG64, *PULONG64, DWORD64, *PDWORD64, UINT64, *PUINT64,
    DWORDLONG, *PDWORDLONG;
/* MSVC's sized integer keywords, as macros (as MinGW has them): `signed __int64` and
 * `unsigned __int64` then read as they do there. */
#ifndef __int64
#define __int64 long long
#define __int32 int
#define __int16 short
#define __int8 char
#endif
typedef signed char INT8, *PINT8;
typedef unsigned char UINT8, *PUINT8;
typedef short INT16, *PINT16;
typedef unsigned short UINT16, *PUINT16;
typedef intptr_t INT_PTR, *PINT_PTR, LONG_PTR, *PLONG_PTR, SSIZE_T, *PSSIZE_T;
typedef uintptr_t UINT_PTR, *PUINT_PTR, ULONG_PTR, *PULONG_PTR, DWORD_PTR, *PDWORD_PTR, KAFFINITY, *PKAFFINITY;
typedef size_t SIZE_T, *PSIZE_T;
typedef float FLOAT, *PFLOAT;
typedef double DOUBLE;
typedef wchar_t WCHAR, *PWCHAR, *PWCH, *LPWCH, *PWSTR, *LPWSTR, *PZPWSTR;
typedef const wchar_t *PCWSTR, *LPCWSTR, *PCWCH, *LPCWCH;
typedef void *HANDLE, **PHANDLE, **LPHANDLE;
typedef LONG NTSTATUS, *PNTSTATUS;
typedef UCHAR KIRQL, *PKIRQL;
typedef CCHAR KPROCESSOR_MODE;
typedef LONG KPRIORITY;
typedef ULONG ACCESS_MASK, *PACCESS_MASK;
typedef ULONG LOGICAL, *PLOGICAL;
typedef LONG HRESULT;
typedef ULONG_PTR ERESOURCE_THREAD;
typedef ULONGLONG TRACEHANDLE;
typedef const char *PCSZ;

#ifndef __cplusplus
#ifndef TRUE
#define TRUE 1
#endif
#ifndef FALSE
#define FALSE 0
#endif
#else
#ifndef TRUE
#define TRUE 1
#endif
#ifndef FALSE
#define FALSE 0
#endif
#endif
#ifndef NULL
#define NULL ((void *)0)
#endif

/* The limits of the Windows types, as winnt.h, ntdef.h and basetsd.h name them. The
 * minimums are negative values of the signed type; winnt.h writes MINCHAR, MINSHORT and
 * MINLONG as the positive literals 0x80, 0x8000 and 0x80000000. On Linux the C library's
 * LONG_MAX, LONG_MIN and ULONG_MAX are those of the 64-bit `long`: MAXLONG and MAXULONG
 * are the 32-bit LONG's and ULONG's. */
#define MAXCHAR 0x7f
#define MINCHAR (-MAXCHAR - 1)
#define MAXUCHAR 0xff
#define MAXBYTE 0xff
#define MAXSHORT 0x7fff
#define MINSHORT (-MAXSHORT - 1)
#define MAXUSHORT 0xffff
#define MAXWORD 0xffff
#define MAXULONG 0xffffffffU
#define MAXLONG 0x7fffffff
#define MINLONG (-MAXLONG - 1)
#define MAXDWORD 0xffffffffU
#define MAXUINT ((UINT)~(UINT)0)
#define MAXINT ((INT)(MAXUINT >> 1))
#define MININT (-MAXINT - 1)
#define MAXLONGLONG 0x7fffffffffffffffLL
#define MINLONGLONG (-MAXLONGLONG - 1)
#define MAXULONGLONG ((ULONGLONG)~(ULONGLONG)0)
#define MAXUINT_PTR ((UINT_PTR)~(UINT_PTR)0)
#define MAXINT_PTR ((INT_PTR)(MAXUINT_PTR >> 1))
#define MININT_PTR (-MAXINT_PTR - 1)
#define MAXULONG_PTR (~((ULONG_PTR)0))
#define MAXLONG_PTR ((LONG_PTR)(MAXULONG_PTR >> 1))
#define MINLONG_PTR (-MAXLONG_PTR - 1)
#define MAXSIZE_T ((SIZE_T)~(SIZE_T)0)
#define MAXSSIZE_T ((SSIZE_T)(MAXSIZE_T >> 1))
#define MINSSIZE_T (-MAXSSIZE_T - 1)
#define MAXUINT8 ((UINT8)~(UINT8)0)
#define MAXINT8 ((INT8)(MAXUINT8 >> 1))
#define MININT8 ((INT8)(-MAXINT8 - 1))
#define MAXUINT16 ((UINT16)~(UINT16)0)
#define MAXINT16 ((INT16)(MAXUINT16 >> 1))
#define MININT16 ((INT16)(-MAXINT16 - 1))
#define MAXUINT32 ((UINT32)~(UINT32)0)
#define MAXINT32 ((INT32)(MAXUINT32 >> 1))
#define MININT32 (-MAXINT32 - 1)
#define MAXULONG32 ((ULONG32)~(ULONG32)0)
#define MAXLONG32 ((LONG32)(MAXULONG32 >> 1))
#define MINLONG32 (-MAXLONG32 - 1)
#define MAXDWORD32 ((DWORD32)~(DWORD32)0)
#define MAXUINT64 ((UINT64)~(UINT64)0)
#define MAXINT64 ((INT64)(MAXUINT64 >> 1))
#define MININT64 (-MAXINT64 - 1)
#define MAXULONG64 ((ULONG64)~(ULONG64)0)
#define MAXLONG64 ((LONG64)(MAXULONG64 >> 1))
#define MINLONG64 (-MAXLONG64 - 1)
#define MAXDWORD64 ((DWORD64)~(DWORD64)0)

typedef union _LARGE_INTEGER {
    struct {
        ULONG LowPart;
        LONG HighPart;
    };
    struct {
        ULONG LowPart;
        LONG HighPart;
    } u;
    LONGLONG QuadPart;
} LARGE_INTEGER, *PLARGE_INTEGER;

typedef union _ULARGE_INTEGER {
    struct {
        ULONG LowPart;
        ULONG HighPart;
    };
    struct {
        ULONG LowPart;
        ULONG HighPart;
    } u;
    ULONGLONG QuadPart;
} ULARGE_INTEGER, *PULARGE_INTEGER;

typedef LARGE_INTEGER PHYSICAL_ADDRESS, *PPHYSICAL_ADDRESS;

/* ---- NTSTATUS classes ---------------------------------------------------- */
#define NT_SUCCESS(Status) (((NTSTATUS)(Status)) >= 0)
#define NT_INFORMATION(Status) ((((ULONG)(Status)) >> 30) == 1)
#define NT_WARNING(Status) ((((ULONG)(Status)) >> 30) == 2)
#define NT_ERROR(Status) ((((ULONG)(Status)) >> 30) == 3)
#define SUCCEEDED(hr) (((HRESULT)(hr)) >= 0)
#define FAILED(hr) (((HRESULT)(hr)) < 0)

/* ---- structure helpers ---------------------------------------------------- */
#define FIELD_OFFSET(type, field) ((LONG)offsetof(type, field))
#define RTL_FIELD_SIZE(type, field) (sizeof(((type *)0)->field))
#define RTL_SIZEOF_THROUGH_FIELD(type, field) (FIELD_OFFSET(type, field) + RTL_FIELD_SIZE(type, field))
#define CONTAINING_RECORD(address, type, field) ((type *)((PCHAR)(address) - (ULONG_PTR)offsetof(type, field)))
#define RTL_NUMBER_OF(a) (sizeof(a) / sizeof((a)[0]))
#define ARRAYSIZE(a) RTL_NUMBER_OF(a)
#define _countof(a) RTL_NUMBER_OF(a)
#define UNREFERENCED_PARAMETER(P) ((void)(P))
#define ARGUMENT_PRESENT(ArgumentPointer) ((CHAR *)((ULONG_PTR)(ArgumentPointer)) != (CHAR *)NULL)
/* Pool and the heap return blocks this aligned (x64); pool blocks of PAGE_SIZE or more
 * are page-aligned, cache-aligned ones SYSTEM_CACHE_ALIGNMENT_SIZE-aligned (S-POOL-1). */
#define MEMORY_ALLOCATION_ALIGNMENT 16
/* min and max, as the SDK's and the WDK's headers define them unless NOMINMAX. In C++
   they are function templates in the global namespace instead of macros: libstdc++'s
   own headers (std::min, numeric_limits<T>::max()) break on the macros, where MSVC's
   library is written around them. The templates take the macros' mixed operand types
   and give their common type; with `using namespace std`, std::min and std::max are
   more specialized for two operands of one type and win (docs/compat.md). */
#if !defined(NOMINMAX)
#if !defined(__cplusplus)
#ifndef max
#define max(a, b) (((a) > (b)) ? (a) : (b))
#endif
#ifndef min
#define min(a, b) (((a) < (b)) ? (a) : (b))
#endif
#else
/* extern "C++": drivers written in C++ often include the WDK's headers inside extern "C". */
extern "C++" {
#ifndef max
template <typename A, typename B>
constexpr auto max(A a, B b) -> decltype((a > b) ? A(a) : B(b)) {
    return (a > b) ? a : b;
}
#endif
#ifndef min
template <typename A, typename B>
constexpr auto min(A a, B b) -> decltype((a < b) ? A(a) : B(b)) {
    return (a < b) ? a : b;
}
#endif
}
#endif
#endif
#define DBG_UNREFERENCED_PARAMETER(P) ((void)(P))
#define DBG_UNREFERENCED_LOCAL_VARIABLE(V) ((void)(V))
#define C_ASSERT(e) typedef char __C_ASSERT__[(e) ? 1 : -1] __attribute__((unused))
#define ALIGN_DOWN_BY(length, alignment) ((ULONG_PTR)(length) & ~((ULONG_PTR)(alignment)-1))
#define ALIGN_UP_BY(length, alignment) (ALIGN_DOWN_BY(((ULONG_PTR)(length) + (alignment)-1), alignment))
#define MAKELONG(a, b) ((LONG)(((WORD)(((DWORD_PTR)(a)) & 0xffff)) | ((DWORD)((WORD)(((DWORD_PTR)(b)) & 0xffff))) << 16))
#define MAKEWORD(a, b) ((WORD)(((BYTE)(((DWORD_PTR)(a)) & 0xff)) | ((WORD)((BYTE)(((DWORD_PTR)(b)) & 0xff))) << 8))
#define LOWORD(l) ((WORD)(((DWORD_PTR)(l)) & 0xffff))
#define HIWORD(l) ((WORD)((((DWORD_PTR)(l)) >> 16) & 0xffff))
#define LOBYTE(w) ((BYTE)(((DWORD_PTR)(w)) & 0xff))
#define HIBYTE(w) ((BYTE)((((DWORD_PTR)(w)) >> 8) & 0xff))

#define HandleToULong(h) ((ULONG)(ULONG_PTR)(h))
#define HandleToLong(h) ((LONG)(LONG_PTR)(h))
#define ULongToHandle(ul) ((HANDLE)(ULONG_PTR)(ul))
#define LongToHandle(l) ((HANDLE)(LONG_PTR)(l))
#define PtrToUlong(p) ((ULONG)(ULONG_PTR)(p))
#define PtrToLong(p) ((LONG)(LONG_PTR)(p))
#define UlongToPtr(ul) ((PVOID)(ULONG_PTR)(ul))
#define IntToPtr(i) ((PVOID)(INT_PTR)(i))
#define PtrToInt(p) ((INT)(INT_PTR)(p))

/* ---- doubly and singly linked lists (NT's LIST_ENTRY discipline) -------- */
typedef struct _LIST_ENTRY {
    struct _LIST_ENTRY *Flink;
    struct _LIST_ENTRY *Blink;
} LIST_ENTRY, *PLIST_ENTRY, *RESTRICTED_POINTER PRLIST_ENTRY;

typedef struct _SINGLE_LIST_ENTRY {
    struct _SINGLE_LIST_ENTRY *Next;
} SINGLE_LIST_ENTRY, *PSINGLE_LIST_ENTRY;

FORCEINLINE VOID InitializeListHead(PLIST_ENTRY ListHead) { ListHead->Flink = ListHead->Blink = ListHead; }
FORCEINLINE BOOLEAN IsListEmpty(const LIST_ENTRY *ListHead) { return (BOOLEAN)(ListHead->Flink == ListHead); }
FORCEINLINE BOOLEAN RemoveEntryList(PLIST_ENTRY Entry) {
    PLIST_ENTRY Flink = Entry->Flink, Blink = Entry->Blink;
    Blink->Flink = Flink;
    Flink->Blink = Blink;
    return (BOOLEAN)(Flink == Blink);
}
FORCEINLINE PLIST_ENTRY RemoveHeadList(PLIST_ENTRY ListHead) {
    PLIST_ENTRY Entry = ListHead->Flink, Flink = Entry->Flink;
    ListHead->Flink = Flink;
    Flink->Blink = ListHead;
    return Entry;
}
FORCEINLINE PLIST_ENTRY RemoveTailList(PLIST_ENTRY ListHead) {
    PLIST_ENTRY Entry = ListHead->Blink, Blink = Entry->Blink;
    ListHead->Blink = Blink;
    Blink->Flink = ListHead;
    return Entry;
}
FORCEINLINE VOID InsertTailList(PLIST_ENTRY ListHead, PLIST_ENTRY Entry) {
    PLIST_ENTRY Blink = ListHead->Blink;
    Entry->Flink = ListHead;
    Entry->Blink = Blink;
    Blink->Flink = Entry;
    ListHead->Blink = Entry;
}
FORCEINLINE VOID InsertHeadList(PLIST_ENTRY ListHead, PLIST_ENTRY Entry) {
    PLIST_ENTRY Flink = ListHead->Flink;
    Entry->Flink = Flink;
    Entry->Blink = ListHead;
    Flink->Blink = Entry;
    ListHead->Flink = Entry;
}
FORCEINLINE VOID AppendTailList(PLIST_ENTRY ListHead, PLIST_ENTRY ListToAppend) {
    PLIST_ENTRY ListEnd = ListHead->Blink;
    ListHead->Blink->Flink = ListToAppend;
    ListHead->Blink = ListToAppend->Blink;
    ListToAppend->Blink->Flink = ListHead;
    ListToAppend->Blink = ListEnd;
}
FORCEINLINE PSINGLE_LIST_ENTRY PopEntryList(PSINGLE_LIST_ENTRY ListHead) {
    PSINGLE_LIST_ENTRY First = ListHead->Next;
    if (First != NULL) ListHead->Next = First->Next;
    return First;
}
FORCEINLINE VOID PushEntryList(PSINGLE_LIST_ENTRY ListHead, PSINGLE_LIST_ENTRY Entry) {
    Entry->Next = ListHead->Next;
    ListHead->Next = Entry;
}

/* ---- strings -------------------------------------------------------------- */
typedef struct _UNICODE_STRING {
    USHORT Length;        /* bytes, without the terminator */
    USHORT MaximumLength; /* bytes */
    PWSTR Buffer;
} UNICODE_STRING, *PUNICODE_STRING;
typedef const UNICODE_STRING *PCUNICODE_STRING;

typedef struct _STRING {
    USHORT Length;
    USHORT MaximumLength;
    PCHAR Buffer;
} STRING, *PSTRING, ANSI_STRING, *PANSI_STRING, OEM_STRING, *POEM_STRING;
typedef const STRING *PCSTRING, *PCANSI_STRING, *PCOEM_STRING;

#ifdef __cplusplus
/* String literals are const in C++; the WDK's RTL_CONSTANT_STRING stores them anyway. */
extern "C++" { /* overloads: C++ linkage even when a C++ driver includes this inside extern "C" */
static inline __attribute__((unused)) wchar_t *ntio_literal_buffer(const wchar_t *s) { return const_cast<wchar_t *>(s); }
static inline __attribute__((unused)) char *ntio_literal_buffer(const char *s) { return const_cast<char *>(s); }
}
#define RTL_CONSTANT_STRING(s) {(USHORT)(sizeof(s) - sizeof((s)[0])), (USHORT)sizeof(s), ntio_literal_buffer(s)}
#else
#define RTL_CONSTANT_STRING(s) {(USHORT)(sizeof(s) - sizeof((s)[0])), (USHORT)sizeof(s), (s)}
#endif
#define DECLARE_CONST_UNICODE_STRING(_var, _str) const UNICODE_STRING _var = RTL_CONSTANT_STRING(_str)
#define DECLARE_UNICODE_STRING_SIZE(_var, _size) \
    WCHAR _var##_buffer[_size];                  \
    UNICODE_STRING _var = {0, (USHORT)((_size) * sizeof(WCHAR)), _var##_buffer}
#define UNICODE_NULL ((WCHAR)0)
#define ANSI_NULL ((CHAR)0)
#define UNICODE_STRING_MAX_BYTES ((USHORT)65534)
#define UNICODE_STRING_MAX_CHARS (32767)

/* ---- memory --------------------------------------------------------------- */
#define RtlCopyMemory(Destination, Source, Length) memcpy((Destination), (Source), (Length))
#define RtlCopyBytes RtlCopyMemory
#define RtlMoveMemory(Destination, Source, Length) memmove((Destination), (Source), (Length))
#define RtlFillMemory(Destination, Length, Fill) memset((Destination), (Fill), (Length))
#define RtlZeroMemory(Destination, Length) memset((Destination), 0, (Length))
#define RtlEqualMemory(Destination, Source, Length) (!memcmp((Destination), (Source), (Length)))
/* MSVC's byte-order intrinsics (its <stdlib.h>), which drivers and applications use to
 * read big-endian data; the WDK's RtlU*ByteSwap are built on them (kernel/rtl.h). */
FORCEINLINE unsigned short _byteswap_ushort(unsigned short Value) { return __builtin_bswap16(Value); }
FORCEINLINE ULONG _byteswap_ulong(ULONG Value) { return __builtin_bswap32(Value); }
FORCEINLINE unsigned long long _byteswap_uint64(unsigned long long Value) { return __builtin_bswap64(Value); }
#define RtlSecureZeroMemory(Destination, Length) ntio_secure_zero((Destination), (Length))
#define CopyMemory RtlCopyMemory
#define MoveMemory RtlMoveMemory
#define FillMemory RtlFillMemory
#define ZeroMemory RtlZeroMemory
#define SecureZeroMemory RtlSecureZeroMemory
FORCEINLINE PVOID ntio_secure_zero(PVOID p, SIZE_T n) {
    volatile char *v = (volatile char *)p;
    while (n--) *v++ = 0;
    return p;
}

/* ---- GUIDs ----------------------------------------------------------------- */
#include "guiddef.h"

/* ---- interlocked operations (full barriers, as on Windows) --------------- */
FORCEINLINE LONG InterlockedIncrement(LONG volatile *p) { return __atomic_add_fetch(p, 1, __ATOMIC_SEQ_CST); }
FORCEINLINE LONG InterlockedDecrement(LONG volatile *p) { return __atomic_sub_fetch(p, 1, __ATOMIC_SEQ_CST); }
FORCEINLINE LONG InterlockedExchange(LONG volatile *p, LONG v) { return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST); }
FORCEINLINE LONG InterlockedExchangeAdd(LONG volatile *p, LONG v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
FORCEINLINE LONG InterlockedAdd(LONG volatile *p, LONG v) { return __atomic_add_fetch(p, v, __ATOMIC_SEQ_CST); }
FORCEINLINE LONG InterlockedCompareExchange(LONG volatile *p, LONG exchange, LONG comparand) {
    __atomic_compare_exchange_n(p, &comparand, exchange, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return comparand;
}
FORCEINLINE LONG InterlockedAnd(LONG volatile *p, LONG v) { return __atomic_fetch_and(p, v, __ATOMIC_SEQ_CST); }
FORCEINLINE LONG InterlockedOr(LONG volatile *p, LONG v) { return __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST); }
FORCEINLINE LONG InterlockedXor(LONG volatile *p, LONG v) { return __atomic_fetch_xor(p, v, __ATOMIC_SEQ_CST); }
FORCEINLINE LONG64 InterlockedIncrement64(LONG64 volatile *p) { return __atomic_add_fetch(p, 1, __ATOMIC_SEQ_CST); }
FORCEINLINE LONG64 InterlockedDecrement64(LONG64 volatile *p) { return __atomic_sub_fetch(p, 1, __ATOMIC_SEQ_CST); }
FORCEINLINE LONG64 InterlockedExchange64(LONG64 volatile *p, LONG64 v) { return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST); }
FORCEINLINE LONG64 InterlockedExchangeAdd64(LONG64 volatile *p, LONG64 v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
FORCEINLINE LONG64 InterlockedAdd64(LONG64 volatile *p, LONG64 v) { return __atomic_add_fetch(p, v, __ATOMIC_SEQ_CST); }
FORCEINLINE LONG64 InterlockedCompareExchange64(LONG64 volatile *p, LONG64 exchange, LONG64 comparand) {
    __atomic_compare_exchange_n(p, &comparand, exchange, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return comparand;
}
FORCEINLINE PVOID InterlockedExchangePointer(PVOID volatile *p, PVOID v) { return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST); }
FORCEINLINE PVOID InterlockedCompareExchangePointer(PVOID volatile *p, PVOID exchange, PVOID comparand) {
    __atomic_compare_exchange_n(p, &comparand, exchange, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return comparand;
}
#define InterlockedIncrementAcquire InterlockedIncrement
#define InterlockedDecrementRelease InterlockedDecrement
#define InterlockedCompareExchangeAcquire InterlockedCompareExchange
#define InterlockedCompareExchangeRelease InterlockedCompareExchange
#define InterlockedExchangeAcquire InterlockedExchange
#define InterlockedIncrementNoFence InterlockedIncrement
#define InterlockedDecrementNoFence InterlockedDecrement
#define MemoryBarrier() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define KeMemoryBarrier() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define _ReadWriteBarrier() __asm__ __volatile__("" ::: "memory")
#define YieldProcessor() __builtin_ia32_pause()


/* ---- access rights (shared by kernel and Win32 code) ------------------------ */
#define DELETE                   0x00010000U
#define READ_CONTROL             0x00020000U
#define WRITE_DAC                0x00040000U
#define WRITE_OWNER              0x00080000U
#define SYNCHRONIZE              0x00100000U
#define STANDARD_RIGHTS_REQUIRED 0x000F0000U
#define STANDARD_RIGHTS_READ     READ_CONTROL
#define STANDARD_RIGHTS_WRITE    READ_CONTROL
#define STANDARD_RIGHTS_EXECUTE  READ_CONTROL
#define STANDARD_RIGHTS_ALL      0x001F0000U
#define SPECIFIC_RIGHTS_ALL      0x0000FFFFU
#define MAXIMUM_ALLOWED          0x02000000U
#define GENERIC_READ             0x80000000U
#define GENERIC_WRITE            0x40000000U
#define GENERIC_EXECUTE          0x20000000U
#define GENERIC_ALL              0x10000000U
#define EVENT_QUERY_STATE        0x0001U
#define EVENT_MODIFY_STATE       0x0002U
#define EVENT_ALL_ACCESS         (STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | 0x3U)
#define SEMAPHORE_QUERY_STATE    0x0001U
#define SEMAPHORE_MODIFY_STATE   0x0002U
#define SEMAPHORE_ALL_ACCESS     (STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | 0x3U)
#define MUTANT_QUERY_STATE       0x0001U
#define MUTANT_ALL_ACCESS        (STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | MUTANT_QUERY_STATE)
#define MUTEX_MODIFY_STATE       MUTANT_QUERY_STATE
#define MUTEX_ALL_ACCESS         MUTANT_ALL_ACCESS
#define TIMER_QUERY_STATE        0x0001U
#define TIMER_MODIFY_STATE       0x0002U
#define TIMER_ALL_ACCESS         (STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | 0x3U)
#define THREAD_TERMINATE         0x0001U
#define THREAD_SUSPEND_RESUME    0x0002U
#define THREAD_GET_CONTEXT       0x0008U
#define THREAD_SET_CONTEXT       0x0010U
#define THREAD_SET_INFORMATION   0x0020U
#define THREAD_QUERY_INFORMATION 0x0040U
#define THREAD_QUERY_LIMITED_INFORMATION 0x0800U
#define THREAD_SET_LIMITED_INFORMATION 0x0400U
#define THREAD_ALL_ACCESS        (STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | 0xFFFFU)
#define PROCESS_ALL_ACCESS       (STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | 0xFFFFU)
#define DIRECTORY_QUERY          0x0001U
#define DIRECTORY_TRAVERSE       0x0002U
#define DIRECTORY_CREATE_OBJECT  0x0004U
#define DIRECTORY_ALL_ACCESS     (STANDARD_RIGHTS_REQUIRED | 0xFU)

/* File access rights, share modes and create options (files and devices). */
#define FILE_READ_DATA 0x0001U
#define FILE_LIST_DIRECTORY 0x0001U
#define FILE_WRITE_DATA 0x0002U
#define FILE_ADD_FILE 0x0002U
#define FILE_APPEND_DATA 0x0004U
#define FILE_ADD_SUBDIRECTORY 0x0004U
#define FILE_READ_EA 0x0008U
#define FILE_WRITE_EA 0x0010U
#define FILE_EXECUTE 0x0020U
#define FILE_TRAVERSE 0x0020U
#define FILE_DELETE_CHILD 0x0040U
#define FILE_READ_ATTRIBUTES 0x0080U
#define FILE_WRITE_ATTRIBUTES 0x0100U
#define FILE_ALL_ACCESS (STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | 0x1FFU)
#define FILE_GENERIC_READ (STANDARD_RIGHTS_READ | FILE_READ_DATA | FILE_READ_ATTRIBUTES | FILE_READ_EA | SYNCHRONIZE)
#define FILE_GENERIC_WRITE \
    (STANDARD_RIGHTS_WRITE | FILE_WRITE_DATA | FILE_WRITE_ATTRIBUTES | FILE_WRITE_EA | FILE_APPEND_DATA | SYNCHRONIZE)
#define FILE_GENERIC_EXECUTE (STANDARD_RIGHTS_EXECUTE | FILE_READ_ATTRIBUTES | FILE_EXECUTE | SYNCHRONIZE)
#define FILE_SHARE_READ 0x00000001U
#define FILE_SHARE_WRITE 0x00000002U
#define FILE_SHARE_DELETE 0x00000004U
#define FILE_SHARE_VALID_FLAGS 0x00000007U
#define FILE_ATTRIBUTE_READONLY 0x00000001U
#define FILE_ATTRIBUTE_HIDDEN 0x00000002U
#define FILE_ATTRIBUTE_SYSTEM 0x00000004U
#define FILE_ATTRIBUTE_DIRECTORY 0x00000010U
#define FILE_ATTRIBUTE_ARCHIVE 0x00000020U
#define FILE_ATTRIBUTE_DEVICE 0x00000040U
#define FILE_ATTRIBUTE_NORMAL 0x00000080U
#define FILE_SUPERSEDE 0x00000000U
#define FILE_OPEN 0x00000001U
#define FILE_CREATE 0x00000002U
#define FILE_OPEN_IF 0x00000003U
#define FILE_OVERWRITE 0x00000004U
#define FILE_OVERWRITE_IF 0x00000005U
#define FILE_DIRECTORY_FILE 0x00000001U
#define FILE_WRITE_THROUGH 0x00000002U
#define FILE_SEQUENTIAL_ONLY 0x00000004U
#define FILE_NO_INTERMEDIATE_BUFFERING 0x00000008U
#define FILE_SYNCHRONOUS_IO_ALERT 0x00000010U
#define FILE_SYNCHRONOUS_IO_NONALERT 0x00000020U
#define FILE_NON_DIRECTORY_FILE 0x00000040U
#define FILE_OPENED 0x00000001U

/* ---- object attributes ------------------------------------------------------ */
/* Not an object attribute: NtDuplicateObject's HandleAttributes and
 * OBJECT_HANDLE_INFORMATION.HandleAttributes use it for a handle protected from close. */
#define OBJ_PROTECT_CLOSE      0x00000001L
#define OBJ_INHERIT            0x00000002L
#define OBJ_PERMANENT          0x00000010L
#define OBJ_EXCLUSIVE          0x00000020L
#define OBJ_CASE_INSENSITIVE   0x00000040L
#define OBJ_OPENIF             0x00000080L
#define OBJ_OPENLINK           0x00000100L
#define OBJ_KERNEL_HANDLE      0x00000200L
#define OBJ_FORCE_ACCESS_CHECK 0x00000400L
#define OBJ_VALID_ATTRIBUTES   0x000007F2L

typedef struct _OBJECT_ATTRIBUTES {
    ULONG Length;
    HANDLE RootDirectory;
    PUNICODE_STRING ObjectName;
    ULONG Attributes;
    PVOID SecurityDescriptor;
    PVOID SecurityQualityOfService;
} OBJECT_ATTRIBUTES, *POBJECT_ATTRIBUTES;
typedef const OBJECT_ATTRIBUTES *PCOBJECT_ATTRIBUTES;

#define InitializeObjectAttributes(p, n, a, r, s) \
    do {                                          \
        (p)->Length = sizeof(OBJECT_ATTRIBUTES);  \
        (p)->RootDirectory = (r);                 \
        (p)->Attributes = (a);                    \
        (p)->ObjectName = (n);                    \
        (p)->SecurityDescriptor = (s);            \
        (p)->SecurityQualityOfService = NULL;     \
    } while (0)

typedef struct _CLIENT_ID {
    HANDLE UniqueProcess;
    HANDLE UniqueThread;
} CLIENT_ID, *PCLIENT_ID;

/* ---- Rtl: strings, GUIDs, status translation (src/rtl) --------------------- */
NTIO_EXTERN_C_BEGIN
NTIO_API VOID RtlInitUnicodeString(PUNICODE_STRING DestinationString, PCWSTR SourceString);
NTIO_API NTSTATUS RtlInitUnicodeStringEx(PUNICODE_STRING DestinationString, PCWSTR SourceString);
NTIO_API VOID RtlInitAnsiString(PANSI_STRING DestinationString, PCSTR SourceString);
NTIO_API VOID RtlInitString(PSTRING DestinationString, PCSTR SourceString);
/* An empty string over the caller's buffer of BufferSize bytes. */
#define RtlInitEmptyUnicodeString(UnicodeString, Buffer_, BufferSize) \
    do {                                                            \
        PUNICODE_STRING ntio_us_ = (UnicodeString);                 \
        ntio_us_->Length = 0;                                       \
        ntio_us_->MaximumLength = (USHORT)(BufferSize);             \
        ntio_us_->Buffer = (Buffer_);                               \
    } while (0)
#define RtlInitEmptyAnsiString(AnsiString, Buffer_, BufferSize) \
    do {                                                      \
        PANSI_STRING ntio_as_ = (AnsiString);                 \
        ntio_as_->Length = 0;                                 \
        ntio_as_->MaximumLength = (USHORT)(BufferSize);       \
        ntio_as_->Buffer = (Buffer_);                         \
    } while (0)
NTIO_API VOID RtlCopyUnicodeString(PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString);
NTIO_API VOID RtlCopyString(PSTRING DestinationString, const STRING *SourceString);
NTIO_API NTSTATUS RtlAppendUnicodeStringToString(PUNICODE_STRING Destination, PCUNICODE_STRING Source);
NTIO_API NTSTATUS RtlAppendUnicodeToString(PUNICODE_STRING Destination, PCWSTR Source);
NTIO_API LONG RtlCompareUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2, BOOLEAN CaseInSensitive);
NTIO_API BOOLEAN RtlEqualUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2, BOOLEAN CaseInSensitive);
NTIO_API BOOLEAN RtlPrefixUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2, BOOLEAN CaseInSensitive);
NTIO_API LONG RtlCompareString(const STRING *String1, const STRING *String2, BOOLEAN CaseInSensitive);
NTIO_API BOOLEAN RtlEqualString(const STRING *String1, const STRING *String2, BOOLEAN CaseInSensitive);
NTIO_API NTSTATUS RtlAnsiStringToUnicodeString(PUNICODE_STRING DestinationString, PCANSI_STRING SourceString, BOOLEAN AllocateDestinationString);
NTIO_API NTSTATUS RtlUnicodeStringToAnsiString(PANSI_STRING DestinationString, PCUNICODE_STRING SourceString, BOOLEAN AllocateDestinationString);
NTIO_API NTSTATUS RtlUpcaseUnicodeString(PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString, BOOLEAN AllocateDestinationString);
NTIO_API NTSTATUS RtlDowncaseUnicodeString(PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString, BOOLEAN AllocateDestinationString);
NTIO_API WCHAR RtlUpcaseUnicodeChar(WCHAR SourceCharacter);
NTIO_API WCHAR RtlDowncaseUnicodeChar(WCHAR SourceCharacter);
NTIO_API CHAR RtlUpperChar(CHAR Character);
NTIO_API BOOLEAN RtlCreateUnicodeString(PUNICODE_STRING DestinationString, PCWSTR SourceString);
NTIO_API NTSTATUS RtlDuplicateUnicodeString(ULONG Flags, PCUNICODE_STRING StringIn, PUNICODE_STRING StringOut);
NTIO_API VOID RtlFreeUnicodeString(PUNICODE_STRING UnicodeString);
NTIO_API VOID RtlFreeAnsiString(PANSI_STRING AnsiString);
NTIO_API NTSTATUS RtlIntegerToUnicodeString(ULONG Value, ULONG Base, PUNICODE_STRING String);
NTIO_API NTSTATUS RtlInt64ToUnicodeString(ULONGLONG Value, ULONG Base, PUNICODE_STRING String);
NTIO_API NTSTATUS RtlUnicodeStringToInteger(PCUNICODE_STRING String, ULONG Base, PULONG Value);
NTIO_API NTSTATUS RtlCharToInteger(PCSZ String, ULONG Base, PULONG Value);
NTIO_API SIZE_T RtlCompareMemory(const VOID *Source1, const VOID *Source2, SIZE_T Length);
NTIO_API NTSTATUS RtlStringFromGUID(REFGUID Guid, PUNICODE_STRING GuidString);
NTIO_API NTSTATUS RtlGUIDFromString(PCUNICODE_STRING GuidString, GUID *Guid);
NTIO_API ULONG RtlNtStatusToDosError(NTSTATUS Status);
NTIO_API ULONG RtlNtStatusToDosErrorNoTeb(NTSTATUS Status);

/* Bitmaps (src/rtl/bitmap.cpp): SizeOfBitMap bits in the caller's ULONGs, bit i in bit
 * i % 32 of Buffer[i / 32]. The Find routines return 0xFFFFFFFF when nothing fits. */
typedef struct _RTL_BITMAP {
    ULONG SizeOfBitMap;
    PULONG Buffer;
} RTL_BITMAP, *PRTL_BITMAP;
NTIO_API VOID RtlInitializeBitMap(PRTL_BITMAP BitMapHeader, PULONG BitMapBuffer, ULONG SizeOfBitMap);
NTIO_API VOID RtlClearAllBits(PRTL_BITMAP BitMapHeader);
NTIO_API VOID RtlSetAllBits(PRTL_BITMAP BitMapHeader);
NTIO_API VOID RtlClearBit(PRTL_BITMAP BitMapHeader, ULONG BitNumber);
NTIO_API VOID RtlSetBit(PRTL_BITMAP BitMapHeader, ULONG BitNumber);
NTIO_API BOOLEAN RtlTestBit(PRTL_BITMAP BitMapHeader, ULONG BitNumber);
NTIO_API VOID RtlClearBits(PRTL_BITMAP BitMapHeader, ULONG StartingIndex, ULONG NumberToClear);
NTIO_API VOID RtlSetBits(PRTL_BITMAP BitMapHeader, ULONG StartingIndex, ULONG NumberToSet);
NTIO_API BOOLEAN RtlAreBitsClear(PRTL_BITMAP BitMapHeader, ULONG StartingIndex, ULONG Length);
NTIO_API BOOLEAN RtlAreBitsSet(PRTL_BITMAP BitMapHeader, ULONG StartingIndex, ULONG Length);
NTIO_API ULONG RtlFindClearBits(PRTL_BITMAP BitMapHeader, ULONG NumberToFind, ULONG HintIndex);
NTIO_API ULONG RtlFindSetBits(PRTL_BITMAP BitMapHeader, ULONG NumberToFind, ULONG HintIndex);
NTIO_API ULONG RtlFindClearBitsAndSet(PRTL_BITMAP BitMapHeader, ULONG NumberToFind, ULONG HintIndex);
NTIO_API ULONG RtlFindSetBitsAndClear(PRTL_BITMAP BitMapHeader, ULONG NumberToFind, ULONG HintIndex);
NTIO_API ULONG RtlNumberOfClearBits(PRTL_BITMAP BitMapHeader);
NTIO_API ULONG RtlNumberOfSetBits(PRTL_BITMAP BitMapHeader);
NTIO_EXTERN_C_END
#define RTL_DUPLICATE_UNICODE_STRING_NULL_TERMINATE 1
#define RTL_DUPLICATE_UNICODE_STRING_ALLOCATE_NULL_STRING 2

/* ---- processors ---------------------------------------------------------------- */
/* A processor by group and number in the group (winnt.h, wdm.h). */
typedef struct _PROCESSOR_NUMBER {
    USHORT Group;
    UCHAR Number;
    UCHAR Reserved;
} PROCESSOR_NUMBER, *PPROCESSOR_NUMBER;

/* Processor features for IsProcessorFeaturePresent (applications) and
 * ExIsProcessorFeaturePresent (drivers), Windows' numbers. */
#define PF_FLOATING_POINT_PRECISION_ERRATA 0
#define PF_FLOATING_POINT_EMULATED 1
#define PF_COMPARE_EXCHANGE_DOUBLE 2
#define PF_MMX_INSTRUCTIONS_AVAILABLE 3
#define PF_PPC_MOVEMEM_64BIT_OK 4
#define PF_ALPHA_BYTE_INSTRUCTIONS 5
#define PF_XMMI_INSTRUCTIONS_AVAILABLE 6
#define PF_3DNOW_INSTRUCTIONS_AVAILABLE 7
#define PF_RDTSC_INSTRUCTION_AVAILABLE 8
#define PF_PAE_ENABLED 9
#define PF_XMMI64_INSTRUCTIONS_AVAILABLE 10
#define PF_SSE_DAZ_MODE_AVAILABLE 11
#define PF_NX_ENABLED 12
#define PF_SSE3_INSTRUCTIONS_AVAILABLE 13
#define PF_COMPARE_EXCHANGE128 14
#define PF_COMPARE64_EXCHANGE128 15
#define PF_CHANNELS_ENABLED 16
#define PF_XSAVE_ENABLED 17
#define PF_ARM_VFP_32_REGISTERS_AVAILABLE 18
#define PF_ARM_NEON_INSTRUCTIONS_AVAILABLE 19
#define PF_SECOND_LEVEL_ADDRESS_TRANSLATION 20
#define PF_VIRT_FIRMWARE_ENABLED 21
#define PF_RDWRFSGSBASE_AVAILABLE 22
#define PF_FASTFAIL_AVAILABLE 23
#define PF_ARM_DIVIDE_INSTRUCTION_AVAILABLE 24
#define PF_ARM_64BIT_LOADSTORE_ATOMIC 25
#define PF_ARM_EXTERNAL_CACHE_AVAILABLE 26
#define PF_ARM_FMAC_INSTRUCTIONS_AVAILABLE 27
#define PF_RDRAND_INSTRUCTION_AVAILABLE 28
#define PF_ARM_V8_INSTRUCTIONS_AVAILABLE 29
#define PF_ARM_V8_CRYPTO_INSTRUCTIONS_AVAILABLE 30
#define PF_ARM_V8_CRC32_INSTRUCTIONS_AVAILABLE 31
#define PF_RDTSCP_INSTRUCTION_AVAILABLE 32
#define PF_RDPID_INSTRUCTION_AVAILABLE 33
#define PF_ARM_V81_ATOMIC_INSTRUCTIONS_AVAILABLE 34
#define PF_MONITORX_INSTRUCTION_AVAILABLE 35
#define PF_SSSE3_INSTRUCTIONS_AVAILABLE 36
#define PF_SSE4_1_INSTRUCTIONS_AVAILABLE 37
#define PF_SSE4_2_INSTRUCTIONS_AVAILABLE 38
#define PF_AVX_INSTRUCTIONS_AVAILABLE 39
#define PF_AVX2_INSTRUCTIONS_AVAILABLE 40
#define PF_AVX512F_INSTRUCTIONS_AVAILABLE 41
#define PF_ERMS_AVAILABLE 42

/* ---- debug output ------------------------------------------------------------ */
NTIO_EXTERN_C_BEGIN
/* Formats follow Windows, not glibc: %ld/%lu/%lx are 32-bit (LONG/ULONG), %I64d and %lld
 * 64-bit, %Id pointer-sized, %ws/%S wide strings, %wZ a PUNICODE_STRING, %Z a PANSI_STRING.
 * So the usual printf format checking is off for these. */
NTIO_API ULONG DbgPrint(PCSTR Format, ...);
NTIO_API ULONG DbgPrintEx(ULONG ComponentId, ULONG Level, PCSTR Format, ...);
NTIO_API ULONG vDbgPrintEx(ULONG ComponentId, ULONG Level, PCSTR Format, va_list arglist);
NTIO_API VOID DbgBreakPoint(VOID);
NTIO_EXTERN_C_END
#define DPFLTR_ERROR_LEVEL 0
#define DPFLTR_WARNING_LEVEL 1
#define DPFLTR_TRACE_LEVEL 2
#define DPFLTR_INFO_LEVEL 3
#define DPFLTR_IHVDRIVER_ID 77
#define DPFLTR_DEFAULT_ID 101
/* KdPrint takes a parenthesized argument list, as in the WDK: KdPrint(("x=%d\n", x)).
 * ntio prints it in every build, like a checked build, since this is a test runtime. */
#define KdPrint(_x_) DbgPrint _x_
#define KdPrintEx(_x_) DbgPrintEx _x_
/* KdBreakPoint breaks only in a checked build (DBG non-zero), as in the WDK: unlike
 * KdPrint it would stop the program, which a release driver never asks for. */
#if defined(DBG) && DBG
#define KdBreakPoint() DbgBreakPoint()
#else
#define KdBreakPoint() ((void)0)
#endif

#include "excpt.h"

#endif
