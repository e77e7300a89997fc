#include "verifier/report.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace ntio::verifier {
namespace {

std::atomic<uint64_t> g_bugs{0}, g_warnings{0};

bool fail_mode() {
    static const bool fail = [] {
        const char* v = std::getenv("NTIO_VERIFIER");
        return v && std::strcmp(v, "fail") == 0;
    }();
    return fail;
}

}  // namespace

void driver_bug(const char* rule, const std::string& message) {
    g_bugs.fetch_add(1, std::memory_order_relaxed);
    std::fprintf(stderr, "ntio: DRIVER BUG %s: %s\n", rule, message.c_str());
    if (fail_mode()) {
        std::fprintf(stderr, "ntio: stopping because NTIO_VERIFIER=fail (unset it to report and go on)\n");
        std::abort();
    }
}

void driver_warning(const char* rule, const std::string& message) {
    g_warnings.fetch_add(1, std::memory_order_relaxed);
    std::fprintf(stderr, "ntio: driver warning %s: %s\n", rule, message.c_str());
}

uint64_t bug_count() { return g_bugs.load(); }
uint64_t warning_count() { return g_warnings.load(); }
void reset_counts() {
    g_bugs = 0;
    g_warnings = 0;
}

void irql_too_high(KIRQL max_irql, const char* api) {
    KIRQL irql = KeGetCurrentIrql();
    driver_bug("IRQL_NOT_LESS_OR_EQUAL",
                   fmt::format("{} called at IRQL {} (maximum {}); lower the IRQL first or move the call to a "
                               "PASSIVE_LEVEL thread or work item",
                               api, irql, max_irql));
}

}  // namespace ntio::verifier
