// EX_TIMER: ExAllocateTimer, ExSetTimer, ExCancelTimer, ExDeleteTimer (docs/design.md,
// "EX_TIMER", S-EXT-1..8). Under the virtual clock, so every expiry is checked to the
// 100-ns tick.
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "ntio/gtest.hpp"
#include "ntddk.h"

namespace {

// Virtual time in 100-ns units since the runtime started.
int64_t ticks(const ntio::System& sys) { return std::chrono::duration_cast<std::chrono::nanoseconds>(sys.now()).count() / 100; }

class ExTimer : public ntio::testing::DriverTest {
protected:
    int64_t now_100ns() const { return ticks(sys); }
    void delay_ms(LONGLONG ms) {
        LARGE_INTEGER d;
        d.QuadPart = -ms * 10000;
        KeDelayExecutionThread(KernelMode, FALSE, &d);
    }
};

struct Log {
    ntio::System* sys = nullptr;
    PEX_TIMER timer = nullptr;
    std::mutex lock;
    std::vector<int64_t> at;  // 100-ns stamps of each callback
    std::vector<KIRQL> irql;
    std::atomic<int> count{0};
    KEVENT fired;
    Log() { KeInitializeEvent(&fired, SynchronizationEvent, FALSE); }
};

VOID LogCallback(PEX_TIMER Timer, PVOID Context) {
    auto* log = static_cast<Log*>(Context);
    {
        std::lock_guard g(log->lock);
        log->timer = Timer;
        log->at.push_back(ticks(*log->sys));
        log->irql.push_back(KeGetCurrentIrql());
    }
    ++log->count;
    KeSetEvent(&log->fired, IO_NO_INCREMENT, FALSE);
}

struct Deleted {
    std::atomic<int> count{0};
    KEVENT done;
    Deleted() { KeInitializeEvent(&done, NotificationEvent, FALSE); }
};

VOID DeleteCallback(PVOID Context) {
    auto* d = static_cast<Deleted*>(Context);
    ++d->count;
    KeSetEvent(&d->done, IO_NO_INCREMENT, FALSE);
}

EXT_DELETE_PARAMETERS delete_params(Deleted* d) {
    EXT_DELETE_PARAMETERS p;
    ExInitializeDeleteTimerParameters(&p);
    p.DeleteCallback = DeleteCallback;
    p.DeleteContext = d;
    return p;
}

}  // namespace

// S-EXT-2: a 1.5 ms period (15000 ticks of 100 ns, which no millisecond period can
// express) expires at exactly +1.5, +3.0, +4.5 ms, each callback at DISPATCH_LEVEL with
// the timer and its context.
TEST_F(ExTimer, S_EXT_2_PeriodOf1500MicrosecondsIsExactToTheTick) {
    Log log;
    log.sys = &sys;
    PEX_TIMER t = ExAllocateTimer(LogCallback, &log, EX_TIMER_HIGH_RESOLUTION);
    ASSERT_NE(t, nullptr);
    int64_t t0 = now_100ns();
    EXPECT_FALSE(ExSetTimer(t, -15000, 15000, nullptr));
    for (int i = 0; i < 3; ++i) KeWaitForSingleObject(&log.fired, Executive, KernelMode, FALSE, nullptr);
    EXPECT_TRUE(ExCancelTimer(t, nullptr)) << "a periodic timer stays set";
    {
        std::lock_guard g(log.lock);
        ASSERT_EQ(log.at.size(), 3u);
        EXPECT_EQ(log.at[0] - t0, 15000);
        EXPECT_EQ(log.at[1] - t0, 30000);
        EXPECT_EQ(log.at[2] - t0, 45000);
        for (KIRQL irql : log.irql) EXPECT_EQ(irql, DISPATCH_LEVEL);
        EXPECT_EQ(log.timer, t);
    }
    EXPECT_FALSE(ExDeleteTimer(t, TRUE, TRUE, nullptr)) << "nothing was set any more";
}

// S-EXT-2: a relative due time of 1234567 ticks and an absolute one (system time) both
// expire exactly when asked; the timer object itself is what a thread waits for.
TEST_F(ExTimer, S_EXT_2_RelativeAndAbsoluteDueTimesAreExactAndTheTimerIsWaitable) {
    PEX_TIMER t = ExAllocateTimer(nullptr, nullptr, 0);
    ASSERT_NE(t, nullptr);
    int64_t t0 = now_100ns();
    EXPECT_FALSE(ExSetTimer(t, -1234567, 0, nullptr));
    EXPECT_EQ(KeWaitForSingleObject(t, Executive, KernelMode, FALSE, nullptr), STATUS_SUCCESS);
    EXPECT_EQ(now_100ns() - t0, 1234567);

    LARGE_INTEGER system_time;
    KeQuerySystemTime(&system_time);
    t0 = now_100ns();
    EXPECT_FALSE(ExSetTimer(t, system_time.QuadPart + 20005, 0, nullptr));
    EXPECT_EQ(KeWaitForSingleObject(t, Executive, KernelMode, FALSE, nullptr), STATUS_SUCCESS);
    EXPECT_EQ(now_100ns() - t0, 20005);
    EXPECT_FALSE(ExDeleteTimer(t, TRUE, TRUE, nullptr));
}

