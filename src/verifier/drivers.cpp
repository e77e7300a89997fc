#include "verifier/drivers.hpp"

#include <dlfcn.h>
#include <link.h>

#include <algorithm>
#include <cstdint>

#include <cwctype>
#include <map>
#include <mutex>
#include <vector>

#include "ex/callback.hpp"
#include "ex/objects.hpp"
#include "ex/pool.hpp"
#include "io/iomgr.hpp"
#include "ps/thread.hpp"
#include "system.hpp"
#include "verifier/irp_tracker.hpp"
#include "verifier/report.hpp"

namespace ntio::verifier::drivers {

constinit thread_local uint32_t t_current = 0;
std::atomic<int64_t> g_ex_objects_in_heap{0};

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

// Where a lookaside list or ERESOURCE lives, seen when it is initialized: a global of a
// loaded image (mapped for the process's life: modules are never unloaded), the
// initializing thread's stack (gone with its frame: never read again once the frame may
// be), or other memory, pool or a device extension, which the frees tell of.
enum class Where : uint8_t { image, stack, heap };

struct ExEntry {
    ExObject kind;
    Where where;
    uint32_t driver;
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
    // Initialized lookaside lists and ERESOURCEs by address; never dereferenced while
    // listed, so an entry whose memory went without a word (a stack frame) is harmless.
    std::map<uintptr_t, ExEntry> ex_objects;
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
                running.push_back(fmt::format("thread {} (id {}, Linux tid {}, start routine {})", t->number, t->id,
                                              t->tid.load(),
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

// The mapped range [begin, end) of the driver's module, for the leftovers found by where
// their routine lies (timers, DPCs, work items, callback registrations); false for a driver
// not alone in its module (test drivers linked into the program), which is not judged so.
bool image_range(uint32_t id, uintptr_t* begin, uintptr_t* end) {
    const void* base;
    {
        std::lock_guard g(state().lock);
        base = state().drivers[id - 1].module_base;
        size_t sharing = 0;
        for (const DriverInfo& r : state().drivers) sharing += r.module_base == base;
        if (!base || sharing != 1) return false;
    }
    *begin = *end = 0;
    struct Range {
        const void* base;
        uintptr_t *begin, *end;
    } range{base, begin, end};
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
    return *begin != 0;
}

// S-VER-TMR: a timer still set, or a DPC still queued, would run the driver's routine after
// it unloaded (Windows stops with bug check 0xCE). Attributed by the routine's module, for
// a driver alone in its module; each is reported, then cancelled so it cannot fire.
void report_timers(io::DriverBody* d, uintptr_t begin, uintptr_t end) {
    // The module's range was found outside the dispatcher lock; the cancel then runs in
    // one pass under it, so no expiry slips between finding a timer and cancelling it.
    // A DPC running meanwhile has ended after the flush; if it set its timer again, the
    // next pass finds it.
    std::vector<ke::Dispatcher::PendingDpc> cancelled;
    for (int pass = 0; pass < 4; ++pass) {
        std::vector<ke::Dispatcher::PendingDpc> found = sys().dispatcher.cancel_dpcs_in(ke::Dispatcher::DpcMatch::routine, begin, end);
        if (found.empty()) break;
        sys().dispatcher.flush_dpcs();
        cancelled.insert(cancelled.end(), found.begin(), found.end());
    }
    // EX_TIMERs run the driver's callback from a DPC of ntio's, which the scan above
    // cannot attribute: they are found by their callback.
    std::vector<std::string> ex_timers = ex::cancel_ex_timers_in(begin, end);
    if (!ex_timers.empty()) sys().dispatcher.flush_dpcs();
    for (const std::string& what : ex_timers)
        report(Check::TimerLeftAtUnload,
               fmt::format("driver {} unloaded and {}: its callback would run after the driver is gone. "
                           "ExDeleteTimer(Cancel = TRUE) in DriverUnload. ntio cancels it",
                           narrow(d->name), what),
               {.driver = &d->driver});
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

// S-VER-EX-3: ExQueueWorkItem's item holds nothing of the driver (IoQueueWorkItem's holds
// the device object, which keeps the image loaded), so one still queued when the image is
// unmapped runs code that is gone (0xCE). Each is reported and taken off the queue.
void report_queued_work_items(io::DriverBody* d, uintptr_t begin, uintptr_t end) {
    for (const ex::WorkQueue::Found& f : sys().work_items.remove_queued_in(begin, end))
        report(Check::WorkItemLeftAtUnload,
               fmt::format("driver {} unloaded with the work item at {} (routine {}, parameter {}) still queued: "
                           "its routine would run after the driver is gone. Wait in DriverUnload until the items it "
                           "queued have run, or use IoQueueWorkItem, whose item keeps the driver loaded. ntio takes "
                           "it off the queue; it does not run",
                           narrow(d->name), static_cast<void*>(f.item), reinterpret_cast<void*>(f.routine),
                           f.parameter),
               {.driver = &d->driver});
}

// S-VER-EX-4: a routine still running in the driver's code when DriverUnload returns is the
// same bug a moment later: Windows unmaps the image under it. ntio's modules stay mapped, so
// it waits a while (the runtime's clock: in virtual time the wait costs nothing while the
// routine is blocked) for the routine to return before the leftovers below are torn down,
// and says which way it went.
constexpr int kWorkItemWaitMs = 1000;
void report_running_work_items(io::DriverBody* d, uintptr_t begin, uintptr_t end) {
    ex::WorkQueue& q = sys().work_items;
    std::vector<ex::WorkQueue::Found> running = q.running_in(begin, end);
    if (running.empty()) return;
    std::vector<int> returned_after(running.size(), -1);  // ms, or -1: still running
    LARGE_INTEGER step;
    step.QuadPart = -10 * 10000LL;  // 10 ms, relative
    for (int waited = 0;; waited += 10) {
        bool any = false;
        for (size_t i = 0; i < running.size(); ++i) {
            if (returned_after[i] >= 0) continue;
            if (q.still_running(running[i])) any = true;
            else returned_after[i] = waited;
        }
        if (!any || waited >= kWorkItemWaitMs) break;
        KeDelayExecutionThread(KernelMode, FALSE, &step);
    }
    for (size_t i = 0; i < running.size(); ++i) {
        const ex::WorkQueue::Found& f = running[i];
        std::string outcome =
            returned_after[i] >= 0
                ? fmt::format("ntio waited for it: it returned within {} ms", returned_after[i])
                : fmt::format("it was still running {} ms later; ntio leaves it running (the module stays mapped)",
                              kWorkItemWaitMs);
        report(Check::WorkItemLeftAtUnload,
               fmt::format("driver {} unloaded while the routine {} of the work item at {} (parameter {}) still runs "
                           "on a worker thread: Windows unmaps the driver's image under it. Wait in DriverUnload for "
                           "the items it queued to finish (an event the routine sets as its last act still returns "
                           "into the image: IoQueueWorkItem's item keeps the driver loaded until it returns). {}",
                           narrow(d->name), reinterpret_cast<void*>(f.routine), static_cast<void*>(f.item),
                           f.parameter, outcome),
               {.driver = &d->driver});
    }
}

// S-VER-EX-5: ExNotifyCallback would call the driver's routine after it is gone. Each is
// reported and unregistered (waiting, as ExUnregisterCallback does, for a call in progress).
void report_callbacks(io::DriverBody* d, uintptr_t begin, uintptr_t end) {
    for (const std::string& what : ex::unregister_callbacks_in(begin, end))
        report(Check::CallbackLeftAtUnload,
               fmt::format("driver {} unloaded and left {} registered: ExNotifyCallback would call into the unloaded "
                           "driver. ExUnregisterCallback it in DriverUnload. ntio unregisters it",
                           narrow(d->name), what),
               {.driver = &d->driver});
}

const char* ex_delete_api(ExObject k) {
    switch (k) {
    case ExObject::npaged_lookaside: return "ExDeleteNPagedLookasideList";
    case ExObject::paged_lookaside: return "ExDeletePagedLookasideList";
    case ExObject::lookaside_ex: return "ExDeleteLookasideListEx";
    case ExObject::resource: break;
    }
    return "ExDeleteResourceLite";
}

// The list Windows keeps it on, which would point at it after its memory has gone.
const char* ex_system_list(ExObject k) {
    return k == ExObject::resource ? "the system's list of resources" : "the system's list of lookaside lists";
}

// "the nonpaged lookaside list at 0x... (tag 'Abcd', 64-byte entries)"; the tag and the
// size only when its memory may be read.
std::string ex_name(uintptr_t a, ExObject k, bool readable) {
    auto* p = reinterpret_cast<const void*>(a);
    if (k == ExObject::resource) return fmt::format("the ERESOURCE at {}", p);
    if (k == ExObject::lookaside_ex) {  // paged or not is in the list itself
        if (!readable) return fmt::format("the lookaside list (LOOKASIDE_LIST_EX) at {}", p);
        auto* l = static_cast<const GENERAL_LOOKASIDE*>(p);
        return fmt::format("the {} lookaside list (LOOKASIDE_LIST_EX) at {} (tag '{}', {}-byte entries)",
                           (l->Type & PagedPool) ? "paged" : "nonpaged", p, ex::Pool::tag_text(l->Tag), l->Size);
    }
    const char* kind = k == ExObject::npaged_lookaside ? "nonpaged" : "paged";
    if (!readable) return fmt::format("the {} lookaside list at {}", kind, p);
    auto* l = static_cast<const GENERAL_LOOKASIDE*>(p);
    return fmt::format("the {} lookaside list at {} (tag '{}', {}-byte entries)", kind, p, ex::Pool::tag_text(l->Tag),
                       l->Size);
}

Where where_of(uintptr_t a) {
    ULONG_PTR low = 0, high = 0;
    IoGetStackLimits(&low, &high);
    if (a >= low && a < high) return Where::stack;
    Dl_info info;
    if (dladdr(reinterpret_cast<const void*>(a), &info) && info.dli_fbase) return Where::image;
    return Where::heap;
}

// ", a global of echo.so (g_Lookaside)": where the report says it is.
std::string where_text(uintptr_t a, Where w) {
    switch (w) {
    case Where::image: {
        Dl_info info{};
        void* entry = nullptr;
        if (!dladdr1(reinterpret_cast<const void*>(a), &info, &entry, RTLD_DL_SYMENT) || !info.dli_fname)
            return ", a global of its image";
        auto* sym = static_cast<const ElfW(Sym)*>(entry);
        std::string module = info.dli_fname;
        module = module.substr(module.find_last_of('/') + 1);
        auto start = reinterpret_cast<uintptr_t>(info.dli_saddr);
        if (sym && info.dli_sname && a >= start && a < start + sym->st_size)
            return a == start ? fmt::format(", the global {} of {}", info.dli_sname, module)
                              : fmt::format(", inside the global {} of {}", info.dli_sname, module);
        return fmt::format(", a global of {}", module);
    }
    case Where::stack: return ", on a thread's stack";
    case Where::heap: break;
    }
    return ", in memory it allocated (pool or a device extension)";
}

// Deletes what a driver left: false for a resource still in use, which stays as it is.
bool ex_delete(uintptr_t a, ExObject k) {
    if (k == ExObject::resource) return ex::delete_resource_if_idle(reinterpret_cast<PERESOURCE>(a));
    if (k == ExObject::lookaside_ex) {
        ex::delete_lookaside_ex_blocks(reinterpret_cast<PLOOKASIDE_LIST_EX>(a), "ExDeleteLookasideListEx");
        return true;
    }
    ex::delete_lookaside_blocks(reinterpret_cast<PGENERAL_LOOKASIDE>(a));
    return true;
}

bool ex_tracked(ExObject k) {
    Check at_unload = k == ExObject::resource ? Check::ResourceLeftAtUnload : Check::LookasideLeftAtUnload;
    return enabled(at_unload) || enabled(Check::ResourceOrLookasideInFreedMemory);
}

// Takes the entry out of the map (lock held).
std::map<uintptr_t, ExEntry>::iterator ex_erase(std::map<uintptr_t, ExEntry>::iterator it) {
    if (it->second.where == Where::heap) g_ex_objects_in_heap.fetch_sub(1, std::memory_order_relaxed);
    return state().ex_objects.erase(it);
}

// S-VER-EX-1: what the driver initialized and did not delete, reported and deleted (a
// lookaside list's kept blocks go back to pool before PoolLeftAtUnload counts it). One
// on a stack is only forgotten: its frame has gone, and with it the memory to delete.
// Runs before the runtime deletes the devices the driver left, so that those in their
// extensions are reported here, as left by the driver, not as freed by the runtime.
void report_ex_objects(io::DriverBody* d, uint32_t id) {
    std::vector<std::pair<uintptr_t, ExEntry>> left;
    {
        std::lock_guard g(state().lock);
        auto& m = state().ex_objects;
        for (auto it = m.begin(); it != m.end();) {
            if (it->second.driver != id) {
                ++it;
                continue;
            }
            left.emplace_back(*it);
            it = ex_erase(it);
        }
    }
    for (const auto& [a, e] : left) {
        bool readable = e.where != Where::stack;
        std::string name = ex_name(a, e.kind, readable);
        const char* outcome = "ntio forgets it (its stack frame has gone, and the memory with it)";
        if (readable)
            outcome = ex_delete(a, e.kind) ? "ntio deletes it"
                                           : "ntio forgets it but cannot delete it: a thread still owns it or waits "
                                             "for it";
        report(e.kind == ExObject::resource ? Check::ResourceLeftAtUnload : Check::LookasideLeftAtUnload,
               fmt::format("driver {} unloaded without deleting {}{}: {} would still point at it once the driver "
                           "is gone. {} it in DriverUnload. {}",
                           narrow(d->name), name, where_text(a, e.where), ex_system_list(e.kind),
                           ex_delete_api(e.kind), outcome),
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

void ex_object_initialized(const void* object, ExObject kind, const void* caller) {
    auto a = reinterpret_cast<uintptr_t>(object);
    uint32_t id = ex_tracked(kind) ? attribute(caller) : 0;
    if (!id) {  // not a driver's, or not looked for: whatever was listed there before has gone
        ex_object_deleted(object);
        return;
    }
    Where where = where_of(a);
    std::lock_guard g(state().lock);
    auto& m = state().ex_objects;
    if (auto it = m.find(a); it != m.end()) ex_erase(it);  // initialized again without a delete
    m.emplace(a, ExEntry{kind, where, id});
    if (where == Where::heap) g_ex_objects_in_heap.fetch_add(1, std::memory_order_relaxed);
}

void ex_object_deleted(const void* object) {
    std::lock_guard g(state().lock);
    auto& m = state().ex_objects;
    if (m.empty()) return;
    if (auto it = m.find(reinterpret_cast<uintptr_t>(object)); it != m.end()) ex_erase(it);
}

// S-VER-EX-2: the object is deleted while its memory is still there, before the free.
void ex_objects_in_freed_memory_slow(const void* block, size_t bytes, const char* what) {
    auto begin = reinterpret_cast<uintptr_t>(block), end = begin + bytes;
    std::vector<std::pair<uintptr_t, ExEntry>> found;
    {
        std::lock_guard g(state().lock);
        auto& m = state().ex_objects;
        for (auto it = m.lower_bound(begin); it != m.end() && it->first < end;) {
            found.emplace_back(*it);
            it = ex_erase(it);
        }
    }
    for (const auto& [a, e] : found) {
        std::string name = ex_name(a, e.kind, true);
        std::string driver = name_of(e.driver);
        bool deleted = ex_delete(a, e.kind);
        report(Check::ResourceOrLookasideInFreedMemory,
               fmt::format("{} frees {} bytes at {} with {} inside them, initialized by {} and not deleted: {} "
                           "would point into freed memory. {} it before the free. {}",
                           what, bytes, block, name, driver, ex_system_list(e.kind), ex_delete_api(e.kind),
                           deleted ? "ntio deletes it"
                                   : "ntio cannot delete it: a thread still owns it or waits for it"),
               {.driver_name = driver});
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

// S-PNPN-5: a registration left at unload would call into a driver whose DriverUnload has
// torn down what the callback uses; Windows keeps the driver object (and so the image) while
// it is registered, which is why the driver never really leaves.
void report_pnp_notifications(io::DriverBody* d) {
    for (const std::string& what : io::pnp::unregister_left_by(d))
        report(Check::PnpNotificationLeftAtUnload,
               fmt::format("driver {} unloaded and left {} registered; IoUnregisterPlugPlayNotificationEx it in "
                           "DriverUnload (the registration holds a reference on the driver object, so the driver "
                           "cannot really unload). ntio unregisters it",
                           narrow(d->name), what),
               {.driver = &d->driver});
}

void unloaded(io::DriverBody* d) {
    uint32_t id = d->verifier_id;
    report_pnp_notifications(d);
    // What would run the driver's code goes first, so that nothing it tears down below (its
    // devices, lookaside lists, resources) is in use by the driver's routine meanwhile.
    uintptr_t begin = 0, end = 0;
    bool alone = id && image_range(id, &begin, &end);
    if (alone) {
        report_callbacks(d, begin, end);
        report_queued_work_items(d, begin, end);
        report_running_work_items(d, begin, end);
    }
    report_devices(d);
    if (id) report_ex_objects(d, id);
    while (d->driver.DeviceObject) IoDeleteDevice(d->driver.DeviceObject);
    if (!id) return;
    report_links(d, id);
    report_threads(d, id);
    if (alone) report_timers(d, begin, end);
    if (enabled(Check::PoolLeftAtUnload)) report_pool(d, id);
    if (enabled(Check::IrpLeftAtUnload)) irps::report_left_by(id);
}

void reset() {
    std::lock_guard g(state().lock);
    state().drivers.clear();
    state().links.clear();
    for (auto it = state().ex_objects.begin(); it != state().ex_objects.end();) it = ex_erase(it);
}

}  // namespace ntio::verifier::drivers
