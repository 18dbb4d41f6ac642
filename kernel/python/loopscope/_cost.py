"""The cost model seen from Python.

- ``host_profile(recalibrate=False)``: the host CPU profile (dict). Native
  figures are measured once by the engine and cached in
  ``$XDG_CACHE_HOME/loopscope/host.json`` (``~/.cache/loopscope``); the
  interpreter figures are measured here the first time and added to the cache.
- ``recalibrate()``: measure everything again.
- ``first_run_overheads(nvrtc_s=0.0)``: what a first run in the kernel pays
  besides compiling and the loop (binding and checks, the report before and
  after the run), as calibrated on this host.
- ``gpu_profiles()`` / ``gpu_profile(name)``: the GPU profiles of share/hardware.
- ``estimate_nest(nest_id, env, ...)``: count, price and decide one nest the
  rewriter registered, for the live values in ``env``; returns the structured
  estimate (see docs/costmodel.md, "The JSON estimate").
- ``estimate_profiles(nest_id, env, gpus=None, ...)``: the same on several GPU
  profiles (all by default), ``{profile name: estimate}``, from one count.

The engine counts the work of a nest once per bound instance (the nest, its
plan, and the integer values, shapes, strides and dtypes it reads) and keeps
the count: later estimates of the same instance, on any GPU profile and with
any facts, only price it again.
- ``choose(nest_id, env, ...)``: just the decision, as a device name of
  ``loopscope.run`` ("python", "cpu-serial", "cpu" or "gpu").
- ``price(work, ...)``: price a work profile given as a dict (for what-if
  questions and tests).

The GPU profile defaults to ``$LOOPSCOPE_GPU`` or ``h100_sxm``.
"""

import math
import os
import time

import _loopscope as _L
import numpy as np

from . import _lists, _records
from ._cost_calibrate import calibrate_draws, calibrate_interpreter, calibrate_lists
from ._errors import internal

DEFAULT_GPU = "h100_sxm"

_host = None
# Seconds spent measuring this host in this process (once, or on
# recalibrate()): a report made meanwhile keeps them apart from its own cost.
CALIBRATIONS_S = []


def default_gpu():
    return os.environ.get("LOOPSCOPE_GPU") or DEFAULT_GPU


# The host's calibrations beyond the engine's own (cost_host_profile): name ->
# (the profile's flag once done, the function measuring it). This module
# prices and runs nothing itself: the layers that can run what is measured
# register it, _run the engine's calls, _cell the kernel's report. They run
# in this order, each pricing with the figures of those before it.
_CALIBRATION_ORDER = ("interpreter", "draws", "lists", "engine", "report")
_CALIBRATIONS = {
    "interpreter": ("py_numpy_calibrated", calibrate_interpreter),
    "draws": ("draws_calibrated", calibrate_draws),
    "lists": ("lists_calibrated", calibrate_lists),
}


def register_calibration(name, flag, measure):
    """Adds a calibration of the host: ``measure()`` returns figures for the
    profile, ``flag`` among them once measured. A profile that lacks the
    flag is completed at the next ``host_profile()``."""
    global _host
    _CALIBRATIONS[name] = (flag, measure)
    if _host is not None and not _host.get(flag):
        _host = None


def host_profile(recalibrate=False):
    """The host profile as a dict (cached in memory and on disk), with every
    registered calibration measured once."""
    global _host
    if _host is not None and not recalibrate:
        return _host
    t0 = time.perf_counter()
    h = _L.cost_host_profile(bool(recalibrate))
    measured = not str(h.get("source", "")).startswith("cache:")  # the engine measured the host just now
    missing = [_CALIBRATIONS[n] for n in _CALIBRATION_ORDER if n in _CALIBRATIONS]
    missing = [(flag, fn) for flag, fn in missing if recalibrate or not h.get(flag)]
    if missing:
        _host = h  # the calibrations below ask for the profile
        _L.cost_set_host(h)
        for _flag, measure in missing:
            h.update(measure())
            _L.cost_set_host(h)
        _L.cost_save_host_profile(h)
        measured = True
    if measured:
        CALIBRATIONS_S.append(time.perf_counter() - t0)
        forget_decisions()
    _host = h
    _L.cost_set_host(h)
    return h


def first_run_overheads(nvrtc_s=0.0):
    """What a nest's first run in the kernel pays besides compiling and the
    loop, in seconds, as calibrated on this host (calibrate_engine,
    calibrate_report): ``setup`` (binding the values, the run-time
    analysis, the specialisation), ``report`` (analysis and pricing before
    the run, plus ``nvrtc_s`` when the report compiled the CUDA with NVRTC)
    and ``draw`` (drawing the report after the run)."""
    h = host_profile()
    return {
        "setup": h["first_setup_us"] * 1e-6,
        "report": h["report_us"] * 1e-6 + nvrtc_s,
        "draw": h["report_draw_us"] * 1e-6,
    }


def recalibrate():
    """Measures the host again (native and interpreter figures) and rewrites the cache."""
    return host_profile(recalibrate=True)


def cache_path():
    return _L.cost_cache_path()


def gpu_profiles():
    return list(_L.cost_gpu_profiles())


def gpu_profile(name=None):
    return _L.cost_gpu_profile(name or default_gpu())


_gpu_status = None


