"""uint64 and float16 elements and scalars (np.uint64, np.float16) against
CPython with NumPy 1.24.

An element of a uint64 array is an np.uint64. NumPy computes np.uint64 with
np.uint64 (or np.uint8 ... np.uint32) in uint64, wrapping modulo 2**64 with
an overflow RuntimeWarning ("overflow encountered in scalar add"), x // 0 and
x % 0 giving 0 with a divide-by-zero warning; with a Python int (of either
sign: there is no value-based casting between two scalars), an np.int64, a
signed small integer or a float it computes in float64, and compares in
float64 too (np.uint64(2**53 + 1) == 2**53 is True). Bitwise operators and
shifts take two unsigned operands (with a Python int NumPy raises TypeError).
int() and round() give Python's exact int, float() rounds. Values from 2**63
up stay exact. The CPU variant runs all of this natively (the int() of a
value from 2**63 up stops the run so Python makes its big int); the
generated CUDA computes them too, and declines a variable holding an
np.uint64 and np.uint64 scalars. float16: see the section further down.

Every case runs in CPython and through ``loopscope.run`` on each device
(``differential.check``): return value and type, arrays bit for bit,
exceptions; warnings are compared separately.
"""

import warnings

import numpy as np
import pytest

import loopscope
from differential import check, each_cpu_tier, outcome, same, use_temporary_cache  # noqa: F401
from loopscope import _run
from nestgen import make_function

pytestmark = pytest.mark.usefixtures("each_cpu_tier")  # quick and optimised CPU code

CPU = ("cpu", "cpu-serial")
BIG = [0, 1, 2, 3, 7, 64, 65, 1000, 2**53 + 1, 2**63 - 1, 2**63, 2**63 + 1, 12345678901234567890, 2**64 - 1]


def _fn(source, name="k"):
    return make_function(source, name, namespace={"np": np})


def _u64(vals):
    return np.array(vals, dtype=np.uint64)


def _args():
    a = _u64(BIG)
    b = _u64([5, 0, 63, 64, 1, 2**64 - 1, 3, 2**63, 7, 2, 1, 2**63 + 5, 9, 2**64 - 2])
    c = np.arange(-7, 7, dtype=np.int64) * 3
    d = np.linspace(-2.5, 3.5, 14)
    return [a, b, np.zeros(14, np.uint64), np.zeros(14), np.zeros(14, np.int64), c, d]


LOOP = "def k(A, B, U, F, I, C, D):\n    for i in range(A.shape[0]):\n"

# name -> body; every case runs natively on the CPU (with NumPy's warnings off)
NATIVE = {
    "copy": "        U[i] = A[i]\n",
    "add": "        U[i] = A[i] + B[i]\n",
    "sub": "        U[i] = A[i] - B[i]\n",
    "mul": "        U[i] = A[i] * B[i]\n",
    "floordiv": "        U[i] = A[i] // B[i]\n",
    "mod": "        U[i] = A[i] % B[i]\n",
    "bitwise": "        U[i] = (A[i] & B[i]) ^ (A[i] | np.uint64(0x0F0F))\n",
    "shifts": "        U[i] = (A[i] >> B[i]) + (A[i] << B[i])\n",
    "invert_neg": "        U[i] = ~A[i] + (-B[i])\n",
    "with_small_unsigned": "        U[i] = A[i] + np.uint64(3) * B[i]\n",
    "true_div": "        F[i] = A[i] / B[i]\n",
    "with_python_int": "        F[i] = A[i] + 1 - (A[i] - 5) * 3\n",
    "with_negative_int": "        F[i] = A[i] + (-1)\n",
    "with_int64_element": "        F[i] = A[i] - C[i] + C[i] * B[i]\n",
    "with_float": "        F[i] = A[i] * 0.5 + D[i] * B[i]\n",
    "floordiv_mod_int": "        F[i] = A[i] // 3 + A[i] % 7 + A[i] // D[i]\n",
    "float_of": "        F[i] = float(A[i]) + float(B[i])\n",
    "math_of": "        F[i] = math.sqrt(A[i]) + math.floor(B[i] >> np.uint64(20))\n",
    "compare_unsigned": "        I[i] = (A[i] < B[i]) + 2 * (A[i] == B[i]) + 4 * (A[i] >= A[10])\n",
    "compare_signed": "        I[i] = (A[i] < -1) + 2 * (A[i] == 2**53) + 4 * (A[i] > C[i]) + 8 * (A[i] <= D[i])\n",
    "truth": "        if A[i]:\n            I[i] = 7\n",
    "store_float64": "        F[i] = A[i] * B[i]\n",
    "store_bool_small": "        B[i] = A[i] > np.uint64(10)\n",
    "element_in_variable": "        v = A[i]\n        v = v ^ (v >> np.uint64(7))\n        U[i] = v * np.uint64(3)\n",
}


