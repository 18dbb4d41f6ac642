"""PolyBench/C 4.2 (share/polybench.py) at the MINI dataset: every kernel
against CPython on each device, the verdicts explain reports, and explain's
prediction against what ran.

- Differential: the same fresh arguments through CPython and through
  ``loopscope.run`` on "cpu", "cpu-serial", "gpu-emulated" and "auto"; every
  array argument must be equal bit for bit. No kernel needs a tolerance:
  floating-point sums keep Python's order by default (reassociation is off),
  so the native code does the same operations in the same order.
- On "cpu" and "cpu-serial" every nest must run natively (status "ok"). On
  "gpu-emulated" a nest either runs or declines with the sentence recorded
  in ``NestExpect.gpu`` (symm and trmm run: the inner ``k`` loop is empty on
  the last outer iteration, and the GPU keeps ``k`` from the latest iteration
  that assigned it, as Python does).
- "gpu-emulated" compiles the generated CUDA with the host C++ compiler
  (about 0.3 s per nest, cached): all 30 kernels at MINI take about 15 s on
  the 2-core test machine, so none is left out.
"""

import numpy as np
import pytest

import loopscope
import polybench
from explain_check import mismatches
from loopscope import _cost, _run

NAMES = polybench.names()
DEVICES = ["cpu", "cpu-serial", "gpu-emulated", "auto"]

_reference = {}


@pytest.fixture(scope="module", autouse=True)
def _host_calibrated():
    """The first "auto" decision of a process measures the host once (with
    runs of its own, recorded like any run); done here, before the tests
    read the records."""
    _cost.host_profile()


def reference(k):
    if k.name not in _reference:
        args = k.args("mini")
        k.fn(*args)
        _reference[k.name] = args
    return _reference[k.name]


def same(a, b):
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    return type(a) is type(b) and a == b


def test_thirty_kernels():
    assert len(polybench.KERNELS) == 30 == len(set(NAMES))
    for k in polybench.KERNELS:
        assert set(k.sizes) == set(polybench.SIZES), k.name
        assert k.nests, k.name
        # arguments are deterministic
        for x, y in zip(k.args("mini"), k.args("mini")):
            assert same(x, y), k.name


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", NAMES)
def test_matches_cpython(name, device):
    k = polybench.get(name)
    ref = reference(k)
    args = k.args("mini")
    _run.reset_last_runs()
    loopscope.run(k.fn, *args, device=device)
    for pos, (x, y) in enumerate(zip(args, ref)):
        assert same(x, y), f"argument {pos} of {name} differs from CPython on {device}"
    runs = list(_run.last_runs().values())
    assert len(runs) == len(k.nests), runs
    if device in ("cpu", "cpu-serial"):
        assert all(r["device"] == device and r["status"] == "ok" for r in runs), runs
    elif device == "gpu-emulated":
        for r, nest in zip(runs, k.nests):
            if nest.gpu:
                assert r["status"] == "declined" and r["reason"].startswith(nest.gpu), r
            else:
                assert r["status"] == "ok", r


@pytest.mark.parametrize("name", NAMES)
def test_verdicts(name):
    k = polybench.get(name)
    rep = loopscope.explain(k.fn, *k.args("mini"))
    assert not rep["not_analysed"] and not rep["stopped"], rep
    got = [
        polybench.NestExpect(
            tuple((l["var"], l["verdict"]) for l in n["loops"]),
            n["decline"]["reason"] if n["declined"] else "",
            n["predicted"]["gpu"]["reason"] if n["predicted"]["gpu"]["status"] == "declined" else "",
        )
        for n in rep["nests"]
    ]
    assert len(got) == len(k.nests)
    for g, want in zip(got, k.nests):
        assert g.loops == want.loops
        assert g.declined.startswith(want.declined) and bool(g.declined) == bool(want.declined)
        assert g.gpu.startswith(want.gpu) and bool(g.gpu) == bool(want.gpu)


@pytest.mark.parametrize("name", NAMES)
def test_explain_predicts_run(name):
    """The check of test_explain_predicts_run.py (explain_check.mismatches),
    on every nest of the kernel and every device."""
    k = polybench.get(name)
    bad, compared = mismatches(k.fn, lambda: k.args("mini"))
    assert compared == 3 * len(k.nests)
    assert not bad, "\n".join(bad)
