// RtlQueryRegistryValues and the other Rtl registry helpers, built on the Zw key
// services as Windows builds them (S-REG-8..10, docs/design.md "The registry").
#include <cstdlib>
#include <cstring>
#include <cwchar>
#include <string>
#include <vector>

#include "system.hpp"
#include "verifier/report.hpp"

using ntio::sys;

namespace {

constexpr ULONG kStringTag = 0x67727453;  // 'Strg': RtlFreeUnicodeString frees a DIRECT string buffer

// A key handle this file opened, closed at scope end.
class OwnedKey {
public:
    OwnedKey() = default;
    ~OwnedKey() { reset(); }
    OwnedKey(const OwnedKey&) = delete;
    OwnedKey& operator=(const OwnedKey&) = delete;
    void reset(HANDLE h = nullptr) {
        if (m_handle) ZwClose(m_handle);
        m_handle = h;
    }
    HANDLE get() const { return m_handle; }

private:
    HANDLE m_handle = nullptr;
};

NTSTATUS open_key(HANDLE root, const std::wstring& name, bool create, HANDLE* out) {
    UNICODE_STRING u;
    u.Buffer = const_cast<PWSTR>(name.c_str());
    u.Length = u.MaximumLength = static_cast<USHORT>(name.size() * sizeof(WCHAR));
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &u, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, root, nullptr);
    return create ? ZwCreateKey(out, KEY_ALL_ACCESS, &oa, 0, nullptr, REG_OPTION_NON_VOLATILE, nullptr)
                  : ZwOpenKey(out, KEY_ALL_ACCESS, &oa);
}

// S-REG-8: the key RelativeTo and Path name. With RTL_REGISTRY_HANDLE, Path is an open
// key handle the caller keeps (*key stays empty and *handle is it).
NTSTATUS open_relative(ULONG RelativeTo, PCWSTR Path, bool create, OwnedKey* key, HANDLE* handle) {
    if (RelativeTo & RTL_REGISTRY_HANDLE) {
        *handle = const_cast<PWSTR>(Path);
        return STATUS_SUCCESS;
    }
    static const wchar_t* const bases[] = {
        L"",
        L"\\Registry\\Machine\\System\\CurrentControlSet\\Services",
        L"\\Registry\\Machine\\System\\CurrentControlSet\\Control",
        L"\\Registry\\Machine\\Software\\Microsoft\\Windows NT\\CurrentVersion",
        L"\\Registry\\Machine\\Hardware\\DeviceMap",
        L"\\Registry\\User\\.Default",  // ntio has one user: the default one
    };
    ULONG base = RelativeTo & ~RTL_REGISTRY_OPTIONAL;
    if (base >= RTL_REGISTRY_MAXIMUM) return STATUS_INVALID_PARAMETER;
    std::wstring full = bases[base];
    bool empty = !Path || !*Path;
    if (base == RTL_REGISTRY_ABSOLUTE && empty) return STATUS_OBJECT_PATH_SYNTAX_BAD;
    if (!empty) {
        if (base != RTL_REGISTRY_ABSOLUTE && Path[0] != L'\\') full += L'\\';
        full += Path;
    }
    HANDLE h = nullptr;
    NTSTATUS s = open_key(nullptr, full, create, &h);
    if (!NT_SUCCESS(s)) return s;
    key->reset(h);
    *handle = h;
    return STATUS_SUCCESS;
}

// %NAME% replaced by its value from `environment` (NAME=value strings ending with an
// empty one) or, without one, the process's environment; unknown names stay as written.
std::wstring expand(std::wstring_view text, PVOID environment) {
    auto lookup = [&](const std::wstring& name, std::wstring* value) {
        if (environment) {
            for (auto* p = static_cast<const wchar_t*>(environment); *p; p += std::wcslen(p) + 1) {
                const wchar_t* eq = std::wcschr(p + 1, L'=');
                if (eq && std::wstring_view(p, eq - p).size() == name.size() &&
                    wcsncasecmp(p, name.c_str(), name.size()) == 0) {
                    *value = eq + 1;
                    return true;
                }
            }
            return false;
        }
        std::string narrow(name.begin(), name.end());
        const char* v = std::getenv(narrow.c_str());
        if (!v) return false;
        *value = std::wstring(v, v + std::strlen(v));
        return true;
    };
    std::wstring out;
    for (size_t i = 0; i < text.size(); ++i) {
        size_t close = text[i] == L'%' ? text.find(L'%', i + 1) : std::wstring_view::npos;
        std::wstring value;
        if (close != std::wstring_view::npos && close > i + 1 && lookup(std::wstring(text.substr(i + 1, close - i - 1)), &value)) {
            out += value;
            i = close;
        } else {
            out += text[i];
        }
    }
    return out;
}

