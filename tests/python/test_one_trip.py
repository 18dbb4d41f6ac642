"""One execution of a nest is one trip of the engine: whatever the report,
the cost model and the run ask of it, its pipeline (kernel/bindings/pipeline.hpp)
reads the nest's values once, plans once, counts its work once and generates
its CUDA once, and a warm ``auto`` call reuses its decision instead of
deciding again (``_cost.choose``)."""

import numpy as np
import pytest

import _loopscope
import loopscope
from loopscope import _cell, _cost, _run


def counters():
    return dict(_loopscope.engine_counters())


def delta(before):
    now = counters()
    return {k: now[k] - before[k] for k in now}


@pytest.fixture(scope="module")
def ipython():
    from IPython.testing import globalipapp

    ip = globalipapp.start_ipython() or globalipapp.get_ipython()  # one shell per process
    ip.run_line_magic("load_ext", "loopscope")
    # A first calibration runs nests of its own: not part of what is counted.
    # The kernel's report registers its calibration at its first cell
    # (_cell._engine), which would then run inside the first counted cell
    # when the profile on disk lacks it (a fresh build, a first test).
    _cell._engine()
    _cost.host_profile()
    yield ip
    ip.run_line_magic("loopscope", "auto full")
    ip.run_line_magic("unload_ext", "loopscope")


MATMUL = (
    "import numpy as np\n"
    "A{k} = np.arange(144.0).reshape(12, 12)\nB{k} = np.eye(12)\nC{k} = np.zeros((12, 12))\n"
    "for i in range(12):\n"
    "    for j in range(12):\n"
    "        s = 0.0\n"
    "        for p in range(12):\n"
    "            s += A{k}[i, p] * B{k}[p, j]\n"
    "        C{k}[i, j] = s\n"
)


@pytest.mark.parametrize("mode", ["auto", "cpu", "gpu"])
def test_a_first_run_with_a_full_report_binds_once_and_generates_cuda_once(ipython, mode):
    ipython.run_line_magic("loopscope", f"{mode} full")
    before = counters()
    result = ipython.run_cell(MATMUL.format(k=mode))
    assert result.success
    d = delta(before)
    # The report's analysis, estimate, NVRTC facts and CUDA source, and the run.
    assert d["binds"] == 1, d
    assert d["plans"] == 1, d
    assert d["cuda_generations"] == 1, d
    # The estimate, the size sweeps of every GPU profile and the CPU compile
    # tier's choice read one count.
    assert d["work_counts"] == 1, d
    A = np.arange(144.0).reshape(12, 12)
    assert np.array_equal(ipython.user_ns[f"C{mode}"], A @ np.eye(12))


def test_a_second_run_plans_from_the_cache_and_counts_nothing(ipython):
    ipython.run_line_magic("loopscope", "auto full")
    cell = MATMUL.format(k="again")
    assert ipython.run_cell(cell).success
    before = counters()
    assert ipython.run_cell(cell).success
    d = delta(before)
    assert d["plans_analysed"] == 0 and d["work_counts"] == 0, d
    assert d["binds"] == d["plans"] == 1, d


def test_a_run_time_decline_reads_the_values_once(ipython):
    ipython.run_line_magic("loopscope", "cpu full")
    before = counters()
    # The nest is supported, but an int scalar that may outgrow 64 bits is
    # declined at run time: the report and the run still read the values once.
    result = ipython.run_cell("s_big = 1\nfor i in range(70):\n    s_big = s_big * 3\n")
    assert result.success and ipython.user_ns["s_big"] == 3**70
    assert delta(before)["binds"] <= 1


def _stencil(a, b):
    n = a.shape[0]
    for i in range(1, n - 1):
        b[i] = 0.5 * (a[i - 1] + a[i + 1])
    return b


@pytest.mark.parametrize("device", ["auto", "cpu", "cpu-serial", "gpu-emulated"])
def test_run_reads_the_values_once_per_execution(device):
    a, b = np.arange(50.0), np.zeros(50)
    loopscope.run(_stencil, a, b, device=device)  # rewritten and compiled
    b[:] = 0
    before = counters()
    loopscope.run(_stencil, a, b, device=device)
    d = delta(before)
    assert d["binds"] <= 1 and d["plans"] <= 1, d
    assert np.array_equal(b[1:49], 0.5 * (a[:48] + a[2:]))


def test_estimate_reads_the_values_once_per_nest():
    a, b = np.arange(50.0), np.zeros(50)
    before = counters()
    est = loopscope.estimate(_stencil, a, b, sweep=False)
    assert len(est["nests"]) == 1
    d = delta(before)
    assert d["binds"] == 1 and d["plans"] == 1, d


def _relax(a, b, n):
    for i in range(1, n - 1):
        b[i] = 0.25 * a[i - 1] + 0.5 * a[i] + 0.25 * a[i + 1]


def _relax2(a, b, n):
    for i in range(1, n - 1):
        b[i] = 0.25 * a[i - 1] + 0.5 * a[i] + 0.5 * a[i + 1]