def gpu_available():
    """True when a CUDA driver and device can be used by the engine (asked
    once per process)."""
    global _gpu_status
    if _gpu_status is None:
        fn = getattr(_L, "cuda_driver_status", None)
        try:
            _gpu_status = bool(fn()["available"]) if fn is not None else False
        except Exception:
            _gpu_status = False
    return _gpu_status


# Nests for which the GPU variant was chosen in this process: the engine has
# compiled them since, so their compile time is not charged again. (The CPU
# variants ask the variant cache itself, for these very values: cpu_facts.)
_compiled = set()


_free = [0.0, 0.0]  # [time of the reading, cores free]


def _own_running_threads():
    """This process's runnable threads (this one, and pool workers still
    spinning after a parallel region): they are not other work."""
    own = 0
    try:
        for tid in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{tid}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            if stat[stat.rfind(")") + 2 : stat.rfind(")") + 3] == "R":
                own += 1
    except OSError:
        pass
    return max(1, own)


def cores_free_from(cores, loadavg, own, own_minute=None):
    """cores_free for a reading of /proc/loadavg (its text) with ``own`` of
    this process's threads runnable now and ``own_minute`` the cores it kept
    busy over about the last minute (None: not known yet): with C cores,
    T = C worker threads and O other runnable threads, the scheduler gives T
    threads T * min(1, C / (T + O)) cores and one thread min(1, C / (1 + O));
    the ratio caps the parallel speedup. O is the others runnable at this
    instant, but at most the last minute's average of them (the load average
    less this process's share of it), when that is known: a thread that runs
    for a moment (a shell command, a compiler's short step) is not other
    work that holds a core for the regions of the next run, while a machine
    busy for the last minute is."""
    try:
        fields = loadavg.split()
        others = max(0.0, float(int(fields[3].split("/")[0]) - own))
        if own_minute is not None:
            others = max(0.0, min(others, float(fields[0]) - own_minute))
    except (ValueError, IndexError):
        others = 0.0
    threads = cores
    parallel = threads * min(1.0, cores / (threads + others))
    serial = min(1.0, cores / (1.0 + others))
    return float(max(1.0, min(cores, parallel / serial)))


# This process's CPU time at moments of the last minute: [(monotonic, CPU seconds)].
_cpu_marks = []


def _own_minute(now):
    """The cores this process kept busy since about a minute ago (its share of
    the load average), or None with less than 5 s of history."""
    cpu = time.process_time()
    while _cpu_marks and now - _cpu_marks[0][0] > 60.0:
        del _cpu_marks[0]
    if not _cpu_marks or now - _cpu_marks[-1][0] >= 5.0:
        _cpu_marks.append((now, cpu))
    then, cpu_then = _cpu_marks[0]
    if now - then < 5.0:
        return None
    return max(0.0, (cpu - cpu_then) / (now - then))


def cores_free():
    """How many cores a parallel run gets, relative to a serial one, next to
    the other work on the machine (/proc/loadavg, read at most every half
    second; cores_free_from)."""
    now = time.monotonic()
    if now - _free[0] < 0.5 and _free[1] > 0:
        return _free[1]
    try:
        cores = int(_L.cpu_threads())  # affinity, cgroup quota, LOOPSCOPE_THREADS (host_cpus.hpp)
    except Exception:
        cores = os.cpu_count() or 1
    try:
        with open("/proc/loadavg") as f:
            loadavg = f.read()
    except OSError:
        loadavg = ""
    _free[0] = now
    _free[1] = cores_free_from(cores, loadavg, _own_running_threads(), _own_minute(now))
    return _free[1]


def _workers_awake():
    """Whether the engine's worker threads still spin after a parallel loop
    that ended moments ago (the next run's first region then starts warm)."""
    awake = getattr(_L, "cpu_workers_awake", None)
    return bool(awake()) if awake is not None else False


def _facts(facts, nest_id=None):
    f = {"gpu_available": gpu_available(), "cores_free": cores_free(), "workers_awake": _workers_awake()}
    if nest_id is not None:
        f["gpu_compiled"] = (nest_id, "gpu") in _compiled
        f.update(draw_facts(nest_id))
    if facts:
        f.update(facts)
    return f


# The host's price of one number, by the generator of a draw site and what
# it draws (_draws.Site), and of each generator's draws once per run.
def _draw_price(site, h):
    if site.gen == "py":
        return h["draw_py_ns"] if site.source == "u" else h["draw_py_gauss_ns"]
    return h["draw_np_ns"] if site.gen == "np" else h["draw_gen_ns"]


def _draw_setup(gen, h):
    if gen == "py":
        return h["draw_setup_us"]
    return h["draw_np_setup_us"] if gen == "np" else h["draw_gen_setup_us"]


def draw_facts(nest_id):
    """What the random numbers a nest draws before a native run cost
    (loopscope/_draws.py; the count is the work profile's ``draws``):
    ``{"draw_ns": the mean price of one number over its draw sites (each
    draws as many), "draw_setup_us": its generators' price per run}``, or
    ``{}`` for a nest that draws nothing."""
    from . import _rewrite

    rec = _rewrite.NESTS.get(nest_id)
    plan = getattr(rec, "draws", None)
    if plan is None or not plan.sites:
        return {}
    h = host_profile()
    return {
        "draw_ns": sum(_draw_price(site, h) for site in plan.sites) / len(plan.sites),
        "draw_setup_us": sum(_draw_setup(gen, h) for gen in {site.gen for site in plan.sites}),
    }


