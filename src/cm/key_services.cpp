// The registry's system services: NtCreateKey, NtOpenKey, NtQueryValueKey, ... and
// their Zw forms (kernel mode: no access check against the handle, as on Windows).
// Rules S-REG-1..7 (docs/design.md, "The registry").
#include <cstring>

#include "cm/registry.hpp"
#include "ke/user_access.hpp"
#include "ob/services.hpp"
#include "ps/thread.hpp"
#include "system.hpp"
#include "verifier/report.hpp"

using ntio::sys;

namespace ntio::cm {
namespace {

constexpr size_t kMaxValueName = 16383;  // characters (S-REG-4)

ACCESS_MASK map_key_access(ACCESS_MASK access) {
    if (access & (GENERIC_ALL | MAXIMUM_ALLOWED)) return KEY_ALL_ACCESS;
    ACCESS_MASK specific = access & ~(GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE);
    if (access & GENERIC_READ) specific |= KEY_READ;
    if (access & GENERIC_WRITE) specific |= KEY_WRITE;
    if (access & GENERIC_EXECUTE) specific |= KEY_EXECUTE;
    return specific;
}

// A referenced key object, dropped at scope end.
class KeyRef {
public:
    KeyRef() = default;
    ~KeyRef() {
        if (m_body) ob::dereference(m_body);
    }
    KeyRef(const KeyRef&) = delete;
    KeyRef& operator=(const KeyRef&) = delete;
    NTSTATUS reference(HANDLE handle, ACCESS_MASK desired) {
        void* body = nullptr;
        NTSTATUS s = ob::reference_by_handle(handle, &g_key_type, ps::previous_mode(), desired, &body, nullptr);
        if (NT_SUCCESS(s)) m_body = static_cast<KeyObject*>(body);
        return s;
    }
    Key* key() const { return m_body->key.get(); }
    const std::shared_ptr<Key>& shared() const { return m_body->key; }

private:
    KeyObject* m_body = nullptr;
};

std::wstring_view name_of(const UNICODE_STRING* s) {
    if (!s || !s->Buffer) return {};
    return {s->Buffer, s->Length / sizeof(WCHAR)};
}

// A value's name (S-REG-4): a length that is not whole characters is refused, trailing
// NULs are dropped, an empty (or NULL) name is the key's default value.
NTSTATUS value_name(const UNICODE_STRING* s, std::wstring_view* out) {
    if (s && s->Length % sizeof(WCHAR)) return STATUS_INVALID_PARAMETER;
    std::wstring_view name = name_of(s);
    while (!name.empty() && name.back() == L'\0') name.remove_suffix(1);
    *out = name;
    return STATUS_SUCCESS;
}

// An information class's whole answer, built first and then copied as far as the
// caller's buffer takes it (S-REG-4).
class Answer {
public:
    explicit Answer(size_t fixed) : m_fixed(fixed) {}
    void ulong(ULONG v) { bytes(&v, sizeof v); }
    void time(LARGE_INTEGER v) { bytes(&v, sizeof v); }
    void bytes(const void* p, size_t n) {
        auto* b = static_cast<const uint8_t*>(p);
        m_bytes.insert(m_bytes.end(), b, b + n);
    }
    void text(std::wstring_view s) { bytes(s.data(), s.size() * sizeof(WCHAR)); }
    void align(size_t to) { m_bytes.resize((m_bytes.size() + to - 1) / to * to); }
    size_t size() const { return m_bytes.size() < m_fixed ? m_fixed : m_bytes.size(); }
    void patch_ulong(size_t offset, ULONG v) { std::memcpy(&m_bytes[offset], &v, sizeof v); }
    // S-REG-4: *ResultLength is the whole size; a buffer smaller than the fixed part
    // gets nothing and STATUS_BUFFER_TOO_SMALL; one that holds the fixed part but not
    // the rest gets what fits and STATUS_BUFFER_OVERFLOW.
    NTSTATUS deliver(PVOID buffer, ULONG length, PULONG result_length) {
        m_bytes.resize(size());
        if (!result_length) return STATUS_ACCESS_VIOLATION;
        *result_length = static_cast<ULONG>(m_bytes.size());
        if (length < m_fixed) return STATUS_BUFFER_TOO_SMALL;
        if (!buffer) return STATUS_ACCESS_VIOLATION;
        size_t n = length < m_bytes.size() ? length : m_bytes.size();
        if (NTSTATUS s = ke::copy_user(buffer, m_bytes.data(), n)) return s;
        return n < m_bytes.size() ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
    }

private:
    size_t m_fixed;
    std::vector<uint8_t> m_bytes;
};

NTSTATUS value_answer(const Value& v, KEY_VALUE_INFORMATION_CLASS cls, std::unique_ptr<Answer>& hold) {
    auto name_bytes = static_cast<ULONG>(v.name.size() * sizeof(WCHAR));
    auto data_bytes = static_cast<ULONG>(v.data.size());
    switch (cls) {
    case KeyValueBasicInformation:
        hold = std::make_unique<Answer>(FIELD_OFFSET(KEY_VALUE_BASIC_INFORMATION, Name));
        hold->ulong(0);
        hold->ulong(v.type);
        hold->ulong(name_bytes);
        hold->text(v.name);
        break;
    case KeyValueFullInformation:
    case KeyValueFullInformationAlign64: {
        hold = std::make_unique<Answer>(FIELD_OFFSET(KEY_VALUE_FULL_INFORMATION, Name));
        hold->ulong(0);
        hold->ulong(v.type);
        hold->ulong(0);  // DataOffset, below
        hold->ulong(data_bytes);
        hold->ulong(name_bytes);
        hold->text(v.name);
        hold->align(cls == KeyValueFullInformation ? sizeof(ULONG) : 8);
        hold->patch_ulong(FIELD_OFFSET(KEY_VALUE_FULL_INFORMATION, DataOffset), static_cast<ULONG>(hold->size()));
        hold->bytes(v.data.data(), v.data.size());
        break;
    }
    case KeyValuePartialInformation:
    case KeyValuePartialInformationAlign64:
        hold = std::make_unique<Answer>(FIELD_OFFSET(KEY_VALUE_PARTIAL_INFORMATION, Data));
        hold->ulong(0);
        hold->ulong(v.type);
        hold->ulong(data_bytes);
        hold->bytes(v.data.data(), v.data.size());
        break;
    default:
        return STATUS_INVALID_PARAMETER;  // KeyValueLayerInformation and beyond: not a value class ntio answers
    }
    return STATUS_SUCCESS;
}

NTSTATUS key_answer(const Key& k, KEY_INFORMATION_CLASS cls, std::unique_ptr<Answer>& hold) {
    auto name_bytes = static_cast<ULONG>(k.name.size() * sizeof(WCHAR));
    auto class_bytes = static_cast<ULONG>(k.class_name.size() * sizeof(WCHAR));
    switch (cls) {
    case KeyBasicInformation:
        hold = std::make_unique<Answer>(FIELD_OFFSET(KEY_BASIC_INFORMATION, Name));
        hold->time(k.last_write);
        hold->ulong(0);
        hold->ulong(name_bytes);
        hold->text(k.name);
        return STATUS_SUCCESS;
    case KeyNodeInformation:
        hold = std::make_unique<Answer>(FIELD_OFFSET(KEY_NODE_INFORMATION, Name));
        hold->time(k.last_write);
        hold->ulong(0);
        hold->ulong(k.class_name.empty() ? 0xFFFFFFFFu
                                         : static_cast<ULONG>(FIELD_OFFSET(KEY_NODE_INFORMATION, Name) + name_bytes));
        hold->ulong(class_bytes);
        hold->ulong(name_bytes);
        hold->text(k.name);
        hold->text(k.class_name);
        return STATUS_SUCCESS;
    case KeyFullInformation: {
        hold = std::make_unique<Answer>(FIELD_OFFSET(KEY_FULL_INFORMATION, Class));
        ULONG max_name = 0, max_class = 0, max_value_name = 0, max_value_data = 0;
        for (auto& s : k.subkeys) {
            max_name = std::max<ULONG>(max_name, static_cast<ULONG>(s->name.size() * sizeof(WCHAR)));
            max_class = std::max<ULONG>(max_class, static_cast<ULONG>(s->class_name.size() * sizeof(WCHAR)));
        }
        for (auto& v : k.values) {
            max_value_name = std::max<ULONG>(max_value_name, static_cast<ULONG>(v.name.size() * sizeof(WCHAR)));
            max_value_data = std::max<ULONG>(max_value_data, static_cast<ULONG>(v.data.size()));
        }
        hold->time(k.last_write);
        hold->ulong(0);
        hold->ulong(k.class_name.empty() ? 0xFFFFFFFFu : static_cast<ULONG>(FIELD_OFFSET(KEY_FULL_INFORMATION, Class)));
        hold->ulong(class_bytes);
        hold->ulong(static_cast<ULONG>(k.subkeys.size()));
        hold->ulong(max_name);
        hold->ulong(max_class);
        hold->ulong(static_cast<ULONG>(k.values.size()));
        hold->ulong(max_value_name);
        hold->ulong(max_value_data);
        hold->text(k.class_name);
        return STATUS_SUCCESS;
    }
    case KeyNameInformation: {  // the full path, for NtQueryKey only
        hold = std::make_unique<Answer>(FIELD_OFFSET(KEY_NAME_INFORMATION, Name));
        std::wstring path = Registry::full_path(&k);
        hold->ulong(static_cast<ULONG>(path.size() * sizeof(WCHAR)));
        hold->text(path);
        return STATUS_SUCCESS;
    }
    default:
        return STATUS_INVALID_PARAMETER;  // cached, flags, virtualization...: not answered (docs/compat.md)
    }
}

NTSTATUS open_or_create(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                        bool create, PUNICODE_STRING Class, ULONG CreateOptions, PULONG Disposition) {
    if (!KeyHandle) return STATUS_ACCESS_VIOLATION;
    if (!ObjectAttributes) return STATUS_INVALID_PARAMETER;
    *KeyHandle = nullptr;
    if (create && (CreateOptions & ~(REG_OPTION_VOLATILE | REG_OPTION_NON_VOLATILE | REG_OPTION_BACKUP_RESTORE |
                                     REG_OPTION_OPEN_LINK)))
        return STATUS_INVALID_PARAMETER;  // REG_OPTION_CREATE_LINK: ntio has no symbolic-link keys
    KeyRef root;
    if (ObjectAttributes->RootDirectory) {
        // A name relative to a key handle. Windows asks the parent key's security
        // descriptor, not the handle, whether a subkey may be made; ntio's keys have
        // none (docs/compat.md), so the handle needs no particular access.
        if (NTSTATUS s = root.reference(ObjectAttributes->RootDirectory, 0)) return s;
    }
    if (ObjectAttributes->ObjectName && ObjectAttributes->ObjectName->Length % sizeof(WCHAR))
        return STATUS_OBJECT_NAME_INVALID;
    std::wstring_view name = name_of(ObjectAttributes->ObjectName);
    Registry& r = sys().registry;
    std::shared_ptr<Key> key;
    bool created = false;
    {
        std::lock_guard g(r.lock);
        std::shared_ptr<Key> base = ObjectAttributes->RootDirectory ? root.shared() : nullptr;
        NTSTATUS s = r.walk(base, name, create, false, (CreateOptions & REG_OPTION_VOLATILE) != 0, &key, &created);
        if (!NT_SUCCESS(s)) return s;
        if (created && Class && Class->Buffer) key->class_name.assign(Class->Buffer, Class->Length / sizeof(WCHAR));
    }
    auto* body = ob::create<KeyObject>(g_key_type);
    body->key = std::move(key);
    bool kernel = ObjectAttributes->Attributes & OBJ_KERNEL_HANDLE;
    NTSTATUS s = sys().handles.insert(body, map_key_access(DesiredAccess), kernel, KeyHandle);
    ob::dereference(body);  // the handle holds it now
    if (!NT_SUCCESS(s)) return s;
    if (Disposition) *Disposition = created ? REG_CREATED_NEW_KEY : REG_OPENED_EXISTING_KEY;
    return STATUS_SUCCESS;
}

}  // namespace
}  // namespace ntio::cm

