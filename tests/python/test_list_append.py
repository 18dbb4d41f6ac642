"""Lists built with ``append`` inside a loop nest (kernel/python/loopscope/_appends.py).

Every function runs in CPython and through ``loopscope.run`` on each device
(differential.check): the list it returns must hold the same values, each
of the same type (a Python int, float or bool, or the NumPy scalar type
the element has), and the nest must have run natively. A list passed in
keeps its elements and its identity, and after an exception it holds what
CPython's does. What stays Python says why in a sentence.
"""

import random

import numpy as np
import pytest

import corpus
import differential
import loopscope
from differential import NATIVE_DEVICES, outcome, same, use_temporary_cache  # noqa: F401
from loopscope import _appends, _rewrite, _run


def check(fn, make_args, native=True):
    return differential.check(fn, make_args, native, hidden_words=("appended_to", "append_value", "loopscope_len"))


def check_lists(fn, make_args, native=True):
    """check, and the lists among the arguments afterwards as CPython's (the
    same objects, extended: a list passed in is never replaced)."""
    records = check(fn, make_args, native)
    want_args = make_args()
    want = outcome(fn, want_args, None)
    for device in ("cpu", "cpu-serial", "gpu-emulated", "auto"):
        args = make_args()
        ids = [id(a) for a in args]
        got = outcome(fn, args, device)
        assert want[0] == got[0]
        assert [id(a) for a in args] == ids
        for a, b in zip(want_args, args):
            if isinstance(a, list):
                assert same(a, b), f"{fn.__name__} on {device}:\npython: {a!r}\nloopscope: {b!r}"
    return records


def declined(fn, records, words):
    """The outermost nest of ``fn`` ran as Python, saying so with ``words``:
    declined when registered, or on every device when it ran."""
    nests = sorted((r for r in _rewrite.NESTS.values() if r.function == fn.__qualname__), key=lambda r: r.line)
    assert nests, fn
    root = nests[0]
    if root.declined:
        assert words in root.decline.reason, root.decline
        return
    for device in ("cpu", "cpu-serial", "gpu-emulated"):
        recs = records[device]
        assert recs and all(r["status"] == "declined" for r in recs), (device, recs)
        assert all(words in r["reason"] for r in recs), (device, recs)


def rng():
    return np.random.default_rng(7)


# --- the corpus ------------------------------------------------------------------------


def test_corpus_squares_list():
    case = corpus.get("squares_list")
    check(case.fn, lambda: case.make("small"))


def test_corpus_primes_for_else():
    case = corpus.get("primes_for_else")
    check(case.fn, lambda: case.make("small"))


def primes_list(n):
    primes = []
    for k in range(2, n):
        for d in range(2, int(k**0.5) + 1):
            if k % d == 0:
                break
        else:
            primes.append(k)
    return primes


def test_primes_list_in_for_else():
    check(primes_list, lambda: (300,))
    check(primes_list, lambda: (2,))  # no trip


# --- the types of the appended values --------------------------------------------------


def range_ints(n):
    out = []
    for i in range(n):
        out.append(i * i - 3)
    return out


def python_floats(n):
    out = []
    for i in range(n):
        out.append(i * 0.5 - 1.0)
    return out


def python_bools(n):
    out = []
    for i in range(n):
        out.append(i % 3 == 1)
    return out


def elements(x):
    out = []
    for i in range(x.shape[0]):
        out.append(x[i])
    return out


def mixed(x):
    out = []
    for i in range(x.shape[0]):
        out.append(x[i] * 2 + i)
    return out


def as_float(x):
    out = []
    for i in range(x.shape[0]):
        out.append(float(x[i]) + 1)
    return out


def compared(x):
    out = []
    for i in range(x.shape[0]):
        out.append(x[i] > x[0])
    return out


