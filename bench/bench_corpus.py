"""The loop corpus (share/corpus): how many loop nests run natively, why the
others stay in Python, and how fast the functions run against CPython and
Numba.

For every case of the corpus:

- Nests: the outermost ``for`` and ``while`` statements of the function's
  own body (loops of functions it calls or defines are not counted). Each is
  one nest, whether or not the engine intercepts it: a ``while`` loop or a
  ``for x in arr`` is a nest that runs in Python, with the reason "a while
  loop" or "iterates over ..., not over range(...)".
- Coverage: the function runs once through the engine on ``device="cpu"``
  (the rewritten function ``loopscope.run`` uses, with its nest records), on
  fresh arguments of the measured size. A nest *ran natively* when its
  outermost loop ran as native code (``last_runs()`` status "ok"). A nest
  that stayed in Python gets the engine's sentence (the static decline, or
  the run's decline or fall-back) and a category (``CATEGORIES``); when some
  loop nested inside it still ran natively, it is counted as *partly
  native*. The same is done on ``device="auto"``, where the cost model may
  also choose Python.
- Speed, at the medium size (``--quick``: small): warm calls, the best of a
  few, fresh arguments made outside the timed region, for CPython (the plain
  function), Loopscope ``cpu`` and ``auto`` (after a few calls, once the
  background compiles are in) and Numba ``@njit`` of the same function (its
  module-level helper functions jitted too), where Numba compiles it; Numba's
  result is compared with CPython's at the small size, and a difference is
  recorded (Numba's random numbers are not CPython's).

Prints a table and the summary, writes bench/results/corpus.json and
docs/corpus.md. A run with ``--quick`` or ``--only`` writes nothing unless
``--write`` is given.

    .venv/bin/python bench/bench_corpus.py
    .venv/bin/python bench/bench_corpus.py --quick
    .venv/bin/python bench/bench_corpus.py --only mandelbrot_while,saxpy
    .venv/bin/python bench/bench_corpus.py --report     # only rewrite docs/corpus.md
"""

import argparse
import ast
import builtins
import collections
import datetime
import inspect
import json
import math
import os
import platform
import random
import re
import subprocess
import sys
import textwrap
import time
import types

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "share"))

import _loopscope  # noqa: E402
import corpus  # noqa: E402
import loopscope  # noqa: E402
from loopscope import _cost, _inline, _iteration, _rewrite, _run  # noqa: E402

try:
    import numba
except Exception:  # numba is optional
    numba = None

JSON = os.path.join(ROOT, "bench", "results", "corpus.json")
MARKDOWN = os.path.join(ROOT, "docs", "corpus.md")
STATE_SEED = 20240611

# ---- nests ------------------------------------------------------------------


def function_tree(fn):
    """The ``def`` of ``fn`` parsed from its source, lines counted with the
    ``def`` line as 1 (as the engine's nest records count them)."""
    lines, _ = inspect.getsourcelines(fn.__code__)
    tree = ast.parse(textwrap.dedent("".join(lines)))
    fdef = next(n for n in tree.body if isinstance(n, ast.FunctionDef))
    ast.increment_lineno(tree, 1 - fdef.lineno)
    return fdef


def outer_loops(fn):
    """The outermost for/while statements of ``fn``'s own body, in source
    order: ``{"line", "end_line", "kind", "head"}``."""
    out = []

    def visit(stmts):
        for s in stmts:
            if isinstance(s, (ast.For, ast.While)):
                if isinstance(s, ast.While):
                    # a while loop is a nest of its own (_iteration)
                    kind = "range" if _iteration.is_index_loop(s) else "while"
                    head = f"while {ast.unparse(s.test)}"
                else:
                    kind = "range" if _iteration.is_index_loop(s) else "for"
                    head = f"for {ast.unparse(s.target)} in {ast.unparse(s.iter)}"
                out.append({"line": s.lineno, "end_line": s.end_lineno, "kind": kind, "head": head})
            elif isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                continue
            else:
                for field in ("body", "orelse", "finalbody"):
                    block = getattr(s, field, None)
                    if isinstance(block, list):
                        visit(block)
                for part in getattr(s, "handlers", []) + getattr(s, "cases", []):
                    visit(part.body)

    visit(function_tree(fn).body)
    return out


def call_traced(fn, args, result=None):
    """``fn(*args)`` from a known state of the global generators; the
    exception it raised, if any (as text). With a list ``result``, appends
    what the call gives back to compare with CPython: the return value or
    the exception, the arguments afterwards and the generators' states."""
    random.seed(STATE_SEED)
    np.random.seed(STATE_SEED)
    try:
        out, raised = ("returned", fn(*args)), None
    except Exception as exc:
        raised = f"{type(exc).__name__}: {exc}"
        out = ("raised", raised)
    if result is not None:
        result.append((out, list(args), random.getstate(), np.random.get_state()))
    return raised


