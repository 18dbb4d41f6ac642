"""One exactness policy for every device: the GPU variant (checked here with
the emulator, "gpu-emulated", which runs the generated CUDA on the CPU) keeps
exactly the semantics the CPU variant keeps. Every test runs a function three
ways, in CPython, through loopscope.run(device="cpu") and through
loopscope.run(device="gpu-emulated"), and requires the same values, the same
types of every variable afterwards (int, float, np.float64, np.float32,
np.int64, ...), the same exceptions and the same array contents (partial
writes included). Whatever the CPU variant declines for exactness, the GPU
variant declines with the same reason; every kernel generated along the way
is also compiled by NVRTC.
"""

import math
import os
import re
import sys
import warnings

import numpy as np

import _loopscope
import loopscope
from loopscope import _run

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import nestgen  # noqa: E402
from cpu_tiers import reassociates, reassociating  # noqa: E402
from differential import EMULATED_WITH_NVRTC, use_temporary_cache  # noqa: E402, F401

DEVICES = ("cpu", "gpu-emulated")


# NVRTC compiles every kernel the emulator runs (differential.EMULATED_WITH_NVRTC).


# --- comparing outcomes ----------------------------------------------------------


def same(a, b):
    """Equal values of the same type: arrays bit for bit, floats with their
    sign of zero, NaN equal to NaN."""
    if isinstance(a, tuple) or isinstance(b, tuple):
        return (
            isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
        )
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, (float, np.floating)):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    return a == b


def outcome(fn, args, device):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if device is None:
                ret = fn(*args)
            else:
                ret = loopscope.run(fn, *args, device=device)
            return ("ok", ret)
        except Exception as exc:  # noqa: BLE001 - compared with Python's
            return ("raise", type(exc).__name__, str(exc))


def check(fn, make_args, expect=None):
    """Runs fn in CPython, on the CPU variant and on the emulated GPU variant
    and compares everything. Returns {device: [last-run records]}.

    expect: per device, the status every nest must end with ("ok",
    "declined", "fallback"), or None to accept any."""
    want_args = make_args()
    want = outcome(fn, want_args, None)
    records = {}
    for device in DEVICES:
        args = make_args()
        _run.reset_last_runs()
        got = outcome(fn, args, EMULATED_WITH_NVRTC if device == "gpu-emulated" else device)
        recs = list(_run.last_runs().values())
        records[device] = recs
        ctx = f"{fn.__name__} on {device}: {recs}"
        assert want[0] == got[0], f"{ctx}\npython: {want}\nloopscope: {got}"
        if want[0] == "ok":
            assert same(want[1], got[1]), f"{ctx}\npython: {want[1]!r}\nloopscope: {got[1]!r}"
        else:
            assert want[1:] == got[1:], f"{ctx}\npython: {want}\nloopscope: {got}"
        for a, b in zip(want_args, args):
            if isinstance(a, np.ndarray):
                assert same(a, b), f"{ctx}\narrays differ:\n{a}\n{b}"
        for r in recs:
            assert "map::at" not in r["reason"] and "std::" not in r["reason"], ctx
        if expect is not None and expect.get(device) is not None:
            assert recs and all(r["status"] == expect[device] for r in recs), ctx
    # What the CPU variant declines (for exactness or otherwise), the GPU
    # variant declines with the same reason.
    assert len(records["cpu"]) == len(records["gpu-emulated"]), records
    for rc, rg in zip(records["cpu"], records["gpu-emulated"]):
        if rc["status"] == "declined":
            assert (rg["status"], rg["reason"]) == ("declined", rc["reason"]), (rc, rg)
    return records


def same_reason(records):
    """The GPU variant gives the CPU variant's reason for the same nest."""
    cpu = [r["reason"] for r in records["cpu"]]
    gpu = [r["reason"] for r in records["gpu-emulated"]]
    assert cpu == gpu, (cpu, gpu)
    return cpu


OK = {"cpu": "ok", "gpu-emulated": "ok"}


def types_of(*values):
    return tuple(type(v).__name__ for v in values)


