"""Writes through an index array (`out[perm[i]] = x[i]`) run in parallel
when the index array's values are distinct, which the dynamic phase checks
when the nest runs (an inspector: integer, one-dimensional, not written by
the nest and sharing no memory with what it writes, every value >= 0 and
none twice). Otherwise the loop runs in order. Every case runs in CPython
and through loopscope.run on each device, with the same values, arrays,
exceptions and partial writes; the verdicts are checked too, including a
second call with repeated values after a first with distinct ones (the
plan must not be reused).
"""

import numpy as np
import pytest

from differential import check, parallel_loops, each_cpu_tier, use_temporary_cache  # noqa: F401
from nestgen import make_function


pytestmark = pytest.mark.usefixtures("each_cpu_tier")  # quick and optimised CPU code


def _fn(source, name):
    return make_function(source, name, namespace={"np": np})


def _perm(n, seed=0):
    return np.random.default_rng(seed).permutation(n)


def _x(n):
    return np.random.default_rng(9).random(n)


SCATTER = _fn(
    """
def scatter(out, perm, x):
    for i in range(x.shape[0]):
        out[perm[i]] = x[i] * 2.0
    return out
""",
    "scatter",
)

ACCUMULATE = _fn(
    """
def accumulate(out, perm, x):
    for i in range(x.shape[0]):
        out[perm[i]] += x[i]
    return out
""",
    "accumulate",
)

ROWS = _fn(
    """
def rows(A, perm, B):
    for i in range(B.shape[0]):
        for j in range(B.shape[1]):
            A[perm[i], j] = B[i, j] + j
    return A
""",
    "rows",
)


def test_a_permutation_scatters_in_parallel():
    recs = check(SCATTER, lambda: (np.zeros(40), _perm(40), _x(40)))
    assert parallel_loops(recs, "cpu") == ["i"]
    recs = check(ACCUMULATE, lambda: (np.ones(40), _perm(40, 1), _x(40)))
    assert parallel_loops(recs, "cpu") == ["i"]
    recs = check(ROWS, lambda: (np.zeros((9, 5)), _perm(9), np.random.default_rng(2).random((9, 5))))
    assert parallel_loops(recs, "cpu") == ["i"]


def test_repeated_values_run_in_order_even_after_distinct_ones():
    check(SCATTER, lambda: (np.zeros(40), _perm(40), _x(40)))
    dup = _perm(40)
    dup[7] = dup[30]  # two iterations write one element: the last one wins
    recs = check(SCATTER, lambda: (np.zeros(40), dup.copy(), _x(40)))
    assert parallel_loops(recs, "cpu") == [""]
    check(ACCUMULATE, lambda: (np.ones(40), dup.copy(), _x(40)))


def test_values_that_wrap_or_leave_the_array():
    neg = _perm(12)
    neg[3] = -1  # out[-1] is out[11], which another i may also write
    recs = check(SCATTER, lambda: (np.zeros(12), neg.copy(), _x(12)))
    assert parallel_loops(recs, "cpu") == [""]
    big = _perm(12)
    big[5] = 12  # IndexError at i = 5, after the writes before it
    check(SCATTER, lambda: (np.zeros(12), big.copy(), _x(12)))


# A read of the same array through another subscript: the distinct values
# say nothing about out[i] against out[perm[i']].
MIXED = _fn(
    """
def mixed(out, perm):
    for i in range(perm.shape[0]):
        out[perm[i]] = out[i] + 1.0
    return out
""",
    "mixed",
)

# Element perm[i + 1] is written at i and read at i + 1.
CHAIN = _fn(
    """
def chain(out, perm):
    for i in range(perm.shape[0] - 1):
        out[perm[i + 1]] = out[perm[i]] * 0.5 + i
    return out
""",
    "chain",
)


def test_other_subscripts_of_the_written_array_keep_the_order():
    recs = check(MIXED, lambda: (_x(16), _perm(16, 3)))
    assert parallel_loops(recs, "cpu") == [""]
    recs = check(CHAIN, lambda: (_x(16), _perm(16, 4)))
    assert parallel_loops(recs, "cpu") == [""]


# The index array is written by the nest, or is the array written.
WRITES_ITS_INDEX = _fn(
    """
def writes_its_index(out, perm):
    for i in range(perm.shape[0]):
        out[perm[i]] = i
        perm[i] = 0
    return out, perm
""",
    "writes_its_index",
)


def test_an_index_array_the_nest_writes_or_shares_is_not_inspected():
    recs = check(WRITES_ITS_INDEX, lambda: (np.zeros(10), _perm(10)))
    assert parallel_loops(recs, "cpu") == [""]

    def shared():
        # perm is the first half of out: the writes change the indices read later.
        buf = np.concatenate([_perm(10), np.zeros(10, np.int64)])
        return buf, buf[:10], np.arange(10.0)

    recs = check(_fn(SCATTER_INT_SOURCE, "scatter_int"), shared)
    assert parallel_loops(recs, "cpu") == [""]


SCATTER_INT_SOURCE = """
def scatter_int(out, perm, x):
    for i in range(x.shape[0]):
        out[perm[i]] = i
    return out
"""


@pytest.mark.parametrize("dtype", [np.int32, np.uint16, np.int8])
def test_index_arrays_of_other_integer_types(dtype):
    recs = check(SCATTER, lambda: (np.zeros(30), _perm(30, 5).astype(dtype), _x(30)))
    assert parallel_loops(recs, "cpu") == ["i"]