def cpu_facts(nest_id, env):
    """What the CPU code generator will do with these values, asked of the
    specialisation it makes before compiling (``_loopscope.cpu_predict``;
    nothing is compiled): ``{"cpu_available": False, "cpu_decline": why}``
    when it declines (an int that may outgrow 64 bits, a NumPy ufunc on
    scalars, ...), ``{"cpu_runs_parallel": False}`` when it runs no loop in
    parallel although the plan has one (a float min/max or an array
    reduction runs in order), else ``{}``. So the model never prices as
    available a variant that would only fall back to Python, nor a parallel
    run that would be serial."""
    fn = getattr(_L, "cpu_predict", None)
    if fn is None:
        return {}
    try:
        p = fn(int(nest_id), env, True)
    except Exception:
        return {}
    if p["status"] == "declined":
        decline = _records.Decline.from_engine(p["decline"])
        return {"cpu_available": False, "cpu_decline": decline.reason, "cpu_decline_code": decline.code}
    f = {}
    if not p.get("parallel_loops"):
        f["cpu_runs_parallel"] = False
    # Code already in the cache compiles nothing when it runs (a background
    # compile may have put it there: _compile_ahead).
    if p.get("compiled"):
        f["cpu_compiled"] = True
    elif hasattr(_L, "cpu_cached") and _L.cpu_cached(int(nest_id), env, False):
        f["cpu_serial_compiled"] = True
    return f


_nvrtc = {}


def _nvrtc_key(nest_id, env, gpu):
    try:
        cc = int(gpu_profile(gpu).get("compute_capability", 80))
    except Exception:
        cc = 80
    dtypes = tuple(sorted((k, str(getattr(v, "dtype", type(v).__name__))) for k, v in env.items()))
    return (int(nest_id), f"sm_{max(75, cc)}", dtypes)


def nvrtc_known(nest_id, env, gpu=None):
    """Whether nvrtc_facts has these facts already (no NVRTC run needed)."""
    return env is not None and _nvrtc_key(nest_id, env, gpu) in _nvrtc


def nvrtc_facts(nest_id, env, gpu=None):
    """GPU facts from compiling the nest's generated CUDA with NVRTC for the
    profile's architecture (cached per nest, architecture and dtypes):
    registers per thread and shared memory per block (the largest over the
    nest's kernels), the compile time, or why the CUDA generator declined.
    {} when the CUDA bindings are not built."""
    fn = getattr(_L, "cuda_compile", None)
    if fn is None or env is None:
        return {}
    key = _nvrtc_key(nest_id, env, gpu)
    arch = key[1]
    if key in _nvrtc:
        return dict(_nvrtc[key])
    big = _large_cuda_source(nest_id, env)
    if big is not None:
        _nvrtc[key] = big
        return dict(big)
    try:
        r = fn(int(nest_id), env, arch, True)
    except Exception as exc:  # the estimate goes on with typical figures
        return {"gpu_codegen_ok": False, "gpu_decline": internal(exc, "CUDA generator"), "gpu_decline_code": "internal"}
    if r.get("decline"):
        decline = _records.Decline.from_engine(r["decline"])
        facts = {"gpu_codegen_ok": False, "gpu_decline": decline.reason, "gpu_decline_code": decline.code}
    elif r.get("nvrtc_missing"):
        facts = {}  # no NVRTC here: the GPU is priced with typical register counts
    elif not r.get("ok"):
        facts = {
            "gpu_codegen_ok": False,
            "gpu_decline": "NVRTC could not compile the generated CUDA",
            "gpu_decline_code": "internal",
        }
    else:
        res = [v for v in (r.get("resources") or {}).values() if v.get("registers", -1) > 0]
        facts = {"gpu_compile_s": float(r.get("compile_ms", 45.0)) / 1e3}
        if res:
            facts["gpu_registers_per_thread"] = max(v["registers"] for v in res)
            facts["gpu_shared_bytes_per_block"] = max(v.get("shared_bytes", 0) for v in res)
    _nvrtc[key] = facts
    return dict(facts)


# NVRTC's compile time grows about as the square of the source beyond a few
# KB (every checked operation has its own error path): measured 0.12 s at
# 4.5 KB, 0.49 s at 11 KB, 1.1 s at 20 KB, 3.7 s at 37 KB and 31 s at 88 KB
# with every subscript checked (docs/big-bodies.md; sources whose indices are
# proved in range compile several times faster, so this is an upper bound).
# A report must not wait that long, so beyond NVRTC_SOURCE_LIMIT the GPU is
# priced with typical register figures and an estimated compile time, and
# the facts say so.
NVRTC_SOURCE_LIMIT = 16 * 1024
_PYTHON_SOURCE_HINT = 2500  # below this many characters of Python the CUDA is well under the limit


def estimated_nvrtc_seconds(source_bytes):
    return 0.49 * max(1.0, source_bytes / 11000.0) ** 2


def _large_cuda_source(nest_id, env):
    """Facts for a nest whose CUDA is too large to compile for a report, or None."""
    try:
        from . import _rewrite

        rec = _rewrite.NESTS.get(int(nest_id))
        if rec is None or len(rec.source) < _PYTHON_SOURCE_HINT:
            return None
        gen = _L.cuda_generate(int(nest_id), env)
    except Exception:
        return None
    source = gen.get("source") or ""
    if gen.get("decline") or len(source) <= NVRTC_SOURCE_LIMIT:
        return None
    seconds = estimated_nvrtc_seconds(len(source))
    return {
        "gpu_compile_s": seconds,
        "nvrtc_skipped": (
            f"NVRTC was not run for this report: the generated CUDA is {len(source) // 1024} KB, which would take "
            f"about {seconds:.0f} s to compile; registers per thread are typical figures and the compile time "
            f"is estimated"
        ),
    }


