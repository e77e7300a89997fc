// Executive pool: malloc with a header that records tag, size and a magic
// word (catches double frees and frees with the wrong tag), and per-tag live
// counters in a fixed open-addressed table (no lock, no allocation).
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
    TagSlot m_slots[kSlots];
    std::atomic<int64_t> m_untracked{0};
};

}  // namespace ntio::ex
