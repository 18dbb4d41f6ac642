"""Interception is invisible: rewritten cells and functions behave exactly as
in CPython, in every mode and on every device, including where the engine
declines (regression tests for failures seen on ordinary code).

Cells run in an in-process IPython shell with ``%load_ext loopscope`` (the
kernel installs the same transformer and hook); the same cells run in a plain
namespace with ``exec`` give the reference. Functions run through
``loopscope.run``, ``loopscope.jit`` and ``@loopscope.jit`` on every device
against a plain call.
"""

import contextlib
import functools
import io
import math
import textwrap
import warnings

import numpy as np
import pytest

import loopscope
from loopscope import _rewrite, _run

MODES = ("auto", "cpu", "gpu", "python", "off")
DEVICES = ("auto", "cpu", "cpu-serial", "python", "gpu", "gpu-emulated")


# --- cells ---------------------------------------------------------------------------------


def _snapshot(ns):
    out = {}
    for k, v in ns.items():
        if k.startswith("_") or k in ("In", "Out", "exit", "quit", "get_ipython", "np", "math"):
            continue
        if callable(v) or isinstance(v, type(np)):
            continue
        if isinstance(v, np.ndarray):
            out[k] = ("ndarray", v.dtype.str, v.shape, v.tobytes())
        else:
            out[k] = (type(v).__name__, repr(v))
    return out


def _plain(cells):
    ns = {"__name__": "__main__"}
    buf = io.StringIO()
    err = None
    with contextlib.redirect_stdout(buf), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for c in cells:
            try:
                exec(compile(textwrap.dedent(c), "<cell>", "exec"), ns)
            except Exception as exc:
                err = (type(exc).__name__, str(exc))
                break
    return buf.getvalue(), err, _snapshot(ns)


def _in_shell(shell, cells, mode):
    with contextlib.redirect_stdout(io.StringIO()):
        shell.run_line_magic("loopscope", f"{mode} quiet")
    shell.user_ns.clear()
    shell.init_user_ns()
    buf = io.StringIO()
    err = None
    with contextlib.redirect_stdout(buf), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for c in cells:
            r = shell.run_cell(textwrap.dedent(c), silent=True)
            exc = r.error_before_exec or r.error_in_exec
            if exc is not None:
                err = (type(exc).__name__, str(exc))
                break
    ns = {k: v for k, v in shell.user_ns.items() if k not in shell.user_ns_hidden}
    out = buf.getvalue().split("-" * 75)[0]  # IPython prints the traceback on stdout
    return out, err, _snapshot(ns)


