// A test driver with a StartIo device and a cancel-safe-queue device, for the
// device queue, StartIo and cancellation tests. Loaded with
// System::load_driver("ntioqueue", queuedrv::DriverEntry).
#pragma once
#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

#include "wdm.h"
#include "windows.h"

namespace queuedrv {

constexpr const char* kStartIoName = "\\\\.\\TestStartIo";
constexpr const char* kCsqName = "\\\\.\\TestCsq";
constexpr ULONG IOCTL_QUEUE = CTL_CODE(FILE_DEVICE_UNKNOWN, 0x900, METHOD_BUFFERED, FILE_ANY_ACCESS);

enum class StartIoMode {
    hold,      // StartIo clears the cancel routine and keeps the IRP; complete_current() finishes it
    complete,  // StartIo completes at once and starts the next (the recursion)
    gate,      // StartIo waits for release() before the article's CurrentIrp/Cancel check
};

struct State {
    std::atomic<StartIoMode> mode{StartIoMode::hold};
    std::atomic<int> startio_calls{0}, cancel_calls{0}, depth{0}, max_depth{0};
    std::atomic<uintptr_t> lowest_stack{UINTPTR_MAX};  // the deepest StartIo frame seen
    std::atomic<KIRQL> startio_irql{0xff}, cancel_irql{0xff};
    std::atomic<bool> gate_entered{false}, gate_open{false};
    std::atomic<bool> inside_dispatch{false};
    std::atomic<int> started_inside_dispatch{0};
    std::atomic<int> csq_cleanup_cancelled{0};
    std::vector<ULONG> startio_order;  // first ULONG of each request's input, in StartIo order
    std::mutex lock;
    PDEVICE_OBJECT startio_device = nullptr, csq_device = nullptr;
};
State& state();
void reset();
// Completes the request StartIo is holding and starts the next (at DISPATCH_LEVEL).
bool complete_current(NTSTATUS status);
// Completes the oldest request in the cancel-safe queue (from any thread).
bool complete_next_csq(NTSTATUS status);
void release_gate();

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);

}  // namespace queuedrv
