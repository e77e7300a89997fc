// Nt* services for events, semaphores and mutants, and the handle-based waits
// (S-KE-7 handle view of kernel events, S-W32-1..3 underneath the Win32 calls).
#include "ke/apc.hpp"
#include "ke/objects.hpp"
#include "ob/services.hpp"
#include "ps/thread.hpp"
#include "system.hpp"

using ntio::sys;
namespace ob = ntio::ob;
namespace ke = ntio::ke;

namespace ntio::ob {
ObjectType g_event_type{"Event", 0, EVENT_ALL_ACCESS, destroy_body<KEVENT>, nullptr};
ObjectType g_semaphore_type{"Semaphore", 0, SEMAPHORE_ALL_ACCESS, destroy_body<KSEMAPHORE>, nullptr};
static void destroy_mutant(void* body) { ke::unlink_mutant_on_delete(static_cast<KMUTANT*>(body)); }
ObjectType g_mutant_type{"Mutant", 0, MUTANT_ALL_ACCESS, destroy_mutant, nullptr};
}  // namespace ntio::ob

extern "C" {
static POBJECT_TYPE g_event_type_ptr = &ob::g_event_type;
static POBJECT_TYPE g_semaphore_type_ptr = &ob::g_semaphore_type;
POBJECT_TYPE* ExEventObjectType = &g_event_type_ptr;
POBJECT_TYPE* ExSemaphoreObjectType = &g_semaphore_type_ptr;
}

namespace {

template <typename T, typename F>
NTSTATUS with_object(HANDLE h, const ob::ObjectType& type, ACCESS_MASK access, KPROCESSOR_MODE mode, F&& f) {
    void* body = nullptr;
    NTSTATUS s = ob::reference_by_handle(h, &type, mode, access, &body, nullptr);
    if (!NT_SUCCESS(s)) return s;
    s = f(static_cast<T*>(body));
    ob::dereference(body);
    return s;
}

// The Nt services are reached from application code (the Win32 layer) and from
// drivers through Zw*, which switch the previous mode to KernelMode first.
KPROCESSOR_MODE previous_mode() { return ntio::ps::previous_mode(); }

}  // namespace

extern "C" {

NTSTATUS NtCreateEvent(PHANDLE EventHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                       EVENT_TYPE EventType, BOOLEAN InitialState) {
    if (!EventHandle) return STATUS_ACCESS_VIOLATION;
    if (EventType != NotificationEvent && EventType != SynchronizationEvent) return STATUS_INVALID_PARAMETER;
    auto* e = ob::create<KEVENT>(ob::g_event_type);
    KeInitializeEvent(e, EventType, InitialState);
    return ob::insert_new_object(e, ObjectAttributes, DesiredAccess, EventHandle);
}

// S-KE-7: a named event, created signaled or opened as it is, as a kernel handle and the
// pointer behind it. The pointer holds no reference of its own: the handle keeps the
// event alive until ZwClose, as on Windows. NULL when the name cannot be used.
static PKEVENT create_named_io_event(PUNICODE_STRING EventName, PHANDLE EventHandle, EVENT_TYPE type) {
    if (!EventName || !EventHandle) return nullptr;
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, EventName, OBJ_OPENIF | OBJ_KERNEL_HANDLE, nullptr, nullptr);
    HANDLE h = nullptr;
    if (!NT_SUCCESS(ZwCreateEvent(&h, EVENT_ALL_ACCESS, &oa, type, TRUE))) return nullptr;
    PVOID event = nullptr;
    if (!NT_SUCCESS(ObReferenceObjectByHandle(h, 0, *ExEventObjectType, KernelMode, &event, nullptr))) {
        ZwClose(h);
        return nullptr;
    }
    ObDereferenceObject(event);
    *EventHandle = h;
    return static_cast<PKEVENT>(event);
}

PKEVENT IoCreateNotificationEvent(PUNICODE_STRING EventName, PHANDLE EventHandle) {
    return create_named_io_event(EventName, EventHandle, NotificationEvent);
}

PKEVENT IoCreateSynchronizationEvent(PUNICODE_STRING EventName, PHANDLE EventHandle) {
    return create_named_io_event(EventName, EventHandle, SynchronizationEvent);
}

NTSTATUS ZwCreateEvent(PHANDLE EventHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                       EVENT_TYPE EventType, BOOLEAN InitialState) {
    ntio::ps::KernelModeScope kernel;
    return NtCreateEvent(EventHandle, DesiredAccess, ObjectAttributes, EventType, InitialState);
}

NTSTATUS NtOpenEvent(PHANDLE EventHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes) {
    if (!EventHandle || !ObjectAttributes) return STATUS_ACCESS_VIOLATION;
    return ob::open_named_object(ObjectAttributes, ob::g_event_type, DesiredAccess, EventHandle);
}

NTSTATUS NtSetEvent(HANDLE EventHandle, PLONG PreviousState) {
    return with_object<KEVENT>(EventHandle, ob::g_event_type, EVENT_MODIFY_STATE, previous_mode(), [&](KEVENT* e) {
        LONG prev = ke::set_event(e);
        if (PreviousState) *PreviousState = prev;
        return STATUS_SUCCESS;
    });
}

