"""The cost model's Python-facing API: host profile and cache, GPU profiles,
pricing of work profiles and of registered nests.

Work counts are checked against CPython itself: the same nest is run with
counters and the model's counts must agree.
"""

import ast
import json
import os
import textwrap

import math

import numpy as np
import pytest

_L = pytest.importorskip("_loopscope")

from loopscope import _cost  # noqa: E402

REQUIRED_GPUS = {"h100_sxm", "a100_sxm", "v100_sxm", "t4", "rtx_4090", "rtx_4060_laptop", "gtx_1080_ti"}
VARIANTS = ["python", "cpu-serial", "cpu", "gpu"]


@pytest.fixture(scope="module", autouse=True)
def private_cache(tmp_path_factory):
    """Calibrate into a private cache directory, never the user's."""
    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
    _cost._host = None
    yield
    _cost._host = None
    if old is None:
        del os.environ["XDG_CACHE_HOME"]
    else:
        os.environ["XDG_CACHE_HOME"] = old


def register(src):
    src = textwrap.dedent(src).strip() + "\n"
    node = ast.parse(src).body[0]
    return _L.analysis_register(node, src)


needs_nests = pytest.mark.skipif(
    not hasattr(_L, "cost_estimate_nest"), reason="engine built without the analysis bindings"
)


def test_host_profile_is_calibrated_and_cached():
    h = _cost.host_profile()
    # Engine figures, when the CPU variant is built, are microseconds.
    if h.get("engine_calibrated"):
        # Measured figures on a shared machine: only their units are checked.
        assert 0 < h["native_call_us"] < 1e5 and 0 <= h["native_input_us"] < 1e4
        assert 0 < h["fork_join_us"] < 1e6
    assert h["calibrated"] and h["py_calibrated"]
    assert h["cores"] >= 1
    assert h["calibration_s"] > 0
    for key in ("dram_bandwidth_gbs", "add_ns", "fork_join_us", "py_iter_ns", "py_load_ns", "py_binop_ns"):
        assert h[key] > 0, key
    path = _cost.cache_path()
    assert path.startswith(os.environ["XDG_CACHE_HOME"])
    cached = json.load(open(path))
    assert cached["py_calibrated"] is True
    assert cached["py_load_ns"] == pytest.approx(h["py_load_ns"])
    # A second process-level read comes from the cache.
    again = _L.cost_host_profile(False)
    assert again["source"].startswith("cache:")


def test_recalibrate_rewrites_the_cache():
    before = os.path.getmtime(_cost.cache_path())
    h = _cost.recalibrate()
    assert h["source"] == "calibrated"
    assert os.path.getmtime(_cost.cache_path()) >= before


def test_gpu_profiles():
    names = set(_cost.gpu_profiles())
    assert REQUIRED_GPUS <= names
    g = _cost.gpu_profile("t4")
    assert g["sms"] == 40 and g["max_threads_per_sm"] == 1024
    with pytest.raises(ValueError, match="no GPU profile"):
        _cost.gpu_profile("nonexistent_gpu")


def test_occupancy_binding():
    o = _L.cost_occupancy("a100_sxm", 256, 64)
    assert o["blocks_per_sm"] == 4 and o["occupancy"] == 0.5 and o["limited_by"] == "registers"


def saxpy_work(n):
    return {
        "size_label": "n",
        "size_value": n,
        "ops": {"add": n, "mul": n, "load": 2 * n, "store": n},
        "ops_parallel": {"add": n, "mul": n, "load": 2 * n, "store": n},
        "ops_vector": {"add": n, "mul": n, "load": 2 * n, "store": n},
        "innermost_iterations": n,
        "loops": [{"loop": 1, "var": "i", "verdict": "parallel", "entries": 1, "iterations": n}],
        "arrays": [
            {
                "name": "x",
                "elem_bytes": 8,
                "nbytes": 8 * n,
                "read": True,
                "reads": n,
                "footprint_bytes": 8 * n,
                "cpu_traffic_bytes": 8 * n,
            },
            {
                "name": "y",
                "elem_bytes": 8,
                "nbytes": 8 * n,
                "read": True,
                "written": True,
                "fully_written": True,
                "reads": n,
                "writes": n,
                "footprint_bytes": 8 * n,
                "cpu_traffic_bytes": 16 * n,
            },
        ],
        "cpu_parallel_loop": 1,
        "cpu_regions": 1,
        "cpu_parallel_iterations": n,
        "parallel_fraction": 1.0,
        "gpu_grid_loops": [1],
        "gpu_launches": 1,
        "gpu_threads": n,
    }