# --- 1. Python ints beyond int64 ---------------------------------------------------


def int_grows(n):
    s = 1
    for i in range(n):
        s = s * 3
    return s, types_of(s)


def int_power_into_int64(a):
    for i in range(a.shape[0]):
        a[i] = (i + 2) ** 40
    return a


def int_sum_overflows(big, n):
    s = big
    for i in range(n):
        s += big
    return s


def test_python_ints_never_wrap():
    rec = check(int_grows, lambda: (100,))
    assert rec["gpu-emulated"][0]["status"] == "fallback"
    same_reason(rec)
    check(int_grows, lambda: (30,), OK)  # 3**30 fits: exact natively
    rec = check(int_power_into_int64, lambda: (np.zeros(5, np.int64),))
    same_reason(rec)
    # A parallel sum of Python ints: any overflow hands the loop to Python.
    check(int_sum_overflows, lambda: (2**61, 8))
    check(int_sum_overflows, lambda: (2**50, 8), OK)


# --- 2. NumPy scalar types come back as Python leaves them ------------------------------


def numpy_float32_start(A):
    s = np.float32(0)
    for i in range(A.shape[0]):
        s += A[i]
    return s, s / 0


def numpy_element_start(A):
    s = A[0]
    for i in range(1, A.shape[0]):
        s += A[i]
    w = s
    return s, w**-1, s / 0, types_of(s)


def numpy_private(A, B):
    t = 0.0
    for i in range(A.shape[0]):
        t = A[i] * 2.0
        B[i] = t
    return t, t / 0, types_of(t)


def numpy_sequential(x):
    acc = 0.0
    n = 0
    for i in range(1, x.shape[0]):
        acc = acc * 0.5 + x[i]
        x[i] = x[i - 1] + acc
        n = n + 1
    return acc, n, types_of(acc, n), acc / 0


def numpy_int_sum(k):
    s = 0
    for i in range(k.shape[0]):
        s += k[i]
    return s, types_of(s), s // 0


def numpy_narrow_types(a32, f32):
    u = 0
    v = 0.0
    flag = False
    for i in range(a32.shape[0]):
        u = a32[i] + a32[i]
        v = f32[i] * f32[i]
        flag = f32[i] > 0.5
    return u, v, flag, types_of(u, v, flag)


def float32_column_sums(A, out):
    for j in range(A.shape[1]):
        s = np.float32(0.0)
        for i in range(A.shape[0]):
            s += A[i, j]
        out[j] = s * 3
    return s, s / 0, types_of(s)


def test_numpy_scalar_types_are_kept():
    g = np.random.default_rng(1)
    x = g.random(9)
    check(numpy_float32_start, lambda: (np.arange(5, dtype=np.float32),))
    exact = np.arange(1, 10) * 0.25  # sums exact in any order (parallel sums reassociate)
    check(numpy_element_start, lambda: (exact.copy(),), OK)
    check(numpy_private, lambda: (x.copy(), np.zeros(9)), OK)
    check(numpy_sequential, lambda: (x.copy(),), OK)
    check(numpy_int_sum, lambda: (np.arange(-4, 11),), OK)
    check(numpy_narrow_types, lambda: (np.arange(7, dtype=np.int32) - 3, np.linspace(0, 1, 7).astype(np.float32)), OK)
    a32 = (np.random.default_rng(2).random((6, 5)) * 10).astype(np.float32)
    check(float32_column_sums, lambda: (a32.copy(), np.zeros(5, np.float32)), OK)


# --- 3. a scalar whose only update never runs keeps its type --------------------------------


def update_never_runs(A, n):
    s = 0
    for i in range(n):
        s += A[i]
    return s, types_of(s)


def int_update_never_runs(K, n):
    s = 0
    t = 5
    for i in range(n):
        s += int(K[i])  # a Python int: a sum of np.int64 values stays in one thread on the GPU
        if K[i] > 100:
            t = K[i]
    return s, t, types_of(s, t)


