"""Arrays that trade places inside a `while` loop, inside a loop nested in
another, in one branch of an `if`, or in a loop that may `break` (lowered
by _rotations with a state number): every function runs in CPython and
through loopscope.run on each device and must give the same values, arrays
and exceptions, and leave each name holding the same array object as in
Python (checked with `is`), for zero, one, odd and even numbers of steps.
Shapes that are not lowered stay in Python with a sentence.
"""

import ast
import inspect

import numpy as np
import pytest

import differential
import loopscope
from differential import parallel_loops, use_temporary_cache  # noqa: F401
from nestgen import make_function

HIDDEN = ("__loopscope", "swaps__")


def check(fn, make_args, native=True):
    """differential.check; native: the whole nest ran natively (one run
    record per device, not one per inner loop that ran on its own)."""
    recs = differential.check(fn, make_args, native, hidden_words=HIDDEN)
    if native:
        tree = ast.parse(inspect.getsource(fn))
        first = next(n for n in ast.walk(tree) if isinstance(n, (ast.For, ast.While)))
        line = first.lineno + fn.__code__.co_firstlineno - 1
        for device in ("cpu", "cpu-serial", "gpu-emulated"):
            # (after a fallback, the Python loop's inner loops run on their own)
            assert [r.get("line", line) for r in recs[device]][:1] == [line], (device, line, recs[device])
    return recs


def _fn(source, name):
    return make_function(source, name, namespace={"np": np})


def _grid(n, seed=3):
    return np.random.default_rng(seed).random(n)


COUNTED = _fn(
    """
def counted(old, new, max_iter):
    ids = (id(old), id(new))
    n = old.shape[0]
    it = 0
    while it < max_iter:
        for i in range(1, n - 1):
            new[i] = 0.5 * (old[i - 1] + old[i + 1])
        old, new = new, old
        it += 1
    return [ids.index(id(x)) for x in (old, new)], old[n // 2], it
""",
    "counted",
)


@pytest.mark.parametrize("steps", [0, 1, 2, 3, 4, 7])
def test_while_counted_leaves_the_names_as_python_does(steps):
    recs = check(COUNTED, lambda: (_grid(40), _grid(40, 4), steps))
    assert parallel_loops(recs, "cpu") == ["i"]


UNTIL = _fn(
    """
def until(u, u_new, tol):
    u0 = u
    n = u.shape[0]
    err = tol + 1.0
    sweeps = 0
    while err > tol:
        err = 0.0
        for i in range(1, n - 1):
            u_new[i] = 0.5 * (u[i - 1] + u[i + 1])
            err = max(err, abs(u_new[i] - u[i]))
        u, u_new = u_new, u
        sweeps += 1
    return u is u0, u_new is u0, sweeps, err
""",
    "until",
)


@pytest.mark.parametrize("tol", [10.0, 0.3, 0.05, 1e-3])
def test_while_until_converged(tol):
    def make():
        u = np.zeros(12)
        u[0], u[-1] = 1.0, 2.0
        return u, u.copy(), tol

    check(UNTIL, make)


def test_while_that_never_runs_and_an_array_twice():
    check(UNTIL, lambda: (np.zeros(5), np.zeros(5), -1.0 if False else 1e9))

    def same_array():
        a = _grid(9)
        return a, a, 3

    check(COUNTED, same_array)


# Three arrays rotating in a while loop.
WAVE = _fn(
    """
def wave(prev, cur, nxt, c2, steps):
    ids = (id(prev), id(cur), id(nxt))
    n = cur.shape[0]
    t = 1
    while t < steps:
        for i in range(1, n - 1):
            nxt[i] = 2 * cur[i] - prev[i] + c2 * (cur[i + 1] - 2 * cur[i] + cur[i - 1])
        prev, cur, nxt = cur, nxt, prev
        t += 1
    return [ids.index(id(x)) for x in (prev, cur, nxt)], cur[n // 3]
""",
    "wave",
)


@pytest.mark.parametrize("steps", [0, 1, 2, 3, 4, 5, 9])
def test_three_arrays_rotate_in_a_while(steps):
    check(WAVE, lambda: (_grid(15), _grid(15, 6), np.zeros(15), 0.2, steps))


