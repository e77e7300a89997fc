// Executive lists: the ExInterlocked list routines (a list operation under the caller's
// spin lock), sequenced lists (SLists) and lookaside lists built on them (S-EX-1..3,
// docs/design.md).
#include <chrono>
#include <cstring>

#include <sched.h>

#include <fmt/format.h>

#include "ex/objects.hpp"
#include "ex/pool.hpp"
#include "ke/spin.hpp"
#include "system.hpp"
#include "verifier/drivers.hpp"
#include "verifier/hooks.hpp"
#include "verifier/report.hpp"

using namespace ntio;

namespace {

// The caller's spin lock around one list operation, from any IRQL up to DISPATCH_LEVEL
// (above it the lock is taken where the caller already is). The parenthesized names
// call the functions, not the compat macros that would record this file as the site.
class ListLock {
public:
    explicit ListLock(PKSPIN_LOCK lock) : m_lock(lock), m_raised(KeGetCurrentIrql() <= DISPATCH_LEVEL) {
        if (m_raised) m_old = KeAcquireSpinLockRaiseToDpc(lock);
        else (KeAcquireSpinLockAtDpcLevel)(lock);
    }
    ~ListLock() {
        if (m_raised) (KeReleaseSpinLock)(m_lock, m_old);
        else (KeReleaseSpinLockFromDpcLevel)(m_lock);
    }
    ListLock(const ListLock&) = delete;
    ListLock& operator=(const ListLock&) = delete;

private:
    PKSPIN_LOCK m_lock;
    bool m_raised;
    KIRQL m_old = PASSIVE_LEVEL;
};

// An SList's own lock: a word in its header, held for a few instructions.
class SListLock {
public:
    explicit SListLock(PSLIST_HEADER h) : m_word(&h->NtioList.Lock) {
        while (__atomic_exchange_n(m_word, 1, __ATOMIC_ACQUIRE))
            for (unsigned spins = 0; __atomic_load_n(m_word, __ATOMIC_RELAXED);)
                if (++spins < 128) ke::cpu_relax();
                else sched_yield(), spins = 0;  // the holder was preempted (Linux may)
    }
    ~SListLock() { __atomic_store_n(m_word, 0, __ATOMIC_RELEASE); }
    SListLock(const SListLock&) = delete;
    SListLock& operator=(const SListLock&) = delete;

private:
    volatile LONG* m_word;
};

constexpr USHORT kLookasideDepth = 256;

void initialize_lookaside(PGENERAL_LOOKASIDE l, PALLOCATE_FUNCTION allocate, PFREE_FUNCTION free, SIZE_T size,
                          ULONG tag, POOL_TYPE type, const char* api) {
    std::memset(l, 0, sizeof(*l));
    InitializeSListHead(&l->ListHead);
    if (size > 0xFFFFFFFFull) {
        verifier::report(verifier::Check::InvalidParameter, fmt::format("{} with an entry size of {}", api, size));
        size = 0;
    }
    // Every block holds the list's link while it is kept.
    l->Size = static_cast<ULONG>(size < sizeof(SLIST_ENTRY) ? sizeof(SLIST_ENTRY) : size);
    l->Tag = tag;
    l->Type = type;
    l->Allocate = allocate;
    l->Free = free;
    l->Depth = l->MaximumDepth = kLookasideDepth;
    InitializeListHead(&l->ListEntry);
}

bool is_paged(POOL_TYPE t) { return (t & 1) != 0; }

// A block for the list's caller (`caller`: the driver's code, charged with the pool), from
// the list or, on a miss, from `allocate` (its Allocate/AllocateEx routine) or pool.
template <class Allocate>
PVOID allocate_block(PGENERAL_LOOKASIDE l, const void* caller, Allocate&& allocate) {
    __atomic_fetch_add(&l->TotalAllocates, 1, __ATOMIC_RELAXED);
    if (PVOID kept = InterlockedPopEntrySList(&l->ListHead)) return kept;
    __atomic_fetch_add(&l->AllocateMisses, 1, __ATOMIC_RELAXED);
    if (PVOID own = nullptr; allocate(own)) return own;
    uint32_t owner = verifier::pool_owner_hooks() ? verifier::drivers::attribute(caller) : 0;
    return sys().pool.allocate(l->Size, l->Tag, false, is_paged(l->Type), owner, (l->Type & 4) != 0);
}

// Keeps the block, or gives it to `discard` (the list's Free/FreeEx routine, or pool).
template <class Discard>
void release_block(PGENERAL_LOOKASIDE l, PVOID entry, Discard&& discard) {
    __atomic_fetch_add(&l->TotalFrees, 1, __ATOMIC_RELAXED);
    if (QueryDepthSList(&l->ListHead) < l->Depth) {
        InterlockedPushEntrySList(&l->ListHead, static_cast<PSLIST_ENTRY>(entry));
        return;
    }
    __atomic_fetch_add(&l->FreeMisses, 1, __ATOMIC_RELAXED);
    discard(entry);
}

// The classic lists' routines: Allocate(type, size, tag) and Free(block).
PVOID allocate_block(PGENERAL_LOOKASIDE l, const void* caller) {
    return allocate_block(l, caller, [l](PVOID& own) {
        if (!l->Allocate) return false;
        own = l->Allocate(l->Type, l->Size, l->Tag);
        return true;
    });
}
void discard_block(PGENERAL_LOOKASIDE l, PVOID entry, const char* api) {
    if (l->Free) l->Free(entry);
    else sys().pool.free(entry, l->Tag, true, api);
}
void release_block(PGENERAL_LOOKASIDE l, PVOID entry) {
    release_block(l, entry, [l](PVOID e) { discard_block(l, e, "ExFreeToLookasideList"); });
}

// LOOKASIDE_LIST_EX's routines also get the list.
void discard_block_ex(PLOOKASIDE_LIST_EX x, PVOID entry, const char* api) {
    if (x->L.FreeEx) x->L.FreeEx(entry, x);
    else sys().pool.free(entry, x->L.Tag, true, api);
}

// S-EX-8: the pool types a lookaside list's entries may have: paged or not, cache aligned
// or not, session or not, Nx (nonpaged only). Not the must-succeed types, and not the
// allocation modifiers, which are what Flags asks for.
bool valid_list_pool_type(POOL_TYPE t) {
    constexpr int kAllowed = PagedPool | NonPagedPoolCacheAligned | NonPagedPoolSession | NonPagedPoolNx;
    int v = t;
    return (v & ~kAllowed) == 0 && !((v & PagedPool) && (v & NonPagedPoolNx));
}

}  // namespace

