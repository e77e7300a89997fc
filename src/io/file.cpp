// File objects and the I/O system services: NtCreateFile, NtDeviceIoControlFile,
// NtFsControlFile, NtReadFile, NtWriteFile, and the cleanup/close sequence
// (S-IRP-5, S-IRP-12, §3 S-DSP, §4 S-BUF, S-CAN-13..15, S-W32-9..13).
#include <cstddef>

#include "io/call_driver.hpp"
#include "io/completion_port.hpp"
#include "io/iomgr.hpp"
#include "ke/apc.hpp"
#include "io/irp_lookaside.hpp"
#include "trace/trace.hpp"
#include "ke/objects.hpp"
#include "ke/user_access.hpp"
#include "ob/services.hpp"
#include "ps/thread.hpp"
#include "system.hpp"
#include "verifier/report.hpp"

namespace ntio::io {
namespace {

// ---- the synchronous-I/O lock of a file object (S-DSP-5) ----------------------------------
[[gnu::always_inline]] inline void lock_file(FileBody& fb) {
    if (fb.busy.exchange(1, std::memory_order_acquire) == 0) return;
    fb.lock_waiters.fetch_add(1);
    while (fb.busy.exchange(1, std::memory_order_acquire) != 0)
        KeWaitForSingleObject(&fb.file.Lock, Executive, KernelMode, FALSE, nullptr);
    fb.lock_waiters.fetch_sub(1);
}

// The end of a call on a synchronous file object: releases the I/O lock and, when the
// request completed inside the call (InlineCompletion), sets the file object's event
// that its completion left to the caller. Each is a store-buffer handshake with the
// threads that wait (lock_file's lock_waiters; Dispatcher::wait's Waiters flag), so one
// fence serves both. The event is set before the lock goes, as when the completion
// sets it (the next caller resets it at the start of its call).
[[gnu::always_inline]] inline void unlock_file(FileBody& fb, bool set_file_event) {
    if (set_file_event) ke::set_notification_event_unfenced(&fb.file.Event);
    fb.busy.store(0, std::memory_order_release);
    ke::handshake_fence();
    if (set_file_event) ke::wake_notification_waiters(&fb.file.Event);
    if (fb.lock_waiters.load(std::memory_order_relaxed) > 0) ke::set_event(&fb.file.Lock);
}

void on_last_handle(void* body) {
    auto* fb = static_cast<FileBody*>(body);
    if (!fb->created) return;
    // A synchronous file object's cleanup holds its I/O lock, as Windows's close does:
    // closing the last handle waits for the call another thread has in progress on it
    // (S-DSP-5), and the driver sees IRP_MJ_CLEANUP after that request, not under it.
    // Not while the runtime runs its handles down (process exit, teardown): a thread
    // still inside a call then is one Windows would have ended, whose request was
    // cancelled and abandoned, and waiting for it could wait for this very cleanup.
    bool lock = (file_flags(&fb->file) & FO_SYNCHRONOUS_IO) &&
                !(sys().handles.running_down() && fb->busy.load(std::memory_order_relaxed));
    if (lock) lock_file(*fb);
    // IRP_MJ_CLEANUP in the closing thread: the driver cancels what it holds for this file.
    send_file_irp(&fb->file, IRP_MJ_CLEANUP, 0, 0, 0, nullptr);
    __atomic_fetch_or(&fb->file.Flags, FO_CLEANUP_COMPLETE, __ATOMIC_RELAXED);
    if (lock) unlock_file(*fb, false);
}

void destroy_file(void* body) {
    auto* fb = static_cast<FileBody*>(body);
    release_completion_context(&fb->file);  // the file object's reference on its port
    if (DEVICE_OBJECT* target = fb->target) {
        DeviceRuntime& r = runtime(target);
        r.open_files.fetch_sub(1);
        // A surprise-removed PnP device gets IRP_MN_REMOVE_DEVICE after its last close (S-PNP-2).
        if (r.watch_closes.load(std::memory_order_acquire)) [[unlikely]] {
            pnp::file_closed(target);
            driver_file_closed(target);  // a stopped driver service unloads at its last close (S-SCM-5)
        }
        ob::dereference(target);
    }
    fb->~FileBody();
}

void close_and_free(FileBody* fb) {
    if (fb->created) send_file_irp(&fb->file, IRP_MJ_CLOSE, 0, 0, 0, nullptr);
    ob::free_object(fb);
}

// The last reference is gone (every handle closed, every IRP on it completed):
// IRP_MJ_CLOSE, at PASSIVE_LEVEL. A last reference dropped at raised IRQL (a DPC
// completing the last IRP) hands the close to the runtime's worker thread.
void on_zero_references(void* body) {
    auto* fb = static_cast<FileBody*>(body);
    if (KeGetCurrentIrql() == PASSIVE_LEVEL) close_and_free(fb);
    else sys().post_work([fb] { close_and_free(fb); });
}

}  // namespace

ob::ObjectType g_file_type{"File", static_cast<long>(offsetof(FILE_OBJECT, Event)), FILE_ALL_ACCESS, destroy_file,
                           on_last_handle, on_zero_references};

NTSTATUS send_file_irp(FILE_OBJECT* file, UCHAR major, ACCESS_MASK access, ULONG share, ULONG options,
                       ULONG_PTR* information) {
    DEVICE_OBJECT* top = IoGetAttachedDevice(file->DeviceObject);
    IRP* irp = allocate_irp(top->StackSize, 0);
    if (!irp) return STATUS_INSUFFICIENT_RESOURCES;
    KEVENT done;
    KeInitializeEvent(&done, NotificationEvent, FALSE);
    IO_STATUS_BLOCK iosb{};
    IO_SECURITY_CONTEXT security{};
    security.DesiredAccess = access;
    irp->RequestorMode = ps::previous_mode();
    irp->UserIosb = &iosb;
    irp->UserEvent = &done;
    // Cleanup and close are close operations: their completion sets `done` and leaves
    // the file object's event and FinalStatus alone (a synchronous call on the file
    // may still wait on them during a run-down).
    irp->Flags = IRP_SYNCHRONOUS_API | (major == IRP_MJ_CREATE ? IRP_CREATE_OPERATION : 0) |
                 (major == IRP_MJ_CLEANUP || major == IRP_MJ_CLOSE ? IRP_CLOSE_OPERATION : 0);
    // Create and cleanup hold a reference like any request; close runs as the file
    // object goes away and must not.
    if (major != IRP_MJ_CLOSE) {
        ob::reference(file);
        irp->Tail.Overlay.OriginalFileObject = file;
    }
    header_of(irp)->flags |= kIrpUserRequest;
    PIO_STACK_LOCATION sl = IoGetNextIrpStackLocation(irp);
    sl->MajorFunction = major;
    sl->FileObject = file;
    if (major == IRP_MJ_CREATE) {
        sl->Parameters.Create.SecurityContext = &security;
        sl->Parameters.Create.Options = options;
        sl->Parameters.Create.ShareAccess = static_cast<USHORT>(share);
        sl->Parameters.Create.FileAttributes = FILE_ATTRIBUTE_NORMAL;
    }
    queue_to_thread(irp, ps::current_thread());
    NTSTATUS status = IoCallDriver(top, irp);
    if (status == STATUS_PENDING) {
        KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, nullptr);
        status = iosb.Status;
    }
    if (information) *information = iosb.Information;
    return status;
}

}  // namespace ntio::io

using namespace ntio;
using io::FileBody;

