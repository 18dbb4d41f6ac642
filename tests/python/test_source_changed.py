"""A function whose file changed on disk after it was defined, and one
whose code or defaults were replaced after its first run.

The rewriter reads a function's source through ``linecache`` (as
``inspect`` does), which rereads a file that changed on disk: a module
edited since its import would give the new text, and the rewritten function
would run code that Python does not run. ``_rewrite._source_is_its_code``
compiles the source it read as the rewritten function is compiled and
compares it with the function's own code; when they differ, the function
runs as it is (Python's old code), with a sentence saying why. These tests
write modules into a temporary folder, import them, and check on every
device that the results stay CPython's, that unchanged files (methods with
private names, closures, ``from __future__ import annotations``, defaults
and keyword-only arguments) still run natively, and that a reload runs the
new code natively. ``loopscope.run`` and ``jit`` cache the rewritten
function per function and code object, and pass on defaults replaced since.
"""

import importlib
import inspect
import itertools
import textwrap

import numpy as np
import pytest

import loopscope
import nestgen
import polybench
from differential import DEVICES, check, use_temporary_cache  # noqa: F401
from loopscope import _rewrite, _run

_names = itertools.count(1)

MODULE = """\
from __future__ import annotations
import numpy as np


def scale(a, factor=2.0, *, shift=0.0):
    for i in range(a.shape[0]):
        a[i] = i * factor + shift
    return a


def helper(a):
    for i in range(a.shape[0]):
        a[i] = a[i] * 2.0 + 1.0


def pipeline(a):
    helper(a)
    return a


class Grid:
    __weight = 1.5

    def fill(self, a):
        w = self.__weight
        for i in range(a.shape[0]):
            a[i] = i * w
        return super().__repr__ is not None


def make(k):
    def inner(a):
        def typed(x: int) -> int:
            return x

        for i in range(a.shape[0]):
            a[i] = i * k - 0.5
        return typed(3)

    return inner
"""