NATIVE_DEVICES = ("cpu", "cpu-serial", "gpu", "gpu-emulated")


def classify(case, device, args, result=None):
    """Runs ``case.fn`` once with its nests on ``device`` and says, for each
    outermost loop, whether it ran natively, and if not, why."""
    new_fn, recs = _rewrite.compile_function(case.fn, _run._dispatch(device))
    _run.reset_last_runs()
    t0 = time.perf_counter()
    raised = call_traced(new_fn, args, result)
    first = time.perf_counter() - t0
    runs = _run.last_runs()

    def ran(rec):
        r = runs.get(rec.id)
        return r is not None and r["status"] == "ok" and r["device"] in NATIVE_DEVICES

    nests = []
    for loop in outer_loops(case.fn):
        entry = dict(loop, native=False, partly=False, reason="", status="", parallel_loops="")
        inner = [r for r in recs if loop["line"] < r.line <= loop["end_line"]]
        entry["partly"] = any(ran(r) for r in inner)
        if loop["kind"] == "while":
            entry["status"] = "not intercepted"
            entry["reason"] = "a while loop: only for ... in range(...) loops are intercepted"
        elif loop["kind"] == "for":
            entry["status"] = "not intercepted"
            what = loop["head"].split(" in ", 1)[1]
            entry["reason"] = f"the loop iterates over {what}, not over range(...)"
        else:
            rec = next((r for r in recs if r.line == loop["line"]), None)
            if rec is not None and rec.lazy is not None:
                # Compiled when it runs, for the functions its names hold: the nest this run used.
                rec = _rewrite.NESTS.get(_inline.LAZY[rec.lazy].last, rec)
            r = runs.get(rec.id) if rec is not None else None
            if rec is None:
                entry["status"], entry["reason"] = "not registered", "the engine did not register this loop"
            elif rec.declined:
                entry["status"], entry["reason"] = "declined (static)", rec.decline.reason
            elif r is None:
                entry["status"], entry["reason"] = "not reached", "the loop was not reached in this run"
            else:
                entry["status"] = r["status"]
                entry["native"] = ran(rec)
                entry["parallel_loops"] = r.get("parallel_loops") or ""
                if not entry["native"]:
                    entry["reason"] = r["reason"] or f"ran on {r['device']} ({r['status']})"
                    if r["status"] == "python" and not r["reason"]:
                        entry["reason"] = "the cost model chose Python"
        if entry["native"]:
            entry["partly"] = False
        entry["category"] = category(entry["reason"]) if not entry["native"] else ""
        nests.append(entry)
    return nests, raised, first


def ran_natively(case, device, args, result=None):
    """Runs ``loopscope.run(case.fn, *args, device=device)`` (the cached
    rewritten function, so that the cost model sees the calls made before)
    and says for each outermost loop whether it ran natively, and if not, the
    record's sentence."""
    _run.reset_last_runs()
    call_traced(lambda *a: loopscope.run(case.fn, *a, device=device), args, result)
    by_line = {}
    for nest_id, r in _run.last_runs().items():
        rec = _rewrite.NESTS.get(nest_id)
        if rec is not None:
            by_line[rec.line] = r
    native, reasons = [], []
    for loop in outer_loops(case.fn):
        r = by_line.get(loop["line"])
        ok = r is not None and r["status"] == "ok" and r["device"] in NATIVE_DEVICES
        native.append(ok)
        if ok:
            reasons.append("")
        elif r is None:
            reasons.append("not intercepted or declined before running")
        else:
            reasons.append(r["reason"] or f"ran on {r['device']} ({r['status']})")
    return native, reasons


# ---- decline categories -------------------------------------------------------

