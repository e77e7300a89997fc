// I/O completion ports (S-W32-14..20) and the packet a completed request leaves on
// one (S-CMP-9 step 4, S-DSP-7/9..12, §10 items 1 and 3, S-CAN-11), then a stress
// run under the real clock (threads issuing I/O completed by DPCs and other threads,
// dequeuers, handles closed with I/O in flight, the port closed under its waiters).
//
// Most tests run on the virtual clock: timeouts are exact, and thread hand-offs are
// made deterministic with run_until_idle() (every other thread is blocked) or with a
// worker that holds its port slot by spinning, which an ntio wait would give back.
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "drivers/queue_driver.hpp"
#include "drivers/stress_driver.hpp"
#include "io_test_support.hpp"

namespace {

using namespace ntio::testing;
using testdrv::Script;

NTSTATUS status_of(ULONG_PTR internal) { return static_cast<NTSTATUS>(static_cast<ULONG>(internal)); }

// One overlapped request and its output buffer, alive until its packet is taken.
struct Request {
    OVERLAPPED ov{};
    unsigned char out[32]{};
};

// What GetQueuedCompletionStatus returned.
struct Packet {
    BOOL ok = FALSE;
    DWORD error = 0;
    DWORD bytes = 0xdeadbeef;
    ULONG_PTR key = 0xdeadbeef;
    OVERLAPPED* ov = reinterpret_cast<OVERLAPPED*>(1);
};

Packet dequeue(HANDLE port, DWORD ms) {
    Packet p;
    SetLastError(0);
    p.ok = GetQueuedCompletionStatus(port, &p.bytes, &p.key, &p.ov, ms);
    p.error = p.ok ? 0 : GetLastError();
    return p;
}

class Iocp : public IoTest {
protected:
    void TearDown() override {
        IoTest::TearDown();
        EXPECT_EQ(new_driver_bugs(), 0u);
    }
    HANDLE port(DWORD concurrency = 0) {
        HANDLE p = CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, concurrency);
        EXPECT_NE(p, nullptr);
        return p;
    }
    // An overlapped handle on `device`, bound to `port` with `key`.
    HANDLE bound(HANDLE port, ULONG_PTR key, const wchar_t* device = testdrv::kBuffered) {
        HANDLE h = open(device, true);
        EXPECT_NE(h, INVALID_HANDLE_VALUE);
        EXPECT_EQ(CreateIoCompletionPort(h, port, key, 0), port);
        return h;
    }
    // An overlapped IOCTL carrying the script (copied into the IRP at once).
    static BOOL ioctl(HANDLE h, Script s, Request& r) {
        return DeviceIoControl(h, testdrv::IOCTL_BUFFERED, &s, sizeof s, r.out, sizeof r.out, nullptr, &r.ov);
    }
    static void expect_pending(BOOL ok) {
        EXPECT_FALSE(ok);
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_IO_PENDING));
    }
    static void expect_timeout(HANDLE port) {
        Packet p = dequeue(port, 0);
        EXPECT_FALSE(p.ok);
        EXPECT_EQ(p.error, static_cast<DWORD>(WAIT_TIMEOUT));
        EXPECT_EQ(p.ov, nullptr);
    }
};

// ---- creating ports and binding files (S-W32-14, S-W32-15) ------------------------------

TEST_F(Iocp, S_W32_14_CreateAPortBindAFileOrBothAtOnce) {
    HANDLE p = CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 123, 0);
    ASSERT_NE(p, nullptr);
    HANDLE h1 = open(testdrv::kBuffered, true);
    HANDLE p2 = CreateIoCompletionPort(h1, nullptr, 7, 1);
    ASSERT_NE(p2, nullptr);
    EXPECT_NE(p2, p);
    HANDLE h2 = open(testdrv::kBuffered, true);
    EXPECT_EQ(CreateIoCompletionPort(h2, p, 9, 55), p) << "binds to the existing port and returns it";

    Request r1, r2;
    EXPECT_TRUE(ioctl(h1, now(STATUS_SUCCESS, 3), r1));
    EXPECT_TRUE(ioctl(h2, now(STATUS_SUCCESS, 5), r2));
    Packet a = dequeue(p2, 0);
    EXPECT_TRUE(a.ok);
    EXPECT_EQ(a.key, 7u);
    EXPECT_EQ(a.ov, &r1.ov);
    EXPECT_EQ(a.bytes, 3u);
    Packet b = dequeue(p, 0);
    EXPECT_TRUE(b.ok);
    EXPECT_EQ(b.key, 9u);
    EXPECT_EQ(b.ov, &r2.ov);
    EXPECT_EQ(b.bytes, 5u);
    expect_timeout(p);  // the key given with INVALID_HANDLE_VALUE is ignored: nothing else arrives
    expect_timeout(p2);
    for (HANDLE h : {h1, h2, p, p2}) EXPECT_TRUE(CloseHandle(h));
}

TEST_F(Iocp, S_W32_14_ErrorsOfCreateIoCompletionPort) {
    HANDLE p = port();
    HANDLE ev = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    HANDLE h = open(testdrv::kBuffered, true);
    const size_t handles = sys.open_handles();

    SetLastError(0);
    EXPECT_EQ(CreateIoCompletionPort(INVALID_HANDLE_VALUE, p, 1, 0), nullptr) << "an existing port, nothing to bind";
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    for (HANDLE bad : {reinterpret_cast<HANDLE>(0x1000), static_cast<HANDLE>(nullptr), ev}) {
        EXPECT_EQ(CreateIoCompletionPort(bad, nullptr, 1, 0), nullptr);
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
        EXPECT_EQ(sys.open_handles(), handles) << "the port made for the call is closed again";
        EXPECT_EQ(CreateIoCompletionPort(bad, p, 1, 0), nullptr);
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    }
    EXPECT_EQ(CreateIoCompletionPort(h, ev, 1, 0), nullptr) << "an event is not a port";
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    EXPECT_EQ(CreateIoCompletionPort(h, p, 2, 0), p) << "the failures left the file unbound";
    for (HANDLE x : {h, ev, p}) EXPECT_TRUE(CloseHandle(x));
}

TEST_F(Iocp, S_W32_15_ABindingIsPermanentAndUnique) {
    HANDLE p = port(), q = port();
    HANDLE h = bound(p, 1);
    const size_t handles = sys.open_handles();
    for (HANDLE other : {p, q, static_cast<HANDLE>(nullptr)}) {
        SetLastError(0);
        EXPECT_EQ(CreateIoCompletionPort(h, other, 2, 0), nullptr);
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    }
    EXPECT_EQ(sys.open_handles(), handles);
    // A duplicate shares the file object, hence its binding.
    HANDLE dup = nullptr;
    ASSERT_TRUE(DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), &dup, 0, FALSE, DUPLICATE_SAME_ACCESS));
    EXPECT_EQ(CreateIoCompletionPort(dup, q, 3, 0), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    Request r;
    EXPECT_TRUE(ioctl(dup, now(STATUS_SUCCESS), r));
    Packet a = dequeue(p, 0);
    EXPECT_TRUE(a.ok);
    EXPECT_EQ(a.key, 1u);
    EXPECT_EQ(a.ov, &r.ov);
    expect_timeout(q);
    for (HANDLE x : {dup, h, p, q}) EXPECT_TRUE(CloseHandle(x));
}

