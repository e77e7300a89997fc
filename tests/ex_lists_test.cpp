// Executive lists: the ExInterlocked list routines (S-EX-1), sequenced lists (S-EX-2),
// lookaside lists (S-EX-3) and LOOKASIDE_LIST_EX (S-EX-8..10), with
// KeStallExecutionProcessor. Rules: docs/design.md,
// "Executive lists".
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "ntio/gtest.hpp"
#include "wdm.h"

namespace {

class ExLists : public ntio::testing::DriverTest {};

struct Node {
    LIST_ENTRY link;
    SINGLE_LIST_ENTRY single;
    int value;
};

// S-EX-1: each routine is one list operation under the caller's lock, callable at
// DISPATCH_LEVEL; insert and push return the former first (or last) entry, NULL when
// the list was empty.
TEST_F(ExLists, S_EX_1_InterlockedListRoutinesReturnTheFormerEnd) {
    LIST_ENTRY head;
    InitializeListHead(&head);
    KSPIN_LOCK lock;
    KeInitializeSpinLock(&lock);
    Node a{{}, {}, 1}, b{{}, {}, 2}, c{{}, {}, 3};
    EXPECT_EQ(ExInterlockedInsertTailList(&head, &a.link, &lock), nullptr);
    EXPECT_EQ(ExInterlockedInsertTailList(&head, &b.link, &lock), &a.link);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    EXPECT_EQ(ExInterlockedInsertHeadList(&head, &c.link, &lock), &a.link);  // c, a, b
    EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KeLowerIrql(old);
    EXPECT_EQ(ExInterlockedRemoveHeadList(&head, &lock), &c.link);
    EXPECT_EQ(ExInterlockedRemoveHeadList(&head, &lock), &a.link);
    EXPECT_EQ(ExInterlockedRemoveHeadList(&head, &lock), &b.link);
    EXPECT_EQ(ExInterlockedRemoveHeadList(&head, &lock), nullptr);
    EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);

    SINGLE_LIST_ENTRY stack{nullptr};
    EXPECT_EQ(ExInterlockedPushEntryList(&stack, &a.single, &lock), nullptr);
    EXPECT_EQ(ExInterlockedPushEntryList(&stack, &b.single, &lock), &a.single);
    EXPECT_EQ(ExInterlockedPopEntryList(&stack, &lock), &b.single);
    EXPECT_EQ(ExInterlockedPopEntryList(&stack, &lock), &a.single);
    EXPECT_EQ(ExInterlockedPopEntryList(&stack, &lock), nullptr);
}

// The lock makes concurrent producers and consumers safe: every node arrives once.
TEST_F(ExLists, S_EX_1_ConcurrentInsertsAndRemovesLoseNothing) {
    LIST_ENTRY head;
    InitializeListHead(&head);
    KSPIN_LOCK lock;
    KeInitializeSpinLock(&lock);
    constexpr int kPerThread = 20000;
    std::vector<Node> nodes(2 * kPerThread);
    std::atomic<int> removed{0};
    auto producer = [&](int first) {
        for (int i = first; i < first + kPerThread; ++i) ExInterlockedInsertTailList(&head, &nodes[i].link, &lock);
    };
    auto consumer = [&] {
        while (removed.load() < 2 * kPerThread)
            if (ExInterlockedRemoveHeadList(&head, &lock)) removed++;
    };
    std::thread p1(producer, 0), p2(producer, kPerThread), c(consumer);
    p1.join();
    p2.join();
    c.join();
    EXPECT_EQ(removed.load(), 2 * kPerThread);
    EXPECT_TRUE(IsListEmpty(&head));
}

