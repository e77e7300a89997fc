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
#include "verifier/hooks.hpp"

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
    uint32_t device = 0;  // 1 + index into Recorder::labels; prepare() turns it into text
    std::string text;
};

struct Recorder {
    std::mutex lock;
    std::vector<Event> events;
    std::unordered_map<PKDEVICE_QUEUE, std::string> queue_names;
    std::string path;
    bool main_named = false;
    // Device labels, built once per device per trace (events carry an index): a
    // label is a formatted string, too dear to build at every event.
    std::vector<std::string> labels;
    uint32_t generation = 0;  // bumped by begin(): a device's cached index is for one trace
};
Recorder& recorder() {
    static Recorder* r = new Recorder();  // outlives every runtime (exit handlers record)
    return *r;
}

uint32_t label_of(PDEVICE_OBJECT device) {
    io::DeviceRuntime& rt = io::runtime(device);
    Recorder& r = recorder();
    uint64_t cached = rt.trace_label.load(std::memory_order_acquire);
    uint32_t generation = __atomic_load_n(&r.generation, __ATOMIC_RELAXED);
    if (cached && static_cast<uint32_t>(cached >> 32) == generation) return static_cast<uint32_t>(cached);
    std::string label = io::device_label(device);
    std::lock_guard g(r.lock);
    r.labels.push_back(std::move(label));
    auto index = static_cast<uint32_t>(r.labels.size());
    rt.trace_label.store((uint64_t(r.generation) << 32) | index, std::memory_order_release);
    return index;
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

const char* major_name(uint8_t major) { return io::major_function_name(major); }

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
    case Kind::notified: return "caller notified";
    case Kind::wait: return "wait";
    case Kind::collected: return "result collected";
    case Kind::cancel_routine: return "cancel routine";
    case Kind::dequeued: return "taken from the CSQ";
    case Kind::thread_end: return "thread ends";
    case Kind::freed: return "freed";
    case Kind::verifier: return "verifier";
    }
    return "?";
}

std::string notified_name(int64_t how) {
    std::string s = "caller notified:";
    if (how & kNotifiedStatusBlock) s += " status block";
    if (how & kNotifiedEvent) s += " event";
    if (how & kNotifiedFileEvent) s += " file object";
    if (how & kNotifiedPort) s += " completion port";
    if (how & kNotifiedApc) s += " APC";
    if (how == 0) s += " nothing (an immediate failure)";
    return s;
}

// Microseconds with the 100 ns digit: Chrome's unit, exact for the runtime clock.
double micros(int64_t ts) { return static_cast<double>(ts) / 10.0; }

// One order for deterministic output: time, then thread, then record order. IRPs
// are renumbered in the order they appear, not by runtime sequence number: threads
// that issue requests at the same virtual instant take sequence numbers in
// whatever order they ran.
bool about_an_irp(Kind k) {
    return k != Kind::thread && k != Kind::debug_print && k != Kind::queue_depth && k != Kind::wait &&
           k != Kind::thread_end && k != Kind::collected && k != Kind::verifier;
}
// Events that only follow an IRP's life (they never start one: an IRP freed unsent).
bool epilogue(Kind k) { return k == Kind::notified || k == Kind::freed; }

// Returns the number of IRPs.
size_t prepare(std::vector<Event>& events, const std::vector<std::string>& labels) {
    // A collected result belongs to the last request notified through the same status
    // block (the caller's OVERLAPPED). Matched in recording order, which follows
    // causality (the notification is recorded before the caller is signaled); the
    // address itself never reaches the output.
    std::unordered_map<uint64_t, uint64_t> notified_through;
    for (Event& e : events) {
        if (e.kind == Kind::notified && e.info) notified_through[e.info] = e.irp;
        if (e.kind == Kind::collected) {
            auto it = notified_through.find(e.info);
            e.irp = it != notified_through.end() ? it->second : 0;
        }
        if (e.kind == Kind::notified || e.kind == Kind::collected) e.info = 0;
    }
    std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
        return a.ts != b.ts ? a.ts < b.ts : a.thread < b.thread;
    });
    std::unordered_map<uint64_t, uint64_t> ids;
    for (Event& e : events) {
        if (e.device) e.text = labels[e.device - 1];
        if (!about_an_irp(e.kind)) continue;
        auto [it, fresh] = ids.emplace(e.irp, ids.size() + 1);
        e.irp = it->second;
    }
    for (Event& e : events) {
        if (e.kind != Kind::collected || !e.irp) continue;
        auto it = ids.find(e.irp);
        e.irp = it != ids.end() ? it->second : 0;
    }
    return ids.size();
}

