// The I/O manager's own accesses to a caller's memory: copying a buffered request's
// data in and back out, and touching the pages of a buffer it probes. Windows makes
// them inside __try, so a bad pointer fails the call with STATUS_ACCESS_VIOLATION
// (ERROR_NOACCESS) instead of ending the process (S-BUF-11, S-CMP-14).
//
// A __try frame on every request would cost a setjmp. Each access here is instead one
// `asm goto` block listed in a table (the section `ntio_user_access`) with the label of
// its caller's failure path, the way the Linux kernel's user accesses work: when an
// instruction of a block faults, the fault handler (ke/exception.cpp) finds its block,
// records the fault's status for the thread and resumes at that label. Nothing runs for
// that unless a fault comes: a copy costs what the plain copy did, with no status to
// test on the way out. (`asm volatile goto`: GCC drops a plain asm goto whose outputs
// go unused, and a probe's load is there only to fault.)
//
// Resuming at the label from the middle of a block is sound because a block never
// writes its input registers or the stack: at the label the compiler assumes only
// what it assumes after any jump from the asm (its outputs and clobbers are dead).
//
// The blocks are asm, which no sanitizer sees into, so sanitizer builds tell them about
// each range first: a caller's buffer too short for its length is still reported.
#pragma once
#include <cstddef>
#include <cstdint>

#include "wdm.h"

#if defined(__SANITIZE_ADDRESS__)
extern "C" void __asan_loadN(void* address, size_t size);
extern "C" void __asan_storeN(void* address, size_t size);
#endif
#if defined(__SANITIZE_THREAD__)
extern "C" void __tsan_read_range(void* address, unsigned long size);
extern "C" void __tsan_write_range(void* address, unsigned long size);
#endif

