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
// What follows a dereference that left `left` <= 0 references: the object is
// destroyed (or its type's on_zero_references runs); below zero aborts.
void last_reference_dropped(void* body, int64_t left);
// Drops `count` references at once (one atomic operation): for a caller that holds
// several, such as a synchronous file request (the IRP's and its own). Inline: every
// request drops some.
[[gnu::always_inline]] inline void dereference(void* body, int64_t count) {
    int64_t left = ObjectHeader::of(body)->refs.fetch_sub(count, std::memory_order_acq_rel) - count;
    if (left <= 0) [[unlikely]]
        last_reference_dropped(body, left);
}
inline void dereference(void* body) { dereference(body, 1); }
// For lists that hold objects without a reference (the thread registry): takes one
// unless the count already reached zero, i.e. the object is being destroyed.
bool reference_if_live(void* body);
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
//
// The entry's attribute word: whether it is a kernel handle, and the handle's own flags
// (S-OBH). The flags share the word with the kernel bit because the lookup already masks
// that bit out of it: they cost the request path nothing. Only close, duplicate and the
// query/set services read them. Written under the entry's lock (or before the entry is
// published), read under it except by close_all, hence relaxed atomics.
constexpr uint32_t kHandleAttrKernel = 1;
constexpr uint32_t kHandleAttrInherit = 2;  // HANDLE_FLAG_INHERIT / OBJ_INHERIT
constexpr uint32_t kHandleAttrProtect = 4;  // HANDLE_FLAG_PROTECT_FROM_CLOSE / OBJ_PROTECT_CLOSE
constexpr uint32_t kHandleFlags = kHandleAttrInherit | kHandleAttrProtect;
// OBJ_INHERIT / OBJ_PROTECT_CLOSE (object attributes, NtDuplicateObject's HandleAttributes,
// OBJECT_HANDLE_INFORMATION) to the entry's flags and back.
inline uint32_t handle_flags_from_obj(ULONG obj) {
    return ((obj & OBJ_INHERIT) ? kHandleAttrInherit : 0) | ((obj & OBJ_PROTECT_CLOSE) ? kHandleAttrProtect : 0);
}
inline ULONG obj_from_handle_flags(uint32_t flags) {
    return ((flags & kHandleAttrInherit) ? OBJ_INHERIT : 0) | ((flags & kHandleAttrProtect) ? OBJ_PROTECT_CLOSE : 0);
}

struct HandleEntry {
    std::atomic<uintptr_t> object{0};
    ACCESS_MASK access = 0;
    std::atomic<uint32_t> attributes{0};
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
        // The handle's flags (kHandleAttrInherit, kHandleAttrProtect).
        uint32_t flags() const { return m_entry->attributes.load(std::memory_order_relaxed) & kHandleFlags; }
        // `count` references in one atomic operation.
        void take_reference(int64_t count = 1) { m_header->refs.fetch_add(count, std::memory_order_relaxed); }
        void release() {
            if (m_entry) m_entry->object.store(m_value, std::memory_order_release);
            m_entry = nullptr;
        }

