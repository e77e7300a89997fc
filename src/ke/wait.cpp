// Waits, delays and time (S-KE-3, S-KE-8..12).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "ke/objects.hpp"
#include "ps/thread.hpp"
#include "system.hpp"
#include "verifier/report.hpp"

using ntio::sys;
namespace ke = ntio::ke;

namespace ntio::ke {

constinit thread_local int t_dpc_processor = -1;
constinit thread_local bool t_holds_dpcs = false;
constinit thread_local bool t_runs_dpcs = false;

NTSTATUS wait_objects(ULONG count, DISPATCHER_HEADER* const* objects, WAIT_TYPE type, const LARGE_INTEGER* timeout,
                      bool alertable) {
    Dispatcher& d = sys().dispatcher;
    _KTHREAD* self = ps::current_thread();
    bool poll = timeout && timeout->QuadPart == 0;
    Ticks deadline = (!timeout || poll) ? kNever : d.deadline_for(timeout->QuadPart);
    NTSTATUS status = d.wait(self, count, objects, type, deadline, poll, alertable);
    settle_setters(count, objects);
    return status;
}

NTSTATUS delay(const LARGE_INTEGER* interval, bool alertable) {
    if (interval->QuadPart == 0) {
        // A zero delay only yields, but an alertable one still ends for a queued APC
        // (SleepEx(0, TRUE)).
        if (alertable && sys().dispatcher.has_user_apcs(ps::current_thread())) return STATUS_USER_APC;
        sched_yield();
        return STATUS_SUCCESS;
    }
    NTSTATUS s = wait_objects(0, nullptr, WaitAny, interval, alertable);
    return s == STATUS_TIMEOUT ? STATUS_SUCCESS : s;
}

}  // namespace ntio::ke

namespace {

void check_wait_irql(const char* api, PLARGE_INTEGER Timeout) {
    bool poll = Timeout && Timeout->QuadPart == 0;
    KIRQL irql = KeGetCurrentIrql();
    if (irql > (poll ? DISPATCH_LEVEL : APC_LEVEL)) [[unlikely]]
        ntio::verifier::report(
            ntio::verifier::Check::WaitAtDispatchLevel,
            fmt::format("{} with a {} timeout at IRQL {}: a thread may only block at or below APC_LEVEL; at "
                        "DISPATCH_LEVEL (spin lock held, StartIo, DPC, cancel routine) only a zero-timeout poll is "
                        "allowed. Move the wait to a PASSIVE_LEVEL thread or work item.",
                        api, Timeout ? "non-zero" : "infinite", irql));
}

// Only a user-mode alertable wait is ended by a user APC (S-KE-9); ntio has no thread
// alerts (KeAlertThread), so a kernel-mode alertable wait is never ended early. The
// APCs run when the thread next returns to the application from an alertable wait
// service (docs/design.md, "User APCs"), not at the end of the driver's caller.
inline bool user_alertable(KPROCESSOR_MODE mode, BOOLEAN alertable) { return alertable && mode == UserMode; }

}  // namespace

