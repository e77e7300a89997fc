// The process heap (HeapAlloc, HeapReAlloc, HeapFree, HeapSize), kernel32's lstr* and
// wsprintf helpers, ExitProcess, and the small kernel routines outside drivers use:
// ExInterlockedAddUlong, KeNumberProcessors, MmGetSystemRoutineAddress
// (docs/compat.md).
#include <cstring>
#include <string>

#include <unistd.h>

#include "ntio/gtest.hpp"
#include "wdm.h"
#include "windows.h"

namespace {

TEST(ProcessHeap, BlocksKeepTheirSizeZeroingAndContentsAcrossReAlloc) {
    HANDLE heap = GetProcessHeap();
    ASSERT_NE(heap, nullptr);
    EXPECT_EQ(heap, GetProcessHeap());
    auto* p = static_cast<unsigned char*>(HeapAlloc(heap, HEAP_ZERO_MEMORY, 100));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 16, 0u);
    EXPECT_EQ(HeapSize(heap, 0, p), 100u);  // the size asked for, not the allocator's
    for (int i = 0; i < 100; ++i) ASSERT_EQ(p[i], 0) << i;
    std::memset(p, 0xAB, 100);
    p = static_cast<unsigned char*>(HeapReAlloc(heap, HEAP_ZERO_MEMORY, p, 5000));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(HeapSize(heap, 0, p), 5000u);
    EXPECT_EQ(p[0], 0xAB);
    EXPECT_EQ(p[99], 0xAB);
    EXPECT_EQ(p[100], 0);  // HEAP_ZERO_MEMORY zeroes what a realloc adds
    EXPECT_EQ(p[4999], 0);
    // In place only: shrinking stays put, growing fails and leaves the block as it was.
    EXPECT_EQ(HeapReAlloc(heap, HEAP_REALLOC_IN_PLACE_ONLY, p, 10), p);
    EXPECT_EQ(HeapSize(heap, 0, p), 10u);
    EXPECT_EQ(HeapReAlloc(heap, HEAP_REALLOC_IN_PLACE_ONLY, p, 20), nullptr);
    EXPECT_EQ(HeapSize(heap, 0, p), 10u);
    EXPECT_TRUE(HeapFree(heap, 0, p));
    EXPECT_TRUE(HeapFree(heap, 0, nullptr));
}

