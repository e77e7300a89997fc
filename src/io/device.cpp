// Device objects, symbolic links and share access (S-W32-9, S-W32-11, S-W32-12,
// S-PNP-4, S-IRP-4).
#include <cwchar>

#include "io/iomgr.hpp"
#include "trace/trace.hpp"
#include "ke/objects.hpp"
#include "ob/services.hpp"
#include "ps/thread.hpp"
#include "system.hpp"
#include "verifier/drivers.hpp"
#include "verifier/hooks.hpp"
#include "verifier/locks.hpp"
#include "verifier/report.hpp"
#include "wdmsec.h"

namespace ntio::io {

namespace {
void destroy_device(void* body) {
    auto* d = static_cast<DeviceBody*>(body);
    if (verifier::lock_hooks()) [[unlikely]] {  // spin locks in the device queue and extension are gone
        verifier::locks::forget(&d->device, sizeof d->device);
        if (d->device.DeviceExtension)
            verifier::locks::forget(d->device.DeviceExtension, d->device.Size - sizeof(DEVICE_OBJECT));
    }
    // A KTIMER or KDPC still armed in the device's memory would fire from it once freed
    // (TIMER_OR_DPC_INVALID): the device object's own Dpc (IoRequestDpc) and the extension.
    verifier::drivers::timers_in_freed_memory(&d->device, sizeof d->device, "deleting a device (its DEVICE_OBJECT)");
    if (d->device.DeviceExtension) {
        verifier::drivers::timers_in_freed_memory(d->device.DeviceExtension, d->device.Size - sizeof(DEVICE_OBJECT),
                                                  "deleting a device (its extension)");
        // A lookaside list or ERESOURCE in the extension would stay on Windows's lists.
        verifier::drivers::ex_objects_in_freed_memory(d->device.DeviceExtension,
                                                      d->device.Size - sizeof(DEVICE_OBJECT),
                                                      "deleting a device (its extension)");
        std::free(d->device.DeviceExtension);
    }
    free_io_timer(&d->device);
    PDRIVER_OBJECT driver = d->device.DriverObject;
    d->~DeviceBody();
    ob::dereference(driver);  // a device keeps its driver object alive
}
}  // namespace

ob::ObjectType g_device_type{"Device", -1, FILE_ALL_ACCESS, destroy_device, nullptr};

std::string device_label(DEVICE_OBJECT* d) {
    DeviceRuntime& r = runtime(d);
    if (!r.name.empty()) return std::string(r.name.begin(), r.name.end());
    const UNICODE_STRING& driver = d->DriverObject->DriverName;
    std::string owner;
    for (USHORT i = 0; i < driver.Length / sizeof(WCHAR); ++i) owner += static_cast<char>(driver.Buffer[i]);
    return fmt::format("unnamed device #{} of {}", r.number, owner);
}

std::wstring to_wstring(const UNICODE_STRING* s) {
    if (!s || !s->Buffer) return {};
    return std::wstring(s->Buffer, s->Length / sizeof(WCHAR));
}

}  // namespace ntio::io

using namespace ntio;
using io::runtime;

