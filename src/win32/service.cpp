// The service control manager, for kernel drivers (docs/design.md, S-SCM): the database
// is the Services key of ntio's registry, a start is NtLoadDriver on the service's key
// and a stop NtUnloadDriver, as services.exe does for drivers. SC_HANDLEs are the
// manager's own (not kernel handles, on Windows either): checked against the live set.
#include <algorithm>
#include <cstring>
#include <functional>
#include <cwctype>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "cm/registry.hpp"
#include "io/iomgr.hpp"
#include "system.hpp"
#include "win32/win32.hpp"
#include "wdm.h"

using namespace ntio;
using namespace ntio::win32;

namespace {

constexpr std::wstring_view kServices = L"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\";

struct ScHandleBody {
    bool manager;
    DWORD access;
    std::wstring name;  // a service's name, as the database spells it
};

// A service's state beyond its key: the handles open on it and whether DeleteService
// marked it, which removes the key once the last handle closes and it is stopped (S-SCM-4).
struct ServiceState {
    int handles = 0;
    bool delete_pending = false;
    bool started_once = false;
};

struct Scm {
    std::mutex lock;
    std::unordered_set<ScHandleBody*> live;
    std::unordered_map<std::wstring, ServiceState> states;  // by upcased name
    uint64_t generation = 0;                                // the runtime they belong to
};
Scm& scm() {
    static Scm* s = new Scm;  // never destroyed: an exit handler may still close handles
    return *s;
}

// The manager's lock, held for a call. The database is the current runtime's registry:
// when the runtime changed (a test's System after another's), what the manager knew of
// the old one goes, and that one's handles with it (ERROR_INVALID_HANDLE from then on).
class Locked {
public:
    Locked() : m_guard(scm().lock) {
        Scm& m = scm();
        if (m.generation == sys().generation) return;
        for (ScHandleBody* b : m.live) delete b;
        m.live.clear();
        m.states.clear();
        m.generation = sys().generation;
    }

private:
    std::lock_guard<std::mutex> m_guard;
};

std::wstring upcase(std::wstring s) {
    for (wchar_t& c : s) c = static_cast<wchar_t>(std::towupper(c));
    return s;
}

std::wstring wide_or_empty(LPCSTR s) { return s ? widen(s) : std::wstring(); }

// The manager's body of a handle, or nullptr with ERROR_INVALID_HANDLE. Lock held.
ScHandleBody* body_of(SC_HANDLE h, bool manager) {
    auto* b = reinterpret_cast<ScHandleBody*>(h);
    if (!b || !scm().live.count(b) || b->manager != manager) {
        set_last_error(ERROR_INVALID_HANDLE);
        return nullptr;
    }
    return b;
}

SC_HANDLE new_handle(bool manager, DWORD access, const std::wstring& name) {
    auto* b = new ScHandleBody{manager, access, name};
    scm().live.insert(b);
    if (!manager) ++scm().states[upcase(name)].handles;
    return reinterpret_cast<SC_HANDLE>(b);
}

// Generic rights as the manager maps them (all of them for GENERIC_ALL).
DWORD map_access(DWORD access, bool manager) {
    DWORD all = manager ? SC_MANAGER_ALL_ACCESS : SERVICE_ALL_ACCESS;
    DWORD read = manager ? (STANDARD_RIGHTS_READ | SC_MANAGER_ENUMERATE_SERVICE | SC_MANAGER_QUERY_LOCK_STATUS)
                         : (STANDARD_RIGHTS_READ | SERVICE_QUERY_CONFIG | SERVICE_QUERY_STATUS |
                            SERVICE_INTERROGATE | SERVICE_ENUMERATE_DEPENDENTS);
    DWORD write = manager ? (STANDARD_RIGHTS_WRITE | SC_MANAGER_CREATE_SERVICE | SC_MANAGER_MODIFY_BOOT_CONFIG)
                          : (STANDARD_RIGHTS_WRITE | SERVICE_CHANGE_CONFIG);
    DWORD execute = manager ? (STANDARD_RIGHTS_EXECUTE | SC_MANAGER_CONNECT | SC_MANAGER_LOCK)
                            : (STANDARD_RIGHTS_EXECUTE | SERVICE_START | SERVICE_STOP | SERVICE_PAUSE_CONTINUE |
                               SERVICE_USER_DEFINED_CONTROL);
    DWORD out = access & ~(GENERIC_ALL | GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE);
    if (access & GENERIC_ALL) out |= all;
    if (access & GENERIC_READ) out |= read;
    if (access & GENERIC_WRITE) out |= write;
    if (access & GENERIC_EXECUTE) out |= execute;
    return out;
}

// A name the database can hold: not empty, at most 256 characters, no slash or backslash.
bool valid_service_name(const std::wstring& name) {
    return !name.empty() && name.size() <= 256 && name.find_first_of(L"/\\") == std::wstring::npos;
}

std::wstring key_path(const std::wstring& name) { return std::wstring(kServices) + name; }

// The service's key when it is a service (it has a Type), with the registry lock held.
std::shared_ptr<cm::Key> service_key(cm::Registry& r, const std::wstring& name) {
    std::shared_ptr<cm::Key> key;
    bool created = false;
    if (!NT_SUCCESS(r.walk(nullptr, key_path(name), false, false, false, &key, &created))) return nullptr;
    cm::Value* type = cm::Registry::find_value(key.get(), L"Type");
    if (!type || type->type != REG_DWORD || type->data.size() != sizeof(DWORD)) return nullptr;
    return key;
}

DWORD dword_value(cm::Key* key, const wchar_t* name, DWORD fallback) {
    cm::Value* v = cm::Registry::find_value(key, name);
    if (!v || v->type != REG_DWORD || v->data.size() != sizeof(DWORD)) return fallback;
    DWORD d;
    std::memcpy(&d, v->data.data(), sizeof d);
    return d;
}

std::wstring string_value(cm::Key* key, const wchar_t* name) {
    cm::Value* v = cm::Registry::find_value(key, name);
    if (!v || (v->type != REG_SZ && v->type != REG_EXPAND_SZ)) return {};
    std::wstring s(reinterpret_cast<const WCHAR*>(v->data.data()), v->data.size() / sizeof(WCHAR));
    s.resize(std::wcslen(s.c_str()));
    return s;
}

// The loaded driver of the service, or nullptr (drivers_lock held by the caller).
io::DriverBody* loaded_driver(const std::wstring& name) {
    std::wstring full = upcase(L"\\Driver\\" + name);
    for (io::DriverBody* d : sys().drivers)
        if (upcase(d->name) == full) return d;
    return nullptr;
}

// The status of a driver service as the manager reports it (S-SCM-2): running while its
// driver object is loaded, stop pending while its unload waits for the last close.
SERVICE_STATUS_PROCESS status_of(const std::wstring& name, DWORD type, const ServiceState& st) {
    SERVICE_STATUS_PROCESS s{};
    s.dwServiceType = type;
    std::lock_guard g(sys().drivers_lock);
    io::DriverBody* d = loaded_driver(name);
    if (!d) {
        s.dwCurrentState = SERVICE_STOPPED;
        s.dwWin32ExitCode = st.started_once ? NO_ERROR : ERROR_SERVICE_NEVER_STARTED;
    } else if (d->unload_pending.load()) {
        s.dwCurrentState = SERVICE_STOP_PENDING;
    } else {
        s.dwCurrentState = SERVICE_RUNNING;
        s.dwControlsAccepted = d->driver.DriverUnload ? SERVICE_ACCEPT_STOP : 0;
    }
    return s;
}

// The key goes once a deleted service has no handle open and is stopped (S-SCM-4). Called
// with the manager's lock held.
void delete_if_done(const std::wstring& name) {
    auto it = scm().states.find(upcase(name));
    if (it == scm().states.end() || !it->second.delete_pending || it->second.handles > 0) return;
    {
        std::lock_guard g(sys().drivers_lock);
        if (loaded_driver(name)) return;  // the stop (or process exit) comes first
    }
    cm::Registry& r = sys().registry;
    std::lock_guard g(r.lock);
    if (std::shared_ptr<cm::Key> key = service_key(r, name)) {
        // Its subkeys (Parameters, Enum...) go with it.
        std::function<void(cm::Key*)> remove = [&](cm::Key* k) {
            while (!k->subkeys.empty()) remove(k->subkeys.back().get());
            r.delete_key(k);
        };
        remove(key.get());
    }
    scm().states.erase(it);
}

NTSTATUS call_with_key(NTSTATUS (*fn)(PUNICODE_STRING), const std::wstring& name) {
    std::wstring path = key_path(name);
    UNICODE_STRING us{static_cast<USHORT>(path.size() * sizeof(WCHAR)), static_cast<USHORT>(path.size() * sizeof(WCHAR)),
                      path.data()};
    return fn(&us);
}

SC_HANDLE open_manager(const std::wstring* machine, const std::wstring* database, DWORD access) {
    if (machine && !machine->empty()) {
        // One process, one machine: no remote manager to reach.
        std::fprintf(stderr, "ntio: OpenSCManager(%ls): ntio has no remote service control manager\n",
                     machine->c_str());
        set_last_error(RPC_S_SERVER_UNAVAILABLE);
        return nullptr;
    }
    if (database && !database->empty()) {
        if (upcase(*database) == L"SERVICESFAILED") {
            set_last_error(ERROR_DATABASE_DOES_NOT_EXIST);
            return nullptr;
        }
        if (upcase(*database) != L"SERVICESACTIVE") {
            set_last_error(ERROR_INVALID_NAME);
            return nullptr;
        }
    }
    Locked g;
    SC_HANDLE h = new_handle(true, map_access(access, true), {});
    set_last_error(NO_ERROR);
    return h;
}

SC_HANDLE create_service(SC_HANDLE manager, LPCWSTR service, LPCWSTR display, DWORD access, DWORD type, DWORD start,
                         DWORD error_control, LPCWSTR binary, LPCWSTR group, LPDWORD tag, LPCWSTR dependencies,
                         LPCWSTR start_name) {
    Locked g;
    ScHandleBody* m = body_of(manager, true);
    if (!m) return nullptr;
    if (!(m->access & SC_MANAGER_CREATE_SERVICE)) {
        set_last_error(ERROR_ACCESS_DENIED);
        return nullptr;
    }
    if (!service) {
        set_last_error(ERROR_INVALID_ADDRESS);
        return nullptr;
    }
    std::wstring name = service;
    if (!valid_service_name(name)) {
        set_last_error(ERROR_INVALID_NAME);
        return nullptr;
    }
    if (type & (SERVICE_WIN32 | SERVICE_INTERACTIVE_PROCESS)) {
        // A service process would need a process of its own; ntio runs one program.
        std::fprintf(stderr, "ntio: CreateService(%ls): only kernel drivers are services in ntio (type %#x)\n",
                     name.c_str(), static_cast<unsigned>(type));
        set_last_error((type & SERVICE_WIN32) ? ERROR_NOT_SUPPORTED : ERROR_INVALID_PARAMETER);
        return nullptr;
    }
    if ((type != SERVICE_KERNEL_DRIVER && type != SERVICE_FILE_SYSTEM_DRIVER) || start > SERVICE_DISABLED ||
        error_control > SERVICE_ERROR_CRITICAL || !binary || !*binary ||
        (tag && start != SERVICE_BOOT_START && start != SERVICE_SYSTEM_START)) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return nullptr;
    }
    if ((dependencies && *dependencies) || (start_name && *start_name) || tag) {
        // Not kept rather than kept and not acted on.
        std::fprintf(stderr,
                     "ntio: CreateService(%ls): dependencies, tags and a driver object name are not supported\n",
                     name.c_str());
        set_last_error(ERROR_NOT_SUPPORTED);
        return nullptr;
    }
    std::wstring shown = display && *display ? display : name;
    delete_if_done(name);  // a deleted service whose driver unloaded at a last close since
    cm::Registry& r = sys().registry;
    {
        std::lock_guard rg(r.lock);
        if (service_key(r, name)) {
            auto it = scm().states.find(upcase(name));
            set_last_error(it != scm().states.end() && it->second.delete_pending ? ERROR_SERVICE_MARKED_FOR_DELETE
                                                                                 : ERROR_SERVICE_EXISTS);
            return nullptr;
        }
        // Another service's name or display name may not be this one's display name.
        std::shared_ptr<cm::Key> services;
        bool made = false;
        if (NT_SUCCESS(r.walk(nullptr, kServices.substr(0, kServices.size() - 1), false, false, false, &services,
                              &made)))
            for (const auto& k : services->subkeys) {
                if (!service_key(r, k->name)) continue;
                std::wstring other = string_value(k.get(), L"DisplayName");
                if (upcase(shown) == upcase(k->name) || (!other.empty() && upcase(shown) == upcase(other))) {
                    set_last_error(ERROR_DUPLICATE_SERVICE_NAME);
                    return nullptr;
                }
            }
        std::shared_ptr<cm::Key> key = cm::ensure_key(r, key_path(name));
        if (!key) {
            set_last_error(ERROR_NOT_ENOUGH_MEMORY);
            return nullptr;
        }
        r.set_value(key.get(), L"Type", REG_DWORD, &type, sizeof type);
        r.set_value(key.get(), L"Start", REG_DWORD, &start, sizeof start);
        r.set_value(key.get(), L"ErrorControl", REG_DWORD, &error_control, sizeof error_control);
        std::wstring image = binary;
        r.set_value(key.get(), L"ImagePath", REG_EXPAND_SZ, image.c_str(), (image.size() + 1) * sizeof(WCHAR));
        r.set_value(key.get(), L"DisplayName", REG_SZ, shown.c_str(), (shown.size() + 1) * sizeof(WCHAR));
        if (group && *group) {
            std::wstring gr = group;
            r.set_value(key.get(), L"Group", REG_SZ, gr.c_str(), (gr.size() + 1) * sizeof(WCHAR));
        }
    }
    scm().states[upcase(name)] = ServiceState{};
    SC_HANDLE h = new_handle(false, map_access(access, false), name);
    set_last_error(NO_ERROR);
    return h;
}

