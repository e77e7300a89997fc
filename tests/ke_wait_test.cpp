// Waits and timeouts: S-KE-8 (encoding), S-KE-9 (results), S-KE-10 (multiple
// objects), S-KE-11 (thread objects), S-KE-12 (delays). Virtual time makes every
// deadline exact.
#include "test_support.hpp"

namespace {

using ntio::testing::relative_ms;
using ntio::testing::VirtualTimeTest;
class KeWait : public VirtualTimeTest {};

TEST_F(KeWait, S_KE_8_RelativeTimeoutIsExact) {
    KEVENT e;
    KeInitializeEvent(&e, NotificationEvent, FALSE);
    int64_t t0 = now_ms();
    LARGE_INTEGER t = relative_ms(2500);
    EXPECT_EQ(KeWaitForSingleObject(&e, Executive, KernelMode, FALSE, &t), STATUS_TIMEOUT);
    EXPECT_EQ(now_ms() - t0, 2500);
}

TEST_F(KeWait, S_KE_8_AbsoluteTimeoutIsSystemTime) {
    KEVENT e;
    KeInitializeEvent(&e, NotificationEvent, FALSE);
    LARGE_INTEGER now;
    KeQuerySystemTime(&now);
    int64_t t0 = now_ms();
    LARGE_INTEGER due;
    due.QuadPart = now.QuadPart + 50 * 10000;  // now + 50 ms, absolute
    EXPECT_EQ(KeWaitForSingleObject(&e, Executive, KernelMode, FALSE, &due), STATUS_TIMEOUT);
    EXPECT_EQ(now_ms() - t0, 50);
    // An absolute time in the past times out at once.
    EXPECT_EQ(KeWaitForSingleObject(&e, Executive, KernelMode, FALSE, &now), STATUS_TIMEOUT);
    EXPECT_EQ(now_ms() - t0, 50);
}

TEST_F(KeWait, S_KE_8_ZeroPollsAndNullWaitsForever) {
    KEVENT e;
    KeInitializeEvent(&e, NotificationEvent, FALSE);
    LARGE_INTEGER z;
    z.QuadPart = 0;
    int64_t t0 = now_ms();
    EXPECT_EQ(KeWaitForSingleObject(&e, Executive, KernelMode, FALSE, &z), STATUS_TIMEOUT);
    EXPECT_EQ(now_ms(), t0);
    // NULL waits until signaled, however late: a thread sets it after 1 hour.
    HANDLE setter = ntio::testing::spawn([&] {
        LARGE_INTEGER hour = relative_ms(3600 * 1000);
        KeDelayExecutionThread(KernelMode, FALSE, &hour);
        KeSetEvent(&e, IO_NO_INCREMENT, FALSE);
    });
    EXPECT_EQ(KeWaitForSingleObject(&e, Executive, KernelMode, FALSE, nullptr), STATUS_SUCCESS);
    EXPECT_EQ(now_ms() - t0, 3600 * 1000);
    ntio::testing::join(setter);
}

TEST_F(KeWait, S_KE_10_WaitAnyReturnsLowestSignaledIndexAndConsumesOnlyIt) {
    KEVENT e[3];
    for (auto& x : e) KeInitializeEvent(&x, SynchronizationEvent, FALSE);
    KeSetEvent(&e[1], IO_NO_INCREMENT, FALSE);
    KeSetEvent(&e[2], IO_NO_INCREMENT, FALSE);
    PVOID objs[3] = {&e[0], &e[1], &e[2]};
    EXPECT_EQ(KeWaitForMultipleObjects(3, objs, WaitAny, Executive, KernelMode, FALSE, nullptr, nullptr), STATUS_WAIT_1);
    EXPECT_EQ(KeReadStateEvent(&e[1]), 0);
    EXPECT_EQ(KeReadStateEvent(&e[2]), 1) << "only the satisfying object is consumed";
    EXPECT_EQ(KeWaitForMultipleObjects(3, objs, WaitAny, Executive, KernelMode, FALSE, nullptr, nullptr), STATUS_WAIT_2);
}

TEST_F(KeWait, S_KE_10_WaitAllIsAtomicAndATimeoutConsumesNothing) {
    KEVENT a, b;
    KeInitializeEvent(&a, SynchronizationEvent, TRUE);
    KeInitializeEvent(&b, SynchronizationEvent, FALSE);
    PVOID objs[2] = {&a, &b};
    LARGE_INTEGER t = relative_ms(100);
    EXPECT_EQ(KeWaitForMultipleObjects(2, objs, WaitAll, Executive, KernelMode, FALSE, &t, nullptr), STATUS_TIMEOUT);
    EXPECT_EQ(KeReadStateEvent(&a), 1) << "a WaitAll that times out consumes nothing";

    HANDLE setter = ntio::testing::spawn([&] {
        LARGE_INTEGER d = relative_ms(300);
        KeDelayExecutionThread(KernelMode, FALSE, &d);
        KeSetEvent(&b, IO_NO_INCREMENT, FALSE);
    });
    int64_t t0 = now_ms();
    EXPECT_EQ(KeWaitForMultipleObjects(2, objs, WaitAll, Executive, KernelMode, FALSE, nullptr, nullptr),
              STATUS_SUCCESS);
    EXPECT_EQ(now_ms() - t0, 300);
    EXPECT_EQ(KeReadStateEvent(&a), 0);
    EXPECT_EQ(KeReadStateEvent(&b), 0) << "both consumed together";
    ntio::testing::join(setter);
}

TEST_F(KeWait, S_KE_10_ManyObjectsNeedAWaitBlockArray) {
    KEVENT e[5];
    PVOID objs[5];
    KWAIT_BLOCK blocks[5];
    for (int i = 0; i < 5; ++i) {
        KeInitializeEvent(&e[i], NotificationEvent, i == 4);
        objs[i] = &e[i];
    }
    uint64_t before = ntio::driver_bug_count();
    EXPECT_EQ(KeWaitForMultipleObjects(5, objs, WaitAny, Executive, KernelMode, FALSE, nullptr, blocks), STATUS_WAIT_0 + 4);
    EXPECT_EQ(ntio::driver_bug_count(), before);
    EXPECT_EQ(KeWaitForMultipleObjects(5, objs, WaitAny, Executive, KernelMode, FALSE, nullptr, nullptr), STATUS_WAIT_0 + 4);
    EXPECT_EQ(ntio::driver_bug_count(), before + 1) << "more than THREAD_WAIT_OBJECTS without an array is reported";
    EXPECT_EQ(KeWaitForMultipleObjects(65, objs, WaitAny, Executive, KernelMode, FALSE, nullptr, blocks),
              STATUS_INVALID_PARAMETER_1);
}

TEST_F(KeWait, S_KE_9_AbandonedMutexReportsAbandonedOnce) {
    KMUTEX m;
    KeInitializeMutex(&m, 0);
    HANDLE owner = ntio::testing::spawn([&] { KeWaitForSingleObject(&m, Executive, KernelMode, FALSE, nullptr); });
    ntio::testing::join(owner);  // ends owning the mutex
    KEVENT other;
    KeInitializeEvent(&other, NotificationEvent, FALSE);
    PVOID objs[2] = {&other, &m};
    EXPECT_EQ(KeWaitForMultipleObjects(2, objs, WaitAny, Executive, KernelMode, FALSE, nullptr, nullptr),
              STATUS_ABANDONED_WAIT_0 + 1);
    EXPECT_EQ(KeReleaseMutex(&m, FALSE), 0);
    EXPECT_EQ(KeWaitForSingleObject(&m, Executive, KernelMode, FALSE, nullptr), STATUS_SUCCESS);
    KeReleaseMutex(&m, FALSE);
}

TEST_F(KeWait, S_KE_11_ThreadObjectSignaledOnlyAtTermination) {
    KEVENT go;
    KeInitializeEvent(&go, NotificationEvent, FALSE);
    HANDLE h = nullptr;
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, nullptr, OBJ_KERNEL_HANDLE, nullptr, nullptr);
    ASSERT_EQ(PsCreateSystemThread(
                  &h, THREAD_ALL_ACCESS, &oa, nullptr, nullptr,
                  [](PVOID ctx) { KeWaitForSingleObject(ctx, Executive, KernelMode, FALSE, nullptr); }, &go),
              STATUS_SUCCESS);
    PVOID thread = nullptr;
    ASSERT_EQ(ObReferenceObjectByHandle(h, SYNCHRONIZE, *PsThreadType, KernelMode, &thread, nullptr), STATUS_SUCCESS);
    LARGE_INTEGER z;
    z.QuadPart = 0;
    EXPECT_EQ(KeWaitForSingleObject(thread, Executive, KernelMode, FALSE, &z), STATUS_TIMEOUT);
    KeSetEvent(&go, IO_NO_INCREMENT, FALSE);
    EXPECT_EQ(KeWaitForSingleObject(thread, Executive, KernelMode, FALSE, nullptr), STATUS_SUCCESS);
    EXPECT_EQ(KeWaitForSingleObject(thread, Executive, KernelMode, FALSE, &z), STATUS_SUCCESS);
    ObDereferenceObject(thread);
    EXPECT_EQ(ZwClose(h), STATUS_SUCCESS);
}

