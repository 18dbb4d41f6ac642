"""How Loopscope's costs grow with the size of a loop body.

A 2-deep stencil nest over 62 x 62 iterations whose body has N statements,
statement s being

    A{s % 8}[i, j] = A{(s + 1) % 8}[i, j - 1] * 0.5 + B[i + 1, j] - B[i, j + 1] + c

(arrays A0..A7 and B of shape (64, 64), c a float), for N = 5, 10, 20, 40,
80, 200 and 400. For each N, in a fresh nest:

- explain: ``loopscope.explain`` on a function holding the nest;
- static: the rewriter's registration (front end, static phase, its summary);
- analysis: the dynamic phase, uncached (``analysis_run(use_cache=False)``):
  the engine's own time, and the wall time of the call (with the conversion
  of the plan to Python); with ``--reference``, the same with the reference
  pair loop (every pair of references tested on its own);
- report: the first report as the kernel builds it (``_cell._first_report``,
  then ``_report.bundle`` and ``_report.chart_spec``), split into NVRTC (the
  generated CUDA compiled once for the cost model's register count) and the
  rest, of which the dependence graph (layout included) on its own;
- compile: the first ``cpu-serial`` run (quick code compiled, then run);
- later run: the overhead of a later ``cpu-serial`` run (its wall time minus
  the time the native code ran), median of 20, once the optimised code
  built in the background is in place.

NVRTC grows much faster than the rest; above ``--nvrtc-up-to`` statements
(default 200) it is not run (the report then uses the cost model's typical
register count) and the table says "-". With ``--unchecked`` the CUDA is also
compiled with its index checks removed (what a generator could emit when the
analysis has proved every subscript in range), to size that change.

    .venv/bin/python bench/bench_big_bodies.py [--sizes 5,10,...] [--reference] [--unchecked]

Prints a table, writes bench/results/big_bodies.json and the chart
docs/images/big-bodies.png (with vl-convert, when installed).
"""

import argparse
import ast
import json
import os
import re
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
IMAGES = os.path.join(ROOT, "docs", "images")

import numpy as np  # noqa: E402

import _loopscope  # noqa: E402
from loopscope import _cell, _cost, _cuda, _report, _rewrite, _run  # noqa: E402

SIZES = (5, 10, 20, 40, 80, 200, 400)
# Engine calls the first report makes, timed on their own: the static
# summary, the analysis (cached: its conversion to Python), the cost model,
# the CUDA generator.
TIMED_ENGINE_CALLS = (
    "analysis_info",
    "analysis_run",
    "cost_estimate_nest",
    "cost_estimate_nest_profiles",
    "cuda_generate",
)
HOOK = "__bench_big_bodies_hook__"


def nest_source(n):
    body = "\n".join(
        f"        A{s % 8}[i, j] = A{(s + 1) % 8}[i, j-1] * 0.5 + B[i+1, j] - B[i, j+1] + c" for s in range(n)
    )
    return f"for i in range(1, 63):\n    for j in range(1, 63):\n{body}\n"


def make_nest(n):
    """(nest id, env, record, seconds to register) of a nest new to this process."""
    src = nest_source(n)
    g = {f"A{k}": np.random.default_rng(k).random((64, 64)) for k in range(8)}
    g["B"] = np.random.default_rng(99).random((64, 64))
    g["c"] = 0.25
    seen = {}

    def hook(nest_id, env):
        seen["id"], seen["env"] = nest_id, env
        return {}  # skip the loop: only its values are wanted

    g[HOOK] = hook
    t0 = time.perf_counter()
    tree, nests = _rewrite.rewrite_module(ast.parse(src), "<bench>", HOOK, source=src, hook_declined=True)
    static_s = time.perf_counter() - t0
    exec(compile(ast.fix_missing_locations(tree), "<bench>", "exec"), g)
    env, why = _rewrite.bind_env(seen["id"], seen["env"])
    assert env is not None, why
    return seen["id"], env, nests[0], static_s


def explain_seconds(n):
    """loopscope.explain on a function holding the nest (rewriting, static
    phase, binding, dynamic phase, the report as a dict)."""
    import linecache

    import loopscope

    body = nest_source(n).replace("\n", "\n    ")
    src = "def kernel(A0, A1, A2, A3, A4, A5, A6, A7, B, c):\n    " + body.rstrip() + "\n"
    filename = f"<bench-big-bodies-{n}>"
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    ns = {}
    exec(compile(src, filename, "exec"), ns)
    args = [np.random.default_rng(k).random((64, 64)) for k in range(9)] + [0.25]
    t0 = time.perf_counter()
    rep = loopscope.explain(ns["kernel"], *args)
    elapsed = time.perf_counter() - t0
    assert rep["nests"] and rep["nests"][0]["analysed"], rep
    return elapsed


