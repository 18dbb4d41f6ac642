#!/usr/bin/env python3
"""Validation of the cost model: predicted against measured time.

For each of the twelve benchmarks of share/benchmarks at several sizes, the
model predicts the time of every loop nest the function runs for the Python
interpreter, one CPU core and all CPU cores; the program then measures the
same three variants with ``loopscope.run(fn, *args, device=...)`` (warm:
compilation is excluded from both sides, the prediction is made with
``cpu_compiled``), prints a table and a summary, and writes JSON.

Summary figures:

- relative error |predicted - measured| / measured, per variant and overall
  (median and worst);
- the model's choice for the whole function (the variant with the smallest
  predicted total) against the oracle (the variant that was measured fastest):
  slowdown = measured(choice) / measured(oracle) - 1, averaged over all
  benchmark sizes.

Targets: median error <= 30 %, mean slowdown <= 5 %.

Usage::

    python bench/validate_costmodel.py [--sizes small,medium] [--repeat 3]
        [--benchmarks saxpy,gemm] [--out bench/results/costmodel.json]
    python bench/validate_costmodel.py --calibrate-gpu h100_sxm [--write]
    python bench/validate_costmodel.py --suite corpus|polybench|benchmarks|all [--quick] ...

``--suite`` validates nest by nest on the loop corpus, PolyBench, the
benchmarks or all three, with bench/validate_costmodel_corpus.py (see
there; its options follow).

Run with the engine on the path:
``PYTHONPATH=kernel/python:<build>/python .venv/bin/python bench/validate_costmodel.py``.

``--calibrate-gpu PROFILE`` (on a machine with an NVIDIA driver) measures
kernel-launch latency and host<->device copy bandwidth and latency through
libcuda.so.1 with ctypes (no build needed), prints them next to the
profile's figures and, with ``--write``, stores them in
share/hardware/PROFILE.json (``measured: true``). When the engine is also
built there, the table below includes the GPU (``--gpu-measure``).
"""

import argparse
import ctypes
import json
import math
import os
import platform
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "share"))

VARIANTS = ["python", "cpu-serial", "cpu"]
PARALLEL_MARGIN = 0.8  # as kParallelMargin in costmodel/src/model.cpp


# ------------------------------------------------------------- prediction --


def nest_prices(e):
    """Seconds of one execution of a nest on each device, from its estimate:
    ``{"python", "cpu-serial", "cpu", "gpu"}``. A nest the native variant
    declines (or the analysis could not clear) runs as Python; device "cpu"
    runs a nest with no parallel loop as serial native code."""
    by = {v["variant"]: v for v in e["variants"]}
    py = by["python"]["total"]
    serial = by["cpu-serial"]["total"] if by["cpu-serial"]["available"] else py
    par = by["cpu"]["total"] if by["cpu"]["available"] else serial
    return {"python": py, "cpu-serial": serial, "cpu": par, "gpu": by["gpu"]["total"]}


def model_choice(pred):
    """The variant the model picks from predicted seconds per variant (the
    rule of docs/costmodel.md, section 6): the parallel variant only when it
    beats the best single-threaded one by 20 %; on a tie (no parallel loop)
    the engine's default device "cpu"."""
    single = min(["python", "cpu-serial"], key=lambda v: pred[v])
    if pred["cpu"] < PARALLEL_MARGIN * pred[single]:
        return "cpu"
    if pred["cpu"] == pred[single] and single == "cpu-serial":
        return "cpu"
    return single