SC_HANDLE open_service(SC_HANDLE manager, LPCWSTR service, DWORD access) {
    Locked g;
    if (!body_of(manager, true)) return nullptr;
    if (!service) {
        set_last_error(ERROR_INVALID_ADDRESS);
        return nullptr;
    }
    std::wstring name = service;
    if (valid_service_name(name)) delete_if_done(name);
    cm::Registry& r = sys().registry;
    std::lock_guard rg(r.lock);
    std::shared_ptr<cm::Key> key = valid_service_name(name) ? service_key(r, name) : nullptr;
    if (!key) {
        set_last_error(ERROR_SERVICE_DOES_NOT_EXIST);
        return nullptr;
    }
    SC_HANDLE h = new_handle(false, map_access(access, false), key->name);  // the database's spelling
    set_last_error(NO_ERROR);
    return h;
}

// A service handle with `right`, its name and type copied out; false with the error set.
bool service_handle(SC_HANDLE h, DWORD right, std::wstring* name, DWORD* type, ServiceState* state) {
    Locked g;
    ScHandleBody* b = body_of(h, false);
    if (!b) return false;
    if ((b->access & right) != right) {
        set_last_error(ERROR_ACCESS_DENIED);
        return false;
    }
    *name = b->name;
    if (state) *state = scm().states[upcase(b->name)];
    if (type) {
        cm::Registry& r = sys().registry;
        std::lock_guard rg(r.lock);
        std::shared_ptr<cm::Key> key = service_key(r, b->name);
        *type = key ? dword_value(key.get(), L"Type", SERVICE_KERNEL_DRIVER) : SERVICE_KERNEL_DRIVER;
    }
    return true;
}

