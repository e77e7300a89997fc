// The Win32 thread pool (S-TP-1..12): work objects, one-shot callbacks, the callback
// instance's on-return actions, I/O objects on the scripted test driver (pended and
// failed requests, many reads and writes in flight checked byte by byte),
// BindIoCompletionCallback, virtual time and teardown. Each test runs on the virtual
// clock: a pended request completed N ms later reaches its callback at exactly +N ms.
#include <atomic>
#include <cstring>
#include <memory>
#include <vector>

#include "io_test_support.hpp"

namespace {

using namespace ntio::testing;
using testdrv::Script;

class ThreadPool : public IoTest {
protected:
    void TearDown() override {
        IoTest::TearDown();
        EXPECT_EQ(new_driver_bugs(), 0u);
    }
    HANDLE event(BOOL manual = TRUE) { return CreateEventA(nullptr, manual, FALSE, nullptr); }
};

// ---- work objects ------------------------------------------------------------------

struct Counter {
    std::atomic<int> runs{0};
    std::atomic<int> wrong{0};
    PTP_WORK work = nullptr;
    DWORD caller = 0;
};

VOID CALLBACK count_work(PTP_CALLBACK_INSTANCE instance, PVOID context, PTP_WORK work) {
    auto* c = static_cast<Counter*>(context);
    if (!instance || work != c->work || GetCurrentThreadId() == c->caller) c->wrong++;
    c->runs++;
}

TEST_F(ThreadPool, S_TP_1_EachSubmitRunsTheCallbackOnceOnAPoolThread) {
    Counter c;
    c.caller = GetCurrentThreadId();
    c.work = CreateThreadpoolWork(count_work, &c, nullptr);
    ASSERT_NE(c.work, nullptr);
    for (int i = 0; i < 100; ++i) SubmitThreadpoolWork(c.work);
    WaitForThreadpoolWorkCallbacks(c.work, FALSE);
    EXPECT_EQ(c.runs.load(), 100);
    EXPECT_EQ(c.wrong.load(), 0);
    // Again after the wait: the object is reusable until it is closed.
    SubmitThreadpoolWork(c.work);
    WaitForThreadpoolWorkCallbacks(c.work, FALSE);
    EXPECT_EQ(c.runs.load(), 101);
    CloseThreadpoolWork(c.work);
}

TEST_F(ThreadPool, S_TP_1_AnEnvironmentForTheDefaultPoolIsAccepted) {
    TP_CALLBACK_ENVIRON env;
    InitializeThreadpoolEnvironment(&env);
    SetThreadpoolCallbackRunsLong(&env);
    Counter c;
    c.work = CreateThreadpoolWork(count_work, &c, &env);
    ASSERT_NE(c.work, nullptr);
    SubmitThreadpoolWork(c.work);
    WaitForThreadpoolWorkCallbacks(c.work, FALSE);
    EXPECT_EQ(c.runs.load(), 1);
    CloseThreadpoolWork(c.work);
    DestroyThreadpoolEnvironment(&env);
}

TEST_F(ThreadPool, S_TP_5_BadInputsAreRefused) {
    SetLastError(0);
    EXPECT_EQ(CreateThreadpoolWork(nullptr, nullptr, nullptr), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    SetLastError(0);
    EXPECT_FALSE(TrySubmitThreadpoolCallback(nullptr, nullptr, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    SetLastError(0);
    EXPECT_FALSE(QueueUserWorkItem(nullptr, nullptr, WT_EXECUTEDEFAULT));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    // A pool in the environment that is no pool of CreateThreadpool's (S-TP-22).
    TP_CALLBACK_ENVIRON env;
    InitializeThreadpoolEnvironment(&env);
    env.Pool = reinterpret_cast<PTP_POOL>(&env);
    Counter c;
    SetLastError(0);
    EXPECT_EQ(CreateThreadpoolWork(count_work, &c, &env), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    HANDLE h = open(testdrv::kBuffered, true);
    ASSERT_NE(h, INVALID_HANDLE_VALUE);
    SetLastError(0);
    EXPECT_EQ(CreateThreadpoolIo(h, nullptr, nullptr, nullptr), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    CloseHandle(h);
}

// Callbacks that stay inside until the gate opens.
struct Gate {
    HANDLE open = nullptr;
    std::atomic<int> entered{0}, finished{0};
};

VOID CALLBACK gated_work(PTP_CALLBACK_INSTANCE, PVOID context, PTP_WORK) {
    auto* g = static_cast<Gate*>(context);
    g->entered++;
    WaitForSingleObject(g->open, INFINITE);
    g->finished++;
}

TEST_F(ThreadPool, S_TP_3_CancelDropsQueuedCallbacksAndWaitsForRunningOnes) {
    Gate g;
    g.open = event();
    PTP_WORK w = CreateThreadpoolWork(gated_work, &g, nullptr);
    ASSERT_NE(w, nullptr);
    constexpr int kSubmits = 200;  // more than the pool's workers: the rest stay queued
    for (int i = 0; i < kSubmits; ++i) SubmitThreadpoolWork(w);
    // Every worker ends up blocked on the gate; a thread opens it 1 s later.
    HANDLE opener = spawn([&] {
        Sleep(1000);
        SetEvent(g.open);
    });
    int64_t t0 = now_ms();
    WaitForThreadpoolWorkCallbacks(w, TRUE);
    EXPECT_EQ(now_ms() - t0, 1000) << "waited for the running callbacks";
    int ran = g.entered.load();
    EXPECT_GT(ran, 0);
    EXPECT_LT(ran, kSubmits) << "queued callbacks were dropped";
    EXPECT_EQ(g.finished.load(), ran);
    // Nothing dropped runs later.
    Sleep(100);
    EXPECT_EQ(g.entered.load(), ran);
    join(opener);
    CloseThreadpoolWork(w);
    CloseHandle(g.open);
}

TEST_F(ThreadPool, S_TP_2_ClosingWithCallbacksPendingFreesAfterThem) {
    Gate g;
    g.open = event();
    PTP_WORK w = CreateThreadpoolWork(gated_work, &g, nullptr);
    ASSERT_NE(w, nullptr);
    for (int i = 0; i < 5; ++i) SubmitThreadpoolWork(w);
    CloseThreadpoolWork(w);  // the five still run; the object goes after the last
    Sleep(10);
    SetEvent(g.open);
    for (int i = 0; i < 100 && g.finished.load() < 5; ++i) Sleep(10);
    EXPECT_EQ(g.finished.load(), 5);
    CloseHandle(g.open);
}

// ---- one-shot callbacks (S-TP-10) --------------------------------------------------

struct Once {
    std::atomic<int> runs{0};
    HANDLE done = nullptr;
};

VOID CALLBACK simple_callback(PTP_CALLBACK_INSTANCE instance, PVOID context) {
    auto* o = static_cast<Once*>(context);
    o->runs++;
    SetEventWhenCallbackReturns(instance, o->done);
}

DWORD WINAPI user_work_item(LPVOID context) {
    auto* o = static_cast<Once*>(context);
    if (o->runs.fetch_add(1) + 1 == 8) SetEvent(o->done);
    return 0;
}

TEST_F(ThreadPool, S_TP_10_OneShotCallbacksRunOnceWithTheirContext) {
    Once a;
    a.done = event();
    ASSERT_TRUE(TrySubmitThreadpoolCallback(simple_callback, &a, nullptr));
    EXPECT_EQ(WaitForSingleObject(a.done, 5000), WAIT_OBJECT_0);
    Sleep(50);
    EXPECT_EQ(a.runs.load(), 1);
    Once b;
    b.done = event();
    const ULONG flags[] = {WT_EXECUTEDEFAULT, WT_EXECUTEINIOTHREAD, WT_EXECUTELONGFUNCTION,
                           WT_EXECUTEINPERSISTENTTHREAD};
    for (int i = 0; i < 8; ++i) ASSERT_TRUE(QueueUserWorkItem(user_work_item, &b, flags[i % 4]));
    EXPECT_EQ(WaitForSingleObject(b.done, 5000), WAIT_OBJECT_0);
    Sleep(50);
    EXPECT_EQ(b.runs.load(), 8);
    CloseHandle(a.done);
    CloseHandle(b.done);
}

// ---- the callback instance (S-TP-6) ------------------------------------------------

struct Actions {
    HANDLE event = nullptr, semaphore = nullptr, mutex = nullptr;
    CRITICAL_SECTION cs;
    std::atomic<bool> event_set_inside{true}, may_run_long{false};
    std::atomic<bool> cs_owned_inside{false};
};

VOID CALLBACK actions_work(PTP_CALLBACK_INSTANCE instance, PVOID context, PTP_WORK) {
    auto* a = static_cast<Actions*>(context);
    a->may_run_long = CallbackMayRunLong(instance) != FALSE;
    EnterCriticalSection(&a->cs);
    a->cs_owned_inside = true;
    WaitForSingleObject(a->mutex, INFINITE);
    LeaveCriticalSectionWhenCallbackReturns(instance, &a->cs);
    ReleaseMutexWhenCallbackReturns(instance, a->mutex);
    ReleaseSemaphoreWhenCallbackReturns(instance, a->semaphore, 2);
    SetEventWhenCallbackReturns(instance, a->event);
    Sleep(20);
    a->event_set_inside = WaitForSingleObject(a->event, 0) == WAIT_OBJECT_0;
}

TEST_F(ThreadPool, S_TP_6_OnReturnActionsRunAfterTheCallback) {
    Actions a;
    a.event = event();
    a.semaphore = CreateSemaphoreA(nullptr, 0, 10, nullptr);
    a.mutex = CreateMutexA(nullptr, FALSE, nullptr);
    InitializeCriticalSection(&a.cs);
    PTP_WORK w = CreateThreadpoolWork(actions_work, &a, nullptr);
    ASSERT_NE(w, nullptr);
    SubmitThreadpoolWork(w);
    WaitForThreadpoolWorkCallbacks(w, FALSE);
    // Every action is done by the time the callback counts as finished.
    EXPECT_EQ(WaitForSingleObject(a.event, 0), WAIT_OBJECT_0);
    EXPECT_FALSE(a.event_set_inside.load());
    EXPECT_TRUE(a.may_run_long.load());
    EXPECT_TRUE(a.cs_owned_inside.load());
    LONG previous = -1;
    EXPECT_TRUE(ReleaseSemaphore(a.semaphore, 1, &previous));
    EXPECT_EQ(previous, 2);
    EXPECT_EQ(WaitForSingleObject(a.mutex, 0), WAIT_OBJECT_0) << "released by the callback's return";
    ReleaseMutex(a.mutex);
    EXPECT_TRUE(TryEnterCriticalSection(&a.cs)) << "left by the callback's return";
    LeaveCriticalSection(&a.cs);
    CloseThreadpoolWork(w);
    DeleteCriticalSection(&a.cs);
    for (HANDLE h : {a.event, a.semaphore, a.mutex}) CloseHandle(h);
}

struct Detached {
    HANDLE gate = nullptr;
    std::atomic<bool> done{false};
};

VOID CALLBACK detaching_work(PTP_CALLBACK_INSTANCE instance, PVOID context, PTP_WORK) {
    auto* d = static_cast<Detached*>(context);
    DisassociateCurrentThreadFromCallback(instance);
    WaitForSingleObject(d->gate, INFINITE);
    d->done = true;
}

TEST_F(ThreadPool, S_TP_6_ADisassociatedCallbackIsNotWaitedFor) {
    Detached d;
    d.gate = event();
    PTP_WORK w = CreateThreadpoolWork(detaching_work, &d, nullptr);
    ASSERT_NE(w, nullptr);
    SubmitThreadpoolWork(w);
    int64_t t0 = now_ms();
    HANDLE opener = spawn([&] {
        Sleep(500);
        SetEvent(d.gate);
    });
    // Returns once the callback has disassociated, before the gate opens.
    for (int i = 0; i < 1000; ++i) {
        WaitForThreadpoolWorkCallbacks(w, FALSE);
        if (now_ms() - t0 < 500) break;
    }
    EXPECT_LT(now_ms() - t0, 500);
    CloseThreadpoolWork(w);  // the object outlives its callback still running
    join(opener);
    for (int i = 0; i < 100 && !d.done.load(); ++i) Sleep(10);
    EXPECT_TRUE(d.done.load());
    CloseHandle(d.gate);
}

// ---- I/O objects -------------------------------------------------------------------

struct IoRecord {
    std::atomic<int> callbacks{0};
    std::atomic<int> wrong{0};
    std::atomic<ULONG> last_result{0xdeadbeef};
    std::atomic<ULONG_PTR> last_bytes{0};
    std::atomic<void*> last_overlapped{nullptr};
    std::atomic<int64_t> at_ms{-1};
    PTP_IO io = nullptr;
    const ThreadPool* test = nullptr;
    ntio::System* sys = nullptr;
};

VOID CALLBACK record_io(PTP_CALLBACK_INSTANCE instance, PVOID context, PVOID overlapped, ULONG result,
                        ULONG_PTR bytes, PTP_IO io) {
    auto* r = static_cast<IoRecord*>(context);
    if (!instance || io != r->io) r->wrong++;
    r->last_result = result;
    r->last_bytes = bytes;
    r->last_overlapped = overlapped;
    r->at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(r->sys->now()).count();
    r->callbacks++;
}

// `r` bound to the overlapped handle `h`, record_io its callback.
void bind(IoRecord& r, ntio::System& sys, HANDLE h) {
    r.sys = &sys;
    r.io = CreateThreadpoolIo(h, record_io, &r, nullptr);
    ASSERT_NE(r.io, nullptr);
}

BOOL ioctl(HANDLE h, Script s, OVERLAPPED* ov, void* out = nullptr, DWORD out_len = 0) {
    return DeviceIoControl(h, testdrv::IOCTL_BUFFERED, &s, sizeof s, out, out_len, nullptr, ov);
}

TEST_F(ThreadPool, S_TP_4_S_TP_8_APendedRequestsCallbackComesAtItsCompletionInVirtualTime) {
    HANDLE h = open(testdrv::kBuffered, true);
    ASSERT_NE(h, INVALID_HANDLE_VALUE);
    IoRecord r;
    ASSERT_NO_FATAL_FAILURE(bind(r, sys, h));
    OVERLAPPED ov{};
    unsigned char out[16]{};
    StartThreadpoolIo(r.io);
    int64_t t0 = now_ms();
    EXPECT_FALSE(ioctl(h, later(STATUS_SUCCESS, 3000, 7, 7), &ov, out, sizeof out));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_IO_PENDING));
    // Waits for the operation it was told about, still in the driver (S-TP-8).
    WaitForThreadpoolIoCallbacks(r.io, FALSE);
    EXPECT_EQ(now_ms() - t0, 3000);
    EXPECT_EQ(r.callbacks.load(), 1);
    EXPECT_EQ(r.at_ms.load() - t0, 3000);
    EXPECT_EQ(r.last_result.load(), 0u);
    EXPECT_EQ(r.last_bytes.load(), 7u);
    EXPECT_EQ(r.last_overlapped.load(), &ov);
    EXPECT_EQ(out[0], 0xAB);
    EXPECT_EQ(r.wrong.load(), 0);
    CloseThreadpoolIo(r.io);
    CloseHandle(h);
}

TEST_F(ThreadPool, S_TP_4_TheResultIsTheRequestsStatusAsAWin32Error) {
    HANDLE h = open(testdrv::kBuffered, true);
    ASSERT_NE(h, INVALID_HANDLE_VALUE);
    IoRecord r;
    ASSERT_NO_FATAL_FAILURE(bind(r, sys, h));
    struct Case {
        NTSTATUS status;
        ULONG information;
        ULONG result;
    } cases[] = {{STATUS_INVALID_PARAMETER, 0, ERROR_INVALID_PARAMETER},
                 {STATUS_BUFFER_OVERFLOW, 16, ERROR_MORE_DATA},
                 {STATUS_CANCELLED, 0, ERROR_OPERATION_ABORTED}};
    for (const Case& c : cases) {
        OVERLAPPED ov{};
        unsigned char out[16]{};
        StartThreadpoolIo(r.io);
        EXPECT_FALSE(ioctl(h, later(c.status, 10, c.information, c.information), &ov, out, sizeof out));
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_IO_PENDING));
        WaitForThreadpoolIoCallbacks(r.io, FALSE);
        EXPECT_EQ(r.last_result.load(), c.result) << std::hex << c.status;
        EXPECT_EQ(r.last_bytes.load(), c.information);
    }
    EXPECT_EQ(r.callbacks.load(), 3);
    CloseThreadpoolIo(r.io);
    CloseHandle(h);
}

TEST_F(ThreadPool, S_TP_8_AnImmediateFailureCancelledWithCancelThreadpoolIoHasNoCallback) {
    HANDLE h = open(testdrv::kBuffered, true);
    ASSERT_NE(h, INVALID_HANDLE_VALUE);
    IoRecord r;
    ASSERT_NO_FATAL_FAILURE(bind(r, sys, h));
    OVERLAPPED ov{};
    StartThreadpoolIo(r.io);
    EXPECT_FALSE(ioctl(h, now(STATUS_INVALID_DEVICE_REQUEST), &ov));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_FUNCTION));
    CancelThreadpoolIo(r.io);
    int64_t t0 = now_ms();
    WaitForThreadpoolIoCallbacks(r.io, FALSE);  // nothing announced: returns at once
    EXPECT_EQ(now_ms(), t0);
    Sleep(100);
    EXPECT_EQ(r.callbacks.load(), 0);
    // A success inside the call still leaves a packet, so its callback runs (S-TP-4).
    OVERLAPPED ov2{};
    StartThreadpoolIo(r.io);
    EXPECT_TRUE(ioctl(h, now(STATUS_SUCCESS, 0), &ov2));
    WaitForThreadpoolIoCallbacks(r.io, FALSE);
    EXPECT_EQ(r.callbacks.load(), 1);
    EXPECT_EQ(r.last_overlapped.load(), &ov2);
    // With FILE_SKIP_COMPLETION_PORT_ON_SUCCESS it does not, and is cancelled instead.
    ASSERT_TRUE(SetFileCompletionNotificationModes(h, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS));
    OVERLAPPED ov3{};
    StartThreadpoolIo(r.io);
    EXPECT_TRUE(ioctl(h, now(STATUS_SUCCESS, 0), &ov3));
    CancelThreadpoolIo(r.io);
    WaitForThreadpoolIoCallbacks(r.io, FALSE);
    Sleep(100);
    EXPECT_EQ(r.callbacks.load(), 1);
    CloseThreadpoolIo(r.io);
    CloseHandle(h);
}

