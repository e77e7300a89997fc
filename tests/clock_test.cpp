// The clock (issue 2, point 6; style.md point 10): virtual time stands still while
// any managed thread runs and jumps to the next deadline when all of them wait.
#include <process.h>

#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace {

using ntio::testing::relative_ms;
using ntio::testing::VirtualTimeTest;
class VirtualClock : public VirtualTimeTest {};

TEST_F(VirtualClock, StandsStillWhileAThreadRuns) {
    int64_t t0 = now_ms();
    volatile uint64_t spin = 0;
    for (int i = 0; i < 2000000; ++i) spin = spin + 1;
    EXPECT_EQ(now_ms(), t0);
    EXPECT_EQ(GetTickCount64() * 1, GetTickCount64());
}

TEST_F(VirtualClock, FiveThreadsSleepingInTurnTakeExactly15Seconds) {
    HANDLE events[6];
    for (auto& e : events) e = CreateEventA(nullptr, FALSE, FALSE, nullptr);
    std::vector<HANDLE> threads;
    for (int i = 0; i < 5; ++i)
        threads.push_back(ntio::testing::spawn([&, i] {
            WaitForSingleObject(events[i], INFINITE);
            Sleep(3000);
            SetEvent(events[i + 1]);
        }));
    DWORD start = GetTickCount();
    SetEvent(events[0]);
    WaitForSingleObject(events[5], INFINITE);
    EXPECT_EQ(GetTickCount() - start, 15000u);
    for (HANDLE t : threads) ntio::testing::join(t);
    for (auto& e : events) CloseHandle(e);
}

TEST_F(VirtualClock, SystemThreadTicksFiveTimesInFiveAndAHalfSeconds) {
    struct Ticker {
        KEVENT stop;
        std::atomic<int> ticks{0};
    } t;
    KeInitializeEvent(&t.stop, NotificationEvent, FALSE);
    HANDLE h;
    ASSERT_EQ(PsCreateSystemThread(
                  &h, THREAD_ALL_ACCESS, nullptr, nullptr, nullptr,
                  [](PVOID ctx) {
                      auto* tk = static_cast<Ticker*>(ctx);
                      LARGE_INTEGER second = relative_ms(1000);
                      while (KeWaitForSingleObject(&tk->stop, Executive, KernelMode, FALSE, &second) == STATUS_TIMEOUT)
                          ++tk->ticks;
                  },
                  &t),
              STATUS_SUCCESS);
    Sleep(5500);
    KeSetEvent(&t.stop, IO_NO_INCREMENT, FALSE);
    ZwWaitForSingleObject(h, FALSE, nullptr);
    ZwClose(h);
    EXPECT_EQ(t.ticks, 5);
    EXPECT_EQ(now_ms(), 5500);
}

TEST_F(VirtualClock, AdvanceFiresEveryExpiryInOrderAndLetsThreadsRun) {
    sys.pause();  // only advance() moves time now
    std::vector<int64_t> wakes;
    HANDLE sleeper = ntio::testing::spawn([&] {
        for (int i = 0; i < 4; ++i) {
            Sleep(1000);
            wakes.push_back(now_ms());
        }
    });
    sys.run_until_idle();
    EXPECT_TRUE(wakes.empty());
    sys.advance(std::chrono::milliseconds(2500));
    EXPECT_EQ(now_ms(), 2500);
    ASSERT_EQ(wakes.size(), 2u);  // each wake set the next deadline, which advance() honoured
    EXPECT_EQ(wakes[0], 1000);
    EXPECT_EQ(wakes[1], 2000);
    sys.advance(std::chrono::milliseconds(1500));
    ASSERT_EQ(wakes.size(), 4u);
    EXPECT_EQ(wakes[3], 4000);
    sys.resume();
    ntio::testing::join(sleeper);
}

TEST_F(VirtualClock, PausedClockDoesNotMoveOnItsOwn) {
    sys.pause();
    HANDLE e = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    HANDLE waiter = ntio::testing::spawn([&] { EXPECT_EQ(WaitForSingleObject(e, 100), WAIT_TIMEOUT); });
    EXPECT_EQ(sys.run_until_idle(), 1u) << "one timeout pending";
    EXPECT_EQ(now_ms(), 0);
    sys.advance(std::chrono::milliseconds(100));
    ntio::testing::join(waiter);
    CloseHandle(e);
}

