// The Win32 thread pool (S-TP-1..30, S-TQ-1..6): the default pool and private pools
// (CreateThreadpool), their work, simple, I/O, wait and timer objects, cleanup groups,
// the callback instance's on-return actions, QueueUserWorkItem, BindIoCompletionCallback,
// RegisterWaitForSingleObject and timer queues.
//
// Ownership:
//   System::Impl::thread_pool ─▶ the default Pool ─▶ (registry) the private pools not ended
//   a Pool ◀─(sink context)─ its CompletionPort (no handle)
//   the Pool's own reference, each bound FILE_OBJECT's and each of its threads' ─▶ CompletionPort
//   the port's last reference gone → the Pool is freed (so a late completion on a
//                                    file still bound, or a worker still ending, never
//                                    finds it gone)
//   a private pool drops its own reference when it ends: once CloseThreadpool was called
//   and its last object is freed (or at the runtime's teardown).
//   an object (TP_WORK, TP_IO, ...) is freed once it is closed, has nothing queued,
//   announced or running, is not armed (wait, timer), nobody pins it, and (I/O) its file
//   object's binding has gone.
//   an object in a cleanup group ─ref─▶ the group (until the object is freed); the
//   program holds one more until CloseThreadpoolCleanupGroup.
//   a queue timer counts in its TimerQueue; a deleted queue goes with its last timer.
//   an armed wait ─ref─▶ the object it waits on; a waiter thread also holds one on each
//   object it is blocked on, for the length of that wait.
//
// Waits and timers are served by waiter threads of each pool's own (Pool::serve), each
// blocked in one dispatcher wait on up to 63 objects plus its control event, with the
// earliest timeout among its waits (and, for the first one, its timers) as deadline, so
// an idle process with only a pending timer lets the virtual clock jump to it.
//
// Every count below is guarded by Pool::lock, a spin lock never held across a wait or a
// callback; an object's `idle` event is kept in step with its counts under that lock.
// Lock order: a cleanup group's lock, then a pool's.
#include "win32/threadpool.hpp"

#include <algorithm>
#include <atomic>
#include <vector>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <unistd.h>

#include "io/completion_port.hpp"
#include "ke/objects.hpp"
#include "ke/spin.hpp"
#include "ob/services.hpp"
#include "ps/thread.hpp"
#include "win32/win32.hpp"
#include "wdm.h"

using namespace ntio::win32;
using ntio::sys;
namespace io = ntio::io;
namespace ps = ntio::ps;
namespace ke = ntio::ke;
namespace ob = ntio::ob;

namespace ntio::win32::tp {

enum class Kind : unsigned char {
    work,       // CreateThreadpoolWork
    simple,     // TrySubmitThreadpoolCallback: runs once, then freed
    user_work,  // QueueUserWorkItem: the same with a thread routine
    io,         // CreateThreadpoolIo
    bound_io,   // BindIoCompletionCallback: every completion, for as long as the file lives
    wait,             // CreateThreadpoolWait
    timer,            // CreateThreadpoolTimer
    registered_wait,  // RegisterWaitForSingleObject
    queue_timer,      // CreateTimerQueueTimer
};

struct Pool;
struct Waiter;
struct TimerQueue;

// A waiter thread serves at most this many waits: with its control event, the most a
// dispatcher wait takes (MAXIMUM_WAIT_OBJECTS), as Windows's wait threads do.
constexpr size_t kWaitsPerThread = MAXIMUM_WAIT_OBJECTS - 1;

// The callback priorities, each with its own ready list (S-TP-27).
constexpr unsigned kPriorities = TP_CALLBACK_PRIORITY_COUNT;

// One completed request waiting for its I/O callback; for a wait, one callback to run
// with its result (WAIT_OBJECT_0 or WAIT_TIMEOUT) in `information`.
struct Completion {
    Completion* next;
    void* overlapped;
    NTSTATUS status;
    ULONG_PTR information;
};

struct Object {
    Kind kind;
    unsigned char priority = TP_CALLBACK_PRIORITY_NORMAL;
    Pool* pool = nullptr;
    void* callback = nullptr;
    void* context = nullptr;
    LIST_ENTRY ready_link{};  // in one of Pool::ready while it has a callback to start
    bool in_ready = false;
    uint32_t submitted = 0;  // work: runs submitted and not started
    Completion* head = nullptr;  // io: completions arrived and not started, oldest first
    Completion* tail = nullptr;
    uint32_t queued = 0;
    uint32_t started = 0;  // io: operations announced by StartThreadpoolIo that have not arrived
    uint32_t running = 0;  // callbacks running and still associated (what WaitFor... waits for)
    uint32_t active = 0;   // callbacks running, associated or not (what keeps the memory)
    uint32_t pins = 0;     // threads that keep the memory while they look at it (cleanup, queue deletion)
    bool closed = false;
    bool app_closed = false;  // closed by the program itself (Close..., UnregisterWait, Delete...)
    bool dying = false;       // unlinked from the pool: its freer owns it
    bool ends_pool = false;   // its freeing ends a closed private pool (its last object)
    bool bound = false;       // io: the file object's binding still points here
    bool reported = false;    // io: an unannounced completion was reported once
    LIST_ENTRY pool_link{};   // Pool::objects
    KEVENT idle;              // notification: signaled when nothing is queued, announced or running
    // Cleanup groups (S-TP-24..26):
    _TP_CLEANUP_GROUP* group = nullptr;  // one reference while the object lives
    LIST_ENTRY group_link{};             // the group's members, while in_group
    bool in_group = false;
    PTP_CLEANUP_GROUP_CANCEL_CALLBACK cancel_callback = nullptr;
    // Waits and timers (S-TP-13..20):
    bool armed = false;             // a wait pending, a timer set
    bool in_server = false;         // WT_EXECUTEINWAITTHREAD / WT_EXECUTEINTIMERTHREAD (S-TQ-5)
    void* waited = nullptr;         // wait kinds, while armed: the object waited on (one reference)
    Waiter* waiter = nullptr;       // wait kinds, while armed: the thread serving it
    ke::Ticks due = ke::kNever;     // a wait's timeout, a timer's next expiry (interrupt time)
    ke::Ticks period = 0;           // timers: 0 for a single expiry
    DWORD timeout_ms = INFINITE;    // registered wait: the timeout of each wait
    bool once = false;              // registered wait: WT_EXECUTEONLYONCE
    uint64_t arm_seq = 0;           // which arming a waiter's snapshot saw
    HANDLE done_event = nullptr;    // UnregisterWaitEx / DeleteTimerQueueTimer: set once freed
    TimerQueue* queue = nullptr;    // queue timers on a queue of CreateTimerQueue's

    explicit Object(Kind k) : kind(k) { KeInitializeEvent(&idle, NotificationEvent, TRUE); }
    bool busy() const { return submitted || queued || started || running; }
    bool freeable() const { return closed && !bound && !armed && !busy() && !active && !pins && !dying; }
    bool is_wait() const { return kind == Kind::wait || kind == Kind::registered_wait; }
    bool is_timer() const { return kind == Kind::timer || kind == Kind::queue_timer; }
};

// A waiter thread's share of the waits.
struct Waiter {
    Pool* pool;
    KEVENT control;              // synchronization: its waits or the timers changed, or the pool stops
    std::vector<Object*> waits;  // armed waits it serves, at most kWaitsPerThread
    explicit Waiter(Pool* p) : pool(p) {
        KeInitializeEvent(&control, SynchronizationEvent, FALSE);
        waits.reserve(kWaitsPerThread);
    }
};

// A timer queue of CreateTimerQueue's (S-TQ-1..4): its timers are the default pool's
// queue timers naming it. Guarded by the default pool's lock.
struct TimerQueue {
    Pool* pool;               // the default pool
    uint32_t live = 0;        // its timers not yet freed
    bool deleted = false;     // DeleteTimerQueueEx: freed with its last timer
    HANDLE done = nullptr;    // DeleteTimerQueueEx's event, set when the queue is freed
};

}  // namespace ntio::win32::tp

struct _TP_WORK : ntio::win32::tp::Object {
    using Object::Object;
};
struct _TP_IO : ntio::win32::tp::Object {
    using Object::Object;
};
struct _TP_WAIT : ntio::win32::tp::Object {
    using Object::Object;
};
struct _TP_TIMER : ntio::win32::tp::Object {
    using Object::Object;
};

// What a callback asked to happen when it returns (S-TP-6).
struct _TP_CALLBACK_INSTANCE {
    ntio::win32::tp::Object* object;
    HANDLE event = nullptr;
    HANDLE semaphore = nullptr;
    DWORD semaphore_count = 0;
    HANDLE mutex = nullptr;
    PCRITICAL_SECTION critical_section = nullptr;
    bool disassociated = false;
};

