"""PolyBench/C 4.2 (share/polybench.py): CPython, Loopscope and Numba side by
side, one dataset per run.

For each of the 30 kernels at one dataset (``--size small`` or ``medium``) it
times, with fresh arguments made outside the timed region:

- CPython: the plain function, one run. When the run would take more than
  ``--cpython-limit`` seconds (estimated from the next smaller dataset,
  measured in the same run, times the ratio of the kernel's leading work
  term), it is not run: the estimate is recorded and marked extrapolated;
- Loopscope ``device="auto"``: the *first* call in a fresh process state
  (the variant cache cleared, no kept decision: analysis, the cost model,
  compilation and the run, quick code where the engine chooses it), the
  *warm* call right after it (the optimised code may still be building in
  the background), and *settled*: after the background compiles are in
  (``_loopscope.cpu_wait_compiles``) and auto's choices have stopped changing
  over consecutive calls, the best of the timed calls;
- Loopscope ``cpu-serial`` and ``cpu``: warm, optimised code, best of the
  timed calls;
- Numba ``@njit`` on the same function, and ``@njit(parallel=True)`` on a
  copy whose outermost legal parallel loops use ``prange`` (``PRANGE``
  below: the loops Loopscope runs in parallel, plus floyd-warshall's ``i``,
  legal by a fact about values); kernels with no legal ``prange`` have none.

Prints a table and the geometric means, merges the dataset's results into
bench/results/polybench.json and rewrites docs/polybench.md from every
dataset there. Not a test: nothing here asserts timings.

    .venv/bin/python bench/bench_polybench.py --size small
    .venv/bin/python bench/bench_polybench.py --size medium [--only gemm,lu] [--cpython-limit 20]
    .venv/bin/python bench/bench_polybench.py --report      # only rewrite docs/polybench.md
"""

import argparse
import ast
import datetime
import inspect
import json
import math
import os
import platform
import sys
import textwrap
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "share"))

import _loopscope  # noqa: E402
import loopscope  # noqa: E402
import polybench  # noqa: E402
from loopscope import _cost, _run  # noqa: E402

try:
    import numba
    from numba import njit, prange
except Exception:  # numba is optional
    numba = None

JSON = os.path.join(ROOT, "bench", "results", "polybench.json")
MARKDOWN = os.path.join(ROOT, "docs", "polybench.md")
SMALLER = {"small": "mini", "medium": "small", "large": "medium"}


# The leading term of each kernel's work (innermost statement executions),
# used only to extrapolate CPython's time from a smaller dataset.
def _work(name, p):
    g = p.get
    return {
        "2mm": lambda: g("ni") * g("nj") * g("nk") + g("ni") * g("nl") * g("nj"),
        "3mm": lambda: g("ni") * g("nj") * g("nk") + g("nj") * g("nl") * g("nm") + g("ni") * g("nl") * g("nj"),
        "atax": lambda: 2 * g("m") * g("n"),
        "bicg": lambda: g("m") * g("n"),
        "doitgen": lambda: g("nr") * g("nq") * g("np_") ** 2,
        "mvt": lambda: 2 * g("n") ** 2,
        "gemm": lambda: g("ni") * g("nj") * g("nk"),
        "gemver": lambda: 3 * g("n") ** 2,
        "gesummv": lambda: g("n") ** 2,
        "symm": lambda: g("m") ** 2 * g("n") / 2,
        "syr2k": lambda: g("n") ** 2 * g("m") / 2,
        "syrk": lambda: g("n") ** 2 * g("m") / 2,
        "trmm": lambda: g("m") ** 2 * g("n") / 2,
        "cholesky": lambda: g("n") ** 3 / 6,
        "durbin": lambda: 1.5 * g("n") ** 2,
        "gramschmidt": lambda: g("m") * g("n") ** 2,
        "lu": lambda: g("n") ** 3 / 3,
        "ludcmp": lambda: g("n") ** 3 / 3,
        "trisolv": lambda: g("n") ** 2 / 2,
        "correlation": lambda: g("m") ** 2 * g("n") / 2,
        "covariance": lambda: g("m") ** 2 * g("n") / 2,
        "deriche": lambda: g("w") * g("h"),
        "floyd-warshall": lambda: g("n") ** 3,
        "nussinov": lambda: g("n") ** 3 / 6,
        "adi": lambda: g("tsteps") * g("n") ** 2,
        "fdtd-2d": lambda: g("tmax") * g("nx") * g("ny"),
        "heat-3d": lambda: g("tsteps") * g("n") ** 3,
        "jacobi-1d": lambda: g("tsteps") * g("n"),
        "jacobi-2d": lambda: g("tsteps") * g("n") ** 2,
        "seidel-2d": lambda: g("tsteps") * g("n") ** 2,
    }[name]()


