"""Loop-nest interception in IPython: the cell transformer, the engine hook
that reports on and runs each nest, and the registration of both with the
``%loopscope`` magic (``_magic``, which writes ``_settings.SETTINGS``).

The xloopscope kernel registers this at start-up; in any other IPython
kernel, ``%load_ext loopscope`` does the same.

Every ``for ... in range(...)`` nest of a cell, at the top level and inside
functions defined in the cell (when they are called), is rewritten by
``_rewrite`` into a call of ``__loopscope_hook__`` with the live values the
nest reads, keeping the original loop as the fallback branch. The hook
analyses the nest, prices it, shows the report (before the nest runs), runs
the chosen variant and then adds the measured time to the report.

``%loopscope`` (``_magic``) shows and sets:

- the mode: ``auto`` (the cost model decides), ``cpu``, ``gpu`` (the CUDA
  driver, or the GPU emulator where there is no GPU), ``python``, ``off``
  (no interception at all);
- the GPU profile the cost model prices: ``%loopscope profile h100_sxm``
  (``%loopscope profiles`` lists them);
- how much to show: ``full``, ``summary`` (one line per nest) or ``quiet``;
- ``%loopscope explain``: the next cell's nests are analysed and reported but
  not run (the rest of the cell runs);
- ``%loopscope reassociate on|off``: whether floating-point sums and products
  may run in parallel (off by default: they keep Python's order, so results
  are Python's bit for bit).
"""

import ast
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from . import _callees
from ._errors import internal
from ._records import INTERRUPTED, TRAP, Decline, shown_all
from ._magic import loopscope_magic
from ._settings import LEVELS, MODES, SETTINGS, Settings  # noqa: F401  (part of this module's interface)

HOOK_NAME = "__loopscope_hook__"


# What the summary level (the default) shows: one line per nest worth a look,
# after it ran, with the rest of the report folded under it. A nest is worth
# a look when it ran natively, when its native variant fell back to Python,
# or when it ran as plain Python for at least SUMMARY_MIN_PYTHON_S in all
# (over the cell) without doing I/O: a loop that prints is there to print,
# and a short Python loop is not what a lesson is about. A supported nest
# that a run-time check sent to Python (a debugger, a shadowed builtin,
# NumPy's error settings) is always worth a look: it would have been
# compiled, and the line says why it was not. ``full`` shows every
# nest, ``%loopscope explain`` the next cell's.
SUMMARY_MIN_PYTHON_S = 0.01
# Calls that make a loop "do I/O" (it is there for its output, not its speed).
IO_CALLS = frozenset(
    {
        "print",
        "input",
        "display",
        "open",
        "breakpoint",
        "write",
        "writelines",
        "flush",
        "show",
        "savefig",
        "plot",
        "imshow",
        "scatter",
        "sleep",
    }
)


@dataclass
class _Shown:
    """A nest of the running cell: its report, where it is shown, and the
    Python runs in progress (start times, a stack for recursion)."""

    report: Any
    nest_id: int = 0
    env: Any = None  # the bound values, kept until the report is complete
    handle: Any = None  # the display, once shown
    dirty: bool = False  # runs since the display was last updated
    python_started: List[float] = field(default_factory=list)
    does_io: Optional[bool] = None
    # Nests whose Python loop was running when this one ran as Python (this
    # one runs inside them): at the summary level, the outermost shown says it.
    inside: set = field(default_factory=set)


_state: Dict[str, Any] = {
    "explain_cell": False,
    "shown": {},
    "shell": None,
    "source": None,
    "calibration_registered": False,
}


# --- the engine hook --------------------------------------------------------------


def _engine():
    import _loopscope

    from . import _rewrite, _run

    if not _state["calibration_registered"]:
        from . import _cost

        _cost.register_calibration("report", "report_calibrated", _calibrate_report)
        _state["calibration_registered"] = True
    return _loopscope, _rewrite, _run