def test_price_work_profile():
    small = _cost.price(saxpy_work(1000), facts={"gpu_available": False})
    big = _cost.price(saxpy_work(10_000_000), facts={"gpu_available": False})
    assert [v["variant"] for v in small["variants"]] == VARIANTS
    for e in (small, big):
        by = {v["variant"]: v for v in e["variants"]}
        for v in by.values():
            parts = v["scheduling"] + v["transfer"] + v["compute"] + v["compile"]
            assert v["total"] == pytest.approx(parts)
        assert not by["gpu"]["available"]
        assert "no GPU" in by["gpu"]["unavailable_reason"]
        assert e["choice"] != "gpu"
        assert e["reason"].startswith("runs ")

    # Ten thousand times the work costs the interpreter about ten thousand times more.
    def py(e):
        return e["variants"][0]["total"]

    assert 5000 < py(big) / py(small) < 11000
    # Transfers: x and y in, y out.
    g = {v["variant"]: v for v in big["variants"]}["gpu"]
    assert g["details"]["bytes_in"] == 16 * 10_000_000
    assert g["details"]["bytes_out"] == 8 * 10_000_000


def test_busy_cores_cap_the_parallel_speedup():
    work = saxpy_work(2_000_000)
    work["ops"]["exp"] = work["ops_parallel"]["exp"] = 40 * 2_000_000
    base = {"cpu_compiled": True, "threads": 4, "gpu_available": False}
    idle = _cost.price(work, facts=dict(base, cores_free=4))
    busy = _cost.price(work, facts=dict(base, cores_free=1))

    def by(e):
        return {v["variant"]: v for v in e["variants"]}

    assert by(idle)["cpu"]["details"]["speedup"] == 4
    assert by(busy)["cpu"]["details"]["speedup"] == 1
    assert idle["choice"] == "cpu" and busy["choice"] == "cpu-serial"


def test_gpu_chosen_only_when_present():
    work = saxpy_work(50_000_000)
    work["ops"]["exp"] = work["ops_parallel"]["exp"] = 40 * 50_000_000  # compute heavy
    cpu = {"cpu_compiled": True, "threads": 4, "cores_free": 4}  # independent of this machine's load
    absent = _cost.price(work, facts=dict(cpu, gpu_available=False))
    present = _cost.price(work, facts=dict(cpu, gpu_available=True, gpu_compiled=True))
    assert absent["choice"] == "cpu"
    assert "no GPU" in absent["reason"]
    assert present["choice"] == "gpu"
    assert present["reason"].startswith("runs on the GPU")


# ------------------------------------------------------------------ nests --

COUNT_CASES = [
    # (source, env maker, python counter of innermost executions)
    (
        """
     for i in range(n):
         y[i] = a * x[i] + y[i]
     """,
        lambda: dict(n=777, a=2.0, x=np.ones(777), y=np.ones(777)),
    ),
    (
        """
     for i in range(n):
         for j in range(i):
             A[i, j] = A[j, i] * 0.5
     """,
        lambda: dict(n=300, A=np.ones((300, 300))),
    ),
    (
        """
     for i in range(1, n - 1):
         for j in range(i + 1, n):
             for k in range(i, j):
                 A[i, j] += A[i, k] * A[k, j]
     """,
        lambda: dict(n=90, A=np.ones((90, 90))),
    ),
    (
        """
     for t in range(steps):
         for i in range(1, n - 1):
             B[i] = (A[i - 1] + A[i] + A[i + 1]) / 3.0
         for i in range(1, n - 1):
             A[i] = B[i]
     """,
        lambda: dict(steps=7, n=500, A=np.ones(500), B=np.ones(500)),
    ),
    (
        """
     for i in range(0, n, 3):
         for j in range(n - 1, i, -2):
             A[j] = A[j] + 1.0
     """,
        lambda: dict(n=400, A=np.ones(400)),
    ),
]


