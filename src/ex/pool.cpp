#include "ex/pool.hpp"

#include <cstdlib>
#include <cstring>

#include "system.hpp"
#include "verifier/drivers.hpp"
#include "verifier/faults.hpp"
#include "verifier/hooks.hpp"
#include "verifier/locks.hpp"
#include "verifier/report.hpp"

// The quarantine keeps freed blocks allocated as far as the C library knows; under
// AddressSanitizer their bodies are poisoned, so a driver touching freed pool is still
// reported there as it would be without the quarantine.
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define NTIO_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define NTIO_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define NTIO_POISON(p, n) ((void)(p), (void)(n))
#define NTIO_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace ntio::ex {
namespace {

constexpr uint64_t kLiveMagic = 0x4c4f4f506f69746eULL;  // "ntioPOOL"
constexpr uint64_t kFreedMagic = 0x444545524669746eULL;

struct alignas(16) PoolHeader {
    uint64_t magic;
    uint32_t tag;
    uint32_t paged;
    uint64_t bytes;
    uint32_t owner;  // the driver charged with it, while PoolLeftAtUnload is on (else 0)
    uint32_t lead;   // bytes of the C library's block before this header (aligned blocks)
};
static_assert(sizeof(PoolHeader) % MEMORY_ALLOCATION_ALIGNMENT == 0 &&
                  sizeof(PoolHeader) <= SYSTEM_CACHE_ALIGNMENT_SIZE,
              "a block after the header keeps malloc's 16-byte alignment; an aligned one has room for it");

// The C library's block that holds a header.
void* block_of(PoolHeader* h) { return reinterpret_cast<char*>(h) - h->lead; }

}  // namespace

std::string Pool::tag_text(uint32_t tag) {
    std::string s;
    for (int i = 0; i < 4; ++i) {
        char c = static_cast<char>((tag >> (8 * i)) & 0xff);
        s += (c >= 0x20 && c < 0x7f) ? c : '.';
    }
    return s;
}

Pool::TagSlot* Pool::slot_for(uint32_t tag) {
    size_t h = (tag * 2654435761u) % kSlots;
    for (size_t i = 0; i < kSlots; ++i) {
        TagSlot& s = m_slots[(h + i) % kSlots];
        if (s.used.load(std::memory_order_acquire)) {
            if (s.tag.load(std::memory_order_relaxed) == tag) return &s;
            continue;
        }
        uint32_t expected = 0;
        if (s.used.compare_exchange_strong(expected, 2, std::memory_order_acq_rel)) {
            s.tag.store(tag, std::memory_order_relaxed);
            s.used.store(1, std::memory_order_release);
            return &s;
        }
        while (s.used.load(std::memory_order_acquire) == 2) ke::cpu_relax();
        if (s.tag.load(std::memory_order_relaxed) == tag) return &s;
    }
    return nullptr;  // more than kSlots distinct tags: counted as untracked
}

// Inlined into allocate: the small path pays no call for it.
[[gnu::always_inline]] inline void Pool::account(void* header, size_t bytes, uint32_t tag, bool paged,
                                                 uint32_t owner) {
    auto* h = static_cast<PoolHeader*>(header);
    h->magic = kLiveMagic;
    h->tag = tag;
    h->paged = paged;
    h->bytes = bytes;
    h->owner = owner;
    if (owner) verifier::drivers::pool_allocated(owner, tag, bytes);
    if (TagSlot* s = slot_for(tag)) {
        s->allocations.fetch_add(1, std::memory_order_relaxed);
        s->bytes.fetch_add(static_cast<int64_t>(bytes), std::memory_order_relaxed);
    } else {
        m_untracked.fetch_add(1, std::memory_order_relaxed);
    }
}

// The small path tests one condition, as before this had alignments (then it was the
// size limit, which only the aligned path needs now: a small size cannot overflow).
void* Pool::allocate(size_t bytes, uint32_t tag, bool zero, bool paged, uint32_t owner, bool cache_aligned) {
    PoolHeader* h;
    if (bytes < PAGE_SIZE && !cache_aligned) [[likely]] {
        h = static_cast<PoolHeader*>(zero ? std::calloc(1, sizeof(PoolHeader) + bytes)
                                          : std::malloc(sizeof(PoolHeader) + bytes));
        if (!h) return nullptr;
        h->lead = 0;
    } else {
        h = static_cast<PoolHeader*>(
            allocate_aligned(bytes, bytes >= PAGE_SIZE ? PAGE_SIZE : SYSTEM_CACHE_ALIGNMENT_SIZE, zero));
        if (!h) return nullptr;
    }
    account(h, bytes, tag, paged, owner);
    return h + 1;
}

