// The dispatcher: one lock over every waitable object's state, wait blocks,
// the timer queue, the DPC queue and the clock's running-thread count.
//
// Why one lock: NT's dispatcher database lock gives WaitAll atomicity and
// race-free timeouts for free, and every critical section here is a few dozen
// instructions. Nothing blocks or calls driver code while holding it.
//
// Virtual time (style.md point 10): the clock counts managed threads that are
// not blocked in a runtime wait (m_running). The thread whose blocking brings
// the count to zero is the single idle point: it moves virtual time to the
// earliest deadline and fires everything due (process_until), which makes
// waiters runnable again. Time never moves while any managed thread runs.
#pragma once
#include <atomic>
#include <cstdint>
#include <vector>

#include "ke/spin.hpp"
#include "wdm.h"

struct _KTHREAD;

namespace ntio::ke {

// KOBJECTS values kept in DISPATCHER_HEADER::Type.
enum ObjectKind : uint8_t {
    kEventNotification = 0,
    kEventSynchronization = 1,
    kMutant = 2,
    kProcess = 3,
    kQueue = 4,  // a kernel queue (I/O completion port); see Queue below
    kSemaphore = 5,
    kThread = 6,
    kTimerNotification = 8,
    kTimerSynchronization = 9,
    kWaitTimeout = 0x20,  // a thread's private wait timer (virtual clock only)
    kAddressBucket = 0x21,  // a list of address waits (Dispatcher::wait_address), never signaled
};

enum class ClockMode { real, virtual_ };

struct WaitBlock {
    LIST_ENTRY entry;  // in the object's WaitListHead
    DISPATCHER_HEADER* object;
    _KTHREAD* thread;
    const volatile void* address;  // an address wait's address (object is its bucket)
    uint16_t key;
    uint8_t wait_type;  // WaitAny or WaitAll
};

// SignalState is written under the dispatcher lock but may be read without it (a
// signaled notification object satisfies a wait with a plain load), hence the
// release store.
inline void set_signal_state(DISPATCHER_HEADER* h, LONG v) { __atomic_store_n(&h->SignalState, v, __ATOMIC_RELEASE); }
inline LONG signal_state(const DISPATCHER_HEADER* h) { return __atomic_load_n(&h->SignalState, __ATOMIC_ACQUIRE); }
// A read under the dispatcher lock (atomic only because lock-free writers exist).
inline LONG state_of(const DISPATCHER_HEADER* h) { return __atomic_load_n(&h->SignalState, __ATOMIC_RELAXED); }

// ---- kernel queues (NT's KQUEUE): what an I/O completion port is made of -------------
// One completion as GetQueuedCompletionStatus returns it.
struct QueuePacket {
    ULONG_PTR key;
    void* context;  // the request's ApcContext (its OVERLAPPED), or what PostQueuedCompletionStatus gave
    NTSTATUS status;
    ULONG_PTR information;
};

// A queued packet. Nodes are recycled through the queue's spare list, so queueing
// allocates only while the queue grows past its deepest point so far.
struct QueueNode {
    LIST_ENTRY link;
    QueuePacket packet;
};

// Everything below is guarded by the dispatcher lock.
//
//   packets   FIFO of QueueNodes; Header.SignalState is their number, so an ordinary
//             wait on the queue is satisfied while packets wait (and consumes none)
//   removers  wait blocks of threads blocked in remove_queue, newest first: a packet
//             goes to the thread that waited last (LIFO wake-up, S-W32-16)
//   threads   _KTHREADs associated with the queue (_KTHREAD::queue): each one that
//             is not blocked in a wait counts in current_count, and a packet is
//             handed out only while current_count < maximum_count
struct Queue {
    DISPATCHER_HEADER Header;
    LIST_ENTRY packets;
    LIST_ENTRY removers;
    LIST_ENTRY threads;
    QueueNode* spare = nullptr;  // chained through link.Flink
    uint32_t spare_count = 0;
    uint32_t current_count = 0;
    uint32_t maximum_count = 1;
    bool closed = false;  // run down: packets are discarded, removers are refused
};

// ---- user APCs (ke/apc.cpp) ------------------------------------------------------------
// A user-mode APC: NT's KAPC reduced to what a user APC carries to its thread. `io` ones
// are I/O completions (PIO_APC_ROUTINE: context, status block, 0); the others are
// NtQueueApcThread's (three arguments).
struct UserApc {
    void* routine;
    void* context;
    void* argument1;
    void* argument2;
    bool io;
};
struct UserApcNode {
    LIST_ENTRY link;  // in _KTHREAD::user_apcs, or chained through Flink in the spare list
    UserApc apc;
};

// Time in 100 ns units ("interrupt time"), as NT counts it.
using Ticks = int64_t;
constexpr Ticks kTicksPerMs = 10000;
constexpr Ticks kNever = INT64_MAX;

// Releases the calling thread's dispatcher state as its OS thread ends.
void thread_exit_cleanup();

class Dispatcher {
public:
    // wait_spin: how many pause iterations a blocking wait polls before it parks in
    // the kernel (see Options::wait_spin).
    // stall_warning_ms: virtual clock only; after this much real time without any
    // dispatcher activity while the clock cannot move, explain why once (0 = never).
    Dispatcher(ClockMode mode, int wait_spin, int stall_warning_ms = 0);
    ~Dispatcher();
    Dispatcher(const Dispatcher&) = delete;
    Dispatcher& operator=(const Dispatcher&) = delete;

