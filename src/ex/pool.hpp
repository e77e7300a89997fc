// Executive pool: malloc with a header that records tag, size and a magic
// word (catches double frees and frees with the wrong tag), and per-tag live
// counters in a fixed open-addressed table (no lock, no allocation). Freed blocks
// wait in a small quarantine before going back to the C library, so that a double
// free within the last kQuarantine frees finds the freed magic in memory nobody
// else was given.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "ntio/ntio.hpp"

namespace ntio::ex {

class Pool {
public:
    // `owner`: the driver charged with the block (verifier/drivers.hpp), 0 for none.
    void* allocate(size_t bytes, uint32_t tag, bool zero, bool paged, uint32_t owner = 0);
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
