// The registry (S-REG-1..10 in docs/design.md, "The registry"): key handles through the
// Zw*Key services, their buffer rules, deleted keys, enumeration order, the Rtl
// helpers with RtlQueryRegistryValues' table, a driver's service key seeded from a
// .reg file, and a PnP device's own keys.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "ntio/gtest.hpp"
#include "wdm.h"

namespace {

using ntio::testing::DriverTest;

UNICODE_STRING us(const wchar_t* s) {
    UNICODE_STRING u;
    RtlInitUnicodeString(&u, s);
    return u;
}

NTSTATUS open_key(HANDLE* h, const wchar_t* name, HANDLE root = nullptr, bool create = false, ULONG options = 0,
                  ULONG* disposition = nullptr) {
    UNICODE_STRING u = us(name);
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &u, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, root, nullptr);
    return create ? ZwCreateKey(h, KEY_ALL_ACCESS, &oa, 0, nullptr, options, disposition)
                  : ZwOpenKey(h, KEY_ALL_ACCESS, &oa);
}

HANDLE create_key(const wchar_t* name, HANDLE root = nullptr, ULONG options = 0) {
    HANDLE h = nullptr;
    EXPECT_EQ(open_key(&h, name, root, true, options), STATUS_SUCCESS) << "creating " << name;
    return h;
}

NTSTATUS set_dword(HANDLE key, const wchar_t* name, ULONG v) {
    UNICODE_STRING u = us(name);
    return ZwSetValueKey(key, &u, 0, REG_DWORD, &v, sizeof v);
}

NTSTATUS set_text(HANDLE key, const wchar_t* name, const wchar_t* text, ULONG type = REG_SZ) {
    UNICODE_STRING u = us(name);
    return ZwSetValueKey(key, &u, 0, type, const_cast<wchar_t*>(text), (std::wcslen(text) + 1) * sizeof(WCHAR));
}

// A key's full path (KeyNameInformation).
std::wstring key_path(HANDLE key) {
    alignas(8) unsigned char buf[1024];
    ULONG len = 0;
    if (ZwQueryKey(key, KeyNameInformation, buf, sizeof buf, &len) != STATUS_SUCCESS) return L"?";
    auto* info = reinterpret_cast<PKEY_NAME_INFORMATION>(buf);
    return std::wstring(info->Name, info->NameLength / sizeof(WCHAR));
}

class Registry : public DriverTest {};

// S-REG-2: names are absolute under \Registry or relative to a key handle, compared
// without case; empty components are skipped; a missing key is NAME_NOT_FOUND.
TEST_F(Registry, NamesResolveAbsoluteOrRelativeWithoutCase_S_REG_2) {
    HANDLE h = nullptr;
    ASSERT_EQ(open_key(&h, L"\\registry\\MACHINE\\system\\currentcontrolset\\SERVICES"), STATUS_SUCCESS);
    EXPECT_EQ(key_path(h), L"\\REGISTRY\\MACHINE\\SYSTEM\\CurrentControlSet\\Services");
    HANDLE sub = nullptr;
    EXPECT_EQ(open_key(&sub, L"Nothing", h), STATUS_OBJECT_NAME_NOT_FOUND);
    HANDLE made = create_key(L"Thing", h);
    EXPECT_EQ(open_key(&sub, L"THING\\", h), STATUS_SUCCESS);  // a trailing backslash ends the name
    EXPECT_EQ(key_path(sub), L"\\REGISTRY\\MACHINE\\SYSTEM\\CurrentControlSet\\Services\\Thing");
    ZwClose(sub);
    EXPECT_EQ(open_key(&sub, L"\\Registry\\\\Machine\\System\\CurrentControlSet\\Services\\thing"), STATUS_SUCCESS);
    ZwClose(sub);
    // A relative name needs a root; a first component outside \Registry is not a key.
    EXPECT_EQ(open_key(&sub, L"Registry\\Machine"), STATUS_OBJECT_PATH_SYNTAX_BAD);
    EXPECT_EQ(open_key(&sub, L"\\Foobar\\Machine"), STATUS_OBJECT_PATH_NOT_FOUND);
    EXPECT_EQ(open_key(&sub, L"\\Foobar"), STATUS_OBJECT_NAME_NOT_FOUND);
    EXPECT_EQ(open_key(&sub, L"\\Registry\\Machine\\Nope\\Deeper"), STATUS_OBJECT_NAME_NOT_FOUND);
    EXPECT_EQ(open_key(&sub, L"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\Thing\\", nullptr), STATUS_SUCCESS);
    ZwClose(sub);
    std::wstring long_name(257, L'k');
    EXPECT_EQ(open_key(&sub, long_name.c_str(), h, true), STATUS_INVALID_PARAMETER);
    ZwDeleteKey(made);
    ZwClose(made);
    ZwClose(h);
}

