"""Random draws of normal numbers and NumPy Generators, the built-ins pow()
and round(), bitwise operators and np.clip on single numbers, against CPython
on every device.

- Draws (``_draws``): ``random.gauss`` and ``random.normalvariate`` (the
  generator's state afterwards, ``gauss_next`` included, is Python's),
  ``np.random.normal`` and ``np.random.standard_normal`` (the legacy stream
  and its cached second normal), the methods of a ``Generator`` held in a name
  (``rng.random()``, ``uniform``, ``normal``, ``standard_normal``,
  ``integers``; its ``bit_generator.state`` afterwards is Python's), and draws
  in the test of an ``if`` at the level of the loop's body (drawn in every
  iteration). Draws that may or may not run, and arguments NumPy rejects, run
  as Python with the generators where Python leaves them.
- ``pow(x, y)`` is ``x ** y``; ``round(x)`` is an int, half to even, and
  raises as Python does for NaN and infinities; ``round(x, n)`` stays Python.
- ``<< >> & | ^ ~`` on Python ints and bools (unbounded ``<<``: a result
  beyond int64 runs as Python; a negative count raises ValueError) and on
  NumPy integers (NumPy's types, and its results for counts outside the
  width).
"""

import math
import random

import numpy as np
import pytest

from differential import check, use_temporary_cache  # noqa: F401
from loopscope import _rewrite
from nestgen import make_function


def define(source, **namespace):
    return make_function(source, "f", namespace={"random": random, "math": math, **namespace})


def both_states():
    s = np.random.get_state()
    return random.getstate(), (s[0], s[1].tobytes(), s[2], s[3], s[4])


def seeded(*args, prime_gauss=False):
    """make_args: seeds both global generators, then fresh copies of args."""

    def make():
        random.seed(1234)
        np.random.seed(1234)
        if prime_gauss:  # leave a second normal cached in both generators
            random.gauss(0.0, 1.0)
            np.random.standard_normal()
        return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)

    return make


def with_generator(*args, seed=7):
    """make_args with a fresh Generator first; ``state`` reads the last one's."""
    made = []

    def make():
        rng = np.random.default_rng(seed)
        made[:] = [rng]
        random.seed(99)
        np.random.seed(99)
        return (rng,) + tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)

    def state():
        return made[0].bit_generator.state, both_states()

    return make, state


def declined_with(fn, reason):
    _, nests = _rewrite.compile_function(fn, lambda nest_id, env: None)
    assert any(r.declined and reason in r.decline.reason for r in nests), [r.decline for r in nests]


# --- normal draws from Python's and NumPy's global generators ---------------------------

NATIVE_DRAWS = {
    "gauss_brownian": (
        """
        def f(steps, x):
            for s in range(steps):
                for i in range(x.shape[0]):
                    x[i] += random.gauss(0.0, 0.1)
            return x[0]
        """,
        (7, np.zeros(5)),
    ),
    "gauss_odd_count_keeps_gauss_next": (
        """
        def f(n, out):
            for i in range(n):
                out[i] = random.gauss(1, 2)
            return out[n - 1]
        """,
        (7, np.zeros(7)),
    ),
    "gauss_defaults_and_numpy_sigma": (
        """
        def f(n, out, s):
            t = 0.0
            for i in range(n):
                out[i] = random.gauss()
                t = random.gauss(0.5, s)
            return t
        """,
        (9, np.zeros(9), np.float64(3.0)),
    ),
    "normalvariate_and_random": (
        """
        def f(n, out):
            for i in range(n):
                out[i] = random.normalvariate(2.0, 0.5) + random.random()
            return out[0]
        """,
        (50, np.zeros(50)),
    ),
    "np_normal_walk": (
        """
        def f(n, path):
            for i in range(1, n):
                path[i] = path[i - 1] + np.random.normal(0.0, 1.0)
            return path[n - 1]
        """,
        (40, np.zeros(40)),
    ),
    "np_standard_normal_odd_count": (
        """
        def f(n, out):
            for i in range(n):
                out[i] = np.random.standard_normal()
        """,
        (11, np.zeros(11)),
    ),
    "np_normal_named_scale_and_uniform_mixed": (
        """
        def f(n, out, scale):
            for i in range(n):
                out[i] = np.random.normal(i, scale) * np.random.random() + np.random.uniform()
        """,
        (13, np.zeros(13), 2),
    ),
}


