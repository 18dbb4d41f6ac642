"""More of the user's functions inlined into a nest (``_inline``), each
checked against CPython on every device (``differential.check``: return
value and type, arrays bit for bit, exception and message, variables after
the loop through the return value), with the ways each must decline:

- a function known only when the loop runs: a parameter ``f``, a nested
  ``def``, a lambda, held by a local or a global (``_inline.LazyNest``);
- a row of a 2-D array passed for an array parameter (``distance(points[i],
  points[j])``);
- ``return`` inside a loop of an inlined function;
- ``return`` inside a nest of the function being run (``is_sorted``).
"""

import contextlib
import io
import math
import textwrap

import numpy as np
import pytest

import loopscope
from corpus import numba_examples, scientific
from differential import DEVICES, check, outcome, parallel_loops, same, use_temporary_cache  # noqa: F401
from loopscope import _rewrite, _run
from nestgen import make_function


def define(source, name="f", **namespace):
    return make_function(source, name, namespace=namespace)


def reasons(fn, args, device="cpu"):
    """The sentences of the nests that ran as Python, from their records
    (the front end's reason, or the inliner's when it declined first), and
    of the nests declined when ``fn`` was rewritten."""
    _, nests = _rewrite.compile_function(fn, lambda nest_id, env: None)
    out = [rec.decline.reason for rec in nests if rec.declined and rec.lazy is None]
    _run.reset_last_runs()
    outcome(fn, args, device)
    for nest_id, r in _run.last_runs().items():
        rec = _rewrite.NESTS.get(nest_id)
        if rec is not None and rec.declined and rec.decline is not None:
            out.append(rec.decline.reason)
        elif r["status"] != "ok":
            out.append(r["reason"])
    return out


def statuses(records):
    return {device: [r["status"] for r in recs] for device, recs in records.items()}


# --- 1. functions known only when the loop runs ---------------------------------------

INTEGRATE = """
def integrate(f, a, b, n):
    h = (b - a) / n
    s = 0.0
    for i in range(n):
        s += f(a + (i + 0.5) * h)
    return s * h, i

def sq(x):
    return x * x

cube = lambda x: x * x * x

def bumpy(x, k=3):
    if x > 0.5:
        return x * k
    return 1.0 / (x - 0.25)
"""


@pytest.mark.parametrize("which", ["sq", "cube", "bumpy", "math.sin", "math.exp"])
def test_a_function_passed_as_a_parameter_is_inlined_for_its_value(which):
    fn = define(INTEGRATE, "integrate")
    f = eval(which, {"math": math}, fn.__globals__)
    check(fn, lambda: (f, 0.0, 1.0, 64))


def test_the_same_loop_compiled_for_several_functions_gives_each_its_own_results():
    fn = define(INTEGRATE, "integrate")
    g = fn.__globals__
    for f in (g["sq"], g["cube"], g["sq"], math.sin, g["cube"]):
        check(fn, lambda: (f, 0.0, 1.0, 40), devices=("cpu", "cpu-serial"))


def test_an_error_inside_a_function_passed_in_is_pythons():
    fn = define(INTEGRATE, "integrate")
    # bumpy divides by zero at x == 0.25: the native run stops, Python raises.
    check(fn, lambda: (fn.__globals__["bumpy"], 0.0, 0.5, 4), native=False)


def test_the_corpus_helpers_defined_inside_the_function():
    for device, recs in check(scientific.simpson, lambda: (0.0, 1.0, 200)).items():
        assert device == "auto" or [r["status"] for r in recs] == ["ok", "ok"]
    records = check(numba_examples.pairwise_hypot, lambda: (np.linspace(0, 1, 33), np.linspace(2, -1, 33)))
    assert parallel_loops(records, "cpu") == ["i"]


def test_a_function_passed_in_and_a_return_of_a_tuple_from_the_nest():
    fn = define(
        """
        def f(pred, a):
            for i in range(a.shape[0]):
                if pred(a[i]):
                    return i, a[i]
            return None

        def negative(x):
            return x < 0.0

        def big(x):
            return x > 2.5
        """
    )
    for name in ("negative", "big", "negative"):
        check(fn, lambda: (fn.__globals__[name], np.array([1.0, 3.0, -2.0, 0.5])))
    check(fn, lambda: (fn.__globals__["big"], np.array([1.0, 0.0])))


