// Win32 device I/O: CreateFile, DeviceIoControl, ReadFile, WriteFile,
// GetOverlappedResult(Ex), the file pointer, size, type and flush, as thin translations to the Nt* services
// (S-DSP-13..16, S-W32-5..10).
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include <unistd.h>

#include "io/iomgr.hpp"
#include "rtl/windows_format.hpp"
#include "ps/thread.hpp"
#include "trace/trace.hpp"
#include "win32/win32.hpp"
#include "wdm.h"

using namespace ntio::win32;

namespace {

// Win32 device names: \\.\X and \\?\X are \??\X (S-W32-9). Anything else would be a
// file-system path, which ntio does not have.
bool to_nt_path(const std::wstring& win32, std::wstring* nt) {
    if (win32.size() > 4 && win32[0] == L'\\' && win32[1] == L'\\' && (win32[2] == L'.' || win32[2] == L'?') &&
        win32[3] == L'\\') {
        *nt = L"\\??\\" + win32.substr(4);
        return true;
    }
    return false;
}

// A call that fails while the program exits (its request cancelled, most likely) does
// not get back to a program thread's code (S-CAN-12): the thread stops here, as it does
// after a wait. On the failure path only, so that a success costs no test.
BOOL fail(NTSTATUS s) {
    ntio::ps::stop_if_program_exiting();
    set_error_from_status(s);
    return FALSE;
}

// The event and completion context of an overlapped request: an hEvent with its low
// bit set still names the event but asks for no completion-port packet (S-DSP-12).
void overlapped_event(LPOVERLAPPED ov, HANDLE* event, PVOID* apc_context) {
    auto bits = reinterpret_cast<ULONG_PTR>(ov->hEvent);
    *event = reinterpret_cast<HANDLE>(bits & ~ULONG_PTR(1));
    *apc_context = (bits & 1) ? nullptr : ov;
}

// An OVERLAPPED's Internal and InternalHigh are the request's status block, which its
// completion may be writing on another thread (io::write_status_block: Information, then
// Status with release). These reads pair with those stores.
NTSTATUS overlapped_status(const OVERLAPPED* ov) {
    return __atomic_load_n(&reinterpret_cast<const IO_STATUS_BLOCK*>(ov)->Status, __ATOMIC_ACQUIRE);
}
DWORD overlapped_bytes(const OVERLAPPED* ov) {
    return static_cast<DWORD>(__atomic_load_n(&ov->InternalHigh, __ATOMIC_RELAXED));
}

}  // namespace

namespace {
// GetCurrentDirectory's contract on a text of `length` characters.
template <typename Char>
DWORD deliver_directory(const std::basic_string<Char>& text, DWORD size, Char* buffer) {
    if (text.size() + 1 > size || !buffer) return static_cast<DWORD>(text.size() + 1);
    std::copy(text.begin(), text.end(), buffer);
    buffer[text.size()] = Char(0);
    return static_cast<DWORD>(text.size());
}
bool host_directory(std::string* out) {
    std::string buf(4096, '\0');
    if (!getcwd(buf.data(), buf.size())) {
        set_last_error(errno == ERANGE ? ERROR_FILENAME_EXCED_RANGE : ERROR_PATH_NOT_FOUND);
        return false;
    }
    buf.resize(std::strlen(buf.c_str()));
    *out = buf;
    return true;
}
}  // namespace

