"""NumPy scalars of the small integer types (np.int8, np.int16, np.int32,
np.uint8, np.uint16, np.uint32) given to a nest, or made before its loop,
run natively on the CPU (both tiers), typed exactly as an element read of an
array of that dtype: NumPy 1.24's promotion with Python ints and floats and
with other NumPy scalars, wrap-around with NumPy's overflow RuntimeWarning
(the native code stops and Python runs the loop, so the warnings appear as
in Python), division by zero, and the type written back when such a
variable is reassigned in the loop. The generated CUDA does not take them
yet and declines with a sentence; a variable whose type changes in the loop
declines with a sentence. Every case runs in CPython and on every device and
must give the same values, types, arrays and exceptions.
"""

import warnings

import numpy as np
import pytest

import _loopscope
import loopscope
import nestgen
from differential import check, each_cpu_tier, use_temporary_cache  # noqa: F401
from loopscope import _run

pytestmark = pytest.mark.usefixtures("each_cpu_tier")

TYPES = (np.int8, np.int16, np.int32, np.uint8, np.uint16, np.uint32)
CPU = ("cpu", "cpu-serial")
GPU_SENTENCE = (
    "scalar, which the generated CUDA does not take yet (small integer values from arrays only; such a scalar "
    "runs natively on the CPU)"
)


@pytest.fixture(autouse=True)
def _fresh_cpu_cache():
    # Each case compiles its own variants (a loop is compiled for at most 32
    # sets of values, counted per loop text).
    _loopscope.cpu_clear_cache()
    yield


def fn(source, name, **namespace):
    return nestgen.make_function(source, name, namespace=namespace)


def name(t):
    return np.dtype(t).name


def assert_gpu_declines(records, scalar, t):
    recs = records["gpu-emulated"]
    assert recs and all(r["status"] == "declined" for r in recs), recs
    assert recs[0]["reason"] == f"{scalar} is an np.{name(t)} {GPU_SENTENCE}", recs


def statuses(records, device):
    return [r["status"] for r in records[device]]


def check_native(f, make_args, scalar=None, t=None):
    """check() on every device; the CPU devices run natively: "ok", or
    "fallback" where Python warns or raises (NumPy's warnings then appear as
    in Python); the GPU declines with its sentence."""
    want = run_recording(f, make_args(), None)
    recs = check(f, make_args, native=False)
    expected = ["ok"] if want[0][0] == "ok" and not want[1] else ["fallback"]
    for device in CPU:
        assert statuses(recs, device) == expected, recs[device]
    if want[1]:
        assert_warnings_match(f, make_args)
    if scalar is not None:
        assert_gpu_declines(recs, scalar, t)
    return recs


# --- a scalar input with arrays of its own dtype ------------------------------


@pytest.mark.parametrize("t", TYPES, ids=name)
@pytest.mark.parametrize("op", ["*", "+", "-", "//", "%", "/", "&", "|", "^"])
def test_same_dtype_arithmetic(t, op):
    expr = f"b[i] {op} s"
    f = fn(
        f"def same_{name(t)}(a, b, s):\n" f"    for i in range(a.shape[0]):\n" f"        a[i] = {expr}\n",
        f"same_{name(t)}",
    )
    lo, hi = np.iinfo(t).min, np.iinfo(t).max
    vals = np.array([lo, lo + 1, -3, -1, 0, 1, 2, 5, 7, hi - 1, hi], dtype=np.int64)
    vals = vals[(vals >= lo) & (vals <= hi)]
    out_dtype = np.float64 if op == "/" else t

    def args():
        return np.zeros(len(vals), out_dtype), vals.astype(t), t(3)

    check_native(f, args, "s", t)


