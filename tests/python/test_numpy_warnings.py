"""NumPy's RuntimeWarnings are part of what a cell does.

CPython prints "RuntimeWarning: overflow encountered in scalar multiply" (or
divide by zero, invalid value, a cast that overflows) when a NumPy scalar
operation in a loop meets such a value, and an np.int64 that wraps or is
divided by zero warns too. Native code cannot print the warning where Python
prints it, so a run that meets one stops and Python runs the loop from the
original arrays: the user sees the same warnings, at the same lines, and the
same values. Runs that meet none stay native.

Every case runs in CPython and through ``loopscope.run`` on "cpu" and
"cpu-serial" (both compile tiers) and on "gpu-emulated", with data that makes
NumPy warn and with data that does not, and compares the warnings (category,
message, line), the return value and every array.
"""

import os
import warnings

import numpy as np
import pytest

import loopscope
import nestgen
from cpu_tiers import cpu_tier
from loopscope import _run

CONFIGS = [
    ("cpu", "quick"),
    ("cpu", "optimised"),
    ("cpu-serial", "quick"),
    ("cpu-serial", "optimised"),
    ("gpu-emulated", None),
]


@pytest.fixture(autouse=True, scope="module")
def _cache_dir(tmp_path_factory):
    # Emulator builds are cached by source hash; keep them out of $HOME.
    if "LOOPSCOPE_CACHE_DIR" not in os.environ:
        os.environ["LOOPSCOPE_CACHE_DIR"] = str(tmp_path_factory.getbasetemp() / "loopscope-cache")
    yield


def f64(*v):
    return np.array(v, dtype=np.float64)


def i64(*v):
    return np.array(v, dtype=np.int64)


def i32(*v):
    return np.array(v, dtype=np.int32)


# name -> (source of k(...), arguments that make NumPy warn, arguments that do not)
CASES = {
    "division_by_zero_out_of_place": (
        "def k(A, B, C):\n    for i in range(A.shape[0]):\n        C[i] = A[i] / B[i]\n",
        (f64(1, 2, 3, 4), f64(1, 0, 2, 4), f64(0, 0, 0, 0)),
        (f64(1, 2, 3, 4), f64(1, 5, 2, 4), f64(0, 0, 0, 0)),
    ),
    "zero_over_zero_nan": (
        "def k(A, B, C):\n    for i in range(A.shape[0]):\n        C[i] = A[i] / B[i] + 1.0\n",
        (f64(0, 2), f64(0, 1), f64(0, 0)),
        (f64(3, 2), f64(2, 1), f64(0, 0)),
    ),
    "overflow_in_place": (
        "def k(A, s):\n    for i in range(A.shape[0]):\n        A[i] = A[i] * s\n",
        (f64(1.0, 1e300, 3.0), 1e10),
        (f64(1.0, 1e200, 3.0), 1e10),
    ),
    "inf_minus_inf": (
        "def k(A, B, C):\n    for i in range(A.shape[0]):\n        C[i] = A[i] - B[i]\n",
        (f64(1, np.inf), f64(0, np.inf), f64(0, 0)),
        (f64(1, np.inf), f64(0, 1), f64(0, 0)),
    ),
    "python_float_over_numpy_zero": (
        "def k(A, C):\n    for i in range(A.shape[0]):\n        C[i] = 1.5 / A[i]\n",
        (f64(2, 0), f64(0, 0)),
        (f64(2, 4), f64(0, 0)),
    ),
    "numpy_sqrt_of_negative": (
        "def k(A, C):\n    for i in range(A.shape[0]):\n        C[i] = np.sqrt(A[i])\n",
        (f64(4, -1), f64(0, 0)),
        (f64(4, 9), f64(0, 0)),
    ),
    "float32_cast_overflow": (
        "def k(A, C):\n    for i in range(A.shape[0]):\n        C[i] = A[i] * 2.0\n",
        (f64(1.0, 1e300), np.zeros(2, np.float32)),
        (f64(1.0, 1e30), np.zeros(2, np.float32)),
    ),
    "int64_product_wraps": (
        "def k(A, B, C):\n    for i in range(A.shape[0]):\n        C[i] = A[i] * B[i]\n",
        (i64(3, 2**62), i64(5, 4), i64(0, 0)),
        (i64(3, 2**40), i64(5, 4), i64(0, 0)),
    ),
    "int32_sum_wraps": (
        "def k(A, B, C):\n    for i in range(A.shape[0]):\n        C[i] = A[i] + B[i]\n",
        (i32(1, 2**31 - 1), i32(1, 1), i32(0, 0)),
        (i32(1, 2**30), i32(1, 1), i32(0, 0)),
    ),
    "int_floor_division_by_zero": (
        "def k(A, B, C):\n    for i in range(A.shape[0]):\n        C[i] = A[i] // B[i] + A[i] % B[i]\n",
        (i64(7, 5), i64(2, 0), i64(0, 0)),
        (i64(7, 5), i64(2, -3), i64(0, 0)),
    ),
    "negating_int64_min": (
        "def k(A, C):\n    for i in range(A.shape[0]):\n        C[i] = -A[i]\n",
        (i64(1, -(2**63)), i64(0, 0)),
        (i64(1, -(2**62)), i64(0, 0)),
    ),
    "abs_of_int64_min": (
        "def k(A, C):\n    for i in range(A.shape[0]):\n        C[i] = abs(A[i])\n",
        (i64(1, -(2**63)), i64(0, 0)),
        (i64(1, -(2**62)), i64(0, 0)),
    ),
    "float_sum_overflows": (
        "def k(A):\n    s = 0.0\n    for i in range(A.shape[0]):\n        s += A[i] * A[i]\n    return s\n",
        (f64(1e200, 1e200, 1.0),),
        (f64(1e100, 1e100, 1.0),),
    ),
    "stencil_2d_in_place_rows": (
        "def k(A, B, n):\n    for i in range(1, n - 1):\n        for j in range(1, n - 1):\n"
        "            B[i, j] = (A[i - 1, j] + A[i + 1, j]) / A[i, j]\n",
        (np.arange(1.0, 26.0).reshape(5, 5) * np.array([1, 1, 0, 1, 1.0]), np.zeros((5, 5)), 5),
        (np.arange(1.0, 26.0).reshape(5, 5), np.zeros((5, 5)), 5),
    ),
    "zero_to_negative_power": (
        "def k(A, C):\n    for i in range(A.shape[0]):\n        C[i] = A[i] ** -1.0\n",
        (f64(2, 0), f64(0, 0)),
        (f64(2, 4), f64(0, 0)),
    ),
}

