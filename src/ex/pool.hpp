// Executive pool: malloc with a header that records tag, size and a magic
// word (catches double frees and frees with the wrong tag), and per-tag live
// counters in a fixed open-addressed table (no lock, no allocation). Freed blocks
// wait in a small quarantine before going back to the C library, so that a double
// free within the last kQuarantine frees finds the freed magic in memory nobody
// else was given.
//
// Alignment (S-POOL-1): a block is 16-aligned, as the header before it is a multiple of 16 bytes
// and malloc's blocks are 16-aligned; a block of a page or more is page-aligned, a
// cache-aligned one aligned to the cache line. Those two come from malloc with room to
// slide the body up to the boundary, the header just before it; the header records how
// far the C library's block begins before it, so that a free needs no branch to find it.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "ntio/ntio.hpp"

namespace ntio::ex {

// A failed allocation that was asked to raise (POOL_RAISE_IF_ALLOCATION_FAILURE,
// POOL_FLAG_RAISE_ON_FAILURE, a RAISE_ON_FAIL lookaside list): raises
// STATUS_INSUFFICIENT_RESOURCES to the caller's __try, or, with no frame to take it,
// reports PoolAllocationRaised and returns (the call then returns NULL).
// `flag` names what asked for it, for the report.
void raise_for_failed_allocation(const char* api, const char* flag);

class Pool {
public:
    // `owner`: the driver charged with the block (verifier/drivers.hpp), 0 for none.
    // `cache_aligned`: a *CacheAligned pool type or POOL_FLAG_CACHE_ALIGNED.
    void* allocate(size_t bytes, uint32_t tag, bool zero, bool paged, uint32_t owner = 0,
                   bool cache_aligned = false);
    void free(void* p, uint32_t tag, bool check_tag, const char* api);
    std::vector<PoolTagUsage> usage() const;
    Pool() = default;
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;
    ~Pool();
    static std::string tag_text(uint32_t tag);

private:
    struct TagSlot {
        std::atomic<uint32_t> tag{0};
        std::atomic<uint32_t> used{0};  // slot claimed
        std::atomic<int64_t> allocations{0};
        std::atomic<int64_t> bytes{0};
    };
    static constexpr size_t kSlots = 512;
    TagSlot* slot_for(uint32_t tag);
    void* allocate_aligned(size_t bytes, size_t alignment, bool zero);  // the header's block
    void account(void* header, size_t bytes, uint32_t tag, bool paged, uint32_t owner);
    static void release_quarantined(void* block);  // a block leaving the quarantine
    TagSlot m_slots[kSlots];
    std::atomic<int64_t> m_untracked{0};
    // Blocks of at most kQuarantineBlock bytes, freed but not yet given back: a ring
    // where each free displaces (and really frees) the block freed kQuarantine frees ago.
    static constexpr size_t kQuarantine = 256;
    static constexpr size_t kQuarantineBlock = 64 * 1024;
    std::atomic<void*> m_quarantine[kQuarantine]{};
    std::atomic<uint32_t> m_quarantine_next{0};
};

}  // namespace ntio::ex
