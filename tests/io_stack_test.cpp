// Device stacks (S-IRP-4..9, S-CMP-2..7), driver-built IRPs (S-BLD-1..6) and remove
// locks (S-RL-1..4): a filter driver over the scripted test driver, and IRPs the test
// builds as a driver would.
#include <cstring>

#include "drivers/filter_driver.hpp"
#include "io_test_support.hpp"

namespace {

using namespace ntio::testing;
using testdrv::Script;

// The test driver's device \Device\<name>, without keeping a file open.
PDEVICE_OBJECT device_named(const wchar_t* name) {
    std::wstring nt = std::wstring(L"\\Device\\") + name;
    UNICODE_STRING us{static_cast<USHORT>(nt.size() * sizeof(WCHAR)), static_cast<USHORT>(nt.size() * sizeof(WCHAR)), nt.data()};
    PFILE_OBJECT fo = nullptr;
    PDEVICE_OBJECT top = nullptr;
    EXPECT_EQ(IoGetDeviceObjectPointer(&us, FILE_READ_DATA, &fo, &top), STATUS_SUCCESS);
    if (!fo) return nullptr;
    PDEVICE_OBJECT dev = fo->DeviceObject;
    ObDereferenceObject(fo);
    return dev;
}

// Fills a stack location with an IOCTL for the test driver carrying `script` (METHOD_NEITHER).
void aim_at_script(PIO_STACK_LOCATION sl, Script* script) {
    sl->MajorFunction = IRP_MJ_DEVICE_CONTROL;
    sl->Parameters.DeviceIoControl.IoControlCode = testdrv::IOCTL_NEITHER;
    sl->Parameters.DeviceIoControl.Type3InputBuffer = script;
    sl->Parameters.DeviceIoControl.InputBufferLength = sizeof(Script);
}

// The event and status block a caller of IoBuildDeviceIoControlRequest /
// IoBuildSynchronousFsdRequest waits with.
struct Waitable {
    KEVENT event;
    IO_STATUS_BLOCK iosb{};
    Waitable() { KeInitializeEvent(&event, NotificationEvent, FALSE); }
};

class Stack : public IoTest {
protected:
    void SetUp() override {
        IoTest::SetUp();
        filterdrv::reset();
        ASSERT_EQ(sys.load_driver("ntiofilter", reinterpret_cast<ntio::System::DriverEntryFunction>(&filterdrv::DriverEntry)),
                  STATUS_SUCCESS);
        bugs_before = ntio::driver_bug_count();
    }
    std::vector<filterdrv::RoutineCall> calls() {
        std::lock_guard g(filterdrv::state().lock);
        return filterdrv::state().calls;
    }
};

TEST_F(Stack, S_IRP_4_AttachingGoesOnTopAndCountsLocations) {
    PDEVICE_OBJECT base = device_named(testdrv::kBuffered);
    ASSERT_NE(base, nullptr);
    EXPECT_EQ(base->StackSize, 1);
    PDEVICE_OBJECT f1, f2, below1, below2;
    ASSERT_EQ(filterdrv::attach(L"\\Device\\TestBuffered", &f1, &below1), STATUS_SUCCESS);
    ASSERT_EQ(filterdrv::attach(L"\\Device\\TestBuffered", &f2, &below2), STATUS_SUCCESS);
    EXPECT_EQ(below1, base);
    EXPECT_EQ(below2, f1) << "attached to the current top, not to the named device";
    EXPECT_EQ(f1->StackSize, 2);
    EXPECT_EQ(f2->StackSize, 3);
    EXPECT_EQ(base->AttachedDevice, f1);
    EXPECT_EQ(f1->AttachedDevice, f2);
    EXPECT_EQ(IoGetAttachedDevice(base), f2);
    PDEVICE_OBJECT top = IoGetAttachedDeviceReference(base);
    EXPECT_EQ(top, f2);
    ObDereferenceObject(top);
    PDEVICE_OBJECT lower = IoGetLowerDeviceObject(f2);
    EXPECT_EQ(lower, f1);
    ObDereferenceObject(lower);
    EXPECT_EQ(IoGetLowerDeviceObject(base), nullptr);
    PDEVICE_OBJECT bottom = IoGetDeviceAttachmentBaseRef(f2);
    EXPECT_EQ(bottom, base);
    ObDereferenceObject(bottom);
    // Detaching the top: the link goes, the StackSize values stay.
    filterdrv::detach(f2);
    EXPECT_EQ(f1->AttachedDevice, nullptr);
    EXPECT_EQ(f1->StackSize, 2);
    EXPECT_EQ(IoGetAttachedDevice(base), f1);
    filterdrv::detach(f1);
    EXPECT_EQ(base->AttachedDevice, nullptr);
    EXPECT_EQ(new_driver_bugs(), 0u);
}

TEST_F(Stack, S_IRP_4_NoAttachingOntoADeviceStillInitializing) {
    PDEVICE_OBJECT raw = testdrv::create_uninitialized_device(L"TestUninitialized");
    ASSERT_NE(raw, nullptr);
    PDEVICE_OBJECT f = nullptr;
    PDRIVER_OBJECT drv = raw->DriverObject;
    PDEVICE_OBJECT mine;
    ASSERT_EQ(IoCreateDevice(drv, 0, nullptr, FILE_DEVICE_UNKNOWN, 0, FALSE, &mine), STATUS_SUCCESS);
    EXPECT_EQ(IoAttachDeviceToDeviceStackSafe(mine, raw, &f), STATUS_NO_SUCH_DEVICE);
    EXPECT_EQ(f, nullptr);
    EXPECT_EQ(IoAttachDeviceToDeviceStack(mine, raw), nullptr);
    IoDeleteDevice(mine);
}

TEST_F(Stack, S_IRP_5_UserRequestsGoToTheTopWithItsStackSize) {
    PDEVICE_OBJECT f;
    ASSERT_EQ(filterdrv::attach(L"\\Device\\TestBuffered", &f, nullptr), STATUS_SUCCESS);
    HANDLE h = open(testdrv::kBuffered, false);
    ASSERT_NE(h, INVALID_HANDLE_VALUE);
    Script s = now(STATUS_SUCCESS, 4, 4);
    char out[8] = {};
    DWORD n = 0;
    EXPECT_TRUE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, &s, sizeof s, out, sizeof out, &n, nullptr));
    EXPECT_EQ(n, 4u);
    EXPECT_EQ(filterdrv::state().dispatched.load(), 1) << "the filter saw it first";
    EXPECT_EQ(filterdrv::state().seen_stack_count, 2);
    EXPECT_EQ(testdrv::last().current_location, 1) << "the function driver got the lower location";
    CloseHandle(h);
    filterdrv::detach(f);
}

