// Runs a shell command (the `ntio` CLI, a sample) and collects what it printed.
#pragma once
#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace ntio::testing {

struct CommandRun {
    std::string output;  // stdout, and stderr where the command redirects it
    int exit_code = -1;
};

inline CommandRun run_command(const std::string& command) {
    CommandRun r;
    FILE* p = popen(command.c_str(), "r");
    if (!p) return r;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
    int status = pclose(p);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

}  // namespace ntio::testing
