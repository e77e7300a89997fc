// Issue 4's stress test: 8 threads doing random operations on a StartIo device, a
// cancel-safe-queue device and a device that completes inline, while requests are
// cancelled (CancelIo, CancelIoEx for one OVERLAPPED or all), handles are closed
// with I/O in flight (cleanup, S-CAN-13) and short-lived threads exit with I/O in
// flight (S-CAN-12). Real time, so the races are real.
//
// Accounting: every request the test issues is reaped exactly once with a status
// it may legally have; the driver's completions equal the requests it saw; at the
// end no IRP, handle or pool allocation is left and the verifier saw no bug.
//
// Operations per thread: NTIO_STRESS_OPS, default 100000 in every build (CI runs it
// in release, ASan/UBSan and TSan: about 0.3 s, 1 s and 4 s). The long run, about 3 s
// in release:
//   NTIO_STRESS_OPS=1000000 build/release/tests/ntio_tests --gtest_filter='Stress.*'
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "drivers/stress_driver.hpp"
#include "test_support.hpp"

namespace {

using namespace ntio::testing;

constexpr long kDefaultOps = 100000;
constexpr int kThreads = 8;
constexpr int kSlots = 32;
constexpr int kMaxHandles = 4;

long ops_per_thread() {
    const char* env = std::getenv("NTIO_STRESS_OPS");
    long n = env ? std::atol(env) : 0;
    return n > 0 ? n : kDefaultOps;
}

struct Totals {
    std::atomic<uint64_t> issued{0}, reaped_success{0}, reaped_cancelled{0}, failures{0};
    std::atomic<uint64_t> cancel_calls{0}, closes_with_io{0}, children{0}, child_requests{0};
};

struct Slot {
    OVERLAPPED ov{};
    HANDLE event = nullptr;
    uint64_t in = 0, out = 0;
    bool busy = false;
    HANDLE handle = nullptr;  // nullptr once the handle it was issued on is closed
};

struct OpenHandle {
    HANDLE h;
    int device;
};

class Worker {
public:
    Worker(Totals& totals, uint32_t seed) : totals_(totals), rng_(seed) {
        for (Slot& s : slots_) s.event = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    }

    void run(long ops) {
        for (long i = 0; i < ops; ++i) step();
        finish();
    }

private:
    void fail(const char* what) {
        if (totals_.failures++ < 10) ADD_FAILURE() << what;
    }
    uint32_t pick(uint32_t n) { return std::uniform_int_distribution<uint32_t>(0, n - 1)(rng_); }

    void step() {
        uint32_t r = pick(1000);
        if (r < 400) issue_on(any_handle());
        else if (r < 600) reap_ready();
        else if (r < 660) cancel_io();
        else if (r < 720) cancel_one();
        else if (r < 740) cancel_all_on_handle();
        else if (r < 850) stressdrv::complete_next_csq();
        else if (r < 900) close_one();
        else if (r < 990) open_one();
        else if (r < 995) child_thread();
        else SwitchToThread();
    }

    int any_handle() {
        if (handles_.empty()) open_one();
        return handles_.empty() ? -1 : static_cast<int>(pick(static_cast<uint32_t>(handles_.size())));
    }

    void open_one() {
        if (handles_.size() >= kMaxHandles) return;
        int device = static_cast<int>(pick(3));
        HANDLE h = CreateFileA(stressdrv::kDeviceNames[device], GENERIC_READ | GENERIC_WRITE,
                               FILE_SHARE_READ | FILE_SHARE_WRITE, nullptr, OPEN_EXISTING, FILE_FLAG_OVERLAPPED,
                               nullptr);
        if (h == INVALID_HANDLE_VALUE) return fail("CreateFile failed");
        handles_.push_back({h, device});
    }

    Slot* free_slot() {
        for (Slot& s : slots_)
            if (!s.busy) return &s;
        return nullptr;
    }

