// Device stacks: attaching and detaching devices, finding the top of a stack, and
// completion routines that keep their driver loaded (S-IRP-4, S-IRP-5, S-IRP-9).
//
// One lock guards every AttachedDevice link (Windows' I/O database lock plays this
// role): attaching reads the current top and links the new device in one step, so two
// filters attaching at once stack up instead of both landing on the same device.
#include <mutex>

#include "io/iomgr.hpp"
#include "ob/services.hpp"
#include "system.hpp"
#include "verifier/report.hpp"

namespace ntio::io {
namespace {
std::mutex g_stack_lock;

PDEVICE_OBJECT top_of(PDEVICE_OBJECT d) {
    while (d->AttachedDevice) d = d->AttachedDevice;
    return d;
}
}  // namespace

std::mutex& stack_lock() { return g_stack_lock; }
}  // namespace ntio::io

using namespace ntio;

extern "C" {

NTSTATUS IoAttachDeviceToDeviceStackSafe(PDEVICE_OBJECT SourceDevice, PDEVICE_OBJECT TargetDevice,
                                         PDEVICE_OBJECT* AttachedToDeviceObject) {
    verifier::check_irql_at_most(PASSIVE_LEVEL, "IoAttachDeviceToDeviceStack");
    if (AttachedToDeviceObject) *AttachedToDeviceObject = nullptr;
    if (!SourceDevice || !TargetDevice || SourceDevice == TargetDevice) return STATUS_INVALID_PARAMETER;
    if (SourceDevice->AttachedDevice || io::runtime(SourceDevice).attached_to) {
        verifier::report(verifier::Check::DeviceStackMisuse,
                             fmt::format("IoAttachDeviceToDeviceStack: {} is already in a stack; a device is attached "
                                         "once, on top of a stack",
                                         io::device_label(SourceDevice)),
                             {.device = SourceDevice});
        return STATUS_INVALID_PARAMETER;
    }
    std::lock_guard g(io::g_stack_lock);
    PDEVICE_OBJECT top = io::top_of(TargetDevice);
    // S-IRP-4: never onto a device that is still initializing or is being deleted.
    if ((top->Flags & DO_DEVICE_INITIALIZING) || io::runtime(top).deleted.load()) return STATUS_NO_SUCH_DEVICE;
    SourceDevice->StackSize = static_cast<CCHAR>(top->StackSize + 1);
    SourceDevice->AlignmentRequirement = top->AlignmentRequirement;
    SourceDevice->SectorSize = top->SectorSize;
    io::runtime(SourceDevice).attached_to = top;
    ob::reference(top);  // the lower device outlives the link (dropped by IoDetachDevice)
    // Publish the new top last: a request racing the attach reaches either the old
    // top or the fully set-up new one.
    __atomic_store_n(&top->AttachedDevice, SourceDevice, __ATOMIC_RELEASE);
    if (AttachedToDeviceObject) *AttachedToDeviceObject = top;
    return STATUS_SUCCESS;
}

PDEVICE_OBJECT IoAttachDeviceToDeviceStack(PDEVICE_OBJECT SourceDevice, PDEVICE_OBJECT TargetDevice) {
    PDEVICE_OBJECT below = nullptr;
    return NT_SUCCESS(IoAttachDeviceToDeviceStackSafe(SourceDevice, TargetDevice, &below)) ? below : nullptr;
}

NTSTATUS IoAttachDevice(PDEVICE_OBJECT SourceDevice, PUNICODE_STRING TargetDevice, PDEVICE_OBJECT* AttachedDevice) {
    verifier::check_irql_at_most(PASSIVE_LEVEL, "IoAttachDevice");
    if (!TargetDevice || !AttachedDevice) return STATUS_INVALID_PARAMETER;
    *AttachedDevice = nullptr;
    PFILE_OBJECT file = nullptr;
    PDEVICE_OBJECT device = nullptr;
    NTSTATUS s = IoGetDeviceObjectPointer(TargetDevice, FILE_READ_ATTRIBUTES, &file, &device);
    if (!NT_SUCCESS(s)) return s;
    s = IoAttachDeviceToDeviceStackSafe(SourceDevice, file->DeviceObject, AttachedDevice);
    ObDereferenceObject(file);
    return s;
}

VOID IoDetachDevice(PDEVICE_OBJECT TargetDevice) {
    verifier::check_irql_at_most(PASSIVE_LEVEL, "IoDetachDevice");
    PDEVICE_OBJECT upper;
    {
        std::lock_guard g(io::g_stack_lock);
        upper = TargetDevice ? TargetDevice->AttachedDevice : nullptr;
        if (!upper) {
            verifier::report(verifier::Check::DeviceStackMisuse,
                                 fmt::format("IoDetachDevice({}): nothing is attached to it; pass the device your "
                                             "IoAttachDeviceToDeviceStack returned",
                                             TargetDevice ? io::device_label(TargetDevice) : "NULL"),
                                 {.device = TargetDevice});
            return;
        }
        // S-IRP-4: the link goes; StackSize values stay as they were.
        __atomic_store_n(&TargetDevice->AttachedDevice, nullptr, __ATOMIC_RELEASE);
        io::runtime(upper).attached_to = nullptr;
    }
    ob::dereference(TargetDevice);
}

PDEVICE_OBJECT IoGetAttachedDeviceReference(PDEVICE_OBJECT DeviceObject) {
    std::lock_guard g(io::g_stack_lock);
    PDEVICE_OBJECT top = io::top_of(DeviceObject);
    ob::reference(top);
    return top;
}

PDEVICE_OBJECT IoGetLowerDeviceObject(PDEVICE_OBJECT DeviceObject) {
    std::lock_guard g(io::g_stack_lock);
    PDEVICE_OBJECT lower = io::runtime(DeviceObject).attached_to;
    if (lower) ob::reference(lower);
    return lower;
}

PDEVICE_OBJECT IoGetDeviceAttachmentBaseRef(PDEVICE_OBJECT DeviceObject) {
    std::lock_guard g(io::g_stack_lock);
    PDEVICE_OBJECT base = DeviceObject;
    while (io::runtime(base).attached_to) base = io::runtime(base).attached_to;
    ob::reference(base);
    return base;
}

// Opens the named device as a kernel caller would (IRP_MJ_CREATE goes to the top of
// its stack) and hands back the file object, referenced, with the stack's top device.
// Dereferencing the file object later sends IRP_MJ_CLEANUP and IRP_MJ_CLOSE.
NTSTATUS IoGetDeviceObjectPointer(PUNICODE_STRING ObjectName, ACCESS_MASK DesiredAccess, PFILE_OBJECT* FileObject,
                                  PDEVICE_OBJECT* DeviceObject) {
    verifier::check_irql_at_most(PASSIVE_LEVEL, "IoGetDeviceObjectPointer");
    if (!ObjectName || !FileObject || !DeviceObject) return STATUS_INVALID_PARAMETER;
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, ObjectName, OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, nullptr, nullptr);
    IO_STATUS_BLOCK iosb{};
    HANDLE h = nullptr;
    NTSTATUS s = ZwCreateFile(&h, DesiredAccess, &oa, &iosb, nullptr, 0, FILE_SHARE_READ | FILE_SHARE_WRITE,
                              FILE_OPEN, FILE_NON_DIRECTORY_FILE, nullptr, 0);
    if (!NT_SUCCESS(s)) return s;
    PVOID file = nullptr;
    s = ObReferenceObjectByHandle(h, 0, *IoFileObjectType, KernelMode, &file, nullptr);
    ZwClose(h);
    if (!NT_SUCCESS(s)) return s;
    *FileObject = static_cast<PFILE_OBJECT>(file);
    *DeviceObject = IoGetRelatedDeviceObject(*FileObject);
    return STATUS_SUCCESS;
}

