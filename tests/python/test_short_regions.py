"""Short parallel regions: a region of a CPU parallel loop whose work does
not pay for waking the worker threads (analysis::parallel_region_pays, at
each entry of the loop) runs its chunks on the calling thread. Results never
change: every function runs in CPython and through loopscope.run on each
device and must give the same values, arrays, exceptions and partial
writes; on "cpu" the run records count the regions run on the pool and on
the calling thread, and the loop is still reported as parallel. A float sum
with reassociation allowed keeps its chunks (and their combination order)
when its region runs on the calling thread. The cost model prices the same
rule: short regions cost no fork/join.
"""

import ast
import textwrap
import time

import numpy as np
import pytest

import _loopscope
import loopscope
from differential import check, parallel_loops, use_temporary_cache  # noqa: F401

THREADS = 4


@pytest.fixture(autouse=True, scope="module")
def several_threads():
    # Both kinds of region need a pool, whatever this machine's CPUs.
    before = _loopscope.cpu_threads()
    _loopscope.cpu_set_threads(THREADS)
    yield
    _loopscope.cpu_set_threads(0 if before == _loopscope.cpu_budget()["cpus"] else before)


def regions(records, device="cpu"):
    """(on the pool, on the calling thread) over a device's run records."""
    pool = sum(r.get("timing", {}).get("regions_parallel", 0) for r in records[device])
    inline = sum(r.get("timing", {}).get("regions_inline", 0) for r in records[device])
    return pool, inline


# --- PolyBench shapes ---------------------------------------------------------


def durbin(r, y, z):
    n = r.shape[0]
    y[0] = -r[0]
    beta = 1.0
    alpha = -r[0]
    for k in range(1, n):
        beta = (1 - alpha * alpha) * beta
        total = 0.0
        for i in range(k):
            total += r[k - i - 1] * y[i]
        alpha = -(r[k] + total) / beta
        for i in range(k):
            z[i] = y[i] + alpha * y[k - i - 1]
        for i in range(k):
            y[i] = z[i]
        y[k] = alpha
    return alpha, beta, total


def test_durbin_regions_run_on_the_calling_thread():
    def args():
        n = 60
        return ((n + 1 - np.arange(n)).astype(np.float64), np.zeros(n), np.zeros(n))

    recs = check(durbin, args)
    assert parallel_loops(recs, "cpu") and all(parallel_loops(recs, "cpu"))
    pool, inline = regions(recs)
    assert pool == 0 and inline == 2 * 59


def ludcmp(A, b, x, y):
    n = A.shape[0]
    for i in range(n):
        for j in range(i):
            w = A[i, j]
            for k in range(j):
                w -= A[i, k] * A[k, j]
            A[i, j] = w / A[j, j]
        for j in range(i, n):
            w = A[i, j]
            for k in range(i):
                w -= A[i, k] * A[k, j]
            A[i, j] = w
    for i in range(n):
        w = b[i]
        for j in range(i):
            w -= A[i, j] * y[j]
        y[i] = w
    for i in range(n - 1, -1, -1):
        w = y[i]
        for j in range(i + 1, n):
            w -= A[i, j] * x[j]
        x[i] = w / A[i, i]
    return w


def _psd(n):
    rng = np.random.default_rng(n)
    M = rng.random((n, n))
    return M @ M.T + n * np.eye(n)


@pytest.mark.parametrize("n", [12, 160])
def test_ludcmp(n):
    def args():
        return (_psd(n), np.arange(n) / n + 4.0, np.zeros(n), np.zeros(n))

    recs = check(ludcmp, args, native=("cpu", "cpu-serial"))  # the GPU declines its first nest
    pool, inline = regions(recs)
    if n == 12:
        assert pool == 0 and inline > 0
    else:  # the middle rows pay for the threads, the first and last do not
        assert pool > 0 and inline > 0


def jacobi_1d(tsteps, A, B):
    n = A.shape[0]
    for t in range(tsteps):
        for i in range(1, n - 1):
            B[i] = 0.33333 * (A[i - 1] + A[i] + A[i + 1])
        for i in range(1, n - 1):
            A[i] = 0.33333 * (B[i - 1] + B[i] + B[i + 1])
    return t, i


@pytest.mark.parametrize("n", [3, 50, 30000])
def test_time_loop_around_a_short_parallel_loop(n):
    def args():
        v = np.arange(n)
        return (7, (v + 2.0) / n, (v + 3.0) / n)

    recs = check(jacobi_1d, args)
    pool, inline = regions(recs)
    if n < 1000:
        assert pool == 0 and inline == 14
    else:
        assert pool == 14 and inline == 0


