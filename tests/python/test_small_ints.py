"""Arrays of NumPy's small integer types: uint8, int8, uint16, int16, uint32
and uint64 (images, masks, counts).

Their elements are NumPy scalars of the array's type (np.uint8, ...). The CPU
variant reads them exactly and keeps what NumPy 1.24 computes with them
without a small type of its own: int(), float(), math functions, comparisons,
arithmetic with a Python int or np.int64 (computed in int64: ``255 - img[i]``
is an np.int64) and with a Python float or np.float64 (in float64). Stores
follow NumPy's casts: a NumPy integer wraps silently, a Python int out of the
type's range (a DeprecationWarning in NumPy 1.24) and a float out of it stop
the run so Python runs the loop and warns or raises. Arithmetic between two
small integers wraps at their common type, NumPy's warning stopping the run;
an element in a variable is written back as its NumPy type. Unary minus,
abs(), min() and max() of them and a common type of int32 are declined. An
np.uint64 mixes with signed integers in float64 (test_dtypes_u64_f16.py has
its own cases). The GPU variant (checked on the emulator) reads and stores
these arrays as the CPU does, and declines arithmetic between two of them
(np.uint64 aside) and a variable holding one.

Every case runs in CPython and through ``loopscope.run`` on each device,
and compares the return value and its type, every array bit for bit, the
exception, and the warnings (category, message, line).
"""

import os
import warnings

import numpy as np
import pytest

import loopscope
import nestgen
from cpu_tiers import cpu_tier
from loopscope import _run

DTYPES = [np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.uint64]
DEVICES = [("cpu", "quick"), ("cpu", "optimised"), ("cpu-serial", "quick"), ("gpu-emulated", None), ("auto", None)]


@pytest.fixture(autouse=True, scope="module")
def _cache_dir(tmp_path_factory):
    if "LOOPSCOPE_CACHE_DIR" not in os.environ:
        os.environ["LOOPSCOPE_CACHE_DIR"] = str(tmp_path_factory.getbasetemp() / "loopscope-cache")
    yield


def edges(dt):
    info = np.iinfo(dt)
    vals = [0, 1, 2, info.max, info.max - 1, info.min, info.min + 1, 100, 200 % (int(info.max) + 1)]
    return np.array(vals, dtype=dt)


def outcome(fn, args, device=None, tier=None):
    args = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    _run.reset_last_runs()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            if device is None:
                r = ("ok", fn(*args))
            elif tier is None:
                r = ("ok", loopscope.run(fn, *args, device=device))
            else:
                with cpu_tier(tier):
                    r = ("ok", loopscope.run(fn, *args, device=device))
        except Exception as exc:  # compared with Python's
            r = ("raise", type(exc).__name__, str(exc))
    shown = [(w.category.__name__, str(w.message), w.lineno) for w in seen]
    arrays = [(a.dtype.str, a.tobytes()) for a in args if isinstance(a, np.ndarray)]
    statuses = [rec["status"] for rec in _run.last_runs().values()]
    return r, shown, arrays, statuses


def assert_same_value(w, g):
    assert type(g) is type(w)
    if isinstance(w, tuple):
        assert len(g) == len(w)
        for a, b in zip(w, g):
            assert_same_value(a, b)
    elif isinstance(w, np.ndarray):
        assert g.dtype == w.dtype and g.shape == w.shape and g.tobytes() == w.tobytes()
    else:
        assert g == w or (g != g and w != w)


def assert_same(want, got):
    (rw, ww, xw, _), (rg, wg, xg, _) = want, got
    assert wg == ww
    assert xg == xw
    assert rg[0] == rw[0]
    if rw[0] == "ok":
        assert_same_value(rw[1], rg[1])
    else:
        assert rg == rw


def fn(src):
    return nestgen.make_function(src, "k")


LOOP = "def k(A, B, C, D):\n    for i in range(A.shape[0]):\n"

