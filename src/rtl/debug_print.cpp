// DbgPrint / KdPrint / OutputDebugString, shown as DebugView shows them: a
// sequence number, seconds since the runtime started (on the runtime clock, so
// virtual time gives exact timestamps) and the text. One call is one record.
#include <cstdarg>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "rtl/debug_print.hpp"
#include "rtl/windows_format.hpp"
#include "system.hpp"
#include "trace/trace.hpp"
#include "windows.h"

using ntio::sys;

namespace ntio::rtl {

void debug_record(const char* text, size_t len) {
    ntio::System::Impl& s = sys();
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r')) --len;
    if (ntio::trace::enabled()) ntio::trace::debug_line(text, len);
    if (s.options.debug_quiet) return;
    double seconds = static_cast<double>(s.dispatcher.now() - s.dispatcher.interrupt_origin()) / 1e7;
    std::lock_guard g(s.debug_lock);
    std::fprintf(s.debug_out, "%08u\t%.6f\t%.*s\n", ++s.debug_seq, seconds, static_cast<int>(len), text);
    std::fflush(s.debug_out);
}

}  // namespace ntio::rtl

namespace {

using ntio::rtl::debug_record;

ULONG vprint(const char* format, va_list args) {
    if (!format) return static_cast<ULONG>(STATUS_INVALID_PARAMETER);
    // Wide arguments (%ws, %wZ, %C) in UTF-8, not '?' for every non-ASCII character.
    std::string text;
    {
        ntio::rtl::Utf8Scope utf8;
        text = ntio::rtl::format_windows(format, args);
    }
    // One call sends at most 512 bytes, as Windows's DbgPrint does (its page: "any single
    // call ... will only transmit 512 bytes"); cut at a character boundary of the UTF-8.
    constexpr size_t kMaxMessage = 512;
    if (text.size() > kMaxMessage) {
        size_t cut = kMaxMessage;
        while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
        text.resize(cut);
    }
    debug_record(text.data(), text.size());
    return STATUS_SUCCESS;
}

}  // namespace

namespace {
// Whether a tracer (gdb, lldb) is attached: /proc/self/status's TracerPid.
bool debugger_attached() {
    FILE* f = std::fopen("/proc/self/status", "r");
    if (!f) return false;
    char line[256];
    long tracer = 0;
    while (std::fgets(line, sizeof line, f))
        if (std::sscanf(line, "TracerPid: %ld", &tracer) == 1) break;
    std::fclose(f);
    return tracer != 0;
}
}  // namespace

extern "C" {

ULONG DbgPrint(PCSTR Format, ...) {
    va_list args;
    va_start(args, Format);
    ULONG r = vprint(Format, args);
    va_end(args);
    return r;
}

// Every component and level is shown: ntio is a test runtime, and hiding output by a
// debugger filter mask that users cannot see would only confuse.
ULONG vDbgPrintEx(ULONG ComponentId, ULONG Level, PCSTR Format, va_list arglist) {
    (void)ComponentId;
    (void)Level;
    return vprint(Format, arglist);
}

ULONG DbgPrintEx(ULONG ComponentId, ULONG Level, PCSTR Format, ...) {
    va_list args;
    va_start(args, Format);
    ULONG r = vDbgPrintEx(ComponentId, Level, Format, args);
    va_end(args);
    return r;
}

extern "C" VOID RtlRaiseException(PEXCEPTION_RECORD ExceptionRecord);  // <wdm.h>'s; this file sees <windows.h>

VOID DbgBreakPoint(VOID) {
    // Inside a __try the breakpoint is an exception the frame may take, as on Windows
    // with no debugger to take it first (STATUS_BREAKPOINT, S-SEH-1).
    if (ntio_seh_frame_active()) {
        EXCEPTION_RECORD r{};
        r.ExceptionCode = STATUS_BREAKPOINT;
        r.ExceptionAddress = __builtin_return_address(0);
        RtlRaiseException(&r);
    }
    if (debugger_attached()) {
        std::fprintf(stderr, "ntio: DbgBreakPoint() reached; stopping in the attached debugger\n");
        __asm__ volatile("int3");  // the debugger stops here, and may continue
        return;
    }
    // No debugger: Windows stops the machine (a breakpoint nobody handles). The trap of
    // int3 is reported after the instruction, so ntio's handler could not end the process
    // by letting it fault again; the default action of SIGTRAP ends it here, with a core.
    std::fprintf(stderr, "ntio: DbgBreakPoint() reached with no debugger attached; stopping with SIGTRAP\n");
    std::signal(SIGTRAP, SIG_DFL);
    std::raise(SIGTRAP);
    std::abort();  // SIGTRAP blocked or ignored: stop all the same
}

VOID OutputDebugStringA(LPCSTR lpOutputString) {
    if (lpOutputString) debug_record(lpOutputString, strlen(lpOutputString));
}

VOID OutputDebugStringW(LPCWSTR lpOutputString) {
    if (!lpOutputString) return;
    std::string narrow;
    for (const wchar_t* p = lpOutputString; *p; ++p) narrow += *p < 0x80 ? static_cast<char>(*p) : '?';
    debug_record(narrow.data(), narrow.size());
}

// S-KAPI-8: the kernel debugger of ntio's kernel is a debugger attached to the process
// (gdb, lldb): the one DbgBreakPoint stops in. Drivers read the flags through the WDK's
// pointers, so they are set when libntio loads and again by KdRefreshDebuggerNotPresent,
// as Windows refreshes its flag there; with none attached, NOT_PRESENT is TRUE and
// ENABLED FALSE.
static BOOLEAN g_kd_not_present = TRUE, g_kd_enabled = FALSE;
PBOOLEAN KdDebuggerNotPresent = &g_kd_not_present;
PBOOLEAN KdDebuggerEnabled = &g_kd_enabled;
BOOLEAN KdRefreshDebuggerNotPresent(VOID) {
    bool attached = debugger_attached();
    __atomic_store_n(&g_kd_enabled, attached ? TRUE : FALSE, __ATOMIC_RELAXED);
    __atomic_store_n(&g_kd_not_present, attached ? FALSE : TRUE, __ATOMIC_RELAXED);
    return attached ? FALSE : TRUE;
}
[[gnu::constructor]] static void kd_flags_at_load() { KdRefreshDebuggerNotPresent(); }

}  // extern "C"
