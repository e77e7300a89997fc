#include "verifier/faults.hpp"

#include <dlfcn.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <vector>

#include "ex/pool.hpp"
#include "io/iomgr.hpp"
#include "ps/thread.hpp"
#include "system.hpp"
#include "trace/trace.hpp"
#include "verifier/hooks.hpp"
#include "verifier/report.hpp"

namespace ntio::verifier::faults {
namespace {

enum Kind : uint32_t { pool, irp, mdl, pending, delay, cancel, kinds };
const char* const kKindNames[kinds] = {"pool", "irp", "mdl", "pending", "delay", "cancel"};

// When a kind fires: with probability p, or on the listed ordinals.
struct Rule {
    double p = 0;
    std::vector<uint64_t> ordinals;
    std::string text;  // as given, for settings_text()
    bool on() const { return p > 0 || !ordinals.empty(); }
};

struct Settings {
    uint64_t seed = 0;
    Rule rules[kinds];
    uint32_t delay_ms = 10, cancel_ms = 10;
    std::vector<uint32_t> tags;  // pool faults only for these tags (empty: all)
    std::string tags_text;
    bool scope_all = false;
    bool log = false;
};

// Never destroyed: drivers allocate in exit handlers that run after static destructors.
struct State {
    std::mutex lock;
    Settings settings;
    bool active = false;
    std::map<std::pair<uint32_t, uint64_t>, uint64_t> ordinals;  // (kind, key) -> calls seen
    uint64_t injected[kinds] = {};
};
State& state() {
    static State* s = new State();
    return *s;
}
std::atomic<bool> g_io_faults{false};
std::atomic<int> g_outstanding{0};  // delayed completions and cancels not yet run

uint64_t mix(uint64_t x) {  // splitmix64's finalizer
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

// A number in [0, 1) fixed by the seed, the kind, the key and the call's ordinal.
double draw(uint64_t seed, uint32_t kind, uint64_t key, uint64_t ordinal, uint64_t salt = 0) {
    uint64_t h = mix(seed ^ mix(kind + 1) ^ mix(key * 31 + 7) ^ mix(ordinal * 131 + 3) ^ mix(salt));
    return static_cast<double>(h >> 11) * 0x1.0p-53;
}

// Whether this call of `kind` (for `key`) is to fail; *ordinal gets its number.
bool decide(uint32_t kind, uint64_t key, uint64_t* ordinal = nullptr, double* extra = nullptr) {
    State& s = state();
    std::lock_guard g(s.lock);
    if (!s.active) return false;
    const Rule& r = s.settings.rules[kind];
    if (!r.on()) return false;
    uint64_t n = ++s.ordinals[{kind, key}];
    if (ordinal) *ordinal = n;
    bool fire = false;
    if (!r.ordinals.empty()) {
        for (uint64_t o : r.ordinals) fire |= o == n;
    } else {
        fire = draw(s.settings.seed, kind, key, n) < r.p;
    }
    if (extra) *extra = draw(s.settings.seed, kind, key, n, 1);
    if (fire) s.injected[kind]++;
    return fire;
}

bool logging() {
    State& s = state();
    std::lock_guard g(s.lock);
    return s.settings.log;
}

void note_injection(const std::string& what) {
    if (logging()) std::fprintf(stderr, "ntio: fault injected: %s\n", what.c_str());
    if (trace::enabled()) trace::verifier_event("fault", what, 0);
}

// Calls from the runtime itself (its own buffers, MDLs and IRPs) are not failed.
bool from_runtime(const void* caller) {
    static const void* runtime_base = [] {
        Dl_info info;
        return dladdr(reinterpret_cast<const void*>(&from_runtime), &info) ? info.dli_fbase : nullptr;
    }();
    Dl_info info;
    return caller && dladdr(caller, &info) && info.dli_fbase == runtime_base;
}

bool parse_rule(const std::string& value, Rule* r, std::string* error) {
    r->text = value;
    if (!value.empty() && value[0] == '#') {
        size_t pos = 0;
        while (pos < value.size()) {
            size_t bar = value.find('|', pos);
            std::string item = value.substr(pos, bar == std::string::npos ? std::string::npos : bar - pos);
            char* end = nullptr;
            unsigned long long n = item.size() > 1 && item[0] == '#' ? std::strtoull(item.c_str() + 1, &end, 10) : 0;
            if (!n || *end) {
                *error = "'" + value + "' is not a list of call numbers (#3 or #2|#5)";
                return false;
            }
            r->ordinals.push_back(n);
            if (bar == std::string::npos) break;
            pos = bar + 1;
        }
        return true;
    }
    char* end = nullptr;
    r->p = std::strtod(value.c_str(), &end);
    if (value.empty() || *end || r->p < 0 || r->p > 1) {
        *error = "'" + value + "' is not a probability from 0 to 1, or #N";
        return false;
    }
    return true;
}

uint32_t tag_of(const std::string& text) {
    uint32_t tag = 0;
    for (size_t i = 0; i < 4; ++i) tag |= uint32_t(static_cast<unsigned char>(i < text.size() ? text[i] : ' ')) << (8 * i);
    return tag;
}

struct Delayed {
    KTIMER timer;
    KDPC dpc;
    IRP* irp;
    CCHAR boost;
    _KTHREAD* issuer;
    uint64_t irp_id;
};

void run_delayed_completion(PKDPC, PVOID context, PVOID, PVOID) {
    auto* d = static_cast<Delayed*>(context);
    IofCompleteRequest(d->irp, d->boost);
    delete d;  // the timer fired once and its DPC is running: neither is queued any more
    g_outstanding.fetch_sub(1);
}

void run_cancel(PKDPC, PVOID context, PVOID, PVOID) {
    auto* d = static_cast<Delayed*>(context);
    io::cancel_request(d->issuer, d->irp_id);
    ps::dereference(d->issuer);
    delete d;
    g_outstanding.fetch_sub(1);
}

// The device's part of a decision's key: its name, not its creation number, so that the
// same seed makes the same choices in every runtime a process creates.
uint64_t device_key(DEVICE_OBJECT* device) {
    uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a
    for (char c : io::device_label(device)) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
    return h;
}

void schedule(Delayed* d, PKDEFERRED_ROUTINE routine, uint32_t ms) {
    g_outstanding.fetch_add(1);
    KeInitializeTimer(&d->timer);
    KeInitializeDpc(&d->dpc, routine, d);
    LARGE_INTEGER due;
    due.QuadPart = -10000LL * ms;
    if (!due.QuadPart) due.QuadPart = -1;
    KeSetTimer(&d->timer, due, &d->dpc);
}

}  // namespace

bool configure(const std::string& spec, std::string* error) {
    Settings s;
    bool seeded = false, any = false;
    size_t pos = 0;
    while (pos <= spec.size() && !spec.empty()) {
        size_t comma = spec.find(',', pos);
        std::string item = spec.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        pos = comma == std::string::npos ? spec.size() + 1 : comma + 1;
        if (item.empty()) continue;
        size_t eq = item.find('=');
        std::string key = item.substr(0, eq), value = eq == std::string::npos ? "" : item.substr(eq + 1);
        bool ok = true;
        std::string why;
        char* end = nullptr;
        if (key == "seed") {
            s.seed = std::strtoull(value.c_str(), &end, 10);
            ok = !value.empty() && !*end;
            seeded = true;
            why = "a number";
        } else if (key == "delay_ms" || key == "cancel_ms") {
            unsigned long v = std::strtoul(value.c_str(), &end, 10);
            ok = !value.empty() && !*end && v <= 600000;
            (key == "delay_ms" ? s.delay_ms : s.cancel_ms) = static_cast<uint32_t>(v);
            why = "milliseconds";
        } else if (key == "tags") {
            s.tags_text = value;
            size_t p = 0;
            while (p <= value.size()) {
                size_t bar = value.find('|', p);
                std::string t = value.substr(p, bar == std::string::npos ? std::string::npos : bar - p);
                ok &= !t.empty() && t.size() <= 4;
                s.tags.push_back(tag_of(t));
                if (bar == std::string::npos) break;
                p = bar + 1;
            }
            why = "pool tags of up to 4 characters separated by |";
        } else if (key == "scope") {
            ok = value == "drivers" || value == "all";
            s.scope_all = value == "all";
            why = "drivers or all";
        } else if (key == "log") {
            ok = value == "on" || value == "off";
            s.log = value == "on";
            why = "on or off";
        } else {
            bool known = false;
            for (uint32_t k = 0; k < kinds; ++k)
                if (key == kKindNames[k]) {
                    known = true;
                    if (!parse_rule(value, &s.rules[k], error)) {
                        *error = "NTIO_FAULTS " + key + ": " + *error;
                        return false;
                    }
                    any |= s.rules[k].on();
                }
            if (!known) {
                *error = "NTIO_FAULTS: unknown setting '" + key +
                         "'; the settings are seed, pool, irp, mdl, pending, delay, delay_ms, cancel, cancel_ms, "
                         "tags, scope, log";
                return false;
            }
        }
        if (!ok) {
            *error = "NTIO_FAULTS " + key + "=" + value + ": expected " + why;
            return false;
        }
    }
    if (!seeded)
        s.seed = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
                 std::random_device{}();
    State& st = state();
    {
        std::lock_guard g(st.lock);
        st.settings = s;
        st.active = any;
        st.ordinals.clear();
        for (auto& n : st.injected) n = 0;
    }
    g_io_faults.store(any && (s.rules[pending].on() || s.rules[delay].on() || s.rules[cancel].on()));
    g_hooks.allocation_faults.store(any && (s.rules[pool].on() || s.rules[irp].on() || s.rules[mdl].on()));
    if (any)
        std::fprintf(stderr, "ntio: fault injection is on: NTIO_FAULTS=%s (the same value replays this run)\n",
                     settings_text().c_str());
    return true;
}

bool io_faults_on() { return g_io_faults.load(std::memory_order_relaxed); }

std::string settings_text() {
    State& st = state();
    std::lock_guard g(st.lock);
    if (!st.active) return {};
    const Settings& s = st.settings;
    std::string out = "seed=" + std::to_string(s.seed);
    for (uint32_t k = 0; k < kinds; ++k)
        if (s.rules[k].on()) out += std::string(",") + kKindNames[k] + "=" + s.rules[k].text;
    if (s.rules[delay].on()) out += ",delay_ms=" + std::to_string(s.delay_ms);
    if (s.rules[cancel].on()) out += ",cancel_ms=" + std::to_string(s.cancel_ms);
    if (!s.tags.empty()) out += ",tags=" + s.tags_text;
    if (s.scope_all) out += ",scope=all";
    return out;
}

bool fail_pool(uint32_t tag, size_t bytes, const void* caller) {
    {
        State& st = state();
        std::lock_guard g(st.lock);
        if (!st.settings.rules[pool].on()) return false;
        if (!st.settings.tags.empty()) {
            bool listed = false;
            for (uint32_t t : st.settings.tags) listed |= t == tag;
            if (!listed) return false;
        }
    }
    if (from_runtime(caller)) return false;
    uint64_t n = 0;
    if (!decide(pool, tag, &n)) return false;
    note_injection(fmt::format("pool allocation #{} of tag '{}' ({} bytes) fails", n, ex::Pool::tag_text(tag), bytes));
    return true;
}

bool fail_irp(const char* api, const void* caller) {
    if (from_runtime(caller)) return false;
    uint64_t n = 0;
    if (!decide(irp, 0, &n)) return false;
    note_injection(fmt::format("IRP allocation #{} ({}) fails", n, api));
    return true;
}

bool fail_mdl(const void* caller) {
    if (from_runtime(caller)) return false;
    uint64_t n = 0;
    if (!decide(mdl, 0, &n)) return false;
    note_injection(fmt::format("MDL allocation #{} (IoAllocateMdl) fails", n));
    return true;
}

bool force_pending(DEVICE_OBJECT* device, bool top_level, uint32_t* delay_ms) {
    *delay_ms = 0;
    {
        State& st = state();
        std::lock_guard g(st.lock);
        if (top_level && !st.settings.scope_all) return false;
    }
    uint64_t key = device_key(device);
    if (decide(delay, key)) {
        State& st = state();
        std::lock_guard g(st.lock);
        *delay_ms = st.settings.delay_ms ? st.settings.delay_ms : 1;
        return true;
    }
    return decide(pending, key);
}

void maybe_cancel(DEVICE_OBJECT* device, _KTHREAD* issuer, uint64_t irp_id) {
    double extra = 0;
    uint64_t n = 0;
    if (!decide(cancel, device_key(device), &n, &extra)) return;
    uint32_t window;
    {
        State& st = state();
        std::lock_guard g(st.lock);
        window = st.settings.cancel_ms;
    }
    auto ms = static_cast<uint32_t>(extra * (window + 1));
    note_injection(fmt::format("IRP #{} to {} is cancelled {} ms after it went pending", irp_id,
                               io::device_label(device), ms));
    ps::reference(issuer);
    schedule(new Delayed{{}, {}, nullptr, 0, issuer, irp_id}, run_cancel, ms);
}

void complete_later(IRP* irp, CCHAR priority_boost, uint32_t delay_ms) {
    note_injection(fmt::format("the completion of IRP #{} is delayed {} ms", io::header_of(irp)->sequence, delay_ms));
    schedule(new Delayed{{}, {}, irp, priority_boost, nullptr, 0}, run_delayed_completion, delay_ms);
}

void drain() {
    // The delays are runtime timers: under virtual time waiting lets the clock reach them.
    LARGE_INTEGER ms;
    ms.QuadPart = -10000;
    for (int i = 0; i < 60000 && g_outstanding.load() > 0; ++i) KeDelayExecutionThread(KernelMode, FALSE, &ms);
}

void finish() {
    State& st = state();
    std::string summary;
    {
        std::lock_guard g(st.lock);
        if (st.active) {
            for (uint32_t k = 0; k < kinds; ++k)
                if (st.settings.rules[k].on())
                    summary += fmt::format("{}{} {}", summary.empty() ? "" : ", ", st.injected[k], kKindNames[k]);
        }
    }
    if (!summary.empty())
        std::fprintf(stderr, "ntio: fault injection (NTIO_FAULTS=%s) injected: %s\n", settings_text().c_str(),
                     summary.c_str());
    {
        std::lock_guard g(st.lock);
        st.active = false;
        st.settings = Settings();
    }
    g_io_faults.store(false);
    g_hooks.allocation_faults.store(false);
}

}  // namespace ntio::verifier::faults

namespace ntio {
std::string fault_injection_settings() { return verifier::faults::settings_text(); }
}  // namespace ntio
