// The ntio command. `ntio run` starts a program with the runtime configured
// through the documented environment variables (docs/running.md), so that the
// program's libntio picks the settings up before main().
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "samples.hpp"
#include "verifier/checks.hpp"

namespace {

int run_program(const std::vector<std::string>& command) {
    std::vector<char*> argv;
    for (const auto& a : command) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    int e = errno;
    std::fprintf(stderr, "ntio run: cannot start '%s': %s\n", argv[0], std::strerror(e));
    if (e == ENOENT && !std::strchr(argv[0], '/'))
        std::fprintf(stderr, "  a program in the current directory needs ./%s; otherwise check PATH\n", argv[0]);
    else if (e == ENOENT)
        std::fprintf(stderr, "  check the path, or build the program first\n");
    return e == ENOENT ? 127 : 126;
}

// Runs PROGRAM as a child and returns its exit status (128 + signal if killed).
int run_child(const std::vector<std::string>& command) {
    std::fflush(stdout);
    std::fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        std::fprintf(stderr, "ntio demo: cannot fork: %s\n", std::strerror(errno));
        return 126;
    }
    if (pid == 0) _exit(run_program(command));
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void print_file(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "r");
    if (!f) return;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) std::fwrite(buf, 1, n, stdout);
    std::fclose(f);
}

// Refuses a bad --verifier-checks list here, with the list of names, rather than in
// the program after it started.
bool valid_checks(const std::string& list, const char* command) {
    ntio::verifier::Settings s = ntio::verifier::default_settings(ntio::verifier::Action::report);
    std::string error;
    if (ntio::verifier::apply_checks(list, s, &error)) return true;
    std::fprintf(stderr, "%s: %s\n(`ntio checks` describes each one)\n", command, error.c_str());
    return false;
}

