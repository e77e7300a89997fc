// Opening devices and the life of a file object: names (S-W32-9, S-W32-13),
// synchronous vs overlapped (S-W32-10), sharing (S-W32-11), exclusive and
// initializing devices (S-W32-12), the waitable file handle (S-W32-4), cleanup and
// close (S-CAN-13..15), the process's exit (S-CAN-12) and what the I/O manager fills
// in a request (S-IRP-12).
#include "command_support.hpp"
#include "io_test_support.hpp"

namespace {

using namespace ntio::testing;
using testdrv::Script;
class Files : public IoTest {};

TEST_F(Files, S_W32_9_Win32NamesResolveThroughDosDevices) {
    for (const char* name : {"\\\\.\\TestBuffered", "\\\\?\\TestBuffered", "\\\\.\\testbuffered"}) {
        HANDLE h = CreateFileA(name, GENERIC_READ, 0, nullptr, OPEN_EXISTING, 0, nullptr);
        EXPECT_NE(h, INVALID_HANDLE_VALUE) << name;
        CloseHandle(h);
    }
    // A link made in \GLOBAL?? is the same as one in \DosDevices and \??.
    UNICODE_STRING link = RTL_CONSTANT_STRING(L"\\GLOBAL??\\TestAlias");
    UNICODE_STRING target = RTL_CONSTANT_STRING(L"\\Device\\TestBuffered");
    ASSERT_EQ(IoCreateSymbolicLink(&link, &target), STATUS_SUCCESS);
    UNICODE_STRING again = RTL_CONSTANT_STRING(L"\\DosDevices\\TestAlias");
    EXPECT_EQ(IoCreateSymbolicLink(&again, &target), STATUS_OBJECT_NAME_COLLISION);
    HANDLE h = CreateFileA("\\\\.\\TestAlias", GENERIC_READ, 0, nullptr, OPEN_EXISTING, 0, nullptr);
    EXPECT_NE(h, INVALID_HANDLE_VALUE);
    CloseHandle(h);
    EXPECT_EQ(IoDeleteSymbolicLink(&again), STATUS_SUCCESS);
    EXPECT_EQ(CreateFileA("\\\\.\\TestAlias", GENERIC_READ, 0, nullptr, OPEN_EXISTING, 0, nullptr), INVALID_HANDLE_VALUE);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_FILE_NOT_FOUND));
    // Kernel code opens the device by its NT name.
    HANDLE k;
    IO_STATUS_BLOCK iosb;
    OBJECT_ATTRIBUTES oa;
    UNICODE_STRING dev = RTL_CONSTANT_STRING(L"\\Device\\TestBuffered");
    InitializeObjectAttributes(&oa, &dev, OBJ_KERNEL_HANDLE, nullptr, nullptr);
    EXPECT_EQ(ZwCreateFile(&k, GENERIC_READ, &oa, &iosb, nullptr, 0, 0, FILE_OPEN, 0, nullptr, 0), STATUS_SUCCESS);
    EXPECT_EQ(iosb.Information, static_cast<ULONG_PTR>(FILE_OPENED));
    EXPECT_EQ(ZwClose(k), STATUS_SUCCESS);
}

// S-W32-9: Windows's two links in \GLOBAL??: GLOBALROOT names the root of the namespace,
// so a Win32 path can name a device by its NT name, and Global is \GLOBAL?? itself.
TEST_F(Files, S_W32_9_GlobalRootAndGlobalAreLinksOfTheDosDevicesDirectory) {
    for (const char* name : {"\\\\.\\GLOBALROOT\\Device\\TestBuffered", "\\\\.\\Global\\TestBuffered",
                             "\\\\?\\globalroot\\device\\testbuffered"}) {
        HANDLE h = CreateFileA(name, GENERIC_READ, 0, nullptr, OPEN_EXISTING, 0, nullptr);
        EXPECT_NE(h, INVALID_HANDLE_VALUE) << name;
        CloseHandle(h);
    }
    EXPECT_EQ(CreateFileA("\\\\.\\GLOBALROOT\\Device\\NoSuchDevice", GENERIC_READ, 0, nullptr, OPEN_EXISTING, 0,
                          nullptr),
              INVALID_HANDLE_VALUE);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_FILE_NOT_FOUND));
    // A link made through Global lands in \GLOBAL?? (= \??).
    UNICODE_STRING link = RTL_CONSTANT_STRING(L"\\??\\Global\\TestAlias2");
    UNICODE_STRING target = RTL_CONSTANT_STRING(L"\\Device\\TestBuffered");
    ASSERT_EQ(IoCreateSymbolicLink(&link, &target), STATUS_SUCCESS);
    HANDLE h = CreateFileA("\\\\.\\TestAlias2", GENERIC_READ, 0, nullptr, OPEN_EXISTING, 0, nullptr);
    EXPECT_NE(h, INVALID_HANDLE_VALUE);
    CloseHandle(h);
    UNICODE_STRING plain = RTL_CONSTANT_STRING(L"\\DosDevices\\TestAlias2");
    EXPECT_EQ(IoDeleteSymbolicLink(&plain), STATUS_SUCCESS);
}

