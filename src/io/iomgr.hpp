// The I/O manager's private state: what ntio keeps beside the driver-visible
// DRIVER_OBJECT, DEVICE_OBJECT, FILE_OBJECT and IRP.
//
// File object lifetime (S-CAN-13/14):
//   handles ─(handle count)─▶ FileObject ◀─ref── each IRP (Tail.Overlay.OriginalFileObject)
//   last handle closed  → IRP_MJ_CLEANUP, in the closing thread
//   last reference gone → IRP_MJ_CLOSE (after every IRP on it completed), then freed
#pragma once
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "ke/spin.hpp"
#include "ob/object.hpp"
#include "ps/thread.hpp"
#include "wdm.h"
#include "windows.h"

namespace ntio::io {

extern ob::ObjectType g_device_type, g_driver_type, g_file_type;
struct DevNode;
class PnpManager;
struct PnpNotifications;

// Runtime part of a device object (DEVICE_OBJECT::DeviceObjectExtension).
struct DeviceRuntime {
    DEVICE_OBJECT* device;
    std::wstring name;            // "\Device\Echo", empty if unnamed
    uint32_t number = 0;          // creation order in this process: names unnamed devices in reports and traces
    std::atomic<uint64_t> trace_label{0};  // (trace generation << 32) | label index (trace/trace.cpp)
    std::atomic<bool> deleted{false};  // IoDeleteDevice called: new opens and I/O fail
    std::atomic<int> open_files{0};    // file objects opened on it, until IRP_MJ_CLOSE (exclusive devices)
    DEVICE_OBJECT* attached_to = nullptr;  // the device below in its stack (referenced), under stack_lock()
    // Plug and Play (io/pnp.cpp): set on the PDOs of the PnP manager's root bus, before
    // AddDevice, and never changed. watch_closes: a removal waits for the stack's last
    // file object to close (S-PNP-2), so closes on this device report to the PnP manager.
    DevNode* pnp_node = nullptr;
    std::atomic<bool> watch_closes{false};

    // StartIo (io/startio.cpp): attributes are set-only (S-DQ-9).
    std::atomic<bool> deferred_startio{false}, noncancelable{false};
    // DeferredStartIo: (StartIo calls active << 1) | a start-next request recorded
    // while one was active. One word, so that the request and the active call's exit
    // cannot miss each other. The next_* fields are written before the bit is set.
    std::atomic<uint32_t> startio_state{0};
    // Without DeferredStartIo: whether the recursion warning (StartIoRecursion) was given.
    std::atomic<bool> recursion_reported{false};
    std::atomic<bool> next_by_key{false}, next_cancelable{false};
    std::atomic<ULONG> next_key{0};

