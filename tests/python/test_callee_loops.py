"""The loop nests of the functions a function calls outside its own nests.

``loopscope.run(harris, img)`` where ``harris`` is a pipeline of calls
(``gx = sobel_x(img); ...``) runs the nests of the functions it calls on the
device given, as it runs its own (``loopscope._callees``): a call of a plain
function of the same module goes to its rewritten version, checked at every
call; anything else (a builtin, a NumPy function, a method, a closure, a
generator function, a function of another module, a name rebound since) is
called as it is. Every case runs in CPython and through ``loopscope.run`` on
each device and must give the same values, arrays, exceptions (with their
tracebacks) and partial writes; the run records say which nests ran natively
and in which function.
"""

import ast
import contextlib
import io
import linecache
import sys
import textwrap
import traceback
import warnings

import numpy as np
import pytest

import loopscope
import nestgen
from differential import DEVICES, check, use_temporary_cache  # noqa: F401
from loopscope import _callees, _rewrite, _run

HARRIS = """
def sobel_x(img):
    h, w = img.shape
    out = np.zeros((h, w))
    for i in range(1, h - 1):
        for j in range(1, w - 1):
            out[i, j] = (img[i - 1, j + 1] + 2.0 * img[i, j + 1] + img[i + 1, j + 1]) - (
                img[i - 1, j - 1] + 2.0 * img[i, j - 1] + img[i + 1, j - 1]
            )
    return out


def sobel_y(img):
    h, w = img.shape
    out = np.zeros((h, w))
    for i in range(1, h - 1):
        for j in range(1, w - 1):
            out[i, j] = (img[i + 1, j - 1] + 2.0 * img[i + 1, j] + img[i + 1, j + 1]) - (
                img[i - 1, j - 1] + 2.0 * img[i - 1, j] + img[i - 1, j + 1]
            )
    return out


def products(gx, gy):
    h, w = gx.shape
    ixx = np.empty((h, w))
    iyy = np.empty((h, w))
    ixy = np.empty((h, w))
    for i in range(h):
        for j in range(w):
            ixx[i, j] = gx[i, j] * gx[i, j]
            iyy[i, j] = gy[i, j] * gy[i, j]
            ixy[i, j] = gx[i, j] * gy[i, j]
    return ixx, iyy, ixy


def box3(a):
    h, w = a.shape
    out = np.zeros((h, w))
    for i in range(1, h - 1):
        for j in range(1, w - 1):
            s = 0.0
            for di in range(-1, 2):
                for dj in range(-1, 2):
                    s += a[i + di, j + dj]
            out[i, j] = s
    return out


def response(sxx, syy, sxy, k):
    h, w = sxx.shape
    r = np.empty((h, w))
    for i in range(h):
        for j in range(w):
            det = sxx[i, j] * syy[i, j] - sxy[i, j] * sxy[i, j]
            tr = sxx[i, j] + syy[i, j]
            r[i, j] = det - k * tr * tr
    return r


def gradients(img):
    return sobel_x(img), sobel_y(img)


def harris(img, k=0.04):
    gx, gy = gradients(img)
    ixx, iyy, ixy = products(gx, gy)
    sxx = box3(ixx)
    syy = box3(iyy)
    sxy = box3(ixy)
    return response(sxx, syy, sxy, k)
"""

PIPELINE = ("sobel_x", "sobel_y", "products", "box3", "response")


def _image(h=24, w=31, seed=0):
    return np.random.default_rng(seed).random((h, w))


def _module(source, name, namespace=None):
    return nestgen.make_function(source, name, namespace=namespace)


def _define(fn, source):
    """Runs ``source`` in ``fn``'s module (redefining its functions), with
    its text known to linecache."""
    _define.counter += 1
    filename = f"<callee-redefined-{_define.counter}>"
    source = textwrap.dedent(source)
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), fn.__globals__)


_define.counter = 0


def _functions(records):
    return {r.get("function") for r in records}