@pytest.mark.parametrize("name", sorted(NATIVE))
def test_uint64_matches_cpython(name):
    import math

    f = make_function(LOOP + NATIVE[name], "k", namespace={"np": np, "math": math})
    # NumPy's warnings off: NumPy wraps silently, and native code too
    with np.errstate(all="ignore"):
        check(f, _args, native=CPU)
    # with NumPy's default settings a wrap or a zero divisor warns: the run
    # stops and Python runs the loop (and warns)
    check(f, _args, native=False)


def test_values_from_2_63_up_stay_exact():
    f = _fn(LOOP + "        U[i] = A[i] * np.uint64(3) + B[i]\n        F[i] = A[i]\n    return A[10] + np.uint64(1)\n")
    with np.errstate(all="ignore"):
        recs = check(f, _args, native=CPU)
    assert recs["cpu"][0]["status"] == "ok"
    a = _args()
    with np.errstate(all="ignore"):
        r = loopscope.run(f, *a, device="cpu")
    assert type(r) is np.uint64 and r == 2**63 + 1


def test_int_of_uint64():
    f = _fn(LOOP + "        I[i] = int(A[i]) % 1000 + round(B[i]) % 7\n")

    def small():
        a = _args()
        a[0] = a[0] % np.uint64(2**40)
        a[1] = a[1] % np.uint64(2**40)
        return a

    check(f, small, native=CPU)
    # int() of 2**63 or more is a big Python int: the run stops, Python runs it
    recs = check(f, _args, native=False)
    assert recs["cpu"][0]["status"] == "fallback"


def test_uint64_scalar_written_back():
    # FNV-1a over the bytes of an array: the hash is an np.uint64 before,
    # during and after the loop
    f = _fn(
        "def fnv(data, h):\n"
        "    for i in range(data.shape[0]):\n"
        "        h = (h ^ np.uint64(data[i])) * np.uint64(1099511628211)\n"
        "    return h\n",
        "fnv",
    )
    data = np.frombuffer(b"loopscope hashes bytes", dtype=np.uint8).copy()
    with np.errstate(all="ignore"):
        check(f, lambda: (data.copy(), np.uint64(14695981039346656037)), native=CPU)
        r = loopscope.run(f, data.copy(), np.uint64(14695981039346656037), device="cpu")
        assert type(r) is np.uint64 and r == f(data.copy(), np.uint64(14695981039346656037))
        assert _run.last_runs() and list(_run.last_runs().values())[0]["status"] == "ok"


XORSHIFT = _fn(
    """
def xorshift64(state, out):
    for i in range(out.shape[0]):
        x = state[0]
        x ^= x << np.uint64(13)
        x ^= x >> np.uint64(7)
        x ^= x << np.uint64(17)
        state[0] = x
        out[i] = x
""",
    "xorshift64",
)


def test_xorshift64_generator():
    check(XORSHIFT, lambda: (_u64([88172645463325252]), np.zeros(50, np.uint64)), native=CPU)
    check(XORSHIFT, lambda: (_u64([2**64 - 1]), np.zeros(7, np.uint64)), native=CPU)


