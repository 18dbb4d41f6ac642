"""``loopscope.run``: run a function with its loop nests executed by a chosen
variant.

    loopscope.run(fn, *args, device="auto", **kwargs)

``fn`` is rewritten once (see ``_rewrite``): each outermost ``for ... in
range(...)`` nest the front end accepts calls a device hook with the live
values it reads. The hook runs the nest natively and returns the scalars and
loop variables to write back, or returns ``None`` and the original Python
loop runs. Arrays are updated in place; ``run`` returns what ``fn`` returns.

Devices (``DEVICES``: name -> hook ``(nest_id, env) -> dict | None``):

- ``"python"``: every nest runs as plain Python.
- ``"cpu"``: LLVM-compiled native code, parallel loops on all cores.
- ``"cpu-serial"``: the same code with every loop sequential.
- ``"auto"``: the cost model's choice (``_cost.choose``) when it is
  available, else ``"cpu"``.

Other modules add devices with ``register_device(name, hook)`` (for example
``"gpu-emulated"``); ``"auto"`` uses a registered ``"gpu"`` device when the
cost model picks the GPU.

Whatever the device, results are those of CPython: a nest the engine cannot
run exactly (unsupported construct, a subscript that may be out of range, an
integer that may overflow, a division by zero on Python numbers, ...) runs as
Python, which raises exactly what Python raises, with no extra writes.
``last_runs()`` tells, per nest, what happened on its latest execution.
"""

import threading
import time
import types
import weakref

import _loopscope

from . import _callees, _cost, _cost_calibrate, _cuda, _records, _rewrite
from ._errors import internal

__all__ = ["run", "DEVICES", "register_device", "last_runs", "reset_last_runs", "compiled"]

DEVICES = {}
_COMPILED = weakref.WeakKeyDictionary()  # fn -> {device: rewritten fn, or None}
_NOT_REWRITTEN = weakref.WeakKeyDictionary()  # fn -> why it runs as it is


def register_device(name, hook):
    """Adds (or replaces) a device: ``hook(nest_id, env)`` runs the nest and
    returns the dict of names to write back, or ``None`` to run Python."""
    if not callable(hook):
        raise TypeError("a device hook must be callable")
    DEVICES[str(name)] = hook


def last_runs():
    """nest id -> the latest execution record: ``{"device", "status",
    "decline", "reason", "timing", "parallel_loops"}``; status is "ok" (ran
    natively), "declined" or "fallback" (ran as Python), "python", or
    "interrupted" (Ctrl-C stopped the native run); "decline" is a
    ``_records.Decline`` (None when it ran) and "reason" its sentence. A nest
    of a function rewritten by ``run`` (the function given, or one of its
    module it called) also has "function" (its qualified name), "filename"
    and "line" (the nest's line in that file)."""
    runs = _records.last_runs()
    for nest_id, r in runs.items():
        rec = _rewrite.NESTS.get(nest_id)
        if rec is not None and rec.function:
            r["function"], r["filename"], r["line"] = rec.function, rec.filename, rec.line + rec.def_line - 1
    return runs


def reset_last_runs():
    _records.reset()


class Trip:
    """``with Trip(nest_id, env):`` one execution of a nest as one trip of the
    engine: the entry points called inside with this env read its values once
    and generate its CUDA once (bindings/pipeline.hpp). A ``None`` env (a name
    the nest reads is not defined) opens nothing."""

    __slots__ = ("_open", "_nest_id", "_env")

    def __init__(self, nest_id, env):
        self._nest_id, self._env, self._open = nest_id, env, False

    def __enter__(self):
        if self._env is not None:
            _loopscope.trip_begin(self._nest_id, self._env)
            self._open = True
        return self

    def __exit__(self, *exc):
        if self._open:
            self._open = False
            _loopscope.trip_end()
        return False