def test_a_nested_def_and_a_local_lambda():
    fn = define(
        """
        def f(a, out, scale):
            def shift(x, d=1.5):
                return x + d
            twice = lambda x: 2.0 * x
            for i in range(a.shape[0]):
                out[i] = twice(shift(a[i])) * scale
            return i
        """
    )
    check(fn, lambda: (np.linspace(-1, 1, 17), np.zeros(17), 3.0))


def test_a_local_name_is_not_the_global_function_of_the_same_name():
    fn = define(
        """
        def g(x):
            return x - 100.0

        inc = lambda x: x + 1.0

        def f(a, out, g):
            for i in range(a.shape[0]):
                out[i] = g(a[i])
        """
    )
    check(fn, lambda: (np.arange(5.0), np.zeros(5), fn.__globals__["inc"]))
    check(fn, lambda: (np.arange(5.0), np.zeros(5), fn.__globals__["g"]))


def test_a_function_bound_after_the_loop_raises_pythons_error():
    fn = define(
        """
        def f(a, out):
            for i in range(a.shape[0]):
                out[i] = g(a[i])
            g = abs
        """
    )
    check(fn, lambda: (np.arange(3.0), np.zeros(3)), native=False)


@pytest.mark.parametrize(
    "source, why",
    [
        (
            """
            def f(a, out, k):
                def scale(x):
                    return k * x
                for i in range(a.shape[0]):
                    out[i] = scale(a[i])
            """,
            "reads variables of an enclosing function (k)",
        ),
        (
            """
            def f(a, out, k):
                for i in range(a.shape[0]):
                    out[i] = k(a[i])
            """,
            "k is a lambda defined in another module, whose names the loop cannot read",
        ),
    ],
)
def test_what_cannot_be_inlined_when_the_loop_runs_is_python_with_a_reason(source, why):
    fn = define(source)
    other = make_function("f = lambda x: x * 2.0\n", "f")
    make = lambda: (np.arange(4.0), np.zeros(4), other if "k(a[i])" in source else 2.0)  # noqa: E731
    check(fn, make, native=False)
    assert any(why in r for r in reasons(fn, make())), reasons(fn, make())


# --- 2. rows of an array passed for array parameters ----------------------------------

ROWS = """
def distance(a, b):
    s = 0.0
    for k in range(a.shape[0]):
        s += (a[k] - b[k]) ** 2
    return math.sqrt(s)

def distance_len(a, b):
    s = 0.0
    for k in range(len(a)):
        t = a[k] - b[k]
        s += t * t
    return s

def f(points, out):
    n = points.shape[0]
    for i in range(n):
        for j in range(n):
            out[i, j] = distance(points[i], points[j]) + distance_len(points[j], points[i])
    return i, j
"""


def test_rows_passed_to_a_helper_are_read_as_elements_of_the_array():
    fn = define(ROWS)
    records = check(fn, lambda: (np.random.RandomState(1).random((9, 3)), np.zeros((9, 9))))
    assert parallel_loops(records, "cpu") == ["i"]
    check(numba_examples.distance_matrix_helper, lambda: (np.random.RandomState(2).random((7, 4)),))


def test_a_helper_writes_through_the_row_into_the_array():
    fn = define(
        """
        def scale(r, c):
            for k in range(len(r)):
                r[k] = r[k] * c

        def f(p, w):
            for i in range(p.shape[0]):
                scale(p[i], w[i])
        """
    )
    check(fn, lambda: (np.arange(12.0).reshape(4, 3), np.array([1.0, -2.0, 0.5, 3.0])))


PICK = """
def pick(a, flag):
    if flag:
        return a[0]
    return 0.5

def f(p, out, off):
    for i in range(out.shape[0]):
        out[i] = pick(p[i + off], i % 2 == 1)
"""