# Ordered: the first pattern that matches the sentence names its category.
CATEGORIES = [
    ("user function call", r"\$\w+|returns from inside a loop"),
    ("random numbers", r"random\.|np\.random"),
    ("dtype (uint8, uint16, float32 scalars)", r"is a NumPy \w+ scalar"),
    ("complex numbers", r"complex\(|\dj\b|complex"),
    ("while loop", r"while loop"),
    ("break/continue/return/for-else", r"'break'|'continue'|'return'|for \.\.\. else"),
    ("non-range iteration", r"not over range|tuple unpacking"),
    ("dtype (uint8, uint16, float32 scalars)", r"has dtype|float32 scalar|dtype"),
    ("slice in the body", r"slices? such as|\[[^\]]*:[^\]]*\]"),
    ("numpy function on scalar or array", r"\bnp\.\w+\(|numpy\."),
    ("min/max in a loop bound", r"bounds of loop \w+ are not affine \((min|max)\("),
    ("loop bound read from an array", r"bounds of loop \w+ read the array"),
    ("loop bound assigned inside the nest", r"is assigned inside the nest"),
    ("other non-affine bound", r"bounds of loop \w+ are not affine"),
    ("array variable rebound (swap of arrays)", r"used both as an array|trades places|the swaps of|a swap of"),
    ("one type per variable (int then float)", r"one type per variable|different types"),
    ("loop variable also assigned as a scalar", r"loop variable \w+ is also assigned"),
    ("math function without an exact native twin", r"math\.\w+\(\) is computed by CPython"),
    ("operator not supported (bitwise)", r"operator \w+ is not supported"),
    ("builtin or method call", r"round\(\)|round\(x, ndigits\)|\bpow\(|\.append\(|is a statement with effects"),
    ("math function not supported natively", r"math\.\w+\(\) is not supported in native code"),
    ("tuple assignment from a call (divmod)", r"tuple assignment unpacks"),
    ("chained assignment (a = b = ...)", r"chained assignment"),
    ("Python list indexed in the loop", r"is a list, not a NumPy array"),
    ("module attribute read in the loop (math.nan)", r"the attribute [\w.]+ is read inside the loop"),
    ("integer beyond 64 bits", r"does not fit in 64 bits"),
    ("Python raises in the loop (error case)", r"Python raises"),
    ("cost model chose Python", r"cost model chose Python"),
]


WRONG = "WRONG RESULT (engine bug)"


def category(reason):
    call = re.search(r"the call ([A-Za-z_][\w.]*)\(", reason)
    if call:
        name = call.group(1)
        if name.startswith(("random.", "np.random.", "numpy.random.")):
            return "random numbers"
        if name == "complex":
            return "complex numbers"
        if name.startswith(("np.", "numpy.")):
            return "numpy function on scalar or array"
        if "." in name or hasattr(builtins, name):
            return "builtin or method call"
        return "user function call"
    for name, pattern in CATEGORIES:
        if re.search(pattern, reason):
            return name
    return "other"


# ---- timing -----------------------------------------------------------------


def once(fn, args):
    t0 = time.perf_counter()
    try:
        fn(*args)
    except Exception:
        pass  # the error cases of the corpus raise by design; their time still counts
    return time.perf_counter() - t0


def best(fn, make_args, repeat, budget):
    out, spent = math.inf, 0.0
    for _ in range(repeat):
        t = once(fn, make_args())
        out, spent = min(out, t), spent + t
        if spent > budget:
            break
    return out


def same(a, b, strict=False):
    """Equal, arrays with the same dtype and shape, NaN equal to NaN; with
    ``strict``, of the same types too (as the engine must keep them; Numba
    gives Python floats where CPython gives NumPy scalars)."""
    if strict and type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        if a.dtype != b.dtype or a.shape != b.shape:
            return False
        if a.dtype.kind in "fc":
            return bool(np.array_equal(a, b, equal_nan=True))
        return bool(np.array_equal(a, b))
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(same(x, y, strict) for x, y in zip(a, b))
    if isinstance(a, (float, np.floating)) and isinstance(b, (float, np.floating)):
        return a == b or (math.isnan(a) and math.isnan(b))
    try:
        return bool(a == b)
    except Exception:
        return False


def numba_version(fn):
    """``@njit`` of ``fn``, with the corpus's helper functions it calls
    jitted too (as a Numba user would decorate them)."""
    g = dict(fn.__globals__)
    for name in fn.__code__.co_names:
        v = g.get(name)
        if isinstance(v, types.FunctionType) and v.__module__.startswith("corpus"):
            g[name] = numba.njit(v)
    copy = types.FunctionType(fn.__code__, g, fn.__name__, fn.__defaults__, fn.__closure__)
    return numba.njit(copy)


def outcome(fn, args):
    try:
        return ("returned", fn(*args))
    except Exception as exc:
        return ("raised", type(exc).__name__)


def measure_numba(case, size, opts, row):
    if numba is None:
        row["numba_status"] = "numba is not installed"
        return
    try:
        f = numba_version(case.fn)
        small = case.make("small" if size != "tiny" else "tiny")
        t0 = time.perf_counter()
        got = outcome(f, small)
        row["numba_first"] = time.perf_counter() - t0
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        row["numba_status"] = f"does not compile: {type(exc).__name__}: {first}"[:240]
        return
    ref_args = case.make("small" if size != "tiny" else "tiny")
    ref = outcome(case.fn, ref_args)
    if got[0] == "raised" and ref[0] == "raised":
        row["numba_status"] = "compiled" if got[1] == ref[1] else f"raises {got[1]}, CPython {ref[1]}"
    elif got[0] == "raised":
        row["numba_status"] = f"raises {got[1]} where CPython does not"
    elif ref[0] == "raised" or not same(got[1], ref[1]) or not all(same(x, y) for x, y in zip(small, ref_args)):
        row["numba_status"] = "compiled; result differs from CPython"
    else:
        row["numba_status"] = "compiled"
    row["numba"] = best(f, lambda: case.make(size), opts.repeat, opts.budget)


