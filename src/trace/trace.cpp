#include "trace/trace.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <mutex>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <vector>

#include "io/iomgr.hpp"
#include "ps/thread.hpp"
#include "system.hpp"

namespace ntio::trace {

std::atomic<bool> g_enabled{false};

namespace {

struct Event {
    Event(int64_t t, uint32_t th, Kind k) : ts(t), thread(th), kind(k) {}
    int64_t ts;  // 100 ns units since the runtime started
    uint32_t thread;
    Kind kind;
    uint8_t major = 0, minor = 0;
    uint64_t irp = 0;
    int64_t value = 0;
    uint64_t info = 0;
    std::string text;
};

struct Recorder {
    std::mutex lock;
    std::vector<Event> events;
    std::unordered_map<PKDEVICE_QUEUE, std::string> queue_names;
    std::string path;
    bool main_named = false;
};
Recorder& recorder() {
    static Recorder* r = new Recorder();  // outlives every runtime (exit handlers record)
    return *r;
}

int64_t now() {
    System::Impl& s = sys();
    return s.dispatcher.now() - s.dispatcher.interrupt_origin();
}

uint32_t thread_number() { return ps::current_thread()->number; }

void push(Event&& e) {
    Recorder& r = recorder();
    std::lock_guard g(r.lock);
    r.events.push_back(std::move(e));
}

const char* major_name(uint8_t major) {
    static const char* const names[] = {
        "CREATE",        "CREATE_NAMED_PIPE",      "CLOSE",           "READ",           "WRITE",
        "QUERY_INFORMATION", "SET_INFORMATION",    "QUERY_EA",        "SET_EA",         "FLUSH_BUFFERS",
        "QUERY_VOLUME_INFORMATION", "SET_VOLUME_INFORMATION", "DIRECTORY_CONTROL", "FILE_SYSTEM_CONTROL",
        "DEVICE_CONTROL", "INTERNAL_DEVICE_CONTROL", "SHUTDOWN",       "LOCK_CONTROL",   "CLEANUP",
        "CREATE_MAILSLOT", "QUERY_SECURITY",       "SET_SECURITY",    "POWER",          "SYSTEM_CONTROL",
        "DEVICE_CHANGE",  "QUERY_QUOTA",           "SET_QUOTA",       "PNP"};
    return major < sizeof names / sizeof names[0] ? names[major] : "?";
}

const char* kind_name(Kind k) {
    switch (k) {
    case Kind::issued: return "issued";
    case Kind::dispatched: return "dispatched";
    case Kind::pending: return "pending";
    case Kind::queued: return "queued";
    case Kind::started: return "StartIo";
    case Kind::cancel: return "cancel";
    case Kind::completion_routine: return "completion routine";
    case Kind::completed: return "completed";
    case Kind::debug_print: return "DbgPrint";
    case Kind::queue_depth: return "queue depth";
    case Kind::thread: return "thread";
    }
    return "?";
}

// Microseconds with the 100 ns digit: Chrome's unit, exact for the runtime clock.
double micros(int64_t ts) { return static_cast<double>(ts) / 10.0; }

std::string chrome_json(std::vector<Event> events) {
    // One order for a deterministic file: time, then thread, then record order.
    std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
        return a.ts != b.ts ? a.ts < b.ts : a.thread < b.thread;
    });
    nlohmann::ordered_json out;
    out["displayTimeUnit"] = "ms";
    nlohmann::ordered_json& list = out["traceEvents"];
    list = nlohmann::ordered_json::array();
    std::map<uint64_t, std::string> span_names;  // IRP id -> span name, once begun
    // IRPs are numbered in the order they appear in this sorted stream, not by their
    // runtime sequence number: threads that issue requests at the same virtual
    // instant take sequence numbers in whatever order they ran.
    std::unordered_map<uint64_t, uint64_t> ids;
    std::set<uint64_t> ended;
    for (Event& e : events) {
        if (e.kind == Kind::thread || e.kind == Kind::debug_print || e.kind == Kind::queue_depth) continue;
        auto [it, fresh] = ids.emplace(e.irp, ids.size() + 1);
        e.irp = it->second;
    }
    for (const Event& e : events) {
        nlohmann::ordered_json j;
        switch (e.kind) {
        case Kind::thread:
            list.push_back({{"name", "thread_name"}, {"ph", "M"}, {"pid", 1}, {"tid", e.thread},
                            {"args", {{"name", e.text}}}});
            continue;
        case Kind::debug_print:
            list.push_back({{"name", e.text}, {"cat", "DbgPrint"}, {"ph", "i"}, {"s", "t"}, {"ts", micros(e.ts)},
                            {"pid", 1}, {"tid", e.thread}});
            continue;
        case Kind::queue_depth:
            list.push_back({{"name", "queue " + e.text}, {"ph", "C"}, {"ts", micros(e.ts)}, {"pid", 1},
                            {"args", {{"depth", e.value}}}});
            continue;
        default:
            break;
        }
        auto span = span_names.find(e.irp);
        if (span == span_names.end() && ended.count(e.irp)) {
            // After its completion (a dispatch routine returning STATUS_PENDING for an
            // IRP completed meanwhile, as the StartIo recursion does): on the thread.
            list.push_back({{"name", fmt::format("IRP #{} {} (after completion)", e.irp, kind_name(e.kind))},
                            {"cat", "irp"}, {"ph", "i"}, {"s", "t"}, {"ts", micros(e.ts)}, {"pid", 1},
                            {"tid", e.thread}});
            continue;
        }
        if (span == span_names.end()) {
            std::string name = fmt::format("IRP #{} {}", e.irp, major_name(e.major));
            span = span_names.emplace(e.irp, name).first;
            nlohmann::ordered_json args = {{"major", std::string("IRP_MJ_") + major_name(e.major)}};
            if (!e.text.empty()) args["device"] = e.text;
            list.push_back({{"name", name}, {"cat", "irp"}, {"ph", "b"}, {"id", e.irp}, {"ts", micros(e.ts)},
                            {"pid", 1}, {"tid", e.thread}, {"args", args}});
        }
        nlohmann::ordered_json args = nlohmann::ordered_json::object();
        if (!e.text.empty()) args["device"] = e.text;
        if (e.kind == Kind::completed) {
            args["status"] = fmt::format("{:#010x}", static_cast<uint32_t>(e.value));
            args["information"] = e.info;
        }
        if (e.kind == Kind::completed) {
            list.push_back({{"name", span->second}, {"cat", "irp"}, {"ph", "e"}, {"id", e.irp},
                            {"ts", micros(e.ts)}, {"pid", 1}, {"tid", e.thread}, {"args", args}});
            span_names.erase(span);
            ended.insert(e.irp);
        } else if (e.kind != Kind::issued) {
            list.push_back({{"name", kind_name(e.kind)}, {"cat", "irp"}, {"ph", "n"}, {"id", e.irp},
                            {"ts", micros(e.ts)}, {"pid", 1}, {"tid", e.thread}, {"args", args}});
        }
    }
    return out.dump(1) + "\n";
}

}  // namespace

