// The Win32 thread pool (S-TP-1..21): one default pool per runtime, its work, simple,
// I/O, wait and timer objects, the callback instance's on-return actions,
// QueueUserWorkItem, BindIoCompletionCallback, RegisterWaitForSingleObject and the default
// timer queue's timers.
//
// Ownership:
//   System::Impl::thread_pool ─▶ Pool ◀─(sink context)─ its CompletionPort (no handle)
//   the Pool's reference and each bound FILE_OBJECT's reference ─▶ CompletionPort
//   the port's last reference gone → the Pool is freed (so a late completion on a
//                                    file still bound never finds it gone)
//   an object (TP_WORK, TP_IO, ...) is freed once it is closed, has nothing queued,
//   announced or running, is not armed (wait, timer), and (I/O) its file object's
//   binding has gone.
//   an armed wait ─ref─▶ the object it waits on; a waiter thread also holds one on each
//   object it is blocked on, for the length of that wait.
//
// Waits and timers are served by waiter threads of the pool's own (Pool::serve), each
// blocked in one dispatcher wait on up to 63 objects plus its control event, with the
// earliest timeout among its waits (and, for the first one, its timers) as deadline, so
// an idle process with only a pending timer lets the virtual clock jump to it.
//
// Every count below is guarded by Pool::lock, a spin lock never held across a wait or a
// callback; an object's `idle` event is kept in step with its counts under that lock.
#include "win32/threadpool.hpp"

#include <algorithm>
#include <atomic>
#include <vector>
#include <cstdio>
#include <cstdlib>
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
    queue_timer,      // CreateTimerQueueTimer on the default queue
};

struct Pool;
struct Waiter;

// A waiter thread serves at most this many waits: with its control event, the most a
// dispatcher wait takes (MAXIMUM_WAIT_OBJECTS), as Windows's wait threads do.
constexpr size_t kWaitsPerThread = MAXIMUM_WAIT_OBJECTS - 1;

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
    Pool* pool = nullptr;
    void* callback = nullptr;
    void* context = nullptr;
    LIST_ENTRY ready_link{};  // in Pool::ready while it has a callback to start
    bool in_ready = false;
    uint32_t submitted = 0;  // work: runs submitted and not started
    Completion* head = nullptr;  // io: completions arrived and not started, oldest first
    Completion* tail = nullptr;
    uint32_t queued = 0;
    uint32_t started = 0;  // io: operations announced by StartThreadpoolIo that have not arrived
    uint32_t running = 0;  // callbacks running and still associated (what WaitFor... waits for)
    uint32_t active = 0;   // callbacks running, associated or not (what keeps the memory)
    bool closed = false;
    bool bound = false;       // io: the file object's binding still points here
    bool reported = false;    // io: an unannounced completion was reported once
    LIST_ENTRY pool_link{};   // Pool::objects
    KEVENT idle;              // notification: signaled when nothing is queued, announced or running
    // Waits and timers (S-TP-13..20):
    bool armed = false;             // a wait pending, a timer set
    void* waited = nullptr;         // wait kinds, while armed: the object waited on (one reference)
    Waiter* waiter = nullptr;       // wait kinds, while armed: the thread serving it
    ke::Ticks due = ke::kNever;     // a wait's timeout, a timer's next expiry (interrupt time)
    ke::Ticks period = 0;           // timers: 0 for a single expiry
    DWORD timeout_ms = INFINITE;    // registered wait: the timeout of each wait
    bool once = false;              // registered wait: WT_EXECUTEONLYONCE
    uint64_t arm_seq = 0;           // which arming a waiter's snapshot saw
    HANDLE done_event = nullptr;    // UnregisterWaitEx / DeleteTimerQueueTimer: set once freed

    explicit Object(Kind k) : kind(k) { KeInitializeEvent(&idle, NotificationEvent, TRUE); }
    bool busy() const { return submitted || queued || started || running; }
    bool freeable() const { return closed && !bound && !armed && !busy() && !active; }
    bool is_wait() const { return kind == Kind::wait || kind == Kind::registered_wait; }
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

