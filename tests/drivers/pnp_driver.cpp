#include "drivers/pnp_driver.hpp"

#include <algorithm>
#include <cstring>

namespace pnpdrv {
namespace {

State* g_state = new State();  // never destroyed: runtime threads may still look at it at exit

struct Extension {
    PDEVICE_OBJECT self;
    PDEVICE_OBJECT pdo;
    PDEVICE_OBJECT lower;  // what IoAttachDeviceToDeviceStack returned
    int index;             // AddDevice order
    bool removed;          // surprise-removed or removed: new requests fail
    bool interfaces_enabled;
    ULONG link_count;
    UNICODE_STRING links[4];
};

Extension* ext(PDEVICE_OBJECT d) { return static_cast<Extension*>(d->DeviceExtension); }

const char* minor_text(UCHAR minor) {
    switch (minor) {
    case IRP_MN_START_DEVICE: return "START";
    case IRP_MN_QUERY_REMOVE_DEVICE: return "QUERY_REMOVE";
    case IRP_MN_REMOVE_DEVICE: return "REMOVE";
    case IRP_MN_CANCEL_REMOVE_DEVICE: return "CANCEL_REMOVE";
    case IRP_MN_SURPRISE_REMOVAL: return "SURPRISE_REMOVAL";
    default: return "PNP";
    }
}

void record(const std::string& what) {
    std::lock_guard g(g_state->lock);
    g_state->events.push_back(what);
}

void set_interfaces(Extension* e, BOOLEAN enable) {
    if (e->interfaces_enabled == (enable != FALSE)) return;
    e->interfaces_enabled = enable;
    for (ULONG i = 0; i < e->link_count; ++i) IoSetDeviceInterfaceState(&e->links[i], enable);
}

// Takes the pended reads of `file` (all of them for NULL) off the list and completes them.
void fail_reads(PFILE_OBJECT file, NTSTATUS status) {
    std::vector<PIRP> mine;
    {
        std::lock_guard g(g_state->lock);
        auto& reads = g_state->reads;
        for (auto it = reads.begin(); it != reads.end();) {
            if (!file || IoGetCurrentIrpStackLocation(*it)->FileObject == file) {
                mine.push_back(*it);
                it = reads.erase(it);
            } else {
                ++it;
            }
        }
    }
    for (PIRP irp : mine) {
        if (!IoSetCancelRoutine(irp, nullptr)) continue;  // its cancel routine is completing it
        irp->IoStatus.Status = status;
        irp->IoStatus.Information = 0;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
    }
}

VOID CancelRead(PDEVICE_OBJECT, PIRP Irp) {
    IoReleaseCancelSpinLock(Irp->CancelIrql);
    {
        std::lock_guard g(g_state->lock);
        auto& reads = g_state->reads;
        reads.erase(std::remove(reads.begin(), reads.end(), Irp), reads.end());
    }
    Irp->IoStatus.Status = STATUS_CANCELLED;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
}

NTSTATUS Complete(PIRP Irp, NTSTATUS status) {
    Irp->IoStatus.Status = status;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return status;
}

NTSTATUS SignalDone(PDEVICE_OBJECT, PIRP, PVOID context) {
    KeSetEvent(static_cast<PKEVENT>(context), IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

// Passes the IRP down and waits until the lower driver has completed it (the usual START
// handling: the bus starts the device before the function driver does).
NTSTATUS ForwardAndWait(Extension* e, PIRP Irp) {
    KEVENT done;
    KeInitializeEvent(&done, NotificationEvent, FALSE);
    IoCopyCurrentIrpStackLocationToNext(Irp);
    IoSetCompletionRoutine(Irp, SignalDone, &done, TRUE, TRUE, TRUE);
    if (IoCallDriver(e->lower, Irp) == STATUS_PENDING) KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, nullptr);
    return Irp->IoStatus.Status;
}

NTSTATUS PassDown(Extension* e, PIRP Irp) {
    IoSkipCurrentIrpStackLocation(Irp);
    return IoCallDriver(e->lower, Irp);
}

NTSTATUS FinishStart(Extension* e, PIRP Irp) {
    NTSTATUS status = ForwardAndWait(e, Irp);
    NTSTATUS planted;
    {
        std::lock_guard g(g_state->lock);
        planted = g_state->config.start_status;
    }
    if (NT_SUCCESS(status) && !NT_SUCCESS(planted)) status = planted;
    if (NT_SUCCESS(status)) set_interfaces(e, TRUE);
    return Complete(Irp, status);
}

VOID PendedStartThread(PVOID context) {
    auto* irp = static_cast<PIRP>(context);
    LARGE_INTEGER delay;
    delay.QuadPart = -10000LL * 250;
    KeDelayExecutionThread(KernelMode, FALSE, &delay);
    FinishStart(ext(IoGetCurrentIrpStackLocation(irp)->DeviceObject), irp);
    PsTerminateSystemThread(STATUS_SUCCESS);
}

NTSTATUS DispatchPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    Extension* e = ext(DeviceObject);
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    Config config;
    {
        std::lock_guard g(g_state->lock);
        g_state->pnp.push_back({e->index, sl->MinorFunction, Irp->IoStatus.Status, KeGetCurrentIrql(),
                                PsIsSystemThread(PsGetCurrentThread()) != FALSE});
        g_state->events.push_back(std::string(minor_text(sl->MinorFunction)) + " " + std::to_string(e->index));
        config = g_state->config;
    }
    switch (sl->MinorFunction) {
    case IRP_MN_START_DEVICE:
        if (config.pend_start) {
            IoMarkIrpPending(Irp);
            HANDLE thread;
            PsCreateSystemThread(&thread, THREAD_ALL_ACCESS, nullptr, nullptr, nullptr, PendedStartThread, Irp);
            ZwClose(thread);
            return STATUS_PENDING;
        }
        return FinishStart(e, Irp);
    case IRP_MN_QUERY_REMOVE_DEVICE:
        if (!NT_SUCCESS(config.query_remove_status)) return Complete(Irp, config.query_remove_status);
        Irp->IoStatus.Status = STATUS_SUCCESS;
        return PassDown(e, Irp);
    case IRP_MN_CANCEL_REMOVE_DEVICE:
        Irp->IoStatus.Status = STATUS_SUCCESS;
        return PassDown(e, Irp);
    case IRP_MN_SURPRISE_REMOVAL:
        // S-PNP-2: fail new I/O, finish queued I/O, disable the interfaces; keep the FDO.
        e->removed = true;
        fail_reads(nullptr, STATUS_NO_SUCH_DEVICE);
        if (config.disable_interfaces) set_interfaces(e, FALSE);
        Irp->IoStatus.Status = STATUS_SUCCESS;
        return PassDown(e, Irp);
    case IRP_MN_REMOVE_DEVICE: {
        // S-PNP-3, S-RL-4: down the stack, then detach and delete.
        e->removed = true;
        fail_reads(nullptr, STATUS_NO_SUCH_DEVICE);
        if (config.disable_interfaces) set_interfaces(e, FALSE);
        Irp->IoStatus.Status = STATUS_SUCCESS;
        NTSTATUS status = PassDown(e, Irp);
        IoDetachDevice(e->lower);
        for (ULONG i = 0; i < e->link_count; ++i) RtlFreeUnicodeString(&e->links[i]);
        IoDeleteDevice(DeviceObject);
        return status;
    }
    default:
        return PassDown(e, Irp);  // S-PNP-1: IoStatus untouched
    }
}

NTSTATUS DispatchCreate(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    PFILE_OBJECT file = IoGetCurrentIrpStackLocation(Irp)->FileObject;
    {
        std::lock_guard g(g_state->lock);
        g_state->create_names.emplace_back(file->FileName.Buffer ? file->FileName.Buffer : L"",
                                           file->FileName.Length / sizeof(WCHAR));
    }
    return Complete(Irp, ext(DeviceObject)->removed ? STATUS_NO_SUCH_DEVICE : STATUS_SUCCESS);
}

NTSTATUS DispatchCleanup(PDEVICE_OBJECT, PIRP Irp) {
    fail_reads(IoGetCurrentIrpStackLocation(Irp)->FileObject, STATUS_CANCELLED);
    return Complete(Irp, STATUS_SUCCESS);
}

NTSTATUS DispatchClose(PDEVICE_OBJECT, PIRP Irp) { return Complete(Irp, STATUS_SUCCESS); }

// Reads pend until removal (or cleanup, or cancellation) ends them.
NTSTATUS DispatchRead(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    if (ext(DeviceObject)->removed) return Complete(Irp, STATUS_NO_SUCH_DEVICE);
    IoMarkIrpPending(Irp);
    {
        std::lock_guard g(g_state->lock);
        g_state->reads.push_back(Irp);
    }
    IoSetCancelRoutine(Irp, CancelRead);
    if (Irp->Cancel && IoSetCancelRoutine(Irp, nullptr)) {
        {
            std::lock_guard g(g_state->lock);
            auto& reads = g_state->reads;
            reads.erase(std::remove(reads.begin(), reads.end(), Irp), reads.end());
        }
        Complete(Irp, STATUS_CANCELLED);
    }
    return STATUS_PENDING;
}

NTSTATUS AddDevice(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT Pdo) {
    Config config;
    int index;
    {
        std::lock_guard g(g_state->lock);
        config = g_state->config;
        index = static_cast<int>(g_state->devices.size());
        g_state->devices.push_back({Pdo, nullptr, {}});
        g_state->events.push_back("AddDevice " + std::to_string(index));
        g_state->add_irql = KeGetCurrentIrql();
        g_state->add_on_system_thread = PsIsSystemThread(PsGetCurrentThread());
    }
    PDEVICE_OBJECT fdo;
    NTSTATUS status = IoCreateDevice(DriverObject, sizeof(Extension), nullptr, FILE_DEVICE_UNKNOWN,
                                     FILE_DEVICE_SECURE_OPEN, FALSE, &fdo);
    if (!NT_SUCCESS(status)) return status;
    if (!NT_SUCCESS(config.add_device_status)) {
        IoDeleteDevice(fdo);
        return config.add_device_status;
    }
    Extension* e = ext(fdo);
    std::memset(e, 0, sizeof(*e));
    e->self = fdo;
    e->pdo = Pdo;
    e->index = index;
    e->lower = IoAttachDeviceToDeviceStack(fdo, Pdo);
    if (!e->lower) {
        IoDeleteDevice(fdo);
        return STATUS_NO_SUCH_DEVICE;
    }
    fdo->Flags |= DO_BUFFERED_IO;
    // Registered here, enabled once started (as the WDK samples do).
    std::vector<std::pair<const GUID*, std::wstring>> wanted{{&kInterface, L""}};
    for (const std::wstring& r : config.reference_strings) wanted.push_back({&kRefInterface, r});
    for (auto& [guid, ref] : wanted) {
        if (e->link_count == 4) break;
        UNICODE_STRING refu{static_cast<USHORT>(ref.size() * sizeof(WCHAR)), static_cast<USHORT>(ref.size() * sizeof(WCHAR)),
                            const_cast<PWCH>(ref.c_str())};
        UNICODE_STRING* link = &e->links[e->link_count];
        if (NT_SUCCESS(IoRegisterDeviceInterface(Pdo, guid, ref.empty() ? nullptr : &refu, link))) {
            std::lock_guard g(g_state->lock);
            g_state->devices[index].links.emplace_back(link->Buffer, link->Length / sizeof(WCHAR));
            ++e->link_count;
        }
    }
    {
        std::lock_guard g(g_state->lock);
        g_state->devices[index].fdo = fdo;
    }
    if (!config.leave_initializing) fdo->Flags &= ~DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

VOID Unload(PDRIVER_OBJECT) { record("Unload"); }

}  // namespace

State& state() { return *g_state; }

void reset(const Config& config) {
    std::lock_guard g(g_state->lock);
    g_state->config = config;
    g_state->driver = nullptr;
    g_state->events.clear();
    g_state->pnp.clear();
    g_state->devices.clear();
    g_state->add_irql = 0xff;
    g_state->add_on_system_thread = false;
    g_state->create_names.clear();
    g_state->reads.clear();
}

std::vector<std::string> events() {
    std::lock_guard g(g_state->lock);
    return g_state->events;
}

size_t pending_reads() {
    std::lock_guard g(g_state->lock);
    return g_state->reads.size();
}

Device device(size_t n) {
    std::lock_guard g(g_state->lock);
    return g_state->devices.at(n);
}

NTSTATUS load(ntio::System& sys, int instances, const Config& config) {
    reset(config);
    return sys.load_driver("pnptest", reinterpret_cast<ntio::System::DriverEntryFunction>(&DriverEntry), instances);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING) {
    {
        std::lock_guard g(g_state->lock);
        g_state->driver = DriverObject;
    }
    DriverObject->DriverExtension->AddDevice = AddDevice;
    DriverObject->DriverUnload = Unload;
    DriverObject->MajorFunction[IRP_MJ_PNP] = DispatchPnp;
    DriverObject->MajorFunction[IRP_MJ_CREATE] = DispatchCreate;
    DriverObject->MajorFunction[IRP_MJ_CLEANUP] = DispatchCleanup;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = DispatchClose;
    DriverObject->MajorFunction[IRP_MJ_READ] = DispatchRead;
    return STATUS_SUCCESS;
}

}  // namespace pnpdrv