    private:
        friend class HandleTable;
        HandleEntry* m_entry = nullptr;  // the rest is set with it (pin)
        uintptr_t m_value;
        ObjectHeader* m_header;
        ACCESS_MASK m_access;
    };
    // Pins the entry of `handle` after the same checks as reference().
    inline NTSTATUS pin(HANDLE handle, KPROCESSOR_MODE mode, ACCESS_MASK desired, Pin* pin);
    // reference() of an object of `type` with no access to check, in one inline piece
    // without a Pin (whose fields a caller's frame keeps in memory): the entry pinned,
    // `count(body)` references taken in one increment, the entry released. nullptr
    // when the handle is not such an object (or is a kernel handle used from user
    // mode); the caller then asks reference() for the status.
    template <typename Count>
    inline void* reference_pinned(HANDLE handle, KPROCESSOR_MODE mode, const ObjectType* type, Count count);

    HandleTable();
    ~HandleTable();
    // Inserts a handle for `body`, taking a new reference and a handle count. `flags`:
    // the handle's kHandleAttrInherit / kHandleAttrProtect.
    NTSTATUS insert(void* body, ACCESS_MASK access, bool kernel, HANDLE* out, uint32_t flags = 0);
    // References the object behind `handle`. Pseudo handles are resolved by the caller.
    // *flags (optional): the handle's flags.
    inline NTSTATUS reference(HANDLE handle, const ObjectType* type, KPROCESSOR_MODE mode, ACCESS_MASK desired,
                              void** body, ACCESS_MASK* granted, uint32_t* flags = nullptr);
    // Closes `handle`; one protected from close stays open and gives
    // STATUS_HANDLE_NOT_CLOSABLE (S-OBH-2) unless `ignore_protection` (the process's exit).
    NTSTATUS close(HANDLE handle, KPROCESSOR_MODE mode, bool ignore_protection = false);
    // Sets the flags of `mask` (kHandleFlags bits) to those of `flags`, with the checks
    // of a close: STATUS_INVALID_HANDLE for no such handle (or a kernel one from user mode).
    NTSTATUS set_flags(HANDLE handle, KPROCESSOR_MODE mode, uint32_t mask, uint32_t flags);
    size_t count() const { return m_count.load(); }
    // Closes every handle still open, protected ones too (S-OBH-6: the process's exit and
    // the runtime's teardown); returns how many there were.
    size_t close_all();
    // Inside close_all: the handles close because the process goes (io/file.cpp).
    bool running_down() const { return m_running_down.load(std::memory_order_relaxed); }

private:
    inline HandleEntry* lock_entry(HANDLE handle, bool* kernel, uintptr_t* value);
    // A kernel handle names a kernel entry and a user handle a user entry, and user
    // mode may not use a kernel one.
    static bool usable(const HandleEntry* e, bool kernel_handle, KPROCESSOR_MODE mode) {
        bool kernel_entry = e->attributes.load(std::memory_order_relaxed) & kHandleAttrKernel;
        return kernel_entry == kernel_handle && !(mode == UserMode && kernel_entry);
    }
    static constexpr uint32_t kChunkBits = 10, kChunkSize = 1u << kChunkBits, kChunks = 1024;
    static constexpr uintptr_t kLockBit = 1;
    static constexpr uintptr_t kKernelHandleBits = 0xFFFFFFFF80000000ULL;
    HandleEntry* entry(uint32_t index) const {
        HandleEntry* chunk = m_chunks[index >> kChunkBits].load(std::memory_order_acquire);
        return chunk ? &chunk[index & (kChunkSize - 1)] : nullptr;
    }
    static bool decode(HANDLE handle, uint32_t* index, bool* kernel) {
        auto v = reinterpret_cast<uintptr_t>(handle);
        *kernel = (v & kKernelHandleBits) == kKernelHandleBits;
        if (*kernel) v &= ~kKernelHandleBits;
        if (v == 0 || (v & 3) != 0) return false;
        uint64_t i = (v >> 2) - 1;
        if (i >= uint64_t(kChunks) * kChunkSize) return false;
        *index = static_cast<uint32_t>(i);
        return true;
    }

    std::atomic<HandleEntry*> m_chunks[kChunks] = {};
    std::mutex m_alloc_lock;
    std::vector<uint32_t> m_free;
    uint32_t m_next = 0;
    std::atomic<size_t> m_count{0};
    std::atomic<bool> m_running_down{false};
};

[[gnu::always_inline]] inline HandleEntry* HandleTable::lock_entry(HANDLE handle, bool* kernel, uintptr_t* value) {
    uint32_t index;
    if (!decode(handle, &index, kernel)) return nullptr;
    HandleEntry* e = entry(index);
    if (!e) return nullptr;
    // The lock bit pins the entry, so the object cannot be closed and freed between
    // reading the pointer and using it.
    uintptr_t v = e->object.load(std::memory_order_acquire);
    for (;;) {
        if (v == 0) return nullptr;
        if (v & kLockBit) {
            __builtin_ia32_pause();
            v = e->object.load(std::memory_order_acquire);
            continue;
        }
        if (e->object.compare_exchange_weak(v, v | kLockBit, std::memory_order_acquire)) break;
    }
    *value = v;
    return e;
}

