/* The Win32 thread pool in strict C11 against the pending_ioctl sample's driver
 * (S-TP-1..11): overlapped DeviceIoControl through a TP_IO, each pended request's
 * callback at exactly +5000 ms of virtual time with the driver's reply; a request
 * answered at once still gets its callback; a request refused at once is cancelled
 * with CancelThreadpoolIo and gets none; work objects, TrySubmitThreadpoolCallback,
 * QueueUserWorkItem and BindIoCompletionCallback. Run under ntio run --virtual-time;
 * prints "all checks passed". */
#include <stdio.h>
#include <string.h>
#include <windows.h>
#include <winioctl.h>

#include "../../samples/pending_ioctl/public.h"

static int failures;
#define CHECK(cond, ...)                          \
    do {                                          \
        if (!(cond)) {                            \
            printf("check failed: " __VA_ARGS__); \
            printf("\n");                         \
            ++failures;                           \
        }                                         \
    } while (0)

#define REQUESTS 8

typedef struct Request {
    OVERLAPPED ov; /* first: the callback gets its address back */
    char reply[64];
    DWORD at;
    ULONG result;
    ULONG_PTR bytes;
    LONG calls;
} Request;

static Request requests[REQUESTS + 1];
static LONG io_callbacks;
static PTP_IO the_io;
static DWORD main_thread;
static LONG off_main_thread = 1;

static VOID CALLBACK on_io(PTP_CALLBACK_INSTANCE instance, PVOID context, PVOID overlapped, ULONG result,
                           ULONG_PTR bytes, PTP_IO io) {
    Request *r = (Request *)overlapped;
    (void)instance;
    CHECK(context == requests && io == the_io, "the I/O callback's context and object");
    if (GetCurrentThreadId() == main_thread) off_main_thread = 0;
    r->at = GetTickCount();
    r->result = result;
    r->bytes = bytes;
    InterlockedIncrement(&r->calls);
    InterlockedIncrement(&io_callbacks);
}

static LONG work_runs;
static VOID CALLBACK on_work(PTP_CALLBACK_INSTANCE instance, PVOID context, PTP_WORK work) {
    (void)instance;
    (void)work;
    InterlockedIncrement((LONG *)context);
}

static VOID CALLBACK on_simple(PTP_CALLBACK_INSTANCE instance, PVOID context) {
    SetEventWhenCallbackReturns(instance, (HANDLE)context);
}

static LONG user_items;
static DWORD WINAPI on_user_item(LPVOID context) {
    if (InterlockedIncrement(&user_items) == 4) SetEvent((HANDLE)context);
    return 0;
}

static DWORD bound_error = 0xdeadbeef, bound_bytes, bound_at;
static HANDLE bound_done;
static VOID WINAPI on_bound(DWORD error, DWORD bytes, LPOVERLAPPED ov) {
    (void)ov;
    bound_error = error;
    bound_bytes = bytes;
    bound_at = GetTickCount();
    SetEvent(bound_done);
}

static HANDLE open_device(void) {
    return CreateFileA(PENDING_WIN32_NAME, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                       FILE_FLAG_OVERLAPPED, NULL);
}