# The swap in a loop inside another: the arrays stay swapped from one outer
# step to the next, and the outer step reads them after the inner loop.
NESTED = _fn(
    """
def nested(a, b, out, steps, inner):
    a0 = a
    n = a.shape[0]
    for t in range(steps):
        for k in range(inner):
            for i in range(1, n - 1):
                b[i] = a[i] + 0.25 * (a[i - 1] - 2 * a[i] + a[i + 1])
            a, b = b, a
        out[t] = a[n // 2] - b[n // 2]
    return a is a0, b is a0
""",
    "nested",
)


@pytest.mark.parametrize("steps, inner", [(0, 3), (1, 0), (1, 1), (3, 1), (2, 3), (3, 2)])
def test_swap_in_a_loop_inside_another(steps, inner):
    check(NESTED, lambda: (_grid(20), _grid(20, 1), np.zeros(4), steps, inner))


# break before or after the swap, continue that skips it, a swap in one
# branch of an if.
BREAKS = _fn(
    """
def breaks(a, b, steps, stop):
    a0 = a
    for t in range(steps):
        for i in range(a.shape[0]):
            b[i] = a[i] + 1.0
        if b[0] > stop:
            break
        a, b = b, a
        if a[1] > stop + 0.5:
            break
    return a is a0, b is a0, a[0], t
""",
    "breaks",
)

SKIPS = _fn(
    """
def skips(a, b, steps):
    a0 = a
    it = 0
    while it < steps:
        it += 1
        for i in range(a.shape[0]):
            b[i] = a[i] * 0.5 + it
        if it % 3 == 0:
            continue
        a, b = b, a
    return a is a0, b is a0, a[0], b[0]
""",
    "skips",
)

ONE_BRANCH = _fn(
    """
def one_branch(a, b, steps):
    a0 = a
    it = 0
    while it < steps:
        for i in range(a.shape[0]):
            b[i] = a[i] + it
        if b[0] > 2.0:
            a, b = b, a
        else:
            b[1] = -1.0
        it += 1
    return a is a0, b is a0, a[0], b[1]
""",
    "one_branch",
)


@pytest.mark.parametrize("stop", [0.0, 1.5, 2.2, 3.0, 100.0])
def test_break_before_and_after_the_swap(stop):
    check(BREAKS, lambda: (np.zeros(3), np.zeros(3), 6, stop))


@pytest.mark.parametrize("steps", [0, 1, 2, 3, 4, 5, 6, 7])
def test_continue_that_skips_the_swap_and_a_swap_in_one_branch(steps):
    check(SKIPS, lambda: (_grid(5), _grid(5, 1), steps))
    check(ONE_BRANCH, lambda: (np.zeros(4), np.zeros(4), steps))


# Two different swaps: the six arrangements of a, b, c they generate.
TWO_SWAPS = _fn(
    """
def two_swaps(a, b, c, steps):
    ids = (id(a), id(b), id(c))
    it = 0
    while it < steps:
        for i in range(a.shape[0]):
            a[i] += b[i] - c[i]
        if it % 2 == 0:
            a, b = b, a
        else:
            b, c = c, b
        it += 1
    return [ids.index(id(x)) for x in (a, b, c)], a[0], b[0], c[0]
""",
    "two_swaps",
)


@pytest.mark.parametrize("steps", [0, 1, 2, 3, 5, 8])
def test_two_different_swaps(steps):
    check(TWO_SWAPS, lambda: (_grid(4), _grid(4, 1), _grid(4, 2), steps))


# An IndexError after some steps: the arrays hold Python's partial writes,
# and a try around the loop sees the names as Python leaves them.
RAISES = _fn(
    """
def raises(a, b, steps):
    a0 = a
    it = 0
    try:
        while it < steps:
            for i in range(a.shape[0]):
                b[i] = a[i + it] + 1.0
            a, b = b, a
            it += 1
    except IndexError:
        pass
    return a is a0, b is a0, it
""",
    "raises",
)