def test_scalar_without_update_keeps_its_type():
    # An int accumulator of floats: the CPU variant tracks which it holds (an
    # int when the loop never runs); the GPU variant declines it, and says so.
    for n in (0, 3):
        rec = check(update_never_runs, lambda: (np.arange(5.0), n), {"cpu": "ok", "gpu-emulated": "declined"})
        assert "'s' holds an int and then a float" in rec["gpu-emulated"][0]["reason"]
    check(int_update_never_runs, lambda: (np.arange(5), 0), OK)
    # t is assigned in some iterations only: a private whose value after the
    # loop is the last assigning iteration's. The CPU combines its chunks in
    # order; the GPU's threads keep the latest iteration that assigned it
    # (here none of the last ones: t comes from an earlier iteration, or from
    # before the loop).
    check(int_update_never_runs, lambda: (np.arange(5), 5), OK)
    check(int_update_never_runs, lambda: (np.arange(300) % 150, 300), OK)
    check(int_update_never_runs, lambda: (np.arange(200), 200), OK)


# --- 4. NaN and signed zeros in min/max reductions ----------------------------------------


def max_acc_first(A):
    s = -1.0
    for i in range(A.shape[0]):
        s = max(s, A[i])
    return s, types_of(s)


def max_acc_second(A):
    s = -1.0
    for i in range(A.shape[0]):
        s = max(A[i], s)
    return s, types_of(s)


def min_acc_first(A, s):
    for i in range(A.shape[0]):
        s = min(s, A[i])
    return s, types_of(s)


def int_max_mixed_kinds(K):
    hi = -(10**9)
    lo = 10**9
    for i in range(K.shape[0]):
        hi = max(hi, K[i])
        lo = min(K[i], lo)
    return hi, lo, types_of(hi, lo)


def test_min_max_keep_pythons_nan_and_zero_rules():
    nan = float("nan")
    for data in ([1.0, nan, 3.0], [nan, nan], [nan, 2.0, nan], [5.0, 7.0, nan], [-3.0, -2.0]):
        check(max_acc_first, lambda: (np.array(data),))
        check(max_acc_second, lambda: (np.array(data),))
    for s in (nan, 0.0, -0.0, 9.0):
        check(min_acc_first, lambda: (np.array([3.0, 1.0, 2.0]), s))
    # Zeros of both signs: Python keeps the first one met.
    for data in ([0.0, -0.0, 2.0], [-0.0, 0.0, 2.0], [0.0, 0.0, 1.0], [-0.0, 4.0]):
        check(min_acc_first, lambda: (np.array(data), 9.0))
    big = np.random.default_rng(4).random(3000)
    big[1777] = nan
    check(max_acc_first, lambda: (big.copy(),), OK)
    check(max_acc_second, lambda: (big.copy(),))
    check(int_max_mixed_kinds, lambda: (np.arange(-50, 50) * 7 % 23,))
    check(int_max_mixed_kinds, lambda: (np.zeros(0, np.int64),))


# --- 5. float powers raise as Python floats do ------------------------------------------------


def float_square(x, n):
    y = 0.0
    for i in range(n):
        y = x**2
    return y


def float_powers(x, e, out):
    for i in range(out.shape[0]):
        out[i] = (x + i) ** e
    return out


def test_float_power_overflow_raises():
    rec = check(float_square, lambda: (1e200, 3))
    assert rec["gpu-emulated"][0]["status"] == "fallback"
    same_reason(rec)
    check(float_square, lambda: (1.5, 3), OK)
    check(float_powers, lambda: (0.0, -1.0, np.zeros(3)))  # ZeroDivisionError
    check(float_powers, lambda: (-8.0, 0.5, np.zeros(3)))  # a complex result: Python decides
    check(float_powers, lambda: (10.0, 400.0, np.zeros(3)))  # OverflowError
    check(float_powers, lambda: (0.5, 1.7, np.zeros(6)), OK)


# --- 6. loop variables whose bounds are assigned inside the nest ----------------------------


def inner_bound_assigned(A, n):
    for i in range(n):
        m = i + 1
        for j in range(m):
            A[i] += j
    return i, j, m