using namespace ntio;
using ntio::cm::KeyRef;

extern "C" {

NTSTATUS NtCreateKey(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes, ULONG TitleIndex,
                     PUNICODE_STRING Class, ULONG CreateOptions, PULONG Disposition) {
    (void)TitleIndex;  // ignored, as on Windows
    return cm::open_or_create(KeyHandle, DesiredAccess, ObjectAttributes, true, Class, CreateOptions, Disposition);
}

NTSTATUS NtOpenKey(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes) {
    return cm::open_or_create(KeyHandle, DesiredAccess, ObjectAttributes, false, nullptr, 0, nullptr);
}

NTSTATUS NtDeleteKey(HANDLE KeyHandle) {
    KeyRef k;
    if (NTSTATUS s = k.reference(KeyHandle, DELETE)) return s;
    std::lock_guard g(sys().registry.lock);
    return sys().registry.delete_key(k.key());
}

NTSTATUS NtFlushKey(HANDLE KeyHandle) {
    // The registry lives in memory: there is nothing to write back (S-REG-7).
    KeyRef k;
    if (NTSTATUS s = k.reference(KeyHandle, 0)) return s;
    std::lock_guard g(sys().registry.lock);
    return k.key()->deleted ? STATUS_KEY_DELETED : STATUS_SUCCESS;
}

NTSTATUS NtQueryKey(HANDLE KeyHandle, KEY_INFORMATION_CLASS KeyInformationClass, PVOID KeyInformation, ULONG Length,
                    PULONG ResultLength) {
    KeyRef k;
    // KeyNameInformation needs no access; the others KEY_QUERY_VALUE.
    if (NTSTATUS s = k.reference(KeyHandle, KeyInformationClass == KeyNameInformation ? 0 : KEY_QUERY_VALUE)) return s;
    std::unique_ptr<cm::Answer> a;
    {
        std::lock_guard g(sys().registry.lock);
        if (k.key()->deleted) return STATUS_KEY_DELETED;
        if (NTSTATUS s = cm::key_answer(*k.key(), KeyInformationClass, a)) return s;
    }
    return a->deliver(KeyInformation, Length, ResultLength);
}

NTSTATUS NtEnumerateKey(HANDLE KeyHandle, ULONG Index, KEY_INFORMATION_CLASS KeyInformationClass, PVOID KeyInformation,
                        ULONG Length, PULONG ResultLength) {
    KeyRef k;
    if (NTSTATUS s = k.reference(KeyHandle, KEY_ENUMERATE_SUB_KEYS)) return s;
    if (KeyInformationClass == KeyNameInformation) return STATUS_INVALID_PARAMETER;
    std::unique_ptr<cm::Answer> a;
    {
        std::lock_guard g(sys().registry.lock);
        cm::Key* key = k.key();
        if (key->deleted) return STATUS_KEY_DELETED;
        if (Index >= key->subkeys.size()) return STATUS_NO_MORE_ENTRIES;
        if (NTSTATUS s = cm::key_answer(*key->subkeys[Index], KeyInformationClass, a)) return s;
    }
    return a->deliver(KeyInformation, Length, ResultLength);
}

NTSTATUS NtQueryValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName,
                         KEY_VALUE_INFORMATION_CLASS KeyValueInformationClass, PVOID KeyValueInformation, ULONG Length,
                         PULONG ResultLength) {
    KeyRef k;
    if (NTSTATUS s = k.reference(KeyHandle, KEY_QUERY_VALUE)) return s;
    std::unique_ptr<cm::Answer> a;
    {
        std::lock_guard g(sys().registry.lock);
        if (k.key()->deleted) return STATUS_KEY_DELETED;
        std::wstring_view name;
        if (NTSTATUS s = cm::value_name(ValueName, &name)) return s;
        cm::Value* v = cm::Registry::find_value(k.key(), name);
        if (!v) return STATUS_OBJECT_NAME_NOT_FOUND;
        if (NTSTATUS s = cm::value_answer(*v, KeyValueInformationClass, a)) return s;
    }
    return a->deliver(KeyValueInformation, Length, ResultLength);
}

