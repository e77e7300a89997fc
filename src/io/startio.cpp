// StartIo (S-DQ-5..10): IoStartPacket queues an IRP on the device queue, or, when
// the device is idle, makes it CurrentIrp and calls the driver's StartIo at
// DISPATCH_LEVEL inside the caller's dispatch routine. IoStartNextPacket starts the
// next one; called from StartIo it recurses, exactly as on Windows, unless the
// driver chose DeferredStartIo (then the outermost StartIo call loops instead).
#include "io/iomgr.hpp"
#include "ke/spin.hpp"
#include "verifier/report.hpp"

namespace ntio::io {
namespace {

void start_next(PDEVICE_OBJECT dev, bool cancelable, bool by_key, ULONG key);

void call_startio(PDEVICE_OBJECT dev, PIRP irp) {
    DeviceRuntime& rt = runtime(dev);
    PDRIVER_STARTIO startio = dev->DriverObject->DriverStartIo;
    if (!startio) {
        verifier::driver_bug("DRIVER_VERIFIER_IOMANAGER_VIOLATION",
                             fmt::format("IoStartPacket/IoStartNextPacket on {} but its driver has no DriverStartIo",
                                         device_label(dev)));
        return;
    }
    if (!rt.deferred_startio.load(std::memory_order_relaxed)) {
        startio(dev, irp);  // may call IoStartNextPacket and so recurse (S-DQ-8)
        return;
    }
    rt.startio_active.fetch_add(1);
    startio(dev, irp);
    // DeferredStartIo: the outermost call starts what StartIo asked for, in a loop.
    while (rt.startio_active.load() == 1 && rt.next_requested.exchange(false)) {
        rt.startio_active.fetch_sub(1);
        start_next(dev, rt.next_cancelable, rt.next_by_key, rt.next_key);
        rt.startio_active.fetch_add(1);
    }
    rt.startio_active.fetch_sub(1);
}

void start_next(PDEVICE_OBJECT dev, bool cancelable, bool by_key, ULONG key) {
    DeviceRuntime& rt = runtime(dev);
    KIRQL cancel_irql = DISPATCH_LEVEL;
    if (cancelable) IoAcquireCancelSpinLock(&cancel_irql);
    dev->CurrentIrp = nullptr;
    PKDEVICE_QUEUE_ENTRY e = by_key ? KeRemoveByKeyDeviceQueue(&dev->DeviceQueue, key)
                                    : KeRemoveDeviceQueue(&dev->DeviceQueue);
    if (!e) {
        if (cancelable) IoReleaseCancelSpinLock(cancel_irql);
        return;
    }
    PIRP irp = CONTAINING_RECORD(e, IRP, Tail.Overlay.DeviceQueueEntry);
    dev->CurrentIrp = irp;
    if (rt.noncancelable.load(std::memory_order_relaxed)) IoSetCancelRoutine(irp, nullptr);
    if (cancelable) IoReleaseCancelSpinLock(cancel_irql);
    call_startio(dev, irp);
}

void request_next(PDEVICE_OBJECT dev, bool cancelable, bool by_key, ULONG key, const char* api) {
    if (KeGetCurrentIrql() != DISPATCH_LEVEL)
        verifier::driver_bug("IRQL_NOT_DISPATCH_LEVEL",
                             fmt::format("{} at IRQL {}: it is called at DISPATCH_LEVEL (from StartIo or a DPC)", api,
                                         KeGetCurrentIrql()));
    DeviceRuntime& rt = runtime(dev);
    if (rt.deferred_startio.load(std::memory_order_relaxed) && rt.startio_active.load() > 0) {
        rt.next_cancelable = cancelable;
        rt.next_by_key = by_key;
        rt.next_key = key;
        rt.next_requested.store(true);
        return;
    }
    start_next(dev, cancelable, by_key, key);
}

}  // namespace
}  // namespace ntio::io

using namespace ntio;

extern "C" {

VOID IoStartPacket(PDEVICE_OBJECT DeviceObject, PIRP Irp, PULONG Key, PDRIVER_CANCEL CancelFunction) {
    verifier::check_irql_at_most(DISPATCH_LEVEL, "IoStartPacket");
    KIRQL old = KfRaiseIrql(DISPATCH_LEVEL);
    KIRQL cancel_irql = DISPATCH_LEVEL;
    if (CancelFunction) {
        IoAcquireCancelSpinLock(&cancel_irql);
        IoSetCancelRoutine(Irp, CancelFunction);
    }
    BOOLEAN queued = Key ? KeInsertByKeyDeviceQueue(&DeviceObject->DeviceQueue, &Irp->Tail.Overlay.DeviceQueueEntry, *Key)
                         : KeInsertDeviceQueue(&DeviceObject->DeviceQueue, &Irp->Tail.Overlay.DeviceQueueEntry);
    if (!queued) {
        DeviceObject->CurrentIrp = Irp;
        if (io::runtime(DeviceObject).noncancelable.load(std::memory_order_relaxed)) IoSetCancelRoutine(Irp, nullptr);
        if (CancelFunction) IoReleaseCancelSpinLock(cancel_irql);
        io::call_startio(DeviceObject, Irp);
    } else if (CancelFunction) {
        // Cancelled before it was queued (S-CAN-5d): hand it to the cancel routine now.
        if (Irp->Cancel && IoSetCancelRoutine(Irp, nullptr)) {
            Irp->CancelIrql = old;
            CancelFunction(DeviceObject, Irp);  // releases the cancel lock, to `old`
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
