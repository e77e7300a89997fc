// What the verifier needs of lookaside lists and ERESOURCEs to delete one a driver left
// (verifier/drivers.cpp: LookasideLeftAtUnload, ResourceLeftAtUnload,
// ResourceOrLookasideInFreedMemory). Without the IRQL checks of the Ex* routines: the
// verifier may delete them from a free at DISPATCH_LEVEL, where the driver's own call
// would have been right.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "wdm.h"

namespace ntio::ex {

// ExDelete(N)PagedLookasideList's work: the kept blocks go back to the list's Free
// routine, or to pool.
void delete_lookaside_blocks(PGENERAL_LOOKASIDE l);
// ExDeleteLookasideListEx's (and ExFlushLookasideListEx's) work: the kept blocks go to the
// list's FreeEx routine, or to pool. `api` names the call for pool's reports.
void delete_lookaside_ex_blocks(PLOOKASIDE_LIST_EX l, const char* api);
// ExDeleteResourceLite's work when no thread owns the resource or waits for it: true.
// False, and nothing done, while it is in use (deleting it then would leave its owners
// and waiters on memory the runtime freed).
bool delete_resource_if_idle(PERESOURCE r);

// TimerLeftAtUnload for EX_TIMERs (ex/timer.cpp): cancels every set EX_TIMER whose
// callback lies in [begin, end), the code of a driver that unloaded, and describes each
// for the report. A timer already deleted (without Cancel) is then freed by its delete
// DPC; one not deleted stays allocated, the driver's leak.
std::vector<std::string> cancel_ex_timers_in(uintptr_t begin, uintptr_t end);

}  // namespace ntio::ex
