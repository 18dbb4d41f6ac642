"""The loop corpus (share/corpus) against CPython on every device.

Each case is a plain Python function written in the style of teaching
notebooks, Numba examples, scientific scripts, image processing or
PolyBench-like kernels. Many of its nests use constructs the engine does not
compile (helper functions, while, break, complex numbers, random numbers,
uint8 images, ...): those run as Python, and must still give CPython's
results. Nothing here is marked as expected to fail: the test protects the
results while coverage grows (bench/bench_corpus.py measures how much runs
natively).

- Differential: the function is called with fresh, identical arguments in
  CPython and through ``loopscope.run`` on "cpu", "cpu-serial",
  "gpu-emulated" and "auto". Before each call the global ``random`` and
  ``np.random`` generators are put in the same state. After it, the return
  value (or the exception's type and message), every argument (arrays bit
  for bit with their dtype, NaN equal to NaN) and both generators' states
  must be the same as CPython's.
- Reasons: every nest that ``explain`` declines, and every nest that did not
  run natively on "cpu", carries a sentence saying why.

The small size is used: each case runs in CPython in a few milliseconds.
On the 2-core test machine the module takes about 20 to 30 s once the
emulator's compiled nests are cached (XDG_CACHE_HOME), and 3.5 to 5.5
minutes from an empty cache ("gpu-emulated" compiles each of the corpus's
nests with the host C++ compiler once).
"""

import math
import random

import numpy as np
import pytest

import corpus
import loopscope
from loopscope import _cost, _run

SIZE = "small"
DEVICES = ["cpu", "cpu-serial", "gpu-emulated", "auto"]
NAMES = corpus.names()
STATE_SEED = 20240611

_reference = {}


@pytest.fixture(scope="module", autouse=True)
def _host_calibrated():
    """The first "auto" decision of a process measures the host once; done
    here, before the tests read the records."""
    _cost.host_profile()


def same(a, b):
    """Equal as CPython sees them, and of the same type; floats bit for bit
    (-0.0 is not 0.0), any NaN equal to any NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        if a.dtype != b.dtype or a.shape != b.shape:
            return False
        if a.dtype.kind in "fc":
            na, nb = np.isnan(a), np.isnan(b)
            return bool(np.array_equal(na, nb)) and a[~na].tobytes() == b[~nb].tobytes()
        return a.tobytes() == b.tobytes()
    if isinstance(a, (float, np.floating)):
        return (math.isnan(a) and math.isnan(b)) or np.array(a).tobytes() == np.array(b).tobytes()
    if isinstance(a, (complex, np.complexfloating)):
        return same(float(a.real), float(b.real)) and same(float(a.imag), float(b.imag))
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, np.generic):
        return a.tobytes() == b.tobytes()
    return a == b


def call(fn, args):
    """``fn(*args)`` from a known state of the global generators: what it
    returned or raised, and the generators' states afterwards."""
    random.seed(STATE_SEED)
    np.random.seed(STATE_SEED)
    try:
        outcome = ("returned", fn(*args))
    except Exception as exc:  # compared with CPython's
        outcome = ("raised", type(exc), str(exc))
    return outcome, random.getstate(), np.random.get_state()


def reference(case):
    if case.name not in _reference:
        args = case.make(SIZE)
        _reference[case.name] = (args, call(case.fn, args))
    return _reference[case.name]


def describe(outcome):
    if outcome[0] == "raised":
        return f"raised {outcome[1].__name__}: {outcome[2]}"
    return f"returned {outcome[1]!r}"[:300]


def test_corpus_size():
    cases = corpus.all_cases()
    assert len(cases) >= 150
    assert len(set(NAMES)) == len(cases)
    for style in corpus.STYLES:
        assert sum(c.style == style for c in cases) >= 20, style
    for c in cases:
        assert set(c.sizes) == set(corpus.SIZES), c.name
        for x, y in zip(c.make(SIZE), c.make(SIZE)):  # deterministic arguments
            assert same(x, y), c.name


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_in_cpython(name):
    """Two CPython runs of a case agree: the comparison below is meaningful."""
    c = corpus.get(name)
    ref_args, ref = reference(c)
    args = c.make(SIZE)
    got = call(c.fn, args)
    assert same(got, ref), name
    assert all(same(x, y) for x, y in zip(args, ref_args)), name


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", NAMES)
def test_matches_cpython(name, device):
    c = corpus.get(name)
    ref_args, (ref_outcome, ref_random, ref_np_random) = reference(c)
    args = c.make(SIZE)
    outcome, state, np_state = call(lambda *a: loopscope.run(c.fn, *a, device=device), args)
    if outcome[0] != ref_outcome[0] or not same(outcome[1:], ref_outcome[1:]):
        pytest.fail(f"{name} on {device}: CPython {describe(ref_outcome)}, Loopscope {describe(outcome)}")
    for pos, (x, y) in enumerate(zip(args, ref_args)):
        assert same(x, y), f"argument {pos} of {name} differs from CPython on {device}"
    assert same(state, ref_random), f"{name} on {device}: random's state differs from CPython"
    assert same(np_state, ref_np_random), f"{name} on {device}: np.random's state differs from CPython"


def readable(sentence):
    """A sentence for a person: words, not a repr or a traceback."""
    return (
        isinstance(sentence, str)
        and len(sentence) >= 12
        and " " in sentence
        and not sentence.startswith(("Traceback", "<", "{", "("))
    )


@pytest.mark.parametrize("name", NAMES)
def test_every_python_nest_says_why(name):
    c = corpus.get(name)
    rep = loopscope.explain(c.fn, *c.make(SIZE))
    assert not rep["not_analysed"], rep["not_analysed"]
    for nest in rep["nests"]:
        if nest["declined"]:
            reason = nest["decline"]["reason"]
            assert readable(reason), f"{name}, nest at line {nest['line']}: {reason!r}"
            assert nest["decline"]["code"] != "internal", f"{name}, line {nest['line']}: {nest['decline']}"
    _run.reset_last_runs()
    call(lambda *a: loopscope.run(c.fn, *a, device="cpu"), c.make(SIZE))
    for nest_id, r in _run.last_runs().items():
        if r["status"] != "ok":
            assert readable(r["reason"]), f"{name}, nest {nest_id} ({r['status']} on cpu): {r['reason']!r}"
            code = r["decline"].code if r.get("decline") else ""
            assert code != "internal", f"{name}, nest {nest_id}: {r['decline']}"