def test_warnings_as_numpy():
    f = _fn(LOOP + "        U[i] = A[i] + B[i]\n        U[i] = U[i] // B[i]\n")
    got = {}
    for dev in (None, "cpu", "cpu-serial"):
        a = _args()
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            f(*a) if dev is None else loopscope.run(f, *a, device=dev)
        got[dev] = ([(w.category, str(w.message)) for w in seen], a[2].tobytes())
    assert got[None][0], "NumPy warns"
    assert got["cpu"] == got[None] and got["cpu-serial"] == got[None]


@pytest.mark.parametrize(
    "body, words",
    [
        ("        U[i] = A[i] & 3\n", "raises TypeError in NumPy"),
        ("        U[i] = A[i] >> 1\n", "raises TypeError in NumPy"),
        ("        U[i] = A[i] ** B[i]\n", "its own power"),
        ("        F[i] = A[i] ** 2\n", "its own power"),
        ("        I[i] = A[i]\n", "stays in Python"),
        ("        U[i] = min(A[i], B[i])\n", "convert the element"),
        ("        I[i] = C[A[i] % np.uint64(5)]\n", "index"),
        ("        U[i] = A[i] + True\n", "convert the element"),
    ],
)
def test_declines_with_a_sentence(body, words):
    f = _fn(LOOP + body)
    with np.errstate(all="ignore"):
        recs = check(f, _args, native=False)
    assert recs["cpu"][0]["status"] == "declined", recs["cpu"]
    assert words in recs["cpu"][0]["reason"], recs["cpu"][0]["reason"]


def test_gpu_uint64_and_its_declines():
    # the generated CUDA computes np.uint64 as the CPU does (ls_u64_add ...)
    # where nothing wraps (it stops where NumPy may warn, whatever
    # np.errstate says); a variable holding an np.uint64 and an np.uint64
    # scalar stay on the CPU, with a reason
    f = _fn(
        LOOP + "        U[i] = (A[i] ^ (A[i] >> B[i])) | (B[i] << np.uint64(2)) % (B[i] + np.uint64(1))\n"
        "        F[i] = A[i] / 3 + float(A[i]) - C[i]\n"
        "        I[i] = (A[i] > B[i]) + 2 * (A[i] == 2**53) + 4 * (A[i] < -1)\n"
    )

    def no_wrap():
        a = _args()
        a[1] = a[1] % np.uint64(70)
        return a

    recs = check(f, no_wrap, native=CPU + ("gpu-emulated",))
    assert recs["gpu-emulated"][0]["status"] == "ok"
    g = _fn(LOOP + "        v = A[i] ^ B[i]\n        U[i] = v\n")
    recs = check(g, _args, native=CPU)
    assert recs["gpu-emulated"][0]["status"] == "declined" and "np.uint64" in recs["gpu-emulated"][0]["reason"]


# ---- float16 ---------------------------------------------------------------
# An element of a float16 array is an np.float16. NumPy computes np.float16
# with np.float16 in float32 and rounds the result to float16 at each
# operation (with "overflow encountered in scalar add" where it becomes
# infinite); with an np.float32 in float32; with a Python float or int, an
# np.float64 or an np.int64 in float64. A float stored into a float16 array
# is rounded once (half to even), "overflow encountered in cast" where it
# becomes infinite. NaN payloads, signed zeros and subnormals are NumPy's.

H16 = [1.0, 65504.0, 0.1, np.nan, np.inf, -0.0, 6e-8, 2.0, 3.0, 1e-4, -np.inf, 0.0, 1000.0, -7.5]
G16 = [3.0, 1.0, 0.3, 1.0, -np.inf, 5.0, 6e-8, 1e-3, 7.0, 1e4, 2.0, 0.0, 999.0, -0.0]


