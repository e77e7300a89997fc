#include "ps/thread.hpp"

#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/format.h>

#include "io/iomgr.hpp"
#include "ke/apc.hpp"
#include "ke/objects.hpp"
#include "ob/services.hpp"
#include "system.hpp"
#include "trace/trace.hpp"
#include "verifier/report.hpp"
#include "verifier/drivers.hpp"

_KTHREAD::_KTHREAD() {
    Header.Type = ntio::ke::kThread;
    Header.Absolute = 0;
    Header.Waiters = 0;
    Header.Inserted = 0;
    ntio::ke::set_signal_state(&Header, 0);
    InitializeListHead(&Header.WaitListHead);
    wait_timer.Header.Type = ntio::ke::kWaitTimeout;
    wait_timer.Header.Inserted = FALSE;
    InitializeListHead(&wait_timer.Header.WaitListHead);
    InitializeListHead(&wait_timer.TimerListEntry);
    wait_timer.Dpc = reinterpret_cast<KDPC*>(this);  // owner, for the dispatcher's timeout expiry
    InitializeListHead(&owned_mutants);
    InitializeListHead(&irp_list);
    InitializeListHead(&irp_slot_mark);
    InitializeListHead(&held_dpcs);
    InitializeListHead(&registry_entry);
    InitializeListHead(&user_apcs);
    KeInitializeEvent(&resume_gate, NotificationEvent, FALSE);
    KeInitializeEvent(&irps_gone, SynchronizationEvent, FALSE);
    KeInitializeEvent(&stopped_at_exit, NotificationEvent, FALSE);
}

_KTHREAD::~_KTHREAD() { ntio::ke::free_user_apcs(this); }

namespace ntio::ob {

static void destroy_thread(void* body) {
    auto* t = static_cast<_ETHREAD*>(body);
    if (System::Impl* s = t->system; s && s == sys_if_exists()) {
        std::lock_guard g(s->threads_lock);
        RemoveEntryList(&t->registry_entry);
    }
    t->~_ETHREAD();
}
ObjectType g_thread_type{"Thread", 0, THREAD_ALL_ACCESS, destroy_thread, nullptr};

}  // namespace ntio::ob

extern "C" {
static POBJECT_TYPE g_thread_type_ptr = &ntio::ob::g_thread_type;
POBJECT_TYPE* PsThreadType = &g_thread_type_ptr;
}

