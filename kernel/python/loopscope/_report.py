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
"""

import ast
import html
import math
import textwrap
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

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
COMPONENTS = ("scheduling", "transfer", "compute", "compile")


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
    stopped_by: str = ""  # the exception that stopped its Python loop, if one did
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


def _predicted(report: NestReport, device: str) -> Optional[float]:
    if not report.estimate:
        return None
    key = "cpu" if device == "cpu" else device
    if device == "gpu-emulated":
        key = "gpu"
    for v in report.estimate.get("variants", []):
        if v.get("variant") == key:
            return v.get("total")
    return None


# --- the dependence graph ------------------------------------------------------


def _dot_quote(text: str) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _nest_tree(report: NestReport):
    """(loops, statements) with their nesting, from the nest's own source.

    Returns a list of loop dicts {"line", "var", "children": [...]} where
    children are loops or statement lines, matched to the analysis by line."""
    source = report.nest.get("source") or ""
    base = int(report.nest.get("line") or 1)
    try:
        tree = ast.parse(textwrap.dedent(source))
    except SyntaxError:
        return []

    def walk(stmts):
        out = []
        for s in stmts:
            if isinstance(s, ast.For):
                out.append(
                    {
                        "kind": "loop",
                        "line": base + s.lineno - 1,
                        "var": s.target.id if isinstance(s.target, ast.Name) else "?",
                        "children": walk(s.body + s.orelse),
                    }
                )
            elif isinstance(s, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                out.append({"kind": "stmt", "line": base + s.lineno - 1})
            elif isinstance(s, ast.If):
                out.extend(walk(s.body))
                out.extend(walk(s.orelse))
        return out

    return walk(tree.body)


# How the dependence graph is drawn, by size (docs/big-bodies.md):
#
# - "full": one box per statement inside its loops, one edge per pair of
#   statements and array, labelled with the kind, the array and the
#   direction (and a count when several dependences share the edge);
# - "summary": one box per statement, in source order, and one unlabelled
#   arc per pair of statements (colour and width tell the strongest kind and
#   how many; hovering shows the details), for graphs too large to label
#   readably;
# - "table": no drawing, only the dependences counted per array, for graphs
#   whose layout would take too long.
#
# Whatever the mode, the Graphviz layout runs under LAYOUT_BUDGET_S (in a
# child process that is killed when it runs over); a graph that runs over is
# left out with a line saying so, and graphs at least as large (and not
# small) are not tried again in this process.
FULL_MAX_NODES = 30
FULL_MAX_EDGES = 50
SUMMARY_MAX_NODES = 120
SUMMARY_MAX_EDGES = 120
LAYOUT_BUDGET_S = 0.2
TABLE_MAX_ROWS = 40
SUMMARY_TEXT_CHARS = 36  # a statement's text in the summary is cut to this (all of it in its tooltip)

_KIND_RANK = {"flow": 0, "anti": 1, "output": 2}
_layout_state: Dict[str, Any] = {"too_slow": None, "cache": {}}
_LAYOUT_CACHE_SIZE = 32
_SKIP_MIN_SIZE = 40  # smaller graphs (statements + edges) are always tried: one slow moment must not hide them all


def _strength(edge: dict):
    """Sort key of an edge, strongest first: a dependence carried by a loop
    (it keeps the loop sequential) before one within an iteration, then
    flow before anti before output."""
    return (0 if edge.get("carrier") is not None else 1, _KIND_RANK.get(edge.get("kind"), 3))


def aggregate_edges(edges: List[dict], per_array: bool = True) -> List[Dict[str, Any]]:
    """The analysis's edges grouped per pair of statements and array (or,
    with ``per_array=False``, per pair of statements), in order of first
    appearance. Each group: ``src``, ``dst``, ``variable`` (the first
    array), ``variables`` (all of them), ``count``, ``kinds`` ({kind:
    count}), ``kind`` and ``direction`` of the strongest edge, ``carriers``
    (the loops that carry any of them, in order) and ``carried``."""
    groups: Dict[tuple, Dict[str, Any]] = {}
    for e in edges:
        var = str(e.get("variable", ""))
        key = (e.get("src"), e.get("dst"), var if per_array else None)
        g = groups.get(key)
        if g is None:
            g = groups[key] = {
                "src": e.get("src"),
                "dst": e.get("dst"),
                "variable": var,
                "variables": {},
                "count": 0,
                "kinds": {},
                "carriers": {},
                "strongest": e,
            }
        g["count"] += 1
        g["variables"][var] = None
        kind = str(e.get("kind", "?"))
        g["kinds"][kind] = g["kinds"].get(kind, 0) + 1
        if e.get("carrier") is not None:
            g["carriers"][str(e["carrier"])] = None
        if _strength(e) < _strength(g["strongest"]):
            g["strongest"] = e
    out = []
    for g in groups.values():
        s = g.pop("strongest")
        g["variables"] = list(g["variables"])
        g["carriers"] = list(g["carriers"])
        g["kind"] = str(s.get("kind", "?"))
        g["direction"] = str(s.get("direction", ""))
        g["carried"] = bool(g["carriers"])
        out.append(g)
    return out


def edge_label(group: Dict[str, Any]) -> str:
    """The label of an edge of the full graph: "flow A (=,<)", then
    "carried by j" on a second line; a group of several dependences says
    how many and names the strongest ("flow A ×3 (=,<)")."""
    label = f"{group['kind']} {group['variable']}"
    if group["count"] > 1:
        label += f" ×{group['count']}"
    if group["direction"]:
        label += f" {group['direction']}"
    if group["carried"]:
        label += "\ncarried by " + ", ".join(group["carriers"])
    return label


def _tooltip(group: Dict[str, Any]) -> str:
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(group["kinds"].items(), key=lambda kv: _KIND_RANK.get(kv[0], 3)))
    arrays = ", ".join(group["variables"][:6]) + (", ..." if len(group["variables"]) > 6 else "")
    text = f"{group['src']} -> {group['dst']}: {kinds} on {arrays}"
    if group["carried"]:
        text += "; carried by " + ", ".join(group["carriers"])
    return text


def _distinct(edges: List[dict], key, limit: int) -> Optional[int]:
    """How many distinct key(edge) there are, or None when more than limit
    (counting stops there: a large graph costs no more than a small one)."""
    seen = set()
    for e in edges:
        seen.add(key(e))
        if len(seen) > limit:
            return None
    return len(seen)


def graph_mode(report: NestReport) -> Dict[str, Any]:
    """How the dependence graph of this report is shown: ``{"mode": "full",
    "summary" or "table", "nodes" (statements), "edges" (dependences),
    "pairs" (edges of the full graph), "statement_pairs" (edges of the
    summary)}``, the last two None when they were not counted (more than
    the mode's limit); mode None when there is nothing to show."""
    statements = report.nest.get("statements") or []
    edges = (report.analysis or {}).get("edges") or []
    key = (id(report.analysis), len(edges), len(statements))
    cached = report.graph_info
    if cached is not None and cached[0] == key:
        return dict(cached[1])
    info: Dict[str, Any] = {
        "mode": None,
        "nodes": len(statements),
        "edges": len(edges),
        "pairs": None,
        "statement_pairs": None,
    }
    if statements:
        if info["nodes"] <= FULL_MAX_NODES:
            info["pairs"] = _distinct(edges, lambda e: (e.get("src"), e.get("dst"), e.get("variable")), FULL_MAX_EDGES)
        if info["pairs"] is not None:
            info["mode"] = "full"
            info["statement_pairs"] = _distinct(edges, lambda e: (e.get("src"), e.get("dst")), FULL_MAX_EDGES)
        else:
            if info["nodes"] <= SUMMARY_MAX_NODES:
                info["statement_pairs"] = _distinct(edges, lambda e: (e.get("src"), e.get("dst")), SUMMARY_MAX_EDGES)
            info["mode"] = "summary" if info["statement_pairs"] is not None else "table"
    report.graph_info = (key, dict(info))
    return info


def dependence_dot(report: NestReport, mode: Optional[str] = None) -> Optional[str]:
    """The DOT text of the dependence graph: ``mode`` "full" or "summary"
    (see graph_mode; by default the one its size calls for); None when there
    are no statements or the graph is too large to draw."""
    statements = report.nest.get("statements") or []
    analysis = report.analysis or {}
    if not statements:
        return None
    if mode is None:
        mode = graph_mode(report)["mode"]
    if mode not in ("full", "summary"):
        return None
    summary = mode == "summary"
    by_line: Dict[int, List[dict]] = {}
    for s in statements:
        by_line.setdefault(int(s.get("line", 0)), []).append(s)
    verdicts = {}
    for l in analysis.get("loops", []) or []:
        verdicts[int(l.get("line", 0))] = loop_verdict(report, l)

    lines = [
        "digraph dependences {",
        '  graph [rankdir=TB, fontname="Helvetica", fontsize=10, nodesep=0.3, ranksep=0.35'
        + (", mclimit=0.3, nslimit=2, nslimit1=2, searchsize=10" if summary else "")
        + "];",
        '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9' + (", arrowsize=0.6" if summary else "") + "];",
    ]
    counter = [0]
    placed = set()

    def node(s, pad):
        text = f"{s['label']}: {s.get('text', '')}"
        if summary:
            short = text if len(text) <= SUMMARY_TEXT_CHARS else text[: SUMMARY_TEXT_CHARS - 3] + "..."
            return f"{pad}{_dot_quote(s['label'])} [label={_dot_quote(short)}, tooltip={_dot_quote(text)}];"
        return f"{pad}{_dot_quote(s['label'])} [label={_dot_quote(text)}];"

    def emit(items, indent):
        pad = "  " * indent
        for item in items:
            if item["kind"] == "loop":
                counter[0] += 1
                verdict = verdicts.get(item["line"], "unknown")
                colour = VERDICT_COLOURS.get(verdict, "#757575")
                label = f"for {item['var']} (line {item['line']}): {verdict}"
                lines.append(f"{pad}subgraph cluster_{counter[0]} {{")
                lines.append(
                    f"{pad}  label={_dot_quote(label)}; color={_dot_quote(colour)}; "
                    f"fontcolor={_dot_quote(colour)}; style=rounded; penwidth=1.6;"
                )
                emit(item["children"], indent + 1)
                lines.append(f"{pad}}}")
            else:
                for s in by_line.get(item["line"], []):
                    if s["label"] in placed:
                        continue
                    placed.add(s["label"])
                    lines.append(node(s, pad))

    emit(_nest_tree(report), 1)
    for s in statements:  # anything the tree walk missed
        if s["label"] not in placed:
            placed.add(s["label"])
            lines.append(node(s, "  "))
    # Statements one below the other in source order (invisible edges hold
    # them there: without them Graphviz may put S3 beside, or before, S1);
    # dependences are arcs beside them, and do not move the statements.
    order = [s["label"] for s in statements]
    for a, b in zip(order, order[1:]):
        lines.append(f"  {_dot_quote(a)} -> {_dot_quote(b)} [style=invis, weight=10];")
    groups = aggregate_edges(analysis.get("edges", []) or [], per_array=not summary)
    # Every end of an edge is declared as a node (an if's condition, "if@6",
    # has no statement of its own): Graphviz's cluster layout can crash on an
    # edge to a node that no cluster declared.
    for name in sorted({g[end] for g in groups for end in ("src", "dst")} - placed):
        placed.add(name)
        text = f"if (line {name[3:]})" if name.startswith("if@") else name
        lines.append(f"  {_dot_quote(name)} [label={_dot_quote(text)}, shape=diamond];")
    for g in groups:
        colour = "#c62828" if g["carried"] else "#9e9e9e"
        attrs = [f"color={_dot_quote(colour)}", "constraint=false"]
        if summary:
            attrs.append(f"tooltip={_dot_quote(_tooltip(g))}")
            if g["count"] > 1:
                attrs.append(f"penwidth={min(1.0 + math.log2(g['count']), 4.0):.1f}")
        else:
            attrs = [f"label={_dot_quote(edge_label(g))}"] + attrs + [f"fontcolor={_dot_quote(colour)}"]
            if g["count"] > 1:
                attrs.append(f"tooltip={_dot_quote(_tooltip(g))}")
        if not g["carried"]:
            attrs.append("style=dashed")
        lines.append(f"  {_dot_quote(g['src'])} -> {_dot_quote(g['dst'])} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines)


def _layout(dot: str, size: int, budget: float):
    """(svg, None), or (None, why the graph is left out)."""
    cache = _layout_state["cache"]
    if dot in cache:
        svg = cache.pop(dot)
        cache[dot] = svg  # most recently used last
        return svg, None
    too_slow = _layout_state["too_slow"]
    if too_slow is not None and size >= max(too_slow, _SKIP_MIN_SIZE):
        return None, (
            f"a graph this large took longer than {budget:g} s to lay out earlier in this session, "
            "so it is not drawn"
        )
    try:
        import _loopscope

        try:
            svg = _loopscope.render_dot(dot, "dot", float(budget))
        except RuntimeError:
            # Graphviz's dot (2.42) crashes on some graphs with clusters and
            # labelled edges (the child process that lays them out dies);
            # ranking the nodes globally (newrank) avoids that layout path.
            svg = _loopscope.render_dot(dot.replace("graph [", "graph [newrank=true, ", 1), "dot", float(budget))
    except TimeoutError:
        _layout_state["too_slow"] = size if too_slow is None else min(size, too_slow)
        return None, f"laying it out took longer than {budget:g} s, so it is not drawn"
    except RuntimeError:
        return None, "Graphviz could not lay it out"
    except Exception as exc:  # a drawing problem must not hide the report
        from ._errors import internal

        return None, f"it could not be drawn: {internal(exc, 'graph layout')}"
    start = svg.find("<svg")
    svg = svg[start:] if start >= 0 else svg
    cache[dot] = svg
    while len(cache) > _LAYOUT_CACHE_SIZE:
        cache.pop(next(iter(cache)))
    return svg, None


def dependence_svg(report: NestReport, budget: Optional[float] = None) -> Optional[str]:
    """The drawn graph (SVG), a line saying why it is not drawn, or None when
    there is no graph."""
    html_, _ = _dependence_parts(report, budget)
    return html_


def _dependence_parts(report: NestReport, budget: Optional[float] = None):
    """(the drawing or a line saying why there is none, the mode drawn)."""
    info = graph_mode(report)
    mode = info["mode"]
    if mode is None:
        return None, None
    size_words = f"{info['nodes']} statements, {info['edges']} dependence{'s' if info['edges'] != 1 else ''}"
    if info["statement_pairs"] is not None:
        size_words += (
            f" between {info['statement_pairs']} pair{'s' if info['statement_pairs'] != 1 else ''} " "of statements"
        )
    if mode == "table":
        return (
            f"<p class='ls-graph-note'><i>The graph is not drawn: it is too large to read ({esc(size_words)}). "
            "The dependences are counted per array below.</i></p>"
        ), "table"
    dot = dependence_dot(report, mode)
    svg, why = _layout(
        dot,
        info["nodes"] + ((info["pairs"] if mode == "full" else info["statement_pairs"]) or 0),
        LAYOUT_BUDGET_S if budget is None else budget,
    )
    if svg is None:
        return f"<p class='ls-graph-note'><i>The graph is not drawn: {esc(why)} ({esc(size_words)}).</i></p>", "table"
    if mode == "summary":
        note = (
            "<p class='ls-graph-note'><i>Summary of a large graph (" + esc(size_words) + "): one edge per pair "
            "of statements, wider when it stands for several dependences; hover over an edge or a box for "
            "the details. The dependences are counted per array below.</i></p>"
        )
        return note + svg, "summary"
    return svg, "full"


def dependence_table(report: NestReport, limit: int = TABLE_MAX_ROWS) -> str:
    """The dependences counted per array (or scalar): how many of each kind,
    which loops carry them, how many statements they join, and one of them
    as an example. Linear in the number of edges, for graphs of any size."""
    edges = (report.analysis or {}).get("edges") or []
    if not edges:
        return ""
    rows: Dict[str, Dict[str, Any]] = {}
    for e in edges:
        var = str(e.get("variable", ""))
        r = rows.get(var)
        if r is None:
            r = rows[var] = {"count": 0, "kinds": {}, "carriers": {}, "statements": set(), "example": e}
        r["count"] += 1
        kind = str(e.get("kind", "?"))
        r["kinds"][kind] = r["kinds"].get(kind, 0) + 1
        if e.get("carrier") is not None:
            c = str(e["carrier"])
            r["carriers"][c] = r["carriers"].get(c, 0) + 1
        r["statements"].add(e.get("src"))
        r["statements"].add(e.get("dst"))
        if _strength(e) < _strength(r["example"]):
            r["example"] = e
    order = sorted(rows.items(), key=lambda kv: (-kv[1]["count"], kv[0]))
    out = [
        "<table><tr><th>array</th><th>dependences</th><th>carried by</th><th>statements</th>"
        "<th>for example</th></tr>"
    ]
    for var, r in order[:limit]:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(r["kinds"].items(), key=lambda kv: _KIND_RANK.get(kv[0], 3)))
        carried = ", ".join(f"{c} ({n})" for c, n in r["carriers"].items()) or "none (within one iteration)"
        ex = r["example"]
        example = (
            f"{ex.get('src')} → {ex.get('dst')}: {ex.get('kind')} {ex.get('src_ref', '')} → "
            f"{ex.get('dst_ref', '')} {ex.get('direction', '')}"
        )
        out.append(
            f"<tr><td><code>{esc(var)}</code></td><td>{r['count']} ({esc(kinds)})</td><td>{esc(carried)}</td>"
            f"<td>{len(r['statements'])}</td><td>{esc(example)}</td></tr>"
        )
    out.append("</table>")
    if len(order) > limit:
        out.append(f"<div class='ls-caption'>... and {len(order) - limit} more arrays.</div>")
    return "".join(out)


def dependence_html(report: NestReport, budget: Optional[float] = None) -> Optional[str]:
    """The body of the report's "Dependence graph" section: the drawing (or
    the line saying why it is left out), its caption, and the table per
    array when the graph is a summary or is not drawn."""
    drawing, mode = _dependence_parts(report, budget)
    if drawing is None:
        return None
    parts = [drawing]
    if mode in ("full", "summary"):
        parts.append(
            "<div class='ls-caption'>Boxes are loops (green: parallel, blue: reduction, red: "
            "sequential, grey: not compiled); red edges are dependences carried by a loop, grey dashed "
            "edges stay within one iteration.</div>"
        )
    if mode != "full":
        parts.append(dependence_table(report))
    return "".join(parts)


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


# --- the charts ----------------------------------------------------------------

CHART_WIDTH = 380  # with axes and legend, a chart fits a 700 px cell


def chart_spec(report: NestReport) -> Optional[dict]:
    est = report.estimate
    if not est or not est.get("variants"):
        return None
    current = est.get("gpu_profile") or "gpu"
    # The GPU bar is priced on every profile (the dropdown picks one, for both
    # charts); the CPU and Python bars do not depend on it ("*").
    gpu_bars = dict(report.profile_gpu)
    bars = []
    for v in est["variants"]:
        name = v.get("variant")
        per_profile = {current: v}
        if name == "gpu":
            per_profile.update(gpu_bars)
        for profile, pv in per_profile.items():
            label = name + ("" if pv.get("available", True) else " (not available)")
            for comp in COMPONENTS:
                bars.append(
                    {
                        "variant": label,
                        "component": comp,
                        "seconds": float(pv.get(comp) or 0.0),
                        "profile": profile if name == "gpu" else "*",
                    }
                )
    profiles = sorted(set(report.profile_sweeps) | set(gpu_bars) | {current})
    linked = len(profiles) > 1
    cost_chart = {
        "title": "Predicted time per variant",
        "data": {"values": bars},
        **({"transform": [{"filter": "datum.profile == '*' || datum.profile == gpu_profile"}]} if linked else {}),
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "y": {"field": "variant", "type": "nominal", "sort": None, "title": None},
            "x": {"field": "seconds", "type": "quantitative", "aggregate": "sum", "title": "seconds (predicted)"},
            "color": {
                "field": "component",
                "type": "nominal",
                "sort": list(COMPONENTS),
                "scale": {"domain": list(COMPONENTS), "range": ["#8e24aa", "#fb8c00", "#1e88e5", "#9e9e9e"]},
                "legend": {"orient": "bottom", "title": None},
            },
            "order": {"field": "component", "type": "nominal"},
        },
        "width": CHART_WIDTH,
    }
    charts = [cost_chart]
    sweeps = dict(report.profile_sweeps)
    if est.get("sweep") and current not in sweeps:
        sweeps[current] = est["sweep"]
    points = []
    for profile, sweep in sweeps.items():
        for p in sweep:
            for variant in ("python", "cpu-serial", "cpu", "gpu"):
                if variant != "gpu" and profile != current:
                    continue  # CPU curves do not depend on the GPU profile
                val = p.get(variant)
                if val is None or not (val > 0) or math.isinf(val):
                    continue
                points.append(
                    {
                        "size": p["size"],
                        "variant": variant,
                        "seconds": val,
                        "profile": profile if variant == "gpu" else "*",
                    }
                )
    if points:
        work = est.get("work") or {}
        size_now = work.get("size_value")
        size_label = work.get("size_axis") or est.get("size_label") or work.get("size_label") or "problem size"
        layers = [
            {
                "mark": {"type": "line", "point": True, "tooltip": True},
                "transform": [{"filter": "datum.profile == '*' || datum.profile == gpu_profile"}],
                "encoding": {
                    "x": {"field": "size", "type": "quantitative", "scale": {"type": "log"}, "title": str(size_label)},
                    "y": {
                        "field": "seconds",
                        "type": "quantitative",
                        "scale": {"type": "log"},
                        "title": "seconds (predicted)",
                    },
                    "color": {"field": "variant", "type": "nominal", "legend": {"orient": "bottom", "title": None}},
                },
            }
        ]
        if isinstance(size_now, (int, float)) and size_now > 0:
            layers.append(
                {
                    "data": {"values": [{"size": size_now, "what": "this run"}]},
                    "mark": {"type": "rule", "strokeDash": [4, 3], "color": "#ef6c00"},
                    "encoding": {
                        "x": {"field": "size", "type": "quantitative"},
                        "tooltip": {"field": "what", "type": "nominal"},
                    },
                }
            )
        charts.append(
            {
                "title": "Predicted time against problem size",
                "data": {"values": points},
                "layer": layers,
                "width": CHART_WIDTH,
            }
        )
    # One above the other: side by side they are wider than a 700 px cell.
    spec = {"$schema": VEGA_LITE_SCHEMA, "vconcat": charts, "resolve": {"scale": {"color": "independent"}}}
    if linked:
        # A variable parameter bound to an input lives at the top level of a
        # concatenated view; both charts filter on it.
        spec["params"] = [
            {
                "name": "gpu_profile",
                "value": current,
                "bind": {"input": "select", "options": profiles, "name": "GPU profile: "},
            }
        ]
    return spec


