// Drivers as the verifier sees them: who is running (the driver whose code the calling
// thread executes), and what each driver leaves behind when it unloads: devices,
// symbolic links, system threads, timers, lookaside lists, ERESOURCEs, IRPs and pool by
// tag (the *LeftAtUnload checks).
//
// Attribution: the runtime sets the current driver around every call into driver code
// it knows of (DriverEntry, AddDevice, DriverUnload, PnP IRPs and, when IRPs are tracked,
// dispatch, StartIo, completion and cancel routines); a system thread inherits the driver
// that started it. Code reached otherwise (a DPC, a timer) is attributed by the address
// of its caller when that lies inside a loaded driver module; what cannot be attributed
// is reported at teardown with the process-wide leaks instead.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>

#include "wdm.h"

namespace ntio::io {
struct DriverBody;
}

namespace ntio::verifier::drivers {

// Numbers a driver (1, 2, ... in load order) before its DriverEntry runs.
uint32_t loading(io::DriverBody* d);
// The number of a loaded driver; 0 for an unknown one.
uint32_t id_of(const DRIVER_OBJECT* driver);
std::string name_of(uint32_t id);  // "\Driver\echo", or "" for 0

extern constinit thread_local uint32_t t_current;
class Scope {
public:
    explicit Scope(uint32_t id) : m_saved(t_current) { t_current = id; }
    explicit Scope(const DRIVER_OBJECT* driver) : Scope(id_of(driver)) {}
    ~Scope() { t_current = m_saved; }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

private:
    uint32_t m_saved;
};

// The driver responsible for a call: the current one, else the loaded driver module
// containing `code` (a return address or a routine's address); 0 when unknown.
uint32_t attribute(const void* code);

// Pool blocks by owner (only while PoolLeftAtUnload is on).
void pool_allocated(uint32_t driver, uint32_t tag, uint64_t bytes);
void pool_freed(uint32_t driver, uint32_t tag, uint64_t bytes);
// Memory about to be freed (pool, a deleted device's extension): a KTIMER still set or a
// KDPC still queued inside it would be used after the free (TIMER_OR_DPC_INVALID, 0xC7).
// Each is reported and cancelled. `what` names the free for the report.
void timers_in_freed_memory(const void* block, size_t bytes, const char* what);

// Lookaside lists and ERESOURCEs by the driver that initialized them, while a check
// that looks for them is on (LookasideLeftAtUnload, ResourceLeftAtUnload,
// ResourceOrLookasideInFreedMemory). Windows links each into a system-wide list that it
// walks later (to tune lookaside depths, to dump resources), so one left initialized
// in memory that goes away is a crash waiting to happen. Initializing and deleting pay
// a map update; allocating from a list or acquiring a resource pays nothing.
enum class ExObject : uint8_t { npaged_lookaside, paged_lookaside, lookaside_ex, resource };
void ex_object_initialized(const void* object, ExObject kind, const void* caller);
void ex_object_deleted(const void* object);
// Memory about to be freed (pool, a deleted device's extension): a lookaside list or an
// ERESOURCE still initialized inside it is reported and deleted. One relaxed load
// while no driver has one outside its image's globals.
extern std::atomic<int64_t> g_ex_objects_in_heap;
void ex_objects_in_freed_memory_slow(const void* block, size_t bytes, const char* what);
inline void ex_objects_in_freed_memory(const void* block, size_t bytes, const char* what) {
    if (g_ex_objects_in_heap.load(std::memory_order_relaxed) > 0) [[unlikely]]
        ex_objects_in_freed_memory_slow(block, bytes, what);
}

// Symbolic links by creator.
void link_created(uint32_t driver, const std::wstring& link);
void link_deleted(const std::wstring& link);

// After DriverUnload returned: reports what the driver left behind (each *LeftAtUnload
// check) and deletes the devices it left, so that the runtime does not leak them.
void unloaded(io::DriverBody* d);

// A new runtime: forget the previous one's drivers.
void reset();

}  // namespace ntio::verifier::drivers
