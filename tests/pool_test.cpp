// Executive pool: per-tag accounting and the leak report (issue 2, point 4); alignment
// (S-POOL-1..3, docs/design.md "Executive pool").
#include <cstdint>
#include <vector>

#include "ntio/gtest.hpp"
#include "test_support.hpp"

namespace {

using ntio::testing::VirtualTimeTest;
class Pool : public VirtualTimeTest {};

constexpr ULONG kTagA = 'AtsT';  // shows as "TstA"
constexpr ULONG kTagB = 'BtsT';

TEST_F(Pool, AccountingByTag) {
    void* a = ExAllocatePoolWithTag(NonPagedPoolNx, 100, kTagA);
    void* b = ExAllocatePool2(POOL_FLAG_NON_PAGED, 50, kTagA);
    void* c = ExAllocatePool2(POOL_FLAG_PAGED, 8, kTagB);
    ASSERT_TRUE(a && b && c);
    EXPECT_EQ(static_cast<unsigned char*>(b)[49], 0) << "ExAllocatePool2 zeroes";
    auto usage = sys.pool_usage();
    ASSERT_EQ(usage.size(), 2u);
    for (auto& u : usage) {
        if (u.tag == kTagA) {
            EXPECT_EQ(u.tag_text, "TstA");
            EXPECT_EQ(u.allocations, 2u);
            EXPECT_EQ(u.bytes, 150u);
        } else {
            EXPECT_EQ(u.tag, kTagB);
            EXPECT_EQ(u.allocations, 1u);
        }
    }
    ExFreePoolWithTag(a, kTagA);
    ExFreePoolWithTag(b, kTagA);
    ExFreePool(c);
    EXPECT_TRUE(sys.pool_usage().empty());
    EXPECT_EQ(sys.leak_report(), "");
}

TEST_F(Pool, LeakReportNamesTheTag) {
    void* leak = ExAllocatePoolWithTag(NonPagedPool, 64, kTagB);
    std::string report = sys.leak_report();
    EXPECT_NE(report.find("'TstB'"), std::string::npos) << report;
    EXPECT_NE(report.find("64 byte(s)"), std::string::npos) << report;
    ExFreePoolWithTag(leak, kTagB);
}

TEST_F(Pool, BadFreesAreReported) {
    void* p = ExAllocatePoolWithTag(NonPagedPool, 16, kTagA);
    uint64_t bugs = ntio::driver_bug_count(), warnings = ntio::driver_warning_count();
    ExFreePoolWithTag(p, kTagB);  // wrong tag: a warning, the memory is freed
    EXPECT_EQ(ntio::driver_warning_count(), warnings + 1);
    ExFreePoolWithTag(nullptr, kTagA);
    EXPECT_EQ(ntio::driver_bug_count(), bugs + 1);
    EXPECT_EQ(ExAllocatePool2(POOL_FLAG_NON_PAGED | POOL_FLAG_PAGED, 8, kTagA), nullptr);
    EXPECT_EQ(ExAllocatePool2(POOL_FLAG_NON_PAGED, 8, 0), nullptr);
    EXPECT_EQ(ntio::driver_bug_count(), bugs + 3);
    EXPECT_TRUE(sys.pool_usage().empty());
}

TEST_F(Pool, AllocationAboveDispatchForPagedPoolIsReported) {
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    uint64_t bugs = ntio::driver_bug_count();
    void* p = ExAllocatePoolWithTag(PagedPool, 8, kTagA);
    KeLowerIrql(old);
    EXPECT_EQ(ntio::driver_bug_count(), bugs + 1);
    ExFreePoolWithTag(p, kTagA);
}

// ---- alignment (S-POOL-1..3) ------------------------------------------------------

class PoolAlignment : public ntio::testing::DriverTest {
protected:
    static uintptr_t misalignment(const void* p, uintptr_t alignment) {
        return reinterpret_cast<uintptr_t>(p) & (alignment - 1);
    }
    uint64_t live(ULONG tag) {
        for (const auto& u : sys.pool_usage())
            if (u.tag == tag) return u.allocations;
        return 0;
    }
};

constexpr ULONG kTagAlign = 'nlAT';  // "TAln"

// S-POOL-1: a block of PAGE_SIZE bytes or more starts on a page, whichever routine and
// pool type allocates it, and all of it is the caller's (written to the end, zeroed by the
// zeroing routines).
TEST_F(PoolAlignment, S_POOL_1_BlocksOfAPageOrMoreArePageAligned) {
    for (SIZE_T bytes : {SIZE_T(PAGE_SIZE), SIZE_T(PAGE_SIZE) + 1, SIZE_T(3 * PAGE_SIZE) - 16, SIZE_T(100000)}) {
        std::vector<PVOID> blocks = {
            ExAllocatePoolWithTag(NonPagedPoolNx, bytes, kTagAlign),
            ExAllocatePoolWithTag(PagedPool, bytes, kTagAlign),
            ExAllocatePoolWithTag(NonPagedPoolCacheAligned, bytes, kTagAlign),
            ExAllocatePool2(POOL_FLAG_NON_PAGED, bytes, kTagAlign),
            ExAllocatePool2(POOL_FLAG_PAGED | POOL_FLAG_CACHE_ALIGNED, bytes, kTagAlign),
            ExAllocatePoolZero(NonPagedPoolNx, bytes, kTagAlign),
            ExAllocatePoolUninitialized(NonPagedPoolNx, bytes, kTagAlign),
            ExAllocatePoolWithTagPriority(NonPagedPoolNx, bytes, kTagAlign, LowPoolPriority),
            ExAllocatePoolWithQuotaTag(PagedPool, bytes, kTagAlign),
        };
        for (size_t i = 0; i < blocks.size(); ++i) {
            ASSERT_NE(blocks[i], nullptr) << "routine " << i << ", " << bytes << " bytes";
            EXPECT_EQ(misalignment(blocks[i], PAGE_SIZE), 0u) << "routine " << i << ", " << bytes << " bytes";
            static_cast<unsigned char*>(blocks[i])[bytes - 1] = 0xAB;
        }
        auto* zeroed = static_cast<unsigned char*>(blocks[3]);  // ExAllocatePool2 zeroes
        EXPECT_EQ(zeroed[0], 0);
        EXPECT_EQ(zeroed[bytes - 2], 0);
        EXPECT_EQ(static_cast<unsigned char*>(blocks[5])[bytes / 2], 0) << "ExAllocatePoolZero zeroes";
        EXPECT_EQ(live(kTagAlign), blocks.size());
        for (PVOID b : blocks) ExFreePoolWithTag(b, kTagAlign);
        EXPECT_EQ(live(kTagAlign), 0u);
    }
    PVOID untagged = ExAllocatePool(NonPagedPool, 2 * PAGE_SIZE);
    EXPECT_EQ(misalignment(untagged, PAGE_SIZE), 0u) << "ExAllocatePool";
    ExFreePool(untagged);
}

// S-POOL-1: the cache-aligned pool types and POOL_FLAG_CACHE_ALIGNED start each block on a
// cache line, whatever its size below a page; the other small blocks on 16 bytes.
TEST_F(PoolAlignment, S_POOL_1_CacheAlignedBlocksStartOnACacheLine) {
    std::vector<PVOID> blocks;
    for (SIZE_T bytes : {1, 8, 17, 48, 100, 1000, 4095}) {
        for (int i = 0; i < 8; ++i) {  // several of each, so that one cannot be aligned by chance
            blocks.push_back(ExAllocatePoolWithTag(NonPagedPoolCacheAligned, bytes, kTagAlign));
            blocks.push_back(ExAllocatePoolWithTag(NonPagedPoolNxCacheAligned, bytes, kTagAlign));
            blocks.push_back(ExAllocatePoolWithTag(PagedPoolCacheAligned, bytes, kTagAlign));
            blocks.push_back(ExAllocatePool2(POOL_FLAG_NON_PAGED | POOL_FLAG_CACHE_ALIGNED, bytes, kTagAlign));
            blocks.push_back(ExAllocatePoolZero(NonPagedPoolNxCacheAligned, bytes, kTagAlign));
        }
    }
    for (PVOID b : blocks) {
        ASSERT_NE(b, nullptr);
        EXPECT_EQ(misalignment(b, SYSTEM_CACHE_ALIGNMENT_SIZE), 0u) << b;
    }
    std::vector<PVOID> small;
    for (SIZE_T bytes = 1; bytes < PAGE_SIZE; bytes += 37)
        small.push_back(ExAllocatePoolWithTag(NonPagedPoolNx, bytes, kTagAlign));
    for (PVOID b : small) {
        ASSERT_NE(b, nullptr);
        EXPECT_EQ(misalignment(b, MEMORY_ALLOCATION_ALIGNMENT), 0u) << b;
    }
    EXPECT_EQ(live(kTagAlign), blocks.size() + small.size());
    for (PVOID b : blocks) ExFreePoolWithTag(b, kTagAlign);
    for (PVOID b : small) ExFreePool(b);
    EXPECT_EQ(live(kTagAlign), 0u);
}

// S-POOL-1: an aligned block is pool like any other: a second free, a free with the wrong
// tag and a free of a pointer inside it are reported as for a small block, and one left
// allocated shows in the leak report.
TEST_F(PoolAlignment, S_POOL_1_AlignedBlocksKeepThePoolChecks) {
    PVOID cached = ExAllocatePoolWithTag(NonPagedPoolCacheAligned, 200, kTagAlign);
    PVOID page = ExAllocatePool2(POOL_FLAG_NON_PAGED, PAGE_SIZE, kTagAlign);
    PVOID large = ExAllocatePool2(POOL_FLAG_NON_PAGED, 256 * 1024, kTagAlign);  // beyond the quarantine's size
    ASSERT_TRUE(cached && page && large);
    EXPECT_DRIVER_BUG("BAD_POOL_CALLER", ExFreePool(static_cast<char*>(page) + 64));  // not a block's start
    EXPECT_DRIVER_WARNING("PoolTagMismatch", ExFreePoolWithTag(cached, kTagA));
    EXPECT_DRIVER_BUG("BAD_POOL_CALLER", ExFreePoolWithTag(cached, kTagAlign));  // freed twice
    EXPECT_NE(sys.leak_report().find("'TAln'"), std::string::npos) << "the page-aligned blocks are still live";
    ExFreePoolWithTag(page, kTagAlign);
    EXPECT_DRIVER_BUG("BAD_POOL_CALLER", ExFreePoolWithTag(page, kTagAlign));
    ExFreePoolWithTag(large, kTagAlign);
    EXPECT_EQ(live(kTagAlign), 0u);
    EXPECT_EQ(sys.leak_report(), "");
}

// S-POOL-2: the recommended alignment for shared data is the cache line the pool aligns
// to, and DECLSPEC_CACHEALIGN types have it.
TEST_F(PoolAlignment, S_POOL_2_RecommendedSharedDataAlignmentIsThePoolsCacheLine) {
    EXPECT_EQ(KeGetRecommendedSharedDataAlignment(), ULONG(SYSTEM_CACHE_ALIGNMENT_SIZE));
#if defined(__x86_64__)
    EXPECT_EQ(SYSTEM_CACHE_ALIGNMENT_SIZE, 64);
#endif
    EXPECT_EQ(alignof(NPAGED_LOOKASIDE_LIST), size_t(SYSTEM_CACHE_ALIGNMENT_SIZE));
    auto* list = static_cast<NPAGED_LOOKASIDE_LIST*>(
        ExAllocatePoolWithTag(NonPagedPoolNxCacheAligned, sizeof(NPAGED_LOOKASIDE_LIST), kTagAlign));
    ASSERT_NE(list, nullptr);
    EXPECT_EQ(misalignment(list, KeGetRecommendedSharedDataAlignment()), 0u);
    ExInitializeNPagedLookasideList(list, nullptr, nullptr, POOL_NX_ALLOCATION, 32, kTagAlign, 0);
    ExDeleteNPagedLookasideList(list);
    ExFreePoolWithTag(list, kTagAlign);
}

// S-POOL-3: POOL_RAISE_IF_ALLOCATION_FAILURE makes a failed allocation raise; with no
// __try on the thread (C++ code) the verifier reports it and the call returns NULL (the
// raise itself: compat.seh_c_test). Fault injection never fails such an allocation.
TEST_F(PoolAlignment, S_POOL_3_AFailedAllocationThatMustRaiseIsReported) {
    PVOID p = reinterpret_cast<PVOID>(1);
    auto raising = static_cast<POOL_TYPE>(NonPagedPoolNx | POOL_RAISE_IF_ALLOCATION_FAILURE);
    EXPECT_DRIVER_BUG("PoolAllocationRaised", p = ExAllocatePoolWithTag(raising, ~SIZE_T(0), kTagAlign));
    EXPECT_EQ(p, nullptr);
    PVOID fine = ExAllocatePoolWithTag(static_cast<POOL_TYPE>(PagedPool | POOL_RAISE_IF_ALLOCATION_FAILURE), 32,
                                       kTagAlign);
    ASSERT_NE(fine, nullptr) << "the flag changes nothing when the allocation succeeds";
    ExFreePoolWithTag(fine, kTagAlign);
}

}  // namespace