@pytest.fixture
def module_dir(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def _import(folder, source):
    name = f"loopscope_changed_{next(_names)}"
    path = folder / f"{name}.py"
    path.write_text(source)
    importlib.invalidate_caches()
    return importlib.import_module(name), path


def _edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def _arrays():
    return (np.zeros(6),)


def _functions(mod):
    return {
        "scale": mod.scale,
        "pipeline": mod.pipeline,
        "method": mod.Grid().fill,
        "closure": mod.make(3.0),
    }


@pytest.mark.parametrize("which", ["scale", "pipeline", "method", "closure"])
def test_unchanged_files_run_natively(module_dir, which):
    mod, _path = _import(module_dir, MODULE)
    check(_functions(mod)[which], _arrays)
    assert _run.not_rewritten(_functions(mod)[which]) is None


@pytest.mark.parametrize(
    "which, old, new",
    [
        ("scale", "a[i] = i * factor + shift", "a[i] = i * factor - shift + 1.0"),
        ("scale", "i * factor", "i * factor * 1.0"),
        ("pipeline", "a[i] * 2.0 + 1.0", "a[i] * 3.0 + 1.0"),  # a callee of the same module
        ("method", "a[i] = i * w", "a[i] = i * w * w"),
        ("closure", "i * k - 0.5", "i * k - 0.25"),
        ("scale", "2.0", "3.0"),  # a default: Python keeps the old one
    ],
)
def test_an_edited_file_runs_the_code_python_runs(module_dir, which, old, new):
    mod, path = _import(module_dir, MODULE)
    _edit(path, old, new)
    fn = _functions(mod)[which]
    for device in DEVICES:
        a = np.zeros(6)
        want = np.zeros(6)
        _functions(mod)[which](want)  # CPython: the code imported, not the file's new text
        loopscope.run(fn, a, device=device)
        assert np.array_equal(a, want), (which, device, a, want)


def test_an_edited_file_says_why_its_loops_run_as_python(module_dir):
    mod, path = _import(module_dir, MODULE)
    _edit(path, "a[i] = i * factor + shift", "a[i] = i * factor - shift")
    _run.reset_last_runs()
    loopscope.run(mod.scale, np.zeros(4), device="cpu")
    why = _run.not_rewritten(mod.scale)
    assert why is not None and "does not match its code" in why and "reload" in why
    assert not _run.last_runs()
    report = loopscope.explain(mod.scale, np.zeros(4))
    assert "does not match its code" in report["not_analysed"]


def test_lines_added_above_the_function_keep_pythons_code(module_dir):
    mod, path = _import(module_dir, MODULE)
    path.write_text("# a comment that moves every line down\n\n" + path.read_text())
    a, want = np.zeros(6), np.zeros(6)
    mod.scale(want)
    loopscope.run(mod.scale, a, device="cpu")
    assert np.array_equal(a, want)


def test_a_reloaded_module_runs_its_new_code_natively(module_dir):
    mod, path = _import(module_dir, MODULE)
    _edit(path, "a[i] = i * factor + shift", "a[i] = i * factor - shift + 1.0")
    mod = importlib.reload(mod)
    check(mod.scale, _arrays)  # natively on the CPU and GPU devices
    a = np.zeros(3)
    loopscope.run(mod.scale, a, device="cpu", shift=0.5)
    assert a.tolist() == [0.5, 2.5, 4.5]


def test_a_function_compiled_before_the_edit_keeps_its_code(module_dir):
    mod, path = _import(module_dir, MODULE)
    first = np.zeros(4)
    loopscope.run(mod.scale, first, device="cpu")
    _edit(path, "a[i] = i * factor + shift", "a[i] = i * factor - shift + 7.0")
    again = np.zeros(4)
    loopscope.run(mod.scale, again, device="cpu")
    assert first.tolist() == again.tolist() == [0.0, 2.0, 4.0, 6.0]


def test_sources_that_are_not_files_are_not_compiled_twice(monkeypatch):
    # IPython's cells and generated functions ("<...>" names): their text
    # cannot change, so the comparison is skipped for them.

    source = textwrap.dedent(
        """
        def f(a):
            for i in range(a.shape[0]):
                a[i] = i
        """
    )
    fn = nestgen.make_function(source, "f")
    calls = []
    real = _rewrite._compile_like
    monkeypatch.setattr(_rewrite, "_compile_like", lambda tree, old: calls.append(1) or real(tree, old))
    _rewrite.compile_function(fn, lambda *args: None)
    assert len(calls) == 1  # the rewritten function only


def test_a_cell_rewritten_into_a_file_still_runs_natively(module_dir):
    # xeus-python compiles each cell from a file of its own: the functions
    # the cell defines have the rewritten code (they call the hook by name),
    # which is not what their source compiles to, and must still run.
    import ast

    cell = textwrap.dedent(
        """
        def fill(a):
            for i in range(a.shape[0]):
                a[i] = i * 0.5
            return a
        """
    )
    path = module_dir / "cell_7.py"
    path.write_text(cell)
    namespace = {"np": np}
    tree, _nests = _rewrite.rewrite_module(
        ast.parse(cell), str(path), _rewrite.HOOK_NAME, source=cell, hook_declined=True, module=namespace
    )
    exec(compile(tree, str(path), "exec"), namespace)
    assert _rewrite._names_the_hook(namespace["fill"].__code__)
    for device in DEVICES:
        _run.reset_last_runs()
        a = loopscope.run(namespace["fill"], np.zeros(4), device=device)
        assert a.tolist() == [0.0, 0.5, 1.0, 1.5]
        if device != "auto":
            assert [r["status"] for r in _run.last_runs().values()] == ["ok"], device


TWICE = """
def f(a, factor=2.0, *, shift=0.0):
    for i in range(a.shape[0]):
        a[i] = i * factor + shift
    return a
"""

THRICE = """
def g(a, factor=2.0, *, shift=0.0):
    for i in range(a.shape[0]):
        a[i] = i * factor * 1.5 + shift
    return a
"""


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("through", ["run", "jit"])
def test_a_replaced_code_object_is_rewritten_again(device, through):
    # The rewritten versions are cached per function: a function whose
    # __code__ was replaced after its first run must run its new code.
    f = nestgen.make_function(TWICE, "f")
    g = nestgen.make_function(THRICE, "g")
    call = (lambda a: loopscope.run(f, a, device=device)) if through == "run" else loopscope.jit(f, device=device)
    assert call(np.zeros(3)).tolist() == [0.0, 2.0, 4.0]
    f.__code__ = g.__code__
    assert call(np.zeros(3)).tolist() == f(np.zeros(3)).tolist() == [0.0, 3.0, 6.0]


@pytest.mark.parametrize("device", DEVICES)
def test_replaced_defaults_are_followed(device):
    f = nestgen.make_function(TWICE, "f")
    call = loopscope.jit(f, device=device)
    assert call(np.zeros(3)).tolist() == [0.0, 2.0, 4.0]
    f.__defaults__ = (10.0,)
    f.__kwdefaults__ = {"shift": 0.5}
    assert call(np.zeros(3)).tolist() == f(np.zeros(3)).tolist() == [0.5, 10.5, 20.5]
    f.__kwdefaults__ = None
    with pytest.raises(TypeError) as want:
        f(np.zeros(3))
    with pytest.raises(TypeError) as got:
        call(np.zeros(3))
    assert str(got.value) == str(want.value)


def _asserting(a):
    assert a.ndim == 1, "one dimension"
    for i in range(a.shape[0]):
        a[i] = i * 0.5
    return a


def test_functions_of_a_module_pytest_imported_run_natively():
    # pytest rewrites the assert statements of the modules it imports, so
    # their code is not what their source compiles to: not compared.
    assert type(_asserting.__globals__["__loader__"]).__module__ == "_pytest.assertion.rewrite"
    check(_asserting, _arrays)


def test_a_long_function_calling_an_imported_modules_function_runs_natively(module_dir):
    # PolyBench's gramschmidt, in a file of its own: long enough that its
    # jumps take an EXTENDED_ARG when compiled alone (math.sqrt is a
    # LOAD_METHOD there, a LOAD_ATTR in the module's compile).
    mod, _path = _import(module_dir, "import math\n\n" + inspect.getsource(polybench.gramschmidt))
    assert _rewrite._source_is_its_code(mod.gramschmidt)

    def args():
        a = np.arange(1.0, 13.0).reshape(4, 3) ** 1.5
        return a, np.zeros((3, 3)), np.zeros((4, 3))

    check(mod.gramschmidt, args)