    // PoSetPowerState (io/power.cpp): the states the drivers last recorded.
    std::atomic<uint8_t> device_power{PowerDeviceUnspecified}, system_power{PowerSystemUnspecified};
};

// The device object as an object-manager object: DEVICE_OBJECT, then ours, then the
// driver's extension.
struct DeviceBody {
    DEVICE_OBJECT device;
    DeviceRuntime runtime;
};
inline DeviceRuntime& runtime(DEVICE_OBJECT* d) { return *reinterpret_cast<DeviceRuntime*>(d->DeviceObjectExtension); }

struct DriverBody {
    DRIVER_OBJECT driver;
    DRIVER_EXTENSION extension;
    std::wstring name;           // "\Driver\echo"
    std::wstring registry_path;  // "\Registry\Machine\System\CurrentControlSet\Services\echo"
    UNICODE_STRING registry_us;
    std::string module_path;
    void* module = nullptr;  // dlopen handle
    bool unloaded = false;
    // NtUnloadDriver while a device of the driver had open handles (S-SCM-5): new opens
    // fail, and the last close unloads it (once: unload_posted).
    std::atomic<bool> unload_pending{false}, unload_posted{false};
    uint32_t verifier_id = 0;  // the verifier's number for it (verifier/drivers.hpp)
    // IoAllocateDriverObjectExtension's areas by client address (S-DRVX-1), under
    // extensions_lock; malloc'ed, not pool, so that they outlive DriverUnload's pool
    // check as Windows frees them with the driver object.
    std::mutex extensions_lock;
    std::vector<std::pair<void*, void*>> client_extensions;
    ~DriverBody() {
        for (auto& e : client_extensions) std::free(e.second);
    }
};

// Runtime part of a file object.
struct FileBody {
    FILE_OBJECT file;
    DEVICE_OBJECT* target = nullptr;  // device the file was opened on (referenced)
    std::wstring file_name;           // backing store for FILE_OBJECT::FileName
    bool created = false;             // IRP_MJ_CREATE succeeded (cleanup/close owed)
    std::atomic<uint32_t> busy{0};    // synchronous-I/O lock (S-DSP-5)
    std::atomic<uint32_t> lock_waiters{0};
};
inline FileBody& body_of(FILE_OBJECT* f) { return *reinterpret_cast<FileBody*>(f); }

// Hidden header in front of every IRP ntio allocates.
struct alignas(16) IrpHeader {
    uint32_t magic;
    uint8_t size_class;     // kIrpLookaside, kIrpSized or kIrpDriverMemory
    uint8_t stack_count;
    uint16_t flags;         // kIrp* below
    uint64_t sequence;      // request number, for reports and traces
    void* event_object;     // UserEvent's object when the I/O manager referenced it
    uint32_t buffer_capacity;
    uint32_t output_length; // METHOD_BUFFERED/read copy-back limit
    // Cancellers hold the IRP while they call IoCancelIrp on it; a completion that
    // happens meanwhile leaves the free to the last of them. Both under the issuing
    // thread's IRP-list lock.
    uint16_t cancel_holds;
    bool free_deferred;
    // The thread-list state (S-CAN-8/12), under `thread`'s IRP-list lock. `thread`
    // is the issuer, set once before the IRP is sent; it outlives the IRP (an exiting
    // thread waits for its IRPs, and a disassociated IRP holds a reference on it).
    uint8_t list_state;  // kNotListed, kListed, kDisassociated, kInSlot
    uint32_t verifier_slot;  // its record in verifier/irp_tracker.cpp; 0 = not tracked
    _KTHREAD* thread;
};
// kInSlot: in `thread`->irp_slot instead of its irp_list (see _KTHREAD::irp_slot). An
// IRP leaves the slot by a compare-exchange, which only its issuer's own completion
// does without irp_lock, and only while no walker has seen it (kSlotSeen).
constexpr uint8_t kNotListed = 0, kListed = 1, kDisassociated = 2, kInSlot = 3;
// Bit 0 of _KTHREAD::irp_slot: IRPs queued to a thread come from allocate_irp, 16-byte
// aligned after their header, so the bit is free.
constexpr uintptr_t kSlotSeen = 1;
constexpr uint16_t kIrpUserRequest = 1;     // built by an Nt* service for a caller
constexpr uint16_t kIrpInlineBuffer = 2;    // SystemBuffer lives in the IRP's allocation
constexpr uint16_t kIrpCompleted = 4;       // phase 2 done
constexpr uint16_t kIrpManagerFrees = 8;    // IoBuildSynchronousFsdRequest / IoBuildDeviceIoControlRequest
constexpr uint16_t kIrpPoolBuffer = 16;     // SystemBuffer from ExAllocatePoolWithTag (driver-built IRPs)
// size_class values
constexpr uint8_t kIrpLookaside = 0, kIrpSized = 1, kIrpDriverMemory = 2;
// The header sits in front of the IRPs ntio allocates, and after the stack locations
// of an IRP a driver initialized in its own memory (IoInitializeIrp); NtioPrivate
// points to it either way.
inline IrpHeader* header_of(IRP* irp) { return static_cast<IrpHeader*>(irp->NtioPrivate); }
static_assert(sizeof(IrpHeader) + 16 <= NTIO_IRP_PRIVATE_BYTES, "IoSizeOfIrp's private part holds the header");

// A file object's Flags once handles exist: IRP_MJ_CLEANUP sets FO_CLEANUP_COMPLETE
// while other threads' requests on the file may be completing, so reads and that
// write are atomic.
inline ULONG file_flags(const FILE_OBJECT* fo) { return __atomic_load_n(&fo->Flags, __ATOMIC_RELAXED); }

// Writes a caller's status block at completion. An overlapped caller may read the block
// while this runs on another thread: HasOverlappedIoCompleted (S-W32-8), GetOverlappedResult's
// first look (S-W32-5) and DeviceIoControl's byte count after STATUS_PENDING (S-DSP-13).
// So both stores are atomic, Information first and Status last with release: a reader that
// sees the final status with acquire (win32/file.cpp) also sees the count.
inline void write_status_block(PIO_STATUS_BLOCK iosb, NTSTATUS status, ULONG_PTR information) {
    __atomic_store_n(&iosb->Information, information, __ATOMIC_RELAXED);
    __atomic_store_n(&iosb->Status, status, __ATOMIC_RELEASE);
}

std::string device_label(DEVICE_OBJECT* d);
// The device's I/O timer (io/io_timer.cpp): IoDeleteDevice stops it and waits for a
// tick in progress; the device object's destruction frees it.
void stop_io_timer_for_delete(DEVICE_OBJECT* device);
void free_io_timer(DEVICE_OBJECT* device);
const char* major_function_name(uint8_t major);  // "DEVICE_CONTROL"
// WinDbg-style dumps (io/dump.cpp): one IRP (!irp), a device's stack (!devstack), and
// every IRP on a thread's list with the stack holding it (empty when there is none).
std::string dump_irp(IRP* irp);
std::string dump_device_stack(DEVICE_OBJECT* device);
std::string dump_pending_irps();
std::mutex& stack_lock();  // guards every AttachedDevice link and attached_to (io/stack.cpp)
std::wstring to_wstring(const UNICODE_STRING* s);

// Cancellation (io/cancel.cpp)
// The cancel spin lock's word holds its owner's &ke::t_irql (ke/spin.hpp).
extern constinit KSPIN_LOCK g_cancel_lock;
inline bool cancel_lock_held_by_caller() {
    return __atomic_load_n(&g_cancel_lock, __ATOMIC_RELAXED) == reinterpret_cast<KSPIN_LOCK>(&ke::t_irql);
}
PKSPIN_LOCK cancel_spin_lock();  // for reports that name it
// Calls a cancel routine (cancel lock held, CancelIrql = irql) and checks that it
// released the lock back to `irql`.
void call_cancel_routine(PDRIVER_CANCEL routine, PDEVICE_OBJECT dev, PIRP irp, KIRQL irql);

// IRPs
NTSTATUS dispatch_traced(PDEVICE_OBJECT dev, PIRP irp, PDRIVER_DISPATCH dispatch);
void thread_exit_cleanup();  // the calling thread's IRP lookaside and counter
IRP* allocate_irp(CCHAR stack_size, uint32_t inline_buffer);
// MmProbeAndLockPages without the probe: the I/O manager's own MDLs, whose failure
// must not raise into a caller's __try (the request fails or faults instead).
void lock_mdl_pages(PMDL mdl, LOCK_OPERATION op);
void free_irp(IRP* irp);
// An IRP the verifier's quarantine lets go (verifier/irp_tracker.cpp), poisoned and
// already counted as freed: a standard one goes to this thread's lookaside for the
// next request, any other back to the C library.
void reuse_after_quarantine(IRP* irp);
// IoInitializeIrp: an IRP in a driver's own memory of `packet_size` bytes; false if the
// packet has no room for the runtime's part (see IoSizeOfIrp).
bool initialize_driver_irp(IRP* irp, USHORT packet_size, CCHAR stack);
// IoReuseIrp: back to the state IoAllocateIrp/IoInitializeIrp left it in (new sequence id).
void reinitialize_irp(IRP* irp);
// Queues an IRP to its issuer, the calling thread `t`: into the thread's slot when
// it is empty (see _KTHREAD::irp_slot), else onto its irp_list. Inline: the request
// path's case is the first.
void queue_to_thread_list(IRP* irp, _KTHREAD* t);
[[gnu::always_inline]] inline void queue_to_thread(IRP* irp, _KTHREAD* t) {
    IrpHeader* h = header_of(irp);
    irp->Tail.Overlay.Thread = static_cast<PETHREAD>(t);
    h->thread = t;
    if (t->irp_slot.load(std::memory_order_relaxed)) [[unlikely]]
        return queue_to_thread_list(irp, t);
    // Only this thread fills its slot, so it stays empty until the store below; the
    // release publishes the IRP to walkers.
    irp->ThreadListEntry.Flink = irp->ThreadListEntry.Blink = &t->irp_slot_mark;
    h->list_state = kInSlot;
    t->irp_slot.store(reinterpret_cast<uintptr_t>(irp), std::memory_order_release);
}
// Under thread->irp_lock, for a walker of irp_list: the IRP in the thread's slot, if
// any, marked seen (its retirement then takes the lock, so a cancel hold the walker
// takes on it counts); nullptr when the slot is empty.
IRP* slot_irp_locked(_KTHREAD* thread);
// Under thread->irp_lock, on the exiting thread `thread` itself: takes the IRP out of
// its slot (to disassociate it), or nullptr.
IRP* take_slot_irp_locked(_KTHREAD* thread);
void dequeue_from_thread(IRP* irp);
void finish_thread_notification(_KTHREAD* issuer);
// IRPs allocated since the current runtime started (start_counting_irps) and not yet
// completed or freed.
int64_t live_irps();
void start_counting_irps();

// The I/O control service: NtDeviceIoControlFile (major IRP_MJ_DEVICE_CONTROL) and
// NtFsControlFile (IRP_MJ_FILE_SYSTEM_CONTROL); DeviceIoControl calls it directly.
NTSTATUS device_control(HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine, PVOID ApcContext,
                        PIO_STATUS_BLOCK IoStatusBlock, ULONG Code, PVOID InputBuffer, ULONG InputBufferLength,
                        PVOID OutputBuffer, ULONG OutputBufferLength, UCHAR major);
// S-BUF-2: a code of FILE_DEVICE_FILE_SYSTEM goes as IRP_MJ_FILE_SYSTEM_CONTROL.
inline UCHAR control_major(ULONG code) {
    return DEVICE_TYPE_FROM_CTL_CODE(code) == FILE_DEVICE_FILE_SYSTEM ? IRP_MJ_FILE_SYSTEM_CONTROL
                                                                      : IRP_MJ_DEVICE_CONTROL;
}
// The same without an event or APC, the major function by the code's device type
// (S-BUF-2): a synchronous DeviceIoControl. A second copy of the service with fewer
// arguments to pass and to test.
NTSTATUS device_control_plain(HANDLE FileHandle, PIO_STATUS_BLOCK IoStatusBlock, ULONG Code, PVOID InputBuffer,
                              ULONG InputBufferLength, PVOID OutputBuffer, ULONG OutputBufferLength);

// A request completed inside its issuer's own IoCallDriver, on the issuer's thread:
// what a driver that completes in its dispatch routine does, the common case. The
// issuer of a request on a synchronous file object registers one around IoCallDriver
// (InlineCompletionScope); finish_request recognizes the IRP and leaves the last two
// steps of its completion to the issuer, which performs them before its service
// returns: setting the file object's event, and dropping the IRP's reference on the
// file object. The issuer does both together with what it does anyway at the end of
// the call (release the file's I/O lock, drop its own reference), so one fence and one
// atomic decrement serve for two of each (io/file.cpp).
struct InlineCompletion {
    IRP* irp;                  // the IRP while it is being sent; cleared once completed (set by the scope)
    InlineCompletion* outer;   // the thread's enclosing request (a driver issuing one from dispatch)
    bool completed = false;             // completed inline: the IRP's file reference is the issuer's now
    bool set_file_event = false;        // ... and the file object's event is owed
};
// The calling thread's innermost registered request (irp.cpp).
extern constinit thread_local InlineCompletion* t_inline_completion;
class InlineCompletionScope {
public:
    InlineCompletionScope(InlineCompletion& ic, IRP* irp) : m_ic(ic) {
        ic.irp = irp;
        ic.outer = t_inline_completion;
        t_inline_completion = &ic;
    }
    // Also on a forced unwind (ExitThread from inside a driver): the frame goes with the stack.
    ~InlineCompletionScope() {
        t_inline_completion = m_ic.outer;
        m_ic.irp = nullptr;
    }
    InlineCompletionScope(const InlineCompletionScope&) = delete;
    InlineCompletionScope& operator=(const InlineCompletionScope&) = delete;

private:
    InlineCompletion& m_ic;
};

// Sends a fully built user request to the top of `file`'s device stack and carries
// out the dispatch-return protocol (S-DSP-2/3). `synchronous_io` = the file object
// is synchronous (waits for pending, serialized by the caller).
NTSTATUS issue_user_request(FILE_OBJECT* file, IRP* irp);

// Sends a create/cleanup/close IRP synchronously (waits if the driver pends it).
NTSTATUS send_file_irp(FILE_OBJECT* file, UCHAR major, ACCESS_MASK access, ULONG share, ULONG options,
                       ULONG_PTR* information);

// Cancellation (io/cancel.cpp).
// Cancels every IRP the exiting thread issued and waits for them (S-CAN-12).
void cancel_thread_io(_KTHREAD* thread);
// Its two halves, for the process's exit, which cancels every thread's requests
// before it waits for any: false from the first when there is nothing to wait for.
// `in_synchronous_call`, when given, is set if one of them is a request on a
// synchronous file object: its issuer is inside the call (io/file.cpp send_request)
// until the request completes, and then on its way out of it.
bool cancel_thread_requests(_KTHREAD* thread, bool* in_synchronous_call = nullptr);
void wait_for_thread_requests(_KTHREAD* thread);
// Cancels the IRP numbered `sequence` if it is still on `thread`'s list (fault injection).
void cancel_request(_KTHREAD* thread, uint64_t sequence);
// Cancels `thread`'s user request on the synchronous `file`, if it is still listed
// (S-DSP-3: the request whose alertable wait an APC ended). A synchronous file object's
// requests are serialized, so the waiting thread has only that one on it.
void cancel_file_request(_KTHREAD* thread, FILE_OBJECT* file);

// Driver loading (io/driver.cpp). `instances`: the root-enumerated devices a PnP driver
// gets (0: the default, one for a driver that sets AddDevice, none otherwise; a number
// given for a driver without AddDevice is an error and the driver is not kept).
NTSTATUS load_driver(const std::string& path, int instances, DriverBody** out);
// The same with the service name given (\Driver\<name>, Services\<name>); with
// `image_statuses`, a module that is not a driver is STATUS_INVALID_IMAGE_FORMAT, as
// NtLoadDriver reports it.
NTSTATUS load_module(const std::string& path, const std::wstring& name, int instances, DriverBody** out,
                     bool image_statuses);
NTSTATUS load_driver_entry(const std::wstring& name, PDRIVER_INITIALIZE entry, int instances, DriverBody** out);
// A driver the runtime itself provides (the PnP manager's root bus): DriverEntry has run,
// the driver is not in the load list and never unloads on its own.
DriverBody* create_internal_driver(const std::wstring& name, PDRIVER_INITIALIZE entry);
// Runs `fn` at PASSIVE_LEVEL on a new system thread and waits for it (driver routines
// the system calls: DriverEntry, AddDevice, PnP IRPs, DriverUnload).
void on_system_thread(const std::function<void()>& fn);
// When the runtime ends, after the handles closed and before any driver unloads:
// IRP_MJ_SHUTDOWN to each device registered for it (io/shutdown.cpp, S-SHD-1..3).
void send_shutdown_notifications();
void unload_driver(DriverBody* d);
void unload_all_drivers();
// S-SCM-5: whether `dev`'s driver is stopping (opens fail), and a file object on `dev`
// closed while it was (runtime(dev).watch_closes is set): the last one unloads it.
bool unload_pending(DEVICE_OBJECT* dev);
void driver_file_closed(DEVICE_OBJECT* dev);
// Drivers loaded as one group (NTIO_DRIVERS before main): their reinitialization routines
// wait for the group's end, when they run (S-DRVX-3). Groups may nest.
void begin_driver_group();
void end_driver_group();

// Plug and Play (io/pnp.cpp).
namespace pnp {
// After DriverEntry: the driver's root-enumerated devices, each through AddDevice and
// IRP_MN_START_DEVICE (see load_driver for `instances`).
NTSTATUS add_devices(DriverBody* d, int instances);
// Before DriverUnload: removes the driver's devices that are still there.
void remove_driver_devices(DriverBody* d);
// System::remove_device (ntio.hpp documents the results).
NTSTATUS remove_device(const std::wstring& instance_id, bool surprise);
std::vector<std::wstring> present_instances();
// Whether a create may reach `dev` (S-W32-12, S-W32-22, S-PNP-2): STATUS_SUCCESS, or
// STATUS_NO_SUCH_DEVICE while any device of its stack is initializing or deleted, or
// while its PnP device is not started or is being removed.
NTSTATUS open_status(DEVICE_OBJECT* dev);
// A file object opened on `dev` is gone (runtime(dev).watch_closes was set).
void file_closed(DEVICE_OBJECT* dev);
// After the last driver unloaded: the root bus goes. The manager itself is freed with
// the runtime (destroy), once no runtime thread can still be running its work.
void shutdown();
void destroy(PnpManager* m);
// The interface list of CM_Get_Device_Interface_List (S-W32-23): user-mode names of the
// class's interfaces as a MULTI_SZ, enabled ones of started devices or (all) every one
// registered, of one device when device_id is not empty. Returns a CONFIGRET.
uint32_t interface_list(const GUID& guid, const std::wstring& device_id, bool all, std::wstring* multi_sz);
// What the PnP manager knows of a PDO's device, for IoGetDeviceProperty; false when
// `pdo` is not a PDO of the root bus.
struct NodeFacts {
    std::wstring instance_id;  // ROOT\ECHO\0000
    // The System setup class, {4d36e97d-e325-11ce-bfc1-08002be10318}: no INF names another.
    std::wstring class_guid;
    // The software key under Control\Class: the class and the node's number, <class>\NNNN
    // (S-REG-10).
    std::wstring driver_key;
};
bool node_facts(DEVICE_OBJECT* pdo, NodeFacts* facts);
// What a SetupAPI device information set copies (S-SDI): every device node recorded, in
// creation order (number: its position from 1, stable for the runtime's life; present:
// added or started, as present_instances), and every interface registered, with its
// user-mode path and whether it is active (enabled on a started device, as the PRESENT
// list has it), in registration order.
struct DeviceRecord {
    std::wstring instance_id;
    uint32_t number;
    bool present;
};
struct InterfaceRecord {
    GUID guid;
    std::wstring instance_id;
    std::wstring path;  // \\?\ROOT#ECHO#0000#{guid}[\ref]
    bool active;
};
void snapshot(std::vector<DeviceRecord>* devices, std::vector<InterfaceRecord>* interfaces);
// Calls `fn` with the kernel names of the class's enabled interfaces, under the manager's
// table lock: no interface changes state until it returns (S-PNPN-2).
void with_enabled_interfaces(const GUID& interface_class, const std::function<void(std::vector<std::wstring>)>& fn);

// PnP notifications (io/pnp_notify.cpp, S-PNPN). Under the manager's table lock: an
// interface of the class was enabled or disabled; queues the event for the registrations
// of the class.
void interface_state_changed(const GUID& interface_class, const std::wstring& link, bool enabled);
// DriverUnload has returned: unregisters what the driver left registered and describes
// each, for the verifier's report (S-PNPN-5).
std::vector<std::string> unregister_left_by(DriverBody* d);
void destroy_notifications(PnpNotifications* n);  // with the runtime
}  // namespace pnp

}  // namespace ntio::io