NTSTATUS NtEnumerateValueKey(HANDLE KeyHandle, ULONG Index, KEY_VALUE_INFORMATION_CLASS KeyValueInformationClass,
                             PVOID KeyValueInformation, ULONG Length, PULONG ResultLength) {
    KeyRef k;
    if (NTSTATUS s = k.reference(KeyHandle, KEY_QUERY_VALUE)) return s;
    std::unique_ptr<cm::Answer> a;
    {
        std::lock_guard g(sys().registry.lock);
        cm::Key* key = k.key();
        if (key->deleted) return STATUS_KEY_DELETED;
        if (Index >= key->values.size()) return STATUS_NO_MORE_ENTRIES;
        if (NTSTATUS s = cm::value_answer(key->values[Index], KeyValueInformationClass, a)) return s;
    }
    return a->deliver(KeyValueInformation, Length, ResultLength);
}

NTSTATUS NtSetValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName, ULONG TitleIndex, ULONG Type, PVOID Data,
                       ULONG DataSize) {
    (void)TitleIndex;
    KeyRef k;
    if (NTSTATUS s = k.reference(KeyHandle, KEY_SET_VALUE)) return s;
    std::wstring_view name;
    if (NTSTATUS s = cm::value_name(ValueName, &name)) return s;
    if (name.size() > cm::kMaxValueName) return STATUS_INVALID_PARAMETER;
    if (DataSize > 0x80000000u) return STATUS_INVALID_PARAMETER;
    if (DataSize && !Data) return STATUS_ACCESS_VIOLATION;
    std::vector<uint8_t> data(DataSize);
    if (DataSize)
        if (NTSTATUS s = ke::copy_user(data.data(), Data, DataSize)) return s;
    std::lock_guard g(sys().registry.lock);
    if (k.key()->deleted) return STATUS_KEY_DELETED;
    sys().registry.set_value(k.key(), name, Type, data.data(), data.size());
    return STATUS_SUCCESS;
}

