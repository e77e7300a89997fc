// Executive pool: per-tag accounting and the leak report (issue 2, point 4).
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

}  // namespace
