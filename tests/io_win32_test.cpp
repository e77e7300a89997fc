// GetOverlappedResult(Ex) and HasOverlappedIoCompleted (S-W32-5..8), and the table
// of bad inputs in docs/bad-input.md, one test per row.
#include <algorithm>
#include <vector>
#include <thread>

#include "io_test_support.hpp"

namespace {

using namespace ntio::testing;
using testdrv::Script;
class OverlappedResult : public IoTest {};
class BadInput : public IoTest {};

TEST_F(OverlappedResult, S_W32_5_ACompletedRequestIsReadWithoutWaiting) {
    OVERLAPPED ov{};
    DWORD n = 0;
    ov.Internal = static_cast<ULONG_PTR>(static_cast<ULONG>(STATUS_SUCCESS));
    ov.InternalHigh = 12;
    EXPECT_TRUE(GetOverlappedResult(nullptr, &ov, &n, TRUE));
    EXPECT_EQ(n, 12u);
    ov.Internal = static_cast<ULONG>(STATUS_INVALID_HANDLE);
    ov.InternalHigh = 3;
    EXPECT_FALSE(GetOverlappedResult(nullptr, &ov, &n, TRUE));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    EXPECT_EQ(n, 3u) << "written even on failure";
    ov.Internal = static_cast<ULONG>(STATUS_BUFFER_OVERFLOW);
    ov.InternalHigh = 7;
    EXPECT_FALSE(GetOverlappedResult(nullptr, &ov, &n, FALSE));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_MORE_DATA));
    EXPECT_EQ(n, 7u);
}

TEST_F(OverlappedResult, S_W32_6_PendingRequests) {
    HANDLE h = open(testdrv::kBuffered, true);
    OVERLAPPED ov{};
    ov.hEvent = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    Script s = later(STATUS_SUCCESS, 1000, 4);
    EXPECT_FALSE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, &s, sizeof s, nullptr, 0, nullptr, &ov));
    DWORD n;
    EXPECT_FALSE(GetOverlappedResult(h, &ov, &n, FALSE));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_IO_INCOMPLETE));
    EXPECT_FALSE(GetOverlappedResultEx(h, &ov, &n, 0, FALSE));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_IO_INCOMPLETE));
    EXPECT_FALSE(GetOverlappedResultEx(h, &ov, &n, 400, FALSE));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(WAIT_TIMEOUT));
    EXPECT_EQ(now_ms(), 400);
    EXPECT_TRUE(GetOverlappedResultEx(h, &ov, &n, 5000, FALSE));
    EXPECT_EQ(now_ms(), 1000);
    EXPECT_EQ(n, 4u);
    CloseHandle(ov.hEvent);
    CloseHandle(h);
}

TEST_F(OverlappedResult, S_W32_8_HasOverlappedIoCompletedReadsInternal) {
    OVERLAPPED ov{};
    ov.Internal = static_cast<ULONG_PTR>(STATUS_PENDING);
    EXPECT_FALSE(HasOverlappedIoCompleted(&ov));
    ov.Internal = 0;
    EXPECT_TRUE(HasOverlappedIoCompleted(&ov));
    ov.Internal = static_cast<ULONG>(STATUS_CANCELLED);
    EXPECT_TRUE(HasOverlappedIoCompleted(&ov));
}

// S-W32-8 and S-W32-5 while the request completes on another thread: the caller polls
// HasOverlappedIoCompleted without waiting, as the macro is meant to be used, then takes
// the result without waiting. Whoever sees the request done sees its byte count too. Under
// ThreadSanitizer this also checks that the completion's status-block stores and these
// reads synchronize (io::write_status_block) rather than race.
TEST_F(OverlappedResult, S_W32_8_PollingWhileAnotherThreadCompletesTheRequest) {
    HANDLE h = open(testdrv::kBuffered, true);
    char out[64];
    for (ULONG i = 1; i <= 40; ++i) {
        OVERLAPPED ov{};
        Script s = held();
        ASSERT_FALSE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, &s, sizeof s, out, sizeof out, nullptr, &ov));
        ASSERT_EQ(GetLastError(), static_cast<DWORD>(ERROR_IO_PENDING));
        std::thread completer([i] { testdrv::complete_held(STATUS_SUCCESS, i, i); });
        while (!HasOverlappedIoCompleted(&ov)) std::this_thread::yield();
        EXPECT_EQ(ov.InternalHigh, i) << "the count is written before the status";
        DWORD n = 0;
        EXPECT_TRUE(GetOverlappedResult(h, &ov, &n, FALSE));
        EXPECT_EQ(n, i);
        completer.join();
    }
    CloseHandle(h);
}

