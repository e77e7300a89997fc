// File information and flush: NtQueryInformationFile, NtSetInformationFile,
// NtQueryVolumeInformationFile, NtFlushBuffersFile and their Win32 callers
// (SetFilePointer(Ex), GetFileSize(Ex), GetFileType, FlushFileBuffers). The rules
// (S-INF-n) are in docs/design.md, "Rules of our own".
#include <cstring>
#include <string>

#include "command_support.hpp"
#include "io_test_support.hpp"

namespace {

using namespace ntio::testing;
using testdrv::Script;
class Information : public IoTest {};

// S-INF-1: the class, then the length, then the status block and buffer, then the
// handle: a bad class on a bad handle is a bad class.
TEST_F(Information, S_INF_1_TheClassAndLengthAreCheckedBeforeTheHandle) {
    IO_STATUS_BLOCK iosb{};
    FILE_STANDARD_INFORMATION standard{};
    HANDLE bogus = reinterpret_cast<HANDLE>(0x7777);
    EXPECT_EQ(NtQueryInformationFile(bogus, &iosb, &standard, sizeof(standard), FileEndOfFileInformation),
              STATUS_INVALID_INFO_CLASS);  // settable only
    EXPECT_EQ(NtSetInformationFile(bogus, &iosb, &standard, sizeof(standard), FileStandardInformation),
              STATUS_INVALID_INFO_CLASS);  // queryable only
    EXPECT_EQ(NtQueryInformationFile(bogus, &iosb, &standard, sizeof(standard), static_cast<FILE_INFORMATION_CLASS>(0)),
              STATUS_INVALID_INFO_CLASS);
    EXPECT_EQ(NtQueryInformationFile(bogus, &iosb, &standard, sizeof(standard) - 1, FileStandardInformation),
              STATUS_INFO_LENGTH_MISMATCH);
    EXPECT_EQ(NtQueryInformationFile(bogus, nullptr, &standard, sizeof(standard), FileStandardInformation),
              STATUS_ACCESS_VIOLATION);
    EXPECT_EQ(NtQueryInformationFile(bogus, &iosb, nullptr, sizeof(standard), FileStandardInformation),
              STATUS_ACCESS_VIOLATION);
    EXPECT_EQ(NtQueryInformationFile(bogus, &iosb, &standard, sizeof(standard), FileStandardInformation),
              STATUS_INVALID_HANDLE);
    FILE_FS_DEVICE_INFORMATION device{};
    EXPECT_EQ(NtQueryVolumeInformationFile(bogus, &iosb, &device, sizeof(device) - 1, FileFsDeviceInformation),
              STATUS_INFO_LENGTH_MISMATCH);
    EXPECT_EQ(iosb.Status, 0);  // no failure above wrote the status block
    EXPECT_EQ(testdrv::state().dispatched.load(), 0);  // no IRP for any of them
}

// S-INF-2: a class's access is checked against the handle's; the driver never sees the request.
TEST_F(Information, S_INF_2_EachClassNeedsItsAccess) {
    HANDLE h = open(testdrv::kBuffered, false, FILE_READ_DATA);  // CreateFile adds FILE_READ_ATTRIBUTES
    ASSERT_NE(h, INVALID_HANDLE_VALUE);
    IO_STATUS_BLOCK iosb{};
    FILE_BASIC_INFORMATION basic{};
    EXPECT_EQ(NtQueryInformationFile(h, &iosb, &basic, sizeof(basic), FileBasicInformation), STATUS_SUCCESS);
    EXPECT_EQ(basic.FileAttributes, static_cast<ULONG>(FILE_ATTRIBUTE_NORMAL));
    EXPECT_EQ(iosb.Information, sizeof(basic));
    EXPECT_EQ(NtSetInformationFile(h, &iosb, &basic, sizeof(basic), FileBasicInformation), STATUS_ACCESS_DENIED);
    FILE_END_OF_FILE_INFORMATION eof{};
    eof.EndOfFile.QuadPart = 4096;
    EXPECT_EQ(NtSetInformationFile(h, &iosb, &eof, sizeof(eof), FileEndOfFileInformation), STATUS_ACCESS_DENIED);
    EXPECT_EQ(testdrv::observations(IRP_MJ_SET_INFORMATION).size(), 0u);
    // The same handle's rights, as FileAccessInformation reports them.
    FILE_ACCESS_INFORMATION access{};
    EXPECT_EQ(NtQueryInformationFile(h, &iosb, &access, sizeof(access), FileAccessInformation), STATUS_SUCCESS);
    EXPECT_EQ(access.AccessFlags, static_cast<ACCESS_MASK>(FILE_READ_DATA | FILE_READ_ATTRIBUTES | SYNCHRONIZE));
    CloseHandle(h);

    HANDLE w = open(testdrv::kBuffered, false, GENERIC_WRITE);
    EXPECT_EQ(NtSetInformationFile(w, &iosb, &eof, sizeof(eof), FileEndOfFileInformation), STATUS_SUCCESS);
    EXPECT_EQ(testdrv::state().end_of_file, 4096);
    auto seen = testdrv::observations(IRP_MJ_SET_INFORMATION);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].info_class, static_cast<ULONG>(FileEndOfFileInformation));
    EXPECT_EQ(seen[0].info_length, sizeof(eof));
    EXPECT_EQ(seen[0].flags & (IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER | IRP_INPUT_OPERATION),
              static_cast<ULONG>(IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER));  // copied in, not back
    CloseHandle(w);
}