def _calibrate_report():
    """What this module's report costs on a first run (_cost_calibrate.calibrate_report)."""
    from . import _cost_calibrate, _report, _run

    return _cost_calibrate.calibrate_report(
        first_report=_first_report,
        cuda_source=_cuda_source,
        render_html=_report.render_html,
        cpu_serial=_run.DEVICES["cpu-serial"],
        last_runs=_run.last_runs,
        layouts=_report._layout_state["cache"],
    )


def _gpu_available():
    try:
        from . import _cuda

        return bool(_cuda.driver_status().get("available"))
    except Exception:
        return False


def _estimate(nest_id, env, profile, sweep, nvrtc=True):
    try:
        from . import _cost

        return _cost.estimate_nest(nest_id, env, gpu=profile or None, sweep=sweep, nvrtc=nvrtc)
    except Exception as exc:
        return {"error": internal(exc, "cost model")}


def _profile_sweeps(nest_id, env, profile):
    """(sweeps, gpu_variants): predicted time against size, and the GPU
    variant's cost, on every GPU profile, for the charts' dropdown. NVRTC
    runs once, for the selected profile's architecture; the other profiles
    reuse its register count (close across architectures) rather than
    compiling the nest's CUDA once per architecture. The work is counted once
    (the engine keeps the count _estimate made) and priced on each profile."""
    sweeps, gpu_variants = {}, {}
    try:
        from . import _cost

        facts = _cost.nvrtc_facts(nest_id, env, profile or None)
        for key, est in _cost.estimate_profiles(nest_id, env, facts=facts, sweep=True, nvrtc=False).items():
            name = est.get("gpu_profile") or key
            sweeps[name] = est.get("sweep") or []
            gpu = [v for v in est.get("variants") or [] if v.get("variant") == "gpu"]
            if gpu:
                gpu_variants[name] = gpu[0]
    except Exception:
        pass
    return sweeps, gpu_variants


def _cuda_source(nest_id, env):
    try:
        from . import _cuda

        gen = _cuda.generate(nest_id, env)
    except Exception as exc:
        return {"error": internal(exc, "CUDA generator")}
    if isinstance(gen, dict):
        if gen.get("source"):
            return {"source": gen["source"]}
        d = Decline.from_engine(gen.get("decline"))
        reason = (d.reason if d else "") or gen.get("error")
        return {"error": "no CUDA for this nest: " + (reason or "the generator declined it")}
    return {"error": "no CUDA for this nest"}


def _tell(text):
    """A one-line note for the user, as a display (never on the cell's own
    stdout or stderr, which must stay what Python prints)."""
    try:
        from IPython.display import display

        display({"text/plain": text}, raw=True)
    except Exception:
        pass


def _decide(report, estimate):
    mode = SETTINGS.mode
    if mode == "python":
        return "python", "runs as plain Python, as set by %loopscope python."
    if mode == "cpu":
        return "cpu", "runs on the CPU, as set by %loopscope cpu."
    if mode == "gpu":
        if _gpu_available():
            return "gpu", "runs on the GPU, as set by %loopscope gpu."
        return "gpu-emulated", (
            "runs the generated CUDA in the GPU emulator on the CPU, as set by "
            "%loopscope gpu: there is no CUDA driver or GPU on this machine."
        )
    # auto: the cost model's choice
    if estimate and "choice" in estimate:
        choice = estimate["choice"]
        reason = estimate.get("reason") or ""
        if choice == "gpu" and not _gpu_available():
            choice = "cpu"
        return choice, reason
    why = (estimate or {}).get("error", "no estimate")
    return "cpu", f"runs on the CPU (the cost model gave no estimate: {why})."


def _level(report) -> str:
    """How this nest's report is shown: the setting, except that the nests
    of a %loopscope explain cell get the full report."""
    if report is not None and report.explain_only and SETTINGS.level != "quiet":
        return "full"
    return SETTINGS.level


