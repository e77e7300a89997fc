// RTL_BITMAP routines (S-BMP-1..3, docs/design.md).
#include <cstring>

#include "ntio/gtest.hpp"
#include "wdm.h"

namespace {

class Bitmaps : public ntio::testing::DriverTest {
protected:
    ULONG words[4];
    RTL_BITMAP map;
    void SetUp() override {
        std::memset(words, 0xA5, sizeof words);
        RtlInitializeBitMap(&map, words, 100);  // 100 bits: words 0..3, 4 bits of word 3 used
    }
};

// S-BMP-1: bit i is bit i % 32 of Buffer[i / 32]; the all-bits routines write whole words.
TEST_F(Bitmaps, S_BMP_1_BitsAndWords) {
    EXPECT_EQ(map.SizeOfBitMap, 100u);
    EXPECT_EQ(map.Buffer, words);
    EXPECT_EQ(words[0], 0xA5A5A5A5u) << "initializing leaves the bits alone";
    RtlClearAllBits(&map);
    EXPECT_EQ(words[3], 0u) << "the last, partly used word is cleared whole";
    RtlSetBit(&map, 0);
    RtlSetBit(&map, 33);
    RtlSetBit(&map, 99);
    EXPECT_EQ(words[0], 1u);
    EXPECT_EQ(words[1], 2u);
    EXPECT_EQ(words[3], 1u << 3);
    EXPECT_TRUE(RtlTestBit(&map, 33));
    EXPECT_FALSE(RtlTestBit(&map, 34));
    RtlClearBit(&map, 33);
    EXPECT_EQ(words[1], 0u);
    RtlSetBits(&map, 30, 40);  // crosses two word boundaries
    EXPECT_EQ(words[0], 0xC0000001u);
    EXPECT_EQ(words[1], 0xFFFFFFFFu);
    EXPECT_EQ(words[2], 0x3Fu);
    EXPECT_EQ(RtlNumberOfSetBits(&map), 42u);
    EXPECT_EQ(RtlNumberOfClearBits(&map), 58u);
    RtlClearBits(&map, 31, 37);
    EXPECT_EQ(words[0], 0x40000001u);
    EXPECT_EQ(words[1], 0u);
    EXPECT_EQ(words[2], 0x30u);  // 68 and 69 stay set
    RtlSetAllBits(&map);
    EXPECT_EQ(words[3], 0xFFFFFFFFu);
    EXPECT_EQ(RtlNumberOfSetBits(&map), 100u) << "only the bitmap's bits count, not the rest of its last word";
    EXPECT_EQ(RtlNumberOfClearBits(&map), 0u);
}

// S-BMP-2: a search runs from the hint to the end, then from the start; a hint past the
// end is 0; nothing found is 0xFFFFFFFF.
TEST_F(Bitmaps, S_BMP_2_SearchesStartAtTheHintAndWrapAround) {
    RtlSetAllBits(&map);
    RtlClearBits(&map, 10, 5);  // clear: 10..14
    RtlClearBits(&map, 60, 8);  // clear: 60..67
    EXPECT_EQ(RtlFindClearBits(&map, 5, 0), 10u);
    EXPECT_EQ(RtlFindClearBits(&map, 5, 20), 60u) << "after the hint first";
    EXPECT_EQ(RtlFindClearBits(&map, 6, 0), 60u) << "the first run long enough";
    EXPECT_EQ(RtlFindClearBits(&map, 3, 70), 10u) << "then from the start";
    EXPECT_EQ(RtlFindClearBits(&map, 3, 12), 12u) << "inside a run, from the hint";
    EXPECT_EQ(RtlFindClearBits(&map, 9, 0), 0xFFFFFFFFu);
    EXPECT_EQ(RtlFindClearBits(&map, 101, 0), 0xFFFFFFFFu) << "more than the bitmap holds";
    EXPECT_EQ(RtlFindClearBits(&map, 2, 500), 10u) << "a hint past the end is 0";
    EXPECT_EQ(RtlFindClearBits(&map, 0, 13), 8u) << "none wanted: the hint, rounded down to a byte";

    EXPECT_EQ(RtlFindClearBitsAndSet(&map, 4, 0), 10u);
    EXPECT_TRUE(RtlAreBitsSet(&map, 10, 4));
    EXPECT_EQ(RtlFindClearBitsAndSet(&map, 4, 0), 60u) << "10..13 are taken now; 14 alone is too short";
    EXPECT_EQ(RtlNumberOfClearBits(&map), 5u);

    RtlClearAllBits(&map);
    RtlSetBits(&map, 96, 4);  // the last bits
    EXPECT_EQ(RtlFindSetBits(&map, 4, 50), 96u);
    EXPECT_EQ(RtlFindSetBits(&map, 5, 0), 0xFFFFFFFFu) << "no run past the bitmap's end";
    EXPECT_EQ(RtlFindSetBitsAndClear(&map, 2, 0), 96u);
    EXPECT_EQ(RtlNumberOfSetBits(&map), 2u);
}

// S-BMP-3: the range tests are FALSE for an empty range or one outside the bitmap.
TEST_F(Bitmaps, S_BMP_3_RangeTests) {
    RtlClearAllBits(&map);
    RtlSetBits(&map, 40, 10);
    EXPECT_TRUE(RtlAreBitsSet(&map, 40, 10));
    EXPECT_FALSE(RtlAreBitsSet(&map, 39, 10));
    EXPECT_TRUE(RtlAreBitsClear(&map, 0, 40));
    EXPECT_TRUE(RtlAreBitsClear(&map, 50, 50));
    EXPECT_FALSE(RtlAreBitsClear(&map, 50, 51)) << "past the end";
    EXPECT_FALSE(RtlAreBitsClear(&map, 0, 0)) << "empty";
    EXPECT_FALSE(RtlAreBitsSet(&map, 0xFFFFFFF0, 0x20)) << "wraps around";
}

TEST_F(Bitmaps, InvalidParameter_S_BMP_1_ARangeOutsideTheBitmapChangesNothing) {
    RtlClearAllBits(&map);
    EXPECT_DRIVER_BUG("InvalidParameter", RtlSetBits(&map, 90, 11));
    EXPECT_DRIVER_BUG("InvalidParameter", RtlSetBit(&map, 100));
    EXPECT_DRIVER_BUG("InvalidParameter", RtlClearBits(&map, 0xFFFFFFFF, 2));
    EXPECT_EQ(words[2], 0u);
    EXPECT_EQ(words[3], 0u);
    EXPECT_EQ(RtlNumberOfSetBits(&map), 0u);
}

}  // namespace
