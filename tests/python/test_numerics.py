"""Numerics of the native code against CPython + NumPy 1.24, operation by
operation.

A differential sweep: for every math function, builtin and operator the
front end accepts, and every kind of operand the engine meets (Python int,
float and bool scalars, NumPy float64/float32/int64/int32/bool array
elements, np.float64 and np.int64 scalars), over edge values (0, -0.0, 1,
-1, 2**53+1, 2**62, the int64 and int32 limits, NaN, +-inf, huge, tiny) and
a few random ones, a one-statement loop ``r = <expr>`` runs in CPython and
through ``loopscope.run`` on "cpu" and "cpu-serial" with both compile tiers.
The engine must give the same value (bit for bit, -0.0 is not 0.0; any NaN
equals any NaN) of the same type, or the same exception, or decline (Python
runs, which is exact by construction). Stores ``O[i] = x``, ``O[i] += x``,
... into every dtype are swept the same way, and loops over thousands of
random values check the last bit of pow() and the math functions.

``python tests/python/test_numerics.py [--full] [--table]`` runs the whole
sweep (every value pair, every device) and prints the coverage table: per
operation, how many (operand kinds, values) cases ran natively, were declined
or fell back, and how many differed.
"""

import itertools
import math
import random
import struct
import sys
import warnings

import numpy as np
import pytest

import loopscope
import nestgen
from cpu_tiers import cpu_tier
from loopscope import _run

CONFIGS = [("cpu", "quick"), ("cpu", "optimised"), ("cpu-serial", "quick"), ("cpu-serial", "optimised")]

# ---------------------------------------------------------------------------
# operand kinds


def _rand_floats(seed, n):
    r = random.Random(seed)
    out = []
    for _ in range(n):
        out.append(r.uniform(-10.0, 10.0))
        out.append(r.uniform(0.0, 1.0) * 2.0 ** r.randint(-30, 30))
    return out


INT_EDGES = [0, 1, -1, 2, -3, 7, 2**31 - 1, -(2**31), 2**53 + 1, -(2**53 + 1), 2**62, 2**63 - 1, -(2**63)]
FLOAT_EDGES = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    -2.5,
    3.0,
    2.0**53,
    2.0**62,
    1e308,
    -1e308,
    5e-324,
    1e-300,
    float("nan"),
    float("inf"),
    float("-inf"),
    710.0,
    -745.5,
]
RANDOM_FLOATS = _rand_floats(1, 3)


def _fits(v, bits):
    return -(2 ** (bits - 1)) <= v < 2 ** (bits - 1)


class Kind:
    """An operand kind: how the loop reads it and which values it takes.

    kind "arg": a scalar argument read as is (Python int/float/bool, or a
    NumPy scalar); "elem": an element of a 1-element array; "conv": a Python
    scalar made in the loop from an array element (int(I[i]), float(F[i])),
    so its value is unknown when the code is specialised.
    """

    def __init__(self, name, how, values, make, dtype=None, wrap=None):
        self.name, self.how, self.values, self.make, self.dtype, self.wrap = name, how, values, make, dtype, wrap

    def expr(self, slot):
        if self.how == "arg":
            return f"x{slot}"
        if self.how == "elem":
            return f"X{slot}[i]"
        return f"{self.wrap}(X{slot}[i])"

    def arg(self, v):
        if self.how == "arg":
            return self.make(v)
        return np.array([v], dtype=self.dtype)


def _f32_values():
    out = []
    for v in FLOAT_EDGES + [3.4e38, 1e-45, 16777217.0] + RANDOM_FLOATS:
        with np.errstate(over="ignore"):
            f = np.float32(v)
        if not any(np.float32(w).tobytes() == f.tobytes() for w in out):
            out.append(float(f))
    return out


