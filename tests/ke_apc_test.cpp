// User APCs (S-APC-1..8 in docs/design.md, "User APCs"; nt-io-semantics S-KE-9,
// S-CMP-9 step 4, S-DSP-7's APC column, S-DSP-9, S-W32-2/6/18): QueueUserAPC and
// NtQueueApcThread, alertable waits and what ends them, delivery order, I/O
// completion routines (NtDeviceIoControlFile's ApcRoutine, ReadFileEx/WriteFileEx),
// completion ports, threads that end with APCs queued, SignalObjectAndWait, and the abort
// of a request on a FILE_SYNCHRONOUS_IO_ALERT handle (S-DSP-3).
#include <atomic>
#include <cstring>
#include <vector>

#include "drivers/queue_driver.hpp"
#include "io_test_support.hpp"

namespace {

using namespace ntio::testing;
using testdrv::IOCTL_BUFFERED;
using testdrv::Script;

// What the APC routines below saw, in the order they ran.
struct Seen {
    std::vector<ULONG_PTR> params;
    std::vector<DWORD> threads;
};
Seen g_seen;

VOID WINAPI record(ULONG_PTR p) {
    g_seen.params.push_back(p);
    g_seen.threads.push_back(GetCurrentThreadId());
}

class Apc : public IoTest {
protected:
    void SetUp() override {
        IoTest::SetUp();
        g_seen = {};
    }
};

// ---- S-APC-1: queueing -----------------------------------------------------------------

TEST_F(Apc, S_APC_1_S_APC_2_AQueuedApcRunsOnlyInAnAlertableWait) {
    ASSERT_NE(QueueUserAPC(record, GetCurrentThread(), 7), 0u);
    Sleep(10);
    EXPECT_EQ(SleepEx(10, FALSE), 0u);
    HANDLE ev = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    EXPECT_EQ(WaitForSingleObject(ev, 10), WAIT_TIMEOUT);
    EXPECT_TRUE(g_seen.params.empty()) << "a wait that is not alertable runs no APC";
    int64_t t0 = now_ms();
    EXPECT_EQ(SleepEx(1000, TRUE), WAIT_IO_COMPLETION);
    EXPECT_EQ(now_ms(), t0) << "an APC already queued ends the alertable wait at once";
    EXPECT_EQ(g_seen.params, (std::vector<ULONG_PTR>{7}));
    EXPECT_EQ(g_seen.threads, (std::vector<DWORD>{GetCurrentThreadId()}));
    EXPECT_EQ(SleepEx(0, TRUE), 0u) << "each APC runs once";
    CloseHandle(ev);
}

TEST_F(Apc, S_APC_1_BadHandlesAccessAndEndedThreads) {
    SetLastError(0);
    EXPECT_EQ(QueueUserAPC(record, reinterpret_cast<HANDLE>(0x1234), 1), 0u);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    HANDLE ev = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    EXPECT_EQ(QueueUserAPC(record, ev, 1), 0u) << "an event is not a thread";
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    EXPECT_EQ(QueueUserAPC(nullptr, GetCurrentThread(), 1), 0u);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));

    // A handle without THREAD_SET_CONTEXT.
    HANDLE sync_only = nullptr;
    ASSERT_TRUE(DuplicateHandle(GetCurrentProcess(), GetCurrentThread(), GetCurrentProcess(), &sync_only, SYNCHRONIZE,
                                FALSE, 0));
    EXPECT_EQ(QueueUserAPC(record, sync_only, 1), 0u);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_ACCESS_DENIED));
    CloseHandle(sync_only);

    // A thread that has ended: ERROR_GEN_FAILURE (NtQueueApcThread: STATUS_UNSUCCESSFUL),
    // with a routine or without one.
    HANDLE t = spawn([] {});
    ASSERT_EQ(WaitForSingleObject(t, INFINITE), WAIT_OBJECT_0);
    EXPECT_EQ(QueueUserAPC(record, t, 1), 0u);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_GEN_FAILURE));
    EXPECT_EQ(NtQueueApcThread(t, nullptr, nullptr, nullptr, nullptr), STATUS_UNSUCCESSFUL);
    // A NULL routine on a live thread succeeds and queues nothing.
    EXPECT_EQ(NtQueueApcThread(GetCurrentThread(), nullptr, nullptr, nullptr, nullptr), STATUS_SUCCESS);
    EXPECT_EQ(SleepEx(0, TRUE), 0u);
    EXPECT_TRUE(g_seen.params.empty());
    CloseHandle(t);
    CloseHandle(ev);
}

// ---- S-APC-2: delivery -----------------------------------------------------------------

VOID WINAPI queue_another(ULONG_PTR p) {
    record(p);
    if (p == 2) QueueUserAPC(record, GetCurrentThread(), 99);
}

