// Buffer methods (nt-io-semantics §4, S-BUF-*) and copy-back (S-CMP-10).
#include <cstring>

#include "io_test_support.hpp"

namespace {

using namespace ntio::testing;
using testdrv::Script;
class Buffers : public IoTest {};

struct Input {
    Script script;
    unsigned char extra[8];
};

TEST(BufferMacros, S_BUF_1_ControlCodeLayout) {
    ULONG code = CTL_CODE(FILE_DEVICE_UNKNOWN, 0x801, METHOD_OUT_DIRECT, FILE_READ_ACCESS | FILE_WRITE_ACCESS);
    EXPECT_EQ(code, (0x22u << 16) | (3u << 14) | (0x801u << 2) | 2u);
    EXPECT_EQ(DEVICE_TYPE_FROM_CTL_CODE(code), 0x22u);
    EXPECT_EQ(METHOD_FROM_CTL_CODE(code), static_cast<DWORD>(METHOD_OUT_DIRECT));
    EXPECT_EQ(IoGetFunctionCodeFromCtlCode(code), 0x801u);
    EXPECT_EQ((code >> 14) & 3, 3u);
}

TEST_F(Buffers, S_BUF_2_FileSystemCodesArriveAsFileSystemControl) {
    HANDLE h = open(testdrv::kBuffered, false);
    Script s = now(STATUS_SUCCESS);
    DWORD bytes;
    EXPECT_TRUE(DeviceIoControl(h, testdrv::FSCTL_TEST, &s, sizeof s, nullptr, 0, &bytes, nullptr));
    EXPECT_EQ(testdrv::last().major, IRP_MJ_FILE_SYSTEM_CONTROL);
    EXPECT_EQ(testdrv::last().minor, IRP_MN_USER_FS_REQUEST);
    EXPECT_TRUE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, &s, sizeof s, nullptr, 0, &bytes, nullptr));
    EXPECT_EQ(testdrv::last().major, IRP_MJ_DEVICE_CONTROL);
    CloseHandle(h);
}

TEST_F(Buffers, S_BUF_3_RequiredAccessIsCheckedAgainstTheHandle) {
    Script s = now(STATUS_SUCCESS);
    DWORD bytes;
    HANDLE attrs = open(testdrv::kBuffered, false, FILE_READ_ATTRIBUTES | FILE_WRITE_ATTRIBUTES);
    ASSERT_NE(attrs, INVALID_HANDLE_VALUE);
    EXPECT_TRUE(DeviceIoControl(attrs, testdrv::IOCTL_BUFFERED, &s, sizeof s, nullptr, 0, &bytes, nullptr))
        << "FILE_ANY_ACCESS needs nothing";
    EXPECT_FALSE(DeviceIoControl(attrs, testdrv::IOCTL_READ_ACCESS, &s, sizeof s, nullptr, 0, &bytes, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_ACCESS_DENIED));
    HANDLE reader = open(testdrv::kBuffered, false, GENERIC_READ);
    EXPECT_TRUE(DeviceIoControl(reader, testdrv::IOCTL_READ_ACCESS, &s, sizeof s, nullptr, 0, &bytes, nullptr));
    EXPECT_FALSE(DeviceIoControl(reader, testdrv::IOCTL_WRITE_ACCESS, &s, sizeof s, nullptr, 0, &bytes, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_ACCESS_DENIED));
    // The write-access check also governs WriteFile.
    testdrv::state().next_read_write = now(STATUS_SUCCESS);
    EXPECT_FALSE(WriteFile(reader, "x", 1, &bytes, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_ACCESS_DENIED));
    CloseHandle(attrs);
    CloseHandle(reader);
}

