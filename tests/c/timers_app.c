/* Timers in strict C11 under ntio run --virtual-time (S-WT-1..6, S-TP-13..20): a
 * periodic waitable timer with a completion routine, a thread pool timer, a thread pool
 * wait on that waitable timer and a registered wait timing out, each at an exact
 * millisecond of GetTickCount. Prints "all checks passed". */
#include <stdio.h>
#include <windows.h>

static int failures;
#define CHECK(cond, ...)                          \
    do {                                          \
        if (!(cond)) {                            \
            printf("check failed: " __VA_ARGS__); \
            printf("\n");                         \
            ++failures;                           \
        }                                         \
    } while (0)

static DWORD start;
static DWORD apc_at[3];
static int apcs;

static VOID CALLBACK on_apc(LPVOID arg, DWORD low, DWORD high) {
    (void)low;
    (void)high;
    CHECK(arg == &apcs, "the routine's argument");
    if (apcs < 3) apc_at[apcs] = GetTickCount() - start;
    ++apcs;
}

typedef struct PoolTimes {
    HANDLE done;
    DWORD timer_at;
    DWORD wait_at;
    TP_WAIT_RESULT wait_result;
    DWORD registered_at;
    BOOLEAN registered_fired;
} PoolTimes;

static VOID CALLBACK on_timer(PTP_CALLBACK_INSTANCE instance, PVOID context, PTP_TIMER timer) {
    PoolTimes *t = (PoolTimes *)context;
    (void)timer;
    t->timer_at = GetTickCount() - start;
    SetEventWhenCallbackReturns(instance, t->done);
}

static VOID CALLBACK on_wait(PTP_CALLBACK_INSTANCE instance, PVOID context, PTP_WAIT wait, TP_WAIT_RESULT result) {
    PoolTimes *t = (PoolTimes *)context;
    (void)wait;
    t->wait_at = GetTickCount() - start;
    t->wait_result = result;
    SetEventWhenCallbackReturns(instance, t->done);
}

static VOID CALLBACK on_registered(PVOID context, BOOLEAN fired) {
    PoolTimes *t = (PoolTimes *)context;
    t->registered_at = GetTickCount() - start;
    t->registered_fired = fired;
    SetEvent(t->done);
}

static LONGLONG relative(LONGLONG ms) { return -ms * 10000; }

int main(void) {
    HANDLE timer = CreateWaitableTimerA(NULL, FALSE, "timers_app");
    PoolTimes t = {0};
    PTP_TIMER pool_timer;
    PTP_WAIT pool_wait;
    HANDLE registered = NULL;
    LARGE_INTEGER due;
    FILETIME ft;
    ULARGE_INTEGER u;
    int i;

    CHECK(timer != NULL, "CreateWaitableTimerA");
    start = GetTickCount();

    /* A waitable timer: first at +3000 ms, then every 250 ms, its routine in our alertable waits. */
    due.QuadPart = relative(3000);
    CHECK(SetWaitableTimer(timer, &due, 250, on_apc, &apcs, FALSE), "SetWaitableTimer");
    for (i = 0; i < 3; ++i) CHECK(SleepEx(INFINITE, TRUE) == WAIT_IO_COMPLETION, "SleepEx %d", i);
    CHECK(apcs == 3, "3 routines, not %d", apcs);
    CHECK(apc_at[0] == 3000 && apc_at[1] == 3250 && apc_at[2] == 3500, "routines at +%lu, +%lu, +%lu ms",
          (unsigned long)apc_at[0], (unsigned long)apc_at[1], (unsigned long)apc_at[2]);
    CHECK(CancelWaitableTimer(timer), "CancelWaitableTimer");
    printf("timers: waitable timer routines at +%lu, +%lu, +%lu ms\n", (unsigned long)apc_at[0],
           (unsigned long)apc_at[1], (unsigned long)apc_at[2]);

    /* A pool timer 1500 ms from now, and a pool wait on the waitable timer set for 2000 ms. */
    t.done = CreateEventA(NULL, FALSE, FALSE, NULL);
    pool_timer = CreateThreadpoolTimer(on_timer, &t, NULL);
    pool_wait = CreateThreadpoolWait(on_wait, &t, NULL);
    CHECK(pool_timer != NULL && pool_wait != NULL, "CreateThreadpoolTimer/Wait");
    start = GetTickCount();
    u.QuadPart = (ULONGLONG)relative(1500);
    ft.dwLowDateTime = u.LowPart;
    ft.dwHighDateTime = u.HighPart;
    SetThreadpoolTimer(pool_timer, &ft, 0, 0);
    CHECK(IsThreadpoolTimerSet(pool_timer), "IsThreadpoolTimerSet");
    WaitForSingleObject(timer, 0); /* consume what the last expiry left signaled */
    due.QuadPart = relative(2000);
    CHECK(SetWaitableTimer(timer, &due, 0, NULL, NULL, FALSE), "SetWaitableTimer again");
    SetThreadpoolWait(pool_wait, timer, NULL);
    WaitForSingleObject(t.done, INFINITE);
    WaitForSingleObject(t.done, INFINITE);
    WaitForThreadpoolTimerCallbacks(pool_timer, FALSE);
    WaitForThreadpoolWaitCallbacks(pool_wait, FALSE);
    CHECK(t.timer_at == 1500, "pool timer at +%lu ms", (unsigned long)t.timer_at);
    CHECK(t.wait_at == 2000 && t.wait_result == WAIT_OBJECT_0, "pool wait at +%lu ms, result %lu",
          (unsigned long)t.wait_at, (unsigned long)t.wait_result);
    CHECK(!IsThreadpoolTimerSet(pool_timer), "a one-shot timer that expired is not set");
    CloseThreadpoolTimer(pool_timer);
    CloseThreadpoolWait(pool_wait);
    printf("timers: pool timer at +%lu ms, pool wait on the waitable timer at +%lu ms\n", (unsigned long)t.timer_at,
           (unsigned long)t.wait_at);

    /* A registered wait on the (now unsignaled) timer that times out after 700 ms. */
    start = GetTickCount();
    CHECK(RegisterWaitForSingleObject(&registered, timer, on_registered, &t, 700, WT_EXECUTEONLYONCE),
          "RegisterWaitForSingleObject");
    WaitForSingleObject(t.done, INFINITE);
    CHECK(UnregisterWaitEx(registered, INVALID_HANDLE_VALUE), "UnregisterWaitEx");
    CHECK(t.registered_at == 700 && t.registered_fired, "registered wait timed out at +%lu ms",
          (unsigned long)t.registered_at);
    printf("timers: registered wait timed out at +%lu ms\n", (unsigned long)t.registered_at);

    CloseHandle(t.done);
    CloseHandle(timer);
    if (failures) {
        printf("timers: %d check(s) failed\n", failures);
        return 1;
    }
    printf("timers: all checks passed\n");
    return 0;
}