// S-EX-2: an SList is last in, first out, counts its depth, and a flush takes the whole
// chain at once.
TEST_F(ExLists, S_EX_2_SListsPushPopAndFlush) {
    SLIST_HEADER head;
    InitializeSListHead(&head);
    EXPECT_EQ(InterlockedPopEntrySList(&head), nullptr);
    alignas(16) SLIST_ENTRY e[3];
    EXPECT_EQ(InterlockedPushEntrySList(&head, &e[0]), nullptr);
    EXPECT_EQ(InterlockedPushEntrySList(&head, &e[1]), &e[0]);
    EXPECT_EQ(ExInterlockedPushEntrySList(&head, &e[2], nullptr), &e[1]);
    EXPECT_EQ(QueryDepthSList(&head), 3);
    EXPECT_EQ(InterlockedPopEntrySList(&head), &e[2]);
    EXPECT_EQ(ExQueryDepthSList(&head), 2);
    PSLIST_ENTRY chain = InterlockedFlushSList(&head);
    ASSERT_EQ(chain, &e[1]);
    EXPECT_EQ(chain->Next, &e[0]);
    EXPECT_EQ(QueryDepthSList(&head), 0);
    EXPECT_EQ(InterlockedPopEntrySList(&head), nullptr);
    static_assert(alignof(SLIST_ENTRY) == 16 && alignof(SLIST_HEADER) == 16, "x64 alignment");
}

TEST_F(ExLists, S_EX_2_ConcurrentPushesAndPopsLoseNothing) {
    SLIST_HEADER head;
    InitializeSListHead(&head);
    constexpr int kEntries = 4096;
    std::vector<SLIST_ENTRY> entries(kEntries);
    std::atomic<int> popped{0};
    std::thread pusher([&] {
        for (auto& e : entries) InterlockedPushEntrySList(&head, &e);
    });
    std::thread popper([&] {
        while (popped.load() < kEntries / 2)
            if (InterlockedPopEntrySList(&head)) popped++;
    });
    pusher.join();
    popper.join();
    EXPECT_EQ(QueryDepthSList(&head), kEntries - kEntries / 2);
}

// S-EX-3: a lookaside list keeps freed blocks for the next allocation, counts hits and
// misses, keeps at most its depth and frees the rest, and its blocks are pool of the
// list's tag until the list is deleted.
TEST_F(ExLists, S_EX_3_LookasideListsReuseBlocksUpToTheirDepth) {
    constexpr ULONG kTag = 'tsiL';
    auto live = [&] {
        for (const auto& u : sys.pool_usage())
            if (u.tag == kTag) return u.allocations;
        return uint64_t{0};
    };
    NPAGED_LOOKASIDE_LIST list;
    ExInitializeNPagedLookasideList(&list, nullptr, nullptr, POOL_NX_ALLOCATION, 3, kTag, 0);
    static_assert(LOOKASIDE_MINIMUM_BLOCK_SIZE <= sizeof(SLIST_ENTRY), "a block holds the link");
    EXPECT_EQ(list.L.Size, sizeof(SLIST_ENTRY)) << "a block holds the list's link";
    PVOID first = ExAllocateFromNPagedLookasideList(&list);
    ASSERT_NE(first, nullptr);
    ExFreeToNPagedLookasideList(&list, first);
    EXPECT_EQ(live(), 1u) << "kept, not freed";
    EXPECT_EQ(ExAllocateFromNPagedLookasideList(&list), first) << "the kept block comes back";
    EXPECT_EQ(list.L.TotalAllocates, 2u);
    EXPECT_EQ(list.L.AllocateMisses, 1u);

    std::vector<PVOID> blocks{first};
    for (int i = 1; i < 300; ++i) blocks.push_back(ExAllocateFromNPagedLookasideList(&list));
    EXPECT_EQ(live(), 300u);
    for (PVOID b : blocks) ExFreeToNPagedLookasideList(&list, b);
    EXPECT_EQ(list.L.TotalFrees, 301u);
    EXPECT_EQ(list.L.FreeMisses, 300u - list.L.Depth);
    EXPECT_EQ(live(), list.L.Depth);
    ExDeleteNPagedLookasideList(&list);
    EXPECT_EQ(live(), 0u);
}