void ex::delete_lookaside_blocks(PGENERAL_LOOKASIDE l) {
    for (PSLIST_ENTRY e = InterlockedFlushSList(&l->ListHead); e;) {
        PSLIST_ENTRY next = e->Next;
        discard_block(l, e, "ExDeleteLookasideList");
        e = next;
    }
}

void ex::delete_lookaside_ex_blocks(PLOOKASIDE_LIST_EX x, const char* api) {
    for (PSLIST_ENTRY e = InterlockedFlushSList(&x->L.ListHead); e;) {
        PSLIST_ENTRY next = e->Next;
        discard_block_ex(x, e, api);
        e = next;
    }
}

extern "C" {

// The add under the caller's spin lock (so the value also stays consistent with other
// code that updates it under that lock); returns the value before the add.
ULONG ExInterlockedAddUlong(PULONG Addend, ULONG Increment, PKSPIN_LOCK Lock) {
    ListLock g(Lock);
    ULONG before = *Addend;
    *Addend = before + Increment;
    return before;
}

LARGE_INTEGER ExInterlockedAddLargeInteger(PLARGE_INTEGER Addend, LARGE_INTEGER Increment, PKSPIN_LOCK Lock) {
    ListLock g(Lock);
    LARGE_INTEGER before = *Addend;
    Addend->QuadPart = static_cast<LONGLONG>(static_cast<ULONGLONG>(before.QuadPart) +
                                             static_cast<ULONGLONG>(Increment.QuadPart));
    return before;
}

PLIST_ENTRY ExInterlockedInsertHeadList(PLIST_ENTRY ListHead, PLIST_ENTRY ListEntry, PKSPIN_LOCK Lock) {
    ListLock g(Lock);
    PLIST_ENTRY first = ListHead->Flink;
    InsertHeadList(ListHead, ListEntry);
    return first == ListHead ? nullptr : first;
}

PLIST_ENTRY ExInterlockedInsertTailList(PLIST_ENTRY ListHead, PLIST_ENTRY ListEntry, PKSPIN_LOCK Lock) {
    ListLock g(Lock);
    PLIST_ENTRY last = ListHead->Blink;
    InsertTailList(ListHead, ListEntry);
    return last == ListHead ? nullptr : last;
}

PLIST_ENTRY ExInterlockedRemoveHeadList(PLIST_ENTRY ListHead, PKSPIN_LOCK Lock) {
    ListLock g(Lock);
    return IsListEmpty(ListHead) ? nullptr : RemoveHeadList(ListHead);
}

PSINGLE_LIST_ENTRY ExInterlockedPushEntryList(PSINGLE_LIST_ENTRY ListHead, PSINGLE_LIST_ENTRY ListEntry,
                                              PKSPIN_LOCK Lock) {
    ListLock g(Lock);
    PSINGLE_LIST_ENTRY first = ListHead->Next;
    PushEntryList(ListHead, ListEntry);
    return first;
}

PSINGLE_LIST_ENTRY ExInterlockedPopEntryList(PSINGLE_LIST_ENTRY ListHead, PKSPIN_LOCK Lock) {
    ListLock g(Lock);
    return PopEntryList(ListHead);
}

VOID InitializeSListHead(PSLIST_HEADER SListHead) { std::memset(SListHead, 0, sizeof(*SListHead)); }

PSLIST_ENTRY InterlockedPushEntrySList(PSLIST_HEADER ListHead, PSLIST_ENTRY ListEntry) {
    SListLock g(ListHead);
    PSLIST_ENTRY first = ListHead->NtioList.Next;
    ListEntry->Next = first;
    ListHead->NtioList.Next = ListEntry;
    ++ListHead->NtioList.Depth;
    ++ListHead->NtioList.Sequence;
    return first;
}

PSLIST_ENTRY InterlockedPopEntrySList(PSLIST_HEADER ListHead) {
    SListLock g(ListHead);
    PSLIST_ENTRY first = ListHead->NtioList.Next;
    if (!first) return nullptr;
    ListHead->NtioList.Next = first->Next;
    --ListHead->NtioList.Depth;
    ++ListHead->NtioList.Sequence;
    return first;
}

PSLIST_ENTRY InterlockedFlushSList(PSLIST_HEADER ListHead) {
    SListLock g(ListHead);
    PSLIST_ENTRY first = ListHead->NtioList.Next;
    ListHead->NtioList.Next = nullptr;
    ListHead->NtioList.Depth = 0;
    ++ListHead->NtioList.Sequence;
    return first;
}

USHORT QueryDepthSList(PSLIST_HEADER ListHead) {
    return __atomic_load_n(&ListHead->NtioList.Depth, __ATOMIC_RELAXED);
}

VOID ExInitializeNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside, PALLOCATE_FUNCTION Allocate,
                                     PFREE_FUNCTION Free, ULONG Flags, SIZE_T Size, ULONG Tag, USHORT Depth) {
    (void)Flags;
    (void)Depth;  // Windows ignores it too: the system chooses the depth
    verifier::check_irql_at_most(DISPATCH_LEVEL, "ExInitializeNPagedLookasideList");
    initialize_lookaside(&Lookaside->L, Allocate, Free, Size, Tag, NonPagedPoolNx, "ExInitializeNPagedLookasideList");
    verifier::drivers::ex_object_initialized(Lookaside, verifier::drivers::ExObject::npaged_lookaside,
                                             __builtin_return_address(0));
}

