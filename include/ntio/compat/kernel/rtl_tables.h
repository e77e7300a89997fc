/* ntio compat: splay links and the generic tables of <ntddk.h> (src/rtl/generic_table.cpp,
 * docs/design.md S-GT). A generic table keeps caller data in elements it allocates through
 * the table's AllocateRoutine: each element is a header of the table's own (the links)
 * followed by the caller's bytes, whose address the routines return; the FreeRoutine gets
 * the whole element back. Callers serialize access to a table, as on Windows. */
#ifndef NTIO_COMPAT_KERNEL_RTL_TABLES_H
#define NTIO_COMPAT_KERNEL_RTL_TABLES_H

#include "../ntdef.h"

NTIO_EXTERN_C_BEGIN

typedef ULONG CLONG;

/* ---- splay links: a node's Parent is itself at the root --------------------------------- */
typedef struct _RTL_SPLAY_LINKS {
    struct _RTL_SPLAY_LINKS *Parent;
    struct _RTL_SPLAY_LINKS *LeftChild;
    struct _RTL_SPLAY_LINKS *RightChild;
} RTL_SPLAY_LINKS, *PRTL_SPLAY_LINKS;

#define RtlInitializeSplayLinks(Links)                                                          \
    do {                                                                                        \
        PRTL_SPLAY_LINKS ntio_links_ = (PRTL_SPLAY_LINKS)(Links);                              \
        ntio_links_->Parent = ntio_links_;                                                      \
        ntio_links_->LeftChild = NULL;                                                          \
        ntio_links_->RightChild = NULL;                                                         \
    } while (0)
#define RtlParent(Links) ((PRTL_SPLAY_LINKS)(Links)->Parent)
#define RtlLeftChild(Links) ((PRTL_SPLAY_LINKS)(Links)->LeftChild)
#define RtlRightChild(Links) ((PRTL_SPLAY_LINKS)(Links)->RightChild)
#define RtlIsRoot(Links) (RtlParent(Links) == (PRTL_SPLAY_LINKS)(Links))
#define RtlIsLeftChild(Links) (RtlLeftChild(RtlParent(Links)) == (PRTL_SPLAY_LINKS)(Links))
#define RtlIsRightChild(Links) (RtlRightChild(RtlParent(Links)) == (PRTL_SPLAY_LINKS)(Links))
#define RtlInsertAsLeftChild(ParentLinks, ChildLinks)                                           \
    do {                                                                                        \
        PRTL_SPLAY_LINKS ntio_parent_ = (PRTL_SPLAY_LINKS)(ParentLinks);                       \
        PRTL_SPLAY_LINKS ntio_child_ = (PRTL_SPLAY_LINKS)(ChildLinks);                         \
        ntio_parent_->LeftChild = ntio_child_;                                                  \
        ntio_child_->Parent = ntio_parent_;                                                     \
    } while (0)
#define RtlInsertAsRightChild(ParentLinks, ChildLinks)                                          \
    do {                                                                                        \
        PRTL_SPLAY_LINKS ntio_parent_ = (PRTL_SPLAY_LINKS)(ParentLinks);                       \
        PRTL_SPLAY_LINKS ntio_child_ = (PRTL_SPLAY_LINKS)(ChildLinks);                         \
        ntio_parent_->RightChild = ntio_child_;                                                 \
        ntio_child_->Parent = ntio_parent_;                                                     \
    } while (0)

/* Splays Links to the root of its tree and returns it (the new root). */
NTIO_API PRTL_SPLAY_LINKS RtlSplay(PRTL_SPLAY_LINKS Links);
/* Removes Links from its tree and returns the new root (NULL for an empty tree); the tree
 * is splayed at the removed node's parent. RtlDeleteNoSplay updates *Root instead. */
NTIO_API PRTL_SPLAY_LINKS RtlDelete(PRTL_SPLAY_LINKS Links);
NTIO_API VOID RtlDeleteNoSplay(PRTL_SPLAY_LINKS Links, PRTL_SPLAY_LINKS *Root);
/* In-order neighbours: the Subtree forms look only below Links, the Real forms in the
 * whole tree; NULL when there is none. */
