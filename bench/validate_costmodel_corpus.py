#!/usr/bin/env python3
"""Validation of the cost model on code it was not fitted to, nest by nest.

The suites:

- ``benchmarks``: the twelve benchmarks of share/benchmarks (small, medium);
- ``corpus``: the loop corpus of share/corpus (196 functions written in the
  styles of public teaching and example code), each at its own small and
  medium sizes (every case's argument maker takes the size);
- ``polybench``: the 30 PolyBench kernels of share/polybench.py at the
  small and medium datasets.

For every case (function, size) the program

1. times one plain CPython call; a case over ``--cpython-limit`` seconds
   (2 s) is predicted only (its loops skipped, as ``loopscope.explain``
   does), not measured, and one the model prices at over 5 times the limit
   in Python is not run at all;
2. predicts every execution of every nest the function runs (its own and
   those of the module functions it calls), with the live values of that
   execution, for Python, one CPU core and all CPU cores, as if the variants
   were compiled (fact ``cpu_compiled``: compilation is excluded) and the
   thread pool's workers awake (fact ``workers_awake``, as after the untimed
   call below), through
   ``_cost_hook.estimate_function`` (the loops run in Python between
   estimates, so every execution sees the values it would see);
3. measures the same three variants *per nest*: the function is rewritten
   with a timing hook around the engine's device of that variant
   (``_run._dispatch``). A native nest's time is that of its hook: binding
   the values, the checks, the native run and writing back, which is what
   the engine pays per execution. A nest run as Python (the ``python``
   variant, or a native variant that fell back) is timed from the start of
   its hook (binding the values and recording the run, which every variant
   pays: the model prices it as ``py_dispatch_us``) to the statement after
   its loop (``_rewrite.PYTHON_RAN_LISTENER``;
   where a ``return`` or an exception leaves the loop, to the next hook call
   or the function's return). Each variant is called once to compile (and the
   background compiles awaited) before the timed calls; the variants take
   turns, on fresh arguments, and each nest keeps its best call. Each timed
   call comes right after an untimed call of the same variant (skipped for
   a Python call over 50 ms), so every variant is timed warm, as the model
   prices it: a call that follows another variant finds the engine's code
   and tables out of the caches (about 130 us more for a first nest, here),
   which made whichever variant ran first in a round look slower.
   Single-threaded variants are timed by the thread's CPU time (the time they
   need when they have a core, on a machine shared with other work), the
   parallel one by the wall clock.

Per nest and variant the relative error is |predicted - measured| /
measured, counted where the variant ran the nest as predicted (a native
variant that the model says declines the nest, or that fell back at run
time, is not counted for it); the model's choice per nest (the rule of
``loopscope.run(device="auto")``) is compared with the variant measured
fastest. Prints the table per suite and overall and the worst cases with
the estimate's components, writes bench/results/costmodel_corpus.json.

    .venv/bin/python bench/validate_costmodel_corpus.py [--suite all] [--quick]
        [--only name,...] [--repeat 3] [--cpython-limit 2] [--worst 15]
"""

import argparse
import collections
import json
import math
import os
import platform
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "share"))
sys.path.insert(0, os.path.join(ROOT, "bench"))

from validate_costmodel import VARIANTS, fmt, model_choice, nest_prices  # noqa: E402

OUT = os.path.join(ROOT, "bench", "results", "costmodel_corpus.json")
SUITES = ("benchmarks", "corpus", "polybench")
# Compiled, and the pool's workers awake: each timed call follows an untimed
# call of the same variant, well within the 2 ms the workers spin after a
# parallel loop, so its first region does not wake them.
FACTS = {"cpu_compiled": True, "gpu_compiled": True, "workers_awake": True}
MAX_ESTIMATES = 200  # executions of one nest estimated one by one; later ones priced at their mean


# ------------------------------------------------------------------ cases --


