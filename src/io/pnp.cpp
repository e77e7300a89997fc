// The Plug and Play manager: root-enumerated devices for drivers that set AddDevice,
// their start and removal (S-PNP-1..4), and device interfaces (S-W32-21..23).
//
// Device node lifecycle (state, under the manager's operation lock):
//
//   added ──START ok──▶ started ──QUERY_REMOVE ok──▶ REMOVE ──▶ removed
//     │                    │
//     │ AddDevice or       └──SURPRISE_REMOVAL──▶ surprise_removed ──(last file object
//     │ START failed                                                   closed)──▶ REMOVE
//     ▼
//   failed
//
// A PDO belongs to the root bus driver (\Driver\PnpManager) and is deleted by it once
// REMOVE has gone through the stack. Creates reach a device only in the started state
// (S-W32-22). Node records outlive their devices, as registry entries do on Windows, so
// an interface registered by ROOT\ECHO\0000 keeps its name when the device comes back.
//
// Locks: `op` (a kernel event used as a mutex: waiting on it lets virtual time move)
// serializes add and remove sequences, which call drivers; `lock` guards the tables and
// is never held while driver code runs.
#include <algorithm>
#include <cstring>
#include <memory>
#include <unordered_map>

#include <fmt/xchar.h>

#include "cfgmgr32.h"
#include "io/iomgr.hpp"
#include "ke/objects.hpp"
#include "ob/services.hpp"
#include "system.hpp"
#include "verifier/drivers.hpp"
#include "verifier/report.hpp"

namespace ntio::io {

enum class NodeState : uint8_t { added, started, surprise_removed, removed, failed };

struct DevNode {
    std::wstring instance_id;  // ROOT\ECHO\0000, set once
    // Written under both locks (op and the manager's lock), so either one is enough to read.
    DriverBody* driver = nullptr;  // referenced until the runtime ends (reused if the ID comes back)
    DEVICE_OBJECT* pdo = nullptr;  // the root bus's device; null once removed
    std::atomic<NodeState> state{NodeState::failed};
    bool remove_when_closed = false;  // surprise-removed; REMOVE waits for the last file object (S-PNP-2)
};

struct DeviceInterface {
    GUID guid;
    std::wstring instance_id;
    std::wstring link;       // \??\ROOT#ECHO#0000#{guid}[\ref]
    std::wstring base_link;  // \??\ROOT#ECHO#0000#{guid}: the symbolic link (a reference string rides along)
    bool enabled = false;
};

class PnpManager {
public:
    PnpManager() { KeInitializeEvent(&op, SynchronizationEvent, TRUE); }

