// Issue 4 performance: a StartIo device with N requests pending in its device queue.
//
//   BM_QueueThenDrain/N   queue N overlapped IOCTLs behind a busy StartIo device
//                         (each pends: IoMarkIrpPending + IoStartPacket with a cancel
//                         routine), then drain them (complete the current request,
//                         IoStartNextPacket). Reported per IRP, for N = 10k, 100k, 1M:
//                         the cost must not grow with N. bytes_per_irp is the heap
//                         the runtime holds per pending request (malloc'd bytes in
//                         use while all N are queued, minus before; the caller's
//                         OVERLAPPEDs are allocated before), target <= 512.
//                         The timed rounds are the steady state: a first, untimed
//                         round maps the memory, and glibc is kept from handing it
//                         back between rounds. That first round is reported on its
//                         own (first_pass_ns_per_irp, first_pass_faults_per_irp):
//                         at 1M it touches ~480 MB of fresh memory, and the kernel's
//                         page faults, not the queue, then dominate the cost.
//   BM_DeferredStartIoDrain/N
//                         a driver that completes in StartIo and calls
//                         IoStartNextPacket, on a device with DeferredStartIo: N
//                         queued requests drain in a loop; max_nesting stays 1 and
//                         the stack does not grow.
//   BM_RecursiveStartIoDepth/N
//                         the same driver without DeferredStartIo recurses as on
//                         Windows: each queued request nests one StartIo deeper.
//                         Reports the stack bytes per level and the depth at which an
//                         8 MiB thread stack (Linux default) would overflow.
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "ntio/ntio.hpp"
#include "wdm.h"
#include "windows.h"