class Case:
    __slots__ = ("suite", "name", "size", "fn", "make")

    def __init__(self, suite, name, size, fn, make):
        self.suite, self.name, self.size, self.fn, self.make = suite, name, size, fn, make


def cases(suite, quick, only):
    out = []
    if suite in ("benchmarks", "all"):
        import benchmarks

        for name in benchmarks.names():
            b = benchmarks.get(name)
            for size in ("small",) if quick else ("small", "medium"):
                out.append(Case("benchmarks", name, size, b.fn, lambda b=b, size=size: b.args(size)))
    if suite in ("corpus", "all"):
        import corpus

        for i, c in enumerate(corpus.all_cases()):
            if quick and i % 4:
                continue
            for size in ("small",) if quick else ("small", "medium"):
                out.append(Case("corpus", c.name, size, c.fn, lambda c=c, size=size: c.make(size)))
    if suite in ("polybench", "all"):
        import polybench

        for i, k in enumerate(polybench.KERNELS):
            if quick and i % 3:
                continue
            for size in ("small",) if quick else ("small", "medium"):
                out.append(Case("polybench", k.name, size, k.fn, lambda k=k, size=size: k.args(size)))
    if only:
        keep = set(only.split(","))
        out = [c for c in out if c.name in keep]
    return out


def call(fn, args):
    """``fn(*args)``; the corpus's error cases raise by design."""
    try:
        fn(*args)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


# ------------------------------------------------------------- prediction --


def nest_key(e):
    return f"{e.get('function')}:{e.get('line')}"


def predict(case, args, run_loops):
    """Per nest: the predicted seconds per variant summed over its
    executions, and the estimate of its first execution (for the report)."""
    from loopscope import _cost_hook

    est = _cost_hook.estimate_function(
        case.fn,
        args,
        {},
        facts=FACTS,
        sweep=False,
        run_loops=run_loops,
        every_execution=run_loops,
        max_estimates=MAX_ESTIMATES,
    )
    nests = collections.OrderedDict()
    for e in est["nests"]:
        key = nest_key(e)
        n = nests.get(key)
        if n is None:
            n = nests[key] = {
                "key": key,
                "line": e.get("line"),
                "function": e.get("function"),
                "executions": e.get("executions", 1),
                "estimated": 0,
                "first": e,
            }
            if "variants" not in e:
                n["not_estimated"] = e.get("reason", "")
                continue
            n["pred"] = {v: 0.0 for v in VARIANTS}
            n["available"] = {v["variant"]: v["available"] for v in e["variants"]}
        if "pred" not in n or "variants" not in e:
            continue
        p = nest_prices(e)
        for v in VARIANTS:
            n["pred"][v] += p[v]
        n["estimated"] += 1
    for n in nests.values():
        if "pred" in n and n["executions"] > n["estimated"] > 0:
            # executions past MAX_ESTIMATES, or not estimated (run_loops=False)
            scale = n["executions"] / n["estimated"]
            n["pred"] = {v: t * scale for v, t in n["pred"].items()}
    return nests, est


# ------------------------------------------------------------ measurement --


def key_of(rec):
    return f"{rec.function}:{rec.line}"


def contains(outer, inner):
    """The loop of nest record ``outer`` holds that of ``inner`` (a nest of
    the body of a loop that runs as Python: a declined outer nest, or one
    over an iterable whose values decline)."""
    return (
        outer is not None
        and inner is not None
        and outer.function == inner.function
        and outer.line <= inner.line <= outer.end_line
        and outer is not inner
    )


