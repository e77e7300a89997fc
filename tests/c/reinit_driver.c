/* A driver in strict C11 built twice under two names (reinita.so, reinitb.so) for test
 * compat.reinit_group_c: loaded together by `ntio run --driver A --driver B`, each
 * DriverEntry registers a reinitialization routine, which must run only once both have
 * loaded and before the program's main (S-DRVX-3); the routine registers itself again
 * once (S-DRVX-4). It keeps its state in a driver object extension (S-DRVX-1). Its
 * DriverEntry also calls the small kernel routines of S-KAPI-1..9 once, so that their
 * declarations are checked as strict C11, and prints what they say. */
#include <ntddk.h>

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD ReinitUnload;
static DRIVER_REINITIALIZE ReinitRoutine;

/* The client identification address: any address unique to the driver. */
static char g_client_id;

typedef struct _REINIT_STATE {
    ULONG Calls;
    ULONG LastCount;
} REINIT_STATE, *PREINIT_STATE;

static VOID ReinitRoutine(PDRIVER_OBJECT DriverObject, PVOID Context, ULONG Count) {
    PREINIT_STATE state = (PREINIT_STATE)IoGetDriverObjectExtension(DriverObject, &g_client_id);
    if (state != (PREINIT_STATE)Context) {
        DbgPrint("reinit: %wZ: the extension is not the one DriverEntry made\n", &DriverObject->DriverName);
        return;
    }
    ++state->Calls;
    state->LastCount = Count;
    DbgPrint("reinit: %wZ count %lu at IRQL %u\n", &DriverObject->DriverName, Count, (unsigned)KeGetCurrentIrql());
    if (Count < 2) IoRegisterDriverReinitialization(DriverObject, ReinitRoutine, Context);
}

static VOID ReinitUnload(PDRIVER_OBJECT DriverObject) {
    PREINIT_STATE state = (PREINIT_STATE)IoGetDriverObjectExtension(DriverObject, &g_client_id);
    DbgPrint("reinit: %wZ unloads after %lu calls\n", &DriverObject->DriverName, state ? state->Calls : 0);
}

/* The small kernel routines (S-KAPI-1..9), each once; TRUE when each says what it must. */
static BOOLEAN KernelRoutinesAnswer(PUNICODE_STRING RegistryPath) {
    PROCESSOR_NUMBER number;
    UUID id;
    ULONG seed = 42, again = 42, hash = 0, upper = 0, index;
    UNICODE_STRING name;
    BOOLEAN ok = TRUE;
    KeEnterGuardedRegion();
    ok = ok && KeAreAllApcsDisabled() && KeAreApcsDisabled();
    KeLeaveGuardedRegion();
    ok = ok && !KeAreAllApcsDisabled();
    index = KeGetCurrentProcessorNumberEx(&number);
    ok = ok && number.Group == 0 && number.Number == index;
    ok = ok && KeQueryMaximumProcessorCountEx(0) >= KeQueryActiveProcessorCountEx(0);
    ok = ok && KeQueryActiveProcessors() != 0 && KeQueryMaximumProcessorCount() >= KeQueryActiveProcessorCount(NULL);
    ok = ok && NT_SUCCESS(ExUuidCreate(&id)) && (id.Data3 >> 12) == 4;
    ok = ok && RtlRandomEx(&seed) == RtlRandomEx(&again) && seed == again && seed <= MAXLONG - 1;
    ok = ok && RtlRandom(&seed) <= MAXLONG - 1;
    RtlInitUnicodeString(&name, L"ReInit");
    ok = ok && NT_SUCCESS(RtlHashUnicodeString(RegistryPath, TRUE, HASH_STRING_ALGORITHM_X65599, &hash));
    ok = ok && NT_SUCCESS(RtlHashUnicodeString(&name, TRUE, HASH_STRING_ALGORITHM_DEFAULT, &hash));
    RtlInitUnicodeString(&name, L"REINIT");
    ok = ok && NT_SUCCESS(RtlHashUnicodeString(&name, FALSE, HASH_STRING_ALGORITHM_X65599, &upper)) && hash == upper;
    ok = ok && MmIsAddressValid(&seed) && !MmIsAddressValid(NULL);
    ok = ok && ExIsProcessorFeaturePresent(PF_XMMI64_INSTRUCTIONS_AVAILABLE);
    ok = ok && RtlIsNtDdiVersionAvailable(NTDDI_WIN10) && !RtlIsNtDdiVersionAvailable(NTDDI_WIN10_NI);
    ok = ok && RtlIsServicePackVersionInstalled(NTDDI_WIN10);
    ok = ok && KdRefreshDebuggerNotPresent() == KD_DEBUGGER_NOT_PRESENT && KD_DEBUGGER_ENABLED == !KD_DEBUGGER_NOT_PRESENT;
    return ok;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) {
    PVOID area = NULL;
    NTSTATUS status;
    DbgPrint("reinit: %wZ kernel routines %s\n", &DriverObject->DriverName,
             KernelRoutinesAnswer(RegistryPath) ? "answer as documented" : "FAILED");
    status = IoAllocateDriverObjectExtension(DriverObject, &g_client_id, sizeof(REINIT_STATE), &area);
    if (!NT_SUCCESS(status)) return status;
    if (IoAllocateDriverObjectExtension(DriverObject, &g_client_id, 8, &area) != STATUS_OBJECT_NAME_COLLISION)
        return STATUS_UNSUCCESSFUL;
    area = IoGetDriverObjectExtension(DriverObject, &g_client_id);
    DriverObject->DriverUnload = ReinitUnload;
    IoRegisterDriverReinitialization(DriverObject, ReinitRoutine, area);
    DbgPrint("reinit: %wZ DriverEntry done\n", &DriverObject->DriverName);
    return STATUS_SUCCESS;
}
