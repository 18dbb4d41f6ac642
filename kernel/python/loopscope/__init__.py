"""Loopscope: dependence analysis, cost model and parallel code generation for
Python loop nests.

Public API (each name is loaded on first use):

- ``explain(fn, *args, **kwargs)``: analyse the loop nests of ``fn`` for these
  arguments without running them; returns a JSON-serialisable report.
- ``run(fn, *args, device="auto", **kwargs)``: run ``fn`` with its loop nests
  executed by the chosen variant.
"""

import importlib

__version__ = "0.1.0"

_LAZY = {
    "explain": "._explain",
    "run": "._run",
}


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'loopscope' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
