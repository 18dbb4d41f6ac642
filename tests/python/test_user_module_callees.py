"""Functions of the user's own files called by a rewritten function.

``loopscope.run(pipeline, a)`` where ``pipeline`` calls ``smooth`` from a
``utils.py`` beside the notebook (``from utils import smooth`` or
``utils.smooth(a)``) runs the nests of ``smooth`` on the device given, as it
runs those of the functions of ``pipeline``'s own module
(``_callees.user_module``). Functions of installed code (the standard
library, site-packages) are called as they are, and so is a function whose
file changed since it was imported. Every case is compared with CPython on
every device.
"""

import ast
import contextlib
import importlib
import io
import itertools
import textwrap

import numpy as np
import pytest

import loopscope
from differential import DEVICES, NATIVE_DEVICES, check, use_temporary_cache  # noqa: F401
from loopscope import _callees, _run

_names = itertools.count(1)

UTILS = """
import numpy as np


def smooth(a):
    out = np.empty_like(a)
    out[0] = a[0]
    out[-1] = a[-1]
    for i in range(1, a.shape[0] - 1):
        out[i] = (a[i - 1] + a[i] + a[i + 1]) / 3.0
    a[:] = out


def scale(a, f=2.0):
    for i in range(a.shape[0]):
        a[i] = a[i] * f


def no_loop(a):
    return a.sum()


def twice(a):
    scale(a)
    scale(a, 0.5)
"""

PIPELINE = """
import UTILS
from UTILS import smooth, twice


def pipeline(a):
    smooth(a)
    UTILS.scale(a, 3.0)
    twice(a)
    return UTILS.no_loop(a)
"""