class Timer:
    """The function rewritten so that its nests run on ``variant`` through a
    timing hook (see the module's docstring)."""

    def __init__(self, fn, variant, clock):
        from loopscope import _callees, _rewrite, _run

        self.variant = variant
        self.clock = time.thread_time if clock == "thread" and variant != "cpu" else time.perf_counter
        self.inner = _run._dispatch(variant)
        self.nests = _rewrite.NESTS
        self.open = []  # (nest record, start, timed) of the loops running as Python, outermost first
        self.times = collections.defaultdict(float)
        self.statuses = {}
        table = _callees.Table.of(fn, self.hook, hook_declined=True)
        self.fn, _ = _rewrite.compile_function(fn, self.hook, hook_declined=True, callees=table)

    def _close(self, now, inside=None):
        """Ends the Python intervals open at ``now``, except those of nests
        whose lines hold the nest ``inside`` (its loop runs within theirs)."""
        while self.open:
            rec, t0, counted = self.open[-1]
            if inside is not None and contains(rec, inside):
                return
            self.open.pop()
            if counted:
                self.times[key_of(rec)] += now - t0

    def python_ran(self, nest_id):
        """The Python loop of ``nest_id`` ended (the statement after it, see
        ``_rewrite.PYTHON_RAN_LISTENER``): its interval ends here, not at the
        next hook, so the statements after the loop are not its time."""
        rec = self.nests.get(nest_id)
        if not any(entry[0] is rec for entry in self.open):
            return
        now = self.clock()
        while self.open:
            inner, t0, counted = self.open.pop()
            if counted:
                self.times[key_of(inner)] += now - t0
            if inner is rec:
                return

    def hook(self, nest_id, env):
        rec = self.nests.get(nest_id)
        self._close(self.clock(), rec)
        if rec is None or rec.declined:
            self.open.append((rec, self.clock(), False))  # a declined nest: its loop is not timed
            return None
        key = key_of(rec)
        t0 = self.clock()
        out = self.inner(nest_id, env)
        self.times[key] += self.clock() - t0
        if out is None:  # the Python loop runs now
            self.statuses[key] = "python"
            self.open.append((rec, self.clock(), True))
        else:
            self.statuses[key] = "native"
        return out

    def __call__(self, args):
        from loopscope import _rewrite

        self.times = collections.defaultdict(float)
        self.open = []
        listening, _rewrite.PYTHON_RAN_LISTENER[0] = _rewrite.PYTHON_RAN_LISTENER[0], self.python_ran
        try:
            raised = call(self.fn, args)
        finally:
            _rewrite.PYTHON_RAN_LISTENER[0] = listening
        self._close(self.clock())
        return dict(self.times), raised


WARM_UP_PYTHON_BELOW_S = 0.05  # a longer Python call is warm after its first nest


def measure(case, repeat, budget):
    """Best measured seconds per nest and variant, and how each variant ran
    each nest ("native" or "python")."""
    import _loopscope

    timers = {v: Timer(case.fn, v, "thread") for v in VARIANTS}
    for v in VARIANTS:  # compile, wait for the optimised code, and warm
        timers[v](case.make())
        _loopscope.cpu_wait_compiles()
        timers[v](case.make())
    best = {v: {} for v in VARIANTS}
    last_python_s = 0.0
    t_start, rounds = time.perf_counter(), 0
    while True:
        elapsed = time.perf_counter() - t_start
        if rounds >= 1 and not (rounds < repeat and elapsed < budget) and not (rounds < 50 and elapsed < 0.3):
            break
        for v in VARIANTS:
            if v != "python" or last_python_s < WARM_UP_PYTHON_BELOW_S:
                timers[v](case.make())
            t0 = time.perf_counter()
            got, _ = timers[v](case.make())
            if v == "python":
                last_python_s = time.perf_counter() - t0
            for key, t in got.items():
                best[v][key] = min(best[v].get(key, math.inf), t)
        rounds += 1
    return best, {v: dict(timers[v].statuses) for v in VARIANTS}, rounds


# ------------------------------------------------------------------ cases --


def components(e, variant):
    for v in e.get("variants", []):
        if v["variant"] == variant:
            keys = ("total", "compute", "scheduling", "transfer", "draws", "compile", "bound_by", "details")
            return {k: v.get(k, 0.0) for k in keys}
    return None


