// Shutdown notification: IoRegisterShutdownNotification, IoRegisterLastChanceShutdownNotification
// and IoUnregisterShutdownNotification. On Windows a registered device gets IRP_MJ_SHUTDOWN
// when the system shuts down, the last-chance list after the file systems have flushed.
// ntio's "system" is the runtime: when it ends (the process exits, or the System object
// goes), every registered device gets the IRP once its handles have closed and before any
// driver unloads, newest registration first, the ordinary list before the last-chance one
// (S-SHD-1..3). The IRP goes to the top of the device's stack, at PASSIVE_LEVEL on a
// system thread, and is waited for if the driver pends it.
#include <algorithm>

#include <fmt/format.h>

#include "io/iomgr.hpp"
#include "system.hpp"
#include "verifier/report.hpp"

using namespace ntio;

namespace {

NTSTATUS register_device(PDEVICE_OBJECT device, bool last_chance, const char* api) {
    verifier::check_irql_at_most(PASSIVE_LEVEL, api);
    if (!device) {
        verifier::report(verifier::Check::InvalidParameter, fmt::format("{}(NULL): a device object is required", api));
        return STATUS_INVALID_PARAMETER;
    }
    System::Impl& s = sys();
    ObReferenceObject(device);  // the registration's, until it is unregistered or served
    std::lock_guard g(s.shutdown_lock);
    auto& list = last_chance ? s.last_chance_devices : s.shutdown_devices;
    list.insert(list.begin(), device);  // newest first, as Windows's list is walked
    __atomic_or_fetch(&device->Flags, DO_SHUTDOWN_REGISTERED, __ATOMIC_RELAXED);
    return STATUS_SUCCESS;
}

void send_shutdown(PDEVICE_OBJECT device) {
    PDEVICE_OBJECT top = IoGetAttachedDeviceReference(device);
    KEVENT done;
    KeInitializeEvent(&done, NotificationEvent, FALSE);
    IO_STATUS_BLOCK iosb{};
    PIRP irp = IoBuildSynchronousFsdRequest(IRP_MJ_SHUTDOWN, top, nullptr, 0, nullptr, &done, &iosb);
    if (irp) {
        if (IoCallDriver(top, irp) == STATUS_PENDING) KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, nullptr);
    } else {
        std::fprintf(stderr, "ntio: no IRP for the shutdown notification of %s\n", io::device_label(device).c_str());
    }
    ObDereferenceObject(top);
}

}  // namespace

namespace ntio::io {

void send_shutdown_notifications() {
    System::Impl* s = sys_if_exists();
    if (!s) return;
    std::vector<PDEVICE_OBJECT> ordinary, last_chance;
    {
        std::lock_guard g(s->shutdown_lock);
        ordinary.swap(s->shutdown_devices);
        last_chance.swap(s->last_chance_devices);
    }
    if (ordinary.empty() && last_chance.empty()) return;
    on_system_thread([&] {
        for (auto* list : {&ordinary, &last_chance})
            for (PDEVICE_OBJECT device : *list) {
                __atomic_and_fetch(&device->Flags, ~ULONG(DO_SHUTDOWN_REGISTERED), __ATOMIC_RELAXED);
                // A driver's unload deletes its devices, and IoDeleteDevice unregisters them;
                // one deleted after the lists were taken here gets nothing.
                if (!runtime(device).deleted.load()) send_shutdown(device);
                ObDereferenceObject(device);
            }
    });
}

}  // namespace ntio::io

extern "C" {

NTSTATUS IoRegisterShutdownNotification(PDEVICE_OBJECT DeviceObject) {
    return register_device(DeviceObject, false, "IoRegisterShutdownNotification");
}

NTSTATUS IoRegisterLastChanceShutdownNotification(PDEVICE_OBJECT DeviceObject) {
    return register_device(DeviceObject, true, "IoRegisterLastChanceShutdownNotification");
}

// Every registration of the device, on both lists. IoDeleteDevice calls it for a device
// still registered, as Windows's does.
VOID IoUnregisterShutdownNotification(PDEVICE_OBJECT DeviceObject) {
    verifier::check_irql_at_most(PASSIVE_LEVEL, "IoUnregisterShutdownNotification");
    if (!DeviceObject) return;
    System::Impl& s = sys();
    size_t removed = 0;
    {
        std::lock_guard g(s.shutdown_lock);
        for (auto* list : {&s.shutdown_devices, &s.last_chance_devices}) {
            size_t before = list->size();
            list->erase(std::remove(list->begin(), list->end(), DeviceObject), list->end());
            removed += before - list->size();
        }
        __atomic_and_fetch(&DeviceObject->Flags, ~ULONG(DO_SHUTDOWN_REGISTERED), __ATOMIC_RELAXED);
    }
    while (removed--) ObDereferenceObject(DeviceObject);
}

}  // extern "C"
