"""The CPU code generator's fast paths keep CPython's results.

Each fast path closes a gap PolyBench showed between Loopscope's
``cpu-serial`` and Numba's ``@njit`` (docs/cpu-benchmarks.md, "PolyBench
code-generation gaps"), and each is checked here against CPython, with the
cases where it must not apply:

- deferred checks keep one flag per reason, NumPy's warnings in their own
  flag read only when NumPy prints them: a hot loop with an np.int64 that may
  wrap (floyd-warshall) stays an ``or`` per step, and a wrap still gives
  CPython's warning and values, with NumPy's warnings on or off;
- a variant whose checks LLVM proved away (a variable always assigned before
  it is read) takes no snapshot of the arrays it writes; one that keeps a
  check still does, and a trap still leaves Python's partial writes;
- a read of the element just stored (``y1[i, j] = ...; ym1 = y1[i, j]``) is
  the stored value, so the nest does not count as reading the array and a
  NumPy warning reruns Python without a copy; arrays that overlap, a
  subscript whose names change in between, an indirect subscript, another
  store in between and control flow in between all read memory again;
- unroll-and-jam is kept for chains LLVM holds in registers (disjoint arrays,
  the chain's array read only at the chain's element) and not done for lu's
  ``A[i, j] -= A[i, k] * A[k, j]``.
"""

import ast
import textwrap
import warnings

import numpy as np
import pytest

import _loopscope
import loopscope
import nestgen
from cpu_tiers import cpu_tier
from differential import check, use_temporary_cache  # noqa: F401
from loopscope import _run

CPU = ("cpu", "cpu-serial")


def fn_of(src, name="k"):
    return nestgen.make_function(textwrap.dedent(src).strip() + "\n", name)


def run_native(src, env, parallel=False):
    """cpu_run of one nest (the body of a function's first statement); its result dict."""
    src = textwrap.dedent(src).strip() + "\n"
    nid = _loopscope.analysis_register(ast.parse(src).body[0], src)
    return _loopscope.cpu_run(nid, env, parallel)


def compile_report(src, env, parallel=False):
    src = textwrap.dedent(src).strip() + "\n"
    nid = _loopscope.analysis_register(ast.parse(src).body[0], src)
    return _loopscope.cpu_compile(nid, env, parallel, False)


def outcome_with_warnings(fn, args, device=None, tier=None):
    args = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            if device is None:
                r = ("ok", fn(*args))
            else:
                with cpu_tier(tier):
                    r = ("ok", loopscope.run(fn, *args, device=device))
        except Exception as exc:  # noqa: BLE001 - compared with Python's
            r = ("raise", type(exc).__name__, str(exc))
    shown = [(w.category.__name__, str(w.message), w.lineno) for w in seen]
    return r, shown, [a.tobytes() for a in args if isinstance(a, np.ndarray)]


def check_warnings(fn, make_args, expect_fallback=None):
    """CPython and the CPU devices on both tiers: the same warnings (category,
    message, line), the same result and the same arrays."""
    want = outcome_with_warnings(fn, make_args())
    for device in CPU:
        for tier in ("quick", "optimised"):
            _run.reset_last_runs()
            got = outcome_with_warnings(fn, make_args(), device, tier)
            runs = list(_run.last_runs().values())
            assert got[1] == want[1] and got[2] == want[2], (device, tier, want, got, runs)
            assert got[0][0] == want[0][0], (device, tier, want, got)
            statuses = [r["status"] for r in runs]
            if expect_fallback is True:
                assert "fallback" in statuses, (device, tier, runs)
            elif expect_fallback is False:
                assert statuses and all(s == "ok" for s in statuses), (device, tier, runs)
    return want


# ---- deferred checks: one flag per reason ---------------------------------

FLOYD = """
def k(path):
    n = path.shape[0]
    for kk in range(n):
        for i in range(n):
            for j in range(n):
                if path[i, kk] + path[kk, j] < path[i, j]:
                    path[i, j] = path[i, kk] + path[kk, j]
"""