def _f16_args():
    h = np.array(H16, dtype=np.float16)
    g = np.array(G16, dtype=np.float16)
    d = np.array([0.1, 1e6, 65519.0, 65520.0, -1e-9, np.nan, 2.0**-25, 3 * 2.0**-26, 1.0, -65504.0] + [0.5] * 4)
    s = np.linspace(-3, 3, 14, dtype=np.float32)
    return [h, g, np.zeros(14, np.float16), np.zeros(14), s, d, np.zeros(14, np.int64)]


def _f16_clean_args():
    # values whose every operation here stays finite and divides by no zero
    h = np.array([1.0, 6.5, 0.1, -2.25, 7e-5, -0.0, 6e-8, 2.0, 3.0, 1e-4, -7.5, 0.0, 100.0, 0.3], dtype=np.float16)
    g = np.array([3.0, 1.0, 0.3, 1.5, -2.0, 5.0, 6e-8, 1e-3, 7.0, 10.0, 2.0, 0.7, 99.0, -0.5], dtype=np.float16)
    d = np.array([0.1, 1e3, 6.5e4, 0.3, -1e-9, 2.5, 2.0**-25, 3 * 2.0**-26, 1.0, -65504.0] + [0.5] * 4)
    s = np.linspace(-3, 3, 14, dtype=np.float32)
    return [h, g, np.zeros(14, np.float16), np.zeros(14), s, d, np.zeros(14, np.int64)]


LOOP16 = "def k(H, G, O, F, S, D, I):\n    for i in range(H.shape[0]):\n"

F16_NATIVE = {
    "add": "        O[i] = H[i] + G[i]\n",
    "sub_mul_div": "        O[i] = H[i] * G[i] - H[i] / G[i]\n",
    "chain": "        O[i] = (H[i] + G[i]) * H[i] + G[i] * G[i]\n",
    "negate": "        O[i] = -H[i] + G[i]\n",
    "floordiv_mod": "        O[i] = H[i] // G[i] + H[i] % G[i]\n        F[i] = H[i] // 0.3 + H[i] % D[i]\n",
    "with_python_float": "        F[i] = H[i] + 0.1\n        O[i] = H[i] * 0.5\n",
    "with_python_int": "        F[i] = H[i] * 3 - 1\n",
    "with_float64_element": "        F[i] = H[i] + D[i]\n",
    "with_float32_element": "        S[i] = H[i] * S[i] + G[i]\n",
    "store_float64": "        O[i] = D[i]\n",
    "store_float32": "        O[i] = S[i] * 1000.0\n        O[i] = S[i]\n",
    "store_int": "        O[i] = i - 5\n",
    "store_bool": "        O[i] = H[i] > G[i]\n",
    "store_into_float64_and_float32": "        F[i] = H[i]\n        S[i] = G[i]\n",
    "compare": "        I[i] = (H[i] < G[i]) + 2 * (H[i] == 0.1) + 4 * (H[i] >= S[i]) + 8 * (H[i] != G[i])\n",
    "float_of": "        F[i] = float(H[i]) + float(G[i])\n",
    "truth": "        if H[i]:\n            I[i] = 3\n",
    "element_in_variable": "        v = H[i]\n        v = v * G[i] + v\n        O[i] = v\n",
}


@pytest.mark.parametrize("name", sorted(F16_NATIVE))
def test_float16_matches_cpython(name):
    f = _fn(LOOP16 + F16_NATIVE[name])
    with np.errstate(all="ignore"):
        # (the NaNs here come out of the generated CUDA with another sign or
        # payload: the host compiler and GPUs do not keep NaN bits as x86
        # does, as for float32 and float64)
        check(f, _f16_args, native=CPU, devices=CPU + ("auto",))
    # the generated CUDA stops where NumPy may warn (whatever np.errstate
    # says): on values that never warn it runs natively too, except a
    # variable holding an np.float16, which it does not write back
    native = CPU if name == "element_in_variable" else CPU + ("gpu-emulated",)
    check(f, _f16_clean_args, native=native)
    check(f, _f16_args, native=False, devices=CPU + ("auto",))  # NumPy's warnings on: an overflow stops the run


