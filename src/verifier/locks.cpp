#include "verifier/locks.hpp"

#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "io/iomgr.hpp"
#include "ps/thread.hpp"
#include "system.hpp"
#include "verifier/report.hpp"

namespace ntio::verifier::locks {
namespace {

struct Site {
    const char* file = nullptr;
    unsigned line = 0;
    uint32_t thread = 0;
};

std::string site_text(const Site& s) {
    std::string out = s.file ? fmt::format("{}:{}", s.file, s.line) : std::string("an unknown call site");
    if (s.thread) out += fmt::format(" (thread {})", s.thread);
    return out;
}

Site here() {
    _KTHREAD* t = ps::current_thread_if_known();
    return {t_call_site.file, t_call_site.line, t ? t->number : 0};
}

// The calling thread's held spin locks, oldest first.
struct Held {
    PKSPIN_LOCK lock;
    KIRQL old_irql;
    Site site;
};
constexpr size_t kMaxHeld = 32;
struct HeldLocks {
    Held entries[kMaxHeld];
    size_t count = 0;
};
thread_local HeldLocks t_held;

// "While holding `first`, `second` was acquired", as first seen.
struct Edge {
    Site first_site;   // where `first` was acquired
    Site second_site;  // where `second` was acquired while `first` was held
};

// Never destroyed: locks are taken in exit handlers that run after static destructors.
struct Graph {
    std::mutex lock;
    std::map<uintptr_t, std::map<uintptr_t, Edge>> after;  // first -> second -> edge
    std::set<std::pair<uintptr_t, uintptr_t>> reported;
};
Graph& graph() {
    static Graph* g = new Graph();
    return *g;
}

// A path from `from` to `to` in the order graph (under the graph lock), as its nodes.
bool find_path(Graph& g, uintptr_t from, uintptr_t to, std::vector<uintptr_t>& path, std::set<uintptr_t>& seen) {
    path.push_back(from);
    if (from == to) return true;
    if (seen.insert(from).second) {
        auto it = g.after.find(from);
        if (it != g.after.end())
            for (const auto& [next, edge] : it->second)
                if (find_path(g, next, to, path, seen)) return true;
    }
    path.pop_back();
    return false;
}

std::string lock_text(uintptr_t lock) {
    if (lock == reinterpret_cast<uintptr_t>(io::cancel_spin_lock())) return "the cancel spin lock";
    return fmt::format("spin lock {:#x}", lock);
}

void check_order(const Held& holding, PKSPIN_LOCK acquired_lock, const Site& site) {
    auto a = reinterpret_cast<uintptr_t>(holding.lock), b = reinterpret_cast<uintptr_t>(acquired_lock);
    if (a == b) return;  // SPIN_LOCK_ALREADY_OWNED
    Graph& g = graph();
    std::string message;
    {
        std::lock_guard guard(g.lock);
        auto [it, fresh] = g.after[a].try_emplace(b, Edge{holding.site, site});
        if (!fresh) return;  // a known order
        std::vector<uintptr_t> path;
        std::set<uintptr_t> seen;
        if (!find_path(g, b, a, path, seen)) return;
        if (!g.reported.insert({std::min(a, b), std::max(a, b)}).second) return;
        // The cycle: now a -> b; earlier b -> ... -> a.
        message = fmt::format(
            "lock order inversion: {} acquired at {} while holding {} (acquired at {}), but earlier the opposite "
            "order was used:",
            lock_text(b), site_text(site), lock_text(a), site_text(holding.site));
        for (size_t i = 0; i + 1 < path.size(); ++i) {
            const Edge& e = g.after[path[i]][path[i + 1]];
            message += fmt::format(" {} acquired at {} while holding {} (acquired at {});", lock_text(path[i + 1]),
                                   site_text(e.second_site), lock_text(path[i]), site_text(e.first_site));
        }
        message += " two threads taking them in these orders at once deadlock. Take the locks in one fixed order "
                   "everywhere (or do not hold one while acquiring the other)";
    }
    report(Check::LockOrderInversion, message);
}

}  // namespace

void acquired(PKSPIN_LOCK lock, KIRQL old_irql) {
    Site site = here();
    HeldLocks& h = t_held;
    if (enabled(Check::LockOrderInversion))
        for (size_t i = 0; i < h.count; ++i) check_order(h.entries[i], lock, site);
    if (h.count < kMaxHeld) h.entries[h.count++] = {lock, old_irql, site};
}

void releasing(PKSPIN_LOCK lock, KIRQL new_irql, bool lowers) {
    HeldLocks& h = t_held;
    size_t i = h.count;
    while (i > 0 && h.entries[i - 1].lock != lock) --i;
    if (i == 0) return;  // acquired before tracking began, or on another thread (SPIN_LOCK_NOT_OWNED)
    Held held = h.entries[i - 1];
    for (size_t j = i; j < h.count; ++j) h.entries[j - 1] = h.entries[j];
    h.count--;
    if (lowers && new_irql != held.old_irql)
        report(Check::SpinLockReleaseIrql,
               fmt::format("KeReleaseSpinLock({}, NewIrql {}) for {} acquired at {} when the IRQL was {}: release "
                           "it with the OldIrql its KeAcquireSpinLock returned, or the thread {} at IRQL {}",
                           static_cast<void*>(lock), new_irql, lock_text(reinterpret_cast<uintptr_t>(lock)),
                           site_text(held.site), held.old_irql,
                           new_irql > held.old_irql ? "stays raised" : "drops", new_irql));
}

void forget(const void* begin, size_t bytes) {
    auto lo = reinterpret_cast<uintptr_t>(begin), hi = lo + bytes;
    Graph& g = graph();
    std::lock_guard guard(g.lock);
    if (g.after.empty()) return;
    for (auto it = g.after.lower_bound(lo); it != g.after.end() && it->first < hi;) it = g.after.erase(it);
    for (auto& [first, seconds] : g.after)
        for (auto it = seconds.lower_bound(lo); it != seconds.end() && it->first < hi;) it = seconds.erase(it);
    for (auto it = g.reported.begin(); it != g.reported.end();)
        it = (it->first >= lo && it->first < hi) || (it->second >= lo && it->second < hi) ? g.reported.erase(it)
                                                                                          : std::next(it);
}

void reset() {
    Graph& g = graph();
    std::lock_guard guard(g.lock);
    g.after.clear();
    g.reported.clear();
}

}  // namespace ntio::verifier::locks