// The check is against the handle's access, not the file object's: a duplicate made with
// less access than the original is refused what the original may do, in the control,
// read and write services, the information services and flush.
TEST_F(Buffers, S_BUF_3_ADuplicateWithLessAccessIsCheckedAgainstItsOwnAccess) {
    Script s = now(STATUS_SUCCESS);
    DWORD bytes;
    char byte = 0;
    HANDLE full = open(testdrv::kBuffered, false, GENERIC_READ | GENERIC_WRITE);
    ASSERT_NE(full, INVALID_HANDLE_VALUE);
    HANDLE reads = nullptr, sync_only = nullptr, same = nullptr;
    ASSERT_TRUE(DuplicateHandle(GetCurrentProcess(), full, GetCurrentProcess(), &reads, FILE_READ_DATA, FALSE, 0));
    ASSERT_TRUE(DuplicateHandle(GetCurrentProcess(), full, GetCurrentProcess(), &sync_only, SYNCHRONIZE, FALSE, 0));
    ASSERT_TRUE(DuplicateHandle(GetCurrentProcess(), full, GetCurrentProcess(), &same, 0, FALSE, DUPLICATE_SAME_ACCESS));
    int sent = testdrv::state().dispatched;
    EXPECT_FALSE(DeviceIoControl(reads, testdrv::IOCTL_WRITE_ACCESS, &s, sizeof s, nullptr, 0, &bytes, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_ACCESS_DENIED));
    EXPECT_FALSE(WriteFile(reads, "x", 1, &bytes, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_ACCESS_DENIED));
    EXPECT_FALSE(ReadFile(sync_only, &byte, 1, &bytes, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_ACCESS_DENIED));
    EXPECT_FALSE(DeviceIoControl(sync_only, testdrv::IOCTL_READ_ACCESS, &s, sizeof s, nullptr, 0, &bytes, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_ACCESS_DENIED));
    IO_STATUS_BLOCK iosb{};
    EXPECT_EQ(NtFlushBuffersFile(reads, &iosb), STATUS_ACCESS_DENIED);
    EXPECT_EQ(testdrv::state().dispatched, sent) << "no refused request reached the driver";
    // FileAccessInformation tells each handle its own access.
    FILE_ACCESS_INFORMATION access{};
    ASSERT_EQ(NtQueryInformationFile(reads, &iosb, &access, sizeof access, FileAccessInformation), STATUS_SUCCESS);
    EXPECT_EQ(access.AccessFlags, static_cast<ACCESS_MASK>(FILE_READ_DATA));
    ASSERT_EQ(NtQueryInformationFile(full, &iosb, &access, sizeof access, FileAccessInformation), STATUS_SUCCESS);
    EXPECT_TRUE(access.AccessFlags & FILE_WRITE_DATA);
    // What each handle was granted still works.
    EXPECT_TRUE(DeviceIoControl(reads, testdrv::IOCTL_READ_ACCESS, &s, sizeof s, nullptr, 0, &bytes, nullptr));
    EXPECT_TRUE(DeviceIoControl(same, testdrv::IOCTL_WRITE_ACCESS, &s, sizeof s, nullptr, 0, &bytes, nullptr));
    EXPECT_TRUE(DeviceIoControl(full, testdrv::IOCTL_WRITE_ACCESS, &s, sizeof s, nullptr, 0, &bytes, nullptr));
    for (HANDLE h : {reads, sync_only, same, full}) CloseHandle(h);
}

// The system buffer comes from pool on Windows, 16-byte aligned on x64 (a driver may keep
// an SLIST_HEADER or SSE data in it), whether it fits in the IRP's own allocation or not.
TEST_F(Buffers, S_BUF_4_TheSystemBufferIsSixteenByteAligned) {
    for (bool overlapped : {false, true}) {
        HANDLE h = open(testdrv::kBuffered, overlapped);
        for (DWORD out_length : {0u, 8u, 40u, 64u, 65u, 200u}) {
            Script s = now(STATUS_SUCCESS);
            std::vector<unsigned char> out(out_length + 1);
            DWORD bytes;
            OVERLAPPED ov{};
            ASSERT_TRUE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, &s, sizeof s, out.data(), out_length, &bytes,
                                        overlapped ? &ov : nullptr));
            auto o = testdrv::last();
            ASSERT_NE(o.system_buffer, nullptr);
            EXPECT_EQ(reinterpret_cast<uintptr_t>(o.system_buffer) % MEMORY_ALLOCATION_ALIGNMENT, 0u)
                << "output " << out_length << (overlapped ? ", overlapped" : "");
        }
        CloseHandle(h);
    }
}