TEST_F(Iocp, S_W32_15_ASynchronousHandleCannotBeBound) {
    HANDLE p = port();
    HANDLE hs = open(testdrv::kBuffered, false);
    const size_t handles = sys.open_handles();
    EXPECT_EQ(CreateIoCompletionPort(hs, p, 1, 0), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    EXPECT_EQ(CreateIoCompletionPort(hs, nullptr, 1, 0), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    EXPECT_EQ(sys.open_handles(), handles);
    Script s = now(STATUS_SUCCESS);
    DWORD n;
    EXPECT_TRUE(DeviceIoControl(hs, testdrv::IOCTL_BUFFERED, &s, sizeof s, nullptr, 0, &n, nullptr));
    expect_timeout(p);
    CloseHandle(hs);
    CloseHandle(p);
}

void IgnoreApc(PVOID, IO_STATUS_BLOCK*, ULONG) {}

TEST_F(Iocp, S_DSP_9_AnApcRoutineOnABoundHandleIsRefused) {
    HANDLE p = port();
    HANDLE h = bound(p, 1);
    int before = testdrv::state().dispatched;
    Script s = now(STATUS_SUCCESS);
    IO_STATUS_BLOCK iosb{};
    NTSTATUS status =
        NtDeviceIoControlFile(h, nullptr, IgnoreApc, &iosb, &iosb, testdrv::IOCTL_BUFFERED, &s, sizeof s, nullptr, 0);
    EXPECT_EQ(status, STATUS_INVALID_PARAMETER);
    EXPECT_EQ(testdrv::state().dispatched, before) << "refused before any IRP";
    CloseHandle(h);
    CloseHandle(p);
}

// ---- queueing and waking (S-W32-16) -------------------------------------------------------

TEST_F(Iocp, S_W32_16_PacketsLeaveInTheOrderTheyCame) {
    HANDLE p = port();
    for (ULONG_PTR i = 0; i < 100; ++i)
        ASSERT_TRUE(
            PostQueuedCompletionStatus(p, static_cast<DWORD>(i), i + 1000, reinterpret_cast<OVERLAPPED*>(i + 1)));
    for (ULONG_PTR i = 0; i < 100; ++i) {
        Packet a = dequeue(p, 0);
        ASSERT_TRUE(a.ok);
        EXPECT_EQ(a.bytes, i);
        EXPECT_EQ(a.key, i + 1000);
        EXPECT_EQ(a.ov, reinterpret_cast<OVERLAPPED*>(i + 1));
    }
    expect_timeout(p);

    // Requests queue in completion order, not issue order, posts in between.
    HANDLE h = bound(p, 5);
    Request slow, fast;
    expect_pending(ioctl(h, later(STATUS_SUCCESS, 300, 1), slow));
    expect_pending(ioctl(h, later(STATUS_SUCCESS, 100, 2), fast));
    Packet first = dequeue(p, INFINITE);
    EXPECT_EQ(first.ov, &fast.ov);
    EXPECT_EQ(now_ms(), 100);
    PostQueuedCompletionStatus(p, 0, 6, nullptr);
    sys.advance(std::chrono::milliseconds(300));
    EXPECT_EQ(dequeue(p, 0).key, 6u);
    EXPECT_EQ(dequeue(p, 0).ov, &slow.ov);
    CloseHandle(h);
    CloseHandle(p);
}

// Worker threads for the wake-up and concurrency tests. A worker takes packets until
// kStop; on a kHold packet it keeps running (spinning, which keeps its port slot)
// until released; on a kBlock packet it waits on its event, which gives the slot back.
constexpr ULONG_PTR kStop = ~ULONG_PTR(0);
constexpr ULONG_PTR kHold = ULONG_PTR(1) << 40;
constexpr ULONG_PTR kBlock = ULONG_PTR(1) << 41;

class PortWorkers {
public:
    explicit PortWorkers(HANDLE port) : m_port(port), m_taken(CreateSemaphoreA(nullptr, 0, 1000, nullptr)) {}
    ~PortWorkers() {
        for (Worker* w : m_workers) {
            if (w->thread) join(w->thread);
            CloseHandle(w->unblock);
            delete w;
        }
        CloseHandle(m_taken);
    }
    // Starts worker `id` and returns once it waits on the port.
    void start(ntio::System& sys, int id) {
        auto* w = new Worker{id, CreateEventA(nullptr, FALSE, FALSE, nullptr)};
        m_workers.push_back(w);
        w->thread = spawn([this, w] { run(*w); });
        sys.run_until_idle();
    }
    // Waits until some worker has taken one more packet; returns (worker, key), or
    // (-1, 0) when none does. The timeout is virtual: when every thread waits it
    // passes at once, so a packet that never comes fails the test instead of hanging it.
    std::pair<int, ULONG_PTR> next_taken() {
        if (WaitForSingleObject(m_taken, 60000) != WAIT_OBJECT_0) {
            ADD_FAILURE() << "no worker took a packet";
            return {-1, 0};
        }
        std::lock_guard g(m_lock);
        return m_log.at(m_seen++);
    }
    void release(int id) { find(id)->released.store(true); }
    void unblock(int id) { SetEvent(find(id)->unblock); }
    void stop_all() {
        for (size_t i = 0; i < m_workers.size(); ++i) PostQueuedCompletionStatus(m_port, 0, kStop, nullptr);
        for (Worker* w : m_workers) {
            join(w->thread);
            w->thread = nullptr;
            EXPECT_EQ(w->errors, 0);
        }
    }

private:
    struct Worker {
        int id;
        HANDLE unblock;
        HANDLE thread = nullptr;
        std::atomic<bool> released{false};
        int errors = 0;
    };
    Worker* find(int id) {
        for (Worker* w : m_workers)
            if (w->id == id) return w;
        return nullptr;
    }
    void run(Worker& w) {
        for (;;) {
            Packet p = dequeue(m_port, INFINITE);
            if (!p.ok) {
                ++w.errors;
                return;
            }
            if (p.key == kStop) return;
            {
                std::lock_guard g(m_lock);
                m_log.emplace_back(w.id, p.key);
            }
            ReleaseSemaphore(m_taken, 1, nullptr);
            if (p.key & kHold) {
                while (!w.released.exchange(false)) std::this_thread::yield();
            }
            if (p.key & kBlock) WaitForSingleObject(w.unblock, INFINITE);
        }
    }
    HANDLE m_port;
    HANDLE m_taken;
    std::mutex m_lock;
    std::vector<std::pair<int, ULONG_PTR>> m_log;
    size_t m_seen = 0;
    std::vector<Worker*> m_workers;
};

TEST_F(Iocp, S_W32_16_TheThreadThatWaitedLastIsWokenFirst) {
    HANDLE p = port(3);
    {
        PortWorkers workers(p);
        for (int id = 1; id <= 3; ++id) workers.start(sys, id);  // waiting in the order 1, 2, 3
        for (int expected = 3; expected >= 1; --expected) {
            PostQueuedCompletionStatus(p, 0, kHold | ULONG_PTR(expected), nullptr);
            auto [who, key] = workers.next_taken();
            EXPECT_EQ(who, expected) << "LIFO: the most recent waiter gets the packet";
            EXPECT_EQ(key, kHold | ULONG_PTR(expected));
        }
        for (int id = 1; id <= 3; ++id) workers.release(id);
        workers.stop_all();
    }
    CloseHandle(p);
}

TEST_F(Iocp, S_W32_16_TheConcurrencyLimitCountsRunningThreads) {
    HANDLE p = port(1);
    {
        PortWorkers workers(p);
        workers.start(sys, 1);  // A
        workers.start(sys, 2);  // B, the newer waiter
        PostQueuedCompletionStatus(p, 0, kHold | 1, nullptr);
        EXPECT_EQ(workers.next_taken().first, 2);
        // B runs and holds the one slot: the next packet waits although A is free.
        PostQueuedCompletionStatus(p, 0, 2, nullptr);
        EXPECT_EQ(WaitForSingleObject(p, 0), WAIT_OBJECT_0) << "queued, not handed to A";
        // B counts as running until it asks the port again, and then takes it itself.
        workers.release(2);
        EXPECT_EQ(workers.next_taken(), std::make_pair(2, ULONG_PTR(2)));
        // B, the newest waiter again, takes a packet and blocks on an event: that frees
        // its slot, so A gets the next packet while B still holds its own.
        PostQueuedCompletionStatus(p, 0, kBlock | 3, nullptr);
        EXPECT_EQ(workers.next_taken().first, 2);
        PostQueuedCompletionStatus(p, 0, 4, nullptr);
        EXPECT_EQ(workers.next_taken(), std::make_pair(1, ULONG_PTR(4)));
        workers.unblock(2);
        workers.stop_all();
    }
    CloseHandle(p);
}

TEST_F(Iocp, S_W32_16_AThreadThatExitsGivesItsSlotBack) {
    HANDLE p = port(1);
    {
        PortWorkers workers(p);
        workers.start(sys, 1);
        std::atomic<bool> leave{false};
        HANDLE t = spawn([&] {
            Packet a = dequeue(p, INFINITE);  // the newest waiter
            EXPECT_EQ(a.key, 10u);
            while (!leave.load()) std::this_thread::yield();  // running, holding the slot
        });
        sys.run_until_idle();
        PostQueuedCompletionStatus(p, 0, 10, nullptr);
        PostQueuedCompletionStatus(p, 0, 11, nullptr);
        // The first went straight to t, which now runs in the only slot.
        EXPECT_EQ(WaitForSingleObject(p, 0), WAIT_OBJECT_0) << "the second is queued while t runs";
        leave = true;
        join(t);
        EXPECT_EQ(workers.next_taken(), std::make_pair(1, ULONG_PTR(11)));
        workers.stop_all();
    }
    CloseHandle(p);
}

// ---- dequeueing (S-W32-17, S-W32-18) -----------------------------------------------------

TEST_F(Iocp, S_W32_17_S_DSP_7_AFailedRequestsPacket) {
    HANDLE p = port();
    HANDLE h = bound(p, 42);
    // Pended, then failed: a packet carrying the error; FALSE with *lpOverlapped set.
    Request r;
    expect_pending(ioctl(h, later(STATUS_IO_DEVICE_ERROR, 100), r));
    Packet a = dequeue(p, INFINITE);
    EXPECT_FALSE(a.ok);
    EXPECT_EQ(a.error, static_cast<DWORD>(ERROR_IO_DEVICE));
    EXPECT_EQ(a.ov, &r.ov);
    EXPECT_EQ(a.key, 42u);
    EXPECT_EQ(a.bytes, 0u);
    EXPECT_EQ(status_of(r.ov.Internal), STATUS_IO_DEVICE_ERROR);
    // A warning completed in dispatch is reported (it is not NT_ERROR), with its data.
    Request w;
    EXPECT_FALSE(ioctl(h, now(STATUS_BUFFER_OVERFLOW, 8, 8), w));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_MORE_DATA));
    Packet b = dequeue(p, 0);
    EXPECT_FALSE(b.ok);
    EXPECT_EQ(b.error, static_cast<DWORD>(ERROR_MORE_DATA));
    EXPECT_EQ(b.ov, &w.ov);
    EXPECT_EQ(b.bytes, 8u);
    EXPECT_EQ(w.out[7], 0xAB);
    // An error completed in dispatch without pending reaches no one (S-DSP-7 row 1).
    Request e;
    EXPECT_FALSE(ioctl(h, now(STATUS_INVALID_DEVICE_REQUEST), e));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_FUNCTION));
    expect_timeout(p);
    // ... unless it was marked pending: then it is reported like any pended request.
    Script marked = now(STATUS_INVALID_DEVICE_REQUEST);
    marked.mark_pending = TRUE;
    Request m;
    expect_pending(ioctl(h, marked, m));
    Packet c = dequeue(p, 0);
    EXPECT_EQ(c.ov, &m.ov);
    EXPECT_EQ(c.error, static_cast<DWORD>(ERROR_INVALID_FUNCTION));
    CloseHandle(h);
    CloseHandle(p);
}

