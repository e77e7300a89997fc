// ERESOURCE (S-KE-19): a recursive reader/writer lock. State lives under the
// resource's own spin lock; waiters sleep on a synchronization event (exclusive)
// or a semaphore (shared) and retry when woken, so a thread that arrives while the
// resource is free may take it first (barging), as Windows allows.
#include <algorithm>
#include <vector>

#include "ex/objects.hpp"
#include "ps/thread.hpp"
#include "system.hpp"
#include "verifier/drivers.hpp"
#include "verifier/report.hpp"

namespace {

struct SharedOwner {
    _KTHREAD* thread;
    ULONG count;
};
using OwnerTable = std::vector<SharedOwner>;

OwnerTable& owners(PERESOURCE r) { return *static_cast<OwnerTable*>(r->OwnerTable); }

SharedOwner* find_shared(PERESOURCE r, _KTHREAD* t) {
    for (auto& o : owners(r))
        if (o.thread == t) return &o;
    return nullptr;
}

void check_apcs_disabled(const char* api) {
    if (!KeAreApcsDisabled())
        ntio::verifier::report(ntio::verifier::Check::ResourceMisuse,
                                   fmt::format("{} outside a critical region: call KeEnterCriticalRegion first (or "
                                               "acquire at APC_LEVEL), or a suspended owner can deadlock the system",
                                               api));
    ntio::verifier::check_irql_at_most(APC_LEVEL, api);
}

bool valid(PERESOURCE r, const char* api) {
    if (r && r->OwnerTable) return true;
    ntio::verifier::report(ntio::verifier::Check::ResourceMisuse,
                               fmt::format("{} on an ERESOURCE that was not initialized with ExInitializeResourceLite "
                                           "(or was already deleted)",
                                           api));
    return false;
}

// Wakes the next waiters once the resource is free (lock held): one exclusive
// waiter if there is any, else every shared waiter. Woken waiters retry; the event
// and the semaphore keep the wake-up for a waiter that has not reached its wait yet.
void wake_next_locked(PERESOURCE r) {
    if (r->ExclusiveOwner || r->SharedOwnerCount) return;
    if (r->NumberOfExclusiveWaiters > 0) {
        // The woken exclusive waiter stays counted until it retries, so shared
        // requests keep yielding to it (exclusive waiters go first, S-KE-19).
        if (!r->ExclusiveWakePending) {
            r->ExclusiveWakePending = TRUE;
            KeSetEvent(&r->ExclusiveWaiters, IO_NO_INCREMENT, FALSE);
        }
    } else if (r->NumberOfSharedWaiters > 0) {
        LONG n = r->NumberOfSharedWaiters;
        r->NumberOfSharedWaiters = 0;
        KeReleaseSemaphore(&r->SharedWaiters, IO_NO_INCREMENT, n, FALSE);
    }
}

void release(PERESOURCE r, _KTHREAD* t, const char* api) {
    KIRQL old;
    KeAcquireSpinLock(&r->SpinLock, &old);
    if (r->ExclusiveOwner == t) {
        if (--r->ExclusiveCount == 0) r->ExclusiveOwner = nullptr;
    } else if (SharedOwner* o = find_shared(r, t)) {
        if (--o->count == 0) {
            auto& tab = owners(r);
            tab.erase(tab.begin() + (o - tab.data()));
            --r->SharedOwnerCount;
        }
    } else {
        KeReleaseSpinLock(&r->SpinLock, old);
        ntio::verifier::report(ntio::verifier::Check::RESOURCE_NOT_OWNED,
                                   fmt::format("{}({}) by a thread that does not own it", api, static_cast<void*>(r)));
        return;
    }
    wake_next_locked(r);
    KeReleaseSpinLock(&r->SpinLock, old);
}

void initialize(PERESOURCE Resource) {
    KeInitializeSpinLock(&Resource->SpinLock);
    Resource->OwnerTable = new OwnerTable();
    Resource->ExclusiveOwner = nullptr;
    Resource->ExclusiveCount = 0;
    Resource->SharedOwnerCount = 0;
    Resource->NumberOfSharedWaiters = 0;
    Resource->NumberOfExclusiveWaiters = 0;
    Resource->ExclusiveWakePending = FALSE;
    KeInitializeSemaphore(&Resource->SharedWaiters, 0, MAXLONG);
    KeInitializeEvent(&Resource->ExclusiveWaiters, SynchronizationEvent, FALSE);
}

void release_owner_table(PERESOURCE Resource) {
    delete static_cast<OwnerTable*>(Resource->OwnerTable);
    Resource->OwnerTable = nullptr;
}

}  // namespace