RAISES_OUT = _fn(
    """
def raises_out(a, b, steps):
    it = 0
    while it < steps:
        for i in range(a.shape[0]):
            b[i] = a[i + it] + 1.0
        a, b = b, a
        it += 1
    return a
""",
    "raises_out",
)


@pytest.mark.parametrize("steps", [1, 2, 3, 6])
def test_errors_leave_python_arrays_and_names(steps):
    # Caught in the function: Python's run is "ok", the native one falls back.
    recs = check(RAISES, lambda: (_grid(8), np.zeros(8), steps), native=False)
    assert {r["status"] for r in recs["cpu"]} <= {"ok", "fallback"}
    assert recs["cpu"][0]["line"] == 6
    check(RAISES_OUT, lambda: (_grid(8), np.zeros(8), steps))


# The while's test and an inner loop's range read the swapped names: each
# pass reads the arrays the names hold then.
TESTS_A_NAME = _fn(
    """
def tests_a_name(a, b, tol):
    a0 = a
    while a[0] < tol:
        for i in range(len(a)):
            b[i] = a[i] + 1.0
        a, b = b, a
    return a is a0, a[0], b[0]
""",
    "tests_a_name",
)

RANGE_OF_A_NAME = _fn(
    """
def range_of_a_name(a, b, steps):
    a0 = a
    for t in range(steps):
        for k in range(a.shape[0] - 2):
            for i in range(1, b.shape[0] - 1):
                b[i] = a[i] + 0.5 * a[i - 1] - 0.25 * a[i + 1]
            a, b = b, a
    return a is a0, b is a0
""",
    "range_of_a_name",
)


@pytest.mark.parametrize("tol", [-1.0, 0.5, 1.0, 4.0, 7.0])
def test_loop_lines_that_read_the_names(tol):
    check(TESTS_A_NAME, lambda: (np.zeros(3), np.zeros(3), tol))


@pytest.mark.parametrize("steps", [0, 1, 2, 3])
def test_a_range_that_reads_the_names(steps):
    check(RANGE_OF_A_NAME, lambda: (_grid(5), _grid(5, 1), steps))
    check(RANGE_OF_A_NAME, lambda: (_grid(6), _grid(4, 1), steps))


# Shapes that stay Python, with a sentence.
AS_VALUE = _fn(
    """
def as_value(a, b, steps):
    it = 0
    while it < steps:
        for i in range(a.shape[0]):
            b[i] = a[i] + 1.0
        c = a
        a, b = b, c
        it += 1
    return a[0]
""",
    "as_value",
)

ASSIGNED = _fn(
    """
def assigned(a, b, steps):
    it = 0
    while it < steps:
        for i in range(a.shape[0]):
            b[i] = a[i] + 1.0
        a, b = b, a
        if it == 1:
            a = b
        it += 1
    return a[0]
""",
    "assigned",
)

MANY = _fn(
    """
def many(a, b, c, d, steps):
    it = 0
    while it < steps:
        a[0] += b[0] + c[0] + d[0]
        a, b = b, a
        b, c, d = c, d, b
        it += 1
    return a[0]
""",
    "many",
)


def _reason(fn, args):
    """The sentence of the outer nest's decline."""
    rep = loopscope.explain(fn, *args)
    return rep["nests"][0]["decline"]["reason"]


def test_shapes_left_to_python_say_why():
    args = lambda: (np.zeros(3), np.zeros(3), 4)  # noqa: E731
    check(AS_VALUE, args, native=False)
    assert _reason(AS_VALUE, args()) == "a is used both as an array (a[...]) and as a plain value"
    check(ASSIGNED, args, native=False)
    assert _reason(ASSIGNED, args()) == "a trades places with another array and is also assigned otherwise in the loop"
    args = lambda: (_grid(2), _grid(2, 1), _grid(2, 2), _grid(2, 3), 5)  # noqa: E731
    check(MANY, args, native=False)
    assert _reason(MANY, args()) == (
        "the swaps of a, b, c, d leave them in more than 6 arrangements, too many to follow in native code"
    )