CELLS = {
    "declined_nest_inside_loop": [
        """
        for i in range(2):
            for j in range(2):
                print(i, j)
        print("after")
        """
    ],
    "declined_nest_inside_loop_in_function": [
        """
        def f():
            for i in range(2):
                for j in range(2):
                    print(i, j)
            print("after")
            return i + j
        r = f()
        """
    ],
    "time_steps_around_accepted_nest": [
        """
        import numpy as np
        A = np.arange(10.0)
        B = np.zeros(10)
        for t in range(3):
            for i in range(1, 9):
                B[i] = (A[i - 1] + A[i] + A[i + 1]) / 3.0
            for i in range(1, 9):
                A[i] = B[i]
            print(t, round(float(A[4]), 6))
        """
    ],
    "while_and_break_inside_for": [
        """
        import numpy as np
        out = np.zeros(6, dtype=np.int64)
        for i in range(6):
            k = i
            while k > 1:
                k //= 2
                if k == 3:
                    break
            out[i] = k
        print(out)
        """
    ],
    "game_of_life": [
        """
        import numpy as np
        g = np.zeros((8, 8), dtype=np.int64)
        g[1, 2] = g[2, 3] = g[3, 1] = g[3, 2] = g[3, 3] = 1
        for step in range(4):
            new = np.zeros_like(g)
            for i in range(1, 7):
                for j in range(1, 7):
                    n = 0
                    for di in range(-1, 2):
                        for dj in range(-1, 2):
                            if di != 0 or dj != 0:
                                n += g[i + di, j + dj]
                    new[i, j] = 1 if n == 3 or (n == 2 and g[i, j] == 1) else 0
            g = new
        print(g.sum())
        """
    ],
    "mandelbrot_with_while": [
        """
        import numpy as np
        img = np.zeros((6, 8), dtype=np.int64)
        for y in range(6):
            for x in range(8):
                c = complex(-2 + 3 * x / 8, -1 + 2 * y / 6)
                z = 0j
                n = 0
                while abs(z) < 2 and n < 20:
                    z = z * z + c
                    n += 1
                img[y, x] = n
        print(img.sum())
        """
    ],
    "math_spelled_as_alias_and_from_import": [
        """
        import numpy as np
        import math as m
        from math import sqrt, floor as fl
        A = np.linspace(0.5, 4.0, 7); B = np.zeros(7)
        for i in range(7):
            B[i] = m.sqrt(A[i]) + sqrt(A[i] + 1.0) + fl(A[i]) + m.pi
        print(B)
        """
    ],
    "alias_rebound_between_cells": [
        """
        import numpy as np
        import math as m
        from math import sqrt
        A = np.linspace(0.5, 4.0, 5); B = np.zeros(5)
        for i in range(5):
            B[i] = m.sqrt(A[i]) + sqrt(A[i])
        """,
        """
        def sqrt(x):
            return 10 * x
        m = np
        for i in range(5):
            B[i] += m.floor(A[i]) + sqrt(A[i])
        print(B)
        """,
        """
        from math import *
        for i in range(5):
            B[i] += sqrt(A[i]) + exp(A[i])
        print(B)
        """,
    ],
    "alias_imported_inside_the_function": [
        """
        import numpy as np
        def f(a):
            from math import sqrt as root
            import numpy as xp
            out = np.zeros(len(a))
            for i in range(len(a)):
                out[i] = root(a[i]) + xp.sqrt(a[i])
            return out
        r = f(np.linspace(0.0, 2.0, 6))
        print(r)
        """
    ],
    "math_domain_error_through_an_alias": [
        """
        import numpy as np
        from math import sqrt
        A = np.array([4.0, 1.0, -1.0, 9.0]); B = np.zeros(4)
        for i in range(4):
            B[i] = sqrt(A[i])
        """
    ],
    "bounds_from_a_shape_tuple": [
        """
        import numpy as np
        a = np.arange(20.0).reshape(4, 5); out = np.zeros_like(a)
        ashape = a.shape
        n, m = a.shape
        for i in range(1, ashape[0] - 1):
            for j in range(ashape[-1]):
                out[i, j] = a[i, j] * a.size + a.ndim + n * m
        print(out)
        """,
        """
        t = (3.0, 2)
        for i in range(t[1]):
            out[i, 0] = -1.0
        for i in range(t[0]):
            out[i, 1] = -2.0
        """,
    ],
    "shape_tuple_item_out_of_range": [
        """
        import numpy as np
        a = np.zeros(4); t = (4,)
        for i in range(t[1]):
            a[i] = 1.0
        """
    ],
    "loops_over_array_elements": [
        """
        import numpy as np
        a = np.array([0.5, -1.0, 2.5]); out = np.zeros(3); total = 0
        for x in a:
            total += x
        for i, v in enumerate(a):
            out[i] = v * i
        for y in reversed(a):
            last = y
        print(total, x, i, v, y, last, out)
        """,
        """
        e = np.zeros(0)
        for x in e:
            total = -1.0
        for i, v in enumerate(e, 5):
            pass
        print(total, x, i, v)
        """,
    ],
    "helpers_inlined_in_cells": [
        """
        import math
        import numpy as np
        def sq(v):
            return v * v
        def norm(x, y):
            return math.sqrt(sq(x) + sq(y))
        a = np.linspace(-1.0, 1.0, 7); b = a[::-1].copy(); out = np.zeros(7)
        for i in range(7):
            out[i] = norm(a[i], b[i])
        print(out)
        """,
        """
        def sq(v):
            return -v
        for i in range(7):
            out[i] += norm(a[i], 1.0)
        print(out)
        """,
    ],
    "monte_carlo_with_the_generators_afterwards": [
        """
        import random
        import numpy as np
        random.seed(5); np.random.seed(5)
        n = 3000; inside = 0
        for i in range(n):
            x = random.random(); y = np.random.uniform(-1.0, 1.0)
            if x * x + y * y <= 1.0:
                inside += 1
        print(4.0 * inside / n, x, y, random.random(), np.random.random())
        """,
        """
        hits = np.zeros(4)
        for i in range(4):
            if i > 1:
                hits[i] = random.random()
        print(hits, random.random())
        """,
    ],
    "shadowed_abs": [
        """
        import numpy as np
        A = np.array([1.0, 2.0, 3.0]); B = np.zeros(3)
        def abs(x):
            return 10 * x
        for i in range(3):
            B[i] = abs(A[i])
        print(B)
        """
    ],
    "shadowed_then_restored": [
        """
        import numpy as np
        A = np.array([-1.0, 2.0, -3.0]); B = np.zeros(3)
        def abs(x):
            return 10 * x
        for i in range(3):
            B[i] = abs(A[i])
        del abs
        for i in range(3):
            B[i] += abs(A[i])
        print(B)
        """
    ],
    "shadowed_range": [
        """
        import numpy as np
        A = np.zeros(5)
        def range(n):
            return [0, 2, 4]
        for i in range(5):
            A[i] = 1.0
        print(A)
        """
    ],
    "shadowed_min_max": [
        """
        import numpy as np
        A = np.array([3.0, 1.0, 2.0]); B = np.zeros(3)
        min = lambda a, b: a + b
        max = lambda a, b: a * b
        for i in range(3):
            B[i] = min(A[i], 1.0) + max(A[i], 2.0)
        print(B)
        """
    ],
    "shadowed_float_int_len": [
        """
        import numpy as np
        A = np.array([1.5, 2.5, 3.5]); B = np.zeros(3)
        float = lambda x: -x
        int = lambda x: 7
        len = lambda x: 2
        for i in range(len(A)):
            B[i] = float(A[i]) + int(A[i])
        print(B)
        """
    ],
    "math_rebound": [
        """
        import numpy as np
        A = np.array([1.0, 4.0, 9.0]); B = np.zeros(3)
        class FakeMath:
            @staticmethod
            def sqrt(x):
                return -x
        math = FakeMath()
        for i in range(3):
            B[i] = math.sqrt(A[i])
        print(B)
        """
    ],
    "np_rebound": [
        """
        import numpy
        A = numpy.array([1.0, 4.0, 9.0]); B = numpy.zeros(3)
        import math as np
        for i in range(3):
            B[i] = np.sqrt(A[i]) + np.pi
        print(B)
        """
    ],
    "math_monkeypatched": [
        """
        import math
        import numpy as np
        A = np.array([1.0, 4.0, 9.0]); B = np.zeros(3)
        saved = math.sqrt
        math.sqrt = lambda x: x + 0.5
        try:
            for i in range(3):
                B[i] = math.sqrt(A[i])
        finally:
            math.sqrt = saved
        print(B)
        for i in range(3):
            B[i] = math.sqrt(A[i])
        print(B)
        """
    ],
    "np_constant_monkeypatched": [
        """
        import numpy as np
        B = np.zeros(3)
        saved = np.pi
        np.pi = 3.0
        try:
            for i in range(3):
                B[i] = np.pi * i
        finally:
            np.pi = saved
        print(B)
        """
    ],
    "class_body_and_private_names": [
        """
        import numpy as np
        class Grid:
            size = 4
            cells = np.zeros(4)
            for i in range(4):
                cells[i] = i * 0.5
            def __init__(self):
                self.__data = np.zeros(Grid.size)
            def fill(self):
                for i in range(Grid.size):
                    self.__data[i] = i + 1.0
                return self.__data.sum()
        print(Grid.cells, Grid().fill(), hasattr(Grid, 'i'))
        """
    ],
    "exception_inside_nest_leaves_no_names": [
        """
        import numpy as np
        A = np.zeros(3)
        try:
            for i in range(5):
                A[i] = 1.0
        except IndexError as e:
            print("IndexError", e)
        print(A, [k for k in globals() if k.startswith("__loopscope")])
        """
    ],
    "recursion_in_cell": [
        """
        def fact(n):
            return 1 if n <= 1 else n * fact(n - 1)
        def msort(xs):
            if len(xs) <= 1:
                return xs
            m = len(xs) // 2
            a, b = msort(xs[:m]), msort(xs[m:])
            out = []
            i = j = 0
            while i < len(a) and j < len(b):
                if a[i] <= b[j]:
                    out.append(a[i]); i += 1
                else:
                    out.append(b[j]); j += 1
            return out + a[i:] + b[j:]
        print(fact(10), msort([5, 3, 9, 1, 4]))
        """
    ],
    "undefined_name_in_nest": [
        """
        import numpy as np
        A = np.zeros(3)
        for i in range(3):
            A[i] = not_defined_anywhere
        """
    ],
    "float_bound": [
        """
        import numpy as np
        A = np.zeros(3)
        for i in range(3.0):
            A[i] = 1.0
        """
    ],
    "numpy_integer_bound": [
        """
        import numpy as np
        A = np.zeros(5)
        n = np.int64(4)
        for i in range(n):
            A[i] = i * 1.5
        print(A, i, type(i).__name__)
        """
    ],
    # A temporary assigned under an `if` is private to each iteration; after
    # the loop it holds the value the last assigning iteration left, or stays
    # unbound when no iteration assigned it.
    "temporary_under_if_read_after_the_loop": [
        """
        import numpy as np
        out = np.zeros((12, 16), np.int64)
        for i in range(12):
            for j in range(16):
                cr = -2.0 + 3.0 * j / 16
                ci = -1.0 + 2.0 * i / 12
                zr = 0.0
                zi = 0.0
                n = 0
                for k in range(30):
                    if zr * zr + zi * zi <= 4.0:
                        t = zr * zr - zi * zi + cr
                        zi = 2.0 * zr * zi + ci
                        zr = t
                        n += 1
                out[i, j] = n
        print(int(out.sum()), t, zr, n)
        """
    ],
    "last_matching_index": [
        """
        import numpy as np
        A = np.sin(np.arange(500.0))
        last = -1
        hits = 0
        for i in range(500):
            if A[i] > 0.99:
                last = i
                hits += 1
        print(last, hits)
        for i in range(500):
            if A[i] > 0.999999:
                first_big = i * 2
        print("first_big" in globals())
        """
    ],
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(CELLS))
def test_cell_behaves_as_cpython(shell, name, mode):
    want = _plain(CELLS[name])
    got = _in_shell(shell, CELLS[name], mode)
    assert got[1] == want[1], f"exception differs in mode {mode}"
    assert got[0] == want[0], f"output differs in mode {mode}"
    assert got[2] == want[2], f"variables differ in mode {mode}"


