"""auto settles the choice between one core and all of them by measuring
both (``_cost.note_native_run``, ``_cost._settled_choice``): where the model
chose one CPU variant and its runs are long enough to tell, the other runs
once as a trial, and the faster as measured runs from then on. The cases
where no trial is made (short runs, no parallel loop, a variant priced far
slower, code not compiled yet, too many trials) and the ageing of the
measurements are checked with the engine's pricing replaced; a real nest
checks that results stay CPython's while the variants alternate."""

import time

import _loopscope
import numpy as np
import pytest
from test_compile_ahead import _bound_env, fresh_decisions  # noqa: F401  (the fixture resets auto's state)

import loopscope
from loopscope import _cost


def scaled_add(a, x, y):
    for i in range(x.shape[0]):
        y[i] = a * x[i] + y[i]


class _Engine:
    """The engine as _cost sees it, with the model's choice, the code cache
    and the prices replaced (by default both CPU variants priced alike)."""

    EVEN = {"python": 1.0, "cpu-serial": 1e-4, "cpu": 1e-4, "gpu": 1.0}

    def __init__(self, choice, cached=True, prices=EVEN, compiling=False):
        self.real = _cost._L
        self.choice, self.cached, self.prices = choice, cached, prices
        self.compiling = compiling  # whether the background thread is compiling
        self.queued = []
        self.facts = {}

    def __getattr__(self, name):
        if name == "cost_choose_nest":
            return self._choose
        if name == "cpu_cached":
            return lambda nest_id, env, parallel=True: self.cached
        if name == "cpu_compile_background":
            return lambda nest_id, env, parallel=True: self.queued.append(parallel) or True
        if name == "cpu_compiling_in_background":
            return lambda: self.compiling
        if name == "cost_estimate_nest":
            return lambda *args: {
                "variants": [{"variant": v, "total": t, "compile": 0.0} for v, t in self.prices.items()]
            }
        return getattr(self.real, name)

    def _choose(self, nest_id, env, gpu, facts):
        self.facts = dict(facts)
        return self.choice

    def __enter__(self):
        _cost._L = self
        return self

    def __exit__(self, *exc):
        _cost._L = self.real


@pytest.fixture
def nest():
    nest_id, env = _bound_env(scaled_add, 1.5, np.ones(5000), np.ones(5000))
    return nest_id, env, _cost.decision_signature(env)


def _measured(nest_id, env, variant, *seconds):
    with _Engine(None):  # no background compile beside these runs
        for s in seconds:
            _cost.note_native_run(nest_id, env, variant, s)


@pytest.mark.parametrize("model, faster", [("cpu-serial", "cpu"), ("cpu", "cpu-serial"), ("cpu", "cpu")])
def test_with_both_measured_the_faster_runs(nest, model, faster):
    nest_id, env, _ = nest
    slower = "cpu" if faster == "cpu-serial" else "cpu-serial"
    _measured(nest_id, env, faster, 80e-6, 60e-6)
    _measured(nest_id, env, slower, 100e-6, 90e-6)  # measured twice: no further trial
    with _Engine(model):
        assert _cost.choose(nest_id, env) == faster


def test_the_other_variant_runs_once_as_a_trial_then_the_faster(nest):
    nest_id, env, signature = nest
    with _Engine("cpu-serial"):
        _measured(nest_id, env, "cpu-serial", 100e-6)
        assert _cost.choose(nest_id, env) == "cpu"  # the trial
        _measured(nest_id, env, "cpu", 200e-6)  # slower, within TRIAL_MAX_RATIO: maybe a busy moment
        # kept for one run only: the next call tries it once more
        assert _cost.choose(nest_id, env) == "cpu"
        _measured(nest_id, env, "cpu", 150e-6)
        # slower twice: the two measured decide, and the choice is kept
        assert _cost.choose(nest_id, env) == "cpu-serial"
        assert _cost.choose(nest_id, env) == "cpu-serial"
    assert _cost._trials[(nest_id, signature, "cpu")][1] == 2


def test_a_trial_far_slower_is_not_repeated(nest):
    nest_id, env, _ = nest
    with _Engine("cpu-serial"):
        _measured(nest_id, env, "cpu-serial", 100e-6)
        assert _cost.choose(nest_id, env) == "cpu"  # the trial
        _measured(nest_id, env, "cpu", 4e-3)  # a region that waited for a busy core
        for _ in range(3):
            assert _cost.choose(nest_id, env) == "cpu-serial"
            _cost._decisions.clear()


def test_trials_that_measure_nothing_stop(nest):
    """A trial that ran quick code (not measured) is repeated at most
    TRIALS_PER_MEMORY times per window."""
    nest_id, env, _ = nest
    with _Engine("cpu-serial"):
        _measured(nest_id, env, "cpu-serial", 100e-6)
        ran = []
        for _ in range(2 * _cost.TRIALS_PER_MEMORY + 2):
            ran.append(_cost.choose(nest_id, env))
            _cost._decisions.clear()  # decide at every call
    assert ran.count("cpu") == _cost.TRIALS_PER_MEMORY


def test_no_trial_for_short_runs(nest):
    nest_id, env, _ = nest
    with _Engine("cpu-serial"):
        _measured(nest_id, env, "cpu-serial", _cost.TRIAL_MIN_S / 2)
        for _ in range(4):
            assert _cost.choose(nest_id, env) == "cpu-serial"
            _cost._decisions.clear()