// Names of new objects: absolute, in a directory that exists (ObInsertObject's checks).
TEST_F(Files, NewNamesMustBeAbsoluteAndInADirectoryThatExists) {
    PDEVICE_OBJECT dev = nullptr;
    UNICODE_STRING no_dir = RTL_CONSTANT_STRING(L"\\Device\\NoDir\\X");
    EXPECT_EQ(IoCreateDevice(testdrv::state().driver, 0, &no_dir, FILE_DEVICE_UNKNOWN, 0, FALSE, &dev),
              STATUS_OBJECT_PATH_NOT_FOUND);
    UNICODE_STRING relative = RTL_CONSTANT_STRING(L"Device\\Rel");
    EXPECT_EQ(IoCreateDevice(testdrv::state().driver, 0, &relative, FILE_DEVICE_UNKNOWN, 0, FALSE, &dev),
              STATUS_OBJECT_PATH_SYNTAX_BAD);
    EXPECT_EQ(dev, nullptr);
    UNICODE_STRING link = RTL_CONSTANT_STRING(L"\\NoSuchDirectory\\Link");
    UNICODE_STRING target = RTL_CONSTANT_STRING(L"\\Device\\TestBuffered");
    EXPECT_EQ(IoCreateSymbolicLink(&link, &target), STATUS_OBJECT_PATH_NOT_FOUND);
    EXPECT_EQ(CreateEventW(nullptr, TRUE, FALSE, L"NoSuchSession\\Event"), nullptr) << "a missing directory";
}

TEST_F(Files, S_W32_13_WhatFollowsTheDeviceNameIsTheFileName) {
    HANDLE plain = open(testdrv::kBuffered, false);
    EXPECT_EQ(testdrv::last().file_name, L"");
    HANDLE suffixed = open(testdrv::kBuffered, false, GENERIC_READ, 0, "\\ref\\more");
    ASSERT_NE(suffixed, INVALID_HANDLE_VALUE);
    EXPECT_EQ(testdrv::last().file_name, L"\\ref\\more");
    CloseHandle(plain);
    CloseHandle(suffixed);
}

TEST_F(Files, S_W32_10_S_IRP_12_CreateRunsInTheOpenersThreadAndSetsTheSynchronousFlag) {
    HANDLE sync = open(testdrv::kBuffered, false);
    auto create = testdrv::last();
    EXPECT_EQ(create.major, IRP_MJ_CREATE);
    EXPECT_EQ(create.thread, PsGetCurrentThread());
    EXPECT_EQ(create.irql, PASSIVE_LEVEL);
    EXPECT_TRUE(create.file_flags & FO_SYNCHRONOUS_IO);
    HANDLE async = open(testdrv::kBuffered, true);
    EXPECT_FALSE(testdrv::last().file_flags & FO_SYNCHRONOUS_IO);
    // A request's IRP: user mode, the issuing thread, listed on it, the file object.
    Script s = now(STATUS_SUCCESS);
    DWORD n;
    ASSERT_TRUE(DeviceIoControl(sync, testdrv::IOCTL_BUFFERED, &s, sizeof s, nullptr, 0, &n, nullptr));
    auto o = testdrv::last();
    EXPECT_EQ(o.requestor_mode, UserMode);
    EXPECT_EQ(o.thread, PsGetCurrentThread());
    EXPECT_TRUE(o.on_thread_list) << "user IRPs are queued to the issuing thread";
    EXPECT_EQ(o.original_file, o.file);
    EXPECT_EQ(o.file, create.file);
    EXPECT_EQ(o.stack_count, 1);
    EXPECT_EQ(o.current_location, 1);
    CloseHandle(sync);
    CloseHandle(async);
}

