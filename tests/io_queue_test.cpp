// Device queues (S-DQ-1..4), StartIo (S-DQ-5..10) and cancellation (S-CAN-1..12),
// including the acceptance cases of issue 4.
#include <cstring>

#include "drivers/queue_driver.hpp"
#include "io_test_support.hpp"

namespace {

using namespace ntio::testing;
using queuedrv::StartIoMode;

class Queues : public IoTest {
protected:
    void SetUp() override {
        IoTest::SetUp();
        queuedrv::reset();
        ASSERT_EQ(sys.load_driver("ntioqueue", reinterpret_cast<ntio::System::DriverEntryFunction>(&queuedrv::DriverEntry)),
                  STATUS_SUCCESS);
    }
    HANDLE open_queue(const char* name) {
        return CreateFileA(name, GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING, FILE_FLAG_OVERLAPPED, nullptr);
    }
    // Sends IOCTL_QUEUE with a 4-byte tag; expects it to pend.
    void send(HANDLE h, OVERLAPPED* ov, ULONG tag) {
        std::memset(ov, 0, sizeof *ov);
        ov->hEvent = CreateEventA(nullptr, TRUE, FALSE, nullptr);
        EXPECT_FALSE(DeviceIoControl(h, queuedrv::IOCTL_QUEUE, &tag, sizeof tag, nullptr, 0, nullptr, ov));
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_IO_PENDING));
    }
    static NTSTATUS status_of(const OVERLAPPED& ov) { return static_cast<NTSTATUS>(static_cast<ULONG>(ov.Internal)); }
};

// ---- device queues ---------------------------------------------------------------------

struct Entry {
    KDEVICE_QUEUE_ENTRY e;
    int id;
};
int id_of(PKDEVICE_QUEUE_ENTRY e) { return e ? CONTAINING_RECORD(e, Entry, e)->id : -1; }

TEST(DeviceQueue, S_DQ_1_S_DQ_3_BusyFlagNotListEmptiness) {
    ntio::System sys({.clock = ntio::Clock::virtual_time});
    KDEVICE_QUEUE q;
    KeInitializeDeviceQueue(&q);
    Entry a{{}, 1}, b{{}, 2};
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    EXPECT_FALSE(KeInsertDeviceQueue(&q, &a.e)) << "idle: becomes busy, not inserted (process it now)";
    EXPECT_TRUE(q.Busy);
    EXPECT_TRUE(IsListEmpty(&q.DeviceListHead));
    EXPECT_TRUE(KeInsertDeviceQueue(&q, &b.e)) << "busy with an empty list still inserts";
    EXPECT_EQ(id_of(KeRemoveDeviceQueue(&q)), 2);
    EXPECT_TRUE(q.Busy) << "busy until a remove finds the list empty";
    EXPECT_EQ(KeRemoveDeviceQueue(&q), nullptr);
    EXPECT_FALSE(q.Busy);
    uint64_t bugs = ntio::driver_bug_count();
    EXPECT_EQ(KeRemoveDeviceQueue(&q), nullptr);
    EXPECT_EQ(ntio::driver_bug_count(), bugs + 1) << "removing from a queue that is not busy";
    EXPECT_EQ(KeRemoveByKeyDeviceQueue(&q, 0), nullptr);
    EXPECT_EQ(ntio::driver_bug_count(), bugs + 2) << "by key too";
    KeLowerIrql(old);
}

