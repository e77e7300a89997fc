// RTL_BITMAP routines (S-BMP-1..3, docs/design.md): bit i of a bitmap is bit i % 32 of
// Buffer[i / 32]. Nothing here locks: callers serialize, as on Windows. A range that
// does not lie inside the bitmap is reported and leaves it unchanged (Windows asserts
// in checked builds and writes past the end in free ones).
#include <bit>
#include <cstdint>

#include <fmt/format.h>

#include "verifier/report.hpp"
#include "wdm.h"

namespace {

constexpr ULONG kNotFound = 0xFFFFFFFF;

bool range_inside(PRTL_BITMAP map, ULONG start, ULONG count, const char* api) {
    if (uint64_t(start) + count <= map->SizeOfBitMap) return true;
    ntio::verifier::report(ntio::verifier::Check::InvalidParameter,
                           fmt::format("{}: bits [{}, {}) are not inside the bitmap's {} bits; nothing changed", api,
                                       start, uint64_t(start) + count, map->SizeOfBitMap));
    return false;
}

bool test(PRTL_BITMAP map, ULONG i) { return (map->Buffer[i / 32] >> (i % 32)) & 1; }

// Sets (value) or clears the bits [start, start + count), a word at a time.
void fill(PRTL_BITMAP map, ULONG start, ULONG count, bool value) {
    while (count) {
        ULONG bit = start % 32, n = count < 32 - bit ? count : 32 - bit;
        ULONG mask = (n == 32 ? ~0u : ((1u << n) - 1)) << bit;
        if (value) map->Buffer[start / 32] |= mask;
        else map->Buffer[start / 32] &= ~mask;
        start += n;
        count -= n;
    }
}

// Whether [start, start + count) all hold `value`; the range is inside the bitmap.
bool all_are(PRTL_BITMAP map, ULONG start, ULONG count, bool value) {
    while (count) {
        ULONG bit = start % 32, n = count < 32 - bit ? count : 32 - bit;
        ULONG mask = (n == 32 ? ~0u : ((1u << n) - 1)) << bit;
        ULONG word = map->Buffer[start / 32] & mask;
        if (value ? word != mask : word != 0) return false;
        start += n;
        count -= n;
    }
    return true;
}

// The first start in [from, to) of `count` bits all equal to `value`, inside the map.
ULONG first_run(PRTL_BITMAP map, ULONG count, bool value, ULONG from, ULONG to) {
    ULONG run = 0;
    for (ULONG i = from; i < map->SizeOfBitMap; ++i) {
        if (run == 0 && i >= to) break;  // a run may go on past `to`, not start there
        run = test(map, i) == value ? run + 1 : 0;
        if (run == count) return i + 1 - count;
    }
    return kNotFound;
}

// S-BMP-2: from the hint to the end, then from the start back to the hint.
ULONG find(PRTL_BITMAP map, ULONG count, ULONG hint, bool value) {
    if (hint >= map->SizeOfBitMap) hint = 0;
    if (count == 0) return hint & ~7u;
    if (count > map->SizeOfBitMap) return kNotFound;
    ULONG at = first_run(map, count, value, hint, map->SizeOfBitMap);
    return at != kNotFound ? at : first_run(map, count, value, 0, hint);
}

ULONG count_set(PRTL_BITMAP map) {
    ULONG size = map->SizeOfBitMap, total = 0;
    for (ULONG w = 0; w < size / 32; ++w) total += std::popcount(map->Buffer[w]);
    if (size % 32) total += std::popcount(map->Buffer[size / 32] & ((1u << (size % 32)) - 1));
    return total;
}

}  // namespace

