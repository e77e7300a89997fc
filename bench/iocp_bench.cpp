// I/O completion ports (issue 5), each figure beside its floor measured in the same run:
//   * an overlapped 64-byte IOCTL completed in dispatch on a handle bound to a port,
//     then GetQueuedCompletionStatus: the per-packet cost over the same IOCTL on an
//     unbound handle; and with FILE_SKIP_COMPLETION_PORT_ON_SUCCESS, which posts nothing;
//   * PostQueuedCompletionStatus -> GetQueuedCompletionStatus on one thread (no wake-up),
//     and as a ping-pong between two threads through two ports, vs a futex ping-pong;
//   * 256 overlapped IOCTLs in flight, pended by the driver and completed by its worker
//     thread, harvested with GetQueuedCompletionStatusEx and reissued, vs a floor where
//     one thread submits into a queue that another thread completes into a queue the
//     first drains (both block when there is nothing to do).
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "bench_driver.hpp"
#include "alloc_counter.hpp"
#include "floors.hpp"

namespace {

// ---- floors ---------------------------------------------------------------------------

void BM_Floor_FutexPingPong(benchmark::State& state) { floors::FutexPingPong(state); }
BENCHMARK(BM_Floor_FutexPingPong)->UseRealTime();

// A mutex-protected list whose consumer sleeps on a futex word when it is empty; the
// producer makes the system call only when someone sleeps.
class BlockingQueue {
public:
    void push(uint32_t x) {
        {
            std::lock_guard g(m_lock);
            m_items.push_back(x);
        }
        m_word.fetch_add(1, std::memory_order_seq_cst);
        if (m_sleeping.load(std::memory_order_seq_cst)) floors::futex_wake(&m_word);
    }
    // Takes everything queued, sleeping while there is nothing.
    void pop_all(std::vector<uint32_t>* out) {
        out->clear();
        for (;;) {
            uint32_t seen = m_word.load(std::memory_order_seq_cst);
            {
                std::lock_guard g(m_lock);
                if (!m_items.empty()) {
                    out->swap(m_items);
                    return;
                }
            }
            m_sleeping.fetch_add(1, std::memory_order_seq_cst);
            floors::futex_wait(&m_word, seen);
            m_sleeping.fetch_sub(1, std::memory_order_seq_cst);
        }
    }

private:
    std::mutex m_lock;
    std::vector<uint32_t> m_items;
    std::atomic<uint32_t> m_word{0};
    std::atomic<int> m_sleeping{0};
};

constexpr uint32_t kInFlight = 256;
constexpr uint32_t kStopItem = ~0u;

void BM_Floor_SubmitCompleteDrain256(benchmark::State& state) {
    BlockingQueue submitted, completed;
    std::thread completer([&] {
        std::vector<uint32_t> batch;
        for (;;) {
            submitted.pop_all(&batch);
            for (uint32_t x : batch) {
                if (x == kStopItem) return;
                completed.push(x);
            }
        }
    });
    for (uint32_t i = 0; i < kInFlight; ++i) submitted.push(i);
    std::vector<uint32_t> harvest;
    size_t next = 0;
    uint32_t outstanding = kInFlight;
    for (auto _ : state) {
        if (next == harvest.size()) {
            completed.pop_all(&harvest);
            next = 0;
        }
        submitted.push(harvest[next++]);  // reissue
    }
    // Drain what is still in flight, then stop the completer.
    outstanding -= static_cast<uint32_t>(harvest.size() - next);
    while (outstanding > 0) {
        completed.pop_all(&harvest);
        outstanding -= static_cast<uint32_t>(harvest.size());
    }
    submitted.push(kStopItem);
    completer.join();
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_Floor_SubmitCompleteDrain256)->UseRealTime();

// ---- ntio -----------------------------------------------------------------------------

HANDLE open_bench(bool overlapped) {
    return CreateFileA("\\\\.\\BenchEcho", GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING,
                       overlapped ? FILE_FLAG_OVERLAPPED : 0, nullptr);
}

// range(0): 0 = overlapped handle, no port (the reference); 1 = bound to a port, one
// GetQueuedCompletionStatus per request; 2 = bound, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS.
void BM_Ntio_InlineIoctl64Port(benchmark::State& state) {
    ntio::System sys;
    bench::load(sys);
    HANDLE h = open_bench(true);
    HANDLE port = nullptr;
    if (state.range(0) > 0) port = CreateIoCompletionPort(h, nullptr, 1, 0);
    if (state.range(0) == 2) SetFileCompletionNotificationModes(h, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS);
    unsigned char in[64], out[64];
    std::memset(in, 7, sizeof in);
    OVERLAPPED ov{};
    DWORD bytes = 0;
    ULONG_PTR key = 0;
    LPOVERLAPPED got = nullptr;
    bool dequeue = state.range(0) == 1;
    for (auto _ : state) {
        BOOL ok = DeviceIoControl(h, bench::IOCTL_BENCH_COPY, in, sizeof in, out, sizeof out, nullptr, &ov);
        if (dequeue) ok &= GetQueuedCompletionStatus(port, &bytes, &key, &got, 0);
        benchmark::DoNotOptimize(ok);
    }
    if (out[63] != 7 || (dequeue && (got != &ov || bytes != 64))) state.SkipWithError("the echo did not come back");
    if (port && GetQueuedCompletionStatus(port, &bytes, &key, &got, 0)) state.SkipWithError("a packet too many");
    CloseHandle(h);
    if (port) CloseHandle(port);
}
BENCHMARK(BM_Ntio_InlineIoctl64Port)->Arg(0)->Arg(1)->Arg(2);

void BM_Ntio_PostThenGqcs(benchmark::State& state) {
    ntio::System sys;
    HANDLE port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, 0);
    DWORD bytes = 0;
    ULONG_PTR key = 0;
    LPOVERLAPPED got = nullptr;
    for (auto _ : state) {
        PostQueuedCompletionStatus(port, 1, 2, nullptr);
        benchmark::DoNotOptimize(GetQueuedCompletionStatus(port, &bytes, &key, &got, 0));
    }
    if (key != 2) state.SkipWithError("the packet did not come back");
    CloseHandle(port);
}
BENCHMARK(BM_Ntio_PostThenGqcs);