TEST_F(KeWait, S_KE_12_DelayExecutionReturnsSuccessAfterTheInterval) {
    int64_t t0 = now_ms();
    LARGE_INTEGER d = relative_ms(3000);
    EXPECT_EQ(KeDelayExecutionThread(KernelMode, FALSE, &d), STATUS_SUCCESS);
    EXPECT_EQ(now_ms() - t0, 3000);
}

TEST_F(KeWait, S_KE_3_TimedWaitAtDispatchLevelIsReportedAndStillWaits) {
    KEVENT e;
    KeInitializeEvent(&e, NotificationEvent, FALSE);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    uint64_t before = ntio::driver_bug_count();
    LARGE_INTEGER z;
    z.QuadPart = 0;
    EXPECT_EQ(KeWaitForSingleObject(&e, Executive, KernelMode, FALSE, &z), STATUS_TIMEOUT);
    EXPECT_EQ(ntio::driver_bug_count(), before) << "a zero-timeout poll is allowed at DISPATCH_LEVEL";
    int64_t t0 = now_ms();
    LARGE_INTEGER t = relative_ms(3000);
    EXPECT_EQ(KeWaitForSingleObject(&e, Executive, KernelMode, FALSE, &t), STATUS_TIMEOUT);
    EXPECT_EQ(ntio::driver_bug_count(), before + 1);
    EXPECT_EQ(now_ms() - t0, 3000) << "the contract: the bad wait is reported, and still runs";
    KeLowerIrql(old);
}

}  // namespace