// S-EXT-1: a synchronization timer (the default) satisfies one wait and resets; a
// notification timer stays signaled.
TEST_F(ExTimer, S_EXT_1_SynchronizationByDefaultNotificationOnRequest) {
    PEX_TIMER sync = ExAllocateTimer(nullptr, nullptr, EX_TIMER_NO_WAKE);
    PEX_TIMER notif = ExAllocateTimer(nullptr, nullptr, EX_TIMER_NOTIFICATION);
    ASSERT_NE(sync, nullptr);
    ASSERT_NE(notif, nullptr);
    ExSetTimer(sync, -10000, 0, nullptr);
    ExSetTimer(notif, -10000, 0, nullptr);
    EXPECT_EQ(KeWaitForSingleObject(sync, Executive, KernelMode, FALSE, nullptr), STATUS_SUCCESS);
    EXPECT_EQ(KeWaitForSingleObject(notif, Executive, KernelMode, FALSE, nullptr), STATUS_SUCCESS);
    LARGE_INTEGER zero{};
    EXPECT_EQ(KeWaitForSingleObject(sync, Executive, KernelMode, FALSE, &zero), STATUS_TIMEOUT);
    EXPECT_EQ(KeWaitForSingleObject(notif, Executive, KernelMode, FALSE, &zero), STATUS_SUCCESS);
    ExDeleteTimer(sync, TRUE, TRUE, nullptr);
    ExDeleteTimer(notif, TRUE, TRUE, nullptr);
}

// S-EXT-1: attributes Windows stops for are reported and give no timer.
TEST_F(ExTimer, S_EXT_1_ExclusiveOrUnknownAttributesGiveNoTimer) {
    EXPECT_DRIVER_BUG("InvalidParameter",
                      EXPECT_EQ(ExAllocateTimer(nullptr, nullptr, EX_TIMER_HIGH_RESOLUTION | EX_TIMER_NO_WAKE), nullptr));
    EXPECT_DRIVER_BUG("InvalidParameter", EXPECT_EQ(ExAllocateTimer(nullptr, nullptr, 0x100), nullptr));
}

// S-EXT-3: setting a timer that is still set replaces it and returns TRUE; setting one
// that has expired returns FALSE.
TEST_F(ExTimer, S_EXT_3_ResettingAPendingTimerCancelsItAndReturnsTrue) {
    Log log;
    log.sys = &sys;
    PEX_TIMER t = ExAllocateTimer(LogCallback, &log, 0);
    int64_t t0 = now_100ns();
    EXPECT_FALSE(ExSetTimer(t, -50000000, 0, nullptr));
    EXPECT_TRUE(ExSetTimer(t, -7000, 0, nullptr));
    KeWaitForSingleObject(&log.fired, Executive, KernelMode, FALSE, nullptr);
    delay_ms(10000);
    EXPECT_EQ(log.count, 1) << "the first due time was cancelled";
    {
        std::lock_guard g(log.lock);
        EXPECT_EQ(log.at[0] - t0, 7000);
    }
    EXPECT_FALSE(ExSetTimer(t, -7000, 0, nullptr)) << "the last one had expired";
    EXPECT_TRUE(ExDeleteTimer(t, TRUE, TRUE, nullptr));
}

// S-EXT-4: ExCancelTimer is TRUE for a set timer, which then neither signals nor calls
// back; FALSE when it was not set or had expired (and then the timer stays signaled).
TEST_F(ExTimer, S_EXT_4_CancelReturnsWhetherTheTimerWasSet) {
    Log log;
    log.sys = &sys;
    PEX_TIMER t = ExAllocateTimer(LogCallback, &log, EX_TIMER_NOTIFICATION);
    EXPECT_FALSE(ExCancelTimer(t, nullptr));
    ExSetTimer(t, -10000, 0, nullptr);
    EXPECT_TRUE(ExCancelTimer(t, nullptr));
    EXPECT_FALSE(ExCancelTimer(t, nullptr));
    delay_ms(100);
    EXPECT_EQ(log.count, 0);
    LARGE_INTEGER zero{};
    EXPECT_EQ(KeWaitForSingleObject(t, Executive, KernelMode, FALSE, &zero), STATUS_TIMEOUT);
    ExSetTimer(t, -10000, 0, nullptr);
    KeWaitForSingleObject(&log.fired, Executive, KernelMode, FALSE, nullptr);
    EXPECT_FALSE(ExCancelTimer(t, nullptr));
    EXPECT_EQ(KeWaitForSingleObject(t, Executive, KernelMode, FALSE, &zero), STATUS_SUCCESS);
    ExDeleteTimer(t, TRUE, TRUE, nullptr);
}

