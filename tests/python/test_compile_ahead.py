"""auto compiles ahead: a nest that runs as Python because compiling it would
cost more than the runs seen so far save (a short initialisation loop), but
that runs again and again, has its native code built on the background
thread; a later decision finds it compiled and runs it natively. Results are
CPython's on every call, before, during and after the switch; nests the CPU
declines are never compiled ahead."""

import _loopscope
import numpy as np
import pytest
from differential import outcome, same, use_temporary_cache  # noqa: F401
from test_checked_subscripts import gnome_sort

import loopscope
from loopscope import _cost, _rewrite, _run


def init_then_dot(A, x, y):
    n = y.shape[0]
    for i in range(n):  # short: compiling it pays only after many calls
        y[i] = 0.0
    s = 0.0
    for i in range(A.shape[0]):
        for j in range(n):
            y[j] = y[j] + A[i, j] * x[i]
            s += A[i, j]
    return s


def fill_with_list(out, n):
    seen = []
    for i in range(n):  # a list append: the CPU declines it
        seen.append(i)
        out[i] = i * 0.5
    return len(seen)


def _args(seed, m=10, n=2000):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, n)), rng.standard_normal(m), rng.standard_normal(n)


@pytest.fixture(autouse=True)
def fresh_decisions():
    _loopscope.cpu_clear_cache()
    _loopscope.cpu_wait_compiles()  # a compile under way would hide the parallel runs noted (note_native_run)
    _cost.forget_decisions()
    _cost._compiled.clear()  # the GPU variants auto chose to compile
    _cost._runs.clear()
    _run.reset_last_runs()
    yield
    _loopscope.cpu_wait_compiles()


def _bound_env(fn, *args):
    envs = {}
    bind = _rewrite.bind_env

    def keep(nest_id, env):
        bound = bind(nest_id, env)
        envs.setdefault(nest_id, bound[0])
        return bound

    _rewrite.bind_env = keep
    try:
        loopscope.run(fn, *args, device="python")
    finally:
        _rewrite.bind_env = bind
    return next(iter(envs.items()))


def _devices():
    return [r["device"] for _, r in sorted(_run.last_runs().items())]


def test_a_short_loop_run_again_and_again_moves_to_native_code_with_cpython_results():
    devices_seen = []
    for call in range(8):
        args = _args(call)
        want = outcome(init_then_dot, [a.copy() for a in args], None)
        got_args = [a.copy() for a in args]
        _run.reset_last_runs()
        got = outcome(init_then_dot, got_args, "auto")
        assert same(got, want), call
        ref = [a.copy() for a in args]
        init_then_dot(*ref)
        assert all(same(g, r) for g, r in zip(got_args, ref)), call
        devices_seen.append(_devices())
        _loopscope.cpu_wait_compiles()  # the background compile lands between calls
    first_nest = [d[0] for d in devices_seen]
    assert first_nest[0] == "python", devices_seen  # not worth compiling on the first call
    assert first_nest[-1] in ("cpu", "cpu-serial"), devices_seen
    assert all(d in ("cpu", "cpu-serial") for d in devices_seen[-1]), devices_seen


def test_the_engine_reports_what_is_compiled_and_queues_one_compile():
    nest_id, env = _bound_env(init_then_dot, *_args(0))  # the first nest: the short loop
    _loopscope.cpu_clear_cache()
    assert _loopscope.cpu_predict(nest_id, env, False)["compiled"] is False
    assert not _loopscope.cpu_cached(nest_id, env, False)
    assert _loopscope.cpu_compile_background(nest_id, env, False) is True
    assert _loopscope.cpu_compile_background(nest_id, env, False) is False  # queued already
    _loopscope.cpu_wait_compiles()
    assert _loopscope.cpu_cached(nest_id, env, False)
    assert _loopscope.cpu_predict(nest_id, env, False)["compiled"] is True
    assert _cost.cpu_facts(nest_id, env).get("cpu_serial_compiled") is True
    # the parallel variant is another piece of code, not compiled yet
    assert not _loopscope.cpu_cached(nest_id, env, True)
    r = _loopscope.cpu_run(nest_id, env, False)
    assert r["status"] == "ok" and r["timing"]["cache_hit"] and r["timing"]["compile_ms"] == 0.0
    # cleared while queued: nothing is installed
    _loopscope.cpu_clear_cache()
    assert _loopscope.cpu_compile_background(nest_id, env, True) is True
    _loopscope.cpu_clear_cache()
    _loopscope.cpu_wait_compiles()
    assert not _loopscope.cpu_cached(nest_id, env, True)


