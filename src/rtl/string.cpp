// Rtl counted-string, memory and GUID routines. Lengths are in bytes, as in
// UNICODE_STRING; WCHAR is wchar_t (4 bytes on Linux). Conversions between ANSI
// and Unicode treat ANSI as Latin-1/ASCII, one byte per character, as the
// default code page does for the characters drivers use in names.
#include <cstdio>
#include <cstdlib>
#include <cwctype>

#include "system.hpp"
#include "verifier/report.hpp"
#include "wdm.h"

using ntio::sys;

namespace {

constexpr ULONG kStringTag = 0x67727453;  // 'Strg'

USHORT clamp_ushort(size_t v) { return v > 0xFFFE ? 0xFFFE : static_cast<USHORT>(v); }

WCHAR upcase(WCHAR c) { return static_cast<WCHAR>(std::towupper(static_cast<wint_t>(c))); }
WCHAR downcase(WCHAR c) { return static_cast<WCHAR>(std::towlower(static_cast<wint_t>(c))); }

PWSTR alloc_wide(size_t bytes) { return static_cast<PWSTR>(sys().pool.allocate(bytes, kStringTag, true, true)); }
PCHAR alloc_narrow(size_t bytes) { return static_cast<PCHAR>(sys().pool.allocate(bytes, kStringTag, true, true)); }

}  // namespace

extern "C" {

VOID RtlInitUnicodeString(PUNICODE_STRING DestinationString, PCWSTR SourceString) {
    if (SourceString) {
        size_t bytes = wcslen(SourceString) * sizeof(WCHAR);
        DestinationString->Length = clamp_ushort(bytes);
        DestinationString->MaximumLength = clamp_ushort(bytes + sizeof(WCHAR));
    } else {
        DestinationString->Length = DestinationString->MaximumLength = 0;
    }
    DestinationString->Buffer = const_cast<PWSTR>(SourceString);
}

NTSTATUS RtlInitUnicodeStringEx(PUNICODE_STRING DestinationString, PCWSTR SourceString) {
    if (SourceString && wcslen(SourceString) * sizeof(WCHAR) > UNICODE_STRING_MAX_BYTES - sizeof(WCHAR))
        return STATUS_NAME_TOO_LONG;
    RtlInitUnicodeString(DestinationString, SourceString);
    return STATUS_SUCCESS;
}

VOID RtlInitAnsiString(PANSI_STRING DestinationString, PCSTR SourceString) {
    if (SourceString) {
        size_t n = strlen(SourceString);
        DestinationString->Length = clamp_ushort(n);
        DestinationString->MaximumLength = clamp_ushort(n + 1);
    } else {
        DestinationString->Length = DestinationString->MaximumLength = 0;
    }
    DestinationString->Buffer = const_cast<PCHAR>(SourceString);
}

VOID RtlInitString(PSTRING DestinationString, PCSTR SourceString) { RtlInitAnsiString(DestinationString, SourceString); }

VOID RtlCopyUnicodeString(PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString) {
    if (!SourceString || !SourceString->Buffer) {
        DestinationString->Length = 0;
        return;
    }
    USHORT n = SourceString->Length < DestinationString->MaximumLength ? SourceString->Length
                                                                         : DestinationString->MaximumLength;
    n -= n % sizeof(WCHAR);
    memmove(DestinationString->Buffer, SourceString->Buffer, n);
    DestinationString->Length = n;
    if (n + sizeof(WCHAR) <= DestinationString->MaximumLength) DestinationString->Buffer[n / sizeof(WCHAR)] = 0;
}

VOID RtlCopyString(PSTRING DestinationString, const STRING* SourceString) {
    if (!SourceString || !SourceString->Buffer) {
        DestinationString->Length = 0;
        return;
    }
    USHORT n = SourceString->Length < DestinationString->MaximumLength ? SourceString->Length
                                                                         : DestinationString->MaximumLength;
    memmove(DestinationString->Buffer, SourceString->Buffer, n);
    DestinationString->Length = n;
    if (n < DestinationString->MaximumLength) DestinationString->Buffer[n] = 0;
}

NTSTATUS RtlAppendUnicodeStringToString(PUNICODE_STRING Destination, PCUNICODE_STRING Source) {
    if (!Source || Source->Length == 0) return STATUS_SUCCESS;
    size_t total = size_t(Destination->Length) + Source->Length;
    if (total > Destination->MaximumLength) return STATUS_BUFFER_TOO_SMALL;
    memmove(reinterpret_cast<char*>(Destination->Buffer) + Destination->Length, Source->Buffer, Source->Length);
    Destination->Length = static_cast<USHORT>(total);
    if (total + sizeof(WCHAR) <= Destination->MaximumLength) Destination->Buffer[total / sizeof(WCHAR)] = 0;
    return STATUS_SUCCESS;
}

NTSTATUS RtlAppendUnicodeToString(PUNICODE_STRING Destination, PCWSTR Source) {
    if (!Source) return STATUS_SUCCESS;
    UNICODE_STRING s;
    RtlInitUnicodeString(&s, Source);
    return RtlAppendUnicodeStringToString(Destination, &s);
}

LONG RtlCompareUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2, BOOLEAN CaseInSensitive) {
    size_t n1 = String1->Length / sizeof(WCHAR), n2 = String2->Length / sizeof(WCHAR);
    size_t n = n1 < n2 ? n1 : n2;
    for (size_t i = 0; i < n; ++i) {
        WCHAR a = String1->Buffer[i], b = String2->Buffer[i];
        if (CaseInSensitive) {
            a = upcase(a);
            b = upcase(b);
        }
        if (a != b) return a < b ? -1 : 1;
    }
    return n1 == n2 ? 0 : (n1 < n2 ? -1 : 1);
}

