// Private thread pools, callback environments and cleanup groups (S-TP-22..30), and
// timer queues with the WT_* flags (S-TQ-1..6). Each test runs on the virtual clock, so
// every timer, gate and period is at an exact millisecond.
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <set>
#include <vector>

#include "io_test_support.hpp"

namespace {

using namespace ntio::testing;
using testdrv::Script;

class ThreadPoolPrivate : public IoTest {
protected:
    void TearDown() override {
        IoTest::TearDown();
        EXPECT_EQ(new_driver_bugs(), 0u);
    }
    HANDLE event(BOOL manual = TRUE) { return CreateEventA(nullptr, manual, FALSE, nullptr); }
    // An environment on `pool` (and `group`, with `cancel`).
    static TP_CALLBACK_ENVIRON env_for(PTP_POOL pool, PTP_CLEANUP_GROUP group = nullptr,
                                       PTP_CLEANUP_GROUP_CANCEL_CALLBACK cancel = nullptr) {
        TP_CALLBACK_ENVIRON env;
        InitializeThreadpoolEnvironment(&env);
        SetThreadpoolCallbackPool(&env, pool);
        if (group) SetThreadpoolCallbackCleanupGroup(&env, group, cancel);
        return env;
    }
};

FILETIME ft_relative_ms(LONGLONG ms) {
    ULONGLONG v = static_cast<ULONGLONG>(-ms * 10000);
    return FILETIME{static_cast<DWORD>(v), static_cast<DWORD>(v >> 32)};
}

// Work that records where and how many at once, optionally held at a gate.
struct Tally {
    std::mutex lock;
    std::set<DWORD> threads;
    std::vector<int> order;
    std::atomic<int> runs{0}, inside{0}, most_inside{0};
    HANDLE gate = nullptr;    // manual-reset: callbacks wait for it when set
    DWORD sleep_ms = 0;
};

void tally(Tally* t, int tag) {
    int now = ++t->inside;
    int seen = t->most_inside.load();
    while (now > seen && !t->most_inside.compare_exchange_weak(seen, now)) {
    }
    {
        std::lock_guard g(t->lock);
        t->threads.insert(GetCurrentThreadId());
        t->order.push_back(tag);
    }
    if (t->gate) WaitForSingleObject(t->gate, INFINITE);
    if (t->sleep_ms) Sleep(t->sleep_ms);
    --t->inside;
    ++t->runs;
}

VOID CALLBACK tally_work(PTP_CALLBACK_INSTANCE, PVOID context, PTP_WORK) { tally(static_cast<Tally*>(context), 0); }

// ---- private pools (S-TP-22, S-TP-23) ------------------------------------------------

TEST_F(ThreadPoolPrivate, S_TP_22_CallbacksRunOnThePoolsOwnThreads) {
    PTP_POOL pool = CreateThreadpool(nullptr);
    ASSERT_NE(pool, nullptr);
    SetThreadpoolThreadMaximum(pool, 2);
    TP_CALLBACK_ENVIRON env = env_for(pool);
    Tally mine, shared;
    mine.sleep_ms = shared.sleep_ms = 5;
    PTP_WORK a = CreateThreadpoolWork(tally_work, &mine, &env);
    PTP_WORK b = CreateThreadpoolWork(tally_work, &shared, nullptr);
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    for (int i = 0; i < 40; ++i) {
        SubmitThreadpoolWork(a);
        SubmitThreadpoolWork(b);
    }
    WaitForThreadpoolWorkCallbacks(a, FALSE);
    WaitForThreadpoolWorkCallbacks(b, FALSE);
    EXPECT_EQ(mine.runs.load(), 40);
    EXPECT_LE(mine.most_inside.load(), 2);
    EXPECT_LE(mine.threads.size(), 2u);
    for (DWORD id : mine.threads) EXPECT_EQ(shared.threads.count(id), 0u) << "a default pool thread ran it";
    CloseThreadpoolWork(a);
    CloseThreadpoolWork(b);
    DestroyThreadpoolEnvironment(&env);
    CloseThreadpool(pool);
}

TEST_F(ThreadPoolPrivate, S_TP_22_AMaximumOfOneSerializesCallbacks) {
    PTP_POOL pool = CreateThreadpool(nullptr);
    SetThreadpoolThreadMaximum(pool, 1);
    TP_CALLBACK_ENVIRON env = env_for(pool);
    Tally t;
    t.sleep_ms = 10;
    PTP_WORK w = CreateThreadpoolWork(tally_work, &t, &env);
    int64_t t0 = now_ms();
    for (int i = 0; i < 20; ++i) SubmitThreadpoolWork(w);
    WaitForThreadpoolWorkCallbacks(w, FALSE);
    EXPECT_EQ(t.runs.load(), 20);
    EXPECT_EQ(t.most_inside.load(), 1);
    EXPECT_EQ(t.threads.size(), 1u);
    EXPECT_EQ(now_ms() - t0, 200) << "one after the other, 10 ms each";
    CloseThreadpoolWork(w);
    // No other thread may start: CallbackMayRunLong says so (S-TP-6).
    std::atomic<int> may = -1;
    PTP_WORK ask = CreateThreadpoolWork(
        [](PTP_CALLBACK_INSTANCE instance, PVOID c, PTP_WORK) {
            static_cast<std::atomic<int>*>(c)->store(CallbackMayRunLong(instance));
        },
        &may, &env);
    SubmitThreadpoolWork(ask);
    WaitForThreadpoolWorkCallbacks(ask, FALSE);
    EXPECT_EQ(may.load(), FALSE);
    CloseThreadpoolWork(ask);
    CloseThreadpool(pool);
}

TEST_F(ThreadPoolPrivate, S_TP_22_TheMinimumRaisesTheMaximumAndALowerMaximumEndsWorkers) {
    PTP_POOL pool = CreateThreadpool(nullptr);
    SetThreadpoolThreadMaximum(pool, 1);
    ASSERT_TRUE(SetThreadpoolThreadMinimum(pool, 3));  // the maximum follows: 3 may run at once
    TP_CALLBACK_ENVIRON env = env_for(pool);
    Tally t;
    HANDLE gate = t.gate = event();
    PTP_WORK w = CreateThreadpoolWork(tally_work, &t, &env);
    for (int i = 0; i < 6; ++i) SubmitThreadpoolWork(w);
    while (t.inside.load() < 3) Sleep(1);
    Sleep(50);
    EXPECT_EQ(t.inside.load(), 3) << "no more than the maximum";
    SetEvent(t.gate);
    WaitForThreadpoolWorkCallbacks(w, FALSE);
    EXPECT_EQ(t.runs.load(), 6);
    // Back to one: the surplus workers end, and callbacks are serialized again.
    SetThreadpoolThreadMaximum(pool, 1);
    t.gate = nullptr;
    t.sleep_ms = 10;
    t.most_inside = 0;
    int64_t t0 = now_ms();
    for (int i = 0; i < 10; ++i) SubmitThreadpoolWork(w);
    WaitForThreadpoolWorkCallbacks(w, FALSE);
    EXPECT_EQ(t.most_inside.load(), 1);
    EXPECT_EQ(now_ms() - t0, 100);
    EXPECT_FALSE(SetThreadpoolThreadMinimum(nullptr, 1));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    CloseThreadpoolWork(w);
    CloseThreadpool(pool);
    CloseHandle(gate);
}

struct Expiries {
    std::mutex lock;
    std::vector<int64_t> at;  // GetTickCount64 of each expiry
    HANDLE enough = nullptr;  // set at the fourth
};

VOID CALLBACK timer_at(PTP_CALLBACK_INSTANCE, PVOID context, PTP_TIMER) {
    auto* e = static_cast<Expiries*>(context);
    std::lock_guard g(e->lock);
    e->at.push_back(static_cast<int64_t>(GetTickCount64()));
    if (e->at.size() == 4) SetEvent(e->enough);
}

TEST_F(ThreadPoolPrivate, S_TP_30_APrivatePoolsTimersAndWaitsRunAtExactVirtualTimes) {
    PTP_POOL pool = CreateThreadpool(nullptr);
    SetThreadpoolThreadMaximum(pool, 1);
    TP_CALLBACK_ENVIRON env = env_for(pool);
    Expiries e;
    e.enough = event();
    PTP_TIMER t = CreateThreadpoolTimer(timer_at, &e, &env);
    ASSERT_NE(t, nullptr);
    auto start = static_cast<int64_t>(GetTickCount64());
    FILETIME due = ft_relative_ms(1500);
    SetThreadpoolTimer(t, &due, 250, 0);
    ASSERT_EQ(WaitForSingleObject(e.enough, INFINITE), WAIT_OBJECT_0);
    SetThreadpoolTimer(t, nullptr, 0, 0);
    WaitForThreadpoolTimerCallbacks(t, TRUE);
    {
        std::lock_guard g(e.lock);
        ASSERT_GE(e.at.size(), 4u);
        for (size_t i = 0; i < 4; ++i) EXPECT_EQ(e.at[i] - start, 1500 + 250 * static_cast<int64_t>(i)) << i;
    }
    CloseHandle(e.enough);
    CloseThreadpoolTimer(t);
    // A wait's timeout, on the same pool.
    struct WaitAt {
        int64_t at = -1;
        TP_WAIT_RESULT result = 0;
        HANDLE done;
    } w{-1, 0, event()};
    PTP_WAIT pw = CreateThreadpoolWait(
        [](PTP_CALLBACK_INSTANCE instance, PVOID c, PTP_WAIT, TP_WAIT_RESULT r) {
            auto* x = static_cast<WaitAt*>(c);
            x->at = static_cast<int64_t>(GetTickCount64());
            x->result = r;
            SetEventWhenCallbackReturns(instance, x->done);
        },
        &w, &env);
    HANDLE never = event();
    start = static_cast<int64_t>(GetTickCount64());
    due = ft_relative_ms(700);
    SetThreadpoolWait(pw, never, &due);
    ASSERT_EQ(WaitForSingleObject(w.done, INFINITE), WAIT_OBJECT_0);
    EXPECT_EQ(w.at - start, 700);
    EXPECT_EQ(w.result, static_cast<TP_WAIT_RESULT>(WAIT_TIMEOUT));
    WaitForThreadpoolWaitCallbacks(pw, FALSE);
    CloseThreadpoolWait(pw);
    CloseThreadpool(pool);
    CloseHandle(never);
    CloseHandle(w.done);
}

TEST_F(ThreadPoolPrivate, S_TP_23_ClosingAPoolWithObjectsLetsTheirCallbacksRun) {
    PTP_POOL pool = CreateThreadpool(nullptr);
    SetThreadpoolThreadMaximum(pool, 1);
    TP_CALLBACK_ENVIRON env = env_for(pool);
    Tally t;
    t.gate = event();
    PTP_WORK w = CreateThreadpoolWork(tally_work, &t, &env);
    for (int i = 0; i < 3; ++i) SubmitThreadpoolWork(w);
    CloseThreadpool(pool);  // the pool lives on until its last object is freed
    HANDLE opener = spawn([&] {
        Sleep(400);
        SetEvent(t.gate);
    });
    int64_t t0 = now_ms();
    WaitForThreadpoolWorkCallbacks(w, FALSE);
    EXPECT_EQ(now_ms() - t0, 400);
    EXPECT_EQ(t.runs.load(), 3);
    CloseThreadpoolWork(w);  // the pool's last object: the pool ends
    join(opener);
    // An environment naming an ended pool, a bad version or priority is refused.
    SetLastError(0);
    EXPECT_EQ(CreateThreadpoolWork(tally_work, &t, &env), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    TP_CALLBACK_ENVIRON bad;
    InitializeThreadpoolEnvironment(&bad);
    bad.Version = 2;
    SetLastError(0);
    EXPECT_FALSE(TrySubmitThreadpoolCallback([](PTP_CALLBACK_INSTANCE, PVOID) {}, nullptr, &bad));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    InitializeThreadpoolEnvironment(&bad);
    const unsigned out_of_range = 7;  // stored as a C program may (memcpy keeps C++ from objecting)
    std::memcpy(&bad.CallbackPriority, &out_of_range, sizeof out_of_range);
    SetLastError(0);
    EXPECT_EQ(CreateThreadpoolTimer([](PTP_CALLBACK_INSTANCE, PVOID, PTP_TIMER) {}, nullptr, &bad), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    // An empty pool ends at once.
    CloseThreadpool(CreateThreadpool(nullptr));
    CloseHandle(t.gate);
}

// ---- priorities, stack, the hints (S-TP-27..29) -----------------------------------------

struct Prio {
    Tally* t;
    int tag;
};

VOID CALLBACK prio_work(PTP_CALLBACK_INSTANCE, PVOID context, PTP_WORK) {
    auto* p = static_cast<Prio*>(context);
    tally(p->t, p->tag);
}

TEST_F(ThreadPoolPrivate, S_TP_27_HigherPriorityCallbacksStartFirst) {
    PTP_POOL pool = CreateThreadpool(nullptr);
    SetThreadpoolThreadMaximum(pool, 1);
    Tally t;
    HANDLE gate = event();
    Tally blocker;
    blocker.gate = gate;
    TP_CALLBACK_ENVIRON env = env_for(pool);
    PTP_WORK block = CreateThreadpoolWork(tally_work, &blocker, &env);
    SubmitThreadpoolWork(block);
    while (blocker.inside.load() == 0) Sleep(1);
    // Queued behind the blocked worker: low, normal, high, twice each.
    Prio p[3] = {{&t, 2}, {&t, 1}, {&t, 0}};
    const TP_CALLBACK_PRIORITY prio[3] = {TP_CALLBACK_PRIORITY_LOW, TP_CALLBACK_PRIORITY_NORMAL,
                                          TP_CALLBACK_PRIORITY_HIGH};
    PTP_WORK w[3];
    for (int i = 0; i < 3; ++i) {
        TP_CALLBACK_ENVIRON e = env_for(pool);
        SetThreadpoolCallbackPriority(&e, prio[i]);
        w[i] = CreateThreadpoolWork(prio_work, &p[i], &e);
        ASSERT_NE(w[i], nullptr);
    }
    for (int round = 0; round < 2; ++round)
        for (PTP_WORK x : w) SubmitThreadpoolWork(x);
    SetEvent(gate);
    for (PTP_WORK x : w) WaitForThreadpoolWorkCallbacks(x, FALSE);
    EXPECT_EQ(t.order, (std::vector<int>{0, 0, 1, 1, 2, 2}));
    for (PTP_WORK x : w) CloseThreadpoolWork(x);
    WaitForThreadpoolWorkCallbacks(block, FALSE);
    CloseThreadpoolWork(block);
    CloseThreadpool(pool);
    CloseHandle(gate);
}

VOID CALLBACK stack_work(PTP_CALLBACK_INSTANCE, PVOID context, PTP_WORK) {
    pthread_attr_t attr;
    size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        pthread_attr_getstacksize(&attr, &size);
        pthread_attr_destroy(&attr);
    }
    *static_cast<size_t*>(context) = size;
}

TEST_F(ThreadPoolPrivate, S_TP_28_TheStackReserveIsTheWorkersStackSize) {
    PTP_POOL pool = CreateThreadpool(nullptr);
    TP_POOL_STACK_INFORMATION si{size_t(24) << 20, size_t(64) << 10};
    ASSERT_TRUE(SetThreadpoolStackInformation(pool, &si));
    TP_POOL_STACK_INFORMATION back{};
    ASSERT_TRUE(QueryThreadpoolStackInformation(pool, &back));
    EXPECT_EQ(back.StackReserve, si.StackReserve);
    EXPECT_EQ(back.StackCommit, si.StackCommit);
    TP_CALLBACK_ENVIRON env = env_for(pool);
    size_t seen = 0;
    PTP_WORK w = CreateThreadpoolWork(stack_work, &seen, &env);
    SubmitThreadpoolWork(w);
    WaitForThreadpoolWorkCallbacks(w, FALSE);
    EXPECT_GE(seen, si.StackReserve);
    SetLastError(0);
    EXPECT_FALSE(SetThreadpoolStackInformation(pool, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    CloseThreadpoolWork(w);
    CloseThreadpool(pool);
}

TEST_F(ThreadPoolPrivate, S_TP_29_TheHintsAreAcceptedAndChangeNothing) {
    PTP_POOL pool = CreateThreadpool(nullptr);
    SetThreadpoolThreadMaximum(pool, 1);
    TP_CALLBACK_ENVIRON env = env_for(pool);
    SetThreadpoolCallbackRunsLong(&env);
    SetThreadpoolCallbackPersistent(&env);
    int module = 0;
    SetThreadpoolCallbackLibrary(&env, &module);
    EXPECT_EQ(static_cast<DWORD>(env.u.s.LongFunction), 1u);
    EXPECT_EQ(static_cast<DWORD>(env.u.s.Persistent), 1u);
    EXPECT_EQ(env.RaceDll, &module);
    EXPECT_EQ(env.Version, 3u);
    EXPECT_EQ(env.Size, sizeof(TP_CALLBACK_ENVIRON_V3));
    Tally t;
    t.sleep_ms = 10;
    PTP_WORK w = CreateThreadpoolWork(tally_work, &t, &env);
    for (int i = 0; i < 5; ++i) SubmitThreadpoolWork(w);
    WaitForThreadpoolWorkCallbacks(w, FALSE);
    EXPECT_EQ(t.runs.load(), 5);
    EXPECT_EQ(t.most_inside.load(), 1) << "a long function still keeps to the maximum";
    CloseThreadpoolWork(w);
    CloseThreadpool(pool);
}

// ---- cleanup groups (S-TP-24..26) -----------------------------------------------------

struct Cancelled {
    std::mutex lock;
    std::vector<std::pair<void*, void*>> calls;  // (object context, cleanup context)
};
Cancelled* g_cancelled = nullptr;

VOID CALLBACK on_cancel(PVOID object_context, PVOID cleanup_context) {
    std::lock_guard g(g_cancelled->lock);
    g_cancelled->calls.emplace_back(object_context, cleanup_context);
}

TEST_F(ThreadPoolPrivate, S_TP_25_ClosingMembersWaitsForEveryCallbackQueuedOrRunning) {
    PTP_POOL pool = CreateThreadpool(nullptr);
    SetThreadpoolThreadMaximum(pool, 1);
    PTP_CLEANUP_GROUP group = CreateThreadpoolCleanupGroup();
    ASSERT_NE(group, nullptr);
    Cancelled c;
    g_cancelled = &c;
    TP_CALLBACK_ENVIRON env = env_for(pool, group, on_cancel);
    Tally t;
    t.gate = event();
    PTP_WORK w = CreateThreadpoolWork(tally_work, &t, &env);
    for (int i = 0; i < 4; ++i) SubmitThreadpoolWork(w);
    ASSERT_TRUE(TrySubmitThreadpoolCallback([](PTP_CALLBACK_INSTANCE, PVOID x) { tally(static_cast<Tally*>(x), 9); },
                                            &t, &env));
    HANDLE opener = spawn([&] {
        Sleep(300);
        SetEvent(t.gate);
    });
    int64_t t0 = now_ms();
    CloseThreadpoolCleanupGroupMembers(group, FALSE, &t);
    EXPECT_EQ(now_ms() - t0, 300);
    EXPECT_EQ(t.runs.load(), 5) << "nothing cancelled without fCancelPendingCallbacks";
    EXPECT_TRUE(c.calls.empty()) << "no cancel callback without fCancelPendingCallbacks";
    join(opener);
    // The group stays usable: a new member, closed the same way.
    PTP_WORK again = CreateThreadpoolWork(tally_work, &t, &env);
    SubmitThreadpoolWork(again);
    CloseThreadpoolCleanupGroupMembers(group, FALSE, nullptr);
    EXPECT_EQ(t.runs.load(), 6);
    CloseThreadpoolCleanupGroup(group);
    CloseThreadpool(pool);
    CloseHandle(t.gate);
    g_cancelled = nullptr;
}

TEST_F(ThreadPoolPrivate, S_TP_26_CancellingDropsWhatHasNotStartedAndCallsTheCancelCallback) {
    PTP_POOL pool = CreateThreadpool(nullptr);
    SetThreadpoolThreadMaximum(pool, 1);
    PTP_CLEANUP_GROUP group = CreateThreadpoolCleanupGroup();
    Cancelled c;
    g_cancelled = &c;
    TP_CALLBACK_ENVIRON env = env_for(pool, group, on_cancel);
    Tally t;
    t.gate = event();
    int ctx_timer = 0, ctx_wait = 0, ctx_closed = 0, cleanup = 0;
    PTP_WORK w = CreateThreadpoolWork(tally_work, &t, &env);
    for (int i = 0; i < 4; ++i) SubmitThreadpoolWork(w);  // one runs, three wait behind it
    ASSERT_TRUE(TrySubmitThreadpoolCallback([](PTP_CALLBACK_INSTANCE, PVOID x) { tally(static_cast<Tally*>(x), 9); },
                                            &t, &env));
    PTP_TIMER tm = CreateThreadpoolTimer([](PTP_CALLBACK_INSTANCE, PVOID, PTP_TIMER) {}, &ctx_timer, &env);
    FILETIME due = ft_relative_ms(60000);
    SetThreadpoolTimer(tm, &due, 0, 0);
    PTP_WAIT wt = CreateThreadpoolWait([](PTP_CALLBACK_INSTANCE, PVOID, PTP_WAIT, TP_WAIT_RESULT) {}, &ctx_wait, &env);
    HANDLE never = event();
    SetThreadpoolWait(wt, never, nullptr);
    PTP_WORK closed = CreateThreadpoolWork(tally_work, &ctx_closed, &env);
    CloseThreadpoolWork(closed);  // the program's own close: no cancel callback for it
    while (t.inside.load() == 0) Sleep(1);
    HANDLE opener = spawn([&] {
        Sleep(250);
        SetEvent(t.gate);
    });
    int64_t t0 = now_ms();
    CloseThreadpoolCleanupGroupMembers(group, TRUE, &cleanup);
    EXPECT_EQ(now_ms() - t0, 250) << "waited for the running callback";
    EXPECT_EQ(t.runs.load(), 1) << "the queued ones were dropped";
    // One call per member the program had not closed, with its context and the cleanup context.
    std::set<void*> objects;
    for (auto& [object, ctx] : c.calls) {
        EXPECT_EQ(ctx, &cleanup);
        objects.insert(object);
    }
    EXPECT_EQ(c.calls.size(), 4u);
    EXPECT_EQ(objects, (std::set<void*>{&t, &ctx_timer, &ctx_wait}));  // the work and the one-shot share &t
    EXPECT_EQ(std::count_if(c.calls.begin(), c.calls.end(), [&](auto& p) { return p.first == &t; }), 2);
    Sleep(61000);
    EXPECT_EQ(t.runs.load(), 1) << "nothing of a closed member runs later";
    join(opener);
    CloseThreadpoolCleanupGroup(group);
    CloseThreadpool(pool);
    CloseHandle(never);
    CloseHandle(t.gate);
    g_cancelled = nullptr;
}

struct IoSeen {
    std::atomic<int> callbacks{0};
    std::atomic<int64_t> at{-1};
    ntio::System* sys = nullptr;
};

TEST_F(ThreadPoolPrivate, S_TP_24_AnIoObjectIsAMemberAndItsAnnouncedOperationIsWaitedFor) {
    PTP_POOL pool = CreateThreadpool(nullptr);
    PTP_CLEANUP_GROUP group = CreateThreadpoolCleanupGroup();
    TP_CALLBACK_ENVIRON env = env_for(pool, group);
    HANDLE h = open(testdrv::kBuffered, true);
    ASSERT_NE(h, INVALID_HANDLE_VALUE);
    IoSeen seen;
    seen.sys = &sys;
    PTP_IO io = CreateThreadpoolIo(
        h,
        [](PTP_CALLBACK_INSTANCE, PVOID c, PVOID, ULONG, ULONG_PTR, PTP_IO) {
            auto* s = static_cast<IoSeen*>(c);
            s->at = std::chrono::duration_cast<std::chrono::milliseconds>(s->sys->now()).count();
            s->callbacks++;
        },
        &seen, &env);
    ASSERT_NE(io, nullptr);
    OVERLAPPED ov{};
    Script s = later(STATUS_SUCCESS, 900);
    StartThreadpoolIo(io);
    int64_t t0 = now_ms();
    EXPECT_FALSE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, &s, sizeof s, nullptr, 0, nullptr, &ov));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_IO_PENDING));
    CloseThreadpoolCleanupGroupMembers(group, FALSE, nullptr);  // closes the I/O object too
    EXPECT_EQ(seen.callbacks.load(), 1);
    EXPECT_EQ(seen.at.load() - t0, 900);
    CloseHandle(h);
    CloseThreadpoolCleanupGroup(group);
    CloseThreadpool(pool);
}

