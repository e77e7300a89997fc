/* Clock demo, application half, written against <windows.h>.
 * Run it under `ntio run --virtual-time`:
 *   - five threads sleep 3 s each in turn, chained by events: exactly 15000 ms;
 *   - a system thread (ticker.c) ticking every second: 5 ticks in 5.5 s;
 *   - all of it in well under a second of wall time. */
#include <windows.h>
#include <process.h>
#include <tchar.h>
#include <stdio.h>
#include <time.h>

NTSTATUS StartTicker(void);
LONG StopTicker(void);

#define CHAIN 5
static HANDLE g_events[CHAIN + 1];

static unsigned __stdcall ChainLink(void *arg) {
    int i = (int)(INT_PTR)arg;
    WaitForSingleObject(g_events[i], INFINITE);
    Sleep(3000);
    SetEvent(g_events[i + 1]);
    return 0;
}

static double wall_ms(void) {
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

int _tmain(int argc, _TCHAR *argv[]) {
    HANDLE threads[CHAIN];
    DWORD start, elapsed;
    LONG ticks;
    int i;
    double wall0 = wall_ms(), wall;
    (void)argc;
    (void)argv;

    for (i = 0; i <= CHAIN; i++) g_events[i] = CreateEvent(NULL, FALSE, FALSE, NULL);
    for (i = 0; i < CHAIN; i++) threads[i] = (HANDLE)_beginthreadex(NULL, 0, ChainLink, (void *)(INT_PTR)i, 0, NULL);
    start = GetTickCount();
    SetEvent(g_events[0]);
    WaitForSingleObject(g_events[CHAIN], INFINITE);
    elapsed = GetTickCount() - start;
    WaitForMultipleObjects(CHAIN, threads, TRUE, INFINITE);
    for (i = 0; i < CHAIN; i++) CloseHandle(threads[i]);
    for (i = 0; i <= CHAIN; i++) CloseHandle(g_events[i]);
    printf("chain of 5 sleeps: %lu ms\n", (unsigned long)elapsed);

    if (!NT_SUCCESS(StartTicker())) {
        printf("StartTicker failed\n");
        return 1;
    }
    start = GetTickCount();
    Sleep(5500);
    ticks = StopTicker();
    printf("system thread ticks in %lu ms: %ld\n", (unsigned long)(GetTickCount() - start), (long)ticks);

    wall = wall_ms() - wall0;
    printf("wall time: %.1f ms\n", wall);
    if (elapsed != 15000 || ticks != 5) return 1;
    if (wall >= 1000.0) {
        printf("too slow for virtual time\n");
        return 1;
    }
    return 0;
}
