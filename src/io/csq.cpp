// Cancel-safe queues (S-CAN-7, §10 item 8): the driver keeps the queue and its lock;
// the library owns the cancel routine and never leaves a cancelled IRP queued.
#include "io/iomgr.hpp"
#include "trace/trace.hpp"
#include "verifier/report.hpp"

namespace {

// DriverContext[3] holds either the IO_CSQ (no context given) or the IO_CSQ_IRP_CONTEXT.
PIO_CSQ csq_of(PIRP irp, PIO_CSQ_IRP_CONTEXT* context) {
    auto* p = static_cast<ULONG*>(irp->Tail.Overlay.DriverContext[3]);
    *context = nullptr;
    if (!p) return nullptr;
    if (*p == IO_TYPE_CSQ_IRP_CONTEXT) {
        *context = reinterpret_cast<PIO_CSQ_IRP_CONTEXT>(p);
        return (*context)->Csq;
    }
    return reinterpret_cast<PIO_CSQ>(p);
}

void forget(PIRP irp) {
    PIO_CSQ_IRP_CONTEXT ctx;
    csq_of(irp, &ctx);
    if (ctx) ctx->Irp = nullptr;
    irp->Tail.Overlay.DriverContext[3] = nullptr;
}

// The library's cancel routine: leave the cancel lock first, then the queue's.
VOID CsqCancel(PDEVICE_OBJECT, PIRP irp) {
    IoReleaseCancelSpinLock(irp->CancelIrql);
    PIO_CSQ_IRP_CONTEXT ctx;
    PIO_CSQ csq = csq_of(irp, &ctx);
    KIRQL irql;
    csq->CsqAcquireLock(csq, &irql);
    csq->CsqRemoveIrp(csq, irp);
    forget(irp);
    csq->CsqReleaseLock(csq, irql);
    csq->CsqCompleteCanceledIrp(csq, irp);
}

NTSTATUS init(PIO_CSQ csq, ULONG type, PIO_CSQ_INSERT_IRP insert, PIO_CSQ_INSERT_IRP_EX insert_ex,
              PIO_CSQ_REMOVE_IRP remove, PIO_CSQ_PEEK_NEXT_IRP peek, PIO_CSQ_ACQUIRE_LOCK acquire,
              PIO_CSQ_RELEASE_LOCK release, PIO_CSQ_COMPLETE_CANCELED_IRP complete) {
    csq->Type = type;
    csq->CsqInsertIrp = insert;
    csq->CsqInsertIrpEx = insert_ex;
    csq->CsqRemoveIrp = remove;
    csq->CsqPeekNextIrp = peek;
    csq->CsqAcquireLock = acquire;
    csq->CsqReleaseLock = release;
    csq->CsqCompleteCanceledIrp = complete;
    csq->ReservePointer = nullptr;
    return STATUS_SUCCESS;
}

}  // namespace

