#!/usr/bin/env python3
"""Runs the ntio benchmarks and prints each figure beside its baseline, measured in
the same run (completion ports included), the instruction count of a synchronous
IOCTL (callgrind), and the StartIo queue figures (cost and memory per pending IRP
from 10k to 1M).

usage: bench/report.py [BUILD_DIR] [--repetitions N] [--no-callgrind]
"""
import json
import re
import shutil
import subprocess
import sys

# (program, ntio benchmark, floor benchmark, target: ratio must be <= this (or >= for 'min'), what)
PAIRS = [
    ("ntio_sync_bench", "BM_Ntio_EventPingPong/300", "BM_Floor_FutexPingPong", 1.2,
     "SetEvent -> WaitForSingleObject round trip (default spin) vs futex ping-pong"),
    ("ntio_sync_bench", "BM_Ntio_EventPingPong/0", "BM_Floor_FutexPingPong", 1.2,
     "SetEvent -> WaitForSingleObject round trip, every wait sleeps, vs futex ping-pong"),
    ("ntio_sync_bench", "BM_Ntio_KeEventPingPong/300", "BM_Floor_FutexPingPong", 1.2,
     "KeSetEvent -> KeWaitForSingleObject round trip (default spin) vs futex ping-pong"),
    ("ntio_sync_bench", "BM_Ntio_KeEventPingPong/0", "BM_Floor_FutexPingPong", 1.2,
     "KeSetEvent -> KeWaitForSingleObject, every wait sleeps, vs futex ping-pong"),
    ("ntio_sync_bench", "BM_Ntio_WaitSignaledEvent", "BM_Floor_StdMutexUncontended", 2.0,
     "WaitForSingleObject on a signaled event vs std::mutex lock+unlock"),
    ("ntio_sync_bench", "BM_Ntio_KeWaitSignaledEvent", "BM_Floor_StdMutexUncontended", 2.0,
     "KeWaitForSingleObject on a signaled KEVENT vs std::mutex lock+unlock"),
    ("ntio_io_bench", "BM_Ntio_SyncIoctl64/0", "BM_Floor_InProcessRequest", 2.0,
     "sync 64-byte METHOD_BUFFERED IOCTL vs in-process floor (malloc+2 copies+call)"),
    ("ntio_io_bench", "BM_Ntio_SyncIoctl64/0", "BM_Floor_IoctlDevNull", 0.25,
     "sync 64-byte METHOD_BUFFERED IOCTL vs ioctl(2) on /dev/null"),
    ("ntio_io_bench", "BM_Ntio_SyncIoctl64Verified", "BM_Ntio_SyncIoctl64/0", 8.0,
     "the sync IOCTL with every verifier check on (IRP records, quarantine, lock and pool books) vs defaults"),
    ("ntio_io_bench", "BM_Ntio_SyncIoctl64/1", "BM_Floor_InProcessRequest", 2.0,
     "the same IOCTL on an overlapped handle, completed in dispatch, vs in-process floor"),
    ("ntio_io_bench", "BM_Ntio_PendedIoctlRoundTrip/300", "BM_Floor_FutexPingPong", 1.3,
     "overlapped IOCTL pended + completed by a worker, WaitForSingleObject (default spin) vs futex"),
    ("ntio_io_bench", "BM_Ntio_PendedIoctlRoundTrip/0", "BM_Floor_FutexPingPong", 1.3,
     "the same, every wait sleeps, vs futex ping-pong"),
    ("ntio_io_bench", "BM_Ntio_ApcIoctlRoundTrip/0", "BM_Ntio_SyncIoctl64/1", 3.0,
     "overlapped IOCTL completed in dispatch through a user APC run by SleepEx(0, TRUE) vs the same without"),
    ("ntio_io_bench", "BM_Ntio_ApcIoctlRoundTrip/1", "BM_Ntio_PendedIoctlRoundTrip/300", 1.3,
     "pended IOCTL whose APC wakes SleepEx(INFINITE, TRUE) vs the same awaited on an event"),
    ("ntio_iocp_bench", "BM_Ntio_InlineIoctl64Port/1", "BM_Ntio_InlineIoctl64Port/0", 2.0,
     "overlapped IOCTL completed in dispatch + GetQueuedCompletionStatus vs the same IOCTL unbound"),
    ("ntio_iocp_bench", "BM_Ntio_InlineIoctl64Port/2", "BM_Ntio_InlineIoctl64Port/0", 1.1,
     "the same with FILE_SKIP_COMPLETION_PORT_ON_SUCCESS (no packet) vs unbound"),
    ("ntio_iocp_bench", "BM_Ntio_PostGqcsPingPong/300", "BM_Floor_FutexPingPong", 1.3,
     "PostQueuedCompletionStatus -> GetQueuedCompletionStatus ping-pong (default spin) vs futex"),
    ("ntio_iocp_bench", "BM_Ntio_PostGqcsPingPong/0", "BM_Floor_FutexPingPong", 1.3,
     "the same, every wait sleeps, vs futex ping-pong"),
    ("ntio_iocp_bench", "BM_Ntio_Pended256Gqcsex", "BM_Floor_SubmitCompleteDrain256", 2.0,
     "256 pended IOCTLs in flight harvested with GQCSEx, per request, vs submit/complete/drain floor"),
]


