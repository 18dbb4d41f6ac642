"""The GPU mapping is decided once: the cost model prices the grid the CUDA
generator emits.

For every nest execution of the corpora (the twelve benchmarks, random
nests of nestgen.py, and shapes where a rule that reads only the verdicts
would pick another grid), the estimate's grid loops (``work.gpu_grid_loops``)
are compared with the grid loops of the kernels in the generated program.
Before the mapping had one home (analysis/mapping.cpp), the cost model
priced a grid over a loop whose enclosing loop holds a statement, which
the generator runs on a single GPU thread."""

import numpy as np
import pytest

import _loopscope
import benchmarks
import loopscope
import nestgen
from loopscope import _run

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def compared_executions(fn, make_args):
    """(nest id, cost model's grid loop ids, generator's grid loop ids or None)
    for the first execution of every nest of ``fn``."""
    seen = {}

    def recording(nest_id, env):
        if nest_id not in seen:
            est = _loopscope.cost_estimate_nest(nest_id, env, sweep=False)
            priced = (est.get("work") or {}).get("gpu_grid_loops")
            program = _loopscope.cuda_generate(nest_id, env)
            emitted = None
            if program.get("decline") is None:
                emitted = [i for k in program["kernels"] for i in k["grid_loop_ids"]]
            seen[nest_id] = (priced, emitted, est)
        return _run.DEVICES["cpu"](nest_id, env)

    _run.register_device("mapping-check", recording)
    try:
        loopscope.run(fn, *make_args(), device="mapping-check")
    except Exception:
        pass  # a nest that raises as Python does: what was recorded stands
    finally:
        _run.DEVICES.pop("mapping-check", None)
    return seen


def disagreements(fn, make_args):
    out, compared = [], 0
    for nid, (priced, emitted, _) in compared_executions(fn, make_args).items():
        if priced is None or emitted is None:
            continue  # declined before counting, or no GPU variant to compare with
        compared += 1
        if priced != emitted:
            out.append(f"nest {nid}: the cost model prices grid {priced}, the generator emits {emitted}")
    return out, compared


@pytest.mark.parametrize("bench", benchmarks.BENCHMARKS, ids=lambda b: b.name)
def test_benchmarks(bench):
    bad, compared = disagreements(bench.fn, lambda: bench.args("small"))
    assert compared > 0
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("batch", range(2))
def test_random_nests(batch):
    failures, compared = [], 0
    for seed in range(9000 + batch * 60, 9000 + batch * 60 + 60):
        for extras in (False, True):
            src, make_args = nestgen.generate(seed, extras)
            bad, n = disagreements(nestgen.make_function(src), make_args)
            compared += n
            failures += [f"seed {seed} extras={extras}: {b}\n{src}" for b in bad]
    assert compared > 40
    assert not failures, "\n".join(failures[:5])


# Shapes where the verdicts alone suggest another grid than the generator's.
def _statement_beside_the_parallel_loop(a, T):
    for t in range(T):
        a[0] = a[0] + 1.0
        for i in range(1, a.shape[0]):
            a[i] = a[i] * 0.5


def _host_loop_around_a_grid(a, T):
    for t in range(T):
        for i in range(a.shape[0]):
            a[i] = a[i] * 0.5 + t


def _array_reduction_inside(A, B, C):
    for i in range(A.shape[0]):
        for j in range(B.shape[1]):
            for k in range(A.shape[1]):
                C[i, j] += A[i, k] * B[k, j]


def _triangular(A):
    for i in range(A.shape[0]):
        for j in range(i):
            A[i, j] = A[j, i] + 1.0


def _product_reduction(x):
    p = 1.0
    for i in range(x.shape[0]):
        p *= x[i]
    return p


def _bound_from_the_body(a, n):
    for i in range(a.shape[0]):
        m = n + i
        for j in range(m):
            a[i] += 1.0


SHAPES = [
    (_statement_beside_the_parallel_loop, lambda: (np.ones(64), 3)),
    (_host_loop_around_a_grid, lambda: (np.ones(64), 3)),
    (_array_reduction_inside, lambda: (np.ones((8, 6)), np.ones((6, 5)), np.zeros((8, 5)))),
    (_triangular, lambda: (np.ones((9, 9)),)),
    (_product_reduction, lambda: (np.linspace(0.5, 1.5, 50),)),
    (_bound_from_the_body, lambda: (np.zeros(7), 3)),
]


@pytest.mark.parametrize("fn,make_args", SHAPES, ids=[f.__name__ for f, _ in SHAPES])
def test_shapes(fn, make_args):
    bad, compared = disagreements(fn, make_args)
    assert compared > 0
    assert not bad, "\n".join(bad)


def test_a_single_thread_launch_is_not_priced_as_a_grid():
    (priced, emitted, est), *_ = compared_executions(
        _statement_beside_the_parallel_loop, lambda: (np.ones(64), 3)
    ).values()
    assert priced == emitted == []
    gpu = next(v for v in est["variants"] if v["variant"] == "gpu")
    assert not gpu["available"]
    assert "single thread" in gpu["unavailable_reason"]
