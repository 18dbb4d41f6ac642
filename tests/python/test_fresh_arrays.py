"""Arrays made afresh in each pass of a sequential loop (``w = np.zeros(n)``,
``Tn = np.copy(T)``, ``b = a.copy()``), made once before the nest and filled
again in each pass (_fresh): every function runs in CPython and through
loopscope.run on each device and must give the same values, types, arrays
(with their strides), exceptions and partial writes; the names left after
the loop hold what Python leaves (unbound after a loop that never runs).
Arrays that could be told apart between passes (kept, appended, passed,
returned) stay in Python with a sentence.
"""

import warnings

import numpy as np
import pytest

import differential
import loopscope
from differential import parallel_loops, use_temporary_cache  # noqa: F401
from nestgen import make_function

HIDDEN = ("__loopscope", "made_", "template_", "other_")


def check(fn, make_args, native=True):
    return differential.check(fn, make_args, native, hidden_words=HIDDEN)


def _fn(source, name):
    return make_function(source, name, namespace={"np": np, "numpy": np})


def _layout(a):
    return (a.dtype.str, a.shape, a.strides, a.flags.c_contiguous, a.flags.f_contiguous)


def _reasons(recs):
    return [r["reason"] for rs in recs.values() for r in rs]


def _decline(fn, args):
    """The sentence of the outer nest's decline."""
    nest = loopscope.explain(fn, *args)["nests"][0]
    return (nest.get("decline") or {}).get("reason", "")


POWER_ITERATION = _fn(
    """
def power_iteration(A, tol):
    n = A.shape[0]
    v = np.ones(n) / np.sqrt(n)
    lam = 0.0
    for it in range(200):
        w = np.zeros(n)
        for i in range(n):
            for j in range(n):
                w[i] += A[i, j] * v[j]
        norm = 0.0
        for i in range(n):
            norm += w[i] * w[i]
        norm = np.sqrt(norm)
        for i in range(n):
            v[i] = w[i] / norm
        if abs(norm - lam) < tol:
            break
        lam = norm
    return lam, v, w, it
""",
    "power_iteration",
)

HEAT = _fn(
    """
def heat_2d_explicit(T, alpha, steps):
    nx, ny = T.shape
    for s in range(steps):
        Tn = np.copy(T)
        for i in range(1, nx - 1):
            for j in range(1, ny - 1):
                T[i, j] = Tn[i, j] + alpha * (Tn[i + 1, j] + Tn[i - 1, j] + Tn[i, j + 1] + Tn[i, j - 1] - 4 * Tn[i, j])
    return T, Tn, Tn.strides
""",
    "heat_2d_explicit",
)


def test_power_iteration_runs_natively_with_its_inner_loops_parallel():
    recs = check(POWER_ITERATION, lambda: (np.random.default_rng(1).random((24, 24)), 1e-10))
    assert any("i" in p for p in parallel_loops(recs, "cpu"))


@pytest.mark.parametrize("order", ["C", "F"])
def test_heat_2d_copies_the_grid_each_step(order):
    recs = check(HEAT, lambda: (np.asarray(np.random.default_rng(2).random((12, 9)), order=order), 0.1, 7))
    assert any("i" in p for p in parallel_loops(recs, "cpu"))


def test_heat_2d_zero_steps_leaves_the_copy_unbound():
    check(HEAT, lambda: (np.random.default_rng(2).random((6, 5)), 0.1, 0))


# --- each constructor and dtype ----------------------------------------------------------

_CONSTRUCTORS = {
    "zeros": "np.zeros(n, dtype=DT)",
    "ones": "np.ones(n, DT)",
    "full": "np.full(n, 3, dtype=DT)",
    "full_positional": "numpy.full((n,), 1, DT)",
    "zeros_like": "np.zeros_like(x)",
    "ones_like": "np.ones_like(x)",
    "full_like": "np.full_like(x, 2)",
    "copy": "np.copy(y)",
    "method_copy": "y.copy()",
    "empty": "np.empty(n, dtype=DT)",
    "empty_like": "np.empty_like(y)",
}
_DTYPES = ["float64", "float32", "int64", "uint8", "bool", "complex128"]