std::string chrome_json(const std::vector<Event>& events) {
    nlohmann::ordered_json out;
    out["displayTimeUnit"] = "ms";
    nlohmann::ordered_json& list = out["traceEvents"];
    list = nlohmann::ordered_json::array();
    std::map<uint64_t, std::string> span_names;  // IRP id -> span name, once begun
    std::set<uint64_t> ended;
    // Hops down a stack: an IRP dispatched to more than one device gets a short slice
    // on the thread at each dispatch and flow arrows linking them, top to bottom.
    std::map<uint64_t, int> dispatches, hops_seen;
    for (const Event& e : events)
        if (e.kind == Kind::dispatched) dispatches[e.irp]++;
    for (const Event& e : events) {
        if (e.kind == Kind::dispatched && dispatches[e.irp] > 1) {
            int hop = ++hops_seen[e.irp];
            list.push_back({{"name", fmt::format("IRP #{} to {}", e.irp, e.text)}, {"cat", "hop"}, {"ph", "X"},
                            {"ts", micros(e.ts)}, {"dur", 0.1}, {"pid", 1}, {"tid", e.thread}});
            const char* ph = hop == 1 ? "s" : hop == dispatches[e.irp] ? "f" : "t";
            nlohmann::ordered_json flow = {{"name", fmt::format("IRP #{} down the stack", e.irp)},
                                           {"cat", "hop"}, {"ph", ph}, {"id", e.irp}, {"ts", micros(e.ts)},
                                           {"pid", 1}, {"tid", e.thread}};
            if (hop > 1) flow["bp"] = "e";
            list.push_back(flow);
        }
        switch (e.kind) {
        case Kind::thread:
            list.push_back({{"name", "thread_name"}, {"ph", "M"}, {"pid", 1}, {"tid", e.thread},
                            {"args", {{"name", e.text}}}});
            list.push_back({{"name", "thread starts"}, {"cat", "thread"}, {"ph", "i"}, {"s", "t"},
                            {"ts", micros(e.ts)}, {"pid", 1}, {"tid", e.thread}});
            continue;
        case Kind::debug_print:
            list.push_back({{"name", e.text}, {"cat", "DbgPrint"}, {"ph", "i"}, {"s", "t"}, {"ts", micros(e.ts)},
                            {"pid", 1}, {"tid", e.thread}});
            continue;
        case Kind::queue_depth:
            list.push_back({{"name", "queue " + e.text}, {"ph", "C"}, {"ts", micros(e.ts)}, {"pid", 1},
                            {"args", {{"depth", e.value}}}});
            continue;
        case Kind::wait:
            list.push_back({{"name", e.major == 0 ? "sleep" : e.value == STATUS_TIMEOUT ? "wait (timed out)" : "wait"},
                            {"cat", "wait"},
                            {"ph", "X"}, {"ts", micros(e.ts)}, {"dur", micros(static_cast<int64_t>(e.info) - e.ts)},
                            {"pid", 1}, {"tid", e.thread},
                            {"args", {{"objects", e.major}, {"status", fmt::format("{:#010x}", static_cast<uint32_t>(e.value))}}}});
            continue;
        case Kind::collected:
            list.push_back({{"name", fmt::format("{}result collected ({})",
                                                 e.irp ? fmt::format("IRP #{} ", e.irp) : std::string(),
                                                 e.value == kCollectedFromPort ? "completion port"
                                                                               : "GetOverlappedResult")},
                            {"cat", "irp"}, {"ph", "i"}, {"s", "t"}, {"ts", micros(e.ts)}, {"pid", 1},
                            {"tid", e.thread}});
            continue;
        case Kind::thread_end:
            list.push_back({{"name", "thread ends"}, {"cat", "thread"}, {"ph", "i"}, {"s", "t"}, {"ts", micros(e.ts)},
                            {"pid", 1}, {"tid", e.thread}});
            continue;
        case Kind::verifier: {
            // The check's name as the instant's title, what it found in its arguments.
            size_t colon = e.text.find(':');
            nlohmann::ordered_json args = {{"message", e.text.substr(colon + 2)}};
            if (e.info) args["irp (runtime id)"] = e.info;
            list.push_back({{"name", "verifier: " + e.text.substr(0, colon)}, {"cat", "verifier"}, {"ph", "i"},
                            {"s", "t"}, {"ts", micros(e.ts)}, {"pid", 1}, {"tid", e.thread}, {"args", args}});
            continue;
        }
        default:
            break;
        }
        auto span = span_names.find(e.irp);
        if (span == span_names.end() && (ended.count(e.irp) || epilogue(e.kind))) {
            // After its completion (a dispatch routine returning STATUS_PENDING for an
            // IRP completed meanwhile, as the StartIo recursion does): on the thread.
            // Completion routines run while IoCompleteRequest unwinds, after the span's end.
            std::string what = e.kind == Kind::notified ? notified_name(e.value)
                               : e.kind == Kind::freed || e.kind == Kind::completion_routine
                                   ? std::string(kind_name(e.kind))
                                   : std::string(kind_name(e.kind)) + " (after completion)";
            list.push_back({{"name", fmt::format("IRP #{} {}", e.irp, what)}, {"cat", "irp"}, {"ph", "i"}, {"s", "t"},
                            {"ts", micros(e.ts)}, {"pid", 1}, {"tid", e.thread}});
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


std::string xml_escape(const std::string& in) {
    std::string out;
    for (char c : in) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        default: out += c;
        }
    }
    return out;
}

// A self-contained SVG timeline in the spirit of the StartIo article's diagram:
// a lane per thread that issued requests, a bar per IRP from issue to completion
// (pale while it waits, solid from StartIo on), time in seconds below.
std::string svg_timeline(const std::vector<Event>& events) {
    struct Bar {
        uint64_t id;
        uint32_t thread;
        uint8_t major;
        int64_t begin, started = -1, end = -1;
        int64_t status = 0;
    };
    std::map<uint64_t, Bar> bars;
    std::map<uint32_t, std::string> thread_names;
    int64_t last = 1;
    for (const Event& e : events) {
        last = std::max(last, e.ts);
        if (e.kind == Kind::thread) thread_names[e.thread] = e.text;
        if (!about_an_irp(e.kind)) continue;
        auto it = bars.find(e.irp);
        if (it == bars.end() && epilogue(e.kind)) continue;
        if (it == bars.end()) it = bars.emplace(e.irp, Bar{e.irp, e.thread, e.major, e.ts}).first;
        Bar& b = it->second;
        if (e.kind == Kind::started && b.started < 0) b.started = e.ts;
        if (e.kind == Kind::completed && b.end < 0) {
            b.end = e.ts;
            b.status = e.value;
        }
    }
    std::vector<uint32_t> lanes;  // issuing threads, in thread order
    for (const auto& [id, b] : bars)
        if (std::find(lanes.begin(), lanes.end(), b.thread) == lanes.end()) lanes.push_back(b.thread);
    std::sort(lanes.begin(), lanes.end());
    const double left = 170, width = 900, lane_h = 34, top = 40;
    const double height = top + lane_h * static_cast<double>(lanes.size()) + 50;
    auto x = [&](int64_t ts) { return left + width * static_cast<double>(ts) / static_cast<double>(last); };
    std::string o;
    o += fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0f}\" height=\"{:.0f}\" "
                     "font-family=\"sans-serif\" font-size=\"11\">\n",
                     left + width + 30, height);
    o += fmt::format("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    o += fmt::format("<text x=\"10\" y=\"22\" font-size=\"14\" font-weight=\"bold\">ntio trace: {} IRPs on {} "
                     "threads, {:.3f} s</text>\n",
                     bars.size(), lanes.size(), static_cast<double>(last) / 1e7);
    o += fmt::format("<rect x=\"{0:.0f}\" y=\"12\" width=\"14\" height=\"10\" fill=\"#c9daf8\" stroke=\"#2b5797\" "
                     "stroke-width=\"0.5\"/><text x=\"{1:.0f}\" y=\"21\">issued, waiting</text>\n"
                     "<rect x=\"{2:.0f}\" y=\"12\" width=\"14\" height=\"10\" fill=\"#2b5797\"/>"
                     "<text x=\"{3:.0f}\" y=\"21\">in StartIo</text>\n",
                     left + width - 230, left + width - 212, left + width - 110, left + width - 92);
    // Time axis: a tick every 1, 2 or 5 x 10^k seconds, about ten of them.
    double span_s = static_cast<double>(last) / 1e7, step = 1e-6;
    for (double decade = 1e-6; span_s / step > 10; decade *= 10)
        for (double m : {1.0, 2.0, 5.0})
            if (span_s / (step = m * decade) <= 10) break;
    double axis_y = top + lane_h * static_cast<double>(lanes.size()) + 10;
    o += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#444\"/>\n", left,
                     axis_y, left + width, axis_y);
    for (double t = 0; t <= span_s * 1.0001; t += step) {
        double tx = x(static_cast<int64_t>(t * 1e7));
        o += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#ddd\"/>\n", tx,
                         top - 5, axis_y);
        o += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{:g} s</text>\n", tx, axis_y + 16, t);
    }
    for (size_t i = 0; i < lanes.size(); ++i) {
        double y = top + lane_h * static_cast<double>(i);
        auto name = thread_names.find(lanes[i]);
        std::string label = name != thread_names.end() ? name->second : fmt::format("thread {}", lanes[i]);
        o += fmt::format("<text x=\"10\" y=\"{:.1f}\">{}</text>\n", y + lane_h / 2 + 4, xml_escape(label));
        o += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#eee\"/>\n", left,
                         y + lane_h, left + width, y + lane_h);
    }
    for (const auto& [id, b] : bars) {
        size_t lane = static_cast<size_t>(std::find(lanes.begin(), lanes.end(), b.thread) - lanes.begin());
        double y = top + lane_h * static_cast<double>(lane) + 6, h = lane_h - 12;
        int64_t end = b.end >= 0 ? b.end : last;
        double x0 = x(b.begin), x1 = std::max(x(end), x0 + 2);
        bool failed = b.end >= 0 && b.status < 0;
        std::string title = fmt::format("IRP #{} IRP_MJ_{}: {:.3f} s to {}", id, major_name(b.major),
                                        static_cast<double>(b.begin) / 1e7,
                                        b.end >= 0 ? fmt::format("{:.3f} s, status {:#010x}", static_cast<double>(b.end) / 1e7,
                                                                 static_cast<uint32_t>(b.status))
                                                   : std::string("never completed"));
        o += fmt::format("<g class=\"irp\" data-irp=\"{}\"><title>{}</title>\n", id, xml_escape(title));
        o += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\" "
                         "stroke=\"#2b5797\" stroke-width=\"0.5\"/>\n",
                         x0, y, x1 - x0, h, failed ? "#f4c7c3" : "#c9daf8");
        if (b.started >= 0)
            o += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"#2b5797\"/>\n",
                             x(b.started), y, std::max(x(end) - x(b.started), 2.0), h);
        if (x1 - x0 > 60)
            o += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" fill=\"{}\">#{} {}</text>\n", x0 + 4, y + h / 2 + 4,
                             b.started >= 0 && b.started == b.begin ? "white" : "#1a1a1a", id, major_name(b.major));
        o += "</g>\n";
    }
    o += "</svg>\n";
    return o;
}

