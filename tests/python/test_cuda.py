"""The GPU variant against CPython: generated CUDA for the benchmark suite
and hand-written nests is accepted by NVRTC (PTX and CUBIN, sm_80 and
sm_90), and the emulator, which runs that same CUDA source on the CPU,
reproduces CPython's results bit for bit (floating-point reductions over
parallel loops excepted when reassociation is allowed: they may then differ
in the last bits).
"""

import ast
import math
import os
import sys

import numpy as np
import pytest

import _loopscope
from loopscope import _cuda

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "share"))

import benchmarks  # noqa: E402
from cuda_harness import clone, python_reference, run_function, run_source, same, with_shapes  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _cache_dir(tmp_path_factory):
    # Emulator builds are cached by source hash; keep them out of $HOME.
    if "LOOPSCOPE_CACHE_DIR" not in os.environ:
        os.environ["LOOPSCOPE_CACHE_DIR"] = str(tmp_path_factory.getbasetemp() / "loopscope-cache")
    yield


def _fresh(args):
    return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)


# Nests with no GPU version on purpose, and why (the analysis keeps every loop
# sequential there is fine: a sequential nest still runs on one GPU thread).
EXPECT_NO_GPU = {}


@pytest.mark.parametrize("name", benchmarks.names())
def test_benchmark_emulator_matches_cpython(name):
    b = benchmarks.get(name)
    args = b.args("small")
    ref_args = _fresh(args)
    b.fn(*ref_args)
    run_args = _fresh(args)
    env, outcomes = run_function(b.fn, run_args, "emulator")
    assert outcomes, "the benchmark has loop nests"
    for out in outcomes:
        assert out["ran"], f"{name}: nest {out['nest_id']} did not run on the emulator: {out['reason']}"
        assert out["launches"] >= 1
    for i, (r, g) in enumerate(zip(ref_args, run_args)):
        if isinstance(r, np.ndarray):
            assert same(r, g), f"{name}: argument {i} differs (max |diff| {np.max(np.abs(r - g))})"


@pytest.mark.parametrize("name", benchmarks.names())
def test_benchmark_kernels_compile_with_nvrtc(name):
    b = benchmarks.get(name)
    compiled = []

    def on_nest(nid, env):
        gen = _cuda.generate(nid, env)
        assert gen["decline"] is None, gen["decline"]
        for arch in ("sm_80", "sm_90"):
            ptx = _cuda.compile(nid, env, arch, cubin=False)
            assert ptx["ok"], ptx["error"]
            assert ".entry" in ptx["ptx"]
            binary = _cuda.compile(nid, env, arch, cubin=True)
            assert binary["ok"], binary["error"]
            assert binary["cubin_size"] > 0
            for k in gen["kernels"]:
                assert binary["resources"][k["name"]]["registers"] > 0
        compiled.append(nid)

    run_function(b.fn, _fresh(b.args("small")), "emulator", on_nest=on_nest)
    assert compiled


def test_benchmark_mappings_are_readable():
    b = benchmarks.get("jacobi_2d")
    seen = {}

    def on_nest(nid, env):
        seen["gen"] = _cuda.generate(nid, env)

    run_function(b.fn, _fresh(b.args("small")), "emulator", on_nest=on_nest)
    gen = seen["gen"]
    src = gen["source"]
    assert "B[i, j] = 0.2 * (A[i, j]" in src  # the Python line as a comment
    assert gen["schedule"][0]["kind"] == "host_loop" and gen["schedule"][0]["var"] == "t"
    k = gen["kernels"][0]
    assert {g["var"]: g["axis"] for g in k["grid_loops"]} == {"i": "y", "j": "x"}
    assert "contiguous" in k["mapping"]


def _diff(src, env, target="emulator", expect_ran=True):
    ref = python_reference(src, clone(env))
    mine = clone(env)
    out = run_source(src, mine, target)
    if expect_ran:
        assert out["ran"], out["reason"]
    for k, v in ref.items():
        if k.startswith("__"):
            continue
        assert k in mine, k
        assert same(v, mine[k]), f"{k}: python {v!r} vs gpu {mine[k]!r}"
    for k in mine:
        if not k.startswith("__"):
            assert k in ref, f"{k} was set by the GPU run but not by Python"
    return out


