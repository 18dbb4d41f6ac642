"""The user's own functions called from a nest are inlined (``_inline``).

Every case runs under every device against a plain call (return value,
arrays, exception type and message, the caller's locals afterwards); the
cases that should compile are checked to run natively, and each way a callee
cannot be inlined, or stops being the function that was inlined, must run
the loop as Python with a sentence that says why.
"""

import contextlib
import io
import textwrap

import numpy as np
import pytest

import loopscope
from nestgen import make_function
from loopscope import _inline, _rewrite, _run

DEVICES = ("cpu", "cpu-serial", "gpu-emulated", "auto")


def define(source, name="f", **namespace):
    """The function ``name`` of ``source`` (nestgen.make_function), its
    module globals holding ``namespace``."""
    return make_function(source, name, namespace=namespace)


def outcome(fn, args, device=None):
    args = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    try:
        result = loopscope.run(fn, *args, device=device) if device else fn(*args)
        error = None
    except Exception as exc:
        result, error = None, (type(exc).__name__, str(exc))
    arrays = [(a.dtype.str, a.shape, a.tobytes()) for a in args if isinstance(a, np.ndarray)]
    return repr(result), error, arrays


def runs():
    return {k: (v["status"], v.get("reason") or "", v.get("parallel_loops") or "") for k, v in _run.last_runs().items()}


def check(fn, args, device, native=True):
    _run.reset_last_runs()
    assert outcome(fn, args, device) == outcome(fn, args)
    got = runs()
    assert got, "no nest was intercepted"
    if native and device != "auto":  # auto may choose Python for a small loop
        assert all(s == "ok" for s, _, _ in got.values()), got
    return got


V = np.linspace(-2.0, 3.0, 41)