// The short text summary (FILE.txt): one line per IRP with the times of its main
// steps, the device queues' peak depths, and the IRPs that never completed.
std::string text_summary(const std::vector<Event>& events) {
    struct Life {
        uint32_t thread = 0;
        uint8_t major = 0;
        std::string device;
        int64_t issued = -1, queued = -1, started = -1, completed = -1;
        int64_t status = 0;
        uint64_t information = 0;
        int routines = 0;
        bool cancelled = false, pended = false;
    };
    std::map<uint64_t, Life> irps;
    std::map<std::string, int64_t> peak_depth;
    std::map<uint32_t, std::string> thread_names;
    int64_t last = 0;
    for (const Event& e : events) {
        last = std::max(last, e.ts);
        if (e.kind == Kind::thread) thread_names[e.thread] = e.text;
        if (e.kind == Kind::queue_depth) peak_depth[e.text] = std::max(peak_depth[e.text], e.value);
        if (!about_an_irp(e.kind) || (epilogue(e.kind) && !irps.count(e.irp))) continue;
        auto [it, fresh] = irps.try_emplace(e.irp);
        Life& l = it->second;
        if (fresh) {
            l.thread = e.thread;
            l.major = e.major;
            l.issued = e.ts;
        }
        if (l.device.empty() && !e.text.empty()) l.device = e.text;
        switch (e.kind) {
        case Kind::queued: if (l.queued < 0) l.queued = e.ts; break;
        case Kind::started: if (l.started < 0) l.started = e.ts; break;
        case Kind::pending: l.pended = true; break;
        case Kind::cancel: l.cancelled = true; break;
        case Kind::completion_routine: l.routines++; break;
        case Kind::completed:
            if (l.completed < 0) {
                l.completed = e.ts;
                l.status = e.value;
                l.information = e.info;
            }
            break;
        default: break;
        }
    }
    auto ms = [](int64_t ts) { return fmt::format("{:.3f}", static_cast<double>(ts) / 1e4); };
    std::string o = fmt::format("ntio trace summary: {} IRPs, {:.3f} s (times in ms since the runtime started)\n",
                                irps.size(), static_cast<double>(last) / 1e7);
    o += fmt::format("{:>5} {:<22} {:<16} {:<24} {:>10} {:>10} {:>10} {:>10}  {}\n", "IRP", "major", "thread", "device",
                     "issued", "queued", "started", "completed", "status, information");
    size_t open = 0;
    for (const auto& [id, l] : irps) {
        auto name = thread_names.find(l.thread);
        std::string thread = name != thread_names.end() ? name->second : fmt::format("thread {}", l.thread);
        std::string result = l.completed >= 0
                                 ? fmt::format("{:#010x}, {}", static_cast<uint32_t>(l.status), l.information)
                                 : std::string("NEVER COMPLETED");
        if (l.completed < 0) ++open;
        std::string notes;
        if (l.pended) notes += " pended";
        if (l.cancelled) notes += " cancel requested";
        if (l.routines) notes += fmt::format(" {} completion routine(s)", l.routines);
        o += fmt::format("{:>5} {:<22} {:<16} {:<24} {:>10} {:>10} {:>10} {:>10}  {}{}\n", fmt::format("#{}", id),
                         std::string("IRP_MJ_") + major_name(l.major), thread, l.device, ms(l.issued),
                         l.queued >= 0 ? ms(l.queued) : "-", l.started >= 0 ? ms(l.started) : "-",
                         l.completed >= 0 ? ms(l.completed) : "-", result, notes);
    }
    for (const auto& [queue, depth] : peak_depth) o += fmt::format("device queue of {}: peak depth {}\n", queue, depth);
    for (const Event& e : events)
        if (e.kind == Kind::verifier)
            o += fmt::format("verifier at {} ms: {}\n", ms(e.ts), e.text.substr(0, e.text.find('\n')));
    if (open) o += fmt::format("{} IRP(s) never completed\n", open);
    return o;
}

