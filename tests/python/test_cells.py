"""Loop-nest interception in the Loopscope kernel, over the Jupyter protocol:
every benchmark cell shows its report and computes what CPython computes;
malformed and unsupported cells behave exactly as in plain Python; the
%loopscope magic; Vega-Lite specs that render."""

import inspect
import json
import os
import textwrap
import time
import warnings

import numpy as np
import pytest

import benchmarks

REPORT_MARK = "Loopscope: loop nest at line"
VEGA = "application/vnd.vegalite.v5+json"


def _reports(ex):
    return [
        c["data"]
        for c in ex.of_type("display_data")
        if "text/html" in c["data"] and c["data"].get("text/plain", "").startswith("Loopscope:")
    ]


def _charts(ex):
    return [c["data"][VEGA] for c in ex.of_type("display_data") if VEGA in c["data"]]


def _has_reductions(bench):
    return any(l.verdict == "reduction" for l in bench.loops)


@pytest.fixture(scope="module")
def bench_kernel(kernel, repo_root):
    ex = kernel.execute(
        "import sys, numpy as np, math\n"
        f"sys.path.insert(0, {os.path.join(repo_root, 'share')!r})\n"
        "import benchmarks\n"
        "%loopscope auto full"
    )
    assert ex.status == "ok", ex.error
    return kernel


@pytest.mark.parametrize("name", benchmarks.names())
def test_benchmark_cell_reports_and_matches_cpython(bench_kernel, name, tmp_path):
    bench = benchmarks.get(name)
    source = textwrap.dedent(inspect.getsource(bench.fn))
    # CPython's result, in this process.
    expected = bench.args("small")
    bench.fn(*expected)
    out = tmp_path / "result.npz"
    cell = (
        f"{source}\n"
        f"args = benchmarks.get({name!r}).args('small')\n"
        f"{bench.fn.__name__}(*args)\n"
        f"np.savez({str(out)!r}, *[a for a in args if isinstance(a, np.ndarray)])\n"
    )
    ex = bench_kernel.execute(cell, timeout=300)
    assert ex.status == "ok", ex.error
    reports = _reports(ex)
    nests = {l.var for l in bench.loops}  # at least one report per nest of the function
    assert reports, "every benchmark cell shows a Loopscope report"
    html = "".join(r["text/html"] for r in reports)
    assert "Loops and why" in html and "Dependence graph" in html and "Generated CUDA" in html
    assert "<svg" in html
    assert _charts(ex), "the full report includes the Vega-Lite cost chart"
    got = np.load(out)
    arrays = [a for a in expected if isinstance(a, np.ndarray)]
    for k, want in enumerate(arrays):
        have = got[f"arr_{k}"]
        if _has_reductions(bench):
            np.testing.assert_allclose(have, want, rtol=1e-12, atol=1e-12)
        else:
            assert np.array_equal(have, want), f"{name}: array {k} differs from CPython"
    assert nests


def test_vega_lite_specs_render(bench_kernel):
    vlc = pytest.importorskip("vl_convert")
    ex = bench_kernel.execute(
        "def sweep(a, x, y):\n"
        "    for i in range(x.shape[0]):\n"
        "        y[i] = a * x[i] + y[i]\n"
        "sweep(2.0, np.ones(5000), np.ones(5000))",
        timeout=120,
    )
    specs = _charts(ex)
    assert specs
    for spec in specs:
        svg = vlc.vegalite_to_svg(spec)
        assert svg.startswith("<svg") and "Predicted time" in svg
        # One chart above the other (side by side they overflow a 700 px cell),
        # and the GPU-profile dropdown drives both.
        assert "vconcat" in spec and "hconcat" not in spec
        bars, sizes = spec["vconcat"]
        assert "gpu_profile" in json.dumps(bars["transform"]) and "gpu_profile" in json.dumps(sizes["layer"])
        gpu_profiles = {b["profile"] for b in bars["data"]["values"] if b["variant"].startswith("gpu")}
        assert len(gpu_profiles) >= 7
        other = dict(spec, params=[dict(spec["params"][0], value="t4")])
        assert vlc.vegalite_to_svg(other) != svg


def _plain_python(code):
    """Runs ``code`` with CPython in a fresh namespace: (error name, message, namespace)."""
    ns = {"np": np}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)  # np.matrix
        try:
            exec(compile(code, "<cell>", "exec"), ns)
        except Exception as exc:  # noqa: BLE001 - the point is to compare
            return type(exc).__name__, str(exc), ns
    return None, None, ns