NTIO_API PRTL_SPLAY_LINKS RtlSubtreeSuccessor(PRTL_SPLAY_LINKS Links);
NTIO_API PRTL_SPLAY_LINKS RtlSubtreePredecessor(PRTL_SPLAY_LINKS Links);
NTIO_API PRTL_SPLAY_LINKS RtlRealSuccessor(PRTL_SPLAY_LINKS Links);
NTIO_API PRTL_SPLAY_LINKS RtlRealPredecessor(PRTL_SPLAY_LINKS Links);

/* ---- what both kinds of table share ------------------------------------------------------ */
typedef enum _RTL_GENERIC_COMPARE_RESULTS {
    GenericLessThan,
    GenericGreaterThan,
    GenericEqual
} RTL_GENERIC_COMPARE_RESULTS;

/* Where a lookup ended: NodeOrParent is the node found, or the parent under which the
 * data would go (TableInsertAsLeft/Right), or nothing in an empty tree. */
typedef enum _TABLE_SEARCH_RESULT {
    TableEmptyTree,
    TableFoundNode,
    TableInsertAsLeft,
    TableInsertAsRight
} TABLE_SEARCH_RESULT;

/* ---- AVL tables: balanced, ordered by the CompareRoutine -------------------------------- */
struct _RTL_AVL_TABLE;
typedef RTL_GENERIC_COMPARE_RESULTS NTAPI RTL_AVL_COMPARE_ROUTINE(struct _RTL_AVL_TABLE *Table, PVOID FirstStruct,
                                                                  PVOID SecondStruct);
typedef RTL_AVL_COMPARE_ROUTINE *PRTL_AVL_COMPARE_ROUTINE;
typedef PVOID NTAPI RTL_AVL_ALLOCATE_ROUTINE(struct _RTL_AVL_TABLE *Table, CLONG ByteSize);
typedef RTL_AVL_ALLOCATE_ROUTINE *PRTL_AVL_ALLOCATE_ROUTINE;
typedef VOID NTAPI RTL_AVL_FREE_ROUTINE(struct _RTL_AVL_TABLE *Table, PVOID Buffer);
typedef RTL_AVL_FREE_ROUTINE *PRTL_AVL_FREE_ROUTINE;
typedef NTSTATUS NTAPI RTL_AVL_MATCH_FUNCTION(struct _RTL_AVL_TABLE *Table, PVOID UserData, PVOID MatchData);
typedef RTL_AVL_MATCH_FUNCTION *PRTL_AVL_MATCH_FUNCTION;

/* Balance is -1 (left subtree one deeper), 0 or +1 (right one deeper). */
typedef struct _RTL_BALANCED_LINKS {
    struct _RTL_BALANCED_LINKS *Parent;
    struct _RTL_BALANCED_LINKS *LeftChild;
    struct _RTL_BALANCED_LINKS *RightChild;
    CHAR Balance;
    UCHAR Reserved[3];
} RTL_BALANCED_LINKS, *PRTL_BALANCED_LINKS;

/* BalancedRoot is a sentinel whose RightChild is the tree's root; DepthOfTree is the
 * tree's height; RestartKey is RtlEnumerateGenericTableAvl's position; DeleteCount counts
 * deletions. The members are the system's, as on Windows. */
typedef struct _RTL_AVL_TABLE {
    RTL_BALANCED_LINKS BalancedRoot;
    PVOID OrderedPointer;
    ULONG WhichOrderedElement;
    ULONG NumberGenericTableElements;
    ULONG DepthOfTree;
    PRTL_BALANCED_LINKS RestartKey;
    ULONG DeleteCount;
    PRTL_AVL_COMPARE_ROUTINE CompareRoutine;
    PRTL_AVL_ALLOCATE_ROUTINE AllocateRoutine;
    PRTL_AVL_FREE_ROUTINE FreeRoutine;
    PVOID TableContext;
} RTL_AVL_TABLE, *PRTL_AVL_TABLE;

NTIO_API VOID RtlInitializeGenericTableAvl(PRTL_AVL_TABLE Table, PRTL_AVL_COMPARE_ROUTINE CompareRoutine,
                                           PRTL_AVL_ALLOCATE_ROUTINE AllocateRoutine,
                                           PRTL_AVL_FREE_ROUTINE FreeRoutine, PVOID TableContext);
/* Copies BufferSize bytes of Buffer into a new element unless one compares equal; returns
 * the element's data (the new or the existing one), NULL when the allocation failed. */
