// IRP anatomy (S-IRP-*) and IoCompleteRequest (S-CMP-*), with IRPs the test builds
// itself and with requests the scripted driver completes from other contexts.
#include "io_test_support.hpp"
#include "ntio/gtest.hpp"

namespace {

using namespace ntio::testing;
using testdrv::Script;
class Completion : public IoTest {
protected:
    // Sends an overlapped IOCTL the test driver holds, and takes the IRP from it.
    PIRP send_held(HANDLE h, OVERLAPPED* ov) {
        Script s = held();
        EXPECT_FALSE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, &s, sizeof s, nullptr, 0, nullptr, ov));
        std::lock_guard g(testdrv::state().lock);
        PIRP irp = testdrv::state().held.front();
        testdrv::state().held.clear();
        return irp;
    }
    PDEVICE_OBJECT device() {
        PFILE_OBJECT fo;
        PDEVICE_OBJECT dev;
        UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Device\\TestBuffered");
        HANDLE k;
        IO_STATUS_BLOCK iosb;
        OBJECT_ATTRIBUTES oa;
        InitializeObjectAttributes(&oa, &name, OBJ_KERNEL_HANDLE, nullptr, nullptr);
        EXPECT_EQ(ZwCreateFile(&k, GENERIC_READ, &oa, &iosb, nullptr, 0, 0, FILE_OPEN, 0, nullptr, 0), STATUS_SUCCESS);
        EXPECT_EQ(ObReferenceObjectByHandle(k, 0, *IoFileObjectType, KernelMode, reinterpret_cast<PVOID*>(&fo), nullptr),
                  STATUS_SUCCESS);
        dev = fo->DeviceObject;
        ObDereferenceObject(fo);
        ZwClose(k);
        return dev;
    }
    // Three levels: a creator with no location (its routine `top` on the middle
    // location), a middle driver owning a location (its routine, if any, set by the
    // caller on the driver's location), the test driver at the bottom.
    PIRP build_three_levels(PDEVICE_OBJECT dev, Script* script, PIO_COMPLETION_ROUTINE top, PVOID top_context) {
        PIRP irp = IoAllocateIrp(static_cast<CCHAR>(dev->StackSize + 1), FALSE);
        IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_DEVICE_CONTROL;
        IoSetCompletionRoutine(irp, top, top_context, TRUE, TRUE, TRUE);
        IoSetNextIrpStackLocation(irp);  // the middle driver now owns it
        IoGetCurrentIrpStackLocation(irp)->DeviceObject = dev;
        PIO_STACK_LOCATION bottom = IoGetNextIrpStackLocation(irp);
        bottom->MajorFunction = IRP_MJ_DEVICE_CONTROL;
        bottom->Parameters.DeviceIoControl.IoControlCode = testdrv::IOCTL_NEITHER;
        bottom->Parameters.DeviceIoControl.Type3InputBuffer = script;
        bottom->Parameters.DeviceIoControl.InputBufferLength = sizeof(Script);
        return irp;
    }
    // An IOCTL IRP for the test driver, script in Type3InputBuffer (METHOD_NEITHER).
    PIRP build(PDEVICE_OBJECT dev, CCHAR extra_locations, Script* script) {
        PIRP irp = IoAllocateIrp(static_cast<CCHAR>(dev->StackSize + extra_locations), FALSE);
        if (extra_locations) IoSetNextIrpStackLocation(irp);
        PIO_STACK_LOCATION next = IoGetNextIrpStackLocation(irp);
        next->MajorFunction = IRP_MJ_DEVICE_CONTROL;
        next->Parameters.DeviceIoControl.IoControlCode = testdrv::IOCTL_NEITHER;
        next->Parameters.DeviceIoControl.Type3InputBuffer = script;
        next->Parameters.DeviceIoControl.InputBufferLength = sizeof(Script);
        return irp;
    }
};

struct Seen {
    int calls = 0;
    PDEVICE_OBJECT device = reinterpret_cast<PDEVICE_OBJECT>(1);
    CHAR location = 0;
    BOOLEAN pending_returned = FALSE;
    NTSTATUS status = 0;
    KEVENT done;
    Seen() { KeInitializeEvent(&done, NotificationEvent, FALSE); }
};