    KEVENT op;
    std::mutex lock;
    std::vector<std::unique_ptr<DevNode>> nodes;  // creation order
    std::vector<std::unique_ptr<DeviceInterface>> interfaces;
    std::unordered_map<std::wstring, int> link_users;  // base link key -> enabled interfaces using it
    DriverBody* root = nullptr;                         // \Driver\PnpManager
    uint32_t pdo_number = 0;
};

namespace {

constexpr ULONG kInterfaceListTag = 0x50704966;  // 'fIpP': IoGetDeviceInterfaces lists
std::mutex g_create_lock;

PnpManager* manager_if_exists() {
    System::Impl* s = sys_if_exists();
    return s ? s->pnp.load(std::memory_order_acquire) : nullptr;
}

PnpManager& manager() {
    System::Impl& s = sys();
    if (PnpManager* m = s.pnp.load(std::memory_order_acquire)) return *m;
    std::lock_guard g(g_create_lock);
    if (!s.pnp.load()) s.pnp.store(new PnpManager, std::memory_order_release);
    return *s.pnp.load();
}

struct OpLock {
    explicit OpLock(PnpManager& m) : m(m) { KeWaitForSingleObject(&m.op, Executive, KernelMode, FALSE, nullptr); }
    ~OpLock() { KeSetEvent(&m.op, IO_NO_INCREMENT, FALSE); }
    PnpManager& m;
};

std::wstring upper(std::wstring s) {
    for (auto& c : s) c = static_cast<wchar_t>(std::towupper(static_cast<wint_t>(c)));
    return s;
}

bool same_text(const std::wstring& a, const std::wstring& b) { return upper(a) == upper(b); }

std::string narrow(const std::wstring& s) {
    std::string out;
    for (wchar_t c : s) out += c < 0x80 ? static_cast<char>(c) : '?';
    return out;
}

bool live(NodeState s) {
    return s == NodeState::added || s == NodeState::started || s == NodeState::surprise_removed;
}

// A failed device keeps its instance ID (a devnode with a problem) until its driver unloads.
bool occupied(NodeState s) { return s != NodeState::removed; }

// The GUID as Windows writes it in interface names: braces, lower-case hex.
std::wstring guid_text(const GUID& g) {
    wchar_t buf[40];
    std::swprintf(buf, 40, L"{%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x}", g.Data1, g.Data2, g.Data3,
                  g.Data4[0], g.Data4[1], g.Data4[2], g.Data4[3], g.Data4[4], g.Data4[5], g.Data4[6], g.Data4[7]);
    return buf;
}

// ROOT\ECHO\0000 -> ROOT#ECHO#0000
std::wstring hashed(std::wstring instance) {
    std::replace(instance.begin(), instance.end(), L'\\', L'#');
    return instance;
}

// ---- the root bus driver: its PDOs answer IRP_MJ_PNP as a bus driver does -------------------

NTSTATUS root_pnp(PDEVICE_OBJECT, PIRP Irp) {
    switch (IoGetCurrentIrpStackLocation(Irp)->MinorFunction) {
    case IRP_MN_START_DEVICE:
    case IRP_MN_QUERY_REMOVE_DEVICE:
    case IRP_MN_REMOVE_DEVICE:  // the PnP manager deletes the PDO once the IRP is back
    case IRP_MN_CANCEL_REMOVE_DEVICE:
    case IRP_MN_SURPRISE_REMOVAL:
    case IRP_MN_STOP_DEVICE:
    case IRP_MN_QUERY_STOP_DEVICE:
    case IRP_MN_CANCEL_STOP_DEVICE:
        Irp->IoStatus.Status = STATUS_SUCCESS;
        break;
    default:
        break;  // S-PNP-1: complete with the status already there
    }
    NTSTATUS status = Irp->IoStatus.Status;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return status;
}

NTSTATUS root_complete_as_is(PDEVICE_OBJECT, PIRP Irp) {
    NTSTATUS status = Irp->IoStatus.Status;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return status;
}

NTSTATUS root_driver_entry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING) {
    DriverObject->MajorFunction[IRP_MJ_PNP] = root_pnp;
    DriverObject->MajorFunction[IRP_MJ_POWER] = root_complete_as_is;
    DriverObject->MajorFunction[IRP_MJ_SYSTEM_CONTROL] = root_complete_as_is;
    return STATUS_SUCCESS;
}

// ---- PnP IRPs --------------------------------------------------------------------------------

NTSTATUS pnp_irp_done(PDEVICE_OBJECT, PIRP, PVOID context) {
    KeSetEvent(static_cast<PKEVENT>(context), IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;  // the IRP is ours to free
}

// Sends IRP_MJ_PNP/`minor` to the top of the PDO's stack and waits for it (S-PNP-1).
// Call on a system thread at PASSIVE_LEVEL.
NTSTATUS send_pnp(DEVICE_OBJECT* pdo, UCHAR minor) {
    PDEVICE_OBJECT top = IoGetAttachedDeviceReference(pdo);
    PIRP irp = IoAllocateIrp(top->StackSize, FALSE);
    if (!irp) {
        ObDereferenceObject(top);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    irp->IoStatus.Status = STATUS_NOT_SUPPORTED;
    irp->IoStatus.Information = 0;
    irp->RequestorMode = KernelMode;
    PIO_STACK_LOCATION sl = IoGetNextIrpStackLocation(irp);
    sl->MajorFunction = IRP_MJ_PNP;
    sl->MinorFunction = minor;
    KEVENT done;
    KeInitializeEvent(&done, NotificationEvent, FALSE);
    IoSetCompletionRoutine(irp, pnp_irp_done, &done, TRUE, TRUE, TRUE);
    if (IoCallDriver(top, irp) == STATUS_PENDING) KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, nullptr);
    NTSTATUS status = irp->IoStatus.Status;
    IoFreeIrp(irp);
    ObDereferenceObject(top);
    return status;
}

NTSTATUS send_pnp_on_system_thread(DEVICE_OBJECT* pdo, UCHAR minor) {
    NTSTATUS status = STATUS_SUCCESS;
    on_system_thread([&] { status = send_pnp(pdo, minor); });
    return status;
}

// File objects open on any device of the PDO's stack (they keep REMOVE waiting).
int stack_open_files(DEVICE_OBJECT* pdo) {
    std::lock_guard g(stack_lock());
    int n = 0;
    for (PDEVICE_OBJECT d = pdo; d; d = d->AttachedDevice) n += runtime(d).open_files.load();
    return n;
}

void watch_stack_closes(DEVICE_OBJECT* pdo) {
    std::lock_guard g(stack_lock());
    for (PDEVICE_OBJECT d = pdo; d; d = d->AttachedDevice) runtime(d).watch_closes.store(true);
}

DevNode* node_of_stack(DEVICE_OBJECT* dev, DEVICE_OBJECT** base_out) {
    std::lock_guard g(stack_lock());
    DEVICE_OBJECT* base = dev;
    while (DEVICE_OBJECT* lower = runtime(base).attached_to) base = lower;
    if (base_out) *base_out = base;
    return runtime(base).pnp_node;
}

// Interfaces still enabled when the device goes are disabled by the PnP manager (S-W32-22).
void disable_interfaces_of(PnpManager& m, const std::wstring& instance_id) {
    std::vector<std::wstring> links;
    {
        std::lock_guard g(m.lock);
        for (auto& i : m.interfaces)
            if (i->enabled && same_text(i->instance_id, instance_id)) links.push_back(i->link);
    }
    for (std::wstring& link : links) {
        UNICODE_STRING u{static_cast<USHORT>(link.size() * sizeof(WCHAR)),
                         static_cast<USHORT>(link.size() * sizeof(WCHAR)), link.data()};
        IoSetDeviceInterfaceState(&u, FALSE);
    }
}

// After REMOVE has been through the stack: the function driver detached and deleted its
// device (S-PNP-3); the bus deletes the PDO.
void finish_removal(PnpManager& m, DevNode* n) {
    DEVICE_OBJECT* pdo = n->pdo;
    disable_interfaces_of(m, n->instance_id);
    if (PDEVICE_OBJECT upper = __atomic_load_n(&pdo->AttachedDevice, __ATOMIC_ACQUIRE)) {
        verifier::report(verifier::Check::PnpDeviceLeftAttached,
                             fmt::format("after IRP_MN_REMOVE_DEVICE for {}, {} is still attached to the PDO; in "
                                         "IRP_MN_REMOVE_DEVICE pass the IRP down, then IoDetachDevice(lower "
                                         "device) and IoDeleteDevice(your device) (S-PNP-3). ntio detached it",
                                         narrow(n->instance_id), device_label(upper)),
                             {.device = upper});
        IoDetachDevice(pdo);
    }
    {
        std::lock_guard g(stack_lock());
        runtime(pdo).watch_closes.store(false);
    }
    {
        std::lock_guard g(m.lock);
        n->pdo = nullptr;
    }
    IoDeleteDevice(pdo);
    n->remove_when_closed = false;
    n->state.store(NodeState::removed);
}

void send_remove(PnpManager& m, DevNode* n) {
    send_pnp_on_system_thread(n->pdo, IRP_MN_REMOVE_DEVICE);  // cannot fail (S-PNP-3)
    finish_removal(m, n);
}

enum class RemoveMode { orderly, surprise, forced };

// One device's removal; the caller holds the operation lock.
NTSTATUS remove_locked(PnpManager& m, DevNode* n, RemoveMode mode) {
    NodeState state = n->state.load();
    if (!live(state)) return STATUS_NO_SUCH_DEVICE;
    int open = stack_open_files(n->pdo);
    // Surprise-removed already: REMOVE waits for the last file object, or is on its way.
    if (state == NodeState::surprise_removed && mode != RemoveMode::forced) return STATUS_PENDING;
    switch (mode) {
    case RemoveMode::surprise:
        // New creates fail from here on (S-PNP-2); a device never started gets REMOVE only.
        n->state.store(NodeState::surprise_removed);
        if (state == NodeState::started) send_pnp_on_system_thread(n->pdo, IRP_MN_SURPRISE_REMOVAL);
        if (stack_open_files(n->pdo) > 0) {
            n->remove_when_closed = true;
            watch_stack_closes(n->pdo);
            // A close that raced the flag saw nothing to do: look again.
            if (stack_open_files(n->pdo) > 0) return STATUS_PENDING;
        }
        send_remove(m, n);
        return STATUS_SUCCESS;
    case RemoveMode::orderly:
        // Open handles veto an orderly removal before the drivers are asked.
        if (open > 0) return STATUS_PLUGPLAY_QUERY_VETOED;
        if (!NT_SUCCESS(send_pnp_on_system_thread(n->pdo, IRP_MN_QUERY_REMOVE_DEVICE))) {
            send_pnp_on_system_thread(n->pdo, IRP_MN_CANCEL_REMOVE_DEVICE);
            return STATUS_PLUGPLAY_QUERY_VETOED;
        }
        send_remove(m, n);
        return STATUS_SUCCESS;
    case RemoveMode::forced:
        // The driver is unloading (program exit or unload_driver): the device goes whatever
        // the drivers say. File objects still open here belong to requests the driver never
        // completed (the program's handles are closed first); SURPRISE_REMOVAL asks the
        // driver to fail them before REMOVE.
        if (open > 0) {
            std::fprintf(stderr,
                         "ntio: %s still has %d open file object(s) as its driver unloads (requests never "
                         "completed?); ntio sends IRP_MN_SURPRISE_REMOVAL, then IRP_MN_REMOVE_DEVICE without "
                         "waiting for them\n",
                         narrow(n->instance_id).c_str(), open);
            if (state == NodeState::started) {
                n->state.store(NodeState::surprise_removed);
                send_pnp_on_system_thread(n->pdo, IRP_MN_SURPRISE_REMOVAL);
            }
        } else if (state != NodeState::surprise_removed) {
            NTSTATUS s = send_pnp_on_system_thread(n->pdo, IRP_MN_QUERY_REMOVE_DEVICE);
            if (!NT_SUCCESS(s))
                std::fprintf(stderr,
                             "ntio: %s failed IRP_MN_QUERY_REMOVE_DEVICE with 0x%08X as its driver unloads; the "
                             "device is removed anyway\n",
                             narrow(n->instance_id).c_str(), static_cast<unsigned>(s));
        }
        send_remove(m, n);
        return STATUS_SUCCESS;
    }
    return STATUS_SUCCESS;
}

// A PnP driver whose last device is gone unloads, as on Windows.
void unload_if_deviceless(DriverBody* d) {
    PnpManager* m = manager_if_exists();
    if (!m) return;
    {
        std::lock_guard g(m->lock);
        for (auto& n : m->nodes)
            if (n->driver == d && live(n->state.load())) return;
    }
    bool listed = false;
    {
        std::lock_guard g(sys().drivers_lock);
        auto& list = sys().drivers;
        auto it = std::find(list.begin(), list.end(), d);
        if (it != list.end()) {
            list.erase(it);
            listed = true;
        }
    }
    if (!listed) return;  // already unloading (unload_driver, program exit)
    unload_driver(d);
    ob::dereference(d);
}

DevNode* find_node(PnpManager& m, const std::wstring& instance_id) {
    std::lock_guard g(m.lock);
    for (auto& n : m.nodes)
        if (same_text(n->instance_id, instance_id)) return n.get();
    return nullptr;
}

// Creates the PDO, calls AddDevice and starts the stack. On a system thread.
void add_one(PnpManager& m, DriverBody* d, DevNode* n) {
    std::wstring pdo_name = fmt::format(L"\\Device\\{:08x}", ++m.pdo_number);
    UNICODE_STRING name{static_cast<USHORT>(pdo_name.size() * sizeof(WCHAR)),
                        static_cast<USHORT>(pdo_name.size() * sizeof(WCHAR)), pdo_name.data()};
    PDEVICE_OBJECT pdo = nullptr;
    NTSTATUS s = IoCreateDevice(&m.root->driver, 0, &name, FILE_DEVICE_UNKNOWN, FILE_AUTOGENERATED_DEVICE_NAME,
                                FALSE, &pdo);
    std::string id = narrow(n->instance_id), driver = narrow(d->name);
    if (!NT_SUCCESS(s)) {
        std::fprintf(stderr, "ntio: cannot create the PDO of %s (0x%08X)\n", id.c_str(), static_cast<unsigned>(s));
        n->state.store(NodeState::failed);
        return;
    }
    runtime(pdo).pnp_node = n;
    pdo->Flags |= DO_BUS_ENUMERATED_DEVICE;
    pdo->Flags &= ~DO_DEVICE_INITIALIZING;  // the bus driver's own device is ready before AddDevice
    {
        std::lock_guard g(m.lock);
        n->pdo = pdo;
    }
    n->state.store(NodeState::added);

    {
        verifier::drivers::Scope scope(d->verifier_id);
        s = d->extension.AddDevice(&d->driver, pdo);
    }
    if (!NT_SUCCESS(s)) {
        std::fprintf(stderr, "ntio: AddDevice of %s for %s failed with 0x%08X; the device is not started\n",
                     driver.c_str(), id.c_str(), static_cast<unsigned>(s));
        if (PDEVICE_OBJECT upper = __atomic_load_n(&pdo->AttachedDevice, __ATOMIC_ACQUIRE)) {
            verifier::report(verifier::Check::PnpDeviceLeftAttached,
                                 fmt::format("AddDevice of {} failed but left {} attached to the PDO of {}; a "
                                             "failing AddDevice detaches and deletes what it created",
                                             driver, device_label(upper), id),
                                 {.device = upper});
            IoDetachDevice(pdo);
        }
        {
            std::lock_guard g(m.lock);
            n->pdo = nullptr;
        }
        IoDeleteDevice(pdo);
        n->state.store(NodeState::failed);
        return;
    }
    // S-W32-12: AddDevice-created devices clear DO_DEVICE_INITIALIZING themselves; until
    // they do, nothing can open them or attach on top of them.
    {
        std::lock_guard g(stack_lock());
        for (PDEVICE_OBJECT dev = pdo->AttachedDevice; dev; dev = dev->AttachedDevice)
            if (dev->Flags & DO_DEVICE_INITIALIZING)
                verifier::report(
                    verifier::Check::PnpDeviceStillInitializing,
                    fmt::format("AddDevice of {} returned with DO_DEVICE_INITIALIZING still set on {} ({}); clear it "
                                "at the end of AddDevice (DeviceObject->Flags &= ~DO_DEVICE_INITIALIZING). Until "
                                "then opening the device fails with STATUS_NO_SUCH_DEVICE and nothing can attach "
                                "on top of it",
                                driver, device_label(dev), id),
                    {.device = dev});
        if (!pdo->AttachedDevice)
            verifier::report(verifier::Check::PnpNoFunctionDevice,
                                     fmt::format("AddDevice of {} for {} succeeded without attaching a device to "
                                                 "the PDO (IoAttachDeviceToDeviceStack); the device has no function "
                                                 "driver",
                                                 driver, id),
                                     {.device = pdo, .driver = &d->driver});
    }
    s = send_pnp(pdo, IRP_MN_START_DEVICE);
    if (!NT_SUCCESS(s)) {
        std::fprintf(stderr, "ntio: %s failed IRP_MN_START_DEVICE for %s with 0x%08X; the device is removed\n",
                     driver.c_str(), id.c_str(), static_cast<unsigned>(s));
        send_pnp(pdo, IRP_MN_REMOVE_DEVICE);
        finish_removal(m, n);
        n->state.store(NodeState::failed);
        return;
    }
    n->state.store(NodeState::started);
}

}  // namespace

namespace pnp {

NTSTATUS add_devices(DriverBody* d, int instances) {
    std::string driver = narrow(d->name);
    if (!d->extension.AddDevice) {
        if (instances <= 0) return STATUS_SUCCESS;
        std::fprintf(stderr,
                     "ntio: %d instance(s) asked for %s, but its DriverEntry did not set "
                     "DriverObject->DriverExtension->AddDevice: only a PnP driver has device instances. Drop "
                     "--instances for this driver (or the =N in NTIO_DRIVERS), or give the driver an AddDevice "
                     "routine; the driver is not loaded\n",
                     instances, driver.c_str());
        return STATUS_INVALID_PARAMETER;
    }
    int count = instances > 0 ? instances : 1;
    PnpManager& m = manager();
    std::wstring service = upper(d->name.substr(d->name.rfind(L'\\') + 1));
    for (int i = 0; i < count; ++i) {
        OpLock op(m);
        if (!m.root) {
            m.root = create_internal_driver(L"PnpManager", root_driver_entry);
            if (!m.root) {
                std::fprintf(stderr, "ntio: cannot create the PnP manager's root bus driver\n");
                return STATUS_INSUFFICIENT_RESOURCES;
            }
        }
        // The lowest instance number no device holds (a failed one keeps its number until
        // its driver unloads); the record of an earlier device with that ID is reused,
        // with its interfaces.
        DevNode* n = nullptr;
        DriverBody* previous = d;
        ob::reference(d);  // the node's
        {
            std::lock_guard g(m.lock);
            for (unsigned k = 0; !n; ++k) {
                std::wstring id = fmt::format(L"ROOT\\{}\\{:04}", service, k);
                DevNode* existing = nullptr;
                for (auto& node : m.nodes)
                    if (same_text(node->instance_id, id)) existing = node.get();
                if (existing && occupied(existing->state.load())) continue;
                if (!existing) {
                    m.nodes.push_back(std::make_unique<DevNode>());
                    existing = m.nodes.back().get();
                    existing->instance_id = id;
                }
                n = existing;
                n->state.store(NodeState::added);  // taken
            }
            std::swap(n->driver, previous);
        }
        if (previous) ob::dereference(previous);  // an earlier device's driver
        on_system_thread([&] { add_one(m, d, n); });
    }
    return STATUS_SUCCESS;
}

void remove_driver_devices(DriverBody* d) {
    PnpManager* m = manager_if_exists();
    if (!m) return;
    std::vector<DevNode*> mine;
    {
        std::lock_guard g(m->lock);
        for (auto& n : m->nodes)
            if (n->driver == d) mine.push_back(n.get());
    }
    // Newest first, as drivers unload.
    for (auto it = mine.rbegin(); it != mine.rend(); ++it) {
        OpLock op(*m);
        if ((*it)->state.load() == NodeState::failed) (*it)->state.store(NodeState::removed);  // frees the ID
        else remove_locked(*m, *it, RemoveMode::forced);
    }
}

NTSTATUS remove_device(const std::wstring& instance_id, bool surprise) {
    PnpManager* m = manager_if_exists();
    if (!m) return STATUS_NO_SUCH_DEVICE;
    DevNode* n = find_node(*m, instance_id);
    if (!n) return STATUS_NO_SUCH_DEVICE;
    NTSTATUS status;
    DriverBody* d;
    {
        OpLock op(*m);
        d = n->driver;
        status = remove_locked(*m, n, surprise ? RemoveMode::surprise : RemoveMode::orderly);
    }
    if (status == STATUS_SUCCESS) unload_if_deviceless(d);
    return status;
}

std::vector<std::wstring> present_instances() {
    std::vector<std::wstring> out;
    PnpManager* m = manager_if_exists();
    if (!m) return out;
    std::lock_guard g(m->lock);
    for (auto& n : m->nodes) {
        NodeState s = n->state.load();
        if (s == NodeState::added || s == NodeState::started) out.push_back(n->instance_id);
    }
    return out;
}

NTSTATUS open_status(DEVICE_OBJECT* dev) {
    std::lock_guard g(stack_lock());
    DEVICE_OBJECT* base = dev;
    while (DEVICE_OBJECT* lower = runtime(base).attached_to) base = lower;
    for (DEVICE_OBJECT* d = base; d; d = d->AttachedDevice)
        if ((d->Flags & DO_DEVICE_INITIALIZING) || runtime(d).deleted.load() || unload_pending(d))
            return STATUS_NO_SUCH_DEVICE;
    if (DevNode* n = runtime(base).pnp_node)
        if (n->state.load() != NodeState::started) return STATUS_NO_SUCH_DEVICE;
    return STATUS_SUCCESS;
}

void file_closed(DEVICE_OBJECT* dev) {
    DEVICE_OBJECT* base = nullptr;
    DevNode* n = node_of_stack(dev, &base);
    if (!n || stack_open_files(base) > 0) return;
    // REMOVE at PASSIVE_LEVEL on a runtime thread, as Windows does it after CloseHandle
    // has returned; the item finds the node again by its ID.
    std::wstring id = n->instance_id;
    sys().post_work([id] {
        PnpManager* m = manager_if_exists();
        if (!m) return;
        DevNode* node = find_node(*m, id);
        if (!node) return;
        DriverBody* d = nullptr;
        {
            OpLock op(*m);
            if (!node->remove_when_closed || node->state.load() != NodeState::surprise_removed ||
                stack_open_files(node->pdo) > 0)
                return;
            d = node->driver;
            send_remove(*m, node);
        }
        unload_if_deviceless(d);
    });
}

void shutdown() {
    PnpManager* m = manager_if_exists();
    if (!m) return;
    OpLock op(*m);
    {
        std::lock_guard g(m->lock);
        for (auto& n : m->nodes)
            if (n->driver) {
                ob::dereference(n->driver);
                n->driver = nullptr;
            }
    }
    if (m->root) {
        // Every PDO went with its device; one left here means its driver never unloaded.
        while (PDEVICE_OBJECT pdo = m->root->driver.DeviceObject) {
            if (pdo->AttachedDevice) IoDetachDevice(pdo);
            IoDeleteDevice(pdo);
        }
        ob::dereference(m->root);
        m->root = nullptr;
    }
}

void destroy(PnpManager* m) { delete m; }

namespace {

// Enabled on a device that is started: what the PRESENT lists show (S-W32-23, S-SDI).
// Under m.lock.
bool active(PnpManager& m, const DeviceInterface& i) {
    if (!i.enabled) return false;
    bool started = false;
    for (auto& n : m.nodes)
        if (same_text(n->instance_id, i.instance_id)) started = n->state.load() == NodeState::started;
    return started;
}

// The name user mode opens: \\?\ for the kernel's \??\ (S-W32-23).
std::wstring user_path(const DeviceInterface& i) { return L"\\\\?\\" + i.link.substr(4); }

}  // namespace

uint32_t interface_list(const GUID& guid, const std::wstring& device_id, bool all, std::wstring* multi_sz) {
    multi_sz->clear();
    PnpManager* m = manager_if_exists();
    std::vector<std::wstring> links;
    if (m) {
        std::lock_guard g(m->lock);
        if (!device_id.empty()) {
            bool known = false;
            for (auto& n : m->nodes) known = known || same_text(n->instance_id, device_id);
            if (!known) return CR_NO_SUCH_DEVNODE;
        }
        for (auto& i : m->interfaces) {
            if (!IsEqualGUID(i->guid, guid)) continue;
            if (!device_id.empty() && !same_text(i->instance_id, device_id)) continue;
            if (!all && !active(*m, *i)) continue;
            links.push_back(user_path(*i));
        }
    } else if (!device_id.empty()) {
        return CR_NO_SUCH_DEVNODE;
    }
    // Registry order: by name, so ROOT#ECHO#0000 comes before ROOT#ECHO#0001.
    std::sort(links.begin(), links.end(), [](const std::wstring& a, const std::wstring& b) { return upper(a) < upper(b); });
    for (auto& l : links) {
        multi_sz->append(l);
        multi_sz->push_back(L'\0');
    }
    multi_sz->push_back(L'\0');  // the list's end; alone, the empty list
    return CR_SUCCESS;
}

bool node_facts(DEVICE_OBJECT* pdo, NodeFacts* facts) {
    DevNode* n = pdo ? runtime(pdo).pnp_node : nullptr;
    if (!n) return false;
    PnpManager& m = manager();
    std::lock_guard g(m.lock);
    facts->instance_id = n->instance_id;
    size_t number = 0;
    while (number < m.nodes.size() && m.nodes[number].get() != n) ++number;
    facts->class_guid = L"{4d36e97d-e325-11ce-bfc1-08002be10318}";
    facts->driver_key = fmt::format(L"{}\\{:04}", facts->class_guid, number);
    return true;
}

void snapshot(std::vector<DeviceRecord>* devices, std::vector<InterfaceRecord>* interfaces) {
    devices->clear();
    interfaces->clear();
    PnpManager* m = manager_if_exists();
    if (!m) return;
    std::lock_guard g(m->lock);
    uint32_t number = 0;
    for (auto& n : m->nodes) {
        NodeState s = n->state.load();
        devices->push_back({n->instance_id, ++number, s == NodeState::added || s == NodeState::started});
    }
    for (auto& i : m->interfaces) interfaces->push_back({i->guid, i->instance_id, user_path(*i), active(*m, *i)});
}

void with_enabled_interfaces(const GUID& interface_class, const std::function<void(std::vector<std::wstring>)>& fn) {
    PnpManager& m = manager();
    std::lock_guard g(m.lock);
    std::vector<std::wstring> links;
    for (auto& i : m.interfaces)
        if (i->enabled && IsEqualGUID(i->guid, interface_class)) links.push_back(i->link);
    fn(std::move(links));
}

}  // namespace pnp
}  // namespace ntio::io

