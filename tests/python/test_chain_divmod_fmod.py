"""Chained assignments (`a[i] = b[i] = e`, `s = t = 0.0`), `q, r =
divmod(x, y)`, math.fmod() and math.copysign() inside loop nests: every
form runs in CPython and through loopscope.run on each device, and must give
the same values (with their types), the same arrays bit for bit, the same
exceptions with their messages and the same partial writes. The front end's
hidden temporaries never reach the user.
"""

import json
import math
from math import copysign, fmod

import numpy as np
import pytest

import _loopscope
import differential
import loopscope
from differential import use_temporary_cache  # noqa: F401
from loopscope import _cuda, _run


def check(fn, make_args, native=True):
    return differential.check(fn, make_args, native, hidden_words=("chain1", "divmod1"))


def ran_natively(records):
    return all(r["status"] == "ok" for d in ("cpu", "cpu-serial", "gpu-emulated") for r in records[d])


def decline_reason(fn, *args):
    (nest,) = loopscope.explain(fn, *args)["nests"]
    assert nest["declined"], nest
    return nest["decline"]["reason"]


# --- chained assignment ------------------------------------------------------------


def chain_two_arrays(a, b, x):
    for i in range(a.shape[0]):
        a[i] = b[i] = x[i] * 1.5
    return a, b


def chain_constant(u, u_new):
    for i in range(u.shape[0]):
        u[i] = u_new[i] = 0.0


def chain_names(x):
    s = t = 0
    for i in range(x.shape[0]):
        s = t = 0.0
        for j in range(x.shape[1]):
            s += x[i, j]
            t += x[i, j] * x[i, j]
        x[i, 0] = s - t
    return s, t


def chain_name_and_element(a, x):
    y = 0.0
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            y = a[i, j] = x[i] + j
    return y


def chain_element_value(a, b, c):
    y = 0
    for i in range(a.shape[0]):
        y = a[i] = b[i] = c[i]
    return y


def chain_element_then_name(a, x):
    y = 0.0
    for i in range(a.shape[0]):
        a[i] = y = x[i] - 0.5
    return y


def chain_index_after_name(a):
    k = 0
    for i in range(a.shape[0]):
        k = a[k] = (i * 3) % a.shape[0]
    return k


def chain_name_then_index(a):
    k = 0
    for i in range(a.shape[0]):
        a[k] = k = (i * 5) % a.shape[0]
    return k


def chain_reads_target(n):
    x = y = 1
    for i in range(n):
        x = y = x + y
    return x, y


def chain_int_into_float(a, b):
    v = 0
    for i in range(a.shape[0]):
        a[i] = b[i] = v = i * 2 - 3
    return v


def chain_same_buffer(a):
    for i in range(1, a.shape[0]):
        a[i] = a[i - 1] = a[i] + a[i - 1]


def chain_divides(a, b, x):
    # a zero divisor midway: Python stops with its partial writes
    for i in range(a.shape[0]):
        a[i] = b[i] = 10 // int(x[i])


def chain_float_divides(a, y):
    t = 0.0
    for i in range(a.shape[0]):
        t = a[i] = 1.0 / float(y[i])
    return t


def chain_sqrt(a, b, x):
    for i in range(a.shape[0]):
        a[i] = b[i] = math.sqrt(x[i])


def chain_overflowing_store(a, b):
    # 300 does not fit a uint8: NumPy warns and wraps, the int64 target keeps it
    for i in range(a.shape[0]):
        b[i] = a[i] = i * 100


def _f64(*v):
    return np.array(v, dtype=np.float64)


