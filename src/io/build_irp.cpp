// IRPs that drivers build for the devices below them, and who frees them (S-BLD-1..6):
//
//   IoAllocateIrp / IoInitializeIrp      the creator frees (its completion routine returns
//                                        STATUS_MORE_PROCESSING_REQUIRED, then IoFreeIrp)
//   IoBuildAsynchronousFsdRequest        the same; Thread = caller, not on its IRP list
//   IoBuildSynchronousFsdRequest,        the I/O manager frees them at completion, after
//   IoBuildDeviceIoControlRequest        writing the IOSB and setting the event; queued
//                                        to the calling thread (cancelled if it exits)
//   IoMakeAssociatedIrp                  freed when it completes; the master completes
//                                        when its last associated IRP has
//
// Buffers follow the target device's DO_BUFFERED_IO / DO_DIRECT_IO (FSD requests) or the
// control code's method (device control), as for a caller's request (S-BUF-4..9), but in
// kernel mode. A system buffer comes from pool so that a creator that takes the IRP back
// may release it with ExFreePool, as Windows drivers do.
#include "io/iomgr.hpp"
#include "ps/thread.hpp"
#include "verifier/faults.hpp"
#include "verifier/hooks.hpp"
#include "verifier/irp_tracker.hpp"
#include "verifier/report.hpp"

namespace ntio::io {
namespace {

constexpr ULONG kSystemBufferTag = 0x66427249;  // 'IrBf'

bool pool_system_buffer(IRP* irp, ULONG length) {
    if (!length) return true;
    irp->AssociatedIrp.SystemBuffer = ExAllocatePoolWithTag(NonPagedPoolNx, length, kSystemBufferTag);
    if (!irp->AssociatedIrp.SystemBuffer) return false;
    header_of(irp)->flags |= kIrpPoolBuffer;
    irp->Flags |= IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER;
    return true;
}

bool locked_mdl(IRP* irp, PVOID buffer, ULONG length, LOCK_OPERATION op) {
    PMDL mdl = IoAllocateMdl(buffer, length, FALSE, FALSE, irp);
    if (!mdl) return false;
    lock_mdl_pages(mdl, op);
    return true;
}

// Frees an IRP that failed to build (nothing was sent).
void discard(IRP* irp) {
    for (PMDL mdl = irp->MdlAddress; mdl;) {
        PMDL next = mdl->Next;
        if (mdl->MdlFlags & MDL_PAGES_LOCKED) MmUnlockPages(mdl);
        IoFreeMdl(mdl);
        mdl = next;
    }
    if (irp->AssociatedIrp.SystemBuffer && (header_of(irp)->flags & kIrpPoolBuffer))
        ExFreePool(irp->AssociatedIrp.SystemBuffer);
    free_irp(irp);
}

IRP* build_fsd(ULONG major, PDEVICE_OBJECT device, PVOID buffer, ULONG length, PLARGE_INTEGER offset,
               PIO_STATUS_BLOCK iosb, const char* api) {
    switch (major) {
    case IRP_MJ_READ: case IRP_MJ_WRITE: case IRP_MJ_FLUSH_BUFFERS: case IRP_MJ_SHUTDOWN: case IRP_MJ_PNP:
    case IRP_MJ_POWER:
        break;
    default:
        verifier::report(verifier::Check::InvalidParameter, fmt::format("{} with major function {:#x}: only READ, WRITE, "
                                                              "FLUSH_BUFFERS, SHUTDOWN, PNP and POWER are built",
                                                              api, major));
        return nullptr;
    }
    if (!device) return nullptr;
    IRP* irp = allocate_irp(device->StackSize, 0);
    if (!irp) return nullptr;
    irp->RequestorMode = KernelMode;
    irp->UserIosb = iosb;
    irp->Tail.Overlay.Thread = PsGetCurrentThread();  // S-IRP-1: set, though not listed
    PIO_STACK_LOCATION sl = IoGetNextIrpStackLocation(irp);
    sl->MajorFunction = static_cast<UCHAR>(major);
    if (major == IRP_MJ_READ || major == IRP_MJ_WRITE) {
        bool write = major == IRP_MJ_WRITE;
        sl->Parameters.Read.Length = length;
        if (offset) sl->Parameters.Read.ByteOffset = *offset;
        irp->Flags |= write ? IRP_WRITE_OPERATION : IRP_READ_OPERATION;
        bool ok = true;
        if (device->Flags & DO_BUFFERED_IO) {
            ok = pool_system_buffer(irp, length);
            if (ok && write && length) std::memcpy(irp->AssociatedIrp.SystemBuffer, buffer, length);
            if (!write) {
                irp->Flags |= IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER | IRP_INPUT_OPERATION;
                irp->UserBuffer = buffer;
                header_of(irp)->output_length = length;
            }
        } else if (device->Flags & DO_DIRECT_IO) {
            if (length) ok = locked_mdl(irp, buffer, length, write ? IoReadAccess : IoWriteAccess);
        } else {
            irp->UserBuffer = buffer;
        }
        if (!ok) {
            discard(irp);
            return nullptr;
        }
    }
    return irp;
}

// An IRP a driver built (`caller`: the return address into it): its record says so, and
// IrpLeftAtUnload holds the driver to free it.
PIRP built_by_driver(PIRP irp, const void* caller) {
    if (irp && verifier::irp_hooks()) [[unlikely]]
        verifier::irps::created_by_driver(irp, caller);
    return irp;
}

}  // namespace
}  // namespace ntio::io

