// Text dumps of IRPs and device stacks in the spirit of WinDbg's !irp and !devstack:
// what a driver developer looks at when a request hangs. Used for the IRPs still
// pending when the program's handles have all closed (a leak), and on demand
// (System::pending_irp_report, System::device_stack_report).
#include <vector>

#include <fmt/format.h>

#include "io/iomgr.hpp"
#include "ps/thread.hpp"
#include "system.hpp"

namespace ntio::io {

const char* major_function_name(uint8_t major) {
    static const char* const names[] = {
        "CREATE",        "CREATE_NAMED_PIPE",      "CLOSE",           "READ",           "WRITE",
        "QUERY_INFORMATION", "SET_INFORMATION",    "QUERY_EA",        "SET_EA",         "FLUSH_BUFFERS",
        "QUERY_VOLUME_INFORMATION", "SET_VOLUME_INFORMATION", "DIRECTORY_CONTROL", "FILE_SYSTEM_CONTROL",
        "DEVICE_CONTROL", "INTERNAL_DEVICE_CONTROL", "SHUTDOWN",       "LOCK_CONTROL",   "CLEANUP",
        "CREATE_MAILSLOT", "QUERY_SECURITY",       "SET_SECURITY",    "POWER",          "SYSTEM_CONTROL",
        "DEVICE_CHANGE",  "QUERY_QUOTA",           "SET_QUOTA",       "PNP"};
    return major < sizeof names / sizeof names[0] ? names[major] : "?";
}

namespace {

std::string irp_flags(ULONG flags) {
    static const std::pair<ULONG, const char*> known[] = {
        {IRP_NOCACHE, "NOCACHE"},           {IRP_PAGING_IO, "PAGING_IO"},         {IRP_SYNCHRONOUS_API, "SYNCHRONOUS_API"},
        {IRP_ASSOCIATED_IRP, "ASSOCIATED_IRP"}, {IRP_BUFFERED_IO, "BUFFERED_IO"}, {IRP_DEALLOCATE_BUFFER, "DEALLOCATE_BUFFER"},
        {IRP_INPUT_OPERATION, "INPUT_OPERATION"}, {IRP_CREATE_OPERATION, "CREATE_OPERATION"},
        {IRP_READ_OPERATION, "READ_OPERATION"}, {IRP_WRITE_OPERATION, "WRITE_OPERATION"},
        {IRP_CLOSE_OPERATION, "CLOSE_OPERATION"}, {IRP_DEFER_IO_COMPLETION, "DEFER_IO_COMPLETION"}};
    std::string s;
    for (auto [bit, name] : known)
        if (flags & bit) s += fmt::format("{}{}", s.empty() ? "" : " ", name);
    return s.empty() ? "none" : s;
}

std::string control_bits(UCHAR control) {
    std::string s;
    if (control & SL_PENDING_RETURNED) s += "pending ";
    if (control & SL_INVOKE_ON_SUCCESS) s += "success ";
    if (control & SL_INVOKE_ON_ERROR) s += "error ";
    if (control & SL_INVOKE_ON_CANCEL) s += "cancel ";
    if (!s.empty()) s.pop_back();
    return s;
}

std::string parameters(const IO_STACK_LOCATION& sl) {
    switch (sl.MajorFunction) {
    case IRP_MJ_READ:
    case IRP_MJ_WRITE:
        return fmt::format("Length {}, ByteOffset {}", sl.Parameters.Read.Length, sl.Parameters.Read.ByteOffset.QuadPart);
    case IRP_MJ_DEVICE_CONTROL:
    case IRP_MJ_INTERNAL_DEVICE_CONTROL:
    case IRP_MJ_FILE_SYSTEM_CONTROL:
        return fmt::format("IoControlCode {:#010x} (method {}), InputBufferLength {}, OutputBufferLength {}",
                           sl.Parameters.DeviceIoControl.IoControlCode, sl.Parameters.DeviceIoControl.IoControlCode & 3,
                           sl.Parameters.DeviceIoControl.InputBufferLength,
                           sl.Parameters.DeviceIoControl.OutputBufferLength);
    case IRP_MJ_CREATE:
        return fmt::format("Options {:#x}, ShareAccess {:#x}", sl.Parameters.Create.Options,
                           sl.Parameters.Create.ShareAccess);
    default:
        return fmt::format("Argument1 {}, Argument2 {}", sl.Parameters.Others.Argument1, sl.Parameters.Others.Argument2);
    }
}

std::string thread_label(PETHREAD thread) {
    if (!thread) return "none";
    _KTHREAD* t = static_cast<_KTHREAD*>(thread);
    return fmt::format("{} {} (id {}, Linux tid {})", t->system_thread ? "system thread" : "thread", t->number, t->id,
                       t->tid.load());
}

}  // namespace

std::string dump_irp(IRP* irp) {
    IrpHeader* h = header_of(irp);
    int count = irp->StackCount, current = irp->CurrentLocation;
    std::string o = fmt::format("IRP #{} ({}) with {} stack location(s); ", h->sequence, static_cast<void*>(irp), count);
    o += current > count ? std::string("not yet sent (no current location)\n")
                         : fmt::format("location {} of {} is current\n", current, count);
    o += fmt::format("  Flags {:#010x} ({}); Cancel {}; CancelRoutine {}; PendingReturned {}\n", irp->Flags,
                     irp_flags(irp->Flags), irp->Cancel ? "yes" : "no",
                     irp->CancelRoutine ? fmt::format("{}", reinterpret_cast<void*>(irp->CancelRoutine)) : "none",
                     irp->PendingReturned ? "yes" : "no");
    o += fmt::format("  Thread {}; RequestorMode {}; IoStatus {{{:#010x}, {}}}; UserIosb {}; UserEvent {}\n",
                     thread_label(irp->Tail.Overlay.Thread), irp->RequestorMode == KernelMode ? "KernelMode" : "UserMode",
                     static_cast<uint32_t>(irp->IoStatus.Status), irp->IoStatus.Information,
                     static_cast<void*>(irp->UserIosb), static_cast<void*>(irp->UserEvent));
    o += fmt::format("  SystemBuffer {}; MdlAddress {}; UserBuffer {}; OriginalFileObject {}\n",
                     irp->AssociatedIrp.SystemBuffer, static_cast<void*>(irp->MdlAddress), irp->UserBuffer,
                     irp->Tail.Overlay.OriginalFileObject
                         ? fmt::format("{} (opened on {})", static_cast<void*>(irp->Tail.Overlay.OriginalFileObject),
                                       device_label(irp->Tail.Overlay.OriginalFileObject->DeviceObject))
                         : std::string("none"));
    // Locations from the top of the stack (the last index) down, as !irp lists them.
    auto* locations = reinterpret_cast<PIO_STACK_LOCATION>(irp + 1);
    for (int i = count; i >= 1; --i) {
        const IO_STACK_LOCATION& sl = locations[i - 1];
        bool is_current = i == current;
        std::string device = sl.DeviceObject ? device_label(sl.DeviceObject) : "-";
        o += fmt::format(" {}[{}] IRP_MJ_{} minor {:#x}  device {}  control [{}]\n", is_current ? '>' : ' ', i,
                         major_function_name(sl.MajorFunction), sl.MinorFunction, device, control_bits(sl.Control));
        o += fmt::format("        {}\n", parameters(sl));
        if (sl.CompletionRoutine)
            o += fmt::format("        completion routine {} (context {}) for the level above\n",
                             reinterpret_cast<void*>(sl.CompletionRoutine), sl.Context);
    }
    return o;
}

namespace {
// Without the stack lock: called under an IRP-list spin lock, where a mutex may not be
// taken. Attach and detach publish the links with release order; a dump racing one
// shows the stack before or after it.
std::string device_stack_unlocked(DEVICE_OBJECT* device) {
    DEVICE_OBJECT* base = device;
    while (runtime(base).attached_to) base = runtime(base).attached_to;
    std::vector<DEVICE_OBJECT*> stack;
    for (DEVICE_OBJECT* d = base; d; d = d->AttachedDevice) stack.push_back(d);
    std::string o = "  device                                   driver                 StackSize  flags\n";
    for (auto it = stack.rbegin(); it != stack.rend(); ++it) {
        DEVICE_OBJECT* d = *it;
        const UNICODE_STRING& drv = d->DriverObject->DriverName;
        std::string driver;
        for (USHORT i = 0; i < drv.Length / sizeof(WCHAR); ++i) driver += static_cast<char>(drv.Buffer[i]);
        std::string flags;
        if (d->Flags & DO_BUFFERED_IO) flags += "DO_BUFFERED_IO ";
        if (d->Flags & DO_DIRECT_IO) flags += "DO_DIRECT_IO ";
        if (d->Flags & DO_EXCLUSIVE) flags += "DO_EXCLUSIVE ";
        if (d->Flags & DO_DEVICE_INITIALIZING) flags += "DO_DEVICE_INITIALIZING ";
        if (runtime(d).deleted.load()) flags += "(deleted) ";
        o += fmt::format(" {}{:<40} {:<22} {:>9}  {}\n", d == device ? '>' : ' ', device_label(d), driver,
                         int(d->StackSize), flags);
    }
    return o;
}
}  // namespace

std::string dump_device_stack(DEVICE_OBJECT* device) {
    std::lock_guard g(stack_lock());
    return device_stack_unlocked(device);
}

std::string dump_pending_irps() {
    System::Impl& s = sys();
    std::string o;
    size_t n = 0;
    std::lock_guard g(s.threads_lock);
    for (PLIST_ENTRY e = s.threads.Flink; e != &s.threads; e = e->Flink) {
        _KTHREAD* t = CONTAINING_RECORD(e, _KTHREAD, registry_entry);
        t->irp_lock.lock();
        // The request the thread is issuing may sit in its slot; marked seen, its
        // retirement waits for this lock, so it stays allocated while it is dumped.
        std::vector<IRP*> irps;
        if (IRP* in_slot = slot_irp_locked(t)) irps.push_back(in_slot);
        for (PLIST_ENTRY l = t->irp_list.Flink; l != &t->irp_list; l = l->Flink)
            irps.push_back(CONTAINING_RECORD(l, IRP, ThreadListEntry));
        for (IRP* irp : irps) {
            ++n;
            o += dump_irp(irp);
            // Where it is stuck: the stack of the device that holds it.
            if (irp->CurrentLocation <= irp->StackCount)
                if (PDEVICE_OBJECT holder = IoGetCurrentIrpStackLocation(irp)->DeviceObject)
                    o += "  device stack of " + device_label(holder) + " (> marks it):\n" + device_stack_unlocked(holder);
        }
        t->irp_lock.unlock();
    }
    if (!n) return {};
    return fmt::format("{} IRP(s) pending:\n", n) + o;
}

}  // namespace ntio::io
