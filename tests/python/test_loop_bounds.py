"""Loop bounds that are not one affine form each: `min`/`max` in a bound
(tiled loops, windows clipped at the edges) and bounds known only while the
nest runs (`range(i * i, n)`, `range(indptr[i], indptr[i + 1])`, a bound
the nest assigns, `range(phase % 2, n, 2)`). Every function runs in CPython
and through loopscope.run on each device and must give the same values,
types, arrays, exceptions and partial writes. The verdicts are checked too:
a clipped loop keeps the parallel loops around it (the tiles of a tiled
matrix product are independent); a loop with opaque bounds runs in order and
makes the loops around it sequential when they may write the same elements.
"""

import numpy as np
import pytest

import loopscope
from differential import check, parallel_loops, each_cpu_tier, use_temporary_cache  # noqa: F401
from nestgen import make_function


pytestmark = pytest.mark.usefixtures("each_cpu_tier")  # quick and optimised CPU code


def rng():
    """The same numbers for every call: make_args must build equal inputs."""
    return np.random.default_rng(11)


def _fn(source, name):
    return make_function(source, name, namespace={"np": np})


# --- min/max clipping a loop ------------------------------------------------------

MATMUL_TILED = _fn(
    """
def matmul_tiled(A, B, C, tile):
    n = A.shape[0]
    for ii in range(0, n, tile):
        for jj in range(0, n, tile):
            for kk in range(0, n, tile):
                for i in range(ii, min(ii + tile, n)):
                    for j in range(jj, min(jj + tile, n)):
                        s = C[i, j]
                        for k in range(kk, min(kk + tile, n)):
                            s += A[i, k] * B[k, j]
                        C[i, j] = s
    return C
""",
    "matmul_tiled",
)

TRANSPOSE_TILED = _fn(
    """
def transpose_tiled(A, out, bs):
    for i0 in range(0, A.shape[0], bs):
        for j0 in range(0, A.shape[1], bs):
            for i in range(i0, min(i0 + bs, A.shape[0])):
                for j in range(j0, min(j0 + bs, A.shape[1])):
                    out[j, i] = A[i, j]
""",
    "transpose_tiled",
)

WINDOW_SUM = _fn(
    """
def window_sum(a, out, w):
    n = a.shape[0]
    for k in range(n):
        s = 0.0
        for i in range(max(0, k - w), min(n, k + w + 1)):
            s += a[i]
        out[k] = s
    return s, i
""",
    "window_sum",
)

WINDOW_BACKWARDS = _fn(
    """
def window_backwards(a, out, w):
    n = a.shape[0]
    for k in range(n):
        t = 0.0
        for i in range(min(n - 1, k + w), max(-1, k - w - 1), -1):
            t = t * 0.5 + a[i]
        out[k] = t
""",
    "window_backwards",
)

THREE_WAY = _fn(
    """
def three_way(a, out, m):
    for i in range(min(a.shape[0], out.shape[0], m)):
        out[i] = a[i] * 2.0
    return i
""",
    "three_way",
)

DIAGONAL = _fn(
    """
def diagonal(A):
    t = 0.0
    for i in range(min(A.shape[0], A.shape[1])):
        t += A[i, i]
    return t
""",
    "diagonal",
)

CLIPPED_NEVER_RUNS = _fn(
    """
def clipped_never_runs(a, m):
    i = -7
    for i in range(3, min(a.shape[0], m)):
        a[i] = 1.0
    return i
""",
    "clipped_never_runs",
)

# A max where the loop stops, with a positive step: not a clip (the loop
# runs to the larger value), so the bounds are opaque.
MAX_AT_STOP = _fn(
    """
def max_at_stop(a, m):
    for k in range(a.shape[0] - 4):
        for i in range(k, max(k + 2, m)):
            a[i + 1] += a[i] * 0.5
""",
    "max_at_stop",
)

# min() of a float: range() raises TypeError as in Python.
FLOAT_IN_MIN = _fn(
    """
def float_in_min(a, x):
    for i in range(2):
        for j in range(min(a.shape[0], x)):
            a[j] += 1.0
""",
    "float_in_min",
)


def _square(n):
    return lambda: (rng().random((n, n)), rng().random((n, n)), np.zeros((n, n)), 4)


@pytest.mark.parametrize("n", [1, 7, 8, 13])
def test_tiled_matmul_keeps_its_tile_loops_parallel(n):
    recs = check(MATMUL_TILED, _square(n))
    if n > 4:
        assert parallel_loops(recs, "cpu") == ["ii"]


def test_tiled_transpose():
    recs = check(TRANSPOSE_TILED, lambda: (rng().random((9, 14)), np.zeros((14, 9)), 4))
    assert parallel_loops(recs, "cpu") == ["i0"]


@pytest.mark.parametrize("w", [0, 2, 40])
def test_windows_clipped_at_both_ends(w):
    recs = check(WINDOW_SUM, lambda: (rng().random(23), np.zeros(23), w))
    assert parallel_loops(recs, "cpu") == ["k"]
    check(WINDOW_BACKWARDS, lambda: (rng().random(23), np.zeros(23), w))