using namespace ntio;
using io::runtime;

extern "C" {

// S-REG-10: a device's hardware key (Enum\<instance>\Device Parameters) or software key
// (Control\Class\{class}\NNNN), made on first use. ntio devices have no INF, so every
// device's software key is under the System class, numbered by the device's node.
NTSTATUS IoOpenDeviceRegistryKey(PDEVICE_OBJECT DeviceObject, ULONG DevInstKeyType, ACCESS_MASK DesiredAccess,
                                 PHANDLE DeviceRegKey) {
    verifier::check_irql_at_most(PASSIVE_LEVEL, "IoOpenDeviceRegistryKey");
    ULONG kind = DevInstKeyType & ~PLUGPLAY_REGKEY_CURRENT_HWPROFILE;
    if ((kind != PLUGPLAY_REGKEY_DEVICE && kind != PLUGPLAY_REGKEY_DRIVER) || !DeviceRegKey)
        return STATUS_INVALID_PARAMETER;
    io::pnp::NodeFacts node;
    if (!io::pnp::node_facts(DeviceObject, &node)) return STATUS_INVALID_DEVICE_REQUEST;  // not a PDO
    std::wstring path = L"\\Registry\\Machine\\System\\CurrentControlSet\\";
    if (DevInstKeyType & PLUGPLAY_REGKEY_CURRENT_HWPROFILE) path += L"Hardware Profiles\\Current\\System\\CurrentControlSet\\";
    if (kind == PLUGPLAY_REGKEY_DEVICE) path += L"Enum\\" + node.instance_id + L"\\Device Parameters";
    else path += L"Control\\Class\\" + node.driver_key;
    {
        cm::Registry& r = sys().registry;
        std::lock_guard g(r.lock);
        if (!cm::ensure_key(r, path)) return STATUS_INSUFFICIENT_RESOURCES;
    }
    UNICODE_STRING name;
    name.Buffer = path.data();
    name.Length = name.MaximumLength = static_cast<USHORT>(path.size() * sizeof(WCHAR));
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &name, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, nullptr, nullptr);
    return ZwOpenKey(DeviceRegKey, DesiredAccess, &oa);
}