def test_shadowed_builtin_is_reported_with_its_reason(shell):
    with contextlib.redirect_stdout(io.StringIO()):
        shell.run_line_magic("loopscope", "auto full")  # the summary level leaves out short Python loops
    shell.user_ns.clear()
    shell.init_user_ns()
    shown = []
    from IPython.core import display_functions

    real = display_functions.display

    def capture(obj, *a, **k):
        shown.append(obj)

    import IPython.display

    saved = IPython.display.display
    IPython.display.display = capture
    try:
        shell.run_cell(textwrap.dedent(CELLS["shadowed_abs"][0]), silent=True)
    finally:
        IPython.display.display = saved
    text = " ".join(str(o.get("text/plain", "")) for o in shown if isinstance(o, dict))
    assert "abs is a function defined in this program, not Python's built-in abs" in text
    assert real is display_functions.display


# --- functions -----------------------------------------------------------------------------


def fact(n):
    return 1 if n <= 1 else n * fact(n - 1)


def merge_sort(A, lo, hi, tmp):
    if hi - lo <= 1:
        return
    mid = (lo + hi) // 2
    merge_sort(A, lo, mid, tmp)
    merge_sort(A, mid, hi, tmp)
    i, j = lo, mid
    for k in range(lo, hi):
        if j >= hi or (i < mid and A[i] <= A[j]):
            tmp[k] = A[i]
            i += 1
        else:
            tmp[k] = A[j]
            j += 1
    for k in range(lo, hi):
        A[k] = tmp[k]