@pytest.mark.parametrize("t", TYPES, ids=name)
def test_wraps_with_numpy_warnings(t):
    # b[i] * s wraps in the small type with NumPy's overflow warning: the
    # native code stops and Python runs the loop.
    f = fn(
        f"def wrap_{name(t)}(a, b, s):\n    for i in range(a.shape[0]):\n        a[i] = b[i] * s\n",
        f"wrap_{name(t)}",
    )
    hi = np.iinfo(t).max

    def args():
        return np.zeros(3, t), np.array([1, hi // 2, hi], dtype=t), t(3)

    recs = check_native(f, args, "s", t)
    assert statuses(recs, "cpu") == ["fallback"]


def run_recording(fn, args, device):
    _run.reset_last_runs()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            r = ("ok", fn(*args) if device is None else loopscope.run(fn, *args, device=device))
        except Exception as exc:  # noqa: BLE001 - compared with Python's
            r = ("raise", type(exc).__name__, str(exc))
    shown = [(w.category.__name__, str(w.message)) for w in seen]
    return r, shown


def assert_warnings_match(f, make_args):
    want = run_recording(f, make_args(), None)
    assert want[1], "the case must warn in Python"
    for device in ("cpu", "cpu-serial", "gpu-emulated", "auto"):
        got = run_recording(f, make_args(), device)
        assert got[1] == want[1], (device, got[1], want[1])


# --- Python ints and floats, other NumPy scalars ------------------------------


@pytest.mark.parametrize("t", TYPES, ids=name)
@pytest.mark.parametrize(
    "k", [1, 100, 300, -5, 70000, 2**31, 2**40, 2.5, -0.5], ids=lambda k: f"k{k}".replace(".", "_")
)
def test_with_python_numbers(t, k):
    # NumPy 1.24: a small integer scalar with a Python int computes in int64
    # (whether the int fits the small type or not), with a float in float64.
    out = np.float64 if isinstance(k, float) else np.int64
    f = fn(
        f"def pyk_{name(t)}(a, s, k):\n"
        f"    for i in range(a.shape[0]):\n"
        f"        a[i] = s * k + i - s\n"
        f"    return s + k, s * k, s < k, s == k\n",
        f"pyk_{name(t)}",
    )

    def args():
        return np.zeros(4, out), t(7), k

    check_native(f, args, "s", t)


@pytest.mark.parametrize("t", TYPES, ids=name)
@pytest.mark.parametrize("u", [np.int64, np.float64, np.float32, np.uint64, np.bool_] + list(TYPES), ids=name)
def test_with_numpy_scalars(t, u):
    # s * u, s + u, s < u, like NumPy 1.24; natively where the engine models
    # the pair as it does for two elements, else declined with a sentence.
    f = fn(
        f"def npu_{name(t)}_{name(u)}(a, s, u):\n"
        f"    for i in range(a.shape[0]):\n"
        f"        a[i] = s * u\n"
        f"    return s + u, s < u\n",
        f"npu_{name(t)}_{name(u)}",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = np.asarray(t(3) * u(2)).dtype

    def args():
        return np.zeros(3, result), t(3), u(2)

    recs = check(f, args, native=False)
    for device in CPU:
        for r in recs[device]:
            assert r["status"] == "ok" or (r["status"] == "declined" and r["reason"]), r


@pytest.mark.parametrize("t", TYPES, ids=name)
def test_compare_and_index(t):
    f = fn(
        f"def cmp_{name(t)}(b, s):\n"
        f"    c = 0\n"
        f"    for i in range(b.shape[0]):\n"
        f"        if b[i] < s:\n"
        f"            c += 1\n"
        f"        if b[i] == s:\n"
        f"            c += 10\n"
        f"    return c, b[s], b[s - 1]\n",
        f"cmp_{name(t)}",
    )

    def args():
        return np.arange(10, dtype=np.int64) - 2, t(5)

    check_native(f, args, "s", t)


@pytest.mark.parametrize("t", TYPES, ids=name)
def test_range_bound(t):
    f = fn(
        f"def rng_{name(t)}(a, s):\n    for i in range(s):\n        a[i] = i * 2\n    return i\n",
        f"rng_{name(t)}",
    )

    def args():
        return np.zeros(8, np.int64), t(6)

    check_native(f, args)


@pytest.mark.parametrize("t", TYPES, ids=name)
@pytest.mark.parametrize("adt", [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.float32, np.float64])
def test_store_into_arrays(t, adt):
    # a[i] = s converts the value as NumPy does; a value outside the
    # element's range runs as Python (NumPy's own conversion).
    f = fn(
        f"def store_{name(t)}_{name(adt)}(a, s):\n    for i in range(a.shape[0]):\n        a[i] = s\n",
        f"store_{name(t)}_{name(adt)}",
    )
    for v in (5, np.iinfo(t).max, np.iinfo(t).min):

        def args(v=v):
            return np.zeros(3, adt), t(v)

        recs = check(f, args, native=False)
        for device in CPU:
            for r in recs[device]:
                assert r["status"] in ("ok", "fallback") or r["reason"], r
    recs = check(f, lambda: (np.zeros(3, adt), t(5)), native=False)
    if adt in (np.int32, np.int64, np.float64) or np.dtype(adt) == np.dtype(t):
        assert statuses(recs, "cpu") == ["ok"]


# --- variables of a small type ------------------------------------------------


@pytest.mark.parametrize("t", TYPES, ids=name)
def test_accumulator_made_before_the_loop(t):
    f = fn(
        f"def acc_{name(t)}(img, n):\n"
        f"    acc = np.{name(t)}(0)\n"
        f"    for i in range(n):\n"
        f"        acc = acc + img[i]\n"
        f"    return acc\n",
        f"acc_{name(t)}",
    )
    for n in (0, 3, 6):
        check_native(f, lambda n=n: (np.arange(6, dtype=t), n), "acc", t)


def test_uint8_accumulator_wraps_as_in_python():
    f = fn(
        "def acc_wrap(img, n):\n"
        "    acc = np.uint8(0)\n"
        "    for i in range(n):\n"
        "        acc = acc + img[i]\n"
        "    return acc\n",
        "acc_wrap",
    )

    def args():
        return (np.arange(40, dtype=np.uint8) * 7), 40

    recs = check_native(f, args, "acc", np.uint8)
    assert statuses(recs, "cpu") == ["fallback"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert type(loopscope.run(f, *args(), device="cpu")) is np.uint8


@pytest.mark.parametrize("t", [np.int8, np.int16, np.int32], ids=name)
def test_reduction_overflowing_in_a_prefix_only(t):
    # acc + b[i] overflows after the first two elements and comes back in
    # range: NumPy warns; the reduction must not be split into partial sums
    # that would not overflow.
    f = fn(
        f"def pre_{name(t)}(b, acc):\n"
        f"    for i in range(b.shape[0]):\n"
        f"        acc = acc + b[i]\n"
        f"    return acc\n",
        f"pre_{name(t)}",
    )
    big = np.iinfo(t).max // 2 + 10

    def args():
        b = np.zeros(100000, t)
        b[:3] = [big, big, -big]
        return b, t(0)

    recs = check_native(f, args, "acc", t)
    assert statuses(recs, "cpu") == ["fallback"]


def test_auto_runs_a_large_nest_on_the_cpu():
    f = fn("def big(a, b, s):\n    for i in range(a.shape[0]):\n        a[i] = b[i] * s + 1\n", "big")
    n = 2_000_000

    def args():
        return np.zeros(n, np.int32), np.arange(n, dtype=np.int32) % 1000, np.int32(3)

    recs = check(f, args, native=False, devices=("auto",))
    # One core or all of them, as the cost model and the measured runs decide on this host.
    assert [r["status"] for r in recs["auto"]] == ["ok"], recs["auto"]
    assert recs["auto"][0]["device"] in ("cpu", "cpu-serial"), recs["auto"]


@pytest.mark.parametrize("t", TYPES, ids=name)
def test_augmented_input_accumulator(t):
    f = fn(
        f"def aug_{name(t)}(b, acc):\n"
        f"    for i in range(b.shape[0]):\n"
        f"        acc += b[i]\n"
        f"        b[i] = acc\n"
        f"    return acc\n",
        f"aug_{name(t)}",
    )
    check_native(f, lambda: (np.array([1, 2, 3, 4], dtype=t), t(2)), "acc", t)


@pytest.mark.parametrize("t", TYPES, ids=name)
def test_exception_before_the_variable_is_assigned(t):
    # b[i + k] raises IndexError at i = 3: Python's exception and the partial
    # writes; acc keeps its type.
    f = fn(
        f"def idx_{name(t)}(a, b, acc, k):\n"
        f"    for i in range(a.shape[0]):\n"
        f"        a[i] = acc\n"
        f"        acc = acc * b[i + k]\n"
        f"    return acc\n",
        f"idx_{name(t)}",
    )
    check_native(f, lambda: (np.zeros(6, np.int64), np.ones(5, dtype=t), t(3), 2), "acc", t)


# --- division by a zero scalar ------------------------------------------------


@pytest.mark.parametrize("t", TYPES, ids=name)
@pytest.mark.parametrize("op", ["//", "%", "/"])
def test_division_by_zero_scalar(t, op):
    f = fn(
        f"def zdiv_{name(t)}(a, b, s):\n    for i in range(a.shape[0]):\n        a[i] = b[i] {op} s\n",
        f"zdiv_{name(t)}",
    )

    def args():
        return np.full(3, 9, np.float64 if op == "/" else t), np.array([0, 5, 7], dtype=t), t(0)

    recs = check_native(f, args, "s", t)
    assert statuses(recs, "cpu") == ["fallback"]


@pytest.mark.parametrize("t", TYPES, ids=name)
def test_python_int_division_by_zero_scalar(t):
    # s // 0 with a Python int 0: NumPy computes in int64 and warns.
    f = fn(
        f"def pzdiv_{name(t)}(a, s, k):\n    for i in range(a.shape[0]):\n        a[i] = (s + i) // k\n",
        f"pzdiv_{name(t)}",
    )

    def args():
        return np.zeros(3, np.int64), t(4), 0

    recs = check_native(f, args, "s", t)
    assert statuses(recs, "cpu") == ["fallback"]


# --- declines -----------------------------------------------------------------


def declined_reasons(f, args, device="cpu"):
    _run.reset_last_runs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loopscope.run(f, *args, device=device)
    recs = list(_run.last_runs().values())
    assert recs and all(r["status"] == "declined" for r in recs), recs
    return [r["reason"] for r in recs]


@pytest.mark.parametrize(
    "t, adt, to",
    [(np.uint8, np.int64, "np.int64"), (np.int8, np.int16, "np.int16"), (np.uint8, np.float64, "np.float64")],
    ids=str,
)
def test_type_change_declines(t, adt, to):
    f = fn(
        f"def chg_{name(t)}_{name(adt)}(img):\n"
        f"    acc = np.{name(t)}(0)\n"
        f"    for i in range(img.shape[0]):\n"
        f"        acc = acc + img[i]\n"
        f"    return acc\n",
        f"chg_{name(t)}_{name(adt)}",
    )
    args = lambda: (np.arange(5, dtype=adt),)  # noqa: E731
    recs = check(f, args, native=False)
    for device in CPU:
        assert statuses(recs, device) == ["declined"]
        assert recs[device][0]["reason"] == (
            f"'acc' holds a np.{name(t)} and is assigned a {to}; native code needs one type per variable"
        )


def test_int32_with_small_element_declines_with_a_sentence():
    f = fn(
        "def mix(a, b, s):\n    for i in range(a.shape[0]):\n        a[i] = b[i] * s\n",
        "mix",
    )
    recs = check(f, lambda: (np.zeros(3, np.int32), np.arange(3, dtype=np.uint8), np.int32(3)), native=False)
    for device in CPU:
        assert statuses(recs, device) == ["declined"]
        assert "np.uint8 and np.int32" in recs[device][0]["reason"]


def test_other_integer_scalars_still_decline():
    f = fn("def other(a, s):\n    for i in range(a.shape[0]):\n        a[i] = a[i] * s\n", "other")
    reasons = declined_reasons(f, (np.ones(4), np.longlong(2)))
    assert reasons == [
        "s is a NumPy longlong scalar; native code supports np.float64, np.float32, np.float16, np.int64, "
        "np.uint64, np.int32, np.int16, np.int8, np.uint32, np.uint16, np.uint8, np.complex128, np.complex64 "
        "and np.bool_ scalars"
    ]


@pytest.mark.parametrize("t", TYPES, ids=name)
def test_gpu_declines_with_a_sentence(t):
    f = fn(f"def gpu_{name(t)}(a, s):\n    for i in range(a.shape[0]):\n        a[i] = a[i] + s\n", f"gpu_{name(t)}")
    reasons = declined_reasons(f, (np.ones(4, dtype=t), t(1)), device="gpu-emulated")
    assert reasons == [f"s is an np.{name(t)} {GPU_SENTENCE}"]


@pytest.mark.parametrize("t", list(TYPES) + [np.uint64, np.float16], ids=name)
def test_variable_never_assigned_keeps_its_type(t):
    # The condition never holds: acc is written back as the NumPy scalar it
    # was before the loop.
    f = fn(
        f"def keep_{name(t)}(b, acc):\n"
        f"    for i in range(b.shape[0]):\n"
        f"        if b[i] > 100:\n"
        f"            acc = acc + b[i]\n"
        f"    return acc\n",
        f"keep_{name(t)}",
    )
    check_native(f, lambda: (np.arange(5, dtype=t), t(4)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert type(loopscope.run(f, np.arange(5, dtype=t), t(4), device="cpu")) is t
