// ntio C++ API: create a runtime, drive its clock, read its accounting.
//
// Driver and app code use the Windows names from the compat headers; this
// header is for hosts and tests. A GoogleTest test typically does:
//
//   ntio::System sys({.clock = ntio::Clock::virtual_time});
//   ... start threads, issue requests ...
//   sys.advance(std::chrono::seconds(3));   // or let idle threads move time
//
// Exactly one System exists at a time. Programs that never create one get a
// default System, configured from the environment (NTIO_CLOCK, ...), the first
// time they call a Windows API.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#define NTIO_PUBLIC __attribute__((visibility("default")))

struct _DRIVER_OBJECT;
struct _UNICODE_STRING;

namespace ntio {

enum class Clock {
    real,          // the monotonic OS clock
    virtual_time,  // stands still while any managed thread runs; jumps to the next deadline when all wait
};

struct NTIO_PUBLIC Options {
    Clock clock = Clock::real;
    std::string debug_log;  // DbgPrint/KdPrint destination file; empty = stderr
    bool debug_quiet = false;  // drop DbgPrint output entirely
    // Record an IRP trace and write it here as Chrome Trace Event JSON (Perfetto)
    // when the runtime ends; empty = no trace (each trace point costs one load).
    std::string trace_file;
    // A thread about to block polls this many times (a few microseconds) before it
    // sleeps in the kernel, so a quick hand-over between two threads costs no
    // sleep/wake-up pair (like a critical section's spin count). 0 = always sleep.
    int wait_spin = 300;
    // Virtual clock: when time cannot move for this long in real time (a managed
    // thread blocked outside ntio, or a deadlock), print why, once. 0 = never.
    int stall_warning_ms = 5000;
    // ---- the verifier (docs/running.md, "The verifier") ----
    // An empty string takes the setting from the environment (NTIO_VERIFIER,
    // NTIO_VERIFIER_CHECKS, NTIO_FAULTS), so that a test binary can be run under other
    // settings without rebuilding it. A bad setting makes the System constructor throw
    // std::invalid_argument with a message that lists the valid names.
    // What a check that is on does: "report" (print, count, go on; the default),
    // "fail" (stop at the first report) or "off" (every check off).
    std::string verifier;
    // Per check, left to right: "all", "NAME", "NAME=off|on|report|fail", comma-separated
    // ("all,StartIoRecursion=off"). `ntio checks` lists the names.
    std::string verifier_checks;
    // Fault injection, seeded and reproducible (docs/running.md, "Fault injection"):
    // "seed=1234,pool=0.1,irp=#3,mdl=0.05,pending=0.5,delay=0.2,delay_ms=20,cancel=0.1,
    // cancel_ms=50,tags=Abcd|Efgh,scope=drivers|all,log=on". Empty: NTIO_FAULTS, else none.
    std::string faults;
    // StartIoStalled: how long a StartIo device may go without IoStartNextPacket once its
    // current IRP completed (exact under virtual time). 0: NTIO_VERIFIER_STARTIO_MS, else 1000.
    int startio_stall_ms = 0;
    // .reg files loaded into the registry, in order, when the runtime starts: before any
    // driver loads (docs/running.md, "The registry"). A file that cannot be read or
    // parsed makes the System constructor throw std::invalid_argument. NTIO_REGISTRY
    // (paths separated by ':') adds its files after these.
    std::vector<std::string> registry_files;
    // Options as `ntio run` and the documented environment variables set them
    // (NTIO_CLOCK=virtual|real, NTIO_DBGPRINT_FILE=path, NTIO_DBGPRINT=off,
    // NTIO_WAIT_SPIN=n, NTIO_STALL_WARNING_MS=n, NTIO_REGISTRY, and the verifier's variables).
    static Options from_environment();
};

struct PoolTagUsage {
    uint32_t tag;
    std::string tag_text;  // the tag as its four characters, e.g. "Drv1"
    uint64_t allocations;  // live allocations
    uint64_t bytes;        // live bytes
};

class NTIO_PUBLIC System {
public:
    explicit System(const Options& options = {});
    ~System();
    System(const System&) = delete;
    System& operator=(const System&) = delete;

