"""The first call of a function through ``loopscope.run`` does no more work
than it needs, and what it saves changes no result:

- a function whose nests all decline (and that calls no function to
  intercept) is not recompiled: its own code runs, in a copy of the function;
- the source of a function is found without ``inspect``'s tokenizer
  (``_source.function_source``), exactly as ``inspect`` finds it, and read
  again when its file changes (a redefined function never runs a stale
  rewrite);
- the source of each nest is cut from lines split once per source
  (``_rewrite._source_segment``, as ``ast.get_source_segment``);
- the engine keys a registered nest on its tree and positions without
  ``ast.dump`` (the same nest gets the same id, any other a new one).
"""

import ast
import functools
import importlib
import inspect
import os
import sys
import textwrap
import gc
import time

import numpy as np
import pytest

import _loopscope
import loopscope
from differential import check, use_temporary_cache  # noqa: F401
from loopscope import _rewrite, _run, _source
from nestgen import make_function

# ---- declined functions run their own code ------------------------------------------

DECLINED = """
def declined(n, words):
    out = []
    for i in range(n):
        out.append(hex(i * 2))
    names = []
    for k in range(n):
        names.append(str(k) + words[k % len(words)])
    return out, names
"""


class CompileSpy:
    """Counts the rewriter's calls of ``compile`` (the builtin, shadowed in
    ``_rewrite``'s globals)."""

    def __init__(self):
        self.calls = 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return compile(*args, **kwargs)


@pytest.fixture
def compile_spy(monkeypatch):
    spy = CompileSpy()
    monkeypatch.setattr(_rewrite, "compile", spy, raising=False)
    return spy


def test_declined_function_runs_its_own_code(compile_spy):
    fn = make_function(DECLINED, "declined")
    fn.__dict__["tag"] = "kept"
    new = _run.compiled(fn, "cpu")
    assert compile_spy.calls == 0
    assert new is not fn  # a copy: the cache keyed on fn holds no reference to it
    assert new.__code__ is fn.__code__
    for attr in ("__name__", "__qualname__", "__module__", "__doc__", "__defaults__", "__kwdefaults__"):
        assert getattr(new, attr) == getattr(fn, attr)
    assert new.__globals__ is fn.__globals__ and new.tag == "kept"
    check(fn, lambda: (7, ["a", "bc"]), native=False)


def test_declined_function_keeps_closure_defaults_and_binding(compile_spy):
    source = """
    def outer(scale):
        def inner(n, extra=3, *, sep="-"):
            parts = []
            for i in range(n + extra):
                parts.append(str(i * scale))
            return sep.join(parts)
        return inner
    """
    inner = make_function(source, "outer")(5)
    assert loopscope.run(inner, 2, sep="+") == inner(2, sep="+")
    assert compile_spy.calls == 0

    class Holder:
        def __init__(self, base):
            self.base = base

        def labels(self, n):
            out = []
            for i in range(n):
                out.append(f"{self.base}{i}")
            return out

    h = Holder("x")
    assert loopscope.run(h.labels, 4) == ["x0", "x1", "x2", "x3"]
    part = functools.partial(inner, 3)
    assert loopscope.run(part, extra=1) == inner(3, extra=1)


def test_function_with_an_accepted_nest_is_rewritten(compile_spy):
    source = """
    def mixed(a, words):
        out = []
        for w in range(len(words)):
            out.append(words[w].upper())
        for i in range(a.shape[0]):
            a[i] = a[i] * 2.0
        return out
    """
    fn = make_function(source, "mixed")
    new = _run.compiled(fn, "cpu")
    assert compile_spy.calls == 1
    assert new.__code__ is not fn.__code__
    check(fn, lambda: (np.arange(6.0), ["x", "y"]))


def test_declined_nests_around_a_call_of_a_function_with_a_nest():
    # The caller's nests decline, but it calls a function of its module that
    # has a nest: the call still goes through the table, and that nest runs natively.
    source = """
    def scale(a, f):
        for i in range(a.shape[0]):
            a[i] = a[i] * f
        return a

    def caller(a, words):
        seen = []
        for k in range(len(words)):
            seen.append(words[k])
        scale(a, 3.0)
        return seen
    """
    fn = make_function(source, "caller")
    _run.reset_last_runs()
    a = np.arange(5.0)
    assert loopscope.run(fn, a, ["p", "q"], device="cpu") == ["p", "q"]
    assert np.array_equal(a, np.arange(5.0) * 3.0)
    assert any(r["status"] == "ok" and r.get("function") == "scale" for r in loopscope._run.last_runs().values())


# ---- the source of a function -----------------------------------------------------------

