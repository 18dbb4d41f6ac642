"""round(x, ndigits) inside loop nests, against CPython on every device.

A Python float rounds in decimal (float.__round__: a correctly rounded
decimal string read back, ties to even on the exact binary value), NumPy's
floats and integers by np.round's arithmetic (times 10**ndigits, rint,
divided back, in float64, cast to the scalar's type), a Python int exactly
(half to even). Values are compared bit for bit with their types (float,
np.float64, np.float32, int, np.int64, np.int32), and exceptions with their
messages and partial writes. The GPU runs NumPy's and the int's rounding and
declines the Python float's (no exact decimal conversion on a device).
"""

import math

import numpy as np
import pytest

import loopscope
from differential import check, use_temporary_cache  # noqa: F401

CPU = ("cpu", "cpu-serial")

SPECIAL = [
    0.125,
    0.375,
    2.675,
    0.5,
    1.5,
    2.5,
    -0.5,
    -2.5,
    1e22,
    5e-324,
    -5e-324,
    2.2250738585072014e-308,
    -0.0,
    0.0,
    1234.5678,
    15.0,
    25.0,
    -15.0,
    -25.0,
    4.0,
    -4.0,
    99.5,
    999999.5,
    1.7976931348623157e308,
    -1.7976931348623157e308,
    1e300,
    123456789012345678.0,
    0.1,
    0.3,
    1.0 / 3.0,
    math.pi,
    math.inf,
    -math.inf,
    math.nan,
]
SPECIAL_N = [0, 1, 2, 3, -1, -2, -3, 5, 15, 16, 17, 22, 300, 308, 309, 320, 323, 324, 400, -300, -307, -308, -309, -400]


def ran_natively(records, devices):
    return all(r["status"] == "ok" for d in devices for r in records[d])


def cpu_decline(records):
    """The sentence of the nest's decline on the CPU (the same on every device)."""
    reasons = {r["reason"] for d in ("cpu", "cpu-serial", "gpu-emulated") for r in records[d]}
    assert all(r["status"] == "declined" for d in ("cpu", "gpu-emulated") for r in records[d]), records
    assert len(reasons) == 1, reasons
    return reasons.pop()


# --- a Python float: CPython's decimal rounding, on the CPU ---------------------------


def round_python_floats(out, x, n):
    for i in range(out.shape[0]):
        out[i] = round(float(x[i]), int(n[i]))


def round_python_average(x, n):
    s = 0.0
    for i in range(x.shape[0]):
        s += float(x[i])
    return round(s / x.shape[0], n)


def round_python_scalar(k, n):
    r = 0.0
    for i in range(k):
        r = round(i / 7.0, n)
    return r


def _python_pairs(count, seed):
    """x and n where CPython's round(x, n) does not raise: random bit patterns,
    decimal-looking values, ties at every scale, with ndigits near the
    value's own scale and far from it."""
    rng = np.random.default_rng(seed)
    xs, ns = [], []
    while len(xs) < count:
        kind = rng.integers(0, 4)
        if kind == 0:
            x = float(rng.integers(0, 2**63, dtype=np.int64).view(np.float64)) * (1 if rng.integers(0, 2) else -1)
        elif kind == 1:
            x = int(rng.integers(-(10**9), 10**9)) / 10.0 ** int(rng.integers(0, 12))
        elif kind == 2:
            x = (2 * int(rng.integers(-(10**6), 10**6)) + 1) / 2 * 10.0 ** int(rng.integers(-12, 12))
        else:
            x = float(rng.uniform(-1, 1)) * 10.0 ** int(rng.integers(-30, 30))
        if not math.isfinite(x):
            continue
        scale = 0 if x == 0 else -math.floor(math.log10(abs(x)))
        n = int(rng.integers(-330, 330)) if rng.integers(0, 4) == 0 else scale + int(rng.integers(-3, 19))
        try:
            round(x, n)
        except OverflowError:
            continue
        xs.append(x)
        ns.append(n)
    return np.array(xs), np.array(ns, dtype=np.int64)