TEST(DeviceQueue, S_DQ_2_S_DQ_4_ByKeyOrderAndRemoval) {
    ntio::System sys({.clock = ntio::Clock::virtual_time});
    KDEVICE_QUEUE q;
    KeInitializeDeviceQueue(&q);
    Entry first{{}, 0}, e1{{}, 1}, e5a{{}, 51}, e5b{{}, 52}, e3{{}, 3};
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    KeInsertByKeyDeviceQueue(&q, &first.e, 0);
    KeInsertByKeyDeviceQueue(&q, &e5a.e, 5);
    KeInsertByKeyDeviceQueue(&q, &e1.e, 1);
    KeInsertByKeyDeviceQueue(&q, &e5b.e, 5);  // FIFO among equal keys
    KeInsertByKeyDeviceQueue(&q, &e3.e, 3);
    // Keys now [1, 3, 5(a), 5(b)]; SortKey 5 takes the first 5-entry (the documented rule).
    EXPECT_EQ(id_of(KeRemoveByKeyDeviceQueue(&q, 5)), 51);
    EXPECT_EQ(id_of(KeRemoveByKeyDeviceQueue(&q, 9)), 1) << "no key >= 9: the head";
    EXPECT_TRUE(KeRemoveEntryDeviceQueue(&q, &e5b.e));
    EXPECT_FALSE(KeRemoveEntryDeviceQueue(&q, &e5b.e)) << "not queued any more";
    EXPECT_FALSE(KeRemoveEntryDeviceQueue(&q, &first.e)) << "the started entry was never in the list";
    EXPECT_EQ(id_of(KeRemoveByKeyDeviceQueue(&q, 0)), 3);
    EXPECT_EQ(KeRemoveByKeyDeviceQueueIfBusy(&q, 0), nullptr);
    EXPECT_FALSE(q.Busy);
    EXPECT_EQ(KeRemoveByKeyDeviceQueueIfBusy(&q, 0), nullptr) << "not busy: NULL, no complaint";
    KeLowerIrql(old);
}

// ---- StartIo --------------------------------------------------------------------------------

TEST_F(Queues, S_DQ_5_IdleDeviceRunsStartIoInsideDispatchAtDispatchLevel) {
    HANDLE h = open_queue(queuedrv::kStartIoName);
    OVERLAPPED ov;
    send(h, &ov, 1);
    EXPECT_EQ(queuedrv::state().startio_calls, 1);
    EXPECT_EQ(queuedrv::state().started_inside_dispatch, 1);
    EXPECT_EQ(queuedrv::state().startio_irql, DISPATCH_LEVEL);
    EXPECT_NE(queuedrv::state().startio_device->CurrentIrp, nullptr);
    OVERLAPPED ov2;
    send(h, &ov2, 2);
    EXPECT_EQ(queuedrv::state().startio_calls, 1) << "busy: queued";
    EXPECT_TRUE(queuedrv::complete_current(STATUS_SUCCESS));
    EXPECT_EQ(queuedrv::state().startio_calls, 2) << "IoStartNextPacket started the next";
    EXPECT_TRUE(queuedrv::complete_current(STATUS_SUCCESS));
    EXPECT_EQ(queuedrv::state().startio_device->CurrentIrp, nullptr);
    EXPECT_EQ(status_of(ov), STATUS_SUCCESS);
    EXPECT_EQ(status_of(ov2), STATUS_SUCCESS);
    CloseHandle(ov.hEvent);
    CloseHandle(ov2.hEvent);
    CloseHandle(h);
}

TEST_F(Queues, S_DQ_8_S_DQ_9_RecursionNestsWithoutDeferredStartIo) {
    for (bool deferred : {false, true}) {
        queuedrv::reset();
        if (deferred) IoSetStartIoAttributes(queuedrv::state().startio_device, TRUE, FALSE);
        HANDLE h = open_queue(queuedrv::kStartIoName);
        const int n = 200;
        std::vector<OVERLAPPED> ovs(n);
        for (int i = 0; i < n; ++i) send(h, &ovs[i], static_cast<ULONG>(i));  // the first is held by StartIo
        queuedrv::state().mode = StartIoMode::complete;
        uint64_t warnings = ntio::driver_warning_count();
        queuedrv::state().lowest_stack = UINTPTR_MAX;
        volatile char marker = 0;
        auto top = reinterpret_cast<uintptr_t>(&marker);
        EXPECT_TRUE(queuedrv::complete_current(STATUS_SUCCESS));  // completes #0 and starts the chain
        EXPECT_EQ(queuedrv::state().startio_calls, n);
        uintptr_t stack_used = top - queuedrv::state().lowest_stack.load();
        if (deferred) {
            EXPECT_LE(queuedrv::state().max_depth, 1) << "DeferredStartIo never re-enters StartIo";
            EXPECT_LT(stack_used, 8192u) << "nor nests anything else: the stack does not grow with the queue";
            EXPECT_EQ(ntio::driver_warning_count(), warnings);
        } else {
            EXPECT_EQ(queuedrv::state().max_depth, n - 1) << "each StartIo runs inside the previous one";
            EXPECT_GT(stack_used, static_cast<uintptr_t>(n - 1) * 16) << "one frame per level at least";
            EXPECT_EQ(ntio::driver_warning_count(), warnings + 1) << "StartIoRecursion, once per device";
        }
        std::lock_guard l(queuedrv::state().lock);
        for (int i = 0; i < n; ++i) EXPECT_EQ(queuedrv::state().startio_order[static_cast<size_t>(i)], static_cast<ULONG>(i));
        for (auto& ov : ovs) {
            EXPECT_EQ(status_of(ov), STATUS_SUCCESS);
            CloseHandle(ov.hEvent);
        }
        CloseHandle(h);
    }
}