MODULE = '''
import functools


def plain(a, b):
    return a + b


@functools.lru_cache(maxsize=None)
def decorated(n):
    total = 0
    for i in range(n):
        total += i
    return total


@functools.wraps(plain)
@functools.lru_cache(
    maxsize=4,
)
def decorated_twice(x):
    return [
        x,
        x + 1,
    ]


def with_trailing_comments(n):
    s = 0
    for i in range(n):
        s += i
    return s
    # a comment indented as the body

# a comment at the margin


class Shapes:
    def area(self, w, h):
        out = 0
        for i in range(w):
            out += h
        return out

    async def later(self):
        return 1

    def ends_with_a_string(self):
        x = 1
        """a string statement
that runs over lines at the margin"""

    def ends_with_pass(self, flag):
        if flag:
            return 1
        else:
            pass


def one_liner(x): return x * 2


def with_nested(n):
    def helper(k):
        return [j * k for j in range(k)]

    lam = lambda v: (v,
        v + 1)
    return helper(n), lam(n)


def last_line_continues(a):
    return (a +
1)
'''


def _inspect_source(fn):
    lines, first = inspect.getsourcelines(fn.__code__)
    return textwrap.dedent("".join(lines)), first


def _write_module(monkeypatch, tmp_path, name, text):
    (tmp_path / f"{name}.py").write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    return importlib.import_module(name)


def test_function_source_is_what_inspect_finds(monkeypatch, tmp_path):
    mod = _write_module(monkeypatch, tmp_path, "first_call_sources", MODULE)
    fns = [
        mod.plain,
        mod.decorated.__wrapped__,
        mod.decorated_twice.__wrapped__,
        mod.with_trailing_comments,
        mod.Shapes.area,
        mod.Shapes.later,
        mod.Shapes.ends_with_a_string,
        mod.Shapes.ends_with_pass,
        mod.one_liner,
        mod.with_nested,
        mod.last_line_continues,
    ]
    for fn in fns:
        want, want_first = _inspect_source(fn)
        try:
            ast.parse(want)
        except SyntaxError:
            # The string at the margin: inspect's block does not parse either.
            with pytest.raises(SyntaxError):
                _source.function_source(fn)
            continue
        source, first, tree = _source.function_source(fn)
        assert first == want_first, fn.__qualname__
        # inspect also keeps the comments indented as the body after the last statement
        assert ast.dump(tree) == ast.dump(ast.parse(want)), fn.__qualname__
        if fn is not mod.with_trailing_comments:
            assert source == want, fn.__qualname__


def test_function_source_of_cells_and_generated_code():
    fn = make_function(DECLINED, "declined")  # its lines are in linecache only
    source, first, _ = _source.function_source(fn)
    assert (source, first) == _inspect_source(fn)
    code = compile("def nowhere():\n    return 1\n", "<no such source>", "exec")
    ns = {}
    exec(code, ns)
    with pytest.raises(OSError):
        _source.function_source(ns["nowhere"])
    with pytest.raises(_rewrite.NotRewritable):
        _rewrite.compile_function(ns["nowhere"], lambda *a: None)


def test_a_redefined_function_is_read_again(monkeypatch, tmp_path):
    """A file changed on disk (a module reloaded, as an edited file in a
    notebook with autoreload): the new function runs with the new source,
    never a rewrite of the old one; and the same text with other globals
    uses those globals."""
    first = (
        "FACTOR = 2\n\ndef scaled(a, words):\n    out = []\n    for i in range(a.shape[0]):\n"
        "        a[i] = a[i] * FACTOR\n    for k in range(len(words)):\n        out.append(words[k])\n    return out\n"
    )
    mod = _write_module(monkeypatch, tmp_path, "first_call_reloaded", first)
    a = np.arange(4.0)
    assert loopscope.run(mod.scaled, a, ["w"], device="cpu") == ["w"]
    assert np.array_equal(a, np.arange(4.0) * 2)
    second = first.replace("a[i] * FACTOR", "a[i] + FACTOR + 1.0").replace(
        "out.append(words[k])", "out.append(words[k] * 2)"
    )
    path = tmp_path / "first_call_reloaded.py"
    path.write_text(second)
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    mod = importlib.reload(mod)
    a = np.arange(4.0)
    assert loopscope.run(mod.scaled, a, ["w"], device="cpu") == ["ww"]
    assert np.array_equal(a, np.arange(4.0) + 3.0)
    # The same text in another module whose FACTOR differs.
    other = make_function(first.split("\n\n", 1)[1], "scaled", namespace={"FACTOR": 5})
    a = np.arange(4.0)
    assert loopscope.run(other, a, ["v"], device="cpu") == ["v"]
    assert np.array_equal(a, np.arange(4.0) * 5)


def test_the_same_text_in_two_cells_with_other_globals():
    """Two cells define the same function text; each runs with its own
    globals (the rewrite of one is never the other's)."""
    source = """
    def total(a):
        s = 0.0
        for i in range(a.shape[0]):
            s += a[i] * WEIGHT
        labels = []
        for i in range(2):
            labels.append(str(i))
        return s, labels
    """
    one = make_function(source, "total", namespace={"WEIGHT": 1.0})
    two = make_function(source, "total", namespace={"WEIGHT": 10.0})
    a = np.arange(3.0)
    assert loopscope.run(one, a, device="cpu") == (3.0, ["0", "1"])
    assert loopscope.run(two, a, device="cpu") == (30.0, ["0", "1"])
    one.__globals__["WEIGHT"] = 2.0  # rebound after the rewrite: read when it runs
    assert loopscope.run(one, a, device="cpu") == (6.0, ["0", "1"])