namespace ntio::ps {

constinit thread_local ThreadSlot t_slot{nullptr, 0};
constinit thread_local KPROCESSOR_MODE t_previous_mode = UserMode;

namespace {

uint32_t os_tid() {
    thread_local uint32_t tid = static_cast<uint32_t>(syscall(SYS_gettid));
    return tid;
}

// The OS thread's Windows id, kept for its life: a thread adopted again by a later
// runtime (a test's second System) keeps the id it had.
constinit thread_local uint32_t t_thread_id = 0;

// Ends a thread's life in the dispatcher: abandons its mutants, signals waiters
// on the thread object and stops counting it for the virtual clock.
void mark_terminated(_KTHREAD* t) {
    ke::Dispatcher& d = t->system->dispatcher;
    ke::Dispatcher::Guard g(d);
    if (t->terminated) return;
    ke::abandon_mutants_locked(d, t);
    t->terminated = true;  // from here no user APC is queued to it
    d.discard_user_apcs_locked(t);
    ntio::ke::set_signal_state(&t->Header, 1);
    d.wait_test_locked(&t->Header);
    d.thread_ended_locked(t);
}

// Per-thread state is kept in trivially destructible thread_locals; a pthread key's
// destructor cleans up when a thread ends. Unlike C++ thread_local destructors, key
// destructors do not run for the main thread at exit(), where the runtime still has
// work to do (atexit handlers unload drivers on the main thread).
pthread_key_t g_exit_key;
pthread_once_t g_exit_key_once = PTHREAD_ONCE_INIT;

void on_os_thread_exit(void*) {
    // A foreign thread the runtime adopted ends with its OS thread: its requests are
    // cancelled and waited for, then its thread object is signaled.
    System::Impl* s = sys_if_exists();
    _KTHREAD* thread = t_slot.thread;
    if (thread && s && s->generation == t_slot.generation && thread->adopted) {
        io::cancel_thread_io(thread);
        if (thread->exit_code.load() == STILL_ACTIVE) thread->exit_code.store(0);
        mark_terminated(thread);
        dereference(thread);
    }
    t_slot.thread = nullptr;
    // Last, the per-thread caches the steps above may still have used.
    ke::thread_exit_cleanup();
    io::thread_exit_cleanup();
}

void register_thread(System::Impl& s, _KTHREAD* t) {
    {
        std::lock_guard g(s.threads_lock);
        InsertTailList(&s.threads, &t->registry_entry);
        t->number = ++s.thread_numbers;
    }
    if (trace::enabled()) trace::thread_named(t);
}

void run_entry(_KTHREAD* t) {
    uint32_t code = 0;
    switch (t->entry) {
    case _KTHREAD::Entry::system:
        reinterpret_cast<PKSTART_ROUTINE>(t->start)(t->context);
        code = STATUS_SUCCESS;
        if (KeGetCurrentIrql() != PASSIVE_LEVEL)
            verifier::report(verifier::Check::IRQL_UNEXPECTED_VALUE,
                                 fmt::format("system thread routine {} returned at IRQL {}", t->start,
                                             KeGetCurrentIrql()));
        break;
    case _KTHREAD::Entry::win32:
        code = reinterpret_cast<LPTHREAD_START_ROUTINE>(t->start)(t->context);
        break;
    case _KTHREAD::Entry::crt:
        reinterpret_cast<void (*)(void*)>(t->start)(t->context);
        break;
    case _KTHREAD::Entry::crt_ex:
        code = reinterpret_cast<unsigned (*)(void*)>(t->start)(t->context);
        break;
    case _KTHREAD::Entry::none:
        break;
    }
    t->exit_code.store(code);
}

void finish(_KTHREAD* t) {
    // S-CAN-12: a thread's requests are cancelled as it exits, and it ends only once
    // they have completed.
    io::cancel_thread_io(t);
    // The CRT closes _beginthread's handle as the routine returns, while the thread
    // still runs (and still holds the virtual clock).
    if (t->auto_close_handle && t->self_handle) t->system->handles.close(t->self_handle, KernelMode);
    if (trace::enabled()) [[unlikely]]
        trace::thread_ended(t);
    mark_terminated(t);
    t_slot.thread = nullptr;
    dereference(t);  // the OS thread's reference
}

void* trampoline(void* arg) {
    auto* t = static_cast<_KTHREAD*>(arg);
    System::Impl* system = t->system;
    t->tid.store(os_tid(), std::memory_order_release);
    ke::futex_wake(t->tid, INT32_MAX);
    t_thread_id = t->id;
    t_slot.thread = t;
    t_slot.generation = t->system->generation;
    if (t->system_thread) t_previous_mode = KernelMode;
    verifier::drivers::t_current = t->driver;  // what it allocates and creates is its driver's
    watch_thread_exit();
    if (t->suspend_count > 0) {
        DISPATCHER_HEADER* gate = &t->resume_gate.Header;
        t->system->dispatcher.wait(t, 1, &gate, WaitAny, ke::kNever, false);
    }
    try {
        run_entry(t);
    } catch (...) {  // abi::__forced_unwind from ExitThread / PsTerminateSystemThread; must be rethrown
        finish(t);
        system->os_threads.fetch_sub(1, std::memory_order_release);
        throw;
    }
    finish(t);
    system->os_threads.fetch_sub(1, std::memory_order_release);  // nothing of the runtime is touched after this
    return nullptr;
}

}  // namespace

KernelModeScope::KernelModeScope() : m_saved(t_previous_mode) { t_previous_mode = KernelMode; }
KernelModeScope::~KernelModeScope() { t_previous_mode = m_saved; }

void watch_thread_exit() {
    thread_local bool watched = false;
    if (watched) return;
    watched = true;
    pthread_once(&g_exit_key_once, [] { pthread_key_create(&g_exit_key, on_os_thread_exit); });
    pthread_setspecific(g_exit_key, reinterpret_cast<void*>(1));
}

void reference(_KTHREAD* t) { ob::reference(t); }
void dereference(_KTHREAD* t) { ob::dereference(t); }

_KTHREAD* current_thread() { return current_thread_inline(); }

_KTHREAD* adopt_current_thread() {
    System::Impl& s = sys();
    if (t_slot.thread && t_slot.generation == s.generation) return t_slot.thread;
    // Adopt: the runtime has not seen this thread (main thread, a test's std::thread).
    _ETHREAD* t = ob::create<_ETHREAD>(ob::g_thread_type);
    t->system = &s;
    t->tid = os_tid();
    if (!t_thread_id) t_thread_id = new_thread_id();
    t->id = t_thread_id;
    t->adopted = true;
    register_thread(s, t);
    {
        ke::Dispatcher::Guard g(s.dispatcher);
        s.dispatcher.thread_started_locked(t);
    }
    t_slot.thread = t;
    t_slot.generation = s.generation;
    watch_thread_exit();
    return t;
}

NTSTATUS create_thread(System::Impl& s, const StartInfo& info, _KTHREAD** out, HANDLE* handle, ACCESS_MASK access,
                       bool kernel_handle) {
    _ETHREAD* t = ob::create<_ETHREAD>(ob::g_thread_type);
    t->system = &s;
    t->entry = info.entry;
    t->start = info.start;
    t->context = info.context;
    t->system_thread = info.system_thread;
    t->driver = info.driver;
    t->id = new_thread_id();
    t->suspend_count = info.suspended ? 1 : 0;
    if (handle) {
        NTSTATUS st = s.handles.insert(t, access, kernel_handle, handle);
        if (!NT_SUCCESS(st)) {
            dereference(t);
            return st;
        }
        if (t->entry == _KTHREAD::Entry::crt) {
            t->auto_close_handle = true;
            t->self_handle = *handle;
        }
    }
    register_thread(s, t);
    reference(t);  // for the OS thread
    s.os_threads.fetch_add(1, std::memory_order_relaxed);
    {
        ke::Dispatcher::Guard g(s.dispatcher);
        s.dispatcher.thread_started_locked(t);
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    size_t stack = info.stack_size ? info.stack_size : size_t(8) << 20;  // deep StartIo recursion needs room
    if (stack < 256 * 1024) stack = 256 * 1024;
    pthread_attr_setstacksize(&attr, stack);
    pthread_t pt;
    int rc = pthread_create(&pt, &attr, trampoline, t);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        {
            ke::Dispatcher::Guard g(s.dispatcher);
            t->terminated = true;
            s.dispatcher.thread_ended_locked(t);
        }
        if (handle) s.handles.close(*handle, KernelMode);
        s.os_threads.fetch_sub(1, std::memory_order_relaxed);
        dereference(t);
        dereference(t);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    // Reports name a thread by its Linux tid too, from the start. Both threads count as
    // running meanwhile, so the virtual clock cannot move here.
    while (t->tid.load(std::memory_order_acquire) == 0) ke::futex_wait(t->tid, 0);
    *out = t;
    return STATUS_SUCCESS;
}

NTSTATUS open_thread_by_id(System::Impl& s, DWORD tid, ACCESS_MASK access, HANDLE* handle) {
    _KTHREAD* found = nullptr;
    {
        std::lock_guard g(s.threads_lock);
        for (LIST_ENTRY* e = s.threads.Flink; e != &s.threads; e = e->Flink) {
            auto* t = CONTAINING_RECORD(e, _KTHREAD, registry_entry);
            // The list holds no reference: a thread whose count already reached 0 is being
            // destroyed (and waits for this lock to leave the list), so it is not found.
            if (tid != 0 && t->id == tid && ob::reference_if_live(t)) {
                found = t;
                break;
            }
        }
    }
    if (!found) return STATUS_INVALID_CID;
    NTSTATUS st = s.handles.insert(found, access, false, handle);
    dereference(found);  // the handle holds its own reference
    return st;
}

uint32_t program_process_id() { return static_cast<uint32_t>(getpid()); }

_EPROCESS* process_of(const _KTHREAD* t) { return t->system_thread ? system_process_object() : process_object(); }

_EPROCESS* current_process() { return process_of(current_thread()); }

uint32_t new_thread_id() {
    // Ids are never reused; 2^30 threads would wrap the counter, which then skips the
    // small ids (Windows's idle and System processes own 0 and 4).
    static std::atomic<uint32_t> next{8};
    for (;;) {
        uint32_t id = next.fetch_add(4, std::memory_order_relaxed);
        if (id > kSystemProcessId && id != program_process_id()) return id;
    }
}

void cancel_program_io(System::Impl& s) {
    std::vector<_KTHREAD*> threads;
    {
        std::lock_guard g(s.threads_lock);
        for (LIST_ENTRY* e = s.threads.Flink; e != &s.threads; e = e->Flink) {
            auto* t = CONTAINING_RECORD(e, _KTHREAD, registry_entry);
            if (t->system_thread || t->terminated.load()) continue;
            reference(t);
            threads.push_back(t);
        }
    }
    // All are cancelled before any is waited for, as when the threads end together.
    std::vector<_KTHREAD*> waiting;
    std::vector<_KTHREAD*> in_call;  // inside a synchronous call: they wake into it
    for (_KTHREAD* t : threads) {
        bool synchronous = false;
        if (!io::cancel_thread_requests(t, &synchronous)) continue;
        waiting.push_back(t);
        if (synchronous) in_call.push_back(t);
    }
    for (_KTHREAD* t : waiting) io::wait_for_thread_requests(t);
    // A thread whose synchronous call was cancelled wakes in the call, drops the file
    // object's references (the last one sends IRP_MJ_CLOSE) and stops. Windows would
    // have ended it before anything was run down; here the exit waits until it has
    // stopped (or ended), so that the handles close, pending requests are judged and
    // drivers unload only after its close. Bounded, in case its driver returned from
    // dispatch without pending and the thread went back to the program's code.
    LARGE_INTEGER slice;
    slice.QuadPart = -100 * 10000;
    for (_KTHREAD* t : in_call) {
        void* objects[2] = {&t->stopped_at_exit, t};
        for (int slices = 0; slices < 50; ++slices)
            if (KeWaitForMultipleObjects(2, objects, WaitAny, Executive, KernelMode, FALSE, &slice, nullptr) !=
                STATUS_TIMEOUT)
                break;
    }
    for (_KTHREAD* t : threads) dereference(t);
}

std::atomic<bool> g_program_exiting{false};
namespace {
constinit thread_local bool t_runs_program_exit = false;
}

void begin_program_exit() {
    t_runs_program_exit = true;
    g_program_exiting.store(true);
}

void stop_if_program_thread() {
    if (t_runs_program_exit) return;
    _KTHREAD* t = current_thread();
    if (t->system_thread) return;
    ke::set_event(&t->stopped_at_exit);
    // Blocked as the dispatcher counts it, so that virtual time still moves for the
    // threads the exit waits for (a driver's system thread ending in DriverUnload).
    for (;;) t->system->dispatcher.wait(t, 0, nullptr, WaitAny, ke::kNever, false);
}

void exit_current_thread(uint32_t code) {
    _KTHREAD* t = current_thread();
    t->exit_code.store(code);
    pthread_exit(nullptr);
}

}  // namespace ntio::ps

// ---- Ps* -----------------------------------------------------------------------------
using ntio::sys;

extern "C" {

NTSTATUS PsCreateSystemThread(PHANDLE ThreadHandle, ULONG DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                              HANDLE ProcessHandle, PCLIENT_ID ClientId, PKSTART_ROUTINE StartRoutine,
                              PVOID StartContext) {
    (void)ProcessHandle;
    ntio::verifier::check_irql_at_most(PASSIVE_LEVEL, "PsCreateSystemThread");
    if (!ThreadHandle || !StartRoutine) return STATUS_INVALID_PARAMETER;
    ntio::ps::StartInfo info{_KTHREAD::Entry::system, reinterpret_cast<void*>(StartRoutine), StartContext, true, false,
                             0, ntio::verifier::drivers::attribute(reinterpret_cast<const void*>(StartRoutine))};
    // Drivers pass OBJ_KERNEL_HANDLE; without it the handle would land in the current
    // process's table, which in ntio is the same table, so only the flag differs.
    bool kernel = ObjectAttributes ? (ObjectAttributes->Attributes & OBJ_KERNEL_HANDLE) != 0 : true;
    _KTHREAD* t = nullptr;
    NTSTATUS st = ntio::ps::create_thread(sys(), info, &t, ThreadHandle, DesiredAccess ? DesiredAccess | SYNCHRONIZE
                                                                                          : THREAD_ALL_ACCESS,
                                          kernel);
    if (!NT_SUCCESS(st)) return st;
    if (ClientId) {  // S-PS-1: a system thread of the System process
        ClientId->UniqueProcess = reinterpret_cast<HANDLE>(static_cast<uintptr_t>(ntio::ps::kSystemProcessId));
        ClientId->UniqueThread = reinterpret_cast<HANDLE>(static_cast<uintptr_t>(t->id));
    }
    ntio::ps::dereference(t);
    return STATUS_SUCCESS;
}

NTSTATUS PsTerminateSystemThread(NTSTATUS ExitStatus) {
    _KTHREAD* t = ntio::ps::current_thread_if_known();
    if (!t || !t->system_thread) return STATUS_INVALID_PARAMETER;
    ntio::ps::exit_current_thread(static_cast<uint32_t>(ExitStatus));
}

// S-APC-1: queued to the thread behind the handle (the current thread's pseudo-handle
// included); it runs at that thread's next user-mode alertable wait.
// A NULL routine queues nothing and succeeds, unless the thread has ended, as Wine's
// test of Windows shows.
NTSTATUS NtQueueApcThread(HANDLE ThreadHandle, PPS_APC_ROUTINE ApcRoutine, PVOID ApcArgument1, PVOID ApcArgument2,
                          PVOID ApcArgument3) {
    void* body = nullptr;
    NTSTATUS s = ntio::ob::reference_by_handle(ThreadHandle, &ntio::ob::g_thread_type, ntio::ps::previous_mode(),
                                               THREAD_SET_CONTEXT, &body, nullptr);
    if (!NT_SUCCESS(s)) return s;
    auto* t = static_cast<_KTHREAD*>(body);
    if (!ApcRoutine)
        s = t->terminated.load() ? STATUS_UNSUCCESSFUL : STATUS_SUCCESS;
    else
        s = t->system->dispatcher.queue_user_apc(
            t, {reinterpret_cast<void*>(ApcRoutine), ApcArgument1, ApcArgument2, ApcArgument3, false});
    ntio::ob::dereference(body);
    return s;
}

// Runs the calling thread's queued user APCs (S-APC-2). ntio has no thread alerts, so
// the result is always STATUS_SUCCESS (Windows gives STATUS_ALERTED for a pending alert).
NTSTATUS NtTestAlert(VOID) {
    ntio::ke::deliver_user_apcs();
    return STATUS_SUCCESS;
}

PKTHREAD KeGetCurrentThread(VOID) { return ntio::ps::current_thread(); }
PETHREAD PsGetCurrentThread(VOID) { return static_cast<PETHREAD>(ntio::ps::current_thread()); }
HANDLE PsGetCurrentThreadId(VOID) {
    return reinterpret_cast<HANDLE>(static_cast<uintptr_t>(ntio::ps::current_thread()->id));
}
// S-PS-1: 4 on a system thread (DriverEntry, a driver's system thread, DPCs, work items),
// the program's process id on the program's threads.
HANDLE PsGetCurrentProcessId(VOID) {
    return reinterpret_cast<HANDLE>(static_cast<uintptr_t>(ntio::ps::process_id_of(ntio::ps::current_thread())));
}
HANDLE PsGetThreadId(PETHREAD Thread) { return reinterpret_cast<HANDLE>(static_cast<uintptr_t>(Thread->id)); }
HANDLE PsGetThreadProcessId(PETHREAD Thread) {
    return reinterpret_cast<HANDLE>(static_cast<uintptr_t>(ntio::ps::process_id_of(Thread)));
}
PEPROCESS PsGetThreadProcess(PETHREAD Thread) { return ntio::ps::process_of(Thread); }
PEPROCESS IoThreadToProcess(PETHREAD Thread) { return ntio::ps::process_of(Thread); }
BOOLEAN PsIsSystemThread(PETHREAD Thread) { return Thread->system_thread; }
KPROCESSOR_MODE ExGetPreviousMode(VOID) { return ntio::ps::previous_mode(); }
KPROCESSOR_MODE KeGetPreviousMode(VOID) { return ntio::ps::previous_mode(); }

// S-KE-25: the priority is recorded and returned, within Windows's range for a thread.
KPRIORITY KeSetPriorityThread(PKTHREAD Thread, KPRIORITY Priority) {
    if (Priority <= LOW_PRIORITY || Priority > HIGH_PRIORITY) {
        ntio::verifier::report(ntio::verifier::Check::InvalidParameter,
                               fmt::format("KeSetPriorityThread: priority {} is outside {}..{}; nothing changed",
                                           Priority, LOW_PRIORITY + 1, HIGH_PRIORITY));
        return Thread->priority.load();
    }
    return Thread->priority.exchange(Priority);
}

KPRIORITY KeQueryPriorityThread(PKTHREAD Thread) { return Thread->priority.load(); }

// The thread's stack as the C library placed it, asked once per thread (the bounds do
// not move). The main thread's lower bound follows its stack's size limit.
VOID IoGetStackLimits(PULONG_PTR LowLimit, PULONG_PTR HighLimit) {
    thread_local uintptr_t t_low = 0, t_high = 0;
    if (!t_high) {
        pthread_attr_t attr;
        void* base = nullptr;
        size_t size = 0;
        if (pthread_getattr_np(pthread_self(), &attr) == 0) {
            pthread_attr_getstack(&attr, &base, &size);
            pthread_attr_destroy(&attr);
        }
        t_low = reinterpret_cast<uintptr_t>(base);
        t_high = t_low + size;
    }
    *LowLimit = t_low;
    *HighLimit = t_high;
}

ULONG_PTR IoGetRemainingStackSize(VOID) {
    ULONG_PTR low, high;
    IoGetStackLimits(&low, &high);
    auto here = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
    return here > low ? here - low : 0;
}

}  // extern "C"
