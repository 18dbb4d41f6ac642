"""math.isnan, math.isinf, math.isfinite (a bool) and np.isnan, np.isinf,
np.isfinite (an np.bool_) of a number inside a nest: the data-cleaning
loops of scientific scripts (skip or count the NaNs, replace infinities).
Native code tests the float with quiet comparisons (no invalid-operation
flag for a NaN, which would stop the run); an int is always finite.

Every case is compared with CPython on every device (values and types,
arrays bit for bit): tests/python/differential.py.
"""

import numpy as np
import pytest

from differential import check, parallel_loops, use_temporary_cache  # noqa: F401
from nestgen import make_function

DATA = np.array([1.0, np.nan, np.inf, -np.inf, 2.5, -0.0, -np.nan, 1e300, 5e-324])


def data(dtype):
    if np.dtype(dtype).kind == "f":
        return DATA.astype(dtype)
    return np.array([3, -7, 0, 12, 9, -1, 4, 2, 8], dtype=dtype)


@pytest.mark.parametrize("spelling", ["math.{f}", "np.{f}"])
@pytest.mark.parametrize("test", ["isnan", "isinf", "isfinite"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.int32])
def test_replace_and_count(spelling, test, dtype):
    call = spelling.format(f=test)
    src = f"""
    def f(x, out):
        n = 0
        for i in range(x.shape[0]):
            if {call}(x[i]):
                out[i] = -1.0
                n += 1
            else:
                out[i] = x[i] * 2
        return n
    """
    fn = make_function(src, "f")
    recs = check(fn, lambda: (data(dtype), np.zeros(9)))
    assert parallel_loops(recs, "cpu") == ["i"]  # n: an int sum, exact in parallel


@pytest.mark.parametrize("test", ["isnan", "isinf", "isfinite"])
def test_results_kept_in_variables_and_arrays_have_python_s_types(test):
    src = f"""
    def f(x, flags):
        a = b = None
        for i in range(x.shape[0]):
            a = math.{test}(x[i])
            b = np.{test}(x[i])
            flags[i] = b
        return a, b
    """
    fn = make_function(src, "f")
    check(fn, lambda: (DATA.copy(), np.zeros(9, dtype=bool)))


def test_parallel_when_nothing_is_carried():
    src = """
    def f(x, y, out):
        for i in range(x.shape[0]):
            for j in range(y.shape[0]):
                ok = math.isfinite(x[i]) and not np.isnan(y[j])
                out[i, j] = x[i] + y[j] if ok else 0.0
    """
    fn = make_function(src, "f")
    recs = check(fn, lambda: (DATA.copy(), DATA[::-1].copy(), np.zeros((9, 9))))
    assert parallel_loops(recs, "cpu") == ["i"]


def test_python_scalars_and_spellings():
    src = """
    from math import isnan as nan_test

    def f(x, t, k):
        c = 0
        for i in range(x.shape[0]):
            v = x[i] * t
            if nan_test(v) or math.isinf(k):
                c += 1
            elif np.isfinite(k) and not math.isnan(i):
                c += 2
        return c
    """
    fn = make_function(src, "f")
    # (no t makes NumPy warn: inf * 0.0 would, in Python too)
    for t, k in [(0.5, 3), (-3.0, 2.0), (0.5, float("-inf")), (float("nan"), 7)]:
        check(fn, lambda: (DATA.copy(), t, k))


@pytest.mark.parametrize(
    "arg,word",
    [("z", "complex"), ("img[i]", "np.uint8")],
)
def test_declines(arg, word):
    src = f"""
    def f(img, out, z):
        for i in range(img.shape[0]):
            out[i] = math.isnan({arg})
    """
    fn = make_function(src, "f")
    recs = check(fn, lambda: (np.arange(5, dtype=np.uint8), np.zeros(5, dtype=bool), 1 + 2j), native=False)
    assert any(word in r["reason"] for r in recs["cpu"]), recs["cpu"]


def test_no_invalid_flag_from_a_nan_stops_the_run():
    # A NaN tested in a loop with float arithmetic: the run stays native
    # (no "invalid value" read from the CPU's flags).
    src = """
    def f(x, out):
        s = 0.0
        for i in range(x.shape[0]):
            if not np.isnan(x[i]):
                s += x[i] * 0.5
            out[i] = s
        return s
    """
    fn = make_function(src, "f")
    recs = check(fn, lambda: (np.where(np.arange(64) % 7 == 0, np.nan, np.arange(64.0)), np.zeros(64)))
    assert all(r["status"] == "ok" for r in recs["cpu-serial"])


@pytest.mark.parametrize("nan", ["math.nan", "np.nan"])
def test_nan_read_in_the_loop(nan):
    # A NaN constant marks missing values, and is what the tests above find.
    src = f"""
    def f(x, out):
        c = 0
        for i in range(x.shape[0]):
            out[i] = x[i] if x[i] > 0 else {nan}
            if math.isnan(out[i]):
                c += 1
        last = {nan}
        return c, last
    """
    fn = make_function(src, "f")
    recs = check(fn, lambda: (np.array([1.0, -2.0, 0.0, 3.5, np.nan, -0.0]), np.zeros(6)))
    assert parallel_loops(recs, "cpu") == ["i"]
    got = np.zeros(6)
    fn(np.array([1.0, -2.0, 0.0, 3.5, np.nan, -0.0]), got)
    assert got[1:3].view(np.uint64).tolist() == [0x7FF8000000000000] * 2  # Python's own NaN, bit for bit