TEST_F(Apc, S_APC_2_EveryQueuedApcRunsInOrderInOneWait) {
    for (ULONG_PTR p : {1, 2, 3}) ASSERT_NE(QueueUserAPC(queue_another, GetCurrentThread(), p), 0u);
    EXPECT_EQ(SleepEx(60000, TRUE), WAIT_IO_COMPLETION);
    EXPECT_EQ(g_seen.params, (std::vector<ULONG_PTR>{1, 2, 3, 99})) << "one queued by a routine runs in the same delivery";
    EXPECT_EQ(SleepEx(0, TRUE), 0u);
}

TEST_F(Apc, S_APC_2_ASignaledObjectWinsOverAQueuedApc) {
    HANDLE ev = CreateEventA(nullptr, TRUE, TRUE, nullptr);
    HANDLE two[2] = {CreateEventA(nullptr, TRUE, FALSE, nullptr), ev};
    ASSERT_NE(QueueUserAPC(record, GetCurrentThread(), 5), 0u);
    EXPECT_EQ(WaitForSingleObjectEx(ev, INFINITE, TRUE), WAIT_OBJECT_0);
    EXPECT_EQ(WaitForMultipleObjectsEx(2, two, FALSE, INFINITE, TRUE), WAIT_OBJECT_0 + 1);
    EXPECT_TRUE(g_seen.params.empty()) << "the APC stays queued";
    // With nothing signaled the APC ends the wait before its timeout is looked at.
    EXPECT_EQ(WaitForSingleObjectEx(two[0], 0, TRUE), WAIT_IO_COMPLETION);
    EXPECT_EQ(g_seen.params, (std::vector<ULONG_PTR>{5}));
    EXPECT_EQ(WaitForMultipleObjectsEx(1, two, FALSE, 0, TRUE), WAIT_TIMEOUT);
    CloseHandle(two[0]);
    CloseHandle(ev);
}

TEST_F(Apc, S_APC_2_AnApcQueuedByAnotherThreadEndsABlockedAlertableWait) {
    HANDLE ready = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    HANDLE never = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    std::atomic<DWORD> result{0}, worker_tid{0};
    std::atomic<int64_t> woke_at{0};
    HANDLE t = spawn([&] {
        worker_tid = GetCurrentThreadId();
        SetEvent(ready);
        result = WaitForSingleObjectEx(never, 60000, TRUE);
        woke_at = now_ms();
    });
    WaitForSingleObject(ready, INFINITE);
    int64_t t0 = now_ms();
    Sleep(1500);
    ASSERT_NE(QueueUserAPC(record, t, 11), 0u);
    WaitForSingleObject(t, INFINITE);
    EXPECT_EQ(result.load(), WAIT_IO_COMPLETION);
    EXPECT_EQ(woke_at.load() - t0, 1500);
    EXPECT_EQ(g_seen.threads, (std::vector<DWORD>{worker_tid.load()})) << "the APC ran in the thread it was queued to";
    CloseHandle(t);
    CloseHandle(never);
    CloseHandle(ready);
}

TEST_F(Apc, S_APC_2_ANonAlertableWaitIsNotEnded) {
    HANDLE ready = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    std::atomic<DWORD> first{0}, second{0};
    HANDLE t = spawn([&] {
        SetEvent(ready);
        first = SleepEx(2000, FALSE);
        second = SleepEx(0, TRUE);
    });
    WaitForSingleObject(ready, INFINITE);
    Sleep(100);
    ASSERT_NE(QueueUserAPC(record, t, 3), 0u);
    WaitForSingleObject(t, INFINITE);
    EXPECT_EQ(first.load(), 0u) << "the sleep ran its full time";
    EXPECT_EQ(second.load(), WAIT_IO_COMPLETION) << "the APC waited for the next alertable wait";
    EXPECT_EQ(g_seen.params, (std::vector<ULONG_PTR>{3}));
    CloseHandle(t);
    CloseHandle(ready);
}

// S-KE-9: only a user-mode alertable wait is ended by a user APC; ending it does not run
// the APC, which waits for the thread's next alertable wait service.
TEST_F(Apc, S_APC_2_S_KE_9_KernelWaitsAndUserApcs) {
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    ASSERT_NE(QueueUserAPC(record, GetCurrentThread(), 4), 0u);
    LARGE_INTEGER timeout = relative_ms(50);
    EXPECT_EQ(KeWaitForSingleObject(&ev, Executive, KernelMode, TRUE, &timeout), STATUS_TIMEOUT);
    EXPECT_EQ(KeDelayExecutionThread(KernelMode, TRUE, &timeout), STATUS_SUCCESS);
    EXPECT_EQ(KeWaitForSingleObject(&ev, Executive, UserMode, FALSE, &timeout), STATUS_TIMEOUT);
    EXPECT_EQ(KeWaitForSingleObject(&ev, Executive, UserMode, TRUE, &timeout), STATUS_USER_APC);
    EXPECT_EQ(KeDelayExecutionThread(UserMode, TRUE, &timeout), STATUS_USER_APC);
    EXPECT_TRUE(g_seen.params.empty());
    EXPECT_EQ(NtTestAlert(), STATUS_SUCCESS);
    EXPECT_EQ(g_seen.params, (std::vector<ULONG_PTR>{4}));
    EXPECT_EQ(NtTestAlert(), STATUS_SUCCESS);
    EXPECT_EQ(g_seen.params.size(), 1u);
}

