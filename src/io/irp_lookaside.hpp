// The thread's IRP lookaside and the standard IRP it hands out: inline where the I/O
// manager issues requests (io/file.cpp) and where requests are completed and freed
// (io/irp.cpp), so that the request path's allocation is not a call. irp.cpp owns the
// rest: the slow paths, the depot, the counters' registry.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "io/iomgr.hpp"
#include "verifier/hooks.hpp"
#include "verifier/irp_tracker.hpp"

namespace ntio::io {

constexpr uint32_t kIrpMagic = 0x50524949;       // "IIRP"
constexpr uint32_t kFreedIrpMagic = 0x44454552;  // freed
constexpr CCHAR kLookasideStack = 2;
constexpr uint32_t kLookasideBuffer = 64;
constexpr size_t kLookasideDepth = 256;

// The per-thread lookaside of standard-size IRPs, this thread's counter and its block
// of IRP numbers.
struct ThreadIrpCache {
    IrpHeader* free = nullptr;  // chained through event_object
    size_t depth = 0;
    // kLookasideDepth once the thread is registered (irp.cpp's counters()), 0 before: a
    // thread's first free then takes the slow path, which registers it, and its first
    // allocation always does (its lookaside is empty). So the fast paths count in
    // `live` without testing for registration.
    size_t limit = 0;
    std::atomic<int64_t> live{0};  // written by this thread only, read by live_irps()
    bool registered = false;
    uint64_t next_sequence = 0, sequence_end = 0;  // the block is (next_sequence, sequence_end]
};
// Trivially destructible (see ps::watch_thread_exit); released by thread_exit_cleanup.
extern constinit thread_local ThreadIrpCache t_irp_cache;

// The fast paths' count, on a registered thread (see ThreadIrpCache::limit).
[[gnu::always_inline]] inline void count_registered(int64_t delta) {
    t_irp_cache.live.store(t_irp_cache.live.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
}

void refill_sequence();  // a new block of IRP numbers for this thread (irp.cpp)
[[gnu::always_inline]] inline uint64_t next_sequence() {
    if (t_irp_cache.next_sequence == t_irp_cache.sequence_end) [[unlikely]]
        refill_sequence();
    return ++t_irp_cache.next_sequence;
}

// Zeroes N bytes with 16-byte stores: GCC turns a memset of a constant few hundred
// bytes into `rep stosq`, which takes longer to start than these stores take.
template <size_t N>
[[gnu::always_inline]] inline void zero_bytes(void* p) {
#if defined(__SSE2__)
    static_assert(N >= 16);
    __m128i zero = _mm_setzero_si128();
    char* c = static_cast<char*>(p);
#pragma GCC unroll 32
    for (size_t i = 0; i + 16 <= N; i += 16) _mm_storeu_si128(reinterpret_cast<__m128i*>(c + i), zero);
    if (N % 16) _mm_storeu_si128(reinterpret_cast<__m128i*>(c + N - 16), zero);
#else
    std::memset(p, 0, N);
#endif
}

// S-IRP-1: every field zero except these. The caller has zeroed the IRP and its stack.
// `queued_next`: the caller queues the IRP to a thread (queue_to_thread) before anyone
// else sees it, which sets ThreadListEntry.
[[gnu::always_inline]] inline void init_zeroed_irp(IRP* irp, CCHAR stack, UCHAR allocation_flags, IrpHeader* h,
                                                   bool queued_next = false) {
    irp->NtioPrivate = h;
    irp->Type = IO_TYPE_IRP;
    irp->Size = IoSizeOfIrp(stack);
    irp->StackCount = stack;
    irp->CurrentLocation = static_cast<CHAR>(stack + 1);
    irp->AllocationFlags = allocation_flags;
    irp->Tail.Overlay.CurrentStackLocation = reinterpret_cast<PIO_STACK_LOCATION>(irp + 1) + stack;
    if (!queued_next) InitializeListHead(&irp->ThreadListEntry);
}

[[gnu::always_inline]] inline void init_header(IrpHeader* h, uint8_t size_class, CCHAR stack,
                                               uint32_t buffer_capacity, uint16_t flags = 0) {
    h->magic = kIrpMagic;
    h->size_class = size_class;
    h->stack_count = static_cast<uint8_t>(stack);
    h->flags = flags;
    h->sequence = next_sequence();
    h->event_object = nullptr;
    h->buffer_capacity = buffer_capacity;
    h->output_length = 0;
    h->cancel_holds = 0;
    h->list_state = kNotListed;
    h->thread = nullptr;
    h->free_deferred = false;
    h->verifier_slot = 0;
}

// verifier::irps::allocated, through a function that is not marked cold: GCC lays out
// a path that calls a cold function as cold, and took the whole allocation for one.
void note_allocated(IRP* irp);

// A standard IRP in the lookaside's block `h`, its header's flags `flags`.
[[gnu::always_inline]] inline IRP* init_standard_irp(IrpHeader* h, CCHAR stack, uint16_t flags = 0,
                                                     bool queued_next = false) {
    IRP* irp = reinterpret_cast<IRP*>(h + 1);
    init_header(h, kIrpLookaside, stack, kLookasideBuffer, flags);
    // A standard IRP zeroes room for kLookasideStack locations whatever its stack
    // size: a constant size, written as a few vector stores. With one location, the
    // second one's bytes are the start of the inline system buffer, which the request
    // fills or leaves unused.
    zero_bytes<sizeof(IRP) + size_t(kLookasideStack) * sizeof(IO_STACK_LOCATION)>(irp);
    init_zeroed_irp(irp, stack, IRP_LOOKASIDE_ALLOCATION, h, queued_next);
    count_registered(1);  // allocate_irp_slow registers the thread before its first
    if (verifier::irp_hooks()) [[unlikely]]
        note_allocated(irp);
    return irp;
}

// The lookaside's two ends. Pop: the caller has checked that it is not empty. Push: the
// caller has checked that it has room (depth < limit).
[[gnu::always_inline]] inline IrpHeader* pop_from_lookaside() {
    IrpHeader* h = t_irp_cache.free;
    t_irp_cache.free = static_cast<IrpHeader*>(h->event_object);
    --t_irp_cache.depth;
    return h;
}
[[gnu::always_inline]] inline void push_to_lookaside(IrpHeader* h) {
    h->event_object = t_irp_cache.free;
    t_irp_cache.free = h;
    ++t_irp_cache.depth;
    count_registered(-1);
}

// allocate_irp when the lookaside cannot serve it (irp.cpp).
IRP* allocate_irp_slow(CCHAR stack, uint32_t inline_buffer);

// allocate_irp, inline: the I/O manager's request path. `flags`: the header's flags
// (kIrpUserRequest), set with the rest of the header; `queued_next`: see init_zeroed_irp.
[[gnu::always_inline]] inline IRP* allocate_irp_inline(CCHAR stack, uint32_t inline_buffer, uint16_t flags = 0,
                                                       bool queued_next = false) {
    if (stack <= kLookasideStack && inline_buffer <= kLookasideBuffer && t_irp_cache.free) [[likely]]
        return init_standard_irp(pop_from_lookaside(), stack, flags, queued_next);
    IRP* irp = allocate_irp_slow(stack, inline_buffer);
    if (irp && flags) header_of(irp)->flags |= flags;
    return irp;
}

}  // namespace ntio::io