def python_counts(src, env):
    """Runs the nest in CPython with counters: loop iterations and statements."""
    tree = ast.parse(textwrap.dedent(src))
    counts = {"stmts": 0, "iters": 0}

    class Count(ast.NodeTransformer):
        def visit_For(self, node):
            self.generic_visit(node)
            node.body.insert(0, ast.parse("__c['iters'] += 1").body[0])
            return node

        def visit_Assign(self, node):
            return [node, ast.parse("__c['stmts'] += 1").body[0]]

        visit_AugAssign = visit_Assign

    tree = ast.fix_missing_locations(Count().visit(tree))
    g = dict(env)
    g["__c"] = counts
    exec(compile(tree, "<count>", "exec"), g)
    return counts


@needs_nests
@pytest.mark.parametrize("case", range(len(COUNT_CASES)))
def test_work_counts_match_cpython(case):
    src, make_env = COUNT_CASES[case]
    nid = register(src)
    e = _cost.estimate_nest(nid, make_env(), sweep=False)
    assert e["work"]["ok"], e["work"]["reason"]
    got = e["work"]
    want = python_counts(src, make_env())
    iters = sum(l["iterations"] for l in got["loops"])
    assert iters == pytest.approx(want["iters"], rel=0.02)
    assert got["statements"] == pytest.approx(want["stmts"], rel=0.02)


@needs_nests
def test_estimate_nest_structure_and_sweep():
    nid = register("""
        for i in range(n):
            for j in range(n):
                s = 0.0
                for k in range(n):
                    s += A[i, k] * B[k, j]
                C[i, j] = s
        """)
    n = 64
    env = dict(n=n, A=np.ones((n, n)), B=np.ones((n, n)), C=np.zeros((n, n)))
    e = _cost.estimate_nest(nid, env, gpu="a100_sxm")
    json.dumps(e)  # plain JSON
    assert e["gpu_profile"] == "a100_sxm"
    assert e["choice"] in VARIANTS and e["choice"] != "gpu"
    assert [v["variant"] for v in e["variants"]] == VARIANTS
    assert e["work"]["ops"]["mul"] == pytest.approx(n**3)
    assert e["work"]["chain_ops"] == pytest.approx(n**3)
    sizes = [p["size"] for p in e["sweep"]]
    assert sizes == sorted(sizes) and len(sizes) >= 5
    assert e["size_label"] == "n"
    py = [p["python"] for p in e["sweep"]]
    assert all(b > a for a, b in zip(py, py[1:]))
    # Interpreter time grows as n^3.
    assert py[-1] / py[-2] == pytest.approx(8, rel=0.15)


@needs_nests
def test_sequential_nest_is_not_parallel():
    nid = register("""
        for i in range(1, n):
            A[i] = A[i - 1] * 0.5 + A[i]
        """)
    e = _cost.estimate_nest(nid, dict(n=200000, A=np.ones(200000)), sweep=False)
    by = {v["variant"]: v for v in e["variants"]}
    assert not by["cpu"]["available"] and not by["gpu"]["available"]
    assert e["choice"] in ("python", "cpu-serial")
    assert _cost.choose(nid, dict(n=200000, A=np.ones(200000))) == e["choice"]


@needs_nests
def test_choose_amortises_compilation_over_runs():
    nid = register("""
        for i in range(n):
            y[i] = 2.0 * x[i] + y[i]
        """)
    env = dict(n=200, x=np.ones(200), y=np.ones(200))
    first = _cost.choose(nid, env)
    assert first == "python"  # 200 iterations cost far less than compiling
    choices = []
    for _ in range(2000):
        choices.append(_cost.choose(nid, env))
        # Once native code pays, the runs go on in Python while it compiles
        # on the background thread (_python_while_it_compiles): let it land.
        _L.cpu_wait_compiles()
    assert choices[-1] in ("cpu-serial", "cpu")
    switch = next(k for k, c in enumerate(choices) if c != "python")
    assert all(c != "python" for c in choices[switch:])


