// The Win32 thread pool's hooks for the runtime's teardown (src/system.cpp).
#pragma once
#include "system.hpp"

namespace ntio::win32 {
// First thing at teardown: callbacks queued and not started are dropped, later
// completions are dropped, and the idle workers are woken to end; the running
// callbacks finish on their own.
void stop_thread_pool(System::Impl& s);
// Once every thread the runtime started has ended: the objects the program did not
// close are freed (those still bound to a live file object go with its binding), and
// the pool's own reference on its port goes.
void release_thread_pool(System::Impl& s);
}  // namespace ntio::win32
