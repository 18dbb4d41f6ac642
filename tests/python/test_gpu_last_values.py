"""Last values of private scalars on the GPU: after a parallel nest, Python
leaves in a scalar the value of the last iteration (in the loop's order)
that assigned it, or its value from before the nest when no iteration did
(an unbound name stays unbound). The generated CUDA keeps, for each thread,
the grid position of its last assigning iteration; the warps then keep the
latest one (share/cuda/loopscope_cuda.h: ls_keep_last). Triangular nests,
whose last iteration has an empty inner loop, and conditionally assigned
scalars run on the GPU (the emulator here) instead of falling back to
Python, with CPython's values and types on every device.
"""

import numpy as np
import pytest

from differential import check, parallel_loops, use_temporary_cache  # noqa: F401
import loopscope
from loopscope import _cost, _cuda, _rewrite, _run

DEVICES = ("cpu", "cpu-serial", "gpu-emulated", "auto")


def check_on_gpu(fn, make_args):
    """check() on every device, and the GPU ran a grid (not Python, not a
    single thread)."""
    records = check(fn, make_args)
    loops = parallel_loops(records, "gpu-emulated")
    assert loops and all(loops), records["gpu-emulated"]
    return records


# --- triangular nests -------------------------------------------------------------------


def upper_triangle(a, b, n):
    for i in range(n):
        s = 0.0
        for j in range(i + 1, n):  # the last i has an empty inner loop
            s += b[j]
            t = b[j] * 2  # its last value comes from i = n - 2
        a[i] = s
    return t, j, s


def lower_triangle(a, b, n):
    for i in range(n):
        s = 0.0
        for j in range(i):  # the first i has an empty inner loop
            s += b[j]
            t = b[j] - 1.0
        a[i] = s
    return t, j, s


def lower_triangle_backwards(a, b, n):
    # i runs down to 0, whose inner loop is empty: Python keeps t and j from i = 1.
    for i in range(n - 1, -1, -1):
        s = 0.0
        for j in range(i):
            s += b[j]
            t = j * 3
        a[i] = s
    return t, j


def inner_backwards(a, b, n):
    for i in range(n):
        s = 0.0
        for j in range(n - 1, i, -1):
            s += b[j]
            k = j
        a[i] = s
    return k, j


@pytest.mark.parametrize("fn", [upper_triangle, lower_triangle, lower_triangle_backwards, inner_backwards])
@pytest.mark.parametrize("n", [2, 5, 300, 1000])
def test_triangular_nests(fn, n):
    check_on_gpu(fn, lambda: (np.zeros(n), np.arange(n, dtype=np.float64) * 0.5, n))


def test_triangular_nest_of_one_row():
    # n = 1: no inner iteration at all, t and j are never assigned: Python raises
    # UnboundLocalError on `return t, j, s`, after the loop wrote a[0].
    for fn in (upper_triangle, lower_triangle):
        check(fn, lambda: (np.ones(1), np.arange(1.0), 1))


# --- conditionally assigned scalars --------------------------------------------------------


def last_positive(a, b):
    last = -1
    for i in range(b.shape[0]):
        a[i] = b[i] * 2.0
        if b[i] > 0:
            last = i
    return last


def last_positive_unbound(a, b):
    for i in range(b.shape[0]):
        a[i] = b[i] * 2.0
        if b[i] > 0:
            last = i
    return last


def last_positive_backwards(a, b):
    last = -1
    for i in range(b.shape[0] - 1, -1, -2):
        a[i] = b[i] + 1.0
        if b[i] > 0:
            last = i
            v = b[i]
    return last, v


def kinds(a, b):
    # An int, a float, a bool and an np.float64, each assigned in some iterations.
    k = 0
    f = 0.5
    flag = False
    x = 7
    for i in range(b.shape[0]):
        a[i] = b[i] * b[i]
        if b[i] > 0.25:
            k = i * 3 - 7
        if b[i] < -0.5:
            f = float(i) / 4.0
        if i % 7 == 3:
            flag = b[i] > 0
        if b[i] > 0.9:
            x = b[i]
    return k, f, flag, x


def float32_private(a, b):
    y = b[0] * b[0]  # an np.float32
    for i in range(b.shape[0]):
        a[i] = b[i] * b[i]
        if b[i] > 0:
            y = b[i] + b[i]
    return y


