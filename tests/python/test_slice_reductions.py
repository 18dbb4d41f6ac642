"""Reductions of small slices inside a nest (`np.sum(img[i:i + 3, j:j + 3] *
k)`, `a[i, j - 1:j + 2].sum()`, `np.mean(x[i:i + 4])`), lowered by _slices
to sums of their elements in NumPy's order: one accumulator below 8
elements, NumPy's pairwise blocks of 8 from 8 to 128. Every function runs in
CPython and through loopscope.run on each device with values chosen so
that the order of the additions shows (1e16 beside 1.0, -0.0), and must
give the same values bit for bit, types and exceptions. A slice clipped by
the array's end runs as Python (the guard stops the native code); other
reductions keep the analysis's sentence.
"""

import numpy as np
import pytest

import loopscope
from differential import check, parallel_loops, use_temporary_cache  # noqa: F401
from nestgen import make_function


def _fn(source, name):
    return make_function(source, name, namespace={"np": np})


_VALUES = np.array([1e16, 1.0, -1e16, 3.0, 0.5, -0.0, 2.0**53, 1.0000001, 7.0])


def _mix(shape, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return rng.choice(_VALUES, size=shape).astype(dtype)


def _ran_natively(recs, devices=("cpu", "cpu-serial", "gpu-emulated")):
    for d in devices:
        assert recs[d] and all(r["status"] == "ok" for r in recs[d]), (d, recs[d])


CONV = _fn(
    """
def conv(img, k, out):
    for i in range(img.shape[0] - 2):
        for j in range(img.shape[1] - 2):
            out[i, j] = np.sum(img[i:i + 3, j:j + 3] * k)
    return out
""",
    "conv",
)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_3x3_kernel_sums_in_numpys_pairwise_order(seed):
    recs = check(CONV, lambda: (_mix((9, 10), seed), _mix((3, 3), seed + 7), np.zeros((7, 8))))
    _ran_natively(recs)
    assert parallel_loops(recs, "cpu")[0]


def test_a_3x3_kernel_of_float32():
    recs = check(CONV, lambda: (_mix((7, 7), 3, np.float32), _mix((3, 3), 4, np.float32), np.zeros((5, 5), np.float32)))
    _ran_natively(recs)


WINDOWS = _fn(
    """
def windows(a, out):
    for i in range(a.shape[0] - 20):
        out[i, 0] = np.sum(a[i:i + 1])
        out[i, 1] = np.sum(a[i:i + 3])
        out[i, 2] = a[i + 1:i + 8].sum()
        out[i, 3] = np.sum(a[i:i + 8])
        out[i, 4] = np.sum(a[i:i + 9] * a[i + 1:i + 10])
        out[i, 5] = np.sum(a[i:i + 17] - a[i + 3:i + 20])
        out[i, 6] = np.mean(a[i:i + 4])
        out[i, 7] = np.mean(a[i:i + 11])
    return out
""",
    "windows",
)


@pytest.mark.parametrize("seed", [0, 5])
def test_one_dimensional_windows_of_every_length(seed):
    recs = check(WINDOWS, lambda: (_mix(40, seed), np.zeros((20, 8))))
    _ran_natively(recs)


def test_negative_zeros_sum_to_zero():
    recs = check(WINDOWS, lambda: (np.full(30, -0.0), np.zeros((10, 8))))
    _ran_natively(recs)


ROWS = _fn(
    """
def rows(a, out):
    for i in range(a.shape[0]):
        for j in range(1, a.shape[1] - 1):
            out[i, j] = np.sum(a[i, j - 1:j + 2]) - np.mean(a[i, j - 1:j + 2])
    return out
""",
    "rows",
)


def test_a_slice_beside_an_integer_index():
    recs = check(ROWS, lambda: (_mix((6, 12), 2), np.zeros((6, 12))))
    _ran_natively(recs)
    # A strided view of a larger array: the same order.
    recs = check(ROWS, lambda: (_mix((12, 30), 3)[::2, 1::2], np.zeros((6, 15))))
    _ran_natively(recs)


@pytest.mark.parametrize("dtype", [np.int64, np.uint64])
def test_integer_sums(dtype):
    small = lambda: np.arange(24, dtype=dtype) * dtype(3) + dtype(2**20)  # noqa: E731
    recs = check(WINDOWS, lambda: (small(), np.zeros((4, 8))), native=dtype is np.int64)
    if dtype is np.int64:
        _ran_natively(recs)
    # Sums that wrap around (NumPy's array sum wraps silently, its scalars
    # warn): the native code stops and Python runs the loop.
    big = lambda: np.array([2**62, 3, 2**62, 5, 2**61, 7, 1, 9] * 3, dtype)  # noqa: E731
    check(WINDOWS, lambda: (big(), np.zeros((4, 8))), native=False)


SCALAR = _fn(
    """
def scalar(a, w):
    t = 0.0
    for i in range(a.shape[0] - 2):
        s = np.sum(a[i:i + 3])
        m = np.mean(a[i:i + 3])
        if a[i:i + 2].sum() > w:
            t += s * m
    return s, m, t
""",
    "scalar",
)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.int16, np.uint8, np.bool_])
def test_the_type_of_the_result(dtype):
    make = lambda: (_mix(11, 9).astype(dtype) if dtype is not np.bool_ else _mix(11, 9) > 1.0, 2)  # noqa: E731
    recs = check(SCALAR, make, native=dtype in (np.float64, np.int64))
    if dtype not in (np.float64, np.int64):
        reason = recs["cpu"][0]["reason"]
        assert "which np.sum adds as another type" in reason or "np.mean adds" in reason, reason


