// Drivers: a driver is a shared module exporting DriverEntry, loaded by path with
// local symbol scope so that several drivers (each with its own DriverEntry) live in
// one process; or, for tests, a DriverEntry function linked into the program.
// DriverEntry and DriverUnload run at PASSIVE_LEVEL on a system thread (S-KE-2).
#include <dlfcn.h>

#include <algorithm>
#include <cwctype>

#include <cstring>

#include "io/iomgr.hpp"
#include "ke/exception.hpp"
#include "ke/objects.hpp"
#include "ps/thread.hpp"
#include "system.hpp"
#include "verifier/drivers.hpp"
#include "verifier/report.hpp"

namespace ntio::io {
namespace {

void destroy_driver(void* body) { static_cast<DriverBody*>(body)->~DriverBody(); }

// What the I/O manager puts in every MajorFunction slot a driver leaves empty.
NTSTATUS invalid_device_request(PDEVICE_OBJECT, PIRP Irp) {
    Irp->IoStatus.Status = STATUS_INVALID_DEVICE_REQUEST;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_INVALID_DEVICE_REQUEST;
}

std::wstring widen(const std::string& s) { return std::wstring(s.begin(), s.end()); }

std::string narrow(const std::wstring& s) {
    std::string out;
    for (wchar_t c : s) out += c < 0x80 ? static_cast<char>(c) : '?';
    return out;
}

// S-REG-1: a loaded driver's service key exists before DriverEntry runs, with the
// values the service control manager keeps there. Values a .reg file set stay as set.
void write_service_key(DriverBody* d) {
    cm::Registry& r = sys().registry;
    std::lock_guard g(r.lock);
    std::shared_ptr<cm::Key> key = cm::ensure_key(r, d->registry_path);
    if (!key) return;
    auto dword = [&](const wchar_t* name, ULONG v) {
        if (!cm::Registry::find_value(key.get(), name)) r.set_value(key.get(), name, REG_DWORD, &v, sizeof v);
    };
    dword(L"Type", 1);          // SERVICE_KERNEL_DRIVER
    dword(L"Start", 3);         // SERVICE_DEMAND_START
    dword(L"ErrorControl", 1);  // SERVICE_ERROR_NORMAL
    if (!d->module_path.empty() && !cm::Registry::find_value(key.get(), L"ImagePath")) {
        std::wstring image = widen(d->module_path);
        r.set_value(key.get(), L"ImagePath", REG_EXPAND_SZ, image.c_str(), (image.size() + 1) * sizeof(WCHAR));
    }
}

// Drops the routines still queued for a driver that failed to load or unloads.
void forget_reinitialization(DriverBody* d) {
    System::Impl& s = sys();
    std::lock_guard g(s.reinit_lock);
    for (auto* q : {&s.reinit, &s.boot_reinit})
        std::erase_if(*q, [d](const System::Impl::Reinitialization& r) { return r.driver == d; });
}

// S-DRVX-3: calls the queued reinitialization routines unless a driver group is still
// loading, ordinary ones first, each at PASSIVE_LEVEL on a system thread; a routine a
// routine registers joins the queue's end and is called in the same pass, as Windows
// drains its list. One thread calls them at a time: another load that ends meanwhile
// leaves its routines to the pass under way.
void run_reinitialization() {
    System::Impl& s = sys();
    {
        std::lock_guard g(s.reinit_lock);
        if (s.loading_groups > 0 || s.reinit_running || (s.reinit.empty() && s.boot_reinit.empty())) return;
        s.reinit_running = true;
    }
    on_system_thread([&] {
        for (;;) {
            System::Impl::Reinitialization r;
            {
                std::lock_guard g(s.reinit_lock);
                auto& queue = !s.reinit.empty() ? s.reinit : s.boot_reinit;
                if (queue.empty() || s.loading_groups > 0) {
                    s.reinit_running = false;
                    return;
                }
                r = queue.front();
                queue.pop_front();
            }
            // Count is the driver's, in its DRIVER_EXTENSION, as on Windows.
            ULONG count = ++r.driver->extension.Count;
            verifier::drivers::Scope scope(r.driver->verifier_id);
            r.routine(&r.driver->driver, r.context, count);
        }
    });
}

NTSTATUS start_driver(DriverBody* d, PDRIVER_INITIALIZE entry, bool listed = true) {
    if (listed) write_service_key(d);
    DRIVER_OBJECT* drv = &d->driver;
    std::memset(drv, 0, sizeof(*drv));
    drv->Type = IO_TYPE_DRIVER;
    drv->Size = sizeof(DRIVER_OBJECT);
    drv->DriverExtension = &d->extension;
    d->extension = DRIVER_EXTENSION{};  // Count starts at 0: no reinitialization routine ran yet
    d->extension.DriverObject = drv;
    drv->DriverName.Buffer = d->name.data();
    drv->DriverName.Length = drv->DriverName.MaximumLength = static_cast<USHORT>(d->name.size() * sizeof(WCHAR));
    d->registry_us.Buffer = d->registry_path.data();
    d->registry_us.Length = d->registry_us.MaximumLength = static_cast<USHORT>(d->registry_path.size() * sizeof(WCHAR));
    drv->DriverInit = entry;
    for (auto& f : drv->MajorFunction) f = invalid_device_request;
    if (listed) verifier::drivers::loading(d);  // not the runtime's own root bus
    NTSTATUS status = STATUS_SUCCESS;
    on_system_thread([&] {
        verifier::drivers::Scope scope(d->verifier_id);
        status = entry(drv, &d->registry_us);
    });
    if (!NT_SUCCESS(status)) {
        // Windows calls no routine a failed DriverEntry registered (Microsoft says a driver
        // registers only when it returns success): the object is going.
        forget_reinitialization(d);
        return status;
    }
    // A NULL entry would be called by the next request of that kind (on Windows, a fault at
    // address 0 in the kernel): reported, and given back the invalid-request routine.
    for (size_t major = 0; major < std::size(drv->MajorFunction); ++major) {
        if (drv->MajorFunction[major]) continue;
        verifier::report(verifier::Check::NullDispatchRoutine,
                         fmt::format("driver {} set MajorFunction[{:#x}] (IRP_MJ_{}) to NULL in DriverEntry; leave "
                                     "the entries it does not handle as they are. ntio puts back the routine that "
                                     "fails the request with STATUS_INVALID_DEVICE_REQUEST",
                                     narrow(d->name), major, major_function_name(static_cast<uint8_t>(major))),
                         {.driver = drv});
        drv->MajorFunction[major] = invalid_device_request;
    }
    // S-W32-12: the I/O manager clears DO_DEVICE_INITIALIZING for devices made in DriverEntry.
    for (PDEVICE_OBJECT dev = drv->DeviceObject; dev; dev = dev->NextDevice) dev->Flags &= ~DO_DEVICE_INITIALIZING;
    if (!listed) return STATUS_SUCCESS;
    std::lock_guard g(sys().drivers_lock);
    sys().drivers.push_back(d);
    return STATUS_SUCCESS;
}

// A PnP driver's devices, once DriverEntry succeeded. On failure (a device count for a
// driver without AddDevice) the driver is taken off the list and unloaded again.
NTSTATUS add_pnp_devices(DriverBody* d, int instances) {
    NTSTATUS status = pnp::add_devices(d, instances);
    if (NT_SUCCESS(status)) return status;
    {
        std::lock_guard g(sys().drivers_lock);
        auto& list = sys().drivers;
        for (auto it = list.begin(); it != list.end(); ++it)
            if (*it == d) {
                list.erase(it);
                break;
            }
    }
    unload_driver(d);
    return status;
}

// Whether a loaded driver has this service name: Windows starts a service once, and a
// second DriverEntry on the same module would run over the first one's globals.
// Service names are case-insensitive.
bool driver_loaded(const std::wstring& name) {
    std::wstring full = L"\\Driver\\" + name;
    auto same = [&](const std::wstring& other) {
        return other.size() == full.size() &&
               std::equal(other.begin(), other.end(), full.begin(),
                          [](wchar_t a, wchar_t b) { return std::towlower(a) == std::towlower(b); });
    };
    std::lock_guard g(sys().drivers_lock);
    for (DriverBody* d : sys().drivers)
        if (same(d->name)) return true;
    return false;
}

DriverBody* new_driver(const std::wstring& name) {
    auto* d = ob::create<DriverBody>(g_driver_type);
    d->name = L"\\Driver\\" + name;
    d->registry_path = L"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\" + name;
    return d;
}

}  // namespace

void on_system_thread(const std::function<void()>& fn) {
    HANDLE h = nullptr;
    ps::KernelModeScope kernel;
    NTSTATUS s = PsCreateSystemThread(
        &h, THREAD_ALL_ACCESS, nullptr, nullptr, nullptr,
        [](PVOID ctx) { (*static_cast<const std::function<void()>*>(ctx))(); },
        const_cast<std::function<void()>*>(&fn));
    if (!NT_SUCCESS(s)) {
        std::fprintf(stderr, "ntio: cannot start a system thread for a driver routine (0x%08X)\n",
                     static_cast<unsigned>(s));
        std::abort();
    }
    ZwWaitForSingleObject(h, FALSE, nullptr);
    ZwClose(h);
}

ob::ObjectType g_driver_type{"Driver", -1, STANDARD_RIGHTS_REQUIRED | 1, destroy_driver, nullptr};

NTSTATUS load_driver_entry(const std::wstring& name, PDRIVER_INITIALIZE entry, int instances, DriverBody** out) {
    if (driver_loaded(name)) {
        std::fprintf(stderr, "ntio: a driver named \\Driver\\%ls is already loaded; a service starts once\n",
                     name.c_str());
        return STATUS_OBJECT_NAME_COLLISION;
    }
    DriverBody* d = new_driver(name);
    NTSTATUS status = start_driver(d, entry);
    if (NT_SUCCESS(status)) status = add_pnp_devices(d, instances);
    if (!NT_SUCCESS(status)) {
        ob::dereference(d);
        return status;
    }
    if (out) *out = d;
    run_reinitialization();
    return status;
}

DriverBody* create_internal_driver(const std::wstring& name, PDRIVER_INITIALIZE entry) {
    DriverBody* d = new_driver(name);
    if (!NT_SUCCESS(start_driver(d, entry, false))) {
        ob::dereference(d);
        return nullptr;
    }
    return d;
}

NTSTATUS load_driver(const std::string& path, int instances, DriverBody** out) {
    std::string base = path.substr(path.find_last_of('/') + 1);
    base = base.substr(0, base.find('.'));
    return load_module(path, widen(base), instances, out, false);
}

NTSTATUS load_module(const std::string& path, const std::wstring& base, int instances, DriverBody** out,
                     bool image_statuses) {
    // Before dlopen: the same module opened again is the same mapping, globals and all.
    if (driver_loaded(base)) {
        std::fprintf(stderr,
                     "ntio: cannot load the driver %s: a driver named \\Driver\\%s is already loaded (a service "
                     "starts once; give the module another file name to load a second copy)\n",
                     path.c_str(), narrow(base).c_str());
        return STATUS_OBJECT_NAME_COLLISION;
    }
    void* module = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!module) {
        std::fprintf(stderr, "ntio: cannot load the driver %s: %s\n", path.c_str(), dlerror());
        // NtLoadDriver found the file: it is not a loadable image.
        return image_statuses ? STATUS_INVALID_IMAGE_FORMAT : STATUS_OBJECT_NAME_NOT_FOUND;
    }
    auto entry = reinterpret_cast<PDRIVER_INITIALIZE>(dlsym(module, "DriverEntry"));
    if (!entry) {
        std::fprintf(stderr,
                     "ntio: %s has no DriverEntry: a driver exports `NTSTATUS DriverEntry(PDRIVER_OBJECT, "
                     "PUNICODE_STRING)` with C linkage (extern \"C\" in C++)\n",
                     path.c_str());
        dlclose(module);
        return image_statuses ? STATUS_INVALID_IMAGE_FORMAT : STATUS_INVALID_PARAMETER;
    }
    ke::register_kernel_module(module);  // before DriverEntry, which may raise too
    DriverBody* d = new_driver(base);
    d->module_path = path;
    d->module = module;
    NTSTATUS status = start_driver(d, entry);
    if (!NT_SUCCESS(status)) {
        std::fprintf(stderr, "ntio: DriverEntry of %s failed with 0x%08X; the driver is not loaded\n", path.c_str(),
                     static_cast<unsigned>(status));
        ob::dereference(d);
        return status;
    }
    status = add_pnp_devices(d, instances);
    if (!NT_SUCCESS(status)) {
        ob::dereference(d);
        return status;
    }
    if (out) *out = d;
    run_reinitialization();
    return status;
}