@pytest.mark.parametrize("prime", [False, True])
@pytest.mark.parametrize("name", sorted(NATIVE_DRAWS))
def test_normal_draws_are_pythons_with_pythons_generator_state(name, prime):
    source, args = NATIVE_DRAWS[name]
    fn = define(source)
    check(fn, seeded(*args, prime_gauss=prime), state=both_states)


def test_a_draw_in_an_if_test_at_the_body_level_is_drawn_every_iteration():
    fn = define(
        """
        def f(steps):
            pos = 0
            maxpos = 0
            for i in range(steps):
                if random.random() < 0.5:
                    pos += 1
                else:
                    pos -= 1
                if pos > maxpos:
                    maxpos = pos
            return pos, maxpos
        """
    )
    check(fn, seeded(300), state=both_states)
    fn = define(
        """
        def f(n, out):
            for i in range(n):
                for j in range(3):
                    if np.random.standard_normal() > random.gauss(0, 1):
                        out[i, j] = 1
        """
    )
    check(fn, seeded(6, np.zeros((6, 3))), state=both_states)


# --- NumPy Generators ----------------------------------------------------------------

GENERATOR_DRAWS = {
    "random_and_uniform": (
        """
        def f(rng, n, out):
            for i in range(n):
                out[i] = rng.random() + rng.uniform(-2.0, 3)
            return out[0]
        """,
        (25, np.zeros(25)),
    ),
    "normal_and_standard_normal": (
        """
        def f(rng, n, out, s):
            x = 0.0
            for i in range(n):
                x = x + rng.normal(x, s)
                out[i] = x * rng.standard_normal()
            return x
        """,
        (30, np.zeros(30), 0.5),
    ),
    "integers": (
        """
        def f(rng, n, out):
            k = 0
            for i in range(n):
                k = rng.integers(0, 10)
                out[i] = k + rng.integers(5)
            return k
        """,
        (40, np.zeros(40, dtype=np.int64)),
    ),
    "one_site_in_a_2d_nest": (
        """
        def f(rng, m, out):
            for i in range(m):
                for j in range(out.shape[1]):
                    out[i, j] = rng.standard_normal()
        """,
        (4, np.zeros((4, 5))),
    ),
}


@pytest.mark.parametrize("name", sorted(GENERATOR_DRAWS))
def test_generator_draws_are_pythons_with_its_state(name):
    source, args = GENERATOR_DRAWS[name]
    fn = define(source)
    make, state = with_generator(*args)
    check(fn, make, state=state)


def test_a_generator_that_is_not_one_runs_python():
    fn = define(GENERATOR_DRAWS["random_and_uniform"][0])
    made = []

    def make():
        made[:] = [np.random.RandomState(3)]  # has random() and uniform(), draws another stream
        return (made[0], 5, np.zeros(5))

    check(fn, make, native=False, state=lambda: repr(made[0].get_state()))


# --- what stays Python -----------------------------------------------------------------

DECLINED = {
    "a_draw_in_an_if_branch": (
        """
        def f(n, out):
            for i in range(n):
                if i % 2 == 0:
                    out[i] = random.gauss(0, 1)
        """,
        "under a condition",
    ),
    "a_draw_in_an_and_operand": (
        """
        def f(n, out):
            for i in range(n):
                if i > 2 and random.random() < 0.5:
                    out[i] = 1.0
        """,
        "conditional expression",
    ),
    "a_draw_in_a_conditional_expression": (
        """
        def f(n, out):
            for i in range(n):
                out[i] = np.random.normal(0, 1) if i > 2 else 0.0
        """,
        "conditional expression",
    ),
    "a_draw_in_a_chained_comparison": (
        """
        def f(n, out):
            for i in range(n):
                if 0.2 < out[i] < random.random():
                    out[i] = 1.0
        """,
        "chain",
    ),
    "a_draw_in_a_while": (
        """
        def f(n, out):
            for i in range(n):
                k = 0
                while k < 2:
                    out[i] += random.gauss(0, 1)
                    k += 1
        """,
        "under a condition",
    ),
    "a_draw_after_a_break": (
        """
        def f(n, out):
            for i in range(n):
                if out[i] > 5:
                    break
                out[i] = np.random.standard_normal()
        """,
        "break",
    ),
    "a_scale_the_loop_assigns": (
        """
        def f(n, out):
            s = 1.0
            for i in range(n):
                out[i] = np.random.normal(0.0, s)
                s = s + 1.0
        """,
        "must be a number or a name",
    ),
    "the_generator_reassigned_in_the_loop": (
        """
        def f(n, out):
            for i in range(n):
                rng = np.random.default_rng(i)
                out[i] = rng.random()
        """,
        "is assigned in the loop",
    ),
}


