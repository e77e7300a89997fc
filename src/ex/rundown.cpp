// Run-down protection (S-EX-4..7, docs/design.md): a count of references that anyone
// may take until an owner begins the run-down, after which every acquisition fails and
// the owner waits for the references taken before.
//
// EX_RUNDOWN_REF::Count is the whole state, changed only by compare-exchange:
//   refs << 1          not run down: `refs` references held
//   1                  run down, no reference left (ExRundownCompleted's state)
//   &wait_block | 1    the owner waits; the block, on its stack, counts the references
//                      still held and holds the event the last release sets
// So the waiter allocates nothing, and a release during the run-down finds the block
// through the reference it is giving back: the block cannot go before that release is
// counted.
#include <atomic>

#include <fmt/format.h>

#include "ntio/ntio.hpp"
#include "verifier/report.hpp"
#include "wdm.h"

namespace {

constexpr ULONG_PTR kActive = 1;  // the run-down has begun
constexpr ULONG_PTR kOneRef = 2;

struct alignas(8) RundownWaitBlock {
    std::atomic<ULONG_PTR> refs;
    KEVENT released;
};

std::atomic_ref<ULONG_PTR> count_of(PEX_RUNDOWN_REF r) { return std::atomic_ref<ULONG_PTR>(r->Count); }

void report_misuse(PEX_RUNDOWN_REF r, const std::string& what) {
    ntio::verifier::report(ntio::verifier::Check::InvalidParameter,
                           fmt::format("{} (EX_RUNDOWN_REF {})", what, static_cast<void*>(r)));
}

}  // namespace

extern "C" {

VOID ExInitializeRundownProtection(PEX_RUNDOWN_REF RunRef) { count_of(RunRef).store(0, std::memory_order_release); }

VOID ExReInitializeRundownProtection(PEX_RUNDOWN_REF RunRef) {
    // S-EX-7: only after the run-down is over (no waiter, no reference).
    ULONG_PTR v = count_of(RunRef).load(std::memory_order_acquire);
    if (v != kActive)
        report_misuse(RunRef, fmt::format("ExReInitializeRundownProtection on a reference that is not run down "
                                          "(Count {:#x}); wait with ExWaitForRundownProtectionRelease first",
                                          v));
    count_of(RunRef).store(0, std::memory_order_release);
}

BOOLEAN ExAcquireRundownProtectionEx(PEX_RUNDOWN_REF RunRef, ULONG Count) {
    auto count = count_of(RunRef);
    ULONG_PTR add = ULONG_PTR(Count) * kOneRef;
    ULONG_PTR v = count.load(std::memory_order_relaxed);
    do {
        if (v & kActive) return FALSE;  // S-EX-5
    } while (!count.compare_exchange_weak(v, v + add, std::memory_order_acquire, std::memory_order_relaxed));
    return TRUE;
}

BOOLEAN ExAcquireRundownProtection(PEX_RUNDOWN_REF RunRef) { return ExAcquireRundownProtectionEx(RunRef, 1); }

VOID ExReleaseRundownProtectionEx(PEX_RUNDOWN_REF RunRef, ULONG Count) {
    auto count = count_of(RunRef);
    ULONG_PTR sub = ULONG_PTR(Count) * kOneRef;
    // Acquire: a value naming the owner's wait block comes with the block's contents.
    ULONG_PTR v = count.load(std::memory_order_acquire);
    while (!(v & kActive)) {
        if (v < sub) {
            report_misuse(RunRef, fmt::format("ExReleaseRundownProtection(Ex) of {} reference(s) where {} are held",
                                              Count, v / kOneRef));
            return;
        }
        if (count.compare_exchange_weak(v, v - sub, std::memory_order_release, std::memory_order_acquire)) return;
    }
    if (v == kActive) {
        report_misuse(RunRef, fmt::format("ExReleaseRundownProtection(Ex) of {} reference(s) after the run-down "
                                          "ended with none held",
                                          Count));
        return;
    }
    // The owner waits: its block counts what is still held, ours included.
    auto* block = reinterpret_cast<RundownWaitBlock*>(v & ~kActive);
    ULONG_PTR before = block->refs.fetch_sub(Count, std::memory_order_acq_rel);
    if (before < Count) {
        report_misuse(RunRef, fmt::format("ExReleaseRundownProtection(Ex) of {} reference(s) where {} are held",
                                          Count, before));
        block->refs.fetch_add(Count, std::memory_order_relaxed);
        return;
    }
    if (before == Count) KeSetEvent(&block->released, IO_NO_INCREMENT, FALSE);
}

VOID ExReleaseRundownProtection(PEX_RUNDOWN_REF RunRef) { ExReleaseRundownProtectionEx(RunRef, 1); }

VOID ExWaitForRundownProtectionRelease(PEX_RUNDOWN_REF RunRef) {
    ntio::verifier::check_irql_at_most(APC_LEVEL, "ExWaitForRundownProtectionRelease");
    auto count = count_of(RunRef);
    RundownWaitBlock block;
    KeInitializeEvent(&block.released, NotificationEvent, FALSE);
    ULONG_PTR v = count.load(std::memory_order_relaxed);
    for (;;) {
        if (v == kActive) return;  // already run down: nothing to wait for
        if (v & kActive) {
            report_misuse(RunRef, "ExWaitForRundownProtectionRelease while another thread already waits on this "
                                  "reference (only one owner may run it down)");
            return;
        }
        ULONG_PTR refs = v / kOneRef;
        if (refs == 0) {
            if (count.compare_exchange_weak(v, kActive, std::memory_order_acq_rel, std::memory_order_relaxed)) return;
            continue;
        }
        block.refs.store(refs, std::memory_order_relaxed);  // published by the release below
        if (count.compare_exchange_weak(v, reinterpret_cast<ULONG_PTR>(&block) | kActive, std::memory_order_acq_rel,
                                        std::memory_order_relaxed))
            break;
    }
    KeWaitForSingleObject(&block.released, Executive, KernelMode, FALSE, nullptr);
    // Every reference counted in the block is back, so nobody reads it again; the
    // reference now says "run down, none held" instead of naming this stack.
    count.store(kActive, std::memory_order_release);
}

VOID ExRundownCompleted(PEX_RUNDOWN_REF RunRef) {
    ULONG_PTR v = count_of(RunRef).load(std::memory_order_acquire);
    if (!(v & kActive))
        report_misuse(RunRef, fmt::format("ExRundownCompleted on a reference whose run-down has not begun "
                                          "(Count {:#x})",
                                          v));
    count_of(RunRef).store(kActive, std::memory_order_release);
}

}  // extern "C"