// ---- the runtime's teardown (S-TP-30) ---------------------------------------------------

TEST(ThreadPoolPrivateTeardown, S_TP_30_PrivatePoolsGroupsAndQueuesLeftOpenEndWithTheRuntime) {
    {
        ntio::System sys({.clock = ntio::Clock::virtual_time});
        PTP_POOL open_pool = CreateThreadpool(nullptr);
        PTP_POOL closed_pool = CreateThreadpool(nullptr);
        PTP_CLEANUP_GROUP group = CreateThreadpoolCleanupGroup();
        TP_CALLBACK_ENVIRON env;
        InitializeThreadpoolEnvironment(&env);
        SetThreadpoolCallbackPool(&env, open_pool);
        SetThreadpoolCallbackCleanupGroup(&env, group, nullptr);
        PTP_TIMER t = CreateThreadpoolTimer([](PTP_CALLBACK_INSTANCE, PVOID, PTP_TIMER) {}, nullptr, &env);
        FILETIME due = ft_relative_ms(100);
        SetThreadpoolTimer(t, &due, 100, 0);
        SetThreadpoolCallbackPool(&env, closed_pool);
        PTP_WORK w = CreateThreadpoolWork([](PTP_CALLBACK_INSTANCE, PVOID, PTP_WORK) { Sleep(10); }, nullptr, &env);
        for (int i = 0; i < 5; ++i) SubmitThreadpoolWork(w);
        CloseThreadpool(closed_pool);  // its work object keeps it
        CloseThreadpoolCleanupGroup(group);  // its members keep it
        HANDLE q = CreateTimerQueue();
        HANDLE qt = nullptr;
        ASSERT_TRUE(CreateTimerQueueTimer(&qt, q, [](PVOID, BOOLEAN) {}, nullptr, 50, 50, 0));
        HANDLE deleted = CreateTimerQueue();
        ASSERT_TRUE(CreateTimerQueueTimer(&qt, deleted, [](PVOID, BOOLEAN) { Sleep(2000); }, nullptr, 0, 0, 0));
        Sleep(1000);
        ASSERT_TRUE(DeleteTimerQueueEx(deleted, nullptr));  // its timer's callback still runs
        // Nothing else is closed: the runtime's teardown ends the pools and frees the rest.
    }
    EXPECT_FALSE(ntio::System::exists());
}