NTSTATUS IoRegisterDeviceInterface(PDEVICE_OBJECT PhysicalDeviceObject, const GUID* InterfaceClassGuid,
                                   PUNICODE_STRING ReferenceString, PUNICODE_STRING SymbolicLinkName) {
    verifier::check_irql_at_most(PASSIVE_LEVEL, "IoRegisterDeviceInterface");
    if (!PhysicalDeviceObject || !InterfaceClassGuid || !SymbolicLinkName) return STATUS_INVALID_PARAMETER;
    io::DevNode* n = runtime(PhysicalDeviceObject).pnp_node;
    if (!n) {
        // Windows stops with PNP_DETECTED_FATAL_ERROR (0xCA, 2: invalid PDO).
        verifier::report(verifier::Check::PNP_DETECTED_FATAL_ERROR,
                             fmt::format("IoRegisterDeviceInterface on {}, which is not a PDO; pass the "
                                         "PhysicalDeviceObject your AddDevice received, not your own device",
                                         io::device_label(PhysicalDeviceObject)),
                             {.device = PhysicalDeviceObject});
        return STATUS_INVALID_DEVICE_REQUEST;
    }
    std::wstring ref = io::to_wstring(ReferenceString);
    if (ref.find_first_of(L"\\/") != std::wstring::npos) return STATUS_INVALID_DEVICE_REQUEST;
    io::PnpManager& m = io::manager();
    std::wstring base = L"\\??\\" + io::hashed(n->instance_id) + L"#" + io::guid_text(*InterfaceClassGuid);
    std::wstring link = ref.empty() ? base : base + L"\\" + ref;
    {
        std::lock_guard g(m.lock);
        bool known = false;
        for (auto& i : m.interfaces)
            if (io::same_text(i->link, link)) {
                link = i->link;  // registering again returns the same name (S-W32-21)
                known = true;
                break;
            }
        if (!known) {
            auto i = std::make_unique<io::DeviceInterface>();
            i->guid = *InterfaceClassGuid;
            i->instance_id = n->instance_id;
            i->link = link;
            i->base_link = base;
            m.interfaces.push_back(std::move(i));
        }
    }
    if (!RtlCreateUnicodeString(SymbolicLinkName, link.c_str())) return STATUS_INSUFFICIENT_RESOURCES;
    return STATUS_SUCCESS;
}