NTSTATUS ZwSetEvent(HANDLE EventHandle, PLONG PreviousState) {
    ntio::ps::KernelModeScope kernel;
    return NtSetEvent(EventHandle, PreviousState);
}

NTSTATUS NtResetEvent(HANDLE EventHandle, PLONG PreviousState) {
    return with_object<KEVENT>(EventHandle, ob::g_event_type, EVENT_MODIFY_STATE, previous_mode(), [&](KEVENT* e) {
        LONG prev = ke::reset_event(e);
        if (PreviousState) *PreviousState = prev;
        return STATUS_SUCCESS;
    });
}

NTSTATUS NtClearEvent(HANDLE EventHandle) { return NtResetEvent(EventHandle, nullptr); }

NTSTATUS NtPulseEvent(HANDLE EventHandle, PLONG PreviousState) {
    return with_object<KEVENT>(EventHandle, ob::g_event_type, EVENT_MODIFY_STATE, previous_mode(), [&](KEVENT* e) {
        LONG prev = ke::pulse_event(e);
        if (PreviousState) *PreviousState = prev;
        return STATUS_SUCCESS;
    });
}

NTSTATUS NtCreateSemaphore(PHANDLE SemaphoreHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                           LONG InitialCount, LONG MaximumCount) {
    if (!SemaphoreHandle) return STATUS_ACCESS_VIOLATION;
    if (MaximumCount <= 0 || InitialCount < 0 || InitialCount > MaximumCount) return STATUS_INVALID_PARAMETER;
    auto* s = ob::create<KSEMAPHORE>(ob::g_semaphore_type);
    KeInitializeSemaphore(s, InitialCount, MaximumCount);
    return ob::insert_new_object(s, ObjectAttributes, DesiredAccess, SemaphoreHandle);
}

NTSTATUS NtOpenSemaphore(PHANDLE SemaphoreHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes) {
    if (!SemaphoreHandle || !ObjectAttributes) return STATUS_ACCESS_VIOLATION;
    return ob::open_named_object(ObjectAttributes, ob::g_semaphore_type, DesiredAccess, SemaphoreHandle);
}

NTSTATUS NtReleaseSemaphore(HANDLE SemaphoreHandle, LONG ReleaseCount, PLONG PreviousCount) {
    if (ReleaseCount <= 0) return STATUS_INVALID_PARAMETER;
    return with_object<KSEMAPHORE>(SemaphoreHandle, ob::g_semaphore_type, SEMAPHORE_MODIFY_STATE, previous_mode(),
                                   [&](KSEMAPHORE* s) { return ke::release_semaphore(s, ReleaseCount, PreviousCount); });
}

NTSTATUS NtCreateMutant(PHANDLE MutantHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                        BOOLEAN InitialOwner) {
    if (!MutantHandle) return STATUS_ACCESS_VIOLATION;
    auto* m = ob::create<KMUTANT>(ob::g_mutant_type);
    ke::init_mutant(m, nullptr);
    NTSTATUS s = ob::insert_new_object(m, ObjectAttributes, DesiredAccess, MutantHandle);
    // An existing named mutex is opened, not acquired; a new one may start owned.
    if (s == STATUS_SUCCESS && InitialOwner) {
        DISPATCHER_HEADER* h = &m->Header;
        ke::wait_objects(1, &h, WaitAny, nullptr);
    }
    return s;
}

NTSTATUS NtOpenMutant(PHANDLE MutantHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes) {
    if (!MutantHandle || !ObjectAttributes) return STATUS_ACCESS_VIOLATION;
    return ob::open_named_object(ObjectAttributes, ob::g_mutant_type, DesiredAccess, MutantHandle);
}

NTSTATUS NtReleaseMutant(HANDLE MutantHandle, PLONG PreviousCount) {
    return with_object<KMUTANT>(MutantHandle, ob::g_mutant_type, 0, previous_mode(), [&](KMUTANT* m) {
        return ke::release_mutant(m, ntio::ps::current_thread(), PreviousCount);
    });
}