// The list's own routines allocate on a miss and free what it does not keep, and all it
// keeps when deleted; the paged form works the same below DISPATCH_LEVEL.
std::atomic<int> g_allocated{0}, g_freed{0};
PVOID counting_allocate(POOL_TYPE type, SIZE_T bytes, ULONG tag) {
    g_allocated++;
    return ExAllocatePoolWithTag(type, bytes, tag);
}
VOID counting_free(PVOID block) {
    g_freed++;
    ExFreePool(block);
}

TEST_F(ExLists, S_EX_3_TheListsRoutinesAllocateOnAMissAndFreeAtDelete) {
    g_allocated = g_freed = 0;
    PAGED_LOOKASIDE_LIST list;
    ExInitializePagedLookasideList(&list, counting_allocate, counting_free, 0, 64, 'gaPL', 0);
    PVOID a = ExAllocateFromPagedLookasideList(&list), b = ExAllocateFromPagedLookasideList(&list);
    EXPECT_EQ(g_allocated.load(), 2);
    ExFreeToPagedLookasideList(&list, a);
    ExFreeToPagedLookasideList(&list, b);
    EXPECT_EQ(ExAllocateFromPagedLookasideList(&list), b);
    EXPECT_EQ(g_allocated.load(), 2);
    EXPECT_EQ(g_freed.load(), 0);
    ExFreeToPagedLookasideList(&list, b);
    ExDeletePagedLookasideList(&list);
    EXPECT_EQ(g_freed.load(), 2);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    EXPECT_DRIVER_BUG("IRQL_NOT_LESS_OR_EQUAL", ExInitializePagedLookasideList(&list, nullptr, nullptr, 0, 8, 'gaPL', 0));
    KeLowerIrql(old);
}

// KeStallExecutionProcessor spins for real microseconds; no thread waits, so virtual
// time does not move.
TEST_F(ExLists, KeStallExecutionProcessorSpinsWithoutMovingVirtualTime) {
    ULONGLONG virtual_before = KeQueryInterruptTime();
    auto real_before = std::chrono::steady_clock::now();
    KeStallExecutionProcessor(2000);
    EXPECT_GE(std::chrono::steady_clock::now() - real_before, std::chrono::microseconds(2000));
    EXPECT_EQ(KeQueryInterruptTime(), virtual_before);
}

// ---- LOOKASIDE_LIST_EX (S-EX-8..10) -----------------------------------------------------

PVOID plain_allocate_ex(POOL_TYPE type, SIZE_T bytes, ULONG tag, PLOOKASIDE_LIST_EX) {
    return ExAllocatePoolWithTag(type, bytes, tag);
}