TEST(ProcessHeap, ForeignBlocksAndHeapsAreRefused) {
    HANDLE heap = GetProcessHeap();
    alignas(16) char not_a_block[64] = {};
    SetLastError(0);
    EXPECT_FALSE(HeapFree(heap, 0, not_a_block + 32));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    EXPECT_EQ(HeapSize(heap, 0, not_a_block + 32), static_cast<SIZE_T>(-1));
    EXPECT_EQ(HeapReAlloc(heap, 0, not_a_block + 32, 8), nullptr);
    void* p = HeapAlloc(heap, 0, 8);
    SetLastError(0);
    HANDLE other = reinterpret_cast<HANDLE>(static_cast<uintptr_t>(0x1234));
    EXPECT_EQ(HeapAlloc(other, 0, 8), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    EXPECT_FALSE(HeapFree(other, 0, p));
    EXPECT_TRUE(HeapFree(heap, 0, p));
    // An impossible size fails without an exception (none was asked for).
    EXPECT_EQ(HeapAlloc(heap, 0, ~SIZE_T(0) - 8), nullptr);
}

TEST(KernelStrings, LstrHelpersBehaveAsKernel32s) {
    EXPECT_EQ(lstrlenA(nullptr), 0);
    EXPECT_EQ(lstrlenW(nullptr), 0);
    EXPECT_EQ(lstrlenA("abc"), 3);
    EXPECT_EQ(lstrlenW(L"abcd"), 4);
    char a[16];
    EXPECT_EQ(lstrcpyA(a, "ab"), a);
    EXPECT_EQ(lstrcatA(a, "cd"), a);
    EXPECT_STREQ(a, "abcd");
    EXPECT_STREQ(lstrcpynA(a, "123456", 4), "123");  // n - 1 characters and the terminator
    EXPECT_STREQ(lstrcpynA(a, "xy", 16), "xy");
    EXPECT_STREQ(lstrcpynA(a, "hello", -1), "hello");  // the count is unsigned to Windows
    std::strcpy(a, "keep");
    EXPECT_STREQ(lstrcpynA(a, "zz", 0), "keep");
    WCHAR w[8];
    lstrcpyW(w, L"w");
    lstrcatW(w, L"x");
    EXPECT_STREQ(lstrcpynW(w, L"wxyz", 3), L"wx");
}

// Windows's lstr routines catch an access violation and return 0 or NULL.
TEST(KernelStrings, LstrHelpersCatchBadPointers) {
    auto* bad = reinterpret_cast<char*>(static_cast<uintptr_t>(16));
    auto* wbad = reinterpret_cast<WCHAR*>(static_cast<uintptr_t>(16));
    char ok[8] = "ok";
    EXPECT_EQ(lstrlenA(bad), 0);
    EXPECT_EQ(lstrlenW(wbad), 0);
    EXPECT_EQ(lstrcpyA(bad, "x"), nullptr);
    EXPECT_EQ(lstrcpyA(ok, bad), nullptr);
    EXPECT_EQ(lstrcatA(bad, "x"), nullptr);
    EXPECT_EQ(lstrcpynA(bad, "x", 5), nullptr);
    EXPECT_EQ(lstrcpyW(wbad, L"x"), nullptr);
    EXPECT_EQ(lstrlenA(ok), 2) << "and the good calls after them still work";
}

TEST(KernelStrings, WsprintfFormatsAsWindowsAndStopsAt1024) {
    char out[2048];
    EXPECT_EQ(wsprintfA(out, "%lu-%S-%d", 0xFFFFFFFFu, L"wide", -5), 18);
    EXPECT_STREQ(out, "4294967295-wide--5");
    std::string long_text(1500, 'x');
    std::memset(out, 'Q', sizeof out);
    EXPECT_EQ(wsprintfA(out, "%s", long_text.c_str()), 1023);
    EXPECT_EQ(std::strlen(out), 1023u);
    EXPECT_EQ(out[1024], 'Q');  // nothing past the 1024-character buffer
    WCHAR wout[64];
    EXPECT_EQ(wsprintfW(wout, L"%s=%u", L"n", 7u), 3);
    EXPECT_STREQ(wout, L"n=7");
}

TEST(ProcessExitCall, ExitProcessEndsTheProcessWithItsCode) {
    EXPECT_EXIT(ExitProcess(3), ::testing::ExitedWithCode(3), "");
}

class KernelExtras : public ntio::testing::DriverTest {};

TEST_F(KernelExtras, ExInterlockedAddUlongAddsUnderTheLockAndReturnsTheOldValue) {
    KSPIN_LOCK lock;
    KeInitializeSpinLock(&lock);
    ULONG value = 40;
    EXPECT_EQ(ExInterlockedAddUlong(&value, 2, &lock), 40u);
    EXPECT_EQ(value, 42u);
    EXPECT_EQ(ExInterlockedAddUlong(&value, 0xFFFFFFFFu, &lock), 42u);  // wraps as a ULONG
    EXPECT_EQ(value, 41u);
    LARGE_INTEGER big, add;
    big.QuadPart = 1LL << 40;
    add.QuadPart = -1;
    EXPECT_EQ(ExInterlockedAddLargeInteger(&big, add, &lock).QuadPart, 1LL << 40);
    EXPECT_EQ(big.QuadPart, (1LL << 40) - 1);
}

TEST_F(KernelExtras, KeNumberProcessorsCountsTheOnlineProcessors) {
    EXPECT_EQ(static_cast<long>(KeNumberProcessors), sysconf(_SC_NPROCESSORS_ONLN));
}

TEST_F(KernelExtras, MmGetSystemRoutineAddressFindsKernelRoutinesOnly) {
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, L"KeQueryActiveProcessorCount");
    EXPECT_EQ(MmGetSystemRoutineAddress(&name), reinterpret_cast<PVOID>(&KeQueryActiveProcessorCount));
    RtlInitUnicodeString(&name, L"ExInterlockedAddUlong");
    EXPECT_EQ(MmGetSystemRoutineAddress(&name), reinterpret_cast<PVOID>(&ExInterlockedAddUlong));
    RtlInitUnicodeString(&name, L"KeNoSuchRoutine");
    EXPECT_EQ(MmGetSystemRoutineAddress(&name), nullptr);
    RtlInitUnicodeString(&name, L"CreateFileA");  // libntio has it, but it is not the kernel's
    EXPECT_EQ(MmGetSystemRoutineAddress(&name), nullptr);
    RtlInitUnicodeString(&name, L"ntio_seh_enter");
    EXPECT_EQ(MmGetSystemRoutineAddress(&name), nullptr);
    EXPECT_EQ(MmGetSystemRoutineAddress(nullptr), nullptr);
}

}  // namespace
