"""Runs the programs of ``progen`` in CPython and through Loopscope, and
compares them.

A program is a list of cells. Each way of running it executes the cells in
order in one namespace; an exception ends its cell (as in a notebook) and
the next cell runs. What is compared, cell by cell: the text written to
stdout and the exception (class and message); at the end: every variable of
the namespace (values, types, array dtype/shape/bytes; NaN equals NaN).

Ways of running (``MODES``):

- ``ipython:MODE`` for MODE in auto, cpu, gpu, python, off: an in-process
  IPython shell with ``%load_ext loopscope``, ``%loopscope MODE quiet``;
  ``CALL(f, *a)`` is ``f(*a)`` and ``@JIT`` does nothing.
- ``run:DEVICE`` for DEVICE in auto, cpu, cpu-serial, python, gpu-emulated:
  plain ``exec`` of the cells where ``CALL(f, *a)`` is
  ``loopscope.run(f, *a, device=DEVICE)`` and ``@JIT`` is
  ``loopscope.jit(device=DEVICE)``.

The reference is plain ``exec`` with ``CALL(f, *a)`` = ``f(*a)``.

A difference is a ``crash`` when an internal error leaked or happened (a
name of the rewriter such as ``__ls_env`` in an exception or left in the
namespace, "cannot access free variable", SystemError, C++ exception text,
an internal error sent to the ``loopscope`` logger even if the loop then ran
as Python, a "Loopscope:" message on stderr, a hang, a dead process) and
``wrong`` otherwise (other stdout, exception or variables). Each failure has
a short signature for grouping.

Programs run in worker processes (``run_seeds``): a worker that dies (a
segfault in the engine) or hangs is replaced, the mode it was running counts
as a crash and the program's other modes still run. The CPU compile tier is
fixed per seed (quick or optimised, alternately), so runs are deterministic.

Campaign::

    .venv/bin/python tests/python/progen_runner.py --programs 500 --seed 0 --jobs 2

prints progress and, last, ``programs=N wrong=W crashes=C`` (programs with
at least one wrong result / crash in some mode); failing programs are written
to ``--out`` (default build/progen-failures), each with its differences.
``--modes`` runs a subset of the modes; ``--show SEED`` prints one program
and its differences.
"""

import argparse
import builtins
import contextlib
import io
import linecache
import logging
import math
import os
import re
import signal
import sys
import time
import traceback
import types
import warnings
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import progen  # noqa: E402

IPYTHON_MODES = ("auto", "cpu", "gpu", "python", "off", "auto-full")
RUN_DEVICES = ("auto", "cpu", "cpu-serial", "python", "gpu-emulated")
MODES = tuple(f"ipython:{m}" for m in IPYTHON_MODES) + tuple(f"run:{d}" for d in RUN_DEVICES)
INJECTED = ("CALL", "JIT")
TIMEOUT_S = 30


class ProgramTimeout(BaseException):
    pass


@dataclass
class Outcome:
    cells: List[Tuple[str, Optional[Tuple[str, str]]]] = field(default_factory=list)  # (stdout, (exc, msg))
    cell_names: List[Dict[str, Any]] = field(default_factory=list)  # the namespace after each cell
    names: Dict[str, Any] = field(default_factory=dict)  # snapshot of the namespace at the end
    stderr: str = ""
    timeout: bool = False
    internal: Optional[str] = None  # the harness itself failed
    logged: List[str] = field(default_factory=list)  # internal errors sent to the loopscope logger
    stats: Dict[str, int] = field(default_factory=dict)  # nest executions by status
    reasons: Dict[str, int] = field(default_factory=dict)  # why nests did not run natively


@dataclass
class Failure:
    seed: int
    mode: str
    kind: str  # "wrong", "crash" or "skipped" (the program itself is too slow)
    signature: str  # short, for grouping
    detail: str

    def line(self):
        return f"seed {self.seed} {self.mode}: {self.kind}: {self.signature}"


# --- snapshots of values ------------------------------------------------------------------


