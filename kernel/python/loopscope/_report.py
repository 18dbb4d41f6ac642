"""The report Loopscope shows for a loop nest: the decision and why in one
sentence, then collapsible details (dependence graph, reasons per loop, cost
breakdown, iteration space, generated CUDA) and a Vega-Lite chart of the
predicted costs.

Everything derived from user code (names, source text, reasons that quote
it) is escaped before it goes into HTML, SVG or DOT.

Entry points:

- ``NestReport``: the facts about one execution of a nest (built by the
  kernel's hook): the nest record, the analysis, the cost estimates, the
  CUDA source, the decision and, after running, the measured time.
- ``render_html(report, level)``: the HTML (``level`` is "full" or
  "summary").
- ``chart_spec(report)``: the Vega-Lite v5 specification (cost per variant
  stacked by component; predicted time against problem size with the current
  size marked and a dropdown for the GPU profile), or None.
- ``dependence_dot(report)``, ``iteration_space_svg(report)``: the pieces.
- ``graph_mode(report)``, ``aggregate_edges(edges)``, ``dependence_html(report)``:
  how the dependence graph is shown at its size (drawn in full, as a
  statement-level summary, or as a table per array), its aggregated edges,
  and the section's HTML; the layout has a time budget (``LAYOUT_BUDGET_S``).

The pieces live in their own modules, re-exported here: ``_report_common``
(``NestReport``, escaping, formatting, the verdict shown for a loop),
``_report_graph`` (the dependence graph) and ``_report_chart`` (the
Vega-Lite chart). This module lays out the report: headline, measured line,
tables, iteration space, sections, HTML and text.
"""

import math
import time
from typing import Any, Dict, List, Optional

from ._records import Decline
from ._report_chart import CHART_WIDTH, chart_spec  # noqa: F401  (part of this module's interface)
from ._report_common import (  # noqa: F401  (part of this module's interface)
    COMPONENTS,
    components_of,
    DECLINED_VERDICT,
    DEVICE_WORDS,
    VEGA_LITE_MIME,
    VEGA_LITE_SCHEMA,
    VERDICT_COLOURS,
    NestReport,
    esc,
    fmt_seconds,
    loop_verdict,
    predicted_total,
)
from ._report_graph import (  # noqa: F401  (part of this module's interface)
    FULL_MAX_EDGES,
    FULL_MAX_NODES,
    LAYOUT_BUDGET_S,
    SUMMARY_MAX_EDGES,
    SUMMARY_MAX_NODES,
    TABLE_MAX_ROWS,
    _layout,
    _layout_state,
    aggregate_edges,
    dependence_dot,
    dependence_html,
    dependence_svg,
    dependence_table,
    edge_label,
    graph_mode,
)


# --- the iteration space of a two-deep nest ------------------------------------


def _two_deep(report: NestReport):
    loops = report.nest.get("loops") or []
    if len(loops) != 2 or loops[1].get("depth") != 1:
        return None
    return loops


def iteration_space_svg(report: NestReport, limit: int = 8) -> Optional[str]:
    """The first ``limit`` x ``limit`` iterations of a perfectly two-deep nest
    as dots, with the loop-carried dependences of constant distance as arrows."""
    loops = _two_deep(report)
    if loops is None or not report.analysis:
        return None
    outer, inner = loops[0]["var"], loops[1]["var"]
    arrows = set()
    unknown = []
    for e in report.analysis.get("edges", []) or []:
        if e.get("carrier") is None:
            continue
        dist = e.get("distance") or []
        if len(dist) == 2 and all(isinstance(d, int) for d in dist):
            arrows.add((dist[0], dist[1], e.get("kind", "")))
        else:
            unknown.append(f"{e.get('kind')} on {e.get('variable')} {e.get('direction')}")
    cell, margin = 34, 40
    size = margin + limit * cell
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size + 10}" height="{size + 10}" '
        f'viewBox="0 0 {size + 10} {size + 10}" font-family="Helvetica" font-size="11">',
        '<defs><marker id="ls-arrow" markerWidth="8" markerHeight="8" refX="7" refY="4" orient="auto">'
        '<path d="M0,0 L8,4 L0,8 z" fill="#c62828"/></marker></defs>',
        f'<text class="ls-axis" x="{margin}" y="14">{esc(inner)} →</text>',
        f'<text class="ls-axis" x="4" y="{margin + 12}">{esc(outer)}</text>',
        f'<text class="ls-axis" x="8" y="{margin + 28}">↓</text>',
    ]

    def centre(a, b):
        return margin + b * cell + cell / 2, margin + a * cell + cell / 2

    for a in range(limit):
        for b in range(limit):
            x, y = centre(a, b)
            parts.append(f'<circle cx="{x:.0f}" cy="{y:.0f}" r="3.5" class="ls-dot" fill="#424242"/>')
    for da, db, kind in sorted(arrows):
        for a in range(limit):
            for b in range(limit):
                ta, tb = a + da, b + db
                if not (0 <= ta < limit and 0 <= tb < limit) or (da, db) == (0, 0):
                    continue
                (x1, y1), (x2, y2) = centre(a, b), centre(ta, tb)
                length = math.hypot(x2 - x1, y2 - y1)
                sx, sy = (x2 - x1) / length * 5, (y2 - y1) / length * 5
                parts.append(
                    f'<line x1="{x1 + sx:.1f}" y1="{y1 + sy:.1f}" x2="{x2 - sx:.1f}" y2="{y2 - sy:.1f}" '
                    f'stroke="#c62828" stroke-width="1" marker-end="url(#ls-arrow)"/>'
                )
    parts.append("</svg>")
    caption = f"The first {limit}×{limit} iterations ({esc(outer)} down, {esc(inner)} across). " + (
        "Arrows: dependences carried from one iteration to a later one, distances "
        + ", ".join(f"({da},{db})" for da, db, _ in sorted(arrows))
        + "."
        if arrows
        else "No dependence is carried between iterations: every dot can run at once."
    )
    if unknown:
        caption += " Dependences without a constant distance: " + esc("; ".join(unknown)) + "."
    return "".join(parts) + f"<div class='ls-caption'>{caption}</div>"


