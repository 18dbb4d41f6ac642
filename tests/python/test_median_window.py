"""np.median of small windows inside a nest (the median filter), lowered by
_slices to a selection network over the window's elements: every function
runs in CPython and through loopscope.run on each device, and must give the
same values bit for bit, types and exceptions. Windows clipped at the
array's edge, holding NaN, or whose two middle elements overflow, stop the
native code and Python runs the loop; other forms keep a sentence.
"""

import numpy as np
import pytest

import loopscope
from differential import check, use_temporary_cache  # noqa: F401
from nestgen import make_function


def _fn(source, name, namespace=None):
    return make_function(source, name, namespace=namespace or {"np": np})


def _ran_natively(recs, devices=("cpu", "cpu-serial", "gpu-emulated")):
    for d in devices:
        assert recs[d] and all(r["status"] == "ok" for r in recs[d]), (d, recs[d])


def _image(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if dtype is np.bool_:
        return rng.integers(0, 2, shape).astype(bool)
    if np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        lo, hi = max(info.min, -(2**40)), min(info.max, 2**40)
        # few distinct values: ties in every window
        pool = rng.integers(lo, hi, 6, endpoint=True)
        return rng.choice(pool, shape).astype(dtype)
    pool = np.array([0.5, -1.25, 3.0, 1e30, -7.0, 2.0**-20, 1.0 / 3.0, 0.0, -0.0, 12.0])
    return rng.choice(pool, shape).astype(dtype)


DTYPES = [np.uint8, np.int16, np.int64, np.float32, np.float64, np.bool_]

FILTER = _fn(
    """
def median_filter(img, out):
    for i in range(1, img.shape[0] - 1):
        for j in range(1, img.shape[1] - 1):
            out[i, j] = np.median(img[i - 1:i + 2, j - 1:j + 2])
    return out
""",
    "median_filter",
)

FILTER5 = _fn(
    """
def median_filter5(img, out):
    for i in range(2, img.shape[0] - 2):
        for j in range(2, img.shape[1] - 2):
            out[i, j] = np.median(img[i - 2:i + 3, j - 2:j + 3])
    return out
""",
    "median_filter5",
)

EVEN = _fn(
    """
def even(img, out):
    for i in range(img.shape[0] - 3):
        for j in range(img.shape[1] - 1):
            out[i, j, 0] = np.median(img[i:i + 2, j:j + 2])
            out[i, j, 1] = np.median(img[i:i + 4, j])
    return out
""",
    "even",
)

RUNNING = _fn(
    """
def running(x, out):
    for i in range(2, x.shape[0] - 2):
        out[i, 0] = np.median(x[i - 1:i + 2])
        out[i, 1] = np.median(x[i - 2:i + 3])
        out[i, 2] = np.median(x[i - 2:i + 2])
    return out
""",
    "running",
)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", [0, 1])
def test_a_3x3_median_filter(dtype, seed):
    out = np.float64 if dtype is np.int64 else dtype  # a float stored into int64 stays Python
    recs = check(FILTER, lambda: (_image((8, 9), dtype, seed), np.zeros((8, 9), out)))
    _ran_natively(recs)


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_5x5_median_filter(dtype):
    recs = check(FILTER5, lambda: (_image((9, 10), dtype, 3), np.zeros((9, 10))))
    _ran_natively(recs)


@pytest.mark.parametrize("dtype", DTYPES)
def test_one_dimensional_windows_of_3_4_and_5(dtype):
    recs = check(RUNNING, lambda: (_image(30, dtype, 4), np.zeros((30, 3))))
    _ran_natively(recs)
    # into an array of the elements' type: the store converts the median
    # (a float stored into an int64 array stays Python, as for every float)
    check(RUNNING, lambda: (_image(30, dtype, 5), np.zeros((30, 3), dtype)), native=dtype is not np.int64)


@pytest.mark.parametrize("dtype", DTYPES)
def test_even_windows_mean_the_two_middle_elements(dtype):
    recs = check(EVEN, lambda: (_image((9, 8), dtype, 6), np.zeros((9, 8, 2))))
    _ran_natively(recs)


def test_float32_halves_in_float32():
    # Subnormal and large float32 values: the sum and the half rounded as
    # float32 (NumPy's mean of two float32 elements).
    def make():
        rng = np.random.default_rng(7)
        pool = np.array([1e-45, 3e-45, -1e-45, 7e-39, 1.7e38, 1.0, 1.0000001, -0.0, 3.0], np.float32)
        return rng.choice(pool, 40), np.zeros((40, 3), np.float32)

    _ran_natively(check(RUNNING, make))


def test_large_integers():
    def make():
        x = np.array([2**62 + 1, 2**62 + 3, -(2**63), 2**63 - 1, 5, 2**53 + 1] * 5, np.int64)
        return x, np.zeros((30, 3))

    _ran_natively(check(RUNNING, make))
    u = lambda: (np.array([2**64 - 1, 3, 2**63 + 5, 0, 2**53 + 1] * 6, np.uint64), np.zeros((30, 3)))  # noqa: E731
    _ran_natively(check(RUNNING, u))


@pytest.mark.parametrize("special", ["nan", "inf", "both_inf", "overflow"])
def test_nan_and_infinities(special):
    x = np.linspace(-3.0, 3.0, 30)
    if special == "nan":
        x[7] = np.nan
    elif special == "inf":
        x[7] = np.inf
        x[12] = -np.inf
    elif special == "both_inf":
        x[8:12] = [np.inf, -np.inf, np.inf, -np.inf]  # inf + -inf in the middle of 4
    else:
        x[14:16] = 1.5e308
    recs = check(RUNNING, lambda: (x.copy(), np.zeros((30, 3))), native=special == "inf")
    if special != "inf":
        for d in ("cpu", "cpu-serial"):
            assert any(r["status"] == "fallback" for r in recs[d]), recs[d]


def test_overflow_of_float32_middle_elements():
    x = np.full(30, 3e38, np.float32)
    check(RUNNING, lambda: (x.copy(), np.zeros((30, 3), np.float32)), native=False)


@pytest.mark.parametrize("values", [[0.0, -0.0], [-0.0], [0.0, -0.0, 1.0, -1.0]])
def test_signed_zeros_give_positive_zero(values):
    def make():
        rng = np.random.default_rng(len(values))
        return rng.choice(np.array(values), (8, 9)), np.zeros((8, 9))

    _ran_natively(check(FILTER, make))
    _ran_natively(check(EVEN, lambda: (make()[0], np.zeros((8, 9, 2)))))


SCALAR = _fn(
    """
def scalar(x, t):
    n = 0
    for i in range(1, x.shape[0] - 1):
        m = np.median(x[i - 1:i + 2])
        e = np.median(x[i - 1:i + 1])
        if m > t:
            n += 1
    return m, e, n
""",
    "scalar",
)


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_type_of_a_scalar_assigned_from_the_median(dtype):
    recs = check(SCALAR, lambda: (_image(20, dtype, 8), 0.25), native=dtype is not np.float32)
    if dtype is np.float32:
        assert "is an np.float32 for float32 elements" in recs["cpu"][0]["reason"], recs["cpu"]
    else:
        _ran_natively(recs)


CLIPPED = _fn(
    """
def clipped(img, out):
    for i in range(img.shape[0]):
        for j in range(img.shape[1]):
            out[i, j] = np.median(img[max(i - 1, 0):i + 2, j - 1:j + 2])
    return out
""",
    "clipped",
)

EDGES = _fn(
    """
def edges(x, out, lo):
    for i in range(lo, x.shape[0] + 1):
        out[i - lo] = np.median(x[i - 1:i + 2])
    return out
""",
    "edges",
)


@pytest.mark.parametrize("lo", [0, 1, 2])
def test_windows_clipped_at_the_border_run_as_python(lo):
    # x[-1:2] is empty (NumPy warns, gives NaN), x[n - 1:n + 2] has one
    # element: the guard stops the native code and Python runs the loop.
    recs = check(EDGES, lambda: (_image(9, np.float64, lo), np.zeros(12), lo), native=False)
    if lo == 1:
        assert any(r["status"] == "fallback" for r in recs["cpu"]), recs["cpu"]
        # Every device's sentence names the clipped slice (the generated CUDA
        # meets the window's subscript before the slice's check).
        for device in ("cpu", "cpu-serial", "gpu-emulated"):
            stopped = [r["reason"] for r in recs[device] if r["status"] == "fallback"]
            assert stopped and all("clipped at the array's edge" in why for why in stopped), (device, recs[device])
    check(CLIPPED, lambda: (_image((6, 7), np.uint8, lo), np.zeros((6, 7))), native=False)


def test_an_index_error_after_partial_writes():
    fn = _fn(
        """
def raises(a, out, stop):
    for i in range(stop):
        out[i] = np.median(a[i, 0:3])
    return out
""",
        "raises",
    )
    check(fn, lambda: (_image((4, 5), np.float64, 1), np.zeros(8), 6), native=False)
    _ran_natively(check(fn, lambda: (_image((4, 5), np.float64, 1), np.zeros(8), 4)))


def test_views_in_any_order():
    recs = check(FILTER, lambda: (np.asfortranarray(_image((8, 9), np.uint8, 2))[::-1], np.zeros((8, 9))))
    _ran_natively(recs)


def test_median_imported_from_numpy():
    ns = {"np": np}
    exec("from numpy import median", ns)
    fn = _fn(
        """
def imported(x, out):
    for i in range(1, x.shape[0] - 1):
        out[i] = median(x[i - 1:i + 2])
    return out
""",
        "imported",
        ns,
    )
    _ran_natively(check(fn, lambda: (_image(20, np.int16, 9), np.zeros(20))))


DECLINED = [
    ("unknown_2d", "out[i] = np.median(b[i:i + w, 0:w])", "whose lengths are known only when the loop runs"),
    ("too_large", "out[i] = np.median(b[i:i + 8, 0:7])", "a window of 56 elements"),
    ("axis", "out[i] = np.median(a[i:i + 3], axis=0)", "passes axis=, which native code does not compute"),
    ("out", "out[i] = np.median(a[i:i + 3], out=None)", "passes out=, which native code does not compute"),
    ("arithmetic", "out[i] = np.median(a[i:i + 3] * 2)", "takes the median of a[i:i + 3] * 2"),
    ("empty", "out[i] = np.median(a[i:i])", "takes an empty window (NumPy warns and gives nan)"),
    ("whole", "out[i] = np.median(a)", "works on a whole array or slice"),
]


@pytest.mark.parametrize("name,stmt,sentence", DECLINED)
def test_other_medians_say_why(name, stmt, sentence):
    fn = _fn(
        f"""
def declined_{name}(a, b, out, w):
    for i in range(out.shape[0]):
        {stmt}
    return out
""",
        f"declined_{name}",
    )

    def make():
        return _image(60, np.float64, 4) + 0.5, _image((60, 9), np.float64, 5), np.zeros(5), 3

    check(fn, make, native=False)
    reason = loopscope.explain(fn, *make())["nests"][0]["decline"]["reason"]
    assert sentence in reason, reason


def test_a_list_or_float16_runs_as_python():
    recs = check(RUNNING, lambda: (list(np.linspace(0.0, 1.0, 30)), np.zeros((30, 3))), native=False)
    reason = recs["cpu"][0]["reason"]
    assert "which is not a NumPy array" in reason or "is a Python list" in reason, reason
    recs = check(RUNNING, lambda: (_image(30, np.float16, 1), np.zeros((30, 3))), native=False)
    assert "are float16, whose median native code does not compute" in recs["cpu"][0]["reason"], recs["cpu"]


def test_a_7x7_window():
    fn = _fn(
        """
def median7(img, out):
    for i in range(3, img.shape[0] - 3):
        for j in range(3, img.shape[1] - 3):
            out[i, j] = np.median(img[i - 3:i + 4, j - 3:j + 4])
    return out
""",
        "median7",
    )
    _ran_natively(check(fn, lambda: (_image((9, 10), np.float64, 11), np.zeros((9, 10)))))


PLACES = _fn(
    """
def places(x, out, t):
    n = 0
    for i in range(1, x.shape[0] - 1):
        if np.median(x[i - 1:i + 2]) > t:
            n += 1
        out[i] += np.median(x[i - 1:i + 2]) * 2
        out[i - 1] = np.median(x[i - 1:i + 1]) - 1
    return n
""",
    "places",
)


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_median_in_a_test_or_an_expression(dtype):
    recs = check(PLACES, lambda: (_image(25, dtype, 12), np.zeros(25), 0.5), native=dtype is not np.float32)
    if dtype is np.float32:
        assert "is an np.float32 for float32 elements" in recs["cpu"][0]["reason"], recs["cpu"]
    else:
        _ran_natively(recs)


def test_float32_medians_stored_into_a_list_keep_their_type():
    fn = _fn(
        """
def into_list(x, out):
    for i in range(1, x.shape[0] - 1):
        out[i] = np.median(x[i - 1:i + 2])
    return out
""",
        "into_list",
    )
    check(fn, lambda: (_image(12, np.float32, 13), [0.0] * 12), native=False)
    _ran_natively(check(fn, lambda: (_image(12, np.float32, 13), np.zeros(12, np.float32))))


ALIASED = """
def imported(x, out):
    for i in range(1, x.shape[0] - 1):
        out[i] = median(x[i - 1:i + 2])
    return out
"""


def test_median_imported_from_numpy_then_replaced():
    ns = {"np": np}
    exec("from numpy import median", ns)
    fn = _fn(ALIASED, "imported", ns)
    make = lambda: (_image(20, np.float64, 9), np.zeros(20))  # noqa: E731
    _ran_natively(check(fn, make))
    fn.__globals__["median"] = np.mean  # the loop now calls another function
    recs = check(fn, make, native=False)
    assert all(r["status"] != "ok" for r in recs["cpu"]), recs["cpu"]


def test_median_imported_without_a_name_for_numpy_runs_as_python():
    ns = {"np": None}
    exec("from numpy import median", ns)
    fn = _fn(ALIASED, "imported", ns)
    make = lambda: (_image(20, np.float64, 9), np.zeros(20))  # noqa: E731
    check(fn, make, native=False)
    reason = loopscope.explain(fn, *make())["nests"][0]["decline"]["reason"]
    assert "median" in reason, reason


def test_a_median_filter_in_place_reads_the_values_it_wrote():
    fn = _fn(
        """
def in_place(img):
    for i in range(1, img.shape[0] - 1):
        for j in range(1, img.shape[1] - 1):
            img[i, j] = np.median(img[i - 1:i + 2, j - 1:j + 2])
    return img
""",
        "in_place",
    )
    for dtype in (np.uint8, np.float64):
        _ran_natively(check(fn, lambda: (_image((8, 9), dtype, 14),)))


MOVING = _fn(
    """
def moving(x, w, out):
    for i in range(out.shape[0]):
        out[i, 0] = np.median(x[i:i + w])
        out[i, 1] = np.median(x[i + 1:w + i + 1])
    return out
""",
    "moving",
)


@pytest.mark.parametrize("w", [1, 2, 3, 4, 5, 8, 9, 49])
@pytest.mark.parametrize("dtype", DTYPES)
def test_windows_of_a_length_known_when_the_loop_runs(w, dtype):
    recs = check(MOVING, lambda: (_image(80, dtype, w), w, np.zeros((25, 2))))
    _ran_natively(recs)


@pytest.mark.parametrize("w", [0, -3, 50, 70])
def test_windows_empty_negative_or_long_run_as_python(w):
    recs = check(MOVING, lambda: (_image(200, np.float64, 1), w, np.zeros((25, 2))), native=False)
    for d in ("cpu", "cpu-serial"):
        assert all(r["status"] == "fallback" for r in recs[d]), recs[d]


def test_windows_of_a_length_known_when_the_loop_runs_with_nan_and_overflow():
    def make(special):
        x = np.linspace(-2.0, 2.0, 80)
        x[30:32] = special
        return x, 4, np.zeros((70, 2))

    check(MOVING, lambda: make(np.nan), native=False)
    check(MOVING, lambda: make(1.5e308), native=False)
    f32 = lambda: (_image(80, np.float32, 3), 4, np.zeros((25, 2), np.float32))  # noqa: E731
    _ran_natively(check(MOVING, f32))