    ClockMode clock_mode() const { return m_mode; }
    bool is_virtual() const { return m_mode == ClockMode::virtual_; }

    // Interrupt time (100 ns since the clock's origin) and system time (100 ns since 1601).
    Ticks now() const;
    Ticks system_time() const { return m_system_time_origin + (now() - m_interrupt_origin); }
    Ticks interrupt_origin() const { return m_interrupt_origin; }
    // Deadline in interrupt time for an NT timeout (negative relative, positive absolute).
    Ticks deadline_for(LONGLONG timeout) const;

    // ---- the lock ---------------------------------------------------------
    // Threads made runnable while the lock is held are woken after unlock.
    class Guard {
    public:
        explicit Guard(Dispatcher& d) : m_d(d) { m_d.lock(); }
        ~Guard() { m_d.unlock(); }
        Guard(const Guard&) = delete;
        Guard& operator=(const Guard&) = delete;

    private:
        Dispatcher& m_d;
    };
    void lock();
    void unlock();

    // ---- object state (caller holds the lock) --------------------------------
    static bool is_signaled_locked(const DISPATCHER_HEADER* object, const _KTHREAD* thread);
    // Consumes one signal for `thread`; returns true when a mutant was abandoned.
    bool consume_locked(DISPATCHER_HEADER* object, _KTHREAD* thread);
    // Satisfies waits on `object` now that it may be signaled.
    void wait_test_locked(DISPATCHER_HEADER* object);
    // Ends `thread`'s wait with `status`: unlinks its wait blocks and timer, counts it
    // running again and schedules its wake-up for when the lock is released.
    void unwait_locked(_KTHREAD* thread, NTSTATUS status);

    // ---- waiting ------------------------------------------------------------
    // Satisfies a wait on one object at once when it can, without needing the
    // calling thread: a signaled notification object (event, timer, thread) with a
    // plain load, a signaled synchronization event/timer or semaphore under the
    // lock. Returns STATUS_PENDING when the caller has to take the full path.
    NTSTATUS try_wait_one(DISPATCHER_HEADER* object);
    // The one wait primitive under KeWait*, NtWait*, Sleep and KeDelayExecutionThread.
    // `deadline` is kNever for no timeout; a count of 0 with a deadline is a delay.
    // `alertable`: a user-mode alertable wait (S-KE-9): once the objects are found not
    // signaled, a queued user APC ends it at once with STATUS_USER_APC, before the
    // timeout is looked at, and one queued while it blocks ends it too. The caller runs
    // the APCs (deliver_user_apcs).
    NTSTATUS wait(_KTHREAD* self, ULONG count, DISPATCHER_HEADER* const* objects, WAIT_TYPE type, Ticks deadline,
                  bool poll, bool alertable = false);

    // ---- address waits (ke/address_wait.cpp) ----------------------------------------------
    // WaitOnAddress and the application locks built on it: blocks `self` while the
    // `size` bytes (1, 2, 4 or 8) at `address` equal those at `compare`, until
    // wake_address or `deadline`. STATUS_SUCCESS when woken or when the value differed at
    // once; STATUS_TIMEOUT. The wait counts as blocked for the virtual clock, as every
    // dispatcher wait does. A waker changes the value first, then calls wake_address.
    NTSTATUS wait_address(_KTHREAD* self, const volatile void* address, const void* compare, size_t size,
                          Ticks deadline);
    // Wakes the longest waiting thread on `address`, or all of them. Takes no lock when
    // nobody waits on the address's bucket.
    void wake_address(const volatile void* address, bool all);

    // ---- user APCs (ke/apc.cpp) ---------------------------------------------------------
    // Queues `apc` to `thread`, ending its alertable wait. STATUS_UNSUCCESSFUL once the
    // thread has terminated; STATUS_NO_MEMORY when no node could be allocated.
    NTSTATUS queue_user_apc(_KTHREAD* thread, const UserApc& apc);
    // Takes the oldest APC queued to `self`; false when there is none.
    bool take_user_apc(_KTHREAD* self, UserApc* out);
    bool has_user_apcs(_KTHREAD* self);
    // The thread terminated: its queued APCs are dropped, never run (caller holds the lock).
    void discard_user_apcs_locked(_KTHREAD* thread);

