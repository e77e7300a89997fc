// The dispatch-return protocol and what callers see (nt-io-semantics §3, S-DSP-*),
// through NtDeviceIoControlFile and the Win32 calls, on synchronous and
// overlapped handles.
#include <atomic>
#include <cstring>
#include <vector>

#include "io_test_support.hpp"

namespace {

using namespace ntio::testing;
using testdrv::IOCTL_BUFFERED;
using testdrv::Script;
class Dispatch : public IoTest {};

constexpr ULONG_PTR kSentinel = 0xdeadf00d;

struct Out {
    unsigned char bytes[64];
    Out() { std::memset(bytes, 0x11, sizeof bytes); }
    int count(unsigned char v) const {
        int n = 0;
        for (unsigned char b : bytes) n += b == v;
        return n;
    }
};

TEST_F(Dispatch, S_DSP_2_TheServiceReturnsTheDispatchValueNotIoStatus) {
    HANDLE h = open(testdrv::kBuffered, true);
    for (HANDLE file : {h, open(testdrv::kBuffered, false)}) {
        Script s = now(STATUS_UNSUCCESSFUL);
        s.override_return = TRUE;
        s.dispatch_return = static_cast<NTSTATUS>(0x0EADBEEF);  // a success-class value
        IO_STATUS_BLOCK iosb{};
        Out out;
        EXPECT_EQ(NtDeviceIoControlFile(file, nullptr, nullptr, nullptr, &iosb, IOCTL_BUFFERED, &s, sizeof s, out.bytes,
                                        sizeof out.bytes),
                  static_cast<NTSTATUS>(0x0EADBEEF));
        s.dispatch_return = STATUS_BUFFER_OVERFLOW;
        s.status = STATUS_SUCCESS;
        EXPECT_EQ(NtDeviceIoControlFile(file, nullptr, nullptr, nullptr, &iosb, IOCTL_BUFFERED, &s, sizeof s, out.bytes,
                                        sizeof out.bytes),
                  STATUS_BUFFER_OVERFLOW);
        CloseHandle(file);
    }
}

TEST_F(Dispatch, S_DSP_3_OverlappedReturnsPendingAtOnce_SynchronousWaitsForTheFinalStatus) {
    HANDLE ov_handle = open(testdrv::kBuffered, true), sync_handle = open(testdrv::kBuffered, false);
    Script s = later(STATUS_BUFFER_OVERFLOW, 2000, 4, 4);
    IO_STATUS_BLOCK iosb{};
    Out out;
    int64_t t0 = now_ms();
    HANDLE ev = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    EXPECT_EQ(NtDeviceIoControlFile(ov_handle, ev, nullptr, nullptr, &iosb, IOCTL_BUFFERED, &s, sizeof s, out.bytes, 8),
              STATUS_PENDING);
    EXPECT_EQ(now_ms(), t0);
    WaitForSingleObject(ev, INFINITE);
    EXPECT_EQ(iosb.Status, STATUS_BUFFER_OVERFLOW);
    t0 = now_ms();
    EXPECT_EQ(NtDeviceIoControlFile(sync_handle, nullptr, nullptr, nullptr, &iosb, IOCTL_BUFFERED, &s, sizeof s,
                                    out.bytes, 8),
              STATUS_BUFFER_OVERFLOW)
        << "a synchronous handle waits and returns the final status";
    EXPECT_EQ(now_ms() - t0, 2000);
    CloseHandle(ev);
    CloseHandle(ov_handle);
    CloseHandle(sync_handle);
}

TEST_F(Dispatch, S_DSP_4_MarkedPendingButReturnedAStatusFollowsThePendingColumn) {
    HANDLE h = open(testdrv::kBuffered, true);
    Script s = now(STATUS_INVALID_PARAMETER);
    s.mark_pending = TRUE;
    s.override_return = TRUE;
    s.dispatch_return = STATUS_SUCCESS;
    HANDLE ev = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    IO_STATUS_BLOCK iosb{};
    iosb.Information = kSentinel;
    Out out;
    EXPECT_EQ(NtDeviceIoControlFile(h, ev, nullptr, nullptr, &iosb, IOCTL_BUFFERED, &s, sizeof s, out.bytes, 8),
              STATUS_SUCCESS)
        << "the caller gets the returned status";
    EXPECT_EQ(iosb.Status, STATUS_INVALID_PARAMETER) << "the IOSB is written as for a pended request";
    EXPECT_EQ(WaitForSingleObject(ev, 0), WAIT_OBJECT_0);
    EXPECT_EQ(new_driver_bugs(), 0u) << "tolerated (S-DSP-4), reported only as a warning";
    CloseHandle(ev);
    CloseHandle(h);
}

TEST_F(Dispatch, S_DSP_6_S_DSP_14_ImmediateErrorLeavesTheEventResetAndTheOverlappedPending) {
    HANDLE h = open(testdrv::kBuffered, true);
    HANDLE ev = CreateEventA(nullptr, TRUE, TRUE, nullptr);  // signaled before the call
    OVERLAPPED ov{};
    ov.hEvent = ev;
    Script s = now(STATUS_INVALID_DEVICE_STATE);
    Out out;
    DWORD bytes = static_cast<DWORD>(kSentinel);
    EXPECT_FALSE(DeviceIoControl(h, IOCTL_BUFFERED, &s, sizeof s, out.bytes, 8, &bytes, &ov));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_BAD_COMMAND));
    EXPECT_EQ(WaitForSingleObject(ev, 0), WAIT_TIMEOUT) << "reset at the start of the call, not set after";
    EXPECT_EQ(static_cast<NTSTATUS>(ov.Internal), STATUS_PENDING) << "S-DSP-14: Internal stays STATUS_PENDING";
    EXPECT_FALSE(HasOverlappedIoCompleted(&ov));
    EXPECT_FALSE(GetOverlappedResult(h, &ov, &bytes, FALSE));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_IO_INCOMPLETE));
    EXPECT_EQ(bytes, static_cast<DWORD>(kSentinel)) << "lpBytesReturned is not written on NT_ERROR";
    CloseHandle(ev);
    CloseHandle(h);
}