extern "C" {

NTSTATUS KeWaitForSingleObject(PVOID Object, KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
                               PLARGE_INTEGER Timeout) {
    (void)WaitReason;
    check_wait_irql("KeWaitForSingleObject", Timeout);
    auto* header = static_cast<DISPATCHER_HEADER*>(Object);
    NTSTATUS s = sys().dispatcher.try_wait_one(header);
    if (s != STATUS_PENDING) {
        ke::settle_setters(1, &header);
        return s;
    }
    return ke::wait_objects(1, &header, WaitAny, Timeout, user_alertable(WaitMode, Alertable));
}

NTSTATUS KeWaitForMultipleObjects(ULONG Count, PVOID Object[], WAIT_TYPE WaitType, KWAIT_REASON WaitReason,
                                  KPROCESSOR_MODE WaitMode, BOOLEAN Alertable, PLARGE_INTEGER Timeout,
                                  PKWAIT_BLOCK WaitBlockArray) {
    (void)WaitReason;
    check_wait_irql("KeWaitForMultipleObjects", Timeout);
    if (Count == 0 || Count > MAXIMUM_WAIT_OBJECTS) {
        ntio::verifier::report(ntio::verifier::Check::MAXIMUM_WAIT_OBJECTS_EXCEEDED,
                                   fmt::format("KeWaitForMultipleObjects with Count {} (1..{} allowed)", Count,
                                               MAXIMUM_WAIT_OBJECTS));
        return STATUS_INVALID_PARAMETER_1;
    }
    if (Count > THREAD_WAIT_OBJECTS && !WaitBlockArray)
        ntio::verifier::report(ntio::verifier::Check::MAXIMUM_WAIT_OBJECTS_EXCEEDED,
                                   fmt::format("KeWaitForMultipleObjects with Count {} > THREAD_WAIT_OBJECTS and no "
                                               "WaitBlockArray; pass an array of Count KWAIT_BLOCKs",
                                               Count));
    if (WaitType != WaitAll && WaitType != WaitAny) return STATUS_INVALID_PARAMETER_3;
    DISPATCHER_HEADER* headers[MAXIMUM_WAIT_OBJECTS];
    for (ULONG i = 0; i < Count; ++i) headers[i] = static_cast<DISPATCHER_HEADER*>(Object[i]);
    return ke::wait_objects(Count, headers, WaitType, Timeout, user_alertable(WaitMode, Alertable));
}

NTSTATUS KeDelayExecutionThread(KPROCESSOR_MODE WaitMode, BOOLEAN Alertable, PLARGE_INTEGER Interval) {
    check_wait_irql("KeDelayExecutionThread", Interval);
    if (!Interval) {
        ntio::verifier::report(ntio::verifier::Check::InvalidParameter, "KeDelayExecutionThread with a NULL interval");
        return STATUS_INVALID_PARAMETER;
    }
    return ke::delay(Interval, user_alertable(WaitMode, Alertable));
}

VOID KeQuerySystemTime(PLARGE_INTEGER CurrentTime) { CurrentTime->QuadPart = sys().dispatcher.system_time(); }
VOID KeQuerySystemTimePrecise(PLARGE_INTEGER CurrentTime) { KeQuerySystemTime(CurrentTime); }
ULONGLONG KeQueryInterruptTime(VOID) { return static_cast<ULONGLONG>(sys().dispatcher.now()); }
ULONGLONG KeQueryInterruptTimePrecise(PULONGLONG QpcTimeStamp) {
    ULONGLONG t = KeQueryInterruptTime();
    if (QpcTimeStamp) *QpcTimeStamp = t;
    return t;
}

// One tick is KeQueryTimeIncrement() = 156250 (15.625 ms), Windows' default clock interval.
static constexpr ULONG kTimeIncrement = 156250;
VOID KeQueryTickCount(PLARGE_INTEGER CurrentCount) {
    CurrentCount->QuadPart = sys().dispatcher.now() / kTimeIncrement;
}
ULONG KeQueryTimeIncrement(VOID) { return kTimeIncrement; }

LARGE_INTEGER KeQueryPerformanceCounter(PLARGE_INTEGER PerformanceFrequency) {
    if (PerformanceFrequency) PerformanceFrequency->QuadPart = 10000000;
    LARGE_INTEGER li;
    li.QuadPart = sys().dispatcher.now();
    return li;
}

ULONG KeQueryActiveProcessorCount(PKAFFINITY ActiveProcessors) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) n = 1;
    if (n > 64) n = 64;  // one processor group, as GetSystemInfo's mask tells
    if (ActiveProcessors) *ActiveProcessors = n >= 64 ? ~KAFFINITY(0) : ((KAFFINITY(1) << n) - 1);
    return static_cast<ULONG>(n);
}

ULONG KeQueryActiveProcessorCountEx(USHORT GroupNumber) {
    // One group: group 0, or all of them, holds every processor; another group has none.
    return GroupNumber == 0 || GroupNumber == ALL_PROCESSOR_GROUPS ? KeQueryActiveProcessorCount(nullptr) : 0;
}

ULONGLONG KeQueryUnbiasedInterruptTime(VOID) { return KeQueryInterruptTime(); }

ULONG KeGetCurrentProcessorNumber(VOID) {
    if (ke::t_dpc_processor >= 0) return static_cast<ULONG>(ke::t_dpc_processor);
    int cpu = sched_getcpu();
    return cpu < 0 ? 0 : static_cast<ULONG>(cpu);
}

VOID KeBugCheckEx(ULONG BugCheckCode, ULONG_PTR P1, ULONG_PTR P2, ULONG_PTR P3, ULONG_PTR P4) {
    std::fprintf(stderr, "ntio: KeBugCheckEx(0x%X, 0x%lX, 0x%lX, 0x%lX, 0x%lX): the driver stopped the system\n",
                 BugCheckCode, static_cast<unsigned long>(P1), static_cast<unsigned long>(P2),
                 static_cast<unsigned long>(P3), static_cast<unsigned long>(P4));
    std::fflush(stderr);
    std::abort();
}

VOID KeBugCheck(ULONG BugCheckCode) { KeBugCheckEx(BugCheckCode, 0, 0, 0, 0); }

}  // extern "C"
