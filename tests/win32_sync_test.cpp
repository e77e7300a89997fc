// Win32 synchronization: S-W32-1 (events and names), S-W32-2 (wait results),
// S-W32-3 (multiple objects), threads, handles, and every bad input of issue 2.
#include <process.h>
#include <unistd.h>

#include <cstring>
#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>
#include <winternl.h>

#include "test_support.hpp"

namespace {

using ntio::testing::VirtualTimeTest;
class Win32Sync : public VirtualTimeTest {};

TEST_F(Win32Sync, S_W32_1_ManualAndAutoResetEvents) {
    HANDLE manual = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    HANDLE autoreset = CreateEventA(nullptr, FALSE, TRUE, nullptr);
    ASSERT_NE(manual, nullptr);
    ASSERT_NE(autoreset, nullptr);
    EXPECT_EQ(WaitForSingleObject(manual, 0), WAIT_TIMEOUT);
    EXPECT_TRUE(SetEvent(manual));
    EXPECT_EQ(WaitForSingleObject(manual, 0), WAIT_OBJECT_0);
    EXPECT_EQ(WaitForSingleObject(manual, 0), WAIT_OBJECT_0);
    EXPECT_TRUE(ResetEvent(manual));
    EXPECT_EQ(WaitForSingleObject(manual, 0), WAIT_TIMEOUT);
    EXPECT_EQ(WaitForSingleObject(autoreset, 0), WAIT_OBJECT_0) << "initially signaled";
    EXPECT_EQ(WaitForSingleObject(autoreset, 0), WAIT_TIMEOUT) << "auto-reset";
    SetEvent(autoreset);
    SetEvent(autoreset);  // no cumulative effect
    EXPECT_EQ(WaitForSingleObject(autoreset, 0), WAIT_OBJECT_0);
    EXPECT_EQ(WaitForSingleObject(autoreset, 0), WAIT_TIMEOUT);
    CloseHandle(manual);
    CloseHandle(autoreset);
}

TEST_F(Win32Sync, S_W32_1_AnEmptyNameMakesAnUnnamedEvent) {
    // The pending-IOCTL article creates its event with CreateEvent(NULL, TRUE, TRUE, "").
    HANDLE a = CreateEventA(nullptr, TRUE, TRUE, "");
    HANDLE b = CreateEventA(nullptr, TRUE, FALSE, "");
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_SUCCESS));
    EXPECT_EQ(WaitForSingleObject(a, 0), WAIT_OBJECT_0);
    EXPECT_EQ(WaitForSingleObject(b, 0), WAIT_TIMEOUT) << "two distinct events";
    CloseHandle(a);
    CloseHandle(b);
}

TEST_F(Win32Sync, S_W32_1_NamedEventsShareOneObject) {
    HANDLE a = CreateEventW(nullptr, TRUE, FALSE, L"ntio-test-event");
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_SUCCESS));
    HANDLE b = CreateEventA(nullptr, FALSE, TRUE, "Global\\ntio-test-event");  // flags ignored for an existing event
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_ALREADY_EXISTS));
    EXPECT_EQ(WaitForSingleObject(b, 0), WAIT_TIMEOUT) << "still the manual-reset, non-signaled event";
    SetEvent(a);
    EXPECT_EQ(WaitForSingleObject(b, 0), WAIT_OBJECT_0);
    EXPECT_EQ(WaitForSingleObject(b, 0), WAIT_OBJECT_0) << "manual reset";
    HANDLE c = OpenEventA(EVENT_ALL_ACCESS, FALSE, "ntio-test-event");
    ASSERT_NE(c, nullptr);
    ResetEvent(c);
    EXPECT_EQ(WaitForSingleObject(a, 0), WAIT_TIMEOUT);
    // The name belongs to an event: a semaphore of that name fails with ERROR_INVALID_HANDLE.
    EXPECT_EQ(CreateSemaphoreA(nullptr, 0, 1, "ntio-test-event"), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    CloseHandle(a);
    CloseHandle(b);
    CloseHandle(c);
    // Once every handle is closed the name is gone.
    EXPECT_EQ(OpenEventA(EVENT_ALL_ACCESS, FALSE, "ntio-test-event"), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_FILE_NOT_FOUND));
}