def test_no_trial_without_a_parallel_loop(nest):
    nest_id, env, signature = nest
    with _Engine("cpu-serial"):
        _measured(nest_id, env, "cpu-serial", 100e-6)
        _cost._parallel_slow[(nest_id, signature)] = time.monotonic() + 100  # parallel runs were slow lately
        assert _cost.choose(nest_id, env) == "cpu-serial"


def test_no_trial_of_a_variant_priced_far_slower(nest):
    nest_id, env, _ = nest
    with _Engine("cpu-serial", prices={"python": 1.0, "cpu-serial": 1e-4, "cpu": 4e-4, "gpu": 1.0}):
        _measured(nest_id, env, "cpu-serial", 100e-6)
        assert _cost.choose(nest_id, env) == "cpu-serial"
    with _Engine("cpu-serial", prices={"python": 1.0, "cpu-serial": 1e-4, "cpu": 2e-4, "gpu": 1.0}):
        _cost._decisions.clear()
        assert _cost.choose(nest_id, env) == "cpu"  # within TRIAL_MAX_RATIO: tried


def test_a_trial_waits_for_its_code(nest):
    nest_id, env, _ = nest
    with _Engine("cpu-serial", cached=False) as engine:
        _measured(nest_id, env, "cpu-serial", 100e-6)
        assert _cost.choose(nest_id, env) == "cpu-serial"
        assert engine.queued == [True]  # the parallel variant's code, on the background thread
        engine.cached = True
        _cost._decisions.clear()
        assert _cost.choose(nest_id, env) == "cpu"


def test_measurements_age_out(nest):
    nest_id, env, signature = nest
    _measured(nest_id, env, "cpu", 50e-6)
    _measured(nest_id, env, "cpu-serial", 100e-6)
    times = _cost._native_times[(nest_id, signature)]
    for variant in times:
        times[variant] = [(when - _cost.SETTLE_MEMORY_S - 1, s) for when, s in times[variant]]
    with _Engine("cpu-serial", cached=False):
        assert _cost.choose(nest_id, env) == "cpu-serial"  # the model again; the other measured again later


def test_forget_decisions_forgets_the_measurements(nest):
    nest_id, env, _ = nest
    _measured(nest_id, env, "cpu", 50e-6)
    with _Engine("cpu-serial"):
        _cost.choose(nest_id, env)
    _cost.forget_decisions()
    assert not _cost._native_times and not _cost._trials


def test_results_stay_cpythons_while_the_variants_alternate():
    rng = np.random.default_rng(7)
    x = rng.standard_normal(200_000)
    ran = set()
    for call in range(12):
        y = rng.standard_normal(200_000)
        want = y.copy()
        scaled_add(0.5, x, want)
        loopscope.run(scaled_add, 0.5, x, y, device="auto")
        assert np.array_equal(y, want), call
        ran.update(r["device"] for r in loopscope._run.last_runs().values())
        _loopscope.cpu_wait_compiles()
    assert ran <= {"cpu", "cpu-serial", "python"}
    # both CPU variants were measured on these values (the model's choice and the trial)
    measured = [set(v) for v in _cost._native_times.values()]
    assert any(m == {"cpu", "cpu-serial"} for m in measured), _cost._native_times


def test_only_the_runs_of_fresh_decisions_are_measured(nest):
    """A warm call on a kept decision pays nothing for the measuring."""
    nest_id, env, signature = nest
    with _Engine("cpu-serial", cached=False):
        assert _cost.choose(nest_id, env) == "cpu-serial"  # decided now
        assert _cost.measuring(nest_id, env)
        _measured(nest_id, env, "cpu-serial", 10e-6)
        for _ in range(10):  # decided again as the runs grow by half, then kept
            assert _cost.choose(nest_id, env) == "cpu-serial"
            if not _cost.measuring(nest_id, env):
                break
            _cost._native_times.clear()
            _measured(nest_id, env, "cpu-serial", 10e-6)
        assert not _cost.measuring(nest_id, env)
        _measured(nest_id, env, "cpu-serial", 11e-6)  # a run on the kept decision
    assert [s for _, s in _cost._native_times[(nest_id, signature)]["cpu-serial"]] == [10e-6]


def test_a_parallel_run_beside_a_background_compile_is_not_kept(nest):
    # The compile holds a core: the parallel run measured it as much as the
    # code. A serial run beside it keeps its measurement (one core is enough
    # for it), and so does a parallel run once the compile is done.
    nest_id, env, signature = nest
    with _Engine("cpu", compiling=True):
        _cost.note_native_run(nest_id, env, "cpu", 9e-3)
        _cost.note_native_run(nest_id, env, "cpu-serial", 4e-3)
    times = _cost._native_times.get((nest_id, signature), {})
    assert "cpu" not in times and len(times["cpu-serial"]) == 1
    assert (nest_id, signature) not in _cost._parallel_slow
    with _Engine("cpu", compiling=False):
        # A compile running when the run started (the trial's, queued by the
        # decision just before it) and over by its end: not kept either.
        _cost.note_native_run(nest_id, env, "cpu", 8e-3, beside_compile=True)
        _cost.note_native_run(nest_id, env, "cpu", 2e-3)
    assert [s for _, s in _cost._native_times[(nest_id, signature)]["cpu"]] == [2e-3]