def unchecked_source(source):
    """The CUDA source with every ls_ix(i, n, err) index check replaced by a
    plain wrap-around (valid only when every subscript is proved in range)."""
    helper = "__device__ __forceinline__ ls_i64 ls_ix_unchecked(ls_i64 i, ls_i64 n) " "{ return i < 0 ? i + n : i; }\n"
    out = source.replace('#include "loopscope_cuda.h"\n', '#include "loopscope_cuda.h"\n' + helper, 1)
    return re.sub(r"ls_ix\(([^()]*(?:\([^()]*\))?[^()]*), (ls_n\d+_\w+), ls_err\)", r"ls_ix_unchecked(\1, \2)", out)


def measure(n, args):
    row = {"statements": n}
    row["explain_s"] = explain_seconds(n)
    nid, env, rec, row["static_s"] = make_nest(n)

    t0 = time.perf_counter()
    plan = _loopscope.analysis_run(nid, env, use_cache=False)
    row["analysis_wall_s"] = time.perf_counter() - t0
    row["analysis_engine_s"] = plan["timing_us"]["analysis"] / 1e6
    row["edges"] = len(plan["edges"])
    if args.reference:
        _loopscope.analysis_set_reference_pairs(True)
        try:
            t0 = time.perf_counter()
            ref = _loopscope.analysis_run(nid, env, use_cache=False)
            row["analysis_reference_wall_s"] = time.perf_counter() - t0
            row["analysis_reference_engine_s"] = ref["timing_us"]["analysis"] / 1e6
        finally:
            _loopscope.analysis_set_reference_pairs(False)
        for d in (plan, ref):
            d.pop("timing_us", None)
            d.pop("cache_hit", None)
        row["reference_identical"] = plan == ref

    # NVRTC, once per nest (the report reuses the facts), or not at all.
    original_facts = _cost.nvrtc_facts
    if n <= args.nvrtc_up_to:
        t0 = time.perf_counter()
        facts = _cost.nvrtc_facts(nid, env, None)
        row["nvrtc_s"] = time.perf_counter() - t0
        row["nvrtc_registers"] = facts.get("gpu_registers_per_thread")
    else:
        row["nvrtc_s"] = None
        _cost.nvrtc_facts = lambda *a, **k: {}
    try:
        if args.unchecked:
            gen = _cuda.generate(nid, env)
            if isinstance(gen, dict) and gen.get("source"):
                t0 = time.perf_counter()
                r = _loopscope.cuda_compile_source(unchecked_source(gen["source"]), "sm_90", True)
                row["nvrtc_unchecked_s"] = time.perf_counter() - t0
                row["nvrtc_unchecked_ok"] = bool(r.get("ok"))
        _report._layout_state["cache"].clear()
        spent = {}
        originals = {}
        for name in TIMED_ENGINE_CALLS:  # where the report's time goes
            fn = originals[name] = getattr(_loopscope, name)

            def timed(*a, _fn=fn, _name=name, **k):
                t = time.perf_counter()
                try:
                    return _fn(*a, **k)
                finally:
                    spent[_name] = spent.get(_name, 0.0) + time.perf_counter() - t

            setattr(_loopscope, name, timed)
        try:
            t0 = time.perf_counter()
            report = _cell._first_report(nid, env, rec, False)
            t1 = time.perf_counter()
            html = _report.bundle(report, "full")
            _report.chart_spec(report)
            t2 = time.perf_counter()
        finally:
            for name, fn in originals.items():
                setattr(_loopscope, name, fn)
    finally:
        _cost.nvrtc_facts = original_facts
    row["report_parts_s"] = spent
    row["report_rest_s"] = t2 - t0  # NVRTC excluded (it ran before, or not at all)
    row["report_build_s"] = t1 - t0
    row["report_bundle_s"] = t2 - t1
    row["report_s"] = row["report_rest_s"] + (row["nvrtc_s"] or 0.0)
    row["html_kb"] = len(html["text/html"]) / 1024
    _report._layout_state["cache"].clear()
    t0 = time.perf_counter()
    graph = _report.dependence_html(report)
    row["graph_s"] = time.perf_counter() - t0
    row["graph_mode"] = _report.graph_mode(report)["mode"]
    row["graph_drawn"] = bool(graph and "<svg" in graph)

    runner = _run.DEVICES["cpu-serial"]
    t0 = time.perf_counter()
    out = runner(nid, env)
    row["compile_first_run_s"] = time.perf_counter() - t0
    timing = _run.last_runs().get(nid, {}).get("timing", {})
    row["compile_ms"] = timing.get("compile_ms")
    row["native"] = out is not None
    _loopscope.cpu_wait_compiles()  # the optimised code built in the background, before timing later runs
    overheads = []
    for _ in range(20):
        t0 = time.perf_counter()
        runner(nid, env)
        wall = time.perf_counter() - t0
        run_ms = _run.last_runs().get(nid, {}).get("timing", {}).get("run_ms") or 0.0
        overheads.append(wall - run_ms / 1e3)
    row["later_run_overhead_us"] = statistics.median(overheads) * 1e6
    return row


