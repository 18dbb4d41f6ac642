"""Complex numbers in loop nests: Python's ``complex`` (the ``1j`` literal,
``complex(re, im)``), NumPy's complex128 and complex64 scalars and arrays.

The CPU variant holds a complex as a pair of doubles (floats for complex64)
and computes + - * as CPython 3.11 and NumPy 1.24 do: a real operand becomes
``complex(x, 0.0)`` first and a product is ``(ac - bd, ad + bc)`` without
FMA, so infinite and NaN parts, signed zeros and overflow come out as in
Python. ``abs(z)`` calls the C library's hypot (CPython's special cases for
infinite and NaN parts, and its OverflowError, included); ``z.real``,
``z.imag``, ``z.conjugate()``, ``==`` and ``!=`` run natively; a Python
complex ``** n`` for a constant n in 0..100 repeats CPython's squarings. The
types follow NumPy 1.24's promotion (``complex + np.float64`` is a Python
complex, ``np.float64 + complex`` an np.complex128, complex64 with float32
or a bool stays complex64). A variable that starts as the int 0 and becomes
complex (``z = 0`` then ``z = z * z + c``) is held as 0j where both give the
same result. Division, ``//``, ``%``, orderings, NumPy's complex power and
math functions of complex numbers stay in Python with a sentence. Complex
sums are added in Python's order (never split between threads). The GPU
variant declines every nest with a complex number ("complex numbers run on
the CPU only"), so ``auto`` runs them on the CPU or in Python.

Every case runs in CPython and through ``loopscope.run`` on each device and
both CPU compile tiers, comparing values and their types, arrays bit for bit
and exceptions.
"""

import itertools
import math
import random

import numpy as np
import pytest

import nestgen
from cpu_tiers import TIERS, cpu_tier
from differential import check, parallel_loops, use_temporary_cache  # noqa: F401

INF = math.inf
NAN = math.nan
GPU_REASON = "complex numbers run on the CPU only"


def run_all(fn, make_args, native=True, gpu_reason=True):
    """``check`` on every device, the CPU devices under both compile tiers
    (``native``: they must run it natively, or fall back where Python
    raises); the emulated GPU must decline, for complex numbers where
    ``gpu_reason``. Returns the records of the last tier."""
    records = None
    for tier in TIERS:
        with cpu_tier(tier):
            records = check(
                fn, make_args, native=("cpu", "cpu-serial") if native else False, devices=("cpu", "cpu-serial")
            )
    gpu = check(fn, make_args, native=False, devices=("gpu-emulated", "auto"))
    for r in gpu["gpu-emulated"]:
        assert r["status"] == "declined", r
        if gpu_reason:
            assert GPU_REASON in r["reason"], r
    for r in gpu["auto"]:
        assert r["device"] != "gpu", r
    records.update(gpu)
    return records


def make(source, name="kernel", **namespace):
    return nestgen.make_function(source, name, namespace=namespace)


def make_values(params, exprs, loop="for i in range(n):"):
    """A kernel that assigns each expression to a variable of its own in
    the loop and returns them all."""
    names = [f"r{k}" for k in range(len(exprs))]
    body = "\n".join(f"        {r} = {e}" for r, e in zip(names, exprs))
    return make(f"def kernel({params}):\n    {loop}\n{body}\n    return {', '.join(names)}\n")


# ---- operands of every kind -----------------------------------------------


# A scalar given to the function, or an element of a one-element array.
def _int(v):
    return int(v.real) if math.isfinite(v.real) and abs(v.real) < 2**40 else 5


SCALARS = {
    "int": _int,
    "float": lambda v: float(v.real),
    "bool": lambda v: v.real != 0,
    "complex": complex,
    "np.float64": lambda v: np.float64(v.real),
    "np.int64": lambda v: np.int64(_int(v)),
    "np.complex128": np.complex128,
}
ELEMENTS = {
    "complex128[i]": np.complex128,
    "complex64[i]": np.complex64,
    "float32[i]": lambda v: np.float32(v.real),
    "int32[i]": lambda v: np.int32(_int(v)),
    "float64[i]": lambda v: np.float64(v.real),
}
COMPLEX_KINDS = {"complex", "np.complex128", "complex128[i]", "complex64[i]"}