def _constructor_function(kind):
    call = _CONSTRUCTORS[kind]
    keep_first = not kind.startswith("empty")  # np.empty's values are arbitrary
    return _fn(
        f"""
def made_{kind}(x, y, steps):
    n = x.shape[0]
    DT = x.dtype
    for s in range(steps):
        w = {call}
        for i in range({1 if keep_first else 0}, n):
            w[i] = x[i - 1]
        for i in range(n):
            x[i] = w[i]
    return w, w.dtype.str, w.strides
""",
        f"made_{kind}",
    )


@pytest.mark.parametrize("dtype", _DTYPES)
@pytest.mark.parametrize("kind", sorted(_CONSTRUCTORS))
def test_each_constructor_and_dtype(kind, dtype):
    fn = _constructor_function(kind)

    def args():
        r = np.random.default_rng(5)
        x = (r.random(11) * 5).astype(dtype)
        y = (r.random(11) * 7).astype(dtype)
        return x, y, 4

    # (complex numbers run on the CPU only: the GPU declines them with its sentence)
    check(fn, args, native=("cpu", "cpu-serial") if dtype.startswith("complex") else True)


ND = _fn(
    """
def nd(x, steps, order):
    n, m, k = x.shape
    for s in range(steps):
        a = np.zeros((n, m), order=order)
        b = np.ones((n, m, k), dtype=np.float32)
        c = np.copy(x)
        d = x.copy()
        for i in range(n):
            for j in range(m):
                a[i, j] = c[i, j, 0] + d[i, j, k - 1]
                for q in range(k):
                    b[i, j, q] += x[i, j, q]
                    x[i, j, q] = a[i, j] * 0.5 + c[i, j, q]
    return a, b, c, d, [v.strides for v in (a, b, c, d)]
""",
    "nd",
)


@pytest.mark.parametrize("order", ["C", "F"])
def test_two_and_three_dimensions_keep_numpy_layouts(order):
    check(ND, lambda: (np.asarray(np.random.default_rng(3).random((4, 5, 3)), order=order), 3, order))


SHAPES_FROM_VARIABLES = _fn(
    """
def shapes(x, shape, steps):
    total = 0.0
    for s in range(steps):
        w = np.full(shape, 0.25)
        v = np.zeros(len(x) - 1)
        for i in range(shape[0]):
            for j in range(shape[1]):
                w[i, j] += x[i] * s
                total += w[i, j]
        for i in range(len(x) - 1):
            v[i] = x[i + 1] - x[i]
            total += v[i]
    return total, w, v
""",
    "shapes",
)


def test_shapes_from_variables():
    check(SHAPES_FROM_VARIABLES, lambda: (np.arange(6.0), (6, 4), 5))


def test_zero_trip_loop_leaves_the_name_unbound():
    fn = _constructor_function("zeros")
    recs = check(fn, lambda: (np.arange(5.0), np.arange(5.0), 0))
    assert all(r["status"] == "ok" for r in recs["cpu"])


KEEPS_OLD = _fn(
    """
def keeps_old(x, steps):
    w = x
    for s in range(steps):
        w = np.zeros(x.shape[0])
        for i in range(x.shape[0]):
            w[i] = x[i] * 2
    return w is x, w
""",
    "keeps_old",
)


@pytest.mark.parametrize("steps", [0, 1, 3])
def test_the_name_keeps_its_old_value_when_the_statement_never_runs(steps):
    check(KEEPS_OLD, lambda: (np.arange(4.0), steps))


IN_A_BRANCH = _fn(
    """
def in_a_branch(x, steps):
    for s in range(steps):
        if s % 2 == 1:
            w = np.ones(x.shape[0])
            for i in range(x.shape[0]):
                x[i] += w[i] * s
    return x, w
""",
    "in_a_branch",
)


@pytest.mark.parametrize("steps", [1, 2, 5])
def test_made_in_one_branch(steps):
    check(IN_A_BRANCH, lambda: (np.arange(4.0), steps))


RAISES_INSIDE = _fn(
    """
def raises_inside(x, idx, steps):
    for s in range(steps):
        w = np.copy(x)
        for i in range(x.shape[0]):
            x[i] = w[i] + w[idx[s]]
    return x
""",
    "raises_inside",
)


def test_an_exception_inside_the_loop_leaves_python_partial_writes():
    check(RAISES_INSIDE, lambda: (np.arange(5.0), np.array([1, 2, 9, 0]), 4), native=False)


BAD_SIZE = _fn(
    """
def bad_size(x, m, steps):
    for s in range(steps):
        x[s] = 1.0
        if s == 2:
            bad = np.zeros(m)
            bad[0] = 1.0
    return x
""",
    "bad_size",
)