// ---- docs/bad-input.md ----------------------------------------------------------------

TEST_F(BadInput, InvalidOrClosedHandle) {
    HANDLE h = open(testdrv::kBuffered, false);
    CloseHandle(h);
    DWORD n;
    char buf[4];
    OVERLAPPED ov{};
    for (HANDLE bad : {h, static_cast<HANDLE>(nullptr), INVALID_HANDLE_VALUE, reinterpret_cast<HANDLE>(0x1000)}) {
        EXPECT_FALSE(DeviceIoControl(bad, testdrv::IOCTL_BUFFERED, nullptr, 0, nullptr, 0, &n, nullptr));
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
        EXPECT_FALSE(DeviceIoControl(bad, testdrv::IOCTL_BUFFERED, nullptr, 0, nullptr, 0, nullptr, &ov));
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
        EXPECT_FALSE(ReadFile(bad, buf, sizeof buf, &n, nullptr));
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
        EXPECT_FALSE(WriteFile(bad, buf, sizeof buf, &n, nullptr));
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    }
    // A handle to something that is not a file.
    HANDLE ev = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    EXPECT_FALSE(DeviceIoControl(ev, testdrv::IOCTL_BUFFERED, nullptr, 0, nullptr, 0, &n, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    CloseHandle(ev);
    EXPECT_EQ(testdrv::state().dispatched, 3) << "create, cleanup and close only";
}

TEST_F(BadInput, UnknownDevice) {
    EXPECT_EQ(CreateFileA("\\\\.\\NoSuchDevice", GENERIC_READ, 0, nullptr, OPEN_EXISTING, 0, nullptr),
              INVALID_HANDLE_VALUE);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_FILE_NOT_FOUND));
    EXPECT_EQ(CreateFileA("C:\\file.txt", GENERIC_READ, 0, nullptr, OPEN_EXISTING, 0, nullptr), INVALID_HANDLE_VALUE);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_PATH_NOT_FOUND)) << "ntio has devices, not files";
    EXPECT_EQ(CreateFileA("\\\\.\\TestBuffered", GENERIC_READ, 0, nullptr, 99, 0, nullptr), INVALID_HANDLE_VALUE);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
}

// S-W32F-1: CreateFile2 opens as CreateFileW would with the block's flags: none without
// a block (a synchronous handle, whose reads use the file position), FILE_FLAG_OVERLAPPED
// from dwFileFlags (an asynchronous one, where a read needs an offset: S-DSP-17); its
// errors are CreateFileW's.
TEST_F(BadInput, S_W32F_1_CreateFile2TakesItsFlagsFromTheBlock) {
    char buf[4];
    IO_STATUS_BLOCK iosb{};
    HANDLE sync = CreateFile2(L"\\\\.\\TestBuffered", GENERIC_READ, 0, OPEN_EXISTING, nullptr);
    ASSERT_NE(sync, INVALID_HANDLE_VALUE);
    testdrv::state().next_read_write = now(STATUS_SUCCESS, 4);
    EXPECT_EQ(NtReadFile(sync, nullptr, nullptr, nullptr, &iosb, buf, sizeof buf, nullptr, nullptr), STATUS_SUCCESS);
    CloseHandle(sync);
    CREATEFILE2_EXTENDED_PARAMETERS p{};
    p.dwSize = sizeof p;
    p.dwFileAttributes = FILE_ATTRIBUTE_NORMAL;
    p.dwFileFlags = FILE_FLAG_OVERLAPPED;
    HANDLE async = CreateFile2(L"\\\\.\\TestBuffered", GENERIC_READ, 0, OPEN_EXISTING, &p);
    ASSERT_NE(async, INVALID_HANDLE_VALUE);
    int before = testdrv::state().dispatched;
    EXPECT_EQ(NtReadFile(async, nullptr, nullptr, nullptr, &iosb, buf, sizeof buf, nullptr, nullptr),
              STATUS_INVALID_PARAMETER);
    EXPECT_EQ(testdrv::state().dispatched, before);
    CloseHandle(async);
    EXPECT_EQ(CreateFile2(L"\\\\.\\NoSuchDevice", GENERIC_READ, 0, OPEN_EXISTING, &p), INVALID_HANDLE_VALUE);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_FILE_NOT_FOUND));
    EXPECT_EQ(CreateFile2(L"\\\\.\\TestBuffered", GENERIC_READ, 0, 99, nullptr), INVALID_HANDLE_VALUE);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
}