TEST_F(Files, S_W32_11_ShareModesAreOnlyEnforcedByDriversThatCheckThem) {
    HANDLE a = open(testdrv::kBuffered, false, GENERIC_READ | GENERIC_WRITE, 0);
    HANDLE b = open(testdrv::kBuffered, false, GENERIC_READ | GENERIC_WRITE, 0);
    EXPECT_NE(a, INVALID_HANDLE_VALUE);
    EXPECT_NE(b, INVALID_HANDLE_VALUE) << "the I/O manager does not enforce share modes on devices";
    EXPECT_EQ(testdrv::last().share_access, 0);
    CloseHandle(a);
    CloseHandle(b);
    testdrv::state().check_share_access = true;
    a = open(testdrv::kBuffered, false, GENERIC_READ, FILE_SHARE_READ);
    ASSERT_NE(a, INVALID_HANDLE_VALUE);
    b = open(testdrv::kBuffered, false, GENERIC_WRITE, FILE_SHARE_READ);
    EXPECT_EQ(b, INVALID_HANDLE_VALUE);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_SHARING_VIOLATION));
    b = open(testdrv::kBuffered, false, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE);
    EXPECT_NE(b, INVALID_HANDLE_VALUE);
    HANDLE attrs = open(testdrv::kBuffered, false, FILE_READ_ATTRIBUTES, 0);
    EXPECT_NE(attrs, INVALID_HANDLE_VALUE) << "an open without read/write/delete access never conflicts";
    CloseHandle(a);
    CloseHandle(b);
    CloseHandle(attrs);
}

TEST_F(Files, S_W32_12_AnExclusiveDeviceAdmitsOneFileUntilItsClose) {
    HANDLE a = open(testdrv::kExclusive, true);
    ASSERT_NE(a, INVALID_HANDLE_VALUE);
    EXPECT_EQ(open(testdrv::kExclusive, true), INVALID_HANDLE_VALUE);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_ACCESS_DENIED));
    // A request still pending keeps the file object (and the device's open count) alive.
    OVERLAPPED ov{};
    Script s = held();
    EXPECT_FALSE(DeviceIoControl(a, testdrv::IOCTL_BUFFERED, &s, sizeof s, nullptr, 0, nullptr, &ov));
    CloseHandle(a);
    EXPECT_EQ(testdrv::state().cleanups, 1);
    EXPECT_EQ(testdrv::state().closes, 0);
    EXPECT_EQ(open(testdrv::kExclusive, true), INVALID_HANDLE_VALUE) << "still denied: no IRP_MJ_CLOSE yet";
    ASSERT_TRUE(testdrv::complete_held(STATUS_SUCCESS, 0));
    EXPECT_EQ(testdrv::state().closes, 1);
    HANDLE b = open(testdrv::kExclusive, true);
    EXPECT_NE(b, INVALID_HANDLE_VALUE) << "allowed after IRP_MJ_CLOSE";
    CloseHandle(b);
}

TEST_F(Files, S_W32_12_ADeviceStillInitializingCannotBeOpened) {
    PDEVICE_OBJECT dev = testdrv::create_uninitialized_device(L"TestUninitialized");
    ASSERT_NE(dev, nullptr);
    EXPECT_EQ(CreateFileA("\\\\.\\TestUninitialized", GENERIC_READ, 0, nullptr, OPEN_EXISTING, 0, nullptr),
              INVALID_HANDLE_VALUE);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_FILE_NOT_FOUND));
    dev->Flags &= ~DO_DEVICE_INITIALIZING;
    HANDLE h = CreateFileA("\\\\.\\TestUninitialized", GENERIC_READ, 0, nullptr, OPEN_EXISTING, 0, nullptr);
    EXPECT_NE(h, INVALID_HANDLE_VALUE);
    CloseHandle(h);
}

TEST_F(Files, S_W32_4_TheFileHandleIsWaitable) {
    HANDLE h = open(testdrv::kBuffered, true);
    EXPECT_EQ(WaitForSingleObject(h, 0), WAIT_OBJECT_0) << "a freshly opened device handle is signaled";
    OVERLAPPED ov{};  // no event: the file handle is signaled at completion
    Script s = later(STATUS_SUCCESS, 300);
    EXPECT_FALSE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, &s, sizeof s, nullptr, 0, nullptr, &ov));
    EXPECT_EQ(WaitForSingleObject(h, 0), WAIT_TIMEOUT) << "reset when the request starts";
    EXPECT_EQ(WaitForSingleObject(h, INFINITE), WAIT_OBJECT_0);
    EXPECT_EQ(now_ms(), 300);
    DWORD n;
    EXPECT_TRUE(GetOverlappedResult(h, &ov, &n, TRUE)) << "GetOverlappedResult waits on the file without hEvent";
    CloseHandle(h);
}