def test_the_compile_tier_reads_the_count_of_the_estimate():
    # cpu: no estimate, so the tier choice of the first compile counts the
    # work (once); later runs find the variant compiled and count nothing.
    a, b = np.arange(64.0), np.zeros(64)
    compiles = _loopscope.cpu_cache_stats()["misses"]
    before = counters()
    loopscope.run(_relax, a, b, 64, device="cpu")
    assert _loopscope.cpu_cache_stats()["misses"] == compiles + 1
    assert delta(before)["work_counts"] == 1
    before = counters()
    loopscope.run(_relax, a, b, 64, device="cpu")
    assert delta(before)["work_counts"] == 0
    assert np.array_equal(b[1:63], 0.25 * a[:62] + 0.5 * a[1:63] + 0.25 * a[2:])
    # auto: the decisions and the compile's tier choice read one count.
    compiles = _loopscope.cpu_cache_stats()["misses"]
    before = counters()
    for _ in range(3):
        loopscope.run(_relax2, a, b, 64, device="auto")
    assert delta(before)["work_counts"] == 1
    assert _loopscope.cpu_cache_stats()["misses"] <= compiles + 2


def test_an_entry_point_outside_a_trip_runs_the_same_passes():
    # Called directly, each entry point makes a pipeline of its own: it reads
    # the values again, and gives what a trip gives.
    a, b = np.arange(20.0), np.zeros(20)
    nest_id = _loopscope.analysis_register(
        __import__("ast").parse("for i in range(1, 19):\n    b[i] = a[i - 1] + a[i + 1]\n").body[0]
    )
    env = {"a": a, "b": b}
    before = counters()
    alone = (_loopscope.cpu_predict(nest_id, env), _loopscope.cuda_generate(nest_id, env)["parallel_loops"])
    assert delta(before)["binds"] == 2
    _loopscope.trip_begin(nest_id, env)
    try:
        before = counters()
        in_trip = (_loopscope.cpu_predict(nest_id, env), _loopscope.cuda_generate(nest_id, env)["parallel_loops"])
        assert delta(before)["binds"] == 1
    finally:
        _loopscope.trip_end()
    assert alone == in_trip
    assert alone[0]["status"] == "native" and alone[1] == "i"


def _saxpy(a, x, y):
    for i in range(x.shape[0]):
        y[i] = a * x[i] + y[i]


def test_a_warm_auto_call_reuses_its_decision(monkeypatch):
    x, y = np.ones(300), np.zeros(300)
    for _ in range(3):
        loopscope.run(_saxpy, 2.0, x, y, device="auto")
    decided = []
    real = _cost._decide
    monkeypatch.setattr(_cost, "_decide", lambda *a: decided.append(a[2]) or real(*a))
    monkeypatch.setattr(_cost, "DECISION_TTL_S", 3600.0)
    for _ in range(100):
        loopscope.run(_saxpy, 2.0, x, y, device="auto")
    # A native decision is kept (its compile is paid); a Python one is
    # decided again only as the runs grow by half (amortising the compile):
    # a handful of times in a hundred calls at most, not at each.
    assert len(decided) <= 12, decided
    # New values that change what the decision depends on are decided afresh.
    n = len(decided)
    loopscope.run(_saxpy, 2.0, np.ones(7), np.zeros(7), device="auto")
    assert len(decided) == n + 1
    # A float scalar's value is not part of it.
    loopscope.run(_saxpy, 3.5, x, y, device="auto")
    assert len(decided) == n + 1
    assert np.array_equal(y, np.zeros(300) + 2.0 * 103 + 3.5)


def test_a_changed_setting_forgets_the_decisions():
    x, y = np.ones(30), np.zeros(30)
    loopscope.run(_saxpy, 2.0, x, y, device="auto")
    assert _cost._decisions
    previous = loopscope.set_reassociation(True)
    try:
        assert not _cost._decisions
    finally:
        loopscope.set_reassociation(previous)


def test_the_decision_signature_keeps_what_the_decision_depends_on():
    sig = _cost.decision_signature
    a = np.zeros((4, 5))
    assert sig({"A": a, "n": 4}) == sig({"A": np.ones((4, 5)), "n": 4})
    # ints by magnitude: a count within the same power of two prices alike
    assert sig({"A": a, "n": 4}) == sig({"A": a, "n": 7})
    assert sig({"A": a, "n": 4}) != sig({"A": a, "n": 8})
    assert sig({"n": 0}) != sig({"n": 1}) and sig({"n": -4}) != sig({"n": 4})
    assert sig({"A": a}) != sig({"A": a.T})  # strides
    assert sig({"A": a}) != sig({"A": a.astype(np.float32)})
    assert sig({"x": 1.5}) == sig({"x": 2.5})
    assert sig({"x": 1.5}) != sig({"x": 1})
    assert sig({"L": [1, 2]}) != sig({"L": [1, 2]})  # unhashable: by identity, never shared


def test_records_say_what_auto_ran():
    _run.reset_last_runs()
    x, y = np.ones(30), np.zeros(30)
    loopscope.run(_saxpy, 2.0, x, y, device="auto")
    (rec,) = _run.last_runs().values()
    assert rec["device"] in ("python", "cpu", "cpu-serial")