@pytest.mark.parametrize("name", sorted(DECLINED))
def test_draws_that_may_not_run_stay_python_with_a_reason(name):
    source, reason = DECLINED[name]
    fn = define(source)
    declined_with(fn, reason)
    check(fn, seeded(6, np.zeros(6)), native=False, state=both_states)


RAISES = {
    "np_normal_negative_scale": (
        "def f(n, out, s):\n    for i in range(n):\n        out[i] = np.random.normal(0.0, s)\n",
        (4, np.zeros(4), -1.0),
        "ValueError",
    ),
    "np_normal_negative_zero_scale": (
        "def f(n, out, s):\n    for i in range(n):\n        out[i] = np.random.normal(0.0, s)\n",
        (4, np.zeros(4), -0.0),
        "ValueError",
    ),
    "np_uniform_infinite_range": (
        "def f(n, out, s):\n    for i in range(n):\n        out[i] = np.random.uniform(0.0, s)\n",
        (4, np.zeros(4), math.inf),
        "OverflowError",
    ),
}


@pytest.mark.parametrize("name", sorted(RAISES))
def test_arguments_numpy_rejects_raise_pythons_error(name):
    source, args, error = RAISES[name]
    fn = define(source)
    records = check(fn, seeded(*args), native=False, state=both_states)
    assert all(r["status"] != "ok" for recs in records.values() for r in recs)


@pytest.mark.parametrize(
    "body, args, error",
    [
        ("out[i] = rng.uniform(3.0, lo)", (1.0,), "ValueError"),  # high - low < 0
        ("out[i] = rng.normal(0.0, lo)", (-2.0,), "ValueError"),
        ("out[i] = rng.integers(lo, 2)", (5,), "ValueError"),  # low >= high
    ],
)
def test_generator_arguments_it_rejects_raise_pythons_error(body, args, error):
    fn = define(f"def f(rng, n, out, lo):\n    for i in range(n):\n        {body}\n")
    make, state = with_generator(4, np.zeros(4), *args)
    check(fn, make, native=False, state=state)


def test_a_trap_after_normal_draws_leaves_pythons_generators():
    fn = define(
        """
        def f(n, out):
            for i in range(n):
                out[i] = random.gauss(0, 1) / (i - 3) + np.random.normal(0, 1)
        """
    )
    check(fn, seeded(6, np.zeros(6)), state=both_states)


# --- pow() and round() --------------------------------------------------------------------


@pytest.mark.parametrize(
    "x, k, native",
    [
        (np.linspace(-2.0, 3.0, 11), 3, True),
        (np.linspace(0.5, 3.0, 11), -2, True),
        (np.linspace(0.5, 3.0, 11), 0.5, True),
        # an integer power needs a constant exponent in native code, as with **
        (np.arange(-5, 6, dtype=np.int64), 3, False),
    ],
)
def test_pow_is_the_power_operator(x, k, native):
    fn = define(
        """
        def f(x, k, out):
            for i in range(len(x)):
                out[i] = pow(x[i], k)
            return pow(2, 10), pow(2.0, -1), pow(x[0], 2)
        """
    )
    check(fn, lambda: (x.copy(), k, np.zeros(len(x))), native=native)
    fn = define(
        """
        def f(x, out):
            for i in range(len(x)):
                out[i] = pow(x[i], 3) + pow(i, 2)
        """
    )
    check(fn, lambda: (x.copy(), np.zeros(len(x))))


def test_pow_of_python_ints_beyond_int64_and_zero_division_are_pythons():
    fn = define(
        """
        def f(n, b):
            s = 0
            for i in range(n):
                s += pow(b + i, 30)
            return s
        """
    )
    check(fn, lambda: (2, 2))
    records = check(fn, lambda: (3, 5), native=False)  # 5 ** 30 leaves int64: Python runs the loop
    assert [r["status"] for r in records["cpu"]] == ["fallback"], records["cpu"]
    fn = define("def f(n, b):\n    s = 0.0\n    for i in range(n):\n        s += pow(b, i)\n    return s\n")
    check(fn, lambda: (5, 0.0))  # 0.0 ** 0 is 1.0
    fn = define("def f(n, out):\n    for i in range(n):\n        out[i] = pow(0.0, -i)\n")
    check(fn, lambda: (3, np.zeros(3)))  # ZeroDivisionError at i == 1


