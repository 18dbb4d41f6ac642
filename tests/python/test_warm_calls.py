"""auto's warm calls: what the second call of a function runs, and what it
pays to choose it (docs/costmodel.md, "Kept decisions").

- a nest whose run in Python costs more than half its compile is compiled at
  its first run (a compile is weighed against two runs at least), so that the
  second call runs native code; a cheaper one stays Python;
- a native decision is kept on the warm calls (its compile is paid: more runs
  only favour it) until its first optimised run, which is measured and ends
  it (the next call settles one core or all of them), until the code of a
  trial queued for it lands, or until DECISION_TTL_S passes;
- a Python decision made while the nest's code builds in the background is
  kept until the code lands, not decided again as the runs grow;
- the choice between one core and all of them compares what the runs
  typically take (the upper median), and every parallel run counts: one
  lucky parallel run does not settle it.

The policy is checked with the engine's pricing replaced (no timings); real
nests check that the results stay CPython's."""

import math
import time

import numpy as np
import polybench
import pytest
from differential import check, use_temporary_cache  # noqa: F401
from test_compile_ahead import _bound_env, fresh_decisions  # noqa: F401  (the fixture resets auto's state)
from test_settle_by_measurement import _Engine as _SettleEngine
from test_settle_by_measurement import scaled_add

import _loopscope
import loopscope
from loopscope import _cost, _run


class _Engine(_SettleEngine):
    """test_settle_by_measurement's engine, with ``prices``: variant -> (run
    seconds, compile seconds, not amortised); the estimate divides the
    compile by the expected runs, as the model does."""

    def __init__(self, choice, prices, cached=False):
        super().__init__(choice, cached=cached, prices=prices)

    def __getattr__(self, name):
        if name == "cost_estimate_nest":
            return self._estimate
        return super().__getattr__(name)

    def _estimate(self, nest_id, env, _est, gpu, facts, sweep):
        runs = max(1.0, float(facts.get("expected_runs", 1)))
        out = []
        for v, (run_s, compile_s) in self.prices.items():
            c = compile_s / runs
            out.append({"variant": v, "total": run_s + c, "compile": c})
        return {"variants": out}


@pytest.fixture
def nest():
    nest_id, env = _bound_env(scaled_add, 1.5, np.ones(5000), np.ones(5000))
    return nest_id, env, _cost.decision_signature(env)


def _prices(python_s, compile_s, run_s=1e-5, parallel_s=None):
    parallel_s = run_s if parallel_s is None else parallel_s
    return {"python": (python_s, 0.0), "cpu-serial": (run_s, compile_s), "cpu": (parallel_s, compile_s)}


# ---- the first run weighs a compile against two runs ------------------------------


def test_the_first_run_expects_a_second(nest):
    nest_id, env, _ = nest
    with _Engine("python", _prices(1e-3, 5e-3)) as engine:
        _cost.choose(nest_id, env)
    assert engine.facts["expected_runs"] == 2


@pytest.mark.parametrize(
    "python_s, compiled_now",
    [(3e-3, True), (2.6e-3, True), (2.4e-3, False), (1e-3, False)],
)
def test_a_first_run_compiles_when_python_over_two_runs_costs_more(nest, python_s, compiled_now):
    """Native code is the choice (priced with the compile over two runs): it
    is compiled now when Python over this run and the next would cost more
    than the compile (5 ms here); otherwise this run is Python and the code
    builds in the background."""
    nest_id, env, signature = nest
    with _Engine("cpu-serial", _prices(python_s, 5e-3)) as engine:
        got = _cost.choose(nest_id, env)
    if compiled_now:
        assert got == "cpu-serial" and engine.queued == []
    else:
        assert got == "python" and engine.queued == [False]
        # kept until the code lands, however many runs come meanwhile
        assert _cost._decisions[(nest_id, None, signature)][1] == math.inf


def test_a_cheap_nest_stays_python_on_its_first_call():
    """A loop that takes microseconds in Python is not compiled for a first
    call (nor for the second: two runs do not pay a compile)."""
    x = np.zeros(8)

    def fill(x):
        for i in range(x.shape[0]):
            x[i] = 1.0

    for _ in range(2):
        x[:] = 0
        loopscope.run(fill, x, device="auto")
        assert [r["device"] for r in _run.last_runs().values()] == ["python"]
        assert np.array_equal(x, np.ones(8))