BOOLEAN RtlEqualUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2, BOOLEAN CaseInSensitive) {
    return String1->Length == String2->Length && RtlCompareUnicodeString(String1, String2, CaseInSensitive) == 0;
}

BOOLEAN RtlPrefixUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2, BOOLEAN CaseInSensitive) {
    if (String1->Length > String2->Length) return FALSE;
    UNICODE_STRING head = *String2;
    head.Length = String1->Length;
    return RtlCompareUnicodeString(String1, &head, CaseInSensitive) == 0;
}

LONG RtlCompareString(const STRING* String1, const STRING* String2, BOOLEAN CaseInSensitive) {
    size_t n = String1->Length < String2->Length ? String1->Length : String2->Length;
    for (size_t i = 0; i < n; ++i) {
        unsigned char a = static_cast<unsigned char>(String1->Buffer[i]);
        unsigned char b = static_cast<unsigned char>(String2->Buffer[i]);
        if (CaseInSensitive) {
            a = static_cast<unsigned char>(toupper(a));
            b = static_cast<unsigned char>(toupper(b));
        }
        if (a != b) return a < b ? -1 : 1;
    }
    return String1->Length == String2->Length ? 0 : (String1->Length < String2->Length ? -1 : 1);
}

BOOLEAN RtlEqualString(const STRING* String1, const STRING* String2, BOOLEAN CaseInSensitive) {
    return String1->Length == String2->Length && RtlCompareString(String1, String2, CaseInSensitive) == 0;
}

NTSTATUS RtlAnsiStringToUnicodeString(PUNICODE_STRING DestinationString, PCANSI_STRING SourceString,
                                      BOOLEAN AllocateDestinationString) {
    size_t chars = SourceString->Length;
    size_t bytes = chars * sizeof(WCHAR);
    if (bytes + sizeof(WCHAR) > UNICODE_STRING_MAX_BYTES) return STATUS_INVALID_PARAMETER_2;
    if (AllocateDestinationString) {
        DestinationString->Buffer = alloc_wide(bytes + sizeof(WCHAR));
        if (!DestinationString->Buffer) return STATUS_NO_MEMORY;
        DestinationString->MaximumLength = static_cast<USHORT>(bytes + sizeof(WCHAR));
    } else if (bytes > DestinationString->MaximumLength) {
        return STATUS_BUFFER_OVERFLOW;
    }
    for (size_t i = 0; i < chars; ++i)
        DestinationString->Buffer[i] = static_cast<WCHAR>(static_cast<unsigned char>(SourceString->Buffer[i]));
    DestinationString->Length = static_cast<USHORT>(bytes);
    if (bytes + sizeof(WCHAR) <= DestinationString->MaximumLength) DestinationString->Buffer[chars] = 0;
    return STATUS_SUCCESS;
}