NTIO_API PVOID RtlInsertElementGenericTableAvl(PRTL_AVL_TABLE Table, PVOID Buffer, CLONG BufferSize,
                                               PBOOLEAN NewElement);
NTIO_API PVOID RtlInsertElementGenericTableFullAvl(PRTL_AVL_TABLE Table, PVOID Buffer, CLONG BufferSize,
                                                   PBOOLEAN NewElement, PVOID NodeOrParent,
                                                   TABLE_SEARCH_RESULT SearchResult);
NTIO_API BOOLEAN RtlDeleteElementGenericTableAvl(PRTL_AVL_TABLE Table, PVOID Buffer);
/* Deletes the node a RtlLookupElementGenericTableFullAvl found (NodeOrParent). */
NTIO_API VOID RtlDeleteElementGenericTableAvlEx(PRTL_AVL_TABLE Table, PVOID NodeOrParent);
NTIO_API PVOID RtlLookupElementGenericTableAvl(PRTL_AVL_TABLE Table, PVOID Buffer);
NTIO_API PVOID RtlLookupElementGenericTableFullAvl(PRTL_AVL_TABLE Table, PVOID Buffer, PVOID *NodeOrParent,
                                                   TABLE_SEARCH_RESULT *SearchResult);
/* The first element in collation order that compares equal to Buffer (a CompareRoutine
 * may call several equal, e.g. by prefix); *RestartKey then continues from it with
 * RtlEnumerateGenericTableWithoutSplayingAvl. */
NTIO_API PVOID RtlLookupFirstMatchingElementGenericTableAvl(PRTL_AVL_TABLE Table, PVOID Buffer,
                                                            PVOID *RestartKey);
NTIO_API PVOID RtlEnumerateGenericTableAvl(PRTL_AVL_TABLE Table, BOOLEAN Restart);
NTIO_API PVOID RtlEnumerateGenericTableWithoutSplayingAvl(PRTL_AVL_TABLE Table, PVOID *RestartKey);
/* The I'th element in collation order (an AVL table keeps no insertion order). */
NTIO_API PVOID RtlGetElementGenericTableAvl(PRTL_AVL_TABLE Table, ULONG I);
NTIO_API ULONG RtlNumberGenericTableElementsAvl(PRTL_AVL_TABLE Table);
NTIO_API BOOLEAN RtlIsGenericTableEmptyAvl(PRTL_AVL_TABLE Table);

#ifdef RTL_USE_AVL_TABLES
/* A driver that defines RTL_USE_AVL_TABLES before <ntddk.h> writes the generic table
 * names and gets the AVL tables, as with the WDK. */
#define RTL_GENERIC_COMPARE_ROUTINE RTL_AVL_COMPARE_ROUTINE
#define PRTL_GENERIC_COMPARE_ROUTINE PRTL_AVL_COMPARE_ROUTINE
#define RTL_GENERIC_ALLOCATE_ROUTINE RTL_AVL_ALLOCATE_ROUTINE
#define PRTL_GENERIC_ALLOCATE_ROUTINE PRTL_AVL_ALLOCATE_ROUTINE
#define RTL_GENERIC_FREE_ROUTINE RTL_AVL_FREE_ROUTINE
#define PRTL_GENERIC_FREE_ROUTINE PRTL_AVL_FREE_ROUTINE
#define RTL_GENERIC_TABLE RTL_AVL_TABLE
#define PRTL_GENERIC_TABLE PRTL_AVL_TABLE
#define RtlInitializeGenericTable RtlInitializeGenericTableAvl
#define RtlInsertElementGenericTable RtlInsertElementGenericTableAvl
#define RtlInsertElementGenericTableFull RtlInsertElementGenericTableFullAvl
#define RtlDeleteElementGenericTable RtlDeleteElementGenericTableAvl
#define RtlLookupElementGenericTable RtlLookupElementGenericTableAvl
#define RtlLookupElementGenericTableFull RtlLookupElementGenericTableFullAvl
#define RtlEnumerateGenericTable RtlEnumerateGenericTableAvl
#define RtlEnumerateGenericTableWithoutSplaying RtlEnumerateGenericTableWithoutSplayingAvl
#define RtlGetElementGenericTable RtlGetElementGenericTableAvl
#define RtlNumberGenericTableElements RtlNumberGenericTableElementsAvl
#define RtlIsGenericTableEmpty RtlIsGenericTableEmptyAvl
#else
/* ---- splay tables: each lookup, insert or enumeration splays the element to the root ---- */
struct _RTL_GENERIC_TABLE;
typedef RTL_GENERIC_COMPARE_RESULTS NTAPI RTL_GENERIC_COMPARE_ROUTINE(struct _RTL_GENERIC_TABLE *Table,
                                                                      PVOID FirstStruct, PVOID SecondStruct);
