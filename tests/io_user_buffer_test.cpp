// The I/O manager's own accesses to a caller's memory (S-BUF-11, S-CMP-14): buffers that
// are mapped but cannot be read or written, or are unmapped, fail the call with
// STATUS_ACCESS_VIOLATION (ERROR_NOACCESS), as Windows's probes and copies inside its
// __try make them, instead of ending the process. The NULL and first-64-KiB cases are
// S-BUF-10 (io_buffers_test.cpp, io_win32_test.cpp).
#include <sys/mman.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "io_test_support.hpp"

namespace {

using namespace ntio::testing;
using testdrv::Script;

constexpr size_t kPage = 4096;

// Pages of our own whose protection a test changes: page i at at(i).
class Pages {
public:
    explicit Pages(size_t count) : count_(count) {
        base_ = static_cast<char*>(mmap(nullptr, count * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                                        -1, 0));
        if (base_ == MAP_FAILED) base_ = nullptr;
    }
    ~Pages() {
        if (base_) munmap(base_, count_ * kPage);
    }
    char* at(size_t page, size_t offset = 0) const { return base_ + page * kPage + offset; }
    void protect(size_t page, int prot) const { ASSERT_EQ(mprotect(at(page), kPage, prot), 0); }
    void unmap(size_t page) const { ASSERT_EQ(munmap(at(page), kPage), 0); }

private:
    char* base_;
    size_t count_;
};

class UserBuffers : public IoTest {};

// S-BUF-11: the input of a buffered (or direct) request is copied into the system buffer
// as Windows copies it, inside the I/O manager's __try: an unreadable page fails the call
// before any IRP reaches the driver, whatever the length (the short inline copy and the
// long one), and also when only the input's tail is unreadable.
TEST_F(UserBuffers, S_BUF_11_AnUnreadableInputFailsWithoutAnIrp) {
    HANDLE h = open(testdrv::kBuffered, false);
    Pages pages(3);
    pages.protect(1, PROT_NONE);
    pages.unmap(2);
    char out[16];
    DWORD n = 0;
    int before = testdrv::state().dispatched;
    for (ULONG code : {testdrv::IOCTL_BUFFERED, testdrv::IOCTL_IN_DIRECT, testdrv::IOCTL_OUT_DIRECT}) {
        for (DWORD length : {1u, 16u, 64u, 65u, 300u}) {
            EXPECT_FALSE(DeviceIoControl(h, code, pages.at(1), length, out, sizeof out, &n, nullptr))
                << "code " << code << ", " << length << " bytes from an unreadable page";
            EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOACCESS));
            EXPECT_FALSE(DeviceIoControl(h, code, pages.at(2), length, out, sizeof out, &n, nullptr))
                << "an unmapped page";
            EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOACCESS));
        }
        // Readable at first, unreadable from the next page on.
        EXPECT_FALSE(DeviceIoControl(h, code, pages.at(0, kPage - 8), 40, out, sizeof out, &n, nullptr));
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOACCESS));
    }
    EXPECT_EQ(testdrv::state().dispatched, before) << "no IRP reached the driver";
    // A readable input from the same pages goes through.
    Script s = now(STATUS_SUCCESS);
    std::memcpy(pages.at(0), &s, sizeof s);
    EXPECT_TRUE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, pages.at(0), sizeof s, out, sizeof out, &n, nullptr));
    CloseHandle(h);
}