KINDS = {
    "int": Kind("int", "arg", INT_EDGES, int),
    "int?": Kind("int?", "conv", INT_EDGES, None, np.int64, "int"),
    "float": Kind("float", "arg", FLOAT_EDGES + RANDOM_FLOATS, float),
    "float?": Kind("float?", "conv", FLOAT_EDGES + RANDOM_FLOATS, None, np.float64, "float"),
    "bool": Kind("bool", "arg", [False, True], bool),
    "f64": Kind("f64", "elem", FLOAT_EDGES + RANDOM_FLOATS, None, np.float64),
    "f32": Kind("f32", "elem", _f32_values(), None, np.float32),
    "i64": Kind("i64", "elem", INT_EDGES, None, np.int64),
    "i32": Kind("i32", "elem", [v for v in INT_EDGES if _fits(v, 32)], None, np.int32),
    "b": Kind("b", "elem", [False, True], None, np.bool_),
    "np.f64": Kind("np.f64", "arg", FLOAT_EDGES + RANDOM_FLOATS, np.float64),
    "np.i64": Kind("np.i64", "arg", INT_EDGES, np.int64),
}
# The kinds in the quick (CI) sweep of binary operators: one of each Python
# type, every array dtype, and the two ways a Python int is read.
BINARY_KINDS = ["int", "int?", "float", "bool", "f64", "f32", "i64", "i32", "b", "np.f64", "np.i64"]

# ---------------------------------------------------------------------------
# operations

MATH1 = [
    "sqrt",
    "exp",
    "log",
    "log2",
    "log10",
    "log1p",
    "expm1",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "sinh",
    "cosh",
    "tanh",
    "asinh",
    "acosh",
    "atanh",
    "floor",
    "ceil",
    "trunc",
    "fabs",
    "erf",
    "erfc",
    "gamma",
    "lgamma",
]
MATH2 = ["atan2", "pow", "hypot", "copysign", "fmod"]
UNARY = [f"math.{f}" for f in MATH1] + [
    "abs",
    "float",
    "int",
    "round",
    "neg",
    "not",
    "np.sqrt",
    "np.abs",
    "np.fabs",
    "np.float64",
    "np.float32",
    "np.int64",
    "np.floor",
    "np.exp",
]
BINARY = ["+", "-", "*", "/", "//", "%", "**", "<", "==", "min", "max", "np.minimum", "np.maximum"] + [
    f"math.{f}" for f in MATH2
]
# x ** <constant>: integer powers need a constant exponent in native code.
POWERS = ["2", "3", "0", "-2", "2.0", "3.0", "-2.0", "0.5", "-1.0", "1.0"]


def unary_expr(op, a):
    if op == "neg":
        return f"-{a}"
    if op == "not":
        return f"not {a}"
    return f"{op}({a})"


def binary_expr(op, a, b):
    if op in ("+", "-", "*", "/", "//", "%", "**", "<", "=="):
        return f"{a} {op} {b}"
    return f"{op}({a}, {b})"


_FUNCS = {}


def kernel(expr, kinds):
    """def k(<operands>, n): for i in range(n): r = <expr>; return r"""
    key = (expr, tuple(k.name for k in kinds))
    fn = _FUNCS.get(key)
    if fn is None:
        params = []
        for s, k in enumerate(kinds):
            params.append(f"x{s}" if k.how == "arg" else f"X{s}")
        src = f"def k({', '.join(params)}, n):\n    for i in range(n):\n        r = {expr}\n    return r\n"
        fn = nestgen.make_function(src, "k")
        _FUNCS[key] = fn
    return fn


# ---------------------------------------------------------------------------
# running and comparing


def outcome(fn, args, device=None):
    """("ok", value, warnings) or ("raise", class, message, warnings): the
    RuntimeWarnings NumPy printed count as much as the value."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            r = fn(*args) if device is None else loopscope.run(fn, *args, device=device)
            res = ("ok", r)
        except Exception as exc:
            res = ("raise", type(exc).__name__, str(exc))
    return res + (tuple(f"{w.category.__name__}: {w.message}" for w in seen),)


def same_value(a, b):
    """Same type, and the same value bit for bit (any NaN equals any NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (float, np.floating)):
        if math.isnan(a):
            return math.isnan(b)
        return np.asarray(a).tobytes() == np.asarray(b).tobytes()
    if isinstance(a, complex):
        return struct.pack("dd", a.real, a.imag) == struct.pack("dd", b.real, b.imag)
    return a == b


def same(want, got):
    if want[0] != got[0] or want[-1] != got[-1]:
        return False
    if want[0] == "ok":
        return same_value(want[1], got[1])
    return want[1:] == got[1:]


