/* Clock demo, kernel half: kernel code written
 * against <wdm.h> only. A system thread ticks on a 1-second KeWaitForSingleObject
 * timeout until its stop event is set; the caller joins it through the thread
 * object (ObReferenceObjectByHandle + KeWaitForSingleObject), as drivers do. */
#include <wdm.h>

typedef struct _TICKER {
    KEVENT Stop;
    LONG Ticks;
    PKTHREAD Thread;
} TICKER;

static TICKER g_ticker;
static KSTART_ROUTINE TickerThread;

static VOID TickerThread(PVOID Context) {
    TICKER *t = (TICKER *)Context;
    LARGE_INTEGER interval;
    interval.QuadPart = -10 * 1000 * 1000; /* 1 s, relative */
    PAGED_CODE();
    for (;;) {
        NTSTATUS status = KeWaitForSingleObject(&t->Stop, Executive, KernelMode, FALSE, &interval);
        if (status == STATUS_TIMEOUT) {
            InterlockedIncrement(&t->Ticks);
            KdPrint(("ticker: tick %ld\n", t->Ticks));
            continue;
        }
        break;
    }
    PsTerminateSystemThread(STATUS_SUCCESS);
}

NTSTATUS StartTicker(void) {
    HANDLE h;
    OBJECT_ATTRIBUTES oa;
    NTSTATUS status;
    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    KeInitializeEvent(&g_ticker.Stop, NotificationEvent, FALSE);
    g_ticker.Ticks = 0;
    status = PsCreateSystemThread(&h, THREAD_ALL_ACCESS, &oa, NULL, NULL, TickerThread, &g_ticker);
    if (!NT_SUCCESS(status)) return status;
    status = ObReferenceObjectByHandle(h, SYNCHRONIZE, *PsThreadType, KernelMode, (PVOID *)&g_ticker.Thread, NULL);
    ZwClose(h);
    return status;
}

LONG StopTicker(void) {
    KeSetEvent(&g_ticker.Stop, IO_NO_INCREMENT, FALSE);
    KeWaitForSingleObject(g_ticker.Thread, Executive, KernelMode, FALSE, NULL);
    ObDereferenceObject(g_ticker.Thread);
    return g_ticker.Ticks;
}