void begin_driver_group() {
    System::Impl& s = sys();
    std::lock_guard g(s.reinit_lock);
    ++s.loading_groups;
}

void end_driver_group() {
    {
        System::Impl& s = sys();
        std::lock_guard g(s.reinit_lock);
        --s.loading_groups;
    }
    run_reinitialization();
}

void unload_driver(DriverBody* d) {
    if (d->unloaded) return;
    d->unloaded = true;
    forget_reinitialization(d);
    // A PnP driver unloads once its devices are gone (QUERY_REMOVE/REMOVE first).
    pnp::remove_driver_devices(d);
    if (d->driver.DriverUnload) {
        on_system_thread([&] {
            verifier::drivers::Scope scope(d->verifier_id);
            d->driver.DriverUnload(&d->driver);
        });
        // What it left behind is reported (the *LeftAtUnload checks), and its devices deleted.
        verifier::drivers::unloaded(d);
    } else {
        std::fprintf(stderr, "ntio: driver %s has no DriverUnload; it stays loaded until the process ends\n",
                     narrow(d->name).c_str());
        // Windows keeps such a driver and its devices; the runtime ends with the process.
        while (d->driver.DeviceObject) IoDeleteDevice(d->driver.DeviceObject);
    }
}

void unload_all_drivers() {
    System::Impl* s = sys_if_exists();
    if (!s) return;
    send_shutdown_notifications();  // the system shuts down: drivers are still all there
    std::vector<DriverBody*> drivers;
    {
        std::lock_guard g(s->drivers_lock);
        drivers.swap(s->drivers);
    }
    for (auto it = drivers.rbegin(); it != drivers.rend(); ++it) {
        unload_driver(*it);
        ob::dereference(*it);  // modules stay mapped: code a late callback may still run
    }
    pnp::shutdown();
    if (int64_t n = live_irps())
        std::fprintf(stderr, "ntio: %lld IRP(s) still allocated after the drivers unloaded (never completed or "
                             "freed)\n",
                     static_cast<long long>(n));
}

}  // namespace ntio::io