// ---- timer queues (S-TQ-1..6) ---------------------------------------------------------

class TimerQueue : public VirtualTimeTest {
protected:
    HANDLE event(BOOL manual = TRUE) { return CreateEventA(nullptr, manual, FALSE, nullptr); }
};

struct Fired {
    std::mutex lock;
    std::vector<DWORD> ticks;
    std::set<DWORD> threads;
    std::atomic<int> runs{0};
    HANDLE entered = nullptr;  // set as a callback starts
    HANDLE release = nullptr;  // what a callback waits for, when set
    HANDLE queue = nullptr;
    HANDLE timer = nullptr;
    std::atomic<int> action{0};  // what a callback does to its own timer (S-TQ-3)
    std::atomic<BOOL> result{-1};
    std::atomic<DWORD> error{0};
};

VOID CALLBACK fired(PVOID context, BOOLEAN timer_or_wait) {
    auto* f = static_cast<Fired*>(context);
    {
        std::lock_guard g(f->lock);
        if (timer_or_wait) f->ticks.push_back(GetTickCount());
        f->threads.insert(GetCurrentThreadId());
    }
    f->runs++;
    switch (f->action.exchange(0)) {
    case 1:  // delete itself, not waiting
        SetLastError(0);
        f->result = DeleteTimerQueueTimer(f->queue, f->timer, nullptr);
        f->error = GetLastError();
        break;
    case 2:  // delete itself, waiting for its callbacks
        f->result = DeleteTimerQueueTimer(f->queue, f->timer, INVALID_HANDLE_VALUE);
        break;
    case 3:  // delete its whole queue, waiting
        f->result = DeleteTimerQueueEx(f->queue, INVALID_HANDLE_VALUE);
        break;
    default:
        break;
    }
    if (f->entered) SetEvent(f->entered);
    if (f->release) WaitForSingleObject(f->release, INFINITE);
}