def test_a_row_out_of_range_raises_at_the_call_as_in_python():
    fn = define(PICK)
    check(fn, lambda: (np.arange(12.0).reshape(4, 3), np.zeros(4), 0))
    # p[4] raises IndexError at the call, though pick(.., False) reads none of it.
    check(fn, lambda: (np.arange(12.0).reshape(4, 3), np.zeros(4), 1), native=False)
    check(fn, lambda: (np.arange(12.0).reshape(4, 3), np.zeros(4), -5), native=False)


@pytest.mark.parametrize(
    "make, why",
    [
        (lambda: (np.arange(12.0), np.zeros(4), 0), "which has 1 dimension(s); the loop compiles for 2"),
        (lambda: (np.zeros((4, 2, 2)), np.zeros(4), 0), "which has 3 dimension(s); the loop compiles for 2"),
        (lambda: (np.zeros((5, 0)), np.zeros(4), 0), "which are empty"),
        (lambda: ([[1.0]] * 4, np.zeros(4), 0), "which is not a NumPy array"),
    ],
)
def test_rows_of_an_array_of_other_dimensions_run_python_with_a_reason(make, why):
    fn = define(PICK)
    check(fn, make, native=False)
    assert any(why in r for r in reasons(fn, make())), reasons(fn, make())


# --- 3. return inside a loop of an inlined function -----------------------------------

ESCAPE = """
def escape(cr, ci, max_iter):
    zr = zi = 0.0
    for n in range(max_iter):
        if zr * zr + zi * zi > 4.0:
            return n
        zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
    return max_iter

def f(image, max_iter):
    h, w = image.shape
    for y in range(h):
        for x in range(w):
            image[y, x] = escape(-2.0 + 3.0 * x / w, -1.0 + 2.0 * y / h, max_iter)
    return y, x
"""


def test_an_escape_time_helper_returning_from_its_loop():
    fn = define(ESCAPE)
    records = check(fn, lambda: (np.zeros((12, 18), np.int64), 40))
    assert parallel_loops(records, "cpu") == ["y"]
    assert parallel_loops(records, "gpu-emulated") == ["y, x"]


HELPERS = """
def first_pair(a, t, m):
    for k in range(m):
        for l in range(m):
            if a[k] + a[l] > t:
                return k * 10 + l
    return -1

def has_negative(a, i):
    for k in range(a.shape[1]):
        if a[i, k] < 0:
            return True
    return False

def halvings(x):
    n = 0
    while True:
        if x < 1.0:
            return n
        x = x / 2.0
        n += 1

def last_below(a, t):
    for k in range(a.shape[0]):
        if a[k] >= t:
            break
    else:
        return a.shape[0] - 1
    return k - 1
"""


@pytest.mark.parametrize(
    "body, make",
    [
        (
            "out[i] = first_pair(a, i, a.shape[0])",
            lambda: (np.arange(5.0), np.zeros(12)),
        ),
        (
            "out[i] = 1.0 if has_negative(m, i) else 0.0",
            lambda: (np.array([[1.0, 2.0], [3.0, -1.0], [-2.0, 0.0], [0.0, 0.0]]), np.zeros(4)),
        ),
        ("out[i] = halvings(a[i] * 7.0)", lambda: (np.linspace(0.0, 30.0, 11), np.zeros(11, np.int64))),
    ],
)
def test_returns_from_inside_the_loops_of_a_helper(body, make):
    m_or_a = "m" if "(m," in body else "a"
    fn = define(HELPERS + f"\ndef f({m_or_a}, out):\n    for i in range(out.shape[0]):\n        {body}\n    return i\n")
    check(fn, make)


@pytest.mark.parametrize(
    "callee, why",
    [
        ("last_below(a, 2.5)", "both breaks out of a loop and returns from inside it"),
        ("maybe(a, i)", "may end without returning a value"),
    ],
)
def test_helpers_whose_returns_cannot_be_lowered(callee, why):
    fn = define(
        HELPERS
        + f"""
def maybe(a, i):
    for k in range(a.shape[0]):
        if a[k] > i:
            return k

def f(a, out):
    for i in range(out.shape[0]):
        out[i] = {callee}
"""
    )
    make = lambda: (np.arange(5.0), np.zeros(3))  # noqa: E731
    check(fn, make, native=False)
    assert any(why in r for r in reasons(fn, make())), reasons(fn, make())