def test_float16_rounding_bit_for_bit():
    # every float16 pair of a range of values, + - * /, against NumPy
    with np.errstate(over="ignore"):
        vals = np.concatenate(
            [
                np.linspace(-70000, 70000, 61),
                np.linspace(-1, 1, 41),
                [6e-8, -6e-8, 1e-5, 2.0**-14, 65504, np.nan, np.inf, -0.0, -np.inf, 3e-5, 0.1, 7e-7],
            ]
        ).astype(np.float16)
    h = np.repeat(vals, vals.size)
    g = np.tile(vals, vals.size)
    f = _fn(
        "def k(H, G, A, B, C, E, Q, R):\n"
        "    for i in range(H.shape[0]):\n"
        "        A[i] = H[i] + G[i]\n"
        "        B[i] = H[i] - G[i]\n"
        "        C[i] = H[i] * G[i]\n"
        "        E[i] = H[i] / G[i]\n"
        "        Q[i] = H[i] // G[i]\n"
        "        R[i] = H[i] % G[i]\n"
    )
    with np.errstate(all="ignore"):
        check(f, lambda: (h.copy(), g.copy(), *(np.zeros(h.size, np.float16) for _ in range(6))), native=CPU)


def test_float16_value_written_back_and_returned():
    f = _fn(LOOP16 + "        v = H[i] * G[i]\n    return v, O[0] + H[2]\n")
    with np.errstate(all="ignore"):
        check(f, _f16_args, native=CPU)
        r = loopscope.run(f, *_f16_args(), device="cpu")
    assert type(r[0]) is np.float16 and type(r[1]) is np.float16


def test_float16_exceptions_and_partial_writes():
    # int() of inf raises OverflowError, of NaN ValueError; math.sqrt(-7.5)
    # ValueError: the elements written before stay written
    for body in (
        "        I[i] = int(H[i])\n        O[i] = H[i] + G[i]\n",
        "        O[i] = G[i] * H[i]\n        I[i] = round(G[i] + 0.5)\n",
        "        O[i] = H[i]\n        F[i] = math.sqrt(H[i])\n",
    ):
        import math

        f = make_function(LOOP16 + body, "k", namespace={"np": np, "math": math})
        with np.errstate(all="ignore"):
            recs = check(f, _f16_args, native=CPU)
        assert recs["cpu"][0]["status"] == "fallback"


def test_float16_warnings_as_numpy():
    for body in ("        O[i] = H[i] + G[i] * H[i]\n", "        O[i] = D[i]\n", "        O[i] = G[i] / H[i]\n"):
        f = _fn(LOOP16 + body)
        got = {}
        for dev in (None, "cpu", "cpu-serial"):
            a = _f16_args()
            with warnings.catch_warnings(record=True) as seen:
                warnings.simplefilter("always")
                f(*a) if dev is None else loopscope.run(f, *a, device=dev)
            got[dev] = ([(w.category, str(w.message)) for w in seen], a[2].tobytes())
        assert got[None][0], "NumPy warns"
        assert got["cpu"] == got[None] and got["cpu-serial"] == got[None]


def test_float16_accumulation_keeps_pythons_order():
    f = _fn("def k(H, O):\n    for i in range(H.shape[0]):\n        O[0] = O[0] + H[i]\n")
    h = np.random.default_rng(3).random(3000).astype(np.float16)
    recs = check(f, lambda: (h.copy(), np.zeros(1, np.float16)), native=CPU)
    assert recs["cpu"][0]["parallel_loops"] == "", recs["cpu"]