TEST_F(TimerQueue, S_TQ_1_AQueuesTimersRunAtExactTimesUntilDeleted) {
    HANDLE q = CreateTimerQueue();
    ASSERT_NE(q, nullptr);
    Fired a, b;
    a.entered = event(FALSE);
    HANDLE ta = nullptr, tb = nullptr;
    DWORD start = GetTickCount();
    ASSERT_TRUE(CreateTimerQueueTimer(&ta, q, fired, &a, 250, 100, WT_EXECUTEDEFAULT));
    ASSERT_TRUE(CreateTimerQueueTimer(&tb, q, fired, &b, 330, 0, WT_EXECUTEDEFAULT));
    while (a.runs.load() < 5) WaitForSingleObject(a.entered, INFINITE);
    ASSERT_TRUE(DeleteTimerQueueEx(q, INVALID_HANDLE_VALUE));
    ASSERT_GE(a.ticks.size(), 5u);
    for (DWORD i = 0; i < 5; ++i) EXPECT_EQ(a.ticks[i] - start, 250 + 100 * i) << i;
    ASSERT_EQ(b.ticks.size(), 1u);
    EXPECT_EQ(b.ticks[0] - start, 330u);
    int runs = a.runs.load();
    Sleep(1000);
    EXPECT_EQ(a.runs.load(), runs) << "deleting the queue deleted its timers";
    // A queue handle that is not one (or no more) is refused.
    HANDLE t = nullptr;
    SetLastError(0);
    EXPECT_FALSE(CreateTimerQueueTimer(&t, q, fired, &a, 0, 0, 0));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    SetLastError(0);
    EXPECT_FALSE(CreateTimerQueueTimer(&t, reinterpret_cast<HANDLE>(1), fired, &a, 0, 0, 0));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    SetLastError(0);
    EXPECT_FALSE(CreateTimerQueueTimer(&t, nullptr, nullptr, &a, 0, 0, 0));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    CloseHandle(a.entered);
}