TEST_F(Win32Sync, S_W32_2_TimeoutAndObjectResults) {
    HANDLE e = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    int64_t t0 = now_ms();
    EXPECT_EQ(WaitForSingleObject(e, 6000), WAIT_TIMEOUT);
    EXPECT_EQ(now_ms() - t0, 6000);
    HANDLE setter = ntio::testing::spawn([&] {
        Sleep(5000);
        SetEvent(e);
    });
    t0 = now_ms();
    EXPECT_EQ(WaitForSingleObject(e, 6000), WAIT_OBJECT_0);
    EXPECT_EQ(now_ms() - t0, 5000);
    ntio::testing::join(setter);
    CloseHandle(e);
}

TEST_F(Win32Sync, S_W32_2_AbandonedMutexGivesWaitAbandonedOnce) {
    HANDLE m = CreateMutexA(nullptr, FALSE, nullptr);
    HANDLE owner = ntio::testing::spawn([&] { EXPECT_EQ(WaitForSingleObject(m, INFINITE), WAIT_OBJECT_0); });
    ntio::testing::join(owner);  // the owner ended without ReleaseMutex
    EXPECT_EQ(WaitForSingleObject(m, INFINITE), WAIT_ABANDONED);
    EXPECT_TRUE(ReleaseMutex(m));
    EXPECT_EQ(WaitForSingleObject(m, INFINITE), WAIT_OBJECT_0);
    EXPECT_TRUE(ReleaseMutex(m));
    CloseHandle(m);
}

TEST_F(Win32Sync, S_W32_2_InitialOwnerAndRecursion) {
    HANDLE m = CreateMutexA(nullptr, TRUE, nullptr);
    EXPECT_EQ(WaitForSingleObject(m, 0), WAIT_OBJECT_0);  // recursive
    HANDLE other = ntio::testing::spawn([&] { EXPECT_EQ(WaitForSingleObject(m, 0), WAIT_TIMEOUT); });
    ntio::testing::join(other);
    EXPECT_TRUE(ReleaseMutex(m));
    EXPECT_TRUE(ReleaseMutex(m));
    EXPECT_FALSE(ReleaseMutex(m));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOT_OWNER));
    CloseHandle(m);
}

TEST_F(Win32Sync, S_W32_3_WaitAnyLowestIndexAndWaitAll) {
    HANDLE h[3];
    for (auto& x : h) x = CreateEventA(nullptr, FALSE, FALSE, nullptr);
    SetEvent(h[2]);
    SetEvent(h[1]);
    EXPECT_EQ(WaitForMultipleObjects(3, h, FALSE, 0), WAIT_OBJECT_0 + 1);
    EXPECT_EQ(WaitForMultipleObjects(3, h, FALSE, 0), WAIT_OBJECT_0 + 2);
    EXPECT_EQ(WaitForMultipleObjects(3, h, FALSE, 0), WAIT_TIMEOUT);
    SetEvent(h[0]);
    SetEvent(h[1]);
    EXPECT_EQ(WaitForMultipleObjects(3, h, TRUE, 100), WAIT_TIMEOUT);
    EXPECT_EQ(WaitForSingleObject(h[0], 0), WAIT_OBJECT_0) << "a failed wait-all consumed nothing";
    SetEvent(h[0]);
    HANDLE setter = ntio::testing::spawn([&] {
        Sleep(250);
        SetEvent(h[2]);
    });
    int64_t t0 = now_ms();
    EXPECT_EQ(WaitForMultipleObjects(3, h, TRUE, INFINITE), WAIT_OBJECT_0);
    EXPECT_EQ(now_ms() - t0, 250);
    for (auto& x : h) EXPECT_EQ(WaitForSingleObject(x, 0), WAIT_TIMEOUT);
    ntio::testing::join(setter);
    for (auto& x : h) CloseHandle(x);
}