def validate_case(case, opts):
    # A case the model prices at over 5 times the limit in Python is not run
    # at all (PolyBench's medium floyd-warshall takes 17 s in CPython).
    nests, est = predict(case, case.make(), run_loops=False)
    guess = sum(n["pred"]["python"] for n in nests.values() if "pred" in n)
    # The guess ran no loop: the counts it keeps sampled arrays that the
    # loops before a nest had not filled yet (label_components' labels, all
    # zero). The prediction below counts from the values of a real run.
    import _loopscope

    _loopscope.cost_set_work_cache(True)
    row = {"suite": case.suite, "name": case.name, "size": case.size, "raises": None}
    if guess > 5 * opts.cpython_limit:
        cpython = None
        measured = False
    else:
        args = case.make()
        t0 = time.thread_time()
        row["raises"] = call(case.fn, args)
        cpython = time.thread_time() - t0
        measured = cpython <= opts.cpython_limit
    row["cpython"] = cpython
    if measured:
        nests, est = predict(case, case.make(), run_loops=True)
    row["not_analysed"] = est.get("not_analysed")
    if not measured and cpython is None:
        row["skipped"] = f"predicted at {guess:.1f} s in CPython (over 5 x {opts.cpython_limit:g} s): not run"
    elif not measured:
        row["skipped"] = f"CPython takes {cpython:.1f} s (over {opts.cpython_limit:g} s): predicted only"
    else:
        best, statuses, rounds = measure(case, opts.repeat, opts.budget)
        row["rounds"] = rounds
    out = []
    for key, n in nests.items():
        r = {
            "suite": case.suite,
            "case": case.name,
            "size": case.size,
            "nest": key,
            "line": n["line"],
            "executions": n["executions"],
        }
        if "pred" not in n:
            r["not_estimated"] = n.get("not_estimated", "")
            out.append(r)
            continue
        r["pred"] = n["pred"]
        r["choice"] = model_choice(n["pred"])
        r["components"] = {v: components(n["first"], v) for v in VARIANTS}
        r["first_choice"] = n["first"].get("choice")
        if measured:
            meas = {v: best[v].get(key) for v in VARIANTS}
            ran = {v: statuses[v].get(key) for v in VARIANTS}
            r["meas"], r["ran"] = meas, ran
            # A variant is compared where it ran the nest as the model says
            # it would: natively when available, as Python when declined.
            r["error"] = {}
            for v in VARIANTS:
                m, p = meas[v], n["pred"][v]
                if not m or m <= 0:
                    r["error"][v] = None
                    continue
                native_expected = v == "python" or n["available"].get(v, False)
                if v != "python" and (ran[v] != "native" or not native_expected):
                    r["error"][v] = None
                    continue
                r["error"][v] = abs(p - m) / m
            got = {v: meas[v] for v in VARIANTS if meas[v]}
            if len(got) == len(VARIANTS):
                r["fastest"] = min(got, key=got.get)
                r["slowdown"] = got[r["choice"]] / got[r["fastest"]] - 1
        out.append(r)
    row["nests"] = [r["nest"] for r in out]
    return row, out


# ---------------------------------------------------------------- summary --