BOOL start_service(SC_HANDLE h) {
    std::wstring name;
    ServiceState st;
    if (!service_handle(h, SERVICE_START, &name, nullptr, &st)) return FALSE;
    if (st.delete_pending) {
        set_last_error(ERROR_SERVICE_MARKED_FOR_DELETE);
        return FALSE;
    }
    {
        cm::Registry& r = sys().registry;
        std::lock_guard rg(r.lock);
        std::shared_ptr<cm::Key> key = service_key(r, name);
        if (key && dword_value(key.get(), L"Start", SERVICE_DEMAND_START) == SERVICE_DISABLED) {
            set_last_error(ERROR_SERVICE_DISABLED);
            return FALSE;
        }
    }
    NTSTATUS s = call_with_key(NtLoadDriver, name);
    {
        Locked g;
        if (NT_SUCCESS(s) || s == STATUS_IMAGE_ALREADY_LOADED) scm().states[upcase(name)].started_once = true;
    }
    if (!NT_SUCCESS(s)) {
        // STATUS_IMAGE_ALREADY_LOADED is ERROR_SERVICE_ALREADY_RUNNING; a DriverEntry's own
        // failure maps as any status does.
        set_error_from_status(s);
        return FALSE;
    }
    set_last_error(NO_ERROR);
    return TRUE;
}

}  // namespace