# --- the HTML ------------------------------------------------------------------

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


DECLINED_VERDICT = "not compiled"  # the loops of a nest that runs as Python whatever their dependences


def loop_verdict(report: NestReport, loop: dict) -> str:
    """The verdict the report shows for a loop: the plan's, except in a nest
    the engine declines (an unsupported element type, a subscript it cannot
    read, ...). The plan marks those loops sequential, which is safe for the
    code generators but would tell the reader a dependence is the reason."""
    if (report.analysis or {}).get("decline") or report.nest.get("declined"):
        return DECLINED_VERDICT
    return loop.get("verdict", "?")


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
            f"<tr><td><code>for {esc(l.get('var'))}</code></td><td>{esc(l.get('line'))}</td>"
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
    rows = [
        "<table><tr><th>variant</th><th>scheduling</th><th>transfer</th><th>compute</th>"
        "<th>compile</th><th>total</th><th>bound by</th></tr>"
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
            + "".join(f"<td>{esc(fmt_seconds(v.get(c)))}</td>" for c in COMPONENTS)
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


def headline(report: NestReport) -> str:
    nest = report.nest
    where = f"loop nest at line {nest.get('line')} (for {nest.get('var')})"
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
            pred = _predicted(report, ran)
            if pred is not None:
                text += f" (predicted {fmt_seconds(pred)})"
        if report.run_reason:
            text += f"; {report.run_reason}"
    if report.stopped_by:
        text += f"; the Python loop stopped with {report.stopped_by}"
    if report.runs > 1:
        text += f". It ran {report.runs} times in this cell, {fmt_seconds(report.total_s)} in all"
    return text + "."


def summary_line(report: NestReport) -> str:
    """The one line of the summary level: where, what ran, how long, and for
    a nest that ran as plain Python, why."""
    nest = report.nest
    where = f"loop nest at line {nest.get('line')} (for {nest.get('var')})"
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
        d = report.nest.get("decline") or {}
        parts.append(f"<div>Not analysed: {esc(d.get('reason', ''))} (line {esc(d.get('line', '?'))}).</div>")
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
