#include "verifier/startio_watch.hpp"

#include <map>
#include <mutex>
#include <vector>

#include "io/iomgr.hpp"
#include "ob/object.hpp"
#include "system.hpp"
#include "verifier/report.hpp"

namespace ntio::verifier::startio_watch {
namespace {

struct Watch {
    uint64_t irp_id;       // the CurrentIrp that completed
    int64_t completed_at;  // interrupt time, 100 ns
    int64_t deadline;
};

// Never destroyed (exit handlers run after static destructors).
struct State {
    std::mutex lock;
    std::map<DEVICE_OBJECT*, Watch> watches;  // each holds a reference on its device
    KTIMER timer;
    KDPC dpc;
    bool initialized = false;
    int64_t armed_for = 0;  // the deadline the timer is set for, 0 when not set
    int64_t bound = 1000 * 10000LL;
};
State& state() {
    static State* s = new State();
    return *s;
}

int64_t now() {
    System::Impl& s = sys();
    return s.dispatcher.now();
}

size_t queued(DEVICE_OBJECT* dev) {
    size_t n = 0;
    KIRQL irql;
    KeAcquireSpinLock(&dev->DeviceQueue.Lock, &irql);
    for (PLIST_ENTRY e = dev->DeviceQueue.DeviceListHead.Flink; e != &dev->DeviceQueue.DeviceListHead; e = e->Flink) ++n;
    KeReleaseSpinLock(&dev->DeviceQueue.Lock, irql);
    return n;
}

// Under the state lock: the timer follows the earliest deadline.
void rearm_locked(State& s) {
    int64_t earliest = 0;
    for (const auto& [dev, w] : s.watches)
        if (!earliest || w.deadline < earliest) earliest = w.deadline;
    if (earliest == s.armed_for) return;
    s.armed_for = earliest;
    if (!earliest) {
        KeCancelTimer(&s.timer);
        return;
    }
    LARGE_INTEGER due;
    due.QuadPart = -(earliest > now() ? earliest - now() : 1);
    KeSetTimer(&s.timer, due, &s.dpc);
}

void expired(PKDPC, PVOID, PVOID, PVOID) {
    State& s = state();
    std::vector<std::pair<DEVICE_OBJECT*, Watch>> due;
    {
        std::lock_guard g(s.lock);
        s.armed_for = 0;
        int64_t t = now();
        for (auto it = s.watches.begin(); it != s.watches.end();) {
            if (it->second.deadline <= t) {
                due.push_back(*it);
                it = s.watches.erase(it);
            } else {
                ++it;
            }
        }
        rearm_locked(s);
    }
    for (auto& [dev, w] : due) {
        size_t n = queued(dev);
        report(Check::StartIoStalled,
               fmt::format("the StartIo queue of {} is stalled: its current IRP #{} completed {:.3f} ms ago and the "
                           "driver has not called IoStartNextPacket since; {} request(s) wait in the device queue "
                           "and the queue stays busy, so every later IoStartPacket waits too. Call "
                           "IoStartNextPacket(DeviceObject, ...) once the current request is completed (in StartIo "
                           "or its DPC)",
                           io::device_label(dev), w.irp_id, static_cast<double>(now() - w.completed_at) / 1e4, n),
               {.device = dev});
        ob::dereference(dev);
    }
}

}  // namespace

void set_bound_ms(int ms) {
    State& s = state();
    std::lock_guard g(s.lock);
    s.bound = int64_t(ms > 0 ? ms : 1000) * 10000;
}

void current_completed(DEVICE_OBJECT* dev, uint64_t irp_id) {
    State& s = state();
    std::lock_guard g(s.lock);
    if (!s.initialized) {
        KeInitializeTimer(&s.timer);
        KeInitializeDpc(&s.dpc, expired, nullptr);
        s.initialized = true;
    }
    int64_t t = now();
    auto [it, fresh] = s.watches.try_emplace(dev, Watch{irp_id, t, t + s.bound});
    if (fresh) ob::reference(dev);
    else it->second = Watch{irp_id, t, t + s.bound};
    rearm_locked(s);
}

void start_next(DEVICE_OBJECT* device) {
    State& s = state();
    bool found = false;
    {
        std::lock_guard g(s.lock);
        found = s.watches.erase(device) > 0;
        if (found) rearm_locked(s);
    }
    if (found) ob::dereference(device);
}

void stop() {
    State& s = state();
    std::map<DEVICE_OBJECT*, Watch> left;
    {
        std::lock_guard g(s.lock);
        left.swap(s.watches);
        if (s.initialized) KeCancelTimer(&s.timer);
        s.armed_for = 0;
    }
    for (auto& [dev, w] : left) ob::dereference(dev);
}

}  // namespace ntio::verifier::startio_watch
