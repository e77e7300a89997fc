// The system error log: IoAllocateErrorLogEntry, IoWriteErrorLogEntry, IoFreeErrorLogEntry.
// On Windows an entry goes to the error log thread and on to the System event log, where
// the Event Viewer expands its ErrorCode through the driver's message file with the
// entry's strings. ntio has no event log service: a written entry becomes one record of
// the debug output (beside the driver's DbgPrint lines, on the same clock) with every
// field of the packet, its dump data and its strings, and the runtime keeps the lines
// for System::error_log(). The entry is pool charged to the calling driver, so one that
// is never written nor freed shows in the unload report like any other pool block.
#include <cstddef>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "io/iomgr.hpp"
#include "rtl/debug_print.hpp"
#include "rtl/windows_format.hpp"
#include "system.hpp"
#include "verifier/drivers.hpp"
#include "verifier/hooks.hpp"
#include "verifier/report.hpp"

using namespace ntio;

namespace {

// Pool tag "ErrL" as a pool dump shows it.
constexpr ULONG kErrorLogTag = 'E' | ('r' << 8) | ('r' << 16) | (ULONG('L') << 24);

// What precedes the packet the driver sees: the object it reports about (referenced
// until the entry is written or freed, so its names are still there) and the size it
// asked for, which bounds what the record reads of the packet.
struct alignas(16) EntryHeader {
    uint32_t size;
    PVOID io_object;
};

EntryHeader* header_of(PVOID entry) { return static_cast<EntryHeader*>(entry) - 1; }

// The entry behind a driver's pointer, taken off the live set so that nothing else can
// write or free it; null (reported) when it is not one of ours or was already written or
// freed: Windows would free it twice. The set is asked, not the memory, which may be
// freed already.
EntryHeader* take_entry(PVOID entry, const char* api) {
    System::Impl& s = sys();
    {
        std::lock_guard g(s.error_log_lock);
        if (entry && s.error_log_entries.erase(entry)) return header_of(entry);
    }
    verifier::report(verifier::Check::InvalidParameter,
                     fmt::format("{}({}): not an entry from IoAllocateErrorLogEntry, or one already written or freed; "
                                 "it was left alone",
                                 api, entry));
    return nullptr;
}

CSHORT object_type(PVOID object) { return *static_cast<const CSHORT*>(object); }

std::string narrow(const UNICODE_STRING& s) {
    std::wstring wide(s.Buffer ? s.Buffer : L"", s.Buffer ? s.Length / sizeof(WCHAR) : 0);
    rtl::Utf8Scope utf8;
    return rtl::to_multibyte(wide.c_str());
}

// "\Driver\Name, device \Device\Name" (or the driver alone for a driver object).
std::string source_of(PVOID io_object) {
    if (object_type(io_object) == IO_TYPE_DRIVER) return narrow(static_cast<PDRIVER_OBJECT>(io_object)->DriverName);
    auto* device = static_cast<PDEVICE_OBJECT>(io_object);
    return narrow(device->DriverObject->DriverName) + ", device " + io::device_label(device);
}

// The strings after the packet: NumberOfStrings NUL-terminated wide strings from
// StringOffset, all inside the entry; anything else is reported and left out.
std::string strings_of(const IO_ERROR_LOG_PACKET* p, uint32_t size, const std::string& source) {
    if (p->NumberOfStrings == 0) return {};
    const auto* bytes = reinterpret_cast<const unsigned char*>(p);
    size_t at = p->StringOffset;
    std::string out;
    for (USHORT i = 0; i < p->NumberOfStrings; ++i) {
        std::wstring text;
        bool terminated = false;
        for (; at + sizeof(WCHAR) <= size; at += sizeof(WCHAR)) {
            WCHAR c;
            std::memcpy(&c, bytes + at, sizeof c);
            if (c == 0) {
                terminated = true;
                at += sizeof(WCHAR);
                break;
            }
            text += c;
        }
        if (!terminated) {
            verifier::report(verifier::Check::InvalidParameter,
                             fmt::format("IoWriteErrorLogEntry ({}): string {} of {} from StringOffset {} runs past the "
                                         "entry's {} bytes; the strings were left out",
                                         source, i + 1, p->NumberOfStrings, p->StringOffset, size));
            return out;
        }
        rtl::Utf8Scope utf8;
        out += fmt::format(" \"{}\"", rtl::to_multibyte(text.c_str()));
    }
    return ", strings" + out;
}

std::string dump_of(const IO_ERROR_LOG_PACKET* p, uint32_t size, const std::string& source) {
    size_t room = size > offsetof(IO_ERROR_LOG_PACKET, DumpData) ? size - offsetof(IO_ERROR_LOG_PACKET, DumpData) : 0;
    size_t bytes = p->DumpDataSize;
    if (bytes > room) {
        verifier::report(verifier::Check::InvalidParameter,
                         fmt::format("IoWriteErrorLogEntry ({}): DumpDataSize {} runs past the entry's {} bytes; the "
                                     "dump was cut to what the entry holds",
                                     source, p->DumpDataSize, size));
        bytes = room;
    }
    if (bytes == 0) return {};
    std::string out = ", dump data";
    const auto* data = reinterpret_cast<const unsigned char*>(p->DumpData);
    for (size_t i = 0; i + 4 <= bytes; i += 4) {
        ULONG word;
        std::memcpy(&word, data + i, sizeof word);
        out += fmt::format(" {:08x}", word);
    }
    for (size_t i = bytes & ~size_t(3); i < bytes; ++i) out += fmt::format(" {:02x}", data[i]);
    return out;
}

void release(EntryHeader* h) {
    PVOID object = h->io_object;
    sys().pool.free(h, kErrorLogTag, true, "IoFreeErrorLogEntry");
    ObDereferenceObject(object);
}

}  // namespace