TEST_F(Buffers, S_BUF_4_MethodBufferedUsesOneSystemBuffer) {
    HANDLE h = open(testdrv::kBuffered, false);
    Input in{now(STATUS_SUCCESS, 4, 4), {1, 2, 3, 4, 5, 6, 7, 8}};
    unsigned char out[200];
    std::memset(out, 0x11, sizeof out);
    DWORD bytes;
    ASSERT_TRUE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, &in, sizeof in, out, sizeof out, &bytes, nullptr));
    auto o = testdrv::last();
    ASSERT_NE(o.system_buffer, nullptr);
    EXPECT_EQ(0, std::memcmp(o.system_buffer_head, &in, 16)) << "the input is copied in";
    EXPECT_EQ(o.system_buffer_zero_tail, sizeof out - sizeof in) << "the rest of max(in, out) is zeroed";
    EXPECT_EQ(o.user_buffer, out);
    EXPECT_EQ(o.mdl, nullptr);
    EXPECT_EQ(o.type3, nullptr);
    EXPECT_EQ(o.flags & (IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER | IRP_INPUT_OPERATION),
              static_cast<ULONG>(IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER | IRP_INPUT_OPERATION));
    EXPECT_EQ(bytes, 4u);
    EXPECT_EQ(out[3], 0xAB);
    EXPECT_EQ(out[4], 0x11) << "exactly Information bytes come back";
    // Both lengths zero: no system buffer.
    ASSERT_TRUE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, nullptr, 0, nullptr, 0, &bytes, nullptr));
    EXPECT_EQ(testdrv::last().system_buffer, nullptr);
    CloseHandle(h);
}

// The page arithmetic drivers use on MDLs, and MmSizeOfMdl as Windows computes it: the
// header and one page frame number per page the buffer spans.
TEST(MdlMacros, S_BUF_5_PageSpansAndMdlSize) {
    auto* page = reinterpret_cast<char*>(uintptr_t(0x7f0000000000));
    EXPECT_EQ(BYTES_TO_PAGES(0), 0u);
    EXPECT_EQ(BYTES_TO_PAGES(1), 1u);
    EXPECT_EQ(BYTES_TO_PAGES(PAGE_SIZE), 1u);
    EXPECT_EQ(BYTES_TO_PAGES(PAGE_SIZE + 1), 2u);
    EXPECT_EQ(ADDRESS_AND_SIZE_TO_SPAN_PAGES(page, PAGE_SIZE), 1u);
    EXPECT_EQ(ADDRESS_AND_SIZE_TO_SPAN_PAGES(page + 100, PAGE_SIZE), 2u) << "straddles two pages";
    EXPECT_EQ(ADDRESS_AND_SIZE_TO_SPAN_PAGES(page + 100, 9000), 3u);
    EXPECT_EQ(ADDRESS_AND_SIZE_TO_SPAN_PAGES(page + 4095, 2), 2u);
    EXPECT_EQ(MmSizeOfMdl(page + 100, 9000), sizeof(MDL) + 3 * sizeof(PFN_NUMBER));
    EXPECT_EQ(MmSizeOfMdl(page, 0), sizeof(MDL));
}