void write_file(const std::string& path, const std::string& text) {
    FILE* f = std::fopen(path.c_str(), "w");
    if (!f) {
        std::fprintf(stderr, "ntio: cannot write the trace to %s\n", path.c_str());
        return;
    }
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
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
    if (device) e.device = label_of(device);
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
    if (device) e.device = label_of(device);
    push(std::move(e));
}

void irp_completed(IRP* irp) {
    PDEVICE_OBJECT dev =
        irp->CurrentLocation <= irp->StackCount ? IoGetCurrentIrpStackLocation(irp)->DeviceObject : nullptr;
    irp_event(Kind::completed, irp, dev, irp->IoStatus.Status, irp->IoStatus.Information);
}

void irp_after(Kind kind, uint64_t sequence, int64_t value, const void* status_block) {
    Event e(now(), thread_number(), kind);
    e.irp = sequence;
    e.value = value;
    e.info = reinterpret_cast<uint64_t>(status_block);
    push(std::move(e));
}

void result_collected(const void* status_block, int64_t how) {
    Event e(now(), thread_number(), Kind::collected);
    e.info = reinterpret_cast<uint64_t>(status_block);
    e.value = how;
    push(std::move(e));
}

void waited(int64_t began, NTSTATUS status, uint32_t objects) {
    System::Impl& s = sys();
    int64_t from = began - s.dispatcher.interrupt_origin(), to = now();
    // A wait that took no time is a scheduling accident (under the virtual clock it
    // depends on which thread ran first), not part of the scenario: left out, so that
    // traces stay the same from run to run.
    if (to <= from) return;
    Event e(from, thread_number(), Kind::wait);
    e.info = static_cast<uint64_t>(to);
    e.value = status;
    e.major = static_cast<uint8_t>(objects);
    push(std::move(e));
}