# Which `for` loops (pre-order index among the function's loops) become
# prange in the Numba parallel version: the outermost loops that carry no
# dependence, as Loopscope runs them in parallel on the CPU.
PRANGE = {
    "2mm": [0, 3],
    "3mm": [0, 3, 6],
    "atax": [0, 3],
    "bicg": [0],
    "doitgen": [2, 4],
    "mvt": [0, 2],
    "gemm": [0],
    "gemver": [0, 2, 4, 5],
    "gesummv": [0],
    "symm": [1],
    "syr2k": [0],
    "syrk": [0],
    "trmm": [1],
    "durbin": [2, 3],
    "gramschmidt": [2, 3],
    "lu": [3],
    "ludcmp": [3],
    "correlation": [0, 2, 4, 6],
    "covariance": [0, 2, 4],
    "deriche": [0, 2, 4, 6, 8, 10],
    # legal because path[k, k] >= 0 keeps row and column k unchanged at step k
    "floyd-warshall": [1],
    "adi": [1, 4],
    "fdtd-2d": [1, 2, 4, 6],
    "heat-3d": [1, 4],
    "jacobi-1d": [1, 2],
    "jacobi-2d": [1, 3],
}  # cholesky, trisolv, nussinov, seidel-2d: every loop carries a dependence


def prange_version(fn, loops):
    """A copy of ``fn`` whose ``for`` loops at the given pre-order indices
    iterate over ``prange`` instead of ``range``, compiled with
    ``@njit(parallel=True)``."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    fors = []

    def visit(node):
        if isinstance(node, ast.For):
            fors.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    for idx in loops:
        call = fors[idx].iter
        assert isinstance(call, ast.Call) and call.func.id == "range"
        call.func = ast.Name("prange", ast.Load())
    ast.fix_missing_locations(tree)
    scope = dict(fn.__globals__, prange=prange)
    exec(compile(tree, f"<prange {fn.__name__}>", "exec"), scope)
    return njit(parallel=True)(scope[fn.__name__])


# ---- timing -----------------------------------------------------------------


def once(fn, args):
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def best(fn, make_args, repeat, budget):
    """Best of up to `repeat` calls, fewer when they pass `budget` seconds."""
    out, spent = math.inf, 0.0
    for _ in range(repeat):
        t = once(fn, make_args())
        out, spent = min(out, t), spent + t
        if spent > budget:
            break
    return out


def records():
    return list(_run.last_runs().values())


def summary_of(recs):
    """Devices, statuses and reasons of one call's nest executions."""
    return {
        "devices": [r["device"] for r in recs],
        "status": [r["status"] for r in recs],
        "parallel_loops": [r.get("parallel_loops") or "" for r in recs],
        "reasons": sorted({r["reason"] for r in recs if r.get("reason")}),
        "tiers": sorted({r["timing"].get("tier", "") for r in recs if r.get("timing")} - {""}),
    }


def fresh_engine_state():
    _loopscope.cpu_wait_compiles()
    _loopscope.cpu_clear_cache()
    _cost.forget_decisions()
    _cost._runs.clear()
    _run.reset_last_runs()


