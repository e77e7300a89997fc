// User APCs (S-KE-9, S-CMP-9 step 4, S-W32-2): routines queued to a thread that run
// when it next waits alertably in user mode. The queue and the wake-up are the
// dispatcher's (Dispatcher::queue_user_apc); this is the part the services call.
#pragma once
#include "ke/dispatcher.hpp"

namespace ntio::ke {

// Runs the APCs queued to the calling thread, oldest first, until none is left (one
// queued by a routine runs in the same delivery). Returns whether any ran. Called by
// the Nt services where Windows delivers them: on the way back to user mode after an
// alertable wait ended with STATUS_USER_APC, and by NtTestAlert.
bool deliver_user_apcs();

// A user-mode wait service's epilogue: runs the APCs when `status` says the wait was
// ended for them. Returns `status`.
inline NTSTATUS user_wait_result(NTSTATUS status) {
    if (status == STATUS_USER_APC) [[unlikely]]
        deliver_user_apcs();
    return status;
}

// Frees what is still queued to a thread object being destroyed.
void free_user_apcs(_KTHREAD* thread);

}  // namespace ntio::ke