// S-EX-8: a pool type no lookaside list can have is STATUS_INVALID_PARAMETER_4, Flags other
// than 0 or one of the two flags STATUS_INVALID_PARAMETER_5; the rest initialize a list.
TEST_F(ExLists, S_EX_8_InitializeRefusesBadPoolTypesAndFlags) {
    LOOKASIDE_LIST_EX list;
    auto init = [&](int type, ULONG flags, PALLOCATE_FUNCTION_EX allocate = nullptr, SIZE_T size = 32) {
        return ExInitializeLookasideListEx(&list, allocate, nullptr, static_cast<POOL_TYPE>(type), flags, size,
                                           'xEsL', 0);
    };
    for (int bad : {int(NonPagedPoolMustSucceed), int(DontUseThisType), int(NonPagedPoolCacheAlignedMustS),
                    int(MaxPoolType), PagedPool | NonPagedPoolNx, NonPagedPool | POOL_RAISE_IF_ALLOCATION_FAILURE,
                    NonPagedPool | POOL_QUOTA_FAIL_INSTEAD_OF_RAISE, 0x100 /* POOL_COLD_ALLOCATION */})
        EXPECT_EQ(init(bad, 0), STATUS_INVALID_PARAMETER_4) << "pool type " << bad;
    for (ULONG bad : {ULONG(EX_LOOKASIDE_LIST_EX_FLAGS_RAISE_ON_FAIL | EX_LOOKASIDE_LIST_EX_FLAGS_FAIL_NO_RAISE),
                      ULONG(4), ULONG(0x80000000)})
        EXPECT_EQ(init(NonPagedPoolNx, bad), STATUS_INVALID_PARAMETER_5) << "flags " << bad;
    EXPECT_EQ(init(NonPagedPoolMustSucceed, 3), STATUS_INVALID_PARAMETER_4) << "the pool type is checked first";
    EXPECT_EQ(init(NonPagedPoolNx, 0, nullptr, SIZE_T(1) << 32), STATUS_INVALID_PARAMETER_6)
        << "an entry size the list's ULONG cannot hold";
    for (int good : {int(NonPagedPool), int(PagedPool), int(NonPagedPoolNx), int(NonPagedPoolCacheAligned),
                     int(PagedPoolCacheAligned), int(NonPagedPoolNxCacheAligned), int(PagedPoolSession),
                     int(NonPagedPoolSession) | int(NonPagedPoolNx)}) {
        for (ULONG flags : {ULONG(0), ULONG(EX_LOOKASIDE_LIST_EX_FLAGS_RAISE_ON_FAIL),
                            ULONG(EX_LOOKASIDE_LIST_EX_FLAGS_FAIL_NO_RAISE)}) {
            ASSERT_EQ(init(good, flags, plain_allocate_ex), STATUS_SUCCESS) << "pool type " << good << ", flags "
                                                                            << flags;
            ExDeleteLookasideListEx(&list);
        }
    }
    // Windows leaves the default allocation with FAIL_NO_RAISE undefined: accepted, and said.
    EXPECT_DRIVER_BUG("InvalidParameter",
                      EXPECT_EQ(init(NonPagedPoolNx, EX_LOOKASIDE_LIST_EX_FLAGS_FAIL_NO_RAISE), STATUS_SUCCESS));
    ExDeleteLookasideListEx(&list);
}

// The driver's data around its list, reached from the list the routines get.
struct ListOwner {
    int allocations = 0;
    int frees = 0;
    POOL_TYPE type_seen = NonPagedPool;
    SIZE_T size_seen = 0;
    ULONG tag_seen = 0;
    LOOKASIDE_LIST_EX list;
};

PVOID owner_allocate(POOL_TYPE type, SIZE_T bytes, ULONG tag, PLOOKASIDE_LIST_EX lookaside) {
    ListOwner* o = CONTAINING_RECORD(lookaside, ListOwner, list);
    o->allocations++;
    o->type_seen = type;
    o->size_seen = bytes;
    o->tag_seen = tag;
    // The flag bits are for a routine like this to pass on; the pool routine takes them.
    return ExAllocatePoolWithTag(type, bytes, tag);
}
VOID owner_free(PVOID block, PLOOKASIDE_LIST_EX lookaside) {
    CONTAINING_RECORD(lookaside, ListOwner, list)->frees++;
    ExFreePool(block);
}