typedef RTL_GENERIC_COMPARE_ROUTINE *PRTL_GENERIC_COMPARE_ROUTINE;
typedef PVOID NTAPI RTL_GENERIC_ALLOCATE_ROUTINE(struct _RTL_GENERIC_TABLE *Table, CLONG ByteSize);
typedef RTL_GENERIC_ALLOCATE_ROUTINE *PRTL_GENERIC_ALLOCATE_ROUTINE;
typedef VOID NTAPI RTL_GENERIC_FREE_ROUTINE(struct _RTL_GENERIC_TABLE *Table, PVOID Buffer);
typedef RTL_GENERIC_FREE_ROUTINE *PRTL_GENERIC_FREE_ROUTINE;

/* InsertOrderList links the elements in the order they were inserted (what
 * RtlGetElementGenericTable indexes); OrderedPointer/WhichOrderedElement remember the
 * last element it found there. The members are the system's, as on Windows. */
typedef struct _RTL_GENERIC_TABLE {
    PRTL_SPLAY_LINKS TableRoot;
    LIST_ENTRY InsertOrderList;
    PLIST_ENTRY OrderedPointer;
    ULONG WhichOrderedElement;
    ULONG NumberGenericTableElements;
    PRTL_GENERIC_COMPARE_ROUTINE CompareRoutine;
    PRTL_GENERIC_ALLOCATE_ROUTINE AllocateRoutine;
    PRTL_GENERIC_FREE_ROUTINE FreeRoutine;
    PVOID TableContext;
} RTL_GENERIC_TABLE, *PRTL_GENERIC_TABLE;

NTIO_API VOID RtlInitializeGenericTable(PRTL_GENERIC_TABLE Table, PRTL_GENERIC_COMPARE_ROUTINE CompareRoutine,
                                        PRTL_GENERIC_ALLOCATE_ROUTINE AllocateRoutine,
                                        PRTL_GENERIC_FREE_ROUTINE FreeRoutine, PVOID TableContext);
NTIO_API PVOID RtlInsertElementGenericTable(PRTL_GENERIC_TABLE Table, PVOID Buffer, CLONG BufferSize,
                                            PBOOLEAN NewElement);
NTIO_API PVOID RtlInsertElementGenericTableFull(PRTL_GENERIC_TABLE Table, PVOID Buffer, CLONG BufferSize,
                                                PBOOLEAN NewElement, PVOID NodeOrParent,
                                                TABLE_SEARCH_RESULT SearchResult);
NTIO_API BOOLEAN RtlDeleteElementGenericTable(PRTL_GENERIC_TABLE Table, PVOID Buffer);
NTIO_API PVOID RtlLookupElementGenericTable(PRTL_GENERIC_TABLE Table, PVOID Buffer);
NTIO_API PVOID RtlLookupElementGenericTableFull(PRTL_GENERIC_TABLE Table, PVOID Buffer, PVOID *NodeOrParent,
                                                TABLE_SEARCH_RESULT *SearchResult);
/* Restart: the first element in collation order; else the one after the tree's root,
 * which the last call (or a lookup, an insert, a delete) splayed there. */
NTIO_API PVOID RtlEnumerateGenericTable(PRTL_GENERIC_TABLE Table, BOOLEAN Restart);
NTIO_API PVOID RtlEnumerateGenericTableWithoutSplaying(PRTL_GENERIC_TABLE Table, PVOID *RestartKey);
/* The I'th element in insertion order (0 the oldest still in the table). */
NTIO_API PVOID RtlGetElementGenericTable(PRTL_GENERIC_TABLE Table, ULONG I);
NTIO_API ULONG RtlNumberGenericTableElements(PRTL_GENERIC_TABLE Table);
NTIO_API BOOLEAN RtlIsGenericTableEmpty(PRTL_GENERIC_TABLE Table);
#endif

NTIO_EXTERN_C_END
#endif