@needs_nests
def test_out_of_range_nest_runs_in_python():
    nid = register("""
        for i in range(n):
            A[i + 1] = A[i]
        """)
    e = _cost.estimate_nest(nid, dict(n=10, A=np.ones(10)), sweep=False)
    assert e["choice"] == "python"


@needs_nests
@pytest.mark.skipif(not hasattr(_L, "cuda_compile"), reason="engine built without the CUDA bindings")
def test_registers_from_nvrtc_feed_occupancy():
    nid = register("""
        for i in range(n):
            y[i] = 2.0 * x[i] + y[i]
        """)
    env = dict(n=5000, x=np.ones(5000), y=np.ones(5000))
    facts = _cost.nvrtc_facts(nid, env, gpu="h100_sxm")
    assert facts.get("gpu_codegen_ok", True), facts
    regs = facts["gpu_registers_per_thread"]
    assert 1 <= regs <= 255
    e = _cost.estimate_nest(nid, env, gpu="h100_sxm", sweep=False)
    g = {v["variant"]: v for v in e["variants"]}["gpu"]
    assert g["details"]["registers_per_thread"] == regs
    occ = _L.cost_occupancy("h100_sxm", g["details"]["block_size"], regs)
    assert g["details"]["occupancy"] == pytest.approx(occ["occupancy"])
    assert g["compile"] == pytest.approx(facts["gpu_compile_s"])


# ------------------------------------------------------- one count per nest --


def _benchmark_nests():
    """(name, nest id, env) of every nest of the benchmark suite at its small
    and medium sizes, bound to the values it starts with (the loops are
    skipped)."""
    import benchmarks  # share/ is on sys.path (conftest.py)
    from loopscope import _rewrite

    out = []
    for b in benchmarks.BENCHMARKS:
        for size in ("small", "medium"):
            got = []

            def hook(nest_id, env, got=got):
                rec = _rewrite.NESTS.get(nest_id)
                bound_env, _why = _rewrite.bind_env(nest_id, env)
                if rec is not None and not rec.declined and bound_env is not None:
                    got.append((nest_id, bound_env))
                return {}

            fn, _nests = _rewrite.compile_function(b.fn, hook, hook_declined=True)
            fn(*b.args(size))
            out += [(f"{b.name}/{size}/{k}", nid, env) for k, (nid, env) in enumerate(got)]
    return out


ESTIMATE_FACTS = [
    {"gpu_available": False, "cores_free": 3.0, "gpu_registers_per_thread": 40, "cpu_compile_s": 0.01},
    {"gpu_available": True, "gpu_compiled": True, "cpu_compiled": True, "expected_runs": 100, "cores_free": 1.0},
]


def _same(a, b):
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@pytest.fixture
def work_cache():
    """The engine's count cache, emptied before and after a test."""
    was = _L.cost_set_work_cache(True)
    yield
    _L.cost_set_work_cache(was)


@needs_nests
def test_one_count_prices_every_profile_as_the_per_profile_path(work_cache):
    """Every nest of the benchmark suite on every GPU profile: the estimates
    of one count (cost_estimate_nest_profiles, and cost_estimate_nest reusing
    the count) are those of counting again for each profile, as the cost
    model did before it kept counts."""
    host = _cost.host_profile()
    gpus = _cost.gpu_profiles()
    nests = _benchmark_nests()
    assert len(nests) >= 2 * 12
    for facts in ESTIMATE_FACTS:
        _L.cost_set_work_cache(False)
        old = {
            (name, gpu, sweep): _L.cost_estimate_nest(nid, env, host, gpu, facts, sweep)
            for name, nid, env in nests
            for gpu in gpus
            for sweep in (True, False)
        }
        _L.cost_set_work_cache(True)
        for name, nid, env in nests:
            before = _L.cost_work_cache_stats()
            every = _L.cost_estimate_nest_profiles(nid, env, host, None, facts, True)
            assert sorted(every) == sorted(gpus)
            for gpu in gpus:
                assert _same(every[gpu], old[name, gpu, True]), (name, gpu)
                for sweep in (True, False):
                    again = _L.cost_estimate_nest(nid, env, host, gpu, facts, sweep)
                    assert _same(again, old[name, gpu, sweep]), (name, gpu, sweep)
            after = _L.cost_work_cache_stats()
            assert after["counts"] - before["counts"] == 1, name
            assert after["reuses"] - before["reuses"] == 2 * len(gpus), name