# --- the CUDA source -----------------------------------------------------------

HIGHLIGHT_MAX_CHARS = 30000  # larger CUDA sources are shown as plain text (highlighting is slow)
_highlighted: Dict[str, str] = {}


def cuda_html(report: NestReport) -> str:
    cuda = report.cuda or {}
    source = cuda.get("source")
    if not source:
        why = cuda.get("error") or cuda.get("reason") or "no CUDA was generated for this nest"
        return f"<p><i>{esc(why)}</i></p>"
    if len(source) > HIGHLIGHT_MAX_CHARS:
        return f"<pre>{esc(source)}</pre>"
    done = _highlighted.get(source)
    if done is not None:
        return done
    try:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import CudaLexer

        # classes, coloured by the theme (see _STYLE)
        done = highlight(source, CudaLexer(), HtmlFormatter(cssclass="ls-code", nobackground=True))
    except Exception:
        done = f"<pre>{esc(source)}</pre>"
    if len(_highlighted) >= 16:
        _highlighted.pop(next(iter(_highlighted)))
    _highlighted[source] = done
    return done


# Colours come from JupyterLab's theme variables (with light fallbacks for
# other front ends), so the report reads in light and dark themes alike; SVG
# pieces carry classes that these rules colour. Wide content (a long CUDA
# line, a big graph or table) scrolls or shrinks inside the cell's width
# rather than wrapping mid-token or being cut off.
_STYLE = """<style>
.ls-report{font-family:var(--jp-ui-font-family,Helvetica,Arial,sans-serif);font-size:13px;
 color:var(--jp-ui-font-color1,#212121);border-left:4px solid var(--jp-brand-color1,#1565c0);
 padding:4px 10px;margin:4px 0;background:rgba(66,133,244,.06);max-width:100%;box-sizing:border-box}
.ls-report .ls-head{font-weight:600}
.ls-report details{margin:4px 0}
.ls-report summary{cursor:pointer;color:var(--jp-brand-color1,#1565c0)}
.ls-report table{border-collapse:collapse;margin:4px 0;display:block;max-width:100%;overflow-x:auto}
.ls-report td code{white-space:nowrap!important}
.ls-report td,.ls-report th{border:1px solid var(--jp-border-color2,#ddd);padding:2px 6px;text-align:left!important;
 vertical-align:top;color:var(--jp-ui-font-color1,#212121);background:transparent}
.ls-report .ls-caption{font-size:11px;color:var(--jp-ui-font-color2,#555);max-width:420px}
.ls-report pre{margin:0;font-size:12px;white-space:pre!important;overflow-x:auto;max-width:100%;
 background:transparent;color:var(--jp-content-font-color1,#212121)}
.ls-report svg{max-width:100%;height:auto}
.ls-report svg .graph>polygon{fill:transparent;stroke:none}
.ls-report svg .node path,.ls-report svg .node polygon{fill:var(--jp-layout-color1,#fff);
 stroke:var(--jp-ui-font-color1,#212121)}
.ls-report svg .node text,.ls-report svg .ls-axis{fill:var(--jp-ui-font-color1,#212121)}
.ls-report svg .ls-dot{fill:var(--jp-ui-font-color1,#424242)}
.ls-verdict-parallel{color:var(--jp-success-color1,#2e7d32);font-weight:600}
.ls-verdict-reduction{color:var(--jp-brand-color1,#1565c0);font-weight:600}
.ls-verdict-sequential{color:var(--jp-error-color1,#c62828);font-weight:600}
.ls-verdict-not-compiled{color:var(--jp-ui-font-color2,#616161);font-weight:600}
.ls-code .c,.ls-code .c1,.ls-code .cm,.ls-code .cs{color:var(--jp-mirror-editor-comment-color,#408080);
 font-style:italic}
.ls-code .cp,.ls-code .cpf{color:var(--jp-mirror-editor-meta-color,#aa22ff)}
.ls-code .k,.ls-code .kc,.ls-code .kd,.ls-code .kn,.ls-code .kp,.ls-code .kr{
 color:var(--jp-mirror-editor-keyword-color,#008000);font-weight:bold}
.ls-code .kt,.ls-code .nb{color:var(--jp-mirror-editor-builtin-color,#008000)}
.ls-code .m,.ls-code .mi,.ls-code .mf,.ls-code .mh,.ls-code .il{color:var(--jp-mirror-editor-number-color,#080)}
.ls-code .s,.ls-code .s1,.ls-code .s2,.ls-code .sc{color:var(--jp-mirror-editor-string-color,#ba2121)}
.ls-code .o,.ls-code .ow{color:var(--jp-mirror-editor-operator-color,#aa22ff)}
.ls-code .nf{color:var(--jp-mirror-editor-def-color,#00f)}
.ls-code .p{color:var(--jp-mirror-editor-punctuation-color,#05a)}
</style>"""