// A cleanup group (S-TP-24..26).
struct _TP_CLEANUP_GROUP {
    ntio::ke::SpinLock lock;
    LIST_ENTRY members;  // objects created with it, not yet freed nor taken by CloseThreadpoolCleanupGroupMembers
    uint32_t refs = 1;   // the program's, and one per object created with it and not yet freed
    _TP_CLEANUP_GROUP() { InitializeListHead(&members); }
};

namespace ntio::win32::tp {
namespace {

void deliver(void* context, const ke::QueuePacket& packet);
void unbind(void* context, ULONG_PTR key);
void destroy_pool(void* context);
constexpr io::PortSink kSink{deliver, unbind, destroy_pool};

DWORD WINAPI worker_main(LPVOID pool);
DWORD WINAPI waiter_main(LPVOID waiter);

unsigned worker_cap() {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return std::max(16u, 2u * static_cast<unsigned>(n > 0 ? n : 1));
}

// The callback the current thread is running, for the calls that would otherwise wait
// for themselves (S-TQ-3).
constinit thread_local _TP_CALLBACK_INSTANCE* t_instance = nullptr;

void free_object(Object* o);
void end_private_pool(Pool* p);

}  // namespace

struct Pool {
    ke::SpinLock lock;
    LIST_ENTRY ready[kPriorities];  // objects with a callback to start, by priority, in the order they became ready
    LIST_ENTRY objects;  // every object not yet freed
    KSEMAPHORE wake;     // one count per worker claimed by an enqueue or retiring, one per idle worker at stop
    unsigned idle = 0;   // workers waiting on `wake`, not yet claimed
    unsigned live = 0;   // workers started (or being started) and not ended
    unsigned cap = worker_cap();  // at most this many workers (SetThreadpoolThreadMaximum)
    unsigned floor = 0;           // SetThreadpoolThreadMinimum
    unsigned retiring = 0;        // idle workers woken to end (the maximum was lowered)
    size_t stack_reserve = 0;     // SetThreadpoolStackInformation (0: the runtime's default)
    size_t stack_commit = 0;
    const bool is_default;
    bool stopping = false;
    bool closed = false;    // CloseThreadpool
    bool finished = false;  // its end or the runtime's teardown has been decided
    Completion* spare = nullptr;  // recycled completion nodes
    unsigned spare_count = 0;
    io::CompletionPort* port = nullptr;
    std::vector<Waiter*> waiters;  // waiters[0] also serves the timers; freed with the pool
    std::vector<Object*> timers;   // armed timers
    uint64_t arm_seq = 0;
    // The default pool only:
    std::vector<TimerQueue*> queues;  // every timer queue not yet freed (under lock)
    std::mutex pools_lock;
    std::vector<Pool*> privates;      // private pools not yet ended (under pools_lock)
    // A private pool: the default pool, whose registry holds it.
    Pool* owner = nullptr;

    explicit Pool(bool default_pool) : is_default(default_pool) {
        for (LIST_ENTRY& r : ready) InitializeListHead(&r);
        InitializeListHead(&objects);
        KeInitializeSemaphore(&wake, 0, MAXLONG);
        port = io::create_sink_port(&kSink, this);
    }
    ~Pool() {
        while (Completion* c = spare) {
            spare = c->next;
            delete c;
        }
        for (Waiter* w : waiters) delete w;
    }

    // ---- under lock ----
    void sync_idle(Object* o) {
        if (o->busy()) KeClearEvent(&o->idle);
        else KeSetEvent(&o->idle, IO_NO_INCREMENT, FALSE);
    }
    void make_ready(Object* o) {
        if (o->in_ready) return;
        InsertTailList(&ready[o->priority], &o->ready_link);
        o->in_ready = true;
    }
    bool any_ready() const {
        for (const LIST_ENTRY& r : ready)
            if (!IsListEmpty(&r)) return true;
        return false;
    }
    // The next object to start a callback of: the first of the highest priority.
    Object* take_ready() {
        for (LIST_ENTRY& r : ready)
            if (!IsListEmpty(&r)) return CONTAINING_RECORD(RemoveHeadList(&r), Object, ready_link);
        return nullptr;
    }
    Completion* take_node() {
        Completion* c = spare;
        if (c) {
            spare = c->next;
            --spare_count;
            return c;
        }
        c = new (std::nothrow) Completion;
        if (!c) {
            std::fprintf(stderr, "ntio: out of memory queueing a thread pool callback\n");
            std::abort();
        }
        return c;
    }
    void recycle(Completion* c) {
        if (spare_count >= 256) {
            delete c;
            return;
        }
        c->next = spare;
        spare = c;
        ++spare_count;
    }
    void append(Object* o, Completion* c) {
        if (o->tail) o->tail->next = c;
        else o->head = c;
        o->tail = c;
        ++o->queued;
    }
    // Drops what is queued on `o` and not started (S-TP-3).
    void drop_queued(Object* o) {
        o->submitted = 0;
        while (Completion* c = o->head) {
            o->head = c->next;
            recycle(c);
        }
        o->tail = nullptr;
        o->queued = 0;
        if (o->in_ready) {
            RemoveEntryList(&o->ready_link);
            o->in_ready = false;
        }
    }
    enum class Wake { none, release, start };
    // A worker for a callback just made ready: an idle one, or a new one below the cap.
    Wake claim_worker() {
        if (idle) {
            --idle;
            return Wake::release;
        }
        if (!stopping && live < cap) {
            ++live;
            return Wake::start;
        }
        return Wake::none;
    }

    // ---- without lock ----
    void act(Wake w) {
        if (w == Wake::release) KeReleaseSemaphore(&wake, IO_NO_INCREMENT, 1, FALSE);
        else if (w == Wake::start) start_worker();
    }
    void start_worker() {
        // A completion may arrive in a DPC: threads are started at PASSIVE_LEVEL. The
        // port's reference keeps the pool until then.
        if (KeGetCurrentIrql() != PASSIVE_LEVEL) {
            ob::reference(port);
            sys().post_work([this] {
                io::CompletionPort* held = port;
                start_worker();
                ob::dereference(held);
            });
            return;
        }
        lock.lock();
        bool stop = stopping;
        if (stop) --live;
        size_t stack = stack_reserve;
        lock.unlock();
        if (stop) return;
        start_thread(&worker_main, this, stack);
    }
    void start_thread(LPTHREAD_START_ROUTINE routine, void* arg, size_t stack) {
        // A program thread (not a system thread): callbacks are the program's code, and
        // stop with the program's other threads at exit (ps::stop_if_program_exiting).
        // It holds a reference on the port, so the pool outlives it (worker_main,
        // waiter_main drop it as they end).
        ob::reference(port);
        ps::StartInfo info{_KTHREAD::Entry::win32, reinterpret_cast<void*>(routine), arg, false, false, stack};
        _KTHREAD* t = nullptr;
        if (!NT_SUCCESS(ps::create_thread(sys(), info, &t))) {
            std::fprintf(stderr, "ntio: cannot start a thread pool thread\n");
            std::abort();
        }
        ps::dereference(t);  // the runtime's thread registry and teardown keep track of it
    }