void thread_ended(_KTHREAD* t) {
    Event e(now(), t->number, Kind::thread_end);
    push(std::move(e));
}

void debug_line(const char* text, size_t length) {
    Event e(now(), thread_number(), Kind::debug_print);
    e.text.assign(text, length);
    push(std::move(e));
}

void verifier_event(const char* check, const std::string& message, uint64_t irp) {
    Event e(now(), thread_number(), Kind::verifier);
    e.text = std::string(check) + ": " + message;
    e.info = irp;
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
        r.labels.clear();
        r.generation++;
    }
#ifdef NTIO_NO_TRACER
    if (!path.empty())
        std::fprintf(stderr, "ntio: this build has no IRP tracer (configured with -DNTIO_TRACER=OFF); no trace is "
                             "written to %s\n", path.c_str());
    return;
#endif
    g_enabled.store(!path.empty(), std::memory_order_relaxed);
    verifier::set_irp_watcher(verifier::kWatchTrace, !path.empty());
}

void end() {
    if (!g_enabled.exchange(false)) return;
    verifier::set_irp_watcher(verifier::kWatchTrace, false);
    Recorder& r = recorder();
    std::vector<Event> events;
    std::vector<std::string> labels;
    std::string path;
    {
        std::lock_guard g(r.lock);
        events.swap(r.events);
        labels.swap(r.labels);
        path.swap(r.path);
        r.queue_names.clear();
    }
    size_t irps = prepare(events, labels);
    write_file(path, chrome_json(events));
    // The SVG timeline beside it: startio.json -> startio.svg.
    std::string svg_path = path;
    if (svg_path.size() > 5 && svg_path.compare(svg_path.size() - 5, 5, ".json") == 0) svg_path.resize(svg_path.size() - 5);
    svg_path += ".svg";
    write_file(svg_path, svg_timeline(events));
    std::string txt_path = svg_path.substr(0, svg_path.size() - 4) + ".txt";
    write_file(txt_path, text_summary(events));
    std::fprintf(stderr, "ntio: trace of %zu IRPs written to %s (open in https://ui.perfetto.dev), %s and %s\n", irps,
                 path.c_str(), svg_path.c_str(), txt_path.c_str());
}

}  // namespace ntio::trace