def _display(entry: _Shown):
    """Shows the nest's report (first time)."""
    from IPython.display import display

    from . import _report

    report = entry.report
    level = _level(report)
    t0 = time.perf_counter()
    if level == "summary":
        _complete(entry)
    if report.first_run is not None:
        report.first_run["complete_s"] = report.first_run.get("complete_s", 0.0) + time.perf_counter() - t0
    entry.handle = display(_report.bundle(report, level), raw=True, display_id=True)
    entry.dirty = False
    if level == "full":
        spec = _report.chart_spec(report)
        if spec is not None:
            display(
                {
                    _report.VEGA_LITE_MIME: spec,
                    "text/plain": "Loopscope cost chart (needs a Vega-Lite renderer, as in JupyterLab)",
                },
                raw=True,
            )


def _update(entry: _Shown):
    if entry.handle is None or not entry.dirty:
        return
    from . import _report

    entry.dirty = False
    try:
        entry.handle.update(_report.bundle(entry.report, _level(entry.report)), raw=True)
    except Exception:
        pass


def _complete(entry: _Shown):
    """Adds what the folded part of a summary shows and the first report
    left out (the generated CUDA), once it is known the nest is shown."""
    report, env = entry.report, entry.env
    entry.env = None
    if env is None or report.cuda is not None or report.nest.get("declined") or report.analysis is None:
        return
    if not (report.analysis or {}).get("decline"):
        report.cuda = _cuda_source(entry.nest_id, env)


def _does_io(entry: _Shown) -> bool:
    """Whether the nest calls print, display, a plot, a file's write, ...
    (IO_CALLS), judged from its source."""
    if entry.does_io is None:
        entry.does_io = False
        try:
            import textwrap

            tree = ast.parse(textwrap.dedent(entry.report.nest.get("source") or ""))
        except (SyntaxError, ValueError):
            return False
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
                if name in IO_CALLS:
                    entry.does_io = True
                    break
    return entry.does_io


def _worth_showing(entry: _Shown, cell_ended: bool = False) -> bool:
    """At the summary level: see SUMMARY_MIN_PYTHON_S. A nest that ran as
    Python inside another nest's Python loop waits for the end of the cell,
    and is left out if that nest's line (which counts its time) is shown."""
    report = entry.report
    if report.explain_only or report.runtime_decline:
        return True
    if report.ran not in (None, "python") or report.run_reason.startswith("fell back"):
        return True
    if report.total_s < SUMMARY_MIN_PYTHON_S or _does_io(entry):
        return False
    if entry.inside:
        shown = _state["shown"]
        return cell_ended and not any(shown[k].handle is not None for k in entry.inside if k in shown)
    return True


def _ran(entry: _Shown, ran: str, elapsed: Optional[float]):
    """Records one run of the nest (``elapsed`` None: not timed) and shows or
    updates its report: the summary line appears after the first run that
    makes the nest worth a look; a shown report is updated after its first
    run and at the end of the cell."""
    report = entry.report
    report.runs += 1
    if elapsed is not None:
        report.total_s += elapsed
        if report.runs == 1:
            report.measured_s = elapsed
    if report.ran is None:
        report.ran = ran
    entry.dirty = True
    level = _level(report)
    if level == "quiet":
        return
    if entry.handle is None:
        if level == "summary" and _worth_showing(entry):
            _display(entry)
    elif report.runs == 1:
        _update(entry)


def _python_ran(nest_id):
    """The generated code's signal that a nest's Python loop ended."""
    shown = _state["shown"]
    entry = shown.get(nest_id)
    if entry is None or not entry.python_started:
        return
    elapsed = time.perf_counter() - entry.python_started.pop()
    entry.inside.update(k for k, other in shown.items() if other.python_started and other is not entry)
    _ran(entry, "python", elapsed)


def _run_as_python(entry: _Shown):
    """The hook's answer when the nest runs as plain Python: None, with the
    clock started for _python_ran."""
    entry.python_started.append(time.perf_counter())
    return None