def test_explain_names_the_state_in_words():
    rep = loopscope.explain(COUNTED, _grid(10), _grid(10, 1), 3)
    text = str(rep)
    assert "__loopscope" not in text and "$" not in text
    assert "the state of the array swaps" in text
    loops = [(lp["var"], lp["line"]) for lp in rep["loops"]]
    assert loops[:2] == [("while", 5), ("i", 6)], loops


# A nest that calls a function it receives is compiled when it runs (for
# that function): the names are given their arrays there too.
LAZY = make_function(
    """
def half(x):
    return x * 0.5 + 1.0


def lazy_while(a, b, f, steps):
    a0 = a
    it = 0
    while it < steps:
        for i in range(a.shape[0]):
            b[i] = f(a[i])
        a, b = b, a
        it += 1
    return a is a0, b is a0, a[0]


def lazy_for(a, b, f, steps):
    a0 = a
    for t in range(steps):
        for i in range(a.shape[0]):
            b[i] = f(a[i])
        a, b = b, a
    return a is a0, b is a0, a[0]
""",
    "lazy_while",
)
LAZY_FOR = LAZY.__globals__["lazy_for"]
HALF = LAZY.__globals__["half"]


@pytest.mark.parametrize("steps", [0, 1, 2, 3])
def test_nests_compiled_when_they_run(steps):
    check(LAZY, lambda: (np.arange(5.0), np.zeros(5), HALF, steps))
    check(LAZY_FOR, lambda: (np.arange(5.0), np.zeros(5), HALF, steps))


# A swap of numbers next to a swap of arrays: the numbers' swap is the
# engine's own tuple assignment.
NUMBERS_TOO = _fn(
    """
def numbers_too(a, b, steps):
    a0 = a
    x, y = 1.0, 2.0
    it = 0
    while it < steps:
        for i in range(a.shape[0]):
            b[i] = a[i] * x + y
        a, b = b, a
        x, y = y, x
        it += 1
    return a is a0, x, y
""",
    "numbers_too",
)


@pytest.mark.parametrize("steps", [0, 1, 2, 5])
def test_a_swap_of_numbers_beside(steps):
    check(NUMBERS_TOO, lambda: (_grid(4), _grid(4, 1), steps))


# In a notebook cell the names are the cell's globals, and they stay after
# an error too (the snapshot compares each name's array).
CELLS = {
    "while": """
        import numpy as np
        A = np.arange(8.0) ** 2
        B = np.zeros(8)
        A0 = A
        err, it = 1.0, 0
        while err > 0.05 and it < 50:
            err = 0.0
            for i in range(1, 7):
                B[i] = 0.5 * (A[i - 1] + A[i + 1])
                err = max(err, abs(B[i] - A[i]))
            A, B = B, A
            it += 1
        print(it, A is A0, B is A0)
        """,
    "raises": """
        import numpy as np
        A = np.arange(8.0)
        B = np.zeros(8)
        A0 = A
        it = 0
        while it < 5:
            for i in range(8):
                B[i] = A[i + it] + 1.0
            A, B = B, A
            it += 1
        """,
}


@pytest.mark.parametrize("mode", ["auto", "cpu", "gpu"])
def test_cells(shell, mode):  # noqa: F811
    from test_interception import _in_shell, _plain

    from loopscope import _run

    for cells in ([CELLS["while"]], [CELLS["raises"]]):
        want = _plain(cells)
        _run.reset_last_runs()
        got = _in_shell(shell, cells, mode)
        assert got == want, (mode, got, want)
        if mode == "cpu":
            statuses = [r["status"] for r in _run.last_runs().values()]
            assert statuses[:1] == (["ok"] if cells == [CELLS["while"]] else ["fallback"]), statuses


# Arrays of other dtypes or dimensions under the swapped names: each copy of
# the body is typed for the arrays it names, and what one copy cannot do
# natively keeps the nest in Python.
@pytest.mark.parametrize(
    "make",
    [
        lambda: (np.arange(40.0, dtype=np.float32), np.zeros(40), 3),
        lambda: (np.arange(40.0), np.zeros(40, dtype=np.int64), 3),
        lambda: (np.arange(40.0), np.zeros((40, 2)), 3),
    ],
    ids=["float32-float64", "float-int", "1d-2d"],
)
def test_arrays_of_other_dtypes_or_dimensions(make):
    recs = check(COUNTED, make, native=False)
    if make()[0].dtype == np.float32:
        assert [r["status"] for r in recs["cpu"]] == ["ok"]