# name -> (body lines, which dtypes run natively on the CPU with clean data)
CASES = {
    "copy": ("        B[i] = A[i]\n", "all"),
    "int_of_element": ("        C[i] = int(A[i]) * 3 - 7\n", "all"),
    "float_of_element": ("        D[i] = float(A[i]) * 0.5\n", "all"),
    "with_python_float": ("        D[i] = 0.299 * A[i] - A[i] / 3.0 + (A[i] - 128.0) * 1.5\n", "all"),
    "with_np_float64": ("        D[i] = A[i] * D[i] + A[i] // D[0] + A[i] % 2.5\n", "all"),
    "python_int_minus_element": ("        C[i] = 255 - A[i]\n", "all but uint64"),
    "wrapping_store_of_np_int64": ("        A[i] = 255 - A[i]\n", "all but uint64"),
    "with_np_int64": ("        C[i] = A[i] * C[i] + A[i] // 3 + A[i] % 7\n", "all but uint64"),
    "power_with_int": ("        C[i] = A[i] ** 3 + A[i] ** 0\n", "all but uint64"),
    "true_division_by_element": ("        D[i] = 1.0 / A[i]\n", "all"),
    "floor_division_by_element": ("        C[i] = 1000 // A[i]\n", "all but uint64"),
    "comparisons": (
        "        if A[i] > 100 and A[i] != B[i] or A[i] < -1 or A[i] == 2.0 or A[i] >= D[i]:\n"
        "            C[i] = 1\n",
        "all",
    ),
    "compare_two_elements": ("        C[i] = 1 if A[i] < B[i] else 0\n", "all"),
    "truth_of_element": ("        if A[i]:\n            C[i] = 7\n", "all"),
    "math_function": ("        D[i] = math.sqrt(A[i]) + math.floor(A[i])\n", "all"),
    "store_python_int": ("        B[i] = 300\n", "uint16 int16 uint32 uint64"),
    "store_negative_python_int": ("        B[i] = -1\n", "int8 int16"),
    "store_python_int_from_int": ("        B[i] = min(int(A[i]) + 40, 255)\n", "uint8 uint16 int16 uint32 uint64"),
    "store_float": ("        B[i] = D[i] * 2.0\n", "uint8 uint16 int16 uint32"),
    "store_np_int64": ("        B[i] = C[i]\n", "all"),
    "store_bool": ("        B[i] = A[i] > 3\n", "all"),
    "sum_of_two_elements": ("        B[i] = A[i] + B[i]\n", "uint8 uint16 int16 uint32 uint64"),
    "difference_of_two_elements": ("        C[i] = A[i] - B[i]\n", "int8 int16"),
    "product_of_two_elements": ("        C[i] = A[i] * B[i]\n", "uint16 int16 uint32"),
    "division_of_two_elements": (
        "        C[i] = A[i] // B[i] + A[i] % B[i]\n        D[i] = A[i] / B[i]\n",
        "all but uint64",
    ),
    "two_elements_then_int": ("        C[i] = (A[i] + B[i]) * 2 - 1\n", "uint8 uint16 int16 uint32"),
    "power_of_two_elements": ("        C[i] = A[i] ** B[0]\n", "none"),
    "unary_minus": ("        C[i] = -A[i]\n", "none"),
    "abs_of_element": ("        C[i] = abs(A[i])\n", "none"),
    "min_of_element": ("        C[i] = min(A[i], 5)\n", "none"),
    "element_in_variable": ("        v = A[i]\n        C[i] = int(v) + v\n        D[i] = v * 0.5\n", "all but uint64"),
    # an int or an np.uint8 ... by the data (test_mixed_kind_vars.py)
    "variable_int_then_element": (
        "        v = 255\n        if A[i] < v:\n            v = A[i]\n        C[i] = v\n",
        "all but uint64",
    ),
    "swap": ("        A[i], B[i] = B[i], A[i]\n", "all"),
    "indirect_subscript": ("        C[i] = C[A[i] % 5]\n", "all but uint64"),
}


def native_dtypes(spec):
    if spec == "all":
        return {np.dtype(d).name for d in DTYPES}
    if spec == "all but uint64":
        return {np.dtype(d).name for d in DTYPES} - {"uint64"}
    if spec == "none":
        return set()
    return set(spec.split())


def arguments(dt, data):
    A = edges(dt)
    n = A.shape[0]
    B = A[::-1].copy()
    C = np.arange(-3, n - 3, dtype=np.int64) * 150
    D = np.linspace(-3.5, 400.7, n)
    if data == "clean":  # values that stay in every type's range and nothing that divides by zero
        A = np.array([1, 2, 3, 7, 100, 120, 5, 9, 4], dtype=dt)
        B = A[::-1].copy()
        C = np.array([3, 1, 4, 1, 5, 9, 2, 6, 5], dtype=np.int64)
        D = np.array([0.5, 1.5, 2.5, 3.7, 100.2, 7.0, 1.0, 2.0, 120.9])
    return [A, B, C, D]