VOID ExDeleteNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside) {
    verifier::check_irql_at_most(DISPATCH_LEVEL, "ExDeleteNPagedLookasideList");
    verifier::drivers::ex_object_deleted(Lookaside);
    ex::delete_lookaside_blocks(&Lookaside->L);
}

PVOID ExAllocateFromNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside) {
    verifier::check_irql_at_most(DISPATCH_LEVEL, "ExAllocateFromNPagedLookasideList");
    return allocate_block(&Lookaside->L, __builtin_return_address(0));
}

VOID ExFreeToNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside, PVOID Entry) {
    verifier::check_irql_at_most(DISPATCH_LEVEL, "ExFreeToNPagedLookasideList");
    release_block(&Lookaside->L, Entry);
}

VOID ExInitializePagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside, PALLOCATE_FUNCTION Allocate, PFREE_FUNCTION Free,
                                    ULONG Flags, SIZE_T Size, ULONG Tag, USHORT Depth) {
    (void)Flags;
    (void)Depth;
    verifier::check_irql_at_most(APC_LEVEL, "ExInitializePagedLookasideList");
    initialize_lookaside(&Lookaside->L, Allocate, Free, Size, Tag, PagedPool, "ExInitializePagedLookasideList");
    verifier::drivers::ex_object_initialized(Lookaside, verifier::drivers::ExObject::paged_lookaside,
                                             __builtin_return_address(0));
}