def test_a_shadowed_pow_runs_python():
    fn = define("def f(n, out):\n    for i in range(n):\n        out[i] = pow(i, 2)\n", pow=lambda a, b: a - b)
    check(fn, lambda: (4, np.zeros(4)), native=False)


def test_three_argument_pow_stays_python_with_a_reason():
    fn = define("def f(n, out):\n    for i in range(n):\n        out[i] = pow(i, 2, 5)\n")
    declined_with(fn, "pow(x, y)")
    check(fn, lambda: (4, np.zeros(4)), native=False)


ROUND_VALUES = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999999999999996, 1e15 + 0.5, -0.0, 3.7, -3.7, 1e18])


def test_round_is_half_to_even_and_an_int():
    fn = define(
        """
        def f(x, out):
            r = 0
            for i in range(len(x)):
                r = round(x[i])
                out[i] = r
            return r, round(2.5), round(7), round(True), round(x[0] * 3)
        """
    )
    check(fn, lambda: (ROUND_VALUES.copy(), np.zeros(len(ROUND_VALUES), dtype=np.int64)))
    check(fn, lambda: (ROUND_VALUES.astype(np.float32), np.zeros(len(ROUND_VALUES), dtype=np.int64)))
    fn = define(
        "def f(x, out):\n    for i in range(len(x)):\n        out[i] = round(x[i]) + round(i)\n    return round(x[0])\n"
    )
    check(fn, lambda: (np.arange(-4, 5, dtype=np.int64), np.zeros(9, dtype=np.int64)))
    check(fn, lambda: (np.arange(0, 9, dtype=np.uint8), np.zeros(9, dtype=np.int64)))


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 1e19])
def test_round_of_nan_infinity_and_huge_floats_is_pythons(bad):
    fn = define("def f(x, out):\n    for i in range(len(x)):\n        out[i] = round(x[i])\n    return round(x[-1])\n")
    check(fn, lambda: (np.array([1.5, 2.5, bad, 4.0]), np.zeros(4, dtype=np.int64)))


def test_round_with_digits_runs_natively():
    # np.round's arithmetic for an np.float64 (test_round_ndigits.py has the rest)
    fn = define("def f(x, out):\n    for i in range(len(x)):\n        out[i] = round(x[i], 2)\n")
    records = check(fn, lambda: (np.linspace(0, 1, 7), np.zeros(7)))
    assert all(r["status"] == "ok" for r in records["cpu"]), records["cpu"]


# --- bitwise operators ------------------------------------------------------------------------

INTS = np.array([0, 1, -1, 5, -6, 255, 1 << 40, -(1 << 40), 2**63 - 1, -(2**63)], dtype=np.int64)
COUNTS = np.array([0, 1, 3, 7, 31, 32, 62, 63, 64, 70, 200], dtype=np.int64)


@pytest.mark.parametrize("op", ["&", "|", "^", ">>", "<<"])
def test_operators_on_numpy_int64_follow_numpy(op):
    fn = define(
        f"""
        def f(a, c, out):
            for i in range(a.shape[0]):
                for j in range(c.shape[0]):
                    out[i, j] = a[i] {op} c[j]
            return a[1] {op} c[1]
        """
    )
    check(fn, lambda: (INTS.copy(), COUNTS.copy(), np.zeros((len(INTS), len(COUNTS)), dtype=np.int64)))
    neg = np.array([-1, -64, -3], dtype=np.int64)  # NumPy: 0, or -1 for >> of a negative value
    check(fn, lambda: (INTS.copy(), neg, np.zeros((len(INTS), 3), dtype=np.int64)))


@pytest.mark.parametrize("op", ["&", "|", "^", ">>", "<<"])
def test_operators_on_python_ints(op):
    fn = define(
        f"""
        def f(n, m, out):
            s = 0
            for i in range(n):
                for j in range(m):
                    v = (i - 3) * 1000003 {op} j
                    out[i, j] = v
                    s += v
            return s
        """
    )
    check(fn, lambda: (8, 20, np.zeros((8, 20), dtype=np.int64)))