std::wstring_view text_of(const void* data, ULONG length) {
    std::wstring_view s(static_cast<const wchar_t*>(data), length / sizeof(WCHAR));
    while (!s.empty() && s.back() == L'\0') s.remove_suffix(1);
    return s;
}

// S-REG-9: RTL_QUERY_REGISTRY_DIRECT's store into EntryContext.
NTSTATUS store_direct(const RTL_QUERY_REGISTRY_TABLE& e, ULONG type, const void* data, ULONG length) {
    if (type == REG_SZ || type == REG_EXPAND_SZ || type == REG_MULTI_SZ) {
        auto* us = static_cast<PUNICODE_STRING>(e.EntryContext);
        if (length > 0xFFFF) return STATUS_SUCCESS;  // cannot fit a UNICODE_STRING: left alone
        if (!us->Buffer) {
            us->Buffer = static_cast<PWSTR>(sys().pool.allocate(length ? length : sizeof(WCHAR), kStringTag, true, true));
            if (!us->Buffer) return STATUS_INSUFFICIENT_RESOURCES;
            us->MaximumLength = static_cast<USHORT>(length ? length : sizeof(WCHAR));
        } else if (length > us->MaximumLength) {
            return STATUS_SUCCESS;  // too small: nothing stored, and no error (as Windows does)
        }
        if (length) std::memcpy(us->Buffer, data, length);
        // Length excludes the terminating NUL the value carries.
        ULONG chars = length / sizeof(WCHAR);
        if (chars && us->Buffer[chars - 1] == L'\0') --chars;
        us->Length = static_cast<USHORT>(chars * sizeof(WCHAR));
        return STATUS_SUCCESS;
    }
    if (length <= sizeof(ULONG)) {
        std::memcpy(e.EntryContext, data, length);
        return STATUS_SUCCESS;
    }
    // Larger data: the buffer's first LONG says its size. Negative: the size of a raw
    // buffer; positive: a buffer that takes a ULONG length, a ULONG type and the data.
    LONG size;
    std::memcpy(&size, e.EntryContext, sizeof size);
    auto* out = static_cast<uint8_t*>(e.EntryContext);
    if (size < 0) {
        if (length <= static_cast<ULONG>(-static_cast<int64_t>(size))) std::memcpy(out, data, length);
    } else if (static_cast<ULONG>(size) >= 2 * sizeof(ULONG) + length) {
        ULONG header[2] = {length, type};
        std::memcpy(out, header, sizeof header);
        std::memcpy(out + sizeof header, data, length);
    }
    return STATUS_SUCCESS;
}

// One value (or default) for an entry: to its routine, or stored (DIRECT).
NTSTATUS deliver(const RTL_QUERY_REGISTRY_TABLE& e, PWSTR name, ULONG type, const void* data, ULONG length,
                 PVOID context, PVOID environment) {
    bool expand_strings = !(e.Flags & RTL_QUERY_REGISTRY_NOEXPAND);
    std::wstring expanded;
    if (type == REG_EXPAND_SZ && expand_strings) {
        expanded = expand(text_of(data, length), environment);
        type = REG_SZ;
        data = expanded.c_str();
        length = static_cast<ULONG>((expanded.size() + 1) * sizeof(WCHAR));
    }
    if (e.Flags & RTL_QUERY_REGISTRY_DIRECT) {
        // A REG_MULTI_SZ stored whole needs NOEXPAND; without it Windows writes an array
        // of UNICODE_STRINGs past EntryContext. ntio refuses it.
        if (type == REG_MULTI_SZ && expand_strings) return STATUS_INVALID_PARAMETER;
        return store_direct(e, type, data, length);
    }
    if (type == REG_MULTI_SZ && expand_strings) {
        // One REG_SZ call per string, each with its NUL.
        auto* p = static_cast<const wchar_t*>(data);
        const wchar_t* end = p + length / sizeof(WCHAR);
        while (p < end && *p) {
            const wchar_t* s = p;
            while (p < end && *p) ++p;
            auto bytes = static_cast<ULONG>((p - s + (p < end ? 1 : 0)) * sizeof(WCHAR));
            NTSTATUS st = e.QueryRoutine(name, REG_SZ, const_cast<wchar_t*>(s), bytes, context, e.EntryContext);
            if (!NT_SUCCESS(st)) return st;
            if (p < end) ++p;
        }
        return STATUS_SUCCESS;
    }
    return e.QueryRoutine(name, type, const_cast<void*>(data), length, context, e.EntryContext);
}

