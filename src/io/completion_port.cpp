// I/O completion ports: the "IoCompletion" object type, its system services
// (NtCreateIoCompletion, NtSetIoCompletion, NtRemoveIoCompletion(Ex)), the binding
// of file objects to a port, and the packet a completed request leaves there
// (S-CMP-9 step 4, S-DSP-9..12, S-W32-14..20, §10 items 1 and 3).
#include "io/completion_port.hpp"

#include <cstddef>
#include <cstdio>
#include <cstdlib>

#include "io/iomgr.hpp"
#include "ke/apc.hpp"
#include "ob/services.hpp"
#include "ps/thread.hpp"
#include "system.hpp"

namespace ntio::io {
namespace {

// The last handle went: nobody can remove packets any more, so waiters are told
// (STATUS_ABANDONED_WAIT_0) and what is queued is discarded (S-W32-20). The object
// itself lives on while bound file objects reference it; their later packets are
// dropped. A named port loses its name now, so a new open cannot find it dead.
void on_last_port_handle(void* body) {
    auto* port = static_cast<CompletionPort*>(body);
    sys().dispatcher.rundown_queue(&port->queue);
    ob::ObjectHeader* h = ob::ObjectHeader::of(body);
    if (!h->name.empty()) {
        sys().names.remove(h->name, body);
        h->name.clear();
    }
}

// The last reference: no thread waits in the queue or is bound to it (its last handle
// ran it down; a port whose handle was never inserted had no users), and no file can
// post to it, so what is left is freed without the dispatcher.
void destroy_port(void* body) {
    auto* port = static_cast<CompletionPort*>(body);
    ke::Dispatcher::free_queue_nodes(&port->queue);
    if (port->sink) port->sink->destroy(port->sink_context);
    port->~CompletionPort();
}

NTSTATUS reference_port(HANDLE handle, ACCESS_MASK access, CompletionPort** port) {
    void* body = nullptr;
    NTSTATUS s = ob::reference_by_handle(handle, &g_completion_type, ps::previous_mode(), access, &body, nullptr);
    if (!NT_SUCCESS(s)) return s;
    *port = static_cast<CompletionPort*>(body);
    return STATUS_SUCCESS;
}

NTSTATUS reference_file(HANDLE handle, FILE_OBJECT** fo) {
    void* body = nullptr;
    NTSTATUS s = ob::reference_by_handle(handle, &g_file_type, ps::previous_mode(), 0, &body, nullptr);
    if (!NT_SUCCESS(s)) return s;
    *fo = static_cast<FILE_OBJECT*>(body);
    return STATUS_SUCCESS;
}

// The wait and its timeout as the dispatcher takes them.
void wait_limits(const LARGE_INTEGER* timeout, ke::Ticks* deadline, bool* poll) {
    *poll = timeout && timeout->QuadPart == 0;
    *deadline = (!timeout || *poll) ? ke::kNever : sys().dispatcher.deadline_for(timeout->QuadPart);
}

}  // namespace

ob::ObjectType g_completion_type{"IoCompletion", static_cast<long>(offsetof(CompletionPort, queue.Header)),
                                 IO_COMPLETION_ALL_ACCESS, destroy_port, on_last_port_handle};

CompletionPort* completion_target(IRP* irp, FILE_OBJECT* fo, NTSTATUS status, bool* file_event,
                                  ke::QueuePacket* packet) {
    ULONG flags = file_flags(fo);
    // Windows >= 8: only a success that did not pend is "completed synchronously";
    // a warning, or anything that returned STATUS_PENDING, still reports (§10.3).
    bool inline_success = NT_SUCCESS(status) && !irp->PendingReturned;
    // S-DSP-11: the file object's event stays alone for requests that succeeded or
    // pended on an asynchronous file; an explicit event (UserEvent) is still set.
    if ((flags & (FO_SKIP_SET_EVENT | FO_SYNCHRONOUS_IO)) == FO_SKIP_SET_EVENT &&
        (irp->PendingReturned || NT_SUCCESS(status)))
        *file_event = false;
    PIO_COMPLETION_CONTEXT context = __atomic_load_n(&fo->CompletionContext, __ATOMIC_ACQUIRE);
    PVOID apc_context = irp->Overlay.AsynchronousParameters.UserApcContext;
    if (!context || !apc_context) return nullptr;  // S-DSP-12: a tagged hEvent asked for no packet
    if ((flags & FO_SKIP_COMPLETION_PORT) && inline_success) return nullptr;  // S-DSP-10
    packet->key = reinterpret_cast<ULONG_PTR>(context->Key);
    packet->context = apc_context;
    packet->status = status;
    packet->information = irp->IoStatus.Information;
    return static_cast<CompletionPort*>(context->Port);
}

void queue_completion(CompletionPort* port, const ke::QueuePacket& packet) {
    if (port->sink) [[unlikely]] {
        port->sink->deliver(port->sink_context, packet);
        return;
    }
    if (sys().dispatcher.insert_queue(&port->queue, packet) == STATUS_SUCCESS) [[likely]]
        return;
    // The request is complete and its IRP gone; a packet that cannot be stored would
    // leave a GetQueuedCompletionStatus caller waiting forever.
    std::fprintf(stderr, "ntio: out of memory queueing a completion packet; the request's completion would be lost\n");
    std::abort();
}

namespace {

// Binds the file behind `file` to `port` (the caller's reference on the port passes to
// the binding on success and is dropped on failure).
NTSTATUS bind_file(HANDLE file, CompletionPort* port, ULONG_PTR key) {
    FILE_OBJECT* fo = nullptr;
    NTSTATUS s = reference_file(file, &fo);
    if (!NT_SUCCESS(s)) {
        ob::dereference(port);
        return s;
    }
    // S-W32-15: a synchronous file completes inside the call; it has nothing to post.
    if (file_flags(fo) & FO_SYNCHRONOUS_IO) {
        ob::dereference(fo);
        ob::dereference(port);
        return STATUS_INVALID_PARAMETER;
    }
    // The context and its reference on the port live as long as the file object;
    // the first binding wins and is permanent.
    auto* context = new IO_COMPLETION_CONTEXT{port, reinterpret_cast<PVOID>(key)};
    PIO_COMPLETION_CONTEXT expected = nullptr;
    if (!__atomic_compare_exchange_n(&fo->CompletionContext, &expected, context, false, __ATOMIC_RELEASE,
                                     __ATOMIC_RELAXED)) {
        delete context;
        ob::dereference(port);
        s = STATUS_INVALID_PARAMETER;
    }
    ob::dereference(fo);
    return s;
}

}  // namespace

NTSTATUS associate_completion_port(HANDLE file, HANDLE port_handle, ULONG_PTR key) {
    // The file is looked at first, as before: a bad file handle is the error reported.
    FILE_OBJECT* fo = nullptr;
    NTSTATUS s = reference_file(file, &fo);
    if (!NT_SUCCESS(s)) return s;
    bool synchronous = (file_flags(fo) & FO_SYNCHRONOUS_IO) != 0;
    ob::dereference(fo);
    if (synchronous) return STATUS_INVALID_PARAMETER;  // S-W32-15, before the port is looked at
    CompletionPort* port = nullptr;
    s = reference_port(port_handle, IO_COMPLETION_MODIFY_STATE, &port);
    if (!NT_SUCCESS(s)) return s;
    return bind_file(file, port, key);
}

NTSTATUS associate_completion_port(HANDLE file, CompletionPort* port, ULONG_PTR key) {
    ob::reference(port);
    return bind_file(file, port, key);
}

CompletionPort* create_sink_port(const PortSink* sink, void* context) {
    auto* port = ob::create<CompletionPort>(g_completion_type);
    ke::Dispatcher::init_queue(&port->queue, 0);
    port->sink = sink;
    port->sink_context = context;
    return port;
}

NTSTATUS set_completion_notification_modes(HANDLE file, UCHAR flags) {
    if (flags & ~(FILE_SKIP_COMPLETION_PORT_ON_SUCCESS | FILE_SKIP_SET_EVENT_ON_HANDLE))
        return STATUS_INVALID_PARAMETER;
    FILE_OBJECT* fo = nullptr;
    NTSTATUS s = reference_file(file, &fo);
    if (!NT_SUCCESS(s)) return s;
    ULONG bits = ((flags & FILE_SKIP_COMPLETION_PORT_ON_SUCCESS) ? FO_SKIP_COMPLETION_PORT : 0) |
                 ((flags & FILE_SKIP_SET_EVENT_ON_HANDLE) ? FO_SKIP_SET_EVENT : 0);
    __atomic_fetch_or(&fo->Flags, bits, __ATOMIC_RELAXED);
    ob::dereference(fo);
    return STATUS_SUCCESS;
}

void release_completion_context(FILE_OBJECT* fo) {
    PIO_COMPLETION_CONTEXT context = fo->CompletionContext;
    if (!context) return;
    fo->CompletionContext = nullptr;
    auto* port = static_cast<CompletionPort*>(context->Port);
    if (port->sink) port->sink->unbind(port->sink_context, reinterpret_cast<ULONG_PTR>(context->Key));
    ob::dereference(port);
    delete context;
}

}  // namespace ntio::io

