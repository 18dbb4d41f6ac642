"""The dependence graph of a nest's report: how it is shown at its size
(drawn in full, as a statement-level summary, or as a table per array), its
aggregated edges, the DOT text and its Graphviz layout under a time budget
(``LAYOUT_BUDGET_S``). Everything from user code is escaped (``esc`` for
HTML and SVG, ``_dot_quote`` for DOT)."""

import ast
import math
import textwrap
from typing import Any, Dict, List, Optional


from ._report_common import VERDICT_COLOURS, NestReport, esc, loop_verdict

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