@pytest.mark.parametrize(
    "body, words",
    [
        ("        O[i] = H[i] ** G[i]\n", "own float16 routine"),
        ("        O[i] = H[i] ** 2\n", "own power"),
        ("        O[i] = abs(H[i])\n", "convert the element"),
        ("        O[i] = H[i] + (I[i] > 0)\n", "promotion"),
        ("        O[i] = I[i]\n", "within 2**24"),
        ("        O[i] = H[i] * 1j\n", "complex"),
        ("        I[i] = int(H[i]) & 3\n        O[i] = H[i] & G[i]\n", "TypeError"),
    ],
)
def test_float16_declines_with_a_sentence(body, words):
    f = _fn(LOOP16 + body)
    with np.errstate(all="ignore"):
        recs = check(f, _f16_args, native=False)
    assert recs["cpu"][0]["status"] == "declined", recs["cpu"]
    assert words in recs["cpu"][0]["reason"], recs["cpu"][0]["reason"]


def test_gpu_float16_arrays_and_its_declines():
    # float16 arrays run in the generated CUDA (NumPy's conversions in
    # ls_h2f, ls_f2h, ls_d2h); a variable holding an np.float16 and an
    # np.float16 scalar stay on the CPU, with a reason
    f = _fn(LOOP16 + "        O[i] = H[i] + G[i] * H[i]\n        F[i] = float(H[i]) + D[i]\n        O[i] += D[i]\n")
    recs = check(f, _f16_clean_args, native=CPU + ("gpu-emulated",))
    assert recs["gpu-emulated"][0]["status"] == "ok"
    g = _fn(LOOP16 + "        v = H[i] * G[i]\n        O[i] = v\n")
    recs = check(g, _f16_clean_args, native=CPU)
    assert recs["gpu-emulated"][0]["status"] == "declined" and "np.float16" in recs["gpu-emulated"][0]["reason"]


def test_uint64_to_int_division_by_zero():
    # int(x) // int(y): Python ints, ZeroDivisionError at B[1] == 0 after U[0] was written
    f = _fn(
        LOOP + "        U[i] = A[i] ^ B[i]\n        I[i] = int(A[i] % np.uint64(1000)) // int(B[i] % np.uint64(7))\n"
    )
    recs = check(f, _args, native=CPU)
    assert recs["cpu"][0]["status"] == "fallback"


# ---- random expressions ------------------------------------------------------
# Generated + - * / // % & | ^ << >> expressions over uint64 elements and
# + - * / over float16 elements, mixed with Python numbers, int64, float64 and
# float32 elements. Compared as `check` does, except that where both results
# are NaN the NaN's sign and payload are not compared: when both operands of
# + or * are NaNs, which one NumPy's compiled code returns is its compiler's
# choice (for float64 and float32 as well).


def _random_body(rng):
    u_leaves = ["A[i]", "B[i]", "np.uint64(3)", "np.uint64(63)", "A[j]"]
    f_leaves = ["H[i]", "G[i]", "H[j]"]

    def uexpr(d):
        if d == 0 or rng.random() < 0.3:
            return rng.choice(u_leaves)
        op = rng.choice(["+", "-", "*", "//", "%", "&", "|", "^", ">>", "<<"])
        return f"({uexpr(d - 1)} {op} {uexpr(d - 1)})"

    def fexpr(d):
        if d == 0 or rng.random() < 0.3:
            return rng.choice(f_leaves)
        if rng.random() < 0.1:
            return f"(-{fexpr(d - 1)})"
        return f"({fexpr(d - 1)} {rng.choice(['+', '-', '*', '/', '//', '%'])} {fexpr(d - 1)})"

    k = rng.random()
    if k < 0.35:
        return f"U[i] = {uexpr(3)}"
    if k < 0.45:
        mix = rng.choice(["1", "-2", "C[i]", "0.5", "D[i]", "2**53"])
        return f"F[i] = {uexpr(2)} {rng.choice(['+', '-', '*', '/', '//', '%'])} {mix}"
    if k < 0.5:
        other = rng.choice(["1", "-2", "C[i]", "D[i]", "2**53", "B[j]"])
        return f"I[i] = ({uexpr(2)} {rng.choice(['<', '<=', '==', '!=', '>', '>='])} {other})"
    if k < 0.85:
        return f"O[i] = {fexpr(3)}"
    if k < 0.95:
        return (
            f"F[i] = {fexpr(2)} {rng.choice(['+', '-', '*', '/'])} {rng.choice(['0.1', '3', 'D[i]', 'S[i]', 'C[i]'])}"
        )
    return f"O[i] = {rng.choice(['D[i]', 'S[i]', 'D[i] * 1e4', 'i - 3'])}"