def test_a_long_nest_runs_native_code_from_its_first_call():
    def work(x, y):
        for i in range(x.shape[0]):
            y[i] = 0.5 * x[i] + y[i] * 0.25

    make = lambda: (np.linspace(0.0, 1.0, 200_000), np.linspace(1.0, 2.0, 200_000))  # noqa: E731
    check(work, make, devices=("auto",))
    check(work, make, devices=("auto",))  # the second call: native too
    recs = list(_run.last_runs().values())
    assert [r["device"] for r in recs] in (["cpu-serial"], ["cpu"]), recs


# ---- a native decision is kept on the warm calls ----------------------------------


def test_a_native_decision_is_kept_until_its_first_optimised_run(nest):
    nest_id, env, signature = nest
    key = (nest_id, None, signature)
    decided = []
    real = _cost._decide

    def counting(*args):
        decided.append(args[2])
        return real(*args)

    _cost._decide = counting
    try:
        # the parallel variant priced far slower: no trial
        with _Engine("cpu-serial", _prices(1.0, 1e-3, 1e-4, 1e-3), cached=True):
            assert _cost.choose(nest_id, env) == "cpu-serial"  # decided: quick code ran (not measured)
            assert _cost.measuring(nest_id, env)
            for _ in range(20):  # kept, however many runs
                assert _cost.choose(nest_id, env) == "cpu-serial"
            assert decided == [1]
            # still waiting for its first optimised run: that run is measured ...
            assert _cost.measuring(nest_id, env)
            _cost.note_native_run(nest_id, env, "cpu-serial", 100e-6)
            assert [s for _, s in _cost._native_times[(nest_id, signature)]["cpu-serial"]] == [100e-6]
            # ... and ends the decision: the next call decides with the measurement
            assert _cost.choose(nest_id, env) == "cpu-serial"
            assert len(decided) == 2
            _cost.note_native_run(nest_id, env, "cpu-serial", 90e-6)  # its run: optimised code
            # from then on kept, and its runs not measured
            _cost._decisions[key][0] = "kept"
            assert _cost.choose(nest_id, env) == "kept"
            assert not _cost.measuring(nest_id, env)
            assert len(decided) == 2
    finally:
        _cost._decide = real


def test_a_kept_native_decision_ends_after_the_ttl(nest):
    nest_id, env, signature = nest
    key = (nest_id, None, signature)
    with _Engine("cpu-serial", _prices(1.0, 1e-3), cached=True):
        _cost.choose(nest_id, env)
        _cost._decisions[key][0] = "kept"
        assert _cost.choose(nest_id, env) == "kept"
        _cost._decisions[key][2] = time.monotonic() - 1  # DECISION_TTL_S passed
        assert _cost.choose(nest_id, env) == "cpu-serial"


def test_a_decision_waiting_for_its_trials_code_ends_when_it_lands(nest):
    nest_id, env, signature = nest
    with _Engine("cpu-serial", _prices(1.0, 1e-3), cached=False) as engine:
        _cost.note_native_run(nest_id, env, "cpu-serial", 100e-6)
        assert _cost.choose(nest_id, env) == "cpu-serial"
        assert engine.queued == [True]  # the parallel variant's code, for a trial
        for _ in range(5):
            assert _cost.choose(nest_id, env) == "cpu-serial"  # kept while it builds
        engine.cached = True
        assert _cost.choose(nest_id, env) == "cpu"  # it landed: the trial runs


# ---- settling one core or all of them --------------------------------------------


def test_one_lucky_parallel_run_does_not_settle_it(nest):
    nest_id, env, _ = nest
    for s in (100e-6, 100e-6, 100e-6):
        _cost.note_native_run(nest_id, env, "cpu-serial", s)
    for s in (50e-6, 140e-6, 150e-6):  # every parallel run is kept
        _cost.note_native_run(nest_id, env, "cpu", s)
    with _Engine("cpu", _prices(1.0, 1e-3), cached=True):
        assert _cost.choose(nest_id, env) == "cpu-serial"


def test_parallel_runs_on_a_kept_decision_are_measured(nest):
    nest_id, env, signature = nest
    with _Engine("cpu", _prices(1.0, 1e-3, 1e-4), cached=True):
        _cost.choose(nest_id, env)
        _cost.note_native_run(nest_id, env, "cpu", 80e-6)  # first optimised run: ends the decision
        _cost.choose(nest_id, env)
        _cost.note_native_run(nest_id, env, "cpu", 90e-6)
        _cost.choose(nest_id, env)  # kept
        assert not _cost.measuring(nest_id, env)
        _cost.note_native_run(nest_id, env, "cpu", 95e-6)
    times = [s for _, s in _cost._native_times[(nest_id, signature)]["cpu"]]
    assert times == [80e-6, 90e-6, 95e-6]