NTSTATUS NtDeleteValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName) {
    KeyRef k;
    if (NTSTATUS s = k.reference(KeyHandle, KEY_SET_VALUE)) return s;
    std::lock_guard g(sys().registry.lock);
    if (k.key()->deleted) return STATUS_KEY_DELETED;
    std::wstring_view name;
    if (NTSTATUS s = cm::value_name(ValueName, &name)) return s;
    return sys().registry.delete_value(k.key(), name) ? STATUS_SUCCESS : STATUS_OBJECT_NAME_NOT_FOUND;
}

// The Zw forms: kernel mode, PASSIVE_LEVEL.
#define NTIO_ZW(name, call)                                            \
    ntio::verifier::check_irql_at_most(PASSIVE_LEVEL, #name);          \
    ntio::ps::KernelModeScope kernel;                                  \
    return call

NTSTATUS ZwCreateKey(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes, ULONG TitleIndex,
                     PUNICODE_STRING Class, ULONG CreateOptions, PULONG Disposition) {
    NTIO_ZW(ZwCreateKey, NtCreateKey(KeyHandle, DesiredAccess, ObjectAttributes, TitleIndex, Class, CreateOptions,
                                     Disposition));
}
NTSTATUS ZwOpenKey(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes) {
    NTIO_ZW(ZwOpenKey, NtOpenKey(KeyHandle, DesiredAccess, ObjectAttributes));
}
NTSTATUS ZwDeleteKey(HANDLE KeyHandle) { NTIO_ZW(ZwDeleteKey, NtDeleteKey(KeyHandle)); }
NTSTATUS ZwFlushKey(HANDLE KeyHandle) { NTIO_ZW(ZwFlushKey, NtFlushKey(KeyHandle)); }
NTSTATUS ZwQueryKey(HANDLE KeyHandle, KEY_INFORMATION_CLASS KeyInformationClass, PVOID KeyInformation, ULONG Length,
                    PULONG ResultLength) {
    NTIO_ZW(ZwQueryKey, NtQueryKey(KeyHandle, KeyInformationClass, KeyInformation, Length, ResultLength));
}
NTSTATUS ZwEnumerateKey(HANDLE KeyHandle, ULONG Index, KEY_INFORMATION_CLASS KeyInformationClass, PVOID KeyInformation,
                        ULONG Length, PULONG ResultLength) {
    NTIO_ZW(ZwEnumerateKey,
            NtEnumerateKey(KeyHandle, Index, KeyInformationClass, KeyInformation, Length, ResultLength));
}
NTSTATUS ZwQueryValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName,
                         KEY_VALUE_INFORMATION_CLASS KeyValueInformationClass, PVOID KeyValueInformation, ULONG Length,
                         PULONG ResultLength) {
    NTIO_ZW(ZwQueryValueKey, NtQueryValueKey(KeyHandle, ValueName, KeyValueInformationClass, KeyValueInformation,
                                             Length, ResultLength));
}
NTSTATUS ZwEnumerateValueKey(HANDLE KeyHandle, ULONG Index, KEY_VALUE_INFORMATION_CLASS KeyValueInformationClass,
                             PVOID KeyValueInformation, ULONG Length, PULONG ResultLength) {
    NTIO_ZW(ZwEnumerateValueKey, NtEnumerateValueKey(KeyHandle, Index, KeyValueInformationClass,
                                                     KeyValueInformation, Length, ResultLength));
}
NTSTATUS ZwSetValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName, ULONG TitleIndex, ULONG Type, PVOID Data,
                       ULONG DataSize) {
    NTIO_ZW(ZwSetValueKey, NtSetValueKey(KeyHandle, ValueName, TitleIndex, Type, Data, DataSize));
}
NTSTATUS ZwDeleteValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName) {
    NTIO_ZW(ZwDeleteValueKey, NtDeleteValueKey(KeyHandle, ValueName));
}

}  // extern "C"
