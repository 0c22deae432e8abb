#!/usr/bin/env python3
"""Measure the OS scheduler's time slice: the default of serversim's `machine.time_slice_ms`.

Two processes spin on the same CPU for a bounded time. Each notes when it was switched out
(a gap of more than 100 us between two reads of the clock) and how long it ran before that.
The median run is the slice a CPU-bound task gets while another one waits. Compare it with
`time_slice_ms` (docs/model.md, "The CPU"). Linux only (it pins with sched_setaffinity).

Usage: scripts/validate/time-slice.py [seconds]   (default 2, at most 30)
"""
import os
import statistics
import sys
import time

GAP_S = 100e-6


def spin(seconds, out):
    end = time.perf_counter() + seconds
    last = time.perf_counter()
    start = last
    runs = []
    while last < end:
        now = time.perf_counter()
        if now - last > GAP_S:
            runs.append(last - start)
            start = now
        last = now
    os.write(out, (" ".join(f"{r:.6f}" for r in runs[1:]) + "\n").encode())


def main():
    seconds = min(float(sys.argv[1]) if len(sys.argv) > 1 else 2.0, 30.0)
    cpu = sorted(os.sched_getaffinity(0))[-1]
    children = []
    for _ in range(2):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            os.sched_setaffinity(0, {cpu})
            spin(seconds, w)
            os._exit(0)
        os.close(w)
        children.append((pid, r))
    for pid, r in children:
        data = b""
        while chunk := os.read(r, 1 << 16):
            data += chunk
        os.waitpid(pid, 0)
        runs = sorted(float(x) * 1e3 for x in data.split())
        if not runs:
            print(f"process {pid}: never switched out (is another CPU-bound task missing?)")
            continue
        p10, p90 = runs[len(runs) // 10], runs[9 * len(runs) // 10]
        print(f"process {pid} on CPU {cpu}: {len(runs)} runs, median {statistics.median(runs):.2f} ms "
              f"(10th-90th percentile {p10:.2f}-{p90:.2f} ms)")


if __name__ == "__main__":
    main()