UNSUPPORTED_CELLS = {
    "out_of_range_write": ("A = np.zeros(10)\nfor i in range(12):\n    A[i] = i + 1\n", "A"),
    "out_of_range_read": ("A = np.arange(8.0)\nB = np.zeros(8)\nfor i in range(8):\n    B[i] = A[i + 1]\n", "B"),
    "negative_wrap": ("A = np.arange(6.0)\nB = np.zeros(6)\nfor i in range(6):\n    B[i] = A[i - 1]\n", "B"),
    "indirect_subscript": (
        "idx = np.array([3, 1, 2, 0])\nA = np.zeros(4)\nfor i in range(4):\n" "    A[idx[i]] = i\n",
        "A",
    ),
    "break_in_loop": ("A = np.zeros(10)\nfor i in range(10):\n    if i == 4:\n        break\n    A[i] = 1.0\n", "A"),
    "python_zero_division": ("s = 0.0\nfor i in range(6):\n    s += 1.0 / (i - 3)\n", "s"),
    "int_floor_mod": (
        "A = np.arange(-7, 7)\nB = np.zeros(14, dtype=np.int64)\nfor i in range(14):\n"
        "    B[i] = A[i] // 3 + A[i] % 3\n",
        "B",
    ),
    "undefined_name": ("A = np.zeros(3)\nfor i in range(3):\n    A[i] = undefined_value\n", "A"),
    "not_a_range": ("total = 0\nfor x in [1, 2, 3]:\n    total += x\n", "total"),
    "while_loop": ("k = 0\nwhile k < 5:\n    k += 2\n", "k"),
    "loop_variables_after": ("A = np.zeros(5)\nfor i in range(5):\n    t = i * 2\n    A[i] = t\n", "A"),
    "zero_trip": ("i = 'kept'\nA = np.zeros(3)\nfor i in range(0):\n    A[i] = 1.0\n", "i"),
    "syntax_error": ("for i in range(3)\n    print(i)\n", None),
    "type_error": ("A = np.zeros(3)\nfor i in range(3):\n    A[i] = 'text'\n", "A"),
    "masked_array": (
        "m = np.ma.masked_array([1.0, 2.0, 3.0], mask=[0, 1, 0])\nfor i in range(3):\n" "    m[i] = 5.0\n",
        "m",
    ),
    "matrix_rows": (
        "M = np.matrix([[1.0, 2.0], [3.0, 4.0]])\nout = np.zeros((2, 2))\nfor i in range(2):\n"
        "    for j in range(2):\n        out[i, j] = M[i][j]\n",
        "out",
    ),
}


@pytest.mark.parametrize("case", sorted(UNSUPPORTED_CELLS))
def test_unsupported_and_malformed_cells_behave_as_python(kernel, case):
    code, var = UNSUPPORTED_CELLS[case]
    kernel.execute("%reset -f")
    ename, evalue, ns = _plain_python(code)
    ex = kernel.execute("import numpy as np\n" + code)
    if ename is None:
        assert ex.status == "ok", ex.error
    else:
        assert ex.status == "error"
        assert ex.reply["ename"] == ename
        if ename != "SyntaxError":
            assert ex.reply["evalue"] == evalue
    if var is not None:
        shown = kernel.execute(f"print(repr({var}))")
        assert shown.stream().strip() == repr(ns[var])
        for name in ("i", "t"):
            if name in ns:
                v = kernel.execute(f"print(repr({name}))").stream().strip()
                assert v == repr(ns[name]), f"{name} after the loop"


def test_declined_nest_says_why(kernel):
    ex = kernel.execute("import numpy as np\nA = np.zeros(2)\n" "for k in range(2):\n    A[k] = float(str(k))\n")
    assert ex.status == "ok"
    text = "".join(r["text/plain"] for r in _reports(ex))
    assert "runs as plain Python" in text
    assert "str(k)" in text


def test_report_escapes_user_code(kernel):
    ex = kernel.execute(
        "import numpy as np\n"
        "x_lt = np.ones(4)\n"
        "for i in range(4):\n"
        "    x_lt[i] = x_lt[i] * 2 if x_lt[i] < 3 else 0.0\n"
    )
    assert ex.status == "ok", ex.error
    html = "".join(r["text/html"] for r in _reports(ex))
    # The comparison in the user's code appears escaped, never as a tag.
    assert "< 3" not in html.replace("&lt; 3", "")
    assert "&lt;" in html


