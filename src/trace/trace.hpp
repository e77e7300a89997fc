// The IRP tracer: lifecycle events from the I/O manager, thread names and DbgPrint
// lines, kept in memory while a trace is requested (Options::trace_file,
// NTIO_TRACE, `ntio run --trace FILE`) and written as Chrome Trace Event JSON
// (Perfetto, chrome://tracing) when the runtime ends. IRPs are named by sequence
// number and threads by runtime number, so a virtual-time run gives the same trace
// every time. When no trace is requested each hook costs one relaxed load.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>

#include "wdm.h"

struct _KTHREAD;

namespace ntio {
class System;
}

namespace ntio::trace {

enum class Kind : uint8_t {
    issued,              // a caller's request leaves the I/O manager for the driver
    dispatched,          // IoCallDriver hands it to a device's dispatch routine
    pending,             // the dispatch routine returned STATUS_PENDING
    queued,              // IoStartPacket put it in the device queue, or IoCsqInsertIrp in a CSQ
    started,             // it became CurrentIrp and StartIo was called
    cancel,              // IoCancelIrp
    completion_routine,  // a completion routine is about to run
    completed,           // IoCompleteRequest (value: status, info: Information)
    debug_print,         // a DbgPrint line (text)
    queue_depth,         // a device queue's length (value), named by text
    thread,              // a thread's name (text)
    notified,            // the caller was told (value: kNotified* bits)
    freed,               // the IRP's memory went back (lookaside or heap)
    cancel_routine,      // a cancel routine is about to run
    dequeued,            // taken out of a cancel-safe queue by its driver
    collected,           // the caller took the result (value: kCollected*; matched to the IRP by its status block)
    wait,                // a blocking wait: ts = when it blocked, info = when it woke, value = status
    thread_end,          // a thread finished
    verifier,            // a verifier report (text: check name, message; info: IRP id or 0)
};
constexpr int64_t kCollectedOverlappedResult = 1, kCollectedFromPort = 2;
constexpr int64_t kNotifiedEvent = 1, kNotifiedFileEvent = 2, kNotifiedPort = 4, kNotifiedStatusBlock = 8,
                  kNotifiedApc = 16;

extern std::atomic<bool> g_enabled;
#ifdef NTIO_NO_TRACER
constexpr bool enabled() { return false; }  // built without the tracer (NTIO_TRACER=OFF)
#else
inline bool enabled() { return g_enabled.load(std::memory_order_relaxed); }
#endif

// Recording; call only when enabled().
void irp_event(Kind kind, IRP* irp, PDEVICE_OBJECT device = nullptr, int64_t value = 0, uint64_t info = 0);
// For after the IRP may be gone (a dispatch routine that returned STATUS_PENDING
// may have completed it already): what irp_event would read, taken beforehand.
struct IrpIdentity {
    uint64_t sequence;
    uint8_t major, minor;
};
IrpIdentity identify(IRP* irp);
void irp_event(Kind kind, const IrpIdentity& irp, PDEVICE_OBJECT device);
void irp_completed(IRP* irp);  // IoCompleteRequest, before the stack unwinds
// After the IRP is gone: by its runtime sequence number. `status_block`: the caller's
// IO_STATUS_BLOCK (an OVERLAPPED), which result_collected() is matched by.
void irp_after(Kind kind, uint64_t sequence, int64_t value = 0, const void* status_block = nullptr);
// GetOverlappedResult or a completion-port dequeue handed the caller the result held in
// `status_block` (the OVERLAPPED).
void result_collected(const void* status_block, int64_t how);
void debug_line(const char* text, size_t length);
// A wait that blocked at `began` (the dispatcher's clock) and just ended with `status`.
void waited(int64_t began, NTSTATUS status, uint32_t objects);
void thread_ended(_KTHREAD* t);
// A verifier report, shown as an instant on the reporting thread.
void verifier_event(const char* check, const std::string& message, uint64_t irp);
void thread_named(_KTHREAD* t);
void name_device_queue(PKDEVICE_QUEUE queue, const std::string& device);
void device_queue_changed(PKDEVICE_QUEUE queue);  // under the queue's lock

// Starts recording for the runtime being created (path: where to write).
void begin(const std::string& path);
// Writes the trace (once) and stops recording.
void end();

}  // namespace ntio::trace
