"""Loop interchange and unroll-and-jam in the CPU variant.

Interchange: a perfect two-deep nest whose inner loop walks arrays across
their contiguous dimension with the outer variable (the second nest of mvt)
runs as `for inner: for outer`. Unroll-and-jam: a nest whose inner loop
accumulates into an element of the outer loop (the first nest of mvt) runs
four outer iterations through the inner loop together. Both keep results
bit-identical to CPython; nests where either would change a result or an
exception are generated as written."""

import math

import numpy as np
import pytest

import _loopscope
import loopscope
from loopscope import _run

import benchmarks

INFO = []  # per native compilation: (nest_id, parallel, interchanged, needs_snapshot, unroll_jammed)


def _probe(parallel):
    name = "ix-probe-par" if parallel else "ix-probe-ser"
    inner = _run._cpu_hook(parallel, "cpu" if parallel else "cpu-serial")

    def hook(nest_id, env):
        if env is not None:
            c = _loopscope.cpu_compile(nest_id, env, parallel)
            if c["status"] == "ok":
                INFO.append((nest_id, parallel, c["interchanged"], c["needs_snapshot"], c["unroll_jammed"]))
        return inner(nest_id, env)

    _run.register_device(name, hook)
    return name


DEVICES = {True: _probe(True), False: _probe(False)}


def bits(a):
    return np.ascontiguousarray(a).tobytes()


def run_both(fn, make_args, parallel):
    """CPython and the probe device on identical fresh arguments; asserts
    identical outcomes bit for bit; returns the interchange decisions."""

    def go(runner):
        args = make_args()
        try:
            return ("ok", runner(*args)), args
        except Exception as exc:  # noqa: BLE001
            return ("raise", type(exc).__name__, str(exc)), args

    want, a1 = go(fn)
    del INFO[:]
    _run.reset_last_runs()
    got, a2 = go(lambda *a: loopscope.run(fn, *a, device=DEVICES[parallel]))
    assert want[0] == got[0], (want, got)
    if want[0] == "ok":
        assert repr(want[1]) == repr(got[1])
        assert [type(x) for x in np.atleast_1d(want[1]) if want[1] is not None] == [
            type(x) for x in np.atleast_1d(got[1]) if got[1] is not None
        ]
    else:
        assert want == got
    for x, y in zip(a1, a2):
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and bits(x) == bits(y)
    JAMMED[:] = [i[4] for i in INFO]
    return [i[2] for i in INFO], [i[3] for i in INFO], list(_run.last_runs().values())


JAMMED = []  # unroll-and-jam decisions of the last run_both


def mvt2(x2, y2, A):
    n = A.shape[0]
    for i in range(n):
        for j in range(n):
            x2[i] = x2[i] + A[j, i] * y2[j]
    return i, j


def mvt2_aug(x2, y2, A, m):
    i = j = -7
    for i in range(A.shape[1] - 1, -1, -1):
        for j in range(0, m, 2):
            x2[i] += A[j, i] * y2[j]
    return i, j


def mk(n, dtype, seed=0, cols=None):
    def make():
        g = np.random.default_rng(seed)
        c = n if cols is None else cols
        # values of very different magnitudes: summation order shows in the bits
        A = (g.standard_normal((n, c)) * 10.0 ** g.integers(-8, 8, (n, c))).astype(dtype)
        return (g.standard_normal(c).astype(dtype), g.standard_normal(n).astype(dtype), A)

    return make