@pytest.mark.parametrize(
    "fn, make_args, native",
    [
        (chain_two_arrays, lambda: (np.zeros(7, np.int32), np.zeros(7), np.linspace(-3.3, 3.3, 7)), False),
        (chain_two_arrays, lambda: (np.zeros(7, np.uint8), np.zeros(7, np.float32), np.linspace(0.1, 9.9, 7)), False),
        (chain_two_arrays, lambda: (np.zeros(5), np.zeros(5), _f64(-0.0, np.nan, np.inf, -np.inf, 2.5)), True),
        (
            chain_two_arrays,
            lambda: (np.zeros(5, np.float32), np.zeros(5), _f64(1e300, -1e-300, 1 / 3, -0.0, 7.0)),
            False,
        ),
        (chain_constant, lambda: (np.ones(9), np.ones(9, np.int32)), False),
        (chain_names, lambda: (np.arange(12.0).reshape(3, 4),), True),
        (chain_name_and_element, lambda: (np.zeros((4, 3), np.int32), np.linspace(-2, 2, 4)), False),
        (chain_name_and_element, lambda: (np.zeros((4, 3)), np.linspace(-2, 2, 4)), True),
        (chain_element_value, lambda: (np.zeros(6, np.int32), np.zeros(6), np.linspace(-2.5, 2.5, 6)), False),
        (chain_element_value, lambda: (np.zeros(6), np.zeros(6, np.uint8), np.arange(6, dtype=np.int64)), True),
        (chain_element_then_name, lambda: (np.zeros(6, np.int64), np.linspace(-2.5, 2.5, 6)), False),
        (chain_index_after_name, lambda: (np.zeros(8, np.int64),), True),
        (chain_name_then_index, lambda: (np.zeros(8, np.int64),), True),
        (chain_reads_target, lambda: (20,), True),
        (chain_int_into_float, lambda: (np.zeros(5), np.zeros(5, np.int32)), True),
        (chain_same_buffer, lambda: (np.arange(8.0),), True),
        (chain_divides, lambda: (np.zeros(6, np.int64), np.zeros(6), np.array([3, -4, 5, 0, 2, 1])), True),
        (chain_divides, lambda: (np.zeros(6, np.int64), np.zeros(6), np.array([3, -4, 5, 7, 2, 1])), True),
        (chain_float_divides, lambda: (np.zeros(4), _f64(2.0, -0.0, 4.0, 1.0)), True),
        (chain_float_divides, lambda: (np.zeros(4), _f64(2.0, -3.0, 4.0, 1.0)), True),
        (chain_sqrt, lambda: (np.zeros(5), np.zeros(5, np.float32), _f64(4.0, 2.0, 0.0, -1.0, 9.0)), True),
        (chain_sqrt, lambda: (np.zeros(5), np.zeros(5, np.float32), _f64(4.0, 2.0, 0.0, 1.0, 9.0)), True),
        (chain_overflowing_store, lambda: (np.zeros(5, np.int64), np.zeros(5, np.uint8)), False),
        (chain_overflowing_store, lambda: (np.zeros(5, np.int64), np.zeros(5, np.int32)), True),
    ],
    ids=lambda v: getattr(v, "__name__", None) if callable(v) and v.__name__ != "<lambda>" else None,
)
def test_chained_assignment(fn, make_args, native):
    # native False: a float stored into an integer array (NumPy's conversion
    # stays in Python) or a NumPy overflow warning; the results still match.
    check(fn, make_args, native)


def test_chained_store_converts_per_target():
    a, b = np.zeros(3, np.int32), np.zeros(3)

    def f(a, b):
        for i in range(3):
            a[i] = b[i] = 1.7 + i

    loopscope.run(f, a, b, device="cpu")
    assert a.tolist() == [1, 2, 3] and b.tolist() == [1.7, 2.7, 3.7]


def test_chained_init_loop_is_parallel():
    records = check(chain_constant, lambda: (np.ones(64), np.ones(64)))
    assert ran_natively(records)
    assert differential.parallel_loops(records, "cpu") == ["i"]


def chain_tuple_target(n):
    for i in range(n):
        a = b, c = i, i + 1
    return a, b, c


def test_chain_with_a_tuple_target_declines():
    check(chain_tuple_target, lambda: (4,), native=False)
    assert "write the tuple assignment on a line of its own" in decline_reason(chain_tuple_target, 4)


# --- divmod -----------------------------------------------------------------------


def divmod_index(out, ncols):
    for k in range(out.shape[0]):
        row, col = divmod(k, ncols)
        out[k] = row * 100 + col
    return row, col


def divmod_values(q, r, x, y):
    for i in range(x.shape[0]):
        q[i], r[i] = divmod(x[i], y[i])


