// Small kernel routines drivers reach for (docs/design.md, "Small kernel routines",
// S-KAPI-1..9): guarded regions, processor counts and numbers, RtlHashUnicodeString,
// RtlRandom(Ex), ExUuidCreate, processor features, the NTDDI version checks, the kernel
// debugger flags and MmIsAddressValid.
#include <sys/mman.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <vector>

#include "ntio/gtest.hpp"
#include "windows.h"
#include "wdm.h"

namespace {

class KernelApi : public ntio::testing::DriverTest {};

// S-KAPI-1: a guarded region disables all APCs, a critical region the normal ones; both
// nest; APC_LEVEL disables all.
TEST_F(KernelApi, S_KAPI_1_GuardedRegionsDisableAllApcs) {
    EXPECT_FALSE(KeAreApcsDisabled());
    EXPECT_FALSE(KeAreAllApcsDisabled());
    KeEnterCriticalRegion();
    EXPECT_TRUE(KeAreApcsDisabled());
    EXPECT_FALSE(KeAreAllApcsDisabled()) << "special kernel APCs still run in a critical region";
    KeLeaveCriticalRegion();

    KeEnterGuardedRegion();
    KeEnterGuardedRegion();
    EXPECT_TRUE(KeAreApcsDisabled());
    EXPECT_TRUE(KeAreAllApcsDisabled());
    // A guarded region is enough for what needs normal APCs off (an ERESOURCE).
    ERESOURCE resource;
    ASSERT_EQ(ExInitializeResourceLite(&resource), STATUS_SUCCESS);
    EXPECT_TRUE(ExAcquireResourceExclusiveLite(&resource, TRUE));
    ExReleaseResourceLite(&resource);
    ExDeleteResourceLite(&resource);
    KeLeaveGuardedRegion();
    EXPECT_TRUE(KeAreAllApcsDisabled()) << "still one level in";
    KeLeaveGuardedRegion();
    EXPECT_FALSE(KeAreApcsDisabled());
    EXPECT_FALSE(KeAreAllApcsDisabled());

    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    EXPECT_TRUE(KeAreAllApcsDisabled());
    KeLowerIrql(old);

    EXPECT_DRIVER_BUG("APC_INDEX_MISMATCH", KeLeaveGuardedRegion());
    EXPECT_FALSE(KeAreAllApcsDisabled()) << "an unbalanced leave changes nothing";
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    EXPECT_DRIVER_BUG("IRQL_NOT_LESS_OR_EQUAL", KeEnterGuardedRegion());
    KeLowerIrql(old);
    KeLeaveGuardedRegion();  // the entry was counted all the same
    EXPECT_FALSE(KeAreAllApcsDisabled());
}

// S-KAPI-2: the processor counts, mask and numbers agree with each other and with what
// GetSystemInfo tells applications; one group.
TEST_F(KernelApi, S_KAPI_2_ProcessorCountsAgree) {
    SYSTEM_INFO info;
    GetSystemInfo(&info);
    KAFFINITY mask = 0;
    ULONG active = KeQueryActiveProcessorCount(&mask);
    EXPECT_EQ(active, info.dwNumberOfProcessors);
    EXPECT_EQ(mask, info.dwActiveProcessorMask);
    EXPECT_EQ(KeQueryActiveProcessors(), mask);
    EXPECT_EQ(static_cast<ULONG>(KeNumberProcessors), active);
    EXPECT_GE(KeQueryMaximumProcessorCount(), active);
    EXPECT_LE(KeQueryMaximumProcessorCount(), 64u);
    EXPECT_EQ(KeQueryMaximumProcessorCountEx(0), KeQueryMaximumProcessorCount());
    EXPECT_EQ(KeQueryMaximumProcessorCountEx(ALL_PROCESSOR_GROUPS), KeQueryMaximumProcessorCount());
    EXPECT_EQ(KeQueryMaximumProcessorCountEx(1), 0u);
    EXPECT_EQ(KeQueryActiveGroupCount(), 1);
    EXPECT_EQ(KeQueryMaximumGroupCount(), 1);

    PROCESSOR_NUMBER number;
    std::memset(&number, 0xff, sizeof number);
    ULONG index = KeGetCurrentProcessorNumberEx(&number);
    EXPECT_EQ(number.Group, 0);
    EXPECT_EQ(number.Number, index);
    EXPECT_EQ(number.Reserved, 0);
    EXPECT_LT(index, 64u);
    EXPECT_LT(KeGetCurrentProcessorNumberEx(nullptr), 64u);
}

UNICODE_STRING counted(const wchar_t* text, size_t units) {
    UNICODE_STRING s;
    s.Buffer = const_cast<PWSTR>(text);
    s.Length = s.MaximumLength = static_cast<USHORT>(units * sizeof(WCHAR));
    return s;
}

// S-KAPI-3: X65599 as Windows computes it. 0x32803083 for "Test", NUL, "1" is the value
// Windows gives (Wine's ntdll test, which passes on Windows, checks that one).
TEST_F(KernelApi, S_KAPI_3_HashUnicodeStringIsWindowsX65599) {
    ULONG hash = 0;
    UNICODE_STRING with_nul = counted(L"Test\0" L"1", 6);
    ASSERT_EQ(RtlHashUnicodeString(&with_nul, FALSE, HASH_STRING_ALGORITHM_X65599, &hash), STATUS_SUCCESS);
    EXPECT_EQ(hash, 0x32803083u);

    // Its defining properties: h("") = 0, h(s + c) = h(s) * 65599 + c in 32 bits.
    UNICODE_STRING empty = counted(L"", 0), t = counted(L"T", 1), te = counted(L"Te", 2);
    ASSERT_EQ(RtlHashUnicodeString(&empty, FALSE, HASH_STRING_ALGORITHM_X65599, &hash), STATUS_SUCCESS);
    EXPECT_EQ(hash, 0u);
    ASSERT_EQ(RtlHashUnicodeString(&t, FALSE, HASH_STRING_ALGORITHM_X65599, &hash), STATUS_SUCCESS);
    EXPECT_EQ(hash, static_cast<ULONG>(L'T'));
    ASSERT_EQ(RtlHashUnicodeString(&te, FALSE, HASH_STRING_ALGORITHM_DEFAULT, &hash), STATUS_SUCCESS);
    EXPECT_EQ(hash, static_cast<ULONG>(L'T') * 65599u + L'e') << "DEFAULT is X65599";

    // Case-insensitive: the upcased string's case-sensitive hash.
    ULONG lower = 0, upper = 0, mixed = 0;
    UNICODE_STRING l = counted(L"\\device\\ntio", 12), u = counted(L"\\DEVICE\\NTIO", 12),
                   m = counted(L"\\Device\\Ntio", 12);
    ASSERT_EQ(RtlHashUnicodeString(&l, TRUE, HASH_STRING_ALGORITHM_X65599, &lower), STATUS_SUCCESS);
    ASSERT_EQ(RtlHashUnicodeString(&u, FALSE, HASH_STRING_ALGORITHM_X65599, &upper), STATUS_SUCCESS);
    ASSERT_EQ(RtlHashUnicodeString(&m, TRUE, HASH_STRING_ALGORITHM_X65599, &mixed), STATUS_SUCCESS);
    EXPECT_EQ(lower, upper);
    EXPECT_EQ(mixed, upper);
    ASSERT_EQ(RtlHashUnicodeString(&l, FALSE, HASH_STRING_ALGORITHM_X65599, &lower), STATUS_SUCCESS);
    EXPECT_NE(lower, upper);

    // A character beyond the BMP (a 4-byte WCHAR here) hashes as Windows' surrogate pair.
    UNICODE_STRING emoji = counted(L"\U0001F600", 1);
    ASSERT_EQ(RtlHashUnicodeString(&emoji, FALSE, HASH_STRING_ALGORITHM_X65599, &hash), STATUS_SUCCESS);
    EXPECT_EQ(hash, 0xD83Du * 65599u + 0xDE00u);

    EXPECT_EQ(RtlHashUnicodeString(nullptr, FALSE, HASH_STRING_ALGORITHM_X65599, &hash), STATUS_INVALID_PARAMETER);
    EXPECT_EQ(RtlHashUnicodeString(&t, FALSE, HASH_STRING_ALGORITHM_X65599, nullptr), STATUS_INVALID_PARAMETER);
    EXPECT_EQ(RtlHashUnicodeString(&t, FALSE, HASH_STRING_ALGORITHM_INVALID, &hash), STATUS_INVALID_PARAMETER);
    EXPECT_EQ(RtlHashUnicodeString(&t, FALSE, 2, &hash), STATUS_INVALID_PARAMETER);
}

// S-KAPI-4: values in [0, MAXLONG - 1], the seed updated, the same sequence for the same
// seed; RtlRandom only at IRQL <= APC_LEVEL.
TEST_F(KernelApi, S_KAPI_4_RandomIsDeterministicPerSeed) {
    for (ULONG start : {0u, 1u, 42u, 0x7FFFFFFEu, 0x7FFFFFFFu, 0xFFFFFFFFu}) {
        ULONG a = start, b = start;
        std::vector<ULONG> first, second;
        for (int i = 0; i < 1000; ++i) {
            ULONG v = RtlRandomEx(&a);
            EXPECT_LE(v, static_cast<ULONG>(MAXLONG - 1));
            EXPECT_EQ(a, v) << "the seed becomes the value";
            first.push_back(v);
            second.push_back(RtlRandomEx(&b));
        }
        EXPECT_EQ(first, second) << "seed " << start;
        EXPECT_GT(std::set<ULONG>(first.begin(), first.end()).size(), 990u) << "seed " << start;
    }
    ULONG s1 = 7, s2 = 8;
    EXPECT_NE(RtlRandomEx(&s1), RtlRandomEx(&s2));
    ULONG r1 = 99, r2 = 99;
    EXPECT_EQ(RtlRandom(&r1), RtlRandom(&r2));
    EXPECT_EQ(r1, r2);
    EXPECT_NE(r1, 99u);

    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    ULONG seed = 5;
    RtlRandomEx(&seed);  // any IRQL
    EXPECT_DRIVER_BUG("IRQL_NOT_LESS_OR_EQUAL", RtlRandom(&seed));
    KeLowerIrql(old);
}

// S-KAPI-5: a version-4 UUID with the RFC 4122 variant, new each time.
TEST_F(KernelApi, S_KAPI_5_UuidsAreRandomVersion4) {
    std::set<std::vector<unsigned char>> seen;
    for (int i = 0; i < 64; ++i) {
        UUID id;
        ASSERT_EQ(ExUuidCreate(&id), STATUS_SUCCESS);
        EXPECT_EQ(id.Data3 >> 12, 4) << "version";
        EXPECT_EQ(id.Data4[0] >> 6, 2) << "variant";
        auto* p = reinterpret_cast<unsigned char*>(&id);
        seen.insert(std::vector<unsigned char>(p, p + sizeof id));
    }
    EXPECT_EQ(seen.size(), 64u);
}

// S-KAPI-6: features from cpuid, the same for drivers and applications, as the compiler's
// own detection finds them; other architectures' and unknown numbers are FALSE.
TEST_F(KernelApi, S_KAPI_6_ProcessorFeaturesComeFromCpuid) {
    for (ULONG f = 0; f < 64; ++f)
        EXPECT_EQ(ExIsProcessorFeaturePresent(f), IsProcessorFeaturePresent(f) ? TRUE : FALSE) << "feature " << f;
    // Every x64 processor has these.
    EXPECT_TRUE(ExIsProcessorFeaturePresent(PF_XMMI64_INSTRUCTIONS_AVAILABLE));
    EXPECT_TRUE(ExIsProcessorFeaturePresent(PF_XMMI_INSTRUCTIONS_AVAILABLE));
    EXPECT_TRUE(ExIsProcessorFeaturePresent(PF_COMPARE_EXCHANGE_DOUBLE));
    EXPECT_TRUE(ExIsProcessorFeaturePresent(PF_RDTSC_INSTRUCTION_AVAILABLE));
    EXPECT_TRUE(ExIsProcessorFeaturePresent(PF_PAE_ENABLED));
    __builtin_cpu_init();
    EXPECT_EQ(!!ExIsProcessorFeaturePresent(PF_SSE3_INSTRUCTIONS_AVAILABLE), !!__builtin_cpu_supports("sse3"));
    EXPECT_EQ(!!ExIsProcessorFeaturePresent(PF_SSSE3_INSTRUCTIONS_AVAILABLE), !!__builtin_cpu_supports("ssse3"));
    EXPECT_EQ(!!ExIsProcessorFeaturePresent(PF_SSE4_2_INSTRUCTIONS_AVAILABLE), !!__builtin_cpu_supports("sse4.2"));
    EXPECT_EQ(!!ExIsProcessorFeaturePresent(PF_AVX_INSTRUCTIONS_AVAILABLE), !!__builtin_cpu_supports("avx"));
    EXPECT_EQ(!!ExIsProcessorFeaturePresent(PF_AVX2_INSTRUCTIONS_AVAILABLE), !!__builtin_cpu_supports("avx2"));
    EXPECT_EQ(!!ExIsProcessorFeaturePresent(PF_AVX512F_INSTRUCTIONS_AVAILABLE), !!__builtin_cpu_supports("avx512f"));
    for (int f : {PF_FLOATING_POINT_PRECISION_ERRATA, PF_FLOATING_POINT_EMULATED, PF_PPC_MOVEMEM_64BIT_OK,
                    PF_ALPHA_BYTE_INSTRUCTIONS, PF_COMPARE64_EXCHANGE128, PF_ARM_NEON_INSTRUCTIONS_AVAILABLE,
                    PF_ARM_V8_INSTRUCTIONS_AVAILABLE, 64, 1000})
        EXPECT_FALSE(ExIsProcessorFeaturePresent(static_cast<ULONG>(f))) << "feature " << f;
}

// S-KAPI-7: the NTDDI checks agree with RtlGetVersion's Windows 10 version 2004.
TEST_F(KernelApi, S_KAPI_7_NtDdiChecksMatchTheReportedVersion) {
    RTL_OSVERSIONINFOW v{};
    v.dwOSVersionInfoSize = sizeof v;
    ASSERT_EQ(RtlGetVersion(&v), STATUS_SUCCESS);
    ASSERT_EQ(v.dwMajorVersion, 10u);
    ASSERT_EQ(v.dwBuildNumber, 19041u);
    EXPECT_TRUE(RtlIsNtDdiVersionAvailable(NTDDI_WIN7));
    EXPECT_TRUE(RtlIsNtDdiVersionAvailable(NTDDI_WIN10));
    EXPECT_TRUE(RtlIsNtDdiVersionAvailable(NTDDI_WIN10_VB));
    EXPECT_TRUE(RtlIsNtDdiVersionAvailable(NTDDI_VERSION));
    EXPECT_FALSE(RtlIsNtDdiVersionAvailable(NTDDI_WIN10_MN));
    EXPECT_FALSE(RtlIsNtDdiVersionAvailable(NTDDI_WIN10_NI));
    EXPECT_TRUE(RtlIsServicePackVersionInstalled(NTDDI_WIN10));
    EXPECT_TRUE(RtlIsServicePackVersionInstalled(NTDDI_WIN10_VB));
    EXPECT_FALSE(RtlIsServicePackVersionInstalled(NTDDI_WIN10_MN));
    EXPECT_FALSE(RtlIsServicePackVersionInstalled(NTDDI_WIN7)) << "another OS's service pack";
}

bool traced() {
    FILE* f = std::fopen("/proc/self/status", "r");
    if (!f) return false;
    char line[256];
    long tracer = 0;
    while (std::fgets(line, sizeof line, f))
        if (std::sscanf(line, "TracerPid: %ld", &tracer) == 1) break;
    std::fclose(f);
    return tracer != 0;
}

// S-KAPI-8: the debugger flags say whether a debugger is attached to the process (none
// under ctest), through the WDK's macros.
TEST_F(KernelApi, S_KAPI_8_DebuggerFlagsFollowAnAttachedDebugger) {
    bool attached = traced();
    EXPECT_EQ(!!KdRefreshDebuggerNotPresent(), !attached);
    EXPECT_EQ(!!KD_DEBUGGER_NOT_PRESENT, !attached);
    EXPECT_EQ(!!KD_DEBUGGER_ENABLED, attached);
}

// S-KAPI-9: mapped and readable memory is valid, touched or not; a no-access page, an
// unmapped one and NULL are not, and asking does not fault.
TEST_F(KernelApi, S_KAPI_9_MmIsAddressValidTellsMappedFromUnmapped) {
    int on_stack = 1;
    EXPECT_TRUE(MmIsAddressValid(&on_stack));
    PVOID pool = ExAllocatePool2(POOL_FLAG_NON_PAGED, 64, 'tpaK');
    ASSERT_NE(pool, nullptr);
    EXPECT_TRUE(MmIsAddressValid(pool));
    ExFreePoolWithTag(pool, 'tpaK');

    long page = sysconf(_SC_PAGESIZE);
    auto* pages = static_cast<char*>(mmap(nullptr, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(pages, MAP_FAILED);
    ASSERT_EQ(mprotect(pages + page, page, PROT_NONE), 0);
    ASSERT_EQ(munmap(pages + 2 * page, page), 0);
    EXPECT_TRUE(MmIsAddressValid(pages + 5)) << "mapped, never touched";
    EXPECT_FALSE(MmIsAddressValid(pages + page + 5)) << "no access";
    EXPECT_FALSE(MmIsAddressValid(pages + 2 * page)) << "unmapped";
    EXPECT_FALSE(MmIsAddressValid(nullptr));
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    EXPECT_TRUE(MmIsAddressValid(pages));  // any IRQL
    KeLowerIrql(old);
    munmap(pages, 2 * page);
}

}  // namespace