    // ---- waits and timers (under lock unless said) ----
    // The waiter for a new wait (one with room, or a new one: *fresh, to be started
    // after unlocking), or with timer, the first one.
    Waiter* waiter_for_locked(bool timer, Waiter** fresh) {
        *fresh = nullptr;
        if (timer && !waiters.empty()) return waiters[0];
        if (!timer)
            for (Waiter* w : waiters)
                if (w->waits.size() < kWaitsPerThread) return w;
        auto* w = new Waiter(this);
        waiters.push_back(w);
        *fresh = w;
        return w;
    }
    // Takes `o` off its waiter or the timers. Returns the reference on the waited object
    // that the caller drops after unlocking (or null), and the waiter to tell in *kick.
    void* disarm_locked(Object* o, Waiter** kick) {
        *kick = nullptr;
        if (!o->armed) return nullptr;
        o->armed = false;
        void* body = nullptr;
        if (o->is_wait()) {
            Waiter* w = o->waiter;
            w->waits.erase(std::find(w->waits.begin(), w->waits.end(), o));
            body = o->waited;
            o->waited = nullptr;
            o->waiter = nullptr;
            *kick = w;  // it may be blocked on that object: let it stop (and not consume a signal)
        } else {
            timers.erase(std::find(timers.begin(), timers.end(), o));
        }
        o->due = ke::kNever;
        return body;
    }
    void arm_wait_locked(Object* o, void* body, ke::Ticks due, Waiter* w) {
        o->armed = true;
        o->waited = body;
        o->waiter = w;
        o->due = due;
        o->arm_seq = ++arm_seq;
        w->waits.push_back(o);
    }
    void arm_timer_locked(Object* o, ke::Ticks due, ke::Ticks period) {
        if (!o->armed) timers.push_back(o);
        o->armed = true;
        o->due = due;
        o->period = period;
        o->arm_seq = ++arm_seq;
    }
    // A callback the serving thread runs itself (S-TQ-5).
    struct Here {
        Object* object;
        Completion* completion;
    };
    // A wait satisfied or timed out, a timer expired: one callback queued, or with
    // in_server one for the serving thread to run (*here).
    Wake fire_locked(Object* o, DWORD result, ke::Ticks now, std::vector<void*>* drop, std::vector<Here>* here) {
        if (o->is_timer()) {
            if (o->period > 0) {
                do o->due += o->period;
                while (o->due <= now);  // a late real clock skips the periods it missed
            } else {
                Waiter* unused;
                disarm_locked(o, &unused);
            }
        } else if (o->kind == Kind::registered_wait && !o->once) {
            // Waits again at once, with a fresh timeout (S-TP-18).
            o->due = o->timeout_ms == INFINITE ? ke::kNever : now + ke::Ticks(o->timeout_ms) * ke::kTicksPerMs;
            o->arm_seq = ++arm_seq;
        } else {
            Waiter* unused;
            drop->push_back(disarm_locked(o, &unused));
        }
        if (o->in_server) {
            Completion* c = take_node();
            *c = Completion{nullptr, nullptr, STATUS_SUCCESS, result};
            ++o->running;
            ++o->active;
            sync_idle(o);
            here->push_back(Here{o, c});
            return Wake::none;
        }
        if (o->is_timer()) {
            ++o->submitted;
        } else {
            Completion* c = take_node();
            *c = Completion{nullptr, nullptr, STATUS_SUCCESS, result};
            append(o, c);
        }
        sync_idle(o);
        make_ready(o);
        return claim_worker();
    }
    void serve(Waiter* w);
    // Puts `o` in the pool; returns whether a first worker is to be started (after
    // unlocking): a pool with objects has a worker waiting, so the first callback does
    // not wait for a thread to start.
    bool insert_locked(Object* o) {
        o->pool = this;
        InsertTailList(&objects, &o->pool_link);
        bool start = !stopping && live == 0 && cap > 0;
        if (start) ++live;
        return start;
    }
    void add(Object* o) {
        lock.lock();
        bool start = insert_locked(o);
        lock.unlock();
        if (start) start_worker();
    }
    // Whether `o` is to be freed now (called with lock held; the caller frees after
    // unlocking when this returns true). The last object of a closed private pool
    // carries the pool's end with it (free_object).
    bool unlink_if_freeable(Object* o) {
        if (!o->freeable()) return false;
        RemoveEntryList(&o->pool_link);
        o->dying = true;
        if (closed && !finished && IsListEmpty(&objects)) {
            finished = true;
            o->ends_pool = true;
        }
        return true;
    }

    void run();
    void invoke(Object* o, Completion* c);
    // Teardown (stop_thread_pool, end_private_pool): callbacks not started are dropped,
    // waits and timers disarmed, idle workers and waiters told to end.
    void stop();
    // Once no thread of the runtime runs: frees what is left; the caller then drops the
    // pool's reference on its port.
    void release();
};

}  // namespace ntio::win32::tp

struct _TP_POOL : ntio::win32::tp::Pool {
    using Pool::Pool;
};

