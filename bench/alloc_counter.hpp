// Counts the C library allocations of the whole process (libntio's included): this
// program's malloc, calloc and realloc come first in symbol lookup and forward to
// glibc's. The benchmarks report allocations per request, so that "no allocation in
// steady state" is measured, not assumed. Linked into the benchmark programs only
// (sanitizer builds, which interpose malloc themselves, build no benchmarks).
#pragma once
#include <benchmark/benchmark.h>

#include <cstdint>

namespace bench {

uint64_t allocations();

// Allocations made between its construction and the end of the timed loop, per
// iteration, as the counter "allocs_per_request".
class AllocationsPerRequest {
public:
    explicit AllocationsPerRequest(benchmark::State& state) : m_state(state), m_start(allocations()) {}
    ~AllocationsPerRequest() {
        double n = static_cast<double>(allocations() - m_start);
        m_state.counters["allocs_per_request"] =
            m_state.iterations() ? n / static_cast<double>(m_state.iterations()) : 0.0;
    }

private:
    benchmark::State& m_state;
    uint64_t m_start;
};

}  // namespace bench