extern "C" {
static POBJECT_TYPE IoDriverObjectType_ptr = &ntio::io::g_driver_type;
POBJECT_TYPE* IoDriverObjectType = &IoDriverObjectType_ptr;
}

namespace {
using ntio::io::DriverBody;

// The runtime's body of a driver object, or NULL (reported) for anything else.
DriverBody* driver_body(PDRIVER_OBJECT driver, const char* api) {
    if (driver && driver->Type == IO_TYPE_DRIVER) return reinterpret_cast<DriverBody*>(driver);
    ntio::verifier::report(ntio::verifier::Check::InvalidParameter,
                           fmt::format("{}({}): not a driver object", api, static_cast<void*>(driver)));
    return nullptr;
}

void register_reinitialization(PDRIVER_OBJECT driver, PDRIVER_REINITIALIZE routine, PVOID context, bool boot,
                               const char* api) {
    ntio::verifier::check_irql_at_most(PASSIVE_LEVEL, api);
    DriverBody* d = driver_body(driver, api);
    if (!d) return;
    if (!routine) {
        // Windows would call address 0 when the routines run.
        ntio::verifier::report(ntio::verifier::Check::InvalidParameter,
                               fmt::format("{} with a NULL routine; nothing is registered", api), {.driver = driver});
        return;
    }
    if (d->unloaded) {
        // Its queued routines were dropped at unload; a late one would outlive the object.
        ntio::verifier::report(ntio::verifier::Check::InvalidParameter,
                               fmt::format("{} for a driver that has unloaded; nothing is registered", api),
                               {.driver = driver});
        return;
    }
    ntio::System::Impl& s = ntio::sys();
    std::lock_guard g(s.reinit_lock);
    (boot ? s.boot_reinit : s.reinit).push_back({d, routine, context});
}
}  // namespace

