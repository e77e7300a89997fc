// The registry tree (see registry.hpp).
#include "cm/registry.hpp"

#include <algorithm>
#include <cwctype>

#include "system.hpp"

namespace ntio::cm {

namespace {

std::wstring upcase(std::wstring_view s) {
    std::wstring u(s);
    for (wchar_t& c : u) c = static_cast<wchar_t>(std::towupper(c));
    return u;
}

void destroy_key_object(void* body) { ob::destroy_body<KeyObject>(body); }

}  // namespace

ob::ObjectType g_key_type{"Key", -1, KEY_ALL_ACCESS, destroy_key_object, nullptr};

bool same_name(std::wstring_view a, std::wstring_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](wchar_t x, wchar_t y) {
               return std::towupper(x) == std::towupper(y);
           });
}

Registry::Registry(const ke::Dispatcher& clock) : m_clock(clock), m_root(std::make_shared<Key>()) {
    m_root->name = L"REGISTRY";
    add_child(m_root.get(), L"MACHINE", false);  // \REGISTRY's children are fixed: made here only
    add_child(m_root.get(), L"USER", false);
    std::shared_ptr<Key> k;
    bool created;
    for (const wchar_t* path : {L"\\REGISTRY\\MACHINE\\SYSTEM\\CurrentControlSet\\Services",
                                L"\\REGISTRY\\MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Class",
                                L"\\REGISTRY\\MACHINE\\SYSTEM\\CurrentControlSet\\Enum",
                                L"\\REGISTRY\\MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion",
                                L"\\REGISTRY\\MACHINE\\HARDWARE\\DEVICEMAP", L"\\REGISTRY\\USER\\.DEFAULT"})
        walk(nullptr, path, true, true, false, &k, &created);
}

std::shared_ptr<Key> Registry::child(Key* parent, std::wstring_view name) {
    for (auto& k : parent->subkeys)
        if (same_name(k->name, name)) return k;
    return nullptr;
}

std::shared_ptr<Key> Registry::add_child(Key* parent, std::wstring_view name, bool is_volatile) {
    auto k = std::make_shared<Key>();
    k->name = name;
    k->parent = parent;
    k->is_volatile = is_volatile;
    touch(k.get());
    // S-REG-6: stable subkeys first, then volatile ones, each sorted by upcased name.
    std::wstring key = upcase(name);
    auto at = std::find_if(parent->subkeys.begin(), parent->subkeys.end(), [&](const std::shared_ptr<Key>& s) {
        return s->is_volatile != is_volatile ? s->is_volatile : upcase(s->name) > key;
    });
    parent->subkeys.insert(at, k);
    touch(parent);
    return k;
}

NTSTATUS Registry::walk(const std::shared_ptr<Key>& base, std::wstring_view relative, bool create, bool create_path,
                        bool is_volatile, std::shared_ptr<Key>* out, bool* created) {
    *created = false;
    if (!base) {
        // S-REG-2: an absolute name begins at the object namespace's root; the registry is
        // its \REGISTRY.
        if (relative.empty() || relative[0] != L'\\') return STATUS_OBJECT_PATH_SYNTAX_BAD;
        relative.remove_prefix(1);
    } else if (!relative.empty() && relative[0] == L'\\') {
        return STATUS_OBJECT_PATH_SYNTAX_BAD;  // a name relative to a key is not absolute
    }
    // S-REG-2: empty components (a trailing backslash, a doubled one) are skipped, as
    // Windows's parse skips them; a component longer than 256 characters is refused.
    std::vector<std::wstring_view> parts;
    while (!relative.empty()) {
        size_t end = std::min(relative.find(L'\\'), relative.size());
        std::wstring_view part = relative.substr(0, end);
        if (part.size() > 256) return STATUS_INVALID_PARAMETER;
        if (!part.empty()) parts.push_back(part);
        relative.remove_prefix(end == relative.size() ? end : end + 1);
    }
    std::shared_ptr<Key> at = base;
    size_t i = 0;
    if (!base) {
        // Not under \REGISTRY: a name the object namespace does not have (S-REG-2).
        if (parts.empty()) return STATUS_OBJECT_TYPE_MISMATCH;  // "\" is the root directory
        if (!same_name(parts[0], L"REGISTRY"))
            return parts.size() > 1 ? STATUS_OBJECT_PATH_NOT_FOUND : STATUS_OBJECT_NAME_NOT_FOUND;
        at = m_root;
        i = 1;
    } else if (base->deleted) {
        return STATUS_KEY_DELETED;
    }
    for (; i < parts.size(); ++i) {
        std::shared_ptr<Key> next = child(at.get(), parts[i]);
        if (!next) {
            bool last = i + 1 == parts.size();
            if (!create || (!last && !create_path)) return STATUS_OBJECT_NAME_NOT_FOUND;
            // S-REG-3: a stable key cannot be made under a volatile one.
            if (at->is_volatile && !is_volatile) return STATUS_CHILD_MUST_BE_VOLATILE;
            if (at == m_root) return STATUS_ACCESS_DENIED;  // \REGISTRY's own children are fixed
            next = add_child(at.get(), parts[i], at->is_volatile || is_volatile);
            if (last) *created = true;
        }
        at = std::move(next);
    }
    *out = std::move(at);
    return STATUS_SUCCESS;
}

std::wstring Registry::full_path(const Key* key) {
    std::vector<const Key*> chain;
    for (const Key* k = key; k; k = k->parent) chain.push_back(k);
    std::wstring path;
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) path += L"\\" + (*it)->name;
    return path;
}

Value* Registry::find_value(Key* key, std::wstring_view name) {
    for (Value& v : key->values)
        if (same_name(v.name, name)) return &v;
    return nullptr;
}

void Registry::set_value(Key* key, std::wstring_view name, ULONG type, const void* data, size_t size) {
    Value* v = find_value(key, name);
    if (!v) {
        key->values.push_back(Value{std::wstring(name), type, {}});
        v = &key->values.back();
    }
    v->type = type;
    auto* bytes = static_cast<const uint8_t*>(data);
    v->data.assign(bytes, bytes + size);
    touch(key);
}

bool Registry::delete_value(Key* key, std::wstring_view name) {
    auto it = std::find_if(key->values.begin(), key->values.end(),
                           [&](const Value& v) { return same_name(v.name, name); });
    if (it == key->values.end()) return false;
    key->values.erase(it);
    touch(key);
    return true;
}

NTSTATUS Registry::delete_key(Key* key) {
    if (key->deleted) return STATUS_SUCCESS;  // S-REG-5: deleting it again succeeds
    if (!key->subkeys.empty() || !key->parent) return STATUS_CANNOT_DELETE;
    Key* parent = key->parent;
    if (!parent->parent) return STATUS_ACCESS_DENIED;  // MACHINE and USER stay
    auto& list = parent->subkeys;
    list.erase(std::find_if(list.begin(), list.end(), [&](const std::shared_ptr<Key>& s) { return s.get() == key; }));
    key->deleted = true;
    key->parent = nullptr;
    key->values.clear();
    touch(parent);
    return STATUS_SUCCESS;
}

void Registry::touch(Key* key) {
    key->last_write.QuadPart = m_clock.system_time();
}

std::shared_ptr<Key> ensure_key(Registry& r, std::wstring_view absolute_path) {
    std::shared_ptr<Key> k;
    bool created;
    NTSTATUS s = r.walk(nullptr, absolute_path, true, true, false, &k, &created);
    return NT_SUCCESS(s) ? k : nullptr;
}

}  // namespace ntio::cm