def test_magic_modes(kernel):
    echo = kernel.execute("%loopscope auto full").stream()
    assert echo == "Loopscope: mode auto, show full, GPU profile default, floating-point sums in Python's order.\n"
    shown = kernel.execute("%loopscope")
    assert "mode auto" in shown.stream() and "Modes: auto, cpu, gpu, python, off." in shown.stream()
    kernel.execute("%loopscope python")
    ex = kernel.execute("import numpy as np\nA = np.zeros(100)\nfor i in range(100):\n    A[i] = i\n")
    text = "".join(r["text/plain"] for r in _reports(ex))
    assert "plain Python" in text
    kernel.execute("%loopscope cpu quiet")
    ex = kernel.execute("B = np.zeros(100)\nfor i in range(100):\n    B[i] = i\nprint(B.sum())")
    assert _reports(ex) == [] and ex.stream() == "4950.0\n"
    kernel.execute("%loopscope off")
    ex = kernel.execute("C = np.zeros(10)\nfor i in range(10):\n    C[i] = i\n")
    assert _reports(ex) == []
    bad = kernel.execute("%loopscope sideways")
    assert "unknown option" in bad.stream("stderr")
    kernel.execute("%loopscope auto full")


def test_magic_explain_does_not_run_the_next_cell(kernel):
    kernel.execute("%loopscope auto full")
    kernel.execute("import numpy as np\nE = np.zeros(50)")
    kernel.execute("%loopscope explain")
    ex = kernel.execute("for i in range(50):\n    E[i] = 1.0\nprint(E.sum())")
    assert ex.status == "ok"
    assert ex.stream() == "0.0\n"
    assert any("explained, not run" in r["text/plain"] for r in _reports(ex))
    again = kernel.execute("for i in range(50):\n    E[i] = 1.0\nprint(E.sum())")
    assert again.stream() == "50.0\n"


def test_magic_profile(kernel):
    listed = kernel.execute("%loopscope profiles").stream()
    names = [n.strip() for n in listed.split(":", 1)[1].split(",")]
    assert len(names) >= 7
    other = [n for n in names if "t4" in n.lower()] or names[-1:]
    kernel.execute(f"%loopscope profile {other[0]}")
    assert other[0] in kernel.execute("%loopscope").stream()
    bad = kernel.execute("%loopscope profile no_such_gpu")
    assert "unknown GPU profile" in bad.stream("stderr")
    kernel.execute("%loopscope auto full")


def test_measured_time_is_added_after_running(kernel):
    kernel.execute("%loopscope cpu full")
    ex = kernel.execute("import numpy as np\nA = np.ones(200000)\nfor i in range(200000):\n" "    A[i] = A[i] * 3.0\n")
    updates = [c["data"]["text/plain"] for c in ex.of_type("update_display_data")]
    assert any("Ran on the CPU" in u and "predicted" in u for u in updates), updates
    kernel.execute("%loopscope auto full")


def test_functions_defined_in_cell_are_intercepted_when_called(kernel):
    kernel.execute("%loopscope cpu summary")
    define = kernel.execute(
        "import numpy as np\n" "def scale(v, f):\n" "    for i in range(v.shape[0]):\n" "        v[i] = v[i] * f\n"
    )
    assert _reports(define) == []
    call = kernel.execute("w = np.arange(10.0)\nscale(w, 2.0)\nscale(w, 2.0)\nprint(w[3])")
    assert call.stream() == "12.0\n"
    assert len(_reports(call)) == 1, "one report per nest per cell, however often it runs"
    updates = [c["data"]["text/plain"] for c in call.of_type("update_display_data")]
    assert updates and "It ran 2 times in this cell" in updates[-1], updates
    kernel.execute("%loopscope auto full")