// S-REG-3: ZwCreateKey makes only the last key and says whether it did.
TEST_F(Registry, CreateMakesOnlyTheLastKeyAndReportsDisposition_S_REG_3) {
    HANDLE h = nullptr;
    ULONG disposition = 0;
    ASSERT_EQ(open_key(&h, L"\\Registry\\Machine\\Software\\Test", nullptr, true, 0, &disposition), STATUS_SUCCESS);
    EXPECT_EQ(disposition, ULONG(REG_CREATED_NEW_KEY));
    HANDLE again = nullptr;
    ASSERT_EQ(open_key(&again, L"\\Registry\\Machine\\Software\\TEST", nullptr, true, 0, &disposition), STATUS_SUCCESS);
    EXPECT_EQ(disposition, ULONG(REG_OPENED_EXISTING_KEY));
    ZwClose(again);
    HANDLE deep = nullptr;
    EXPECT_EQ(open_key(&deep, L"\\Registry\\Machine\\Software\\Missing\\Child", nullptr, true),
              STATUS_OBJECT_NAME_NOT_FOUND);
    // A volatile key takes only volatile children.
    HANDLE vol = create_key(L"Volatile", h, REG_OPTION_VOLATILE);
    EXPECT_EQ(open_key(&deep, L"Stable", vol, true, REG_OPTION_NON_VOLATILE), STATUS_CHILD_MUST_BE_VOLATILE);
    HANDLE vchild = create_key(L"AlsoVolatile", vol, REG_OPTION_VOLATILE);
    ZwClose(vchild);
    ZwClose(vol);
    ZwClose(h);
}

// S-REG-4: the whole size in *ResultLength; too small for the fixed part: nothing and
// BUFFER_TOO_SMALL; room for the fixed part only: what fits and BUFFER_OVERFLOW.
TEST_F(Registry, QueryValueFollowsTheBufferRules_S_REG_4) {
    HANDLE k = create_key(L"\\Registry\\Machine\\Software\\Values");
    ASSERT_EQ(set_text(k, L"Greeting", L"hello"), STATUS_SUCCESS);
    UNICODE_STRING name = us(L"greeting");
    const ULONG data_bytes = 6 * sizeof(WCHAR);
    const ULONG whole = FIELD_OFFSET(KEY_VALUE_PARTIAL_INFORMATION, Data) + data_bytes;
    alignas(8) unsigned char buf[256];
    std::memset(buf, 0xAB, sizeof buf);
    ULONG len = 0;
    EXPECT_EQ(ZwQueryValueKey(k, &name, KeyValuePartialInformation, buf, 11, &len), STATUS_BUFFER_TOO_SMALL);
    EXPECT_EQ(len, whole);
    EXPECT_EQ(buf[0], 0xAB);  // nothing written
    EXPECT_EQ(ZwQueryValueKey(k, &name, KeyValuePartialInformation, buf, 16, &len), STATUS_BUFFER_OVERFLOW);
    auto* partial = reinterpret_cast<PKEY_VALUE_PARTIAL_INFORMATION>(buf);
    EXPECT_EQ(partial->Type, ULONG(REG_SZ));
    EXPECT_EQ(partial->DataLength, data_bytes);
    EXPECT_EQ(len, whole);
    ASSERT_EQ(ZwQueryValueKey(k, &name, KeyValuePartialInformation, buf, whole, &len), STATUS_SUCCESS);
    EXPECT_STREQ(reinterpret_cast<const wchar_t*>(partial->Data), L"hello");
    // Full: the name, then the data at DataOffset.
    ASSERT_EQ(ZwQueryValueKey(k, &name, KeyValueFullInformation, buf, sizeof buf, &len), STATUS_SUCCESS);
    auto* full = reinterpret_cast<PKEY_VALUE_FULL_INFORMATION>(buf);
    EXPECT_EQ(std::wstring(full->Name, full->NameLength / sizeof(WCHAR)), L"Greeting");
    EXPECT_EQ(full->DataOffset, FIELD_OFFSET(KEY_VALUE_FULL_INFORMATION, Name) + full->NameLength);
    EXPECT_STREQ(reinterpret_cast<const wchar_t*>(buf + full->DataOffset), L"hello");
    EXPECT_EQ(len, full->DataOffset + data_bytes);
    // Basic: the name only.
    ASSERT_EQ(ZwQueryValueKey(k, &name, KeyValueBasicInformation, buf, sizeof buf, &len), STATUS_SUCCESS);
    EXPECT_EQ(len, FIELD_OFFSET(KEY_VALUE_BASIC_INFORMATION, Name) + 8 * sizeof(WCHAR));
    // Missing values, the default value, a bad class, a name that is not whole characters.
    UNICODE_STRING missing = us(L"Nope");
    EXPECT_EQ(ZwQueryValueKey(k, &missing, KeyValuePartialInformation, buf, sizeof buf, &len),
              STATUS_OBJECT_NAME_NOT_FOUND);
    UNICODE_STRING empty = {0, 0, nullptr};
    EXPECT_EQ(ZwQueryValueKey(k, &empty, KeyValuePartialInformation, buf, sizeof buf, &len),
              STATUS_OBJECT_NAME_NOT_FOUND);
    ASSERT_EQ(set_dword(k, L"", 42), STATUS_SUCCESS);
    ASSERT_EQ(ZwQueryValueKey(k, &empty, KeyValuePartialInformation, buf, sizeof buf, &len), STATUS_SUCCESS);
    EXPECT_EQ(*reinterpret_cast<ULONG*>(partial->Data), 42u);
    EXPECT_EQ(ZwQueryValueKey(k, &name, KEY_VALUE_INFORMATION_CLASS(77), buf, sizeof buf, &len),
              STATUS_INVALID_PARAMETER);
    UNICODE_STRING odd = name;
    odd.Length = 3;
    EXPECT_EQ(ZwQueryValueKey(k, &odd, KeyValuePartialInformation, buf, sizeof buf, &len), STATUS_INVALID_PARAMETER);
    // Setting again replaces type and data in place; deleting twice fails the second time.
    ASSERT_EQ(set_dword(k, L"GREETING", 7), STATUS_SUCCESS);
    ASSERT_EQ(ZwQueryValueKey(k, &name, KeyValuePartialInformation, buf, sizeof buf, &len), STATUS_SUCCESS);
    EXPECT_EQ(partial->Type, ULONG(REG_DWORD));
    EXPECT_EQ(ZwDeleteValueKey(k, &name), STATUS_SUCCESS);
    EXPECT_EQ(ZwDeleteValueKey(k, &name), STATUS_OBJECT_NAME_NOT_FOUND);
    ZwDeleteKey(k);
    ZwClose(k);
}

