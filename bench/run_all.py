"""The benchmark runner: runs every benchmark program of bench/ (each prints
its table and writes JSON to bench/results/), then writes docs/benchmarks.md
with the tables and charts (Vega-Lite specifications rendered to PNG with
vl-convert) from those results.

    .venv/bin/python bench/run_all.py              # run everything (about 15 minutes), then write the report
    .venv/bin/python bench/run_all.py --report     # only write the report from the existing results
    .venv/bin/python bench/run_all.py --only cpu,nvrtc

Timings depend on the machine and its load: the report says where it ran.
"""

import argparse
import datetime
import json
import math
import os
import platform
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")
DOCS = os.path.join(ROOT, "docs")
IMAGES = os.path.join(DOCS, "images")

PROGRAMS = {
    "cpu": ["bench_cpu.py"],
    "costmodel": ["validate_costmodel.py"],
    "nvrtc": ["bench_nvrtc.py"],
    "analysis": ["bench_analysis.py"],
    "cell_overhead": ["bench_cell_overhead.py"],
    "auto_overhead": ["bench_auto_overhead.py"],
    "first_call": ["bench_first_call.py"],
}


def run_programs(only):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [os.path.join(ROOT, "kernel", "python"), os.path.join(ROOT, "build", "python"), env.get("PYTHONPATH", "")]
    )
    for name, argv in PROGRAMS.items():
        if only and name not in only:
            continue
        print(f"== {name} ==", flush=True)
        subprocess.run([sys.executable, os.path.join(HERE, argv[0])] + argv[1:], cwd=ROOT, env=env, check=False)


