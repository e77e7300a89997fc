// Processors: their counts and numbers (beside KeQueryActiveProcessorCount in ke/wait.cpp),
// their features (ExIsProcessorFeaturePresent, IsProcessorFeaturePresent) from cpuid, and
// ExUuidCreate. One processor group, as on a machine with at most 64 processors, which is
// what GetSystemInfo's 64-bit mask also tells (S-DRT-1, S-KAPI-2, S-KAPI-5, S-KAPI-6).
#include <cpuid.h>
#include <sys/auxv.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "verifier/report.hpp"
#include "wdm.h"
#include "windows.h"

namespace {

#ifndef HWCAP2_FSGSBASE
#define HWCAP2_FSGSBASE (1 << 1)
#endif

struct Cpuid {
    unsigned a = 0, b = 0, c = 0, d = 0;
};

Cpuid cpuid(unsigned leaf, unsigned subleaf = 0) {
    Cpuid r;
    if (!__get_cpuid_count(leaf, subleaf, &r.a, &r.b, &r.c, &r.d)) return Cpuid{};
    return r;
}

bool bit(unsigned value, int n) { return (value >> n) & 1; }

// The state components the OS saves (XCR0), when it enabled XSAVE: AVX registers are
// usable only if it saves them.
uint64_t enabled_xstate(const Cpuid& leaf1) {
    if (!bit(leaf1.c, 27)) return 0;  // OSXSAVE
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (uint64_t{hi} << 32) | lo;
}

// Whether MXCSR's denormals-are-zero bit can be set: FXSAVE's MXCSR_MASK has bit 6 then
// (a mask of 0 means the default mask, without it), the test Intel documents.
bool daz_available(const Cpuid& leaf1) {
    if (!bit(leaf1.d, 24)) return false;  // FXSR
    alignas(16) unsigned char area[512];
    std::memset(area, 0, sizeof area);
    __asm__ volatile("fxsave %0" : "=m"(area));
    uint32_t mask;
    std::memcpy(&mask, area + 28, sizeof mask);
    return bit(mask, 6);
}

bool feature_present(ULONG feature) {
    Cpuid leaf1 = cpuid(1), leaf7 = cpuid(0, 0).a >= 7 ? cpuid(7, 0) : Cpuid{};
    Cpuid ext = cpuid(0x80000000).a >= 0x80000001 ? cpuid(0x80000001) : Cpuid{};
    uint64_t xstate = enabled_xstate(leaf1);
    bool avx_state = (xstate & 0x6) == 0x6;         // SSE and AVX registers saved
    bool avx512_state = avx_state && (xstate & 0xE0) == 0xE0;  // opmask, ZMM halves, upper ZMMs
    switch (feature) {
    case PF_COMPARE_EXCHANGE_DOUBLE: return bit(leaf1.d, 8);   // CMPXCHG8B
    case PF_MMX_INSTRUCTIONS_AVAILABLE: return bit(leaf1.d, 23);
    case PF_XMMI_INSTRUCTIONS_AVAILABLE: return bit(leaf1.d, 25);  // SSE
    case PF_3DNOW_INSTRUCTIONS_AVAILABLE: return bit(ext.d, 31);
    case PF_RDTSC_INSTRUCTION_AVAILABLE: return bit(leaf1.d, 4);
    case PF_PAE_ENABLED: return bit(leaf1.d, 6);  // long mode runs with PAE paging
    case PF_XMMI64_INSTRUCTIONS_AVAILABLE: return bit(leaf1.d, 26);  // SSE2
    case PF_SSE_DAZ_MODE_AVAILABLE: return daz_available(leaf1);
    case PF_NX_ENABLED: return bit(ext.d, 20);  // Linux turns NX on wherever the processor has it
    case PF_SSE3_INSTRUCTIONS_AVAILABLE: return bit(leaf1.c, 0);
    case PF_COMPARE_EXCHANGE128: return bit(leaf1.c, 13);  // CMPXCHG16B
    case PF_XSAVE_ENABLED: return bit(leaf1.c, 27);  // OSXSAVE: the OS enabled it
    case PF_RDWRFSGSBASE_AVAILABLE: return bit(leaf7.b, 0) && (getauxval(AT_HWCAP2) & HWCAP2_FSGSBASE);
    case PF_RDRAND_INSTRUCTION_AVAILABLE: return bit(leaf1.c, 30);
    case PF_RDTSCP_INSTRUCTION_AVAILABLE: return bit(ext.d, 27);
    case PF_RDPID_INSTRUCTION_AVAILABLE: return bit(leaf7.c, 22);
    case PF_MONITORX_INSTRUCTION_AVAILABLE: return bit(ext.c, 29);
    case PF_SSSE3_INSTRUCTIONS_AVAILABLE: return bit(leaf1.c, 9);
    case PF_SSE4_1_INSTRUCTIONS_AVAILABLE: return bit(leaf1.c, 19);
    case PF_SSE4_2_INSTRUCTIONS_AVAILABLE: return bit(leaf1.c, 20);
    case PF_AVX_INSTRUCTIONS_AVAILABLE: return bit(leaf1.c, 28) && avx_state;
    case PF_AVX2_INSTRUCTIONS_AVAILABLE: return bit(leaf7.b, 5) && avx_state;
    case PF_AVX512F_INSTRUCTIONS_AVAILABLE: return bit(leaf7.b, 16) && avx512_state;
    case PF_ERMS_AVAILABLE: return bit(leaf7.b, 9);
    // The rest are FALSE: errata and emulation of old processors, other architectures
    // (PowerPC, Alpha, Itanium's PF_COMPARE64_EXCHANGE128, ARM), and what the OS would
    // have to offer that ntio does not: virtualization (second-level translation, the
    // firmware's), I/O channels, __fastfail. So is a number Windows does not define.
    default: return false;
    }
}

}  // namespace