extern "C" {

PVOID IoAllocateErrorLogEntry(PVOID IoObject, UCHAR EntrySize) {
    verifier::check_irql_at_most(DISPATCH_LEVEL, "IoAllocateErrorLogEntry");
    if (!IoObject) return nullptr;
    CSHORT type = object_type(IoObject);
    if (type != IO_TYPE_DEVICE && type != IO_TYPE_DRIVER) {
        verifier::report(verifier::Check::InvalidParameter,
                         fmt::format("IoAllocateErrorLogEntry({}): neither a device object nor a driver object; no "
                                     "entry was allocated",
                                     IoObject));
        return nullptr;
    }
    // A UCHAR never exceeds ERROR_LOG_MAXIMUM_SIZE on 64-bit Windows; an entry too small
    // for the packet itself would have the driver write past it.
    if (EntrySize < sizeof(IO_ERROR_LOG_PACKET)) return nullptr;
    uint32_t owner = verifier::pool_owner_hooks() ? verifier::drivers::attribute(__builtin_return_address(0)) : 0;
    void* block = sys().pool.allocate(sizeof(EntryHeader) + EntrySize, kErrorLogTag, true, false, owner);
    if (!block) return nullptr;
    auto* h = static_cast<EntryHeader*>(block);
    h->size = EntrySize;
    h->io_object = IoObject;
    ObReferenceObject(IoObject);
    {
        System::Impl& s = sys();
        std::lock_guard g(s.error_log_lock);
        s.error_log_entries.insert(h + 1);
    }
    return h + 1;
}

VOID IoWriteErrorLogEntry(PVOID ElEntry) {
    verifier::check_irql_at_most(DISPATCH_LEVEL, "IoWriteErrorLogEntry");
    EntryHeader* h = take_entry(ElEntry, "IoWriteErrorLogEntry");
    if (!h) return;
    const auto* p = static_cast<const IO_ERROR_LOG_PACKET*>(ElEntry);
    std::string source = source_of(h->io_object);
    std::string line = fmt::format(
        "error log: {}: ErrorCode {:#010x}, FinalStatus {:#010x}, UniqueErrorValue {}, MajorFunctionCode {:#04x}, "
        "RetryCount {}, SequenceNumber {}, IoControlCode {:#x}, DeviceOffset {}, EventCategory {}",
        source, static_cast<ULONG>(p->ErrorCode), static_cast<ULONG>(p->FinalStatus), p->UniqueErrorValue,
        p->MajorFunctionCode, p->RetryCount, p->SequenceNumber, p->IoControlCode, p->DeviceOffset.QuadPart,
        p->EventCategory);
    line += dump_of(p, h->size, source);
    line += strings_of(p, h->size, source);
    {
        System::Impl& s = sys();
        std::lock_guard g(s.error_log_lock);
        s.error_log.push_back(line);
    }
    rtl::debug_record(line.data(), line.size());
    release(h);
}

VOID IoFreeErrorLogEntry(PVOID ElEntry) {
    EntryHeader* h = take_entry(ElEntry, "IoFreeErrorLogEntry");
    if (h) release(h);
}

}  // extern "C"
