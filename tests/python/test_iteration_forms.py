"""More loop forms made nests (``_iteration``), against CPython on every
device (``differential.check``):

- a ``while`` loop at the top of a nest (with else, break and continue),
  the names it assigns written back as Python leaves them;
- ``for d in (-1, 0, 1)``: a literal tuple or list of int constants;
- ``for row in a`` over a 2-D array whose row is used as an array, ``row``
  left as the last row's view after the loop;
- ``np.ndindex``, ``np.ndenumerate`` and ``a.flat`` unpacked to names;
- a loop variable also assigned otherwise in the nest (``k = 0`` then
  ``for k in range(...)``).

Each form runs natively where the values fit, and as Python, with a
sentence that names no hidden name, where they do not.
"""

import contextlib
import io
import json

import numpy as np
import pytest

import loopscope
from differential import check, use_temporary_cache  # noqa: F401
from loopscope import _run
from nestgen import make_function

CPU = ("cpu", "cpu-serial")


def define(source, name="f", **namespace):
    return make_function(source, name, namespace=namespace)


def reasons(records):
    return [r["reason"] for recs in records.values() for r in recs if r["status"] != "ok"]


def statuses(records, device):
    return [r["status"] for r in records[device]]


def explained(fn, *args):
    rep = loopscope.explain(fn, *args)
    assert "$" not in json.dumps(rep), "a hidden name reached explain's report"
    return rep


# --- while loops at the top of a nest ---------------------------------------------------

LOTKA = """
def f(t_end, dt):
    x, y = 10.0, 5.0
    t = 0.0
    steps = 0
    while t < t_end:
        x, y = x + dt * (1.1 * x - 0.4 * x * y), y + dt * (0.1 * x * y - 0.4 * y)
        t += dt
        steps += 1
    return x, y, t, steps
"""


@pytest.mark.parametrize("t_end", [1.0, 0.0, -1.0])
def test_a_scalar_while_runs_natively(t_end):
    check(define(LOTKA), lambda: (t_end, 0.01))


def test_a_while_around_a_for_with_else_break_and_continue():
    fn = define(
        """
        def f(a, limit):
            k = 0
            found = -1
            while k < limit:
                k += 1
                if k % 3 == 0:
                    continue
                for i in range(len(a)):
                    a[i] += k
                if a[0] > 20:
                    found = k
                    break
            else:
                found = -2
            return k, found
        """
    )
    for limit in (0, 4, 50):
        check(fn, lambda: (np.arange(5.0), limit))


def test_what_a_while_assigns_is_left_as_python_leaves_it():
    fn = define(
        """
        def f(a, n):
            k = 0
            while k < n:
                last = a[k]
                k += 1
            return k, last
        """
    )
    check(fn, lambda: (np.array([1.5, 2.5, -3.0]), 3))
    # no iteration: `last` is never bound, and Python raises at the return
    recs = check(fn, lambda: (np.array([1.5, 2.5, -3.0]), 0))
    assert statuses(recs, "cpu") == ["ok"]


def test_a_while_true_with_break_and_a_raise_midway():
    fn = define(
        """
        def f(a):
            k = 0
            s = 0.0
            while True:
                s += 1.0 / float(a[k])
                a[k] = s
                k += 1
                if k == len(a):
                    break
            return s, k
        """
    )
    check(fn, lambda: (np.array([1.0, 2.0, 4.0]),))
    check(fn, lambda: (np.array([1.0, 0.0, 4.0]),))  # ZeroDivisionError with a partial write


def test_a_while_of_python_statements_declines_and_its_nests_run_natively():
    fn = define(
        """
        def f(a):
            seen = set()
            k = 0
            while k < 3:
                seen.add(k)
                for i in range(len(a)):
                    a[i] = a[i] * 2.0 + k
                k += 1
            return sorted(seen), k
        """
    )
    recs = check(fn, lambda: (np.arange(4.0),))
    # the while declined statically (no run record); its for nest ran natively, once per iteration
    assert statuses(recs, "cpu") == ["ok"]
    rep = explained(fn, np.arange(4.0))
    outer = rep["nests"][0]
    assert outer["declined"] and "seen.add" in outer["decline"]["reason"], outer["decline"]
    assert [l["var"] for l in outer["loops"]] == ["i"]


def test_a_while_that_appends_runs_natively_with_its_nests():
    # An append inside a while is a store into a hidden buffer (_appends):
    # the whole while runs natively, the list is extended as Python would.
    fn = define(
        """
        def f(a):
            seen = []
            k = 0
            while k < 3:
                seen.append(k)
                for i in range(len(a)):
                    a[i] = a[i] * 2.0 + k
                k += 1
            return seen, k
        """
    )
    recs = check(fn, lambda: (np.arange(4.0),))
    assert statuses(recs, "cpu") == ["ok"]
    rep = explained(fn, np.arange(4.0))
    assert not rep["nests"][0]["declined"]