    // Issues one IOCTL on handles_[index]; returns the slot or nullptr.
    Slot* issue_on(int index) {
        Slot* s = free_slot();
        if (index < 0 || !s) return nullptr;
        std::memset(&s->ov, 0, sizeof s->ov);
        s->ov.hEvent = s->event;  // left signaled by the last request: the I/O manager resets it (S-W32)
        s->in = (static_cast<uint64_t>(rng_()) << 32) | ++sequence_;
        s->out = 0;
        s->handle = handles_[index].h;
        BOOL ok = DeviceIoControl(s->handle, stressdrv::IOCTL_STRESS, &s->in, sizeof s->in, &s->out, sizeof s->out,
                                  nullptr, &s->ov);
        if (!ok && GetLastError() != ERROR_IO_PENDING) {
            fail("DeviceIoControl failed without pending");
            return nullptr;
        }
        s->busy = true;
        totals_.issued++;
        return s;
    }

    void reap(Slot& s) {
        if (!HasOverlappedIoCompleted(&s.ov)) return fail("event set while the OVERLAPPED still says STATUS_PENDING");
        NTSTATUS status = static_cast<NTSTATUS>(static_cast<ULONG>(s.ov.Internal));
        if (status == STATUS_SUCCESS) {
            if (s.ov.InternalHigh != sizeof s.out || s.out != s.in) fail("success without the echoed tag");
            totals_.reaped_success++;
        } else if (status == STATUS_CANCELLED) {
            if (s.ov.InternalHigh != 0) fail("cancelled with bytes");
            totals_.reaped_cancelled++;
        } else {
            fail("unexpected final status");
        }
        s.busy = false;
    }

    void reap_ready() {
        for (Slot& s : slots_)
            if (s.busy && WaitForSingleObject(s.event, 0) == WAIT_OBJECT_0) reap(s);
    }

    void cancel_io() {
        if (handles_.empty()) return;
        totals_.cancel_calls++;
        if (!CancelIo(handles_[pick(static_cast<uint32_t>(handles_.size()))].h)) fail("CancelIo failed");
    }

    // CancelIoEx for one OVERLAPPED: TRUE if it was still in flight, else ERROR_NOT_FOUND (S-CAN-9).
    void cancel_one() {
        Slot& s = slots_[pick(kSlots)];
        if (!s.busy || !s.handle) return;
        totals_.cancel_calls++;
        if (!CancelIoEx(s.handle, &s.ov) && GetLastError() != ERROR_NOT_FOUND) fail("CancelIoEx(ov) failed");
    }

    void cancel_all_on_handle() {
        if (handles_.empty()) return;
        totals_.cancel_calls++;
        if (!CancelIoEx(handles_[pick(static_cast<uint32_t>(handles_.size()))].h, nullptr) &&
            GetLastError() != ERROR_NOT_FOUND)
            fail("CancelIoEx(NULL) failed");
    }

    void close_one() {
        if (handles_.empty()) return;
        size_t i = pick(static_cast<uint32_t>(handles_.size()));
        HANDLE h = handles_[i].h;
        handles_.erase(handles_.begin() + static_cast<long>(i));
        bool with_io = false;
        for (Slot& s : slots_)
            if (s.busy && s.handle == h) {
                with_io = true;
                s.handle = nullptr;
            }
        totals_.closes_with_io += with_io;
        if (!CloseHandle(h)) fail("CloseHandle failed");
    }

    // A thread issues requests on one of our handles and exits without waiting: its
    // exit cancels them (S-CAN-12), so once it has ended every one has completed.
    void child_thread() {
        int index = any_handle();
        if (index < 0) return;
        std::vector<Slot*> issued;
        HANDLE t = spawn([&] {
            for (uint32_t n = 1 + pick(3); n > 0; --n)
                if (Slot* s = issue_on(index)) issued.push_back(s);
        });
        if (WaitForSingleObject(t, INFINITE) != WAIT_OBJECT_0) fail("joining the child failed");
        CloseHandle(t);
        totals_.children++;
        totals_.child_requests += issued.size();
        for (Slot* s : issued) {
            if (WaitForSingleObject(s->event, 0) != WAIT_OBJECT_0) fail("a request outlived the thread that issued it");
            else reap(*s);
        }
    }

