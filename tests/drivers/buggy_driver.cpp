#include "drivers/buggy_driver.hpp"

#include <mutex>
#include <utility>
#include <vector>

namespace buggy {
namespace {

struct Globals {
    Config config;
    PDEVICE_OBJECT device = nullptr, lower = nullptr, startio = nullptr;
    KSPIN_LOCK lock_a = 0, lock_b = 0, never_held = 0;
    std::mutex blocks_lock;
    std::vector<std::pair<PVOID, PVOID>> blocks;
    std::atomic<int> cancelled{0};
    PVOID leaked_at_entry = nullptr;
    PVOID thread = nullptr;  // the worker's thread object, referenced
    KEVENT stop_thread;
};
Globals* g = new Globals();

// IOCTL_PENDING_NOT_MARKED: the request is finished 10 ms later by a timer DPC.
struct Later {
    KTIMER timer;
    KDPC dpc;
    PIRP irp;
};

NTSTATUS Complete(PIRP Irp, NTSTATUS status, ULONG_PTR information = 0) {
    Irp->IoStatus.Status = status;
    Irp->IoStatus.Information = information;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return status;
}

VOID FinishLater(PKDPC, PVOID context, PVOID, PVOID) {
    auto* l = static_cast<Later*>(context);
    Complete(l->irp, STATUS_SUCCESS);
    delete l;
}

VOID CancelRoutine(PDEVICE_OBJECT, PIRP Irp) {
    IoReleaseCancelSpinLock(Irp->CancelIrql);
    g->cancelled++;
    Complete(Irp, STATUS_CANCELLED);
}

// Pageable on Windows: PAGED_CODE() says so.
void PageableHelper() { PAGED_CODE(); }

NTSTATUS CallLower(bool wait_if_pending) {
    KEVENT done;
    IO_STATUS_BLOCK iosb{};
    KeInitializeEvent(&done, NotificationEvent, FALSE);
    PIRP irp = IoBuildDeviceIoControlRequest(IOCTL_OK, g->lower, nullptr, 0, nullptr, 0, FALSE, &done, &iosb);
    if (!irp) return STATUS_INSUFFICIENT_RESOURCES;
    NTSTATUS s = IoCallDriver(g->lower, irp);
    if (wait_if_pending && s == STATUS_PENDING) {
        KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, nullptr);
        s = iosb.Status;
    }
    return s;  // without the wait: STATUS_PENDING is taken for the final status (the bug)
}

NTSTATUS BuggyControl(PDEVICE_OBJECT, PIRP Irp) {
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    KIRQL old;
    switch (sl->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_OK:
        return Complete(Irp, STATUS_SUCCESS);
    case IOCTL_COMPLETE_TWICE:
        Irp->IoStatus.Status = STATUS_SUCCESS;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return STATUS_SUCCESS;
    case IOCTL_COMPLETE_PENDING:
        Irp->IoStatus.Status = STATUS_PENDING;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return STATUS_SUCCESS;
    case IOCTL_PENDING_NOT_MARKED: {
        auto* l = new Later;
        l->irp = Irp;
        KeInitializeTimer(&l->timer);
        KeInitializeDpc(&l->dpc, FinishLater, l);
        LARGE_INTEGER due;
        due.QuadPart = -10 * 10000LL;
        KeSetTimer(&l->timer, due, &l->dpc);
        return STATUS_PENDING;  // no IoMarkIrpPending
    }
    case IOCTL_MARKED_NOT_PENDING:
        IoMarkIrpPending(Irp);
        Complete(Irp, STATUS_SUCCESS);
        return STATUS_SUCCESS;
    case IOCTL_CANCEL_AFTER_COMPLETE:
        Complete(Irp, STATUS_SUCCESS);
        IoCancelIrp(Irp);  // the IRP is gone
        return STATUS_SUCCESS;
    case IOCTL_FORWARD_NO_LOCATION: {
        NTSTATUS s = IoCallDriver(g->lower, Irp);  // no IoSkip/IoCopy, and no location below anyway
        if (s == STATUS_INVALID_DEVICE_STATE) return Complete(Irp, s);  // ntio refused to send it
        return s;
    }
    case IOCTL_CANCEL_ROUTINE_LEFT:
        IoSetCancelRoutine(Irp, CancelRoutine);
        return Complete(Irp, STATUS_SUCCESS);
    case IOCTL_WAIT_AT_DISPATCH: {
        LARGE_INTEGER ten_ms;
        ten_ms.QuadPart = -10 * 10000LL;
        KeAcquireSpinLock(&g->lock_a, &old);
        KeDelayExecutionThread(KernelMode, FALSE, &ten_ms);
        KeReleaseSpinLock(&g->lock_a, old);
        return Complete(Irp, STATUS_SUCCESS);
    }
    case IOCTL_PAGED_CODE_AT_DISPATCH:
        KeAcquireSpinLock(&g->lock_a, &old);
        PageableHelper();
        KeReleaseSpinLock(&g->lock_a, old);
        return Complete(Irp, STATUS_SUCCESS);
    case IOCTL_RELEASE_NOT_HELD:
        KeRaiseIrql(DISPATCH_LEVEL, &old);
        KeReleaseSpinLock(&g->never_held, old);
        return Complete(Irp, STATUS_SUCCESS);
    case IOCTL_RELEASE_WRONG_IRQL:
        KeAcquireSpinLock(&g->lock_a, &old);
        KeReleaseSpinLock(&g->lock_a, DISPATCH_LEVEL);  // should be `old`
        KeLowerIrql(old);
        return Complete(Irp, STATUS_SUCCESS);
    case IOCTL_RETURN_RAISED:
        KeRaiseIrql(DISPATCH_LEVEL, &old);
        return Complete(Irp, STATUS_SUCCESS);
    case IOCTL_LOCK_A_THEN_B:
        KeAcquireSpinLock(&g->lock_a, &old);
        KeAcquireSpinLockAtDpcLevel(&g->lock_b);
        KeReleaseSpinLockFromDpcLevel(&g->lock_b);
        KeReleaseSpinLock(&g->lock_a, old);
        return Complete(Irp, STATUS_SUCCESS);
    case IOCTL_LOCK_B_THEN_A:
        KeAcquireSpinLock(&g->lock_b, &old);
        KeAcquireSpinLockAtDpcLevel(&g->lock_a);
        KeReleaseSpinLockFromDpcLevel(&g->lock_a);
        KeReleaseSpinLock(&g->lock_b, old);
        return Complete(Irp, STATUS_SUCCESS);
    case IOCTL_ALLOCATE_TWO: {
        PVOID first = ExAllocatePoolWithTag(NonPagedPoolNx, 16, kPoolTagFirst);
        if (!first) return Complete(Irp, STATUS_INSUFFICIENT_RESOURCES);
        PVOID second = ExAllocatePoolWithTag(NonPagedPoolNx, 32, kPoolTagSecond);
        if (!second) return Complete(Irp, STATUS_INSUFFICIENT_RESOURCES);  // the planted bug: `first` leaks
        std::lock_guard lock(g->blocks_lock);
        g->blocks.emplace_back(first, second);
        return Complete(Irp, STATUS_SUCCESS);
    }
    case IOCTL_FREE_BLOCKS: {
        std::lock_guard lock(g->blocks_lock);
        for (auto [a, b] : g->blocks) {
            ExFreePoolWithTag(a, kPoolTagFirst);
            ExFreePoolWithTag(b, kPoolTagSecond);
        }
        g->blocks.clear();
        return Complete(Irp, STATUS_SUCCESS);
    }
    case IOCTL_CALL_LOWER_NO_WAIT:
        return Complete(Irp, CallLower(false));
    case IOCTL_CALL_LOWER:
        return Complete(Irp, CallLower(true));
    case IOCTL_HOLD:
        IoMarkIrpPending(Irp);
        IoSetCancelRoutine(Irp, CancelRoutine);
        if (Irp->Cancel && IoSetCancelRoutine(Irp, nullptr)) Complete(Irp, STATUS_CANCELLED);
        return STATUS_PENDING;
    case IOCTL_ALLOCATE_IRP_KEEP:
        IoAllocateIrp(1, FALSE);  // never freed
        return Complete(Irp, STATUS_SUCCESS);
    case IOCTL_USE_FREED_IRP: {
        PIRP mine = IoAllocateIrp(g->lower->StackSize, FALSE);
        IoFreeIrp(mine);
        IoCallDriver(g->lower, mine);  // each of these is on a freed IRP
        IoFreeIrp(mine);
        IoCompleteRequest(mine, IO_NO_INCREMENT);
        return Complete(Irp, STATUS_SUCCESS);
    }
    default:
        return Complete(Irp, STATUS_INVALID_DEVICE_REQUEST);
    }
}

NTSTATUS StartIoControl(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    IoMarkIrpPending(Irp);
    IoStartPacket(DeviceObject, Irp, nullptr, nullptr);
    return STATUS_PENDING;
}

VOID StartIo(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    Complete(Irp, STATUS_SUCCESS);
    if (!g->config.stall_startio) IoStartNextPacket(DeviceObject, FALSE);
}

NTSTATUS Dispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    UCHAR major = IoGetCurrentIrpStackLocation(Irp)->MajorFunction;
    if (major == IRP_MJ_DEVICE_CONTROL && DeviceObject == g->device) return BuggyControl(DeviceObject, Irp);
    if (major == IRP_MJ_DEVICE_CONTROL && DeviceObject == g->startio) return StartIoControl(DeviceObject, Irp);
    if (major == IRP_MJ_CLEANUP && DeviceObject == g->startio) {
        // What stall_startio forgot, late: start what is queued until the queue is idle.
        KIRQL old;
        KeRaiseIrql(DISPATCH_LEVEL, &old);
        while (__atomic_load_n(&DeviceObject->DeviceQueue.Busy, __ATOMIC_ACQUIRE)) IoStartNextPacket(DeviceObject, FALSE);
        KeLowerIrql(old);
    }
    return Complete(Irp, STATUS_SUCCESS);  // create, close, cleanup, and everything the lower device gets
}