extern "C" {

VOID RtlInitializeBitMap(PRTL_BITMAP BitMapHeader, PULONG BitMapBuffer, ULONG SizeOfBitMap) {
    BitMapHeader->SizeOfBitMap = SizeOfBitMap;
    BitMapHeader->Buffer = BitMapBuffer;
}

// S-BMP-1: the whole ULONGs that hold the bitmap, as Windows writes them.
VOID RtlClearAllBits(PRTL_BITMAP BitMapHeader) {
    for (ULONG w = 0; w < (BitMapHeader->SizeOfBitMap + 31) / 32; ++w) BitMapHeader->Buffer[w] = 0;
}
VOID RtlSetAllBits(PRTL_BITMAP BitMapHeader) {
    for (ULONG w = 0; w < (BitMapHeader->SizeOfBitMap + 31) / 32; ++w) BitMapHeader->Buffer[w] = ~0u;
}

VOID RtlClearBit(PRTL_BITMAP BitMapHeader, ULONG BitNumber) {
    if (range_inside(BitMapHeader, BitNumber, 1, "RtlClearBit")) fill(BitMapHeader, BitNumber, 1, false);
}
VOID RtlSetBit(PRTL_BITMAP BitMapHeader, ULONG BitNumber) {
    if (range_inside(BitMapHeader, BitNumber, 1, "RtlSetBit")) fill(BitMapHeader, BitNumber, 1, true);
}
BOOLEAN RtlTestBit(PRTL_BITMAP BitMapHeader, ULONG BitNumber) {
    return range_inside(BitMapHeader, BitNumber, 1, "RtlTestBit") && test(BitMapHeader, BitNumber);
}

VOID RtlClearBits(PRTL_BITMAP BitMapHeader, ULONG StartingIndex, ULONG NumberToClear) {
    if (range_inside(BitMapHeader, StartingIndex, NumberToClear, "RtlClearBits"))
        fill(BitMapHeader, StartingIndex, NumberToClear, false);
}
VOID RtlSetBits(PRTL_BITMAP BitMapHeader, ULONG StartingIndex, ULONG NumberToSet) {
    if (range_inside(BitMapHeader, StartingIndex, NumberToSet, "RtlSetBits"))
        fill(BitMapHeader, StartingIndex, NumberToSet, true);
}

// S-BMP-3: FALSE for an empty range or one not inside the bitmap (no report: a caller
// may ask).
BOOLEAN RtlAreBitsClear(PRTL_BITMAP BitMapHeader, ULONG StartingIndex, ULONG Length) {
    return Length && uint64_t(StartingIndex) + Length <= BitMapHeader->SizeOfBitMap &&
           all_are(BitMapHeader, StartingIndex, Length, false);
}
BOOLEAN RtlAreBitsSet(PRTL_BITMAP BitMapHeader, ULONG StartingIndex, ULONG Length) {
    return Length && uint64_t(StartingIndex) + Length <= BitMapHeader->SizeOfBitMap &&
           all_are(BitMapHeader, StartingIndex, Length, true);
}

ULONG RtlFindClearBits(PRTL_BITMAP BitMapHeader, ULONG NumberToFind, ULONG HintIndex) {
    return find(BitMapHeader, NumberToFind, HintIndex, false);
}
ULONG RtlFindSetBits(PRTL_BITMAP BitMapHeader, ULONG NumberToFind, ULONG HintIndex) {
    return find(BitMapHeader, NumberToFind, HintIndex, true);
}
ULONG RtlFindClearBitsAndSet(PRTL_BITMAP BitMapHeader, ULONG NumberToFind, ULONG HintIndex) {
    ULONG at = find(BitMapHeader, NumberToFind, HintIndex, false);
    if (at != kNotFound) fill(BitMapHeader, at, NumberToFind, true);
    return at;
}
ULONG RtlFindSetBitsAndClear(PRTL_BITMAP BitMapHeader, ULONG NumberToFind, ULONG HintIndex) {
    ULONG at = find(BitMapHeader, NumberToFind, HintIndex, true);
    if (at != kNotFound) fill(BitMapHeader, at, NumberToFind, false);
    return at;
}

ULONG RtlNumberOfSetBits(PRTL_BITMAP BitMapHeader) { return count_set(BitMapHeader); }
ULONG RtlNumberOfClearBits(PRTL_BITMAP BitMapHeader) {
    return BitMapHeader->SizeOfBitMap - count_set(BitMapHeader);
}

}  // extern "C"