void free_object(Object* o) {
    HANDLE done = o->done_event;
    if (o->kind == Kind::io) delete static_cast<_TP_IO*>(o);
    else if (o->kind == Kind::work) delete static_cast<_TP_WORK*>(o);
    else if (o->kind == Kind::wait) delete static_cast<_TP_WAIT*>(o);
    else if (o->kind == Kind::timer) delete static_cast<_TP_TIMER*>(o);
    else delete o;
    // S-TP-19: the event given to UnregisterWaitEx / DeleteTimerQueueTimer, once nothing runs.
    if (done) SetEvent(done);
}

}  // namespace

struct Pool {
    ke::SpinLock lock;
    LIST_ENTRY ready;    // objects with a callback to start, in the order they became ready
    LIST_ENTRY objects;  // every object not yet freed
    KSEMAPHORE wake;     // one count per worker claimed by an enqueue, one per idle worker at stop
    unsigned idle = 0;   // workers waiting on `wake`, not yet claimed
    unsigned live = 0;   // workers started (or being started) and not ended
    unsigned cap = worker_cap();
    bool stopping = false;
    Completion* spare = nullptr;  // recycled completion nodes
    unsigned spare_count = 0;
    io::CompletionPort* port = nullptr;
    std::vector<Waiter*> waiters;  // waiters[0] also serves the timers; freed with the pool
    std::vector<Object*> timers;   // armed timers
    uint64_t arm_seq = 0;

    Pool() {
        InitializeListHead(&ready);
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
        InsertTailList(&ready, &o->ready_link);
        o->in_ready = true;
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
        // A completion may arrive in a DPC: threads are started at PASSIVE_LEVEL.
        if (KeGetCurrentIrql() != PASSIVE_LEVEL) {
            sys().post_work([this] { start_worker(); });
            return;
        }
        lock.lock();
        bool stop = stopping;
        if (stop) --live;
        lock.unlock();
        if (stop) return;
        start_thread(&worker_main, this);
    }
    static void start_thread(LPTHREAD_START_ROUTINE routine, void* arg) {
        // A program thread (not a system thread): callbacks are the program's code, and
        // stop with the program's other threads at exit (ps::stop_if_program_exiting).
        ps::StartInfo info{_KTHREAD::Entry::win32, reinterpret_cast<void*>(routine), arg, false, false, 0};
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
    // A wait satisfied or timed out, a timer expired: one callback queued.
    Wake fire_locked(Object* o, DWORD result, ke::Ticks now, std::vector<void*>* drop) {
        if (o->kind == Kind::timer || o->kind == Kind::queue_timer) {
            ++o->submitted;
            if (o->period > 0) {
                do o->due += o->period;
                while (o->due <= now);  // a late real clock skips the periods it missed
            } else {
                Waiter* unused;
                disarm_locked(o, &unused);
            }
        } else {
            Completion* c = take_node();
            *c = Completion{nullptr, nullptr, STATUS_SUCCESS, result};
            append(o, c);
            if (o->kind == Kind::registered_wait && !o->once) {
                // Waits again at once, with a fresh timeout (S-TP-18).
                o->due = o->timeout_ms == INFINITE ? ke::kNever : now + ke::Ticks(o->timeout_ms) * ke::kTicksPerMs;
                o->arm_seq = ++arm_seq;
            } else {
                Waiter* unused;
                drop->push_back(disarm_locked(o, &unused));
            }
        }
        sync_idle(o);
        make_ready(o);
        return claim_worker();
    }
    void serve(Waiter* w);
    void add(Object* o) {
        o->pool = this;
        lock.lock();
        InsertTailList(&objects, &o->pool_link);
        // A pool with objects has a worker waiting, so the first callback does not wait
        // for a thread to start.
        bool start = !stopping && live == 0;
        if (start) ++live;
        lock.unlock();
        if (start) start_worker();
    }
    // Frees `o` if nothing holds it any more (called with lock held; the caller frees
    // after unlocking when this returns true).
    bool unlink_if_freeable(Object* o) {
        if (!o->freeable()) return false;
        RemoveEntryList(&o->pool_link);
        return true;
    }

    void run();
    void invoke(Object* o, Completion* c);
};

namespace {

DWORD WINAPI worker_main(LPVOID pool) {
    static_cast<Pool*>(pool)->run();
    return 0;
}

DWORD WINAPI waiter_main(LPVOID waiter) {
    auto* w = static_cast<Waiter*>(waiter);
    w->pool->serve(w);
    return 0;
}

Pool* pool() {
    System::Impl& s = sys();
    if (void* p = s.thread_pool.load(std::memory_order_acquire)) return static_cast<Pool*>(p);
    auto* made = new Pool;
    void* expected = nullptr;
    if (!s.thread_pool.compare_exchange_strong(expected, made, std::memory_order_acq_rel)) {
        ob::dereference(made->port);  // its last reference: frees the pool too
        return static_cast<Pool*>(expected);
    }
    return made;
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

void destroy_pool(void* context) { delete static_cast<Pool*>(context); }

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
        if (IsListEmpty(&ready)) {
            ++idle;
            lock.unlock();
            // A dispatcher wait: an idle worker counts as blocked for the virtual clock.
            KeWaitForSingleObject(&wake, WrQueue, KernelMode, FALSE, nullptr);
            continue;
        }
        auto* o = CONTAINING_RECORD(RemoveHeadList(&ready), Object, ready_link);
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
            InsertTailList(&ready, &o->ready_link);
        } else {
            o->in_ready = false;
        }
        ++o->running;
        ++o->active;
        // More ready than workers to take it: wake or start one more.
        Wake w = IsListEmpty(&ready) ? Wake::none : claim_worker();
        lock.unlock();
        act(w);
        invoke(o, c);
    }
}

