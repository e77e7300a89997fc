/* Completion routines against the Echo sample's driver, in strict C11 (S-APC-1..6):
 * reads put in flight with ReadFileEx wait in the driver until WriteFileEx brings data;
 * every routine runs in this thread's alertable waits, with the OVERLAPPED it was
 * given; hEvent is left to the caller; a cancelled read's routine gets
 * ERROR_OPERATION_ABORTED; QueueUserAPC runs in SleepEx, its routine counting under a
 * critical section and an SRW lock made by InitOnceExecuteOnce (S-LCK-1/2/4). Prints
 * "all checks passed". */
#include <stdio.h>
#include <string.h>
#include <windows.h>
#include <cfgmgr32.h>
#include <initguid.h>

#include "../../samples/echo/public.h"

#define CHUNKS 8
#define CHUNK_BYTES 64

static int failures;
#define CHECK(cond, ...)                          \
    do {                                          \
        if (!(cond)) {                            \
            printf("check failed: " __VA_ARGS__); \
            printf("\n");                         \
            ++failures;                           \
        }                                         \
    } while (0)

typedef struct Request {
    OVERLAPPED ov; /* first: the routine gets its address back */
    char data[CHUNK_BYTES];
    DWORD error, bytes;
    int done;
} Request;

static Request reads[CHUNKS + 1], writes[CHUNKS];
static int routines_run;
static DWORD apc_thread, main_thread;

static VOID WINAPI on_complete(DWORD error, DWORD bytes, LPOVERLAPPED ov) {
    Request *r = (Request *)ov;
    r->error = error;
    r->bytes = bytes;
    ++r->done;
    ++routines_run;
    if (GetCurrentThreadId() != main_thread) apc_thread = GetCurrentThreadId();
}

static CRITICAL_SECTION count_lock;
static SRWLOCK srw = SRWLOCK_INIT;
static INIT_ONCE once = INIT_ONCE_STATIC_INIT;

static BOOL WINAPI init_lock(PINIT_ONCE init, PVOID parameter, PVOID *context) {
    (void)init;
    (void)parameter;
    InitializeCriticalSection(&count_lock);
    *context = &count_lock;
    return TRUE;
}

/* The locks' C declarations: a user APC counts under a critical section made once. */
static VOID WINAPI on_user_apc(ULONG_PTR parameter) {
    PVOID lock = NULL;
    if (!InitOnceExecuteOnce(&once, init_lock, NULL, &lock) || lock != &count_lock) return;
    EnterCriticalSection(&count_lock);
    AcquireSRWLockExclusive(&srw);
    routines_run += (int)parameter;
    ReleaseSRWLockExclusive(&srw);
    LeaveCriticalSection(&count_lock);
}

static HANDLE open_echo(void) {
    ULONG length = 0;
    WCHAR list[512];
    if (CM_Get_Device_Interface_List_SizeW(&length, (LPGUID)&GUID_DEVINTERFACE_NTIO_ECHO, NULL,
                                           CM_GET_DEVICE_INTERFACE_LIST_PRESENT) != CR_SUCCESS ||
        length < 2 || length > sizeof list / sizeof list[0])
        return INVALID_HANDLE_VALUE;
    if (CM_Get_Device_Interface_ListW((LPGUID)&GUID_DEVINTERFACE_NTIO_ECHO, NULL, list, length,
                                      CM_GET_DEVICE_INTERFACE_LIST_PRESENT) != CR_SUCCESS)
        return INVALID_HANDLE_VALUE;
    return CreateFileW(list, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING,
                       FILE_FLAG_OVERLAPPED, NULL);
}

int main(void) {
    HANDLE h = open_echo();
    HANDLE event = CreateEventW(NULL, TRUE, TRUE, NULL);
    int i, waits = 0, matched = 0;
    main_thread = GetCurrentThreadId();
    if (h == INVALID_HANDLE_VALUE) {
        printf("apc: no Echo device (error %lu)\n", (unsigned long)GetLastError());
        return 1;
    }
    for (i = 0; i < CHUNKS; ++i) {
        reads[i].ov.hEvent = event; /* ReadFileEx leaves it alone */
        CHECK(ReadFileEx(h, reads[i].data, CHUNK_BYTES, &reads[i].ov, on_complete), "ReadFileEx %d: %lu", i,
              (unsigned long)GetLastError());
    }
    CHECK(SleepEx(0, TRUE) == 0, "no read can have completed before a write");
    CHECK(WaitForSingleObject(event, 0) == WAIT_OBJECT_0, "the reads reset hEvent");
    for (i = 0; i < CHUNKS; ++i) {
        memset(writes[i].data, 'a' + i, CHUNK_BYTES);
        CHECK(WriteFileEx(h, writes[i].data, CHUNK_BYTES, &writes[i].ov, on_complete), "WriteFileEx %d: %lu", i,
              (unsigned long)GetLastError());
    }
    while (routines_run < 2 * CHUNKS && waits < 100) {
        CHECK(SleepEx(INFINITE, TRUE) == WAIT_IO_COMPLETION, "an alertable sleep ends only for routines");
        ++waits;
    }
    CHECK(routines_run == 2 * CHUNKS, "%d of %d routines ran", routines_run, 2 * CHUNKS);
    CHECK(apc_thread == 0, "a routine ran outside the thread that issued its request");
    for (i = 0; i < CHUNKS; ++i) {
        int j;
        CHECK(writes[i].done == 1 && writes[i].error == 0 && writes[i].bytes == CHUNK_BYTES, "write %d", i);
        CHECK(reads[i].done == 1 && reads[i].error == 0 && reads[i].bytes == CHUNK_BYTES, "read %d", i);
        for (j = 0; j < CHUNKS; ++j)
            if (reads[i].data[0] == 'a' + j && reads[i].data[CHUNK_BYTES - 1] == 'a' + j) ++matched;
    }
    CHECK(matched == CHUNKS, "%d of %d chunks came back", matched, CHUNKS);

    /* A read nobody answers, cancelled: its routine reports the abort. */
    CHECK(ReadFileEx(h, reads[CHUNKS].data, CHUNK_BYTES, &reads[CHUNKS].ov, on_complete), "the last ReadFileEx");
    CHECK(CancelIo(h), "CancelIo");
    CHECK(SleepEx(1000, TRUE) == WAIT_IO_COMPLETION, "the cancelled read's routine");
    CHECK(reads[CHUNKS].done == 1 && reads[CHUNKS].error == ERROR_OPERATION_ABORTED, "cancelled read: error %lu",
          (unsigned long)reads[CHUNKS].error);

    CHECK(QueueUserAPC(on_user_apc, GetCurrentThread(), 100) != 0, "QueueUserAPC");
    CHECK(WaitForSingleObjectEx(event, 0, TRUE) == WAIT_OBJECT_0, "a signaled object comes before an APC");
    CHECK(SleepEx(0, TRUE) == WAIT_IO_COMPLETION && routines_run == 2 * CHUNKS + 1 + 100, "the user APC");

    DeleteCriticalSection(&count_lock);
    CloseHandle(event);
    CloseHandle(h);
    printf("apc: %d reads and %d writes completed through routines in %d alertable waits\n", CHUNKS, CHUNKS, waits);
    if (failures) return 1;
    printf("all checks passed\n");
    return 0;
}
