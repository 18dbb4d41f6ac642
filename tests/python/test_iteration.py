"""Loops that do not iterate a ``range``: ``for x in a``, ``enumerate``,
``reversed`` (``_iteration``), lowered to index loops in the copy the front
end reads. Each case runs under every device against a plain call (values and
types returned, arrays, exceptions, the loop variables afterwards); loops that
only look like these (a list, a 2-D array, a shadowed ``enumerate``) must run
as Python, with a reason where the engine saw them.
"""

import numpy as np
import pytest

import loopscope
from nestgen import make_function
from loopscope import _records, _run

DEVICES = ("cpu", "cpu-serial", "gpu-emulated", "auto")


def define(source, name="f", **namespace):
    """The function ``name`` of ``source`` (nestgen.make_function), its
    module globals holding ``namespace``."""
    return make_function(source, name, namespace=namespace)


def outcome(fn, args, device=None):
    args = [a.copy() if isinstance(a, np.ndarray) else list(a) if isinstance(a, list) else a for a in args]
    try:
        result = loopscope.run(fn, *args, device=device) if device else fn(*args)
        error = None
    except Exception as exc:
        result, error = None, (type(exc).__name__, str(exc))
    arrays = [(a.dtype.str, a.shape, a.tobytes()) for a in args if isinstance(a, np.ndarray)]
    return type(result).__name__, repr(result), error, arrays


def runs():
    return [(v["status"], v.get("reason") or "", v.get("parallel_loops") or "") for v in _run.last_runs().values()]


V = np.array([0.5, -1.0, 2.5, 4.0, -3.0, 1.5])
E = np.zeros(0)

