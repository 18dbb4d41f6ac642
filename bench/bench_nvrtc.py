#!/usr/bin/env python3
"""NVRTC compile latency of Loopscope's generated CUDA, per kernel source.

For every loop nest of the benchmark suite (small size), the generated CUDA
source is compiled by NVRTC to PTX (compute_80) and to CUBIN (sm_80, sm_90):

- cold: the first compile in a fresh process (NVRTC loads and initialises
  its builtins), measured inside that process around nvrtcCompileProgram;
- warm: the median of further compiles of the same source in one process.

Prints a table and writes bench/results/nvrtc.json. Run with the project's
Python and the built module on the path:

    PYTHONPATH=kernel/python:<build>/python .venv/bin/python bench/bench_nvrtc.py
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "share"))
sys.path.insert(0, os.path.join(ROOT, "tests", "python"))

import benchmarks  # noqa: E402
import _loopscope  # noqa: E402
from cuda_harness import run_function  # noqa: E402
from loopscope import _cuda  # noqa: E402

TARGETS = [("compute_80", "sm_80", False), ("sm_80", "sm_80", True), ("sm_90", "sm_90", True)]

COLD_SNIPPET = """
import json, sys, _loopscope
src = open(sys.argv[1]).read()
r = _loopscope.cuda_compile_source(src, sys.argv[2], sys.argv[3] == "1")
print(json.dumps({"ok": r["ok"], "ms": r["compile_ms"], "error": r["error"][:500]}))
"""


def kernel_sources():
    out = []
    for b in benchmarks.BENCHMARKS:
        seen = []

        def on_nest(nid, env, seen=seen):
            g = _cuda.generate(nid, env)
            if g.get("decline") is None:
                seen.append((nid, g))

        run_function(b.fn, b.args("small"), "emulator", on_nest=on_nest)
        for idx, (nid, g) in enumerate(seen):
            out.append(
                {
                    "benchmark": b.name,
                    "nest": idx + 1,
                    "kernels": [k["name"] for k in g["kernels"]],
                    "source": g["source"],
                }
            )
    return out


def cold_compile(src_path, arch, cubin):
    env = dict(os.environ)
    p = subprocess.run(
        [sys.executable, "-c", COLD_SNIPPET, src_path, arch, "1" if cubin else "0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    if p.returncode != 0:
        return {"ok": False, "ms": None, "error": p.stderr[-500:]}
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5, help="warm compiles per source and target")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "nvrtc.json"))
    ap.add_argument("--only", nargs="*", help="benchmark names to include")
    args = ap.parse_args()

    info = _cuda.nvrtc_info()
    sources = kernel_sources()
    if args.only:
        sources = [s for s in sources if s["benchmark"] in args.only]
    # Warm NVRTC up once so that "warm" means warm.
    _loopscope.cuda_compile_source(sources[0]["source"], "compute_80", False)

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for s in sources:
            path = os.path.join(tmp, f"{s['benchmark']}_{s['nest']}.cu")
            with open(path, "w") as f:
                f.write(s["source"])
            row = {
                "benchmark": s["benchmark"],
                "nest": s["nest"],
                "kernels": s["kernels"],
                "source_lines": s["source"].count("\n"),
                "targets": {},
            }
            for label, arch, cubin in TARGETS:
                cold = cold_compile(path, arch if cubin else "sm_" + arch.split("_")[1], cubin)
                warm = []
                res = None
                for _ in range(args.repeat):
                    r = _loopscope.cuda_compile_source(
                        s["source"], arch if cubin else "sm_" + arch.split("_")[1], cubin
                    )
                    if not r["ok"]:
                        res = r
                        break
                    warm.append(r["compile_ms"])
                    res = r
                entry = {
                    "ok": bool(res and res["ok"]) and cold["ok"],
                    "cold_ms": cold["ms"],
                    "warm_ms": statistics.median(warm) if warm else None,
                    "warm_min_ms": min(warm) if warm else None,
                }
                if cubin and res and res["ok"]:
                    entry["resources"] = res["resources"]
                    entry["cubin_bytes"] = res["cubin_size"]
                if not entry["ok"]:
                    entry["error"] = (res or {}).get("error", "") or cold.get("error", "")
                row["targets"][label] = entry
            rows.append(row)

    header = f"{'benchmark':<16}{'nest':>5}{'lines':>7}"
    for label, _, _ in TARGETS:
        header += f"{label + ' cold':>17}{'warm':>9}"
    header += f"{'regs sm_90':>12}"
    print(f"NVRTC {info['version']} compile latency (ms), {platform.node()}")
    print(header)
    print("-" * len(header))
    for r in rows:
        line = f"{r['benchmark']:<16}{r['nest']:>5}{r['source_lines']:>7}"
        for label, _, _ in TARGETS:
            t = r["targets"][label]
            c = "fail" if not t["ok"] else f"{t['cold_ms']:.1f}"
            w = "" if not t["ok"] else f"{t['warm_ms']:.1f}"
            line += f"{c:>17}{w:>9}"
        res = r["targets"]["sm_90"].get("resources", {})
        regs = ",".join(str(v["registers"]) for k, v in sorted(res.items()) if k in r["kernels"])
        line += f"{regs:>12}"
        print(line)
    summary = {}
    for label, _, _ in TARGETS:
        ok = [r["targets"][label] for r in rows if r["targets"][label]["ok"]]
        if ok:
            summary[label] = {
                "cold_median_ms": statistics.median(t["cold_ms"] for t in ok),
                "warm_median_ms": statistics.median(t["warm_ms"] for t in ok),
                "compiled": len(ok),
                "total": len(rows),
            }
    print("-" * len(header))
    for label, s in summary.items():
        print(
            f"{label:<12} median cold {s['cold_median_ms']:.1f} ms, warm {s['warm_median_ms']:.1f} ms "
            f"({s['compiled']}/{s['total']} sources compiled)"
        )
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(
            {
                "nvrtc": info,
                "machine": platform.node(),
                "cpu_count": os.cpu_count(),
                "repeat": args.repeat,
                "rows": rows,
                "summary": summary,
            },
            f,
            indent=1,
        )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