TEST_F(Stack, S_CMP_2_S_CMP_4_RoutinesRunBottomUpAndPendingPropagates) {
    PDEVICE_OBJECT f;
    ASSERT_EQ(filterdrv::attach(L"\\Device\\TestBuffered", &f, nullptr), STATUS_SUCCESS);
    HANDLE h = open(testdrv::kBuffered, true);
    for (bool remark : {true, false}) {
        filterdrv::reset();
        filterdrv::state().remark_pending = remark;
        Script s = later(STATUS_SUCCESS, 100);
        OVERLAPPED ov{};
        ov.hEvent = CreateEventA(nullptr, TRUE, FALSE, nullptr);
        EXPECT_FALSE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, &s, sizeof s, nullptr, 0, nullptr, &ov));
        EXPECT_EQ(GetLastError(), ERROR_IO_PENDING);
        EXPECT_EQ(WaitForSingleObject(ov.hEvent, 1000), WAIT_OBJECT_0)
            << "S-CMP-4: with or without re-marking, an overlapped caller is told (pended at the bottom)";
        auto c = calls();
        ASSERT_EQ(c.size(), 1u);
        EXPECT_EQ(c[0].device, f) << "the filter's routine gets the filter's device";
        EXPECT_EQ(c[0].location, 2) << "S-CMP-2a: its own location is current";
        EXPECT_TRUE(c[0].pending_returned) << "the function driver marked it pending";
        EXPECT_EQ(c[0].lower_control, 0) << "S-CMP-2d: the lower location was scrubbed";
        CloseHandle(ov.hEvent);
    }
    CloseHandle(h);
    filterdrv::detach(f);
}

// S-CMP-4, seen by a creator above the filter: with the filter's routine re-marking,
// the creator's routine sees PendingReturned; without it, not.
NTSTATUS CreatorRoutine(PDEVICE_OBJECT, PIRP irp, PVOID context) {
    auto* seen = static_cast<filterdrv::RoutineCall*>(context);
    seen->order = filterdrv::next_order();
    seen->pending_returned = irp->PendingReturned;
    seen->location = irp->CurrentLocation;
    return STATUS_MORE_PROCESSING_REQUIRED;
}

TEST_F(Stack, S_CMP_4_TheCreatorSeesPendingOnlyIfTheFilterReMarks) {
    PDEVICE_OBJECT f;
    ASSERT_EQ(filterdrv::attach(L"\\Device\\TestBuffered", &f, nullptr), STATUS_SUCCESS);
    for (bool remark : {true, false}) {
        filterdrv::reset();
        filterdrv::state().remark_pending = remark;
        Script s = held();
        PIRP irp = IoAllocateIrp(f->StackSize, FALSE);
        aim_at_script(IoGetNextIrpStackLocation(irp), &s);
        filterdrv::RoutineCall creator;
        IoSetCompletionRoutine(irp, CreatorRoutine, &creator, TRUE, TRUE, TRUE);
        EXPECT_EQ(IoCallDriver(f, irp), STATUS_PENDING);
        ASSERT_TRUE(testdrv::complete_held(STATUS_SUCCESS, 0));
        auto c = calls();
        ASSERT_EQ(c.size(), 1u);
        EXPECT_LT(c[0].order, creator.order) << "bottom-up: the filter's routine before the creator's";
        EXPECT_EQ(creator.location, irp->StackCount + 1);
        EXPECT_EQ(creator.pending_returned, remark ? TRUE : FALSE);
        IoFreeIrp(irp);
    }
    filterdrv::detach(f);
}

TEST_F(Stack, S_CMP_2f_ALevelWithoutARoutinePropagatesPendingItself) {
    PDEVICE_OBJECT f;
    ASSERT_EQ(filterdrv::attach(L"\\Device\\TestBuffered", &f, nullptr), STATUS_SUCCESS);
    filterdrv::state().pass = filterdrv::Pass::copy_no_routine;
    Script s = held();
    PIRP irp = IoAllocateIrp(f->StackSize, FALSE);
    aim_at_script(IoGetNextIrpStackLocation(irp), &s);
    filterdrv::RoutineCall creator;
    IoSetCompletionRoutine(irp, CreatorRoutine, &creator, TRUE, TRUE, TRUE);
    EXPECT_EQ(IoCallDriver(f, irp), STATUS_PENDING);
    ASSERT_TRUE(testdrv::complete_held(STATUS_SUCCESS, 0));
    EXPECT_TRUE(creator.pending_returned);
    IoFreeIrp(irp);
    filterdrv::detach(f);
}

TEST_F(Stack, S_IRP_6_SkippingHandsDownTheSameLocation) {
    PDEVICE_OBJECT f;
    ASSERT_EQ(filterdrv::attach(L"\\Device\\TestBuffered", &f, nullptr), STATUS_SUCCESS);
    filterdrv::state().pass = filterdrv::Pass::skip;
    HANDLE h = open(testdrv::kBuffered, false);
    Script s = now(STATUS_SUCCESS);
    DWORD n;
    EXPECT_TRUE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, &s, sizeof s, nullptr, 0, &n, nullptr));
    EXPECT_EQ(testdrv::last().current_location, 2) << "the function driver got the filter's own location";
    EXPECT_TRUE(calls().empty());
    CloseHandle(h);
    filterdrv::detach(f);
}

