// KDEVICE_QUEUE (S-DQ-1..4): a Busy flag separate from the list. Inserting into an
// idle queue only marks it busy (the caller processes the entry now); removing from
// an empty busy queue marks it idle. Callers are at DISPATCH_LEVEL.
#include "trace/trace.hpp"
#include "verifier/report.hpp"
#include "wdm.h"

namespace {

void check_dispatch(const char* api) {
    if (KeGetCurrentIrql() != DISPATCH_LEVEL)
        ntio::verifier::report(ntio::verifier::Check::IRQL_NOT_DISPATCH_LEVEL,
                                   fmt::format("{} at IRQL {}; device queue routines run at exactly DISPATCH_LEVEL "
                                               "(raise with KeRaiseIrql or call from StartIo/a DPC)",
                                               api, KeGetCurrentIrql()));
}

PKDEVICE_QUEUE_ENTRY remove_head(PKDEVICE_QUEUE q) {
    auto* e = CONTAINING_RECORD(RemoveHeadList(&q->DeviceListHead), KDEVICE_QUEUE_ENTRY, DeviceListEntry);
    e->Inserted = FALSE;
    return e;
}

// First entry with SortKey >= key, else the head (the documented rule, §10.6).
PKDEVICE_QUEUE_ENTRY remove_by_key(PKDEVICE_QUEUE q, ULONG key) {
    for (PLIST_ENTRY l = q->DeviceListHead.Flink; l != &q->DeviceListHead; l = l->Flink) {
        auto* e = CONTAINING_RECORD(l, KDEVICE_QUEUE_ENTRY, DeviceListEntry);
        if (e->SortKey >= key) {
            RemoveEntryList(l);
            e->Inserted = FALSE;
            return e;
        }
    }
    return remove_head(q);
}

}  // namespace