[[gnu::always_inline]] inline NTSTATUS HandleTable::pin(HANDLE handle, KPROCESSOR_MODE mode, ACCESS_MASK desired,
                                                         Pin* pin) {
    bool kernel;
    uintptr_t v;
    HandleEntry* e = lock_entry(handle, &kernel, &v);
    if (!e) return STATUS_INVALID_HANDLE;
    NTSTATUS status = STATUS_SUCCESS;
    if (!usable(e, kernel, mode)) status = STATUS_INVALID_HANDLE;
    else if (mode == UserMode && (desired & ~e->access) != 0) status = STATUS_ACCESS_DENIED;
    if (status != STATUS_SUCCESS) [[unlikely]] {
        e->object.store(v, std::memory_order_release);
        return status;
    }
    pin->m_entry = e;
    pin->m_value = v;
    pin->m_header = reinterpret_cast<ObjectHeader*>(v);
    pin->m_access = e->access;
    return STATUS_SUCCESS;
}

template <typename Count>
[[gnu::always_inline]] inline void* HandleTable::reference_pinned(HANDLE handle, KPROCESSOR_MODE mode,
                                                                 const ObjectType* type, Count count) {
    bool kernel;
    uintptr_t v;
    HandleEntry* e = lock_entry(handle, &kernel, &v);
    if (!e) return nullptr;
    auto* header = reinterpret_cast<ObjectHeader*>(v);
    void* body = nullptr;
    if (usable(e, kernel, mode) && header->type == type) [[likely]] {
        body = header->body();
        header->refs.fetch_add(count(body, e->access), std::memory_order_relaxed);
    }
    e->object.store(v, std::memory_order_release);
    return body;
}

inline NTSTATUS HandleTable::reference(HANDLE handle, const ObjectType* type, KPROCESSOR_MODE mode,
                                       ACCESS_MASK desired, void** body, ACCESS_MASK* granted, uint32_t* flags) {
    // The type before the access, as ObReferenceObjectByHandle checks them: a handle to
    // the wrong kind of object is STATUS_OBJECT_TYPE_MISMATCH whatever its access.
    Pin p;
    NTSTATUS status = pin(handle, mode, 0, &p);
    if (status != STATUS_SUCCESS) return status;
    if (type && p.type() != type) return STATUS_OBJECT_TYPE_MISMATCH;
    if (mode == UserMode && (desired & ~p.access()) != 0) return STATUS_ACCESS_DENIED;
    p.take_reference();
    *body = p.body();
    if (granted) *granted = p.access();
    if (flags) *flags = p.flags();
    return STATUS_SUCCESS;
}

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
    // object referenced in *existing and STATUS_OBJECT_NAME_COLLISION. A name that is not
    // absolute is STATUS_OBJECT_PATH_SYNTAX_BAD, one in a directory that does not exist
    // STATUS_OBJECT_PATH_NOT_FOUND (nothing inserted, *existing untouched).
    NTSTATUS insert(const std::wstring& path, void* body, void** existing);
    void* lookup_referenced(const std::wstring& path);
    void remove(const std::wstring& path, void* body);
    // Removes every symbolic link (permanent objects: the namespace holds their
    // creation reference) and returns their names. Used at teardown.
    std::vector<std::wstring> release_links();
    // The names of the objects directly in `directory` (canonical: \??, not \DosDevices),
    // each as its last component was spelled when the object was inserted.
    std::vector<std::wstring> names_in(const std::wstring& directory);

private:
    static std::wstring key(const std::wstring& path);
    static std::wstring parent_of(const std::wstring& path);
    bool directory_exists(const std::wstring& path);  // a directory object or a standard one
    std::mutex m_lock;
    std::unordered_map<std::wstring, void*> m_names;
};

}  // namespace ntio::ob
