// I/O work items (IoAllocateWorkItem, IoQueueWorkItem(Ex), IoFreeWorkItem and the
// caller-allocated IoInitializeWorkItem form): an executive work item
// (ex/work_queue.cpp) that holds a reference on its device or driver object from the
// queueing until its routine has returned.
#include <atomic>
#include <cstring>
#include <new>

#include <fmt/format.h>

#include "system.hpp"
#include "verifier/drivers.hpp"
#include "verifier/hooks.hpp"
#include "verifier/report.hpp"

namespace {
constexpr uint32_t kWorkItemMagic = 0x6b526f57;  // "WoRk"
// Pool tag "WrkI" as a pool dump shows it (the literal 'IkrW' in a driver's spelling).
constexpr ULONG kWorkItemTag = 'W' | ('r' << 8) | ('k' << 16) | (ULONG('I') << 24);
}  // namespace

struct _IO_WORKITEM {
    WORK_QUEUE_ITEM item;  // on the executive's queue while queued
    uint32_t magic;        // kWorkItemMagic between initialization and free
    bool allocated;        // IoAllocateWorkItem's: IoFreeWorkItem frees it
    std::atomic<bool> queued;
    PVOID io_object;  // the device or driver object
    PIO_WORKITEM_ROUTINE routine;
    PIO_WORKITEM_ROUTINE_EX routine_ex;
    PVOID context;
};

using namespace ntio;

namespace {

bool valid(PIO_WORKITEM w, const char* api) {
    if (w && w->magic == kWorkItemMagic) return true;
    verifier::report(verifier::Check::InvalidParameter,
                     fmt::format("{}({}): not a work item from IoAllocateWorkItem or IoInitializeWorkItem, or one "
                                 "already freed",
                                 api, static_cast<void*>(w)));
    return false;
}

// The executive work item's routine: the driver's routine, then the object's reference.
// The item is marked not queued first: the routine may queue it again or free it, so
// nothing of it is read after the call.
void run(PVOID parameter) {
    auto* w = static_cast<PIO_WORKITEM>(parameter);
    PVOID object = w->io_object;
    PIO_WORKITEM_ROUTINE routine = w->routine;
    PIO_WORKITEM_ROUTINE_EX routine_ex = w->routine_ex;
    PVOID context = w->context;
    w->queued.store(false, std::memory_order_release);
    if (routine_ex) routine_ex(object, context, w);
    else routine(static_cast<PDEVICE_OBJECT>(object), context);
    ObDereferenceObject(object);
}

void initialize(PVOID io_object, PIO_WORKITEM w, bool allocated) {
    std::memset(static_cast<void*>(w), 0, sizeof(*w));
    new (&w->queued) std::atomic<bool>(false);
    w->magic = kWorkItemMagic;
    w->allocated = allocated;
    w->io_object = io_object;
}

void queue(PIO_WORKITEM w, PIO_WORKITEM_ROUTINE routine, PIO_WORKITEM_ROUTINE_EX routine_ex, WORK_QUEUE_TYPE type,
           PVOID context, const char* api) {
    verifier::check_irql_at_most(DISPATCH_LEVEL, api);
    if (!valid(w, api)) return;
    if (!routine && !routine_ex) {
        verifier::report(verifier::Check::InvalidParameter, fmt::format("{} without a routine", api));
        return;
    }
    if (static_cast<unsigned>(type) >= MaximumWorkQueue) {
        verifier::report(verifier::Check::InvalidParameter,
                         fmt::format("{} with queue type {}: use DelayedWorkQueue", api, static_cast<int>(type)));
        return;
    }
    if (w->queued.exchange(true, std::memory_order_acq_rel)) {
        verifier::report(verifier::Check::WORKER_INVALID,
                         fmt::format("{}({}) on a work item that is queued and whose routine has not started yet; "
                                     "it was not queued again",
                                     api, static_cast<void*>(w)));
        return;
    }
    w->routine = routine;
    w->routine_ex = routine_ex;
    w->context = context;
    ObReferenceObject(w->io_object);  // until the routine has returned
    ExInitializeWorkItem(&w->item, run, w);
    sys().work_items.queue(&w->item);
}

// Freeing or uninitializing an item that is still queued leaves the queue pointing at
// freed memory: Windows stops with WORKER_INVALID; ntio reports it and keeps the item.
bool idle_for(PIO_WORKITEM w, const char* api) {
    if (!w->queued.load(std::memory_order_acquire)) return true;
    verifier::report(verifier::Check::WORKER_INVALID,
                     fmt::format("{}({}) while the item is queued (its routine has not started); the item was "
                                 "left alone",
                                 api, static_cast<void*>(w)));
    return false;
}

}  // namespace