// S-INF-3: the I/O manager answers a synchronous file's position, and any file's mode,
// access and alignment, from the file object; no IRP reaches the driver.
TEST_F(Information, S_INF_3_TheIoManagerAnswersWhatTheFileObjectKnows) {
    HANDLE h = CreateFileA(win32_name(testdrv::kBuffered).c_str(), GENERIC_READ, 0, nullptr, OPEN_EXISTING,
                           FILE_FLAG_WRITE_THROUGH | FILE_FLAG_NO_BUFFERING, nullptr);
    ASSERT_NE(h, INVALID_HANDLE_VALUE);
    int before = testdrv::state().dispatched.load();
    IO_STATUS_BLOCK iosb{};
    FILE_POSITION_INFORMATION position{};
    position.CurrentByteOffset.QuadPart = 1024;
    EXPECT_EQ(NtSetInformationFile(h, &iosb, &position, sizeof(position), FilePositionInformation), STATUS_SUCCESS);
    EXPECT_EQ(iosb.Information, 0u);
    position.CurrentByteOffset.QuadPart = 0;
    EXPECT_EQ(NtQueryInformationFile(h, &iosb, &position, sizeof(position), FilePositionInformation), STATUS_SUCCESS);
    EXPECT_EQ(position.CurrentByteOffset.QuadPart, 1024);
    EXPECT_EQ(iosb.Information, sizeof(position));
    FILE_MODE_INFORMATION mode{};
    EXPECT_EQ(NtQueryInformationFile(h, &iosb, &mode, sizeof(mode), FileModeInformation), STATUS_SUCCESS);
    EXPECT_EQ(mode.Mode, static_cast<ULONG>(FILE_SYNCHRONOUS_IO_NONALERT | FILE_WRITE_THROUGH |
                                            FILE_NO_INTERMEDIATE_BUFFERING));
    FILE_ALIGNMENT_INFORMATION alignment{};
    EXPECT_EQ(NtQueryInformationFile(h, &iosb, &alignment, sizeof(alignment), FileAlignmentInformation),
              STATUS_SUCCESS);
    FILE_FS_DEVICE_INFORMATION device{};
    EXPECT_EQ(NtQueryVolumeInformationFile(h, &iosb, &device, sizeof(device), FileFsDeviceInformation),
              STATUS_SUCCESS);
    EXPECT_EQ(device.DeviceType, static_cast<ULONG>(FILE_DEVICE_UNKNOWN));
    EXPECT_EQ(iosb.Information, sizeof(device));
    EXPECT_EQ(testdrv::state().dispatched.load(), before);
    // The read that follows starts where the position was set (S-DSP-5).
    char buf[4];
    DWORD got = 0;
    EXPECT_TRUE(ReadFile(h, buf, sizeof(buf), &got, nullptr));
    EXPECT_EQ(testdrv::last().byte_offset.QuadPart, 1024);
    CloseHandle(h);

    // An overlapped file object has no position of the I/O manager's: the driver answers.
    HANDLE o = open(testdrv::kBuffered, true);
    position.CurrentByteOffset.QuadPart = 77;
    EXPECT_EQ(NtSetInformationFile(o, &iosb, &position, sizeof(position), FilePositionInformation), STATUS_SUCCESS);
    auto seen = testdrv::observations(IRP_MJ_SET_INFORMATION);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].info_class, static_cast<ULONG>(FilePositionInformation));
    EXPECT_TRUE(seen[0].flags & IRP_SYNCHRONOUS_API);
    EXPECT_EQ(NtQueryInformationFile(o, &iosb, &mode, sizeof(mode), FileModeInformation), STATUS_SUCCESS);
    EXPECT_EQ(mode.Mode, 0u);
    CloseHandle(o);
}