def _cpu_hook(parallel, name):
    def hook(nest_id, env):
        if env is None:  # a name the nest reads is not defined: Python raises
            _records.record(nest_id, name, {"status": "declined", "decline": _records.NOT_DEFINED})
            return None
        try:
            r = _loopscope.cpu_run(nest_id, env, parallel)
        except KeyboardInterrupt:
            _records.record(nest_id, name, {"status": "interrupted", "decline": _records.USER_INTERRUPT})
            raise
        except Exception as exc:  # an engine bug must never break the user's code
            decline = _records.internal_decline(internal(exc, "CPU compiler"), exc)
            _records.record(nest_id, name, {"status": "declined", "decline": decline})
            return None
        _records.record(nest_id, name, r)
        if r["status"] == "ok":
            return r["outputs"]
        return None

    hook.__name__ = f"_{name.replace('-', '_')}_hook"
    return hook


def _python_hook(nest_id, env):
    _records.record(nest_id, "python", {"status": "python"})
    return None


def _choose(nest_id, env):
    try:
        choice = _cost.choose(nest_id, env)
    except Exception:
        return "cpu"
    if choice == "gpu":
        return "gpu" if "gpu" in DEVICES else "cpu"
    return choice if choice in DEVICES else "cpu"


class _PythonClock(threading.local):
    """The Python runs auto chose, timed per thread: nest id -> (start, the
    values' decision signature). The clock stops when the loop's Python code
    ends (``_rewrite.AUTO_PYTHON_RAN_LISTENER``); a loop that raises never
    stops it, and its entry is replaced at the nest's next run."""

    def __init__(self):
        self.started = {}

    def start(self, nest_id, env):
        try:
            self.started[nest_id] = (time.perf_counter(), _cost.chosen_signature(nest_id, env))
        except Exception:
            pass

    def stop(self, nest_id):
        entry = self.started.pop(nest_id, None)
        if entry is not None:
            _cost.note_python_time(nest_id, entry[1], time.perf_counter() - entry[0])


_python_clock = _PythonClock()
_rewrite.AUTO_PYTHON_RAN_LISTENER[0] = _python_clock.stop


_auto_kept = getattr(_loopscope, "auto_kept", None)


def _auto_hook(nest_id, env):
    if env is None:
        return _python_hook(nest_id, env)
    # A warm execution on a kept native decision: the engine's mirror of it
    # answers without a signature built in Python (_cost._mirror_kept).
    try:
        kept = _auto_kept(nest_id, env) if _auto_kept is not None else None
    except Exception:
        kept = None
    if kept is not None:
        device, slow_above_s = kept
        # What choose saw last is not this run (an env's id may be reused).
        _cost.last_chosen_clear()
        out = DEVICES[device](nest_id, env)
        if out is None:
            _after_no_native_run(nest_id, env, device)
        elif device == "cpu":
            # Only a slow parallel run is noted (it sends these values to one core).
            seconds = _records.optimised_run_seconds_of(nest_id)
            if seconds is not None and seconds > slow_above_s:
                _cost.note_native_run(nest_id, env, device, seconds)
        return out
    device = _choose(nest_id, env)
    # A compile on the background thread (often the trial variant's, queued
    # by _choose just now) holds a core while a parallel run starts.
    beside_compile = device == "cpu" and _loopscope.cpu_compiling_in_background()
    out = DEVICES[device](nest_id, env)
    if out is not None and (device == "cpu" or (device == "cpu-serial" and _cost.measuring(nest_id, env))):
        # How long optimised code took, for the choice between one core and
        # all of them (_cost.note_native_run; a parallel run is always
        # checked against the serial prediction). Quick code is slower by
        # design: not measured.
        seconds = _records.optimised_run_seconds_of(nest_id)
        if seconds is not None:
            _cost.note_native_run(nest_id, env, device, seconds, beside_compile=beside_compile)
    if out is None:
        _after_no_native_run(nest_id, env, device)
    return out


def _after_no_native_run(nest_id, env, device):
    """The chosen device did not run the nest: Python runs the loop."""
    status = _records.status_of(nest_id) if device != "python" else None
    if status == "fallback":
        # The native code stopped (a subscript out of range, an int beyond
        # 64 bits, ...) and Python ran the loop: these values run as Python next time.
        _cost.note_stopped(nest_id, env)
    elif status == "declined":
        # The device declined these values as it ran (a native decision is
        # kept for a while): the next run decides again.
        _cost.note_declined(nest_id, env)
    # What the interpreter takes on these values, for the next decision.
    _python_clock.start(nest_id, env)