// S-DSP-7: an overlapped handle, the driver completing inside dispatch.
struct Row {
    const char* name;
    bool pending;
    NTSTATUS status;
    bool iosb_written, event_set, data_copied;
};
// A failing row is printed by its name, not as bytes.
void PrintTo(const Row& r, std::ostream* os) { *os << r.name; }
class Table : public IoTest, public ::testing::WithParamInterface<Row> {};

TEST_P(Table, S_DSP_7_CompletionInsideDispatch) {
    const Row& r = GetParam();
    HANDLE h = open(testdrv::kBuffered, true);
    HANDLE ev = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    Script s = now(r.status, 8, 8);
    s.mark_pending = r.pending;
    IO_STATUS_BLOCK iosb{};
    iosb.Status = 0x12345678;
    iosb.Information = kSentinel;
    Out out;
    NTSTATUS ret = NtDeviceIoControlFile(h, ev, nullptr, nullptr, &iosb, IOCTL_BUFFERED, &s, sizeof s, out.bytes, 8);
    EXPECT_EQ(ret, r.pending ? STATUS_PENDING : r.status);
    EXPECT_EQ(iosb.Status == r.status && iosb.Information == 8, r.iosb_written);
    EXPECT_EQ(WaitForSingleObject(ev, 0) == WAIT_OBJECT_0, r.event_set);
    EXPECT_EQ(out.count(0xAB) == 8, r.data_copied);
    EXPECT_EQ(WaitForSingleObject(h, 0), WAIT_TIMEOUT) << "with an hEvent the file handle is not signaled";

    // The same without an event: the file handle stands in for it.
    IO_STATUS_BLOCK iosb2{};
    Out out2;
    NtDeviceIoControlFile(h, nullptr, nullptr, nullptr, &iosb2, IOCTL_BUFFERED, &s, sizeof s, out2.bytes, 8);
    EXPECT_EQ(WaitForSingleObject(h, 0) == WAIT_OBJECT_0, r.event_set);
    CloseHandle(ev);
    CloseHandle(h);
    // S-CAN-14: each completion dropped its IRP's file reference, so the last handle's
    // close is the last reference.
    EXPECT_EQ(testdrv::state().closes.load(), 1);
}