// ---- S-APC-5: a thread that ends drops its APCs ------------------------------------------

TEST_F(Apc, S_APC_5_AThreadThatEndsNeverRunsItsQueuedApcs) {
    HANDLE go = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    HANDLE t = spawn([&] { WaitForSingleObject(go, INFINITE); });
    for (ULONG_PTR p : {1, 2}) ASSERT_NE(QueueUserAPC(record, t, p), 0u);
    SetEvent(go);
    WaitForSingleObject(t, INFINITE);
    EXPECT_TRUE(g_seen.params.empty());
    EXPECT_EQ(QueueUserAPC(record, t, 3), 0u);
    CloseHandle(t);
    CloseHandle(go);
}

// ---- S-APC-3: I/O completion APCs --------------------------------------------------------

struct IoApcCall {
    PVOID context;
    PIO_STATUS_BLOCK iosb;
    NTSTATUS status;
    ULONG_PTR information;
    DWORD thread;
};
std::vector<IoApcCall> g_io_calls;

VOID NTAPI io_apc(PVOID context, PIO_STATUS_BLOCK iosb, ULONG reserved) {
    EXPECT_EQ(reserved, 0u);
    g_io_calls.push_back({context, iosb, iosb->Status, iosb->Information, GetCurrentThreadId()});
}

// S-DSP-7's APC column: a request completed inside dispatch queues its APC exactly when
// it sets its event, and the APC runs in the caller's next alertable wait.
struct Row {
    const char* name;
    bool pending;
    NTSTATUS status;
    bool apc;
};
void PrintTo(const Row& r, std::ostream* os) { *os << r.name; }
class ApcColumn : public IoTest, public ::testing::WithParamInterface<Row> {};

TEST_P(ApcColumn, S_APC_3_S_DSP_7_TheUserApcColumn) {
    const Row& r = GetParam();
    g_io_calls.clear();
    HANDLE h = open(testdrv::kBuffered, true);
    Script s = now(r.status, 8, 8);
    s.mark_pending = r.pending;
    IO_STATUS_BLOCK iosb{};
    unsigned char out[8];
    int context = 0;
    NTSTATUS ret = NtDeviceIoControlFile(h, nullptr, io_apc, &context, &iosb, IOCTL_BUFFERED, &s, sizeof s, out, 8);
    EXPECT_EQ(ret, r.pending ? STATUS_PENDING : r.status);
    EXPECT_TRUE(g_io_calls.empty()) << "an APC never runs inside the call";
    EXPECT_EQ(SleepEx(0, TRUE), r.apc ? WAIT_IO_COMPLETION : 0u);
    ASSERT_EQ(g_io_calls.size(), r.apc ? 1u : 0u);
    if (r.apc) {
        EXPECT_EQ(g_io_calls[0].context, &context);
        EXPECT_EQ(g_io_calls[0].iosb, &iosb);
        EXPECT_EQ(g_io_calls[0].status, r.status) << "the status block is written before the APC runs";
        EXPECT_EQ(g_io_calls[0].information, 8u);
    }
    CloseHandle(h);
}

INSTANTIATE_TEST_SUITE_P(Rows, ApcColumn,
                         ::testing::Values(Row{"NotPendingError", false, STATUS_INVALID_PARAMETER, false},
                                           Row{"NotPendingSuccess", false, STATUS_SUCCESS, true},
                                           Row{"NotPendingWarning", false, STATUS_BUFFER_OVERFLOW, true},
                                           Row{"PendingError", true, STATUS_INVALID_PARAMETER, true},
                                           Row{"PendingSuccess", true, STATUS_SUCCESS, true}),
                         [](const ::testing::TestParamInfo<Row>& i) { return std::string(i.param.name); });

