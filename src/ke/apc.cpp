// User APCs: the per-thread queue, the alertable wake-up and delivery (ke/apc.hpp).
//
// Windows keeps a KAPC per APC (inside the IRP for an I/O completion). ntio's IRPs are
// freed as they complete, so a completion's APC is a node of its own; nodes are
// recycled through the dispatcher's spare list, under the dispatcher lock that also
// guards the queues and the waits they end.
#include "ke/apc.hpp"

#include <cstdlib>

#include "ps/thread.hpp"
#include "system.hpp"

namespace ntio::ke {
namespace {

// Spare nodes kept beyond this are freed: a burst does not pin its memory for good.
constexpr uint32_t kMaxSpareApcs = 256;

// NtQueueApcThread's routine (KNORMAL_ROUTINE's shape).
using NormalRoutine = void (*)(void* context, void* argument1, void* argument2);

}  // namespace

bool Dispatcher::user_apc_ends_wait_locked(const _KTHREAD* self, bool alertable) {
    return alertable && !IsListEmpty(&self->user_apcs);
}

NTSTATUS Dispatcher::queue_user_apc(_KTHREAD* thread, const UserApc& apc) {
    UserApcNode* fresh = nullptr;
    for (;;) {
        lock();
        if (thread->terminated.load(std::memory_order_relaxed)) {
            unlock();
            std::free(fresh);
            return STATUS_UNSUCCESSFUL;
        }
        UserApcNode* node = fresh;
        if (!node && m_apc_spare) {
            node = m_apc_spare;
            m_apc_spare = reinterpret_cast<UserApcNode*>(node->link.Flink);
            --m_apc_spare_count;
        }
        if (node) {
            node->apc = apc;
            InsertTailList(&thread->user_apcs, &node->link);
            if (thread->waiting && thread->alertable) unwait_locked(thread, STATUS_USER_APC);
            unlock();
            return STATUS_SUCCESS;
        }
        unlock();
        fresh = static_cast<UserApcNode*>(std::malloc(sizeof(UserApcNode)));
        if (!fresh) return STATUS_NO_MEMORY;
    }
}

bool Dispatcher::take_user_apc(_KTHREAD* self, UserApc* out) {
    UserApcNode* excess = nullptr;
    lock();
    if (IsListEmpty(&self->user_apcs)) {
        unlock();
        return false;
    }
    auto* node = CONTAINING_RECORD(RemoveHeadList(&self->user_apcs), UserApcNode, link);
    *out = node->apc;
    if (m_apc_spare_count < kMaxSpareApcs) {
        node->link.Flink = reinterpret_cast<LIST_ENTRY*>(m_apc_spare);
        m_apc_spare = node;
        ++m_apc_spare_count;
    } else {
        excess = node;
    }
    unlock();
    std::free(excess);
    return true;
}

bool Dispatcher::has_user_apcs(_KTHREAD* self) {
    Guard g(*this);
    return !IsListEmpty(&self->user_apcs);
}

void Dispatcher::discard_user_apcs_locked(_KTHREAD* thread) {
    while (!IsListEmpty(&thread->user_apcs)) {
        auto* node = CONTAINING_RECORD(RemoveHeadList(&thread->user_apcs), UserApcNode, link);
        // Into the spare list whatever its length: no free under the lock.
        node->link.Flink = reinterpret_cast<LIST_ENTRY*>(m_apc_spare);
        m_apc_spare = node;
        ++m_apc_spare_count;
    }
}

void Dispatcher::free_spare_apcs() {
    while (UserApcNode* node = m_apc_spare) {
        m_apc_spare = reinterpret_cast<UserApcNode*>(node->link.Flink);
        std::free(node);
    }
    m_apc_spare_count = 0;
}

bool deliver_user_apcs() {
    _KTHREAD* self = ps::current_thread();
    Dispatcher& d = self->system->dispatcher;
    bool ran = false;
    UserApc apc;
    while (d.take_user_apc(self, &apc)) {
        ran = true;
        if (apc.io)
            reinterpret_cast<PIO_APC_ROUTINE>(apc.routine)(apc.context, static_cast<PIO_STATUS_BLOCK>(apc.argument1),
                                                           0);
        else
            reinterpret_cast<NormalRoutine>(apc.routine)(apc.context, apc.argument1, apc.argument2);
    }
    return ran;
}

void free_user_apcs(_KTHREAD* thread) {
    while (!IsListEmpty(&thread->user_apcs))
        std::free(CONTAINING_RECORD(RemoveHeadList(&thread->user_apcs), UserApcNode, link));
}

}  // namespace ntio::ke