CASES = {
    "black_scholes_cnd": (
        """
        A1, A2, A3 = 0.31938153, -0.356563782, 1.781477937
        RSQRT2PI = 0.3989422804014327

        def cnd(d):
            k = 1.0 / (1.0 + 0.2316419 * abs(d))
            value = RSQRT2PI * math.exp(-0.5 * d * d) * (k * (A1 + k * (A2 + k * A3)))
            if d > 0:
                value = 1.0 - value
            return value

        def f(s, x, t, out):
            for i in range(s.shape[0]):
                root = math.sqrt(t[i])
                d1 = (math.log(s[i] / x[i]) + 0.5 * t[i]) / (0.3 * root)
                out[i] = s[i] * cnd(d1) - x[i] * cnd(d1 - 0.3 * root)
        """,
        lambda: (np.linspace(5, 30, 50), np.linspace(1, 100, 50), np.linspace(0.25, 10, 50), np.zeros(50)),
        "i",
    ),
    "early_returns": (
        """
        def sign(x):
            if x > 0:
                return 1.0
            elif x < 0:
                return -1.0
            return 0.0

        def f(a, out):
            for i in range(a.shape[0]):
                out[i] = sign(a[i]) * 2 + sign(a[i] - 1.0)
        """,
        lambda: (np.array([-1.0, 0.0, 2.0, 1.0, 0.5]), np.zeros(5)),
        "i",
    ),
    "procedure_writing_an_array": (
        """
        def put(a, i, v, scale=2.0):
            a[i] = v * scale

        def f(a, out):
            for i in range(a.shape[0]):
                put(out, i, a[i])
                put(out, i, out[i], scale=0.5)
        """,
        lambda: (V.copy(), np.zeros(41)),
        "i",
    ),
    "nested_calls_and_keywords": (
        """
        def sq(x):
            return x * x

        def norm2(x, y, w=1.0):
            return sq(x) + w * sq(y)

        def f(a, b, out):
            for i in range(a.shape[0]):
                out[i] = norm2(a[i], y=b[i]) + norm2(b[i], a[i], 0.5)
        """,
        lambda: (V.copy(), V[::-1].copy(), np.zeros(41)),
        "i",
    ),
    "callee_with_a_loop": (
        """
        def distance(p, q, i, j, d):
            s = 0.0
            for k in range(d):
                t = p[i, k] - q[j, k]
                s += t * t
            return math.sqrt(s)

        def f(p, q, out):
            for i in range(p.shape[0]):
                for j in range(q.shape[0]):
                    out[i, j] = distance(p, q, i, j, p.shape[1])
        """,
        lambda: (np.arange(12.0).reshape(4, 3), np.arange(15.0).reshape(5, 3) / 3, np.zeros((4, 5))),
        "i",
    ),
    "integer_helper": (
        """
        def clamp(v, lo, hi):
            return lo if v < lo else (hi if v > hi else v)

        def f(a, out):
            for i in range(a.shape[0]):
                out[i] = clamp(a[i] * 3 - 7, 0, 20)
        """,
        lambda: (np.arange(12, dtype=np.int64), np.zeros(12, dtype=np.int64)),
        "i",
    ),
    "accumulator_through_a_helper": (
        """
        def f2(x):
            return 4.0 / (1.0 + x * x)

        def f(n):
            h = 1.0 / n
            s = 0.0
            for i in range(n):
                s += f2((i + 0.5) * h)
            return s * h
        """,
        lambda: (1000,),
        "",
    ),
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_inlined_functions_give_pythons_results(name, device):
    source, make, parallel = CASES[name]
    fn = define(source)
    got = check(fn, make(), device)
    if device == "cpu":
        assert [p for _, _, p in got.values()] == [parallel], got


ERRORS = {
    "zero_division_inside": (
        """
        def inv(x):
            return 1.0 / x

        def f(a, out):
            for i in range(a.shape[0]):
                out[i] = inv(a[i])
        """,
        lambda: (np.array([1.0, 2.0, 0.0, 4.0]), np.zeros(4)),
    ),
    "index_error_inside": (
        """
        def get(a, i):
            return a[i + 2]

        def f(a, out):
            for i in range(a.shape[0]):
                out[i] = get(a, i)
        """,
        lambda: (np.arange(5.0), np.zeros(5)),
    ),
    "helper_of_a_helper_raises": (
        """
        def g(x):
            return math.sqrt(x)

        def h(x):
            return g(x - 1.0) * 2

        def f(a, out):
            for i in range(a.shape[0]):
                out[i] = h(a[i])
        """,
        lambda: (np.array([3.0, 2.0, 0.5]), np.zeros(3)),
    ),
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_inside_inlined_functions_are_pythons(name, device):
    source, make = ERRORS[name]
    fn = define(source)
    check(fn, make(), device, native=False)


DECLINED = {
    "recursion": (
        """
        def fact(n):
            if n <= 1:
                return 1
            return n * fact(n - 1)

        def f(a, out):
            for i in range(a.shape[0]):
                out[i] = fact(a[i])
        """,
        "fact calls itself",
    ),
    "return_and_break_in_one_loop": (
        """
        def first(a, n):
            for k in range(n):
                if a[k] > 0:
                    return k
                if a[k] < -1:
                    break
            return -1

        def f(a, out):
            for i in range(out.shape[0]):
                out[i] = first(a, i)
        """,
        "first both breaks out of a loop and returns from inside it",
    ),
    "may_return_none": (
        """
        def pos(x):
            if x > 0:
                return x

        def f(a, out):
            for i in range(a.shape[0]):
                out[i] = pos(a[i])
        """,
        "may end without returning a value",
    ),
    "star_args": (
        """
        def add(*xs):
            return xs[0] + xs[1]

        def f(a, out):
            for i in range(a.shape[0]):
                out[i] = add(a[i], 1.0)
        """,
        "*args",
    ),
    "closure": (
        """
        def make(k):
            def scale(x):
                return k * x
            return scale
        scale = make(3.0)

        def f(a, out):
            for i in range(a.shape[0]):
                out[i] = scale(a[i])
        """,
        "reads variables of an enclosing function",
    ),
    "global_shadowed_by_a_local_of_the_caller": (
        """
        k = 2.0
        def scale(x):
            return k * x

        def f(a, out):
            k = 5.0
            for i in range(a.shape[0]):
                out[i] = scale(a[i]) + k
        """,
        "reads the global k, which is a local name where the loop is",
    ),
}


@pytest.mark.parametrize("name", sorted(DECLINED))
def test_what_cannot_be_inlined_runs_python_with_a_reason(name):
    source, reason = DECLINED[name]
    fn = define(source)
    args = (np.array([1.0, -2.0, 3.0, 0.0]), np.zeros(4))
    for device in DEVICES:
        assert outcome(fn, args, device) == outcome(fn, args)
    _, nests = _rewrite.compile_function(fn, lambda nest_id, env: None)
    assert any(rec.declined and reason in rec.decline.reason for rec in nests), [rec.decline for rec in nests]


def test_a_function_of_another_module_is_not_inlined():
    helper = define("def g(x):\n    return x + 1.0\n", name="g")
    fn = define(
        """
        def f(a, out):
            for i in range(a.shape[0]):
                out[i] = g(a[i])
        """,
        g=helper,
    )
    args = (V.copy(), np.zeros(41))
    assert outcome(fn, args, "cpu") == outcome(fn, args)
    _, (rec,) = _rewrite.compile_function(fn, lambda nest_id, env: None)
    assert rec.declined and "defined in another module" in rec.decline.reason


@pytest.mark.parametrize("device", DEVICES)
def test_a_callee_replaced_after_the_rewrite_runs_python_with_its_reason(device):
    fn = define(
        """
        def g(x):
            return x + 1.0

        def f(a, out):
            for i in range(a.shape[0]):
                out[i] = g(a[i])
        """
    )
    args = (V.copy(), np.zeros(41))
    check(fn, args, device)
    g = fn.__globals__["g"]
    fn.__globals__["g"] = lambda x: x - 1.0
    got = check(fn, args, device, native=False)
    assert any("g is no longer the function g that was inlined" in r for _, r, _ in got.values()), got
    fn.__globals__["g"] = g
    g.__code__ = (lambda x: x * 3.0).__code__
    got = check(fn, args, device, native=False)
    assert any("the code or the defaults of g changed" in r for _, r, _ in got.values()), got


def test_no_local_of_an_inlined_function_appears_in_the_callers_locals():
    fn = define(
        """
        def g(x):
            t = x * 2.0
            return t + 1.0

        def f(a):
            s = 0.0
            for i in range(a.shape[0]):
                s += g(a[i])
            return sorted(locals())
        """
    )
    for device in DEVICES:
        assert outcome(fn, (V.copy(),), device) == outcome(fn, (V.copy(),))


def test_the_nest_text_is_the_users_and_the_callee_lines_are_the_call():
    fn = define(
        """
        def g(x):
            t = x * 2.0
            return t + 1.0

        def f(a, out):
            for i in range(a.shape[0]):
                out[i] = g(a[i])
        """
    )
    _, (rec,) = _rewrite.compile_function(fn, lambda nest_id, env: None)
    assert not rec.declined
    assert "g(a[i])" in rec.source and "$" not in rec.source
    assert {s["line"] for s in __import__("_loopscope").analysis_info(rec.id)["statements"]} == {3}
    assert set(rec.callees) == {"g"} and "g" in rec.assumed


def test_module_defs_leaves_out_names_bound_twice():
    import ast

    tree = ast.parse("def a(): pass\ndef b(): pass\ndef b(): pass\nc = 1\ndef c(): pass\n")
    assert sorted(_inline.module_defs(tree)) == ["a"]


# --- in the kernel: a helper defined in the same cell, or in an earlier one ---------------


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


HELPER = """
import math
import numpy as np
def cnd(d):
    v = 0.5 * (1.0 + math.erf(d / math.sqrt(2.0)))
    return v
"""
KERNEL = """
def price(s, out):
    for i in range(s.shape[0]):
        out[i] = s[i] * cnd(s[i] - 1.0)
"""
CALL = """
s = np.linspace(0.0, 3.0, 16); out = np.zeros(16)
price(s, out)
want = np.array([x * 0.5 * (1.0 + math.erf((x - 1.0) / math.sqrt(2.0))) for x in s])
assert np.array_equal(out, want)
"""


@pytest.mark.parametrize("cells", [[HELPER + KERNEL, CALL], [HELPER, KERNEL, CALL], [HELPER + KERNEL + CALL]])
def test_a_helper_of_the_same_or_an_earlier_cell_is_inlined(shell, cells):
    _cells(shell, cells)
    assert [s for s, _, _ in runs().values()] == ["ok"], runs()


def test_a_helper_redefined_in_a_later_cell_runs_python(shell):
    _cells(
        shell,
        [
            HELPER + KERNEL,
            "def cnd(d):\n    return 2.0 * d\n",
            "s = np.linspace(0.0, 3.0, 16); out = np.zeros(16)\nprice(s, out)\n"
            "assert np.array_equal(out, s * (2.0 * (s - 1.0)))\n",
        ],
    )
    from loopscope import _cell

    (entry,) = _cell._state["shown"].values()
    assert "runs as plain Python: cnd is not the function defined with the loop" in entry.report.decision


def test_reports_name_an_inlined_functions_locals_as_the_user_knows_them():
    from loopscope import _records

    fn = define(
        """
        def g(x):
            t = x * 2.0
            return t + 1.0

        def f(a, out):
            s = 0.0
            for i in range(a.shape[0]):
                s += g(a[i])
                out[i] = s
            return s
        """
    )
    report = loopscope.explain(fn, V.copy(), np.zeros(41))
    assert "$" not in repr(report)
    estimate = loopscope.estimate(fn, V.copy(), np.zeros(41))
    assert "$" not in repr(estimate).replace("$schema", "")
    _, (rec,) = _rewrite.compile_function(fn, lambda nest_id, env: None)
    hidden = [n for n in __import__("_loopscope").analysis_info(rec.id)["statements"] if "$" in n["text"]]
    assert hidden and not any("$" in _records.shown(n["text"]) for n in hidden), hidden
    assert _records.shown("$g1_t = $g1_x * 2.0") == "t (in g) = x (in g) * 2.0"