def floyd_args(n=24, big=False):
    i = np.arange(n)[:, None]
    j = np.arange(n)[None, :]
    path = (i * j % 7 + 1).astype(np.int64)
    if big:
        path[0, 5] = np.iinfo(np.int64).max  # path[i, 0] + path[0, 5] wraps at the first step
    return (path,)


def test_floyd_warshall_runs_natively_and_exactly():
    check(fn_of(FLOYD), lambda: floyd_args(40), devices=CPU)


def test_an_int64_wrap_in_the_hot_loop_warns_as_numpy_does():
    want = check_warnings(fn_of(FLOYD), lambda: floyd_args(24, big=True), expect_fallback=True)
    assert any("overflow" in w[1] for w in want[1]), want


def test_an_int64_wrap_with_numpy_warnings_off_keeps_the_wrapped_values():
    fn = fn_of(FLOYD)
    with np.errstate(all="ignore"):
        check_warnings(fn, lambda: floyd_args(24, big=True), expect_fallback=False)


def test_a_python_int_overflow_still_stops_at_once():
    src = """
    def k(A, n):
        s = 1
        for i in range(n):
            s = s * 3
            A[i % 4] = float(i)
        return s
    """
    records = check(fn_of(src), lambda: (np.zeros(4), 80), native=False, devices=CPU)
    for device in CPU:  # Python's int grows past 64 bits: the native run gives way
        assert [r["status"] for r in records[device]] == ["fallback"], records[device]


def test_the_first_of_several_failed_deferred_checks_decides():
    # math.sqrt(-1) (domain) and a Python float divided by zero in the same
    # loop: Python raises the one it meets first.
    src = """
    def k(A, B, n):
        t = 0.0
        for i in range(n):
            t += math.sqrt(A[i]) + 1.0 / B[i]
        return t
    """
    for a_bad, b_bad in [(5, 9), (9, 5), (5, 5)]:

        def args(a_bad=a_bad, b_bad=b_bad):
            A = np.ones(16)
            B = np.ones(16)
            A[a_bad] = -1.0
            B[b_bad] = 0.0
            return (A, B, 16)

        check(fn_of(src), args, devices=CPU)


def test_a_numpy_float_warning_and_a_python_error_in_one_loop():
    src = """
    def k(A, C, n):
        for i in range(n):
            C[i] = A[i] * 1e300 + math.log(A[i] + 1.0)
    """

    def args(bad):
        A = np.linspace(0.0, 1.0, 8)
        A[bad] = 1e300 if bad == 2 else -1.0
        return (A, np.zeros(8), 8)

    want = check_warnings(fn_of(src), lambda: args(2), expect_fallback=True)  # overflow: a warning only
    assert want[0][0] == "ok" and want[1], want
    check(fn_of(src), lambda: args(6), devices=CPU)  # math.log(0.0): ValueError


def test_deferred_checks_in_parallel_chunks():
    src = """
    def k(A, B, C, n):
        for i in range(n):
            for j in range(n):
                C[i, j] = A[i, j] + B[i, j]
    """

    def args(big):
        A = np.arange(36, dtype=np.int64).reshape(6, 6)
        B = np.ones((6, 6), dtype=np.int64)
        if big:
            A[4, 2] = np.iinfo(np.int64).max
        return (A, B, np.zeros((6, 6), dtype=np.int64), 6)

    check_warnings(fn_of(src), lambda: args(True), expect_fallback=True)
    check_warnings(fn_of(src), lambda: args(False), expect_fallback=False)


# ---- checks LLVM proved away: no snapshot -----------------------------------

ASSIGNED_BEFORE_READ = """
for i in range(w):
    ym1 = 0.0
    ym2 = 0.0
    for j in range(h):
        y1[i, j] = a1 * x[i, j] + b1 * ym1 + b2 * ym2
        ym2 = ym1
        ym1 = x[i, j]
"""


def test_a_variable_assigned_before_it_is_read_needs_no_snapshot():
    x = np.random.default_rng(1).random((30, 20))
    env = dict(w=30, h=20, x=x, y1=np.zeros((30, 20)), a1=0.5, b1=0.25, b2=-0.125)
    r = run_native(ASSIGNED_BEFORE_READ, env)
    assert r["status"] == "ok", r
    assert r["timing"]["snapshot_bytes"] == 0, r["timing"]