VALUES = [
    (1.5 - 2.0j, -0.25 + 3.0j),
    (complex(-0.0, 0.0), complex(0.0, -0.0)),
    (complex(3.0, -0.0), complex(-2.0, 0.5)),
]
# Infinite and NaN parts, overflow: NumPy warns for some (Python then runs
# the loop), Python's complex never does.
SPECIAL_VALUES = [
    (complex(INF, 1.0), complex(2.0, 0.0)),
    (complex(NAN, -1.0), complex(1e308, 1e308)),
    (complex(3.0, -0.0), complex(-2.0, INF)),
]


def operand(kind, value):
    if kind in SCALARS:
        return SCALARS[kind](value)
    with np.errstate(over="ignore"):  # 1e308 as a complex64 is inf
        return np.array([ELEMENTS[kind](value)])


def expr(kind, name, index="i"):
    return f"{name}[{index}]" if kind in ELEMENTS else name


MIX = [
    (a, b)
    for a, b in itertools.product(list(SCALARS) + list(ELEMENTS), repeat=2)
    if a in COMPLEX_KINDS or b in COMPLEX_KINDS
]


@pytest.mark.parametrize("kinds", MIX, ids=[f"{a}-{b}" for a, b in MIX])
def test_arithmetic_of_every_operand_mix(kinds):
    ka, kb = kinds
    # a loop variable of its own: one nest (and variant cache) per mix
    i = f"i{MIX.index(kinds)}"
    x, y = expr(ka, "x", i), expr(kb, "y", i)
    fn = make_values(
        "x, y, n",
        [f"{x} + {y}", f"{x} - {y}", f"{x} * {y}", f"{x} == {y}", f"{x} != {y}"],
        loop=f"for {i} in range(n):",
    )
    for va, vb in VALUES:
        records = run_all(fn, lambda va=va, vb=vb: (operand(ka, va), operand(kb, vb), 1))
        assert all(r["status"] == "ok" for r in records["cpu"])
    for va, vb in SPECIAL_VALUES:
        run_all(fn, lambda va=va, vb=vb: (operand(ka, va), operand(kb, vb), 1), native=False)


def test_unary_and_methods():
    fn = make_values(
        "z, w, a, n",
        "-z, +z, z.real, z.imag, z.conjugate(), abs(z), -w, w.real, w.imag, w.conjugate(), abs(w), -a[i], "
        "a[i].real, a[i].imag, a[i].conjugate(), abs(a[i]), not z, 1 if w else 2, +a[i]".split(", "),
    )
    for v in [1.5 - 2.0j, complex(-0.0, -0.0), complex(INF, NAN), complex(NAN, 3.0), complex(-NAN, 0.0), 3e-320j]:
        run_all(fn, lambda v=v: (v, np.complex128(v * 2), np.array([v], np.complex64), 1))


def test_abs_of_parts_too_large_raises_overflow_error_in_python():
    fn = make(
        """
        def kernel(z, out):
            for i in range(out.shape[0]):
                out[i] = abs(z * (i - 1))
        """
    )
    run_all(fn, lambda: (complex(1.5e308, 1.5e308), np.zeros(3)))
    run_all(fn, lambda: (complex(1e308, 1e308), np.zeros(3)))
    # NumPy's complex128 gives inf with a RuntimeWarning (Python runs the loop)
    run_all(fn, lambda: (np.complex128(complex(1.5e308, 1.5e308)), np.zeros(3)), native=False)


def test_literals_and_constructor():
    fn = make_values(
        "n, x, k, b",
        [
            "1j",
            "2.5j",
            "-0j",
            "0j * -1.0",
            "3 + 4j",
            "complex(i, x)",
            "complex(x)",
            "complex(k, b)",
            "complex(True, -0.0)",
            "1j * (-1.0 + 2.0 * i / n)",
            "-2.0 + 3.0 * i / n + 1j * (-1.0 + 2.0 * i / n)",
        ],
    )
    run_all(fn, lambda: (3, np.float64(-0.5), np.int64(7), True))


def test_powers_repeat_cpythons_squarings():
    fn = make_values("z, n", ["z ** 0", "z ** 1", "z ** 2", "z ** 3", "z ** 5", "z ** 7", "z ** 16", "z ** 100"])
    for z in [1.0000001 + 0.9999999j, complex(-0.0, 0.5), complex(NAN, 0.0), 0.3 - 0.8j]:
        run_all(fn, lambda z=z: (z, 1))
    # an infinite part: OverflowError("complex exponentiation")
    big = make(
        """
        def kernel(z, n):
            for i in range(n):
                r = z ** 2
            return r
        """
    )
    run_all(big, lambda: (complex(1e200, 1.0), 1))
    run_all(big, lambda: (complex(INF, 0.0), 1))


