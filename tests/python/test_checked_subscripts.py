"""auto runs natively the nests whose subscripts are checked as they run.

A subscript the analysis cannot prove in range before the loop runs (the
index of a while loop, a swap partner found by a search, a neighbour read
behind a guard the range proof does not use) is checked by native code as it
runs: a failing check restores the written arrays and Python runs the loop,
which raises. So ``device="cpu"`` runs such nests exactly, and ``auto``
prices and runs them the same way instead of sending them to Python. Once a
native run has stopped on some values, auto sends those values to Python.
Every result is compared with CPython's: values, arrays bit for bit,
exceptions and their messages, partial writes."""

import _loopscope
import numpy as np
import pytest
from differential import outcome, same, use_temporary_cache  # noqa: F401

import loopscope
from corpus.numba_examples import selection_sort
from loopscope import _cost, _run


def shift_sum(a, b, n):
    # reads a[i + 1]: out of range at the last i unless a is longer than b
    s = 0.0
    for i in range(n):
        for r in range(40):
            b[i] = b[i] + a[i + 1] * 0.5 + r
        s += b[i]
    return s


def gnome_sort(a):
    i = 0
    n = a.shape[0]
    while i < n:
        if i == 0 or a[i - 1] <= a[i]:
            i += 1
        else:
            t = a[i]
            a[i] = a[i - 1]
            a[i - 1] = t
            i -= 1


@pytest.fixture(autouse=True)
def fresh_decisions():
    _cost.forget_decisions()
    _cost._runs.clear()
    _run.reset_last_runs()
    yield
    _loopscope.cpu_wait_compiles()


def _compare(fn, make_args, device="auto"):
    want_args, got_args = make_args(), make_args()
    want = outcome(fn, want_args, None)
    _run.reset_last_runs()
    got = outcome(fn, got_args, device)
    assert same(got, want), (got, want)
    for g, w in zip(got_args, want_args):
        assert same(g, w)
    return [r for _, r in sorted(_run.last_runs().items())]


def test_a_search_index_runs_natively_under_auto():
    data = np.random.default_rng(3).standard_normal(600)
    runs = _compare(selection_sort, lambda: (data.copy(),))
    assert runs[0]["device"] in ("cpu", "cpu-serial") and runs[0]["status"] == "ok", runs


@pytest.mark.parametrize("fn", [selection_sort, gnome_sort], ids=lambda f: f.__name__)
@pytest.mark.parametrize("device", ["cpu", "cpu-serial", "gpu-emulated", "auto"])
def test_unproved_subscripts_give_cpython_results_on_every_device(fn, device):
    small = np.random.default_rng(4).standard_normal(50)
    runs = _compare(fn, lambda: (small.copy(),), device)
    if device != "auto":
        assert runs[0]["status"] == "ok", runs


def test_values_that_stop_the_native_run_go_to_python_next_time():
    n = 3000
    make = lambda: (np.arange(n, dtype=float), np.zeros(n), n)  # noqa: E731
    first = _compare(shift_sum, make)  # IndexError at the last i, after CPython's partial writes
    assert first[0]["status"] in ("fallback", "python"), first
    if first[0]["status"] == "fallback":  # the model chose native code: it stopped and Python raised
        second = _compare(shift_sum, make)
        assert second[0]["device"] == "python" and second[0]["status"] == "python", second
    # other values of the same nest still run natively when their checks pass
    ok = _compare(shift_sum, lambda: (np.arange(n + 1, dtype=float), np.zeros(n), n))
    assert ok[0]["status"] in ("ok", "python"), ok


def test_a_stop_is_remembered_per_values_and_forgotten_with_the_decisions():
    n = 3000
    make = lambda: (np.arange(n, dtype=float), np.zeros(n), n)  # noqa: E731
    _compare(shift_sum, make)
    stopped = set(_cost._stopped)
    if not stopped:
        pytest.skip("the model ran this nest as Python from the start on this machine")
    # the native choice is not kept for the next runs of those values
    assert all((nid, None, sig) not in _cost._decisions for nid, sig in stopped)
    _compare(shift_sum, lambda: (np.arange(n + 1, dtype=float), np.zeros(n), n))
    assert _cost._stopped == stopped  # a run that passes its checks adds nothing
    _cost.forget_decisions()
    assert not _cost._stopped


def test_explain_says_what_auto_runs_for_a_checked_subscript():
    data = np.random.default_rng(5).standard_normal(600)
    rep = loopscope.explain(selection_sort, data.copy())
    nest = rep["nests"][0]
    assert nest["subscripts_in_range"] is False
    runs = _compare(selection_sort, lambda: (data.copy(),))
    predicted = (nest.get("estimate") or {}).get("choice")
    if predicted is not None:
        assert predicted == runs[0]["device"], (predicted, runs)