TEST_F(Queues, S_DQ_9_NonCancelableDropsTheCancelRoutineAtDequeue) {
    IoSetStartIoAttributes(queuedrv::state().startio_device, FALSE, TRUE);
    HANDLE h = open_queue(queuedrv::kStartIoName);
    OVERLAPPED a, b;
    send(h, &a, 1);
    send(h, &b, 2);
    EXPECT_EQ(queuedrv::state().startio_device->CurrentIrp->CancelRoutine, nullptr);
    EXPECT_TRUE(CancelIoEx(h, &a)) << "found, but it has no cancel routine";
    EXPECT_EQ(queuedrv::state().cancel_calls, 0);
    EXPECT_TRUE(CancelIoEx(h, &b)) << "queued requests keep theirs";
    EXPECT_EQ(queuedrv::state().cancel_calls, 1);
    EXPECT_EQ(status_of(b), STATUS_CANCELLED);
    EXPECT_TRUE(queuedrv::complete_current(STATUS_SUCCESS));
    EXPECT_EQ(status_of(a), STATUS_SUCCESS);
    CloseHandle(a.hEvent);
    CloseHandle(b.hEvent);
    CloseHandle(h);
}

// ---- cancellation: issue 4's acceptance cases -------------------------------------------------

TEST_F(Queues, CancelIoOnAQueuedStartIoRequest_S_CAN_8_S_DQ_10) {
    HANDLE h = open_queue(queuedrv::kStartIoName);
    OVERLAPPED current, queued;
    send(h, &current, 1);
    HANDLE other = open_queue(queuedrv::kStartIoName);
    OVERLAPPED other_req;
    send(other, &other_req, 3);
    // The queued request on `h` is issued by another thread; CancelIo only sees the caller's.
    HANDLE t = spawn([&] {
        send(h, &queued, 2);
        EXPECT_TRUE(CancelIo(h));
    });
    join(t);
    EXPECT_EQ(queuedrv::state().cancel_calls, 1) << "only the thread's own (queued) request on h";
    EXPECT_EQ(status_of(queued), STATUS_CANCELLED) << "removed from the device queue, completed with 995";
    DWORD n;
    EXPECT_FALSE(GetOverlappedResult(h, &queued, &n, FALSE));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_OPERATION_ABORTED));
    EXPECT_EQ(WaitForSingleObject(queued.hEvent, 0), WAIT_OBJECT_0) << "S-CAN-11: the event is set";
    EXPECT_EQ(status_of(current), STATUS_PENDING) << "the current one was not the other thread's";
    // The others go on.
    EXPECT_TRUE(queuedrv::complete_current(STATUS_SUCCESS));
    EXPECT_EQ(status_of(current), STATUS_SUCCESS);
    EXPECT_TRUE(queuedrv::complete_current(STATUS_SUCCESS));
    EXPECT_EQ(status_of(other_req), STATUS_SUCCESS);
    EXPECT_EQ(queuedrv::state().startio_calls, 2) << "the cancelled request never reached StartIo";
    for (HANDLE e : {current.hEvent, queued.hEvent, other_req.hEvent}) CloseHandle(e);
    CloseHandle(other);
    CloseHandle(h);
}