extern "C" {

ULONG KeQueryMaximumProcessorCount(VOID) {
    long configured = sysconf(_SC_NPROCESSORS_CONF);
    ULONG active = KeQueryActiveProcessorCount(nullptr);
    if (configured > 64) configured = 64;  // one group
    return configured > static_cast<long>(active) ? static_cast<ULONG>(configured) : active;
}

ULONG KeQueryMaximumProcessorCountEx(USHORT GroupNumber) {
    return GroupNumber == 0 || GroupNumber == ALL_PROCESSOR_GROUPS ? KeQueryMaximumProcessorCount() : 0;
}

// S-POOL-2: the pool's cache line, so that data a driver aligns to this value and data in
// a cache-aligned pool block agree.
ULONG KeGetRecommendedSharedDataAlignment(VOID) { return SYSTEM_CACHE_ALIGNMENT_SIZE; }

USHORT KeQueryActiveGroupCount(VOID) { return 1; }
USHORT KeQueryMaximumGroupCount(VOID) { return 1; }

KAFFINITY KeQueryActiveProcessors(VOID) {
    KAFFINITY mask = 0;
    KeQueryActiveProcessorCount(&mask);
    return mask;
}

ULONG KeGetCurrentProcessorNumberEx(PPROCESSOR_NUMBER ProcNumber) {
    ULONG n = KeGetCurrentProcessorNumber();
    if (ProcNumber) {
        ProcNumber->Group = 0;
        ProcNumber->Number = static_cast<UCHAR>(n);
        ProcNumber->Reserved = 0;
    }
    return n;
}

BOOLEAN ExIsProcessorFeaturePresent(ULONG ProcessorFeature) { return feature_present(ProcessorFeature) ? TRUE : FALSE; }

BOOL IsProcessorFeaturePresent(DWORD ProcessorFeature) { return feature_present(ProcessorFeature) ? TRUE : FALSE; }

// S-KAPI-5: 122 random bits from the kernel's generator, with the version (4) and the RFC
// 4122 variant (binary 10) in their places. Data3 and Data4 hold bytes 6 to 15 of the
// UUID's text form, so those bits are Data3's top nibble and Data4[0]'s top two bits.
NTSTATUS ExUuidCreate(UUID* Uuid) {
    ntio::verifier::check_irql_at_most(PASSIVE_LEVEL, "ExUuidCreate");
    unsigned char bytes[sizeof(UUID)];
    size_t got = 0;
    while (got < sizeof bytes) {
        ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
        if (n > 0) got += static_cast<size_t>(n);
        else if (n < 0 && errno != EINTR) return STATUS_UNSUCCESSFUL;
    }
    std::memcpy(Uuid, bytes, sizeof bytes);
    Uuid->Data3 = static_cast<USHORT>((Uuid->Data3 & 0x0FFF) | 0x4000);
    Uuid->Data4[0] = static_cast<UCHAR>((Uuid->Data4[0] & 0x3F) | 0x80);
    return STATUS_SUCCESS;
}

}  // extern "C"