TEST_F(BadInput, NullOverlappedOnAnOverlappedHandleWaitsOnTheHandle) {
    HANDLE h = open(testdrv::kBuffered, true);
    Script s = later(STATUS_SUCCESS, 250, 1);
    DWORD n = 0;
    EXPECT_TRUE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, &s, sizeof s, nullptr, 0, &n, nullptr));
    EXPECT_EQ(n, 1u);
    EXPECT_EQ(now_ms(), 250);
    CloseHandle(h);
}

TEST_F(BadInput, NullBytesReturnedWithoutAnOverlapped) {
    HANDLE h = open(testdrv::kBuffered, false);
    Script s = now(STATUS_SUCCESS);
    int before = testdrv::state().dispatched;
    EXPECT_FALSE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, &s, sizeof s, nullptr, 0, nullptr, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    char buf[4];
    EXPECT_FALSE(ReadFile(h, buf, sizeof buf, nullptr, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    EXPECT_EQ(testdrv::state().dispatched, before) << "no IRP";
    CloseHandle(h);
}

TEST_F(BadInput, NullBufferWithANonZeroLength) {
    HANDLE h = open(testdrv::kBuffered, true);
    OVERLAPPED ov{};
    ov.hEvent = CreateEventA(nullptr, TRUE, TRUE, nullptr);
    EXPECT_FALSE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, nullptr, 8, nullptr, 0, nullptr, &ov));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOACCESS));
    EXPECT_EQ(WaitForSingleObject(ov.hEvent, 0), WAIT_OBJECT_0) << "refused before the event is touched";
    EXPECT_FALSE(WriteFile(h, nullptr, 8, nullptr, &ov));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOACCESS));
    CloseHandle(ov.hEvent);
    CloseHandle(h);
}

// S-BUF-10: the same for the small integers a bad cast makes (the first 64 KiB, which
// neither Windows nor Linux maps): refused before an IRP, where copying would fault.
TEST_F(BadInput, NeverMappedBufferWithANonZeroLength) {
    HANDLE h = open(testdrv::kBuffered, false);
    int before = testdrv::state().dispatched;
    auto* low = reinterpret_cast<void*>(static_cast<uintptr_t>(0x10));
    auto* edge = reinterpret_cast<void*>(static_cast<uintptr_t>(0xFFFF));
    char out[8];
    DWORD n = 0;
    EXPECT_FALSE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, low, 8, out, sizeof out, &n, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOACCESS));
    EXPECT_FALSE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, out, sizeof out, edge, 8, &n, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOACCESS));
    EXPECT_FALSE(ReadFile(h, low, 8, &n, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOACCESS));
    EXPECT_FALSE(WriteFile(h, edge, 8, &n, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOACCESS));
    EXPECT_EQ(testdrv::state().dispatched, before) << "no IRP";
    // A zero length needs no buffer at all, whatever the pointer.
    EXPECT_TRUE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, low, 0, nullptr, 0, &n, nullptr));
    CloseHandle(h);
}

TEST_F(BadInput, IoctlNeedingMoreAccessThanTheHandleHas) {
    HANDLE h = open(testdrv::kBuffered, false, GENERIC_WRITE);
    DWORD n;
    EXPECT_FALSE(DeviceIoControl(h, testdrv::IOCTL_READ_ACCESS, nullptr, 0, nullptr, 0, &n, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_ACCESS_DENIED));
    CloseHandle(h);
}

TEST_F(BadInput, UnknownIoctl) {
    HANDLE h = open(testdrv::kBuffered, false);
    DWORD n;
    EXPECT_FALSE(DeviceIoControl(h, testdrv::IOCTL_UNKNOWN, nullptr, 0, nullptr, 0, &n, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_FUNCTION));
    CloseHandle(h);
}