def load(name):
    path = os.path.join(RESULTS, f"{name}.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def png(spec, name):
    try:
        import vl_convert as vlc
    except ImportError:
        return None
    os.makedirs(IMAGES, exist_ok=True)
    data = vlc.vegalite_to_png(spec, scale=1.5)
    path = os.path.join(IMAGES, name)
    with open(path, "wb") as f:
        f.write(data)
    return f"images/{name}"


def geomean(values):
    values = [v for v in values if v and v > 0 and math.isfinite(v)]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def cpu_section(cpu):
    out = ["## Speed: CPython, Loopscope and Numba (CPU)", ""]
    out.append(
        f"Large size of each benchmark; best of {cpu.get('repeat')} runs; {cpu.get('cpus')} cores, "
        f"{cpu.get('threads')} threads; numba {cpu.get('numba')}, numpy {cpu.get('numpy')}; load average "
        f"during the run {', '.join(f'{x:.1f}' for x in cpu.get('load_average', []))}."
    )
    out.append("")
    out.append(
        "| benchmark | CPython | Loopscope 1 core | Loopscope parallel | Numba @njit | Numba prange | NumPy |"
        " speed-up (Loopscope best vs CPython) |"
    )
    out.append("|---|---|---|---|---|---|---|---|")

    def ms(v):
        return "n/a" if v is None else (f"{v:.2f} s" if v >= 1 else f"{v * 1e3:.2f} ms")

    values = []
    for r in cpu["rows"]:
        best = min(x for x in (r.get("ls_serial"), r.get("ls_parallel")) if x)
        out.append(
            f"| {r['name']} | {ms(r.get('cpython'))} | {ms(r.get('ls_serial'))} | {ms(r.get('ls_parallel'))} | "
            f"{ms(r.get('numba'))} | {ms(r.get('numba_parallel'))} | {ms(r.get('numpy'))} | "
            f"{r['cpython'] / best:.0f}x |"
        )
        for key, label in (
            ("cpython", "CPython"),
            ("ls_serial", "Loopscope 1 core"),
            ("ls_parallel", "Loopscope parallel"),
            ("numba", "Numba"),
            ("numba_parallel", "Numba prange"),
        ):
            if r.get(key):
                values.append({"benchmark": r["name"], "variant": label, "seconds": r[key]})
    s = cpu.get("summary", {})
    g = s.get("geomean_speedup_vs_cpython", {})
    out.append("")
    out.append("Geometric mean speed-up over CPython: " + ", ".join(f"{k} {v:.0f}x" for k, v in g.items()) + ".")
    if "geomean_ls_parallel_vs_numba_parallel" in s:
        out.append(
            f"Loopscope parallel against Numba prange: {s['geomean_ls_parallel_vs_numba_parallel']:.2f}x "
            f"(geometric mean); best Loopscope variant against best Numba variant: "
            f"{s.get('geomean_ls_best_vs_numba_best', float('nan')):.2f}x."
        )
    fc = s.get("first_call_overhead_s", {})
    if fc:
        nu = max(fc.get("numba", 1e-9) or 1e-9, 1e-9)
        eng, wall = fc.get("loopscope_engine"), fc.get("loopscope", 0)
        verdict = lambda r: "met" if r <= 0.10 else "not met"  # noqa: E731
        text = "First-call latency, geometric mean (target: at most 0.10 of Numba's): "
        if eng is not None:
            text += (
                f"Loopscope analysis + compile {eng * 1e3:.1f} ms against Numba's {nu * 1e3:.0f} ms "
                f"(ratio {eng / nu:.3f}, {verdict(eng / nu)}); "
            )
        text += (
            f"first call minus a warm call {wall * 1e3:.1f} ms (ratio {wall / nu:.3f}, {verdict(wall / nu)}; "
            "it includes the quick code's slower first run, see docs/cpu-benchmarks.md)."
        )
        out.append(text)
    d = cpu.get("dispatch", {})
    if d:
        out.append(
            f"Dispatch on a variant-cache hit: {d.get('engine_cpu_run_us', 0):.1f} µs in the engine, "
            f"{d.get('loopscope_run_us', 0):.1f} µs through `loopscope.run`."
        )
    bw = cpu.get("bandwidth", {})
    triad = cpu.get("stream_triad", {})
    if triad:
        out.append(
            f"Measured STREAM triad bandwidth: {triad.get('GBps', 0):.1f} GB/s; bandwidth-bound benchmarks: "
            + ", ".join(f"{k} {v['GBps']:.1f} GB/s ({v['fraction_of_triad']:.0%} of triad)" for k, v in bw.items())
            + " (target 70%)."
        )
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": "Measured time, large size (log scale)",
        "data": {"values": values},
        "mark": {"type": "point", "filled": True, "size": 90},
        "width": 460,
        "encoding": {
            "y": {"field": "benchmark", "type": "nominal", "title": None},
            "x": {"field": "seconds", "type": "quantitative", "scale": {"type": "log"}},
            "color": {"field": "variant", "type": "nominal"},
            "shape": {"field": "variant", "type": "nominal"},
        },
    }
    img = png(spec, "cpu-times.png")
    if img:
        out += ["", f"![Measured time per benchmark]({img})"]
    return out


