#!/usr/bin/env python3
"""Measure what a forced GIL switch costs: the default of serversim's `gil_switch_cost_ms`.

Two threads of this one CPython process spin for a bounded time. CPython makes the thread that
holds the GIL drop it when the other has waited one switch interval (sys.getswitchinterval(),
5 ms), so they take turns. Each thread reads the clock in a tight loop and notes the last
reading of the other thread before its own first one: the gap between the two is the hand-off
— the holder drops the GIL, signals, and the waiter is woken by the OS and takes it — during
which no Python code of the process runs. The mean gap is the cost of one forced switch (what
adds up over many switches; the median is printed too); the median turn is the switch interval
as it really is.

Run it on a quiet machine; it reports other CPU use seen meanwhile (from /proc/stat), so a
busy machine shows. With `--pin` both threads share one CPU (the waiter must also wait for the
OS to give it the core); without it they may run on two.

Usage: scripts/validate/gil-switch.py [seconds] [--pin]   (default 3, at most 30)
"""
import os
import statistics
import sys
import threading
import time
from bisect import bisect_left

# Two readings of one thread further apart than this: it lost the GIL. A thread that lost it is
# out for about a switch interval; the timer interrupt (every 4 ms at CONFIG_HZ=250) pauses a
# running thread too, for 20-200 us on these virtual machines, and must not count.
GAP_S = 1e-3


def cpu_busy():
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    seconds = min(float(args[0]) if args else 3.0, 30.0)
    if "--pin" in sys.argv:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})
    end = time.perf_counter() + seconds
    outs = [[], []]  # per thread: (last reading before it lost the GIL, first reading after)

    def spin(me):
        clock = time.perf_counter
        mine = outs[me]
        prev = clock()
        while prev < end:
            now = clock()
            if now - prev > GAP_S:
                mine.append((prev, now))
            prev = now

    busy0, total0 = cpu_busy()
    cpu0 = time.process_time()
    threads = [threading.Thread(target=spin, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    busy1, total1 = cpu_busy()
    own = time.process_time() - cpu0
    hz = os.sysconf("SC_CLK_TCK")
    other = max(0.0, (busy1 - busy0) / hz - own)
    ncpu = os.cpu_count() or 1
    gaps = []  # hand-off: one thread's last reading to the other's first, seconds
    turns = []  # how long a thread ran between two losses of the GIL, seconds
    for me in (0, 1):
        other_ins = [b for _, b in outs[1 - me]]
        for (a, _), (_, back) in zip(outs[me][1:], outs[me]):
            turns.append(a - back)
        for a, _ in outs[me][1:]:
            i = bisect_left(other_ins, a)
            if i < len(other_ins):
                gaps.append(other_ins[i] - a)
    if len(gaps) < 10:
        sys.exit(f"only {len(gaps)} switches seen in {seconds} s; run longer")
    q = statistics.quantiles(gaps, n=10)
    tq = statistics.quantiles(turns, n=10)
    print(f"switch interval set: {sys.getswitchinterval() * 1e3:.1f} ms; Python {sys.version.split()[0]}")
    print(f"forced switches seen: {len(gaps)} in {seconds:.1f} s (a pause > {GAP_S * 1e3:.0f} ms)")
    print(
        f"hand-off gap: mean {statistics.fmean(gaps) * 1e6:.1f} us, median {statistics.median(gaps) * 1e6:.1f} us "
        f"(10th-90th percentile {q[0] * 1e6:.1f}-{q[-1] * 1e6:.1f} us)"
    )
    print(
        f"turn: median {statistics.median(turns) * 1e3:.2f} ms "
        f"(10th-90th percentile {tq[0] * 1e3:.2f}-{tq[-1] * 1e3:.2f} ms)"
    )
    print(f"other CPU use meanwhile: {other:.2f} CPU-s of {seconds * ncpu:.1f} ({ncpu} CPUs)")


if __name__ == "__main__":
    main()
