// The out-of-line half of ke/user_access.hpp: long copies, probes over several pages,
// and the lookup of a faulting instruction in the table of user-access blocks.
#include "ke/user_access.hpp"

// Made by the linker around the section the blocks' entries go to.
extern "C" const ntio::ke::UserAccessBlock __start_ntio_user_access[] __attribute__((visibility("hidden")));
extern "C" const ntio::ke::UserAccessBlock __stop_ntio_user_access[] __attribute__((visibility("hidden")));

namespace ntio::ke {

// A linear search: there are a few dozen blocks, and it runs only for a fault.
const UserAccessBlock* find_user_access(uintptr_t pc) {
    for (const UserAccessBlock* b = __start_ntio_user_access; b != __stop_ntio_user_access; ++b)
        if (pc >= address_of(b->start) && pc < address_of(b->end)) return b;
    return nullptr;
}

namespace {
thread_local NTSTATUS t_fault = STATUS_SUCCESS;

// The handlers go in when libntio is loaded: the Win32 and Nt services probe a caller's
// buffers before anything else, so before any runtime may exist.
[[gnu::constructor]] void install_at_load() {
    install_fault_handlers();
}
}

NTSTATUS user_access_fault() {
    return t_fault;
}
void set_user_access_fault(NTSTATUS status) {
    t_fault = status;
}

namespace detail {
// rep movsb moves its registers as it goes, so this block copies them first: a fault
// leaves `dst`, `src` and `n` as they were.
NTSTATUS copy_long(void* dst, const void* src, size_t n) {
    void* d = dst;
    const void* s = src;
    size_t count = n;
    asm volatile goto(
        "0:\n\t"
        "rep movsb\n"
        "1:\n\t" NTIO_USER_ACCESS_BLOCK("0b", "1b", "%l[fault]")
        : "+D"(d), "+S"(s), "+c"(count), "+m"(*static_cast<char(*)[]>(dst))
        : "m"(*static_cast<const char(*)[]>(src))
        :
        : fault);
    return STATUS_SUCCESS;
fault:
    return user_access_fault();
}
}  // namespace detail

NTSTATUS probe_pages_slow(void* buffer, size_t n, bool write) {
    constexpr uintptr_t kPage = 4096;  // x86-64's; only which bytes are touched depends on it
    auto p = reinterpret_cast<uintptr_t>(buffer);
    const uintptr_t last = p + n - 1;
    if (last < p) return STATUS_ACCESS_VIOLATION;  // wraps: no such buffer
    for (;;) {
        auto* byte = reinterpret_cast<void*>(p);
        if (NTSTATUS s = write ? touch_for_write(byte) : touch_for_read(byte)) return s;
        uintptr_t next = (p & ~(kPage - 1)) + kPage;
        if (next > last || next < p) return STATUS_SUCCESS;
        p = next;
    }
}

}  // namespace ntio::ke

// S-KAPI-9: an address is valid when reading it does not fault, which the read probe of
// one page finds out (a fault resumes at its failure path). Reading also brings in a page
// not yet touched, as Windows' answer is about the page being there now; what ntio cannot
// tell is a page Windows would have paged out, which Linux brings back without a fault
// the caller sees.
extern "C" BOOLEAN MmIsAddressValid(PVOID VirtualAddress) {
    return NT_SUCCESS(ntio::ke::touch_for_read(VirtualAddress)) ? TRUE : FALSE;
}
