// The process heap (HeapAlloc and friends over malloc), LocalReAlloc, and the lstr*
// and wsprintf string helpers of kernel32.
#include <csetjmp>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <cwchar>

#include "win32/win32.hpp"

extern "C" void ExRaiseStatus(NTSTATUS Status);  // <wdm.h>'s; this file sees <windows.h>
extern "C" size_t ntio_vsnprintf_windows(char* Buffer, size_t Count, const char* Format, va_list Args);
extern "C" size_t ntio_vswprintf_windows(wchar_t* Buffer, size_t Count, const wchar_t* Format, va_list Args);

using namespace ntio::win32;

namespace {

// Each block carries its size (HeapSize answers what was asked for, as Windows does)
// and a tag that tells a live block of this heap from anything else.
struct alignas(16) BlockHeader {
    SIZE_T size;
    uint32_t tag;
};
constexpr uint32_t kLiveBlock = 0x70616548;  // "Heap"
constexpr uint32_t kFreedBlock = 0x65657246;  // "Free"

// The process heap's handle: an address no handle table hands out.
struct ProcessHeap {
} g_process_heap;

bool is_process_heap(HANDLE h) {
    if (h == static_cast<HANDLE>(&g_process_heap)) return true;
    set_last_error(ERROR_INVALID_HANDLE);
    return false;
}

BlockHeader* header_of(LPCVOID mem) {
    if (!mem) return nullptr;
    auto* h = reinterpret_cast<BlockHeader*>(reinterpret_cast<uintptr_t>(mem) - sizeof(BlockHeader));
    return h->tag == kLiveBlock ? h : nullptr;
}

// At most iMaxLength - 1 characters and always the terminator. The length is unsigned
// to Windows: a negative one is a very large count, not none.
template <typename Char>
Char* copy_at_most(Char* d, const Char* s, int max) {
    auto n = static_cast<unsigned>(max);
    if (n == 0) return d;
    unsigned i = 0;
    for (; i < n - 1 && s[i]; ++i) d[i] = s[i];
    d[i] = Char(0);
    return d;
}

// Runs `work` inside a structured-exception frame: its result, or `on_fault` when an
// exception (an access violation through a bad pointer) ended it.
template <typename R, typename F>
R guarded(R on_fault, F&& work) {
    NTIO_SEH_FRAME frame;
    ntio_seh_enter(&frame, 1, __FILE__, __LINE__);
    if (setjmp(frame.Jump) == 0) {
        R result = work();
        ntio_seh_done(&frame);
        return result;
    }
    ntio_seh_filter(&frame, EXCEPTION_EXECUTE_HANDLER);  // taken here
    return on_fault;
}

LPVOID failed(DWORD flags) {
    if (flags & HEAP_GENERATE_EXCEPTIONS) ExRaiseStatus(STATUS_NO_MEMORY);
    return nullptr;
}

}  // namespace

extern "C" {

HANDLE GetProcessHeap(VOID) { return static_cast<HANDLE>(&g_process_heap); }

LPVOID HeapAlloc(HANDLE hHeap, DWORD dwFlags, SIZE_T dwBytes) {
    if (!is_process_heap(hHeap)) return nullptr;
    if (dwBytes > SIZE_MAX - sizeof(BlockHeader)) return failed(dwFlags);
    void* p = (dwFlags & HEAP_ZERO_MEMORY) ? std::calloc(1, sizeof(BlockHeader) + dwBytes)
                                           : std::malloc(sizeof(BlockHeader) + dwBytes);
    if (!p) return failed(dwFlags);
    auto* h = static_cast<BlockHeader*>(p);
    h->size = dwBytes;
    h->tag = kLiveBlock;
    return h + 1;
}

LPVOID HeapReAlloc(HANDLE hHeap, DWORD dwFlags, LPVOID lpMem, SIZE_T dwBytes) {
    if (!is_process_heap(hHeap)) return nullptr;
    BlockHeader* h = header_of(lpMem);
    if (!h) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return nullptr;
    }
    SIZE_T old = h->size;
    if (dwBytes > old && (dwFlags & HEAP_REALLOC_IN_PLACE_ONLY)) return failed(dwFlags);
    if (dwBytes > SIZE_MAX - sizeof(BlockHeader)) return failed(dwFlags);
    if (dwFlags & HEAP_REALLOC_IN_PLACE_ONLY) {  // shrinking: the block stays where it is
        h->size = dwBytes;
        return lpMem;
    }
    auto* moved = static_cast<BlockHeader*>(std::realloc(h, sizeof(BlockHeader) + dwBytes));
    if (!moved) return failed(dwFlags);  // the old block is still valid, as on Windows
    moved->size = dwBytes;
    if ((dwFlags & HEAP_ZERO_MEMORY) && dwBytes > old) std::memset(reinterpret_cast<char*>(moved + 1) + old, 0, dwBytes - old);
    return moved + 1;
}

