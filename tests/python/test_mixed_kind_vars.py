"""A variable that holds values of two kinds, depending on the data: a
Python int and a small NumPy integer (`m = 255`, then `m = img[i, j]`, an
np.uint8: erosion and dilation filters), or a float and an int (`v = (img[i,
j] - 128.0) * gain + 128.0`, then `v = 0` to clip it). Native code holds the
value once and tracks its kind as it runs, so the variable afterwards has
Python's value *and type*; its reads are allowed only where both kinds give
the same result (comparisons, conditions, subscripts, a store of it as it is
into an array that holds every value it can have), and any other use
declines with a sentence. The GPU variant declines such variables with a
stated reason.

Every case is compared with CPython on every device (return value and type,
arrays bit for bit, exceptions): tests/python/differential.py.
"""

import random
import textwrap

import numpy as np
import pytest

from differential import check, parallel_loops, use_temporary_cache  # noqa: F401
from nestgen import make_function

CPU_DEVICES = ("cpu", "cpu-serial")


def image(dtype, n=9, seed=3):
    r = np.random.default_rng(seed)
    info = np.iinfo(dtype)
    return r.integers(info.min, int(info.max) + 1, (n, n)).astype(dtype)


ERODE = """
def f(img):
    h, w = img.shape
    out = img.copy()
    for i in range(1, h - 1):
        for j in range(1, w - 1):
            m = {start}
            for di in range(-1, 2):
                for dj in range(-1, 2):
                    if img[i + di, j + dj] {op} m:
                        m = img[i + di, j + dj]
            out[i, j] = m
    return out
"""


@pytest.mark.parametrize(
    "dtype,start,op",
    [
        (np.uint8, 255, "<"),
        (np.uint8, 0, ">"),
        (np.int8, 127, "<"),
        (np.uint16, 65535, "<"),
        (np.int16, -32768, ">"),
        (np.uint32, 2**32 - 1, "<"),
    ],
)
def test_erosion_and_dilation_run_natively(dtype, start, op):
    fn = make_function(ERODE.format(start=start, op=op), "f")
    recs = check(fn, lambda: (image(dtype),), native=CPU_DEVICES)
    assert parallel_loops(recs, "cpu") == ["i"]
    gpu = recs["gpu-emulated"]
    assert gpu[0]["status"] != "ok" and "holds an int and then an np." in gpu[0]["reason"]


def test_flat_image_keeps_the_int():
    # No pixel is below 255: m keeps the Python int, stored as it is.
    fn = make_function(ERODE.format(start=255, op="<"), "f")
    check(fn, lambda: (np.full((6, 6), 255, dtype=np.uint8),), native=CPU_DEVICES)


KIND_AFTER = """
def f(x, t):
    m = 0
    for i in range(x.shape[0]):
        if x[i] > t:
            m = x[i]
    return m
"""


@pytest.mark.parametrize("t", [300, 100, -1])
@pytest.mark.parametrize("dtype", [np.uint8, np.int16])
def test_the_kind_afterwards_is_the_last_assignments(dtype, t):
    # t = 300: never assigned, m is the int 0; otherwise the last element above t.
    fn = make_function(KIND_AFTER, "f")
    x = np.array([5, 200, 7, 150, 3], dtype=dtype)
    check(fn, lambda: (x.copy(), t), native=CPU_DEVICES)


def test_value_before_the_loop_is_an_int_input():
    src = """
    def f(x, m):
        for i in range(x.shape[0]):
            if x[i] < m:
                m = x[i]
        return m
    """
    fn = make_function(src, "f")
    check(fn, lambda: (np.array([9, 4, 6], dtype=np.uint8), 255), native=CPU_DEVICES)
    check(fn, lambda: (np.array([9, 4, 6], dtype=np.uint8), 2), native=CPU_DEVICES)


