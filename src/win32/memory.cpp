// Virtual memory (S-MEM-1..4 in docs/design.md, "Virtual memory for applications"):
// VirtualAlloc / VirtualFree / VirtualProtect on the host's anonymous mappings, and
// GetSystemInfo. Applications use them for page-aligned buffers (direct I/O, MDLs) and
// for pages they make read-only or inaccessible on purpose.
//
// Each region reserved through VirtualAlloc is recorded (base, size, what is committed
// and each page's protection), so that MEM_RELEASE can unmap it whole from its base, a
// commit inside it can be told from an address nobody reserved, and VirtualProtect can
// answer the old protection, as Windows does.
#include <sys/mman.h>
#include <unistd.h>

#include <map>
#include <mutex>
#include <vector>

#include "win32/win32.hpp"
#include "windows.h"

using namespace ntio::win32;

namespace {

constexpr uintptr_t kPage = 4096;
constexpr uintptr_t kGranularity = 65536;  // Windows's allocation granularity

struct Region {
    size_t size;                   // bytes, a multiple of kPage
    std::vector<DWORD> protection; // per page; 0 = reserved, not committed
};

std::mutex g_lock;
std::map<uintptr_t, Region>& regions() {
    static auto* r = new std::map<uintptr_t, Region>();  // outlives static destructors
    return *r;
}

// The host protection for a Windows one; -1 for what ntio does not provide.
int host_protection(DWORD protect) {
    switch (protect) {
    case PAGE_NOACCESS: return PROT_NONE;
    case PAGE_READONLY: return PROT_READ;
    case PAGE_READWRITE: return PROT_READ | PROT_WRITE;
    case PAGE_EXECUTE: return PROT_EXEC;
    case PAGE_EXECUTE_READ: return PROT_READ | PROT_EXEC;
    case PAGE_EXECUTE_READWRITE: return PROT_READ | PROT_WRITE | PROT_EXEC;
    default: return -1;  // PAGE_WRITECOPY (files only), PAGE_GUARD, PAGE_NOCACHE, ...
    }
}

// The region holding [address, address + size), with g_lock held; end() if none.
std::map<uintptr_t, Region>::iterator region_of(uintptr_t address, size_t size) {
    auto& r = regions();
    auto it = r.upper_bound(address);
    if (it == r.begin()) return r.end();
    --it;
    if (address + size > it->first + it->second.size || address + size < address) return r.end();
    return it;
}

BOOL fail(DWORD error) {
    set_last_error(error);
    return FALSE;
}

// Pages [first, first + count) of a region get `protect` (0: decommitted).
bool set_pages(uintptr_t base, Region& region, size_t first, size_t count, DWORD protect) {
    int prot = protect ? host_protection(protect) : PROT_NONE;
    if (mprotect(reinterpret_cast<void*>(base + first * kPage), count * kPage, prot) != 0) return false;
    for (size_t i = 0; i < count; ++i) region.protection[first + i] = protect;
    return true;
}

}  // namespace

extern "C" {

LPVOID VirtualAlloc(LPVOID lpAddress, SIZE_T dwSize, DWORD flAllocationType, DWORD flProtect) {
    if (dwSize == 0 || !(flAllocationType & (MEM_COMMIT | MEM_RESERVE)) ||
        (flAllocationType & ~(MEM_COMMIT | MEM_RESERVE)) || host_protection(flProtect) < 0) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return nullptr;
    }
    std::lock_guard g(g_lock);
    if (lpAddress) {
        // Commit (or re-commit) pages of a region reserved before.
        if (!(flAllocationType & MEM_COMMIT) || (flAllocationType & MEM_RESERVE)) {
            // Reserving at a chosen address is not provided.
            set_last_error(ERROR_INVALID_ADDRESS);
            return nullptr;
        }
        auto address = reinterpret_cast<uintptr_t>(lpAddress);
        uintptr_t first = address & ~(kPage - 1);
        size_t size = ((address + dwSize + kPage - 1) & ~(kPage - 1)) - first;
        auto it = region_of(first, size);
        if (it == regions().end()) {
            set_last_error(ERROR_INVALID_ADDRESS);
            return nullptr;
        }
        size_t page = (first - it->first) / kPage, count = size / kPage;
        // Pages committed for the first time are zero: the reservation's untouched
        // anonymous memory, or pages MEM_DECOMMIT gave back.
        if (!set_pages(it->first, it->second, page, count, flProtect)) {
            set_last_error(ERROR_NOT_ENOUGH_MEMORY);
            return nullptr;
        }
        return reinterpret_cast<LPVOID>(first);
    }
    size_t size = (dwSize + kPage - 1) & ~(kPage - 1);
    if (size < dwSize || size > (SIZE_T(1) << 47)) {
        set_last_error(ERROR_NOT_ENOUGH_MEMORY);
        return nullptr;
    }
    // Over-map by the granularity and trim, so that the base is 64 KiB aligned.
    size_t mapped = size + kGranularity;
    void* p = mmap(nullptr, mapped, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        set_last_error(ERROR_NOT_ENOUGH_MEMORY);
        return nullptr;
    }
    auto raw = reinterpret_cast<uintptr_t>(p);
    uintptr_t base = (raw + kGranularity - 1) & ~(kGranularity - 1);
    if (base > raw) munmap(p, base - raw);
    if (raw + mapped > base + size) munmap(reinterpret_cast<void*>(base + size), raw + mapped - (base + size));
    Region region{size, std::vector<DWORD>(size / kPage, 0)};
    if ((flAllocationType & MEM_COMMIT) && !set_pages(base, region, 0, size / kPage, flProtect)) {
        munmap(reinterpret_cast<void*>(base), size);
        set_last_error(ERROR_NOT_ENOUGH_MEMORY);
        return nullptr;
    }
    regions().emplace(base, std::move(region));
    return reinterpret_cast<LPVOID>(base);
}

