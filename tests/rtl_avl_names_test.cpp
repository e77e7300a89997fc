// S-GT-7: a driver that defines RTL_USE_AVL_TABLES before <ntddk.h> writes the splay
// table's names and gets AVL tables, as the WDK's header arranges.
#define RTL_USE_AVL_TABLES 0
#include "ntddk.h"
#include "ntio/gtest.hpp"

namespace {

RTL_GENERIC_COMPARE_ROUTINE CompareInts;
RTL_GENERIC_ALLOCATE_ROUTINE AllocateElement;
RTL_GENERIC_FREE_ROUTINE FreeElement;

RTL_GENERIC_COMPARE_RESULTS NTAPI CompareInts(PRTL_GENERIC_TABLE, PVOID a, PVOID b) {
    int x = *static_cast<int*>(a), y = *static_cast<int*>(b);
    return x < y ? GenericLessThan : x > y ? GenericGreaterThan : GenericEqual;
}
PVOID NTAPI AllocateElement(PRTL_GENERIC_TABLE, CLONG size) { return ExAllocatePool2(POOL_FLAG_PAGED, size, 'tvaT'); }
VOID NTAPI FreeElement(PRTL_GENERIC_TABLE, PVOID block) { ExFreePoolWithTag(block, 'tvaT'); }

class AvlNames : public ntio::testing::DriverTest {};

TEST_F(AvlNames, S_GT_7_RtlUseAvlTablesMapsTheGenericNames) {
    static_assert(sizeof(RTL_GENERIC_TABLE) == sizeof(RTL_AVL_TABLE), "RTL_GENERIC_TABLE is RTL_AVL_TABLE");
    RTL_GENERIC_TABLE table;
    RtlInitializeGenericTable(&table, CompareInts, AllocateElement, FreeElement, nullptr);
    for (int k : {3, 1, 2}) RtlInsertElementGenericTable(&table, &k, sizeof k, nullptr);
    EXPECT_EQ(RtlNumberGenericTableElements(&table), 3u);
    EXPECT_EQ(*static_cast<int*>(RtlGetElementGenericTable(&table, 0)), 1) << "AVL: the index is sort order";
    EXPECT_EQ(table.DepthOfTree, 2u) << "an AVL member";
    while (PVOID p = RtlEnumerateGenericTable(&table, TRUE)) RtlDeleteElementGenericTable(&table, p);
    EXPECT_TRUE(RtlIsGenericTableEmpty(&table));
}

}  // namespace
