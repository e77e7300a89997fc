// Locks in the application's memory (S-LCK-1..5 in docs/design.md, "Application
// locks"): critical sections, SRW locks, condition variables, InitOnceExecuteOnce and
// WaitOnAddress; in virtual time, where a thread blocked on one must let the clock
// move, and in real time with several threads at once (run under ThreadSanitizer).
#include <atomic>
#include <vector>

#include "test_support.hpp"
#include "windows.h"

namespace {

using namespace ntio::testing;

class Locks : public VirtualTimeTest {};
class LocksRace : public RealTimeTest {};

// ---- S-LCK-1: critical sections ------------------------------------------------------------

TEST_F(Locks, S_LCK_1_AWaiterBlocksUntilTheOwnerLeavesAndTheClockMoves) {
    CRITICAL_SECTION cs;
    InitializeCriticalSection(&cs);
    EnterCriticalSection(&cs);
    EnterCriticalSection(&cs);  // recursion
    EXPECT_EQ(cs.RecursionCount, 2);
    std::atomic<int64_t> entered_at{-1};
    std::atomic<BOOL> tried{TRUE};
    HANDLE t = spawn([&] {
        tried = TryEnterCriticalSection(&cs);
        EnterCriticalSection(&cs);
        entered_at = now_ms();
        LeaveCriticalSection(&cs);
    });
    int64_t t0 = now_ms();
    Sleep(1000);  // the other thread waits for the section meanwhile: time can move
    LeaveCriticalSection(&cs);
    EXPECT_EQ(entered_at.load(), -1) << "still held once";
    LeaveCriticalSection(&cs);
    WaitForSingleObject(t, INFINITE);
    EXPECT_FALSE(tried.load()) << "TryEnterCriticalSection does not wait";
    EXPECT_EQ(entered_at.load() - t0, 1000);
    EXPECT_TRUE(TryEnterCriticalSection(&cs));
    LeaveCriticalSection(&cs);
    // Leaving a section the thread does not own is refused (and said on stderr).
    HANDLE other = spawn([&] { EnterCriticalSection(&cs); });
    WaitForSingleObject(other, INFINITE);
    LeaveCriticalSection(&cs);
    EXPECT_FALSE(TryEnterCriticalSection(&cs)) << "still the ended thread's";
    DeleteCriticalSection(&cs);
    CloseHandle(other);
    CloseHandle(t);
    static_assert(sizeof(CRITICAL_SECTION) == 40, "Windows's x64 size");
}

// ---- S-LCK-2: SRW locks -----------------------------------------------------------------------

TEST_F(Locks, S_LCK_2_ReadersShareWritersExclude) {
    SRWLOCK lock = SRWLOCK_INIT;
    AcquireSRWLockShared(&lock);
    EXPECT_TRUE(TryAcquireSRWLockShared(&lock));
    EXPECT_FALSE(TryAcquireSRWLockExclusive(&lock));
    std::atomic<int64_t> writer_at{-1}, reader_at{-1};
    HANDLE writer = spawn([&] {
        AcquireSRWLockExclusive(&lock);
        writer_at = now_ms();
        Sleep(200);
        ReleaseSRWLockExclusive(&lock);
    });
    int64_t t0 = now_ms();
    Sleep(100);
    // A writer waits: a new reader waits behind it (no starvation of writers).
    EXPECT_FALSE(TryAcquireSRWLockShared(&lock));
    HANDLE reader = spawn([&] {
        AcquireSRWLockShared(&lock);
        reader_at = now_ms();
        ReleaseSRWLockShared(&lock);
    });
    Sleep(400);
    ReleaseSRWLockShared(&lock);
    ReleaseSRWLockShared(&lock);
    WaitForSingleObject(writer, INFINITE);
    WaitForSingleObject(reader, INFINITE);
    EXPECT_EQ(writer_at.load() - t0, 500);
    EXPECT_GE(reader_at.load() - t0, 500);
    EXPECT_TRUE(TryAcquireSRWLockExclusive(&lock));
    ReleaseSRWLockExclusive(&lock);
    CloseHandle(writer);
    CloseHandle(reader);
}

// ---- S-LCK-3: condition variables ---------------------------------------------------------

TEST_F(Locks, S_LCK_3_ConditionVariablesWakeAndTimeOut) {
    CRITICAL_SECTION cs;
    InitializeCriticalSection(&cs);
    CONDITION_VARIABLE cv = CONDITION_VARIABLE_INIT;
    int items = 0;
    std::atomic<int64_t> got_at{-1};
    HANDLE consumer = spawn([&] {
        EnterCriticalSection(&cs);
        // Bounded, so that a wake that never comes fails the test instead of hanging it.
        while (items == 0)
            if (!SleepConditionVariableCS(&cv, &cs, 10000)) break;
        if (items > 0) {
            --items;
            got_at = now_ms();
        }
        LeaveCriticalSection(&cs);
    });
    int64_t t0 = now_ms();
    Sleep(300);
    EnterCriticalSection(&cs);
    ++items;
    LeaveCriticalSection(&cs);
    WakeConditionVariable(&cv);
    WaitForSingleObject(consumer, INFINITE);
    EXPECT_EQ(got_at.load() - t0, 300);
    EXPECT_EQ(items, 0);

    // A timeout: FALSE with ERROR_TIMEOUT, the section held again.
    EnterCriticalSection(&cs);
    t0 = now_ms();
    EXPECT_FALSE(SleepConditionVariableCS(&cv, &cs, 250));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_TIMEOUT));
    EXPECT_EQ(now_ms() - t0, 250);
    EXPECT_EQ(cs.RecursionCount, 1);
    LeaveCriticalSection(&cs);

    // SRW, shared mode; WakeAll wakes every sleeper.
    SRWLOCK lock = SRWLOCK_INIT;
    std::atomic<int> woken{0};
    bool go = false;
    std::vector<HANDLE> sleepers;
    for (int i = 0; i < 3; ++i)
        sleepers.push_back(spawn([&] {
            AcquireSRWLockShared(&lock);
            while (!go)
                if (!SleepConditionVariableSRW(&cv, &lock, 10000, CONDITION_VARIABLE_LOCKMODE_SHARED)) break;
            woken += go;
            ReleaseSRWLockShared(&lock);
        }));
    Sleep(100);
    AcquireSRWLockExclusive(&lock);
    go = true;
    ReleaseSRWLockExclusive(&lock);
    WakeAllConditionVariable(&cv);
    for (HANDLE h : sleepers) {
        WaitForSingleObject(h, INFINITE);
        CloseHandle(h);
    }
    EXPECT_EQ(woken.load(), 3);
    AcquireSRWLockExclusive(&lock);
    EXPECT_FALSE(SleepConditionVariableSRW(&cv, &lock, 0, 0x80));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    ReleaseSRWLockExclusive(&lock);
    CloseHandle(consumer);
    DeleteCriticalSection(&cs);
}