def price(work, gpu=None, facts=None, host=None):
    """Prices a work profile (a dict as in the ``work`` field of an estimate)."""
    return _L.cost_price(work, host or host_profile(), gpu or default_gpu(), _facts(facts))


def estimate_nest(nest_id, env, gpu=None, facts=None, sweep=True, host=None, nvrtc=True):
    """The structured estimate of one registered nest for the values in ``env``.
    With ``nvrtc`` (the default) the nest's CUDA is compiled once for the
    profile's architecture, so that occupancy uses its real register count."""
    if not hasattr(_L, "cost_estimate_nest"):
        raise RuntimeError("this build of the engine has no analysis bindings")
    if host is None:
        host_profile()  # measured and handed to the engine once per process
    f = nvrtc_facts(nest_id, env, gpu) if nvrtc else {}
    f.update(cpu_facts(nest_id, env))
    if facts:
        f.update(facts)
    return _L.cost_estimate_nest(int(nest_id), env, host, gpu or default_gpu(), _facts(f, nest_id), bool(sweep))


def estimate_profiles(nest_id, env, gpus=None, facts=None, sweep=True, host=None, nvrtc=True, nvrtc_gpu=None):
    """The estimates of one registered nest on several GPU profiles (all of
    them by default), as ``{profile name: estimate}``: one binding of the
    values, one plan and one count of the work, priced on each profile. Each
    estimate is the one ``estimate_nest`` gives for that profile with the same
    facts. With ``nvrtc`` the nest's CUDA is compiled once, for the
    architecture of ``nvrtc_gpu`` (the default profile when None), and every
    profile uses its register count."""
    if not hasattr(_L, "cost_estimate_nest_profiles"):
        raise RuntimeError("this build of the engine has no analysis bindings")
    if host is None:
        host_profile()
    f = nvrtc_facts(nest_id, env, nvrtc_gpu) if nvrtc else {}
    f.update(cpu_facts(nest_id, env))
    if facts:
        f.update(facts)
    names = None if gpus is None else [g if isinstance(g, str) else g.get("name") for g in gpus]
    return dict(_L.cost_estimate_nest_profiles(int(nest_id), env, host, names, _facts(f, nest_id), bool(sweep)))


# How many times each nest has asked for a decision in this process.
_runs = {}


# Decisions already made: (nest id, GPU profile, what the decision depends
# on in the values) -> [choice, runs at which to decide again, time at which
# to decide again].
# A warm call costs a signature and a lookup (microseconds) instead of the
# facts, the binding and the pricing (hundreds of microseconds). A decision
# is made again when the nest has run half as many times again (amortising
# the compile over more runs can move a nest from Python to native code; by
# then the cost of the stale choice is bounded by the compile it avoided),
# and at least every DECISION_TTL_S seconds (the machine's load, read by
# cores_free, changes the parallel speed-up). The choice only picks a device:
# that device's own checks still run at every call, so a stale choice can
# cost speed, never exactness.
class _Decisions(dict):
    """The kept decisions; every change forgets what the engine mirrors of
    them (``_L.auto_kept``, see _mirror_kept): the changed nest's entries,
    all of them when cleared."""

    __slots__ = ()

    def __setitem__(self, key, value):
        _forget_kept(key[0])
        super().__setitem__(key, value)

    def __delitem__(self, key):
        _forget_kept(key[0])
        super().__delitem__(key)

    def pop(self, key, *default):
        _forget_kept(key[0])
        return super().pop(key, *default)

    def clear(self):
        _forget_kept(None)
        super().clear()

    def setdefault(self, key, default=None):
        _forget_kept(key[0])
        return super().setdefault(key, default)

    def update(self, *args, **kwargs):
        _forget_kept(None)
        super().update(*args, **kwargs)

    def popitem(self):
        _forget_kept(None)
        return super().popitem()


def _forget_kept(nest_id):
    forget = getattr(_L, "auto_forget", None)
    if forget is not None:
        forget(nest_id)


_decisions = _Decisions()
DECISION_TTL_S = 1.0
_FLOAT_TYPES = (float, np.float64, np.float32)


def decision_signature(env):
    """What a decision depends on among the values: each array's dtype, shape
    and strides, each integer's magnitude (its sign and bit length: bounds
    and sizes price alike within a factor of two, and a nest reached with a
    new count each time, such as an inner while loop's start value, would
    otherwise be decided again at every execution), each float's type only."""
    sig = []
    add = sig.append
    ndarray, floats = np.ndarray, _FLOAT_TYPES  # runs at every nest execution under auto
    for k, v in env.items():
        t = type(v)
        if t is ndarray or t is _lists.Snapshot:  # a list's snapshot: made again at each run (_lists)
            add((k, v.dtype.num, v.shape, v.strides))
        elif t in floats:
            add((k, t))
        elif t is int:
            add((k, t, v.bit_length() if v >= 0 else -v.bit_length()))
        else:
            try:
                hash(v)
                add((k, t, v))
            except TypeError:
                add((k, t, id(v)))
    return tuple(sig)


