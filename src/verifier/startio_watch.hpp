// StartIoStalled: a StartIo driver completes its current IRP and must then call
// IoStartNextPacket (from StartIo or its DPC), or the device queue stays busy and every
// queued request, and every later IoStartPacket, waits forever. When a device's
// CurrentIrp completes the watchdog arms a deadline (Options::startio_stall_ms, 1000
// ms by default: exact under virtual time); IoStartNextPacket disarms it; a deadline
// that passes is reported with the device and how many requests wait in its queue.
// One runtime timer and DPC serve every device.
#pragma once
#include "verifier/hooks.hpp"
#include "wdm.h"

namespace ntio::verifier::startio_watch {

// The bound, in milliseconds (the runtime sets it from its Options).
void set_bound_ms(int ms);
// IoCompleteRequest on IRP `irp_id`, which `device`'s StartIo started (its record says
// so: the watchdog never reads CurrentIrp, which the device's own threads change):
// arms the device's deadline.
NTIO_VERIFIER_COLD void current_completed(DEVICE_OBJECT* device, uint64_t irp_id);
// IoStartNextPacket(ByKey) on `device`: the queue moves on.
NTIO_VERIFIER_COLD void start_next(DEVICE_OBJECT* device);
// Teardown: no deadline is pending any more (the devices are released).
void stop();

}  // namespace ntio::verifier::startio_watch
