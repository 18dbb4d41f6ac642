"""Indirect subscripts: an index that reads an array (``x[idx[i]]``,
``hist[idx[i]] += 1``, ``out[perm[i]] = v[i]``, ``b[i, col[k]]``,
``hist[int(x[i] * 10)] += 1``).

Each function runs in CPython and through ``loopscope.run`` on "cpu",
"cpu-serial", "gpu-emulated" and "auto" with fresh, identical arguments; the
return values (with their types), the exceptions (type and message) and
every array afterwards (bit for bit: partial writes included) must be
CPython's. Native code checks every indirect subscript as it runs (Python's
negative indices wrap, an out-of-range one stops the run, the arrays are
restored and Python raises); the dependence analysis treats the element of
an indirect subscript as unknown, so a write through one makes every
enclosing loop sequential, while reads of arrays the nest never writes keep
their loop parallel (explain and last_runs say which)."""

import warnings

import numpy as np
import pytest

import loopscope
from explain_check import mismatches
from loopscope import _run

DEVICES = ("cpu", "cpu-serial", "gpu-emulated", "auto")


def outcome(fn, args, device):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ret = fn(*args) if device is None else loopscope.run(fn, *args, device=device)
            return ("ok", typed(ret))
        except Exception as exc:
            return ("raise", type(exc).__name__, str(exc))


def typed(x):
    if isinstance(x, tuple):
        return tuple(typed(v) for v in x)
    if isinstance(x, np.ndarray):
        return ("ndarray", x.dtype.str, x.shape, x.tobytes())
    return (type(x).__name__, x)


def arrays_of(args):
    """The buffers of the array arguments (a view's base), compared whole."""
    out = []
    for a in args:
        if isinstance(a, np.ndarray):
            while isinstance(a.base, np.ndarray):
                a = a.base
            out.append(a)
    return out


def differential(fn, make_args, devices=DEVICES):
    """Runs fn in CPython and on each device; asserts the same outcome and
    arrays; returns {device: [run records]} and CPython's outcome."""
    want_args = make_args()
    want = outcome(fn, want_args, None)
    records = {}
    for device in devices:
        args = make_args()
        _run.reset_last_runs()
        got = outcome(fn, args, device)
        records[device] = list(_run.last_runs().values())
        assert got == want, (device, want, got, records[device])
        for a, b in zip(arrays_of(want_args), arrays_of(args)):
            assert a.tobytes() == b.tobytes(), (device, a, b)
    return records, want


def statuses(records, device):
    return [r["status"] for r in records[device]]


def verdicts(fn, *args):
    rep = loopscope.explain(fn, *args)
    return {l["var"]: l["verdict"] for l in rep["loops"]}, rep


# ---- histograms -----------------------------------------------------------


def histogram(hist, idx, n):
    for i in range(n):
        hist[idx[i]] += 1


@pytest.mark.parametrize("dtype", [np.int64, np.int32])
def test_histogram_with_repeated_and_negative_indices(dtype):
    idx = np.array([1, 2, 1, 4, -1, 0, 3, 3, -5, 2], dtype=dtype)
    records, _ = differential(histogram, lambda: (np.zeros(5, np.int64), idx.copy(), idx.size))
    for device in ("cpu", "cpu-serial", "gpu-emulated"):
        assert statuses(records, device) == ["ok"], records[device]
        assert records[device][0]["parallel_loops"] == ""
    # integers: the same sums in any order, a reduction (run in order: the
    # code generators combine no array reduction)
    v, rep = verdicts(histogram, np.zeros(5, np.int64), idx, idx.size)
    assert v == {"i": "reduction"}
    assert rep["loops"][0]["reasons"] == [
        "i accumulates into hist[idx[i]] (line 3): its iterations can run in parallel on partial results combined "
        "with +"
    ]
    # floats: in Python's order
    v, rep = verdicts(histogram, np.zeros(5), idx, idx.size)
    assert v == {"i": "sequential"}
    reasons = rep["loops"][0]["reasons"]
    assert any(
        "hist[idx[i]] is written at a subscript the analysis cannot read (it depends on idx), "
        "so i may write the same element in two iterations" in r
        for r in reasons
    ), reasons
    (nest,) = rep["nests"]
    assert nest["subscripts_in_range"] is False and nest["subscripts_only_indirect"] is True
    assert "reads idx" in nest["subscript_problem"]["reason"]


