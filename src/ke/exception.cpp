// Structured exceptions (<excpt.h>; rules S-SEH-1..11 in docs/design.md): the frames
// that __try links into a per-thread list, the signal handler that turns a hardware
// fault inside a __try into an exception, the dispatch to the innermost frame, the
// raise routines of the kernel and Win32 sides, and ProbeForRead/ProbeForWrite.
//
// A frame is a jmp_buf in the __try's own stack frame. Dispatching an exception
// unlinks the innermost frame and longjmps into it; its filter, handler or __finally
// then runs in the function that wrote them, and EXCEPTION_CONTINUE_SEARCH (or the
// end of a __finally) dispatches again to the next frame out. The unwind therefore
// comes before each filter instead of after all of them (Windows's two phases), a
// difference docs/compat.md states.
#include <atomic>
#include <csetjmp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <ucontext.h>
#include <unistd.h>

#include "ke/exception.hpp"
#include "ke/user_access.hpp"
#include "wdm.h"
#include "windows.h"

extern "C" {
ULONG_PTR MmUserProbeAddress = 0x00007FFFFFFF0000ULL;
}

namespace {

enum FrameKind { kExceptFrame = 1, kFinallyFrame = 2 };
enum FrameState { kRunning = 0, kDone = 1 };

// An exception a frame's filter or handler is looking at. GetExceptionCode() and
// GetExceptionInformation() answer from the innermost one still live, so an exception
// caught by a __try inside a filter or handler (in a function it calls) does not hide
// the frame's own. `owner` is the frame's address in its function's stack frame: an
// entry whose owner lies below the caller's stack is of a function that has returned.
struct ActiveException {
    uintptr_t owner;
    EXCEPTION_RECORD record;
    CONTEXT context;
    EXCEPTION_POINTERS pointers;
};
constexpr int kActiveDepth = 8;

struct SehThread {
    NTIO_SEH_FRAME* innermost = nullptr;
    bool unwind_pending = false;  // an exception reached a __finally; its block takes it
    ActiveException active[kActiveDepth]{};
    int active_count = 0;
    EXCEPTION_RECORD record{};    // the exception being dispatched, or the last one handled
    EXCEPTION_RECORD nested{};    // the one STATUS_NONCONTINUABLE_EXCEPTION points at
    CONTEXT context{};
    EXCEPTION_POINTERS pointers{};
};
thread_local SehThread t_seh;

constexpr int kFaultSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP};
struct sigaction g_previous[sizeof kFaultSignals / sizeof kFaultSignals[0]];
std::atomic<bool> g_installed{false};
std::mutex g_install_lock;

// The code ranges of the loaded driver modules: kernel code. Written by the loader
// (under a lock, before the module's code runs), read lock-free by the dispatcher.
struct CodeRange {
    uintptr_t start, end;
};
constexpr int kMaxKernelModules = 64;
CodeRange g_kernel_code[kMaxKernelModules];
std::atomic<int> g_kernel_modules{0};
std::mutex g_kernel_modules_lock;

bool in_kernel_code(uintptr_t address) {
    int n = g_kernel_modules.load(std::memory_order_acquire);
    for (int i = 0; i < n; ++i)
        if (address >= g_kernel_code[i].start && address < g_kernel_code[i].end) return true;
    return false;
}

// Whether an exception that started at `origin` may reach `frame`. One that started in
// a driver module (kernel code) goes only to frames in driver modules: the first frame
// of application code on its way out ends its search, as the user/kernel boundary
// does on Windows. Code that is neither (libntio, libc, a program with its driver
// linked in) is not told apart.
bool may_take(const NTIO_SEH_FRAME* frame, uintptr_t origin) {
    return !in_kernel_code(origin) || in_kernel_code(reinterpret_cast<uintptr_t>(frame->Code));
}

[[noreturn]] void fatal(const char* what, NTIO_SEH_FRAME* frame) {
    std::fprintf(stderr, "ntio: %s (the __try ending at %s:%d)\n", what, frame->File, frame->Line);
    std::fflush(stderr);
    std::abort();
}