def divmod_python(n, d, off):
    # Python numbers: d - i is 0 when i == d (ZeroDivisionError midway)
    sq = sr = d - d
    for i in range(n):
        a, b = divmod(i * 3 - off, d - i)
        sq += a
        sr += b
    return sq, sr, a, b


def divmod_swap(n, x, y):
    for i in range(n):
        x, y = divmod(x + i, y)
        y = y + 3
    return x, y


def divmod_second_target_reads(n):
    q, r = 0, 7
    for i in range(n):
        r, q = divmod(r * 3 + i, q + 2)
    return q, r


def divmod_reversed(n, x, y):
    for i in range(n):
        y, x = divmod(x, y)
    return x, y


def divmod_into_element(a, d):
    for i in range(1, a.shape[0]):
        a[i], a[i - 1] = divmod(a[i] + a[i - 1], d)


@pytest.mark.parametrize(
    "fn, make_args, native",
    [
        (divmod_index, lambda: (np.zeros(23, np.int64), 7), True),
        (divmod_index, lambda: (np.zeros(23, np.int64), -4), True),
        (divmod_index, lambda: (np.zeros(23, np.int64), 0), True),  # ZeroDivisionError
        (divmod_index, lambda: (np.zeros(23), 2.5), True),
        (divmod_index, lambda: (np.zeros(23), -0.0), True),  # float divmod()
        (divmod_index, lambda: (np.zeros(23, np.int64), 2.5), False),  # a float into an int array
        (
            divmod_values,
            lambda: (np.zeros(5), np.zeros(5), _f64(7.5, -7.5, 7.5, -0.0, 5.0), _f64(2, 2, -2, 3, 0.5)),
            True,
        ),
        (divmod_values, lambda: (np.zeros(3), np.zeros(3), _f64(1e308, -0.0, 3.0), _f64(1e-308, -2.0, np.inf)), False),
        (
            divmod_values,
            lambda: (np.zeros(4), np.zeros(4), _f64(np.inf, np.nan, 3.0, 2.0), _f64(2, 2, np.inf, -np.inf)),
            False,
        ),
        (
            divmod_values,
            lambda: (np.zeros(4, np.int64), np.zeros(4, np.int32), np.array([7, -7, 7, -7]), np.array([2, 2, -2, -2])),
            True,
        ),
        (
            divmod_values,
            lambda: (
                np.zeros(4, np.uint8),
                np.zeros(4, np.int32),
                np.array([7, 9, 200, 1], np.uint8),
                np.array([2, 2, 7, 1], np.uint8),
            ),
            ("cpu", "cpu-serial"),  # the GPU does not model uint8 arithmetic yet
        ),
        (divmod_values, lambda: (np.zeros(4), np.zeros(4), _f64(1.0, 2.0, 3.0, 4.0), _f64(1.0, 0.0, 2.0, 1.0)), False),
        (
            divmod_values,
            lambda: (np.zeros(4, np.int64), np.zeros(4), np.array([7, 8, 9, 1]), np.array([2, 0, 3, 1])),
            False,
        ),
        (divmod_python, lambda: (5, 9, 20), True),
        (divmod_python, lambda: (5, -7, -4), True),
        (divmod_python, lambda: (9, 4, 7), True),  # d - i == 0 at i == 4
        (divmod_python, lambda: (5, 9.5, 20), True),
        (divmod_python, lambda: (5, 9.0, 2.5), True),
        (divmod_python, lambda: (9, 4.0, 7), True),  # float divmod() at i == 4
        (divmod_python, lambda: (9, 4, 7.5), False),  # sq holds an int, then a float
        (divmod_swap, lambda: (6, 1000, 7), True),
        (divmod_swap, lambda: (6, 1000.0, 7), False),  # y holds an int, then a float
        (divmod_second_target_reads, lambda: (12,), True),
        (divmod_reversed, lambda: (2, 1000, 7), True),
        (divmod_reversed, lambda: (5, 1000, 7), True),  # y is 0 in the third pass
        (divmod_reversed, lambda: (5, 1000.0, 7.0), True),
        (divmod_into_element, lambda: (np.arange(10, dtype=np.int64), 3), True),
        (divmod_into_element, lambda: (np.arange(10.0), -2.5), True),
    ],
    ids=lambda v: getattr(v, "__name__", None) if callable(v) and v.__name__ != "<lambda>" else None,
)
def test_divmod(fn, make_args, native):
    # native False: NumPy warns (Python runs the loop and prints it), a float
    # stored into an integer array, or a variable of two types.
    check(fn, make_args, native)