// S-INF-4: the I/O manager refuses a position before the start, and one off a sector
// boundary on a file opened without intermediate buffering.
TEST_F(Information, S_INF_4_NegativeAndUnalignedPositionsAreRefused) {
    PDEVICE_OBJECT dev = nullptr;
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Device\\TestBuffered");
    PFILE_OBJECT fo = nullptr;
    ASSERT_EQ(IoGetDeviceObjectPointer(&name, FILE_READ_DATA, &fo, &dev), STATUS_SUCCESS);
    dev->SectorSize = 512;
    HANDLE h = CreateFileA(win32_name(testdrv::kBuffered).c_str(), GENERIC_READ, 0, nullptr, OPEN_EXISTING,
                           FILE_FLAG_NO_BUFFERING, nullptr);
    ASSERT_NE(h, INVALID_HANDLE_VALUE);
    IO_STATUS_BLOCK iosb{};
    FILE_POSITION_INFORMATION position{};
    position.CurrentByteOffset.QuadPart = -1;
    EXPECT_EQ(NtSetInformationFile(h, &iosb, &position, sizeof(position), FilePositionInformation),
              STATUS_INVALID_PARAMETER);
    position.CurrentByteOffset.QuadPart = 100;
    EXPECT_EQ(NtSetInformationFile(h, &iosb, &position, sizeof(position), FilePositionInformation),
              STATUS_INVALID_PARAMETER);
    position.CurrentByteOffset.QuadPart = 1024;
    EXPECT_EQ(NtSetInformationFile(h, &iosb, &position, sizeof(position), FilePositionInformation), STATUS_SUCCESS);
    CloseHandle(h);
    dev->SectorSize = 0;
    ObDereferenceObject(fo);
}

// S-INF-5: the services wait for a request the driver pends, on an overlapped handle too
// (their own event and status block), and an immediate failure leaves the caller's
// status block alone (S-DSP-4).
TEST_F(Information, S_INF_5_TheServicesAreSynchronousOnEveryHandle) {
    testdrv::state().end_of_file = 123456789012LL;
    testdrv::state().next_info = later(STATUS_SUCCESS, 2000);
    for (bool overlapped : {false, true}) {
        HANDLE h = open(testdrv::kBuffered, overlapped);
        ULONGLONG start = KeQueryInterruptTime();
        IO_STATUS_BLOCK iosb{};
        FILE_STANDARD_INFORMATION standard{};
        EXPECT_EQ(NtQueryInformationFile(h, &iosb, &standard, sizeof(standard), FileStandardInformation),
                  STATUS_SUCCESS);
        EXPECT_EQ(KeQueryInterruptTime() - start, 2000 * 10000ULL) << overlapped;
        EXPECT_EQ(standard.EndOfFile.QuadPart, 123456789012LL);
        EXPECT_EQ(iosb.Status, STATUS_SUCCESS);
        EXPECT_EQ(iosb.Information, sizeof(standard));
        auto q = testdrv::last();
        EXPECT_EQ(q.major, IRP_MJ_QUERY_INFORMATION);
        EXPECT_EQ(q.flags & (IRP_BUFFERED_IO | IRP_INPUT_OPERATION), static_cast<ULONG>(IRP_BUFFERED_IO | IRP_INPUT_OPERATION));
        EXPECT_EQ(bool(q.flags & IRP_SYNCHRONOUS_API), overlapped);
        EXPECT_NE(q.system_buffer, static_cast<PVOID>(&standard));
        EXPECT_EQ(q.user_buffer, static_cast<PVOID>(&standard));
        // The file handle's event: reset at the start, set by a synchronous file's
        // completion; an overlapped one's own event is the service's.
        EXPECT_EQ(WaitForSingleObject(h, 0), overlapped ? WAIT_TIMEOUT : WAIT_OBJECT_0) << overlapped;

        start = KeQueryInterruptTime();
        EXPECT_EQ(NtFlushBuffersFile(h, &iosb), STATUS_SUCCESS);
        EXPECT_EQ(KeQueryInterruptTime() - start, 2000 * 10000ULL) << overlapped;
        EXPECT_EQ(testdrv::last().major, IRP_MJ_FLUSH_BUFFERS);
        CloseHandle(h);
    }
    // A pended failure reaches the caller's status block; an immediate one does not.
    testdrv::state().next_info = later(STATUS_IO_DEVICE_ERROR, 10);
    HANDLE h = open(testdrv::kBuffered, true);
    IO_STATUS_BLOCK iosb{};
    iosb.Information = 0x5a5a;
    EXPECT_EQ(NtFlushBuffersFile(h, &iosb), STATUS_IO_DEVICE_ERROR);
    EXPECT_EQ(iosb.Status, STATUS_IO_DEVICE_ERROR);
    testdrv::state().next_info = now(STATUS_IO_DEVICE_ERROR);
    iosb.Status = 0x1234;
    EXPECT_EQ(NtFlushBuffersFile(h, &iosb), STATUS_IO_DEVICE_ERROR);
    EXPECT_EQ(iosb.Status, 0x1234);
    CloseHandle(h);
}