[[noreturn]] void unhandled(const EXCEPTION_RECORD& r) {
    std::fprintf(stderr,
                 "ntio: unhandled exception 0x%08X at %p (parameters 0x%lX, 0x%lX): no __except took it; "
                 "Windows stops a driver's system here (KMODE_EXCEPTION_NOT_HANDLED) and ends an app's process\n",
                 static_cast<unsigned>(r.ExceptionCode), r.ExceptionAddress,
                 static_cast<unsigned long>(r.NumberParameters > 0 ? r.ExceptionInformation[0] : 0),
                 static_cast<unsigned long>(r.NumberParameters > 1 ? r.ExceptionInformation[1] : 0));
    std::fflush(stderr);
    std::abort();
}

// Hand the thread's current exception to its innermost frame. The frame leaves the
// list first: an exception in its filter, handler or __finally goes further out.
[[noreturn]] void dispatch(SehThread& t) {
    NTIO_SEH_FRAME* frame = t.innermost;
    if (!frame || !may_take(frame, reinterpret_cast<uintptr_t>(t.record.ExceptionAddress))) unhandled(t.record);
    t.innermost = frame->Outer;
    frame->State = kDone;
    // The exception becomes the frame's active one, in place of the entries of frames
    // the jump unwinds (below it) and of an earlier exception of the same frame.
    auto owner = reinterpret_cast<uintptr_t>(frame);
    while (t.active_count && t.active[t.active_count - 1].owner <= owner) --t.active_count;
    if (t.active_count == kActiveDepth) --t.active_count;  // deeper than any real code: drop the innermost
    ActiveException& a = t.active[t.active_count++];
    a.owner = owner;
    a.record = t.record;
    a.context = t.context;
    std::longjmp(frame->Jump, 1);
}

// The frame's own active exception, after dropping entries of functions that have
// returned since (a __try inside its filter); nullptr if it was dropped for depth.
ActiveException* own_exception(SehThread& t, NTIO_SEH_FRAME* frame) {
    auto owner = reinterpret_cast<uintptr_t>(frame);
    while (t.active_count && t.active[t.active_count - 1].owner < owner) --t.active_count;
    if (t.active_count && t.active[t.active_count - 1].owner == owner) return &t.active[t.active_count - 1];
    return nullptr;
}

// The innermost active exception still live for a caller whose stack starts at `cfa`.
ActiveException* live_exception(SehThread& t, uintptr_t cfa) {
    while (t.active_count && t.active[t.active_count - 1].owner < cfa) --t.active_count;
    return t.active_count ? &t.active[t.active_count - 1] : nullptr;
}

[[noreturn]] void raise_record(const EXCEPTION_RECORD& record, void* caller, void* caller_stack) {
    SehThread& t = t_seh;
    t.record = record;
    if (!t.record.ExceptionAddress) t.record.ExceptionAddress = caller;
    t.context = CONTEXT{};
    t.context.Rip = reinterpret_cast<ULONG64>(caller);
    t.context.Rsp = reinterpret_cast<ULONG64>(caller_stack);
    dispatch(t);
}

[[noreturn]] void raise_status(NTSTATUS status, void* caller, void* caller_stack) {
    EXCEPTION_RECORD r{};
    r.ExceptionCode = status;
    r.ExceptionFlags = EXCEPTION_NONCONTINUABLE;
    raise_record(r, caller, caller_stack);
}

// The access violation a failed probe gives on Windows: a write at the probe address.
[[noreturn]] void raise_probe_violation(void* caller, void* caller_stack) {
    EXCEPTION_RECORD r{};
    r.ExceptionCode = STATUS_ACCESS_VIOLATION;
    r.NumberParameters = 2;
    r.ExceptionInformation[0] = 1;
    r.ExceptionInformation[1] = MmUserProbeAddress;
    raise_record(r, caller, caller_stack);
}

// What the signal handler does when the thread has no frame, or the signal was sent
// rather than caused: whatever was there before ntio. The default action is restored,
// so the faulting instruction faults again on return and ends the process as it would
// have without ntio (a core dump, or a sanitizer's report through its handler).
void chain(int sig, siginfo_t* info, void* context) {
    for (size_t i = 0; i < std::size(kFaultSignals); ++i) {
        if (kFaultSignals[i] != sig) continue;
        const struct sigaction& prev = g_previous[i];
        if ((prev.sa_flags & SA_SIGINFO) && prev.sa_sigaction) {
            prev.sa_sigaction(sig, info, context);
            return;
        }
        if (!(prev.sa_flags & SA_SIGINFO) && prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN) {
            prev.sa_handler(sig);
            return;
        }
    }
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, nullptr);
    if (info->si_code <= 0) raise(sig);
}

