// The structured-exception runtime's side for the rest of libntio (src/ke/exception.cpp).
#pragma once

namespace ntio::ke {
// Marks a loaded driver module's code as kernel code: an exception that starts there
// (a fault in its instructions, a raise it calls) is never handed to the __try frames
// of application code, as Windows never hands a kernel exception to user mode.
void register_kernel_module(void* dl_handle);
}  // namespace ntio::ke