def test_divmod_index_decomposition_runs_natively_and_in_parallel():
    records = check(divmod_index, lambda: (np.zeros(200, np.int64), 9))
    assert ran_natively(records)


def divmod_numpy_scalars(q, r, x, y):
    for i in range(x.shape[0]):
        q[i], r[i] = divmod(x[i], y[i])
    return divmod(x[0], y[0])


@pytest.mark.parametrize("dtype", [np.float64, np.int64, np.float32, np.int32])
def test_divmod_numpy_scalars_by_zero_warn_as_python(dtype, recwarn):
    # NumPy warns "divide by zero encountered in scalar divmod"; what the
    # user sees must be that warning, not floor_divide's or remainder's.
    import warnings

    def make():
        return np.zeros(4), np.zeros(4), np.array([7, 8, 9, 3], dtype), np.array([2, 0, 3, 1], dtype)

    def seen(device):
        args = make()
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            out = (
                divmod_numpy_scalars(*args)
                if device is None
                else loopscope.run(divmod_numpy_scalars, *args, device=device)
            )
        return [str(x.message) for x in w], out, args

    want = seen(None)
    for device in ("cpu", "cpu-serial", "gpu-emulated", "auto"):
        got = seen(device)
        assert got[0] == want[0], device
        assert differential.same(got[1], want[1]), device
        for a, b in zip(want[2], got[2]):
            assert differential.same(a, b), device


def divmod_one_value(n):
    for i in range(n):
        t = divmod(i, 3)
    return t


def divmod_three(n):
    for i in range(n):
        q, r = divmod(i, 3, 4)
    return q, r


def test_divmod_declines():
    check(divmod_one_value, lambda: (5,), native=False)
    assert "unpack it at once, as in q, r = divmod(x, y)" in decline_reason(divmod_one_value, 5)
    check(divmod_three, lambda: (5,), native=False)
    assert "divmod() takes two numbers" in decline_reason(divmod_three, 5)


def test_shadowed_divmod_runs_python():
    def f(n):
        divmod = lambda a, b: (b, a)  # noqa: E731
        q = r = 0
        for i in range(n):
            q, r = divmod(i, 3)
        return q, r

    check(f, lambda: (5,), native=False)


# --- math.fmod and math.copysign ----------------------------------------------------


def fmod_periodic(u, out, shift):
    n = u.shape[0]
    for i in range(n):
        j = int(math.fmod(i + shift, n))
        out[i] = u[j] + math.fmod(u[i], 1.0)


def fmod_values(out, x, y):
    for i in range(x.shape[0]):
        out[i] = math.fmod(x[i], y[i])


def copysign_values(out, x, y):
    for i in range(x.shape[0]):
        out[i] = math.copysign(x[i], y[i])


def imported_forms(x, y):
    s = 0.0
    for i in range(x.shape[0]):
        s += fmod(x[i], y[i]) + copysign(1, y[i])
    return s


def fmod_python(n, x, d):
    # Python ints and floats: x is a Python int (huge ones cannot become a
    # float), d - i is 0 when i == d
    r = 0.0
    for i in range(n):
        r = math.fmod(x + i, d - i)
    return r


SPECIAL = _f64(0.0, -0.0, 1.0, -1.0, 5.5, -5.5, 1e308, -1e-308, np.inf, -np.inf, np.nan, 3.0)