// A block whose body starts at a multiple of `alignment` (a power of two), with the header
// just before it. An ordinary malloc block with room to slide the body up to the boundary:
// glibc's posix_memalign splits and frees chunks around the aligned one, and measured four
// times slower for a 64-byte or a page block.
void* Pool::allocate_aligned(size_t bytes, size_t alignment, bool zero) {
    if (bytes > (SIZE_MAX >> 1)) return nullptr;
    size_t room = sizeof(PoolHeader) + alignment - MEMORY_ALLOCATION_ALIGNMENT;  // malloc gives 16-aligned
    void* block = zero ? std::calloc(1, room + bytes) : std::malloc(room + bytes);
    if (!block) return nullptr;
    auto start = reinterpret_cast<uintptr_t>(block);
    uintptr_t body = (start + sizeof(PoolHeader) + alignment - 1) & ~uintptr_t(alignment - 1);
    auto* h = reinterpret_cast<PoolHeader*>(body) - 1;
    h->lead = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(h) - start);
    return h;
}

void Pool::free(void* p, uint32_t tag, bool check_tag, const char* api) {
    if (!p) {
        verifier::report(verifier::Check::BAD_POOL_CALLER, fmt::format("{}(NULL): freeing a NULL pool pointer", api));
        return;
    }
    auto* h = static_cast<PoolHeader*>(p) - 1;
    // One compare-exchange decides which of two racing frees of a block is the second.
    uint64_t magic = kLiveMagic;
    if (!__atomic_compare_exchange_n(&h->magic, &magic, kFreedMagic, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        if (magic == kFreedMagic)
            verifier::report(verifier::Check::BAD_POOL_CALLER,
                             fmt::format("{}({}): double free of pool tagged '{}' ({} bytes); the block was already "
                                         "freed. Clear the pointer when freeing it, or free it on one path only",
                                         api, p, tag_text(h->tag), h->bytes));
        else
            verifier::report(verifier::Check::BAD_POOL_CALLER, fmt::format("{}({}): not a pool allocation", api, p));
        return;
    }
    if (check_tag && tag != h->tag) {
        // Windows ignores the tag unless the allocation was made with PROTECTED_POOL; report it all the same.
        verifier::report(verifier::Check::PoolTagMismatch, fmt::format("{}({}): freed with tag '{}' but allocated with '{}'",
                                                                api, p, tag_text(tag), tag_text(h->tag)));
    }
    if (TagSlot* s = slot_for(h->tag)) {
        s->allocations.fetch_sub(1, std::memory_order_relaxed);
        s->bytes.fetch_sub(static_cast<int64_t>(h->bytes), std::memory_order_relaxed);
    } else {
        m_untracked.fetch_sub(1, std::memory_order_relaxed);
    }
    if (h->owner) verifier::drivers::pool_freed(h->owner, h->tag, h->bytes);
    verifier::drivers::timers_in_freed_memory(p, h->bytes, api);
    verifier::drivers::ex_objects_in_freed_memory(p, h->bytes, api);
    if (verifier::lock_hooks()) [[unlikely]]  // spin locks that lived in the block are gone
        verifier::locks::forget(p, h->bytes);
    if (h->bytes > kQuarantineBlock) {
        std::free(block_of(h));
        return;
    }
    NTIO_POISON(p, h->bytes);
    uint32_t i = m_quarantine_next.fetch_add(1, std::memory_order_relaxed) % kQuarantine;
    release_quarantined(m_quarantine[i].exchange(h, std::memory_order_acq_rel));
}

void Pool::release_quarantined(void* block) {
    if (!block) return;
    auto* h = static_cast<PoolHeader*>(block);
    NTIO_UNPOISON(h + 1, h->bytes);
    std::free(block_of(h));
}

Pool::~Pool() {
    for (auto& q : m_quarantine) release_quarantined(q.exchange(nullptr));
}

// Windows raises; a C driver's __try takes it (S-SEH-2). With no frame on the thread (C++
// code cannot have one) the raise would stop the process, so the verifier reports it and
// the call returns NULL instead.
void raise_for_failed_allocation(const char* api, const char* flag) {
    if (ntio_seh_frame_active()) ExRaiseStatus(STATUS_INSUFFICIENT_RESOURCES);
    verifier::report(verifier::Check::PoolAllocationRaised, fmt::format("{} failed with {} (would raise)", api, flag));
}

std::vector<PoolTagUsage> Pool::usage() const {
    std::vector<PoolTagUsage> out;
    for (const TagSlot& s : m_slots) {
        if (s.used.load(std::memory_order_acquire) != 1) continue;
        int64_t n = s.allocations.load(), b = s.bytes.load();
        if (n == 0) continue;
        uint32_t tag = s.tag.load();
        out.push_back({tag, tag_text(tag), static_cast<uint64_t>(n), static_cast<uint64_t>(b)});
    }
    return out;
}

}  // namespace ntio::ex