namespace {

ACCESS_MASK map_file_access(ACCESS_MASK a) {
    ACCESS_MASK m = a & ~(GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE | GENERIC_ALL | MAXIMUM_ALLOWED);
    if (a & GENERIC_READ) m |= FILE_GENERIC_READ;
    if (a & GENERIC_WRITE) m |= FILE_GENERIC_WRITE;
    if (a & GENERIC_EXECUTE) m |= FILE_GENERIC_EXECUTE;
    if (a & (GENERIC_ALL | MAXIMUM_ALLOWED)) m |= FILE_ALL_ACCESS;
    return m;
}

NTSTATUS open_device(PHANDLE FileHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                     PIO_STATUS_BLOCK IoStatusBlock, ULONG ShareAccess, ULONG CreateDisposition, ULONG CreateOptions) {
    if (!FileHandle || !ObjectAttributes || !IoStatusBlock) return STATUS_ACCESS_VIOLATION;
    // S-BUF-11: where the handle and the status will go is probed first, as
    // ProbeForWriteHandle and ProbeForWriteIoStatusBlock do.
    if (NTSTATUS probed = ke::probe_pages(FileHandle, sizeof *FileHandle, true)) return probed;
    if (NTSTATUS probed = ke::probe_pages(IoStatusBlock, sizeof *IoStatusBlock, true)) return probed;
    std::wstring path = ob::object_path(ObjectAttributes);
    if (path.empty()) return STATUS_OBJECT_NAME_INVALID;
    void* object = nullptr;
    std::wstring rest;
    NTSTATUS status = sys().names.resolve(path, &object, &rest);
    if (!NT_SUCCESS(status)) return status;
    if (ob::type_of(object) != &io::g_device_type) {
        ob::dereference(object);
        return STATUS_OBJECT_TYPE_MISMATCH;
    }
    auto* dev = static_cast<DEVICE_OBJECT*>(object);
    io::DeviceRuntime& dr = io::runtime(dev);
    // S-W32-12: a device still initializing or being deleted is not there, nor is one in
    // a stack with such a device, nor a PnP device not started or being removed (S-W32-22,
    // S-PNP-2); an exclusive device admits one open file object at a time.
    status = io::pnp::open_status(dev);
    if (!NT_SUCCESS(status)) {
        ob::dereference(dev);
        return status;
    }
    if ((dev->Flags & DO_EXCLUSIVE) && dr.open_files.load() > 0) {
        ob::dereference(dev);
        return STATUS_ACCESS_DENIED;
    }
    auto* fb = ob::create<FileBody>(io::g_file_type);
    FILE_OBJECT* fo = &fb->file;
    std::memset(fo, 0, sizeof(*fo));
    fo->Type = IO_TYPE_FILE;
    fo->Size = static_cast<CSHORT>(sizeof(FILE_OBJECT));
    fo->DeviceObject = dev;
    fb->target = dev;  // the resolve reference
    dr.open_files.fetch_add(1);
    fb->file_name = rest;
    fo->FileName.Buffer = fb->file_name.empty() ? nullptr : fb->file_name.data();
    fo->FileName.Length = fo->FileName.MaximumLength = static_cast<USHORT>(fb->file_name.size() * sizeof(WCHAR));
    if (CreateOptions & (FILE_SYNCHRONOUS_IO_NONALERT | FILE_SYNCHRONOUS_IO_ALERT)) fo->Flags |= FO_SYNCHRONOUS_IO;
    if (CreateOptions & FILE_SYNCHRONOUS_IO_ALERT) fo->Flags |= FO_ALERTABLE_IO;
    if (CreateOptions & FILE_WRITE_THROUGH) fo->Flags |= FO_WRITE_THROUGH;
    if (CreateOptions & FILE_SEQUENTIAL_ONLY) fo->Flags |= FO_SEQUENTIAL_ONLY;
    if (CreateOptions & FILE_NO_INTERMEDIATE_BUFFERING) fo->Flags |= FO_NO_INTERMEDIATE_BUFFERING;
    KeInitializeEvent(&fo->Lock, SynchronizationEvent, FALSE);
    KeInitializeEvent(&fo->Event, NotificationEvent, FALSE);
    InitializeListHead(&fo->IrpList);
    // The handle's access: requests are checked against the handle (S-BUF-3), whose
    // duplicates may have less, so the file object keeps none of its own.
    const ACCESS_MASK granted = map_file_access(DesiredAccess);

    ULONG_PTR info = 0;
    status = io::send_file_irp(fo, IRP_MJ_CREATE, granted, ShareAccess, (CreateDisposition << 24) | CreateOptions,
                               &info);
    if (!NT_SUCCESS(status) || status == STATUS_REPARSE) {
        ob::dereference(fb);  // S-CAN-15: no handle, no cleanup, no close
        return NT_SUCCESS(status) ? STATUS_OBJECT_NAME_INVALID : status;
    }
    fb->created = true;
    fo->Flags |= FO_HANDLE_CREATED;
    ke::set_event(&fo->Event);  // a freshly opened file is signaled (S-W32-4)
    HANDLE h = nullptr;
    NTSTATUS s = sys().handles.insert(fb, granted, ps::previous_mode() == KernelMode &&
                                                       (ObjectAttributes->Attributes & OBJ_KERNEL_HANDLE),
                                      &h, ob::handle_flags_from_obj(ObjectAttributes->Attributes & OBJ_INHERIT));
    ob::dereference(fb);  // the handle holds it now
    if (!NT_SUCCESS(s)) return s;
    *FileHandle = h;
    IoStatusBlock->Status = status;
    IoStatusBlock->Information = info ? info : FILE_OPENED;
    return status;
}

// Handle → file object, referenced once, and once more for a synchronous file object
// (*synchronous): the caller's own reference (Request). Both in one atomic increment,
// taken while the handle entry is pinned. *granted: the handle's access, which requests
// are checked against (S-BUF-3): a duplicate may have less than the file object was
// opened with. S-DSP-18: this comes after the buffer checks.
[[gnu::always_inline]] inline NTSTATUS reference_file(HANDLE h, KPROCESSOR_MODE mode, FileBody** out,
                                                      bool* synchronous, ACCESS_MASK* granted) {
    if (System::Impl* s = sys_if_exists()) [[likely]] {  // none yet: the general lookup below makes it
        bool sync = false;
        ACCESS_MASK access = 0;
        void* body = s->handles.reference_pinned(h, mode, &io::g_file_type, [&](void* b, ACCESS_MASK a) {
            access = a;
            // Set before the first handle, never changed.
            sync = io::file_flags(&static_cast<FileBody*>(b)->file) & FO_SYNCHRONOUS_IO;
            return sync ? 2 : 1;
        });
        if (body) [[likely]] {
            *synchronous = sync;
            *granted = access;
            *out = static_cast<FileBody*>(body);
            return STATUS_SUCCESS;
        }
    }
    // Anything else (a pseudo handle, another type, no handle) gets its status from the
    // general lookup, which in a race with an insert may also succeed.
    void* body = nullptr;
    NTSTATUS s = ob::reference_by_handle(h, &io::g_file_type, mode, 0, &body, granted);
    if (!NT_SUCCESS(s)) return s;
    *out = static_cast<FileBody*>(body);
    *synchronous = io::file_flags(&(*out)->file) & FO_SYNCHRONOUS_IO;
    if (*synchronous) ob::reference(body);
    return STATUS_SUCCESS;
}

// Validates and references the event of an asynchronous request and resets it
// (S-DSP-6): after this point a failure still leaves the event reset.
NTSTATUS reference_event(HANDLE event, KPROCESSOR_MODE mode, KEVENT** kevent) {
    *kevent = nullptr;
    if (!event) return STATUS_SUCCESS;
    void* body = nullptr;
    NTSTATUS s = ob::reference_by_handle(event, &ob::g_event_type, mode, EVENT_MODIFY_STATE, &body, nullptr);
    if (!NT_SUCCESS(s)) return s;
    *kevent = static_cast<KEVENT*>(body);
    ke::reset_event_at_issue(*kevent);
    return STATUS_SUCCESS;
}

// A request being issued. On a synchronous file object it holds the file's I/O lock
// and its own reference (the lookup's reference goes to the IRP) until the call ends;
// when the request completes inside the call, the completion hands over the IRP's
// reference and the file object's event (InlineCompletion).
// Fields without an initializer are written before they are read (the request path
// stores nothing twice).
struct Request {
    KPROCESSOR_MODE mode;          // the caller's previous mode, read once by begin_request
    FileBody* fb;                  // by reference_file, before anything else
    KEVENT* event;                 // by reference_event, before `locked` can be set
    DEVICE_OBJECT* top;            // by new_request_irp: the top of the file's device stack
    ACCESS_MASK granted;           // by reference_file: the handle's access
    bool locked = false;
    io::InlineCompletion inline_completion;
    // Sets the file object's event now if an inline completion left it owed: before the
    // caller waits on it (a driver that completes inside dispatch and returns pending).
    void set_owed_file_event() {
        if (!inline_completion.set_file_event) return;
        inline_completion.set_file_event = false;
        ke::set_event(&fb->file.Event);
    }
    [[gnu::always_inline]] void unlock() {
        if (!locked) return;
        locked = false;
        io::unlock_file(*fb, inline_completion.set_file_event);
        inline_completion.set_file_event = false;
        ob::dereference(fb, inline_completion.completed ? 2 : 1);  // and the IRP's, when handed over
    }
    [[gnu::always_inline]] ~Request() { unlock(); }
};

// Common front half of every data request: file, event, access, lock, then an IRP
// whose next location the caller fills.
[[gnu::always_inline]] inline NTSTATUS begin_request(HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine,
                                                     PVOID ApcContext, PIO_STATUS_BLOCK IoStatusBlock,
                                                     ACCESS_MASK required, Request& r) {
    if (!IoStatusBlock) return STATUS_ACCESS_VIOLATION;
    r.mode = ps::previous_mode();
    bool synchronous;
    NTSTATUS s = reference_file(FileHandle, r.mode, &r.fb, &synchronous, &r.granted);
    if (!NT_SUCCESS(s)) return s;
    int64_t refs = synchronous ? 2 : 1;
    FILE_OBJECT* fo = &r.fb->file;
    if (ApcRoutine) [[unlikely]] {
        // S-DSP-9: an APC and a completion port cannot both be told.
        if (__atomic_load_n(&fo->CompletionContext, __ATOMIC_RELAXED)) {
            ob::dereference(r.fb, refs);
            return STATUS_INVALID_PARAMETER;
        }
        // Its completion queues the APC (io/irp.cpp finish_request_general), so even on a
        // synchronous file object it does not complete inline (send_request's `apc`).
    }
    (void)ApcContext;
    if (r.mode == UserMode && (required & ~r.granted)) {
        ob::dereference(r.fb, refs);
        return STATUS_ACCESS_DENIED;  // S-BUF-3: before any IRP and before the event is touched
    }
    s = reference_event(Event, r.mode, &r.event);
    if (!NT_SUCCESS(s)) {
        ob::dereference(r.fb, refs);
        return s;
    }
    if (synchronous) {
        io::lock_file(*r.fb);
        r.locked = true;  // with its own reference, taken by reference_file
    }
    ke::reset_event_at_issue(&fo->Event);  // FO->Event too, at the start of every call (S-DSP-6)
    if (io::runtime(fo->DeviceObject).deleted.load()) {
        r.unlock();
        if (r.event) ob::dereference(r.event);
        ob::dereference(r.fb);
        return STATUS_DEVICE_REMOVED;
    }
    return STATUS_SUCCESS;
}

[[gnu::always_inline]] inline IRP* new_request_irp(Request& r, PIO_STATUS_BLOCK iosb, PIO_APC_ROUTINE apc,
                                                   PVOID apc_context, uint32_t inline_buffer) {
    FILE_OBJECT* fo = &r.fb->file;
    DEVICE_OBJECT* top = r.top = IoGetAttachedDevice(fo->DeviceObject);
    // send_request queues it to the thread (io::queue_to_thread) before the driver sees it.
    IRP* irp = io::allocate_irp_inline(top->StackSize, inline_buffer, io::kIrpUserRequest, true);
    if (!irp) return nullptr;
    // The IRP and its header are zeroed: only what is not zero is stored (a synchronous
    // DeviceIoControl has no event and no APC, and its copy of this stores nothing for them).
    if (r.event) {
        io::header_of(irp)->event_object = r.event;
        irp->UserEvent = r.event;
    }
    irp->RequestorMode = r.mode;
    irp->UserIosb = iosb;
    if (apc) irp->Overlay.AsynchronousParameters.UserApcRoutine = apc;
    if (apc_context) irp->Overlay.AsynchronousParameters.UserApcContext = apc_context;
    irp->Tail.Overlay.OriginalFileObject = fo;  // takes over the handle lookup's reference
    IoGetNextIrpStackLocation(irp)->FileObject = fo;
    return irp;
}

void abandon_request(Request& r) {
    r.unlock();
    if (r.event) ob::dereference(r.event);
    ob::dereference(r.fb);
}

// Frees an IRP that was built but never sent (the request's references are the
// caller's to drop).
void discard_irp(IRP* irp) {
    for (PMDL mdl = irp->MdlAddress; mdl;) {
        PMDL next = mdl->Next;
        if (mdl->MdlFlags & MDL_PAGES_LOCKED) MmUnlockPages(mdl);
        IoFreeMdl(mdl);
        mdl = next;
    }
    if (irp->AssociatedIrp.SystemBuffer && !(io::header_of(irp)->flags & io::kIrpInlineBuffer))
        std::free(irp->AssociatedIrp.SystemBuffer);
    io::free_irp(irp);
}

// Sends the IRP and applies the dispatch-return protocol: the service returns the
// dispatch routine's value (S-DSP-2); a synchronous file waits for a pended request
// and returns its final status (S-DSP-3).
// S-DSP-3 on a handle opened with FILE_SYNCHRONOUS_IO_ALERT: the wait for a pended
// request is alertable; when a user APC ends it, the request is cancelled and waited for
// (Windows's IopAbortInterruptedIrp), and the APCs run on the way back to the caller,
// who gets the request's final status.
[[gnu::noinline, gnu::cold]] NTSTATUS wait_alertable_file(FILE_OBJECT* fo) {
    if (KeWaitForSingleObject(&fo->Event, UserRequest, UserMode, TRUE, nullptr) != STATUS_USER_APC)
        return fo->FinalStatus;
    io::cancel_file_request(ps::current_thread(), fo);
    KeWaitForSingleObject(&fo->Event, Executive, KernelMode, FALSE, nullptr);
    NTSTATUS status = fo->FinalStatus;
    ke::deliver_user_apcs();
    return status;
}

// A request's IoCallDriver while the verifier's IRP checks or a trace watch IRPs: the
// trace's `issued` event, then the call with each of its tests.
[[gnu::noinline, gnu::cold]] NTSTATUS call_driver_watched(PDEVICE_OBJECT top, IRP* irp) {
    if (trace::enabled()) trace::irp_event(trace::Kind::issued, irp, top);
    return io::call_driver(top, irp);
}
// IoCallDriver for the I/O manager's requests: one test for both watchers.
[[gnu::always_inline]] inline NTSTATUS call_driver_for_request(PDEVICE_OBJECT top, IRP* irp) {
    if (verifier::irps_watched()) [[unlikely]]
        return call_driver_watched(top, irp);
    return io::call_driver<false>(top, irp);
}

// `apc`: the request has an APC routine, which only finish_request_general queues, so
// it is not registered for the inline completion.
[[gnu::always_inline]] inline NTSTATUS send_request(Request& r, IRP* irp, PIO_APC_ROUTINE apc) {
    FILE_OBJECT* fo = &r.fb->file;
    io::queue_to_thread(irp, ps::current_thread_inline());
    PDEVICE_OBJECT top = r.top;  // the device the IRP was sized for
    NTSTATUS status;
    if (r.locked && !apc) [[likely]] {
        io::InlineCompletionScope scope(r.inline_completion, irp);
        status = call_driver_for_request(top, irp);
    } else {
        status = call_driver_for_request(top, irp);
    }
    if (r.locked && status == STATUS_PENDING) {
        r.set_owed_file_event();
        if ((io::file_flags(fo) & FO_ALERTABLE_IO) && r.mode == UserMode) [[unlikely]] {
            status = wait_alertable_file(fo);
        } else {
            KeWaitForSingleObject(&fo->Event, Executive, KernelMode, FALSE, nullptr);
            status = fo->FinalStatus;
        }
        if (ps::g_program_exiting.load(std::memory_order_relaxed)) [[unlikely]] {
            r.unlock();  // the file's lock and references first: the exit closes the file
            ps::stop_if_program_thread();
        }
    }
    return status;
}

// Puts a caller's buffer in an IRP for direct I/O: an MDL probed and locked for `op`,
// as MmProbeAndLockPages does inside the I/O manager's __try: a page it cannot read (or
// write, for IoWriteAccess) fails the request with the fault's status (S-BUF-5, S-BUF-11).
NTSTATUS attach_mdl(IRP* irp, PVOID buffer, ULONG length, LOCK_OPERATION op) {
    if (NTSTATUS s = ke::probe_pages(buffer, length, op != IoReadAccess)) return s;
    PMDL mdl = IoAllocateMdl(buffer, length, FALSE, FALSE, irp);
    if (!mdl) return STATUS_INSUFFICIENT_RESOURCES;
    io::lock_mdl_pages(mdl, op);
    return STATUS_SUCCESS;
}

// A request that fails after its IRP was built: the IRP is freed unsent and the
// request's references dropped (out of line: the request path keeps its registers).
[[gnu::noinline, gnu::cold]] NTSTATUS refuse_request(Request& r, IRP* irp, NTSTATUS status) {
    discard_irp(irp);
    abandon_request(r);
    return status;
}

// METHOD_BUFFERED / DO_BUFFERED_IO system buffer: inline in the IRP when it fits.
[[gnu::always_inline]] inline bool give_system_buffer(IRP* irp, size_t length) {
    io::IrpHeader* h = io::header_of(irp);
    if (length == 0) return true;
    if (length <= h->buffer_capacity) {
        // 16-byte aligned, as pool is on x64 (MEMORY_ALLOCATION_ALIGNMENT): after an odd
        // number of stack locations (72 bytes each) the next byte is only 8-aligned.
        auto end = reinterpret_cast<uintptr_t>(reinterpret_cast<PIO_STACK_LOCATION>(irp + 1) + irp->StackCount);
        irp->AssociatedIrp.SystemBuffer = reinterpret_cast<void*>((end + 15) & ~uintptr_t(15));
        h->flags |= io::kIrpInlineBuffer;
    } else {
        irp->AssociatedIrp.SystemBuffer = std::malloc(length);
        if (!irp->AssociatedIrp.SystemBuffer) return false;
    }
    return true;
}

// METHOD_IN_DIRECT / METHOD_OUT_DIRECT: the input in a system buffer, the output in an
// MDL probed for read (IN) or write (OUT).
NTSTATUS attach_direct_buffers(IRP* irp, PVOID input, ULONG input_length, PVOID output, ULONG output_length,
                               ULONG method) {
    if (input_length) {
        if (!give_system_buffer(irp, input_length)) return STATUS_INSUFFICIENT_RESOURCES;
        irp->Flags = IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER;
        if (NTSTATUS copied = ke::copy_user(irp->AssociatedIrp.SystemBuffer, input, input_length)) return copied;
    }
    if (output_length)
        return attach_mdl(irp, output, output_length, method == METHOD_IN_DIRECT ? IoReadAccess : IoWriteAccess);
    return STATUS_SUCCESS;
}

}  // namespace

