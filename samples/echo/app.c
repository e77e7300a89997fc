/* echo app: the Echo sample's client (article 004), our own code. It finds the device by
 * its interface class with CM_Get_Device_Interface_List (warning when more than one
 * instance is present), does a synchronous write/read round trip, then has many reads
 * and writes in flight at once: a writer thread and the main thread each open the device
 * for overlapped I/O, bind the handle to a completion port, issue a pool of requests and
 * harvest them with GetQueuedCompletionStatus. Every byte and count is checked; the exit
 * status says whether all checks passed.
 *
 *   echo_app [requests [bytes]]     defaults: 64 requests of 512 bytes per thread */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>
#include <cfgmgr32.h>
#include <initguid.h>

#include "public.h"

static int failures = 0;
static DWORD start;

static void check(int ok, const char *what) {
    printf("[%6lu ms] %s: %s\n", (unsigned long)(GetTickCount() - start), what, ok ? "ok" : "FAILED");
    if (!ok) failures++;
}

/* The first present device with the Echo interface, or NULL. */
static WCHAR *GetDevicePath(void) {
    ULONG length = 0;
    WCHAR *list, *next;
    CONFIGRET cr = CM_Get_Device_Interface_List_SizeW(&length, (LPGUID)&GUID_DEVINTERFACE_NTIO_ECHO, NULL,
                                                      CM_GET_DEVICE_INTERFACE_LIST_PRESENT);
    if (cr != CR_SUCCESS || length <= 1) {
        printf("no Echo device is present (CONFIGRET %lu): run with --driver echo_driver.so\n", (unsigned long)cr);
        return NULL;
    }
    list = (WCHAR *)calloc(length, sizeof(WCHAR));
    cr = CM_Get_Device_Interface_ListW((LPGUID)&GUID_DEVINTERFACE_NTIO_ECHO, NULL, list, length,
                                       CM_GET_DEVICE_INTERFACE_LIST_PRESENT);
    if (cr != CR_SUCCESS || !*list) {
        printf("CM_Get_Device_Interface_ListW failed (CONFIGRET %lu)\n", (unsigned long)cr);
        free(list);
        return NULL;
    }
    next = list + wcslen(list) + 1;
    if (*next) printf("Warning: More than one device interface instance found.\nSelecting first matching device.\n\n");
    printf("device path: %ls\n", list);
    return list;
}

/* Chunk i: its number, then bytes that depend on it. */
static void Fill(unsigned char *buf, DWORD size, DWORD seq) {
    DWORD i;
    memcpy(buf, &seq, sizeof(seq));
    for (i = sizeof(seq); i < size; ++i) buf[i] = (unsigned char)(seq * 31 + i);
}

static int Verify(const unsigned char *buf, DWORD size, DWORD *seq) {
    DWORD i;
    memcpy(seq, buf, sizeof(*seq));
    for (i = sizeof(*seq); i < size; ++i)
        if (buf[i] != (unsigned char)(*seq * 31 + i)) return 0;
    return 1;
}

typedef struct _IO_CONTEXT {
    OVERLAPPED Overlapped; /* first: the OVERLAPPED the port hands back is the context */
    unsigned char *Buffer;
} IO_CONTEXT;

static const WCHAR *g_path;
static DWORD g_requests = 64, g_bytes = 512;
static unsigned char *g_seen; /* reads: how often each chunk number came back */
static int g_write_failures, g_read_failures;

/* Issues g_requests overlapped reads or writes on a port-bound handle and harvests them.
 * Every request that started (TRUE, or FALSE with ERROR_IO_PENDING) queues exactly one
 * packet, a failed one included; a request refused at once queues none. So the loop waits
 * for one packet per started request, and the buffers are freed only when every one of
 * them has come back: until then the driver may still write into them. */
