// The configuration manager: the registry as an in-memory tree of keys, one per
// runtime. Keys are reached through key objects (the body of a key handle), which
// hold the key itself, so a key deleted while handles are open stays until the
// last one closes and answers STATUS_KEY_DELETED meanwhile (S-REG-5).
//
// One lock guards the whole tree: the registry is read at load and configuration
// time, never on a request path.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "ke/dispatcher.hpp"
#include "ob/object.hpp"
#include "wdm.h"

namespace ntio::cm {

struct Value {
    std::wstring name;  // empty: the key's default value
    ULONG type = REG_NONE;
    std::vector<uint8_t> data;
};

struct Key {
    std::wstring name;           // the last component, as created
    Key* parent = nullptr;       // nullptr for the root and once deleted
    std::vector<std::shared_ptr<Key>> subkeys;  // stable, then volatile; each sorted by upcased name (S-REG-6)
    std::vector<Value> values;   // in the order they were first set
    std::wstring class_name;
    bool deleted = false;
    bool is_volatile = false;
    LARGE_INTEGER last_write{};
};

// Case-insensitive comparison of registry names (keys and values).
bool same_name(std::wstring_view a, std::wstring_view b);

class Registry {
public:
    // The standard keys; last-write times come from `clock`'s system time.
    explicit Registry(const ke::Dispatcher& clock);  // the standard keys: \REGISTRY\MACHINE\{SYSTEM\CurrentControlSet\..., SOFTWARE, HARDWARE}, \REGISTRY\USER
    std::mutex lock;

    // All below: with `lock` held.
    Key* root() { return m_root.get(); }
    // The subkey of `parent` named `name`, or nullptr.
    std::shared_ptr<Key> child(Key* parent, std::wstring_view name);
    // Adds a subkey (which must not exist) in its sorted place.
    std::shared_ptr<Key> add_child(Key* parent, std::wstring_view name, bool is_volatile);
    // `relative` under `base` (null: the root, and `relative` must begin with \REGISTRY).
    // With `create`, missing keys are made (all of them when `create_path`, else only the
    // last: a missing parent is STATUS_OBJECT_NAME_NOT_FOUND). *created: the last was made.
    NTSTATUS walk(const std::shared_ptr<Key>& base, std::wstring_view relative, bool create, bool create_path, bool is_volatile,
                  std::shared_ptr<Key>* out, bool* created);
    static std::wstring full_path(const Key* key);  // \REGISTRY\MACHINE\...
    static Value* find_value(Key* key, std::wstring_view name);
    void set_value(Key* key, std::wstring_view name, ULONG type, const void* data, size_t size);
    bool delete_value(Key* key, std::wstring_view name);
    // Removes a key without subkeys from its parent; open handles keep it, marked deleted.
    NTSTATUS delete_key(Key* key);
    void touch(Key* key);

private:
    const ke::Dispatcher& m_clock;
    std::shared_ptr<Key> m_root;
};

// The body of a key handle.
struct KeyObject {
    std::shared_ptr<Key> key;
};
extern ob::ObjectType g_key_type;

// Creates (or opens) the key at an absolute path and returns it with `lock` held by
// the caller. For the runtime's own keys (a driver's service key, a device's keys).
std::shared_ptr<Key> ensure_key(Registry& r, std::wstring_view absolute_path);

// Loads a .reg file (REGEDIT4 or "Windows Registry Editor Version 5.00", UTF-8 or
// UTF-16LE with its BOM) into the registry. On a syntax error nothing of the file
// after the bad line is applied and *error says where (file:line: what).
bool load_reg_file(Registry& r, const std::string& path, std::string* error);
// The same from text already read (tests; `name` for messages).
bool load_reg_text(Registry& r, std::wstring_view text, const std::string& name, std::string* error);

}  // namespace ntio::cm