def _first_report(nest_id, env, rec, explain_only):
    _loopscope, _rewrite, _run = _engine()
    from . import _report

    nest = rec.to_dict()
    try:
        info = shown_all(_loopscope.analysis_info(nest_id))
        nest.update({k: v for k, v in info.items() if k not in ("source", "line")})
    except Exception:
        pass  # declined nests have no static information
    report = _report.NestReport(nest=nest, explain_only=explain_only)
    full = _level(report) == "full"
    if not rec.declined:
        try:
            report.analysis = _rewrite.analysis_as_shown(nest_id, env)
        except Exception as exc:
            report.notes.append(internal(exc, "dependence analysis") + ".")
        # NVRTC (tens of milliseconds per nest) gives the GPU's real register
        # count; a short report on a machine whose GPU cannot run the loop
        # does without it, so the first run does not pay for it.
        nvrtc = full or _gpu_available()
        try:
            from . import _cost

            compiles = nvrtc and not _cost.nvrtc_known(nest_id, env, SETTINGS.profile or None)
        except Exception:
            compiles = False
        report.estimate = shown_all(_estimate(nest_id, env, SETTINGS.profile, sweep=full, nvrtc=nvrtc))
        skipped = None
        if nvrtc:
            try:
                facts = _cost.nvrtc_facts(nest_id, env, SETTINGS.profile or None)
                skipped = facts.get("nvrtc_skipped")
                if compiles and not skipped:
                    report.nvrtc_s = float(facts.get("gpu_compile_s") or 0.0)
            except Exception:
                pass
        if skipped:
            report.notes.append(skipped + ".")
        if full:
            sweeps, gpu_variants = _profile_sweeps(nest_id, env, SETTINGS.profile)
            report.profile_sweeps, report.profile_gpu = sweeps, shown_all(gpu_variants)
            report.cuda = _cuda_source(nest_id, env)
        if report.estimate and "error" in report.estimate:
            report.notes.append("No cost estimate: " + report.estimate["error"])
            report.estimate = None
    device, sentence = _decide(report, report.estimate)
    decline = Decline.from_engine((report.analysis or {}).get("decline")) if report.analysis else None
    if rec.declined:
        d = rec.decline
        report.decline = d
        reason, line = (d.reason, d.line) if d else ("not supported", None)
        device, sentence = "python", f"runs as plain Python: {reason} (line {line})."
    elif decline:
        report.decline = decline
        device, sentence = "python", f"runs as plain Python: {decline.reason} (line {decline.line})."
    report.device = device
    report.decision = sentence
    return report