namespace {

constexpr ULONG IOCTL_QUEUE = CTL_CODE(FILE_DEVICE_UNKNOWN, 0x910, METHOD_BUFFERED, FILE_ANY_ACCESS);

// ---- the driver ------------------------------------------------------------------------------

struct DriverState {
    bool complete_in_startio = false;  // else StartIo holds the request until drain_one()
    int nesting = 0, max_nesting = 0;
    uintptr_t stack_top = 0, stack_lowest = 0;
    uint64_t completed = 0;
    PDEVICE_OBJECT plain = nullptr, deferred = nullptr;
} g;

VOID CancelQueued(PDEVICE_OBJECT dev, PIRP irp) {
    if (irp == dev->CurrentIrp) {
        IoReleaseCancelSpinLock(irp->CancelIrql);
        return;
    }
    BOOLEAN removed = KeRemoveEntryDeviceQueue(&dev->DeviceQueue, &irp->Tail.Overlay.DeviceQueueEntry);
    IoReleaseCancelSpinLock(irp->CancelIrql);
    if (removed) {
        irp->IoStatus.Status = STATUS_CANCELLED;
        irp->IoStatus.Information = 0;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
    }
}

void complete(PIRP irp) {
    irp->IoStatus.Status = STATUS_SUCCESS;
    irp->IoStatus.Information = 0;
    ++g.completed;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
}

VOID StartIo(PDEVICE_OBJECT dev, PIRP irp) {
    volatile char marker = 0;
    auto here = reinterpret_cast<uintptr_t>(&marker);
    if (g.stack_lowest == 0 || here < g.stack_lowest) g.stack_lowest = here;
    if (++g.nesting > g.max_nesting) g.max_nesting = g.nesting;
    KIRQL irql;
    IoAcquireCancelSpinLock(&irql);
    IoSetCancelRoutine(irp, nullptr);
    IoReleaseCancelSpinLock(irql);
    if (g.complete_in_startio) {
        complete(irp);
        IoStartNextPacket(dev, TRUE);
    }
    --g.nesting;
}

NTSTATUS Dispatch(PDEVICE_OBJECT dev, PIRP irp) {
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(irp);
    if (sp->MajorFunction == IRP_MJ_DEVICE_CONTROL) {
        IoMarkIrpPending(irp);
        IoStartPacket(dev, irp, nullptr, CancelQueued);
        return STATUS_PENDING;
    }
    irp->IoStatus.Status = STATUS_SUCCESS;
    irp->IoStatus.Information = 0;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

VOID Unload(PDRIVER_OBJECT driver) {
    for (const wchar_t* name : {L"\\DosDevices\\BenchQueue", L"\\DosDevices\\BenchQueueDeferred"}) {
        UNICODE_STRING u;
        RtlInitUnicodeString(&u, name);
        IoDeleteSymbolicLink(&u);
    }
    while (driver->DeviceObject) IoDeleteDevice(driver->DeviceObject);
}

NTSTATUS make(PDRIVER_OBJECT driver, const wchar_t* nt, const wchar_t* dos, PDEVICE_OBJECT* out) {
    UNICODE_STRING ntu, dosu;
    RtlInitUnicodeString(&ntu, nt);
    RtlInitUnicodeString(&dosu, dos);
    NTSTATUS s = IoCreateDevice(driver, 0, &ntu, FILE_DEVICE_UNKNOWN, 0, FALSE, out);
    if (!NT_SUCCESS(s)) return s;
    (*out)->Flags |= DO_BUFFERED_IO;
    return IoCreateSymbolicLink(&dosu, &ntu);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING) {
    for (auto& f : driver->MajorFunction) f = Dispatch;
    driver->DriverStartIo = StartIo;
    driver->DriverUnload = Unload;
    NTSTATUS s = make(driver, L"\\Device\\BenchQueue", L"\\DosDevices\\BenchQueue", &g.plain);
    if (!NT_SUCCESS(s)) return s;
    s = make(driver, L"\\Device\\BenchQueueDeferred", L"\\DosDevices\\BenchQueueDeferred", &g.deferred);
    if (!NT_SUCCESS(s)) return s;
    IoSetStartIoAttributes(g.deferred, TRUE, FALSE);
    return STATUS_SUCCESS;
}

// Completes the request StartIo holds and starts the next, as a DPC would.
void drain_one(PDEVICE_OBJECT dev) {
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    complete(dev->CurrentIrp);
    IoStartNextPacket(dev, TRUE);
    KeLowerIrql(old);
}

// ---- harness ---------------------------------------------------------------------------------

struct Runtime {
    ntio::System sys{{.clock = ntio::Clock::real}};
    Runtime() {
        g = DriverState{};
        sys.load_driver("benchqueue", reinterpret_cast<ntio::System::DriverEntryFunction>(&DriverEntry));
    }
};

HANDLE open_device(bool deferred) {
    return CreateFileA(deferred ? "\\\\.\\BenchQueueDeferred" : "\\\\.\\BenchQueue", GENERIC_READ | GENERIC_WRITE, 0,
                       nullptr, OPEN_EXISTING, FILE_FLAG_OVERLAPPED, nullptr);
}

bool issue(HANDLE h, OVERLAPPED* ov) {
    return !DeviceIoControl(h, IOCTL_QUEUE, nullptr, 0, nullptr, 0, nullptr, ov) && GetLastError() == ERROR_IO_PENDING;
}

long minor_faults() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_minflt;
}

size_t heap_in_use() {
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

void BM_QueueThenDrain(benchmark::State& state) {
    const size_t n = static_cast<size_t>(state.range(0));
    Runtime rt;
    HANDLE h = open_device(false);
    std::unique_ptr<OVERLAPPED[]> ovs(new OVERLAPPED[n]());
    double queue_ns = 0, drain_ns = 0, bytes_per_irp = 0;
    size_t rounds = 0;
    bool ok = h != INVALID_HANDLE_VALUE;
    // Without this, freeing the drained IRPs shrinks the heap (glibc trims its top) and
    // every round pays for mapping it again.
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    long faults_before = minor_faults();
    auto f0 = std::chrono::steady_clock::now();
    for (size_t i = 0; i < n; ++i) ok &= issue(h, &ovs[i]);
    for (size_t i = 0; i < n; ++i) drain_one(g.plain);
    double first_pass_ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - f0).count();
    long first_pass_faults = minor_faults() - faults_before;
    for (auto _ : state) {
        size_t before = heap_in_use();
        auto t0 = std::chrono::steady_clock::now();
        for (size_t i = 0; i < n; ++i) ok &= issue(h, &ovs[i]);
        auto t1 = std::chrono::steady_clock::now();
        size_t queued = heap_in_use();
        for (size_t i = 0; i < n; ++i) drain_one(g.plain);
        auto t2 = std::chrono::steady_clock::now();
        queue_ns += std::chrono::duration<double, std::nano>(t1 - t0).count();
        drain_ns += std::chrono::duration<double, std::nano>(t2 - t1).count();
        bytes_per_irp += static_cast<double>(queued - before) / static_cast<double>(n);
        ++rounds;
    }
    for (size_t i = 0; i < n; ++i) ok &= ovs[i].Internal == STATUS_SUCCESS;
    if (!ok || g.completed != n * (rounds + 1)) state.SkipWithError("a request did not pend or did not complete");
    CloseHandle(h);
    mallopt(M_TRIM_THRESHOLD, 128 * 1024);  // glibc's default
    malloc_trim(0);
    state.SetItemsProcessed(static_cast<int64_t>(n * rounds));
    state.counters["queue_ns_per_irp"] = queue_ns / static_cast<double>(n * rounds);
    state.counters["drain_ns_per_irp"] = drain_ns / static_cast<double>(n * rounds);
    state.counters["bytes_per_irp"] = bytes_per_irp / static_cast<double>(rounds);
    state.counters["first_pass_ns_per_irp"] = first_pass_ns / static_cast<double>(n);
    state.counters["first_pass_faults_per_irp"] = static_cast<double>(first_pass_faults) / static_cast<double>(n);
}
BENCHMARK(BM_QueueThenDrain)->Arg(10000)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMillisecond);