TEST_F(Iocp, S_W32_17_TimeoutsAreExactOnTheVirtualClock) {
    HANDLE p = port();
    Packet a;
    a.bytes = 0x1111;
    a.key = 0x2222;
    a.ov = reinterpret_cast<OVERLAPPED*>(0x3333);
    DWORD t0 = GetTickCount();
    EXPECT_FALSE(GetQueuedCompletionStatus(p, &a.bytes, &a.key, &a.ov, 1500));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(WAIT_TIMEOUT));
    EXPECT_EQ(GetTickCount() - t0, 1500u);
    EXPECT_EQ(a.ov, nullptr);
    EXPECT_EQ(a.bytes, 0x1111u) << "not written on a timeout";
    EXPECT_EQ(a.key, 0x2222u);
    t0 = GetTickCount();
    expect_timeout(p);
    EXPECT_EQ(GetTickCount() - t0, 0u) << "a zero timeout polls";
    OVERLAPPED_ENTRY entries[4];
    ULONG removed = 99;
    t0 = GetTickCount();
    EXPECT_FALSE(GetQueuedCompletionStatusEx(p, entries, 4, &removed, 250, FALSE));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(WAIT_TIMEOUT));
    EXPECT_EQ(GetTickCount() - t0, 250u);
    EXPECT_EQ(removed, 0u);
    // A request completing at 700 ms ends a 5-second wait at 700 ms.
    HANDLE h = bound(p, 1);
    Request r;
    t0 = GetTickCount();
    expect_pending(ioctl(h, later(STATUS_SUCCESS, 700, 4, 4), r));
    Packet b = dequeue(p, 5000);
    EXPECT_TRUE(b.ok);
    EXPECT_EQ(GetTickCount() - t0, 700u);
    EXPECT_EQ(b.bytes, 4u);
    CloseHandle(h);
    CloseHandle(p);
}

