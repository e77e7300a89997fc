/* A driver that forgets its periodic EX_TIMER at unload (test
 * verifier.ex_timer_left_at_unload): DriverEntry sets a 100 ms periodic timer,
 * DriverUnload neither cancels nor deletes it. On Windows the next expiry calls code
 * that is gone (bug check 0xCE); ntio reports TimerLeftAtUnload and cancels the timer.
 * Strict C11 like the samples. */
#include <ntddk.h>

static PEX_TIMER g_timer;
static LONG g_ticks;

static EXT_CALLBACK Tick;
static DRIVER_UNLOAD Unload;

static VOID Tick(PEX_TIMER Timer, PVOID Context) {
    UNREFERENCED_PARAMETER(Timer);
    UNREFERENCED_PARAMETER(Context);
    InterlockedIncrement(&g_ticks);
}

static VOID Unload(PDRIVER_OBJECT DriverObject) {
    UNREFERENCED_PARAMETER(DriverObject);
    DbgPrint("extimerleft: unloading after %ld ticks, EX_TIMER still set\n", g_ticks);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) {
    UNREFERENCED_PARAMETER(RegistryPath);
    g_timer = ExAllocateTimer(Tick, NULL, 0);
    if (!g_timer) return STATUS_INSUFFICIENT_RESOURCES;
    ExSetTimer(g_timer, -100 * 10000LL, 100 * 10000LL, NULL);
    DriverObject->DriverUnload = Unload;
    return STATUS_SUCCESS;
}