INSTANTIATE_TEST_SUITE_P(
    Rows, Table,
    ::testing::Values(Row{"NotPendingError", false, STATUS_INVALID_PARAMETER, false, false, false},
                      Row{"NotPendingSuccess", false, STATUS_SUCCESS, true, true, true},
                      Row{"NotPendingWarning", false, STATUS_BUFFER_OVERFLOW, true, true, true},
                      Row{"NotPendingInformational", false, static_cast<NTSTATUS>(0x40000001), true, true, true},
                      Row{"PendingError", true, STATUS_INVALID_PARAMETER, true, true, false},
                      Row{"PendingSuccess", true, STATUS_SUCCESS, true, true, true},
                      Row{"PendingWarning", true, STATUS_BUFFER_OVERFLOW, true, true, true}),
    [](const ::testing::TestParamInfo<Row>& i) { return std::string(i.param.name); });

TEST_F(Dispatch, S_DSP_8_SynchronousHandleWritesTheIosbOnlyWithoutAnError) {
    HANDLE h = open(testdrv::kBuffered, false);
    for (NTSTATUS st : {STATUS_SUCCESS, STATUS_BUFFER_OVERFLOW, STATUS_INVALID_PARAMETER}) {
        for (bool pend : {false, true}) {
            Script s = pend ? later(st, 10, 8, 8) : now(st, 8, 8);
            IO_STATUS_BLOCK iosb{};
            iosb.Status = 0x12345678;
            Out out;
            EXPECT_EQ(NtDeviceIoControlFile(h, nullptr, nullptr, nullptr, &iosb, IOCTL_BUFFERED, &s, sizeof s,
                                            out.bytes, 8),
                      st);
            EXPECT_EQ(iosb.Status == st, !NT_ERROR(st)) << std::hex << st << " pending " << pend;
            EXPECT_EQ(out.count(0xAB) == 8, !NT_ERROR(st));
        }
    }
    CloseHandle(h);
}

TEST_F(Dispatch, S_DSP_13_DeviceIoControlWithAnOverlapped) {
    HANDLE h = open(testdrv::kBuffered, true);
    OVERLAPPED ov{};
    ov.hEvent = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    Script s = now(STATUS_SUCCESS, 5, 5);
    Out out;
    DWORD bytes = 0;
    EXPECT_TRUE(DeviceIoControl(h, IOCTL_BUFFERED, &s, sizeof s, out.bytes, 8, &bytes, &ov));
    EXPECT_EQ(bytes, 5u);
    EXPECT_EQ(ov.Internal, 0u);
    EXPECT_EQ(ov.InternalHigh, 5u);
    // Pending: FALSE + ERROR_IO_PENDING, Internal = STATUS_PENDING until completion.
    s = testdrv::Script{};
    s.finish = testdrv::Finish::held;
    EXPECT_FALSE(DeviceIoControl(h, IOCTL_BUFFERED, &s, sizeof s, out.bytes, 8, nullptr, &ov));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_IO_PENDING));
    EXPECT_EQ(static_cast<NTSTATUS>(ov.Internal), STATUS_PENDING);
    ASSERT_TRUE(testdrv::complete_held(STATUS_SUCCESS, 3));
    EXPECT_TRUE(HasOverlappedIoCompleted(&ov));
    EXPECT_TRUE(GetOverlappedResult(h, &ov, &bytes, FALSE));
    EXPECT_EQ(bytes, 3u);
    CloseHandle(ov.hEvent);
    CloseHandle(h);
}

