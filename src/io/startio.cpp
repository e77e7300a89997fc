// StartIo (S-DQ-5..10): IoStartPacket queues an IRP on the device queue, or, when
// the device is idle, makes it CurrentIrp and calls the driver's StartIo at
// DISPATCH_LEVEL inside the caller's dispatch routine. IoStartNextPacket starts the
// next one; called from StartIo it recurses, exactly as on Windows, unless the
// driver chose DeferredStartIo (then the outermost StartIo call loops instead).
#include "io/iomgr.hpp"
#include "ke/spin.hpp"
#include "trace/trace.hpp"
#include "verifier/drivers.hpp"
#include "verifier/hooks.hpp"
#include "verifier/irp_tracker.hpp"
#include "verifier/report.hpp"
#include "verifier/startio_watch.hpp"

namespace ntio::io {
namespace {

constexpr uint32_t kNextRequested = 1, kOneActive = 2;

struct StartIoNesting {
    PDEVICE_OBJECT device;
    int depth;
};
thread_local StartIoNesting t_startio{nullptr, 0};

// Makes the next queued IRP current (or clears CurrentIrp when there is none).
PIRP take_next(PDEVICE_OBJECT dev, bool cancelable, bool by_key, ULONG key) {
    DeviceRuntime& rt = runtime(dev);
    KIRQL cancel_irql = DISPATCH_LEVEL;
    if (cancelable) IoAcquireCancelSpinLock(&cancel_irql);
    // Atomic: the verifier's StartIo watchdog reads CurrentIrp without the driver's locks.
    __atomic_store_n(&dev->CurrentIrp, nullptr, __ATOMIC_RELAXED);
    PKDEVICE_QUEUE_ENTRY e = by_key ? KeRemoveByKeyDeviceQueue(&dev->DeviceQueue, key)
                                    : KeRemoveDeviceQueue(&dev->DeviceQueue);
    PIRP irp = e ? CONTAINING_RECORD(e, IRP, Tail.Overlay.DeviceQueueEntry) : nullptr;
    if (irp) {
        __atomic_store_n(&dev->CurrentIrp, irp, __ATOMIC_RELAXED);
        if (rt.noncancelable.load(std::memory_order_relaxed)) IoSetCancelRoutine(irp, nullptr);
    }
    if (cancelable) IoReleaseCancelSpinLock(cancel_irql);
    return irp;
}

PDRIVER_STARTIO startio_of(PDEVICE_OBJECT dev, PIRP irp) {
    PDRIVER_STARTIO startio = dev->DriverObject->DriverStartIo;
    if (!startio)
        verifier::report(verifier::Check::NoStartIoRoutine,
                             fmt::format("IoStartPacket/IoStartNextPacket on {} but its driver has no DriverStartIo; "
                                         "the IRP stays the device's CurrentIrp and nothing starts it",
                                         device_label(dev)),
                             {.irp = irp, .device = dev});
    return startio;
}

// DeferredStartIo: StartIo runs here in a loop. A start-next request made while it
// runs (from StartIo itself, or a DPC elsewhere) only sets the request bit; the loop
// takes it when StartIo returns, so 1M queued requests drain at constant stack depth.
void run_startio_deferred(PDEVICE_OBJECT dev, PIRP irp, PDRIVER_STARTIO startio) {
    DeviceRuntime& rt = runtime(dev);
    verifier::drivers::Scope scope(dev->DriverObject);
    rt.startio_state.fetch_add(kOneActive, std::memory_order_acq_rel);
    startio(dev, irp);
    uint32_t s = rt.startio_state.load(std::memory_order_acquire);
    for (;;) {
        if (s & kNextRequested) {
            if (!rt.startio_state.compare_exchange_weak(s, s & ~kNextRequested, std::memory_order_acq_rel)) continue;
            bool cancelable = rt.next_cancelable.exchange(false, std::memory_order_relaxed);
            PIRP next = take_next(dev, cancelable, rt.next_by_key.load(std::memory_order_relaxed),
                                  rt.next_key.load(std::memory_order_relaxed));
            if (next) {
                if (trace::enabled()) [[unlikely]]
                    trace::irp_event(trace::Kind::started, next, dev);
                if (verifier::irp_hooks()) [[unlikely]]
                    verifier::irps::note(next, verifier::irps::Step::started, dev);
                startio(dev, next);
            }
            s = rt.startio_state.load(std::memory_order_acquire);
        } else if (rt.startio_state.compare_exchange_weak(s, s - kOneActive, std::memory_order_acq_rel)) {
            return;
        }
    }
}

void call_startio(PDEVICE_OBJECT dev, PIRP irp) {
    PDRIVER_STARTIO startio = startio_of(dev, irp);
    if (!startio) return;
    if (trace::enabled()) [[unlikely]]
        trace::irp_event(trace::Kind::started, irp, dev);
    if (verifier::irp_hooks()) [[unlikely]]
        verifier::irps::note(irp, verifier::irps::Step::started, dev);
    DeviceRuntime& rt = runtime(dev);
    if (rt.deferred_startio.load(std::memory_order_relaxed)) return run_startio_deferred(dev, irp, startio);
    // May call IoStartNextPacket and so recurse, as on Windows (S-DQ-8): said once per
    // device. Nesting is counted per thread: StartIo running for the next request on
    // another CPU (from a DPC) while this one returns is not recursion.
    StartIoNesting outer = t_startio;
    t_startio = {dev, outer.device == dev ? outer.depth + 1 : 1};
    if (t_startio.depth == 2 && !rt.recursion_reported.exchange(true, std::memory_order_relaxed))
        verifier::report(
            verifier::Check::StartIoRecursion,
            fmt::format("StartIo of {} was re-entered through IoStartNextPacket: every request still queued nests one "
                        "more StartIo on the stack, and a long queue overflows it (a Windows kernel stack is 12-24 "
                        "KiB). Call IoSetStartIoAttributes(DeviceObject, TRUE, ...) so that the next packet starts "
                        "after StartIo returns.",
                        device_label(dev)),
            {.irp = irp, .device = dev});
    {
        verifier::drivers::Scope scope(dev->DriverObject);
        startio(dev, irp);
    }
    t_startio = outer;
}

void request_next(PDEVICE_OBJECT dev, bool cancelable, bool by_key, ULONG key, const char* api) {
    if (KeGetCurrentIrql() != DISPATCH_LEVEL)
        verifier::report(verifier::Check::IRQL_NOT_DISPATCH_LEVEL,
                             fmt::format("{} at IRQL {}: it is called at DISPATCH_LEVEL (from StartIo or a DPC)", api,
                                         KeGetCurrentIrql()),
                             {.device = dev});
    if (verifier::startio_hooks()) [[unlikely]]
        verifier::startio_watch::start_next(dev);
    DeviceRuntime& rt = runtime(dev);
    if (rt.deferred_startio.load(std::memory_order_relaxed)) {
        uint32_t s = rt.startio_state.load(std::memory_order_acquire);
        while (s >= kOneActive) {  // a StartIo loop is running: leave it the request
            // Requests that meet before the loop takes them merge; a cancelable one
            // keeps the merged start cancelable (under the cancel lock).
            if (cancelable) rt.next_cancelable.store(true, std::memory_order_relaxed);
            rt.next_by_key.store(by_key, std::memory_order_relaxed);
            rt.next_key.store(key, std::memory_order_relaxed);
            if (rt.startio_state.compare_exchange_weak(s, s | kNextRequested, std::memory_order_acq_rel)) return;
        }
    }
    if (PIRP irp = take_next(dev, cancelable, by_key, key)) call_startio(dev, irp);
}

}  // namespace
}  // namespace ntio::io

