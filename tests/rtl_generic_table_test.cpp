// Generic tables and splay links (S-GT-1..6, docs/design.md): the splay table and the
// AVL table checked against a std::map, element layout and the allocate/free routines,
// enumeration with deletes, index order, the Full forms, and the AVL table's balance.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <vector>

#include "ntio/gtest.hpp"
#include "ntddk.h"

namespace {

struct Item {
    int key;
    int payload;
};

// What a table's routines saw, kept in the table's TableContext.
struct Context {
    std::map<void*, CLONG> blocks;  // live blocks from the allocate routine and their sizes
    std::vector<void*> freed;
    int compares = 0;
    bool fail_next_allocation = false;
};

Context& context_of(PVOID table_context) { return *static_cast<Context*>(table_context); }

RTL_GENERIC_COMPARE_RESULTS compare_keys(PVOID first, PVOID second) {
    int a = static_cast<Item*>(first)->key, b = static_cast<Item*>(second)->key;
    return a < b ? GenericLessThan : a > b ? GenericGreaterThan : GenericEqual;
}

PVOID allocate(Context& c, CLONG size) {
    if (c.fail_next_allocation) {
        c.fail_next_allocation = false;
        return nullptr;
    }
    void* p = std::malloc(size);
    c.blocks[p] = size;
    return p;
}

void release(Context& c, PVOID block) {
    EXPECT_EQ(c.blocks.count(block), 1u) << "the free routine gets the block the allocate routine gave";
    c.blocks.erase(block);
    c.freed.push_back(block);
    std::free(block);
}

RTL_GENERIC_COMPARE_ROUTINE SplayCompare;
RTL_GENERIC_ALLOCATE_ROUTINE SplayAllocate;
RTL_GENERIC_FREE_ROUTINE SplayFree;
RTL_GENERIC_COMPARE_RESULTS NTAPI SplayCompare(PRTL_GENERIC_TABLE t, PVOID a, PVOID b) {
    ++context_of(t->TableContext).compares;
    return compare_keys(a, b);
}
PVOID NTAPI SplayAllocate(PRTL_GENERIC_TABLE t, CLONG size) { return allocate(context_of(t->TableContext), size); }
VOID NTAPI SplayFree(PRTL_GENERIC_TABLE t, PVOID block) { release(context_of(t->TableContext), block); }

RTL_AVL_COMPARE_ROUTINE AvlCompare;
RTL_AVL_ALLOCATE_ROUTINE AvlAllocate;
RTL_AVL_FREE_ROUTINE AvlFree;
RTL_GENERIC_COMPARE_RESULTS NTAPI AvlCompare(PRTL_AVL_TABLE t, PVOID a, PVOID b) {
    ++context_of(t->TableContext).compares;
    return compare_keys(a, b);
}
PVOID NTAPI AvlAllocate(PRTL_AVL_TABLE t, CLONG size) { return allocate(context_of(t->TableContext), size); }
VOID NTAPI AvlFree(PRTL_AVL_TABLE t, PVOID block) { release(context_of(t->TableContext), block); }

class GenericTables : public ntio::testing::DriverTest {
protected:
    Context splay_ctx, avl_ctx;
    RTL_GENERIC_TABLE splay;
    RTL_AVL_TABLE avl;
    void SetUp() override {
        RtlInitializeGenericTable(&splay, SplayCompare, SplayAllocate, SplayFree, &splay_ctx);
        RtlInitializeGenericTableAvl(&avl, AvlCompare, AvlAllocate, AvlFree, &avl_ctx);
    }
    void TearDown() override {
        while (PVOID p = RtlGetElementGenericTable(&splay, 0)) RtlDeleteElementGenericTable(&splay, p);
        while (PVOID p = RtlGetElementGenericTableAvl(&avl, 0)) RtlDeleteElementGenericTableAvl(&avl, p);
        EXPECT_TRUE(splay_ctx.blocks.empty());
        EXPECT_TRUE(avl_ctx.blocks.empty());
        DriverTest::TearDown();
    }
    Item* insert_splay(int key, int payload = 0, BOOLEAN* is_new = nullptr) {
        Item item{key, payload};
        return static_cast<Item*>(RtlInsertElementGenericTable(&splay, &item, sizeof item, is_new));
    }
    Item* insert_avl(int key, int payload = 0, BOOLEAN* is_new = nullptr) {
        Item item{key, payload};
        return static_cast<Item*>(RtlInsertElementGenericTableAvl(&avl, &item, sizeof item, is_new));
    }
    std::vector<int> splay_keys() {
        std::vector<int> keys;
        PVOID restart = nullptr;
        while (auto* p = static_cast<Item*>(RtlEnumerateGenericTableWithoutSplaying(&splay, &restart)))
            keys.push_back(p->key);
        return keys;
    }
    std::vector<int> avl_keys() {
        std::vector<int> keys;
        PVOID restart = nullptr;
        while (auto* p = static_cast<Item*>(RtlEnumerateGenericTableWithoutSplayingAvl(&avl, &restart)))
            keys.push_back(p->key);
        return keys;
    }
};

// S-GT-1: an element is one block from the allocate routine, the header Windows uses
// (splay links + a list entry, or the balanced links) and then a copy of the caller's
// bytes; a duplicate is not inserted; the free routine gets the whole block back.
TEST_F(GenericTables, S_GT_1_ElementsAreAllocatedWithTheirHeaderAndFreedWhole) {
    BOOLEAN is_new = FALSE;
    Item* a = insert_splay(7, 70, &is_new);
    ASSERT_NE(a, nullptr);
    EXPECT_TRUE(is_new);
    ASSERT_EQ(splay_ctx.blocks.size(), 1u);
    auto [block, size] = *splay_ctx.blocks.begin();
    EXPECT_EQ(size, sizeof(RTL_SPLAY_LINKS) + sizeof(LIST_ENTRY) + sizeof(Item));
    EXPECT_EQ(reinterpret_cast<char*>(a), static_cast<char*>(block) + sizeof(RTL_SPLAY_LINKS) + sizeof(LIST_ENTRY))
        << "the caller's data follows the header";
    EXPECT_EQ(a->payload, 70);

    Item* again = insert_splay(7, 99, &is_new);
    EXPECT_EQ(again, a) << "an equal element is returned, not replaced";
    EXPECT_FALSE(is_new);
    EXPECT_EQ(a->payload, 70);
    EXPECT_EQ(splay_ctx.blocks.size(), 1u) << "no allocation for a duplicate";

    splay_ctx.fail_next_allocation = true;
    is_new = TRUE;
    EXPECT_EQ(insert_splay(8, 0, &is_new), nullptr) << "a failed allocation inserts nothing";
    EXPECT_FALSE(is_new);
    EXPECT_EQ(RtlNumberGenericTableElements(&splay), 1u);

    Item key{7, 0};
    EXPECT_TRUE(RtlDeleteElementGenericTable(&splay, &key));
    ASSERT_EQ(splay_ctx.freed.size(), 1u);
    EXPECT_EQ(splay_ctx.freed[0], block);
    EXPECT_FALSE(RtlDeleteElementGenericTable(&splay, &key)) << "nothing left to delete";
    EXPECT_TRUE(RtlIsGenericTableEmpty(&splay));

    Item* b = insert_avl(5, 50, &is_new);
    EXPECT_TRUE(is_new);
    ASSERT_EQ(avl_ctx.blocks.size(), 1u);
    auto [avl_block, avl_size] = *avl_ctx.blocks.begin();
    EXPECT_EQ(avl_size, sizeof(RTL_BALANCED_LINKS) + sizeof(Item));
    EXPECT_EQ(reinterpret_cast<char*>(b), static_cast<char*>(avl_block) + sizeof(RTL_BALANCED_LINKS));
    EXPECT_EQ(insert_avl(5, 0, &is_new), b);
    EXPECT_FALSE(is_new);
    avl_ctx.fail_next_allocation = true;
    EXPECT_EQ(insert_avl(6, 0, &is_new), nullptr);
    Item key5{5, 0};
    EXPECT_TRUE(RtlDeleteElementGenericTableAvl(&avl, &key5));
    ASSERT_EQ(avl_ctx.freed.size(), 1u);
    EXPECT_EQ(avl_ctx.freed[0], avl_block);
    EXPECT_TRUE(RtlIsGenericTableEmptyAvl(&avl));
}

// S-GT-2: the compare routine orders the elements; lookups find equal ones; both
// enumerations go in collation order, Restart beginning again.
TEST_F(GenericTables, S_GT_2_EnumerationIsInCollationOrder) {
    for (int k : {50, 20, 80, 10, 30, 70, 90, 60, 40}) {
        insert_splay(k, k * 2);
        insert_avl(k, k * 2);
    }
    std::vector<int> sorted{10, 20, 30, 40, 50, 60, 70, 80, 90};
    EXPECT_EQ(splay_keys(), sorted);
    EXPECT_EQ(avl_keys(), sorted);

    std::vector<int> seen;
    for (auto* p = static_cast<Item*>(RtlEnumerateGenericTable(&splay, TRUE)); p;
         p = static_cast<Item*>(RtlEnumerateGenericTable(&splay, FALSE)))
        seen.push_back(p->key);
    EXPECT_EQ(seen, sorted);
    seen.clear();
    for (auto* p = static_cast<Item*>(RtlEnumerateGenericTableAvl(&avl, TRUE)); p;
         p = static_cast<Item*>(RtlEnumerateGenericTableAvl(&avl, FALSE)))
        seen.push_back(p->key);
    EXPECT_EQ(seen, sorted);
    EXPECT_EQ(RtlEnumerateGenericTableAvl(&avl, FALSE), nullptr) << "the end stays the end";
    EXPECT_EQ(static_cast<Item*>(RtlEnumerateGenericTableAvl(&avl, TRUE))->key, 10) << "Restart begins again";

    // A splay lookup moves the element to the root: the enumeration goes on after it.
    Item key{60, 0};
    auto* found = static_cast<Item*>(RtlLookupElementGenericTable(&splay, &key));
    ASSERT_NE(found, nullptr);
    EXPECT_EQ(found->payload, 120);
    EXPECT_EQ(static_cast<Item*>(RtlEnumerateGenericTable(&splay, FALSE))->key, 70);
    EXPECT_EQ(static_cast<Item*>(RtlLookupElementGenericTableAvl(&avl, &key))->payload, 120);
    Item missing{65, 0};
    EXPECT_EQ(RtlLookupElementGenericTable(&splay, &missing), nullptr);
    EXPECT_EQ(RtlLookupElementGenericTableAvl(&avl, &missing), nullptr);
    EXPECT_EQ(RtlNumberGenericTableElements(&splay), 9u);
    EXPECT_EQ(RtlNumberGenericTableElementsAvl(&avl), 9u);
}

// S-GT-3: a splay table's index is insertion order, an AVL table's collation order;
// indexes after a deleted element move down one.
TEST_F(GenericTables, S_GT_3_IndexesFollowInsertionOrSortOrder) {
    for (int k : {30, 10, 20, 50, 40}) {
        insert_splay(k);
        insert_avl(k);
    }
    auto splay_at = [&](ULONG i) { return static_cast<Item*>(RtlGetElementGenericTable(&splay, i)); };
    auto avl_at = [&](ULONG i) { return static_cast<Item*>(RtlGetElementGenericTableAvl(&avl, i)); };
    std::vector<int> order;
    for (ULONG i = 0; i < 5; ++i) order.push_back(splay_at(i)->key);
    EXPECT_EQ(order, (std::vector<int>{30, 10, 20, 50, 40}));
    order.clear();
    for (ULONG i = 5; i-- > 0;) order.push_back(avl_at(i)->key);  // backwards, through the cache
    EXPECT_EQ(order, (std::vector<int>{50, 40, 30, 20, 10}));
    EXPECT_EQ(splay_at(5), nullptr);
    EXPECT_EQ(avl_at(5), nullptr);
    EXPECT_EQ(splay_at(0xFFFFFFFF), nullptr);

    EXPECT_EQ(splay_at(3)->key, 50);  // remember a place, then delete before it
    Item key{10, 0};
    RtlDeleteElementGenericTable(&splay, &key);
    RtlDeleteElementGenericTableAvl(&avl, &key);
    EXPECT_EQ(splay_at(2)->key, 50) << "later insertions moved down one";
    EXPECT_EQ(splay_at(3)->key, 40);
    EXPECT_EQ(avl_at(0)->key, 20);
    insert_avl(5);
    EXPECT_EQ(avl_at(0)->key, 5) << "an AVL insert renumbers what sorts after it";
    insert_splay(5);
    EXPECT_EQ(splay_at(4)->key, 5) << "a splay insert goes last";
}

// S-GT-4: deleting the element an AVL enumeration stands on moves the enumeration back
// to its predecessor, so enumerate-and-delete visits every element once; DeleteCount
// counts deletes. A splay table is emptied by enumerating from the start each time.
TEST_F(GenericTables, S_GT_4_DeletingWhileEnumerating) {
    for (int k = 1; k <= 20; ++k) {
        insert_splay(k);
        insert_avl(k);
    }
    std::vector<int> seen;
    for (auto* p = static_cast<Item*>(RtlEnumerateGenericTableAvl(&avl, TRUE)); p;
         p = static_cast<Item*>(RtlEnumerateGenericTableAvl(&avl, FALSE))) {
        seen.push_back(p->key);
        if (p->key % 2 == 1) {
            Item key = *p;
            EXPECT_TRUE(RtlDeleteElementGenericTableAvl(&avl, &key));
        }
    }
    ASSERT_EQ(seen.size(), 20u) << "each element once, deletes or not";
    for (int k = 1; k <= 20; ++k) EXPECT_EQ(seen[k - 1], k);
    EXPECT_EQ(avl.DeleteCount, 10u);
    EXPECT_EQ(RtlNumberGenericTableElementsAvl(&avl), 10u);
    EXPECT_EQ(avl_keys(), (std::vector<int>{2, 4, 6, 8, 10, 12, 14, 16, 18, 20}));

    int deleted = 0;
    for (auto* p = static_cast<Item*>(RtlEnumerateGenericTable(&splay, TRUE)); p;
         p = static_cast<Item*>(RtlEnumerateGenericTable(&splay, TRUE))) {
        EXPECT_EQ(p->key, deleted + 1) << "the first one each time";
        Item key = *p;
        EXPECT_TRUE(RtlDeleteElementGenericTable(&splay, &key));
        ++deleted;
    }
    EXPECT_EQ(deleted, 20);
    EXPECT_TRUE(RtlIsGenericTableEmpty(&splay));
}

// Prefix match: keys with the same tens digit compare equal.
RTL_AVL_COMPARE_ROUTINE TensCompare;
RTL_GENERIC_COMPARE_RESULTS NTAPI TensCompare(PRTL_AVL_TABLE, PVOID a, PVOID b) {
    int x = static_cast<Item*>(a)->key / 10, y = static_cast<Item*>(b)->key / 10;
    return x < y ? GenericLessThan : x > y ? GenericGreaterThan : GenericEqual;
}

// S-GT-5: a lookup's Full form tells where the element is or would go, and the insert's
// Full form puts it there without comparing again; the first matching element is the
// leftmost of the equal ones; RtlDeleteElementGenericTableAvlEx deletes a found node.
TEST_F(GenericTables, S_GT_5_FullFormsAndFirstMatch) {
    PVOID node = reinterpret_cast<PVOID>(1);
    TABLE_SEARCH_RESULT where;
    Item k40{40, 4};
    EXPECT_EQ(RtlLookupElementGenericTableFull(&splay, &k40, &node, &where), nullptr);
    EXPECT_EQ(where, TableEmptyTree);
    EXPECT_EQ(RtlLookupElementGenericTableFullAvl(&avl, &k40, &node, &where), nullptr);
    EXPECT_EQ(where, TableEmptyTree);
    for (int k : {20, 60}) {
        insert_splay(k);
        insert_avl(k);
    }
    splay_ctx.compares = avl_ctx.compares = 0;
    EXPECT_EQ(RtlLookupElementGenericTableFull(&splay, &k40, &node, &where), nullptr);
    EXPECT_TRUE(where == TableInsertAsLeft || where == TableInsertAsRight);
    int lookups = splay_ctx.compares;
    BOOLEAN is_new = FALSE;
    auto* put = static_cast<Item*>(RtlInsertElementGenericTableFull(&splay, &k40, sizeof k40, &is_new, node, where));
    EXPECT_TRUE(is_new);
    EXPECT_EQ(put->payload, 4);
    EXPECT_EQ(splay_ctx.compares, lookups) << "the Full insert does not search again";
    EXPECT_EQ(splay_keys(), (std::vector<int>{20, 40, 60}));
    EXPECT_EQ(RtlLookupElementGenericTableFull(&splay, &k40, &node, &where), put);
    EXPECT_EQ(where, TableFoundNode);

    EXPECT_EQ(RtlLookupElementGenericTableFullAvl(&avl, &k40, &node, &where), nullptr);
    lookups = avl_ctx.compares;
    put = static_cast<Item*>(RtlInsertElementGenericTableFullAvl(&avl, &k40, sizeof k40, &is_new, node, where));
    EXPECT_TRUE(is_new);
    EXPECT_EQ(avl_ctx.compares, lookups);
    EXPECT_EQ(avl_keys(), (std::vector<int>{20, 40, 60}));
    EXPECT_EQ(RtlLookupElementGenericTableFullAvl(&avl, &k40, &node, &where), put);
    EXPECT_EQ(where, TableFoundNode);
    RtlDeleteElementGenericTableAvlEx(&avl, node);
    EXPECT_EQ(avl_keys(), (std::vector<int>{20, 60}));
    EXPECT_EQ(avl_ctx.freed.size(), 1u);

    // First match: insert 31..39 under a key compare, then search by tens.
    for (int k = 39; k >= 31; --k) insert_avl(k);
    avl.CompareRoutine = TensCompare;
    Item probe{30, 0};
    PVOID restart = nullptr;
    auto* first = static_cast<Item*>(RtlLookupFirstMatchingElementGenericTableAvl(&avl, &probe, &restart));
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(first->key, 31);
    auto* next = static_cast<Item*>(RtlEnumerateGenericTableWithoutSplayingAvl(&avl, &restart));
    EXPECT_EQ(next->key, 32) << "the restart key goes on from the match";
    Item none{50, 0};
    EXPECT_EQ(RtlLookupFirstMatchingElementGenericTableAvl(&avl, &none, &restart), nullptr);
    EXPECT_EQ(restart, nullptr);
    avl.CompareRoutine = AvlCompare;
}

// ---- S-GT-6: the trees stay well formed under random inserts and deletes ---------------------

// Checks an AVL subtree's links and balances; returns its height.
int check_avl(PRTL_BALANCED_LINKS n, PRTL_BALANCED_LINKS parent, int& nodes) {
    if (!n) return 0;
    ++nodes;
    EXPECT_EQ(n->Parent, parent);
    int l = check_avl(n->LeftChild, n, nodes), r = check_avl(n->RightChild, n, nodes);
    EXPECT_EQ(n->Balance, r - l) << "Balance is the right height minus the left one";
    EXPECT_LE(std::abs(r - l), 1);
    return 1 + std::max(l, r);
}

int check_splay(PRTL_SPLAY_LINKS n, PRTL_SPLAY_LINKS parent, int& nodes) {
    if (!n) return 0;
    ++nodes;
    EXPECT_EQ(n->Parent, parent);
    int l = check_splay(n->LeftChild, n, nodes), r = check_splay(n->RightChild, n, nodes);
    return 1 + std::max(l, r);
}

TEST_F(GenericTables, S_GT_6_RandomOperationsMatchAMapAndTheAvlTreeStaysBalanced) {
    std::mt19937 rng(20240611);
    std::uniform_int_distribution<int> key_of(0, 3000), op_of(0, 99);
    std::map<int, int> oracle;
    int max_height = 0;
    for (int step = 0; step < 30000; ++step) {
        int key = key_of(rng), op = op_of(rng);
        Item item{key, step};
        // Grow for the first half, then shrink: inserts 60% then 35% of the time.
        if (op < (step < 15000 ? 60 : 35)) {
            BOOLEAN new_avl = FALSE, new_splay = FALSE;
            bool fresh = oracle.emplace(key, step).second;
            auto* a = static_cast<Item*>(RtlInsertElementGenericTableAvl(&avl, &item, sizeof item, &new_avl));
            auto* s = static_cast<Item*>(RtlInsertElementGenericTable(&splay, &item, sizeof item, &new_splay));
            ASSERT_EQ(bool(new_avl), fresh);
            ASSERT_EQ(bool(new_splay), fresh);
            ASSERT_EQ(a->payload, oracle[key]);
            ASSERT_EQ(s->payload, oracle[key]);
        } else if (op < 90) {
            bool present = oracle.erase(key) == 1;
            ASSERT_EQ(bool(RtlDeleteElementGenericTableAvl(&avl, &item)), present);
            ASSERT_EQ(bool(RtlDeleteElementGenericTable(&splay, &item)), present);
        } else {
            auto it = oracle.find(key);
            auto* a = static_cast<Item*>(RtlLookupElementGenericTableAvl(&avl, &item));
            auto* s = static_cast<Item*>(RtlLookupElementGenericTable(&splay, &item));
            ASSERT_EQ(a != nullptr, it != oracle.end());
            ASSERT_EQ(s != nullptr, it != oracle.end());
            if (a) {
                ASSERT_EQ(a->payload, it->second);
            }
            if (s) {
                ASSERT_EQ(s->payload, it->second);
            }
        }
        if (step % 500 == 499) {
            std::vector<int> expected;
            for (auto& [k, v] : oracle) expected.push_back(k);
            ASSERT_EQ(avl_keys(), expected);
            ASSERT_EQ(splay_keys(), expected);
            ASSERT_EQ(RtlNumberGenericTableElementsAvl(&avl), oracle.size());
            ASSERT_EQ(RtlNumberGenericTableElements(&splay), oracle.size());
            int nodes = 0;
            int height = check_avl(avl.BalancedRoot.RightChild, &avl.BalancedRoot, nodes);
            ASSERT_EQ(size_t(nodes), oracle.size());
            EXPECT_EQ(avl.DepthOfTree, ULONG(height)) << "DepthOfTree is the height";
            // An AVL tree of n nodes is at most 1.4405 log2(n + 2) - 0.3277 high.
            EXPECT_LE(height, 1.4405 * std::log2(double(oracle.size()) + 2) - 0.3277) << "at step " << step;
            max_height = std::max(max_height, height);
            nodes = 0;
            check_splay(splay.TableRoot, splay.TableRoot, nodes);  // the root is its own parent
            ASSERT_EQ(size_t(nodes), oracle.size());
            if (!oracle.empty()) {
                ULONG mid = ULONG(oracle.size() / 2);
                ASSERT_EQ(static_cast<Item*>(RtlGetElementGenericTableAvl(&avl, mid))->key,
                          std::next(oracle.begin(), mid)->first);
            }
        }
    }
    EXPECT_GT(max_height, 8) << "the test grew a real tree";
    RecordProperty("max_avl_height", max_height);
}

// S-GT-6: RtlSplay brings a node to the root keeping the order; RtlDelete removes one
// and returns the new root; the Real neighbours walk the whole tree.
TEST_F(GenericTables, S_GT_6_SplayLinks) {
    RTL_SPLAY_LINKS n[7];
    for (auto& l : n) RtlInitializeSplayLinks(&l);
    // A line 0 < 1 < ... < 6 hanging to the right: the worst shape.
    for (int i = 0; i < 6; ++i) RtlInsertAsRightChild(&n[i], &n[i + 1]);
    EXPECT_TRUE(RtlIsRoot(&n[0]));
    EXPECT_TRUE(RtlIsRightChild(&n[3]));
    PRTL_SPLAY_LINKS root = RtlSplay(&n[6]);
    EXPECT_EQ(root, &n[6]);
    EXPECT_TRUE(RtlIsRoot(&n[6]));
    int nodes = 0, height = check_splay(root, root, nodes);
    EXPECT_EQ(nodes, 7);
    EXPECT_LT(height, 7) << "splaying the deepest node shortens a line";
    std::vector<PRTL_SPLAY_LINKS> order;
    PRTL_SPLAY_LINKS first = root;
    while (first->LeftChild) first = first->LeftChild;
    for (PRTL_SPLAY_LINKS p = first; p; p = RtlRealSuccessor(p)) order.push_back(p);
    ASSERT_EQ(order.size(), 7u);
    for (int i = 0; i < 7; ++i) EXPECT_EQ(order[i], &n[i]);
    EXPECT_EQ(RtlRealPredecessor(&n[0]), nullptr);
    EXPECT_EQ(RtlRealPredecessor(&n[4]), &n[3]);

    root = RtlDelete(&n[3]);
    nodes = 0;
    check_splay(root, root, nodes);
    EXPECT_EQ(nodes, 6);
    first = root;
    while (first->LeftChild) first = first->LeftChild;
    order.clear();
    for (PRTL_SPLAY_LINKS p = first; p; p = RtlRealSuccessor(p)) order.push_back(p);
    EXPECT_EQ(order, (std::vector<PRTL_SPLAY_LINKS>{&n[0], &n[1], &n[2], &n[4], &n[5], &n[6]}));
    RtlDeleteNoSplay(&n[6], &root);
    nodes = 0;
    check_splay(root, root, nodes);
    EXPECT_EQ(nodes, 5);
}

}  // namespace
