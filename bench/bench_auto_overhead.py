"""What ``device="auto"`` costs per nest execution on a warm call, over the
variant it runs.

For each of the twelve benchmarks (share/benchmarks) at one size, the
function is first run with ``device="auto"`` until its decisions are settled
(``--warm`` calls). Then, in interleaved rounds, it times

- ``auto``: ``loopscope.run(fn, ..., device="auto")``, which decides per
  nest execution (``_cost.choose``: a kept decision on a warm call) and runs
  the chosen variant;
- ``replay``: the same function with each nest sent straight to the device
  auto chose for it in the warm-up (a device that looks the choice up in a
  dict: no decision at all).

The difference, divided by the nest executions of one call, is auto's
overhead per nest. The same rounds time ``cpu-serial`` and ``cpu``: the better
of the two against ``auto`` is how close auto comes to the best native
variant (target of the same issue: at least 0.95, geometric mean). Target (issue "fast by default"): at most 5 us.
Fresh arguments are made outside the timed region.

    .venv/bin/python bench/bench_auto_overhead.py [--size small] [--rounds 15]

Prints a table and writes bench/results/auto_overhead.json. Not a test:
nothing here asserts timings (compare the columns of one run).
"""

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "share"))

import _loopscope  # noqa: E402
import benchmarks  # noqa: E402
import loopscope  # noqa: E402
from loopscope import _run  # noqa: E402

TARGET_US = 5.0


def _timed(fn, bench, size, device, calls):
    """Total seconds of `calls` calls (argument making excluded)."""
    total = 0.0
    for _ in range(calls):
        args = bench.args(size)
        t0 = time.perf_counter()
        loopscope.run(fn, *args, device=device)
        total += time.perf_counter() - t0
    return total


def measure(bench, size, warm, rounds, calls):
    executions = {}

    def count(nest_id, env):
        executions[nest_id] = executions.get(nest_id, 0) + 1
        return None

    _run.register_device("bench-count", count)
    loopscope.run(bench.fn, *bench.args(size), device="bench-count")
    per_call = sum(executions.values())

    _run.reset_last_runs()
    for _ in range(warm):
        loopscope.run(bench.fn, *bench.args(size), device="auto")
        _loopscope.cpu_wait_compiles()  # code auto builds in the background lands before it is timed
    chosen = {nid: rec["device"] for nid, rec in _run.last_runs().items()}

    def replay(nest_id, env):
        return _run.DEVICES[chosen.get(nest_id, "python")](nest_id, env)

    _run.register_device("bench-replay", replay)
    loopscope.run(bench.fn, *bench.args(size), device="bench-replay")
    for device in ("cpu-serial", "cpu"):
        loopscope.run(bench.fn, *bench.args(size), device=device)
        _loopscope.cpu_wait_compiles()
    times = {"auto": [], "bench-replay": [], "cpu-serial": [], "cpu": []}
    for _ in range(rounds):
        for device, ts in times.items():
            ts.append(_timed(bench.fn, bench, size, device, calls) / calls)
    a, r = statistics.median(times["auto"]), statistics.median(times["bench-replay"])
    serial, parallel = statistics.median(times["cpu-serial"]), statistics.median(times["cpu"])
    over = max(0.0, a - r)
    return {
        "name": bench.name,
        "size": size,
        "nest_executions_per_call": per_call,
        "devices": sorted(set(chosen.values())),
        "auto_us": a * 1e6,
        "replay_us": r * 1e6,
        "cpu_serial_us": serial * 1e6,
        "cpu_us": parallel * 1e6,
        "auto_vs_best_native": min(serial, parallel) / a,
        "overhead_us_per_call": (a - r) * 1e6,
        "overhead_us_per_nest": over * 1e6 / max(1, per_call),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="small")
    ap.add_argument("--warm", type=int, default=400, help="auto calls before timing (decisions settle)")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--calls", type=int, default=20, help="calls per timed round")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "auto_overhead.json"))
    ns = ap.parse_args()
    rows = []
    print(
        f"{'benchmark':16s} {'devices':24s} {'nests':>5s} {'auto us':>10s} {'replay us':>10s} "
        f"{'over/nest us':>13s} {'best native us':>15s} {'best/auto':>9s}"
    )
    for b in benchmarks.BENCHMARKS:
        row = measure(b, ns.size, ns.warm, ns.rounds, ns.calls)
        rows.append(row)
        print(
            f"{b.name:16s} {','.join(row['devices']):24s} {row['nest_executions_per_call']:5d} "
            f"{row['auto_us']:10.1f} {row['replay_us']:10.1f} {row['overhead_us_per_nest']:13.1f} "
            f"{min(row['cpu_serial_us'], row['cpu_us']):15.1f} {row['auto_vs_best_native']:9.2f}",
            flush=True,
        )
    worst = max(r["overhead_us_per_nest"] for r in rows)
    ratios = [r["auto_vs_best_native"] for r in rows]
    geomean = math.exp(sum(math.log(x) for x in ratios) / len(ratios))
    print(f"worst overhead per nest execution: {worst:.1f} us (target {TARGET_US:.0f} us)")
    print(f"auto against the better of cpu-serial and cpu: geometric mean {geomean:.2f}, lowest {min(ratios):.2f}")
    out = {
        "machine": platform.node(),
        "python": sys.version.split()[0],
        "size": ns.size,
        "warm": ns.warm,
        "rounds": ns.rounds,
        "calls": ns.calls,
        "target_us_per_nest": TARGET_US,
        "worst_us_per_nest": worst,
        "geomean_auto_vs_best_native": geomean,
        "lowest_auto_vs_best_native": min(ratios),
        "benchmarks": rows,
    }
    os.makedirs(os.path.dirname(ns.out), exist_ok=True)
    with open(ns.out, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