@pytest.mark.parametrize("dt", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_cpython(name, dt):
    body, _ = CASES[name]
    f = fn(LOOP + body + "    return A[0]\n")
    for data in ("edges", "clean"):
        args = arguments(dt, data)
        want = outcome(f, args)
        for device, tier in DEVICES:
            got = outcome(f, args, device, tier)
            assert_same(want, got)


@pytest.mark.parametrize("dt", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", sorted(CASES))
def test_runs_natively_where_exact(name, dt):
    body, spec = CASES[name]
    native = native_dtypes(spec)
    f = fn(LOOP + body)
    args = arguments(dt, "clean")
    for device, tier in [("cpu", "quick"), ("cpu-serial", "optimised")]:
        _, _, _, statuses = outcome(f, args, device, tier)
        if np.dtype(dt).name in native:
            assert statuses == ["ok"], (device, statuses)
        else:
            assert statuses and "ok" not in statuses, (device, statuses)
    _, _, _, statuses = outcome(f, args, "gpu-emulated")
    if name in GPU_NATIVE and np.dtype(dt).name in native:
        assert statuses == ["ok"], ("gpu-emulated", statuses)
    elif name in GPU_DECLINED and (name == "element_in_variable" or np.dtype(dt).name != "uint64"):
        # (np.uint64 arithmetic runs in the generated CUDA: ls_u64_add ...)
        assert "ok" not in statuses, ("gpu-emulated", statuses)


# Cases the GPU variant runs as the CPU variant does; it declines arithmetic
# between two small integers and a variable that holds one.
GPU_NATIVE = {
    "copy",
    "int_of_element",
    "float_of_element",
    "with_python_float",
    "python_int_minus_element",
    "wrapping_store_of_np_int64",
    "comparisons",
    "compare_two_elements",
    "truth_of_element",
    "store_python_int",
    "store_negative_python_int",
    "store_np_int64",
    "store_bool",
    "store_float",
    "swap",
    "indirect_subscript",
}
GPU_DECLINED = {
    "element_in_variable",
    "variable_int_then_element",
    "sum_of_two_elements",
    "difference_of_two_elements",
    "product_of_two_elements",
    "two_elements_then_int",
}


@pytest.mark.parametrize("dt", DTYPES[:-1], ids=lambda d: np.dtype(d).name)
def test_wrapping_without_warnings_runs_natively(dt):
    # np.errstate(all="ignore"): NumPy wraps silently, and so does native code.
    f = fn(LOOP + "        B[i] = A[i] * B[i] - A[i]\n")
    args = arguments(dt, "edges")
    with np.errstate(all="ignore"):
        want = outcome(f, args)
        for device, tier in DEVICES:
            got = outcome(f, args, device, tier)
            assert_same(want, got)
            if device.startswith("cpu"):
                assert got[3] == ["ok"], (device, got[3])


def test_decline_sentences():
    f = fn(LOOP + "        B[i] = A[i] + C[i]\n")
    args = arguments(np.uint8, "clean")
    outcome(f, [args[0], args[1], args[2].astype(np.int32), args[3]], "cpu", "quick")
    (rec,) = _run.last_runs().values()
    assert rec["status"] == "declined"
    assert "np.uint8 and np.int32" in rec["reason"] and "int() or float()" in rec["reason"]
    f = fn(LOOP + "        C[i] = A[i] + B[i]\n")
    args = arguments(np.uint16, "clean")
    outcome(f, [args[0], args[1].astype(np.int8), args[2], args[3]], "cpu", "quick")
    (rec,) = _run.last_runs().values()
    assert "'+' between np.uint16 and np.int8" in rec["reason"] and "int32" in rec["reason"]
    f = fn(LOOP + "        v = 0\n        v = A[i]\n        C[i] = v + 1\n")
    outcome(f, arguments(np.int16, "clean"), "cpu", "quick")
    (rec,) = _run.last_runs().values()
    assert "'v' holds an int and then an np.int16" in rec["reason"] and "this use is not one" in rec["reason"]
    f = fn(LOOP + "        C[i] = A[i]\n")
    outcome(f, arguments(np.uint64, "clean"), "cpu", "quick")
    (rec,) = _run.last_runs().values()
    assert "uint64" in rec["reason"]


# The corpus's image kernels, on the edge values of uint8 images.
def grayscale_uint8(img):
    h, w, _ = img.shape
    gray = np.zeros((h, w), dtype=np.uint8)
    for i in range(h):
        for j in range(w):
            gray[i, j] = 0.299 * img[i, j, 0] + 0.587 * img[i, j, 1] + 0.114 * img[i, j, 2]
    return gray


def invert_uint8(img):
    for i in range(img.shape[0]):
        for j in range(img.shape[1]):
            img[i, j] = 255 - img[i, j]


def brighten_uint8(img, delta):
    h, w = img.shape
    out = np.empty_like(img)
    for y in range(h):
        for x in range(w):
            out[y, x] = min(int(img[y, x]) + delta, 255)
    return out


def emboss_uint8(img):
    h, w = img.shape
    out = np.zeros_like(img)
    for i in range(1, h):
        for j in range(1, w):
            v = int(img[i, j]) - int(img[i - 1, j - 1]) + 128
            out[i, j] = max(0, min(255, v))
    return out


def lut_and_histogram(img):
    hist = np.zeros(256, dtype=np.int64)
    for i in range(img.shape[0]):
        for j in range(img.shape[1]):
            hist[img[i, j]] += 1
    lut = np.zeros(256, dtype=np.uint8)
    for v in range(256):
        lut[v] = (hist[v] * 255) // (v + 1)
    out = np.empty_like(img)
    for i in range(img.shape[0]):
        for j in range(img.shape[1]):
            out[i, j] = lut[img[i, j]]
    return out


def count_live(board):
    n, m = board.shape
    c = 0
    for i in range(n):
        for j in range(m):
            c += board[i, j]
    return c


def last_pixel(img):
    h, w, _ = img.shape
    r = g = b = 0
    for i in range(h):
        for j in range(w):
            r = img[i, j, 0]
            g = img[i, j, 1]
            b = img[i, j, 2]
    return r, g, b


def sepia_uint8(img):
    h, w, _ = img.shape
    out = np.empty_like(img)
    for i in range(h):
        for j in range(w):
            r = img[i, j, 0]
            g = img[i, j, 1]
            b = img[i, j, 2]
            out[i, j, 0] = min(255, int(0.393 * r + 0.769 * g + 0.189 * b))
            out[i, j, 1] = min(255, int(0.349 * r + 0.686 * g + 0.168 * b))
            out[i, j, 2] = min(255, int(0.272 * r + 0.534 * g + 0.131 * b))
    return out, r, g, b


KERNELS = [
    (grayscale_uint8, lambda r: (r.integers(0, 256, (9, 11, 3), dtype=np.uint8),), 1),
    (invert_uint8, lambda r: (r.integers(0, 256, (9, 11), dtype=np.uint8),), 1),
    (brighten_uint8, lambda r: (r.integers(0, 256, (9, 11), dtype=np.uint8), 40), 1),
    (brighten_uint8, lambda r: (r.integers(0, 256, (9, 11), dtype=np.uint8), -300), 0),
    (emboss_uint8, lambda r: (r.integers(0, 256, (9, 11), dtype=np.uint8),), 1),
    (lut_and_histogram, lambda r: (r.integers(0, 256, (9, 11), dtype=np.uint8),), 3),
    (count_live, lambda r: ((r.random((9, 11)) < 0.4).astype(np.uint8),), 1),
    (sepia_uint8, lambda r: (r.integers(0, 256, (9, 11, 3), dtype=np.uint8),), 1),
    (last_pixel, lambda r: (r.integers(0, 256, (9, 11, 3), dtype=np.uint8),), 1),
    (last_pixel, lambda r: (r.integers(0, 256, (0, 11, 3), dtype=np.uint8),), None),
]


@pytest.mark.parametrize("k", range(len(KERNELS)))
def test_corpus_style_kernels(k):
    kernel, make, native = KERNELS[k]
    r = np.random.default_rng(k)
    args = list(make(r))
    if args[0].size:
        args[0][0, 0] = 255
        args[0][-1, -1] = 0
    want = outcome(kernel, args)
    for device, tier in DEVICES:
        got = outcome(kernel, args, device, tier)
        assert_same(want, got)
        if device.startswith("cpu") and native is not None:
            assert got[3].count("ok") == native, (device, got[3])
