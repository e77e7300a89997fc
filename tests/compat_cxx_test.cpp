// The compat headers as C++: a driver header and an app header in one file,
// GUID definitions, TCHAR and SAL (issue 2, point 3). The C11 side is checked by
// tests/c/, compiled with -Wall -Wextra -Werror -pedantic.
#include <ndis.h>
#include <ntddk.h>
#include <ntstrsafe.h>
#include <tchar.h>
#include <winternl.h>
#include <windows.h>
#include <initguid.h>

#include <gtest/gtest.h>

DEFINE_GUID(GUID_CXX_TEST, 0x12345678, 0x1234, 0x5678, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78);

namespace {

_Use_decl_annotations_ static NTSTATUS annotated(_In_ PVOID in, _Out_opt_ PULONG out, IN OPTIONAL PVOID unused) {
    UNREFERENCED_PARAMETER(unused);
    if (out) *out = in ? 1 : 0;
    return STATUS_SUCCESS;
}

// MSVC's sized keywords and ndis.h's memory macros read in C++ as in C.
TEST(CompatCxx, Int64KeywordsAndNdisMemoryMacros) {
    signed __int64 a = -5;
    unsigned __int64 b = 0xFFFFFFFFFFFFFFFFULL;
    static_assert(sizeof(__int64) == 8 && sizeof(__int32) == 4 && sizeof(__int16) == 2 && sizeof(__int8) == 1);
    EXPECT_EQ(a * 2, -10);
    EXPECT_EQ(b + 1, 0u);
    char from[4] = {1, 2, 3, 4}, to[4] = {};
    NdisMoveMemory(to, from, sizeof(to));
    EXPECT_TRUE(NdisEqualMemory(to, from, sizeof(to)));
    NdisZeroMemory(to, sizeof(to));
    EXPECT_EQ(to[3], 0);
    NDIS_STATUS status = NDIS_STATUS_SUCCESS;
    EXPECT_EQ(status, STATUS_SUCCESS);
    IO_STATUS_BLOCK iosb{};  // declared for <winternl.h> callers too
    EXPECT_EQ(iosb.Information, 0u);
}

// <ntstrsafe.h> as C++ (tests/c/strsafe_test.c has every routine in C).
TEST(CompatCxx, NtStrSafeFormatsAsWindowsDoes) {
    char a[16];
    ULONG big = 4000000000u;
    EXPECT_EQ(RtlStringCbPrintfA(a, sizeof a, "%lu", big), STATUS_SUCCESS);
    EXPECT_STREQ(a, "4000000000");
    wchar_t w[8];
    EXPECT_EQ(RtlStringCchPrintfW(w, 8, L"%s-%S", L"wide", "nar"), STATUS_BUFFER_OVERFLOW);
    EXPECT_STREQ(w, L"wide-na");
    EXPECT_EQ(RtlStringCchCopyA(a, 0, "x"), STATUS_INVALID_PARAMETER);
}

TEST(CompatCxx, HeadersWorkTogether) {
    ULONG v = 0;
    EXPECT_EQ(annotated(&v, &v, nullptr), STATUS_SUCCESS);
    EXPECT_EQ(v, 1u);
    DWORD d = v;
    PULONG p = &d;  // DWORD* and ULONG* are the same type
    EXPECT_EQ(*p, 1u);
    const TCHAR* s = _T("text");
    EXPECT_EQ(_tcslen(s), 4u);
    EXPECT_EQ(GUID_CXX_TEST.Data1, 0x12345678u);
    EXPECT_TRUE(IsEqualGUID(GUID_CXX_TEST, GUID_CXX_TEST));
    EXPECT_EQ(INFINITE, 0xFFFFFFFFu);
    EXPECT_EQ(WAIT_TIMEOUT, 258u);
    EXPECT_EQ(ERROR_IO_PENDING, 997);
    EXPECT_EQ(STATUS_PENDING, 0x103);
    EXPECT_EQ(sizeof(KSPIN_LOCK), sizeof(void*));
}

}  // namespace

// C++ code after <windows.h> gets the Windows-format printf family too, through the
// global names and through std:: (<cstdio> included first, so its #undef came before
// the macros): docs/compat.md, "printf in application code".
TEST(CompatCxx, PrintfFamilyFormatsAsWindowsThroughStdToo) {
    char a[64];
    DWORD big = 0xFFFFFFFFu;
    EXPECT_EQ(std::snprintf(a, sizeof a, "%lu|%ws|%I64d", big, L"wide", -1LL), 18);
    EXPECT_STREQ(a, "4294967295|wide|-1");
    wchar_t w[16];
    EXPECT_EQ(std::swprintf(w, 16, L"%s-%S", L"w", "n"), 3);
    EXPECT_STREQ(w, L"w-n");
    EXPECT_EQ(::_snprintf(a, 2, "%s", "abc"), -1);
}