extern "C" {

HANDLE CreateFileW(LPCWSTR lpFileName, DWORD dwDesiredAccess, DWORD dwShareMode, LPSECURITY_ATTRIBUTES sa,
                   DWORD dwCreationDisposition, DWORD dwFlagsAndAttributes, HANDLE hTemplateFile) {
    (void)hTemplateFile;
    if (!lpFileName) {
        set_last_error(ERROR_PATH_NOT_FOUND);
        return INVALID_HANDLE_VALUE;
    }
    std::wstring nt;
    if (!to_nt_path(lpFileName, &nt)) {
        // Only devices (\\.\Name, \\?\Name) exist in ntio's namespace.
        set_last_error(*lpFileName ? ERROR_PATH_NOT_FOUND : ERROR_PATH_NOT_FOUND);
        return INVALID_HANDLE_VALUE;
    }
    ULONG disposition;
    switch (dwCreationDisposition) {
    case CREATE_NEW: disposition = FILE_CREATE; break;
    case CREATE_ALWAYS: disposition = FILE_OVERWRITE_IF; break;
    case OPEN_EXISTING: disposition = FILE_OPEN; break;
    case OPEN_ALWAYS: disposition = FILE_OPEN_IF; break;
    case TRUNCATE_EXISTING: disposition = FILE_OVERWRITE; break;
    default: set_last_error(ERROR_INVALID_PARAMETER); return INVALID_HANDLE_VALUE;
    }
    ULONG options = FILE_NON_DIRECTORY_FILE;
    if (!(dwFlagsAndAttributes & FILE_FLAG_OVERLAPPED)) options |= FILE_SYNCHRONOUS_IO_NONALERT;
    if (dwFlagsAndAttributes & FILE_FLAG_WRITE_THROUGH) options |= FILE_WRITE_THROUGH;
    if (dwFlagsAndAttributes & FILE_FLAG_NO_BUFFERING) options |= FILE_NO_INTERMEDIATE_BUFFERING;
    UNICODE_STRING name;
    name.Buffer = nt.data();
    name.Length = name.MaximumLength = static_cast<USHORT>(nt.size() * sizeof(WCHAR));
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &name, OBJ_CASE_INSENSITIVE | inherit_attribute(sa), nullptr, nullptr);
    IO_STATUS_BLOCK iosb{};
    HANDLE h = nullptr;
    NTSTATUS s = NtCreateFile(&h, dwDesiredAccess | SYNCHRONIZE | FILE_READ_ATTRIBUTES, &oa, &iosb, nullptr,
                              dwFlagsAndAttributes & 0xFFFF, dwShareMode, disposition, options, nullptr, 0);
    if (!NT_SUCCESS(s)) {
        set_error_from_status(s);
        return INVALID_HANDLE_VALUE;
    }
    set_last_error(ERROR_SUCCESS);
    return h;
}

// S-W32F-1: CreateFile2 is CreateFileW with the block's attributes, flags and QoS flags
// combined into dwFlagsAndAttributes, its security attributes and template; no block is
// none of them.
HANDLE CreateFile2(LPCWSTR lpFileName, DWORD dwDesiredAccess, DWORD dwShareMode, DWORD dwCreationDisposition,
                   LPCREATEFILE2_EXTENDED_PARAMETERS pCreateExParams) {
    if (!pCreateExParams)
        return CreateFileW(lpFileName, dwDesiredAccess, dwShareMode, nullptr, dwCreationDisposition, 0, nullptr);
    const CREATEFILE2_EXTENDED_PARAMETERS& p = *pCreateExParams;
    return CreateFileW(lpFileName, dwDesiredAccess, dwShareMode, p.lpSecurityAttributes, dwCreationDisposition,
                       p.dwFileAttributes | p.dwFileFlags | p.dwSecurityQosFlags, p.hTemplateFile);
}

HANDLE CreateFileA(LPCSTR lpFileName, DWORD dwDesiredAccess, DWORD dwShareMode, LPSECURITY_ATTRIBUTES sa,
                   DWORD dwCreationDisposition, DWORD dwFlagsAndAttributes, HANDLE hTemplateFile) {
    if (!lpFileName) {
        set_last_error(ERROR_PATH_NOT_FOUND);
        return INVALID_HANDLE_VALUE;
    }
    return CreateFileW(widen(lpFileName).c_str(), dwDesiredAccess, dwShareMode, sa, dwCreationDisposition,
                       dwFlagsAndAttributes, hTemplateFile);
}

