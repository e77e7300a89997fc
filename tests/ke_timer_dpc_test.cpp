// KTIMER and KDPC: S-KE-13 (timers), S-KE-14 (cancel), S-KE-15 (DPCs).
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace {

using ntio::testing::relative_ms;
using ntio::testing::VirtualTimeTest;
class KeTimer : public VirtualTimeTest {};

struct DpcLog {
    KEVENT fired;
    std::atomic<int> count{0};
    std::atomic<KIRQL> irql{0xff};
    PVOID arg1 = nullptr, arg2 = nullptr;
    std::vector<int64_t> at_ms;
    ntio::System* sys = nullptr;
};

VOID LogDpc(PKDPC, PVOID ctx, PVOID a1, PVOID a2) {
    auto* log = static_cast<DpcLog*>(ctx);
    log->irql = KeGetCurrentIrql();
    log->arg1 = a1;
    log->arg2 = a2;
    log->at_ms.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(log->sys->now()).count());
    ++log->count;
    KeSetEvent(&log->fired, IO_NO_INCREMENT, FALSE);
}

TEST_F(KeTimer, S_KE_13_NotificationTimerSignalsAtDueTimeAndStaysSignaled) {
    KTIMER t;
    KeInitializeTimer(&t);
    EXPECT_FALSE(KeReadStateTimer(&t));
    int64_t t0 = now_ms();
    EXPECT_FALSE(KeSetTimer(&t, relative_ms(1500), nullptr));
    EXPECT_EQ(KeWaitForSingleObject(&t, Executive, KernelMode, FALSE, nullptr), STATUS_SUCCESS);
    EXPECT_EQ(now_ms() - t0, 1500);
    EXPECT_TRUE(KeReadStateTimer(&t));
    EXPECT_EQ(KeWaitForSingleObject(&t, Executive, KernelMode, FALSE, nullptr), STATUS_SUCCESS);
    EXPECT_EQ(now_ms() - t0, 1500);
}

TEST_F(KeTimer, S_KE_13_SynchronizationTimerSatisfiesOneWait) {
    KTIMER t;
    KeInitializeTimerEx(&t, SynchronizationTimer);
    KeSetTimer(&t, relative_ms(10), nullptr);
    EXPECT_EQ(KeWaitForSingleObject(&t, Executive, KernelMode, FALSE, nullptr), STATUS_SUCCESS);
    EXPECT_FALSE(KeReadStateTimer(&t));
}

TEST_F(KeTimer, S_KE_13_ResettingReplacesTheDueTimeAndReturnsTrue) {
    KTIMER t;
    KeInitializeTimer(&t);
    int64_t t0 = now_ms();
    EXPECT_FALSE(KeSetTimer(&t, relative_ms(5000), nullptr));
    EXPECT_TRUE(KeSetTimer(&t, relative_ms(700), nullptr));
    KeWaitForSingleObject(&t, Executive, KernelMode, FALSE, nullptr);
    EXPECT_EQ(now_ms() - t0, 700);
}

TEST_F(KeTimer, S_KE_13_PeriodicTimerQueuesItsDpcEveryPeriodUntilResetWithZero) {
    DpcLog log;
    log.sys = &sys;
    KeInitializeEvent(&log.fired, SynchronizationEvent, FALSE);
    KDPC dpc;
    KeInitializeDpc(&dpc, LogDpc, &log);
    KTIMER t;
    KeInitializeTimerEx(&t, SynchronizationTimer);
    int64_t t0 = now_ms();
    KeSetTimerEx(&t, relative_ms(1000), 250, &dpc);
    for (int i = 0; i < 4; ++i) KeWaitForSingleObject(&log.fired, Executive, KernelMode, FALSE, nullptr);
    ASSERT_EQ(log.at_ms.size(), 4u);
    EXPECT_EQ(log.at_ms[0] - t0, 1000);
    EXPECT_EQ(log.at_ms[1] - t0, 1250);
    EXPECT_EQ(log.at_ms[3] - t0, 1750);
    EXPECT_TRUE(KeSetTimerEx(&t, relative_ms(100), 0, &dpc));  // period 0 stops the periodic signalling
    KeWaitForSingleObject(&log.fired, Executive, KernelMode, FALSE, nullptr);
    LARGE_INTEGER d = relative_ms(5000);
    KeDelayExecutionThread(KernelMode, FALSE, &d);
    EXPECT_EQ(log.count, 5);
    EXPECT_EQ(sys.run_until_idle(), 0u) << "no timer left";
}