using namespace ntio;
using io::CompletionPort;

extern "C" {

NTSTATUS NtCreateIoCompletion(PHANDLE IoCompletionHandle, ACCESS_MASK DesiredAccess,
                              POBJECT_ATTRIBUTES ObjectAttributes, ULONG NumberOfConcurrentThreads) {
    if (!IoCompletionHandle) return STATUS_ACCESS_VIOLATION;
    auto* port = ob::create<CompletionPort>(io::g_completion_type);
    ke::Dispatcher::init_queue(&port->queue, NumberOfConcurrentThreads);
    return ob::insert_new_object(port, ObjectAttributes, DesiredAccess, IoCompletionHandle);
}

NTSTATUS NtSetIoCompletion(HANDLE IoCompletionHandle, PVOID KeyContext, PVOID ApcContext, NTSTATUS IoStatus,
                           ULONG_PTR IoStatusInformation) {
    CompletionPort* port = nullptr;
    NTSTATUS s = io::reference_port(IoCompletionHandle, IO_COMPLETION_MODIFY_STATE, &port);
    if (!NT_SUCCESS(s)) return s;
    ke::QueuePacket packet{reinterpret_cast<ULONG_PTR>(KeyContext), ApcContext, IoStatus, IoStatusInformation};
    s = sys().dispatcher.insert_queue(&port->queue, packet);
    ob::dereference(port);
    return s;
}

NTSTATUS NtRemoveIoCompletion(HANDLE IoCompletionHandle, PVOID* KeyContext, PVOID* ApcContext,
                              PIO_STATUS_BLOCK IoStatusBlock, PLARGE_INTEGER Timeout) {
    if (!KeyContext || !ApcContext || !IoStatusBlock) return STATUS_ACCESS_VIOLATION;  // before a packet is taken
    CompletionPort* port = nullptr;
    NTSTATUS s = io::reference_port(IoCompletionHandle, IO_COMPLETION_MODIFY_STATE, &port);
    if (!NT_SUCCESS(s)) return s;
    ke::Ticks deadline;
    bool poll;
    io::wait_limits(Timeout, &deadline, &poll);
    ke::QueuePacket packet;
    ULONG removed = 0;
    s = sys().dispatcher.remove_queue(ps::current_thread(), &port->queue, &packet, 1, &removed, deadline, poll);
    ob::dereference(port);
    if (s != STATUS_SUCCESS) return s;
    *KeyContext = reinterpret_cast<PVOID>(packet.key);
    *ApcContext = packet.context;
    IoStatusBlock->Pointer = nullptr;  // the whole first word, for callers reading it as a ULONG_PTR
    IoStatusBlock->Status = packet.status;
    IoStatusBlock->Information = packet.information;
    return STATUS_SUCCESS;
}

NTSTATUS NtRemoveIoCompletionEx(HANDLE IoCompletionHandle, PFILE_IO_COMPLETION_INFORMATION IoCompletionInformation,
                                ULONG Count, PULONG NumEntriesRemoved, PLARGE_INTEGER Timeout, BOOLEAN Alertable) {
    if (Count == 0) return STATUS_INVALID_PARAMETER;
    if (!IoCompletionInformation || !NumEntriesRemoved) return STATUS_ACCESS_VIOLATION;
    CompletionPort* port = nullptr;
    NTSTATUS s = io::reference_port(IoCompletionHandle, IO_COMPLETION_MODIFY_STATE, &port);
    if (!NT_SUCCESS(s)) return s;
    ke::Ticks deadline;
    bool poll;
    io::wait_limits(Timeout, &deadline, &poll);
    // Packets land in a local batch and are copied out in the caller's layout; a caller
    // asking for more than a batch gets the rest by polling once the first wait is over.
    constexpr ULONG kBatch = 64;
    ke::QueuePacket batch[kBatch];
    _KTHREAD* self = ps::current_thread();
    bool alertable = Alertable && ps::previous_mode() == UserMode;
    ULONG total = 0;
    for (;;) {
        ULONG want = Count - total < kBatch ? Count - total : kBatch;
        ULONG removed = 0;
        // Only the first removal may wait, so only it is alertable (S-W32-18).
        NTSTATUS r = sys().dispatcher.remove_queue(self, &port->queue, batch, want, &removed, deadline, poll,
                                                   total == 0 && alertable);
        if (total == 0) s = r;
        for (ULONG i = 0; i < removed; ++i) {
            FILE_IO_COMPLETION_INFORMATION& e = IoCompletionInformation[total + i];
            e.KeyContext = reinterpret_cast<PVOID>(batch[i].key);
            e.ApcContext = batch[i].context;
            e.IoStatusBlock.Pointer = nullptr;
            e.IoStatusBlock.Status = batch[i].status;
            e.IoStatusBlock.Information = batch[i].information;
        }
        total += removed;
        if (r != STATUS_SUCCESS || removed < want || total == Count) break;
        poll = true;
    }
    ob::dereference(port);
    *NumEntriesRemoved = total;
    return ke::user_wait_result(s);
}

}  // extern "C"