def measure(case, size, opts):
    mk = lambda: case.make(size)  # noqa: E731
    row = {"name": case.name, "style": case.style, "notes": case.notes, "size": case.sizes[size]}
    row["cpython"] = best(case.fn, mk, opts.repeat, opts.budget)
    ref = []
    row["cpython_raises"] = call_traced(case.fn, mk(), ref)

    _run.reset_last_runs()
    got = []
    nests, raised, first = classify(case, "cpu", mk(), got)
    row["nests"], row["cpu_first"] = nests, first
    row["cpu_raises"] = raised
    row["cpu_matches_cpython"] = same(got[0], ref[0], strict=True)
    if not row["cpu_matches_cpython"]:
        for n in nests:
            if n["native"]:
                n["native"], n["status"] = False, "wrong result"
                n["reason"] = "ran natively, but the function's result differs from CPython's (an engine bug)"
                n["category"] = WRONG
    _loopscope.cpu_wait_compiles()
    for dev in ("cpu", "cpu-serial"):
        once(lambda *a: loopscope.run(case.fn, *a, device=dev), mk())
        _loopscope.cpu_wait_compiles()
        row[dev] = best(lambda *a: loopscope.run(case.fn, *a, device=dev), mk, opts.repeat, opts.budget)

    settle = 1 if first > 2.0 else opts.settle_calls
    for _ in range(settle):
        once(lambda *a: loopscope.run(case.fn, *a, device="auto"), mk())
        _loopscope.cpu_wait_compiles()
    got = []
    row["auto_native"], row["auto_reasons"] = ran_natively(case, "auto", mk(), got)
    row["auto_matches_cpython"] = same(got[0], ref[0], strict=True)
    row["auto"] = best(lambda *a: loopscope.run(case.fn, *a, device="auto"), mk, opts.repeat, opts.budget)

    measure_numba(case, size, opts, row)
    return row


# ---- summary ------------------------------------------------------------------


def geomean(xs):
    xs = [x for x in xs if x and x > 0 and math.isfinite(x)]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def rate(rows, key=lambda n: n["native"]):
    nests = [n for r in rows for n in r["nests"]]
    return sum(1 for n in nests if key(n)), len(nests)


def summarise(rows):
    native, total = rate(rows)
    partly, _ = rate(rows, lambda n: n["partly"])
    auto_native = sum(sum(r["auto_native"]) for r in rows)
    per_style = {}
    for style in corpus.STYLES:
        rs = [r for r in rows if r["style"] == style]
        if rs:
            nat, tot = rate(rs)
            par, _ = rate(rs, lambda n: n["partly"])
            full = sum(1 for r in rs if r["nests"] and all(n["native"] for n in r["nests"]))
            per_style[style] = {
                "cases": len(rs),
                "nests": tot,
                "native": nat,
                "partly_native": par,
                "rate": nat / tot if tot else float("nan"),
                "cases_all_native": full,
            }
    cats = collections.defaultdict(lambda: {"nests": 0, "sentences": collections.Counter()})
    for r in rows:
        for n in r["nests"]:
            if not n["native"]:
                c = cats[n["category"]]
                c["nests"] += 1
                c["sentences"][n["reason"]] += 1
    ranked = sorted(cats.items(), key=lambda kv: (-kv[1]["nests"], kv[0]))
    categories = [
        {"category": k, "nests": v["nests"], "sentences": [[s, c] for s, c in v["sentences"].most_common()]}
        for k, v in ranked
    ]
    full_native = [r for r in rows if r["nests"] and all(n["native"] for n in r["nests"])]
    speed = {}
    for key in ("cpu", "cpu-serial", "auto", "numba"):
        speed[key] = geomean([r["cpython"] / r[key] for r in rows if r.get(key) and r.get("cpython")])
        speed[key + "_all_native"] = geomean([r["cpython"] / r[key] for r in full_native if r.get(key)])
    numba_ok = [r for r in rows if r.get("numba_status") == "compiled"]
    return {
        "cases": len(rows),
        "nests": total,
        "native_nests": native,
        "partly_native_nests": partly,
        "compile_rate": native / total if total else float("nan"),
        "auto_native_nests": auto_native,
        "cases_all_native": len(full_native),
        "per_style": per_style,
        "categories": categories,
        "geomean_speedup_vs_cpython": speed,
        "numba_compiled_and_matches": len(numba_ok),
        "numba_compiled_differs": sum(1 for r in rows if "differs" in (r.get("numba_status") or "")),
        "numba_fails": sum(1 for r in rows if (r.get("numba_status") or "").startswith("does not compile")),
        "cpu_slower_than_cpython": [r["name"] for r in rows if r.get("cpu") and r["cpu"] > 1.25 * r["cpython"]],
        "cpu_serial_slower_than_cpython": [
            r["name"] for r in rows if r.get("cpu-serial") and r["cpu-serial"] > 1.25 * r["cpython"]
        ],
        "auto_slower_than_cpython": [r["name"] for r in rows if r.get("auto") and r["auto"] > 1.25 * r["cpython"]],
        "crashed": [r["name"] for r in rows if r.get("crashed")],
        "wrong_results": {
            r["name"]: [d for d in ("cpu", "auto") if r.get(f"{d}_matches_cpython") is False]
            for r in rows
            if r.get("cpu_matches_cpython") is False or r.get("auto_matches_cpython") is False
        },
        "cpu_serial_vs_numba_where_both_native": geomean(
            [
                r["numba"] / r["cpu-serial"]
                for r in full_native
                if r.get("numba") and r.get("numba_status") == "compiled"
            ]
        ),
        "cpu_vs_numba_where_both_native": geomean(
            [r["numba"] / r["cpu"] for r in full_native if r.get("numba") and r.get("numba_status") == "compiled"]
        ),
    }


