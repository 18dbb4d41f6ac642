"""What loop-nest interception costs a cell without loops.

Starts the Loopscope kernel twice, once as a plain xeus-python kernel
(LOOPSCOPE_INTERCEPT=0: no transformer, no hook) and once as usual, runs the
same loop-free cells many times in each, and compares the median round trip
(execute_request to execute_reply). Target: at most 2 ms more per cell.

    .venv/bin/python bench/bench_cell_overhead.py [--repeat N]

Prints a table and writes bench/results/cell_overhead.json.
"""

import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "python"))

from jupyter_client.manager import start_new_kernel  # noqa: E402

CELLS = {
    "assignment": "x = 1",
    "expression": "sum(range(100))",
    "thirty lines": "\n".join(f"v{k} = {k} * 2 + len('abc')" for k in range(30)),
    "function def": "def f(a, b):\n    c = a + b\n    return c * 2\nf(1, 2)",
    "print": "print('hello')",
}


def round_trips(intercept, repeat):
    env = dict(os.environ, LOOPSCOPE_INTERCEPT="1" if intercept else "0", PYDEVD_DISABLE_FILE_VALIDATION="1")
    km, kc = start_new_kernel(kernel_name="loopscope", startup_timeout=60, env=env)
    try:
        results = {}
        for name, code in CELLS.items():
            times = []
            for k in range(repeat + 5):
                t0 = time.perf_counter()
                kc.execute_interactive(code, store_history=False, timeout=30, output_hook=lambda m: None)
                dt = time.perf_counter() - t0
                if k >= 5:  # warm-up
                    times.append(dt)
            results[name] = statistics.median(times)
        return results
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=100)
    args = ap.parse_args()
    plain = round_trips(False, args.repeat)
    loops = round_trips(True, args.repeat)
    rows = []
    print(f"{'cell':<14} {'plain (ms)':>11} {'loopscope (ms)':>15} {'overhead (ms)':>14}")
    for name in CELLS:
        over = (loops[name] - plain[name]) * 1e3
        rows.append(
            {"cell": name, "plain_ms": plain[name] * 1e3, "loopscope_ms": loops[name] * 1e3, "overhead_ms": over}
        )
        print(f"{name:<14} {plain[name] * 1e3:>11.2f} {loops[name] * 1e3:>15.2f} {over:>14.2f}")
    worst = max(r["overhead_ms"] for r in rows)
    print(f"worst overhead: {worst:.2f} ms (target: at most 2 ms)")
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "cell_overhead.json"), "w") as f:
        json.dump({"repeat": args.repeat, "rows": rows, "worst_overhead_ms": worst, "target_ms": 2.0}, f, indent=2)


if __name__ == "__main__":
    main()
