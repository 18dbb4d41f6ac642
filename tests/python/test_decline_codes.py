"""Every decline reaches Python as one shape, ``_records.Decline`` (code,
line, reason, detail), with the engine's code and the sentence the user has
always read."""

import pathlib
import re
import threading

import numpy as np
import pytest

import _loopscope
import loopscope
from loopscope import _records, _rewrite, _run
from loopscope._records import Decline


def only_run():
    runs = list(_run.last_runs().values())
    assert len(runs) == 1, runs
    d = runs[0]["decline"]
    assert d is None or (isinstance(d, Decline) and d.code in _records.CODES), d
    return runs[0]


def test_python_knows_the_engines_codes():
    header = pathlib.Path(__file__).parents[2] / "analysis/include/loopscope/analysis/decline.hpp"
    names = re.findall(r'case DeclineCode::\w+: return "(\w+)";', header.read_text())
    assert tuple(names) == _records.CODES


def run(fn, *args, device="cpu"):
    _run.reset_last_runs()
    return loopscope.run(fn, *args, device=device)


def test_the_engine_shape_and_the_record():
    d = Decline.from_engine({"code": "typing", "line": 3, "reason": "r", "detail": ""})
    assert d == Decline("typing", 3, "r", "")
    assert Decline.from_engine(None) is None
    assert Decline.from_engine(d) is d
    assert d.as_dict() == {"code": "typing", "line": 3, "reason": "r", "detail": ""}
    assert set(_records.CODES) >= {"unsupported_syntax", "exactness", "interrupted", "internal"}


def assert_inside(a, n):
    for i in range(n):
        assert a[i] > 0.0
        a[i] = a[i] / 2.0


def test_unsupported_statement():
    rep = loopscope.explain(assert_inside, np.ones(4), 4)
    d = rep["nests"][0]["decline"]
    assert d["code"] == "unsupported_syntax"
    assert d["reason"] == "a 'Assert' statement inside the loop is not supported"
    assert d["line"] == rep["nests"][0]["line"] + 1
    rec = [r for r in _rewrite.NESTS.values() if r.declined and r.decline.reason == d["reason"]][-1]
    assert rec.decline.code == "unsupported_syntax"


def fill(a, n):
    for i in range(n):
        a[i] = 1.0


def test_unsupported_values():
    a = [0.0] * 4
    run(fill, a, 4)
    assert a == [1.0] * 4
    rec = only_run()
    assert rec["status"] == "declined"
    assert rec["decline"].code == "unsupported_value"
    assert (
        rec["reason"]
        == rec["decline"].reason
        == (
            "a is a Python list, which native code only reads, and the loop changes its items (a[i] = ...): the loop "
            "runs as plain Python"
        )
    )

    h = np.zeros(4, dtype=np.longdouble)
    run(fill, h, 4)
    rec = only_run()
    assert rec["decline"].code == "unsupported_value"
    assert rec["reason"] == (
        "a has dtype float128; supported are float64, float32, float16, complex128, complex64, the integer types "
        "and bool"
    )


def scale(a, x, n):
    for i in range(n):
        a[i] = a[i] * x


@pytest.mark.parametrize(
    "x, reason",
    [
        (np.longdouble(2.0), "x is a NumPy float128 scalar; only float64, float32 and float16 scalars are supported"),
        (
            np.longlong(2),
            "x is a NumPy longlong scalar; native code supports np.float64, np.float32, np.float16, np.int64, "
            "np.uint64, np.int32, np.int16, np.int8, np.uint32, np.uint16, np.uint8, np.complex128, np.complex64 "
            "and np.bool_ scalars",
        ),
    ],
)
def test_numpy_scalar_exactness(x, reason):
    a = np.ones(4)
    run(scale, a, x, 4)
    assert (a == 2.0).all()
    rec = only_run()
    assert rec["decline"].code == "exactness"
    assert rec["reason"] == reason
    p = loopscope.explain(scale, np.ones(4), x, 4)["nests"][0]["predicted"]
    assert p["cpu"]["decline"]["code"] == "exactness" and p["cpu"]["reason"] == reason
    assert p["gpu"]["decline"]["code"] == "exactness" and p["gpu"]["reason"] == reason


def shifted(a, b, n):
    for i in range(n):
        b[i] = a[i + 1]


def test_out_of_range_subscript():
    a, b = np.arange(4.0), np.zeros(4)
    with pytest.raises(IndexError):
        run(shifted, a, b, 4)
    rec = only_run()
    assert rec["status"] == "fallback"
    assert rec["decline"].code == "subscript_range"
    assert rec["reason"] == "a subscript is out of range (Python raises IndexError)"
    assert (b[:3] == a[1:]).all()  # Python ran the loop up to the raise
    nest = loopscope.explain(shifted, a, np.zeros(4), 4)["nests"][0]
    assert nest["subscript_problem"]["code"] == "subscript_range"


def grow(a, n):
    s = 1
    for i in range(n):
        s = s * 1000 + int(a[i])
    return s


def test_trap():
    a = np.zeros(10)
    assert run(grow, a, 10) == 1000**10
    rec = only_run()
    assert rec["status"] == "fallback"
    assert rec["decline"].code == "trap"
    assert rec["reason"] == "an integer result does not fit in 64 bits (Python ints are unbounded)"


def two_launches(a, b, c, steps, n):
    for t in range(steps):
        for i in range(n):
            s = a[i] + 1.0
            b[i] = s
        for i in range(n):
            s = b[i] * 2.0
            c[i] = s


def test_dependence_between_gpu_launches():
    a, b, c = np.ones(8), np.zeros(8), np.zeros(8)
    p = loopscope.explain(two_launches, a, b, c, 2, 8)["nests"][0]["predicted"]
    assert p["cpu"]["status"] == "native"
    assert p["gpu"]["decline"]["code"] == "dependence"
    assert p["gpu"]["reason"] == (
        "no GPU version: the scalar s is assigned in two parts of the nest that run as separate GPU launches"
    )
    run(two_launches, a, b, c, 2, 8, device="gpu-emulated")
    rec = only_run()
    assert rec["status"] == "declined" and rec["decline"].code == "dependence"
    assert rec["reason"] == p["gpu"]["reason"]


def long_loop(n, x):
    s = 0.0
    for i in range(n):
        for j in range(n):
            s += x[j % 1000]
    return s


def test_interrupt():
    x = np.ones(1000)
    run(long_loop, 10, x, device="cpu-serial")
    timer = threading.Timer(0.2, lambda: _loopscope.cpu_set_cancel(True))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        run(long_loop, 3_000_000, x, device="cpu-serial")
    timer.join()
    rec = only_run()
    assert rec["status"] == "interrupted"
    assert rec["decline"] == _records.USER_INTERRUPT
    assert rec["decline"].code == "interrupted"


def test_a_shadowed_builtin_is_a_python_decline():
    def uses_abs(a, n):
        for i in range(n):
            a[i] = abs(a[i])

    def abs(x):  # noqa: A001  (shadows the builtin on purpose)
        return x

    run(uses_abs, np.ones(3), 3)
    rec = only_run()
    assert rec["status"] == "declined" and rec["decline"].code == "unsupported_value"
    assert "not Python's built-in abs" in rec["reason"]