def fmt(s):
    if s is None:
        return "–"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.1f} ms"
    return f"{s * 1e6:.0f} µs"


def ratio(a, b):
    return f"{a / b:.1f}x" if a and b else "–"


def native_text(r):
    n = r["nests"]
    return f"{sum(x['native'] for x in n)}/{len(n)}"


def print_row(r):
    print(
        f"{r['name']:28s} {r['style']:15s} {native_text(r):>6s} {sum(r['auto_native']):>4d} "
        f"{fmt(r['cpython']):>10s} {fmt(r['cpu']):>10s} {fmt(r['cpu-serial']):>10s} {fmt(r['auto']):>10s} "
        f"{fmt(r.get('numba')):>10s} "
        f"{ratio(r['cpython'], r['cpu']):>8s}  {'; '.join(sorted({n['category'] for n in r['nests'] if n['category']}))}",
        flush=True,
    )


def print_summary(s):
    print(
        f"\nnests that ran natively on cpu: {s['native_nests']}/{s['nests']} ({100 * s['compile_rate']:.1f}%); "
        f"partly (an inner loop native): {s['partly_native_nests']}; native under auto: {s['auto_native_nests']}; "
        f"cases whose every nest ran natively: {s['cases_all_native']}/{s['cases']}"
    )
    for style, p in s["per_style"].items():
        print(f"  {style:16s} {p['native']:4d}/{p['nests']:<4d} {100 * p['rate']:5.1f}%")
    print("why nests stayed in Python (outermost loops):")
    for c in s["categories"]:
        print(f"  {c['nests']:4d}  {c['category']}")
    g = s["geomean_speedup_vs_cpython"]
    print(
        f"geometric-mean speed-up over CPython: cpu {g['cpu']:.1f}x, cpu-serial {g['cpu-serial']:.1f}x, "
        f"auto {g['auto']:.1f}x, Numba {g['numba']:.1f}x; over the cases whose every nest runs natively: "
        f"cpu {g['cpu_all_native']:.1f}x, cpu-serial {g['cpu-serial_all_native']:.1f}x, "
        f"auto {g['auto_all_native']:.1f}x, Numba {g['numba_all_native']:.1f}x"
    )
    print(f"processes that died or ran out of time: {', '.join(s['crashed']) or 'none'}")
    wrong = "; ".join(f"{k} ({', '.join(v)})" for k, v in s["wrong_results"].items())
    print(f"results different from CPython's: {wrong or 'none'}")
    for key in ("cpu", "cpu_serial", "auto"):
        names = ", ".join(s[f"{key}_slower_than_cpython"]) or "none"
        print(f"{key.replace('_', '-')} slower than CPython (by over 1.25x): {names}")


# ---- report -------------------------------------------------------------------