# --- the pipeline -------------------------------------------------------------------------


def test_harris_pipeline_runs_every_callee_nest_natively():
    harris = _module(HARRIS, "harris")
    records = check(harris, lambda: (_image(),))
    for device in ("cpu", "cpu-serial", "gpu-emulated"):
        assert _functions(records[device]) == set(PIPELINE), records[device]
        assert all(r["status"] == "ok" for r in records[device]), records[device]
    # The records name the callee and its line in its file.
    (rec,) = [r for r in records["cpu"] if r["function"] == "box3"]
    lines = linecache.getlines(rec["filename"])
    assert lines[rec["line"] - 1].strip() == "for i in range(1, h - 1):"
    assert "box3" in "".join(lines[rec["line"] - 6 : rec["line"]])


def test_harris_through_jit_and_keyword_arguments():
    harris = _module(HARRIS, "harris")
    img = _image(17, 19, 3)
    want = harris(img.copy(), k=0.05)
    for device in ("cpu", "gpu-emulated", "python"):
        _run.reset_last_runs()
        got = loopscope.jit(harris, device=device)(img.copy(), k=0.05)
        assert got.tobytes() == want.tobytes()
        statuses = {r["function"]: r["status"] for r in _run.last_runs().values()}
        assert set(statuses) == set(PIPELINE)
        assert set(statuses.values()) == ({"python"} if device == "python" else {"ok"}), statuses


def test_functions_defined_after_the_caller_was_rewritten():
    # Names are resolved when the call runs, as Python does.
    source = """
    def pipeline(a):
        return later(a) + 1.0
    """
    pipeline = _module(source, "pipeline")
    compiled = _run.compiled(pipeline, "cpu")
    _define(
        pipeline,
        """
        def later(a):
            out = np.empty_like(a)
            for i in range(a.shape[0]):
                out[i] = a[i] * 3.0
            return out
        """,
    )
    _run.reset_last_runs()
    got = compiled(np.arange(5.0))
    assert got.tolist() == [1.0, 4.0, 7.0, 10.0, 13.0]
    assert [(r["function"], r["status"]) for r in _run.last_runs().values()] == [("later", "ok")]


def test_callee_of_a_loop_that_runs_as_python():
    source = """
    def smooth(a):
        out = np.zeros_like(a)
        for i in range(1, a.shape[0] - 1):
            out[i] = (a[i - 1] + a[i] + a[i + 1]) / 3.0
        return out

    def batch(rows):
        results = []
        for r in rows:                   # a list: this loop runs as Python
            results.append(smooth(r))
        total = 0.0
        for k in range(len(results)):    # declined (a list of arrays)
            total += float(smooth(results[k]).sum())
        return results, total
    """
    batch = _module(source, "batch")
    records = check(batch, lambda: ([_image(1, 20, s)[0] for s in range(3)],))
    for device in ("cpu", "cpu-serial", "gpu-emulated"):
        assert _functions(records[device]) == {"smooth"}
        assert all(r["status"] == "ok" for r in records[device])


# --- identity, defaults, keywords ---------------------------------------------------------


def test_callee_redefined_between_calls_runs_the_new_definition():
    source = """
    def step(a):
        for i in range(a.shape[0]):
            a[i] = a[i] + 1.0
        return a

    def outer(a):
        step(a)
        return step(a).sum()
    """
    outer = _module(source, "outer")
    for device in ("cpu", "gpu-emulated"):
        a = np.arange(6.0)
        assert loopscope.run(outer, a, device=device) == np.arange(6.0).sum() + 12.0
    _define(
        outer,
        """
        def step(a):
            for i in range(a.shape[0]):
                a[i] = a[i] * 2.0
            return a
        """,
    )
    records = check(outer, lambda: (np.arange(6.0),))
    assert _functions(records["cpu"]) == {"step"}
    # A name rebound to something that is not a function of the module: called as it is.
    outer.__globals__["step"] = lambda a: a.__imul__(3.0)
    records = check(outer, lambda: (np.arange(6.0),), native=False)
    assert records["cpu"] == []