def test_a_parallel_run_slower_than_the_measured_serial_one_moves_to_one_core(nest):
    nest_id, env, signature = nest
    _cost._serial_predicted[(nest_id, signature)] = 1.0  # the model's serial time: far off
    _cost.note_native_run(nest_id, env, "cpu-serial", 100e-6)
    _cost.note_native_run(nest_id, env, "cpu", 180e-6)  # within half plus 50 us
    assert (nest_id, signature) not in _cost._parallel_slow
    _cost.note_native_run(nest_id, env, "cpu", 1e-3)
    assert (nest_id, signature) in _cost._parallel_slow


# ---- real nests: CPython's results on every call ---------------------------------


def test_results_stay_cpythons_over_warm_calls():
    # PolyBench's atax: two nests, the first cheap (kept in Python at first).
    rng = np.random.default_rng(3)
    A, x = rng.standard_normal((120, 130)), rng.standard_normal(130)
    for call in range(6):
        check(polybench.atax, lambda: (A.copy(), x.copy(), np.zeros(130), np.zeros(120)), devices=("auto",))
        if call == 3:
            _loopscope.cpu_wait_compiles()


def test_a_kept_native_decision_ends_when_its_device_declines(nest):
    nest_id, env, signature = nest
    key = (nest_id, None, signature)
    with _Engine("cpu-serial", _prices(1.0, 1e-3), cached=True):
        _cost.choose(nest_id, env)
        _cost._decisions[key][0] = "kept"
        assert _cost.choose(nest_id, env) == "kept"
        _cost.note_declined(nest_id, env)  # what auto's hook says when the CPU declined these values
        assert key not in _cost._decisions
        assert _cost.choose(nest_id, env) == "cpu-serial"  # decided again


# ---- the engine's mirror of kept native decisions (_L.auto_kept) -----------------


def _settle_mirrored(nest_id, env):
    """choose's path to a kept native decision that is mirrored: decided,
    its first optimised run measured, then kept."""
    with _Engine("cpu-serial", _prices(1.0, 1e-3, 1e-4, 1e-3), cached=True):
        _cost.choose(nest_id, env)
        assert _loopscope.auto_kept(nest_id, env) is None  # its first optimised run is still to be measured
        _cost.note_native_run(nest_id, env, "cpu-serial", 100e-6)
        assert _loopscope.auto_kept(nest_id, env) is None  # mirrored when a kept decision is asked for
        assert _cost.choose(nest_id, env) == "cpu-serial"


def test_a_kept_native_decision_is_mirrored_for_values_of_the_same_signature(nest):
    nest_id, env, _ = nest
    _settle_mirrored(nest_id, env)
    assert _loopscope.auto_kept(nest_id, env) == ("cpu-serial", math.inf)
    other_arrays = {k: (np.zeros_like(v) if isinstance(v, np.ndarray) else v) for k, v in env.items()}
    assert _loopscope.auto_kept(nest_id, other_arrays) == ("cpu-serial", math.inf)
    name = next(k for k, v in env.items() if isinstance(v, np.ndarray))
    for changed in (
        np.zeros(4000),  # another shape
        np.zeros(5000, dtype=np.float32),  # another dtype
        np.zeros(10000)[::2],  # other strides
    ):
        assert _loopscope.auto_kept(nest_id, dict(env, **{name: changed})) is None
    assert _loopscope.auto_kept(nest_id, dict(env, a=np.float32(1.5))) is None  # another float type
    assert _loopscope.auto_kept(nest_id, dict(env, a="text")) is None  # a type the mirror does not read
    assert _loopscope.auto_kept(nest_id + 1000, env) is None  # another nest


def test_every_change_to_the_decisions_forgets_the_mirror(nest):
    nest_id, env, signature = nest
    key = (nest_id, None, signature)
    for forget in (
        lambda: _cost._decisions.pop(key),
        lambda: _cost._decisions.clear(),
        lambda: _cost._decisions.__setitem__(key, ["python", 10, time.monotonic() + 100]),
        lambda: _cost.note_declined(nest_id, env),
        lambda: _cost.note_stopped(nest_id, env),
        _cost.forget_decisions,
    ):
        _cost.forget_decisions()
        _settle_mirrored(nest_id, env)
        assert _loopscope.auto_kept(nest_id, env) is not None
        forget()
        assert _loopscope.auto_kept(nest_id, env) is None