TEST_F(KeTimer, S_KE_14_CancelReturnsTrueIffSetAndSuppressesTheDpc) {
    DpcLog log;
    log.sys = &sys;
    KeInitializeEvent(&log.fired, SynchronizationEvent, FALSE);
    KDPC dpc;
    KeInitializeDpc(&dpc, LogDpc, &log);
    KTIMER t;
    KeInitializeTimer(&t);
    EXPECT_FALSE(KeCancelTimer(&t));
    KeSetTimer(&t, relative_ms(100), &dpc);
    EXPECT_TRUE(KeCancelTimer(&t));
    EXPECT_FALSE(KeCancelTimer(&t));
    LARGE_INTEGER d = relative_ms(1000);
    KeDelayExecutionThread(KernelMode, FALSE, &d);
    EXPECT_EQ(log.count, 0);
    EXPECT_FALSE(KeReadStateTimer(&t));
}

TEST_F(KeTimer, S_KE_15_DpcRunsAtDispatchLevelWithItsArguments) {
    DpcLog log;
    log.sys = &sys;
    KeInitializeEvent(&log.fired, SynchronizationEvent, FALSE);
    KDPC dpc;
    KeInitializeDpc(&dpc, LogDpc, &log);
    int a, b;
    EXPECT_TRUE(KeInsertQueueDpc(&dpc, &a, &b));
    KeWaitForSingleObject(&log.fired, Executive, KernelMode, FALSE, nullptr);
    EXPECT_EQ(log.irql, DISPATCH_LEVEL);
    EXPECT_EQ(log.arg1, &a);
    EXPECT_EQ(log.arg2, &b);
}

struct Blocker {
    std::atomic<bool> running{false}, release{false};
};

VOID BlockingDpc(PKDPC, PVOID ctx, PVOID, PVOID) {
    auto* b = static_cast<Blocker*>(ctx);
    b->running = true;
    while (!b->release) std::this_thread::yield();
}

TEST_F(KeTimer, S_KE_15_QueueingTwiceIsRefusedAndRemoveDequeues) {
    // The one DPC thread is kept busy by a first DPC, so the second stays queued.
    Blocker blocker;
    KDPC busy;
    KeInitializeDpc(&busy, BlockingDpc, &blocker);
    ASSERT_TRUE(KeInsertQueueDpc(&busy, nullptr, nullptr));
    while (!blocker.running) std::this_thread::yield();

    DpcLog log;
    log.sys = &sys;
    KeInitializeEvent(&log.fired, SynchronizationEvent, FALSE);
    KDPC dpc;
    KeInitializeDpc(&dpc, LogDpc, &log);
    EXPECT_TRUE(KeInsertQueueDpc(&dpc, nullptr, nullptr));
    EXPECT_FALSE(KeInsertQueueDpc(&dpc, nullptr, nullptr)) << "already queued";
    EXPECT_TRUE(KeRemoveQueueDpc(&dpc));
    EXPECT_FALSE(KeRemoveQueueDpc(&dpc));
    blocker.release = true;
    KeFlushQueuedDpcs();
    EXPECT_EQ(log.count, 0) << "a removed DPC never runs";
    EXPECT_TRUE(KeInsertQueueDpc(&dpc, nullptr, nullptr));
    KeWaitForSingleObject(&log.fired, Executive, KernelMode, FALSE, nullptr);
    EXPECT_EQ(log.count, 1);
}