// ---- S-LCK-4: InitOnceExecuteOnce ---------------------------------------------------------------

std::atomic<int> g_init_runs{0};
int g_context_target = 0;
BOOL WINAPI slow_init(PINIT_ONCE, PVOID parameter, PVOID* context) {
    ++g_init_runs;
    Sleep(100);  // the others wait for it meanwhile
    *context = &g_context_target;
    return parameter != nullptr;
}
BOOL WINAPI misaligned_init(PINIT_ONCE, PVOID, PVOID* context) {
    *context = reinterpret_cast<PVOID>(uintptr_t{0x1001});
    return TRUE;
}

TEST_F(Locks, S_LCK_4_InitOnceRunsOnceAndAgainAfterAFailure) {
    g_init_runs = 0;
    INIT_ONCE once = INIT_ONCE_STATIC_INIT;
    LPVOID context = nullptr;
    EXPECT_FALSE(InitOnceExecuteOnce(&once, slow_init, nullptr, &context)) << "the function failed";
    EXPECT_EQ(g_init_runs.load(), 1);
    std::atomic<int> ok{0};
    std::vector<HANDLE> threads;
    for (int i = 0; i < 4; ++i)
        threads.push_back(spawn([&] {
            LPVOID c = nullptr;
            if (InitOnceExecuteOnce(&once, slow_init, &once, &c) && c == &g_context_target) ++ok;
        }));
    for (HANDLE h : threads) {
        WaitForSingleObject(h, INFINITE);
        CloseHandle(h);
    }
    EXPECT_EQ(ok.load(), 4);
    EXPECT_EQ(g_init_runs.load(), 2) << "once after the failure, for all four";
    INIT_ONCE bad = INIT_ONCE_STATIC_INIT;
    EXPECT_FALSE(InitOnceExecuteOnce(&bad, misaligned_init, nullptr, &context));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
}