NTSTATUS Record(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx) {
    auto* s = static_cast<Seen*>(ctx);
    s->calls++;
    s->device = dev;
    s->location = irp->CurrentLocation;
    s->pending_returned = irp->PendingReturned;
    s->status = irp->IoStatus.Status;
    KeSetEvent(&s->done, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

TEST_F(Completion, S_IRP_1_AFreshIrp) {
    PIRP irp = IoAllocateIrp(3, FALSE);
    ASSERT_NE(irp, nullptr);
    EXPECT_EQ(irp->Type, IO_TYPE_IRP);
    EXPECT_EQ(irp->StackCount, 3);
    EXPECT_EQ(irp->CurrentLocation, 4);
    EXPECT_EQ(IoGetCurrentIrpStackLocation(irp), reinterpret_cast<PIO_STACK_LOCATION>(irp + 1) + 3) << "one past";
    EXPECT_EQ(irp->Tail.Overlay.Thread, nullptr);
    EXPECT_EQ(irp->IoStatus.Status, 0);
    EXPECT_EQ(irp->Cancel, FALSE);
    EXPECT_EQ(irp->CancelRoutine, nullptr);
    EXPECT_EQ(irp->UserEvent, nullptr);
    EXPECT_TRUE(IsListEmpty(&irp->ThreadListEntry));
    // S-IRP-2: the next location is below the current one.
    EXPECT_EQ(IoGetNextIrpStackLocation(irp), IoGetCurrentIrpStackLocation(irp) - 1);
    IoSetNextIrpStackLocation(irp);
    EXPECT_EQ(irp->CurrentLocation, 3);
    IoFreeIrp(irp);
    EXPECT_EQ(sys.live_irps(), 0);
}

TEST_F(Completion, S_IRP_3_S_CMP_2_ACreatorWithoutALocationSeesNullDevice) {
    Script s = now(STATUS_SUCCESS);
    Seen seen;
    PDEVICE_OBJECT dev = device();
    PIRP irp = build(dev, 0, &s);
    IoSetCompletionRoutine(irp, Record, &seen, TRUE, TRUE, TRUE);
    EXPECT_EQ(IoCallDriver(dev, irp), STATUS_SUCCESS) << "IoCallDriver returns the dispatch value";
    EXPECT_EQ(testdrv::last().current_location, 1);
    EXPECT_EQ(seen.calls, 1);
    EXPECT_EQ(seen.device, nullptr);
    EXPECT_EQ(seen.location, irp->StackCount + 1);
    IoFreeIrp(irp);  // S-BLD-1: MORE_PROCESSING_REQUIRED gave it back to us
}

TEST_F(Completion, S_CMP_2_ACreatorWithItsOwnLocationSeesItsDevice) {
    Script s = held();
    Seen seen;
    PDEVICE_OBJECT dev = device();
    PIRP irp = build(dev, 1, &s);
    IoGetCurrentIrpStackLocation(irp)->DeviceObject = dev;  // our location, our device
    IoSetCompletionRoutine(irp, Record, &seen, TRUE, TRUE, TRUE);
    EXPECT_EQ(IoCallDriver(dev, irp), STATUS_PENDING);
    EXPECT_FALSE(irp->PendingReturned) << "S-IRP-11: written only during completion";
    EXPECT_EQ(seen.calls, 0);
    ASSERT_TRUE(testdrv::complete_held(STATUS_SUCCESS, 0));
    EXPECT_EQ(seen.calls, 1);
    EXPECT_EQ(seen.device, dev);
    EXPECT_EQ(seen.location, 2);
    EXPECT_TRUE(seen.pending_returned) << "the driver below marked it pending";
    IoFreeIrp(irp);
}

TEST_F(Completion, S_CMP_3_RoutinesAreChosenByNtSuccess) {
    PDEVICE_OBJECT dev = device();
    struct Case {
        NTSTATUS status;
        bool on_success, on_error, called;
    } cases[] = {
        {STATUS_SUCCESS, true, false, true},          {STATUS_SUCCESS, false, true, false},
        {STATUS_TIMEOUT, true, false, true},          {static_cast<NTSTATUS>(0x40000001), true, false, true},
        {STATUS_BUFFER_OVERFLOW, true, false, false}, {STATUS_BUFFER_OVERFLOW, false, true, true},
        {STATUS_UNSUCCESSFUL, false, true, true},     {STATUS_UNSUCCESSFUL, true, false, false},
        {STATUS_SUCCESS, false, false, false},
    };
    for (auto& c : cases) {
        Script s = now(c.status);
        Seen seen;
        PIRP irp = build(dev, 0, &s);
        IoSetCompletionRoutine(irp, Record, &seen, c.on_success, c.on_error, FALSE);
        uint64_t bugs = ntio::driver_bug_count();
        IoCallDriver(dev, irp);
        EXPECT_EQ(seen.calls == 1, c.called) << std::hex << c.status << " success " << c.on_success;
        if (seen.calls == 0) {
            // No routine took it back: an IoAllocateIrp IRP reaching the top is a driver bug (S-CMP-12).
            EXPECT_EQ(ntio::driver_bug_count(), bugs + 1);
        }
        IoFreeIrp(irp);
    }
}

TEST_F(Completion, S_CMP_8_CompletionFromADpcDeliversEverything) {
    HANDLE h = open(testdrv::kBuffered, true);
    OVERLAPPED ov{};
    ov.hEvent = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    Script s = held();
    unsigned char out[8] = {};
    EXPECT_FALSE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, &s, sizeof s, out, sizeof out, nullptr, &ov));
    KTIMER timer;
    KDPC dpc;
    KeInitializeTimer(&timer);
    KeInitializeDpc(
        &dpc, [](PKDPC, PVOID, PVOID, PVOID) { testdrv::complete_held(STATUS_SUCCESS, 8, 8, 0x5A); }, nullptr);
    KeSetTimer(&timer, relative_ms(1500), &dpc);  // a timer DPC completes it, at DISPATCH_LEVEL
    EXPECT_EQ(WaitForSingleObject(ov.hEvent, INFINITE), WAIT_OBJECT_0);
    EXPECT_EQ(now_ms(), 1500);
    DWORD n;
    EXPECT_TRUE(GetOverlappedResult(h, &ov, &n, FALSE));
    EXPECT_EQ(n, 8u);
    EXPECT_EQ(out[7], 0x5A) << "copied back by the completing context";
    CloseHandle(ov.hEvent);
    CloseHandle(h);
}