def test_python_float_special_values():
    xs = np.repeat(SPECIAL, len(SPECIAL_N))
    ns = np.tile(np.array(SPECIAL_N, dtype=np.int64), len(SPECIAL))
    keep = []
    for k, (x, n) in enumerate(zip(xs, ns)):
        try:
            round(float(x), int(n))
            keep.append(k)
        except OverflowError:
            pass
    xs, ns = xs[keep], ns[keep]
    records = check(round_python_floats, lambda: (np.zeros(len(xs)), xs.copy(), ns.copy()), native=CPU)
    assert ran_natively(records, CPU)


@pytest.mark.parametrize("seed", [1, 2])
def test_python_float_random_sweep(seed):
    xs, ns = _python_pairs(4000, seed)
    records = check(round_python_floats, lambda: (np.zeros(len(xs)), xs.copy(), ns.copy()), native=CPU)
    assert ran_natively(records, CPU)


def test_python_float_exact_ties_and_their_neighbours():
    # x * 10**n exactly halfway between two integers (x = odd * 5**n / 2**(n+1)),
    # and the floats either side of it: half to even on the exact value
    rng = np.random.default_rng(5)
    xs, ns = [], []
    for n in range(0, 16):
        for _ in range(60):
            odd = 2 * int(rng.integers(0, 2**20)) + 1
            x = odd * 5**n / 2 ** (n + 1)
            if x * 10**n >= 2**60:
                continue
            sign = 1 if rng.integers(0, 2) else -1
            for v in (x, math.nextafter(x, 0.0), math.nextafter(x, math.inf)):
                xs.append(sign * v)
                ns.append(n)
    xs, ns = np.array(xs), np.array(ns, dtype=np.int64)
    records = check(round_python_floats, lambda: (np.zeros(len(xs)), xs.copy(), ns.copy()), native=CPU)
    assert ran_natively(records, CPU)


def test_python_float_on_the_gpu_declines_with_a_reason():
    records = check(
        round_python_floats, lambda: (np.zeros(4), np.array([0.125, 2.675, 1.5, -0.5]), np.full(4, 2)), native=CPU
    )
    (rec,) = records["gpu-emulated"]
    assert rec["status"] == "declined"
    assert "round(x, ndigits) of a Python float does not run on the GPU" in rec["reason"]
    assert "decimal string" in rec["reason"]


@pytest.mark.parametrize("n", [2, 0, -1, 3])
def test_python_float_accumulator_and_scalar(n):
    x = np.array([0.125, 2.675, 91.5, 77.25, 60.0, 88.375])
    check(round_python_average, lambda: (x.copy(), n), native=CPU)
    records = check(round_python_scalar, lambda: (50, n), native=CPU)
    assert ran_natively(records, CPU)


def round_overflows(out, x):
    for i in range(out.shape[0]):
        out[i] = round(float(x[i]), -308)


def test_python_float_overflow_error_with_partial_writes():
    x = np.array([1e307, 4e307, 1.7e308, 2.0, 3.0])
    check(round_overflows, lambda: (np.full(5, 7.0), x.copy()), native=CPU)


def round_float_ndigits(out, x, d):
    for i in range(out.shape[0]):
        out[i] = round(float(x[i]), d)


def test_float_ndigits_declines_and_python_raises_type_error():
    records = check(round_float_ndigits, lambda: (np.zeros(3), np.ones(3), 2.0), native=False)
    reason = cpu_decline(records)
    assert "raises TypeError" in reason and "give round() an int" in reason


# --- NumPy floats: np.round's arithmetic, every device ---------------------------------


def round_elements_in_place(a, n):
    for i in range(a.shape[0]):
        a[i] = round(a[i], n)


def round_elements(out, x, n):
    for i in range(out.shape[0]):
        out[i] = round(x[i], int(n[i]))


def round_element_value(x, n):
    r = x[0]
    for i in range(x.shape[0]):
        r = round(x[i], n)
    return r


