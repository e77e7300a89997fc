// Virtual memory for applications (S-MEM-1..4 in docs/design.md): VirtualAlloc's
// reserve and commit, VirtualFree, VirtualProtect, and a read-only page handed to the
// I/O manager; GetSystemInfo.
#include <cstring>

#include "io_test_support.hpp"

namespace {

using namespace ntio::testing;
class VirtualMemory : public IoTest {};

TEST_F(VirtualMemory, S_MEM_1_ReserveCommitAndRelease) {
    auto* p = static_cast<unsigned char*>(VirtualAlloc(nullptr, 10000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 65536, 0u) << "64 KiB allocation granularity";
    for (int i = 0; i < 12288; ++i) ASSERT_EQ(p[i], 0) << "committed pages start zeroed, whole pages";
    std::memset(p, 0x5A, 12288);
    EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));

    // Reserve, then commit one page in the middle.
    auto* r = static_cast<unsigned char*>(VirtualAlloc(nullptr, 8 * 4096, MEM_RESERVE, PAGE_NOACCESS));
    ASSERT_NE(r, nullptr);
    DWORD old = 0;
    EXPECT_FALSE(VirtualProtect(r, 4096, PAGE_READWRITE, &old)) << "not committed";
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_ADDRESS));
    auto* c = static_cast<unsigned char*>(VirtualAlloc(r + 3 * 4096 + 100, 10, MEM_COMMIT, PAGE_READWRITE));
    EXPECT_EQ(c, r + 3 * 4096) << "the page holding the address";
    c[0] = 1;
    // Decommitted and committed again, the page is zero.
    EXPECT_TRUE(VirtualFree(c, 4096, MEM_DECOMMIT));
    ASSERT_EQ(VirtualAlloc(c, 4096, MEM_COMMIT, PAGE_READWRITE), c);
    EXPECT_EQ(c[0], 0);
    EXPECT_FALSE(VirtualFree(r + 4096, 0, MEM_RELEASE)) << "not the base";
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_ADDRESS));
    EXPECT_FALSE(VirtualFree(r, 4096, MEM_RELEASE)) << "MEM_RELEASE takes a size of 0";
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    EXPECT_TRUE(VirtualFree(r, 0, MEM_RELEASE));
    EXPECT_FALSE(VirtualFree(r, 0, MEM_RELEASE)) << "released once";
}

TEST_F(VirtualMemory, S_MEM_2_BadArguments) {
    EXPECT_EQ(VirtualAlloc(nullptr, 0, MEM_COMMIT, PAGE_READWRITE), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    EXPECT_EQ(VirtualAlloc(nullptr, 4096, MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    EXPECT_EQ(VirtualAlloc(nullptr, 4096, MEM_DECOMMIT, PAGE_READWRITE), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    int on_stack = 0;
    EXPECT_EQ(VirtualAlloc(&on_stack, 4, MEM_COMMIT, PAGE_READWRITE), nullptr) << "nobody reserved it";
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_ADDRESS));
    void* p = VirtualAlloc(nullptr, 4096, MEM_COMMIT, PAGE_READWRITE);
    EXPECT_FALSE(VirtualProtect(p, 4096, PAGE_READONLY, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOACCESS));
    EXPECT_FALSE(VirtualFree(p, 0, 0x12345));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

// A read-only page as a buffered request's output fails with ERROR_NOACCESS before any
// IRP (S-BUF-11); made writable again, the same request succeeds.
TEST_F(VirtualMemory, S_MEM_3_S_BUF_11_ProtectedPagesAndTheIoManager) {
    auto* out = static_cast<unsigned char*>(VirtualAlloc(nullptr, 4096, MEM_COMMIT, PAGE_READWRITE));
    ASSERT_NE(out, nullptr);
    DWORD old = 0;
    ASSERT_TRUE(VirtualProtect(out, 64, PAGE_READONLY, &old));
    EXPECT_EQ(old, static_cast<DWORD>(PAGE_READWRITE));
    HANDLE h = open(testdrv::kBuffered, false);
    testdrv::Script s = now(STATUS_SUCCESS, 8, 8);
    DWORD bytes = 0;
    int dispatched = testdrv::state().dispatched.load();
    EXPECT_FALSE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, &s, sizeof s, out, 8, &bytes, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOACCESS));
    EXPECT_EQ(testdrv::state().dispatched.load(), dispatched);
    ASSERT_TRUE(VirtualProtect(out, 64, PAGE_READWRITE, &old));
    EXPECT_EQ(old, static_cast<DWORD>(PAGE_READONLY));
    EXPECT_TRUE(DeviceIoControl(h, testdrv::IOCTL_BUFFERED, &s, sizeof s, out, 8, &bytes, nullptr));
    EXPECT_EQ(bytes, 8u);
    EXPECT_EQ(out[7], 0xAB);
    CloseHandle(h);
    EXPECT_TRUE(VirtualFree(out, 0, MEM_RELEASE));
}

TEST_F(VirtualMemory, S_MEM_4_GetSystemInfo) {
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    EXPECT_EQ(si.wProcessorArchitecture, PROCESSOR_ARCHITECTURE_AMD64);
    EXPECT_EQ(si.dwPageSize, 4096u);
    EXPECT_EQ(si.dwAllocationGranularity, 65536u);
    EXPECT_GE(si.dwNumberOfProcessors, 1u);
    EXPECT_EQ(static_cast<DWORD>(__builtin_popcountll(si.dwActiveProcessorMask)), si.dwNumberOfProcessors);
    EXPECT_LT(si.lpMinimumApplicationAddress, si.lpMaximumApplicationAddress);
}

}  // namespace