TEST_F(Win32Sync, S_W32_3_SixtyFourObjectsWork) {
    HANDLE h[MAXIMUM_WAIT_OBJECTS];
    for (auto& x : h) x = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    SetEvent(h[63]);
    EXPECT_EQ(WaitForMultipleObjects(64, h, FALSE, INFINITE), WAIT_OBJECT_0 + 63);
    for (auto& x : h) CloseHandle(x);
}

// ---- bad input -----------------------------------------------------------------------

TEST_F(Win32Sync, BadHandlesGiveErrorInvalidHandle) {
    HANDLE good = CreateEventA(nullptr, TRUE, TRUE, nullptr);
    HANDLE e = CreateEventA(nullptr, TRUE, TRUE, nullptr);
    CloseHandle(e);
    for (HANDLE bad : {static_cast<HANDLE>(nullptr), e, reinterpret_cast<HANDLE>(0x123456), reinterpret_cast<HANDLE>(3)}) {
        SetLastError(0);
        EXPECT_EQ(WaitForSingleObject(bad, 0), WAIT_FAILED);
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
        EXPECT_FALSE(SetEvent(bad));
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
        EXPECT_FALSE(CloseHandle(bad));
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
        EXPECT_FALSE(ReleaseSemaphore(bad, 1, nullptr));
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
        DWORD code;
        EXPECT_FALSE(GetExitCodeThread(bad, &code));
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    }
    HANDLE pair[2] = {good, e};
    EXPECT_EQ(WaitForMultipleObjects(2, pair, FALSE, 0), WAIT_FAILED) << "one closed handle fails the whole wait";
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    CloseHandle(good);
}

TEST_F(Win32Sync, WrongObjectTypeGivesErrorInvalidHandle) {
    HANDLE sem = CreateSemaphoreA(nullptr, 0, 1, nullptr);
    EXPECT_FALSE(SetEvent(sem));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    EXPECT_FALSE(ReleaseMutex(sem));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    CloseHandle(sem);
}

TEST_F(Win32Sync, WaitingOnANonWaitableHandleFails) {
    HANDLE dir;
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, nullptr, OBJ_KERNEL_HANDLE, nullptr, nullptr);
    ASSERT_EQ(ZwCreateDirectoryObject(&dir, DIRECTORY_ALL_ACCESS, &oa), STATUS_SUCCESS);
    PVOID obj;
    ASSERT_EQ(ObReferenceObjectByHandle(dir, 0, nullptr, KernelMode, &obj, nullptr), STATUS_SUCCESS);
    ObDereferenceObject(obj);
    // A kernel handle is invalid for the application.
    EXPECT_EQ(WaitForSingleObject(dir, 0), WAIT_FAILED);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    // A user handle with SYNCHRONIZE access to a directory: not a waitable object.
    HANDLE user;
    ASSERT_EQ(NtDuplicateObject(NtCurrentProcess(), dir, NtCurrentProcess(), &user, SYNCHRONIZE | DIRECTORY_QUERY, 0, 0),
              STATUS_SUCCESS);
    EXPECT_EQ(WaitForSingleObject(user, 0), WAIT_FAILED);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    CloseHandle(user);
    // Without SYNCHRONIZE access the wait is refused before the type is looked at.
    ASSERT_EQ(NtDuplicateObject(NtCurrentProcess(), dir, NtCurrentProcess(), &user, DIRECTORY_QUERY, 0, 0),
              STATUS_SUCCESS);
    EXPECT_EQ(WaitForSingleObject(user, 0), WAIT_FAILED);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_ACCESS_DENIED));
    CloseHandle(user);
    ZwClose(dir);
}

TEST_F(Win32Sync, WaitForMultipleObjectsCountLimits) {
    HANDLE h[65];
    for (auto& x : h) x = CreateEventA(nullptr, TRUE, TRUE, nullptr);
    EXPECT_EQ(WaitForMultipleObjects(0, h, FALSE, 0), WAIT_FAILED);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    EXPECT_EQ(WaitForMultipleObjects(65, h, FALSE, 0), WAIT_FAILED);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    HANDLE same[2] = {h[0], h[0]};
    EXPECT_EQ(WaitForMultipleObjects(2, same, TRUE, 0), WAIT_FAILED) << "the same object twice in a wait-all";
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    for (auto& x : h) CloseHandle(x);
}

