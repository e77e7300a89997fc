// Driver-bug reports. A DRIVER BUG (nt-io-semantics.md) is reported under its check
// (verifier/checks.def): the rule Windows would stop with, the object it concerns (IRP,
// device, driver), that IRP's last state transitions when IRPs are tracked, the call
// site the compat macros captured, and the setting that changes the check. Each check
// is off, report (print, count, go on) or fail (stop; a test's handler fails the test).
#pragma once
#include <atomic>
#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "ke/spin.hpp"
#include "verifier/checks.hpp"
#include "wdm.h"

namespace ntio {
struct Options;
}

namespace ntio::verifier {

// The current action of every check (an Action), read on each check.
extern std::atomic<uint8_t> g_actions[kCheckCount];
inline Action action(Check c) {
    return static_cast<Action>(g_actions[static_cast<size_t>(c)].load(std::memory_order_relaxed));
}
inline bool enabled(Check c) { return action(c) != Action::off; }

// Installs `s` (the runtime being created does; tests may change it later).
void configure(const Settings& s);
Settings current_settings();
// The settings a runtime's Options ask for; an empty option takes its environment
// variable (NTIO_VERIFIER, NTIO_VERIFIER_CHECKS). False, with *error, for a bad value.
bool settings_from(const Options& options, Settings* out, std::string* error);

// What a report is about. Unset fields are found from the others where possible: the
// IRP's current device, the device's driver.
struct Subject {
    IRP* irp = nullptr;
    DEVICE_OBJECT* device = nullptr;
    DRIVER_OBJECT* driver = nullptr;
    uint64_t irp_id = 0;       // when the IRP itself may be gone
    std::string driver_name{};  // when the driver object may be gone
    std::string device_name{};  // when the device object may be gone
    std::string history{};      // the IRP's history, rendered while its record was at hand
};

// Reports a finding of check `c` (nothing when the check is off).
void report(Check c, const std::string& message, const Subject& subject = {});

uint64_t bug_count();
uint64_t warning_count();
void reset_counts();

// The driver source line of the call being checked, captured by the compat macros
// (IoCompleteRequest, IoCallDriver, KeReleaseSpinLock, ...) through the Ntio*At entry
// points; reports quote it.
// Two words, so that saving and restoring it around every call costs four moves.
enum class Api : uint32_t {
    none, IoCallDriver, IoCompleteRequest, IoMarkIrpPending, KeAcquireSpinLock, KeReleaseSpinLock,
    KeAcquireSpinLockAtDpcLevel, KeReleaseSpinLockFromDpcLevel, KeWaitForSingleObject, KeWaitForMultipleObjects,
    KeDelayExecutionThread, ASSERT, IoCopyCurrentIrpStackLocationToNext, IoSetCompletionRoutine
};
const char* api_name(Api api);
struct CallSite {
    const char* file = nullptr;
    uint32_t line = 0;
    Api api = Api::none;
};
// constinit: no dynamic initialization, so other files read it without a TLS wrapper call.
extern constinit thread_local CallSite t_call_site;
// Sets the call site for the duration of one API call (nested calls restore it).
class CallSiteScope {
public:
    CallSiteScope(const char* file, unsigned line, Api api) : m_saved(t_call_site) {
        t_call_site = {file, line, api};
    }
    ~CallSiteScope() { t_call_site = m_saved; }
    CallSiteScope(const CallSiteScope&) = delete;
    CallSiteScope& operator=(const CallSiteScope&) = delete;

private:
    CallSite m_saved;
};
// A CallSiteScope when `file` is known; otherwise the thread's call site stays as it
// is (a routine called by its plain name inside a driver's call reports that call).
class CallSiteIfKnown {
public:
    CallSiteIfKnown(const char* file, unsigned line, Api api) : m_set(file != nullptr) {
        if (!m_set) return;
        m_saved = t_call_site;
        t_call_site = {file, line, api};
    }
    ~CallSiteIfKnown() {
        if (m_set) t_call_site = m_saved;
    }
    CallSiteIfKnown(const CallSiteIfKnown&) = delete;
    CallSiteIfKnown& operator=(const CallSiteIfKnown&) = delete;

private:
    bool m_set;
    CallSite m_saved;
};

// S-KE-3: reports when the caller's IRQL is above `max_irql`.
void irql_too_high(KIRQL max_irql, const char* api);
inline void check_irql_at_most(KIRQL max_irql, const char* api) {
    if (ke::t_irql > max_irql) [[unlikely]]
        irql_too_high(max_irql, api);
}

}  // namespace ntio::verifier