void record_fault(int sig, const siginfo_t* info, const ucontext_t* uc, EXCEPTION_RECORD& r, CONTEXT& c) {
    const greg_t* g = uc->uc_mcontext.gregs;
    r = EXCEPTION_RECORD{};
    r.ExceptionAddress = reinterpret_cast<PVOID>(g[REG_RIP]);
    auto fault_address = reinterpret_cast<ULONG_PTR>(info->si_addr);
    switch (sig) {
    case SIGSEGV: {
        // The page-fault error code: bit 1 a write, bit 4 an instruction fetch. A
        // general-protection fault (a non-canonical address) has no address, and
        // Windows reports all ones for it.
        greg_t err = g[REG_ERR];
        r.ExceptionCode = STATUS_ACCESS_VIOLATION;
        r.NumberParameters = 2;
        r.ExceptionInformation[0] = (err & 0x10) ? 8 : (err & 0x2) ? 1 : 0;
        r.ExceptionInformation[1] = info->si_code == SI_KERNEL ? ~ULONG_PTR(0) : fault_address;
        break;
    }
    case SIGBUS:
        r.ExceptionCode = info->si_code == BUS_ADRALN ? STATUS_DATATYPE_MISALIGNMENT : EXCEPTION_IN_PAGE_ERROR;
        r.NumberParameters = 2;
        r.ExceptionInformation[1] = fault_address;
        break;
    case SIGFPE:
        switch (info->si_code) {
        case FPE_INTDIV: r.ExceptionCode = EXCEPTION_INT_DIVIDE_BY_ZERO; break;
        case FPE_INTOVF: r.ExceptionCode = EXCEPTION_INT_OVERFLOW; break;
        case FPE_FLTDIV: r.ExceptionCode = EXCEPTION_FLT_DIVIDE_BY_ZERO; break;
        case FPE_FLTOVF: r.ExceptionCode = EXCEPTION_FLT_OVERFLOW; break;
        case FPE_FLTUND: r.ExceptionCode = EXCEPTION_FLT_UNDERFLOW; break;
        case FPE_FLTRES: r.ExceptionCode = EXCEPTION_FLT_INEXACT_RESULT; break;
        case FPE_FLTSUB: r.ExceptionCode = EXCEPTION_ARRAY_BOUNDS_EXCEEDED; break;
        default: r.ExceptionCode = EXCEPTION_FLT_INVALID_OPERATION; break;
        }
        break;
    case SIGTRAP:
        // int3 stops after itself; Windows reports the breakpoint's own address.
        r.ExceptionCode = STATUS_BREAKPOINT;
        if (info->si_code == SI_KERNEL || info->si_code == TRAP_BRKPT)
            r.ExceptionAddress = reinterpret_cast<PVOID>(g[REG_RIP] - 1);
        break;
    default:  // SIGILL
        r.ExceptionCode = info->si_code == ILL_PRVOPC ? EXCEPTION_PRIV_INSTRUCTION : EXCEPTION_ILLEGAL_INSTRUCTION;
        break;
    }
    c = CONTEXT{};
    c.EFlags = static_cast<ULONG>(g[REG_EFL]);
    c.Rax = g[REG_RAX], c.Rcx = g[REG_RCX], c.Rdx = g[REG_RDX], c.Rbx = g[REG_RBX];
    c.Rsp = g[REG_RSP], c.Rbp = g[REG_RBP], c.Rsi = g[REG_RSI], c.Rdi = g[REG_RDI];
    c.R8 = g[REG_R8], c.R9 = g[REG_R9], c.R10 = g[REG_R10], c.R11 = g[REG_R11];
    c.R12 = g[REG_R12], c.R13 = g[REG_R13], c.R14 = g[REG_R14], c.R15 = g[REG_R15];
    c.Rip = g[REG_RIP];
}