// S-REG-5: a key with subkeys cannot go; a deleted key answers KEY_DELETED through every
// handle still open on it, and deleting it again succeeds.
TEST_F(Registry, DeletedKeyAnswersKeyDeletedThroughOpenHandles_S_REG_5) {
    HANDLE parent = create_key(L"\\Registry\\Machine\\Software\\Doomed");
    HANDLE child = create_key(L"Child", parent);
    EXPECT_EQ(ZwDeleteKey(parent), STATUS_CANNOT_DELETE);
    HANDLE other = nullptr;
    ASSERT_EQ(open_key(&other, L"Child", parent), STATUS_SUCCESS);
    ASSERT_EQ(set_dword(child, L"V", 1), STATUS_SUCCESS);
    ASSERT_EQ(ZwDeleteKey(child), STATUS_SUCCESS);
    alignas(8) unsigned char buf[128];
    ULONG len;
    UNICODE_STRING v = us(L"V");
    EXPECT_EQ(ZwQueryValueKey(other, &v, KeyValuePartialInformation, buf, sizeof buf, &len), STATUS_KEY_DELETED);
    EXPECT_EQ(set_dword(other, L"V", 2), STATUS_KEY_DELETED);
    EXPECT_EQ(ZwQueryKey(other, KeyFullInformation, buf, sizeof buf, &len), STATUS_KEY_DELETED);
    HANDLE grandchild = nullptr;
    EXPECT_EQ(open_key(&grandchild, L"Grand", other, true), STATUS_KEY_DELETED);
    EXPECT_EQ(ZwDeleteKey(other), STATUS_SUCCESS);
    HANDLE gone = nullptr;
    EXPECT_EQ(open_key(&gone, L"Child", parent), STATUS_OBJECT_NAME_NOT_FOUND);
    EXPECT_EQ(ZwDeleteKey(parent), STATUS_SUCCESS);  // no subkeys now
    ZwClose(other);
    ZwClose(child);
    ZwClose(parent);
}

// S-REG-5: the Nt form checks the handle's access for a user-mode caller.
TEST_F(Registry, UserModeCallsNeedTheHandlesAccess_S_REG_5) {
    HANDLE k = create_key(L"\\Registry\\Machine\\Software\\Guarded");
    ZwClose(k);
    UNICODE_STRING u = us(L"\\Registry\\Machine\\Software\\Guarded");
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &u, OBJ_CASE_INSENSITIVE, nullptr, nullptr);
    HANDLE h = nullptr;
    ASSERT_EQ(NtOpenKey(&h, KEY_READ, &oa), STATUS_SUCCESS);  // the test's thread is an application thread
    ULONG v = 1;
    UNICODE_STRING name = us(L"X");
    EXPECT_EQ(NtSetValueKey(h, &name, 0, REG_DWORD, &v, sizeof v), STATUS_ACCESS_DENIED);
    EXPECT_EQ(NtDeleteKey(h), STATUS_ACCESS_DENIED);
    alignas(8) unsigned char buf[128];
    ULONG len;
    EXPECT_EQ(NtQueryKey(h, KeyBasicInformation, buf, sizeof buf, &len), STATUS_SUCCESS);
    EXPECT_EQ(NtClose(h), STATUS_SUCCESS);
}