@pytest.mark.parametrize(
    "expr, args",
    [
        ("b << i", (1, 70)),  # 1 << 63 is a Python int beyond int64
        ("b << i", (-1, 70)),  # -1 << 63 fits, -1 << 64 does not
        ("b << (i * 20)", (0, 8)),  # 0 << anything is 0
        ("b >> (i * 20)", (-12345, 8)),  # arithmetic: floor
        ("b >> (3 - i)", (100, 6)),  # ValueError: negative shift count
        ("b << (3 - i)", (100, 6)),
        ("(b & i) + (b | i) - (b ^ i) + ~i", (-7, 9)),
    ],
)
def test_python_int_shifts_overflow_and_negative_counts_are_pythons(expr, args):
    fn = define(
        f"""
        def f(b, n):
            t = 0
            for i in range(n):
                t = {expr}
            return t
        """
    )
    big = expr == "b << i"  # a Python int beyond int64: the run stops and Python runs the loop
    records = check(fn, lambda: args, native=not big)
    if big:
        assert [r["status"] for r in records["cpu"]] == ["fallback"], records["cpu"]


def test_booleans_keep_pythons_and_numpys_types():
    fn = define(
        """
        def f(m, out):
            a = True
            c = 0
            for i in range(len(m)):
                a = (m[i] > 0) & (i > 1)
                b = m[i] & (i > 2)
                out[i] = (m[i] ^ m[0]) | b
                c = ~(i > 3)
            return a, c, True & False, True << True, ~True, m[0] | m[1], ~m[1]
        """
    )
    check(fn, lambda: (np.array([True, False, True, True, False]), np.zeros(5, dtype=np.bool_)))


def test_uint16_to_8bit_and_small_integers_follow_numpy():
    fn = define(
        """
        def f(img, out, mask):
            for i in range(img.shape[0]):
                for j in range(img.shape[1]):
                    out[i, j] = img[i, j] >> 1
                    mask[i, j] = (mask[i, j] & 0x0F) ^ ~mask[i, j]
        """
    )
    rng = np.random.default_rng(3)
    img = rng.integers(0, 512, (6, 7), dtype=np.uint16)
    mask = rng.integers(0, 256, (6, 7), dtype=np.uint8)
    check(fn, lambda: (img.copy(), np.zeros((6, 7), dtype=np.uint8), mask.copy()))
    fn = define(
        """
        def f(a, b, out):
            t = a[0] & b[0]
            for i in range(len(a)):
                t = a[i] & b[i]
                out[i] = int(a[i] | b[i]) + int(a[i] >> b[i]) + int(~a[i]) + int(a[i] ^ b[i])
            return t
        """
    )
    check(
        fn,
        lambda: (
            np.array([1, 200, 255, 0, 17], dtype=np.uint8),
            np.array([3, 9, 1, 8, 255], dtype=np.uint8),
            np.zeros(5, dtype=np.int64),
        ),
        native=("cpu", "cpu-serial"),  # the GPU variant declines a variable holding a small integer (t)
    )


def test_int32_shifts_use_numpys_width():
    fn = define(
        """
        def f(a, c, left, right):
            for i in range(len(a)):
                left[i] = a[i] << c[i]
                right[i] = a[i] >> c[i]
        """
    )
    a = np.array([1, -1, 7, 2**31 - 1, -(2**31), 3], dtype=np.int32)
    c = np.array([1, 31, 32, 33, 40, -1], dtype=np.int32)
    check(fn, lambda: (a.copy(), c.copy(), np.zeros(6, dtype=np.int32), np.zeros(6, dtype=np.int32)))


@pytest.mark.parametrize("expr", ["x[i] & 1", "x[i] >> 1", "~x[i]", "1.5 | i"])
def test_bitwise_operators_on_floats_raise_pythons_typeerror(expr):
    fn = define(f"def f(x):\n    t = 0\n    for i in range(len(x)):\n        t = {expr}\n    return t\n")
    check(fn, lambda: (np.linspace(0, 1, 4),), native=False)


def test_augmented_bitwise_assignments():
    fn = define(
        """
        def f(n, out):
            h = 0x12345
            for i in range(n):
                h ^= i << 3
                h &= 0xFFFFFF
                h |= i
                h >>= 1
                out[i] = h
            return h
        """
    )
    check(fn, lambda: (50, np.zeros(50, dtype=np.int64)))


# --- np.clip on single numbers -------------------------------------------------------------

CLIP_VALUES = np.array([-0.5, -0.0, 0.0, 0.25, 1.0, 1.5, math.nan, math.inf, -math.inf])