@pytest.mark.parametrize(
    "fn, make_args, native",
    [
        (fmod_periodic, lambda: (np.linspace(-3, 3, 11), np.zeros(11), 4), True),
        (fmod_periodic, lambda: (np.linspace(-3, 3, 11), np.zeros(11), -25), True),
        (
            fmod_values,
            lambda: (
                np.zeros(12),
                _f64(7.5, -7.5, 7.5, -7.5, 0.0, -0.0, 1e308, 5.0, 3.0, np.nan, 2.0, 1.0),
                _f64(2, 2, -2, -2, 3, 3, 1e-308, np.inf, -np.inf, 1.0, np.nan, 0.1),
            ),
            True,
        ),
        (fmod_values, lambda: (np.zeros(4), _f64(1.0, 2.0, 3.0, 4.0), _f64(1.0, 2.0, 0.0, 1.0)), True),  # ValueError
        (
            fmod_values,
            lambda: (np.zeros(4), _f64(1.0, 2.0, -np.inf, 4.0), _f64(1.0, 2.0, 3.0, 1.0)),
            True,
        ),  # ValueError
        (fmod_values, lambda: (np.zeros(3), _f64(1.0, np.nan, np.nan), _f64(1.0, 0.0, np.inf)), True),
        (fmod_values, lambda: (np.zeros(3), _f64(1.0, np.inf, 2.0), _f64(1.0, np.nan, -0.0)), True),  # ValueError at 2
        (
            fmod_values,
            lambda: (np.zeros(4, np.float32), np.arange(4, dtype=np.int64) * 7, np.array([3, -2, 5, 1])),
            True,
        ),
        (fmod_values, lambda: (np.zeros(4), np.array([7, 8, 9, 1], np.int32), np.array([3, 0, 5, 1], np.int32)), True),
        (fmod_values, lambda: (np.zeros(4), np.array([7.5, 8, 9, 1], np.float32), _f64(3, -0.25, 5, 1)), True),
        (
            fmod_values,
            lambda: (np.zeros(4, np.int64), _f64(7.5, 8, 9, 1), _f64(3, -0.25, 5, 1)),
            False,
        ),  # a float into an int array
        (copysign_values, lambda: (np.zeros(12), SPECIAL, SPECIAL[::-1].copy()), True),
        (
            copysign_values,
            lambda: (np.zeros(4), np.array([1, -2, 3, 0], np.int64), _f64(-0.0, 0.0, np.nan, -1.0)),
            True,
        ),
        (
            copysign_values,
            lambda: (np.zeros(4, np.float32), _f64(1.5, -2, 3, 0), np.array([-1, 0, 3, -7], np.int32)),
            True,
        ),
        (imported_forms, lambda: (_f64(7.5, -3, 4, 1e10), _f64(2, -0.0, 0.5, 3)), True),
        (imported_forms, lambda: (_f64(7.5, -3, 4, 1e10), _f64(2, 0, 0.5, 3)), True),  # ValueError
        (fmod_python, lambda: (4, 7, 9), True),
        (fmod_python, lambda: (4, -7, 2.5), True),
        (fmod_python, lambda: (4, 2**60, 9), False),  # an int beyond 2**53 meeting a float stays Python
        (fmod_python, lambda: (4, 10**400, 9), False),  # OverflowError: the int is not an int64
        (fmod_python, lambda: (6, 7, 3), True),  # ValueError at i == 3
    ],
    ids=lambda v: getattr(v, "__name__", None) if callable(v) and v.__name__ != "<lambda>" else None,
)
def test_fmod_copysign(fn, make_args, native):
    check(fn, make_args, native)


def test_fmod_bits_on_many_values():
    rng = np.random.default_rng(5)
    x = rng.standard_normal(500) * 10.0 ** rng.integers(-30, 30, 500)
    y = rng.standard_normal(500) * 10.0 ** rng.integers(-30, 30, 500)
    records = check(fmod_values, lambda: (np.zeros(500), x.copy(), y.copy()))
    assert ran_natively(records)
    records = check(copysign_values, lambda: (np.zeros(500), x.copy(), y.copy()))
    assert ran_natively(records)


def fmod_and_copysign(out, x, y):
    for i in range(x.shape[0]):
        out[i] = math.fmod(x[i], y[i]) + math.copysign(2.0, x[i])