// S-REG-6: subkeys enumerate sorted without case (stable before volatile), values in
// the order they were first set; past the end is NO_MORE_ENTRIES.
TEST_F(Registry, EnumerationOrderAndKeyInformation_S_REG_6) {
    HANDLE k = create_key(L"\\Registry\\Machine\\Software\\Order");
    for (const wchar_t* n : {L"delta", L"Alpha", L"charlie"}) ZwClose(create_key(n, k));
    ZwClose(create_key(L"aaa-volatile", k, REG_OPTION_VOLATILE));
    ZwClose(create_key(L"Bravo", k));
    std::vector<std::wstring> names;
    alignas(8) unsigned char buf[256];
    ULONG len;
    for (ULONG i = 0;; ++i) {
        NTSTATUS s = ZwEnumerateKey(k, i, KeyBasicInformation, buf, sizeof buf, &len);
        if (s == STATUS_NO_MORE_ENTRIES) break;
        ASSERT_EQ(s, STATUS_SUCCESS);
        auto* b = reinterpret_cast<PKEY_BASIC_INFORMATION>(buf);
        names.emplace_back(b->Name, b->NameLength / sizeof(WCHAR));
    }
    EXPECT_EQ(names, (std::vector<std::wstring>{L"Alpha", L"Bravo", L"charlie", L"delta", L"aaa-volatile"}));
    set_dword(k, L"z", 1);
    set_text(k, L"LongerName", L"0123456789");
    set_dword(k, L"a", 2);
    std::vector<std::wstring> values;
    for (ULONG i = 0;; ++i) {
        NTSTATUS s = ZwEnumerateValueKey(k, i, KeyValueBasicInformation, buf, sizeof buf, &len);
        if (s == STATUS_NO_MORE_ENTRIES) break;
        ASSERT_EQ(s, STATUS_SUCCESS);
        auto* b = reinterpret_cast<PKEY_VALUE_BASIC_INFORMATION>(buf);
        values.emplace_back(b->Name, b->NameLength / sizeof(WCHAR));
    }
    EXPECT_EQ(values, (std::vector<std::wstring>{L"z", L"LongerName", L"a"}));
    ASSERT_EQ(ZwQueryKey(k, KeyFullInformation, buf, sizeof buf, &len), STATUS_SUCCESS);
    auto* f = reinterpret_cast<PKEY_FULL_INFORMATION>(buf);
    EXPECT_EQ(f->SubKeys, 5u);
    EXPECT_EQ(f->Values, 3u);
    EXPECT_EQ(f->MaxNameLen, 12 * sizeof(WCHAR));  // "aaa-volatile"
    EXPECT_EQ(f->MaxValueNameLen, 10 * sizeof(WCHAR));
    EXPECT_EQ(f->MaxValueDataLen, 11 * sizeof(WCHAR));
    EXPECT_EQ(f->ClassOffset, 0xFFFFFFFFu);
    EXPECT_EQ(len, ULONG(FIELD_OFFSET(KEY_FULL_INFORMATION, Class)));
    EXPECT_EQ(ZwFlushKey(k), STATUS_SUCCESS);  // S-REG-7
    ZwClose(k);
}

// S-REG-8: the Rtl helpers' RelativeTo bases; RtlWriteRegistryValue makes the last key.
TEST_F(Registry, RtlHelpersResolveTheirBases_S_REG_8) {
    EXPECT_EQ(RtlCheckRegistryKey(RTL_REGISTRY_SERVICES, const_cast<PWSTR>(L"MySvc")), STATUS_OBJECT_NAME_NOT_FOUND);
    ULONG v = 5;
    ASSERT_EQ(RtlWriteRegistryValue(RTL_REGISTRY_SERVICES, L"MySvc", L"Level", REG_DWORD, &v, sizeof v),
              STATUS_SUCCESS);
    EXPECT_EQ(RtlCheckRegistryKey(RTL_REGISTRY_SERVICES, const_cast<PWSTR>(L"MySvc")), STATUS_SUCCESS);
    EXPECT_EQ(RtlCheckRegistryKey(RTL_REGISTRY_ABSOLUTE,
                                  const_cast<PWSTR>(L"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\MySvc")),
              STATUS_SUCCESS);
    EXPECT_EQ(RtlCreateRegistryKey(RTL_REGISTRY_CONTROL, const_cast<PWSTR>(L"A\\B")), STATUS_OBJECT_NAME_NOT_FOUND);
    EXPECT_EQ(RtlCreateRegistryKey(RTL_REGISTRY_CONTROL, const_cast<PWSTR>(L"A")), STATUS_SUCCESS);
    EXPECT_EQ(RtlCreateRegistryKey(RTL_REGISTRY_CONTROL, const_cast<PWSTR>(L"A\\B")), STATUS_SUCCESS);
    EXPECT_EQ(RtlCheckRegistryKey(RTL_REGISTRY_ABSOLUTE, nullptr), STATUS_OBJECT_PATH_SYNTAX_BAD);
    EXPECT_EQ(RtlCheckRegistryKey(7, const_cast<PWSTR>(L"X")), STATUS_INVALID_PARAMETER);
    EXPECT_EQ(RtlDeleteRegistryValue(RTL_REGISTRY_SERVICES, L"MySvc", L"Level"), STATUS_SUCCESS);
    EXPECT_EQ(RtlDeleteRegistryValue(RTL_REGISTRY_SERVICES, L"MySvc", L"Level"), STATUS_OBJECT_NAME_NOT_FOUND);
    // A handle as the base.
    HANDLE k = nullptr;
    ASSERT_EQ(open_key(&k, L"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\MySvc"), STATUS_SUCCESS);
    ASSERT_EQ(RtlWriteRegistryValue(RTL_REGISTRY_HANDLE, static_cast<PCWSTR>(k), L"Via", REG_DWORD, &v, sizeof v),
              STATUS_SUCCESS);
    ULONG got = 0;
    RTL_QUERY_REGISTRY_TABLE t[2] = {};
    t[0].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_REQUIRED;
    t[0].Name = const_cast<PWSTR>(L"Via");
    t[0].EntryContext = &got;
    ASSERT_EQ(RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, L"MySvc", t, nullptr, nullptr), STATUS_SUCCESS);
    EXPECT_EQ(got, 5u);
    ZwClose(k);
}

struct Calls {
    std::vector<std::wstring> seen;  // "name:type:text-or-number"
};

