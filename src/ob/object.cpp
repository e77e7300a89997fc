#include "ob/object.hpp"

#include <cwctype>

#include "ke/dispatcher.hpp"
#include "ke/spin.hpp"
#include "ps/thread.hpp"
#include "system.hpp"
#include "verifier/report.hpp"

namespace ntio::ob {

void reference(void* body) { ObjectHeader::of(body)->refs.fetch_add(1, std::memory_order_relaxed); }

bool reference_if_live(void* body) {
    std::atomic<int64_t>& refs = ObjectHeader::of(body)->refs;
    int64_t n = refs.load(std::memory_order_relaxed);
    while (n > 0)
        if (refs.compare_exchange_weak(n, n + 1, std::memory_order_acquire, std::memory_order_relaxed)) return true;
    return false;
}

void last_reference_dropped(void* body, int64_t left) {
    ObjectHeader* h = ObjectHeader::of(body);
    if (left < 0) {
        std::fprintf(stderr, "ntio: object %p (%s) dereferenced below zero\n", body, h->type->name);
        std::abort();
    }
    // Each handle holds a reference, taken before the handle counts and dropped after it
    // stops counting: no references with handles open means one dereference too many.
    // Windows stops (0x18); ntio reports it and gives the handles their references back,
    // so the object lives until they close instead of being used after it is freed.
    if (int64_t open = h->handles.load(std::memory_order_acquire); open > 0) {
        h->refs.fetch_add(open, std::memory_order_acq_rel);
        verifier::report(verifier::Check::REFERENCE_BY_POINTER,
                         fmt::format("the references to {} object {} reached zero with {} handle(s) to it still open: "
                                     "a driver dereferenced it once more than it referenced it. ntio keeps it alive "
                                     "until the handles close",
                                     h->type->name, body, open));
        return;
    }
    if (h->type->on_zero_references) h->type->on_zero_references(body);
    else free_object(body);
}

void free_object(void* body) {
    ObjectHeader* h = ObjectHeader::of(body);
    if (!h->name.empty())
        if (System::Impl* s = sys_if_exists()) s->names.remove(h->name, body);
    h->type->destroy(body);
    h->~ObjectHeader();
    ::operator delete(h);
}

// ---- handle table -----------------------------------------------------------------
// User handles are small multiples of 4 as on Windows; kernel handles have the
// high bits set (0xFFFFFFFF8xxxxxxx), so a kernel handle used from user mode is
// recognisably foreign.

HandleTable::HandleTable() = default;

HandleTable::~HandleTable() {
    for (auto& c : m_chunks) delete[] c.load();
}

NTSTATUS HandleTable::insert(void* body, ACCESS_MASK access, bool kernel, HANDLE* out, uint32_t flags) {
    uint32_t index;
    {
        std::lock_guard g(m_alloc_lock);
        if (!m_free.empty()) {
            index = m_free.back();
            m_free.pop_back();
        } else {
            if (m_next >= kChunks * kChunkSize) return STATUS_INSUFFICIENT_RESOURCES;
            index = m_next++;
            if (!m_chunks[index >> kChunkBits].load()) m_chunks[index >> kChunkBits].store(new HandleEntry[kChunkSize]);
        }
    }
    ObjectHeader* h = ObjectHeader::of(body);
    h->refs.fetch_add(1, std::memory_order_relaxed);
    h->handles.fetch_add(1, std::memory_order_relaxed);
    HandleEntry* e = entry(index);
    e->access = access;
    e->attributes.store((kernel ? kHandleAttrKernel : 0) | (flags & kHandleFlags), std::memory_order_relaxed);
    e->object.store(reinterpret_cast<uintptr_t>(h), std::memory_order_release);
    m_count.fetch_add(1, std::memory_order_relaxed);
    uintptr_t v = (uintptr_t(index) + 1) << 2;
    if (kernel) v |= kKernelHandleBits;
    *out = reinterpret_cast<HANDLE>(v);
    return STATUS_SUCCESS;
}

NTSTATUS HandleTable::close(HANDLE handle, KPROCESSOR_MODE mode, bool ignore_protection) {
    bool kernel;
    uintptr_t v;
    HandleEntry* e = lock_entry(handle, &kernel, &v);
    if (!e) return STATUS_INVALID_HANDLE;
    if (!usable(e, kernel, mode)) {
        e->object.store(v, std::memory_order_release);
        return STATUS_INVALID_HANDLE;
    }
    if ((e->attributes.load(std::memory_order_relaxed) & kHandleAttrProtect) && !ignore_protection) {
        e->object.store(v, std::memory_order_release);  // S-OBH-2: the handle stays as it was
        return STATUS_HANDLE_NOT_CLOSABLE;
    }
    uint32_t index = 0;
    decode(handle, &index, &kernel);
    e->object.store(0, std::memory_order_release);
    {
        std::lock_guard g(m_alloc_lock);
        m_free.push_back(index);
    }
    m_count.fetch_sub(1, std::memory_order_relaxed);
    auto* h = reinterpret_cast<ObjectHeader*>(v);
    if (h->handles.fetch_sub(1, std::memory_order_acq_rel) == 1 && h->type->on_last_handle)
        h->type->on_last_handle(h->body());
    dereference(h->body());
    return STATUS_SUCCESS;
}

size_t HandleTable::close_all() {
    m_running_down.store(true, std::memory_order_relaxed);
    size_t closed = 0;
    uint32_t limit;
    {
        std::lock_guard g(m_alloc_lock);
        limit = m_next;
    }
    for (uint32_t i = 0; i < limit; ++i) {
        HandleEntry* e = entry(i);
        if (!e || e->object.load() == 0) continue;
        uintptr_t v = (uintptr_t(i) + 1) << 2;
        if (e->attributes.load(std::memory_order_relaxed) & kHandleAttrKernel) v |= kKernelHandleBits;
        // As Windows's exit sweeps the table: protected handles close too (S-OBH-6).
        if (close(reinterpret_cast<HANDLE>(v), KernelMode, /*ignore_protection=*/true) == STATUS_SUCCESS) ++closed;
    }
    m_running_down.store(false, std::memory_order_relaxed);
    return closed;
}

NTSTATUS HandleTable::set_flags(HANDLE handle, KPROCESSOR_MODE mode, uint32_t mask, uint32_t flags) {
    bool kernel;
    uintptr_t v;
    HandleEntry* e = lock_entry(handle, &kernel, &v);
    if (!e) return STATUS_INVALID_HANDLE;
    NTSTATUS status = STATUS_INVALID_HANDLE;
    if (usable(e, kernel, mode)) {
        mask &= kHandleFlags;
        uint32_t a = e->attributes.load(std::memory_order_relaxed);
        e->attributes.store((a & ~mask) | (flags & mask), std::memory_order_relaxed);
        status = STATUS_SUCCESS;
    }
    e->object.store(v, std::memory_order_release);  // the release publishes the new flags
    return status;
}

// ---- namespace ----------------------------------------------------------------------

std::wstring Namespace::canonical(const std::wstring& path) {
    auto starts = [&](const wchar_t* prefix) {
        size_t n = wcslen(prefix);
        if (path.size() < n) return false;
        for (size_t i = 0; i < n; ++i)
            if (std::towupper(static_cast<wint_t>(path[i])) != std::towupper(static_cast<wint_t>(prefix[i]))) return false;
        return path.size() == n || path[n] == L'\\';
    };
    if (starts(L"\\DosDevices")) return canonical(L"\\??" + path.substr(11));
    if (starts(L"\\GLOBAL??")) return canonical(L"\\??" + path.substr(9));
    // Windows's links in \GLOBAL??: GLOBALROOT to the root of the namespace (so
    // `\\.\GLOBALROOT\Device\X` opens \Device\X) and Global to \GLOBAL?? itself.
    if (starts(L"\\??\\GLOBALROOT")) return canonical(path.substr(14));
    if (starts(L"\\??\\Global")) return canonical(L"\\??" + path.substr(10));
    return path;
}

bool Namespace::directory_exists(const std::wstring& path) {
    std::wstring dir = key(path);
    // The directories every Windows namespace has (the ones ntio fills, and the ones a
    // driver may name its objects under).
    static const wchar_t* const kRoots[] = {L"", L"\\??", L"\\DEVICE", L"\\DRIVER", L"\\BASENAMEDOBJECTS",
                                            L"\\CALLBACK", L"\\KERNELOBJECTS", L"\\FILESYSTEM",
                                            L"\\OBJECTTYPES", L"\\SESSIONS", L"\\WINDOWS", L"\\RPC CONTROL",
                                            L"\\SECURITY", L"\\ARCNAME", L"\\NLS"};
    for (const wchar_t* root : kRoots)
        if (dir == root) return true;
    void* found = lookup_referenced(dir);
    if (!found) return false;
    bool directory = type_of(found) == &g_directory_type;
    dereference(found);
    return directory;
}

std::wstring Namespace::parent_of(const std::wstring& path) {
    size_t last = path.rfind(L'\\');
    return last == std::wstring::npos ? std::wstring() : path.substr(0, last);
}

NTSTATUS Namespace::resolve(const std::wstring& input, void** object, std::wstring* remaining) {
    std::wstring path = canonical(input);
    for (int hops = 0; hops < 32; ++hops) {
        void* found = nullptr;
        size_t cut = path.size();
        for (;;) {
            found = lookup_referenced(path.substr(0, cut));
            if (found || cut == 0) break;
            size_t slash = path.rfind(L'\\', cut - 1);
            if (slash == std::wstring::npos || slash == 0) break;
            cut = slash;
        }
        if (!found) {
            // A missing name in a directory that exists is "name not found"; a missing
            // directory is "path not found".
            return directory_exists(parent_of(path)) ? STATUS_OBJECT_NAME_NOT_FOUND : STATUS_OBJECT_PATH_NOT_FOUND;
        }
        std::wstring rest = path.substr(cut);
        if (type_of(found) == &g_symlink_type) {
            path = canonical(static_cast<SymbolicLink*>(found)->target + rest);
            dereference(found);
            continue;
        }
        *object = found;
        *remaining = rest;
        return STATUS_SUCCESS;
    }
    return STATUS_OBJECT_PATH_NOT_FOUND;  // a loop of links
}

std::wstring Namespace::key(const std::wstring& path) {
    std::wstring k = canonical(path);
    for (auto& c : k) c = static_cast<wchar_t>(std::towupper(static_cast<wint_t>(c)));
    return k;
}

NTSTATUS Namespace::insert(const std::wstring& path, void* body, void** existing) {
    if (path.empty() || path[0] != L'\\') return STATUS_OBJECT_PATH_SYNTAX_BAD;
    if (!directory_exists(parent_of(canonical(path)))) return STATUS_OBJECT_PATH_NOT_FOUND;
    std::lock_guard g(m_lock);
    auto [it, inserted] = m_names.try_emplace(key(path), body);
    if (!inserted) {
        ObjectHeader* h = ObjectHeader::of(it->second);
        // The object may be on its way out (refs reached zero, name not yet removed).
        int64_t r = h->refs.load();
        while (r > 0 && !h->refs.compare_exchange_weak(r, r + 1)) {
        }
        if (r > 0) {
            *existing = it->second;
            return STATUS_OBJECT_NAME_COLLISION;
        }
        it->second = body;
    }
    ObjectHeader::of(body)->name = path;
    return STATUS_SUCCESS;
}

void* Namespace::lookup_referenced(const std::wstring& path) {
    std::lock_guard g(m_lock);
    auto it = m_names.find(key(path));
    if (it == m_names.end()) return nullptr;
    ObjectHeader* h = ObjectHeader::of(it->second);
    int64_t r = h->refs.load();
    while (r > 0 && !h->refs.compare_exchange_weak(r, r + 1)) {
    }
    return r > 0 ? it->second : nullptr;
}

std::vector<std::wstring> Namespace::release_links() {
    std::vector<std::pair<std::wstring, void*>> links;
    {
        std::lock_guard g(m_lock);
        for (auto it = m_names.begin(); it != m_names.end();) {
            if (type_of(it->second) == &g_symlink_type) {
                links.emplace_back(ObjectHeader::of(it->second)->name, it->second);
                it = m_names.erase(it);
            } else {
                ++it;
            }
        }
    }
    std::vector<std::wstring> names;
    for (auto& [name, link] : links) {
        names.push_back(name);
        ObjectHeader::of(link)->name.clear();
        dereference(link);
    }
    return names;
}

std::vector<std::wstring> Namespace::names_in(const std::wstring& directory) {
    std::wstring prefix = key(directory) + L"\\";
    std::vector<std::wstring> names;
    std::lock_guard g(m_lock);
    for (auto& [k, body] : m_names) {
        if (k.size() <= prefix.size() || k.compare(0, prefix.size(), prefix) != 0) continue;
        if (k.find(L'\\', prefix.size()) != std::wstring::npos) continue;  // deeper
        const std::wstring& spelled = ObjectHeader::of(body)->name;
        size_t last = spelled.rfind(L'\\');
        names.push_back(last == std::wstring::npos ? spelled : spelled.substr(last + 1));
    }
    return names;
}

void Namespace::remove(const std::wstring& path, void* body) {
    std::lock_guard g(m_lock);
    auto it = m_names.find(key(path));
    if (it != m_names.end() && it->second == body) m_names.erase(it);
}

}  // namespace ntio::ob