TEST_F(Buffers, S_BUF_5_DirectMethodsDescribeTheOutputWithAnMdl) {
    HANDLE h = open(testdrv::kBuffered, false);
    for (ULONG code : {testdrv::IOCTL_IN_DIRECT, testdrv::IOCTL_OUT_DIRECT}) {
        Input in{now(STATUS_INVALID_PARAMETER, 0, 6), {}};
        unsigned char out[100];
        std::memset(out, 0x11, sizeof out);
        DWORD bytes;
        EXPECT_FALSE(DeviceIoControl(h, code, &in, sizeof in, out, sizeof out, &bytes, nullptr));
        auto o = testdrv::last();
        ASSERT_NE(o.mdl, nullptr);
        EXPECT_EQ(o.mdl_va, out);
        EXPECT_EQ(o.mdl_bytes, sizeof out) << "the MDL spans OutputBufferLength";
        ASSERT_NE(o.system_buffer, nullptr);
        EXPECT_EQ(0, std::memcmp(o.system_buffer_head, &in, 16)) << "the input still goes through SystemBuffer";
        EXPECT_EQ(out[5], 0xAB) << "no copy-back: the caller sees the driver's bytes even though it failed";
    }
    // No output buffer: no MDL.
    Input in{now(STATUS_SUCCESS), {}};
    DWORD bytes;
    EXPECT_TRUE(DeviceIoControl(h, testdrv::IOCTL_OUT_DIRECT, &in, sizeof in, nullptr, 0, &bytes, nullptr));
    EXPECT_EQ(testdrv::last().mdl, nullptr);
    CloseHandle(h);
}

TEST_F(Buffers, S_BUF_6_MethodNeitherPassesTheCallersPointers) {
    HANDLE h = open(testdrv::kBuffered, false);
    Input in{now(STATUS_SUCCESS, 0, 3), {}};
    unsigned char out[16] = {};
    DWORD bytes;
    EXPECT_TRUE(DeviceIoControl(h, testdrv::IOCTL_NEITHER, &in, sizeof in, out, sizeof out, &bytes, nullptr));
    auto o = testdrv::last();
    EXPECT_EQ(o.type3, &in);
    EXPECT_EQ(o.user_buffer, out);
    EXPECT_EQ(o.system_buffer, nullptr);
    EXPECT_EQ(o.mdl, nullptr);
    EXPECT_EQ(out[2], 0xAB);
    CloseHandle(h);
}

TEST_F(Buffers, S_BUF_8_ReadAndWriteFollowTheDeviceFlags) {
    char data[32] = "0123456789";
    DWORD n;
    struct Case {
        const wchar_t* device;
        bool sysbuf, mdl, user;
    } cases[] = {{testdrv::kBuffered, true, false, false},
                 {testdrv::kDirect, false, true, false},
                 {testdrv::kNeither, false, false, true}};
    for (auto& c : cases) {
        HANDLE h = open(c.device, false);
        testdrv::state().next_read_write = now(STATUS_SUCCESS, 10, 10);
        ASSERT_TRUE(ReadFile(h, data, sizeof data, &n, nullptr));
        auto o = testdrv::last();
        EXPECT_EQ(o.major, IRP_MJ_READ);
        EXPECT_EQ(o.system_buffer != nullptr, c.sysbuf);
        EXPECT_EQ(o.mdl != nullptr, c.mdl);
        EXPECT_EQ(o.user_buffer == data, c.user || c.sysbuf) << "buffered reads keep the caller's buffer in UserBuffer";
        EXPECT_EQ(o.output_length, sizeof data);
        if (c.mdl) {
            EXPECT_EQ(o.mdl_va, data);
        }
        EXPECT_EQ(n, 10u);
        EXPECT_EQ(static_cast<unsigned char>(data[9]), 0xAB);
        std::memcpy(data, "abcdefghij", 10);
        testdrv::state().next_read_write = now(STATUS_SUCCESS, 10);
        ASSERT_TRUE(WriteFile(h, data, 10, &n, nullptr));
        o = testdrv::last();
        EXPECT_EQ(o.major, IRP_MJ_WRITE);
        if (c.sysbuf) {
            EXPECT_EQ(0, std::memcmp(o.system_buffer_head, "abcdefghij", 10)) << "a buffered write copies the data in";
        }
        CloseHandle(h);
    }
}

