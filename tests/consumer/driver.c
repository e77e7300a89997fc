/* Kernel-style code compiled against the installed <wdm.h>. */
#include <wdm.h>

LONG DriverSideCount(void) {
    KEVENT e;
    LARGE_INTEGER t;
    LONG n = 0;
    KeInitializeEvent(&e, NotificationEvent, FALSE);
    t.QuadPart = -10000 * 500; /* 500 ms */
    while (n < 4 && KeWaitForSingleObject(&e, Executive, KernelMode, FALSE, &t) == STATUS_TIMEOUT) n++;
    return n;
}

NTSTATUS DriverEntry(PVOID DriverObject, PUNICODE_STRING RegistryPath) {
    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    return STATUS_SUCCESS;
}