def test_callee_code_and_defaults_changed_in_place():
    source = """
    def scale(a, f=2.0):
        for i in range(a.shape[0]):
            a[i] = a[i] * f
        return a

    def twice(a):
        return scale(scale(a)).copy()

    def other(a, f=5.0):
        for i in range(a.shape[0]):
            a[i] = a[i] + f
        return a
    """
    twice = _module(source, "twice")
    scale = twice.__globals__["scale"]
    check(twice, lambda: (np.arange(4.0),))
    scale.__defaults__ = (3.0,)
    records = check(twice, lambda: (np.arange(4.0),))
    assert _functions(records["cpu"]) == {"scale"}
    scale.__code__ = twice.__globals__["other"].__code__
    records = check(twice, lambda: (np.arange(4.0),))
    (rec,) = records["cpu"]
    assert "a[i] + f" in linecache.getlines(rec["filename"])[rec["line"]]  # other's loop now


def test_callee_with_defaults_keywords_and_star_arguments():
    source = """
    def blur(a, out=None, *, weight=0.5, passes=1):
        if out is None:
            out = np.zeros_like(a)
        for p in range(passes):
            for i in range(1, a.shape[0] - 1):
                out[i] = weight * a[i] + (1.0 - weight) * 0.5 * (a[i - 1] + a[i + 1])
        return out

    def mix(*arrays, scale=1.0, **options):
        total = np.zeros_like(arrays[0])
        for a in arrays:
            for i in range(a.shape[0]):
                total[i] += a[i] * scale
        return total

    def caller(a):
        b = blur(a)
        c = blur(a, weight=0.25)
        d = blur(a, np.ones_like(a), passes=2, weight=0.75)
        args = (a, b)
        e = mix(*args, c, scale=2.0, unused=1)
        f = blur(**{"a": a, "passes": 0})
        return b, c, d, e, f
    """
    caller = _module(source, "caller")
    records = check(caller, lambda: (_image(1, 16, 7)[0],), native=False)
    for device in ("cpu", "cpu-serial", "gpu-emulated"):
        ran = {(r["function"], r["line"]) for r in records[device] if r["status"] == "ok"}
        assert {f for f, _ in ran} == {"blur", "mix"}, records[device]
        # The loop over the tuple of arrays runs as Python, its inner loop natively.
        declined = [r for r in records[device] if r["status"] != "ok"]
        assert declined and all(r["function"] == "mix" for r in declined), declined


def test_builtin_and_numpy_callees_are_untouched():
    source = """
    helper = np.cumsum
    total = sum

    def square(a):
        for i in range(a.shape[0]):
            a[i] = a[i] * a[i]
        return a

    def outer(a):
        b = helper(a)
        c = np.sqrt(square(a))
        return total(sorted(b.tolist())), len(c), abs(-3), c
    """
    outer = _module(source, "outer")
    records = check(outer, lambda: (np.arange(1.0, 8.0),))
    assert _functions(records["cpu"]) == {"square"}
    table = _callees.Table(None, outer.__globals__)
    for f in (np.cumsum, sum, len, print, np.ndarray, str.upper, outer.__globals__["helper"]):
        assert table.get(f) is f
    assert table._cache == {}


def test_recursive_callee():
    source = """
    def halve(a, levels):
        if levels == 0:
            return a
        out = np.empty(a.shape[0] // 2)
        for i in range(out.shape[0]):
            out[i] = 0.5 * (a[2 * i] + a[2 * i + 1])
        return halve(out, levels - 1)

    def pyramid(a):
        return halve(a, 3), halve(a, 1)
    """
    pyramid = _module(source, "pyramid")
    records = check(pyramid, lambda: (np.arange(64.0),))
    assert _functions(records["cpu"]) == {"halve"}


