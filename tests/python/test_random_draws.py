"""Random numbers in a nest (``_draws``): drawn before the loop from the
user's own generator, in Python's order, so that values, the generator's
state afterwards and exceptions are CPython's on every device, and the loop
can still run in parallel. Draws the engine cannot count beforehand decline
with a sentence, and a decline, a trap, ``explain`` or ``estimate`` leave the
generator where Python would have it.
"""

import random

import numpy as np
import pytest

import loopscope
from nestgen import make_function
from loopscope import _run

DEVICES = ("cpu", "cpu-serial", "gpu-emulated", "auto")


def define(source):
    return make_function(source, "f", namespace={"random": random})


def outcome(fn, args, device=None, seed=12345):
    """Value, arrays, exception, and the next numbers both generators give."""
    args = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    random.seed(seed)
    np.random.seed(seed)
    try:
        result = loopscope.run(fn, *args, device=device) if device else fn(*args)
        error = None
    except Exception as exc:
        result, error = None, (type(exc).__name__, str(exc))
    arrays = [(a.dtype.str, a.tobytes()) for a in args if isinstance(a, np.ndarray)]
    return type(result).__name__, repr(result), error, arrays, random.random(), np.random.random()


def statuses():
    return [(v["status"], v.get("reason") or "", v.get("parallel_loops") or "") for v in _run.last_runs().values()]


CASES = {
    "monte_carlo_pi": (
        """
        def f(n):
            inside = 0
            for i in range(n):
                x = random.random()
                y = random.random()
                if x * x + y * y <= 1.0:
                    inside += 1
            return 4.0 * inside / n, x, y
        """,
        [(2000,), (1,)],
        "i",
    ),
    "numpy_generators": (
        """
        def f(n, out):
            for i in range(n):
                u = np.random.random() + np.random.rand() * 0.5
                out[i] = np.random.uniform(-1.0, 2.0) * u + np.random.random_sample()
            return u
        """,
        [(300, np.zeros(300))],
        "i",
    ),
    "uniform_with_int_bounds": (
        """
        def f(n, out):
            for i in range(n):
                out[i] = random.uniform(2, 5) + np.random.uniform(-3, 3)
        """,
        [(200, np.zeros(200))],
        "i",
    ),
    "draws_in_the_inner_loop": (
        """
        def f(m, n, out):
            for i in range(1, m, 2):
                for j in range(n - 1, -1, -1):
                    out[i, j] = random.random() * i + j
            return i, j
        """,
        [(7, 5, np.zeros((7, 5))), (1, 5, np.zeros((7, 5)))],
        "i",
    ),
    "a_random_walk_in_order": (
        """
        def f(n, path):
            x = 0.0
            for i in range(n):
                x += random.uniform(-1.0, 1.0)
                path[i] = x
            return x
        """,
        [(500, np.zeros(500))],
        "",
    ),
    "no_iteration": (
        """
        def f(n):
            s = 0.0
            for i in range(n):
                s += random.random()
            return s
        """,
        [(0,)],
        None,
    ),
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_draws_are_pythons_values_and_leave_the_generator_as_python(name, device):
    source, arg_sets, parallel = CASES[name]
    fn = define(source)
    for args in arg_sets:
        _run.reset_last_runs()
        assert outcome(fn, args, device) == outcome(fn, args)
        got = statuses()
        if device in ("cpu", "cpu-serial", "gpu-emulated"):
            assert [s for s, _, _ in got] == ["ok"], got
        if device == "cpu" and parallel is not None:
            assert got[0][2] == parallel, got


DECLINED = {
    "a_draw_under_a_condition": (
        """
        def f(n, out):
            for i in range(n):
                if i % 2 == 0:
                    out[i] = random.random()
        """,
        "under a condition",
    ),
    "draws_in_two_loops": (
        """
        def f(n, out):
            for i in range(n):
                out[i] = random.random()
                for j in range(3):
                    out[i] += random.random()
        """,
        "more than one loop",
    ),
    "a_triangular_loop": (
        """
        def f(n, out):
            for i in range(n):
                for j in range(i):
                    out[i] += random.random()
        """,
        "trip count changes inside the nest",
    ),
    "a_conditional_expression": (
        """
        def f(n, out):
            for i in range(n):
                out[i] = random.random() if i > 2 else 0.0
        """,
        "conditional expression",
    ),
    "an_array_of_draws": (
        """
        def f(n, out):
            for i in range(n):
                out[i] = np.random.random(1)[0]
        """,
        None,
    ),
}


@pytest.mark.parametrize("name", sorted(DECLINED))
def test_draws_that_cannot_be_counted_run_python_with_a_reason(name):
    source, reason = DECLINED[name]
    fn = define(source)
    args = (6, np.zeros(6))
    for device in DEVICES:
        _run.reset_last_runs()
        assert outcome(fn, args, device) == outcome(fn, args)
    if reason:
        from loopscope import _rewrite

        _, nests = _rewrite.compile_function(fn, lambda nest_id, env: None)
        assert any(r.declined and reason in r.decline.reason for r in nests), [r.decline for r in nests]


@pytest.mark.parametrize("device", DEVICES)
def test_an_error_after_some_draws_is_pythons_with_pythons_generator(device):
    fn = define(
        """
        def f(n, out):
            for i in range(n):
                out[i] = random.random() / (i - 3)
        """
    )
    _run.reset_last_runs()
    want = outcome(fn, (6, np.zeros(6)))
    assert want[2] == ("ZeroDivisionError", "float division by zero")
    assert outcome(fn, (6, np.zeros(6)), device) == want


@pytest.mark.parametrize("device", DEVICES)
def test_a_replaced_generator_runs_python(device):
    fn = define(
        """
        def f(n, out):
            for i in range(n):
                out[i] = random.random()
        """
    )
    original = random.random
    try:
        random.random = lambda: 0.25
        _run.reset_last_runs()
        assert outcome(fn, (5, np.zeros(5)), device) == outcome(fn, (5, np.zeros(5)))
        assert all(s != "ok" for s, _, _ in statuses())
    finally:
        random.random = original
    fn.__globals__["random"] = np.random  # `random` is now NumPy's module: its random() is another stream
    _run.reset_last_runs()
    assert outcome(fn, (5, np.zeros(5)), device) == outcome(fn, (5, np.zeros(5)))
    assert all(s != "ok" for s, _, _ in statuses())


def test_explain_and_estimate_do_not_move_the_generator():
    fn = define(CASES["monte_carlo_pi"][0])
    random.seed(99)
    loopscope.explain(fn, 1000)
    after_explain = random.random()
    random.seed(99)
    loopscope.estimate(fn, 1000)
    after_estimate = random.random()
    random.seed(99)
    assert after_explain == after_estimate == random.random()
