// NtLoadDriver / NtUnloadDriver: a driver by its service key, as the service control
// manager starts and stops kernel drivers (docs/design.md, S-SCM). The key names the
// module in ImagePath, a Windows path that ntio maps to a shared object (S-SCM-3); the
// driver is \Driver\<key name>, loaded as `ntio run --driver` loads one, and stopped
// with its DriverUnload, at once or, while its devices have open handles, at the last
// close (S-SCM-5).
#include <unistd.h>

#include <algorithm>
#include <cwctype>

#include "cm/registry.hpp"
#include "io/iomgr.hpp"
#include "ob/object.hpp"
#include "rtl/windows_format.hpp"
#include "system.hpp"

namespace ntio::io {
namespace {

bool ends_with_nocase(const std::wstring& s, std::wstring_view tail) {
    return s.size() >= tail.size() &&
           std::equal(tail.begin(), tail.end(), s.end() - static_cast<ptrdiff_t>(tail.size()),
                      [](wchar_t a, wchar_t b) { return std::towlower(a) == std::towlower(b); });
}

// The key's path and its last component (the service name), or STATUS_OBJECT_NAME_INVALID
// for something that is not a registry path.
NTSTATUS service_name(PUNICODE_STRING key_path, std::wstring* path, std::wstring* name) {
    if (!key_path || !key_path->Buffer || key_path->Length == 0) return STATUS_OBJECT_NAME_INVALID;
    path->assign(key_path->Buffer, key_path->Length / sizeof(WCHAR));
    while (!path->empty() && path->back() == L'\\') path->pop_back();
    size_t slash = path->find_last_of(L'\\');
    if (path->empty() || path->front() != L'\\' || slash == std::wstring::npos || slash + 1 == path->size())
        return STATUS_OBJECT_NAME_INVALID;
    *name = path->substr(slash + 1);
    return STATUS_SUCCESS;
}

// ImagePath as a host path: the \??\ or \\?\ prefix a Windows path may carry goes, each
// backslash is a slash; a name ending in .sys is looked for as .so first (the driver
// built for ntio), then as written. Empty when neither file exists.
std::string host_image(const std::wstring& image_path) {
    std::wstring p = image_path;
    if (p.rfind(L"\\??\\", 0) == 0 || p.rfind(L"\\\\?\\", 0) == 0) p.erase(0, 4);
    std::replace(p.begin(), p.end(), L'\\', L'/');
    std::vector<std::wstring> candidates;
    if (ends_with_nocase(p, L".sys")) candidates.push_back(p.substr(0, p.size() - 4) + L".so");
    candidates.push_back(p);
    rtl::Utf8Scope utf8;
    for (const std::wstring& c : candidates) {
        std::string host = rtl::to_multibyte(c.c_str());
        if (!host.empty() && access(host.c_str(), F_OK) == 0) return host;
    }
    return {};
}

bool same_driver_name(const std::wstring& a, const std::wstring& b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](wchar_t x, wchar_t y) {
               return std::towlower(x) == std::towlower(y);
           });
}

int driver_open_files(DriverBody* d) {
    int n = 0;
    for (PDEVICE_OBJECT dev = d->driver.DeviceObject; dev; dev = dev->NextDevice) n += runtime(dev).open_files.load();
    return n;
}

// Unloads a listed driver, then takes it off the load list: until DriverUnload has
// returned the service is not stopped (its device names are still taken), so a start
// meanwhile finds it loaded rather than colliding with its leftovers.
void unload_listed(DriverBody* d) {
    auto listed = [d] {
        auto& list = sys().drivers;
        return std::find(list.begin(), list.end(), d);
    };
    {
        std::lock_guard g(sys().drivers_lock);
        if (listed() == sys().drivers.end()) return;  // the process is ending: unload_all_drivers has it
    }
    unload_driver(d);
    {
        std::lock_guard g(sys().drivers_lock);
        auto it = listed();
        if (it == sys().drivers.end()) return;
        sys().drivers.erase(it);
    }
    ob::dereference(d);
}

DriverBody* driver_of(DEVICE_OBJECT* dev) {
    PDRIVER_OBJECT drv = dev ? dev->DriverObject : nullptr;
    return drv ? reinterpret_cast<DriverBody*>(drv) : nullptr;
}

}  // namespace

bool unload_pending(DEVICE_OBJECT* dev) {
    DriverBody* d = driver_of(dev);
    return d && d->unload_pending.load(std::memory_order_acquire);
}