TEST_F(Queues, CancellingTheCurrentIrpThroughTheArticlesCheck) {
    queuedrv::state().mode = StartIoMode::gate;
    HANDLE h = open_queue(queuedrv::kStartIoName);
    OVERLAPPED ov{};
    ov.hEvent = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    ULONG tag = 7;
    HANDLE issuer = spawn([&] {
        EXPECT_FALSE(DeviceIoControl(h, queuedrv::IOCTL_QUEUE, &tag, sizeof tag, nullptr, 0, nullptr, &ov));
    });
    while (!queuedrv::state().gate_entered) SwitchToThread();
    // StartIo has it as CurrentIrp but has not yet looked: the cancel routine leaves it alone...
    EXPECT_TRUE(CancelIoEx(h, &ov));
    EXPECT_EQ(queuedrv::state().cancel_calls, 1);
    EXPECT_EQ(queuedrv::state().cancel_irql, DISPATCH_LEVEL);
    EXPECT_EQ(status_of(ov), STATUS_PENDING);
    // ...and StartIo's `Irp != CurrentIrp || Irp->Cancel` check finishes it.
    queuedrv::release_gate();
    join(issuer);
    EXPECT_EQ(WaitForSingleObject(ov.hEvent, INFINITE), WAIT_OBJECT_0);
    EXPECT_EQ(status_of(ov), STATUS_CANCELLED);
    EXPECT_EQ(queuedrv::state().startio_device->CurrentIrp, nullptr) << "and started the (empty) next";
    CloseHandle(ov.hEvent);
    CloseHandle(h);
}

// S-CAN-8: CancelIo cannot cancel a request without a cancel routine, and waits (polling
// every 10 ms, as Windows does) until the driver completes it, here with success.
TEST_F(Queues, APendingIrpWithoutACancelRoutineIsNotCancelled_S_CAN_8) {
    HANDLE h = open(testdrv::kBuffered, true);
    OVERLAPPED ov{};
    ov.hEvent = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    testdrv::Script s = later(STATUS_SUCCESS, 2995, 0);
    EXPECT_FALSE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, &s, sizeof s, nullptr, 0, nullptr, &ov));
    Sleep(1000);
    EXPECT_TRUE(CancelIo(h));
    EXPECT_EQ(now_ms(), 3000) << "returned at the first 10 ms poll after the completion at 2995 ms";
    EXPECT_EQ(status_of(ov), STATUS_SUCCESS) << "completed by the driver, with success";
    EXPECT_EQ(WaitForSingleObject(ov.hEvent, 0), WAIT_OBJECT_0);
    CloseHandle(ov.hEvent);
    CloseHandle(h);
}

TEST_F(Queues, ClosingTheLastHandleCancelsCsqQueuedIrpsThroughCleanup_S_CAN_13) {
    HANDLE h = open_queue(queuedrv::kCsqName);
    HANDLE keep = open_queue(queuedrv::kCsqName);
    OVERLAPPED a, b, other;
    send(h, &a, 1);
    send(h, &b, 2);
    send(keep, &other, 3);
    CloseHandle(h);
    EXPECT_EQ(queuedrv::state().csq_cleanup_cancelled, 2);
    EXPECT_EQ(status_of(a), STATUS_CANCELLED);
    EXPECT_EQ(status_of(b), STATUS_CANCELLED);
    EXPECT_EQ(status_of(other), STATUS_PENDING) << "another file's request stays";
    EXPECT_TRUE(queuedrv::complete_next_csq(STATUS_SUCCESS));
    EXPECT_EQ(status_of(other), STATUS_SUCCESS);
    for (HANDLE e : {a.hEvent, b.hEvent, other.hEvent}) CloseHandle(e);
    CloseHandle(keep);
}