void irp_event(Kind kind, IRP* irp, PDEVICE_OBJECT device, int64_t value, uint64_t info) {
    Event e(now(), thread_number(), kind);
    e.irp = io::header_of(irp)->sequence;
    // The stack location the event is about: the one being called for `issued`,
    // the current one after IoCallDriver.
    PIO_STACK_LOCATION sl = nullptr;
    if (kind == Kind::issued && irp->CurrentLocation > 1) sl = IoGetNextIrpStackLocation(irp);
    else if (kind != Kind::issued && irp->CurrentLocation <= irp->StackCount) sl = IoGetCurrentIrpStackLocation(irp);
    if (sl) {
        e.major = sl->MajorFunction;
        e.minor = sl->MinorFunction;
    }
    if (device) e.text = io::device_label(device);
    e.value = value;
    e.info = info;
    push(std::move(e));
}

IrpIdentity identify(IRP* irp) {
    IrpIdentity id{io::header_of(irp)->sequence, 0, 0};
    if (irp->CurrentLocation <= irp->StackCount) {
        id.major = IoGetCurrentIrpStackLocation(irp)->MajorFunction;
        id.minor = IoGetCurrentIrpStackLocation(irp)->MinorFunction;
    }
    return id;
}

void irp_event(Kind kind, const IrpIdentity& irp, PDEVICE_OBJECT device) {
    Event e(now(), thread_number(), kind);
    e.irp = irp.sequence;
    e.major = irp.major;
    e.minor = irp.minor;
    if (device) e.text = io::device_label(device);
    push(std::move(e));
}

void irp_completed(IRP* irp) {
    PDEVICE_OBJECT dev =
        irp->CurrentLocation <= irp->StackCount ? IoGetCurrentIrpStackLocation(irp)->DeviceObject : nullptr;
    irp_event(Kind::completed, irp, dev, irp->IoStatus.Status, irp->IoStatus.Information);
}

void debug_line(const char* text, size_t length) {
    Event e(now(), thread_number(), Kind::debug_print);
    e.text.assign(text, length);
    push(std::move(e));
}

void thread_named(_KTHREAD* t) {
    Event e(now(), t->number, Kind::thread);
    Recorder& r = recorder();
    std::lock_guard g(r.lock);
    // The first thread the runtime adopts is the program's main thread.
    if (t->adopted && !r.main_named) {
        r.main_named = true;
        e.text = "main";
    } else {
        e.text = fmt::format("{} {}", t->system_thread ? "system thread" : t->adopted ? "adopted thread" : "thread",
                             t->number);
    }
    r.events.push_back(std::move(e));
}

void name_device_queue(PKDEVICE_QUEUE queue, const std::string& device) {
    Recorder& r = recorder();
    std::lock_guard g(r.lock);
    r.queue_names[queue] = device;
}

void device_queue_changed(PKDEVICE_QUEUE queue) {
    Recorder& r = recorder();
    std::string name;
    {
        std::lock_guard g(r.lock);
        auto it = r.queue_names.find(queue);
        if (it == r.queue_names.end()) return;
        name = it->second;
    }
    int64_t depth = 0;
    for (PLIST_ENTRY l = queue->DeviceListHead.Flink; l != &queue->DeviceListHead; l = l->Flink) ++depth;
    Event e(now(), thread_number(), Kind::queue_depth);
    e.value = depth;
    e.text = std::move(name);
    push(std::move(e));
}

void begin(const std::string& path) {
    Recorder& r = recorder();
    {
        std::lock_guard g(r.lock);
        r.events.clear();
        r.queue_names.clear();
        r.path = path;
        r.main_named = false;
    }
    g_enabled.store(!path.empty(), std::memory_order_relaxed);
}

void end() {
    if (!g_enabled.exchange(false)) return;
    Recorder& r = recorder();
    std::vector<Event> events;
    std::string path;
    {
        std::lock_guard g(r.lock);
        events.swap(r.events);
        path.swap(r.path);
        r.queue_names.clear();
    }
    std::string json = chrome_json(std::move(events));
    FILE* f = std::fopen(path.c_str(), "w");
    if (!f) {
        std::fprintf(stderr, "ntio: cannot write the trace to %s\n", path.c_str());
        return;
    }
    std::fwrite(json.data(), 1, json.size(), f);
    std::fclose(f);
}

}  // namespace ntio::trace