def _numpy_pairs(count, seed, dtype):
    rng = np.random.default_rng(seed)
    xs, ns = [], []
    while len(xs) < count:
        if rng.integers(0, 2):
            x = dtype(int(rng.integers(-(10**8), 10**8)) / 10.0 ** int(rng.integers(0, 9)))
        else:
            x = dtype(rng.uniform(-1, 1) * 10.0 ** int(rng.integers(-20, 20)))
        n = int(rng.integers(-12, 25))
        with np.errstate(all="raise"):
            try:
                round(x, n)
            except FloatingPointError:
                continue
        xs.append(x)
        ns.append(n)
    return np.array(xs, dtype=dtype), np.array(ns, dtype=np.int64)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_numpy_floats_random_sweep(dtype):
    xs, ns = _numpy_pairs(3000, 3, dtype)
    records = check(round_elements, lambda: (np.zeros(len(xs), dtype=dtype), xs.copy(), ns.copy()))
    assert ran_natively(records, ("cpu", "cpu-serial", "gpu-emulated"))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", [0, 1, 2, 3, -1, -2, 10])
def test_numpy_floats_in_place_and_type(dtype, n):
    vals = [v for v in SPECIAL if abs(v) < 1e30 or not math.isfinite(v)]
    x = np.array(vals, dtype=dtype)
    records = check(round_elements_in_place, lambda: (x.copy(), n))
    assert ran_natively(records, ("cpu", "cpu-serial", "gpu-emulated"))
    records = check(round_element_value, lambda: (x[:10].copy(), n))
    assert ran_natively(records, ("cpu", "cpu-serial", "gpu-emulated"))
    assert type(loopscope.run(round_element_value, x[:10].copy(), n, device="cpu")) is dtype


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", [39, 309, 400, -309, 2**31])
def test_numpy_overflow_warning_or_error_is_python_s(dtype, n):
    # NumPy warns (overflow, invalid value) or raises OverflowError (ndigits
    # beyond a C int): the native run stops and Python gives its result
    x = np.array([1.5, 0.0, -2.5, 3e38], dtype=dtype)
    check(round_elements_in_place, lambda: (x.copy(), n), native=False)


# --- ints: a Python int exactly, NumPy's through float64 -------------------------------


def round_python_ints(out, n):
    for i in range(out.shape[0]):
        out[i] = round(i * 5 - 200, n)


def round_python_int_value(x, n):
    r = 0
    for i in range(x.shape[0]):
        r = round(int(x[i]), n)
    return r


def round_int_elements(out, x, n):
    for i in range(out.shape[0]):
        out[i] = round(x[i], n)


@pytest.mark.parametrize("n", [0, 2, -1, -2, -3, -18, -19, -20, -400])
def test_python_ints(n):
    records = check(round_python_ints, lambda: (np.zeros(81, dtype=np.int64), n))
    assert ran_natively(records, ("cpu", "cpu-serial", "gpu-emulated"))
    x = np.array([15, 25, -15, -25, 5 * 10**18, -5 * 10**18, 4999999999999999999, 10**18, 7], dtype=np.int64)
    records = check(round_python_int_value, lambda: (x.copy(), n))
    assert ran_natively(records, ("cpu", "cpu-serial", "gpu-emulated"))
    assert type(loopscope.run(round_python_int_value, x.copy(), n, device="cpu")) is int


@pytest.mark.parametrize("v", [2**63 - 1, -(2**63), 9_200_000_000_000_000_000, -(6 * 10**18)])
@pytest.mark.parametrize("n", [-1, -18, -19])
def test_python_int_beyond_int64_is_left_to_python(v, n):
    # a result beyond int64 stops the native run; Python computes the big int
    records = check(round_python_int_value, lambda: (np.array([3, v], dtype=np.int64), n), native=False)
    if abs(round(v, n)) >= 2**63:
        assert all(r["status"] == "fallback" for d in ("cpu", "gpu-emulated") for r in records[d])


