// ERESOURCE (S-KE-19): recursion, shared/exclusive exclusion, exclusive waiters
// first, misuse reports.
#include <vector>

#include "test_support.hpp"

namespace {

using ntio::testing::VirtualTimeTest;
class ExResource : public VirtualTimeTest {
protected:
    ERESOURCE r;
    void SetUp() override { ASSERT_EQ(ExInitializeResourceLite(&r), STATUS_SUCCESS); }
    void TearDown() override { ExDeleteResourceLite(&r); }
};

TEST_F(ExResource, S_KE_19_ExclusiveIsRecursiveAndMayAlsoTakeShared) {
    KeEnterCriticalRegion();
    EXPECT_TRUE(ExAcquireResourceExclusiveLite(&r, TRUE));
    EXPECT_TRUE(ExAcquireResourceExclusiveLite(&r, TRUE));
    EXPECT_TRUE(ExAcquireResourceSharedLite(&r, TRUE));  // counts as recursion
    EXPECT_TRUE(ExIsResourceAcquiredExclusiveLite(&r));
    EXPECT_EQ(ExIsResourceAcquiredSharedLite(&r), 3u);
    HANDLE other = ntio::testing::spawn([&] {
        KeEnterCriticalRegion();
        EXPECT_FALSE(ExAcquireResourceSharedLite(&r, FALSE));
        EXPECT_FALSE(ExAcquireResourceExclusiveLite(&r, FALSE));
        KeLeaveCriticalRegion();
    });
    ntio::testing::join(other);
    for (int i = 0; i < 3; ++i) ExReleaseResourceLite(&r);
    EXPECT_FALSE(ExIsResourceAcquiredExclusiveLite(&r));
    KeLeaveCriticalRegion();
}

TEST_F(ExResource, S_KE_19_SharedOwnersCoexistAndExcludeWriters) {
    KeEnterCriticalRegion();
    EXPECT_TRUE(ExAcquireResourceSharedLite(&r, TRUE));
    std::atomic<bool> reader_in{false}, writer_in{false};
    HANDLE reader = ntio::testing::spawn([&] {
        KeEnterCriticalRegion();
        EXPECT_TRUE(ExAcquireResourceSharedLite(&r, FALSE));
        reader_in = true;
        ExReleaseResourceLite(&r);
        KeLeaveCriticalRegion();
    });
    ntio::testing::join(reader);
    EXPECT_TRUE(reader_in);
    HANDLE writer = ntio::testing::spawn([&] {
        KeEnterCriticalRegion();
        EXPECT_TRUE(ExAcquireResourceExclusiveLite(&r, TRUE));
        writer_in = true;
        ExReleaseResourceLite(&r);
        KeLeaveCriticalRegion();
    });
    sys.run_until_idle();
    EXPECT_FALSE(writer_in) << "a shared owner keeps the writer out";
    ExReleaseResourceLite(&r);
    ntio::testing::join(writer);
    EXPECT_TRUE(writer_in);
    KeLeaveCriticalRegion();
}

TEST_F(ExResource, S_KE_19_WaitingExclusiveRequestsGoBeforeNewSharedOnes) {
    KeEnterCriticalRegion();
    EXPECT_TRUE(ExAcquireResourceSharedLite(&r, TRUE));
    std::vector<std::string> order;
    FAST_MUTEX log_lock;
    ExInitializeFastMutex(&log_lock);
    auto note = [&](const char* who) {
        ExAcquireFastMutex(&log_lock);
        order.push_back(who);
        ExReleaseFastMutex(&log_lock);
    };
    HANDLE writer = ntio::testing::spawn([&] {
        KeEnterCriticalRegion();
        ExAcquireResourceExclusiveLite(&r, TRUE);
        note("writer");
        Sleep(10);
        ExReleaseResourceLite(&r);
        KeLeaveCriticalRegion();
    });
    sys.run_until_idle();  // the writer waits behind our shared hold
    HANDLE reader = ntio::testing::spawn([&] {
        KeEnterCriticalRegion();
        EXPECT_FALSE(ExAcquireResourceSharedLite(&r, FALSE)) << "a new reader yields to the waiting writer";
        ExAcquireResourceSharedLite(&r, TRUE);
        note("reader");
        ExReleaseResourceLite(&r);
        KeLeaveCriticalRegion();
    });
    sys.run_until_idle();
    ExReleaseResourceLite(&r);
    ntio::testing::join(writer);
    ntio::testing::join(reader);
    ASSERT_EQ(order.size(), 2u);
    EXPECT_EQ(order[0], "writer");
    EXPECT_EQ(order[1], "reader");
    KeLeaveCriticalRegion();
}

TEST_F(ExResource, S_KE_19_MisuseIsReported) {
    uint64_t before = ntio::driver_bug_count();
    EXPECT_TRUE(ExAcquireResourceExclusiveLite(&r, TRUE));  // outside a critical region
    EXPECT_EQ(ntio::driver_bug_count(), before + 1);
    ExReleaseResourceLite(&r);
    ExReleaseResourceLite(&r);  // not owned any more
    EXPECT_EQ(ntio::driver_bug_count(), before + 2);
}

TEST_F(ExResource, S_KE_19_ManyThreadsStayConsistent) {
    long shared_value = 0;
    HANDLE threads[4];
    for (int n = 0; n < 4; ++n)
        threads[n] = ntio::testing::spawn([&, n] {
            KeEnterCriticalRegion();
            for (int i = 0; i < 500; ++i) {
                if ((i + n) % 3 == 0) {
                    ExAcquireResourceExclusiveLite(&r, TRUE);
                    ++shared_value;
                    ExReleaseResourceLite(&r);
                } else {
                    ExAcquireResourceSharedLite(&r, TRUE);
                    volatile long v = shared_value;
                    (void)v;
                    ExReleaseResourceLite(&r);
                }
            }
            KeLeaveCriticalRegion();
        });
    for (HANDLE h : threads) ntio::testing::join(h);
    long expected = 0;
    for (int n = 0; n < 4; ++n)
        for (int i = 0; i < 500; ++i) expected += (i + n) % 3 == 0;
    EXPECT_EQ(shared_value, expected);
}

}  // namespace
