// Run-down protection (S-EX-4..7, docs/design.md): references taken until the owner
// begins the run-down, refused after, and the owner's wait for those taken before; on
// the virtual clock, so the wait's end is exact.
#include <atomic>
#include <vector>

#include "ntio/gtest.hpp"
#include "wdm.h"

namespace {

// A system thread running `f`, waited for by join().
PVOID start(PKSTART_ROUTINE f, PVOID context) {
    HANDLE h;
    EXPECT_EQ(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, nullptr, nullptr, nullptr, f, context), STATUS_SUCCESS);
    PVOID thread;
    EXPECT_EQ(ObReferenceObjectByHandle(h, SYNCHRONIZE, nullptr, KernelMode, &thread, nullptr), STATUS_SUCCESS);
    ZwClose(h);
    return thread;
}
void join(PVOID thread) {
    KeWaitForSingleObject(thread, Executive, KernelMode, FALSE, nullptr);
    ObDereferenceObject(thread);
}

class Rundown : public ntio::testing::DriverTest {
protected:
    EX_RUNDOWN_REF ref;
    void SetUp() override { ExInitializeRundownProtection(&ref); }
};

// S-EX-4: references are counted, in ones or in batches.
TEST_F(Rundown, S_EX_4_ReferencesAreCountedUntilTheRunDown) {
    EXPECT_EQ(ref.Count, 0u);
    EXPECT_TRUE(ExAcquireRundownProtection(&ref));
    EXPECT_TRUE(ExAcquireRundownProtectionEx(&ref, 3));
    EXPECT_EQ(ref.Count, 4u * 2) << "two per reference; bit 0 clear until the run-down";
    ExReleaseRundownProtectionEx(&ref, 3);
    ExReleaseRundownProtection(&ref);
    EXPECT_EQ(ref.Count, 0u);
    ExWaitForRundownProtectionRelease(&ref);  // none held: returns at once
    EXPECT_EQ(ref.Count, 1u);
}

struct Holder {
    PEX_RUNDOWN_REF ref;
    LONGLONG hold_ms;
    ULONG count;
};

VOID hold_then_release(PVOID p) {
    auto* h = static_cast<Holder*>(p);
    LARGE_INTEGER delay;
    delay.QuadPart = -h->hold_ms * 10000;
    KeDelayExecutionThread(KernelMode, FALSE, &delay);
    ExReleaseRundownProtectionEx(h->ref, h->count);
    PsTerminateSystemThread(STATUS_SUCCESS);
}

// S-EX-5, S-EX-6: once the owner waits, acquisitions fail; the wait ends exactly when
// the last reference taken before it is released.
TEST_F(Rundown, S_EX_5_S_EX_6_TheWaitEndsWithTheLastReferenceAndNewOnesAreRefused) {
    ASSERT_TRUE(ExAcquireRundownProtection(&ref));
    ASSERT_TRUE(ExAcquireRundownProtectionEx(&ref, 2));
    Holder one{&ref, 100, 1}, two{&ref, 250, 2};
    PVOID a = start(hold_then_release, &one);
    PVOID b = start(hold_then_release, &two);
    struct Probe {
        PEX_RUNDOWN_REF ref;
        std::atomic<bool> refused{false};
    } probe_args{&ref};
    PVOID probe = start(
        [](PVOID p) {
            auto* args = static_cast<Probe*>(p);
            LARGE_INTEGER delay;
            delay.QuadPart = -50 * 10000;
            KeDelayExecutionThread(KernelMode, FALSE, &delay);  // the owner waits by now
            args->refused = !ExAcquireRundownProtection(args->ref);
            PsTerminateSystemThread(STATUS_SUCCESS);
        },
        &probe_args);
    int64_t t0 = now_ms();
    ExWaitForRundownProtectionRelease(&ref);
    EXPECT_EQ(now_ms() - t0, 250) << "the last release, exactly";
    join(a);
    join(b);
    join(probe);
    EXPECT_TRUE(probe_args.refused.load()) << "an acquisition during the wait fails";
    EXPECT_FALSE(ExAcquireRundownProtection(&ref)) << "and after it";
    EXPECT_FALSE(ExAcquireRundownProtectionEx(&ref, 5));
    EXPECT_EQ(ref.Count, 1u) << "run down, nothing held, no pointer to the waiter's stack left behind";
}