NTSTATUS Record(PWSTR name, ULONG type, PVOID data, ULONG length, PVOID context, PVOID entry) {
    auto* calls = static_cast<Calls*>(context);
    std::wstring what = std::wstring(name ? name : L"(null)") + L":" + std::to_wstring(type) + L":";
    if (type == REG_SZ) what += std::wstring(static_cast<wchar_t*>(data), length / sizeof(WCHAR) - 1);
    else if (type == REG_DWORD) what += std::to_wstring(*static_cast<ULONG*>(data));
    else what += std::to_wstring(length);
    calls->seen.push_back(what);
    return entry ? *static_cast<NTSTATUS*>(entry) : STATUS_SUCCESS;
}

// S-REG-9: RtlQueryRegistryValues' table: DIRECT stores, defaults, REQUIRED, TYPECHECK,
// MULTI_SZ and EXPAND_SZ to a routine, SUBKEY, every value, NOVALUE, DELETE, and a
// routine's failure.
TEST_F(Registry, QueryRegistryValuesWalksItsTable_S_REG_9) {
    HANDLE k = create_key(L"\\Registry\\Machine\\Software\\Cfg");
    set_dword(k, L"Count", 3);
    set_text(k, L"Name", L"echo");
    set_text(k, L"Where", L"%NTIO_TEST_ROOT%\\x", REG_EXPAND_SZ);
    const wchar_t multi[] = L"one\0two\0";
    UNICODE_STRING mname = us(L"List");
    ZwSetValueKey(k, &mname, 0, REG_MULTI_SZ, const_cast<wchar_t*>(multi), sizeof multi);
    ULONGLONG big = 0x1122334455667788ull;
    UNICODE_STRING qname = us(L"Big");
    ZwSetValueKey(k, &qname, 0, REG_QWORD, &big, sizeof big);
    HANDLE sub = create_key(L"Sub", k);
    set_dword(sub, L"Inner", 9);

    // DIRECT: a DWORD, a string into a NULL buffer (allocated), a string too big for
    // the caller's buffer (left alone, no error), a QWORD through a negative size, and
    // a missing value's default.
    ULONG count = 0, fallback = 0;
    UNICODE_STRING name = {0, 0, nullptr};
    wchar_t small_buf[2] = {L'?', 0};
    UNICODE_STRING small = {0, sizeof small_buf, small_buf};
    LONGLONG qword = -static_cast<LONGLONG>(sizeof(LONGLONG));
    ULONG default_value = 77;
    RTL_QUERY_REGISTRY_TABLE t[6] = {};
    t[0] = {nullptr, RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_TYPECHECK, const_cast<PWSTR>(L"Count"), &count,
            REG_DWORD << RTL_QUERY_REGISTRY_TYPECHECK_SHIFT, nullptr, 0};
    t[1] = {nullptr, RTL_QUERY_REGISTRY_DIRECT, const_cast<PWSTR>(L"Name"), &name, REG_NONE, nullptr, 0};
    t[2] = {nullptr, RTL_QUERY_REGISTRY_DIRECT, const_cast<PWSTR>(L"Name"), &small, REG_NONE, nullptr, 0};
    t[3] = {nullptr, RTL_QUERY_REGISTRY_DIRECT, const_cast<PWSTR>(L"Big"), &qword, REG_NONE, nullptr, 0};
    t[4] = {nullptr, RTL_QUERY_REGISTRY_DIRECT, const_cast<PWSTR>(L"Absent"), &fallback, REG_DWORD, &default_value,
            sizeof default_value};
    ASSERT_EQ(RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, L"\\Registry\\Machine\\Software\\Cfg", t, nullptr, nullptr),
              STATUS_SUCCESS);
    EXPECT_EQ(count, 3u);
    ASSERT_NE(name.Buffer, nullptr);
    EXPECT_EQ(std::wstring(name.Buffer, name.Length / sizeof(WCHAR)), L"echo");
    RtlFreeUnicodeString(&name);  // the pool's string tag: the leak check at teardown would see it otherwise
    EXPECT_EQ(small_buf[0], L'?');
    EXPECT_EQ(static_cast<ULONGLONG>(qword), big);
    EXPECT_EQ(fallback, 77u);

    // TYPECHECK refuses a value of another type; REQUIRED refuses a missing one.
    RTL_QUERY_REGISTRY_TABLE check[2] = {};
    check[0] = {nullptr, RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_TYPECHECK, const_cast<PWSTR>(L"Name"), &count,
                REG_DWORD << RTL_QUERY_REGISTRY_TYPECHECK_SHIFT, nullptr, 0};
    EXPECT_EQ(RtlQueryRegistryValues(RTL_REGISTRY_HANDLE, static_cast<PCWSTR>(k), check, nullptr, nullptr),
              STATUS_OBJECT_TYPE_MISMATCH);
    check[0] = {nullptr, RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_REQUIRED, const_cast<PWSTR>(L"Absent"),
                &count, REG_NONE, nullptr, 0};
    EXPECT_EQ(RtlQueryRegistryValues(RTL_REGISTRY_HANDLE, static_cast<PCWSTR>(k), check, nullptr, nullptr),
              STATUS_OBJECT_NAME_NOT_FOUND);
    check[0] = {Record, RTL_QUERY_REGISTRY_DIRECT, const_cast<PWSTR>(L"Count"), &count, REG_NONE, nullptr, 0};
    EXPECT_EQ(RtlQueryRegistryValues(RTL_REGISTRY_HANDLE, static_cast<PCWSTR>(k), check, nullptr, nullptr),
              STATUS_INVALID_PARAMETER);  // DIRECT with a routine

    // Routines: a MULTI_SZ one string at a time, an EXPAND_SZ expanded, a subkey's
    // every value, NOVALUE, and every value of the top key.
    setenv("NTIO_TEST_ROOT", "/opt/root", 1);
    Calls calls;
    RTL_QUERY_REGISTRY_TABLE r[6] = {};
    r[0] = {Record, 0, const_cast<PWSTR>(L"List"), nullptr, REG_NONE, nullptr, 0};
    r[1] = {Record, 0, const_cast<PWSTR>(L"Where"), nullptr, REG_NONE, nullptr, 0};
    r[2] = {Record, RTL_QUERY_REGISTRY_SUBKEY, const_cast<PWSTR>(L"Sub"), nullptr, REG_NONE, nullptr, 0};
    r[3] = {Record, RTL_QUERY_REGISTRY_TOPKEY | RTL_QUERY_REGISTRY_NOVALUE, nullptr, nullptr, REG_NONE, nullptr, 0};
    r[4] = {Record, RTL_QUERY_REGISTRY_NOEXPAND, const_cast<PWSTR>(L"Where"), nullptr, REG_NONE, nullptr, 0};
    ASSERT_EQ(RtlQueryRegistryValues(RTL_REGISTRY_HANDLE, static_cast<PCWSTR>(k), r, &calls, nullptr), STATUS_SUCCESS);
    unsetenv("NTIO_TEST_ROOT");
    EXPECT_EQ(calls.seen, (std::vector<std::wstring>{L"List:1:one", L"List:1:two", L"Where:1:/opt/root\\x",
                                                     L"Inner:4:9", L"(null):0:0",
                                                     L"Where:2:" + std::to_wstring(19 * sizeof(WCHAR))}));

    // A routine's failure ends the walk with its status; STATUS_BUFFER_TOO_SMALL does not.
    NTSTATUS too_small = STATUS_BUFFER_TOO_SMALL, failed = STATUS_UNSUCCESSFUL;
    calls.seen.clear();
    RTL_QUERY_REGISTRY_TABLE f[4] = {};
    f[0] = {Record, 0, const_cast<PWSTR>(L"Count"), &too_small, REG_NONE, nullptr, 0};
    f[1] = {Record, 0, const_cast<PWSTR>(L"Count"), &failed, REG_NONE, nullptr, 0};
    f[2] = {Record, 0, const_cast<PWSTR>(L"Count"), nullptr, REG_NONE, nullptr, 0};
    EXPECT_EQ(RtlQueryRegistryValues(RTL_REGISTRY_HANDLE, static_cast<PCWSTR>(k), f, &calls, nullptr),
              STATUS_UNSUCCESSFUL);
    EXPECT_EQ(calls.seen.size(), 2u);

    // DELETE removes the value once it was read.
    RTL_QUERY_REGISTRY_TABLE d[2] = {};
    d[0] = {nullptr, RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_DELETE, const_cast<PWSTR>(L"Count"), &count,
            REG_NONE, nullptr, 0};
    ASSERT_EQ(RtlQueryRegistryValues(RTL_REGISTRY_HANDLE, static_cast<PCWSTR>(k), d, nullptr, nullptr), STATUS_SUCCESS);
    UNICODE_STRING cname = us(L"Count");
    alignas(8) unsigned char buf[64];
    ULONG len;
    EXPECT_EQ(ZwQueryValueKey(k, &cname, KeyValuePartialInformation, buf, sizeof buf, &len),
              STATUS_OBJECT_NAME_NOT_FOUND);
    ZwClose(sub);
    ZwClose(k);
}