namespace ntio::win32::tp {
namespace {

DWORD WINAPI worker_main(LPVOID pool) {
    auto* p = static_cast<Pool*>(pool);
    io::CompletionPort* port = p->port;
    p->run();
    ob::dereference(port);  // may free the pool: nothing of it is touched after
    return 0;
}

DWORD WINAPI waiter_main(LPVOID waiter) {
    auto* w = static_cast<Waiter*>(waiter);
    io::CompletionPort* port = w->pool->port;
    w->pool->serve(w);
    ob::dereference(port);
    return 0;
}

Pool* pool() {
    System::Impl& s = sys();
    if (void* p = s.thread_pool.load(std::memory_order_acquire)) return static_cast<Pool*>(p);
    auto* made = new _TP_POOL(true);
    void* expected = nullptr;
    if (!s.thread_pool.compare_exchange_strong(expected, made, std::memory_order_acq_rel)) {
        ob::dereference(made->port);  // its last reference: frees the pool too
        return static_cast<Pool*>(expected);
    }
    return made;
}

// Whether `p` is a private pool that has not ended (S-TP-22).
bool live_private_pool(Pool* p) {
    Pool* d = pool();
    std::lock_guard g(d->pools_lock);
    return std::find(d->privates.begin(), d->privates.end(), p) != d->privates.end();
}

// A completed request on a file bound to the pool (io::PortSink::deliver): any thread,
// up to DISPATCH_LEVEL.
void deliver(void* context, const ke::QueuePacket& packet) {
    auto* p = static_cast<Pool*>(context);
    auto* o = reinterpret_cast<Object*>(packet.key);
    p->lock.lock();
    bool announced = o->kind == Kind::bound_io || o->started > 0;
    if (p->stopping || !announced) {
        bool report = !p->stopping && !o->reported;
        o->reported = true;
        p->lock.unlock();
        // S-TP-9: Windows says this corrupts memory; ntio drops it and says so once per object.
        if (report)
            std::fprintf(stderr,
                         "ntio: a request completed on a file bound to thread pool I/O object %p without "
                         "StartThreadpoolIo before it; its callback does not run\n",
                         static_cast<void*>(o));
        return;
    }
    Completion* c = p->take_node();
    *c = Completion{nullptr, packet.context, packet.status, packet.information};
    if (o->kind == Kind::io) --o->started;
    p->append(o, c);
    p->sync_idle(o);
    p->make_ready(o);
    Pool::Wake w = p->claim_worker();
    p->lock.unlock();
    p->act(w);
}

// The file object bound to `key` is going (io::PortSink::unbind).
void unbind(void* context, ULONG_PTR key) {
    auto* p = static_cast<Pool*>(context);
    auto* o = reinterpret_cast<Object*>(key);
    p->lock.lock();
    o->bound = false;
    // Nothing can arrive any more: what was announced and never came never will.
    o->started = 0;
    p->sync_idle(o);
    bool free = p->unlink_if_freeable(o);
    p->lock.unlock();
    if (free) free_object(o);
}

void destroy_pool(void* context) { delete static_cast<_TP_POOL*>(static_cast<Pool*>(context)); }

// A timer of `q` has been freed: the queue goes with its last timer once deleted.
void queue_timer_gone(TimerQueue* q) {
    Pool* d = q->pool;
    d->lock.lock();
    bool last = --q->live == 0 && q->deleted;
    HANDLE done = nullptr;
    if (last) {
        d->queues.erase(std::find(d->queues.begin(), d->queues.end(), q));
        done = q->done;
    }
    d->lock.unlock();
    if (!last) return;
    delete q;
    if (done) SetEvent(done);  // S-TQ-2
}

// Leaves the object's cleanup group as the object is freed; the group goes with its
// last reference.
void leave_group(Object* o) {
    _TP_CLEANUP_GROUP* g = o->group;
    g->lock.lock();
    if (o->in_group) {
        RemoveEntryList(&o->group_link);
        o->in_group = false;
    }
    bool last = --g->refs == 0;
    g->lock.unlock();
    if (last) delete g;
}

void free_object(Object* o) {
    HANDLE done = o->done_event;
    Pool* p = o->pool;
    TimerQueue* q = o->queue;
    bool ends = o->ends_pool;
    if (o->group) leave_group(o);
    if (o->kind == Kind::io) delete static_cast<_TP_IO*>(o);
    else if (o->kind == Kind::work) delete static_cast<_TP_WORK*>(o);
    else if (o->kind == Kind::wait) delete static_cast<_TP_WAIT*>(o);
    else if (o->kind == Kind::timer) delete static_cast<_TP_TIMER*>(o);
    else delete o;
    // S-TP-19: the event given to UnregisterWaitEx / DeleteTimerQueueTimer, once nothing runs.
    if (done) SetEvent(done);
    if (q) queue_timer_gone(q);
    if (ends) end_private_pool(p);  // S-TP-23
}

// A closed private pool whose last object is freed, or closed with none (S-TP-23): its
// threads end and it drops its reference on its port; the pool goes with the port.
void end_private_pool(Pool* p) {
    if (KeGetCurrentIrql() != PASSIVE_LEVEL) {
        sys().post_work([p] { end_private_pool(p); });
        return;
    }
    Pool* d = p->owner;
    {
        std::lock_guard g(d->pools_lock);
        auto it = std::find(d->privates.begin(), d->privates.end(), p);
        if (it == d->privates.end()) return;  // the runtime's teardown has it
        d->privates.erase(it);
    }
    p->stop();
    ob::dereference(p->port);
}

}  // namespace

void Pool::run() {
    for (;;) {
        ps::stop_if_program_exiting();  // S-TP-12: no callback once the program exits
        lock.lock();
        if (stopping) {
            --live;
            lock.unlock();
            return;
        }
        // The maximum was lowered (S-TP-22): an idle worker woken to end, or any worker
        // above it, ends; what is ready goes to another.
        if (retiring) --retiring;  // a wake-up meant for an ending worker: this one ends if still above
        if (live > cap) {
            --live;
            Wake w = any_ready() ? claim_worker() : Wake::none;
            lock.unlock();
            act(w);
            return;
        }
        Object* o = take_ready();
        if (!o) {
            ++idle;
            lock.unlock();
            // A dispatcher wait: an idle worker counts as blocked for the virtual clock.
            KeWaitForSingleObject(&wake, WrQueue, KernelMode, FALSE, nullptr);
            continue;
        }
        Completion* c = nullptr;
        if (o->head) {
            c = o->head;
            o->head = c->next;
            if (!o->head) o->tail = nullptr;
            --o->queued;
        } else {
            --o->submitted;
        }
        // The object's other callbacks go behind the rest (they may run on other workers).
        if (o->submitted || o->queued) {
            InsertTailList(&ready[o->priority], &o->ready_link);
        } else {
            o->in_ready = false;
        }
        ++o->running;
        ++o->active;
        // More ready than workers to take it: wake or start one more.
        Wake w = any_ready() ? claim_worker() : Wake::none;
        lock.unlock();
        act(w);
        invoke(o, c);
    }
}

// A waiter thread: blocks on its waits' objects and its control event, with the earliest
// timeout among its waits (and the first waiter's timers) as deadline; then queues the
// callbacks of what was signaled or came due, and runs those that asked for this thread
// (S-TQ-5). A dispatcher wait: it counts as blocked for the virtual clock, which jumps to
// that deadline when nothing else runs.
void Pool::serve(Waiter* w) {
    ke::Dispatcher& d = sys().dispatcher;
    _KTHREAD* self = ps::current_thread();
    DISPATCHER_HEADER* objects[kWaitsPerThread + 1];
    Object* seen[kWaitsPerThread + 1];
    uint64_t seq[kWaitsPerThread + 1];
    void* held[kWaitsPerThread + 1];
    std::vector<void*> drop;
    std::vector<Wake> wakes;
    std::vector<Here> here;
    drop.reserve(kWaitsPerThread);
    wakes.reserve(kWaitsPerThread);
    for (;;) {
        ps::stop_if_program_exiting();
        lock.lock();
        if (stopping) {
            lock.unlock();
            return;
        }
        bool serves_timers = waiters[0] == w;
        ULONG n = 1;
        objects[0] = &w->control.Header;
        ke::Ticks deadline = ke::kNever;
        for (Object* o : w->waits) {
            ob::reference(o->waited);  // the object outlives this wait even if the wait is replaced
            held[n] = o->waited;
            objects[n] = ob::wait_header(o->waited);
            seen[n] = o;
            seq[n] = o->arm_seq;
            deadline = std::min(deadline, o->due);
            ++n;
        }
        if (serves_timers)
            for (Object* t : timers) deadline = std::min(deadline, t->due);
        lock.unlock();

        NTSTATUS s = d.wait(self, n, objects, WaitAny, deadline, false, false);
        ke::settle_setters(n, objects);

        lock.lock();
        ke::Ticks now = d.now();
        if (!stopping) {
            ULONG i = 0;
            if (s >= STATUS_WAIT_0 && s < STATUS_WAIT_0 + static_cast<NTSTATUS>(n)) i = static_cast<ULONG>(s - STATUS_WAIT_0);
            else if (s >= STATUS_ABANDONED_WAIT_0 && s < STATUS_ABANDONED_WAIT_0 + static_cast<NTSTATUS>(n))
                i = static_cast<ULONG>(s - STATUS_ABANDONED_WAIT_0);
            if (i > 0) {
                // Still the same arming (not replaced, stopped or closed since)?
                Object* o = seen[i];
                if (std::find(w->waits.begin(), w->waits.end(), o) != w->waits.end() && o->arm_seq == seq[i])
                    wakes.push_back(fire_locked(o, WAIT_OBJECT_0, now, &drop, &here));
            } else if (s == STATUS_TIMEOUT) {
                // Nothing signaled: every wait whose time has come times out.
                for (size_t k = 0; k < w->waits.size();) {
                    Object* o = w->waits[k];
                    size_t before = w->waits.size();
                    if (o->due <= now) wakes.push_back(fire_locked(o, WAIT_TIMEOUT, now, &drop, &here));
                    if (w->waits.size() == before) ++k;  // a wait that stays (re-armed) or was not due
                }
            }
            if (serves_timers)
                for (size_t k = 0; k < timers.size();) {
                    Object* t = timers[k];
                    size_t before = timers.size();
                    if (t->due <= now) wakes.push_back(fire_locked(t, 0, now, &drop, &here));
                    if (timers.size() == before) ++k;
                }
        }
        lock.unlock();
        for (ULONG k = 1; k < n; ++k) ob::dereference(held[k]);
        for (void* body : drop)
            if (body) ob::dereference(body);
        for (Wake wk : wakes) act(wk);
        // WT_EXECUTEINWAITTHREAD / WT_EXECUTEINTIMERTHREAD: here, in expiry order; the
        // next wait starts after them, as Microsoft warns it does.
        for (Here& h : here) {
            ps::stop_if_program_exiting();  // S-TP-12, as a worker checks before each callback
            invoke(h.object, h.completion);
        }
        drop.clear();
        wakes.clear();
        here.clear();
    }
}

void Pool::invoke(Object* o, Completion* c) {
    _TP_CALLBACK_INSTANCE instance{o};
    _TP_CALLBACK_INSTANCE* outer = t_instance;
    t_instance = &instance;
    switch (o->kind) {
    case Kind::work:
        reinterpret_cast<PTP_WORK_CALLBACK>(o->callback)(&instance, o->context, static_cast<_TP_WORK*>(o));
        break;
    case Kind::simple:
        reinterpret_cast<PTP_SIMPLE_CALLBACK>(o->callback)(&instance, o->context);
        break;
    case Kind::user_work:
        reinterpret_cast<LPTHREAD_START_ROUTINE>(o->callback)(o->context);
        break;
    case Kind::io:
        reinterpret_cast<PTP_WIN32_IO_CALLBACK>(o->callback)(&instance, o->context, c->overlapped,
                                                             RtlNtStatusToDosError(c->status), c->information,
                                                             static_cast<_TP_IO*>(o));
        break;
    case Kind::bound_io:
        reinterpret_cast<LPOVERLAPPED_COMPLETION_ROUTINE>(o->callback)(
            RtlNtStatusToDosError(c->status), static_cast<DWORD>(c->information), static_cast<LPOVERLAPPED>(c->overlapped));
        break;
    case Kind::wait:
        reinterpret_cast<PTP_WAIT_CALLBACK>(o->callback)(&instance, o->context, static_cast<_TP_WAIT*>(o),
                                                         static_cast<TP_WAIT_RESULT>(c->information));
        break;
    case Kind::timer:
        reinterpret_cast<PTP_TIMER_CALLBACK>(o->callback)(&instance, o->context, static_cast<_TP_TIMER*>(o));
        break;
    case Kind::registered_wait:
        reinterpret_cast<WAITORTIMERCALLBACK>(o->callback)(o->context, c->information == WAIT_TIMEOUT ? TRUE : FALSE);
        break;
    case Kind::queue_timer:
        reinterpret_cast<WAITORTIMERCALLBACK>(o->callback)(o->context, TRUE);
        break;
    }
    t_instance = outer;
    // S-TP-6: the on-return actions, then the callback counts as finished.
    if (instance.critical_section) LeaveCriticalSection(instance.critical_section);
    if (instance.mutex) ReleaseMutex(instance.mutex);
    if (instance.semaphore) ReleaseSemaphore(instance.semaphore, static_cast<LONG>(instance.semaphore_count), nullptr);
    if (instance.event) SetEvent(instance.event);
    lock.lock();
    if (c) recycle(c);
    if (!instance.disassociated) --o->running;
    --o->active;
    sync_idle(o);
    bool free = unlink_if_freeable(o);
    lock.unlock();
    if (free) free_object(o);
}

void Pool::stop() {
    std::vector<void*> waited;
    lock.lock();
    stopping = true;
    for (LIST_ENTRY* e = objects.Flink; e != &objects; e = e->Flink) {
        auto* o = CONTAINING_RECORD(e, Object, pool_link);
        drop_queued(o);
        Waiter* kick;
        if (void* body = disarm_locked(o, &kick)) waited.push_back(body);
        sync_idle(o);
    }
    // Waiter threads see `stopping` and end.
    for (Waiter* w : waiters) KeSetEvent(&w->control, IO_NO_INCREMENT, FALSE);
    unsigned sleeping = idle;
    idle = 0;
    lock.unlock();
    for (void* body : waited) ob::dereference(body);
    if (sleeping) KeReleaseSemaphore(&wake, IO_NO_INCREMENT, static_cast<LONG>(sleeping), FALSE);
}

void Pool::release() {
    std::vector<Object*> dead;
    lock.lock();
    finished = true;
    for (TimerQueue* q : queues) q->done = nullptr;  // the program's handles are closed by now
    for (LIST_ENTRY* e = objects.Flink; e != &objects;) {
        auto* o = CONTAINING_RECORD(e, Object, pool_link);
        e = e->Flink;
        // Every worker has ended: nothing runs. An object still bound to a file object
        // that outlives the runtime goes with that binding.
        o->closed = true;
        o->started = 0;
        o->running = o->active = o->pins = 0;
        o->done_event = nullptr;
        o->armed = false;  // disarmed when the pool stopped
        sync_idle(o);
        if (unlink_if_freeable(o)) dead.push_back(o);
    }
    lock.unlock();
    for (Object* o : dead) free_object(o);
    // Queues the program did not delete (their timers are gone by now).
    lock.lock();
    std::vector<TimerQueue*> left;
    left.swap(queues);
    lock.unlock();
    for (TimerQueue* q : left) delete q;
}

namespace {

// Where an object created with an environment goes (S-TP-22..27).
struct Placement {
    Pool* pool = nullptr;
    _TP_CLEANUP_GROUP* group = nullptr;
    PTP_CLEANUP_GROUP_CANCEL_CALLBACK cancel = nullptr;
    unsigned char priority = TP_CALLBACK_PRIORITY_NORMAL;
};

// Reads an environment; false (last error set) for one Windows would not take: a version
// other than 1 or 3, a priority out of range, a pool that is not a live private pool.
bool place(PTP_CALLBACK_ENVIRON env, Placement* out) {
    if (!env) {
        out->pool = pool();
        return true;
    }
    if (env->Version != 1 && env->Version != 3) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return false;
    }
    if (env->Version == 3) {  // a version 1 environment ends before CallbackPriority
        // Read as the integer it is: a program may have stored any value in the enum.
        unsigned prio;
        static_assert(sizeof prio == sizeof env->CallbackPriority);
        std::memcpy(&prio, &env->CallbackPriority, sizeof prio);
        if (prio >= kPriorities) {
            set_last_error(ERROR_INVALID_PARAMETER);
            return false;
        }
        out->priority = static_cast<unsigned char>(prio);
    }
    if (env->Pool) {
        auto* p = static_cast<Pool*>(env->Pool);
        if (!live_private_pool(p)) {
            set_last_error(ERROR_INVALID_PARAMETER);
            return false;
        }
        out->pool = p;
    } else {
        out->pool = pool();
    }
    out->group = env->CleanupGroup;
    out->cancel = env->CleanupGroupCancelCallback;
    return true;
}

// Puts a new object in its pool and its cleanup group. The pin keeps a one-shot object
// (which frees itself after its callback) alive until it is in the group.
void attach(Object* o, const Placement& at) {
    o->priority = at.priority;
    ++o->pins;
    at.pool->add(o);
    if (at.group) {
        o->group = at.group;
        o->cancel_callback = at.cancel;
        at.group->lock.lock();
        InsertTailList(&at.group->members, &o->group_link);
        o->in_group = true;
        ++at.group->refs;
        at.group->lock.unlock();
    }
    Pool* p = at.pool;
    p->lock.lock();
    --o->pins;
    bool free = p->unlink_if_freeable(o);
    p->lock.unlock();
    if (free) free_object(o);
}

// A one-shot object (TrySubmitThreadpoolCallback, QueueUserWorkItem), queued at once
// and freed after its callback.
void submit_once(Kind kind, void* callback, void* context, const Placement& at) {
    auto* o = new Object(kind);
    o->callback = callback;
    o->context = context;
    o->closed = true;
    o->pins = 1;  // until it is queued: attach's pin is gone by then
    attach(o, at);
    Pool* p = at.pool;
    p->lock.lock();
    --o->pins;
    if (p->stopping) {
        // Teardown has begun: never runs; freed with the pool's objects.
        p->lock.unlock();
        return;
    }
    o->submitted = 1;
    p->sync_idle(o);
    p->make_ready(o);
    Pool::Wake w = p->claim_worker();
    p->lock.unlock();
    p->act(w);
}

// When the calling thread runs a callback of `o`, that callback stops counting for the
// waits on `o` (as DisassociateCurrentThreadFromCallback): a deletion that waits for
// the object's callbacks from inside one of them would otherwise wait for itself (S-TQ-3).
void disassociate_if_own(Object* o) {
    if (t_instance && t_instance->object == o) DisassociateCurrentThreadFromCallback(t_instance);
}

void wait_callbacks(Object* o, BOOL cancel) {
    Pool* p = o->pool;
    p->lock.lock();
    if (cancel) {
        p->drop_queued(o);
        p->sync_idle(o);
    }
    p->lock.unlock();
    KeWaitForSingleObject(&o->idle, Executive, KernelMode, FALSE, nullptr);
}

// Marks `o` closed and stops it (S-TP-17): no callback is queued afterwards. Returns
// the waited object's reference to drop after unlocking, and the waiter to tell.
void* close_locked(Object* o, Waiter** kick) {
    o->closed = true;
    return o->pool->disarm_locked(o, kick);
}

void close_object(Object* o) {
    Pool* p = o->pool;
    p->lock.lock();
    o->app_closed = true;
    Waiter* kick;
    void* body = close_locked(o, &kick);
    if (kick) KeSetEvent(&kick->control, IO_NO_INCREMENT, FALSE);
    bool free = p->unlink_if_freeable(o);
    p->lock.unlock();
    if (body) ob::dereference(body);
    if (free) free_object(o);
}

ke::Ticks deadline_from_filetime(const FILETIME* ft) {
    ke::Dispatcher& d = sys().dispatcher;
    auto t = static_cast<LONGLONG>((static_cast<ULONGLONG>(ft->dwHighDateTime) << 32) | ft->dwLowDateTime);
    return t == 0 ? d.now() : d.deadline_for(t);  // 0: now; negative: relative; positive: absolute UTC
}

// (Re)arms or stops a wait object: `body` is the object to wait on with one reference
// (consumed), or null to stop. Returns whether a pending wait was replaced.
bool set_wait(Object* o, void* body, ke::Ticks due) {
    Pool* p = o->pool;
    p->lock.lock();
    if (p->stopping) {
        p->lock.unlock();
        if (body) ob::dereference(body);
        return false;
    }
    bool was = o->armed;
    Waiter* kick;
    void* old = p->disarm_locked(o, &kick);
    Waiter* fresh = nullptr;
    if (body) {
        Waiter* w = p->waiter_for_locked(false, &fresh);
        p->arm_wait_locked(o, body, due, w);
        if (!fresh && w != kick) KeSetEvent(&w->control, IO_NO_INCREMENT, FALSE);
    }
    if (kick) KeSetEvent(&kick->control, IO_NO_INCREMENT, FALSE);
    p->lock.unlock();
    if (old) ob::dereference(old);
    if (fresh) p->start_thread(&waiter_main, fresh, 0);
    return was;
}

// Sets (due not kNever) or stops a timer. Returns whether it was set. With only_armed,
// a timer that is not set stays so (ChangeTimerQueueTimer on an expired one-shot timer).
bool set_timer(Object* o, ke::Ticks due, ke::Ticks period, bool only_armed = false) {
    Pool* p = o->pool;
    p->lock.lock();
    if (p->stopping || (only_armed && !o->armed)) {
        p->lock.unlock();
        return false;
    }
    bool was = o->armed;
    Waiter* fresh = nullptr;
    Waiter* w = nullptr;
    if (due == ke::kNever) {
        Waiter* unused;
        p->disarm_locked(o, &unused);
        // The first waiter may sleep until the old due time: harmless, it finds nothing due.
    } else {
        w = p->waiter_for_locked(true, &fresh);
        p->arm_timer_locked(o, due, period);
        if (!fresh) KeSetEvent(&w->control, IO_NO_INCREMENT, FALSE);
    }
    p->lock.unlock();
    if (fresh) p->start_thread(&waiter_main, fresh, 0);
    return was;
}

// The waitable object behind `handle` with one reference, or null (last error set).
void* reference_waitable(HANDLE handle) {
    void* body = nullptr;
    NTSTATUS s = ob::reference_by_handle(handle, nullptr, ps::previous_mode(), SYNCHRONIZE, &body, nullptr);
    if (!NT_SUCCESS(s)) {
        set_error_from_status(s);
        return nullptr;
    }
    if (!ob::waitable(ob::type_of(body))) {
        ob::dereference(body);
        set_last_error(ERROR_INVALID_HANDLE);
        return nullptr;
    }
    return body;
}

// UnregisterWaitEx / DeleteTimerQueueTimer (S-TP-19): stops the object, drops its
// callbacks not started and closes it; `done` as those routines take it.
BOOL unregister(Object* o, HANDLE done) {
    Pool* p = o->pool;
    p->lock.lock();
    Waiter* kick;
    void* body = p->disarm_locked(o, &kick);
    if (kick) KeSetEvent(&kick->control, IO_NO_INCREMENT, FALSE);
    p->drop_queued(o);
    p->sync_idle(o);
    bool running = o->running > 0;
    bool wait_here = done == INVALID_HANDLE_VALUE;
    if (done && !wait_here) o->done_event = done;
    bool free = false;
    if (!wait_here) {
        o->closed = o->app_closed = true;
        free = p->unlink_if_freeable(o);
    }
    p->lock.unlock();
    if (body) ob::dereference(body);
    if (wait_here) {
        disassociate_if_own(o);  // S-TQ-3: not waiting for the very callback that asks
        KeWaitForSingleObject(&o->idle, Executive, KernelMode, FALSE, nullptr);
        close_object(o);
        return TRUE;
    }
    if (free) free_object(o);
    if (running) {
        set_last_error(ERROR_IO_PENDING);  // the callback still runs; `done` is set after it
        return FALSE;
    }
    return TRUE;
}

// Binds `file` to the object's pool with `o` as its key, then puts `o` in its cleanup
// group; frees `o` and sets the error on failure.
bool bind(Object* o, HANDLE file, const Placement& at) {
    Pool* p = at.pool;
    o->bound = true;
    o->priority = at.priority;
    p->add(o);
    NTSTATUS s = io::associate_completion_port(file, p->port, reinterpret_cast<ULONG_PTR>(o));
    if (!NT_SUCCESS(s)) {
        p->lock.lock();
        o->bound = false;
        o->closed = true;
        bool free = p->unlink_if_freeable(o);  // nothing else knows it yet
        p->lock.unlock();
        if (free) free_object(o);
        set_error_from_status(s);
        return false;
    }
    if (at.group) {
        // In the group only once bound: a failed binding never joined it.
        o->group = at.group;
        o->cancel_callback = at.cancel;
        at.group->lock.lock();
        InsertTailList(&at.group->members, &o->group_link);
        o->in_group = true;
        ++at.group->refs;
        at.group->lock.unlock();
    }
    return true;
}

// A timer queue handle of CreateTimerQueue's not yet deleted, or null (under the default
// pool's lock).
TimerQueue* find_queue_locked(Pool* d, HANDLE h) {
    auto* q = static_cast<TimerQueue*>(h);
    auto it = std::find(d->queues.begin(), d->queues.end(), q);
    return it != d->queues.end() && !q->deleted ? q : nullptr;
}

}  // namespace
}  // namespace ntio::win32::tp