void driver_file_closed(DEVICE_OBJECT* dev) {
    DriverBody* d = driver_of(dev);
    if (!d || !d->unload_pending.load(std::memory_order_acquire) || driver_open_files(d) > 0) return;
    if (d->unload_posted.exchange(true)) return;
    // DriverUnload at PASSIVE_LEVEL on a runtime thread after CloseHandle returned, as
    // Windows unloads once the last reference to the driver's devices goes.
    ob::reference(d);
    sys().post_work([d] {
        unload_listed(d);
        ob::dereference(d);
    });
}

}  // namespace ntio::io

using namespace ntio;

extern "C" {

NTSTATUS NtLoadDriver(PUNICODE_STRING DriverServiceName) {
    std::wstring path, name;
    if (NTSTATUS s = io::service_name(DriverServiceName, &path, &name); !NT_SUCCESS(s)) return s;
    std::wstring image;
    {
        cm::Registry& r = sys().registry;
        std::lock_guard g(r.lock);
        std::shared_ptr<cm::Key> key;
        bool created = false;
        if (NTSTATUS s = r.walk(nullptr, path, false, false, false, &key, &created); !NT_SUCCESS(s)) return s;
        cm::Value* v = cm::Registry::find_value(key.get(), L"ImagePath");
        if (v && (v->type == REG_SZ || v->type == REG_EXPAND_SZ) && v->data.size() >= sizeof(WCHAR)) {
            image.assign(reinterpret_cast<const WCHAR*>(v->data.data()), v->data.size() / sizeof(WCHAR));
            image.resize(std::wcslen(image.c_str()));
        }
    }
    // Windows looks for <name>.sys under %SystemRoot%\System32\drivers then: ntio has no
    // such directory, so the key must say where the module is.
    if (image.empty()) {
        std::fprintf(stderr, "ntio: NtLoadDriver(%ls): the key has no ImagePath; ntio needs one naming the module\n",
                     path.c_str());
        return STATUS_OBJECT_NAME_NOT_FOUND;
    }
    // A second start (Windows checks for the driver object before it maps the image).
    {
        std::lock_guard g(sys().drivers_lock);
        for (io::DriverBody* d : sys().drivers)
            if (io::same_driver_name(d->name, L"\\Driver\\" + name)) return STATUS_IMAGE_ALREADY_LOADED;
    }
    std::string host = io::host_image(image);
    if (host.empty()) {
        std::fprintf(stderr, "ntio: NtLoadDriver(%ls): the image %ls is not there (looked for .so then as written)\n",
                     path.c_str(), image.c_str());
        return STATUS_OBJECT_NAME_NOT_FOUND;
    }
    NTSTATUS status = io::load_module(host, name, 0, nullptr, true);
    if (NT_SUCCESS(status)) unload_drivers_at_exit();
    return status;
}

NTSTATUS ZwLoadDriver(PUNICODE_STRING DriverServiceName) { return NtLoadDriver(DriverServiceName); }

NTSTATUS NtUnloadDriver(PUNICODE_STRING DriverServiceName) {
    std::wstring path, name;
    if (NTSTATUS s = io::service_name(DriverServiceName, &path, &name); !NT_SUCCESS(s)) return s;
    io::DriverBody* d = nullptr;
    {
        std::lock_guard g(sys().drivers_lock);
        for (io::DriverBody* each : sys().drivers)
            if (io::same_driver_name(each->name, L"\\Driver\\" + name)) d = each;
        if (d) ob::reference(d);
    }
    if (!d) return STATUS_OBJECT_NAME_NOT_FOUND;
    NTSTATUS status = STATUS_SUCCESS;
    if (!d->driver.DriverUnload || d->unload_pending.load()) {
        // No unload routine: the driver cannot go (nor can one already going go again).
        status = STATUS_INVALID_DEVICE_REQUEST;
    } else if (d->driver.DriverExtension->AddDevice) {
        // A PnP driver: its devices are removed, then it unloads (as System::unload_driver).
        io::unload_listed(d);
    } else {
        // Open handles defer DriverUnload to the last close; new opens fail meanwhile.
        for (PDEVICE_OBJECT dev = d->driver.DeviceObject; dev; dev = dev->NextDevice)
            io::runtime(dev).watch_closes.store(true);
        d->unload_pending.store(true);
        if (io::driver_open_files(d) == 0 && !d->unload_posted.exchange(true)) io::unload_listed(d);
        // else: the last close posts the unload (io::driver_file_closed)
    }
    ob::dereference(d);
    return status;
}

NTSTATUS ZwUnloadDriver(PUNICODE_STRING DriverServiceName) { return NtUnloadDriver(DriverServiceName); }

}  // extern "C"