@pytest.mark.parametrize("m", [0, 5, 100])
def test_min_of_three_and_of_shapes(m):
    check(THREE_WAY, lambda: (rng().random(12), np.zeros(9), m))
    check(DIAGONAL, lambda: (rng().random((5, 8)),))
    check(DIAGONAL, lambda: (rng().random((8, 5)),))
    check(CLIPPED_NEVER_RUNS, lambda: (np.zeros(6), m))


@pytest.mark.parametrize("m", [0, 3, 9])
def test_max_where_the_loop_stops_is_opaque(m):
    recs = check(MAX_AT_STOP, lambda: (rng().random(12), m))
    assert parallel_loops(recs, "cpu") == [""]


def test_a_float_in_min_raises_as_python_does():
    check(FLOAT_IN_MIN, lambda: (np.zeros(4), 2.5), native=False)
    check(FLOAT_IN_MIN, lambda: (np.zeros(4), 3), native=True)


# --- bounds known only while the nest runs ----------------------------------------

SPMV = _fn(
    """
def spmv(indptr, indices, data, x, y):
    for i in range(y.shape[0]):
        s = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            s += data[k] * x[indices[k]]
        y[i] = s
    return k
""",
    "spmv",
)


def _csr(rows=9, cols=7, empty_rows=(2, 5)):
    def make():
        counts = np.array([0 if r in empty_rows else 1 + r % 3 for r in range(rows)])
        indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        nnz = int(indptr[-1])
        indices = (np.arange(nnz) * 5 % cols).astype(np.int64)
        return indptr, indices, rng().random(nnz), rng().random(cols), np.zeros(rows)

    return make


def test_csr_matrix_vector_product_keeps_rows_parallel():
    recs = check(SPMV, _csr())
    assert parallel_loops(recs, "cpu") == ["i"]


def test_csr_with_an_index_past_the_end_raises_index_error():
    def make():
        indptr, indices, data, x, y = _csr()()
        indptr[-1] += 2  # the last row reads past data's end
        return indptr, indices, data, x, y

    check(SPMV, make)


KNAPSACK = _fn(
    """
def knapsack(weights, values, W):
    dp = np.zeros(W + 1)
    for i in range(len(weights)):
        w = weights[i]
        v = values[i]
        for c in range(W, w - 1, -1):
            if dp[c - w] + v > dp[c]:
                dp[c] = dp[c - w] + v
    return dp, c
""",
    "knapsack",
)


def test_knapsack_bound_read_from_an_array_runs_in_order():
    recs = check(KNAPSACK, lambda: (np.array([3, 4, 2, 5, 1]), np.array([4.0, 5.0, 3.0, 8.0, 1.5]), 11))
    assert parallel_loops(recs, "cpu") == [""]


def test_knapsack_weight_beyond_capacity_wraps_like_python():
    # c - w < 0: Python reads dp from the end (negative index), and so must native code.
    check(KNAPSACK, lambda: (np.array([30, 4, 2]), np.array([4.0, 5.0, 3.0]), 11))


ODD_EVEN = _fn(
    """
def odd_even(a):
    n = a.shape[0]
    for phase in range(n):
        start = phase % 2
        for i in range(start, n - 1, 2):
            if a[i] > a[i + 1]:
                t = a[i]
                a[i] = a[i + 1]
                a[i + 1] = t
    return a
""",
    "odd_even",
)

RED_BLACK = _fn(
    """
def red_black(u, f, sweeps):
    n = u.shape[0]
    for s in range(sweeps):
        for color in range(2):
            for i in range(1, n - 1):
                for j in range(1 + (i + color) % 2, n - 1, 2):
                    u[i, j] = 0.25 * (u[i - 1, j] + u[i + 1, j] + u[i, j - 1] + u[i, j + 1] - f[i, j])
    return u
""",
    "red_black",
)

SQUARES = _fn(
    """
def squares(a):
    n = a.shape[0]
    for i in range(n):
        for j in range(i * i, n):
            a[j] += i
""",
    "squares",
)


def test_sorts_and_sweeps_with_opaque_starts():
    check(ODD_EVEN, lambda: (rng().random(17),))
    check(RED_BLACK, lambda: (rng().random((9, 9)), rng().random((9, 9)), 3))
    check(SQUARES, lambda: (np.zeros(30),))


# Each i writes elements chosen by lo/hi: i must run in order (later rows
# overwrite earlier ones where the ranges overlap).
SCATTER_RANGES = _fn(
    """
def scatter_ranges(lo, hi, out):
    for i in range(lo.shape[0]):
        for j in range(lo[i], hi[i]):
            out[j] = i
    return out
""",
    "scatter_ranges",
)


def test_overlapping_ranges_make_the_outer_loop_sequential():
    recs = check(SCATTER_RANGES, lambda: (np.array([0, 2, 1, 5, 3]), np.array([4, 6, 3, 8, 9]), np.full(10, -1)))
    assert parallel_loops(recs, "cpu") == [""]


