// ntio::System: one runtime instance: the dispatcher and clock, the object
// manager, the pool, the thread registry and, later, the I/O manager. The
// C entry points find it with System::current(); tests create a fresh one each.
#pragma once
#include <atomic>
#include <deque>
#include <functional>
#include <unordered_set>
#include <vector>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

#include "cm/registry.hpp"
#include "ex/pool.hpp"
#include "ex/work_queue.hpp"
#include "ke/dispatcher.hpp"
#include "ntio/ntio.hpp"
#include "ob/object.hpp"

namespace ntio {

namespace io {
struct DriverBody;
class PnpManager;
struct PnpNotifications;
}

class System::Impl {
public:
    explicit Impl(const Options& options);
    ~Impl();

    Options options;
    uint64_t generation;  // read by every request (ps::current_thread_inline)
    // Each on cache lines of its own: the dispatcher's lock is taken by every KeSetEvent,
    // wait and port packet, and a request reads `generation` and the handle table's chunk
    // pointers on every call. Sharing a line, a thread completing requests made the
    // issuing thread miss on both (bench: BM_Ntio_Pended256Gqcsex).
    alignas(64) ke::Dispatcher dispatcher;
    alignas(64) ob::HandleTable handles;
    ob::Namespace names;
    ex::Pool pool;
    cm::Registry registry;

    std::mutex threads_lock;
    LIST_ENTRY threads;  // every _KTHREAD alive
    uint32_t thread_numbers = 0;  // the last _KTHREAD::number given (under threads_lock)
    // OS threads the runtime started that have not yet let go of every runtime object
    // (decremented as the last thing a runtime thread does): teardown waits for zero.
    std::atomic<int> os_threads{0};
    _KTHREAD* dpc_thread = nullptr;

    // Work for a PASSIVE_LEVEL runtime thread (IRP_MJ_CLOSE after a completion at
    // DISPATCH_LEVEL, work items). Callable at any IRQL.
    void post_work(std::function<void()> work);
    void work_loop(_KTHREAD* self);
    // Waits (up to 5 s) until no posted work is queued or running: teardown lets a
    // deferred IRP_MJ_CLOSE finish before it judges what is left.
    void wait_for_posted_work();
    ke::SpinLock work_lock;
    std::deque<std::function<void()>> work;
    int work_running = 0;  // items taken from `work` and not finished (under work_lock)
    KEVENT work_event;
    bool work_stop = false;
    _KTHREAD* worker = nullptr;

    // ExQueueWorkItem / IoQueueWorkItem's worker threads.
    ex::WorkQueue work_items;
    // ExRegisterCallback's registrations on every callback object (ex/callback.cpp), so that
    // a driver's unload can end those it left (CallbackLeftAtUnload).
    ke::SpinLock callbacks_lock;
    std::vector<void*> callback_registrations;  // under callbacks_lock
    // The Win32 thread pool (win32/threadpool.cpp), made on first use.
    std::atomic<void*> thread_pool{nullptr};

    // Loaded drivers, in load order.
    std::mutex drivers_lock;
    std::vector<io::DriverBody*> drivers;
    // The Plug and Play manager (io/pnp.cpp), made when the first PnP driver loads.
    std::atomic<io::PnpManager*> pnp{nullptr};
    // IoRegisterPlugPlayNotification's registrations and queued events (io/pnp_notify.cpp),
    // made on first use.
    std::atomic<io::PnpNotifications*> pnp_notifications{nullptr};

    // IoRegister(Boot)DriverReinitialization's routines not yet called (io/driver.cpp), in
    // registration order, the boot drivers' apart; and how many driver groups are loading,
    // whose end they wait for (S-DRVX-3); under reinit_lock.
    struct Reinitialization {
        io::DriverBody* driver;
        PDRIVER_REINITIALIZE routine;
        void* context;
    };
    std::mutex reinit_lock;
    std::deque<Reinitialization> reinit, boot_reinit;
    int loading_groups = 0;
    bool reinit_running = false;  // one thread calls them, in order

    // DbgPrint output.
    std::mutex debug_lock;
    FILE* debug_out = stderr;
    bool debug_owned = false;
    uint32_t debug_seq = 0;
    // Devices registered for IRP_MJ_SHUTDOWN (io/shutdown.cpp), newest first, each holding a
    // reference; under shutdown_lock.
    std::mutex shutdown_lock;
    std::vector<DEVICE_OBJECT*> shutdown_devices, last_chance_devices;
    // IoWriteErrorLogEntry's entries as recorded (io/error_log.cpp), under error_log_lock.
    std::mutex error_log_lock;
    std::vector<std::string> error_log;
    std::unordered_set<void*> error_log_entries;  // allocated, not yet written or freed
};

// The current runtime; creates the default one from the environment on first use.
// Inline: every entry point starts here.
extern std::atomic<System::Impl*> g_current_system;
System::Impl& create_default_system();
inline System::Impl& sys() {
    if (System::Impl* s = g_current_system.load(std::memory_order_acquire)) [[likely]]
        return *s;
    return create_default_system();
}
inline System::Impl* sys_if_exists() { return g_current_system.load(std::memory_order_acquire); }
// For the environment's runtime (not a System object's): its drivers unload at process
// exit, in reverse load order, once; called when a driver loads (system.cpp).
void unload_drivers_at_exit();
_EPROCESS* process_object();         // the program's process
_EPROCESS* system_process_object();  // the System process (PsInitialSystemProcess), id 4

}  // namespace ntio