# A return in the loop that reads a swapped name.
RETURNS = _fn(
    """
def returns(a, b, tol, steps):
    it = 0
    while it < steps:
        err = 0.0
        for i in range(1, a.shape[0] - 1):
            b[i] = 0.5 * (a[i - 1] + a[i + 1])
            err = max(err, abs(b[i] - a[i]))
        if err < tol:
            return a[1] - b[1], it
        a, b = b, a
        it += 1
    return -1.0, it
""",
    "returns",
)


@pytest.mark.parametrize("steps", [0, 1, 2, 3, 50])
@pytest.mark.parametrize("tol", [10.0, 0.5, 0.01])
def test_a_return_that_reads_a_swapped_name(steps, tol):
    check(RETURNS, lambda: (np.arange(10.0) ** 2, np.zeros(10), tol, steps))


# Loops over the swapped arrays' elements (lowered to index loops first).
ITERATES = _fn(
    """
def iterates(a, b, steps):
    a0 = a
    it = 0
    s = 0.0
    x = -1.0
    while it < steps:
        k = 0
        for x in a:
            b[k] = x * 0.5 + 1.0
            k += 1
        for i, v in enumerate(b):
            s += v
        a, b = b, a
        it += 1
    return a is a0, s, x
""",
    "iterates",
)


@pytest.mark.parametrize("steps", [0, 1, 2, 3])
def test_loops_over_the_swapped_arrays(steps):
    check(ITERATES, lambda: (np.arange(6.0), np.zeros(6), steps))


# The swap through a temporary: `tmp = u; u = u_new; u_new = tmp`. After the
# loop tmp holds what Python leaves in it (nothing when no step ran).
TEMPORARY = _fn(
    """
def temporary(u, u_new, steps):
    ids = (id(u), id(u_new))
    n = u.shape[0]
    it = 0
    while it < steps:
        for i in range(1, n - 1):
            u_new[i] = 0.5 * (u[i - 1] + u[i + 1])
        tmp = u
        u = u_new
        u_new = tmp
        it += 1
    try:
        held = ids.index(id(tmp))
    except NameError:
        held = None
    return [ids.index(id(x)) for x in (u, u_new)], held, u[n // 2]
""",
    "temporary",
)

TEMPORARY_FOR = _fn(
    """
def temporary_for(a, b, steps, inner):
    ids = (id(a), id(b))
    t = None
    for s in range(steps):
        for k in range(inner):
            for i in range(a.shape[0]):
                b[i] = a[i] * 0.5 + k
            t = a
            a = b
            b = t
    return [ids.index(id(x)) for x in (a, b)], None if t is None else ids.index(id(t))
""",
    "temporary_for",
)

# The temporary read elsewhere: not a plain swap, left to Python.
TEMPORARY_READ = _fn(
    """
def temporary_read(a, b, steps):
    it = 0
    while it < steps:
        for i in range(a.shape[0]):
            b[i] = a[i] + 1.0
        t = a
        a = b
        b = t
        t[0] = -1.0
        it += 1
    return a[0], b[0]
""",
    "temporary_read",
)


@pytest.mark.parametrize("steps", [0, 1, 2, 3, 4])
def test_swap_through_a_temporary(steps):
    check(TEMPORARY, lambda: (_grid(12), _grid(12, 1), steps))
    check(TEMPORARY_READ, lambda: (_grid(4), _grid(4, 1), steps), native=False)


@pytest.mark.parametrize("steps, inner", [(0, 2), (1, 0), (1, 1), (2, 1), (3, 3)])
def test_swap_through_a_temporary_in_an_inner_loop(steps, inner):
    check(TEMPORARY_FOR, lambda: (_grid(6), _grid(6, 1), steps, inner))