def test_summary_level_shows_one_line_per_nest_worth_a_look(kernel):
    """The default level: no line for a loop that prints or a short Python
    loop; one line, after the run, with what ran, its time and (for Python)
    why; the full report folded under it."""
    echo = kernel.execute("%loopscope auto summary").stream()
    assert echo.count("\n") == 1 and "show summary" in echo
    ex = kernel.execute("for k in range(3):\n    print(k)\n")
    assert ex.stream() == "0\n1\n2\n" and _reports(ex) == []
    ex = kernel.execute("import numpy as np\nT = np.zeros(5)\nfor i in range(5):\n    T[i] = i\n")
    assert _reports(ex) == []
    # A function that calls itself cannot be inlined: the loop runs as Python.
    ex = kernel.execute(
        "def bump(x):\n    return x + 1 if x >= 0 else bump(-x)\ns = 0\nfor i in range(400000):\n    s = bump(s)\n"
        "print(s)"
    )
    assert ex.stream() == "400000\n"
    (report,) = _reports(ex)
    line = report["text/plain"]
    assert line.startswith("Loopscope: loop nest at line 4 (for i) ran as plain Python in "), line
    assert "bump calls itself" in line and "\n" not in line
    assert "<details><summary class='ls-head'>" in report["text/html"]
    assert "Loops and why" not in report["text/html"]  # declined by the front end: nothing more to show
    # Nested Python loops: the outer line counts the inner one's time; one line.
    ex = kernel.execute(
        "acc = 0\nfor r in range(60):\n    for c in range(3000):\n        acc = acc + bump(c)\n" "print(acc)"
    )
    assert ex.stream() == f"{60 * sum(range(1, 3001))}\n"
    (report,) = _reports(ex)
    assert report["text/plain"].startswith("Loopscope: loop nest at line 2 (for r) ran as plain Python in ")
    # A native run: its line, and the report folded under it.
    kernel.execute("%loopscope cpu summary")
    ex = kernel.execute("B = np.zeros(1000)\nfor i in range(1000):\n    B[i] = i * 2.0\nprint(B[7])")
    assert ex.stream() == "14.0\n"
    (report,) = _reports(ex)
    assert report["text/plain"].startswith("Loopscope: loop nest at line 2 (for i) ran on the CPU")
    html = report["text/html"]
    for section in ("Decision:", "Loops and why", "Cost breakdown", "Generated CUDA", "%loopscope full"):
        assert section in html, section
    assert _charts(ex) == []
    # A short Python loop run many times in the cell gets its line at the end.
    kernel.execute("%loopscope python summary")
    ex = kernel.execute(
        "C = np.zeros(3000)\nfor t in range(200):\n    for i in range(3000):\n"
        "        C[i] = C[i] + 1.0\n    if t < 0:\n        print(t)\nprint(C[0])"
    )
    assert ex.stream() == "200.0\n"
    assert len(_reports(ex)) == 1
    final = [c["data"]["text/plain"] for c in ex.of_type("update_display_data")] or [_reports(ex)[0]["text/plain"]]
    assert "It ran 200 times in this cell" in final[-1], final
    # %loopscope explain: the full report, whatever the level.
    kernel.execute("%loopscope auto summary")
    kernel.execute("%loopscope explain")
    ex = kernel.execute("for i in range(1000):\n    B[i] = 1.0\n")
    (report,) = _reports(ex)
    assert "explained, not run" in report["text/plain"] and "Loops and why" in report["text/html"]
    kernel.execute("%loopscope auto full")


def test_full_level_times_python_runs(kernel):
    kernel.execute("%loopscope python full")
    ex = kernel.execute("import numpy as np\nP = np.zeros(50)\nfor i in range(50):\n    P[i] = i\n")
    assert len(_reports(ex)) == 1
    updates = [c["data"]["text/plain"] for c in ex.of_type("update_display_data")]
    assert any("Ran as plain Python in" in u for u in updates), updates
    kernel.execute("%loopscope auto full")


def test_interrupt_native_loop(kernel, measure):
    kernel.execute("%loopscope cpu quiet")
    kernel.execute("import numpy as np\nZ = np.zeros((400, 400))\nkeep = 7")
    msg_id = kernel.kc.execute(
        "for t in range(1000000):\n"
        "    for i in range(1, 399):\n"
        "        for j in range(1, 399):\n"
        "            Z[i, j] = 0.5 * (Z[i - 1, j] + Z[i, j - 1]) + 1.0\n"
    )
    time.sleep(2.0)
    t0 = time.perf_counter()
    kernel.km.interrupt_kernel()
    ex = kernel.collect(msg_id, timeout=30)
    latency = time.perf_counter() - t0
    measure("interrupt latency, native loop", latency * 1000, "ms")
    assert ex.reply["ename"] == "KeyboardInterrupt"
    assert kernel.execute("print(keep)").stream() == "7\n"
    kernel.execute("%loopscope auto full")