def test_python_integer_floor_division_and_modulo():
    src = (
        "for i in range(n):\n"
        "    q[i] = (i - 7) // d\n"
        "    r[i] = (i - 7) % d\n"
        "    u[i] = a[i] // -3\n"
        "    w[i] = a[i] % -3\n"
    )
    env = dict(
        n=15,
        d=4,
        q=np.zeros(15, np.int64),
        r=np.zeros(15, np.int64),
        u=np.zeros(15, np.int64),
        w=np.zeros(15, np.int64),
        a=np.arange(-7, 8),
    )
    _diff(src, env)


def test_python_float_floor_division_and_modulo():
    src = "for i in range(n):\n" "    q[i] = x[i] // 0.7\n" "    r[i] = x[i] % -0.7\n" "    s[i] = (x[i] * 3.0) % 2.5\n"
    x = np.linspace(-5, 5, 41)
    env = dict(n=41, x=x, q=np.zeros(41), r=np.zeros(41), s=np.zeros(41))
    _diff(src, env)


def test_negative_indices_wrap():
    src = "for i in range(n):\n" "    y[i] = x[i - 1] + x[-1] * 2.0\n"
    env = dict(n=10, x=np.arange(10.0) * 1.5, y=np.zeros(10))
    _diff(src, env)


def test_float32_and_int32_arrays():
    src = (
        "for i in range(n):\n"
        "    y[i] = x[i] * x[i] + 0.1\n"
        "    z[i] = x[i] * f + k[i]\n"
        "    k2[i] = k[i] * 3 + 1\n"
    )
    env = dict(
        n=50,
        x=np.linspace(-2, 2, 50).astype(np.float32),
        y=np.zeros(50, np.float32),
        z=np.zeros(50, np.float32),
        f=np.float32(1.3).item(),
        k=np.arange(50, dtype=np.int32),
        k2=np.zeros(50, np.int32),
    )
    _diff(src, env)


def test_math_functions_bit_identical_in_emulator():
    src = (
        "for i in range(n):\n"
        "    y[i] = math.sqrt(x[i]) + math.exp(-x[i]) * math.log(x[i] + 1.0) - math.erf(x[i] / 3.0)\n"
        "    z[i] = np.sqrt(x[i]) + abs(x[i] - 2.0) + min(x[i], 1.5) + max(x[i], 0.5) + x[i] ** 2\n"
    )
    x = np.linspace(0.01, 7, 200)
    env = dict(n=200, x=x, y=np.zeros(200), z=np.zeros(200), math=math, np=np)
    _diff(src, env)


def test_2d_host_loop_and_privates_and_loop_finals():
    src = (
        "for t in range(steps):\n"
        "    for i in range(1, n - 1):\n"
        "        for j in range(1, m - 1):\n"
        "            c = 0.25 * (A[i - 1, j] + A[i + 1, j] + A[i, j - 1] + A[i, j + 1])\n"
        "            B[i, j] = c - A[i, j]\n"
        "    for i in range(1, n - 1):\n"
        "        for j in range(1, m - 1):\n"
        "            A[i, j] = A[i, j] + 0.5 * B[i, j]\n"
    )
    g = np.random.default_rng(5)
    env = dict(steps=3, n=12, m=9, A=g.random((12, 9)), B=np.zeros((12, 9)))
    out = _diff(src, env)
    assert out["launches"] == 6


def test_triangular_nest_and_transposed_access():
    src = "for i in range(n):\n" "    for j in range(i, n):\n" "        C[i, j] = A[j, i] * 2.0 + i - j\n"
    g = np.random.default_rng(7)
    env = dict(n=17, A=g.random((17, 17)), C=np.zeros((17, 17)))
    _diff(src, env)


def test_strided_views():
    src = "for i in range(n):\n" "    y[i] = x[i] + 1.0\n"
    base = np.arange(40.0)
    env = dict(n=10, x=base[::4], y=np.zeros(30)[::3])
    _diff(src, env)


