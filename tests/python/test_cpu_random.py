"""Differential tests of the CPU variant against CPython on random loop nests.

Each case is a random function (1 to 3 nested range loops, ifs, scalar
accumulators, array updates with offset and negative subscripts, // and %
with negative operands, float32/int32/int64/bool arrays, math calls) called
with deterministic arguments, some of which alias (the same array twice, a
reversed view, a strided slice). The function runs once in CPython and once
through loopscope.run on fresh but identical arguments; return values (with
their types), raised exceptions (type and message) and the final bytes of
every array must be the same. Cases where Python raises (IndexError,
ZeroDivisionError, ...) must leave the arrays exactly as Python leaves them.

With ``extras`` (test_random_nests_extras), the functions also take integer
arguments used as subscript offsets (``A[i + o]``, ``A[i - q]``, negative
values included) and as range() steps (``range(0, n, st)``, ``range(n - 1,
-1, -st)``, ``range(n - 1, o, -st)``), their arrays may be views of one
buffer in more ways (A transposed, ``A[1:]`` with ``A[:-1]``, every second
row with a plain slice over it) and float data holds NaN, +-inf and -0.0.
Arrays are compared bit for bit (-0.0 is not 0.0), NaN equal to any NaN; every
case runs on cpu and cpu-serial with both compile tiers, and on cpu with its
parallel loops run one iteration per chunk in reverse (see test_cpu_nestgen).
"""

import linecache
import math
import random
import warnings

import numpy as np
import pytest

import loopscope
from cpu_tiers import reassociating, tier_for
from loopscope import _run
from test_cpu_nestgen import device_setup

N_CASES = 1100
BATCHES = 11


SPECIAL = [math.nan, math.inf, -math.inf, -0.0]