def _loops_table(report: NestReport) -> str:
    loops = (report.analysis or {}).get("loops") or []
    if not loops:
        return ""
    rows = ["<table><tr><th>loop</th><th>line</th><th>verdict</th><th>why</th></tr>"]
    for l in loops:
        verdict = loop_verdict(report, l)
        why = list(l.get("reasons") or [])
        for r in l.get("reductions") or []:
            why.append(
                f"reduction of {r.get('variable')} with {r.get('op')} (parallel partial results, "
                f"combined in a fixed order; floating-point sums may differ by rounding)"
            )
        if l.get("privates"):
            why.append("private scalars: " + ", ".join(l["privates"]))
        if verdict == "parallel" and not why:
            why.append("no dependence is carried by this loop: its iterations are independent")
        rows.append(
            f"<tr><td><code>{esc(loop_head(l.get('var')))}</code></td><td>{esc(l.get('line'))}</td>"
            f"<td class='ls-verdict-{esc(verdict.replace(' ', '-'))}'>{esc(verdict)}</td>"
            f"<td>{'<br>'.join(esc(w) for w in why)}</td></tr>"
        )
    rows.append("</table>")
    return "".join(rows)


LIST_MAX_ITEMS = 60  # longer lists of the analysis section show their first items and a count


def _html_list(title: str, items: List[Any]) -> str:
    shown = "".join(f"<li>{esc(i)}</li>" for i in items[:LIST_MAX_ITEMS])
    if len(items) > LIST_MAX_ITEMS:
        shown += f"<li><i>... and {len(items) - LIST_MAX_ITEMS} more</i></li>"
    return f"<div><b>{esc(title)}</b><ul>{shown}</ul></div>"


def _staged_html(report: NestReport) -> str:
    static = report.nest.get("static") or {}
    parts = []
    for key, title in (
        ("references", "References (when the cell was submitted)"),
        ("settled", "Settled without run-time values"),
        ("for_run_time", "Left for run time"),
    ):
        items = static.get(key) or []
        if items:
            parts.append(_html_list(title, items))
    proofs = (report.analysis or {}).get("proofs") or []
    if proofs:
        parts.append(_html_list("Proved independent", proofs))
    notes = (report.analysis or {}).get("notes") or []
    if notes:
        parts.append(_html_list("At run time", notes))
    return "".join(parts)