def run(build, program, reps):
    out = subprocess.run([f"{build}/bench/{program}", "--benchmark_format=json",
                          f"--benchmark_repetitions={reps}", "--benchmark_report_aggregates_only=true"],
                         check=True, capture_output=True, text=True).stdout
    data = json.loads(out)
    key = lambda name: name.replace("/real_time", "")
    medians = [b for b in data["benchmarks"] if b.get("aggregate_name") == "median"]
    return ({key(b["run_name"]): b["real_time"] for b in medians},
            {key(b["run_name"]): b["time_unit"] for b in data["benchmarks"]},
            {key(b["run_name"]): b["allocs_per_request"] for b in medians if "allocs_per_request" in b})


def callgrind_instructions(build, *loop_args):
    counts = []
    for n in (10000, 20000):
        r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                            f"{build}/bench/ntio_ioctl_loop", str(n), *loop_args], capture_output=True, text=True)
        m = re.search(r"refs:\s+([\d,]+)", r.stderr)
        counts.append(int(m.group(1).replace(",", "")))
    return (counts[1] - counts[0]) / 10000


def startio_queue(build):
    """Issue 4: N pending IRPs on a StartIo device. Returns (ok, lines)."""
    out = subprocess.run([f"{build}/bench/ntio_startio_bench", "--benchmark_format=json"],
                         check=True, capture_output=True, text=True).stdout
    b = {x["run_name"]: x for x in json.loads(out)["benchmarks"]}
    lines, ok = [], True
    per_irp = {}
    for n in (10000, 100000, 1000000):
        r = b[f"BM_QueueThenDrain/{n}"]
        per_irp[n] = r["queue_ns_per_irp"] + r["drain_ns_per_irp"]
        good = r["bytes_per_irp"] <= 512
        ok &= good
        lines.append(f"{f'{n} IRPs pending on a StartIo device: queue + drain ns/IRP, bytes/IRP (<=512)':<92} "
                     f"{per_irp[n]:>9.1f}ns {r['bytes_per_irp']:>9.0f} B {'':>6} {'<=512':>7} "
                     f"{'ok' if good else 'MISSED'}")
    growth = per_irp[1000000] / per_irp[10000]
    good = growth <= 1.5
    ok &= good
    lines.append(f"{'cost per IRP at 1M / at 10k, steady state (does not grow)':<92} {'':>11} {'':>11} "
                 f"{growth:>6.2f} {'<=1.5':>7} {'ok' if good else 'MISSED'}")
    # The untimed first round, on memory not mapped yet: a figure, no target (the
    # kernel's page faults grow with what is touched, not the queue's work).
    for n in (10000, 1000000):
        r = b[f"BM_QueueThenDrain/{n}"]
        lines.append(f"{f'{n} IRPs, first round on fresh memory: ns/IRP, page faults/IRP':<92} "
                     f"{r['first_pass_ns_per_irp']:>9.1f}ns {r['first_pass_faults_per_irp']:>11.3f}")
    d = b["BM_DeferredStartIoDrain/1000000"]
    good = d["max_nesting"] == 1 and d["stack_bytes"] < 8192
    ok &= good
    lines.append(f"{'DeferredStartIo, 1M queued: StartIo nesting, stack bytes used':<92} {d['max_nesting']:>11.0f} "
                 f"{d['stack_bytes']:>9.0f} B {'':>6} {'1, <8K':>7} {'ok' if good else 'MISSED'}")
    r = b["BM_RecursiveStartIoDepth/2000"]
    lines.append(f"{'no DeferredStartIo: stack bytes per nested StartIo, depth that overflows 8 MiB':<92} "
                 f"{r['stack_bytes_per_level']:>9.1f} B {r['overflow_depth_8MiB']:>11.0f}")
    return ok, lines