def test_fmod_and_copysign_in_the_generated_cuda():
    seen = []

    def hook(nest_id, env):
        if env is not None:
            seen.append(_loopscope.cuda_generate(nest_id, env))
        return _cuda.run_emulated(nest_id, env)

    _run.register_device("gpu-emulated+source:fmod", hook)
    x, y = np.linspace(-5, 5, 16), np.full(16, 1.5)
    out = np.zeros(16)
    loopscope.run(fmod_and_copysign, out, x, y, device="gpu-emulated+source:fmod")
    want = np.zeros(16)
    fmod_and_copysign(want, x, y)
    assert differential.same(out, want)
    (gen,) = seen
    assert gen.get("decline") is None, gen
    assert "ls_math_fmod(" in gen["source"] and "copysign(" in gen["source"]


@pytest.mark.parametrize(
    "fn, args",
    [
        (chain_names, (np.arange(12.0).reshape(3, 4),)),
        (chain_two_arrays, (np.zeros(5), np.zeros(5), np.ones(5))),
        (divmod_index, (np.zeros(23, np.int64), 7)),
        (divmod_into_element, (np.arange(10.0), -2.5)),
    ],
)
def test_reports_show_no_hidden_name(fn, args):
    report = loopscope.explain(fn, *args)
    text = json.dumps(report, default=str)
    assert "$" not in text and "chain1" not in text and "divmod1" not in text, text
    assert report["nests"] and not any(n["declined"] for n in report["nests"]), text


def test_divmod_index_loop_is_parallel():
    report = loopscope.explain(divmod_index, np.zeros(200, np.int64), 9)
    (loop,) = report["loops"]
    assert loop["verdict"] == "parallel", loop


# --- math.hypot: CPython 3.11's own algorithm (vector_norm), bit for bit ------------


def hypot_values(out, x, y):
    for i in range(x.shape[0]):
        out[i] = math.hypot(x[i], y[i])


def hypot_python(n, x, y):
    r = 0.0
    for i in range(n):
        r += math.hypot(x * i, y - i)
    return r


def hypot_three(out, x, y):
    for i in range(x.shape[0]):
        out[i] = math.hypot(x[i], y[i], 1.0)


HYPOT_SPECIAL = _f64(
    0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 5e-324, 1e-310, 2.2250738585072014e-308, 1e308, 1.0, 3.0
)


def _hypot_values(count, seed):
    rng = np.random.default_rng(seed)
    e = rng.integers(-1080, 1024, count)
    x = np.ldexp(rng.uniform(-1, 1, count), e)
    near = rng.random(count) < 0.5
    y = np.where(
        near, x * rng.uniform(-1, 1, count), np.ldexp(rng.uniform(-1, 1, count), rng.integers(-1080, 1024, count))
    )
    return x, y


@pytest.mark.parametrize(
    "fn, make_args, native",
    [
        (hypot_values, lambda: (np.zeros(144), np.repeat(HYPOT_SPECIAL, 12), np.tile(HYPOT_SPECIAL, 12)), True),
        (hypot_values, lambda: (np.zeros(3000), *_hypot_values(3000, 1)), True),
        (
            hypot_values,
            lambda: (np.zeros(4, np.float32), np.array([3, -5, 0, 7], np.int32), _f64(4, 12, -0.0, 1e-300)),
            True,
        ),
        (hypot_python, lambda: (7, 3, 4), True),
        (hypot_python, lambda: (7, 0.1, 2.5), True),
        (hypot_three, lambda: (np.zeros(3), _f64(1, 2, 3), _f64(4, 5, 6)), False),  # three coordinates
    ],
    ids=lambda v: getattr(v, "__name__", None) if callable(v) and v.__name__ != "<lambda>" else None,
)
def test_hypot(fn, make_args, native):
    check(fn, make_args, native)


def test_hypot_bits_on_a_million_values():
    x, y = _hypot_values(1_000_000, 7)
    out = np.zeros_like(x)
    records = {}
    for device in ("cpu", "gpu-emulated"):
        _run.reset_last_runs()
        loopscope.run(hypot_values, out, x, y, device=device)
        records[device] = list(_run.last_runs().values())
        want = np.array([math.hypot(a, b) for a, b in zip(x.tolist(), y.tolist())])
        assert out.tobytes() == want.tobytes(), device
        assert records[device] and all(r["status"] == "ok" for r in records[device]), records