TEST_F(Iocp, S_W32_17_ClosingThePortDuringAWait) {
    HANDLE p = port();
    Packet single;
    BOOL ex_ok = TRUE;
    DWORD ex_error = 0;
    ULONG ex_removed = 99;
    HANDLE t1 = spawn([&] { single = dequeue(p, INFINITE); });
    HANDLE t2 = spawn([&] {
        OVERLAPPED_ENTRY e[2];
        ex_ok = GetQueuedCompletionStatusEx(p, e, 2, &ex_removed, 60000, FALSE);
        ex_error = GetLastError();
    });
    sys.run_until_idle();
    DWORD t0 = GetTickCount();
    EXPECT_TRUE(CloseHandle(p));
    join(t1);
    join(t2);
    EXPECT_EQ(GetTickCount() - t0, 0u) << "woken by the close, not by the timeout";
    EXPECT_FALSE(single.ok);
    EXPECT_EQ(single.ov, nullptr);
    EXPECT_EQ(single.error, static_cast<DWORD>(ERROR_ABANDONED_WAIT_0));
    EXPECT_FALSE(ex_ok);
    EXPECT_EQ(ex_error, static_cast<DWORD>(ERROR_ABANDONED_WAIT_0));
    EXPECT_EQ(ex_removed, 0u);
    Packet after = dequeue(p, 0);
    EXPECT_EQ(after.error, static_cast<DWORD>(ERROR_INVALID_HANDLE)) << "the handle is gone";
}

TEST_F(Iocp, S_W32_17_NotAPort) {
    HANDLE ev = CreateEventA(nullptr, TRUE, TRUE, nullptr);
    HANDLE file = open(testdrv::kBuffered, true);
    HANDLE closed = port();
    CloseHandle(closed);
    for (HANDLE bad : {ev, file, closed, static_cast<HANDLE>(nullptr), INVALID_HANDLE_VALUE}) {
        Packet a = dequeue(bad, 0);
        EXPECT_FALSE(a.ok);
        EXPECT_EQ(a.error, static_cast<DWORD>(ERROR_INVALID_HANDLE));
        EXPECT_EQ(a.ov, nullptr);
        OVERLAPPED_ENTRY e[1];
        ULONG n;
        EXPECT_FALSE(GetQueuedCompletionStatusEx(bad, e, 1, &n, 0, FALSE));
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
        EXPECT_FALSE(PostQueuedCompletionStatus(bad, 0, 0, nullptr));
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    }
    CloseHandle(ev);
    CloseHandle(file);
}

TEST_F(Iocp, S_W32_17_NullOutPointersAreRefusedBeforeAPacketIsTaken) {
    HANDLE p = port();
    PostQueuedCompletionStatus(p, 3, 4, nullptr);
    DWORD bytes;
    ULONG_PTR key;
    OVERLAPPED* ov;
    EXPECT_FALSE(GetQueuedCompletionStatus(p, &bytes, &key, nullptr, 0));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    EXPECT_FALSE(GetQueuedCompletionStatus(p, nullptr, &key, &ov, 0));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    EXPECT_FALSE(GetQueuedCompletionStatus(p, &bytes, nullptr, &ov, 0));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    ULONG n;
    EXPECT_FALSE(GetQueuedCompletionStatusEx(p, nullptr, 1, &n, 0, FALSE));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    Packet a = dequeue(p, 0);
    EXPECT_TRUE(a.ok) << "the packet is still there";
    EXPECT_EQ(a.key, 4u);
    CloseHandle(p);
}

TEST_F(Iocp, S_W32_18_ExRemovesSeveralAndAFailureStaysInItsEntry) {
    HANDLE p = port();
    HANDLE h = bound(p, 3);
    OVERLAPPED tagged{};
    Request failed, ok;
    PostQueuedCompletionStatus(p, 1, 11, nullptr);
    expect_pending(ioctl(h, held(), failed));
    expect_pending(ioctl(h, held(), ok));
    testdrv::complete_held(STATUS_IO_DEVICE_ERROR, 0);
    testdrv::complete_held(STATUS_SUCCESS, 4, 4);
    PostQueuedCompletionStatus(p, 2, 12, &tagged);
    OVERLAPPED_ENTRY e[8];
    ULONG n = 0;
    ASSERT_TRUE(GetQueuedCompletionStatusEx(p, e, 8, &n, 0, FALSE)) << "a failed request does not fail the call";
    ASSERT_EQ(n, 4u);
    EXPECT_EQ(e[0].lpCompletionKey, 11u);
    EXPECT_EQ(e[0].lpOverlapped, nullptr);
    EXPECT_EQ(e[0].dwNumberOfBytesTransferred, 1u);
    EXPECT_EQ(e[1].lpCompletionKey, 3u);
    EXPECT_EQ(e[1].lpOverlapped, &failed.ov);
    EXPECT_EQ(status_of(e[1].Internal), STATUS_IO_DEVICE_ERROR);
    EXPECT_EQ(e[2].lpOverlapped, &ok.ov);
    EXPECT_EQ(e[2].Internal, 0u);
    EXPECT_EQ(e[2].dwNumberOfBytesTransferred, 4u);
    EXPECT_EQ(e[3].lpCompletionKey, 12u);
    EXPECT_EQ(e[3].lpOverlapped, &tagged);
    // Fewer slots than packets: the rest stay, in order.
    for (ULONG_PTR k = 0; k < 3; ++k) PostQueuedCompletionStatus(p, 0, k, nullptr);
    ASSERT_TRUE(GetQueuedCompletionStatusEx(p, e, 2, &n, 0, FALSE));
    EXPECT_EQ(n, 2u);
    EXPECT_EQ(e[1].lpCompletionKey, 1u);
    ASSERT_TRUE(GetQueuedCompletionStatusEx(p, e, 2, &n, 0, FALSE));
    EXPECT_EQ(n, 1u);
    EXPECT_EQ(e[0].lpCompletionKey, 2u);
    // More than the services' batch of 64 in one call.
    for (ULONG_PTR k = 0; k < 150; ++k) PostQueuedCompletionStatus(p, 0, k, nullptr);
    std::vector<OVERLAPPED_ENTRY> many(200);
    ASSERT_TRUE(GetQueuedCompletionStatusEx(p, many.data(), 200, &n, 0, FALSE));
    ASSERT_EQ(n, 150u);
    for (ULONG_PTR k = 0; k < 150; ++k) EXPECT_EQ(many[k].lpCompletionKey, k);
    EXPECT_FALSE(GetQueuedCompletionStatusEx(p, e, 0, &n, 0, FALSE));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    // A blocking call returns with the first packet.
    Request r;
    DWORD t0 = GetTickCount();
    expect_pending(ioctl(h, later(STATUS_SUCCESS, 300), r));
    ASSERT_TRUE(GetQueuedCompletionStatusEx(p, e, 8, &n, INFINITE, TRUE));
    EXPECT_EQ(n, 1u);
    EXPECT_EQ(e[0].lpOverlapped, &r.ov);
    EXPECT_EQ(GetTickCount() - t0, 300u);
    CloseHandle(h);
    CloseHandle(p);
}

