"""Benchmark of the CPU variant on the twelve benchmarks (share/benchmarks).

For each benchmark at one size (default: large) it times CPython, Loopscope
CPU serial and CPU parallel (warm: the variant cache is hit), Numba @njit,
Numba @njit(parallel=True) with prange where that is legal, and NumPy
vectorised code where it is natural. It also measures the first-call latency
(analysis + compilation) of Loopscope against Numba's, the dispatch overhead
of a call that hits the variant cache, and the machine's STREAM-triad
bandwidth with the fraction of it that the bandwidth-bound benchmarks reach.

Prints a table, writes JSON (bench/results/cpu.json) and the Markdown table
(docs/cpu-benchmarks.md). Not a test: nothing here asserts timings.

    PYTHONPATH=kernel/python:<build>/python .venv/bin/python bench/bench_cpu.py [--size large] [--quick]
"""

import argparse
import json
import math
import os
import platform
import sys
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "share"))

import benchmarks  # noqa: E402
import _loopscope  # noqa: E402
import loopscope  # noqa: E402
from loopscope import _run  # noqa: E402

try:
    import numba
    from numba import njit, prange
except Exception:  # numba is optional for the table
    numba = None


# ---- Numba prange versions (only where the parallel loop is legal) -----------


def _prange_versions():
    if numba is None:
        return {}

    @njit(parallel=True)
    def saxpy(a, x, y):
        n = x.shape[0]
        for i in prange(n):
            y[i] = a * x[i] + y[i]

    @njit(parallel=True)
    def black_scholes(S, K, T, r, v, call, put):
        n = S.shape[0]
        for i in prange(n):
            sqrt_t = math.sqrt(T[i])
            d1 = (math.log(S[i] / K[i]) + (r + 0.5 * v * v) * T[i]) / (v * sqrt_t)
            d2 = d1 - v * sqrt_t
            nd1 = 0.5 * (1.0 + math.erf(d1 / math.sqrt(2.0)))
            nd2 = 0.5 * (1.0 + math.erf(d2 / math.sqrt(2.0)))
            discount = math.exp(-r * T[i])
            call[i] = S[i] * nd1 - K[i] * discount * nd2
            put[i] = K[i] * discount * (1.0 - nd2) - S[i] * (1.0 - nd1)

    @njit(parallel=True)
    def gemm(alpha, beta, C, A, B):
        ni, nk = A.shape
        nj = B.shape[1]
        for i in prange(ni):
            for j in range(nj):
                C[i, j] *= beta
                for k in range(nk):
                    C[i, j] += alpha * A[i, k] * B[k, j]

    @njit(parallel=True)
    def mvt(x1, x2, y1, y2, A):
        n = A.shape[0]
        for i in prange(n):
            for j in range(n):
                x1[i] = x1[i] + A[i, j] * y1[j]
        for i in prange(n):
            for j in range(n):
                x2[i] = x2[i] + A[j, i] * y2[j]

    @njit(parallel=True)
    def conv2d(img, w, out):
        h, wd = out.shape
        kh, kw = w.shape
        for i in prange(h):
            for j in range(wd):
                for di in range(kh):
                    for dj in range(kw):
                        out[i, j] += img[i + di, j + dj] * w[di, dj]

    @njit(parallel=True)
    def jacobi_2d(A, B, tsteps):
        n = A.shape[0]
        for t in range(tsteps):
            for i in prange(1, n - 1):
                for j in range(1, n - 1):
                    B[i, j] = 0.2 * (A[i, j] + A[i, j - 1] + A[i, j + 1] + A[i + 1, j] + A[i - 1, j])
            for i in prange(1, n - 1):
                for j in range(1, n - 1):
                    A[i, j] = 0.2 * (B[i, j] + B[i, j - 1] + B[i, j + 1] + B[i + 1, j] + B[i - 1, j])

    @njit(parallel=True)
    def heat_3d(A, B, tsteps):
        n = A.shape[0]
        for t in range(tsteps):
            for i in prange(1, n - 1):
                for j in range(1, n - 1):
                    for k in range(1, n - 1):
                        B[i, j, k] = (
                            0.125 * (A[i + 1, j, k] - 2.0 * A[i, j, k] + A[i - 1, j, k])
                            + 0.125 * (A[i, j + 1, k] - 2.0 * A[i, j, k] + A[i, j - 1, k])
                            + 0.125 * (A[i, j, k + 1] - 2.0 * A[i, j, k] + A[i, j, k - 1])
                            + A[i, j, k]
                        )
            for i in prange(1, n - 1):
                for j in range(1, n - 1):
                    for k in range(1, n - 1):
                        A[i, j, k] = (
                            0.125 * (B[i + 1, j, k] - 2.0 * B[i, j, k] + B[i - 1, j, k])
                            + 0.125 * (B[i, j + 1, k] - 2.0 * B[i, j, k] + B[i, j - 1, k])
                            + 0.125 * (B[i, j, k + 1] - 2.0 * B[i, j, k] + B[i, j, k - 1])
                            + B[i, j, k]
                        )

    @njit(parallel=True)
    def lu(A):
        n = A.shape[0]
        for k in range(n):
            for i in prange(k + 1, n):
                A[i, k] = A[i, k] / A[k, k]
                for j in range(k + 1, n):
                    A[i, j] -= A[i, k] * A[k, j]

    @njit(parallel=True)
    def floyd_warshall(D):
        n = D.shape[0]
        for k in range(n):
            for i in prange(n):
                for j in range(n):
                    D[i, j] = min(D[i, j], D[i, k] + D[k, j])

    @njit(parallel=True)
    def nbody(x, y, z, m, fx, fy, fz, eps):
        n = x.shape[0]
        for i in prange(n):
            for j in range(n):
                dx = x[j] - x[i]
                dy = y[j] - y[i]
                dz = z[j] - z[i]
                r2 = dx * dx + dy * dy + dz * dz + eps
                inv = m[j] / (r2 * math.sqrt(r2))
                fx[i] += dx * inv
                fy[i] += dy * inv
                fz[i] += dz * inv

    @njit(parallel=True)
    def covariance(data, mean, cov):
        n, m = data.shape
        for j in prange(m):
            mean[j] = 0.0
            for i in range(n):
                mean[j] += data[i, j]
            mean[j] /= n
        for i in prange(n):
            for j in range(m):
                data[i, j] -= mean[j]
        for i in prange(m):
            for j in range(i, m):
                cov[i, j] = 0.0
                for k in range(n):
                    cov[i, j] += data[k, i] * data[k, j]
                cov[i, j] /= n - 1.0
                cov[j, i] = cov[i, j]

    return {
        "saxpy": saxpy,
        "black_scholes": black_scholes,
        "gemm": gemm,
        "mvt": mvt,
        "conv2d": conv2d,
        "jacobi_2d": jacobi_2d,
        "heat_3d": heat_3d,
        "lu": lu,
        "floyd_warshall": floyd_warshall,
        "nbody": nbody,
        "covariance": covariance,
    }  # seidel_2d: no legal prange