// A fault inside one of the I/O manager's accesses to a caller's memory
// (ke/user_access.hpp): the thread records the status and resumes at the block's
// failure path, as Windows's I/O manager takes the same fault with its __try.
bool resume_user_access(int sig, const siginfo_t* info, ucontext_t* uc) {
    if ((sig != SIGSEGV && sig != SIGBUS) || info->si_code <= 0) return false;
    greg_t* g = uc->uc_mcontext.gregs;
    const ntio::ke::UserAccessBlock* block = ntio::ke::find_user_access(static_cast<uintptr_t>(g[REG_RIP]));
    if (!block) return false;
    NTSTATUS status = sig == SIGSEGV                 ? STATUS_ACCESS_VIOLATION
                      : info->si_code == BUS_ADRALN ? STATUS_DATATYPE_MISALIGNMENT
                                                    : STATUS_IN_PAGE_ERROR;
    ntio::ke::set_user_access_fault(status);
    g[REG_RIP] = static_cast<greg_t>(ntio::ke::address_of(block->resume));
    return true;
}

void on_fault(int sig, siginfo_t* info, void* context) {
    SehThread& t = t_seh;
    auto* uc = static_cast<ucontext_t*>(context);
    if (resume_user_access(sig, info, uc)) return;
    // No frame, a sent signal, or a driver's fault with only the application's frames
    // to take it: not an exception of ntio's; the process crashes as it would without.
    if (!t.innermost || info->si_code <= 0 || !may_take(t.innermost, uc->uc_mcontext.gregs[REG_RIP])) {
        chain(sig, info, context);
        return;
    }
    record_fault(sig, info, uc, t.record, t.context);
    // The longjmp leaves the handler without the kernel's sigreturn, which would have
    // put back the mask the thread had when the fault came (the signal itself is
    // blocked while its handler runs, and a sanitizer's wrapper may block them all).
    // Do what sigreturn would, or the next fault of a blocked kind kills the process.
    pthread_sigmask(SIG_SETMASK, &uc->uc_sigmask, nullptr);
    dispatch(t);
}

}  // namespace

// Installed when libntio is loaded (ke/user_access.cpp: the I/O manager's accesses to
// callers' buffers resume through them); a thread with no frame still gets the handler
// that was there before.
void ntio::ke::install_fault_handlers() {
    if (g_installed.load(std::memory_order_acquire)) return;
    std::lock_guard lock(g_install_lock);
    if (g_installed.load(std::memory_order_relaxed)) return;
    for (size_t i = 0; i < std::size(kFaultSignals); ++i) {
        struct sigaction sa {};
        sa.sa_sigaction = on_fault;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        sigaction(kFaultSignals[i], &sa, &g_previous[i]);
    }
    g_installed.store(true, std::memory_order_release);
}