def test_a_size_that_raises_at_the_third_pass():
    recs = check(BAD_SIZE, lambda: (np.zeros(5), -1, 4), native=False)
    assert any("raises ValueError when it is made before the loop" in r for r in _reasons(recs))


def test_a_size_that_raises_in_a_loop_that_never_runs():
    check(BAD_SIZE, lambda: (np.zeros(5), -1, 0), native=False)
    check(BAD_SIZE, lambda: (np.zeros(5), -1, 2), native=False)


def test_a_size_that_is_fine_runs_natively():
    check(BAD_SIZE, lambda: (np.zeros(5), 3, 4))


# --- arrays that escape stay in Python -------------------------------------------------------

_ESCAPES = {
    "appended": ("kept = []", "kept.append(w)", "kept"),
    "in_a_dict": ("kept = {}", "kept[s] = w", "list(kept.values())"),
    "passed": ("kept = []", "record(kept, w)", "kept"),
}


@pytest.mark.parametrize("kind", sorted(_ESCAPES))
def test_arrays_that_escape_stay_python(kind):
    before, escape, result = _ESCAPES[kind]
    fn = _fn(
        f"""
def record(kept, a):
    kept.append(a)


def escapes(x, steps):
    {before}
    for s in range(steps):
        w = np.zeros(x.shape[0])
        for i in range(x.shape[0]):
            w[i] = x[i] * s
        {escape}
    return {result}
""",
        "escapes",
    )
    check(fn, lambda: (np.arange(3.0), 3), native=False)
    assert "w = np.zeros(x.shape[0]) makes a new array in each pass, and it is" in _decline(fn, (np.arange(3.0), 3))


KEPT = _fn(
    """
def kept_across(x, steps):
    kept = x
    total = 0.0
    for s in range(steps):
        total += kept[0]
        w = np.zeros(x.shape[0])
        for i in range(x.shape[0]):
            w[i] = kept[i] + s
        kept = w
    return kept is x, kept, total, x
""",
    "kept_across",
)


@pytest.mark.parametrize("steps", [0, 1, 2, 3, 4])
def test_an_array_kept_under_another_name_at_the_end_of_the_pass_runs_natively(steps):
    check(KEPT, lambda: (np.arange(3.0), steps))


PREV = _fn(
    """
def prev_and_new(x, steps):
    w = np.zeros(x.shape[0])
    for s in range(steps):
        prev = w
        w = np.zeros(x.shape[0])
        for i in range(x.shape[0]):
            w[i] = prev[i] + x[i]
    return w, prev
""",
    "prev_and_new",
)


def test_previous_array_kept_under_another_name_stays_python():
    check(PREV, lambda: (np.arange(3.0), 4), native=False)
    assert "makes a new array in each pass, and it is kept as prev" in _decline(PREV, (np.arange(3.0), 4))


RETURNED = _fn(
    """
def returned(x, steps):
    for s in range(steps):
        w = np.zeros(x.shape[0])
        for i in range(x.shape[0]):
            w[i] = x[i] * s
        if s == 2:
            return w
    return None
""",
    "returned",
)


def test_returned_from_inside_the_loop_stays_python():
    check(RETURNED, lambda: (np.arange(3.0), 5), native=False)
    assert "makes a new array in each pass, and it is returned" in _decline(RETURNED, (np.arange(3.0), 5))


PREFIX_SUM = _fn(
    """
def prefix_sum_doubling(x):
    n = len(x)
    a = x.copy()
    offset = 1
    while offset < n:
        b = a.copy()
        for i in range(offset, n):
            b[i] = a[i] + a[i - offset]
        a = b
        offset *= 2
    return a
""",
    "prefix_sum_doubling",
)


@pytest.mark.parametrize("n", [0, 1, 2, 5, 16, 33])
def test_prefix_sum_doubling_runs_natively_with_two_arrays_taking_turns(n):
    # (the loop over i stays sequential: its bounds read offset, which the nest assigns)
    check(PREFIX_SUM, lambda: (np.arange(float(n)),))


TURNS = _fn(
    """
def turns(x, steps, stop):
    a = x
    for s in range(steps):
        a[0] += 1.0
        b = np.zeros_like(a)
        for i in range(1, a.shape[0]):
            b[i] = a[i - 1] * 2 + s
        if s == stop:
            break
        a = b
        b[0] = a[1]
    return x, a is x, a, b if steps > 0 else None, [id(v) for v in (a, b)].count(id(a)) if steps > 0 else 0
""",
    "turns",
)