namespace ntio::win32 {

void stop_thread_pool(System::Impl& s) {
    auto* p = static_cast<tp::Pool*>(s.thread_pool.load(std::memory_order_acquire));
    if (!p) return;
    // The private pools first, each held by a port reference while it stops (one may
    // end meanwhile).
    std::vector<tp::Pool*> privates;
    {
        std::lock_guard g(p->pools_lock);
        privates = p->privates;
        for (tp::Pool* q : privates) ob::reference(q->port);
    }
    for (tp::Pool* q : privates) {
        io::CompletionPort* port = q->port;
        q->stop();
        ob::dereference(port);
    }
    p->stop();
}

void release_thread_pool(System::Impl& s) {
    auto* p = static_cast<tp::Pool*>(s.thread_pool.exchange(nullptr, std::memory_order_acq_rel));
    if (!p) return;
    std::vector<tp::Pool*> privates;
    {
        std::lock_guard g(p->pools_lock);
        privates.swap(p->privates);
    }
    for (tp::Pool* q : privates) {
        q->release();
        ob::dereference(q->port);  // the pool's reference; the last one frees the pool
    }
    p->release();
    ob::dereference(p->port);
}

}  // namespace ntio::win32

using namespace ntio::win32::tp;

extern "C" {

// ---- private pools (S-TP-22, S-TP-23, S-TP-28) -----------------------------------------

PTP_POOL CreateThreadpool(PVOID reserved) {
    (void)reserved;  // must be NULL; Windows does not look at it either
    Pool* d = pool();
    auto* p = new (std::nothrow) _TP_POOL(false);
    if (!p) {
        set_last_error(ERROR_NOT_ENOUGH_MEMORY);
        return nullptr;
    }
    p->owner = d;
    std::lock_guard g(d->pools_lock);
    d->privates.push_back(p);
    return p;
}

VOID CloseThreadpool(PTP_POOL ptpp) {
    if (!ptpp) return;
    Pool* p = ptpp;
    p->lock.lock();
    p->closed = true;
    // Ends now with no object left, else with the freeing of its last one.
    bool end = !p->finished && IsListEmpty(&p->objects);
    if (end) p->finished = true;
    p->lock.unlock();
    if (end) end_private_pool(p);
}

VOID SetThreadpoolThreadMaximum(PTP_POOL ptpp, DWORD cthrdMost) {
    if (!ptpp) return;
    Pool* p = ptpp;
    p->lock.lock();
    p->cap = std::max<DWORD>(cthrdMost, 1);
    p->floor = std::min(p->floor, p->cap);
    // Idle workers above the new maximum are woken to end; busy ones end after their
    // callback (Pool::run).
    unsigned surplus = p->live > p->cap ? p->live - p->cap : 0;
    unsigned woken = std::min(surplus, p->idle);
    p->idle -= woken;
    p->retiring += woken;
    p->lock.unlock();
    if (woken) KeReleaseSemaphore(&p->wake, IO_NO_INCREMENT, static_cast<LONG>(woken), FALSE);
}

BOOL SetThreadpoolThreadMinimum(PTP_POOL ptpp, DWORD cthrdMic) {
    if (!ptpp) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    Pool* p = ptpp;
    p->lock.lock();
    if (p->stopping) {
        p->lock.unlock();
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    p->floor = cthrdMic;
    p->cap = std::max(p->cap, p->floor);
    unsigned more = p->floor > p->live ? p->floor - p->live : 0;
    p->live += more;
    p->lock.unlock();
    // Started now: they wait idle, so the first callbacks find them (S-TP-22).
    for (unsigned i = 0; i < more; ++i) p->start_worker();
    return TRUE;
}

BOOL SetThreadpoolStackInformation(PTP_POOL ptpp, PTP_POOL_STACK_INFORMATION ptpsi) {
    if (!ptpp || !ptpsi) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    Pool* p = ptpp;
    p->lock.lock();
    // The reserve is the workers' stack size from now on (at least 256 KiB, the
    // runtime's floor); a commit has no meaning for a Linux thread's stack.
    p->stack_reserve = ptpsi->StackReserve;
    p->stack_commit = ptpsi->StackCommit;
    p->lock.unlock();
    return TRUE;
}

BOOL QueryThreadpoolStackInformation(PTP_POOL ptpp, PTP_POOL_STACK_INFORMATION ptpsi) {
    if (!ptpp || !ptpsi) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    Pool* p = ptpp;
    p->lock.lock();
    ptpsi->StackReserve = p->stack_reserve ? p->stack_reserve : size_t(8) << 20;  // ps::create_thread's default
    ptpsi->StackCommit = p->stack_commit;
    p->lock.unlock();
    return TRUE;
}

// ---- cleanup groups (S-TP-24..26) -----------------------------------------------------

PTP_CLEANUP_GROUP CreateThreadpoolCleanupGroup(void) {
    auto* g = new (std::nothrow) _TP_CLEANUP_GROUP;
    if (!g) set_last_error(ERROR_NOT_ENOUGH_MEMORY);
    return g;
}

VOID CloseThreadpoolCleanupGroupMembers(PTP_CLEANUP_GROUP ptpcg, BOOL fCancelPendingCallbacks, PVOID pvCleanupContext) {
    if (!ptpcg) return;
    // Takes the members out of the group, each pinned so it outlives what follows
    // (one being freed right now is left to its freer).
    std::vector<Object*> members;
    ptpcg->lock.lock();
    while (!IsListEmpty(&ptpcg->members)) {
        auto* o = CONTAINING_RECORD(RemoveHeadList(&ptpcg->members), Object, group_link);
        o->in_group = false;
        Pool* p = o->pool;
        p->lock.lock();
        if (!o->dying) {
            ++o->pins;
            members.push_back(o);
        }
        p->lock.unlock();
    }
    ptpcg->lock.unlock();
    // Closes each (as its Close... would), dropping what has not started with cancel.
    std::vector<bool> program_closed(members.size());
    for (size_t i = 0; i < members.size(); ++i) {
        Object* o = members[i];
        Pool* p = o->pool;
        p->lock.lock();
        // A one-shot callback is the program's until it has run, like an object not closed.
        program_closed[i] = o->app_closed;
        Waiter* kick;
        void* body = close_locked(o, &kick);
        if (kick) KeSetEvent(&kick->control, IO_NO_INCREMENT, FALSE);
        if (fCancelPendingCallbacks) p->drop_queued(o);
        p->sync_idle(o);
        p->lock.unlock();
        if (body) ob::dereference(body);
    }
    // Waits for what runs, then the cancel callback of each member the program had not
    // closed (Microsoft: "if the cleanup group is canceled before the associated object
    // is released").
    for (size_t i = 0; i < members.size(); ++i) {
        Object* o = members[i];
        disassociate_if_own(o);
        KeWaitForSingleObject(&o->idle, Executive, KernelMode, FALSE, nullptr);
        if (fCancelPendingCallbacks && !program_closed[i] && o->cancel_callback)
            o->cancel_callback(o->context, pvCleanupContext);
        Pool* p = o->pool;
        p->lock.lock();
        --o->pins;
        bool free = p->unlink_if_freeable(o);
        p->lock.unlock();
        if (free) free_object(o);
    }
}

VOID CloseThreadpoolCleanupGroup(PTP_CLEANUP_GROUP ptpcg) {
    if (!ptpcg) return;
    // Members not closed keep it until they are freed.
    ptpcg->lock.lock();
    bool last = --ptpcg->refs == 0;
    ptpcg->lock.unlock();
    if (last) delete ptpcg;
}

// ---- work (S-TP-1..5) ---------------------------------------------------------------

PTP_WORK CreateThreadpoolWork(PTP_WORK_CALLBACK pfnwk, PVOID pv, PTP_CALLBACK_ENVIRON pcbe) {
    if (!pfnwk) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return nullptr;
    }
    Placement at;
    if (!place(pcbe, &at)) return nullptr;
    auto* w = new (std::nothrow) _TP_WORK(Kind::work);
    if (!w) {
        set_last_error(ERROR_NOT_ENOUGH_MEMORY);
        return nullptr;
    }
    w->callback = reinterpret_cast<void*>(pfnwk);
    w->context = pv;
    attach(w, at);
    return w;
}

VOID SubmitThreadpoolWork(PTP_WORK pwk) {
    if (!pwk) return;
    Pool* p = pwk->pool;
    p->lock.lock();
    if (p->stopping) {
        p->lock.unlock();
        return;
    }
    ++pwk->submitted;
    p->sync_idle(pwk);
    p->make_ready(pwk);
    Pool::Wake w = p->claim_worker();
    p->lock.unlock();
    p->act(w);
}

VOID WaitForThreadpoolWorkCallbacks(PTP_WORK pwk, BOOL fCancelPendingCallbacks) {
    if (pwk) wait_callbacks(pwk, fCancelPendingCallbacks);
}

VOID CloseThreadpoolWork(PTP_WORK pwk) {
    if (pwk) close_object(pwk);
}

BOOL TrySubmitThreadpoolCallback(PTP_SIMPLE_CALLBACK pfns, PVOID pv, PTP_CALLBACK_ENVIRON pcbe) {
    if (!pfns) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    Placement at;
    if (!place(pcbe, &at)) return FALSE;
    submit_once(Kind::simple, reinterpret_cast<void*>(pfns), pv, at);
    return TRUE;
}

BOOL QueueUserWorkItem(LPTHREAD_START_ROUTINE Function, PVOID Context, ULONG Flags) {
    (void)Flags;  // S-TQ-6: no flag changes where or how an item runs here
    if (!Function) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    Placement at;
    place(nullptr, &at);
    submit_once(Kind::user_work, reinterpret_cast<void*>(Function), Context, at);
    return TRUE;
}

// ---- callback instances (S-TP-6) ----------------------------------------------------

BOOL CallbackMayRunLong(PTP_CALLBACK_INSTANCE pci) {
    if (!pci) return FALSE;
    Pool* p = pci->object->pool;
    p->lock.lock();
    // Another thread is available if one is idle or one more may be started (which it is).
    bool available = p->idle > 0;
    bool start = false;
    if (!available && !p->stopping && p->live < p->cap) {
        ++p->live;
        start = available = true;
    }
    p->lock.unlock();
    if (start) p->start_worker();
    return available ? TRUE : FALSE;
}

VOID SetEventWhenCallbackReturns(PTP_CALLBACK_INSTANCE pci, HANDLE evt) {
    if (pci) pci->event = evt;
}

VOID ReleaseSemaphoreWhenCallbackReturns(PTP_CALLBACK_INSTANCE pci, HANDLE sem, DWORD crel) {
    if (!pci) return;
    pci->semaphore = sem;
    pci->semaphore_count = crel;
}

VOID ReleaseMutexWhenCallbackReturns(PTP_CALLBACK_INSTANCE pci, HANDLE mut) {
    if (pci) pci->mutex = mut;
}

VOID LeaveCriticalSectionWhenCallbackReturns(PTP_CALLBACK_INSTANCE pci, PCRITICAL_SECTION pcs) {
    if (pci) pci->critical_section = pcs;
}

VOID DisassociateCurrentThreadFromCallback(PTP_CALLBACK_INSTANCE pci) {
    if (!pci || pci->disassociated) return;
    Object* o = pci->object;
    Pool* p = o->pool;
    p->lock.lock();
    pci->disassociated = true;
    --o->running;
    p->sync_idle(o);
    p->lock.unlock();
}

// ---- I/O (S-TP-7..9, S-TP-11) -------------------------------------------------------

PTP_IO CreateThreadpoolIo(HANDLE fl, PTP_WIN32_IO_CALLBACK pfnio, PVOID pv, PTP_CALLBACK_ENVIRON pcbe) {
    if (!pfnio) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return nullptr;
    }
    Placement at;
    if (!place(pcbe, &at)) return nullptr;
    auto* o = new (std::nothrow) _TP_IO(Kind::io);
    if (!o) {
        set_last_error(ERROR_NOT_ENOUGH_MEMORY);
        return nullptr;
    }
    o->callback = reinterpret_cast<void*>(pfnio);
    o->context = pv;
    return bind(o, fl, at) ? o : nullptr;
}

