"""NumPy ufuncs on single numbers (``np.exp(x[i])``, ``np.arctan2(y[i],
x[i])``): the CPU variant calls NumPy's own inner loop on each element, which
is what NumPy does for a scalar, so the results are NumPy's bit for bit,
special values included; NumPy's warnings (overflow, invalid, divide) make
the loop run as Python, which prints them. The GPU variant declines (CUDA's
functions are not NumPy's).
"""

import warnings

import numpy as np
import pytest

import loopscope
from nestgen import make_function
from loopscope import _run

SPECIAL = np.array(
    [0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.5, 1e-310, -1e-310, 1e-30, 30.0, -30.0, 700.0, 1e5, np.pi, -np.pi / 3]
)
UNARY = [
    "exp",
    "log",
    "log2",
    "log10",
    "log1p",
    "expm1",
    "sin",
    "cos",
    "tan",
    "arcsin",
    "arccos",
    "arctan",
    "sinh",
    "cosh",
    "tanh",
    "floor",
    "ceil",
    "trunc",
    "square",
    "sign",
]
BINARY = ["arctan2", "power", "hypot"]


def define(source):
    return make_function(source, "f")


def outcome(fn, args, device=None):
    args = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = loopscope.run(fn, *args, device=device) if device else fn(*args)
            error = None
        except Exception as exc:
            result, error = None, (type(exc).__name__, str(exc))
    arrays = [(a.dtype.str, a.tobytes()) for a in args if isinstance(a, np.ndarray)]
    shown = sorted({str(w.message) for w in caught})
    return type(result).__name__, repr(result), error, arrays, shown


def statuses():
    return [(v["status"], v.get("reason") or "") for v in _run.last_runs().values()]


def inputs(name, dtype):
    x = SPECIAL.astype(dtype)
    if name in ("log", "log2", "log10", "arccos", "arcsin"):
        x = np.abs(x) / (1e5 if name.startswith("arc") else 1.0) + (1e-3 if name.startswith("log") else 0.0)
    if name == "log1p":
        x = np.abs(x)
    if name in ("exp", "expm1", "sinh", "cosh", "square"):
        x = np.clip(x, -30, 30).astype(dtype)
    return x.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", UNARY)
def test_a_unary_ufunc_gives_numpys_bits(name, dtype):
    fn = define(
        f"""
        def f(x, out):
            for i in range(x.shape[0]):
                out[i] = np.{name}(x[i])
        """
    )
    x = inputs(name, dtype)
    args = (x, np.zeros(x.shape[0], dtype=dtype))
    for device in ("cpu", "cpu-serial"):
        _run.reset_last_runs()
        assert outcome(fn, args, device) == outcome(fn, args)
        assert [s for s, _ in statuses()] == ["ok"], statuses()


@pytest.mark.parametrize("name", BINARY)
def test_a_binary_ufunc_gives_numpys_bits(name):
    fn = define(
        f"""
        def f(x, y, out):
            for i in range(x.shape[0]):
                out[i] = np.{name}(x[i], y[i])
        """
    )
    x = np.abs(SPECIAL[:12]) + 0.25
    args = (x, SPECIAL[:12][::-1].copy() / 7.0, np.zeros(12))
    _run.reset_last_runs()
    assert outcome(fn, args, "cpu") == outcome(fn, args)
    assert [s for s, _ in statuses()] == ["ok"], statuses()


def test_scalars_keep_numpys_types():
    fn = define(
        """
        def f(x, c):
            s = 0.0
            t = np.float32(0.0)
            for i in range(x.shape[0]):
                s = np.exp(x[i] * c)
                t = np.sin(np.float32(x[i]))
            return s, t
        """
    )
    args = (np.linspace(0.0, 1.0, 9), 0.5)
    for device in ("cpu", "cpu-serial", "auto"):
        _run.reset_last_runs()
        assert outcome(fn, args, device) == outcome(fn, args)


@pytest.mark.parametrize("device", ["cpu", "cpu-serial", "gpu-emulated", "auto"])
def test_numpys_warnings_run_python_which_prints_them(device):
    fn = define(
        """
        def f(x, out):
            for i in range(x.shape[0]):
                out[i] = np.log(x[i]) + np.exp(x[i])
        """
    )
    for x in (np.array([1.0, 0.0, 2.0]), np.array([1.0, -1.0]), np.array([1.0, 800.0]), np.array([np.nan, 1.0])):
        args = (x, np.zeros(x.shape[0]))
        _run.reset_last_runs()
        want = outcome(fn, args)
        assert outcome(fn, args, device) == want
        if want[-1]:  # NumPy warned: the native run gave way to Python
            assert all(s != "ok" for s, _ in statuses()), statuses()


def test_the_gpu_declines_numpys_functions():
    fn = define(
        """
        def f(x, out):
            for i in range(x.shape[0]):
                out[i] = np.exp(x[i])
        """
    )
    _run.reset_last_runs()
    args = (np.linspace(0.0, 1.0, 9), np.zeros(9))
    assert outcome(fn, args, "gpu-emulated") == outcome(fn, args)
    assert all(s != "ok" and "NumPy" in r for s, r in statuses()), statuses()


def test_an_integer_argument_still_declines():
    fn = define(
        """
        def f(k, out):
            for i in range(k.shape[0]):
                out[i] = np.exp(k[i])
        """
    )
    _run.reset_last_runs()
    args = (np.arange(5), np.zeros(5))
    assert outcome(fn, args, "cpu") == outcome(fn, args)
    assert all(s != "ok" for s, _ in statuses())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_many_values_through_every_loop(dtype):
    # NumPy's SIMD loops and the C library differ in the last bit for some
    # values (np.exp(-1.0)): a few hundred values per function find any path
    # that is not the one NumPy takes for a scalar.
    rng = np.random.default_rng(20261201)
    c = "np.float32(1.5)" if dtype == np.float32 else "1.5"  # a Python float next to np.float32 is left to Python
    fn = define(
        f"""
        def f(x, out, k):
            for i in range(x.shape[0]):
                if k == 0:
                    out[i] = np.exp(x[i])
                elif k == 1:
                    out[i] = np.log(np.abs(x[i]) + 1e-3)
                elif k == 2:
                    out[i] = np.sin(x[i])
                elif k == 3:
                    out[i] = np.cos(x[i])
                elif k == 4:
                    out[i] = np.tanh(x[i])
                elif k == 5:
                    out[i] = np.arctan2(x[i], {c})
                else:
                    out[i] = np.log1p(np.abs(x[i]))
        """
    )
    x = (rng.standard_normal(400) * np.logspace(-3, 1.4, 400)).astype(dtype)
    for k in range(7):
        args = (x, np.zeros(400, dtype=dtype), k)
        _run.reset_last_runs()
        assert outcome(fn, args, "cpu") == outcome(fn, args), k
        assert [s for s, _ in statuses()] == ["ok"], statuses()