BOOL DeviceIoControl(HANDLE hDevice, DWORD dwIoControlCode, LPVOID lpInBuffer, DWORD nInBufferSize, LPVOID lpOutBuffer,
                     DWORD nOutBufferSize, LPDWORD lpBytesReturned, LPOVERLAPPED lpOverlapped) {
    // The service is called directly (io::device_control is NtDeviceIoControlFile and
    // NtFsControlFile by major function, io::control_major picks it, S-BUF-2): the
    // request path's every call layer counts.
    if (lpOverlapped) {  // S-DSP-13
        HANDLE event;
        PVOID context;
        overlapped_event(lpOverlapped, &event, &context);
        lpOverlapped->Internal = static_cast<ULONG_PTR>(STATUS_PENDING);
        NTSTATUS s = ntio::io::device_control(hDevice, event, nullptr, context,
                                              reinterpret_cast<PIO_STATUS_BLOCK>(lpOverlapped), dwIoControlCode,
                                              lpInBuffer, nInBufferSize, lpOutBuffer, nOutBufferSize,
                                              ntio::io::control_major(dwIoControlCode));
        if (!NT_ERROR(s) && lpBytesReturned) *lpBytesReturned = overlapped_bytes(lpOverlapped);
        if (!NT_SUCCESS(s) || s == STATUS_PENDING) return fail(s);
        return TRUE;
    }
    if (!lpBytesReturned) {  // required without an OVERLAPPED (S-DSP-13)
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    IO_STATUS_BLOCK iosb{};
    NTSTATUS s = ntio::io::device_control_plain(hDevice, &iosb, dwIoControlCode, lpInBuffer, nInBufferSize,
                                                lpOutBuffer, nOutBufferSize);
    if (s == STATUS_PENDING) {  // an overlapped handle used without an OVERLAPPED (S-DSP-15)
        NtWaitForSingleObject(hDevice, FALSE, nullptr);
        ntio::ps::stop_if_program_exiting();
        s = iosb.Status;
    }
    if (NT_SUCCESS(s)) {
        *lpBytesReturned = static_cast<DWORD>(iosb.Information);
        return TRUE;
    }
    if (!NT_ERROR(s)) *lpBytesReturned = static_cast<DWORD>(iosb.Information);  // warnings deliver data
    return fail(s);
}

static BOOL read_write(HANDLE h, LPVOID buffer, DWORD length, LPDWORD done, LPOVERLAPPED ov, bool write) {
    if (done) *done = 0;  // S-DSP-16: before anything else
    auto call = write ? NtWriteFile : NtReadFile;
    if (ov) {
        HANDLE event;
        PVOID context;
        overlapped_event(ov, &event, &context);
        LARGE_INTEGER offset;
        offset.LowPart = ov->Offset;
        offset.HighPart = static_cast<LONG>(ov->OffsetHigh);
        ov->Internal = static_cast<ULONG_PTR>(STATUS_PENDING);
        NTSTATUS s = call(h, event, nullptr, context, reinterpret_cast<PIO_STATUS_BLOCK>(ov), buffer, length, &offset,
                          nullptr);
        if (!NT_ERROR(s) && done) *done = overlapped_bytes(ov);
        if (!NT_SUCCESS(s) || s == STATUS_PENDING) return fail(s);
        return TRUE;
    }
    if (!done) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    IO_STATUS_BLOCK iosb{};
    NTSTATUS s = call(h, nullptr, nullptr, nullptr, &iosb, buffer, length, nullptr, nullptr);
    if (s == STATUS_PENDING) {
        NtWaitForSingleObject(h, FALSE, nullptr);
        ntio::ps::stop_if_program_exiting();
        s = iosb.Status;
    }
    if (!write && s == STATUS_END_OF_FILE) return TRUE;  // a synchronous read at the end: TRUE, 0 bytes
    if (NT_SUCCESS(s)) {
        *done = static_cast<DWORD>(iosb.Information);
        return TRUE;
    }
    if (!NT_ERROR(s)) *done = static_cast<DWORD>(iosb.Information);
    return fail(s);
}

BOOL ReadFile(HANDLE hFile, LPVOID lpBuffer, DWORD nNumberOfBytesToRead, LPDWORD lpNumberOfBytesRead,
              LPOVERLAPPED lpOverlapped) {
    return read_write(hFile, lpBuffer, nNumberOfBytesToRead, lpNumberOfBytesRead, lpOverlapped, false);
}

BOOL WriteFile(HANDLE hFile, LPCVOID lpBuffer, DWORD nNumberOfBytesToWrite, LPDWORD lpNumberOfBytesWritten,
               LPOVERLAPPED lpOverlapped) {
    return read_write(hFile, const_cast<LPVOID>(lpBuffer), nNumberOfBytesToWrite, lpNumberOfBytesWritten,
                      lpOverlapped, true);
}

// ---- completion routines: ReadFileEx / WriteFileEx (S-APC-6) ---------------------------

namespace {

// The I/O manager's APC for a ...FileEx request: its context is the caller's routine and
// its status block the caller's OVERLAPPED.
VOID NTAPI call_completion_routine(PVOID context, PIO_STATUS_BLOCK iosb, ULONG) {
    auto routine = reinterpret_cast<LPOVERLAPPED_COMPLETION_ROUTINE>(context);
    routine(RtlNtStatusToDosError(iosb->Status), static_cast<DWORD>(iosb->Information),
            reinterpret_cast<LPOVERLAPPED>(iosb));
}

// hEvent is the caller's to use: it is neither reset nor set. TRUE once the request is
// under way or done without an error, its routine then queued or to be queued; as
// Microsoft documents it, a warning (STATUS_BUFFER_OVERFLOW) is TRUE too, with its
// error (ERROR_MORE_DATA) as the last error, and anything else leaves ERROR_SUCCESS.
BOOL read_write_ex(HANDLE h, LPVOID buffer, DWORD length, LPOVERLAPPED ov, LPOVERLAPPED_COMPLETION_ROUTINE routine,
                   bool write) {
    if (!ov || !routine) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    LARGE_INTEGER offset;
    offset.LowPart = ov->Offset;
    offset.HighPart = static_cast<LONG>(ov->OffsetHigh);
    ov->Internal = static_cast<ULONG_PTR>(STATUS_PENDING);
    ov->InternalHigh = 0;
    auto call = write ? NtWriteFile : NtReadFile;
    NTSTATUS s = call(h, nullptr, call_completion_routine, reinterpret_cast<PVOID>(routine),
                      reinterpret_cast<PIO_STATUS_BLOCK>(ov), buffer, length, &offset, nullptr);
    if (NT_ERROR(s)) return fail(s);
    set_last_error(NT_WARNING(s) ? RtlNtStatusToDosError(s) : ERROR_SUCCESS);
    return TRUE;
}

}  // namespace

BOOL ReadFileEx(HANDLE hFile, LPVOID lpBuffer, DWORD nNumberOfBytesToRead, LPOVERLAPPED lpOverlapped,
                LPOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine) {
    return read_write_ex(hFile, lpBuffer, nNumberOfBytesToRead, lpOverlapped, lpCompletionRoutine, false);
}

BOOL WriteFileEx(HANDLE hFile, LPCVOID lpBuffer, DWORD nNumberOfBytesToWrite, LPOVERLAPPED lpOverlapped,
                 LPOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine) {
    return read_write_ex(hFile, const_cast<LPVOID>(lpBuffer), nNumberOfBytesToWrite, lpOverlapped,
                         lpCompletionRoutine, true);
}

BOOL GetOverlappedResultEx(HANDLE hFile, LPOVERLAPPED lpOverlapped, LPDWORD lpNumberOfBytesTransferred,
                           DWORD dwMilliseconds, BOOL bAlertable) {
    if (overlapped_status(lpOverlapped) == STATUS_PENDING) {
        if (dwMilliseconds == 0) {  // S-W32-6
            set_last_error(ERROR_IO_INCOMPLETE);
            return FALSE;
        }
        HANDLE wait_on = lpOverlapped->hEvent
                             ? reinterpret_cast<HANDLE>(reinterpret_cast<ULONG_PTR>(lpOverlapped->hEvent) & ~ULONG_PTR(1))
                             : hFile;
        DWORD r = WaitForSingleObjectEx(wait_on, dwMilliseconds, bAlertable);
        if (r == WAIT_TIMEOUT || r == WAIT_IO_COMPLETION) {
            set_last_error(r);
            return FALSE;
        }
        if (r == WAIT_FAILED) return FALSE;
        if (overlapped_status(lpOverlapped) == STATUS_PENDING) {
            // Signaled but not complete: another request shares the event or file handle (S-W32-7).
            set_last_error(ERROR_IO_INCOMPLETE);
            return FALSE;
        }
    }
    if (lpNumberOfBytesTransferred) *lpNumberOfBytesTransferred = overlapped_bytes(lpOverlapped);
    if (ntio::trace::enabled()) [[unlikely]]
        ntio::trace::result_collected(lpOverlapped, ntio::trace::kCollectedOverlappedResult);
    NTSTATUS status = overlapped_status(lpOverlapped);
    if (NT_SUCCESS(status)) return TRUE;
    return fail(status);
}

BOOL GetOverlappedResult(HANDLE hFile, LPOVERLAPPED lpOverlapped, LPDWORD lpNumberOfBytesTransferred, BOOL bWait) {
    return GetOverlappedResultEx(hFile, lpOverlapped, lpNumberOfBytesTransferred, bWait ? INFINITE : 0, FALSE);
}

// ---- the file pointer, size, type and flush (S-INF-7) ------------------------------------

BOOL SetFilePointerEx(HANDLE hFile, LARGE_INTEGER liDistanceToMove, PLARGE_INTEGER lpNewFilePointer,
                      DWORD dwMoveMethod) {
    IO_STATUS_BLOCK iosb{};
    LONGLONG base = 0;
    NTSTATUS s = STATUS_SUCCESS;
    switch (dwMoveMethod) {
    case FILE_BEGIN: break;
    case FILE_CURRENT: {
        FILE_POSITION_INFORMATION position{};
        s = NtQueryInformationFile(hFile, &iosb, &position, sizeof(position), FilePositionInformation);
        base = position.CurrentByteOffset.QuadPart;
        break;
    }
    case FILE_END: {
        FILE_STANDARD_INFORMATION standard{};
        s = NtQueryInformationFile(hFile, &iosb, &standard, sizeof(standard), FileStandardInformation);
        base = standard.EndOfFile.QuadPart;
        break;
    }
    default: set_last_error(ERROR_INVALID_PARAMETER); return FALSE;
    }
    if (!NT_SUCCESS(s)) return fail(s);
    FILE_POSITION_INFORMATION to{};
    // Wraps as the signed 64-bit sum Windows computes; a result before 0 is refused.
    to.CurrentByteOffset.QuadPart =
        static_cast<LONGLONG>(static_cast<ULONGLONG>(base) + static_cast<ULONGLONG>(liDistanceToMove.QuadPart));
    if (to.CurrentByteOffset.QuadPart < 0) {
        set_last_error(ERROR_NEGATIVE_SEEK);
        return FALSE;
    }
    s = NtSetInformationFile(hFile, &iosb, &to, sizeof(to), FilePositionInformation);
    if (!NT_SUCCESS(s)) return fail(s);
    if (lpNewFilePointer) *lpNewFilePointer = to.CurrentByteOffset;
    return TRUE;
}

// The distance is lDistanceToMove alone (sign-extended) without lpDistanceToMoveHigh, and
// a position that then needs more than 32 bits is refused before the pointer moves. A
// successful move to a position whose low part is INVALID_SET_FILE_POINTER clears the
// last error, so that the caller can tell it from a failure.
DWORD SetFilePointer(HANDLE hFile, LONG lDistanceToMove, PLONG lpDistanceToMoveHigh, DWORD dwMoveMethod) {
    LARGE_INTEGER distance;
    if (lpDistanceToMoveHigh) {
        distance.LowPart = static_cast<DWORD>(lDistanceToMove);
        distance.HighPart = *lpDistanceToMoveHigh;
    } else {
        distance.QuadPart = lDistanceToMove;
    }
    if (!lpDistanceToMoveHigh && dwMoveMethod != FILE_BEGIN) {
        // Where the move would land, to refuse it before anything changes.
        IO_STATUS_BLOCK iosb{};
        LONGLONG base = 0;
        NTSTATUS s = STATUS_SUCCESS;
        if (dwMoveMethod == FILE_CURRENT) {
            FILE_POSITION_INFORMATION position{};
            s = NtQueryInformationFile(hFile, &iosb, &position, sizeof(position), FilePositionInformation);
            base = position.CurrentByteOffset.QuadPart;
        } else if (dwMoveMethod == FILE_END) {
            FILE_STANDARD_INFORMATION standard{};
            s = NtQueryInformationFile(hFile, &iosb, &standard, sizeof(standard), FileStandardInformation);
            base = standard.EndOfFile.QuadPart;
        }
        if (!NT_SUCCESS(s)) {
            set_error_from_status(s);
            return INVALID_SET_FILE_POINTER;
        }
        LONGLONG target = base + distance.QuadPart;
        if (target >= 0 && target > 0xFFFFFFFFLL) {
            set_last_error(ERROR_INVALID_PARAMETER);
            return INVALID_SET_FILE_POINTER;
        }
    }
    LARGE_INTEGER now{};
    if (!SetFilePointerEx(hFile, distance, &now, dwMoveMethod)) return INVALID_SET_FILE_POINTER;
    if (lpDistanceToMoveHigh) *lpDistanceToMoveHigh = now.HighPart;
    if (now.LowPart == INVALID_SET_FILE_POINTER) set_last_error(NO_ERROR);
    return now.LowPart;
}

BOOL GetFileSizeEx(HANDLE hFile, PLARGE_INTEGER lpFileSize) {
    if (!lpFileSize) {
        set_last_error(ERROR_INVALID_PARAMETER);  // Windows faults
        return FALSE;
    }
    IO_STATUS_BLOCK iosb{};
    FILE_STANDARD_INFORMATION standard{};
    NTSTATUS s = NtQueryInformationFile(hFile, &iosb, &standard, sizeof(standard), FileStandardInformation);
    if (!NT_SUCCESS(s)) return fail(s);
    *lpFileSize = standard.EndOfFile;
    return TRUE;
}

// INVALID_FILE_SIZE is also a size's valid low part: then the last error is NO_ERROR.
DWORD GetFileSize(HANDLE hFile, LPDWORD lpFileSizeHigh) {
    LARGE_INTEGER size;
    if (!GetFileSizeEx(hFile, &size)) return INVALID_FILE_SIZE;
    if (lpFileSizeHigh) *lpFileSizeHigh = static_cast<DWORD>(size.HighPart);
    if (size.LowPart == INVALID_FILE_SIZE) set_last_error(NO_ERROR);
    return size.LowPart;
}

// The device's type, as kernelbase maps it: storage is a disk, the character devices of
// the FILE_DEVICE_* list are character devices, anything else (FILE_DEVICE_UNKNOWN
// included) is unknown, with the last error cleared to tell it from a failure.
DWORD GetCurrentDirectoryA(DWORD nBufferLength, LPSTR lpBuffer) {
    std::string dir;
    if (!host_directory(&dir)) return 0;
    return deliver_directory(dir, nBufferLength, lpBuffer);
}

DWORD GetCurrentDirectoryW(DWORD nBufferLength, LPWSTR lpBuffer) {
    std::string dir;
    if (!host_directory(&dir)) return 0;
    std::wstring wide;
    {
        ntio::rtl::Utf8Scope utf8;
        wide = ntio::rtl::from_multibyte(dir);
    }
    return deliver_directory(wide, nBufferLength, lpBuffer);
}

DWORD GetFileType(HANDLE hFile) {
    IO_STATUS_BLOCK iosb{};
    FILE_FS_DEVICE_INFORMATION device{};
    NTSTATUS s = NtQueryVolumeInformationFile(hFile, &iosb, &device, sizeof(device), FileFsDeviceInformation);
    if (!NT_SUCCESS(s)) {
        set_error_from_status(s);
        return FILE_TYPE_UNKNOWN;
    }
    switch (device.DeviceType) {
    case FILE_DEVICE_CD_ROM:
    case FILE_DEVICE_CD_ROM_FILE_SYSTEM:
    case FILE_DEVICE_CONTROLLER:
    case FILE_DEVICE_DATALINK:
    case FILE_DEVICE_DFS:
    case FILE_DEVICE_DISK:
    case FILE_DEVICE_DISK_FILE_SYSTEM:
    case FILE_DEVICE_VIRTUAL_DISK: return FILE_TYPE_DISK;
    case FILE_DEVICE_KEYBOARD:
    case FILE_DEVICE_MOUSE:
    case FILE_DEVICE_NULL:
    case FILE_DEVICE_PARALLEL_PORT:
    case FILE_DEVICE_PRINTER:
    case FILE_DEVICE_SERIAL_PORT:
    case FILE_DEVICE_SCREEN:
    case FILE_DEVICE_SOUND:
    case FILE_DEVICE_MODEM: return FILE_TYPE_CHAR;
    case FILE_DEVICE_NAMED_PIPE: return FILE_TYPE_PIPE;
    default: set_last_error(NO_ERROR); return FILE_TYPE_UNKNOWN;
    }
}

// The end of file where the file pointer is: the position, then the driver's
// FileEndOfFileInformation (which needs FILE_WRITE_DATA, S-INF-2).
BOOL SetEndOfFile(HANDLE hFile) {
    IO_STATUS_BLOCK iosb{};
    FILE_POSITION_INFORMATION position{};
    NTSTATUS s = NtQueryInformationFile(hFile, &iosb, &position, sizeof(position), FilePositionInformation);
    if (!NT_SUCCESS(s)) return fail(s);
    FILE_END_OF_FILE_INFORMATION eof{};
    eof.EndOfFile = position.CurrentByteOffset;
    s = NtSetInformationFile(hFile, &iosb, &eof, sizeof(eof), FileEndOfFileInformation);
    return NT_SUCCESS(s) ? TRUE : fail(s);
}

// ---- information by handle (S-INF-8..10) ---------------------------------------------

// What the file is, from two requests to its driver: FileAllInformation in a buffer of
// that structure's size (the name does not fit, so STATUS_BUFFER_OVERFLOW is success
// here) and the volume's FileFsVolumeInformation, label cut short the same way. An error
// from either is the call's.
BOOL GetFileInformationByHandle(HANDLE hFile, LPBY_HANDLE_FILE_INFORMATION lpFileInformation) {
    if (!lpFileInformation) {
        set_last_error(ERROR_INVALID_PARAMETER);  // Windows faults, as GetFileSizeEx
        return FALSE;
    }
    IO_STATUS_BLOCK iosb{};
    FILE_ALL_INFORMATION all{};
    NTSTATUS s = NtQueryInformationFile(hFile, &iosb, &all, sizeof(all), FileAllInformation);
    if (NT_ERROR(s)) return fail(s);
    FILE_FS_VOLUME_INFORMATION volume{};
    s = NtQueryVolumeInformationFile(hFile, &iosb, &volume, sizeof(volume), FileFsVolumeInformation);
    if (NT_ERROR(s)) return fail(s);
    auto filetime = [](LARGE_INTEGER t) {
        FILETIME f;
        f.dwLowDateTime = t.LowPart;
        f.dwHighDateTime = static_cast<DWORD>(t.HighPart);
        return f;
    };
    const FILE_BASIC_INFORMATION& basic = all.BasicInformation;
    const FILE_STANDARD_INFORMATION& standard = all.StandardInformation;
    lpFileInformation->dwFileAttributes = basic.FileAttributes;
    lpFileInformation->ftCreationTime = filetime(basic.CreationTime);
    lpFileInformation->ftLastAccessTime = filetime(basic.LastAccessTime);
    lpFileInformation->ftLastWriteTime = filetime(basic.LastWriteTime);
    lpFileInformation->dwVolumeSerialNumber = volume.VolumeSerialNumber;
    lpFileInformation->nFileSizeHigh = static_cast<DWORD>(standard.EndOfFile.HighPart);
    lpFileInformation->nFileSizeLow = standard.EndOfFile.LowPart;
    lpFileInformation->nNumberOfLinks = standard.NumberOfLinks;
    lpFileInformation->nFileIndexHigh = static_cast<DWORD>(all.InternalInformation.IndexNumber.HighPart);
    lpFileInformation->nFileIndexLow = all.InternalInformation.IndexNumber.LowPart;
    return TRUE;
}

}  // extern "C"