def fmt(v, unit="s"):
    if v is None:
        return "-"
    if unit == "s":
        return f"{v:.3f}"
    return f"{v:.0f}"


def print_table(rows, args):
    cols = [
        ("N", "statements", "n"),
        ("edges", "edges", "n"),
        ("explain s", "explain_s", "s"),
        ("static s", "static_s", "s"),
        ("analysis s", "analysis_wall_s", "s"),
        ("engine s", "analysis_engine_s", "s"),
    ]
    if args.reference:
        cols.append(("reference s", "analysis_reference_engine_s", "s"))
    cols += [("NVRTC s", "nvrtc_s", "s")]
    if args.unchecked:
        cols.append(("unchecked s", "nvrtc_unchecked_s", "s"))
    cols += [
        ("report-NVRTC s", "report_rest_s", "s"),
        ("graph s", "graph_s", "s"),
        ("graph", "graph_mode", "t"),
        ("compile s", "compile_first_run_s", "s"),
        ("later run µs", "later_run_overhead_us", "n"),
    ]
    print(" ".join(f"{h:>14}" for h, _, _ in cols))
    for r in rows:
        cells = []
        for _, key, unit in cols:
            v = r.get(key)
            cells.append(f"{v if unit == 't' else fmt(v, unit):>14}")
        print(" ".join(cells))
    print()
    print("first report without NVRTC, seconds in: " + ", ".join(TIMED_ENGINE_CALLS) + ", the rest")
    for r in rows:
        parts = r.get("report_parts_s") or {}
        rest = r["report_rest_s"] - sum(parts.values())
        print(
            f"{r['statements']:>5}: "
            + "  ".join(f"{parts.get(n, 0.0):.3f}" for n in TIMED_ENGINE_CALLS)
            + f"  {rest:.3f}"
        )


def chart(rows):
    values = []
    series = (
        ("analysis", "analysis_wall_s"),
        ("analysis, reference pair loop", "analysis_reference_wall_s"),
        ("report without NVRTC", "report_rest_s"),
        ("NVRTC", "nvrtc_s"),
        ("NVRTC, no index checks", "nvrtc_unchecked_s"),
        ("compile (first cpu-serial run)", "compile_first_run_s"),
    )
    for r in rows:
        for name, key in series:
            v = r.get(key)
            if v:
                values.append({"statements": r["statements"], "what": name, "seconds": v})
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": "Cost against the number of statements in the loop body (log-log)",
        "data": {"values": values},
        "width": 460,
        "height": 280,
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": {"field": "statements", "type": "quantitative", "scale": {"type": "log", "domain": [4, 500]}},
            "y": {"field": "seconds", "type": "quantitative", "scale": {"type": "log"}},
            "color": {
                "field": "what",
                "type": "nominal",
                "title": None,
                "sort": [name for name, _ in series],
                "legend": {"orient": "bottom", "columns": 2},
            },
            "strokeDash": {"condition": {"test": "indexof(datum.what, ',') >= 0", "value": [5, 3]}, "value": [1, 0]},
        },
    }
    try:
        import vl_convert as vlc
    except ImportError:
        return None
    os.makedirs(IMAGES, exist_ok=True)
    path = os.path.join(IMAGES, "big-bodies.png")
    with open(path, "wb") as f:
        f.write(vlc.vegalite_to_png(spec, scale=1.5))
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)))
    ap.add_argument("--reference", action="store_true", help="also time the reference pair loop")
    ap.add_argument("--unchecked", action="store_true", help="also compile the CUDA without index checks")
    ap.add_argument("--nvrtc-up-to", type=int, default=200)
    ap.add_argument("--no-chart", action="store_true")
    args = ap.parse_args()
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))
    _cost.host_profile()  # calibrated once, outside the measurements
    rows = []
    for n in (int(x) for x in args.sizes.split(",")):
        row = measure(n, args)
        rows.append(row)
        print(
            f"N={n}: "
            + ", ".join(
                f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items() if k != "statements"
            ),
            flush=True,
        )
    print()
    print_table(rows, args)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "big_bodies.json"), "w") as f:
        json.dump(
            {
                "sizes": [r["statements"] for r in rows],
                "rows": rows,
                "graph_limits": {
                    "full_max_nodes": _report.FULL_MAX_NODES,
                    "full_max_edges": _report.FULL_MAX_EDGES,
                    "summary_max_nodes": _report.SUMMARY_MAX_NODES,
                    "summary_max_edges": _report.SUMMARY_MAX_EDGES,
                    "layout_budget_s": _report.LAYOUT_BUDGET_S,
                },
            },
            f,
            indent=2,
        )
    if not args.no_chart:
        path = chart(rows)
        if path:
            print(f"chart: {os.path.relpath(path, ROOT)}")


if __name__ == "__main__":
    main()