// S-INF-6: flushing needs the right to write or append, from kernel mode too.
TEST_F(Information, S_INF_6_FlushNeedsWriteOrAppendAccess) {
    HANDLE h = open(testdrv::kBuffered, false, GENERIC_READ);
    EXPECT_FALSE(FlushFileBuffers(h));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_ACCESS_DENIED));
    IO_STATUS_BLOCK iosb{};
    EXPECT_EQ(ZwFlushBuffersFile(h, &iosb), STATUS_ACCESS_DENIED);
    EXPECT_EQ(testdrv::observations(IRP_MJ_FLUSH_BUFFERS).size(), 0u);
    CloseHandle(h);
    HANDLE a = open(testdrv::kBuffered, false, FILE_APPEND_DATA);
    EXPECT_TRUE(FlushFileBuffers(a));
    EXPECT_EQ(testdrv::observations(IRP_MJ_FLUSH_BUFFERS).size(), 1u);
    CloseHandle(a);
}

// S-INF-7: the Win32 calls.
TEST_F(Information, S_INF_7_SetFilePointerMovesTheSynchronousPosition) {
    testdrv::state().end_of_file = 10000;
    HANDLE h = open(testdrv::kBuffered, false);
    EXPECT_EQ(SetFilePointer(h, 100, nullptr, FILE_BEGIN), 100u);
    EXPECT_EQ(SetFilePointer(h, -40, nullptr, FILE_CURRENT), 60u);
    EXPECT_EQ(SetFilePointer(h, -1, nullptr, FILE_END), 9999u);
    LARGE_INTEGER to, now{};
    to.QuadPart = 0;
    EXPECT_TRUE(SetFilePointerEx(h, to, &now, FILE_CURRENT));
    EXPECT_EQ(now.QuadPart, 9999);
    // Before the start: ERROR_NEGATIVE_SEEK, and the position stays.
    to.QuadPart = -10000;
    EXPECT_FALSE(SetFilePointerEx(h, to, &now, FILE_CURRENT));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NEGATIVE_SEEK));
    EXPECT_EQ(SetFilePointer(h, 0, nullptr, FILE_CURRENT), 9999u);
    EXPECT_FALSE(SetFilePointerEx(h, to, &now, 3));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    // Past 4 GiB: with the high part it works and clears the last error when the low
    // part looks like the failure value; without it the move is refused.
    LONG high = 1;
    SetLastError(ERROR_GEN_FAILURE);
    EXPECT_EQ(SetFilePointer(h, -1, &high, FILE_BEGIN), INVALID_SET_FILE_POINTER);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(NO_ERROR));
    EXPECT_EQ(high, 1);
    to.QuadPart = 0;
    EXPECT_TRUE(SetFilePointerEx(h, to, &now, FILE_CURRENT));
    EXPECT_EQ(now.QuadPart, 0x1FFFFFFFFLL);
    EXPECT_EQ(SetFilePointer(h, 0, nullptr, FILE_CURRENT), INVALID_SET_FILE_POINTER);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    EXPECT_EQ(SetFilePointer(h, 10, nullptr, FILE_BEGIN), 10u);
    // The read that follows starts there (the driver moves it after, S-DSP-5).
    testdrv::state().next_read_write.pattern = TRUE;
    char buf[8];
    DWORD got = 0;
    EXPECT_TRUE(ReadFile(h, buf, sizeof(buf), &got, nullptr));
    EXPECT_EQ(testdrv::last().byte_offset.QuadPart, 10);
    EXPECT_EQ(SetFilePointer(h, 0, nullptr, FILE_CURRENT), 18u);
    CloseHandle(h);
    EXPECT_EQ(SetFilePointer(h, 0, nullptr, FILE_BEGIN), INVALID_SET_FILE_POINTER);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
}

