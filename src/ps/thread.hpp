// Threads: one _KTHREAD per OS thread the runtime knows. Created by
// PsCreateSystemThread / CreateThread / _beginthread(ex), or adopted when a
// foreign thread (the main thread, a test's std::thread) first calls in.
//
// Ownership:   handle(s) ──ref──┐
//              running OS thread ─ref─► _KTHREAD ◄─ref── waker during unpark
// The thread object is signaled (Header.SignalState = 1) when it terminates.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>

#include "ke/dispatcher.hpp"
#include "system.hpp"
#include "windows.h"
#include "ntio/ntio.hpp"


struct _KTHREAD {
    DISPATCHER_HEADER Header;  // must stay first: waits take the thread as a dispatcher object

    ntio::System::Impl* system = nullptr;
    std::atomic<uint32_t> tid{0};  // Linux tid, published by the thread as it starts (reports name it)
    uint32_t id = 0;               // the thread id Windows code sees, from ntio's own counter (S-PS-2)
    bool system_thread = false;  // PsCreateSystemThread
    uint32_t driver = 0;         // the driver that started it (verifier/drivers.hpp), 0 if none or unknown
    bool adopted = false;        // not created by ntio; ends when its OS thread exits
    uint32_t number = 0;         // 1, 2, ... in the order the runtime met its threads (traces)
    bool counted = false;        // counted in the clock's running total (guarded by the dispatcher lock)
    std::atomic<bool> terminated{false};
    bool auto_close_handle = false;  // _beginthread
    HANDLE self_handle = nullptr;    // _beginthread's handle, closed at exit

    // Wait state, guarded by the dispatcher lock.
    ntio::ke::WaitBlock wait_blocks[MAXIMUM_WAIT_OBJECTS];
    uint32_t wait_count = 0;
    bool waiting = false;
    NTSTATUS wait_status = STATUS_SUCCESS;
    KTIMER wait_timer{};  // virtual clock only: the wait's timeout in the timer queue
    std::atomic<uint32_t> park{0};
    // I/O completion port association (S-W32-16), guarded by the dispatcher lock: the
    // queue this thread last removed packets from and its link in that queue's thread
    // list; whether its running slot there is given back while it waits; the packet
    // an inserter hands it directly.
    ntio::ke::Queue* queue = nullptr;
    LIST_ENTRY queue_link{};
    bool queue_slot_released = false;
    ntio::ke::QueuePacket queue_packet{};
    // User APCs (ke/apc.cpp), guarded by the dispatcher lock: the routines queued to
    // this thread, oldest first (ke::UserApcNode), and whether its current wait is a
    // user-mode alertable one, which a newly queued APC ends with STATUS_USER_APC.
    LIST_ENTRY user_apcs;
    bool alertable = false;

    LIST_ENTRY owned_mutants;  // KMUTANTs this thread owns
    LIST_ENTRY irp_list;       // IRPs this thread issued (S-CAN-8/12), under irp_lock
    ntio::ke::SpinLock irp_lock;
    // One more IRP this thread issued, kept beside irp_list: the request in flight
    // when the list is otherwise idle, which its issuer usually completes inside its
    // own call. Listing and retiring it then take one store and one compare-exchange
    // instead of two round trips of irp_lock. The IRP's address, with bit 0
    // (io::kSlotSeen) set once a walker of irp_list has seen it. Only this thread puts
    // an IRP in the slot (when it is empty); only its own completion takes an unseen
    // one out without irp_lock; every walker looks at the slot too, under irp_lock,
    // and marks what it finds, so that the IRP's retirement then takes the lock and
    // sees the walker's cancel holds (io::slot_irp_locked). Walkers never touch the
    // slot IRP's links: its issuer's driver may be reading them.
    std::atomic<uintptr_t> irp_slot{0};
    // What the slot's IRP has in ThreadListEntry, so that drivers see it queued to its
    // thread (not an empty list) as they do for listed IRPs. Never written after
    // construction; nothing walks from an IRP's ThreadListEntry.
    LIST_ENTRY irp_slot_mark;
    // Exit (S-CAN-12): while the thread waits for its cancelled IRPs, whoever takes
    // the last one off irp_list sets irps_gone (under irp_lock, so the thread cannot
    // leave before the setter is done with it).
    bool irp_drain_waiting = false;  // under irp_lock
    // IRPs off irp_list whose completion (on another thread) has not yet notified
    // the caller; the thread may not end before they have (under irp_lock).
    uint32_t irps_finishing = 0;
    KEVENT irps_gone;
    // Set when the thread stops for the program's exit (ps::stop_if_program_thread):
    // the exit waits for it before it closes handles (ps::cancel_program_io).
    KEVENT stopped_at_exit;
    // DPCs it queued at DISPATCH_LEVEL or above, until it lowers its IRQL (under the
    // dispatcher's lock; ke::Dispatcher::queue_dpc_held).
    LIST_ENTRY held_dpcs;
    LIST_ENTRY registry_entry; // System::m_threads

    // Start.
    enum class Entry { none, system, win32, crt, crt_ex } entry = Entry::none;
    void* start = nullptr;
    void* context = nullptr;
    KEVENT resume_gate;  // CREATE_SUSPENDED
    LONG suspend_count = 0;