def test_arrays_read_and_written():
    fn = make(
        """
        def kernel(a, b, c, f, k, out128, out64):
            for i in range(a.shape[0]):
                out128[i] = a[i] * b[i] + f[i]
                out64[i] = a[i] - c[i]
                out64[i] += k[i]
                c[i] = b[i] * 2
                b[i] = f[i]
                a[i] = k[i]
        """
    )
    n = 9
    rng = np.random.default_rng(3)

    def args(special):
        a = rng.standard_normal(n) + 1j * rng.standard_normal(n)
        b = (rng.standard_normal(n) - 1j).astype(np.complex64)
        if special:  # NumPy warns (invalid values, overflow in the cast): Python runs the loop
            a[0] = complex(INF, -0.0)
            a[1] = complex(NAN, 1.0)
            b[2] = complex(3e38, 3e38)
        c = (rng.standard_normal(n) * 1j).astype(np.complex64)
        f = rng.standard_normal(n)
        k = np.arange(n, dtype=np.int64) - 4
        return a, b, c, f, k, np.zeros(n, np.complex128), np.zeros(n, np.complex64)

    rng = np.random.default_rng(3)
    state = rng.bit_generator.state

    def fresh(special=False):
        rng.bit_generator.state = state
        return args(special)

    run_all(fn, fresh)
    run_all(fn, lambda: fresh(True), native=False)
    # a view with a negative stride, and a 2-D array
    view = make(
        """
        def kernel(z, out):
            for i in range(z.shape[0]):
                for j in range(z.shape[1]):
                    out[j, i] = z[i, j].conjugate() * 1j
        """
    )
    run_all(
        view, lambda: ((np.arange(12.0) + 1j * np.arange(12.0)[::-1]).reshape(3, 4)[:, ::-1], np.zeros((4, 3), complex))
    )


def test_overflow_storing_into_complex64_follows_numpy():
    fn = make(
        """
        def kernel(z, out):
            for i in range(z.shape[0]):
                out[i] = z[i]
        """
    )
    run_all(fn, lambda: (np.array([1 + 1j, 1e30 - 2e-30j, 2j]), np.zeros(3, np.complex64)))
    # "overflow encountered in cast": Python runs the loop and NumPy warns
    records = run_all(fn, lambda: (np.array([1 + 1j, 1e300 + 0j, 2j]), np.zeros(3, np.complex64)), native=False)
    assert records["cpu"][0]["status"] == "fallback"


def test_integers_stored_into_complex_arrays():
    fn = make(
        """
        def kernel(k, big, out64, out128):
            for i in range(k.shape[0]):
                out64[i] = k[i]
                out128[i] = k[i] * 3
                out64[i] += big
                out128[i] += big
        """
    )
    k = np.array([0, -7, 2**24 + 1, 2**40 + 3], dtype=np.int64)
    run_all(fn, lambda: (k.copy(), 5, np.zeros(4, np.complex64), np.zeros(4, np.complex128)))
    # beyond 2**53 an int64 rounds once to complex64's float: Python runs the loop
    run_all(fn, lambda: (k + 2**60, 1, np.zeros(4, np.complex64), np.zeros(4, np.complex128)), native=False)


MANDEL = """
def kernel(image, max_iter):
    h, w = image.shape
    for y in range(h):
        for x in range(w):
            c = -2.0 + 3.0 * x / w + 1j * (-1.0 + 2.0 * y / h)
            z = 0
            n = 0
            while abs(z) <= 2 and n < max_iter:
                z = z * z + c
                n += 1
            image[y, x] = n
    return z, c, n
"""

JULIA = """
def kernel(out, c, max_iter):
    n = out.shape[0]
    for i in range(n):
        for j in range(n):
            z = complex(-1.5 + 3.0 * j / n, -1.5 + 3.0 * i / n)
            k = 0
            while k < max_iter and z.real * z.real + z.imag * z.imag < 4.0:
                z = z * z + c
                k += 1
            out[i, j] = k / max_iter
    return z
"""


