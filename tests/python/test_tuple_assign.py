"""Tuple assignments inside loop nests (`zr, zi = ...`, `a[i], a[j] = a[j],
a[i]`, `x, a[i] = a[i], x`): every shape runs in CPython and through
loopscope.run on each device, and must give the same return values (with
their types), the same arrays, the same exceptions and the same partial
writes. The front end's hidden temporaries must never reach the user: not
in the function's locals, the kernel's namespace, explain's report or any
sentence. The parallel verdicts are checked with loopscope.explain.
"""

import ast
import json
import math

import numpy as np
import pytest

import _loopscope
import differential
import loopscope
from differential import outcome, same, use_temporary_cache  # noqa: F401
from loopscope import _rewrite, _run


def check(fn, make_args, native=True):
    return differential.check(fn, make_args, native, hidden_words=("tuple1",))


def names_of(local_names):
    # What the function's scope holds at its end: every user name, no other.
    return sorted(k for k in local_names if k != "local_names")


# --- names ---------------------------------------------------------------------


def fib(n):
    a, b = 0, 1
    for i in range(n):
        a, b = b, a + b
    return a, b, i, names_of(locals())


def fib_float(n):
    a, b = 0.0, 1.0
    for i in range(n):
        a, b = b, a + b * 0.5
    return a, b, names_of(locals())


def swap_names(n, x, y):
    for i in range(n):
        x, y = y, x
    return x, y


def rotate3(n):
    a, b, c = 1, 2.5, 3
    for i in range(n):
        a, b, c = b, c, a
    return a, b, c


def rotate4_mixed(n, x):
    p, q, r, s = 1.0, 2.0, 3.0, 4.0
    for i in range(n):
        p, q, r, s = q + x[i], r * 2.0, s - 1.0, p
    return p, q, r, s


def parenthesised(n):
    p, q = 1, 2
    for i in range(n):
        (p, q) = q, p + 1
    for j in range(n):
        [p, q] = [q * 2, p]
    return p, q


def nested(n):
    a, b, c = 1, 2, 3
    for i in range(n):
        (a, b), c = (c, a), b
    return a, b, c


def single(n):
    t = 0
    for i in range(n):
        (t,) = (t + i,)
    return t


def target_then_index(a, n):
    k = 0
    for i in range(n):
        k, a[k] = i, a[k] + 1.0
    return k


def mandel_count(out, maxit):
    h, w = out.shape
    for y in range(h):
        for x in range(w):
            cr = -2.0 + 3.0 * x / w
            ci = -1.2 + 2.4 * y / h
            zr = 0.0
            zi = 0.0
            count = 0
            for k in range(maxit):
                if zr * zr + zi * zi <= 4.0:
                    zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
                    count += 1
            out[y, x] = count
    return y, x


def reductions(x):
    s, c = 0, 0
    lo, hi = x[0], x[0]
    for i in range(x.shape[0]):
        s, c = s + x[i], c + 1
        lo, hi = min(lo, x[i]), max(hi, x[i])
    return s, c, lo, hi


def float_sum_and_count(x):
    s, c = 0.0, 0
    for i in range(x.shape[0]):
        s, c = s + x[i], c + 1
    return s, c


def in_branches(x, out):
    n = x.shape[0]
    for i in range(n):
        u, v = x[i], -x[i]
        if u > 0.5:
            u, v = v, u
        else:
            v, u = u * 2.0, v * 2.0
        out[i] = u - v
    return u, v


def int_float_mix(n):
    x, y = 1, 2.0
    for i in range(n):
        x, y = y, x
    return x, y


@pytest.mark.parametrize(
    "fn, make_args, native",
    [
        (fib, lambda: (40,), True),
        (fib, lambda: (0,), False),  # i is never bound: the return raises
        (fib_float, lambda: (30,), True),
        (swap_names, lambda: (7, 1, 2), True),
        (swap_names, lambda: (6, 1.5, -2.5), True),
        (rotate3, lambda: (10,), False),  # b holds a float, then an int: one type per variable
        (rotate4_mixed, lambda: (9, np.linspace(0, 1, 9)), True),
        (parenthesised, lambda: (5,), True),
        (nested, lambda: (7,), True),
        (single, lambda: (10,), True),
        (target_then_index, lambda: (np.zeros(6), 5), True),
        (mandel_count, lambda: (np.zeros((12, 17), np.int64), 30), True),
        (reductions, lambda: (np.arange(20, dtype=np.int64) % 7,), True),
        (reductions, lambda: (np.linspace(-1, 1, 33),), False),  # s holds an int, then a float
        (float_sum_and_count, lambda: (np.linspace(0, 1, 50),), True),
        (in_branches, lambda: (np.random.default_rng(1).random(40), np.zeros(40)), True),
        (int_float_mix, lambda: (5,), False),
    ],
    ids=lambda v: None if getattr(v, "__name__", "<lambda>") == "<lambda>" else v.__name__,
)
def test_names(fn, make_args, native):
    check(fn, make_args, native)