TEST_F(Completion, S_CMP_1_CompletingTwiceOrWithStatusPendingIsReported) {
    HANDLE h = open(testdrv::kBuffered, true);
    OVERLAPPED ov{};
    PIRP irp = send_held(h, &ov);
    irp->IoStatus.Status = STATUS_PENDING;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    EXPECT_EQ(new_driver_bugs(), 1u) << "completing with STATUS_PENDING";
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    EXPECT_EQ(new_driver_bugs(), 2u) << "MULTIPLE_IRP_COMPLETE_REQUESTS";
    CloseHandle(h);
}

TEST_F(Completion, S_CMP_1_ACancelRoutineLeftSetIsReportedAndCleared) {
    HANDLE h = open(testdrv::kBuffered, true);
    OVERLAPPED ov{};
    PIRP irp = send_held(h, &ov);
    IoSetCancelRoutine(irp, [](PDEVICE_OBJECT, PIRP) {});
    irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    EXPECT_EQ(new_driver_bugs(), 1u) << "CANCEL_STATE_IN_COMPLETED_IRP";
    EXPECT_EQ(ov.Internal, 0u);
    CloseHandle(h);
}

// S-CAN-3: completing while holding the cancel spin lock runs completion routines
// under it; the verifier says so (the completion still happens).
TEST_F(Completion, S_CAN_3_CompletingUnderTheCancelSpinLockIsReported) {
    HANDLE h = open(testdrv::kBuffered, true);
    OVERLAPPED ov{};
    PIRP irp = send_held(h, &ov);
    KIRQL irql;
    IoAcquireCancelSpinLock(&irql);
    irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    IoReleaseCancelSpinLock(irql);
    EXPECT_EQ(new_driver_bugs(), 1u) << "CANCEL_SPIN_LOCK_HELD";
    EXPECT_EQ(ov.Internal, static_cast<ULONG_PTR>(STATUS_SUCCESS));
    CloseHandle(h);
}