TEST_F(Win32Sync, SemaphorePastItsMaximum) {
    EXPECT_EQ(CreateSemaphoreA(nullptr, 2, 1, nullptr), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    HANDLE s = CreateSemaphoreA(nullptr, 1, 2, nullptr);
    LONG previous = -1;
    EXPECT_TRUE(ReleaseSemaphore(s, 1, &previous));
    EXPECT_EQ(previous, 1);
    EXPECT_FALSE(ReleaseSemaphore(s, 1, &previous));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_TOO_MANY_POSTS));
    EXPECT_FALSE(ReleaseSemaphore(s, 0, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    EXPECT_EQ(WaitForSingleObject(s, 0), WAIT_OBJECT_0);
    EXPECT_EQ(WaitForSingleObject(s, 0), WAIT_OBJECT_0);
    EXPECT_EQ(WaitForSingleObject(s, 0), WAIT_TIMEOUT) << "the failed release changed nothing";
    CloseHandle(s);
}

TEST_F(Win32Sync, MutexReleasedByANonOwner) {
    HANDLE m = CreateMutexA(nullptr, TRUE, nullptr);
    HANDLE other = ntio::testing::spawn([&] {
        EXPECT_FALSE(ReleaseMutex(m));
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOT_OWNER));
    });
    ntio::testing::join(other);
    EXPECT_TRUE(ReleaseMutex(m));
    CloseHandle(m);
}

// ---- threads and handles -------------------------------------------------------------------

TEST_F(Win32Sync, ThreadExitCodesAndStillActive) {
    HANDLE gate = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    DWORD tid = 0;
    HANDLE t = CreateThread(
        nullptr, 0,
        [](LPVOID g) -> DWORD {
            WaitForSingleObject(g, INFINITE);
            ExitThread(42);
        },
        gate, 0, &tid);
    ASSERT_NE(t, nullptr);
    EXPECT_NE(tid, 0u);
    EXPECT_EQ(GetThreadId(t), tid);
    DWORD code = 0;
    EXPECT_TRUE(GetExitCodeThread(t, &code));
    EXPECT_EQ(code, STILL_ACTIVE);
    SetEvent(gate);
    EXPECT_EQ(WaitForSingleObject(t, INFINITE), WAIT_OBJECT_0);
    EXPECT_TRUE(GetExitCodeThread(t, &code));
    EXPECT_EQ(code, 42u);
    CloseHandle(t);
    CloseHandle(gate);
}

TEST_F(Win32Sync, SuspendedThreadRunsAfterResume) {
    static std::atomic<int> ran;
    ran = 0;
    HANDLE t = CreateThread(
        nullptr, 0,
        [](LPVOID) -> DWORD {
            ++ran;
            return 7;
        },
        nullptr, CREATE_SUSPENDED, nullptr);
    Sleep(1000);
    EXPECT_EQ(ran, 0);
    EXPECT_EQ(ResumeThread(t), 1u);
    EXPECT_EQ(WaitForSingleObject(t, INFINITE), WAIT_OBJECT_0);
    EXPECT_EQ(ran, 1);
    EXPECT_EQ(ResumeThread(t), 0u);
    CloseHandle(t);
}

TEST_F(Win32Sync, CrtThreads) {
    static std::atomic<int> ran;
    ran = 0;
    unsigned tid = 0;
    auto h = reinterpret_cast<HANDLE>(_beginthreadex(
        nullptr, 0,
        [](void*) -> unsigned {
            ++ran;
            return 9;
        },
        nullptr, 0, &tid));
    ASSERT_NE(h, nullptr);
    EXPECT_EQ(WaitForSingleObject(h, INFINITE), WAIT_OBJECT_0);
    DWORD code;
    GetExitCodeThread(h, &code);
    EXPECT_EQ(code, 9u);
    CloseHandle(h);
    // _beginthread: the runtime closes the handle when the thread ends.
    size_t before = sys.open_handles();
    HANDLE done = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    uintptr_t r = _beginthread([](void* e) { SetEvent(e); }, 0, done);
    ASSERT_NE(r, static_cast<uintptr_t>(-1));
    WaitForSingleObject(done, INFINITE);
    CloseHandle(done);
    for (int i = 0; i < 1000 && sys.open_handles() != before; ++i) Sleep(1);
    EXPECT_EQ(sys.open_handles(), before);
}