TEST_F(Information, S_INF_7_GetFileSizeGetFileTypeAndFlushFileBuffers) {
    HANDLE h = open(testdrv::kBuffered, true);
    testdrv::state().end_of_file = 0x1FFFFFFFFLL;
    DWORD high = 0;
    SetLastError(ERROR_GEN_FAILURE);
    EXPECT_EQ(GetFileSize(h, &high), INVALID_FILE_SIZE);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(NO_ERROR));  // a size, not a failure
    EXPECT_EQ(high, 1u);
    LARGE_INTEGER size{};
    EXPECT_TRUE(GetFileSizeEx(h, &size));
    EXPECT_EQ(size.QuadPart, 0x1FFFFFFFFLL);
    EXPECT_FALSE(GetFileSizeEx(h, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    // A driver that has no size fails the query: its status, mapped.
    testdrv::state().next_info = now(STATUS_INVALID_DEVICE_REQUEST);
    EXPECT_EQ(GetFileSize(h, nullptr), INVALID_FILE_SIZE);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_FUNCTION));
    testdrv::state().next_info = Script{};
    // FILE_DEVICE_UNKNOWN is FILE_TYPE_UNKNOWN, told from a failure by NO_ERROR.
    SetLastError(ERROR_GEN_FAILURE);
    EXPECT_EQ(GetFileType(h), static_cast<DWORD>(FILE_TYPE_UNKNOWN));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(NO_ERROR));
    EXPECT_TRUE(FlushFileBuffers(h));
    CloseHandle(h);
    EXPECT_EQ(GetFileType(h), static_cast<DWORD>(FILE_TYPE_UNKNOWN));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    EXPECT_FALSE(FlushFileBuffers(h));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
}

TEST_F(Information, S_INF_7_GetFileTypeMapsTheDeviceType) {
    PDEVICE_OBJECT dev = nullptr;
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Device\\TestBuffered");
    PFILE_OBJECT fo = nullptr;
    ASSERT_EQ(IoGetDeviceObjectPointer(&name, FILE_READ_DATA, &fo, &dev), STATUS_SUCCESS);
    DEVICE_TYPE original = dev->DeviceType;
    HANDLE h = open(testdrv::kBuffered, false);
    struct {
        DEVICE_TYPE type;
        DWORD file_type;
    } rows[] = {{FILE_DEVICE_DISK, FILE_TYPE_DISK},           {FILE_DEVICE_CD_ROM, FILE_TYPE_DISK},
                {FILE_DEVICE_VIRTUAL_DISK, FILE_TYPE_DISK},   {FILE_DEVICE_SERIAL_PORT, FILE_TYPE_CHAR},
                {FILE_DEVICE_NULL, FILE_TYPE_CHAR},           {FILE_DEVICE_KEYBOARD, FILE_TYPE_CHAR},
                {FILE_DEVICE_NAMED_PIPE, FILE_TYPE_PIPE},     {FILE_DEVICE_NETWORK, FILE_TYPE_UNKNOWN},
                {FILE_DEVICE_UNKNOWN, FILE_TYPE_UNKNOWN}};
    for (auto row : rows) {
        dev->DeviceType = row.type;
        EXPECT_EQ(GetFileType(h), row.file_type) << row.type;
    }
    dev->DeviceType = original;
    CloseHandle(h);
    ObDereferenceObject(fo);
}

