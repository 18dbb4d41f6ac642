"""The engine outside the Loopscope kernel: ``%load_ext loopscope`` in a
standard IPython shell, and the ``loopscope.jit`` decorator in scripts."""

import numpy as np
import pytest

import loopscope
from loopscope import _run


@pytest.fixture(scope="module")
def ipython():
    from IPython.testing import globalipapp

    ip = globalipapp.start_ipython() or globalipapp.get_ipython()  # one shell per process
    ip.run_line_magic("load_ext", "loopscope")
    yield ip
    ip.run_line_magic("unload_ext", "loopscope")


def test_load_ext_intercepts_and_matches_python(ipython, capsys):
    ipython.run_line_magic("loopscope", "cpu summary")
    result = ipython.run_cell(
        "import numpy as np\n"
        "A = np.arange(1000.0)\nB = np.zeros(1000)\n"
        "for i in range(1, 999):\n"
        "    B[i] = 0.5 * (A[i - 1] + A[i + 1])\n"
    )
    assert result.success
    out = capsys.readouterr().out
    assert "Loopscope: loop nest at line" in out and "ran on the CPU" in out
    want = np.zeros(1000)
    A = np.arange(1000.0)
    want[1:999] = 0.5 * (A[:998] + A[2:])
    assert np.array_equal(ipython.user_ns["B"], want)
    assert ipython.user_ns["i"] == 998
    ipython.run_line_magic("loopscope", "auto full")


def test_load_ext_keeps_python_errors(ipython):
    ipython.run_line_magic("loopscope", "auto quiet")
    result = ipython.run_cell("import numpy as np\nC = np.zeros(4)\nfor i in range(6):\n    C[i] = 1.0\n")
    assert isinstance(result.error_in_exec, IndexError)
    assert list(ipython.user_ns["C"]) == [1.0, 1.0, 1.0, 1.0]
    ipython.run_line_magic("loopscope", "auto full")


def test_off_mode_leaves_cells_untouched(ipython):
    ipython.run_line_magic("loopscope", "off")
    before = _run.last_runs()
    ipython.run_cell("import numpy as np\nD = np.zeros(5)\nfor i in range(5):\n    D[i] = i\n")
    assert list(ipython.user_ns["D"]) == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert _run.last_runs() == before
    ipython.run_line_magic("loopscope", "auto full")


def _scale(v, f):
    for i in range(v.shape[0]):
        v[i] = v[i] * f
    return i


def test_jit_decorator_runs_natively_and_returns():
    fast = loopscope.jit(device="cpu")(_scale)
    v = np.arange(10.0)
    assert fast(v, 3.0) == 9
    assert np.array_equal(v, np.arange(10.0) * 3.0)
    runs = [r for r in _run.last_runs().values() if r["device"] == "cpu"]
    assert any(r["status"] == "ok" for r in runs)
    assert fast.__name__ == "_scale" and fast.loopscope_device == "cpu"
    plain = loopscope.jit(_scale)
    w = np.ones(4)
    assert plain(w, 2.0) == 3 and list(w) == [2.0] * 4


def test_gpu_mode_without_a_gpu_runs_the_emulator(ipython, capsys):
    ipython.run_line_magic("loopscope", "gpu summary")
    result = ipython.run_cell(
        "import numpy as np\nG = np.arange(64.0).reshape(8, 8)\nH = np.zeros((8, 8))\n"
        "for i in range(8):\n    for j in range(8):\n        H[i, j] = G[i, j] * 2.0 + G[j, i]\n"
    )
    assert result.success
    out = capsys.readouterr().out
    assert "GPU emulator" in out
    G = np.arange(64.0).reshape(8, 8)
    assert np.array_equal(ipython.user_ns["H"], G * 2.0 + G.T)
    ipython.run_line_magic("loopscope", "auto full")


def test_report_says_what_the_first_run_compiled(ipython, capsys):
    import _loopscope

    ipython.run_line_magic("loopscope", "cpu full")  # the summary line keeps only the compile time
    _loopscope.cpu_clear_cache()
    result = ipython.run_cell(
        "import numpy as np\n"
        "E = np.arange(3000.0)\nF = np.ones(3000)\n"
        "for i in range(3000):\n"
        "    F[i] = F[i] * 0.25 + E[i] * 3.0\n"
    )
    assert result.success
    out = capsys.readouterr().out
    # a brief loop: quick code first, O3 code built in the background
    assert "to compile quick code" in out and "built in the background" in out, out
    assert np.array_equal(ipython.user_ns["F"], 0.25 + np.arange(3000.0) * 3.0)
    _loopscope.cpu_wait_compiles()
    ipython.run_line_magic("loopscope", "auto full")


def test_silent_cells_start_afresh(ipython):
    """A silent execution fires no pre/post_run_cell; the next one must
    still show its nests (none is taken for already shown)."""
    cell = "import numpy as np\nA = np.zeros(3)\ndef abs(x):\n    return x\n" "for i in range(3):\n    A[i] = abs(i)\n"
    ipython.run_line_magic("loopscope", "auto quiet")
    ipython.run_cell(cell, silent=True)
    ipython.run_line_magic("loopscope", "auto full")
    shown = []
    saved = ipython.display_pub.publish
    ipython.display_pub.publish = lambda data, *a, **k: shown.append(data)
    try:
        ipython.run_cell(cell, silent=True)
    finally:
        ipython.display_pub.publish = saved
    assert any("abs is a function defined in this program" in d.get("text/plain", "") for d in shown), shown


@pytest.mark.parametrize("level", ["summary", "full"])
def test_a_python_loop_stopped_by_an_exception_still_says_what_ran(ipython, capsys, level):
    """The native variant falls back (a subscript out of range at the last
    iteration), then Python's loop raises: the report still says what ran,
    for how long, and what stopped it."""
    ipython.run_line_magic("loopscope", f"cpu {level}")
    result = ipython.run_cell(
        "import numpy as np\nA_stop = np.ones(2000)\n" "for i in range(2000):\n    A_stop[i + 1] = A_stop[i] * 0.5\n"
    )
    assert isinstance(result.error_in_exec, IndexError)
    out = capsys.readouterr().out
    assert "ell back to plain Python: a subscript is out of range" in out, out
    assert "; ran in " in out and "the Python loop stopped with IndexError" in out, out
    ipython.run_line_magic("loopscope", "auto full")


@pytest.mark.parametrize("level", ["summary", "full"])
def test_a_variant_declined_at_run_time_says_what_ran_instead(ipython, capsys, level):
    """The report decided on the CPU; the values then make the variant
    decline (an int that outgrows 64 bits): the report says Python ran
    instead, why, and how long it took."""
    ipython.run_line_magic("loopscope", f"cpu {level}")
    result = ipython.run_cell("s_fb = 1\nfor i in range(80):\n    s_fb = s_fb * 3\n")
    assert result.success and ipython.user_ns["s_fb"] == 3**80
    out = capsys.readouterr().out
    assert "ell back to plain Python: " in out and "; ran in " in out, out
    ipython.run_line_magic("loopscope", "auto full")