// S-BUF-11 and the order of S-DSP-18: a METHOD_BUFFERED output buffer is probed for write
// before the handle is looked at, so a read-only one fails even with a bad handle and
// leaves the caller's event as it was. The probe writes each page's first byte back to
// itself: the caller's data is unchanged.
TEST_F(UserBuffers, S_BUF_11_AReadOnlyBufferedOutputFailsBeforeTheHandle) {
    HANDLE h = open(testdrv::kBuffered, true);
    Pages pages(3);
    std::memset(pages.at(0), 0x5A, 3 * kPage);
    pages.protect(1, PROT_READ);
    Script s = now(STATUS_SUCCESS, 8, 8);
    HANDLE event = CreateEventA(nullptr, TRUE, TRUE, nullptr);
    OVERLAPPED ov{};
    ov.hEvent = event;
    int before = testdrv::state().dispatched;
    for (DWORD length : {1u, 64u, 300u}) {
        EXPECT_FALSE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, &s, sizeof s, pages.at(1), length, nullptr, &ov));
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOACCESS)) << length << " bytes";
    }
    // Writable on its first page, read-only on the second.
    EXPECT_FALSE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, &s, sizeof s, pages.at(0, kPage - 4), 8, nullptr, &ov));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOACCESS));
    EXPECT_EQ(testdrv::state().dispatched, before) << "no IRP";
    EXPECT_EQ(WaitForSingleObject(event, 0), WAIT_OBJECT_0) << "the event was not reset: the probe comes first";
    EXPECT_EQ(static_cast<unsigned char>(pages.at(0, kPage - 4)[0]), 0x5A) << "the probe wrote the byte back";
    // Before the handle: a read-only output with a bogus handle is an access violation.
    DWORD n;
    EXPECT_FALSE(DeviceIoControl(reinterpret_cast<HANDLE>(0x1230), testdrv::IOCTL_BUFFERED, &s, sizeof s,
                                 pages.at(1), 8, &n, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOACCESS));
    // A read-only *input* is fine: it is only read.
    std::memcpy(pages.at(2), &s, sizeof s);
    pages.protect(2, PROT_READ);
    char out[8];
    ov = OVERLAPPED{};
    ov.hEvent = event;
    EXPECT_TRUE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, pages.at(2), sizeof s, out, sizeof out, nullptr, &ov));
    EXPECT_TRUE(GetOverlappedResult(h, &ov, &n, FALSE));
    EXPECT_EQ(n, 8u);
    CloseHandle(event);
    CloseHandle(h);
}

// S-BUF-5, S-BUF-11: a direct method's output is probed for the access its MDL is locked
// for, after the event reset and before the IRP is sent: METHOD_OUT_DIRECT (the driver
// writes it) needs a writable buffer, METHOD_IN_DIRECT (the driver reads it) a readable one.
TEST_F(UserBuffers, S_BUF_11_DirectOutputIsProbedForItsMethodsAccess) {
    HANDLE h = open(testdrv::kBuffered, false);
    Pages pages(2);
    pages.protect(0, PROT_READ);
    pages.protect(1, PROT_NONE);
    Script s = now(STATUS_SUCCESS);
    DWORD n;
    int before = testdrv::state().dispatched;
    EXPECT_FALSE(DeviceIoControl(h, testdrv::IOCTL_OUT_DIRECT, &s, sizeof s, pages.at(0), 100, &n, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOACCESS)) << "OUT_DIRECT into a read-only buffer";
    EXPECT_FALSE(DeviceIoControl(h, testdrv::IOCTL_IN_DIRECT, &s, sizeof s, pages.at(1), 100, &n, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOACCESS)) << "IN_DIRECT from an unreadable buffer";
    EXPECT_FALSE(DeviceIoControl(h, testdrv::IOCTL_IN_DIRECT, &s, sizeof s, pages.at(0, kPage - 10), 100, &n, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOACCESS)) << "readable, then not, across a page";
    EXPECT_EQ(testdrv::state().dispatched, before) << "no IRP";
    EXPECT_TRUE(DeviceIoControl(h, testdrv::IOCTL_IN_DIRECT, &s, sizeof s, pages.at(0), 100, &n, nullptr))
        << "IN_DIRECT from a read-only buffer";
    EXPECT_EQ(testdrv::last().mdl_va, pages.at(0));
    CloseHandle(h);
}