def test_a_nest_the_cpu_declines_is_never_compiled_ahead_and_keeps_cpython_results():
    before = _loopscope.cpu_cache_stats()["entries"]
    for call in range(6):
        n = 50 + call
        want_out, got_out = np.zeros(n), np.zeros(n)
        want = outcome(fill_with_list, [want_out, n], None)
        got = outcome(fill_with_list, [got_out, n], "auto")
        assert same(got, want) and same(got_out, want_out)
        _loopscope.cpu_wait_compiles()
    assert _loopscope.cpu_cache_stats()["entries"] == before
    assert all(r["status"] != "ok" for r in _run.last_runs().values())


def test_values_that_change_shape_each_call_stay_exact():
    for call in range(10):
        args = _args(call, m=5 + call, n=20 + 7 * call)
        want_args = [a.copy() for a in args]
        want = outcome(init_then_dot, want_args, None)
        got = outcome(init_then_dot, args, "auto")
        assert same(got, want) and all(same(g, w) for g, w in zip(args, want_args)), call


def test_the_measured_python_time_replaces_a_guessed_count():
    # A while loop's passes are guessed (a few): the count makes this sort look
    # cheap in Python. The first run's measured time tells the next decision.
    data = np.random.default_rng(3).standard_normal(600)
    devices = []
    for call in range(4):
        want, got = data.copy(), data.copy()
        gnome_sort(want)
        _run.reset_last_runs()
        assert same(outcome(gnome_sort, [got], "auto"), ("ok", None))
        assert same(got, want)
        devices.append(_devices()[0])
        _loopscope.cpu_wait_compiles()
    assert devices[0] == "python" and devices[-1] in ("cpu", "cpu-serial"), devices
    assert any(v > 1e-3 for v in _cost._python_measured.values())


def test_the_model_takes_the_measured_time_as_a_fact():
    nest_id, env = _bound_env(gnome_sort, np.random.default_rng(1).standard_normal(200))
    gpu = _cost.default_gpu()

    def choice(**facts):
        return _loopscope.cost_choose_nest(nest_id, env, gpu, _cost._facts(dict(facts, expected_runs=1), nest_id))

    assert choice() == "python"  # counted: a few passes, cheaper than a compile
    assert choice(python_measured_s=10.0) in ("cpu", "cpu-serial")
    assert choice(python_measured_s=1e-7) == "python"
    est = _cost.estimate_nest(nest_id, env, nvrtc=False, facts={"python_measured_s": 2.0})
    py = next(v for v in est["variants"] if v["variant"] == "python")
    assert py["compute"] == 2.0 and py["details"]["measured"] is True


def axpy(a, x, y):
    for i in range(x.shape[0]):
        y[i] = a * x[i] + y[i]


