/* A driver in strict C11 built twice under two names (reinita.so, reinitb.so) for test
 * compat.reinit_group_c: loaded together by `ntio run --driver A --driver B`, each
 * DriverEntry registers a reinitialization routine, which must run only once both have
 * loaded and before the program's main (S-DRVX-3); the routine registers itself again
 * once (S-DRVX-4). It keeps its state in a driver object extension (S-DRVX-1). */
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

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) {
    PVOID area = NULL;
    NTSTATUS status;
    UNREFERENCED_PARAMETER(RegistryPath);
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
