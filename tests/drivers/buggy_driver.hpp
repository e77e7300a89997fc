// A driver that is wrong on purpose, one mistake per control code, for the verifier's
// acceptance tests (tests/verifier_test.cpp): each test sends one code and expects the
// check that catches that mistake, naming the right IRP, device and driver.
//
// Devices: \Device\Buggy (\\.\Buggy, buffered, where the codes go), \Device\BuggyLower
// (answers every request at once; the target of the requests \Device\Buggy builds or
// forwards) and \Device\BuggyStartIo (a StartIo device that forgets IoStartNextPacket
// when stall_startio is set, and whose StartIo keeps an IOCTL_HOLD request, with no
// cancel routine, until finish_held_startio()). Load with
// System::load_driver("buggy", buggy::DriverEntry).
//
// Mistakes that need another shape of driver are in buggy_pnp_driver.hpp.
#pragma once
#include <atomic>

#include "wdm.h"
#include "windows.h"

namespace buggy {

constexpr const wchar_t* kDevice = L"\\Device\\Buggy";
constexpr const wchar_t* kLowerDevice = L"\\Device\\BuggyLower";
constexpr const wchar_t* kStartIoDevice = L"\\Device\\BuggyStartIo";
constexpr const char* kWin32Name = "\\\\.\\Buggy";
constexpr const char* kStartIoWin32Name = "\\\\.\\BuggyStartIo";
constexpr ULONG kPoolTagFirst = 0x31416742;   // 'BgA1'
constexpr ULONG kPoolTagSecond = 0x31426742;  // 'BgB1'
constexpr ULONG kPoolTagLeak = 0x314c6742;    // 'BgL1'
constexpr ULONG kPoolTagNpagedList = 0x314e6742;  // 'BgN1'
constexpr ULONG kPoolTagPagedList = 0x31506742;   // 'BgP1'
constexpr ULONG kPoolTagObjects = 0x314f6742;     // 'BgO1'
constexpr ULONG kPoolTagExList = 0x31586742;      // 'BgX1'

#define BUGGY_CODE(n) CTL_CODE(FILE_DEVICE_UNKNOWN, 0x900 + (n), METHOD_BUFFERED, FILE_ANY_ACCESS)
enum : ULONG {
    IOCTL_OK = BUGGY_CODE(0),                      // completes properly: STATUS_SUCCESS
    IOCTL_COMPLETE_TWICE = BUGGY_CODE(1),          // IoCompleteRequest twice
    IOCTL_COMPLETE_PENDING = BUGGY_CODE(2),        // completes with IoStatus.Status = STATUS_PENDING
    IOCTL_PENDING_NOT_MARKED = BUGGY_CODE(3),      // returns STATUS_PENDING without IoMarkIrpPending (a DPC completes it)
    IOCTL_MARKED_NOT_PENDING = BUGGY_CODE(4),      // IoMarkIrpPending, completes, returns STATUS_SUCCESS
    IOCTL_CANCEL_AFTER_COMPLETE = BUGGY_CODE(5),   // IoCancelIrp on its IRP after completing it
    IOCTL_FORWARD_NO_LOCATION = BUGGY_CODE(6),     // IoCallDriver(lower) with no stack location left
    IOCTL_CANCEL_ROUTINE_LEFT = BUGGY_CODE(7),     // completes with its cancel routine still set
    IOCTL_WAIT_AT_DISPATCH = BUGGY_CODE(8),        // a 10 ms wait under a spin lock
    IOCTL_PAGED_CODE_AT_DISPATCH = BUGGY_CODE(9),  // PAGED_CODE() under a spin lock
    IOCTL_RELEASE_NOT_HELD = BUGGY_CODE(10),       // KeReleaseSpinLock of a lock it does not hold
    IOCTL_RELEASE_WRONG_IRQL = BUGGY_CODE(11),     // KeReleaseSpinLock(lock, DISPATCH_LEVEL) after acquiring at PASSIVE
    IOCTL_RETURN_RAISED = BUGGY_CODE(12),          // returns at DISPATCH_LEVEL (the caller must lower it back)
    IOCTL_LOCK_A_THEN_B = BUGGY_CODE(13),          // lock A, then B
    IOCTL_LOCK_B_THEN_A = BUGGY_CODE(14),          // lock B, then A: the inversion
    IOCTL_ALLOCATE_TWO = BUGGY_CODE(15),           // two pool blocks; if the second fails, leaks the first
    IOCTL_FREE_BLOCKS = BUGGY_CODE(16),            // frees what IOCTL_ALLOCATE_TWO kept
    IOCTL_CALL_LOWER_NO_WAIT = BUGGY_CODE(17),     // IoBuildDeviceIoControlRequest to the lower device; takes
                                                   // IoCallDriver's status as final (no wait on STATUS_PENDING)
    IOCTL_CALL_LOWER = BUGGY_CODE(18),             // the same, correctly (waits when STATUS_PENDING)
    IOCTL_HOLD = BUGGY_CODE(19),                   // pends it, with a cancel routine, until cancelled
    IOCTL_ALLOCATE_IRP_KEEP = BUGGY_CODE(20),      // IoAllocateIrp and never frees it
    IOCTL_USE_FREED_IRP = BUGGY_CODE(21),          // IoFreeIrp, then IoCallDriver, IoFreeIrp, IoCompleteRequest on it
    // Completion and cancellation
    IOCTL_COMPLETE_UNDER_CANCEL_LOCK = BUGGY_CODE(22),  // IoCompleteRequest while holding the cancel spin lock
    IOCTL_CANCEL_KEEPS_LOCK = BUGGY_CODE(23),      // pends; its cancel routine hands the IRP to a DPC and does
                                                   // not release the cancel spin lock
    IOCTL_INFORMATION_TOO_LARGE = BUGGY_CODE(24),  // IoStatus.Information 56 bytes past the output buffer
    IOCTL_SEND_WITHOUT_ROUTINE = BUGGY_CODE(25),   // IoAllocateIrp to the lower device with no completion routine
                                                   // to take it back; frees it once IoCallDriver returns
    IOCTL_FREE_CALLERS_IRP = BUGGY_CODE(26),       // IoFreeIrp on the caller's IRP, then completes it
    IOCTL_REUSE_CALLERS_IRP = BUGGY_CODE(27),      // IoReuseIrp on the caller's IRP, then completes it
    // Device objects and queues
    IOCTL_DETACH_NOTHING = BUGGY_CODE(28),         // IoDetachDevice(\Device\BuggyLower), which has nothing attached
    IOCTL_DELETE_UNDER_UPPER = BUGGY_CODE(29),     // creates \Device\BuggyBottom with \Device\BuggyTop attached,
                                                   // deletes the bottom one first
    IOCTL_REMOVE_IDLE_QUEUE = BUGGY_CODE(30),      // KeRemoveDeviceQueue on its own queue, which nothing made busy
    IOCTL_RELEASE_REMOVE_LOCK_TWICE = BUGGY_CODE(31),  // one IoAcquireRemoveLock, two IoReleaseRemoveLock
    // IRQL
    IOCTL_PAGED_POOL_UNDER_LOCK = BUGGY_CODE(32),  // ExAllocatePoolWithTag(PagedPool) under a spin lock
    IOCTL_RAISE_TO_LOWER = BUGGY_CODE(33),         // at DISPATCH_LEVEL, KeRaiseIrql(APC_LEVEL)
    IOCTL_RELEASE_AT_PASSIVE = BUGGY_CODE(34),     // KeLowerIrql while holding a spin lock, then KeReleaseSpinLock
    IOCTL_LEAVE_CRITICAL_REGION = BUGGY_CODE(35),  // KeLeaveCriticalRegion without KeEnterCriticalRegion
    // Locks and dispatcher objects
    IOCTL_ACQUIRE_TWICE = BUGGY_CODE(36),          // a spin lock acquired again by its holder (then both released)
    IOCTL_RELEASE_MUTEX_NOT_OWNED = BUGGY_CODE(37),  // KeReleaseMutex of a mutex it never waited for
    IOCTL_SEMAPHORE_PAST_LIMIT = BUGGY_CODE(38),   // KeReleaseSemaphore(adjustment 2) on a semaphore of limit 1
    IOCTL_FAST_MUTEX_TWICE = BUGGY_CODE(39),       // ExAcquireFastMutex twice (then both released)
    IOCTL_WAIT_FOUR_WITHOUT_BLOCKS = BUGGY_CODE(40),  // KeWaitForMultipleObjects(4 signaled events, no wait blocks)
    IOCTL_RELEASE_RESOURCE_NOT_OWNED = BUGGY_CODE(41),  // ExReleaseResourceLite of an ERESOURCE it does not hold
    IOCTL_RESOURCE_OUTSIDE_REGION = BUGGY_CODE(42),  // ExAcquireResourceExclusiveLite without KeEnterCriticalRegion
    IOCTL_DELAY_NULL_INTERVAL = BUGGY_CODE(43),    // KeDelayExecutionThread with a NULL interval
    IOCTL_ASSERT_INPUT = BUGGY_CODE(44),           // ASSERTs an input buffer the caller did not send
    // Memory
    IOCTL_FREE_NULL = BUGGY_CODE(45),              // ExFreePoolWithTag(NULL): a block it never allocated
    IOCTL_FREE_WRONG_TAG = BUGGY_CODE(46),         // allocates with 'BgA1', frees with 'BgB1'
    IOCTL_ALLOCATE_MUST_SUCCEED = BUGGY_CODE(47),  // ExAllocatePool2(POOL_FLAG_RAISE_ON_FAILURE) of an impossible size
    IOCTL_FREE_LOCKED_MDL = BUGGY_CODE(48),        // IoFreeMdl of an MDL it locked and did not unlock
    IOCTL_FREE_TWICE = BUGGY_CODE(49),             // frees a 'BgA1' block, then frees it again
    IOCTL_COMPLETE_AND_KEEP = BUGGY_CODE(50),      // completes its IRP properly and keeps the pointer
    IOCTL_CANCEL_KEPT = BUGGY_CODE(51),            // IoCancelIrp on the IRP IOCTL_COMPLETE_AND_KEEP kept
    IOCTL_COPY_NO_LOCATION = BUGGY_CODE(52),       // IoCopyCurrentIrpStackLocationToNext and IoSetCompletionRoutine
                                                   // on a one-location IRP, then completes it
    // Executive objects in memory that goes away
    IOCTL_FREE_POOL_WITH_OBJECTS = BUGGY_CODE(53),  // cache-aligned pool ('BgO1') holding an ERESOURCE, a nonpaged
                                                    // lookaside list and a LOOKASIDE_LIST_EX (one block kept), all
                                                    // initialized, freed without deleting any
    IOCTL_DELETE_DEVICE_WITH_LIST = BUGGY_CODE(54),  // a device whose extension holds a paged lookaside list,
                                                     // deleted without ExDeletePagedLookasideList
    IOCTL_PUSH_LOCK_OUTSIDE_REGION = BUGGY_CODE(55),  // ExAcquirePushLockExclusive without KeEnterCriticalRegion
};

// What the driver does beyond the codes, set before it loads.
struct Config {
    bool stall_startio = false;       // StartIo completes without IoStartNextPacket
    bool leave_device = false;        // DriverUnload does not delete \Device\BuggyLower
    bool leave_link = false;          // DriverUnload does not delete \DosDevices\Buggy
    bool leave_thread = false;        // DriverUnload does not stop its system thread
    bool leak_pool_at_unload = false; // DriverEntry allocates 'BgL1' that nobody frees
    // DriverEntry initializes a nonpaged lookaside list (a global of the image, 'BgN1'), a
    // paged one ('BgP1', in the driver's heap globals), a LOOKASIDE_LIST_EX of paged entries
    // ('BgX1', beside it) and an ERESOURCE; DriverUnload deletes them unless these are set.
    bool leave_lookasides = false;    // no list is deleted (each keeps one block)
    bool leave_resource = false;      // the ERESOURCE is not deleted
};
Config& config();
void reset();

// Blocks IOCTL_ALLOCATE_TWO kept (pairs), for the fault-injection test.
int blocks_held();
// Cancel routines run for IOCTL_HOLD requests.
int holds_cancelled();
// Tells the system thread a leave_thread driver left running to end.
void stop_left_thread();
// Completes the IOCTL_HOLD request \Device\BuggyStartIo's StartIo keeps, and starts the
// next packet (at DISPATCH_LEVEL, as a DPC would). False when none is held.
bool finish_held_startio();

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);

}  // namespace buggy