def measure(k, size, opts, cpython_small):
    mk = lambda: k.args(size)  # noqa: E731
    row = {"name": k.name, "category": k.category, "params": k.sizes[size]}
    run = lambda dev: lambda *a: loopscope.run(k.fn, *a, device=dev)  # noqa: E731

    # CPython, or its extrapolation from the smaller dataset
    estimate = cpython_small * _work(k.name, k.sizes[size]) / _work(k.name, k.sizes[SMALLER[size]])
    row["cpython_estimate"] = estimate
    if estimate <= opts.cpython_limit:
        row["cpython"], row["cpython_extrapolated"] = once(k.fn, mk()), False
    else:
        row["cpython"], row["cpython_extrapolated"] = estimate, True

    # Loopscope auto: first, warm, settled
    fresh_engine_state()
    row["auto_first"] = once(run("auto"), mk())
    row["auto_first_runs"] = summary_of(records())
    _run.reset_last_runs()
    row["auto_warm"] = once(run("auto"), mk())
    row["auto_warm_runs"] = summary_of(records())
    _loopscope.cpu_wait_compiles()
    previous, calls = None, 0
    t_end = time.monotonic() + opts.settle_s
    while calls < 50 and time.monotonic() < t_end:
        _run.reset_last_runs()
        once(run("auto"), mk())
        calls += 1
        _loopscope.cpu_wait_compiles()
        devices = summary_of(records())["devices"]
        if devices == previous and calls >= 3:
            break
        previous = devices
    row["auto_settle_calls"] = calls
    _run.reset_last_runs()
    row["auto_settled"] = best(run("auto"), mk, opts.repeat, opts.budget)
    row["auto_settled_runs"] = summary_of(records())

    # Loopscope cpu-serial and cpu, optimised code
    for dev, key in (("cpu-serial", "ls_serial"), ("cpu", "ls_parallel")):
        _run.reset_last_runs()
        once(run(dev), mk())
        _loopscope.cpu_wait_compiles()
        row[key] = best(run(dev), mk, opts.repeat, opts.budget)
        row[key + "_runs"] = summary_of(records())

    # Numba
    if numba is not None:
        f = njit(k.fn)
        row["numba_first"] = once(f, mk())
        row["numba"] = best(f, mk, opts.repeat, opts.budget)
        if k.name in PRANGE:
            f = prange_version(k.fn, PRANGE[k.name])
            row["numba_parallel_first"] = once(f, mk())
            row["numba_parallel"] = best(f, mk, opts.repeat, opts.budget)
    return row


def geomean(xs):
    xs = [x for x in xs if x and x > 0 and math.isfinite(x)]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


VARIANTS = [
    ("auto_first", "auto first"),
    ("auto_warm", "auto warm"),
    ("auto_settled", "auto settled"),
    ("ls_serial", "cpu-serial"),
    ("ls_parallel", "cpu"),
    ("numba", "Numba @njit"),
    ("numba_parallel", "Numba prange"),
]


