// Splay links and the generic tables of ntddk.h (S-GT-1..6, docs/design.md).
//
// An element is one block from the table's AllocateRoutine: the table's header (splay
// links and the insertion-order list entry, or the AVL links) and then the caller's
// bytes, which is what every routine returns and what the CompareRoutine sees. Elements
// never move, so a pointer to the caller's data stays valid until that element is
// deleted; the FreeRoutine gets the whole block back. Nothing here locks: callers
// serialize, as on Windows.
#include <cstddef>
#include <cstring>

#include <fmt/format.h>

#include "ntddk.h"
#include "verifier/report.hpp"

namespace {

// ---- the elements' headers, with the caller's data where Windows puts it --------------------
struct SplayElement {
    RTL_SPLAY_LINKS links;
    LIST_ENTRY insert_order;
    LONGLONG data;  // the caller's bytes start here (8-aligned, as on x64 Windows)
};
struct AvlElement {
    RTL_BALANCED_LINKS links;
    LONGLONG data;
};
constexpr CLONG kSplayHeader = offsetof(SplayElement, data);  // 40 on x64
constexpr CLONG kAvlHeader = offsetof(AvlElement, data);      // 32 on x64

PVOID data_of(PRTL_SPLAY_LINKS n) { return &reinterpret_cast<SplayElement*>(n)->data; }
PVOID data_of(PRTL_BALANCED_LINKS n) { return &reinterpret_cast<AvlElement*>(n)->data; }
PLIST_ENTRY order_of(PRTL_SPLAY_LINKS n) { return &reinterpret_cast<SplayElement*>(n)->insert_order; }
PRTL_SPLAY_LINKS splay_of(PLIST_ENTRY e) {
    return &reinterpret_cast<SplayElement*>(reinterpret_cast<char*>(e) - offsetof(SplayElement, insert_order))->links;
}

// The element's whole size, or 0 (reported) when it does not fit a CLONG: Windows would
// wrap around and copy the caller's bytes past a small block.
CLONG element_size(CLONG header, CLONG size, const char* api) {
    if (size <= 0xFFFFFFFFu - header) return header + size;
    ntio::verifier::report(ntio::verifier::Check::InvalidParameter,
                           fmt::format("{}: BufferSize {} and the element header do not fit a CLONG; nothing was "
                                       "inserted",
                                       api, size));
    return 0;
}

// ---- splay trees --------------------------------------------------------------------------------
using Splay = RTL_SPLAY_LINKS;

bool is_root(Splay* x) { return x->Parent == x; }

// Puts `y` (maybe NULL) where `x` hangs: under x's parent, or at the root.
void replace_child(Splay* x, Splay* y, Splay** root) {
    if (is_root(x)) {
        *root = y;
        if (y) y->Parent = y;
        return;
    }
    Splay* p = x->Parent;
    if (p->LeftChild == x) p->LeftChild = y;
    else p->RightChild = y;
    if (y) y->Parent = p;
}

// Lifts x above its parent, keeping the in-order sequence.
void rotate_up(Splay* x) {
    Splay* p = x->Parent;
    Splay* root_unused = nullptr;
    if (p->LeftChild == x) {
        p->LeftChild = x->RightChild;
        if (x->RightChild) x->RightChild->Parent = p;
        replace_child(p, x, &root_unused);
        x->RightChild = p;
    } else {
        p->RightChild = x->LeftChild;
        if (x->LeftChild) x->LeftChild->Parent = p;
        replace_child(p, x, &root_unused);
        x->LeftChild = p;
    }
    p->Parent = x;
}

Splay* leftmost(Splay* x) {
    while (x->LeftChild) x = x->LeftChild;
    return x;
}
Splay* rightmost(Splay* x) {
    while (x->RightChild) x = x->RightChild;
    return x;
}

// Unlinks x; returns the node below which the tree changed (NULL when x was the root
// with at most one child), the one RtlDelete splays.
Splay* unlink(Splay* x, Splay** root) {
    if (!x->LeftChild || !x->RightChild) {
        Splay* parent = is_root(x) ? nullptr : x->Parent;
        replace_child(x, x->LeftChild ? x->LeftChild : x->RightChild, root);
        return parent;
    }
    // Two children: the in-order predecessor y (no right child) takes x's place.
    Splay* y = rightmost(x->LeftChild);
    Splay* changed = y;
    if (y != x->LeftChild) {
        changed = y->Parent;
        changed->RightChild = y->LeftChild;
        if (y->LeftChild) y->LeftChild->Parent = changed;
        y->LeftChild = x->LeftChild;
        y->LeftChild->Parent = y;
    }
    y->RightChild = x->RightChild;
    y->RightChild->Parent = y;
    replace_child(x, y, root);
    return changed;
}

Splay* root_of(Splay* x) {
    while (!is_root(x)) x = x->Parent;
    return x;
}

// ---- splay generic tables -------------------------------------------------------------------
TABLE_SEARCH_RESULT find(PRTL_GENERIC_TABLE t, PVOID key, Splay** node_or_parent) {
    Splay* n = t->TableRoot;
    *node_or_parent = nullptr;
    if (!n) return TableEmptyTree;
    for (;;) {
        RTL_GENERIC_COMPARE_RESULTS r = t->CompareRoutine(t, key, data_of(n));
        Splay* next = r == GenericLessThan ? n->LeftChild : r == GenericGreaterThan ? n->RightChild : nullptr;
        if (r == GenericEqual) {
            *node_or_parent = n;
            return TableFoundNode;
        }
        if (!next) {
            *node_or_parent = n;
            return r == GenericLessThan ? TableInsertAsLeft : TableInsertAsRight;
        }
        n = next;
    }
}

// Forgets RtlGetElementGenericTable's place after a delete (indexes shift).
void reset_order_cache(PRTL_GENERIC_TABLE t) {
    t->OrderedPointer = &t->InsertOrderList;
    t->WhichOrderedElement = 0;
}

// ---- AVL trees: Balance = height(right) - height(left), kept in -1..1 ------------------------
using Avl = RTL_BALANCED_LINKS;

Avl* sentinel(PRTL_AVL_TABLE t) { return &t->BalancedRoot; }
Avl* avl_root(PRTL_AVL_TABLE t) { return t->BalancedRoot.RightChild; }

void set_child(Avl* parent, Avl* old_child, Avl* new_child) {
    // The sentinel holds the root as its right child and never a left one.
    if (parent->LeftChild == old_child) parent->LeftChild = new_child;
    else parent->RightChild = new_child;
    if (new_child) new_child->Parent = parent;
}

// Single rotations with the balance update that holds for any balances before them.
Avl* rotate_left(Avl* a) {
    Avl* b = a->RightChild;
    set_child(a->Parent, a, b);
    a->RightChild = b->LeftChild;
    if (a->RightChild) a->RightChild->Parent = a;
    b->LeftChild = a;
    a->Parent = b;
    a->Balance = static_cast<CHAR>(a->Balance - 1 - (b->Balance > 0 ? b->Balance : 0));
    b->Balance = static_cast<CHAR>(b->Balance - 1 + (a->Balance < 0 ? a->Balance : 0));
    return b;
}
Avl* rotate_right(Avl* a) {
    Avl* b = a->LeftChild;
    set_child(a->Parent, a, b);
    a->LeftChild = b->RightChild;
    if (a->LeftChild) a->LeftChild->Parent = a;
    b->RightChild = a;
    a->Parent = b;
    a->Balance = static_cast<CHAR>(a->Balance + 1 - (b->Balance < 0 ? b->Balance : 0));
    b->Balance = static_cast<CHAR>(b->Balance + 1 + (a->Balance > 0 ? a->Balance : 0));
    return b;
}

// Restores a node whose balance reached +-2; returns the subtree's new top.
Avl* rebalance(Avl* n) {
    if (n->Balance > 0) {
        if (n->RightChild->Balance < 0) rotate_right(n->RightChild);
        return rotate_left(n);
    }
    if (n->LeftChild->Balance > 0) rotate_left(n->LeftChild);
    return rotate_right(n);
}

Avl* avl_leftmost(Avl* x) {
    while (x->LeftChild) x = x->LeftChild;
    return x;
}
Avl* avl_rightmost(Avl* x) {
    while (x->RightChild) x = x->RightChild;
    return x;
}
Avl* avl_successor(PRTL_AVL_TABLE t, Avl* x) {
    if (x->RightChild) return avl_leftmost(x->RightChild);
    while (x->Parent != sentinel(t) && x->Parent->RightChild == x) x = x->Parent;
    return x->Parent == sentinel(t) ? nullptr : x->Parent;
}
Avl* avl_predecessor(PRTL_AVL_TABLE t, Avl* x) {
    if (x->LeftChild) return avl_rightmost(x->LeftChild);
    while (x->Parent != sentinel(t) && x->Parent->LeftChild == x) x = x->Parent;
    return x->Parent == sentinel(t) ? nullptr : x->Parent;
}

TABLE_SEARCH_RESULT avl_find(PRTL_AVL_TABLE t, PVOID key, Avl** node_or_parent) {
    Avl* n = avl_root(t);
    *node_or_parent = nullptr;
    if (!n) return TableEmptyTree;
    for (;;) {
        RTL_GENERIC_COMPARE_RESULTS r = t->CompareRoutine(t, key, data_of(n));
        if (r == GenericEqual) {
            *node_or_parent = n;
            return TableFoundNode;
        }
        Avl* next = r == GenericLessThan ? n->LeftChild : n->RightChild;
        if (!next) {
            *node_or_parent = n;
            return r == GenericLessThan ? TableInsertAsLeft : TableInsertAsRight;
        }
        n = next;
    }
}

void avl_reset_order_cache(PRTL_AVL_TABLE t) {
    t->OrderedPointer = nullptr;
    t->WhichOrderedElement = 0;
}

// Links a new node under `parent` and walks up while the subtree grew.
void avl_link(PRTL_AVL_TABLE t, Avl* n, Avl* parent, TABLE_SEARCH_RESULT where) {
    n->Parent = parent;
    n->LeftChild = n->RightChild = nullptr;
    n->Balance = 0;
    if (where == TableInsertAsLeft) parent->LeftChild = n;
    else parent->RightChild = n;  // TableEmptyTree: parent is the sentinel
    Avl* child = n;
    Avl* node = parent;
    while (node != sentinel(t)) {
        node->Balance = static_cast<CHAR>(node->Balance + (child == node->LeftChild ? -1 : 1));
        if (node->Balance == 0) return;  // the shorter side caught up: height unchanged
        if (node->Balance == 2 || node->Balance == -2) {
            rebalance(node);  // after an insert a rotation restores the old height
            return;
        }
        child = node;
        node = node->Parent;
    }
    ++t->DepthOfTree;  // the growth reached the root
}

// Unlinks x and walks up while the subtree shrank.
void avl_unlink(PRTL_AVL_TABLE t, Avl* x) {
    Avl* start;     // the lowest node whose subtree lost height...
    bool left_side; // ...on this side
    if (!x->LeftChild || !x->RightChild) {
        start = x->Parent;
        left_side = start->LeftChild == x;
        set_child(start, x, x->LeftChild ? x->LeftChild : x->RightChild);
    } else {
        // Two children: the in-order successor y (no left child) takes x's place and balance.
        Avl* y = avl_leftmost(x->RightChild);
        if (y == x->RightChild) {
            start = y;
            left_side = false;
        } else {
            start = y->Parent;
            left_side = true;
            start->LeftChild = y->RightChild;
            if (y->RightChild) y->RightChild->Parent = start;
            y->RightChild = x->RightChild;
            y->RightChild->Parent = y;
        }
        y->LeftChild = x->LeftChild;
        y->LeftChild->Parent = y;
        y->Balance = x->Balance;
        set_child(x->Parent, x, y);
    }
    Avl* node = start;
    while (node != sentinel(t)) {
        node->Balance = static_cast<CHAR>(node->Balance + (left_side ? 1 : -1));
        if (node->Balance == 1 || node->Balance == -1) return;  // was even: height unchanged
        Avl* parent = node->Parent;
        bool was_left = parent->LeftChild == node;
        if (node->Balance != 0) {
            Avl* top = rebalance(node);
            if (top->Balance != 0) return;  // a single rotation of an even child keeps the height
        }
        node = parent;
        left_side = was_left;
    }
    --t->DepthOfTree;  // the loss reached the root
}

void avl_delete_node(PRTL_AVL_TABLE t, Avl* x) {
    // An enumeration positioned on x goes on from its predecessor (the first element
    // when it has none), so deleting as one enumerates skips nothing.
    if (t->RestartKey == x) t->RestartKey = avl_predecessor(t, x);
    ++t->DeleteCount;
    avl_unlink(t, x);
    --t->NumberGenericTableElements;
    avl_reset_order_cache(t);
    t->FreeRoutine(t, x);
}

}  // namespace