@pytest.mark.parametrize("steps,stop", [(0, -1), (1, -1), (2, -1), (3, -1), (4, 0), (4, 1), (5, 2), (6, 9)])
def test_two_arrays_taking_turns_leave_the_names_as_python_does(steps, stop):
    check(TURNS, lambda: (np.arange(5.0), steps, stop))


READ_BEFORE = _fn(
    """
def read_before(x, steps):
    w = np.ones(x.shape[0])
    for s in range(steps):
        x[0] += w[0]
        w = np.zeros(x.shape[0])
        for i in range(x.shape[0]):
            w[i] = x[i] + s
    return x, w
""",
    "read_before",
)


def test_an_array_read_before_it_is_made_in_the_pass_stays_python():
    check(READ_BEFORE, lambda: (np.arange(3.0), 4), native=False)
    assert "read before the statement that makes it" in _decline(READ_BEFORE, (np.arange(3.0), 4))


IN_PARALLEL_LOOP = _fn(
    """
def in_parallel_loop(x, out):
    for i in range(x.shape[0]):
        t = np.zeros(3)
        for k in range(3):
            t[k] = x[i] * (k + 1)
        out[i] = t[0] + t[1] * t[2]
    return out, t
""",
    "in_parallel_loop",
)


def test_an_array_made_in_each_iteration_of_a_loop_keeps_that_loop_sequential():
    recs = check(IN_PARALLEL_LOOP, lambda: (np.arange(7.0), np.zeros(7)))
    assert all("i" not in p.split(", ") for p in parallel_loops(recs, "cpu"))


def test_layouts_after_the_loop_are_numpy_s():
    fn = _fn(
        """
def layouts(x, steps):
    for s in range(steps):
        a = np.zeros((3, 4), order="F")
        b = np.copy(x)
        c = x.copy()
        d = np.empty_like(x)
        for i in range(3):
            for j in range(4):
                a[i, j] = x[i, j] + s
                d[i, j] = b[i, j] + c[i, j]
    return a, b, c, d
""",
        "layouts",
    )
    x = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    want = [_layout(v) for v in fn(x.copy(order="F"), 2)]
    for device in ("cpu", "cpu-serial", "gpu-emulated"):
        got = [_layout(v) for v in loopscope.run(fn, x.copy(order="F"), 2, device=device)]
        assert got == want, device
    check(fn, lambda: (np.asfortranarray(np.arange(12.0).reshape(3, 4)), 2))


def test_the_arrays_made_are_not_kept_after_the_run():
    from loopscope import _fresh

    for device in ("cpu", "python"):
        loopscope.run(HEAT, np.random.default_rng(2).random((6, 5)), 0.1, 3, device=device)
        assert not getattr(_fresh._LOCAL, "buffers", {}), device


def test_the_report_names_the_engine_s_variables_as_the_user_knows_them():
    rep = loopscope.explain(PREFIX_SUM, np.arange(16.0))
    text = repr(rep)
    assert "__loopscope" not in text and "$made" not in text


HUGE = _fn(
    """
def huge(x, n, steps):
    for s in range(steps):
        w = np.ones((n, n))
        for i in range(x.shape[0]):
            x[i] += w[i, i]
    return x
""",
    "huge",
)


def test_an_array_too_large_to_make_in_advance_is_not_made():
    # 8 TB: never made (Python's loop never runs either)
    recs = check(HUGE, lambda: (np.zeros(3), 1 << 20, 0), native=False)
    assert any("more than native code makes in advance" in r for r in _reasons(recs)), _reasons(recs)
    check(HUGE, lambda: (np.zeros(3), 4, 3))


COMBINED = _fn(
    """
def combined(x, steps):
    n = x.shape[0]
    old = x.copy()
    new = np.zeros(n)
    acc = 0.0
    for s in range(steps):
        for k in range(2):
            tmp = np.empty(n)
            tmp[:] = 0.5
            tmp[1:-1] = 2.0
            for i in range(len(tmp)):
                tmp[i] += old[i] * k
            for i in range(1, tmp.shape[0] - 1):
                new[i] = tmp[i - 1] + tmp[i + 1] + np.sum(tmp[i - 1:i + 2])
        w = np.ones(n)
        for i in range(n):
            acc += w[i] * new[i]
        old, new = new, old
    return acc, old, new, tmp
""",
    "combined",
)