def inner_bound_changes(A, n, m):
    for i in range(n):
        for j in range(m):
            A[i] += j
        m = i
    return i, j, m


def inner_bound_empty_at_the_end(A, n):
    for i in range(n):
        m = n - 2 - i
        for j in range(m):
            A[i] += j
    return j


def test_inner_loop_variable_finals():
    check(inner_bound_assigned, lambda: (np.zeros(4), 4), OK)
    check(inner_bound_changes, lambda: (np.zeros(5), 5, 3))
    check(inner_bound_changes, lambda: (np.zeros(5), 5, 0))
    check(inner_bound_empty_at_the_end, lambda: (np.zeros(5), 5))
    check(inner_bound_empty_at_the_end, lambda: (np.zeros(1), 1))  # j never assigned: UnboundLocalError


# --- 7. internal errors never reach the user ---------------------------------------------------


def mixed_max_zero_trip(a, b, n):
    s = 0
    for i in range(n):
        s = max(a[i], b[i])
    return s


def test_mixed_type_max_declines_with_the_cpu_reason():
    for n in (0, 3):
        rec = check(mixed_max_zero_trip, lambda: (np.arange(3, dtype=np.int32), np.arange(3.0), n))
        reasons = same_reason(rec)
        assert reasons == ["max() of a np.int32 and a np.float64 returns either type depending on the values"]


# --- 8. what the CPU variant refuses or traps, the GPU variant refuses or traps -----------------


def numpy_ufunc(x, y):
    for i in range(x.shape[0]):
        y[i] = np.exp(x[i])


def cpython_own_math(x, y):
    for i in range(x.shape[0]):
        y[i] = math.lgamma(x[i] + 1.0)


def int_accumulator_of_floats(A):
    s = 0
    for i in range(A.shape[0]):
        s += A[i] * 0.5
    return s


def traps(x, y, k, d, big):
    for i in range(x.shape[0]):
        y[i] = math.sqrt(x[i]) + math.log(x[i] + 1.0)
        y[i] += 1.0 / (i - d)
        k[i] = (i + 1) % (d - i) + int(x[i] * 1e3)
        y[i] += (big + i) / 3
    return y, k


def float_to_int(x, k):
    for i in range(x.shape[0]):
        k[i] = math.floor(x[i]) + int(x[i] * 2.0)


def int32_store(a32, v):
    for i in range(a32.shape[0]):
        a32[i] = v + i


def index_out_of_range(x, y, off):
    for i in range(y.shape[0]):
        y[i] = x[i + off] * 2.0


def test_cpu_declines_and_traps_hold_on_the_gpu():
    rec = check(cpython_own_math, lambda: (np.linspace(0, 1, 7), np.zeros(7)))
    assert same_reason(rec)[0].startswith("math.lgamma() is computed by CPython's own code")
    # NumPy's own loop runs on the CPU; CUDA's exp is not NumPy's.
    rec = check(numpy_ufunc, lambda: (np.linspace(0, 1, 7), np.zeros(7)), {"cpu": "ok", "gpu-emulated": "declined"})
    assert "np.exp() uses NumPy's own vectorised implementation" in rec["gpu-emulated"][0]["reason"]
    check(int_accumulator_of_floats, lambda: (np.arange(5.0),), {"cpu": "ok", "gpu-emulated": "declined"})
    base = lambda: (np.linspace(0.5, 3.0, 8), np.zeros(8), np.zeros(8, np.int64), 100, 3)  # noqa: E731
    check(traps, base, OK)
    # Each trap in turn: math domain, division by zero, modulo by zero, an
    # int beyond 2**53 meeting a float.
    check(traps, lambda: (np.linspace(-0.5, 3.0, 8), np.zeros(8), np.zeros(8, np.int64), 100, 3))
    check(traps, lambda: (np.linspace(0.5, 3.0, 8), np.zeros(8), np.zeros(8, np.int64), 5, 3))
    check(traps, lambda: (np.linspace(0.5, 3.0, 8), np.zeros(8), np.zeros(8, np.int64), 100, 2**60 + 1))
    for bad in (float("nan"), float("inf"), 1e30):
        x = np.array([0.5, 1.5, bad, 2.0])
        check(float_to_int, lambda: (x.copy(), np.zeros(4, np.int64)))
    check(float_to_int, lambda: (np.array([0.5, -1.5, 2.25]), np.zeros(3, np.int64)), OK)
    check(int32_store, lambda: (np.zeros(4, np.int32), 2**31 - 2))
    check(int32_store, lambda: (np.zeros(4, np.int32), 7), OK)
    check(index_out_of_range, lambda: (np.arange(6.0), np.zeros(5), 2))  # IndexError, partial writes
    check(index_out_of_range, lambda: (np.arange(6.0), np.zeros(5), -6))  # negative indices wrap
    check(index_out_of_range, lambda: (np.arange(6.0), np.zeros(5), 1), OK)