TEST_F(Stack, S_CMP_6_MoreProcessingRequiredThenCompletingAgain) {
    PDEVICE_OBJECT f;
    ASSERT_EQ(filterdrv::attach(L"\\Device\\TestBuffered", &f, nullptr), STATUS_SUCCESS);
    filterdrv::state().pass = filterdrv::Pass::forward_and_wait;
    HANDLE h = open(testdrv::kBuffered, true);
    // Pended below: the filter waits for it in its dispatch routine, then completes again.
    Script s = later(STATUS_SUCCESS, 500, 3, 3);
    char out[4] = {};
    OVERLAPPED ov{};
    ov.hEvent = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    int64_t t0 = now_ms();
    EXPECT_TRUE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, &s, sizeof s, out, sizeof out, nullptr, &ov))
        << "the filter completed it before returning: the caller sees the filter's status";
    EXPECT_EQ(now_ms() - t0, 500);
    EXPECT_EQ(filterdrv::state().forward_lower_status, STATUS_SUCCESS);
    EXPECT_EQ(ov.Internal, STATUS_SUCCESS);
    EXPECT_EQ(ov.InternalHigh, 3u) << "the IOSB written once, by the second completion";
    EXPECT_EQ(out[0], char(0xAB));
    EXPECT_EQ(WaitForSingleObject(ov.hEvent, 0), WAIT_OBJECT_0);
    // Completed inline below: no wait, the same outcome.
    Script quick = now(STATUS_SUCCESS, 2, 2);
    DWORD n = 0;
    HANDLE sync = open(testdrv::kBuffered, false);
    EXPECT_TRUE(DeviceIoControl(sync, testdrv::IOCTL_BUFFERED, &quick, sizeof quick, out, sizeof out, &n, nullptr));
    EXPECT_EQ(n, 2u);
    EXPECT_EQ(calls().size(), 2u) << "the filter's routine ran once per request";
    CloseHandle(ov.hEvent);
    CloseHandle(sync);
    CloseHandle(h);
    filterdrv::detach(f);
    EXPECT_EQ(new_driver_bugs(), 0u);
}

// S-CMP-6 through IoForwardIrpSynchronously: the same forward-and-wait in one call, for a
// request pended below and for one completed inline.
TEST_F(Stack, S_CMP_6_IoForwardIrpSynchronouslyWaitsThenTheCallerCompletes) {
    PDEVICE_OBJECT f;
    ASSERT_EQ(filterdrv::attach(L"\\Device\\TestBuffered", &f, nullptr), STATUS_SUCCESS);
    filterdrv::state().pass = filterdrv::Pass::forward_synchronously;
    HANDLE h = open(testdrv::kBuffered, false);
    Script s = later(STATUS_SUCCESS, 500, 3, 3);
    char out[4] = {};
    DWORD n = 0;
    int64_t t0 = now_ms();
    EXPECT_TRUE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, &s, sizeof s, out, sizeof out, &n, nullptr));
    EXPECT_EQ(now_ms() - t0, 500) << "waited in the filter's dispatch routine for the lower completion";
    EXPECT_EQ(filterdrv::state().forward_lower_status, STATUS_SUCCESS);
    EXPECT_EQ(n, 3u);
    EXPECT_EQ(out[0], char(0xAB));
    Script failing = now(STATUS_INVALID_PARAMETER);
    EXPECT_FALSE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, &failing, sizeof failing, out, sizeof out, &n, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    EXPECT_EQ(filterdrv::state().forward_lower_status, STATUS_INVALID_PARAMETER);
    CloseHandle(h);
    filterdrv::detach(f);
    EXPECT_EQ(new_driver_bugs(), 0u);
}

TEST_F(Stack, S_IRP_9_CompletionRoutineExRunsAndReleasesItsDevice) {
    PDEVICE_OBJECT f;
    ASSERT_EQ(filterdrv::attach(L"\\Device\\TestBuffered", &f, nullptr), STATUS_SUCCESS);
    filterdrv::state().pass = filterdrv::Pass::copy_with_routine_ex;
    HANDLE h = open(testdrv::kBuffered, false);
    auto live_pool = [&] {
        uint64_t n = 0;
        for (auto& u : sys.pool_usage()) n += u.allocations;
        return n;
    };
    uint64_t pool = live_pool();
    Script s = now(STATUS_SUCCESS);
    DWORD n;
    EXPECT_TRUE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, &s, sizeof s, nullptr, 0, &n, nullptr));
    Script err = now(STATUS_INVALID_PARAMETER);
    EXPECT_FALSE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, &err, sizeof err, nullptr, 0, &n, nullptr));
    EXPECT_EQ(calls().size(), 2u);
    EXPECT_EQ(live_pool(), pool) << "the wrapper's context is freed";
    CloseHandle(h);
    filterdrv::detach(f);
}

TEST_F(Stack, S_IRP_3_TooFewStackLocationsIsReportedNotACrash) {
    PDEVICE_OBJECT f;
    ASSERT_EQ(filterdrv::attach(L"\\Device\\TestBuffered", &f, nullptr), STATUS_SUCCESS);
    filterdrv::state().pass = filterdrv::Pass::copy_no_routine;
    Script s = now(STATUS_SUCCESS);
    PIRP irp = IoAllocateIrp(1, FALSE);  // the filter needs 2
    PIO_STACK_LOCATION next = IoGetNextIrpStackLocation(irp);
    aim_at_script(next, &s);
    uint64_t before = ntio::driver_bug_count();
    int dispatched = testdrv::state().dispatched.load();
    EXPECT_EQ(IoCallDriver(f, irp), STATUS_INVALID_DEVICE_STATE) << "the filter returns what IoCallDriver gave it";
    EXPECT_EQ(ntio::driver_bug_count() - before, 2u)
        << "NO_MORE_IRP_STACK_LOCATIONS, at the filter's copy to the next location and at its IoCallDriver";
    EXPECT_EQ(testdrv::state().dispatched.load(), dispatched) << "nothing reached the function driver";
    IoFreeIrp(irp);
    filterdrv::detach(f);
}

// ---- stack-location helpers, routine selection --------------------------------------------------