extern "C" {

// ---- the machinery behind the keywords ------------------------------------------

void ntio_seh_enter(NTIO_SEH_FRAME* Frame, int Kind, const char* File, int Line) {
    ntio::ke::install_fault_handlers();
    SehThread& t = t_seh;
    Frame->Code = __builtin_return_address(0);  // in the function that holds the __try
    Frame->Kind = Kind;
    Frame->State = kRunning;
    Frame->File = File;
    Frame->Line = Line;
    Frame->Outer = t.innermost;
    t.innermost = Frame;
}

// The __try's body ended normally or by __leave (or its exception was dispatched).
void ntio_seh_done(NTIO_SEH_FRAME* Frame) {
    if (Frame->State != kRunning) return;
    t_seh.innermost = Frame->Outer;
    Frame->State = kDone;
}

// The block around the __try ends. Still running means control left the body by
// return, break, continue or goto: fine for __except, but a __finally cannot run.
void ntio_seh_frame_exit(NTIO_SEH_FRAME* Frame) {
    if (Frame->State != kRunning) return;
    if (Frame->Kind == kFinallyFrame)
        fatal("control left a __try by return, break, continue or goto, so its __finally cannot run "
              "(ntio runs it after __leave or the end of the __try only)",
              Frame);
    t_seh.innermost = Frame->Outer;
    Frame->State = kDone;
}

void ntio_seh_filter(NTIO_SEH_FRAME* Frame, long Disposition) {
    SehThread& t = t_seh;
    if (Disposition > 0) return;  // the __except jumps to its handler
    // Passed on or refused: the frame's own exception (the filter may have caught
    // others in between) leaves it and goes on to the frames outside.
    if (ActiveException* own = own_exception(t, Frame)) {
        t.record = own->record;
        t.context = own->context;
        --t.active_count;
    }
    if (Disposition == 0) dispatch(t);
    if (t.record.ExceptionFlags & EXCEPTION_NONCONTINUABLE) {
        t.nested = t.record;
        EXCEPTION_RECORD r{};
        r.ExceptionCode = STATUS_NONCONTINUABLE_EXCEPTION;
        r.ExceptionFlags = EXCEPTION_NONCONTINUABLE;
        r.ExceptionRecord = &t.nested;
        r.ExceptionAddress = t.nested.ExceptionAddress;
        t.record = r;
        dispatch(t);
    }
    fatal("an __except filter returned EXCEPTION_CONTINUE_EXECUTION, and ntio cannot resume the code "
          "that raised the exception",
          Frame);
}

// The __finally block keeps its own copy (ntio_seh_finally_begin), so the frame's
// active entry goes now.
void ntio_seh_finally_unwind(NTIO_SEH_FRAME* Frame) {
    SehThread& t = t_seh;
    if (own_exception(t, Frame)) --t.active_count;
    t.unwind_pending = true;
}

NTIO_SEH_FINALLY ntio_seh_finally_begin(void) {
    SehThread& t = t_seh;
    NTIO_SEH_FINALLY f;
    f.Pass = 1;
    f.Abnormal = t.unwind_pending;
    if (f.Abnormal) {
        t.unwind_pending = false;
        f.Record = t.record;
    }
    return f;
}

// The __finally block ended: an exception passing through goes on to the next frame.
void ntio_seh_finally_end(NTIO_SEH_FINALLY* Finally) {
    Finally->Pass = 0;
    if (!Finally->Abnormal) return;
    SehThread& t = t_seh;
    t.record = Finally->Record;
    dispatch(t);
}

int ntio_seh_frame_active(void) { return t_seh.innermost != nullptr; }

// Both answer for the filter or handler that calls them (or a function it calls): the
// caller's stack starts above this function's frame.
__attribute__((noinline)) NTSTATUS ntio_seh_exception_code(void) {
    SehThread& t = t_seh;
    auto cfa = reinterpret_cast<uintptr_t>(__builtin_frame_address(0)) + 16;
    if (ActiveException* a = live_exception(t, cfa)) return a->record.ExceptionCode;
    return t.record.ExceptionCode;
}

__attribute__((noinline)) PEXCEPTION_POINTERS ntio_seh_exception_pointers(void) {
    SehThread& t = t_seh;
    auto cfa = reinterpret_cast<uintptr_t>(__builtin_frame_address(0)) + 16;
    if (ActiveException* a = live_exception(t, cfa)) {
        a->pointers.ExceptionRecord = &a->record;
        a->pointers.ContextRecord = &a->context;
        return &a->pointers;
    }
    t.pointers.ExceptionRecord = &t.record;
    t.pointers.ContextRecord = &t.context;
    return &t.pointers;
}

// ---- raising ---------------------------------------------------------------------

VOID ExRaiseStatus(NTSTATUS Status) {
    raise_status(Status, __builtin_return_address(0), __builtin_frame_address(0));
}
VOID RtlRaiseStatus(NTSTATUS Status) {
    raise_status(Status, __builtin_return_address(0), __builtin_frame_address(0));
}
VOID ExRaiseAccessViolation(VOID) {
    raise_status(STATUS_ACCESS_VIOLATION, __builtin_return_address(0), __builtin_frame_address(0));
}
VOID ExRaiseDatatypeMisalignment(VOID) {
    raise_status(STATUS_DATATYPE_MISALIGNMENT, __builtin_return_address(0), __builtin_frame_address(0));
}

VOID RtlRaiseException(PEXCEPTION_RECORD ExceptionRecord) {
    if (!ExceptionRecord) {
        raise_probe_violation(__builtin_return_address(0), __builtin_frame_address(0));
    }
    EXCEPTION_RECORD r = *ExceptionRecord;
    if (r.NumberParameters > EXCEPTION_MAXIMUM_PARAMETERS) r.NumberParameters = EXCEPTION_MAXIMUM_PARAMETERS;
    raise_record(r, __builtin_return_address(0), __builtin_frame_address(0));
}

VOID RaiseException(DWORD dwExceptionCode, DWORD dwExceptionFlags, DWORD nNumberOfArguments,
                    const ULONG_PTR* lpArguments) {
    EXCEPTION_RECORD r{};
    // Bit 28 of a code is reserved for the system; RaiseException clears it.
    r.ExceptionCode = static_cast<NTSTATUS>(dwExceptionCode & ~0x10000000u);
    r.ExceptionFlags = dwExceptionFlags & EXCEPTION_NONCONTINUABLE;
    if (lpArguments) {
        r.NumberParameters = nNumberOfArguments > EXCEPTION_MAXIMUM_PARAMETERS ? EXCEPTION_MAXIMUM_PARAMETERS
                                                                                 : nNumberOfArguments;
        for (ULONG i = 0; i < r.NumberParameters; ++i) r.ExceptionInformation[i] = lpArguments[i];
    }
    raise_record(r, __builtin_return_address(0), __builtin_frame_address(0));
}

// ---- probing user buffers --------------------------------------------------------

VOID ProbeForRead(const volatile VOID* Address, SIZE_T Length, ULONG Alignment) {
    if (Length == 0) return;
    auto start = reinterpret_cast<ULONG_PTR>(Address);
    if (start & (Alignment - 1))
        raise_status(STATUS_DATATYPE_MISALIGNMENT, __builtin_return_address(0), __builtin_frame_address(0));
    ULONG_PTR end = start + Length;
    if (end < start || end > MmUserProbeAddress)
        raise_probe_violation(__builtin_return_address(0), __builtin_frame_address(0));
}

VOID ProbeForWrite(volatile VOID* Address, SIZE_T Length, ULONG Alignment) {
    if (Length == 0) return;
    auto start = reinterpret_cast<ULONG_PTR>(Address);
    if (start & (Alignment - 1))
        raise_status(STATUS_DATATYPE_MISALIGNMENT, __builtin_return_address(0), __builtin_frame_address(0));
    ULONG_PTR last = start + Length - 1;
    if (last < start || last >= MmUserProbeAddress)
        raise_probe_violation(__builtin_return_address(0), __builtin_frame_address(0));
    // Write each page's first byte (the range's first byte on its first page) back to
    // itself: a page that cannot be written faults here, inside the caller's __try.
    const ULONG_PTR page = static_cast<ULONG_PTR>(sysconf(_SC_PAGESIZE));
    for (ULONG_PTR p = start;;) {
        auto* byte = reinterpret_cast<volatile char*>(p);
        *byte = *byte;
        ULONG_PTR next = (p & ~(page - 1)) + page;
        if (next > last || next < p) break;
        p = next;
    }
}

}  // extern "C"