def test_sequential_nest_with_scalars():
    src = (
        "for i in range(1, n):\n"
        "    acc = acc * 0.5 + x[i]\n"
        "    x[i] = x[i - 1] + acc\n"
        "    if x[i] > 10.0:\n"
        "        hit = i\n"
    )
    env = dict(n=30, x=np.linspace(0, 1, 30), acc=0.0)
    _diff(src, env)


def test_integer_sum_reduction_is_exact():
    src = "for i in range(n):\n" "    s += k[i] * k[i] - 3\n"
    env = dict(n=1000, k=np.arange(1000, dtype=np.int64) - 500, s=7)
    _diff(src, env)


def _sum_and_min():
    """The same float sum and min in CPython and on the emulated GPU:
    (Python's variables, the GPU run's, the run's outcome)."""
    src = "for i in range(n):\n" "    s += x[i]\n" "    lo = min(lo, x[i])\n"
    g = np.random.default_rng(3)
    env = dict(n=3000, x=g.random(3000), s=0.0, lo=10.0)
    ref = python_reference(src, clone(env))
    mine = clone(env)
    return ref, mine, run_source(src, mine)


def test_float_sum_keeps_pythons_order_by_default():
    # Without reassociation the sum is not split among threads: the result
    # is CPython's bit for bit (the min, exact in any order, may still be).
    ref, mine, out = _sum_and_min()
    assert mine["s"] == ref["s"] and mine["lo"] == ref["lo"] and mine["i"] == ref["i"]
    assert not any("order" in n for n in out.get("notes", []))


def test_float_sum_and_min_reduction_close(reassociation):
    ref, mine, out = _sum_and_min()
    assert out["ran"], out["reason"]
    assert mine["lo"] == ref["lo"]
    assert math.isclose(mine["s"], ref["s"], rel_tol=1e-12)
    assert mine["i"] == ref["i"]
    assert any("order" in n for n in out["notes"])


def test_index_error_is_raised_by_python():
    src = "for i in range(n):\n" "    y[i] = x[i + 1]\n"
    env = dict(n=10, x=np.arange(10.0), y=np.zeros(10))
    mine = clone(env)
    node_out = {}
    with pytest.raises(IndexError):
        node_out["out"] = run_source(src, mine)
    # Python ran the loop up to the error: the same partial writes as CPython.
    ref = clone(env)
    with pytest.raises(IndexError):
        python_reference(src, ref)
    assert same(ref["y"], mine["y"])


@pytest.mark.parametrize(
    "subscript,checked",
    [("x[i]", False), ("x[i + 1]", False), ("x[n - 1 - i]", False), ("x[-1 - i]", False), ("x[i - 1]", True)],
)
def test_index_checks_only_where_the_cpu_variant_needs_them(subscript, checked):
    # An index the CPU variant's intervals prove in [0, n) is used as it is,
    # one in [-n, 0) with the extent added; the others (x[i - 1] may be -1)
    # keep the checked wrap-around. Results are Python's either way.
    src = "for i in range(n):\n" f"    y[i] = {subscript} * 2.0\n"
    env = dict(n=9, x=np.arange(10.0), y=np.zeros(9))
    nid = _loopscope.analysis_register(ast.parse(src).body[0], src)
    gen = _loopscope.cuda_generate(nid, with_shapes(env))
    assert not gen.get("decline"), gen
    body = gen["source"].split("__global__", 1)[1]
    assert ("ls_ix(" in body) == checked, body
    if subscript == "x[-1 - i]":
        assert "+ ls_n0_" in body, body
    _diff(src, env)


def test_zero_division_and_math_domain_are_raised_by_python():
    src = "for i in range(n):\n" "    y[i] = 1.0 / (i - 3)\n"
    env = dict(n=6, y=np.zeros(6))
    with pytest.raises(ZeroDivisionError):
        run_source(src, clone(env))
    src2 = "for i in range(n):\n" "    y[i] = math.sqrt(x[i])\n"
    env2 = dict(n=4, x=np.array([1.0, 4.0, -1.0, 9.0]), y=np.zeros(4), math=math)
    with pytest.raises(ValueError):
        run_source(src2, clone(env2))