// ---- a driver's service key, seeded from a .reg file (S-REG-1) ----

struct ServiceSeen {
    ULONG start = 0, type = 0, level = 0;
    std::wstring label;
    NTSTATUS open_status = -1;
};
ServiceSeen g_service;

NTSTATUS ServiceEntry(PDRIVER_OBJECT, PUNICODE_STRING RegistryPath) {
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, RegistryPath, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, nullptr, nullptr);
    HANDLE key = nullptr;
    g_service.open_status = ZwOpenKey(&key, KEY_READ, &oa);
    if (!NT_SUCCESS(g_service.open_status)) return g_service.open_status;
    UNICODE_STRING label = {0, 0, nullptr};
    RTL_QUERY_REGISTRY_TABLE t[6] = {};
    t[0] = {nullptr, RTL_QUERY_REGISTRY_DIRECT, const_cast<PWSTR>(L"Start"), &g_service.start, REG_NONE, nullptr, 0};
    t[1] = {nullptr, RTL_QUERY_REGISTRY_DIRECT, const_cast<PWSTR>(L"Type"), &g_service.type, REG_NONE, nullptr, 0};
    t[2] = {nullptr, RTL_QUERY_REGISTRY_SUBKEY, const_cast<PWSTR>(L"Parameters"), nullptr, REG_NONE, nullptr, 0};
    t[3] = {nullptr, RTL_QUERY_REGISTRY_DIRECT, const_cast<PWSTR>(L"Level"), &g_service.level, REG_NONE, nullptr, 0};
    t[4] = {nullptr, RTL_QUERY_REGISTRY_DIRECT, const_cast<PWSTR>(L"Label"), &label, REG_NONE, nullptr, 0};
    NTSTATUS s = RtlQueryRegistryValues(RTL_REGISTRY_HANDLE, static_cast<PCWSTR>(key), t, nullptr, nullptr);
    if (label.Buffer) {
        g_service.label.assign(label.Buffer, label.Length / sizeof(WCHAR));
        RtlFreeUnicodeString(&label);
    }
    ZwClose(key);
    return s;
}

