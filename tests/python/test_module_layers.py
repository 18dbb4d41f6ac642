"""The loopscope package's modules form layers: no module imports, even
inside a function, one that imports it back. The package's ``__init__`` is
the public facade on top: it imports the others lazily and none imports it.

The layers, bottom to top: ``_errors``, ``_records``, ``_settings``,
``_rewrite``, ``_report_common``; ``_cost_calibrate``, ``_cuda``; ``_cost``
(prices; the calibrations that run the engine or the report are registered
into it by ``_run`` and ``_cell``); ``_run`` (devices); ``_explain``,
``_cost_hook``; the report (``_report_graph``, ``_report_chart``,
``_report``); ``_magic``; ``_cell``; ``_kernel_support``."""

import ast
import os

from conftest import ROOT

PACKAGE = os.path.join(ROOT, "kernel", "python", "loopscope")


def imports_of(path):
    """The package modules a module imports, at its top level or anywhere inside."""
    tree = ast.parse(open(path).read(), path)
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:  # from ._x import y
                out.add(node.module.split(".")[0])
            else:  # from . import _x, _y
                out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("loopscope"):
            parts = node.module.split(".")
            out.update([parts[1]] if len(parts) > 1 else [a.name for a in node.names])
    return out


def graph():
    modules = {f[:-3] for f in os.listdir(PACKAGE) if f.endswith(".py")}
    return {m: sorted(imports_of(os.path.join(PACKAGE, m + ".py")) & modules) for m in modules}


def test_no_module_imports_the_facade():
    g = graph()
    assert not [m for m, deps in g.items() if "__init__" in deps and m != "__init__"]
    importers = [m for m, deps in g.items() if m != "__init__" and any(d in ("loopscope",) for d in deps)]
    assert not importers


def test_the_modules_have_no_import_cycle():
    g = graph()
    g.pop("__init__")
    state, stack, cycles = {}, [], []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for d in g.get(m, []):
            if state.get(d) == "open":
                cycles.append(stack[stack.index(d) :] + [d])
            elif d not in state:
                visit(d)
        stack.pop()
        state[m] = "done"

    for m in sorted(g):
        if m not in state:
            visit(m)
    assert not cycles, " ; ".join(" -> ".join(c) for c in cycles)
