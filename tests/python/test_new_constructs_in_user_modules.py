"""The newest native constructs in functions of the user's own files, called from the
methods of a cell's class and from a cell that imports the module: round(x,
ndigits) at ties, NaN/inf and ndigits out of range, len(m[i]) over a 2-D
array, a ragged list of rows and rows out of range (IndexError), and
appends inside a while loop (run twice). Each cell's names must be CPython's
in every mode, and the nests that can run natively must.
"""

import contextlib
import importlib
import io
import itertools
import textwrap

import pytest

from differential import same, use_temporary_cache  # noqa: F401
from loopscope import _run

_names = itertools.count(1)

UTILS = """
import numpy as np


def rows(m, out, k):
    for i in range(k):
        for j in range(len(m[i])):
            out[i, j] = round(m[i][j] * 0.25, 1)
    return out


def collatz(n0, seq):
    for k in range(1, n0):
        v = k
        while v != 1:
            seq.append(v)
            v = v // 2 if v % 2 == 0 else 3 * v + 1
    return seq


def rnd(x, out, nd):
    r = 0.0
    for i in range(x.shape[0]):
        r = round(float(x[i]), nd)
        out[i] = r
    return r
"""

CELLS = [
    """
class Runner:
    def go(self, m, k):
        out = np.zeros((4, 4))
        return UTILS.rows(m, out, k)

    def seq(self, n0):
        return collatz(n0, [])

    @staticmethod
    def rounded(x, nd):
        out = np.zeros(x.shape[0])
        r = rnd(x, out, nd)
        return out, r
""",
    "r1 = Runner().go(np.arange(16.0).reshape(4, 4), 4)",
    "r2 = Runner().go([[1, 2], [3], [], [5, 6, 7]], 4)",
    "try:\n    Runner().go(np.arange(12.0).reshape(3, 4), 4)\nexcept IndexError as e:\n    r3 = str(e)",
    "r4 = Runner().seq(300)\nr5 = Runner().seq(300)",
    "r6 = Runner.rounded(np.array([0.5, 1.5, 2.675, 0.125, math.nan, math.inf, -0.0, 1e300]), 2)",
    "try:\n    Runner.rounded(np.array([0.5, 1e300]), -400)\nexcept Exception as e:\n    r7 = repr(e)",
    "try:\n    Runner.rounded(np.array([0.5, math.inf]), 0)\nexcept Exception as e:\n    r8 = repr(e)",
    "import UTILS\nr9 = UTILS.rows(np.arange(16).reshape(4, 4), np.zeros((4, 4), dtype=np.int64), 4)",
    "r10 = UTILS.collatz(40, [7, 8.5])",
]


@pytest.fixture
def utils(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    name = f"loopscope_fuzz_utils_{next(_names)}"
    (tmp_path / f"{name}.py").write_text(UTILS)
    importlib.invalidate_caches()
    return importlib.import_module(name)


@pytest.mark.parametrize("mode", ["cpu quiet", "auto quiet", "gpu quiet"])
def test_cells_calling_user_module_functions_match_python(utils, shell, mode):
    name = utils.__name__
    setup = f"import math\nimport numpy as np\nimport {name}\nfrom {name} import collatz, rnd\n"
    cells = [setup] + [textwrap.dedent(c).replace("UTILS", name) for c in CELLS]
    plain = {}
    for c in cells:
        exec(c, plain)
    with contextlib.redirect_stdout(io.StringIO()):
        shell.run_line_magic("loopscope", mode)
    shell.user_ns.clear()
    shell.init_user_ns()
    _run.reset_last_runs()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        results = [shell.run_cell(c, silent=True) for c in cells]
    assert all(r.success for r in results), [r.error_in_exec for r in results]
    for k in range(1, 11):
        key = f"r{k}"
        a, b = shell.user_ns.get(key, "unset"), plain.get(key, "unset")
        assert same(a, b), (key, a, b)
    runs = _run.last_runs()
    ok = {r.get("function") for r in runs.values() if r["status"] == "ok"}
    if mode != "auto quiet":  # auto may choose Python for these small inputs
        assert "collatz" in ok, runs
    if mode == "cpu quiet":
        assert "rnd" in ok, runs
    if mode == "gpu quiet":
        reasons = [r.get("reason", "") for r in runs.values() if r.get("function") == "rnd"]
        assert any("round(x, ndigits) of a Python float does not run on the GPU" in x for x in reasons), runs