def forget_decisions():
    """Drops the decisions kept by choose (after the host or the GPU changed)."""
    _decisions.clear()
    if hasattr(_L, "auto_hits_clear"):
        _L.auto_hits_clear()
    _stopped.clear()
    _python_measured.clear()
    _waiting.clear()
    _serial_predicted.clear()
    _parallel_slow.clear()
    _native_times.clear()
    _trials.clear()


# Values on which a native run of a nest stopped half-way (a run-time check
# failed: a subscript out of range, an int beyond 64 bits) and Python ran the
# loop: (nest id, decision signature). The model prices native code that
# checks as it runs as if the checks pass; once they have failed for these
# values, choose sends them to Python, which is what ran anyway.
_stopped = set()


# The interpreter's time measured on a nest's values (auto's last Python run
# of it): (nest id, decision signature) -> seconds. The model counts Python's
# work from the loop's text, which is far off where counting has to guess
# (a while loop's passes, a search that stops early); the measured time
# replaces that count in the next decision (VariantFacts::python_measured_s).
_python_measured = {}


def note_python_time(nest_id, signature, seconds):
    """Python ran ``nest_id`` on values of this signature in ``seconds``."""
    if len(_python_measured) > 4096:
        _python_measured.clear()
    _python_measured[(nest_id, signature)] = seconds
    waiting = _waiting.get((nest_id, signature))
    if waiting is not None:
        waiting.spent_s += seconds


# A parallel run costs what the other work on the machine leaves it: a
# region waits for a core that is busy (cores_free reads the load when the
# decision is made, and it changes). Where auto sent values to the parallel
# variant, the model's serial time for them is kept, (nest id, signature) ->
# seconds; a parallel run slower than that (by half, plus 50 us) sends those
# values to one core for PARALLEL_SLOW_S: (nest id, signature) -> until when.
_serial_predicted = {}
_parallel_slow = {}
PARALLEL_SLOW_S = 10.0


# The two CPU variants measured: auto's optimised native runs of a nest,
# (nest id, signature) -> {"cpu" or "cpu-serial": [(when, seconds), ...]}
# (the latest SETTLE_RUNS of each, those of the last SETTLE_MEMORY_S). The
# model's choice between one core and all of them is a prediction, and the
# costs it weighs (a region's fork and join, the memory bandwidth the cores
# share, the load) vary from machine to machine and minute to minute: where
# it chose one of the two and a run takes long enough to tell them apart,
# auto runs the other once (a trial, when its code is compiled) and from
# then on the faster of the two as measured (_settled_choice). Measurements
# age out, so a changed load is measured again.
_native_times = {}
SETTLE_RUNS = 3
SETTLE_MEMORY_S = 30.0
# A trial is made only for runs of at least TRIAL_MIN_S (below it the two
# differ by less than a call's own noise) and only when the model prices the
# other variant at most TRIAL_MAX_RATIO times the chosen one's run (a
# parallel run of a short inner reduction can take 30 times as long: not
# worth one run to find out); at most TRIALS_PER_MEMORY per variant and
# memory window (a trial that ran quick code measures nothing).
TRIAL_MIN_S = 20e-6
TRIAL_MAX_RATIO = 3.0
TRIALS_PER_MEMORY = 2
# (nest id, signature, variant) -> [window start, trials made in it]
_trials = {}
# The nest, values (their id: the env of the run being chosen, alive until
# the run is noted) and signature choose saw last, whether it decided
# afresh, and the kept decision (the list in _decisions) it ran on:
# note_native_run reads the signature instead of computing it again, and
# the runs of fresh decisions only are measured (a decision is made at least
# every DECISION_TTL_S, and a trial is one), so that a warm call on a kept
# decision pays nothing for the measuring; but for the first optimised run
# of a native decision made on quick code (or before any code): that one is
# measured, and ends the decision (the next call settles the variant).
_last_chosen = [None, None, None, False, None]
# Set by _settled_choice when the trial's code was queued on the background
# thread: whether it is the parallel variant (the kept decision ends when
# that code lands, so that the trial runs at the next call).
_trial_queued = [None]


def last_chosen_clear():
    """A run was chosen without choose (_L.auto_kept): _last_chosen is not
    about it."""
    _last_chosen[0] = None


def chosen_signature(nest_id, env):
    """The decision signature of these values: the one choose just computed
    for this run, else computed now (may raise, as decision_signature)."""
    if _last_chosen[0] == nest_id and _last_chosen[1] == id(env):
        return _last_chosen[2]
    return decision_signature(env)


def measuring(nest_id, env):
    """Whether the run choose just chose for ``nest_id`` is to be timed for
    note_native_run (its decision was made afresh, or it was kept from a
    decision whose optimised code had not run yet)."""
    if _last_chosen[0] != nest_id or _last_chosen[1] != id(env):
        return False
    kept = _last_chosen[4]
    return _last_chosen[3] or (kept is not None and len(kept) > 3 and kept[3])


def _recent(entries, now):
    """The seconds of the measurements still remembered (SETTLE_MEMORY_S)."""
    return [sec for when, sec in entries if now - when < SETTLE_MEMORY_S] if entries else []


