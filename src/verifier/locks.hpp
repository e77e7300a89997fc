// Spin-lock bookkeeping, kept while verifier::lock_hooks() is on: each thread's held
// spin locks (with the IRQL each acquisition returned and the driver's call site), and
// the process-wide order in which locks were taken while others were held.
//
//   SpinLockReleaseIrql: KeReleaseSpinLock(lock, NewIrql) with a NewIrql other than the
//     one its KeAcquireSpinLock returned (the caller stays raised, or drops too low).
//   LockOrderInversion: B taken while holding A somewhere, and A while holding B (or any
//     longer cycle) somewhere else: two CPUs doing both at once deadlock. Found the
//     first time the closing order is used, even if the two never ran concurrently.
//
// A lock is its address. KeInitializeSpinLock forgets what was known of an address, as
// does freeing the pool or device extension it lives in, so that memory reused for
// another lock does not inherit the old one's order.
#pragma once
#include <cstddef>

#include "verifier/hooks.hpp"
#include "wdm.h"

namespace ntio::verifier::locks {

// After `lock` was acquired; `old_irql` is the IRQL before the acquisition.
NTIO_VERIFIER_COLD void acquired(PKSPIN_LOCK lock, KIRQL old_irql);
// Before `lock` is released. `new_irql` is what KeReleaseSpinLock lowers to; pass
// `lowers` = false for the ...FromDpcLevel / queued releases, which keep the IRQL.
NTIO_VERIFIER_COLD void releasing(PKSPIN_LOCK lock, KIRQL new_irql, bool lowers);
// The memory [begin, begin + bytes) no longer holds the locks it held.
NTIO_VERIFIER_COLD void forget(const void* begin, size_t bytes);
// A new runtime: forget everything.
void reset();

}  // namespace ntio::verifier::locks