// S-BUF-11: NtReadFile probes the caller's buffer for write before the handle, whatever
// the device's buffering; a write's data is read where the device needs it (copied for
// buffered I/O, probed for an MDL for direct I/O).
TEST_F(UserBuffers, S_BUF_11_ReadAndWriteBuffersAreProbed) {
    Pages pages(2);
    pages.protect(0, PROT_READ);
    pages.protect(1, PROT_NONE);
    testdrv::state().next_read_write = now(STATUS_SUCCESS, 16);
    for (const wchar_t* device : {testdrv::kBuffered, testdrv::kDirect, testdrv::kNeither}) {
        HANDLE h = open(device, false);
        DWORD n = 1;
        EXPECT_FALSE(ReadFile(h, pages.at(0), 16, &n, nullptr)) << "a read into a read-only buffer";
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOACCESS));
        EXPECT_EQ(n, 0u);
        if (device != testdrv::kNeither) {
            EXPECT_FALSE(WriteFile(h, pages.at(1), 16, &n, nullptr)) << "a write from an unreadable buffer";
            EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOACCESS));
            EXPECT_FALSE(WriteFile(h, pages.at(1), 200, &n, nullptr));
            EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOACCESS));
        }
        CloseHandle(h);
    }
    EXPECT_TRUE(testdrv::observations(IRP_MJ_READ).empty()) << "no read IRP";
    EXPECT_TRUE(testdrv::observations(IRP_MJ_WRITE).empty()) << "no write IRP";
    // Before the handle, as for an IOCTL's output.
    DWORD n;
    EXPECT_FALSE(ReadFile(reinterpret_cast<HANDLE>(0x1230), pages.at(0), 16, &n, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOACCESS));
}

// S-CMP-14: the copy back of a buffered request's output is made inside the I/O
// manager's __try too. When the caller's buffer can no longer be written (here the
// driver makes it read-only before completing, as another thread of the caller might),
// the status block gets STATUS_ACCESS_VIOLATION in place of the driver's status. What
// the service returns stays the dispatch routine's (S-DSP-2), so an overlapped caller
// sees TRUE, then the failure in GetOverlappedResult.
TEST_F(UserBuffers, S_CMP_14_AFaultInTheCopyBackFailsTheRequest) {
    Pages pages(2);
    Script s = now(STATUS_SUCCESS, 8, 8);
    s.protect_user_buffer = TRUE;
    // Overlapped handle, completed inside dispatch (the issuer's own-request completion).
    HANDLE h = open(testdrv::kBuffered, true);
    OVERLAPPED ov{};
    ov.hEvent = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    DWORD n = 0;
    EXPECT_TRUE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, &s, sizeof s, pages.at(0), 8, nullptr, &ov));
    EXPECT_EQ(static_cast<NTSTATUS>(ov.Internal), STATUS_ACCESS_VIOLATION);
    EXPECT_EQ(WaitForSingleObject(ov.hEvent, 0), WAIT_OBJECT_0) << "the caller is still told";
    EXPECT_FALSE(GetOverlappedResult(h, &ov, &n, FALSE));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOACCESS));
    EXPECT_EQ(pages.at(0)[0], 0) << "nothing was copied";
    CloseHandle(h);
    // Synchronous handle, completed inside dispatch (the inline completion): the service
    // returns the dispatch routine's STATUS_SUCCESS; the status block has the fault.
    pages.protect(0, PROT_READ | PROT_WRITE);
    h = open(testdrv::kBuffered, false);
    IO_STATUS_BLOCK iosb{};
    EXPECT_EQ(NtDeviceIoControlFile(h, nullptr, nullptr, nullptr, &iosb, testdrv::IOCTL_BUFFERED, &s, sizeof s,
                                    pages.at(0), 8),
              STATUS_SUCCESS);
    EXPECT_EQ(iosb.Status, STATUS_ACCESS_VIOLATION);
    EXPECT_EQ(pages.at(0)[0], 0);
    CloseHandle(h);
    ::CloseHandle(ov.hEvent);
}