def summarise(rows):
    speed = {key: geomean([r["cpython"] / r[key] for r in rows if r.get(key)]) for key, _ in VARIANTS}
    # Numba @njit stands in where no prange is legal
    npar = [(r.get("numba_parallel") or r.get("numba"), r) for r in rows if r.get("numba")]
    return {
        "geomean_speedup_vs_cpython": speed,
        "geomean_speedup_vs_cpython_measured_only": {
            key: geomean([r["cpython"] / r[key] for r in rows if r.get(key) and not r["cpython_extrapolated"]])
            for key, _ in VARIANTS
        },
        "geomean_cpu_vs_numba_prange_or_njit": geomean([n / r["ls_parallel"] for n, r in npar]),
        "geomean_serial_vs_numba_njit": geomean([r["numba"] / r["ls_serial"] for r in rows if r.get("numba")]),
        "geomean_auto_settled_vs_best_numba": geomean(
            [min(r.get("numba", math.inf), r.get("numba_parallel", math.inf)) / r["auto_settled"] for _, r in npar]
        ),
        # The targets: auto settled against the best native variant
        # (>= 0.95, no kernel below 0.8) and auto warm against Numba's best (>= 0.5).
        "geomean_auto_settled_vs_best_native": geomean(
            [min(r["ls_serial"], r["ls_parallel"]) / r["auto_settled"] for r in rows]
        ),
        "worst_auto_settled_vs_best_native": min(
            ((min(r["ls_serial"], r["ls_parallel"]) / r["auto_settled"], r["name"]) for r in rows), default=None
        ),
        "geomean_auto_warm_vs_best_numba": geomean(
            [min(r.get("numba", math.inf), r.get("numba_parallel", math.inf)) / r["auto_warm"] for _, r in npar]
        ),
        "geomean_first_call_overhead_vs_numba_compile": geomean(
            [
                max(1e-9, r["auto_first"] - r["auto_settled"]) / (r["numba_first"] - r["numba"])
                for r in rows
                if r.get("numba_first") and r["numba_first"] > r["numba"]
            ]
        ),
        "cpython_extrapolated": [r["name"] for r in rows if r["cpython_extrapolated"]],
    }


def fmt(s):
    if s is None:
        return "–"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.1f} ms"
    return f"{s * 1e6:.0f} µs"


def print_rows(rows):
    head = f"{'kernel':15s} {'CPython':>11s} " + " ".join(f"{label:>13s}" for _, label in VARIANTS)
    print(head)
    for r in rows:
        cp = ("~" if r["cpython_extrapolated"] else "") + fmt(r["cpython"])
        print(f"{r['name']:15s} {cp:>11s} " + " ".join(f"{fmt(r.get(key)):>13s}" for key, _ in VARIANTS), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="small", choices=["small", "medium", "large"])
    ap.add_argument("--only", default="")
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--budget", type=float, default=3.0, help="seconds of timed calls per variant before stopping")
    ap.add_argument("--settle-s", type=float, default=20.0, help="at most this long for auto's choices to settle")
    ap.add_argument("--cpython-limit", type=float, default=20.0, help="extrapolate CPython above this (seconds)")
    ap.add_argument("--report", action="store_true", help="only rewrite the Markdown from the JSON")
    ap.add_argument(
        "--json",
        default=JSON,
        help="the JSON to merge into (default bench/results/polybench.json; another path writes its "
        "Markdown beside it, PATH.md, instead of docs/polybench.md)",
    )
    opts = ap.parse_args()
    json_path = os.path.abspath(opts.json)
    markdown_path = MARKDOWN if json_path == JSON else json_path + ".md"
    data = {"sizes": {}}
    if os.path.exists(json_path):
        with open(json_path) as f:
            data = json.load(f)
    if not opts.report:
        names = [n for n in polybench.names() if not opts.only or n in opts.only.split(",")]
        rows = []
        t_start = time.monotonic()
        print(f"PolyBench {opts.size}: " + ", ".join(VARIANTS[i][1] for i in range(len(VARIANTS))))
        for name in names:
            k = polybench.get(name)
            small = once(k.fn, k.args(SMALLER[opts.size]))
            t0 = time.monotonic()
            rows.append(measure(k, opts.size, opts, small))
            rows[-1]["bench_seconds"] = time.monotonic() - t0
            rows[-1]["load_average"] = os.getloadavg()[0]
            print_rows(rows[-1:])
        s = summarise(rows)
        print("geometric mean speed-up over CPython:")
        for key, label in VARIANTS:
            print(f"  {label:14s} {s['geomean_speedup_vs_cpython'][key]:10.1f}x")
        print(f"cpu against Numba prange (@njit where none): {s['geomean_cpu_vs_numba_prange_or_njit']:.2f}")
        print(f"cpu-serial against Numba @njit: {s['geomean_serial_vs_numba_njit']:.2f}")
        print(f"auto settled against the best native variant: {s['geomean_auto_settled_vs_best_native']:.2f}")
        print(f"auto settled against the better Numba variant: {s['geomean_auto_settled_vs_best_numba']:.2f}")
        print(f"auto warm against the better Numba variant: {s['geomean_auto_warm_vs_best_numba']:.2f}")
        data["sizes"][opts.size] = {
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": platform.processor() or platform.machine(),
            "node_cpus": os.cpu_count(),
            "threads": _loopscope.cpu_threads(),
            "load_average_at_end": os.getloadavg(),
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "numba": getattr(numba, "__version__", None),
            "repeat": opts.repeat,
            "budget_s": opts.budget,
            "cpython_limit_s": opts.cpython_limit,
            "total_seconds": time.monotonic() - t_start,
            "rows": rows,
            "summary": s,
        }
        data["chart"] = chart_spec(data)
        os.makedirs(os.path.dirname(json_path), exist_ok=True)
        with open(json_path, "w") as f:
            json.dump(data, f, indent=1)
    md = markdown(data)
    with open(markdown_path, "w") as f:
        f.write(md)
    if opts.report:
        print(md)