// S-EXT-5: what Windows bug-checks for is reported and leaves the timer as it was.
TEST_F(ExTimer, S_EXT_5_BadArgumentsAreReportedAndSetNothing) {
    PEX_TIMER t = ExAllocateTimer(nullptr, nullptr, EX_TIMER_HIGH_RESOLUTION);
    EXPECT_DRIVER_BUG("InvalidParameter", EXPECT_FALSE(ExSetTimer(t, -10000, -1, nullptr)));
    EXPECT_DRIVER_BUG("InvalidParameter", EXPECT_FALSE(ExSetTimer(t, -10000, LONGLONG(MAXLONG) + 1, nullptr)));
    LARGE_INTEGER system_time;
    KeQuerySystemTime(&system_time);
    // A high-resolution timer takes relative times only.
    EXPECT_DRIVER_BUG("InvalidParameter", EXPECT_FALSE(ExSetTimer(t, system_time.QuadPart + 10000, 0, nullptr)));
    EXT_SET_PARAMETERS p;
    ExInitializeSetTimerParameters(&p);
    p.NoWakeTolerance = -2;
    EXPECT_DRIVER_BUG("InvalidParameter", EXPECT_FALSE(ExSetTimer(t, -10000, 0, &p)));
    EXPECT_FALSE(ExCancelTimer(t, nullptr)) << "none of them set the timer";
    int dummy;
    EXPECT_DRIVER_BUG("InvalidParameter", ExCancelTimer(t, &dummy));

    // Tolerances that are allowed: the timer still expires at its due time.
    p.NoWakeTolerance = EX_TIMER_UNLIMITED_TOLERANCE;
    int64_t t0 = now_100ns();
    EXPECT_FALSE(ExSetTimer(t, -10000, 0, &p));
    KeWaitForSingleObject(t, Executive, KernelMode, FALSE, nullptr);
    EXPECT_EQ(now_100ns() - t0, 10000);
    ExDeleteTimer(t, TRUE, TRUE, nullptr);

    // A deleted timer is no timer.
    EXPECT_DRIVER_BUG("InvalidParameter", EXPECT_FALSE(ExSetTimer(t, -10000, 0, nullptr)));
}

// S-EXT-6: ExDeleteTimer(Cancel) is TRUE when it cancelled a set timer, FALSE when
// nothing was set; with Wait the delete callback has run when it returns.
TEST_F(ExTimer, S_EXT_6_DeleteCancelsAndWithWaitReturnsAfterTheDeleteCallback) {
    Log log;
    log.sys = &sys;
    Deleted deleted;
    EXT_DELETE_PARAMETERS p = delete_params(&deleted);
    PEX_TIMER t = ExAllocateTimer(LogCallback, &log, 0);
    ExSetTimer(t, -10000, 10000, nullptr);
    EXPECT_TRUE(ExDeleteTimer(t, TRUE, TRUE, &p));
    EXPECT_EQ(deleted.count, 1);
    delay_ms(100);
    EXPECT_EQ(log.count, 0);

    Deleted deleted2;
    EXT_DELETE_PARAMETERS p2 = delete_params(&deleted2);
    PEX_TIMER never_set = ExAllocateTimer(nullptr, nullptr, 0);
    EXPECT_FALSE(ExDeleteTimer(never_set, TRUE, FALSE, &p2));
    EXPECT_EQ(KeWaitForSingleObject(&deleted2.done, Executive, KernelMode, FALSE, nullptr), STATUS_SUCCESS);
    EXPECT_EQ(deleted2.count, 1);
}

namespace {
struct Slow {
    KEVENT entered;
    std::atomic<bool> finished{false};
    Slow() { KeInitializeEvent(&entered, NotificationEvent, FALSE); }
};
VOID SlowCallback(PEX_TIMER, PVOID Context) {
    auto* s = static_cast<Slow*>(Context);
    KeSetEvent(&s->entered, IO_NO_INCREMENT, FALSE);
    // Real time, during which virtual time stands still (the DPC thread counts as running).
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    s->finished = true;
}
}  // namespace

