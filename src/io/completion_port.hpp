// I/O completion ports: the object manager's "IoCompletion" objects, the binding of
// file objects to them, and the packet the I/O manager queues when a request on a
// bound file completes (S-CMP-9 step 4, S-DSP-9..12, S-W32-14..20).
//
// Ownership:
//   port handle(s) ─┐
//   each bound FILE_OBJECT ─ref (via CompletionContext->Port)─▶ CompletionPort ─▶ ke::Queue
//   a thread inside NtRemoveIoCompletion(Ex) ─ref┘
//   last handle closed → the queue is run down: waiters get STATUS_ABANDONED_WAIT_0,
//                        queued packets are discarded, later ones are dropped
//   last reference gone → spare packet nodes freed, object freed
#pragma once
#include "ke/dispatcher.hpp"
#include "ob/object.hpp"
#include "wdm.h"

namespace ntio::io {

extern ob::ObjectType g_completion_type;

// A port owned by a runtime component rather than a handle (the Win32 thread pool):
// its packets go to `deliver` instead of the queue, from whichever thread completes
// the request (any IRQL up to DISPATCH_LEVEL), with the completing thread's reference
// on the file still held. `unbind` runs when a file object bound to it goes, with the
// key it was bound with; `destroy` when the port's last reference goes.
struct PortSink {
    void (*deliver)(void* context, const ke::QueuePacket& packet);
    void (*unbind)(void* context, ULONG_PTR key);
    void (*destroy)(void* context);
};

struct CompletionPort {
    ke::Queue queue;  // first: waits on the port wait on the queue's header
    const PortSink* sink = nullptr;
    void* sink_context = nullptr;
};

// What finish_request needs to know about a request on a file object that has a
// completion port or FILE_SKIP_SET_EVENT_ON_HANDLE. Clears *file_event when the file
// object's event is to be skipped (S-DSP-11). Returns the port to queue `packet` to,
// or nullptr when the request gets no packet: ApcContext NULL (S-DSP-12) or a success
// that did not pend on a FILE_SKIP_COMPLETION_PORT_ON_SUCCESS file (S-DSP-10, §10.3).
CompletionPort* completion_target(IRP* irp, FILE_OBJECT* fo, NTSTATUS status, bool* file_event,
                                  ke::QueuePacket* packet);
// Queues a request's packet, after its IOSB write and events (§10.1).
void queue_completion(CompletionPort* port, const ke::QueuePacket& packet);

// FileCompletionInformation: binds a file handle to a port with a key, once
// (S-W32-15). STATUS_INVALID_PARAMETER for a synchronous file or a second binding.
NTSTATUS associate_completion_port(HANDLE file, HANDLE port, ULONG_PTR key);
// The same for a port the runtime holds without a handle (a sink port).
NTSTATUS associate_completion_port(HANDLE file, CompletionPort* port, ULONG_PTR key);
// A port with no handle whose packets go to `sink`; one reference for the caller.
CompletionPort* create_sink_port(const PortSink* sink, void* context);
// FileIoCompletionNotificationInformation: FILE_SKIP_* flags, which cannot be removed.
NTSTATUS set_completion_notification_modes(HANDLE file, UCHAR flags);
// A file object's binding goes with the file object (its reference on the port).
void release_completion_context(FILE_OBJECT* fo);

}  // namespace ntio::io