@pytest.mark.parametrize("target", ["np.int64", "np.float64", "np.int32", "np.uint16", "np.float32"])
def test_stored_into_arrays_that_hold_every_value(target):
    src = f"""
    def f(img):
        out = np.zeros(img.shape[0], dtype={target})
        for i in range(img.shape[0]):
            m = 255
            for j in range(img.shape[1]):
                if img[i, j] < m:
                    m = img[i, j]
            out[i] = m
        return out
    """
    fn = make_function(src, "f", namespace={"np": np})
    check(fn, lambda: (image(np.uint8, 7),), native=CPU_DEVICES)


def test_used_as_a_subscript():
    src = """
    def f(img, lut, out):
        for i in range(img.shape[0]):
            m = 255
            for j in range(img.shape[1]):
                if img[i, j] < m:
                    m = img[i, j]
            out[i] = lut[m]
    """
    fn = make_function(src, "f")
    check(fn, lambda: (image(np.uint8, 7), np.arange(256) * 0.5, np.zeros(7)), native=CPU_DEVICES)


@pytest.mark.parametrize(
    "use",
    [
        "out[i] = m + 1",  # np.uint8 + 1 is an np.uint8 in NumPy 1.24 (it wraps), int + 1 is not
        "out[i] = m * 2",
        "out[i] = min(m, 7)",
        "best = m\n            out[i] = best",
    ],
)
def test_uses_where_the_kinds_differ_decline(use):
    src = f"""
    def f(img, out):
        for i in range(img.shape[0]):
            m = 255
            for j in range(img.shape[1]):
                if img[i, j] < m:
                    m = img[i, j]
            {use}
    """
    fn = make_function(src, "f")
    recs = check(fn, lambda: (image(np.uint8, 6), np.zeros(6, dtype=np.int64)), native=False)
    reasons = " ".join(r["reason"] for r in recs["cpu"])
    assert "holds an int and then an np.uint8" in reasons


def test_store_into_a_narrower_array_declines():
    # An np.uint8 of 200 stored into an int8 array wraps silently; the int 200
    # would warn: the kinds differ there.
    src = """
    def f(img, out):
        for i in range(img.shape[0]):
            m = 255
            for j in range(img.shape[1]):
                if img[i, j] < m:
                    m = img[i, j]
            out[i] = m
    """
    fn = make_function(src, "f")
    recs = check(fn, lambda: (image(np.uint8, 6), np.zeros(6, dtype=np.int8)), native=False)
    assert "holds an int and then an np.uint8" in recs["cpu"][0]["reason"]


def test_two_small_types_decline():
    src = """
    def f(a, b):
        m = 0
        for i in range(a.shape[0]):
            if a[i] > m:
                m = a[i]
            if b[i] > m:
                m = b[i]
        return m
    """
    fn = make_function(src, "f")
    recs = check(fn, lambda: (np.array([3, 9, 1], dtype=np.uint8), np.array([2, 20, 4], dtype=np.int16)), native=False)
    assert "one type per variable" in recs["cpu"][0]["reason"]


CONTRAST = """
def f(img, gain):
    h, w = img.shape
    out = np.zeros((h, w), dtype=np.{dtype})
    for i in range(h):
        for j in range(w):
            v = (img[i, j] - 128.0) * gain + 128.0
            if v < {lo}:
                v = {lo}
            elif v > {hi}:
                v = {hi}
            out[i, j] = v
    return out
"""


@pytest.mark.parametrize("dtype,lo,hi", [("uint8", 0, 255), ("int16", -300, 300), ("uint16", 0, 65535)])
@pytest.mark.parametrize("gain", [1.5, 0.5, -3.0])
def test_float_then_int_clipping_runs_natively(dtype, lo, hi, gain):
    fn = make_function(CONTRAST.format(dtype=dtype, lo=lo, hi=hi), "f", namespace={"np": np})
    recs = check(fn, lambda: (image(np.uint8), gain), native=CPU_DEVICES)
    assert parallel_loops(recs, "cpu") == ["i"]
    assert "holds an int and then a float" in recs["gpu-emulated"][0]["reason"]