namespace {
// The NT class a FILE_INFO_BY_HANDLE_CLASS is for each direction, or 0 when there is
// none here (S-INF-9): the Win32 structures are the NT ones under other names.
ULONG query_class_for(FILE_INFO_BY_HANDLE_CLASS c) {
    switch (c) {
    case FileBasicInfo: return FileBasicInformation;
    case FileStandardInfo: return FileStandardInformation;
    case FileNameInfo: return FileNameInformation;
    case FileAttributeTagInfo: return FileAttributeTagInformation;
    case FileAlignmentInfo: return FileAlignmentInformation;
    default: return 0;
    }
}
ULONG set_class_for(FILE_INFO_BY_HANDLE_CLASS c) {
    switch (c) {
    case FileBasicInfo: return FileBasicInformation;
    case FileDispositionInfo: return FileDispositionInformation;
    case FileAllocationInfo: return FileAllocationInformation;
    case FileEndOfFileInfo: return FileEndOfFileInformation;
    default: return 0;
    }
}
static_assert(sizeof(FILE_BASIC_INFO) == sizeof(FILE_BASIC_INFORMATION));
static_assert(sizeof(FILE_STANDARD_INFO) == sizeof(FILE_STANDARD_INFORMATION));
static_assert(sizeof(FILE_NAME_INFO) == sizeof(FILE_NAME_INFORMATION));
static_assert(sizeof(FILE_ATTRIBUTE_TAG_INFO) == sizeof(FILE_ATTRIBUTE_TAG_INFORMATION));
static_assert(sizeof(FILE_ALIGNMENT_INFO) == sizeof(FILE_ALIGNMENT_INFORMATION));
static_assert(sizeof(FILE_DISPOSITION_INFO) == sizeof(FILE_DISPOSITION_INFORMATION));
static_assert(sizeof(FILE_ALLOCATION_INFO) == sizeof(FILE_ALLOCATION_INFORMATION));
static_assert(sizeof(FILE_END_OF_FILE_INFO) == sizeof(FILE_END_OF_FILE_INFORMATION));
}  // namespace