@pytest.mark.parametrize("fn", [range_ints, python_floats, python_bools])
def test_python_scalars(fn):
    records = check(fn, lambda: (17,))
    assert all(r["status"] == "ok" for r in records["cpu"])


@pytest.mark.parametrize(
    "dtype",
    [
        "float64",
        "float32",
        "float16",
        "int64",
        "int32",
        "int16",
        "int8",
        "uint64",
        "uint32",
        "uint16",
        "uint8",
        "bool",
        "complex128",
        "complex64",
    ],
)
@pytest.mark.parametrize("fn", [elements, mixed, as_float, compared])
def test_numpy_elements(fn, dtype):
    def make():
        return ((rng().random(23) * 50).astype(dtype),)

    if dtype.startswith("complex"):
        # float(z) and z > w stay Python (TypeError, ComplexWarning); the GPU
        # variant has no complex type (it says so).
        native = False if fn in (as_float, compared) else ("cpu", "cpu-serial")
    else:
        native = NATIVE_DEVICES
    check(fn, make, native=native)


def test_float64_and_float32_run_natively():
    for dtype in ("float64", "float32", "int64", "uint8", "bool"):
        records = check(elements, lambda: ((rng().random(9) * 50).astype(dtype),))
        assert records["cpu"][0]["status"] == "ok", dtype


def negative_zero_nan(x):
    out = []
    for i in range(x.shape[0]):
        out.append(-x[i])
    return out


def test_float_bits_kept():
    check(negative_zero_nan, lambda: (np.array([0.0, np.nan, -np.inf, 1e-310, 2.5]),))


# --- where the appends are -------------------------------------------------------------


def conditional(x):
    out = []
    for i in range(x.shape[0]):
        if x[i] > 0.5:
            out.append(x[i])
        elif x[i] < 0.1:
            out.append(-x[i])
    return out


def inner_loops(a):
    out = []
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            if a[i, j] > 0.3:
                out.append(a[i, j] * 2.0)
    return out


def inner_sum(a, b):
    sums = []
    for i in range(a.shape[0]):
        s = 0.0
        for j in range(a.shape[1]):
            b[i, j] = a[i, j] + 1.0
            s += float(a[i, j])
        sums.append(s)
    return sums


def float_or_float64(a):
    sums = []
    for i in range(a.shape[0]):
        s = 0.0
        for j in range(a.shape[1]):
            s += a[i, j]
        sums.append(s)
    return sums


def with_break_continue(x):
    out = []
    for i in range(x.shape[0]):
        if x[i] < 0.2:
            continue
        if x[i] > 0.95:
            break
        out.append(i)
    return out


def two_lists(x):
    small = []
    big = []
    for i in range(x.shape[0]):
        if x[i] < 0.5:
            small.append(i)
        else:
            big.append(x[i])
    return small, big


def two_places(x):
    out = []
    for i in range(x.shape[0]):
        out.append(i)
        if x[i] > 0.5:
            out.append(-i)
    return out


def test_conditional():
    check(conditional, lambda: (rng().random(50),))


def test_inner_loops():
    check(inner_loops, lambda: (rng().random((7, 9)),))


def test_inner_loop_without_append():
    check(inner_sum, lambda: (rng().random((6, 5)), np.zeros((6, 5))))
    # s is a Python float before the inner loop and an np.float64 after it
    # (a row of length 0 would append the float): Python runs.
    records = check(float_or_float64, lambda: (rng().random((6, 5)),), native=False)
    declined(float_or_float64, records, "may be of more than one type")


def test_break_continue():
    check(with_break_continue, lambda: (rng().random(60),))


def test_two_lists():
    check(two_lists, lambda: (rng().random(30),))


def test_one_list_two_places():
    check(two_places, lambda: (rng().random(30),))


def extend_existing(out, n):
    for i in range(n):
        out.append(i * 3)
    return out