# ---- NumPy vectorised versions (where natural) -------------------------------


def np_saxpy(a, x, y):
    y += a * x


def np_gemm(alpha, beta, C, A, B):
    C *= beta
    C += alpha * (A @ B)


def np_mvt(x1, x2, y1, y2, A):
    x1 += A @ y1
    x2 += A.T @ y2


def np_conv2d(img, w, out):
    h, wd = out.shape
    kh, kw = w.shape
    for di in range(kh):
        for dj in range(kw):
            out += img[di : di + h, dj : dj + wd] * w[di, dj]


def np_jacobi_2d(A, B, tsteps):
    for t in range(tsteps):
        B[1:-1, 1:-1] = 0.2 * (A[1:-1, 1:-1] + A[1:-1, :-2] + A[1:-1, 2:] + A[2:, 1:-1] + A[:-2, 1:-1])
        A[1:-1, 1:-1] = 0.2 * (B[1:-1, 1:-1] + B[1:-1, :-2] + B[1:-1, 2:] + B[2:, 1:-1] + B[:-2, 1:-1])


def np_heat_3d(A, B, tsteps):
    for t in range(tsteps):
        for S, D in ((A, B), (B, A)):
            c = S[1:-1, 1:-1, 1:-1]
            D[1:-1, 1:-1, 1:-1] = (
                0.125 * (S[2:, 1:-1, 1:-1] - 2.0 * c + S[:-2, 1:-1, 1:-1])
                + 0.125 * (S[1:-1, 2:, 1:-1] - 2.0 * c + S[1:-1, :-2, 1:-1])
                + 0.125 * (S[1:-1, 1:-1, 2:] - 2.0 * c + S[1:-1, 1:-1, :-2])
                + c
            )


