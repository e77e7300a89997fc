// ntio::System: one runtime instance: the dispatcher and clock, the object
// manager, the pool, the thread registry and, later, the I/O manager. The
// C entry points find it with System::current(); tests create a fresh one each.
#pragma once
#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

#include "ex/pool.hpp"
#include "ke/dispatcher.hpp"
#include "ntio/ntio.hpp"
#include "ob/object.hpp"

namespace ntio {

class System::Impl {
public:
    explicit Impl(const Options& options);
    ~Impl();

    Options options;
    uint64_t generation;
    ke::Dispatcher dispatcher;
    ob::HandleTable handles;
    ob::Namespace names;
    ex::Pool pool;

    std::mutex threads_lock;
    LIST_ENTRY threads;  // every _KTHREAD alive
    _KTHREAD* dpc_thread = nullptr;

    // DbgPrint output.
    std::mutex debug_lock;
    FILE* debug_out = stderr;
    bool debug_owned = false;
    uint32_t debug_seq = 0;
};

// The current runtime; creates the default one from the environment on first use.
System::Impl& sys();
System::Impl* sys_if_exists();
_EPROCESS* process_object();

}  // namespace ntio