def test_a_check_that_stays_keeps_the_snapshot_and_python_partial_writes():
    src = """
    def k(A, idx, n):
        for i in range(n):
            v = 0.0
            A[idx[i]] = v + i
    """

    def args():
        idx = np.array([0, 1, 2, 50, 3], dtype=np.int64)  # the fourth is out of range
        return (np.full(8, -1.0), idx, 5)

    check(fn_of(src), args, devices=CPU)
    env = dict(A=np.zeros(8), idx=np.array([0, 1, 2], dtype=np.int64), n=3)
    r = run_native("for i in range(n):\n    v = 0.0\n    A[idx[i]] = v + i\n", env)
    assert r["status"] == "ok" and r["timing"]["snapshot_bytes"] > 0, r


# ---- store-to-load forwarding ------------------------------------------------

DERICHE_LIKE = """
def k(w, h, x, y1, a1, b1, b2):
    for i in range(w):
        ym1 = 0.0
        ym2 = 0.0
        for j in range(h):
            y1[i, j] = a1 * x[i, j] + b1 * ym1 + b2 * ym2
            ym2 = ym1
            ym1 = y1[i, j]
"""


def deriche_args(scale=1.0, w=9, h=7):
    x = np.random.default_rng(3).random((w, h)) * scale
    return (w, h, x, np.zeros((w, h)), 0.5, 1.5, -0.25)


def test_a_read_of_the_element_just_stored_is_exact():
    check(fn_of(DERICHE_LIKE), deriche_args, devices=CPU)


def test_a_read_of_the_element_just_stored_needs_no_copy_for_numpy_warnings():
    env = dict(zip(("w", "h", "x", "y1", "a1", "b1", "b2"), deriche_args()))
    body = textwrap.dedent(DERICHE_LIKE).strip().split("\n", 1)[1]
    r = run_native(textwrap.dedent(body), env)
    assert r["status"] == "ok" and r["timing"]["snapshot_bytes"] == 0, r


def test_a_warning_in_a_forwarded_nest_reruns_python_exactly():
    # the recurrence overflows to inf, then inf - inf: NumPy warns twice
    want = check_warnings(fn_of(DERICHE_LIKE), lambda: deriche_args(scale=1e307, w=3, h=40), expect_fallback=True)
    assert want[1], want


def test_a_forwarded_value_with_nan():
    def args():
        a = deriche_args()
        a[2][2, 3] = np.nan
        return a

    with np.errstate(invalid="ignore"):
        check(fn_of(DERICHE_LIKE), args, devices=CPU)


def test_int64_elements_are_forwarded_exactly():
    src = """
    def k(A, B, n):
        for i in range(n):
            A[i] = B[i] * 3
            B[i] = A[i] + 1
    """
    check(fn_of(src), lambda: (np.zeros(9, dtype=np.int64), np.arange(9, dtype=np.int64), 9), devices=CPU)


