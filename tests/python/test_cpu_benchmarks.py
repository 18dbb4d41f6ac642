"""Differential tests of the CPU variant against CPython on the twelve
benchmarks of share/benchmarks at three sizes: same arguments, same results,
bit for bit, and every nest really ran natively."""

import os
import sys

import numpy as np
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "share"))

import _loopscope  # noqa: E402
import benchmarks  # noqa: E402
import loopscope  # noqa: E402
from cpu_tiers import TIERS, cpu_tier  # noqa: E402
from loopscope import _run  # noqa: E402

SIZES = ["small", "medium", "large"]

_reference = {}


def reference(b, size):
    key = (b.name, size)
    if key not in _reference:
        args = b.args(size)
        ret = b.fn(*args)
        _reference[key] = (args, ret)
    return _reference[key]


def same(a, b):
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", benchmarks.names())
@pytest.mark.parametrize("device", ["cpu", "cpu-serial"])
def test_benchmark_matches_cpython(name, size, device, tier):
    if size == "large" and device == "cpu-serial" and name not in ("saxpy", "gemm", "seidel_2d"):
        pytest.skip("large serial runs: a few representatives keep the suite fast")
    b = benchmarks.get(name)
    ref_args, ref_ret = reference(b, size)
    args = b.args(size)
    _run.reset_last_runs()
    _loopscope.cpu_clear_cache()
    with cpu_tier(tier):
        ret = loopscope.run(b.fn, *args, device=device)
    assert same(ret, ref_ret) if ret is not None else ref_ret is None
    for k, (x, y) in enumerate(zip(args, ref_args)):
        assert same(x, y), f"argument {k} of {name} differs from CPython"
    runs = list(_run.last_runs().values())
    assert runs and all(r["device"] == device for r in runs)
    # every nest of the benchmark ran natively (none fell back to Python)
    bad = [r for r in runs if r["status"] != "ok"]
    assert not bad, bad
    assert all(r["timing"]["tier"] == tier for r in runs), runs


@pytest.mark.parametrize("name", ["gemm", "covariance", "lu"])
def test_auto_tier_runs_quick_code_then_optimised(name):
    """The default tier: a brief first run uses quick code while optimised
    code builds in the background; once it is in, calls use it. Both match
    CPython."""
    b = benchmarks.get(name)
    ref_args, ref_ret = reference(b, "small")
    _loopscope.cpu_clear_cache()
    with cpu_tier("auto"):
        tiers = []
        for call in range(2):
            args = b.args("small")
            _run.reset_last_runs()
            ret = loopscope.run(b.fn, *args, device="cpu")
            assert same(ret, ref_ret) if ret is not None else ref_ret is None
            for x, y in zip(args, ref_args):
                assert same(x, y)
            runs = list(_run.last_runs().values())
            assert runs and all(r["status"] == "ok" for r in runs), runs
            tiers.append({r["timing"]["tier"] for r in runs})
            if call == 0:
                assert all(r["timing"]["upgrade_pending"] for r in runs), runs
                _loopscope.cpu_wait_compiles()
    assert tiers == [{"quick"}, {"optimised"}]
    assert _loopscope.cpu_cache_stats()["upgrades"] >= 1


def test_parallel_loops_chosen():
    b = benchmarks.get("gemm")
    args = b.args("small")
    loopscope.run(b.fn, *args, device="cpu")
    r = [v for v in _run.last_runs().values() if v["device"] == "cpu"]
    assert any(v["parallel_loops"] == "i" for v in r)


def test_second_call_hits_the_variant_cache():
    b = benchmarks.get("saxpy")
    loopscope.run(b.fn, *b.args("small"), device="cpu")
    before = _loopscope.cpu_cache_stats()["hits"]
    loopscope.run(b.fn, *b.args("small"), device="cpu")
    assert _loopscope.cpu_cache_stats()["hits"] == before + 1