def test_float_then_int_out_of_the_arrays_range_declines():
    # 300 stored into a uint8 array: NumPy warns and wraps the int, truncates a float.
    fn = make_function(CONTRAST.format(dtype="uint8", lo=0, hi=300), "f", namespace={"np": np})
    recs = check(fn, lambda: (image(np.uint8), 2.5), native=False)
    assert "holds an int and then a float" in recs["cpu"][0]["reason"]


@pytest.mark.parametrize("x", [[0.5, 300.0, -7.0], [1.0, 2.0], []])
def test_float_then_int_kind_afterwards(x):
    src = """
    def f(x):
        v = 0.0
        for i in range(x.shape[0]):
            v = x[i] * 2.0
            if v > 100:
                v = 100
            elif v < 0:
                v = 0
        return v
    """
    fn = make_function(src, "f")
    check(fn, lambda: (np.array(x),), native=CPU_DEVICES)


def test_float_then_int_stored_into_float64():
    src = """
    def f(x, out):
        for i in range(x.shape[0]):
            v = x[i] - 0.5
            if v < 0:
                v = 0
            out[i] = v
    """
    fn = make_function(src, "f")
    check(fn, lambda: (np.linspace(-1, 1, 9), np.zeros(9)), native=CPU_DEVICES)


# Random programs: a variable started as an int or a float in each row,
# assigned an element (of every small, int and float dtype), a constant or a
# float expression under a data-dependent or index-dependent condition, then
# used in one of many ways (stores into arrays of every dtype, arithmetic,
# conditions, subscripts, calls). Whatever the engine accepts or declines,
# results must be CPython's; about half of them run natively.
_DTYPES = ["uint8", "int8", "uint16", "int16", "uint32", "float64", "float32", "int64"]
_VALUES = ["0", "255", "-3", "7", "0.0", "1.5", "-2.5", "100"]
_CONDITIONS = ["x[i, j] < m", "x[i, j] > m", "x[i, j] >= t", "j % 2 == 0", "x[i, j] != m"]
_USES = [
    "out[i] = m",
    "out[i] = m + 1",
    "out[i] = m * 2.0",
    "out[i] = m if m > 3 else 0",
    "acc += m",
    "acc = max(acc, m)",
    "out[i] = -m",
    "out[i] = float(m)",
    "out[i] = int(m)",
    "if m:\n            acc += 1",
    "if m == 4:\n            acc -= 1",
    "out[i] = lut[m % 4]",
    "out[i] = abs(m)",
    "acc = acc + m * m",
]


def _random_program(r):
    start, use, cond = r.choice(_VALUES), r.choice(_USES), r.choice(_CONDITIONS)
    assign = r.choice(["m = x[i, j]", "m = " + r.choice(_VALUES), "m = x[i, j] * 0.5", "m = t"])
    src = textwrap.dedent("""
        def f(x, out, lut, t):
            acc = 0
            for i in range(x.shape[0]):
                m = START
                for j in range(x.shape[1]):
                    if COND:
                        ASSIGN
                USE
            return acc, m
        """)
    for word, text in (("START", start), ("COND", cond), ("ASSIGN", assign), ("USE", use)):
        src = src.replace(word, text)
    x_dtype, out_dtype, t = r.choice(_DTYPES), r.choice(_DTYPES), r.choice([3, 0, 2.5, 300])

    def make():
        x = np.random.default_rng(5).integers(0, 9, (5, 4)).astype(x_dtype)
        return (x, np.zeros(5, dtype=out_dtype), np.arange(4) * 1.5, t)

    return src, make


@pytest.mark.parametrize("seed", range(40))
def test_random_programs_match_cpython(seed):
    src, make = _random_program(random.Random(seed))
    check(make_function(src, "f"), make, native=False)
