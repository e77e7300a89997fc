// Pseudo-random numbers from a caller's seed (S-KAPI-4): RtlRandomEx and RtlRandom. Drivers use them for jitter and test patterns and replay a run by its seed,
// so each is a pure function of the seed it updates: no hidden state, the same sequence
// for the same seed, on any thread.
//
// The step is a Lehmer linear congruential generator, the kind Microsoft names for
// RtlUniform: X' = (0x7FFFFFED * X + 0x7FFFFFC3) mod 0x7FFFFFFF (MAXLONG), whose values
// are [0, MAXLONG - 1], the range Microsoft gives for RtlRandom and RtlRandomEx. Windows'
// own routines also shuffle through a table of their own, so the numbers are not Windows'
// (docs/compat.md): a driver gets the contract, not the same sequence.
#include "verifier/report.hpp"
#include "wdm.h"

namespace {

constexpr uint64_t kMultiplier = 0x7FFFFFED;
constexpr uint64_t kIncrement = 0x7FFFFFC3;
constexpr uint64_t kModulus = 0x7FFFFFFF;  // MAXLONG

ULONG next(PULONG seed) {
    auto value = static_cast<ULONG>((kMultiplier * *seed + kIncrement) % kModulus);
    *seed = value;
    return value;
}

}  // namespace

extern "C" {

ULONG RtlRandomEx(PULONG Seed) { return next(Seed); }

// RtlRandom is the older form (Microsoft: at IRQL <= APC_LEVEL; RtlRandomEx is preferred
// for being faster, which here it is not).
ULONG RtlRandom(PULONG Seed) {
    ntio::verifier::check_irql_at_most(APC_LEVEL, "RtlRandom");
    return next(Seed);
}

}  // extern "C"