def test_existing_elements_and_identity():
    records = check_lists(extend_existing, lambda: ([1, "a", None, 2.5], 10))
    assert records["cpu"][0]["status"] == "ok"
    lst = [9]
    got = _run.run(extend_existing, lst, 4, device="cpu")
    assert got is lst and lst == [9, 0, 3, 6, 9]


def test_zero_trips():
    check(range_ints, lambda: (0,))
    check_lists(extend_existing, lambda: ([5], 0))


# --- a run that stops half-way: Python's rerun fills the list ---------------------------


def raises_half_way(out, n):
    for i in range(n):
        out.append(i)
        k = 10 // (i - 5)
        out.append(k)
    return out


def index_error_half_way(out, x, y):
    for i in range(12):
        out.append(x[i] * 2.0)
        y[i] = i
    return out


def test_exception_half_way():
    check_lists(raises_half_way, lambda: ([-1], 9))
    check_lists(index_error_half_way, lambda: ([0.5], rng().random(8), np.zeros(20)))


# --- bounds -----------------------------------------------------------------------------


def early_break(n):
    out = []
    for i in range(n):
        if i == 4:
            break
        out.append(i)
    return out


def test_huge_bound_declines():
    records = check(early_break, lambda: (10**12,), native=False)
    declined(early_break, records, "more than native code keeps aside")


def test_large_bound_runs():
    check(early_break, lambda: (5 * 10**6,))


# --- what stays Python ------------------------------------------------------------------


def reads_len(n):
    out = []
    for i in range(n):
        if len(out) < 3:
            out.append(i)
    return out


def reads_last(n):
    out = [0]
    for i in range(1, n):
        out.append(out[-1] + i)
    return out


def prime_sieve(n):
    primes = []
    for k in range(2, n):
        ok = True
        for p in primes:
            if k % p == 0:
                ok = False
                break
        if ok:
            primes.append(k)
    return primes


class Bag:
    def __init__(self):
        self.items = []

    def append(self, v):
        self.items.append(v * 2)


def not_a_list(bag, n):
    for i in range(n):
        bag.append(i)
    return bag.items


def tuples(n):
    out = []
    for i in range(n):
        out.append((i, i))
    return out


def rebound(n):
    out = []
    for i in range(n):
        out.append(i)
        if i == 3:
            out = []
    return out


def itself(n):
    out = []
    for i in range(n):
        out.append(out)
    return len(out)


def same_list(a, b, n):
    for i in range(n):
        a.append(i)
        b.append(-i)
    return a


def mixed_types(x):
    out = []
    for i in range(x.shape[0]):
        out.append(i)
        out.append(x[i])
    return out


@pytest.mark.parametrize(
    "fn, args, words",
    [
        (reads_len, (8,), "the loop reads it (len(out))"),
        (reads_last, (8,), "the loop reads it (out[-1])"),
        (prime_sieve, (30,), "for p in primes"),
        (rebound, (8,), "assigned in the loop"),
        (itself, (4,), "to itself"),
        (tuples, (5,), "out.append((i, i)) appends a tuple to out"),
    ],
)
def test_declines(fn, args, words):
    records = check(fn, lambda: args, native=False)
    declined(fn, records, words)


def test_declines_not_a_list():
    records = check(not_a_list, lambda: (Bag(), 5), native=False)
    declined(not_a_list, records, "not a Python list")


def test_declines_same_list_twice():
    records = check(same_list, lambda: (lambda shared: (shared, shared, 3))([]), native=False)
    declined(same_list, records, "are the same list")


def test_declines_mixed_types():
    records = check(mixed_types, lambda: (rng().random(5),), native=False)
    declined(mixed_types, records, "values of different types to out")


# --- with the rest of the rewriter ------------------------------------------------------


def over_array(x):
    out = []
    for v in x:
        if v > 0.5:
            out.append(v * 2)
    return out


def with_enumerate(x):
    out = []
    for k, v in enumerate(x):
        out.append(k + v)
    return out