def np_floyd_warshall(D):
    n = D.shape[0]
    for k in range(n):
        np.minimum(D, D[:, k : k + 1] + D[k : k + 1, :], out=D)


def np_nbody(x, y, z, m, fx, fy, fz, eps):
    dx = x[None, :] - x[:, None]
    dy = y[None, :] - y[:, None]
    dz = z[None, :] - z[:, None]
    r2 = dx * dx + dy * dy + dz * dz + eps
    inv = m[None, :] / (r2 * np.sqrt(r2))
    fx += (dx * inv).sum(axis=1)
    fy += (dy * inv).sum(axis=1)
    fz += (dz * inv).sum(axis=1)


def np_covariance(data, mean, cov):
    n = data.shape[0]
    mean[:] = data.mean(axis=0)
    data -= mean
    cov[:] = (data.T @ data) / (n - 1.0)


NUMPY = {
    "saxpy": np_saxpy,
    "gemm": np_gemm,
    "mvt": np_mvt,
    "conv2d": np_conv2d,
    "jacobi_2d": np_jacobi_2d,
    "heat_3d": np_heat_3d,
    "floyd_warshall": np_floyd_warshall,
    "nbody": np_nbody,
    "covariance": np_covariance,
}


# ---- timing -----------------------------------------------------------------


def timed(fn, make_args, repeat):
    best = math.inf
    for _ in range(repeat):
        args = make_args()
        t0 = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - t0)
    return best


def first_and_warm(fn, make_args, repeat):
    args = make_args()
    t0 = time.perf_counter()
    fn(*args)
    first = time.perf_counter() - t0
    warm = timed(fn, make_args, repeat)
    return first, warm


def stream_triad(n=10_000_000, repeat=10):
    """Best of `repeat` triads a[i] = b[i] + s * c[i] (24 bytes per element,
    as STREAM counts) with every available parallel code generator."""
    b = np.random.default_rng(0).random(n)
    c = np.random.default_rng(1).random(n)
    a = np.zeros(n)

    def triad(a, b, c, s):
        n = a.shape[0]
        for i in range(n):
            a[i] = b[i] + s * c[i]

    results = {}
    loopscope.run(triad, a, b, c, 3.0, device="cpu")
    results["loopscope"] = timed(lambda *x: loopscope.run(triad, *x, device="cpu"), lambda: (a, b, c, 3.0), repeat)
    if numba is not None:

        @njit(parallel=True)
        def ntriad(a, b, c, s):
            for i in prange(a.shape[0]):
                a[i] = b[i] + s * c[i]

        ntriad(a, b, c, 3.0)
        results["numba"] = timed(ntriad, lambda: (a, b, c, 3.0), repeat)
    best = min(results.values())
    # saxpy on arrays of the same size (out of cache like the triad): y = a*x + y
    sax = benchmarks.get("saxpy").fn
    saxpy_s = {}
    for dev in ("cpu-serial", "cpu"):
        loopscope.run(sax, 2.5, b, a, device=dev)
        saxpy_s[dev] = timed(lambda *x, dev=dev: loopscope.run(sax, *x, device=dev), lambda: (2.5, b, a), repeat)
    saxpy_gbps = 24 * n / min(saxpy_s.values()) / 1e9
    return {
        "n": n,
        "bytes": 24 * n,
        "seconds": results,
        "GBps": 24 * n / best / 1e9,
        "saxpy_same_size_seconds": saxpy_s,
        "saxpy_same_size_GBps": saxpy_gbps,
    }


def dispatch_overhead(repeat=2000):
    """Cost of a call whose nest hits the variant cache, on a 1-element saxpy."""
    b = benchmarks.get("saxpy")
    x = np.ones(1)
    y = np.ones(1)
    _run.reset_last_runs()
    loopscope.run(b.fn, 2.0, x, y, device="cpu")
    loopscope.run(b.fn, 2.0, x, y, device="cpu-serial")

    def per_call(f):
        t0 = time.perf_counter()
        for _ in range(repeat):
            f()
        return (time.perf_counter() - t0) / repeat * 1e6

    plain = per_call(lambda: b.fn(2.0, x, y))
    full = per_call(lambda: loopscope.run(b.fn, 2.0, x, y, device="cpu-serial"))
    (nest_id,) = _run.last_runs()
    env = {"n": 1, "a": 2.0, "x": x, "y": y}
    engine = per_call(lambda: _loopscope.cpu_run(nest_id, env, False))
    return {"python_call_us": plain, "loopscope_run_us": full, "engine_cpu_run_us": engine, "overhead_us": full - plain}