int main(void) {
    HANDLE dev, second, done;
    DWORD t0, error;
    PTP_WORK work;
    BOOL ok;
    int i, on_time = 0;
    setvbuf(stdout, NULL, _IONBF, 0);
    main_thread = GetCurrentThreadId();
    dev = open_device();
    if (dev == INVALID_HANDLE_VALUE) {
        printf("cannot open %s: error %u\n", PENDING_WIN32_NAME, (unsigned)GetLastError());
        return 2;
    }
    CHECK(CreateThreadpoolIo(dev, NULL, NULL, NULL) == NULL && GetLastError() == ERROR_INVALID_PARAMETER,
          "a NULL callback is refused");
    the_io = CreateThreadpoolIo(dev, on_io, requests, NULL);
    CHECK(the_io != NULL, "CreateThreadpoolIo");
    if (!the_io) return 1;
    CHECK(CreateThreadpoolIo(dev, on_io, requests, NULL) == NULL && GetLastError() == ERROR_INVALID_PARAMETER,
          "a file is bound once");

    /* Pended requests: each callback at +5000 ms with the reply. */
    t0 = GetTickCount();
    for (i = 0; i < REQUESTS; ++i) {
        StartThreadpoolIo(the_io);
        ok = DeviceIoControl(dev, IOCTL_PENDING_SEND_MESSAGE, NULL, 0, requests[i].reply, sizeof requests[i].reply,
                             NULL, &requests[i].ov);
        error = GetLastError();
        CHECK(!ok && error == ERROR_IO_PENDING, "request %d pends (%d, %u)", i, ok, (unsigned)error);
        if (!ok && error != ERROR_IO_PENDING) CancelThreadpoolIo(the_io);
    }
    WaitForThreadpoolIoCallbacks(the_io, FALSE);
    CHECK(GetTickCount() - t0 == PENDING_DELAY_MS, "the wait ends with the last callback at +5000 ms (%u)",
          (unsigned)(GetTickCount() - t0));
    for (i = 0; i < REQUESTS; ++i) {
        Request *r = &requests[i];
        CHECK(r->calls == 1 && r->result == 0 && r->bytes == sizeof(PENDING_REPLY) &&
                  strcmp(r->reply, PENDING_REPLY) == 0,
              "request %d: %ld callback(s), result %lu, %lu bytes", i, (long)r->calls, (unsigned long)r->result,
              (unsigned long)r->bytes);
        if (r->at - t0 == PENDING_DELAY_MS) ++on_time;
    }
    CHECK(off_main_thread, "callbacks run on pool threads");
    printf("threadpool: %d requests completed through callbacks, %d at +%d ms\n", (int)io_callbacks, on_time,
           PENDING_DELAY_MS);
    CHECK(on_time == REQUESTS, "every callback at +5000 ms");

    /* Answered inside the call: the packet still comes, and so does the callback. */
    StartThreadpoolIo(the_io);
    ok = DeviceIoControl(dev, IOCTL_PENDING_ANSWER_NOW, NULL, 0, requests[REQUESTS].reply,
                         sizeof requests[REQUESTS].reply, NULL, &requests[REQUESTS].ov);
    CHECK(ok, "answered now");
    WaitForThreadpoolIoCallbacks(the_io, FALSE);
    CHECK(requests[REQUESTS].calls == 1, "a request answered at once still has its callback");

    /* Refused inside the call: no packet, so the announcement is cancelled. */
    StartThreadpoolIo(the_io);
    ok = DeviceIoControl(dev, CTL_CODE(FILE_DEVICE_UNKNOWN, 0x8ff, METHOD_BUFFERED, FILE_ANY_ACCESS), NULL, 0, NULL,
                         0, NULL, &requests[0].ov);
    error = GetLastError();
    CHECK(!ok && error == ERROR_INVALID_FUNCTION, "an unknown code fails at once (%u)", (unsigned)error);
    CancelThreadpoolIo(the_io);
    t0 = GetTickCount();
    WaitForThreadpoolIoCallbacks(the_io, FALSE);
    CHECK(GetTickCount() == t0 && io_callbacks == REQUESTS + 1, "no callback for a cancelled announcement");
    CloseThreadpoolIo(the_io);

    /* Work objects and one-shot callbacks. */
    work = CreateThreadpoolWork(on_work, &work_runs, NULL);
    CHECK(work != NULL, "CreateThreadpoolWork");
    for (i = 0; i < 10; ++i) SubmitThreadpoolWork(work);
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    CHECK(work_runs == 10, "10 submits, 10 runs (%ld)", (long)work_runs);
    CloseThreadpoolWork(work);
    done = CreateEventA(NULL, FALSE, FALSE, NULL);
    CHECK(TrySubmitThreadpoolCallback(on_simple, done, NULL), "TrySubmitThreadpoolCallback");
    CHECK(WaitForSingleObject(done, INFINITE) == WAIT_OBJECT_0, "its event set as it returned");
    for (i = 0; i < 4; ++i) CHECK(QueueUserWorkItem(on_user_item, done, WT_EXECUTEDEFAULT), "QueueUserWorkItem");
    CHECK(WaitForSingleObject(done, INFINITE) == WAIT_OBJECT_0 && user_items == 4, "four work items ran");
    CloseHandle(done);

    /* BindIoCompletionCallback on a second handle. */
    second = open_device();
    bound_done = CreateEventA(NULL, TRUE, FALSE, NULL);
    CHECK(BindIoCompletionCallback(second, on_bound, 0), "BindIoCompletionCallback");
    t0 = GetTickCount();
    memset(&requests[0], 0, sizeof requests[0]);
    ok = DeviceIoControl(second, IOCTL_PENDING_SEND_MESSAGE, NULL, 0, requests[0].reply, sizeof requests[0].reply,
                         NULL, &requests[0].ov);
    CHECK(!ok && GetLastError() == ERROR_IO_PENDING, "pended on the bound handle");
    WaitForSingleObject(bound_done, INFINITE);
    CHECK(bound_error == 0 && bound_bytes == sizeof(PENDING_REPLY) && bound_at - t0 == PENDING_DELAY_MS,
          "the bound routine at +5000 ms (error %u, %u bytes, +%u ms)", (unsigned)bound_error, (unsigned)bound_bytes,
          (unsigned)(bound_at - t0));
    CloseHandle(bound_done);
    CloseHandle(second);
    CloseHandle(dev);
    printf("%s\n", failures ? "SOME CHECKS FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