VOID Worker(PVOID) { KeWaitForSingleObject(&g->stop_thread, Executive, KernelMode, FALSE, nullptr); }

UNICODE_STRING text(const wchar_t* s) {
    UNICODE_STRING u;
    RtlInitUnicodeString(&u, s);
    return u;
}

VOID Unload(PDRIVER_OBJECT) {
    if (!g->config.leave_thread && g->thread) {
        KeSetEvent(&g->stop_thread, IO_NO_INCREMENT, FALSE);
        KeWaitForSingleObject(g->thread, Executive, KernelMode, FALSE, nullptr);
        ObDereferenceObject(g->thread);
        g->thread = nullptr;
    }
    {
        std::lock_guard lock(g->blocks_lock);
        for (auto [a, b] : g->blocks) {
            ExFreePoolWithTag(a, kPoolTagFirst);
            ExFreePoolWithTag(b, kPoolTagSecond);
        }
        g->blocks.clear();
    }
    UNICODE_STRING startio_link = text(L"\\DosDevices\\BuggyStartIo");
    IoDeleteSymbolicLink(&startio_link);
    if (!g->config.leave_link) {
        UNICODE_STRING link = text(L"\\DosDevices\\Buggy");
        IoDeleteSymbolicLink(&link);
    }
    IoDeleteDevice(g->device);
    IoDeleteDevice(g->startio);
    if (!g->config.leave_device) IoDeleteDevice(g->lower);
}

}  // namespace

