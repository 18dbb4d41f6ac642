"""Differential tests of the CPU variant against CPython on the random loop
nests of nestgen.py (the analysis' generator): 1,000 seeds, each run in
CPython and through loopscope.run, serially (results must be bit-identical)
and in parallel (bit-identical too, except that a parallel floating-point
reduction may differ by reassociation). Exceptions (IndexError for the
out-of-range seeds) must match, with the same array contents afterwards."""

import math
import re
import warnings

import numpy as np
import pytest

import loopscope
import nestgen
from cpu_tiers import cpu_tier, tier_for
from loopscope import _run

SEEDS = 1000
BATCHES = 10
SCALAR_REDUCTION = re.compile(r"^\s+[A-Za-z_]\w*\s*[-+*]=", re.M)


def outcome(fn, args, device):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ret = fn(*args) if device is None else loopscope.run(fn, *args, device=device)
            return ("ok", ret)
        except Exception as exc:
            return ("raise", type(exc).__name__, str(exc))


def arrays_of(args):
    out = []
    for a in args:
        if isinstance(a, np.ndarray):
            base = a
            while base.base is not None and isinstance(base.base, np.ndarray):
                base = base.base
            out.append(base)
    return out


def equal(x, y, tol):
    if isinstance(x, tuple):
        return len(x) == len(y) and all(equal(a, b, tol) for a, b in zip(x, y))
    if isinstance(x, np.ndarray):
        if x.tobytes() == y.tobytes():
            return True
        return tol and np.allclose(x, y, rtol=1e-9, atol=1e-12, equal_nan=True)
    if isinstance(x, float) and isinstance(y, float):
        if x == y or (math.isnan(x) and math.isnan(y)):
            return type(x) is type(y)
        return tol and type(x) is type(y) and math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12)
    return type(x) is type(y) and x == y


@pytest.mark.parametrize("batch", range(BATCHES))
def test_nestgen_seeds(batch):
    per = SEEDS // BATCHES
    native = total = 0
    for seed in range(batch * per, (batch + 1) * per):
        src, make_args = nestgen.generate(seed)
        fn = nestgen.make_function(src)
        py_args = make_args()
        want = outcome(fn, py_args, None)
        for device in ("cpu-serial", "cpu"):
            tol = device == "cpu" and bool(SCALAR_REDUCTION.search(src))
            args = make_args()
            _run.reset_last_runs()
            tier = tier_for(seed)
            with cpu_tier(tier):
                got = outcome(fn, args, device)
            ctx = f"seed {seed} on {device}, {tier} code ({nestgen.describe(seed)}):\n{src}"
            assert want[0] == got[0], f"{ctx}\npython: {want}\nloopscope: {got}"
            assert equal(want[1:], got[1:], tol), f"{ctx}\npython: {want}\nloopscope: {got}"
            for a, b in zip(arrays_of(py_args), arrays_of(args)):
                assert equal(a, b, tol), f"{ctx}\narrays differ:\n{a}\n{b}"
            st = [r["status"] for r in _run.last_runs().values()]
            native += sum(s == "ok" for s in st)
            total += len(st)
    assert native >= 0.5 * total, (native, total)