TEST_F(Stack, S_IRP_7_CopyToNextStopsBeforeTheRoutineAndClearsControl) {
    PIRP irp = IoAllocateIrp(3, FALSE);
    IoSetNextIrpStackLocation(irp);  // S-IRP-10: the creator owns a location now
    EXPECT_EQ(irp->CurrentLocation, 3);
    PIO_STACK_LOCATION cur = IoGetCurrentIrpStackLocation(irp), next = IoGetNextIrpStackLocation(irp);
    cur->MajorFunction = IRP_MJ_READ;
    cur->MinorFunction = 2;
    cur->Flags = SL_WRITE_THROUGH;
    cur->Control = SL_PENDING_RETURNED | SL_INVOKE_ON_SUCCESS;
    cur->Parameters.Read.Length = 77;
    cur->FileObject = reinterpret_cast<PFILE_OBJECT>(0x1234);
    cur->CompletionRoutine = reinterpret_cast<PIO_COMPLETION_ROUTINE>(0x5678);
    cur->Context = reinterpret_cast<PVOID>(0x9abc);
    next->CompletionRoutine = nullptr;
    next->Context = reinterpret_cast<PVOID>(1);
    IoCopyCurrentIrpStackLocationToNext(irp);
    EXPECT_EQ(next->MajorFunction, IRP_MJ_READ);
    EXPECT_EQ(next->MinorFunction, 2);
    EXPECT_EQ(next->Flags, SL_WRITE_THROUGH);
    EXPECT_EQ(next->Parameters.Read.Length, 77u);
    EXPECT_EQ(next->FileObject, cur->FileObject);
    EXPECT_EQ(next->Control, 0) << "no pending bit, no invoke flags";
    EXPECT_EQ(next->CompletionRoutine, nullptr) << "the routine is not inherited";
    EXPECT_EQ(next->Context, reinterpret_cast<PVOID>(1));
    IoFreeIrp(irp);
}

NTSTATUS CountCall(PDEVICE_OBJECT, PIRP, PVOID context) {
    ++*static_cast<int*>(context);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

TEST_F(Stack, S_IRP_8_SetCompletionRoutineAssignsTheInvokeFlags) {
    PIRP irp = IoAllocateIrp(2, FALSE);
    int calls = 0;
    IoGetNextIrpStackLocation(irp)->Control = SL_PENDING_RETURNED | SL_INVOKE_ON_CANCEL;
    IoSetCompletionRoutine(irp, CountCall, &calls, TRUE, FALSE, FALSE);
    EXPECT_EQ(IoGetNextIrpStackLocation(irp)->Control, SL_INVOKE_ON_SUCCESS) << "assigned, not OR-ed";
    IoSetCompletionRoutine(irp, CountCall, &calls, FALSE, FALSE, FALSE);
    EXPECT_EQ(IoGetNextIrpStackLocation(irp)->Control, 0);
    IoFreeIrp(irp);
    // All three FALSE: never called, whatever the outcome.
    PDEVICE_OBJECT dev = device_named(testdrv::kNeither);
    for (NTSTATUS status : {STATUS_SUCCESS, STATUS_INVALID_PARAMETER}) {
        Script s = now(status);
        // The creator takes the IRP back with a routine at its own location, then sets
        // a never-called routine for the device's level.
        int top = 0;
        PIRP built = IoAllocateIrp(dev->StackSize + 1, FALSE);
        IoSetCompletionRoutine(built, CountCall, &top, TRUE, TRUE, TRUE);
        IoSetNextIrpStackLocation(built);
        IoGetCurrentIrpStackLocation(built)->DeviceObject = dev;
        aim_at_script(IoGetNextIrpStackLocation(built), &s);
        IoSetCompletionRoutine(built, CountCall, &calls, FALSE, FALSE, FALSE);
        IoCallDriver(dev, built);
        EXPECT_EQ(calls, 0);
        EXPECT_EQ(top, 1);
        IoFreeIrp(built);
    }
}

// S-CMP-5: after IoCancelIrp and completion with STATUS_CANCELLED, (TRUE,FALSE,TRUE) and
// (TRUE,TRUE,FALSE) routines run, a (TRUE,FALSE,FALSE) routine does not.
TEST_F(Stack, S_CMP_5_CancelledIrpsReachCancelAndErrorRoutinesOnly) {
    PDEVICE_OBJECT dev = device_named(testdrv::kNeither);
    struct Flags {
        BOOLEAN success, error, cancel;
        int expected;
    };
    for (Flags f : {Flags{TRUE, FALSE, TRUE, 1}, Flags{TRUE, TRUE, FALSE, 1}, Flags{TRUE, FALSE, FALSE, 0}}) {
        Script s = held();
        PIRP irp = IoAllocateIrp(dev->StackSize, FALSE);
        aim_at_script(IoGetNextIrpStackLocation(irp), &s);
        int calls = 0;
        IoSetCompletionRoutine(irp, CountCall, &calls, f.success, f.error, f.cancel);
        EXPECT_EQ(IoCallDriver(dev, irp), STATUS_PENDING);
        IoCancelIrp(irp);  // the held request has no cancel routine: only the flag is set
        EXPECT_TRUE(irp->Cancel);
        uint64_t bugs = ntio::driver_bug_count();
        ASSERT_TRUE(testdrv::complete_held(STATUS_CANCELLED, 0));
        EXPECT_EQ(calls, f.expected);
        if (calls == 0) {
            EXPECT_EQ(ntio::driver_bug_count() - bugs, 1u) << "S-CMP-12: it reached the top unclaimed";
        }
        IoFreeIrp(irp);
    }
}

TEST_F(Stack, S_CMP_11_CompletingAFreedIrpIsReported) {
    PIRP irp = IoAllocateIrp(1, FALSE);
    IoFreeIrp(irp);  // poisoned, kept in the lookaside
    uint64_t before = ntio::driver_bug_count();
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    EXPECT_EQ(ntio::driver_bug_count() - before, 1u) << "MULTIPLE_IRP_COMPLETE_REQUESTS";
    IoFreeIrp(irp);
    EXPECT_EQ(ntio::driver_bug_count() - before, 2u) << "freed twice";
}

TEST_F(Stack, S_CMP_13_ThePriorityBoostChangesNothingElse) {
    HANDLE h = open(testdrv::kBuffered, false);
    DWORD n = 0;
    char out[4];
    Script s = now(STATUS_SUCCESS, 4, 4);
    // The test driver completes with IO_NO_INCREMENT; a boosted completion from here.
    Script held_script = held();
    OVERLAPPED ov{};
    HANDLE ho = open(testdrv::kBuffered, true);
    ov.hEvent = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    EXPECT_FALSE(DeviceIoControl(ho, testdrv::IOCTL_BUFFERED, &held_script, sizeof held_script, out, sizeof out, nullptr, &ov));
    PIRP irp;
    {
        std::lock_guard g(testdrv::state().lock);
        irp = testdrv::state().held.front();
        testdrv::state().held.clear();
    }
    irp->IoStatus.Status = STATUS_SUCCESS;
    irp->IoStatus.Information = 4;
    std::memset(irp->AssociatedIrp.SystemBuffer, 0xAB, 4);
    IoCompleteRequest(irp, IO_DISK_INCREMENT);
    EXPECT_EQ(WaitForSingleObject(ov.hEvent, 0), WAIT_OBJECT_0);
    EXPECT_EQ(ov.InternalHigh, 4u);
    EXPECT_TRUE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, &s, sizeof s, out, sizeof out, &n, nullptr));
    EXPECT_EQ(n, 4u);
    CloseHandle(ov.hEvent);
    CloseHandle(ho);
    CloseHandle(h);
}

