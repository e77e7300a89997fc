// The Win32 thread pool (S-TP-1..12): one default pool per runtime, its work, simple
// and I/O objects, the callback instance's on-return actions, QueueUserWorkItem and
// BindIoCompletionCallback.
//
// Ownership:
//   System::Impl::thread_pool ─▶ Pool ◀─(sink context)─ its CompletionPort (no handle)
//   the Pool's reference and each bound FILE_OBJECT's reference ─▶ CompletionPort
//   the port's last reference gone → the Pool is freed (so a late completion on a
//                                    file still bound never finds it gone)
//   an object (TP_WORK, TP_IO, ...) is freed once it is closed, has nothing queued,
//   announced or running, and (I/O) its file object's binding has gone.
//
// Every count below is guarded by Pool::lock, a spin lock never held across a wait or a
// callback; an object's `idle` event is kept in step with its counts under that lock.
#include "win32/threadpool.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <unistd.h>

#include "io/completion_port.hpp"
#include "ke/spin.hpp"
#include "ps/thread.hpp"
#include "win32/win32.hpp"
#include "wdm.h"

using namespace ntio::win32;
using ntio::sys;
namespace io = ntio::io;
namespace ps = ntio::ps;
namespace ke = ntio::ke;

namespace ntio::win32::tp {

enum class Kind : unsigned char {
    work,       // CreateThreadpoolWork
    simple,     // TrySubmitThreadpoolCallback: runs once, then freed
    user_work,  // QueueUserWorkItem: the same with a thread routine
    io,         // CreateThreadpoolIo
    bound_io,   // BindIoCompletionCallback: every completion, for as long as the file lives
};

struct Pool;

// One completed request waiting for its I/O callback.
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

    explicit Object(Kind k) : kind(k) { KeInitializeEvent(&idle, NotificationEvent, TRUE); }
    bool busy() const { return submitted || queued || started || running; }
    bool freeable() const { return closed && !bound && !busy() && !active; }
};

}  // namespace ntio::win32::tp

struct _TP_WORK : ntio::win32::tp::Object {
    using Object::Object;
};
struct _TP_IO : ntio::win32::tp::Object {
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

unsigned worker_cap() {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return std::max(16u, 2u * static_cast<unsigned>(n > 0 ? n : 1));
}

void free_object(Object* o) {
    if (o->kind == Kind::io) delete static_cast<_TP_IO*>(o);
    else if (o->kind == Kind::work) delete static_cast<_TP_WORK*>(o);
    else delete o;
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
    void recycle(Completion* c) {
        if (spare_count >= 256) {
            delete c;
            return;
        }
        c->next = spare;
        spare = c;
        ++spare_count;
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
        // A program thread (not a system thread): callbacks are the program's code, and
        // stop with the program's other threads at exit (ps::stop_if_program_exiting).
        ps::StartInfo info{_KTHREAD::Entry::win32, reinterpret_cast<void*>(&worker_main), this, false, false, 0};
        _KTHREAD* t = nullptr;
        if (!NT_SUCCESS(ps::create_thread(sys(), info, &t))) {
            std::fprintf(stderr, "ntio: cannot start a thread pool worker thread\n");
            std::abort();
        }
        ps::dereference(t);  // the runtime's thread registry and teardown keep track of it
    }
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
    Completion* c = p->spare;
    if (c) {
        p->spare = c->next;
        --p->spare_count;
    } else {
        c = new (std::nothrow) Completion;
        if (!c) {
            std::fprintf(stderr, "ntio: out of memory queueing a thread pool I/O callback\n");
            std::abort();
        }
    }
    *c = Completion{nullptr, packet.context, packet.status, packet.information};
    if (o->kind == Kind::io) --o->started;
    if (o->tail) o->tail->next = c;
    else o->head = c;
    o->tail = c;
    ++o->queued;
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

void close_object(Object* o) {
    Pool* p = o->pool;
    p->lock.lock();
    o->closed = true;
    bool free = p->unlink_if_freeable(o);
    p->lock.unlock();
    if (free) free_object(o);
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
    p->lock.lock();
    p->stopping = true;
    for (LIST_ENTRY* e = p->objects.Flink; e != &p->objects; e = e->Flink) {
        auto* o = CONTAINING_RECORD(e, tp::Object, pool_link);
        p->drop_queued(o);
        p->sync_idle(o);
    }
    unsigned idle = p->idle;
    p->idle = 0;
    p->lock.unlock();
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

}  // extern "C"