def show(o):
    text = f"{type(o[1]).__name__} {o[1]!r}" if o[0] == "ok" else f"{o[1]}: {o[2]}"
    return text + "".join(f" [{w}]" for w in o[-1])


def check_case(expr, kinds, values, configs=CONFIGS, stats=None):
    """Runs one expression on one tuple of values everywhere; returns the
    list of differences (strings)."""
    fn = kernel(expr, kinds)
    args = [k.arg(v) for k, v in zip(kinds, values)] + [1]
    want = outcome(fn, args)
    diffs = []
    for device, tier in configs:
        _run.reset_last_runs()
        with cpu_tier(tier):
            got = outcome(fn, [k.arg(v) for k, v in zip(kinds, values)] + [1], device)
        runs = list(_run.last_runs().values())
        status = runs[0]["status"] if runs else "none"
        if stats is not None:
            stats[status] = stats.get(status, 0) + 1
        if not same(want, got):
            desc = ", ".join(f"{k.name} {v!r}" for k, v in zip(kinds, values))
            diffs.append(
                f"{expr} with {desc} on {device}/{tier} ({status}): python {show(want)}, " f"loopscope {show(got)}"
            )
    return diffs


STORE_DTYPES = ["float64", "float32", "int64", "int32", "bool"]
STORE_OPS = ["=", "+=", "-=", "*=", "//=", "%="]


def check_store(op, dtype, kind, value, configs=CONFIGS, stats=None):
    """O[i] <op> <value>: the element written (or the exception) must be
    Python's. O starts as [3, -2] of its dtype; the loop writes O[0]."""
    key = (f"store {op}", dtype, kind.name)
    fn = _FUNCS.get(key)
    if fn is None:
        p = "x0" if kind.how == "arg" else "X0"
        src = f"def k({p}, O, n):\n    for i in range(n):\n        O[i] {op} {kind.expr(0)}\n"
        fn = _FUNCS[key] = nestgen.make_function(src, "k")

    def fresh():
        return [kind.arg(value), np.array([3, -2], dtype=dtype), 1]

    ref = fresh()
    want = outcome(fn, ref)
    diffs = []
    for device, tier in configs:
        args = fresh()
        _run.reset_last_runs()
        with cpu_tier(tier):
            got = outcome(fn, args, device)
        runs = list(_run.last_runs().values())
        status = runs[0]["status"] if runs else "none"
        if stats is not None:
            stats[status] = stats.get(status, 0) + 1
        if not same(want, got) or ref[1].tobytes() != args[1].tobytes():
            diffs.append(
                f"O[i] {op} {kind.expr(0)} with O {dtype}, {kind.name} {value!r} on {device}/{tier} "
                f"({status}): python {show(want)} O={ref[1]!r}, loopscope {show(got)} O={args[1]!r}"
            )
    return diffs


def sweep_stores(kind_names, configs=CONFIGS, table=None, values=None):
    diffs = []
    for op in STORE_OPS:
        for dtype in STORE_DTYPES:
            for kn in kind_names:
                k = KINDS[kn]
                st = {}
                for v in values(k) if values else k.values:
                    diffs += check_store(op, dtype, k, v, configs, st)
                if table is not None:
                    table[(f"O[i] {op}", f"{dtype}, {kn}")] = st
    return diffs


def sweep_unary(ops, kind_names, configs=CONFIGS, table=None):
    diffs = []
    for op in ops:
        for kn in kind_names:
            k = KINDS[kn]
            st = {}
            for v in k.values:
                diffs += check_case(unary_expr(op, k.expr(0)), [k], [v], configs, st)
            if table is not None:
                table[(op, kn)] = st
    return diffs


def sweep_binary(ops, kind_names, configs=CONFIGS, table=None, values=None):
    diffs = []
    for op in ops:
        for ka, kb in itertools.product(kind_names, repeat=2):
            a, b = KINDS[ka], KINDS[kb]
            st = {}
            va = values(a) if values else a.values
            vb = values(b) if values else b.values
            for x, y in itertools.product(va, vb):
                if op == "**" and a.name in PY_INTS and b.name in PY_INTS and abs(y) > 64:
                    continue  # Python computes the exact (enormous) integer
                diffs += check_case(binary_expr(op, a.expr(0), b.expr(1)), [a, b], [x, y], configs, st)
            if table is not None:
                table[(op, f"{ka}, {kb}")] = st
    return diffs