def hook(nest_id, env):
    """Called by rewritten code: returns the names to write back, or None to
    run the original Python loop."""
    if SETTINGS.mode == "off":
        return None
    try:
        _loopscope, _rewrite, _run = _engine()
        from . import _report

        rec = _rewrite.NESTS.get(nest_id)
    except Exception:
        return None
    if rec is None:
        return None
    explain_only = _state["explain_cell"]
    shown: Dict[int, _Shown] = _state["shown"]
    entry = shown.get(nest_id)
    names_defined = env is not None
    env, decline = _rewrite.bind_env(nest_id, env)
    # The report's analysis, pricing and CUDA, and the run, are one trip of
    # the engine: they read the values once (bindings/pipeline.hpp).
    with _run.Trip(nest_id, env):
        try:
            if env is None:
                if entry is None:
                    report = _report.NestReport(
                        nest=rec.to_dict(),
                        device="python",
                        explain_only=explain_only,
                        decision=f"runs as plain Python: {decline.reason}.",
                        decline=decline,
                        runtime_decline=names_defined and not rec.declined,
                    )
                    entry = shown[nest_id] = _Shown(report=report, nest_id=nest_id)
                    if _level(report) == "full":
                        _display(entry)
                return None if explain_only else _run_as_python(entry)
            if entry is None:
                from . import _cost

                calibrations = len(_cost.CALIBRATIONS_S)
                t_report = time.perf_counter()
                report = _first_report(nest_id, env, rec, explain_only)
                entry = shown[nest_id] = _Shown(report=report, nest_id=nest_id, env=env)
                t_draw = time.perf_counter()
                if _level(report) == "full":
                    _display(entry)  # before the run: a long run shows what it is doing
                drawn_s = time.perf_counter() - t_draw
                calibration_s = sum(_cost.CALIBRATIONS_S[calibrations:])
                # The drawing before the run counts with the drawing after it.
                report.first_run = {
                    "report_s": t_draw - t_report - calibration_s,
                    "calibration_s": calibration_s,
                    "complete_s": drawn_s,
                }
                device = report.device
            else:
                report = entry.report
                device = report.device if SETTINGS.mode != "auto" else "auto"
                if report.nest.get("declined") or (report.analysis or {}).get("decline"):
                    device = "python"
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # the report must never break the user's cell
            _tell(f"Loopscope: {internal(exc, 'report')}.")
            return None
        if explain_only:
            # Explained, not run (its random numbers stay undrawn); but a loop
            # over a list (say) runs as Python, where the nests of its body
            # are explained in turn.
            _rewrite.restore_draws(nest_id)
            return None if rec.over_iterable and device == "python" else {}
        if device == "python":
            return _run_as_python(entry)
        runner = _run.DEVICES.get(device) or _run.DEVICES["cpu"]
        t0 = time.perf_counter()
        out = runner(nest_id, env)
        elapsed = time.perf_counter() - t0
        info = _run.last_runs().get(nest_id, {})
        if out is None:
            if report.runs == 0:
                d = info.get("decline")
                report.decline = d
                reason = (d.reason if d else "") or "the variant declined at run time"
                report.run_reason = f"fell back to plain Python: {reason}"
            return _run_as_python(entry)
        ran = info.get("device") or device
        if ran == "auto":
            ran = device
        if ran == "cpu" and not info.get("parallel_loops"):
            ran = "cpu-serial"  # no loop ran in parallel: saying "all cores" would not be true
        if report.runs == 0:
            report.run_reason = _compile_note(info.get("timing") or {})
            if report.first_run is not None:
                report.first_run.update(timing=info.get("timing") or {}, elapsed_s=elapsed)
        try:
            _ran(entry, ran, elapsed)
        except Exception:
            pass
        return out


def _compile_note(timing):
    """What the first native run compiled, for the report's measured line."""
    ms = timing.get("compile_ms")
    if not ms or timing.get("cache_hit") or "tier" not in timing:  # CPU variants only
        return ""
    if timing.get("tier") == "quick":
        note = f"including {ms:.1f} ms to compile quick code"
        if timing.get("upgrade_pending"):
            note += "; optimised (O3) code is being built in the background for later runs"
        return note
    return f"including {ms:.1f} ms to compile optimised (O3) code"


# --- the cell transformer -----------------------------------------------------------


class LoopNestTransformer(ast.NodeTransformer):
    """Rewrites every supported loop nest of a cell to go through the hook."""

    def visit_Module(self, node):
        if SETTINGS.mode == "off":
            return node
        shell = _state.get("shell")
        user_ns = shell.user_ns if shell is not None else {}
        try:
            # Calls of the functions of the user's own files (utils.py) go
            # through the kernel's table, which runs their nests too.
            user_calls = _callees.calls_user_code(node, user_ns)
        except Exception:
            user_calls = False
        if not user_calls and not any(isinstance(n, ast.For) for n in ast.walk(node)):
            return node  # the common case costs two walks of the cell's tree
        try:
            from . import _rewrite

            new, _nests = _rewrite.rewrite_module(
                node,
                "<cell>",
                HOOK_NAME,
                source=_state.get("source"),
                hook_declined=True,
                namespace=lambda name: user_ns.get(name, _rewrite.NAMESPACE_MISSING),
                module=user_ns,
                local_defs=True,
                outside=(lambda tree: _callees.trampoline_cell(tree, user_ns)) if user_calls else None,
            )
            return new
        except Exception as exc:  # never break the cell: run it unchanged
            _tell(f"Loopscope: {internal(exc, 'loop rewriter')}.")
            return node