bool ntio::ex::delete_resource_if_idle(PERESOURCE r) {
    if (!r->OwnerTable) return true;
    KIRQL old;
    KeAcquireSpinLock(&r->SpinLock, &old);
    bool idle = !r->ExclusiveOwner && !r->SharedOwnerCount && !r->NumberOfExclusiveWaiters &&
                !r->NumberOfSharedWaiters && !r->ExclusiveWakePending;
    KeReleaseSpinLock(&r->SpinLock, old);
    if (idle) release_owner_table(r);
    return idle;
}

extern "C" {

// Both initializations name their caller: the driver that must delete the resource
// (ResourceLeftAtUnload).
NTSTATUS ExInitializeResourceLite(PERESOURCE Resource) {
    initialize(Resource);
    ntio::verifier::drivers::ex_object_initialized(Resource, ntio::verifier::drivers::ExObject::resource,
                                                   __builtin_return_address(0));
    return STATUS_SUCCESS;
}

NTSTATUS ExReinitializeResourceLite(PERESOURCE Resource) {
    if (Resource->OwnerTable) delete static_cast<OwnerTable*>(Resource->OwnerTable);
    initialize(Resource);
    ntio::verifier::drivers::ex_object_initialized(Resource, ntio::verifier::drivers::ExObject::resource,
                                                   __builtin_return_address(0));
    return STATUS_SUCCESS;
}

NTSTATUS ExDeleteResourceLite(PERESOURCE Resource) {
    if (!valid(Resource, "ExDeleteResourceLite")) return STATUS_INVALID_PARAMETER;
    if (Resource->ExclusiveOwner || Resource->SharedOwnerCount)
        ntio::verifier::report(ntio::verifier::Check::ResourceMisuse,
                                   fmt::format("ExDeleteResourceLite({}) while the resource is still owned",
                                               static_cast<void*>(Resource)));
    ntio::verifier::drivers::ex_object_deleted(Resource);
    release_owner_table(Resource);
    return STATUS_SUCCESS;
}

BOOLEAN ExAcquireResourceExclusiveLite(PERESOURCE Resource, BOOLEAN Wait) {
    if (!valid(Resource, "ExAcquireResourceExclusiveLite")) return FALSE;
    check_apcs_disabled("ExAcquireResourceExclusiveLite");
    _KTHREAD* me = ntio::ps::current_thread();
    for (;;) {
        KIRQL old;
        KeAcquireSpinLock(&Resource->SpinLock, &old);
        if (Resource->ExclusiveOwner == me) {
            ++Resource->ExclusiveCount;
            KeReleaseSpinLock(&Resource->SpinLock, old);
            return TRUE;
        }
        if (!Resource->ExclusiveOwner && Resource->SharedOwnerCount == 0) {
            Resource->ExclusiveOwner = me;
            Resource->ExclusiveCount = 1;
            KeReleaseSpinLock(&Resource->SpinLock, old);
            return TRUE;
        }
        if (find_shared(Resource, me)) {
            KeReleaseSpinLock(&Resource->SpinLock, old);
            ntio::verifier::report(ntio::verifier::Check::ResourceMisuse,
                                       fmt::format("ExAcquireResourceExclusiveLite({}) by a thread that holds it "
                                                   "shared: this deadlocks; release the shared hold first",
                                                   static_cast<void*>(Resource)));
            if (!Wait) return FALSE;
        }
        if (!Wait) {
            KeReleaseSpinLock(&Resource->SpinLock, old);
            return FALSE;
        }
        ++Resource->NumberOfExclusiveWaiters;
        KeReleaseSpinLock(&Resource->SpinLock, old);
        KeWaitForSingleObject(&Resource->ExclusiveWaiters, WrResource, KernelMode, FALSE, nullptr);
        KeAcquireSpinLock(&Resource->SpinLock, &old);
        Resource->ExclusiveWakePending = FALSE;
        --Resource->NumberOfExclusiveWaiters;
        KeReleaseSpinLock(&Resource->SpinLock, old);
    }
}

BOOLEAN ExAcquireResourceSharedLite(PERESOURCE Resource, BOOLEAN Wait) {
    if (!valid(Resource, "ExAcquireResourceSharedLite")) return FALSE;
    check_apcs_disabled("ExAcquireResourceSharedLite");
    _KTHREAD* me = ntio::ps::current_thread();
    for (;;) {
        KIRQL old;
        KeAcquireSpinLock(&Resource->SpinLock, &old);
        if (Resource->ExclusiveOwner == me) {  // counts as recursion of the exclusive hold
            ++Resource->ExclusiveCount;
            KeReleaseSpinLock(&Resource->SpinLock, old);
            return TRUE;
        }
        SharedOwner* mine = find_shared(Resource, me);
        if (!Resource->ExclusiveOwner && (mine || Resource->NumberOfExclusiveWaiters == 0)) {
            if (mine) {
                ++mine->count;
            } else {
                owners(Resource).push_back({me, 1});
                ++Resource->SharedOwnerCount;
            }
            KeReleaseSpinLock(&Resource->SpinLock, old);
            return TRUE;
        }
        if (!Wait) {
            KeReleaseSpinLock(&Resource->SpinLock, old);
            return FALSE;
        }
        ++Resource->NumberOfSharedWaiters;
        KeReleaseSpinLock(&Resource->SpinLock, old);
        KeWaitForSingleObject(&Resource->SharedWaiters, WrResource, KernelMode, FALSE, nullptr);
    }
}

VOID ExReleaseResourceLite(PERESOURCE Resource) {
    if (!valid(Resource, "ExReleaseResourceLite")) return;
    release(Resource, ntio::ps::current_thread(), "ExReleaseResourceLite");
}

VOID ExReleaseResourceForThreadLite(PERESOURCE Resource, ERESOURCE_THREAD ResourceThreadId) {
    if (!valid(Resource, "ExReleaseResourceForThreadLite")) return;
    release(Resource, reinterpret_cast<_KTHREAD*>(ResourceThreadId), "ExReleaseResourceForThreadLite");
}

BOOLEAN ExIsResourceAcquiredExclusiveLite(PERESOURCE Resource) {
    KIRQL old;
    KeAcquireSpinLock(&Resource->SpinLock, &old);
    BOOLEAN r = Resource->ExclusiveOwner == ntio::ps::current_thread();
    KeReleaseSpinLock(&Resource->SpinLock, old);
    return r;
}

ULONG ExIsResourceAcquiredSharedLite(PERESOURCE Resource) {
    _KTHREAD* me = ntio::ps::current_thread();
    KIRQL old;
    KeAcquireSpinLock(&Resource->SpinLock, &old);
    ULONG n = Resource->ExclusiveOwner == me ? Resource->ExclusiveCount : 0;
    if (SharedOwner* o = find_shared(Resource, me)) n += o->count;
    KeReleaseSpinLock(&Resource->SpinLock, old);
    return n;
}

ERESOURCE_THREAD ExGetCurrentResourceThread(VOID) {
    return reinterpret_cast<ERESOURCE_THREAD>(ntio::ps::current_thread());
}

}  // extern "C"