// S-INF-8: GetFileInformationByHandle is FileAllInformation (a name too long for the
// buffer is not a failure) and FileFsVolumeInformation, each an IRP to the driver; a
// driver that refuses either gives its status's Win32 error.
TEST_F(Information, S_INF_8_GetFileInformationByHandleAsksForAllInformationAndTheVolume) {
    HANDLE h = open(testdrv::kBuffered, false, GENERIC_READ);
    ASSERT_NE(h, INVALID_HANDLE_VALUE);
    testdrv::state().end_of_file = 0x100000200LL;
    BY_HANDLE_FILE_INFORMATION info{};
    ASSERT_TRUE(GetFileInformationByHandle(h, &info)) << GetLastError();
    EXPECT_EQ(info.dwFileAttributes, static_cast<DWORD>(FILE_ATTRIBUTE_NORMAL));
    EXPECT_EQ(info.ftCreationTime.dwHighDateTime, 0x01D00000u);
    EXPECT_EQ(info.ftCreationTime.dwLowDateTime, 1u);
    EXPECT_EQ(info.ftLastWriteTime.dwLowDateTime, 2u);
    EXPECT_EQ(info.dwVolumeSerialNumber, testdrv::kVolumeSerial);
    EXPECT_EQ(info.nFileSizeHigh, 1u);
    EXPECT_EQ(info.nFileSizeLow, 0x200u);
    EXPECT_EQ(info.nNumberOfLinks, 1u);
    EXPECT_EQ(info.nFileIndexHigh, static_cast<DWORD>(testdrv::kFileIndex >> 32));
    EXPECT_EQ(info.nFileIndexLow, static_cast<DWORD>(testdrv::kFileIndex));
    auto queries = testdrv::observations(IRP_MJ_QUERY_INFORMATION);
    ASSERT_EQ(queries.size(), 1u);
    EXPECT_EQ(queries[0].info_class, static_cast<ULONG>(FileAllInformation));
    EXPECT_EQ(queries[0].info_length, sizeof(FILE_ALL_INFORMATION));
    auto volume = testdrv::observations(IRP_MJ_QUERY_VOLUME_INFORMATION);
    ASSERT_EQ(volume.size(), 1u);
    EXPECT_EQ(volume[0].info_class, static_cast<ULONG>(FileFsVolumeInformation));

    // A driver that does not answer: STATUS_INVALID_DEVICE_REQUEST, ERROR_INVALID_FUNCTION.
    testdrv::state().next_info = Script{.status = STATUS_INVALID_DEVICE_REQUEST};
    SetLastError(0);
    EXPECT_FALSE(GetFileInformationByHandle(h, &info));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_FUNCTION));
    testdrv::state().next_info = Script{};
    EXPECT_FALSE(GetFileInformationByHandle(h, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    CloseHandle(h);
    EXPECT_FALSE(GetFileInformationByHandle(reinterpret_cast<HANDLE>(0x7777), &info));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
}

// S-INF-9: each Ex class is one NT class, to the driver; a class with no NT class here,
// or one for the other direction, is ERROR_INVALID_PARAMETER without an IRP.
TEST_F(Information, S_INF_9_GetFileInformationByHandleExMapsEachClass) {
    HANDLE h = open(testdrv::kBuffered, false, GENERIC_READ | GENERIC_WRITE);
    ASSERT_NE(h, INVALID_HANDLE_VALUE);
    testdrv::state().end_of_file = 5000;
    FILE_STANDARD_INFO standard{};
    ASSERT_TRUE(GetFileInformationByHandleEx(h, FileStandardInfo, &standard, sizeof(standard)));
    EXPECT_EQ(standard.EndOfFile.QuadPart, 5000);
    EXPECT_EQ(standard.AllocationSize.QuadPart, 5120);
    EXPECT_EQ(standard.NumberOfLinks, 1u);
    EXPECT_FALSE(standard.DeletePending);
    FILE_BASIC_INFO basic{};
    ASSERT_TRUE(GetFileInformationByHandleEx(h, FileBasicInfo, &basic, sizeof(basic)));
    EXPECT_EQ(basic.FileAttributes, static_cast<DWORD>(FILE_ATTRIBUTE_NORMAL));
    FILE_ATTRIBUTE_TAG_INFO tag{};
    ASSERT_TRUE(GetFileInformationByHandleEx(h, FileAttributeTagInfo, &tag, sizeof(tag)));
    EXPECT_EQ(tag.FileAttributes, static_cast<DWORD>(FILE_ATTRIBUTE_NORMAL));
    int before = testdrv::state().dispatched.load();
    FILE_ALIGNMENT_INFO alignment{123};
    ASSERT_TRUE(GetFileInformationByHandleEx(h, FileAlignmentInfo, &alignment, sizeof(alignment)));
    EXPECT_EQ(alignment.AlignmentRequirement, 0u);  // the I/O manager's answer (S-INF-3)

    // The name: FileNameLength is bytes (4 per WCHAR here); too small a buffer for the
    // name is ERROR_MORE_DATA with the length filled in.
    alignas(8) unsigned char room[256];
    auto* name = reinterpret_cast<FILE_NAME_INFO*>(room);
    ASSERT_TRUE(GetFileInformationByHandleEx(h, FileNameInfo, name, sizeof(room)));
    std::wstring expected = testdrv::kFileName;
    EXPECT_EQ(name->FileNameLength, expected.size() * sizeof(WCHAR));
    EXPECT_EQ(std::wstring(name->FileName, name->FileNameLength / sizeof(WCHAR)), expected);
    std::memset(room, 0, sizeof(room));
    EXPECT_FALSE(GetFileInformationByHandleEx(h, FileNameInfo, name, sizeof(FILE_NAME_INFO) + sizeof(WCHAR)));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_MORE_DATA));
    EXPECT_EQ(name->FileNameLength, expected.size() * sizeof(WCHAR));
    EXPECT_EQ(name->FileName[0], L'\\');

    // Too small for the structure: the NT length check, ERROR_BAD_LENGTH, no IRP.
    int dispatched = testdrv::state().dispatched.load();
    EXPECT_FALSE(GetFileInformationByHandleEx(h, FileStandardInfo, &standard, sizeof(standard) - 1));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_BAD_LENGTH));
    for (FILE_INFO_BY_HANDLE_CLASS c : {FileEndOfFileInfo, FileDispositionInfo, FileAllocationInfo, FileRenameInfo,
                                        FileStreamInfo, FileIdBothDirectoryInfo, FileIdInfo,
                                        MaximumFileInfoByHandleClass, static_cast<FILE_INFO_BY_HANDLE_CLASS>(31)}) {
        SetLastError(0);
        EXPECT_FALSE(GetFileInformationByHandleEx(h, c, room, sizeof(room))) << c;
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER)) << c;
    }
    EXPECT_EQ(testdrv::state().dispatched.load(), dispatched);
    EXPECT_GT(dispatched, before);  // the name queries went to the driver
    CloseHandle(h);
}