def costmodel_section(cm):
    out = ["## The cost model against measurements", ""]
    summary = cm.get("summary") or {}
    if summary:
        targets = summary.get("targets") or {}
        out.append(
            f"Predicted against measured time for Python, CPU serial and CPU parallel, the twelve benchmarks "
            f"at {', '.join(cm.get('sizes') or [])} sizes, best of {cm.get('repeat')} runs "
            f"(clock: {cm.get('clock')}); GPU priced on {cm.get('gpu_profile')} but not measured (no GPU)."
        )
        out += ["", "| measure | value | target |", "|---|---|---|"]
        if "median_error" in summary:
            out.append(
                f"| median relative error | {summary['median_error']:.1%} | "
                f"{targets.get('median_error', 0.3):.0%} |"
            )
        if "worst_error" in summary:
            out.append(f"| worst relative error | {summary['worst_error']:.1%} | |")
        if "mean_slowdown" in summary:
            out.append(
                f"| mean slowdown of the model's choice against the fastest measured variant | "
                f"{summary['mean_slowdown']:.1%} | {targets.get('mean_slowdown', 0.05):.0%} "
                f"(ALPyNA's published model: 13.6%) |"
            )
        if "choices_matching_oracle" in summary:
            out.append(
                f"| choices equal to the fastest measured variant | {summary['choices_matching_oracle']} of "
                f"{summary.get('cases', '?')} | |"
            )
        per = summary.get("per_variant") or {}
        if per:
            out += ["", "| variant | median error | worst error | cases |", "|---|---|---|---|"]
            for variant, v in per.items():
                out.append(
                    f"| {variant} | {v.get('median_error', float('nan')):.0%} | "
                    f"{v.get('worst_error', float('nan')):.0%} | {v.get('count', '')} |"
                )
    rows = cm.get("rows") or []
    points = []
    for r in rows:
        for variant in ("python", "cpu-serial", "cpu"):
            p, m = (
                r.get(f"predicted_{variant}") or (r.get("predicted") or {}).get(variant),
                r.get(f"measured_{variant}") or (r.get("measured") or {}).get(variant),
            )
            if p and m:
                points.append(
                    {
                        "benchmark": r.get("benchmark") or r.get("name"),
                        "variant": variant,
                        "predicted": p,
                        "measured": m,
                    }
                )
    if points:
        spec = {
            "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
            "title": "Predicted against measured time (log-log)",
            "data": {"values": points},
            "width": 360,
            "height": 360,
            "layer": [
                {
                    "mark": {"type": "point", "filled": True},
                    "encoding": {
                        "x": {"field": "measured", "type": "quantitative", "scale": {"type": "log"}},
                        "y": {"field": "predicted", "type": "quantitative", "scale": {"type": "log"}},
                        "color": {"field": "variant", "type": "nominal"},
                        "tooltip": [{"field": "benchmark"}],
                    },
                }
            ],
        }
        img = png(spec, "costmodel-accuracy.png")
        if img:
            out += ["", f"![Predicted against measured time]({img})"]
    out += ["", "Details: `bench/results/costmodel.json`; formulas: [costmodel.md](costmodel.md)."]
    return out


def nvrtc_section(nv):
    out = ["## NVRTC compile latency", ""]
    out.append("| benchmark | target | cold | warm |")
    out.append("|---|---|---|---|")
    for r in nv.get("rows", []):
        for target, t in (r.get("targets") or {}).items():
            if t.get("ok"):
                out.append(
                    f"| {r.get('benchmark')} (nest {r.get('nest')}) | {target} | {t.get('cold_ms', 0):.0f} ms | "
                    f"{t.get('warm_ms', 0):.0f} ms |"
                )
    return out


def analysis_section(an):
    out = [
        "## Dependence analysis latency",
        "",
        "| nest | static phase | dynamic, cache miss | dynamic, cache hit |",
        "|---|---|---|---|",
    ]
    for r in an.get("rows", []):
        out.append(f"| {r['nest']} | {r['static_us']:.0f} µs | {r['miss_us']:.1f} µs | {r['hit_us']:.2f} µs |")
    out.append("")
    out.append(
        "Targets: static phase of a 3-deep nest under 1 ms, dynamic phase under 200 µs on a miss and under "
        "10 µs on a hit."
    )
    return out


def overhead_section(ov):
    out = [
        "## What interception costs a cell without loops",
        "",
        "| cell | plain kernel | Loopscope | overhead |",
        "|---|---|---|---|",
    ]
    for r in ov.get("rows", []):
        out.append(
            f"| {r['cell']} | {r['plain_ms']:.2f} ms | {r['loopscope_ms']:.2f} ms | {r['overhead_ms']:+.2f} ms |"
        )
    out.append("")
    out.append(
        f"Worst: {ov.get('worst_overhead_ms', 0):+.2f} ms (target: at most 2 ms). Medians of round trips "
        "(execute_request to reply) over the Jupyter protocol."
    )
    return out