// Two threads hand a packet back and forth through two ports: one round trip is two
// posts and two wake-ups, as in the futex floor. range(0) is Options::wait_spin.
void BM_Ntio_PostGqcsPingPong(benchmark::State& state) {
    ntio::System sys({.wait_spin = static_cast<int>(state.range(0))});
    HANDLE ping = CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, 1);
    HANDLE pong = CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, 1);
    std::thread peer([&] {
        DWORD bytes;
        ULONG_PTR key = 0;
        LPOVERLAPPED ov;
        for (;;) {
            GetQueuedCompletionStatus(ping, &bytes, &key, &ov, INFINITE);
            if (key == 0) return;
            PostQueuedCompletionStatus(pong, 0, key, nullptr);
        }
    });
    DWORD bytes;
    ULONG_PTR key = 0;
    LPOVERLAPPED ov;
    for (auto _ : state) {
        PostQueuedCompletionStatus(ping, 0, 1, nullptr);
        GetQueuedCompletionStatus(pong, &bytes, &key, &ov, INFINITE);
    }
    PostQueuedCompletionStatus(ping, 0, 0, nullptr);
    peer.join();
    CloseHandle(ping);
    CloseHandle(pong);
}
BENCHMARK(BM_Ntio_PostGqcsPingPong)->Arg(300)->Arg(0)->UseRealTime();

// 256 overlapped IOCTLs in flight: the driver pends each and its worker thread completes
// it; GetQueuedCompletionStatusEx harvests up to 64 at a time and each is reissued.
void BM_Ntio_Pended256Gqcsex(benchmark::State& state) {
    ntio::System sys;
    bench::load(sys);
    HANDLE h = open_bench(true);
    HANDLE port = CreateIoCompletionPort(h, nullptr, 1, 0);
    struct Request {
        OVERLAPPED ov;
        unsigned char in[64], out[64];
    };
    std::vector<Request> requests(kInFlight);
    auto issue = [&](Request& r) {
        std::memset(&r.ov, 0, sizeof r.ov);
        return DeviceIoControl(h, bench::IOCTL_BENCH_PEND, r.in, sizeof r.in, r.out, sizeof r.out, nullptr, &r.ov) ||
               GetLastError() == ERROR_IO_PENDING;
    };
    for (Request& r : requests)
        if (!issue(r)) state.SkipWithError("issue failed");
    OVERLAPPED_ENTRY entries[64];
    ULONG count = 0, next = 0;
    uint64_t outstanding = kInFlight;
    std::optional<bench::AllocationsPerRequest> allocs(state);
    for (auto _ : state) {
        if (next == count) {
            if (!GetQueuedCompletionStatusEx(port, entries, 64, &count, INFINITE, FALSE)) {
                state.SkipWithError("GetQueuedCompletionStatusEx failed");
                break;
            }
            next = 0;
        }
        Request* r = reinterpret_cast<Request*>(entries[next++].lpOverlapped);
        issue(*r);
    }
    allocs.reset();  // the steady state ends here: the drain below is not counted
    outstanding -= count - next;
    while (outstanding > 0 && GetQueuedCompletionStatusEx(port, entries, 64, &count, INFINITE, FALSE))
        outstanding -= count;
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
    CloseHandle(h);
    CloseHandle(port);
}
BENCHMARK(BM_Ntio_Pended256Gqcsex)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