@pytest.mark.parametrize("dtype", [np.int64, np.int32])
@pytest.mark.parametrize("n", [1, 0, -1, -2, -5, -12])
def test_numpy_ints(dtype, n):
    info = np.iinfo(dtype)
    x = np.array([1234, 1255, 125, -125, 15, 25, -15, 0, 7, info.max // 3, info.min // 3], dtype=dtype)
    records = check(round_int_elements, lambda: (np.zeros(len(x), dtype=dtype), x.copy(), n))
    assert ran_natively(records, ("cpu", "cpu-serial", "gpu-emulated"))
    records = check(round_element_value, lambda: (x.copy(), n))
    assert ran_natively(records, ("cpu", "cpu-serial", "gpu-emulated"))
    assert type(loopscope.run(round_element_value, x.copy(), n, device="cpu")) is dtype


@pytest.mark.parametrize("n", [-1, -400])
def test_numpy_int_out_of_range_is_left_to_python(n):
    x = np.array([5, np.iinfo(np.int64).max], dtype=np.int64)
    check(round_int_elements, lambda: (np.zeros(2, dtype=np.int64), x.copy(), n), native=False)


# --- declines -----------------------------------------------------------------------


def test_small_integer_declines_with_a_reason():
    x = np.array([250, 125, 7], dtype=np.uint8)
    records = check(round_elements_in_place, lambda: (x.copy(), -1), native=False)
    reason = cpu_decline(records)
    assert "np.uint8" in reason and "int() or float()" in reason


def test_float16_declines_with_a_reason():
    x = np.array([0.125, 2.675, 7.0], dtype=np.float16)
    records = check(round_elements_in_place, lambda: (x.copy(), 1), native=False)
    reason = cpu_decline(records)
    assert "np.float16" in reason and "float()" in reason


def round_either_kind(x, n):
    s = 0.0
    for i in range(x.shape[0]):
        s = round(s, n)
        s += x[i]
    return s


def average_either_kind(scores, n):
    # total starts as a float and becomes an np.float64 (or stays a float
    # for a row of no scores): each is rounded its own way
    rows, k = scores.shape
    out = np.zeros(rows)
    last = 0.0
    for i in range(rows):
        total = 0.0
        for j in range(k):
            total += scores[i, j]
        last = round(total / 3, n)
        out[i] = last
    return out, last


@pytest.mark.parametrize("n", [2, 0, -1])
def test_float_or_numpy_scalar_runs_on_the_cpu(n):
    x = np.array([0.125, 2.675, 1.005, 0.5, 1.5, -2.5])
    records = check(round_either_kind, lambda: (x.copy(), n), native=CPU)
    assert ran_natively(records, CPU)
    (rec,) = records["gpu-emulated"]
    assert "round(x, ndigits) of a value that may be a Python float does not run on the GPU" in rec["reason"]
    scores = np.array([[0.125, 2.675, 1.0], [0.5, 1.0, 0.5], [99.0, 98.0, 97.5]])
    for cols in (3, 0):
        records = check(average_either_kind, lambda: (scores[:, :cols].copy(), n), native=CPU)
        assert ran_natively(records, CPU)


def round_int_either_kind(x, n):
    s = 0
    for i in range(x.shape[0]):
        s = round(s, n)
        s += x[i]
    return s


def test_int_or_numpy_int_declines_with_a_reason():
    x = np.array([15, 25, 35], dtype=np.int64)
    records = check(round_int_either_kind, lambda: (x.copy(), -1), native=False)
    assert "either a Python int or an np.int64" in cpu_decline(records)


def test_numpy_bool_declines():
    x = np.array([True, False])
    check(round_elements_in_place, lambda: (x.copy(), 1), native=False)


# --- ndigits from an element, a loop variable, a bool ----------------------------------


def round_digits_from_loop(out, x):
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = round(float(x[i]), j - 3) + round(x[i], j - 3) + round(i * 1234567, 3 - 2 * j)


def round_digits_from_element(out, x, nd):
    for i in range(out.shape[0]):
        out[i] = round(x[i], nd[i]) + round(float(x[i]), nd[i]) + round(1.23456, i % 2 == 0)


@pytest.mark.parametrize("nd_dtype", [np.int64, np.int32, np.uint8])
def test_ndigits_of_every_integer_kind(nd_dtype):
    x = np.array([0.125, 2.675, 1234.5678, -0.5, 1e22, 25.0, 3.14159])
    records = check(
        round_digits_from_element,
        lambda: (np.zeros(7), x.copy(), np.array([2, 2, 1, 0, 3, 0, 4], dtype=nd_dtype)),
        native=CPU,
    )
    assert ran_natively(records, CPU)
    records = check(round_digits_from_loop, lambda: (np.zeros((7, 7)), x.copy()), native=CPU)
    assert ran_natively(records, CPU)