namespace {
// A user buffer in the first 64 KiB, which neither Windows nor Linux (mmap_min_addr)
// ever maps: NULL and the small integers a bad cast makes. Windows's probe and copy
// fault on them and fail the call with STATUS_ACCESS_VIOLATION (S-BUF-10); one compare,
// the same cost as the NULL test it replaces.
[[gnu::always_inline]] inline bool never_mapped(const void* buffer) {
    return reinterpret_cast<uintptr_t>(buffer) < 0x10000;
}

// S-BUF-11, S-DSP-18: an Nt service probes the caller's status block for write before
// anything else (ProbeForWriteIoStatusBlock). DeviceIoControl, which calls the control
// service below this, passes a status block of its own or the OVERLAPPED it has just
// written, so it skips the probe.
[[gnu::always_inline]] inline NTSTATUS probe_status_block(PIO_STATUS_BLOCK iosb) {
    if (!iosb) return STATUS_ACCESS_VIOLATION;
    return ke::probe_pages(iosb, sizeof *iosb, true);
}

// NtDeviceIoControlFile and NtFsControlFile by `major`, inline in its two entry points
// below.
[[gnu::always_inline]] inline NTSTATUS device_control_body(HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine,
                                                           PVOID ApcContext, PIO_STATUS_BLOCK IoStatusBlock, ULONG Code,
                                                           PVOID InputBuffer, ULONG InputBufferLength,
                                                           PVOID OutputBuffer, ULONG OutputBufferLength, UCHAR major) {
    ULONG method = Code & 3;
    // S-BUF-10, S-BUF-11, S-DSP-18: the buffers are checked before the handle is looked at.
    // A NULL (or never-mapped) buffer with a length fails, and a METHOD_BUFFERED output
    // buffer is probed for write (each page's first byte written back to itself), which
    // fails those too. The method is tested last: a request with its buffers passes two
    // tests for each.
    if (InputBufferLength && never_mapped(InputBuffer) && method != METHOD_NEITHER) [[unlikely]]
        return STATUS_ACCESS_VIOLATION;
    if (OutputBufferLength) {
        if (method == METHOD_BUFFERED) {
            if (NTSTATUS probed = ke::probe_pages(OutputBuffer, OutputBufferLength, true)) [[unlikely]]
                return probed;
        } else if (never_mapped(OutputBuffer) && method != METHOD_NEITHER) [[unlikely]] {
            return STATUS_ACCESS_VIOLATION;
        }
    }
    Request r;
    ACCESS_MASK required = ((Code >> 14) & 1 ? FILE_READ_DATA : 0) | ((Code >> 14) & 2 ? FILE_WRITE_DATA : 0);
    NTSTATUS s = begin_request(FileHandle, Event, ApcRoutine, ApcContext, IoStatusBlock, required, r);
    if (!NT_SUCCESS(s)) return s;
    ULONG buffered = method == METHOD_BUFFERED
                         ? (InputBufferLength > OutputBufferLength ? InputBufferLength : OutputBufferLength)
                         : (method == METHOD_NEITHER ? 0 : InputBufferLength);
    IRP* irp = new_request_irp(r, IoStatusBlock, ApcRoutine, ApcContext, buffered <= 64 ? buffered : 0);
    if (!irp) {
        abandon_request(r);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    PIO_STACK_LOCATION sl = IoGetNextIrpStackLocation(irp);
    sl->MajorFunction = major;
    sl->MinorFunction = major == IRP_MJ_FILE_SYSTEM_CONTROL ? IRP_MN_USER_FS_REQUEST : 0;
    sl->Parameters.DeviceIoControl.OutputBufferLength = OutputBufferLength;
    sl->Parameters.DeviceIoControl.InputBufferLength = InputBufferLength;
    sl->Parameters.DeviceIoControl.IoControlCode = Code;
    irp->UserBuffer = OutputBuffer;
    // S-BUF-11: the input is copied from the caller's buffer as Windows copies it, inside
    // a __try: a fault fails the request with its status, after the event was reset.
    switch (method) {
    case METHOD_BUFFERED:
        if (!give_system_buffer(irp, buffered)) [[unlikely]]
            return refuse_request(r, irp, STATUS_INSUFFICIENT_RESOURCES);
        if (buffered) {
            if (NTSTATUS copied = ke::copy_user(irp->AssociatedIrp.SystemBuffer, InputBuffer, InputBufferLength))
                [[unlikely]]
                return refuse_request(r, irp, copied);
            if (buffered > InputBufferLength)
                std::memset(static_cast<char*>(irp->AssociatedIrp.SystemBuffer) + InputBufferLength, 0,
                            buffered - InputBufferLength);
        }
        irp->Flags = IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER | (OutputBufferLength ? IRP_INPUT_OPERATION : 0);
        io::header_of(irp)->output_length = OutputBufferLength;
        break;
    case METHOD_IN_DIRECT:
    case METHOD_OUT_DIRECT:
        if (NTSTATUS failed = attach_direct_buffers(irp, InputBuffer, InputBufferLength, OutputBuffer,
                                                    OutputBufferLength, method))
            return refuse_request(r, irp, failed);
        break;
    case METHOD_NEITHER:
        sl->Parameters.DeviceIoControl.Type3InputBuffer = InputBuffer;
        break;
    }
    return send_request(r, irp, ApcRoutine);
}
}  // namespace

NTSTATUS io::device_control(HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine, PVOID ApcContext,
                            PIO_STATUS_BLOCK IoStatusBlock, ULONG Code, PVOID InputBuffer, ULONG InputBufferLength,
                            PVOID OutputBuffer, ULONG OutputBufferLength, UCHAR major) {
    return device_control_body(FileHandle, Event, ApcRoutine, ApcContext, IoStatusBlock, Code, InputBuffer,
                               InputBufferLength, OutputBuffer, OutputBufferLength, major);
}

NTSTATUS io::device_control_plain(HANDLE FileHandle, PIO_STATUS_BLOCK IoStatusBlock, ULONG Code, PVOID InputBuffer,
                                  ULONG InputBufferLength, PVOID OutputBuffer, ULONG OutputBufferLength) {
    return device_control_body(FileHandle, nullptr, nullptr, nullptr, IoStatusBlock, Code, InputBuffer,
                               InputBufferLength, OutputBuffer, OutputBufferLength, control_major(Code));
}

namespace {

NTSTATUS read_write(HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine, PVOID ApcContext,
                    PIO_STATUS_BLOCK IoStatusBlock, PVOID Buffer, ULONG Length, PLARGE_INTEGER ByteOffset, PULONG Key,
                    bool write) {
    if (Length && never_mapped(Buffer)) return STATUS_ACCESS_VIOLATION;  // S-BUF-10
    // S-BUF-11: NtReadFile probes the caller's buffer for write before the handle,
    // whatever the device's buffering.
    if (!write && Length)
        if (NTSTATUS probed = ke::probe_pages(Buffer, Length, true)) return probed;
    Request r;
    NTSTATUS s = begin_request(FileHandle, Event, ApcRoutine, ApcContext, IoStatusBlock,
                               write ? FILE_WRITE_DATA : FILE_READ_DATA, r);
    if (!NT_SUCCESS(s)) return s;
    FILE_OBJECT* fo = &r.fb->file;
    LARGE_INTEGER offset;
    bool use_position = !ByteOffset || (ByteOffset->LowPart == FILE_USE_FILE_POINTER_POSITION &&
                                        ByteOffset->HighPart == -1);
    if (use_position && (io::file_flags(fo) & FO_SYNCHRONOUS_IO)) {
        offset = fo->CurrentByteOffset;
    } else if (ByteOffset) {
        offset = *ByteOffset;
    } else {
        abandon_request(r);
        return STATUS_INVALID_PARAMETER;  // S-DSP-17
    }
    DEVICE_OBJECT* top = IoGetAttachedDevice(fo->DeviceObject);
    // S-DISK-2: without intermediate buffering (FILE_FLAG_NO_BUFFERING) a caller's
    // transfer goes to the device as it is, so Windows's I/O manager refuses, for a
    // user-mode caller, a length or an explicit offset that is not a whole number of the
    // device's sectors and a buffer off its alignment requirement.
    if ((io::file_flags(fo) & FO_NO_INTERMEDIATE_BUFFERING) && r.mode == UserMode) [[unlikely]] {
        ULONG sector = top->SectorSize;
        bool whole = !sector || (Length % sector == 0 && (use_position || offset.QuadPart % sector == 0));
        if (!whole || (reinterpret_cast<ULONG_PTR>(Buffer) & top->AlignmentRequirement)) {
            abandon_request(r);
            return STATUS_INVALID_PARAMETER;
        }
    }
    bool buffered = top->Flags & DO_BUFFERED_IO, direct = !buffered && (top->Flags & DO_DIRECT_IO);
    IRP* irp = new_request_irp(r, IoStatusBlock, ApcRoutine, ApcContext, buffered && Length <= 64 ? Length : 0);
    if (!irp) {
        abandon_request(r);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    PIO_STACK_LOCATION sl = IoGetNextIrpStackLocation(irp);
    sl->MajorFunction = write ? IRP_MJ_WRITE : IRP_MJ_READ;
    sl->Parameters.Read.Length = Length;
    sl->Parameters.Read.Key = Key ? *Key : 0;
    sl->Parameters.Read.ByteOffset = offset;
    irp->Flags = write ? IRP_WRITE_OPERATION : IRP_READ_OPERATION;
    NTSTATUS failed = STATUS_SUCCESS;
    if (buffered) {
        // S-BUF-9: a zero-length buffered transfer has no SystemBuffer but keeps the flag.
        if (!give_system_buffer(irp, Length)) failed = STATUS_INSUFFICIENT_RESOURCES;
        irp->Flags |= IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER;
        if (!failed && write && Length) failed = ke::copy_user(irp->AssociatedIrp.SystemBuffer, Buffer, Length);
        if (!write) {
            irp->Flags |= IRP_INPUT_OPERATION;
            irp->UserBuffer = Buffer;
            io::header_of(irp)->output_length = Length;
        }
    } else if (direct) {
        if (Length) failed = attach_mdl(irp, Buffer, Length, write ? IoReadAccess : IoWriteAccess);
    } else {
        irp->UserBuffer = Buffer;
    }
    if (failed) return refuse_request(r, irp, failed);
    // The file position stays the driver's to move: the I/O manager reads it for a
    // request without an offset and never writes it back (file systems, and drivers
    // that keep a position, advance CurrentByteOffset themselves).
    return send_request(r, irp, ApcRoutine);
}

// ---- information and flush: NtQueryInformationFile, NtSetInformationFile,
// NtQueryVolumeInformationFile, NtFlushBuffersFile (S-INF) ------------------------------------

// What a class needs: the smallest buffer (0: not a class of this service here) and the
// access the handle must have been granted, as Windows's tables have them.
struct InfoClass {
    ULONG min_length;
    ACCESS_MASK access;
};

InfoClass query_class(ULONG c) {
    switch (c) {
    case FileBasicInformation: return {sizeof(FILE_BASIC_INFORMATION), FILE_READ_ATTRIBUTES};
    case FileStandardInformation: return {sizeof(FILE_STANDARD_INFORMATION), 0};
    case FileInternalInformation: return {sizeof(FILE_INTERNAL_INFORMATION), 0};
    case FileEaInformation: return {sizeof(FILE_EA_INFORMATION), 0};
    case FileAccessInformation: return {sizeof(FILE_ACCESS_INFORMATION), 0};
    case FileNameInformation: return {sizeof(FILE_NAME_INFORMATION), 0};
    case FilePositionInformation: return {sizeof(FILE_POSITION_INFORMATION), 0};
    case FileModeInformation: return {sizeof(FILE_MODE_INFORMATION), 0};
    case FileAlignmentInformation: return {sizeof(FILE_ALIGNMENT_INFORMATION), 0};
    case FileAllInformation: return {sizeof(FILE_ALL_INFORMATION), FILE_READ_ATTRIBUTES};
    case FileAttributeTagInformation: return {sizeof(FILE_ATTRIBUTE_TAG_INFORMATION), FILE_READ_ATTRIBUTES};
    default: return {0, 0};
    }
}

InfoClass set_class(ULONG c) {
    switch (c) {
    case FileBasicInformation: return {sizeof(FILE_BASIC_INFORMATION), FILE_WRITE_ATTRIBUTES};
    case FileDispositionInformation: return {sizeof(FILE_DISPOSITION_INFORMATION), DELETE};
    case FilePositionInformation: return {sizeof(FILE_POSITION_INFORMATION), 0};
    case FileAllocationInformation: return {sizeof(FILE_ALLOCATION_INFORMATION), FILE_WRITE_DATA};
    case FileEndOfFileInformation: return {sizeof(FILE_END_OF_FILE_INFORMATION), FILE_WRITE_DATA};
    default: return {0, 0};
    }
}

InfoClass volume_class(ULONG c) {
    switch (c) {
    case FileFsVolumeInformation: return {sizeof(FILE_FS_VOLUME_INFORMATION), 0};
    case FileFsDeviceInformation: return {sizeof(FILE_FS_DEVICE_INFORMATION), 0};
    default: return {0, 0};
    }
}

// The creation options a file object was opened with, as FileModeInformation gives them.
ULONG file_mode(const FILE_OBJECT* fo) {
    ULONG flags = io::file_flags(fo), mode = 0;
    if (flags & FO_SYNCHRONOUS_IO)
        mode |= (flags & FO_ALERTABLE_IO) ? FILE_SYNCHRONOUS_IO_ALERT : FILE_SYNCHRONOUS_IO_NONALERT;
    if (flags & FO_WRITE_THROUGH) mode |= FILE_WRITE_THROUGH;
    if (flags & FO_SEQUENTIAL_ONLY) mode |= FILE_SEQUENTIAL_ONLY;
    if (flags & FO_NO_INTERMEDIATE_BUFFERING) mode |= FILE_NO_INTERMEDIATE_BUFFERING;
    return mode;
}

// What the I/O manager answers without asking the driver (S-INF-3): the file object's
// own state. Returns false for a class that goes to the driver.
enum class Service : UCHAR { query, set, volume };
bool answered_here(Service service, ULONG c, const FILE_OBJECT* fo) {
    bool synchronous = io::file_flags(fo) & FO_SYNCHRONOUS_IO;
    switch (service) {
    case Service::query:
        return c == FileAccessInformation || c == FileModeInformation || c == FileAlignmentInformation ||
               (c == FilePositionInformation && synchronous);
    case Service::set: return c == FilePositionInformation && synchronous;
    case Service::volume: return c == FileFsDeviceInformation;
    }
    return false;
}

// Answers a class answered_here takes, on a file object whose I/O lock the caller holds
// if it is synchronous: the value, and the bytes written (Information). The caller's
// buffer is read and written as the I/O manager's copies are (S-BUF-11): a fault fails
// the call with its status.
NTSTATUS answer_here(Service service, ULONG c, FileBody* fb, ACCESS_MASK granted, PVOID user_buffer,
                     ULONG_PTR* information) {
    FILE_OBJECT* fo = &fb->file;
    *information = 0;
    union {
        FILE_POSITION_INFORMATION position;
        FILE_ACCESS_INFORMATION access;
        FILE_MODE_INFORMATION mode;
        FILE_ALIGNMENT_INFORMATION alignment;
        FILE_FS_DEVICE_INFORMATION device;
    } value;
    void* buffer = &value;
    if (service == Service::set) {  // FilePositionInformation on a synchronous file object
        if (NTSTATUS copied = ke::copy_user(&value.position, user_buffer, sizeof value.position)) return copied;
        LARGE_INTEGER to = value.position.CurrentByteOffset;
        // A position before the start, or one not on a sector boundary of a file opened
        // without intermediate buffering, is refused (S-INF-4).
        USHORT sector = fo->DeviceObject->SectorSize;
        if (to.QuadPart < 0 ||
            ((io::file_flags(fo) & FO_NO_INTERMEDIATE_BUFFERING) && sector && (to.QuadPart % sector)))
            return STATUS_INVALID_PARAMETER;
        fo->CurrentByteOffset = to;
        return STATUS_SUCCESS;
    }
    switch (c) {
    case FilePositionInformation:
        static_cast<FILE_POSITION_INFORMATION*>(buffer)->CurrentByteOffset = fo->CurrentByteOffset;
        *information = sizeof(FILE_POSITION_INFORMATION);
        break;
    case FileAccessInformation:
        static_cast<FILE_ACCESS_INFORMATION*>(buffer)->AccessFlags = granted;  // the handle's
        *information = sizeof(FILE_ACCESS_INFORMATION);
        break;
    case FileModeInformation:
        static_cast<FILE_MODE_INFORMATION*>(buffer)->Mode = file_mode(fo);
        *information = sizeof(FILE_MODE_INFORMATION);
        break;
    case FileAlignmentInformation:
        static_cast<FILE_ALIGNMENT_INFORMATION*>(buffer)->AlignmentRequirement =
            fo->DeviceObject->AlignmentRequirement;
        *information = sizeof(FILE_ALIGNMENT_INFORMATION);
        break;
    case FileFsDeviceInformation: {
        auto* info = static_cast<FILE_FS_DEVICE_INFORMATION*>(buffer);
        info->DeviceType = fo->DeviceObject->DeviceType;
        info->Characteristics = fo->DeviceObject->Characteristics;
        *information = sizeof(FILE_FS_DEVICE_INFORMATION);
        break;
    }
    }
    NTSTATUS copied = ke::copy_user(user_buffer, buffer, *information);
    if (copied) *information = 0;
    return copied;
}

// The answer_here path, on the file object information_service referenced (and
// dereferences): the class's access, a synchronous file object's I/O lock around the
// read or write of its state, then the status block. No IRP, and the file object's
// event is left alone.
NTSTATUS answer_without_irp(FileBody* fb, ACCESS_MASK granted, Service service, ULONG c, ACCESS_MASK access,
                            PIO_STATUS_BLOCK iosb, PVOID buffer) {
    if (ps::previous_mode() == UserMode && (access & ~granted)) return STATUS_ACCESS_DENIED;
    bool synchronous = io::file_flags(&fb->file) & FO_SYNCHRONOUS_IO;
    if (synchronous) io::lock_file(*fb);
    ULONG_PTR information = 0;
    NTSTATUS s = answer_here(service, c, fb, granted, buffer, &information);
    if (synchronous) io::unlock_file(*fb, false);
    if (NT_SUCCESS(s)) io::write_status_block(iosb, s, information);
    return s;
}

// One IRP for a service that is synchronous whatever the file object (S-INF-5): on a
// synchronous one the request holds the I/O lock and waits on the file object's event
// (send_request); on an asynchronous one the IRP carries IRP_SYNCHRONOUS_API, an event
// and a status block of the service's own, which it copies to the caller's once the
// request has completed (or leaves alone after an immediate failure, S-DSP-4).
struct ServiceIrp {
    UCHAR major;
    ULONG length;      // the caller's buffer: copied in (set) or back (query), or none
    ULONG info_class;  // FileInformationClass or FsInformationClass
    PVOID buffer;
    bool copy_back;
};

NTSTATUS send_service_irp(HANDLE h, PIO_STATUS_BLOCK iosb, ACCESS_MASK access, const ServiceIrp& what) {
    Request r;
    NTSTATUS s = begin_request(h, nullptr, nullptr, nullptr, iosb, access, r);
    if (!NT_SUCCESS(s)) return s;
    bool own_wait = !r.locked;
    KEVENT done;
    IO_STATUS_BLOCK own_iosb{STATUS_PENDING, 0};
    IRP* irp = new_request_irp(r, own_wait ? &own_iosb : iosb, nullptr, nullptr, what.length <= 64 ? what.length : 0);
    if (!irp) {
        abandon_request(r);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    if (own_wait) {
        KeInitializeEvent(&done, NotificationEvent, FALSE);
        irp->UserEvent = &done;
        irp->Flags |= IRP_SYNCHRONOUS_API;
    }
    PIO_STACK_LOCATION sl = IoGetNextIrpStackLocation(irp);
    sl->MajorFunction = what.major;
    if (what.major != IRP_MJ_FLUSH_BUFFERS) {
        // QueryFile, SetFile and QueryVolume share these two fields' places.
        sl->Parameters.QueryFile.Length = what.length;
        sl->Parameters.QueryFile.FileInformationClass = static_cast<FILE_INFORMATION_CLASS>(what.info_class);
        if (!give_system_buffer(irp, what.length)) return refuse_request(r, irp, STATUS_INSUFFICIENT_RESOURCES);
        irp->Flags |= IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER;
        if (what.copy_back) {
            irp->Flags |= IRP_INPUT_OPERATION;
            irp->UserBuffer = what.buffer;
            io::header_of(irp)->output_length = what.length;
        } else if (NTSTATUS copied = ke::copy_user(irp->AssociatedIrp.SystemBuffer, what.buffer, what.length)) {
            return refuse_request(r, irp, copied);  // S-BUF-11: the caller's buffer could not be read
        }
    }
    NTSTATUS status = send_request(r, irp, nullptr);
    if (own_wait) {
        if (status == STATUS_PENDING) {
            KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, nullptr);
            status = own_iosb.Status;
        }
        if (own_iosb.Status != STATUS_PENDING) io::write_status_block(iosb, own_iosb.Status, own_iosb.Information);
    }
    return status;
}

// The checks every information service makes first, in Windows's order (S-INF-1): the
// class, the buffer's length, then the status block and the buffer (NULL; and a buffer
// for a query is probed for write, S-BUF-11), all before the handle.
NTSTATUS information_service(HANDLE h, PIO_STATUS_BLOCK iosb, PVOID buffer, ULONG length, ULONG c, Service service) {
    InfoClass ic = service == Service::query ? query_class(c)
                   : service == Service::set ? set_class(c)
                                             : volume_class(c);
    if (!ic.min_length) return STATUS_INVALID_INFO_CLASS;
    if (length < ic.min_length) return STATUS_INFO_LENGTH_MISMATCH;
    if (!iosb || !buffer) return STATUS_ACCESS_VIOLATION;
    if (NTSTATUS probed = probe_status_block(iosb)) return probed;
    if (service != Service::set)
        if (NTSTATUS probed = ke::probe_pages(buffer, length, true)) return probed;
    // Whether the I/O manager answers depends on the file object.
    void* body = nullptr;
    ACCESS_MASK granted = 0;
    NTSTATUS s = ob::reference_by_handle(h, &io::g_file_type, ps::previous_mode(), 0, &body, &granted);
    if (!NT_SUCCESS(s)) return s;
    auto* fb = static_cast<FileBody*>(body);
    if (answered_here(service, c, &fb->file)) {
        s = answer_without_irp(fb, granted, service, c, ic.access, iosb, buffer);
        ob::dereference(fb);
        return s;
    }
    ob::dereference(fb);  // the request takes its own (begin_request)
    UCHAR major = service == Service::query ? IRP_MJ_QUERY_INFORMATION
                  : service == Service::set ? IRP_MJ_SET_INFORMATION
                                            : IRP_MJ_QUERY_VOLUME_INFORMATION;
    return send_service_irp(h, iosb, ic.access, {major, length, c, buffer, service != Service::set});
}

}  // namespace

extern "C" {

NTSTATUS NtCreateFile(PHANDLE FileHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                      PIO_STATUS_BLOCK IoStatusBlock, PLARGE_INTEGER AllocationSize, ULONG FileAttributes,
                      ULONG ShareAccess, ULONG CreateDisposition, ULONG CreateOptions, PVOID EaBuffer,
                      ULONG EaLength) {
    (void)AllocationSize;
    (void)FileAttributes;
    (void)EaBuffer;
    (void)EaLength;
    verifier::check_irql_at_most(PASSIVE_LEVEL, "NtCreateFile");
    if (ShareAccess & ~FILE_SHARE_VALID_FLAGS) return STATUS_INVALID_PARAMETER;
    if ((CreateOptions & FILE_SYNCHRONOUS_IO_ALERT) && (CreateOptions & FILE_SYNCHRONOUS_IO_NONALERT))
        return STATUS_INVALID_PARAMETER;
    return open_device(FileHandle, DesiredAccess, ObjectAttributes, IoStatusBlock, ShareAccess, CreateDisposition,
                       CreateOptions);
}

NTSTATUS NtOpenFile(PHANDLE FileHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                    PIO_STATUS_BLOCK IoStatusBlock, ULONG ShareAccess, ULONG OpenOptions) {
    return NtCreateFile(FileHandle, DesiredAccess, ObjectAttributes, IoStatusBlock, nullptr, 0, ShareAccess, FILE_OPEN,
                        OpenOptions, nullptr, 0);
}

NTSTATUS NtDeviceIoControlFile(HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine, PVOID ApcContext,
                               PIO_STATUS_BLOCK IoStatusBlock, ULONG IoControlCode, PVOID InputBuffer,
                               ULONG InputBufferLength, PVOID OutputBuffer, ULONG OutputBufferLength) {
    if (NTSTATUS probed = probe_status_block(IoStatusBlock)) return probed;
    return io::device_control(FileHandle, Event, ApcRoutine, ApcContext, IoStatusBlock, IoControlCode, InputBuffer,
                              InputBufferLength, OutputBuffer, OutputBufferLength, IRP_MJ_DEVICE_CONTROL);
}

NTSTATUS NtFsControlFile(HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine, PVOID ApcContext,
                         PIO_STATUS_BLOCK IoStatusBlock, ULONG FsControlCode, PVOID InputBuffer,
                         ULONG InputBufferLength, PVOID OutputBuffer, ULONG OutputBufferLength) {
    if (NTSTATUS probed = probe_status_block(IoStatusBlock)) return probed;
    return io::device_control(FileHandle, Event, ApcRoutine, ApcContext, IoStatusBlock, FsControlCode, InputBuffer,
                              InputBufferLength, OutputBuffer, OutputBufferLength, IRP_MJ_FILE_SYSTEM_CONTROL);
}

NTSTATUS NtReadFile(HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine, PVOID ApcContext,
                    PIO_STATUS_BLOCK IoStatusBlock, PVOID Buffer, ULONG Length, PLARGE_INTEGER ByteOffset, PULONG Key) {
    if (NTSTATUS probed = probe_status_block(IoStatusBlock)) return probed;
    return read_write(FileHandle, Event, ApcRoutine, ApcContext, IoStatusBlock, Buffer, Length, ByteOffset, Key, false);
}

NTSTATUS NtWriteFile(HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine, PVOID ApcContext,
                     PIO_STATUS_BLOCK IoStatusBlock, PVOID Buffer, ULONG Length, PLARGE_INTEGER ByteOffset,
                     PULONG Key) {
    if (NTSTATUS probed = probe_status_block(IoStatusBlock)) return probed;
    return read_write(FileHandle, Event, ApcRoutine, ApcContext, IoStatusBlock, Buffer, Length, ByteOffset, Key, true);
}

NTSTATUS NtQueryInformationFile(HANDLE FileHandle, PIO_STATUS_BLOCK IoStatusBlock, PVOID FileInformation,
                                ULONG Length, FILE_INFORMATION_CLASS FileInformationClass) {
    return information_service(FileHandle, IoStatusBlock, FileInformation, Length, FileInformationClass,
                               Service::query);
}

NTSTATUS NtSetInformationFile(HANDLE FileHandle, PIO_STATUS_BLOCK IoStatusBlock, PVOID FileInformation, ULONG Length,
                              FILE_INFORMATION_CLASS FileInformationClass) {
    return information_service(FileHandle, IoStatusBlock, FileInformation, Length, FileInformationClass, Service::set);
}

NTSTATUS NtQueryVolumeInformationFile(HANDLE FileHandle, PIO_STATUS_BLOCK IoStatusBlock, PVOID FsInformation,
                                      ULONG Length, FS_INFORMATION_CLASS FsInformationClass) {
    return information_service(FileHandle, IoStatusBlock, FsInformation, Length, FsInformationClass,
                               Service::volume);
}

// S-INF-6: the handle must allow writing or appending, in kernel mode too; checked
// before the request begins (its lock, its event).
NTSTATUS NtFlushBuffersFile(HANDLE FileHandle, PIO_STATUS_BLOCK IoStatusBlock) {
    if (NTSTATUS probed = probe_status_block(IoStatusBlock)) return probed;
    void* body = nullptr;
    ACCESS_MASK granted = 0;  // the handle's
    NTSTATUS s = ob::reference_by_handle(FileHandle, &io::g_file_type, ps::previous_mode(), 0, &body, &granted);
    if (!NT_SUCCESS(s)) return s;
    bool allowed = granted & (FILE_WRITE_DATA | FILE_APPEND_DATA);
    ob::dereference(body);
    if (!allowed) return STATUS_ACCESS_DENIED;
    return send_service_irp(FileHandle, IoStatusBlock, 0, {IRP_MJ_FLUSH_BUFFERS, 0, 0, nullptr, false});
}

NTSTATUS ZwCreateFile(PHANDLE FileHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                      PIO_STATUS_BLOCK IoStatusBlock, PLARGE_INTEGER AllocationSize, ULONG FileAttributes,
                      ULONG ShareAccess, ULONG CreateDisposition, ULONG CreateOptions, PVOID EaBuffer,
                      ULONG EaLength) {
    ps::KernelModeScope kernel;
    return NtCreateFile(FileHandle, DesiredAccess, ObjectAttributes, IoStatusBlock, AllocationSize, FileAttributes,
                        ShareAccess, CreateDisposition, CreateOptions, EaBuffer, EaLength);
}

NTSTATUS ZwOpenFile(PHANDLE FileHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                    PIO_STATUS_BLOCK IoStatusBlock, ULONG ShareAccess, ULONG OpenOptions) {
    ps::KernelModeScope kernel;
    return NtOpenFile(FileHandle, DesiredAccess, ObjectAttributes, IoStatusBlock, ShareAccess, OpenOptions);
}

NTSTATUS ZwDeviceIoControlFile(HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine, PVOID ApcContext,
                               PIO_STATUS_BLOCK IoStatusBlock, ULONG IoControlCode, PVOID InputBuffer,
                               ULONG InputBufferLength, PVOID OutputBuffer, ULONG OutputBufferLength) {
    ps::KernelModeScope kernel;
    return NtDeviceIoControlFile(FileHandle, Event, ApcRoutine, ApcContext, IoStatusBlock, IoControlCode, InputBuffer,
                                 InputBufferLength, OutputBuffer, OutputBufferLength);
}

NTSTATUS ZwReadFile(HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine, PVOID ApcContext,
                    PIO_STATUS_BLOCK IoStatusBlock, PVOID Buffer, ULONG Length, PLARGE_INTEGER ByteOffset, PULONG Key) {
    ps::KernelModeScope kernel;
    return NtReadFile(FileHandle, Event, ApcRoutine, ApcContext, IoStatusBlock, Buffer, Length, ByteOffset, Key);
}

NTSTATUS ZwWriteFile(HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine, PVOID ApcContext,
                     PIO_STATUS_BLOCK IoStatusBlock, PVOID Buffer, ULONG Length, PLARGE_INTEGER ByteOffset,
                     PULONG Key) {
    ps::KernelModeScope kernel;
    return NtWriteFile(FileHandle, Event, ApcRoutine, ApcContext, IoStatusBlock, Buffer, Length, ByteOffset, Key);
}

NTSTATUS ZwQueryInformationFile(HANDLE FileHandle, PIO_STATUS_BLOCK IoStatusBlock, PVOID FileInformation,
                                ULONG Length, FILE_INFORMATION_CLASS FileInformationClass) {
    ps::KernelModeScope kernel;
    return NtQueryInformationFile(FileHandle, IoStatusBlock, FileInformation, Length, FileInformationClass);
}

NTSTATUS ZwSetInformationFile(HANDLE FileHandle, PIO_STATUS_BLOCK IoStatusBlock, PVOID FileInformation, ULONG Length,
                              FILE_INFORMATION_CLASS FileInformationClass) {
    ps::KernelModeScope kernel;
    return NtSetInformationFile(FileHandle, IoStatusBlock, FileInformation, Length, FileInformationClass);
}

NTSTATUS ZwQueryVolumeInformationFile(HANDLE FileHandle, PIO_STATUS_BLOCK IoStatusBlock, PVOID FsInformation,
                                      ULONG Length, FS_INFORMATION_CLASS FsInformationClass) {
    ps::KernelModeScope kernel;
    return NtQueryVolumeInformationFile(FileHandle, IoStatusBlock, FsInformation, Length, FsInformationClass);
}

NTSTATUS ZwFlushBuffersFile(HANDLE FileHandle, PIO_STATUS_BLOCK IoStatusBlock) {
    ps::KernelModeScope kernel;
    return NtFlushBuffersFile(FileHandle, IoStatusBlock);
}

}  // extern "C"

extern "C" {
static POBJECT_TYPE IoFileObjectType_ptr = &ntio::io::g_file_type;
POBJECT_TYPE* IoFileObjectType = &IoFileObjectType_ptr;
}