EDGES = _fn(
    """
def edges(a, out, lo):
    for i in range(lo, a.shape[0] + 2):
        out[i - lo] = np.sum(a[i - 1:i + 2]) + np.mean(a[i:i + 3])
    return out
""",
    "edges",
)


@pytest.mark.parametrize("lo", [0, 1, 2])
def test_slices_clipped_at_the_edges_give_pythons_results(lo):
    # Python clips a[-1:2] to nothing and a[n - 1:n + 2] to one element:
    # the guard stops the native code and the loop runs as Python.
    check(EDGES, lambda: (_mix(9, lo), np.zeros(12), lo), native=False)


@pytest.mark.parametrize("device", ["cpu", "cpu-serial"])
def test_a_stopped_run_says_a_slice_was_clipped(device):
    """The check stops the native code through the division-by-zero trap;
    the record says what the check is about. (The generated CUDA checks the
    clipped element's subscript first, and says so.)"""
    from loopscope import _run

    _run.reset_last_runs()
    loopscope.run(EDGES, _mix(9, 0), np.zeros(12), 0, device=device)
    stopped = [r for r in _run.last_runs().values() if r["status"] == "fallback"]
    assert stopped, _run.last_runs()
    assert all("a slice clipped at the array's edge or empty" in r["reason"] for r in stopped), stopped


INSIDE = _fn(
    """
def inside(a, out):
    for i in range(1, a.shape[0] - 1):
        out[i] = np.sum(a[i - 1:i + 2])
    return out
""",
    "inside",
)


def test_short_arrays_and_no_iterations():
    for n in (0, 1, 2, 3, 5):
        check(INSIDE, lambda: (_mix(n, n), np.zeros(n)), native=False)
    _ran_natively(check(INSIDE, lambda: (_mix(6, 1), np.zeros(6))))


RAISES = _fn(
    """
def raises(a, out, stop):
    for i in range(stop):
        out[i] = np.sum(a[i, 0:3])
    return out
""",
    "raises",
)


def test_an_index_error_after_partial_writes():
    check(RAISES, lambda: (_mix((4, 5), 1), np.zeros(8), 6), native=False)
    _ran_natively(check(RAISES, lambda: (_mix((4, 5), 1), np.zeros(8), 4)))


def test_arrays_not_in_c_order_run_as_python():
    recs = check(CONV, lambda: (np.asfortranarray(_mix((6, 6), 1)), _mix((3, 3), 2), np.zeros((4, 4))), native=False)
    assert "not laid out in C order" in recs["cpu"][0]["reason"]
    recs = check(ROWS, lambda: (_mix((6, 12), 2)[:, ::-1], np.zeros((6, 12))), native=False)
    assert "not laid out in C order" in recs["cpu"][0]["reason"]


def test_a_kernel_of_another_shape_runs_as_python():
    recs = check(CONV, lambda: (_mix((6, 6), 1), _mix((1, 3), 2), np.zeros((4, 4))), native=False)
    assert "combines slices of shape (3, 3) with k of shape (1, 3)" in recs["cpu"][0]["reason"]