// S-CMP-10 at every length a synchronous request's copy-back handles differently:
// up to 64 bytes the completion copies inline (the system buffer is inside the IRP),
// beyond that the buffer is separate and the general completion copies. Each byte
// depends on its position, so a copy that misplaces, drops or overruns bytes shows.
TEST_F(Buffers, S_CMP_10_EveryLengthComesBackExactlyOnASynchronousHandle) {
    HANDLE h = open(testdrv::kBuffered, false);
    ASSERT_NE(h, INVALID_HANDLE_VALUE);
    Script s;
    s.pattern = TRUE;
    LONGLONG offset = 0;  // the synchronous handle's current byte offset
    for (DWORD length = 0; length <= 130; ++length) {
        unsigned char data[140];
        std::memset(data, 0xEE, sizeof data);
        testdrv::state().next_read_write = s;
        DWORD n = 12345;
        ASSERT_TRUE(ReadFile(h, data + 1, length, &n, nullptr)) << length;
        ASSERT_EQ(n, length);
        for (DWORD i = 0; i < length; ++i)
            ASSERT_EQ(data[1 + i], testdrv::pattern_byte(offset + i)) << "length " << length << ", byte " << i;
        EXPECT_EQ(data[0], 0xEE) << length;
        for (size_t i = 1 + length; i < sizeof data; ++i) ASSERT_EQ(data[i], 0xEE) << "length " << length;
        offset += length;
    }
    CloseHandle(h);
}

TEST_F(Buffers, S_BUF_9_ZeroLengthTransfersHaveNoBuffer) {
    DWORD n;
    HANDLE b = open(testdrv::kBuffered, false), d = open(testdrv::kDirect, false);
    testdrv::state().next_read_write = now(STATUS_SUCCESS);
    ASSERT_TRUE(ReadFile(b, nullptr, 0, &n, nullptr));
    EXPECT_EQ(testdrv::last().system_buffer, nullptr);
    EXPECT_TRUE(testdrv::last().flags & IRP_BUFFERED_IO) << "the flag stays, the buffer does not";
    ASSERT_TRUE(ReadFile(d, nullptr, 0, &n, nullptr));
    EXPECT_EQ(testdrv::last().mdl, nullptr);
    CloseHandle(b);
    CloseHandle(d);
}

TEST_F(Buffers, S_BUF_10_NullBufferWithALengthFailsBeforeAnyIrp) {
    HANDLE h = open(testdrv::kBuffered, false);
    DWORD n;
    int before = testdrv::state().dispatched;
    EXPECT_FALSE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, nullptr, 16, nullptr, 0, &n, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOACCESS));
    EXPECT_FALSE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, nullptr, 0, nullptr, 16, &n, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOACCESS));
    EXPECT_FALSE(ReadFile(h, nullptr, 4, &n, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOACCESS));
    EXPECT_EQ(testdrv::state().dispatched, before);
    CloseHandle(h);
}

TEST_F(Buffers, S_CMP_10_CopyBackIsExactlyInformationAndNeverOnError) {
    HANDLE h = open(testdrv::kBuffered, false);
    Input in{now(STATUS_BUFFER_OVERFLOW, 5, 32), {}};
    unsigned char out[32];
    std::memset(out, 0x11, sizeof out);
    DWORD n = 0;
    EXPECT_FALSE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, &in, sizeof in, out, sizeof out, &n, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_MORE_DATA));
    EXPECT_EQ(n, 5u);
    EXPECT_EQ(out[4], 0xAB) << "a warning delivers partial data";
    EXPECT_EQ(out[5], 0x11);
    std::memset(out, 0x11, sizeof out);
    in.script = now(STATUS_INVALID_PARAMETER, 5, 32);
    EXPECT_FALSE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, &in, sizeof in, out, sizeof out, &n, nullptr));
    EXPECT_EQ(out[0], 0x11) << "no copy-back on an error";
    // Information beyond the output buffer: clamped, and reported as a driver bug.
    in.script = now(STATUS_SUCCESS, 100, 32);
    uint64_t bugs = ntio::driver_bug_count();
    EXPECT_TRUE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, &in, sizeof in, out, 8, &n, nullptr));
    EXPECT_EQ(ntio::driver_bug_count(), bugs + 1);
    EXPECT_EQ(out[7], 0xAB);
    EXPECT_EQ(out[8], 0x11) << "clamped to the output length";
    CloseHandle(h);
}

}  // namespace