def test_empty_ranges_leave_variables_alone():
    src = "for i in range(n):\n" "    for j in range(m):\n" "        A[i, j] = 1.0\n"
    env = dict(n=3, m=0, A=np.zeros((3, 2)))
    _diff(src, env)
    env = dict(n=0, m=2, A=np.zeros((3, 2)))
    _diff(src, env)


def test_driver_absent_is_explained():
    st = _cuda.driver_status()
    if st["available"]:
        pytest.skip("a GPU is present: covered by test_gpu_matches_emulator")
    assert st["status"].startswith("no CUDA driver")
    src = "for i in range(n):\n" "    y[i] = x[i] * 2.0\n"
    env = dict(n=8, x=np.arange(8.0), y=np.zeros(8))
    out = run_source(src, env, target="gpu")
    assert not out["ran"] and out["reason"].startswith("no CUDA driver")
    assert same(env["y"], np.arange(8.0) * 2.0)  # Python ran the loop


@pytest.mark.parametrize("name", benchmarks.names())
def test_gpu_matches_cpython(name):
    if not _cuda.driver_status()["available"]:
        pytest.skip("no GPU here: " + _cuda.driver_status()["status"])
    b = benchmarks.get(name)
    args = b.args("small")
    ref_args = _fresh(args)
    b.fn(*ref_args)
    run_args = _fresh(args)
    env, outcomes = run_function(b.fn, run_args, "gpu")
    for out in outcomes:
        assert out["ran"], out["reason"]
    for r, g in zip(ref_args, run_args):
        if isinstance(r, np.ndarray):
            # Transcendental functions on the GPU may differ by an ulp or so.
            np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-14)


# --- through loopscope.run (the rewriter, the device table) -----------------


def test_run_device_gpu_emulated_on_benchmarks():
    import loopscope
    from loopscope import _run

    for name in ("gemm", "jacobi_2d", "covariance", "seidel_2d"):
        b = benchmarks.get(name)
        ref = b.args("small")
        b.fn(*ref)
        mine = b.args("small")
        _run.reset_last_runs()
        loopscope.run(b.fn, *mine, device="gpu-emulated")
        runs = _run.last_runs()
        assert runs and all(r["device"] == "gpu-emulated" and r["status"] == "ok" for r in runs.values()), runs
        for r, g in zip(ref, mine):
            if isinstance(r, np.ndarray):
                assert same(r, g), name


def test_run_device_gpu_without_driver_runs_elsewhere_and_says_why():
    import loopscope
    from loopscope import _run

    if _cuda.driver_status()["available"]:
        pytest.skip("a GPU is present")
    b = benchmarks.get("saxpy")
    ref = b.args("small")
    b.fn(*ref)
    mine = b.args("small")
    _run.reset_last_runs()
    loopscope.run(b.fn, *mine, device="gpu")
    (rec,) = _run.last_runs().values()
    assert "no CUDA driver" in rec["reason"] and "instead" in rec["reason"]
    assert same(ref[2], mine[2])


RANDOM_SEEDS = range(60)


def test_random_nests_emulator_matches_cpython():
    import nestgen
    import loopscope
    from loopscope import _run

    ran = 0
    for seed in RANDOM_SEEDS:
        src, make_args = nestgen.generate(seed)
        fn = nestgen.make_function(src)
        ref, mine = make_args(), make_args()
        ref_exc = mine_exc = None
        with np.errstate(all="ignore"):
            try:
                fn(*ref)
            except Exception as exc:  # noqa: BLE001 - compared below
                ref_exc = type(exc)
            _run.reset_last_runs()
            try:
                loopscope.run(fn, *mine, device="gpu-emulated")
            except Exception as exc:  # noqa: BLE001
                mine_exc = type(exc)
        assert ref_exc == mine_exc, f"seed {seed}: {ref_exc} vs {mine_exc}\n{src}"
        for r, g in zip(ref, mine):
            if isinstance(r, np.ndarray):
                assert same(np.ascontiguousarray(r), np.ascontiguousarray(g)), f"seed {seed}\n{src}"
        ran += sum(1 for r in _run.last_runs().values() if r["status"] == "ok")
    # Most nests must actually have run on the emulator, not fallen back.
    assert ran >= len(RANDOM_SEEDS)