// Each test writes its own file: ctest runs the tests of this binary as separate processes in
// parallel, and one shared name let a test load the file another had just written.
std::string write_reg_file(const std::string& text) {
    const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string path = ::testing::TempDir() + "ntio_registry_" + test->test_suite_name() + "." + test->name() + ".reg";
    std::ofstream(path, std::ios::binary) << text;
    return path;
}

ntio::Options seeded_options() {
    ntio::Options o = DriverTest::verified_options();
    o.registry_files.push_back(write_reg_file(
        "Windows Registry Editor Version 5.00\r\n"
        "\r\n"
        "; the service's parameters, as an INF's AddReg would leave them\r\n"
        "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\svcdrv\\Parameters]\r\n"
        "\"Level\"=dword:0000002a\r\n"
        "\"Label\"=\"caf\xC3\xA9 \\\"quoted\\\"\"\r\n"
        "\"Blob\"=hex:01,02,\\\r\n"
        "  03\r\n"
        "\"Wide\"=hex(2):25,00,41,00,25,00,00,00\r\n"
        "\"Gone\"=dword:1\r\n"
        "\"Gone\"=-\r\n"
        "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\svcdrv]\r\n"
        "\"Start\"=dword:00000002\r\n"));
    return o;
}

class SeededRegistry : public DriverTest {
protected:
    SeededRegistry() : DriverTest(seeded_options()) {}
};

TEST_F(SeededRegistry, DriverEntryReadsItsServiceKeyAndSeededParameters_S_REG_1) {
    g_service = {};
    ASSERT_EQ(sys.load_driver("svcdrv", &ServiceEntry), STATUS_SUCCESS);
    EXPECT_EQ(g_service.open_status, STATUS_SUCCESS);
    EXPECT_EQ(g_service.start, 2u);  // the file's value stays; ntio writes only what is missing
    EXPECT_EQ(g_service.type, 1u);   // SERVICE_KERNEL_DRIVER, written by the load
    EXPECT_EQ(g_service.level, 42u);
    EXPECT_EQ(g_service.label, L"caf\u00e9 \"quoted\"");
    HANDLE k = nullptr;
    ASSERT_EQ(open_key(&k, L"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\svcdrv\\Parameters"),
              STATUS_SUCCESS);
    alignas(8) unsigned char buf[128];
    ULONG len;
    UNICODE_STRING blob = us(L"Blob"), wide = us(L"Wide"), gone = us(L"Gone");
    ASSERT_EQ(ZwQueryValueKey(k, &blob, KeyValuePartialInformation, buf, sizeof buf, &len), STATUS_SUCCESS);
    auto* p = reinterpret_cast<PKEY_VALUE_PARTIAL_INFORMATION>(buf);
    EXPECT_EQ(p->Type, ULONG(REG_BINARY));
    ASSERT_EQ(p->DataLength, 3u);
    EXPECT_EQ(p->Data[2], 3);
    ASSERT_EQ(ZwQueryValueKey(k, &wide, KeyValuePartialInformation, buf, sizeof buf, &len), STATUS_SUCCESS);
    EXPECT_EQ(p->Type, ULONG(REG_EXPAND_SZ));
    EXPECT_STREQ(reinterpret_cast<wchar_t*>(p->Data), L"%A%");  // UTF-16 in the file, WCHAR here
    EXPECT_EQ(ZwQueryValueKey(k, &gone, KeyValuePartialInformation, buf, sizeof buf, &len),
              STATUS_OBJECT_NAME_NOT_FOUND);
    ZwClose(k);
}

// A .reg file with a mistake stops the runtime's start with the file and line.
TEST(RegistryFiles, ABadFileIsRefusedWithItsLine_S_REG_1) {
    ntio::Options o;
    o.registry_files.push_back(write_reg_file("REGEDIT4\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\X]\n\"A\"=dword:xyz\n"));
    try {
        ntio::System sys(o);
        FAIL() << "the bad file was accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find(".reg:3: dword: takes hex digits"), std::string::npos) << e.what();
    }
    ntio::Options missing;
    missing.registry_files.push_back("/nonexistent/ntio.reg");
    EXPECT_THROW(ntio::System sys(missing), std::invalid_argument);
    ntio::Options header;
    header.registry_files.push_back(write_reg_file("[HKEY_LOCAL_MACHINE\\SOFTWARE\\X]\n"));
    EXPECT_THROW(ntio::System sys(header), std::invalid_argument);
}

