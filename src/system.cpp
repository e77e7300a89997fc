#include "system.hpp"
#include "trace/trace.hpp"

#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "io/iomgr.hpp"
#include "ke/objects.hpp"
#include "ke/user_access.hpp"
#include "ps/thread.hpp"
#include "win32/threadpool.hpp"
#include "verifier/drivers.hpp"
#include "verifier/faults.hpp"
#include "verifier/irp_tracker.hpp"
#include "verifier/locks.hpp"
#include "verifier/startio_watch.hpp"
#include "verifier/report.hpp"

struct _EPROCESS {
    DISPATCHER_HEADER Header;  // never signaled: the process outlives every wait in it
    uint32_t id;               // S-PS-1
};

extern "C" int __cxa_atexit(void (*func)(void*), void* arg, void* dso_handle);

namespace ntio {
namespace {

std::atomic<uint64_t> g_generation{0};
constinit std::mutex g_create_lock;
System::Impl* g_default = nullptr;  // the environment-configured runtime, never destroyed

void destroy_nothing(void*) {}

void worker_thread_main(void* context) {
    auto* s = static_cast<System::Impl*>(context);
    s->work_loop(ps::current_thread());
}

void dpc_thread_main(void* context) {
    auto* s = static_cast<System::Impl*>(context);
    s->dispatcher.dpc_loop(ps::current_thread());
}

ke::ClockMode mode_of(const Options& o) {
    return o.clock == Clock::virtual_time ? ke::ClockMode::virtual_ : ke::ClockMode::real;
}

}  // namespace


namespace ob {
ObjectType g_process_type{"Process", 0, PROCESS_ALL_ACCESS, destroy_nothing, nullptr};
}

namespace {
// An object-manager object so handles and references to it work like any other;
// it holds a permanent reference and is never signaled.
_EPROCESS* new_process(uint32_t id) {
    auto* p = ob::create<_EPROCESS>(ob::g_process_type);
    p->Header.Type = ke::kProcess;
    ntio::ke::set_signal_state(&p->Header, 0);
    InitializeListHead(&p->Header.WaitListHead);
    p->id = id;
    return p;
}
}  // namespace

_EPROCESS* process_object() {
    static _EPROCESS* process = new_process(ps::program_process_id());
    return process;
}

_EPROCESS* system_process_object() {
    static _EPROCESS* process = new_process(ps::kSystemProcessId);
    return process;
}

constinit std::atomic<System::Impl*> g_current_system{nullptr};

System::Impl& create_default_system() {
    std::lock_guard g(g_create_lock);
    if (System::Impl* s = g_current_system.load(std::memory_order_acquire)) return *s;
    try {
        g_default = new System::Impl(Options::from_environment());
    } catch (const std::invalid_argument& e) {
        // A misspelled NTIO_VERIFIER_CHECKS name must not be ignored: stop before main.
        std::fprintf(stderr, "%s\n", e.what());
        std::exit(2);
    }
    return *g_default;
}

System::Impl::Impl(const Options& o)
    : options(o), generation(g_generation.fetch_add(1) + 1), dispatcher(mode_of(o), o.wait_spin, o.stall_warning_ms), registry(dispatcher) {
    io::start_counting_irps();
    // Settings first: a bad check name throws before any thread starts. Faults before the
    // checks: IRP faults switch on the verified IoCallDriver.
    std::string error;
    verifier::Settings settings;
    if (!verifier::settings_from(o, &settings, &error)) throw std::invalid_argument("ntio: " + error);
    std::string faults = o.faults;
    if (faults.empty())
        if (const char* f = std::getenv("NTIO_FAULTS")) faults = f;
    if (!verifier::faults::configure(faults, &error)) throw std::invalid_argument("ntio: " + error);
    verifier::configure(settings);
    // The registry's seed files: NTIO_REGISTRY's after the options' (S-REG-1).
    std::vector<std::string> registry_files = o.registry_files;
    if (const char* list = std::getenv("NTIO_REGISTRY"); list && *list) {
        std::string all = list;
        for (size_t start = 0; start <= all.size();) {
            size_t end = std::min(all.find(':', start), all.size());
            if (end > start) registry_files.push_back(all.substr(start, end - start));
            start = end + 1;
        }
    }
    for (const std::string& file : registry_files)
        if (!cm::load_reg_file(registry, file, &error)) throw std::invalid_argument("ntio: registry file " + error);
    verifier::drivers::reset();
    verifier::locks::reset();
    InitializeListHead(&threads);
    trace::begin(o.trace_file);  // before the runtime's own threads start, so they are named
    KeInitializeEvent(&work_event, SynchronizationEvent, FALSE);
    if (!o.debug_log.empty()) {
        if (FILE* f = std::fopen(o.debug_log.c_str(), "w")) {
            debug_out = f;
            debug_owned = true;
        } else {
            std::fprintf(stderr, "ntio: cannot open the debug log %s (%s); DbgPrint goes to stderr\n",
                         o.debug_log.c_str(), std::strerror(errno));
        }
    }
    PsInitialSystemProcess = system_process_object();  // before a driver can look
    g_current_system.store(this, std::memory_order_release);
    // DPCs run on one runtime thread at DISPATCH_LEVEL.
    ps::StartInfo info{_KTHREAD::Entry::system, reinterpret_cast<void*>(&dpc_thread_main), this, true, false, 0};
    if (!NT_SUCCESS(ps::create_thread(*this, info, &dpc_thread)))
        throw std::runtime_error("ntio: cannot start the DPC thread");
}


void System::Impl::post_work(std::function<void()> item) {
    bool start = false;
    work_lock.lock();
    work.push_back(std::move(item));
    if (!worker && !work_stop) {
        worker = reinterpret_cast<_KTHREAD*>(1);  // claimed; the thread is started below
        start = true;
    }
    work_lock.unlock();
    if (start) {
        ps::StartInfo info{_KTHREAD::Entry::system, reinterpret_cast<void*>(&worker_thread_main), this, true, false, 0};
        _KTHREAD* t = nullptr;
        if (!NT_SUCCESS(ps::create_thread(*this, info, &t))) {
            std::fprintf(stderr, "ntio: cannot start the runtime's worker thread\n");
            std::abort();
        }
        work_lock.lock();
        worker = t;
        work_lock.unlock();
    }
    ke::set_event(&work_event);
}

void System::Impl::work_loop(_KTHREAD*) {
    for (;;) {
        work_lock.lock();
        if (work.empty()) {
            bool stop = work_stop;
            work_lock.unlock();
            if (stop) return;
            KeWaitForSingleObject(&work_event, Executive, KernelMode, FALSE, nullptr);
            continue;
        }
        std::function<void()> item = std::move(work.front());
        work.pop_front();
        ++work_running;
        work_lock.unlock();
        item();
        work_lock.lock();
        --work_running;
        work_lock.unlock();
    }
}

void System::Impl::wait_for_posted_work() {
    for (int ms = 0; ms < 5000; ++ms) {
        work_lock.lock();
        bool idle = work.empty() && work_running == 0;
        work_lock.unlock();
        if (idle) return;
        LARGE_INTEGER one_ms;
        one_ms.QuadPart = -10000;  // a wait, so that virtual time can move for the work
        KeDelayExecutionThread(KernelMode, FALSE, &one_ms);
    }
}

System::Impl::~Impl() {
    io::pnp::destroy_notifications(pnp_notifications.load());
    io::pnp::destroy(pnp.load());
    if (debug_owned) std::fclose(debug_out);
}

namespace {

// Threads the runtime started (not adopted) that have not ended yet.
std::vector<_KTHREAD*> live_created_threads(System::Impl& s) {
    std::vector<_KTHREAD*> out;
    std::lock_guard g(s.threads_lock);
    for (LIST_ENTRY* e = s.threads.Flink; e != &s.threads; e = e->Flink) {
        auto* t = CONTAINING_RECORD(e, _KTHREAD, registry_entry);
        if (!t->adopted && !t->terminated.load(std::memory_order_acquire)) out.push_back(t);
    }
    return out;
}

std::string describe_threads(const std::vector<_KTHREAD*>& threads) {
    std::string s;
    for (_KTHREAD* t : threads)
        s += fmt::format("  thread id {} (Linux tid {}, {}, start routine {})\n", t->id, t->tid.load(),
                         t->system_thread ? "system thread" : "user thread", t->start);
    return s;
}

// Requests still pending once every handle has closed: IRP_MJ_CLEANUP should have
// completed or cancelled them, so they are leaks; dumped as WinDbg's !irp would show them.
void report_pending_irps() {
    std::string dump = io::dump_pending_irps();
    if (!dump.empty())
        verifier::report(verifier::Check::IrpPendingAfterCleanup,
                         "requests still pending after every handle closed (complete or cancel them in "
                         "IRP_MJ_CLEANUP):\n" + dump);
}

// Stops the runtime's threads and closes what is left. Returns false when threads
// started by the runtime are still running: the runtime must then stay allocated.
bool shutdown(System::Impl& s) {
    // The program's thread pool runs no more callbacks: what the closes below complete
    // would otherwise call into a program that is going away.
    win32::stop_thread_pool(s);
    // As at process exit on Windows: handles close (cleanup and close reach the
    // drivers) before the drivers unload.
    s.handles.close_all();
    verifier::faults::drain();  // delayed completions land before what is still pending is judged
    s.wait_for_posted_work();   // and closes deferred to the worker (a last reference dropped in a DPC)
    report_pending_irps();
    io::unload_all_drivers();
    verifier::faults::finish();
    trace::end();
    for (const std::wstring& link : s.names.release_links())
        std::fprintf(stderr, "ntio: symbolic link %ls was left behind (IoDeleteSymbolicLink it in DriverUnload)\n",
                     link.c_str());
    s.work_lock.lock();
    s.work_stop = true;
    _KTHREAD* worker = s.worker;
    s.work_lock.unlock();
    if (worker) ke::set_event(&s.work_event);
    // Work items already queued still run; then their workers end.
    std::vector<_KTHREAD*> item_workers = s.work_items.stop();
    verifier::startio_watch::stop();  // before the DPC thread stops: no deadline is left set
    s.dispatcher.stop_dpc_thread();
    bool counted = ps::current_thread_if_known() != nullptr;
    if (counted) s.dispatcher.release_inhibit();  // let the clock move while we wait for other threads
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (s.os_threads.load(std::memory_order_acquire) > 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::vector<_KTHREAD*> live = live_created_threads(s);
    if (counted) s.dispatcher.inhibit();
    if (s.dpc_thread) {
        ps::dereference(s.dpc_thread);
        s.dpc_thread = nullptr;
    }
    if (worker) {
        ps::dereference(worker);
        s.worker = nullptr;
    }
    for (_KTHREAD* t : item_workers)
        if (t) ps::dereference(t);
    if (!live.empty() || s.os_threads.load() > 0) {
        std::fprintf(stderr,
                     "ntio: the runtime is being torn down while threads it started still run; they are left "
                     "running and the runtime is not freed:\n%s",
                     describe_threads(live).c_str());
        return false;
    }
    win32::release_thread_pool(s);
    // Adopted threads (this one, a test's std::threads) stop belonging to this runtime.
    std::vector<_KTHREAD*> adopted;
    {
        std::lock_guard g(s.threads_lock);
        for (LIST_ENTRY* e = s.threads.Flink; e != &s.threads; e = e->Flink) {
            auto* t = CONTAINING_RECORD(e, _KTHREAD, registry_entry);
            if (t->adopted && !t->terminated) adopted.push_back(t);
        }
    }
    for (_KTHREAD* t : adopted) {
        {
            ke::Dispatcher::Guard g(s.dispatcher);
            t->terminated = true;
            ntio::ke::set_signal_state(&t->Header, 1);
            s.dispatcher.wait_test_locked(&t->Header);
        }
        ps::dereference(t);  // the OS thread's reference
    }
    return true;
}

}  // namespace

// ---- ntio::System ------------------------------------------------------------------

Options Options::from_environment() {
    Options o;
    if (const char* c = std::getenv("NTIO_CLOCK")) {
        if (std::strcmp(c, "virtual") == 0) o.clock = Clock::virtual_time;
        else if (std::strcmp(c, "real") == 0) o.clock = Clock::real;
        else std::fprintf(stderr, "ntio: NTIO_CLOCK=%s is not 'virtual' or 'real'; using the real clock\n", c);
    }
    if (const char* f = std::getenv("NTIO_DBGPRINT_FILE")) o.debug_log = f;
    if (const char* t = std::getenv("NTIO_TRACE")) o.trace_file = t;
    if (const char* q = std::getenv("NTIO_DBGPRINT")) o.debug_quiet = std::strcmp(q, "off") == 0;
    if (const char* w = std::getenv("NTIO_WAIT_SPIN")) o.wait_spin = std::atoi(w);
    if (const char* w = std::getenv("NTIO_STALL_WARNING_MS")) o.stall_warning_ms = std::atoi(w);
    if (const char* v = std::getenv("NTIO_VERIFIER")) o.verifier = v;
    if (const char* v = std::getenv("NTIO_VERIFIER_CHECKS")) o.verifier_checks = v;
    if (const char* v = std::getenv("NTIO_FAULTS")) o.faults = v;
    if (const char* v = std::getenv("NTIO_VERIFIER_STARTIO_MS")) o.startio_stall_ms = std::atoi(v);
    return o;
}

System::System(const Options& options) {
    std::lock_guard g(g_create_lock);
    if (g_current_system.load())
        throw std::logic_error(g_current_system.load() == g_default
                                   ? "ntio::System: a default runtime already exists (a Windows API was called before "
                                     "this System was created); create the System first"
                                   : "ntio::System: only one System may exist at a time");
    m_impl = new Impl(options);
    ps::current_thread();  // the creating thread is managed from now on
}

System::~System() {
    std::string report = leak_report();
    if (!report.empty()) std::fprintf(stderr, "ntio: at teardown:\n%s", report.c_str());
    bool freeable = shutdown(*m_impl);
    m_impl->handles.close_all();
    // The freed IRPs the verifier kept poisoned go back now that nothing can run.
    if (freeable) verifier::irps::reset();
    std::lock_guard g(g_create_lock);
    g_current_system.store(nullptr, std::memory_order_release);
    if (freeable) delete m_impl;
}

bool System::exists() { return g_current_system.load() != nullptr; }

Clock System::clock() const { return m_impl->options.clock; }

std::chrono::nanoseconds System::now() const {
    return std::chrono::nanoseconds((m_impl->dispatcher.now() - m_impl->dispatcher.interrupt_origin()) * 100);
}

void System::pause() { m_impl->dispatcher.set_auto_advance(false); }
void System::resume() { m_impl->dispatcher.set_auto_advance(true); }

void System::advance(std::chrono::nanoseconds delta) { m_impl->dispatcher.advance(delta.count() / 100); }

size_t System::run_until_idle() {
    if (!m_impl->dispatcher.is_virtual())
        throw std::logic_error("ntio: run_until_idle() needs the virtual clock (Options::clock)");
    return m_impl->dispatcher.run_until_idle(ps::current_thread());
}

int System::running_threads() const { return m_impl->dispatcher.running(); }

std::vector<PoolTagUsage> System::pool_usage() const { return m_impl->pool.usage(); }
std::vector<std::string> System::error_log() const {
    std::lock_guard g(m_impl->error_log_lock);
    return m_impl->error_log;
}
size_t System::open_handles() const { return m_impl->handles.count(); }

int32_t System::load_driver(const std::string& path) { return io::load_driver(path, 0, nullptr); }

int32_t System::load_driver(const std::string& name, DriverEntryFunction entry) {
    return io::load_driver_entry(std::wstring(name.begin(), name.end()), reinterpret_cast<PDRIVER_INITIALIZE>(entry), 0,
                                 nullptr);
}

namespace {
bool instances_valid(int instances, const std::string& what) {
    if (instances >= 1) return true;
    std::fprintf(stderr, "ntio: %d instances asked for %s; a PnP driver has at least 1 device instance\n", instances,
                 what.c_str());
    return false;
}
}  // namespace

int32_t System::load_driver(const std::string& path, int instances) {
    if (!instances_valid(instances, path)) return STATUS_INVALID_PARAMETER;
    return io::load_driver(path, instances, nullptr);
}

int32_t System::load_driver(const std::string& name, DriverEntryFunction entry, int instances) {
    if (!instances_valid(instances, name)) return STATUS_INVALID_PARAMETER;
    return io::load_driver_entry(std::wstring(name.begin(), name.end()), reinterpret_cast<PDRIVER_INITIALIZE>(entry),
                                 instances, nullptr);
}

std::vector<std::string> System::device_instances() const {
    std::vector<std::string> out;
    for (const std::wstring& id : io::pnp::present_instances()) out.emplace_back(id.begin(), id.end());
    return out;
}

int32_t System::remove_device(const std::string& instance_id, bool surprise) {
    return io::pnp::remove_device(std::wstring(instance_id.begin(), instance_id.end()), surprise);
}

bool System::unload_driver(const std::string& name) {
    std::wstring full = L"\\Driver\\" + std::wstring(name.begin(), name.end());
    io::DriverBody* found = nullptr;
    {
        std::lock_guard g(m_impl->drivers_lock);
        for (auto it = m_impl->drivers.begin(); it != m_impl->drivers.end(); ++it)
            if ((*it)->name == full) {
                found = *it;
                m_impl->drivers.erase(it);
                break;
            }
    }
    if (!found) return false;
    io::unload_driver(found);
    ob::dereference(found);
    return true;
}

int64_t System::live_irps() const { return io::live_irps(); }

std::string System::leak_report() const {
    std::string r;
    for (const PoolTagUsage& u : m_impl->pool.usage())
        r += fmt::format("  pool tag '{}' ({:#010x}): {} allocation(s), {} byte(s) not freed\n", u.tag_text, u.tag,
                         u.allocations, u.bytes);
    if (size_t n = m_impl->handles.count()) r += fmt::format("  {} handle(s) still open\n", n);
    if (int64_t n = io::live_irps()) r += fmt::format("  {} IRP(s) not completed or freed\n", n);
    return r;
}

std::string System::pending_irp_report() const { return io::dump_pending_irps(); }

std::string System::device_stack_report(const std::wstring& device_name) const {
    void* object = m_impl->names.lookup_referenced(device_name);
    if (!object) return {};
    std::string r = ob::type_of(object) == &io::g_device_type
                        ? io::dump_device_stack(static_cast<DEVICE_OBJECT*>(object))
                        : std::string();
    ob::dereference(object);
    return r;
}

uint64_t driver_bug_count() { return verifier::bug_count(); }
uint64_t driver_warning_count() { return verifier::warning_count(); }

ClockInhibit::ClockInhibit() { sys().dispatcher.inhibit(); }
ClockInhibit::~ClockInhibit() { sys().dispatcher.release_inhibit(); }

ExternalWait::ExternalWait() {
    ps::current_thread();
    sys().dispatcher.release_inhibit();
}
ExternalWait::~ExternalWait() { sys().dispatcher.inhibit(); }

// An NTIO_DRIVERS entry is PATH or PATH=N (N device instances of a PnP driver): the
// count is a run of digits after the last '=' (so a path that itself ends in "=digits"
// cannot be named; ntio run refuses one). False for a count out of range.
static bool driver_entry_instances(std::string* entry, int* instances) {
    *instances = 0;
    size_t eq = entry->rfind('=');
    if (eq == std::string::npos || eq + 1 == entry->size()) return true;
    std::string count = entry->substr(eq + 1);
    if (count.find_first_not_of("0123456789") != std::string::npos) return true;  // part of the path
    entry->resize(eq);
    if (count.size() > 4) return false;
    *instances = std::stoi(count);
    return *instances >= 1;
}

// The exit status of a run whose required driver did not load: 125, as tools that run
// a command (env, timeout, git bisect run) use for a failure of their own, so that it
// is not mistaken for the program's.
constexpr int kDriverLoadFailedExit = 125;

// The drivers' exit handler is registered (it reports the pool once they unloaded, so
// report_at_exit does not): set when registered, and never cleared.
std::atomic<bool> g_unload_at_exit_pending{false};

static void report_pool_at_exit() {
    System::Impl* s = g_current_system.load();
    if (!s || s != g_default) return;
    std::string r;
    for (const PoolTagUsage& u : s->pool.usage())
        r += fmt::format("  pool tag '{}' ({:#010x}): {} allocation(s), {} byte(s) not freed\n", u.tag_text, u.tag,
                         u.allocations, u.bytes);
    if (!r.empty()) std::fprintf(stderr, "ntio: at exit:\n%s", r.c_str());
}

// The environment runtime's drivers unload at process exit, after its handles closed.
// Registered when the first driver loads: before main for NTIO_DRIVERS, or when the
// program starts a driver service (S-SCM-6).
static void unload_at_exit(void*) {
    // Windows ends a process's threads when it exits, which cancels their
    // requests (S-CAN-12), then closes its handles, so drivers see their
    // cleanup and close before they unload. Its other threads do not get
    // back to their code (ps::begin_program_exit).
    ps::begin_program_exit();
    ps::cancel_program_io(sys());
    if (size_t n = sys().handles.close_all())
        std::fprintf(stderr, "ntio: the program left %zu handle(s) open; closed at exit\n", n);
    verifier::faults::drain();
    sys().wait_for_posted_work();  // closes deferred to the worker, as in shutdown
    report_pending_irps();
    io::unload_all_drivers();
    verifier::faults::finish();
    trace::end();
    report_pool_at_exit();
}

void unload_drivers_at_exit() {
    System::Impl* s = sys_if_exists();
    if (!s || s != g_default) return;  // a System object unloads its drivers when it ends
    static std::once_flag once;
    std::call_once(once, [] {
        // A process-level exit handler (no DSO handle): it runs in exit() on the main
        // thread with the runtime intact. Registered by a library constructor, glibc
        // runs it after the libraries' destructors (see report_at_exit), which is why
        // those do nothing the drivers still need; registered from main, before them.
        __cxa_atexit(unload_at_exit, nullptr, nullptr);
        g_unload_at_exit_pending.store(true);
    });
}

// Programs started by `ntio run` (or with NTIO_CLOCK set) get their runtime before
// main(), so the main thread is managed from its first instruction.
__attribute__((constructor)) static void start_from_environment() {
    if (!std::getenv("NTIO_RUN") && !std::getenv("NTIO_CLOCK") && !std::getenv("NTIO_DRIVERS")) return;
    // A DriverEntry may probe memory (MmIsAddressValid, ProbeForRead in a __try) before
    // ke/user_access.cpp's own constructor, which may run after this one, installs them.
    ke::install_fault_handlers();
    sys();
    ps::current_thread();
    // NTIO_DRIVERS=a.so=2:b.so: loaded in order before main (a PnP driver with its
    // devices started), unloaded in reverse at exit.
    if (const char* list = std::getenv("NTIO_DRIVERS"); list && *list) {
        // A driver that cannot load is reported and the program runs without it, as a
        // Windows program runs when a service fails to start; NTIO_REQUIRE_DRIVERS=1
        // (ntio run --require-drivers) makes that the end of the run instead.
        const char* require = std::getenv("NTIO_REQUIRE_DRIVERS");
        bool required = require && *require && std::strcmp(require, "0") != 0;
        std::string failed;  // the first driver that did not load, when they are required
        std::string all = list;
        size_t start = 0;
        // One group: reinitialization routines run once all of them loaded (S-DRVX-3).
        io::begin_driver_group();
        while (start <= all.size() && failed.empty()) {
            size_t end = all.find(':', start);
            std::string path = all.substr(start, end == std::string::npos ? std::string::npos : end - start);
            int instances = 0;
            if (!driver_entry_instances(&path, &instances)) {
                std::fprintf(stderr,
                             "ntio: NTIO_DRIVERS entry for %s: the device count after '=' must be from 1 to 9999 "
                             "(PATH=N, e.g. echo.so=2); the driver is not loaded\n",
                             path.c_str());
                if (required) failed = path;
            } else if (!path.empty()) {
                if (!NT_SUCCESS(io::load_driver(path, instances, nullptr)) && required) failed = path;
            }
            if (end == std::string::npos) break;
            start = end + 1;
        }
        io::end_driver_group();
        unload_drivers_at_exit();
        if (!failed.empty()) {
            // The drivers that did load unload through the handler above, in reverse,
            // with their report; the program's main never runs.
            std::fprintf(stderr,
                         "ntio: the driver %s did not load and drivers are required (--require-drivers, "
                         "NTIO_REQUIRE_DRIVERS): the program does not run; exit status %d\n",
                         failed.c_str(), kDriverLoadFailedExit);
            std::exit(kDriverLoadFailedExit);
        }
    }
}

// glibc runs library destructors (this one included) before an exit handler that a
// library constructor registered, since those run before the loader registers its own:
// with drivers loaded the pool is reported by the handler, once they have unloaded (a
// PnP driver frees its interface name at IRP_MN_REMOVE_DEVICE, for one).
__attribute__((destructor)) static void report_at_exit() {
    if (!g_unload_at_exit_pending.load()) report_pool_at_exit();
}

}  // namespace ntio

extern "C" {
static POBJECT_TYPE g_process_type_ptr = &ntio::ob::g_process_type;
POBJECT_TYPE* PsProcessType = &g_process_type_ptr;
PEPROCESS PsInitialSystemProcess = nullptr;  // set as a runtime starts, before any driver loads
// S-PS-1: the System process on a system thread, the program's on the program's threads.
PEPROCESS PsGetCurrentProcess(VOID) { return ntio::ps::current_process(); }
HANDLE PsGetProcessId(PEPROCESS Process) {
    if (Process != ntio::process_object() && Process != ntio::system_process_object()) {
        ntio::verifier::report(ntio::verifier::Check::InvalidParameter,
                               fmt::format("PsGetProcessId({}): not a process object (ntio has two: the "
                                           "program's and the System process)",
                                           static_cast<void*>(Process)));
        return nullptr;
    }
    return reinterpret_cast<HANDLE>(static_cast<uintptr_t>(Process->id));
}
}