def predict(bench, size, gpu):
    """Predicted seconds per variant for one call of the benchmark function,
    plus the per-nest estimates."""
    from loopscope import _cost_hook

    args = bench.args(size)
    facts = {"cpu_compiled": True, "gpu_compiled": True}
    est = _cost_hook.estimate(bench.fn, *args, gpu=gpu, facts=facts, sweep=False)
    totals = {v: 0.0 for v in VARIANTS + ["gpu"]}
    nests = []
    for e in est["nests"]:
        if "variants" not in e:  # the nest could not be bound or analysed
            return None, [{"line": e.get("line"), "reason": e.get("reason", "")}], est
        reps = max(1, e.get("executions", 1))
        prices = nest_prices(e)
        py, serial, par, gpu_t = (prices[v] for v in VARIANTS + ["gpu"])
        totals["python"] += reps * py
        totals["cpu-serial"] += reps * serial
        totals["cpu"] += reps * par
        totals["gpu"] += reps * gpu_t
        nests.append(
            {
                "line": e.get("line"),
                "choice": e["choice"],
                "reason": e["reason"],
                "python": py,
                "cpu-serial": serial,
                "cpu": par,
                "gpu": gpu_t,
                "executions": reps,
            }
        )
    return totals, nests, est


# ------------------------------------------------------------ measurement --


def measure(bench, size, devices, repeat, clock="wall"):
    """Best wall time of one call on each device, the devices taking turns so
    that a burst of load from elsewhere hits them alike (fresh arguments each
    time; the first native call, which compiles, is not counted). A device
    that fails is reported as its exception text."""
    import loopscope

    def once(device):
        args = bench.args(size)
        # The thread clock counts only the time this thread ran: on a machine
        # shared with other work it is the time a single-threaded variant
        # needs when it has a core. The parallel variant is always timed by
        # the wall clock.
        tick = time.thread_time if clock == "thread" and device != "cpu" else time.perf_counter
        t0 = tick()
        if device == "plain":
            bench.fn(*args)
        else:
            loopscope.run(bench.fn, *args, device=device)
        return tick() - t0

    best = {}
    for d in devices:
        try:
            if d != "plain":
                once(d)  # compile and fill the variant cache
            best[d] = float("inf")
        except Exception as exc:  # reported in the table, not fatal
            best[d] = f"{type(exc).__name__}: {exc}"
    # `repeat` rounds (fewer when a case takes over 4 s in all, at least one);
    # fast cases get more (up to 200 rounds or about half a second), since a
    # short call is easily hit by other work.
    t_start = time.perf_counter()
    rounds = 0
    while True:
        elapsed = time.perf_counter() - t_start
        if rounds >= 1 and not (rounds < repeat and elapsed < 4.0) and not (rounds < 200 and elapsed < 0.5):
            break
        for d in devices:
            if isinstance(best[d], float):
                best[d] = min(best[d], once(d))
        rounds += 1
    return best


def run_status(device):
    from loopscope import _run

    return {k: (v["status"], v["reason"]) for k, v in _run.last_runs().items()}


# ------------------------------------------------------------------ main --


def fmt(s):
    if s is None or (isinstance(s, float) and math.isnan(s)):
        return "-"
    if s >= 1:
        return f"{s:.2f}s"
    if s >= 1e-3:
        return f"{s * 1e3:.2f}ms"
    return f"{s * 1e6:.0f}us"