def test_a_while_is_shown_as_a_while_loop():
    fn = define(LOTKA)
    rep = explained(fn, 1.0, 0.01)
    (nest,) = rep["nests"]
    assert nest["line"] == 5 and nest["analysed"]
    assert [(l["var"], l["line"]) for l in nest["loops"]] == [("while", 5)]
    recs = check(fn, lambda: (1.0, 0.01))
    assert all("$" not in r["parallel_loops"] for rs in recs.values() for r in rs)


def test_a_while_whose_values_decline_runs_python_and_its_nests_natively():
    fn = define(
        """
        def f(a, out):
            k = 0
            while k < 2:
                for i in range(len(out)):
                    out[i] += a[i] * k
                k += 1
            return k
        """
    )
    # (a list of Python floats runs natively: test_list_reads.py)
    recs = check(fn, lambda: ([1.0, np.float64(2.0), 3.0], np.zeros(3)), native=False)
    assert any("NumPy scalar" in r for r in reasons(recs)), reasons(recs)


# --- literal tuples and lists of ints ---------------------------------------------------

LIFE = """
def f(board):
    n, m = board.shape
    out = np.zeros_like(board)
    for i in range(n):
        for j in range(m):
            c = 0
            for di in (-1, 0, 1):
                for dj in [-1, 0, 1]:
                    if di != 0 or dj != 0:
                        c += board[(i + di) % n, (j + dj) % m]
            out[i, j] = 1 if c == 3 or (c == 2 and board[i, j] == 1) else 0
    return out, di, dj
"""


def test_neighbours_over_a_literal_tuple_run_natively():
    board = (np.random.default_rng(5).random((7, 6)) < 0.4).astype(np.int64)
    recs = check(define(LIFE), lambda: (board.copy(),))
    assert "i" in recs["cpu"][0]["parallel_loops"]


def test_constants_that_do_not_step_evenly_and_empty_ones():
    fn = define(
        """
        def f(a):
            c = 0
            d = 100
            for d in ():
                c += d
            for e in [3, 1, 4, 1, -5]:
                for w in (2,):
                    c += a[e % 3] * w + e
                if e == 4 and c > 1000:
                    break
            return c, d, e, w
        """
    )
    check(fn, lambda: (np.array([1, 2, 3]),))
    check(fn, lambda: (np.array([1000, 2, 3]),))


# --- rows of an array -------------------------------------------------------------------

ROWS = """
def f(a):
    total = 0.0
    row = "before"
    for row in a:
        for v in row:
            total += v
        total += len(row) + row.shape[0] + row[0]
    return total, row
"""


@pytest.mark.parametrize("shape", [(3, 4), (1, 1), (0, 4)])
def test_rows_of_a_2d_array_run_natively(shape):
    check(define(ROWS), lambda: (np.arange(float(np.prod(shape))).reshape(shape) * 0.5,))


def test_the_row_after_the_loop_is_a_view_of_the_array():
    fn = define(
        """
        def f(a):
            for row in a:
                for j in range(len(row)):
                    row[j] = row[j] * 2.0 + j
            row[0] = -1.0
            return row
        """
    )
    recs = check(fn, lambda: (np.ones((3, 4)),))
    assert statuses(recs, "cpu") == ["ok"]
    a = np.ones((3, 4))
    row = loopscope.run(fn, a, device="cpu")
    assert row.base is a and a[2, 0] == -1.0 and row.shape == (4,)


def test_rows_of_the_wrong_dimensions_run_python_with_a_reason():
    fn = define(ROWS)
    recs = check(fn, lambda: (np.arange(24.0).reshape(2, 3, 4),), native=False)
    assert any("3 dimension(s)" in r for r in reasons(recs)), reasons(recs)
    check(fn, lambda: (np.arange(4.0),), native=False)  # Python raises: a float is not iterable


def test_a_row_used_as_a_whole_declines():
    fn = define(
        """
        def f(a, out):
            for row in a:
                out[0] += row[0]
                keep = row
            return keep
        """
    )
    check(fn, lambda: (np.ones((3, 2)), np.zeros(1)), native=False)
    rep = explained(fn, np.ones((3, 2)), np.zeros(1))
    assert rep["nests"][0]["declined"]


def test_image_brightness_over_rows_of_uint8():
    fn = define(
        """
        def f(img):
            total = 0
            count = 0
            for row in img:
                for p in row:
                    total += int(p)
                    count += 1
            return total / count
        """
    )
    img = np.random.default_rng(3).integers(0, 256, (5, 7), dtype=np.uint8)
    check(fn, lambda: (img.copy(),), native=CPU)