DECLINED = [
    ("long", "out[i] = np.sum(a[i:i + 200])"),
    ("two_dimensional_unknown", "out[i] = np.sum(a[i:i + w, 0:2])"),
    ("axis", "out[i] = np.sum(a[i:i + 3], axis=0)"),
    ("dtype", "out[i] = np.sum(a[i:i + 3], dtype=np.float32)"),
    ("empty", "out[i] = np.sum(a[i:i])"),
    ("whole", "out[i] = np.sum(a[i:])"),
]


@pytest.mark.parametrize("name,stmt", DECLINED)
def test_other_reductions_keep_the_sentence(name, stmt):
    fn = _fn(
        f"""
def declined_{name}(a, out, w):
    for i in range(out.shape[0]):
        {stmt}
    return out
""",
        f"declined_{name}",
    )
    a = _mix((300, 3), 4) if "two" in name else _mix(300, 4)
    check(fn, lambda: (a.copy(), np.zeros(5), 3), native=False)
    reason = loopscope.explain(fn, a, np.zeros(5), 3)["nests"][0]["decline"]["reason"]
    assert "works on a whole array or slice" in reason or "keyword" in reason, reason


# --- copies between slices ---------------------------------------------------

COPIES = _fn(
    """
def copies(a, b, n):
    for r in range(n):
        a[r, :] = b[r, :]
        a[1:-1, 0] = b[2:5, 1]
        a[r, ::2] = b[r + 1, 1::2]
        a[::-1, 5] = b[:5, 0]
        a[3:3, :] = b[0:0, :]
    return a
""",
    "copies",
)

_B = _mix((6, 6), 11)


def test_slice_copies_run_natively():
    recs = check(COPIES, lambda: (np.zeros((5, 6)), _B.copy(), 4))
    _ran_natively(recs)


def test_slice_copies_raise_as_numpy():
    # An integer index out of range (IndexError after partial writes), and
    # lengths that differ (ValueError: could not broadcast ...).
    check(COPIES, lambda: (np.zeros((5, 6)), _B.copy(), 6), native=False)
    check(COPIES, lambda: (np.zeros((5, 6)), _mix((6, 7), 1), 3), native=False)
    check(COPIES, lambda: (np.zeros((5, 7)), _mix((6, 7), 1), 3), native=False)


def test_slice_copies_that_share_memory_run_as_python():
    def make():
        base = _mix((6, 6), 3)
        return base[:5], base[1:], 4

    recs = check(COPIES, make, native=False)
    assert "share memory" in recs["cpu"][0]["reason"]


def test_slice_copies_that_convert_as_numpy_run_as_python():
    recs = check(COPIES, lambda: (np.zeros((5, 6), np.int64), _B.copy(), 2), native=False)
    assert "converts float64 elements to int64" in recs["cpu"][0]["reason"]
    _ran_natively(check(COPIES, lambda: (np.zeros((5, 6)), np.arange(36).reshape(6, 6), 2)))


BOARD = _fn(
    """
def board_steps(board, steps):
    nxt = np.zeros_like(board)
    for s in range(steps):
        for i in range(1, board.shape[0] - 1):
            for j in range(1, board.shape[1] - 1):
                nxt[i, j] = np.sum(board[i - 1:i + 2, j - 1:j + 2]) % 2
        board[:, :] = nxt
    return board
""",
    "board_steps",
)


def test_a_board_copied_whole():
    recs = check(BOARD, lambda: ((_mix((7, 8), 2) > 1.0).astype(np.int64), 3))
    _ran_natively(recs)
    recs = check(BOARD, lambda: ((_mix((7, 8), 2) > 1.0).astype(np.uint8), 3), native=False)
    assert "np.sum adds as another type" in recs["cpu"][0]["reason"]


# --- np.max and np.min ---------------------------------------------------------

EXTREMES = _fn(
    """
def extremes(a, b, out):
    for i in range(a.shape[0] - 10):
        out[i, 0] = np.max(a[i:i + 5])
        out[i, 1] = np.min(a[i:i + 9]) + a[i:i + 3].max()
        out[i, 2] = np.amin(b[i:i + 3, 1:4] * b[0:3, 2:5])
        out[i, 3] = b[i:i + 4, i:i + 7].min()
    return out
""",
    "extremes",
)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.int32])
def test_max_and_min(dtype):
    def make():
        rng = np.random.default_rng(5)
        vals = np.array([0.5, -1.0, 2.5, 3.0, -7.0, 1e30 if dtype is np.float64 else 9.0])
        if np.dtype(dtype).kind == "i":
            vals = np.array([0, -1, 2, 3, -7, 9])  # integer zeros have one sign
        return rng.choice(vals, 16).astype(dtype), rng.choice(vals, (12, 12)).astype(dtype), np.zeros((6, 4), dtype)

    _ran_natively(check(EXTREMES, make))