    static bool exists();

    Clock clock() const;
    // Virtual time since this System started (also valid for the real clock).
    std::chrono::nanoseconds now() const;

    // ---- virtual clock control (the real clock ignores pause/resume and refuses advance) ----
    // pause(): time moves only through advance(); resume(): time jumps again whenever
    // every managed thread waits.
    void pause();
    void resume();
    // Moves time forward by `delta`, firing every timer and timeout due in between, in order.
    void advance(std::chrono::nanoseconds delta);
    // Waits until every other managed thread is blocked and nothing is due now;
    // returns the number of timers still pending (deadlines in the future).
    size_t run_until_idle();
    // Managed threads currently counted as running (virtual-clock accounting).
    int running_threads() const;

    // ---- drivers ------------------------------------------------------------------------
    // Loads a driver module as `ntio run --driver PATH` does; DriverEntry has run when
    // this returns. Returns DriverEntry's NTSTATUS (or the failure to load).
    int32_t load_driver(const std::string& path);
    // The same for a DriverEntry linked into the program (tests): `name` makes
    // \Driver\name and the service key.
    using DriverEntryFunction = int32_t (*)(_DRIVER_OBJECT*, _UNICODE_STRING*);
    int32_t load_driver(const std::string& name, DriverEntryFunction entry);
    // The same for a PnP driver with `instances` devices (`ntio run --driver PATH
    // --instances N`, N >= 1): DriverEntry, then for each device ROOT\<NAME>\0000, 0001, ...
    // (NAME: the module or `name`, upper-cased) AddDevice and IRP_MN_START_DEVICE have run
    // when this returns. Without `instances` a PnP driver gets one device. A driver that
    // does not set AddDevice fails with STATUS_INVALID_PARAMETER (reported on stderr) and
    // is not kept; AddDevice or START failures are reported on stderr and leave the
    // driver loaded without that device.
    int32_t load_driver(const std::string& path, int instances);
    int32_t load_driver(const std::string& name, DriverEntryFunction entry, int instances);
    // Removes the driver's PnP devices (IRP_MN_QUERY_REMOVE_DEVICE, IRP_MN_REMOVE_DEVICE),
    // then calls its DriverUnload. Drivers still loaded unload, newest first, when the
    // System is destroyed. Returns false for an unknown name.
    bool unload_driver(const std::string& name);

    // IRPs this runtime allocated and has not yet completed or freed (IRPs an earlier
    // runtime in the process leaked were reported at its teardown and are not counted).
    int64_t live_irps() const;

    // ---- Plug and Play ----------------------------------------------------------------
    // Instance IDs ("ROOT\ECHO\0000") of the PnP devices present (added, not removed or
    // surprise-removed), in the order they were created.
    std::vector<std::string> device_instances() const;
    // Removes a PnP device as Windows does when it is uninstalled (orderly) or unplugged
    // (surprise). Returns
    //   STATUS_SUCCESS: the stack got IRP_MN_QUERY_REMOVE_DEVICE and IRP_MN_REMOVE_DEVICE
    //     (orderly), or IRP_MN_SURPRISE_REMOVAL and IRP_MN_REMOVE_DEVICE (surprise, no file
    //     object open); the PDO is deleted, and when it was its driver's last device the
    //     driver has unloaded too (DriverUnload);
    //   STATUS_PENDING (surprise, or asked again): IRP_MN_SURPRISE_REMOVAL went through,
    //     new opens fail, and IRP_MN_REMOVE_DEVICE follows on a runtime thread when the last
    //     file object on the stack closes (S-PNP-2); sys.run_until_idle() waits for it;
    //   STATUS_PLUGPLAY_QUERY_VETOED (orderly): handles are open (nothing is sent), or the
    //     driver failed IRP_MN_QUERY_REMOVE_DEVICE (it then gets IRP_MN_CANCEL_REMOVE_DEVICE);
    //   STATUS_NO_SUCH_DEVICE: no such device is present.
    int32_t remove_device(const std::string& instance_id, bool surprise = false);