TEST_F(Win32Sync, DuplicateHandleSharesTheObject) {
    HANDLE e = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    HANDLE d = nullptr;
    ASSERT_TRUE(DuplicateHandle(GetCurrentProcess(), e, GetCurrentProcess(), &d, 0, FALSE, DUPLICATE_SAME_ACCESS));
    EXPECT_NE(d, e);
    SetEvent(d);
    EXPECT_EQ(WaitForSingleObject(e, 0), WAIT_OBJECT_0);
    HANDLE moved = nullptr;
    ASSERT_TRUE(DuplicateHandle(GetCurrentProcess(), d, GetCurrentProcess(), &moved, 0, FALSE,
                                DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE));
    EXPECT_FALSE(CloseHandle(d)) << "closed by DUPLICATE_CLOSE_SOURCE";
    CloseHandle(moved);
    CloseHandle(e);
    // The current-thread pseudo handle duplicates into a real, waitable handle.
    HANDLE self = nullptr;
    ASSERT_TRUE(DuplicateHandle(GetCurrentProcess(), GetCurrentThread(), GetCurrentProcess(), &self, 0, FALSE,
                                DUPLICATE_SAME_ACCESS));
    EXPECT_EQ(GetThreadId(self), GetCurrentThreadId());
    EXPECT_EQ(WaitForSingleObject(self, 0), WAIT_TIMEOUT) << "a running thread is not signaled";
    CloseHandle(self);
    EXPECT_FALSE(DuplicateHandle(reinterpret_cast<HANDLE>(0x44), e, GetCurrentProcess(), &d, 0, FALSE, 0));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    EXPECT_EQ(sys.open_handles(), 0u);
}

TEST_F(Win32Sync, TickCountAndPerformanceCounterFollowTheClock) {
    DWORD t0 = GetTickCount();
    ULONGLONG t64 = GetTickCount64();
    LARGE_INTEGER q0, q1, f;
    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&q0);
    Sleep(1234);
    QueryPerformanceCounter(&q1);
    EXPECT_EQ(GetTickCount() - t0, 1234u);
    EXPECT_EQ(GetTickCount64() - t64, 1234u);
    EXPECT_EQ((q1.QuadPart - q0.QuadPart) * 1000 / f.QuadPart, 1234);
    LARGE_INTEGER ticks0, ticks1;
    KeQueryTickCount(&ticks0);
    Sleep(1000);
    KeQueryTickCount(&ticks1);
    // One tick is 15.625 ms, so a 1000 ms sleep spans 64 ticks give or take one.
    EXPECT_NEAR(static_cast<double>(ticks1.QuadPart - ticks0.QuadPart), 64.0, 1.0);
}

}  // namespace

