"""What every part of a nest's report shares: the facts about one execution
(``NestReport``), escaping, time formatting, the words for devices and
verdicts, and the verdict shown for a loop."""

import html
import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from ._records import Decline

VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
VEGA_LITE_MIME = "application/vnd.vegalite.v5+json"

DEVICE_WORDS = {
    "python": "as plain Python",
    "cpu-serial": "on the CPU (one thread)",
    "cpu": "on the CPU (all cores)",
    "gpu": "on the GPU",
    "gpu-emulated": "in the GPU emulator (on the CPU)",
}
VERDICT_COLOURS = {"parallel": "#2e7d32", "reduction": "#1565c0", "sequential": "#c62828"}
COMPONENTS = ("scheduling", "transfer", "draws", "compute", "compile")
COMPONENT_COLOURS = {
    "scheduling": "#8e24aa",
    "transfer": "#fb8c00",
    "draws": "#43a047",
    "compute": "#1e88e5",
    "compile": "#9e9e9e",
}


def components_of(estimate) -> tuple:
    """The components an estimate's table and chart show: all but
    ``draws`` (random numbers drawn before a native run), which only a
    nest that draws has."""
    variants = (estimate or {}).get("variants") or []
    if any(v.get("draws") for v in variants):
        return COMPONENTS
    return tuple(c for c in COMPONENTS if c != "draws")


@dataclass
class NestReport:
    nest: Dict[str, Any]  # the rewriter's record (to_dict())
    analysis: Optional[Dict[str, Any]] = None  # _loopscope.analysis_run(...)
    estimate: Optional[Dict[str, Any]] = None  # cost estimate on the selected profile
    profile_sweeps: Dict[str, List[dict]] = field(default_factory=dict)  # profile -> sweep
    profile_gpu: Dict[str, dict] = field(default_factory=dict)  # profile -> its GPU variant's cost
    cuda: Optional[Dict[str, Any]] = None  # {"source"} or {"error"}
    device: str = "python"  # what runs (or would run)
    decision: str = ""  # the sentence
    notes: List[str] = field(default_factory=list)
    measured_s: Optional[float] = None  # the first run's time
    runs: int = 0  # runs in this cell
    total_s: float = 0.0  # their time in all
    ran: Optional[str] = None  # what actually ran, after running
    run_reason: str = ""  # why it fell back, if it did; else what it compiled
    # Why it runs as Python: the front end's, the analysis's or a run-time
    # check's decline, or the run's that fell back. None when it ran natively.
    decline: Optional[Decline] = None
    stopped: Optional[Decline] = None  # the exception that stopped its Python loop, if one did
    explain_only: bool = False
    # A supported nest that a run-time check (a debugger, a shadowed builtin,
    # NumPy's error settings) sent to Python: the summary level shows it.
    runtime_decline: bool = False
    # What the first run paid, measured: Loopscope's own analysis and pricing
    # before the run ("report_s"), the engine's timing record ("timing"), the
    # run's wall time ("elapsed_s") and, after it, the completion of the
    # folded report ("complete_s").
    first_run: Optional[Dict[str, Any]] = None
    nvrtc_s: float = 0.0  # NVRTC time the report itself paid (GPU facts)
    graph_info: Optional[tuple] = field(default=None, repr=False, compare=False)  # graph_mode's memo


def esc(value) -> str:
    return html.escape(str(value), quote=True)


def fmt_seconds(s: Optional[float]) -> str:
    if s is None or not isinstance(s, (int, float)) or math.isnan(s):
        return "n/a"
    if math.isinf(s):
        return "∞"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    if s >= 1e-6:
        return f"{s * 1e6:.1f} µs"
    return f"{s * 1e9:.0f} ns"


def predicted_total(report: NestReport, device: str) -> Optional[float]:
    if not report.estimate:
        return None
    key = "cpu" if device == "cpu" else device
    if device == "gpu-emulated":
        key = "gpu"
    for v in report.estimate.get("variants", []):
        if v.get("variant") == key:
            return v.get("total")
    return None


DECLINED_VERDICT = "not compiled"  # the loops of a nest that runs as Python whatever their dependences


def loop_verdict(report: NestReport, loop: dict) -> str:
    """The verdict the report shows for a loop: the plan's, except in a nest
    the engine declines (an unsupported element type, a subscript it cannot
    read, ...). The plan marks those loops sequential, which is safe for the
    code generators but would tell the reader a dependence is the reason."""
    if (report.analysis or {}).get("decline") or report.nest.get("declined"):
        return DECLINED_VERDICT
    return loop.get("verdict", "?")