// S-CMP-14 when the request pended: the completion on another thread finds the buffer
// read-only. A synchronous caller's wait ends with the fault's status (the file object's
// FinalStatus); an overlapped caller's status block and event carry it.
TEST_F(UserBuffers, S_CMP_14_APendedRequestWhoseBufferBecameReadOnly) {
    Pages pages(2);
    Script s = held();
    auto complete_after_protecting = [&pages](size_t page) {
        return std::thread([&pages, page] {
            while (testdrv::held_count() == 0) std::this_thread::yield();
            pages.protect(page, PROT_READ);
            testdrv::complete_held(STATUS_SUCCESS, 8, 8);
        });
    };
    HANDLE sync = open(testdrv::kBuffered, false);
    std::thread completer = complete_after_protecting(0);
    DWORD n = 0;
    EXPECT_FALSE(DeviceIoControl(sync, testdrv::IOCTL_BUFFERED, &s, sizeof s, pages.at(0), 8, &n, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOACCESS));
    completer.join();
    CloseHandle(sync);

    HANDLE h = open(testdrv::kBuffered, true);
    OVERLAPPED ov{};
    ov.hEvent = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    EXPECT_FALSE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, &s, sizeof s, pages.at(1), 8, nullptr, &ov));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_IO_PENDING));
    completer = complete_after_protecting(1);
    EXPECT_FALSE(GetOverlappedResult(h, &ov, &n, TRUE));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOACCESS));
    EXPECT_EQ(static_cast<NTSTATUS>(ov.Internal), STATUS_ACCESS_VIOLATION);
    completer.join();
    CloseHandle(h);
    CloseHandle(ov.hEvent);
}

// S-BUF-11 for the information services: a query's buffer is probed for write before the
// handle; a set's buffer is read where the I/O manager copies it (or reads it itself, for
// a class it answers), each failing with STATUS_ACCESS_VIOLATION and no IRP.
TEST_F(UserBuffers, S_BUF_11_InformationBuffersAreProbed) {
    Pages pages(2);
    pages.protect(0, PROT_READ);
    pages.protect(1, PROT_NONE);
    HANDLE sync = open(testdrv::kBuffered, false), async = open(testdrv::kBuffered, true);
    IO_STATUS_BLOCK iosb{};
    int before = testdrv::state().dispatched;
    EXPECT_EQ(NtQueryInformationFile(reinterpret_cast<HANDLE>(0x1230), &iosb, pages.at(0),
                                     sizeof(FILE_STANDARD_INFORMATION), FileStandardInformation),
              STATUS_ACCESS_VIOLATION)
        << "before the handle";
    EXPECT_EQ(NtQueryInformationFile(sync, &iosb, pages.at(0), sizeof(FILE_STANDARD_INFORMATION),
                                     FileStandardInformation),
              STATUS_ACCESS_VIOLATION);
    EXPECT_EQ(NtQueryInformationFile(sync, &iosb, pages.at(0), sizeof(FILE_POSITION_INFORMATION),
                                     FilePositionInformation),
              STATUS_ACCESS_VIOLATION)
        << "a class the I/O manager answers";
    EXPECT_EQ(NtSetInformationFile(sync, &iosb, pages.at(1), sizeof(FILE_POSITION_INFORMATION),
                                   FilePositionInformation),
              STATUS_ACCESS_VIOLATION)
        << "a class the I/O manager answers";
    EXPECT_EQ(NtSetInformationFile(async, &iosb, pages.at(1), sizeof(FILE_END_OF_FILE_INFORMATION),
                                   FileEndOfFileInformation),
              STATUS_ACCESS_VIOLATION)
        << "a class that goes to the driver";
    EXPECT_EQ(testdrv::state().dispatched, before) << "no IRP";
    CloseHandle(sync);
    CloseHandle(async);
}