def _canon_array(a: np.ndarray):
    if a.dtype.kind in "fc" and a.dtype.itemsize > 8 * (2 if a.dtype.kind == "c" else 1):
        # long double: the padding bytes are garbage
        return (
            a.dtype.str,
            a.shape,
            [np.format_float_scientific(x) if a.dtype.kind == "f" else repr(x) for x in a.ravel()],
        )
    if a.dtype.kind in "fc":
        a = np.array(a, copy=True)
        a[np.isnan(a)] = np.nan
    elif a.dtype.kind == "O":
        return ("object array", a.shape, [snapshot(x) for x in a.ravel().tolist()])
    return (a.dtype.str, a.shape, np.ascontiguousarray(a).tobytes())


def snapshot(v, depth=0):
    """A comparable, picklable picture of a value."""
    if depth > 6:
        return ("deep", type(v).__name__)
    if v is None or isinstance(v, (bool, str, bytes)):
        return (type(v).__name__, v)
    if isinstance(v, int):
        return ("int", v)
    if isinstance(v, float):
        return ("float", "nan" if math.isnan(v) else repr(v))
    if isinstance(v, complex):
        return ("complex", repr(v))
    if isinstance(v, np.ndarray):
        return ("ndarray",) + _canon_array(v)
    if isinstance(v, np.generic):
        if isinstance(v, np.floating):
            return (type(v).__name__, "nan" if np.isnan(v) else np.format_float_scientific(v))
        if isinstance(v, np.complexfloating):
            return (type(v).__name__, repr(complex(v)))
        return (type(v).__name__, v.item() if hasattr(v, "item") else repr(v))
    if isinstance(v, (list, tuple)):
        return (type(v).__name__, [snapshot(x, depth + 1) for x in v])
    if isinstance(v, dict):
        return ("dict", sorted(((repr(k), snapshot(x, depth + 1)) for k, x in v.items()), key=lambda t: t[0]))
    if isinstance(v, (set, frozenset)):
        return (type(v).__name__, sorted(repr(x) for x in v))
    if isinstance(v, types.ModuleType):
        return ("module", v.__name__)
    if isinstance(v, (types.FunctionType, types.BuiltinFunctionType, types.MethodType, np.ufunc)):
        return ("callable", getattr(v, "__qualname__", getattr(v, "__name__", "?")))
    if isinstance(v, types.GeneratorType):
        return ("generator", v.__qualname__)
    if isinstance(v, range):
        return ("range", repr(v))
    if isinstance(v, BaseException):
        return ("exception", type(v).__name__, str(v))
    if isinstance(v, type):
        attrs = {k: x for k, x in vars(v).items() if not (k.startswith("__") and k.endswith("__")) and not callable(x)}
        return ("class", v.__qualname__, snapshot(attrs, depth + 1))
    if isinstance(v, types.SimpleNamespace) or hasattr(v, "__dict__"):
        try:
            d = vars(v)
        except TypeError:
            d = {}
        return ("object", type(v).__qualname__, snapshot(dict(d), depth + 1))
    return ("other", type(v).__name__)


def _describe(snap, limit=300):
    text = repr(snap)
    return text if len(text) <= limit else text[:limit] + "..."


# --- state the programs may change ---------------------------------------------------------

_PATCHABLE = {"math": ("sqrt", "floor", "exp"), "np": ("sqrt", "minimum", "maximum")}


def _save_modules():
    return {("math", k): getattr(math, k) for k in _PATCHABLE["math"]} | {
        ("np", k): getattr(np, k) for k in _PATCHABLE["np"]
    }


def _restore_modules(saved):
    for (mod, k), v in saved.items():
        setattr(math if mod == "math" else np, k, v)


_CURRENT: Dict[str, Any] = {}


class _LogCapture(logging.Handler):
    """Internal errors the engine logs (it hides them from the user)."""

    def __init__(self, outcome):
        super().__init__(logging.DEBUG)
        self.outcome = outcome

    def emit(self, record):
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            e = record.exc_info[1]
            text += f": {type(e).__name__}: {e}"
        self.outcome.logged.append(text)


def _counting(out, hook):
    def counted(nest_id, env):
        res = hook(nest_id, env)
        out.stats["nests"] = out.stats.get("nests", 0) + 1
        if res is not None:
            out.stats["native"] = out.stats.get("native", 0) + 1
        return res

    return counted