extern "C" {

SC_HANDLE OpenSCManagerW(LPCWSTR lpMachineName, LPCWSTR lpDatabaseName, DWORD dwDesiredAccess) {
    std::wstring machine = lpMachineName ? lpMachineName : L"", database = lpDatabaseName ? lpDatabaseName : L"";
    return open_manager(&machine, &database, dwDesiredAccess);
}

SC_HANDLE OpenSCManagerA(LPCSTR lpMachineName, LPCSTR lpDatabaseName, DWORD dwDesiredAccess) {
    std::wstring machine = wide_or_empty(lpMachineName), database = wide_or_empty(lpDatabaseName);
    return open_manager(&machine, &database, dwDesiredAccess);
}

SC_HANDLE CreateServiceW(SC_HANDLE hSCManager, LPCWSTR lpServiceName, LPCWSTR lpDisplayName, DWORD dwDesiredAccess,
                         DWORD dwServiceType, DWORD dwStartType, DWORD dwErrorControl, LPCWSTR lpBinaryPathName,
                         LPCWSTR lpLoadOrderGroup, LPDWORD lpdwTagId, LPCWSTR lpDependencies,
                         LPCWSTR lpServiceStartName, LPCWSTR lpPassword) {
    (void)lpPassword;  // a driver runs under no account
    return create_service(hSCManager, lpServiceName, lpDisplayName, dwDesiredAccess, dwServiceType, dwStartType,
                          dwErrorControl, lpBinaryPathName, lpLoadOrderGroup, lpdwTagId, lpDependencies,
                          lpServiceStartName);
}

SC_HANDLE CreateServiceA(SC_HANDLE hSCManager, LPCSTR lpServiceName, LPCSTR lpDisplayName, DWORD dwDesiredAccess,
                         DWORD dwServiceType, DWORD dwStartType, DWORD dwErrorControl, LPCSTR lpBinaryPathName,
                         LPCSTR lpLoadOrderGroup, LPDWORD lpdwTagId, LPCSTR lpDependencies, LPCSTR lpServiceStartName,
                         LPCSTR lpPassword) {
    (void)lpPassword;
    // Dependencies are a double-NUL-terminated list; any first entry is refused anyway.
    std::wstring name = wide_or_empty(lpServiceName), display = wide_or_empty(lpDisplayName),
                 binary = wide_or_empty(lpBinaryPathName), group = wide_or_empty(lpLoadOrderGroup),
                 deps = wide_or_empty(lpDependencies), start_name = wide_or_empty(lpServiceStartName);
    return create_service(hSCManager, lpServiceName ? name.c_str() : nullptr,
                          lpDisplayName ? display.c_str() : nullptr, dwDesiredAccess, dwServiceType, dwStartType,
                          dwErrorControl, lpBinaryPathName ? binary.c_str() : nullptr,
                          lpLoadOrderGroup ? group.c_str() : nullptr, lpdwTagId,
                          lpDependencies ? deps.c_str() : nullptr, lpServiceStartName ? start_name.c_str() : nullptr);
}

SC_HANDLE OpenServiceW(SC_HANDLE hSCManager, LPCWSTR lpServiceName, DWORD dwDesiredAccess) {
    return open_service(hSCManager, lpServiceName, dwDesiredAccess);
}

SC_HANDLE OpenServiceA(SC_HANDLE hSCManager, LPCSTR lpServiceName, DWORD dwDesiredAccess) {
    std::wstring name = wide_or_empty(lpServiceName);
    return open_service(hSCManager, lpServiceName ? name.c_str() : nullptr, dwDesiredAccess);
}

BOOL StartServiceW(SC_HANDLE hService, DWORD, LPCWSTR*) { return start_service(hService); }
BOOL StartServiceA(SC_HANDLE hService, DWORD, LPCSTR*) { return start_service(hService); }

BOOL ControlService(SC_HANDLE hService, DWORD dwControl, LPSERVICE_STATUS lpServiceStatus) {
    DWORD right = dwControl == SERVICE_CONTROL_STOP          ? SERVICE_STOP
                  : dwControl == SERVICE_CONTROL_INTERROGATE ? SERVICE_INTERROGATE
                  : (dwControl == SERVICE_CONTROL_PAUSE || dwControl == SERVICE_CONTROL_CONTINUE)
                      ? SERVICE_PAUSE_CONTINUE
                      : 0;
    std::wstring name;
    DWORD type = 0;
    ServiceState st;
    if (!service_handle(hService, right, &name, &type, &st)) return FALSE;
    if (!lpServiceStatus) {
        set_last_error(ERROR_INVALID_ADDRESS);
        return FALSE;
    }
    if (right == 0 || dwControl == SERVICE_CONTROL_SHUTDOWN) {
        // A driver takes stop and interrogate only; SHUTDOWN is the system's to send.
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    SERVICE_STATUS_PROCESS now = status_of(name, type, st);
    auto copy_out = [&](const SERVICE_STATUS_PROCESS& s) { std::memcpy(lpServiceStatus, &s, sizeof(SERVICE_STATUS)); };
    if (now.dwCurrentState == SERVICE_STOPPED) {
        copy_out(now);
        set_last_error(ERROR_SERVICE_NOT_ACTIVE);
        return FALSE;
    }
    if (now.dwCurrentState == SERVICE_STOP_PENDING) {
        copy_out(now);
        set_last_error(ERROR_SERVICE_CANNOT_ACCEPT_CTRL);
        return FALSE;
    }
    bool accepted = dwControl == SERVICE_CONTROL_INTERROGATE ||
                    (dwControl == SERVICE_CONTROL_STOP && (now.dwControlsAccepted & SERVICE_ACCEPT_STOP));
    if (!accepted) {
        // Pause, or a stop for a driver without DriverUnload.
        copy_out(now);
        set_last_error(ERROR_INVALID_SERVICE_CONTROL);
        return FALSE;
    }
    if (dwControl == SERVICE_CONTROL_STOP) {
        NTSTATUS s = call_with_key(NtUnloadDriver, name);
        if (!NT_SUCCESS(s) && s != STATUS_OBJECT_NAME_NOT_FOUND) {  // not found: it went meanwhile
            set_error_from_status(s);
            return FALSE;
        }
        Locked g;
        delete_if_done(name);
        now = status_of(name, type, st);
    }
    copy_out(now);
    set_last_error(NO_ERROR);
    return TRUE;
}

BOOL QueryServiceStatusEx(SC_HANDLE hService, SC_STATUS_TYPE InfoLevel, LPBYTE lpBuffer, DWORD cbBufSize,
                          LPDWORD pcbBytesNeeded) {
    std::wstring name;
    DWORD type = 0;
    ServiceState st;
    if (!service_handle(hService, SERVICE_QUERY_STATUS, &name, &type, &st)) return FALSE;
    if (InfoLevel != SC_STATUS_PROCESS_INFO) {
        set_last_error(ERROR_INVALID_LEVEL);
        return FALSE;
    }
    if (!pcbBytesNeeded) {
        set_last_error(ERROR_INVALID_ADDRESS);
        return FALSE;
    }
    *pcbBytesNeeded = sizeof(SERVICE_STATUS_PROCESS);
    if (cbBufSize < sizeof(SERVICE_STATUS_PROCESS) || !lpBuffer) {
        set_last_error(ERROR_INSUFFICIENT_BUFFER);
        return FALSE;
    }
    SERVICE_STATUS_PROCESS s = status_of(name, type, st);
    std::memcpy(lpBuffer, &s, sizeof s);
    set_last_error(NO_ERROR);
    return TRUE;
}

BOOL QueryServiceStatus(SC_HANDLE hService, LPSERVICE_STATUS lpServiceStatus) {
    std::wstring name;
    DWORD type = 0;
    ServiceState st;
    if (!service_handle(hService, SERVICE_QUERY_STATUS, &name, &type, &st)) return FALSE;
    if (!lpServiceStatus) {
        set_last_error(ERROR_INVALID_ADDRESS);
        return FALSE;
    }
    SERVICE_STATUS_PROCESS s = status_of(name, type, st);
    std::memcpy(lpServiceStatus, &s, sizeof(SERVICE_STATUS));
    set_last_error(NO_ERROR);
    return TRUE;
}

BOOL DeleteService(SC_HANDLE hService) {
    std::wstring name;
    if (!service_handle(hService, DELETE, &name, nullptr, nullptr)) return FALSE;
    Locked g;
    ServiceState& st = scm().states[upcase(name)];
    if (st.delete_pending) {
        set_last_error(ERROR_SERVICE_MARKED_FOR_DELETE);
        return FALSE;
    }
    st.delete_pending = true;  // the key goes with the last handle, once stopped (S-SCM-4)
    set_last_error(NO_ERROR);
    return TRUE;
}

BOOL CloseServiceHandle(SC_HANDLE hSCObject) {
    Locked g;
    auto* b = reinterpret_cast<ScHandleBody*>(hSCObject);
    if (!b || !scm().live.erase(b)) {
        set_last_error(ERROR_INVALID_HANDLE);
        return FALSE;
    }
    if (!b->manager) {
        auto it = scm().states.find(upcase(b->name));
        if (it != scm().states.end() && it->second.handles > 0) --it->second.handles;
        delete_if_done(b->name);
    }
    delete b;
    return TRUE;
}

}  // extern "C"