def chart_spec(data):
    """A Vega-Lite specification of the speed-ups (render it with vl-convert
    or any Vega-Lite viewer)."""
    values = []
    for size, res in data["sizes"].items():
        for r in res["rows"]:
            for key, label in VARIANTS[2:]:
                if r.get(key):
                    values.append(
                        {"size": size, "kernel": r["name"], "variant": label, "speedup": r["cpython"] / r[key]}
                    )
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": "PolyBench 4.2: speed-up over CPython (log scale)",
        "data": {"values": values},
        "mark": {"type": "point", "filled": True, "size": 70},
        "facet": {"column": {"field": "size"}},
        "spec": {
            "width": 300,
            "encoding": {
                "y": {"field": "kernel", "type": "nominal", "title": None},
                "x": {"field": "speedup", "type": "quantitative", "scale": {"type": "log"}},
                "color": {"field": "variant", "type": "nominal"},
                "shape": {"field": "variant", "type": "nominal"},
            },
        },
    }


def text_chart(rows):
    """Bars of log10(speed-up over CPython): auto settled (#) and the best
    Numba variant (=), one character per 0.1 decade."""
    lines = ["speed-up over CPython, log scale: # Loopscope auto settled, = best Numba variant", ""]
    for r in rows:
        a = r["cpython"] / r["auto_settled"]
        nb = [r[k] for k in ("numba", "numba_parallel") if r.get(k)]
        n = r["cpython"] / min(nb) if nb else None
        bar = lambda x, c: c * max(0, round(10 * math.log10(x))) if x else ""  # noqa: E731
        lines.append(f"{r['name']:15s} {bar(a, '#'):40s} {a:8.1f}x")
        if n:
            lines.append(f"{'':15s} {bar(n, '='):40s} {n:8.1f}x")
    lines.append(f"{'':15s} |1x       |10x      |100x     |1000x")
    return lines


def why(r):
    """What the engine said about the nests that did not run natively."""
    out = []
    for key in ("auto_settled_runs", "ls_parallel_runs"):
        s = r.get(key) or {}
        for st, dev in zip(s.get("status", []), s.get("devices", [])):
            if st not in ("ok", "python") and key == "ls_parallel_runs":
                out.append(f"cpu {st}")
        out += s.get("reasons", [])
    return "; ".join(dict.fromkeys(out))