# --- np.ndindex, np.ndenumerate, a.flat -------------------------------------------------


def test_ndindex_of_a_shape():
    fn = define(
        """
        def f(a, out):
            for i, j in np.ndindex(a.shape):
                out[i, j] = a[i, j] * 2.0 + i - j
            return i, j
        """
    )
    recs = check(fn, lambda: (np.arange(12.0).reshape(3, 4), np.zeros((3, 4))))
    assert recs["cpu"][0]["parallel_loops"].startswith("i")
    check(fn, lambda: (np.arange(24.0).reshape(2, 3, 4), np.zeros((3, 4))), native=False)  # Python raises


@pytest.mark.parametrize("n, m", [(3, 4), (3, 0), (0, 2), (-1, 2)])
def test_ndindex_of_counts(n, m):
    fn = define(
        """
        def f(n, m, out):
            i = j = -1
            for i, j in np.ndindex(n, m):
                if i == j:
                    continue
                out[i, j] = i * 10 + j
            return i, j
        """
    )
    recs = check(fn, lambda: (n, m, np.zeros((3, 4), np.int64)), native=n >= 0)
    if n < 0:  # Python raises ValueError (negative dimensions)
        assert any("not a count" in r for r in reasons(recs)), reasons(recs)


def test_ndenumerate_and_flat():
    fn = define(
        """
        def f(a):
            s = 0.0
            for (i, j), v in np.ndenumerate(a):
                s += v * i - j
            t = 0.0
            for w in a.flat:
                t += w * w
            return s, t, i, j, v, w
        """
    )
    check(fn, lambda: (np.arange(12.0).reshape(3, 4),))
    recs = check(fn, lambda: (np.arange(8.0).reshape(2, 2, 2),), native=False)  # Python raises on unpacking
    assert any("3 dimension(s)" in r for r in reasons(recs)), reasons(recs)


def test_ndindex_forms_that_stay_python():
    fn = define(
        """
        def f(a, out):
            for idx in np.ndindex(a.shape):
                out[idx] = a[idx] + 1.0
            for i, j in np.ndindex(a.shape):
                if a[i, j] > 4:
                    break
                out[i, j] += 1.0
            return idx, i, j
        """
    )
    recs = check(fn, lambda: (np.arange(6.0).reshape(2, 3), np.zeros((2, 3))), native=False)
    assert all(r["status"] != "ok" for rs in recs.values() for r in rs)
    rep = explained(fn, np.arange(6.0).reshape(2, 3), np.zeros((2, 3)))
    why = [n["decline"]["reason"] for n in rep["nests"]]
    assert why[0].startswith("idx holds a whole tuple from np.ndindex(a.shape)"), why
    assert why[1].startswith("a break in the loop over np.ndindex(a.shape)"), why


def test_ndindex_of_another_np_declines():
    class FakeNumpy:
        @staticmethod
        def ndindex(*shape):
            return np.ndindex(*shape[::-1])

    fn = define(
        """
        def f(a, out):
            for i, j in np.ndindex(a.shape):
                out[0] += a[i, j] * (i + 1)
            return i, j
        """
    )
    fn.__globals__["np"] = FakeNumpy()
    recs = check(fn, lambda: (np.arange(6.0).reshape(2, 3), np.zeros(1)), native=False)
    assert any("np is a FakeNumpy" in r for r in reasons(recs)), reasons(recs)


# --- a loop variable also assigned otherwise in the nest ---------------------------------

JULIA = """
def f(out, cr, ci, max_iter):
    n = out.shape[0]
    for i in range(n):
        for j in range(n):
            zr = -1.5 + 3.0 * j / n
            zi = -1.5 + 3.0 * i / n
            k = 0
            for k in range(max_iter):
                if zr * zr + zi * zi >= 4.0:
                    break
                zr, zi = zr * zr - zi * zi + cr, 2 * zr * zi + ci
            out[i, j] = k / max(max_iter, 1)
    return k
"""


@pytest.mark.parametrize("max_iter", [30, 0])
def test_a_loop_variable_also_assigned_as_a_scalar(max_iter):
    recs = check(define(JULIA), lambda: (np.zeros((6, 6)), -0.8, 0.156, max_iter))
    assert "i" in recs["cpu"][0]["parallel_loops"]
    rep = explained(define(JULIA), np.zeros((6, 6)), -0.8, 0.156, max_iter)
    assert [l["var"] for l in rep["nests"][0]["loops"]] == ["i", "j", "k"]


