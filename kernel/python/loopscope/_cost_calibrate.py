"""Measures what the CPython interpreter costs per loop iteration and per
operation, for the cost model's Python variant.

Each figure is the best of a few timings of a small loop, minus the loop it
is built on, so the whole calibration takes a few tenths of a second. The
results are nanoseconds, merged into the host profile (see
``loopscope._cost.host_profile``) under the ``py_*`` keys documented in
docs/costmodel.md.
"""

import math
import time

import numpy as np

_N = 20000
_REPEAT = 5

# Every snippet runs inside a function (fast locals, as in user functions and
# in the engine's rewritten nests). `{body}` is the statement measured.
_TEMPLATE = """
def _bench(n, A, A2, x, y, a, k, u):
    t = 0.0
    for i in range(n):
        {body}
    return t
"""

_SNIPPETS = {
    "loop": "pass",
    "assign": "t = x",
    "load": "t = A[i]",
    "load2": "t = A2[i, k]",
    "store": "A[i] = x",
    "binop": "t = a * x",  # Python float times a NumPy scalar, the common case
    "binop2": "t = x * y + x",  # two ops on NumPy scalars
    "intop": "t = i + k",
    "call": "t = math.sqrt(x)",
    "compare": "t = x < y",
    "pyfloat": "t = a * a",  # Python floats only
    "mixed": "t = u * a",  # a float32 scalar times a Python float: NumPy's slow path
    "npcall": "t = np.sqrt(x)",  # a NumPy function on one number
}


def _compile(body):
    ns = {"math": math, "np": np}
    exec(_TEMPLATE.format(body=body), ns)
    return ns["_bench"]


def _time(fn, args):
    best = float("inf")
    for _ in range(_REPEAT):
        t0 = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - t0)
    return best / _N * 1e9


def _nest_overhead():
    """Fixed cost of running a nest: a call and a zero-trip loop."""
    f = _compile("pass")
    args = (0, None, None, 0.0, 0.0, 0.0, 0, None)
    reps = 2000
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(reps):
            f(*args)
        best = min(best, time.perf_counter() - t0)
    return best / reps * 1e9


# Nests used to time the engine itself (module level, so that the rewriter can
# read their source). With each: (inputs, subscript dimensions, loops).
def _engine_call_nest(A):
    for i in range(2):
        A[i] = A[i] + 1.0


def _engine_inputs_nest(A, B, C, D, E, F):
    for i in range(2):
        A[i] = B[i] + C[i] + D[i] + E[i] + F[i]


def _engine_refs_nest(A):
    for i in range(2):
        A[i] = A[i] + A[i + 1] + A[i + 2] + A[i] + A[i + 1] + A[i + 2] + A[i] + A[i + 1] + A[i + 2]


def _engine_deep_nest(B):
    for i in range(2):
        for j in range(2):
            for k in range(2):
                B[i, j, k] = B[i, j, k] + 1.0


def _engine_deep_refs_nest(B):
    for i in range(1, 2):
        for j in range(1, 2):
            for k in range(1, 2):
                B[i, j, k] = (
                    B[i - 1, j, k] + B[i + 1, j, k] + B[i, j - 1, k] + B[i, j + 1, k] + B[i, j, k - 1] + B[i, j, k + 1]
                )


# Elements of _engine_region_nest's parallel loop: a region of about 3 x
# 24,000 operations, over twice the work from which a region forks
# (analysis::kMinParallelRegionWork), 190 KB, in L2 on each core.
REGION_ELEMENTS = 24000


def _engine_region_nest(A, T):
    for t in range(T):
        for i in range(A.shape[0]):
            A[i] = A[i] + 1.0


def _report_nest(A, B, C):
    n = A.shape[0]
    for i in range(n):
        for j in range(n):
            s = 0.0
            for k in range(n):
                s += A[i, k] * B[k, j]
            C[i, j] = s