TEST_F(TimerQueue, S_TQ_2_DeleteTimerQueueExReturnsAtOnceWaitsOrSetsTheEvent) {
    // NULL: returns at once, TRUE, while a callback runs; it finishes on its own.
    Fired f;
    f.entered = event(FALSE);
    f.release = event(TRUE);
    HANDLE q = CreateTimerQueue();
    HANDLE t = nullptr;
    ASSERT_TRUE(CreateTimerQueueTimer(&t, q, fired, &f, 0, 10, 0));
    ASSERT_EQ(WaitForSingleObject(f.entered, INFINITE), WAIT_OBJECT_0);
    DWORD start = GetTickCount();
    EXPECT_TRUE(DeleteTimerQueueEx(q, nullptr));
    EXPECT_EQ(GetTickCount() - start, 0u);
    SetEvent(f.release);
    Sleep(100);
    EXPECT_EQ(f.runs.load(), 1) << "the queued periods were dropped";
    // An event: set once the running callback has returned.
    ResetEvent(f.release);
    f.runs = 0;
    HANDLE done = event(TRUE);
    q = CreateTimerQueue();
    ASSERT_TRUE(CreateTimerQueueTimer(&t, q, fired, &f, 0, 0, 0));
    ASSERT_EQ(WaitForSingleObject(f.entered, INFINITE), WAIT_OBJECT_0);
    EXPECT_TRUE(DeleteTimerQueueEx(q, done));
    EXPECT_EQ(WaitForSingleObject(done, 0), static_cast<DWORD>(WAIT_TIMEOUT));
    start = GetTickCount();
    HANDLE th = spawn([&] {
        Sleep(300);
        SetEvent(f.release);
    });
    ASSERT_EQ(WaitForSingleObject(done, INFINITE), WAIT_OBJECT_0);
    EXPECT_EQ(GetTickCount() - start, 300u);
    join(th);
    // INVALID_HANDLE_VALUE: returns once the running callback has.
    ResetEvent(f.release);
    q = CreateTimerQueue();
    ASSERT_TRUE(CreateTimerQueueTimer(&t, q, fired, &f, 0, 0, 0));
    ASSERT_EQ(WaitForSingleObject(f.entered, INFINITE), WAIT_OBJECT_0);
    start = GetTickCount();
    th = spawn([&] {
        Sleep(200);
        SetEvent(f.release);
    });
    EXPECT_TRUE(DeleteTimerQueueEx(q, INVALID_HANDLE_VALUE));
    EXPECT_EQ(GetTickCount() - start, 200u);
    join(th);
    // An empty queue: the event is set at once; DeleteTimerQueue is the NULL form.
    ResetEvent(done);
    q = CreateTimerQueue();
    EXPECT_TRUE(DeleteTimerQueueEx(q, done));
    EXPECT_EQ(WaitForSingleObject(done, 0), WAIT_OBJECT_0);
    EXPECT_TRUE(DeleteTimerQueue(CreateTimerQueue()));
    // The default queue cannot be deleted, nor a queue twice.
    SetLastError(0);
    EXPECT_FALSE(DeleteTimerQueueEx(nullptr, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    SetLastError(0);
    EXPECT_FALSE(DeleteTimerQueue(q));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    CloseHandle(done);
    CloseHandle(f.entered);
    CloseHandle(f.release);
}

TEST_F(TimerQueue, S_TQ_3_ATimersOwnCallbackMayDeleteItOrItsQueue) {
    HANDLE q = CreateTimerQueue();
    Fired f;
    f.entered = event(FALSE);
    f.queue = q;
    // NULL from its own callback: FALSE with ERROR_IO_PENDING (the callback itself runs).
    f.action = 1;
    ASSERT_TRUE(CreateTimerQueueTimer(&f.timer, q, fired, &f, 100, 100, 0));
    ASSERT_EQ(WaitForSingleObject(f.entered, INFINITE), WAIT_OBJECT_0);
    Sleep(1000);
    EXPECT_FALSE(f.result.load());
    EXPECT_EQ(f.error.load(), static_cast<DWORD>(ERROR_IO_PENDING));
    EXPECT_EQ(f.runs.load(), 1) << "deleted: no further period";
    // INVALID_HANDLE_VALUE from its own callback: does not wait for itself.
    f.runs = 0;
    f.action = 2;
    ASSERT_TRUE(CreateTimerQueueTimer(&f.timer, q, fired, &f, 100, 100, 0));
    ASSERT_EQ(WaitForSingleObject(f.entered, INFINITE), WAIT_OBJECT_0);
    Sleep(1000);
    EXPECT_EQ(f.result.load(), TRUE);
    EXPECT_EQ(f.runs.load(), 1);
    // DeleteTimerQueueEx(INVALID_HANDLE_VALUE) from a callback of the queue's: the same.
    f.runs = 0;
    f.action = 3;
    f.result = FALSE;
    ASSERT_TRUE(CreateTimerQueueTimer(&f.timer, q, fired, &f, 100, 100, 0));
    ASSERT_EQ(WaitForSingleObject(f.entered, INFINITE), WAIT_OBJECT_0);
    Sleep(1000);
    EXPECT_EQ(f.result.load(), TRUE);
    EXPECT_EQ(f.runs.load(), 1);
    CloseHandle(f.entered);
}

TEST_F(TimerQueue, S_TQ_4_ChangeRetimesATimerButNotAnExpiredOneShotOne) {
    HANDLE q = CreateTimerQueue();
    Fired f;
    f.entered = event(FALSE);
    HANDLE t = nullptr;
    DWORD start = GetTickCount();
    ASSERT_TRUE(CreateTimerQueueTimer(&t, q, fired, &f, 10000, 0, 0));
    // Before it expires: moved (the queue handle may be any, NULL too, as on Windows).
    ASSERT_TRUE(ChangeTimerQueueTimer(nullptr, t, 40, 0));
    ASSERT_EQ(WaitForSingleObject(f.entered, INFINITE), WAIT_OBJECT_0);
    EXPECT_EQ(f.ticks.back() - start, 40u);
    // Expired one-shot: the call succeeds and changes nothing.
    EXPECT_TRUE(ChangeTimerQueueTimer(q, t, 10, 10));
    Sleep(1000);
    EXPECT_EQ(f.runs.load(), 1);
    EXPECT_TRUE(DeleteTimerQueueTimer(q, t, INVALID_HANDLE_VALUE));
    // A periodic timer takes a new period from the new due time.
    ASSERT_TRUE(CreateTimerQueueTimer(&t, q, fired, &f, 100, 100, 0));
    ASSERT_EQ(WaitForSingleObject(f.entered, INFINITE), WAIT_OBJECT_0);
    start = GetTickCount();
    ASSERT_TRUE(ChangeTimerQueueTimer(q, t, 30, 300));
    ASSERT_EQ(WaitForSingleObject(f.entered, INFINITE), WAIT_OBJECT_0);
    ASSERT_EQ(WaitForSingleObject(f.entered, INFINITE), WAIT_OBJECT_0);
    EXPECT_EQ(f.ticks[f.ticks.size() - 2] - start, 30u);
    EXPECT_EQ(f.ticks.back() - start, 330u);
    EXPECT_TRUE(DeleteTimerQueueEx(q, INVALID_HANDLE_VALUE));
    CloseHandle(f.entered);
}

VOID CALLBACK gated(PTP_CALLBACK_INSTANCE, PVOID context, PTP_WORK) {
    auto* f = static_cast<Fired*>(context);
    f->runs++;
    WaitForSingleObject(f->release, INFINITE);
}

TEST_F(TimerQueue, S_TQ_5_InTimerThreadAndInWaitThreadRunWhileEveryWorkerIsBusy) {
    // Every worker of the default pool held at a gate.
    Fired busy;
    busy.release = event(TRUE);
    PTP_WORK w = CreateThreadpoolWork(gated, &busy, nullptr);
    for (int i = 0; i < 300; ++i) SubmitThreadpoolWork(w);
    Sleep(100);
    int held = busy.runs.load();
    ASSERT_GT(held, 0);
    ASSERT_LT(held, 300) << "the pool's maximum keeps the rest queued";
    // A timer with WT_EXECUTEINTIMERTHREAD and a registered wait with
    // WT_EXECUTEINWAITTHREAD run on their serving threads, on time; a default timer waits
    // for a worker.
    Fired in_timer, in_wait, plain;
    in_timer.entered = event(FALSE);
    in_wait.entered = event(FALSE);
    HANDLE q = CreateTimerQueue();
    HANDLE t1 = nullptr, t2 = nullptr, t3 = nullptr, reg = nullptr;
    DWORD start = GetTickCount();
    ASSERT_TRUE(CreateTimerQueueTimer(&t1, q, fired, &in_timer, 200, 100, WT_EXECUTEINTIMERTHREAD));
    ASSERT_TRUE(CreateTimerQueueTimer(&t2, nullptr, fired, &in_timer, 250, 0, WT_EXECUTEINTIMERTHREAD));
    ASSERT_TRUE(CreateTimerQueueTimer(&t3, q, fired, &plain, 200, 0, 0));
    HANDLE ev = event(FALSE);
    ASSERT_TRUE(RegisterWaitForSingleObject(&reg, ev, fired, &in_wait, INFINITE, WT_EXECUTEINWAITTHREAD));
    SetEvent(ev);
    ASSERT_EQ(WaitForSingleObject(in_wait.entered, INFINITE), WAIT_OBJECT_0);
    while (in_timer.runs.load() < 4) WaitForSingleObject(in_timer.entered, INFINITE);
    {
        std::lock_guard g(in_timer.lock);
        EXPECT_EQ(in_timer.ticks[0] - start, 200u);
        EXPECT_EQ(in_timer.ticks[1] - start, 250u);
        EXPECT_EQ(in_timer.ticks[2] - start, 300u);
        EXPECT_EQ(in_timer.threads.size(), 1u) << "both timers on the one timer thread";
    }
    EXPECT_EQ(plain.runs.load(), 0) << "a default timer's callback waits for a worker";
    SetEvent(busy.release);
    WaitForThreadpoolWorkCallbacks(w, FALSE);
    Sleep(100);
    EXPECT_EQ(plain.runs.load(), 1);
    EXPECT_TRUE(UnregisterWaitEx(reg, INVALID_HANDLE_VALUE));
    EXPECT_TRUE(DeleteTimerQueueTimer(nullptr, t2, INVALID_HANDLE_VALUE));
    EXPECT_TRUE(DeleteTimerQueueEx(q, INVALID_HANDLE_VALUE));
    CloseThreadpoolWork(w);
    for (HANDLE h : {ev, busy.release, in_timer.entered, in_wait.entered}) CloseHandle(h);
}

DWORD WINAPI count_item(LPVOID context) {
    static_cast<Fired*>(context)->runs++;
    return 0;
}

TEST_F(TimerQueue, S_TQ_6_TheOtherFlagsAreAcceptedAndChangeNothing) {
    Fired f;
    f.entered = event(FALSE);
    HANDLE t = nullptr;
    DWORD start = GetTickCount();
    const ULONG flags = WT_EXECUTELONGFUNCTION | WT_EXECUTEINPERSISTENTTHREAD | WT_EXECUTEINIOTHREAD |
                        WT_TRANSFER_IMPERSONATION;
    ASSERT_TRUE(CreateTimerQueueTimer(&t, nullptr, fired, &f, 60, 60, flags));
    while (f.runs.load() < 3) WaitForSingleObject(f.entered, INFINITE);
    EXPECT_TRUE(DeleteTimerQueueTimer(nullptr, t, INVALID_HANDLE_VALUE));
    for (DWORD i = 0; i < 3; ++i) EXPECT_EQ(f.ticks[i] - start, 60 * (i + 1)) << i;
    Fired items;
    for (ULONG flag : {WT_EXECUTELONGFUNCTION, WT_EXECUTEINPERSISTENTTHREAD, WT_EXECUTEINIOTHREAD,
                       WT_EXECUTEINTIMERTHREAD, WT_EXECUTEINWAITTHREAD})
        ASSERT_TRUE(QueueUserWorkItem(count_item, &items, flag));
    for (int i = 0; i < 100 && items.runs.load() < 5; ++i) Sleep(10);
    EXPECT_EQ(items.runs.load(), 5);
    CloseHandle(f.entered);
}

}  // namespace
