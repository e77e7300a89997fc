#include "drivers/stress_driver.hpp"

#include <cstring>

namespace stressdrv {
namespace {

Counters* g = new Counters();
PDEVICE_OBJECT g_startio = nullptr, g_csq = nullptr, g_inline = nullptr;

struct StartIoExtension {
    KDPC dpc;
};
struct CsqExtension {
    IO_CSQ csq;
    KSPIN_LOCK lock;
    LIST_ENTRY queue;
};

void complete_with_tag(PIRP irp) {
    // METHOD_BUFFERED: the system buffer holds the 8-byte tag in; leave it there as the output.
    irp->IoStatus.Status = STATUS_SUCCESS;
    irp->IoStatus.Information = sizeof(uint64_t);
    g->completed_success++;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
}

void complete_cancelled(PIRP irp) {
    irp->IoStatus.Status = STATUS_CANCELLED;
    irp->IoStatus.Information = 0;
    g->completed_cancelled++;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
}

// ---- StartIo device: the article's pattern, with a DPC in place of the 3-second wait --------

VOID CancelQueued(PDEVICE_OBJECT dev, PIRP irp) {
    if (irp == dev->CurrentIrp) {  // StartIo will see Irp->Cancel
        IoReleaseCancelSpinLock(irp->CancelIrql);
        return;
    }
    BOOLEAN removed = KeRemoveEntryDeviceQueue(&dev->DeviceQueue, &irp->Tail.Overlay.DeviceQueueEntry);
    IoReleaseCancelSpinLock(irp->CancelIrql);
    if (removed) complete_cancelled(irp);
}

VOID StartIo(PDEVICE_OBJECT dev, PIRP irp) {
    KIRQL irql;
    IoAcquireCancelSpinLock(&irql);
    if (irp != dev->CurrentIrp || irp->Cancel) {
        IoReleaseCancelSpinLock(irql);
        if (irp == dev->CurrentIrp) {
            complete_cancelled(irp);
            IoStartNextPacket(dev, TRUE);
        }
        return;
    }
    IoSetCancelRoutine(irp, nullptr);
    IoReleaseCancelSpinLock(irql);
    KeInsertQueueDpc(&static_cast<StartIoExtension*>(dev->DeviceExtension)->dpc, irp, nullptr);
}

VOID DeviceDone(PKDPC, PVOID context, PVOID irp, PVOID) {
    auto* dev = static_cast<PDEVICE_OBJECT>(context);
    complete_with_tag(static_cast<PIRP>(irp));
    IoStartNextPacket(dev, TRUE);
}

// ---- cancel-safe queue device ----------------------------------------------------------------

CsqExtension* csq_ext(PIO_CSQ csq) { return CONTAINING_RECORD(csq, CsqExtension, csq); }
VOID CsqInsert(PIO_CSQ csq, PIRP irp) { InsertTailList(&csq_ext(csq)->queue, &irp->Tail.Overlay.ListEntry); }
VOID CsqRemove(PIO_CSQ, PIRP irp) { RemoveEntryList(&irp->Tail.Overlay.ListEntry); }
PIRP CsqPeek(PIO_CSQ csq, PIRP irp, PVOID file) {
    CsqExtension* e = csq_ext(csq);
    for (PLIST_ENTRY next = irp ? irp->Tail.Overlay.ListEntry.Flink : e->queue.Flink; next != &e->queue;
         next = next->Flink) {
        PIRP candidate = CONTAINING_RECORD(next, IRP, Tail.Overlay.ListEntry);
        if (!file || IoGetCurrentIrpStackLocation(candidate)->FileObject == file) return candidate;
    }
    return nullptr;
}
VOID CsqAcquire(PIO_CSQ csq, PKIRQL irql) { KeAcquireSpinLock(&csq_ext(csq)->lock, irql); }
VOID CsqRelease(PIO_CSQ csq, KIRQL irql) { KeReleaseSpinLock(&csq_ext(csq)->lock, irql); }
VOID CsqCompleteCanceled(PIO_CSQ, PIRP irp) { complete_cancelled(irp); }

PIO_CSQ the_csq() { return &static_cast<CsqExtension*>(g_csq->DeviceExtension)->csq; }

// ---- dispatch ----------------------------------------------------------------------------------

NTSTATUS Dispatch(PDEVICE_OBJECT dev, PIRP irp) {
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(irp);
    NTSTATUS status = STATUS_SUCCESS;
    switch (sp->MajorFunction) {
    case IRP_MJ_DEVICE_CONTROL:
        if (sp->Parameters.DeviceIoControl.IoControlCode != IOCTL_STRESS ||
            sp->Parameters.DeviceIoControl.InputBufferLength != sizeof(uint64_t) ||
            sp->Parameters.DeviceIoControl.OutputBufferLength != sizeof(uint64_t)) {
            status = STATUS_INVALID_PARAMETER;
            break;
        }
        g->dispatched++;
        if (dev == g_inline) {
            complete_with_tag(irp);
            return STATUS_SUCCESS;
        }
        IoMarkIrpPending(irp);
        if (dev == g_startio)
            IoStartPacket(dev, irp, nullptr, CancelQueued);
        else
            IoCsqInsertIrp(the_csq(), irp, nullptr);
        return STATUS_PENDING;
    case IRP_MJ_CLEANUP:
        if (dev == g_csq)
            while (PIRP queued = IoCsqRemoveNextIrp(the_csq(), sp->FileObject)) complete_cancelled(queued);
        break;
    case IRP_MJ_CREATE:
    case IRP_MJ_CLOSE:
        break;
    default:
        status = STATUS_INVALID_DEVICE_REQUEST;
    }
    irp->IoStatus.Status = status;
    irp->IoStatus.Information = 0;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return status;
}

const wchar_t* const kNt[] = {L"\\Device\\StressStartIo", L"\\Device\\StressCsq", L"\\Device\\StressInline"};
const wchar_t* const kDos[] = {L"\\DosDevices\\StressStartIo", L"\\DosDevices\\StressCsq",
                               L"\\DosDevices\\StressInline"};

VOID Unload(PDRIVER_OBJECT driver) {
    KeFlushQueuedDpcs();
    for (const wchar_t* name : kDos) {
        UNICODE_STRING u;
        RtlInitUnicodeString(&u, name);
        IoDeleteSymbolicLink(&u);
    }
    while (driver->DeviceObject) IoDeleteDevice(driver->DeviceObject);
}

}  // namespace

Counters& counters() { return *g; }

void reset() {
    g->dispatched = 0;
    g->completed_success = 0;
    g->completed_cancelled = 0;
}

bool complete_next_csq() {
    PIRP irp = IoCsqRemoveNextIrp(the_csq(), nullptr);
    if (!irp) return false;
    complete_with_tag(irp);
    return true;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING) {
    for (auto& f : driver->MajorFunction) f = Dispatch;
    driver->DriverStartIo = StartIo;
    driver->DriverUnload = Unload;
    PDEVICE_OBJECT* devices[] = {&g_startio, &g_csq, &g_inline};
    ULONG extension_sizes[] = {sizeof(StartIoExtension), sizeof(CsqExtension), 0};
    for (int i = 0; i < 3; ++i) {
        UNICODE_STRING nt, dos;
        RtlInitUnicodeString(&nt, kNt[i]);
        RtlInitUnicodeString(&dos, kDos[i]);
        NTSTATUS s = IoCreateDevice(driver, extension_sizes[i], &nt, FILE_DEVICE_UNKNOWN, 0, FALSE, devices[i]);
        if (!NT_SUCCESS(s)) return s;
        (*devices[i])->Flags |= DO_BUFFERED_IO;
        s = IoCreateSymbolicLink(&dos, &nt);
        if (!NT_SUCCESS(s)) return s;
    }
    KeInitializeDpc(&static_cast<StartIoExtension*>(g_startio->DeviceExtension)->dpc, DeviceDone, g_startio);
    auto* e = static_cast<CsqExtension*>(g_csq->DeviceExtension);
    KeInitializeSpinLock(&e->lock);
    InitializeListHead(&e->queue);
    return IoCsqInitialize(&e->csq, CsqInsert, CsqRemove, CsqPeek, CsqAcquire, CsqRelease, CsqCompleteCanceled);
}

}  // namespace stressdrv
