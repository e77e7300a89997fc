// Work items: ExQueueWorkItem and the I/O manager's IoAllocateWorkItem /
// IoQueueWorkItem(Ex) / IoFreeWorkItem / IoInitializeWorkItem. The routine runs at
// PASSIVE_LEVEL on a system worker thread; an I/O work item holds its device object
// until the routine has returned; Driver Verifier's WORKER_INVALID and
// WORKER_THREAD_RETURNED_AT_BAD_IRQL are reported. Rules: docs/design.md, "Work items"
// (S-WI-n).
#include <atomic>

#include "drivers/test_driver.hpp"
#include "ntio/gtest.hpp"

namespace {

struct Seen {
    std::atomic<int> runs{0};
    KIRQL irql = 0xff;
    PETHREAD thread = nullptr;
    BOOLEAN system_thread = FALSE;
    PVOID parameter = nullptr;
    PDEVICE_OBJECT device = nullptr;
    ULONG device_type = 0;
    ULONGLONG at = 0;
    KEVENT done;
};
Seen* g_seen = nullptr;

VOID record(PVOID parameter) {
    g_seen->irql = KeGetCurrentIrql();
    g_seen->thread = PsGetCurrentThread();
    g_seen->system_thread = PsIsSystemThread(PsGetCurrentThread());
    g_seen->parameter = parameter;
    g_seen->at = KeQueryInterruptTime();
    g_seen->runs++;
    KeSetEvent(&g_seen->done, IO_NO_INCREMENT, FALSE);
}

class WorkItems : public ntio::testing::DriverTest {
protected:
    void SetUp() override {
        testdrv::reset();
        ASSERT_EQ(sys.load_driver("ntiotest", reinterpret_cast<ntio::System::DriverEntryFunction>(&testdrv::DriverEntry)),
                  STATUS_SUCCESS);
        seen = std::make_unique<Seen>();
        KeInitializeEvent(&seen->done, NotificationEvent, FALSE);
        g_seen = seen.get();
        UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Device\\TestBuffered");
        ASSERT_EQ(IoGetDeviceObjectPointer(&name, FILE_READ_DATA, &file, &device), STATUS_SUCCESS);
    }
    void TearDown() override {
        if (file) ObDereferenceObject(file);
        DriverTest::TearDown();
        g_seen = nullptr;
    }
    void wait_done() { ASSERT_EQ(KeWaitForSingleObject(&seen->done, Executive, KernelMode, FALSE, nullptr), STATUS_SUCCESS); }
    std::unique_ptr<Seen> seen;
    PFILE_OBJECT file = nullptr;
    PDEVICE_OBJECT device = nullptr;
};

// S-WI-1: the routine runs once, later, at PASSIVE_LEVEL on a system thread, also when
// queued at DISPATCH_LEVEL, and the item may be queued again once it has started.
TEST_F(WorkItems, S_WI_1_TheRoutineRunsAtPassiveLevelOnASystemThread) {
    WORK_QUEUE_ITEM item;
    ExInitializeWorkItem(&item, record, &item);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    ExQueueWorkItem(&item, DelayedWorkQueue);
    KeLowerIrql(old);
    wait_done();
    EXPECT_EQ(seen->runs.load(), 1);
    EXPECT_EQ(seen->irql, PASSIVE_LEVEL);
    EXPECT_TRUE(seen->system_thread);
    EXPECT_NE(seen->thread, PsGetCurrentThread());
    EXPECT_EQ(seen->parameter, &item);
    EXPECT_EQ(item.List.Flink, nullptr);  // not queued any more
    KeClearEvent(&seen->done);
    ExQueueWorkItem(&item, CriticalWorkQueue);
    wait_done();
    EXPECT_EQ(seen->runs.load(), 2);
}

// Every worker thread busy: kWorkers routines that block until released. With the
// pool at its size (64 threads), an item queued now stays queued until one returns.
constexpr int kWorkers = 64;
KEVENT g_release;
std::atomic<int> g_blocked{0};
KEVENT g_all_blocked;
VOID block(PVOID) {
    if (++g_blocked == kWorkers) KeSetEvent(&g_all_blocked, IO_NO_INCREMENT, FALSE);
    KeWaitForSingleObject(&g_release, Executive, KernelMode, FALSE, nullptr);
}
struct BusyWorkers {
    WORK_QUEUE_ITEM items[kWorkers];
    BusyWorkers() {
        KeInitializeEvent(&g_release, NotificationEvent, FALSE);
        KeInitializeEvent(&g_all_blocked, NotificationEvent, FALSE);
        g_blocked = 0;
        for (auto& item : items) {
            ExInitializeWorkItem(&item, block, nullptr);
            ExQueueWorkItem(&item, DelayedWorkQueue);
        }
        KeWaitForSingleObject(&g_all_blocked, Executive, KernelMode, FALSE, nullptr);
    }
    void release() { KeSetEvent(&g_release, IO_NO_INCREMENT, FALSE); }
};

// S-WI-2: queueing an item that is still queued is WORKER_INVALID; it is not queued
// twice. An item whose link is set is taken as queued.
TEST_F(WorkItems, WORKER_INVALID_S_WI_2_QueueingAQueuedItem) {
    BusyWorkers busy;
    WORK_QUEUE_ITEM item;
    ExInitializeWorkItem(&item, record, nullptr);
    ExQueueWorkItem(&item, DelayedWorkQueue);
    EXPECT_NE(item.List.Flink, nullptr);
    EXPECT_DRIVER_BUG("WORKER_INVALID", ExQueueWorkItem(&item, DelayedWorkQueue));
    EXPECT_EQ(seen->runs.load(), 0);
    busy.release();
    wait_done();
    sys.run_until_idle();
    EXPECT_EQ(seen->runs.load(), 1);
}

// Items that wait for each other: the second item's routine sets what the first one
// waits for. With one worker thread this would never end; the pool grows instead.
KEVENT g_second_ran;
VOID wait_for_second(PVOID) {
    KeWaitForSingleObject(&g_second_ran, Executive, KernelMode, FALSE, nullptr);
    record(nullptr);
}
VOID set_second(PVOID) { KeSetEvent(&g_second_ran, IO_NO_INCREMENT, FALSE); }

// S-WI-3: a routine that blocks does not hold up the items behind it, and a routine's
// waits take virtual time like any other thread's.
TEST_F(WorkItems, S_WI_3_ABlockedRoutineDoesNotHoldUpTheQueue) {
    KeInitializeEvent(&g_second_ran, NotificationEvent, FALSE);
    WORK_QUEUE_ITEM first, second;
    ExInitializeWorkItem(&first, wait_for_second, nullptr);
    ExInitializeWorkItem(&second, set_second, nullptr);
    ExQueueWorkItem(&first, DelayedWorkQueue);
    LARGE_INTEGER d;
    d.QuadPart = -10000LL * 100;  // the first item is waiting by then
    KeDelayExecutionThread(KernelMode, FALSE, &d);
    ULONGLONG queued_at = KeQueryInterruptTime();
    ExQueueWorkItem(&second, DelayedWorkQueue);
    wait_done();
    EXPECT_EQ(seen->at, queued_at) << "the second item ran at once, on another worker";
}

// S-WI-4: an I/O work item holds its device object until its routine has returned: the
// device may be deleted meanwhile, and the routine still finds it (ASan would see a
// use after free otherwise). The routine may free its own item.
VOID io_routine(PDEVICE_OBJECT DeviceObject, PVOID Context) {
    LARGE_INTEGER d;
    d.QuadPart = -10000LL * 1000;
    KeDelayExecutionThread(KernelMode, FALSE, &d);
    g_seen->device = DeviceObject;
    g_seen->device_type = DeviceObject->DeviceType;
    IoFreeWorkItem(static_cast<PIO_WORKITEM>(Context));
    record(Context);
}

TEST_F(WorkItems, S_WI_4_AnIoWorkItemHoldsItsDeviceUntilItsRoutineReturns) {
    PIO_WORKITEM w = IoAllocateWorkItem(device);
    ASSERT_NE(w, nullptr);
    IoQueueWorkItem(w, io_routine, DelayedWorkQueue, w);
    ObDereferenceObject(file);  // the test's own reference on the device goes with the file
    file = nullptr;
    testdrv::delete_device(testdrv::kBuffered);
    ULONGLONG start = KeQueryInterruptTime();
    wait_done();
    EXPECT_EQ(seen->at - start, 1000 * 10000ULL);
    EXPECT_EQ(seen->device, device);
    EXPECT_EQ(seen->device_type, static_cast<ULONG>(FILE_DEVICE_UNKNOWN));
    EXPECT_EQ(seen->irql, PASSIVE_LEVEL);
}

// IoQueueWorkItemEx's routine gets the object, the context and the item; a
// caller-allocated item (IoSizeofWorkItem, IoInitializeWorkItem) works the same.
VOID io_routine_ex(PVOID IoObject, PVOID Context, PIO_WORKITEM IoWorkItem) {
    g_seen->device = static_cast<PDEVICE_OBJECT>(IoObject);
    g_seen->parameter = IoWorkItem;
    record(Context == IoWorkItem ? IoWorkItem : nullptr);
}

TEST_F(WorkItems, S_WI_4_IoQueueWorkItemExAndCallerAllocatedItems) {
    std::vector<char> memory(IoSizeofWorkItem());
    auto* w = reinterpret_cast<PIO_WORKITEM>(memory.data());
    IoInitializeWorkItem(device, w);
    IoQueueWorkItemEx(w, io_routine_ex, DelayedWorkQueue, w);
    wait_done();
    EXPECT_EQ(seen->device, device);
    EXPECT_EQ(seen->parameter, static_cast<PVOID>(w));
    sys.run_until_idle();  // the routine has returned and the reference is gone
    IoUninitializeWorkItem(w);
    EXPECT_DRIVER_BUG("InvalidParameter", IoQueueWorkItem(w, io_routine, DelayedWorkQueue, nullptr));
}

// S-WI-5: queueing an I/O work item again before its routine started, or freeing it
// while queued, is WORKER_INVALID; neither is done.
TEST_F(WorkItems, WORKER_INVALID_S_WI_5_RequeueingOrFreeingAQueuedIoWorkItem) {
    BusyWorkers busy;
    PIO_WORKITEM w = IoAllocateWorkItem(device);
    IoQueueWorkItemEx(w, io_routine_ex, DelayedWorkQueue, w);
    EXPECT_DRIVER_BUG("WORKER_INVALID", IoQueueWorkItemEx(w, io_routine_ex, DelayedWorkQueue, w));
    EXPECT_DRIVER_BUG("WORKER_INVALID", IoFreeWorkItem(w));
    busy.release();
    wait_done();
    sys.run_until_idle();
    EXPECT_EQ(seen->runs.load(), 1);
    IoFreeWorkItem(w);
}

// S-WI-6: a routine that returns at raised IRQL is WORKER_THREAD_RETURNED_AT_BAD_IRQL;
// the worker goes back to PASSIVE_LEVEL for the next item.
VOID return_raised(PVOID) {
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
}

TEST_F(WorkItems, WORKER_THREAD_RETURNED_AT_BAD_IRQL_S_WI_6_ARoutineReturningRaised) {
    auto bad = verifier.expect("WORKER_THREAD_RETURNED_AT_BAD_IRQL");
    WORK_QUEUE_ITEM raised, after;
    ExInitializeWorkItem(&raised, return_raised, nullptr);
    ExInitializeWorkItem(&after, record, nullptr);
    ExQueueWorkItem(&raised, DelayedWorkQueue);
    sys.run_until_idle();
    ExQueueWorkItem(&after, DelayedWorkQueue);
    wait_done();
    sys.run_until_idle();
    EXPECT_EQ(bad.reports().size(), 1u);
    EXPECT_EQ(seen->irql, PASSIVE_LEVEL);
}

}  // namespace
