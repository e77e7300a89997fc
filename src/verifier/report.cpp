#include "verifier/report.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <stdexcept>

#include "io/iomgr.hpp"
#include "ntio/ntio.hpp"
#include "system.hpp"
#include "trace/trace.hpp"
#include "verifier/drivers.hpp"
#include "verifier/faults.hpp"
#include "verifier/hooks.hpp"
#include "verifier/irp_tracker.hpp"
#include "verifier/startio_watch.hpp"

namespace ntio::verifier {

// Until a runtime configures them (System::Impl, from its Options), the checks act
// as with NTIO_VERIFIER=report: constant-initialized, so that no initialization order
// between the library's files can leave them off.
#define on static_cast<uint8_t>(Action::report)
#define off static_cast<uint8_t>(Action::off)
#define NTIO_CHECK(name, bugcheck, code, kind, on_by_default, summary) {on_by_default},
constinit std::atomic<uint8_t> g_actions[kCheckCount] = {
#include "verifier/checks.def"
};
#undef NTIO_CHECK
#undef on
#undef off
constinit HookFlags g_hooks;
constinit std::atomic<uint8_t> g_irp_watchers{0};
constinit thread_local CallSite t_call_site;

namespace {

std::atomic<uint64_t> g_bugs{0}, g_warnings{0};
std::atomic<uint8_t> g_mode{static_cast<uint8_t>(Action::report)};

// The handler a test installs (ntio/gtest.hpp). A copy is called outside the lock.
std::mutex& handler_lock() {
    static auto* m = new std::mutex();
    return *m;
}
VerifierReportHandler& handler() {
    static auto* h = new VerifierReportHandler();
    return *h;
}

const char* action_text(Action a) {
    switch (a) {
    case Action::off: return "off";
    case Action::report: return "report";
    case Action::fail: return "fail";
    }
    return "?";
}

std::string narrow(const UNICODE_STRING& s) {
    std::string out;
    for (USHORT i = 0; i < s.Length / sizeof(WCHAR); ++i) out += s.Buffer[i] < 0x80 ? static_cast<char>(s.Buffer[i]) : '?';
    return out;
}

// The IRP's current device, when the IRP is alive and a driver holds a location.
DEVICE_OBJECT* current_device(IRP* irp) {
    if (!irp->NtioPrivate || io::header_of(irp)->magic != 0x50524949) return nullptr;
    if (irp->CurrentLocation < 1 || irp->CurrentLocation > irp->StackCount) return nullptr;
    return IoGetCurrentIrpStackLocation(irp)->DeviceObject;
}

}  // namespace

void configure(const Settings& s) {
    g_mode.store(static_cast<uint8_t>(s.mode), std::memory_order_relaxed);
    for (size_t i = 0; i < kCheckCount; ++i) g_actions[i].store(static_cast<uint8_t>(s.actions[i]), std::memory_order_relaxed);
    auto on = [&](Check c) { return s.actions[static_cast<size_t>(c)] != Action::off; };
    g_hooks.irps.store(on(Check::IrpUsedAfterFree) || on(Check::ReturnedPendingNotMarked) ||
                           on(Check::MarkedPendingNotReturned) || on(Check::IrpLeftAtUnload) ||
                           on(Check::StartIoStalled) ||  // the watchdog learns of completions there
                           faults::io_faults_on(),
                       std::memory_order_relaxed);
    // The compat headers' IoMarkIrpPending then notes the call in the IRP's history.
    __atomic_store_n(&NtioVerifierTracksIrps, g_hooks.irps.load() ? 1 : 0, __ATOMIC_RELAXED);
    set_irp_watcher(kWatchIrps, irp_hooks());
    g_hooks.locks.store(on(Check::LockOrderInversion) || on(Check::SpinLockReleaseIrql), std::memory_order_relaxed);
    g_hooks.pool_owners.store(on(Check::PoolLeftAtUnload), std::memory_order_relaxed);
    g_hooks.startio.store(on(Check::StartIoStalled), std::memory_order_relaxed);
    bool any = false;
    for (size_t i = 0; i < kCheckCount; ++i) any |= s.actions[i] != Action::off;
    g_hooks.call_sites.store(any, std::memory_order_relaxed);
}

bool settings_from(const Options& options, Settings* out, std::string* error) {
    std::string mode_text = options.verifier, checks = options.verifier_checks;
    if (mode_text.empty())
        if (const char* v = std::getenv("NTIO_VERIFIER")) mode_text = v;
    if (checks.empty())
        if (const char* v = std::getenv("NTIO_VERIFIER_CHECKS")) checks = v;
    Action mode = Action::report;
    if (!mode_text.empty() && !parse_mode(mode_text, &mode, error)) return false;
    Settings s = default_settings(mode);
    if (!apply_checks(checks, s, error)) return false;
    *out = s;
    int bound = options.startio_stall_ms;
    if (!bound)
        if (const char* v = std::getenv("NTIO_VERIFIER_STARTIO_MS")) bound = std::atoi(v);
    startio_watch::set_bound_ms(bound);
    return true;
}

Settings current_settings() {
    Settings s;
    s.mode = static_cast<Action>(g_mode.load(std::memory_order_relaxed));
    for (size_t i = 0; i < kCheckCount; ++i) s.actions[i] = static_cast<Action>(g_actions[i].load(std::memory_order_relaxed));
    return s;
}

void report(Check c, const std::string& message, const Subject& subject) {
    Action act = action(c);
    if (act == Action::off) return;
    const CheckInfo& ci = info(c);
    bool warning = ci.kind == Kind::warning;
    (warning ? g_warnings : g_bugs).fetch_add(1, std::memory_order_relaxed);

    VerifierReport r;
    r.check = ci.name;
    r.bugcheck = ci.bugcheck;
    r.warning = warning;
    r.fail = act == Action::fail;
    r.message = message;
    IRP* irp = subject.irp;
    r.irp = subject.irp_id ? subject.irp_id : irp ? irps::id_of(irp) : 0;
    DEVICE_OBJECT* device = subject.device ? subject.device : irp ? current_device(irp) : nullptr;
    if (device) r.device = io::device_label(device);
    else if (!subject.device_name.empty()) r.device = subject.device_name;
    else if (irp) r.device = irps::last_device(irp);  // a freed IRP: where it last went
    DRIVER_OBJECT* driver = subject.driver ? subject.driver : device ? device->DriverObject : nullptr;
    if (driver) r.driver = narrow(driver->DriverName);
    else if (!subject.driver_name.empty()) r.driver = subject.driver_name;
    else r.driver = drivers::name_of(drivers::t_current);  // the driver whose code is running
    if (t_call_site.file) r.call_site = fmt::format("{}:{}", t_call_site.file, t_call_site.line);

    // The first line keeps the form tools and tests grep for: "DRIVER BUG <rule>".
    std::string head = *ci.bugcheck ? ci.bugcheck : ci.name;
    std::string tags;
    if (ci.code) tags = fmt::format("0x{:X}", ci.code);
    if (*ci.bugcheck && std::strcmp(ci.bugcheck, ci.name) != 0) tags += (tags.empty() ? "" : ", ") + std::string("check ") + ci.name;
    r.text = fmt::format("ntio: {} {}{}: {}\n", warning ? "driver warning" : "DRIVER BUG", head,
                         tags.empty() ? "" : " (" + tags + ")", message);
    std::string object;
    if (r.irp) object += fmt::format("IRP #{}", r.irp);
    if (!r.device.empty()) object += (object.empty() ? "" : ", ") + std::string("device ") + r.device;
    if (!r.driver.empty()) object += (object.empty() ? "" : ", ") + std::string("driver ") + r.driver;
    if (!object.empty()) r.text += "  object: " + object + "\n";
    if (!r.call_site.empty())
        r.text += fmt::format("  at {} ({})\n", r.call_site, api_name(t_call_site.api));
    r.text += !subject.history.empty() ? subject.history : irp ? irps::history(irp) : std::string();
    std::string faults = faults::settings_text();
    if (!faults.empty()) r.text += "  fault injection is on; NTIO_FAULTS=" + faults + " replays this run\n";
    r.text += fmt::format("  this check is set to {}; change it with NTIO_VERIFIER_CHECKS={}=off|report|fail "
                          "(ntio run --verifier-checks {}=...)\n",
                          action_text(act), ci.name, ci.name);

    if (trace::enabled()) [[unlikely]]
        trace::verifier_event(ci.name, message, r.irp);

    VerifierReportHandler h;
    {
        std::lock_guard g(handler_lock());
        h = handler();
    }
    if (h && h(r)) return;
    std::fputs(r.text.c_str(), stderr);
    if (act == Action::fail) {
        std::fprintf(stderr, "ntio: stopping: %s is set to fail (NTIO_VERIFIER=fail or NTIO_VERIFIER_CHECKS=%s=fail); "
                             "set it to report to print and go on\n",
                     ci.name, ci.name);
        std::fflush(stderr);
        std::abort();
    }
}

const char* api_name(Api api) {
    switch (api) {
    case Api::none: return "call";
    case Api::IoCallDriver: return "IoCallDriver";
    case Api::IoCompleteRequest: return "IoCompleteRequest";
    case Api::IoMarkIrpPending: return "IoMarkIrpPending";
    case Api::KeAcquireSpinLock: return "KeAcquireSpinLock";
    case Api::KeReleaseSpinLock: return "KeReleaseSpinLock";
    case Api::KeAcquireSpinLockAtDpcLevel: return "KeAcquireSpinLockAtDpcLevel";
    case Api::KeReleaseSpinLockFromDpcLevel: return "KeReleaseSpinLockFromDpcLevel";
    case Api::KeWaitForSingleObject: return "KeWaitForSingleObject";
    case Api::KeWaitForMultipleObjects: return "KeWaitForMultipleObjects";
    case Api::KeDelayExecutionThread: return "KeDelayExecutionThread";
    case Api::ASSERT: return "ASSERT";
    case Api::IoCopyCurrentIrpStackLocationToNext: return "IoCopyCurrentIrpStackLocationToNext";
    case Api::IoSetCompletionRoutine: return "IoSetCompletionRoutine";
    }
    return "call";
}

uint64_t bug_count() { return g_bugs.load(); }
uint64_t warning_count() { return g_warnings.load(); }
void reset_counts() {
    g_bugs = 0;
    g_warnings = 0;
}

void irql_too_high(KIRQL max_irql, const char* api) {
    KIRQL irql = KeGetCurrentIrql();
    report(Check::IRQL_NOT_LESS_OR_EQUAL,
           fmt::format("{} called at IRQL {} (maximum {}); lower the IRQL first or move the call to a "
                       "PASSIVE_LEVEL thread or work item",
                       api, irql, max_irql));
}

}  // namespace ntio::verifier

// ---- the public API (ntio.hpp) ------------------------------------------------------------

namespace ntio {

void set_verifier_report_handler(VerifierReportHandler h) {
    std::lock_guard g(verifier::handler_lock());
    verifier::handler() = std::move(h);
}

void set_verifier_checks(const std::string& list) {
    verifier::Settings s = verifier::current_settings();
    std::string error;
    if (!verifier::apply_checks(list, s, &error)) throw std::invalid_argument("ntio: " + error);
    verifier::configure(s);
}

std::vector<std::string> verifier_check_names() {
    std::vector<std::string> out;
    for (const auto& c : verifier::kChecks) out.emplace_back(c.name);
    return out;
}

}  // namespace ntio

extern "C" {
unsigned char NtioVerifierTracksIrps = 0;
}