def _cost_table(report: NestReport) -> str:
    est = report.estimate
    if not est:
        return ""
    components = components_of(est)
    rows = [
        "<table><tr><th>variant</th>"
        + "".join(f"<th>{c}</th>" for c in components)
        + "<th>total</th><th>bound by</th></tr>"
    ]
    for v in est.get("variants", []):
        name = v.get("variant", "?")
        if not v.get("available", True):
            name += f" (not available: {v.get('unavailable_reason', '')})"
        mark = " ◀" if v.get("variant") == est.get("choice") else ""
        rows.append(
            "<tr><td>"
            + esc(name + mark)
            + "</td>"
            + "".join(f"<td>{esc(fmt_seconds(v.get(c)))}</td>" for c in components)
            + f"<td><b>{esc(fmt_seconds(v.get('total')))}</b></td><td>{esc(v.get('bound_by', ''))}</td></tr>"
        )
    rows.append("</table>")
    if est.get("gpu_profile"):
        rows.append(f"<div class='ls-caption'>GPU priced as: {esc(est['gpu_profile'])}.")
        crossover = est.get("gpu_crossover")
        if crossover:
            label = est.get("size_label") or "size"
            rows.append(f" The GPU overtakes the CPU at about {esc(label)} ≈ {crossover:.3g}.")
        rows.append("</div>")
    return "".join(rows)


def loop_head(var) -> str:
    """How a loop is named: "for i", or "while" for a while loop at the top
    of a nest (its variable is "while", never a Python name)."""
    return "while" if var == "while" else f"for {var}"


def headline(report: NestReport) -> str:
    nest = report.nest
    where = f"loop nest at line {nest.get('line')} ({loop_head(nest.get('var'))})"
    if report.explain_only:
        return f"{where}: explained, not run. " + (report.decision or "")
    return f"{where}: " + (report.decision or f"runs {DEVICE_WORDS.get(report.device, report.device)}")


def _fell_back(report: NestReport) -> bool:
    return report.run_reason.startswith("fell back")


def measured_line(report: NestReport) -> str:
    """What ran and how long it took ("" before the first run)."""
    if report.runs == 0:
        return ""
    ran = report.ran or report.device
    if _fell_back(report):
        text = report.run_reason[0].upper() + report.run_reason[1:]
        if report.measured_s is not None:
            text += f"; ran in {fmt_seconds(report.measured_s)}"
    else:
        text = f"Ran {DEVICE_WORDS.get(ran, ran)}"
        if report.measured_s is not None:
            text += f" in {fmt_seconds(report.measured_s)}"
            pred = predicted_total(report, ran)
            if pred is not None:
                text += f" (predicted {fmt_seconds(pred)})"
        if report.run_reason:
            text += f"; {report.run_reason}"
    if report.stopped:
        text += f"; {report.stopped.reason}"
    if report.runs > 1:
        text += f". It ran {report.runs} times in this cell, {fmt_seconds(report.total_s)} in all"
    return text + "."


def summary_line(report: NestReport) -> str:
    """The one line of the summary level: where, what ran, how long, and for
    a nest that ran as plain Python, why."""
    nest = report.nest
    where = f"loop nest at line {nest.get('line')} ({loop_head(nest.get('var'))})"
    measured = measured_line(report)
    if report.explain_only or not measured:
        return "Loopscope: " + headline(report)
    if report.run_reason and not _fell_back(report):
        # the first clause of a compile note ("including 2.3 ms to compile
        # quick code"); what is built in the background is for the full report
        measured = measured.replace(report.run_reason, report.run_reason.split(";")[0])
    text = f"Loopscope: {where} {measured[0].lower()}{measured[1:-1]}"
    if report.ran == "python" and not _fell_back(report):
        # "runs as plain Python: <why>" or "runs in Python: <why>"
        _, _, why = (report.decision or "").partition(": ")
        if why:
            text += ": " + why.rstrip(".")
    return text + "."


def render_text(report: NestReport, level: str = "full") -> str:
    if level == "summary":
        return summary_line(report)
    out = ["Loopscope: " + headline(report)]
    m = measured_line(report)
    if m:
        out.append(m)
    return "\n".join(out)