VOID ExDeletePagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside) {
    verifier::check_irql_at_most(APC_LEVEL, "ExDeletePagedLookasideList");
    verifier::drivers::ex_object_deleted(Lookaside);
    ex::delete_lookaside_blocks(&Lookaside->L);
}

PVOID ExAllocateFromPagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside) {
    verifier::check_irql_at_most(APC_LEVEL, "ExAllocateFromPagedLookasideList");
    return allocate_block(&Lookaside->L, __builtin_return_address(0));
}

VOID ExFreeToPagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside, PVOID Entry) {
    verifier::check_irql_at_most(APC_LEVEL, "ExFreeToPagedLookasideList");
    release_block(&Lookaside->L, Entry);
}

// A spin on the real clock: nothing waits, so the virtual clock does not move.
VOID KeStallExecutionProcessor(ULONG MicroSeconds) {
    auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(MicroSeconds);
    while (std::chrono::steady_clock::now() < until) ke::cpu_relax();
}

// ---- LOOKASIDE_LIST_EX (S-EX-8..11) ----------------------------------------------------

NTSTATUS ExInitializeLookasideListEx(PLOOKASIDE_LIST_EX Lookaside, PALLOCATE_FUNCTION_EX Allocate,
                                     PFREE_FUNCTION_EX Free, POOL_TYPE PoolType, ULONG Flags, SIZE_T Size, ULONG Tag,
                                     USHORT Depth) {
    (void)Depth;  // reserved, as the classic lists' depth: the system chooses it
    verifier::check_irql_at_most(DISPATCH_LEVEL, "ExInitializeLookasideListEx");
    constexpr ULONG kFlags = EX_LOOKASIDE_LIST_EX_FLAGS_RAISE_ON_FAIL | EX_LOOKASIDE_LIST_EX_FLAGS_FAIL_NO_RAISE;
    if (!valid_list_pool_type(PoolType)) return STATUS_INVALID_PARAMETER_4;
    if ((Flags & ~kFlags) || Flags == kFlags) return STATUS_INVALID_PARAMETER_5;  // the two exclude each other
    // The entry size is a ULONG in the list; Windows documents no error for a larger one,
    // ntio refuses it rather than hand out blocks smaller than asked for.
    if (Size > 0xFFFFFFFFull) return STATUS_INVALID_PARAMETER_6;
    if (!Allocate && (Flags & EX_LOOKASIDE_LIST_EX_FLAGS_FAIL_NO_RAISE))
        verifier::report(verifier::Check::InvalidParameter,
                         "ExInitializeLookasideListEx: EX_LOOKASIDE_LIST_EX_FLAGS_FAIL_NO_RAISE with no Allocate "
                         "routine; Windows leaves the default allocation's behavior undefined (ntio's returns NULL "
                         "when it fails). Pass the flag only with an AllocateEx routine that charges quota");
    int type = PoolType;
    if (Flags & EX_LOOKASIDE_LIST_EX_FLAGS_RAISE_ON_FAIL) type |= POOL_RAISE_IF_ALLOCATION_FAILURE;
    if (Flags & EX_LOOKASIDE_LIST_EX_FLAGS_FAIL_NO_RAISE) type |= POOL_QUOTA_FAIL_INSTEAD_OF_RAISE;
    initialize_lookaside(&Lookaside->L, nullptr, nullptr, Size, Tag, static_cast<POOL_TYPE>(type),
                         "ExInitializeLookasideListEx");
    Lookaside->L.AllocateEx = Allocate;
    Lookaside->L.FreeEx = Free;
    verifier::drivers::ex_object_initialized(Lookaside, verifier::drivers::ExObject::lookaside_ex,
                                             __builtin_return_address(0));
    return STATUS_SUCCESS;
}