def _patch_record(out, device=None):
    """Counts nest executions by status (loopscope._records.record), hook calls
    ("nests") and the calls that did not run the Python loop ("native")."""
    try:
        from loopscope import _records, _run
    except Exception:
        return lambda: None
    orig = _records.record
    undo = []
    if device is not None and device in _run.DEVICES:
        hook = _run.DEVICES[device]
        _run.DEVICES[device] = _counting(out, hook)
        undo.append(lambda: _run.DEVICES.__setitem__(device, hook))
    elif device is None and hasattr(builtins, "__loopscope_hook__"):
        hook = builtins.__loopscope_hook__
        builtins.__loopscope_hook__ = _counting(out, hook)
        undo.append(lambda: setattr(builtins, "__loopscope_hook__", hook))

    def record(nest_id, device, result):
        st = str(result.get("status"))
        out.stats[st] = out.stats.get(st, 0) + 1
        if st != "ok":
            why = _norm(str(result.get("reason", "")))[:70]
            out.reasons[why] = out.reasons.get(why, 0) + 1
        return orig(nest_id, device, result)

    _records.record = record

    def unpatch():
        _records.record = orig
        for u in undo:
            u()

    return unpatch


@contextlib.contextmanager
def _guard(timeout_s):
    """Warnings off, stdout/stderr captured, modules restored, a time limit."""
    saved = _save_modules()
    builtin_names = set(vars(builtins))
    old_handler = None
    use_alarm = (
        timeout_s
        and hasattr(signal, "SIGALRM")
        and __import__("threading").current_thread() is __import__("threading").main_thread()
    )

    def on_alarm(signum, frame):
        raise ProgramTimeout(f"the program ran for more than {timeout_s} s")

    if use_alarm:
        old_handler = signal.signal(signal.SIGALRM, on_alarm)
        signal.alarm(timeout_s)
    out = _CURRENT.get("outcome")
    log_handler = _LogCapture(out) if out is not None else None
    unpatch = _patch_record(out, _CURRENT.get("device")) if out is not None else (lambda: None)
    logger = logging.getLogger("loopscope")
    old_level = logger.level
    if log_handler is not None:
        logger.addHandler(log_handler)
        logger.setLevel(logging.DEBUG)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with np.errstate(all="ignore"):
                yield
    finally:
        unpatch()
        if log_handler is not None:
            logger.removeHandler(log_handler)
            logger.setLevel(old_level)
        if use_alarm:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old_handler)
        _restore_modules(saved)
        for k in set(vars(builtins)) - builtin_names:
            if not k.startswith("__loopscope"):
                delattr(builtins, k)


def _exc(e):
    return (type(e).__name__, str(e))


def _register_source(seed, k, cell, tag):
    filename = f"<progen-{seed}-{tag}-{k}>"
    linecache.cache[filename] = (len(cell), None, cell.splitlines(True), filename)
    return filename


def _plain_call(f, *a, **k):
    return f(*a, **k)


def _identity(f):
    return f


def _namespace_snapshot(ns, skip):
    out = {}
    for k, v in ns.items():
        if k in skip:
            continue
        out[k] = snapshot(v)
    return out


# --- the ways of running a program ----------------------------------------------------------


def run_exec(prog: progen.Program, device: Optional[str] = None, timeout_s=TIMEOUT_S) -> Outcome:
    """Plain exec of the cells; with `device`, CALL/JIT go through loopscope."""
    out = Outcome()
    ns = {"__name__": "__main__"}
    if device is None:
        ns["CALL"], ns["JIT"] = _plain_call, _identity
    else:
        import loopscope

        ns["CALL"] = lambda f, *a, **k: loopscope.run(f, *a, device=device, **k)
        ns["JIT"] = loopscope.jit(device=device)
    tag = device or "ref"
    err = io.StringIO()
    _CURRENT["outcome"] = out if device is not None else None
    _CURRENT["device"] = device
    try:
        with _guard(timeout_s), contextlib.redirect_stderr(err):
            for k, cell in enumerate(prog.cells):
                buf = io.StringIO()
                exc = None
                try:
                    code = compile(cell, _register_source(prog.seed, k, cell, tag), "exec")
                    with contextlib.redirect_stdout(buf):
                        exec(code, ns)
                except Exception as e:
                    exc = _exc(e)
                out.cells.append((buf.getvalue(), exc))
                out.cell_names.append(
                    _namespace_snapshot(ns, {"__builtins__", "__name__", "__warningregistry__"} | set(INJECTED))
                )
            out.names = out.cell_names[-1] if out.cell_names else {}
    except ProgramTimeout as e:
        out.timeout = True
        out.internal = str(e)
    out.stderr = err.getvalue()
    return out