// S-BUF-11: the Nt services probe the caller's status block (and NtCreateFile where the
// handle goes) for write before anything else: one that cannot be written fails the
// call with STATUS_ACCESS_VIOLATION before the handle is looked at, and no IRP is sent.
TEST_F(UserBuffers, S_BUF_11_StatusBlocksAreProbedFirst) {
    Pages pages(1);
    pages.protect(0, PROT_READ);
    auto* iosb = reinterpret_cast<PIO_STATUS_BLOCK>(pages.at(0));
    HANDLE h = open(testdrv::kBuffered, false);
    HANDLE bogus = reinterpret_cast<HANDLE>(0x1230);
    Script s = now(STATUS_SUCCESS);
    char data[16] = {};
    LARGE_INTEGER offset{};
    FILE_STANDARD_INFORMATION standard;
    size_t before = testdrv::state().log.size();
    for (HANDLE target : {h, bogus}) {
        EXPECT_EQ(NtDeviceIoControlFile(target, nullptr, nullptr, nullptr, iosb, testdrv::IOCTL_BUFFERED, &s, sizeof s,
                                        nullptr, 0),
                  STATUS_ACCESS_VIOLATION);
        EXPECT_EQ(NtFsControlFile(target, nullptr, nullptr, nullptr, iosb, testdrv::FSCTL_TEST, &s, sizeof s, nullptr,
                                  0),
                  STATUS_ACCESS_VIOLATION);
        EXPECT_EQ(NtReadFile(target, nullptr, nullptr, nullptr, iosb, data, sizeof data, &offset, nullptr),
                  STATUS_ACCESS_VIOLATION);
        EXPECT_EQ(NtWriteFile(target, nullptr, nullptr, nullptr, iosb, data, sizeof data, &offset, nullptr),
                  STATUS_ACCESS_VIOLATION);
        EXPECT_EQ(NtQueryInformationFile(target, iosb, &standard, sizeof standard, FileStandardInformation),
                  STATUS_ACCESS_VIOLATION);
        EXPECT_EQ(NtFlushBuffersFile(target, iosb), STATUS_ACCESS_VIOLATION);
    }
    EXPECT_EQ(testdrv::state().log.size(), before) << "no IRP";
    // NtCreateFile: the status block, and where the handle goes.
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, L"\\Device\\TestBuffered");
    OBJECT_ATTRIBUTES attributes;
    InitializeObjectAttributes(&attributes, &name, OBJ_CASE_INSENSITIVE, nullptr, nullptr);
    HANDLE opened = nullptr;
    IO_STATUS_BLOCK good{};
    int creates = testdrv::state().creates;
    EXPECT_EQ(NtCreateFile(&opened, GENERIC_READ, &attributes, iosb, nullptr, 0, 0, FILE_OPEN, 0, nullptr, 0),
              STATUS_ACCESS_VIOLATION);
    EXPECT_EQ(NtCreateFile(reinterpret_cast<PHANDLE>(pages.at(0, 8)), GENERIC_READ, &attributes, &good, nullptr, 0,
                           0, FILE_OPEN, 0, nullptr, 0),
              STATUS_ACCESS_VIOLATION);
    EXPECT_EQ(testdrv::state().creates, creates) << "no IRP_MJ_CREATE, no handle";
    ASSERT_EQ(NtCreateFile(&opened, GENERIC_READ, &attributes, &good, nullptr, 0, 0, FILE_OPEN, 0, nullptr, 0),
              STATUS_SUCCESS);
    CloseHandle(opened);
    CloseHandle(h);
}

// Faults on several threads at once: each thread's failure carries its own status, every
// call fails cleanly, and the good requests between them all succeed.
TEST_F(UserBuffers, S_BUF_11_FaultsOnManyThreadsAtOnce) {
    Pages pages(1);
    pages.protect(0, PROT_NONE);
    HANDLE h = open(testdrv::kBuffered, true);
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            Script s = now(STATUS_SUCCESS, 4, 4);
            char out[8];
            for (int i = 0; i < 250; ++i) {
                OVERLAPPED ov{};
                DWORD n = 0;
                if (DeviceIoControl(h, testdrv::IOCTL_BUFFERED, pages.at(0), 32, out, sizeof out, nullptr, &ov) ||
                    GetLastError() != ERROR_NOACCESS)
                    ++wrong;
                if (!DeviceIoControl(h, testdrv::IOCTL_BUFFERED, &s, sizeof s, out, sizeof out, nullptr, &ov) ||
                    !GetOverlappedResult(h, &ov, &n, FALSE) || n != 4)
                    ++wrong;
            }
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(wrong.load(), 0);
    CloseHandle(h);
}

}  // namespace