def test_recursion_limit_is_met_where_python_meets_it():
    source = """
    def deep(a, n):
        if n == 0:
            return 0
        for i in range(a.shape[0]):
            a[i] += 1.0
        return 1 + deep(a, n - 1)

    def start(a):
        return deep(a, 10 ** 6)
    """
    start = _module(source, "start")

    def via(call, a):  # one frame, as loopscope.run adds one
        return call(a)

    def outcome(device):
        a = np.zeros(3)
        try:
            if device is None:
                via(start, a)
            else:
                loopscope.run(start, a, device=device)
        except RecursionError as exc:
            return type(exc).__name__, a.tolist()
        return None

    limit = sys.getrecursionlimit()
    try:
        sys.setrecursionlimit(600)
        want = outcome(None)
        assert want is not None
        for device in DEVICES:
            assert outcome(device) == want, device
    finally:
        sys.setrecursionlimit(limit)


# --- exceptions ------------------------------------------------------------------------------


EXCEPTIONS = """
def fill_then_fail(a, v):
    for i in range(a.shape[0]):
        a[i] = a[i] * 2.0 + v
    raise ValueError(f"bad value {a[0]}")


def index_past_the_end(a, n):
    for i in range(n):
        a[i] = a[i] + 1.0
    return a


def caller(a):
    b = a + 1.0
    fill_then_fail(a, 3.0)
    return b


def caller_index(a):
    b = index_past_the_end(a, a.shape[0] - 1)
    return index_past_the_end(b, a.shape[0] + 2)
"""


def _traceback(fn, args, device):
    try:
        if device is None:
            fn(*args)
        else:
            loopscope.run(fn, *args, device=device)
    except Exception as exc:  # noqa: BLE001 - compared with Python's
        frames = traceback.extract_tb(exc.__traceback__)
        # From the function given on: run adds its own frame.
        start = next(k for k, f in enumerate(frames) if f.name == fn.__name__)
        return type(exc).__name__, str(exc), [(f.filename, f.lineno, f.name, f.line) for f in frames[start:]]
    return None


@pytest.mark.parametrize("name", ["caller", "caller_index"])
def test_callee_raising_gives_pythons_exception_traceback_and_writes(name):
    fn = _module(EXCEPTIONS, name)
    records = check(fn, lambda: (np.arange(5.0),))
    assert all(r["status"] in ("ok", "fallback") for r in records["cpu"])
    want = _traceback(fn, (np.arange(5.0),), None)
    assert want is not None and len(want[2]) == 2
    for device in DEVICES:
        assert _traceback(fn, (np.arange(5.0),), device) == want, device


# --- what runs as it is ----------------------------------------------------------------------


def test_methods_closures_generators_and_other_modules_run_as_python():
    other = _module(
        """
        def elsewhere(a):
            for i in range(a.shape[0]):
                a[i] = a[i] - 1.0
            return a
        """,
        "elsewhere",
    )
    source = """
    import functools

    class Scaler:
        def __init__(self, f):
            self.f = f

        def apply(self, a):
            for i in range(a.shape[0]):
                a[i] = a[i] * self.f
            return a

        def __call__(self, a):
            return self.apply(a)

    def make_adder(v):
        def add(a):
            for i in range(a.shape[0]):
                a[i] = a[i] + v
            return a
        return add

    def rows(a):
        for i in range(a.shape[0]):
            yield a[i] * 2.0

    def plain(a, f):
        for i in range(a.shape[0]):
            a[i] = a[i] * f
        return a

    add3 = make_adder(3.0)
    scaler = Scaler(2.0)
    apply = scaler.apply
    half = functools.partial(plain, f=0.5)

    def outer(a):
        scaler.apply(a)
        scaler(a)
        apply(a)
        add3(a)
        s = sum(rows(a))
        half(a)
        elsewhere(a)
        return s
    """
    outer = _module(source, "outer", namespace={"elsewhere": other})
    records = check(outer, lambda: (np.arange(6.0),), native=False)
    for device, recs in records.items():
        assert recs == [], (device, recs)