def main():
    args = [a for a in sys.argv[1:]]
    build = args[0] if args and not args[0].startswith("--") else "build/release"
    reps = args[args.index("--repetitions") + 1] if "--repetitions" in args else "5"
    results = {}
    ok = True
    print(f"{'measure':<92} {'ntio':>11} {'floor':>11} {'ratio':>6} {'target':>7}")
    for program, ours, floor, target, what in PAIRS:
        if program not in results:
            results[program] = run(build, program, reps)
        median, unit, _ = results[program]
        r = median[ours] / median[floor]
        good = r <= target
        ok &= good
        print(f"{what:<92} {median[ours]:>9.1f}{unit[ours]} {median[floor]:>9.1f}{unit[floor]} "
              f"{r:>6.2f} {'<=' + str(target):>7} {'ok' if good else 'MISSED'}")
    # No allocation per request in steady state: the C library's mallocs (counted by
    # bench/alloc_counter.cpp) per request, the median over the repetitions.
    for program, allocs in ((p, results[p][2]) for p in results):
        for name, n in sorted(allocs.items()):
            good = n <= 0.01
            ok &= good
            print(f"{'allocations per request, ' + name:<92} {n:>11.4f} {'':>11} {'':>6} {'<=0.01':>7} "
                  f"{'ok' if good else 'MISSED'}")
    # Issue 6: what the tracer costs while it records (a figure to report, no target).
    median, unit, _ = results["ntio_io_bench"]
    traced, plain = median.get("BM_Ntio_SyncIoctl64Traced/iterations:200000"), median["BM_Ntio_SyncIoctl64/0"]
    if traced is not None:
        print(f"{'sync 64-byte IOCTL with --trace recording (5 events per request): ns per event':<92} "
              f"{traced:>9.1f}{unit['BM_Ntio_SyncIoctl64/0']} {plain:>9.1f}{unit['BM_Ntio_SyncIoctl64/0']} "
              f"{(traced - plain) / 5:>6.1f}")
    good, lines = startio_queue(build)
    ok &= good
    print("\n".join(lines))
    if "--no-callgrind" not in args and shutil.which("valgrind"):
        n = callgrind_instructions(build)
        good = n <= 500
        ok &= good
        print(f"{'sync 64-byte IOCTL, instructions per round trip (callgrind)':<92} {n:>11.0f} "
              f"{'':>11} {'':>6} {'<=500':>7} {'ok' if good else 'MISSED'}")
        # The overlapped handle's IOCTL completed in dispatch: a figure, no target.
        n = callgrind_instructions(build, "overlapped")
        print(f"{'the same IOCTL on an overlapped handle, completed in dispatch, instructions (callgrind)':<92} "
              f"{n:>11.0f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
