"""The mapping onto the devices is decided once: the cost model prices the
parallel loops the CPU variant splits and the grid the CUDA generator emits.

For every nest execution of the corpora (the twelve benchmarks, random
nests of nestgen.py, and shapes where a rule that reads only the verdicts
would pick other loops), the estimate's CPU parallel loops
(``work.cpu_parallel_loops``) are compared with those of the CPU variant
(``cpu_predict``), and its grid loops (``work.gpu_grid_loops``) with the grid
loops of the kernels in the generated program. Before the mapping had one
home (analysis/mapping.cpp), the cost model priced a grid over a loop whose
enclosing loop holds a statement, which the generator runs on a single GPU
thread, and a parallel float max that the CPU variant runs in order."""

import numpy as np
import pytest

import _loopscope
import benchmarks
import loopscope
import nestgen
from loopscope import _run

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def compared_executions(fn, make_args):
    """nest id -> ((priced, emitted) for the GPU grid, the same for the CPU's
    parallel loops, the estimate) for the first execution of every nest of
    ``fn``; emitted is None where that generator declines."""
    seen = {}

    def recording(nest_id, env):
        if nest_id not in seen:
            est = _loopscope.cost_estimate_nest(nest_id, env, sweep=False)
            work = est.get("work") or {}
            program = _loopscope.cuda_generate(nest_id, env)
            grid = None
            if program.get("decline") is None:
                grid = [i for k in program["kernels"] for i in k["grid_loop_ids"]]
            cpu = _loopscope.cpu_predict(nest_id, env, True)
            split = cpu["parallel_loop_ids"] if cpu["status"] == "native" else None
            seen[nest_id] = (
                (work.get("gpu_grid_loops"), grid),
                (work.get("cpu_parallel_loops"), split),
                est,
            )
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
    for nid, (gpu, cpu, _) in compared_executions(fn, make_args).items():
        for device, (priced, emitted) in (("GPU grid", gpu), ("CPU parallel loops", cpu)):
            if priced is None or emitted is None:
                continue  # declined before counting, or no variant to compare with
            compared += 1
            if priced != emitted:
                out.append(f"nest {nid}: the cost model prices {device} {priced}, the generator emits {emitted}")
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


def _float_max_then_parallel_inside(A, m):
    for i in range(A.shape[0]):
        m = max(m, A[i, 0])
    for k in range(3):
        for j in range(A.shape[1]):
            A[k, j] = A[k, j] + m
    return m


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
    (_float_max_then_parallel_inside, lambda: (np.linspace(0.0, 1.0, 24).reshape(4, 6), 0.0)),
]


@pytest.mark.parametrize("fn,make_args", SHAPES, ids=[f.__name__ for f, _ in SHAPES])
def test_shapes(fn, make_args):
    bad, compared = disagreements(fn, make_args)
    assert compared > 0
    assert not bad, "\n".join(bad)


def test_a_single_thread_launch_is_not_priced_as_a_grid():
    ((priced, emitted), _, est), *_ = compared_executions(
        _statement_beside_the_parallel_loop, lambda: (np.ones(64), 3)
    ).values()
    assert priced == emitted == []
    gpu = next(v for v in est["variants"] if v["variant"] == "gpu")
    assert not gpu["available"]
    assert "single thread" in gpu["unavailable_reason"]


def test_a_float_max_the_cpu_runs_in_order_is_not_priced_in_parallel():
    def fmax(A, m):
        for i in range(A.shape[0]):
            m = max(m, A[i])
        return m

    (_, (priced, emitted), est), *_ = compared_executions(fmax, lambda: (np.linspace(0.0, 1.0, 500), 0.0)).values()
    assert priced == emitted == []
    cpu = next(v for v in est["variants"] if v["variant"] == "cpu")
    assert not cpu["available"]
    assert "runs no loop of this nest in parallel" in cpu["unavailable_reason"]
