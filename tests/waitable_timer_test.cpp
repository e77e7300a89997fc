// Win32 waitable timers (S-WT-1..6): names shared with the other named objects, manual
// and synchronization timers, periods, cancel, absolute due times, the completion
// routine as a user APC of the setting thread. On the virtual clock every expiry is at
// an exact millisecond of GetTickCount.
#include <atomic>
#include <vector>

#include "test_support.hpp"

namespace {

using namespace ntio::testing;

class WaitableTimer : public VirtualTimeTest {};

LARGE_INTEGER due_ms(LONGLONG ms) { return relative_ms(ms); }

TEST_F(WaitableTimer, S_WT_1_NamesAreSharedWithOtherObjectsAndOtherKindsAreInvalidHandles) {
    HANDLE t = CreateWaitableTimerA(nullptr, TRUE, "wt_name");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(GetLastError(), ERROR_SUCCESS);
    HANDLE again = CreateWaitableTimerW(nullptr, FALSE, L"wt_name");
    ASSERT_NE(again, nullptr);
    EXPECT_EQ(GetLastError(), ERROR_ALREADY_EXISTS);
    HANDLE opened = OpenWaitableTimerA(TIMER_ALL_ACCESS, FALSE, "Global\\wt_name");
    ASSERT_NE(opened, nullptr);
    // One timer: set through one handle, signaled through the others.
    LARGE_INTEGER due = due_ms(10);
    ASSERT_TRUE(SetWaitableTimer(again, &due, 0, nullptr, nullptr, FALSE));
    EXPECT_EQ(WaitForSingleObject(opened, INFINITE), WAIT_OBJECT_0);
    EXPECT_EQ(WaitForSingleObject(t, 0), WAIT_OBJECT_0);  // created manual-reset: the first creation's kind

    // Another kind of object under the name, either way round.
    EXPECT_EQ(CreateEventA(nullptr, TRUE, FALSE, "wt_name"), nullptr);
    EXPECT_EQ(GetLastError(), ERROR_INVALID_HANDLE);
    HANDLE ev = CreateEventA(nullptr, TRUE, FALSE, "wt_event");
    ASSERT_NE(ev, nullptr);
    EXPECT_EQ(CreateWaitableTimerA(nullptr, TRUE, "wt_event"), nullptr);
    EXPECT_EQ(GetLastError(), ERROR_INVALID_HANDLE);
    EXPECT_EQ(OpenWaitableTimerA(TIMER_ALL_ACCESS, FALSE, "wt_event"), nullptr);
    EXPECT_EQ(GetLastError(), ERROR_INVALID_HANDLE);
    EXPECT_EQ(OpenWaitableTimerA(TIMER_ALL_ACCESS, FALSE, "wt_none"), nullptr);
    EXPECT_EQ(GetLastError(), ERROR_FILE_NOT_FOUND);

    // A timer routine on an event's handle, bad flags and periods.
    EXPECT_FALSE(SetWaitableTimer(ev, &due, 0, nullptr, nullptr, FALSE));
    EXPECT_EQ(GetLastError(), ERROR_INVALID_HANDLE);
    EXPECT_FALSE(CancelWaitableTimer(ev));
    EXPECT_EQ(GetLastError(), ERROR_INVALID_HANDLE);
    EXPECT_EQ(CreateWaitableTimerExW(nullptr, nullptr, 0x100, TIMER_ALL_ACCESS), nullptr);
    EXPECT_EQ(GetLastError(), ERROR_INVALID_PARAMETER);
    EXPECT_FALSE(SetWaitableTimer(t, &due, -1, nullptr, nullptr, FALSE));
    EXPECT_EQ(GetLastError(), ERROR_INVALID_PARAMETER);
    // fResume: not supported, but the timer is set.
    EXPECT_TRUE(SetWaitableTimer(t, &due, 0, nullptr, nullptr, TRUE));
    EXPECT_EQ(GetLastError(), ERROR_NOT_SUPPORTED);
    for (HANDLE h : {t, again, opened, ev}) CloseHandle(h);
}

TEST_F(WaitableTimer, S_WT_2_AManualResetTimerStaysSignaledUntilSetAgain) {
    HANDLE t = CreateWaitableTimerExW(nullptr, nullptr, CREATE_WAITABLE_TIMER_MANUAL_RESET, TIMER_ALL_ACCESS);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(WaitForSingleObject(t, 0), WAIT_TIMEOUT);  // created unsignaled
    DWORD start = GetTickCount();
    LARGE_INTEGER due = due_ms(3000);
    ASSERT_TRUE(SetWaitableTimer(t, &due, 0, nullptr, nullptr, FALSE));
    EXPECT_EQ(WaitForSingleObject(t, INFINITE), WAIT_OBJECT_0);
    EXPECT_EQ(GetTickCount() - start, 3000u);
    EXPECT_EQ(WaitForSingleObject(t, 0), WAIT_OBJECT_0);  // a notification: nothing consumed
    ASSERT_TRUE(SetWaitableTimer(t, &due, 0, nullptr, nullptr, FALSE));
    EXPECT_EQ(WaitForSingleObject(t, 0), WAIT_TIMEOUT);  // setting it again resets it
    CloseHandle(t);
}

TEST_F(WaitableTimer, S_WT_3_ASynchronizationTimerReleasesOneWaitPerExpiryAndRepeatsOnItsPeriod) {
    HANDLE t = CreateWaitableTimerW(nullptr, FALSE, nullptr);
    ASSERT_NE(t, nullptr);
    DWORD start = GetTickCount();
    LARGE_INTEGER due = due_ms(250);
    ASSERT_TRUE(SetWaitableTimer(t, &due, 100, nullptr, nullptr, FALSE));
    for (DWORD i = 0; i < 5; ++i) {
        EXPECT_EQ(WaitForSingleObject(t, INFINITE), WAIT_OBJECT_0);
        EXPECT_EQ(GetTickCount() - start, 250 + 100 * i);
        EXPECT_EQ(WaitForSingleObject(t, 0), WAIT_TIMEOUT);  // the wait consumed it
    }
    // WaitForMultipleObjects: the earlier of two timers.
    HANDLE u = CreateWaitableTimerW(nullptr, TRUE, nullptr);
    LARGE_INTEGER soon = due_ms(30);
    ASSERT_TRUE(SetWaitableTimer(u, &soon, 0, nullptr, nullptr, FALSE));
    DWORD before = GetTickCount();
    HANDLE both[2] = {t, u};
    EXPECT_EQ(WaitForMultipleObjects(2, both, FALSE, INFINITE), WAIT_OBJECT_0 + 1);
    EXPECT_EQ(GetTickCount() - before, 30u);
    CloseHandle(t);
    CloseHandle(u);
}

TEST_F(WaitableTimer, S_WT_4_CancelStopsTheTimerAndKeepsItsState) {
    HANDLE t = CreateWaitableTimerW(nullptr, TRUE, nullptr);
    LARGE_INTEGER due = due_ms(1000);
    ASSERT_TRUE(SetWaitableTimer(t, &due, 0, nullptr, nullptr, FALSE));
    ASSERT_TRUE(CancelWaitableTimer(t));
    DWORD start = GetTickCount();
    EXPECT_EQ(WaitForSingleObject(t, 2000), WAIT_TIMEOUT);
    EXPECT_EQ(GetTickCount() - start, 2000u);
    LARGE_INTEGER now{};
    ASSERT_TRUE(SetWaitableTimer(t, &now, 0, nullptr, nullptr, FALSE));  // due 0: at once
    EXPECT_EQ(WaitForSingleObject(t, 0), WAIT_OBJECT_0);
    ASSERT_TRUE(CancelWaitableTimer(t));
    EXPECT_EQ(WaitForSingleObject(t, 0), WAIT_OBJECT_0);  // still signaled
    CloseHandle(t);
}

TEST_F(WaitableTimer, S_WT_5_AnAbsoluteDueTimeIsUtcFileTime) {
    HANDLE t = CreateWaitableTimerW(nullptr, TRUE, nullptr);
    FILETIME ft;
    GetSystemTimeAsFileTime(&ft);
    LARGE_INTEGER due;
    due.QuadPart = static_cast<LONGLONG>((static_cast<ULONGLONG>(ft.dwHighDateTime) << 32) | ft.dwLowDateTime) +
                   2000 * 10000LL;
    DWORD start = GetTickCount();
    ASSERT_TRUE(SetWaitableTimer(t, &due, 0, nullptr, nullptr, FALSE));
    EXPECT_EQ(WaitForSingleObject(t, INFINITE), WAIT_OBJECT_0);
    EXPECT_EQ(GetTickCount() - start, 2000u);
    // A time already past: signaled at once.
    ASSERT_TRUE(SetWaitableTimer(t, &due, 0, nullptr, nullptr, FALSE));
    EXPECT_EQ(WaitForSingleObject(t, 0), WAIT_OBJECT_0);
    CloseHandle(t);
}

struct ApcRecord {
    std::vector<ULONGLONG> at;   // the routine's FILETIME
    std::vector<DWORD> ticks;    // GetTickCount when it ran
    std::vector<DWORD> threads;  // where it ran
};

VOID CALLBACK record_apc(LPVOID arg, DWORD low, DWORD high) {
    auto* r = static_cast<ApcRecord*>(arg);
    r->at.push_back((static_cast<ULONGLONG>(high) << 32) | low);
    r->ticks.push_back(GetTickCount());
    r->threads.push_back(GetCurrentThreadId());
}

TEST_F(WaitableTimer, S_WT_6_TheCompletionRoutineRunsInTheSettersAlertableWaits) {
    HANDLE t = CreateWaitableTimerW(nullptr, FALSE, nullptr);
    ApcRecord r;
    DWORD start = GetTickCount();
    FILETIME ft0;
    GetSystemTimeAsFileTime(&ft0);
    ULONGLONG t0 = (static_cast<ULONGLONG>(ft0.dwHighDateTime) << 32) | ft0.dwLowDateTime;
    LARGE_INTEGER due = due_ms(500);
    ASSERT_TRUE(SetWaitableTimer(t, &due, 200, record_apc, &r, FALSE));
    EXPECT_EQ(SleepEx(INFINITE, TRUE), WAIT_IO_COMPLETION);
    ASSERT_EQ(r.at.size(), 1u);
    EXPECT_EQ(r.ticks[0] - start, 500u);
    EXPECT_EQ(r.at[0] - t0, 500u * 10000);  // the expiry's UTC time
    EXPECT_EQ(r.threads[0], GetCurrentThreadId());
    // The timer is signaled too (the APC consumed nothing), and a wait that is not
    // alertable leaves the next expiry's routine queued.
    EXPECT_EQ(WaitForSingleObject(t, 0), WAIT_OBJECT_0);
    EXPECT_EQ(WaitForSingleObject(t, INFINITE), WAIT_OBJECT_0);
    EXPECT_EQ(GetTickCount() - start, 700u);
    EXPECT_EQ(r.at.size(), 1u);
    // The routine is queued by the timer's DPC just after the expiry (docs/compat.md):
    // an alertable wait runs it at the same virtual instant.
    EXPECT_EQ(SleepEx(INFINITE, TRUE), WAIT_IO_COMPLETION);
    EXPECT_EQ(GetTickCount() - start, 700u);
    ASSERT_EQ(r.at.size(), 2u);
    EXPECT_EQ(r.at[1] - t0, 700u * 10000);
    // Another thread's alertable wait never runs it.
    std::atomic<DWORD> other{0};
    HANDLE th = spawn([&] { other = SleepEx(350, TRUE); });
    EXPECT_EQ(WaitForSingleObject(th, INFINITE), WAIT_OBJECT_0);
    EXPECT_EQ(other.load(), 0u);
    CloseHandle(th);
    EXPECT_EQ(SleepEx(0, TRUE), WAIT_IO_COMPLETION);  // the expiry at +900
    EXPECT_EQ(r.at.size(), 3u);
    ASSERT_TRUE(CancelWaitableTimer(t));
    EXPECT_EQ(SleepEx(1000, TRUE), 0u);  // nothing more after the cancel
    EXPECT_EQ(r.at.size(), 3u);
    // Closed while set with a routine: nothing runs and nothing is left behind.
    ASSERT_TRUE(SetWaitableTimer(t, &due, 10, record_apc, &r, FALSE));
    CloseHandle(t);
    EXPECT_EQ(SleepEx(1000, TRUE), 0u);
    EXPECT_EQ(r.at.size(), 3u);
}

}  // namespace