NTSTATUS RtlUnicodeStringToAnsiString(PANSI_STRING DestinationString, PCUNICODE_STRING SourceString,
                                      BOOLEAN AllocateDestinationString) {
    size_t chars = SourceString->Length / sizeof(WCHAR);
    if (AllocateDestinationString) {
        DestinationString->Buffer = alloc_narrow(chars + 1);
        if (!DestinationString->Buffer) return STATUS_NO_MEMORY;
        DestinationString->MaximumLength = clamp_ushort(chars + 1);
    } else if (chars > DestinationString->MaximumLength) {
        return STATUS_BUFFER_OVERFLOW;
    }
    for (size_t i = 0; i < chars; ++i) {
        WCHAR c = SourceString->Buffer[i];
        DestinationString->Buffer[i] = c < 0x100 ? static_cast<CHAR>(c) : '?';
    }
    DestinationString->Length = static_cast<USHORT>(chars);
    if (chars < DestinationString->MaximumLength) DestinationString->Buffer[chars] = 0;
    return STATUS_SUCCESS;
}

static NTSTATUS map_case(PUNICODE_STRING Destination, PCUNICODE_STRING Source, BOOLEAN Allocate, WCHAR (*f)(WCHAR)) {
    if (Allocate) {
        Destination->Buffer = alloc_wide(size_t(Source->Length) + sizeof(WCHAR));
        if (!Destination->Buffer) return STATUS_NO_MEMORY;
        Destination->MaximumLength = static_cast<USHORT>(Source->Length + sizeof(WCHAR));
    } else if (Source->Length > Destination->MaximumLength) {
        return STATUS_BUFFER_OVERFLOW;
    }
    for (size_t i = 0; i < Source->Length / sizeof(WCHAR); ++i) Destination->Buffer[i] = f(Source->Buffer[i]);
    Destination->Length = Source->Length;
    return STATUS_SUCCESS;
}

NTSTATUS RtlUpcaseUnicodeString(PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString,
                                BOOLEAN AllocateDestinationString) {
    return map_case(DestinationString, SourceString, AllocateDestinationString, upcase);
}

NTSTATUS RtlDowncaseUnicodeString(PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString,
                                  BOOLEAN AllocateDestinationString) {
    return map_case(DestinationString, SourceString, AllocateDestinationString, downcase);
}

WCHAR RtlUpcaseUnicodeChar(WCHAR SourceCharacter) { return upcase(SourceCharacter); }

// S-KAPI-3: X65599 is h = h * 65599 + c over the string's UTF-16 code units from h = 0,
// in 32 bits, each unit upcased first for a case-insensitive hash (Windows upcases, so
// "a" hashes as "A"). The Length counts: an embedded NUL is hashed like any unit. ntio's
// WCHAR is 4 bytes: a character beyond the BMP is hashed as the surrogate pair Windows
// holds it as, so the value is Windows' for the same text.
NTSTATUS RtlHashUnicodeString(PCUNICODE_STRING String, BOOLEAN CaseInSensitive, ULONG HashAlgorithm,
                              PULONG HashValue) {
    ntio::verifier::check_irql_at_most(APC_LEVEL, "RtlHashUnicodeString");
    if (!String || !HashValue) return STATUS_INVALID_PARAMETER;
    if (HashAlgorithm != HASH_STRING_ALGORITHM_DEFAULT && HashAlgorithm != HASH_STRING_ALGORITHM_X65599)
        return STATUS_INVALID_PARAMETER;
    uint32_t hash = 0;
    for (USHORT i = 0; i < String->Length / sizeof(WCHAR); ++i) {
        auto c = static_cast<uint32_t>(String->Buffer[i]);
        if (c > 0xFFFF && c <= 0x10FFFF) {
            c -= 0x10000;
            hash = hash * 65599u + (0xD800u + (c >> 10));
            hash = hash * 65599u + (0xDC00u + (c & 0x3FF));
            continue;
        }
        uint32_t unit = static_cast<uint16_t>(CaseInSensitive ? upcase(static_cast<WCHAR>(c)) : static_cast<WCHAR>(c));
        hash = hash * 65599u + unit;
    }
    *HashValue = hash;
    return STATUS_SUCCESS;
}
WCHAR RtlDowncaseUnicodeChar(WCHAR SourceCharacter) { return downcase(SourceCharacter); }
CHAR RtlUpperChar(CHAR Character) { return static_cast<CHAR>(toupper(static_cast<unsigned char>(Character))); }