// ---- the Ex* pool API ------------------------------------------------------------
using ntio::sys;

namespace {
bool is_paged(POOL_TYPE t) { return (t & 1) == 1 && t != NonPagedPoolMustSucceed; }
// NonPagedPoolCacheAligned (4), PagedPoolCacheAligned (5), their Nx and session forms.
bool is_cache_aligned(POOL_TYPE t) { return (t & 4) != 0; }
constexpr ULONG kNoneTag = 0x656e6f4e;  // 'None', what ExAllocatePool uses

// A driver's pool allocation; `caller` (its return address) names the driver when
// PoolLeftAtUnload counts pool per driver, and fault injection may fail it (never one
// that must succeed or raise).
void* driver_allocation(SIZE_T bytes, ULONG tag, bool zero, bool paged, const void* caller, bool may_fail = true,
                        bool cache_aligned = false) {
    if (may_fail && ntio::verifier::allocation_fault_hooks() && ntio::verifier::faults::fail_pool(tag, bytes, caller))
        [[unlikely]]
        return nullptr;
    uint32_t owner = ntio::verifier::pool_owner_hooks() ? ntio::verifier::drivers::attribute(caller) : 0;
    return sys().pool.allocate(bytes, tag, zero, paged, owner, cache_aligned);
}

// The POOL_TYPE routines: the type's bits say paged or not, cache-aligned or not, and
// whether a failure raises.
PVOID typed_allocation(POOL_TYPE type, SIZE_T bytes, ULONG tag, bool zero, const char* api, const void* caller) {
    bool paged = is_paged(static_cast<POOL_TYPE>(type & ~POOL_RAISE_IF_ALLOCATION_FAILURE));
    ntio::verifier::check_irql_at_most(paged ? APC_LEVEL : DISPATCH_LEVEL, api);
    bool raise = type & POOL_RAISE_IF_ALLOCATION_FAILURE;
    PVOID p = driver_allocation(bytes, tag, zero, paged, caller, !raise, is_cache_aligned(type));
    if (!p && raise) [[unlikely]]
        ntio::ex::raise_for_failed_allocation(api, "POOL_RAISE_IF_ALLOCATION_FAILURE");
    return p;
}
}  // namespace

extern "C" {

PVOID ExAllocatePoolWithTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag) {
    return typed_allocation(PoolType, NumberOfBytes, Tag, false, "ExAllocatePoolWithTag", __builtin_return_address(0));
}

// The priority is a hint of how badly the caller needs the memory when pool runs low;
// ntio's pool does not run low, so every priority allocates as ExAllocatePoolWithTag.
PVOID ExAllocatePoolWithTagPriority(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag, EX_POOL_PRIORITY Priority) {
    (void)Priority;
    return typed_allocation(PoolType, NumberOfBytes, Tag, false, "ExAllocatePoolWithTagPriority",
                            __builtin_return_address(0));
}

PVOID ExAllocatePoolZero(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag) {
    return typed_allocation(PoolType, NumberOfBytes, Tag, true, "ExAllocatePoolZero", __builtin_return_address(0));
}

// Quota allocations (no quota is charged: one process). The type's modifier bits say
// whether a failure returns NULL or raises.
namespace {
PVOID quota_allocation(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag, bool zero, const char* api,
                       void* caller) {
    int type = static_cast<int>(PoolType);
    bool no_raise = type & POOL_QUOTA_FAIL_INSTEAD_OF_RAISE;
    auto base = static_cast<POOL_TYPE>(type & ~(POOL_QUOTA_FAIL_INSTEAD_OF_RAISE | POOL_RAISE_IF_ALLOCATION_FAILURE));
    ntio::verifier::check_irql_at_most(is_paged(base) ? APC_LEVEL : DISPATCH_LEVEL, api);
    PVOID p = driver_allocation(NumberOfBytes, Tag, zero, is_paged(base), caller, true, is_cache_aligned(base));
    if (!p && !no_raise) ExRaiseStatus(STATUS_INSUFFICIENT_RESOURCES);
    return p;
}
}  // namespace

PVOID ExAllocatePoolWithQuotaTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag) {
    return quota_allocation(PoolType, NumberOfBytes, Tag, false, "ExAllocatePoolWithQuotaTag",
                            __builtin_return_address(0));
}
PVOID ExAllocatePoolQuotaZero(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag) {
    return quota_allocation(PoolType, NumberOfBytes, Tag, true, "ExAllocatePoolQuotaZero", __builtin_return_address(0));
}
PVOID ExAllocatePoolQuotaUninitialized(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag) {
    return quota_allocation(PoolType, NumberOfBytes, Tag, false, "ExAllocatePoolQuotaUninitialized",
                            __builtin_return_address(0));
}

PVOID ExAllocatePoolUninitialized(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag) {
    return typed_allocation(PoolType, NumberOfBytes, Tag, false, "ExAllocatePoolUninitialized",
                            __builtin_return_address(0));
}

PVOID ExAllocatePool(POOL_TYPE PoolType, SIZE_T NumberOfBytes) {
    return typed_allocation(PoolType, NumberOfBytes, kNoneTag, false, "ExAllocatePool", __builtin_return_address(0));
}

PVOID ExAllocatePool2(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag) {
    const POOL_FLAGS kinds = POOL_FLAG_NON_PAGED | POOL_FLAG_PAGED | POOL_FLAG_NON_PAGED_EXECUTE;
    POOL_FLAGS kind = Flags & kinds;
    // Exactly one pool kind is required; a zero tag is invalid (as documented for ExAllocatePool2).
    if ((kind != POOL_FLAG_NON_PAGED && kind != POOL_FLAG_PAGED && kind != POOL_FLAG_NON_PAGED_EXECUTE) || Tag == 0) {
        ntio::verifier::report(ntio::verifier::Check::BAD_POOL_CALLER,
                                   fmt::format("ExAllocatePool2(flags={:#x}, tag={:#x}): need exactly one of "
                                               "POOL_FLAG_NON_PAGED/PAGED and a non-zero tag",
                                               Flags, Tag));
        return nullptr;
    }
    bool paged = kind == POOL_FLAG_PAGED;
    ntio::verifier::check_irql_at_most(paged ? APC_LEVEL : DISPATCH_LEVEL, "ExAllocatePool2");
    void* p = driver_allocation(NumberOfBytes, Tag, !(Flags & POOL_FLAG_UNINITIALIZED), paged,
                                __builtin_return_address(0), !(Flags & POOL_FLAG_RAISE_ON_FAILURE),
                                Flags & POOL_FLAG_CACHE_ALIGNED);
    if (!p && (Flags & POOL_FLAG_RAISE_ON_FAILURE))
        ntio::ex::raise_for_failed_allocation("ExAllocatePool2", "POOL_FLAG_RAISE_ON_FAILURE");
    return p;
}

VOID ExFreePoolWithTag(PVOID P, ULONG Tag) {
    ntio::verifier::check_irql_at_most(DISPATCH_LEVEL, "ExFreePoolWithTag");
    sys().pool.free(P, Tag, true, "ExFreePoolWithTag");
}

// ExAllocatePool2's partner: the tag is checked as ExFreePoolWithTag checks it; extended
// parameters (secure pool) do not exist here, so a call that passes them is refused.
VOID ExFreePool2(PVOID P, ULONG Tag, PCPOOL_EXTENDED_PARAMETER ExtendedParameters, ULONG ExtendedParametersCount) {
    ntio::verifier::check_irql_at_most(DISPATCH_LEVEL, "ExFreePool2");
    if (ExtendedParameters || ExtendedParametersCount) {
        ntio::verifier::report(ntio::verifier::Check::InvalidParameter,
                               fmt::format("ExFreePool2({}): extended parameters (secure pool) are not supported; "
                                           "the block was not freed",
                                           P));
        return;
    }
    sys().pool.free(P, Tag, true, "ExFreePool2");
}

// S-DRT-3: the only runtime flag is the NX opt-in, which ntio's pool already satisfies
// (heap memory is never executable on Linux), so accepting it is the whole of the work.
VOID ExInitializeDriverRuntime(ULONG RuntimeFlags) {
    if (RuntimeFlags & ~ULONG(DrvRtPoolNxOptIn))
        ntio::verifier::report(ntio::verifier::Check::InvalidParameter,
                               fmt::format("ExInitializeDriverRuntime: unknown runtime flags {:#x}",
                                           RuntimeFlags & ~ULONG(DrvRtPoolNxOptIn)));
}

VOID ExFreePool(PVOID P) {
    ntio::verifier::check_irql_at_most(DISPATCH_LEVEL, "ExFreePool");
    sys().pool.free(P, 0, false, "ExFreePool");
}

}  // extern "C"