_SHELL = {}


def _shell():
    """The in-process IPython shell with the extension loaded."""
    ip = _SHELL.get("ip")
    if ip is None:
        from IPython.testing.globalipapp import start_ipython

        with contextlib.redirect_stdout(io.StringIO()):
            ip = start_ipython()
            ip.run_line_magic("load_ext", "loopscope")
        _SHELL["ip"] = ip
    return ip


_IPY_INTERNAL = re.compile(
    r"^(_+|_i+|_i\d+|_\d+|_oh|_ih|_dh|In|Out|get_ipython|exit|quit|_exit_code|" r"__warningregistry__)$"
)


MARKER = "<u>progen</u>"  # user text the generated programs carry (progen.MARKER)


def run_ipython(prog: progen.Program, mode: str, timeout_s=TIMEOUT_S) -> Outcome:
    """``mode`` is a %loopscope mode; "auto-full" is auto with full reports
    (analysis, cost sweeps, CUDA source, dependence graph), which are
    captured and checked: no internal error, and user text escaped."""
    ip = _shell()
    out = Outcome()
    level = "quiet"
    if mode.endswith("-full"):
        mode, level = mode[:-5], "full"
    with contextlib.redirect_stdout(io.StringIO()):
        ip.run_line_magic("loopscope", f"{mode} {level}")
        ip.reset(new_session=False)
    shown = []
    old_publish = ip.display_pub.publish

    def publish(data, metadata=None, *args, **kwargs):
        shown.append(data)

    ip.display_pub.publish = publish
    baseline = set(ip.user_ns)
    ip.user_ns["CALL"], ip.user_ns["JIT"] = _plain_call, _identity
    errors = []

    def showtraceback(etype, evalue, stb):
        errors.append(evalue)

    old_show = ip._showtraceback
    ip._showtraceback = showtraceback
    err = io.StringIO()
    _CURRENT["outcome"] = out
    _CURRENT["device"] = None
    try:
        with _guard(timeout_s), contextlib.redirect_stderr(err):
            for k, cell in enumerate(prog.cells):
                buf = io.StringIO()
                with contextlib.redirect_stdout(buf):
                    result = ip.run_cell(cell, store_history=False, silent=False)
                e = result.error_in_exec or result.error_before_exec
                if isinstance(e, ProgramTimeout):
                    raise e
                out.cells.append((buf.getvalue(), _exc(e) if e is not None else None))
                skip = baseline | set(INJECTED)
                names = {k: v for k, v in ip.user_ns.items() if k not in skip and not _IPY_INTERNAL.match(k)}
                out.cell_names.append(_namespace_snapshot(names, set()))
            out.names = out.cell_names[-1] if out.cell_names else {}
    except ProgramTimeout as e:
        out.timeout = True
        out.internal = str(e)
    finally:
        ip._showtraceback = old_show
        ip.display_pub.publish = old_publish
        with contextlib.redirect_stdout(io.StringIO()):
            ip.run_line_magic("loopscope", "quiet")
    out.stderr = err.getvalue()
    if shown:
        out.stats["reports"] = len(shown)
    for bundle in shown:
        for mime, text in (bundle or {}).items():
            if mime == "text/html" and isinstance(text, str) and "&lt;u&gt;progen&lt;/u&gt;" in text:
                out.stats["escaped user text"] = out.stats.get("escaped user text", 0) + 1
            if mime in ("text/html", "image/svg+xml") and isinstance(text, str) and MARKER in text:
                out.logged.append(f"user text reaches the report's {mime} unescaped: {MARKER}")
                break
    return out


def run_mode(prog, mode, timeout_s=TIMEOUT_S):
    kind, _, name = mode.partition(":")
    if kind == "ipython":
        return run_ipython(prog, name, timeout_s)
    return run_exec(prog, name, timeout_s)


