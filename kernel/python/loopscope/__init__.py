"""Loopscope: dependence analysis, cost model and parallel code generation for
Python loop nests.

Public API (each name is loaded on first use):

- ``explain(fn, *args, **kwargs)``: analyse the loop nests of ``fn`` for these
  arguments without running them; returns a JSON-serialisable report.
- ``run(fn, *args, device="auto", **kwargs)``: run ``fn`` with its loop nests
  executed by the chosen variant.
- ``estimate(fn, *args, gpu=None, **kwargs)``: the cost model's estimate of
  each loop nest of ``fn`` for these arguments (per variant: scheduling,
  transfer, compute, compile; the decision and its reason; predicted time
  against problem size).
- ``jit(fn=None, *, device="auto")``: a decorator; calls of the decorated
  function run its loop nests as ``run`` does.
- ``set_reassociation(allowed)``: whether a loop that adds (or multiplies)
  into a floating-point accumulator may run in parallel. Off by default, so
  results are Python's bit for bit; on, such sums run in parallel and may
  differ in the last bits (as with Numba's ``parallel=True``). Returns the
  previous setting. ``%loopscope reassociate on|off`` in the kernel.
- ``%load_ext loopscope`` in IPython: loop-nest interception, reports and the
  ``%loopscope`` magic, as in the Loopscope kernel.
"""

import importlib

__version__ = "0.1.0"

_LAZY = {
    "explain": "._explain",
    "run": "._run",
    "estimate": "._cost_hook",
}


def jit(fn=None, *, device="auto"):
    """Decorator: ``@loopscope.jit`` or ``@loopscope.jit(device="cpu")``.

    The function is rewritten on first call (as ``loopscope.run`` does) and
    its loop nests run on ``device``; everything else is plain Python."""
    import functools

    def wrap(f):
        from . import _run

        @functools.wraps(f)
        def wrapper(*args, **kwargs):
            return _run.compiled(f, device)(*args, **kwargs)

        wrapper.loopscope_device = device
        return wrapper

    return wrap if fn is None else wrap(fn)


def set_reassociation(allowed):
    """Lets floating-point sums and products run in parallel (``True``) or
    keeps Python's order (``False``, the default). Process-wide; returns the
    previous setting."""
    from . import _cost

    return _cost.set_reassociation(allowed)


def load_ipython_extension(ipython):
    """``%load_ext loopscope``: intercept loop nests in this IPython session."""
    from . import _cell

    _cell.register(ipython)


def unload_ipython_extension(ipython):
    from . import _cell

    _cell.unregister(ipython)


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'loopscope' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