# --- triangular loops: long regions first, short ones last ---------------------


def triangular(A, B, n):
    # LU's update: the rows below k in parallel, n - k - 1 long
    for k in range(n):
        for i in range(k + 1, n):
            for j in range(k + 1, n):
                A[i, j] -= A[i, k] * A[k, j] * 0.001
    return k


def triangular_by_index(A, B, n):
    # the inner bound reads the parallel variable: evaluated at the middle row
    for k in range(n):
        for i in range(k, n):
            for j in range(i):
                B[i, j] += A[k, j] * 0.5
    return k


@pytest.mark.parametrize("fn", [triangular, triangular_by_index])
def test_triangular_regions_shrink_below_the_threshold(fn):
    n = 120

    def args():
        return (np.arange(n * n, dtype=np.float64).reshape(n, n) / n, np.ones((n, n)), n)

    recs = check(fn, args)
    pool, inline = regions(recs)
    assert pool > 0 and inline > 0 and pool + inline == n


def lower_bound_from_scalar(A, m, n):
    # inner bounds read a scalar fixed before the nest, and one assigned
    # before the parallel loop in the sequential loop around it
    for k in range(m):
        lim = n - k
        for i in range(n):
            for j in range(min(lim, n // 2 + 1)):
                A[i, j] += 1.0
    return lim


def test_bounds_read_scalars_known_at_the_region_entry():
    def args():
        return (np.zeros((400, 400)), 4, 400)

    recs = check(lower_bound_from_scalar, args)
    assert regions(recs) == (4, 0)

    def small():
        return (np.zeros((12, 12)), 4, 12)

    recs = check(lower_bound_from_scalar, small)
    assert regions(recs) == (0, 4)


# --- reductions ---------------------------------------------------------------


def int_sums(x, steps):
    out = 0
    for t in range(steps):
        s = 0
        m = 0
        for i in range(x.shape[0]):
            s += x[i] * (t + 1)
            m = max(m, x[i] - t)
        out += s + m
    return out, s, m


@pytest.mark.parametrize("n", [5, 200, 40000])
def test_integer_reductions(n):
    def args():
        return (np.random.default_rng(n).integers(-50, 50, n), 6)

    recs = check(int_sums, args)
    pool, inline = regions(recs)
    assert (pool, inline) == ((6, 0) if n == 40000 else (0, 6))


def histogram(idx, bins, steps):
    h = np.zeros(bins, dtype=np.int64)
    for t in range(steps):
        for i in range(idx.shape[0]):
            h[idx[i]] += t + 1
    return h


@pytest.mark.parametrize("n", [7, 50000])
def test_integer_array_reduction(n):
    def args():
        return (np.random.default_rng(n).integers(0, 10, n), 10, 3)

    check(histogram, args)


def last_value(A, B):
    for t in range(3):
        for i in range(A.shape[0]):
            v = A[i] * 2.0 + t
            B[i] = v
    return v, i


@pytest.mark.parametrize("n", [1, 9, 30000])
def test_last_values_after_the_loop(n):
    check(last_value, lambda: (np.arange(n, dtype=np.float64), np.zeros(n)))


def float_sum(x, steps):
    out = 0.0
    for t in range(steps):
        s = 0.0
        for i in range(x.shape[0]):
            s += x[i] * (t + 1)
        out += s
    return out


def _chunked_sum(x, scale, chunks):
    # ls_rt_parallel's chunks, each summed in order from -0.0, combined in
    # chunk order into the value before the loop (0.0)
    n = len(x)
    s = 0.0
    for c in range(chunks):
        lo = n // chunks * c + min(c, n % chunks)
        hi = lo + n // chunks + (1 if c < n % chunks else 0)
        part = -0.0
        for i in range(lo, hi):
            part += float(x[i]) * scale
        s += part
    return s


@pytest.mark.parametrize("n", [37, 20000])
def test_reassociated_float_sum_keeps_its_chunks(n):
    x = np.random.default_rng(n).random(n)
    previous = loopscope.set_reassociation(True)
    try:
        got = loopscope.run(float_sum, x, 1, device="cpu")
    finally:
        loopscope.set_reassociation(previous)
    want = _chunked_sum(x, 1, min(n, THREADS * 8))
    assert got == want
    # without reassociation the sum runs in order, exactly
    assert loopscope.run(float_sum, x, 2, device="cpu") == float_sum(x, 2)


# --- exceptions ---------------------------------------------------------------


def gather(A, B, idx, steps):
    for t in range(steps):
        for i in range(A.shape[0]):
            A[i] = B[idx[i]] + t
    return t


@pytest.mark.parametrize("n", [10, 50000])
def test_index_error_in_the_middle_of_a_region(n):
    def args():
        idx = np.arange(n)
        idx[n // 2] = n + 3  # raises IndexError half-way through the first region
        return (np.zeros(n), np.arange(n, dtype=np.float64), idx, 3)

    check(gather, args)


def divide_late(A, d, steps):
    for t in range(steps):
        for i in range(A.shape[0]):
            A[i] = A[i] + 1.0 / d[t]
    return t


def test_zero_division_in_a_later_step():
    check(divide_late, lambda: (np.zeros(20), [1.0, 2.0, 0.0, 4.0], 4), native=False)


# --- the cost model prices the same rule -------------------------------------


def _estimate(src, env):
    from loopscope import _cost

    node = ast.parse(textwrap.dedent(src).strip() + "\n").body[0]
    nid = _loopscope.analysis_register(node, textwrap.dedent(src).strip() + "\n")
    e = _cost.estimate_nest(nid, env, sweep=False)
    assert e["work"]["ok"], e["work"]["reason"]
    return e["work"], {v["variant"]: v for v in e["variants"]}


TIME_LOOP = """
    for t in range(steps):
        for i in range(1, n - 1):
            B[i] = 0.33333 * (A[i - 1] + A[i] + A[i + 1])
    """


def test_cost_model_prices_short_regions_without_fork_join():
    short, by = _estimate(TIME_LOOP, dict(steps=100, n=400, A=np.zeros(400), B=np.zeros(400)))
    assert short["cpu_regions"] == 0 and short["cpu_inline_regions"] == 100
    assert short["parallel_fraction"] == 0
    cpu, serial = by["cpu"], by["cpu-serial"]
    assert cpu["available"]
    assert cpu["details"]["inline_regions"] == 100 and cpu["details"]["regions"] == 0
    # no fork/join: the parallel variant costs what the serial one does, and
    # 20 ns a region for the call of its chunk function
    assert cpu["compute"] == pytest.approx(serial["compute"])
    assert cpu["scheduling"] == pytest.approx(serial["scheduling"] + 100 * 0.02e-6)
    long, by = _estimate(TIME_LOOP, dict(steps=5, n=40000, A=np.zeros(40000), B=np.zeros(40000)))
    assert long["cpu_regions"] == 5 and long["cpu_inline_regions"] == 0
    assert by["cpu"]["scheduling"] > by["cpu-serial"]["scheduling"]


def test_the_calibrated_fork_join_is_a_region_that_forks():
    """calibrate_engine measures a region long enough to fork: one that runs
    on the calling thread measures nothing (the 0.05 us floor)."""
    from loopscope import _cost

    h = _cost.host_profile()
    if _loopscope.cpu_threads() < 2 or not h.get("forks_calibrated"):
        pytest.skip("one thread: nothing forks")
    assert h["fork_join_us"] > 0.05
    assert h["fork_join_cold_us"] >= h["fork_join_us"]


def test_the_facts_say_whether_the_workers_are_awake():
    from loopscope import _cost

    if _loopscope.cpu_threads() < 2:
        pytest.skip("one thread: no workers")
    n = 40000
    A, B = np.zeros(n), np.zeros(n)
    loopscope.run(_long_region, A, B, device="cpu")
    _loopscope.cpu_wait_compiles()
    loopscope.run(_long_region, A, B, device="cpu")
    assert _cost._facts(None)["workers_awake"]  # within their 2 ms of spinning
    time.sleep(0.01)
    assert not _cost._facts(None)["workers_awake"]


def _long_region(A, B):
    for i in range(1, A.shape[0] - 1):
        B[i] = 0.25 * (A[i - 1] + 2.0 * A[i] + A[i + 1])


TRIANGLE = """
    for k in range(n):
        for i in range(k + 1, n):
            for j in range(k + 1, n):
                A[i, j] -= A[i, k] * A[k, j]
    """


def test_cost_model_splits_triangular_regions():
    n = 90
    work, _ = _estimate(TRIANGLE, dict(n=n, A=np.zeros((n, n))))
    assert work["cpu_regions"] > 0 and work["cpu_inline_regions"] > 0
    assert work["cpu_regions"] + work["cpu_inline_regions"] == pytest.approx(n)
    assert 0 < work["parallel_fraction"] < 1