extern "C" {

NTSTATUS IoCsqInitialize(PIO_CSQ Csq, PIO_CSQ_INSERT_IRP CsqInsertIrp, PIO_CSQ_REMOVE_IRP CsqRemoveIrp,
                         PIO_CSQ_PEEK_NEXT_IRP CsqPeekNextIrp, PIO_CSQ_ACQUIRE_LOCK CsqAcquireLock,
                         PIO_CSQ_RELEASE_LOCK CsqReleaseLock, PIO_CSQ_COMPLETE_CANCELED_IRP CsqCompleteCanceledIrp) {
    return init(Csq, IO_TYPE_CSQ, CsqInsertIrp, nullptr, CsqRemoveIrp, CsqPeekNextIrp, CsqAcquireLock, CsqReleaseLock,
                CsqCompleteCanceledIrp);
}

NTSTATUS IoCsqInitializeEx(PIO_CSQ Csq, PIO_CSQ_INSERT_IRP_EX CsqInsertIrp, PIO_CSQ_REMOVE_IRP CsqRemoveIrp,
                           PIO_CSQ_PEEK_NEXT_IRP CsqPeekNextIrp, PIO_CSQ_ACQUIRE_LOCK CsqAcquireLock,
                           PIO_CSQ_RELEASE_LOCK CsqReleaseLock, PIO_CSQ_COMPLETE_CANCELED_IRP CsqCompleteCanceledIrp) {
    return init(Csq, IO_TYPE_CSQ_EX, nullptr, CsqInsertIrp, CsqRemoveIrp, CsqPeekNextIrp, CsqAcquireLock,
                CsqReleaseLock, CsqCompleteCanceledIrp);
}

NTSTATUS IoCsqInsertIrpEx(PIO_CSQ Csq, PIRP Irp, PIO_CSQ_IRP_CONTEXT Context, PVOID InsertContext) {
    ntio::verifier::check_irql_at_most(DISPATCH_LEVEL, "IoCsqInsertIrp");
    KIRQL irql;
    Csq->CsqAcquireLock(Csq, &irql);
    if (Context) {
        Context->Type = IO_TYPE_CSQ_IRP_CONTEXT;
        Context->Irp = Irp;
        Context->Csq = Csq;
        Irp->Tail.Overlay.DriverContext[3] = Context;
    } else {
        Irp->Tail.Overlay.DriverContext[3] = Csq;
    }
    NTSTATUS status = STATUS_SUCCESS;
    if (Csq->Type == IO_TYPE_CSQ_EX) status = Csq->CsqInsertIrpEx(Csq, Irp, InsertContext);
    else Csq->CsqInsertIrp(Csq, Irp);
    if (!NT_SUCCESS(status)) {  // left unqueued and not marked pending
        forget(Irp);
        Csq->CsqReleaseLock(Csq, irql);
        return status;
    }
    IoMarkIrpPending(Irp);
    if (ntio::trace::enabled()) [[unlikely]]
        ntio::trace::irp_event(ntio::trace::Kind::queued, Irp);
    IoSetCancelRoutine(Irp, CsqCancel);
    if (__atomic_load_n(&Irp->Cancel, __ATOMIC_RELAXED) && IoSetCancelRoutine(Irp, nullptr)) {
        // Cancelled before it was armed, and we got the routine back: take it out again
        // and complete it as cancelled, outside the queue lock.
        Csq->CsqRemoveIrp(Csq, Irp);
        forget(Irp);
        Csq->CsqReleaseLock(Csq, irql);
        Csq->CsqCompleteCanceledIrp(Csq, Irp);
        return status;
    }
    Csq->CsqReleaseLock(Csq, irql);
    return status;
}

VOID IoCsqInsertIrp(PIO_CSQ Csq, PIRP Irp, PIO_CSQ_IRP_CONTEXT Context) {
    IoCsqInsertIrpEx(Csq, Irp, Context, nullptr);
}

PIRP IoCsqRemoveNextIrp(PIO_CSQ Csq, PVOID PeekContext) {
    ntio::verifier::check_irql_at_most(DISPATCH_LEVEL, "IoCsqRemoveNextIrp");
    KIRQL irql;
    Csq->CsqAcquireLock(Csq, &irql);
    PIRP irp = Csq->CsqPeekNextIrp(Csq, nullptr, PeekContext);
    while (irp) {
        if (IoSetCancelRoutine(irp, nullptr)) {  // not being cancelled: ours
            Csq->CsqRemoveIrp(Csq, irp);
            forget(irp);
            if (ntio::trace::enabled()) [[unlikely]]
                ntio::trace::irp_event(ntio::trace::Kind::dequeued, irp);
            break;
        }
        irp = Csq->CsqPeekNextIrp(Csq, irp, PeekContext);  // its cancel routine owns it: skip
    }
    Csq->CsqReleaseLock(Csq, irql);
    return irp;
}

PIRP IoCsqRemoveIrp(PIO_CSQ Csq, PIO_CSQ_IRP_CONTEXT Context) {
    ntio::verifier::check_irql_at_most(DISPATCH_LEVEL, "IoCsqRemoveIrp");
    KIRQL irql;
    Csq->CsqAcquireLock(Csq, &irql);
    PIRP irp = Context->Irp;
    if (irp) {
        if (IoSetCancelRoutine(irp, nullptr)) {
            Csq->CsqRemoveIrp(Csq, irp);
            forget(irp);
            if (ntio::trace::enabled()) [[unlikely]]
                ntio::trace::irp_event(ntio::trace::Kind::dequeued, irp);
        } else {
            irp = nullptr;  // already being cancelled
        }
    }
    Csq->CsqReleaseLock(Csq, irql);
    return irp;
}

}  // extern "C"