TEST_F(Iocp, S_W32_19_APostedPacketWithoutAnOverlapped) {
    HANDLE p = port();
    EXPECT_EQ(WaitForSingleObject(p, 0), static_cast<DWORD>(WAIT_TIMEOUT)) << "a port waits like an object";
    EXPECT_TRUE(PostQueuedCompletionStatus(p, 5, 77, nullptr));
    EXPECT_EQ(WaitForSingleObject(p, 0), WAIT_OBJECT_0) << "signaled while a packet is queued";
    EXPECT_EQ(WaitForSingleObject(p, 0), WAIT_OBJECT_0) << "a wait consumes nothing";
    Packet a = dequeue(p, 0);
    EXPECT_TRUE(a.ok) << "TRUE although lpOverlapped is NULL";
    EXPECT_EQ(a.ov, nullptr);
    EXPECT_EQ(a.bytes, 5u);
    EXPECT_EQ(a.key, 77u);
    EXPECT_EQ(WaitForSingleObject(p, 0), static_cast<DWORD>(WAIT_TIMEOUT));
    // A thread waiting on the port object itself wakes at the post.
    DWORD waited = 0;
    HANDLE t = spawn([&] { waited = WaitForSingleObject(p, INFINITE); });
    sys.run_until_idle();
    PostQueuedCompletionStatus(p, 0, 1, nullptr);
    join(t);
    EXPECT_EQ(waited, WAIT_OBJECT_0);
    EXPECT_EQ(dequeue(p, 0).key, 1u);
    CloseHandle(p);
}

TEST_F(Iocp, S_W32_20_ClosingThePortDropsItsPacketsButNotTheRequests) {
    HANDLE p = port();
    HANDLE dup = nullptr;
    ASSERT_TRUE(DuplicateHandle(GetCurrentProcess(), p, GetCurrentProcess(), &dup, 0, FALSE, DUPLICATE_SAME_ACCESS));
    HANDLE h = bound(p, 1);
    PostQueuedCompletionStatus(p, 0, 1, nullptr);
    EXPECT_TRUE(CloseHandle(p)) << "not the last handle";
    EXPECT_EQ(dequeue(dup, 0).key, 1u) << "the port works through the other handle";
    for (int i = 0; i < 3; ++i) PostQueuedCompletionStatus(dup, 0, 2, nullptr);
    Request pending, after;
    after.ov.hEvent = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    expect_pending(ioctl(h, held(), pending));
    EXPECT_TRUE(CloseHandle(dup)) << "the last handle: the three packets are discarded";
    // The file still holds the port; its completions go nowhere, but complete.
    testdrv::complete_held(STATUS_SUCCESS, 2, 2);
    EXPECT_EQ(status_of(pending.ov.Internal), STATUS_SUCCESS);
    EXPECT_EQ(pending.ov.InternalHigh, 2u);
    EXPECT_TRUE(ioctl(h, now(STATUS_SUCCESS), after));
    EXPECT_EQ(WaitForSingleObject(after.ov.hEvent, 0), WAIT_OBJECT_0);
    CloseHandle(after.ov.hEvent);
    EXPECT_TRUE(CloseHandle(h));  // the file object's reference was the port's last
    EXPECT_EQ(sys.leak_report(), "");
}

// ---- what a completion posts (S-CMP-9 step 4, S-DSP-10..12, §10) ---------------------------

TEST_F(Iocp, S_10_1_TheStatusBlockIsWrittenBeforeThePacket) {
    HANDLE p = port();
    HANDLE h = bound(p, 1);
    Request inline_done, pended;
    EXPECT_TRUE(ioctl(h, now(STATUS_SUCCESS, 6, 6), inline_done));
    EXPECT_EQ(status_of(inline_done.ov.Internal), STATUS_SUCCESS) << "written while the packet is still queued";
    EXPECT_EQ(inline_done.ov.InternalHigh, 6u);
    EXPECT_EQ(inline_done.out[5], 0xAB);
    expect_pending(ioctl(h, later(STATUS_BUFFER_OVERFLOW, 50, 3, 3), pended));
    Packet a = dequeue(p, 0);
    EXPECT_EQ(a.ov, &inline_done.ov);
    Packet b = dequeue(p, INFINITE);
    EXPECT_EQ(b.ov, &pended.ov);
    EXPECT_EQ(status_of(pended.ov.Internal), STATUS_BUFFER_OVERFLOW) << "complete when its packet is seen";
    EXPECT_EQ(pended.ov.InternalHigh, 3u);
    EXPECT_EQ(pended.out[2], 0xAB);
    CloseHandle(h);
    CloseHandle(p);
}

TEST_F(Iocp, S_DSP_12_AnEventWithItsLowBitSetAsksForNoPacket) {
    HANDLE p = port();
    HANDLE h = bound(p, 1);
    HANDLE ev = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    HANDLE tagged = reinterpret_cast<HANDLE>(reinterpret_cast<ULONG_PTR>(ev) | 1);
    Request a, b, c;
    a.ov.hEvent = tagged;
    EXPECT_TRUE(ioctl(h, now(STATUS_SUCCESS, 1, 1), a));
    EXPECT_EQ(WaitForSingleObject(ev, 0), WAIT_OBJECT_0) << "the event is still set";
    expect_timeout(p);
    b.ov.hEvent = tagged;
    expect_pending(ioctl(h, later(STATUS_SUCCESS, 40), b));  // the call resets the event first
    EXPECT_EQ(WaitForSingleObject(ev, 0), static_cast<DWORD>(WAIT_TIMEOUT));
    EXPECT_EQ(WaitForSingleObject(ev, INFINITE), WAIT_OBJECT_0);
    DWORD n = 0;
    EXPECT_TRUE(GetOverlappedResult(h, &b.ov, &n, FALSE)) << "GetOverlappedResult ignores the tag bit";
    expect_timeout(p);
    c.ov.hEvent = ev;  // untagged: a packet
    EXPECT_TRUE(ioctl(h, now(STATUS_SUCCESS), c));
    EXPECT_EQ(dequeue(p, 0).ov, &c.ov);
    CloseHandle(ev);
    CloseHandle(h);
    CloseHandle(p);
}

