// The switches the runtime's hot paths test before calling into the verifier: one
// relaxed load each, false unless a check that needs the bookkeeping is on (or fault
// injection is). Configuring with -DNTIO_VERIFIER_HOOKS=OFF compiles them to `false`,
// so a build can be compared with one that has no verifier hooks at all.
#pragma once
#include <atomic>
#include <cstdint>

#ifndef NTIO_VERIFIER_HOOKS
#define NTIO_VERIFIER_HOOKS 1
#endif

// The functions behind the switches: kept out of line and in the cold section, so
// that the hot path pays the test and nothing else (no spilled registers).
#define NTIO_VERIFIER_COLD [[gnu::noinline, gnu::cold]]

namespace ntio::verifier {

struct HookFlags {
    // IRP records (history ring, freed-IRP quarantine, dispatch-return bookkeeping) and
    // the verified IoCallDriver: IrpUsedAfterFree, ReturnedPendingNotMarked,
    // MarkedPendingNotReturned, IrpLeftAtUnload, or I/O fault injection.
    std::atomic<bool> irps{false};
    // Each thread's held spin locks and the acquisition-order graph: LockOrderInversion,
    // SpinLockReleaseIrql.
    std::atomic<bool> locks{false};
    // Which driver allocated each pool block: PoolLeftAtUnload.
    std::atomic<bool> pool_owners{false};
    // The StartIo watchdog: StartIoStalled (it also turns `irps` on, to see completions).
    std::atomic<bool> startio{false};
    // Allocation failures injected into ExAllocatePool*, IoAllocateIrp/IoBuild*, IoAllocateMdl.
    std::atomic<bool> allocation_faults{false};
    // The Ntio*At entry points record the driver's call site: whenever any check is on.
    std::atomic<bool> call_sites{true};
};
extern HookFlags g_hooks;

inline bool hook(const std::atomic<bool>& flag) {
    if constexpr (!NTIO_VERIFIER_HOOKS) return false;
    return flag.load(std::memory_order_relaxed);
}
inline bool irp_hooks() { return hook(g_hooks.irps); }

// Whether anything watches IRPs as they go: bit kWatchIrps while `irps` is on, bit
// kWatchTrace while a trace records (trace::g_enabled). The I/O manager's request path
// and IoCompleteRequest's common case test this one byte where they would test both
// flags, and take their general path, which tests each, when it is set.
constexpr uint8_t kWatchIrps = 1, kWatchTrace = 2;
extern std::atomic<uint8_t> g_irp_watchers;
inline bool irps_watched() { return g_irp_watchers.load(std::memory_order_relaxed) != 0; }
inline void set_irp_watcher(uint8_t bit, bool on) {
    if (on) g_irp_watchers.fetch_or(bit, std::memory_order_relaxed);
    else g_irp_watchers.fetch_and(static_cast<uint8_t>(~bit), std::memory_order_relaxed);
}
inline bool lock_hooks() { return hook(g_hooks.locks); }
inline bool pool_owner_hooks() { return hook(g_hooks.pool_owners); }
inline bool startio_hooks() { return hook(g_hooks.startio); }
inline bool allocation_fault_hooks() { return hook(g_hooks.allocation_faults); }
inline bool call_site_hooks() { return hook(g_hooks.call_sites); }

}  // namespace ntio::verifier