def with_draws(n):
    out = []
    for i in range(n):
        out.append(random.random())
    return out


def triangular(n):
    out = []
    for i in range(n):
        for j in range(i):
            out.append(i * j)
    return out


def complex_values(x):
    out = []
    for i in range(x.shape[0]):
        out.append(x[i] * 1j)
    return out


def test_loops_over_arrays():
    check(over_array, lambda: (rng().random(20),))
    check(with_enumerate, lambda: (rng().random(20).astype(np.float32),))


def test_random_draws():
    check_state = differential.check(
        with_draws, lambda: (random.seed(3) or 9,), state=random.getstate, hidden_words=("appended_to", "append_value")
    )
    assert check_state["cpu"][0]["status"] == "ok"


def test_bounds_known_inside_the_nest():
    # The inner loop's trip count is not affine in i: the inner loop is the
    # nest that runs natively, once per i, with its own bound.
    check(triangular, lambda: (7,))
    records = check(not_affine, lambda: (7,))
    declined(not_affine, records, "whose bounds change while the nest runs")


def test_complex_values():
    records = check(complex_values, lambda: (np.arange(5.0) - 2,), native=("cpu", "cpu-serial"))
    assert "complex" in records["gpu-emulated"][0]["reason"]


def int_or_uint8(img):
    out = []
    for i in range(img.shape[0]):
        m = 255
        if img[i] < 100:
            m = img[i]
        out.append(m)
    return out


def float_then_int(x):
    out = []
    for i in range(x.shape[0]):
        v = x[i]
        if v < 0.5:
            v = 0
        out.append(v)
    return out


def test_declines_a_value_of_two_kinds():
    # m holds an int or an np.uint8, v an np.float64 or an int: Python's list
    # holds both kinds, which one buffer cannot.
    make = lambda: ((rng().random(12) * 200).astype(np.uint8),)  # noqa: E731
    records = check(int_or_uint8, make, native=False)
    declined(int_or_uint8, records, "'m' holds")
    records = check(float_then_int, lambda: (rng().random(12),), native=False)
    declined(float_then_int, records, "'v' holds")


def appends_and_a_parallel_loop(a, b):
    out = []
    for i in range(a.shape[0]):
        out.append(i)
        for j in range(a.shape[1]):
            b[i, j] = a[i, j] * 2.0
    return out


def test_verdicts():
    # The count of appended values keeps the loop around the append in
    # order; the inner loop, which does not append, stays parallel.
    rep = loopscope.explain(appends_and_a_parallel_loop, np.ones((50, 60)), np.zeros((50, 60)))
    loops = {loop["var"]: loop for loop in rep["nests"][0]["loops"]}
    assert loops["i"]["verdict"] == "sequential"
    assert any("len(out)" in r for r in loops["i"]["reasons"])
    assert loops["j"]["verdict"] == "parallel"
    check(appends_and_a_parallel_loop, lambda: (rng().random((30, 40)), np.zeros((30, 40))))


def alias_read(n):
    out = []
    alias = out
    for i in range(n):
        if len(alias) < 3:
            out.append(i)
    return out


def test_declines_a_list_read_under_another_name():
    records = check(alias_read, lambda: (8,), native=False)
    declined(alias_read, records, "alias and out are the same list")


def triple(v):
    return v * 3.0


def apply(f, x):
    out = [0.5]
    for i in range(len(x)):
        out.append(f(x[i]))
    return out


def uses_helper(x):
    out = []
    for i in range(len(x)):
        out.append(triple(x[i]) + 1)
    return out


def test_functions_called_in_the_appended_value():
    # A helper inlined, and a function passed in (compiled when the nest runs).
    check(uses_helper, lambda: (rng().random(9),))
    check(apply, lambda: (triple, rng().random(9)))