    // ---- kernel queues (ke/queue.cpp) ------------------------------------------------
    // maximum_count 0 means the number of processors.
    static void init_queue(Queue* q, ULONG maximum_count);
    // Hands `packet` to the thread that waited last if the concurrency limit allows,
    // else queues it. A queue that was run down drops it. STATUS_INSUFFICIENT_RESOURCES
    // when no node could be allocated.
    NTSTATUS insert_queue(Queue* q, const QueuePacket& packet);
    // Removes up to `capacity` packets (at least one) for `self`, associating it with
    // the queue. Waits until `deadline` (kNever: no timeout) unless `poll`. Returns
    // STATUS_SUCCESS with *removed >= 1, STATUS_TIMEOUT, or STATUS_ABANDONED_WAIT_0
    // when the queue is (or gets) run down.
    // `alertable` as for wait(): packets first, then queued user APCs (STATUS_USER_APC).
    NTSTATUS remove_queue(_KTHREAD* self, Queue* q, QueuePacket* out, ULONG capacity, ULONG* removed, Ticks deadline,
                          bool poll, bool alertable = false);
    // Closes the queue for good (its last handle went): removers return
    // STATUS_ABANDONED_WAIT_0, associated threads are let go, queued packets are
    // discarded. Returns how many were discarded. Idempotent.
    size_t rundown_queue(Queue* q);
    // Frees a queue's nodes, queued or spare, once nobody can reach it any more.
    static void free_queue_nodes(Queue* q);

    // ---- timers and DPCs (KTIMER/KDPC) ----------------------------------------------
    // `period` in 100-ns ticks (0: one expiry), so ExSetTimer's periods stay exact under
    // the virtual clock; KeSetTimerEx's milliseconds are multiplied by kTicksPerMs.
    bool set_timer(KTIMER* timer, Ticks due, Ticks period, KDPC* dpc);
    bool cancel_timer(KTIMER* timer);
    // If `timer` is set, makes its next expiry its last (a periodic timer stops after
    // it) and returns true; false when it is not set. ExDeleteTimer without Cancel.
    bool make_last_expiry(KTIMER* timer);
    // Whether `timer` is set or `dpc` queued, read together under the lock: once both
    // are false and nobody can set the timer again, neither will touch them any more.
    bool timer_or_dpc_pending(const KTIMER* timer, const KDPC* dpc);
    bool queue_dpc(KDPC* dpc, void* arg1, void* arg2);
    // KeInsertQueueDpc from a thread at DISPATCH_LEVEL or above (S-DPC-1): as on Windows,
    // where the DPC goes to the current processor's queue, it cannot run before that
    // thread lowers its IRQL below DISPATCH_LEVEL. It counts as queued (a second insert
    // returns false, KeRemoveQueueDpc takes it) but waits on `holder`'s list until
    // release_held_dpcs, which KeLowerIrql calls.
    bool queue_dpc_held(KDPC* dpc, void* arg1, void* arg2, _KTHREAD* holder);
    void release_held_dpcs(_KTHREAD* holder);
    bool remove_dpc(KDPC* dpc);
    void flush_dpcs();
    // Cancels, in one pass under the lock, every KTIMER set and every DPC queued that
    // [begin, end) holds: by the DPC's routine (code of a driver that unloads, verifier
    // TimerLeftAtUnload), or by where the KTIMER or KDPC itself lives (memory being freed,
    // TIMER_OR_DPC_INVALID). Returns what it cancelled; the caller then flushes the DPCs
    // when one that is already running must have ended too.
    struct PendingDpc {
        KTIMER* timer;  // null for a queued DPC
        KDPC* dpc;
        PKDEFERRED_ROUTINE routine;
    };
    enum class DpcMatch { routine, object };
    std::vector<PendingDpc> cancel_dpcs_in(DpcMatch match, uintptr_t begin, uintptr_t end);
    // Whether any KTIMER is set (wait timeouts aside) or any DPC queued: lets a free skip
    // the scan above when there is nothing to find.
    bool any_timer_or_dpc() const { return m_dpc_timers.load(std::memory_order_relaxed) > 0 || m_dpcs_queued.load(std::memory_order_relaxed) > 0; }

    // ---- thread accounting for the virtual clock ---------------------------------
    void thread_started_locked(_KTHREAD* thread);  // counts it running
    void thread_ended_locked(_KTHREAD* thread);    // stops counting it
    void inhibit();                                // one more "running" holder
    void release_inhibit();
    int running() const { return m_running.load(std::memory_order_relaxed); }