def test_mandelbrot_runs_its_pixels_in_parallel_on_the_cpu():
    records = run_all(make(MANDEL), lambda: (np.zeros((24, 40)), 60))
    assert parallel_loops(records, "cpu") == ["y"]
    # large enough for auto to run it natively: on the CPU
    big = check(make(MANDEL), lambda: (np.zeros((200, 300)), 200), native=False, devices=("auto",))
    assert [(r["device"] in ("cpu", "cpu-serial"), r["status"]) for r in big["auto"]] == [(True, "ok")]


def test_julia_with_a_complex_constant():
    records = run_all(make(JULIA), lambda: (np.zeros((20, 20)), -0.8 + 0.156j, 40))
    assert parallel_loops(records, "cpu") == ["i"]
    run_all(make(JULIA), lambda: (np.zeros((12, 12)), np.complex128(0.285 + 0.01j), 30))


def test_sums_in_pythons_order():
    fn = make(
        """
        def kernel(z, s):
            for i in range(z.shape[0]):
                s += z[i]
            return s
        """
    )
    vals = np.array([1e16 + 1j, 1.0 - 1e16j, -1e16 + 1.0j, 1.0 + 1e16j] * 50)
    for s0 in [0j, 0, complex(-0.0, -0.0)]:
        records = run_all(fn, lambda s0=s0: (vals.copy(), s0))
        assert parallel_loops(records, "cpu") == [""]
    # zero iterations: the value and type from before the loop
    run_all(fn, lambda: (np.zeros(0, complex), 0j))
    run_all(fn, lambda: (np.zeros(0, complex), 0))
    prod = make(
        """
        def kernel(z):
            p = 1 + 0j
            for i in range(z.shape[0]):
                p = p * z[i]
            return p
        """
    )
    run_all(prod, lambda: (np.linspace(0.5, 1.5, 64) * np.exp(0.1j),))
    # 2-D: no interchange or unroll-and-jam changes the order of the sums
    rng = np.random.default_rng(1)
    shape = (40, 50)
    z = rng.standard_normal(shape) * 10.0 ** rng.integers(-8, 8, shape)
    z = z + 1j * (rng.standard_normal(shape) * 10.0 ** rng.integers(-8, 8, shape))
    total = make(
        """
        def kernel(z, s):
            for i in range(z.shape[0]):
                for j in range(z.shape[1]):
                    s += z[i, j]
            return s
        """
    )
    run_all(total, lambda: (z.copy(), 0j))
    rows = make(
        """
        def kernel(z, out):
            for j in range(z.shape[1]):
                for i in range(z.shape[0]):
                    out[i] = out[i] + z[i, j] * z[i, j]
        """
    )
    records = run_all(rows, lambda: (z.copy(), np.zeros(40, complex)))
    assert parallel_loops(records, "cpu") == ["i"]


def test_values_and_types_after_the_loop():
    fn = make(
        """
        def kernel(a, n):
            s = 0j
            t = 0
            for i in range(n):
                u = s
                s = s + a[i]
                if i == 1:
                    t = 1j
            return s, t, u
        """
    )
    run_all(fn, lambda: (np.array([1 + 2j, 3 - 1j, -0.5j]), 3))
    run_all(fn, lambda: (np.array([1 + 2j, 3 - 1j, -0.5j]), 1))


def test_a_python_or_numpy_complex_decided_at_run_time():
    # s is a Python complex or an np.complex128 depending on the iteration;
    # with an np.float64 on its right it stays what it is, on its left it
    # becomes an np.complex128
    fn = make(
        """
        def kernel(a, f, g, n):
            s = 0j
            for i in range(n):
                if i % 2 == 1:
                    s = a[i]
                else:
                    s = 1j * i
                if i == 2:
                    g = f
                r = s + f
                q = f * s
                e = s == f
                h = s - g
                k = abs(s)
            return s, r, q, e, h, k, g
        """
    )
    for n in (1, 2, 3, 4):
        run_all(fn, lambda n=n: (np.array([1 + 2j, 3 - 1j, -0.5j, 2.0]), np.float64(0.0), 0.0, n))


def test_complex64_scalars_given_to_the_loop():
    fn = make(
        """
        def kernel(z, w, f, out):
            for i in range(out.shape[0]):
                out[i] = z * i + w
                r = z * z
                s = z + f
                t = z * 1.5
            return r, s, t
        """
    )
    run_all(fn, lambda: (np.complex64(1.1 + 2.3j), np.complex64(-0.7j), np.float64(0.1), np.zeros(3, np.complex64)))
    run_all(fn, lambda: (np.complex64(1.1 + 2.3j), 2.5 + 1j, 0.1, np.zeros(3, np.complex128)))