// A request pended and completed from a system thread: its APC is queued to the thread
// that issued it, whose alertable wait ends at the completion's exact time.
TEST_F(Apc, S_APC_3_APendedRequestsApcEndsTheIssuersAlertableWait) {
    g_io_calls.clear();
    HANDLE h = open(testdrv::kBuffered, true);
    Script s = later(STATUS_SUCCESS, 3000, 4, 4);
    IO_STATUS_BLOCK iosb{};
    unsigned char out[4];
    int64_t t0 = now_ms();
    ASSERT_EQ(NtDeviceIoControlFile(h, nullptr, io_apc, nullptr, &iosb, IOCTL_BUFFERED, &s, sizeof s, out, 4),
              STATUS_PENDING);
    EXPECT_EQ(SleepEx(60000, TRUE), WAIT_IO_COMPLETION);
    EXPECT_EQ(now_ms() - t0, 3000);
    ASSERT_EQ(g_io_calls.size(), 1u);
    EXPECT_EQ(g_io_calls[0].thread, GetCurrentThreadId());
    EXPECT_EQ(g_io_calls[0].status, STATUS_SUCCESS);
    EXPECT_EQ(std::memcmp(out, "\xAB\xAB\xAB\xAB", 4), 0) << "the data is copied back before the APC";
    CloseHandle(h);
}

// A synchronous handle takes an APC too: queued at completion like any other report,
// whether the request completed inside dispatch or was waited for.
TEST_F(Apc, S_APC_3_ASynchronousHandleQueuesTheApcAfterTheCall) {
    g_io_calls.clear();
    HANDLE h = open(testdrv::kBuffered, false);
    IO_STATUS_BLOCK iosb[3] = {};  // one each: the APC reads its request's status block when it runs
    unsigned char out[4];
    Script s = now(STATUS_SUCCESS, 4, 4);
    EXPECT_EQ(NtDeviceIoControlFile(h, nullptr, io_apc, nullptr, &iosb[0], IOCTL_BUFFERED, &s, sizeof s, out, 4),
              STATUS_SUCCESS);
    s = later(STATUS_BUFFER_OVERFLOW, 500, 2, 2);
    int64_t t0 = now_ms();
    EXPECT_EQ(NtDeviceIoControlFile(h, nullptr, io_apc, nullptr, &iosb[1], IOCTL_BUFFERED, &s, sizeof s, out, 4),
              STATUS_BUFFER_OVERFLOW);
    EXPECT_EQ(now_ms() - t0, 500);
    s = now(STATUS_INVALID_PARAMETER);
    EXPECT_EQ(NtDeviceIoControlFile(h, nullptr, io_apc, nullptr, &iosb[2], IOCTL_BUFFERED, &s, sizeof s, out, 4),
              STATUS_INVALID_PARAMETER);
    EXPECT_TRUE(g_io_calls.empty());
    EXPECT_EQ(SleepEx(0, TRUE), WAIT_IO_COMPLETION);
    ASSERT_EQ(g_io_calls.size(), 2u) << "the failed request queued none";
    EXPECT_EQ(g_io_calls[0].iosb, &iosb[0]);
    EXPECT_EQ(g_io_calls[0].status, STATUS_SUCCESS);
    EXPECT_EQ(g_io_calls[1].iosb, &iosb[1]);
    EXPECT_EQ(g_io_calls[1].status, STATUS_BUFFER_OVERFLOW);
    CloseHandle(h);
}

// ---- S-APC-6: ReadFileEx / WriteFileEx ------------------------------------------------------

struct RoutineCall {
    DWORD error, bytes;
    LPOVERLAPPED ov;
};
std::vector<RoutineCall> g_routine_calls;
VOID WINAPI completion_routine(DWORD error, DWORD bytes, LPOVERLAPPED ov) { g_routine_calls.push_back({error, bytes, ov}); }