# --- comparison -----------------------------------------------------------------------------------

_CRASH_TEXT = re.compile(
    r"__ls_|__loopscope|cannot access free variable|std::|pybind11|Unable to cast|basic_string|bad_alloc|"
    r"vector::|LLVM|llvm|internal error|engine error|Loopscope|loopscope|_loopscope|nullptr|segmentation|"
    r"Traceback|assert",
    re.I,
)


def _norm(msg):
    """A message with its numbers and generated names blurred, for signatures."""
    msg = re.sub(r"\b(f|r|g|rec|sh|rb|mp|cf|gl|outer|make|kern|Acc|K|obj|vals)\d+\b", r"\1#", msg)
    msg = re.sub(r"-?\d+(\.\d+)?(e[-+]?\d+)?", "#", msg)
    return msg[:90]


def _is_crash_exc(exc, ref_exc):
    if exc is None:
        return False
    name, msg = exc
    if name in ("SystemError", "ProgramTimeout", "KeyboardInterrupt", "MemoryError", "RecursionError"):
        return True
    if ref_exc is not None and ref_exc[0] == name and name not in ("NameError", "UnboundLocalError"):
        return bool(_CRASH_TEXT.search(msg)) and not _CRASH_TEXT.search(ref_exc[1])
    if name in (
        "NameError",
        "UnboundLocalError",
        "AttributeError",
        "RuntimeError",
        "TypeError",
        "ValueError",
        "KeyError",
    ):
        return bool(_CRASH_TEXT.search(msg)) or "free variable" in msg
    return bool(_CRASH_TEXT.search(msg))


def _stderr_crash(text):
    lines = [l for l in text.splitlines() if "Loopscope:" in l or "loopscope" in l.lower() and "Error" in l]
    return lines


def _first_diff_line(a, b):
    al, bl = a.splitlines(), b.splitlines()
    for i in range(max(len(al), len(bl))):
        x = al[i] if i < len(al) else "<missing>"
        y = bl[i] if i < len(bl) else "<missing>"
        if x != y:
            return i, x, y
    return None


def compare(seed, mode, ref: Outcome, got: Outcome) -> List[Failure]:
    """The differences between the reference and one mode (at most one per
    category: crash first, then the first differing cell, then variables)."""
    fails = []
    if got.timeout or got.internal:
        fails.append(Failure(seed, mode, "crash", "timeout" if got.timeout else "harness", got.internal or ""))
        return fails
    if got.logged:
        fails.append(Failure(seed, mode, "crash", "internal error: " + _norm(got.logged[0]), "\n".join(got.logged[:5])))
    leaked = _stderr_crash(got.stderr)
    if leaked and not _stderr_crash(ref.stderr):
        fails.append(Failure(seed, mode, "crash", "stderr: " + _norm(leaked[0]), "\n".join(leaked[:5])))
    for k, ((rout, rexc), (gout, gexc)) in enumerate(zip(ref.cells, got.cells)):
        if rexc != gexc:
            crash = _is_crash_exc(gexc, rexc)
            if gexc is None:
                sig = f"no exception (python: {rexc[0]})"
            elif rexc is None:
                sig = f"{gexc[0]}: {_norm(gexc[1])} (python: none)"
            elif rexc[0] == gexc[0]:
                sig = f"{gexc[0]} message differs"
            else:
                sig = f"{gexc[0]}: {_norm(gexc[1])} (python: {rexc[0]})"
            fails.append(
                Failure(
                    seed,
                    mode,
                    "crash" if crash else "wrong",
                    sig,
                    f"cell {k}: python raised {rexc}, {mode} raised {gexc}",
                )
            )
            return fails
        if rout != gout:
            d = _first_diff_line(rout, gout)
            fails.append(
                Failure(
                    seed,
                    mode,
                    "wrong",
                    "stdout differs",
                    f"cell {k}: stdout line {d[0]}:\n  python: {d[1]!r}\n  {mode}: {d[2]!r}",
                )
            )
            return fails
        if k < len(ref.cell_names) and k < len(got.cell_names):
            fails += _compare_names(seed, mode, k, ref.cell_names[k], got.cell_names[k])
            if fails:
                return fails
    if len(ref.cells) != len(got.cells):
        fails.append(Failure(seed, mode, "crash", "cells missing", f"{len(ref.cells)} vs {len(got.cells)}"))
    return fails