TEST_F(VirtualClock, RunUntilIdleWaitsForOtherThreadsToBlock) {
    std::atomic<int> steps{0};
    HANDLE e = CreateEventA(nullptr, FALSE, FALSE, nullptr);
    HANDLE worker = ntio::testing::spawn([&] {
        for (int i = 0; i < 3; ++i) {
            ++steps;
            WaitForSingleObject(e, INFINITE);
        }
    });
    for (int i = 1; i <= 3; ++i) {
        sys.run_until_idle();
        EXPECT_EQ(steps, i);
        SetEvent(e);
    }
    ntio::testing::join(worker);
    CloseHandle(e);
}

TEST_F(VirtualClock, ClockInhibitHoldsTimeStill) {
    HANDLE e = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    int64_t t0 = now_ms();
    {
        ntio::ClockInhibit hold;
        EXPECT_EQ(WaitForSingleObject(e, 0), WAIT_TIMEOUT);
        EXPECT_EQ(now_ms(), t0);
    }
    EXPECT_EQ(WaitForSingleObject(e, 10), WAIT_TIMEOUT);
    EXPECT_EQ(now_ms(), t0 + 10);
    CloseHandle(e);
}

// Determinism (style.md point 11): the same workload twice gives the same timestamps.
std::vector<std::string> run_workload() {
    ntio::System sys({.clock = ntio::Clock::virtual_time});
    std::vector<std::string> log;
    HANDLE lock = CreateMutexA(nullptr, FALSE, nullptr);
    auto note = [&](const std::string& what) {
        WaitForSingleObject(lock, INFINITE);
        log.push_back(std::to_string(GetTickCount64()) + " " + what);
        ReleaseMutex(lock);
    };
    std::vector<HANDLE> threads;
    for (int i = 0; i < 4; ++i)
        threads.push_back(ntio::testing::spawn([&, i] {
            for (int k = 0; k < 3; ++k) {
                Sleep(100 * (i + 1) + 7 * k);
                note("t" + std::to_string(i) + "." + std::to_string(k));
            }
        }));
    WaitForMultipleObjects(static_cast<DWORD>(threads.size()), threads.data(), TRUE, INFINITE);
    for (HANDLE t : threads) CloseHandle(t);
    CloseHandle(lock);
    std::sort(log.begin(), log.end());
    return log;
}

TEST(VirtualClockDeterminism, SameWorkloadSameTimeline) {
    auto a = run_workload();
    auto b = run_workload();
    ASSERT_EQ(a.size(), 12u);
    EXPECT_EQ(a, b);
}

TEST(RealClock, SleepTakesRealTime) {
    ntio::System sys({.clock = ntio::Clock::real});
    auto t0 = std::chrono::steady_clock::now();
    Sleep(30);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_GE(ms, 30);
    EXPECT_THROW(sys.advance(std::chrono::seconds(1)), std::logic_error);
}

TEST(RealClock, TimerFiresOnTheClockThread) {
    ntio::System sys({.clock = ntio::Clock::real});
    KTIMER t;
    KeInitializeTimer(&t);
    auto t0 = std::chrono::steady_clock::now();  // before the timer is set: its due time counts from there
    KeSetTimer(&t, relative_ms(20), nullptr);
    EXPECT_EQ(KeWaitForSingleObject(&t, Executive, KernelMode, FALSE, nullptr), STATUS_SUCCESS);
    EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(19));
}

TEST(SystemLifecycle, OnlyOneSystemAtATime) {
    ntio::System a;
    EXPECT_THROW(ntio::System b, std::logic_error);
}

}  // namespace

namespace {

// Style point 10, "refuse rather than guess": a clock that cannot move is explained.
TEST(VirtualClockStall, AManagedThreadBlockedOutsideNtioIsExplained) {
    ntio::System sys({.clock = ntio::Clock::virtual_time, .stall_warning_ms = 100});
    HANDLE e = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    HANDLE waiter = ntio::testing::spawn([&] { WaitForSingleObject(e, 1000); });
    sys.run_until_idle();
    ::testing::internal::CaptureStderr();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // blocked outside ntio, counted running
    std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("virtual clock held still"), std::string::npos) << err;
    EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(sys.now()).count(), 0);
    {
        ntio::ExternalWait outside;  // the same sleep, declared: time moves meanwhile
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ntio::testing::join(waiter);
    EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(sys.now()).count(), 1000);
    CloseHandle(e);
}

TEST(VirtualClockStall, ADeadlockIsReported) {
    ntio::System sys({.clock = ntio::Clock::virtual_time, .stall_warning_ms = 100});
    HANDLE e = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    ::testing::internal::CaptureStderr();
    HANDLE waiter = ntio::testing::spawn([&] { WaitForSingleObject(e, INFINITE); });
    {
        ntio::ExternalWait outside;
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("deadlocked"), std::string::npos) << err;
    SetEvent(e);
    ntio::testing::join(waiter);
    CloseHandle(e);
}

}  // namespace
