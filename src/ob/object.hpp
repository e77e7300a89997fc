// Object manager: typed, reference-counted objects with a separate handle
// count (style.md point 4), a handle table and a small namespace.
//
//   ObjectHeader { refs, handles, type, name } | body (KEVENT, _KTHREAD, ...)
//
// refs counts pointers (each handle holds one too); the body is destroyed when
// refs reaches zero. handles counts open handles; when it reaches zero the
// type's on_last_handle runs (the I/O manager's IRP_MJ_CLEANUP hook).
#pragma once
#include <atomic>
#include <cstdint>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

#include "wdm.h"

struct _OBJECT_TYPE {
    const char* name;
    // Where a wait on the object waits: the offset of a DISPATCHER_HEADER in the body
    // (0 for events, threads...; the file object's Event for files), or -1 when the
    // object cannot be waited on.
    long wait_offset;
    ACCESS_MASK all_access;              // what GENERIC_ALL / MAXIMUM_ALLOWED grant
    void (*destroy)(void* body);         // runs the body's destructor
    void (*on_last_handle)(void* body);  // optional
    // Optional: runs instead of freeing when the last reference goes; it must call
    // ob::free_object(body) itself, possibly later (file objects send IRP_MJ_CLOSE first).
    void (*on_zero_references)(void* body) = nullptr;
};

namespace ntio::ob {

using ObjectType = _OBJECT_TYPE;

struct alignas(16) ObjectHeader {
    std::atomic<int64_t> refs{1};
    std::atomic<int64_t> handles{0};
    const ObjectType* type = nullptr;
    std::wstring name;  // full path in the namespace, empty if unnamed
    void* body() { return this + 1; }
    static ObjectHeader* of(const void* body) {
        return const_cast<ObjectHeader*>(reinterpret_cast<const ObjectHeader*>(body) - 1);
    }
};

extern ObjectType g_event_type, g_semaphore_type, g_mutant_type, g_thread_type, g_process_type, g_directory_type,
    g_symlink_type;

struct SymbolicLink {
    std::wstring target;
};

template <typename T, typename... Args>
T* create(const ObjectType& type, Args&&... args) {
    void* mem = ::operator new(sizeof(ObjectHeader) + sizeof(T));
    auto* header = new (mem) ObjectHeader();
    header->type = &type;
    return new (header->body()) T(std::forward<Args>(args)...);
}
template <typename T>
void destroy_body(void* body) {
    static_cast<T*>(body)->~T();
}

void reference(void* body);
void dereference(void* body);
// Destroys and frees an object whose references are gone (see on_zero_references).
void free_object(void* body);
inline const ObjectType* type_of(const void* body) { return ObjectHeader::of(body)->type; }
inline bool waitable(const ObjectType* t) { return t->wait_offset >= 0; }
inline DISPATCHER_HEADER* wait_header(void* body) {
    return reinterpret_cast<DISPATCHER_HEADER*>(static_cast<char*>(body) + type_of(body)->wait_offset);
}

// ---- handle table ---------------------------------------------------------------
// Two levels of fixed-size chunks, so a lookup never races with growth. An entry
// holds the header pointer with bit 0 as its lock (taken briefly to pin the object
// while its reference count is raised, as NT's handle table does).
constexpr uint32_t kHandleAttrKernel = 1;

struct HandleEntry {
    std::atomic<uintptr_t> object{0};
    ACCESS_MASK access = 0;
    uint32_t attributes = 0;
};

class HandleTable {
public:
    // A handle entry held locked: the object cannot be closed (nor freed) until
    // release(). Lets a hot path look at an object without touching its
    // reference count; take_reference() keeps it beyond the pin.
    class Pin {
    public:
        Pin() = default;
        ~Pin() { release(); }
        Pin(const Pin&) = delete;
        Pin& operator=(const Pin&) = delete;
        void* body() const { return m_header->body(); }
        const ObjectType* type() const { return m_header->type; }
        ACCESS_MASK access() const { return m_access; }
        void take_reference() { m_header->refs.fetch_add(1, std::memory_order_relaxed); }
        void release() {
            if (m_entry) m_entry->object.store(m_value, std::memory_order_release);
            m_entry = nullptr;
        }

    private:
        friend class HandleTable;
        HandleEntry* m_entry = nullptr;
        uintptr_t m_value = 0;
        ObjectHeader* m_header = nullptr;
        ACCESS_MASK m_access = 0;
    };
    // Pins the entry of `handle` after the same checks as reference().
    NTSTATUS pin(HANDLE handle, KPROCESSOR_MODE mode, ACCESS_MASK desired, Pin* pin);

    HandleTable();
    ~HandleTable();
    // Inserts a handle for `body`, taking a new reference and a handle count.
    NTSTATUS insert(void* body, ACCESS_MASK access, bool kernel, HANDLE* out);
    // References the object behind `handle`. Pseudo handles are resolved by the caller.
    NTSTATUS reference(HANDLE handle, const ObjectType* type, KPROCESSOR_MODE mode, ACCESS_MASK desired,
                       void** body, ACCESS_MASK* granted);
    NTSTATUS close(HANDLE handle, KPROCESSOR_MODE mode);
    size_t count() const { return m_count.load(); }
    // Closes every handle still open (runtime teardown); returns how many there were.
    size_t close_all();

private:
    HandleEntry* lock_entry(HANDLE handle, bool* kernel, uintptr_t* value);
    static constexpr uint32_t kChunkBits = 10, kChunkSize = 1u << kChunkBits, kChunks = 1024;
    HandleEntry* entry(uint32_t index) const;
    bool decode(HANDLE handle, uint32_t* index, bool* kernel) const;

    std::atomic<HandleEntry*> m_chunks[kChunks] = {};
    std::mutex m_alloc_lock;
    std::vector<uint32_t> m_free;
    uint32_t m_next = 0;
    std::atomic<size_t> m_count{0};
};

// ---- namespace ------------------------------------------------------------------
// Named objects by full NT path (case-insensitive). Entries do not hold references;
// an object removes its name when it is destroyed.
class Namespace {
public:
    // `\DosDevices\X` and `\GLOBAL??\X` are `\??\X` (one session).
    static std::wstring canonical(const std::wstring& path);
    // Follows symbolic links and finds the object that owns the longest prefix of
    // `path`. Returns it referenced, with what follows it in *remaining ("" or
    // "\\rest"); STATUS_OBJECT_NAME_NOT_FOUND / STATUS_OBJECT_PATH_NOT_FOUND otherwise.
    NTSTATUS resolve(const std::wstring& path, void** object, std::wstring* remaining);
    // Inserts `body` under `path` unless the name exists: then returns the existing
    // object referenced in *existing and STATUS_OBJECT_NAME_COLLISION.
    NTSTATUS insert(const std::wstring& path, void* body, void** existing);
    void* lookup_referenced(const std::wstring& path);
    void remove(const std::wstring& path, void* body);
    // Removes every symbolic link (permanent objects: the namespace holds their
    // creation reference) and returns their names. Used at teardown.
    std::vector<std::wstring> release_links();

private:
    static std::wstring key(const std::wstring& path);
    std::mutex m_lock;
    std::unordered_map<std::wstring, void*> m_names;
};

}  // namespace ntio::ob
