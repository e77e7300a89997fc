// Executive lists: the ExInterlocked list routines (S-EX-1), sequenced lists (S-EX-2)
// and lookaside lists (S-EX-3), with KeStallExecutionProcessor. Rules: docs/design.md,
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

}  // namespace