def auto_overhead_section(ao):
    out = [
        "## What `auto` costs per nest on a warm call",
        "",
        "| benchmark | devices auto runs | nests per call | auto | same devices, no decision | overhead per nest "
        "| better of cpu-serial and cpu | that against auto |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in ao.get("benchmarks", []):
        best = min(r.get("cpu_serial_us", math.inf), r.get("cpu_us", math.inf))
        out.append(
            f"| {r['name']} | {', '.join(r['devices'])} | {r['nest_executions_per_call']} | {r['auto_us']:.1f} us "
            f"| {r['replay_us']:.1f} us | {r['overhead_us_per_nest']:.1f} us | {best:.1f} us "
            f"| {r.get('auto_vs_best_native', math.nan):.2f} |"
        )
    out.append("")
    out.append(
        f"Worst: {ao.get('worst_us_per_nest', 0):.1f} us per nest execution (target: at most "
        f"{ao.get('target_us_per_nest', 5):.0f} us), size {ao.get('size')}, medians of interleaved rounds after "
        f"{ao.get('warm')} warm calls. `auto` keeps its decisions (docs/costmodel.md, \"Kept decisions\")."
    )
    if "geomean_auto_vs_best_native" in ao:
        out.append("")
        out.append(
            f"auto against the better of `cpu-serial` and `cpu` in the same rounds: geometric mean "
            f"{ao['geomean_auto_vs_best_native']:.2f} (1: as fast; target at least 0.95), lowest "
            f"{ao['lowest_auto_vs_best_native']:.2f}."
        )
    return out


def first_call_section(fc):
    def t(v):
        if v is None:
            return "n/a"
        return f"{v * 1e6:.0f} us" if v < 1e-3 else (f"{v * 1e3:.2f} ms" if v < 1 else f"{v:.2f} s")

    s = fc.get("summary", {})
    imports = fc.get("imports", {})
    out = [
        "## First calls",
        "",
        "The first `loopscope.run(fn, ...)` (`device=\"auto\"`) of a function, each in a process of its own after "
        "`import loopscope` and one unrelated function run through Loopscope, split into *rewrite* (Python work on "
        "the function's source, the rewritten function's compilation), *static* (the engine's registration of "
        "each nest: front end and static phase) and *run* (the call itself: binding, run-time analysis, cost "
        "model, native compile and the run, or the Python loops of declined nests). CPython: the plain call, "
        "best of three; warm: Loopscope's call once the background compiles are in. Produced by "
        f"`bench/bench_first_call.py` on {fc.get('date', '?')} (load average {fc.get('load_average', 0):.1f}); "
        f"import numpy {t(imports.get('import_numpy_s'))}, import loopscope {t(imports.get('import_loopscope_s'))} "
        f"(once per process, not counted below).",
        "",
        "| functions | count | first call (median) | rewrite | static | run | first call slower than CPython |",
        "|---|---|---|---|---|---|---|",
    ]
    labels = {
        "declined": "every nest declines",
        "corpus": "loop corpus, all",
        "polybench": "PolyBench, small",
    }
    for name, label in labels.items():
        g = s.get(name)
        if g:
            out.append(
                f"| {label} | {g['functions']} | {t(g['median_first_s'])} | {t(g['median_rewrite_s'])} | "
                f"{t(g['median_static_s'])} | {t(g['median_run_s'])} | {g['first_slower_than_cpython']} |"
            )
    d, p = s.get("declined"), s.get("polybench")
    out.append("")
    if d:
        out.append(
            f"Functions whose nests all decline (the corpus's, and notebook-style functions with lists, dicts, "
            f"strings, prints, generators, try/except, classes; median of {fc.get('repeat', '?')} processes each): "
            f"rewrite + static analysis {t(d['median_rewrite_and_static_s'])} median, {t(d['max_rewrite_and_static_s'])} "
            f"at most; under 1 ms for {d['under_1ms']} of {d['functions']} (target: under 1 ms), for "
            f"{d.get('under_1ms_best', '?')} in the fastest of their processes; in CPU time (what they cost an "
            f"idle machine) {t(d.get('median_rewrite_and_static_cpu_s'))} median, "
            f"{t(d.get('max_rewrite_and_static_cpu_s'))} at most, under 1 ms for {d.get('under_1ms_cpu', '?')}."
        )
    if p and p.get("with_numba"):
        out.append(
            f"PolyBench: the first call adds {t(p['geomean_loopscope_overhead_s'])} to a warm call (geometric mean: "
            f"analysis, cost model, compile), Numba's first call adds {t(p['geomean_numba_compile_s'])} (its "
            f"compile); ratio {p['geomean_overhead_over_numba_compile']:.3f} (target: at most 0.1), at most 0.1 for "
            f"{p['at_most_tenth_of_numba']} of {p['with_numba']} kernels."
        )
    base = fc.get("baseline")
    if base and d and base["summary"].get("declined"):
        b = base["summary"]["declined"]
        out += [
            "",
            f"Before: {base.get('note', 'the baseline')}, measured {base.get('date', '?')} by the same program on "
            f"the same engine build; after: the results above.",
            "",
            "| functions whose nests all decline | before | after |",
            "|---|---|---|",
            f"| first call, median | {t(b['median_first_s'])} | {t(d['median_first_s'])} |",
            f"| rewrite, median | {t(b['median_rewrite_s'])} | {t(d['median_rewrite_s'])} |",
            f"| static analysis, median | {t(b['median_static_s'])} | {t(d['median_static_s'])} |",
            f"| rewrite + static, median | {t(b['median_rewrite_and_static_s'])} | "
            f"{t(d['median_rewrite_and_static_s'])} |",
            f"| rewrite + static, worst | {t(b['max_rewrite_and_static_s'])} | {t(d['max_rewrite_and_static_s'])} |",
            f"| under 1 ms | {b['under_1ms']} of {b['functions']} | {d['under_1ms']} of {d['functions']} |",
            f"| under 1 ms in the fastest process | {b.get('under_1ms_best', '?')} of {b['functions']} | "
            f"{d.get('under_1ms_best', '?')} of {d['functions']} |",
            f"| rewrite + static, CPU time, median | {t(b.get('median_rewrite_and_static_cpu_s'))} | "
            f"{t(d.get('median_rewrite_and_static_cpu_s'))} |",
            f"| rewrite + static, CPU time, worst | {t(b.get('max_rewrite_and_static_cpu_s'))} | "
            f"{t(d.get('max_rewrite_and_static_cpu_s'))} |",
            f"| under 1 ms in CPU time | {b.get('under_1ms_cpu', '?')} of {b['functions']} | "
            f"{d.get('under_1ms_cpu', '?')} of {d['functions']} |",
        ]
        for name, label in (
            ("corpus", "loop corpus, first call median"),
            ("polybench", "PolyBench, first call median"),
        ):
            if base["summary"].get(name) and s.get(name):
                out.append(
                    f"| ({label}) | {t(base['summary'][name]['median_first_s'])} | {t(s[name]['median_first_s'])} |"
                )
    rows = fc.get("groups", {}).get("declined", [])
    if rows:
        out += [
            "",
            "| function (every nest declines) | nests | rewrite | static | run | first call | CPython |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            if "first_s" in r:
                out.append(
                    f"| {r['name']} | {r['nests']} | {t(r['rewrite_s'])} | {t(r['static_s'])} | {t(r['run_s'])} | "
                    f"{t(r['first_s'])} | {t(r['cpython_s'])} |"
                )
    return out


def write_report():
    parts = [
        "# Benchmarks",
        "",
        "Written by `bench/run_all.py` from the JSON results in `bench/results/`; every number comes from a "
        "benchmark program that prints its own table. Machine: "
        f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_implementation()} "
        f"{platform.python_version()}; written {datetime.date.today().isoformat()}. The machine is shared and "
        "noisy: compare ratios within one table, not absolute times across runs. There is no GPU here: GPU "
        "times are the cost model's predictions; the GPU emulator checks the generated CUDA's results.",
        "",
    ]
    for name, section in (
        ("cpu", cpu_section),
        ("costmodel", costmodel_section),
        ("analysis", analysis_section),
        ("nvrtc", nvrtc_section),
        ("cell_overhead", overhead_section),
        ("auto_overhead", auto_overhead_section),
        ("first_call", first_call_section),
    ):
        data = load(name)
        if data is None:
            parts += [f"## {name}", "", f"No results yet: run `bench/run_all.py --only {name}`.", ""]
            continue
        parts += section(data) + [""]
    os.makedirs(DOCS, exist_ok=True)
    with open(os.path.join(DOCS, "benchmarks.md"), "w") as f:
        f.write("\n".join(parts))
    print("wrote docs/benchmarks.md")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--report", action="store_true", help="only write docs/benchmarks.md from existing results")
    ap.add_argument("--only", default="", help="comma-separated programs to run: " + ",".join(PROGRAMS))
    args = ap.parse_args()
    if not args.report:
        run_programs({x for x in args.only.split(",") if x})
    write_report()


if __name__ == "__main__":
    main()