// ---- driver-built IRPs -------------------------------------------------------------------------

TEST_F(Stack, S_BLD_2_AsynchronousFsdRequestFields) {
    PDEVICE_OBJECT dev = device_named(testdrv::kBuffered);
    char data[16] = "written";
    IO_STATUS_BLOCK iosb{};
    LARGE_INTEGER off{};
    off.QuadPart = 42;
    PIRP irp = IoBuildAsynchronousFsdRequest(IRP_MJ_WRITE, dev, data, 8, &off, &iosb);
    ASSERT_NE(irp, nullptr);
    EXPECT_EQ(irp->CurrentLocation, 2);
    EXPECT_EQ(irp->StackCount, 1);
    EXPECT_EQ(irp->Tail.Overlay.Thread, PsGetCurrentThread()) << "S-IRP-1";
    EXPECT_TRUE(IsListEmpty(&irp->ThreadListEntry)) << "not queued to the thread";
    EXPECT_EQ(irp->UserEvent, nullptr);
    EXPECT_EQ(irp->IoStatus.Status, 0);
    EXPECT_EQ(irp->RequestorMode, KernelMode);
    PIO_STACK_LOCATION next = IoGetNextIrpStackLocation(irp);
    EXPECT_EQ(next->MajorFunction, IRP_MJ_WRITE);
    EXPECT_EQ(next->Parameters.Write.Length, 8u);
    EXPECT_EQ(next->Parameters.Write.ByteOffset.QuadPart, 42);
    ASSERT_NE(irp->AssociatedIrp.SystemBuffer, nullptr) << "DO_BUFFERED_IO: a system buffer";
    EXPECT_NE(irp->AssociatedIrp.SystemBuffer, static_cast<void*>(data));
    EXPECT_EQ(std::memcmp(irp->AssociatedIrp.SystemBuffer, "written", 8), 0) << "copied for a write";
    // Completed without a routine: the I/O manager writes the IOSB before IoCompleteRequest
    // returns and frees the IRP.
    testdrv::state().next_read_write = now(STATUS_SUCCESS, 123);
    EXPECT_EQ(IoCallDriver(dev, irp), STATUS_SUCCESS);
    EXPECT_EQ(iosb.Status, STATUS_SUCCESS);
    EXPECT_EQ(iosb.Information, 123u);
    EXPECT_FALSE(testdrv::last().on_thread_list);
    EXPECT_EQ(sys.live_irps(), 0);
}

TEST_F(Stack, S_BLD_2_BuffersFollowTheTargetsFlags) {
    char buf[32];
    IO_STATUS_BLOCK iosb{};
    // Direct: a locked MDL describing the caller's buffer.
    PIRP direct = IoBuildAsynchronousFsdRequest(IRP_MJ_READ, device_named(testdrv::kDirect), buf, sizeof buf, nullptr, &iosb);
    ASSERT_NE(direct, nullptr);
    ASSERT_NE(direct->MdlAddress, nullptr);
    EXPECT_EQ(MmGetMdlVirtualAddress(direct->MdlAddress), static_cast<void*>(buf));
    EXPECT_EQ(MmGetMdlByteCount(direct->MdlAddress), sizeof buf);
    EXPECT_TRUE(direct->MdlAddress->MdlFlags & MDL_PAGES_LOCKED);
    // Neither: the caller's buffer itself.
    PIRP neither = IoBuildAsynchronousFsdRequest(IRP_MJ_READ, device_named(testdrv::kNeither), buf, sizeof buf, nullptr, &iosb);
    ASSERT_NE(neither, nullptr);
    EXPECT_EQ(neither->UserBuffer, static_cast<void*>(buf));
    EXPECT_EQ(neither->MdlAddress, nullptr);
    EXPECT_EQ(neither->AssociatedIrp.SystemBuffer, nullptr);
    // Buffered read: copied back into the caller's buffer at completion.
    PDEVICE_OBJECT bdev = device_named(testdrv::kBuffered);
    PIRP buffered = IoBuildAsynchronousFsdRequest(IRP_MJ_READ, bdev, buf, sizeof buf, nullptr, &iosb);
    ASSERT_NE(buffered, nullptr);
    testdrv::state().next_read_write = now(STATUS_SUCCESS, 5, 5);
    std::memset(buf, 0, sizeof buf);
    EXPECT_EQ(IoCallDriver(bdev, buffered), STATUS_SUCCESS);
    EXPECT_EQ(buf[0], char(0xAB));
    EXPECT_EQ(buf[5], 0);
    // Bad major functions are refused.
    uint64_t before = ntio::driver_bug_count();
    EXPECT_EQ(IoBuildAsynchronousFsdRequest(IRP_MJ_DEVICE_CONTROL, bdev, buf, 1, nullptr, &iosb), nullptr);
    EXPECT_EQ(ntio::driver_bug_count() - before, 1u);
    // The creator's cleanup for the unsent ones (S-BLD-1: IoFreeIrp leaves the MDL to us).
    MmUnlockPages(direct->MdlAddress);
    IoFreeMdl(direct->MdlAddress);
    direct->MdlAddress = nullptr;
    IoFreeIrp(direct);
    IoFreeIrp(neither);
}