@needs_nests
def test_a_count_without_the_sweep_gains_it_later(work_cache):
    nid = register("""
        for i in range(n):
            for j in range(n):
                B[i, j] = A[i, j] * 2.0 + A[j, i]
        """)
    env = dict(n=120, A=np.ones((120, 120)), B=np.zeros((120, 120)))
    host = _cost.host_profile()
    first = _L.cost_estimate_nest(nid, env, host, "t4", {}, False)
    swept = _L.cost_estimate_nest(nid, env, host, "t4", {}, True)
    assert first["sweep"] == [] and len(swept["sweep"]) >= 5
    _L.cost_set_work_cache(False)
    assert _same(_L.cost_estimate_nest(nid, env, host, "t4", {}, True), swept)
    assert _same(_L.cost_estimate_nest(nid, env, host, "t4", {}, False), first)


@needs_nests
def test_counts_are_kept_per_bound_instance(work_cache):
    """A float value or another array with the same shape reuses the count;
    another size, dtype or stride counts again. Each estimate is the one of a
    fresh count."""
    nid = register("""
        for i in range(n):
            y[i] = a * x[i] + y[i]
        """)
    host = _cost.host_profile()

    def env(n=5000, a=2.0, dtype=np.float64, step=1):
        return dict(n=n, a=a, x=np.ones(n * step, dtype=dtype)[::step], y=np.ones(n, dtype=dtype))

    cases = [
        (env(), 1),
        (env(a=-3.5), 0),
        (env(), 0),
        (env(n=7000), 1),
        (env(dtype=np.float32), 1),
        (env(step=3), 1),
        (env(), 0),
    ]
    _L.cost_set_work_cache(False)
    want = [_L.cost_estimate_nest(nid, values, host, "h100_sxm", {}, True) for values, _ in cases]
    _L.cost_set_work_cache(True)
    for k, (values, new_counts) in enumerate(cases):
        before = _L.cost_work_cache_stats()
        got = _L.cost_estimate_nest(nid, values, host, "h100_sxm", {}, True)
        assert _L.cost_work_cache_stats()["counts"] - before["counts"] == new_counts, k
        assert _same(got, want[k]), k


@needs_nests
def test_first_report_counts_the_work_once(work_cache):
    """_cell._estimate and _cell._profile_sweeps (the report's estimate and
    the chart's sweep per GPU profile) share one count."""
    from loopscope import _cell

    nid = register("""
        for i in range(1, n - 1):
            for j in range(1, n - 1):
                B[i, j] = 0.25 * (A[i - 1, j] + A[i + 1, j] + A[i, j - 1] + A[i, j + 1])
        """)
    env = dict(n=200, A=np.ones((200, 200)), B=np.zeros((200, 200)))
    before = _L.cost_work_cache_stats()
    est = _cell._estimate(nid, env, "a100_sxm", True)
    sweeps, gpu_variants = _cell._profile_sweeps(nid, env, "a100_sxm")
    after = _L.cost_work_cache_stats()
    assert "error" not in est, est
    assert after["counts"] - before["counts"] == 1
    assert after["sweeps"] - before["sweeps"] == 1
    assert sorted(sweeps) == sorted(_cost.gpu_profiles())
    assert sweeps["a100_sxm"] == est["sweep"]
    assert len({json.dumps(s) for s in sweeps.values()}) > 1  # priced per profile
    assert sorted(gpu_variants) == sorted(sweeps)  # the cost chart's GPU bar, per profile
    assert len({v["total"] for v in gpu_variants.values()}) > 1


@needs_nests
def test_estimate_profiles_of_a_declined_nest():
    nid = register("""
        for i in range(n):
            A[i + 1] = A[i]
        """)
    got = _cost.estimate_profiles(nid, dict(n=10, A=np.ones(10)), gpus=["t4", "h200"], sweep=False, nvrtc=False)
    assert sorted(got) == ["h200", "t4"]
    assert all(e["choice"] == "python" for e in got.values())