using namespace ntio;
using io::header_of;

extern "C" {

VOID IoInitializeIrp(PIRP Irp, USHORT PacketSize, CCHAR StackSize) {
    if (!Irp || StackSize < 1 || !io::initialize_driver_irp(Irp, PacketSize, StackSize)) {
        verifier::report(verifier::Check::InvalidParameter,
                             fmt::format("IoInitializeIrp({}, {} bytes, {} locations): allocate IoSizeOfIrp({}) = {} "
                                         "bytes (ntio's IRPs carry {} bytes of runtime state after the stack "
                                         "locations)",
                                         static_cast<void*>(Irp), PacketSize, int(StackSize), int(StackSize),
                                         IoSizeOfIrp(StackSize), NTIO_IRP_PRIVATE_BYTES));
        if (Irp) Irp->NtioPrivate = nullptr;
    }
}

VOID IoReuseIrp(PIRP Irp, NTSTATUS Iostatus) {
    io::IrpHeader* h = Irp && Irp->NtioPrivate ? header_of(Irp) : nullptr;
    const char* problem = nullptr;
    if (!h) problem = "is not an IRP";
    else if (h->flags & (io::kIrpUserRequest | io::kIrpManagerFrees))
        problem = "was built by the I/O manager or IoBuild*Request (only IoAllocateIrp/IoInitializeIrp IRPs are reused)";
    else if (Irp->AssociatedIrp.MasterIrp && (Irp->Flags & IRP_ASSOCIATED_IRP))
        problem = "is an associated IRP";
    else if (Irp->CancelRoutine) problem = "still has a cancel routine";
    else if (h->list_state == io::kListed || h->list_state == io::kInSlot)
        problem = "is still on a thread's IRP list";
    if (problem) {
        verifier::report(verifier::Check::ReuseIrpInvalid,
                         fmt::format("IoReuseIrp on IRP #{}, which {} (S-BLD-5)", h ? h->sequence : 0, problem),
                         {.irp = h ? Irp : nullptr});
        return;
    }
    io::reinitialize_irp(Irp);
    Irp->IoStatus.Status = Iostatus;
}

PIRP IoBuildAsynchronousFsdRequest(ULONG MajorFunction, PDEVICE_OBJECT DeviceObject, PVOID Buffer, ULONG Length,
                                   PLARGE_INTEGER StartingOffset, PIO_STATUS_BLOCK IoStatusBlock) {
    verifier::check_irql_at_most(DISPATCH_LEVEL, "IoBuildAsynchronousFsdRequest");
    if (verifier::allocation_fault_hooks() &&
        verifier::faults::fail_irp("IoBuildAsynchronousFsdRequest", __builtin_return_address(0))) [[unlikely]]
        return nullptr;
    return io::built_by_driver(io::build_fsd(MajorFunction, DeviceObject, Buffer, Length, StartingOffset,
                                             IoStatusBlock, "IoBuildAsynchronousFsdRequest"),
                               __builtin_return_address(0));
}

PIRP IoBuildSynchronousFsdRequest(ULONG MajorFunction, PDEVICE_OBJECT DeviceObject, PVOID Buffer, ULONG Length,
                                  PLARGE_INTEGER StartingOffset, PKEVENT Event, PIO_STATUS_BLOCK IoStatusBlock) {
    verifier::check_irql_at_most(PASSIVE_LEVEL, "IoBuildSynchronousFsdRequest");
    if (verifier::allocation_fault_hooks() &&
        verifier::faults::fail_irp("IoBuildSynchronousFsdRequest", __builtin_return_address(0))) [[unlikely]]
        return nullptr;
    IRP* irp = io::build_fsd(MajorFunction, DeviceObject, Buffer, Length, StartingOffset, IoStatusBlock,
                             "IoBuildSynchronousFsdRequest");
    if (!irp) return nullptr;
    irp->UserEvent = Event;
    header_of(irp)->flags |= io::kIrpManagerFrees;
    io::queue_to_thread(irp, ps::current_thread());  // S-BLD-3: cancelled if the thread exits
    return io::built_by_driver(irp, __builtin_return_address(0));
}

PIRP IoBuildDeviceIoControlRequest(ULONG IoControlCode, PDEVICE_OBJECT DeviceObject, PVOID InputBuffer,
                                   ULONG InputBufferLength, PVOID OutputBuffer, ULONG OutputBufferLength,
                                   BOOLEAN InternalDeviceIoControl, PKEVENT Event, PIO_STATUS_BLOCK IoStatusBlock) {
    verifier::check_irql_at_most(PASSIVE_LEVEL, "IoBuildDeviceIoControlRequest");
    if (verifier::allocation_fault_hooks() &&
        verifier::faults::fail_irp("IoBuildDeviceIoControlRequest", __builtin_return_address(0))) [[unlikely]]
        return nullptr;
    if (!DeviceObject) return nullptr;
    IRP* irp = io::allocate_irp(DeviceObject->StackSize, 0);
    if (!irp) return nullptr;
    irp->RequestorMode = KernelMode;
    irp->UserIosb = IoStatusBlock;
    irp->UserEvent = Event;
    PIO_STACK_LOCATION sl = IoGetNextIrpStackLocation(irp);
    sl->MajorFunction = InternalDeviceIoControl ? IRP_MJ_INTERNAL_DEVICE_CONTROL : IRP_MJ_DEVICE_CONTROL;
    sl->Parameters.DeviceIoControl.IoControlCode = IoControlCode;
    sl->Parameters.DeviceIoControl.InputBufferLength = InputBufferLength;
    sl->Parameters.DeviceIoControl.OutputBufferLength = OutputBufferLength;
    // S-BLD-3: no FileObject in the next location; callers that need one set it.
    bool ok = true;
    switch (IoControlCode & 3) {
    case METHOD_BUFFERED: {
        ULONG length = InputBufferLength > OutputBufferLength ? InputBufferLength : OutputBufferLength;
        ok = io::pool_system_buffer(irp, length);
        if (ok && length) {
            if (InputBuffer && InputBufferLength)
                std::memcpy(irp->AssociatedIrp.SystemBuffer, InputBuffer, InputBufferLength);
            std::memset(static_cast<char*>(irp->AssociatedIrp.SystemBuffer) + InputBufferLength, 0,
                        length - InputBufferLength);
        }
        if (OutputBufferLength) irp->Flags |= IRP_INPUT_OPERATION;
        irp->UserBuffer = OutputBuffer;
        header_of(irp)->output_length = OutputBufferLength;
        break;
    }
    case METHOD_IN_DIRECT:
    case METHOD_OUT_DIRECT:
        if (InputBufferLength) {
            ok = io::pool_system_buffer(irp, InputBufferLength);
            if (ok) std::memcpy(irp->AssociatedIrp.SystemBuffer, InputBuffer, InputBufferLength);
        }
        if (ok && OutputBuffer && OutputBufferLength)
            ok = io::locked_mdl(irp, OutputBuffer, OutputBufferLength,
                                (IoControlCode & 3) == METHOD_IN_DIRECT ? IoReadAccess : IoWriteAccess);
        break;
    case METHOD_NEITHER:
        sl->Parameters.DeviceIoControl.Type3InputBuffer = InputBuffer;
        irp->UserBuffer = OutputBuffer;
        break;
    }
    if (!ok) {
        io::discard(irp);
        return nullptr;
    }
    header_of(irp)->flags |= io::kIrpManagerFrees;
    io::queue_to_thread(irp, ps::current_thread());
    return io::built_by_driver(irp, __builtin_return_address(0));
}

PIRP IoMakeAssociatedIrp(PIRP Irp, CCHAR StackSize) {
    verifier::check_irql_at_most(DISPATCH_LEVEL, "IoMakeAssociatedIrp");
    if (verifier::allocation_fault_hooks() && verifier::faults::fail_irp("IoMakeAssociatedIrp", __builtin_return_address(0)))
        [[unlikely]]
        return nullptr;
    if (!Irp || StackSize < 1) return nullptr;
    IRP* assoc = io::allocate_irp(StackSize, 0);
    if (!assoc) return nullptr;
    assoc->Flags = IRP_ASSOCIATED_IRP;
    assoc->AssociatedIrp.MasterIrp = Irp;
    assoc->Tail.Overlay.Thread = Irp->Tail.Overlay.Thread;  // S-BLD-6
    assoc->RequestorMode = Irp->RequestorMode;
    return io::built_by_driver(assoc, __builtin_return_address(0));
}

}  // extern "C"