extern "C" {

PIO_WORKITEM IoAllocateWorkItem(PDEVICE_OBJECT DeviceObject) {
    verifier::check_irql_at_most(DISPATCH_LEVEL, "IoAllocateWorkItem");
    if (!DeviceObject) {
        verifier::report(verifier::Check::InvalidParameter, "IoAllocateWorkItem(NULL): a device object is required");
        return nullptr;
    }
    // Pool charged to the calling driver, so that an item it never frees shows at unload.
    uint32_t owner = verifier::pool_owner_hooks() ? verifier::drivers::attribute(__builtin_return_address(0)) : 0;
    auto* w = static_cast<PIO_WORKITEM>(sys().pool.allocate(sizeof(_IO_WORKITEM), kWorkItemTag, true, false, owner));
    if (!w) return nullptr;
    initialize(DeviceObject, w, true);
    return w;
}

VOID IoFreeWorkItem(PIO_WORKITEM IoWorkItem) {
    verifier::check_irql_at_most(DISPATCH_LEVEL, "IoFreeWorkItem");
    if (!valid(IoWorkItem, "IoFreeWorkItem") || !idle_for(IoWorkItem, "IoFreeWorkItem")) return;
    if (!IoWorkItem->allocated) {
        verifier::report(verifier::Check::InvalidParameter,
                         "IoFreeWorkItem on a work item from IoInitializeWorkItem: use IoUninitializeWorkItem and "
                         "free the memory yourself");
        return;
    }
    IoWorkItem->magic = 0;
    sys().pool.free(IoWorkItem, kWorkItemTag, true, "IoFreeWorkItem");
}

VOID IoQueueWorkItem(PIO_WORKITEM IoWorkItem, PIO_WORKITEM_ROUTINE WorkerRoutine, WORK_QUEUE_TYPE QueueType,
                     PVOID Context) {
    queue(IoWorkItem, WorkerRoutine, nullptr, QueueType, Context, "IoQueueWorkItem");
}

VOID IoQueueWorkItemEx(PIO_WORKITEM IoWorkItem, PIO_WORKITEM_ROUTINE_EX WorkerRoutine, WORK_QUEUE_TYPE QueueType,
                       PVOID Context) {
    queue(IoWorkItem, nullptr, WorkerRoutine, QueueType, Context, "IoQueueWorkItemEx");
}

ULONG IoSizeofWorkItem(VOID) { return sizeof(_IO_WORKITEM); }

VOID IoInitializeWorkItem(PVOID IoObject, PIO_WORKITEM IoWorkItem) {
    if (!IoObject || !IoWorkItem) {
        verifier::report(verifier::Check::InvalidParameter,
                         "IoInitializeWorkItem needs a device or driver object and IoSizeofWorkItem() bytes");
        return;
    }
    initialize(IoObject, IoWorkItem, false);
}

VOID IoUninitializeWorkItem(PIO_WORKITEM IoWorkItem) {
    if (!valid(IoWorkItem, "IoUninitializeWorkItem") || !idle_for(IoWorkItem, "IoUninitializeWorkItem")) return;
    IoWorkItem->magic = 0;
}

}  // extern "C"