bool ntio::ke::frame_would_take(void* caller) {
    const NTIO_SEH_FRAME* frame = t_seh.innermost;
    return frame && may_take(frame, reinterpret_cast<uintptr_t>(caller));
}

void ntio::ke::raise_status_for(NTSTATUS status, void* caller, void* caller_stack) {
    raise_status(status, caller, caller_stack);
}

void ntio::ke::register_kernel_module(void* dl_handle) {
    link_map* map = nullptr;
    if (dlinfo(dl_handle, RTLD_DI_LINKMAP, &map) != 0 || !map) return;
    struct Search {
        uintptr_t base;
        CodeRange range;
    } search{map->l_addr, {0, 0}};
    dl_iterate_phdr(
        [](dl_phdr_info* info, size_t, void* data) {
            auto* s = static_cast<Search*>(data);
            if (info->dlpi_addr != s->base) return 0;
            for (int i = 0; i < info->dlpi_phnum; ++i) {
                const auto& ph = info->dlpi_phdr[i];
                if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
                uintptr_t start = info->dlpi_addr + ph.p_vaddr, end = start + ph.p_memsz;
                if (!s->range.end || start < s->range.start) s->range.start = start;
                if (end > s->range.end) s->range.end = end;
            }
            return s->range.end ? 1 : 0;
        },
        &search);
    if (!search.range.end) return;
    std::lock_guard lock(g_kernel_modules_lock);
    int n = g_kernel_modules.load(std::memory_order_relaxed);
    for (int i = 0; i < n; ++i)
        if (g_kernel_code[i].start == search.range.start) return;  // the same module again
    if (n == kMaxKernelModules) return;
    g_kernel_code[n] = search.range;
    g_kernel_modules.store(n + 1, std::memory_order_release);
}
