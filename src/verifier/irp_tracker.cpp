#include "verifier/irp_tracker.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif
#include <unordered_map>
#include <vector>

#include "io/call_driver.hpp"
#include "io/iomgr.hpp"
#include "ke/spin.hpp"
#include "ps/thread.hpp"
#include "system.hpp"
#include "trace/trace.hpp"
#include "verifier/drivers.hpp"
#include "verifier/faults.hpp"
#include "verifier/hooks.hpp"
#include "verifier/report.hpp"
#include "verifier/startio_watch.hpp"

namespace ntio::verifier::irps {
namespace {

constexpr uint32_t kLiveMagic = 0x50524949;   // io/irp.cpp's kIrpMagic
constexpr uint32_t kFreedMagic = 0x44454552;  // io/irp.cpp's kFreedIrpMagic
constexpr int kHistory = 16;        // transitions kept per IRP
constexpr int kLocations = 63;      // stack locations whose dispatch-return protocol is checked
constexpr size_t kQuarantine = 1024;  // freed IRPs kept poisoned before their memory is reused
constexpr unsigned char kPoison = 0xD1;

struct Transition {
    int64_t ticks;       // 100 ns since the runtime started, or the time-stamp counter if `tsc`
    uint32_t thread;     // runtime thread number, 0 if unknown
    Step step;
    uint8_t location;    // the stack location concerned, 0 if none
    bool tsc;            // `ticks` is the time-stamp counter (see tsc_reference)
    int64_t value;       // a status, a driver number or a delay
    uint32_t device;     // DeviceRuntime::number, 0 if none
    const char* file;    // the driver's call site, if captured
    unsigned line;
};

struct Record {
    ke::SpinLock lock;
    // The IRP the record belongs to: its sequence number (IRP #id in reports), 0 while
    // the record is free. Written under `lock`, `irp` first; record_of reads both
    // without the lock: sequence numbers are never reused, so a match is this IRP's
    // record, and a record is only given to another IRP once nothing holds it.
    std::atomic<uint64_t> id{0};
    std::atomic<IRP*> irp{nullptr};
    // All below under `lock`.
    uint32_t refs = 0;     // the IRP until it leaves the quarantine, plus each dispatch frame
    uint32_t next_free = 0;  // the table's free list (under g_table_lock), while id is 0
    bool freed = false;    // in the quarantine
    bool freed_by_driver = false;
    bool mismatch_reported = false;
    uint32_t creator = 0;  // the driver that built it; 0 for the I/O manager
    uint32_t delay_ms = 0; // fault injection: delay its next completion by this much
    DEVICE_OBJECT* started_by = nullptr;  // the device whose StartIo started it (StartIoStalled)
    uint8_t major = 0xff;
    // Bit L: stack location L. Whether it was dispatched in this IRP's life (the
    // dispatch_* entries at L are only meaningful then: allocated() clears this mask
    // instead of the two arrays), what dispatch routines at L returned (not yet
    // compared), whether L was marked pending when completion unwound it, whether it
    // has been unwound, whether fault injection marked it.
    uint64_t dispatched = 0, returned_pending = 0, returned_other = 0, marked = 0, unwound = 0, forced = 0;
    uint32_t dispatch_driver[kLocations + 1] = {};  // the driver dispatched at L
    uint32_t dispatch_device[kLocations + 1] = {};
    Transition ring[kHistory];
    uint32_t count = 0;  // transitions ever recorded
};

// Records live in fixed chunks, so that a slot's address never changes; slot 0 is
// "untracked".
constexpr uint32_t kChunk = 1024, kMaxChunks = 4096;
constinit std::atomic<Record*> g_chunks[kMaxChunks];

// Slot allocation: a free list threaded through Record::next_free, and the next slot
// never used. Every request takes a slot and gives one back, so this is a spin lock
// around a few loads and stores rather than a mutex. All of it constant-initialized and
// never destroyed: IRPs complete and drivers unload from exit handlers that run after
// the library's static destructors.
constinit ke::SpinLock g_table_lock;
constinit uint32_t g_free_head = 0;  // 0: empty
constinit uint32_t g_high = 1;

// The quarantine: a ring of kQuarantine cells. The n-th freed IRP goes into cell
// n % kQuarantine and takes out what the (n - kQuarantine)-th left there, so a freed
// IRP stays poisoned through the next kQuarantine frees, whichever threads make them.
// One fetch-add and one exchange, no lock: two threads that free at once take
// different cells.
constinit std::atomic<uint64_t> g_quarantine_next{0};
constinit std::atomic<IRP*> g_quarantine[kQuarantine];

// Device labels, by DeviceRuntime::number, for reports that outlive the device.
struct Labels {
    std::mutex lock;
    std::unordered_map<uint32_t, std::string> by_number;
};
Labels& labels() {
    static Labels* l = new Labels();  // never destroyed, as above
    return *l;
}
// Each thread remembers the last device it labelled, so that a request's steps find
// its device without the map's lock. reset() empties the map and moves to a new
// generation, which invalidates every thread's memory.
constinit std::atomic<uint32_t> g_labels_generation{1};
struct LastDevice {
    DEVICE_OBJECT* device;
    uint32_t number;
    uint32_t generation;
};
constinit thread_local LastDevice t_last_device{};

Record* slot_record(uint32_t slot) {
    if (!slot || slot >= kChunk * kMaxChunks) return nullptr;
    Record* chunk = g_chunks[slot / kChunk].load(std::memory_order_acquire);
    return chunk ? &chunk[slot % kChunk] : nullptr;
}

uint32_t new_slot() {
    std::lock_guard g(g_table_lock);
    if (uint32_t s = g_free_head) {
        g_free_head = slot_record(s)->next_free;
        return s;
    }
    if (g_high >= kChunk * kMaxChunks) return 0;  // past 4M IRPs at once: untracked
    uint32_t s = g_high++;
    if (!g_chunks[s / kChunk].load(std::memory_order_relaxed))
        g_chunks[s / kChunk].store(new Record[kChunk], std::memory_order_release);
    return s;
}

void release_slot(uint32_t slot) {
    std::lock_guard g(g_table_lock);
    slot_record(slot)->next_free = g_free_head;
    g_free_head = slot;
}

bool ours(IRP* irp) {
    if (!irp || !irp->NtioPrivate) return false;
    uint32_t magic = io::header_of(irp)->magic;
    return magic == kLiveMagic || magic == kFreedMagic;
}

// The record of a live or quarantined IRP, or nullptr when it is not tracked. No lock:
// see Record::id.
Record* record_of(IRP* irp) {
    if (!ours(irp)) return nullptr;
    io::IrpHeader* h = io::header_of(irp);
    Record* r = slot_record(h->verifier_slot);
    if (!r || r->id.load(std::memory_order_acquire) != h->sequence || r->irp.load(std::memory_order_relaxed) != irp)
        return nullptr;
    return r;
}

// Under r->lock: drops one reference; true when it was the last (the caller then
// gives the slot back, after unlocking).
bool unref_locked(Record* r) {
    if (--r->refs) return false;
    r->id.store(0, std::memory_order_relaxed);
    return true;
}

// Drops one reference; the last one frees the slot.
void release(Record* r, uint32_t slot) {
    r->lock.lock();
    bool last = unref_locked(r);
    r->lock.unlock();
    if (last) release_slot(slot);
}

uint32_t device_number(DEVICE_OBJECT* dev) {
    if (!dev) return 0;
    io::DeviceRuntime& rt = io::runtime(dev);
    uint32_t generation = g_labels_generation.load(std::memory_order_acquire);
    LastDevice& last = t_last_device;
    // A device deleted and another created at its address has another number.
    if (last.device == dev && last.number == rt.number && last.generation == generation) return rt.number;
    {
        std::lock_guard g(labels().lock);
        auto [it, fresh] = labels().by_number.try_emplace(rt.number);
        if (fresh) it->second = io::device_label(dev);
    }
    last = {dev, rt.number, generation};
    return rt.number;
}

std::string device_text(uint32_t number) {
    std::lock_guard g(labels().lock);
    auto it = labels().by_number.find(number);
    return it != labels().by_number.end() ? it->second : fmt::format("device #{}", number);
}

// A transition's time. In virtual time it is the virtual clock, a load. In real time
// the runtime's clock is CLOCK_MONOTONIC (ke::Dispatcher::now), 20-25 ns a read through
// the vDSO, and a request records four transitions: 40% of what a synchronous IOCTL
// cost with every check on. So where the kernel itself keeps time with the CPU's
// time-stamp counter (its clocksource is "tsc", which it only picks when the counter is
// invariant and synchronized across CPUs), a transition stores the counter, a few ns,
// and render() converts it at the rate measured between a reference taken once and the
// render: the error stays about that of one clock read, however long ago the reference
// was taken.
int64_t real_ticks() {  // CLOCK_MONOTONIC in 100 ns units, as ke::Dispatcher::now
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 10000000 + ts.tv_nsec / 100;
}

#if defined(__x86_64__) || defined(__i386__)
int64_t read_tsc() { return static_cast<int64_t>(__rdtsc()); }
bool kernel_uses_tsc() {
    std::FILE* f = std::fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
    if (!f) return false;
    char name[32] = {};
    bool tsc = std::fgets(name, sizeof name, f) && std::strcmp(name, "tsc\n") == 0;
    std::fclose(f);
    return tsc;
}
#else
int64_t read_tsc() { return 0; }
bool kernel_uses_tsc() { return false; }
#endif

struct TscReference {
    int64_t tsc = 0;  // 0: the counter is not used
    int64_t ticks = 0;
};
// Taken at the first real-time transition of the process.
const TscReference& tsc_reference() {
    static const TscReference ref = [] {
        if (!kernel_uses_tsc()) return TscReference{};
        return TscReference{read_tsc(), real_ticks()};
    }();
    return ref;
}

// Under r->lock.
void push_locked(Record* r, Step step, int location, int64_t value, uint32_t device) {
    Transition& t = r->ring[r->count % kHistory];
    System::Impl* s = sys_if_exists();
    t.tsc = s && !s->dispatcher.is_virtual() && tsc_reference().tsc;
    if (t.tsc) t.ticks = read_tsc();
    else t.ticks = s ? s->dispatcher.now() - s->dispatcher.interrupt_origin() : 0;
    _KTHREAD* th = ps::current_thread_if_known();
    t.thread = th ? th->number : 0;
    t.step = step;
    t.location = static_cast<uint8_t>(location > 0 && location <= 255 ? location : 0);
    t.value = value;
    t.device = device;
    t.file = t_call_site.file;
    t.line = t_call_site.line;
    r->count++;
}

std::string status_text(int64_t status) { return fmt::format("{:#010x}", static_cast<uint32_t>(status)); }

std::string step_text(const Transition& t) {
    std::string dev = t.device ? device_text(t.device) : std::string();
    std::string at = t.location ? fmt::format(" (stack location {})", t.location) : std::string();
    switch (t.step) {
    case Step::allocated:
        return fmt::format("built by {}", t.value ? drivers::name_of(static_cast<uint32_t>(t.value))
                                                  : std::string("a driver"));
    case Step::dispatched: return fmt::format("IoCallDriver to {}{}", dev, at);
    case Step::returned: return fmt::format("dispatch routine of {} returned {}", dev, status_text(t.value));
    case Step::marked_pending: return fmt::format("IoMarkIrpPending{}", at);
    case Step::forced_pending:
        return fmt::format("fault injection: pending forced on the call to {}; its caller sees STATUS_PENDING", dev);
    case Step::queued: return fmt::format("IoStartPacket on {} (queued unless the device is idle)", dev);
    case Step::started: return fmt::format("StartIo of {}", dev);
    case Step::cancel: return "IoCancelIrp";
    case Step::cancel_routine: return fmt::format("cancel routine called{}", dev.empty() ? "" : " for " + dev);
    case Step::completed: return fmt::format("IoCompleteRequest with status {}{}", status_text(t.value), at);
    case Step::completion_delayed: return fmt::format("fault injection: completion delayed {} ms", t.value);
    case Step::completion_routine:
        return fmt::format("completion routine of {}", dev.empty() ? std::string("its creator") : dev);
    case Step::reclaimed: return "a completion routine returned STATUS_MORE_PROCESSING_REQUIRED (taken back)";
    case Step::freed_by_driver: return "IoFreeIrp";
    case Step::freed: return "freed (its memory is poisoned and kept to catch a later use)";
    }
    return "?";
}

std::string render(Record* r) {
    r->lock.lock();
    uint64_t id = r->id;
    uint8_t major = r->major;
    uint32_t count = r->count;
    Transition ring[kHistory];
    std::memcpy(ring, r->ring, sizeof ring);
    r->lock.unlock();
    if (!count) return {};
    uint32_t first = count > kHistory ? count - kHistory : 0;
    // Time-stamp counter values to ticks since the runtime started (see tsc_reference).
    System::Impl* s = sys_if_exists();
    int64_t origin = s ? s->dispatcher.interrupt_origin() : 0;
    const TscReference& ref = tsc_reference();
    int64_t tsc_now = read_tsc(), ticks_now = real_ticks();
    double rate = tsc_now > ref.tsc ? double(ticks_now - ref.ticks) / double(tsc_now - ref.tsc) : 0;
    auto ticks_of = [&](const Transition& t) {
        return t.tsc ? ref.ticks + static_cast<int64_t>(double(t.ticks - ref.tsc) * rate) - origin : t.ticks;
    };
    std::string out = fmt::format("  IRP #{}{} history, oldest first{}:\n", id,
                                  major != 0xff ? fmt::format(" (IRP_MJ_{})", io::major_function_name(major)) : "",
                                  first ? fmt::format(" (the last {} of {})", kHistory, count) : "");
    for (uint32_t i = first; i < count; ++i) {
        const Transition& t = ring[i % kHistory];
        out += fmt::format("    {:>11.3f} ms  thread {:<3} {}", static_cast<double>(ticks_of(t)) / 1e4, t.thread,
                           step_text(t));
        if (t.file) out += fmt::format(" at {}:{}", t.file, t.line);
        out += "\n";
    }
    return out;
}

// One dispatch routine's return compared with its location's pending mark, once both
// are known (S-DSP-1/4). Under r->lock; fills *what when there is something to report.
enum class Finding { none, pending_not_marked, marked_not_returned };
Finding compare_locked(Record* r, int location) {
    uint64_t bit = uint64_t(1) << location;
    if (!(r->unwound & bit) || !((r->returned_pending | r->returned_other) & bit)) return Finding::none;
    bool pending = r->returned_pending & bit, other = r->returned_other & bit, marked = r->marked & bit;
    r->returned_pending &= ~bit;
    r->returned_other &= ~bit;
    if (pending && !marked) return Finding::pending_not_marked;
    if (other && marked && !(r->forced & bit) && !r->mismatch_reported) {
        r->mismatch_reported = true;
        return Finding::marked_not_returned;
    }
    return Finding::none;
}

void report_finding(Record* r, Finding f, int location) {
    if (f == Finding::none) return;
    r->lock.lock();
    uint64_t id = r->id;
    uint32_t device = r->dispatch_device[location];
    uint32_t driver = r->dispatch_driver[location];
    r->lock.unlock();
    std::string dev = device_text(device);
    Subject s{.irp_id = id, .driver_name = drivers::name_of(driver), .device_name = dev, .history = render(r)};
    if (f == Finding::pending_not_marked)
        report(Check::ReturnedPendingNotMarked,
               fmt::format("the dispatch routine of {} returned STATUS_PENDING for IRP #{} without calling "
                           "IoMarkIrpPending on its stack location ({}): the I/O manager may then miss the "
                           "completion. Call IoMarkIrpPending(Irp) before the IRP can be completed elsewhere "
                           "(before queueing it or IoStartPacket), then return STATUS_PENDING (S-DSP-1)",
                           dev, id, location),
               s);
    else
        report(Check::MarkedPendingNotReturned,
               fmt::format("the dispatch routine of {} called IoMarkIrpPending on IRP #{} (stack location {}) but "
                           "returned another status; Windows tolerates it (S-DSP-4) but the caller is then "
                           "notified as for a pending request. After IoMarkIrpPending, return STATUS_PENDING",
                           dev, id, location),
               s);
}

// Out of line and hot: this file's functions are cold, so GCC optimizes them for size,
// and would turn these memsets into `rep stosb`, which starts slowly and counts as one
// instruction per byte.
[[gnu::noinline, gnu::hot]] void poison(IRP* irp) {
    io::IrpHeader* h = io::header_of(irp);
    // Everything but NtioPrivate (the last field), which still leads to the header: a
    // use from another thread, however late, still finds the freed IRP's header.
    std::memset(irp, kPoison, offsetof(IRP, NtioPrivate));
    size_t tail = size_t(h->stack_count) * sizeof(IO_STACK_LOCATION) + h->buffer_capacity;
    std::memset(irp + 1, kPoison, tail);
}

// The IRP's own reference on its record goes (it leaves the quarantine, or the runtime
// ends); a dispatch frame may still hold the record, and then frees the slot itself.
void drop_irp_reference(IRP* irp) {
    io::IrpHeader* h = io::header_of(irp);
    uint32_t slot = h->verifier_slot;
    Record* r = slot_record(slot);
    if (!r) return;
    r->lock.lock();
    bool last = r->id.load(std::memory_order_relaxed) == h->sequence &&
                r->irp.load(std::memory_order_relaxed) == irp && unref_locked(r);
    r->lock.unlock();
    if (last) release_slot(slot);
}

}  // namespace

void allocated(IRP* irp) {
    // Every history entry follows its record's allocation: the first one's reading of
    // sysfs happens here, not under a record's spin lock.
    (void)tsc_reference();
    io::IrpHeader* h = io::header_of(irp);
    h->verifier_slot = 0;
    uint32_t slot = new_slot();
    Record* r = slot_record(slot);
    if (!r) return;
    r->lock.lock();
    r->irp.store(irp, std::memory_order_relaxed);
    r->refs = 1;
    r->freed = r->freed_by_driver = r->mismatch_reported = false;
    r->creator = 0;
    r->delay_ms = 0;
    r->started_by = nullptr;
    r->major = 0xff;
    r->dispatched = r->returned_pending = r->returned_other = r->marked = r->unwound = r->forced = 0;
    r->dispatch_device[0] = 0;  // what a step past kLocations names (call_driver)
    r->count = 0;
    r->id.store(h->sequence, std::memory_order_release);  // last: record_of matches from here on
    r->lock.unlock();
    h->verifier_slot = slot;
}

void created_by_driver(IRP* irp, const void* caller) {
    Record* r = record_of(irp);
    if (!r) return;
    uint32_t driver = drivers::attribute(caller);
    r->lock.lock();
    r->creator = driver;
    push_locked(r, Step::allocated, 0, driver, 0);
    r->lock.unlock();
}

void reinitialized(IRP* irp) {
    // IoReuseIrp gave the IRP a new sequence number: a new record for its new life.
    io::IrpHeader* h = io::header_of(irp);
    uint32_t old_slot = h->verifier_slot;
    uint32_t creator = 0;
    if (Record* old = slot_record(old_slot)) {
        old->lock.lock();
        bool mine = old->id.load(std::memory_order_relaxed) && old->irp.load(std::memory_order_relaxed) == irp;
        if (mine) creator = old->creator;
        bool last = mine && unref_locked(old);
        old->lock.unlock();
        if (last) release_slot(old_slot);
    }
    allocated(irp);
    if (Record* r = record_of(irp)) {
        r->lock.lock();
        r->creator = creator;
        r->lock.unlock();
    }
}

void note(IRP* irp, Step step, DEVICE_OBJECT* device, int64_t value, int location) {
    Record* r = record_of(irp);
    if (!r) return;
    uint32_t dev = device_number(device);
    r->lock.lock();
    if (!r->freed) {  // a routine may free the IRP before its caller notes what it did
        push_locked(r, step, location >= 0 ? location : irp->CurrentLocation, value, dev);
        if (step == Step::freed_by_driver) r->freed_by_driver = true;
        if (step == Step::started) r->started_by = device;
    }
    r->lock.unlock();
}

NTSTATUS call_driver(DEVICE_OBJECT* device, IRP* irp) {
    if (!check_live(irp, "IoCallDriver")) return STATUS_INVALID_DEVICE_STATE;
    if (irp->CurrentLocation <= 1) {
        report(Check::NO_MORE_IRP_STACK_LOCATIONS,
               fmt::format("IoCallDriver(IRP #{}) to {} with no stack location left ({} allocated): allocate the IRP "
                           "with the target's StackSize (or StackSize + 1 to keep one for yourself); the IRP was not "
                           "sent",
                           io::header_of(irp)->sequence, io::device_label(device), int(irp->StackCount)),
               {.irp = irp, .device = device});
        return STATUS_INVALID_DEVICE_STATE;
    }
    irp->CurrentLocation--;
    irp->Tail.Overlay.CurrentStackLocation--;
    PIO_STACK_LOCATION sl = irp->Tail.Overlay.CurrentStackLocation;
    sl->DeviceObject = device;
    int location = irp->CurrentLocation;
    UCHAR major = sl->MajorFunction;
    PDRIVER_DISPATCH dispatch = device->DriverObject->MajorFunction[major];
    uint32_t driver = drivers::id_of(device->DriverObject);

    // Fault injection decides before the dispatch routine runs, while the IRP (and the
    // issuing thread it keeps alive) are certainly there.
    io::IrpHeader* h = io::header_of(irp);
    bool forced = false;
    uint32_t delay = 0;
    _KTHREAD* issuer = nullptr;
    uint64_t id = h->sequence;
    if (faults::io_faults_on()) {
        bool top_level = (h->flags & io::kIrpUserRequest) && location == irp->StackCount;
        forced = faults::force_pending(device, top_level, &delay);
        if (forced) sl->Control |= SL_PENDING_RETURNED;  // as if the callee had called IoMarkIrpPending
        // Listed on its thread, or in the thread's slot (io/irp.cpp): a request a thread issued.
        uint8_t listed = __atomic_load_n(&h->list_state, __ATOMIC_RELAXED);
        issuer = listed == io::kListed || listed == io::kInSlot ? h->thread : nullptr;
        if (issuer) ps::reference(issuer);
    }

    // The frame holds the record: the dispatch routine may complete and free the IRP.
    Record* r = record_of(irp);
    uint32_t slot = r ? io::header_of(irp)->verifier_slot : 0;
    if (r) {
        uint32_t dev = device_number(device);
        r->lock.lock();
        r->refs++;
        if (r->major == 0xff) r->major = major;
        if (location <= kLocations) {
            uint64_t bit = uint64_t(1) << location;
            r->returned_pending &= ~bit;
            r->returned_other &= ~bit;
            r->marked &= ~bit;
            r->unwound &= ~bit;
            r->dispatched |= bit;
            // `forced` stays: a filter that skipped its location passes the forced mark on
            // to the driver below it, at the same location.
            r->dispatch_driver[location] = driver;
            r->dispatch_device[location] = dev;
        }
        push_locked(r, Step::dispatched, location, 0, dev);
        if (forced) {
            if (location <= kLocations) r->forced |= uint64_t(1) << location;
            r->delay_ms = delay;
            push_locked(r, Step::forced_pending, location, 0, dev);
        }
        r->lock.unlock();
    }

    KIRQL irql = ke::t_irql;
    NTSTATUS status;
    {
        drivers::Scope scope(driver);
        // The caller's IoCallDriver line is not the callee's: a report from a call the
        // compat macros do not capture (IoStartPacket, IoFreeIrp, ...) then names no line
        // rather than the line that sent the IRP.
        CallSiteScope no_site(nullptr, 0, Api::none);
        status = trace::enabled() ? io::dispatch_traced(device, irp, dispatch) : dispatch(device, irp);
    }
    if (ke::t_irql != irql) [[unlikely]]
        io::dispatch_changed_irql(device, uint32_t(major) << 8 | irql);  // reports, and restores the caller's IRQL

    if (r) {
        Finding f = Finding::none;
        r->lock.lock();
        push_locked(r, Step::returned, location, status, r->dispatch_device[location <= kLocations ? location : 0]);
        if (location <= kLocations) {
            uint64_t bit = uint64_t(1) << location;
            (status == STATUS_PENDING ? r->returned_pending : r->returned_other) |= bit;
            f = compare_locked(r, location);
        }
        // The frame's reference goes in the same hold of the lock, unless there is
        // something to report: the report reads the record.
        bool last = f == Finding::none && unref_locked(r);
        r->lock.unlock();
        if (f != Finding::none) {
            report_finding(r, f, location);
            release(r, slot);
        } else if (last) {
            release_slot(slot);
        }
    }
    if (forced) status = STATUS_PENDING;
    if (issuer) {
        if (status == STATUS_PENDING) faults::maybe_cancel(device, issuer, id);
        ps::dereference(issuer);
    }
    return status;
}

bool completing(IRP* irp, CCHAR priority_boost) {
    if (!ours(irp)) return true;
    if (io::header_of(irp)->magic == kFreedMagic) {
        Record* r = record_of(irp);
        if (!r) return true;  // freed before tracking began: the I/O manager's own check reports it
        r->lock.lock();
        bool by_driver = r->freed_by_driver;
        uint64_t id = r->id;
        r->lock.unlock();
        if (by_driver)
            report(Check::IrpUsedAfterFree,
                   fmt::format("IoCompleteRequest on IRP #{}, which its creator already freed with IoFreeIrp; the "
                               "IRP was not completed",
                               id),
                   {.irp = irp});
        else
            report(Check::MULTIPLE_IRP_COMPLETE_REQUESTS,
                   fmt::format("IoCompleteRequest on IRP #{}, which was already completed (and freed by the I/O "
                               "manager after that completion; its history shows both calls). An IRP is completed "
                               "exactly once, by the driver that owns it: after IoCompleteRequest, or after "
                               "returning its status to IoCallDriver, do not touch it again",
                               id),
                   {.irp = irp});
        return false;
    }
    Record* r = record_of(irp);
    if (!r) return true;
    r->lock.lock();
    push_locked(r, Step::completed, irp->CurrentLocation, irp->IoStatus.Status, 0);
    uint32_t delay = r->delay_ms;
    r->delay_ms = 0;
    if (delay) push_locked(r, Step::completion_delayed, irp->CurrentLocation, delay, 0);
    DEVICE_OBJECT* started_by = r->started_by;
    r->started_by = nullptr;
    uint64_t id = r->id;
    r->lock.unlock();
    if (started_by && startio_hooks()) startio_watch::current_completed(started_by, id);
    if (delay) {  // fault injection: the runtime completes it later, from a DPC
        faults::complete_later(irp, priority_boost, delay);
        return false;
    }
    return true;
}

void location_done(IRP* irp, int location, UCHAR control, PIO_COMPLETION_ROUTINE routine) {
    Record* r = record_of(irp);
    if (!r) return;
    DEVICE_OBJECT* owner = nullptr;
    if (routine && irp->CurrentLocation <= irp->StackCount) owner = IoGetCurrentIrpStackLocation(irp)->DeviceObject;
    uint32_t dev = routine ? device_number(owner) : 0;
    Finding f = Finding::none;
    r->lock.lock();
    if (location >= 1 && location <= kLocations) {
        uint64_t bit = uint64_t(1) << location;
        r->unwound |= bit;
        if (control & SL_PENDING_RETURNED) r->marked |= bit;
        else r->marked &= ~bit;
        f = compare_locked(r, location);
    }
    if (routine) push_locked(r, Step::completion_routine, location + 1, 0, dev);
    r->lock.unlock();
    report_finding(r, f, location);
}

bool check_live(IRP* irp, const char* api) {
    if (!ours(irp) || io::header_of(irp)->magic != kFreedMagic) return true;
    Record* r = record_of(irp);
    if (!r) return true;
    r->lock.lock();
    uint64_t id = r->id;
    bool by_driver = r->freed_by_driver;
    r->lock.unlock();
    report(Check::IrpUsedAfterFree,
           fmt::format("{} on IRP #{}, which was already {} and freed: its memory now belongs to no one (ntio "
                       "keeps it poisoned with 0x{:X} bytes for a while to catch this). Do not use an IRP after "
                       "completing it, returning its status from dispatch, or IoFreeIrp",
                       api, id, by_driver ? "given to IoFreeIrp" : "completed", kPoison),
           {.irp = irp});
    return false;
}

bool quarantined(IRP* irp) {
    io::IrpHeader* h = io::header_of(irp);
    if (h->size_class == io::kIrpDriverMemory) return false;
    if (Record* r = record_of(irp)) {
        r->lock.lock();
        r->freed = true;
        push_locked(r, Step::freed, 0, 0, 0);
        r->lock.unlock();
    }
    poison(irp);
    uint64_t n = g_quarantine_next.fetch_add(1, std::memory_order_relaxed);
    IRP* victim = g_quarantine[n % kQuarantine].exchange(irp, std::memory_order_acq_rel);
    if (victim) {
        // It has stayed poisoned through kQuarantine frees; from here a use of it is no
        // longer caught, as when its memory went back to the C library, which handed the
        // same block to the next IRP of its size. The I/O manager now does that itself:
        // the block goes to this thread's lookaside, for the next request (no free and
        // malloc per request).
        drop_irp_reference(victim);
        io::reuse_after_quarantine(victim);
    }
    return true;
}

std::string history(IRP* irp) {
    Record* r = record_of(irp);
    return r ? render(r) : std::string();
}

uint64_t id_of(IRP* irp) { return ours(irp) ? io::header_of(irp)->sequence : 0; }

std::string last_device(IRP* irp) {
    Record* r = record_of(irp);
    if (!r) return {};
    uint32_t device = 0;
    r->lock.lock();
    for (uint32_t i = r->count; i > 0 && (r->count - i) < kHistory; --i) {
        const Transition& t = r->ring[(i - 1) % kHistory];
        if (t.step == Step::dispatched) {
            device = t.device;
            break;
        }
    }
    r->lock.unlock();
    return device ? device_text(device) : std::string();
}

void report_left_by(uint32_t driver) {
    struct Left {
        Record* r;
        uint64_t id;
        bool created;
        uint32_t device;
    };
    std::vector<Left> left;
    uint32_t high;
    {
        std::lock_guard g(g_table_lock);
        high = g_high;
    }
    for (uint32_t slot = 1; slot < high; ++slot) {
        Record* r = slot_record(slot);
        if (!r) continue;
        r->lock.lock();
        if (r->id.load(std::memory_order_relaxed) && !r->freed) {
            if (r->creator == driver) {
                left.push_back({r, r->id, true, 0});
            } else {
                for (int l = 1; l <= kLocations; ++l)
                    if ((r->dispatched & ~r->unwound & (uint64_t(1) << l)) && r->dispatch_driver[l] == driver) {
                        left.push_back({r, r->id, false, r->dispatch_device[l]});
                        break;
                    }
            }
        }
        r->lock.unlock();
    }
    std::string name = drivers::name_of(driver);
    for (const Left& l : left) {
        Subject s{.irp_id = l.id, .driver_name = name, .history = render(l.r)};
        if (l.created)
            report(Check::IrpLeftAtUnload,
                   fmt::format("driver {} unloaded and the IRP #{} it built is still allocated: free it (IoFreeIrp "
                               "once a completion routine returned STATUS_MORE_PROCESSING_REQUIRED), or wait for it "
                               "to complete, before DriverUnload returns",
                               name, l.id),
                   s);
        else
            report(Check::IrpLeftAtUnload,
                   fmt::format("driver {} unloaded while IRP #{} dispatched to {} is not completed: complete or "
                               "cancel what it holds in IRP_MJ_CLEANUP, and stop its queues before unloading",
                               name, l.id, device_text(l.device)),
                   s);
    }
}

void reset() {
    for (std::atomic<IRP*>& cell : g_quarantine)
        if (IRP* irp = cell.exchange(nullptr)) {
            drop_irp_reference(irp);
            io::IrpHeader* h = io::header_of(irp);
            h->magic = 0;
            std::free(h);
        }
    std::lock_guard g(g_table_lock);
    for (uint32_t slot = 1; slot < g_high; ++slot)
        if (Record* r = slot_record(slot)) {
            r->lock.lock();
            r->id.store(0, std::memory_order_relaxed);
            r->refs = 0;
            r->lock.unlock();
        }
    g_free_head = 0;
    g_high = 1;
    std::lock_guard l(labels().lock);
    labels().by_number.clear();
    g_labels_generation.fetch_add(1);
}

}  // namespace ntio::verifier::irps