def test_a_range_past_the_end_raises_with_python_partial_writes():
    check(SCATTER_RANGES, lambda: (np.array([0, 2, 8]), np.array([4, 6, 12]), np.full(10, -1)))
    check(SCATTER_RANGES, lambda: (np.array([0, -3]), np.array([2, 0]), np.full(10, -1)))


# The nest writes the array its bounds read: the write at i must be seen by
# the bound at i + 1.
COUNTS_CHAIN = _fn(
    """
def counts_chain(cnt, out):
    for i in range(cnt.shape[0] - 1):
        for k in range(cnt[i]):
            out[i] += 1.0
            cnt[i + 1] += 1
    return cnt, out
""",
    "counts_chain",
)


def test_bounds_read_an_array_the_nest_writes():
    recs = check(COUNTS_CHAIN, lambda: (np.array([1, 0, 2, 0, 0, 1]), np.zeros(6)))
    assert parallel_loops(recs, "cpu") == [""]


# An opaque loop inside an opaque loop, and an inner loop whose bounds use
# an opaque variable.
NESTED_OPAQUE = _fn(
    """
def nested_opaque(lo, hi, A):
    n = A.shape[1]
    for i in range(lo.shape[0]):
        for j in range(lo[i], hi[i]):
            for k in range(j, n):
                A[i, k] += j
    return A
""",
    "nested_opaque",
)


def test_nested_opaque_loops():
    recs = check(NESTED_OPAQUE, lambda: (np.array([0, 2, 1]), np.array([3, 5, 4]), np.zeros((3, 6))))
    # Row i is written by iteration i only: i stays parallel.
    assert parallel_loops(recs, "cpu") == ["i"]
    # The last row runs no j: j and k keep the values of an earlier row,
    # which the GPU's threads do not keep (it falls back to Python).
    check(
        NESTED_OPAQUE,
        lambda: (np.array([0, 2, 1]), np.array([3, 5, 1]), np.zeros((3, 6))),
        native=("cpu", "cpu-serial"),
    )


# A scalar the nest assigns sets the start of an inner loop.
ASSIGNED_START = _fn(
    """
def assigned_start(a, out):
    for i in range(out.shape[0]):
        m = i % 3
        acc = 0.0
        for j in range(m, a.shape[0], 3):
            acc += a[j]
        out[i] = acc
    return m, j
""",
    "assigned_start",
)


def test_a_bound_the_nest_assigns():
    recs = check(ASSIGNED_START, lambda: (rng().random(20), np.zeros(7)))
    assert parallel_loops(recs, "cpu") == ["i"]


def test_explain_says_why_an_opaque_loop_runs_in_order():
    text = str(loopscope.explain(KNAPSACK, np.array([3, 4, 2]), np.array([4.0, 5.0, 3.0]), 11))
    assert "known only while" in text
    assert "$" not in text


# --- a step known only when the loop starts ---------------------------------------

SIEVE = _fn(
    """
def sieve(n):
    is_prime = np.ones(n + 1, dtype=np.bool_)
    is_prime[0] = False
    is_prime[1] = False
    for i in range(2, n + 1):
        if is_prime[i]:
            for j in range(i * i, n + 1, i):
                is_prime[j] = False
    return is_prime, j
""",
    "sieve",
)

STEP_SIGN_CHANGES = _fn(
    """
def step_sign_changes(a, out):
    n = a.shape[0]
    for i in range(1, 7):
        s = 0.0
        for j in range(n // 2, (n - 1) * (i % 2), (1 - 2 * (i % 2)) * i):
            s = s * 0.5 + a[j]
        out[i] = s
    return out, j
""",
    "step_sign_changes",
)

STEP_FROM_AN_ARRAY = _fn(
    """
def step_from_an_array(steps, out):
    for i in range(steps.shape[0]):
        for j in range(0, out.shape[1], steps[i]):
            out[i, j] += 1.0
    return out
""",
    "step_from_an_array",
)


def test_a_sieve_with_a_step_that_changes():
    recs = check(SIEVE, lambda: (50,), native=("cpu", "cpu-serial"))
    assert "the generated CUDA does not support" in recs["gpu-emulated"][0]["reason"]
    check(SIEVE, lambda: (1,), native=("cpu", "cpu-serial"))


def test_steps_of_either_sign_and_a_zero_step():
    check(STEP_SIGN_CHANGES, lambda: (rng().random(11), np.zeros(8)), native=("cpu", "cpu-serial"))
    check(STEP_FROM_AN_ARRAY, lambda: (np.array([1, 3, 2, 7]), np.zeros((4, 9))), native=("cpu", "cpu-serial"))
    check(STEP_FROM_AN_ARRAY, lambda: (np.array([-1, 3, 5]), np.zeros((3, 9))), native=("cpu", "cpu-serial"))
    # A zero step: ValueError at i = 2, after the rows before it were written.
    check(STEP_FROM_AN_ARRAY, lambda: (np.array([1, 3, 0, 2]), np.zeros((4, 9))), native=("cpu", "cpu-serial"))