def test_int_then_complex_other_than_zero_declines():
    fn = make(
        """
        def kernel(c, n):
            for i in range(n):
                z = 1
                for k in range(3):
                    z = z * z + c
            return z
        """
    )
    records = run_all(fn, lambda: (0.5j, 3), native=False, gpu_reason=False)
    assert "only when the int is the constant 0" in records["cpu"][0]["reason"]
    unsafe = make(
        """
        def kernel(c, n):
            for i in range(n):
                z = 0
                w = z
                z = z + c
            return z, w
        """
    )
    records = run_all(unsafe, lambda: (0.5j, 3), native=False, gpu_reason=False)
    assert "holds an int and then a complex number" in records["cpu"][0]["reason"]


@pytest.mark.parametrize(
    "body, reason",
    [
        ("r = z // w", "'//' with a complex number"),
        ("r = z % 2", "'%' with a complex number"),
        ("r = z < w", "raises TypeError in Python"),
        ("r = abs(z) < w", "raises TypeError in Python"),
        ("r = math.sqrt(z)", "math.sqrt() of a complex number"),
        ("r = float(z)", "float() of a complex number"),
        ("r = z ** 2.5", "'**' with a complex number"),
        ("r = w ** 2", "'**' with a complex number"),
        ("r = z ** 101", "'**' with a complex number"),
        ("r = min(z, w)", "min() of a complex number"),
        ("r = x.real", "only for complex numbers"),
    ],
)
def test_what_stays_in_python(body, reason):
    fn = make(
        f"""
        def kernel(z, w, x, n):
            r = 0
            for i in range(n):
                {body}
            return r
        """
    )
    for w in [np.complex128(2 - 1j), np.complex128(0j)]:
        records = run_all(fn, lambda w=w: (1.5 + 0.5j, w, 2.0, 2), native=False, gpu_reason=False)
        for device in ("cpu", "cpu-serial"):
            assert all(reason in r["reason"] for r in records[device]), records[device]


DIVISION_VALUES = [0.0, -0.0, 1.0, -2.5, 1e-310, 3e300, INF, -INF, NAN]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # complex64 copies of 3e300
def test_division_follows_cpython_and_numpy():
    """CPython's _Py_c_quot for a Python complex (ZeroDivisionError for a
    zero divisor), NumPy's division loop for its scalars (inf and NaN parts,
    with NumPy's warnings making Python run the loop), the result type's
    algorithm for a mix."""
    fn = make_values("z, w, x, k, n", ["z / w", "w / z", "z / x", "x / z", "k / z", "z / k", "w / x", "x / w", "w / w"])
    for zr, zi in [(1.5, -2.0), (0.0, 3.0), (-4.0, 0.0), (1e-310, 2e300)]:
        for wr, wi in [(2.0, 0.5), (0.0, -1.0), (3.0, 0.0), (-1e300, 1e-300)]:
            # (an overflow inside CPython's division sets the IEEE flag the
            # NumPy divisions of the same run are checked with: Python runs it)
            extreme = zr == 1e-310 or wr == -1e300
            run_all(fn, lambda: (complex(zr, zi), np.complex128(complex(wr, wi)), 0.75, 3, 1), native=not extreme)
    # parts of every kind, element by element (values compared: NaN is NaN)
    values = [complex(a, b) for a in DIVISION_VALUES for b in DIVISION_VALUES]
    x = np.array([v for v in values for _ in values])
    y = np.array([w for _ in values for w in values])
    py = make_values("z, w, n", ["complex(z.real, z.imag) / complex(w.real, w.imag)"])
    numpy = make_values("z, w, n", ["z / w"])
    for k in range(0, len(x), 37):
        if y[k] != 0:
            run_all(py, lambda k=k: (complex(x[k]), complex(y[k]), 1))
        run_all(numpy, lambda k=k: (x[k], y[k], 1), native=False)
        run_all(numpy, lambda k=k: (x[k].astype(np.complex64), y[k].astype(np.complex64), 1), native=False)


def test_division_by_zero_raises_as_in_python():
    fn = make(
        """
        def kernel(z, out):
            for i in range(out.shape[0]):
                out[i] = 1j / (z - i)
        """
    )
    records = run_all(fn, lambda: (complex(2.0, 0.0), np.zeros(4, complex)))
    assert records["cpu"][0]["status"] == "fallback"
    records = run_all(fn, lambda: (complex(-0.0, -0.0), np.zeros(1, complex)))
    # NumPy's division by zero gives inf and NaN parts (and warns: Python runs it)
    run_all(fn, lambda: (np.complex128(2.0), np.zeros(4, complex)), native=False)
    run_all(fn, lambda: (np.complex128(2.5), np.zeros(4, complex)))


