#include "ke/dispatcher.hpp"

#include <ctime>
#include <stdexcept>
#include <thread>

#include "ps/thread.hpp"
#include "trace/trace.hpp"
#include "verifier/report.hpp"

namespace ntio::ke {
namespace {

// Virtual interrupt time starts at a fixed value (1000 s "since boot") so that
// runs are reproducible; differences are what programs measure.
constexpr Ticks kVirtualOrigin = 1000 * 1000 * kTicksPerMs;
// 100 ns intervals between 1601-01-01 and 1970-01-01.
constexpr Ticks kUnixEpochAsNt = 116444736000000000LL;
// Guard against an idle point that would advance forever (periodic timers nobody waits for).
constexpr int kMaxExpiriesPerIdlePoint = 1 << 20;

Ticks monotonic_ticks() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<Ticks>(ts.tv_sec) * 10000000 + ts.tv_nsec / 100;
}

Ticks wall_ticks_nt() {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return kUnixEpochAsNt + static_cast<Ticks>(ts.tv_sec) * 10000000 + ts.tv_nsec / 100;
}

_KTHREAD* wait_timer_owner(KTIMER* t) { return reinterpret_cast<_KTHREAD*>(t->Dpc); }

// Trivially destructible (see ps::watch_thread_exit); freed by thread_exit_cleanup.
thread_local std::vector<_KTHREAD*>* t_wakes = nullptr;

}  // namespace

void thread_exit_cleanup() {
    delete t_wakes;
    t_wakes = nullptr;
}

Dispatcher::Dispatcher(ClockMode mode, int wait_spin, int stall_warning_ms)
    : m_mode(mode), m_wait_spin(wait_spin < 0 ? 0 : wait_spin), m_stall_warning_ms(stall_warning_ms) {
    InitializeListHead(&m_timers);
    InitializeListHead(&m_dpcs);
    m_dpc_event.Header.Type = kEventSynchronization;
    ntio::ke::set_signal_state(&m_dpc_event.Header, 0);
    InitializeListHead(&m_dpc_event.Header.WaitListHead);
    m_interrupt_origin = is_virtual() ? kVirtualOrigin : monotonic_ticks();
    m_virtual_now.store(kVirtualOrigin);
    m_system_time_origin = wall_ticks_nt();
    m_deferred_wakes.reserve(64);
    for (DISPATCHER_HEADER& b : m_address_buckets) {
        b.Type = kAddressBucket;
        b.Waiters = 0;
        b.SignalState = 0;
        InitializeListHead(&b.WaitListHead);
    }
    if (is_virtual() && m_stall_warning_ms > 0) m_watchdog = new std::thread([this] { watchdog_loop(); });
}

Dispatcher::~Dispatcher() {
    if (auto* w = static_cast<std::thread*>(m_watchdog)) {
        m_watchdog_stop.store(1);
        futex_wake(m_watchdog_stop, 1);
        w->join();
        delete w;
    }
    {
        Guard g(*this);
        m_clock_stop = true;
        m_clock_seq.fetch_add(1);
    }
    futex_wake(m_clock_seq, 1);
    if (auto* t = static_cast<std::thread*>(m_clock_thread)) {
        t->join();
        delete t;
    }
    free_spare_apcs();
}

Ticks Dispatcher::now() const {
    return is_virtual() ? m_virtual_now.load(std::memory_order_acquire) : monotonic_ticks();
}

Ticks Dispatcher::deadline_for(LONGLONG timeout) const {
    if (timeout < 0) {
        Ticks n = now();
        return (timeout == INT64_MIN || n > kNever + timeout) ? kNever : n - timeout;
    }
    // Absolute system time.
    return m_interrupt_origin + (timeout - m_system_time_origin);
}

// ---- lock -----------------------------------------------------------------------