TEST_F(Queues, AThreadThatExitsCancelsItsIrps_S_CAN_12) {
    HANDLE h = open_queue(queuedrv::kCsqName);
    OVERLAPPED ov;
    int64_t exit_seen = -1;
    HANDLE t = spawn([&] { send(h, &ov, 1); });
    EXPECT_EQ(WaitForSingleObject(t, INFINITE), WAIT_OBJECT_0);
    exit_seen = now_ms();
    CloseHandle(t);
    EXPECT_EQ(status_of(ov), STATUS_CANCELLED) << "cancelled before the thread object was signaled";
    EXPECT_EQ(exit_seen, 0);
    CloseHandle(ov.hEvent);
    CloseHandle(h);
}

// S-CAN-12 / S-CMP-8: a request the driver cannot cancel (StartIo holds it with no
// cancel routine) keeps its exiting thread for 5 minutes, polled in 100 ms slices;
// then it is disassociated, the verifier says so, and its eventual completion only
// cleans up: the caller's OVERLAPPED and event are not touched.
TEST_F(Queues, AnUncancellableRequestIsDisassociatedAfterFiveMinutes_S_CAN_12_S_CMP_8) {
    HANDLE h = open_queue(queuedrv::kStartIoName);
    OVERLAPPED ov;
    HANDLE t = spawn([&] { send(h, &ov, 1); });
    uint64_t bugs = ntio::driver_bug_count();
    EXPECT_EQ(WaitForSingleObject(t, INFINITE), WAIT_OBJECT_0);
    CloseHandle(t);
    EXPECT_GE(now_ms(), 300000) << "the thread waited 5 minutes for the driver";
    EXPECT_LT(now_ms(), 300200);
    EXPECT_EQ(ntio::driver_bug_count(), bugs + 1) << "IO_DRIVER_CANCEL_TIMEOUT";
    EXPECT_EQ(status_of(ov), STATUS_PENDING);
    EXPECT_EQ(queuedrv::state().startio_device->CurrentIrp->Tail.Overlay.Thread, nullptr) << "disassociated";
    EXPECT_TRUE(queuedrv::complete_current(STATUS_SUCCESS));
    EXPECT_EQ(status_of(ov), STATUS_PENDING) << "the completion did not reach the caller";
    EXPECT_EQ(WaitForSingleObject(ov.hEvent, 0), static_cast<DWORD>(WAIT_TIMEOUT));
    EXPECT_EQ(sys.live_irps(), 0) << "but the IRP was freed";
    CloseHandle(ov.hEvent);
    CloseHandle(h);
}

TEST_F(Queues, CancelIoExPicksOneOverlappedOfSeveral_S_CAN_9) {
    HANDLE h = open_queue(queuedrv::kCsqName);
    OVERLAPPED ov[3];
    for (int i = 0; i < 3; ++i) send(h, &ov[i], static_cast<ULONG>(i));
    EXPECT_TRUE(CancelIoEx(h, &ov[1]));
    EXPECT_EQ(status_of(ov[0]), STATUS_PENDING);
    EXPECT_EQ(status_of(ov[1]), STATUS_CANCELLED);
    EXPECT_EQ(status_of(ov[2]), STATUS_PENDING);
    EXPECT_FALSE(CancelIoEx(h, &ov[1])) << "nothing left to cancel for it";
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOT_FOUND));
    EXPECT_TRUE(CancelIoEx(h, nullptr)) << "all of the handle's requests, from any thread";
    EXPECT_EQ(status_of(ov[0]), STATUS_CANCELLED);
    EXPECT_EQ(status_of(ov[2]), STATUS_CANCELLED);
    EXPECT_FALSE(CancelIoEx(h, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOT_FOUND));
    EXPECT_TRUE(CancelIo(h)) << "CancelIo succeeds even with nothing to cancel";
    for (auto& o : ov) CloseHandle(o.hEvent);
    CloseHandle(h);
}

