/* A driver that forgets its periodic timer at unload (test verifier.timer_left_at_unload):
 * DriverEntry sets a 100 ms periodic KTIMER with a DPC, DriverUnload does not cancel it.
 * On Windows the next expiry runs code that is gone (bug check 0xCE); ntio reports
 * TimerLeftAtUnload and cancels the timer. Strict C11 like the samples. */
#include <ntddk.h>

static KTIMER g_timer;
static KDPC g_dpc;
static LONG g_ticks;

static KDEFERRED_ROUTINE Tick;
static DRIVER_UNLOAD Unload;

static VOID Tick(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2) {
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(Arg1);
    UNREFERENCED_PARAMETER(Arg2);
    InterlockedIncrement(&g_ticks);
}

static VOID Unload(PDRIVER_OBJECT DriverObject) {
    UNREFERENCED_PARAMETER(DriverObject);
    DbgPrint("timerleft: unloading after %ld ticks, timer still set\n", g_ticks);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) {
    LARGE_INTEGER due;
    UNREFERENCED_PARAMETER(RegistryPath);
    KeInitializeTimer(&g_timer);
    KeInitializeDpc(&g_dpc, Tick, NULL);
    due.QuadPart = -100 * 10000LL;
    KeSetTimerEx(&g_timer, due, 100, &g_dpc);
    DriverObject->DriverUnload = Unload;
    return STATUS_SUCCESS;
}