def markdown(data):
    lines = [
        "# PolyBench/C 4.2: CPython, Loopscope and Numba",
        "",
        "The 30 kernels of PolyBench/C 4.2 written as plain Python loop functions over NumPy arrays "
        "(`share/polybench.py`; float64, int64 for floyd-warshall and nussinov), run unchanged by CPython, "
        "by Loopscope (`loopscope.run(fn, *args, device=...)`) and by Numba (`@njit` on the same function; "
        "`@njit(parallel=True)` on a copy with `prange` on the outermost loops that carry no dependence, "
        "where there is one). Produced by `bench/bench_polybench.py`; raw numbers, the run records of every "
        "variant and a Vega-Lite chart specification in `bench/results/polybench.json`. Correctness is "
        "checked elsewhere (`tests/python/test_polybench.py`: equal to CPython bit for bit at MINI on every "
        "device); here only time is measured.",
        "",
        "## How it was measured",
        "",
        "- Fresh arguments for every call, made outside the timed region; times are wall-clock, the best of "
        "several calls (the number and the time limit per variant are given with each dataset).",
        "- **CPython**: one call. Where it would take longer than the limit (estimated from the next smaller "
        "dataset, measured in the same run, times the ratio of the kernel's leading work term, e.g. "
        "`ni*nj*nk` for gemm), it was not run and the estimate stands in, marked `~`. The geometric means are "
        "also given over the measured kernels only.",
        '- **auto first**: the first `device="auto"` call with the variant cache cleared and no kept '
        "decision (in a process that already ran other kernels): binding, run-time analysis, the cost model, "
        "compilation (quick code when the model expects it to pay; optimised code then builds in the "
        "background; a loop whose run costs less in Python than its compile runs as Python while its code "
        "builds) and the run. **auto warm**: the call right after it (quick code still runs where the "
        "optimised code has not arrived: on a busy machine the low-priority background thread is slow). "
        "**auto settled**: after the background compiles are in and auto's choice of device per nest has "
        "stopped changing (the model amortises compilation over the calls seen so far, so a nest can move "
        "from Python to native code after a few calls).",
        '- **cpu-serial**, **cpu**: `device="cpu-serial"` / `"cpu"` (all cores), optimised code, the '
        "variant cache hit.",
        "- **Numba**: warm calls (compilation excluded; the first call is in the JSON).",
        "- Parallel times on this machine depend on its load: a parallel region needs the second core, "
        "and while other work holds it each region can wait milliseconds. In earlier runs at a load of 2.5 "
        "to 3.7, jacobi-2d at MEDIUM took about 800 ms on `cpu` against 3.7 ms on `cpu-serial` (adi: 780 ms "
        "against 50 ms), Numba's `prange` jumped the same way (floyd-warshall at SMALL: 985 ms against "
        "`@njit`'s 1.8 ms), and `auto` chose `cpu` for both; the cost model now prices that wait when the "
        "cores are busy (docs/costmodel.md, `fork_join_busy_us`). The load average is printed with each run "
        "and per kernel: compare `cpu-serial` with `@njit` for the code, and read the `cpu` and `prange` "
        "columns with the load.",
        "- Floating-point sums keep Python's order (Loopscope's default): loops that only accumulate a float "
        "sum run serially in Loopscope, while Numba's `prange` versions never put `prange` on such a loop "
        "either (only on loops without any carried dependence), so both compute CPython's values.",
        "",
    ]
    for size in ("mini", "small", "medium", "large"):
        res = data["sizes"].get(size)
        if not res:
            continue
        s = summarise(res["rows"])  # figures added since a run was recorded come out too
        lines += [
            f"## {size.upper()} dataset",
            "",
            f"Run {res['date']} on `{res['machine']}`, {res['node_cpus']} CPUs, Loopscope {res['threads']} "
            f"threads, Python {res['python']}, NumPy {res['numpy']}, Numba {res['numba']}; CPython limit "
            f"{res['cpython_limit_s']:.0f} s; best of up to {res['repeat']} calls per variant, fewer once they pass "
            f"{res['budget_s']:.0f} s; {res['total_seconds'] / 60:.1f} minutes in all. Load average when "
            f"the run ended: {', '.join(f'{x:.1f}' for x in res['load_average_at_end'])}. The machine is the "
            "project's shared 2-core test machine: other work ran during the run, parallel times are noisy and "
            "two threads give at most 2x; read ratios, not absolute times. *load*: the 1-minute load average "
            "after the kernel's measurements.",
            "",
            "| kernel | CPython | auto first | auto warm | auto settled | cpu-serial | cpu | Numba | Numba prange |"
            " settled vs CPython | auto settled ran | load | notes |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|",
        ]
        for r in res["rows"]:
            cp = ("~" if r["cpython_extrapolated"] else "") + fmt(r["cpython"])
            ran = r["auto_settled_runs"]
            devs = ", ".join(f"{d}" + (f" ({p})" if p else "") for d, p in zip(ran["devices"], ran["parallel_loops"]))
            lines.append(
                f"| {r['name']} | {cp} | "
                + " | ".join(fmt(r.get(key)) for key, _ in VARIANTS)
                + f" | {r['cpython'] / r['auto_settled']:.0f}x | {devs} | {r.get('load_average', float('nan')):.1f} | {why(r)} |"
            )
        g = s["geomean_speedup_vs_cpython"]
        gm = s["geomean_speedup_vs_cpython_measured_only"]
        lines += [
            "",
            "Geometric-mean speed-up over CPython (all 30 kernels, extrapolated CPython times included): "
            + ", ".join(f"{label} {g[key]:.0f}x" for key, label in VARIANTS)
            + ".",
            "",
        ]
        if s["cpython_extrapolated"]:
            lines += [
                "Over the kernels whose CPython time was measured only: "
                + ", ".join(f"{label} {gm[key]:.0f}x" for key, label in VARIANTS)
                + ".",
                "",
            ]
        lines += [
            f"Loopscope `cpu` against Numba `prange` (`@njit` where no `prange` is legal): geometric mean "
            f"{s['geomean_cpu_vs_numba_prange_or_njit']:.2f} (above 1: Loopscope faster); `cpu-serial` against "
            f"`@njit`: {s['geomean_serial_vs_numba_njit']:.2f}; auto settled against the better Numba variant: "
            f"{s['geomean_auto_settled_vs_best_numba']:.2f}.",
            "",
            f"auto settled against the better of `cpu-serial` and `cpu`: geometric mean "
            f"{s['geomean_auto_settled_vs_best_native']:.2f} (1: as fast), lowest "
            f"{s['worst_auto_settled_vs_best_native'][0]:.2f} ({s['worst_auto_settled_vs_best_native'][1]}); "
            f"auto warm (second call) against the better Numba variant: {s['geomean_auto_warm_vs_best_numba']:.2f}; "
            f"auto's first call beyond its settled time against Numba's compile (first call beyond its warm time): "
            f"{s['geomean_first_call_overhead_vs_numba_compile']:.2f}.",
            "",
        ]
        if s["cpython_extrapolated"]:
            lines += [f"CPython extrapolated (`~`): {', '.join(s['cpython_extrapolated'])}.", ""]
        lines += observations(res["rows"])
        lines += ["```"] + text_chart(res["rows"]) + ["```", ""]
    lines += verdicts()
    return "\n".join(lines)