def calibrate_report(first_report, cuda_source, render_html, cpu_serial, last_runs, layouts):
    """What the kernel's report of a nest costs on its first run, in
    microseconds: ``report_us``, the analysis and pricing before the run (a
    short report: no NVRTC, no size sweeps); ``first_setup_us``, what the
    run then pays before its loop (binding the values, the run-time checks,
    the specialisation; compiling aside); and ``report_draw_us``, drawing the
    folded report after it (the CUDA generated, the dependence graph laid
    out, the tables). Measured on a three-deep reference nest, the
    smaller of two fresh registrations (each one pays what a new nest
    pays; the first also pays one-time imports). The nest is large enough to
    be compiled, so its report has every section, and it is not run.
    Returns {} when the report cannot be made here.

    The kernel's report code is passed in (``_cell`` registers this with
    ``_cost.register_calibration``), so that this module imports nothing
    above the cost model: ``first_report(nest_id, env, record, explain_only)``,
    ``cuda_source(nest_id, env)``, ``render_html(report, level)``,
    ``cpu_serial(nest_id, env)`` (the device), ``last_runs()`` and the
    graph ``layouts`` cache (emptied while measuring, then restored)."""
    from . import _rewrite

    A = np.ones((48, 48))
    before, setup, draw = [], [], []
    kept = dict(layouts)
    try:
        for _ in range(2):
            seen = {}

            def hook(nest_id, env):
                seen[nest_id] = env
                return {}  # "done": the loop is not run

            fn, _nests = _rewrite.compile_function(_report_nest, hook)
            fn(A, A, np.zeros((48, 48)))
            ((nest_id, env),) = seen.items()
            env, _reason = _rewrite.bind_env(nest_id, env)
            if env is None:
                return {}
            layouts.clear()  # the graph is laid out as for a new nest
            t0 = time.perf_counter()
            report = first_report(nest_id, env, _rewrite.NESTS[nest_id], False)
            t1 = time.perf_counter()
            if cpu_serial(nest_id, env) is not None:
                t = (last_runs().get(nest_id) or {}).get("timing") or {}
                setup.append(t.get("bind_us", 0.0) + t.get("analysis_us", 0.0) + t.get("specialise_ms", 0.0) * 1e3)
            t2 = time.perf_counter()
            report.cuda = cuda_source(nest_id, env)
            render_html(report, "summary")
            t3 = time.perf_counter()
            before.append((t1 - t0) * 1e6)
            draw.append((t3 - t2) * 1e6)
    except Exception:
        return {}
    finally:
        layouts.clear()
        layouts.update(kept)
    out = {"report_us": min(before), "report_draw_us": min(draw), "report_calibrated": True}
    if setup:
        out["first_setup_us"] = min(setup)
    return out