TEST_F(Dispatch, S_DSP_15_DeviceIoControlWithoutAnOverlapped) {
    HANDLE h = open(testdrv::kBuffered, false);
    Out out;
    DWORD bytes = static_cast<DWORD>(kSentinel);
    Script s = now(static_cast<NTSTATUS>(0x0EADBEEF), 4, 4);  // success class
    SetLastError(1234);
    EXPECT_TRUE(DeviceIoControl(h, IOCTL_BUFFERED, &s, sizeof s, out.bytes, 8, &bytes, nullptr));
    EXPECT_EQ(bytes, 4u);
    EXPECT_EQ(GetLastError(), 1234u) << "success leaves the last error alone";
    s = now(STATUS_BUFFER_OVERFLOW, 6, 6);
    EXPECT_FALSE(DeviceIoControl(h, IOCTL_BUFFERED, &s, sizeof s, out.bytes, 8, &bytes, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_MORE_DATA));
    EXPECT_EQ(bytes, 6u) << "a warning still reports the bytes";
    bytes = static_cast<DWORD>(kSentinel);
    s = now(STATUS_INVALID_PARAMETER, 6, 6);
    EXPECT_FALSE(DeviceIoControl(h, IOCTL_BUFFERED, &s, sizeof s, out.bytes, 8, &bytes, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    EXPECT_EQ(bytes, static_cast<DWORD>(kSentinel)) << "an error does not write lpBytesReturned";
    CloseHandle(h);
    // An overlapped handle used without an OVERLAPPED: the wrapper waits on the file handle.
    HANDLE ov = open(testdrv::kBuffered, true);
    s = later(STATUS_SUCCESS, 700, 2, 2);
    int64_t t0 = now_ms();
    EXPECT_TRUE(DeviceIoControl(ov, IOCTL_BUFFERED, &s, sizeof s, out.bytes, 8, &bytes, nullptr));
    EXPECT_EQ(bytes, 2u);
    EXPECT_EQ(now_ms() - t0, 700);
    CloseHandle(ov);
}

TEST_F(Dispatch, S_DSP_16_ReadFileZeroesTheCountFirst) {
    HANDLE h = open(testdrv::kBuffered, false);
    testdrv::state().next_read_write = now(STATUS_INVALID_PARAMETER);
    char buf[8];
    DWORD got = 77;
    EXPECT_FALSE(ReadFile(h, buf, sizeof buf, &got, nullptr));
    EXPECT_EQ(got, 0u);
    testdrv::state().next_read_write = now(STATUS_SUCCESS, 8, 8);
    EXPECT_TRUE(ReadFile(h, buf, sizeof buf, &got, nullptr));
    EXPECT_EQ(got, 8u);
    DWORD wrote = 5;
    testdrv::state().next_read_write = now(STATUS_SUCCESS, 3);
    EXPECT_TRUE(WriteFile(h, "abc", 3, &wrote, nullptr));
    EXPECT_EQ(wrote, 3u);
    CloseHandle(h);
}

TEST_F(Dispatch, S_DSP_17_ReadWithoutAnOffsetOnAnAsynchronousFileIsInvalid) {
    HANDLE h = open(testdrv::kBuffered, true);
    char buf[4];
    IO_STATUS_BLOCK iosb{};
    int before = testdrv::state().dispatched;
    EXPECT_EQ(NtReadFile(h, nullptr, nullptr, nullptr, &iosb, buf, sizeof buf, nullptr, nullptr),
              STATUS_INVALID_PARAMETER);
    EXPECT_EQ(testdrv::state().dispatched, before) << "no IRP";
    CloseHandle(h);
}

// S-DISK-2: on a file opened without intermediate buffering (FILE_FLAG_NO_BUFFERING), a
// user-mode read or write must move whole sectors of the device, at an explicit offset
// on a sector boundary, from a buffer on the device's alignment; else
// ERROR_INVALID_PARAMETER and no IRP, as Windows's I/O manager checks.
TEST_F(Dispatch, S_DISK_2_NoBufferingTransfersAreWholeAlignedSectors) {
    PDEVICE_OBJECT dev = nullptr;
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Device\\TestBuffered");
    PFILE_OBJECT fo = nullptr;
    ASSERT_EQ(IoGetDeviceObjectPointer(&name, FILE_READ_DATA, &fo, &dev), STATUS_SUCCESS);
    dev->SectorSize = 512;
    dev->AlignmentRequirement = FILE_QUAD_ALIGNMENT;
    alignas(16) static unsigned char buf[2048];
    for (bool overlapped : {false, true}) {
        HANDLE h = CreateFileA(win32_name(testdrv::kBuffered).c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr,
                               OPEN_EXISTING, FILE_FLAG_NO_BUFFERING | (overlapped ? FILE_FLAG_OVERLAPPED : 0), nullptr);
        ASSERT_NE(h, INVALID_HANDLE_VALUE);
        IO_STATUS_BLOCK iosb{};
        LARGE_INTEGER at{};
        int before = testdrv::state().dispatched;
        EXPECT_EQ(NtReadFile(h, nullptr, nullptr, nullptr, &iosb, buf, 100, &at, nullptr), STATUS_INVALID_PARAMETER)
            << "a length that is not whole sectors";
        EXPECT_EQ(NtWriteFile(h, nullptr, nullptr, nullptr, &iosb, buf, 513, &at, nullptr), STATUS_INVALID_PARAMETER);
        EXPECT_EQ(NtReadFile(h, nullptr, nullptr, nullptr, &iosb, buf + 4, 512, &at, nullptr), STATUS_INVALID_PARAMETER)
            << "a buffer off the device's 8-byte alignment";
        at.QuadPart = 100;
        EXPECT_EQ(NtReadFile(h, nullptr, nullptr, nullptr, &iosb, buf, 512, &at, nullptr), STATUS_INVALID_PARAMETER)
            << "an offset off a sector boundary";
        EXPECT_EQ(testdrv::state().dispatched, before) << "no IRP for any of them";
        OVERLAPPED ov{};
        ov.hEvent = CreateEventW(nullptr, TRUE, FALSE, nullptr);
        DWORD n = 0;
        EXPECT_FALSE(ReadFile(h, buf, 10, &n, overlapped ? &ov : nullptr));
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
        // Whole sectors at a sector boundary from an aligned buffer reach the driver.
        testdrv::state().next_read_write = now(STATUS_SUCCESS, 1024);
        ov.Offset = 1024;
        BOOL ok = ReadFile(h, buf, 1024, &n, overlapped ? &ov : nullptr);
        if (overlapped) ok = GetOverlappedResult(h, &ov, &n, TRUE);
        EXPECT_TRUE(ok);
        EXPECT_EQ(n, 1024u);
        EXPECT_EQ(testdrv::state().dispatched, before + 1);
        CloseHandle(ov.hEvent);
        CloseHandle(h);
    }
    // Without FILE_FLAG_NO_BUFFERING the device's sector size asks nothing of the caller.
    HANDLE h = open(testdrv::kBuffered, false);
    DWORD n = 0;
    testdrv::state().next_read_write = now(STATUS_SUCCESS, 10);
    EXPECT_TRUE(ReadFile(h, buf + 1, 10, &n, nullptr));
    CloseHandle(h);
    dev->SectorSize = 0;
    dev->AlignmentRequirement = FILE_BYTE_ALIGNMENT;
    ObDereferenceObject(fo);
}

// S-DSP-5: a synchronous read or write without an offset (or with
// FILE_USE_FILE_POINTER_POSITION) starts at the file object's CurrentByteOffset, which
// the I/O manager reads and never moves: the driver keeps the position, as a file
// system does.
TEST_F(Dispatch, S_DSP_5_TheFilePositionIsTheDriversToMove) {
    HANDLE h = open(testdrv::kBuffered, false);
    char buf[16];
    DWORD n;
    testdrv::state().next_read_write = now(STATUS_SUCCESS, 16);
    ASSERT_TRUE(ReadFile(h, buf, sizeof buf, &n, nullptr));
    EXPECT_EQ(n, 16u);
    EXPECT_EQ(testdrv::last().byte_offset.QuadPart, 0);
    ASSERT_TRUE(ReadFile(h, buf, sizeof buf, &n, nullptr));
    EXPECT_EQ(testdrv::last().byte_offset.QuadPart, 0) << "a driver that does not advance it reads 0 again";
    testdrv::last().file->CurrentByteOffset.QuadPart = 1000;  // as a driver that keeps a position
    ASSERT_TRUE(WriteFile(h, buf, sizeof buf, &n, nullptr));
    EXPECT_EQ(testdrv::last().byte_offset.QuadPart, 1000);
    IO_STATUS_BLOCK iosb{};
    LARGE_INTEGER at{};
    at.LowPart = FILE_USE_FILE_POINTER_POSITION;
    at.HighPart = -1;
    EXPECT_EQ(NtReadFile(h, nullptr, nullptr, nullptr, &iosb, buf, sizeof buf, &at, nullptr), STATUS_SUCCESS);
    EXPECT_EQ(testdrv::last().byte_offset.QuadPart, 1000);
    at.QuadPart = 64;
    EXPECT_EQ(NtReadFile(h, nullptr, nullptr, nullptr, &iosb, buf, sizeof buf, &at, nullptr), STATUS_SUCCESS);
    EXPECT_EQ(testdrv::last().byte_offset.QuadPart, 64) << "an explicit offset";
    EXPECT_EQ(testdrv::last().file->CurrentByteOffset.QuadPart, 1000) << "and still no move";
    CloseHandle(h);
}

TEST_F(Dispatch, S_DSP_5_ASynchronousHandleSerializesItsRequests) {
    HANDLE h = open(testdrv::kBuffered, false);
    Script first = later(STATUS_SUCCESS, 1000);
    HANDLE t = spawn([&] {
        Sleep(10);  // after the first request reached the driver
        Script s = now(STATUS_SUCCESS);
        Out out;
        DWORD bytes;
        DeviceIoControl(h, IOCTL_BUFFERED, &s, sizeof s, out.bytes, 8, &bytes, nullptr);
    });
    Out out;
    DWORD bytes;
    EXPECT_TRUE(DeviceIoControl(h, IOCTL_BUFFERED, &first, sizeof first, out.bytes, 8, &bytes, nullptr));
    EXPECT_EQ(now_ms(), 1000);
    join(t);
    // The second request reached dispatch only after the first completed.
    auto obs = testdrv::observations(IRP_MJ_DEVICE_CONTROL);
    ASSERT_EQ(obs.size(), 2u);
    EXPECT_EQ((obs[1].at - obs[0].at) / 10000, 1000u) << "issued at +10 ms, dispatched when the first completed";
    CloseHandle(h);
}

// A synchronous handle, the driver completing inside dispatch: the completion leaves
// the file object's event and the IRP's file reference to the caller, who sets and
// drops them as its call ends (io::InlineCompletion). A dispatch routine that marks
// the request pending, completes it and returns STATUS_PENDING: the call does not
// wait, returns the final status, and the handle is signaled once it returns.
TEST_F(Dispatch, S_DSP_3_SynchronousHandleCompletedInsideDispatchButReturnedPending) {
    HANDLE h = open(testdrv::kBuffered, false);
    Script s = now(STATUS_BUFFER_OVERFLOW, 4, 4);
    s.mark_pending = TRUE;
    s.override_return = TRUE;
    s.dispatch_return = STATUS_PENDING;
    IO_STATUS_BLOCK iosb{};
    Out out;
    int64_t t0 = now_ms();
    EXPECT_EQ(NtDeviceIoControlFile(h, nullptr, nullptr, nullptr, &iosb, IOCTL_BUFFERED, &s, sizeof s, out.bytes, 8),
              STATUS_BUFFER_OVERFLOW);
    EXPECT_EQ(now_ms(), t0);
    EXPECT_EQ(iosb.Status, STATUS_BUFFER_OVERFLOW);
    EXPECT_EQ(iosb.Information, 4u);
    EXPECT_EQ(out.count(0xAB), 4);
    EXPECT_EQ(WaitForSingleObject(h, 0), WAIT_OBJECT_0);
    // Completed inside dispatch and returned as is: signaled too, and an error (no
    // IOSB, no event: S-DSP-6) leaves it reset.
    Script ok = now(STATUS_SUCCESS, 8, 8);
    DWORD bytes = 0;
    EXPECT_TRUE(DeviceIoControl(h, IOCTL_BUFFERED, &ok, sizeof ok, out.bytes, 8, &bytes, nullptr));
    EXPECT_EQ(bytes, 8u);
    EXPECT_EQ(WaitForSingleObject(h, 0), WAIT_OBJECT_0);
    Script bad = now(STATUS_INVALID_DEVICE_STATE);
    EXPECT_FALSE(DeviceIoControl(h, IOCTL_BUFFERED, &bad, sizeof bad, out.bytes, 8, &bytes, nullptr));
    EXPECT_EQ(WaitForSingleObject(h, 0), WAIT_TIMEOUT);
    EXPECT_EQ(new_driver_bugs(), 0u);
    CloseHandle(h);
    EXPECT_EQ(testdrv::state().closes.load(), 1) << "the last reference went with the handle";
}

// S-DSP-5 with every request completed inside dispatch: the end of each call sets the
// file object's event and releases the I/O lock behind one fence (io/file.cpp
// unlock_file). No wake-up is lost, neither of a thread waiting for the lock nor of
// one waiting on the handle: every call returns and the watcher sees the last one.
// Meanwhile another thread cancels whatever is in flight on the handle (S-CAN-9): it
// finds each request on its issuer's IRP list or its slot (io::flush_irp_slot_locked)
// and holds it while the issuer completes it inline.
TEST_F(Dispatch, S_DSP_5_InlineCompletionsOnOneSynchronousHandleFromSeveralThreads) {
    HANDLE h = open(testdrv::kBuffered, false);
    constexpr int kThreads = 4, kCalls = 2000;
    std::atomic<int> done{0}, bad{0};
    std::vector<HANDLE> threads;
    for (int i = 0; i < kThreads; ++i)
        threads.push_back(spawn([&] {
            Script s = now(STATUS_SUCCESS, 8, 8);
            for (int n = 0; n < kCalls; ++n) {
                Out out;
                DWORD bytes = 0;
                if (!DeviceIoControl(h, IOCTL_BUFFERED, &s, sizeof s, out.bytes, 8, &bytes, nullptr) || bytes != 8 ||
                    out.count(0xAB) != 8)
                    ++bad;
            }
            ++done;
        }));
    HANDLE watcher = spawn([&] {
        while (done.load() < kThreads) WaitForSingleObject(h, INFINITE);
    });
    HANDLE canceller = spawn([&] {
        while (done.load() < kThreads) CancelIoEx(h, nullptr);
    });
    for (HANDLE t : threads) join(t);
    join(watcher);
    join(canceller);
    EXPECT_EQ(bad.load(), 0);
    EXPECT_EQ(testdrv::observations(IRP_MJ_DEVICE_CONTROL).size(), size_t(kThreads) * kCalls);
    EXPECT_EQ(WaitForSingleObject(h, 0), WAIT_OBJECT_0);
    CloseHandle(h);
    EXPECT_EQ(testdrv::state().closes.load(), 1);
}

TEST_F(Dispatch, S_DSP_18_AnAccessFailureLeavesTheEventAloneAndSendsNoIrp) {
    HANDLE h = open(testdrv::kBuffered, true, GENERIC_READ);
    HANDLE ev = CreateEventA(nullptr, TRUE, TRUE, nullptr);
    OVERLAPPED ov{};
    ov.hEvent = ev;
    Out out;
    int before = testdrv::state().dispatched;
    EXPECT_FALSE(DeviceIoControl(h, testdrv::IOCTL_WRITE_ACCESS, nullptr, 0, out.bytes, 8, nullptr, &ov));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_ACCESS_DENIED));
    EXPECT_EQ(WaitForSingleObject(ev, 0), WAIT_OBJECT_0) << "still signaled: the check comes before the reset";
    EXPECT_EQ(testdrv::state().dispatched, before);
    CloseHandle(ev);
    CloseHandle(h);
}

}  // namespace
