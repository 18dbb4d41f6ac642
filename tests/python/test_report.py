"""The report's pieces, in-process: the dependence graph in source order
with readable labels, the one-line summary and the measured line."""

import contextlib
import io
import re

import pytest

from test_big_bodies import fresh_layout  # noqa: F401  (empties the layout memory)

from loopscope import _report


def _shown(shell, level, cell):
    bundles = []
    saved = shell.display_pub.publish
    shell.display_pub.publish = lambda data, *a, **k: bundles.append(data)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            shell.run_line_magic("loopscope", f"cpu {level}")
            result = shell.run_cell(cell)
    finally:
        shell.display_pub.publish = saved
    assert result.success
    return [b for b in bundles if str(b.get("text/plain", "")).startswith("Loopscope:")]


THREE_STATEMENTS = """
import numpy as np
n = 40
A = np.arange(n * 1.0); B = np.arange(n * 2.0); C = np.zeros(n)
for i in range(1, n):
    A[i] = B[i - 1] + 1.0
    B[i] = A[i] * 0.5
    C[i] = A[i - 1] + B[i]
"""

MATMUL = """
import numpy as np
n = 30
A = np.ones((n, n)); B = np.ones((n, n)); C = np.zeros((n, n))
for i in range(n):
    for j in range(n):
        s = 0.0
        for k in range(n):
            s += A[i, k] * B[k, j]
        C[i, j] = s
"""


def _statement_rows(svg):
    """{statement label: y} of the drawn statements (the last report shown is the
    final one: a report is shown, then updated after the run)."""
    rows = {}
    for y, label in re.findall(r'<text[^>]*y="([-0-9.]+)"[^>]*>(S\d+):', svg):
        rows[label] = float(y)
    return rows


@pytest.mark.parametrize("cell", [THREE_STATEMENTS, MATMUL], ids=["three-statements", "matmul"])
def test_graph_draws_statements_in_source_order(shell, cell):
    report = _shown(shell, "full", cell)[-1]
    svg = report["text/html"]
    rows = _statement_rows(svg)
    assert len(rows) == 3, rows
    # SVG y grows downwards: S1 above S2 above S3.
    assert rows["S1"] < rows["S2"] < rows["S3"], rows


def test_edge_labels_break_lines_and_never_show_an_escape(shell):
    report = _shown(shell, "full", THREE_STATEMENTS)[-1]
    html = report["text/html"]
    assert "\\n" not in html
    assert ">carried by i</text>" in html  # the label's second line is its own line of text


def test_summary_line_is_one_line_that_unfolds(shell):
    report = _shown(shell, "summary", THREE_STATEMENTS.replace("n = 40", "n = 4000"))[-1]
    line = report["text/plain"]
    assert "\n" not in line
    # line 4 of the cell (IPython drops its first, empty line); no loop can run in parallel
    assert line.startswith("Loopscope: loop nest at line 4 (for i) ran on the CPU (one thread) in "), line
    html = report["text/html"]
    assert html.count("<details>") >= 1 and "<summary class='ls-head'>" in html
    assert "Dependence graph" in html and "<svg" in html


def _made(**kw):
    nest = {"line": 3, "var": "i", "source": "for i in range(3):\n    x[i] = i\n"}
    return _report.NestReport(nest=nest, **kw)