TEST_F(Apc, S_APC_6_ReadFileExAndWriteFileExReportThroughTheirRoutine) {
    g_routine_calls.clear();
    HANDLE h = open(testdrv::kBuffered, true);
    HANDLE ev = CreateEventA(nullptr, TRUE, TRUE, nullptr);
    OVERLAPPED ov{};
    ov.hEvent = ev;  // the caller's to use: neither reset nor set
    char buf[16];
    testdrv::state().next_read_write = later(STATUS_SUCCESS, 1000, 16);
    int64_t t0 = now_ms();
    SetLastError(12345);
    ASSERT_TRUE(ReadFileEx(h, buf, sizeof buf, &ov, completion_routine));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_SUCCESS));
    EXPECT_EQ(ov.Internal, static_cast<ULONG_PTR>(STATUS_PENDING));
    EXPECT_EQ(SleepEx(60000, TRUE), WAIT_IO_COMPLETION);
    EXPECT_EQ(now_ms() - t0, 1000);
    ASSERT_EQ(g_routine_calls.size(), 1u);
    EXPECT_EQ(g_routine_calls[0].error, 0u);
    EXPECT_EQ(g_routine_calls[0].bytes, 16u);
    EXPECT_EQ(g_routine_calls[0].ov, &ov);
    EXPECT_EQ(WaitForSingleObject(ev, 0), WAIT_OBJECT_0) << "hEvent was not reset by the call";
    ResetEvent(ev);

    // Completed inside dispatch with a warning: TRUE, ERROR_MORE_DATA, and the routine
    // still runs with that error.
    testdrv::state().next_read_write = now(STATUS_BUFFER_OVERFLOW, 8);
    ASSERT_TRUE(WriteFileEx(h, buf, sizeof buf, &ov, completion_routine));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_MORE_DATA));
    EXPECT_EQ(WaitForSingleObject(ev, 0), WAIT_TIMEOUT) << "hEvent is not set at completion";
    EXPECT_EQ(SleepEx(0, TRUE), WAIT_IO_COMPLETION);
    ASSERT_EQ(g_routine_calls.size(), 2u);
    EXPECT_EQ(g_routine_calls[1].error, static_cast<DWORD>(ERROR_MORE_DATA));
    EXPECT_EQ(g_routine_calls[1].bytes, 8u);
    EXPECT_EQ(testdrv::last().major, IRP_MJ_WRITE);

    // An error inside dispatch: FALSE and its error, no routine.
    testdrv::state().next_read_write = now(STATUS_INVALID_DEVICE_REQUEST);
    EXPECT_FALSE(ReadFileEx(h, buf, sizeof buf, &ov, completion_routine));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_FUNCTION));
    EXPECT_EQ(SleepEx(0, TRUE), 0u);
    EXPECT_EQ(g_routine_calls.size(), 2u);

    // No OVERLAPPED or no routine: ERROR_INVALID_PARAMETER before any request.
    int dispatched = testdrv::state().dispatched.load();
    EXPECT_FALSE(ReadFileEx(h, buf, sizeof buf, nullptr, completion_routine));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    EXPECT_FALSE(WriteFileEx(h, buf, sizeof buf, &ov, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    EXPECT_EQ(testdrv::state().dispatched.load(), dispatched);
    CloseHandle(ev);
    CloseHandle(h);
}

// ---- S-APC-4: completion ports --------------------------------------------------------------

// S-DSP-9: a handle bound to a port takes no APC routine, before any IRP is built.
TEST_F(Apc, S_APC_4_S_DSP_9_AnApcOnAPortBoundHandleIsRefused) {
    HANDLE h = open(testdrv::kBuffered, true);
    HANDLE port = CreateIoCompletionPort(h, nullptr, 1, 0);
    ASSERT_NE(port, nullptr);
    int dispatched = testdrv::state().dispatched.load();
    OVERLAPPED ov{};
    char buf[4];
    EXPECT_FALSE(ReadFileEx(h, buf, sizeof buf, &ov, completion_routine));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    IO_STATUS_BLOCK iosb{};
    Script s = now(STATUS_SUCCESS);
    EXPECT_EQ(NtDeviceIoControlFile(h, nullptr, io_apc, nullptr, &iosb, IOCTL_BUFFERED, &s, sizeof s, nullptr, 0),
              STATUS_INVALID_PARAMETER);
    EXPECT_EQ(testdrv::state().dispatched.load(), dispatched);
    CloseHandle(h);
    CloseHandle(port);
}

// S-W32-18: an alertable GetQueuedCompletionStatusEx of a thread not yet associated
// with the port runs its APCs and leaves the packet; once associated, the packet comes
// first (Wine's test of Windows).
TEST_F(Apc, S_APC_4_S_W32_18_AlertableRemovalAndTheThreadsAssociation) {
    HANDLE port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, 0);
    OVERLAPPED_ENTRY entries[2];
    ULONG removed = 99;
    ASSERT_TRUE(PostQueuedCompletionStatus(port, 1, 10, nullptr));
    ASSERT_NE(QueueUserAPC(record, GetCurrentThread(), 1), 0u);
    EXPECT_FALSE(GetQueuedCompletionStatusEx(port, entries, 2, &removed, INFINITE, TRUE));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(WAIT_IO_COMPLETION));
    EXPECT_EQ(g_seen.params, (std::vector<ULONG_PTR>{1}));
    ASSERT_TRUE(GetQueuedCompletionStatusEx(port, entries, 2, &removed, INFINITE, TRUE));  // associates
    EXPECT_EQ(removed, 1u);
    ASSERT_TRUE(PostQueuedCompletionStatus(port, 2, 20, nullptr));
    ASSERT_NE(QueueUserAPC(record, GetCurrentThread(), 2), 0u);
    ASSERT_TRUE(GetQueuedCompletionStatusEx(port, entries, 2, &removed, INFINITE, TRUE));
    EXPECT_EQ(entries[0].lpCompletionKey, 20u) << "an associated thread takes the packet first";
    EXPECT_EQ(g_seen.params.size(), 1u);
    // Nothing queued: the APC ends the wait, and the timeout does not come first.
    EXPECT_FALSE(GetQueuedCompletionStatusEx(port, entries, 2, &removed, 0, TRUE));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(WAIT_IO_COMPLETION));
    EXPECT_EQ(g_seen.params, (std::vector<ULONG_PTR>{1, 2}));
    EXPECT_FALSE(GetQueuedCompletionStatusEx(port, entries, 2, &removed, 0, TRUE));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(WAIT_TIMEOUT));
    CloseHandle(port);
}