namespace {

DWORD WINAPI WaitForGo(LPVOID arg) {
    WaitForSingleObject(static_cast<HANDLE>(arg), INFINITE);
    return 7;
}

// S-W32T-1: OpenThread finds a thread of the process by its id; the handle works like
// CreateThread's (wait, exit code, priority); an id of no thread is ERROR_INVALID_PARAMETER.
TEST_F(Win32Sync, S_W32T_1_OpenThreadByItsId) {
    HANDLE go = CreateEventW(nullptr, TRUE, FALSE, nullptr);
    DWORD tid = 0;
    HANDLE created = CreateThread(nullptr, 0, WaitForGo, go, 0, &tid);
    ASSERT_NE(created, nullptr);
    HANDLE opened = OpenThread(SYNCHRONIZE | THREAD_QUERY_INFORMATION, FALSE, tid);
    ASSERT_NE(opened, nullptr);
    EXPECT_NE(opened, created);
    EXPECT_EQ(GetThreadId(opened), tid) << "THREAD_QUERY_INFORMATION grants the limited right too";
    EXPECT_EQ(GetThreadPriority(opened), THREAD_PRIORITY_NORMAL);
    EXPECT_FALSE(SetThreadPriority(opened, THREAD_PRIORITY_HIGHEST)) << "no THREAD_SET_*INFORMATION asked";
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_ACCESS_DENIED));
    HANDLE mine = OpenThread(THREAD_QUERY_LIMITED_INFORMATION, FALSE, GetCurrentThreadId());
    ASSERT_NE(mine, nullptr);
    EXPECT_EQ(GetThreadId(mine), GetCurrentThreadId());
    CloseHandle(mine);
    SetEvent(go);
    EXPECT_EQ(WaitForSingleObject(opened, 5000), WAIT_OBJECT_0);
    DWORD code = 0;
    EXPECT_TRUE(GetExitCodeThread(opened, &code));
    EXPECT_EQ(code, 7u);
    CloseHandle(opened);
    CloseHandle(created);
    CloseHandle(go);
    // a thread the runtime knows only from its GetCurrentThreadId, opened with
    // MAXIMUM_ALLOWED (mapped to every thread right)
    std::atomic<DWORD> other_tid{0};
    std::atomic<bool> done{false};
    std::thread plain([&] {
        other_tid = GetCurrentThreadId();
        while (!done) std::this_thread::yield();
    });
    while (!other_tid) std::this_thread::yield();
    HANDLE any = OpenThread(MAXIMUM_ALLOWED, FALSE, other_tid);
    ASSERT_NE(any, nullptr) << GetLastError();
    EXPECT_TRUE(SetThreadPriority(any, THREAD_PRIORITY_LOWEST));
    EXPECT_EQ(GetThreadPriority(any), THREAD_PRIORITY_LOWEST);
    CloseHandle(any);
    done = true;
    plain.join();
    SetLastError(0);
    EXPECT_EQ(OpenThread(SYNCHRONIZE, FALSE, 0), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    EXPECT_EQ(OpenThread(SYNCHRONIZE, FALSE, 0x7ffffff0), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
}

// S-W32T-2: the seven relative priorities round-trip, IDLE and TIME_CRITICAL saturate;
// others are refused; a driver sees the same value through KeQueryPriorityThread.
TEST_F(Win32Sync, S_W32T_2_ThreadPriorities) {
    HANDLE self = GetCurrentThread();
    for (int p : {THREAD_PRIORITY_IDLE, THREAD_PRIORITY_LOWEST, THREAD_PRIORITY_BELOW_NORMAL, THREAD_PRIORITY_NORMAL,
                  THREAD_PRIORITY_ABOVE_NORMAL, THREAD_PRIORITY_HIGHEST, THREAD_PRIORITY_TIME_CRITICAL}) {
        EXPECT_TRUE(SetThreadPriority(self, p)) << p;
        EXPECT_EQ(GetThreadPriority(self), p);
    }
    EXPECT_EQ(KeQueryPriorityThread(KeGetCurrentThread()), 15) << "TIME_CRITICAL is base priority 15";
    SetLastError(0);
    EXPECT_FALSE(SetThreadPriority(self, 3));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    EXPECT_EQ(GetThreadPriority(self), THREAD_PRIORITY_TIME_CRITICAL) << "a refusal changes nothing";
    EXPECT_TRUE(SetThreadPriority(self, THREAD_PRIORITY_NORMAL));
    EXPECT_EQ(KeQueryPriorityThread(KeGetCurrentThread()), 8);
    EXPECT_EQ(GetThreadPriority(reinterpret_cast<HANDLE>(0x1234)), THREAD_PRIORITY_ERROR_RETURN);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
}

// S-W32T-3: calendar time on the runtime's clock, which virtual time moves; the
// conversions check their fields and round-trip.
TEST_F(Win32Sync, S_W32T_3_CalendarTimeFollowsTheClock) {
    SYSTEMTIME before, after;
    GetSystemTime(&before);
    Sleep(61000);  // virtual: exact
    GetSystemTime(&after);
    FILETIME fb, fa;
    ASSERT_TRUE(SystemTimeToFileTime(&before, &fb));
    ASSERT_TRUE(SystemTimeToFileTime(&after, &fa));
    ULONGLONG b = (ULONGLONG(fb.dwHighDateTime) << 32) | fb.dwLowDateTime;
    ULONGLONG a = (ULONGLONG(fa.dwHighDateTime) << 32) | fa.dwLowDateTime;
    EXPECT_EQ(a - b, 61000ULL * 10000) << "a minute and a second of virtual time, to the millisecond";
    FILETIME now;
    GetSystemTimeAsFileTime(&now);
    SYSTEMTIME st;
    ASSERT_TRUE(FileTimeToSystemTime(&now, &st));
    EXPECT_EQ(st.wYear, after.wYear);
    EXPECT_EQ(st.wMinute, after.wMinute);
    // 2024-02-29 (a Thursday) 23:59:59.999
    SYSTEMTIME leap{2024, 2, 0, 29, 23, 59, 59, 999};
    FILETIME ft;
    ASSERT_TRUE(SystemTimeToFileTime(&leap, &ft));
    SYSTEMTIME back;
    ASSERT_TRUE(FileTimeToSystemTime(&ft, &back));
    EXPECT_EQ(back.wDay, 29);
    EXPECT_EQ(back.wDayOfWeek, 4);
    EXPECT_EQ(back.wMilliseconds, 999);
    SYSTEMTIME bad = leap;
    bad.wYear = 2023;  // no 29 February
    SetLastError(0);
    EXPECT_FALSE(SystemTimeToFileTime(&bad, &ft));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    FILETIME negative{0, 0x80000000u};
    EXPECT_FALSE(FileTimeToSystemTime(&negative, &back));
    // local time: the host zone's current offset (a fixed UTC+3 zone here), both ways
    const char* old_tz = getenv("TZ");
    std::string saved = old_tz ? old_tz : "";
    setenv("TZ", "MSK-3", 1);
    tzset();
    FILETIME local, utc;
    ASSERT_TRUE(FileTimeToLocalFileTime(&now, &local));
    EXPECT_EQ(((ULONGLONG(local.dwHighDateTime) << 32) | local.dwLowDateTime) -
                  ((ULONGLONG(now.dwHighDateTime) << 32) | now.dwLowDateTime),
              3ULL * 3600 * 10000000);
    ASSERT_TRUE(LocalFileTimeToFileTime(&local, &utc));
    EXPECT_EQ(utc.dwLowDateTime, now.dwLowDateTime);
    EXPECT_EQ(utc.dwHighDateTime, now.dwHighDateTime);
    SYSTEMTIME lt;
    GetLocalTime(&lt);
    ASSERT_TRUE(FileTimeToSystemTime(&local, &back));
    EXPECT_EQ(lt.wMinute, back.wMinute);
    EXPECT_EQ(lt.wHour, back.wHour);
    if (old_tz) setenv("TZ", saved.c_str(), 1);
    else unsetenv("TZ");
    tzset();
}

// S-W32T-4: the host's current directory, with Windows's size contract: the length
// without the terminator when it fits, else the size needed with it.
TEST_F(Win32Sync, S_W32T_4_CurrentDirectoryAndItsSize) {
    char host[4096];
    ASSERT_NE(getcwd(host, sizeof host), nullptr);
    DWORD length = static_cast<DWORD>(strlen(host));
    EXPECT_EQ(GetCurrentDirectoryA(0, nullptr), length + 1);
    char small[2];
    EXPECT_EQ(GetCurrentDirectoryA(sizeof small, small), length + 1) << "too small: the size needed";
    std::string a(length + 1, '#');
    EXPECT_EQ(GetCurrentDirectoryA(length + 1, a.data()), length);
    EXPECT_STREQ(a.c_str(), host);
    std::wstring w(length + 1, L'#');
    EXPECT_EQ(GetCurrentDirectoryW(length + 1, w.data()), length);
    EXPECT_EQ(w[0], static_cast<wchar_t>(host[0]));
}

}  // namespace