extern "C" {

// ---- splay links --------------------------------------------------------------------------------

PRTL_SPLAY_LINKS RtlSplay(PRTL_SPLAY_LINKS Links) {
    Splay* x = Links;
    while (!is_root(x)) {
        Splay* p = x->Parent;
        if (is_root(p)) {
            rotate_up(x);  // zig
        } else if ((p->Parent->LeftChild == p) == (p->LeftChild == x)) {
            rotate_up(p);  // zig-zig: the parent first
            rotate_up(x);
        } else {
            rotate_up(x);  // zig-zag
            rotate_up(x);
        }
    }
    return x;
}

PRTL_SPLAY_LINKS RtlDelete(PRTL_SPLAY_LINKS Links) {
    Splay* root = root_of(Links);
    Splay* changed = unlink(Links, &root);
    return changed ? RtlSplay(changed) : root;
}

VOID RtlDeleteNoSplay(PRTL_SPLAY_LINKS Links, PRTL_SPLAY_LINKS* Root) { unlink(Links, Root); }

PRTL_SPLAY_LINKS RtlSubtreeSuccessor(PRTL_SPLAY_LINKS Links) {
    return Links->RightChild ? leftmost(Links->RightChild) : nullptr;
}

PRTL_SPLAY_LINKS RtlSubtreePredecessor(PRTL_SPLAY_LINKS Links) {
    return Links->LeftChild ? rightmost(Links->LeftChild) : nullptr;
}

PRTL_SPLAY_LINKS RtlRealSuccessor(PRTL_SPLAY_LINKS Links) {
    if (Links->RightChild) return leftmost(Links->RightChild);
    Splay* x = Links;
    while (!is_root(x) && x->Parent->RightChild == x) x = x->Parent;
    return is_root(x) ? nullptr : x->Parent;
}

PRTL_SPLAY_LINKS RtlRealPredecessor(PRTL_SPLAY_LINKS Links) {
    if (Links->LeftChild) return rightmost(Links->LeftChild);
    Splay* x = Links;
    while (!is_root(x) && x->Parent->LeftChild == x) x = x->Parent;
    return is_root(x) ? nullptr : x->Parent;
}

// ---- splay generic tables -------------------------------------------------------------------

VOID RtlInitializeGenericTable(PRTL_GENERIC_TABLE Table, PRTL_GENERIC_COMPARE_ROUTINE CompareRoutine,
                               PRTL_GENERIC_ALLOCATE_ROUTINE AllocateRoutine, PRTL_GENERIC_FREE_ROUTINE FreeRoutine,
                               PVOID TableContext) {
    Table->TableRoot = nullptr;
    InitializeListHead(&Table->InsertOrderList);
    reset_order_cache(Table);
    Table->NumberGenericTableElements = 0;
    Table->CompareRoutine = CompareRoutine;
    Table->AllocateRoutine = AllocateRoutine;
    Table->FreeRoutine = FreeRoutine;
    Table->TableContext = TableContext;
}

PVOID RtlInsertElementGenericTableFull(PRTL_GENERIC_TABLE Table, PVOID Buffer, CLONG BufferSize,
                                       PBOOLEAN NewElement, PVOID NodeOrParent, TABLE_SEARCH_RESULT SearchResult) {
    auto* at = static_cast<Splay*>(NodeOrParent);
    if (NewElement) *NewElement = FALSE;
    if (SearchResult == TableFoundNode) {
        Table->TableRoot = RtlSplay(at);
        return data_of(at);
    }
    CLONG size = element_size(kSplayHeader, BufferSize, "RtlInsertElementGenericTable");
    if (!size) return nullptr;
    auto* n = static_cast<Splay*>(Table->AllocateRoutine(Table, size));
    if (!n) return nullptr;
    RtlInitializeSplayLinks(n);
    if (SearchResult == TableInsertAsLeft) RtlInsertAsLeftChild(at, n);
    else if (SearchResult == TableInsertAsRight) RtlInsertAsRightChild(at, n);
    InsertTailList(&Table->InsertOrderList, order_of(n));  // the last index: the cache stays right
    ++Table->NumberGenericTableElements;
    std::memcpy(data_of(n), Buffer, BufferSize);
    Table->TableRoot = RtlSplay(n);
    if (NewElement) *NewElement = TRUE;
    return data_of(n);
}

PVOID RtlInsertElementGenericTable(PRTL_GENERIC_TABLE Table, PVOID Buffer, CLONG BufferSize,
                                   PBOOLEAN NewElement) {
    Splay* at;
    TABLE_SEARCH_RESULT r = find(Table, Buffer, &at);
    return RtlInsertElementGenericTableFull(Table, Buffer, BufferSize, NewElement, at, r);
}

BOOLEAN RtlDeleteElementGenericTable(PRTL_GENERIC_TABLE Table, PVOID Buffer) {
    Splay* n;
    if (find(Table, Buffer, &n) != TableFoundNode) return FALSE;
    Table->TableRoot = RtlDelete(n);
    RemoveEntryList(order_of(n));
    --Table->NumberGenericTableElements;
    reset_order_cache(Table);
    Table->FreeRoutine(Table, n);
    return TRUE;
}

PVOID RtlLookupElementGenericTableFull(PRTL_GENERIC_TABLE Table, PVOID Buffer, PVOID* NodeOrParent,
                                       TABLE_SEARCH_RESULT* SearchResult) {
    Splay* n;
    *SearchResult = find(Table, Buffer, &n);
    *NodeOrParent = n;
    if (*SearchResult != TableFoundNode) return nullptr;  // the tree unchanged: NodeOrParent stays good
    Table->TableRoot = RtlSplay(n);
    return data_of(n);
}

PVOID RtlLookupElementGenericTable(PRTL_GENERIC_TABLE Table, PVOID Buffer) {
    PVOID n;
    TABLE_SEARCH_RESULT r;
    return RtlLookupElementGenericTableFull(Table, Buffer, &n, &r);
}

PVOID RtlEnumerateGenericTable(PRTL_GENERIC_TABLE Table, BOOLEAN Restart) {
    if (!Table->TableRoot) return nullptr;
    Splay* n = Restart ? leftmost(Table->TableRoot) : RtlRealSuccessor(Table->TableRoot);
    if (!n) return nullptr;
    Table->TableRoot = RtlSplay(n);
    return data_of(n);
}

PVOID RtlEnumerateGenericTableWithoutSplaying(PRTL_GENERIC_TABLE Table, PVOID* RestartKey) {
    if (!Table->TableRoot) return nullptr;
    Splay* n = *RestartKey ? RtlRealSuccessor(static_cast<Splay*>(*RestartKey)) : leftmost(Table->TableRoot);
    if (!n) return nullptr;
    *RestartKey = n;
    return data_of(n);
}

// Walks the insertion-order list from whichever is nearest: its head, its tail or the
// element found last time (OrderedPointer, at 1-based WhichOrderedElement).
PVOID RtlGetElementGenericTable(PRTL_GENERIC_TABLE Table, ULONG I) {
    ULONG count = Table->NumberGenericTableElements;
    if (I >= count) return nullptr;
    ULONG target = I + 1, at = Table->WhichOrderedElement;
    PLIST_ENTRY e = Table->OrderedPointer;
    if (target < at && at - target >= target) {
        e = &Table->InsertOrderList;  // nearer the head
        at = 0;
    } else if (target > at && target - at > count + 1 - target) {
        e = &Table->InsertOrderList;  // nearer the tail: the head is also index count + 1
        at = count + 1;
    }
    for (; at < target; ++at) e = e->Flink;
    for (; at > target; --at) e = e->Blink;
    Table->OrderedPointer = e;
    Table->WhichOrderedElement = target;
    return data_of(splay_of(e));
}

ULONG RtlNumberGenericTableElements(PRTL_GENERIC_TABLE Table) { return Table->NumberGenericTableElements; }

BOOLEAN RtlIsGenericTableEmpty(PRTL_GENERIC_TABLE Table) { return Table->TableRoot == nullptr; }

// ---- AVL generic tables ---------------------------------------------------------------------

VOID RtlInitializeGenericTableAvl(PRTL_AVL_TABLE Table, PRTL_AVL_COMPARE_ROUTINE CompareRoutine,
                                  PRTL_AVL_ALLOCATE_ROUTINE AllocateRoutine, PRTL_AVL_FREE_ROUTINE FreeRoutine,
                                  PVOID TableContext) {
    std::memset(Table, 0, sizeof *Table);
    Table->BalancedRoot.Parent = &Table->BalancedRoot;
    Table->CompareRoutine = CompareRoutine;
    Table->AllocateRoutine = AllocateRoutine;
    Table->FreeRoutine = FreeRoutine;
    Table->TableContext = TableContext;
}

PVOID RtlInsertElementGenericTableFullAvl(PRTL_AVL_TABLE Table, PVOID Buffer, CLONG BufferSize,
                                          PBOOLEAN NewElement, PVOID NodeOrParent, TABLE_SEARCH_RESULT SearchResult) {
    auto* at = static_cast<Avl*>(NodeOrParent);
    if (NewElement) *NewElement = FALSE;
    if (SearchResult == TableFoundNode) return data_of(at);
    CLONG size = element_size(kAvlHeader, BufferSize, "RtlInsertElementGenericTableAvl");
    if (!size) return nullptr;
    auto* n = static_cast<Avl*>(Table->AllocateRoutine(Table, size));
    if (!n) return nullptr;
    std::memcpy(data_of(n), Buffer, BufferSize);
    avl_link(Table, n, SearchResult == TableEmptyTree ? sentinel(Table) : at, SearchResult);
    ++Table->NumberGenericTableElements;
    avl_reset_order_cache(Table);  // collation indexes after the new element moved up one
    if (NewElement) *NewElement = TRUE;
    return data_of(n);
}

PVOID RtlInsertElementGenericTableAvl(PRTL_AVL_TABLE Table, PVOID Buffer, CLONG BufferSize, PBOOLEAN NewElement) {
    Avl* at;
    TABLE_SEARCH_RESULT r = avl_find(Table, Buffer, &at);
    return RtlInsertElementGenericTableFullAvl(Table, Buffer, BufferSize, NewElement, at, r);
}

BOOLEAN RtlDeleteElementGenericTableAvl(PRTL_AVL_TABLE Table, PVOID Buffer) {
    Avl* n;
    if (avl_find(Table, Buffer, &n) != TableFoundNode) return FALSE;
    avl_delete_node(Table, n);
    return TRUE;
}

VOID RtlDeleteElementGenericTableAvlEx(PRTL_AVL_TABLE Table, PVOID NodeOrParent) {
    avl_delete_node(Table, static_cast<Avl*>(NodeOrParent));
}

PVOID RtlLookupElementGenericTableFullAvl(PRTL_AVL_TABLE Table, PVOID Buffer, PVOID* NodeOrParent,
                                          TABLE_SEARCH_RESULT* SearchResult) {
    Avl* n;
    *SearchResult = avl_find(Table, Buffer, &n);
    *NodeOrParent = n;
    return *SearchResult == TableFoundNode ? data_of(n) : nullptr;
}

PVOID RtlLookupElementGenericTableAvl(PRTL_AVL_TABLE Table, PVOID Buffer) {
    PVOID n;
    TABLE_SEARCH_RESULT r;
    return RtlLookupElementGenericTableFullAvl(Table, Buffer, &n, &r);
}

// Equal elements are next to each other in collation order, so the leftmost one is found
// by going on to the left of every match.
PVOID RtlLookupFirstMatchingElementGenericTableAvl(PRTL_AVL_TABLE Table, PVOID Buffer, PVOID* RestartKey) {
    Avl* match = nullptr;
    for (Avl* n = avl_root(Table); n;) {
        RTL_GENERIC_COMPARE_RESULTS r = Table->CompareRoutine(Table, Buffer, data_of(n));
        if (r == GenericEqual) match = n;
        n = r == GenericGreaterThan ? n->RightChild : n->LeftChild;
    }
    *RestartKey = match;
    return match ? data_of(match) : nullptr;
}

PVOID RtlEnumerateGenericTableWithoutSplayingAvl(PRTL_AVL_TABLE Table, PVOID* RestartKey) {
    if (!avl_root(Table)) return nullptr;
    Avl* n = *RestartKey ? avl_successor(Table, static_cast<Avl*>(*RestartKey)) : avl_leftmost(avl_root(Table));
    if (!n) return nullptr;
    *RestartKey = n;
    return data_of(n);
}

PVOID RtlEnumerateGenericTableAvl(PRTL_AVL_TABLE Table, BOOLEAN Restart) {
    if (Restart) Table->RestartKey = nullptr;
    return RtlEnumerateGenericTableWithoutSplayingAvl(Table, reinterpret_cast<PVOID*>(&Table->RestartKey));
}

// Collation order, from whichever is nearest: the first element, the last, or the one
// found last time (OrderedPointer, at 1-based WhichOrderedElement).
PVOID RtlGetElementGenericTableAvl(PRTL_AVL_TABLE Table, ULONG I) {
    ULONG count = Table->NumberGenericTableElements;
    if (I >= count) return nullptr;
    ULONG target = I + 1, at = Table->WhichOrderedElement;
    auto* n = static_cast<Avl*>(Table->OrderedPointer);
    ULONG from_cache = !n ? ~0u : at > target ? at - target : target - at;
    if (target - 1 <= from_cache && target - 1 <= count - target) {
        n = avl_leftmost(avl_root(Table));
        at = 1;
    } else if (count - target < from_cache) {
        n = avl_rightmost(avl_root(Table));
        at = count;
    }
    for (; at < target; ++at) n = avl_successor(Table, n);
    for (; at > target; --at) n = avl_predecessor(Table, n);
    Table->OrderedPointer = n;
    Table->WhichOrderedElement = target;
    return data_of(n);
}

ULONG RtlNumberGenericTableElementsAvl(PRTL_AVL_TABLE Table) { return Table->NumberGenericTableElements; }

BOOLEAN RtlIsGenericTableEmptyAvl(PRTL_AVL_TABLE Table) { return Table->NumberGenericTableElements == 0; }

}  // extern "C"
