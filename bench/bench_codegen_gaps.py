"""PolyBench kernels where Loopscope's cpu-serial code trailed Numba's @njit
(docs/cpu-benchmarks.md, "PolyBench code-generation gaps"): warm
``loopscope.run(fn, *args, device="cpu-serial")`` against ``numba.njit(fn)``
on the same function, best of N calls with fresh arguments made outside the
timed region, and per nest the native run time (``run_ms``: snapshot and
machine code), the binding and the plan-cache look-up, and the bytes saved
before the run.

    PYTHONPATH=kernel/python:build/python:share .venv/bin/python bench/bench_codegen_gaps.py [kernels] [size] [calls]
"""

import sys
import time

import numba
import polybench

import _loopscope
import loopscope
from loopscope import _run

KERNELS = ["gesummv", "trisolv", "atax", "jacobi-1d", "durbin", "gemver", "floyd-warshall", "deriche", "lu"]


def main():
    names = sys.argv[1].split(",") if len(sys.argv) > 1 and sys.argv[1] else KERNELS
    size = sys.argv[2] if len(sys.argv) > 2 else "medium"
    calls = int(sys.argv[3]) if len(sys.argv) > 3 else 15
    for name in names:
        k = polybench.get(name)
        loopscope.run(k.fn, *k.args(size), device="cpu-serial")
        _loopscope.cpu_wait_compiles()
        best, total = {}, []
        for _ in range(calls):
            args = k.args(size)
            _run.reset_last_runs()
            t0 = time.perf_counter()
            loopscope.run(k.fn, *args, device="cpu-serial")
            total.append(time.perf_counter() - t0)
            for nid, r in _run.last_runs().items():
                t = r["timing"]
                cur = (t["run_ms"] * 1e3, t["bind_us"], t["analysis_us"], t["snapshot_bytes"])
                if nid not in best or cur[0] < best[nid][0]:
                    best[nid] = cur
        nf = numba.njit(k.fn)
        nf(*k.args(size))
        nt = []
        for _ in range(calls):
            args = k.args(size)
            t0 = time.perf_counter()
            nf(*args)
            nt.append(time.perf_counter() - t0)
        ls, nb = min(total) * 1e6, min(nt) * 1e6
        native = sum(v[0] for v in best.values())
        nests = " ".join(f"[run {v[0]:.1f} bind {v[1]:.1f} plan {v[2]:.1f} saved {v[3]}]" for v in best.values())
        print(
            f"{name:15s} cpu-serial {ls:9.1f} us  numba {nb:9.1f} us  ratio {ls / nb:5.2f} | "
            f"native {native:9.1f} us (ratio {native / nb:5.2f})  {nests}",
            flush=True,
        )


if __name__ == "__main__":
    main()