// The length of an entry's default data: DefaultLength, or for strings given as 0 the
// text with its NUL (a REG_MULTI_SZ up to its empty last string).
ULONG default_length(const RTL_QUERY_REGISTRY_TABLE& e, ULONG type) {
    if (e.DefaultLength || !e.DefaultData) return e.DefaultLength;
    auto* p = static_cast<const wchar_t*>(e.DefaultData);
    if (type == REG_SZ || type == REG_EXPAND_SZ) return static_cast<ULONG>((std::wcslen(p) + 1) * sizeof(WCHAR));
    if (type == REG_MULTI_SZ) {
        const wchar_t* q = p;
        while (*q) q += std::wcslen(q) + 1;
        return static_cast<ULONG>((q - p + 1) * sizeof(WCHAR));
    }
    return 0;
}

struct FullValue {
    std::vector<uint8_t> bytes;
    const KEY_VALUE_FULL_INFORMATION* info() const {
        return reinterpret_cast<const KEY_VALUE_FULL_INFORMATION*>(bytes.data());
    }
    std::wstring name() const { return std::wstring(info()->Name, info()->NameLength / sizeof(WCHAR)); }
    const void* data() const { return bytes.data() + info()->DataOffset; }
};

// A value's full information by name (name != nullptr) or index.
NTSTATUS read_value(HANDLE key, PCWSTR name, ULONG index, FullValue* out) {
    UNICODE_STRING u;
    if (name) RtlInitUnicodeString(&u, name);
    out->bytes.resize(256);
    for (;;) {
        ULONG need = 0;
        auto length = static_cast<ULONG>(out->bytes.size());
        NTSTATUS s = name ? ZwQueryValueKey(key, &u, KeyValueFullInformation, out->bytes.data(), length, &need)
                          : ZwEnumerateValueKey(key, index, KeyValueFullInformation, out->bytes.data(), length, &need);
        if (s == STATUS_BUFFER_OVERFLOW || s == STATUS_BUFFER_TOO_SMALL) {
            out->bytes.resize(need);
            continue;
        }
        return s;
    }
}

}  // namespace