    // ---- accounting ------------------------------------------------------------------
    std::vector<PoolTagUsage> pool_usage() const;  // live pool by tag
    // The entries drivers wrote with IoWriteErrorLogEntry, oldest first, each as the one
    // line the debug output shows for it (docs/running.md, "The error log").
    std::vector<std::string> error_log() const;
    size_t open_handles() const;
    // Human-readable report of what is still allocated or open; empty when clean.
    std::string leak_report() const;

    // ---- diagnosis (WinDbg's !irp and !devstack, as text) ------------------------------
    // Every request still on a thread's IRP list, each with its stack locations and the
    // device stack holding it; empty when none is pending. Also printed at exit for the
    // requests still pending once every handle has closed (a leak).
    std::string pending_irp_report() const;
    // The stack of the named device ("\Device\NtioBlock"), top first, the named device
    // marked with '>'; empty for an unknown name.
    std::string device_stack_report(const std::wstring& device_name) const;

    class Impl;

private:
    Impl* m_impl;
};

// Driver bugs and warnings reported so far in this process (DRIVER BUG rules of
// nt-io-semantics.md: IRQL violations, spin lock misuse, bad pool calls, ...).
NTIO_PUBLIC uint64_t driver_bug_count();
NTIO_PUBLIC uint64_t driver_warning_count();

// ---- the verifier -------------------------------------------------------------------
// One finding of a verifier check, as printed and as a test sees it.
struct VerifierReport {
    std::string check;      // the check's name: "MULTIPLE_IRP_COMPLETE_REQUESTS", "StartIoRecursion"
    std::string bugcheck;   // what Windows stops with ("IRQL_NOT_LESS_OR_EQUAL"); empty when nothing
    bool warning = false;   // a tolerated mistake rather than a DRIVER BUG
    bool fail = false;      // the check is set to fail
    std::string message;    // what happened and what to do
    uint64_t irp = 0;       // the IRP's id (its number in reports and histories), 0 when none
    std::string device;     // "\Device\Name" (or "unnamed device #3 of \Driver\x"), empty when none
    std::string driver;     // "\Driver\name", empty when none
    std::string call_site;  // "file.c:123" of the driver's call when the compat macros captured it
    std::string text;       // the whole report as ntio prints it (several lines)
};
// Called for every report (from the thread that made it). Return true when the report
// is handled: ntio then neither prints it nor stops for a check set to fail. An empty
// handler restores printing. ntio/gtest.hpp installs one that fails the running test.
using VerifierReportHandler = std::function<bool(const VerifierReport&)>;
NTIO_PUBLIC void set_verifier_report_handler(VerifierReportHandler handler);
// Changes checks of the running System (the syntax of Options::verifier_checks); throws
// std::invalid_argument for an unknown name.
NTIO_PUBLIC void set_verifier_checks(const std::string& list);
NTIO_PUBLIC std::vector<std::string> verifier_check_names();
// The NTIO_FAULTS value that replays this run's fault injection (its seed included);
// empty when no faults are injected.
NTIO_PUBLIC std::string fault_injection_settings();

// While alive, the virtual clock does not move (counts as one running thread).
// Use it around work a thread not managed by ntio does on the runtime's behalf.
class NTIO_PUBLIC ClockInhibit {
public:
    ClockInhibit();
    ~ClockInhibit();
    ClockInhibit(const ClockInhibit&) = delete;
    ClockInhibit& operator=(const ClockInhibit&) = delete;
};

// Marks the calling managed thread as blocked outside ntio (std::thread::join, a
// pipe read, a std::mutex) so the virtual clock may move meanwhile. Without it a
// managed thread blocked outside ntio holds virtual time still.
class NTIO_PUBLIC ExternalWait {
public:
    ExternalWait();
    ~ExternalWait();
    ExternalWait(const ExternalWait&) = delete;
    ExternalWait& operator=(const ExternalWait&) = delete;
};

}  // namespace ntio
