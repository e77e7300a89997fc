// The stress test's driver (issue 4): three devices that finish requests three
// ways, so that completion races cancellation, cleanup and thread exit.
//   \\.\StressStartIo  IoStartPacket with a cancel routine; StartIo hands the
//                      request to a DPC (the "interrupt") that completes it and
//                      starts the next packet.
//   \\.\StressCsq      a cancel-safe queue; any thread completes the oldest with
//                      complete_next_csq(); cleanup cancels the file's requests.
//   \\.\StressInline   completes in the dispatch routine.
// Every IOCTL_STRESS carries an 8-byte tag in and echoes it out; the driver counts
// each IoCompleteRequest it makes for one, so the test can match issued requests to
// completions one for one.
#pragma once
#include <atomic>
#include <cstdint>

#include "wdm.h"
#include "windows.h"

namespace stressdrv {

constexpr const char* kDeviceNames[] = {"\\\\.\\StressStartIo", "\\\\.\\StressCsq", "\\\\.\\StressInline"};
constexpr ULONG IOCTL_STRESS = CTL_CODE(FILE_DEVICE_UNKNOWN, 0x901, METHOD_BUFFERED, FILE_ANY_ACCESS);

struct Counters {
    std::atomic<uint64_t> dispatched{0};           // IOCTL_STRESS requests that reached a dispatch routine
    std::atomic<uint64_t> completed_success{0};    // completed by the driver with the tag echoed
    std::atomic<uint64_t> completed_cancelled{0};  // completed with STATUS_CANCELLED (cancel routine, CSQ, cleanup, StartIo check)
};
Counters& counters();
void reset();
// Completes the oldest request in the cancel-safe queue, if any.
bool complete_next_csq();

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);

}  // namespace stressdrv