# --- 9. kernel parameters are identifiers ------------------------------------------------------


def shape_bound(x, y):
    for i in range(x.shape[0]):
        y[i] = x[i] + 1.0
    return y


def len_bound(x, y):
    for i in range(len(x)):
        y[i] = x[i] * len(x) + x.shape[0]
    return y


def test_shape_and_len_become_identifiers():
    for fn in (shape_bound, len_bound):
        check(fn, lambda: (np.arange(5.0), np.zeros(5)), OK)
    env = {"x": np.arange(4.0), "y": np.zeros(4), "x.shape[0]": 4, "len(x)": 4}
    import ast

    src = "for i in range(len(x)):\n    y[i] = x[i] * x.shape[0]\n"
    nid = _loopscope.analysis_register(ast.parse(src).body[0], src)
    gen = _loopscope.cuda_generate(nid, env)
    assert gen["decline"] is None, gen["decline"]
    for k in gen["kernels"]:
        for p in k["params"]:
            assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", p["name"]), p["name"]
    assert _loopscope.cuda_compile_source(gen["source"], "sm_80", False)["ok"]


# --- 10. user text reaches the generated code only escaped -------------------------------------


def continued_line(x, y):
    for i in range(x.shape[0]):
        y[i] = x[i] + 2.0
    return y


def odd_comments(x, y):
    α = 3.0
    for i in range(x.shape[0]):
        y[i] = x[i] * α  # */ /* """ <script>alert(1)</script> ??/ é ü 中 \
        y[i] += 1.0  # trailing backslash \
    return y


def test_source_text_is_escaped_in_generated_code():
    check(continued_line, lambda: (np.arange(5.0), np.zeros(5)), OK)
    check(odd_comments, lambda: (np.arange(5.0), np.zeros(5)), OK)
    import ast
    import inspect
    import textwrap

    for fn in (continued_line, odd_comments):
        src = textwrap.dedent(inspect.getsource(fn))
        loop = next(n for n in ast.walk(ast.parse(src)) if isinstance(n, ast.For))
        nid = _loopscope.analysis_register(loop, src)
        env = {"x": np.arange(5.0), "y": np.zeros(5), "x.shape[0]": 5, "α": 3.0}
        gen = _loopscope.cuda_generate(nid, env)
        assert gen["decline"] is None, gen["decline"]
        code = gen["source"]
        assert code.isascii()
        for line in code.splitlines():
            assert not line.rstrip().endswith("\\"), line
            assert "??" not in line, line
            if "//" in line:
                comment = line.split("//", 1)[1]
                assert "*/" not in comment and "/*" not in comment, line
        assert "// line " in code and "y[i] = x[i]" in code  # the Python line is still shown
        assert _loopscope.cuda_compile_source(code, "sm_80", False)["ok"]


# --- the random nests of the analysis' generator ------------------------------------------------

SEEDS = 150
SCALAR_REDUCTION = re.compile(r"^\s+[A-Za-z_]\w*\s*[-+*]=", re.M)