def test_reduction_that_never_runs_keeps_python_value_and_type():
    # s would become an np.float64 at its first update: none happens, so it
    # stays the Python float it was.
    src = "for i in range(n):\n" "    if x[i] > 5.0:\n" "        s += x[i]\n"
    env = dict(n=5, x=np.arange(5.0), s=0.5)
    out = _diff(src, env)
    assert out["ran"]
    mine = clone(env)
    run_source(src, mine)
    assert type(mine["s"]) is float
    # Updated once: an np.float64, as in Python.
    env = dict(n=7, x=np.arange(7.0), s=0.5)
    _diff(src, env)
    mine = clone(env)
    run_source(src, mine)
    assert type(mine["s"]) is np.float64


def test_boolean_scalar_comes_back_as_bool():
    src = "for i in range(1, n):\n" "    flag = x[i] > x[i - 1]\n" "    x[i] = x[i - 1] + 1.0\n"
    env = dict(n=6, x=np.array([3.0, 1.0, 2.0, 0.0, 5.0, 4.0]))
    mine = clone(env)
    out = run_source(src, mine)
    assert out["ran"], out["reason"]
    assert isinstance(mine["flag"], (bool, np.bool_))
    _diff(src, env)


def test_two_dimensional_integer_reduction_with_warp_shuffles():
    src = (
        "for i in range(n):\n"
        "    for j in range(m):\n"
        "        s += int(A[i, j]) * (i - j)\n"
        "        hi = max(hi, A[i, j] - j)\n"
    )
    # (s stays a Python int: a sum of np.int64 values stays in one thread)
    g = np.random.default_rng(11)
    env = dict(n=37, m=45, A=g.integers(-1000, 1000, size=(37, 45)), s=3, hi=-(10**9))
    out = _diff(src, env)
    assert out["ran"]
    gen = _cuda.generate(out["nest_id"], clone(env))
    assert "ls_warp_sum_i64" in gen["source"] and "ls_warp_max_i64" in gen["source"]


def test_launch_summary_for_the_cost_model():
    b = benchmarks.get("lu")
    seen = {}

    def on_nest(nid, env):
        seen["gen"] = _cuda.generate(nid, env)

    (A,) = b.args("small")
    n = A.shape[0]
    run_function(b.fn, (A,), "emulator", on_nest=on_nest)
    (summary,) = seen["gen"]["launches"].values()
    assert summary["launches"] == n  # one launch per k: the host loop
    assert summary["parallel_iterations"] == sum(n - k - 1 for k in range(n))


def test_reversed_views_and_boolean_arrays():
    src = (
        "for i in range(n):\n"
        "    m[i] = x[i] > 0.5\n"
        "    if m[i]:\n"
        "        y[i] = x[i] - 1.0\n"
        "    else:\n"
        "        y[i] = -x[i]\n"
    )
    g = np.random.default_rng(2)
    base = g.random(20)
    env = dict(n=20, x=base[::-1], y=np.zeros(40)[::-2], m=np.zeros(20, dtype=bool))
    _diff(src, env)


def test_nvrtc_facts_for_the_cost_model():
    from loopscope import _cost

    b = benchmarks.get("gemm")
    seen = {}

    def on_nest(nid, env):
        seen["facts"] = _cost.nvrtc_facts(nid, env)

    run_function(b.fn, _fresh(b.args("small")), "emulator", on_nest=on_nest)
    f = seen["facts"]
    assert f.get("gpu_codegen_ok", True) and not f.get("gpu_decline")
    assert 0 < f["gpu_registers_per_thread"] <= 255
    assert f["gpu_compile_s"] > 0


def test_builtins_conditions_and_conversions():
    src = (
        "for i in range(n):\n"
        "    v = x[i] * 3.7 - 4.0\n"
        "    a[i] = math.trunc(v) + int(v) + abs(k[i] - 5) + min(k[i], 4, i) + max(i, 2)\n"
        "    b[i] = float(k[i]) / 4 if 0 <= k[i] < 6 and not k[i] == 3 else -1.0\n"
        "    if v > 0.0 or k[i] % 2 == 1:\n"
        "        c[i] = np.sqrt(f[i]) + np.float32(1.5)\n"
        "    d[i] = math.floor(v) + math.ceil(v) + (i // 3) * 2 ** 3 - (-i) % 4\n"
    )
    n = 23
    g = np.random.default_rng(9)
    env = dict(
        n=n,
        x=g.random(n) * 3,
        k=g.integers(0, 10, n),
        f=(g.random(n) * 9).astype(np.float32),
        a=np.zeros(n, np.int64),
        b=np.zeros(n),
        c=np.zeros(n, np.float32),
        d=np.zeros(n, np.int64),
        np=np,
        math=math,
    )
    _diff(src, env)


