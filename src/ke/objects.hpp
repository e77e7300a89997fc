// Internal entry points shared by the Ke* and Nt*/Win32 layers.
#pragma once
#include "ke/dispatcher.hpp"

namespace ntio::ke {
LONG set_event(KEVENT* event);
LONG reset_event(KEVENT* event);
LONG pulse_event(KEVENT* event);
NTSTATUS release_semaphore(KSEMAPHORE* s, LONG adjustment, LONG* previous);
void init_mutant(KMUTANT* m, _KTHREAD* initial_owner);
NTSTATUS release_mutant(KMUTANT* m, _KTHREAD* self, LONG* previous);
void abandon_mutants_locked(Dispatcher& d, _KTHREAD* t);
void unlink_mutant_on_delete(KMUTANT* m);
// Waits on dispatcher objects for the calling thread (adopting it if needed).
NTSTATUS wait_objects(ULONG count, DISPATCHER_HEADER* const* objects, WAIT_TYPE type, const LARGE_INTEGER* timeout);
}  // namespace ntio::ke
