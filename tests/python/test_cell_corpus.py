"""The differential cell corpus: interception never changes what a cell does.

Every case of ``cell_corpus`` (a list of cells run in order in a fresh
namespace) runs in the Loopscope kernel in each mode (auto with the full
report, cpu, gpu -- the emulator where there is no GPU --, python and off,
the last four with one-line reports) and in a plain IPython kernel
(ipykernel, the reference), over the Jupyter protocol. For each cell the
test compares what CPython guarantees: stdout and stderr (Loopscope's
reports are display_data messages and are left out; anything Loopscope
writes to stdout or stderr is a difference), the execute_result, other
display_data, and the error's name and message; after the last cell, a
snapshot of the user's variables (names, types, reprs of scalars, dtype,
shape and a hash of the bytes of arrays, identity of aliased objects).

One kernel per mode for the whole module; between cases the user's names
are deleted (not ``%reset``) and the modules a case may monkeypatch (math,
numpy, builtins) are restored (``cell_corpus/_probe.py``). The gpu mode's
kernel, the slowest, runs its cases in a background thread from the start
of the module while the other modes' tests run, and its tests come last.
Tests are named ``test_cell_corpus[<mode>-<module>.<case>]``; run one case
in every mode with ``-k <module>.<case>``. A kernel that dies is restarted
and the case fails with "crash".

Differences that are not CPython's to promise are normalised: memory
addresses, the file name in warning lines, the file name in a
SyntaxError's message, which recursion check trips first, NaN payloads and
the padding bytes of long doubles.

A case that fails because of an engine bug stays in the corpus, with an
entry in KNOWN_FAILURES: (case, mode) -> what goes wrong. The entry makes the
test a non-strict xfail; remove it when the engine is fixed.
"""

import difflib
import json
import os
import re
import threading

import pytest

from cell_corpus import all_cases
from kernel_session import KernelSession

MODES = ("auto", "cpu", "gpu", "python", "off")
TEST_ORDER = ("auto", "cpu", "python", "off", "gpu")  # gpu last: its kernel works in the background meanwhile

# (case, mode) -> one line on the engine bug. Non-strict xfails: remove the
# entry when the bug is fixed.
KNOWN_FAILURES = {}

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = all_cases()
CASE_CELLS = dict(CASES)
VEGA = "application/vnd.vegalite.v5+json"

_WARNING_LOCATION = re.compile(r"^(?:/[^\s:]*|<[^>\n]*>|[\w.-]+\.py):(\d+): (\w+): ", re.M)
_ADDRESS = re.compile(r"0x[0-9a-fA-F]+")
_SYNTAX_LOCATION = re.compile(r"\((?:[^(),]*?), line (\d+)\)")
_CLASS_ENAME = re.compile(r"^<class '(?:[\w.]*\.)?(\w+)'>$")


def _normalise_text(text):
    text = _WARNING_LOCATION.sub(r"<cell>:\1: \2: ", text)
    return _ADDRESS.sub("0x?", text)


def _ename(name):
    """xeus-python 0.14 names errors "<class 'ZeroDivisionError'>"; keep the class name."""
    m = _CLASS_ENAME.match(name or "")
    return m.group(1) if m else name


def _is_loopscope_display(content):
    data = content.get("data", {})
    return VEGA in data or data.get("text/plain", "").startswith("Loopscope")


def cell_outcome(ex):
    """What CPython guarantees about one executed cell."""
    out = {
        "stdout": _normalise_text(ex.stream("stdout")),
        "stderr": _normalise_text(ex.stream("stderr")),
        "result": [_normalise_text(c["data"].get("text/plain", "")) for c in ex.of_type("execute_result")],
        "display": [
            _normalise_text(c["data"].get("text/plain", ""))
            for c in ex.of_type("display_data")
            if not _is_loopscope_display(c)
        ],
        "status": ex.status,
    }
    if ex.status == "error":
        evalue = ex.reply.get("evalue", "")
        ename = _ename(ex.reply.get("ename"))
        if ename in ("SyntaxError", "IndentationError", "TabError"):
            evalue = _SYNTAX_LOCATION.sub(r"(<cell>, line \1)", evalue)
        if ename == "RecursionError":
            # Which C-level check trips first ("... in comparison", "... while
            # calling a Python object") depends on the depth of the stack.
            evalue = evalue.split(" in comparison")[0].split(" while ")[0]
        out["error"] = [ename, _normalise_text(evalue)]
    return out