// S-W32-6: an alertable GetOverlappedResultEx that runs an APC fails with
// WAIT_IO_COMPLETION and leaves the request pending.
TEST_F(Apc, S_APC_2_S_W32_6_GetOverlappedResultExAlerted) {
    HANDLE h = open(testdrv::kBuffered, true);
    OVERLAPPED ov{};
    ov.hEvent = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    Script s = later(STATUS_SUCCESS, 2000);
    DWORD bytes = 0;
    EXPECT_FALSE(DeviceIoControl(h, IOCTL_BUFFERED, &s, sizeof s, nullptr, 0, &bytes, &ov));
    ASSERT_EQ(GetLastError(), static_cast<DWORD>(ERROR_IO_PENDING));
    ASSERT_NE(QueueUserAPC(record, GetCurrentThread(), 8), 0u);
    EXPECT_FALSE(GetOverlappedResultEx(h, &ov, &bytes, INFINITE, TRUE));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(WAIT_IO_COMPLETION));
    EXPECT_EQ(g_seen.params, (std::vector<ULONG_PTR>{8}));
    EXPECT_TRUE(GetOverlappedResultEx(h, &ov, &bytes, INFINITE, TRUE));
    CloseHandle(ov.hEvent);
    CloseHandle(h);
}

// ---- S-APC-8: a handle opened with FILE_SYNCHRONOUS_IO_ALERT (S-DSP-3) ------------------------

class ApcAbort : public Apc {
protected:
    void SetUp() override {
        Apc::SetUp();
        queuedrv::reset();
        ASSERT_EQ(sys.load_driver("ntioqueue", reinterpret_cast<ntio::System::DriverEntryFunction>(&queuedrv::DriverEntry)),
                  STATUS_SUCCESS);
    }
    // The cancel-safe-queue device, where a request waits until it is completed or cancelled.
    static HANDLE open_queue(ULONG options) {
        UNICODE_STRING name;
        RtlInitUnicodeString(&name, L"\\??\\TestCsq");
        OBJECT_ATTRIBUTES oa;
        InitializeObjectAttributes(&oa, &name, OBJ_CASE_INSENSITIVE, nullptr, nullptr);
        HANDLE h = nullptr;
        IO_STATUS_BLOCK iosb{};
        EXPECT_EQ(NtCreateFile(&h, GENERIC_READ | GENERIC_WRITE | SYNCHRONIZE, &oa, &iosb, nullptr, 0, 0, FILE_OPEN,
                               options, nullptr, 0),
                  STATUS_SUCCESS);
        return h;
    }
};

// The alertable wait for a pended request ends for a user APC: the request is
// cancelled and waited for, the APC runs before the call returns, and the call
// returns the request's final status. Without FILE_SYNCHRONOUS_IO_ALERT the APC waits.
TEST_F(ApcAbort, S_APC_8_S_DSP_3_AnApcAbortsTheRequestOfAnAlertableHandle) {
    HANDLE main_thread = nullptr;
    ASSERT_TRUE(DuplicateHandle(GetCurrentProcess(), GetCurrentThread(), GetCurrentProcess(), &main_thread, 0, FALSE,
                                DUPLICATE_SAME_ACCESS));
    HANDLE h = open_queue(FILE_SYNCHRONOUS_IO_ALERT);
    HANDLE t = spawn([&] {
        Sleep(700);
        QueueUserAPC(record, main_thread, 9);
        Sleep(5000);
        queuedrv::complete_next_csq(STATUS_SUCCESS);  // only if the APC did not abort it
    });
    ULONG tag = 1;
    IO_STATUS_BLOCK iosb{};
    int64_t t0 = now_ms();
    EXPECT_EQ(NtDeviceIoControlFile(h, nullptr, nullptr, nullptr, &iosb, queuedrv::IOCTL_QUEUE, &tag, sizeof tag,
                                    nullptr, 0),
              STATUS_CANCELLED);
    EXPECT_EQ(now_ms() - t0, 700);
    EXPECT_EQ(g_seen.params, (std::vector<ULONG_PTR>{9})) << "the APC ran on the way back";
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);

    HANDLE plain = open_queue(FILE_SYNCHRONOUS_IO_NONALERT);
    t = spawn([&] {
        Sleep(300);
        QueueUserAPC(record, main_thread, 10);
        Sleep(300);
        queuedrv::complete_next_csq(STATUS_SUCCESS);
    });
    t0 = now_ms();
    EXPECT_EQ(NtDeviceIoControlFile(plain, nullptr, nullptr, nullptr, &iosb, queuedrv::IOCTL_QUEUE, &tag, sizeof tag,
                                    nullptr, 0),
              STATUS_SUCCESS);
    EXPECT_EQ(now_ms() - t0, 600) << "the APC did not end the wait";
    EXPECT_EQ(g_seen.params.size(), 1u);
    EXPECT_EQ(SleepEx(0, TRUE), WAIT_IO_COMPLETION);
    EXPECT_EQ(g_seen.params, (std::vector<ULONG_PTR>{9, 10}));
    WaitForSingleObject(t, INFINITE);
    for (HANDLE x : {t, plain, h, main_thread}) CloseHandle(x);
}