def _compare_names(seed, mode, k, rn, gn):
    """Differences between two namespaces after cell k."""
    fails = []
    extra = sorted(set(gn) - set(rn))
    missing = sorted(set(rn) - set(gn))
    if extra:
        kind = "crash" if any(x.startswith("__ls") for x in extra) else "wrong"
        fails.append(
            Failure(
                seed,
                mode,
                kind,
                f"extra variables {', '.join(_norm(x) for x in extra[:3])}",
                f"after cell {k}, variables only in {mode}: {extra}",
            )
        )
    if missing:
        fails.append(
            Failure(
                seed,
                mode,
                "wrong",
                f"missing variables {', '.join(_norm(x) for x in missing[:3])}",
                f"after cell {k}, variables missing in {mode}: {missing}",
            )
        )
    diffs = [x for x in sorted(set(rn) & set(gn)) if rn[x] != gn[x]]
    if diffs:
        x = diffs[0]
        r, g = rn[x], gn[x]
        if r[0] != g[0] or (r[0] not in ("ndarray",) and len(r) > 1 and type(r[1]) is not type(g[1])):
            sig = f"variable type differs ({r[0]} vs {g[0]})"
        elif r[0] == "ndarray" and r[1:3] != g[1:3]:
            sig = "array dtype/shape differs"
        else:
            sig = f"variable value differs ({r[0]})"
        detail = "\n".join(f"{v}:\n  python: {_describe(rn[v])}\n  {mode}: {_describe(gn[v])}" for v in diffs[:4])
        fails.append(Failure(seed, mode, "wrong", sig, f"after cell {k}, variables differ: {diffs}\n{detail}"))
    return fails