TEST_F(Queues, S_CAN_10_CancelSynchronousIo) {
    HANDLE sync = CreateFileA(queuedrv::kCsqName, GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING, 0, nullptr);
    HANDLE async = open_queue(queuedrv::kCsqName);
    std::atomic<DWORD> error{0};
    std::atomic<bool> result{true};
    OVERLAPPED pending;
    HANDLE thread = spawn([&] {
        send(async, &pending, 9);  // overlapped: not touched by CancelSynchronousIo
        ULONG tag = 1;
        DWORD n;
        result = DeviceIoControl(sync, queuedrv::IOCTL_QUEUE, &tag, sizeof tag, nullptr, 0, &n, nullptr);
        error = GetLastError();
    });
    sys.run_until_idle();  // the thread is blocked in its synchronous call
    HANDLE dup;
    ASSERT_TRUE(DuplicateHandle(GetCurrentProcess(), thread, GetCurrentProcess(), &dup, THREAD_TERMINATE, FALSE, 0));
    EXPECT_TRUE(CancelSynchronousIo(dup));
    join(thread);
    EXPECT_FALSE(result);
    EXPECT_EQ(error, static_cast<DWORD>(ERROR_OPERATION_ABORTED));
    EXPECT_EQ(status_of(pending), STATUS_CANCELLED) << "the exiting thread's overlapped request was cancelled at exit";
    EXPECT_FALSE(CancelSynchronousIo(dup)) << "nothing synchronous left";
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOT_FOUND));
    CloseHandle(dup);
    CloseHandle(pending.hEvent);
    CloseHandle(sync);
    CloseHandle(async);
}

TEST_F(Queues, S_CAN_1_S_CAN_2_IoCancelIrpBasics) {
    HANDLE h = open(testdrv::kBuffered, true);
    OVERLAPPED ov{};
    testdrv::Script s = held();
    EXPECT_FALSE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, &s, sizeof s, nullptr, 0, nullptr, &ov));
    PIRP irp;
    {
        std::lock_guard g(testdrv::state().lock);
        irp = testdrv::state().held.front();
    }
    EXPECT_FALSE(IoCancelIrp(irp)) << "no cancel routine";
    EXPECT_TRUE(irp->Cancel) << "but the flag is set";
    EXPECT_FALSE(IoCancelIrp(irp));
    static std::atomic<int> calls;
    static std::atomic<bool> saw_cancel, routine_cleared;
    static std::atomic<KIRQL> irql;
    calls = 0;
    IoSetCancelRoutine(irp, [](PDEVICE_OBJECT, PIRP i) {
        calls++;
        saw_cancel = i->Cancel;
        routine_cleared = i->CancelRoutine == nullptr;
        irql = KeGetCurrentIrql();
        IoReleaseCancelSpinLock(i->CancelIrql);
    });
    EXPECT_TRUE(IoCancelIrp(irp));
    EXPECT_EQ(calls, 1);
    EXPECT_TRUE(saw_cancel);
    EXPECT_TRUE(routine_cleared);
    EXPECT_EQ(irql, DISPATCH_LEVEL);
    EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL) << "restored by IoReleaseCancelSpinLock(Irp->CancelIrql)";
    EXPECT_FALSE(IoCancelIrp(irp)) << "a second cancel does not call it again";
    EXPECT_EQ(calls, 1);
    ASSERT_TRUE(testdrv::complete_held(STATUS_CANCELLED, 0));
    CloseHandle(h);
}

TEST_F(Queues, S_CAN_7_CsqNeverLeavesACancelledIrpQueued) {
    HANDLE h = open_queue(queuedrv::kCsqName);
    OVERLAPPED a, b, c;
    send(h, &a, 1);
    send(h, &b, 2);
    send(h, &c, 3);
    EXPECT_TRUE(CancelIoEx(h, &a));
    EXPECT_EQ(status_of(a), STATUS_CANCELLED);
    EXPECT_TRUE(queuedrv::complete_next_csq(STATUS_SUCCESS)) << "RemoveNext skips nothing left cancelled";
    EXPECT_EQ(status_of(b), STATUS_SUCCESS);
    EXPECT_TRUE(queuedrv::complete_next_csq(STATUS_SUCCESS));
    EXPECT_EQ(status_of(c), STATUS_SUCCESS);
    EXPECT_FALSE(queuedrv::complete_next_csq(STATUS_SUCCESS));
    for (HANDLE e : {a.hEvent, b.hEvent, c.hEvent}) CloseHandle(e);
    CloseHandle(h);
}

}  // namespace