@needs_nests
def test_the_model_hears_what_the_cpu_declines():
    """A nest the CPU code generator refuses for exactness (math.lgamma, which
    is CPython's own code) is never priced as an available native variant, so
    auto runs it as Python at once instead of choosing the CPU and falling
    back."""
    nid = register("""
        for i in range(n):
            y[i] = math.lgamma(x[i] + 1.0) + 1.0
        """)
    env = {"n": 200, "x": np.linspace(0, 1, 200), "y": np.zeros(200), "np": np, "math": math}
    facts = _cost.cpu_facts(nid, env)
    assert facts.get("cpu_available") is False and "math.lgamma()" in facts["cpu_decline"], facts
    est = _cost.estimate_nest(nid, env, sweep=False, nvrtc=False)
    for v in est["variants"]:
        if v["variant"] in ("cpu", "cpu-serial"):
            assert not v["available"] and "math.lgamma()" in v["unavailable_reason"], v
    assert est["choice"] == "python" and "math.lgamma()" in est["reason"], est["reason"]
    assert _cost.choose(nid, env) == "python"
    # Accepted nests are unaffected.
    ok = register("""
        for i in range(n):
            y[i] = x[i] * 2.0
        """)
    assert _cost.cpu_facts(ok, env) == {}


@needs_nests
def test_no_parallel_cpu_price_where_the_cpu_runs_the_loop_in_order():
    # A float max is a reduction for the plan (exact in any order), but the CPU
    # code generator runs float min/max in order: the model must not price
    # (or choose) a parallel CPU run that would be serial.
    nid = register("""
        for i in range(n):
            m = max(m, A[i] * 2)
        """)
    env = dict(n=3_000_000, m=0.0, A=np.linspace(0.0, 1.0, 3_000_000))
    assert _cost.cpu_facts(nid, env) == {"cpu_runs_parallel": False}
    e = _cost.estimate_nest(nid, env, sweep=False, nvrtc=False)
    by = {v["variant"]: v for v in e["variants"]}
    assert not by["cpu"]["available"] and "runs no loop of this nest in parallel" in by["cpu"]["unavailable_reason"]
    assert by["cpu-serial"]["available"]
    assert e["choice"] != "cpu"
    # An int max runs in parallel: nothing to say.
    env_int = dict(n=3_000_000, m=np.int64(0), A=np.arange(3_000_000))
    assert _cost.cpu_facts(nid, env_int) == {}


@needs_nests
def test_an_unavailable_variant_says_why_with_a_decline_code():
    # Each variant the model cannot run carries the engine's one decline:
    # the sentence and its code (analysis/decline.hpp), in the estimate.
    nid = register("""
        for i in range(n):
            out[i] = S[i] * 2.0
        """)
    env = dict(n=50, out=np.zeros(50), S=np.full(50, 0.5))
    by = {v["variant"]: v for v in _cost.estimate_nest(nid, env, sweep=False, nvrtc=False)["variants"]}
    if not _cost.gpu_available():
        assert by["gpu"]["unavailable_code"] == "no_device"
    assert by["cpu-serial"]["available"] and by["cpu-serial"]["unavailable_code"] == ""
    facts = {"cpu_available": False, "cpu_decline": "a reason", "cpu_decline_code": "exactness"}
    e = _cost.estimate_nest(nid, env, sweep=False, nvrtc=False, facts=facts)
    by = {v["variant"]: v for v in e["variants"]}
    assert (by["cpu-serial"]["unavailable_code"], by["cpu-serial"]["unavailable_reason"]) == ("exactness", "a reason")
    seq = register("""
        for i in range(1, n):
            a[i] = a[i - 1] + 1.0
        """)
    e = _cost.estimate_nest(seq, dict(n=100, a=np.zeros(100)), sweep=False, nvrtc=False)
    by = {v["variant"]: v for v in e["variants"]}
    assert by["cpu"]["unavailable_code"] == "dependence"
    assert by["gpu"]["unavailable_code"] == "dependence"