extern "C" {

VOID KeInitializeDeviceQueue(PKDEVICE_QUEUE DeviceQueue) {
    DeviceQueue->Type = 20;  // DeviceQueueObject
    DeviceQueue->Size = sizeof(KDEVICE_QUEUE);
    InitializeListHead(&DeviceQueue->DeviceListHead);
    KeInitializeSpinLock(&DeviceQueue->Lock);
    DeviceQueue->Busy = FALSE;
}

BOOLEAN KeInsertDeviceQueue(PKDEVICE_QUEUE DeviceQueue, PKDEVICE_QUEUE_ENTRY DeviceQueueEntry) {
    check_dispatch("KeInsertDeviceQueue");
    KeAcquireSpinLockAtDpcLevel(&DeviceQueue->Lock);
    BOOLEAN inserted = DeviceQueue->Busy;
    if (inserted) InsertTailList(&DeviceQueue->DeviceListHead, &DeviceQueueEntry->DeviceListEntry);
    else DeviceQueue->Busy = TRUE;
    DeviceQueueEntry->Inserted = inserted;
    if (ntio::trace::enabled()) ntio::trace::device_queue_changed(DeviceQueue);
    KeReleaseSpinLockFromDpcLevel(&DeviceQueue->Lock);
    return inserted;
}

BOOLEAN KeInsertByKeyDeviceQueue(PKDEVICE_QUEUE DeviceQueue, PKDEVICE_QUEUE_ENTRY DeviceQueueEntry, ULONG SortKey) {
    check_dispatch("KeInsertByKeyDeviceQueue");
    DeviceQueueEntry->SortKey = SortKey;
    KeAcquireSpinLockAtDpcLevel(&DeviceQueue->Lock);
    BOOLEAN inserted = DeviceQueue->Busy;
    if (inserted) {
        // After every entry with a key <= SortKey: ascending, FIFO among equal keys.
        PLIST_ENTRY pos = &DeviceQueue->DeviceListHead;
        for (PLIST_ENTRY l = DeviceQueue->DeviceListHead.Flink; l != &DeviceQueue->DeviceListHead; l = l->Flink) {
            if (CONTAINING_RECORD(l, KDEVICE_QUEUE_ENTRY, DeviceListEntry)->SortKey > SortKey) {
                pos = l;
                break;
            }
        }
        InsertTailList(pos, &DeviceQueueEntry->DeviceListEntry);  // i.e. just before `pos`
    } else {
        DeviceQueue->Busy = TRUE;
    }
    DeviceQueueEntry->Inserted = inserted;
    if (ntio::trace::enabled()) ntio::trace::device_queue_changed(DeviceQueue);
    KeReleaseSpinLockFromDpcLevel(&DeviceQueue->Lock);
    return inserted;
}

PKDEVICE_QUEUE_ENTRY KeRemoveDeviceQueue(PKDEVICE_QUEUE DeviceQueue) {
    check_dispatch("KeRemoveDeviceQueue");
    KeAcquireSpinLockAtDpcLevel(&DeviceQueue->Lock);
    PKDEVICE_QUEUE_ENTRY e = nullptr;
    if (!DeviceQueue->Busy) {
        KeReleaseSpinLockFromDpcLevel(&DeviceQueue->Lock);
        ntio::verifier::report(ntio::verifier::Check::DEVICE_QUEUE_NOT_BUSY,
                                   "KeRemoveDeviceQueue on a device queue that is not busy (nothing was started)");
        return nullptr;
    }
    if (IsListEmpty(&DeviceQueue->DeviceListHead)) DeviceQueue->Busy = FALSE;
    else e = remove_head(DeviceQueue);
    if (ntio::trace::enabled()) ntio::trace::device_queue_changed(DeviceQueue);
    KeReleaseSpinLockFromDpcLevel(&DeviceQueue->Lock);
    return e;
}

PKDEVICE_QUEUE_ENTRY KeRemoveByKeyDeviceQueue(PKDEVICE_QUEUE DeviceQueue, ULONG SortKey) {
    check_dispatch("KeRemoveByKeyDeviceQueue");
    KeAcquireSpinLockAtDpcLevel(&DeviceQueue->Lock);
    PKDEVICE_QUEUE_ENTRY e = nullptr;
    if (!DeviceQueue->Busy) {
        KeReleaseSpinLockFromDpcLevel(&DeviceQueue->Lock);
        ntio::verifier::report(ntio::verifier::Check::DEVICE_QUEUE_NOT_BUSY,
                                   "KeRemoveByKeyDeviceQueue on a device queue that is not busy (nothing was started)");
        return nullptr;
    }
    if (IsListEmpty(&DeviceQueue->DeviceListHead)) DeviceQueue->Busy = FALSE;
    else e = remove_by_key(DeviceQueue, SortKey);
    if (ntio::trace::enabled()) ntio::trace::device_queue_changed(DeviceQueue);
    KeReleaseSpinLockFromDpcLevel(&DeviceQueue->Lock);
    return e;
}

PKDEVICE_QUEUE_ENTRY KeRemoveByKeyDeviceQueueIfBusy(PKDEVICE_QUEUE DeviceQueue, ULONG SortKey) {
    check_dispatch("KeRemoveByKeyDeviceQueueIfBusy");
    KeAcquireSpinLockAtDpcLevel(&DeviceQueue->Lock);
    PKDEVICE_QUEUE_ENTRY e = nullptr;
    if (DeviceQueue->Busy) {
        if (IsListEmpty(&DeviceQueue->DeviceListHead)) DeviceQueue->Busy = FALSE;
        else e = remove_by_key(DeviceQueue, SortKey);
    }
    if (ntio::trace::enabled()) ntio::trace::device_queue_changed(DeviceQueue);
    KeReleaseSpinLockFromDpcLevel(&DeviceQueue->Lock);
    return e;
}

BOOLEAN KeRemoveEntryDeviceQueue(PKDEVICE_QUEUE DeviceQueue, PKDEVICE_QUEUE_ENTRY DeviceQueueEntry) {
    ntio::verifier::check_irql_at_most(DISPATCH_LEVEL, "KeRemoveEntryDeviceQueue");
    KIRQL old;
    KeAcquireSpinLock(&DeviceQueue->Lock, &old);
    BOOLEAN was = DeviceQueueEntry->Inserted;
    if (was) {
        RemoveEntryList(&DeviceQueueEntry->DeviceListEntry);
        DeviceQueueEntry->Inserted = FALSE;
    }
    if (ntio::trace::enabled()) ntio::trace::device_queue_changed(DeviceQueue);
    KeReleaseSpinLock(&DeviceQueue->Lock, old);
    return was;
}

}  // extern "C"