def sweep_powers(kind_names, configs=CONFIGS, table=None):
    diffs = []
    for p in POWERS:
        for kn in kind_names:
            k = KINDS[kn]
            st = {}
            for v in k.values:
                diffs += check_case(f"{k.expr(0)} ** {p}", [k], [v], configs, st)
            if table is not None:
                table[(f"** {p}", kn)] = st
    return diffs


def few(kind):
    """A short list of values per kind for the quick sweep of binary ops."""
    picks = {
        "int": [0, -1, 3, 2**53 + 1, 2**62, -(2**63)],
        "int?": [0, -3, 7, 2**53 + 1, 2**63 - 1],
        "float": [-0.0, 1.0, -2.5, float("nan"), float("inf"), 1e308, RANDOM_FLOATS[0]],
        "float?": [0.0, -2.5, float("-inf"), RANDOM_FLOATS[1]],
        "np.f64": [0.0, -0.0, 3.0, float("nan"), -1e308, RANDOM_FLOATS[2]],
        "f64": [0.0, -0.0, 3.0, float("nan"), float("-inf"), 1e308, RANDOM_FLOATS[3]],
        "f32": [0.0, -0.0, -2.5, float("nan"), float("inf"), 3.4e38, float(np.float32(RANDOM_FLOATS[4]))],
        "i64": [0, -1, 2, 2**53 + 1, -(2**63), 2**63 - 1],
        "np.i64": [0, -3, 2**62],
        "i32": [0, -1, 7, 2**31 - 1, -(2**31)],
        "bool": [False, True],
        "b": [False, True],
    }
    return picks[kind.name]


# ---------------------------------------------------------------------------
# tests (the quick sweep; the script below runs the full one)

ALL_KINDS = list(KINDS)
PY_INTS = ("int", "int?", "bool")


@pytest.mark.parametrize("group", range(4))
def test_unary_functions_match_cpython(group):
    ops = UNARY[group::4]
    diffs = sweep_unary(ops, ALL_KINDS)
    assert not diffs, "\n".join(diffs[:40]) + f"\n({len(diffs)} differences)"


@pytest.mark.parametrize("op", BINARY)
def test_binary_operations_match_cpython(op):
    configs = [CONFIGS[0], CONFIGS[3]]
    diffs = sweep_binary([op], BINARY_KINDS, configs, values=few)
    assert not diffs, "\n".join(diffs[:40]) + f"\n({len(diffs)} differences)"


@pytest.mark.parametrize("dtype", STORE_DTYPES)
def test_stores_into_every_dtype_match_cpython(dtype):
    diffs = []
    for op in STORE_OPS:
        for kn in ALL_KINDS:
            k = KINDS[kn]
            for v in few(k):
                diffs += check_store(op, dtype, k, v, [CONFIGS[0], CONFIGS[3]])
    assert not diffs, "\n".join(diffs[:40]) + f"\n({len(diffs)} differences)"


def test_constant_powers_match_cpython():
    diffs = sweep_powers(ALL_KINDS)
    assert not diffs, "\n".join(diffs[:40]) + f"\n({len(diffs)} differences)"