def int32_private(a, c):
    m = c[0]
    for i in range(c.shape[0]):
        a[i] = c[i] * 2
        if c[i] % 3 == 0:
            m = c[i]
    return m


def signs(n, seed):
    rng = np.random.default_rng(seed)
    return np.where(rng.random(n) < 0.5, -1.0, 1.0) * rng.random(n)


@pytest.mark.parametrize("n", [1, 31, 33, 257, 2000])
def test_conditional_last_value(n):
    for seed in range(3):
        check_on_gpu(last_positive, lambda: (np.zeros(n), signs(n, seed)))
        check_on_gpu(last_positive_unbound, lambda: (np.zeros(n), signs(n, seed)))
        check_on_gpu(last_positive_backwards, lambda: (np.zeros(n), signs(n, seed)))
        check_on_gpu(kinds, lambda: (np.zeros(n), signs(n, seed)))
    check_on_gpu(float32_private, lambda: (np.zeros(n, np.float32), signs(n, 4).astype(np.float32)))
    check_on_gpu(int32_private, lambda: (np.zeros(n, np.int32), (np.arange(n, dtype=np.int32) * 7 + 1) % 1000))


@pytest.mark.parametrize("n", [0, 1, 40, 600])
def test_never_assigned(n):
    # No iteration assigns: the value from before the nest stays (its type too),
    # and a name unbound before stays unbound (UnboundLocalError, as in Python).
    check(last_positive, lambda: (np.zeros(n), -np.ones(n)))
    check(last_positive_unbound, lambda: (np.zeros(n), -np.ones(n)))
    check(kinds, lambda: (np.zeros(n), np.zeros(n)))


def test_only_the_first_iteration_assigns():
    b = -np.ones(700)
    b[0] = 3.0
    check_on_gpu(last_positive, lambda: (np.zeros(700), b.copy()))
    check_on_gpu(kinds, lambda: (np.zeros(700), b.copy()))


def every_iteration(a, b):
    # t is assigned by every iteration: the thread of the last one gives it.
    for i in range(b.shape[0]):
        t = b[i] * 3.0
        a[i] = t + 1.0
    return t


def after_a_continue(a, b):
    # A continue before the assignment: some iterations do not assign t.
    t = 0.5
    for i in range(b.shape[0]):
        a[i] = 1.0
        if b[i] < 0:
            continue
        t = b[i] * 3.0
        a[i] = t
    return t


@pytest.mark.parametrize("n", [1, 300, 1000])
def test_every_iteration_and_continue(n):
    for seed in range(3):
        check_on_gpu(every_iteration, lambda: (np.zeros(n), signs(n, seed)))
        check_on_gpu(after_a_continue, lambda: (np.zeros(n), signs(n, seed)))
    b = signs(n, 5)
    b[-1] = -1.0
    check_on_gpu(after_a_continue, lambda: (np.zeros(n), b.copy()))


# --- 2-D grids ------------------------------------------------------------------------------


def last_in_grid(a, b):
    for i in range(b.shape[0]):
        for j in range(b.shape[1]):
            a[i, j] = b[i, j] + 1.0
            if b[i, j] > 0.5:
                where = i * 1000 + j
                v = b[i, j]
    return where, v


def last_in_triangular_grid(a, b, n):
    for i in range(n):
        for j in range(i, n):
            a[i, j] = b[i, j] * 3.0
            if b[i, j] > 0.7:
                pos = i * n + j
            cnt = j - i
    return pos, cnt


def grid_with_inner_loop(a, b, n):
    # i and j form the grid; k's loop is empty whenever j == 0.
    for i in range(n):
        for j in range(n):
            s = 0.0
            for k in range(j):
                s += b[i, k]
                z = b[i, k] * k
            a[i, j] = s
    return z, k, s


@pytest.mark.parametrize("shape", [(1, 1), (3, 40), (40, 3), (33, 65)])
def test_2d_grids(shape):
    for seed in range(2):
        b = np.abs(signs(shape[0] * shape[1], seed)).reshape(shape)
        check_on_gpu(last_in_grid, lambda: (np.zeros(shape), b.copy()))
    n = shape[1]
    b = np.abs(signs(n * n, 9)).reshape(n, n)
    check_on_gpu(last_in_triangular_grid, lambda: (np.zeros((n, n)), b.copy(), n))


@pytest.mark.parametrize("n", [2, 9, 40])
def test_grid_with_an_inner_loop(n):
    check_on_gpu(grid_with_inner_loop, lambda: (np.zeros((n, n)), np.arange(n * n, dtype=np.float64).reshape(n, n), n))