def test_numpy_division_by_zero_follows_numpy():
    src = (
        "for i in range(n):\n"
        "    y[i] = x[i] % z + x[i] // z\n"
        "    q[i] = k[i] // kz + k[i] % kz\n"
        "    w[i] = x[i] / z\n"
    )
    env = dict(
        n=6,
        x=np.array([1.0, -2.0, 0.0, 3.5, -0.0, 7.0]),
        z=0.0,
        k=np.arange(6) - 3,
        kz=0,
        y=np.zeros(6),
        q=np.zeros(6, np.int64),
        w=np.zeros(6),
    )
    # NumPy prints a RuntimeWarning for each: the kernel records it and Python
    # runs the loop (with the same values)
    with np.errstate(all="ignore"):
        out = _diff(src, env, expect_ran=False)
    assert not out["ran"] and "RuntimeWarning" in out["reason"], out
    env.update(z=2.0, kz=3)
    with np.errstate(all="ignore"):
        _diff(src, env)


_NO_NVRTC_PROBE = r"""
import json
import numpy as np
import _loopscope
import loopscope
from loopscope import _run

def f(A, B):
    for i in range(A.shape[0]):
        B[i] = 2.0 * A[i] + 1.0

out = {"info": _loopscope.cuda_nvrtc_info()}
for device in ("gpu-emulated", "gpu"):
    A = np.arange(50.0); B = np.zeros(50)
    _run.reset_last_runs()
    loopscope.run(f, A, B, device=device)
    (rec,) = _run.last_runs().values()
    out[device] = [rec["status"], rec["reason"], bool((B == 2.0 * A + 1.0).all())]
est = loopscope.estimate(f, np.arange(50.0), np.zeros(50))["nests"][0]
out["gpu_variant"] = [v for v in est["variants"] if v["variant"] == "gpu"][0]
print(json.dumps(out))
"""


def test_without_nvrtc_the_gpu_declines_and_the_emulator_runs(tmp_path):
    """NVRTC is loaded at run time: where there is none (LOOPSCOPE_NVRTC=none
    stands for a machine without the package or a toolkit) the engine still
    imports, the emulator runs the generated CUDA, a GPU run goes to Python
    with the reason, and the cost model prices the GPU with typical figures
    instead of calling its code generation failed."""
    import json
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    script = tmp_path / "probe.py"
    script.write_text(_NO_NVRTC_PROBE)
    env = dict(
        os.environ,
        LOOPSCOPE_NVRTC="none",
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        PYTHONPATH=os.pathsep.join([os.path.join(root, "kernel", "python"), os.path.join(root, "build", "python")]),
    )
    out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["info"]["available"] is False and "nvidia-cuda-nvrtc" in got["info"]["error"]
    assert got["info"]["archs"] == []
    assert got["gpu-emulated"][0] == "ok" and got["gpu-emulated"][2]
    assert got["gpu"][2]  # the right values, from Python or the emulator, whatever the machine has
    gpu = got["gpu_variant"]
    assert "NVRTC" not in gpu.get("unavailable_reason", "")


def test_nvrtc_comes_from_the_pypi_package_when_installed():
    """scripts/setup.sh installs nvidia-cuda-nvrtc into the venv; the engine
    prefers it to a toolkit's."""
    import importlib.util

    import _loopscope

    spec = importlib.util.find_spec("nvidia")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("the nvidia-cuda-nvrtc package is not installed")
    info = _loopscope.cuda_nvrtc_info()
    assert info["available"], info["error"]
    assert "/nvidia/cu13/lib/" in info["library"] or "/nvidia/cuda_nvrtc/lib/" in info["library"], info
    assert 90 in info["archs"]