def test_complex_stored_into_a_float_array_stays_in_python():
    fn = make(
        """
        def kernel(z, out):
            for i in range(out.shape[0]):
                out[i] = z * i
        """
    )
    records = run_all(fn, lambda: (1 + 1j, np.zeros(3)), native=False, gpu_reason=False)
    assert "ComplexWarning" in records["cpu"][0]["reason"]


def test_a_complex_compared_with_a_large_int_stays_exact():
    fn = make_values("z, k, n", ["z == k", "z != k", "z + k"])
    run_all(fn, lambda: (complex(2.0**60, 0.0), 2**60 + 1, 1), native=False)
    run_all(fn, lambda: (complex(7.0, 0.0), 7, 1))


def test_a_shadowed_complex_builtin_runs_as_python():
    fn = make(
        """
        def kernel(n):
            for i in range(n):
                r = complex(i, 1)
            return r
        """,
        complex=lambda a, b: (a, b),
    )
    records = check(fn, lambda: (3,), native=False)
    assert all(r["status"] != "ok" for rs in records.values() for r in rs)


def _random_expression(r, depth):
    leaves = ["z", "w", "a[i]", "b[i]", "x", "k", "f", "2j", "1.5", "3", "c[i]"]
    if depth == 0 or r.random() < 0.3:
        return r.choice(leaves)
    u = r.random()
    if u < 0.55:
        return f"({_random_expression(r, depth - 1)} {r.choice(['+', '-', '*'])} {_random_expression(r, depth - 1)})"
    if u < 0.65:
        return f"(-{_random_expression(r, depth - 1)})"
    if u < 0.75:
        return f"({_random_expression(r, depth - 1)}).conjugate()"
    if u < 0.85:
        return f"abs({_random_expression(r, depth - 1)})"
    return f"({_random_expression(r, depth - 1)}).{r.choice(['real', 'imag'])}"


def _random_values(r, special):
    def c():
        if special and r.random() < 0.3:
            return complex(r.choice([INF, -INF, NAN, -0.0, 0.0, 1e300]), r.choice([INF, NAN, -0.0, 0.0, 2.5, -1e-300]))
        return complex(r.uniform(-3, 3), r.uniform(-3, 3))

    with np.errstate(over="ignore"):
        return (
            c(),
            np.complex128(c()),
            np.array([c(), c()]),
            np.array([c(), c()], np.complex64),
            r.uniform(-2, 2),
            r.randint(-5, 5),
            np.float64(r.uniform(-2, 2)),
            np.array([c().real, 1.0], np.float32),
        )


@pytest.mark.parametrize("seed", range(4))
def test_random_expressions(seed):
    """Random trees of + - *, unary minus, conjugate(), abs(), .real and
    .imag over every kind of operand, with infinite, NaN and signed zero
    parts in half of the runs (NumPy's warnings then make Python run some)."""
    r = random.Random(seed)
    native = runs = 0
    for _ in range(12):
        fn = make_values("z, w, a, b, x, k, f, c", [_random_expression(r, 3)], loop="for i in range(2):")
        for special in (False, True):
            values = _random_values(r, special)
            for tier in TIERS:
                with cpu_tier(tier):
                    records = check(
                        fn,
                        lambda values=values: [v.copy() if isinstance(v, np.ndarray) else v for v in values],
                        native=False,
                        devices=("cpu",),
                    )
                runs += 1
                native += all(rec["status"] == "ok" for rec in records["cpu"])
    # (x.real of a real number, ** and the like decline; NumPy's warnings fall back)
    assert native >= runs // 2


CORPUS = ["mandelbrot_complex_inline", "mandelbrot_complex_helper", "julia_set"]


@pytest.mark.parametrize("name", CORPUS)
def test_corpus_functions(name):
    from corpus import teaching_gpu

    fn = getattr(teaching_gpu, name)
    if name == "julia_set":
        run_all(fn, lambda: (np.zeros((16, 16)), -0.8 + 0.156j, 40))
    else:
        run_all(fn, lambda: (np.zeros((12, 18)), 48))