    std::atomic<uint32_t> exit_code{STILL_ACTIVE};
    std::atomic<KPRIORITY> priority{8};  // KeSetPriorityThread's (S-KE-25); the host scheduler never sees it

    _KTHREAD();
    ~_KTHREAD();  // frees the APCs still queued (a thread the runtime outlived)
    _KTHREAD(const _KTHREAD&) = delete;
    _KTHREAD& operator=(const _KTHREAD&) = delete;
};

struct _ETHREAD : _KTHREAD {};

namespace ntio::ps {

// The calling thread's record for the runtime of `generation` (ps/thread.cpp). Inline
// below: every request asks for it.
struct ThreadSlot {
    _KTHREAD* thread;
    uint64_t generation;
};
extern constinit thread_local ThreadSlot t_slot;
_KTHREAD* adopt_current_thread();

// The calling thread's record, adopting the thread if the runtime has not seen it.
_KTHREAD* current_thread();
// The same inline, for the request path (elsewhere the call keeps callers small).
[[gnu::always_inline]] inline _KTHREAD* current_thread_inline() {
    System::Impl* s = sys_if_exists();
    if (t_slot.thread && s && t_slot.generation == s->generation) [[likely]]
        return t_slot.thread;
    return adopt_current_thread();
}
// Without adopting: nullptr for a thread the runtime has not seen.
[[gnu::always_inline]] inline _KTHREAD* current_thread_if_known() {
    System::Impl* s = sys_if_exists();
    if (t_slot.thread && s && t_slot.generation == s->generation) return t_slot.thread;
    return nullptr;
}

void reference(_KTHREAD* t);
void dereference(_KTHREAD* t);

struct StartInfo {
    _KTHREAD::Entry entry;
    void* start;
    void* context;
    bool system_thread;
    bool suspended;
    size_t stack_size;
    uint32_t driver = 0;  // PsCreateSystemThread: the driver starting it (verifier/drivers.hpp)
};
// S-PS-1: the System process, which system threads (DriverEntry's, a driver's own,
// the DPC thread, the worker threads) belong to, has id 4; the program's threads belong
// to the program's process, whose id is the Linux process id.
constexpr uint32_t kSystemProcessId = 4;
uint32_t program_process_id();
inline uint32_t process_id_of(const _KTHREAD* t) {
    return t->system_thread ? kSystemProcessId : program_process_id();
}
_EPROCESS* process_of(const _KTHREAD* t);
// The calling thread's process (adopting the thread if the runtime has not seen it).
_EPROCESS* current_process();
// S-PS-2: a new thread id: a multiple of 4 from 8 up, never 4 (System) nor the program's
// process id, so that no thread id equals a process id.
uint32_t new_thread_id();

// Creates and starts a thread. With `handle`, a handle is inserted before the thread starts.
// *out gets one reference for the caller.
NTSTATUS create_thread(System::Impl& sys, const StartInfo& info, _KTHREAD** out, HANDLE* handle = nullptr,
                       ACCESS_MASK access = THREAD_ALL_ACCESS, bool kernel_handle = false);
// Arranges for the runtime's per-thread state to be released when the calling OS
// thread ends (not at process exit).
void watch_thread_exit();
// The process exits (S-CAN-12): Windows ends each of its threads, and every request
// they issued is cancelled and waited for, before its handles close. Threads of the
// program (not system threads) are not ended here, but their requests are cancelled
// all the same, the calling thread's included, and those that get back from a wait
// stop there (stop_if_program_thread).
void cancel_program_io(System::Impl& s);
// A user handle to the thread with this id (its `id`), whose object still exists (OpenThread);
// STATUS_INVALID_CID when there is none.
NTSTATUS open_thread_by_id(System::Impl& s, DWORD tid, ACCESS_MASK access, HANDLE* handle);

// The process is exiting: set by the thread that runs the exit (begin_program_exit).
// Windows ends every other thread of the program before it runs anything down; ntio
// cannot end a thread, so a program thread that gets back from a wait while the process
// exits (its request cancelled, its event set by a completion, its sleep over) stops
// there instead of running its own code again: it blocks for good, holding nothing of
// the runtime's, and ends with the process (S-CAN-12). The exiting thread and system
// threads go on.
extern std::atomic<bool> g_program_exiting;
void begin_program_exit();
[[gnu::cold, gnu::noinline]] void stop_if_program_thread();
inline void stop_if_program_exiting() {
    if (g_program_exiting.load(std::memory_order_relaxed)) [[unlikely]]
        stop_if_program_thread();
}

// The previous mode of the current call: UserMode for requests from application
// threads, KernelMode on system threads and inside Zw* calls (as on Windows).
extern constinit thread_local KPROCESSOR_MODE t_previous_mode;
inline KPROCESSOR_MODE previous_mode() { return t_previous_mode; }
class KernelModeScope {
public:
    KernelModeScope();
    ~KernelModeScope();
    KernelModeScope(const KernelModeScope&) = delete;
    KernelModeScope& operator=(const KernelModeScope&) = delete;

private:
    KPROCESSOR_MODE m_saved;
};
// Ends the calling thread (ExitThread, PsTerminateSystemThread).
[[noreturn]] void exit_current_thread(uint32_t code);

}  // namespace ntio::ps