std::string trace_sibling(const std::string& json, const char* ext) {
    std::string base = json;
    if (base.size() > 5 && base.compare(base.size() - 5, 5, ".json") == 0) base.resize(base.size() - 5);
    return base + ext;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"ntio: the Windows NT asynchronous I/O model as a native runtime for Linux"};
    app.set_version_flag("--version", "ntio " NTIO_VERSION);
    app.require_subcommand(1);

    auto* run = app.add_subcommand("run", "Run PROGRAM with the ntio runtime configured (clock, debug log)");
    bool virtual_time = false, real_time = false, require_drivers = false;
    std::string log_file;
    std::string trace_file;
    std::string verifier = "report";
    std::string verifier_checks;
    std::string faults;
    std::vector<std::string> registry_files;
    std::vector<std::string> command;
    // Drivers in command-line order, each with the --instances that followed it (0: none).
    struct Driver {
        std::string path;
        int instances = 0;
    };
    std::vector<Driver> drivers;
    std::string usage_error;
    run->add_flag("--virtual-time", virtual_time,
                  "Virtual clock: time stands still while any thread runs and jumps to the next deadline when all "
                  "wait (NTIO_CLOCK=virtual)");
    run->add_flag("--real-time", real_time, "Real clock (the default; NTIO_CLOCK=real)")->excludes("--virtual-time");
    // Both options are handled as they are parsed, so that --instances attaches to the
    // --driver before it.
    run->add_option_function<std::string>(
           "--driver", [&](const std::string& path) { drivers.push_back({path, 0}); },
           "Load a driver module (a .so exporting DriverEntry) into PROGRAM before main; repeat for more, "
           "loaded in order (NTIO_DRIVERS)")
        ->check(CLI::ExistingFile)
        ->trigger_on_parse();
    run->add_option_function<int>(
           "--instances",
           [&](int n) {
               if (!usage_error.empty()) return;
               if (drivers.empty())
                   usage_error = "--instances " + std::to_string(n) +
                                 " comes before any --driver; it applies to the --driver before it: --driver "
                                 "./x.so --instances " + std::to_string(n);
               else if (drivers.back().instances != 0)
                   usage_error = "--instances is given twice for " + drivers.back().path + "; give it once";
               else if (n < 1 || n > 9999)
                   usage_error = "--instances " + std::to_string(n) + " for " + drivers.back().path +
                                 ": a PnP driver has 1 to 9999 device instances";
               else
                   drivers.back().instances = n;
           },
           "Device instances (ROOT\\NAME\\0000, 0001, ...) of the PnP driver given by the --driver before it; "
           "default 1 (NTIO_DRIVERS=PATH=N)")
        ->trigger_on_parse();
    run->add_flag("--require-drivers", require_drivers,
                  "End the run with status 125, before PROGRAM's main, if a --driver does not load (no "
                  "DriverEntry, DriverEntry fails, ...); by default it is reported and PROGRAM runs without it "
                  "(NTIO_REQUIRE_DRIVERS=1)");
    run->add_option("--trace", trace_file,
                    "Record every IRP's life, thread names and DbgPrint lines, and write them to FILE as Chrome "
                    "Trace Event JSON when PROGRAM ends; open it in https://ui.perfetto.dev (NTIO_TRACE)");
    run->add_option("--registry", registry_files,
                    "Load a .reg file (regedit's format) into the registry before the drivers load; repeatable "
                    "(NTIO_REGISTRY=FILE[:FILE...])")
        ->allow_extra_args(false)
        ->check(CLI::ExistingFile);
    run->add_option("--log", log_file, "Write DbgPrint/KdPrint lines to FILE instead of stderr (NTIO_DBGPRINT_FILE)");
    run->add_option("--verifier", verifier,
                    "What a check that finds a driver bug does: report (print and go on, the default), fail (stop), "
                    "or off (no checks) (NTIO_VERIFIER)")
        ->check(CLI::IsMember({"off", "report", "fail"}));
    run->add_option("--verifier-checks", verifier_checks,
                    "Per-check settings, comma-separated: all, NAME, NAME=off|on|report|fail "
                    "(e.g. all,StartIoRecursion=off); `ntio checks` lists them (NTIO_VERIFIER_CHECKS)");
    run->add_option("--faults", faults,
                    "Fault injection, seeded: seed=N,pool=P,irp=P,mdl=P,pending=P,delay=P,cancel=P,... with P a "
                    "probability or #N (the Nth call); the seed is printed (NTIO_FAULTS; docs/running.md)");
    run->add_option("command", command, "PROGRAM [ARGS...] (put them after --)")->required();
    run->footer(
        "Example: ntio run --virtual-time --driver ./mydriver.so -- ./myapp arg1\n"
        "         ntio run --driver ./echo.so --instances 2 -- ./echoapp   (two devices of a PnP driver)\n"
        "Exit status: PROGRAM's.");

    app.add_subcommand("samples", "List the samples installed with ntio and what each shows")
        ->footer("Run one with: ntio demo NAME");

    auto* demo = app.add_subcommand("demo", "Run an installed sample (drivers + app) in virtual time, print its log "
                                            "and a timeline summary, and write its trace (JSON, SVG, text)");
    std::string demo_name, demo_trace;
    bool demo_real_time = false;
    std::string demo_verifier = "report";
    std::string demo_checks;
    demo->add_option("name", demo_name, "The sample (see `ntio samples`)")->required();
    demo->add_option("--trace", demo_trace, "Where to write the trace (default: NAME-trace.json here; the SVG "
                                            "timeline and the text summary go beside it)");
    demo->add_flag("--real-time", demo_real_time, "Run on the real clock instead of virtual time");
    demo->add_option("--verifier", demo_verifier, "What a detected driver bug does: report (go on), fail (stop) or off")
        ->check(CLI::IsMember({"off", "report", "fail"}));
    demo->add_option("--verifier-checks", demo_checks, "Per-check settings, as for ntio run");

    app.add_subcommand("checks", "List the verifier's checks: name, default, the Windows bugcheck, what each catches")
        ->footer("Switch them with ntio run --verifier-checks NAME=off|on|report|fail, or NTIO_VERIFIER_CHECKS");
    demo->footer("Example: ntio demo startio   (then open startio-trace.svg, or startio-trace.json in "
                 "https://ui.perfetto.dev)");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e, std::cerr, std::cerr);  // ntio's own messages never go to stdout's program output
    }

    if (app.got_subcommand("samples")) {
        std::string dir = ntio::cli::samples_dir(argv[0]);
        std::printf("Samples (%s):\n", dir.empty() ? "not found: build them, or set NTIO_SAMPLES_DIR" : dir.c_str());
        for (const auto& sample : ntio::cli::samples())
            std::printf("  %-14s %s\n", sample.name, sample.summary);
        std::printf("Run one with: ntio demo NAME\n");
        return 0;
    }

    if (app.got_subcommand("checks")) {
        std::printf("%s", ntio::verifier::describe_checks().c_str());
        return 0;
    }

    if (demo->parsed()) {
        if (!valid_checks(demo_checks, "ntio demo")) return 2;
        const ntio::cli::Sample* sample = ntio::cli::find_sample(demo_name);
        if (!sample) {
            std::fprintf(stderr, "ntio demo: no sample named '%s'; `ntio samples` lists them\n", demo_name.c_str());
            return 2;
        }
        std::string dir = ntio::cli::samples_dir(argv[0]);
        if (dir.empty()) {
            std::fprintf(stderr, "ntio demo: the samples are not installed beside this ntio (looked in "
                                 "../libexec/ntio/samples and ../../samples); install ntio or set NTIO_SAMPLES_DIR\n");
            return 2;
        }
        if (demo_trace.empty()) demo_trace = demo_name + "-trace.json";
        // A run that fails before writing its trace must not show an older run's.
        for (const char* ext : {".json", ".svg", ".txt"}) std::remove(trace_sibling(demo_trace, ext).c_str());
        std::printf("== ntio demo %s ==\n%s\n\n", sample->name, sample->shows);
        std::string list;
        for (const auto& d : sample->drivers) {
            list += (list.empty() ? "" : ":") + dir + "/" + d.module;
            if (d.instances > 1) list += "=" + std::to_string(d.instances);  // NTIO_DRIVERS' PATH=N
        }
        setenv("NTIO_RUN", "1", 1);
        setenv("NTIO_CLOCK", demo_real_time ? "real" : "virtual", 1);
        setenv("NTIO_TRACE", demo_trace.c_str(), 1);
        setenv("NTIO_VERIFIER", demo_verifier.c_str(), 1);
        if (!demo_checks.empty()) setenv("NTIO_VERIFIER_CHECKS", demo_checks.c_str(), 1);
        if (list.empty()) unsetenv("NTIO_DRIVERS");
        else setenv("NTIO_DRIVERS", list.c_str(), 1);
        int status = run_child({dir + "/" + sample->app});
        std::string txt = trace_sibling(demo_trace, ".txt");
        std::printf("\n== timeline ==\n");
        std::fflush(stdout);
        print_file(txt);
        std::printf("\nTrace: %s (open in https://ui.perfetto.dev), timeline picture: %s, summary: %s\n",
                    demo_trace.c_str(), trace_sibling(demo_trace, ".svg").c_str(), txt.c_str());
        if (status) std::printf("The sample's app exited with status %d.\n", status);
        return status;
    }

    if (run->parsed()) {
        if (!usage_error.empty()) {
            std::fprintf(stderr, "ntio run: %s\n", usage_error.c_str());
            return 2;
        }
        setenv("NTIO_RUN", "1", 1);
        setenv("NTIO_CLOCK", virtual_time ? "virtual" : "real", 1);
        if (!log_file.empty()) setenv("NTIO_DBGPRINT_FILE", log_file.c_str(), 1);
        if (!trace_file.empty()) setenv("NTIO_TRACE", trace_file.c_str(), 1);
        setenv("NTIO_VERIFIER", verifier.c_str(), 1);
        if (!verifier_checks.empty()) {
            if (!valid_checks(verifier_checks, "ntio run")) return 2;
            setenv("NTIO_VERIFIER_CHECKS", verifier_checks.c_str(), 1);
        }
        if (!faults.empty()) setenv("NTIO_FAULTS", faults.c_str(), 1);
        if (!registry_files.empty()) {
            std::string files;
            for (const auto& f : registry_files) {
                if (f.find(':') != std::string::npos) {
                    std::fprintf(stderr, "ntio run: a registry file path cannot contain ':' (%s)\n", f.c_str());
                    return 2;
                }
                files += (files.empty() ? "" : ":") + f;
            }
            setenv("NTIO_REGISTRY", files.c_str(), 1);
        }
        std::string list;
        for (const auto& d : drivers) {
            if (d.path.find(':') != std::string::npos) {
                std::fprintf(stderr, "ntio run: a driver path cannot contain ':' (%s)\n", d.path.c_str());
                return 2;
            }
            // NTIO_DRIVERS reads a trailing =N as the device count.
            size_t eq = d.path.rfind('=');
            if (eq != std::string::npos && eq + 1 < d.path.size() &&
                d.path.find_first_not_of("0123456789", eq + 1) == std::string::npos) {
                std::fprintf(stderr, "ntio run: a driver path cannot end in '=' and digits (%s); rename it\n",
                             d.path.c_str());
                return 2;
            }
            // dlopen needs a path, not a bare name, for a module in the current directory.
            std::string path = d.path.find('/') == std::string::npos ? "./" + d.path : d.path;
            list += (list.empty() ? "" : ":") + path;
            if (d.instances) list += "=" + std::to_string(d.instances);
        }
        if (!list.empty()) setenv("NTIO_DRIVERS", list.c_str(), 1);
        if (require_drivers) setenv("NTIO_REQUIRE_DRIVERS", "1", 1);
        return run_program(command);
    }
    return 0;
}