NTSTATUS IoSetDeviceInterfaceState(PUNICODE_STRING SymbolicLinkName, BOOLEAN Enable) {
    verifier::check_irql_at_most(PASSIVE_LEVEL, "IoSetDeviceInterfaceState");
    std::wstring name = io::to_wstring(SymbolicLinkName);
    if (name.rfind(L"\\\\?\\", 0) == 0) name = L"\\??\\" + name.substr(4);
    io::PnpManager* m = io::manager_if_exists();
    if (!m || name.empty()) return STATUS_OBJECT_NAME_NOT_FOUND;
    std::lock_guard g(m->lock);
    io::DeviceInterface* iface = nullptr;
    for (auto& i : m->interfaces)
        if (io::same_text(i->link, name)) iface = i.get();
    if (!iface) return STATUS_OBJECT_NAME_NOT_FOUND;
    if (Enable && iface->enabled) return STATUS_OBJECT_NAME_EXISTS;
    if (!Enable && !iface->enabled) return STATUS_OBJECT_NAME_NOT_FOUND;
    std::wstring key = io::upper(iface->base_link);
    UNICODE_STRING link{static_cast<USHORT>(iface->base_link.size() * sizeof(WCHAR)),
                        static_cast<USHORT>(iface->base_link.size() * sizeof(WCHAR)), iface->base_link.data()};
    if (Enable) {
        DEVICE_OBJECT* pdo = nullptr;
        for (auto& n : m->nodes)
            if (io::same_text(n->instance_id, iface->instance_id)) pdo = n->pdo;
        if (!pdo || runtime(pdo).deleted.load()) return STATUS_OBJECT_NAME_NOT_FOUND;
        // One symbolic link per device and class; \ref after it reaches the PDO's stack with
        // the reference string as the file name (S-W32-13).
        if (m->link_users[key]++ == 0) {
            std::wstring target = runtime(pdo).name;
            UNICODE_STRING t{static_cast<USHORT>(target.size() * sizeof(WCHAR)),
                             static_cast<USHORT>(target.size() * sizeof(WCHAR)), target.data()};
            NTSTATUS s = IoCreateSymbolicLink(&link, &t);
            if (!NT_SUCCESS(s)) {
                m->link_users.erase(key);
                return s;
            }
        }
    } else if (--m->link_users[key] == 0) {
        m->link_users.erase(key);
        IoDeleteSymbolicLink(&link);
    }
    iface->enabled = Enable;
    io::pnp::interface_state_changed(iface->guid, iface->link, Enable);  // S-PNPN-1
    return STATUS_SUCCESS;
}