class Gen:
    def __init__(self, seed, exact, extras=False):
        self.r = random.Random(seed)
        self.exact = exact  # float values stay integers: parallel sums are exact
        self.extras = extras
        self.seed = seed
        r = self.r
        self.arrays = {}
        dtypes = ["float64", "float64", "float32", "int64", "int32", "bool"]
        for name in ["A", "B", "C"]:
            nd = 2 if r.random() < 0.3 else 1
            self.arrays[name] = (r.choice(dtypes), nd)
        kinds = [None, None, "same", "reversed", "strided"]
        if extras:
            kinds += ["transposed", "shifted", "step2-over"]
        self.alias = r.choice(kinds)
        if self.alias:
            # B is a view of A: same dtype and rank
            self.arrays["B"] = self.arrays["A"]
        self.loopvars = []
        self.lines = []
        self.depth = 0

    # ---- expressions ----------------------------------------------------
    def index(self, name, dim):
        r = self.r
        size_name = "n" if dim == 0 else "m"
        v = r.choice(self.loopvars) if self.loopvars and r.random() < 0.9 else None
        c = r.choice([0, 0, 0, 0, 1, -1, 2, -2, 3])
        if v is None:
            return str(r.choice([0, 1, -1, -2, 2]))
        if self.extras and r.random() < 0.25:
            return r.choice([f"{v} + o", f"{v} - q", f"o - {v}", f"{v} + o - q"])
        form = r.random()
        if form < 0.55:
            return v if c == 0 else f"{v} + {c}" if c > 0 else f"{v} - {-c}"
        if form < 0.7:
            return f"-1 - {v}"
        if form < 0.8:
            return f"{size_name} - 1 - {v}"
        if form < 0.9:
            return f"{v} % {size_name}"
        return f"{v} // 2"

    def subscript(self, name):
        dt, nd = self.arrays[name]
        return f"{name}[{', '.join(self.index(name, d) for d in range(nd))}]"

    def int_expr(self, d=0):
        r = self.r
        x = r.random()
        if d > 2 or x < 0.3:
            choices = [str(r.randint(-5, 5))] + list(self.loopvars) * 2 + ["n", "t"]
            return r.choice(choices)
        if x < 0.45:
            ints = [a for a, (dt, _) in self.arrays.items() if dt in ("int64", "int32")]
            if ints:
                return self.subscript(r.choice(ints))
        op = r.choice(["+", "-", "*", "//", "%", "+", "-"])
        lhs, rhs = self.int_expr(d + 1), self.int_expr(d + 1)
        if op in ("//", "%") and r.random() < 0.7:
            rhs = str(r.choice([2, 3, -2, -3, 5, 7]))
        return f"({lhs} {op} {rhs})"

    def float_expr(self, d=0):
        r = self.r
        x = r.random()
        if d > 2 or x < 0.25:
            floats = [a for a, (dt, _) in self.arrays.items() if dt in ("float64", "float32")]
            c = [str(r.choice([0.5, 1.5, -2.0, 3.0, 0.25])), "s"]
            if floats:
                c += [self.subscript(r.choice(floats))] * 3
            return r.choice(c)
        if x < 0.35:
            return self.int_expr(d + 1)
        if not self.exact and x < 0.42:
            return f"math.sqrt(abs({self.float_expr(d + 1)}))"
        if x < 0.47:
            a = self.float_expr(d + 1)
            return f"min({a}, {a} * 0.5)" if r.random() < 0.7 else f"min({a}, {self.float_expr(d + 1)})"
        if x < 0.52:
            a = self.float_expr(d + 1)
            return (
                f"({a} if {self.cond()} else {a} - 1)"
                if r.random() < 0.7
                else f"({a} if {self.cond()} else {self.float_expr(d + 1)})"
            )
        ops = ["+", "-", "*"] + ([] if self.exact else ["/", "//", "%"])
        return f"({self.float_expr(d + 1)} {r.choice(ops)} {self.float_expr(d + 1)})"

    def cond(self):
        r = self.r
        a = self.int_expr(2) if r.random() < 0.5 else self.float_expr(2)
        b = str(r.choice([0, 1, 2, -1]))
        c = f"{a} {r.choice(['<', '<=', '>', '>=', '==', '!='])} {b}"
        if r.random() < 0.15:
            c = f"{c} and {self.loopvars[-1] if self.loopvars else 'n'} > 1"
        return c

    # ---- statements -----------------------------------------------------
    def emit(self, text):
        self.lines.append("    " * (self.depth + 1) + text)

    def store(self):
        r = self.r
        name = r.choice(list(self.arrays))
        dt, _ = self.arrays[name]
        target = self.subscript(name)
        if dt in ("int64", "int32"):
            val = self.int_expr()
        elif dt == "bool":
            val = self.cond()
        else:
            val = self.float_expr()
        op = "=" if dt == "bool" or r.random() < 0.6 else r.choice(["+=", "-=", "*="])
        self.emit(f"{target} {op} {val}")

    def stmt(self, budget):
        r = self.r
        x = r.random()
        if x < 0.45:
            self.store()
        elif x < 0.6:
            self.emit(f"s += {self.float_expr()}")
        elif x < 0.68:
            self.emit(f"t = t + {self.int_expr()}" if r.random() < 0.7 else f"t = {self.int_expr()}")
        elif x < 0.8 and budget > 0:
            self.emit(f"if {self.cond()}:")
            self.depth += 1
            self.stmt(budget - 1)
            self.depth -= 1
            if r.random() < 0.5:
                self.emit("else:")
                self.depth += 1
                self.stmt(budget - 1)
                self.depth -= 1
        elif budget > 0 and len(self.loopvars) < 3:
            self.loop(budget - 1)
        else:
            self.store()

    def loop(self, budget):
        r = self.r
        var = "ijk"[len(self.loopvars)]
        outer = self.loopvars[-1] if self.loopvars else None
        forms = [
            "range(n)",
            "range(n)",
            "range(1, n - 1)",
            "range(n - 1, -1, -1)",
            "range(0, n, 2)",
            "range(m)",
            "range(2, n + 2)",
            "range(n, 0, -2)",
            "range(3)",
            "range(0)",
        ]
        if outer:
            forms += [f"range({outer})", f"range({outer}, n)", f"range(n - 1, {outer}, -1)"]
        if self.extras:
            forms += ["range(0, n, st)", "range(n - 1, -1, -st)", "range(n - 1, o, -st)", "range(o, n + q, st)"]
        self.emit(f"for {var} in {r.choice(forms)}:")
        self.loopvars.append(var)
        self.depth += 1
        for _ in range(r.randint(1, 3)):
            self.stmt(budget)
        self.depth -= 1
        self.loopvars.pop()

    def source(self):
        self.lines = ["def f(A, B, C, n, m, s, t, o, q, st):" if self.extras else "def f(A, B, C, n, m, s, t):"]
        self.loop(2)
        self.lines.append("    return s, t")
        return "\n".join(self.lines) + "\n"

    # ---- arguments ------------------------------------------------------
    def make_args(self):
        g = np.random.default_rng(self.seed)
        n = self.r_n
        m = self.r_m
        out = {}
        for name, (dt, nd) in self.arrays.items():
            shape = (n,) if nd == 1 else (n, m)
            if name == "B" and self.alias:
                continue
            base_shape = shape if self.alias != "strided" or name != "A" else tuple(2 * d for d in shape)
            if name == "A" and self.alias == "transposed":
                base_shape = shape[::-1]
            elif name == "A" and self.alias == "shifted":
                base_shape = (shape[0] + 1,) + shape[1:]
            elif name == "A" and self.alias == "step2-over":
                base_shape = (2 * shape[0],) + shape[1:]
            if dt in ("float64", "float32"):
                if self.exact:
                    vals = g.integers(-4, 5, base_shape).astype(dt)
                else:
                    vals = (g.standard_normal(base_shape) * 3).astype(dt)
            elif dt == "bool":
                vals = g.random(base_shape) < 0.5
            else:
                vals = g.integers(-6, 7, base_shape).astype(dt)
            if self.extras and dt in ("float64", "float32") and vals.size:
                flat = vals.reshape(-1)
                k = max(1, flat.size // 6)
                flat[g.choice(flat.size, size=k, replace=False)] = g.choice(SPECIAL, size=k)
            out[name] = vals
        bases = dict(out)
        if self.alias == "strided":
            a = out["A"]
            out["A"] = a[::2] if a.ndim == 1 else a[::2, ::2]
        if self.alias == "same":
            out["B"] = out["A"]
        elif self.alias == "reversed":
            out["B"] = out["A"][::-1]
        elif self.alias == "strided":
            b = bases["A"]
            out["B"] = b[1::2] if b.ndim == 1 else b[1::2, 1::2]
        elif self.alias == "transposed":
            out["A"] = bases["A"].T  # A is a transposed view
            out["B"] = out["A"][::-1]  # B: the same, rows reversed
        elif self.alias == "shifted":
            out["A"] = bases["A"][1:]  # A[1:] and A[:-1] of one buffer
            out["B"] = bases["A"][:-1]
        elif self.alias == "step2-over":
            out["A"] = bases["A"][::2]  # every second row
            out["B"] = bases["A"][:n]  # a plain slice over the same rows
        s0 = float(self.r_s) if self.r_s is not None else 0.0
        if self.extras:
            return bases, (out["A"], out["B"], out["C"], n, m, s0, self.r_t, self.r_o, self.r_q, self.r_st)
        return bases, (out["A"], out["B"], out["C"], n, m, s0, self.r_t)


def build(seed, exact, extras=False):
    gen = Gen(seed, exact, extras)
    src = gen.source()
    r = random.Random(seed * 7 + 1)
    gen.r_n = r.choice([0, 1, 3, 5, 8])
    gen.r_m = r.choice([1, 3, 5, 8])
    gen.r_s = r.choice([0.0, 1.5, -2.0])
    gen.r_t = r.choice([0, 3, -4, 2**40])
    if extras:
        gen.r_o = r.choice([-3, -2, -1, 0, 1, 2, 3])
        gen.r_q = r.choice([-2, -1, 0, 1, 2])
        gen.r_st = r.choice([1, 2, 3])
    filename = f"<cpu-random-{seed}{'x' if extras else ''}>"
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    ns = {"math": math, "np": np}
    exec(compile(src, filename, "exec"), ns)
    return gen, ns["f"], src


def outcome(fn, args, device=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ret = fn(*args) if device is None else loopscope.run(fn, *args, device=device)
            return ("ok", ret)
        except Exception as exc:  # the same exception must come out of both
            return ("raise", type(exc).__name__, str(exc))


def same_value(a, b):
    if isinstance(a, tuple):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    if type(a) is not type(b):
        return False
    if isinstance(a, (float, np.floating)):
        if math.isnan(a):
            return math.isnan(b)
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)  # -0.0 is not 0.0
    return a == b


def same_bits(a, b):
    """Arrays equal bit for bit, except that any NaN equals any NaN."""
    if a.tobytes() == b.tobytes():
        return True
    if a.dtype.kind != "f":
        return False
    na, nb = np.isnan(a), np.isnan(b)
    return np.array_equal(na, nb) and a[~na].tobytes() == b[~nb].tobytes()


def case_failure(seed, exact, device, tier, extras=False):
    """Runs one case in CPython and on (device, tier); returns None when
    they agree, else a message; and the last-run statuses."""
    gen, fn, src = build(seed, exact, extras)
    bases_py, args_py = gen.make_args()
    bases_ls, args_ls = gen.make_args()
    _run.reset_last_runs()
    want = outcome(fn, args_py)
    # Exact (integer-valued) data sums the same in any order: float sums run
    # in parallel there; with real values they keep Python's order.
    with device_setup(device, tier) as dev, reassociating(exact):
        got = outcome(fn, args_ls, dev)
    runs = list(_run.last_runs().values())
    statuses = [r["status"] for r in runs]
    ctx = (
        f"seed {seed} ({'exact' if exact else 'real'} values{', extras' if extras else ''}, {device}, "
        f"{tier} code, alias={gen.alias})\n{src}"
    )
    if want[0] != got[0] or not same_value(want[1:], got[1:]):
        return f"{ctx}\npython: {want}\nloopscope: {got}", statuses
    for name in bases_py:
        a, b = bases_py[name], bases_ls[name]
        if not same_bits(a, b):
            return f"{ctx}\narray {name} differs:\n{a}\n{b}", statuses
    errors = [r["reason"] for r in runs if r["reason"].startswith("engine error")]
    if errors:
        return f"{ctx}\n{'; '.join(errors)}", statuses
    return None, statuses


def run_case(seed, exact, device):
    msg, statuses = case_failure(seed, exact, device, tier_for(seed))
    assert msg is None, msg
    return statuses


@pytest.mark.parametrize("batch", range(BATCHES))
def test_random_nests(batch):
    per = N_CASES // BATCHES
    statuses = []
    for seed in range(batch * per, (batch + 1) * per):
        exact = seed % 2 == 0
        device = "cpu" if seed % 4 != 3 else "cpu-serial"  # real data in parallel too: float sums keep order
        statuses += run_case(seed, exact, device)
    native = sum(s == "ok" for s in statuses)
    # most generated nests must really run natively, or the test proves little
    assert native >= 0.35 * len(statuses), (native, len(statuses), statuses)


EXTRA_CASES = 360
EXTRA_BATCHES = 4
CPU_CONFIGS = [
    ("cpu", "quick"),
    ("cpu", "optimised"),
    ("cpu-serial", "quick"),
    ("cpu-serial", "optimised"),
    ("cpu-reversed", "optimised"),
]


@pytest.mark.parametrize("batch", range(EXTRA_BATCHES))
def test_random_nests_extras(batch):
    """Symbolic offsets and steps, more aliasing views, NaN/inf/-0.0 in the
    data; every CPU configuration. Exact (integer-valued) data on cpu, where
    parallel sums must then be exact too; any data on cpu-serial."""
    per = EXTRA_CASES // EXTRA_BATCHES
    failures, statuses = [], []
    for seed in range(10_000 + batch * per, 10_000 + (batch + 1) * per):
        for device, tier in CPU_CONFIGS:
            exact = seed % 2 == 0  # exact data, with parallel float sums; else real data, Python's order
            msg, st = case_failure(seed, exact, device, tier, extras=True)
            statuses += st
            if msg:
                failures.append(msg)
    assert not failures, "\n\n".join(failures[:3]) + f"\n({len(failures)} failures)"
    native = sum(s == "ok" for s in statuses)
    assert native >= 0.3 * len(statuses), (native, len(statuses), statuses)


GPU_SEEDS = range(10_000, 10_024)
# seed -> why the emulated GPU differs from CPython there (GPU semantics,
# being fixed separately); these run as xfail(strict=False).
KNOWN_GPU_FAILURES = {}


def _gpu_param(seed):
    if seed in KNOWN_GPU_FAILURES:
        return pytest.param(seed, marks=pytest.mark.xfail(reason=KNOWN_GPU_FAILURES[seed], strict=False))
    return seed


@pytest.mark.parametrize("seed", [_gpu_param(s) for s in GPU_SEEDS])
def test_random_nests_extras_on_the_emulated_gpu(seed):
    msg, _ = case_failure(seed, True, "gpu-emulated", None, extras=True)
    assert msg is None, msg