// S-INF-10: SetFileInformationByHandle sends the basic, disposition, allocation and end
// of file classes with their access (S-INF-2); the others are ERROR_INVALID_PARAMETER.
TEST_F(Information, S_INF_10_SetFileInformationByHandleSendsEachClass) {
    HANDLE h = open(testdrv::kBuffered, false, GENERIC_READ | GENERIC_WRITE | DELETE);
    ASSERT_NE(h, INVALID_HANDLE_VALUE);
    FILE_END_OF_FILE_INFO eof{};
    eof.EndOfFile.QuadPart = 777;
    ASSERT_TRUE(SetFileInformationByHandle(h, FileEndOfFileInfo, &eof, sizeof(eof))) << GetLastError();
    EXPECT_EQ(testdrv::state().end_of_file, 777);
    FILE_ALLOCATION_INFO allocation{};
    allocation.AllocationSize.QuadPart = 8192;
    ASSERT_TRUE(SetFileInformationByHandle(h, FileAllocationInfo, &allocation, sizeof(allocation)));
    FILE_BASIC_INFO basic{};
    basic.FileAttributes = FILE_ATTRIBUTE_READONLY;
    ASSERT_TRUE(SetFileInformationByHandle(h, FileBasicInfo, &basic, sizeof(basic)));
    FILE_DISPOSITION_INFO disposition{TRUE};
    ASSERT_TRUE(SetFileInformationByHandle(h, FileDispositionInfo, &disposition, sizeof(disposition)));
    FILE_STANDARD_INFO standard{};
    ASSERT_TRUE(GetFileInformationByHandleEx(h, FileStandardInfo, &standard, sizeof(standard)));
    EXPECT_EQ(standard.EndOfFile.QuadPart, 777);
    EXPECT_EQ(standard.AllocationSize.QuadPart, 8192);
    EXPECT_TRUE(standard.DeletePending);
    BY_HANDLE_FILE_INFORMATION info{};
    ASSERT_TRUE(GetFileInformationByHandle(h, &info));
    EXPECT_EQ(info.dwFileAttributes, static_cast<DWORD>(FILE_ATTRIBUTE_READONLY));
    auto sets = testdrv::observations(IRP_MJ_SET_INFORMATION);
    ASSERT_EQ(sets.size(), 4u);
    EXPECT_EQ(sets[0].info_class, static_cast<ULONG>(FileEndOfFileInformation));
    EXPECT_EQ(sets[1].info_class, static_cast<ULONG>(FileAllocationInformation));
    EXPECT_EQ(sets[2].info_class, static_cast<ULONG>(FileBasicInformation));
    EXPECT_EQ(sets[3].info_class, static_cast<ULONG>(FileDispositionInformation));
    EXPECT_FALSE(SetFileInformationByHandle(h, FileEndOfFileInfo, &eof, sizeof(eof) - 1));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_BAD_LENGTH));
    for (FILE_INFO_BY_HANDLE_CLASS c : {FileStandardInfo, FileNameInfo, FileAttributeTagInfo, FileRenameInfo,
                                        FileIoPriorityHintInfo, MaximumFileInfoByHandleClass}) {
        SetLastError(0);
        EXPECT_FALSE(SetFileInformationByHandle(h, c, &basic, sizeof(basic))) << c;
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER)) << c;
    }
    EXPECT_EQ(testdrv::observations(IRP_MJ_SET_INFORMATION).size(), 4u);
    CloseHandle(h);

    // The access each class needs is the handle's: a read-only handle sets nothing.
    HANDLE r = open(testdrv::kBuffered, false, GENERIC_READ);
    EXPECT_FALSE(SetFileInformationByHandle(r, FileEndOfFileInfo, &eof, sizeof(eof)));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_ACCESS_DENIED));
    EXPECT_FALSE(SetFileInformationByHandle(r, FileDispositionInfo, &disposition, sizeof(disposition)));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_ACCESS_DENIED));
    CloseHandle(r);
}