def test_callee_without_source_runs_as_it_is():
    source = """
    def outer(a):
        return nosource(a) + 1.0
    """
    outer = _module(source, "outer")
    ns = {"np": np}
    exec(
        compile(
            "def nosource(a):\n    for i in range(a.shape[0]):\n        a[i] += 1.0\n    return a\n", "<gone>", "exec"
        ),
        ns,
    )
    outer.__globals__["nosource"] = ns["nosource"]  # another module: as it is
    check(outer, lambda: (np.arange(3.0),), native=False)
    exec(
        compile(
            "def nosource(a):\n    for i in range(a.shape[0]):\n        a[i] += 1.0\n    return a\n", "<gone>", "exec"
        ),
        outer.__globals__,
    )
    table = _callees.Table(lambda nid, env: None, outer.__globals__)
    g = outer.__globals__["nosource"]
    assert table.get(g) is g and "source" in table.why_not["nosource"]
    check(outer, lambda: (np.arange(3.0),), native=False)


def test_local_names_and_attributes_are_not_trampolined():
    source = """
    def work(a):
        for i in range(a.shape[0]):
            a[i] = a[i] + 1.0
        return a

    def outer(a, f):
        g = work
        f(a)
        g(a)
        work(a)
        return [work(x) for x in (a.copy(),)][0]
    """
    outer = _module(source, "outer")
    tree, _ = _rewrite.rewrite_function(outer, callees=True)
    text = ast.unparse(tree)
    assert text.count(_callees.PLACEHOLDER) == 2, text  # work(a) and work(x)
    work = outer.__globals__["work"]
    records = check(outer, lambda: (np.arange(3.0), work))
    assert _functions(records["cpu"]) == {"work"}


# --- explain, estimate ---------------------------------------------------------------------


def test_explain_and_estimate_include_the_callees_nests():
    harris = _module(HARRIS, "harris")
    img = _image(12, 13)
    before = img.copy()
    rep = loopscope.explain(harris, img)
    assert img.tobytes() == before.tobytes()
    functions = [n["function"] for n in rep["nests"]]
    assert set(functions) == set(PIPELINE) and len(functions) == len(PIPELINE)
    assert all(n["analysed"] for n in rep["nests"]), rep["nests"]
    assert {l["function"] for l in rep["loops"]} == set(PIPELINE)
    box = next(n for n in rep["nests"] if n["function"] == "box3")
    assert box["line"] == 4 and box["source"].startswith("for i in range(1, h - 1):")
    est = loopscope.estimate(harris, img, sweep=False)
    assert {e["function"] for e in est["nests"]} == set(PIPELINE)


# --- the kernel ----------------------------------------------------------------------------


def test_cells_calling_cell_functions_run_their_nests(shell):
    harris_cell = "import numpy as np\n" + HARRIS
    run_cell = """
    img = np.random.default_rng(0).random((20, 22))
    r = harris(img)
    r2 = loopscope.run(harris, img, device="cpu")
    """
    plain = {}
    exec(textwrap.dedent(harris_cell), plain)
    img = np.random.default_rng(0).random((20, 22))
    want = plain["harris"](img)
    with contextlib.redirect_stdout(io.StringIO()):
        shell.run_line_magic("loopscope", "cpu quiet")
    shell.user_ns.clear()
    shell.init_user_ns()
    shell.user_ns["loopscope"] = loopscope
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _run.reset_last_runs()
        assert shell.run_cell(harris_cell, silent=True).success
        assert shell.run_cell(textwrap.dedent(run_cell).splitlines()[1], silent=True).success
        assert shell.run_cell("r = harris(img)", silent=True).success
        cell_runs = _run.last_runs()
        assert shell.run_cell('r2 = loopscope.run(harris, img, device="cpu")', silent=True).success
    assert shell.user_ns["r"].tobytes() == want.tobytes()
    assert shell.user_ns["r2"].tobytes() == want.tobytes()
    # The cell's own rewriting: the five nests ran natively on the CPU.
    assert len(cell_runs) == len(PIPELINE) and all(r["status"] == "ok" for r in cell_runs.values()), cell_runs
    # loopscope.run on a function of the cell reaches the functions it calls.
    after = {r.get("function") for r in _run.last_runs().values() if r["status"] == "ok"}
    assert set(PIPELINE) <= after