Config& config() { return g->config; }

void reset() {
    g->config = Config();
    g->device = g->lower = g->startio = nullptr;
    g->blocks.clear();
    g->cancelled = 0;
    g->leaked_at_entry = nullptr;
    g->thread = nullptr;
}

int blocks_held() {
    std::lock_guard lock(g->blocks_lock);
    return static_cast<int>(g->blocks.size());
}

int holds_cancelled() { return g->cancelled.load(); }

void stop_left_thread() {
    KeSetEvent(&g->stop_thread, IO_NO_INCREMENT, FALSE);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING) {
    for (auto& f : DriverObject->MajorFunction) f = Dispatch;
    DriverObject->DriverStartIo = StartIo;
    DriverObject->DriverUnload = Unload;
    KeInitializeSpinLock(&g->lock_a);
    KeInitializeSpinLock(&g->lock_b);
    KeInitializeSpinLock(&g->never_held);
    KeInitializeEvent(&g->stop_thread, NotificationEvent, FALSE);
    UNICODE_STRING name = text(kDevice), lower = text(kLowerDevice), startio = text(kStartIoDevice);
    NTSTATUS s = IoCreateDevice(DriverObject, 0, &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &g->device);
    if (NT_SUCCESS(s)) s = IoCreateDevice(DriverObject, 0, &lower, FILE_DEVICE_UNKNOWN, 0, FALSE, &g->lower);
    if (NT_SUCCESS(s)) s = IoCreateDevice(DriverObject, 0, &startio, FILE_DEVICE_UNKNOWN, 0, FALSE, &g->startio);
    if (!NT_SUCCESS(s)) return s;
    g->device->Flags |= DO_BUFFERED_IO;
    g->startio->Flags |= DO_BUFFERED_IO;
    UNICODE_STRING link = text(L"\\DosDevices\\Buggy"), startio_link = text(L"\\DosDevices\\BuggyStartIo");
    IoCreateSymbolicLink(&link, &name);
    IoCreateSymbolicLink(&startio_link, &startio);
    if (g->config.leak_pool_at_unload) g->leaked_at_entry = ExAllocatePoolWithTag(NonPagedPoolNx, 24, kPoolTagLeak);
    {  // a worker that waits to be told to stop (DriverUnload does, unless leave_thread)
        OBJECT_ATTRIBUTES oa;
        InitializeObjectAttributes(&oa, nullptr, OBJ_KERNEL_HANDLE, nullptr, nullptr);
        HANDLE thread;
        s = PsCreateSystemThread(&thread, THREAD_ALL_ACCESS, &oa, nullptr, nullptr, Worker, nullptr);
        if (NT_SUCCESS(s)) {
            ObReferenceObjectByHandle(thread, SYNCHRONIZE, nullptr, KernelMode, &g->thread, nullptr);
            ZwClose(thread);
        }
    }
    return s;
}

}  // namespace buggy