BOOL HeapFree(HANDLE hHeap, DWORD dwFlags, LPVOID lpMem) {
    if (!is_process_heap(hHeap)) return FALSE;
    if (!lpMem) return TRUE;  // freeing NULL does nothing
    BlockHeader* h = header_of(lpMem);
    if (!h) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    h->tag = kFreedBlock;
    std::free(h);
    return TRUE;
}

SIZE_T HeapSize(HANDLE hHeap, DWORD dwFlags, LPCVOID lpMem) {
    if (!is_process_heap(hHeap)) return static_cast<SIZE_T>(-1);
    BlockHeader* h = header_of(lpMem);
    if (!h) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return static_cast<SIZE_T>(-1);
    }
    return h->size;
}

// ---- kernel32's string helpers ----------------------------------------------------
// Windows's lstr routines catch an access violation themselves and return 0 (lstrlen)
// or NULL (the others). A structured-exception frame of their own does the same; the
// <excpt.h> keywords are C only, so it is entered by hand here.

int lstrlenA(LPCSTR s) {
    return s ? guarded(0, [&] { return static_cast<int>(std::strlen(s)); }) : 0;
}
int lstrlenW(LPCWSTR s) {
    return s ? guarded(0, [&] { return static_cast<int>(std::wcslen(s)); }) : 0;
}
LPSTR lstrcpyA(LPSTR d, LPCSTR s) {
    return guarded<LPSTR>(nullptr, [&] { return std::strcpy(d, s); });
}
LPWSTR lstrcpyW(LPWSTR d, LPCWSTR s) {
    return guarded<LPWSTR>(nullptr, [&] { return std::wcscpy(d, s); });
}
LPSTR lstrcatA(LPSTR d, LPCSTR s) {
    return guarded<LPSTR>(nullptr, [&] { return std::strcat(d, s); });
}
LPWSTR lstrcatW(LPWSTR d, LPCWSTR s) {
    return guarded<LPWSTR>(nullptr, [&] { return std::wcscat(d, s); });
}

LPSTR lstrcpynA(LPSTR d, LPCSTR s, int n) {
    return guarded<LPSTR>(nullptr, [&] { return copy_at_most(d, s, n); });
}
LPWSTR lstrcpynW(LPWSTR d, LPCWSTR s, int n) {
    return guarded<LPWSTR>(nullptr, [&] { return copy_at_most(d, s, n); });
}

// wsprintf's buffer is at most 1024 characters, the terminator included.
constexpr size_t kWsprintfLimit = 1024;

int wvsprintfA(LPSTR out, LPCSTR format, va_list args) {
    size_t n = ntio_vsnprintf_windows(out, kWsprintfLimit, format, args);
    if (n == SIZE_MAX) return -1;
    return static_cast<int>(n < kWsprintfLimit ? n : kWsprintfLimit - 1);
}
int wvsprintfW(LPWSTR out, LPCWSTR format, va_list args) {
    size_t n = ntio_vswprintf_windows(out, kWsprintfLimit, format, args);
    if (n == SIZE_MAX) return -1;
    return static_cast<int>(n < kWsprintfLimit ? n : kWsprintfLimit - 1);
}
int wsprintfA(LPSTR out, LPCSTR format, ...) {
    va_list args;
    va_start(args, format);
    int n = wvsprintfA(out, format, args);
    va_end(args);
    return n;
}
int wsprintfW(LPWSTR out, LPCWSTR format, ...) {
    va_list args;
    va_start(args, format);
    int n = wvsprintfW(out, format, args);
    va_end(args);
    return n;
}

}  // extern "C"