// Queues n behind one held request, then lets StartIo complete them all.
void drain_through_startio(benchmark::State& state, bool deferred) {
    const size_t n = static_cast<size_t>(state.range(0));
    Runtime rt;
    PDEVICE_OBJECT dev = deferred ? g.deferred : g.plain;
    HANDLE h = open_device(deferred);
    std::unique_ptr<OVERLAPPED[]> ovs(new OVERLAPPED[n + 1]());
    bool ok = h != INVALID_HANDLE_VALUE;
    size_t rounds = 0;
    double stack_bytes = 0;
    int max_nesting = 0;
    for (auto _ : state) {
        state.PauseTiming();
        g.complete_in_startio = false;
        for (size_t i = 0; i <= n; ++i) ok &= issue(h, &ovs[i]);  // the first is held, n queue behind it
        g.complete_in_startio = true;
        g.max_nesting = 0;
        volatile char marker = 0;
        g.stack_top = reinterpret_cast<uintptr_t>(&marker);
        g.stack_lowest = 0;
        state.ResumeTiming();
        drain_one(dev);  // completes the held one; StartIo takes it from there
        state.PauseTiming();
        stack_bytes += static_cast<double>(g.stack_top - g.stack_lowest);
        if (g.max_nesting > max_nesting) max_nesting = g.max_nesting;
        ++rounds;
        state.ResumeTiming();
    }
    if (!ok || g.completed != (n + 1) * rounds) state.SkipWithError("a request did not pend or did not complete");
    CloseHandle(h);
    state.SetItemsProcessed(static_cast<int64_t>(n * rounds));
    state.counters["max_nesting"] = max_nesting;
    state.counters["stack_bytes"] = stack_bytes / static_cast<double>(rounds);
    if (!deferred && n > 0) {
        double per_level = stack_bytes / static_cast<double>(rounds) / static_cast<double>(n);
        state.counters["stack_bytes_per_level"] = per_level;
        state.counters["overflow_depth_8MiB"] = (8.0 * 1024 * 1024) / per_level;
    }
}

void BM_DeferredStartIoDrain(benchmark::State& state) { drain_through_startio(state, true); }
BENCHMARK(BM_DeferredStartIoDrain)->Arg(10000)->Arg(1000000)->Unit(benchmark::kMillisecond);

void BM_RecursiveStartIoDepth(benchmark::State& state) { drain_through_startio(state, false); }
// 2000 levels use well under a MiB of stack; deeper would only measure the same slope.
BENCHMARK(BM_RecursiveStartIoDepth)->Arg(2000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