def _random_args():
    a = _u64([0, 1, 2, 3, 7, 64, 2**63, 2**63 + 5, 2**64 - 1, 12345678901234567890, 99, 2**32])
    b = _u64([5, 0, 63, 64, 1, 2**64 - 1, 3, 2**63, 7, 2, 1, 31])
    h = np.array([1.0, 65504, 0.1, np.nan, np.inf, -0.0, 6e-8, 2.0, 3.0, 1e-4, -7.5, 1000], dtype=np.float16)
    g = np.array([3.0, 1.0, 0.3, 1.0, -np.inf, 5.0, 6e-8, 1e-3, 7.0, 1e4, 2.0, 0.0], dtype=np.float16)
    c = np.arange(-6, 6, dtype=np.int64) * 3
    d = np.linspace(-2.5, 3.5e5, 12)
    s = np.linspace(-3, 3, 12, dtype=np.float32)
    return [
        a,
        b,
        h,
        g,
        c,
        d,
        s,
        np.zeros(12, np.uint64),
        np.zeros(12),
        np.zeros(12, np.float16),
        np.zeros(12, np.int64),
    ]


def _same_but_nan_bits(x, y):
    if isinstance(x, np.ndarray) and x.dtype.kind == "f" and x.dtype == y.dtype and x.shape == y.shape:
        both = np.isnan(x) & np.isnan(y)
        x, y = x.copy(), y.copy()
        x[both] = 0
        y[both] = 0
    return same(x, y)


@pytest.mark.parametrize("seed", range(4))
def test_random_expressions(seed):
    import random

    rng = random.Random(seed)
    for _ in range(25):
        src = (
            "def k(A, B, H, G, C, D, S, U, F, O, I):\n    for i in range(A.shape[0]):\n"
            "        j = (i * 7 + 3) % 12\n        " + _random_body(rng) + "\n"
        )
        f = _fn(src)
        for settings in ({"all": "ignore"}, {"divide": "warn", "over": "warn", "invalid": "warn", "under": "ignore"}):
            with np.errstate(**settings):
                want_args = _random_args()
                want = outcome(f, want_args, None)
                for dev in CPU:
                    got_args = _random_args()
                    _run.reset_last_runs()
                    got = outcome(f, got_args, dev)
                    recs = list(_run.last_runs().values())
                    assert want == got, (src, dev, want, got)
                    assert all(_same_but_nan_bits(x, y) for x, y in zip(want_args, got_args)), (src, dev)
                    if settings["all" if "all" in settings else "over"] == "ignore":
                        assert [r["status"] for r in recs] == ["ok"], (src, dev, recs)


def test_float16_scalar_given_to_the_nest():
    # an np.float16 from before the loop keeps NumPy's float16 rules, and a
    # variable that starts as one is written back as one
    f = _fn(
        "def k(H, s, O, F):\n"
        "    t = s\n"
        "    for i in range(H.shape[0]):\n"
        "        O[i] = H[i] * s + s\n"
        "        F[i] = s * 2.0 + H[i]\n"
        "        t = t * H[i]\n"
        "    return t\n"
    )
    h = np.array([1, 2.5, 0.1, 65504, -0.0, 7e-5], np.float16)
    with np.errstate(all="ignore"):
        recs = check(f, lambda: (h.copy(), np.float16(0.3), np.zeros(6, np.float16), np.zeros(6)), native=CPU)
    assert "np.float16" in recs["gpu-emulated"][0]["reason"]
    check(f, lambda: (h.copy(), np.float16(0.3), np.zeros(6, np.float16), np.zeros(6)), native=False)