@pytest.fixture
def modules(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    utils = f"loopscope_utils_{next(_names)}"
    (tmp_path / f"{utils}.py").write_text(UTILS)
    main = f"loopscope_main_{next(_names)}"
    (tmp_path / f"{main}.py").write_text(PIPELINE.replace("UTILS", utils))
    importlib.invalidate_caches()
    return importlib.import_module(main), importlib.import_module(utils), tmp_path / f"{utils}.py"


def _arrays():
    return (np.linspace(-1.0, 2.0, 12),)


def test_user_module_files_are_the_users():
    import json

    assert _callees.user_module(vars(importlib.import_module("differential")))
    assert not _callees.user_module(vars(json))  # the standard library
    assert not _callees.user_module(vars(np.lib.npyio))  # an installed package
    assert not _callees.user_module(vars(_callees))  # the engine itself
    assert not _callees.user_module({"__name__": "nowhere", "__file__": "/nonexistent/x.py"})


def test_the_nests_of_functions_in_the_users_files_run_on_the_device(modules):
    main, _utils, _path = modules
    records = check(main.pipeline, _arrays)
    for device in NATIVE_DEVICES:
        # smooth's nest, and scale's (called through the module's attribute and inside twice)
        ran = sorted(r["function"] for r in records[device] if r["status"] == "ok")
        assert ran == ["scale", "smooth"], (device, records[device])


def test_jit_and_explain_reach_them(modules):
    main, _utils, _path = modules
    a = _arrays()[0]
    want = _arrays()[0]
    main.pipeline(want)
    assert loopscope.jit(main.pipeline, device="cpu")(a) == main.pipeline(_arrays()[0])
    report = loopscope.explain(main.pipeline, _arrays()[0])
    assert {n["function"] for n in report["nests"]} >= {"smooth", "scale"}


def test_a_users_file_changed_since_its_import_runs_as_it_is(modules):
    main, _utils, path = modules
    path.write_text(path.read_text().replace("/ 3.0", "/ 4.0"))
    records = check(main.pipeline, _arrays, native=False)
    for device in DEVICES:
        assert "smooth" not in {r["function"] for r in records[device]}, device


def test_installed_code_is_called_as_it_is(modules, monkeypatch):
    main, _utils, path = modules
    # The same files seen as installed code: nothing of them is rewritten.
    monkeypatch.setattr(_callees, "_LIBRARY_FOLDERS", (str(path.parent) + "/",))
    monkeypatch.setattr(_callees, "_USER_FILES", {})
    records = check(main.pipeline, _arrays, native=False)
    for device in DEVICES:
        assert records[device] == [], device


def test_a_module_name_rebound_to_something_else_is_called_as_it_is(modules):
    main, utils, _path = modules
    name = utils.__name__

    class Fake:
        @staticmethod
        def scale(a, f):
            a += f

        @staticmethod
        def no_loop(a):
            return 0.0

    setattr(main, name, Fake)
    try:
        check(main.pipeline, _arrays, native=False)
    finally:
        setattr(main, name, utils)


# --- the kernel ----------------------------------------------------------------------------


def _cells(shell, cells, mode="cpu quiet"):
    with contextlib.redirect_stdout(io.StringIO()):
        shell.run_line_magic("loopscope", mode)
    shell.user_ns.clear()
    shell.init_user_ns()
    _run.reset_last_runs()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        results = [shell.run_cell(textwrap.dedent(c), silent=True) for c in cells]
    return results, _run.last_runs()


@pytest.mark.parametrize(
    "call",
    [
        "smooth(a)",  # a name imported from the user's file
        "UTILS.smooth(a)",  # an attribute of the user's module
        "def go(x):\n    UTILS.scale(x, 3.0)\n    twice(x)\n    smooth(x)\ngo(a)",  # from a cell's function
        "if a.size:\n    try:\n        smooth(a)\n    finally:\n        b = 1",  # under statements
        "for k in range(2):\n    a[k] = 0.5\nsmooth(a)",  # beside a nest of the cell
    ],
)
def test_cells_calling_functions_of_the_users_files_run_their_nests(modules, shell, call):
    _main, utils, _path = modules
    name = utils.__name__
    setup = f"import numpy as np\nimport {name}\nfrom {name} import smooth, twice\na = np.linspace(-1.0, 2.0, 12)"
    body = call.replace("UTILS", name)
    plain = {}
    exec(setup, plain)
    exec(body, plain)
    results, runs = _cells(shell, [setup, body])
    assert all(r.success for r in results), [r.error_in_exec for r in results]
    assert shell.user_ns["a"].tobytes() == plain["a"].tobytes()
    functions = {r.get("function") for r in runs.values() if r["status"] == "ok"}
    assert "smooth" in functions or "scale" in functions, runs


def test_a_cell_without_calls_of_user_code_is_left_as_it_is(modules, shell):
    # No loop and no call of the user's files: the transformer returns the tree it was given.
    from loopscope import _cell

    tree = ast.parse("x = abs(-3)\nprint(len('ab'))")
    assert _cell.LoopNestTransformer().visit(tree) is tree
    assert ast.dump(tree) == ast.dump(ast.parse("x = abs(-3)\nprint(len('ab'))"))


def test_cells_keep_pythons_exceptions_and_tracebacks(modules, shell):
    _main, utils, path = modules
    name = utils.__name__
    setup = f"import numpy as np\nimport {name}\na = np.linspace(-1.0, 2.0, 12)"
    results, _runs = _cells(shell, [setup, f"{name}.scale(a, 'x')", f"{name}.missing(a)"])
    assert results[0].success
    assert isinstance(results[1].error_in_exec, TypeError)
    assert isinstance(results[2].error_in_exec, AttributeError)
    assert str(results[2].error_in_exec) == f"module '{name}' has no attribute 'missing'"


def test_cells_in_python_mode_run_the_functions_as_python(modules, shell):
    _main, utils, _path = modules
    name = utils.__name__
    setup = f"import numpy as np\nimport {name}\na = np.linspace(-1.0, 2.0, 12)"
    results, runs = _cells(shell, [setup, f"{name}.smooth(a)"], mode="python quiet")
    assert all(r.success for r in results)
    assert all(r["status"] != "ok" for r in runs.values()), runs


def test_the_kernel_runs_the_nests_of_the_users_files(kernel, tmp_path):
    (tmp_path / "kernel_utils.py").write_text(UTILS)
    setup = kernel.execute(
        f"import sys\nsys.path.insert(0, {str(tmp_path)!r})\nimport numpy as np\nimport kernel_utils\n"
        "from kernel_utils import twice\n%loopscope cpu quiet\na = np.linspace(-1.0, 2.0, 12)\n"
        "from loopscope import _run\n_run.reset_last_runs()"
    )
    assert setup.status == "ok", setup.error
    ran = kernel.execute("kernel_utils.smooth(a)\ntwice(a)")
    assert ran.status == "ok", ran.error
    check = kernel.execute(
        "print(sorted({r['function'] for r in _run.last_runs().values() if r['status'] == 'ok'}), a.tobytes().hex())"
    )
    want = np.linspace(-1.0, 2.0, 12)
    plain_utils = {}
    exec(UTILS, plain_utils)
    plain_utils["smooth"](want)
    plain_utils["twice"](want)
    assert check.stream().strip() == f"['scale', 'smooth'] {want.tobytes().hex()}"


# --- a cell that imports the user's module and calls it, methods of a cell's class ------------


@pytest.mark.parametrize(
    "cell",
    [
        "import UTILS\nUTILS.smooth(a)",
        "import UTILS as u\nu.smooth(a)\nu.twice(a)",
        "from UTILS import smooth, twice\nsmooth(a)\ntwice(a)",
        "from UTILS import *\nsmooth(a)",
        "from UTILS import smooth as sm\ndef go(x):\n    sm(x)\ngo(a)",
        "import UTILS\ndef go(x):\n    UTILS.scale(x, 3.0)\ngo(a)",
    ],
)
def test_a_cell_that_imports_the_users_module_reaches_its_nests_at_once(modules, shell, cell):
    _main, utils, _path = modules
    name = utils.__name__
    setup = "import numpy as np\na = np.linspace(-1.0, 2.0, 12)"
    body = cell.replace("UTILS", name)
    plain = {}
    exec(setup, plain)
    exec(body, plain)
    results, runs = _cells(shell, [setup, body])
    assert all(r.success for r in results), [r.error_in_exec for r in results]
    assert shell.user_ns["a"].tobytes() == plain["a"].tobytes()
    functions = {r.get("function") for r in runs.values() if r["status"] == "ok"}
    assert "smooth" in functions or "scale" in functions, runs


def test_a_name_the_cell_imports_over_another_value_is_routed(modules, shell):
    _main, utils, _path = modules
    name = utils.__name__
    # smooth holds a class before the cell; the cell's import rebinds it.
    setup = "import numpy as np\na = np.linspace(-1.0, 2.0, 12)\nclass smooth:\n    pass"
    body = f"from {name} import smooth\nsmooth(a)"
    plain = {}
    exec(setup, plain)
    exec(body, plain)
    results, runs = _cells(shell, [setup, body])
    assert all(r.success for r in results), [r.error_in_exec for r in results]
    assert shell.user_ns["a"].tobytes() == plain["a"].tobytes()
    assert "smooth" in {r.get("function") for r in runs.values() if r["status"] == "ok"}, runs


def test_a_cell_importing_the_users_module_keeps_pythons_errors(modules, shell):
    _main, utils, _path = modules
    name = utils.__name__
    setup = "import numpy as np\na = np.linspace(-1.0, 2.0, 12)"
    results, _runs = _cells(shell, [setup, f"import {name}\n{name}.missing(a)", f"import {name}\n{name}.scale(a, 'x')"])
    assert results[0].success
    assert isinstance(results[1].error_in_exec, AttributeError)
    assert str(results[1].error_in_exec) == f"module '{name}' has no attribute 'missing'"
    assert isinstance(results[2].error_in_exec, TypeError)


CLASS_CELL = """
class Base:
    def prepare(self, x):
        UTILS.scale(x, 3.0)


class Filter(Base):
    factor = 0.5

    def run(self, x):
        super().prepare(x)
        smooth(x)
        twice(x)
        return UTILS.no_loop(x) * self.factor

    @staticmethod
    def again(x):
        smooth(x)

    class Inner:
        def go(self, x):
            smooth(x)


r = Filter().run(a)
Filter.again(a)
Filter.Inner().go(a)
"""


def test_methods_of_a_cells_class_reach_the_nests_of_the_users_files(modules, shell):
    _main, utils, _path = modules
    name = utils.__name__
    setup = f"import numpy as np\nimport {name}\nfrom {name} import smooth, twice\na = np.linspace(-1.0, 2.0, 12)"
    body = CLASS_CELL.replace("UTILS", name)
    plain = {}
    exec(setup, plain)
    exec(body, plain)
    results, runs = _cells(shell, [setup, body])
    assert all(r.success for r in results), [r.error_in_exec for r in results]
    assert shell.user_ns["a"].tobytes() == plain["a"].tobytes()
    assert shell.user_ns["r"] == plain["r"] and type(shell.user_ns["r"]) is type(plain["r"])
    functions = {r.get("function") for r in runs.values() if r["status"] == "ok"}
    assert {"smooth", "scale"} <= functions, runs
    # Called from the next cell too, and after the method's name is rebound in the module.
    results, runs = _cells(shell, [setup, body, "smooth = lambda x: None\nFilter.again(a)"])
    assert all(r.success for r in results), [r.error_in_exec for r in results]
    assert shell.user_ns["a"].tobytes() == plain["a"].tobytes()


def test_the_kernel_runs_a_module_imported_in_the_same_cell_and_methods(kernel, tmp_path):
    (tmp_path / "kernel_utils2.py").write_text(UTILS)
    setup = kernel.execute(
        f"import sys\nsys.path.insert(0, {str(tmp_path)!r})\nimport numpy as np\n"
        "%loopscope cpu quiet\na = np.linspace(-1.0, 2.0, 12)\n"
        "from loopscope import _run\n_run.reset_last_runs()"
    )
    assert setup.status == "ok", setup.error
    ran = kernel.execute(
        "import kernel_utils2\nkernel_utils2.smooth(a)\n"
        "class P:\n    def go(self, x):\n        kernel_utils2.scale(x, 3.0)\nP().go(a)"
    )
    assert ran.status == "ok", ran.error
    check = kernel.execute(
        "print(sorted({r['function'] for r in _run.last_runs().values() if r['status'] == 'ok'}), a.tobytes().hex())"
    )
    want = np.linspace(-1.0, 2.0, 12)
    plain_utils = {}
    exec(UTILS, plain_utils)
    plain_utils["smooth"](want)
    plain_utils["scale"](want, 3.0)
    assert check.stream().strip() == f"['scale', 'smooth'] {want.tobytes().hex()}"
