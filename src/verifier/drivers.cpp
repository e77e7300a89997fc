#include "verifier/drivers.hpp"

#include <dlfcn.h>
#include <link.h>

#include <algorithm>
#include <cstdint>

#include <cwctype>
#include <map>
#include <mutex>
#include <vector>

#include "ex/pool.hpp"
#include "io/iomgr.hpp"
#include "ps/thread.hpp"
#include "system.hpp"
#include "verifier/irp_tracker.hpp"
#include "verifier/report.hpp"

namespace ntio::verifier::drivers {

constinit thread_local uint32_t t_current = 0;

namespace {

struct PoolUse {
    int64_t allocations = 0;
    int64_t bytes = 0;
};

struct DriverInfo {
    std::string name;
    const void* module_base = nullptr;  // where dladdr places its DriverEntry; nullptr if unknown
    std::map<uint32_t, PoolUse> pool;    // by tag, while PoolLeftAtUnload is on
};

// Never destroyed: drivers unload from an exit handler that runs after the library's
// static destructors.
struct State {
    std::mutex lock;
    // Indexed by driver number - 1; entries stay until the runtime ends (a report after
    // unload still names the driver).
    std::vector<DriverInfo> drivers;
    // Symbolic link (upper-cased) -> the driver that created it.
    std::map<std::wstring, uint32_t> links;
};
State& state() {
    static State* s = new State();
    return *s;
}

std::string narrow(const std::wstring& s) {
    std::string out;
    for (wchar_t c : s) out += c < 0x80 ? static_cast<char>(c) : '?';
    return out;
}

std::wstring link_key(const std::wstring& link) {
    std::wstring k = link;
    for (wchar_t& c : k) c = static_cast<wchar_t>(std::towupper(static_cast<wint_t>(c)));
    return k;
}

const void* module_of(const void* code) {
    Dl_info info;
    if (!code || !dladdr(code, &info)) return nullptr;
    return info.dli_fbase;
}

void report_devices(io::DriverBody* d) {
    for (PDEVICE_OBJECT dev = d->driver.DeviceObject; dev; dev = dev->NextDevice)
        report(Check::DeviceLeftAtUnload,
               fmt::format("driver {} unloaded and left {} behind; IoDeleteDevice every device in DriverUnload "
                           "(and IoDetachDevice first if it is attached). ntio deletes it",
                           narrow(d->name), io::device_label(dev)),
               {.device = dev});
}

void report_links(io::DriverBody* d, uint32_t id) {
    std::vector<std::wstring> left;
    {
        std::lock_guard g(state().lock);
        for (auto it = state().links.begin(); it != state().links.end();) {
            if (it->second == id) {
                left.push_back(it->first);
                it = state().links.erase(it);
            } else {
                ++it;
            }
        }
    }
    for (const std::wstring& link : left) {
        report(Check::SymbolicLinkLeftAtUnload,
               fmt::format("driver {} unloaded and left the symbolic link {} behind; IoDeleteSymbolicLink it in "
                           "DriverUnload (a later driver cannot create it again). ntio deletes it",
                           narrow(d->name), narrow(link)),
               {.driver = &d->driver});
        UNICODE_STRING us;
        us.Buffer = const_cast<PWSTR>(link.c_str());
        us.Length = us.MaximumLength = static_cast<USHORT>(link.size() * sizeof(WCHAR));
        IoDeleteSymbolicLink(&us);
    }
}

void report_threads(io::DriverBody* d, uint32_t id) {
    System::Impl& s = sys();
    std::vector<std::string> running;
    {
        std::lock_guard g(s.threads_lock);
        for (PLIST_ENTRY e = s.threads.Flink; e != &s.threads; e = e->Flink) {
            auto* t = CONTAINING_RECORD(e, _KTHREAD, registry_entry);
            if (t->system_thread && t->driver == id && !t->terminated.load(std::memory_order_acquire))
                running.push_back(fmt::format("thread {} (tid {}, start routine {})", t->number, t->tid.load(),
                                              t->start));
        }
    }
    for (const std::string& t : running)
        report(Check::ThreadLeftAtUnload,
               fmt::format("driver {} unloaded while its system {} still runs: its code may be gone when the thread "
                           "next runs. In DriverUnload tell the thread to stop, then wait for it: "
                           "ObReferenceObjectByHandle on its handle and KeWaitForSingleObject on the thread object",
                           narrow(d->name), t),
               {.driver = &d->driver});
}

// S-VER-TMR: a timer still set, or a DPC still queued, would run the driver's routine after
// it unloaded (Windows stops with bug check 0xCE). Attributed by the routine's module, for
// a driver alone in its module; each is reported, then cancelled so it cannot fire.
void report_timers(io::DriverBody* d, uint32_t id) {
    const void* base;
    {
        std::lock_guard g(state().lock);
        base = state().drivers[id - 1].module_base;
        size_t sharing = 0;
        for (const DriverInfo& r : state().drivers) sharing += r.module_base == base;
        if (!base || sharing != 1) return;  // test drivers linked into the program
    }
    // The module's mapped range, found outside the dispatcher lock; the cancel then runs
    // in one pass under it, so no expiry slips between finding a timer and cancelling it.
    // A DPC running meanwhile has ended after the flush; if it set its timer again, the
    // next pass finds it.
    uintptr_t begin = 0, end = 0;
    struct Range {
        const void* base;
        uintptr_t *begin, *end;
    } range{base, &begin, &end};
    dl_iterate_phdr(
        [](dl_phdr_info* info, size_t, void* data) {
            auto* r = static_cast<Range*>(data);
            uintptr_t lo = UINTPTR_MAX, hi = 0;
            for (int i = 0; i < info->dlpi_phnum; ++i) {
                if (info->dlpi_phdr[i].p_type != PT_LOAD) continue;
                lo = std::min<uintptr_t>(lo, info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
                hi = std::max<uintptr_t>(hi, info->dlpi_addr + info->dlpi_phdr[i].p_vaddr + info->dlpi_phdr[i].p_memsz);
            }
            if (lo > reinterpret_cast<uintptr_t>(r->base) || reinterpret_cast<uintptr_t>(r->base) >= hi) return 0;
            *r->begin = lo;
            *r->end = hi;
            return 1;
        },
        &range);
    if (!begin) return;
    std::vector<ke::Dispatcher::PendingDpc> cancelled;
    for (int pass = 0; pass < 4; ++pass) {
        std::vector<ke::Dispatcher::PendingDpc> found = sys().dispatcher.cancel_dpcs_in(ke::Dispatcher::DpcMatch::routine, begin, end);
        if (found.empty()) break;
        sys().dispatcher.flush_dpcs();
        cancelled.insert(cancelled.end(), found.begin(), found.end());
    }
    for (const ke::Dispatcher::PendingDpc& p : cancelled) {
        std::string what = p.timer ? fmt::format("the KTIMER at {} is still set (DPC {}, routine {})",
                                                 static_cast<void*>(p.timer), static_cast<void*>(p.dpc),
                                                 reinterpret_cast<void*>(p.routine))
                                   : fmt::format("the DPC at {} is still queued (routine {})",
                                                 static_cast<void*>(p.dpc), reinterpret_cast<void*>(p.routine));
        report(Check::TimerLeftAtUnload,
               fmt::format("driver {} unloaded and {}: its routine would run after the driver is gone. KeCancelTimer "
                           "(then KeFlushQueuedDpcs) in DriverUnload. ntio cancels it",
                           narrow(d->name), what),
               {.driver = &d->driver});
    }
}

void report_pool(io::DriverBody* d, uint32_t id) {
    std::map<uint32_t, PoolUse> left;
    {
        std::lock_guard g(state().lock);
        for (const auto& [tag, use] : state().drivers[id - 1].pool)
            if (use.allocations > 0) left[tag] = use;
    }
    for (const auto& [tag, use] : left)
        report(Check::PoolLeftAtUnload,
               fmt::format("driver {} unloaded with {} pool allocation(s), {} byte(s), tagged '{}' ({:#010x}) not "
                           "freed; free them in DriverUnload, or on the error path that allocated them",
                           narrow(d->name), use.allocations, use.bytes, ex::Pool::tag_text(tag), tag),
               {.driver = &d->driver});
}

}  // namespace

void timers_in_freed_memory(const void* block, size_t bytes, const char* what) {
    System::Impl* s = sys_if_exists();
    if (!s || !enabled(Check::TIMER_OR_DPC_INVALID) || !s->dispatcher.any_timer_or_dpc()) return;
    auto begin = reinterpret_cast<uintptr_t>(block);
    for (const ke::Dispatcher::PendingDpc& p :
         s->dispatcher.cancel_dpcs_in(ke::Dispatcher::DpcMatch::object, begin, begin + bytes)) {
        std::string held = p.timer ? fmt::format("the KTIMER at {} is still set (DPC {}, routine {})",
                                                 static_cast<void*>(p.timer), static_cast<void*>(p.dpc),
                                                 reinterpret_cast<void*>(p.routine))
                                   : fmt::format("the KDPC at {} is still queued (routine {})",
                                                 static_cast<void*>(p.dpc), reinterpret_cast<void*>(p.routine));
        report(Check::TIMER_OR_DPC_INVALID,
               fmt::format("{} frees {} bytes at {} while {} inside them: it would fire from freed memory. "
                           "KeCancelTimer (or KeRemoveQueueDpc) before the free, and KeFlushQueuedDpcs for one "
                           "that may be running. ntio cancels it",
                           what, bytes, block, held));
    }
}

uint32_t loading(io::DriverBody* d) {
    std::lock_guard g(state().lock);
    state().drivers.push_back({narrow(d->name), module_of(reinterpret_cast<const void*>(d->driver.DriverInit)), {}});
    d->verifier_id = static_cast<uint32_t>(state().drivers.size());
    return d->verifier_id;
}

uint32_t id_of(const DRIVER_OBJECT* driver) {
    // Every DRIVER_OBJECT is the first member of a DriverBody (io/driver.cpp).
    return driver ? reinterpret_cast<const io::DriverBody*>(driver)->verifier_id : 0;
}

std::string name_of(uint32_t id) {
    std::lock_guard g(state().lock);
    return id && id <= state().drivers.size() ? state().drivers[id - 1].name : std::string();
}

uint32_t attribute(const void* code) {
    if (t_current) return t_current;
    const void* base = module_of(code);
    if (!base) return 0;
    // Test drivers linked into one program share its base: only a driver alone in its
    // module is attributed by address.
    uint32_t found = 0;
    std::lock_guard g(state().lock);
    for (size_t i = 0; i < state().drivers.size(); ++i) {
        if (state().drivers[i].module_base != base) continue;
        if (found) return 0;
        found = static_cast<uint32_t>(i + 1);
    }
    return found;
}

void pool_allocated(uint32_t driver, uint32_t tag, uint64_t bytes) {
    std::lock_guard g(state().lock);
    if (!driver || driver > state().drivers.size()) return;
    PoolUse& u = state().drivers[driver - 1].pool[tag];
    u.allocations++;
    u.bytes += static_cast<int64_t>(bytes);
}

void pool_freed(uint32_t driver, uint32_t tag, uint64_t bytes) {
    std::lock_guard g(state().lock);
    if (!driver || driver > state().drivers.size()) return;
    PoolUse& u = state().drivers[driver - 1].pool[tag];
    u.allocations--;
    u.bytes -= static_cast<int64_t>(bytes);
}

void link_created(uint32_t driver, const std::wstring& link) {
    if (!driver) return;
    std::lock_guard g(state().lock);
    state().links[link_key(link)] = driver;
}

void link_deleted(const std::wstring& link) {
    std::lock_guard g(state().lock);
    state().links.erase(link_key(link));
}

void unloaded(io::DriverBody* d) {
    uint32_t id = d->verifier_id;
    report_devices(d);
    while (d->driver.DeviceObject) IoDeleteDevice(d->driver.DeviceObject);
    if (!id) return;
    report_links(d, id);
    report_threads(d, id);
    report_timers(d, id);
    if (enabled(Check::PoolLeftAtUnload)) report_pool(d, id);
    if (enabled(Check::IrpLeftAtUnload)) irps::report_left_by(id);
}

void reset() {
    std::lock_guard g(state().lock);
    state().drivers.clear();
    state().links.clear();
}

}  // namespace ntio::verifier::drivers
