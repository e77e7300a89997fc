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
    std::atomic<PIRP> startio_held{nullptr};  // the IOCTL_HOLD request StartIo keeps
    PIRP kept = nullptr;                      // IOCTL_COMPLETE_AND_KEEP's IRP, completed and freed since
    KDPC cancel_dpc;                          // IOCTL_CANCEL_KEEPS_LOCK: completes the cancelled IRP
    KDEVICE_QUEUE queue;                      // a device queue of its own, never made busy
    IO_REMOVE_LOCK remove_lock;
    KMUTEX mutex;
    KSEMAPHORE semaphore;  // count 0, limit 1
    FAST_MUTEX fast_mutex;
    ERESOURCE resource;
    EX_PUSH_LOCK push_lock = 0;  // all zero: an unowned push lock
    PAGED_LOOKASIDE_LIST paged_list;
    LOOKASIDE_LIST_EX ex_list;  // paged entries
    char mdl_buffer[64];
};
Globals* g = new Globals();
// In the image (the other globals are on the heap): LookasideLeftAtUnload names where it is.
NPAGED_LOOKASIDE_LIST g_image_list;

// IOCTL_FREE_POOL_WITH_OBJECTS's block, and IOCTL_DELETE_DEVICE_WITH_LIST's extension.
struct PoolObjects {
    ERESOURCE resource;
    NPAGED_LOOKASIDE_LIST list;
    LOOKASIDE_LIST_EX ex_list;
};
struct ListExtension {
    PAGED_LOOKASIDE_LIST list;
};

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

// IOCTL_CANCEL_KEEPS_LOCK's cancel routine: the IRP goes to a DPC to be completed, and
// the routine returns still holding the cancel spin lock (the mistake).
VOID CancelKeepsLock(PDEVICE_OBJECT, PIRP Irp) { KeInsertQueueDpc(&g->cancel_dpc, Irp, nullptr); }