# Cases whose clean data may still send the run to Python: none. A run that
# meets no warning must stay native (the check costs nothing in the loop).


def outcome(fn, args, device=None, tier=None):
    args = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            if device is None:
                r = ("ok", fn(*args))
            elif tier is None:
                r = ("ok", loopscope.run(fn, *args, device=device))
            else:
                with cpu_tier(tier):
                    r = ("ok", loopscope.run(fn, *args, device=device))
        except Exception as exc:  # compared with Python's
            r = ("raise", type(exc).__name__, str(exc))
    shown = [(w.category.__name__, str(w.message), w.lineno) for w in seen]
    arrays = [a.tobytes() for a in args if isinstance(a, np.ndarray)]
    return r, shown, arrays


def _same(a, b):
    (ra, wa, xa), (rb, wb, xb) = a, b
    if wa != wb or xa != xb or ra[0] != rb[0]:
        return False
    if ra[0] == "ok":
        return type(ra[1]) is type(rb[1]) and (ra[1] == rb[1] or (ra[1] != ra[1] and rb[1] != rb[1]))
    return ra == rb


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("data", ["warns", "clean"])
def test_warnings_and_values_match_cpython(name, data):
    src, warn_args, clean_args = CASES[name]
    fn = nestgen.make_function(src, "k")
    args = warn_args if data == "warns" else clean_args
    want = outcome(fn, args)
    assert bool(want[1]) == (data == "warns"), want  # the case's data does what it says
    for device, tier in CONFIGS:
        _run.reset_last_runs()
        got = outcome(fn, args, device, tier)
        runs = list(_run.last_runs().values())
        assert _same(want, got), f"{device}/{tier}: python {want}, loopscope {got}, runs {runs}"
        statuses = [r["status"] for r in runs]
        if data == "clean":
            assert statuses and all(s == "ok" for s in statuses), (device, tier, runs)
        else:
            assert "fallback" in statuses, (device, tier, runs)
            assert any("RuntimeWarning" in (r.get("reason") or "") for r in runs), runs