extern "C" {

// Any status but success fails, warnings included: a FileNameInfo buffer that holds the
// length but not the whole name is ERROR_MORE_DATA, with FileNameLength the full size.
BOOL GetFileInformationByHandleEx(HANDLE hFile, FILE_INFO_BY_HANDLE_CLASS FileInformationClass,
                                  LPVOID lpFileInformation, DWORD dwBufferSize) {
    ULONG c = query_class_for(FileInformationClass);
    if (!c) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    IO_STATUS_BLOCK iosb{};
    NTSTATUS s = NtQueryInformationFile(hFile, &iosb, lpFileInformation, dwBufferSize,
                                        static_cast<FILE_INFORMATION_CLASS>(c));
    return s == STATUS_SUCCESS ? TRUE : fail(s);
}

BOOL SetFileInformationByHandle(HANDLE hFile, FILE_INFO_BY_HANDLE_CLASS FileInformationClass,
                                LPVOID lpFileInformation, DWORD dwBufferSize) {
    ULONG c = set_class_for(FileInformationClass);
    if (!c) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    IO_STATUS_BLOCK iosb{};
    NTSTATUS s = NtSetInformationFile(hFile, &iosb, lpFileInformation, dwBufferSize,
                                      static_cast<FILE_INFORMATION_CLASS>(c));
    return NT_SUCCESS(s) ? TRUE : fail(s);
}

BOOL FlushFileBuffers(HANDLE hFile) {
    IO_STATUS_BLOCK iosb{};
    NTSTATUS s = NtFlushBuffersFile(hFile, &iosb);
    return NT_SUCCESS(s) ? TRUE : fail(s);
}

}  // extern "C"