PDEVICE_OBJECT IoGetAttachedDevice(PDEVICE_OBJECT DeviceObject) {
    // Unlocked, as on Windows: callers own a reference on the stack's base, and each
    // link is published with release order by the attach.
    PDEVICE_OBJECT d = DeviceObject;
    while (PDEVICE_OBJECT up = __atomic_load_n(&d->AttachedDevice, __ATOMIC_ACQUIRE)) d = up;
    return d;
}

PDEVICE_OBJECT IoGetRelatedDeviceObject(PFILE_OBJECT FileObject) { return IoGetAttachedDevice(FileObject->DeviceObject); }

// ---- IoSetCompletionRoutineEx (S-IRP-9) --------------------------------------------------------
// The routine is wrapped: the wrapper holds a reference on the registering device (so
// its driver stays loaded until the routine returns) and is registered for every
// outcome so that it can always release that reference; it calls the driver's routine
// only for the outcomes the driver asked for.
namespace {
constexpr ULONG kCompletionExTag = 0x78456f43;  // 'CoEx'

struct CompletionEx {
    PIO_COMPLETION_ROUTINE routine;
    PVOID context;
    PDEVICE_OBJECT device;
    UCHAR invoke;  // SL_INVOKE_* the driver asked for
};

NTSTATUS completion_ex_wrapper(PDEVICE_OBJECT device, PIRP Irp, PVOID context) {
    auto* c = static_cast<CompletionEx*>(context);
    NTSTATUS status = Irp->IoStatus.Status;
    bool call = (NT_SUCCESS(status) && (c->invoke & SL_INVOKE_ON_SUCCESS)) ||
                (!NT_SUCCESS(status) && (c->invoke & SL_INVOKE_ON_ERROR)) ||
                (__atomic_load_n(&Irp->Cancel, __ATOMIC_RELAXED) && (c->invoke & SL_INVOKE_ON_CANCEL));
    NTSTATUS result = STATUS_SUCCESS;
    if (call) {
        result = c->routine(device, Irp, c->context);
    } else if (Irp->PendingReturned && Irp->CurrentLocation <= Irp->StackCount) {
        IoMarkIrpPending(Irp);  // what the I/O manager does for a level without a routine (S-CMP-2f)
    }
    PDEVICE_OBJECT registered = c->device;
    ExFreePoolWithTag(c, kCompletionExTag);
    ObDereferenceObject(registered);
    return result;
}
}  // namespace