// regedit writes UTF-16LE with a BOM; such a file loads, its text converted to WCHAR.
TEST(RegistryFiles, AUtf16FileFromRegeditLoads_S_REG_1) {
    std::u16string text = u"Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\U16]\r\n"
                          u"\"Name\"=\"\u00e9t\u00e9 \U0001F600\"\r\n";
    std::string bytes = "\xFF\xFE";
    for (char16_t c : text) {
        bytes += static_cast<char>(c & 0xFF);
        bytes += static_cast<char>(c >> 8);
    }
    ntio::Options o;
    o.registry_files.push_back(write_reg_file(bytes));
    ntio::System sys(o);
    HANDLE k = nullptr;
    ASSERT_EQ(open_key(&k, L"\\Registry\\Machine\\Software\\U16"), STATUS_SUCCESS);
    alignas(8) unsigned char buf[128];
    ULONG len;
    UNICODE_STRING name = us(L"Name");
    ASSERT_EQ(ZwQueryValueKey(k, &name, KeyValuePartialInformation, buf, sizeof buf, &len), STATUS_SUCCESS);
    auto* p = reinterpret_cast<PKEY_VALUE_PARTIAL_INFORMATION>(buf);
    EXPECT_EQ(p->DataLength, 6 * sizeof(WCHAR));  // four characters (one beyond the BMP), a space and the NUL
    EXPECT_STREQ(reinterpret_cast<wchar_t*>(p->Data), L"\u00e9t\u00e9 \U0001F600");
    ZwClose(k);
}

// ---- a PnP device's keys (S-REG-10) ----

struct DeviceKeys {
    std::wstring device_path, driver_path;
    NTSTATUS not_pdo = 0, bad_type = 0;
};
DeviceKeys g_keys;

NTSTATUS KeysAddDevice(PDRIVER_OBJECT driver, PDEVICE_OBJECT pdo) {
    PDEVICE_OBJECT fdo = nullptr;
    NTSTATUS s = IoCreateDevice(driver, sizeof(PDEVICE_OBJECT), nullptr, FILE_DEVICE_UNKNOWN, 0, FALSE, &fdo);
    if (!NT_SUCCESS(s)) return s;
    *static_cast<PDEVICE_OBJECT*>(fdo->DeviceExtension) = IoAttachDeviceToDeviceStack(fdo, pdo);
    fdo->Flags &= ~DO_DEVICE_INITIALIZING;
    HANDLE k = nullptr;
    if (NT_SUCCESS(IoOpenDeviceRegistryKey(pdo, PLUGPLAY_REGKEY_DEVICE, KEY_ALL_ACCESS, &k))) {
        g_keys.device_path = key_path(k);
        set_dword(k, L"Speed", 100);
        ZwClose(k);
    }
    if (NT_SUCCESS(IoOpenDeviceRegistryKey(pdo, PLUGPLAY_REGKEY_DRIVER, KEY_READ, &k))) {
        g_keys.driver_path = key_path(k);
        ZwClose(k);
    }
    g_keys.not_pdo = IoOpenDeviceRegistryKey(fdo, PLUGPLAY_REGKEY_DEVICE, KEY_READ, &k);
    g_keys.bad_type = IoOpenDeviceRegistryKey(pdo, PLUGPLAY_REGKEY_DEVICE | PLUGPLAY_REGKEY_DRIVER, KEY_READ, &k);
    return STATUS_SUCCESS;
}

NTSTATUS KeysPnp(PDEVICE_OBJECT fdo, PIRP irp) {
    PDEVICE_OBJECT lower = *static_cast<PDEVICE_OBJECT*>(fdo->DeviceExtension);
    UCHAR minor = IoGetCurrentIrpStackLocation(irp)->MinorFunction;
    irp->IoStatus.Status = STATUS_SUCCESS;
    IoSkipCurrentIrpStackLocation(irp);
    NTSTATUS s = IoCallDriver(lower, irp);
    if (minor == IRP_MN_REMOVE_DEVICE) {
        IoDetachDevice(lower);
        IoDeleteDevice(fdo);
    }
    return s;
}

NTSTATUS KeysEntry(PDRIVER_OBJECT driver, PUNICODE_STRING) {
    driver->DriverExtension->AddDevice = KeysAddDevice;
    driver->MajorFunction[IRP_MJ_PNP] = KeysPnp;
    return STATUS_SUCCESS;
}

TEST_F(Registry, PnpDeviceOpensItsHardwareAndSoftwareKeys_S_REG_10) {
    g_keys = {};
    ASSERT_EQ(sys.load_driver("keysdrv", &KeysEntry, 1), STATUS_SUCCESS);
    EXPECT_EQ(g_keys.device_path,
              L"\\REGISTRY\\MACHINE\\SYSTEM\\CurrentControlSet\\Enum\\ROOT\\KEYSDRV\\0000\\Device Parameters");
    EXPECT_EQ(g_keys.driver_path.rfind(L"\\REGISTRY\\MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Class\\"
                                       L"{4d36e97d-e325-11ce-bfc1-08002be10318}\\",
                                       0),
              0u)
        << std::string(g_keys.driver_path.begin(), g_keys.driver_path.end());
    EXPECT_EQ(g_keys.not_pdo, STATUS_INVALID_DEVICE_REQUEST);
    EXPECT_EQ(g_keys.bad_type, STATUS_INVALID_PARAMETER);
    // What the driver wrote is there for the next load of the device.
    HANDLE k = nullptr;
    ASSERT_EQ(open_key(&k, g_keys.device_path.c_str()), STATUS_SUCCESS);
    alignas(8) unsigned char buf[64];
    ULONG len;
    UNICODE_STRING speed = us(L"Speed");
    ASSERT_EQ(ZwQueryValueKey(k, &speed, KeyValuePartialInformation, buf, sizeof buf, &len), STATUS_SUCCESS);
    EXPECT_EQ(*reinterpret_cast<ULONG*>(reinterpret_cast<PKEY_VALUE_PARTIAL_INFORMATION>(buf)->Data), 100u);
    ZwClose(k);
}

}  // namespace