# --- 4. return inside a nest of the function being run --------------------------------


def test_is_sorted_returns_from_inside_its_loop():
    for make in (
        lambda: (np.sort(np.random.RandomState(3).random(200)),),
        lambda: (np.random.RandomState(3).random(200),),
        lambda: (np.array([1.0]),),
        lambda: (np.array([]),),
    ):
        check(numba_examples.is_sorted, make)


RETURNS = """
def find(a, t):
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            if a[i, j] > t:
                return i * 100 + j
    return -1, i, j

def first_value(a, t):
    for i in range(a.shape[0]):
        if a[i] > t:
            return a[i]
    return None

def fill_until_negative(a, out):
    for i in range(a.shape[0]):
        if a[i] < 0:
            return
        out[i] = a[i] * 2
    out[0] = 99.0

def find_pair(a, t):
    s = 0.0
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            s += a[i, j]
            if s > t:
                return i, j, s
    return -1, -1, s

def first_negative(a):
    for x in a:
        if x < 0:
            return x
    return 0.0

def returns_in_else(a):
    for i in range(a.shape[0]):
        for j in range(3):
            if a[i] == j:
                break
        else:
            return i
    return -1
"""


@pytest.mark.parametrize(
    "name, make",
    [
        ("find", lambda: (np.arange(12.0).reshape(3, 4), 6.5)),
        ("find", lambda: (np.arange(12.0).reshape(3, 4), 60)),
        ("find_pair", lambda: (np.arange(12.0).reshape(3, 4), 20.0)),
        ("find_pair", lambda: (np.arange(12.0).reshape(3, 4), 1000.0)),
        ("first_value", lambda: (np.linspace(0, 1, 9), 0.3)),
        ("first_value", lambda: (np.arange(9, dtype=np.int32), 4)),
        ("fill_until_negative", lambda: (np.array([1.0, 2.0, -1.0, 3.0]), np.zeros(4))),
        ("fill_until_negative", lambda: (np.array([1.0, 2.0, 1.0, 3.0]), np.zeros(4))),
        ("first_negative", lambda: (np.array([3.0, 1.0, -2.0, -7.0]),)),
        ("first_negative", lambda: (np.array([3.0, 1.0]),)),
        ("returns_in_else", lambda: (np.array([0, 1, 2, 7, 1]),)),
        ("returns_in_else", lambda: (np.array([0, 1, 2]),)),
    ],
)
def test_a_return_inside_the_nest_returns_pythons_value(name, make):
    check(define(RETURNS, name), make)


def test_the_variables_written_before_a_return_are_pythons():
    fn = define(
        """
        def f(a):
            s = 0.0
            def later():
                return s * 1000 + i
            for i in range(a.shape[0]):
                s += a[i]
                if s > 3.0:
                    return later()
            return -1.0
        """
    )
    # later() reads s and i after the native run returned: they are written back first.
    assert outcome(fn, (np.arange(6.0),), "cpu") == outcome(fn, (np.arange(6.0),), None)
    fn2 = define(
        """
        def f(a, out):
            s = 0.0
            try:
                pass
            finally:
                pass
            for i in range(a.shape[0]):
                s += a[i]
                out[0] = s
                if s > 3.0:
                    return s * 1000 + i
            return s
        """
    )
    check(fn2, lambda: (np.arange(6.0), np.zeros(1)))
    check(fn2, lambda: (np.zeros(6), np.zeros(1)))


