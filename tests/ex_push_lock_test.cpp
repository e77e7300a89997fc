// Push locks (S-PL-1..4, docs/design.md): shared and exclusive holds, waiters that block
// in the dispatcher (the virtual clock moves meanwhile), writers first, misuse reports,
// and a real-time race for ThreadSanitizer.
#include <atomic>
#include <vector>

#include "ntio/gtest.hpp"
#include "test_support.hpp"

namespace {

using ntio::testing::join;
using ntio::testing::relative_ms;
using ntio::testing::spawn;

class PushLocks : public ntio::testing::DriverTest {
protected:
    EX_PUSH_LOCK lock = 0x55;  // ExInitializePushLock must set it
    void SetUp() override { ExInitializePushLock(&lock); }
    static void delay(LONGLONG ms) {
        LARGE_INTEGER d = relative_ms(ms);
        KeDelayExecutionThread(KernelMode, FALSE, &d);
    }
};

// S-PL-1: pointer-sized; one exclusive holder or many shared ones; the Try forms do not
// wait; an unowned lock is all zero.
TEST_F(PushLocks, S_PL_1_SharedHoldersCoexistAndExcludeAWriter) {
    static_assert(sizeof(EX_PUSH_LOCK) == sizeof(void*), "a push lock is pointer-sized");
    EXPECT_EQ(lock, 0u);
    KeEnterCriticalRegion();
    ExAcquirePushLockShared(&lock);
    std::atomic<bool> shared_ok{false}, exclusive_ok{true};
    HANDLE other = spawn([&] {
        KeEnterCriticalRegion();
        shared_ok = ExTryAcquirePushLockShared(&lock);
        if (shared_ok) ExReleasePushLockShared(&lock);
        exclusive_ok = ExTryAcquirePushLockExclusive(&lock);
        KeLeaveCriticalRegion();
    });
    join(other);
    EXPECT_TRUE(shared_ok) << "readers share";
    EXPECT_FALSE(exclusive_ok) << "a reader keeps a writer out";
    ExReleasePushLockShared(&lock);
    EXPECT_EQ(lock, 0u);

    ExAcquirePushLockExclusive(&lock);
    other = spawn([&] {
        KeEnterCriticalRegion();
        shared_ok = ExTryAcquirePushLockSharedEx(&lock, EX_DEFAULT_PUSH_LOCK_FLAGS);
        exclusive_ok = ExTryAcquirePushLockExclusiveEx(&lock, EX_DEFAULT_PUSH_LOCK_FLAGS);
        KeLeaveCriticalRegion();
    });
    join(other);
    EXPECT_FALSE(shared_ok) << "a writer keeps readers out";
    EXPECT_FALSE(exclusive_ok);
    ExReleasePushLockExclusive(&lock);
    EXPECT_EQ(lock, 0u);
    KeLeaveCriticalRegion();
}

// S-PL-2: a waiter blocks in the dispatcher, so the virtual clock moves while the holder
// sleeps, and it gets the lock when the holder lets go.
TEST_F(PushLocks, S_PL_2_AWaiterBlocksAndTheClockMoves) {
    KeEnterCriticalRegion();
    ExAcquirePushLockExclusiveEx(&lock, 0);
    std::atomic<int64_t> writer_at{-1}, reader_at{-1};
    HANDLE writer = spawn([&] {
        KeEnterCriticalRegion();
        ExAcquirePushLockExclusive(&lock);
        writer_at = now_ms();
        delay(300);
        ExReleasePushLockExclusive(&lock);
        KeLeaveCriticalRegion();
    });
    HANDLE reader = spawn([&] {
        KeEnterCriticalRegion();
        ExAcquirePushLockSharedEx(&lock, 0);
        reader_at = now_ms();
        ExReleasePushLockSharedEx(&lock, 0);
        KeLeaveCriticalRegion();
    });
    int64_t t0 = now_ms();
    delay(1000);  // both wait meanwhile: time can move only if they count as blocked
    EXPECT_EQ(writer_at.load(), -1);
    EXPECT_EQ(reader_at.load(), -1);
    ExReleasePushLockExclusiveEx(&lock, 0);
    join(writer);
    join(reader);
    // Both compete when the lock is let go at +1000: the writer gets it then (the reader
    // holds it for no time if it is first), the reader then or after the writer's 300 ms.
    EXPECT_EQ(writer_at.load() - t0, 1000);
    int64_t reader_after = reader_at.load() - t0;
    EXPECT_TRUE(reader_after == 1000 || reader_after == 1300) << reader_after;
    EXPECT_EQ(lock, 0u);
    KeLeaveCriticalRegion();
}

// S-PL-3: once a writer waits, new readers wait behind it.
TEST_F(PushLocks, S_PL_3_AWaitingWriterHoldsBackNewReaders) {
    KeEnterCriticalRegion();
    ExAcquirePushLockShared(&lock);
    std::atomic<int64_t> writer_at{-1};
    HANDLE writer = spawn([&] {
        KeEnterCriticalRegion();
        ExAcquirePushLockExclusive(&lock);
        writer_at = now_ms();
        delay(200);
        ExReleasePushLockExclusive(&lock);
        KeLeaveCriticalRegion();
    });
    int64_t t0 = now_ms();
    delay(100);
    EXPECT_FALSE(ExTryAcquirePushLockShared(&lock)) << "a writer waits: no new reader";
    std::atomic<int64_t> reader_at{-1};
    HANDLE reader = spawn([&] {
        KeEnterCriticalRegion();
        ExAcquirePushLockShared(&lock);
        reader_at = now_ms();
        ExReleasePushLockShared(&lock);
        KeLeaveCriticalRegion();
    });
    delay(400);
    ExReleasePushLockShared(&lock);
    join(writer);
    join(reader);
    EXPECT_EQ(writer_at.load() - t0, 500);
    EXPECT_GE(reader_at.load() - t0, 500);
    KeLeaveCriticalRegion();
}

// S-PL-4: what the verifier reports (PushLockMisuse), and that a bad release changes
// nothing.
TEST_F(PushLocks, S_PL_4_MisuseIsReported) {
    EXPECT_DRIVER_BUG("PushLockMisuse", ExAcquirePushLockExclusive(&lock));  // APCs on
    {
        auto bad = verifier.expect("PushLockMisuse");
        ExReleasePushLockShared(&lock);  // held exclusive, not shared
        EXPECT_EQ(bad.reports().size(), 1u);
        EXPECT_NE(lock, 0u) << "a wrong release changes nothing";
    }
    ExReleasePushLockExclusive(&lock);
    EXPECT_EQ(lock, 0u);
    EXPECT_DRIVER_BUG("PushLockMisuse", ExReleasePushLockExclusive(&lock));  // not held
    EXPECT_EQ(lock, 0u);
    EXPECT_DRIVER_BUG("PushLockMisuse", ExReleasePushLockShared(&lock));
    EXPECT_EQ(lock, 0u);
    KeEnterCriticalRegion();
    EXPECT_DRIVER_BUG("PushLockMisuse", ExAcquirePushLockSharedEx(&lock, 1));  // flags
    ExReleasePushLockShared(&lock);
    KeLeaveCriticalRegion();
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);  // APC_LEVEL also keeps normal kernel APCs off
    ExAcquirePushLockExclusive(&lock);
    ExReleasePushLockExclusive(&lock);
    KeLowerIrql(old);
    KeEnterGuardedRegion();  // and so does a guarded region
    ExAcquirePushLockShared(&lock);
    ExReleasePushLockShared(&lock);
    KeLeaveGuardedRegion();
    EXPECT_EQ(lock, 0u);
}