// S-CAN-3: a cancel routine must release the cancel lock to Irp->CancelIrql; one that
// releases it to DISPATCH_LEVEL is reported and the caller gets its IRQL back.
// The one mistake is also a KeReleaseSpinLock with another NewIrql than its acquisition
// returned, which SpinLockReleaseIrql (off by default) reports: the test switches that
// check on itself and claims both reports, so that the count is the same whatever
// NTIO_VERIFIER_CHECKS the suite runs with.
TEST_F(Completion, S_CAN_3_ACancelRoutineReturningAtTheWrongIrqlIsReported) {
    ntio::set_verifier_checks("SpinLockReleaseIrql");
    ntio::testing::VerifierGuard verifier;
    auto wrong_irql = verifier.expect("IRQL_UNEXPECTED_VALUE");
    auto release_irql = verifier.expect("SpinLockReleaseIrql");
    HANDLE h = open(testdrv::kBuffered, true);
    OVERLAPPED ov{};
    {
        PIRP irp = send_held(h, &ov);
        IoSetCancelRoutine(irp, [](PDEVICE_OBJECT, PIRP irp) {
            IoReleaseCancelSpinLock(DISPATCH_LEVEL);  // wrong: should be irp->CancelIrql
            irp->IoStatus.Status = STATUS_CANCELLED;
            irp->IoStatus.Information = 0;
            IoCompleteRequest(irp, IO_NO_INCREMENT);
        });
    }
    EXPECT_TRUE(CancelIoEx(h, &ov));
    EXPECT_EQ(new_driver_bugs(), 2u) << "IRQL_UNEXPECTED_VALUE and SpinLockReleaseIrql";
    ASSERT_EQ(wrong_irql.reports().size(), 1u);
    EXPECT_EQ(wrong_irql.reports()[0].device, "\\Device\\TestBuffered") << wrong_irql.reports()[0].text;
    ASSERT_EQ(release_irql.reports().size(), 1u);
    EXPECT_NE(release_irql.reports()[0].message.find("NewIrql 2) for the cancel spin lock"), std::string::npos)
        << release_irql.reports()[0].text;
    EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL) << "restored for the caller";
    EXPECT_EQ(ov.Internal, static_cast<ULONG_PTR>(static_cast<ULONG>(STATUS_CANCELLED)));
    CloseHandle(h);
}

TEST_F(Completion, S_BLD_1_IoFreeIrpLeavesMdlsToTheDriver) {
    char buffer[64];
    PIRP irp = IoAllocateIrp(1, FALSE);
    PMDL mdl = IoAllocateMdl(buffer, sizeof buffer, FALSE, FALSE, irp);
    ASSERT_EQ(irp->MdlAddress, mdl);
    MmBuildMdlForNonPagedPool(mdl);
    EXPECT_EQ(MmGetSystemAddressForMdlSafe(mdl, NormalPagePriority), buffer);
    EXPECT_EQ(MmGetMdlByteCount(mdl), sizeof buffer);
    IoFreeIrp(irp);
    EXPECT_FALSE(sys.pool_usage().empty()) << "the MDL is still allocated";
    IoFreeMdl(mdl);
    EXPECT_TRUE(sys.pool_usage().empty());
}

TEST_F(Completion, IoFreeIrpOnARequestTheIoManagerOwnsIsRefused) {
    HANDLE h = open(testdrv::kBuffered, true);
    OVERLAPPED ov{};
    Script s = held();
    EXPECT_FALSE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, &s, sizeof s, nullptr, 0, nullptr, &ov));
    PIRP irp;
    {
        std::lock_guard g(testdrv::state().lock);
        irp = testdrv::state().held.front();
    }
    IoFreeIrp(irp);
    EXPECT_EQ(new_driver_bugs(), 1u);
    ASSERT_TRUE(testdrv::complete_held(STATUS_SUCCESS, 0)) << "the request is intact";
    CloseHandle(h);
}