    void finish() {
        while (!handles_.empty()) close_one();
        for (Slot& s : slots_) {
            if (s.busy) {
                if (WaitForSingleObject(s.event, 30000) != WAIT_OBJECT_0) fail("a request never completed");
                else reap(s);
            }
            CloseHandle(s.event);
        }
    }

    Totals& totals_;
    std::mt19937 rng_;
    Slot slots_[kSlots];
    std::vector<OpenHandle> handles_;
    uint32_t sequence_ = 0;
};

class Stress : public RealTimeTest {};

TEST_F(Stress, RandomIoCancelCloseAndExitAccountForEveryIrp_S_CAN_8_S_CAN_9_S_CAN_12_S_CAN_13) {
    stressdrv::reset();
    ASSERT_EQ(sys.load_driver("ntiostress", reinterpret_cast<ntio::System::DriverEntryFunction>(&stressdrv::DriverEntry)),
              STATUS_SUCCESS);
    const size_t handles_before = sys.open_handles();
    const std::vector<ntio::PoolTagUsage> pool_before = sys.pool_usage();
    const uint64_t bugs_before = ntio::driver_bug_count();
    const long ops = ops_per_thread();

    Totals totals;
    std::vector<HANDLE> threads;
    for (int i = 0; i < kThreads; ++i)
        threads.push_back(spawn([&totals, i, ops] { Worker(totals, 1234u + static_cast<uint32_t>(i)).run(ops); }));
    for (HANDLE t : threads) join(t);

    const stressdrv::Counters& driver = stressdrv::counters();
    EXPECT_EQ(totals.failures.load(), 0u);
    EXPECT_EQ(totals.issued.load(), totals.reaped_success + totals.reaped_cancelled) << "every request reaped once";
    EXPECT_EQ(driver.dispatched.load(), totals.issued.load()) << "every request reached the driver";
    EXPECT_EQ(driver.completed_success.load(), totals.reaped_success.load()) << "no completion lost or doubled";
    EXPECT_EQ(driver.completed_cancelled.load(), totals.reaped_cancelled.load());
    EXPECT_GT(totals.reaped_cancelled.load(), 0u) << "the run exercised cancellation";
    EXPECT_GT(totals.closes_with_io.load(), 0u) << "the run closed handles with I/O in flight";
    EXPECT_GT(totals.child_requests.load(), 0u) << "the run let threads exit with I/O in flight";
    EXPECT_EQ(sys.live_irps(), 0);
    EXPECT_EQ(sys.open_handles(), handles_before) << sys.leak_report();
    std::vector<ntio::PoolTagUsage> pool_after = sys.pool_usage();
    ASSERT_EQ(pool_after.size(), pool_before.size()) << sys.leak_report();
    for (size_t i = 0; i < pool_after.size(); ++i) {
        EXPECT_EQ(pool_after[i].tag, pool_before[i].tag);
        EXPECT_EQ(pool_after[i].bytes, pool_before[i].bytes) << pool_after[i].tag_text;
    }
    EXPECT_EQ(ntio::driver_bug_count(), bugs_before);
    std::printf("stress: %ld ops x %d threads: %llu requests (%llu ok, %llu cancelled), %llu cancel calls, "
                "%llu closes with I/O in flight, %llu exiting threads with %llu requests\n",
                ops, kThreads, (unsigned long long)totals.issued.load(), (unsigned long long)totals.reaped_success.load(),
                (unsigned long long)totals.reaped_cancelled.load(), (unsigned long long)totals.cancel_calls.load(),
                (unsigned long long)totals.closes_with_io.load(), (unsigned long long)totals.children.load(),
                (unsigned long long)totals.child_requests.load());
}

}  // namespace