register_device("python", _python_hook)
register_device("cpu", _cpu_hook(True, "cpu"))
register_device("cpu-serial", _cpu_hook(False, "cpu-serial"))
register_device("auto", _auto_hook)


# The GPU variant's devices: "gpu" (CUDA driver, else the CPU device with the
# reason recorded) and "gpu-emulated" (the generated CUDA run by the CPU emulator).
for _name, _hook in _cuda.devices(cpu_fallback=DEVICES["cpu"]).items():
    register_device(_name, _hook)


def _dispatch(device):
    # Looked up at each call so that a device registered later is found. The
    # env is bound (and the names the compiled code assumes checked) once,
    # here, before any device sees it, and the execution is one trip of the
    # engine (bindings/pipeline.hpp).
    def hook(nest_id, env):
        h = DEVICES.get(device)
        if h is None:
            raise ValueError(f"unknown device {device!r}; known: {sorted(DEVICES)}")
        env, decline = _rewrite.bind_env(nest_id, env)
        if env is None:
            _records.record(nest_id, device, {"status": "declined", "decline": decline})
            return None
        # Trip's work without its object: this runs at every nest execution.
        _loopscope.trip_begin(nest_id, env)
        try:
            return h(nest_id, env)
        finally:
            _loopscope.trip_end()

    return hook


def _cache_key(fn):
    # A bound method is a new object at each attribute access: cache its function.
    return getattr(fn, "__func__", fn)


def compiled(fn, device="auto"):
    """``fn`` rewritten so that its nests go to ``device`` (cached per
    function and code object: a function whose ``__code__`` was replaced is
    rewritten again, and one whose defaults were replaced passes them on). A
    function that cannot be rewritten (no source, not a Python function) is
    returned as it is: it runs as plain Python, and ``not_rewritten(fn)``
    says why."""
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}; known: {sorted(DEVICES)}")
    key = _cache_key(fn)
    code = getattr(key, "__code__", None)
    try:
        per_fn = _COMPILED.get(key)
    except TypeError:
        per_fn = None
    entry = per_fn.get(device) if per_fn is not None else None
    if entry is not None and entry[0] is code:
        new_fn = entry[1]
    else:
        try:
            # The functions of its module that fn calls run rewritten too, on the same device.
            hook = _dispatch(device)
            new_fn, _nests = _rewrite.compile_function(key, hook, callees=_callees.Table.of(key, hook))
        except _rewrite.NotRewritable as why:
            new_fn = None
            try:
                _NOT_REWRITTEN[key] = str(why)
            except TypeError:
                pass
        try:
            _COMPILED.setdefault(key, {})[device] = (code, new_fn)
        except TypeError:
            pass
    if new_fn is None:
        return fn
    if type(new_fn) is types.FunctionType and type(key) is types.FunctionType:
        # Defaults are read when the call is made: follow fn's if they were replaced.
        if new_fn.__defaults__ is not key.__defaults__:
            new_fn.__defaults__ = key.__defaults__
        if new_fn.__kwdefaults__ is not key.__kwdefaults__:
            new_fn.__kwdefaults__ = key.__kwdefaults__
    if key is not fn:  # rebind the rewritten function as fn was bound
        return types.MethodType(new_fn, fn.__self__)
    return new_fn


def not_rewritten(fn):
    """Why ``fn``'s loops run as plain Python under ``run``, or None."""
    try:
        return _NOT_REWRITTEN.get(_cache_key(fn))
    except TypeError:
        return None


def run(fn, *args, device="auto", **kwargs):
    """Runs ``fn(*args, **kwargs)`` with its loop nests executed by ``device``
    ("auto", "cpu", "cpu-serial", "python", or one registered later) and
    returns what ``fn`` returns. Arrays are modified in place, as Python would."""
    return compiled(fn, device)(*args, **kwargs)


# What a native call costs on this host, measured through run() when the
# cost model first needs the host's figures.
_cost.register_calibration(
    "engine", "dispatch_calibrated", lambda: _cost_calibrate.calibrate_engine(run=run, last_runs=last_runs)
)