def scale_rows(A: np.ndarray, s: float = 2.0, *, shift: float = 1.0) -> np.ndarray:
    """Scales every row."""
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            A[i, j] = A[i, j] * s + shift
    return A


def make_closure(k):
    def inner(A):
        for i in range(A.shape[0]):
            A[i] = A[i] * k
        return inner.__name__

    return inner


def make_recursive_closure():
    def count(n, A):
        if n == 0:
            return 0
        for i in range(A.shape[0]):
            A[i] += 1.0
        return 1 + count(n - 1, A)

    return count


class Accumulator:
    def __init__(self, n):
        self.__weights = np.arange(n, dtype=np.float64)

    def weighted(self, A):
        total = 0.0
        for i in range(A.shape[0]):
            total += A[i] * self.__weights[i]
        return total


class Scaled(Accumulator):
    def weighted(self, A):
        base = super().weighted(A)
        for i in range(A.shape[0]):
            A[i] = A[i] * 2.0
        return base


def logged(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        wrapper.calls += 1
        return fn(*args, **kwargs)

    wrapper.calls = 0
    return wrapper


@logged
def logged_sum(A):
    s = 0.0
    for i in range(A.shape[0]):
        s += A[i]
    return s


def generator_of_sums(A):
    for r in range(A.shape[0]):
        s = 0.0
        for j in range(A.shape[1]):
            s += A[r, j]
        yield s


def mandelbrot_for_if(out, maxit):
    h, w = out.shape
    for i in range(h):
        for j in range(w):
            cr = -2.0 + 3.0 * j / w
            ci = -1.0 + 2.0 * i / h
            zr = 0.0
            zi = 0.0
            n = 0
            for k in range(maxit):
                if zr * zr + zi * zi <= 4.0:
                    t = zr * zr - zi * zi + cr
                    zi = 2.0 * zr * zi + ci
                    zr = t
                    n += 1
            out[i, j] = n
    return out


def last_index_above(A, level):
    last = -1
    for i in range(A.shape[0]):
        if A[i] > level:
            last = i
    return last


def temporary_never_assigned(A):
    for i in range(A.shape[0]):
        if A[i] > 10.0:
            q = A[i] * 2.0
    return "q" in locals()


def _args():
    return {
        "fact": (fact, lambda: (8,)),
        "merge_sort": (merge_sort, lambda: (np.array([5.0, 1.0, 4.0, 2.0, 3.0, 0.5]), 0, 6, np.zeros(6))),
        "scale_rows": (scale_rows, lambda: (np.arange(6.0).reshape(2, 3),)),
        "closure": (make_closure(3.0), lambda: (np.arange(4.0),)),
        "recursive_closure": (make_recursive_closure(), lambda: (3, np.zeros(4))),
        "method": (Accumulator(4).weighted, lambda: (np.arange(4.0),)),
        "super_method": (Scaled(4).weighted, lambda: (np.arange(4.0),)),
        "wrapped": (logged_sum, lambda: (np.arange(5.0),)),
        "partial": (functools.partial(scale_rows, s=3.0), lambda: (np.ones((2, 2)),)),
        "lambda": (lambda A: A.sum(), lambda: (np.arange(3.0),)),
        "builtin": (sorted, lambda: ([3, 1, 2],)),
        "generator": (lambda A: list(generator_of_sums(A)), lambda: (np.arange(6.0).reshape(2, 3),)),
        "mandelbrot_for_if": (mandelbrot_for_if, lambda: (np.zeros((9, 13), np.int64), 25)),
        "last_index_above": (last_index_above, lambda: (np.cos(np.arange(300.0)), 0.9)),
        "last_index_above_none": (last_index_above, lambda: (np.cos(np.arange(300.0)), 2.0)),
        "temporary_never_assigned": (temporary_never_assigned, lambda: (np.arange(20.0),)),
    }


def _same(a, b):
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and (a == b or (a != a and b != b))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", sorted(_args()))
def test_functions_run_as_in_cpython(case, device):
    fn, make = _args()[case]
    want_args = make()
    want = fn(*want_args)
    for how in ("run", "jit"):
        got_args = make()
        if how == "run":
            got = loopscope.run(fn, *got_args, device=device)
        else:
            got = loopscope.jit(fn, device=device)(*got_args)
        assert _same(got, want), (how, got, want)
        for x, y in zip(got_args, want_args):
            assert _same(x, y), (how, x, y)


@pytest.mark.parametrize("device", DEVICES)
def test_jit_decorator_on_recursive_function(device):
    src = textwrap.dedent("""
        import loopscope
        @loopscope.jit(device=DEVICE)
        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)
        value = fib(12)
    """).replace("DEVICE", repr(device))
    ns = {"__name__": "fib_module"}
    exec(compile(src, "<fib>", "exec"), ns)
    assert ns["value"] == 144


def test_rebuilt_function_keeps_its_attributes():
    seen = []

    def hook(nid, env):
        seen.append(nid)
        return None

    g, nests = _rewrite.compile_function(scale_rows, hook)
    assert g.__name__ == "scale_rows" and g.__qualname__ == "scale_rows"
    assert g.__defaults__ == (2.0,) and g.__kwdefaults__ == {"shift": 1.0}
    assert g.__annotations__ == scale_rows.__annotations__ and g.__doc__ == "Scales every row."
    assert g.__globals__ is scale_rows.__globals__ and g.__module__ == scale_rows.__module__
    w, _ = _rewrite.compile_function(logged_sum, hook)
    assert w.__wrapped__ is logged_sum.__wrapped__ and w.calls == logged_sum.calls
    assert nests and seen == [] and g(np.ones((1, 1)))[0, 0] == 3.0 and seen


def test_rebuilt_function_has_only_the_users_locals():
    # The replacement assigns no name: co_varnames, co_cellvars and the
    # cell's namespace see only the user's names.
    g, nests = _rewrite.compile_function(scale_rows, lambda nid, env: None)
    assert nests
    for attr in ("co_varnames", "co_cellvars", "co_freevars", "co_argcount", "co_nlocals"):
        assert getattr(g.__code__, attr) == getattr(scale_rows.__code__, attr), attr


def scalars_and_locals(A, k):
    s = 0.0
    for i in range(A.shape[0]):
        s += A[i] * k
    inner = [name for name in locals()]
    return sorted(locals()), inner, sorted(vars())


def closure_locals(k):
    def f(A):
        for i in range(A.shape[0]):
            A[i] = k
        return sorted(locals())

    return f


@pytest.mark.parametrize("device", DEVICES)
def test_locals_of_a_rebuilt_function_are_the_users(device):
    # The hook reaches the rebuilt code as a constant, not as a free variable
    # that locals() and vars() would list.
    want = scalars_and_locals(np.arange(4.0), 2.0)
    assert loopscope.run(scalars_and_locals, np.arange(4.0), 2.0, device=device) == want
    f = closure_locals(3.0)
    assert loopscope.run(f, np.zeros(3), device=device) == f(np.zeros(3))


def test_nests_answered_on_several_threads_keep_their_own_results():
    import threading

    def total(n, scale):
        t = 0.0
        for r in range(3):  # declined around an accepted nest: two replacements in flight
            print(end="")
            for i in range(n):
                t += i * scale
        return t

    results, errors = {}, []

    def work(k):
        try:
            results[k] = [loopscope.run(total, 200 + k, float(k), device="cpu") for _ in range(20)]
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for k in range(4):
        assert results[k] == [total(200 + k, float(k))] * 20


def test_function_without_source_runs_as_it_is():
    ns = {}
    exec("def f(A):\n    for i in range(A.shape[0]):\n        A[i] = i\n    return 'done'\n", ns)
    A = np.zeros(3)
    assert loopscope.run(ns["f"], A, device="cpu") == "done" and list(A) == [0, 1, 2]
    assert "source" in _run.not_rewritten(ns["f"])
    rep = loopscope.explain(ns["f"], np.zeros(3))
    assert rep["nests"] == [] and "source" in rep["not_analysed"]
    assert loopscope.run(len, [1, 2]) == 2


@pytest.mark.parametrize("device", ["cpu", "cpu-serial", "gpu-emulated", "auto"])
def test_shadowed_global_declines_with_reason(device):
    src = textwrap.dedent("""
        import numpy as np
        def abs(x):
            return 10 * x
        def f(A, B):
            for i in range(A.shape[0]):
                B[i] = abs(A[i])
    """)
    ns = {"__name__": "shadow_module"}
    exec(compile(src, "<shadow>", "exec"), ns)
    # getsource needs a file: give the function a source through linecache
    import linecache

    linecache.cache["<shadow>"] = (len(src), None, src.splitlines(True), "<shadow>")
    A, B = np.array([1.0, 2.0, 3.0]), np.zeros(3)
    _run.reset_last_runs()
    loopscope.run(ns["f"], A, B, device=device)
    assert list(B) == [10.0, 20.0, 30.0]
    reasons = [r["reason"] for r in _run.last_runs().values()]
    assert any("abs is a function defined in this program, not Python's built-in abs" in r for r in reasons), reasons
    rep = loopscope.explain(ns["f"], A, B)
    assert (
        "abs is a function defined in this program, not Python's built-in abs" in rep["nests"][0]["decline"]["reason"]
    )


def test_module_attribute_monkeypatch_declines():
    def f(A, B):
        for i in range(A.shape[0]):
            B[i] = math.sqrt(A[i])

    A, B = np.array([1.0, 4.0]), np.zeros(2)
    saved = math.sqrt
    math.sqrt = lambda x: x + 0.25
    try:
        loopscope.run(f, A, B, device="cpu")
    finally:
        math.sqrt = saved
    assert list(B) == [1.25, 4.25]
    loopscope.run(f, A, B, device="cpu")
    assert list(B) == [1.0, 2.0]


def test_expression_inputs_do_not_run_user_code_twice():
    class Sized:
        calls = 0

        def __len__(self):
            Sized.calls += 1
            return 3

    def f(x, A):
        for i in range(len(x)):
            A[i] = i
        return A

    A = np.zeros(3)
    loopscope.run(f, Sized(), A, device="cpu")
    assert Sized.calls == 1 and list(A) == [0, 1, 2]


@pytest.mark.parametrize("device", ["cpu", "cpu-serial", "gpu-emulated", "auto"])
@pytest.mark.parametrize("setting", ["errstate", "seterr", "filter"])
def test_numpy_error_handling_that_raises_runs_python(device, setting):
    def f(A, B):
        for i in range(A.shape[0]):
            B[i] = A[i] / B[i]

    def call(fn):
        A, B = np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 2.0])
        try:
            if setting == "errstate":
                with np.errstate(divide="raise"):
                    fn(A, B)
            elif setting == "seterr":
                old = np.seterr(divide="raise")
                try:
                    fn(A, B)
                finally:
                    np.seterr(**old)
            else:
                with warnings.catch_warnings():
                    warnings.simplefilter("error")
                    fn(A, B)
        except Exception as exc:
            return type(exc).__name__, str(exc), list(B)
        return None, None, list(B)

    want = call(f)
    assert want[0] in ("FloatingPointError", "RuntimeWarning")
    _run.reset_last_runs()
    got = call(lambda A, B: loopscope.run(f, A, B, device=device))
    assert got == want
    # with the default settings the same nest runs natively again
    A, B = np.array([1.0, 2.0, 3.0]), np.array([1.0, 4.0, 2.0])
    loopscope.run(f, A, B, device=device)
    assert list(B) == [1.0, 0.5, 1.5]