def test_histogram_of_floats_through_int():
    def fhist(hist, x, n):
        for i in range(n):
            hist[int(x[i] * 10)] += 1

    x = np.random.default_rng(1).random(200)
    records, _ = differential(fhist, lambda: (np.zeros(10, np.int64), x.copy(), x.size))
    assert statuses(records, "cpu") == ["ok"]
    # int() truncates towards zero: -0.05 * 10 gives 0, -0.15 * 10 gives -1 (wraps)
    y = np.array([0.15, -0.05, -0.15, 0.999, 0.0])
    records, _ = differential(fhist, lambda: (np.zeros(10, np.int64), y.copy(), y.size))
    assert statuses(records, "cpu-serial") == ["ok"]


@pytest.mark.parametrize(
    "bad,error",
    [(np.nan, "ValueError"), (np.inf, "OverflowError"), (-np.inf, "OverflowError"), (1.5, "IndexError")],
)
def test_int_of_a_bad_float_raises_as_python_with_its_partial_writes(bad, error):
    def fhist(hist, x, n):
        for i in range(n):
            hist[int(x[i] * 10)] += 1

    x = np.array([0.1, 0.25, 0.1, bad, 0.5, 0.3])
    records, want = differential(fhist, lambda: (np.zeros(10, np.int64), x.copy(), x.size))
    assert want[0] == "raise" and want[1] == error
    for device in ("cpu", "cpu-serial", "gpu-emulated"):
        assert statuses(records, device) == ["fallback"], records[device]


def test_histogram_with_weights_and_two_index_arrays():
    def confusion(cm, truth, pred, w, n):
        for i in range(n):
            cm[truth[i], pred[i]] += w[i]

    g = np.random.default_rng(4)
    truth, pred = g.integers(0, 3, 40), g.integers(-3, 3, 40).astype(np.int32)
    w = g.integers(1, 5, 40)
    records, _ = differential(confusion, lambda: (np.zeros((3, 3), np.int64), truth, pred, w, 40))
    assert statuses(records, "cpu") == ["ok"]
    assert verdicts(confusion, np.zeros((3, 3), np.int64), truth, pred, w, 40)[0] == {"i": "reduction"}
    assert verdicts(confusion, np.zeros((3, 3), np.int64), truth, pred, w * 0.5, 40)[0] == {"i": "sequential"}


# Integer histograms run in parallel on the CPU: each thread adds into a zeroed
# copy of the array, and the copies are added into it after the loop (when
# the loop is long beside the copies: 4 * threads * elements iterations).