// The C pair tests/c/sized_driver.c and sized_app.c under `ntio run`, built as outside
// code is: the Win32 calls against a driver that answers like a file system (S-INF-3,
// S-INF-5, S-INF-6, S-INF-7), SetEndOfFile, and a disk device's 512-byte sectors
// (IoCreateDevice sets them) refusing an unaligned unbuffered seek (S-INF-4),
// GetFileInformationByHandleEx's FileStandardInfo and GetFileInformationByHandle on a
// driver that refuses FileAllInformation (S-INF-8, S-INF-9).
TEST(InformationCommand, S_INF_7_AnOutsideDriverAndAppSizeSeekReadAndFlush) {
    auto r = ntio::testing::run_command(std::string(NTIO_TEST_CLI) + " run --virtual-time --verifier fail --driver " +
                                        NTIO_TEST_SIZED_C_DRIVER + " -- " + NTIO_TEST_SIZED_C_APP + " 2>&1");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    for (const char* line : {"size: 5000\n", "pointer: 4990\n", "read at the pointer: 10 bytes, then at 5000\n",
                             "before the start: error 131\n", "new size: high 1 low 16\n", "type: 1 (disk 1)\n",
                             "after SetEndOfFile: 4096\n", "unaligned unbuffered seek: error 87\n",
                             "aligned unbuffered seek: 1024\n", "standard info: end of file 4096, 1 link\n",
                             "information by handle: not answered, error 87\n", "SizedTest: 2 flushes, end of file 4096\n"})
        EXPECT_NE(r.output.find(line), std::string::npos) << "missing: " << line << "\n" << r.output;
}

}  // namespace