// The article's pattern (002): completion routine signals, frees, returns MORE_PROCESSING.
struct Owned {
    KEVENT done;
    NTSTATUS status = -1;
    ULONG_PTR information = 0;
    int calls = 0;
};
NTSTATUS FreeAndSignal(PDEVICE_OBJECT, PIRP irp, PVOID context) {
    auto* o = static_cast<Owned*>(context);
    o->calls++;
    o->status = irp->IoStatus.Status;
    o->information = irp->IoStatus.Information;
    if (irp->MdlAddress) {
        MmUnlockPages(irp->MdlAddress);
        IoFreeMdl(irp->MdlAddress);
        irp->MdlAddress = nullptr;
    }
    // Freed before the waiter wakes, so that the test's IRP count is settled when it
    // looks (the article signals first; either order is correct for the driver).
    BOOLEAN pended = irp->PendingReturned;
    IoFreeIrp(irp);
    if (pended) KeSetEvent(&o->done, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

TEST_F(Stack, S_BLD_1_S_BLD_2_TheCreatorFreesInItsRoutine) {
    PDEVICE_OBJECT dev = device_named(testdrv::kDirect);
    for (bool pend : {false, true}) {
        Owned o;
        KeInitializeEvent(&o.done, NotificationEvent, FALSE);
        char buf[8];
        PIRP irp = IoBuildAsynchronousFsdRequest(IRP_MJ_READ, dev, buf, sizeof buf, nullptr, nullptr);
        ASSERT_NE(irp, nullptr);
        IoSetCompletionRoutine(irp, FreeAndSignal, &o, TRUE, TRUE, TRUE);
        testdrv::state().next_read_write = pend ? later(STATUS_SUCCESS, 50, 8, 8) : now(STATUS_SUCCESS, 8, 8);
        NTSTATUS s = IoCallDriver(dev, irp);
        if (s == STATUS_PENDING) {
            EXPECT_TRUE(pend);
            EXPECT_EQ(KeWaitForSingleObject(&o.done, Executive, KernelMode, FALSE, nullptr), STATUS_SUCCESS);
        } else {
            EXPECT_FALSE(pend);
        }
        EXPECT_EQ(o.calls, 1);
        EXPECT_EQ(o.status, STATUS_SUCCESS);
        EXPECT_EQ(o.information, 8u);
        EXPECT_EQ(buf[7], char(0xAB));
    }
    EXPECT_EQ(sys.live_irps(), 0);
    EXPECT_EQ(new_driver_bugs(), 0u);
}

TEST_F(Stack, S_BLD_3_S_BLD_4_DeviceIoControlRequestIsQueuedAndFreedByTheIoManager) {
    PDEVICE_OBJECT dev = device_named(testdrv::kBuffered);
    // Pended: the event and IOSB are set at completion, output copied back.
    {
        Waitable w;
        KEVENT& ev = w.event;
        IO_STATUS_BLOCK& iosb = w.iosb;
        Script s = later(STATUS_SUCCESS, 200, 4, 4);
        char out[8] = {};
        PIRP irp = IoBuildDeviceIoControlRequest(testdrv::IOCTL_BUFFERED, dev, &s, sizeof s, out, sizeof out, FALSE,
                                                 &ev, &iosb);
        ASSERT_NE(irp, nullptr);
        EXPECT_FALSE(IsListEmpty(&irp->ThreadListEntry)) << "queued to the calling thread";
        EXPECT_EQ(irp->Tail.Overlay.Thread, PsGetCurrentThread());
        EXPECT_EQ(IoGetNextIrpStackLocation(irp)->FileObject, nullptr);
        EXPECT_EQ(IoGetNextIrpStackLocation(irp)->MajorFunction, IRP_MJ_DEVICE_CONTROL);
        NTSTATUS status = IoCallDriver(dev, irp);
        ASSERT_EQ(status, STATUS_PENDING);
        EXPECT_EQ(KeReadStateEvent(&ev), 0) << "not signaled before completion";
        EXPECT_TRUE(testdrv::last().on_thread_list);
        EXPECT_EQ(testdrv::last().requestor_mode, KernelMode);
        KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, nullptr);
        EXPECT_EQ(iosb.Status, STATUS_SUCCESS);
        EXPECT_EQ(iosb.Information, 4u);
        EXPECT_EQ(out[3], char(0xAB));
        EXPECT_EQ(out[4], 0);
    }
    // S-BLD-4: an error completed inside dispatch neither writes the IOSB nor sets the event.
    {
        Waitable w;
        KEVENT& ev = w.event;
        IO_STATUS_BLOCK& iosb = w.iosb;
        iosb.Status = 0x1234;
        Script s = now(STATUS_INVALID_PARAMETER);
        PIRP irp = IoBuildDeviceIoControlRequest(testdrv::IOCTL_BUFFERED, dev, &s, sizeof s, nullptr, 0, TRUE, &ev, &iosb);
        EXPECT_EQ(IoGetNextIrpStackLocation(irp)->MajorFunction, IRP_MJ_INTERNAL_DEVICE_CONTROL);
        // The test driver treats internal device control as unknown.
        EXPECT_EQ(IoCallDriver(dev, irp), STATUS_INVALID_DEVICE_REQUEST);
        EXPECT_EQ(iosb.Status, 0x1234);
        EXPECT_EQ(KeReadStateEvent(&ev), 0);
    }
    // A success completed inside dispatch: IOSB and event both set.
    {
        Waitable w;
        KEVENT& ev = w.event;
        IO_STATUS_BLOCK& iosb = w.iosb;
        Script s = now(STATUS_SUCCESS, 0);
        PIRP irp = IoBuildDeviceIoControlRequest(testdrv::IOCTL_NEITHER, dev, &s, sizeof s, nullptr, 0, FALSE, &ev, &iosb);
        EXPECT_EQ(IoGetNextIrpStackLocation(irp)->Parameters.DeviceIoControl.Type3InputBuffer, &s);
        EXPECT_EQ(IoCallDriver(dev, irp), STATUS_SUCCESS);
        EXPECT_EQ(iosb.Status, STATUS_SUCCESS);
        EXPECT_NE(KeReadStateEvent(&ev), 0);
    }
    EXPECT_EQ(sys.live_irps(), 0);
    EXPECT_EQ(new_driver_bugs(), 0u);
}

TEST_F(Stack, S_BLD_3_SynchronousFsdRequestWaitsOnItsEvent) {
    PDEVICE_OBJECT dev = device_named(testdrv::kBuffered);
    Waitable w;
    KEVENT& ev = w.event;
    IO_STATUS_BLOCK& iosb = w.iosb;
    char buf[6] = {};
    PIRP irp = IoBuildSynchronousFsdRequest(IRP_MJ_READ, dev, buf, sizeof buf, nullptr, &ev, &iosb);
    ASSERT_NE(irp, nullptr);
    EXPECT_FALSE(IsListEmpty(&irp->ThreadListEntry));
    testdrv::state().next_read_write = later(STATUS_SUCCESS, 300, 6, 6);
    int64_t t0 = now_ms();
    if (IoCallDriver(dev, irp) == STATUS_PENDING) KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, nullptr);
    EXPECT_EQ(now_ms() - t0, 300);
    EXPECT_EQ(iosb.Status, STATUS_SUCCESS);
    EXPECT_EQ(iosb.Information, 6u);
    EXPECT_EQ(buf[5], char(0xAB));
    EXPECT_EQ(sys.live_irps(), 0);
}