void Dispatcher::lock() {
    m_lock.lock();
    m_activity.store(m_activity.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

void Dispatcher::unlock() {
    bool kick_clock = false;
    if (m_clock_seq_kick) {
        m_clock_seq_kick = false;
        kick_clock = true;
    }
    if (m_deferred_wakes.empty()) {
        m_lock.unlock();
    } else {
        if (!t_wakes) {
            t_wakes = new std::vector<_KTHREAD*>();
            ps::watch_thread_exit();
        }
        std::vector<_KTHREAD*>& wakes = *t_wakes;
        wakes.clear();
        std::swap(wakes, m_deferred_wakes);
        m_lock.unlock();
        for (_KTHREAD* t : wakes) {
            t->park.store(1, std::memory_order_release);
            futex_wake(t->park, 1);
            ps::dereference(t);
        }
        wakes.clear();
    }
    if (kick_clock) futex_wake(m_clock_seq, 1);
}

// ---- object state -------------------------------------------------------------------

bool Dispatcher::is_signaled_locked(const DISPATCHER_HEADER* object, const _KTHREAD* thread) {
    if (object->Type == kMutant)
        return state_of(object) > 0 || reinterpret_cast<const KMUTANT*>(object)->OwnerThread == thread;
    // Acquire: a notification event may have been set without the lock (set_event's
    // lock-free path), and what its setter wrote before (an IOSB) must be visible.
    return signal_state(object) > 0;
}

bool Dispatcher::consume_locked(DISPATCHER_HEADER* object, _KTHREAD* thread) {
    switch (object->Type) {
    case kEventSynchronization:
    case kTimerSynchronization:
        ntio::ke::set_signal_state(object, 0);
        return false;
    case kSemaphore:
        set_signal_state(object, state_of(object) - 1);
        return false;
    case kMutant: {
        auto* m = reinterpret_cast<KMUTANT*>(object);
        set_signal_state(&m->Header, state_of(&m->Header) - 1);
        if (state_of(&m->Header) == 0) {
            m->OwnerThread = thread;
            InsertTailList(&thread->owned_mutants, &m->MutantListEntry);
        }
        if (m->Abandoned) {
            m->Abandoned = FALSE;
            return true;
        }
        return false;
    }
    default:  // notification events and timers, threads: waiting does not consume
        return false;
    }
}

void Dispatcher::wait_test_locked(DISPATCHER_HEADER* object) {
restart:
    for (LIST_ENTRY* e = object->WaitListHead.Flink; e != &object->WaitListHead; e = e->Flink) {
        if (state_of(object) <= 0 && object->Type != kMutant) return;
        auto* wb = CONTAINING_RECORD(e, WaitBlock, entry);
        _KTHREAD* t = wb->thread;
        if (wb->wait_type == WaitAny) {
            if (!is_signaled_locked(object, t)) continue;
            bool abandoned = consume_locked(object, t);
            unwait_locked(t, (abandoned ? STATUS_ABANDONED_WAIT_0 : STATUS_WAIT_0) + wb->key);
            goto restart;
        }
        bool all = true;
        for (uint32_t j = 0; j < t->wait_count && all; ++j) all = is_signaled_locked(t->wait_blocks[j].object, t);
        if (!all) continue;
        bool abandoned = false;
        for (uint32_t j = 0; j < t->wait_count; ++j) abandoned |= consume_locked(t->wait_blocks[j].object, t);
        unwait_locked(t, abandoned ? STATUS_ABANDONED_WAIT_0 : STATUS_SUCCESS);
        goto restart;
    }
}

void Dispatcher::unwait_locked(_KTHREAD* t, NTSTATUS status) {
    if (t->queue_slot_released) [[unlikely]] {
        // Running again counts against its completion port's concurrency (S-W32-16).
        t->queue_slot_released = false;
        if (t->queue) t->queue->current_count++;
    }
    remove_wait_blocks_locked(t);
    if (t->wait_timer.Header.Inserted) remove_timer_locked(&t->wait_timer);
    t->wait_status = status;
    t->waiting = false;
    t->alertable = false;
    m_running.fetch_add(1, std::memory_order_relaxed);
    ps::reference(t);
    m_deferred_wakes.push_back(t);
}

// ---- waiting ------------------------------------------------------------------------

NTSTATUS Dispatcher::try_wait_one(DISPATCHER_HEADER* object) {
    switch (object->Type) {
    case kEventNotification:
    case kTimerNotification:
    case kThread:
    case kProcess:
        return signal_state(object) > 0 ? STATUS_WAIT_0 : STATUS_PENDING;
    case kEventSynchronization:
    case kTimerSynchronization:
    case kSemaphore: {
        if (signal_state(object) <= 0) return STATUS_PENDING;
        lock();
        bool satisfied = state_of(object) > 0;
        if (satisfied) consume_locked(object, nullptr);
        unlock();
        return satisfied ? STATUS_WAIT_0 : STATUS_PENDING;
    }
    default:  // mutants depend on the calling thread
        return STATUS_PENDING;
    }
}

// Satisfies the wait at once if the objects allow it (lock held).
NTSTATUS Dispatcher::try_satisfy_locked(_KTHREAD* self, ULONG count, DISPATCHER_HEADER* const* objects,
                                        WAIT_TYPE type) {
    if (type == WaitAny) {
        for (ULONG i = 0; i < count; ++i) {
            if (is_signaled_locked(objects[i], self)) {
                bool abandoned = consume_locked(objects[i], self);
                return static_cast<NTSTATUS>((abandoned ? STATUS_ABANDONED_WAIT_0 : STATUS_WAIT_0) + i);
            }
        }
    } else if (count > 0) {
        bool all = true;
        for (ULONG i = 0; i < count && all; ++i) all = is_signaled_locked(objects[i], self);
        if (all) {
            bool abandoned = false;
            for (ULONG i = 0; i < count; ++i) abandoned |= consume_locked(objects[i], self);
            return abandoned ? STATUS_ABANDONED_WAIT_0 : STATUS_SUCCESS;
        }
    }
    return STATUS_PENDING;
}

void Dispatcher::remove_wait_blocks_locked(_KTHREAD* t) {
    for (uint32_t i = 0; i < t->wait_count; ++i) {
        DISPATCHER_HEADER* object = t->wait_blocks[i].object;
        RemoveEntryList(&t->wait_blocks[i].entry);
        if (IsListEmpty(&object->WaitListHead)) __atomic_store_n(&object->Waiters, 0, __ATOMIC_RELAXED);
    }
    t->wait_count = 0;
}

NTSTATUS Dispatcher::wait(_KTHREAD* self, ULONG count, DISPATCHER_HEADER* const* objects, WAIT_TYPE type,
                          Ticks deadline, bool poll, bool alertable) {
    lock();
    NTSTATUS status = try_satisfy_locked(self, count, objects, type);
    if (status != STATUS_PENDING) {
        unlock();
        return status;
    }
    // Signaled objects win over queued APCs, and APCs over the timeout (S-APC-2).
    if (user_apc_ends_wait_locked(self, alertable)) [[unlikely]] {
        unlock();
        return STATUS_USER_APC;
    }
    if (poll || (deadline != kNever && deadline <= now())) {
        unlock();
        return STATUS_TIMEOUT;
    }

    for (ULONG i = 0; i < count; ++i) {
        WaitBlock& wb = self->wait_blocks[i];
        wb.object = objects[i];
        wb.thread = self;
        wb.key = static_cast<uint16_t>(i);
        wb.wait_type = static_cast<uint8_t>(type);
        InsertTailList(&objects[i]->WaitListHead, &wb.entry);
        __atomic_store_n(&objects[i]->Waiters, 1, __ATOMIC_SEQ_CST);
    }
    self->wait_count = count;
    // A notification event may have been set without the lock between the check above
    // and the flags: look again now that setters will see the flags.
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    status = try_satisfy_locked(self, count, objects, type);
    if (status != STATUS_PENDING) {
        remove_wait_blocks_locked(self);
        unlock();
        return status;
    }
    if (self->queue) [[unlikely]] {
        // A completion-port thread that blocks here frees its slot (S-W32-16).
        queue_thread_stopped_locked(self->queue);
        self->queue_slot_released = true;
    }
    if (trace::enabled()) [[unlikely]] {
        // Only waits that block are traced: a slice on the thread from here to the wake.
        Ticks began = now();
        NTSTATUS result = block_locked(self, deadline, alertable);
        trace::waited(began, result, count);
        return result;
    }
    return block_locked(self, deadline, alertable);
}

NTSTATUS Dispatcher::block_locked(_KTHREAD* self, Ticks deadline, bool alertable) {
    self->waiting = true;
    self->alertable = alertable;
    self->wait_status = STATUS_PENDING;
    self->park.store(0, std::memory_order_relaxed);
    if (deadline != kNever && is_virtual()) {
        self->wait_timer.DueTime.QuadPart = static_cast<ULONGLONG>(deadline);
        insert_timer_locked(&self->wait_timer);
    }
    thread_blocked_locked();
    unlock();

    if (deadline != kNever && !is_virtual()) {
        // Real clock: the waiter times itself out.
        while (self->park.load(std::memory_order_acquire) == 0) {
            Ticks left = deadline - now();
            if (left <= 0) {
                lock();
                if (self->waiting) unwait_locked(self, STATUS_TIMEOUT);
                unlock();
                continue;
            }
            futex_wait(self->park, 0, left * 100);
        }
    } else {
        for (int i = 0; i < m_wait_spin && self->park.load(std::memory_order_acquire) == 0; ++i) cpu_relax();
        while (self->park.load(std::memory_order_acquire) == 0) futex_wait(self->park, 0);
    }
    return self->wait_status;
}

// ---- timers -------------------------------------------------------------------------

void Dispatcher::insert_timer_locked(KTIMER* timer) {
    // Most new deadlines are the latest, so search from the tail.
    LIST_ENTRY* pos = m_timers.Blink;
    while (pos != &m_timers && CONTAINING_RECORD(pos, KTIMER, TimerListEntry)->DueTime.QuadPart > timer->DueTime.QuadPart)
        pos = pos->Blink;
    InsertHeadList(pos, &timer->TimerListEntry);
    timer->Header.Inserted = TRUE;
    ++m_timer_count;
    if (timer->Header.Type != kWaitTimeout) m_dpc_timers.fetch_add(1, std::memory_order_relaxed);
    if (!is_virtual() && timer->Header.Type != kWaitTimeout && m_timers.Flink == &timer->TimerListEntry) {
        ensure_clock_thread_locked();
        m_clock_seq.fetch_add(1, std::memory_order_relaxed);
        m_clock_seq_kick = true;
    }
}

void Dispatcher::remove_timer_locked(KTIMER* timer) {
    RemoveEntryList(&timer->TimerListEntry);
    timer->Header.Inserted = FALSE;
    --m_timer_count;
    if (timer->Header.Type != kWaitTimeout) m_dpc_timers.fetch_sub(1, std::memory_order_relaxed);
}

bool Dispatcher::set_timer(KTIMER* timer, Ticks due, Ticks period, KDPC* dpc) {
    Guard g(*this);
    bool was_set = timer->Header.Inserted;
    if (was_set) remove_timer_locked(timer);
    ntio::ke::set_signal_state(&timer->Header, 0);
    timer->Dpc = dpc;
    timer->NtioPeriod = period > 0 ? period : 0;
    timer->Period = static_cast<ULONG>(timer->NtioPeriod / 10000);
    timer->DueTime.QuadPart = static_cast<ULONGLONG>(due);
    insert_timer_locked(timer);
    if (due <= now()) process_until_locked(now());
    return was_set;
}

bool Dispatcher::cancel_timer(KTIMER* timer) {
    Guard g(*this);
    bool was_set = timer->Header.Inserted;
    if (was_set) remove_timer_locked(timer);
    return was_set;
}

bool Dispatcher::make_last_expiry(KTIMER* timer) {
    Guard g(*this);
    if (!timer->Header.Inserted) return false;
    timer->NtioPeriod = 0;
    timer->Period = 0;
    return true;
}

bool Dispatcher::timer_or_dpc_pending(const KTIMER* timer, const KDPC* dpc) {
    Guard g(*this);
    return timer->Header.Inserted || dpc->DpcData != nullptr;
}

size_t Dispatcher::pending_timers() const {
    auto* self = const_cast<Dispatcher*>(this);
    Guard g(*self);
    return m_timer_count;
}

void Dispatcher::expire_locked(KTIMER* timer, Ticks now) {
    if (timer->Header.Type == kWaitTimeout) {
        _KTHREAD* t = wait_timer_owner(timer);
        if (t->waiting) unwait_locked(t, STATUS_TIMEOUT);
        return;
    }
    ntio::ke::set_signal_state(&timer->Header, 1);
    wait_test_locked(&timer->Header);
    Ticks expiry_system_time = m_system_time_origin + (now - m_interrupt_origin);
    if (timer->Dpc)
        queue_dpc_locked(timer->Dpc, reinterpret_cast<void*>(static_cast<uintptr_t>(expiry_system_time & 0xffffffff)),
                         reinterpret_cast<void*>(static_cast<uintptr_t>(expiry_system_time >> 32)));
    if (timer->NtioPeriod > 0) {
        timer->DueTime.QuadPart += static_cast<ULONGLONG>(timer->NtioPeriod);
        insert_timer_locked(timer);
    }
}

void Dispatcher::process_until_locked(Ticks now) {
    while (!IsListEmpty(&m_timers)) {
        KTIMER* first = CONTAINING_RECORD(m_timers.Flink, KTIMER, TimerListEntry);
        if (static_cast<Ticks>(first->DueTime.QuadPart) > now) break;
        remove_timer_locked(first);
        expire_locked(first, static_cast<Ticks>(first->DueTime.QuadPart));
    }
}

// ---- DPCs ------------------------------------------------------------------------------

bool Dispatcher::queue_dpc_locked(KDPC* dpc, void* arg1, void* arg2) {
    if (dpc->DpcData) return false;
    dpc->DpcData = this;
    dpc->SystemArgument1 = arg1;
    dpc->SystemArgument2 = arg2;
    if (dpc->Importance == 2 /* HighImportance */)
        InsertHeadList(&m_dpcs, &dpc->DpcListEntry);
    else
        InsertTailList(&m_dpcs, &dpc->DpcListEntry);
    m_dpcs_queued.fetch_add(1, std::memory_order_relaxed);
    if (state_of(&m_dpc_event.Header) == 0) {
        ntio::ke::set_signal_state(&m_dpc_event.Header, 1);
        wait_test_locked(&m_dpc_event.Header);
    }
    return true;
}

bool Dispatcher::queue_dpc(KDPC* dpc, void* arg1, void* arg2) {
    Guard g(*this);
    return queue_dpc_locked(dpc, arg1, arg2);
}

bool Dispatcher::queue_dpc_held(KDPC* dpc, void* arg1, void* arg2, _KTHREAD* holder) {
    Guard g(*this);
    if (dpc->DpcData) return false;
    dpc->DpcData = holder;  // not `this`: held, not in m_dpcs
    dpc->SystemArgument1 = arg1;
    dpc->SystemArgument2 = arg2;
    InsertTailList(&holder->held_dpcs, &dpc->DpcListEntry);
    return true;
}

void Dispatcher::release_held_dpcs(_KTHREAD* holder) {
    Guard g(*this);
    // In the order they were queued, each as queue_dpc_locked places it.
    while (!IsListEmpty(&holder->held_dpcs)) {
        KDPC* dpc = CONTAINING_RECORD(RemoveHeadList(&holder->held_dpcs), KDPC, DpcListEntry);
        dpc->DpcData = nullptr;
        queue_dpc_locked(dpc, dpc->SystemArgument1, dpc->SystemArgument2);
    }
}

bool Dispatcher::remove_dpc(KDPC* dpc) {
    Guard g(*this);
    if (!dpc->DpcData) return false;
    RemoveEntryList(&dpc->DpcListEntry);
    if (dpc->DpcData == this) m_dpcs_queued.fetch_sub(1, std::memory_order_relaxed);
    dpc->DpcData = nullptr;
    return true;
}

std::vector<Dispatcher::PendingDpc> Dispatcher::cancel_dpcs_in(DpcMatch match, uintptr_t begin, uintptr_t end) {
    auto within = [&](const void* p, size_t size) {
        auto a = reinterpret_cast<uintptr_t>(p);
        return a < end && a + size > begin;
    };
    std::vector<PendingDpc> out;
    Guard g(*this);
    for (LIST_ENTRY* e = m_timers.Flink; e != &m_timers;) {
        KTIMER* t = CONTAINING_RECORD(e, KTIMER, TimerListEntry);
        e = e->Flink;  // before the entry leaves the list
        if (t->Header.Type == kWaitTimeout) continue;
        bool held = match == DpcMatch::routine
                        ? t->Dpc && within(reinterpret_cast<const void*>(t->Dpc->DeferredRoutine), 1)
                        : within(t, sizeof(KTIMER)) || (t->Dpc && within(t->Dpc, sizeof(KDPC)));
        if (!held) continue;
        out.push_back({t, t->Dpc, t->Dpc ? t->Dpc->DeferredRoutine : nullptr});
        remove_timer_locked(t);
    }
    for (LIST_ENTRY* e = m_dpcs.Flink; e != &m_dpcs;) {
        KDPC* dpc = CONTAINING_RECORD(e, KDPC, DpcListEntry);
        e = e->Flink;
        bool held = match == DpcMatch::routine ? within(reinterpret_cast<const void*>(dpc->DeferredRoutine), 1)
                                               : within(dpc, sizeof(KDPC));
        if (!held) continue;
        out.push_back({nullptr, dpc, dpc->DeferredRoutine});
        RemoveEntryList(&dpc->DpcListEntry);
        m_dpcs_queued.fetch_sub(1, std::memory_order_relaxed);
        dpc->DpcData = nullptr;
    }
    return out;
}

void Dispatcher::flush_dpcs() {
    for (;;) {
        {
            Guard g(*this);
            if (IsListEmpty(&m_dpcs) && m_dpc_active.load() == 0) return;
        }
        sched_yield();
    }
}

void Dispatcher::dpc_loop(_KTHREAD* self) {
    DISPATCHER_HEADER* event = &m_dpc_event.Header;
    t_runs_dpcs = true;
    for (;;) {
        lock();
        while (IsListEmpty(&m_dpcs) && !m_dpc_stop) {
            unlock();
            wait(self, 1, &event, WaitAny, kNever, false);
            lock();
        }
        if (IsListEmpty(&m_dpcs)) {
            unlock();
            return;
        }
        KDPC* dpc = CONTAINING_RECORD(RemoveHeadList(&m_dpcs), KDPC, DpcListEntry);
        m_dpcs_queued.fetch_sub(1, std::memory_order_relaxed);
        PKDEFERRED_ROUTINE routine = dpc->DeferredRoutine;
        void *ctx = dpc->DeferredContext, *a1 = dpc->SystemArgument1, *a2 = dpc->SystemArgument2;
        int target = static_cast<int>(dpc->Number) - 1;  // KeSetTargetProcessorDpc's, or -1
        dpc->DpcData = nullptr;
        m_dpc_active.fetch_add(1);
        unlock();

        KIRQL old = KfRaiseIrql(DISPATCH_LEVEL);
        t_dpc_processor = target;
        routine(dpc, ctx, a1, a2);
        t_dpc_processor = -1;
        if (KeGetCurrentIrql() != DISPATCH_LEVEL)
            verifier::report(verifier::Check::IRQL_UNEXPECTED_VALUE,
                                 fmt::format("DPC routine {} returned at IRQL {} (entered at DISPATCH_LEVEL)",
                                             reinterpret_cast<void*>(routine), KeGetCurrentIrql()));
        KeLowerIrql(old);
        m_dpc_active.fetch_sub(1);
    }
}

void Dispatcher::stop_dpc_thread() {
    Guard g(*this);
    m_dpc_stop = true;
    ntio::ke::set_signal_state(&m_dpc_event.Header, 1);
    wait_test_locked(&m_dpc_event.Header);
}

// ---- real clock thread ----------------------------------------------------------------

void Dispatcher::ensure_clock_thread_locked() {
    if (m_clock_thread_started) return;
    m_clock_thread_started = true;
    m_clock_thread = new std::thread([this] { clock_loop(); });
}

void Dispatcher::clock_loop() {
    lock();
    while (!m_clock_stop) {
        process_until_locked(now());
        Ticks next = kNever;
        for (LIST_ENTRY* e = m_timers.Flink; e != &m_timers; e = e->Flink) {
            KTIMER* t = CONTAINING_RECORD(e, KTIMER, TimerListEntry);
            if (t->Header.Type != kWaitTimeout) {
                next = static_cast<Ticks>(t->DueTime.QuadPart);
                break;
            }
        }
        uint32_t seq = m_clock_seq.load(std::memory_order_relaxed);
        unlock();
        if (next == kNever) {
            futex_wait(m_clock_seq, seq);
        } else {
            Ticks left = next - now();
            if (left > 0) futex_wait(m_clock_seq, seq, left * 100);
        }
        lock();
    }
    unlock();
}

// ---- virtual clock ---------------------------------------------------------------------

void Dispatcher::watchdog_loop() {
    uint64_t last = m_activity.load();
    int quiet_ms = 0;
    bool warned = false;
    const int step_ms = m_stall_warning_ms < 200 ? m_stall_warning_ms : 200;
    while (!m_watchdog_stop.load()) {
        futex_wait(m_watchdog_stop, 0, int64_t(step_ms) * 1000000);
        uint64_t now_activity = m_activity.load();
        if (now_activity != last) {
            last = now_activity;
            quiet_ms = 0;
            warned = false;
            continue;
        }
        quiet_ms += step_ms;
        if (warned || quiet_ms < m_stall_warning_ms) continue;
        int running;
        size_t timers;
        {
            Guard g(*this);
            running = m_running.load();
            timers = m_timer_count;
            last = m_activity.load();  // our own lock acquisition is not activity
        }
        if (running > 0 && timers > 0) {
            warned = true;
            std::fprintf(stderr,
                         "ntio: virtual clock held still for %d ms of real time: %d managed thread(s) count as running, "
                         "%zu timer(s) wait to fire, and nothing happens. A managed thread blocked outside ntio "
                         "(std::thread::join, a std::mutex, read(2), a pipe) holds virtual time; use the Windows wait "
                         "functions, or wrap such a wait in ntio::ExternalWait (docs/virtual-time.md).\n",
                         quiet_ms, running, timers);
        } else if (running == 0 && timers == 0) {
            warned = true;
            std::fprintf(stderr,
                         "ntio: every managed thread has waited for %d ms of real time with no timer pending: the "
                         "program is deadlocked, as it would be on Windows (unless a thread ntio does not manage is "
                         "about to signal something).\n",
                         quiet_ms);
        }
    }
}

void Dispatcher::thread_blocked_locked() {
    if (m_running.fetch_sub(1, std::memory_order_relaxed) == 1 && is_virtual()) idle_point_locked();
}

void Dispatcher::thread_started_locked(_KTHREAD*) { m_running.fetch_add(1, std::memory_order_relaxed); }

void Dispatcher::thread_ended_locked(_KTHREAD* t) {
    if (t->queue) leave_queue_locked(t);
    thread_blocked_locked();
}

void Dispatcher::inhibit() {
    Guard g(*this);
    m_running.fetch_add(1, std::memory_order_relaxed);
}

void Dispatcher::release_inhibit() {
    Guard g(*this);
    thread_blocked_locked();
}

void Dispatcher::idle_point_locked() {
    // Everything due at the current instant fires first: that is not an advance.
    process_until_locked(now());
    if (m_running.load(std::memory_order_relaxed) > 0) return;
    if (m_idle_waiter) {
        _KTHREAD* t = m_idle_waiter;
        m_idle_waiter = nullptr;
        unwait_locked(t, STATUS_SUCCESS);
        return;
    }
    if (!m_auto_advance) return;
    for (int n = 0; m_running.load(std::memory_order_relaxed) == 0 && !IsListEmpty(&m_timers); ++n) {
        if (n == kMaxExpiriesPerIdlePoint) {
            std::fprintf(stderr,
                         "ntio: virtual clock: every managed thread is blocked and only timers nobody waits for "
                         "remain; stopped advancing at %.3f s\n",
                         static_cast<double>(now() - m_interrupt_origin) / 1e7);
            return;
        }
        Ticks next = static_cast<Ticks>(CONTAINING_RECORD(m_timers.Flink, KTIMER, TimerListEntry)->DueTime.QuadPart);
        if (next > now()) m_virtual_now.store(next, std::memory_order_release);
        process_until_locked(next);
    }
}

void Dispatcher::set_auto_advance(bool on) {
    Guard g(*this);
    m_auto_advance = on;
    if (on && m_running.load() == 0 && is_virtual()) idle_point_locked();
}

size_t Dispatcher::run_until_idle(_KTHREAD* self) {
    lock();
    if (m_idle_waiter) {
        unlock();
        throw std::logic_error("ntio: run_until_idle() called from two threads at once");
    }
    m_idle_waiter = self;
    self->wait_count = 0;
    self->waiting = true;
    self->park.store(0, std::memory_order_relaxed);
    // Idle means: every *other* managed thread is blocked; this thread counts as blocked too.
    m_running.fetch_sub(1, std::memory_order_relaxed);
    if (m_running.load(std::memory_order_relaxed) == 0) {
        process_until_locked(now());
        if (m_running.load(std::memory_order_relaxed) == 0) {
            m_idle_waiter = nullptr;
            unwait_locked(self, STATUS_SUCCESS);
        }
    }
    unlock();
    while (self->park.load(std::memory_order_acquire) == 0) futex_wait(self->park, 0);
    return pending_timers();
}

void Dispatcher::advance(Ticks delta) {
    if (!is_virtual()) throw std::logic_error("ntio: advance() needs the virtual clock (Options::clock)");
    _KTHREAD* self = ps::current_thread();
    Ticks target = now() + delta;
    for (;;) {
        {
            Guard g(*this);
            Ticks step = target;
            if (!IsListEmpty(&m_timers)) {
                Ticks next = static_cast<Ticks>(CONTAINING_RECORD(m_timers.Flink, KTIMER, TimerListEntry)->DueTime.QuadPart);
                if (next < step) step = next;
            }
            if (step > now()) m_virtual_now.store(step, std::memory_order_release);
            process_until_locked(step);
        }
        run_until_idle(self);
        if (now() >= target) {
            // Timers set exactly at the target by threads that just ran.
            Guard g(*this);
            bool more = !IsListEmpty(&m_timers) &&
                        static_cast<Ticks>(CONTAINING_RECORD(m_timers.Flink, KTIMER, TimerListEntry)->DueTime.QuadPart) <= target;
            if (!more) return;
        }
    }
}

}  // namespace ntio::ke
