/* What Microsoft's WDM samples write and the WDK compiles, in strict C11 with warnings as
 * errors (tests compat.wdk_idioms_*; found by the fifth outside-author probe, which built
 * general/ioctl/wdm, general/cancel and general/event as they are):
 *
 *   seh    S-SEH-13: a driver file has try/except/finally/leave from <ntddk.h> alone.
 *   obref  S-KAPI-10: ObReferenceObjectByHandle takes the address of a typed object
 *          pointer (PKEVENT *, PETHREAD *) for its PVOID * argument.
 *
 * Building this file is half of each check; running it with the case's name is the
 * other. (tests/c/obref_not_a_pointer.c is the case that must not compile.) */
#include <ntddk.h>
#include <windows.h>

#include <stdio.h>
#include <string.h>

#include "check.h"

#if !defined(try) || !defined(except) || !defined(finally) || !defined(leave)
#error "<ntddk.h> gives C driver code the short spellings, as the WDK does (S-SEH-13)"
#endif

/* S-SEH-13, as sioctl.c's CheckBufferAccess writes it: a probe of a bad user buffer
 * caught by try/except, and a leave out of a try with a finally. */
static void short_spellings(void) {
    NTSTATUS status = STATUS_SUCCESS;
    int cleaned = 0;
    try {
        ProbeForRead((PVOID)(ULONG_PTR)MmUserProbeAddress, 16, sizeof(UCHAR));
    } except (EXCEPTION_EXECUTE_HANDLER) {
        status = GetExceptionCode();
    }
    CHECK(status == STATUS_ACCESS_VIOLATION);
    try {
        if (status != STATUS_SUCCESS) leave;
        CHECK(!"leave went on");
    } finally {
        cleaned = !AbnormalTermination();
    }
    CHECK(cleaned == 1);
}

/* A system thread that ends at once, for a PETHREAD reference as cancel.c takes one. */
static VOID quick_thread(PVOID context) {
    (void)context;
    PsTerminateSystemThread(STATUS_SUCCESS);
}

/* S-KAPI-10, as event.c and cancel.c write it: the address of a PKEVENT and of a
 * PETHREAD, with no cast. The references work: the event set through the kernel
 * pointer wakes a wait on the handle; the thread object is signaled when it ends. */
static void typed_references(void) {
    HANDLE event = CreateEventA(NULL, TRUE, FALSE, NULL);
    PKEVENT kernel_event = NULL;
    NTSTATUS status;
    HANDLE thread_handle = NULL;
    PETHREAD thread = NULL;

    CHECK(event != NULL);
    status = ObReferenceObjectByHandle(event, SYNCHRONIZE | EVENT_MODIFY_STATE, *ExEventObjectType, UserMode,
                                       &kernel_event, NULL);
    CHECK(status == STATUS_SUCCESS && kernel_event != NULL);
    if (NT_SUCCESS(status)) {
        KeSetEvent(kernel_event, 0, FALSE);
        CHECK(WaitForSingleObject(event, 0) == WAIT_OBJECT_0);
        ObDereferenceObject(kernel_event);
    }
    /* A handle of another type is still refused, with the argument converted. */
    kernel_event = NULL;
    CHECK(ObReferenceObjectByHandle(event, 0, *PsThreadType, KernelMode, &kernel_event, NULL) ==
          STATUS_OBJECT_TYPE_MISMATCH);
    CHECK(kernel_event == NULL);
    CloseHandle(event);

    status = PsCreateSystemThread(&thread_handle, 0, NULL, NULL, NULL, quick_thread, NULL);
    CHECK(status == STATUS_SUCCESS);
    if (NT_SUCCESS(status)) {
        CHECK(ObReferenceObjectByHandle(thread_handle, THREAD_ALL_ACCESS, NULL, KernelMode, &thread, NULL) ==
              STATUS_SUCCESS);
        ZwClose(thread_handle);
        CHECK(KeWaitForSingleObject(thread, Executive, KernelMode, FALSE, NULL) == STATUS_SUCCESS);
        ObDereferenceObject(thread);
    }
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    if (!strcmp(argv[1], "seh")) short_spellings();
    else if (!strcmp(argv[1], "obref")) typed_references();
    else return 2;
    printf("%s: %d checks, %d failed\n", argv[1], checks, failures);
    return failures ? 1 : 0;
}