# --- the same forms at the top level of a cell (the kernel's rewriter) ------------------

FORM_CELLS = [
    """
    import numpy as np
    a = np.arange(12.0).reshape(3, 4)
    out = np.zeros((3, 4))
    k = 0
    total = 0.0
    while k < 3:
        for j in range(4):
            out[k, j] = a[k, j] * 2.0 + k
        k += 1
    else:
        done = True
    for row in a:
        for v in row:
            total += v
    for i, j in np.ndindex(a.shape):
        out[i, j] += i - j
    for d in (-1, 0, 1):
        total += d * a[1, d + 1]
    print(k, total, row.base is a, i, j, d)
    """,
    """
    row[0] = -1.0
    print(a[2, 0])
    """,
]


@pytest.mark.parametrize("mode", ["cpu", "gpu", "auto", "python", "off"])
def test_the_forms_in_a_cell_behave_as_python(mode):
    from IPython.testing import globalipapp
    from test_interception import _in_shell, _plain

    shell = globalipapp.start_ipython() or globalipapp.get_ipython()
    with contextlib.redirect_stdout(io.StringIO()):
        shell.run_line_magic("load_ext", "loopscope")
    _run.reset_last_runs()
    want = _plain(FORM_CELLS)
    assert want[1] is None, want
    assert _in_shell(shell, FORM_CELLS, mode) == want
    if mode == "cpu":
        runs = _run.last_runs()
        assert len(runs) == 4 and all(r["status"] == "ok" for r in runs.values()), runs


def test_other_loop_forms_whose_variable_is_also_assigned():
    fn = define(
        """
        def f(a, out):
            for i in range(len(out)):
                d = -7
                for d in (-1, 0, 1):
                    out[i] += a[(i + d) % len(a)] * d
                j = 100
                for j, x in enumerate(a, 2):
                    out[i] += x * j
                out[i] += d + j
            return d, j
        """
    )
    recs = check(fn, lambda: (np.arange(5.0), np.zeros(4)))
    assert statuses(recs, "cpu") == ["ok"]
    check(fn, lambda: (np.zeros(0), np.zeros(3)), native=False)  # Python raises ZeroDivisionError


# --- and/or in a condition ---------------------------------------------------------------


def test_and_or_of_numbers_in_conditions():
    fn = define(
        """
        def f(lab, x):
            c = 0
            for i in range(lab.shape[0]):
                if i > 0 and lab[i - 1] and lab[i] < 5 or not (x[i] and i):
                    c += 1
                c += 1 if (lab[i] and x[i]) else 0
                k = 0
                while k < 3 and (lab[i] or -x[i]):
                    k += 1
                c += k
            return c
        """
    )
    lab = np.array([0, 3, 7, 2, 0, 1], dtype=np.int64)
    x = np.array([0.0, float("nan"), -0.0, 2.5, 0.0, 1j.imag])
    recs = check(fn, lambda: (lab.copy(), x.copy()))
    assert statuses(recs, "cpu") == ["ok"]
    check(fn, lambda: (lab.astype(np.uint8), x.astype(np.float32)), native=CPU)


def test_and_or_whose_value_is_used_keep_their_decline():
    fn = define(
        """
        def f(lab, x, out):
            for i in range(lab.shape[0]):
                out[i] = lab[i] and x[i]
        """
    )
    recs = check(fn, lambda: (np.array([0, 3, 7]), np.array([0.5, 1.5, 2.5]), np.zeros(3)), native=False)
    assert any("'and'" in r for r in reasons(recs)), reasons(recs)


@pytest.mark.parametrize(
    "body",
    [
        "for i, j in np.ndindex(a.shape):\n        if a[i, j] > limit:\n            return i, j\n",
        "for row in a:\n        for v in row:\n            if v > limit:\n                return v\n",
        "k = 0\n    while k < a.shape[1]:\n        if a[1, k] > limit:\n            return k\n        k += 1\n",
    ],
)
def test_a_return_inside_the_new_forms(body):
    fn = define("def f(a, limit):\n    " + body + "    return None\n")
    for limit in (4.0, 100.0):
        recs = check(fn, lambda: (np.arange(12.0).reshape(3, 4), limit))
        assert statuses(recs, "cpu") == ["ok"]


def test_the_kernels_report_names_a_while_loop():
    from loopscope import _report, _rewrite

    fn = define(LOTKA)
    _, nests = _rewrite.compile_function(fn, lambda nest_id, env: None)
    (rec,) = nests
    report = _report.NestReport(nest=rec.to_dict(), device="cpu", decision="runs on the CPU")
    assert _report.headline(report) == "loop nest at line 5 (while): runs on the CPU"
    assert _report.loop_head("i") == "for i"