TEST_F(BadInput, DriverFailsIrpMjCreate) {
    testdrv::state().fail_create = STATUS_DEVICE_BUSY;  // a warning is still a failure to open
    EXPECT_EQ(open(testdrv::kBuffered, false), INVALID_HANDLE_VALUE);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_BUSY));
    testdrv::state().fail_create = STATUS_INSUFFICIENT_RESOURCES;
    EXPECT_EQ(open(testdrv::kBuffered, true), INVALID_HANDLE_VALUE);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NO_SYSTEM_RESOURCES));
    EXPECT_EQ(testdrv::state().cleanups, 0);
    EXPECT_EQ(testdrv::state().closes, 0);
    EXPECT_EQ(sys.open_handles(), 0u);
}

TEST_F(BadInput, S_PNP_4_IoAfterTheDeviceWasDeleted) {
    HANDLE h = open(testdrv::kDirect, true);
    testdrv::delete_device(testdrv::kDirect);
    DWORD n;
    OVERLAPPED ov{};
    EXPECT_FALSE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, nullptr, 0, nullptr, 0, &n, &ov));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_DEVICE_REMOVED));
    EXPECT_EQ(open(testdrv::kDirect, true), INVALID_HANDLE_VALUE);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_FILE_NOT_FOUND));
    EXPECT_TRUE(CloseHandle(h)) << "cleanup and close still reach the driver, which is loaded";
    EXPECT_EQ(testdrv::state().closes, 2);
}

}  // namespace

// ---- QueryDosDevice (S-DOS-1, S-DOS-2) --------------------------------------------------

class DosDevices : public IoTest {};

// S-DOS-1: a name's target is its \?? link's, as a MULTI_SZ whose count includes both
// final NULs; a buffer one short is ERROR_INSUFFICIENT_BUFFER; an unknown name
// ERROR_FILE_NOT_FOUND; the A form converts.
TEST_F(DosDevices, S_DOS_1_ANameGivesItsLinkTarget) {
    wchar_t buf[64];
    std::wstring expected = std::wstring(L"\\Device\\") + testdrv::kBuffered;
    DWORD n = QueryDosDeviceW(testdrv::kBuffered, buf, 64);
    ASSERT_EQ(n, expected.size() + 2);
    EXPECT_EQ(std::wstring(buf, n), expected + std::wstring(2, L'\0'));
    SetLastError(0);
    EXPECT_EQ(QueryDosDeviceW(testdrv::kBuffered, buf, n - 1), 0u);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INSUFFICIENT_BUFFER));
    EXPECT_EQ(QueryDosDeviceW(L"NoSuchDosName", buf, 64), 0u);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_FILE_NOT_FOUND));
    char a[64];
    n = QueryDosDeviceA("testbuffered", a, sizeof a);  // names are case-insensitive
    ASSERT_EQ(n, expected.size() + 2);
    EXPECT_EQ(std::string(a, n), "\\Device\\TestBuffered" + std::string(2, '\0'));
}

// S-DOS-2: with no name, every name in \?? as its driver spelled it, each with its NUL and
// the list's after the last; a link deleted is gone from the list.
TEST_F(DosDevices, S_DOS_2_NoNameListsEveryDosName) {
    std::wstring list(4096, L'#');
    DWORD n = QueryDosDeviceW(nullptr, list.data(), static_cast<DWORD>(list.size()));
    ASSERT_GT(n, 2u);
    list.resize(n);
    EXPECT_EQ(list.substr(n - 2), std::wstring(2, L'\0'));
    std::vector<std::wstring> names;
    for (size_t at = 0; at < n && list[at];) {
        names.emplace_back(list.c_str() + at);
        at += names.back().size() + 1;
    }
    EXPECT_NE(std::find(names.begin(), names.end(), std::wstring(testdrv::kBuffered)), names.end());
    EXPECT_NE(std::find(names.begin(), names.end(), std::wstring(testdrv::kDirect)), names.end());
    EXPECT_EQ(QueryDosDeviceW(nullptr, list.data(), 1), 0u);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INSUFFICIENT_BUFFER));
    UNICODE_STRING link;
    std::wstring dos = std::wstring(L"\\DosDevices\\") + testdrv::kDirect;
    RtlInitUnicodeString(&link, dos.c_str());
    ASSERT_EQ(IoDeleteSymbolicLink(&link), STATUS_SUCCESS);
    wchar_t buf[64];
    EXPECT_EQ(QueryDosDeviceW(testdrv::kDirect, buf, 64), 0u);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_FILE_NOT_FOUND));
}