VOID ExDeleteLookasideListEx(PLOOKASIDE_LIST_EX Lookaside) {
    verifier::check_irql_at_most(DISPATCH_LEVEL, "ExDeleteLookasideListEx");
    verifier::drivers::ex_object_deleted(Lookaside);
    ex::delete_lookaside_ex_blocks(Lookaside, "ExDeleteLookasideListEx");
}

// S-EX-10: the kept entries are freed; the list stays initialized.
VOID ExFlushLookasideListEx(PLOOKASIDE_LIST_EX Lookaside) {
    verifier::check_irql_at_most(DISPATCH_LEVEL, "ExFlushLookasideListEx");
    ex::delete_lookaside_ex_blocks(Lookaside, "ExFlushLookasideListEx");
}

PVOID ExAllocateFromLookasideListEx(PLOOKASIDE_LIST_EX Lookaside) {
    PGENERAL_LOOKASIDE l = &Lookaside->L;
    verifier::check_irql_at_most(is_paged(l->Type) ? APC_LEVEL : DISPATCH_LEVEL, "ExAllocateFromLookasideListEx");
    PVOID p = allocate_block(l, __builtin_return_address(0), [Lookaside, l](PVOID& own) {
        if (!l->AllocateEx) return false;
        own = l->AllocateEx(l->Type, l->Size, l->Tag, Lookaside);
        return true;
    });
    // The routine's failure is its own to raise (it was given the type with the flag).
    if (!p && !l->AllocateEx && (l->Type & POOL_RAISE_IF_ALLOCATION_FAILURE)) [[unlikely]]
        ex::raise_for_failed_allocation("ExAllocateFromLookasideListEx",
                                        "EX_LOOKASIDE_LIST_EX_FLAGS_RAISE_ON_FAIL");
    return p;
}

VOID ExFreeToLookasideListEx(PLOOKASIDE_LIST_EX Lookaside, PVOID Entry) {
    verifier::check_irql_at_most(is_paged(Lookaside->L.Type) ? APC_LEVEL : DISPATCH_LEVEL, "ExFreeToLookasideListEx");
    release_block(&Lookaside->L, Entry,
                  [Lookaside](PVOID e) { discard_block_ex(Lookaside, e, "ExFreeToLookasideListEx"); });
}

}  // extern "C"