def validate(args):
    import benchmarks
    from loopscope import _cost

    host = _cost.host_profile(recalibrate=args.recalibrate)
    names = args.benchmarks.split(",") if args.benchmarks else benchmarks.names()
    sizes = args.sizes.split(",")
    rows = []
    have_run = True
    try:
        import loopscope

        loopscope.run  # noqa: B018
    except Exception:
        have_run = False
    header = (
        f"{'benchmark':15s} {'size':6s} | "
        + " | ".join(f"{v:>10s} pred {'meas':>9s} {'err':>5s}" for v in VARIANTS)
        + " | choice     oracle     slowdown"
    )
    load = os.getloadavg()[0]
    if load > 0.5 * (os.cpu_count() or 1):
        print(
            f"note: load average {load:.1f} on {os.cpu_count()} CPUs; other work on this machine "
            "inflates the measured times (most of all the parallel ones)"
        )
    print(header)
    print("-" * len(header))
    for name in names:
        bench = benchmarks.get(name)
        for size in sizes:
            pred, nests, _ = predict(bench, size, args.gpu)
            if pred is None:
                print(f"{name:15s} {size:6s} | not estimated: {nests[0]['reason']}")
                rows.append({"benchmark": name, "size": size, "skipped": nests[0]["reason"]})
                continue
            notes = {}
            load_before = os.getloadavg()[0]
            devices = ["plain"] + (["cpu-serial", "cpu"] if have_run else [])
            got = measure(bench, size, devices, args.repeat, args.clock)
            meas = {"python": got["plain"]}
            for dev in ("cpu-serial", "cpu"):
                v = got.get(dev)
                meas[dev] = v if isinstance(v, float) else None
                if isinstance(v, str):
                    notes[dev] = v
            if have_run:
                notes["last_runs"] = run_status("cpu")
            notes["load_average"] = [load_before, os.getloadavg()[0]]
            err = {v: (abs(pred[v] - meas[v]) / meas[v] if meas.get(v) else None) for v in VARIANTS}
            measured = {v: meas[v] for v in VARIANTS if meas.get(v)}
            choice = model_choice(pred)
            oracle = min(measured, key=measured.get)
            slowdown = measured[choice] / measured[oracle] - 1 if choice in measured else None
            rows.append(
                {
                    "benchmark": name,
                    "size": size,
                    "params": bench.sizes[size],
                    "predicted": {v: pred[v] for v in VARIANTS + ["gpu"]},
                    "measured": meas,
                    "error": err,
                    "choice": choice,
                    "oracle": oracle,
                    "slowdown": slowdown,
                    "nests": nests,
                    "run_status": {k: str(v) for k, v in notes.items()},
                }
            )
            cells = " | ".join(
                f"{fmt(pred[v]):>15s} {fmt(meas.get(v)):>9s} "
                f"{(f'{100 * err[v]:.0f}%' if err[v] is not None else '-'):>5s}"
                for v in VARIANTS
            )
            sd = f"{100 * slowdown:.1f}%" if slowdown is not None else "-"
            print(f"{name:15s} {size:6s} | {cells} | {choice:10s} {oracle:10s} {sd:>8s}", flush=True)

    done = [r for r in rows if "skipped" not in r]
    errors = {v: [r["error"][v] for r in done if r["error"][v] is not None] for v in VARIANTS}
    all_err = [e for v in VARIANTS for e in errors[v]]
    slow = [r["slowdown"] for r in done if r["slowdown"] is not None]
    summary = {
        "median_error": statistics.median(all_err) if all_err else None,
        "worst_error": max(all_err) if all_err else None,
        "per_variant": {
            v: {
                "median_error": statistics.median(errors[v]) if errors[v] else None,
                "worst_error": max(errors[v]) if errors[v] else None,
                "count": len(errors[v]),
            }
            for v in VARIANTS
        },
        "mean_slowdown": statistics.mean(slow) if slow else None,
        "choices_matching_oracle": sum(1 for r in done if r["choice"] == r["oracle"]),
        "cases": len(done),
        "skipped": len(rows) - len(done),
        "targets": {"median_error": 0.30, "mean_slowdown": 0.05},
    }
    print()
    for v in VARIANTS:
        pv = summary["per_variant"][v]
        if pv["count"]:
            print(
                f"{v:10s}: median error {100 * pv['median_error']:.1f}%, worst {100 * pv['worst_error']:.1f}% "
                f"over {pv['count']} cases"
            )
        else:
            print(f"{v:10s}: not measured (loopscope.run is not available)")
    if all_err:
        ok = "meets" if summary["median_error"] <= 0.30 else "MISSES"
        print(
            f"overall   : median error {100 * summary['median_error']:.1f}% ({ok} the 30% target), "
            f"worst {100 * summary['worst_error']:.1f}%"
        )
    if slow:
        ok = "meets" if summary["mean_slowdown"] <= 0.05 else "MISSES"
        print(
            f"choice    : mean slowdown against the oracle {100 * summary['mean_slowdown']:.1f}% "
            f"({ok} the 5% target); the choice is the oracle in "
            f"{summary['choices_matching_oracle']} of {summary['cases']} cases"
        )
    out = {
        "machine": {
            "platform": platform.platform(),
            "python": sys.version.split()[0],
            "cpu": host.get("cpu_model"),
            "cores": host.get("cores"),
        },
        "host_profile": host,
        "gpu_profile": args.gpu,
        "sizes": sizes,
        "repeat": args.repeat,
        "clock": args.clock,
        "rows": rows,
        "summary": summary,
        "generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(out, f, indent=1, default=str)
        print(f"wrote {args.out}")
    return out


# ------------------------------------------------------- GPU calibration --

_EMPTY_PTX = b"""
.version 7.0
.target sm_70
.address_size 64
.visible .entry ls_empty()
{
    ret;
}
"""


class _Cuda:
    """The handful of driver calls the calibration needs (versioned names)."""

    def __init__(self):
        self.lib = ctypes.CDLL("libcuda.so.1")
        self._check(self.lib.cuInit(0), "cuInit")
        dev = ctypes.c_int()
        self._check(self.lib.cuDeviceGet(ctypes.byref(dev), 0), "cuDeviceGet")
        self.ctx = ctypes.c_void_p()
        self._check(self.lib.cuDevicePrimaryCtxRetain(ctypes.byref(self.ctx), dev), "cuDevicePrimaryCtxRetain")
        self._check(self.lib.cuCtxSetCurrent(self.ctx), "cuCtxSetCurrent")
        name = ctypes.create_string_buffer(256)
        self.lib.cuDeviceGetName(name, 256, dev)
        self.name = name.value.decode()

    @staticmethod
    def _check(rc, what):
        if rc != 0:
            raise RuntimeError(f"{what} failed with CUDA error {rc}")

    def alloc(self, nbytes):
        p = ctypes.c_uint64()
        self._check(self.lib.cuMemAlloc_v2(ctypes.byref(p), ctypes.c_size_t(nbytes)), "cuMemAlloc")
        return p

    def free(self, p):
        self.lib.cuMemFree_v2(p)

    def htod(self, dst, src, nbytes):
        self._check(self.lib.cuMemcpyHtoD_v2(dst, src, ctypes.c_size_t(nbytes)), "cuMemcpyHtoD")

    def dtoh(self, dst, src, nbytes):
        self._check(self.lib.cuMemcpyDtoH_v2(dst, src, ctypes.c_size_t(nbytes)), "cuMemcpyDtoH")

    def empty_kernel(self):
        mod = ctypes.c_void_p()
        self._check(self.lib.cuModuleLoadData(ctypes.byref(mod), ctypes.c_char_p(_EMPTY_PTX)), "cuModuleLoadData")
        fn = ctypes.c_void_p()
        self._check(self.lib.cuModuleGetFunction(ctypes.byref(fn), mod, b"ls_empty"), "cuModuleGetFunction")
        return fn

    def launch(self, fn, blocks=1, threads=32):
        self._check(self.lib.cuLaunchKernel(fn, blocks, 1, 1, threads, 1, 1, 0, None, None, None), "cuLaunchKernel")

    def sync(self):
        self._check(self.lib.cuCtxSynchronize(), "cuCtxSynchronize")


def calibrate_gpu(profile, write):
    path = os.path.join(ROOT, "share", "hardware", profile + ".json")
    with open(path) as f:
        prof = json.load(f)
    try:
        cu = _Cuda()
    except OSError as exc:
        print(f"no CUDA driver on this machine ({exc}); nothing to calibrate")
        return 1
    print(f"device: {cu.name}")
    fn = cu.empty_kernel()
    for _ in range(20):
        cu.launch(fn)
    cu.sync()
    # Launch + synchronise, as the engine does once per kernel.
    reps = 200
    t0 = time.perf_counter()
    for _ in range(reps):
        cu.launch(fn)
        cu.sync()
    launch_us = (time.perf_counter() - t0) / reps * 1e6
    # Copies from ordinary (pageable) host memory, as the engine makes them.
    small = 8
    big = 256 << 20
    host_small = ctypes.create_string_buffer(small)
    host_big = ctypes.create_string_buffer(big)
    dev = cu.alloc(big)
    for _ in range(10):
        cu.htod(dev, host_small, small)
    t0 = time.perf_counter()
    for _ in range(reps):
        cu.htod(dev, host_small, small)
    lat_h2d = (time.perf_counter() - t0) / reps * 1e6
    t0 = time.perf_counter()
    for _ in range(reps):
        cu.dtoh(host_small, dev, small)
    lat_d2h = (time.perf_counter() - t0) / reps * 1e6
    cu.htod(dev, host_big, big)
    best_h2d = best_d2h = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        cu.htod(dev, host_big, big)
        best_h2d = min(best_h2d, time.perf_counter() - t0)
        t0 = time.perf_counter()
        cu.dtoh(host_big, dev, big)
        best_d2h = min(best_d2h, time.perf_counter() - t0)
    cu.free(dev)
    bw = big / ((best_h2d + best_d2h) / 2) / 1e9
    lat = (lat_h2d + lat_d2h) / 2
    print(f"{'figure':28s} {'profile':>10s} {'measured':>10s}")
    print(f"{'launch_overhead_us':28s} {prof['launch_overhead_us']:>10.2f} {launch_us:>10.2f}")
    print(f"{'host_link_latency_us':28s} {prof['host_link_latency_us']:>10.2f} {lat:>10.2f}")
    print(
        f"{'host_link_bandwidth_gbs':28s} {prof['host_link_bandwidth_gbs']:>10.2f} {bw:>10.2f}"
        f"   (to device {big / best_h2d / 1e9:.1f}, from device {big / best_d2h / 1e9:.1f})"
    )
    if write:
        prof["launch_overhead_us"] = round(launch_us, 2)
        prof["host_link_latency_us"] = round(lat, 2)
        prof["host_link_bandwidth_gbs"] = round(bw, 2)
        prof["measured"] = True
        prof.setdefault("sources", []).append(
            f"launch_overhead_us, host_link_latency_us and host_link_bandwidth_gbs measured on {cu.name} "
            f"with bench/validate_costmodel.py --calibrate-gpu on {time.strftime('%Y-%m-%d', time.gmtime())}"
        )
        with open(path, "w") as f:
            json.dump(prof, f, indent=2)
            f.write("\n")
        print(f"wrote {path}")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="small,medium,large")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--benchmarks", default="")
    ap.add_argument("--gpu", default=os.environ.get("LOOPSCOPE_GPU", "h100_sxm"))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "costmodel.json"))
    ap.add_argument("--recalibrate", action="store_true", help="measure the host again first")
    ap.add_argument(
        "--clock",
        choices=["wall", "thread"],
        default="wall",
        help="thread: time Python and CPU serial by this thread's CPU time (for a "
        "machine shared with other work); the parallel variant is always wall time",
    )
    ap.add_argument("--calibrate-gpu", metavar="PROFILE", default="")
    ap.add_argument("--write", action="store_true", help="with --calibrate-gpu: update the profile")
    ap.add_argument(
        "--suite",
        choices=["benchmarks", "corpus", "polybench", "all"],
        default="",
        help="validate nest by nest on these suites with bench/validate_costmodel_corpus.py "
        "(the options after it are that program's); without it, the benchmarks function by function",
    )
    args, rest = ap.parse_known_args()
    if args.suite:
        import validate_costmodel_corpus

        validate_costmodel_corpus.main(["--suite", args.suite] + rest)
        return 0
    if rest:
        ap.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.calibrate_gpu:
        return calibrate_gpu(args.calibrate_gpu, args.write)
    validate(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