# ---- the table --------------------------------------------------------------


def geomean(xs):
    xs = [x for x in xs if x and x > 0 and math.isfinite(x)]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="large")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="medium size, one repeat")
    ap.add_argument("--json", default=os.path.join(ROOT, "bench", "results", "cpu.json"))
    ap.add_argument("--markdown", default=os.path.join(ROOT, "docs", "cpu-benchmarks.md"))
    ap.add_argument("--only", default="")
    ap.add_argument("--from-json", action="store_true", help="only rewrite the Markdown from the JSON")
    opts = ap.parse_args()
    if opts.quick:
        opts.size, opts.repeat = "medium", 1
    if opts.from_json:
        with open(opts.json) as f:
            md = markdown(json.load(f))
        with open(opts.markdown, "w") as f:
            f.write(md)
        print(md)
        return
    names = [n for n in benchmarks.names() if not opts.only or n in opts.only.split(",")]
    pr = _prange_versions()
    rows = []
    for name in names:
        b = benchmarks.get(name)
        mk = lambda b=b: b.args(opts.size)  # noqa: E731
        row = {"name": name}
        row["cpython"] = timed(b.fn, mk, 1)
        for dev, key in (("cpu-serial", "ls_serial"), ("cpu", "ls_parallel")):
            firsts, engines = [], []
            for t in range(3):  # the best of 3 first calls (the machine may be busy)
                _loopscope.cpu_clear_cache()
                _run.reset_last_runs()
                args = mk()
                t0 = time.perf_counter()
                loopscope.run(b.fn, *args, device=dev)
                firsts.append(time.perf_counter() - t0)
                recs = list(_run.last_runs().values())
                # what the engine spent before running: binding, dynamic
                # analysis, specialisation and compilation, over every nest
                engines.append(
                    sum(
                        r["timing"].get("bind_us", 0) / 1e6
                        + r["timing"].get("analysis_us", 0) / 1e6
                        + r["timing"].get("specialise_ms", 0) / 1e3
                        + r["timing"].get("compile_ms", 0) / 1e3
                        for r in recs
                    )
                )
                row[key + "_first_tiers"] = sorted({r["timing"].get("tier", "?") for r in recs})
                # optimised code that builds in the background is in before warm runs
                _loopscope.cpu_wait_compiles()
                if t == 0:
                    warm = timed(lambda *a, dev=dev: loopscope.run(b.fn, *a, device=dev), mk, opts.repeat)
            runs = list(_run.last_runs().values())
            row[key] = warm
            row[key + "_first_overhead"] = max(0.0, min(firsts) - warm)
            row[key + "_first_engine"] = min(engines)
            row[key + "_status"] = sorted({r["status"] for r in runs})
            if dev == "cpu":
                row["parallel_loops"] = [r["parallel_loops"] for r in runs]
        if numba is not None:
            firsts = []
            for t in range(3):  # a fresh dispatcher compiles again
                first, w = first_and_warm(njit(b.fn), mk, opts.repeat if t == 0 else 1)
                firsts.append(first)
                if t == 0:
                    warm = w
            row["numba"], row["numba_first_overhead"] = warm, max(0.0, min(firsts) - warm)
            if name in pr:
                first, warm = first_and_warm(pr[name], mk, opts.repeat)
                row["numba_parallel"], row["numba_parallel_first_overhead"] = warm, max(0.0, first - warm)
        if name in NUMPY:
            row["numpy"] = timed(NUMPY[name], mk, opts.repeat)
        rows.append(row)
        print(
            f"{name:15s} cpython {row['cpython']:8.3f}s  ls-serial {row['ls_serial']*1e3:9.2f}ms  "
            f"ls-par {row['ls_parallel']*1e3:9.2f}ms  numba {row.get('numba', float('nan'))*1e3:9.2f}ms  "
            f"numba-par {row.get('numba_parallel', float('nan'))*1e3:9.2f}ms  "
            f"numpy {row.get('numpy', float('nan'))*1e3:9.2f}ms",
            flush=True,
        )

    triad = stream_triad()
    triad2 = stream_triad()  # twice: the machine may be shared; keep the better
    if triad2["GBps"] > triad["GBps"]:
        triad = triad2
    disp = dispatch_overhead()
    bw = {}
    for row in rows:
        if row["name"] == "saxpy":
            n = benchmarks.get("saxpy").sizes[opts.size]["n"]
            bytes_ = 24 * n
        elif row["name"] == "mvt":
            n = benchmarks.get("mvt").sizes[opts.size]["n"]
            bytes_ = 2 * 8 * n * n
        else:
            continue
        gbps = bytes_ / min(row["ls_parallel"], row["ls_serial"]) / 1e9
        bw[row["name"]] = {"GBps": gbps, "fraction_of_triad": gbps / triad["GBps"]}

    summary = {
        "geomean_speedup_vs_cpython": {
            k: geomean([r["cpython"] / r[k] for r in rows if k in r])
            for k in ("ls_serial", "ls_parallel", "numba", "numba_parallel", "numpy")
        },
        # Numba @njit stands in where no prange is legal (seidel_2d), as in the table
        "geomean_ls_parallel_vs_numba_parallel": geomean(
            [(r.get("numba_parallel") or r["numba"]) / r["ls_parallel"] for r in rows if "numba" in r]
        ),
        "geomean_ls_best_vs_numba_best": geomean(
            [
                min(r.get("numba", math.inf), r.get("numba_parallel", math.inf)) / min(r["ls_serial"], r["ls_parallel"])
                for r in rows
                if "numba" in r
            ]
        ),
        "first_call_overhead_s": {
            "loopscope": geomean([r["ls_parallel_first_overhead"] for r in rows]),
            "loopscope_engine": geomean([r["ls_parallel_first_engine"] for r in rows]),
            "numba": geomean([r.get("numba_first_overhead") for r in rows]),
        },
    }
    result = {
        "load_average": os.getloadavg(),
        "size": opts.size,
        "repeat": opts.repeat,
        "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "threads": _loopscope.cpu_threads(),
        "numba": getattr(numba, "__version__", None),
        "numpy": np.__version__,
        "rows": rows,
        "stream_triad": triad,
        "bandwidth": bw,
        "dispatch": disp,
        "summary": summary,
    }
    os.makedirs(os.path.dirname(opts.json), exist_ok=True)
    with open(opts.json, "w") as f:
        json.dump(result, f, indent=1)
    md = markdown(result)
    print(md)
    if opts.markdown:
        os.makedirs(os.path.dirname(opts.markdown), exist_ok=True)
        with open(opts.markdown, "w") as f:
            f.write(md)