// A waiter thread: blocks on its waits' objects and its control event, with the earliest
// timeout among its waits (and the first waiter's timers) as deadline; then queues the
// callbacks of what was signaled or came due. A dispatcher wait: it counts as blocked for
// the virtual clock, which jumps to that deadline when nothing else runs.
void Pool::serve(Waiter* w) {
    ke::Dispatcher& d = sys().dispatcher;
    _KTHREAD* self = ps::current_thread();
    DISPATCHER_HEADER* objects[kWaitsPerThread + 1];
    Object* seen[kWaitsPerThread + 1];
    uint64_t seq[kWaitsPerThread + 1];
    void* held[kWaitsPerThread + 1];
    std::vector<void*> drop;
    std::vector<Wake> wakes;
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
                    wakes.push_back(fire_locked(o, WAIT_OBJECT_0, now, &drop));
            } else if (s == STATUS_TIMEOUT) {
                // Nothing signaled: every wait whose time has come times out.
                for (size_t k = 0; k < w->waits.size();) {
                    Object* o = w->waits[k];
                    size_t before = w->waits.size();
                    if (o->due <= now) wakes.push_back(fire_locked(o, WAIT_TIMEOUT, now, &drop));
                    if (w->waits.size() == before) ++k;  // a wait that stays (re-armed) or was not due
                }
            }
            if (serves_timers)
                for (size_t k = 0; k < timers.size();) {
                    Object* t = timers[k];
                    size_t before = timers.size();
                    if (t->due <= now) wakes.push_back(fire_locked(t, 0, now, &drop));
                    if (timers.size() == before) ++k;
                }
        }
        lock.unlock();
        for (ULONG k = 1; k < n; ++k) ob::dereference(held[k]);
        for (void* body : drop)
            if (body) ob::dereference(body);
        for (Wake wk : wakes) act(wk);
        drop.clear();
        wakes.clear();
    }
}