def weighted_histograms(hist, counts, idx, w, n):
    total = 0
    for i in range(n):
        total += w[i]
        hist[idx[i], i % 3] -= w[i]
        counts[idx[i] // 2] += 1
    return total


@pytest.mark.parametrize("dtype", [np.int64, np.int32])
def test_integer_histograms_run_in_parallel_on_private_copies(dtype):
    g = np.random.default_rng(11)
    n = 30_000
    idx = g.integers(-40, 40, n).astype(dtype)
    w = g.integers(-5, 9, n).astype(dtype)

    def make():
        return (np.zeros((40, 3), dtype), np.ones(20, np.int64), idx, w, n)

    records, _ = differential(histogram, lambda: (np.zeros(40, dtype), idx, n))
    assert records["cpu"][0]["parallel_loops"] == "i", records["cpu"]
    assert records["cpu-serial"][0]["parallel_loops"] == ""
    assert records["gpu-emulated"][0]["parallel_loops"] == ""  # array reductions stay in order there
    records, _ = differential(weighted_histograms, make)
    assert records["cpu"][0]["status"] == "ok" and records["cpu"][0]["parallel_loops"] == "i", records["cpu"]
    v, _ = verdicts(weighted_histograms, *make())
    assert v == {"i": "reduction"}


def test_parallel_histogram_with_chunks_in_reverse_order():
    import _loopscope

    g = np.random.default_rng(12)
    idx = g.integers(0, 16, 2000)
    old = _loopscope.cpu_reverse_chunks()
    _loopscope.cpu_set_reverse_chunks(True)
    try:
        records, _ = differential(histogram, lambda: (np.zeros(16, np.int64), idx, 2000), ("cpu",))
    finally:
        _loopscope.cpu_set_reverse_chunks(old)
    assert records["cpu"][0]["parallel_loops"] == "i"


def test_parallel_histogram_into_a_strided_view_and_inside_a_time_loop():
    def steps(hist, idx, n, t):
        for s in range(t):
            for i in range(n):
                hist[idx[i]] += s + 1

    idx = np.random.default_rng(13).integers(-10, 10, 5000)

    def make():
        base = np.arange(60, dtype=np.int64).reshape(20, 3)
        return (base[::-1, 1], idx, 5000, 4)

    records, _ = differential(steps, make)
    assert records["cpu"][0]["parallel_loops"] == "i", records["cpu"]


@pytest.mark.parametrize("where", [0, 12_345, 29_999])
def test_parallel_histogram_out_of_range_mid_loop(where):
    idx = np.random.default_rng(14).integers(0, 30, 30_000)
    idx[where] = 30
    records, want = differential(histogram, lambda: (np.zeros(30, np.int64), idx, 30_000))
    assert want[:2] == ("raise", "IndexError")
    assert records["cpu"][0]["status"] == "fallback" and records["cpu"][0]["parallel_loops"] == "i"


def test_parallel_histogram_that_overflows_runs_as_python():
    big = np.iinfo(np.int64).max - 100
    records, _ = differential(histogram, lambda: (np.full(4, big, np.int64), np.zeros(20_000, np.int64), 20_000))
    assert records["cpu"][0]["status"] == "fallback", records["cpu"]
    # 2**31 - 1 in int32: the copies overflow as the sequential sum does
    records, _ = differential(
        histogram, lambda: (np.full(2, 2**31 - 3000, np.int32), np.zeros(20_000, np.int64), 20_000)
    )
    assert records["cpu"][0]["status"] == "fallback", records["cpu"]


def test_histogram_sharing_memory_or_too_short_stays_in_order():
    idx = np.random.default_rng(15).integers(0, 10, 20_000)

    def shared(hist, other, idx, n):
        for i in range(n):
            hist[idx[i]] += other[i % 5]

    def make():
        base = np.zeros(20, np.int64)
        base[10:] = 1
        return (base[:15], base[10:], idx, 20_000)

    records, _ = differential(shared, make)
    assert records["cpu"][0]["parallel_loops"] == ""  # hist shares memory with other
    assert verdicts(shared, *make())[0] == {"i": "sequential"}
    records, _ = differential(histogram, lambda: (np.zeros(10_000, np.int64), idx, 20_000))
    assert records["cpu"][0]["parallel_loops"] == ""  # copies as long as the loop


# ---- gathers and scatters --------------------------------------------------


def gather(y, x, idx, n):
    for i in range(n):
        y[i] = x[idx[i]] * 2.0


def test_gather_runs_in_parallel():
    idx = np.random.default_rng(2).integers(-50, 50, 1000)
    x = np.random.default_rng(3).random(50)
    records, _ = differential(gather, lambda: (np.zeros(1000), x, idx, 1000))
    assert statuses(records, "cpu") == ["ok"] and records["cpu"][0]["parallel_loops"] == "i"
    assert statuses(records, "gpu-emulated") == ["ok"] and records["gpu-emulated"][0]["parallel_loops"] == "i"
    assert records["cpu-serial"][0]["parallel_loops"] == ""
    assert verdicts(gather, np.zeros(1000), x, idx, 1000)[0] == {"i": "parallel"}


def test_gather_from_the_array_it_writes_is_sequential():
    def shift(a, idx, n):
        for i in range(n):
            a[i] = a[idx[i]] + 1.0

    idx = np.array([3, 0, 0, 1, 7, 2, 6, 5])
    records, _ = differential(shift, lambda: (np.arange(8.0), idx, 8))
    assert statuses(records, "cpu") == ["ok"] and records["cpu"][0]["parallel_loops"] == ""
    v, rep = verdicts(shift, np.arange(8.0), idx, 8)
    assert v == {"i": "sequential"}
    assert any("a[idx[i]] is read at a subscript the analysis cannot read" in r for r in rep["loops"][0]["reasons"])


@pytest.mark.parametrize("where", ["first", "middle", "last"])
@pytest.mark.parametrize("bad", [5, -6, 1000])
def test_out_of_range_index_raises_mid_loop_with_pythons_partial_writes(where, bad):
    idx = np.array([0, 1, 4, -1, 2, 3, -5, 1])
    k = {"first": 0, "middle": 4, "last": 7}[where]
    idx[k] = bad
    for fn, make in [
        (gather, lambda: (np.zeros(8), np.arange(5.0), idx.copy(), 8)),
        (histogram, lambda: (np.zeros(5, np.int64), idx.copy(), 8)),
    ]:
        records, want = differential(fn, make)
        assert want[:2] == ("raise", "IndexError")
        for device in ("cpu", "cpu-serial", "gpu-emulated"):
            assert statuses(records, device) == ["fallback"], records[device]
            assert "out of range" in records[device][0]["reason"]


def scatter(out, perm, v, n):
    for i in range(n):
        out[perm[i]] = v[i]


def test_scatter_with_repeated_indices_keeps_the_last_write():
    perm = np.array([2, 0, 2, 1, -1, 2, 0])
    records, _ = differential(scatter, lambda: (np.zeros(4), perm, np.arange(1.0, 8.0), 7))
    assert statuses(records, "cpu") == ["ok"] and records["cpu"][0]["parallel_loops"] == ""
    v, rep = verdicts(scatter, np.zeros(4), perm, np.arange(1.0, 8.0), 7)
    assert v == {"i": "sequential"}
    assert any("may write the same element in two iterations" in r for r in rep["loops"][0]["reasons"])


def test_permutation_scatter_and_its_inverse():
    def invert(inv, perm, n):
        for i in range(n):
            inv[perm[i]] = i

    perm = np.random.default_rng(5).permutation(100).astype(np.int32)
    differential(invert, lambda: (np.zeros(100, np.int64), perm, 100))
    records, _ = differential(scatter, lambda: (np.zeros(100), perm, np.arange(100.0), 100))
    assert statuses(records, "cpu") == ["ok"]


def test_unknown_column_keeps_the_rows_parallel():
    def fill(b, col, n, m):
        for i in range(n):
            for k in range(m):
                b[i, col[k]] = b[i, col[k]] + i * 10 + k

    col = np.array([4, 0, 4, -2])
    records, _ = differential(fill, lambda: (np.zeros((6, 5), np.int64), col, 6, 4))
    assert records["cpu"][0]["parallel_loops"] == "i"
    assert verdicts(fill, np.zeros((6, 5), np.int64), col, 6, 4)[0] == {"i": "parallel", "k": "sequential"}


def test_nested_and_computed_indices():
    def nested(y, x, idx, n):
        for i in range(n):
            k = idx[i]
            y[i] = x[idx[k]] + x[idx[idx[i]] - 1]

    idx = np.array([2, 0, 1, 3, 3, -1])
    records, _ = differential(nested, lambda: (np.zeros(6), np.arange(10.0, 16.0), idx, 6))
    assert statuses(records, "cpu") == ["ok"]


# ---- index arrays that share memory with written arrays ---------------------


def test_index_array_is_the_histogram():
    def self_hist(a, n):
        for i in range(n):
            a[a[i]] += 1

    records, _ = differential(self_hist, lambda: (np.array([1, 0, 3, 2, 2, 4]), 6))
    assert statuses(records, "cpu") == ["ok"] and records["cpu"][0]["parallel_loops"] == ""
    # values pushed out of range by the loop itself: IndexError part-way
    records, want = differential(self_hist, lambda: (np.array([1, 2, 3, 3]), 4))
    assert want[:2] == ("raise", "IndexError")
    assert statuses(records, "cpu") == ["fallback"]


def test_index_array_is_a_view_of_the_written_array():
    def through_view(a, b, n):
        for i in range(n):
            a[i] = a[b[i]] + 1

    def make(offset):
        def m():
            base = np.array([3, 1, 4, 1, 5, 0, 2, 4, 1, 3, 0, 2])
            return (base[:8], base[offset : offset + 8], 8)

        return m

    for offset in (0, 1, 4):
        records, _ = differential(through_view, make(offset))
        assert statuses(records, "cpu") == ["ok"]
        assert records["cpu"][0]["parallel_loops"] == ""
    base = np.array([3, 1, 4, 1, 5, 0, 2, 4, 1, 3, 0, 2])
    assert verdicts(through_view, base[:8], base[1:9], 8)[0] == {"i": "sequential"}

    def reversed_view():
        base = np.array([3, 1, 4, 1, 5, 0, 2, 4])
        return (base, base[::-1], 8)

    differential(through_view, reversed_view)


def test_index_array_written_in_the_nest():
    def relabel(y, x, idx, n):
        for i in range(n - 1):
            idx[i + 1] = idx[i]
            y[i] = x[idx[i + 1]]

    records, _ = differential(relabel, lambda: (np.zeros(6), np.arange(6.0), np.array([2, 5, 1, 0, 3, 4]), 6))
    assert statuses(records, "cpu") == ["ok"]
    assert verdicts(relabel, np.zeros(6), np.arange(6.0), np.array([2, 5, 1, 0, 3, 4]), 6)[0] == {"i": "sequential"}


# ---- sparse matrices ---------------------------------------------------------


def ell_matvec(y, val, col, x, n, m):
    for r in range(n):
        s = 0.0
        for k in range(m):
            s += val[r, k] * x[col[r, k]]
        y[r] = s


def test_ell_matvec_parallel_over_rows():
    g = np.random.default_rng(6)
    val, col, x = g.random((50, 4)), g.integers(0, 30, (50, 4)).astype(np.int32), g.random(30)
    records, _ = differential(ell_matvec, lambda: (np.zeros(50), val, col, x, 50, 4))
    assert records["cpu"][0]["parallel_loops"] == "r"
    assert records["gpu-emulated"][0]["parallel_loops"] == "r"
    assert verdicts(ell_matvec, np.zeros(50), val, col, x, 50, 4)[0] == {"r": "parallel", "k": "sequential"}


def csr_matvec(y, ptr, col, val, x, n):
    for r in range(n):
        s = 0.0
        for k in range(ptr[r], ptr[r + 1]):
            s += val[k] * x[col[k]]
        y[r] = s


def test_csr_matvec_bounds_read_an_array_and_run_natively():
    # The bounds of k read ptr: k runs in order, its subscripts are checked
    # as it runs, and the rows stay parallel.
    ptr = np.array([0, 2, 2, 5])
    col, val = np.array([0, 2, 1, 0, 2]), np.arange(1.0, 6.0)
    records, _ = differential(csr_matvec, lambda: (np.zeros(3), ptr, col, val, np.array([1.0, 2.0, 3.0]), 3))
    for device in ("cpu", "cpu-serial", "gpu-emulated"):
        assert statuses(records, device) == ["ok"], records[device]
    assert records["cpu"][0]["parallel_loops"] == "r"
    loops, _ = verdicts(csr_matvec, np.zeros(3), ptr, col, val, np.ones(3), 3)
    assert loops == {"r": "parallel", "k": "sequential"}
    # A row pointer past the end of val: IndexError, as in Python.
    bad = np.array([0, 2, 2, 7])
    records, want = differential(csr_matvec, lambda: (np.zeros(3), bad, col, val, np.array([1.0, 2.0, 3.0]), 3))
    assert want[:2] == ("raise", "IndexError")


# ---- what is declined ---------------------------------------------------------


def test_bool_and_float_index_arrays_are_declined():
    # A NumPy bool is no integer index: h[np.True_] selects the whole array.
    flags = np.array([True, False, True])
    records, _ = differential(histogram, lambda: (np.zeros(4, np.int64), flags, 3))
    for device in ("cpu", "cpu-serial", "gpu-emulated"):
        assert statuses(records, device) == ["declined"], records[device]
        assert "np.bool_, not an integer" in records[device][0]["reason"]
    # A float index raises IndexError in NumPy.
    records, want = differential(histogram, lambda: (np.zeros(4, np.int64), np.array([1.0, 2.0]), 2))
    assert want[:2] == ("raise", "IndexError")
    assert statuses(records, "cpu") == ["declined"]
    assert "np.float64, not an integer" in records["cpu"][0]["reason"]


# ---- explain, the cost model, auto ----------------------------------------------


@pytest.mark.parametrize(
    "fn,make",
    [
        (histogram, lambda: (np.zeros(5, np.int64), np.array([1, 2, -1, 9]), 4)),
        (histogram, lambda: (np.zeros(8, np.int64), np.arange(400) % 8, 400)),  # on private copies
        (gather, lambda: (np.zeros(6), np.arange(5.0), np.array([4, 3, 0, -2, 1, 1]), 6)),
        (scatter, lambda: (np.zeros(4), np.array([1, 2, 3, 1]), np.arange(4.0), 4)),
        (ell_matvec, lambda: (np.zeros(3), np.ones((3, 2)), np.array([[0, 1], [1, 2], [2, 0]]), np.ones(3), 3, 2)),
    ],
)
def test_explain_predicts_run(fn, make):
    bad, compared = mismatches(fn, make)
    assert compared == 3
    assert not bad, "\n".join(bad)


def histogram_in_two_lines(hist, idx, n):
    for i in range(n):
        k = idx[i]
        hist[k] += 1


def test_a_scalar_read_from_an_array_is_an_indirect_subscript():
    idx = np.array([1, 2, 1, 4, -1, 0, 3, 3])
    records, _ = differential(histogram_in_two_lines, lambda: (np.zeros(5, np.int64), idx.copy(), 8))
    assert statuses(records, "cpu") == ["ok"]
    v, rep = verdicts(histogram_in_two_lines, np.zeros(5, np.int64), idx, 8)
    assert v == {"i": "reduction"}
    (nest,) = rep["nests"]
    assert nest["subscripts_only_indirect"] is True
    assert "k of hist[k] holds a value read from idx" in nest["subscript_problem"]["reason"]
    # and auto runs it natively when that pays
    n = 400_000
    big = np.random.default_rng(8).integers(-1000, 1000, n)
    hist = np.zeros(1000, np.int64)
    _run.reset_last_runs()
    loopscope.run(histogram_in_two_lines, hist, big, n, device="auto")
    assert np.array_equal(hist, np.bincount(big % 1000, minlength=1000))
    (rec,) = _run.last_runs().values()
    assert rec["status"] == "ok" and rec["device"] != "python", rec


def test_cost_model_counts_indirect_references_and_auto_runs_native():
    n = 400_000
    idx = np.random.default_rng(7).integers(0, 1000, n)
    est = loopscope.estimate(histogram, np.zeros(1000, np.int64), idx, n)
    (nest,) = est["nests"]
    variants = {v["variant"]: v for v in nest["variants"]}
    assert variants["cpu-serial"]["available"], variants["cpu-serial"]
    assert nest["choice"] != "python", nest["reason"]
    hist = np.zeros(1000, np.int64)
    _run.reset_last_runs()
    loopscope.run(histogram, hist, idx, n, device="auto")
    assert np.array_equal(hist, np.bincount(idx, minlength=1000))
    (rec,) = _run.last_runs().values()
    assert rec["status"] == "ok" and rec["device"] != "python", rec
