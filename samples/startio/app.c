/* startio application (article 001): five threads, started 100 ms apart, each
 * with its own overlapped handle and event, send one IOCTL_ENCODE. The driver
 * serializes them in StartIo, 3 seconds each: thread 0's DeviceIoControl is held
 * for 15 s (its IoStartPacket runs every request by recursion) while threads 1-4
 * get FALSE + ERROR_IO_PENDING at once. Each thread checks that its output XOR 'm'
 * is its input. */
#include <windows.h>
#include <winioctl.h>
#include <process.h>
#include <stdio.h>
#include <string.h>

#include "public.h"

#define THREADS 5

static DWORD g_start;
static LONG g_failures;

static unsigned __stdcall Client(void *arg) {
    int id = (int)(INT_PTR)arg;
    char in[100] = {0}, out[100] = {0};
    DWORD bytes = 0, err, returned_at, completed_at;
    OVERLAPPED ov;
    BOOL ok;
    size_t i, n;
    HANDLE dev = CreateFileA(STARTIO_WIN32_NAME, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                             NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OVERLAPPED, NULL);
    if (dev == INVALID_HANDLE_VALUE) {
        printf("thread %d: CreateFile failed, error %u\n", id, (unsigned)GetLastError());
        InterlockedIncrement(&g_failures);
        return 1;
    }
    sprintf(in, "hello world %d", id);
    n = strlen(in);
    memset(&ov, 0, sizeof(ov));
    ov.hEvent = CreateEvent(NULL, FALSE, FALSE, NULL);
    ok = DeviceIoControl(dev, IOCTL_ENCODE, in, (DWORD)n, out, sizeof(out), &bytes, &ov);
    err = GetLastError();
    returned_at = GetTickCount() - g_start;
    printf("thread %d: DeviceIoControl returned %d, error %u, at +%u ms\n", id, ok, (unsigned)err,
           (unsigned)returned_at);
    WaitForSingleObject(ov.hEvent, INFINITE);
    completed_at = GetTickCount() - g_start;
    GetOverlappedResult(dev, &ov, &bytes, FALSE);
    for (i = 0; i < n; i++) out[i] ^= 'm';
    ok = bytes == n && memcmp(in, out, n) == 0;
    printf("thread %d: result seen at +%u ms, %u bytes, output XOR 'm' = \"%s\" (%s)\n", id, (unsigned)completed_at,
           (unsigned)bytes, out, ok ? "ok" : "MISMATCH");
    if (!ok) InterlockedIncrement(&g_failures);
    CloseHandle(ov.hEvent);
    CloseHandle(dev);
    return 0;
}

int main(void) {
    HANDLE threads[THREADS];
    int i;
    setvbuf(stdout, NULL, _IONBF, 0);
    g_start = GetTickCount();
    for (i = 0; i < THREADS; i++) {
        threads[i] = (HANDLE)_beginthreadex(NULL, 0, Client, (void *)(INT_PTR)i, 0, NULL);
        Sleep(100);
    }
    WaitForMultipleObjects(THREADS, threads, TRUE, INFINITE);
    for (i = 0; i < THREADS; i++) CloseHandle(threads[i]);
    printf("%s\n", g_failures ? "SOME CHECKS FAILED" : "every XOR check passed");
    return g_failures ? 1 : 0;
}