TEST_F(Files, S_CAN_13_CleanupAtTheLastHandle_CloseAfterTheLastIrp) {
    HANDLE h = open(testdrv::kBuffered, true);
    OVERLAPPED ov{};
    Script s = held();
    EXPECT_FALSE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, &s, sizeof s, nullptr, 0, nullptr, &ov));
    EXPECT_TRUE(CloseHandle(h)) << "CloseHandle does not wait for outstanding I/O";
    EXPECT_EQ(testdrv::state().cleanups, 1);
    EXPECT_EQ(testdrv::state().held_at_cleanup, 1) << "cleanup comes while the request is still pending";
    auto cleanup = testdrv::observations(IRP_MJ_CLEANUP);
    ASSERT_EQ(cleanup.size(), 1u);
    EXPECT_EQ(cleanup[0].thread, PsGetCurrentThread()) << "in the closing thread";
    EXPECT_EQ(cleanup[0].irql, PASSIVE_LEVEL);
    EXPECT_EQ(testdrv::state().closes, 0);
    ASSERT_TRUE(testdrv::complete_held(STATUS_SUCCESS, 0));
    EXPECT_EQ(testdrv::state().closes, 1) << "close follows the last IRP";
    EXPECT_EQ(ov.Internal, 0u) << "the request still completes normally";
}

// S-DSP-5 with S-CAN-13: closing the last handle of a synchronous file object takes its
// I/O lock, as Windows's close does, so it waits for the call another thread has in
// progress on it. The driver sees IRP_MJ_CLEANUP after that request, and the call
// returns the request's own result, not the cleanup's.
TEST_F(Files, S_DSP_5_S_CAN_13_ClosingASynchronousFileWaitsForTheCallInProgress) {
    struct Call {
        HANDLE h;
        BOOL ok = TRUE;
        DWORD error = 0, bytes = 0;
        int64_t returned_at = -1;
        ntio::System* sys;
    } call{open(testdrv::kBuffered, false), TRUE, 0, 0, -1, &sys};
    ASSERT_NE(call.h, INVALID_HANDLE_VALUE);
    HANDLE t = CreateThread(
        nullptr, 0,
        [](LPVOID p) -> DWORD {
            auto* c = static_cast<Call*>(p);
            Script s = later(STATUS_DEVICE_BUSY, 5000, 3);
            c->ok = DeviceIoControl(c->h, testdrv::IOCTL_BUFFERED, &s, sizeof s, nullptr, 0, &c->bytes, nullptr);
            c->error = GetLastError();
            c->returned_at = std::chrono::duration_cast<std::chrono::milliseconds>(c->sys->now()).count();
            return 0;
        },
        &call, 0, nullptr);
    Sleep(1000);
    ASSERT_EQ(testdrv::observations(IRP_MJ_DEVICE_CONTROL).size(), 1u) << "the call is in progress";
    EXPECT_TRUE(CloseHandle(call.h));
    EXPECT_EQ(now_ms(), 5000) << "the close waited for the request";
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);
    EXPECT_FALSE(call.ok) << "the request's own status, not the cleanup's success";
    EXPECT_EQ(call.error, static_cast<DWORD>(ERROR_BUSY));
    EXPECT_EQ(call.returned_at, 5000);
    auto request = testdrv::observations(IRP_MJ_DEVICE_CONTROL);
    auto cleanup = testdrv::observations(IRP_MJ_CLEANUP);
    ASSERT_EQ(request.size(), 1u);
    ASSERT_EQ(cleanup.size(), 1u);
    EXPECT_EQ((cleanup[0].at - request[0].at) / 10000, 5000u) << "cleanup after the request completed";
    EXPECT_EQ(testdrv::state().held_at_cleanup, 0);
    EXPECT_EQ(testdrv::state().closes, 1);
}