def test_measured_line_says_what_ran():
    r = _made(device="cpu", decision="runs on the CPU (all cores): it is faster.")
    assert _report.measured_line(r) == ""
    r.runs, r.total_s, r.measured_s, r.ran = 1, 0.002, 0.002, "cpu"
    assert _report.measured_line(r) == "Ran on the CPU (all cores) in 2.00 ms."
    r.runs, r.total_s = 3, 0.005
    assert _report.measured_line(r).endswith("It ran 3 times in this cell, 5.00 ms in all.")
    fb = _made(device="cpu", decision="runs on the CPU (all cores): it is faster.")
    fb.runs, fb.total_s, fb.measured_s, fb.ran = 1, 0.5, 0.5, "python"
    fb.run_reason = "fell back to plain Python: an index is out of range"
    assert _report.measured_line(fb) == "Fell back to plain Python: an index is out of range; ran in 500.00 ms."
    assert _report.summary_line(fb) == (
        "Loopscope: loop nest at line 3 (for i) fell back to plain Python: "
        "an index is out of range; ran in 500.00 ms."
    )
    py = _made(device="python", decision="runs as plain Python: the call f(i) is not known (line 4).")
    py.runs, py.total_s, py.measured_s, py.ran = 1, 1.5, 1.5, "python"
    assert _report.summary_line(py) == (
        "Loopscope: loop nest at line 3 (for i) ran as plain Python in 1.50 s: " "the call f(i) is not known (line 4)."
    )


def test_a_declined_nest_shows_no_red_sequential_loop(shell):
    """An image of long double numbers is declined for its element type: its
    loops are "not compiled" (grey), not "sequential" (red, which means a
    dependence)."""
    report = _shown(
        shell,
        "full",
        "import numpy as np\nI = np.zeros((20, 20), np.longdouble)\n"
        "O = np.zeros((20, 20), np.longdouble)\nfor i in range(20):\n"
        "    for j in range(20):\n        O[i, j] = 2.0 * I[i, j]\n",
    )[-1]
    html = report["text/html"]
    assert "dtype float128" in report["text/plain"]
    assert ">not compiled</td>" in html and ">sequential</td>" not in html
    graph = html.split("Dependence graph")[-1].split("</svg>")[0]
    assert ": not compiled" in graph and ": sequential" not in graph


def test_first_run_is_shown_by_component(shell):
    """What the first run paid, measured beside the prediction: the report,
    binding and checks, compiling, the loop, and the sum."""
    report = _shown(
        shell,
        "full",
        "import numpy as np\nx = np.ones(50000); y = np.ones(50000)\n"
        "for i in range(50000):\n    y[i] = 2.0 * x[i] + y[i]\n",
    )[-1]
    html = report["text/html"]
    table = html.split("First run, measured")[1].split("</table>")[0]
    rows = [r.split("</td>")[:3] for r in table.split("<tr><td>")[1:]]
    names = [r[0].replace("<b>", "").replace("</b>", "") for r in rows]
    assert names == [
        "analysis and pricing, before the run",
        "binding the values and the run-time checks",
        "compiling",
        "the loop (with its copies and threads)",
        "drawing this report (CUDA, graph, tables)",
        "in all",
    ]
    # Every component is priced, so the sum is too.
    assert "not priced" not in table
    predicted = [r[2].replace("<td>", "").replace("<b>", "").replace("</b>", "") for r in rows]
    assert all(p and p[0].isdigit() for p in predicted), predicted


def test_first_run_overheads_come_from_the_calibration(monkeypatch):
    from loopscope import _cost

    real = _cost.host_profile()
    for key in ("first_setup_us", "report_us", "report_draw_us"):
        assert real.get(key, 0) > 0, key  # calibrated on this host
    monkeypatch.setattr(_cost, "_host", dict(real, first_setup_us=50.0, report_us=700.0, report_draw_us=20000.0))
    over = _cost.first_run_overheads(nvrtc_s=0.04)
    assert over == pytest.approx({"setup": 50e-6, "report": 700e-6 + 0.04, "draw": 0.02})


