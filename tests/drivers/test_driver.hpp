// A scripted test driver for the I/O manager tests. Each request carries a Script
// saying what the dispatch routine does (status, information, pending, bytes to
// write, complete now / later / on demand); the driver records what it saw in an
// Observation the test can assert on. Linked into the test program and loaded with
// System::load_driver("ntiotest", testdrv::DriverEntry).
#pragma once
#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "wdm.h"
#include "windows.h"

namespace testdrv {

// Devices (\Device\<name>, reachable as \\.\<name>)
constexpr const wchar_t* kBuffered = L"TestBuffered";    // DO_BUFFERED_IO
constexpr const wchar_t* kDirect = L"TestDirect";        // DO_DIRECT_IO
constexpr const wchar_t* kNeither = L"TestNeither";      // neither flag
constexpr const wchar_t* kExclusive = L"TestExclusive";  // IoCreateDevice(Exclusive = TRUE)

#define TESTDRV_CODE(fn, method, access) CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800 + (fn), (method), (access))
constexpr ULONG IOCTL_BUFFERED = TESTDRV_CODE(0, METHOD_BUFFERED, FILE_ANY_ACCESS);
constexpr ULONG IOCTL_IN_DIRECT = TESTDRV_CODE(1, METHOD_IN_DIRECT, FILE_ANY_ACCESS);
constexpr ULONG IOCTL_OUT_DIRECT = TESTDRV_CODE(2, METHOD_OUT_DIRECT, FILE_ANY_ACCESS);
constexpr ULONG IOCTL_NEITHER = TESTDRV_CODE(3, METHOD_NEITHER, FILE_ANY_ACCESS);
constexpr ULONG IOCTL_READ_ACCESS = TESTDRV_CODE(4, METHOD_BUFFERED, FILE_READ_ACCESS);
constexpr ULONG IOCTL_WRITE_ACCESS = TESTDRV_CODE(5, METHOD_BUFFERED, FILE_WRITE_ACCESS);
constexpr ULONG FSCTL_TEST = CTL_CODE(FILE_DEVICE_FILE_SYSTEM, 0x806, METHOD_BUFFERED, FILE_ANY_ACCESS);
constexpr ULONG IOCTL_UNKNOWN = TESTDRV_CODE(0x7f, METHOD_BUFFERED, FILE_ANY_ACCESS);

enum class Finish : UCHAR {
    now,    // IoCompleteRequest inside dispatch
    later,  // from a system thread after delay_ms; dispatch returns STATUS_PENDING
    held,   // kept until the test calls complete_held(); dispatch returns STATUS_PENDING
    dpc,    // from a timer DPC (DISPATCH_LEVEL) after delay_ms (+ the spread below); STATUS_PENDING
};

// The byte a pattern read returns, and a pattern write must carry, at a file offset.
inline UCHAR pattern_byte(LONGLONG offset) {
    return static_cast<UCHAR>((offset * 131 + (offset >> 8) * 7 + 17) & 0xff);
}

struct Script {
    NTSTATUS status = STATUS_SUCCESS;  // IoStatus.Status
    ULONG information = 0;             // IoStatus.Information
    ULONG fill_length = 0;             // bytes of `fill` written to the output buffer
    UCHAR fill = 0xAB;
    Finish finish = Finish::now;
    BOOLEAN mark_pending = FALSE;      // IoMarkIrpPending even when finishing now
    BOOLEAN override_return = FALSE;   // finish now, but return `dispatch_return`
    NTSTATUS dispatch_return = STATUS_SUCCESS;
    ULONG delay_ms = 0;
    // Finish::dpc: request n (in dispatch order) waits delay_ms + n % delay_spread ms,
    // so requests in flight together complete out of order.
    ULONG delay_spread = 0;
    // Reads and writes: a read returns pattern_byte(ByteOffset + i) for each byte i; a
    // write succeeds only if it carries that pattern (else STATUS_DATA_ERROR). Either
    // way IoStatus.Information is the whole length.
    BOOLEAN pattern = FALSE;
    // Finish::now: before completing, make the pages of Irp->UserBuffer (OutputBufferLength
    // bytes) read-only, as an application changing its buffer during the request would.
    BOOLEAN protect_user_buffer = FALSE;
};

struct Observation {
    UCHAR major = 0, minor = 0;
    ULONG code = 0, input_length = 0, output_length = 0, flags = 0, file_flags = 0;
    PVOID system_buffer = nullptr, user_buffer = nullptr, type3 = nullptr, mdl_va = nullptr;
    PMDL mdl = nullptr;
    ULONG mdl_bytes = 0;
    unsigned char system_buffer_head[16] = {};
    ULONG system_buffer_zero_tail = 0;  // bytes after the input that read as zero
    KIRQL irql = 0xff;
    PETHREAD thread = nullptr;
    KPROCESSOR_MODE requestor_mode = -1;
    PFILE_OBJECT file = nullptr;
    PFILE_OBJECT original_file = nullptr;
    bool on_thread_list = false;
    std::wstring file_name;
    USHORT share_access = 0;
    ACCESS_MASK create_access = 0;
    CHAR current_location = 0, stack_count = 0;
    LARGE_INTEGER byte_offset{};
    ULONG info_class = 0, info_length = 0;  // query/set information, query volume
    ULONGLONG at = 0;  // KeQueryInterruptTime() when dispatched
};

struct State {
    std::mutex lock;
    std::vector<Observation> log;  // every IRP the driver received, in order
    std::vector<PIRP> held;        // Finish::held requests
    std::atomic<int> creates{0}, cleanups{0}, closes{0}, dispatched{0};
    std::atomic<int> held_at_cleanup{-1};  // requests still held when IRP_MJ_CLEANUP came
    NTSTATUS fail_create = STATUS_SUCCESS;
    bool check_share_access = false;
    SHARE_ACCESS share{};
    Script next_read_write;  // script for IRP_MJ_READ / IRP_MJ_WRITE
    // IRP_MJ_QUERY_INFORMATION / SET_INFORMATION / QUERY_VOLUME_INFORMATION / FLUSH_BUFFERS:
    // how they finish (status and information come from the class, see Dispatch, unless
    // the script's status is an error).
    Script next_info;
    LONGLONG end_of_file = 0;  // FileStandardInformation's EndOfFile; FileEndOfFileInformation sets it
    // What the other classes report and set: FileBasicInformation's attributes (and
    // FileAttributeTagInformation's), FileAllocationInformation, FileDispositionInformation
    // (FileStandardInformation's DeletePending). The file's name is kFileName, its index
    // kFileIndex, the volume's serial kVolumeSerial.
    ULONG file_attributes = FILE_ATTRIBUTE_NORMAL;
    LONGLONG allocation_size = 0;
    bool delete_pending = false;
    PDRIVER_OBJECT driver = nullptr;
    std::wstring registry_path, driver_name;
    KIRQL entry_irql = 0xff;
    bool entry_on_system_thread = false;
    bool unloaded = false;
};
inline constexpr const wchar_t* kFileName = L"\\data\\file.bin";
inline constexpr ULONGLONG kFileIndex = 0x0000002A00001234ULL;
inline constexpr ULONG kVolumeSerial = 0x1CE5EA1;
State& state();
void reset();
Observation last();
std::vector<Observation> observations(UCHAR major);
// Completes the oldest held request with `status`/`information` (from the calling thread).
bool complete_held(NTSTATUS status, ULONG information, ULONG fill_length = 0, UCHAR fill = 0xCD);
size_t held_count();

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);
// IoDeleteDevice on one of the driver's devices (and its link), as a surprise removal would.
void delete_device(const wchar_t* name);
// Creates a device after DriverEntry and leaves DO_DEVICE_INITIALIZING set (S-W32-12).
PDEVICE_OBJECT create_uninitialized_device(const wchar_t* name);

}  // namespace testdrv