NTSTATUS KeepIt(PDEVICE_OBJECT, PIRP, PVOID) { return STATUS_MORE_PROCESSING_REQUIRED; }

TEST_F(Stack, S_BLD_3_IoFreeIrpOnAnIrpTheIoManagerFreesIsReported) {
    PDEVICE_OBJECT dev = device_named(testdrv::kBuffered);
    Waitable w;
    KEVENT& ev = w.event;
    IO_STATUS_BLOCK& iosb = w.iosb;
    Script s = now(STATUS_SUCCESS);
    PIRP irp = IoBuildDeviceIoControlRequest(testdrv::IOCTL_NEITHER, dev, &s, sizeof s, nullptr, 0, FALSE, &ev, &iosb);
    IoSetCompletionRoutine(irp, KeepIt, nullptr, TRUE, TRUE, TRUE);
    EXPECT_EQ(IoCallDriver(dev, irp), STATUS_SUCCESS);
    uint64_t before = ntio::driver_bug_count();
    IoFreeIrp(irp);  // the driver's mistake (IoBuildDeviceControlNoFree)
    EXPECT_EQ(ntio::driver_bug_count() - before, 1u);
    IoCompleteRequest(irp, IO_NO_INCREMENT);  // what it should have let happen
    EXPECT_EQ(sys.live_irps(), 0);
}

TEST_F(Stack, S_BLD_1_InitializeIrpInTheDriversOwnMemory) {
    PDEVICE_OBJECT dev = device_named(testdrv::kNeither);
    USHORT size = IoSizeOfIrp(dev->StackSize);
    auto* irp = static_cast<PIRP>(ExAllocatePoolWithTag(NonPagedPoolNx, size, 'prIt'));
    IoInitializeIrp(irp, size, dev->StackSize);
    EXPECT_EQ(irp->StackCount, dev->StackSize);
    EXPECT_EQ(irp->CurrentLocation, dev->StackSize + 1);
    EXPECT_EQ(irp->Size, size);
    for (int round = 0; round < 2; ++round) {
        Script s = now(STATUS_SUCCESS, round);
        PIO_STACK_LOCATION next = IoGetNextIrpStackLocation(irp);
        aim_at_script(next, &s);
        IoSetCompletionRoutine(irp, KeepIt, nullptr, TRUE, TRUE, TRUE);
        EXPECT_EQ(IoCallDriver(dev, irp), STATUS_SUCCESS);
        EXPECT_EQ(irp->IoStatus.Information, ULONG_PTR(round));
        // S-BLD-5: reuse for the next round.
        IoReuseIrp(irp, STATUS_NOT_SUPPORTED);
        EXPECT_EQ(irp->IoStatus.Status, STATUS_NOT_SUPPORTED);
        EXPECT_EQ(irp->CurrentLocation, dev->StackSize + 1);
        EXPECT_EQ(irp->IoStatus.Information, 0u);
    }
    uint64_t before = ntio::driver_bug_count();
    IoFreeIrp(irp);  // not from IoAllocateIrp
    EXPECT_EQ(ntio::driver_bug_count() - before, 1u);
    ExFreePoolWithTag(irp, 'prIt');
    // Too small a packet is refused with the size to use.
    char small[sizeof(IRP) + sizeof(IO_STACK_LOCATION)];
    IoInitializeIrp(reinterpret_cast<PIRP>(small), sizeof small, 1);
    EXPECT_EQ(ntio::driver_bug_count() - before, 2u);
}

TEST_F(Stack, S_BLD_5_ReuseRefusesManagerOwnedIrps) {
    PDEVICE_OBJECT dev = device_named(testdrv::kBuffered);
    Waitable w;
    KEVENT& ev = w.event;
    IO_STATUS_BLOCK& iosb = w.iosb;
    Script s = now(STATUS_SUCCESS);
    PIRP irp = IoBuildDeviceIoControlRequest(testdrv::IOCTL_NEITHER, dev, &s, sizeof s, nullptr, 0, FALSE, &ev, &iosb);
    uint64_t before = ntio::driver_bug_count();
    IoReuseIrp(irp, STATUS_SUCCESS);
    EXPECT_EQ(ntio::driver_bug_count() - before, 1u);
    EXPECT_EQ(IoCallDriver(dev, irp), STATUS_SUCCESS);  // still usable; freed at completion
    EXPECT_EQ(sys.live_irps(), 0);
}