VOID StartThreadpoolIo(PTP_IO pio) {
    if (!pio) return;
    Pool* p = pio->pool;
    p->lock.lock();
    if (pio->bound) {  // a file that is gone completes nothing more
        ++pio->started;
        p->sync_idle(pio);
    }
    p->lock.unlock();
}

VOID CancelThreadpoolIo(PTP_IO pio) {
    if (!pio) return;
    Pool* p = pio->pool;
    p->lock.lock();
    if (pio->started) --pio->started;
    p->sync_idle(pio);
    p->lock.unlock();
}

VOID WaitForThreadpoolIoCallbacks(PTP_IO pio, BOOL fCancelPendingCallbacks) {
    if (pio) wait_callbacks(pio, fCancelPendingCallbacks);
}

VOID CloseThreadpoolIo(PTP_IO pio) {
    if (pio) close_object(pio);
}

BOOL BindIoCompletionCallback(HANDLE FileHandle, LPOVERLAPPED_COMPLETION_ROUTINE Function, ULONG Flags) {
    if (!Function || Flags != 0) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    auto* o = new (std::nothrow) Object(Kind::bound_io);
    if (!o) {
        set_last_error(ERROR_NOT_ENOUGH_MEMORY);
        return FALSE;
    }
    o->callback = reinterpret_cast<void*>(Function);
    o->closed = true;  // nothing closes it: it goes with the file's binding
    Placement at;
    place(nullptr, &at);
    return bind(o, FileHandle, at) ? TRUE : FALSE;
}