# Many random values through one loop each: last-bit differences (the C
# library's pow() is not correctly rounded, so pow(x, 2.0) is not always
# x * x; NumPy's np.power loop is not the C library's) show up only on some
# values. Every case runs natively (asserted), with no exception.
RANDOM_LOOPS = [
    # (statement, dtypes of X and Y, value ranges)
    ("out[i] = X[i] ** 2.0", "f8", "f8"),
    ("out[i] = X[i] ** 3.0", "f8", "f8"),
    ("out[i] = X[i] ** -2.0", "f8", "f8"),
    ("out[i] = X[i] ** -1.0", "f8", "f8"),
    ("out[i] = abs(X[i]) ** 0.5", "f8", "f8"),
    ("out[i] = float(X[i]) ** 2.0", "f8", "f8"),
    ("out[i] = float(X[i]) ** 2", "f8", "f8"),
    ("out[i] = abs(float(X[i])) ** 0.5", "f8", "f8"),
    ("out[i] = 2.0 ** X[i]", "f8", "f8"),
    ("out[i] = 10.0 ** float(X[i])", "f8", "f8"),
    ("out[i] = abs(X[i]) ** Y[i]", "f8", "f8"),
    ("out[i] = abs(X[i]) ** Y[i]", "f4", "f4"),
    ("out[i] = X[i] ** 2", "f8", "f8"),
    ("out[i] = abs(X[i]) ** Y[i]", "f8", "f4"),
    ("out[i] = abs(X[i]) ** Y[i]", "f4", "f8"),
    ("out[i] = X[i] ** Y[i]", "i8", "f8"),
    ("out[i] = math.exp(X[i]) + math.log(abs(X[i]) + 1.0)", "f8", "f8"),
    ("out[i] = math.sin(X[i]) * math.cos(Y[i]) + math.tan(X[i])", "f8", "f8"),
    ("out[i] = math.sinh(Y[i]) + math.cosh(Y[i]) + math.tanh(X[i]) + math.atan(X[i])", "f8", "f8"),
    ("out[i] = math.log2(abs(X[i]) + 0.5) + math.log10(abs(Y[i]) + 0.5)", "f8", "f4"),
    ("out[i] = math.expm1(Y[i]) + math.log1p(abs(X[i])) + math.erf(X[i]) + math.erfc(Y[i])", "f4", "f8"),
    ("out[i] = math.sqrt(abs(X[i])) + math.floor(X[i]) + math.ceil(Y[i]) + math.trunc(float(X[i]))", "f8", "f8"),
]


def _random_array(kind, n, seed):
    g = np.random.default_rng(seed)
    if kind == "i8":
        return g.integers(-3000, 3000, n)
    x = g.uniform(-30.0, 30.0, n) * 2.0 ** g.integers(-8, 8, n)
    return x.astype(np.float32 if kind == "f4" else np.float64)


