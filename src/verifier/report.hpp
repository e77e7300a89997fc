// Driver-bug reports. A DRIVER BUG (nt-io-semantics.md) is reported with the
// rule or bugcheck name and what to do next; by default the program goes on
// (contract.md), with NTIO_VERIFIER=fail it stops at the first report.
// The full verifier (per-check switches, IRP histories) builds on this.
#pragma once
#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "ke/spin.hpp"
#include "wdm.h"

namespace ntio::verifier {

void driver_bug(const char* rule, const std::string& message);
void driver_warning(const char* rule, const std::string& message);
uint64_t bug_count();
uint64_t warning_count();
void reset_counts();

// S-KE-3: reports when the caller's IRQL is above `max_irql`.
void irql_too_high(KIRQL max_irql, const char* api);
inline void check_irql_at_most(KIRQL max_irql, const char* api) {
    if (ke::t_irql > max_irql) [[unlikely]]
        irql_too_high(max_irql, api);
}

}  // namespace ntio::verifier