// ---- waits (S-TP-13..15) --------------------------------------------------------------

PTP_WAIT CreateThreadpoolWait(PTP_WAIT_CALLBACK pfnwa, PVOID pv, PTP_CALLBACK_ENVIRON pcbe) {
    if (!pfnwa) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return nullptr;
    }
    Placement at;
    if (!place(pcbe, &at)) return nullptr;
    auto* o = new (std::nothrow) _TP_WAIT(Kind::wait);
    if (!o) {
        set_last_error(ERROR_NOT_ENOUGH_MEMORY);
        return nullptr;
    }
    o->callback = reinterpret_cast<void*>(pfnwa);
    o->context = pv;
    attach(o, at);
    return o;
}

BOOL SetThreadpoolWaitEx(PTP_WAIT pwa, HANDLE h, PFILETIME pftTimeout, PVOID Reserved) {
    (void)Reserved;
    if (!pwa) return FALSE;
    void* body = nullptr;
    ke::Ticks due = ke::kNever;
    if (h) {
        // A handle that cannot be waited on sets no wait (Windows leaves it undefined).
        body = reference_waitable(h);
        if (pftTimeout) due = deadline_from_filetime(pftTimeout);
    }
    return set_wait(pwa, body, due) ? TRUE : FALSE;
}

VOID SetThreadpoolWait(PTP_WAIT pwa, HANDLE h, PFILETIME pftTimeout) { SetThreadpoolWaitEx(pwa, h, pftTimeout, nullptr); }

VOID WaitForThreadpoolWaitCallbacks(PTP_WAIT pwa, BOOL fCancelPendingCallbacks) {
    if (pwa) wait_callbacks(pwa, fCancelPendingCallbacks);
}

VOID CloseThreadpoolWait(PTP_WAIT pwa) {
    if (pwa) close_object(pwa);
}

// ---- timers (S-TP-16..17) -------------------------------------------------------------