// ---- S-LCK-5: WaitOnAddress -------------------------------------------------------------------

TEST_F(Locks, S_LCK_5_WaitOnAddress) {
    volatile LONG value = 5;
    LONG same = 5, other = 6;
    EXPECT_TRUE(WaitOnAddress(&value, &other, sizeof value, INFINITE)) << "a different value returns at once";
    int64_t t0 = now_ms();
    EXPECT_FALSE(WaitOnAddress(&value, &same, sizeof value, 700));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_TIMEOUT));
    EXPECT_EQ(now_ms() - t0, 700);
    HANDLE t = spawn([&] {
        Sleep(400);
        value = 6;
        WakeByAddressSingle(const_cast<LONG*>(&value));
    });
    t0 = now_ms();
    EXPECT_TRUE(WaitOnAddress(&value, &same, sizeof value, 10000));
    EXPECT_EQ(now_ms() - t0, 400);
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);
    EXPECT_FALSE(WaitOnAddress(&value, &same, 3, 0));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    WakeByAddressAll(const_cast<LONG*>(&value));  // nobody waits: nothing happens
}

// ---- the races, in real time --------------------------------------------------------------------

TEST_F(LocksRace, S_LCK_1_S_LCK_2_S_LCK_3_ManyThreadsCountUnderEachLock) {
    constexpr int kThreads = 4, kIterations = 20000;
    CRITICAL_SECTION cs;
    InitializeCriticalSection(&cs);
    SRWLOCK lock = SRWLOCK_INIT;
    CONDITION_VARIABLE cv = CONDITION_VARIABLE_INIT;
    long under_cs = 0, under_srw = 0, turns = 0;
    std::vector<HANDLE> threads;
    for (int i = 0; i < kThreads; ++i)
        threads.push_back(spawn([&, i] {
            for (int n = 0; n < kIterations; ++n) {
                EnterCriticalSection(&cs);
                ++under_cs;
                LeaveCriticalSection(&cs);
                AcquireSRWLockExclusive(&lock);
                ++under_srw;
                ReleaseSRWLockExclusive(&lock);
                AcquireSRWLockShared(&lock);
                long seen = under_srw;
                ReleaseSRWLockShared(&lock);
                (void)seen;
            }
            // Take turns through a condition variable: thread i goes when turns % kThreads == i.
            for (int round = 0; round < 50; ++round) {
                EnterCriticalSection(&cs);
                while (turns % kThreads != i) SleepConditionVariableCS(&cv, &cs, INFINITE);
                ++turns;
                LeaveCriticalSection(&cs);
                WakeAllConditionVariable(&cv);
            }
        }));
    for (HANDLE h : threads) {
        WaitForSingleObject(h, INFINITE);
        CloseHandle(h);
    }
    EXPECT_EQ(under_cs, kThreads * kIterations);
    EXPECT_EQ(under_srw, kThreads * kIterations);
    EXPECT_EQ(turns, kThreads * 50);
    DeleteCriticalSection(&cs);
}

}  // namespace