TEST_F(Files, S_CAN_13_ALastReferenceDroppedInADpcClosesAtPassiveLevel) {
    HANDLE h = open(testdrv::kBuffered, true);
    OVERLAPPED ov{};
    Script s = held();
    EXPECT_FALSE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, &s, sizeof s, nullptr, 0, nullptr, &ov));
    CloseHandle(h);
    struct Ctx {
        KEVENT done;
    } ctx;
    KeInitializeEvent(&ctx.done, NotificationEvent, FALSE);
    KDPC dpc;
    KeInitializeDpc(
        &dpc,
        [](PKDPC, PVOID c, PVOID, PVOID) {
            testdrv::complete_held(STATUS_SUCCESS, 0);  // at DISPATCH_LEVEL
            KeSetEvent(&static_cast<Ctx*>(c)->done, IO_NO_INCREMENT, FALSE);
        },
        &ctx);
    KeInsertQueueDpc(&dpc, nullptr, nullptr);
    KeWaitForSingleObject(&ctx.done, Executive, KernelMode, FALSE, nullptr);
    // The close runs on the runtime's worker; wait until its IRP is gone too.
    for (int i = 0; i < 1000 && (testdrv::state().closes == 0 || sys.live_irps() != 0); ++i) Sleep(1);
    EXPECT_EQ(sys.live_irps(), 0);
    auto closes = testdrv::observations(IRP_MJ_CLOSE);
    ASSERT_EQ(closes.size(), 1u);
    EXPECT_EQ(closes[0].irql, PASSIVE_LEVEL);
}

TEST_F(Files, S_CAN_14_DuplicatedHandlesShareOneFileObject) {
    HANDLE h = open(testdrv::kBuffered, true);
    HANDLE d;
    ASSERT_TRUE(DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), &d, 0, FALSE, DUPLICATE_SAME_ACCESS));
    EXPECT_EQ(testdrv::state().creates, 1) << "no second IRP_MJ_CREATE";
    CloseHandle(h);
    EXPECT_EQ(testdrv::state().cleanups, 0);
    Script s = now(STATUS_SUCCESS);
    DWORD n;
    OVERLAPPED ov{};
    EXPECT_TRUE(DeviceIoControl(d, testdrv::IOCTL_BUFFERED, &s, sizeof s, nullptr, 0, &n, &ov));
    CloseHandle(d);
    EXPECT_EQ(testdrv::state().cleanups, 1);
    EXPECT_EQ(testdrv::state().closes, 1);
}

TEST_F(Files, S_CAN_15_AFailedCreateLeavesNoTrace) {
    testdrv::state().fail_create = STATUS_ACCESS_DENIED;
    EXPECT_EQ(open(testdrv::kBuffered, false), INVALID_HANDLE_VALUE);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_ACCESS_DENIED));
    EXPECT_EQ(testdrv::state().creates, 1);
    EXPECT_EQ(testdrv::state().cleanups, 0);
    EXPECT_EQ(testdrv::state().closes, 0);
    EXPECT_EQ(sys.open_handles(), 0u);
}

TEST_F(Files, DeletedDeviceRefusesNewOpensAndRequests) {
    HANDLE h = open(testdrv::kNeither, false);
    ASSERT_NE(h, INVALID_HANDLE_VALUE);
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Device\\TestNeither");
    void* devobj = nullptr;
    HANDLE k;
    IO_STATUS_BLOCK iosb;
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &name, OBJ_KERNEL_HANDLE, nullptr, nullptr);
    ASSERT_EQ(ZwCreateFile(&k, GENERIC_READ, &oa, &iosb, nullptr, 0, 0, FILE_OPEN, 0, nullptr, 0), STATUS_SUCCESS);
    ASSERT_EQ(ObReferenceObjectByHandle(k, 0, *IoFileObjectType, KernelMode, &devobj, nullptr), STATUS_SUCCESS);
    PDEVICE_OBJECT dev = static_cast<PFILE_OBJECT>(devobj)->DeviceObject;
    ObDereferenceObject(devobj);
    ZwClose(k);
    IoDeleteDevice(dev);
    EXPECT_EQ(open(testdrv::kNeither, false), INVALID_HANDLE_VALUE);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_FILE_NOT_FOUND));
    Script s = now(STATUS_SUCCESS);
    DWORD n;
    EXPECT_FALSE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, &s, sizeof s, nullptr, 0, &n, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_DEVICE_REMOVED));
    EXPECT_TRUE(CloseHandle(h)) << "closing still works; the device object goes away with its last file";
}

// ---- the process's exit: `ntio run` with tests/c/exit_driver.c and exit_app.c ----------------