TEST_F(Iocp, S_DSP_10_S_10_3_SkipCompletionPortOnSuccessOnlySkipsSuccessesThatDidNotPend) {
    HANDLE p = port();
    HANDLE h = bound(p, 1);
    ASSERT_TRUE(SetFileCompletionNotificationModes(h, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS));
    HANDLE ev = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    Request ok, informational, warning, marked, pended, failed;
    ok.ov.hEvent = ev;
    EXPECT_TRUE(ioctl(h, now(STATUS_SUCCESS, 2, 2), ok));
    EXPECT_EQ(WaitForSingleObject(ev, 0), WAIT_OBJECT_0) << "the event is still set";
    EXPECT_EQ(ok.ov.InternalHigh, 2u);
    expect_timeout(p);
    EXPECT_TRUE(ioctl(h, now(STATUS_TIMEOUT), informational)) << "an informational status is a success";
    expect_timeout(p);
    // Windows >= 8: a warning that did not pend still posts.
    EXPECT_FALSE(ioctl(h, now(STATUS_BUFFER_OVERFLOW, 1, 1), warning));
    EXPECT_EQ(dequeue(p, 0).ov, &warning.ov);
    // A success returned as STATUS_PENDING posts.
    Script s = now(STATUS_SUCCESS);
    s.mark_pending = TRUE;
    expect_pending(ioctl(h, s, marked));
    EXPECT_EQ(dequeue(p, 0).ov, &marked.ov);
    expect_pending(ioctl(h, later(STATUS_SUCCESS, 10), pended));
    EXPECT_EQ(dequeue(p, INFINITE).ov, &pended.ov);
    // An error without pending posts nothing, as without the mode.
    EXPECT_FALSE(ioctl(h, now(STATUS_INVALID_DEVICE_REQUEST), failed));
    expect_timeout(p);
    // Modes stay; unknown flags and non-files are refused.
    EXPECT_TRUE(SetFileCompletionNotificationModes(h, 0));
    EXPECT_TRUE(ioctl(h, now(STATUS_SUCCESS), ok));
    expect_timeout(p);
    EXPECT_FALSE(SetFileCompletionNotificationModes(h, 0x8));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    EXPECT_FALSE(SetFileCompletionNotificationModes(p, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    CloseHandle(ev);
    CloseHandle(h);
    CloseHandle(p);
}

TEST_F(Iocp, S_DSP_11_SkipSetEventOnHandleLeavesTheFileUnsignaled) {
    HANDLE p = port();
    HANDLE plain = open(testdrv::kBuffered, true);
    HANDLE skip = bound(p, 1);
    ASSERT_TRUE(SetFileCompletionNotificationModes(skip, FILE_SKIP_SET_EVENT_ON_HANDLE));
    Request a, b, c, d;
    EXPECT_TRUE(ioctl(plain, now(STATUS_SUCCESS), a));
    EXPECT_EQ(WaitForSingleObject(plain, 0), WAIT_OBJECT_0) << "without the mode the file is signaled";
    EXPECT_TRUE(ioctl(skip, now(STATUS_SUCCESS), b));
    EXPECT_EQ(WaitForSingleObject(skip, 0), static_cast<DWORD>(WAIT_TIMEOUT));
    EXPECT_EQ(dequeue(p, 0).ov, &b.ov) << "the packet still comes";
    expect_pending(ioctl(skip, later(STATUS_IO_DEVICE_ERROR, 20), c));
    EXPECT_EQ(dequeue(p, INFINITE).ov, &c.ov);
    EXPECT_EQ(WaitForSingleObject(skip, 0), static_cast<DWORD>(WAIT_TIMEOUT)) << "nor for a pended request";
    d.ov.hEvent = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    EXPECT_TRUE(ioctl(skip, now(STATUS_SUCCESS), d));
    EXPECT_EQ(WaitForSingleObject(d.ov.hEvent, 0), WAIT_OBJECT_0) << "an explicit event is still set";
    EXPECT_EQ(dequeue(p, 0).ov, &d.ov);
    CloseHandle(d.ov.hEvent);
    CloseHandle(plain);
    CloseHandle(skip);
    CloseHandle(p);
}

// Two threads keep many reads and writes in flight on two files bound to one port;
// the driver completes them from timer DPCs, out of order; the main thread harvests
// every packet with both calls and checks every byte.
TEST_F(Iocp, S_W32_16_S_CMP_9_ManyReadsAndWritesFromTwoThreadsHarvestedByOnePort) {
    constexpr int kPerThread = 128;  // half reads, half writes
    constexpr DWORD kMaxLength = 300;
    Script rw;
    rw.finish = testdrv::Finish::dpc;
    rw.delay_ms = 1;
    rw.delay_spread = 13;
    rw.pattern = TRUE;
    testdrv::state().next_read_write = rw;
    struct Io {
        OVERLAPPED ov{};
        int thread = 0;
        bool write = false;
        LONGLONG offset = 0;
        DWORD length = 0;
        int seen = 0;
        unsigned char data[kMaxLength];
    };
    std::vector<std::unique_ptr<Io>> ios;
    for (int i = 0; i < 2 * kPerThread; ++i) ios.push_back(std::make_unique<Io>());
    HANDLE p = port(2);
    HANDLE files[2] = {bound(p, 101, testdrv::kBuffered), bound(p, 102, testdrv::kDirect)};
    HANDLE harvested = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    std::atomic<int> issue_failures{0};
    auto issuer = [&](int k) {
        for (int i = 0; i < kPerThread; ++i) {
            Io& io = *ios[k * kPerThread + i];
            io.thread = k;
            io.write = i % 2 == 1;
            io.offset = k * 1000003LL + i * 517LL;
            io.length = 1 + static_cast<DWORD>(i * 37 + k * 11) % kMaxLength;
            for (DWORD b = 0; b < io.length; ++b)
                io.data[b] = io.write ? testdrv::pattern_byte(io.offset + b) : static_cast<unsigned char>(0xEE);
            io.ov.Offset = static_cast<DWORD>(io.offset);
            io.ov.OffsetHigh = static_cast<DWORD>(io.offset >> 32);
            BOOL ok = io.write ? WriteFile(files[k], io.data, io.length, nullptr, &io.ov)
                               : ReadFile(files[k], io.data, io.length, nullptr, &io.ov);
            if (ok || GetLastError() != ERROR_IO_PENDING) issue_failures++;
        }
        // Stay alive: a thread's exit would cancel what it issued (S-CAN-12).
        WaitForSingleObject(harvested, INFINITE);
    };
    HANDLE t0 = spawn([&] { issuer(0); });
    HANDLE t1 = spawn([&] { issuer(1); });

    int count = 0, reads = 0, writes = 0;
    auto check = [&](ULONG_PTR key, OVERLAPPED* ov, NTSTATUS status, DWORD bytes) {
        ASSERT_NE(ov, nullptr);
        Io& io = *CONTAINING_RECORD(ov, Io, ov);
        EXPECT_EQ(io.seen++, 0) << "one packet per request";
        EXPECT_EQ(key, 101u + io.thread);
        EXPECT_EQ(status, STATUS_SUCCESS);
        EXPECT_EQ(bytes, io.length);
        EXPECT_EQ(status_of(io.ov.Internal), STATUS_SUCCESS);
        if (io.write) {
            ++writes;
        } else {
            ++reads;
            for (DWORD b = 0; b < io.length; ++b)
                if (io.data[b] != testdrv::pattern_byte(io.offset + b)) {
                    ADD_FAILURE() << "byte " << b << " of a read at " << io.offset;
                    break;
                }
        }
        ++count;
    };
    while (count < 2 * kPerThread) {
        if (count % 3 == 0) {
            OVERLAPPED_ENTRY e[8];
            ULONG n = 0;
            ASSERT_TRUE(GetQueuedCompletionStatusEx(p, e, 8, &n, INFINITE, FALSE));
            for (ULONG i = 0; i < n; ++i)
                check(e[i].lpCompletionKey, e[i].lpOverlapped, status_of(e[i].Internal),
                      e[i].dwNumberOfBytesTransferred);
        } else {
            Packet a = dequeue(p, INFINITE);
            EXPECT_TRUE(a.ok);
            check(a.key, a.ov, a.ok ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL, a.bytes);
        }
    }
    SetEvent(harvested);
    join(t0);
    join(t1);
    EXPECT_EQ(issue_failures.load(), 0);
    EXPECT_EQ(reads, kPerThread);
    EXPECT_EQ(writes, kPerThread);
    expect_timeout(p);
    for (HANDLE x : {files[0], files[1], harvested, p}) CloseHandle(x);
}

// ---- cancellation (S-CAN-11) ------------------------------------------------------------

class IocpCancel : public Iocp {
protected:
    void SetUp() override {
        Iocp::SetUp();
        queuedrv::reset();
        auto entry = reinterpret_cast<ntio::System::DriverEntryFunction>(&queuedrv::DriverEntry);
        ASSERT_EQ(sys.load_driver("ntioqueue", entry), STATUS_SUCCESS);
    }
};

TEST_F(IocpCancel, S_CAN_11_ACancelledRequestPostsAStatusCancelledPacket) {
    HANDLE p = port();
    HANDLE h = CreateFileA(queuedrv::kCsqName, GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING,
                           FILE_FLAG_OVERLAPPED, nullptr);
    ASSERT_NE(h, INVALID_HANDLE_VALUE);
    ASSERT_EQ(CreateIoCompletionPort(h, p, 5, 0), p);
    OVERLAPPED a{}, b{};
    ULONG tag = 1;
    EXPECT_FALSE(DeviceIoControl(h, queuedrv::IOCTL_QUEUE, &tag, sizeof tag, nullptr, 0, nullptr, &a));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_IO_PENDING));
    EXPECT_FALSE(DeviceIoControl(h, queuedrv::IOCTL_QUEUE, &tag, sizeof tag, nullptr, 0, nullptr, &b));
    expect_timeout(p);
    EXPECT_TRUE(CancelIoEx(h, &a));
    Packet x = dequeue(p, INFINITE);
    EXPECT_FALSE(x.ok);
    EXPECT_EQ(x.ov, &a);
    EXPECT_EQ(x.key, 5u);
    EXPECT_EQ(x.bytes, 0u);
    EXPECT_EQ(x.error, static_cast<DWORD>(ERROR_OPERATION_ABORTED));
    EXPECT_TRUE(CancelIo(h));
    Packet y = dequeue(p, INFINITE);
    EXPECT_EQ(y.ov, &b);
    EXPECT_EQ(y.error, static_cast<DWORD>(ERROR_OPERATION_ABORTED));
    expect_timeout(p);
    CloseHandle(h);
    CloseHandle(p);
}