// S-PL-1..3 under contention, in real time: a writer is alone, readers never see one.
class PushLockRace : public ntio::testing::DriverTest {
protected:
    static ntio::Options real_time() {
        ntio::Options o = verified_options();
        o.clock = ntio::Clock::real;
        return o;
    }
    PushLockRace() : DriverTest(real_time()) {}
};

TEST_F(PushLockRace, S_PL_1_S_PL_2_ManyThreadsKeepTheLockConsistent) {
    constexpr int kThreads = 4, kIterations = 20000;
    EX_PUSH_LOCK lock;
    ExInitializePushLock(&lock);
    long counter = 0;
    int writers_inside = 0;  // read and written under the lock only
    std::atomic<int> readers_inside{0}, violations{0};
    std::vector<HANDLE> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.push_back(spawn([&, t] {
            KeEnterCriticalRegion();
            for (int i = 0; i < kIterations; ++i) {
                if ((i + t) % 4 == 0) {
                    ExAcquirePushLockExclusive(&lock);
                    if (++writers_inside != 1 || readers_inside.load() != 0) ++violations;
                    ++counter;
                    --writers_inside;
                    ExReleasePushLockExclusive(&lock);
                } else {
                    ExAcquirePushLockShared(&lock);
                    ++readers_inside;
                    if (writers_inside != 0) ++violations;
                    volatile long seen = counter;
                    (void)seen;
                    --readers_inside;
                    ExReleasePushLockShared(&lock);
                }
            }
            KeLeaveCriticalRegion();
        }));
    for (HANDLE h : threads) join(h);
    EXPECT_EQ(violations.load(), 0);
    long expected = 0;
    for (int t = 0; t < kThreads; ++t)
        for (int i = 0; i < kIterations; ++i) expected += (i + t) % 4 == 0;
    EXPECT_EQ(counter, expected);
    EXPECT_EQ(lock, 0u);
}

}  // namespace