def pct(xs, q):
    if not xs:
        return None
    xs = sorted(xs)
    k = (len(xs) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def table(nests):
    """The rows of the summary table for these nest results."""
    done = [n for n in nests if "error" in n]
    rows = []
    errs = [e for n in done for e in n["error"].values() if e is not None]
    chosen = [n for n in done if "fastest" in n]
    rows.append(
        {
            "row": f"all {len(done)} nests",
            "count": len(errs),
            "median_error": pct(errs, 0.5),
            "p90_error": pct(errs, 0.9),
            "choices_fastest": sum(1 for n in chosen if n["choice"] == n["fastest"]),
            "choices": len(chosen),
            "mean_slowdown": statistics.mean([n["slowdown"] for n in chosen]) if chosen else None,
        }
    )
    for v in VARIANTS:
        e = [n["error"][v] for n in done if n["error"][v] is not None]
        # The choice column of a variant: the nests measured fastest on it.
        fast = [n for n in chosen if n["fastest"] == v]
        rows.append(
            {
                "row": v,
                "count": len(e),
                "median_error": pct(e, 0.5),
                "p90_error": pct(e, 0.9),
                "choices_fastest": sum(1 for n in fast if n["choice"] == v),
                "choices": len(fast),
                "mean_slowdown": statistics.mean([n["slowdown"] for n in fast]) if fast else None,
            }
        )
    return rows


def markdown_table(rows):
    def p(x):
        return "-" if x is None else f"{100 * x:.0f} %"

    lines = [
        "| | nests (errors counted) | median error | 90th percentile | choices equal to the fastest | mean slowdown of the choice |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['row']} | {r['count']} | {p(r['median_error'])} | {p(r['p90_error'])} | "
            f"{r['choices_fastest']}/{r['choices']} | {p(r['mean_slowdown'])} |"
        )
    return "\n".join(lines)


def worst(nests, k):
    """The k largest errors (one per nest and variant)."""
    flat = []
    for n in nests:
        for v, e in n.get("error", {}).items():
            if e is not None:
                flat.append((e, v, n))
    flat.sort(key=lambda t: -t[0])
    out = []
    for e, v, n in flat[:k]:
        c = n["components"][v] or {}
        out.append(
            {
                "suite": n["suite"],
                "case": n["case"],
                "size": n["size"],
                "nest": n["nest"],
                "variant": v,
                "executions": n["executions"],
                "pred": n["pred"][v],
                "meas": n["meas"][v],
                "error": e,
                "ratio": n["pred"][v] / n["meas"][v],
                "components": c,
            }
        )
    return out


def short(x):
    """``x`` with its floats to 4 significant digits."""
    if isinstance(x, float):
        return float(f"{x:.4g}")
    if isinstance(x, dict):
        return {k: short(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [short(v) for v in x]
    return x


def slim(nests):
    """The nests as written to the JSON: the components of each variant
    without their details (the worst cases keep theirs), floats to 4
    significant digits."""
    out = []
    for n in nests:
        n = dict(n)
        if n.get("components"):
            n["components"] = {
                v: {k: x for k, x in c.items() if k != "details"} if c else c for v, c in n["components"].items()
            }
        out.append(short(n))
    return out


def print_worst(ws):
    for w in ws:
        c = w["components"]
        det = c.get("details") or {}
        short = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in sorted(det.items()))
        print(
            f"  {w['case']}/{w['size']} {w['nest']} {w['variant']}: predicted {fmt(w['pred'])}, "
            f"measured {fmt(w['meas'])} (x{w['ratio']:.2f}), {w['executions']} executions; first execution: "
            f"compute {fmt(c.get('compute'))}, scheduling {fmt(c.get('scheduling'))}, "
            f"transfer {fmt(c.get('transfer'))}, draws {fmt(c.get('draws') or 0.0)}, compile {fmt(c.get('compile'))}, "
            f"bound by {c.get('bound_by')}"
        )
        print(f"      {short[:400]}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--suite", choices=SUITES + ("all",), default="all")
    ap.add_argument("--quick", action="store_true", help="a quarter of the corpus, a third of PolyBench, small only")
    ap.add_argument("--only", default="", help="comma-separated case names")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--budget", type=float, default=0.5, help="seconds of timed rounds per case (at least one round)")
    ap.add_argument("--cpython-limit", type=float, default=2.0)
    ap.add_argument("--worst", type=int, default=15)
    ap.add_argument("--recalibrate", action="store_true", help="measure the host again first")
    ap.add_argument("--out", default=None, help=f"JSON to write (default {os.path.relpath(OUT, ROOT)}; '-': none)")
    opts = ap.parse_args(argv)

    from loopscope import _cost, _run  # noqa: F401  (_run registers the engine's calibration)

    t_calibrate = time.perf_counter()
    host = _cost.host_profile(recalibrate=opts.recalibrate)
    if opts.recalibrate:  # the calibration's own time (a first call pays it where no cache is)
        print(f"host calibration: {time.perf_counter() - t_calibrate:.2f} s")
    todo = cases(opts.suite, opts.quick, opts.only)
    load = [os.getloadavg()[0]]
    t_start = time.perf_counter()
    print(f"{len(todo)} cases; load average {load[0]:.2f} on {os.cpu_count()} CPUs")
    print(
        f"{'case':28s} {'size':6s} {'nest':28s} | "
        + " | ".join(f"{v:>10s} pred/meas" for v in VARIANTS)
        + " | choice/fastest"
    )
    rows, nests = [], []
    for case in todo:
        try:
            row, got = validate_case(case, opts)
        except Exception as exc:  # reported, not fatal
            row, got = {"suite": case.suite, "name": case.name, "size": case.size, "error": repr(exc)}, []
            print(f"{case.name:28s} {case.size:6s} failed: {exc!r}")
        rows.append(row)
        nests.extend(got)
        load.append(os.getloadavg()[0])
        for n in got:
            if "pred" not in n:
                continue
            cells = " | ".join(
                f"{fmt(n['pred'][v]):>9s}/{fmt((n.get('meas') or {}).get(v)):<9s}"
                + ("*" if (n.get("error") or {}).get(v) is None and "meas" in n else " ")
                for v in VARIANTS
            )
            cf = f"{n['choice']}/{n.get('fastest', '-')}"
            print(f"{case.name[:28]:28s} {case.size:6s} {n['nest'][-28:]:28s} | {cells} | {cf}", flush=True)
        if row.get("skipped"):
            print(f"{case.name[:28]:28s} {case.size:6s} {row['skipped']}")
    elapsed = time.perf_counter() - t_start

    summary = {s: table([n for n in nests if n["suite"] == s]) for s in SUITES if any(n["suite"] == s for n in nests)}
    summary["all"] = table(nests)
    ws = worst(nests, opts.worst)
    for s, t in summary.items():
        print(f"\n{s}:")
        print(markdown_table(t))
    print(f"\nthe {len(ws)} largest errors:")
    print_worst(ws)
    print(
        f"\n{len(rows)} cases, {len(nests)} nests, {sum(1 for r in rows if r.get('skipped'))} predicted only, "
        f"{elapsed:.0f} s; load average {min(load):.2f} to {max(load):.2f}"
    )
    out = {
        "generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"platform": platform.platform(), "python": sys.version.split()[0], "cpus": os.cpu_count()},
        "host_profile": host,
        "options": vars(opts),
        "load_average": {"min": min(load), "max": max(load), "mean": statistics.mean(load)},
        "seconds": elapsed,
        "summary": summary,
        "worst": ws,
        "cases": short(rows),
        "nests": slim(nests),
    }
    path = opts.out if opts.out is not None else (OUT if not (opts.quick or opts.only) else "-")
    if path != "-":
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w") as f:  # one line per nest and case (the file holds about 600 nests)
            f.write("{\n")
            for i, (k, v) in enumerate(out.items()):
                sep = ",\n" if i < len(out) - 1 else "\n"
                if isinstance(v, list):
                    rows = ",\n  ".join(json.dumps(x, default=str) for x in v)
                    f.write(f"{json.dumps(k)}: [\n  {rows}\n]{sep}")
                else:
                    f.write(f"{json.dumps(k)}: {json.dumps(v, indent=1, default=str)}{sep}")
            f.write("}\n")
        print(f"wrote {path}")
    return out


if __name__ == "__main__":
    main()
