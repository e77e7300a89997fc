/* A driver that leaves work at unload (VerifierModules.WorkItemLeftAtUnload_* and
 * CallbackLeftAtUnload_*): DriverEntry registers a routine on the callback object
 * \Callback\WorkLeftTest and queues two ExQueueWorkItem items, one that waits 300 ms and
 * returns and one that waits until the test releases it; DriverUnload queues a third and
 * forgets to unregister. On Windows each would run code that is gone (bug check 0xCE).
 * The test reads what ran through the exported workleft_* functions. Strict C11. */
#include <ntddk.h>

static KEVENT g_release;
static WORK_QUEUE_ITEM g_slow, g_stuck, g_late;
static PCALLBACK_OBJECT g_callback;
static LONG g_late_ran, g_notified;

static DRIVER_UNLOAD Unload;

LONG workleft_late_ran(void);
LONG workleft_notified(void);
void workleft_release(void);

LONG workleft_late_ran(void) { return InterlockedCompareExchange(&g_late_ran, 0, 0); }
LONG workleft_notified(void) { return InterlockedCompareExchange(&g_notified, 0, 0); }
void workleft_release(void) { KeSetEvent(&g_release, IO_NO_INCREMENT, FALSE); }

static VOID Slow(PVOID Parameter) {
    LARGE_INTEGER timeout;
    UNREFERENCED_PARAMETER(Parameter);
    timeout.QuadPart = -300 * 10000LL;
    KeWaitForSingleObject(&g_release, Executive, KernelMode, FALSE, &timeout);
}

static VOID Stuck(PVOID Parameter) {
    UNREFERENCED_PARAMETER(Parameter);
    KeWaitForSingleObject(&g_release, Executive, KernelMode, FALSE, NULL);
}

static VOID Late(PVOID Parameter) {
    UNREFERENCED_PARAMETER(Parameter);
    InterlockedIncrement(&g_late_ran);
}

static VOID OnNotify(PVOID Context, PVOID Argument1, PVOID Argument2) {
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    InterlockedIncrement(&g_notified);
}

static VOID Unload(PDRIVER_OBJECT DriverObject) {
    UNREFERENCED_PARAMETER(DriverObject);
    /* A last flush queued on the way out, and the registration forgotten. */
    ExInitializeWorkItem(&g_late, Late, NULL);
    ExQueueWorkItem(&g_late, DelayedWorkQueue);
    ObDereferenceObject(g_callback);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) {
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Callback\\WorkLeftTest");
    OBJECT_ATTRIBUTES attributes;
    NTSTATUS status;
    UNREFERENCED_PARAMETER(RegistryPath);
    KeInitializeEvent(&g_release, NotificationEvent, FALSE);
    InitializeObjectAttributes(&attributes, &name, OBJ_CASE_INSENSITIVE, NULL, NULL);
    status = ExCreateCallback(&g_callback, &attributes, TRUE, TRUE);
    if (!NT_SUCCESS(status)) return status;
    if (!ExRegisterCallback(g_callback, OnNotify, NULL)) {
        ObDereferenceObject(g_callback);
        return STATUS_UNSUCCESSFUL;
    }
    ExInitializeWorkItem(&g_slow, Slow, NULL);
    ExQueueWorkItem(&g_slow, DelayedWorkQueue);
    ExInitializeWorkItem(&g_stuck, Stuck, NULL);
    ExQueueWorkItem(&g_stuck, DelayedWorkQueue);
    DriverObject->DriverUnload = Unload;
    return STATUS_SUCCESS;
}