// ---- S-APC-7: SignalObjectAndWait ------------------------------------------------------------

TEST_F(Apc, S_APC_7_SignalObjectAndWait) {
    HANDLE a = CreateEventA(nullptr, FALSE, FALSE, nullptr);
    HANDLE b = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    // The other side: waits for `a`, then sets `b` 500 ms later.
    HANDLE t = spawn([&] {
        WaitForSingleObject(a, INFINITE);
        Sleep(500);
        SetEvent(b);
    });
    int64_t t0 = now_ms();
    EXPECT_EQ(SignalObjectAndWait(a, b, INFINITE, FALSE), WAIT_OBJECT_0);
    EXPECT_EQ(now_ms() - t0, 500);
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);

    // A semaphore is released by one; at its maximum the call fails without waiting.
    HANDLE sem = CreateSemaphoreA(nullptr, 0, 1, nullptr);
    EXPECT_EQ(SignalObjectAndWait(sem, b, 0, FALSE), WAIT_OBJECT_0);
    EXPECT_EQ(SignalObjectAndWait(sem, a, 0, FALSE), WAIT_FAILED);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_TOO_MANY_POSTS));
    // A mutex must be the caller's; signaling and waiting on one works.
    HANDLE m = CreateMutexA(nullptr, FALSE, nullptr);
    EXPECT_EQ(SignalObjectAndWait(m, b, 0, FALSE), WAIT_FAILED);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOT_OWNER));
    EXPECT_EQ(SignalObjectAndWait(b, b, 0, FALSE), WAIT_OBJECT_0);
    // Objects that cannot be signaled, and a bad wait handle (which signals nothing).
    HANDLE port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, 0);
    EXPECT_EQ(SignalObjectAndWait(port, b, 0, FALSE), WAIT_FAILED);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    EXPECT_EQ(SignalObjectAndWait(a, nullptr, 0, FALSE), WAIT_FAILED);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    EXPECT_EQ(WaitForSingleObject(a, 0), WAIT_TIMEOUT) << "nothing was signaled";
    // Alertable: an APC ends the wait.
    ASSERT_NE(QueueUserAPC(record, GetCurrentThread(), 6), 0u);
    ResetEvent(b);
    EXPECT_EQ(SignalObjectAndWait(a, b, 1000, TRUE), WAIT_IO_COMPLETION);
    EXPECT_EQ(g_seen.params, (std::vector<ULONG_PTR>{6}));
    EXPECT_EQ(WaitForSingleObject(a, 0), WAIT_OBJECT_0) << "the signal came before the wait";
    for (HANDLE h : {a, b, sem, m, port}) CloseHandle(h);
}

// ---- the races, in real time ----------------------------------------------------------------

// Four threads issue requests with APC routines that complete inside dispatch or from a
// timer DPC on another thread, and queue user APCs to each other while the targets
// block in alertable waits; short-lived threads end with completions still to come
// (S-APC-5: their APCs are dropped). Every routine of a thread that waits for its
// requests runs exactly once, every APC queued to a live thread runs, and nothing is
// left behind. Run under ThreadSanitizer by CI.
class ApcRace : public RealTimeTest {
protected:
    void SetUp() override {
        testdrv::reset();
        ASSERT_EQ(sys.load_driver("ntiotest", reinterpret_cast<ntio::System::DriverEntryFunction>(&testdrv::DriverEntry)),
                  STATUS_SUCCESS);
    }
};

constexpr int kRaceThreads = 4, kRaceRounds = 300, kRaceBatch = 4, kChildEvery = 50;