# --- launches of a kernel in a host loop ----------------------------------------------------


def sweeps(a, steps):
    # t carries a dependence (row t + 1 reads row t): the host launches the i
    # kernel once per t; last comes from the last launch that assigned it.
    last = -5
    for t in range(steps):
        for i in range(1, a.shape[1]):
            a[t + 1, i] = a[t, i - 1] * 0.5
            if a[t, i] > 1.0:
                last = t * 1000 + i
    return last


def test_last_value_across_launches():
    def make():
        a = np.zeros((6, 50))
        a[0, :10] = 8.0
        return (a, 5)

    recs = check(sweeps, make)
    assert recs["gpu-emulated"][0]["status"] == "ok"


# --- exceptions ---------------------------------------------------------------------------------


def raises_midway(a, b):
    for i in range(b.shape[0]):
        if b[i] > 0:
            last = i
        a[i] = 1.0 / float(b[i])  # b[i] == 0.0 raises ZeroDivisionError
    return last


def test_exception_keeps_python_partial_writes():
    def make():
        b = signs(300, 1)
        b[200] = 0.0
        return (np.zeros(300), b)

    check(raises_midway, make, native=("cpu", "cpu-serial", "gpu-emulated"))


# --- what still stays off the GPU ------------------------------------------------------------


def complex_private(a, b):
    z = 0j
    for i in range(b.shape[0]):
        a[i] = b[i] * 2.0
        if b[i] > 0:
            z = complex(b[i], i)
    return z


def test_gpu_still_declines_with_its_sentence():
    # Complex numbers run on the CPU only: the last value of a complex scalar
    # stays off the GPU, with the reason.
    recs = check(complex_private, lambda: (np.zeros(50), signs(50, 2)), native=("cpu", "cpu-serial"))
    gpu = recs["gpu-emulated"]
    assert gpu and gpu[0]["status"] == "declined", gpu
    assert "complex" in gpu[0]["reason"], gpu[0]["reason"]


# --- the cost model ---------------------------------------------------------------------------


def estimate(fn, *args):
    got = []

    def hook(nest_id, env):
        got.append((nest_id, _rewrite.bind_env(nest_id, env)[0]))
        return {}

    compiled, _nests = _rewrite.compile_function(fn, hook, hook_declined=True)
    try:
        compiled(*args)  # the hook skips the loop: a name read after it may be unbound
    except NameError:
        pass
    nest_id, env = got[0]
    e = _cost.estimate_nest(nest_id, env, nvrtc=False, sweep=False, facts={"gpu_available": True})
    return e["work"]["gpu_last_assigned"], next(v for v in e["variants"] if v["variant"] == "gpu")


def test_the_cost_model_prices_the_search_for_last_values():
    n = 100_000
    count, gpu = estimate(kinds, np.zeros(n), np.ones(n))
    assert count == 4 and gpu["details"]["last_values_s"] > 0
    count, gpu = estimate(lower_triangle, np.zeros(1000), np.ones(1000), 1000)
    assert count == 2 and gpu["details"]["last_values_s"] > 0  # t and j; s is assigned by every i
    count, gpu = estimate(every_iteration, np.zeros(n), np.ones(n))
    assert count == 0 and gpu["details"]["last_values_s"] == 0


def cuda_source_of(fn, *args):
    sources = []

    def spy(nest_id, env):
        sources.append(_cuda.generate(nest_id, env)["source"])
        return _cuda.run_emulated(nest_id, env)

    _run.register_device("gpu-emulated+source", spy)
    loopscope.run(fn, *args, device="gpu-emulated+source")
    return sources[0]


def test_the_cuda_searches_only_for_scalars_assigned_in_some_iterations():
    # every_iteration's t comes from the thread of the last iteration; kinds'
    # four scalars are searched for across the blocks, and the kernel says so.
    src = cuda_source_of(every_iteration, np.zeros(10), np.ones(10))
    calls = [line for line in src.splitlines() if line.strip().startswith("ls_keep_last(")]
    assert not calls and "== ls_last_i" in src
    src = cuda_source_of(kinds, np.zeros(10), np.ones(10))
    calls = [line for line in src.splitlines() if line.strip().startswith("ls_keep_last(")]
    assert len(calls) == 4, calls
    assert "keeps those of the last iteration that assigned them" in src