def pairs(x, r):
    ii = []
    jj = []
    for i in range(x.shape[0]):
        for j in range(i + 1, x.shape[0]):
            if abs(x[i] - x[j]) < r:
                ii.append(i)
                jj.append(j)
    return ii, jj


def three_deep(n):
    out = []
    for i in range(n):
        for j in range(i, n):
            for k in range(j - i, 2 * j + 1, 2):
                out.append(i + j + k)
    return out


def downwards(n):
    out = []
    for i in range(n, 0, -1):
        for j in range(n - i, i):
            out.append(j)
    return out


def not_affine(n):
    out = []
    for i in range(n):
        for j in range(i % 3):
            out.append(j)
    return out


def test_bounds_of_loops_that_read_the_loops_around():
    # Affine bounds in the variables of the loops around: counted at the
    # corners of their ranges, and the whole nest runs natively.
    check(pairs, lambda: (rng().random(30), 0.1))
    check(three_deep, lambda: (7,))
    check(downwards, lambda: (8,))
    check(triangular, lambda: (0,))


def test_buffer_end_stops_native_code(monkeypatch):
    # A bound that comes out too small: the store past the buffer's end
    # stops the native code, and Python's run fills the list.
    monkeypatch.setattr(_appends, "_bound", lambda ranges, env: 2)
    records = check_lists(extend_existing, lambda: ([1.5], 9), native=False)
    assert all(r["status"] == "fallback" for r in records["cpu"]), records["cpu"]


def array_append(idx, n):
    for i in range(n):
        idx.append(i)
    return idx


def test_declines_an_array_with_append():
    # An ndarray has no append: Python raises AttributeError in the loop.
    records = check(array_append, lambda: (np.arange(5), 3), native=False)
    declined(array_append, records, "idx is a NumPy array, not a Python list")


# --- random nests ---------------------------------------------------------------------


def _random_program(seed: int) -> str:
    """A function of x (float64) and y (int32) building one or two lists
    with append in a nest of up to three loops whose bounds may read the
    loops around them, under conditions, with break and continue."""
    r = random.Random(seed)
    values = ["i", "i * 0.5", "x[i % n]", "y[i % n]", "x[i % n] > 0.5", "float(y[i % n]) - i", "x[i % n] * y[i % n]"]
    lines = ["def fn(x, y):", "    n = x.shape[0]", "    out = [-1]", "    more = []"]
    depth = r.randint(1, 3)
    names = ["i", "j", "k"][:depth]
    pad = "    "
    for d, v in enumerate(names):
        outer = names[d - 1] if d else None
        bounds = ["n", "3"] + ([f"{outer}", f"{outer} + 1, n", f"n - {outer}"] if outer else ["1, n, 2"])
        lines.append(f"{pad}for {v} in range({r.choice(bounds)}):")
        pad += "    "
        if r.random() < 0.3:
            lines.append(f"{pad}if x[{v} % n] > 0.8:")
            lines.append(f"{pad}    {r.choice(['break', 'continue'])}")
    inner = names[-1]
    value = r.choice(values).replace("i", inner)
    value2 = r.choice(values).replace("i", inner)
    if r.random() < 0.5:
        lines.append(f"{pad}if x[{inner} % n] < 0.6:")
        lines.append(f"{pad}    out.append({value})")
    else:
        lines.append(f"{pad}out.append({value})")
    if r.random() < 0.5:
        lines.append(f"{pad}more.append({value2})")
    lines.append("    return out, more")
    return "\n".join(lines) + "\n"


def test_random_nests():
    from nestgen import make_function

    native = 0
    for seed in range(24):
        src = _random_program(seed)
        fn = make_function(src, "fn")

        def make(seed=seed):
            g = np.random.default_rng(seed)
            return (g.random(9), (g.random(9) * 20).astype(np.int32))

        records = differential.check(fn, make, native=False, hidden_words=("appended_to", "append_value"))
        native += all(r["status"] == "ok" for r in records["cpu"])
    assert native >= 12, native
