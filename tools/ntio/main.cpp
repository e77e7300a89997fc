// The ntio command. `ntio run` starts a program with the runtime configured
// through the documented environment variables (docs/running.md), so that the
// program's libntio picks the settings up before main().
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

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

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"ntio: the Windows NT asynchronous I/O model as a native runtime for Linux"};
    app.set_version_flag("--version", "ntio " NTIO_VERSION);
    app.require_subcommand(1);

    auto* run = app.add_subcommand("run", "Run PROGRAM with the ntio runtime configured (clock, debug log)");
    bool virtual_time = false, real_time = false;
    std::string log_file;
    std::string trace_file;
    std::string verifier = "report";
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
    run->add_option("--trace", trace_file,
                    "Record every IRP's life, thread names and DbgPrint lines, and write them to FILE as Chrome "
                    "Trace Event JSON when PROGRAM ends; open it in https://ui.perfetto.dev (NTIO_TRACE)");
    run->add_option("--log", log_file, "Write DbgPrint/KdPrint lines to FILE instead of stderr (NTIO_DBGPRINT_FILE)");
    run->add_option("--verifier", verifier, "What a detected driver bug does: report (go on) or fail (stop) (NTIO_VERIFIER)")
        ->check(CLI::IsMember({"report", "fail"}));
    run->add_option("command", command, "PROGRAM [ARGS...] (put them after --)")->required();
    run->footer(
        "Example: ntio run --virtual-time --driver ./mydriver.so -- ./myapp arg1\n"
        "         ntio run --driver ./echo.so --instances 2 -- ./echoapp   (two devices of a PnP driver)\n"
        "Exit status: PROGRAM's.");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e, std::cerr, std::cerr);  // ntio's own messages never go to stdout's program output
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
        return run_program(command);
    }
    return 0;
}
