"""Time loops whose arrays trade places between steps (`a, b = b, a`,
`prev, cur, nxt = cur, nxt, prev`), lowered by _rotations: every function
runs in CPython and through loopscope.run on each device and must give the
same values, arrays and exceptions, and leave each name holding the same
array object as in Python (checked with `is`), for every number of steps,
zero included. Shapes that are not lowered stay in Python with the
analysis's sentence.
"""

import numpy as np
import pytest

import loopscope
from differential import check, parallel_loops, each_cpu_tier, use_temporary_cache  # noqa: F401
from nestgen import make_function


pytestmark = pytest.mark.usefixtures("each_cpu_tier")  # quick and optimised CPU code


def _fn(source, name):
    return make_function(source, name, namespace={"np": np})


def _grid(n, seed=3):
    return np.random.default_rng(seed).random(n)


HEAT = _fn(
    """
def heat(a, b, steps, alpha):
    a0, b0 = a, b
    n = a.shape[0]
    for t in range(steps):
        for i in range(1, n - 1):
            b[i] = a[i] + alpha * (a[i - 1] - 2 * a[i] + a[i + 1])
        a, b = b, a
    return a is a0, b is b0, a[n // 2], t
""",
    "heat",
)


@pytest.mark.parametrize("steps", [1, 2, 3, 4, 7])
def test_heat_swap_leaves_the_names_as_python_does(steps):
    recs = check(HEAT, lambda: (_grid(20), _grid(20, 4), steps, 0.1))
    if steps > 2:  # up to two steps, the unrolled step loop runs once and may be the parallel one
        assert parallel_loops(recs, "cpu") == ["i"]


def test_no_step_leaves_the_names_and_the_loop_variable_alone():
    zero = _fn(
        """
def zero(a, b, steps):
    t = -1
    for t in range(steps):
        for i in range(a.shape[0]):
            b[i] = a[i] + 1.0
        a, b = b, a
    return a[0], b[0], t
""",
        "zero",
    )
    check(zero, lambda: (_grid(6), _grid(6, 5), 0))
    check(zero, lambda: (_grid(6), _grid(6, 5), -3))


WAVE = _fn(
    """
def wave(prev, cur, nxt, c2, steps):
    ids = (id(prev), id(cur), id(nxt))
    n = cur.shape[0]
    for t in range(1, steps):
        for i in range(1, n - 1):
            nxt[i] = 2 * cur[i] - prev[i] + c2 * (cur[i + 1] - 2 * cur[i] + cur[i - 1])
        prev, cur, nxt = cur, nxt, prev
    return [ids.index(id(x)) for x in (prev, cur, nxt)], cur[n // 3]
""",
    "wave",
)


@pytest.mark.parametrize("steps", [0, 1, 2, 3, 4, 5, 9])
def test_three_arrays_rotate(steps):
    check(WAVE, lambda: (_grid(15), _grid(15, 6), np.zeros(15), 0.2, steps))


JACOBI = _fn(
    """
def jacobi(u, v, sweeps):
    n, m = u.shape
    for s in range(sweeps):
        for i in range(1, n - 1):
            for j in range(1, m - 1):
                v[i, j] = 0.25 * (u[i - 1, j] + u[i + 1, j] + u[i, j - 1] + u[i, j + 1])
        u, v = v, u
    return u.sum(), v.sum()
""",
    "jacobi",
)


def test_jacobi_two_dimensional():
    recs = check(JACOBI, lambda: (np.random.default_rng(1).random((9, 11)), np.zeros((9, 11)), 5))
    assert parallel_loops(recs, "cpu") == ["i"]


# The swap in the middle of the body: what follows it sees the other array.
MIDDLE = _fn(
    """
def middle(a, b, out, steps):
    for t in range(steps):
        for i in range(a.shape[0]):
            b[i] = a[i] * 0.5 + t
        a, b = b, a
        for i in range(a.shape[0]):
            out[t, i] = a[i] - b[i]
    return a[0], b[0]
""",
    "middle",
)


def test_a_swap_in_the_middle_of_the_step():
    check(MIDDLE, lambda: (_grid(5), _grid(5, 2), np.zeros((6, 5)), 6))


# The same array under both names: the swap changes nothing.
def test_one_array_under_both_names():
    def make():
        a = _grid(12)
        return a, a, 3, 0.1

    check(HEAT, make)


# Swaps that undo each other within a step, and an IndexError after a few steps.
UNDONE = _fn(
    """
def undone(a, b, steps):
    for t in range(steps):
        a, b = b, a
        for i in range(a.shape[0]):
            a[i] += b[i]
        a, b = b, a
    return a[0], b[0]
""",
    "undone",
)

OUT_OF_RANGE = _fn(
    """
def out_of_range(a, b, steps):
    for t in range(steps):
        for i in range(a.shape[0]):
            b[i] = a[i + t] + 1.0
        a, b = b, a
    return a
""",
    "out_of_range",
)


def test_swaps_that_undo_each_other_and_errors():
    check(UNDONE, lambda: (_grid(4), _grid(4, 1), 3), native=False)
    check(OUT_OF_RANGE, lambda: (_grid(8), _grid(8, 1), 4))


# Shapes that are not lowered: the name is used as a value. (A loop that can
# stop early is lowered with states: test_rotations_while.py.)
AS_VALUE = _fn(
    """
def as_value(a, b, steps):
    for t in range(steps):
        for i in range(a.shape[0]):
            b[i] = a[i] + 1.0
        c = a
        a, b = b, c
    return a[0]
""",
    "as_value",
)

EARLY_EXIT = _fn(
    """
def early_exit(a, b, steps):
    for t in range(steps):
        for i in range(a.shape[0]):
            b[i] = a[i] + 1.0
        if b[0] > 3.0:
            break
        a, b = b, a
    return a[0], b[0], t
""",
    "early_exit",
)


def test_shapes_left_to_python_keep_python_results():
    recs = check(AS_VALUE, lambda: (_grid(6), _grid(6, 1), 7), native=False)
    # The inner loops still run natively on their own.
    assert all(r["status"] in ("ok", "declined", "python") for r in recs["cpu"])


def test_a_loop_that_stops_early_runs_natively():
    for steps in (1, 2, 7):  # (no step: a loop over an empty range is not run at all)
        recs = check(EARLY_EXIT, lambda: (_grid(6), _grid(6, 1), steps))
        assert [r["line"] for r in recs["cpu"]] == [3]  # the whole nest


def test_explain_names_the_loop_once():
    rep = loopscope.explain(HEAT, _grid(10), _grid(10, 1), 3, 0.1)
    loops = [(l["var"], l["line"]) for l in rep["loops"]]
    assert loops == [("t", 4), ("i", 5)], loops
    assert "$" not in str(rep)