@pytest.mark.parametrize("device", ["cpu", "cpu-serial", "gpu-emulated"])
def test_builtin_name_assigned_inside_the_nest_runs_python(device):
    def f(A):
        max = A[0]
        for i in range(A.shape[0]):
            max = max(max, A[i])
        return max

    A = np.array([1.0, 3.0, 2.0])
    with pytest.raises(TypeError) as want:
        f(A)
    with pytest.raises(TypeError) as got:
        loopscope.run(f, A, device=device)
    assert str(got.value) == str(want.value)
    rep = loopscope.explain(f, A)
    assert "max holds a value of the loop" in rep["nests"][0]["decline"]["reason"]


def test_an_int_too_long_to_print_declines_with_a_sentence():
    def f(A, t):
        for i in range(A.shape[0]):
            A[i] = t * 0 + i

    A = np.zeros(3)
    _run.reset_last_runs()
    loopscope.run(f, A, 10**5000, device="cpu")
    assert list(A) == [0.0, 1.0, 2.0]
    reasons = [r["reason"] for r in _run.last_runs().values()]
    assert reasons == ["t (an integer of 16610 bits) is too large an integer"]


def _traced_body(A):
    for i in range(A.shape[0]):
        A[i] = i * 2.0


def test_a_debugger_or_tracer_gets_every_line_of_the_loop():
    """Under a line tracer (the debugger's breakpoints work so) a nest runs as
    plain Python, says why, and the tracer sees the body's lines."""
    import sys

    import loopscope
    from loopscope import _run

    body_line = _traced_body.__code__.co_firstlineno + 2
    seen = []

    def tracer(frame, event, arg):
        if event == "line" and frame.f_code.co_name == "_traced_body":
            seen.append(frame.f_lineno)
        return tracer

    A = np.zeros(5)
    _run.reset_last_runs()
    sys.settrace(tracer)
    try:
        loopscope.run(_traced_body, A, device="cpu")
    finally:
        sys.settrace(None)
    assert A.tolist() == [0.0, 2.0, 4.0, 6.0, 8.0]
    assert seen.count(body_line) == 5, (body_line, seen)  # once per iteration, never for generated code
    (rec,) = _run.last_runs().values()
    assert rec["status"] == "declined" and "debugger or tracer" in rec["reason"]
    # Without the tracer, the same nest runs natively again.
    loopscope.run(_traced_body, A, device="cpu")
    assert list(_run.last_runs().values())[-1]["status"] == "ok"