def calibrate_engine(run, last_runs):
    """Figures of the compiled CPU variant as called from Python, measured
    through ``loopscope.run``. The fixed cost of one native nest call is
    modelled as ``native_call_us + inputs * native_input_us + subscript
    dimensions * native_ref_us + loops * native_loop_us`` (binding values,
    range proofs, the plan and variant caches, the call) and fitted by least
    squares to five small nests of different shapes. ``fork_join_us``, the
    cost of one parallel region (waking the worker threads and waiting for
    them), is what a region of "cpu" takes beyond its share of "cpu-serial"'s
    (``(parallel - serial / threads) / regions``) on a sequential loop of 200
    steps around a parallel loop of REGION_ELEMENTS elements, enough work for
    the region to fork (analysis::parallel_region_pays: a shorter one runs on
    the calling thread, and then measured nothing; 0.05 us against the 1.7 to
    2.4 us a forking region costs on the 2-core host); ``fork_join_cold_us``
    the same for a single region after a 3 ms pause (sleeping workers).
    ``py_dispatch_us`` is what the engine's hook costs a nest that runs as
    Python (the same call on the "python" device less a plain call of the
    function: every variant pays it, the native fixed cost includes it).
    Returns {} when the CPU variant is not available. ``run`` and ``last_runs`` are
    ``loopscope._run``'s (which registers this with
    ``_cost.register_calibration``)."""
    try:
        import _loopscope

        if not hasattr(_loopscope, "cpu_run"):
            return {}
    except Exception:
        return {}
    T = 200

    def best(fn, *args, device, reps=30, pause=0.0):
        run(fn, *args, device=device)  # compile
        status = last_runs()
        if not status or any(v.get("status") != "ok" for v in status.values()):
            return None
        # The optimised code, and both cores: a compile on the background
        # thread holds one (parallel regions then wait for it, 5 to 10
        # times their cost).
        deadline = time.monotonic() + 5.0
        while _loopscope.cpu_compiling_in_background() and time.monotonic() < deadline:
            time.sleep(0.002)
        run(fn, *args, device=device)
        b = float("inf")
        for _ in range(reps):
            if pause:
                time.sleep(pause)
            t0 = time.perf_counter()
            run(fn, *args, device=device)
            b = min(b, time.perf_counter() - t0)
        return b

    A = np.zeros(4)
    B = np.zeros((3, 3, 3))
    R = np.zeros(REGION_ELEMENTS)
    cases = [
        (_engine_call_nest, (A,), (1, 2, 1)),
        (_engine_inputs_nest, tuple(np.zeros(4) for _ in range(6)), (6, 6, 1)),
        (_engine_refs_nest, (A,), (1, 10, 1)),
        (_engine_deep_nest, (B,), (1, 6, 3)),
        (_engine_deep_refs_nest, (B,), (1, 21, 3)),
    ]
    rows, times = [], []
    try:
        for fn, args, feats in cases:
            t = best(fn, *args, device="cpu-serial")
            if t is not None:
                rows.append((1.0,) + tuple(float(x) for x in feats))
                times.append(t * 1e6)
        serial = best(_engine_region_nest, R, T, device="cpu-serial")
        par = best(_engine_region_nest, R, T, device="cpu")
        # One region after a pause long enough for the workers to sleep.
        serial1 = best(_engine_region_nest, R, 1, device="cpu-serial", pause=0.003, reps=15)
        par1 = best(_engine_region_nest, R, 1, device="cpu", pause=0.003, reps=15)
        threads = max(1, _loopscope.cpu_threads())
        dispatch = _python_dispatch_us(run, A)
    except Exception:
        return {}
    out = {}
    if len(rows) == len(cases):
        X = np.array(rows)
        y = np.array(times)
        coef = np.linalg.lstsq(X, y, rcond=None)[0]
        # Costs cannot be negative: refit without a term that came out so.
        keep = [True] * 4
        for _ in range(3):
            if all(c >= 0 for c, k in zip(coef, keep) if k):
                break
            for j in range(1, 4):
                if keep[j] and coef[j] < 0:
                    keep[j] = False
            cols = [j for j in range(4) if keep[j]]
            sub = np.linalg.lstsq(X[:, cols], y, rcond=None)[0]
            coef = np.zeros(4)
            coef[cols] = sub
        out["native_call_us"] = max(0.1, float(coef[0]))
        out["native_input_us"] = max(0.0, float(coef[1]))
        out["native_ref_us"] = max(0.0, float(coef[2]))
        out["native_loop_us"] = max(0.0, float(coef[3]))
    if serial is not None and par is not None:
        out["fork_join_us"] = max(0.05, (par - serial / threads) / T * 1e6)
    if serial1 is not None and par1 is not None:
        out["fork_join_cold_us"] = max(out.get("fork_join_us", 0.05), (par1 - serial1 / threads) * 1e6)
    if out:
        out["py_dispatch_us"] = dispatch
        out["engine_calibrated"] = out["forks_calibrated"] = out["dispatch_calibrated"] = True
    return out


def _python_dispatch_us(run, A, reps=200):
    """The engine's hook around a nest run as Python: ``run(device="python")``
    less a plain call of the same function, best of ``reps`` each."""

    def best(call):
        call()
        b = float("inf")
        for _ in range(reps):
            t0 = time.perf_counter()
            call()
            b = min(b, time.perf_counter() - t0)
        return b

    hooked = best(lambda: run(_engine_call_nest, A, device="python"))
    plain = best(lambda: _engine_call_nest(A))
    return max(0.1, (hooked - plain) * 1e6)


