#include "drivers/buggy_pnp_driver.hpp"

#include <atomic>

namespace buggy_pnp {
namespace {

// {3f1e9c2a-7b64-4d0e-a58c-0e9d2b7c4a61}
constexpr GUID kInterface = {0x3f1e9c2a, 0x7b64, 0x4d0e, {0xa5, 0x8c, 0x0e, 0x9d, 0x2b, 0x7c, 0x4a, 0x61}};

struct Globals {
    Config config;
    std::atomic<PDEVICE_OBJECT> fdo{nullptr};
    PDEVICE_OBJECT lower = nullptr;  // what IoAttachDeviceToDeviceStack returned
    std::atomic<bool> unloaded{false};
};
Globals* g = new Globals();  // never destroyed: runtime threads may look at it at exit

NTSTATUS Complete(PIRP Irp, NTSTATUS status) {
    Irp->IoStatus.Status = status;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return status;
}

NTSTATUS PassDown(PIRP Irp) {
    IoSkipCurrentIrpStackLocation(Irp);
    return IoCallDriver(g->lower, Irp);
}

NTSTATUS DispatchPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    UCHAR minor = IoGetCurrentIrpStackLocation(Irp)->MinorFunction;
    if (minor == IRP_MN_START_DEVICE || minor == IRP_MN_QUERY_REMOVE_DEVICE || minor == IRP_MN_REMOVE_DEVICE)
        Irp->IoStatus.Status = STATUS_SUCCESS;
    if (minor != IRP_MN_REMOVE_DEVICE) return PassDown(Irp);
    // S-PNP-3: pass it down, then detach and delete.
    NTSTATUS status = PassDown(Irp);
    if (g->config.remove_forgets_fdo) return status;  // the mistake: left for DriverUnload
    IoDetachDevice(g->lower);
    g->fdo = nullptr;
    IoDeleteDevice(DeviceObject);
    return status;
}

NTSTATUS DispatchControl(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    IoMarkIrpPending(Irp);
    IoStartPacket(DeviceObject, Irp, nullptr, nullptr);  // there is no DriverStartIo to start it
    // Nothing else will: the request is still the device's current one.
    if (DeviceObject->CurrentIrp == Irp) {
        KIRQL old;
        KeRaiseIrql(DISPATCH_LEVEL, &old);
        Complete(Irp, STATUS_SUCCESS);
        IoStartNextPacket(DeviceObject, FALSE);  // the queue is idle again
        KeLowerIrql(old);
    }
    return STATUS_PENDING;
}

NTSTATUS AddDevice(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT Pdo) {
    if (g->config.no_fdo) return STATUS_SUCCESS;  // the mistake: nothing attached to the PDO
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, kFdoName);
    PDEVICE_OBJECT fdo;
    NTSTATUS s = IoCreateDevice(DriverObject, 0, &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &fdo);
    if (!NT_SUCCESS(s)) return s;
    g->lower = IoAttachDeviceToDeviceStack(fdo, Pdo);
    if (!g->lower) {
        IoDeleteDevice(fdo);
        return STATUS_NO_SUCH_DEVICE;
    }
    g->fdo = fdo;
    if (g->config.interface_on_fdo) {
        UNICODE_STRING link{};
        // The mistake: interfaces belong to the PDO AddDevice received. The failure is ignored.
        if (NT_SUCCESS(IoRegisterDeviceInterface(fdo, &kInterface, nullptr, &link))) RtlFreeUnicodeString(&link);
    }
    if (!g->config.leave_initializing) fdo->Flags &= ~DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

VOID Unload(PDRIVER_OBJECT) {
    if (PDEVICE_OBJECT fdo = g->fdo.exchange(nullptr)) IoDeleteDevice(fdo);  // what REMOVE forgot
    g->unloaded = true;
}

}  // namespace

Config& config() { return g->config; }

void reset() {
    g->config = Config();
    g->fdo = nullptr;
    g->lower = nullptr;
    g->unloaded = false;
}

PDEVICE_OBJECT fdo() { return g->fdo.load(); }
bool unloaded() { return g->unloaded.load(); }

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING) {
    DriverObject->DriverExtension->AddDevice = AddDevice;
    DriverObject->DriverUnload = Unload;
    DriverObject->MajorFunction[IRP_MJ_PNP] = DispatchPnp;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = DispatchControl;
    // No DriverObject->DriverStartIo: IOCTL_START_PACKET's IoStartPacket has no routine to call.
    return STATUS_SUCCESS;
}

}  // namespace buggy_pnp
