#include "drivers/queue_driver.hpp"

#include <cstring>
#include <thread>

namespace queuedrv {
namespace {

State* g = new State();

struct CsqExtension {
    IO_CSQ csq;
    KSPIN_LOCK lock;
    LIST_ENTRY queue;
};

// ---- StartIo device -------------------------------------------------------------------

VOID Cancel(PDEVICE_OBJECT dev, PIRP irp) {
    g->cancel_calls++;
    g->cancel_irql = KeGetCurrentIrql();
    if (irp == dev->CurrentIrp) {  // S-DQ-10: the in-progress path sees Irp->Cancel
        IoReleaseCancelSpinLock(irp->CancelIrql);
        return;
    }
    BOOLEAN removed = KeRemoveEntryDeviceQueue(&dev->DeviceQueue, &irp->Tail.Overlay.DeviceQueueEntry);
    IoReleaseCancelSpinLock(irp->CancelIrql);
    if (removed) {
        irp->IoStatus.Status = STATUS_CANCELLED;
        irp->IoStatus.Information = 0;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
    }
}

VOID StartIo(PDEVICE_OBJECT dev, PIRP irp) {
    g->startio_calls++;
    g->startio_irql = KeGetCurrentIrql();
    volatile char marker = 0;
    auto here = reinterpret_cast<uintptr_t>(&marker);
    if (here < g->lowest_stack) g->lowest_stack = here;
    if (g->inside_dispatch) g->started_inside_dispatch++;
    int d = ++g->depth;
    int m = g->max_depth.load();
    while (d > m && !g->max_depth.compare_exchange_weak(m, d)) {
    }
    if (irp->AssociatedIrp.SystemBuffer) {
        ULONG tag;
        std::memcpy(&tag, irp->AssociatedIrp.SystemBuffer, sizeof tag);
        std::lock_guard l(g->lock);
        g->startio_order.push_back(tag);
    }
    if (g->mode == StartIoMode::gate) {
        g->gate_entered = true;
        while (!g->gate_open) std::this_thread::yield();
    }
    KIRQL irql;
    IoAcquireCancelSpinLock(&irql);
    if (irp != dev->CurrentIrp || irp->Cancel) {  // the article's check
        IoReleaseCancelSpinLock(irql);
        if (irp == dev->CurrentIrp) {
            irp->IoStatus.Status = STATUS_CANCELLED;
            irp->IoStatus.Information = 0;
            IoCompleteRequest(irp, IO_NO_INCREMENT);
            IoStartNextPacket(dev, TRUE);
        }
        --g->depth;
        return;
    }
    IoSetCancelRoutine(irp, nullptr);
    IoReleaseCancelSpinLock(irql);
    if (g->mode == StartIoMode::complete) {
        irp->IoStatus.Status = STATUS_SUCCESS;
        irp->IoStatus.Information = 0;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        IoStartNextPacket(dev, TRUE);
    }
    --g->depth;
}

// ---- cancel-safe queue device -------------------------------------------------------------

CsqExtension* csq_ext(PIO_CSQ csq) { return CONTAINING_RECORD(csq, CsqExtension, csq); }

VOID CsqInsert(PIO_CSQ csq, PIRP irp) { InsertTailList(&csq_ext(csq)->queue, &irp->Tail.Overlay.ListEntry); }
VOID CsqRemove(PIO_CSQ, PIRP irp) { RemoveEntryList(&irp->Tail.Overlay.ListEntry); }
PIRP CsqPeek(PIO_CSQ csq, PIRP irp, PVOID peek) {
    CsqExtension* e = csq_ext(csq);
    PLIST_ENTRY next = irp ? irp->Tail.Overlay.ListEntry.Flink : e->queue.Flink;
    for (; next != &e->queue; next = next->Flink) {
        PIRP candidate = CONTAINING_RECORD(next, IRP, Tail.Overlay.ListEntry);
        if (!peek || IoGetCurrentIrpStackLocation(candidate)->FileObject == peek) return candidate;
    }
    return nullptr;
}
VOID CsqAcquire(PIO_CSQ csq, PKIRQL irql) { KeAcquireSpinLock(&csq_ext(csq)->lock, irql); }
VOID CsqRelease(PIO_CSQ csq, KIRQL irql) { KeReleaseSpinLock(&csq_ext(csq)->lock, irql); }
VOID CsqCompleteCanceled(PIO_CSQ, PIRP irp) {
    irp->IoStatus.Status = STATUS_CANCELLED;
    irp->IoStatus.Information = 0;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
}

// ---- dispatch ------------------------------------------------------------------------------

NTSTATUS Dispatch(PDEVICE_OBJECT dev, PIRP irp) {
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(irp);
    if (sp->MajorFunction == IRP_MJ_DEVICE_CONTROL && sp->Parameters.DeviceIoControl.IoControlCode == IOCTL_QUEUE) {
        IoMarkIrpPending(irp);
        if (dev == g->startio_device) {
            g->inside_dispatch = true;
            IoStartPacket(dev, irp, nullptr, Cancel);
            g->inside_dispatch = false;
        } else {
            IoCsqInsertIrp(&static_cast<CsqExtension*>(dev->DeviceExtension)->csq, irp, nullptr);
        }
        return STATUS_PENDING;
    }
    if (sp->MajorFunction == IRP_MJ_CLEANUP && dev == g->csq_device) {
        // The driver cancels what it holds for this file (S-CAN-13).
        auto* e = static_cast<CsqExtension*>(dev->DeviceExtension);
        while (PIRP queued = IoCsqRemoveNextIrp(&e->csq, sp->FileObject)) {
            g->csq_cleanup_cancelled++;
            queued->IoStatus.Status = STATUS_CANCELLED;
            queued->IoStatus.Information = 0;
            IoCompleteRequest(queued, IO_NO_INCREMENT);
        }
    }
    NTSTATUS status = (sp->MajorFunction == IRP_MJ_CREATE || sp->MajorFunction == IRP_MJ_CLOSE ||
                       sp->MajorFunction == IRP_MJ_CLEANUP)
                          ? STATUS_SUCCESS
                          : STATUS_INVALID_DEVICE_REQUEST;
    irp->IoStatus.Status = status;
    irp->IoStatus.Information = 0;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return status;
}

NTSTATUS make(PDRIVER_OBJECT driver, const wchar_t* nt, const wchar_t* dos, ULONG ext, PDEVICE_OBJECT* out) {
    UNICODE_STRING ntu, dosu;
    RtlInitUnicodeString(&ntu, nt);
    RtlInitUnicodeString(&dosu, dos);
    NTSTATUS s = IoCreateDevice(driver, ext, &ntu, FILE_DEVICE_UNKNOWN, 0, FALSE, out);
    if (!NT_SUCCESS(s)) return s;
    (*out)->Flags |= DO_BUFFERED_IO;
    return IoCreateSymbolicLink(&dosu, &ntu);
}

VOID Unload(PDRIVER_OBJECT driver) {
    UNICODE_STRING a = RTL_CONSTANT_STRING(L"\\DosDevices\\TestStartIo");
    UNICODE_STRING b = RTL_CONSTANT_STRING(L"\\DosDevices\\TestCsq");
    IoDeleteSymbolicLink(&a);
    IoDeleteSymbolicLink(&b);
    while (driver->DeviceObject) IoDeleteDevice(driver->DeviceObject);
}

}  // namespace

State& state() { return *g; }

void reset() {
    g->mode = StartIoMode::hold;
    g->startio_calls = g->cancel_calls = g->depth = g->max_depth = 0;
    g->lowest_stack = UINTPTR_MAX;
    g->startio_irql = g->cancel_irql = 0xff;
    g->gate_entered = g->gate_open = false;
    g->inside_dispatch = false;
    g->started_inside_dispatch = 0;
    g->csq_cleanup_cancelled = 0;
    std::lock_guard l(g->lock);
    g->startio_order.clear();
}

bool complete_current(NTSTATUS status) {
    PDEVICE_OBJECT dev = g->startio_device;
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    PIRP irp = dev->CurrentIrp;
    if (irp) {
        irp->IoStatus.Status = status;
        irp->IoStatus.Information = 0;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        IoStartNextPacket(dev, TRUE);
    }
    KeLowerIrql(old);
    return irp != nullptr;
}

bool complete_next_csq(NTSTATUS status) {
    auto* e = static_cast<CsqExtension*>(g->csq_device->DeviceExtension);
    PIRP irp = IoCsqRemoveNextIrp(&e->csq, nullptr);
    if (!irp) return false;
    irp->IoStatus.Status = status;
    irp->IoStatus.Information = 0;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return true;
}

void release_gate() { g->gate_open = true; }

NTSTATUS DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING) {
    for (auto& f : driver->MajorFunction) f = Dispatch;
    driver->DriverStartIo = StartIo;
    driver->DriverUnload = Unload;
    NTSTATUS s = make(driver, L"\\Device\\TestStartIo", L"\\DosDevices\\TestStartIo", 0, &g->startio_device);
    if (!NT_SUCCESS(s)) return s;
    s = make(driver, L"\\Device\\TestCsq", L"\\DosDevices\\TestCsq", sizeof(CsqExtension), &g->csq_device);
    if (!NT_SUCCESS(s)) return s;
    auto* e = static_cast<CsqExtension*>(g->csq_device->DeviceExtension);
    KeInitializeSpinLock(&e->lock);
    InitializeListHead(&e->queue);
    return IoCsqInitialize(&e->csq, CsqInsert, CsqRemove, CsqPeek, CsqAcquire, CsqRelease, CsqCompleteCanceled);
}

}  // namespace queuedrv
