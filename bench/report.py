#!/usr/bin/env python3
"""Runs the ntio benchmarks and prints each figure beside its baseline (same run).

usage: bench/report.py BUILD_DIR [--repetitions N]
"""
import json
import subprocess
import sys

# (ntio benchmark, floor benchmark, target ratio, what it measures)
PAIRS = [
    ("BM_Ntio_EventPingPong/300", "BM_Floor_FutexPingPong", 1.2,
     "SetEvent -> WaitForSingleObject round trip (default spin) vs futex ping-pong"),
    ("BM_Ntio_EventPingPong/0", "BM_Floor_FutexPingPong", 1.2,
     "SetEvent -> WaitForSingleObject round trip, every wait sleeps vs futex ping-pong"),
    ("BM_Ntio_KeEventPingPong/300", "BM_Floor_FutexPingPong", 1.2,
     "KeSetEvent -> KeWaitForSingleObject round trip (default spin) vs futex ping-pong"),
    ("BM_Ntio_KeEventPingPong/0", "BM_Floor_FutexPingPong", 1.2,
     "KeSetEvent -> KeWaitForSingleObject round trip, every wait sleeps vs futex ping-pong"),
    ("BM_Ntio_WaitSignaledEvent", "BM_Floor_StdMutexUncontended", 2.0,
     "WaitForSingleObject on a signaled event vs std::mutex lock+unlock"),
    ("BM_Ntio_KeWaitSignaledEvent", "BM_Floor_StdMutexUncontended", 2.0,
     "KeWaitForSingleObject on a signaled KEVENT vs std::mutex lock+unlock"),
]


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build/release"
    reps = "5"
    if "--repetitions" in sys.argv:
        reps = sys.argv[sys.argv.index("--repetitions") + 1]
    out = subprocess.run([f"{build}/bench/ntio_sync_bench", "--benchmark_format=json",
                          f"--benchmark_repetitions={reps}", "--benchmark_report_aggregates_only=true"],
                         check=True, capture_output=True, text=True).stdout
    data = json.loads(out)
    def key(name):
        return name.replace("/real_time", "")
    median = {key(b["run_name"]): b["real_time"] for b in data["benchmarks"] if b.get("aggregate_name") == "median"}
    unit = {key(b["run_name"]): b["time_unit"] for b in data["benchmarks"]}
    ok = True
    print(f"{'measure':<80} {'ntio':>10} {'floor':>10} {'ratio':>6} {'target':>7}")
    for ours, floor, target, what in PAIRS:
        r = median[ours] / median[floor]
        ok &= r <= target
        print(f"{what:<80} {median[ours]:>8.1f}{unit[ours]} {median[floor]:>8.1f}{unit[floor]} "
              f"{r:>6.2f} {'<=' + str(target):>7} {'ok' if r <= target else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