def test_no_call_waits_for_a_compile_that_costs_more_than_its_python_run():
    # 600 iterations: 0.1 to 0.3 ms in Python on the machines seen, well
    # below a compile (1.5 ms and more); the code is built on the background
    # thread and later calls find it compiled. (3000 took 1.5 ms on a slow
    # interpreter: compiling at once is then the right choice, and a call
    # waits for it.)
    rng = np.random.default_rng(7)
    records = []
    for call in range(8):
        x, y = rng.standard_normal(600), rng.standard_normal(600)
        want = y.copy()
        axpy(1.5, x, want)
        _run.reset_last_runs()
        loopscope.run(axpy, 1.5, x, y)
        assert same(y, want)
        records += list(_run.last_runs().values())
        _loopscope.cpu_wait_compiles()
    native = [r for r in records if r["status"] == "ok"]
    assert native and records[-1]["status"] == "ok", [r["device"] for r in records]
    assert all(r["timing"]["compile_ms"] == 0.0 for r in native), [r["timing"] for r in native]


def test_a_kept_python_decision_ends_when_the_code_lands_or_waiting_costs_a_compile():
    import math
    import time

    x, y = np.ones(100000), np.ones(100000)
    nest_id, env = _bound_env(axpy, 1.5, x, y)
    signature = _cost.decision_signature(env)
    key = (nest_id, None, signature)

    def keep_python(waiting):
        _cost._decisions[key] = ["python", 10**9, time.monotonic() + 100]
        _cost._waiting[(nest_id, signature)] = waiting

    # Waiting for code that is not there yet: the kept decision stands.
    keep_python(_cost._Waiting(False, math.inf))
    assert _cost.choose(nest_id, env) == "python"
    # The code lands: the next call decides again and runs it.
    for parallel in (False, True):
        _loopscope.cpu_compile_background(nest_id, env, parallel)
    _loopscope.cpu_wait_compiles()
    assert _cost.choose(nest_id, env) in ("cpu", "cpu-serial")
    assert (nest_id, signature) not in _cost._waiting
    # Python runs that cost as much as the compile end the wait too: the
    # decision compiles now instead of waiting for a starved background thread.
    _loopscope.cpu_clear_cache()
    _cost.forget_decisions()
    waiting = _cost._Waiting(True, 1e-6)
    keep_python(waiting)
    _cost.note_python_time(nest_id, signature, 0.05)  # 100000 elements: tens of ms in Python
    assert waiting.spent_s >= waiting.compile_s
    assert _cost.choose(nest_id, env) in ("cpu", "cpu-serial")


def test_values_whose_parallel_runs_were_slower_than_one_core_run_on_one_core_for_a_while():
    import time

    nest_id, env = _bound_env(axpy, 1.5, np.ones(5000), np.ones(5000))
    signature = _cost.decision_signature(env)
    seen = {}

    def choose_nest(nid, e, gpu, facts):
        seen.update(facts)
        return "cpu-serial"

    real = _cost._L
    # a parallel run within the serial prediction changes nothing
    _cost._serial_predicted[(nest_id, signature)] = 1e-3
    _cost.note_native_run(nest_id, env, "cpu", 1.2e-3)
    assert (nest_id, signature) not in _cost._parallel_slow
    # one much slower than it: the decision is made again, parallel code priced as unavailable
    _cost._decisions[(nest_id, None, signature)] = ["cpu", 10**9, time.monotonic() + 100]
    _cost.note_native_run(nest_id, env, "cpu", 5e-3)
    assert (nest_id, None, signature) not in _cost._decisions

    class Fake:
        def __getattr__(self, name):
            return choose_nest if name == "cost_choose_nest" else getattr(real, name)

    _cost._L = Fake()
    _loopscope.cpu_compile(nest_id, env, False)  # compiled: the choice is the model's, not Python while compiling
    try:
        assert _cost.choose(nest_id, env) == "cpu-serial"
        assert seen.get("cpu_runs_parallel") is False
        # for a while only: then parallel code is priced again
        _cost._parallel_slow[(nest_id, signature)] = time.monotonic() - 1
        seen.clear()
        _cost._decide(nest_id, env, 5, None, None)
        assert seen.get("cpu_runs_parallel") is not False  # axpy's loop runs in parallel
    finally:
        _cost._L = real
    _cost.forget_decisions()
    assert not _cost._parallel_slow and not _cost._serial_predicted