def observations(rows):
    """What the numbers of one dataset say, computed from them."""
    out = ["Read from this run's numbers:", ""]
    slow_par = [r for r in rows if r["ls_parallel"] > 2 * r["ls_serial"]]
    slow_npar = [r for r in rows if r.get("numba_parallel") and r["numba_parallel"] > 2 * r["numba"]]
    out.append(
        f"- `cpu` (2 threads) slower than `cpu-serial` by more than 2x: {len(slow_par)} kernels "
        f"({', '.join(r['name'] for r in slow_par) or 'none'}); Numba's `prange` slower than its `@njit` by more "
        f"than 2x: {len(slow_npar)} ({', '.join(r['name'] for r in slow_npar) or 'none'}). A parallel region "
        "costs a wake-up of the second thread; while other work holds the second core (load average above 2), "
        "that wake-up waits for a scheduler tick (about 4 ms here), so kernels that enter many short parallel "
        "regions (one or more per time step or per iteration of a sequential outer loop) can lose to one thread, "
        "in Loopscope and in Numba alike."
    )
    auto_slow = [r for r in rows if r["auto_settled"] > 1.5 * min(r["ls_serial"], r["ls_parallel"])]
    if auto_slow:
        out.append(
            "- auto settled more than 1.5x slower than the better of `cpu-serial` and `cpu`: "
            + "; ".join(
                f"{r['name']} ({fmt(r['auto_settled'])} against {fmt(min(r['ls_serial'], r['ls_parallel']))}; ran "
                + ", ".join(r["auto_settled_runs"]["devices"])
                + ")"
                for r in auto_slow
            )
            + "."
        )
    else:
        out.append("- auto settled is within 1.5x of the better of `cpu-serial` and `cpu` on every kernel.")
    first_slow = [r for r in rows if r["auto_first"] > r["cpython"]]
    out.append(
        f"- auto's first call (analysis and compilation included) slower than CPython: {len(first_slow)} kernels "
        f"({', '.join(r['name'] for r in first_slow) or 'none'})."
    )
    py = sorted({r["name"] for r in rows if "python" in r["auto_settled_runs"]["devices"]})
    if py:
        out.append(
            f"- auto settled leaves some nests in Python (the cost model prices them below a compile): {', '.join(py)}."
        )
    notes = [(r["name"], why(r)) for r in rows if why(r)]
    out.append(
        "- Declines or fall-backs on the CPU: "
        + (
            "; ".join(f"{n}: {w}" for n, w in notes)
            if notes
            else "none (every nest ran natively on `cpu` and `cpu-serial`)."
        )
    )
    return out + [""]