def test_constant_bounds_get_a_size_chart():
    """A nest that reads no sized input (constant bounds, no array) is swept
    over its constant bounds, scaled as if they were a parameter, and the
    chart says so; before, every point sat at size 0 and the chart was
    empty."""
    import loopscope
    from loopscope import _report

    def f():
        s = 0
        for i in range(100):
            for j in range(100):
                s += i * j
        return s

    est = loopscope.estimate(f)
    est = est["nests"][0] if "nests" in est else est
    sizes = [p["size"] for p in est["sweep"]]
    assert len(sizes) >= 5 and sizes == sorted(sizes) and sizes[0] < 100 < sizes[-1]
    assert est["sweep"][0]["python"] < est["sweep"][-1]["python"]
    assert est["work"]["size_axis"] == "the loops' constant bounds (the largest is 100 in the code)"
    assert "at this size" in est["reason"]
    spec = _report.chart_spec(_report.NestReport(nest={"line": 2, "var": "i", "source": ""}, estimate=est))
    size_chart = spec["vconcat"][1]
    assert size_chart["layer"][0]["encoding"]["x"]["title"] == est["work"]["size_axis"]
    assert any(p["size"] == 100 for p in size_chart["data"]["values"])


@pytest.mark.parametrize(
    "setup,needle",
    [
        ("import sys\nsys.settrace(lambda frame, event, arg: None)\n", "debugger or tracer"),
        ("def abs(x):\n    return 10 * x\n", "abs"),
    ],
    ids=["debugger", "shadowed-builtin"],
)
def test_a_run_time_decline_gets_its_line_at_the_summary_level(shell, setup, needle):
    """A short loop the engine would have compiled, sent to Python by a
    run-time check (a debugger's tracer, a user's own abs): the summary
    level shows its line and why, however short the loop."""
    cell = (
        "import numpy as np\nA = np.arange(8.0); B = np.zeros(8)\n"
        + setup
        + "for i in range(8):\n    B[i] = abs(A[i])\n"
    )
    try:
        shown = _shown(shell, "summary", cell)
    finally:
        import sys

        sys.settrace(None)
        shell.user_ns.pop("abs", None)
    (line,) = [b["text/plain"] for b in shown]
    assert "ran as plain Python" in line and needle in line, line
    # Without the check, the same short loop compiles and runs natively.
    shown = _shown(shell, "summary", "for i in range(8):\n    B[i] = abs(A[i])\n")
    assert all("plain Python" not in b["text/plain"] for b in shown)


@pytest.mark.usefixtures("fresh_layout")
def test_gauss_seidel_self_dependences_are_one_edge(shell):
    """Gauss–Seidel's four dependences of S1 on itself (A[i-1, j], A[i+1, j],
    A[i, j-1], A[i, j+1]) are drawn as one labelled arc, not four arcs
    smeared over each other. (fresh_layout: a layout that timed out earlier
    in the session, on a loaded machine, makes graphs this large be left
    out; not what this test is about.)"""
    report = _shown(
        shell,
        "full",
        "import numpy as np\nA = np.random.rand(30, 30)\nfor t in range(2):\n"
        "    for i in range(1, 29):\n        for j in range(1, 29):\n"
        "            A[i, j] = 0.25 * (A[i - 1, j] + A[i + 1, j] + A[i, j - 1]"
        " + A[i, j + 1])\n",
    )[-1]
    graph = report["text/html"].split("Dependence graph")[1].split("</svg>")[0]
    self_edges = re.findall(r"<title>S1&#45;&gt;S1</title>", graph)
    assert len(self_edges) == 1, len(self_edges)
    assert "×" in graph  # the label says how many dependences it stands for


def test_first_run_table_keeps_a_calibration_apart():
    r = _made(device="cpu", decision="runs on the CPU (all cores): it is faster.")
    r.ran = "cpu"
    r.first_run = {
        "report_s": 0.0004,
        "calibration_s": 0.52,
        "complete_s": 0.002,
        "elapsed_s": 0.003,
        "timing": {"bind_us": 5.0, "analysis_us": 1.0, "specialise_ms": 0.01, "compile_ms": 2.0},
    }
    table = _report.first_run_table(r, draw_s=0.008)
    assert "calibrated during this run (520.00 ms, once, not counted above)" in table
    in_all = table.split("in all")[1]
    assert "13.40 ms" in in_all  # 0.4 + 3 (setup, compile and loop) + 2 + 8 (drawing): no calibration
    r.first_run.pop("calibration_s")
    assert "calibrated" not in _report.first_run_table(r)