// ---- QueryDosDevice (S-DOS-1, S-DOS-2) ---------------------------------------------------

namespace {

// The MULTI_SZ QueryDosDevice returns: the target of \??\name, or with no name every name
// in \?? (sorted: Windows gives directory order, which nothing may rely on).
bool dos_device_list(LPCWSTR name, std::wstring* multi_sz) {
    ntio::System::Impl& s = ntio::sys();
    multi_sz->clear();
    if (name) {
        void* object = s.names.lookup_referenced(std::wstring(L"\\??\\") + name);
        if (!object || ntio::ob::type_of(object) != &ntio::ob::g_symlink_type) {
            if (object) ntio::ob::dereference(object);
            set_last_error(ERROR_FILE_NOT_FOUND);
            return false;
        }
        *multi_sz = static_cast<ntio::ob::SymbolicLink*>(object)->target;
        multi_sz->push_back(L'\0');
        ntio::ob::dereference(object);
    } else {
        std::vector<std::wstring> names = s.names.names_in(L"\\??");
        std::sort(names.begin(), names.end());
        for (const std::wstring& n : names) {
            multi_sz->append(n);
            multi_sz->push_back(L'\0');
        }
    }
    multi_sz->push_back(L'\0');  // the list's end
    return true;
}

}  // namespace

