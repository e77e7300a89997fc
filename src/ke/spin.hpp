// Low-level primitives every subsystem uses: a spin lock that yields, and futex
// park/unpark. This is the only place that talks to the Linux futex interface.
#pragma once
#include <atomic>
#include <cstdint>
#include <sched.h>

namespace ntio::ke {

// The calling thread's IRQL (ke/irql.cpp); read inline on hot paths.
// constinit: no dynamic initialization, so other files read it without a call to a
// TLS init wrapper (the same for every thread_local shared between files).
extern constinit thread_local unsigned char t_irql;
// The processor a targeted DPC asked for, while its routine runs on the DPC thread
// (KeSetTargetProcessorDpc); -1 elsewhere, where KeGetCurrentProcessorNumber asks the host.
extern constinit thread_local int t_dpc_processor;
// Set while the thread may hold DPCs it queued at DISPATCH_LEVEL (Dispatcher::
// queue_dpc_held); KeLowerIrql below DISPATCH_LEVEL then releases them. Only the thread
// itself reads or writes it; the DPCs themselves are under the dispatcher's lock.
extern constinit thread_local bool t_holds_dpcs;
// Set on the DPC thread, whose DPCs queued from a DPC routine run after it anyway.
extern constinit thread_local bool t_runs_dpcs;

inline void cpu_relax() { __builtin_ia32_pause(); }

// Test-and-test-and-set lock. Holders never block while holding it, so a
// short spin followed by sched_yield is enough; no futex on the lock itself.
class SpinLock {
public:
    void lock() {
        if (!m_locked.exchange(true, std::memory_order_acquire)) return;
        lock_slow();
    }
    bool try_lock() { return !m_locked.exchange(true, std::memory_order_acquire); }
    void unlock() { m_locked.store(false, std::memory_order_release); }
    bool is_locked() const { return m_locked.load(std::memory_order_relaxed); }

private:
    void lock_slow() {
        for (unsigned spins = 0;; ++spins) {
            while (m_locked.load(std::memory_order_relaxed)) {
                if (++spins < 128) cpu_relax();
                else { sched_yield(); spins = 0; }
            }
            if (!m_locked.exchange(true, std::memory_order_acquire)) return;
        }
    }
    std::atomic<bool> m_locked{false};
};

// Futex wrappers on a 32-bit word. timeout_ns < 0 waits forever.
// Returns false when the timeout elapsed.
bool futex_wait(std::atomic<uint32_t>& word, uint32_t expected, int64_t timeout_ns = -1);
void futex_wake(std::atomic<uint32_t>& word, int count = 1);

}  // namespace ntio::ke