// S-EX-7: re-initialized after its run-down, the reference is usable again.
TEST_F(Rundown, S_EX_7_ReInitializeAfterTheRunDown) {
    ExWaitForRundownProtectionRelease(&ref);
    EXPECT_FALSE(ExAcquireRundownProtection(&ref));
    ExRundownCompleted(&ref);
    ExReInitializeRundownProtection(&ref);
    EXPECT_TRUE(ExAcquireRundownProtection(&ref));
    ExReleaseRundownProtection(&ref);
}

TEST_F(Rundown, InvalidParameter_S_EX_7_Misuse) {
    EXPECT_DRIVER_BUG("InvalidParameter", ExReleaseRundownProtection(&ref));  // none held
    EXPECT_EQ(ref.Count, 0u) << "the count did not wrap";
    ASSERT_TRUE(ExAcquireRundownProtection(&ref));
    EXPECT_DRIVER_BUG("InvalidParameter", ExReleaseRundownProtectionEx(&ref, 2));  // one held
    EXPECT_DRIVER_BUG("InvalidParameter", ExReInitializeRundownProtection(&ref));  // not run down
    EXPECT_EQ(ref.Count, 0u) << "re-initialized all the same, as asked";
    EXPECT_DRIVER_BUG("InvalidParameter", ExRundownCompleted(&ref));  // not begun
    ExReInitializeRundownProtection(&ref);
    ExWaitForRundownProtectionRelease(&ref);
    EXPECT_DRIVER_BUG("InvalidParameter", ExReleaseRundownProtection(&ref));  // after the end
    EXPECT_EQ(ref.Count, 1u);
}

TEST_F(Rundown, IRQL_NOT_LESS_OR_EQUAL_S_EX_6_WaitingAtDispatchLevel) {
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    EXPECT_DRIVER_BUG("IRQL_NOT_LESS_OR_EQUAL", ExWaitForRundownProtectionRelease(&ref));
    KeLowerIrql(old);
}

// Many threads take and give back references while the owner runs the reference down:
// every acquisition that succeeded is released before the wait ends, and none succeeds
// after. Run under ThreadSanitizer in CI.
struct Stress {
    PEX_RUNDOWN_REF ref;
    std::atomic<int> inside{0};
    std::atomic<bool> entered_after_wait{false};
    std::atomic<bool> wait_over{false};
    std::atomic<long> acquired{0};
};

VOID churn(PVOID p) {
    auto* s = static_cast<Stress*>(p);
    for (int i = 0; i < 20000 && !s->wait_over.load(std::memory_order_relaxed); ++i) {
        ULONG n = 1 + i % 3;
        if (!ExAcquireRundownProtectionEx(s->ref, n)) continue;
        if (s->wait_over.load()) s->entered_after_wait = true;
        s->acquired.fetch_add(1);
        s->inside.fetch_add(1);
        s->inside.fetch_sub(1);
        ExReleaseRundownProtectionEx(s->ref, n);
    }
    PsTerminateSystemThread(STATUS_SUCCESS);
}

class RundownRealTime : public ntio::testing::DriverTest {
protected:
    RundownRealTime() : DriverTest(real_time()) {}
    static ntio::Options real_time() {
        ntio::Options o = verified_options();
        o.clock = ntio::Clock::real;
        return o;
    }
};

TEST_F(RundownRealTime, S_EX_6_ReleasesRacingTheWait) {
    for (int round = 0; round < 20; ++round) {
        EX_RUNDOWN_REF ref;
        ExInitializeRundownProtection(&ref);
        Stress s;
        s.ref = &ref;
        std::vector<PVOID> threads;
        for (int t = 0; t < 4; ++t) threads.push_back(start(churn, &s));
        while (s.acquired.load() < 100 + round * 50) YieldProcessor();
        ExWaitForRundownProtectionRelease(&ref);
        EXPECT_EQ(s.inside.load(), 0) << "every reference taken before the wait is back";
        long acquired_by_the_end = s.acquired.load();
        s.wait_over = true;
        for (PVOID t : threads) join(t);
        EXPECT_FALSE(s.entered_after_wait) << "round " << round;
        EXPECT_EQ(s.acquired.load(), acquired_by_the_end) << "no acquisition succeeded after the wait, round " << round;
        EXPECT_EQ(ref.Count, 1u);
    }
}

}  // namespace
