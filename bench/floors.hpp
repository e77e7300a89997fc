// Linux floors the ntio benchmarks are measured against, shared by the programs.
#pragma once
#include <benchmark/benchmark.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <thread>

namespace floors {

inline void futex_wait(std::atomic<uint32_t>* w, uint32_t v) {
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(w), FUTEX_WAIT_PRIVATE, v, nullptr, nullptr, 0);
}
inline void futex_wake(std::atomic<uint32_t>* w) {
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(w), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

// Two threads hand a token back and forth through two futex words: one round trip
// is two wake-ups, like the ntio ping-pongs.
inline void FutexPingPong(benchmark::State& state) {
    std::atomic<uint32_t> ping{0}, pong{0};
    std::atomic<bool> stop{false};
    std::thread peer([&] {
        for (;;) {
            while (ping.load(std::memory_order_acquire) == 0) futex_wait(&ping, 0);
            ping.store(0, std::memory_order_relaxed);
            if (stop.load()) return;
            pong.store(1, std::memory_order_release);
            futex_wake(&pong);
        }
    });
    for (auto _ : state) {
        ping.store(1, std::memory_order_release);
        futex_wake(&ping);
        while (pong.load(std::memory_order_acquire) == 0) futex_wait(&pong, 0);
        pong.store(0, std::memory_order_relaxed);
    }
    stop = true;
    ping.store(1);
    futex_wake(&ping);
    peer.join();
}

}  // namespace floors