static NTSTATUS NTAPI signal_forwarded(PDEVICE_OBJECT, PIRP, PVOID Context) {
    KeSetEvent(static_cast<PKEVENT>(Context), IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;  // the IRP goes back to the forwarder
}

BOOLEAN IoForwardIrpSynchronously(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    verifier::check_irql_at_most(PASSIVE_LEVEL, "IoForwardIrpSynchronously");
    if (Irp->CurrentLocation <= 1) return FALSE;  // no location for the next driver
    KEVENT done;
    KeInitializeEvent(&done, NotificationEvent, FALSE);
    IoCopyCurrentIrpStackLocationToNext(Irp);
    IoSetCompletionRoutine(Irp, signal_forwarded, &done, TRUE, TRUE, TRUE);
    if (IoCallDriver(DeviceObject, Irp) == STATUS_PENDING)
        KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, nullptr);
    return TRUE;
}

NTSTATUS IoSetCompletionRoutineEx(PDEVICE_OBJECT DeviceObject, PIRP Irp, PIO_COMPLETION_ROUTINE CompletionRoutine,
                                  PVOID Context, BOOLEAN InvokeOnSuccess, BOOLEAN InvokeOnError,
                                  BOOLEAN InvokeOnCancel) {
    if (!DeviceObject || !Irp || !CompletionRoutine) return STATUS_INVALID_PARAMETER;
    if (!InvokeOnSuccess && !InvokeOnError && !InvokeOnCancel) {  // S-IRP-8: never called
        IoSetCompletionRoutine(Irp, CompletionRoutine, Context, FALSE, FALSE, FALSE);
        return STATUS_SUCCESS;
    }
    auto* c = static_cast<CompletionEx*>(ExAllocatePoolWithTag(NonPagedPoolNx, sizeof(CompletionEx), kCompletionExTag));
    if (!c) return STATUS_INSUFFICIENT_RESOURCES;  // no routine is set (S-IRP-9)
    c->routine = CompletionRoutine;
    c->context = Context;
    c->device = DeviceObject;
    c->invoke = static_cast<UCHAR>((InvokeOnSuccess ? SL_INVOKE_ON_SUCCESS : 0) | (InvokeOnError ? SL_INVOKE_ON_ERROR : 0) |
                                   (InvokeOnCancel ? SL_INVOKE_ON_CANCEL : 0));
    ObReferenceObject(DeviceObject);
    IoSetCompletionRoutine(Irp, completion_ex_wrapper, c, TRUE, TRUE, TRUE);
    return STATUS_SUCCESS;
}

}  // extern "C"