void Pool::invoke(Object* o, Completion* c) {
    _TP_CALLBACK_INSTANCE instance{o};
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

namespace {

bool environment_ok(PTP_CALLBACK_ENVIRON env) {
    // Only the default pool exists, and no cleanup groups (docs/compat.md).
    if (env && (env->Pool || env->CleanupGroup)) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return false;
    }
    return true;
}

// A one-shot object (TrySubmitThreadpoolCallback, QueueUserWorkItem), queued at once
// and freed after its callback.
void submit_once(Kind kind, void* callback, void* context) {
    auto* o = new Object(kind);
    o->callback = callback;
    o->context = context;
    o->closed = true;
    o->submitted = 1;
    Pool* p = pool();
    o->pool = p;
    p->lock.lock();
    InsertTailList(&p->objects, &o->pool_link);
    if (p->stopping) {
        // Teardown has begun: never runs; freed with the pool's objects.
        p->lock.unlock();
        return;
    }
    p->sync_idle(o);
    p->make_ready(o);
    Pool::Wake w = p->claim_worker();
    p->lock.unlock();
    p->act(w);
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

// Closing a wait or timer stops it first (S-TP-17): no callback is queued afterwards.
void close_object(Object* o) {
    Pool* p = o->pool;
    p->lock.lock();
    o->closed = true;
    Waiter* kick;
    void* body = p->disarm_locked(o, &kick);
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
    if (fresh) Pool::start_thread(&waiter_main, fresh);
    return was;
}

// Sets (due not kNever) or stops a timer. Returns whether it was set.
bool set_timer(Object* o, ke::Ticks due, ke::Ticks period) {
    Pool* p = o->pool;
    p->lock.lock();
    if (p->stopping) {
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
    if (fresh) Pool::start_thread(&waiter_main, fresh);
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
        o->closed = true;
        free = p->unlink_if_freeable(o);
    }
    p->lock.unlock();
    if (body) ob::dereference(body);
    if (wait_here) {
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

// Binds `file` to the pool with `o` as its key; frees `o` and sets the error on failure.
bool bind(Object* o, HANDLE file) {
    Pool* p = pool();
    o->bound = true;
    p->add(o);
    NTSTATUS s = io::associate_completion_port(file, p->port, reinterpret_cast<ULONG_PTR>(o));
    if (NT_SUCCESS(s)) return true;
    p->lock.lock();
    RemoveEntryList(&o->pool_link);
    p->lock.unlock();
    free_object(o);
    set_error_from_status(s);
    return false;
}

}  // namespace
}  // namespace ntio::win32::tp

namespace ntio::win32 {

void stop_thread_pool(System::Impl& s) {
    auto* p = static_cast<tp::Pool*>(s.thread_pool.load(std::memory_order_acquire));
    if (!p) return;
    std::vector<void*> waited;
    p->lock.lock();
    p->stopping = true;
    for (LIST_ENTRY* e = p->objects.Flink; e != &p->objects; e = e->Flink) {
        auto* o = CONTAINING_RECORD(e, tp::Object, pool_link);
        p->drop_queued(o);
        tp::Waiter* kick;
        if (void* body = p->disarm_locked(o, &kick)) waited.push_back(body);
        p->sync_idle(o);
    }
    // Waiter threads see `stopping` and end.
    for (tp::Waiter* w : p->waiters) KeSetEvent(&w->control, IO_NO_INCREMENT, FALSE);
    unsigned idle = p->idle;
    p->idle = 0;
    p->lock.unlock();
    for (void* body : waited) ob::dereference(body);
    if (idle) KeReleaseSemaphore(&p->wake, IO_NO_INCREMENT, static_cast<LONG>(idle), FALSE);
}

void release_thread_pool(System::Impl& s) {
    auto* p = static_cast<tp::Pool*>(s.thread_pool.exchange(nullptr, std::memory_order_acq_rel));
    if (!p) return;
    std::vector<tp::Object*> dead;
    p->lock.lock();
    for (LIST_ENTRY* e = p->objects.Flink; e != &p->objects;) {
        auto* o = CONTAINING_RECORD(e, tp::Object, pool_link);
        e = e->Flink;
        // Every worker has ended: nothing runs. An object still bound to a file object
        // that outlives the runtime goes with that binding.
        o->closed = true;
        o->started = 0;
        o->running = o->active = 0;
        o->done_event = nullptr;  // the program's handles are closed by now
        o->armed = false;         // disarmed when the pool stopped
        p->sync_idle(o);
        if (p->unlink_if_freeable(o)) dead.push_back(o);
    }
    p->lock.unlock();
    for (tp::Object* o : dead) tp::free_object(o);
    ob::dereference(p->port);  // the pool's reference; the last one frees the pool
}

}  // namespace ntio::win32

using namespace ntio::win32::tp;

extern "C" {

// ---- work (S-TP-1..5) ---------------------------------------------------------------

PTP_WORK CreateThreadpoolWork(PTP_WORK_CALLBACK pfnwk, PVOID pv, PTP_CALLBACK_ENVIRON pcbe) {
    if (!pfnwk) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return nullptr;
    }
    if (!environment_ok(pcbe)) return nullptr;
    auto* w = new (std::nothrow) _TP_WORK(Kind::work);
    if (!w) {
        set_last_error(ERROR_NOT_ENOUGH_MEMORY);
        return nullptr;
    }
    w->callback = reinterpret_cast<void*>(pfnwk);
    w->context = pv;
    pool()->add(w);
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
    if (!environment_ok(pcbe)) return FALSE;
    submit_once(Kind::simple, reinterpret_cast<void*>(pfns), pv);
    return TRUE;
}

BOOL QueueUserWorkItem(LPTHREAD_START_ROUTINE Function, PVOID Context, ULONG Flags) {
    (void)Flags;  // S-TP-10: every flag runs on the one pool
    if (!Function) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    submit_once(Kind::user_work, reinterpret_cast<void*>(Function), Context);
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
    if (!environment_ok(pcbe)) return nullptr;
    auto* o = new (std::nothrow) _TP_IO(Kind::io);
    if (!o) {
        set_last_error(ERROR_NOT_ENOUGH_MEMORY);
        return nullptr;
    }
    o->callback = reinterpret_cast<void*>(pfnio);
    o->context = pv;
    return bind(o, fl) ? o : nullptr;
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
    return bind(o, FileHandle) ? TRUE : FALSE;
}

// ---- waits (S-TP-13..15) --------------------------------------------------------------

PTP_WAIT CreateThreadpoolWait(PTP_WAIT_CALLBACK pfnwa, PVOID pv, PTP_CALLBACK_ENVIRON pcbe) {
    if (!pfnwa) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return nullptr;
    }
    if (!environment_ok(pcbe)) return nullptr;
    auto* o = new (std::nothrow) _TP_WAIT(Kind::wait);
    if (!o) {
        set_last_error(ERROR_NOT_ENOUGH_MEMORY);
        return nullptr;
    }
    o->callback = reinterpret_cast<void*>(pfnwa);
    o->context = pv;
    pool()->add(o);
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
    if (!environment_ok(pcbe)) return nullptr;
    auto* o = new (std::nothrow) _TP_TIMER(Kind::timer);
    if (!o) {
        set_last_error(ERROR_NOT_ENOUGH_MEMORY);
        return nullptr;
    }
    o->callback = reinterpret_cast<void*>(pfnti);
    o->context = pv;
    pool()->add(o);
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

// ---- RegisterWaitForSingleObject and the default timer queue (S-TP-18..20) -----------

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

BOOL CreateTimerQueueTimer(PHANDLE phNewTimer, HANDLE TimerQueue, WAITORTIMERCALLBACK Callback, PVOID Parameter,
                           DWORD DueTime, DWORD Period, ULONG Flags) {
    // Only the default queue (docs/compat.md).
    if (!phNewTimer || !Callback || TimerQueue) {
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
    pool()->add(o);
    *phNewTimer = o;
    ke::Ticks period = (Flags & WT_EXECUTEONLYONCE) ? 0 : ke::Ticks(Period) * ke::kTicksPerMs;
    set_timer(o, sys().dispatcher.now() + ke::Ticks(DueTime) * ke::kTicksPerMs, period);
    return TRUE;
}

BOOL ChangeTimerQueueTimer(HANDLE TimerQueue, HANDLE Timer, ULONG DueTime, ULONG Period) {
    if (!Timer || TimerQueue) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    auto* o = static_cast<Object*>(Timer);
    set_timer(o, sys().dispatcher.now() + ke::Ticks(DueTime) * ke::kTicksPerMs, ke::Ticks(Period) * ke::kTicksPerMs);
    return TRUE;
}

BOOL DeleteTimerQueueTimer(HANDLE TimerQueue, HANDLE Timer, HANDLE CompletionEvent) {
    if (!Timer || TimerQueue) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    return unregister(static_cast<Object*>(Timer), CompletionEvent);
}

}  // extern "C"
