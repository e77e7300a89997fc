/* Private thread pools, cleanup groups and timer queues in strict C11 under ntio run
 * --virtual-time (S-TP-22..30, S-TQ-1..6): a pool of one thread runs 10 callbacks of
 * 100 ms one after the other; a cleanup group closes its members and calls the cancel
 * callback of each; a timer queue timer fires every 250 ms from +1000 ms, each at an
 * exact millisecond of GetTickCount, and its queue is deleted with an event. Prints
 * "all checks passed". */
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

static LONG inside, most_inside, runs;
static VOID CALLBACK on_work(PTP_CALLBACK_INSTANCE instance, PVOID context, PTP_WORK work) {
    LONG now = InterlockedIncrement(&inside);
    (void)instance;
    (void)context;
    (void)work;
    if (now > most_inside) most_inside = now; /* one thread at a time, or the check fails anyway */
    Sleep(100);
    InterlockedDecrement(&inside);
    InterlockedIncrement(&runs);
}

static LONG cancels;
static PVOID cancel_context;
static VOID CALLBACK on_cancel(PVOID object_context, PVOID cleanup_context) {
    (void)object_context;
    cancel_context = cleanup_context;
    InterlockedIncrement(&cancels);
}

static VOID CALLBACK on_timer(PTP_CALLBACK_INSTANCE instance, PVOID context, PTP_TIMER timer) {
    (void)instance;
    (void)context;
    (void)timer;
}

#define EXPIRIES 4
static DWORD start, fired_at[EXPIRIES];
static LONG fired;
static HANDLE enough;
static DWORD timer_thread;
static LONG same_thread = 1;
static VOID CALLBACK on_queue_timer(PVOID context, BOOLEAN timer_fired) {
    LONG n = InterlockedIncrement(&fired);
    CHECK(context == &fired && timer_fired, "the timer's parameter and TRUE");
    if (n == 1) timer_thread = GetCurrentThreadId();
    else if (timer_thread != GetCurrentThreadId()) same_thread = 0;
    if (n <= EXPIRIES) fired_at[n - 1] = GetTickCount() - start;
    if (n == EXPIRIES) SetEvent(enough);
}