PTP_TIMER CreateThreadpoolTimer(PTP_TIMER_CALLBACK pfnti, PVOID pv, PTP_CALLBACK_ENVIRON pcbe) {
    if (!pfnti) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return nullptr;
    }
    Placement at;
    if (!place(pcbe, &at)) return nullptr;
    auto* o = new (std::nothrow) _TP_TIMER(Kind::timer);
    if (!o) {
        set_last_error(ERROR_NOT_ENOUGH_MEMORY);
        return nullptr;
    }
    o->callback = reinterpret_cast<void*>(pfnti);
    o->context = pv;
    attach(o, at);
    return o;
}

BOOL SetThreadpoolTimerEx(PTP_TIMER pti, PFILETIME pftDueTime, DWORD msPeriod, DWORD msWindowLength) {
    (void)msWindowLength;  // S-TP-16: every expiry is on time, never batched later
    if (!pti) return FALSE;
    ke::Ticks due = pftDueTime ? deadline_from_filetime(pftDueTime) : ke::kNever;
    return set_timer(pti, due, ke::Ticks(msPeriod) * ke::kTicksPerMs) ? TRUE : FALSE;
}

VOID SetThreadpoolTimer(PTP_TIMER pti, PFILETIME pftDueTime, DWORD msPeriod, DWORD msWindowLength) {
    SetThreadpoolTimerEx(pti, pftDueTime, msPeriod, msWindowLength);
}

BOOL IsThreadpoolTimerSet(PTP_TIMER pti) {
    if (!pti) return FALSE;
    Pool* p = pti->pool;
    p->lock.lock();
    bool set = pti->armed;
    p->lock.unlock();
    return set ? TRUE : FALSE;
}

VOID WaitForThreadpoolTimerCallbacks(PTP_TIMER pti, BOOL fCancelPendingCallbacks) {
    if (pti) wait_callbacks(pti, fCancelPendingCallbacks);
}

VOID CloseThreadpoolTimer(PTP_TIMER pti) {
    if (pti) close_object(pti);
}

// ---- RegisterWaitForSingleObject (S-TP-18..19) ------------------------------------------

BOOL RegisterWaitForSingleObject(PHANDLE phNewWaitObject, HANDLE hObject, WAITORTIMERCALLBACK Callback, PVOID Context,
                                 ULONG dwMilliseconds, ULONG dwFlags) {
    if (!phNewWaitObject || !Callback) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    void* body = reference_waitable(hObject);
    if (!body) return FALSE;
    auto* o = new (std::nothrow) Object(Kind::registered_wait);
    if (!o) {
        ob::dereference(body);
        set_last_error(ERROR_NOT_ENOUGH_MEMORY);
        return FALSE;
    }
    o->callback = reinterpret_cast<void*>(Callback);
    o->context = Context;
    o->timeout_ms = dwMilliseconds;
    o->once = (dwFlags & WT_EXECUTEONLYONCE) != 0;
    o->in_server = (dwFlags & WT_EXECUTEINWAITTHREAD) != 0;  // S-TQ-5
    pool()->add(o);
    ke::Ticks due = dwMilliseconds == INFINITE
                        ? ke::kNever
                        : sys().dispatcher.now() + ke::Ticks(dwMilliseconds) * ke::kTicksPerMs;
    *phNewWaitObject = o;
    set_wait(o, body, due);
    return TRUE;
}

BOOL UnregisterWaitEx(HANDLE WaitHandle, HANDLE CompletionEvent) {
    if (!WaitHandle) {
        set_last_error(ERROR_INVALID_HANDLE);
        return FALSE;
    }
    return unregister(static_cast<Object*>(WaitHandle), CompletionEvent);
}

BOOL UnregisterWait(HANDLE WaitHandle) { return UnregisterWaitEx(WaitHandle, nullptr); }

// ---- timer queues (S-TP-20, S-TQ-1..5) -------------------------------------------------

HANDLE CreateTimerQueue(void) {
    Pool* d = pool();
    auto* q = new (std::nothrow) TimerQueue{d};
    if (!q) {
        set_last_error(ERROR_NOT_ENOUGH_MEMORY);
        return nullptr;
    }
    d->lock.lock();
    d->queues.push_back(q);
    d->lock.unlock();
    return q;
}

BOOL DeleteTimerQueueEx(HANDLE TimerQueue, HANDLE CompletionEvent) {
    Pool* d = pool();
    d->lock.lock();
    tp::TimerQueue* q = find_queue_locked(d, TimerQueue);
    if (!q) {  // NULL (the default queue cannot be deleted) or not a queue
        d->lock.unlock();
        set_last_error(ERROR_INVALID_HANDLE);
        return FALSE;
    }
    q->deleted = true;
    bool wait_here = CompletionEvent == INVALID_HANDLE_VALUE;
    if (CompletionEvent && !wait_here) q->done = CompletionEvent;
    // Stops and closes its timers (those the program deleted already are closed), each
    // pinned while this looks at it.
    std::vector<Object*> timers;
    for (LIST_ENTRY* e = d->objects.Flink; e != &d->objects; e = e->Flink) {
        auto* o = CONTAINING_RECORD(e, Object, pool_link);
        if (o->queue != q) continue;
        Waiter* kick;
        close_locked(o, &kick);  // a timer: no waited object, no waiter
        o->app_closed = true;
        d->drop_queued(o);
        d->sync_idle(o);
        ++o->pins;
        timers.push_back(o);
    }
    bool empty = q->live == 0;
    if (empty) d->queues.erase(std::find(d->queues.begin(), d->queues.end(), q));
    HANDLE done = empty ? q->done : nullptr;
    d->lock.unlock();
    if (empty) {
        delete q;
        if (done) SetEvent(done);
        return TRUE;
    }
    if (wait_here) {
        for (Object* o : timers) {
            disassociate_if_own(o);  // S-TQ-3
            KeWaitForSingleObject(&o->idle, Executive, KernelMode, FALSE, nullptr);
        }
    }
    // Unpinned, each goes now or after its last callback; the queue goes with the last
    // (queue_timer_gone), which sets the event.
    std::vector<Object*> dead;
    d->lock.lock();
    for (Object* o : timers) {
        --o->pins;
        if (d->unlink_if_freeable(o)) dead.push_back(o);
    }
    d->lock.unlock();
    for (Object* o : dead) free_object(o);
    return TRUE;  // S-TQ-2: Windows (since Vista) succeeds whatever still runs
}

BOOL DeleteTimerQueue(HANDLE TimerQueue) { return DeleteTimerQueueEx(TimerQueue, nullptr); }

BOOL CreateTimerQueueTimer(PHANDLE phNewTimer, HANDLE TimerQueue, WAITORTIMERCALLBACK Callback, PVOID Parameter,
                           DWORD DueTime, DWORD Period, ULONG Flags) {
    if (!phNewTimer || !Callback) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    auto* o = new (std::nothrow) Object(Kind::queue_timer);
    if (!o) {
        set_last_error(ERROR_NOT_ENOUGH_MEMORY);
        return FALSE;
    }
    o->callback = reinterpret_cast<void*>(Callback);
    o->context = Parameter;
    o->in_server = (Flags & WT_EXECUTEINTIMERTHREAD) != 0;  // S-TQ-5
    Pool* d = pool();
    d->lock.lock();
    tp::TimerQueue* q = nullptr;
    if (TimerQueue) {
        q = find_queue_locked(d, TimerQueue);
        if (!q) {
            d->lock.unlock();
            delete o;
            set_last_error(ERROR_INVALID_HANDLE);
            return FALSE;
        }
        ++q->live;
        o->queue = q;
    }
    bool start = d->insert_locked(o);
    d->lock.unlock();
    if (start) d->start_worker();
    *phNewTimer = o;
    ke::Ticks period = (Flags & WT_EXECUTEONLYONCE) ? 0 : ke::Ticks(Period) * ke::kTicksPerMs;
    set_timer(o, sys().dispatcher.now() + ke::Ticks(DueTime) * ke::kTicksPerMs, period);
    return TRUE;
}

BOOL ChangeTimerQueueTimer(HANDLE TimerQueue, HANDLE Timer, ULONG DueTime, ULONG Period) {
    // The timer knows its queue: Windows takes any queue handle here, NULL too (S-TQ-4).
    (void)TimerQueue;
    if (!Timer) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    auto* o = static_cast<Object*>(Timer);
    // A one-shot timer that has expired is not updated, and the call still succeeds
    // (Microsoft, ChangeTimerQueueTimer; Wine's tests on Windows).
    set_timer(o, sys().dispatcher.now() + ke::Ticks(DueTime) * ke::kTicksPerMs, ke::Ticks(Period) * ke::kTicksPerMs,
              true);
    return TRUE;
}

BOOL DeleteTimerQueueTimer(HANDLE TimerQueue, HANDLE Timer, HANDLE CompletionEvent) {
    (void)TimerQueue;  // as ChangeTimerQueueTimer's
    if (!Timer) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    return unregister(static_cast<Object*>(Timer), CompletionEvent);
}

}  // extern "C"