BOOLEAN RtlCreateUnicodeString(PUNICODE_STRING DestinationString, PCWSTR SourceString) {
    size_t bytes = (wcslen(SourceString) + 1) * sizeof(WCHAR);
    if (bytes > UNICODE_STRING_MAX_BYTES) return FALSE;
    DestinationString->Buffer = alloc_wide(bytes);
    if (!DestinationString->Buffer) return FALSE;
    memcpy(DestinationString->Buffer, SourceString, bytes);
    DestinationString->MaximumLength = static_cast<USHORT>(bytes);
    DestinationString->Length = static_cast<USHORT>(bytes - sizeof(WCHAR));
    return TRUE;
}

NTSTATUS RtlDuplicateUnicodeString(ULONG Flags, PCUNICODE_STRING StringIn, PUNICODE_STRING StringOut) {
    if (!StringIn || !StringOut || Flags > 3) return STATUS_INVALID_PARAMETER;
    bool terminate = Flags & RTL_DUPLICATE_UNICODE_STRING_NULL_TERMINATE;
    if (StringIn->Length == 0 && !(Flags & RTL_DUPLICATE_UNICODE_STRING_ALLOCATE_NULL_STRING)) {
        StringOut->Length = StringOut->MaximumLength = 0;
        StringOut->Buffer = nullptr;
        return STATUS_SUCCESS;
    }
    size_t bytes = size_t(StringIn->Length) + (terminate ? sizeof(WCHAR) : 0);
    StringOut->Buffer = alloc_wide(bytes ? bytes : sizeof(WCHAR));
    if (!StringOut->Buffer) return STATUS_NO_MEMORY;
    memcpy(StringOut->Buffer, StringIn->Buffer, StringIn->Length);
    StringOut->Length = StringIn->Length;
    StringOut->MaximumLength = static_cast<USHORT>(bytes);
    return STATUS_SUCCESS;
}

VOID RtlFreeUnicodeString(PUNICODE_STRING UnicodeString) {
    if (UnicodeString->Buffer) sys().pool.free(UnicodeString->Buffer, kStringTag, true, "RtlFreeUnicodeString");
    UnicodeString->Buffer = nullptr;
    UnicodeString->Length = UnicodeString->MaximumLength = 0;
}

VOID RtlFreeAnsiString(PANSI_STRING AnsiString) {
    if (AnsiString->Buffer) sys().pool.free(AnsiString->Buffer, kStringTag, true, "RtlFreeAnsiString");
    AnsiString->Buffer = nullptr;
    AnsiString->Length = AnsiString->MaximumLength = 0;
}

NTSTATUS RtlInt64ToUnicodeString(ULONGLONG Value, ULONG Base, PUNICODE_STRING String) {
    if (Base == 0) Base = 10;
    if (Base != 2 && Base != 8 && Base != 10 && Base != 16) return STATUS_INVALID_PARAMETER;
    WCHAR digits[65];
    int n = 0;
    do {
        unsigned d = static_cast<unsigned>(Value % Base);
        digits[n++] = static_cast<WCHAR>(d < 10 ? L'0' + d : L'A' + d - 10);
        Value /= Base;
    } while (Value);
    size_t bytes = size_t(n) * sizeof(WCHAR);
    if (bytes > String->MaximumLength) return STATUS_BUFFER_OVERFLOW;
    for (int i = 0; i < n; ++i) String->Buffer[i] = digits[n - 1 - i];
    String->Length = static_cast<USHORT>(bytes);
    if (bytes + sizeof(WCHAR) <= String->MaximumLength) String->Buffer[n] = 0;
    return STATUS_SUCCESS;
}

NTSTATUS RtlIntegerToUnicodeString(ULONG Value, ULONG Base, PUNICODE_STRING String) {
    return RtlInt64ToUnicodeString(Value, Base, String);
}