CASES = {
    "sum_of_elements": (
        """
        def f(a, out):
            for x in a:
                out[0] += x
            return x
        """,
        [(V, np.zeros(1)), (E, np.zeros(1))],
        "",
    ),
    "enumerate": (
        """
        def f(a, out):
            for i, x in enumerate(a):
                out[i] = x * 2.0 + i
            return i, x
        """,
        [(V, np.zeros(6)), (E, np.zeros(0))],
        "i",
    ),
    "enumerate_with_start": (
        """
        def f(a, out):
            for k, x in enumerate(a, 1):
                out[k - 1] = x * k
            for k, x in enumerate(a, -2):
                out[k + 2] += x - k
            return k
        """,
        [(V, np.zeros(6))],
        "k",
    ),
    "reversed_array_and_ranges": (
        """
        def f(a, out):
            acc = 0.0
            for x in reversed(a):
                acc = acc * 0.5 + x
            for i in reversed(range(a.shape[0])):
                out[i] = acc + i
            for i in reversed(range(1, 4)):
                out[i] -= 1.0
            return acc, i, x
        """,
        [(V, np.zeros(6))],
        None,
    ),
    "inner_loop_over_an_array": (
        """
        def f(a, w, out):
            for i in range(a.shape[0]):
                s = 0.0
                for c in w:
                    s += c * a[i]
                out[i] = s
            return s, c
        """,
        [(V, np.array([0.25, 0.5, 0.25]), np.zeros(6)), (V, E, np.zeros(6))],
        "i",
    ),
    "zip_of_two_arrays": (
        """
        def f(a, b, out):
            for x, y in zip(a, b):
                out[0] += x * y
            return x, y
        """,
        [(V, V[::-1].copy(), np.zeros(1)), (V[:2].copy(), V, np.zeros(1)), (E, V, np.zeros(1))],
        "",
    ),
    "zip_inside_a_parallel_loop": (
        """
        def f(w, v, out):
            for i in range(out.shape[0]):
                for c, x in zip(w, v):
                    out[i] += c * x + i
            return c
        """,
        [(V, np.ones(4), np.zeros(3))],
        "i",
    ),
    "a_list": (
        """
        def f(a, out):
            for x in a:
                out[0] += x
            return x
        """,
        [([1.0, 2.0], np.zeros(1)), ((3.5, -1.0, 2.0), np.zeros(1))],
        None,
    ),
    "zip_with_a_list": (
        """
        def f(a, b, out):
            for x, y in zip(a, b):
                out[0] += x * y
            return x, y
        """,
        [([1.0, 2.0], np.ones(2), np.zeros(1)), ([1, 2, 3], V, np.zeros(1))],
        None,
    ),
    "max_and_argmax": (
        """
        def f(a):
            best, where = -1e300, -1
            for i, x in enumerate(a):
                if x > best:
                    best, where = x, i
            return best, where
        """,
        [(V,), (E,)],
        "",
    ),
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_loops_over_arrays_give_pythons_results(name, device):
    source, arg_sets, parallel = CASES[name]
    fn = define(source)
    for args in arg_sets:
        _run.reset_last_runs()
        assert outcome(fn, args, device) == outcome(fn, args)
        got = runs()
        assert got, "no nest was intercepted"
        if device in ("cpu", "cpu-serial"):
            assert all(s == "ok" for s, _, _ in got), got
        if device == "cpu" and parallel is not None and len(args[0]):
            assert got[0][2] == parallel, got
        assert not any("$" in r or "$" in p for _, r, p in got), got


# (a list or tuple of numbers runs natively: test_list_reads.py)
LOOKALIKES = {
    "a_list_of_strings": (
        "def f(a, out):\n    for x in a:\n        out[0] += len(x)\n    return x\n",
        (["ab", "c"], np.zeros(1)),
    ),
    # (a row used only as an array, row[0], runs natively: test_iteration_forms.py)
    "rows_of_a_2d_array_used_whole": (
        "def f(a, out):\n    for row in a:\n        out[0] += row[0]\n        r = row\n    return r\n",
        (np.ones((3, 2)), np.zeros(1)),
    ),
    "a_2d_array_as_elements": (
        "def f(a, out):\n    for x in a:\n        out[0] += 1.0\n    return x\n",
        (np.ones((3, 2)), np.zeros(1)),
    ),
    "a_0d_array": ("def f(a, out):\n    for x in a:\n        out[0] += x\n", (np.array(3.0), np.zeros(1))),
    "zip_with_a_list_of_mixed_numbers": (
        "def f(a, b, out):\n    for x, y in zip(a, b):\n        out[0] += x * y\n",
        ([1.0, 2], np.ones(2), np.zeros(1)),
    ),
    "a_python_scalar": ("def f(a, out):\n    for x in a:\n        out[0] += x\n", (3.0, np.zeros(1))),
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", sorted(LOOKALIKES))
def test_what_is_not_an_array_of_elements_runs_python(name, device):
    source, args = LOOKALIKES[name]
    fn = define(source)
    _run.reset_last_runs()
    assert outcome(fn, args, device) == outcome(fn, args)
    assert all(s != "ok" and (r or s == "python") for s, r, _ in runs()), runs()


@pytest.mark.parametrize("device", DEVICES)
def test_a_shadowed_enumerate_runs_python_with_its_reason(device):
    fn = define(
        """
        def f(a, out):
            for i, x in enumerate(a):
                out[i] = x
        """,
        enumerate=lambda a: [(0, 42.0)],
    )
    _run.reset_last_runs()
    assert outcome(fn, (V, np.zeros(6)), device) == outcome(fn, (V, np.zeros(6)))
    ((status, reason, _),) = runs()
    assert status != "ok" and "not Python's built-in enumerate" in reason


def test_the_hidden_index_is_shown_as_the_loop_variable():
    assert _records.shown("$index_of_x carries a dependence; a[$index_of_x]") == "x carries a dependence; a[x]"
    fn = define(CASES["sum_of_elements"][0])
    report = loopscope.explain(fn, V, np.zeros(1))
    text = repr(report)
    assert "$index_of" not in text and "'var': 'x'" in text