def test_random_nests_on_the_emulated_gpu():
    native = total = 0
    for seed in range(SEEDS):
        src, make_args = nestgen.generate(seed)
        fn = nestgen.make_function(src)
        want_args = make_args()
        want = outcome(fn, want_args, None)
        args = make_args()
        _run.reset_last_runs()
        with reassociating(reassociates(seed)):
            got = outcome(fn, args, EMULATED_WITH_NVRTC)
        # Floating-point sums over parallel loops may differ by reassociation
        # when it is allowed (odd seeds); otherwise the results are Python's.
        tol = reassociates(seed) and bool(SCALAR_REDUCTION.search(src))
        ctx = f"seed {seed} ({nestgen.describe(seed)}):\n{src}\n{_run.last_runs()}"
        assert want[0] == got[0], f"{ctx}\npython: {want}\ngpu: {got}"
        if want[0] == "raise":
            assert want[1:] == got[1:], f"{ctx}\npython: {want}\ngpu: {got}"
        elif not tol:
            assert same(want[1], got[1]), f"{ctx}\npython: {want}\ngpu: {got}"
        for a, b in zip(want_args, args):
            if isinstance(a, np.ndarray):
                ok = same(a, b) or (tol and np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True))
                assert ok, f"{ctx}\narrays differ:\n{a}\n{b}"
        st = [r["status"] for r in _run.last_runs().values()]
        native += sum(s == "ok" for s in st)
        total += len(st)
    assert native >= 0.8 * total, (native, total)


# --- nests run from several threads at once ----------------------------------------------------


def diagonal_sum(k):
    A = np.zeros((8, 8))
    for i in range(8):
        for j in range(8):
            A[i, j] = (i * 8 + j) * k
    s = 0.0
    for i in range(8):
        s += A[i, i]
    return s


def test_emulated_runs_from_several_threads():
    from concurrent.futures import ThreadPoolExecutor

    want = [diagonal_sum(k) for k in range(12)]
    for _ in range(3):
        with ThreadPoolExecutor(max_workers=4) as ex:
            got = list(ex.map(lambda k: loopscope.run(diagonal_sum, k, device="gpu-emulated"), range(12)))
        assert got == want


# --- signed zeros: 0.0 - x is +0.0 when x is +0.0 ---------------------------------------------


def zero_minus_index(M, n):
    for i in range(n):
        for j in range(n):
            M[n - 1 - j, 0] = abs(0.0) - float(j)


def zero_minus_index_f64(x):
    for j in range(x.shape[0]):
        x[j] = 0.0 - float(j)
        x[j] += 0.0 - j


def test_zero_minus_an_integer_keeps_the_sign_of_zero():
    # The C++ the emulator compiles once turned 0.0 - (double)j into
    # -(double)j (GCC folds it so), storing -0.0 where Python stores +0.0.
    check(zero_minus_index, lambda: (np.ones((5, 2), np.float32), 5), OK)
    check(zero_minus_index_f64, lambda: (np.ones(4),), OK)


# --- integer powers in loop bounds: range(10**6) ---------------------------------------------


def pow_bounds(A, e):
    for i in range(2**e, 3**2 + 4, (-1) ** 2):
        A[i] = i * 0.5


def pow_const_bounds(A):
    for i in range(2**3, 3**2 + 4, (-1) ** 2):
        A[i] = i * 0.5


def pow_huge(A):
    for i in range(10**30, 10**30 + 2):  # beyond int64: Python only
        A[i - 10**30] = 1.0


def pow_negative(A):
    for i in range(2**-1):  # a float: TypeError, as in Python
        A[i] = 1.0


def test_integer_powers_in_bounds():
    check(pow_const_bounds, lambda: (np.zeros(20),), OK)
    check(pow_bounds, lambda: (np.zeros(20), 3))  # a variable exponent: declined by the CPU, so by the GPU
    check(pow_bounds, lambda: (np.zeros(20), 0))
    check(pow_bounds, lambda: (np.zeros(20), 5))  # 32 > 13: no iteration
    check(pow_huge, lambda: (np.zeros(3),))
    check(pow_negative, lambda: (np.zeros(3),))
