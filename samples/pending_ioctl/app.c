/* pending_ioctl application: the three ways the articles wait for a request the
 * driver finishes 5 seconds later, and the request the driver answers at once.
 * Prints one line per case and exits 0 when every result is as on Windows. */
#include <windows.h>
#include <winioctl.h>
#include <stdio.h>
#include <string.h>

#include "public.h"

#define REQUEST "Request from user mode to send a packet."

static int failures;

static void check(int ok, const char *what) {
    if (!ok) {
        printf("  FAILED: %s\n", what);
        failures++;
    }
}

/* 1. The driver answers inside its dispatch routine: an overlapped DeviceIoControl
 *    returns TRUE at once, which surprised the article's author. */
static void answered_now(HANDLE dev) {
    char reply[64] = {0};
    DWORD bytes = 0;
    OVERLAPPED ov;
    BOOL ok;
    memset(&ov, 0, sizeof(ov));
    ov.hEvent = CreateEvent(NULL, TRUE, FALSE, NULL);
    ok = DeviceIoControl(dev, IOCTL_PENDING_ANSWER_NOW, REQUEST, sizeof(REQUEST), reply, sizeof(reply), &bytes, &ov);
    printf("answered in dispatch: DeviceIoControl=%s bytes=%u reply=\"%s\"\n", ok ? "TRUE" : "FALSE", (unsigned)bytes,
           reply);
    check(ok && bytes == sizeof(PENDING_REPLY) && strcmp(reply, PENDING_REPLY) == 0, "TRUE with the reply");
    CloseHandle(ov.hEvent);
}

/* 2. Pended: FALSE + ERROR_IO_PENDING, then WaitForSingleObject(event, 6000). */
static void pended_wait_event(HANDLE dev) {
    char reply[64] = {0};
    DWORD bytes = 0, err, t0, wait, elapsed;
    OVERLAPPED ov;
    BOOL ok;
    memset(&ov, 0, sizeof(ov));
    ov.hEvent = CreateEvent(NULL, TRUE, TRUE, ""); /* as the article: signaled, unnamed */
    t0 = GetTickCount();
    ok = DeviceIoControl(dev, IOCTL_PENDING_SEND_MESSAGE, REQUEST, sizeof(REQUEST), reply, sizeof(reply), &bytes, &ov);
    err = GetLastError();
    wait = WaitForSingleObject(ov.hEvent, 6000);
    elapsed = GetTickCount() - t0;
    GetOverlappedResult(dev, &ov, &bytes, FALSE);
    printf("pended, WaitForSingleObject: DeviceIoControl=%s error=%u wait=%u after %u ms bytes=%u reply=\"%s\"\n",
           ok ? "TRUE" : "FALSE", (unsigned)err, (unsigned)wait, (unsigned)elapsed, (unsigned)bytes, reply);
    check(!ok && err == ERROR_IO_PENDING, "FALSE + ERROR_IO_PENDING");
    check(wait == WAIT_OBJECT_0 && elapsed == PENDING_DELAY_MS, "WAIT_OBJECT_0 after exactly 5000 ms");
    check(bytes == sizeof(PENDING_REPLY) && strcmp(reply, PENDING_REPLY) == 0, "the reply");
    CloseHandle(ov.hEvent);
}

/* 3. Pended, collected with GetOverlappedResult(bWait = TRUE). */
static void pended_get_overlapped_result(HANDLE dev) {
    char reply[64] = {0};
    DWORD bytes = 0, err, t0, elapsed;
    OVERLAPPED ov;
    BOOL ok, got;
    memset(&ov, 0, sizeof(ov));
    ov.hEvent = CreateEvent(NULL, TRUE, FALSE, NULL);
    t0 = GetTickCount();
    ok = DeviceIoControl(dev, IOCTL_PENDING_SEND_MESSAGE, REQUEST, sizeof(REQUEST), reply, sizeof(reply), &bytes, &ov);
    err = GetLastError();
    check(!HasOverlappedIoCompleted(&ov), "still pending right after the call");
    got = GetOverlappedResult(dev, &ov, &bytes, TRUE);
    elapsed = GetTickCount() - t0;
    printf("pended, GetOverlappedResult: DeviceIoControl=%s error=%u result=%s after %u ms bytes=%u reply=\"%s\"\n",
           ok ? "TRUE" : "FALSE", (unsigned)err, got ? "TRUE" : "FALSE", (unsigned)elapsed, (unsigned)bytes, reply);
    check(!ok && err == ERROR_IO_PENDING && got && elapsed == PENDING_DELAY_MS, "GetOverlappedResult waits 5000 ms");
    check(bytes == sizeof(PENDING_REPLY) && strcmp(reply, PENDING_REPLY) == 0, "the reply");
    CloseHandle(ov.hEvent);
}

/* 4. The same driver through a synchronous handle: the call itself blocks. */
static void synchronous_handle(void) {
    char reply[64] = {0};
    DWORD bytes = 0, t0, elapsed;
    BOOL ok;
    HANDLE dev = CreateFileA(PENDING_WIN32_NAME, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                             FILE_ATTRIBUTE_NORMAL, NULL);
    check(dev != INVALID_HANDLE_VALUE, "open a synchronous handle");
    t0 = GetTickCount();
    ok = DeviceIoControl(dev, IOCTL_PENDING_SEND_MESSAGE, REQUEST, sizeof(REQUEST), reply, sizeof(reply), &bytes, NULL);
    elapsed = GetTickCount() - t0;
    printf("synchronous handle: DeviceIoControl=%s after %u ms bytes=%u reply=\"%s\"\n", ok ? "TRUE" : "FALSE",
           (unsigned)elapsed, (unsigned)bytes, reply);
    check(ok && elapsed == PENDING_DELAY_MS && bytes == sizeof(PENDING_REPLY), "blocks 5000 ms and returns TRUE");
    CloseHandle(dev);
}

int main(void) {
    HANDLE dev;
    setvbuf(stdout, NULL, _IONBF, 0); /* interleave with the driver's DbgPrint lines */
    dev = CreateFileA(PENDING_WIN32_NAME, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, FILE_FLAG_OVERLAPPED,
                      NULL);
    if (dev == INVALID_HANDLE_VALUE) {
        printf("cannot open %s: error %u (is the driver loaded? ntio run --driver pending_driver.so -- ...)\n",
               PENDING_WIN32_NAME, (unsigned)GetLastError());
        return 2;
    }
    answered_now(dev);
    pended_wait_event(dev);
    pended_get_overlapped_result(dev);
    CloseHandle(dev);
    synchronous_handle();
    printf("%s\n", failures ? "SOME CHECKS FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
