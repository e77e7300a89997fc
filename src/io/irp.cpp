// IRPs: allocation from a per-thread lookaside, IoCallDriver, the completion
// walk of IoCompleteRequest (S-CMP-2..10) and the I/O manager's final step for
// requests it issued (S-CMP-9), MDLs, and the issuing thread's IRP list.
#include <cstdlib>
#include <mutex>
#include <vector>

#include "io/completion_port.hpp"
#include "io/iomgr.hpp"
#include "ke/objects.hpp"
#include "ps/thread.hpp"
#include "system.hpp"
#include "trace/trace.hpp"
#include "verifier/faults.hpp"
#include "verifier/hooks.hpp"
#include "verifier/irp_tracker.hpp"
#include "verifier/report.hpp"

namespace ntio::io {
namespace {

constexpr uint32_t kIrpMagic = 0x50524949;       // "IIRP"
constexpr uint32_t kFreedIrpMagic = 0x44454552;  // freed
constexpr CCHAR kLookasideStack = 2;
constexpr uint32_t kLookasideBuffer = 64;
constexpr size_t kLookasideDepth = 256;

size_t irp_bytes(CCHAR stack, uint32_t buffer) {
    return sizeof(IrpHeader) + sizeof(IRP) + size_t(stack) * sizeof(IO_STACK_LOCATION) + buffer;
}

// Live IRP accounting without a shared counter on the hot path: each thread keeps
// its own count (allocations minus frees it performed); the sum is what is live.
struct IrpCounter {
    std::atomic<int64_t> value{0};
};
// Constant-initialized or built on first use: IRPs are allocated while drivers load
// from the library's constructor, possibly before this file's dynamic initializers.
constinit std::mutex g_counters_lock;
std::vector<IrpCounter*>& counters() {
    static auto* v = new std::vector<IrpCounter*>();
    return *v;
}
constinit std::atomic<int64_t> g_retired{0};

// The per-thread lookaside of standard-size IRPs, and this thread's counter.
struct ThreadIrpCache {
    IrpHeader* free = nullptr;  // chained through event_object
    size_t depth = 0;
    IrpCounter* counter = nullptr;
    IrpCounter& count() {
        if (!counter) {
            counter = new IrpCounter();
            std::lock_guard g(g_counters_lock);
            counters().push_back(counter);
            ps::watch_thread_exit();
        }
        return *counter;
    }
};
// Trivially destructible (see ps::watch_thread_exit); released by thread_exit_cleanup.
thread_local ThreadIrpCache t_cache;

void bump(int64_t delta) {
    auto& c = t_cache.count().value;
    c.store(c.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
}

void init_irp(IRP* irp, CCHAR stack, UCHAR allocation_flags, IrpHeader* h) {
    std::memset(irp, 0, sizeof(IRP) + size_t(stack) * sizeof(IO_STACK_LOCATION));
    irp->NtioPrivate = h;
    irp->Type = IO_TYPE_IRP;
    irp->Size = IoSizeOfIrp(stack);
    irp->StackCount = stack;
    irp->CurrentLocation = static_cast<CHAR>(stack + 1);
    irp->AllocationFlags = allocation_flags;
    irp->Tail.Overlay.CurrentStackLocation = reinterpret_cast<PIO_STACK_LOCATION>(irp + 1) + stack;
    InitializeListHead(&irp->ThreadListEntry);
}

}  // namespace

void thread_exit_cleanup() {
    while (t_cache.free) {
        IrpHeader* next = static_cast<IrpHeader*>(t_cache.free->event_object);
        std::free(t_cache.free);
        t_cache.free = next;
    }
    t_cache.depth = 0;
    if (IrpCounter* c = t_cache.counter) {
        std::lock_guard g(g_counters_lock);
        g_retired.fetch_add(c->value.load());
        std::erase(counters(), c);
        delete c;
        t_cache.counter = nullptr;
    }
}

int64_t live_irps() {
    std::lock_guard g(g_counters_lock);
    int64_t n = g_retired.load();
    for (IrpCounter* c : counters()) n += c->value.load();
    return n;
}

namespace {
constinit std::atomic<uint64_t> g_sequence{0};

void init_header(IrpHeader* h, uint8_t size_class, CCHAR stack, uint32_t buffer_capacity) {
    h->magic = kIrpMagic;
    h->size_class = size_class;
    h->stack_count = static_cast<uint8_t>(stack);
    h->flags = 0;
    h->sequence = g_sequence.fetch_add(1, std::memory_order_relaxed) + 1;
    h->event_object = nullptr;
    h->buffer_capacity = buffer_capacity;
    h->output_length = 0;
    h->cancel_holds = 0;
    h->list_state = kNotListed;
    h->thread = nullptr;
    h->free_deferred = false;
    h->verifier_slot = 0;
}
}  // namespace

bool initialize_driver_irp(IRP* irp, USHORT packet_size, CCHAR stack) {
    // The header goes after the stack locations, 16-byte aligned, inside the packet.
    uintptr_t end_of_stack = reinterpret_cast<uintptr_t>(reinterpret_cast<PIO_STACK_LOCATION>(irp + 1) + stack);
    uintptr_t at = (end_of_stack + 15) & ~uintptr_t(15);
    if (at + sizeof(IrpHeader) > reinterpret_cast<uintptr_t>(irp) + packet_size) return false;
    auto* h = reinterpret_cast<IrpHeader*>(at);
    init_header(h, kIrpDriverMemory, stack, 0);
    init_irp(irp, stack, 0, h);
    if (verifier::irp_hooks()) [[unlikely]]
        verifier::irps::allocated(irp);
    return true;
}

void reinitialize_irp(IRP* irp) {
    IrpHeader* h = header_of(irp);
    UCHAR allocation_flags = irp->AllocationFlags;
    uint32_t verifier_slot = h->verifier_slot;
    init_header(h, h->size_class, static_cast<CCHAR>(h->stack_count), h->buffer_capacity);
    init_irp(irp, static_cast<CCHAR>(h->stack_count), allocation_flags, h);
    h->verifier_slot = verifier_slot;
    if (verifier::irp_hooks()) [[unlikely]]
        verifier::irps::reinitialized(irp);
}

IRP* allocate_irp(CCHAR stack, uint32_t inline_buffer) {
    IrpHeader* h;
    bool standard = stack <= kLookasideStack && inline_buffer <= kLookasideBuffer;
    if (standard && t_cache.free) {
        h = t_cache.free;
        t_cache.free = static_cast<IrpHeader*>(h->event_object);
        --t_cache.depth;
    } else {
        size_t bytes = standard ? irp_bytes(kLookasideStack, kLookasideBuffer) : irp_bytes(stack, inline_buffer);
        h = static_cast<IrpHeader*>(std::malloc(bytes));
        if (!h) return nullptr;
    }
    init_header(h, standard ? kIrpLookaside : kIrpSized, stack, standard ? kLookasideBuffer : inline_buffer);
    IRP* irp = reinterpret_cast<IRP*>(h + 1);
    init_irp(irp, stack, standard ? IRP_LOOKASIDE_ALLOCATION : IRP_ALLOCATED_FIXED_SIZE, h);
    bump(1);
    if (verifier::irp_hooks()) [[unlikely]]
        verifier::irps::allocated(irp);
    return irp;
}

void free_irp(IRP* irp) {
    IrpHeader* h = header_of(irp);
    if (trace::enabled()) [[unlikely]]
        trace::irp_after(trace::Kind::freed, h->sequence);
    h->magic = kFreedIrpMagic;
    irp->Type = 0;
    bump(-1);
    // IrpUsedAfterFree: kept poisoned in the verifier's quarantine instead of recycled.
    if (verifier::irp_hooks() && verifier::irps::quarantined(irp)) [[unlikely]]
        return;
    if (h->size_class == kIrpLookaside && t_cache.depth < kLookasideDepth) {
        h->event_object = t_cache.free;
        t_cache.free = h;
        ++t_cache.depth;
        return;
    }
    std::free(h);
}

// The thread IRP list (S-CAN-8/12 walk it): guarded by the thread's list lock.

// Under t->irp_lock, after taking an IRP off the list or finishing one.
inline void wake_draining_thread(_KTHREAD* t) {
    if (t->irp_drain_waiting && IsListEmpty(&t->irp_list) && t->irps_finishing == 0)
        KeSetEvent(&t->irps_gone, IO_NO_INCREMENT, FALSE);
}

void queue_to_thread(IRP* irp, _KTHREAD* t) {
    IrpHeader* h = header_of(irp);
    irp->Tail.Overlay.Thread = static_cast<PETHREAD>(t);
    h->thread = t;
    t->irp_lock.lock();
    InsertTailList(&t->irp_list, &irp->ThreadListEntry);
    h->list_state = kListed;
    t->irp_lock.unlock();
}

void dequeue_from_thread(IRP* irp) {
    IrpHeader* h = header_of(irp);
    _KTHREAD* t = h->thread;
    if (!t) return;
    t->irp_lock.lock();
    bool orphan = h->list_state == kDisassociated;
    if (h->list_state == kListed) {
        RemoveEntryList(&irp->ThreadListEntry);
        InitializeListHead(&irp->ThreadListEntry);
    }
    h->list_state = kNotListed;
    h->thread = nullptr;
    if (!orphan) wake_draining_thread(t);
    t->irp_lock.unlock();
    if (orphan) ps::dereference(t);
}

bool retire_from_thread(IRP* irp, _KTHREAD** finishing, _KTHREAD** orphan_of) {
    IrpHeader* h = header_of(irp);
    _KTHREAD* t = h->thread;
    if (!t) return true;
    t->irp_lock.lock();
    bool orphan = h->list_state == kDisassociated;
    if (h->list_state == kListed) {
        RemoveEntryList(&irp->ThreadListEntry);
        InitializeListHead(&irp->ThreadListEntry);
    }
    h->list_state = kNotListed;
    bool free_now = h->cancel_holds == 0;
    if (orphan) {
        *orphan_of = t;
    } else if (t == ps::current_thread_if_known()) {
        // The issuer completes its own request: it is not exiting meanwhile.
        wake_draining_thread(t);
    } else {
        // Off the list but its caller not yet notified: an exiting issuer must wait
        // for finish_thread_notification() too (S-CAN-12).
        ++t->irps_finishing;
        *finishing = t;
    }
    t->irp_lock.unlock();
    return free_now;
}

// The end of a completion that found the IRP held by a canceller: free it now if the
// hold is gone, else leave the free to the last holder.
void free_unless_held(IRP* irp) {
    IrpHeader* h = header_of(irp);
    _KTHREAD* t = h->thread;
    t->irp_lock.lock();
    bool free_now = h->cancel_holds == 0;
    if (!free_now) h->free_deferred = true;
    t->irp_lock.unlock();
    if (free_now) free_irp(irp);
}

void finish_thread_notification(_KTHREAD* t) {
    t->irp_lock.lock();
    --t->irps_finishing;
    wake_draining_thread(t);
    t->irp_lock.unlock();
}

// IoCallDriver's dispatch while a trace is recorded, out of the untraced path.
[[gnu::noinline, gnu::cold]] NTSTATUS dispatch_traced(PDEVICE_OBJECT dev, PIRP irp, PDRIVER_DISPATCH dispatch) {
    trace::IrpIdentity id = trace::identify(irp);
    trace::irp_event(trace::Kind::dispatched, id, dev);
    NTSTATUS status = dispatch(dev, irp);
    // The IRP may be completed and freed by now: only what was read before.
    if (status == STATUS_PENDING) trace::irp_event(trace::Kind::pending, id, dev);
    return status;
}

namespace {

bool is_ours(IRP* irp) { return irp->NtioPrivate && header_of(irp)->magic == kIrpMagic; }

// The I/O manager's half of completion for requests it (or IoBuild*Request) issued.
void finish_request(IRP* irp) {
    IrpHeader* h = header_of(irp);
    h->flags |= kIrpCompleted;
    uint64_t traced = trace::enabled() ? h->sequence : 0;  // the IRP is freed before the caller is told
    NTSTATUS status = irp->IoStatus.Status;
    FILE_OBJECT* fo = irp->Tail.Overlay.OriginalFileObject;
    // Off the issuer's list first: from here no canceller can find it, and an exiting
    // issuer can no longer disassociate it (so whether it was is settled).
    _KTHREAD* issuer_to_notify = nullptr;
    _KTHREAD* orphan_of = nullptr;
    bool free_now = retire_from_thread(irp, &issuer_to_notify, &orphan_of);

    if (irp->Flags & IRP_BUFFERED_IO) {
        if (!orphan_of && (irp->Flags & IRP_INPUT_OPERATION) && !NT_ERROR(status) && irp->UserBuffer) {
            ULONG_PTR n = irp->IoStatus.Information;
            if (n > h->output_length) {
                verifier::report(verifier::Check::InformationTooLarge,
                                     fmt::format("IRP #{}: IoStatus.Information = {} but the caller's buffer holds {} "
                                                 "bytes; ntio copies {} (S-CMP-10). Set Information to the bytes "
                                                 "written into the output buffer.",
                                                 h->sequence, n, h->output_length, h->output_length),
                                     {.irp = irp});
                n = h->output_length;
            }
            if (n && irp->AssociatedIrp.SystemBuffer) std::memcpy(irp->UserBuffer, irp->AssociatedIrp.SystemBuffer, n);
        }
        if ((irp->Flags & IRP_DEALLOCATE_BUFFER) && !(h->flags & kIrpInlineBuffer) && irp->AssociatedIrp.SystemBuffer) {
            if (h->flags & kIrpPoolBuffer) ExFreePool(irp->AssociatedIrp.SystemBuffer);
            else std::free(irp->AssociatedIrp.SystemBuffer);
        }
        irp->AssociatedIrp.SystemBuffer = nullptr;
    }
    for (PMDL mdl = irp->MdlAddress; mdl;) {
        PMDL next = mdl->Next;
        if (mdl->MdlFlags & MDL_PAGES_LOCKED) MmUnlockPages(mdl);
        IoFreeMdl(mdl);
        mdl = next;
    }
    irp->MdlAddress = nullptr;

    if (orphan_of) {
        // S-CMP-8: the issuer exited and the IRP was disassociated from it; its
        // completion only cleans up (the caller's buffers and event may be gone).
        void* event_object = h->event_object;
        if (free_now) free_irp(irp);
        else free_unless_held(irp);
        if (event_object) ob::dereference(event_object);
        if (fo) ob::dereference(fo);
        ps::dereference(orphan_of);
        return;
    }

    bool synchronous_fo = fo && (file_flags(fo) & FO_SYNCHRONOUS_IO);
    bool synchronous = (irp->Flags & IRP_SYNCHRONOUS_API) || synchronous_fo;
    bool report = !NT_ERROR(status) || (irp->PendingReturned && !synchronous);
    // Decide what to signal, release the IRP, then signal: whoever wakes up finds the
    // request fully retired (no IRP still allocated on its behalf).
    PKEVENT user_event = nullptr;
    bool file_event = false;
    bool wrote_iosb = false;
    auto write_iosb = [&] {
        if (irp->UserIosb) {
            wrote_iosb = true;
            irp->UserIosb->Status = status;
            irp->UserIosb->Information = irp->IoStatus.Information;
        }
    };
    // The completion-port packet, queued after the IOSB and the events (S-CMP-9 step 4,
    // §10.1). Files with a port or FILE_SKIP_SET_EVENT_ON_HANDLE take the branch.
    CompletionPort* port = nullptr;
    ke::QueuePacket packet;
    if (report) {
        write_iosb();
        user_event = irp->UserEvent;
        file_event = fo && (synchronous_fo || !irp->UserEvent);
        if (fo && (__atomic_load_n(&fo->CompletionContext, __ATOMIC_RELAXED) || (file_flags(fo) & FO_SKIP_SET_EVENT)))
            port = completion_target(irp, fo, status, &file_event, &packet);
    } else if (irp->PendingReturned && (fo || (irp->Flags & IRP_CLOSE_OPERATION))) {
        // IRP_MJ_CLOSE carries no file reference (send_file_irp) but belongs to one: its
        // waiter must be woken by a pended failure too (found by forced pending).
        if (irp->Flags & IRP_SYNCHRONOUS_API) {
            write_iosb();
            user_event = irp->UserEvent;
            file_event = !irp->UserEvent;
        } else {
            file_event = true;
        }
    }
    void* event_object = h->event_object;
    // A caller of a service on a synchronous file object holds a reference of its own
    // until it has woken (it waits, or the request completed inside its call).
    bool caller_holds_file = synchronous_fo && (h->flags & kIrpUserRequest);
    if (free_now) free_irp(irp);
    else free_unless_held(irp);
    // The request's file reference goes before the caller wakes when nothing below
    // needs the file object: a caller that closes its handle as soon as it wakes then
    // always drops the last reference itself, and IRP_MJ_CLOSE runs on its thread at
    // PASSIVE_LEVEL, not on whichever thread won the race (deterministic traces).
    // A port lives as long as its file objects: the reference stays until the packet is queued.
    FILE_OBJECT* signal_file = file_event ? fo : nullptr;
    if (fo && (!file_event || caller_holds_file) && !port) {
        ob::dereference(fo);
        fo = nullptr;
    }
    // Requests on an asynchronous file without an event may complete concurrently here.
    if (signal_file) __atomic_store_n(&signal_file->FinalStatus, status, __ATOMIC_RELAXED);
    if (user_event) ke::set_event(user_event);
    if (signal_file) ke::set_event(&signal_file->Event);
    if (port) queue_completion(port, packet);
    if (traced) [[unlikely]]
        trace::irp_after(trace::Kind::notified, traced,
                         (user_event ? trace::kNotifiedEvent : 0) | (file_event ? trace::kNotifiedFileEvent : 0) |
                             (wrote_iosb ? trace::kNotifiedStatusBlock : 0) | (port ? trace::kNotifiedPort : 0));
    if (issuer_to_notify) finish_thread_notification(issuer_to_notify);
    if (event_object) ob::dereference(event_object);
    if (fo) ob::dereference(fo);
}

}  // namespace

}  // namespace ntio::io

using namespace ntio;
using ntio::io::header_of;

extern "C" {

PIRP IoAllocateIrp(CCHAR StackSize, BOOLEAN ChargeQuota) {
    (void)ChargeQuota;
    verifier::check_irql_at_most(DISPATCH_LEVEL, "IoAllocateIrp");
    if (StackSize < 1) {
        verifier::report(verifier::Check::InvalidParameter, fmt::format("IoAllocateIrp with a stack size of {}", StackSize));
        return nullptr;
    }
    if (verifier::allocation_fault_hooks() && verifier::faults::fail_irp("IoAllocateIrp", __builtin_return_address(0)))
        [[unlikely]]
        return nullptr;
    PIRP irp = io::allocate_irp(StackSize, 0);
    if (irp && verifier::irp_hooks()) [[unlikely]]
        verifier::irps::created_by_driver(irp, __builtin_return_address(0));
    return irp;
}

VOID IoFreeIrp(PIRP Irp) {
    verifier::check_irql_at_most(DISPATCH_LEVEL, "IoFreeIrp");
    if (verifier::irp_hooks() && !verifier::irps::check_live(Irp, "IoFreeIrp")) [[unlikely]]
        return;
    if (!Irp || !io::is_ours(Irp)) {
        verifier::report(verifier::Check::BAD_POOL_CALLER, fmt::format("IoFreeIrp({}) on something that is not a live IRP "
                                                            "(freed twice?)",
                                                            static_cast<void*>(Irp)));
        return;
    }
    io::IrpHeader* h = header_of(Irp);
    if (h->flags & (io::kIrpUserRequest | io::kIrpManagerFrees)) {
        // S-BLD-3 (DDI rules IoBuildDeviceControlNoFree, IoBuildSynchronousFsdRequestNoFree).
        verifier::report(verifier::Check::FreeIrpNotOwned,
                             fmt::format("IoFreeIrp on IRP #{}, which {} and the I/O manager frees itself at "
                                         "completion; complete it with IoCompleteRequest instead (the IRP is not "
                                         "freed)",
                                         h->sequence,
                                         h->flags & io::kIrpUserRequest
                                             ? "the I/O manager built for a caller"
                                             : "IoBuildSynchronousFsdRequest or IoBuildDeviceIoControlRequest built"),
                             {.irp = Irp});
        return;
    }
    if (h->size_class == io::kIrpDriverMemory) {
        verifier::report(verifier::Check::FreeIrpNotOwned,
                             fmt::format("IoFreeIrp on IRP #{}, which IoInitializeIrp set up in the driver's own "
                                         "memory; free that memory the way it was allocated (the IRP is not freed)",
                                         h->sequence),
                             {.irp = Irp});
        return;
    }
    if (verifier::irp_hooks()) [[unlikely]]
        verifier::irps::note(Irp, verifier::irps::Step::freed_by_driver);
    io::dequeue_from_thread(Irp);
    io::free_irp(Irp);
}

BOOLEAN NtioNoNextStackLocation(PIRP Irp, const char* Api) {
    verifier::report(verifier::Check::NO_MORE_IRP_STACK_LOCATIONS,
                         fmt::format("{} on IRP #{}, which has no location below the current one ({} allocated): "
                                     "the IRP was allocated for a shorter stack; ntio skipped the write, which "
                                     "would overwrite the IRP itself",
                                     Api, Irp->NtioPrivate ? header_of(Irp)->sequence : 0, int(Irp->StackCount)),
                     {.irp = Irp});
    return TRUE;
}

NTSTATUS IofCallDriver(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    verifier::check_irql_at_most(DISPATCH_LEVEL, "IoCallDriver");
    if (verifier::irp_hooks()) [[unlikely]]  // the same call with every IRP check (verifier/irp_tracker.cpp)
        return verifier::irps::call_driver(DeviceObject, Irp);
    if (Irp->CurrentLocation <= 1) {
        verifier::report(verifier::Check::NO_MORE_IRP_STACK_LOCATIONS,
                             fmt::format("IoCallDriver(IRP #{}) to {} with no stack location left ({} allocated): "
                                         "allocate the IRP with the target's StackSize (or StackSize + 1 to keep "
                                         "one for yourself); the IRP was not sent",
                                         header_of(Irp)->sequence, io::device_label(DeviceObject), int(Irp->StackCount)),
                             {.irp = Irp, .device = DeviceObject});
        return STATUS_INVALID_DEVICE_STATE;
    }
    Irp->CurrentLocation--;
    Irp->Tail.Overlay.CurrentStackLocation--;
    PIO_STACK_LOCATION sl = Irp->Tail.Overlay.CurrentStackLocation;
    sl->DeviceObject = DeviceObject;
    PDRIVER_DISPATCH dispatch = DeviceObject->DriverObject->MajorFunction[sl->MajorFunction];
    KIRQL irql = ke::t_irql;
    UCHAR major = sl->MajorFunction;  // the IRP may be gone when dispatch returns
    NTSTATUS status = trace::enabled() ? io::dispatch_traced(DeviceObject, Irp, dispatch) : dispatch(DeviceObject, Irp);
    if (ke::t_irql != irql) [[unlikely]]
        verifier::report(verifier::Check::IRQL_UNEXPECTED_VALUE,
                             fmt::format("dispatch routine {} for major function {:#x} returned at IRQL {} but was "
                                         "called at IRQL {}; release every spin lock it took",
                                         reinterpret_cast<void*>(dispatch), major, KeGetCurrentIrql(), irql),
                             {.device = DeviceObject});
    return status;
}

VOID IofCompleteRequest(PIRP Irp, CCHAR PriorityBoost) {
    (void)PriorityBoost;
    verifier::check_irql_at_most(DISPATCH_LEVEL, "IoCompleteRequest");
    if (verifier::irp_hooks() && !verifier::irps::completing(Irp, PriorityBoost)) [[unlikely]]
        return;
    io::IrpHeader* h = header_of(Irp);
    if (h->magic != io::kIrpMagic || (h->flags & io::kIrpCompleted) || Irp->CurrentLocation > Irp->StackCount + 1) {
        verifier::report(verifier::Check::MULTIPLE_IRP_COMPLETE_REQUESTS,
                             fmt::format("IoCompleteRequest on IRP #{} ({}), which was already completed; an IRP is "
                                         "completed exactly once, by the driver that owns it",
                                         h->magic == io::kIrpMagic || h->magic == io::kFreedIrpMagic ? h->sequence : 0,
                                         static_cast<void*>(Irp)),
                             {.irp = Irp});
        return;
    }
    if (io::cancel_lock_held_by_caller()) [[unlikely]]
        verifier::report(verifier::Check::CompletedUnderCancelSpinLock,
                             fmt::format("IoCompleteRequest on IRP #{} while holding the cancel spin lock: completion "
                                         "routines would run under it. Release it (IoReleaseCancelSpinLock("
                                         "Irp->CancelIrql)) before completing",
                                         h->sequence),
                             {.irp = Irp});
    if (Irp->IoStatus.Status == STATUS_PENDING)
        verifier::report(verifier::Check::PendingStatusAtCompletion,
                             fmt::format("IoCompleteRequest on IRP #{} with IoStatus.Status = STATUS_PENDING; set the "
                                         "final status first",
                                         h->sequence),
                             {.irp = Irp});
    if (__atomic_load_n(&Irp->CancelRoutine, __ATOMIC_ACQUIRE)) {
        verifier::report(verifier::Check::CANCEL_STATE_IN_COMPLETED_IRP,
                             fmt::format("IRP #{} completed with its cancel routine {} still set; clear it with "
                                         "IoSetCancelRoutine(Irp, NULL) before completing",
                                         h->sequence, reinterpret_cast<void*>(Irp->CancelRoutine)),
                             {.irp = Irp});
        Irp->CancelRoutine = nullptr;
    }

    if (trace::enabled()) [[unlikely]]
        trace::irp_completed(Irp);
    // Unwind the stack toward the top (S-CMP-2): each location's routine runs with
    // that driver's location current.
    while (Irp->CurrentLocation <= Irp->StackCount) {
        PIO_STACK_LOCATION done = Irp->Tail.Overlay.CurrentStackLocation;
        Irp->CurrentLocation++;
        Irp->Tail.Overlay.CurrentStackLocation++;
        Irp->PendingReturned = (done->Control & SL_PENDING_RETURNED) != 0;
        UCHAR control = done->Control;
        PIO_COMPLETION_ROUTINE routine = done->CompletionRoutine;
        PVOID context = done->Context;
        done->MinorFunction = 0;
        done->Flags = 0;
        done->Control = 0;
        std::memset(&done->Parameters, 0, sizeof(done->Parameters));
        done->FileObject = nullptr;
        done->CompletionRoutine = nullptr;
        done->Context = nullptr;
        NTSTATUS status = Irp->IoStatus.Status;
        bool call = routine && ((NT_SUCCESS(status) && (control & SL_INVOKE_ON_SUCCESS)) ||
                                (!NT_SUCCESS(status) && (control & SL_INVOKE_ON_ERROR)) ||
                                (Irp->Cancel && (control & SL_INVOKE_ON_CANCEL)));
        if (verifier::irp_hooks()) [[unlikely]]
            verifier::irps::location_done(Irp, Irp->CurrentLocation - 1, control, call ? routine : nullptr);
        if (call) {
            PDEVICE_OBJECT owner =
                Irp->CurrentLocation <= Irp->StackCount ? Irp->Tail.Overlay.CurrentStackLocation->DeviceObject : nullptr;
            if (trace::enabled()) [[unlikely]]
                trace::irp_event(trace::Kind::completion_routine, Irp, owner);
            if (routine(owner, Irp, context) == STATUS_MORE_PROCESSING_REQUIRED) {
                if (verifier::irp_hooks()) [[unlikely]]
                    verifier::irps::note(Irp, verifier::irps::Step::reclaimed);
                return;
            }
        } else if (Irp->PendingReturned && Irp->CurrentLocation <= Irp->StackCount) {
            Irp->Tail.Overlay.CurrentStackLocation->Control |= SL_PENDING_RETURNED;
        }
    }

    if (Irp->Flags & IRP_ASSOCIATED_IRP) {
        // S-CMP-7: an associated IRP is freed with its MDLs; the last one completes the master.
        PIRP master = Irp->AssociatedIrp.MasterIrp;
        for (PMDL mdl = Irp->MdlAddress; mdl;) {
            PMDL next = mdl->Next;
            if (mdl->MdlFlags & MDL_PAGES_LOCKED) MmUnlockPages(mdl);
            IoFreeMdl(mdl);
            mdl = next;
        }
        io::free_irp(Irp);
        if (InterlockedDecrement(&master->AssociatedIrp.IrpCount) == 0) IofCompleteRequest(master, IO_NO_INCREMENT);
        return;
    }
    if (!Irp->Tail.Overlay.Thread && !Irp->UserIosb && !(h->flags & io::kIrpUserRequest)) {
        verifier::report(verifier::Check::IrpNotReclaimed,
                             fmt::format("IRP #{} from IoAllocateIrp finished completion without a completion routine "
                                         "returning STATUS_MORE_PROCESSING_REQUIRED; its creator must take it back "
                                         "and IoFreeIrp it (S-CMP-12). The IRP is left allocated.",
                                         h->sequence),
                             {.irp = Irp});
        return;
    }
    io::finish_request(Irp);
}

// ---- MDLs -------------------------------------------------------------------------------------

static constexpr ULONG kMdlTag = 0x206c644d;  // 'Mdl '

PMDL IoAllocateMdl(PVOID VirtualAddress, ULONG Length, BOOLEAN SecondaryBuffer, BOOLEAN ChargeQuota, PIRP Irp) {
    (void)ChargeQuota;
    if (verifier::allocation_fault_hooks() && verifier::faults::fail_mdl(__builtin_return_address(0))) [[unlikely]]
        return nullptr;
    auto* mdl = static_cast<PMDL>(sys().pool.allocate(sizeof(MDL), kMdlTag, true, false));
    if (!mdl) return nullptr;
    mdl->Size = static_cast<CSHORT>(sizeof(MDL));
    mdl->StartVa = PAGE_ALIGN(VirtualAddress);
    mdl->ByteOffset = BYTE_OFFSET(VirtualAddress);
    mdl->ByteCount = Length;
    mdl->Process = PsGetCurrentProcess();
    if (Irp) {
        if (!SecondaryBuffer) {
            Irp->MdlAddress = mdl;
        } else {
            PMDL* tail = &Irp->MdlAddress;
            while (*tail) tail = &(*tail)->Next;
            *tail = mdl;
        }
    }
    return mdl;
}

VOID IoFreeMdl(PMDL Mdl) {
    if (Mdl->MdlFlags & MDL_PAGES_LOCKED)
        verifier::report(verifier::Check::MdlMisuse,
                             fmt::format("IoFreeMdl({}) on an MDL whose pages are still locked; call MmUnlockPages "
                                         "first",
                                         static_cast<void*>(Mdl)));
    sys().pool.free(Mdl, kMdlTag, true, "IoFreeMdl");
}

SIZE_T MmSizeOfMdl(PVOID Base, SIZE_T Length) {
    (void)Base;
    (void)Length;
    return sizeof(MDL);
}

VOID MmBuildMdlForNonPagedPool(PMDL MemoryDescriptorList) {
    MemoryDescriptorList->MappedSystemVa = MmGetMdlVirtualAddress(MemoryDescriptorList);
    MemoryDescriptorList->MdlFlags |= MDL_SOURCE_IS_NONPAGED_POOL;
}

VOID MmProbeAndLockPages(PMDL MemoryDescriptorList, KPROCESSOR_MODE AccessMode, LOCK_OPERATION Operation) {
    (void)AccessMode;
    if (MemoryDescriptorList->MdlFlags & MDL_PAGES_LOCKED)
        verifier::report(verifier::Check::MdlMisuse, fmt::format("MmProbeAndLockPages({}) on an MDL already locked",
                                                               static_cast<void*>(MemoryDescriptorList)));
    MemoryDescriptorList->MdlFlags |= MDL_PAGES_LOCKED;
    if (Operation != IoReadAccess) MemoryDescriptorList->MdlFlags |= MDL_WRITE_OPERATION;
}

VOID MmUnlockPages(PMDL MemoryDescriptorList) {
    if (!(MemoryDescriptorList->MdlFlags & MDL_PAGES_LOCKED)) {
        verifier::report(verifier::Check::MdlMisuse, fmt::format("MmUnlockPages({}) on an MDL that is not locked",
                                                           static_cast<void*>(MemoryDescriptorList)));
        return;
    }
    MemoryDescriptorList->MdlFlags &= static_cast<CSHORT>(~(MDL_PAGES_LOCKED | MDL_MAPPED_TO_SYSTEM_VA));
}

PVOID MmMapLockedPagesSpecifyCache(PMDL MemoryDescriptorList, KPROCESSOR_MODE AccessMode, ULONG CacheType,
                                   PVOID RequestedAddress, ULONG BugCheckOnFailure, ULONG Priority) {
    (void)AccessMode;
    (void)CacheType;
    (void)RequestedAddress;
    (void)BugCheckOnFailure;
    return MmGetSystemAddressForMdlSafe(MemoryDescriptorList, Priority);
}

PVOID MmGetSystemAddressForMdlSafe(PMDL Mdl, ULONG Priority) {
    (void)Priority;
    if (!Mdl) return nullptr;
    if (Mdl->MdlFlags & (MDL_MAPPED_TO_SYSTEM_VA | MDL_SOURCE_IS_NONPAGED_POOL)) return Mdl->MappedSystemVa;
    if (!(Mdl->MdlFlags & MDL_PAGES_LOCKED))
        verifier::report(verifier::Check::MdlMisuse, fmt::format("MmGetSystemAddressForMdlSafe({}) on an MDL that is "
                                                           "neither locked (MmProbeAndLockPages) nor built for "
                                                           "nonpaged pool",
                                                           static_cast<void*>(Mdl)));
    Mdl->MappedSystemVa = MmGetMdlVirtualAddress(Mdl);
    Mdl->MdlFlags |= MDL_MAPPED_TO_SYSTEM_VA;
    return Mdl->MappedSystemVa;
}

PEPROCESS IoGetRequestorProcess(PIRP Irp) {
    (void)Irp;
    return PsGetCurrentProcess();
}

BOOLEAN IoIsOperationSynchronous(PIRP Irp) {
    FILE_OBJECT* fo = Irp->Tail.Overlay.OriginalFileObject;
    return (Irp->Flags & IRP_SYNCHRONOUS_API) || (fo && (io::file_flags(fo) & FO_SYNCHRONOUS_IO));
}

}  // extern "C"