NTSTATUS IoGetDeviceInterfaces(const GUID* InterfaceClassGuid, PDEVICE_OBJECT PhysicalDeviceObject, ULONG Flags,
                               PWSTR* SymbolicLinkList) {
    verifier::check_irql_at_most(PASSIVE_LEVEL, "IoGetDeviceInterfaces");
    if (!InterfaceClassGuid || !SymbolicLinkList) return STATUS_INVALID_PARAMETER;
    *SymbolicLinkList = nullptr;
    io::DevNode* only = nullptr;
    if (PhysicalDeviceObject) {
        only = runtime(PhysicalDeviceObject).pnp_node;
        if (!only) {
            verifier::report(verifier::Check::PNP_DETECTED_FATAL_ERROR,
                                 fmt::format("IoGetDeviceInterfaces with {}, which is not a PDO",
                                             io::device_label(PhysicalDeviceObject)),
                                 {.device = PhysicalDeviceObject});
            return STATUS_INVALID_DEVICE_REQUEST;
        }
    }
    std::vector<std::wstring> links;
    if (io::PnpManager* m = io::manager_if_exists()) {
        std::lock_guard g(m->lock);
        for (auto& i : m->interfaces) {
            if (!IsEqualGUID(i->guid, *InterfaceClassGuid)) continue;
            if (only && !io::same_text(i->instance_id, only->instance_id)) continue;
            if (!(Flags & DEVICE_INTERFACE_INCLUDE_NONACTIVE) && !i->enabled) continue;
            links.push_back(i->link);
        }
    }
    std::sort(links.begin(), links.end(),
              [](const std::wstring& a, const std::wstring& b) { return io::upper(a) < io::upper(b); });
    size_t chars = 1;
    for (auto& l : links) chars += l.size() + 1;
    auto* out = static_cast<PWSTR>(ExAllocatePoolWithTag(PagedPool, chars * sizeof(WCHAR), io::kInterfaceListTag));
    if (!out) return STATUS_INSUFFICIENT_RESOURCES;
    PWSTR p = out;
    for (auto& l : links) {
        std::memcpy(p, l.c_str(), (l.size() + 1) * sizeof(WCHAR));
        p += l.size() + 1;
    }
    *p = L'\0';
    *SymbolicLinkList = out;
    return STATUS_SUCCESS;
}

}  // extern "C"