// ---- stress, real time ----------------------------------------------------------------------

long stress_ops() {
    const char* env = std::getenv("NTIO_IOCP_STRESS_OPS");
    long n = env ? std::atol(env) : 0;
    return n > 0 ? n : 20000;
}

class IocpStress : public RealTimeTest {};

// Three threads issue IOCTLs on handles bound to one port: the StartIo device
// completes them from a DPC, the cancel-safe queue device when any thread asks (or
// when cancelled, or at cleanup), the inline device inside the call. Some handles
// skip the port on inline success. The issuers also cancel, and close handles with
// I/O in flight. Two threads dequeue (GetQueuedCompletionStatus and ...Ex); at the
// end the port is closed under them. Every request is reaped exactly once, and
// nothing is left: no IRP, handle or pool allocation, no driver bug.
TEST_F(IocpStress, IssuersDequeuersAndClosesAccountForEveryRequest_S_W32_16_S_W32_20_S_DSP_10_S_CAN_13) {
    stressdrv::reset();
    auto entry = reinterpret_cast<ntio::System::DriverEntryFunction>(&stressdrv::DriverEntry);
    ASSERT_EQ(sys.load_driver("ntiostress", entry), STATUS_SUCCESS);
    const size_t handles_before = sys.open_handles();
    const std::vector<ntio::PoolTagUsage> pool_before = sys.pool_usage();
    const uint64_t bugs_before = ntio::driver_bug_count();
    const long ops = stress_ops();
    constexpr int kIssuers = 3, kDequeuers = 2;

    struct Req {
        OVERLAPPED ov{};
        uint64_t in = 0, out = 0;
        std::atomic<int> reaped{0};
    };
    std::atomic<uint64_t> issued{0}, inline_reaped{0}, packet_success{0}, packet_cancelled{0}, failures{0},
        closes{0};
    auto fail = [&](const char* what) {
        if (failures++ < 10) ADD_FAILURE() << what;
    };
    auto reap = [&](Req* r, NTSTATUS status, DWORD bytes, bool from_packet) {
        if (r->reaped.fetch_add(1) != 0) return fail("a request reaped twice");
        if (status == STATUS_SUCCESS) {
            if (bytes != sizeof r->out || r->out != r->in) fail("success without the echoed tag");
            (from_packet ? packet_success : inline_reaped)++;
        } else if (status == STATUS_CANCELLED && from_packet) {
            if (bytes != 0) fail("cancelled with bytes");
            packet_cancelled++;
        } else {
            fail("unexpected final status");
        }
        delete r;
    };
    HANDLE port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, 2);
    ASSERT_NE(port, nullptr);

    auto issuer = [&](uint32_t seed) {
        std::mt19937 rng(seed);
        auto pick = [&](uint32_t n) { return std::uniform_int_distribution<uint32_t>(0, n - 1)(rng); };
        struct Open {
            HANDLE h;
            bool skip;
        };
        std::vector<Open> handles;
        uint64_t tag = uint64_t(seed) << 40;
        for (long i = 0; i < ops; ++i) {
            uint32_t r = pick(1000);
            if (handles.empty() || (r >= 900 && handles.size() < 4)) {
                HANDLE h = CreateFileA(stressdrv::kDeviceNames[pick(3)], GENERIC_READ | GENERIC_WRITE,
                                       FILE_SHARE_READ | FILE_SHARE_WRITE, nullptr, OPEN_EXISTING,
                                       FILE_FLAG_OVERLAPPED, nullptr);
                if (h == INVALID_HANDLE_VALUE) return fail("CreateFile failed");
                if (CreateIoCompletionPort(h, port, seed, 0) != port) fail("binding failed");
                bool skip = pick(2) == 0;
                if (skip && !SetFileCompletionNotificationModes(h, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS))
                    fail("SetFileCompletionNotificationModes failed");
                handles.push_back({h, skip});
            } else if (r < 550) {
                Open& o = handles[pick(static_cast<uint32_t>(handles.size()))];
                auto* q = new Req;
                q->in = ++tag;
                issued++;
                BOOL ok = DeviceIoControl(o.h, stressdrv::IOCTL_STRESS, &q->in, sizeof q->in, &q->out, sizeof q->out,
                                          nullptr, &q->ov);
                // From here the packet may already be another thread's: touch q only
                // when no packet comes (an inline success on a skipping handle).
                if (ok && o.skip) reap(q, status_of(q->ov.Internal), static_cast<DWORD>(q->ov.InternalHigh), false);
                else if (!ok && GetLastError() != ERROR_IO_PENDING) fail("DeviceIoControl failed without pending");
            } else if (r < 750) {
                stressdrv::complete_next_csq();
            } else if (r < 800) {
                if (!CancelIoEx(handles[pick(static_cast<uint32_t>(handles.size()))].h, nullptr) &&
                    GetLastError() != ERROR_NOT_FOUND)
                    fail("CancelIoEx failed");
            } else if (r < 850) {
                size_t k = pick(static_cast<uint32_t>(handles.size()));
                closes++;
                if (!CloseHandle(handles[k].h)) fail("CloseHandle failed");
                handles.erase(handles.begin() + static_cast<long>(k));
            } else {
                SwitchToThread();
            }
        }
        for (Open& o : handles) CloseHandle(o.h);  // cleanup cancels what the queue device holds
    };
    auto dequeuer = [&](bool ex) {
        for (;;) {
            if (ex) {
                OVERLAPPED_ENTRY e[16];
                ULONG n = 0;
                if (!GetQueuedCompletionStatusEx(port, e, 16, &n, 100, FALSE)) {
                    DWORD error = GetLastError();
                    if (error == WAIT_TIMEOUT) continue;
                    if (error != ERROR_ABANDONED_WAIT_0 && error != ERROR_INVALID_HANDLE) fail("GQCSEx failed");
                    return;
                }
                for (ULONG i = 0; i < n; ++i)
                    reap(CONTAINING_RECORD(e[i].lpOverlapped, Req, ov), status_of(e[i].Internal),
                         e[i].dwNumberOfBytesTransferred, true);
            } else {
                Packet a = dequeue(port, 100);
                if (!a.ov) {
                    if (a.error == WAIT_TIMEOUT) continue;
                    if (a.error != ERROR_ABANDONED_WAIT_0 && a.error != ERROR_INVALID_HANDLE) fail("GQCS failed");
                    return;
                }
                Req* r = CONTAINING_RECORD(a.ov, Req, ov);
                reap(r, status_of(r->ov.Internal), a.bytes, true);
            }
        }
    };
    std::vector<HANDLE> issuers, dequeuers;
    for (int i = 0; i < kDequeuers; ++i) dequeuers.push_back(spawn([&, i] { dequeuer(i == 1); }));
    for (int i = 0; i < kIssuers; ++i) issuers.push_back(spawn([&, i] { issuer(7u + static_cast<uint32_t>(i)); }));
    for (HANDLE t : issuers) join(t);
    // Every handle is closed, so every request completes; wait for the dequeuers to
    // take the last packets, then close the port under them.
    for (int waited = 0; inline_reaped + packet_success + packet_cancelled < issued && waited < 60000; waited += 10)
        Sleep(10);
    EXPECT_TRUE(CloseHandle(port));
    for (HANDLE t : dequeuers) join(t);

    const stressdrv::Counters& driver = stressdrv::counters();
    EXPECT_EQ(failures.load(), 0u);
    EXPECT_EQ(issued.load(), inline_reaped + packet_success + packet_cancelled) << "every request reaped once";
    EXPECT_EQ(driver.dispatched.load(), issued.load());
    EXPECT_EQ(driver.completed_success.load(), inline_reaped + packet_success);
    EXPECT_EQ(driver.completed_cancelled.load(), packet_cancelled.load());
    EXPECT_GT(inline_reaped.load(), 0u) << "the run skipped the port on inline successes";
    EXPECT_GT(packet_cancelled.load(), 0u) << "the run exercised cancellation";
    EXPECT_GT(closes.load(), 0u);
    EXPECT_EQ(sys.live_irps(), 0);
    EXPECT_EQ(sys.open_handles(), handles_before) << sys.leak_report();
    std::vector<ntio::PoolTagUsage> pool_after = sys.pool_usage();
    ASSERT_EQ(pool_after.size(), pool_before.size()) << sys.leak_report();
    for (size_t i = 0; i < pool_after.size(); ++i) EXPECT_EQ(pool_after[i].bytes, pool_before[i].bytes);
    EXPECT_EQ(ntio::driver_bug_count(), bugs_before);
    std::printf("iocp stress: %ld ops x %d issuers: %llu requests (%llu inline, %llu packets ok, %llu cancelled), "
                "%llu closes\n",
                ops, kIssuers, (unsigned long long)issued.load(), (unsigned long long)inline_reaped.load(),
                (unsigned long long)packet_success.load(), (unsigned long long)packet_cancelled.load(),
                (unsigned long long)closes.load());
}

}  // namespace