TEST_F(ThreadPool, S_TP_9_ACompletionNotAnnouncedHasNoCallback) {
    HANDLE h = open(testdrv::kBuffered, true);
    ASSERT_NE(h, INVALID_HANDLE_VALUE);
    IoRecord r;
    ASSERT_NO_FATAL_FAILURE(bind(r, sys, h));
    OVERLAPPED ov{};
    EXPECT_FALSE(ioctl(h, later(STATUS_SUCCESS, 100), &ov));  // no StartThreadpoolIo
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_IO_PENDING));
    DWORD bytes = 0;
    EXPECT_TRUE(GetOverlappedResult(h, &ov, &bytes, TRUE));
    Sleep(100);
    EXPECT_EQ(r.callbacks.load(), 0);
    CloseThreadpoolIo(r.io);
    CloseHandle(h);
}

TEST_F(ThreadPool, S_TP_7_AFileIsBoundOnceAndOnlyAnOverlappedOne) {
    HANDLE h = open(testdrv::kBuffered, true);
    ASSERT_NE(h, INVALID_HANDLE_VALUE);
    IoRecord r;
    r.sys = &sys;
    PTP_IO first = CreateThreadpoolIo(h, record_io, &r, nullptr);
    ASSERT_NE(first, nullptr);
    SetLastError(0);
    EXPECT_EQ(CreateThreadpoolIo(h, record_io, &r, nullptr), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    HANDLE port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, 0);
    EXPECT_EQ(CreateIoCompletionPort(h, port, 1, 0), nullptr) << "already bound to the pool";
    // A file bound to a port cannot be given to the pool either.
    HANDLE other = open(testdrv::kDirect, true);
    ASSERT_EQ(CreateIoCompletionPort(other, port, 1, 0), port);
    SetLastError(0);
    EXPECT_EQ(CreateThreadpoolIo(other, record_io, &r, nullptr), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    HANDLE sync = open(testdrv::kNeither, false);
    SetLastError(0);
    EXPECT_EQ(CreateThreadpoolIo(sync, record_io, &r, nullptr), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    SetLastError(0);
    EXPECT_EQ(CreateThreadpoolIo(reinterpret_cast<HANDLE>(0x1234), record_io, &r, nullptr), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    CloseThreadpoolIo(first);
    for (HANDLE x : {h, other, sync, port}) CloseHandle(x);
}

TEST_F(ThreadPool, S_TP_3_CancelOnAnIoObjectDropsQueuedCompletions) {
    HANDLE h = open(testdrv::kBuffered, true);
    ASSERT_NE(h, INVALID_HANDLE_VALUE);
    struct Slow {
        HANDLE gate;
        std::atomic<int> runs{0};
        std::atomic<bool> entered{false};
    } s;
    s.gate = event();
    PTP_IO io = CreateThreadpoolIo(
        h,
        [](PTP_CALLBACK_INSTANCE, PVOID context, PVOID, ULONG, ULONG_PTR, PTP_IO) {
            auto* slow = static_cast<Slow*>(context);
            slow->runs++;
            slow->entered = true;
            WaitForSingleObject(slow->gate, INFINITE);
        },
        &s, nullptr);
    ASSERT_NE(io, nullptr);
    // More completions than the pool has workers: every worker ends up held at the
    // gate and the rest stay queued until the cancelling wait drops them.
    constexpr int kRequests = 100;
    std::vector<OVERLAPPED> ovs(kRequests);
    for (int i = 0; i < kRequests; ++i) {
        StartThreadpoolIo(io);
        EXPECT_FALSE(ioctl(h, later(STATUS_SUCCESS, 10), &ovs[i]));
    }
    HANDLE opener = spawn([&] {
        Sleep(1000);
        SetEvent(s.gate);
    });
    Sleep(500);  // every request has completed; the workers are all at the gate
    int running = s.runs.load();
    EXPECT_GT(running, 0);
    EXPECT_LT(running, kRequests);
    WaitForThreadpoolIoCallbacks(io, TRUE);
    EXPECT_EQ(s.runs.load(), running) << "the queued completions were dropped";
    join(opener);
    CloseThreadpoolIo(io);
    CloseHandle(h);
    CloseHandle(s.gate);
}

TEST_F(ThreadPool, S_TP_4_ManyReadsAndWritesInFlightEachCheckedByItsCallback) {
    constexpr int kPerFile = 128;  // half reads, half writes
    constexpr DWORD kMaxLength = 300;
    Script rw;
    rw.finish = testdrv::Finish::dpc;
    rw.delay_ms = 1;
    rw.delay_spread = 13;
    rw.pattern = TRUE;
    testdrv::state().next_read_write = rw;
    struct Op {
        OVERLAPPED ov{};
        bool write = false;
        LONGLONG offset = 0;
        DWORD length = 0;
        std::atomic<int> seen{0};
        unsigned char data[kMaxLength];
    };
    struct Shared {
        std::atomic<int> done{0}, bad{0}, reads{0}, writes{0};
        HANDLE all = nullptr;
        int total = 0;
    } shared;
    shared.total = 2 * kPerFile;
    shared.all = event();
    auto callback = [](PTP_CALLBACK_INSTANCE, PVOID context, PVOID overlapped, ULONG result, ULONG_PTR bytes,
                       PTP_IO) {
        auto* sh = static_cast<Shared*>(context);
        Op& op = *CONTAINING_RECORD(static_cast<OVERLAPPED*>(overlapped), Op, ov);
        if (op.seen++ != 0 || result != 0 || bytes != op.length) sh->bad++;
        if (op.write) {
            sh->writes++;
        } else {
            sh->reads++;
            for (DWORD b = 0; b < op.length; ++b)
                if (op.data[b] != testdrv::pattern_byte(op.offset + b)) {
                    sh->bad++;
                    break;
                }
        }
        if (sh->done.fetch_add(1) + 1 == sh->total) SetEvent(sh->all);
    };
    HANDLE files[2] = {open(testdrv::kBuffered, true), open(testdrv::kDirect, true)};
    PTP_IO ios[2];
    for (int k = 0; k < 2; ++k) {
        ASSERT_NE(files[k], INVALID_HANDLE_VALUE);
        ios[k] = CreateThreadpoolIo(files[k], callback, &shared, nullptr);
        ASSERT_NE(ios[k], nullptr);
    }
    std::vector<std::unique_ptr<Op>> ops;
    int issue_failures = 0;
    for (int i = 0; i < 2 * kPerFile; ++i) {
        ops.push_back(std::make_unique<Op>());
        Op& op = *ops.back();
        int k = i % 2;
        op.write = (i / 2) % 2 == 1;
        op.offset = k * 1000003LL + i * 517LL;
        op.length = 1 + static_cast<DWORD>(i * 37 + k * 11) % kMaxLength;
        for (DWORD b = 0; b < op.length; ++b)
            op.data[b] = op.write ? testdrv::pattern_byte(op.offset + b) : static_cast<unsigned char>(0xEE);
        op.ov.Offset = static_cast<DWORD>(op.offset);
        op.ov.OffsetHigh = static_cast<DWORD>(op.offset >> 32);
        StartThreadpoolIo(ios[k]);
        BOOL ok = op.write ? WriteFile(files[k], op.data, op.length, nullptr, &op.ov)
                           : ReadFile(files[k], op.data, op.length, nullptr, &op.ov);
        if (ok || GetLastError() != ERROR_IO_PENDING) {
            issue_failures++;
            CancelThreadpoolIo(ios[k]);
        }
    }
    EXPECT_EQ(WaitForSingleObject(shared.all, 10000), WAIT_OBJECT_0);
    for (PTP_IO io : ios) {
        WaitForThreadpoolIoCallbacks(io, FALSE);
        CloseThreadpoolIo(io);
    }
    EXPECT_EQ(issue_failures, 0);
    EXPECT_EQ(shared.bad.load(), 0);
    EXPECT_EQ(shared.reads.load(), kPerFile);
    EXPECT_EQ(shared.writes.load(), kPerFile);
    for (HANDLE x : {files[0], files[1], shared.all}) CloseHandle(x);
}

TEST_F(ThreadPool, S_TP_2_ClosingAnIoObjectWithAnOperationInFlight) {
    HANDLE h = open(testdrv::kBuffered, true);
    ASSERT_NE(h, INVALID_HANDLE_VALUE);
    IoRecord r;
    ASSERT_NO_FATAL_FAILURE(bind(r, sys, h));
    OVERLAPPED ov{};
    StartThreadpoolIo(r.io);
    EXPECT_FALSE(ioctl(h, later(STATUS_SUCCESS, 200), &ov));
    CloseThreadpoolIo(r.io);  // its callback still comes; the object goes after it
    Sleep(300);
    EXPECT_EQ(r.callbacks.load(), 1);
    CloseHandle(h);
}

// ---- BindIoCompletionCallback (S-TP-11) --------------------------------------------

struct Bound {
    std::atomic<int> calls{0};
    std::atomic<DWORD> error{0xdeadbeef}, bytes{0};
    std::atomic<LPOVERLAPPED> ov{nullptr};
};
Bound g_bound;

VOID WINAPI bound_routine(DWORD error, DWORD bytes, LPOVERLAPPED ov) {
    g_bound.error = error;
    g_bound.bytes = bytes;
    g_bound.ov = ov;
    g_bound.calls++;
}

TEST_F(ThreadPool, S_TP_11_BindIoCompletionCallbackRunsTheRoutineForEveryCompletion) {
    g_bound.calls = 0;
    HANDLE h = open(testdrv::kBuffered, true);
    ASSERT_NE(h, INVALID_HANDLE_VALUE);
    SetLastError(0);
    EXPECT_FALSE(BindIoCompletionCallback(h, bound_routine, 1));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    ASSERT_TRUE(BindIoCompletionCallback(h, bound_routine, 0));
    SetLastError(0);
    EXPECT_FALSE(BindIoCompletionCallback(h, bound_routine, 0)) << "bound once";
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    OVERLAPPED ov{};
    unsigned char out[8]{};
    int64_t t0 = now_ms();
    EXPECT_FALSE(ioctl(h, later(STATUS_SUCCESS, 2000, 5, 5), &ov, out, sizeof out));
    for (int i = 0; i < 400 && g_bound.calls.load() == 0; ++i) Sleep(10);
    EXPECT_EQ(g_bound.calls.load(), 1);
    EXPECT_GE(now_ms() - t0, 2000);
    EXPECT_EQ(g_bound.error.load(), 0u);
    EXPECT_EQ(g_bound.bytes.load(), 5u);
    EXPECT_EQ(g_bound.ov.load(), &ov);
    OVERLAPPED ov2{};
    EXPECT_FALSE(ioctl(h, later(STATUS_CANCELLED, 10), &ov2));
    for (int i = 0; i < 100 && g_bound.calls.load() == 1; ++i) Sleep(10);
    EXPECT_EQ(g_bound.calls.load(), 2);
    EXPECT_EQ(g_bound.error.load(), static_cast<DWORD>(ERROR_OPERATION_ABORTED));
    CloseHandle(h);  // the binding goes with the file
}

// ---- teardown (S-TP-12) ------------------------------------------------------------

std::atomic<int> g_teardown_runs{0};

VOID CALLBACK teardown_work(PTP_CALLBACK_INSTANCE, PVOID, PTP_WORK) { g_teardown_runs++; }

TEST(ThreadPoolTeardown, S_TP_12_TheRuntimeEndsThePoolAndWhatWasLeftOpen) {
    g_teardown_runs = 0;
    {
        ntio::System sys({.clock = ntio::Clock::virtual_time});
        testdrv::reset();
        ASSERT_EQ(sys.load_driver("ntiotest", reinterpret_cast<ntio::System::DriverEntryFunction>(&testdrv::DriverEntry)),
                  STATUS_SUCCESS);
        PTP_WORK w = CreateThreadpoolWork(teardown_work, nullptr, nullptr);
        ASSERT_NE(w, nullptr);
        for (int i = 0; i < 1000; ++i) SubmitThreadpoolWork(w);
        HANDLE h = CreateFileA("\\\\.\\TestBuffered", GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING,
                               FILE_FLAG_OVERLAPPED, nullptr);
        ASSERT_NE(h, INVALID_HANDLE_VALUE);
        IoRecord r;
        ASSERT_NO_FATAL_FAILURE(bind(r, sys, h));
        // Neither object is closed, and the file stays open: the runtime's teardown
        // closes the file and frees them, with no worker left running.
    }
    int after = g_teardown_runs.load();
    EXPECT_LE(after, 1000);
    EXPECT_FALSE(ntio::System::exists());
}


// ---- wait objects (S-TP-13..15) ------------------------------------------------------

FILETIME ft_relative_ms(LONGLONG ms) {
    ULONGLONG v = static_cast<ULONGLONG>(-ms * 10000);
    return FILETIME{static_cast<DWORD>(v & 0xffffffffu), static_cast<DWORD>(v >> 32)};
}

struct WaitRecord {
    std::atomic<int> runs{0};
    std::atomic<int> wrong{0};
    std::atomic<DWORD> result{0xdead};
    std::atomic<DWORD> tick{0};
    PTP_WAIT wait = nullptr;
    HANDLE done = nullptr;  // set by each callback
};

VOID CALLBACK record_wait(PTP_CALLBACK_INSTANCE instance, PVOID context, PTP_WAIT wait, TP_WAIT_RESULT result) {
    auto* r = static_cast<WaitRecord*>(context);
    if (!instance || wait != r->wait) r->wrong++;
    r->result = result;
    r->tick = GetTickCount();
    r->runs++;
    if (r->done) SetEvent(r->done);
}

TEST_F(ThreadPool, S_TP_13_AWaitRunsItsCallbackOnceWhenTheObjectIsSignaled) {
    WaitRecord r;
    r.done = event(FALSE);
    r.wait = CreateThreadpoolWait(record_wait, &r, nullptr);
    ASSERT_NE(r.wait, nullptr);
    HANDLE ev = event(FALSE);
    DWORD start = GetTickCount();
    SetThreadpoolWait(r.wait, ev, nullptr);
    // Set by another thread 250 ms later: the callback at exactly +250.
    HANDLE th = spawn([&] {
        Sleep(250);
        SetEvent(ev);
    });
    ASSERT_EQ(WaitForSingleObject(r.done, INFINITE), WAIT_OBJECT_0);
    EXPECT_EQ(r.result.load(), WAIT_OBJECT_0);
    EXPECT_EQ(r.tick.load() - start, 250u);
    EXPECT_EQ(WaitForSingleObject(ev, 0), WAIT_TIMEOUT);  // the pool's wait consumed the auto-reset event
    // One-shot: a second signal has no callback until the wait is set again.
    SetEvent(ev);
    Sleep(100);
    EXPECT_EQ(r.runs.load(), 1);
    SetThreadpoolWait(r.wait, ev, nullptr);  // still signaled: at once
    ASSERT_EQ(WaitForSingleObject(r.done, INFINITE), WAIT_OBJECT_0);
    EXPECT_EQ(r.runs.load(), 2);
    WaitForThreadpoolWaitCallbacks(r.wait, FALSE);
    EXPECT_EQ(r.wrong.load(), 0);
    CloseThreadpoolWait(r.wait);
    WaitForSingleObject(th, INFINITE);
    for (HANDLE h : {th, ev, r.done}) CloseHandle(h);
}

TEST_F(ThreadPool, S_TP_13_AWaitTimesOutAtItsExactTimeoutOrAtOnceWithZero) {
    WaitRecord r;
    r.done = event(FALSE);
    r.wait = CreateThreadpoolWait(record_wait, &r, nullptr);
    HANDLE ev = event(TRUE);
    DWORD start = GetTickCount();
    FILETIME ft = ft_relative_ms(500);
    SetThreadpoolWait(r.wait, ev, &ft);
    ASSERT_EQ(WaitForSingleObject(r.done, INFINITE), WAIT_OBJECT_0);
    EXPECT_EQ(r.result.load(), WAIT_TIMEOUT);
    EXPECT_EQ(r.tick.load() - start, 500u);
    // 0: a look at the object, then the timeout at once.
    FILETIME zero{0, 0};
    start = GetTickCount();
    SetThreadpoolWait(r.wait, ev, &zero);
    ASSERT_EQ(WaitForSingleObject(r.done, INFINITE), WAIT_OBJECT_0);
    EXPECT_EQ(r.result.load(), WAIT_TIMEOUT);
    EXPECT_EQ(r.tick.load() - start, 0u);
    SetEvent(ev);
    SetThreadpoolWait(r.wait, ev, &zero);
    ASSERT_EQ(WaitForSingleObject(r.done, INFINITE), WAIT_OBJECT_0);
    EXPECT_EQ(r.result.load(), WAIT_OBJECT_0);
    // An absolute timeout (UTC FILETIME).
    ResetEvent(ev);
    FILETIME now;
    GetSystemTimeAsFileTime(&now);
    ULONGLONG abs = ((static_cast<ULONGLONG>(now.dwHighDateTime) << 32) | now.dwLowDateTime) + 1234 * 10000ULL;
    FILETIME at{static_cast<DWORD>(abs & 0xffffffffu), static_cast<DWORD>(abs >> 32)};
    start = GetTickCount();
    SetThreadpoolWait(r.wait, ev, &at);
    ASSERT_EQ(WaitForSingleObject(r.done, INFINITE), WAIT_OBJECT_0);
    EXPECT_EQ(r.result.load(), WAIT_TIMEOUT);
    EXPECT_EQ(r.tick.load() - start, 1234u);
    EXPECT_EQ(r.runs.load(), 4);
    WaitForThreadpoolWaitCallbacks(r.wait, FALSE);
    CloseThreadpoolWait(r.wait);
    CloseHandle(ev);
    CloseHandle(r.done);
}

TEST_F(ThreadPool, S_TP_14_ANullHandleStopsTheWaitAndExSaysWhetherOneWasReplaced) {
    WaitRecord r;
    r.wait = CreateThreadpoolWait(record_wait, &r, nullptr);
    HANDLE ev = event(TRUE);
    FILETIME ft = ft_relative_ms(100);
    EXPECT_FALSE(SetThreadpoolWaitEx(r.wait, ev, &ft, nullptr));
    EXPECT_TRUE(SetThreadpoolWaitEx(r.wait, ev, &ft, nullptr));  // replaces the pending one
    EXPECT_TRUE(SetThreadpoolWaitEx(r.wait, nullptr, nullptr, nullptr));
    EXPECT_FALSE(SetThreadpoolWaitEx(r.wait, nullptr, nullptr, nullptr));
    SetEvent(ev);
    Sleep(500);
    EXPECT_EQ(r.runs.load(), 0);
    // A handle that cannot be waited on sets no wait.
    EXPECT_FALSE(SetThreadpoolWaitEx(r.wait, reinterpret_cast<HANDLE>(0x7777), &ft, nullptr));
    Sleep(500);
    EXPECT_EQ(r.runs.load(), 0);
    EXPECT_EQ(CreateThreadpoolWait(nullptr, nullptr, nullptr), nullptr);
    EXPECT_EQ(GetLastError(), ERROR_INVALID_PARAMETER);
    CloseThreadpoolWait(r.wait);
    CloseHandle(ev);
}

struct ManyWaits {
    std::atomic<int> runs{0};
    HANDLE done = nullptr;
    int expected = 0;
};

VOID CALLBACK count_waits(PTP_CALLBACK_INSTANCE, PVOID context, PTP_WAIT, TP_WAIT_RESULT result) {
    auto* m = static_cast<ManyWaits*>(context);
    if (result == WAIT_OBJECT_0 && ++m->runs == m->expected) SetEvent(m->done);
}

TEST_F(ThreadPool, S_TP_15_MoreWaitsThanOneThreadCanServeAllComplete) {
    constexpr int kWaits = 200;  // four waiter threads' worth
    ManyWaits m;
    m.done = event();
    m.expected = kWaits;
    std::vector<HANDLE> events;
    std::vector<PTP_WAIT> waits;
    for (int i = 0; i < kWaits; ++i) {
        events.push_back(event(FALSE));
        waits.push_back(CreateThreadpoolWait(count_waits, &m, nullptr));
        SetThreadpoolWait(waits.back(), events.back(), nullptr);
    }
    for (int i = kWaits - 1; i >= 0; --i) SetEvent(events[i]);
    ASSERT_EQ(WaitForSingleObject(m.done, INFINITE), WAIT_OBJECT_0);
    EXPECT_EQ(m.runs.load(), kWaits);
    for (int i = 0; i < kWaits; ++i) {
        WaitForThreadpoolWaitCallbacks(waits[i], FALSE);
        CloseThreadpoolWait(waits[i]);
        CloseHandle(events[i]);
    }
    CloseHandle(m.done);
}

// ---- timer objects (S-TP-16..17) ----------------------------------------------------

struct TimerRecord {
    std::atomic<int> runs{0};
    std::vector<DWORD> ticks;  // written by one callback at a time (the test waits for each)
    PTP_TIMER timer = nullptr;
    HANDLE done = nullptr;
    int stop_after = 1;
    DWORD sleep_ms = 0;
};

VOID CALLBACK record_timer(PTP_CALLBACK_INSTANCE, PVOID context, PTP_TIMER timer) {
    auto* r = static_cast<TimerRecord*>(context);
    if (timer != r->timer) return;
    r->ticks.push_back(GetTickCount());
    if (r->sleep_ms) Sleep(r->sleep_ms);
    if (++r->runs == r->stop_after && r->done) SetEvent(r->done);
}

TEST_F(ThreadPool, S_TP_16_AOneShotTimerRunsAtItsExactDueTime) {
    TimerRecord r;
    r.done = event();
    r.timer = CreateThreadpoolTimer(record_timer, &r, nullptr);
    ASSERT_NE(r.timer, nullptr);
    EXPECT_FALSE(IsThreadpoolTimerSet(r.timer));
    DWORD start = GetTickCount();
    FILETIME due = ft_relative_ms(3000);
    EXPECT_FALSE(SetThreadpoolTimerEx(r.timer, &due, 0, 0));
    EXPECT_TRUE(IsThreadpoolTimerSet(r.timer));
    // Nothing else runs: the idle process lets the clock jump to the timer.
    ASSERT_EQ(WaitForSingleObject(r.done, INFINITE), WAIT_OBJECT_0);
    ASSERT_EQ(r.ticks.size(), 1u);
    EXPECT_EQ(r.ticks[0] - start, 3000u);
    WaitForThreadpoolTimerCallbacks(r.timer, FALSE);
    EXPECT_FALSE(IsThreadpoolTimerSet(r.timer));  // a one-shot timer that expired is no longer set
    // Due 0: at once; NULL: stopped, and Ex says it was set.
    ResetEvent(r.done);
    r.stop_after = 2;
    FILETIME zero{0, 0};
    start = GetTickCount();
    SetThreadpoolTimer(r.timer, &zero, 0, 0);
    ASSERT_EQ(WaitForSingleObject(r.done, INFINITE), WAIT_OBJECT_0);
    EXPECT_EQ(r.ticks[1] - start, 0u);
    SetThreadpoolTimer(r.timer, &due, 0, 0);
    EXPECT_TRUE(SetThreadpoolTimerEx(r.timer, nullptr, 0, 0));
    EXPECT_FALSE(IsThreadpoolTimerSet(r.timer));
    Sleep(5000);
    EXPECT_EQ(r.runs.load(), 2);
    EXPECT_EQ(CreateThreadpoolTimer(nullptr, nullptr, nullptr), nullptr);
    EXPECT_EQ(GetLastError(), ERROR_INVALID_PARAMETER);
    CloseThreadpoolTimer(r.timer);
    CloseHandle(r.done);
}

TEST_F(ThreadPool, S_TP_16_APeriodicTimerRunsEveryPeriodUntilStopped) {
    TimerRecord r;
    r.done = event();
    r.stop_after = 10;
    r.timer = CreateThreadpoolTimer(record_timer, &r, nullptr);
    DWORD start = GetTickCount();
    FILETIME due = ft_relative_ms(50);
    SetThreadpoolTimer(r.timer, &due, 100, 30);  // the window is ignored: every expiry on time
    ASSERT_EQ(WaitForSingleObject(r.done, INFINITE), WAIT_OBJECT_0);
    SetThreadpoolTimer(r.timer, nullptr, 0, 0);
    WaitForThreadpoolTimerCallbacks(r.timer, TRUE);
    ASSERT_EQ(r.ticks.size(), 10u);
    for (DWORD i = 0; i < 10; ++i) EXPECT_EQ(r.ticks[i] - start, 50 + 100 * i) << i;
    Sleep(1000);
    EXPECT_EQ(r.runs.load(), 10);
    CloseThreadpoolTimer(r.timer);
    CloseHandle(r.done);
}

TEST_F(ThreadPool, S_TP_17_ClosingATimerWhileItsCallbackRunsFreesItAfterTheCallback) {
    auto* r = new TimerRecord;
    r->done = event();
    r->sleep_ms = 200;
    r->stop_after = 1000;  // never
    r->timer = CreateThreadpoolTimer(record_timer, r, nullptr);
    FILETIME due = ft_relative_ms(10);
    SetThreadpoolTimer(r->timer, &due, 10, 0);  // callbacks pile up behind the running one
    Sleep(100);
    CloseThreadpoolTimer(r->timer);  // stops it; what was queued still runs, then it is freed
    Sleep(10000);
    int runs = r->runs.load();
    EXPECT_GE(runs, 1);
    Sleep(1000);
    EXPECT_EQ(r->runs.load(), runs);  // nothing after the close's queued callbacks
    CloseHandle(r->done);
    delete r;
}

// ---- RegisterWaitForSingleObject and timer-queue timers (S-TP-18..20) ------------------

struct Registered {
    std::atomic<int> signaled{0};
    std::atomic<int> timed_out{0};
    std::vector<DWORD> ticks;
    HANDLE entered = nullptr;  // set as a callback starts
    HANDLE release = nullptr;  // what a callback waits for, when set
};

VOID CALLBACK record_registered(PVOID context, BOOLEAN fired) {
    auto* r = static_cast<Registered*>(context);
    if (fired) {
        r->ticks.push_back(GetTickCount());
        r->timed_out++;
    } else {
        r->signaled++;
    }
    if (r->entered) SetEvent(r->entered);
    if (r->release) WaitForSingleObject(r->release, INFINITE);
}

TEST_F(ThreadPool, S_TP_18_ARegisteredWaitRepeatsUnlessExecuteOnlyOnce) {
    Registered r;
    r.entered = event(FALSE);
    HANDLE ev = event(FALSE);
    HANDLE wait = nullptr;
    ASSERT_TRUE(RegisterWaitForSingleObject(&wait, ev, record_registered, &r, INFINITE, WT_EXECUTEDEFAULT));
    for (int i = 0; i < 3; ++i) {
        SetEvent(ev);
        ASSERT_EQ(WaitForSingleObject(r.entered, INFINITE), WAIT_OBJECT_0);
    }
    EXPECT_EQ(r.signaled.load(), 3);
    ASSERT_TRUE(UnregisterWaitEx(wait, INVALID_HANDLE_VALUE));
    // A timeout repeats too, every 100 ms from the last.
    DWORD start = GetTickCount();
    ASSERT_TRUE(RegisterWaitForSingleObject(&wait, ev, record_registered, &r, 100, 0));
    while (r.timed_out.load() < 4) WaitForSingleObject(r.entered, INFINITE);
    ASSERT_TRUE(UnregisterWaitEx(wait, INVALID_HANDLE_VALUE));
    ASSERT_EQ(r.ticks.size(), 4u);
    for (DWORD i = 0; i < 4; ++i) EXPECT_EQ(r.ticks[i] - start, 100 * (i + 1)) << i;
    // WT_EXECUTEONLYONCE: one callback, and the handle still needs unregistering.
    ASSERT_TRUE(RegisterWaitForSingleObject(&wait, ev, record_registered, &r, INFINITE, WT_EXECUTEONLYONCE));
    SetEvent(ev);
    ASSERT_EQ(WaitForSingleObject(r.entered, INFINITE), WAIT_OBJECT_0);
    SetEvent(ev);
    Sleep(200);
    EXPECT_EQ(r.signaled.load(), 4);
    EXPECT_EQ(WaitForSingleObject(ev, 0), WAIT_OBJECT_0);  // nobody waits on it any more
    ASSERT_TRUE(UnregisterWait(wait));
    // Bad inputs.
    EXPECT_FALSE(RegisterWaitForSingleObject(&wait, reinterpret_cast<HANDLE>(0x7777), record_registered, &r, 0, 0));
    EXPECT_EQ(GetLastError(), ERROR_INVALID_HANDLE);
    EXPECT_FALSE(RegisterWaitForSingleObject(&wait, ev, nullptr, &r, 0, 0));
    EXPECT_EQ(GetLastError(), ERROR_INVALID_PARAMETER);
    CloseHandle(ev);
    CloseHandle(r.entered);
}

TEST_F(ThreadPool, S_TP_19_UnregisterWhileACallbackRunsIsPendingAndSignalsTheEventAfterIt) {
    Registered r;
    r.entered = event(FALSE);
    r.release = event(TRUE);
    HANDLE ev = event(TRUE);
    HANDLE wait = nullptr;
    ASSERT_TRUE(RegisterWaitForSingleObject(&wait, ev, record_registered, &r, INFINITE, WT_EXECUTEONLYONCE));
    SetEvent(ev);
    ASSERT_EQ(WaitForSingleObject(r.entered, INFINITE), WAIT_OBJECT_0);
    // NULL: no waiting; FALSE with ERROR_IO_PENDING while the callback runs.
    SetLastError(0);
    EXPECT_FALSE(UnregisterWait(wait));
    EXPECT_EQ(GetLastError(), ERROR_IO_PENDING);
    SetEvent(r.release);
    Sleep(10);

    // An event: set once the running callback has returned.
    ResetEvent(r.release);
    HANDLE done = event(TRUE);
    ASSERT_TRUE(RegisterWaitForSingleObject(&wait, ev, record_registered, &r, INFINITE, WT_EXECUTEONLYONCE));
    ASSERT_EQ(WaitForSingleObject(r.entered, INFINITE), WAIT_OBJECT_0);  // ev is still set
    EXPECT_FALSE(UnregisterWaitEx(wait, done));
    EXPECT_EQ(GetLastError(), ERROR_IO_PENDING);
    DWORD start = GetTickCount();
    HANDLE th = spawn([&] {
        Sleep(300);
        SetEvent(r.release);
    });
    ASSERT_EQ(WaitForSingleObject(done, INFINITE), WAIT_OBJECT_0);
    EXPECT_EQ(GetTickCount() - start, 300u);
    WaitForSingleObject(th, INFINITE);
    CloseHandle(th);

    // INVALID_HANDLE_VALUE: returns once the running callback has.
    ResetEvent(r.release);
    ASSERT_TRUE(RegisterWaitForSingleObject(&wait, ev, record_registered, &r, INFINITE, WT_EXECUTEONLYONCE));
    ASSERT_EQ(WaitForSingleObject(r.entered, INFINITE), WAIT_OBJECT_0);
    start = GetTickCount();
    th = spawn([&] {
        Sleep(200);
        SetEvent(r.release);
    });
    EXPECT_TRUE(UnregisterWaitEx(wait, INVALID_HANDLE_VALUE));
    EXPECT_EQ(GetTickCount() - start, 200u);
    WaitForSingleObject(th, INFINITE);
    // Nothing running: the event is set at once.
    ResetEvent(done);
    ASSERT_TRUE(RegisterWaitForSingleObject(&wait, r.entered, record_registered, &r, INFINITE, 0));
    EXPECT_TRUE(UnregisterWaitEx(wait, done));
    EXPECT_EQ(WaitForSingleObject(done, 0), WAIT_OBJECT_0);
    EXPECT_EQ(r.signaled.load(), 3);
    for (HANDLE h : {th, ev, done, r.entered, r.release}) CloseHandle(h);
}

TEST_F(ThreadPool, S_TP_20_DefaultQueueTimersRunAtTheirExactTimes) {
    Registered r;
    r.entered = event(FALSE);
    HANDLE timer = nullptr;
    DWORD start = GetTickCount();
    ASSERT_TRUE(CreateTimerQueueTimer(&timer, nullptr, record_registered, &r, 200, 100, WT_EXECUTEDEFAULT));
    while (r.timed_out.load() < 3) WaitForSingleObject(r.entered, INFINITE);
    ASSERT_TRUE(DeleteTimerQueueTimer(nullptr, timer, INVALID_HANDLE_VALUE));
    ASSERT_EQ(r.ticks.size(), 3u);
    for (DWORD i = 0; i < 3; ++i) EXPECT_EQ(r.ticks[i] - start, 200 + 100 * i) << i;
    // ChangeTimerQueueTimer moves it; a one-shot one runs once.
    ASSERT_TRUE(CreateTimerQueueTimer(&timer, nullptr, record_registered, &r, 10000, 0, WT_EXECUTEONLYONCE));
    start = GetTickCount();
    ASSERT_TRUE(ChangeTimerQueueTimer(nullptr, timer, 70, 0));
    ASSERT_EQ(WaitForSingleObject(r.entered, INFINITE), WAIT_OBJECT_0);
    EXPECT_EQ(r.ticks.back() - start, 70u);
    Sleep(20000);
    EXPECT_EQ(r.timed_out.load(), 4);
    ASSERT_TRUE(DeleteTimerQueueTimer(nullptr, timer, nullptr));
    CloseHandle(r.entered);
}

TEST(ThreadPoolTeardown, S_TP_21_WaitsAndTimersLeftSetEndWithTheRuntime) {
    {
        ntio::System sys({.clock = ntio::Clock::virtual_time});
        HANDLE ev = CreateEventA(nullptr, TRUE, FALSE, nullptr);
        PTP_WAIT w = CreateThreadpoolWait([](PTP_CALLBACK_INSTANCE, PVOID, PTP_WAIT, TP_WAIT_RESULT) {}, nullptr, nullptr);
        SetThreadpoolWait(w, ev, nullptr);
        PTP_TIMER t = CreateThreadpoolTimer([](PTP_CALLBACK_INSTANCE, PVOID, PTP_TIMER) {}, nullptr, nullptr);
        FILETIME due = ft_relative_ms(60000);
        SetThreadpoolTimer(t, &due, 1000, 0);
        HANDLE reg = nullptr;
        ASSERT_TRUE(RegisterWaitForSingleObject(&reg, ev, [](PVOID, BOOLEAN) {}, nullptr, 500, 0));
        Sleep(2000);  // the registered wait times out and waits again a few times
        // Nothing is closed: the runtime's teardown stops the waiter threads and frees them.
    }
    EXPECT_FALSE(ntio::System::exists());
}

}  // namespace
