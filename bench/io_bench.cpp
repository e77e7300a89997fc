// Issue 3 performance, each figure beside its floor measured in the same run:
//   * a synchronous METHOD_BUFFERED 64-byte DeviceIoControl round trip through a
//     driver that copies input to output, vs the in-process floor (one malloc/free
//     of 256 B + two 64-byte copies + an indirect call; target <= 2x) and vs one
//     ioctl(2) on /dev/null (target <= 0.25x);
//   * an overlapped IOCTL pended and completed by the driver's worker thread,
//     awaited with WaitForSingleObject, vs a raw futex ping-pong (target <= 1.3x).
#include <benchmark/benchmark.h>

#include "alloc_counter.hpp"
#include "floors.hpp"
#include <fcntl.h>
#include <linux/futex.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <thread>

#include "bench_driver.hpp"

namespace {

// ---- floors ---------------------------------------------------------------------------

using Handler = void (*)(void*, const void*, size_t);
void copy_handler(void* out, const void* in, size_t n) { std::memcpy(out, in, n); }
Handler volatile g_handler = copy_handler;

void BM_Floor_InProcessRequest(benchmark::State& state) {
    unsigned char in[64], out[64];
    std::memset(in, 7, sizeof in);
    for (auto _ : state) {
        auto* req = static_cast<unsigned char*>(std::malloc(256));
        std::memcpy(req, in, 64);          // copy in
        g_handler(req + 64, req, 64);      // the "driver"
        std::memcpy(out, req + 64, 64);    // copy back
        std::free(req);
        benchmark::DoNotOptimize(out);
    }
}
BENCHMARK(BM_Floor_InProcessRequest);

void BM_Floor_IoctlDevNull(benchmark::State& state) {
    int fd = open("/dev/null", O_RDWR);
    termios t;
    for (auto _ : state) benchmark::DoNotOptimize(ioctl(fd, TCGETS, &t));
    close(fd);
}
BENCHMARK(BM_Floor_IoctlDevNull);

void BM_Floor_FutexPingPong(benchmark::State& state) { floors::FutexPingPong(state); }
BENCHMARK(BM_Floor_FutexPingPong)->UseRealTime();

// ---- ntio -------------------------------------------------------------------------------------

// The 64-byte METHOD_BUFFERED IOCTL every sync benchmark times, in a runtime made
// with `options`, on a synchronous handle or an overlapped one with an OVERLAPPED;
// with `count_allocations` it reports allocs_per_request.
void sync_ioctl_loop(benchmark::State& state, const ntio::Options& options, bool overlapped,
                     bool count_allocations) {
    ntio::System sys(options);
    bench::load(sys);
    HANDLE h = CreateFileA("\\\\.\\BenchEcho", GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING,
                           overlapped ? FILE_FLAG_OVERLAPPED : 0, nullptr);
    unsigned char in[64], out[64];
    std::memset(in, 7, sizeof in);
    DWORD n = 0;
    OVERLAPPED ov{};
    {
        std::optional<bench::AllocationsPerRequest> allocs;
        if (count_allocations) allocs.emplace(state);
        for (auto _ : state) {
            BOOL ok = DeviceIoControl(h, bench::IOCTL_BENCH_COPY, in, sizeof in, out, sizeof out, &n,
                                      overlapped ? &ov : nullptr);
            benchmark::DoNotOptimize(ok);
        }
    }
    if (n != 64 || out[63] != 7) state.SkipWithError("the echo did not come back");
    CloseHandle(h);
}

// range(0): 0 = synchronous handle, 1 = overlapped handle with an OVERLAPPED.
void BM_Ntio_SyncIoctl64(benchmark::State& state) { sync_ioctl_loop(state, {}, state.range(0) == 1, true); }
BENCHMARK(BM_Ntio_SyncIoctl64)->Arg(0)->Arg(1);

// The same synchronous IOCTL with every verifier check on (IRP records and history,
// the freed-IRP quarantine, the verified IoCallDriver, lock and pool bookkeeping):
// bench/report.py prints its cost as a factor of BM_Ntio_SyncIoctl64/0.
void BM_Ntio_SyncIoctl64Verified(benchmark::State& state) {
    sync_ioctl_loop(state, {.verifier_checks = "all"}, false, false);
}
BENCHMARK(BM_Ntio_SyncIoctl64Verified);

// The same synchronous IOCTL with the IRP tracer recording (`--trace`). Each request
// records five events (issued, dispatched, completed, caller notified, freed);
// bench/report.py turns the difference with BM_Ntio_SyncIoctl64/0 into a cost per
// event. The iteration count is fixed: the trace is kept in memory and written when
// the runtime ends.
constexpr double kTraceEventsPerSyncIoctl = 5;
void BM_Ntio_SyncIoctl64Traced(benchmark::State& state) {
    std::string base = "/tmp/ntio_bench_trace_" + std::to_string(getpid());
    sync_ioctl_loop(state, {.debug_quiet = true, .trace_file = base + ".json"}, false, false);
    state.counters["events_per_request"] = kTraceEventsPerSyncIoctl;
    for (const char* ext : {".json", ".svg", ".txt"}) std::remove((base + ext).c_str());
}
BENCHMARK(BM_Ntio_SyncIoctl64Traced)->Iterations(200000);

// range(0) is Options::wait_spin (300 default, 0 = every wait sleeps).
void BM_Ntio_PendedIoctlRoundTrip(benchmark::State& state) {
    ntio::System sys({.wait_spin = static_cast<int>(state.range(0))});
    bench::load(sys);
    HANDLE h = CreateFileA("\\\\.\\BenchEcho", GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING,
                           FILE_FLAG_OVERLAPPED, nullptr);
    HANDLE ev = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    unsigned char in[64] = {}, out[64];
    auto round_trip = [&] {
        OVERLAPPED ov{};
        ov.hEvent = ev;
        if (DeviceIoControl(h, bench::IOCTL_BENCH_PEND, in, sizeof in, out, sizeof out, nullptr, &ov) ||
            GetLastError() != ERROR_IO_PENDING)
            return false;
        WaitForSingleObject(ev, INFINITE);
        return true;
    };
    // The steady state: the worker's lookaside has filled and handed IRPs back through
    // the depot (io/irp.cpp) before allocations are counted.
    for (int i = 0; i < 1024; ++i) round_trip();
    bench::AllocationsPerRequest allocs(state);
    for (auto _ : state) {
        if (!round_trip()) {
            state.SkipWithError("expected ERROR_IO_PENDING");
            break;
        }
    }
    CloseHandle(ev);
    CloseHandle(h);
}
BENCHMARK(BM_Ntio_PendedIoctlRoundTrip)->Arg(300)->Arg(0)->UseRealTime();

// Completion through a user APC (NtDeviceIoControlFile's ApcRoutine, which ReadFileEx
// uses) on an overlapped handle. range(0): 0 = the driver completes in dispatch and
// SleepEx(0, TRUE) runs the APC; 1 = the driver pends and its worker completes, and
// SleepEx(INFINITE, TRUE) wakes for the APC. Steady state allocates nothing: APC nodes
// are recycled (ke/apc.cpp).
void BM_Ntio_ApcIoctlRoundTrip(benchmark::State& state) {
    ntio::System sys;
    bench::load(sys);
    HANDLE h = CreateFileA("\\\\.\\BenchEcho", GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING,
                           FILE_FLAG_OVERLAPPED, nullptr);
    bool pend = state.range(0) == 1;
    unsigned char in[64] = {}, out[64];
    long routines = 0;
    IO_STATUS_BLOCK iosb;
    PIO_APC_ROUTINE count = [](PVOID context, PIO_STATUS_BLOCK, ULONG) { ++*static_cast<long*>(context); };
    auto round_trip = [&] {
        NTSTATUS s = NtDeviceIoControlFile(h, nullptr, count, &routines, &iosb,
                                           pend ? bench::IOCTL_BENCH_PEND : bench::IOCTL_BENCH_COPY, in, sizeof in,
                                           out, sizeof out);
        return NT_SUCCESS(s) && SleepEx(pend ? INFINITE : 0, TRUE) == WAIT_IO_COMPLETION;
    };
    for (int i = 0; i < 1024; ++i) round_trip();
    bench::AllocationsPerRequest allocs(state);
    for (auto _ : state) {
        if (!round_trip()) {
            state.SkipWithError("the APC did not run");
            break;
        }
    }
    CloseHandle(h);
}
BENCHMARK(BM_Ntio_ApcIoctlRoundTrip)->Arg(0)->Arg(1)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