using namespace ntio;

extern "C" {

VOID IoStartPacket(PDEVICE_OBJECT DeviceObject, PIRP Irp, PULONG Key, PDRIVER_CANCEL CancelFunction) {
    verifier::check_irql_at_most(DISPATCH_LEVEL, "IoStartPacket");
    // Noted before the IRP is in the queue, where another CPU's StartIo may finish it.
    if (verifier::irp_hooks()) [[unlikely]]
        verifier::irps::note(Irp, verifier::irps::Step::queued, DeviceObject);
    KIRQL old = KfRaiseIrql(DISPATCH_LEVEL);
    KIRQL cancel_irql = DISPATCH_LEVEL;
    if (CancelFunction) {
        IoAcquireCancelSpinLock(&cancel_irql);
        IoSetCancelRoutine(Irp, CancelFunction);
    }
    BOOLEAN queued = Key ? KeInsertByKeyDeviceQueue(&DeviceObject->DeviceQueue, &Irp->Tail.Overlay.DeviceQueueEntry, *Key)
                         : KeInsertDeviceQueue(&DeviceObject->DeviceQueue, &Irp->Tail.Overlay.DeviceQueueEntry);
    if (queued && trace::enabled()) [[unlikely]]
        trace::irp_event(trace::Kind::queued, Irp, DeviceObject);
    if (!queued) {
        __atomic_store_n(&DeviceObject->CurrentIrp, Irp, __ATOMIC_RELAXED);
        if (io::runtime(DeviceObject).noncancelable.load(std::memory_order_relaxed)) IoSetCancelRoutine(Irp, nullptr);
        if (CancelFunction) IoReleaseCancelSpinLock(cancel_irql);
        io::call_startio(DeviceObject, Irp);
    } else if (CancelFunction) {
        // Cancelled before it was queued (S-CAN-5d): hand it to the cancel routine now.
        if (Irp->Cancel && IoSetCancelRoutine(Irp, nullptr)) {
            Irp->CancelIrql = old;
            io::call_cancel_routine(CancelFunction, DeviceObject, Irp, old);  // releases the lock, to `old`
            KfRaiseIrql(DISPATCH_LEVEL);
        } else {
            IoReleaseCancelSpinLock(cancel_irql);
        }
    }
    KeLowerIrql(old);
}

VOID IoStartNextPacket(PDEVICE_OBJECT DeviceObject, BOOLEAN Cancelable) {
    io::request_next(DeviceObject, Cancelable, false, 0, "IoStartNextPacket");
}

VOID IoStartNextPacketByKey(PDEVICE_OBJECT DeviceObject, BOOLEAN Cancelable, ULONG Key) {
    io::request_next(DeviceObject, Cancelable, true, Key, "IoStartNextPacketByKey");
}

VOID IoSetStartIoAttributes(PDEVICE_OBJECT DeviceObject, BOOLEAN DeferredStartIo, BOOLEAN NonCancelable) {
    io::DeviceRuntime& rt = io::runtime(DeviceObject);
    if (DeferredStartIo) rt.deferred_startio.store(true);  // set-only (S-DQ-9)
    if (NonCancelable) rt.noncancelable.store(true);
}

}  // extern "C"