HEADER = """# The loop corpus: coverage and speed

`share/corpus/` holds {cases} loop functions written in the styles of public material: notebooks that
teach GPU programming (vector add, SAXPY, Mandelbrot and Julia sets, Monte Carlo pi, image filters,
histograms, matrix products, scans, N-body, stencils, Game of Life), Numba's example programs
(Black-Scholes with a `cnd()` helper, distance matrices, k-means, Laplace, ray marching, `for x in arr`,
`enumerate`, `zip`, tuple swaps), scientific scripts (finite differences, Euler and RK4, dynamic-programming
tables, moving averages, quadrature, LU, pairwise potentials), image processing on uint8, uint16, int32 and
float images, and PolyBench/BLAS-like kernels that share/polybench.py does not have. Unlike PolyBench, the
corpus is not chosen to fit the engine: it keeps helper functions, `while`, `break`/`continue`, for-else,
non-range iteration, small and unsigned integer dtypes, complex and random numbers, indirect subscripts,
NumPy functions on scalars, slices in loop bodies, `min()` in bounds and tuple assignment, in about the
proportions such code has them. `tests/python/test_corpus.py` checks every case against CPython on
`cpu`, `cpu-serial`, `gpu-emulated` and `auto` (return value, exceptions, every argument bit for bit, the
random generators' states); this page measures how much of it runs natively, and how fast.

## How it is measured

Produced by `bench/bench_corpus.py` (raw numbers in `bench/results/corpus.json`; rerun it to regenerate
this page).

- **Nests** are the outermost `for` and `while` statements of each function's own body, whether or not
  the engine intercepts them: a `while` loop or a `for x in arr` loop is a nest that runs in Python.
  Loops inside helper functions are part of the nest that calls them.
- **Compile rate**: the function runs once through the engine on `device="cpu"` on fresh arguments of
  the measured size; a nest *ran natively* when its outermost loop ran as native code (`last_runs()`
  status "ok"). A nest that stayed in Python carries the engine's sentence (its static decline, or the
  run's decline or fall-back), grouped into a category by the sentence's words. *Partly native*: the
  outermost loop ran in Python but a loop inside it ran natively (counted as not native). Under
  `device="auto"` the cost model may also choose Python for a nest it could compile.
- Each function is measured in a process of its own: a case that kills its process (or runs past the
  time limit) is recorded with what the process said last, and its nests count as not native ("crash").
  The engine measured is the one the program imports; the results give its commit.
- **Speed**: warm calls, the best of up to {repeat} (fewer once they pass {budget:.1f} s), fresh
  arguments made outside the timed region, for CPython, Loopscope `cpu` (all cores), `cpu-serial`
  (one thread) and `auto` (after
  {settle} calls and the background compiles), and Numba `@njit` of the same function, with the
  corpus's module-level helpers jitted too, where Numba compiles it. Numba's result is compared with
  CPython's at the small size; where it differs (its random numbers are its own) the time is still given.
  Times include the calls' Python parts. The machine is shared and has two cores: while other work
  holds the second core, a parallel region of `cpu` can wait a scheduler tick (milliseconds), so compare
  `cpu-serial` with Numba for the code, and read `cpu` with the load.
"""