namespace ntio::ke {

// One block: [start, end) may fault, and a fault resumes at `resume`. Each field holds
// its address relative to the field itself, so the table needs no relocation.
struct UserAccessBlock {
    int32_t start, end, resume;
};

// The block whose instructions hold `pc`, or null (ke/user_access.cpp).
const UserAccessBlock* find_user_access(uintptr_t pc);
inline uintptr_t address_of(const int32_t& field) {
    return reinterpret_cast<uintptr_t>(&field) + static_cast<intptr_t>(field);
}

// The status of the calling thread's last fault in a block: STATUS_ACCESS_VIOLATION, or
// for SIGBUS STATUS_DATATYPE_MISALIGNMENT or STATUS_IN_PAGE_ERROR (a mapped file cut
// short). Written by the fault handler, read on the failure path.
NTSTATUS user_access_fault();
void set_user_access_fault(NTSTATUS status);

// Installs the fault handlers user accesses need (once per process; ke/exception.cpp).
void install_fault_handlers();

// The table entry for a block from asm label `start` to asm label `end`, resuming at the
// asm goto's label operand `resume`.
#define NTIO_USER_ACCESS_BLOCK(start, end, resume)                          \
    ".pushsection ntio_user_access, \"a\"\n\t"                              \
    ".balign 4\n\t"                                                         \
    ".long " start " - ., " end " - ., " resume " - .\n\t"                  \
    ".popsection\n\t"

namespace detail {
typedef long long Vector16 __attribute__((vector_size(16)));

[[gnu::always_inline]] inline void sanitizer_read(const void* p, size_t n) {
#if defined(__SANITIZE_ADDRESS__)
    __asan_loadN(const_cast<void*>(p), n);
#endif
#if defined(__SANITIZE_THREAD__)
    __tsan_read_range(const_cast<void*>(p), n);
#endif
    (void)p, (void)n;
}
[[gnu::always_inline]] inline void sanitizer_write(void* p, size_t n) {
#if defined(__SANITIZE_ADDRESS__)
    __asan_storeN(p, n);
#endif
#if defined(__SANITIZE_THREAD__)
    __tsan_write_range(p, n);
#endif
    (void)p, (void)n;
}

// Up to 64 bytes in one block, without a call: two overlapping loads and stores of the
// widest size that fits (for 32 to 64 bytes, two 16-byte halves at each end). The
// buffers do not overlap (one is always the I/O manager's). The memory operands tell the
// compiler what the block reads and writes, so it keeps everything else in registers.
[[gnu::always_inline]] inline NTSTATUS copy_at_most_64(void* dst, const void* src, size_t n) {
    Vector16 v0, v1, v2, v3;
    uint32_t t;
    asm volatile goto(
        "0:\n\t"
        "cmpq $32, %[n]\n\t"
        "jb 1f\n\t"
        "movdqu (%[s]), %[v0]\n\t"
        "movdqu 16(%[s]), %[v1]\n\t"
        "movdqu -32(%[s],%[n]), %[v2]\n\t"
        "movdqu -16(%[s],%[n]), %[v3]\n\t"
        "movdqu %[v0], (%[d])\n\t"
        "movdqu %[v1], 16(%[d])\n\t"
        "movdqu %[v2], -32(%[d],%[n])\n\t"
        "movdqu %[v3], -16(%[d],%[n])\n\t"
        "jmp 5f\n"
        "1:\n\t"
        "cmpq $16, %[n]\n\t"
        "jb 2f\n\t"
        "movdqu (%[s]), %[v0]\n\t"
        "movdqu -16(%[s],%[n]), %[v1]\n\t"
        "movdqu %[v0], (%[d])\n\t"
        "movdqu %[v1], -16(%[d],%[n])\n\t"
        "jmp 5f\n"
        "2:\n\t"
        "cmpq $8, %[n]\n\t"
        "jb 3f\n\t"
        "movq (%[s]), %[v0]\n\t"
        "movq -8(%[s],%[n]), %[v1]\n\t"
        "movq %[v0], (%[d])\n\t"
        "movq %[v1], -8(%[d],%[n])\n\t"
        "jmp 5f\n"
        "3:\n\t"
        "cmpq $4, %[n]\n\t"
        "jb 4f\n\t"
        "movd (%[s]), %[v0]\n\t"
        "movd -4(%[s],%[n]), %[v1]\n\t"
        "movd %[v0], (%[d])\n\t"
        "movd %[v1], -4(%[d],%[n])\n\t"
        "jmp 5f\n"
        "4:\n\t"  // 0 to 3 bytes: for 2 or 3 the first two, then the last one
        "testq %[n], %[n]\n\t"
        "jz 5f\n\t"
        "cmpq $1, %[n]\n\t"
        "je 6f\n\t"
        "movzwl (%[s]), %k[t]\n\t"
        "movw %w[t], (%[d])\n"
        "6:\n\t"
        "movzbl -1(%[s],%[n]), %k[t]\n\t"
        "movb %b[t], -1(%[d],%[n])\n"
        "5:\n\t" NTIO_USER_ACCESS_BLOCK("0b", "5b", "%l[fault]")
        : [v0] "=&x"(v0), [v1] "=&x"(v1), [v2] "=&x"(v2), [v3] "=&x"(v3), [t] "=&r"(t),
          "+m"(*static_cast<char(*)[]>(dst))
        : [d] "r"(dst), [s] "r"(src), [n] "r"(n), "m"(*static_cast<const char(*)[]>(src))
        : "cc"
        : fault);
    return STATUS_SUCCESS;
fault:
    return user_access_fault();
}

// Longer copies (rep movsb; ke/user_access.cpp).
NTSTATUS copy_long(void* dst, const void* src, size_t n);
}  // namespace detail

// Copies n bytes between a caller's buffer and the I/O manager's: STATUS_SUCCESS, or
// the status of the fault that stopped it, with the bytes before the fault copied.
[[gnu::always_inline]] inline NTSTATUS copy_user(void* dst, const void* src, size_t n) {
    detail::sanitizer_read(src, n);
    detail::sanitizer_write(dst, n);
    if (n > 64) [[unlikely]]
        return detail::copy_long(dst, src, n);
    return detail::copy_at_most_64(dst, src, n);
}

// The same for a length the caller knows is at most 64.
[[gnu::always_inline]] inline NTSTATUS copy_user_at_most_64(void* dst, const void* src, size_t n) {
    detail::sanitizer_read(src, n);
    detail::sanitizer_write(dst, n);
    return detail::copy_at_most_64(dst, src, n);
}

// Reads one byte at p: the read probe of one page.
[[gnu::always_inline]] inline NTSTATUS touch_for_read(const void* p) {
    uint32_t byte;
    asm volatile goto(
        "0:\n\t"
        "movzbl (%[p]), %k[b]\n"
        "1:\n\t" NTIO_USER_ACCESS_BLOCK("0b", "1b", "%l[fault]")
        : [b] "=r"(byte)
        : [p] "r"(p), "m"(*static_cast<const char*>(p))
        :
        : fault);
    return STATUS_SUCCESS;
fault:
    return user_access_fault();
}

// Reads one byte at p and writes it back, as Windows's ProbeForWrite does: the write
// probe of one page.
[[gnu::always_inline]] inline NTSTATUS touch_for_write(void* p) {
    uint32_t byte;
    asm volatile goto(
        "0:\n\t"
        "movzbl (%[p]), %k[b]\n\t"
        "movb %b[b], (%[p])\n"
        "1:\n\t" NTIO_USER_ACCESS_BLOCK("0b", "1b", "%l[fault]")
        : [b] "=&r"(byte), "+m"(*static_cast<char*>(p))
        : [p] "r"(p)
        :
        : fault);
    return STATUS_SUCCESS;
fault:
    return user_access_fault();
}

// Touches the first byte of `buffer` and of each later page it spans (n > 0): the probe
// MmProbeAndLockPages and ProbeForWrite make. The common buffer, within one page, takes
// one touch.
NTSTATUS probe_pages_slow(void* buffer, size_t n, bool write);
[[gnu::always_inline]] inline NTSTATUS probe_pages(void* buffer, size_t n, bool write) {
    auto first = reinterpret_cast<uintptr_t>(buffer);
    if (((first ^ (first + n - 1)) >> 12) != 0) [[unlikely]]
        return probe_pages_slow(buffer, n, write);
    return write ? touch_for_write(buffer) : touch_for_read(buffer);
}

}  // namespace ntio::ke
