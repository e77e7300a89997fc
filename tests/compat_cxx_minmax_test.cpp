// The compat headers in a C++ driver written as for the WDK: included inside
// extern "C" (a common way to write a C++ driver), then min and max used as the
// WDK's macros are used, unqualified and with mixed operand types (docs/compat.md).
extern "C" {
#include <ntddk.h>
#include <ntstrsafe.h>
#include <windows.h>
#include <winioctl.h>
#include <cfgmgr32.h>
#include <initguid.h>
}

#include <algorithm>
#include <limits>
#include <type_traits>

#include <gtest/gtest.h>

namespace {

DEFINE_GUID(GUID_EXTERN_C_TEST, 0x1, 0x2, 0x3, 0x4, 0x5, 0x6, 0x7, 0x8, 0x9, 0xa, 0xb);

// The headers' C++ parts (RTL_CONSTANT_STRING's literal overloads, GUID comparison)
// keep C++ linkage inside the caller's extern "C".
TEST(CompatCxx, HeadersIncludedInsideExternC) {
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Device\\X");
    EXPECT_EQ(name.Length, 9 * sizeof(WCHAR));  // \Device\X
    GUID copy = GUID_EXTERN_C_TEST;
    EXPECT_TRUE(copy == GUID_EXTERN_C_TEST);
    EXPECT_TRUE(IsEqualGUID(copy, GUID_EXTERN_C_TEST));
}

// What a C++ driver writes: the WDK's min and max, unqualified, on ULONG and friends.
ULONG bytes_to_copy(PIO_STACK_LOCATION sp) {
    return min(sp->Parameters.DeviceIoControl.InputBufferLength, sp->Parameters.DeviceIoControl.OutputBufferLength);
}

TEST(CompatCxx, MinMaxAreTheWdkMacrosAsFunctions) {
    IO_STACK_LOCATION sp{};
    sp.Parameters.DeviceIoControl.InputBufferLength = 64;
    sp.Parameters.DeviceIoControl.OutputBufferLength = 16;
    EXPECT_EQ(bytes_to_copy(&sp), 16u);
    // Mixed operand types give the macro's type: the usual arithmetic conversions.
    ULONG ul = 7;
    SIZE_T size = 9;
    static_assert(std::is_same_v<decltype(max(ul, size)), SIZE_T>);
    EXPECT_EQ(max(ul, size), 9u);
    EXPECT_EQ(min(-3, 2L), -3L);
    static_assert(min(3, 5) == 3 && max(3, 5) == 5, "usable in constant expressions");
    // libstdc++ is untouched: no macro broke these.
    EXPECT_EQ(std::numeric_limits<ULONG>::max(), 0xFFFFFFFFu);
    EXPECT_EQ(std::min(2, 1), 1);
    EXPECT_EQ(std::max({1, 4, 2}), 4);
}

TEST(CompatCxx, MinMaxBesideUsingNamespaceStd) {
    using namespace std;
    // One type: std::min is the more specialized template and is chosen, no ambiguity.
    int a = 4, b = 6;
    EXPECT_EQ(min(a, b), 4);
    EXPECT_EQ(max(a, b), 6);
    // Mixed types: std::min cannot deduce, the WDK's form takes them.
    EXPECT_EQ(max(a, 10L), 10L);
}

}  // namespace