@pytest.mark.parametrize(
    "source, why",
    [
        (
            """
            def f(a):
                try:
                    for i in range(a.shape[0]):
                        if a[i] < 0:
                            return i
                finally:
                    a[0] = 7.0
                return -1
            """,
            "'return' inside a loop within a try statement is not supported",
        ),
        (
            """
            import contextlib

            def f(a):
                with contextlib.nullcontext():
                    for i in range(a.shape[0]):
                        if a[i] < 0:
                            return i
                return -1
            """,
            "'return' inside a loop within a with statement is not supported",
        ),
        (
            """
            def f(a):
                for i in range(a.shape[0]):
                    if a[i] < 0:
                        return i
                    if a[i] > 5:
                        return
                return -1
            """,
            "the loop returns a value in one place and nothing in another",
        ),
        (
            """
            def f(a):
                for i in range(a.shape[0]):
                    if a[i] < 0:
                        return i, a[i]
                    if a[i] > 5:
                        return i
                return -1
            """,
            "the loop returns tuples of different lengths, or a tuple and a single value",
        ),
    ],
)
def test_returns_that_stay_python(source, why):
    fn = define(source)
    make = lambda: (np.array([1.0, 2.0, -3.0, 4.0]),)  # noqa: E731
    check(fn, make, native=False)
    _, nests = _rewrite.compile_function(fn, lambda nest_id, env: None)
    assert [rec.decline.reason for rec in nests] == [why]


def test_returns_in_generators_and_async_functions_stay_python():
    gen = define(
        """
        def f(a):
            for i in range(a.shape[0]):
                if a[i] < 0:
                    return
            yield i
        """
    )
    for device in DEVICES:
        assert list(loopscope.run(gen, np.arange(3.0), device=device)) == list(gen(np.arange(3.0)))
    _, nests = _rewrite.compile_function(gen, lambda nest_id, env: None)
    assert [rec.decline.reason for rec in nests] == ["'return' inside a loop of a generator is not supported"]
    coro = define(
        """
        async def f(a):
            for i in range(a.shape[0]):
                if a[i] < 0:
                    return i
            return -1
        """
    )
    _, nests = _rewrite.compile_function(coro, lambda nest_id, env: None)
    assert [rec.decline.reason for rec in nests] == ["'return' inside a loop of an async function is not supported"]


def test_explain_and_estimate_read_a_nest_compiled_when_it_runs():
    fn = define(INTEGRATE, "integrate")
    text = repr(loopscope.explain(fn, fn.__globals__["sq"], 0.0, 1.0, 16))
    assert "$" not in text
    loopscope.estimate(fn, fn.__globals__["cube"], 0.0, 1.0, 16)


# --- in the kernel -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def shell():
    from IPython.testing import globalipapp

    ip = globalipapp.start_ipython() or globalipapp.get_ipython()
    with contextlib.redirect_stdout(io.StringIO()):
        ip.run_line_magic("load_ext", "loopscope")
        ip.run_line_magic("loopscope", "cpu quiet")
    yield ip
    with contextlib.redirect_stdout(io.StringIO()):
        ip.run_line_magic("loopscope", "auto full")


def _cells(shell, cells):
    shell.user_ns.clear()
    shell.init_user_ns()
    _run.reset_last_runs()
    for c in cells:
        r = shell.run_cell(textwrap.dedent(c), silent=True)
        assert r.error_in_exec is None and r.error_before_exec is None, r
    return shell.user_ns


def test_a_lambda_bound_in_the_same_cell_and_a_return_in_a_cells_function(shell):
    ns = _cells(
        shell,
        [
            """
            import numpy as np
            f = lambda x: x * x + 1.0
            a = np.linspace(0.0, 2.0, 20)
            out = np.zeros(20)
            for i in range(20):
                out[i] = f(a[i])
            """,
            """
            def is_sorted(a):
                for i in range(len(a) - 1):
                    if a[i] > a[i + 1]:
                        return False
                return True
            r1, r2 = is_sorted(a), is_sorted(out[::-1].copy())
            """,
        ],
    )
    assert same(ns["out"], ns["a"] * ns["a"] + 1.0) and ns["i"] == 19
    assert ns["r1"] is True and ns["r2"] is False
    assert [r["status"] for r in _run.last_runs().values()] == ["ok", "ok"], _run.last_runs()
