// The I/O timer of a device object (IoInitializeTimer, IoStartTimer, IoStopTimer): a
// routine the driver has called once a second at DISPATCH_LEVEL while the timer is
// started. Windows keeps every device's timer on one list walked by a one-second
// system DPC; ntio gives each device a periodic KTIMER and KDPC of its own, started
// and stopped with the device's timer, so a stopped timer keeps nothing due on the
// virtual clock. The first call comes one second after IoStartTimer (Windows: at the
// next tick of its one-second clock, up to a second later).
#include <atomic>
#include <new>

#include <fmt/format.h>

#include "io/iomgr.hpp"
#include "system.hpp"
#include "verifier/report.hpp"

// DEVICE_OBJECT::Timer, from IoInitializeTimer until the device object is freed.
struct NtioIoTimer {
    static constexpr uint32_t kMagic = 0x72546f49;  // "IoTr"
    uint32_t magic = kMagic;
    KTIMER timer;
    KDPC dpc;
    PDEVICE_OBJECT device;
    PIO_TIMER_ROUTINE routine = nullptr;
    PVOID context = nullptr;
    // Started: the DPC calls the routine. Checked at each tick, as Windows checks the
    // timer's flag: once IoStopTimer returns, no new call begins.
    std::atomic<bool> started{false};
    bool ever_started = false;  // IoDeleteDevice waits for a tick in progress only then
};

using namespace ntio;

namespace {

// Nothing due and nothing queued: the timer's next expiry and a tick queued but not run.
void disarm(NtioIoTimer* t) {
    KeCancelTimer(&t->timer);
    KeRemoveQueueDpc(&t->dpc);
}

VOID tick(PKDPC, PVOID context, PVOID, PVOID) {
    auto* t = static_cast<NtioIoTimer*>(context);
    if (t->started.load(std::memory_order_acquire)) t->routine(t->device, t->context);
}

NtioIoTimer* timer_of(PDEVICE_OBJECT device, const char* api) {
    auto* t = device ? static_cast<NtioIoTimer*>(device->Timer) : nullptr;
    if (t && t->magic == NtioIoTimer::kMagic) return t;
    verifier::report(verifier::Check::InvalidParameter,
                     device ? fmt::format("{}({}): the device has no I/O timer (IoInitializeTimer first)", api,
                                          io::device_label(device))
                            : fmt::format("{}(NULL)", api),
                     {.device = device});
    return nullptr;
}

}  // namespace

extern "C" {

NTSTATUS IoInitializeTimer(PDEVICE_OBJECT DeviceObject, PIO_TIMER_ROUTINE TimerRoutine, PVOID Context) {
    verifier::check_irql_at_most(PASSIVE_LEVEL, "IoInitializeTimer");
    if (!DeviceObject || !TimerRoutine) {
        verifier::report(verifier::Check::InvalidParameter,
                         DeviceObject ? "IoInitializeTimer without a routine" : "IoInitializeTimer(NULL device)");
        return STATUS_INVALID_PARAMETER;
    }
    auto* t = static_cast<NtioIoTimer*>(DeviceObject->Timer);
    if (!t) {
        t = new (std::nothrow) NtioIoTimer;
        if (!t) return STATUS_INSUFFICIENT_RESOURCES;
        t->device = DeviceObject;
        KeInitializeTimerEx(&t->timer, SynchronizationTimer);
        KeInitializeDpc(&t->dpc, tick, t);
        DeviceObject->Timer = t;
    } else if (t->started.load(std::memory_order_relaxed)) {
        // Windows replaces the routine under a running timer; a tick may then call
        // either. Said, and done as Windows does.
        verifier::report(verifier::Check::InvalidParameter,
                         fmt::format("IoInitializeTimer on {} while its timer is started", io::device_label(DeviceObject)),
                         {.device = DeviceObject});
    }
    t->routine = TimerRoutine;
    t->context = Context;
    return STATUS_SUCCESS;
}

VOID IoStartTimer(PDEVICE_OBJECT DeviceObject) {
    verifier::check_irql_at_most(DISPATCH_LEVEL, "IoStartTimer");
    NtioIoTimer* t = timer_of(DeviceObject, "IoStartTimer");
    if (!t || t->started.exchange(true, std::memory_order_acq_rel)) return;  // started already: no change
    t->ever_started = true;
    LARGE_INTEGER second;
    second.QuadPart = -10'000'000;  // relative, 100 ns units
    KeSetTimerEx(&t->timer, second, 1000, &t->dpc);
}

VOID IoStopTimer(PDEVICE_OBJECT DeviceObject) {
    verifier::check_irql_at_most(DISPATCH_LEVEL, "IoStopTimer");
    NtioIoTimer* t = timer_of(DeviceObject, "IoStopTimer");
    if (!t || !t->started.exchange(false, std::memory_order_acq_rel)) return;
    disarm(t);
}

}  // extern "C"

namespace ntio::io {

// IoDeleteDevice: the timer stops, and a tick in progress finishes before the device
// can go (the timer itself is freed with the device object, by free_io_timer).
void stop_io_timer_for_delete(DEVICE_OBJECT* device) {
    auto* t = static_cast<NtioIoTimer*>(device->Timer);
    if (!t) return;
    t->started.store(false, std::memory_order_release);
    disarm(t);
    if (t->ever_started && KeGetCurrentIrql() == PASSIVE_LEVEL) sys().dispatcher.flush_dpcs();
}

void free_io_timer(DEVICE_OBJECT* device) {
    auto* t = static_cast<NtioIoTimer*>(device->Timer);
    if (!t) return;
    disarm(t);  // a device freed without IoDeleteDevice (a driver that failed its entry)
    device->Timer = nullptr;
    delete t;
}

}  // namespace ntio::io