// S-CAN-12: a process that exits ends its threads, which cancels their requests, before
// its handles close. A driver with a cancel routine sees the cancel, then a cleanup
// with nothing left to complete, and the verifier has nothing to report.
std::string run_exit_app(const char* mode) {
    return ntio::testing::run_command(std::string(NTIO_TEST_CLI) + " run --virtual-time --driver " +
                                      NTIO_TEST_EXIT_C_DRIVER + " -- " + NTIO_TEST_EXIT_C_APP + " " + mode + " 2>&1")
        .output;
}

size_t position(const std::string& out, const std::string& what) {
    size_t p = out.find(what);
    EXPECT_NE(p, std::string::npos) << "missing: " << what << "\n" << out;
    return p;
}

// After the app's line `returned`: the cancel, then a cleanup with nothing left, the
// close (which takes the driver a second), the unload, and no report. The close may be
// sent by a thread whose cancelled call drops the file's last reference: the exit waits
// for that thread to stop before it judges what is pending and unloads the driver.
// `closed_at`: when the close ends, a second after main returned.
void expect_cancelled_before_cleanup(const std::string& out, const std::string& returned,
                                     const std::string& closed_at = "1.100000") {
    size_t main_returned = position(out, returned);
    size_t cancelled = position(out, "ExitTest: request cancelled");
    size_t cleanup = position(out, "ExitTest: cleanup completed 0 held request(s)");
    size_t closed = position(out, closed_at + "\tExitTest: closed");
    size_t unloaded = position(out, closed_at + "\tExitTest: unloaded");
    EXPECT_LT(main_returned, cancelled);
    EXPECT_LT(cancelled, cleanup);
    EXPECT_LT(cleanup, closed);
    EXPECT_LT(closed, unloaded);
    EXPECT_EQ(out.find("DRIVER BUG"), std::string::npos) << out;
    EXPECT_EQ(out.find("still allocated"), std::string::npos) << out;
}

TEST(ProcessExit, S_CAN_12_MainReturningCancelsItsPendingRequestBeforeTheCleanup) {
    expect_cancelled_before_cleanup(run_exit_app("overlapped"), "main returns with its request pending", "1.000000");
}

// Windows ends the program's other threads before it runs anything down; ntio cannot
// end a thread, but one that gets back from its wait during the exit stops there and
// never runs its own code again: its line is never printed, whatever the timing.
TEST(ProcessExit, S_CAN_12_AThreadBlockedInASynchronousCallIsCancelledAndNeverReturns) {
    std::string out = run_exit_app("thread");
    expect_cancelled_before_cleanup(out, "main returns while a thread waits in its call");
    EXPECT_EQ(out.find("thread's call returned"), std::string::npos) << out;
}

// The same when the driver does not pend the call but waits inside dispatch and fails it
// there once cancelled: the call returns without pending, and the thread stops on its
// way out of DeviceIoControl.
TEST(ProcessExit, S_CAN_12_AThreadWhoseCallIsFailedInsideDispatchNeverReturns) {
    std::string out = run_exit_app("inside");
    size_t main_returned = position(out, "main returns while a thread waits in its call");
    size_t cancelled = position(out, "ExitTest: request cancelled inside dispatch");
    size_t cleanup = position(out, "ExitTest: cleanup completed 0 held request(s)");
    size_t closed = position(out, "1.100000\tExitTest: closed");
    size_t unloaded = position(out, "1.100000\tExitTest: unloaded");
    EXPECT_LT(main_returned, cancelled);
    EXPECT_LT(cancelled, cleanup);
    EXPECT_LT(cleanup, closed);
    EXPECT_LT(closed, unloaded);
    EXPECT_EQ(out.find("thread's call returned"), std::string::npos) << out;
    EXPECT_EQ(out.find("DRIVER BUG"), std::string::npos) << out;
}

TEST(ProcessExit, S_CAN_12_AThreadWaitingForAnEventTheCancelSetsNeverReturns) {
    std::string out = run_exit_app("wait");
    expect_cancelled_before_cleanup(out, "main returns while a thread waits for its request");
    EXPECT_EQ(out.find("thread's wait returned"), std::string::npos) << out;
}

TEST(ProcessExit, S_CAN_12_AThreadWaitingOnAPortForTheCancelledPacketNeverReturns) {
    std::string out = run_exit_app("port");
    expect_cancelled_before_cleanup(out, "main returns while a thread waits for its request");
    EXPECT_EQ(out.find("thread's GetQueuedCompletionStatus returned"), std::string::npos) << out;
}

}  // namespace
