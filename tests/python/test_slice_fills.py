"""Slices filled with a constant inside a nest (`is_prime[i * i::i] =
False`, `a[1:-1] = 0.0`), lowered to loops by _slices with Python's slice
rules: every function runs in CPython and through loopscope.run on each
device, with the same arrays, values and exceptions, for starts, stops and
steps of every sign, empty slices and steps known only when the statement
runs. Other slices stay in Python with the analysis's sentence.
"""

import numpy as np
import pytest

import loopscope
from differential import check, each_cpu_tier, use_temporary_cache  # noqa: F401
from nestgen import make_function

CPU = ("cpu", "cpu-serial")  # the GPU declines a step that changes


pytestmark = pytest.mark.usefixtures("each_cpu_tier")  # quick and optimised CPU code


def _fn(source, name):
    return make_function(source, name, namespace={"np": np})


SIEVE = _fn(
    """
def sieve(n):
    is_prime = np.ones(n + 1, dtype=np.bool_)
    is_prime[0] = False
    is_prime[1] = False
    for i in range(2, int(n ** 0.5) + 1):
        if is_prime[i]:
            is_prime[i * i :: i] = False
    return int(is_prime.sum()), is_prime
""",
    "sieve",
)


@pytest.mark.parametrize("n", [1, 2, 10, 97, 400])
def test_sieve_with_a_slice(n):
    check(SIEVE, lambda: (n,), native=CPU if n >= 4 else False)


FILLS = _fn(
    """
def fills(a, reps, s, t, k):
    for r in range(reps):
        a[s:t:k] = 7
        a[1:-1] = 2
        a[::-1] = 1
        a[-3:] = -4
        a[s:t:k] = 3
    return a
""",
    "fills",
)


@pytest.mark.parametrize(
    "s,t,k",
    [
        (0, 5, 1),
        (2, -1, 2),
        (-4, 100, 1),
        (8, 1, -2),
        (-1, -9, -3),
        (50, 60, 1),
        (3, 3, 1),
        (-100, 4, 3),
        (9, -100, -1),
    ],
)
@pytest.mark.parametrize("dtype", [np.float64, np.int64, np.int32, np.bool_])
def test_starts_stops_and_steps_of_every_sign(s, t, k, dtype):
    check(FILLS, lambda: (np.zeros(10, dtype), 2, s, t, k), native=CPU)


def test_a_zero_step_raises_value_error():
    recs = check(FILLS, lambda: (np.zeros(10), 2, 0, 5, 0), native=False)
    assert "zero step (Python raises ValueError)" in recs["cpu"][0]["reason"]


FLOAT_FILL = _fn(
    """
def float_fill(a):
    for r in range(2):
        a[1:-1] = 2.5
    return a
""",
    "float_fill",
)


def test_a_float_fill_of_an_integer_array_stays_in_python():
    check(FLOAT_FILL, lambda: (np.zeros(6),), native=CPU)
    recs = check(FLOAT_FILL, lambda: (np.zeros(6, np.int64),), native=False)
    assert "a float is stored into the integer array" in recs["cpu"][0]["reason"]


GRID = _fn(
    """
def grid(g, steps):
    for s in range(steps):
        g[:, ::2] = 1.0
        g[1:-1, 1:-1] = 0.5
        for i in range(g.shape[0]):
            g[i, 0] += s
    return g
""",
    "grid",
)


def test_two_dimensional_slices():
    # On the GPU, the hidden indices' last values come from other threads:
    # it may run the loop as Python (exactly).
    check(GRID, lambda: (np.zeros((5, 7)), 3), native=CPU)
    check(GRID, lambda: (np.zeros((0, 7)), 2), native=CPU)


# Left to Python: a value that is not a literal, an integer index beside a
# slice (Python raises IndexError for it even when the slice is empty).
NOT_LOWERED = _fn(
    """
def not_lowered(a, v, i):
    for r in range(3):
        a[1:4] = v
        a[i, 0:0] = 1.0
    return a
""",
    "not_lowered",
)


def test_slices_left_to_python():
    check(NOT_LOWERED, lambda: (np.zeros((3, 5)), 2.0, 1), native=False)
    check(NOT_LOWERED, lambda: (np.zeros((3, 5)), 2.0, 7), native=False)
    rep = loopscope.explain(NOT_LOWERED, np.zeros((3, 5)), 2.0, 1)
    assert "slices such as" in rep["nests"][0]["decline"]["reason"]
