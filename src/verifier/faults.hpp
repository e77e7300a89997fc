// Fault injection: the failures and timings a driver's error paths must survive, chosen
// by a seed so that a failing run can be replayed exactly (Options::faults, NTIO_FAULTS,
// `ntio run --faults`):
//
//   pool=P     ExAllocatePool* returns NULL (tags=Abcd|Efgh: only those tags)
//   irp=P      IoAllocateIrp, IoBuild*Request, IoMakeAssociatedIrp return NULL
//   mdl=P      IoAllocateMdl returns NULL
//   pending=P  IoCallDriver returns STATUS_PENDING although the driver called completed
//              the IRP at once (Driver Verifier's "force pending I/O requests"; how, below)
//   delay=P    the same, and the completion itself happens delay_ms later (default 10)
//   cancel=P   an IRP that went pending is cancelled (IoCancelIrp) at a random moment up
//              to cancel_ms later (default 10), as a CancelIoEx would
//   scope=drivers (default) | all: pending and delay spare the I/O manager's own
//              top-level call, whose caller is the application; `all` includes it
//   seed=N     the seed (default: from the clock, printed); log=on prints each injection
//
// P is a probability (0.05) or the ordinals of the calls to fail ("#3" or "#2|#5"),
// counted per kind (and per pool tag, per device name for I/O), so that each driver path
// sees the same sequence whatever other threads do. Only calls from drivers are failed:
// the runtime's own allocations (a caller's buffers and MDLs, the PnP manager's IRPs)
// are not.
//
// How pending is forced: before the dispatch routine runs, the callee's stack location
// gets SL_PENDING_RETURNED, as if it had called IoMarkIrpPending; whatever it returns,
// the caller gets STATUS_PENDING. Completion then unwinds with PendingReturned set, so
// the caller's completion routine and the I/O manager behave as for a request that
// really pended (the event is set, the status block written), and a caller that handles
// STATUS_PENDING correctly sees no difference, while one that does not (reads the IRP
// after IoCallDriver, skips the wait, takes the returned status as final) is caught.
#pragma once
#include <cstdint>
#include <string>

#include "verifier/hooks.hpp"
#include "wdm.h"

struct _KTHREAD;

namespace ntio::verifier::faults {

// Installs the Options'/NTIO_FAULTS settings (empty: none). False, with *error, for a
// bad setting.
bool configure(const std::string& spec, std::string* error);
// Whether IRP faults (pending, delay, cancel) are on: IoCallDriver then takes the
// verified path.
bool io_faults_on();
// "seed=...,pool=..." reproducing this run; empty when nothing is injected.
std::string settings_text();

// Allocation faults: true when this call is to fail. `caller`: the return address into
// the calling code (calls from the runtime itself never fail).
NTIO_VERIFIER_COLD bool fail_pool(uint32_t tag, size_t bytes, const void* caller);
NTIO_VERIFIER_COLD bool fail_irp(const char* api, const void* caller);
NTIO_VERIFIER_COLD bool fail_mdl(const void* caller);

// IoCallDriver (verified path), before the dispatch routine: whether to force pending
// on this call (*delay_ms > 0: and to delay its completion). `top_level`: the I/O
// manager's first call for a caller's request.
bool force_pending(DEVICE_OBJECT* device, bool top_level, uint32_t* delay_ms);
// After a dispatch routine returned STATUS_PENDING for an IRP on `issuer`'s list:
// maybe cancel it a little later.
void maybe_cancel(DEVICE_OBJECT* device, _KTHREAD* issuer, uint64_t irp_id);
// Completes `irp` `delay_ms` from now (from the runtime's DPC).
void complete_later(IRP* irp, CCHAR priority_boost, uint32_t delay_ms);

// Teardown, while the runtime's threads still run: waits for the delayed completions
// and scheduled cancels still to come.
void drain();
// Then: prints what was injected and forgets the settings.
void finish();

}  // namespace ntio::verifier::faults