def test_the_mirror_ends_with_the_decisions_time(nest):
    nest_id, env, _ = nest
    assert _loopscope.auto_keep(nest_id, env, "cpu", time.monotonic() + 100, 1e-3)
    assert _loopscope.auto_kept(nest_id, env) == ("cpu", 1e-3)
    assert _loopscope.auto_keep(nest_id, env, "cpu", time.monotonic() - 1, 1e-3)
    assert _loopscope.auto_kept(nest_id, env) is None


def test_mirrored_runs_count_as_runs(nest):
    nest_id, env, _ = nest
    _settle_mirrored(nest_id, env)
    before = _cost._runs[nest_id]
    for _ in range(5):
        assert _loopscope.auto_kept(nest_id, env) is not None
    with _Engine("cpu-serial", _prices(1.0, 1e-3), cached=True):
        _cost._decisions.clear()
        _cost.choose(nest_id, env)
    assert _cost._runs[nest_id] == before + 6


def gather(a, idx, out):
    for i in range(idx.shape[0]):
        out[i] = a[idx[i]] * 2.0


def _settle_under_auto(fn, make, nest_env):
    nest_id, env = nest_env
    for _ in range(40):
        loopscope.run(fn, *make(), device="auto")
        _loopscope.cpu_wait_compiles()
        if _loopscope.auto_kept(nest_id, env) is not None:
            return nest_id, env
    pytest.skip("auto kept no native decision for this nest on this machine")


def test_a_run_the_mirror_sends_to_native_code_that_stops_goes_to_python():
    rng = np.random.default_rng(5)
    a = rng.standard_normal(2000)

    def make(bad=False):
        idx = rng.integers(0, 2000, 20000)
        if bad:
            idx[15000] = 2000  # out of range: CPython raises IndexError there, after its partial writes
        return a, idx, np.zeros(20000)

    nest_id, env = _settle_under_auto(gather, make, _bound_env(gather, *make()))
    _loopscope.auto_hits(nest_id)
    loopscope.run(gather, *make(), device="auto")
    assert _loopscope.auto_hits(nest_id) == 1  # answered by the mirror
    args = make(bad=True)
    want = [x.copy() for x in args]
    with pytest.raises(IndexError):
        gather(*want)
    _run.reset_last_runs()
    with pytest.raises(IndexError):
        loopscope.run(gather, *args, device="auto")
    assert all(np.array_equal(g, w) for g, w in zip(args, want))
    (rec,) = _run.last_runs().values()
    assert rec["status"] == "fallback", rec
    assert _loopscope.auto_kept(nest_id, env) is None  # the values that stopped go to Python next time
    assert any(nid == nest_id for nid, _ in _cost._stopped)


def test_a_slow_parallel_run_the_mirror_sends_is_noted():
    x, y = np.ones(400000), np.ones(400000)
    nest_id, env = _bound_env(scaled_add, 1.5, x, y)
    signature = _cost.decision_signature(env)
    loopscope.run(scaled_add, 1.5, x, y, device="cpu")
    _loopscope.cpu_wait_compiles()
    loopscope.run(scaled_add, 1.5, x, y, device="cpu")  # optimised code: timed
    _cost._decisions[(nest_id, None, signature)] = ["cpu", math.inf, time.monotonic() + 100, False]
    _cost._serial_predicted[(nest_id, signature)] = 1e-9  # slow above 50 us: every run of 400000 elements
    assert _loopscope.auto_keep(nest_id, env, "cpu", time.monotonic() + 100, 0.0)
    loopscope.run(scaled_add, 1.5, x, y, device="auto")
    assert (nest_id, signature) in _cost._parallel_slow
    assert (nest_id, None, signature) not in _cost._decisions
    assert _loopscope.auto_kept(nest_id, env) is None


def test_results_stay_cpythons_on_mirrored_runs():
    rng = np.random.default_rng(8)
    a = rng.standard_normal(2000)
    make = lambda: (a, rng.integers(0, 2000, 5000), np.zeros(5000))  # noqa: E731
    nest_id, _ = _settle_under_auto(gather, make, _bound_env(gather, *make()))
    _loopscope.auto_hits(nest_id)
    for _ in range(5):
        idx = rng.integers(0, 2000, 5000)  # new values of the same signature each call
        check(gather, lambda: (a.copy(), idx.copy(), np.zeros(5000)), devices=("auto",))
    assert _loopscope.auto_hits(nest_id) > 0