NTSTATUS NtWaitForMultipleObjects(ULONG Count, const HANDLE* Handles, WAIT_TYPE WaitType, BOOLEAN Alertable,
                                  PLARGE_INTEGER Timeout) {
    if (Count == 0 || Count > MAXIMUM_WAIT_OBJECTS) return STATUS_INVALID_PARAMETER_1;
    if (!Handles) return STATUS_ACCESS_VIOLATION;
    if (WaitType != WaitAll && WaitType != WaitAny) return STATUS_INVALID_PARAMETER_3;
    void* bodies[MAXIMUM_WAIT_OBJECTS];
    DISPATCHER_HEADER* headers[MAXIMUM_WAIT_OBJECTS];
    ULONG referenced = 0;
    NTSTATUS s = STATUS_SUCCESS;
    KPROCESSOR_MODE mode = previous_mode();
    for (; referenced < Count; ++referenced) {
        s = ob::reference_by_handle(Handles[referenced], nullptr, mode, SYNCHRONIZE, &bodies[referenced], nullptr);
        if (!NT_SUCCESS(s)) break;
        if (!ob::waitable(ob::type_of(bodies[referenced]))) {
            ob::dereference(bodies[referenced]);
            s = STATUS_OBJECT_TYPE_MISMATCH;
            break;
        }
        headers[referenced] = ob::wait_header(bodies[referenced]);
    }
    if (NT_SUCCESS(s) && WaitType == WaitAll) {
        // The same object twice in a wait-all cannot be satisfied atomically.
        for (ULONG i = 0; i < Count && NT_SUCCESS(s); ++i)
            for (ULONG j = i + 1; j < Count; ++j)
                if (headers[i] == headers[j]) {
                    s = STATUS_INVALID_PARAMETER_MIX;
                    break;
                }
    }
    bool alertable = Alertable && mode == UserMode;
    if (NT_SUCCESS(s)) s = ke::wait_objects(Count, headers, WaitType, Timeout, alertable);
    for (ULONG i = 0; i < referenced; ++i) ob::dereference(bodies[i]);
    return ke::user_wait_result(s);
}

NTSTATUS NtWaitForSingleObject(HANDLE Handle, BOOLEAN Alertable, PLARGE_INTEGER Timeout) {
    if (Handle == NtCurrentProcess() || Handle == NtCurrentThread())
        return NtWaitForMultipleObjects(1, &Handle, WaitAny, Alertable, Timeout);
    // Hot path: look at the object through a pinned handle entry and satisfy the wait
    // without touching its reference count when it is already signaled.
    ntio::System::Impl& s = sys();
    ob::HandleTable::Pin pin;
    NTSTATUS status = s.handles.pin(Handle, previous_mode(), SYNCHRONIZE, &pin);
    if (!NT_SUCCESS(status)) return status;
    if (!ob::waitable(pin.type())) return STATUS_OBJECT_TYPE_MISMATCH;
    void* body = pin.body();
    DISPATCHER_HEADER* header = ob::wait_header(body);
    status = s.dispatcher.try_wait_one(header);
    if (status != STATUS_PENDING) return status;
    pin.take_reference();
    pin.release();
    bool alertable = Alertable && previous_mode() == UserMode;
    status = ke::wait_objects(1, &header, WaitAny, Timeout, alertable);
    ob::dereference(body);
    return ke::user_wait_result(status);
}

// S-APC-7: signals one object (an event is set, a semaphore released by one, a mutex
// released) and waits on another. The wait handle is checked first, so a bad one
// signals nothing; a signal that fails (a semaphore at its maximum, a mutex the caller
// does not own, another kind of object) is returned without waiting. Not atomic: another
// thread may run between the signal and the start of the wait (docs/compat.md).
NTSTATUS NtSignalAndWaitForSingleObject(HANDLE SignalHandle, HANDLE WaitHandle, BOOLEAN Alertable,
                                        PLARGE_INTEGER Timeout) {
    KPROCESSOR_MODE mode = previous_mode();
    void* waited = nullptr;
    NTSTATUS s = ob::reference_by_handle(WaitHandle, nullptr, mode, SYNCHRONIZE, &waited, nullptr);
    if (!NT_SUCCESS(s)) return s;
    bool waitable = ob::waitable(ob::type_of(waited));
    ob::dereference(waited);
    if (!waitable) return STATUS_OBJECT_TYPE_MISMATCH;
    void* signaled = nullptr;
    s = ob::reference_by_handle(SignalHandle, nullptr, mode, 0, &signaled, nullptr);
    if (!NT_SUCCESS(s)) return s;
    const ob::ObjectType* type = ob::type_of(signaled);
    ob::dereference(signaled);
    if (type == &ob::g_event_type)
        s = NtSetEvent(SignalHandle, nullptr);
    else if (type == &ob::g_semaphore_type)
        s = NtReleaseSemaphore(SignalHandle, 1, nullptr);
    else if (type == &ob::g_mutant_type)
        s = NtReleaseMutant(SignalHandle, nullptr);
    else
        s = STATUS_OBJECT_TYPE_MISMATCH;
    if (!NT_SUCCESS(s)) return s;
    return NtWaitForSingleObject(WaitHandle, Alertable, Timeout);
}

NTSTATUS ZwWaitForSingleObject(HANDLE Handle, BOOLEAN Alertable, PLARGE_INTEGER Timeout) {
    ntio::ps::KernelModeScope kernel;
    return NtWaitForSingleObject(Handle, Alertable, Timeout);
}

NTSTATUS NtDelayExecution(BOOLEAN Alertable, PLARGE_INTEGER DelayInterval) {
    if (!DelayInterval) return STATUS_ACCESS_VIOLATION;
    bool alertable = Alertable && previous_mode() == UserMode;
    NTSTATUS s = ke::delay(DelayInterval, alertable);
    return ke::user_wait_result(s);
}

}  // extern "C"