def calibrate_interpreter():
    """Returns the interpreter figures (nanoseconds) as a dict of py_* keys."""
    t_start = time.perf_counter()
    A = np.random.default_rng(0).random(_N)
    A2 = np.random.default_rng(1).random((_N, 4))
    x = np.float64(1.25)
    y = np.float64(0.75)
    args = (_N, A, A2, x, y, 2.0, 3, np.float32(1.5))
    raw = {name: _time(_compile(body), args) for name, body in _SNIPPETS.items()}
    loop = raw["loop"]
    assign = max(0.5, raw["assign"] - loop)

    def net(name, ops=1):
        return max(0.5, (raw[name] - loop - assign) / ops)

    load = net("load")
    store = max(0.5, raw["store"] - loop)
    binop = (net("binop") + net("binop2", 2)) / 2
    out = {
        "py_iter_ns": loop,
        "py_assign_ns": assign,
        "py_load_ns": load,
        "py_index_dim_ns": max(0.5, net("load2") - load),
        "py_store_ns": store,
        "py_binop_ns": binop,
        "py_intop_ns": net("intop"),
        # A call includes its module attribute lookup (math.sqrt).
        "py_call_ns": net("call"),
        "py_compare_ns": net("compare"),
        "py_nest_ns": _nest_overhead(),
        # NumPy scalars against Python numbers (docs/costmodel.md, section 3).
        "py_float_binop_ns": net("pyfloat"),
        "py_mixed_ns": max(0.5, net("mixed") - binop),
        "py_np_call_ns": net("npcall"),
        "py_calibrated": True,
        "py_numpy_calibrated": True,
        "py_calibration_s": time.perf_counter() - t_start,
    }
    return out


def _draw_seconds(gen, source, count, env=None):
    """Best time of drawing ``count`` numbers of one site as the engine does
    before a native run (``_draws._drawers``, ``_draw_one_generator``), the
    generator's state put back after each timing."""
    from . import _draws

    best = math.inf
    for _ in range(_REPEAT):
        e = dict(env or {})
        t0 = time.perf_counter()
        drawers, undo = _draws._drawers(gen, [_draws.Site(gen, "random", source)], e, [[]])
        _draws._draw_one_generator(drawers, count)
        best = min(best, time.perf_counter() - t0)
        _draws.restore_states([undo])
    return best


def calibrate_draws():
    """The price of the random numbers the engine draws before a native run
    (loopscope/_draws.py), per number and per run, by generator: Python's
    random (uniforms drawn by NumPy from its state; gauss one pair at a time
    in Python), NumPy's legacy np.random, a NumPy Generator."""
    t_start = time.perf_counter()
    n = 20000
    out = {}
    kinds = {
        "py": ("py", "u", None),
        "py_gauss": ("py", "gauss", None),
        "np": ("np", "u", None),
        "gen": ("gen:rng", "u", lambda: {"$generator_rng": np.random.default_rng(0)}),
    }
    for key, (gen, source, env) in kinds.items():
        count = n // 10 if source == "gauss" else n
        one = _draw_seconds(gen, source, 1, env and env())
        many = _draw_seconds(gen, source, count + 1, env and env())
        out[f"draw_{key}_ns"] = max(0.1, (many - one) / count * 1e9)
        if key != "py_gauss":
            setup = "draw_setup_us" if key == "py" else f"draw_{key}_setup_us"
            out[setup] = max(0.1, one * 1e6)
    out["draws_calibrated"] = True
    out["draws_calibration_s"] = time.perf_counter() - t_start
    return out


def calibrate_lists():
    """The price per item of the read-only NumPy snapshot made of each list or
    tuple a nest reads, before every native run (loopscope/_lists.py)."""
    from . import _lists

    t_start = time.perf_counter()
    per_item = math.inf
    for n in (1000, 100_000):
        items = [float(i) for i in range(n)]
        best = math.inf
        for _ in range(_REPEAT):
            t0 = time.perf_counter()
            _lists.snapshot("w", items)
            best = min(best, time.perf_counter() - t0)
        if n == 1000:
            small = best
        else:
            per_item = (best - small) / (n - 1000)
    return {
        "list_item_ns": max(0.1, per_item * 1e9),
        "lists_calibrated": True,
        "lists_calibration_s": time.perf_counter() - t_start,
    }


if __name__ == "__main__":
    import json

    print(json.dumps(calibrate_interpreter(), indent=2))