@pytest.mark.parametrize("special", [np.nan, -0.0, 0.0])
def test_max_and_min_of_nans_and_signed_zeros(special):
    # NumPy's SIMD loops choose which NaN or which zero: such a result stops
    # the native code and the loop runs as Python.
    def make():
        rng = np.random.default_rng(6)
        vals = np.array([special, 0.0, -0.0, 1.0, -1.0, np.nan])
        return rng.choice(vals, 16), rng.choice(vals, (12, 12)), np.zeros((6, 4))

    check(EXTREMES, make, native=False)


# --- lengths known when the statement runs -----------------------------------------

MOVING = _fn(
    """
def moving(x, w, out):
    for i in range(out.shape[0]):
        out[i, 0] = np.mean(x[i:i + w])
        out[i, 1] = np.sum(x[i:i + w] * x[i + 1:i + w + 1])
        out[i, 2] = x[i:w + i].max() - np.min(x[i + 1:i + 1 + w])
    return out
""",
    "moving",
)


@pytest.mark.parametrize("w", [1, 3, 7, 8, 9, 16, 23, 128])
def test_windows_of_a_length_known_when_the_loop_runs(w):
    recs = check(MOVING, lambda: (_mix(200, w) + 0.25, w, np.zeros((40, 3))))
    _ran_natively(recs)


@pytest.mark.parametrize("w", [0, -2, 129, 170])
def test_windows_empty_negative_or_long_run_as_python(w):
    # Empty (np.mean warns and gives NaN, np.max raises), counted from the
    # end, or longer than NumPy's pairwise block: the guard stops the
    # native code.
    check(MOVING, lambda: (_mix(400, 1) + 0.25, w, np.zeros((40, 3))), native=False)


BLUR = _fn(
    """
def box_blur(img, out):
    for i in range(1, img.shape[0] - 1):
        for j in range(1, img.shape[1] - 1):
            out[i, j] = np.mean(img[i - 1:i + 2, j - 1:j + 2])
    return out
""",
    "box_blur",
)


@pytest.mark.parametrize("dtype", [np.float64, np.uint8, np.int32])
def test_a_box_blur(dtype):
    def make():
        img = _mix((9, 11), 8) if dtype is np.float64 else np.random.default_rng(8).integers(0, 255, (9, 11))
        return img.astype(dtype), np.zeros((9, 11))

    recs = check(BLUR, make, native=dtype is not np.uint8)
    if dtype is np.uint8:
        assert "np.mean adds the uint8 elements" in recs["cpu"][0]["reason"]
        return
    _ran_natively(recs)
    assert parallel_loops(recs, "cpu")[0]


# --- Python's max and min of a slice -------------------------------------------

PY_EXTREMES = _fn(
    """
def py_extremes(x, w, out):
    for i in range(out.shape[0]):
        out[i, 0] = max(x[i:i + w])
        out[i, 1] = min(x[i + 1:i + 4]) - max(x[i:i + 1])
        out[i, 2] = min(x[i:i + w] * x[i + 2:i + w + 2])
    return out
""",
    "py_extremes",
)


@pytest.mark.parametrize("w", [1, 2, 5, 40, 300])
@pytest.mark.parametrize("nan", [False, True])
def test_pythons_max_and_min_keep_the_first_of_equal_items(w, nan):
    # Python's max keeps the first item unless a later one compares greater:
    # 0.0 and -0.0 keep the first, NaN first stays, NaN later is skipped. A
    # NaN compared sets the IEEE invalid flag, which the native code reads
    # as NumPy's warning: Python runs the loop then.
    def make():
        rng = np.random.default_rng(w)
        vals = [0.0, -0.0, 1.0, -1.0, 2.5] + ([np.nan] if nan else [])
        return rng.choice(np.array(vals), 400), w, np.zeros((20, 3))

    check(PY_EXTREMES, make, native=not nan)


def test_pythons_max_of_an_empty_slice_raises():
    check(PY_EXTREMES, lambda: (_mix(400, 1), 0, np.zeros((20, 3))), native=False)
    check(PY_EXTREMES, lambda: (_mix(30, 1), 5, np.zeros((30, 3))), native=False)
