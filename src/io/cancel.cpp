// Cancellation: the cancel spin lock, IoCancelIrp (S-CAN-1..3), CancelIo /
// CancelIoEx / CancelSynchronousIo (S-CAN-8..11) and a thread's I/O cancelled as it
// exits (S-CAN-12).
#include <cstdio>
#include <vector>

#include "io/iomgr.hpp"
#include "ob/services.hpp"
#include "ps/thread.hpp"
#include "system.hpp"
#include "trace/trace.hpp"
#include "verifier/drivers.hpp"
#include "verifier/hooks.hpp"
#include "verifier/irp_tracker.hpp"
#include "verifier/report.hpp"
#include "win32/win32.hpp"

namespace ntio::io {

constinit KSPIN_LOCK g_cancel_lock = 0;

namespace {

// An IRP collected from a thread's list, held so it cannot be freed under us.
struct Held {
    IRP* irp;
    _KTHREAD* thread;
};

template <typename Match>
void collect(_KTHREAD* t, Match&& match, std::vector<Held>& out) {
    auto hold = [&](IRP* irp) {
        if (!match(irp)) return;
        header_of(irp)->cancel_holds++;
        ps::reference(t);
        out.push_back({irp, t});
    };
    t->irp_lock.lock();
    if (IRP* irp = slot_irp_locked(t)) hold(irp);
    for (PLIST_ENTRY e = t->irp_list.Flink; e != &t->irp_list; e = e->Flink)
        hold(CONTAINING_RECORD(e, IRP, ThreadListEntry));
    t->irp_lock.unlock();
}

void cancel_and_release(std::vector<Held>& held) {
    for (Held& h : held) {
        IoCancelIrp(h.irp);
        h.thread->irp_lock.lock();
        IrpHeader* hdr = header_of(h.irp);
        bool free_now = --hdr->cancel_holds == 0 && hdr->free_deferred;
        h.thread->irp_lock.unlock();
        if (free_now) free_irp(h.irp);
        ps::dereference(h.thread);
    }
}

std::vector<_KTHREAD*> all_threads() {
    std::vector<_KTHREAD*> out;
    System::Impl& s = sys();
    std::lock_guard g(s.threads_lock);
    for (PLIST_ENTRY e = s.threads.Flink; e != &s.threads; e = e->Flink) {
        auto* t = CONTAINING_RECORD(e, _KTHREAD, registry_entry);
        // The registry holds no reference: skip a thread whose last one is gone
        // (it is waiting for this lock to leave the list).
        if (ob::reference_if_live(t)) out.push_back(t);
    }
    return out;
}

// No IRP on the list and none whose caller is still being notified.
// S-CAN-8: whether the thread still has a request on this file object, listed, or any
// request still finishing (its status block and event may not be written yet).
bool requests_on_file_remain(_KTHREAD* t, const FILE_OBJECT* fo) {
    t->irp_lock.lock();
    bool remain = t->irps_finishing != 0;
    if (IRP* irp = slot_irp_locked(t)) remain = remain || irp->Tail.Overlay.OriginalFileObject == fo;
    for (PLIST_ENTRY e = t->irp_list.Flink; !remain && e != &t->irp_list; e = e->Flink)
        remain = CONTAINING_RECORD(e, IRP, ThreadListEntry)->Tail.Overlay.OriginalFileObject == fo;
    t->irp_lock.unlock();
    return remain;
}

bool all_requests_done(_KTHREAD* t) {
    t->irp_lock.lock();
    bool done =
        IsListEmpty(&t->irp_list) && !t->irp_slot.load(std::memory_order_relaxed) && t->irps_finishing == 0;
    t->irp_lock.unlock();
    return done;
}

}  // namespace

PKSPIN_LOCK cancel_spin_lock() { return &g_cancel_lock; }

void call_cancel_routine(PDRIVER_CANCEL routine, PDEVICE_OBJECT dev, PIRP irp, KIRQL irql) {
    if (trace::enabled()) [[unlikely]]
        trace::irp_event(trace::Kind::cancel_routine, irp, dev);
    if (verifier::irp_hooks()) [[unlikely]]
        verifier::irps::note(irp, verifier::irps::Step::cancel_routine, dev, 0, 0);
    // Read now: the routine may complete the IRP, and another thread free it, before a report.
    uint64_t irp_id = irp->NtioPrivate ? header_of(irp)->sequence : 0;
    {
        verifier::drivers::Scope scope(dev ? dev->DriverObject : nullptr);
        routine(dev, irp);  // at DISPATCH_LEVEL with the cancel lock held; the routine releases it
    }
    if (cancel_lock_held_by_caller()) {
        verifier::report(verifier::Check::CancelSpinLockNotReleased,
                             fmt::format("cancel routine {} returned holding the cancel spin lock; it must call "
                                         "IoReleaseCancelSpinLock(Irp->CancelIrql)",
                                         reinterpret_cast<void*>(routine)),
                             {.device = dev, .irp_id = irp_id});
        IoReleaseCancelSpinLock(irql);
    } else if (KeGetCurrentIrql() != irql) {
        verifier::report(verifier::Check::IRQL_UNEXPECTED_VALUE,
                             fmt::format("cancel routine {} returned at IRQL {} but was entered with CancelIrql {}; "
                                         "release the cancel spin lock with IoReleaseCancelSpinLock(Irp->CancelIrql)",
                                         reinterpret_cast<void*>(routine), KeGetCurrentIrql(), irql),
                             {.device = dev, .irp_id = irp_id});
        if (KeGetCurrentIrql() > irql) KeLowerIrql(irql);
        else KfRaiseIrql(irql);
    }
}

void cancel_request(_KTHREAD* t, uint64_t sequence) {
    std::vector<Held> held;
    collect(t, [&](IRP* irp) { return header_of(irp)->sequence == sequence; }, held);
    cancel_and_release(held);
}

void cancel_file_request(_KTHREAD* t, FILE_OBJECT* file) {
    std::vector<Held> held;
    collect(t,
            [&](IRP* irp) {
                return irp->Tail.Overlay.OriginalFileObject == file && (header_of(irp)->flags & kIrpUserRequest);
            },
            held);
    cancel_and_release(held);
}

void cancel_thread_io(_KTHREAD* t) {
    if (cancel_thread_requests(t)) wait_for_thread_requests(t);
}

bool cancel_thread_requests(_KTHREAD* t, bool* in_synchronous_call) {
    std::vector<Held> held;
    bool synchronous = false;
    collect(
        t,
        [&](IRP* irp) {
            // A data request the I/O manager sent for a synchronous file object (its
            // own create, cleanup and close are IRP_SYNCHRONOUS_API and return as usual).
            // Only what is written before the IRP is queued is read: a completion on
            // another thread may be changing the rest (the header's flags) right now.
            FILE_OBJECT* fo = irp->Tail.Overlay.OriginalFileObject;
            if (fo && !(irp->Flags & IRP_SYNCHRONOUS_API) && (file_flags(fo) & FO_SYNCHRONOUS_IO))
                synchronous = true;
            return true;
        },
        held);
    if (in_synchronous_call) *in_synchronous_call = synchronous;
    if (held.empty() && all_requests_done(t)) return false;
    cancel_and_release(held);
    return true;
}

void wait_for_thread_requests(_KTHREAD* t) {
    // Wait until the drivers have completed them. Windows polls every 100 ms; we are
    // woken by the last completion instead (an exit is not held up to 100 ms per
    // straggler), and still count 100 ms slices: after 5 minutes the rest are
    // disassociated from the thread.
    t->irp_lock.lock();
    t->irp_drain_waiting = true;
    t->irp_lock.unlock();
    LARGE_INTEGER slice;
    slice.QuadPart = -100 * 10000;
    for (int timeouts = 0; timeouts < 3000 && !all_requests_done(t);)
        if (KeWaitForSingleObject(&t->irps_gone, Executive, KernelMode, FALSE, &slice) == STATUS_TIMEOUT &&
            ++timeouts == 10)
            // Said once, after a second, so that a wait of minutes on the real clock is not a mystery.
            std::fprintf(stderr,
                         "ntio: thread %u (Linux tid %u) is ending (or the program exiting), and a request it "
                         "issued was cancelled but is not completed yet; as on Windows, it is waited for up to 5 "
                         "minutes (S-CAN-12). A driver that queues requests should give them a cancel routine.\n",
                         t->id, t->tid.load());
    t->irp_lock.lock();
    t->irp_drain_waiting = false;
    int orphans = 0;
    // For the report, read while the IRPs cannot finish (their completion needs this
    // lock): their ids, and the device the first one's file was opened on, referenced
    // because the IRP and its file may be gone by the time the report is made.
    std::string ids;
    uint64_t first_id = 0;
    DEVICE_OBJECT* device = nullptr;
    auto disassociate = [&](IRP* irp) {
        IrpHeader* h = header_of(irp);
        if (!first_id) {
            first_id = h->sequence;
            if (FILE_OBJECT* fo = irp->Tail.Overlay.OriginalFileObject; fo && fo->DeviceObject) {
                device = fo->DeviceObject;
                ob::reference(device);
            }
        }
        if (orphans < 8) ids += fmt::format("{}#{}", orphans ? ", " : "", h->sequence);
        InitializeListHead(&irp->ThreadListEntry);
        h->list_state = kDisassociated;  // h->thread stays: the completion needs its lock
        irp->Tail.Overlay.Thread = nullptr;
        ps::reference(t);  // dropped by the IRP's completion
        ++orphans;
    };
    if (IRP* irp = take_slot_irp_locked(t)) disassociate(irp);
    while (!IsListEmpty(&t->irp_list))
        disassociate(CONTAINING_RECORD(RemoveHeadList(&t->irp_list), IRP, ThreadListEntry));
    t->irp_lock.unlock();
    if (orphans)
        verifier::report(verifier::Check::IO_DRIVER_CANCEL_TIMEOUT,
                         fmt::format("{} request(s) of an exiting thread (IRP {}{}) were not completed within 5 "
                                     "minutes of being cancelled; they are disassociated from the thread. Give queued "
                                     "IRPs a cancel routine, or complete them in IRP_MJ_CLEANUP.",
                                     orphans, ids, orphans > 8 ? ", ..." : ""),
                         {.device = device, .irp_id = first_id});
    if (device) ob::dereference(device);
}

}  // namespace ntio::io