def _typical(seconds):
    """What a variant's runs take, from its recent measurements: the upper
    median (of two, the slower). A parallel run's time depends on what the
    other cores are doing: its fastest run is luck, not what it will take."""
    return sorted(seconds)[len(seconds) // 2]


def note_native_run(nest_id, env, variant, seconds, beside_compile=False):
    """``variant`` ("cpu" or "cpu-serial", optimised code) ran ``nest_id``
    on these values in ``seconds``: kept for _settled_choice; and a parallel
    run slower than the model's serial time for it (other work holds the
    cores) sends these values to one core for PARALLEL_SLOW_S. Every
    parallel run is kept (they are the ones whose time varies with the
    load); a serial one when its decision was fresh. A parallel run made
    while the background thread compiles is not kept: the compile held one
    of the cores (on two cores, a call of PolyBench's jacobi-2d at MEDIUM
    took 9 ms on all cores beside a compile against 1.9 ms after it, and
    auto then kept it on one core, at 3.6 ms): one compiling at its end, or
    at its start (``beside_compile``: fdtd-2d's trial of one core, queued
    just before a parallel run that then took 6.6 ms against 2.9, sent it to
    one core at 3.2 ms for the next calls)."""
    if variant == "cpu" and (beside_compile or _L.cpu_compiling_in_background()):
        return
    fresh, kept = True, None
    if _last_chosen[0] == nest_id and _last_chosen[1] == id(env):
        signature, fresh, kept = _last_chosen[2], _last_chosen[3], _last_chosen[4]
        if kept is not None and len(kept) > 3 and kept[3]:
            # The first optimised run of this decision: measured; a kept
            # decision made on quick code ends with it (the next call
            # decides with the measurement: a trial, the settled variant).
            kept[3] = False
            if not fresh:
                kept[1] = 0
                fresh = True
    else:
        try:
            signature = decision_signature(env)
        except Exception:
            return
    now = time.monotonic()
    times = None
    if fresh or variant == "cpu":
        times = _native_times.get((nest_id, signature))
        if times is None:
            if len(_native_times) > 4096:
                _native_times.clear()
            times = _native_times[(nest_id, signature)] = {}
        entries = times.setdefault(variant, [])
        entries.append((now, seconds))
        del entries[:-SETTLE_RUNS]
    if variant != "cpu":
        return
    if seconds <= _parallel_slow_above(nest_id, signature, times, now):
        return
    if len(_parallel_slow) > 4096:
        _parallel_slow.clear()
    _parallel_slow[(nest_id, signature)] = now + PARALLEL_SLOW_S
    _decisions.pop((nest_id, None, signature), None)  # decided again at the next run


def _parallel_slow_above(nest_id, signature, times, now):
    """The time above which a parallel run of these values counts as slow:
    half again the serial time as measured on them (else the model's), plus
    50 us; infinite where neither is known."""
    measured = _recent(times.get("cpu-serial"), now) if times else None
    serial = _typical(measured) if measured else _serial_predicted.get((nest_id, signature))
    return math.inf if serial is None else 1.5 * serial + 50e-6


def _settled_choice(nest_id, env, signature, choice, f, prices):
    """The model chose ``choice`` ("cpu" or "cpu-serial"): what runs, as
    ``(variant, trial)``. With both variants measured lately on these
    values, the faster of them; with only the chosen one measured, and long
    enough, the other once as a trial (its code compiled: otherwise it is
    queued on the background thread and the choice runs meanwhile)."""
    times = _native_times.get((nest_id, signature))
    if not times:
        return choice, False
    now = time.monotonic()
    other = "cpu-serial" if choice == "cpu" else "cpu"
    mine, theirs = _recent(times.get(choice), now), _recent(times.get(other), now)
    if mine and theirs and _typical(theirs) < _typical(mine):
        return other, False
    # One run of the other that was slower but within TRIAL_MAX_RATIO may
    # have met a busy moment (a parallel region waiting for a core): it is
    # tried once more before the chosen variant is kept.
    if not mine or min(mine) < TRIAL_MIN_S or len(theirs) > 1:
        return choice, False
    if theirs and min(theirs) > TRIAL_MAX_RATIO * min(mine):
        return choice, False
    if other == "cpu" and f.get("cpu_runs_parallel") is False:
        return choice, False  # no loop would run in parallel, or its parallel runs were slow lately
    window = _trials.get((nest_id, signature, other))
    if window is not None and now - window[0] < SETTLE_MEMORY_S and window[1] >= TRIALS_PER_MEMORY:
        return choice, False
    try:
        priced = prices()
        run_s = {v: priced[v]["total"] - priced[v]["compile"] for v in (choice, other)}
        if run_s[other] > TRIAL_MAX_RATIO * run_s[choice]:
            return choice, False
        parallel = other == "cpu"
        if not _L.cpu_cached(int(nest_id), env, parallel):
            _L.cpu_compile_background(int(nest_id), env, parallel)
            _trial_queued[0] = parallel
            return choice, False
    except Exception:
        return choice, False
    if window is None or now - window[0] >= SETTLE_MEMORY_S:
        if len(_trials) > 4096:
            _trials.clear()
        window = _trials[(nest_id, signature, other)] = [now, 0]
    window[1] += 1
    return other, True


def _keep_serial_prediction(nest_id, signature, prices):
    """After a choice of the parallel variant: the model's serial time (no
    compile) for these values, for note_native_run."""
    try:
        serial = prices()["cpu-serial"]
        if len(_serial_predicted) > 4096:
            _serial_predicted.clear()
        _serial_predicted[(nest_id, signature)] = serial["total"] - serial["compile"]
    except Exception:
        pass


def note_stopped(nest_id, env):
    """A native run of ``nest_id`` on these values stopped and Python ran it."""
    try:
        signature = decision_signature(env)
    except Exception:
        return
    if len(_stopped) > 4096:
        _stopped.clear()
    _stopped.add((nest_id, signature))
    _decisions.pop((nest_id, None, signature), None)  # not kept for the next runs


def note_declined(nest_id, env):
    """The device chosen for ``nest_id`` declined these values as it ran:
    the kept decision is dropped (the next run decides again, and the CPU
    facts then say why)."""
    if _last_chosen[0] == nest_id and _last_chosen[1] == id(env):
        signature = _last_chosen[2]
    else:
        try:
            signature = decision_signature(env)
        except Exception:
            return
    _decisions.pop((nest_id, None, signature), None)


def set_reassociation(allowed):
    """``loopscope.set_reassociation``: whether floating-point sums and
    products may run in parallel (the plan's reductions, hence the prices and
    the kept decisions, change with it). Returns the previous setting."""
    previous = bool(_L.analysis_float_reassociation())
    _L.analysis_set_float_reassociation(bool(allowed))
    if previous != bool(allowed):
        forget_decisions()  # a reduction's loop may now run in parallel
    return previous


def choose(nest_id, env, gpu=None, facts=None):
    """The device the model picks for this nest: "python", "cpu-serial", "cpu" or "gpu".

    Compilation is amortised over the runs seen so far: a nest that has run
    k times is expected to run k times in all, and at least twice (so a loop
    run again and again moves to native code once its interpreter time has
    paid for compiling, and one whose run in Python costs more than half a
    compile is compiled at its first run, for the next).
    Without ``facts``, a decision already made for the same values is reused
    (see ``_decisions``): a native one until DECISION_TTL_S passes (its
    compile is paid: more runs only favour it), until its first optimised
    run (measured for the choice between one core and all of them), or
    until the code of a trial queued for it lands; a Python one also until
    the runs have grown by half."""
    runs = _runs.get(nest_id, 0) + 1 + _kept_hits(nest_id)
    _runs[nest_id] = runs
    key = None
    if not facts:
        # Keyed on the profile asked for (None: the default, read again
        # when the decision expires, so a changed $LOOPSCOPE_GPU counts
        # within DECISION_TTL_S), not on reading the environment each call.
        try:
            signature = decision_signature(env)
            key = (nest_id, gpu, signature)
            kept = _decisions.get(key)
        except Exception:
            key = kept = None
        _last_chosen[0], _last_chosen[1], _last_chosen[2], _last_chosen[3] = nest_id, id(env), signature, False
        _last_chosen[4] = None
        if kept is not None and runs < kept[1] and time.monotonic() < kept[2]:
            waiting = _waiting.get((nest_id, signature))
            if waiting is None or not waiting.over(nest_id, env):
                _last_chosen[4] = kept
                if waiting is None and gpu is None:
                    _mirror_kept(nest_id, env, signature, kept)
                return kept[0]
        if key is not None and (nest_id, signature) in _stopped:
            return "python"
    _trial_queued[0] = None
    choice, trial = _decide(nest_id, env, runs, gpu, facts)
    if key is not None:
        if choice != "python":
            _waiting.pop((nest_id, signature), None)
        if len(_decisions) > 4096:
            _decisions.clear()
        native = choice in ("cpu", "cpu-serial")
        if trial:
            until = runs + 1  # a trial is kept for one run: the next decides between the two measured
        elif native:
            until = math.inf  # its compile is paid: more runs only favour it
        elif choice == "python" and (nest_id, signature) in _waiting:
            until = math.inf  # Python while its code builds: ends when the code lands (_Waiting)
        else:
            until = runs + max(1, runs // 2)
        # [device, runs until decided again, time until decided again,
        #  whether its first optimised run is still to be measured]
        _decisions[key] = kept = [choice, until, time.monotonic() + DECISION_TTL_S, native]
        if native and _trial_queued[0] is not None:
            # the trial's code is building: the decision ends when it lands
            _waiting[(nest_id, signature)] = _Waiting(_trial_queued[0], math.inf)
        _last_chosen[3] = True  # this run is measured
        _last_chosen[4] = kept
    return choice


def _kept_hits(nest_id):
    """The executions of ``nest_id`` that the engine's mirror answered
    since the last decision (runs that did not pass through choose)."""
    hits = getattr(_L, "auto_hits", None)
    return hits(nest_id) if hits is not None else 0


def _mirror_kept(nest_id, env, signature, kept):
    """A kept decision that nothing but its time can end (a native one,
    decided for good, its first optimised run measured) is mirrored in the
    engine, which answers the next executions with the same signature
    without a Python signature (``_L.auto_kept``; the _auto_hook of _run).
    A parallel one carries the time above which its run is noted as slow
    (_parallel_slow_above, as note_native_run)."""
    keep = getattr(_L, "auto_keep", None)
    if keep is None or kept[0] not in ("cpu", "cpu-serial") or kept[1] != math.inf or len(kept) < 4 or kept[3]:
        return
    slow_above_s = math.inf
    if kept[0] == "cpu":
        times = _native_times.get((nest_id, signature))
        slow_above_s = _parallel_slow_above(nest_id, signature, times, time.monotonic())
    try:
        keep(int(nest_id), env, kept[0], float(kept[2]), slow_above_s)
    except Exception:
        pass  # decided in Python at each run, as before


def _decide(nest_id, env, runs, gpu, facts):
    """``(device, trial)``: the model's choice, or the faster CPU variant as
    measured (a trial: the other CPU variant, run once to measure it)."""
    # Expected to run again: a compile is weighed against two runs at least.
    f = {"expected_runs": max(2, runs)}
    if gpu_available():
        f.update(nvrtc_facts(nest_id, env, gpu))
    f.update(cpu_facts(nest_id, env))
    try:
        signature = decision_signature(env)
    except Exception:
        signature = None
    measured = _python_measured.get((nest_id, signature))
    if measured is not None:
        f["python_measured_s"] = measured
    if time.monotonic() < _parallel_slow.get((nest_id, signature), 0.0):
        f["cpu_runs_parallel"] = False  # its parallel runs were slower than one core lately
    if facts:
        f.update(facts)
    try:
        host_profile()
        choice = _L.cost_choose_nest(int(nest_id), env, gpu or default_gpu(), _facts(f, nest_id))
    except Exception:
        return "python", False
    priced = []

    def prices():
        """Every variant's price for these facts, counted once per decision."""
        if not priced:
            est = _L.cost_estimate_nest(int(nest_id), env, None, gpu or default_gpu(), _facts(f, nest_id), False)
            priced.append({v["variant"]: v for v in est["variants"]})
        return priced[0]

    if (
        not facts
        and signature is not None
        and choice in ("cpu", "cpu-serial")
        and _python_while_it_compiles(nest_id, env, f, choice, signature, prices)
    ):
        return "python", False
    trial = False
    if choice in ("cpu", "cpu-serial"):
        if not facts and signature is not None:
            choice, trial = _settled_choice(nest_id, env, signature, choice, f, prices)
        if choice == "cpu" and not facts and signature is not None:
            _keep_serial_prediction(nest_id, signature, prices)
    elif choice == "gpu":
        _compiled.add((nest_id, "gpu"))
    elif runs >= 2 and not f.get("cpu_compiled") and f.get("cpu_available", True) and signature is not None:
        _compile_ahead(nest_id, env, gpu, f, signature)
    return choice, trial


class _Waiting:
    """A nest running as Python while its native code compiles in the
    background: the variant asked for, what its compile was priced at, and
    the Python time spent on it since. The kept "python" decision ends (a
    new decision is made) as soon as the code is in the cache, or once the
    Python runs have cost as much as compiling would have (the background
    thread is low priority: a busy machine may starve it)."""

    __slots__ = ("parallel", "compile_s", "spent_s")

    def __init__(self, parallel, compile_s):
        self.parallel, self.compile_s, self.spent_s = parallel, compile_s, 0.0

    def over(self, nest_id, env):
        if self.spent_s >= self.compile_s:
            return True
        try:
            return bool(_L.cpu_cached(int(nest_id), env, self.parallel))
        except Exception:
            return True


# (nest id, decision signature) -> _Waiting
_waiting = {}


def _python_while_it_compiles(nest_id, env, f, choice, signature, prices):
    """Native code is the choice but not compiled yet: when this one run in
    Python costs less than compiling that code, the run goes to Python and
    the code is built on the background thread for the runs after it (a
    later decision finds it compiled), so no call waits for a compile that
    costs more than the interpreter. True when it did so."""
    serial = choice == "cpu-serial"
    wait_key = (nest_id, signature)
    waiting = _waiting.pop(wait_key, None)
    if waiting is not None and waiting.spent_s >= waiting.compile_s:
        return False  # waited as long as compiling costs: compile now
    if f.get("cpu_compiled") or (serial and f.get("cpu_serial_compiled")):
        return False
    if not hasattr(_L, "cpu_compile_background"):
        return False
    try:
        native = prices()[choice]
        compile_s = native["compile"] * max(1.0, float(f.get("expected_runs", 1)))  # not amortised
        # Python over this run and the next would cost more than the compile:
        # compile now (quick code where it pays, the optimised code after it).
        if 2 * prices()["python"]["total"] >= compile_s:
            return False
        _L.cpu_compile_background(int(nest_id), env, not serial)
    except Exception:
        return False
    if waiting is None:
        waiting = _Waiting(not serial, compile_s)
    if len(_waiting) > 4096:
        _waiting.clear()
    _waiting[wait_key] = waiting
    return True


def _compile_ahead(nest_id, env, gpu, f, signature):
    """A nest that runs again and again as Python because compiling it would
    cost more than the runs seen so far save: when its native code would be
    the faster once compiled, that code is built on the background thread
    (the one that builds optimised code after quick code), so that a later
    decision finds it compiled (``cpu_facts``) and runs it: the kept
    decision ends when the code lands (``_Waiting``). Nothing waits for it;
    the Python runs meanwhile are the ones the model chose."""
    try:
        free = _facts(dict(f, cpu_compiled=True), nest_id)
        choice = _L.cost_choose_nest(int(nest_id), env, gpu or default_gpu(), free)
        if choice in ("cpu", "cpu-serial") and hasattr(_L, "cpu_compile_background"):
            _L.cpu_compile_background(int(nest_id), env, choice == "cpu")
            if len(_waiting) > 4096:
                _waiting.clear()
            _waiting[(nest_id, signature)] = _Waiting(choice == "cpu", math.inf)
    except Exception:
        pass  # only a later speed-up is lost