int main(void) {
    PTP_POOL pool;
    PTP_CLEANUP_GROUP group;
    TP_CALLBACK_ENVIRON env;
    TP_POOL_STACK_INFORMATION stack = {1 << 20, 1 << 16};
    PTP_WORK work;
    PTP_TIMER timer;
    FILETIME due;
    ULARGE_INTEGER u;
    HANDLE queue, queue_timer = NULL, deleted;
    DWORD t0;
    int i, exact = 0;
    setvbuf(stdout, NULL, _IONBF, 0);

    /* A private pool of one thread, through the SDK's environment helpers. */
    pool = CreateThreadpool(NULL);
    CHECK(pool != NULL, "CreateThreadpool");
    if (!pool) return 1;
    SetThreadpoolThreadMaximum(pool, 1);
    CHECK(SetThreadpoolThreadMinimum(pool, 1), "SetThreadpoolThreadMinimum");
    CHECK(SetThreadpoolStackInformation(pool, &stack), "SetThreadpoolStackInformation");
    group = CreateThreadpoolCleanupGroup();
    CHECK(group != NULL, "CreateThreadpoolCleanupGroup");
    InitializeThreadpoolEnvironment(&env);
    SetThreadpoolCallbackPool(&env, pool);
    SetThreadpoolCallbackCleanupGroup(&env, group, on_cancel);
    SetThreadpoolCallbackPriority(&env, TP_CALLBACK_PRIORITY_HIGH);
    SetThreadpoolCallbackRunsLong(&env);
    SetThreadpoolCallbackPersistent(&env);
    SetThreadpoolCallbackLibrary(&env, NULL);
    CHECK(env.Version == 3 && env.Pool == pool && env.CleanupGroup == group && env.Size == sizeof env,
          "the environment's fields");

    work = CreateThreadpoolWork(on_work, NULL, &env);
    CHECK(work != NULL, "CreateThreadpoolWork in the private pool");
    t0 = GetTickCount();
    for (i = 0; i < 10; ++i) SubmitThreadpoolWork(work);
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    CHECK(runs == 10 && most_inside == 1, "10 runs (%ld), one at a time (%ld)", (long)runs, (long)most_inside);
    CHECK(GetTickCount() - t0 == 1000, "serialized: +%lu ms", (unsigned long)(GetTickCount() - t0));
    printf("threadpool_private: 10 callbacks on a pool of 1 thread in +%lu ms\n", (unsigned long)(GetTickCount() - t0));

    /* The group's members: the work object and a timer set far away; cancelled. */
    timer = CreateThreadpoolTimer(on_timer, NULL, &env);
    CHECK(timer != NULL, "CreateThreadpoolTimer in the group");
    u.QuadPart = (ULONGLONG)(-600000000LL); /* 60 s */
    due.dwLowDateTime = u.LowPart;
    due.dwHighDateTime = u.HighPart;
    SetThreadpoolTimer(timer, &due, 0, 0);
    for (i = 0; i < 3; ++i) SubmitThreadpoolWork(work);
    CloseThreadpoolCleanupGroupMembers(group, TRUE, &cancels);
    CHECK(cancels == 2 && cancel_context == &cancels, "a cancel callback per member (%ld)", (long)cancels);
    CHECK(runs <= 11, "what had not started was dropped (%ld runs)", (long)runs);
    printf("threadpool_private: cleanup group closed, %ld cancel callbacks\n", (long)cancels);
    CloseThreadpoolCleanupGroup(group);
    DestroyThreadpoolEnvironment(&env);
    CloseThreadpool(pool);

    /* A timer queue timer on the timer thread, every 250 ms from +1000 ms. */
    enough = CreateEventA(NULL, TRUE, FALSE, NULL);
    queue = CreateTimerQueue();
    CHECK(queue != NULL, "CreateTimerQueue");
    start = GetTickCount();
    CHECK(CreateTimerQueueTimer(&queue_timer, queue, on_queue_timer, &fired, 1000, 250, WT_EXECUTEINTIMERTHREAD),
          "CreateTimerQueueTimer");
    WaitForSingleObject(enough, INFINITE);
    CHECK(DeleteTimerQueueTimer(queue, queue_timer, INVALID_HANDLE_VALUE), "DeleteTimerQueueTimer");
    for (i = 0; i < EXPIRIES; ++i)
        if (fired_at[i] == 1000 + 250 * (DWORD)i) ++exact;
    CHECK(exact == EXPIRIES, "expiries at +%lu, +%lu, +%lu, +%lu ms", (unsigned long)fired_at[0],
          (unsigned long)fired_at[1], (unsigned long)fired_at[2], (unsigned long)fired_at[3]);
    CHECK(same_thread, "every expiry on the one timer thread");
    printf("threadpool_private: queue timer at +%lu, +%lu, +%lu, +%lu ms\n", (unsigned long)fired_at[0],
           (unsigned long)fired_at[1], (unsigned long)fired_at[2], (unsigned long)fired_at[3]);
    deleted = CreateEventA(NULL, TRUE, FALSE, NULL);
    CHECK(DeleteTimerQueueEx(queue, deleted), "DeleteTimerQueueEx");
    CHECK(WaitForSingleObject(deleted, 0) == WAIT_OBJECT_0, "its event, with nothing running");
    CHECK(!DeleteTimerQueueEx(NULL, NULL) && GetLastError() == ERROR_INVALID_HANDLE,
          "the default queue cannot be deleted");
    CloseHandle(deleted);
    CloseHandle(enough);
    printf("threadpool_private: %s\n", failures ? "SOME CHECKS FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