NOT_FORWARDED = {
    # the arrays overlap: x is y shifted by one element
    "overlapping_views": (
        """
        def k(y, x, n):
            for i in range(n):
                y[i] = x[i] + 1.0
                x[i] = y[i] * 2.0
                t = x[i] + y[i]
                y[i] = t
        """,
        lambda: (lambda base: (base[1:], base[:-1], 8))(np.arange(10.0)),
    ),
    # the same array passed twice
    "same_array_twice": (
        """
        def k(y, x, n):
            for i in range(n):
                y[i] = 2.0
                x[i] = 3.0
                y[i] = y[i] + x[i]
        """,
        lambda: (lambda a: (a, a, 6))(np.zeros(6)),
    ),
    # a name of the subscript changes between the store and the read
    "subscript_name_changes": (
        """
        def k(y, n):
            for i in range(n):
                j = i
                y[j] = 5.0 + i
                j = n - 1 - i
                y[i] = y[j] + 1.0
        """,
        lambda: (np.arange(7.0), 7),
    ),
    # an indirect subscript through the array stored into
    "indirect_through_the_stored_array": (
        """
        def k(idx, n):
            for i in range(n):
                idx[idx[i]] = 0
                idx[i] = idx[idx[i]] + 10
        """,
        lambda: (np.array([1, 0, 3, 2, 4], dtype=np.int64), 5),
    ),
    # another store in between, to an array that overlaps
    "another_store_in_between": (
        """
        def k(y, z, n):
            for i in range(n):
                y[i] = 1.0
                z[0] = 7.0
                y[i] = y[i] * 3.0
        """,
        lambda: (lambda base: (base, base[2:], 6))(np.zeros(8)),
    ),
    # control flow in between
    "branch_in_between": (
        """
        def k(y, c, n):
            for i in range(n):
                y[i] = 1.0
                if c[i] > 0:
                    y[i] = 4.0
                y[i] = y[i] + 0.5
        """,
        lambda: (np.zeros(6), np.array([1, 0, 1, 0, 0, 1], dtype=np.int64), 6),
    ),
    # a float32 element reads back rounded
    "float32_rounds": (
        """
        def k(y, n):
            for i in range(n):
                y[i] = 0.1 * i
                y[i] = y[i] * 3.0
        """,
        lambda: (np.zeros(6, dtype=np.float32), 6),
    ),
    # an out-of-range store before the read: IndexError with Python's partial writes
    "out_of_range_store": (
        """
        def k(y, n):
            for i in range(n):
                y[i] = 2.0 * i
                t = y[i]
                y[i + 1] = t
        """,
        lambda: (np.zeros(5), 5),
    ),
}


@pytest.mark.parametrize("name", sorted(NOT_FORWARDED))
def test_forwarding_where_it_must_not_apply(name):
    src, make_args = NOT_FORWARDED[name]
    check(fn_of(src), make_args, devices=CPU)


# ---- unroll-and-jam only where the chains stay in registers -----------------

LU = """
for i in range(n):
    for j in range(i, n):
        for k in range(i):
            A[i, j] -= A[i, k] * A[k, j]
"""

GEMVER_W = """
for i in range(n):
    for j in range(n):
        w[i] = w[i] + alpha * A[i, j] * x[j]
"""


def test_lu_is_not_unrolled_and_jammed():
    n = 12
    A = np.random.default_rng(0).random((n, n)) + n * np.eye(n)
    assert compile_report(LU, dict(A=A, n=n))["unroll_jammed"] == ""


def test_a_chain_in_registers_is_unrolled_and_jammed():
    n = 12
    env = dict(A=np.random.default_rng(0).random((n, n)), w=np.zeros(n), x=np.ones(n), alpha=1.5, n=n)
    assert compile_report(GEMVER_W, env)["unroll_jammed"] == "i/j"
    env["x"] = env["w"]  # the chain's array is read at other elements: no jam
    assert compile_report(GEMVER_W, env)["unroll_jammed"] == ""


def test_lu_and_jammed_chains_are_exact():
    lu = "def k(A, n):\n" + textwrap.indent(textwrap.dedent(LU).strip(), "    ") + "\n"
    g = "def k(A, w, x, alpha, n):\n" + textwrap.indent(textwrap.dedent(GEMVER_W).strip(), "    ") + "\n"
    M = np.random.default_rng(5).random((13, 13)) + 13 * np.eye(13)
    check(fn_of(lu), lambda: (M.copy(), 13), devices=CPU)
    check(fn_of(g), lambda: (M.copy(), np.linspace(2, 3, 13), np.linspace(0, 1, 13), 1.5, 13), devices=CPU)
    check(fn_of(g), lambda: (lambda v: (M.copy(), v, v, 1.5, 13))(np.linspace(0, 1, 13)), devices=CPU)


# ---- subscripts of triangular loops ------------------------------------------

DURBIN = """
def k(r, y, z):
    n = r.shape[0]
    y[0] = -r[0]
    beta = 1.0
    alpha = -r[0]
    for kk in range(1, n):
        beta = (1 - alpha * alpha) * beta
        total = 0.0
        for i in range(kk):
            total += r[kk - i - 1] * y[i]
        alpha = -(r[kk] + total) / beta
        for i in range(kk):
            z[i] = y[i] + alpha * y[kk - i - 1]
        for i in range(kk):
            y[i] = z[i]
        y[kk] = alpha
"""