TEST_F(Stack, S_CMP_7_S_BLD_6_AssociatedIrpsCompleteTheirMaster) {
    PDEVICE_OBJECT dev = device_named(testdrv::kNeither);
    Waitable w;
    KEVENT& ev = w.event;
    IO_STATUS_BLOCK& iosb = w.iosb;
    Script master_script = held();
    PIRP master = IoBuildDeviceIoControlRequest(testdrv::IOCTL_NEITHER, dev, &master_script, sizeof master_script,
                                                nullptr, 0, FALSE, &ev, &iosb);
    master->IoStatus.Status = STATUS_SUCCESS;
    master->IoStatus.Information = 77;
    master->AssociatedIrp.IrpCount = 2;
    Script parts[2] = {later(STATUS_SUCCESS, 100), later(STATUS_SUCCESS, 200)};
    for (auto& part : parts) {
        PIRP a = IoMakeAssociatedIrp(master, dev->StackSize);
        ASSERT_NE(a, nullptr);
        EXPECT_TRUE(a->Flags & IRP_ASSOCIATED_IRP);
        EXPECT_EQ(a->Tail.Overlay.Thread, master->Tail.Overlay.Thread);
        aim_at_script(IoGetNextIrpStackLocation(a), &part);
        EXPECT_EQ(IoCallDriver(dev, a), STATUS_PENDING);
    }
    int64_t t0 = now_ms();
    KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, nullptr);
    EXPECT_EQ(now_ms() - t0, 200) << "the master completes with its last associated IRP";
    EXPECT_EQ(iosb.Information, 77u);
    EXPECT_EQ(sys.live_irps(), 0);
}

// ---- remove locks ------------------------------------------------------------------------------

TEST_F(Stack, S_RL_3_ReleaseAndWaitBlocksUntilEveryAcquisitionIsReleased) {
    IO_REMOVE_LOCK lock;
    IoInitializeRemoveLock(&lock, 'tlRI', 0, 0);
    // Thread A holds two acquisitions.
    EXPECT_EQ(IoAcquireRemoveLock(&lock, 1), STATUS_SUCCESS);
    EXPECT_EQ(IoAcquireRemoveLock(&lock, 2), STATUS_SUCCESS);
    std::atomic<bool> returned{false};
    HANDLE b = spawn([&] {
        EXPECT_EQ(IoAcquireRemoveLock(&lock, 3), STATUS_SUCCESS);
        IoReleaseRemoveLockAndWait(&lock, 3);
        returned = true;
    });
    Sleep(100);  // virtual time: B is blocked by now
    EXPECT_FALSE(returned);
    EXPECT_EQ(IoAcquireRemoveLock(&lock, 4), STATUS_DELETE_PENDING) << "S-RL-2: removal started";
    IoReleaseRemoveLock(&lock, 1);
    Sleep(100);
    EXPECT_FALSE(returned) << "one acquisition is still held";
    IoReleaseRemoveLock(&lock, 2);
    join(b);
    EXPECT_TRUE(returned);
    EXPECT_EQ(IoAcquireRemoveLock(&lock, 5), STATUS_DELETE_PENDING);
    EXPECT_EQ(new_driver_bugs(), 0u);
}

TEST_F(Stack, S_RL_2_UnbalancedReleasesAreReported) {
    IO_REMOVE_LOCK lock;
    IoInitializeRemoveLock(&lock, 'tlRI', 0, 0);
    IoReleaseRemoveLock(&lock, 1);
    EXPECT_EQ(new_driver_bugs(), 1u);
    EXPECT_EQ(IoAcquireRemoveLock(&lock, 2), STATUS_SUCCESS) << "the lock still works";
    IoReleaseRemoveLock(&lock, 2);
    IoReleaseRemoveLockAndWait(&lock, 3);  // without holding it
    EXPECT_EQ(new_driver_bugs(), 2u);
    EXPECT_EQ(IoAcquireRemoveLock(&lock, 4), STATUS_DELETE_PENDING);
}

}  // namespace

namespace {

// Issue 6: the WinDbg-style dumps, on demand (the same text is printed at exit for the
// requests still pending once every handle has closed).
TEST_F(Stack, PendingIrpReportShowsEachRequestAndTheStackHoldingIt) {
    EXPECT_EQ(sys.pending_irp_report(), "") << "nothing pending";
    PDEVICE_OBJECT f;
    ASSERT_EQ(filterdrv::attach(L"\\Device\\TestBuffered", &f, nullptr), STATUS_SUCCESS);
    HANDLE h = open(testdrv::kBuffered, true);
    Script s = held();
    OVERLAPPED ov{};
    EXPECT_FALSE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, &s, sizeof s, nullptr, 0, nullptr, &ov));
    std::string r = sys.pending_irp_report();
    EXPECT_NE(r.find("1 IRP(s) pending"), std::string::npos) << r;
    EXPECT_NE(r.find("with 2 stack location(s); location 1 of 2 is current"), std::string::npos) << r;
    EXPECT_NE(r.find(">[1] IRP_MJ_DEVICE_CONTROL"), std::string::npos) << r;
    EXPECT_NE(r.find(" [2] IRP_MJ_DEVICE_CONTROL minor 0x0  device unnamed device"), std::string::npos) << r;
    EXPECT_NE(r.find("completion routine"), std::string::npos) << "the filter's routine, in the lower location";
    EXPECT_NE(r.find("IoControlCode 0x"), std::string::npos) << r;
    EXPECT_NE(r.find("device stack of \\Device\\TestBuffered"), std::string::npos) << r;
    EXPECT_NE(r.find(">\\Device\\TestBuffered"), std::string::npos) << "the holder is marked: " << r;
    std::string stack = sys.device_stack_report(L"\\Device\\TestBuffered");
    EXPECT_LT(stack.find("unnamed device"), stack.find("\\Device\\TestBuffered")) << "top first: " << stack;
    EXPECT_NE(stack.find("\\Driver\\ntiofilter"), std::string::npos) << stack;
    EXPECT_EQ(sys.device_stack_report(L"\\Device\\NoSuchDevice"), "");
    ASSERT_TRUE(testdrv::complete_held(STATUS_SUCCESS, 0));
    EXPECT_EQ(sys.pending_irp_report(), "");
    CloseHandle(h);
    filterdrv::detach(f);
}

}  // namespace