@pytest.mark.parametrize(
    "lo, hi",
    [(0.0, 1.0), (-0.0, 0.0), (0.0, -0.0), (1.0, 0.0), (0, 1), (np.float64(0.2), 0.8), (-math.inf, math.inf)],
)
def test_clip_is_numpys_on_numbers(lo, hi):
    fn = define(
        """
        def f(img, lo, hi):
            v = 0.0
            for i in range(img.shape[0]):
                for j in range(img.shape[1]):
                    v = np.clip(img[i, j] * 1.3 - 0.1, lo, hi)
                    img[i, j] = v
            return v, np.clip(0.5, lo, hi)
        """
    )
    check(fn, lambda: (np.tile(CLIP_VALUES, (3, 1)), lo, hi))
    check(fn, lambda: (np.tile(CLIP_VALUES, (3, 1)).astype(np.float32), lo, hi))


def test_clip_of_integers_is_an_int64():
    fn = define(
        """
        def f(a, out, lo):
            t = 0
            for i in range(len(a)):
                t = np.clip(a[i], lo, 10)
                out[i] = np.clip(i, lo, 3) + t
            return t
        """
    )
    check(fn, lambda: (np.arange(-5, 15, dtype=np.int64), np.zeros(20, dtype=np.int64), -2))
    check(fn, lambda: (np.arange(-5, 15, dtype=np.int32), np.zeros(20, dtype=np.int64), -2))


@pytest.mark.parametrize("lo, hi", [(math.nan, 1.0), (0.0, math.nan)])
def test_clip_with_a_nan_bound_is_pythons(lo, hi):
    # NumPy 1.24 warns (DeprecationWarning) and ignores a NaN bound: Python runs the loop
    fn = define("def f(x, lo, hi):\n    for i in range(len(x)):\n        x[i] = np.clip(x[i], lo, hi)\n")
    records = check(fn, lambda: (CLIP_VALUES.copy(), lo, hi), native=False)
    assert [r["status"] for r in records["cpu"]] == ["fallback"], records["cpu"]


def test_clip_of_booleans_stays_python():
    fn = define("def f(m, out):\n    for i in range(len(m)):\n        out[i] = np.clip(m[i], False, True)\n")
    check(fn, lambda: (np.array([True, False]), np.zeros(2, dtype=np.bool_)), native=False)


def test_explain_and_estimate_leave_every_generator_where_it_was():
    import loopscope

    fn = define(
        """
        def f(rng, n, out):
            for i in range(n):
                out[i] = rng.normal(0.0, 1.0) + random.gauss(0, 1) + np.random.standard_normal()
        """
    )
    make, state = with_generator(50, np.zeros(50))
    args = make()
    before = state()
    loopscope.explain(fn, *args)
    assert state() == before
    loopscope.estimate(fn, *args)
    assert state() == before


@pytest.mark.parametrize("other", [np.uint8, np.int8, np.uint16])
def test_bitwise_operators_between_small_integers_run_on_every_device(other):
    fn = define(
        """
        def f(a, b, o1, o2, o3):
            for i in range(len(a)):
                o1[i] = a[i] & b[i]
                o2[i] = a[i] >> b[i]
                o3[i] = (a[i] ^ b[i]) | ~b[i]
        """
    )
    a = np.array([1, 200, 255, 0, 17, 128], dtype=np.uint8)
    b = np.array([3, 9, 1, 8, 127, 7]).astype(other)
    check(fn, lambda: (a.copy(), b.copy(), np.zeros(6, dtype=np.int64), np.zeros(6, dtype=np.int64), np.zeros(6)))


@pytest.mark.parametrize("draw", ["random.random()", "random.uniform(-1.0, 2.0)", "random.gauss(0.5, 2.0)"])
@pytest.mark.parametrize("prime", [False, True])
def test_many_draws_at_once_are_pythons_with_its_state(draw, prime):
    # Python's uniforms are drawn at once with NumPy's MT19937 from Python's
    # state: past several regenerations of the 624-word state, and from a
    # state whose position is not at a boundary.
    fn = define(f"def f(n, out):\n    for i in range(n):\n        out[i] = {draw}\n    return out[n - 1]\n")

    def make():
        random.seed(2024)
        if prime:
            random.random()
            random.gauss(0.0, 1.0)
        return (2001, np.zeros(2001))

    check(fn, make, state=both_states)


@pytest.mark.parametrize(
    "body",
    [
        "out[i >> 1] += x[i]",
        "out[i] = x[i ^ 1] + x[(i & 6) | 1]",
        "out[~i] = x[i]",
        "out[i] = x[i << 1]",  # out of range for the second half: IndexError, as in Python
    ],
)
def test_bitwise_operators_in_subscripts(body):
    fn = define(f"def f(x, out):\n    for i in range(len(out)):\n        {body}\n")
    check(fn, lambda: (np.arange(16.0), np.zeros(16)))