NTSTATUS TakeBack(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx) {
    Record(dev, irp, ctx);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

NTSTATUS PassOn(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx) {
    Record(dev, irp, ctx);
    if (irp->PendingReturned) IoMarkIrpPending(irp);  // S-CMP-4
    return STATUS_CONTINUE_COMPLETION;
}

TEST_F(Completion, S_CMP_6_MoreProcessingRequiredHandsTheIrpBackAndCompletionResumes) {
    Script s = now(STATUS_SUCCESS, 7);
    Seen r0, r1;
    PDEVICE_OBJECT dev = device();
    PIRP irp = build_three_levels(dev, &s, TakeBack, &r0);
    IoSetCompletionRoutine(irp, TakeBack, &r1, TRUE, TRUE, TRUE);
    IoCallDriver(dev, irp);
    EXPECT_EQ(r1.calls, 1);
    EXPECT_EQ(r1.device, dev) << "the middle driver's routine runs with its own location current";
    EXPECT_EQ(r0.calls, 0) << "MORE_PROCESSING_REQUIRED stopped the walk";
    EXPECT_EQ(irp->IoStatus.Information, 7u);
    // The middle driver finishes its work and completes the IRP again: the walk resumes.
    irp->IoStatus.Information = 8;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    EXPECT_EQ(r1.calls, 1);
    EXPECT_EQ(r0.calls, 1);
    EXPECT_EQ(r0.device, nullptr) << "the creator has no location";
    EXPECT_EQ(r0.location, irp->StackCount + 1);
    IoFreeIrp(irp);
}

TEST_F(Completion, S_CMP_2f_PendingPropagatesThroughLevelsWithoutARoutine_S_CMP_4_AndRoutinesReMark) {
    for (bool remark : {false, true}) {
        Script s = held();
        Seen top, mid;
        PIRP irp = build_three_levels(device(), &s, TakeBack, &top);
        PDEVICE_OBJECT dev = IoGetCurrentIrpStackLocation(irp)->DeviceObject;
        if (remark) IoSetCompletionRoutine(irp, PassOn, &mid, TRUE, TRUE, TRUE);
        EXPECT_EQ(IoCallDriver(dev, irp), STATUS_PENDING);
        ASSERT_TRUE(testdrv::complete_held(STATUS_SUCCESS, 0));
        EXPECT_EQ(top.calls, 1);
        // Without a middle routine the I/O manager propagates the pending bit; with one,
        // the routine must re-mark it (and does here).
        EXPECT_TRUE(top.pending_returned) << "remark " << remark;
        if (remark) {
            EXPECT_TRUE(mid.pending_returned);
        }
        IoFreeIrp(irp);
    }
}

TEST_F(Completion, S_CMP_4_ARoutineThatDoesNotReMarkHidesPending) {
    Script s = held();
    Seen top, mid;
    PDEVICE_OBJECT dev = device();
    PIRP irp = build_three_levels(dev, &s, TakeBack, &top);
    IoSetCompletionRoutine(
        irp, [](PDEVICE_OBJECT d, PIRP i, PVOID c) -> NTSTATUS { Record(d, i, c); return STATUS_CONTINUE_COMPLETION; },
        &mid, TRUE, TRUE, TRUE);
    EXPECT_EQ(IoCallDriver(dev, irp), STATUS_PENDING);
    ASSERT_TRUE(testdrv::complete_held(STATUS_SUCCESS, 0));
    EXPECT_TRUE(mid.pending_returned);
    EXPECT_FALSE(top.pending_returned) << "the middle routine did not re-mark";
    IoFreeIrp(irp);
}

TEST_F(Completion, S_IRP_3_NoStackLocationLeftIsReportedNotACrash) {
    Script s = now(STATUS_SUCCESS);
    PDEVICE_OBJECT dev = device();
    PIRP irp = IoAllocateIrp(1, FALSE);
    IoSetNextIrpStackLocation(irp);  // uses up the only location
    EXPECT_EQ(IoCallDriver(dev, irp), STATUS_INVALID_DEVICE_STATE);
    EXPECT_EQ(new_driver_bugs(), 1u) << "NO_MORE_IRP_STACK_LOCATIONS";
    IoFreeIrp(irp);
    (void)s;
}

}  // namespace
