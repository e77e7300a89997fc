// The structured-exception runtime's side for the rest of libntio (src/ke/exception.cpp).
#pragma once

#include "wdm.h"

namespace ntio::ke {
// Marks a loaded driver module's code as kernel code: an exception that starts there
// (a fault in its instructions, a raise it calls) is never handed to the __try frames
// of application code, as Windows never hands a kernel exception to user mode.
void register_kernel_module(void* dl_handle);
// Whether an exception raised for code at `caller` would reach a __try frame of the
// thread (one it may go to: a driver's raise never reaches an application's frame).
// Routines that Windows makes raise on a misuse raise only then; with no frame, where
// Windows would stop the system, they report through the verifier instead (S-KE-16).
bool frame_would_take(void* caller);
// Raises `status` as ExRaiseStatus does, for the caller at `caller`/`caller_stack`.
[[noreturn]] void raise_status_for(NTSTATUS status, void* caller, void* caller_stack);
}  // namespace ntio::ke