static DWORD WINAPI AsyncIo(LPVOID param) {
    BOOL writing = param != NULL;
    DWORD i, started = 0, harvested = 0, bytes = 0;
    ULONG_PTR key = 0;
    LPOVERLAPPED ov = NULL;
    int bad = 0, cancelled = 0, port_failed = 0;
    HANDLE port, h = CreateFileW(g_path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                                 OPEN_EXISTING, FILE_FLAG_OVERLAPPED, NULL);
    IO_CONTEXT *pool = (IO_CONTEXT *)calloc(g_requests, sizeof(IO_CONTEXT));
    if (h == INVALID_HANDLE_VALUE || !pool) return 1;
    if (writing) Sleep(10); /* let the reads go first: they wait for this thread's data */
    port = CreateIoCompletionPort(h, NULL, writing ? 2 : 1, 1);
    if (!port) return 1;
    for (i = 0; i < g_requests; ++i) {
        BOOL ok;
        pool[i].Buffer = (unsigned char *)malloc(g_bytes);
        if (writing) {
            Fill(pool[i].Buffer, g_bytes, i);
            ok = WriteFile(h, pool[i].Buffer, g_bytes, NULL, &pool[i].Overlapped);
        } else {
            ok = ReadFile(h, pool[i].Buffer, g_bytes, NULL, &pool[i].Overlapped);
        }
        if (ok || GetLastError() == ERROR_IO_PENDING) started++; /* TRUE: done already, its packet is queued too */
        else bad++;
    }
    while (harvested < started) {
        IO_CONTEXT *ctx;
        DWORD seq;
        /* A read waits for a write; if a write failed, its read would wait for ever. After
         * 10 s with no packet the reads still out are cancelled, and come back cancelled. */
        BOOL ok = GetQueuedCompletionStatus(port, &bytes, &key, &ov, writing ? INFINITE : 10000);
        if (!ov) {
            if (!writing && GetLastError() == WAIT_TIMEOUT && !cancelled) {
                printf("%lu reads still waiting after 10 s without data: cancelling them\n",
                       (unsigned long)(started - harvested));
                CancelIoEx(h, NULL);
                cancelled = 1;
                continue;
            }
            port_failed = 1; /* no packet: requests may still be out */
            bad++;
            break;
        }
        ctx = (IO_CONTEXT *)ov;
        harvested++;
        if (!ok || bytes != g_bytes || key != (ULONG_PTR)(writing ? 2 : 1)) {
            bad++;
        } else if (!writing) {
            if (!Verify(ctx->Buffer, g_bytes, &seq) || seq >= g_requests) bad++;
            else g_seen[seq]++;
        }
    }
    if (!port_failed) { /* else a request still out may write into its buffer: they stay */
        for (i = 0; i < g_requests; ++i) free(pool[i].Buffer);
        free(pool);
    }
    CloseHandle(port);
    CloseHandle(h);
    if (writing) g_write_failures = bad;
    else g_read_failures = bad;
    return 0;
}

int main(int argc, char **argv) {
    static const char message[] = "hello, echo";
    char back[64];
    DWORD n = 0, i, once = 0;
    BOOL written;
    HANDLE h, writer;
    WCHAR *path;
    setvbuf(stdout, NULL, _IOLBF, 0); /* lines in order with the driver's log, as on a console */
    if (argc > 1) g_requests = (DWORD)atoi(argv[1]);
    if (argc > 2) g_bytes = (DWORD)atoi(argv[2]);
    if (g_requests < 1 || g_bytes < sizeof(DWORD) || g_bytes > ECHO_MAX_CHUNK) {
        printf("usage: echo_app [requests >= 1 [bytes, 4..%d]]\n", ECHO_MAX_CHUNK);
        return 2;
    }
    start = GetTickCount();
    path = GetDevicePath();
    if (!path) return 1;
    g_path = path;

    /* Synchronous: the write completes at once, the read finds its data. */
    h = CreateFileW(path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0,
                    NULL);
    check(h != INVALID_HANDLE_VALUE, "open the device synchronously");
    if (h == INVALID_HANDLE_VALUE) return 1;
    written = WriteFile(h, message, sizeof(message), &n, NULL) && n == sizeof(message);
    check(written, "synchronous write");
    memset(back, 0, sizeof(back));
    if (written) /* else no data is stored, and a synchronous read would wait for ever */
        check(ReadFile(h, back, sizeof(back), &n, NULL) && n == sizeof(message) && strcmp(back, message) == 0,
              "synchronous read returns the same bytes");

    /* Overlapped: the reads go first and wait; the writer thread's data answers them. */
    g_seen = (unsigned char *)calloc(g_requests, 1);
    writer = CreateThread(NULL, 0, AsyncIo, (LPVOID)1, 0, NULL);
    AsyncIo(NULL);
    WaitForSingleObject(writer, INFINITE);
    CloseHandle(writer);
    for (i = 0; i < g_requests; ++i) once += g_seen[i] == 1;
    printf("%lu writes and %lu reads of %lu bytes through completion ports\n", (unsigned long)g_requests,
           (unsigned long)g_requests, (unsigned long)g_bytes);
    check(g_write_failures == 0, "every write completed with its byte count");
    check(g_read_failures == 0, "every read completed with a whole, intact chunk");
    check(once == g_requests, "every chunk written was read back exactly once");
    CloseHandle(h);
    free(g_seen);
    free(path);
    printf("%s\n", failures ? "SOME CHECKS FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
