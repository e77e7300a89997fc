// Issue 2 performance: Win32 waits against their Linux floors, measured in the
// same run.
//   * cross-thread SetEvent -> WaitForSingleObject wake latency vs a raw futex
//     ping-pong (target <= 1.2x);
//   * an uncontended wait on a signaled event vs an uncontended std::mutex
//     lock/unlock (target <= 2x).
// bench/report.py turns the JSON output into those ratios.
#include <benchmark/benchmark.h>

#include "floors.hpp"
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "ntio/ntio.hpp"
#include "wdm.h"
#include "windows.h"

namespace {

// ---- floors -----------------------------------------------------------------------

void BM_Floor_FutexPingPong(benchmark::State& state) { floors::FutexPingPong(state); }
BENCHMARK(BM_Floor_FutexPingPong)->UseRealTime();

void BM_Floor_StdMutexUncontended(benchmark::State& state) {
    std::mutex m;
    for (auto _ : state) {
        m.lock();
        m.unlock();
    }
}
BENCHMARK(BM_Floor_StdMutexUncontended);

// ---- ntio -------------------------------------------------------------------------------

struct PingPong {
    HANDLE ping, pong;
    std::atomic<bool> stop{false};
};

// range(0) is Options::wait_spin: 300 (the default) lets a quick hand-over skip the
// sleep; 0 makes every wait sleep in the kernel, which measures ntio's overhead on
// the futex path itself.
void BM_Ntio_EventPingPong(benchmark::State& state) {
    ntio::System sys({.wait_spin = static_cast<int>(state.range(0))});
    PingPong pp;
    pp.ping = CreateEventA(nullptr, FALSE, FALSE, nullptr);
    pp.pong = CreateEventA(nullptr, FALSE, FALSE, nullptr);
    HANDLE peer = CreateThread(
        nullptr, 0,
        [](LPVOID p) -> DWORD {
            auto* pp = static_cast<PingPong*>(p);
            for (;;) {
                WaitForSingleObject(pp->ping, INFINITE);
                if (pp->stop.load()) return 0;
                SetEvent(pp->pong);
            }
        },
        &pp, 0, nullptr);
    for (auto _ : state) {
        SetEvent(pp.ping);
        WaitForSingleObject(pp.pong, INFINITE);
    }
    pp.stop = true;
    SetEvent(pp.ping);
    WaitForSingleObject(peer, INFINITE);
    CloseHandle(peer);
    CloseHandle(pp.ping);
    CloseHandle(pp.pong);
}
BENCHMARK(BM_Ntio_EventPingPong)->Arg(300)->Arg(0)->UseRealTime();

void BM_Ntio_KeEventPingPong(benchmark::State& state) {
    ntio::System sys({.wait_spin = static_cast<int>(state.range(0))});
    struct KPingPong {
        KEVENT ping, pong;
        std::atomic<bool> stop{false};
    } pp;
    KeInitializeEvent(&pp.ping, SynchronizationEvent, FALSE);
    KeInitializeEvent(&pp.pong, SynchronizationEvent, FALSE);
    HANDLE peer;
    PsCreateSystemThread(
        &peer, THREAD_ALL_ACCESS, nullptr, nullptr, nullptr,
        [](PVOID p) {
            auto* pp = static_cast<KPingPong*>(p);
            for (;;) {
                KeWaitForSingleObject(&pp->ping, Executive, KernelMode, FALSE, nullptr);
                if (pp->stop.load()) return;
                KeSetEvent(&pp->pong, IO_NO_INCREMENT, FALSE);
            }
        },
        &pp);
    for (auto _ : state) {
        KeSetEvent(&pp.ping, IO_NO_INCREMENT, FALSE);
        KeWaitForSingleObject(&pp.pong, Executive, KernelMode, FALSE, nullptr);
    }
    pp.stop = true;
    KeSetEvent(&pp.ping, IO_NO_INCREMENT, FALSE);
    ZwWaitForSingleObject(peer, FALSE, nullptr);
    ZwClose(peer);
}
BENCHMARK(BM_Ntio_KeEventPingPong)->Arg(300)->Arg(0)->UseRealTime();

void BM_Ntio_WaitSignaledEvent(benchmark::State& state) {
    ntio::System sys;
    HANDLE e = CreateEventA(nullptr, TRUE, TRUE, nullptr);
    for (auto _ : state) benchmark::DoNotOptimize(WaitForSingleObject(e, INFINITE));
    CloseHandle(e);
}
BENCHMARK(BM_Ntio_WaitSignaledEvent);

void BM_Ntio_KeWaitSignaledEvent(benchmark::State& state) {
    ntio::System sys;
    KEVENT e;
    KeInitializeEvent(&e, NotificationEvent, TRUE);
    for (auto _ : state) benchmark::DoNotOptimize(KeWaitForSingleObject(&e, Executive, KernelMode, FALSE, nullptr));
}
BENCHMARK(BM_Ntio_KeWaitSignaledEvent);

}  // namespace

BENCHMARK_MAIN();