# ---- nest sources and engine keys -----------------------------------------------------

SEGMENTS = [
    "for i in range(3):\n\tx = 'é'; y = 1\n",
    "if 1:\n  \tfor i in range(3): \\\n  pass\n",
    "a = 1\n\fb = 2\nfor i in\\\r\n range(2):\r\n  pass\r\n",
    "x = 'ü' ;  y_ = 1\nif x:\n    for k in range(2):\n        y_ = [\n 1]\n",
    "s = '''\nfor\n'''\nfor i in range(2): pass\n",
]


@pytest.mark.parametrize("source", SEGMENTS)
def test_nest_source_is_ast_segment(source):
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.stmt):
            assert _rewrite._source_segment(source, node) == ast.get_source_segment(source, node, padded=True)


def test_engine_key_same_nest_same_id():
    src = "for i in range(n):\n    a[i] = a[i] * 2.0 + 1\n"

    def register(text, key=""):
        return _loopscope.analysis_register(ast.parse(text).body[0], text, "<key>", key)

    first = register(src)
    assert register(src) == first
    assert register("\n" + src) != first  # another line
    assert register(src.replace("2.0", "3.0")) != first
    assert register(src.replace("2.0", "2")) != first  # 2 and 2.0: another constant
    assert register(src, "# other spellings") != first
    moved = ast.parse(src).body[0]
    ast.increment_lineno(moved, 4)
    assert _loopscope.analysis_register(moved, src, "<key>", "") != first


def test_first_call_of_a_declined_function_is_cheap():
    """Not a benchmark (bench/bench_first_call.py is): the first call of a
    function whose nests decline stays far from what compiling one costs.
    The bound is loose on purpose, and the time is the calling thread's CPU
    time: on a shared, busy machine the wall clock also counts the time
    other work holds the cores."""
    times = []
    for k in range(5):
        fn = make_function(DECLINED.replace("declined", f"declined{k}"), f"declined{k}")
        gc.collect()  # (a collection of what earlier tests left is not the call's cost)
        gc.disable()
        try:
            t0 = time.thread_time()
            loopscope.run(fn, 5, ["a"], device="cpu")
            times.append(time.thread_time() - t0)
        finally:
            gc.enable()
    assert min(times) < 0.02


def test_tree_helpers_are_what_ast_and_copy_give():
    """_walk's walk, children, copy_tree and same_tree against ast.walk,
    ast.iter_child_nodes, copy.deepcopy and ast.dump, on the corpus."""
    import copy

    import corpus
    from loopscope import _walk

    nodes = []
    for case in corpus.all_cases()[:60]:
        tree = _source.function_source(case.fn)[2]
        for node in ast.walk(tree):
            node._ls_mark = 1  # attributes that are not fields are copied too
        nodes += [n for n in ast.walk(tree) if isinstance(n, (ast.For, ast.While, ast.FunctionDef))]
    for node in nodes:
        assert [id(n) for n in _walk.walk(node)] == [id(n) for n in ast.walk(node)]
        assert [id(n) for n in _walk.children(node)] == [id(n) for n in ast.iter_child_nodes(node)]
        want, got = copy.deepcopy(node), _walk.copy_tree(node)
        assert ast.dump(got, include_attributes=True) == ast.dump(want, include_attributes=True)
        assert all(a.__dict__.keys() == b.__dict__.keys() for a, b in zip(ast.walk(got), ast.walk(want)))
        assert not any(a is b for a, b in zip(ast.walk(got), ast.walk(node)) if a._fields)
        assert _walk.same_tree(got, node)
    for a, b in zip(nodes, nodes[1:]):
        assert _walk.same_tree(a, b) == (ast.dump(a) == ast.dump(b))
    constants = [ast.Constant(v) for v in (0.0, -0.0, 0, False, 1, True, 1.0, float("nan"), "1", b"1", None, ...)]
    for a in constants:
        for b in constants:
            assert _walk.same_tree(a, b) == (ast.dump(a) == ast.dump(b))


def test_copy_tree_keeps_the_shared_contexts():
    """ast.parse shares one Load, one Store, one Add ... between all trees;
    executing (IPython's tracebacks) sets `parent` on every node of a tree it
    reads, those three too. A copy that copied them would copy that whole
    other tree with every nest the rewriter copies (a declined function's
    first call took 60 ms of copying in a long session)."""
    from loopscope import _walk

    big = ast.parse("\n".join(f"x{i} = -y{i} + (z < 1 and w)" for i in range(2000)))
    try:
        for node in ast.walk(big):
            for child in ast.iter_child_nodes(node):
                child.parent = node
        small = ast.parse("a = -b + (c < 1 and d)").body[0]
        got = _walk.copy_tree(small)
        assert got.targets[0].ctx is small.targets[0].ctx and got.value.op is small.value.op
        assert got.value is not small.value
        assert sum(1 for _ in _walk.walk(got)) == sum(1 for _ in _walk.walk(small))
    finally:
        for node in ast.walk(big):
            node.__dict__.pop("parent", None)