@pytest.mark.parametrize("case", range(len(RANDOM_LOOPS)))
def test_random_values_bit_identical(case):
    stmt, kx, ky = RANDOM_LOOPS[case]
    src = f"def k(X, Y, out):\n    for i in range(X.shape[0]):\n        {stmt}\n"
    fn = nestgen.make_function(src, "k")
    n = 4000
    X = _random_array(kx, n, 2 * case)
    Y = _random_array(ky, n, 2 * case + 1)
    if kx == "i8":
        Y = np.clip(Y, -20.0, 20.0)
    if "** Y[i]" in stmt:
        # no overflow and no NaN from a negative base: NumPy would warn, and
        # Python would run the loop
        Y = np.clip(Y, -8, 8).astype(Y.dtype)
        if kx == "i8":
            X = np.abs(X) % 100 + 1
        else:
            X = np.where(np.abs(X) < 0.01, 0.5, np.clip(X, -100, 100)).astype(X.dtype)
    if "10.0 **" in stmt or "2.0 **" in stmt:
        X = np.clip(X, -300, 300)
    if "math.exp" in stmt or "sinh" in stmt or "expm1" in stmt:
        X, Y = np.clip(X, -50, 50).astype(X.dtype), np.clip(Y, -50, 50).astype(Y.dtype)
    want = np.zeros(n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fn(X, Y, want)
    for device, tier in CONFIGS:
        got = np.zeros(n)
        _run.reset_last_runs()
        with cpu_tier(tier), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loopscope.run(fn, X, Y, got, device=device)
        status = [r["status"] for r in _run.last_runs().values()]
        if "X[i] ** Y[i]" in stmt and kx == "i8":
            # np.int64 ** np.float64 defers to np.float64's scalar code: native
            assert status == ["ok"], _run.last_runs()
        assert status == ["ok"], _run.last_runs()
        bad = np.flatnonzero(want.view(np.int64) != got.view(np.int64))
        assert bad.size == 0, (
            f"{stmt} ({kx}, {ky}) on {device}/{tier}: {bad.size} of {n} differ, first at "
            f"X={X[bad[0]]!r} Y={Y[bad[0]]!r}: python {want[bad[0]]!r}, "
            f"loopscope {got[bad[0]]!r}"
        )


def test_power_through_numpy_ufunc_declines_with_reason():
    """np.float32 ** float and np.int64 ** float go through NumPy's np.power
    loop (vectorised, not the C library): Python runs them, and says why."""
    src = "def k(X, out):\n    for i in range(X.shape[0]):\n        out[i] = X[i] ** 3.0\n"
    fn = nestgen.make_function(src, "k")
    for dt in (np.float32, np.int64, np.int32):
        X = _random_array("f8", 500, 7).astype(dt)
        want, got = np.zeros(500), np.zeros(500)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn(X, want)
            _run.reset_last_runs()
            loopscope.run(fn, X, got, device="cpu")
        assert want.tobytes() == got.tobytes()
        (rec,) = _run.last_runs().values()
        assert rec["status"] == "declined" and "np.power" in rec["reason"], rec


def test_trunc_of_numpy_scalars_raises_like_python():
    src = "def k(X, out):\n    for i in range(X.shape[0]):\n        out[i] = math.trunc(X[i])\n"
    fn = nestgen.make_function(src, "k")
    for dt in (np.float32, np.int64, np.int32):
        X = np.array([1.5, -2.5], dtype=dt)
        want = outcome(fn, (X, np.zeros(2)))
        for device, tier in CONFIGS:
            out = np.zeros(2)
            _run.reset_last_runs()
            with cpu_tier(tier):
                got = outcome(fn, (X, out), device)
            assert want == got and want[1] == "TypeError", (dt, want, got)
            (rec,) = _run.last_runs().values()
            assert rec["status"] == "declined" and "__trunc__" in rec["reason"], rec
    X = np.array([1.5, -2.5])
    for device, tier in CONFIGS:  # np.float64 is a float: native
        out = np.zeros(2)
        with cpu_tier(tier):
            loopscope.run(fn, X, out, device=device)
        assert out.tolist() == [1.0, -2.0]


def test_floor_of_int64_goes_through_float_like_python():
    src = (
        "def k(X, out):\n    for i in range(X.shape[0]):\n        out[i] = math.floor(X[i]) - X[i]\n"
        "        r = math.ceil(X[i])\n    return r\n"
    )
    fn = nestgen.make_function(src, "k")
    X = np.array([2**53 + 1, -(2**53 + 1), 2**62 + 1, 12345, -(2**62) - 1], dtype=np.int64)
    want_out = np.zeros(5, np.int64)
    want = outcome(fn, (X, want_out))
    for device, tier in CONFIGS:
        out = np.zeros(5, np.int64)
        _run.reset_last_runs()
        with cpu_tier(tier):
            got = outcome(fn, (X, out), device)
        assert same(want, got) and out.tobytes() == want_out.tobytes(), (device, tier, want, got, out, want_out)
        assert [r["status"] for r in _run.last_runs().values()] == ["ok"]


# ---------------------------------------------------------------------------
# the full sweep


def main(argv):
    full = "--full" in argv
    want_table = "--table" in argv
    table = {}
    configs = CONFIGS
    diffs = sweep_unary(UNARY, ALL_KINDS, configs, table)
    diffs += sweep_powers(ALL_KINDS, configs, table)
    diffs += sweep_binary(
        BINARY,
        ALL_KINDS if full else BINARY_KINDS,
        configs if full else [CONFIGS[0], CONFIGS[3]],
        table,
        values=None if full else few,
    )
    diffs += sweep_stores(ALL_KINDS, configs if full else [CONFIGS[0], CONFIGS[3]], table, values=None if full else few)
    for d in diffs:
        print(d)
    if want_table:
        ops = {}
        for (op, kinds), st in table.items():
            o = ops.setdefault(op, {"kinds": 0, "ok": 0, "declined": 0, "fallback": 0})
            o["kinds"] += 1
            for s in ("ok", "declined", "fallback"):
                o[s] += st.get(s, 0)
        print(f"{'operation':<16} {'kind tuples':>11} {'native':>8} {'declined':>9} {'fallback':>9}")
        for op, o in ops.items():
            print(f"{op:<16} {o['kinds']:>11} {o['ok']:>8} {o['declined']:>9} {o['fallback']:>9}")
    print(f"cases={sum(sum(st.values()) for st in table.values())} differences={len(diffs)}")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