struct RaceWorker {
    HANDLE thread = nullptr;
    std::atomic<int> io_routines{0}, apcs_received{0}, apcs_queued_to{0};
};
RaceWorker g_race[kRaceThreads];
std::atomic<int> g_child_routines{0};  // routines of threads that ended first: never run

VOID NTAPI race_io_apc(PVOID context, PIO_STATUS_BLOCK, ULONG) {
    if (context)
        static_cast<RaceWorker*>(context)->io_routines.fetch_add(1, std::memory_order_relaxed);
    else
        g_child_routines.fetch_add(1, std::memory_order_relaxed);
}
VOID WINAPI race_user_apc(ULONG_PTR p) { g_race[p].apcs_received.fetch_add(1, std::memory_order_relaxed); }

HANDLE open_test_device(bool overlapped) {
    return CreateFileA("\\\\.\\TestBuffered", GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING,
                       overlapped ? FILE_FLAG_OVERLAPPED : FILE_ATTRIBUTE_NORMAL, nullptr);
}

// One request with an APC routine that the test driver completes inside dispatch or
// from a timer DPC; true when it was issued.
bool issue(HANDLE h, RaceWorker* w, bool from_dpc) {
    Script s;
    s.finish = from_dpc ? testdrv::Finish::dpc : testdrv::Finish::now;
    s.delay_spread = 2;
    // Status blocks outlive their requests: a round waits for its routines before the
    // next one reuses a block.
    static thread_local IO_STATUS_BLOCK blocks[64];
    static thread_local unsigned next = 0;
    return NT_SUCCESS(NtDeviceIoControlFile(h, nullptr, race_io_apc, w, &blocks[next++ % 64], IOCTL_BUFFERED, &s,
                                            sizeof s, nullptr, 0));
}

TEST_F(ApcRace, S_APC_2_S_APC_3_S_APC_5_CompletionsQueueingAndThreadEndsRace) {
    for (RaceWorker& w : g_race) {
        w.io_routines = 0;
        w.apcs_received = 0;
        w.apcs_queued_to = 0;
    }
    g_child_routines = 0;
    std::atomic<int> issuing{kRaceThreads}, running{0}, children{0};
    HANDLE all_issued = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    HANDLE started = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    for (int i = 0; i < kRaceThreads; ++i) {
        g_race[i].thread = spawn([&, i] {
            if (++running == kRaceThreads) SetEvent(started);
            WaitForSingleObject(started, INFINITE);
            HANDLE h = open_test_device(i % 2 == 0);  // half overlapped, half synchronous
            ASSERT_NE(h, INVALID_HANDLE_VALUE);
            std::vector<HANDLE> kids;
            uint32_t seed = 12345u + static_cast<uint32_t>(i);
            int issued = 0;
            for (int round = 0; round < kRaceRounds; ++round) {
                for (int b = 0; b < kRaceBatch; ++b) {
                    seed = seed * 1103515245u + 12345u;
                    issued += issue(h, &g_race[i], (seed >> 16) % 3 != 0);
                }
                int target = static_cast<int>((seed >> 8) % kRaceThreads);
                if (QueueUserAPC(race_user_apc, g_race[target].thread, static_cast<ULONG_PTR>(target)))
                    g_race[target].apcs_queued_to.fetch_add(1, std::memory_order_relaxed);
                if (round % kChildEvery == 0)  // a thread that ends with its completion to come
                    kids.push_back(spawn([&, h] {
                        issue(h, nullptr, true);
                        children.fetch_add(1);
                    }));
                while (g_race[i].io_routines.load(std::memory_order_relaxed) < issued)
                    SleepEx(1000, TRUE);  // ended by its own completions and by the others' APCs
            }
            for (HANDLE k : kids) {
                WaitForSingleObject(k, INFINITE);
                CloseHandle(k);
            }
            if (--issuing == 0) SetEvent(all_issued);
            WaitForSingleObject(all_issued, INFINITE);
            SleepEx(0, TRUE);  // the APCs queued to it last
            EXPECT_EQ(g_race[i].io_routines.load(), issued);
            CloseHandle(h);
        });
    }
    for (RaceWorker& w : g_race) WaitForSingleObject(w.thread, INFINITE);
    for (int i = 0; i < kRaceThreads; ++i) {
        EXPECT_EQ(g_race[i].apcs_received.load(), g_race[i].apcs_queued_to.load()) << "worker " << i;
        CloseHandle(g_race[i].thread);
    }
    EXPECT_EQ(children.load(), kRaceThreads * (kRaceRounds / kChildEvery));
    EXPECT_EQ(g_child_routines.load(), 0) << "a thread that ended ran none of its routines";
    EXPECT_EQ(sys.live_irps(), 0);
    CloseHandle(all_issued);
    CloseHandle(started);
}

}  // namespace
