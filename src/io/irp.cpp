// IRPs: allocation from a per-thread lookaside, IoCallDriver, the completion
// walk of IoCompleteRequest (S-CMP-2..10) and the I/O manager's final step for
// requests it issued (S-CMP-9), MDLs, and the issuing thread's IRP list.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <vector>

#include "io/call_driver.hpp"
#include "io/completion_port.hpp"
#include "io/iomgr.hpp"
#include "io/irp_lookaside.hpp"
#include "ke/objects.hpp"
#include "ke/user_access.hpp"
#include "ps/thread.hpp"
#include "system.hpp"
#include "trace/trace.hpp"
#include "verifier/faults.hpp"
#include "verifier/hooks.hpp"
#include "verifier/irp_tracker.hpp"
#include "verifier/report.hpp"

namespace ntio::io {

constinit thread_local InlineCompletion* t_inline_completion = nullptr;
constinit thread_local ThreadIrpCache t_irp_cache;

namespace {

size_t irp_bytes(CCHAR stack, uint32_t buffer) {
    // 8 more: the inline buffer starts 16-byte aligned after the locations (file.cpp).
    static_assert(sizeof(IrpHeader) % 16 == 0 && sizeof(IRP) % 16 == 0 && sizeof(IO_STACK_LOCATION) % 16 == 8);
    return sizeof(IrpHeader) + sizeof(IRP) + size_t(stack) * sizeof(IO_STACK_LOCATION) + buffer + (buffer ? 8 : 0);
}

// Live IRP accounting without a shared counter on the hot path: each thread keeps
// its own count (ThreadIrpCache::live, allocations minus frees it performed); the sum
// over the registered threads, plus what exited threads left, is what is live.
// Constant-initialized or built on first use: IRPs are allocated while drivers load
// from the library's constructor, possibly before this file's dynamic initializers.
constinit std::mutex g_counters_lock;
std::vector<ThreadIrpCache*>& counters() {
    static auto* v = new std::vector<ThreadIrpCache*>();
    return *v;
}
constinit std::atomic<int64_t> g_retired{0};

// IRP numbers (IrpHeader::sequence) name IRPs in reports and traces; only their
// uniqueness matters (traces renumber IRPs in the order they appear). Each thread takes
// them from a block of its own, so allocating an IRP touches no shared counter.
constexpr uint64_t kSequenceBlock = 1024;
constinit std::atomic<uint64_t> g_sequence{0};

// IRPs freed on one thread and allocated on another (a worker completing what callers
// issue) would empty one lookaside and overflow the other: malloc and free on every
// request. A full lookaside hands half of its IRPs to this process-wide depot in one
// batch; an empty one takes a batch before it mallocs. A fixed array: the depot itself
// never allocates.
constexpr size_t kDepotBatch = kLookasideDepth / 2;
constexpr size_t kDepotBatches = 64;  // at most 8192 IRPs wait here; more are freed
struct DepotBatch {
    IrpHeader* head;  // chained through event_object, kDepotBatch of them
};
constinit std::mutex g_depot_lock;
constinit DepotBatch g_depot[kDepotBatches]{};
// Written under g_depot_lock; read without it first, so that a full depot costs a free
// no walk of its lookaside and an empty one costs an allocation no lock. With a million
// IRPs draining, every free found the depot full: the walk of 127 cold links it made
// before looking was a quarter of the drain's time.
constinit std::atomic<size_t> g_depot_size{0};

inline IrpHeader* next_free(IrpHeader* h) { return static_cast<IrpHeader*>(h->event_object); }

// The lookaside is full: its first kDepotBatch IRPs go to the depot. False when the
// depot is full too (the caller then frees the IRP in hand).
[[gnu::noinline]] bool spill_to_depot() {
    if (g_depot_size.load(std::memory_order_relaxed) == kDepotBatches) return false;
    IrpHeader* head = t_irp_cache.free;
    IrpHeader* tail = head;
    for (size_t i = 1; i < kDepotBatch; ++i) tail = next_free(tail);
    {
        std::lock_guard g(g_depot_lock);
        size_t n = g_depot_size.load(std::memory_order_relaxed);
        if (n == kDepotBatches) return false;
        t_irp_cache.free = next_free(tail);
        tail->event_object = nullptr;
        g_depot[n] = {head};
        g_depot_size.store(n + 1, std::memory_order_relaxed);
    }
    t_irp_cache.depth -= kDepotBatch;
    return true;
}

// The lookaside is empty: a batch from the depot, if it has one.
bool refill_from_depot() {
    if (g_depot_size.load(std::memory_order_relaxed) == 0) return false;
    std::lock_guard g(g_depot_lock);
    size_t n = g_depot_size.load(std::memory_order_relaxed);
    if (n == 0) return false;
    t_irp_cache.free = g_depot[n - 1].head;
    g_depot_size.store(n - 1, std::memory_order_relaxed);
    t_irp_cache.depth = kDepotBatch;
    return true;
}

[[gnu::noinline, gnu::cold]] void register_thread_cache() {
    {
        std::lock_guard g(g_counters_lock);
        counters().push_back(&t_irp_cache);
    }
    ps::watch_thread_exit();
    t_irp_cache.registered = true;
    t_irp_cache.limit = kLookasideDepth;
}

inline void bump(int64_t delta) {
    if (!t_irp_cache.registered) [[unlikely]]
        register_thread_cache();
    count_registered(delta);
}

// Out of line, so that free_irp stays small enough to inline where it is hot.
[[gnu::noinline, gnu::cold]] void trace_freed(uint64_t sequence) { trace::irp_after(trace::Kind::freed, sequence); }

void init_irp(IRP* irp, CCHAR stack, UCHAR allocation_flags, IrpHeader* h) {
    std::memset(irp, 0, sizeof(IRP) + size_t(stack) * sizeof(IO_STACK_LOCATION));
    init_zeroed_irp(irp, stack, allocation_flags, h);
}

}  // namespace

[[gnu::noinline]] void note_allocated(IRP* irp) { verifier::irps::allocated(irp); }

[[gnu::noinline]] void refill_sequence() {
    t_irp_cache.next_sequence = g_sequence.fetch_add(kSequenceBlock, std::memory_order_relaxed);
    t_irp_cache.sequence_end = t_irp_cache.next_sequence + kSequenceBlock;
}

void thread_exit_cleanup() {
    while (t_irp_cache.free) {
        IrpHeader* next = static_cast<IrpHeader*>(t_irp_cache.free->event_object);
        std::free(t_irp_cache.free);
        t_irp_cache.free = next;
    }
    t_irp_cache.depth = 0;
    t_irp_cache.next_sequence = t_irp_cache.sequence_end = 0;  // the rest of the block goes unused
    if (t_irp_cache.registered) {
        std::lock_guard g(g_counters_lock);
        g_retired.fetch_add(t_irp_cache.live.load());
        std::erase(counters(), &t_irp_cache);
        t_irp_cache.live.store(0);
        t_irp_cache.registered = false;
        t_irp_cache.limit = 0;
    }
}

namespace {
// The process-wide count when the current runtime started: IRPs an earlier runtime in
// this process leaked were reported by its teardown and are not the new one's.
std::atomic<int64_t> g_live_at_start{0};

int64_t live_irps_in_process() {
    std::lock_guard g(g_counters_lock);
    int64_t n = g_retired.load();
    for (ThreadIrpCache* c : counters()) n += c->live.load();
    return n;
}
}  // namespace

void start_counting_irps() { g_live_at_start.store(live_irps_in_process()); }

int64_t live_irps() { return live_irps_in_process() - g_live_at_start.load(); }

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

// allocate_irp when the lookaside cannot serve it: out of line, so that the common
// case needs few registers.
[[gnu::noinline]] IRP* allocate_irp_slow(CCHAR stack, uint32_t inline_buffer) {
    if (!t_irp_cache.registered) [[unlikely]]
        register_thread_cache();
    bool standard = stack <= kLookasideStack && inline_buffer <= kLookasideBuffer;
    if (standard && !t_irp_cache.free && refill_from_depot()) return init_standard_irp(pop_from_lookaside(), stack);
    size_t bytes = standard ? irp_bytes(kLookasideStack, kLookasideBuffer) : irp_bytes(stack, inline_buffer);
    auto* h = static_cast<IrpHeader*>(std::malloc(bytes));
    if (!h) return nullptr;
    if (standard) return init_standard_irp(h, stack);
    IRP* irp = reinterpret_cast<IRP*>(h + 1);
    init_header(h, kIrpSized, stack, inline_buffer);
    init_irp(irp, stack, IRP_ALLOCATED_FIXED_SIZE, h);
    bump(1);
    // Deeper stacks and larger buffers than the lookaside's are tracked too: without a
    // record, a request to a three-level stack escaped every IRP check.
    if (verifier::irp_hooks()) [[unlikely]]
        note_allocated(irp);
    return irp;
}

IRP* allocate_irp(CCHAR stack, uint32_t inline_buffer) { return allocate_irp_inline(stack, inline_buffer); }

// The lookaside is at its limit: registers the thread (its first free), or spills to
// the depot; false when the IRP in hand must be freed instead.
[[gnu::noinline]] bool make_room_in_lookaside() {
    if (!t_irp_cache.registered) {
        register_thread_cache();
        return true;
    }
    return spill_to_depot();
}

// free_irp, inline where a completion frees the IRP.
[[gnu::always_inline]] inline void release_irp(IRP* irp) {
    IrpHeader* h = header_of(irp);
    if (trace::enabled()) [[unlikely]]
        trace_freed(h->sequence);
    h->magic = kFreedIrpMagic;
    irp->Type = 0;
    // IrpUsedAfterFree: kept poisoned in the verifier's quarantine instead of recycled.
    if (verifier::irp_hooks() && verifier::irps::quarantined(irp)) [[unlikely]]
        return bump(-1);
    if (h->size_class == kIrpLookaside) [[likely]] {
        if (t_irp_cache.depth >= t_irp_cache.limit && !make_room_in_lookaside()) [[unlikely]] {
            count_registered(-1);
            std::free(h);
            return;
        }
        push_to_lookaside(h);
        return;
    }
    bump(-1);
    std::free(h);
}

void free_irp(IRP* irp) { release_irp(irp); }

void reuse_after_quarantine(IRP* irp) {
    IrpHeader* h = header_of(irp);
    if (h->size_class == kIrpLookaside && (t_irp_cache.depth < t_irp_cache.limit || make_room_in_lookaside())) {
        // Counted as freed when it entered the quarantine; push_to_lookaside counts a free.
        count_registered(1);
        push_to_lookaside(h);
        return;
    }
    h->magic = 0;
    std::free(h);
}

// The thread IRP list (S-CAN-8/12 walk it): guarded by the thread's list lock, and
// its slot (_KTHREAD::irp_slot).

// Under t->irp_lock, after taking an IRP off the list or finishing one.
inline void wake_draining_thread(_KTHREAD* t) {
    if (t->irp_drain_waiting && IsListEmpty(&t->irp_list) && t->irps_finishing == 0 &&
        !t->irp_slot.load(std::memory_order_relaxed))
        KeSetEvent(&t->irps_gone, IO_NO_INCREMENT, FALSE);
}

IRP* slot_irp_locked(_KTHREAD* t) {
    uintptr_t v = t->irp_slot.load(std::memory_order_acquire);
    // The compare-exchange fails when the issuer retired the IRP meanwhile; then the
    // slot is empty or holds a newer IRP, which nobody needs to see before it was issued.
    if (v && !(v & kSlotSeen) && !t->irp_slot.compare_exchange_strong(v, v | kSlotSeen, std::memory_order_acq_rel))
        return nullptr;
    return reinterpret_cast<IRP*>(v & ~kSlotSeen);
}

IRP* take_slot_irp_locked(_KTHREAD* t) {
    // The issuer is the caller, so nobody takes it out without the lock meanwhile.
    uintptr_t v = t->irp_slot.exchange(0, std::memory_order_acq_rel);
    return reinterpret_cast<IRP*>(v & ~kSlotSeen);
}

// The issuer's own completion takes its IRP out of its slot: fails if the IRP is not
// there or a walker has seen it (then retire_locked takes it out). `_unlisted` leaves
// ThreadListEntry as it is, for an IRP freed next (its next use sets it again).
inline bool take_from_slot_unlisted(_KTHREAD* t, IRP* irp) {
    uintptr_t expected = reinterpret_cast<uintptr_t>(irp);
    return t->irp_slot.compare_exchange_strong(expected, 0, std::memory_order_acq_rel);
}
inline bool take_from_slot(_KTHREAD* t, IRP* irp) {
    if (!take_from_slot_unlisted(t, irp)) return false;
    InitializeListHead(&irp->ThreadListEntry);
    return true;
}

// Under t->irp_lock: `irp`, kInSlot, leaves the slot (it is there, seen or not: only
// its issuer's own completion takes it out without the lock, and that is not us).
inline void clear_slot_locked(_KTHREAD* t, IRP* irp) {
    t->irp_slot.store(0, std::memory_order_release);
    InitializeListHead(&irp->ThreadListEntry);
}

void queue_to_thread_list(IRP* irp, _KTHREAD* t) {
    IrpHeader* h = header_of(irp);
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
    if (h->list_state == kInSlot) {
        clear_slot_locked(t, irp);
    } else if (h->list_state == kListed) {
        RemoveEntryList(&irp->ThreadListEntry);
        InitializeListHead(&irp->ThreadListEntry);
    }
    h->list_state = kNotListed;
    h->thread = nullptr;
    if (!orphan) wake_draining_thread(t);
    t->irp_lock.unlock();
    if (orphan) ps::dereference(t);
}

// retire_from_thread once the IRP is known not to have left the slot without the
// lock: under irp_lock.
[[gnu::noinline]] bool retire_locked(IRP* irp, IrpHeader* h, _KTHREAD* t, bool own, _KTHREAD** finishing,
                                     _KTHREAD** orphan_of) {
    t->irp_lock.lock();
    bool orphan = h->list_state == kDisassociated;
    // Still in the slot: seen by a walker, or completed by another thread.
    if (h->list_state == kInSlot) {
        clear_slot_locked(t, irp);
    } else if (h->list_state == kListed) {
        RemoveEntryList(&irp->ThreadListEntry);
        InitializeListHead(&irp->ThreadListEntry);
    }
    h->list_state = kNotListed;
    bool free_now = h->cancel_holds == 0;
    if (orphan) {
        *orphan_of = t;
    } else if (own) {
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

// Takes the IRP off its thread's list as completion begins; false when a canceller
// holds it (the completion then ends with free_unless_held). When another thread completes it, *finishing
// gets the issuer, and the completer calls finish_thread_notification(issuer) once
// the caller has been notified. When the IRP was disassociated from its exited
// issuer, *orphan_of gets the issuer: nothing reaches the caller, and the completer
// drops the IRP's reference on that thread object at the end. Inline: its first case
// is the request path's.
// `own`: the caller knows that the issuer is the calling thread.
inline bool retire_from_thread(IRP* irp, _KTHREAD** finishing, _KTHREAD** orphan_of, bool own = false) {
    IrpHeader* h = header_of(irp);
    _KTHREAD* t = h->thread;
    if (!t) return true;
    own = own || t == ps::current_thread_if_known();
    if (own && t->irp_slot.load(std::memory_order_relaxed) == reinterpret_cast<uintptr_t>(irp) &&
        take_from_slot(t, irp)) [[likely]] {
        // The issuer completes its own request, still in the slot and unseen by any
        // walker (a walker marks it before it holds it), so no canceller holds it, and
        // the issuer is not exiting meanwhile (it is running this).
        h->list_state = kNotListed;
        return true;
    }
    return retire_locked(irp, h, t, own, finishing, orphan_of);
}

// retire_from_thread's locked case for finish_inline, out of line.
[[gnu::noinline]] bool retire_own_locked(IRP* irp, IrpHeader* h, _KTHREAD* t) {
    _KTHREAD* finishing = nullptr;
    _KTHREAD* orphan_of = nullptr;
    return retire_locked(irp, h, t, true, &finishing, &orphan_of);
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

// The driver's call site of an IoCompleteRequest, when the compat macro passed one
// (NtioCompleteRequestAt): the completion's reports name it. Set as the thread's call
// site (verifier::CallSiteScope) only around what may report, not on every completion.
struct Site {
    const char* file;
    ULONG line;
};

[[gnu::noinline, gnu::cold]] void report_information_too_large(IRP* irp, IrpHeader* h, ULONG_PTR n, Site site) {
    verifier::CallSiteIfKnown scope(site.file, site.line, verifier::Api::IoCompleteRequest);
    verifier::report(verifier::Check::InformationTooLarge,
                     fmt::format("IRP #{}: IoStatus.Information = {} but the caller's buffer holds {} bytes; ntio "
                                 "copies {} and tells the caller {} (S-CMP-10). Set Information to the bytes written "
                                 "into the output buffer.",
                                 h->sequence, n, h->output_length, h->output_length, h->output_length),
                     {.irp = irp});
}

// A buffered request's output goes back to the caller (`copy`: the caller is still
// there and the request did not fail) and its system buffer and MDLs are freed.
// Returns the status of a fault in the copy back, else STATUS_SUCCESS: as Windows's
// I/O manager does, the caller is then told that status instead (S-CMP-14).
[[gnu::always_inline]] inline NTSTATUS release_buffers(IRP* irp, IrpHeader* h, bool copy, Site site) {
    NTSTATUS fault = STATUS_SUCCESS;
    if (irp->Flags & IRP_BUFFERED_IO) {
        if (copy && (irp->Flags & IRP_INPUT_OPERATION) && irp->UserBuffer) {
            ULONG_PTR n = irp->IoStatus.Information;
            if (n > h->output_length) [[unlikely]] {
                report_information_too_large(irp, h, n, site);
                n = h->output_length;
                irp->IoStatus.Information = n;  // what the caller's status block says it got
            }
            if (irp->AssociatedIrp.SystemBuffer) fault = ke::copy_user(irp->UserBuffer, irp->AssociatedIrp.SystemBuffer, n);
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
    return fault;
}

// Whether finish_request may hand the end of this completion to the issuer
// (InlineCompletion): the IRP is the one the calling thread is sending right now (a
// completion while a trace records takes finish_request's general path). Only
// requests on synchronous file objects are registered, and those have no completion
// port (S-W32-15) and ignore FILE_SKIP_SET_EVENT_ON_HANDLE (S-DSP-11), so neither
// needs a test here.
inline bool completes_inline(IRP* irp, InlineCompletion* ic) { return ic && ic->irp == irp && !trace::enabled(); }

// finish_request for a request that completes inside its issuer's IoCallDriver (see
// InlineCompletion): the same steps in the same order as finish_request takes for a
// user request on a synchronous file object, except the file object's event and the
// IRP's file reference, which go to the issuer. It relies on what holds for such a
// request (io/file.cpp send_request registers no other):
//   * the issuer is this thread, inside its call: it is not exiting, so the IRP was not
//     disassociated (no orphan) and no other thread has to wait for the caller to be
//     notified (no finishing count);
//   * a user request (no IRP_SYNCHRONOUS_API) on a synchronous file object: its status
//     reaches the caller only if it did not fail, and the file object's event is owed
//     when it does or when the driver returned pending (finish_request's `report` and
//     `file_event`);
//   * the issuer holds a reference of its own on the file object until it has woken,
//     so the IRP's reference can wait until the issuer drops both.
[[gnu::noinline]] void finish_inline_general(IRP* irp, IrpHeader* h, InlineCompletion* ic, Site site);

// A buffered request whose output goes back to the caller's buffer.
inline bool copies_back(ULONG flags) {
    return (flags & (IRP_BUFFERED_IO | IRP_INPUT_OPERATION)) == (IRP_BUFFERED_IO | IRP_INPUT_OPERATION);
}

// What the two common finishes (finish_inline_common, complete_own_async_request) need
// of an IRP's buffers and allocation: a lookaside IRP and room in the thread's
// lookaside to put it back, no MDL, a system buffer inside the IRP or none (a request
// without data), at most 64 bytes to copy back. Each then takes the IRP out of its
// issuer's slot (take_from_issuer_slot) last, after its own tests.
[[gnu::always_inline]] inline bool fits_common_finish(IRP* irp, IrpHeader* h, ULONG flags, ULONG_PTR information) {
    bool frees_buffer = (flags & (IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER)) == (IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER);
    return h->size_class == kIrpLookaside && t_irp_cache.depth < t_irp_cache.limit && !irp->MdlAddress &&
           !(frees_buffer && !(h->flags & kIrpInlineBuffer) && irp->AssociatedIrp.SystemBuffer) &&
           !(copies_back(flags) && (information > h->output_length || information > 64));
}
// The IRP still in its issuer `t`'s slot, unseen by any walker, leaves it.
[[gnu::always_inline]] inline bool take_from_issuer_slot(_KTHREAD* t, IRP* irp) {
    return t->irp_slot.load(std::memory_order_relaxed) == reinterpret_cast<uintptr_t>(irp) &&
           take_from_slot_unlisted(t, irp);
}

// release_irp for an IRP the common finishes took: into the lookaside (no trace, no
// quarantine, room tested by fits_common_finish).
[[gnu::always_inline]] inline void release_to_lookaside(IRP* irp, IrpHeader* h) {
    h->magic = kFreedIrpMagic;
    irp->Type = 0;
    push_to_lookaside(h);
}

// finish_inline's common case: fits_common_finish, the IRP in its issuer's slot, no
// event to signal or dereference, no IRP checks. It calls nothing, so it needs no frame: it
// tests all of that before it changes anything and returns false (nothing changed)
// for anything else.
// `pending_returned`: the IRP's PendingReturned after the unwind, which the caller
// need not store: the IRP is freed here, and what the freed IRP keeps is what
// complete_request_body's first test reads (magic) and what the next allocation
// initializes; so neither the unwind's stores nor ThreadListEntry, list_state and
// kIrpCompleted are written.
[[gnu::always_inline]] inline bool finish_inline_common(IRP* irp, IrpHeader* h, InlineCompletion* ic,
                                                        bool pending_returned) {
    _KTHREAD* t = h->thread;
    ULONG flags = irp->Flags;
    ULONG_PTR information = irp->IoStatus.Information;
    if (!fits_common_finish(irp, h, flags, information) || irp->UserEvent || h->event_object ||
        !take_from_issuer_slot(t, irp)) [[unlikely]]
        return false;
    // From here as finish_inline_general goes when nothing of the above applies.
    NTSTATUS status = irp->IoStatus.Status;
    FILE_OBJECT* fo = irp->Tail.Overlay.OriginalFileObject;
    bool report = !NT_ERROR(status);
    if (report) {
        if (copies_back(flags) && irp->UserBuffer && irp->AssociatedIrp.SystemBuffer)
            if (NTSTATUS fault = ke::copy_user_at_most_64(irp->UserBuffer, irp->AssociatedIrp.SystemBuffer, information))
                [[unlikely]]
                status = fault;  // S-CMP-14
        if (PIO_STATUS_BLOCK iosb = irp->UserIosb) write_status_block(iosb, status, information);
    }
    bool file_event = report || pending_returned;
    release_to_lookaside(irp, h);
    if (file_event) __atomic_store_n(&fo->FinalStatus, status, __ATOMIC_RELAXED);
    ic->irp = nullptr;
    ic->completed = true;
    ic->set_file_event = file_event;
    return true;
}

// finish_inline: its common case, else finish_inline_general.
[[gnu::always_inline]] inline void finish_inline(IRP* irp, IrpHeader* h, InlineCompletion* ic, Site site) {
    if (verifier::irp_hooks() || !finish_inline_common(irp, h, ic, irp->PendingReturned)) [[unlikely]]
        finish_inline_general(irp, h, ic, site);
}

void finish_inline_general(IRP* irp, IrpHeader* h, InlineCompletion* ic, Site site) {
    h->flags |= kIrpCompleted;
    NTSTATUS status = irp->IoStatus.Status;
    FILE_OBJECT* fo = irp->Tail.Overlay.OriginalFileObject;
    // retire_from_thread for its own issuer (see above): no orphan, nobody to notify.
    _KTHREAD* t = h->thread;
    bool free_now = true;
    if (t->irp_slot.load(std::memory_order_relaxed) == reinterpret_cast<uintptr_t>(irp) && take_from_slot(t, irp))
        [[likely]]
        h->list_state = kNotListed;
    else
        free_now = retire_own_locked(irp, h, t);
    bool report = !NT_ERROR(status);
    if (NTSTATUS fault = release_buffers(irp, h, report, site)) [[unlikely]]
        status = fault;  // S-CMP-14
    PKEVENT user_event = nullptr;
    if (report) {
        if (PIO_STATUS_BLOCK iosb = irp->UserIosb) write_status_block(iosb, status, irp->IoStatus.Information);
        user_event = irp->UserEvent;
    }
    bool file_event = report || irp->PendingReturned;
    void* event_object = h->event_object;
    if (free_now) [[likely]]
        release_irp(irp);
    else
        free_unless_held(irp);
    if (file_event) __atomic_store_n(&fo->FinalStatus, status, __ATOMIC_RELAXED);
    ic->irp = nullptr;
    ic->completed = true;
    ic->set_file_event = file_event;
    if (user_event) [[unlikely]]
        ke::set_event(user_event);
    if (event_object) [[unlikely]]
        ob::dereference(event_object);
}

// A completion's user APC. Windows's lives in the IRP and cannot fail to queue; ntio's
// needs a node, and a completion lost for want of one would leave its caller waiting
// forever (the same policy as a completion-port packet, queue_completion).
[[gnu::noinline]] void queue_completion_apc(_KTHREAD* issuer, const ke::UserApc& apc) {
    // A thread that has ended drops its APCs (S-APC-5): the request is over all the same.
    if (issuer->system->dispatcher.queue_user_apc(issuer, apc) != STATUS_NO_MEMORY) [[likely]]
        return;
    std::fprintf(stderr, "ntio: out of memory queueing a completion APC; the request's completion would be lost\n");
    std::abort();
}

// finish_request for every other request (out of line: IofCompleteRequest's inline
// case then keeps a smaller frame).
[[gnu::noinline]] void finish_request_general(IRP* irp, Site site);

// The I/O manager's half of completion for requests it (or IoBuild*Request) issued.
[[gnu::always_inline]] inline void finish_request(IRP* irp, Site site) {
    if (InlineCompletion* ic = t_inline_completion; completes_inline(irp, ic)) [[likely]]
        return finish_inline(irp, header_of(irp), ic, site);
    finish_request_general(irp, site);
}

void finish_request_general(IRP* irp, Site site) {
    verifier::CallSiteIfKnown scope(site.file, site.line, verifier::Api::IoCompleteRequest);
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
    NTSTATUS copy_fault = release_buffers(irp, h, !orphan_of && !NT_ERROR(status), {nullptr, 0});

    if (orphan_of) {
        // S-CMP-8: the issuer exited and the IRP was disassociated from it; its
        // completion only cleans up (the caller's buffers and event may be gone).
        void* event_object = h->event_object;
        if (free_now) release_irp(irp);
        else free_unless_held(irp);
        if (event_object) ob::dereference(event_object);
        if (fo) ob::dereference(fo);
        ps::dereference(orphan_of);
        return;
    }

    bool synchronous_fo = fo && (file_flags(fo) & FO_SYNCHRONOUS_IO);
    bool synchronous = (irp->Flags & IRP_SYNCHRONOUS_API) || synchronous_fo;
    bool report = !NT_ERROR(status) || (irp->PendingReturned && !synchronous);
    // S-CMP-14: what to report was decided by the driver's status; a fault in the copy
    // back changes what is reported.
    if (copy_fault) [[unlikely]]
        status = copy_fault;
    // Decide what to signal, release the IRP, then signal: whoever wakes up finds the
    // request fully retired (no IRP still allocated on its behalf).
    PKEVENT user_event = nullptr;
    bool file_event = false;
    bool wrote_iosb = false;
    PIO_STATUS_BLOCK user_iosb = irp->UserIosb;  // for the trace, after the IRP is freed
    auto write_iosb = [&] {
        if (irp->UserIosb) {
            wrote_iosb = true;
            write_status_block(irp->UserIosb, status, irp->IoStatus.Information);
        }
    };
    // The completion-port packet, queued after the IOSB and the events (S-CMP-9 step 4,
    // §10.1). Files with a port or FILE_SKIP_SET_EVENT_ON_HANDLE take the branch.
    CompletionPort* port = nullptr;
    ke::QueuePacket packet;
    // The user APC (S-CMP-9 step 4), for the issuer, which cannot have ended: it is
    // this thread, or it waits for finish_thread_notification below (S-CAN-12). A
    // handle with a port never gets here with one (S-DSP-9, refused at the call).
    ke::UserApc apc{};
    _KTHREAD* apc_thread = nullptr;
    if (report) {
        write_iosb();
        if (PIO_APC_ROUTINE routine = irp->Overlay.AsynchronousParameters.UserApcRoutine) [[unlikely]] {
            apc = {reinterpret_cast<void*>(routine), irp->Overlay.AsynchronousParameters.UserApcContext,
                   irp->UserIosb, nullptr, true};
            apc_thread = h->thread;
        }
        user_event = irp->UserEvent;
        file_event = fo && (synchronous_fo || !irp->UserEvent) && !(irp->Flags & IRP_CLOSE_OPERATION);
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
    if (free_now) release_irp(irp);
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
    // Recorded before the caller can wake, so that what it does next comes after.
    if (traced) [[unlikely]]
        trace::irp_after(trace::Kind::notified, traced,
                         (user_event ? trace::kNotifiedEvent : 0) | (file_event ? trace::kNotifiedFileEvent : 0) |
                             (wrote_iosb ? trace::kNotifiedStatusBlock : 0) | (port ? trace::kNotifiedPort : 0) |
                             (apc_thread ? trace::kNotifiedApc : 0),
                         wrote_iosb ? static_cast<const void*>(user_iosb) : nullptr);
    // Requests on an asynchronous file without an event may complete concurrently here.
    if (signal_file) __atomic_store_n(&signal_file->FinalStatus, status, __ATOMIC_RELAXED);
    if (user_event) ke::set_event(user_event);
    if (signal_file) ke::set_event(&signal_file->Event);
    if (port) queue_completion(port, packet);
    if (apc_thread) [[unlikely]]
        queue_completion_apc(apc_thread, apc);
    if (issuer_to_notify) finish_thread_notification(issuer_to_notify);
    if (event_object) ob::dereference(event_object);
    if (fo) ob::dereference(fo);
}

}  // namespace

}  // namespace ntio::io

using namespace ntio;
using ntio::io::header_of;

namespace ntio::io {

// IofCallDriver's reports (io/call_driver.hpp), out of line and cold.
[[gnu::noinline, gnu::cold]] NTSTATUS no_stack_location_left(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    verifier::report(verifier::Check::NO_MORE_IRP_STACK_LOCATIONS,
                     fmt::format("IoCallDriver(IRP #{}) to {} with no stack location left ({} allocated): allocate "
                                 "the IRP with the target's StackSize (or StackSize + 1 to keep one for yourself); the "
                                 "IRP was not sent",
                                 header_of(Irp)->sequence, device_label(DeviceObject), int(Irp->StackCount)),
                     {.irp = Irp, .device = DeviceObject});
    return STATUS_INVALID_DEVICE_STATE;
}

[[gnu::noinline, gnu::cold]] void dispatch_changed_irql(PDEVICE_OBJECT DeviceObject, uint32_t packed) {
    UCHAR major = static_cast<UCHAR>(packed >> 8);
    KIRQL irql = static_cast<KIRQL>(packed);
    verifier::report(verifier::Check::IRQL_UNEXPECTED_VALUE,
                     fmt::format("dispatch routine {} for major function {:#x} returned at IRQL {} but was called at "
                                 "IRQL {}; release every spin lock it took",
                                 reinterpret_cast<void*>(DeviceObject->DriverObject->MajorFunction[major]), major,
                                 KeGetCurrentIrql(), irql),
                     {.device = DeviceObject});
    // Windows cannot go on (bug check 0xC8, or 0x4A on the way back to user mode); ntio,
    // reporting and going on, puts the caller back at its own IRQL, so that the calls that
    // follow run, and are checked, at the IRQL their code expects.
    if (KeGetCurrentIrql() > irql) KeLowerIrql(irql);
    else KfRaiseIrql(irql);
}

}  // namespace ntio::io

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

BOOLEAN NtioNoNextStackLocation(PIRP Irp, const char* Api) { return NtioNoNextStackLocationAt(Irp, Api, nullptr, 0); }

BOOLEAN NtioNoNextStackLocationAt(PIRP Irp, const char* Api, PCSTR File, ULONG Line) {
    // The helper's own line; without one, none (not the line of the IoCallDriver that
    // sent this IRP to the driver, which an outer scope may still hold).
    verifier::CallSiteScope site(File, Line,
                                 std::strcmp(Api, "IoSetCompletionRoutine") == 0
                                     ? verifier::Api::IoSetCompletionRoutine
                                     : verifier::Api::IoCopyCurrentIrpStackLocationToNext);
    verifier::report(verifier::Check::NO_MORE_IRP_STACK_LOCATIONS,
                         fmt::format("{} on IRP #{}, which has no location below the current one ({} allocated): "
                                     "the IRP was allocated for a shorter stack; ntio skipped the write, which "
                                     "would overwrite the IRP itself",
                                     Api, Irp->NtioPrivate ? header_of(Irp)->sequence : 0, int(Irp->StackCount)),
                     {.irp = Irp});
    return TRUE;
}

NTSTATUS IofCallDriver(PDEVICE_OBJECT DeviceObject, PIRP Irp) { return io::call_driver(DeviceObject, Irp); }

}  // extern "C"

namespace ntio::io {
namespace {

// IoCompleteRequest's reports, out of line and cold: their formatting would otherwise
// widen the completion's frame.
[[gnu::noinline, gnu::cold]] void report_completion_irql(Site site) {
    verifier::CallSiteIfKnown scope(site.file, site.line, verifier::Api::IoCompleteRequest);
    verifier::irql_too_high(DISPATCH_LEVEL, "IoCompleteRequest");
}

[[gnu::noinline, gnu::cold]] void report_double_completion(IRP* Irp, Site site) {
    verifier::CallSiteIfKnown scope(site.file, site.line, verifier::Api::IoCompleteRequest);
    IrpHeader* h = header_of(Irp);
    verifier::report(verifier::Check::MULTIPLE_IRP_COMPLETE_REQUESTS,
                     fmt::format("IoCompleteRequest on IRP #{} ({}), which was already completed; an IRP is "
                                 "completed exactly once, by the driver that owns it",
                                 h->magic == kIrpMagic || h->magic == kFreedIrpMagic ? h->sequence : 0,
                                 static_cast<void*>(Irp)),
                     {.irp = Irp});
}

// The caller's mistakes IoCompleteRequest reports and goes on from: the cancel spin
// lock held, STATUS_PENDING as the final status, the cancel routine still set.
[[gnu::noinline, gnu::cold]] void report_completion_state(IRP* Irp, Site site) {
    verifier::CallSiteIfKnown scope(site.file, site.line, verifier::Api::IoCompleteRequest);
    IrpHeader* h = header_of(Irp);
    if (cancel_lock_held_by_caller())
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
}

[[gnu::noinline, gnu::cold]] void report_not_reclaimed(IRP* Irp, Site site) {
    verifier::CallSiteIfKnown scope(site.file, site.line, verifier::Api::IoCompleteRequest);
    verifier::report(verifier::Check::IrpNotReclaimed,
                     fmt::format("IRP #{} from IoAllocateIrp finished completion without a completion routine "
                                 "returning STATUS_MORE_PROCESSING_REQUIRED; its creator must take it back "
                                 "and IoFreeIrp it (S-CMP-12). The IRP is left allocated.",
                                 header_of(Irp)->sequence),
                     {.irp = Irp});
}

// A location the completion has passed: everything but its major function and device
// cleared (a driver that reuses the IRP finds the location clean).
[[gnu::always_inline]] inline void clear_finished_location(PIO_STACK_LOCATION done) {
    done->MinorFunction = 0;
    done->Flags = 0;
    done->Control = 0;
    std::memset(&done->Parameters, 0, sizeof(done->Parameters));
    done->FileObject = nullptr;
    done->CompletionRoutine = nullptr;
    done->Context = nullptr;
}

// A completion routine, if its Control bits ask for it at this status (S-CMP-2/3); true
// when it returned STATUS_MORE_PROCESSING_REQUIRED (completion stops here). Out of
// line: the common request has none.
template <bool Verified>
[[gnu::noinline]] bool run_completion_routine(IRP* Irp, PIO_COMPLETION_ROUTINE routine, PVOID context, UCHAR control,
                                              Site site) {
    NTSTATUS status = Irp->IoStatus.Status;
    bool call = (NT_SUCCESS(status) && (control & SL_INVOKE_ON_SUCCESS)) ||
                (!NT_SUCCESS(status) && (control & SL_INVOKE_ON_ERROR)) ||
                (__atomic_load_n(&Irp->Cancel, __ATOMIC_RELAXED) && (control & SL_INVOKE_ON_CANCEL));
    if constexpr (Verified)
        verifier::irps::location_done(Irp, Irp->CurrentLocation - 1, control, call ? routine : nullptr);
    if (!call) {
        if (Irp->PendingReturned && Irp->CurrentLocation <= Irp->StackCount)
            Irp->Tail.Overlay.CurrentStackLocation->Control |= SL_PENDING_RETURNED;
        return false;
    }
    PDEVICE_OBJECT owner =
        Irp->CurrentLocation <= Irp->StackCount ? Irp->Tail.Overlay.CurrentStackLocation->DeviceObject : nullptr;
    if (trace::enabled()) [[unlikely]]
        trace::irp_event(trace::Kind::completion_routine, Irp, owner);
    // Reports from what the routine calls by plain name name this completion's caller.
    verifier::CallSiteIfKnown scope(site.file, site.line, verifier::Api::IoCompleteRequest);
    if (routine(owner, Irp, context) != STATUS_MORE_PROCESSING_REQUIRED) return false;
    if constexpr (Verified) verifier::irps::note(Irp, verifier::irps::Step::reclaimed);
    return true;
}

// S-CMP-7: an associated IRP is freed with its MDLs; the last one completes the master.
[[gnu::noinline]] void complete_associated(IRP* Irp) {
    PIRP master = Irp->AssociatedIrp.MasterIrp;
    for (PMDL mdl = Irp->MdlAddress; mdl;) {
        PMDL next = mdl->Next;
        if (mdl->MdlFlags & MDL_PAGES_LOCKED) MmUnlockPages(mdl);
        IoFreeMdl(mdl);
        mdl = next;
    }
    free_irp(Irp);
    if (InterlockedDecrement(&master->AssociatedIrp.IrpCount) == 0) IofCompleteRequest(master, IO_NO_INCREMENT);
}

// IoCompleteRequest after its IRQL check. `Verified`: the IRP checks are on (the
// verifier's records see the completion and each location).
template <bool Verified>
[[gnu::always_inline]] inline void complete_request_body(PIRP Irp, Site site) {
    IrpHeader* h = header_of(Irp);
    if (h->magic != kIrpMagic || (h->flags & kIrpCompleted) || Irp->CurrentLocation > Irp->StackCount + 1)
        [[unlikely]]
        return report_double_completion(Irp, site);
    if (cancel_lock_held_by_caller() || Irp->IoStatus.Status == STATUS_PENDING ||
        __atomic_load_n(&Irp->CancelRoutine, __ATOMIC_RELAXED)) [[unlikely]]
        report_completion_state(Irp, site);
    if (trace::enabled()) [[unlikely]]
        trace::irp_completed(Irp);
    // Unwind the stack toward the top (S-CMP-2): each location's routine runs with
    // that driver's location current. A finished location is cleared.
    while (Irp->CurrentLocation <= Irp->StackCount) {
        PIO_STACK_LOCATION done = Irp->Tail.Overlay.CurrentStackLocation;
        Irp->CurrentLocation++;
        Irp->Tail.Overlay.CurrentStackLocation++;
        UCHAR control = done->Control;
        Irp->PendingReturned = (control & SL_PENDING_RETURNED) != 0;
        PIO_COMPLETION_ROUTINE routine = done->CompletionRoutine;
        PVOID context = done->Context;
        clear_finished_location(done);
        if (routine || Verified) [[unlikely]] {
            if (run_completion_routine<Verified>(Irp, routine, context, control, site)) return;
        } else if (Irp->PendingReturned && Irp->CurrentLocation <= Irp->StackCount) {
            Irp->Tail.Overlay.CurrentStackLocation->Control |= SL_PENDING_RETURNED;
        }
    }
    if (Irp->Flags & IRP_ASSOCIATED_IRP) [[unlikely]]
        return complete_associated(Irp);
    if (!Irp->Tail.Overlay.Thread && !Irp->UserIosb && !(h->flags & kIrpUserRequest)) [[unlikely]]
        return report_not_reclaimed(Irp, site);
    finish_request(Irp, site);
}

// The completion with every IRP check: out of line, under the driver's call site.
[[gnu::noinline, gnu::cold]] void complete_request_verified(PIRP Irp, CCHAR PriorityBoost, Site site) {
    verifier::CallSiteIfKnown scope(site.file, site.line, verifier::Api::IoCompleteRequest);
    if (!verifier::irps::completing(Irp, PriorityBoost)) return;
    complete_request_body<true>(Irp, site);
}

// complete_own_async_request's last steps, once what to notify is known: the IRP
// released; the file reference dropped before the caller wakes unless the file's event
// is set or a packet is still to be queued (a port lives as long as its file objects);
// the events set; the packet queued; the references dropped.
[[gnu::always_inline]] inline void finish_own_async(IRP* Irp, IrpHeader* h, FILE_OBJECT* fo, NTSTATUS status,
                                                    PKEVENT user_event, bool file_event, CompletionPort* port,
                                                    const ke::QueuePacket* packet) {
    void* event_object = h->event_object;
    release_to_lookaside(Irp, h);
    bool keep_file = file_event || port;
    if (!keep_file) ob::dereference(fo);
    if (file_event) __atomic_store_n(&fo->FinalStatus, status, __ATOMIC_RELAXED);
    if (user_event) ke::set_event(user_event);
    if (file_event) ke::set_event(&fo->Event);
    if (port) queue_completion(port, *packet);
    if (event_object) ob::dereference(event_object);
    if (keep_file) ob::dereference(fo);
}

// The same for a file bound to a completion port or skipping its event
// (FILE_SKIP_SET_EVENT_ON_HANDLE): completion_target decides the packet and the file's
// event, as in finish_request_general. Out of line, so that the common case keeps its
// registers.
[[gnu::noinline]] void finish_own_async_notified(IRP* Irp, IrpHeader* h, FILE_OBJECT* fo, NTSTATUS status,
                                                 bool pended, PKEVENT user_event) {
    bool file_event = !user_event;
    ke::QueuePacket packet;
    Irp->PendingReturned = pended;  // what the unwind would have left for completion_target
    CompletionPort* port = completion_target(Irp, fo, status, &file_event, &packet);
    finish_own_async(Irp, h, fo, status, user_event, file_event, port, &packet);
}

// The common case of a request on an asynchronous file object that its driver
// completes inside dispatch: the issuer's own thread completes a user request with one
// location, no completion routine and nothing for a check to report, and its final
// stage is finish_request_general's for an asynchronous file, no trace, no APC to queue,
// fits_common_finish and the IRP in its issuer's slot. Like finish_inline_common, it
// tests all of that before it changes anything and returns false (nothing changed) for
// anything else; the IRP is freed without the unwind's stores. Then the same steps in
// the same order as finish_request_general: copy back and status block (unless the
// request failed without pending), the completion-port packet and the notification
// modes decided (completion_target, for a file bound to a port or skipping its event),
// the IRP released, the caller's event or else the file object's event set, the packet
// queued, and the references dropped.
[[gnu::always_inline]] inline bool complete_own_async_request(PIRP Irp) {
    IrpHeader* h = header_of(Irp);
    PIO_STACK_LOCATION done = Irp->Tail.Overlay.CurrentStackLocation;
    FILE_OBJECT* fo = Irp->Tail.Overlay.OriginalFileObject;
    _KTHREAD* t = h->thread;
    ULONG flags = Irp->Flags;
    ULONG_PTR information = Irp->IoStatus.Information;
    NTSTATUS status = Irp->IoStatus.Status;
    if (h->magic != kIrpMagic || (h->flags & (kIrpCompleted | kIrpUserRequest)) != kIrpUserRequest ||
        Irp->CurrentLocation != Irp->StackCount || done->CompletionRoutine ||
        (flags & (IRP_ASSOCIATED_IRP | IRP_SYNCHRONOUS_API)) || status == STATUS_PENDING ||
        __atomic_load_n(&Irp->CancelRoutine, __ATOMIC_RELAXED) || Irp->Overlay.AsynchronousParameters.UserApcRoutine ||
        trace::enabled() || !fo || !t ||
        t != ps::current_thread_if_known() || cancel_lock_held_by_caller() || (file_flags(fo) & FO_SYNCHRONOUS_IO) ||
        !fits_common_finish(Irp, h, flags, information) || !take_from_issuer_slot(t, Irp))
        return false;
    bool failed = NT_ERROR(status);
    bool pended = done->Control & SL_PENDING_RETURNED;
    bool report = !failed || pended;
    if (!failed && copies_back(flags) && Irp->UserBuffer && Irp->AssociatedIrp.SystemBuffer)
        if (NTSTATUS fault = ke::copy_user_at_most_64(Irp->UserBuffer, Irp->AssociatedIrp.SystemBuffer, information))
            [[unlikely]]
            status = fault;  // S-CMP-14
    PKEVENT user_event = nullptr;
    bool file_event = false;
    if (report) {
        if (PIO_STATUS_BLOCK iosb = Irp->UserIosb) write_status_block(iosb, status, information);
        user_event = Irp->UserEvent;
        file_event = !user_event;
        if (__atomic_load_n(&fo->CompletionContext, __ATOMIC_RELAXED) || (file_flags(fo) & FO_SKIP_SET_EVENT))
            [[unlikely]] {
            finish_own_async_notified(Irp, h, fo, status, pended, user_event);
            return true;
        }
    }
    finish_own_async(Irp, h, fo, status, user_event, file_event, nullptr, nullptr);
    return true;
}

// Every completion the common case below does not cover.
[[gnu::noinline]] void complete_request_general(PIRP Irp, CCHAR PriorityBoost, Site site) {
    if (ke::t_irql > DISPATCH_LEVEL) [[unlikely]]
        report_completion_irql(site);
    if (verifier::irp_hooks()) [[unlikely]]
        return complete_request_verified(Irp, PriorityBoost, site);
    if (complete_own_async_request(Irp)) return;
    complete_request_body<false>(Irp, site);
}

// IoCompleteRequest. The common case is a request its issuer is sending right now
// (finish_request's inline case) with one location left and no completion routine in
// it, and nothing for a check to report: it makes no call but its last, so it needs
// no frame. It modifies nothing before it knows it is that case; anything else goes
// to complete_request_general from the start.
[[gnu::always_inline]] inline void complete_request(PIRP Irp, CCHAR PriorityBoost, Site site) {
    IrpHeader* h = header_of(Irp);
    PIO_STACK_LOCATION done = Irp->Tail.Overlay.CurrentStackLocation;
    InlineCompletion* ic = t_inline_completion;
    // Whether it is the issuer's own request comes first: every other request (an
    // overlapped one, one a worker completes) leaves after two loads.
    // One test for the tracer (completes_inline's) and the verifier: while either
    // watches, complete_request_general takes every completion.
    if (!ic || ic->irp != Irp || verifier::irps_watched() || ke::t_irql > DISPATCH_LEVEL || h->magic != kIrpMagic ||
        (h->flags & kIrpCompleted) || Irp->CurrentLocation != Irp->StackCount || cancel_lock_held_by_caller() ||
        Irp->IoStatus.Status == STATUS_PENDING || __atomic_load_n(&Irp->CancelRoutine, __ATOMIC_RELAXED) ||
        done->CompletionRoutine || (Irp->Flags & IRP_ASSOCIATED_IRP)) [[unlikely]]
        return complete_request_general(Irp, PriorityBoost, site);
    // The unwind loop of complete_request_body for its last location, except clearing
    // it: it is the top location, so no completion routine above reads it, and the IRP
    // is freed next. finish_inline_common frees it without the unwind's stores.
    bool pending_returned = (done->Control & SL_PENDING_RETURNED) != 0;
    if (finish_inline_common(Irp, h, ic, pending_returned)) [[likely]]
        return;
    Irp->CurrentLocation++;
    Irp->Tail.Overlay.CurrentStackLocation++;
    Irp->PendingReturned = pending_returned;
    finish_inline_general(Irp, h, ic, site);
}

}  // namespace
}  // namespace ntio::io

extern "C" {

VOID IofCompleteRequest(PIRP Irp, CCHAR PriorityBoost) { io::complete_request(Irp, PriorityBoost, {nullptr, 0}); }

// The compat macro's IoCompleteRequest: the same, with the driver's call site for the
// reports made inside (see verifier/call_sites.cpp).
VOID NtioCompleteRequestAt(PIRP Irp, CCHAR PriorityBoost, PCSTR File, ULONG Line) {
    io::complete_request(Irp, PriorityBoost, {File, Line});
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
    // A partial MDL's own system mapping ends with it, as on Windows (nothing to undo:
    // the mapping is the buffer itself).
    sys().pool.free(Mdl, kMdlTag, true, "IoFreeMdl");
}

SIZE_T MmSizeOfMdl(PVOID Base, SIZE_T Length) {
    // Windows's size: the header and a page frame number per page the buffer spans. An
    // ntio MDL needs only its header, so a driver that allocates this much has room.
    return sizeof(MDL) + ADDRESS_AND_SIZE_TO_SPAN_PAGES(Base, Length) * sizeof(PFN_NUMBER);
}

VOID MmBuildMdlForNonPagedPool(PMDL MemoryDescriptorList) {
    MemoryDescriptorList->MappedSystemVa = MmGetMdlVirtualAddress(MemoryDescriptorList);
    MemoryDescriptorList->MdlFlags |= MDL_SOURCE_IS_NONPAGED_POOL;
}

VOID MmProbeAndLockPages(PMDL MemoryDescriptorList, KPROCESSOR_MODE AccessMode, LOCK_OPERATION Operation) {
    // Windows faults the pages in and raises STATUS_ACCESS_VIOLATION for a buffer it
    // cannot lock, which the driver takes with __try (S-SEH-6). Inside a __try ntio
    // probes the same way, touching each page (and writing it back to itself for a
    // write), before the MDL is marked locked; with no __try there is nothing to take
    // the exception, and a bad page faults where the driver uses it.
    ULONG length = MemoryDescriptorList->ByteCount;
    if (length && ntio_seh_frame_active()) {
        auto* start = static_cast<char*>(MmGetMdlVirtualAddress(MemoryDescriptorList));
        if (Operation == IoReadAccess) {
            if (AccessMode == UserMode) ProbeForRead(start, length, 1);
            const uintptr_t last = reinterpret_cast<uintptr_t>(start) + length - 1;
            for (uintptr_t p = reinterpret_cast<uintptr_t>(start); p <= last; p = (p & ~uintptr_t(PAGE_SIZE - 1)) + PAGE_SIZE)
                (void)*reinterpret_cast<volatile char*>(p);
        } else {
            ProbeForWrite(start, length, 1);
        }
    }
    io::lock_mdl_pages(MemoryDescriptorList, Operation);
}

extern "C++" void ntio::io::lock_mdl_pages(PMDL mdl, LOCK_OPERATION op) {
    if (mdl->MdlFlags & MDL_PAGES_LOCKED)
        verifier::report(verifier::Check::MdlMisuse,
                         fmt::format("MmProbeAndLockPages({}) on an MDL already locked", static_cast<void*>(mdl)));
    mdl->MdlFlags |= MDL_PAGES_LOCKED;
    if (op != IoReadAccess) mdl->MdlFlags |= MDL_WRITE_OPERATION;
}

VOID MmUnlockPages(PMDL MemoryDescriptorList) {
    if (!(MemoryDescriptorList->MdlFlags & MDL_PAGES_LOCKED)) {
        verifier::report(verifier::Check::MdlMisuse, fmt::format("MmUnlockPages({}) on an MDL that is not locked",
                                                           static_cast<void*>(MemoryDescriptorList)));
        return;
    }
    MemoryDescriptorList->MdlFlags &= static_cast<CSHORT>(~(MDL_PAGES_LOCKED | MDL_MAPPED_TO_SYSTEM_VA));
}

namespace {
// Whether an MDL's pages may be mapped: locked, built for nonpaged pool, or a partial
// MDL (whose source had to be, S-MDL-3).
bool mdl_pages_resident(PMDL mdl) {
    return (mdl->MdlFlags & (MDL_PAGES_LOCKED | MDL_SOURCE_IS_NONPAGED_POOL | MDL_PARTIAL)) != 0;
}

void report_unlocked_mapping(PMDL mdl, const char* api) {
    verifier::report(verifier::Check::MdlMisuse,
                     fmt::format("{}({}) on an MDL that is neither locked (MmProbeAndLockPages) nor built for "
                                 "nonpaged pool",
                                 api, static_cast<void*>(mdl)));
}

// A system mapping: the buffer itself (one address space), recorded as Windows records
// one, so that MmUnmapLockedPages and MmPrepareMdlForReuse can tell it is there.
PVOID map_to_system(PMDL mdl, const char* api) {
    if (mdl->MdlFlags & (MDL_MAPPED_TO_SYSTEM_VA | MDL_SOURCE_IS_NONPAGED_POOL)) return mdl->MappedSystemVa;
    if (!mdl_pages_resident(mdl)) report_unlocked_mapping(mdl, api);
    mdl->MappedSystemVa = MmGetMdlVirtualAddress(mdl);
    mdl->MdlFlags |= MDL_MAPPED_TO_SYSTEM_VA;
    if (mdl->MdlFlags & MDL_PARTIAL) mdl->MdlFlags |= MDL_PARTIAL_HAS_BEEN_MAPPED;
    return mdl->MappedSystemVa;
}
}  // namespace

PVOID MmMapLockedPagesSpecifyCache(PMDL MemoryDescriptorList, KPROCESSOR_MODE AccessMode, ULONG CacheType,
                                   PVOID RequestedAddress, ULONG BugCheckOnFailure, ULONG Priority) {
    (void)CacheType;
    (void)RequestedAddress;
    (void)BugCheckOnFailure;
    (void)Priority;
    if (AccessMode == KernelMode) return map_to_system(MemoryDescriptorList, "MmMapLockedPagesSpecifyCache");
    // A user-mode view: on Windows a second address in the process; here the buffer
    // itself, and nothing in the MDL changes (Windows keeps user views outside it too).
    if (!mdl_pages_resident(MemoryDescriptorList))
        report_unlocked_mapping(MemoryDescriptorList, "MmMapLockedPagesSpecifyCache");
    return MmGetMdlVirtualAddress(MemoryDescriptorList);
}

PVOID MmMapLockedPages(PMDL MemoryDescriptorList, KPROCESSOR_MODE AccessMode) {
    return MmMapLockedPagesSpecifyCache(MemoryDescriptorList, AccessMode, MmCached, nullptr, TRUE, NormalPagePriority);
}

PVOID MmGetSystemAddressForMdlSafe(PMDL Mdl, ULONG Priority) {
    (void)Priority;
    if (!Mdl) return nullptr;
    return map_to_system(Mdl, "MmGetSystemAddressForMdlSafe");
}

VOID MmUnmapLockedPages(PVOID BaseAddress, PMDL MemoryDescriptorList) {
    PMDL mdl = MemoryDescriptorList;
    bool own_system_mapping = (mdl->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA) &&
                              (!(mdl->MdlFlags & MDL_PARTIAL) || (mdl->MdlFlags & MDL_PARTIAL_HAS_BEEN_MAPPED));
    if (own_system_mapping && BaseAddress == mdl->MappedSystemVa) {
        mdl->MdlFlags &= static_cast<CSHORT>(~(MDL_MAPPED_TO_SYSTEM_VA | MDL_PARTIAL_HAS_BEEN_MAPPED));
        return;
    }
    // Otherwise only a user-mode view can be meant, and it is the buffer's own address.
    if (BaseAddress == MmGetMdlVirtualAddress(mdl) && !(mdl->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA)) return;
    verifier::report(verifier::Check::MdlMisuse,
                     fmt::format("MmUnmapLockedPages({}, {}): the address is not a mapping of this MDL{}", BaseAddress,
                                 static_cast<void*>(mdl),
                                 (mdl->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA)
                                     ? " (a partial MDL that shares its source's system mapping has none of its own)"
                                     : ""));
}

VOID IoBuildPartialMdl(PMDL SourceMdl, PMDL TargetMdl, PVOID VirtualAddress, ULONG Length) {
    auto* source_start = static_cast<char*>(MmGetMdlVirtualAddress(SourceMdl));
    auto* start = static_cast<char*>(VirtualAddress);
    // S-MDL-3: a range outside the source is a bug Windows does not survive either; ntio
    // reports it and leaves the target as it was.
    uintptr_t offset = uintptr_t(start) - uintptr_t(source_start);
    bool inside = start >= source_start && offset <= SourceMdl->ByteCount;
    if (inside && Length == 0) Length = static_cast<ULONG>(SourceMdl->ByteCount - offset);
    if (!inside || offset + Length > SourceMdl->ByteCount) {
        verifier::report(verifier::Check::MdlMisuse,
                         fmt::format("IoBuildPartialMdl({}, {}, {}, {}): the range is not inside the source MDL's "
                                     "buffer ({}, {} bytes)",
                                     static_cast<void*>(SourceMdl), static_cast<void*>(TargetMdl), VirtualAddress,
                                     Length, static_cast<void*>(source_start), SourceMdl->ByteCount));
        return;
    }
    if (!mdl_pages_resident(SourceMdl))
        verifier::report(verifier::Check::MdlMisuse,
                         fmt::format("IoBuildPartialMdl({}, {}, ...): the source MDL's pages are neither locked "
                                     "(MmProbeAndLockPages) nor nonpaged pool",
                                     static_cast<void*>(SourceMdl), static_cast<void*>(TargetMdl)));
    if (TargetMdl->MdlFlags & MDL_PARTIAL_HAS_BEEN_MAPPED)
        verifier::report(verifier::Check::MdlMisuse,
                         fmt::format("IoBuildPartialMdl(..., {}, ...): the target still has the system mapping "
                                     "MmGetSystemAddressForMdlSafe gave it; call MmPrepareMdlForReuse first",
                                     static_cast<void*>(TargetMdl)));
    TargetMdl->Process = SourceMdl->Process;
    TargetMdl->StartVa = PAGE_ALIGN(start);
    TargetMdl->ByteOffset = BYTE_OFFSET(start);
    TargetMdl->ByteCount = Length;
    // S-MDL-2: the source's system mapping (its own, or nonpaged pool's) is shared.
    constexpr CSHORT kShared = MDL_MAPPED_TO_SYSTEM_VA | MDL_SOURCE_IS_NONPAGED_POOL;
    TargetMdl->MdlFlags = static_cast<CSHORT>((TargetMdl->MdlFlags & MDL_ALLOCATED_FIXED_SIZE) |
                                              (SourceMdl->MdlFlags & (kShared | MDL_IO_PAGE_READ)) |
                                              MDL_PARTIAL);
    TargetMdl->MappedSystemVa =
        (SourceMdl->MdlFlags & kShared) ? static_cast<char*>(SourceMdl->MappedSystemVa) + offset : nullptr;
}

// S-DRT-2, S-PS-1: the process of the thread that issued the request: the program's for
// its requests, the System process for one a system thread built; none without a thread.
PEPROCESS IoGetRequestorProcess(PIRP Irp) {
    return Irp->Tail.Overlay.Thread ? ps::process_of(Irp->Tail.Overlay.Thread) : nullptr;
}

ULONG IoGetRequestorProcessId(PIRP Irp) {
    return Irp->Tail.Overlay.Thread ? ps::process_id_of(Irp->Tail.Overlay.Thread) : 0;
}
BOOLEAN IoIs32bitProcess(PIRP) { return FALSE; }
BOOLEAN IoIsSystemThread(PETHREAD Thread) { return PsIsSystemThread(Thread); }

BOOLEAN IoIsOperationSynchronous(PIRP Irp) {
    FILE_OBJECT* fo = Irp->Tail.Overlay.OriginalFileObject;
    return (Irp->Flags & IRP_SYNCHRONOUS_API) || (fo && (io::file_flags(fo) & FO_SYNCHRONOUS_IO));
}

}  // extern "C"