// Leading blanks, an optional sign, and a 0x/0o/0b prefix when Base is 0 (as documented).
static NTSTATUS parse_integer(const WCHAR* p, const WCHAR* end, ULONG Base, PULONG Value) {
    while (p < end && (*p == L' ' || *p == L'\t')) ++p;
    bool negative = false;
    if (p < end && (*p == L'-' || *p == L'+')) negative = *p++ == L'-';
    if (Base == 0) {
        Base = 10;
        if (end - p >= 2 && p[0] == L'0') {
            if (p[1] == L'x' || p[1] == L'X') Base = 16, p += 2;
            else if (p[1] == L'o' || p[1] == L'O') Base = 8, p += 2;
            else if (p[1] == L'b' || p[1] == L'B') Base = 2, p += 2;
        }
    } else if (Base != 2 && Base != 8 && Base != 10 && Base != 16) {
        return STATUS_INVALID_PARAMETER;
    }
    ULONG v = 0;
    for (; p < end; ++p) {
        WCHAR c = *p;
        unsigned d;
        if (c >= L'0' && c <= L'9') d = c - L'0';
        else if (c >= L'a' && c <= L'f') d = c - L'a' + 10;
        else if (c >= L'A' && c <= L'F') d = c - L'A' + 10;
        else break;
        if (d >= Base) break;
        v = v * Base + d;
    }
    *Value = negative ? static_cast<ULONG>(-static_cast<LONG>(v)) : v;
    return STATUS_SUCCESS;
}

NTSTATUS RtlUnicodeStringToInteger(PCUNICODE_STRING String, ULONG Base, PULONG Value) {
    if (!Value) return STATUS_ACCESS_VIOLATION;
    return parse_integer(String->Buffer, String->Buffer + String->Length / sizeof(WCHAR), Base, Value);
}

NTSTATUS RtlCharToInteger(PCSZ String, ULONG Base, PULONG Value) {
    if (!Value) return STATUS_ACCESS_VIOLATION;
    size_t n = strlen(String);
    std::wstring w(String, String + n);
    return parse_integer(w.data(), w.data() + n, Base, Value);
}

SIZE_T RtlCompareMemory(const VOID* Source1, const VOID* Source2, SIZE_T Length) {
    auto* a = static_cast<const unsigned char*>(Source1);
    auto* b = static_cast<const unsigned char*>(Source2);
    SIZE_T i = 0;
    while (i < Length && a[i] == b[i]) ++i;
    return i;
}

// GUIDs in registry form: {xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}, upper-case hex.
NTSTATUS RtlStringFromGUID(REFGUID Guid, PUNICODE_STRING GuidString) {
    const GUID* g = &Guid;
    char text[40];
    snprintf(text, sizeof text, "{%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X}", g->Data1, g->Data2, g->Data3,
             g->Data4[0], g->Data4[1], g->Data4[2], g->Data4[3], g->Data4[4], g->Data4[5], g->Data4[6], g->Data4[7]);
    size_t chars = strlen(text);
    GuidString->Buffer = alloc_wide((chars + 1) * sizeof(WCHAR));
    if (!GuidString->Buffer) return STATUS_NO_MEMORY;
    for (size_t i = 0; i <= chars; ++i) GuidString->Buffer[i] = static_cast<WCHAR>(text[i]);
    GuidString->Length = static_cast<USHORT>(chars * sizeof(WCHAR));
    GuidString->MaximumLength = static_cast<USHORT>((chars + 1) * sizeof(WCHAR));
    return STATUS_SUCCESS;
}

NTSTATUS RtlGUIDFromString(PCUNICODE_STRING GuidString, GUID* Guid) {
    if (GuidString->Length != 38 * sizeof(WCHAR)) return STATUS_INVALID_PARAMETER;
    char text[39];
    for (int i = 0; i < 38; ++i) {
        WCHAR c = GuidString->Buffer[i];
        if (c > 0x7f) return STATUS_INVALID_PARAMETER;
        text[i] = static_cast<char>(c);
    }
    text[38] = 0;
    if (text[0] != '{' || text[37] != '}' || text[9] != '-' || text[14] != '-' || text[19] != '-' || text[24] != '-')
        return STATUS_INVALID_PARAMETER;
    for (int i = 1; i < 37; ++i)
        if (i != 9 && i != 14 && i != 19 && i != 24 && !isxdigit(static_cast<unsigned char>(text[i])))
            return STATUS_INVALID_PARAMETER;
    unsigned d1, d2, d3, b[8];
    if (sscanf(text, "{%8x-%4x-%4x-%2x%2x-%2x%2x%2x%2x%2x%2x}", &d1, &d2, &d3, &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
               &b[6], &b[7]) != 11)
        return STATUS_INVALID_PARAMETER;
    Guid->Data1 = d1;
    Guid->Data2 = static_cast<unsigned short>(d2);
    Guid->Data3 = static_cast<unsigned short>(d3);
    for (int i = 0; i < 8; ++i) Guid->Data4[i] = static_cast<unsigned char>(b[i]);
    return STATUS_SUCCESS;
}

}  // extern "C"
