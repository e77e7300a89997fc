// Remove locks (S-RL-1..4): a count of I/O in progress on a device that removal waits for.
// The count carries a bias of one while the device is present (the form ReactOS uses), so
// it reaches zero only after IoReleaseRemoveLockAndWait dropped the bias: the last
// release then wakes the remover.
#include "io/iomgr.hpp"
#include "verifier/report.hpp"

using namespace ntio;

extern "C" {

VOID IoInitializeRemoveLockEx(PIO_REMOVE_LOCK Lock, ULONG AllocateTag, ULONG MaxLockedMinutes, ULONG HighWatermark,
                              ULONG RemlockSize) {
    (void)AllocateTag;
    (void)MaxLockedMinutes;  // debug-only settings on Windows (S-RL-1)
    (void)HighWatermark;
    if (!Lock || RemlockSize != sizeof(IO_REMOVE_LOCK)) {
        verifier::report(verifier::Check::InvalidParameter, fmt::format("IoInitializeRemoveLock({}, size {}): pass an "
                                                              "IO_REMOVE_LOCK (use the IoInitializeRemoveLock macro)",
                                                              static_cast<void*>(Lock), RemlockSize));
        return;
    }
    Lock->Common.Removed = FALSE;
    Lock->Common.IoCount = 1;
    KeInitializeEvent(&Lock->Common.RemoveEvent, NotificationEvent, FALSE);
}

NTSTATUS IoAcquireRemoveLockEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, PCSTR File, ULONG Line, ULONG RemlockSize) {
    (void)Tag;
    (void)File;
    (void)Line;
    (void)RemlockSize;
    IO_REMOVE_LOCK_COMMON_BLOCK& c = RemoveLock->Common;
    InterlockedIncrement(&c.IoCount);
    if (__atomic_load_n(&c.Removed, __ATOMIC_ACQUIRE)) {
        // S-RL-2: removal has started; the acquisition is not held.
        if (InterlockedDecrement(&c.IoCount) == 0) KeSetEvent(&c.RemoveEvent, IO_NO_INCREMENT, FALSE);
        return STATUS_DELETE_PENDING;
    }
    return STATUS_SUCCESS;
}

VOID IoReleaseRemoveLockEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, ULONG RemlockSize) {
    (void)RemlockSize;
    IO_REMOVE_LOCK_COMMON_BLOCK& c = RemoveLock->Common;
    LONG left = InterlockedDecrement(&c.IoCount);
    if (left == 0) {
        if (__atomic_load_n(&c.Removed, __ATOMIC_ACQUIRE)) {
            KeSetEvent(&c.RemoveEvent, IO_NO_INCREMENT, FALSE);
            return;
        }
    }
    if (left <= 0) {
        InterlockedIncrement(&c.IoCount);  // keep the lock usable
        verifier::report(verifier::Check::RemoveLockMisuse,
                             fmt::format("IoReleaseRemoveLock({}, tag {}) without a matching IoAcquireRemoveLock: "
                                         "each successful acquire is released once (S-RL-2)",
                                         static_cast<void*>(RemoveLock), Tag));
    }
}

VOID IoReleaseRemoveLockAndWaitEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, ULONG RemlockSize) {
    (void)RemlockSize;
    verifier::check_irql_at_most(PASSIVE_LEVEL, "IoReleaseRemoveLockAndWait");
    IO_REMOVE_LOCK_COMMON_BLOCK& c = RemoveLock->Common;
    __atomic_store_n(&c.Removed, TRUE, __ATOMIC_RELEASE);
    // S-RL-3: the caller's own acquisition first, then the bias.
    if (InterlockedDecrement(&c.IoCount) <= 0) {
        InterlockedIncrement(&c.IoCount);
        verifier::report(verifier::Check::RemoveLockMisuse,
                             fmt::format("IoReleaseRemoveLockAndWait({}, tag {}) by a caller that holds no "
                                         "acquisition: acquire it at the top of IRP_MN_REMOVE_DEVICE (S-RL-4)",
                                         static_cast<void*>(RemoveLock), Tag));
    }
    if (InterlockedDecrement(&c.IoCount) > 0)
        KeWaitForSingleObject(&c.RemoveEvent, Executive, KernelMode, FALSE, nullptr);
}

}  // extern "C"