extern "C" {

NTSTATUS IoAllocateDriverObjectExtension(PDRIVER_OBJECT DriverObject, PVOID ClientIdentificationAddress,
                                         ULONG DriverObjectExtensionSize, PVOID* DriverObjectExtension) {
    ntio::verifier::check_irql_at_most(DISPATCH_LEVEL, "IoAllocateDriverObjectExtension");
    *DriverObjectExtension = nullptr;
    DriverBody* d = driver_body(DriverObject, "IoAllocateDriverObjectExtension");
    if (!d) return STATUS_INVALID_PARAMETER;
    // Zeroed, and never a NULL for a size of 0: the area is found by its address.
    void* area = std::calloc(1, DriverObjectExtensionSize ? DriverObjectExtensionSize : 1);
    if (!area) return STATUS_INSUFFICIENT_RESOURCES;
    std::lock_guard g(d->extensions_lock);
    for (const auto& e : d->client_extensions)
        if (e.first == ClientIdentificationAddress) {
            std::free(area);
            return STATUS_OBJECT_NAME_COLLISION;
        }
    d->client_extensions.emplace_back(ClientIdentificationAddress, area);
    *DriverObjectExtension = area;
    return STATUS_SUCCESS;
}

PVOID IoGetDriverObjectExtension(PDRIVER_OBJECT DriverObject, PVOID ClientIdentificationAddress) {
    ntio::verifier::check_irql_at_most(DISPATCH_LEVEL, "IoGetDriverObjectExtension");
    DriverBody* d = driver_body(DriverObject, "IoGetDriverObjectExtension");
    if (!d) return nullptr;
    std::lock_guard g(d->extensions_lock);
    for (const auto& e : d->client_extensions)
        if (e.first == ClientIdentificationAddress) return e.second;
    return nullptr;
}

VOID IoRegisterDriverReinitialization(PDRIVER_OBJECT DriverObject, PDRIVER_REINITIALIZE DriverReinitializationRoutine,
                                      PVOID Context) {
    register_reinitialization(DriverObject, DriverReinitializationRoutine, Context, false,
                              "IoRegisterDriverReinitialization");
}

VOID IoRegisterBootDriverReinitialization(PDRIVER_OBJECT DriverObject,
                                          PDRIVER_REINITIALIZE DriverReinitializationRoutine, PVOID Context) {
    register_reinitialization(DriverObject, DriverReinitializationRoutine, Context, true,
                              "IoRegisterBootDriverReinitialization");
}

}  // extern "C"

