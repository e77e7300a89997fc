/* Must NOT compile (test compat.wdk_idioms_S_KAPI_10_ObjectPointerItselfDoesNotCompile):
 * S-KAPI-10 converts ObReferenceObjectByHandle's Object argument in C, but only the
 * address of a pointer; the object pointer itself, a common slip, stays an error. */
#include <ntddk.h>

NTSTATUS reference(HANDLE handle, PKEVENT event) {
    return ObReferenceObjectByHandle(handle, 0, *ExEventObjectType, KernelMode, event, NULL);
}