    // ---- test control (virtual clock) --------------------------------------------------
    void set_auto_advance(bool on);
    bool auto_advance() const { return m_auto_advance; }
    // Moves virtual time forward by `delta`, firing every expiry in between in order.
    void advance(Ticks delta);
    // Blocks the caller until every other managed thread is blocked and nothing is
    // due at the current virtual time. Returns the number of timers still pending.
    size_t run_until_idle(_KTHREAD* self);
    size_t pending_timers() const;

    // DPC worker body (runs on the runtime's DPC thread).
    void dpc_loop(_KTHREAD* self);
    void stop_dpc_thread();
    // Real-clock timer thread body.
    void clock_loop();

private:
    // Blocks `self`, whose wait blocks are linked, until unwait_locked; releases the lock.
    NTSTATUS block_locked(_KTHREAD* self, Ticks deadline, bool alertable);
    // A user-mode alertable wait that finds a user APC queued (lock held).
    static bool user_apc_ends_wait_locked(const _KTHREAD* self, bool alertable);
    void free_spare_apcs();
    // A thread associated with `q` stops running (it blocks, leaves for another queue
    // or exits): one slot frees, and a waiting remover may take a queued packet.
    void queue_thread_stopped_locked(Queue* q);
    void leave_queue_locked(_KTHREAD* t);
    NTSTATUS try_satisfy_locked(_KTHREAD* self, ULONG count, DISPATCHER_HEADER* const* objects, WAIT_TYPE type);
    void remove_wait_blocks_locked(_KTHREAD* t);
    void idle_point_locked();
    void process_until_locked(Ticks now);
    void expire_locked(KTIMER* timer, Ticks now);
    void insert_timer_locked(KTIMER* timer);
    void remove_timer_locked(KTIMER* timer);
    bool queue_dpc_locked(KDPC* dpc, void* arg1, void* arg2);
    void thread_blocked_locked();
    void wake_deferred();
    void ensure_clock_thread_locked();
    void watchdog_loop();

    // Read-mostly, on a line apart from the lock's (every wait reads them).
    ClockMode m_mode;
    int m_wait_spin;
    int m_stall_warning_ms;
    Ticks m_interrupt_origin;   // now() at construction
    Ticks m_system_time_origin; // system time at construction

    // The lock, on a line of its own with what its holders write.
    alignas(64) SpinLock m_lock;
    std::atomic<uint64_t> m_activity{0};  // bumped (without an RMW) by every lock holder
    std::atomic<Ticks> m_virtual_now{0};

    LIST_ENTRY m_timers;  // sorted by DueTime, KTIMERs and virtual wait timers
    size_t m_timer_count = 0;
    std::atomic<int> m_dpc_timers{0};   // KTIMERs set (wait timeouts aside): any_timer_or_dpc()
    std::atomic<int> m_dpcs_queued{0};  // DPCs in m_dpcs
    LIST_ENTRY m_dpcs;
    KEVENT m_dpc_event;  // synchronization event the DPC thread waits on
    bool m_dpc_stop = false;
    std::atomic<uint32_t> m_dpc_active{0};

    std::atomic<int> m_running{0};
    bool m_auto_advance = true;
    _KTHREAD* m_idle_waiter = nullptr;

    // Address waits hash into these buckets, as futexes do: a waiter's block goes on its
    // bucket's WaitListHead with the address beside it.
    static constexpr size_t kAddressBuckets = 64;
    DISPATCHER_HEADER m_address_buckets[kAddressBuckets];
    DISPATCHER_HEADER* address_bucket(const volatile void* address);

    // Spare UserApcNodes (chained through link.Flink), so that an APC completion
    // allocates nothing once the deepest queue so far has been reached.
    UserApcNode* m_apc_spare = nullptr;
    uint32_t m_apc_spare_count = 0;

    // Wakes owed by the current lock holder, issued after unlock.
    std::vector<_KTHREAD*> m_deferred_wakes;

    // Real clock: a thread sleeping until the earliest KTIMER deadline.
    std::atomic<uint32_t> m_clock_seq{0};
    bool m_clock_seq_kick = false;
    bool m_clock_thread_started = false;
    bool m_clock_stop = false;
    void* m_clock_thread = nullptr;  // std::thread*

    // Virtual clock watchdog: a plain (unmanaged) thread that notices a clock that
    // cannot move and says why, instead of leaving a silent hang.
    std::atomic<uint32_t> m_watchdog_stop{0};
    void* m_watchdog = nullptr;  // std::thread*
};

}  // namespace ntio::ke