class Runner:
    """One kernel (Loopscope in one mode, or the reference) running cases."""

    def __init__(self, kernel_name, mode=None):
        self.kernel_name = kernel_name
        self.mode = mode
        self.session = None
        self.cache = {}
        self._ready = {}
        self._thread = None
        self._stop = False
        self._start()

    def _start(self):
        self.session = KernelSession.start(self.kernel_name)
        setup = []
        if self.mode is not None:
            level = "full" if self.mode == "auto" else "summary"
            setup.append(f"%loopscope {self.mode} {level}")
        setup.append(
            f"__import__('sys').path.insert(0, {HERE!r})\n"
            "__corpus_probe = __import__('cell_corpus._probe', fromlist=['_probe'])\n"
            "__corpus_probe.install(get_ipython())\n"
            "None"
        )
        for code in setup:
            ex = self.session.execute(code, stop_on_error=False)
            assert ex.status == "ok", (self.kernel_name, self.mode, code, ex.reply)

    def _restart(self):
        try:
            self.session.shutdown()
        except Exception:  # noqa: BLE001 - it is dead already
            pass
        self._start()

    def outcome(self, case):
        done = self._ready.get(case)
        if done is not None and case not in self.cache:
            done.wait(timeout=600)
            if case not in self.cache:  # the prefetching thread stopped early
                self._thread.join()
        if case not in self.cache:
            if self._thread is not None:
                self._thread.join()  # one request at a time on a session
            self.cache[case] = self._run(CASE_CELLS[case])
        return self.cache[case]

    def prefetch(self, cases):
        """Runs ``cases`` in a thread, so that this kernel works while
        another one runs the tests of another mode; ``outcome`` waits."""
        self._ready = {case: threading.Event() for case in cases}

        def work():
            for case in cases:
                if self._stop:
                    break
                self.cache[case] = self._run(CASE_CELLS[case])
                self._ready[case].set()

        self._thread = threading.Thread(target=work, name=f"corpus-{self.mode}", daemon=True)
        self._thread.start()

    def _run(self, cells):
        cells_out = []
        try:
            for code in cells:
                cells_out.append(cell_outcome(self.session.execute(code, timeout=60, stop_on_error=False)))
            snap = self.session.execute("__corpus_probe.finish()", timeout=60, stop_on_error=False)
        except Exception as exc:  # noqa: BLE001 - a dead or stuck kernel
            alive = self.session.km.is_alive()
            self._restart()
            return {"cells": cells_out, "crash": f"{type(exc).__name__}: {exc} (kernel alive: {alive})"}
        if snap.status != "ok":
            return {"cells": cells_out, "snapshot_error": snap.reply}
        return {"cells": cells_out, "variables": json.loads(snap.stream())}

    def shutdown(self):
        self._stop = True
        if self._thread is not None:
            self._thread.join()
        self.session.shutdown()


def _describe(case, want, got):
    """A readable account of the first differences."""
    lines = [f"case {case}: the Loopscope kernel differs from the IPython reference"]
    if "crash" in got or "snapshot_error" in got:
        lines.append(str(got.get("crash") or got.get("snapshot_error")))
    for k, (w, g) in enumerate(zip(want["cells"], got["cells"])):
        for key in ("stdout", "stderr", "result", "display", "status", "error"):
            if w.get(key) != g.get(key):
                lines.append(f"cell {k + 1} {key}: reference {w.get(key)!r}")
                lines.append(f"{'':>{len(str(k + 1)) + 6 + len(key)}}  loopscope {g.get(key)!r}")
    wv, gv = want.get("variables"), got.get("variables")
    if wv != gv:
        wt = json.dumps(wv, indent=1, sort_keys=True).splitlines()
        gt = json.dumps(gv, indent=1, sort_keys=True).splitlines()
        lines.append("variables after the case (- reference, + loopscope):")
        lines.extend(l for l in difflib.unified_diff(wt, gt, lineterm="", n=1) if not l.startswith(("---", "+++")))
    return "\n".join(lines[:80])


@pytest.fixture(scope="module")
def reference():
    runner = Runner("python3")
    yield runner
    runner.shutdown()


@pytest.fixture(scope="module")
def gpu_runner(request):
    """The gpu mode is the slowest (the emulator compiles each nest's CUDA
    with the host compiler), so its kernel starts with the module and runs
    its cases in the background while the other modes' tests run."""
    cases = [
        item.callspec.params["case"]
        for item in request.session.items
        if item.module is request.module
        and hasattr(item, "callspec")
        and item.callspec.params.get("loopscope_kernel") == "gpu"
    ]
    if not cases:
        yield None
        return
    runner = Runner("loopscope", "gpu")
    runner.prefetch(cases)
    yield runner
    runner.shutdown()


@pytest.fixture(scope="module", params=TEST_ORDER)
def loopscope_kernel(request, gpu_runner):
    if request.param == "gpu" and gpu_runner is not None:
        yield gpu_runner
        return
    runner = Runner("loopscope", request.param)
    yield runner
    runner.shutdown()


def test_known_failures_name_real_cases():
    for case, mode in KNOWN_FAILURES:
        assert case in CASE_CELLS and mode in MODES, (case, mode)


@pytest.mark.parametrize("case", [c for c, _ in CASES])
def test_cell_corpus(loopscope_kernel, reference, case, request):
    why = KNOWN_FAILURES.get((case, loopscope_kernel.mode))
    if why:
        request.applymarker(pytest.mark.xfail(reason=why, strict=False))
    want = reference.outcome(case)
    assert "crash" not in want and "snapshot_error" not in want, want
    got = loopscope_kernel.outcome(case)
    if got != want:
        pytest.fail(_describe(case, want, got), pytrace=False)