@pytest.mark.parametrize("name", sorted(CASES))
def test_ignored_numpy_errors_print_nothing_and_stay_native(name):
    """np.errstate(all="ignore"): Python prints nothing, so the CPU run stays
    native (the GPU run still goes to Python); the values are the same."""
    src, warn_args, _ = CASES[name]
    fn = nestgen.make_function(src, "k")
    with np.errstate(all="ignore"):
        want = outcome(fn, warn_args)
        for device, tier in CONFIGS:
            _run.reset_last_runs()
            got = outcome(fn, warn_args, device, tier)
            assert _same(want, got), (device, tier, want, got)
            if device != "gpu-emulated":
                assert [r["status"] for r in _run.last_runs().values()] == ["ok"], (device, tier, _run.last_runs())
    assert want[1] == []


def test_reported_underflow_runs_python():
    """np.seterr(under="warn"): native code does not track underflow."""
    fn = nestgen.make_function("def k(A, C):\n    for i in range(A.shape[0]):\n        C[i] = A[i] * 1e-300\n", "k")
    args = (f64(1e-10, 1.0), f64(0, 0))
    with np.errstate(under="warn"):
        want = outcome(fn, args)
        assert want[1], want
        for device, tier in CONFIGS:
            _run.reset_last_runs()
            got = outcome(fn, args, device, tier)
            assert _same(want, got), (device, tier, want, got)
            (rec,) = _run.last_runs().values()
            assert rec["status"] == "declined" and "underflow" in rec["reason"], rec


def test_python_float_overflow_is_silent_and_stays_native():
    """Python floats overflow to inf without a warning: nothing to report."""
    fn = nestgen.make_function(
        "def k(n):\n    x = 1e300\n    y = 0.0\n    for i in range(n):\n        y = x * 1e10\n    return y\n", "k"
    )
    want = outcome(fn, (3,))
    for device, tier in CONFIGS[:4]:
        _run.reset_last_runs()
        got = outcome(fn, (3,), device, tier)
        assert _same(want, got), (device, tier, want, got)
        assert [r["status"] for r in _run.last_runs().values()] == ["ok"], _run.last_runs()


def test_flags_raised_before_the_run_do_not_count():
    """IEEE flags left by earlier work on the thread are not the run's."""
    src, _, clean_args = CASES["division_by_zero_out_of_place"]
    fn = nestgen.make_function(src, "k")
    with np.errstate(all="ignore"):
        np.float64(1.0) / np.float64(0.0)  # leaves the divide-by-zero flag set in C
    for device, tier in CONFIGS[:4]:
        _run.reset_last_runs()
        outcome(fn, clean_args, device, tier)
        assert [r["status"] for r in _run.last_runs().values()] == ["ok"], _run.last_runs()


GUARDED = {
    # Python never divides by zero here; the compiled loop must not either
    # (a speculated division would raise the flag and send the run to Python).
    "division_guarded_by_if": "def k(A, B, C):\n    for i in range(A.shape[0]):\n        if B[i] != 0.0:\n"
    "            C[i] = A[i] / B[i]\n",
    "division_guarded_by_conditional_expression": "def k(A, B, C):\n    for i in range(A.shape[0]):\n"
    "        C[i] = A[i] / B[i] if B[i] != 0.0 else 0.0\n",
    # Comparisons and max() with NaN print nothing in Python. The hardware's
    # ordered compares and maxsd raise the invalid flag on NaN, so such a run
    # may go to Python (the same values, slower): only exactness is required.
    "comparisons_with_nan": "def k(A, B, C):\n    for i in range(A.shape[0]):\n        if A[i] > 0.5:\n"
    "            C[i] = max(A[i], B[i]) * 2.0\n",
}


@pytest.mark.parametrize("name", sorted(GUARDED))
def test_guarded_operations_stay_native(name):
    fn = nestgen.make_function(GUARDED[name], "k")
    g = np.random.default_rng(5)
    A, B = g.random(20000), g.random(20000)
    B[::7] = 0.0
    if "nan" in name:
        A[::5] = np.nan
        B[::3] = np.nan
    args = (A, B, np.zeros(20000))
    want = outcome(fn, args)
    assert want[1] == []
    for device, tier in CONFIGS:
        _run.reset_last_runs()
        got = outcome(fn, args, device, tier)
        assert _same(want, got), (device, tier)
        if "nan" not in name:
            assert [r["status"] for r in _run.last_runs().values()] == ["ok"], (device, tier, _run.last_runs())