def _pre_execute():
    """Every execution, silent ones too (they fire no pre/post_run_cell):
    the nests of the last one are forgotten."""
    _state["explain_cell"] = False
    _state["shown"] = {}


def _pre_run_cell(info=None):
    _state["explain_cell"] = SETTINGS.explain_next
    SETTINGS.explain_next = False
    shell = _state.get("shell")
    raw = getattr(info, "raw_cell", None)
    _state["source"] = None
    if shell is not None and raw:
        try:
            _state["source"] = shell.transform_cell(raw)
        except Exception:
            _state["source"] = None


def _loops_stopped(error):
    """Python loops that started and never signalled their end: the cell's
    exception stopped them. Each is recorded as a run of the time it lasted,
    with the exception, so that the report says what ran (Python, perhaps
    after the native variant fell back) and how long it took."""
    now = time.perf_counter()
    for entry in list(_state["shown"].values()):
        if not entry.python_started:
            continue
        started = entry.python_started[0]  # the outermost execution still open
        entry.python_started.clear()
        if error is not None:
            code = INTERRUPTED if isinstance(error, KeyboardInterrupt) else TRAP
            entry.report.stopped = Decline(code, 0, f"the Python loop stopped with {type(error).__name__}")
        _ran(entry, "python", now - started)


def _post_run_cell(result=None):
    """Reports that became worth showing over the cell (a short Python loop
    run many times), and the final counts of the shown ones."""
    try:
        _loops_stopped(getattr(result, "error_in_exec", None))
        for entry in list(_state["shown"].values()):
            level = _level(entry.report)
            if level == "quiet":
                continue
            if entry.handle is None:
                if level == "summary" and entry.report.runs and _worth_showing(entry, cell_ended=True):
                    _display(entry)
            elif entry.report.runs > 1:
                entry.dirty = True
                _update(entry)
    except Exception as exc:
        _tell(f"Loopscope: {internal(exc, 'report')}.")
    finally:
        _state["explain_cell"] = False
        _state["shown"] = {}


# --- registration ---------------------------------------------------------------------


def register(shell):
    """Installs the transformer, the hook, the events and the magic in ``shell``."""
    if _state.get("shell") is shell:
        return
    _state["shell"] = shell
    # Rewritten code finds the hook through builtins, so %reset and functions
    # whose globals are another module still reach it.
    import builtins

    setattr(builtins, HOOK_NAME, hook)
    # The functions of the user's files that cells call: rewritten on their
    # first call, their nests through the same hook. Its module is no
    # namespace: the cells' own functions are rewritten with the cells.
    setattr(builtins, _callees.CELL_TABLE_NAME, _callees.Table(hook, {}, hook_declined=True))
    from . import _rewrite

    _rewrite.PYTHON_RAN_LISTENER[0] = _python_ran
    shell.ast_transformers.append(LoopNestTransformer())
    shell.events.register("pre_execute", _pre_execute)
    shell.events.register("pre_run_cell", _pre_run_cell)
    shell.events.register("post_run_cell", _post_run_cell)
    shell.register_magic_function(loopscope_magic, "line", "loopscope")


def unregister(shell):
    from . import _rewrite

    if _rewrite.PYTHON_RAN_LISTENER[0] is _python_ran:
        _rewrite.PYTHON_RAN_LISTENER[0] = None
    shell.ast_transformers[:] = [t for t in shell.ast_transformers if not isinstance(t, LoopNestTransformer)]
    for name, fn in (("pre_execute", _pre_execute), ("pre_run_cell", _pre_run_cell), ("post_run_cell", _post_run_cell)):
        try:
            shell.events.unregister(name, fn)
        except ValueError:
            pass
    _state["shell"] = None