BOOL VirtualFree(LPVOID lpAddress, SIZE_T dwSize, DWORD dwFreeType) {
    auto address = reinterpret_cast<uintptr_t>(lpAddress);
    std::lock_guard g(g_lock);
    if (dwFreeType == MEM_RELEASE) {
        // The whole region, from its base, with a size of 0.
        if (dwSize != 0) return fail(ERROR_INVALID_PARAMETER);
        auto it = regions().find(address);
        if (it == regions().end()) return fail(ERROR_INVALID_ADDRESS);  // not a region's base
        munmap(lpAddress, it->second.size);
        regions().erase(it);
        return TRUE;
    }
    if (dwFreeType != MEM_DECOMMIT) return fail(ERROR_INVALID_PARAMETER);
    auto it = region_of(address, dwSize ? dwSize : 1);
    if (it == regions().end()) return fail(ERROR_INVALID_ADDRESS);
    // A size of 0 from the base decommits the whole region.
    uintptr_t first = address & ~(kPage - 1);
    uintptr_t end = dwSize == 0 ? (address == it->first ? it->first + it->second.size : 0)
                                : (address + dwSize + kPage - 1) & ~(kPage - 1);
    if (end <= first) return fail(ERROR_INVALID_PARAMETER);
    size_t page = (first - it->first) / kPage, count = (end - first) / kPage;
    // The pages' contents go (zero when committed again).
    madvise(reinterpret_cast<void*>(first), end - first, MADV_DONTNEED);
    if (!set_pages(it->first, it->second, page, count, 0)) return fail(ERROR_INVALID_ADDRESS);
    return TRUE;
}

BOOL VirtualProtect(LPVOID lpAddress, SIZE_T dwSize, DWORD flNewProtect, PDWORD lpflOldProtect) {
    if (!lpflOldProtect) return fail(ERROR_NOACCESS);
    if (host_protection(flNewProtect) < 0 || dwSize == 0) return fail(ERROR_INVALID_PARAMETER);
    auto address = reinterpret_cast<uintptr_t>(lpAddress);
    uintptr_t first = address & ~(kPage - 1);
    size_t size = ((address + dwSize + kPage - 1) & ~(kPage - 1)) - first;
    std::lock_guard g(g_lock);
    auto it = region_of(first, size);
    if (it == regions().end()) return fail(ERROR_INVALID_ADDRESS);
    size_t page = (first - it->first) / kPage, count = size / kPage;
    for (size_t i = 0; i < count; ++i)
        if (!it->second.protection[page + i]) return fail(ERROR_INVALID_ADDRESS);  // not committed
    DWORD old = it->second.protection[page];
    if (!set_pages(it->first, it->second, page, count, flNewProtect)) return fail(ERROR_INVALID_ADDRESS);
    *lpflOldProtect = old;
    return TRUE;
}

VOID GetSystemInfo(LPSYSTEM_INFO lpSystemInfo) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) n = 1;
    if (n > 64) n = 64;  // one processor group, as a 64-bit mask can tell
    *lpSystemInfo = SYSTEM_INFO{};
    lpSystemInfo->wProcessorArchitecture = PROCESSOR_ARCHITECTURE_AMD64;
    lpSystemInfo->dwPageSize = static_cast<DWORD>(kPage);
    lpSystemInfo->lpMinimumApplicationAddress = reinterpret_cast<LPVOID>(uintptr_t{0x10000});
    lpSystemInfo->lpMaximumApplicationAddress = reinterpret_cast<LPVOID>(uintptr_t{0x7FFFFFFEFFFF});
    lpSystemInfo->dwActiveProcessorMask = n == 64 ? ~DWORD_PTR{0} : (DWORD_PTR{1} << n) - 1;
    lpSystemInfo->dwNumberOfProcessors = static_cast<DWORD>(n);
    lpSystemInfo->dwProcessorType = PROCESSOR_AMD_X8664;
    lpSystemInfo->dwAllocationGranularity = static_cast<DWORD>(kGranularity);
    lpSystemInfo->wProcessorLevel = 6;
}

VOID GetNativeSystemInfo(LPSYSTEM_INFO lpSystemInfo) { GetSystemInfo(lpSystemInfo); }

}  // extern "C"