using namespace ntio;

namespace {

NTSTATUS file_of(HANDLE h, io::FileBody** out) {
    void* body = nullptr;
    NTSTATUS s = ob::reference_by_handle(h, &io::g_file_type, ps::previous_mode(), 0, &body, nullptr);
    if (NT_SUCCESS(s)) *out = static_cast<io::FileBody*>(body);
    return s;
}

}  // namespace

extern "C" {

VOID IoAcquireCancelSpinLock(PKIRQL Irql) { KeAcquireSpinLock(&io::g_cancel_lock, Irql); }

VOID IoReleaseCancelSpinLock(KIRQL Irql) { KeReleaseSpinLock(&io::g_cancel_lock, Irql); }

BOOLEAN IoCancelIrp(PIRP Irp) {
    verifier::check_irql_at_most(DISPATCH_LEVEL, "IoCancelIrp");
    if (verifier::irp_hooks()) [[unlikely]] {
        if (!verifier::irps::check_live(Irp, "IoCancelIrp")) return FALSE;
        verifier::irps::note(Irp, verifier::irps::Step::cancel, nullptr, 0, 0);
    }
    if (trace::enabled()) [[unlikely]]
        trace::irp_event(trace::Kind::cancel, Irp);
    KIRQL irql;
    IoAcquireCancelSpinLock(&irql);
    // Atomic: a completion on another thread may be reading it (run_completion_routine).
    __atomic_store_n(&Irp->Cancel, TRUE, __ATOMIC_RELAXED);
    PDRIVER_CANCEL routine = IoSetCancelRoutine(Irp, nullptr);
    if (!routine) {
        IoReleaseCancelSpinLock(irql);
        return FALSE;
    }
    Irp->CancelIrql = irql;
    PDEVICE_OBJECT dev =
        Irp->CurrentLocation <= Irp->StackCount ? IoGetCurrentIrpStackLocation(Irp)->DeviceObject : nullptr;
    io::call_cancel_routine(routine, dev, Irp, irql);
    return TRUE;
}

// S-CAN-8: the calling thread's requests on this file. Returns at once (see
// docs/compat.md on whether Windows waits here).
NTSTATUS NtCancelIoFile(HANDLE FileHandle, PIO_STATUS_BLOCK IoStatusBlock) {
    io::FileBody* fb = nullptr;
    NTSTATUS s = file_of(FileHandle, &fb);
    if (!NT_SUCCESS(s)) return s;
    std::vector<io::Held> held;
    _KTHREAD* self = ps::current_thread();
    io::collect(self, [&](IRP* irp) { return irp->Tail.Overlay.OriginalFileObject == &fb->file; }, held);
    bool cancelled = !held.empty();
    io::cancel_and_release(held);
    // Then it waits until the drivers have completed them, polling every 10 ms as
    // Windows's NtCancelIoFile does, so the caller may free its OVERLAPPEDs and buffers
    // when CancelIo returns.
    if (cancelled) {
        LARGE_INTEGER poll;
        poll.QuadPart = -10 * 10000;
        for (int polls = 0; io::requests_on_file_remain(self, &fb->file); ++polls) {
            if (polls == 100)  // said once, after a second, so that a long wait is not a mystery
                std::fprintf(stderr,
                             "ntio: CancelIo waits for the cancelled requests of thread %u (Linux tid %u) to "
                             "complete, as on Windows (S-CAN-8); a driver that queues requests should give them a "
                             "cancel routine\n",
                             self->id, self->tid.load());
            KeDelayExecutionThread(KernelMode, FALSE, &poll);
        }
    }
    ob::dereference(fb);
    if (IoStatusBlock) {
        IoStatusBlock->Status = STATUS_SUCCESS;
        IoStatusBlock->Information = 0;
    }
    return STATUS_SUCCESS;
}

// S-CAN-9: any thread's requests on this file, or the one whose IOSB is the given one.
NTSTATUS NtCancelIoFileEx(HANDLE FileHandle, PIO_STATUS_BLOCK IoRequestToCancel, PIO_STATUS_BLOCK IoStatusBlock) {
    io::FileBody* fb = nullptr;
    NTSTATUS s = file_of(FileHandle, &fb);
    if (!NT_SUCCESS(s)) return s;
    std::vector<io::Held> held;
    for (_KTHREAD* t : io::all_threads()) {
        io::collect(t,
                    [&](IRP* irp) {
                        return irp->Tail.Overlay.OriginalFileObject == &fb->file &&
                               (!IoRequestToCancel || irp->UserIosb == IoRequestToCancel);
                    },
                    held);
        ps::dereference(t);
    }
    bool found = !held.empty();
    io::cancel_and_release(held);
    ob::dereference(fb);
    if (!found) return STATUS_NOT_FOUND;
    if (IoStatusBlock) {
        IoStatusBlock->Status = STATUS_SUCCESS;
        IoStatusBlock->Information = 0;
    }
    return STATUS_SUCCESS;
}

// S-CAN-10: the target thread's pending synchronous requests.
NTSTATUS NtCancelSynchronousIoFile(HANDLE ThreadHandle, PIO_STATUS_BLOCK IoRequestToCancel,
                                   PIO_STATUS_BLOCK IoStatusBlock) {
    void* body = nullptr;
    NTSTATUS s = ob::reference_by_handle(ThreadHandle, &ob::g_thread_type, ps::previous_mode(), THREAD_TERMINATE,
                                         &body, nullptr);
    if (!NT_SUCCESS(s)) return s;
    auto* t = static_cast<_KTHREAD*>(body);
    std::vector<io::Held> held;
    io::collect(t,
                [&](IRP* irp) {
                    FILE_OBJECT* fo = irp->Tail.Overlay.OriginalFileObject;
                    bool sync = (irp->Flags & IRP_SYNCHRONOUS_API) || (fo && (io::file_flags(fo) & FO_SYNCHRONOUS_IO));
                    return sync && (!IoRequestToCancel || irp->UserIosb == IoRequestToCancel);
                },
                held);
    bool found = !held.empty();
    io::cancel_and_release(held);
    ob::dereference(body);
    if (!found) return STATUS_NOT_FOUND;
    if (IoStatusBlock) {
        IoStatusBlock->Status = STATUS_SUCCESS;
        IoStatusBlock->Information = 0;
    }
    return STATUS_SUCCESS;
}

BOOL CancelIo(HANDLE hFile) {
    IO_STATUS_BLOCK iosb;
    NTSTATUS s = NtCancelIoFile(hFile, &iosb);
    if (NT_SUCCESS(s)) return TRUE;
    win32::set_error_from_status(s);
    return FALSE;
}

BOOL CancelIoEx(HANDLE hFile, LPOVERLAPPED lpOverlapped) {
    IO_STATUS_BLOCK iosb;
    NTSTATUS s = NtCancelIoFileEx(hFile, reinterpret_cast<PIO_STATUS_BLOCK>(lpOverlapped), &iosb);
    if (NT_SUCCESS(s)) return TRUE;
    win32::set_error_from_status(s);
    return FALSE;
}

BOOL CancelSynchronousIo(HANDLE hThread) {
    IO_STATUS_BLOCK iosb;
    NTSTATUS s = NtCancelSynchronousIoFile(hThread, nullptr, &iosb);
    if (NT_SUCCESS(s)) return TRUE;
    win32::set_error_from_status(s);
    return FALSE;
}

}  // extern "C"