RECURSIVE_JIT = """
import loopscope

@loopscope.jit(device=DEVICE)
def deep(a, n):
    if n == 0:
        return 0
    for i in range(a.shape[0]):
        a[i] += 1.0
    return 1 + deep(a, n - 1)
"""


@pytest.mark.parametrize("device", DEVICES)
def test_jit_recursion_meets_the_limit_without_crashing(device):
    # The engine is not called near the limit (pybind11 would recurse
    # formatting the RecursionError, and crash the process).
    deep = _module(RECURSIVE_JIT.replace("DEVICE", repr(device)), "deep")
    limit = sys.getrecursionlimit()
    try:
        for extra in (0, 1, 2, 3):
            sys.setrecursionlimit(500 + extra)
            a = np.zeros(2)
            with pytest.raises(RecursionError):
                deep(a, 10**6)
            assert a[0] == a[1] > 100
    finally:
        sys.setrecursionlimit(limit)


def test_a_cell_recursing_to_the_limit_keeps_the_kernel_alive(shell):
    cell = """
    import sys
    import numpy as np

    def deep(a, n):
        if n == 0:
            return 0
        for i in range(a.shape[0]):
            a[i] += 1.0
        return 1 + deep(a, n - 1)

    a = np.zeros(3)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(LIMIT)
    try:
        deep(a, 10 ** 6)
    except RecursionError:
        caught = True
    finally:
        sys.setrecursionlimit(limit)
    """
    for mode in ("auto", "cpu", "gpu"):
        with contextlib.redirect_stdout(io.StringIO()):
            shell.run_line_magic("loopscope", f"{mode} quiet")
        for extra in (0, 1, 2, 3):
            shell.user_ns.pop("caught", None)
            limit = len(traceback.extract_stack()) + 400 + extra
            with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r = shell.run_cell(textwrap.dedent(cell).replace("LIMIT", str(limit)), silent=True)
            assert r.success and shell.user_ns["caught"], (mode, extra, r)
            a = shell.user_ns["a"]
            assert a[0] == a[1] == a[2] > 100


def test_calls_of_functions_with_nothing_to_intercept_keep_no_trampoline():
    source = """
    def clamp(x):
        return 0.0 if x < 0.0 else x

    def via(a):
        return twice(a)

    def twice(a):
        for i in range(a.shape[0]):
            a[i] = a[i] * 2.0
        return a

    def outer(a):
        total = 0.0
        for x in a.tolist():      # a list: runs as Python
            total += clamp(x)
        return via(a), total, clamp(-1.0)
    """
    outer = _module(source, "outer")
    table = _callees.Table(lambda nid, env: None, outer.__globals__)
    tree, _ = _rewrite.rewrite_function(outer, callees=table)
    text = ast.unparse(tree)
    assert text.count(_callees.PLACEHOLDER) == 1 and "get(via)" in text, text  # via, not clamp
    records = check(outer, lambda: (np.arange(-3.0, 4.0),))
    assert _functions(records["cpu"]) == {"twice"}
    # clamp rebound to a function with a loop after outer was rewritten: called as it is, exactly.
    _define(
        outer,
        """
        def clamp(x):
            t = 0.0
            for k in range(3):
                t += x
            return t
        """,
    )
    want = outer(np.arange(-3.0, 4.0))
    for device in ("cpu", "gpu-emulated"):
        got = loopscope.run(outer, np.arange(-3.0, 4.0), device=device)
        assert got[1] == want[1] and got[2] == want[2] and got[0].tobytes() == want[0].tobytes()