def first_run_table(report: NestReport, draw_s: float = 0.0) -> str:
    """The first run by component, measured beside the prediction: the
    analysis and pricing before the run, binding and checks, compiling, the
    loop, and drawing this report after it (``draw_s``: what drawing the
    other sections took). The overheads are priced by
    _cost.first_run_overheads, the rest by the chosen variant's estimate."""
    fr = report.first_run
    if not fr or report.ran in (None, "python"):
        return ""
    t = fr.get("timing") or {}
    elapsed = fr.get("elapsed_s") or 0.0
    setup = (t.get("bind_us", 0.0) + t.get("analysis_us", 0.0)) * 1e-6 + t.get("specialise_ms", 0.0) * 1e-3
    compile_s = (t.get("compile_ms") or 0.0) * 1e-3
    loop = max(0.0, elapsed - setup - compile_s)
    draw = draw_s + (fr.get("complete_s") or 0.0)
    predicted = {}
    for v in (report.estimate or {}).get("variants", []):
        if v.get("variant") == ("gpu" if report.ran.startswith("gpu") else report.ran):
            predicted = v
    try:
        from . import _cost

        over = _cost.first_run_overheads(report.nvrtc_s)
    except Exception:
        over = {}
    total = predicted.get("total")
    rows = [
        ("analysis and pricing, before the run", fr.get("report_s"), over.get("report")),
        ("binding the values and the run-time checks", setup, over.get("setup")),
        ("compiling", compile_s, predicted.get("compile")),
        (
            "the loop (with its copies and threads)",
            loop,
            total - predicted.get("compile", 0.0) if total is not None else None,
        ),
        ("drawing this report (CUDA, graph, tables)", draw, over.get("draw")),
    ]
    html = ["<table><tr><th>first run</th><th>measured</th><th>predicted</th></tr>"]
    for name, measured, pred in rows:
        html.append(
            f"<tr><td>{esc(name)}</td><td>{esc(fmt_seconds(measured))}</td>"
            f"<td>{esc(fmt_seconds(pred) if pred is not None else 'not priced')}</td></tr>"
        )
    whole = sum(m or 0.0 for _, m, _ in rows)
    whole_pred = sum(p for _, _, p in rows) if all(p is not None for _, _, p in rows) else None
    html.append(
        f"<tr><td><b>in all</b></td><td><b>{esc(fmt_seconds(whole))}</b></td>"
        f"<td>{esc(fmt_seconds(whole_pred) if whole_pred is not None else 'not priced')}</td></tr>"
        "</table>"
    )
    caption = (
        "Later runs of this nest pay only the loop: the analysis, the report and the compiled code are "
        "kept. The report's own costs are priced from this machine's calibration."
    )
    if fr.get("calibration_s"):
        caption += (
            f" This machine was calibrated during this run ({fmt_seconds(fr['calibration_s'])}, "
            "once, not counted above)."
        )
    html.append(f"<div class='ls-caption'>{esc(caption)}</div>")
    return "".join(html)


def _sections(report: NestReport) -> List[str]:
    """The report's folded sections (each a <details>), in reading order. The
    first run's table is drawn last, so that it can say what drawing the
    others took."""
    parts = []
    if report.nest.get("declined"):
        d = Decline.from_engine(report.nest.get("decline"))
        reason, line = (d.reason, d.line) if d else ("", "?")
        parts.append(f"<div>Not analysed: {esc(reason)} (line {esc(line)}).</div>")
    t0 = time.perf_counter()
    sections = [
        ("Loops and why", _loops_table(report)),
        ("Static and run-time analysis", _staged_html(report)),
        ("Dependence graph", dependence_html(report) if report.analysis else None),
        ("Iteration space", iteration_space_svg(report)),
        ("Cost breakdown", _cost_table(report)),
        ("Generated CUDA", cuda_html(report) if report.cuda is not None else None),
    ]
    sections.append(("First run, measured", first_run_table(report, time.perf_counter() - t0)))
    for title, body in sections:
        if body:
            opened = " open" if title == "Loops and why" else ""
            parts.append(f"<details{opened}><summary>{title}</summary>{body}</details>")
    return parts


def render_html(report: NestReport, level: str = "full") -> str:
    """``level`` "full": the decision, what ran, notes and every section;
    "summary": one line (summary_line) that unfolds to the same."""
    body = [f"<div class='ls-caption'>{esc(note)}</div>" for note in report.notes]
    if level == "summary":
        decision = report.decision or f"runs {DEVICE_WORDS.get(report.device, report.device)}"
        inner = [f"<div><b>Decision:</b> {esc(decision)}</div>"] + body + _sections(report)
        if report.estimate:
            inner.append("<div class='ls-caption'>The charts of the predicted cost: %loopscope full.</div>")
        return "".join(
            [
                _STYLE,
                "<div class='ls-report ls-summary'><details><summary class='ls-head'>",
                esc(summary_line(report)),
                "</summary>",
                *inner,
                "</details></div>",
            ]
        )
    parts = [_STYLE, "<div class='ls-report'>", f"<div class='ls-head'>Loopscope: {esc(headline(report))}</div>"]
    m = measured_line(report)
    if m:
        parts.append(f"<div>{esc(m)}</div>")
    parts += body
    parts += _sections(report)
    parts.append("</div>")
    return "".join(parts)


def bundle(report: NestReport, level: str = "full") -> Dict[str, Any]:
    return {"text/html": render_html(report, level), "text/plain": render_text(report, level)}