VOID CompleteCancelled(PKDPC, PVOID, PVOID irp, PVOID) { Complete(static_cast<PIRP>(irp), STATUS_CANCELLED); }

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
    case IOCTL_COPY_NO_LOCATION:
        IoCopyCurrentIrpStackLocationToNext(Irp);  // both write below location 1: refused and reported
        IoSetCompletionRoutine(Irp, nullptr, nullptr, TRUE, TRUE, TRUE);
        return Complete(Irp, STATUS_SUCCESS);
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
    case IOCTL_COMPLETE_UNDER_CANCEL_LOCK:
        IoAcquireCancelSpinLock(&old);
        Complete(Irp, STATUS_SUCCESS);  // completion routines would run under the lock
        IoReleaseCancelSpinLock(old);
        return STATUS_SUCCESS;
    case IOCTL_CANCEL_KEEPS_LOCK:
        IoMarkIrpPending(Irp);
        IoSetCancelRoutine(Irp, CancelKeepsLock);
        if (Irp->Cancel && IoSetCancelRoutine(Irp, nullptr)) Complete(Irp, STATUS_CANCELLED);
        return STATUS_PENDING;
    case IOCTL_INFORMATION_TOO_LARGE:
        return Complete(Irp, STATUS_SUCCESS, sl->Parameters.DeviceIoControl.OutputBufferLength + 56);
    case IOCTL_SEND_WITHOUT_ROUTINE: {
        PIRP mine = IoAllocateIrp(g->lower->StackSize, FALSE);
        if (!mine) return Complete(Irp, STATUS_INSUFFICIENT_RESOURCES);
        PIO_STACK_LOCATION next = IoGetNextIrpStackLocation(mine);
        next->MajorFunction = IRP_MJ_DEVICE_CONTROL;
        next->Parameters.DeviceIoControl.IoControlCode = IOCTL_OK;
        IoCallDriver(g->lower, mine);  // no completion routine returns STATUS_MORE_PROCESSING_REQUIRED
        IoFreeIrp(mine);               // works only because the lower device completed it at once
        return Complete(Irp, STATUS_SUCCESS);
    }
    case IOCTL_FREE_CALLERS_IRP:
        IoFreeIrp(Irp);  // the I/O manager's IRP: not ours to free
        return Complete(Irp, STATUS_SUCCESS);
    case IOCTL_REUSE_CALLERS_IRP:
        IoReuseIrp(Irp, STATUS_SUCCESS);  // only IRPs the driver allocated may be reused
        return Complete(Irp, STATUS_SUCCESS);
    case IOCTL_DETACH_NOTHING:
        IoDetachDevice(g->lower);  // nothing was ever attached to it
        return Complete(Irp, STATUS_SUCCESS);
    case IOCTL_DELETE_UNDER_UPPER: {
        UNICODE_STRING bottom_name = RTL_CONSTANT_STRING(L"\\Device\\BuggyBottom");
        UNICODE_STRING top_name = RTL_CONSTANT_STRING(L"\\Device\\BuggyTop");
        PDEVICE_OBJECT bottom, top;
        NTSTATUS s = IoCreateDevice(g->device->DriverObject, 0, &bottom_name, FILE_DEVICE_UNKNOWN, 0, FALSE, &bottom);
        if (!NT_SUCCESS(s)) return Complete(Irp, s);
        s = IoCreateDevice(g->device->DriverObject, 0, &top_name, FILE_DEVICE_UNKNOWN, 0, FALSE, &top);
        if (!NT_SUCCESS(s)) {
            IoDeleteDevice(bottom);
            return Complete(Irp, s);
        }
        bottom->Flags &= ~DO_DEVICE_INITIALIZING;
        top->Flags &= ~DO_DEVICE_INITIALIZING;
        PDEVICE_OBJECT below = IoAttachDeviceToDeviceStack(top, bottom);
        IoDeleteDevice(bottom);  // the upper device is still attached to it
        if (below) IoDetachDevice(below);
        IoDeleteDevice(top);
        return Complete(Irp, below ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL);
    }
    case IOCTL_REMOVE_IDLE_QUEUE:
        KeRaiseIrql(DISPATCH_LEVEL, &old);
        KeRemoveDeviceQueue(&g->queue);  // nothing was inserted: the queue is not busy
        KeLowerIrql(old);
        return Complete(Irp, STATUS_SUCCESS);
    case IOCTL_RELEASE_REMOVE_LOCK_TWICE:
        if (NT_SUCCESS(IoAcquireRemoveLock(&g->remove_lock, Irp))) {
            IoReleaseRemoveLock(&g->remove_lock, Irp);
            IoReleaseRemoveLock(&g->remove_lock, Irp);  // one release too many
        }
        return Complete(Irp, STATUS_SUCCESS);
    case IOCTL_PAGED_POOL_UNDER_LOCK: {
        KeAcquireSpinLock(&g->lock_a, &old);
        PVOID p = ExAllocatePoolWithTag(PagedPool, 16, kPoolTagFirst);  // paged pool at DISPATCH_LEVEL
        KeReleaseSpinLock(&g->lock_a, old);
        if (p) ExFreePoolWithTag(p, kPoolTagFirst);
        return Complete(Irp, STATUS_SUCCESS);
    }
    case IOCTL_RAISE_TO_LOWER: {
        KIRQL inner;
        KeRaiseIrql(DISPATCH_LEVEL, &old);
        KeRaiseIrql(APC_LEVEL, &inner);  // a "raise" that lowers
        KeLowerIrql(old);
        return Complete(Irp, STATUS_SUCCESS);
    }
    case IOCTL_RELEASE_AT_PASSIVE:
        KeAcquireSpinLock(&g->lock_a, &old);
        KeLowerIrql(old);                   // the lock is still held
        KeReleaseSpinLock(&g->lock_a, old);  // at PASSIVE_LEVEL
        return Complete(Irp, STATUS_SUCCESS);
    case IOCTL_LEAVE_CRITICAL_REGION:
        KeLeaveCriticalRegion();
        return Complete(Irp, STATUS_SUCCESS);
    case IOCTL_ACQUIRE_TWICE:
        KeAcquireSpinLock(&g->lock_a, &old);
        KeAcquireSpinLockAtDpcLevel(&g->lock_a);  // its own lock again: on Windows the CPU spins forever
        KeReleaseSpinLockFromDpcLevel(&g->lock_a);
        KeReleaseSpinLock(&g->lock_a, old);
        return Complete(Irp, STATUS_SUCCESS);
    case IOCTL_RELEASE_MUTEX_NOT_OWNED:
        KeReleaseMutex(&g->mutex, FALSE);
        return Complete(Irp, STATUS_SUCCESS);
    case IOCTL_SEMAPHORE_PAST_LIMIT:
        KeReleaseSemaphore(&g->semaphore, IO_NO_INCREMENT, 2, FALSE);
        return Complete(Irp, STATUS_SUCCESS);
    case IOCTL_FAST_MUTEX_TWICE:
        ExAcquireFastMutex(&g->fast_mutex);
        ExAcquireFastMutex(&g->fast_mutex);  // not recursive: on Windows this never returns
        ExReleaseFastMutex(&g->fast_mutex);
        ExReleaseFastMutex(&g->fast_mutex);
        return Complete(Irp, STATUS_SUCCESS);
    case IOCTL_WAIT_FOUR_WITHOUT_BLOCKS: {
        KEVENT events[4];
        PVOID objects[4];
        for (int i = 0; i < 4; ++i) {
            KeInitializeEvent(&events[i], NotificationEvent, TRUE);
            objects[i] = &events[i];
        }
        // More than THREAD_WAIT_OBJECTS (3) needs a KWAIT_BLOCK array.
        NTSTATUS s = KeWaitForMultipleObjects(4, objects, WaitAll, Executive, KernelMode, FALSE, nullptr, nullptr);
        return Complete(Irp, s);
    }
    case IOCTL_RELEASE_RESOURCE_NOT_OWNED:
        KeEnterCriticalRegion();
        ExReleaseResourceLite(&g->resource);
        KeLeaveCriticalRegion();
        return Complete(Irp, STATUS_SUCCESS);
    case IOCTL_RESOURCE_OUTSIDE_REGION:
        ExAcquireResourceExclusiveLite(&g->resource, TRUE);  // no KeEnterCriticalRegion first
        ExReleaseResourceLite(&g->resource);
        return Complete(Irp, STATUS_SUCCESS);
    case IOCTL_PUSH_LOCK_OUTSIDE_REGION:
        ExAcquirePushLockExclusive(&g->push_lock);  // no KeEnterCriticalRegion first
        ExReleasePushLockExclusive(&g->push_lock);
        return Complete(Irp, STATUS_SUCCESS);
    case IOCTL_DELAY_NULL_INTERVAL:
        KeDelayExecutionThread(KernelMode, FALSE, nullptr);
        return Complete(Irp, STATUS_SUCCESS);
    case IOCTL_ASSERT_INPUT:
        ASSERT(sl->Parameters.DeviceIoControl.InputBufferLength >= sizeof(ULONG));
        return Complete(Irp, STATUS_SUCCESS);
    case IOCTL_FREE_NULL:
        ExFreePoolWithTag(nullptr, kPoolTagFirst);
        return Complete(Irp, STATUS_SUCCESS);
    case IOCTL_FREE_WRONG_TAG: {
        PVOID p = ExAllocatePoolWithTag(NonPagedPoolNx, 16, kPoolTagFirst);
        if (p) ExFreePoolWithTag(p, kPoolTagSecond);
        return Complete(Irp, STATUS_SUCCESS);
    }
    case IOCTL_COMPLETE_AND_KEEP:
        g->kept = Irp;
        return Complete(Irp, STATUS_SUCCESS);
    case IOCTL_CANCEL_KEPT:
        if (g->kept) IoCancelIrp(g->kept);  // long gone
        return Complete(Irp, STATUS_SUCCESS);
    case IOCTL_FREE_POOL_WITH_OBJECTS: {
        // The list's type is cache-aligned, so its block is too (S-POOL-1).
        auto* o = static_cast<PoolObjects*>(
            ExAllocatePoolWithTag(NonPagedPoolNxCacheAligned, sizeof(PoolObjects), kPoolTagObjects));
        if (!o) return Complete(Irp, STATUS_INSUFFICIENT_RESOURCES);
        ExInitializeResourceLite(&o->resource);
        ExInitializeNPagedLookasideList(&o->list, nullptr, nullptr, POOL_NX_ALLOCATION, 32, kPoolTagObjects, 0);
        if (ExInitializeLookasideListEx(&o->ex_list, nullptr, nullptr, NonPagedPoolNx, 0, 24, kPoolTagObjects, 0) ==
            STATUS_SUCCESS)  // it keeps the block it gave out and took back
            ExFreeToLookasideListEx(&o->ex_list, ExAllocateFromLookasideListEx(&o->ex_list));
        ExFreePoolWithTag(o, kPoolTagObjects);  // the bug: none of ExDeleteResourceLite, ExDeleteNPagedLookasideList,
                                                // ExDeleteLookasideListEx
        return Complete(Irp, STATUS_SUCCESS);
    }
    case IOCTL_DELETE_DEVICE_WITH_LIST: {
        PDEVICE_OBJECT dev = nullptr;
        NTSTATUS s = IoCreateDevice(g->device->DriverObject, sizeof(ListExtension), nullptr, FILE_DEVICE_UNKNOWN, 0,
                                    FALSE, &dev);
        if (!NT_SUCCESS(s)) return Complete(Irp, s);
        auto* ext = static_cast<ListExtension*>(dev->DeviceExtension);
        ExInitializePagedLookasideList(&ext->list, nullptr, nullptr, 0, 48, kPoolTagPagedList, 0);
        ExFreeToPagedLookasideList(&ext->list, ExAllocateFromPagedLookasideList(&ext->list));
        IoDeleteDevice(dev);  // the bug: the list is still initialized in the extension
        return Complete(Irp, STATUS_SUCCESS);
    }
    case IOCTL_FREE_TWICE: {
        PVOID p = ExAllocatePoolWithTag(NonPagedPoolNx, 24, kPoolTagFirst);
        if (p) {
            ExFreePoolWithTag(p, kPoolTagFirst);
            ExFreePoolWithTag(p, kPoolTagFirst);  // the bug: an error path that frees it once more
        }
        return Complete(Irp, STATUS_SUCCESS);
    }
    case IOCTL_ALLOCATE_MUST_SUCCEED: {
        PVOID p = ExAllocatePool2(POOL_FLAG_NON_PAGED | POOL_FLAG_RAISE_ON_FAILURE, ~SIZE_T(0), kPoolTagFirst);
        return Complete(Irp, p ? STATUS_SUCCESS : STATUS_INSUFFICIENT_RESOURCES);
    }
    case IOCTL_FREE_LOCKED_MDL: {
        PMDL mdl = IoAllocateMdl(g->mdl_buffer, sizeof g->mdl_buffer, FALSE, FALSE, nullptr);
        if (!mdl) return Complete(Irp, STATUS_INSUFFICIENT_RESOURCES);
        MmProbeAndLockPages(mdl, KernelMode, IoWriteAccess);
        IoFreeMdl(mdl);  // without MmUnlockPages
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
    if (IoGetCurrentIrpStackLocation(Irp)->Parameters.DeviceIoControl.IoControlCode == IOCTL_HOLD) {
        g->startio_held = Irp;  // no cancel routine: only finish_held_startio() ends it
        return;
    }
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
    if (!g->config.leave_resource) ExDeleteResourceLite(&g->resource);
    if (!g->config.leave_lookasides) {
        ExDeleteNPagedLookasideList(&g_image_list);
        ExDeletePagedLookasideList(&g->paged_list);
        ExDeleteLookasideListEx(&g->ex_list);
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
    g->startio_held = nullptr;
    g->kept = nullptr;
}

int blocks_held() {
    std::lock_guard lock(g->blocks_lock);
    return static_cast<int>(g->blocks.size());
}

int holds_cancelled() { return g->cancelled.load(); }

void stop_left_thread() {
    KeSetEvent(&g->stop_thread, IO_NO_INCREMENT, FALSE);
}

bool finish_held_startio() {
    PIRP irp = g->startio_held.exchange(nullptr);
    if (!irp) return false;
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    Complete(irp, STATUS_SUCCESS);
    IoStartNextPacket(g->startio, FALSE);
    KeLowerIrql(old);
    return true;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING) {
    for (auto& f : DriverObject->MajorFunction) f = Dispatch;
    DriverObject->DriverStartIo = StartIo;
    DriverObject->DriverUnload = Unload;
    KeInitializeSpinLock(&g->lock_a);
    KeInitializeSpinLock(&g->lock_b);
    KeInitializeSpinLock(&g->never_held);
    KeInitializeEvent(&g->stop_thread, NotificationEvent, FALSE);
    KeInitializeDpc(&g->cancel_dpc, CompleteCancelled, nullptr);
    KeInitializeDeviceQueue(&g->queue);
    IoInitializeRemoveLock(&g->remove_lock, kPoolTagFirst, 0, 0);
    KeInitializeMutex(&g->mutex, 0);
    KeInitializeSemaphore(&g->semaphore, 0, 1);
    ExInitializeFastMutex(&g->fast_mutex);
    ExInitializeResourceLite(&g->resource);
    ExInitializeNPagedLookasideList(&g_image_list, nullptr, nullptr, POOL_NX_ALLOCATION, 40, kPoolTagNpagedList, 0);
    ExInitializePagedLookasideList(&g->paged_list, nullptr, nullptr, 0, 56, kPoolTagPagedList, 0);
    NTSTATUS listed = ExInitializeLookasideListEx(&g->ex_list, nullptr, nullptr, PagedPool, 0, 72, kPoolTagExList, 0);
    if (!NT_SUCCESS(listed)) return listed;
    if (g->config.leave_lookasides) {  // each list keeps the block it gave out and took back
        ExFreeToNPagedLookasideList(&g_image_list, ExAllocateFromNPagedLookasideList(&g_image_list));
        ExFreeToPagedLookasideList(&g->paged_list, ExAllocateFromPagedLookasideList(&g->paged_list));
        ExFreeToLookasideListEx(&g->ex_list, ExAllocateFromLookasideListEx(&g->ex_list));
    }
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