def markdown(data):
    s = data["summary"]
    lines = [
        HEADER.format(
            cases=s["cases"], repeat=data["repeat"], budget=data["budget_s"], settle=data["settle_calls"]
        ).rstrip(),
        "",
        f"## Results ({data['size']} size)",
        "",
        f"Run {data['date']} at commit `{data['commit']}`"
        + (
            f" (with uncommitted engine changes in {len(data['engine_files_changed_since_commit'])} files)"
            if data["engine_files_changed_since_commit"]
            else ""
        )
        + f" on `{data['machine']}`, {data['node_cpus']} CPUs, Loopscope {data['threads']} threads, "
        f"Python {data['python']}, NumPy {data['numpy']}, Numba {data['numba']}; {data['total_seconds'] / 60:.1f} "
        f"minutes in all; load average at the end {', '.join(f'{x:.1f}' for x in data['load_average_at_end'])}.",
        "",
        f"**Compile rate: {s['native_nests']} of {s['nests']} nests ran natively on `cpu` "
        f"({100 * s['compile_rate']:.1f}%)**; {s['partly_native_nests']} more ran partly natively (an inner loop); "
        f"{s['auto_native_nests']} ran natively under `auto`. {s['cases_all_native']} of {s['cases']} functions "
        "ran with every nest native.",
        "",
        "| style | functions | nests | native on cpu | rate | partly native | functions all native |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for style, p in s["per_style"].items():
        lines.append(
            f"| {style} | {p['cases']} | {p['nests']} | {p['native']} | {100 * p['rate']:.0f}% | "
            f"{p['partly_native']} | {p['cases_all_native']} |"
        )
    lines += [
        "",
        "## Why nests stayed in Python",
        "",
        "Outermost nests that did not run natively on `cpu`, by category, with the engine's sentences (a "
        "nest counts once, under its own sentence).",
        "",
        "| category | nests |",
        "|---|---:|",
    ]
    for c in s["categories"]:
        lines.append(f"| {c['category']} | {c['nests']} |")
    lines.append("")
    for c in s["categories"]:
        lines.append(f"**{c['category']}** ({c['nests']})")
        lines.append("")
        for sentence, count in c["sentences"]:
            lines.append(f"- {count} × {sentence.replace('|', '/')}")
        lines.append("")
    g = s["geomean_speedup_vs_cpython"]
    lines += [
        "## Speed",
        "",
        f"Geometric-mean speed-up over CPython, all {s['cases']} functions: Loopscope `cpu` {g['cpu']:.1f}x, "
        f"`cpu-serial` {g['cpu-serial']:.1f}x, `auto` {g['auto']:.1f}x, Numba `@njit` {g['numba']:.1f}x (over the "
        f"functions Numba compiles). Over the {s['cases_all_native']} functions whose every nest runs natively: "
        f"`cpu` {g['cpu_all_native']:.1f}x, `cpu-serial` {g['cpu-serial_all_native']:.1f}x, "
        f"`auto` {g['auto_all_native']:.1f}x, Numba {g['numba_all_native']:.1f}x; there `cpu` against Numba "
        f"(above 1: Loopscope faster, where Numba's result matches CPython's): "
        f"{s['cpu_vs_numba_where_both_native']:.3g}, `cpu-serial` against Numba "
        f"{s['cpu_serial_vs_numba_where_both_native']:.3g}.",
        "",
        f"Numba compiled {s['numba_compiled_and_matches']} functions with CPython's results, "
        f"{s['numba_compiled_differs']} with different results, and did not compile {s['numba_fails']}.",
        "",
        "Slower than CPython by more than 1.25x: `cpu`: "
        + (", ".join(s["cpu_slower_than_cpython"]) or "none")
        + "; `cpu-serial`: "
        + (", ".join(s["cpu_serial_slower_than_cpython"]) or "none")
        + "; `auto`: "
        + (", ".join(s["auto_slower_than_cpython"]) or "none")
        + ". A nest that stays in Python costs little more than CPython; a native nest entered many times "
        "from a loop that runs in Python pays the engine's entry cost at each entry.",
        "",
        "**Results different from CPython's** (return value, exception, arguments or random state after "
        "the call; their natively run nests are counted as not native, category "
        f'"{WRONG}"): '
        + ("; ".join(f"{k} (on {', '.join(v)})" for k, v in s["wrong_results"].items()) or "none")
        + ".",
        "",
        "Cases whose benchmark process died or ran past its time limit: "
        + (
            "; ".join(f"{r['name']} ({r['crashed']})" for r in data["rows"] if r.get("crashed")).replace("|", "/")
            or "none"
        )
        + ".",
        "",
        "## Every function",
        "",
        "*native*: nests that ran natively on `cpu` / all nests (`auto`: natively under auto). Times are the "
        "best warm call.",
        "",
        "| function | style | native | auto | CPython | cpu | cpu-serial | auto | Numba | CPython / cpu | Numba | "
        "why not native |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in data["rows"]:
        why = "; ".join(dict.fromkeys(f"{n['category']}: {n['reason']}" for n in r["nests"] if not n["native"]))
        numba_note = r.get("numba_status", "")
        if numba_note.startswith("does not compile"):
            numba_note = "does not compile"
        lines.append(
            f"| {r['name']} | {r['style']} | {native_text(r)} | {sum(r['auto_native'])} | {fmt(r['cpython'])} | "
            f"{fmt(r['cpu'])} | {fmt(r['cpu-serial'])} | {fmt(r['auto'])} | {fmt(r.get('numba'))} | "
            f"{ratio(r['cpython'], r['cpu'])} | "
            f"{numba_note} | {why.replace('|', '/')} |"
        )
    lines.append("")
    return "\n".join(lines)


def crashed_row(case, size, how, stderr):
    """The row of a case whose process died or ran out of time: every nest
    counts as not native, with what the process said last."""
    lines = [l for l in stderr.splitlines() if l.strip()]
    tail = list(dict.fromkeys(lines[-20:]))[-4:]  # repeated lines once
    repeats = collections.Counter(lines).most_common(1)
    said = "; ".join(tail)
    if repeats and repeats[0][1] > 3:
        said += f" (after {repeats[0][1]} lines '{repeats[0][0]}')"
    reason = f"the benchmark process {how}: {said}"[:600]
    nests = [
        dict(loop, native=False, partly=False, reason=reason, status="crashed", parallel_loops="", category="crash")
        for loop in outer_loops(case.fn)
    ]
    return {
        "name": case.name,
        "style": case.style,
        "notes": case.notes,
        "size": case.sizes[size],
        "crashed": reason,
        "nests": nests,
        "auto_native": [False] * len(nests),
        "auto_reasons": [reason] * len(nests),
        "cpython": None,
        "cpu": None,
        "cpu-serial": None,
        "auto": None,
    }


def run_worker(case, size, opts):
    """Measures one case in a process of its own, so that a case that kills
    its process (or exhausts what the JIT may map) is recorded and the others
    still run."""
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", case.name, "--size", size]
    cmd += ["--repeat", str(opts.repeat), "--budget", str(opts.budget), "--settle", str(opts.settle_calls)]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=opts.case_timeout)
    except subprocess.TimeoutExpired as exc:
        err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        return crashed_row(case, size, f"ran past {opts.case_timeout:.0f} s", err)
    for line in p.stdout.splitlines():
        if line.startswith("ROW "):
            return json.loads(line[4:])
    return crashed_row(case, size, f"exited with status {p.returncode}", p.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small size, fewer repetitions")
    ap.add_argument("--only", default="", help="comma-separated case names")
    ap.add_argument("--repeat", type=int, default=None)
    ap.add_argument("--budget", type=float, default=None, help="seconds of timed calls per variant")
    ap.add_argument("--write", action="store_true", help="write the JSON and Markdown after a partial run")
    ap.add_argument("--report", action="store_true", help="only recompute the summary and rewrite docs/corpus.md")
    ap.add_argument("--case-timeout", type=float, default=900.0, help="seconds per case before it is stopped")
    ap.add_argument("--worker", default="", help=argparse.SUPPRESS)
    ap.add_argument("--size", default="", help=argparse.SUPPRESS)
    ap.add_argument("--settle", type=int, default=None, help=argparse.SUPPRESS)
    opts = ap.parse_args()
    size = opts.size or ("small" if opts.quick else "medium")
    opts.repeat = opts.repeat or (2 if opts.quick else 5)
    opts.budget = opts.budget if opts.budget is not None else (0.3 if opts.quick else 1.5)
    opts.settle_calls = opts.settle or (2 if opts.quick else 4)
    if opts.report:
        with open(JSON) as f:
            data = json.load(f)
        data["summary"] = summarise(data["rows"])
        with open(JSON, "w") as f:
            json.dump(data, f, indent=1, default=str)
        with open(MARKDOWN, "w") as f:
            f.write(markdown(data))
        return
    if opts.worker:
        _cost.host_profile()
        row = measure(corpus.get(opts.worker), size, opts)
        print("ROW " + json.dumps(row, default=str), flush=True)
        return
    only = [x for x in opts.only.split(",") if x]
    cases = [c for c in corpus.all_cases() if not only or c.name in only]
    unknown = set(only) - {c.name for c in cases}
    if unknown:
        sys.exit(f"unknown cases: {', '.join(sorted(unknown))}")
    t_start = time.monotonic()
    print(f"corpus, {size} size, {len(cases)} functions, each in a process of its own")
    print(
        f"{'function':28s} {'style':15s} {'native':>6s} {'auto':>4s} {'CPython':>10s} {'cpu':>10s} "
        f"{'cpu-serial':>10s} {'auto':>10s} {'Numba':>10s} {'Py/cpu':>8s}  why not native"
    )
    rows = []
    for c in cases:
        rows.append(run_worker(c, size, opts))
        rows[-1]["load_average"] = os.getloadavg()[0]
        print_row(rows[-1])
    s = summarise(rows)
    print_summary(s)
    if (opts.quick or only) and not opts.write:
        return
    # The engine measured is the one imported (the loopscope package and its
    # build may come from another checkout than this program's).
    engine_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(loopscope.__file__))))
    git = lambda *a: subprocess.run(["git", *a], cwd=engine_root, capture_output=True, text=True).stdout  # noqa: E731
    data = {
        "commit": git("rev-parse", "--short", "HEAD").strip(),
        "engine_files_changed_since_commit": [
            line[3:]
            for line in git("status", "--porcelain").splitlines()
            if line[3:].startswith(("analysis/", "jit/", "costmodel/", "kernel/"))
        ],
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "size": size,
        "machine": platform.processor() or platform.machine(),
        "node_cpus": os.cpu_count(),
        "threads": _loopscope.cpu_threads(),
        "load_average_at_end": os.getloadavg(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "numba": getattr(numba, "__version__", None),
        "repeat": opts.repeat,
        "budget_s": opts.budget,
        "settle_calls": opts.settle_calls,
        "total_seconds": time.monotonic() - t_start,
        "categories": [name for name, _ in CATEGORIES] + ["other"],
        "summary": s,
        "rows": rows,
    }
    os.makedirs(os.path.dirname(JSON), exist_ok=True)
    with open(JSON, "w") as f:
        json.dump(data, f, indent=1, default=str)
    with open(MARKDOWN, "w") as f:
        f.write(markdown(data))
    print(f"wrote {os.path.relpath(JSON, ROOT)} and {os.path.relpath(MARKDOWN, ROOT)}")


if __name__ == "__main__":
    main()