@pytest.mark.parametrize("parallel", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", [1, 7, 64, 301])
def test_mvt_second_nest_interchanged_and_bit_identical(parallel, dtype, n):
    ix, snap, runs = run_both(mvt2, mk(n, dtype), parallel)
    assert ix == ["i/j"]
    # x2 is updated in place: saved first, in case the run ends with the IEEE
    # flags of a NumPy warning and Python must run the loop from the start
    assert snap == [True]
    assert [r["status"] for r in runs] == ["ok"]


@pytest.mark.parametrize("parallel", [True, False])
@pytest.mark.parametrize("m", [0, 1, 9, 40])
def test_aug_assign_negative_step_and_zero_trip_inner(parallel, m):
    def make():
        x, y, A = mk(40, np.float64, seed=3, cols=23)()
        return (x, y, A, m)

    ix, _, runs = run_both(mvt2_aug, make, parallel)
    assert ix == ["i/j"]
    assert [r["status"] for r in runs] == ["ok"]


def test_benchmark_mvt_interchanges_only_the_second_nest():
    b = benchmarks.get("mvt")
    for parallel in (True, False):
        ix, _, runs = run_both(b.fn, lambda: b.args("small"), parallel)
        assert sorted(ix) == ["", "i/j"]
        assert sorted(JAMMED) == ["", "i/j"]  # the first nest
        assert [r["status"] for r in runs] == ["ok", "ok"]


# ---- nests that must be generated as written ----------------------------------


def anti_diagonal(A, B):
    # A[i, j] reads A[i-1, j+1]: a (<, >) dependence
    n = A.shape[0]
    for i in range(1, n):
        for j in range(n - 1):
            A[i, j] = A[i, j] + A[i - 1, j + 1] * B[j, i]


def scalar_in_body(x2, y2, A):
    n = A.shape[0]
    for i in range(n):
        for j in range(n):
            t = A[j, i] * y2[j]
            x2[i] = x2[i] + t
    return t


def overwrite(x2, y2, A):
    n = A.shape[0]
    for i in range(n):
        for j in range(n):
            x2[i] = A[j, i] * y2[j]


def shifted(x2, y2, A, k):
    n = A.shape[0]
    for i in range(n):
        for j in range(n):
            x2[i] = x2[i] + A[j, i] * y2[j + k]


def row_walk(x1, y1, A):
    n = A.shape[0]
    for i in range(n):
        for j in range(n):
            x1[i] = x1[i] + A[i, j] * y1[j]


@pytest.mark.parametrize("parallel", [True, False])
def test_refused_cases_stay_as_written(parallel):
    def two(n):
        def make():
            g = np.random.default_rng(5)
            return (g.standard_normal((n, n)), g.standard_normal((n, n)))

        return make

    ix, _, runs = run_both(anti_diagonal, two(33), parallel)
    assert ix == [""] and [r["status"] for r in runs] == ["ok"]
    for fn in (scalar_in_body, overwrite, row_walk):  # row_walk: unroll-and-jam instead
        ix, _, runs = run_both(fn, mk(33, np.float64), parallel)
        assert ix == [""], fn.__name__
        assert [r["status"] for r in runs] == ["ok"]


@pytest.mark.parametrize("parallel", [True, False])
def test_runtime_checks_refuse_interchange_and_raise_as_python(parallel):
    # y2[j + 1] cannot be proven in range: a checked subscript, so the nest
    # runs as written and fails at Python's first failing iteration
    def make(k):
        def f():
            x, y, A = mk(30, np.float64, seed=9)()
            return (x, y, A, k)

        return f

    ix, snap, runs = run_both(shifted, make(1), parallel)
    assert ix == [""] and snap == [True]
    assert [r["status"] for r in runs] == ["fallback"]
    # the same nest with the subscript proven in range is interchanged
    ix, snap, runs = run_both(shifted, make(0), parallel)
    assert ix == ["i/j"] and snap == [True]  # (in place: for NumPy's warnings)
    assert [r["status"] for r in runs] == ["ok"]


@pytest.mark.parametrize("parallel", [True, False])
def test_views_and_aliasing(parallel):
    def aliased():
        # x2 is row 0 of A: x2[i] is also A[0, i], read at j == 0
        x, y, A = mk(45, np.float64, seed=11)()
        return (A[0], y, A)

    def transposed():
        x, y, A = mk(45, np.float64, seed=12)()
        return (x, y, A.T)  # A[j, i] is now contiguous in j

    def reversed_rows():
        x, y, A = mk(45, np.float32, seed=13)()
        return (x[::-1], y, A[::-1, ::-1])  # negative strides

    for make in (aliased, transposed, reversed_rows):
        ix, _, runs = run_both(mvt2, make, parallel)
        assert [r["status"] for r in runs] == ["ok"], make.__name__
    ix, _, _ = run_both(mvt2, transposed, parallel)
    assert ix == [""]


# ---- unroll-and-jam --------------------------------------------------------------


@pytest.mark.parametrize("parallel", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", [1, 3, 4, 5, 7, 64, 301])
def test_mvt_first_nest_unroll_jammed_and_bit_identical(parallel, dtype, n):
    # n around the unroll factor (4): groups only, remainder only, both
    ix, snap, runs = run_both(row_walk, mk(n, dtype), parallel)
    assert JAMMED == ["i/j"] and ix == [""] and snap == [True]  # (in place: for NumPy's warnings)
    assert [r["status"] for r in runs] == ["ok"]


def two_targets(x1, y1, A, C, m):
    i = j = -3
    for i in range(A.shape[0] - 1, -1, -1):
        for j in range(1, m, 3):
            x1[i] -= A[i, j] * y1[j]
            C[i, j] = x1[i] * 0.5 + C[i, j]
    return i, j


@pytest.mark.parametrize("parallel", [True, False])
@pytest.mark.parametrize("m", [0, 1, 2, 20, 41])
def test_jam_negative_step_zero_trip_inner_and_final_values(parallel, m):
    def make():
        x, y, A = mk(41, np.float64, seed=21, cols=41)()
        C = np.random.default_rng(22).standard_normal((41, 41))
        return (y, x, A, C, m)

    _, _, runs = run_both(two_targets, make, parallel)
    assert JAMMED == ["i/j"]
    assert [r["status"] for r in runs] == ["ok"]


def row_walk_aliased(A, y1):
    # x1 is column 0 of A: x1[i] is A[i, 0], read again at j == 0
    n = A.shape[0]
    x1 = A[:, 0]
    for i in range(n):
        for j in range(n):
            x1[i] = x1[i] + A[i, j] * y1[j]


def not_parallel(A, y1):
    n = A.shape[0]
    for i in range(1, n):
        for j in range(n):
            A[i, 0] = A[i, 0] + A[i - 1, j] * y1[j]


def no_chain(B, A):
    n = A.shape[0]
    for i in range(n):
        for j in range(n):
            B[i, j] = A[i, j] * 2.0 + B[i, j]


def row_walk_checked(x1, y1, A, k):
    n = A.shape[0]
    for i in range(n):
        for j in range(n):
            x1[i] = x1[i] + A[i, j] * y1[j + k]


@pytest.mark.parametrize("parallel", [True, False])
def test_jam_aliasing_and_refusals(parallel):
    def sq(seed, n=37):
        def make():
            g = np.random.default_rng(seed)
            return (g.standard_normal((n, n)) * 10.0 ** g.integers(-6, 6, (n, n)), g.standard_normal(n))

        return make

    _, _, runs = run_both(row_walk_aliased, sq(30), parallel)
    assert [r["status"] for r in runs] == ["ok"]
    _, _, runs = run_both(not_parallel, sq(31), parallel)
    assert JAMMED == [""] and [r["status"] for r in runs] == ["ok"]
    _, _, runs = run_both(no_chain, lambda: (sq(32)()[0], sq(33)()[0]), parallel)
    assert JAMMED == [""] and [r["status"] for r in runs] == ["ok"]

    # a checked subscript: the check fails in the jammed code, every array is
    # restored and the Python loop raises at its own first failing iteration
    def make(k):
        def f():
            x, y, A = mk(30, np.float64, seed=9)()
            return (y, x, A, k)

        return f

    _, snap, runs = run_both(row_walk_checked, make(1), parallel)
    assert JAMMED == ["i/j"] and snap == [True] and [r["status"] for r in runs] == ["fallback"]
    _, snap, runs = run_both(row_walk_checked, make(0), parallel)
    assert JAMMED == ["i/j"] and snap == [True] and [r["status"] for r in runs] == ["ok"]


def row_walk_private(x1, y1, A):
    # t and u are private to an iteration: assigned before they are read
    n = A.shape[0]
    t = u = None
    for i in range(n):
        for j in range(n):
            t = A[i, j] * y1[j]
            u = t * 0.5
            t += u
            x1[i] = x1[i] + t
    return t, u


def gemm_like(alpha, beta, C, A, B):
    for i in range(C.shape[0]):
        for j in range(C.shape[1]):
            C[i, j] *= beta
            for k in range(A.shape[1]):
                C[i, j] += alpha * A[i, k] * B[k, j]


def forces(x, m, f, eps):
    n = x.shape[0]
    for i in range(n):
        for j in range(n):
            d = x[j] - x[i]
            r2 = d * d + eps
            f[i] += m[j] * d / (r2 * math.sqrt(r2))
    return d, r2


@pytest.mark.parametrize("parallel", [True, False])
@pytest.mark.parametrize("n", [1, 6, 33])
def test_jam_private_scalars_statements_before_the_inner_loop_and_math(parallel, n):
    _, _, runs = run_both(row_walk_private, mk(n, np.float64, seed=40), parallel)
    assert JAMMED == ["i/j"] and [r["status"] for r in runs] == ["ok"]

    def gm():
        g = np.random.default_rng(41)
        return (
            1.5,
            1.2,
            g.standard_normal((n, n + 2)),
            g.standard_normal((n, 7)) * 1e3,
            g.standard_normal((7, n + 2)) * 1e-3,
        )

    _, _, runs = run_both(gemm_like, gm, parallel)
    assert JAMMED == ["j/k"] and [r["status"] for r in runs] == ["ok"]

    def fm(eps):
        def f():
            g = np.random.default_rng(42)
            return (g.standard_normal(n), 0.5 + g.random(n), np.zeros(n), eps)

        return f

    _, snap, runs = run_both(forces, fm(1e-3), parallel)
    assert JAMMED == ["i/j"] and snap == [True] and [r["status"] for r in runs] == ["ok"]
    # eps < 0: math.sqrt of a negative number somewhere in the middle; the
    # deferred check stops the native code, Python raises ValueError with its
    # own partial writes
    _, _, runs = run_both(forces, fm(-0.05), parallel)
    assert [r["status"] for r in runs] == ["fallback"]