# --- subscripts ------------------------------------------------------------------


def reverse_half(a, n):
    for i in range(n // 2):
        a[i], a[n - 1 - i] = a[n - 1 - i], a[i]


def reverse_all(a, n):
    for i in range(n):
        a[i], a[n - 1 - i] = a[n - 1 - i], a[i]


def swap_pairs(a, j):
    # i == j at one iteration: the element is written with its own value.
    for i in range(a.shape[0]):
        a[i], a[j] = a[j], a[i]


def two_values_same_element(a, j):
    # i == j at one iteration: the last target wins.
    for i in range(a.shape[0]):
        a[i], a[j] = a[i] + 100.0, a[j] - 100.0


def swap_two_arrays(a, b):
    for i in range(a.shape[0]):
        a[i], b[i] = b[i], a[i]


def negative_indices(a):
    n = a.shape[0]
    for i in range(n // 2):
        a[-1 - i], a[i] = a[i], a[-1 - i]


def read_out_of_range(a):
    # Raises IndexError on the right-hand side at the last iteration, after
    # the earlier iterations' writes and before any write of that one.
    for i in range(a.shape[0]):
        a[i], a[i + 1] = a[i + 1] * 2.0, a[i]


def write_out_of_range(a, b):
    # a[i] is stored, then b[i + 2] raises: Python keeps the a[i] of that
    # iteration.
    for i in range(a.shape[0]):
        a[i], b[i + 2] = a[i] + 1.0, 7.0


def write_out_of_range_first(a, b):
    # b[i + 2] raises first: nothing of that iteration is stored.
    for i in range(a.shape[0]):
        b[i + 2], a[i] = 7.0, a[i] + 1.0


def caught(a, b):
    x = -1.0
    try:
        for i in range(a.shape[0]):
            x, b[i + 2] = a[i], x
    except IndexError:
        pass
    return x, i


def rhs_raises(a):
    # The second value raises at i == 3: that iteration assigns nothing.
    b = 0.5
    try:
        for i in range(a.shape[0]):
            a[i], b = b, 1.0 / (i - 3)
    except ZeroDivisionError:
        pass
    return b, i


def rhs_raises_after_a_name(a):
    b = 0.5
    try:
        for i in range(a.shape[0]):
            b, a[i] = math.sqrt(i - 2) + b, b
    except ValueError:
        pass
    return b, i


def mixed_carry(a):
    x = 0.0
    for i in range(a.shape[0]):
        x, a[i] = a[i], x
    return x


def mixed_carry_reversed(a):
    x = 0.5
    for i in range(a.shape[0]):
        a[i], x = x, a[i] * 2.0
    return x


def int32_and_bool(a, m):
    n = a.shape[0]
    for i in range(n // 2):
        a[i], a[n - 1 - i] = a[n - 1 - i], a[i]
        m[i], m[n - 1 - i] = m[n - 1 - i], m[i]


def float32_from_float(a, x):
    for i in range(a.shape[0]):
        a[i], x = x, x + 0.1
    return x


def transpose(A):
    n = A.shape[0]
    for i in range(n):
        for j in range(i + 1, n):
            A[i, j], A[j, i] = A[j, i], A[i, j]


def inner_loop_swap(A):
    n, m = A.shape
    for i in range(n):
        for j in range(m // 2):
            A[i, j], A[i, m - 1 - j] = A[i, m - 1 - j], A[i, j]


def bubble_pass(a):
    n = a.shape[0]
    for k in range(n):
        for i in range(n - 1 - k):
            if a[i] > a[i + 1]:
                a[i], a[i + 1] = a[i + 1], a[i]


def index_then_store(a, idx):
    # The target's subscript is evaluated after the whole right-hand side
    # and after the earlier targets.
    j = 0
    for i in range(a.shape[0]):
        j, a[j] = idx[i], a[idx[i]] + 1.0
    return j


@pytest.mark.parametrize(
    "fn, make_args, native",
    [
        (reverse_half, lambda: (np.arange(11.0), 11), True),
        (reverse_half, lambda: (np.arange(10.0), 10), True),
        (reverse_all, lambda: (np.arange(9.0), 9), True),
        (swap_pairs, lambda: (np.arange(8.0), 3), True),
        (two_values_same_element, lambda: (np.arange(8.0), 5), True),
        (swap_two_arrays, lambda: (np.arange(6.0), np.arange(6.0) * -1.0), True),
        (negative_indices, lambda: (np.arange(9, dtype=np.int64),), True),
        (read_out_of_range, lambda: (np.arange(6.0),), False),
        (write_out_of_range, lambda: (np.arange(6.0), np.zeros(5)), False),
        (write_out_of_range_first, lambda: (np.arange(6.0), np.zeros(5)), False),
        (caught, lambda: (np.arange(6.0), np.zeros(5)), False),
        (rhs_raises, lambda: (np.zeros(6),), False),
        (rhs_raises_after_a_name, lambda: (np.zeros(6),), False),
        (mixed_carry, lambda: (np.arange(7.0),), True),
        (mixed_carry_reversed, lambda: (np.arange(7.0),), True),
        (int32_and_bool, lambda: (np.arange(9, dtype=np.int32), np.arange(9) % 3 == 0), True),
        (float32_from_float, lambda: (np.zeros(5, np.float32), 0.3), True),
        (transpose, lambda: (np.arange(36.0).reshape(6, 6),), True),
        (inner_loop_swap, lambda: (np.arange(35.0).reshape(5, 7),), True),
        (bubble_pass, lambda: (np.random.default_rng(3).random(12),), True),
        (index_then_store, lambda: (np.zeros(6), np.array([3, 1, 4, 1, 5, 0])), True),
    ],
    ids=lambda v: None if getattr(v, "__name__", "<lambda>") == "<lambda>" else v.__name__,
)
def test_subscripts(fn, make_args, native):
    check(fn, make_args, native)


def test_aliasing_views_swap():
    # b is a view of a: a[i], b[i] = b[i], a[i] reads both before writing.
    def f(a):
        b = a[1:]
        for i in range(a.shape[0] - 1):
            a[i], b[i] = b[i] * 2.0, a[i] + 1.0

    check(f, lambda: (np.arange(8.0),))


def test_a_sentence_names_a_value_kept_aside_by_the_users_words():
    # s's old value is kept aside for c; s is an int, then a float: the
    # typing sentence names that value by the user's code.
    def f(x):
        s, c = 0, 0
        for i in range(x.shape[0]):
            s, c = c + x[i], s
        return s, c

    records = check(f, lambda: (np.linspace(0, 1, 5),), native=False)
    reasons = [r["reason"] for r in records["cpu"] + records["gpu-emulated"] if r["status"] == "declined"]
    assert reasons and all("the value s of the tuple assignment on line 4" in r for r in reasons), reasons


# --- declines: Python runs and raises what Python raises ------------------------------


def too_many_values(n):
    for i in range(n):
        a, b = 1, 2, 3
    return a, b


def too_few_values(n):
    for i in range(n):
        a, b, c = 1, 2
    return a, b, c


def unpack_a_tuple(n, t):
    for i in range(n):
        a, b = t
    return a, b


def unpack_a_call(n):
    for i in range(n):
        q, r = np.divmod(i, 3)
    return q, r


def starred(n):
    for i in range(n):
        a, *b = i, i + 1, i + 2
    return a, b


def same_name_twice(n):
    # CPython 3.11 keeps the first value here, not the last (its compiler
    # removes the swap between the two stores): declined.
    x = 0
    for i in range(n):
        x, x = i, i * 2
    return x


def tuple_value(n):
    for i in range(n):
        a, b = (i, i), 2
    return a, b


@pytest.mark.parametrize(
    "fn, make_args, words, line",
    [
        (too_many_values, lambda: (3,), "2 targets and 3 values", 3),
        (too_few_values, lambda: (3,), "3 targets and 2 values", 3),
        (unpack_a_tuple, lambda: (3, (1, 2)), "not a tuple written out", 3),
        (unpack_a_call, lambda: (5,), "not a tuple written out", 3),
        (starred, lambda: (3,), "starred", 3),
        (tuple_value, lambda: (3,), "only numbers", 3),
        (same_name_twice, lambda: (5,), "assigns x twice", 6),
    ],
)
def test_declines_run_as_python(fn, make_args, words, line):
    check(fn, make_args, native=False)
    (nest,) = loopscope.explain(fn, *make_args())["nests"]
    assert nest["declined"] and nest["decline"]["code"] == "unsupported_syntax", nest
    assert words in nest["decline"]["reason"] and nest["decline"]["line"] == line, nest["decline"]


# --- what the analysis says --------------------------------------------------------


def verdicts(fn, *args):
    report = loopscope.explain(fn, *args)
    text = json.dumps(report, default=str)
    assert "$" not in text and "tuple1" not in text, text
    return {(l["var"], l["line"]): l for l in report["loops"]}


def by_var(loops):
    return {var: l["verdict"] for (var, _), l in loops.items()}


def test_pixel_loops_stay_parallel():
    loops = verdicts(mandel_count, np.zeros((8, 8), np.int64), 10)
    assert by_var(loops) == {"y": "parallel", "x": "parallel", "k": "sequential"}
    for l in loops.values():
        assert not any("$" in p for p in l["privates"])
    k = next(l for (var, _), l in loops.items() if var == "k")
    assert any("zr" in r for r in k["reasons"]) and any("zi" in r for r in k["reasons"])


def test_reverse_half_is_parallel_reverse_all_is_not():
    assert by_var(verdicts(reverse_half, np.arange(11.0), 11)) == {"i": "parallel"}
    loops = verdicts(reverse_all, np.arange(11.0), 11)
    assert by_var(loops) == {"i": "sequential"}
    (l,) = loops.values()
    assert any("a[n - 1 - i]" in r for r in l["reasons"]), l["reasons"]


def test_transpose_and_row_reversal_are_parallel():
    assert by_var(verdicts(transpose, np.zeros((6, 6))))["i"] == "parallel"
    assert by_var(verdicts(inner_loop_swap, np.zeros((5, 7)))) == {"i": "parallel", "j": "parallel"}


def test_reductions_are_kept():
    loops = verdicts(reductions, np.arange(20, dtype=np.int64))
    (l,) = loops.values()
    assert l["verdict"] == "reduction", l
    assert sorted({r["variable"] for r in l["reductions"]}) == ["c", "hi", "lo", "s"]


def test_swapped_scalars_are_carried():
    (l,) = verdicts(fib, 10).values()
    assert l["verdict"] == "sequential"
    assert any("scalar a" in r for r in l["reasons"]) and any("scalar b" in r for r in l["reasons"])


def test_statements_show_the_users_line():
    info = _loopscope.analysis_nest_from_source("for i in range(n):\n    a[i], a[n - 1 - i] = a[n - 1 - i], a[i]\n")
    assert not info["declined"]
    texts = {s["text"] for s in info["statements"]}
    assert texts == {"a[i], a[n - 1 - i] = a[n - 1 - i], a[i]"}
    assert len(info["statements"]) == 3  # the first value kept aside, then two stores
    assert info["outputs"] == ["i"] and info["inputs"] == ["a", "n"]
    info = _loopscope.analysis_nest_from_source("for i in range(n):\n    (p, q), r = (q, r), p\n")
    assert {s["text"] for s in info["statements"]} == {"(p, q), r = (q, r), p"}
    assert info["outputs"] == ["i", "p", "q", "r"]


# --- the kernel's namespace --------------------------------------------------------

CELL = """
import numpy as np
a = np.arange(10.0)
n = 10
x, y = 1.5, -2.0
for i in range(n // 2):
    a[i], a[n - 1 - i] = a[n - 1 - i], a[i]
    x, y = y, x + a[i]
"""


def test_no_temporary_in_the_namespace():
    plain = {}
    exec(CELL, plain)
    tree, nests = _rewrite.rewrite_module(ast.parse(CELL), "<cell>", "__hook", source=CELL)
    assert len(nests) == 1 and not nests[0].declined
    for device in ("cpu", "gpu-emulated"):
        _run.reset_last_runs()
        ns = {"__hook": _run._dispatch(device)}
        exec(compile(tree, "<cell>", "exec"), ns)
        assert [r["status"] for r in _run.last_runs().values()] == ["ok"], _run.last_runs()
        assert sorted(k for k in ns if k != "__hook") == sorted(plain), device
        assert not [k for k in ns if "$" in k or "tuple" in k]
        for k in ("x", "y", "i", "n"):
            assert same(ns[k], plain[k]), (device, k, ns[k], plain[k])
        assert same(ns["a"], plain["a"])


def test_the_report_shows_the_users_statement():
    import contextlib
    import io

    from IPython.testing import globalipapp

    ip = globalipapp.start_ipython() or globalipapp.get_ipython()
    bundles = []
    saved = ip.display_pub.publish
    ip.display_pub.publish = lambda data, *a, **k: bundles.append(data)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            ip.run_line_magic("load_ext", "loopscope")
            ip.run_line_magic("loopscope", "cpu full")
            result = ip.run_cell(CELL)
            ip.run_line_magic("loopscope", "auto summary")
    finally:
        ip.display_pub.publish = saved
    assert result.success
    html = [str(b["text/html"]) for b in bundles if "text/html" in b]
    assert html and all("$tuple" not in h for h in html)
    assert any("a[i], a[n - 1 - i] = a[n - 1 - i], a[i]" in h for h in html)
    assert not [k for k in ip.user_ns if "$" in k or k.startswith("tuple")]