@pytest.mark.parametrize("steps", [0, 1, 2, 5])
def test_with_slices_swaps_and_a_sequential_inner_loop(steps):
    recs = check(COMBINED, lambda: (np.arange(6.0), steps))
    assert [r["line"] for r in recs["cpu"]] == [COMBINED.__code__.co_firstlineno + 5], recs["cpu"]


def test_reports_name_the_array_as_the_user_wrote_it():
    rep = loopscope.explain(POWER_ITERATION, np.random.default_rng(1).random((8, 8)), 1e-10)
    loops = [lp["var"] for nest in rep["nests"] for lp in nest.get("loops", [])]
    assert "the index of the new w" in loops, loops


LAZY = _fn(
    """
def sq(v):
    return v * v + 1.0


def lazy(x, f, steps):
    for s in range(steps):
        w = np.zeros(x.shape[0])
        for i in range(x.shape[0]):
            w[i] = f(x[i]) * 0.5 + s
        for i in range(x.shape[0]):
            x[i] = w[i]
    return x, w
""",
    "lazy",
)


@pytest.mark.parametrize("steps", [0, 3])
def test_a_nest_compiled_for_the_function_it_is_given(steps):
    sq = LAZY.__globals__["sq"]
    recs = check(LAZY, lambda: (np.arange(4.0), sq, steps))
    assert [r["status"] for r in recs["cpu"]] == ["ok"], recs["cpu"]  # one record: the whole nest ran natively


FILLED = _fn(
    """
def filled(out, steps, value, kind):
    for s in range(steps):
        w = np.full(out.shape[0], value, dtype=kind)
        for i in range(out.shape[0]):
            out[i] += w[i] + s
    return out
""",
    "filled",
)


@pytest.mark.parametrize(
    "value,kind,native",
    [
        (7, np.uint8, True),
        (300, np.uint8, False),  # DeprecationWarning in NumPy 1.24, at the user's line
        (-1, np.uint16, False),
        (2.5, np.int64, True),
        (float("nan"), np.int64, False),  # RuntimeWarning: invalid value encountered in cast
        (1e300, np.float32, False),  # RuntimeWarning: overflow
        (3, "uint8", True),
        (3, "u1", True),
    ],
)
def test_fill_values_that_warn_leave_the_warning_to_python(value, kind, native):
    recs = check(FILLED, lambda: (np.zeros(4), 2, value, kind), native=native)
    if not native:
        assert any("warns" in r or "out of the range" in r for r in _reasons(recs)), _reasons(recs)
    # The warnings come from where CPython gives them, as often.
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        loopscope.run(FILLED, np.zeros(4), 2, value, kind, device="cpu")
    with warnings.catch_warnings(record=True) as want:
        warnings.simplefilter("always")
        FILLED(np.zeros(4), 2, value, kind)
    assert [(w.filename, w.lineno, str(w.message)) for w in seen] == [
        (w.filename, w.lineno, str(w.message)) for w in want
    ]


def test_making_the_arrays_leaves_the_warnings_module_alone(monkeypatch):
    # Changing the warnings filters (catch_warnings) clears every module's
    # record of the warnings already shown once: Python would show them again.
    def refuse(*args, **kwargs):
        raise AssertionError("the warnings filters were changed")

    monkeypatch.setattr(warnings, "catch_warnings", refuse)
    monkeypatch.setattr(warnings, "simplefilter", refuse)
    monkeypatch.setattr(warnings, "filterwarnings", refuse)
    loopscope.run(HEAT, np.arange(16.0).reshape(4, 4), 0.1, 3, device="cpu")
    loopscope.run(FILLED, np.zeros(4), 2, 300, np.uint8, device="cpu")


def test_a_deprecated_numpy_alias_is_not_read_before_the_loop():
    fn = _fn(
        """
def alias(out, steps):
    for s in range(steps):
        w = np.zeros(out.shape[0], dtype=np.bool8)
        for i in range(out.shape[0]):
            out[i] += w[i] + s
    return out
""",
        "alias",
    )
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        loopscope.run(fn, np.zeros(3), 2, device="cpu")
    with warnings.catch_warnings(record=True) as want:
        warnings.simplefilter("always")
        fn(np.zeros(3), 2)
    assert [(w.filename, w.lineno, str(w.message)) for w in seen] == [
        (w.filename, w.lineno, str(w.message)) for w in want
    ]
