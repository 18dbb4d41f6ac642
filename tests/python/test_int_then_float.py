"""A scalar that holds a Python int and then a float (`acc = 0`, then `acc +=
x[i] ** 2`; `m = 0`, then `m = x[i]` when larger; `s = 0` at the start of
each row): native code keeps it as a double and tracks whether it holds an
int or a float, so its value *and type* afterwards are Python's (an int when
the loop never assigned a float).

Every case is compared with CPython on every device (return value with its
type, arrays, exceptions); the GPU variant declines such a variable with a
stated reason, and uses whose int and float results could differ decline
with a sentence.
"""

import numpy as np
import pytest

import loopscope
from nestgen import make_function
from loopscope import _run

DEVICES = ("cpu", "cpu-serial", "gpu-emulated", "auto")


def define(source):
    return make_function(source, "f")


def outcome(fn, args, device=None):
    args = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    try:
        result = loopscope.run(fn, *args, device=device) if device else fn(*args)
        error = None
    except Exception as exc:
        result, error = None, (type(exc).__name__, str(exc))
    arrays = [(a.dtype.str, a.shape, a.tobytes()) for a in args if isinstance(a, np.ndarray)]
    return type(result).__name__, repr(result), error, arrays


def statuses():
    return [(v["status"], v.get("reason") or "") for v in _run.last_runs().values()]


X = np.array([0.5, -1.25, 3.0, 2.0, -0.75])
NEG = np.array([-1.0, -2.0, -0.5])
EMPTY = np.zeros(0)
X32 = X.astype(np.float32)

CASES = {
    "sum_of_squares": (
        """
        def f(x):
            acc = 0
            for i in range(x.shape[0]):
                acc += x[i] ** 2
            return acc
        """,
        [(X,), (EMPTY,)],
    ),
    "max_from_zero": (
        """
        def f(x):
            m = 0
            for i in range(x.shape[0]):
                if x[i] > m:
                    m = x[i]
            return m
        """,
        [(X,), (NEG,), (EMPTY,)],
    ),
    "row_sums_restart_at_int_zero": (
        """
        def f(a, out):
            for i in range(a.shape[0]):
                s = 0
                for j in range(a.shape[1]):
                    s += a[i, j]
                out[i] = s
            return s
        """,
        [(np.arange(12.0).reshape(3, 4), np.zeros(3)), (np.zeros((3, 0)), np.zeros(3))],
    ),
    "input_int_with_python_floats": (
        """
        def f(x, acc):
            for i in range(x.shape[0]):
                acc = acc * 0.5 + float(x[i])
            return acc
        """,
        [(X, 3), (EMPTY, 7), (X, -(2**53))],
    ),
    "comparison_and_math_of_the_int": (
        """
        def f(x, out):
            best = 1
            for i in range(x.shape[0]):
                out[i] = math.sqrt(best) + (1.0 if best < 2 else 0.0)
                if x[i] > best:
                    best = x[i] + 0.0
            return best
        """,
        [(X, np.zeros(5)), (NEG, np.zeros(3))],
    ),
    "division_by_the_int_zero": (
        """
        def f(x):
            acc = 0
            for i in range(x.shape[0]):
                acc = 1.0 / acc + x[i]
            return acc
        """,
        [(X,), (EMPTY,)],
    ),
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_an_int_that_becomes_a_float_gives_pythons_value_and_type(name, device):
    source, arg_sets = CASES[name]
    fn = define(source)
    for args in arg_sets:
        _run.reset_last_runs()
        assert outcome(fn, args, device) == outcome(fn, args)
        got = statuses()
        if device in ("cpu", "cpu-serial") and name != "division_by_the_int_zero":
            assert got and all(s == "ok" for s, _ in got), got
        if device == "gpu-emulated":
            assert all(s != "ok" and "holds an int and then a float" in r for s, r in got), got


def test_the_row_loop_stays_parallel():
    fn = define(CASES["row_sums_restart_at_int_zero"][0])
    _run.reset_last_runs()
    loopscope.run(fn, np.arange(12.0).reshape(3, 4), np.zeros(3), device="cpu")
    ((rec),) = _run.last_runs().values()
    assert rec["status"] == "ok" and rec["parallel_loops"] == "i", rec


DECLINED = {
    "int_operand": (
        """
        def f(x):
            acc = 0
            for i in range(x.shape[0]):
                acc = acc * 2 + x[i]
            return acc
        """,
        (X,),
    ),
    "copied_to_another_name": (
        """
        def f(x):
            acc = 0
            y = 0.0
            for i in range(x.shape[0]):
                y = acc
                acc += x[i]
            return y
        """,
        (X,),
    ),
    "abs_of_it": (
        """
        def f(x, out):
            acc = 0
            for i in range(x.shape[0]):
                out[i] = abs(acc) + 1
                acc += x[i]
            return acc
        """,
        (X, np.zeros(5, dtype=np.int64)),
    ),
    "float32_operand": (
        """
        def f(x):
            acc = 0
            for i in range(x.shape[0]):
                acc = acc + x[i]
            return acc
        """,
        (X32,),
    ),
    "int_added": (
        """
        def f(x):
            acc = 0
            for i in range(x.shape[0]):
                acc += 1
                acc += x[i]
            return acc
        """,
        (X,),
    ),
}


@pytest.mark.parametrize("device", ("cpu", "cpu-serial", "gpu-emulated"))
@pytest.mark.parametrize("name", sorted(DECLINED))
def test_uses_where_int_and_float_differ_run_python(name, device):
    source, args = DECLINED[name]
    fn = define(source)
    _run.reset_last_runs()
    assert outcome(fn, args, device) == outcome(fn, args)
    got = statuses()
    assert got and all(s != "ok" for s, _ in got), got


def test_a_huge_int_before_the_loop_is_not_turned_into_a_float():
    fn = define(CASES["input_int_with_python_floats"][0])
    for start in (2**53 + 1, -(2**60)):
        _run.reset_last_runs()
        assert outcome(fn, (X, start), "cpu") == outcome(fn, (X, start))
        assert all(s != "ok" for s, _ in statuses())