def test_durbin_is_exact():
    n = 40
    check(fn_of(DURBIN), lambda: ((n + 1 - np.arange(n)).astype(np.float64), np.zeros(n), np.zeros(n)), devices=CPU)


def test_a_triangular_subscript_proved_in_range_needs_no_check():
    # i - kk + n lies in [1, n - 1] for i < kk; the intervals of i and kk alone
    # allow up to 2n - 3 (a checked subscript, and a snapshot)
    src = "for kk in range(1, n):\n    for i in range(kk):\n        y[i - kk + n] = 2.5\n"
    r = run_native(src, dict(y=np.zeros(10), n=10))
    assert r["status"] == "ok" and r["timing"]["snapshot_bytes"] == 0, r


TRIANGULAR = {
    # k - i reaches -1 (Python's wrap to the last element)
    "reaches_minus_one": """
        def k(x, n):
            for kk in range(n):
                for i in range(kk + 2):
                    x[kk - i] += 1.0
        """,
    # out of range for the last kk: IndexError with Python's partial writes
    "leaves_the_array": """
        def k(x, n):
            for kk in range(n):
                for i in range(kk + 1):
                    x[kk + i] = x[kk + i] + 1.0
        """,
    # a loop going down, bounds from two outer loops
    "going_down": """
        def k(x, n):
            for a in range(n):
                for b in range(a, n):
                    for i in range(b, a - 1, -1):
                        x[b - i + a] += 0.5
        """,
    # a step of 2 and a scaled subscript
    "step_and_scale": """
        def k(x, n):
            for a in range(1, n):
                for i in range(0, 2 * a, 2):
                    x[2 * a - i - 1] += 1.0
        """,
    # the bound reads a variable the nest assigns: not used to prove anything
    "bound_assigned_in_the_nest": """
        def k(x, n):
            m = 0
            for a in range(n):
                m = a + 3
                for i in range(m):
                    x[a - i] += 1.0
        """,
    # a step known only when the loop starts
    "variable_step": """
        def k(x, n, s):
            for a in range(1, n):
                for i in range(0, a, s):
                    x[a - i - 1] += 1.0
        """,
}


@pytest.mark.parametrize("name", sorted(TRIANGULAR))
def test_triangular_subscripts_where_the_proof_does_not_apply(name):
    src = TRIANGULAR[name]
    if name == "variable_step":
        check(fn_of(src), lambda: (np.zeros(12), 12, 3), devices=CPU)
        check(fn_of(src), lambda: (np.zeros(12), 12, -1), devices=CPU)
    else:
        check(fn_of(src), lambda: (np.zeros(12), 12), devices=CPU)


# ---- binding: byte order and integer sizes read without Python calls --------

ADD_N = """
def k(A, n):
    for i in range(A.shape[0]):
        A[i] = A[i] + n
    return n
"""


@pytest.mark.parametrize("dtype", ["<f8", "=f8", ">f8", "|i1", ">i8", "<i8"])
def test_byte_orders(dtype):
    records = check(fn_of(ADD_N), lambda: (np.arange(5).astype(dtype), 3), native=False, devices=CPU)
    status = [r["status"] for r in records["cpu-serial"]]
    if dtype.startswith(">"):
        assert status == ["declined"] and "big-endian" in records["cpu-serial"][0]["reason"], records
    else:
        assert status == ["ok"], records


@pytest.mark.parametrize(
    "n, native",
    [(2**62 - 1, True), (-(2**62) + 1, True), (2**62, False), (-(2**62), False), (2**100, False), (True, True)],
)
def test_integer_scalars_up_to_62_bits(n, native):
    records = check(fn_of(ADD_N), lambda: (np.zeros(3, dtype=np.int64), n), native=False, devices=CPU)
    status = [r["status"] for r in records["cpu-serial"]]
    if native:
        assert status == ["ok"], records
    else:
        assert status == ["declined"] and "too large an integer" in records["cpu-serial"][0]["reason"], records