def _tier(seed):
    try:
        import _loopscope

        return ("quick", "optimised")[(seed // 2) % 2], _loopscope
    except ImportError:
        return None, None


def check_program(seed: int, modes=MODES, timeout_s=TIMEOUT_S, on_mode=None):
    """Runs the program of `seed` in CPython and in each mode. Returns
    (program, failures, {mode: outcome})."""
    prog = progen.generate(seed)
    ref = run_exec(prog, None, timeout_s)
    fails = []
    outcomes = {}
    if ref.timeout:
        # a generator problem, not an engine one
        return (
            prog,
            [
                Failure(
                    seed,
                    "python",
                    "skipped",
                    "the program is too slow in CPython",
                    f"the program ran for more than {timeout_s} s in CPython",
                )
            ],
            outcomes,
        )
    tier, lib = _tier(seed)
    old = lib.cpu_tier() if lib is not None else None
    if lib is not None:
        lib.cpu_set_tier(tier)
    try:
        for mode in modes:
            if on_mode is not None:
                on_mode(mode)
            try:
                got = run_mode(prog, mode, timeout_s)
            except Exception:
                got = Outcome(internal="the harness failed:\n" + traceback.format_exc())
            outcomes[mode] = got
            fails += compare(seed, mode, ref, got)
    finally:
        _CURRENT.clear()
        if lib is not None:
            lib.cpu_set_tier(old)
    return prog, fails, outcomes


def merged_stats(outcomes):
    """Nest executions by status and the most common reasons, over modes."""
    stats, reasons = {}, {}
    for mode, o in outcomes.items():
        for k, v in o.stats.items():
            stats[k] = stats.get(k, 0) + v
            if k in ("nests", "native"):
                stats[f"{mode} {k}"] = stats.get(f"{mode} {k}", 0) + v
        for k, v in o.reasons.items():
            reasons[k] = reasons.get(k, 0) + v
    return stats, reasons


def report(prog, fails):
    """Text for a failing program: the failures, then the source."""
    lines = [f"# progen seed {prog.seed}", f"# features: {', '.join(sorted(prog.features))}"]
    for f in fails:
        lines.append(f"# {f.line()}")
        lines += ["#   " + x for x in f.detail.splitlines()]
    lines.append(prog.source())
    return "\n".join(lines) + "\n"


# --- many programs, in worker processes ------------------------------------------------------

# A worker's memory grows with every program (caches of compiled code, IPython
# history), and it slows down after an hour or so; it is replaced after this
# many programs.
PROGRAMS_PER_WORKER = 100


def _worker(tasks, results, timeout_s, max_programs=PROGRAMS_PER_WORKER):
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    for _ in range(max_programs):
        task = tasks.get()
        if task is None:
            return
        seed, modes = task
        results.put(("start", seed, os.getpid(), modes))
        try:
            prog, fails, outcomes = check_program(
                seed, modes, timeout_s, on_mode=lambda m: results.put(("mode", seed, os.getpid(), m))
            )
            results.put(
                (
                    "done",
                    seed,
                    os.getpid(),
                    ([(f.mode, f.kind, f.signature, f.detail) for f in fails], merged_stats(outcomes)),
                )
            )
        except BaseException:
            results.put(
                (
                    "done",
                    seed,
                    os.getpid(),
                    ([("harness", "crash", "harness exception", traceback.format_exc())], ({}, {})),
                )
            )
    results.put(("retire", None, os.getpid(), None))


def run_seeds(seeds, modes=MODES, jobs=1, timeout_s=TIMEOUT_S, hard_timeout_s=300):
    """Checks the programs of `seeds` in `jobs` worker processes; yields
    ``(seed, [Failure], (stats, reasons))`` as each program finishes. A worker
    that dies (a crash of the engine) or hangs is replaced; the mode it was
    running counts as a crash and the program's remaining modes run in the
    new worker."""
    import multiprocessing as mp
    import queue

    ctx = mp.get_context("spawn")
    tasks, results = ctx.Queue(), ctx.Queue()
    seeds = list(seeds)
    modes = tuple(modes)
    pending = {s: {"fails": [], "stats": ({}, {}), "parts": 1} for s in seeds}
    for s in seeds:
        tasks.put((s, modes))
    workers = {}

    def start_worker():
        p = ctx.Process(target=_worker, args=(tasks, results, timeout_s, PROGRAMS_PER_WORKER), daemon=True)
        p.start()
        workers[p.pid] = {"proc": p, "seed": None, "mode": None, "since": None, "done_modes": [], "modes": ()}

    for _ in range(max(1, min(jobs, len(seeds)))):
        start_worker()

    def merge(seed, fails, st):
        entry = pending[seed]
        entry["fails"] += fails
        for k, v in st[0].items():
            entry["stats"][0][k] = entry["stats"][0].get(k, 0) + v
        for k, v in st[1].items():
            entry["stats"][1][k] = entry["stats"][1].get(k, 0) + v
        entry["parts"] -= 1
        if entry["parts"] == 0:
            del pending[seed]
            return (seed, entry["fails"], entry["stats"])
        return None

    try:
        while pending:
            try:
                kind, seed, pid, payload = results.get(timeout=1)
            except queue.Empty:
                kind = None
            if kind is not None:
                w = workers.get(pid)
                if kind == "start" and w is not None:
                    w.update(seed=seed, mode=None, since=time.time(), done_modes=[], modes=tuple(payload))
                elif kind == "mode" and w is not None:
                    if w["mode"] is not None:
                        w["done_modes"].append(w["mode"])
                    w.update(mode=payload, since=time.time())
                elif kind == "retire" and w is not None:
                    # it exits after its quota of programs: not a crash, a new one takes over
                    w["proc"].join()
                    del workers[pid]
                    if pending:
                        start_worker()
                elif kind == "done":
                    if w is not None:
                        w.update(seed=None, mode=None)
                    fails = [Failure(seed, *f) for f in payload[0]]
                    out = merge(seed, fails, payload[1])
                    if out is not None:
                        yield out
                continue
            for pid, w in list(workers.items()):
                p = w["proc"]
                hung = w["seed"] is not None and time.time() - w["since"] > hard_timeout_s
                if p.is_alive() and not hung:
                    continue
                if hung:
                    p.kill()
                    p.join()
                    why = f"hang: killed after {hard_timeout_s} s"
                else:
                    p.join()
                    code = p.exitcode
                    why = (
                        f"the process died (signal {-code})"
                        if code is not None and code < 0
                        else f"the process died (exit code {code})"
                    )
                del workers[pid]
                seed, mode = w["seed"], w["mode"]
                if seed is not None and seed in pending:
                    fail = Failure(seed, mode or "setup", "crash", why, why)
                    # the program's other modes run in a new worker
                    rest = tuple(m for m in w["modes"] if m not in w["done_modes"] and m != mode)
                    if rest and mode is not None:
                        pending[seed]["parts"] += 1
                        tasks.put((seed, rest))
                    out = merge(seed, [fail], ({}, {}))
                    if out is not None:
                        yield out
                if pending:
                    start_worker()
    finally:
        for _ in workers:
            tasks.put(None)
        for w in workers.values():
            w["proc"].join(timeout=10)
            if w["proc"].is_alive():
                w["proc"].kill()


def campaign(programs, seed0, jobs, modes, out_dir, timeout_s=TIMEOUT_S):
    os.makedirs(out_dir, exist_ok=True)
    t0 = time.time()
    done = wrong = crashes = skipped = 0
    signatures, stats, reasons = {}, {}, {}
    for seed, fails, st in run_seeds(range(seed0, seed0 + programs), modes, jobs, timeout_s):
        done += 1
        kinds = {f.kind for f in fails}
        wrong += "wrong" in kinds
        crashes += "crash" in kinds
        skipped += "skipped" in kinds
        for k, v in st[0].items():
            stats[k] = stats.get(k, 0) + v
        for k, v in st[1].items():
            reasons[k] = reasons.get(k, 0) + v
        for f in fails:
            signatures.setdefault((f.kind, f.signature), []).append((seed, f.mode))
            print(f"  {f.line()}", flush=True)
        if fails:
            with open(os.path.join(out_dir, f"seed-{seed}.py"), "w") as fh:
                fh.write(report(progen.generate(seed), fails))
        if done % 10 == 0 or done == programs:
            print(f"[{done}/{programs}] {time.time() - t0:.0f} s  wrong={wrong} crashes={crashes}", flush=True)
    print("nest executions (all modes): " + ", ".join(f"{k}={v}" for k, v in sorted(stats.items()) if " " not in k))
    for mode in modes:
        if stats.get(f"{mode} nests"):
            print(f"  {mode}: {stats.get(f'{mode} native', 0)} of {stats[f'{mode} nests']} nest executions native")
    print("most common reasons for not running natively:")
    for why, cnt in sorted(reasons.items(), key=lambda kv: -kv[1])[:15]:
        print(f"  {cnt:6d}  {why or '(python mode or the cost model chose Python)'}")
    if signatures:
        print("distinct signatures:")
        for (kind, sig), where in sorted(signatures.items(), key=lambda kv: -len(kv[1])):
            modes_hit = sorted({m for _, m in where})
            seeds = sorted({s for s, _ in where})
            print(f"  {kind}: {sig}  [{len(seeds)} programs, e.g. seed {seeds[0]}; modes {', '.join(modes_hit)}]")
        print(f"failing programs written to {out_dir}")
    if skipped:
        print(f"{skipped} programs were too slow in CPython to be compared (a generator problem)")
    print(f"programs={programs} wrong={wrong} crashes={crashes}", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--programs", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0, help="first seed")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--modes", default=",".join(MODES), help="comma-separated subset of " + ",".join(MODES))
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.dirname(HERE)), "build", "progen-failures"))
    ap.add_argument("--timeout", type=int, default=TIMEOUT_S, help="seconds per program and mode")
    ap.add_argument("--show", type=int, help="print the program of this seed and its failures, then exit")
    args = ap.parse_args(argv)
    modes = tuple(m for m in args.modes.split(",") if m)
    bad = [m for m in modes if m not in MODES]
    if bad:
        ap.error(f"unknown modes {bad}; known: {MODES}")
    if args.show is not None:
        prog, fails, outcomes = check_program(args.show, modes, args.timeout)
        print(report(prog, fails))
        print("# nest executions:", merged_stats(outcomes))
        return
    campaign(args.programs, args.seed, args.jobs, modes, args.out, args.timeout)


if __name__ == "__main__":
    main()