def verdicts():
    """The verdicts of share/polybench.py, as explain reports them."""
    nests = [n for k in polybench.KERNELS for n in k.nests]
    loops = [v for n in nests for _, v in n.loops]
    par_nests = sum(1 for n in nests if any(v == "parallel" for _, v in n.loops))
    out = [
        "## Verdicts",
        "",
        f"What `loopscope.explain` reports at run time for the {len(nests)} loop nests of the 30 kernels "
        f"({len(loops)} loops: {loops.count('parallel')} parallel, {loops.count('sequential')} sequential); "
        f"{par_nests} nests have at least one parallel loop, {len(nests) - par_nests} none. No nest is declined "
        "on the CPU. Each verdict was checked by hand against the kernel's dependences (no loop reported "
        "parallel carries one); the sequential loops are either truly sequential (time loops, triangular "
        "solves, recurrences, Gauss-Seidel sweeps, dynamic programming) or sequential only because "
        "Loopscope keeps the order of floating-point sums by default (every `k` of a matrix product, the "
        "`j` of a matrix-vector product; `%loopscope reassociate on` lets them run in parallel), because a "
        "scratch array is shared by the iterations (doitgen's `total`, PolyBench's `sum`: `r` and `q`), or "
        "because parallelism rests on a fact about values (floyd-warshall's `i` and `j`, legal because "
        "`path[k, k] >= 0`). `tests/python/test_polybench.py` checks these verdicts.",
        "",
        "On the GPU (checked with the emulator, `gpu-emulated`): lu, ludcmp's first nest and adi have no GPU "
        "version (the sentence below); every other nest runs, symm and trmm included (their inner `k` loop is "
        "empty on the last outer iteration, so Python leaves `k` from an earlier one: the generated CUDA keeps "
        "the value of the latest iteration that assigned it).",
        "",
        "| kernel | nests: loops (P parallel, S sequential) | GPU variant |",
        "|---|---|---|",
    ]
    for k in polybench.KERNELS:
        text = "; ".join(" ".join(f"{var}:{v[0].upper()}" for var, v in n.loops) for n in k.nests)
        gpu = "; ".join(sorted({n.gpu for n in k.nests if n.gpu})) or "runs"
        out.append(f"| {k.name} | {text} | {gpu} |")
    return out + [""]


if __name__ == "__main__":
    main()