def markdown(res):
    def ms(x):
        return "–" if x is None else f"{x * 1e3:.2f}"

    lines = [
        "# CPU variant: benchmark results",
        "",
        f"Size `{res['size']}`, best of {res['repeat']} warm runs (the variant cache hit), "
        f"{res['cpus']} CPUs, {res['threads']} threads, NumPy {res['numpy']}, Numba {res['numba']}. "
        "Times in milliseconds (CPython: one run). Produced by `bench/bench_cpu.py`; "
        "raw numbers in `bench/results/cpu.json`.",
        "",
        f"Load average when the run ended: {', '.join(f'{x:.1f}' for x in res['load_average'])} "
        f"on {res['cpus']} CPUs. When it is above the number of CPUs, the machine was shared with other "
        "work during the run: parallel times (Loopscope's and Numba's) are then not representative, "
        "and single timings vary by up to 2x between runs.",
        "",
        "| benchmark | CPython | Loopscope serial | Loopscope parallel | Numba | Numba parallel | NumPy | "
        "speed-up vs CPython | vs Numba parallel | parallel loops |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in res["rows"]:
        best = min(r["ls_serial"], r["ls_parallel"])
        npar = r.get("numba_parallel") or r.get("numba")
        lines.append(
            f"| {r['name']} | {ms(r['cpython'])} | {ms(r['ls_serial'])} | {ms(r['ls_parallel'])} | "
            f"{ms(r.get('numba'))} | {ms(r.get('numba_parallel'))} | {ms(r.get('numpy'))} | "
            f"{r['cpython'] / best:.0f}x | {npar / r['ls_parallel']:.2f} | "
            f"{', '.join(p or '–' for p in r.get('parallel_loops', []))} |"
        )
    s = res["summary"]
    g = s["geomean_speedup_vs_cpython"]
    lines += [
        "",
        "Geometric-mean speed-up over CPython: " + ", ".join(f"{k} {v:.0f}x" for k, v in g.items()) + ".",
        f"Loopscope parallel against Numba parallel (prange; Numba @njit where no prange is legal): "
        f"geometric mean {s['geomean_ls_parallel_vs_numba_parallel']:.2f} (above 1: Loopscope faster). "
        f"Best Loopscope variant against best Numba variant: {s['geomean_ls_best_vs_numba_best']:.2f}.",
        "",
        "## First-call latency",
        "",
        "A first call compiles. Loopscope compiles in two tiers: when the cost model expects quick code "
        "(a few passes, fast instruction selection; a few ms to compile, slower to run) to cost less than "
        "waiting for O3 code, it compiles quick code, runs it, and builds the O3 code on a background thread "
        "that replaces it for later calls; otherwise it waits for the O3 code. Both tiers give the same "
        "results bit for bit. Warm runs below are the O3 code.",
        "",
        "- *analysis + compile*: what Loopscope spends before the native code starts, as the engine measures "
        "it (binding the values, the run-time dependence analysis, specialisation, code generation and "
        "compilation), over all the nests of the benchmark;",
        "- *first − warm*: the wall time of the first call minus a warm call (best of 3 first calls). For "
        "Loopscope it also contains the slower quick code's extra run time; it excludes rewriting the "
        "function's source (once per function, about 2-5 ms);",
        "- Numba's figure is its first call minus a warm call: type inference and compilation.",
        "",
        "| benchmark | first-call tier | Loopscope analysis + compile (ms) | Loopscope first − warm (ms) | "
        "Numba @njit first − warm (ms) | ratio (analysis + compile) | ratio (first − warm) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in res["rows"]:
        lo, nu = r["ls_parallel_first_overhead"], r.get("numba_first_overhead")
        en = r.get("ls_parallel_first_engine", float("nan"))
        tiers = ", ".join(r.get("ls_parallel_first_tiers", []))
        lines.append(
            f"| {r['name']} | {tiers} | {en * 1e3:.1f} | {lo * 1e3:.1f} | {ms(nu)} | "
            f"{(en / nu if nu else float('nan')):.3f} | {(lo / nu if nu else float('nan')):.3f} |"
        )
    f = s["first_call_overhead_s"]
    lines += [
        "",
        f"Geometric means: Loopscope analysis + compile {f.get('loopscope_engine', float('nan')) * 1e3:.1f} ms, "
        f"Loopscope first − warm {f['loopscope'] * 1e3:.1f} ms, Numba {(f['numba'] or 0) * 1e3:.1f} ms "
        f"(ratios {f.get('loopscope_engine', float('nan')) / (f['numba'] or float('nan')):.3f} and "
        f"{f['loopscope'] / (f['numba'] or float('nan')):.3f}).",
        "",
        "## Dispatch overhead on a cache hit (1-element saxpy)",
        "",
        f"- plain Python call: {res['dispatch']['python_call_us']:.1f} µs",
        f"- `loopscope.run(..., device='cpu-serial')`: {res['dispatch']['loopscope_run_us']:.1f} µs "
        f"(overhead {res['dispatch']['overhead_us']:.1f} µs)",
        f"- engine entry `_loopscope.cpu_run` alone (bind values, plan cache, variant cache, run): "
        f"{res['dispatch']['engine_cpu_run_us']:.1f} µs",
        "",
        "## Memory bandwidth",
        "",
        f"STREAM triad (`a[i] = b[i] + s * c[i]`, {res['stream_triad']['n']:,} doubles, 24 bytes per element): "
        f"{res['stream_triad']['GBps']:.1f} GB/s (best of Loopscope and Numba prange).",
        "",
    ]
    t = res["stream_triad"]
    lines.append(
        f"- saxpy on {t['n']:,} doubles (same working set as the triad, out of cache): "
        f"{t['saxpy_same_size_GBps']:.1f} GB/s, {100 * t['saxpy_same_size_GBps'] / t['GBps']:.0f}% of triad"
    )
    lines.append(
        "- STREAM counts 24 bytes per element for both; the triad's store to an array it does "
        "not read also costs a write-allocate read, saxpy's in-place update does not, so saxpy "
        "can exceed 100% of the triad figure"
    )
    lines.append(
        "- at the benchmark's large size (below) part of the 64 MB working set stays in the " "last-level cache"
    )
    for name, v in res["bandwidth"].items():
        lines.append(
            f"- {name} (best Loopscope variant): {v['GBps']:.1f} GB/s, " f"{100 * v['fraction_of_triad']:.0f}% of triad"
        )
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