extern "C" {

NTSTATUS IoCreateDevice(PDRIVER_OBJECT DriverObject, ULONG DeviceExtensionSize, PUNICODE_STRING DeviceName,
                        DEVICE_TYPE DeviceType, ULONG DeviceCharacteristics, BOOLEAN Exclusive,
                        PDEVICE_OBJECT* DeviceObject) {
    verifier::check_irql_at_most(PASSIVE_LEVEL, "IoCreateDevice");
    if (!DriverObject || !DeviceObject) return STATUS_INVALID_PARAMETER;
    *DeviceObject = nullptr;
    std::wstring name = io::to_wstring(DeviceName);
    auto* body = ob::create<io::DeviceBody>(io::g_device_type);
    DEVICE_OBJECT* d = &body->device;
    std::memset(d, 0, sizeof(*d));
    d->Type = IO_TYPE_DEVICE;
    d->Size = static_cast<USHORT>(sizeof(DEVICE_OBJECT) + DeviceExtensionSize);
    d->ReferenceCount = 0;
    d->DriverObject = DriverObject;
    ob::reference(DriverObject);
    d->Flags = DO_DEVICE_INITIALIZING | (Exclusive ? DO_EXCLUSIVE : 0) | (name.empty() ? 0 : DO_DEVICE_HAS_NAME);
    d->Characteristics = DeviceCharacteristics;
    d->DeviceType = DeviceType;
    d->StackSize = 1;
    d->AlignmentRequirement = FILE_BYTE_ALIGNMENT;
    // Storage devices start with their usual sector size, as Windows sets it; the
    // alignment checks of unbuffered I/O (S-INF-4) use it.
    switch (DeviceType) {
    case FILE_DEVICE_DISK:
    case FILE_DEVICE_DISK_FILE_SYSTEM:
    case FILE_DEVICE_VIRTUAL_DISK: d->SectorSize = 512; break;
    case FILE_DEVICE_CD_ROM_FILE_SYSTEM: d->SectorSize = 2048; break;
    default: d->SectorSize = 0; break;
    }
    d->DeviceQueue.Type = 20;  // DeviceQueueObject
    d->DeviceQueue.Size = sizeof(KDEVICE_QUEUE);
    InitializeListHead(&d->DeviceQueue.DeviceListHead);
    KeInitializeSpinLock(&d->DeviceQueue.Lock);
    d->DeviceQueue.Busy = FALSE;
    if (trace::enabled()) trace::name_device_queue(&d->DeviceQueue, name.empty() ? "(unnamed device)" : std::string(name.begin(), name.end()));
    KeInitializeEvent(&d->DeviceLock, SynchronizationEvent, TRUE);
    InitializeListHead(&d->Queue.ListEntry);
    d->DeviceObjectExtension = reinterpret_cast<struct _DEVOBJ_EXTENSION*>(&body->runtime);
    body->runtime.device = d;
    body->runtime.name = name;
    static std::atomic<uint32_t> created{0};
    body->runtime.number = created.fetch_add(1, std::memory_order_relaxed) + 1;
    if (DeviceExtensionSize) {
        d->DeviceExtension = std::calloc(1, DeviceExtensionSize);
        if (!d->DeviceExtension) {
            ob::dereference(body);
            return STATUS_INSUFFICIENT_RESOURCES;
        }
    }
    if (!name.empty()) {
        void* existing = nullptr;
        NTSTATUS inserted = sys().names.insert(name, body, &existing);
        if (inserted == STATUS_OBJECT_NAME_COLLISION) ob::dereference(existing);
        if (!NT_SUCCESS(inserted)) {
            ob::dereference(body);
            return inserted;
        }
    }
    // The creation reference stays with the driver's device list until IoDeleteDevice.
    d->NextDevice = DriverObject->DeviceObject;
    DriverObject->DeviceObject = d;
    *DeviceObject = d;
    return STATUS_SUCCESS;
}

// <wdmsec.h>: no security descriptors here (one user, one process), so the SDDL string
// restricts nothing; it must still have the form Windows requires, a protected DACL.
NTSTATUS IoCreateDeviceSecure(PDRIVER_OBJECT DriverObject, ULONG DeviceExtensionSize, PUNICODE_STRING DeviceName,
                              DEVICE_TYPE DeviceType, ULONG DeviceCharacteristics, BOOLEAN Exclusive,
                              PCUNICODE_STRING DefaultSDDLString, LPCGUID DeviceClassGuid,
                              PDEVICE_OBJECT* DeviceObject) {
    (void)DeviceClassGuid;
    if (!DefaultSDDLString || !DefaultSDDLString->Buffer || DefaultSDDLString->Length < 3 * sizeof(WCHAR) ||
        std::wmemcmp(DefaultSDDLString->Buffer, L"D:P", 3) != 0)
        return STATUS_INVALID_PARAMETER;
    return IoCreateDevice(DriverObject, DeviceExtensionSize, DeviceName, DeviceType, DeviceCharacteristics, Exclusive,
                          DeviceObject);
}

VOID IoDeleteDevice(PDEVICE_OBJECT DeviceObject) {
    verifier::check_irql_at_most(PASSIVE_LEVEL, "IoDeleteDevice");
    if (!DeviceObject) return;
    io::DeviceRuntime& r = runtime(DeviceObject);
    if (r.deleted.exchange(true)) {
        verifier::report(verifier::Check::DeviceStackMisuse,
                             fmt::format("IoDeleteDevice called twice on {}", io::device_label(DeviceObject)),
                             {.device = DeviceObject});
        return;
    }
    if (DeviceObject->AttachedDevice)
        verifier::report(verifier::Check::DeleteDeviceWithUpperAttached,
                                 fmt::format("IoDeleteDevice on {} while a device is still attached on top of it; "
                                             "the upper driver must IoDetachDevice first",
                                             io::device_label(DeviceObject)),
                                 {.device = DeviceObject});
    if (PDEVICE_OBJECT lower = r.attached_to) {
        // S-RL-4: IoDetachDevice comes before IoDeleteDevice. Left linked, the lower
        // device would keep sending requests up to a deleted device.
        verifier::report(verifier::Check::DeviceStackMisuse,
                             fmt::format("IoDeleteDevice on {} while it is still attached to {}; call "
                                         "IoDetachDevice(lower device) first. ntio detached it",
                                         io::device_label(DeviceObject), io::device_label(lower)),
                             {.device = DeviceObject});
        IoDetachDevice(lower);
    }
    io::stop_io_timer_for_delete(DeviceObject);
    if (__atomic_load_n(&DeviceObject->Flags, __ATOMIC_RELAXED) & DO_SHUTDOWN_REGISTERED)
        IoUnregisterShutdownNotification(DeviceObject);  // as Windows's IoDeleteDevice does
    // New opens fail from now on (S-PNP-4); the name goes away at once.
    if (!r.name.empty()) sys().names.remove(r.name, DeviceObject);
    PDRIVER_OBJECT drv = DeviceObject->DriverObject;
    for (PDEVICE_OBJECT* p = &drv->DeviceObject; *p; p = &(*p)->NextDevice) {
        if (*p == DeviceObject) {
            *p = DeviceObject->NextDevice;
            break;
        }
    }
    ob::dereference(DeviceObject);  // open file objects keep it alive until they close
}

static NTSTATUS create_link(PUNICODE_STRING SymbolicLinkName, PUNICODE_STRING DeviceName, const void* caller) {
    verifier::check_irql_at_most(PASSIVE_LEVEL, "IoCreateSymbolicLink");
    std::wstring link = io::to_wstring(SymbolicLinkName), target = io::to_wstring(DeviceName);
    if (link.empty() || target.empty() || link[0] != L'\\') return STATUS_OBJECT_NAME_INVALID;
    auto* l = ob::create<ob::SymbolicLink>(ob::g_symlink_type);
    l->target = target;
    void* existing = nullptr;
    NTSTATUS inserted = sys().names.insert(link, l, &existing);
    if (inserted == STATUS_OBJECT_NAME_COLLISION) ob::dereference(existing);
    if (!NT_SUCCESS(inserted)) {
        ob::dereference(l);
        return inserted;
    }
    // SymbolicLinkLeftAtUnload: the creating driver must delete it.
    verifier::drivers::link_created(verifier::drivers::attribute(caller), link);
    return STATUS_SUCCESS;  // the creation reference keeps the link until IoDeleteSymbolicLink
}

NTSTATUS IoCreateSymbolicLink(PUNICODE_STRING SymbolicLinkName, PUNICODE_STRING DeviceName) {
    return create_link(SymbolicLinkName, DeviceName, __builtin_return_address(0));
}

NTSTATUS IoCreateUnprotectedSymbolicLink(PUNICODE_STRING SymbolicLinkName, PUNICODE_STRING DeviceName) {
    return create_link(SymbolicLinkName, DeviceName, __builtin_return_address(0));
}

NTSTATUS IoDeleteSymbolicLink(PUNICODE_STRING SymbolicLinkName) {
    verifier::check_irql_at_most(PASSIVE_LEVEL, "IoDeleteSymbolicLink");
    std::wstring link = io::to_wstring(SymbolicLinkName);
    void* obj = sys().names.lookup_referenced(link);
    if (!obj || ob::type_of(obj) != &ob::g_symlink_type) {
        if (obj) ob::dereference(obj);
        return STATUS_OBJECT_NAME_NOT_FOUND;
    }
    sys().names.remove(link, obj);
    ob::dereference(obj);  // lookup
    ob::dereference(obj);  // creation
    verifier::drivers::link_deleted(link);
    return STATUS_SUCCESS;
}

// ---- share access (S-W32-11): only for drivers that call it ----------------------------------

static void share_bits(ACCESS_MASK access, ULONG share, PFILE_OBJECT f) {
    f->ReadAccess = (access & (FILE_READ_DATA | FILE_EXECUTE)) != 0;
    f->WriteAccess = (access & (FILE_WRITE_DATA | FILE_APPEND_DATA)) != 0;
    f->DeleteAccess = (access & DELETE) != 0;
    f->SharedRead = (share & FILE_SHARE_READ) != 0;
    f->SharedWrite = (share & FILE_SHARE_WRITE) != 0;
    f->SharedDelete = (share & FILE_SHARE_DELETE) != 0;
}

static void add_share(PFILE_OBJECT f, PSHARE_ACCESS s) {
    s->OpenCount++;
    s->Readers += f->ReadAccess;
    s->Writers += f->WriteAccess;
    s->Deleters += f->DeleteAccess;
    s->SharedRead += f->SharedRead;
    s->SharedWrite += f->SharedWrite;
    s->SharedDelete += f->SharedDelete;
}

NTSTATUS IoCheckShareAccess(ACCESS_MASK DesiredAccess, ULONG DesiredShareAccess, PFILE_OBJECT FileObject,
                            PSHARE_ACCESS ShareAccess, BOOLEAN Update) {
    share_bits(DesiredAccess, DesiredShareAccess, FileObject);
    PFILE_OBJECT f = FileObject;
    if (!f->ReadAccess && !f->WriteAccess && !f->DeleteAccess) return STATUS_SUCCESS;  // never conflicts
    ULONG open = ShareAccess->OpenCount;
    if ((f->ReadAccess && ShareAccess->SharedRead < open) || (f->WriteAccess && ShareAccess->SharedWrite < open) ||
        (f->DeleteAccess && ShareAccess->SharedDelete < open) || (ShareAccess->Readers && !f->SharedRead) ||
        (ShareAccess->Writers && !f->SharedWrite) || (ShareAccess->Deleters && !f->SharedDelete))
        return STATUS_SHARING_VIOLATION;
    if (Update) add_share(f, ShareAccess);
    return STATUS_SUCCESS;
}

VOID IoUpdateShareAccess(PFILE_OBJECT FileObject, PSHARE_ACCESS ShareAccess) {
    if (FileObject->ReadAccess || FileObject->WriteAccess || FileObject->DeleteAccess) add_share(FileObject, ShareAccess);
}

VOID IoRemoveShareAccess(PFILE_OBJECT FileObject, PSHARE_ACCESS ShareAccess) {
    PFILE_OBJECT f = FileObject;
    if (!f->ReadAccess && !f->WriteAccess && !f->DeleteAccess) return;
    ShareAccess->OpenCount--;
    ShareAccess->Readers -= f->ReadAccess;
    ShareAccess->Writers -= f->WriteAccess;
    ShareAccess->Deleters -= f->DeleteAccess;
    ShareAccess->SharedRead -= f->SharedRead;
    ShareAccess->SharedWrite -= f->SharedWrite;
    ShareAccess->SharedDelete -= f->SharedDelete;
}

VOID IoSetShareAccess(ACCESS_MASK DesiredAccess, ULONG DesiredShareAccess, PFILE_OBJECT FileObject,
                      PSHARE_ACCESS ShareAccess) {
    std::memset(ShareAccess, 0, sizeof(*ShareAccess));
    share_bits(DesiredAccess, DesiredShareAccess, FileObject);
    if (FileObject->ReadAccess || FileObject->WriteAccess || FileObject->DeleteAccess) add_share(FileObject, ShareAccess);
}

}  // extern "C"

extern "C" {
static POBJECT_TYPE IoDeviceObjectType_ptr = &ntio::io::g_device_type;
POBJECT_TYPE* IoDeviceObjectType = &IoDeviceObjectType_ptr;
}