// S-DPC-1: a DPC queued at DISPATCH_LEVEL (here under a spin lock) goes to the current
// processor's queue on Windows and cannot run before the queuing thread lowers its IRQL:
// until then a second insert is refused and a removal takes it. The real-time spin
// gives ntio's DPC thread every chance to run it early.
void spin_real_ms(int ms) {
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < until) std::this_thread::yield();
}

TEST_F(KeTimer, S_DPC_1_ADpcQueuedAtDispatchLevelWaitsUntilTheQueuerLowersItsIrql) {
    DpcLog log;
    log.sys = &sys;
    KeInitializeEvent(&log.fired, SynchronizationEvent, FALSE);
    KDPC dpc;
    KeInitializeDpc(&dpc, LogDpc, &log);
    KSPIN_LOCK lock;
    KeInitializeSpinLock(&lock);
    KIRQL old;
    KeAcquireSpinLock(&lock, &old);
    int a;
    EXPECT_TRUE(KeInsertQueueDpc(&dpc, &a, nullptr));
    spin_real_ms(50);
    EXPECT_EQ(log.count, 0) << "ran while its queuer was still at DISPATCH_LEVEL";
    EXPECT_FALSE(KeInsertQueueDpc(&dpc, nullptr, nullptr)) << "still queued: a second insert is refused";
    KeReleaseSpinLock(&lock, old);
    KeWaitForSingleObject(&log.fired, Executive, KernelMode, FALSE, nullptr);
    KeFlushQueuedDpcs();
    EXPECT_EQ(log.count, 1) << "runs once, after the release";
    EXPECT_EQ(log.arg1, &a) << "with the first insert's arguments";
}

TEST_F(KeTimer, S_DPC_1_HeldDpcsCanBeRemovedAndTheRestRunInOrder) {
    DpcLog first, second;
    for (DpcLog* l : {&first, &second}) {
        l->sys = &sys;
        KeInitializeEvent(&l->fired, NotificationEvent, FALSE);
    }
    KDPC removed, a, b;
    KeInitializeDpc(&removed, LogDpc, &first);
    KeInitializeDpc(&a, LogDpc, &first);
    KeInitializeDpc(&b, LogDpc, &second);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    EXPECT_TRUE(KeInsertQueueDpc(&removed, nullptr, nullptr));
    EXPECT_TRUE(KeInsertQueueDpc(&a, nullptr, nullptr));
    EXPECT_TRUE(KeInsertQueueDpc(&b, nullptr, nullptr));
    // Another thread may take a held DPC off, as it may from any processor's queue.
    bool taken = false;
    std::thread other([&] { taken = KeRemoveQueueDpc(&removed); });
    other.join();
    EXPECT_TRUE(taken);
    EXPECT_FALSE(KeRemoveQueueDpc(&removed));
    KeLowerIrql(old);
    KeWaitForSingleObject(&second.fired, Executive, KernelMode, FALSE, nullptr);
    KeFlushQueuedDpcs();
    EXPECT_EQ(first.count, 1) << "the removed one never ran; the other did";
    EXPECT_EQ(second.count, 1);
    ASSERT_EQ(first.at_ms.size(), 1u);
}

TEST_F(KeTimer, S_KE_15_TimerDpcGetsTheExpirySystemTime) {
    DpcLog log;
    log.sys = &sys;
    KeInitializeEvent(&log.fired, SynchronizationEvent, FALSE);
    KDPC dpc;
    KeInitializeDpc(&dpc, LogDpc, &log);
    KTIMER t;
    KeInitializeTimer(&t);
    LARGE_INTEGER start;
    KeQuerySystemTime(&start);
    KeSetTimer(&t, relative_ms(40), &dpc);
    KeWaitForSingleObject(&log.fired, Executive, KernelMode, FALSE, nullptr);
    LARGE_INTEGER expiry;
    expiry.LowPart = static_cast<ULONG>(reinterpret_cast<uintptr_t>(log.arg1));
    expiry.HighPart = static_cast<LONG>(reinterpret_cast<uintptr_t>(log.arg2));
    EXPECT_EQ(expiry.QuadPart - start.QuadPart, 40 * 10000);
}

}  // namespace
