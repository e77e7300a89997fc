// IRQL and spin locks: S-KE-1 (levels and nesting), S-KE-2 (IRQL of callbacks),
// S-KE-20 (spin locks), and PAGED_CODE().
#include <cfenv>

#include "test_support.hpp"

namespace {

using ntio::testing::VirtualTimeTest;
class KeIrql : public VirtualTimeTest {};

// KeSaveFloatingPointState gives the caller a fresh default environment and
// KeRestoreFloatingPointState puts the caller's back (a driver shared with x86 code calls
// them; they were missing, so such a driver did not compile).
TEST_F(KeIrql, FloatingPointStateIsSavedAndRestored) {
    ASSERT_EQ(fesetround(FE_UPWARD), 0);
    KFLOATING_SAVE save;
    ASSERT_EQ(KeSaveFloatingPointState(&save), STATUS_SUCCESS);
    EXPECT_EQ(fegetround(), FE_TONEAREST);  // the fresh context's rounding
    EXPECT_EQ(KeRestoreFloatingPointState(&save), STATUS_SUCCESS);
    EXPECT_EQ(fegetround(), FE_UPWARD);
    fesetround(FE_TONEAREST);
}

TEST_F(KeIrql, S_KE_1_RaiseAndLowerNest) {
    EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    KIRQL a, b;
    KeRaiseIrql(APC_LEVEL, &a);
    KeRaiseIrql(DISPATCH_LEVEL, &b);
    EXPECT_EQ(a, PASSIVE_LEVEL);
    EXPECT_EQ(b, APC_LEVEL);
    EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KeLowerIrql(b);
    KeLowerIrql(a);
    EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

TEST_F(KeIrql, S_KE_1_RaisingToALowerLevelIsADriverBug) {
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    uint64_t before = ntio::driver_bug_count();
    KIRQL ignored;
    KeRaiseIrql(APC_LEVEL, &ignored);
    EXPECT_EQ(ntio::driver_bug_count(), before + 1);
    KeLowerIrql(PASSIVE_LEVEL);
    KeLowerIrql(DISPATCH_LEVEL);  // lowering "up" is a bug too
    EXPECT_EQ(ntio::driver_bug_count(), before + 2);
    KeLowerIrql(PASSIVE_LEVEL);
}

TEST_F(KeIrql, S_KE_1_IrqlIsPerThread) {
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    KIRQL seen = 0xff;
    HANDLE t = ntio::testing::spawn([&] { seen = KeGetCurrentIrql(); });
    KeLowerIrql(old);
    ntio::testing::join(t);
    EXPECT_EQ(seen, PASSIVE_LEVEL);
}

TEST_F(KeIrql, S_KE_2_SystemThreadsStartAtPassiveLevel) {
    static KIRQL seen;
    seen = 0xff;
    HANDLE h;
    ASSERT_EQ(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, nullptr, nullptr, nullptr,
                                   [](PVOID) { seen = KeGetCurrentIrql(); }, nullptr),
              STATUS_SUCCESS);
    EXPECT_EQ(ZwWaitForSingleObject(h, FALSE, nullptr), STATUS_SUCCESS);
    ZwClose(h);
    EXPECT_EQ(seen, PASSIVE_LEVEL);
}

TEST_F(KeIrql, S_KE_20_SpinLockRaisesToDispatchAndRestores) {
    KSPIN_LOCK lock;
    KeInitializeSpinLock(&lock);
    KIRQL old;
    KeAcquireSpinLock(&lock, &old);
    EXPECT_EQ(old, PASSIVE_LEVEL);
    EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    EXPECT_FALSE(KeTestSpinLock(&lock));
    KeReleaseSpinLock(&lock, old);
    EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    EXPECT_TRUE(KeTestSpinLock(&lock));

    KeRaiseIrql(DISPATCH_LEVEL, &old);
    KeAcquireSpinLockAtDpcLevel(&lock);
    EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    EXPECT_FALSE(KeTryToAcquireSpinLockAtDpcLevel(&lock));
    KeReleaseSpinLockFromDpcLevel(&lock);
    EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KeLowerIrql(old);
}

TEST_F(KeIrql, S_KE_20_ReleasingALockNotHeldIsReported) {
    KSPIN_LOCK lock;
    KeInitializeSpinLock(&lock);
    uint64_t before = ntio::driver_bug_count();
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    KeReleaseSpinLock(&lock, old);
    EXPECT_EQ(ntio::driver_bug_count(), before + 1);
    EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

TEST_F(KeIrql, S_KE_20_SpinLocksExcludeAcrossThreads) {
    // (Queued and ordinary acquisition must not be mixed on one lock, as on Windows.)
    KSPIN_LOCK lock;
    KeInitializeSpinLock(&lock);
    long counter = 0;
    HANDLE threads[4];
    for (auto& h : threads)
        h = ntio::testing::spawn([&] {
            for (int i = 0; i < 20000; ++i) {
                KIRQL old;
                KeAcquireSpinLock(&lock, &old);
                ++counter;
                KeReleaseSpinLock(&lock, old);
            }
        });
    for (HANDLE h : threads) ntio::testing::join(h);
    EXPECT_EQ(counter, 80000);
}

TEST_F(KeIrql, S_KE_20_QueuedSpinLocksAreExclusive) {
    KSPIN_LOCK lock;
    KeInitializeSpinLock(&lock);
    long counter = 0;
    HANDLE threads[3];
    for (auto& h : threads)
        h = ntio::testing::spawn([&] {
            for (int i = 0; i < 20000; ++i) {
                KLOCK_QUEUE_HANDLE q;
                KeAcquireInStackQueuedSpinLock(&lock, &q);
                EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
                ++counter;
                KeReleaseInStackQueuedSpinLock(&q);
            }
        });
    for (HANDLE h : threads) ntio::testing::join(h);
    EXPECT_EQ(counter, 60000);
    EXPECT_EQ(lock, 0u);
}

TEST_F(KeIrql, PagedCodeAtDispatchLevelIsReported) {
    uint64_t before = ntio::driver_bug_count();
    PAGED_CODE();
    EXPECT_EQ(ntio::driver_bug_count(), before);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    PAGED_CODE();
    KeLowerIrql(old);
    EXPECT_EQ(ntio::driver_bug_count(), before + 1);
}

}  // namespace