extern "C" {

NTSTATUS RtlQueryRegistryValues(ULONG RelativeTo, PCWSTR Path, PRTL_QUERY_REGISTRY_TABLE QueryTable, PVOID Context,
                                PVOID Environment) {
    ntio::verifier::check_irql_at_most(PASSIVE_LEVEL, "RtlQueryRegistryValues");
    if (!QueryTable) return STATUS_INVALID_PARAMETER;
    OwnedKey owned_top, owned_sub;
    HANDLE top = nullptr;
    if (NTSTATUS s = open_relative(RelativeTo, Path, false, &owned_top, &top)) return s;
    HANDLE current = top;
    // S-REG-9: the table ends at an entry with no routine that is neither SUBKEY nor DIRECT.
    for (PRTL_QUERY_REGISTRY_TABLE e = QueryTable;
         e->QueryRoutine || (e->Flags & (RTL_QUERY_REGISTRY_SUBKEY | RTL_QUERY_REGISTRY_DIRECT)); ++e) {
        bool direct = e->Flags & RTL_QUERY_REGISTRY_DIRECT;
        if (direct && (e->QueryRoutine || !e->Name || (e->Flags & RTL_QUERY_REGISTRY_SUBKEY)))
            return STATUS_INVALID_PARAMETER;
        if (e->Flags & (RTL_QUERY_REGISTRY_TOPKEY | RTL_QUERY_REGISTRY_SUBKEY)) {
            owned_sub.reset();
            current = top;
        }
        if (e->Flags & RTL_QUERY_REGISTRY_SUBKEY) {
            if (!e->Name) return STATUS_INVALID_PARAMETER;
            HANDLE sub = nullptr;
            if (NTSTATUS s = open_key(top, e->Name, false, &sub)) return s;
            owned_sub.reset(sub);
            current = sub;
            if (!e->QueryRoutine) continue;  // only moves to the subkey
        }
        NTSTATUS status = STATUS_SUCCESS;
        if (!e->Name || (e->Flags & RTL_QUERY_REGISTRY_SUBKEY)) {
            if (e->Flags & RTL_QUERY_REGISTRY_NOVALUE) {
                status = e->QueryRoutine(nullptr, REG_NONE, nullptr, 0, Context, e->EntryContext);
            } else {
                // Every value of the key, each under a NUL-terminated copy of its name.
                FullValue v;
                for (ULONG i = 0; NT_SUCCESS(status); ++i) {
                    NTSTATUS r = read_value(current, nullptr, i, &v);
                    if (r == STATUS_NO_MORE_ENTRIES) break;
                    if (!NT_SUCCESS(r)) return r;
                    std::wstring name = v.name();
                    status = deliver(*e, name.data(), v.info()->Type, v.data(), v.info()->DataLength, Context,
                                     Environment);
                }
            }
        } else {
            FullValue v;
            NTSTATUS r = read_value(current, e->Name, 0, &v);
            if (NT_SUCCESS(r)) {
                ULONG want = static_cast<ULONG>(e->DefaultType) >> RTL_QUERY_REGISTRY_TYPECHECK_SHIFT;
                if ((e->Flags & RTL_QUERY_REGISTRY_TYPECHECK) && v.info()->Type != want)
                    return STATUS_OBJECT_TYPE_MISMATCH;
                status = deliver(*e, e->Name, v.info()->Type, v.data(), v.info()->DataLength, Context, Environment);
                if (NT_SUCCESS(status) && (e->Flags & RTL_QUERY_REGISTRY_DELETE)) {
                    UNICODE_STRING u;
                    RtlInitUnicodeString(&u, e->Name);
                    ZwDeleteValueKey(current, &u);
                }
            } else if (r == STATUS_OBJECT_NAME_NOT_FOUND) {
                ULONG type = e->DefaultType & ~RTL_QUERY_REGISTRY_TYPECHECK_MASK;
                if (type == REG_NONE) {
                    if (e->Flags & RTL_QUERY_REGISTRY_REQUIRED) return STATUS_OBJECT_NAME_NOT_FOUND;
                    continue;
                }
                if (!e->DefaultData) return STATUS_DATA_OVERRUN;
                status = deliver(*e, e->Name, type, e->DefaultData, default_length(*e, type), Context, Environment);
            } else {
                return r;
            }
        }
        // A routine's STATUS_BUFFER_TOO_SMALL is passed over; any other failure ends the walk.
        if (!NT_SUCCESS(status) && status != STATUS_BUFFER_TOO_SMALL) return status;
    }
    return STATUS_SUCCESS;
}

NTSTATUS RtlQueryRegistryValuesEx(ULONG RelativeTo, PCWSTR Path, PRTL_QUERY_REGISTRY_TABLE QueryTable, PVOID Context,
                                  PVOID Environment) {
    // The Ex form differs in the pool a DIRECT string is allocated from (nonpaged);
    // ntio's pool kinds behave alike, so it is the same call.
    return RtlQueryRegistryValues(RelativeTo, Path, QueryTable, Context, Environment);
}

NTSTATUS RtlWriteRegistryValue(ULONG RelativeTo, PCWSTR Path, PCWSTR ValueName, ULONG ValueType, PVOID ValueData,
                               ULONG ValueLength) {
    ntio::verifier::check_irql_at_most(PASSIVE_LEVEL, "RtlWriteRegistryValue");
    OwnedKey owned;
    HANDLE key = nullptr;
    if (NTSTATUS s = open_relative(RelativeTo, Path, true, &owned, &key)) return s;
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, ValueName);
    return ZwSetValueKey(key, &name, 0, ValueType, ValueData, ValueLength);
}

NTSTATUS RtlDeleteRegistryValue(ULONG RelativeTo, PCWSTR Path, PCWSTR ValueName) {
    ntio::verifier::check_irql_at_most(PASSIVE_LEVEL, "RtlDeleteRegistryValue");
    OwnedKey owned;
    HANDLE key = nullptr;
    if (NTSTATUS s = open_relative(RelativeTo, Path, false, &owned, &key)) return s;
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, ValueName);
    return ZwDeleteValueKey(key, &name);
}

NTSTATUS RtlCheckRegistryKey(ULONG RelativeTo, PWSTR Path) {
    ntio::verifier::check_irql_at_most(PASSIVE_LEVEL, "RtlCheckRegistryKey");
    OwnedKey owned;
    HANDLE key = nullptr;
    return open_relative(RelativeTo, Path, false, &owned, &key);
}

NTSTATUS RtlCreateRegistryKey(ULONG RelativeTo, PWSTR Path) {
    ntio::verifier::check_irql_at_most(PASSIVE_LEVEL, "RtlCreateRegistryKey");
    if (RelativeTo & RTL_REGISTRY_HANDLE) return STATUS_SUCCESS;  // the key is open: it exists
    OwnedKey owned;
    HANDLE key = nullptr;
    return open_relative(RelativeTo & ~RTL_REGISTRY_OPTIONAL, Path, true, &owned, &key);
}

}  // extern "C"