// MmGetSystemRoutineAddress: a routine of the "kernel", that is of libntio, by name.
// Drivers use it to find routines newer than the oldest Windows they support, so an
// unknown name is NULL. Only the kernel's names answer (a Win32 routine libntio also
// exports, like CreateFileA, is not the kernel's), told by their prefixes.
extern "C" PVOID MmGetSystemRoutineAddress(PUNICODE_STRING SystemRoutineName) {
    if (!SystemRoutineName || !SystemRoutineName->Buffer) return nullptr;
    std::string name;
    for (USHORT i = 0; i < SystemRoutineName->Length / sizeof(WCHAR); ++i) {
        WCHAR c = SystemRoutineName->Buffer[i];
        if (c <= 0 || c > 0x7E) return nullptr;  // export names are ASCII
        name += static_cast<char>(c);
    }
    static constexpr const char* kKernelPrefixes[] = {"Ke", "Ex", "Io", "Mm", "Ps", "Ob", "Rtl", "Zw", "Nt", "Hal",
                                                      "Po", "Se", "Dbg", "Kd", "Interlocked", "ProbeFor", "Wmi"};
    bool kernel = false;
    for (const char* prefix : kKernelPrefixes) kernel = kernel || name.rfind(prefix, 0) == 0;
    if (!kernel) return nullptr;
    Dl_info self{};
    if (!dladdr(reinterpret_cast<void*>(&MmGetSystemRoutineAddress), &self) || !self.dli_fname) return nullptr;
    void* library = dlopen(self.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
    if (!library) return nullptr;
    void* routine = dlsym(library, name.c_str());
    dlclose(library);  // RTLD_NOLOAD took a reference; the library stays loaded
    return routine;
}