// S-EX-9: the list's AllocateEx and FreeEx routines get the list itself (so the data around
// it), AllocateEx the pool type with the bit the list's Flags add; kept blocks are reused,
// at most Depth kept, the others go to FreeEx.
TEST_F(ExLists, S_EX_9_TheListsRoutinesGetTheListAndTheFlagsBits) {
    struct Case {
        ULONG flags;
        int type_bits;
    };
    for (Case c : {Case{0, 0}, Case{EX_LOOKASIDE_LIST_EX_FLAGS_RAISE_ON_FAIL, POOL_RAISE_IF_ALLOCATION_FAILURE},
                   Case{EX_LOOKASIDE_LIST_EX_FLAGS_FAIL_NO_RAISE, POOL_QUOTA_FAIL_INSTEAD_OF_RAISE}}) {
        ListOwner o;
        ASSERT_EQ(ExInitializeLookasideListEx(&o.list, owner_allocate, owner_free, PagedPool, c.flags, 40, 'xEwO', 0),
                  STATUS_SUCCESS);
        PVOID a = ExAllocateFromLookasideListEx(&o.list);
        ASSERT_NE(a, nullptr);
        EXPECT_EQ(o.allocations, 1);
        EXPECT_EQ(int(o.type_seen), PagedPool | c.type_bits) << "flags " << c.flags;
        EXPECT_EQ(o.size_seen, 40u);
        EXPECT_EQ(o.tag_seen, ULONG('xEwO'));
        ExFreeToLookasideListEx(&o.list, a);
        EXPECT_EQ(ExAllocateFromLookasideListEx(&o.list), a) << "the kept block comes back";
        EXPECT_EQ(o.allocations, 1);
        EXPECT_EQ(o.list.L.TotalAllocates, 2u);
        EXPECT_EQ(o.list.L.AllocateMisses, 1u);

        std::vector<PVOID> blocks{a};
        for (int i = 1; i < 300; ++i) blocks.push_back(ExAllocateFromLookasideListEx(&o.list));
        EXPECT_EQ(o.allocations, 300);
        for (PVOID b : blocks) ExFreeToLookasideListEx(&o.list, b);
        EXPECT_EQ(o.frees, 300 - o.list.L.Depth) << "FreeEx takes what the list does not keep";
        EXPECT_EQ(o.list.L.FreeMisses, 300u - o.list.L.Depth);
        ExDeleteLookasideListEx(&o.list);
        EXPECT_EQ(o.frees, 300) << "and all it kept at the delete";
    }
}

// S-EX-10: without routines, entries are pool of the list's type (aligned as that type is)
// and tag; ExFlushLookasideListEx frees the kept ones and the list goes on working; paged
// entries are refused above APC_LEVEL.
TEST_F(ExLists, S_EX_10_DefaultRoutinesAndFlush) {
    constexpr ULONG kTag = 'xEfD';
    auto live = [&] {
        for (const auto& u : sys.pool_usage())
            if (u.tag == kTag) return u.allocations;
        return uint64_t{0};
    };
    LOOKASIDE_LIST_EX list;
    ASSERT_EQ(ExInitializeLookasideListEx(&list, nullptr, nullptr, NonPagedPoolNxCacheAligned,
                                          EX_LOOKASIDE_LIST_EX_FLAGS_RAISE_ON_FAIL, 100, kTag, 0),
              STATUS_SUCCESS);
    std::vector<PVOID> blocks;
    for (int i = 0; i < 5; ++i) {
        blocks.push_back(ExAllocateFromLookasideListEx(&list));
        ASSERT_NE(blocks.back(), nullptr);
        EXPECT_EQ(reinterpret_cast<uintptr_t>(blocks.back()) % SYSTEM_CACHE_ALIGNMENT_SIZE, 0u) << "cache aligned";
    }
    EXPECT_EQ(live(), 5u);
    for (PVOID b : blocks) ExFreeToLookasideListEx(&list, b);
    EXPECT_EQ(live(), 5u) << "kept";
    ExFlushLookasideListEx(&list);
    EXPECT_EQ(live(), 0u) << "flushed back to pool";
    PVOID again = ExAllocateFromLookasideListEx(&list);
    ASSERT_NE(again, nullptr) << "a flushed list still works";
    EXPECT_EQ(list.L.AllocateMisses, 6u);
    ExFreeToLookasideListEx(&list, again);
    ExDeleteLookasideListEx(&list);
    EXPECT_EQ(live(), 0u);

    LOOKASIDE_LIST_EX paged;
    ASSERT_EQ(ExInitializeLookasideListEx(&paged, nullptr, nullptr, PagedPool, 0, 16, kTag, 0), STATUS_SUCCESS);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    PVOID p = nullptr;
    EXPECT_DRIVER_BUG("IRQL_NOT_LESS_OR_EQUAL", p = ExAllocateFromLookasideListEx(&paged));
    KeLowerIrql(old);
    if (p) ExFreeToLookasideListEx(&paged, p);
    ExDeleteLookasideListEx(&paged);
}

}  // namespace