DWORD QueryDosDeviceW(LPCWSTR lpDeviceName, LPWSTR lpTargetPath, DWORD ucchMax) {
    std::wstring list;
    if (!dos_device_list(lpDeviceName, &list)) return 0;
    if (!lpTargetPath || ucchMax < list.size()) {
        set_last_error(ERROR_INSUFFICIENT_BUFFER);
        return 0;
    }
    std::copy(list.begin(), list.end(), lpTargetPath);
    set_last_error(ERROR_SUCCESS);
    return static_cast<DWORD>(list.size());
}

DWORD QueryDosDeviceA(LPCSTR lpDeviceName, LPSTR lpTargetPath, DWORD ucchMax) {
    std::wstring list;
    if (!dos_device_list(lpDeviceName ? widen(lpDeviceName).c_str() : nullptr, &list)) return 0;
    std::string narrow;
    {
        ntio::rtl::Utf8Scope utf8;
        // Each string of the list on its own: the conversion stops at a NUL.
        for (size_t at = 0; at < list.size();) {
            size_t end = list.find(L'\0', at);
            narrow += ntio::rtl::to_multibyte(list.substr(at, end - at).c_str());
            narrow.push_back('\0');
            at = end + 1;
        }
    }
    if (!lpTargetPath || ucchMax < narrow.size()) {
        set_last_error(ERROR_INSUFFICIENT_BUFFER);
        return 0;
    }
    std::memcpy(lpTargetPath, narrow.data(), narrow.size());
    set_last_error(ERROR_SUCCESS);
    return static_cast<DWORD>(narrow.size());
}
