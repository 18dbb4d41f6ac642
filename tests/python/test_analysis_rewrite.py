"""The rewriter protocol shared by explain, loopscope.run and the kernel."""

import ast
import linecache
import traceback

import numpy as np
import pytest

from loopscope import _rewrite

CELL = """\
import numpy as np
A = np.zeros(6)
n = 6
s = 0.0
for i in range(n):
    A[i] = i * 2.0
    s += A[i]
if n > 2:
    for j in range(1, n):
        A[j] = A[j - 1] + 1.0
while False:
    pass
for x in [1, 2]:
    for k in range(2):
        A[k] += x
def g(B):
    for q in range(B.shape[0]):
        B[q] = 7.0
    return q
r = g(np.zeros(3))
"""


def run_cell(hook):
    tree = ast.parse(CELL)
    tree, nests = _rewrite.rewrite_module(tree, "<cell>", "__hook", source=CELL)
    ns = {"__hook": hook}
    exec(compile(tree, "<cell>", "exec"), ns)
    return ns, nests


def test_hook_none_runs_python_unchanged():
    plain = {}
    exec(CELL, plain)
    calls = []
    ns, nests = run_cell(lambda nid, env: calls.append((nid, env)) or None)
    assert np.array_equal(ns["A"], plain["A"]) and ns["s"] == plain["s"] and ns["r"] == plain["r"]
    assert ns["i"] == plain["i"] and ns["j"] == plain["j"]
    lines = sorted(n.line for n in nests)
    # inside if, a while loop, a loop over a list of ints and inside it, inside a def
    assert lines == [5, 9, 11, 13, 14, 17]
    assert all(not n.declined for n in nests)
    first = next(env for nid, env in calls if _rewrite.NESTS[nid].line == 5)
    assert set(first) == {"A", "n", "s", "@range"}  # the names read, and the assumed builtin range
    assert not [k for k in ns if k.startswith("__loopscope")]


def test_hook_dict_skips_loop_and_writes_back():
    def hook(nid, env):
        rec = _rewrite.NESTS[nid]
        if rec.line == 5:
            return {"i": 99, "s": -1.0}
        return None

    ns, _ = run_cell(hook)
    assert ns["i"] == 99 and ns["s"] == -1.0
    assert ns["A"][0] != 0.0 or True


def test_declined_nest_left_alone_and_recorded():
    src = "A = [0, 0, 0]\nfor i in range(3):\n    A[i] = len(A)\n    print(i)\n"
    tree, nests = _rewrite.rewrite_module(ast.parse(src), "<c>", "__hook", source=src)
    assert len(nests) == 1 and nests[0].declined
    assert "print" in nests[0].decline.reason and nests[0].decline.code == "unsupported_syntax"
    ns = {"__hook": lambda *a: pytest.fail("hook called for a declined nest")}
    exec(compile(tree, "<c>", "exec"), ns)
    assert ns["A"] == [3, 3, 3]


def test_traceback_points_at_the_users_line():
    src = "A = np.zeros(3)\nfor i in range(5):\n    A[i] = 1.0\n"
    filename = "<tb-cell>"
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    tree, nests = _rewrite.rewrite_module(ast.parse(src), filename, "__hook", source=src)
    ns = {"np": np, "__hook": lambda nid, env: None}
    with pytest.raises(IndexError) as ei:
        exec(compile(tree, filename, "exec"), ns)
    frames = [f for f in traceback.extract_tb(ei.value.__traceback__) if f.filename == filename]
    assert frames[-1].lineno == 3


def test_undefined_input_gives_none_env():
    src = "for i in range(3):\n    A[i] = undefined_name\n"
    tree, nests = _rewrite.rewrite_module(ast.parse(src), "<u>", "__hook", source=src)
    seen = []
    ns = {"__hook": lambda nid, env: seen.append(env) or {}, "A": np.zeros(3)}
    exec(compile(tree, "<u>", "exec"), ns)
    assert seen == [None]


def test_compile_function_keeps_closure_defaults_and_lines():
    scale = 3.0

    def f(A, n=4, *, off=1.0):
        for i in range(n):
            A[i] = scale * i + off
        return i

    seen = []

    def hook(nid, env):
        seen.append((nid, dict(env)))
        return None

    g, nests = _rewrite.compile_function(f, hook)
    A = np.zeros(4)
    assert g(A) == 3 and np.array_equal(A, 3.0 * np.arange(4) + 1.0)
    assert nests[0].line == 2  # the def line is line 1
    assert set(seen[0][1]) == {"A", "n", "off", "scale", "@range"}
    assert g.__name__ == "f" and g.__defaults__ == (4,)


def test_registration_is_cached():
    src = "for i in range(3):\n    A[i] = 1.0\n"
    _, n1 = _rewrite.rewrite_module(ast.parse(src), "<a>", "__hook", source=src)
    _, n2 = _rewrite.rewrite_module(ast.parse(src), "<b>", "__hook", source=src)
    assert n1[0].id == n2[0].id


def test_shape_in_bounds_is_an_input():
    def f(A):
        for i in range(A.shape[0]):
            for j in range(len(A)):
                A[i, j] = 1.0

    envs = []
    g, nests = _rewrite.compile_function(f, lambda nid, env: envs.append(_rewrite.bind_env(nid, env)) or None)
    g(np.zeros((3, 3)))
    env, reason = envs[0]
    assert reason is None and env["A.shape[0]"] == 3 and env["len(A)"] == 3
    assert not [k for k in env if k.startswith("@")]


def test_rewritten_random_nests_behave_like_python():
    import warnings
    import nestgen

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in range(150):
            src, make_args = nestgen.generate(seed)
            fn = nestgen.make_function(src)
            g, nests = _rewrite.compile_function(fn, lambda nid, env: None)
            a, b = make_args(), make_args()
            ea = eb = None
            try:
                fn(*a)
            except Exception as e:
                ea = type(e)
            try:
                g(*b)
            except Exception as e:
                eb = type(e)
            assert ea == eb, (seed, ea, eb)
            for x, y in zip(a, b):
                if isinstance(x, np.ndarray):
                    assert np.array_equal(x, y, equal_nan=True), seed