// S-EXT-6: a callback already running when ExDeleteTimer(Cancel, Wait) is called has
// finished when it returns; the cancel found nothing set (FALSE).
TEST_F(ExTimer, S_EXT_6_WaitWaitsForACallbackInProgress) {
    Slow slow;
    Deleted deleted;
    EXT_DELETE_PARAMETERS p = delete_params(&deleted);
    PEX_TIMER t = ExAllocateTimer(SlowCallback, &slow, 0);
    ExSetTimer(t, -10000, 0, nullptr);
    KeWaitForSingleObject(&slow.entered, Executive, KernelMode, FALSE, nullptr);
    EXPECT_FALSE(ExDeleteTimer(t, TRUE, TRUE, &p));
    EXPECT_TRUE(slow.finished);
    EXPECT_EQ(deleted.count, 1);
}

// S-EXT-7: deleting without Cancel leaves a set timer to expire once more (a periodic
// one too), then frees it; meanwhile set, cancel and delete do nothing and return FALSE.
TEST_F(ExTimer, S_EXT_7_DeleteWithoutCancelLetsThePendingExpiryHappenOnce) {
    Log log;
    log.sys = &sys;
    Deleted deleted;
    EXT_DELETE_PARAMETERS p = delete_params(&deleted);
    PEX_TIMER t = ExAllocateTimer(LogCallback, &log, 0);
    int64_t t0 = now_100ns();
    ExSetTimer(t, -20000, 20000, nullptr);  // 2 ms, then every 2 ms
    KeWaitForSingleObject(&log.fired, Executive, KernelMode, FALSE, nullptr);
    EXPECT_FALSE(ExDeleteTimer(t, FALSE, FALSE, &p));
    EXPECT_FALSE(ExSetTimer(t, -10, 0, nullptr)) << "disabled";
    EXPECT_FALSE(ExCancelTimer(t, nullptr)) << "disabled: the pending expiry stays";
    EXPECT_FALSE(ExDeleteTimer(t, TRUE, FALSE, nullptr)) << "a second delete does nothing";
    EXPECT_EQ(KeWaitForSingleObject(&deleted.done, Executive, KernelMode, FALSE, nullptr), STATUS_SUCCESS);
    EXPECT_EQ(deleted.count, 1);
    delay_ms(100);
    std::lock_guard g(log.lock);
    ASSERT_EQ(log.at.size(), 2u) << "one expiry after the delete, not more";
    EXPECT_EQ(log.at[0] - t0, 20000);
    EXPECT_EQ(log.at[1] - t0, 40000);
}

// S-EXT-8: Wait without Cancel is refused; Wait from the timer's own callback (at
// DISPATCH_LEVEL) is reported and deletes without waiting instead of hanging.
TEST_F(ExTimer, S_EXT_8_WaitWithoutCancelIsRefused) {
    PEX_TIMER t = ExAllocateTimer(nullptr, nullptr, 0);
    EXPECT_DRIVER_BUG("InvalidParameter", EXPECT_FALSE(ExDeleteTimer(t, FALSE, TRUE, nullptr)));
    ExSetTimer(t, -10000, 0, nullptr);
    EXPECT_TRUE(ExCancelTimer(t, nullptr)) << "the refused delete left the timer working";
    EXPECT_FALSE(ExDeleteTimer(t, TRUE, TRUE, nullptr));
}

namespace {
struct SelfDelete {
    Deleted deleted;
    EXT_DELETE_PARAMETERS params{};
    std::atomic<int> result{-1};
};
VOID SelfDeletingCallback(PEX_TIMER Timer, PVOID Context) {
    auto* s = static_cast<SelfDelete*>(Context);
    s->result = ExDeleteTimer(Timer, TRUE, TRUE, &s->params);
}
}  // namespace

TEST_F(ExTimer, S_EXT_8_WaitingDeleteFromItsOwnCallbackIsReportedNotHung) {
    auto irql = verifier.expect("IRQL_NOT_LESS_OR_EQUAL", "ExDeleteTimer");
    auto self = verifier.expect("InvalidParameter", "own callback");
    SelfDelete s;
    s.params = delete_params(&s.deleted);
    PEX_TIMER t = ExAllocateTimer(SelfDeletingCallback, &s, 0);
    ExSetTimer(t, -10000, 10000, nullptr);
    EXPECT_EQ(KeWaitForSingleObject(&s.deleted.done, Executive, KernelMode, FALSE, nullptr), STATUS_SUCCESS);
    EXPECT_EQ(s.result, TRUE) << "the periodic timer was set again when its callback ran";
    EXPECT_TRUE(irql.seen());
    EXPECT_TRUE(self.seen());
}
