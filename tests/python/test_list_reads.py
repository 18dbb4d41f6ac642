"""Python lists and tuples a loop nest only reads (kernel/python/loopscope/_lists.py).

Every function runs in CPython and through ``loopscope.run`` on each device
(differential.check): same values with their types (an item read from a list
is a Python float, int or bool, never a NumPy scalar), same arrays bit for
bit, same exceptions and partial writes, and the nest must have run
natively. What must stay Python (a list the nest changes, rows of different
lengths, mixed kinds, NumPy scalars, ...) says why in a sentence, and gives
CPython's results.
"""

import numpy as np
import pytest

import differential
import loopscope
from differential import outcome, same, use_temporary_cache  # noqa: F401
from loopscope import _lists, _rewrite, _run
from nestgen import make_function


def check(fn, make_args, native=True):
    return differential.check(fn, make_args, native)


def declined_with(records, words):
    """Every nest on the native devices ran as Python, saying ``words``."""
    for device in ("cpu", "cpu-serial", "gpu-emulated"):
        recs = records[device]
        assert recs and all(r["status"] == "declined" for r in recs), (device, recs)
        assert all(words in r["reason"] for r in recs), (device, recs)


# --- floats --------------------------------------------------------------------------


def test_weights_list_convolution():
    fn = make_function(
        """
        def kernel(b, out):
            w = [0.25, 0.5, 0.25]
            for i in range(1, len(b) - 1):
                s = 0.0
                for k in range(3):
                    s += w[k] * b[i + k - 1]
                out[i] = s
            return s
        """
    )
    check(fn, lambda: (np.linspace(0.0, 3.0, 50), np.zeros(50)))


def test_item_read_is_a_python_float():
    # x holds w[k] afterwards: a Python float, as in CPython (not np.float64);
    # x / 0.0 would raise ZeroDivisionError, not warn.
    fn = make_function(
        """
        def kernel(w, a):
            x = 0
            t = 0.0
            for i in range(len(a)):
                x = w[i % len(w)]
                t = t + x / 3.0
                a[i] = x * 2.0
            return x, t
        """
    )
    records = check(fn, lambda: ([0.1, 2.5, -3.75], np.zeros(7)))
    assert records["cpu"][0]["status"] == "ok"


def test_division_by_a_zero_item_raises_like_python():
    fn = make_function(
        """
        def kernel(w, a):
            for i in range(len(a)):
                a[i] = 1.0 / w[i]
        """
    )
    check(fn, lambda: ([1.0, 2.0, 0.0, 4.0], np.zeros(4)))


def test_tuple_constant_and_negative_indices():
    fn = make_function(
        """
        def kernel(a, out):
            w = (1.0, -2.0, 0.5)
            for i in range(len(a)):
                out[i] = w[-1] * a[i] + w[-3] - w[i % 3 - 3]
        """
    )
    check(fn, lambda: (np.arange(9.0), np.zeros(9)))


def test_for_over_list_and_enumerate():
    fn = make_function(
        """
        def kernel(x, y, coeffs):
            for i in range(len(x)):
                acc = 0.0
                for c in coeffs:
                    acc = acc * x[i] + c
                y[i] = acc
                for k, c in enumerate(coeffs):
                    y[i] += k * c
            return acc, c, k
        """
    )
    check(fn, lambda: (np.linspace(-1, 1, 20), np.zeros(20), [1.0, -0.5, 0.25, 3.0]))


# --- ints and bools --------------------------------------------------------------------


def test_int_list_reads_are_python_ints():
    fn = make_function(
        """
        def kernel(v, a):
            s = 0
            for i in range(len(a)):
                s += v[i % len(v)] * 3
                a[i] = v[i % len(v)] // 2
            return s, v[0]
        """
    )
    check(fn, lambda: ([5, -7, 11, 2**40], np.zeros(10, dtype=np.int64)))


def test_int_sum_beyond_int64_gives_python_big_int():
    # Python ints never wrap: the native code stops at the overflow and
    # Python computes the big int.
    fn = make_function(
        """
        def kernel(v, a):
            s = 0
            for i in range(len(v)):
                s += v[i]
                a[i] = 1
            return s
        """
    )
    records = check(fn, lambda: ([2**62, 2**62, 2**62, 5], np.zeros(4, dtype=np.int64)), native=False)
    assert outcome(fn, ([2**62, 2**62, 2**62, 5], np.zeros(4, dtype=np.int64)), "cpu") == ("ok", 3 * 2**62 + 5)
    assert all(r["status"] in ("ok", "fallback") for r in records["cpu"])


def test_int_too_large_for_64_bits_declines():
    fn = make_function(
        """
        def kernel(v, a):
            for i in range(len(a)):
                a[i] = v[i] % 7
        """
    )
    records = check(fn, lambda: ([1, 2**70, 3], np.zeros(3, dtype=np.int64)), native=False)
    declined_with(records, "does not fit in 64 bits")


def test_bool_list():
    fn = make_function(
        """
        def kernel(alive, a):
            n = 0
            last = False
            for i in range(len(a)):
                if alive[i]:
                    n += alive[i]
                last = alive[i]
                a[i] = n
            return n, last
        """
    )
    check(fn, lambda: ([True, False, True, True, False], np.zeros(5, dtype=np.int64)))


# --- rows --------------------------------------------------------------------------------


OFFSETS = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


def test_list_of_tuples_iterated():
    fn = make_function(
        """
        def kernel(g, out, offsets):
            n, m = g.shape
            for i in range(1, n - 1):
                for j in range(1, m - 1):
                    c = 0
                    for dx, dy in offsets:
                        c += g[i + dx, j + dy]
                    out[i, j] = c
            return c, dx, dy
        """
    )
    rng = np.random.default_rng(3)
    board = (rng.random((9, 11)) < 0.4).astype(np.int64)
    check(fn, lambda: (board.copy(), np.zeros_like(board), list(OFFSETS)))
    check(fn, lambda: (board.copy(), np.zeros_like(board), tuple(OFFSETS)))


def test_literal_rows_in_the_loop():
    fn = make_function(
        """
        def kernel(g, out):
            n, m = g.shape
            for i in range(1, n - 1):
                for j in range(1, m - 1):
                    c = 0
                    for dx, dy in [(-1, 0), (1, 0), (0, -1), (0, 1)]:
                        c += g[i + dx, j + dy]
                    s = 0.0
                    for w in (0.25, 0.5, 0.25):
                        s += w * c
                    out[i, j] = s
            return c, dx, dy, w
        """
    )
    board = (np.random.default_rng(4).random((8, 7)) < 0.5).astype(np.int64)
    check(fn, lambda: (board.copy(), np.zeros(board.shape)))


def test_literal_rows_that_do_not_unpack_stay_python():
    fn = make_function(
        """
        def kernel(a):
            for i in range(len(a)):
                for dx, dy in [(1, 2), (3, 4, 5)]:
                    a[i] += dx + dy
        """
    )
    check(fn, lambda: (np.zeros(3, dtype=np.int64),), native=False)


def test_unpacking_rows_of_an_array():
    fn = make_function(
        """
        def kernel(g, out, offsets):
            for i in range(1, g.shape[0] - 1):
                c = 0.0
                for dx, w in offsets:
                    c += w * g[i + int(dx)]
                out[i] = c
            return dx, w
        """
    )
    check(fn, lambda: (np.arange(10.0), np.zeros(10), np.array([(-1.0, 0.25), (0.0, 0.5), (1.0, 0.25)])))


def test_unpacking_rows_of_the_wrong_width_declines():
    fn = make_function(
        """
        def kernel(a, offsets):
            for i in range(1, len(a) - 1):
                for dx, dy in offsets:
                    a[i] += dx + dy
        """
    )
    records = check(fn, lambda: (np.zeros(5, dtype=np.int64), [(1, 2, 3), (4, 5, 6)]), native=False)
    declined_with(records, "unpacks 2")


def test_list_of_lists_two_dimensions():
    fn = make_function(
        """
        def kernel(m, out):
            for i in range(len(m)):
                for j in range(out.shape[1]):
                    out[i, j] = m[i][j] * 2 + m[-1][-j]
            return m[1][2]
        """
    )
    check(fn, lambda: ([[1.5, 2.0, 3.0], [4.0, 5.0, 6.25]], np.zeros((2, 3))))


def test_rows_of_a_list_of_lists():
    fn = make_function(
        """
        def kernel(m, out):
            for row in m:
                for x in row:
                    out[0] += x * len(row)
            return row, x
        """
    )
    records = check(fn, lambda: ([[1.0, 2.0], [3.0, 4.5]], np.zeros(1)))
    assert all(r["status"] == "ok" for r in records["cpu"])


HELPERS = """
def weight(table, k):
    return table[k] * 2.0


def reads(w, out):
    for i in range(len(out)):
        out[i] = weight(w, i % 3)


def store(table, k):
    table[k] = 1.0
    return 0.0


def writes(w, out):
    for i in range(len(out)):
        out[i] = store(w, i % 3)
    return w
"""


def test_a_list_passed_to_an_inlined_function():
    fn = make_function(HELPERS, "reads")
    records = check(fn, lambda: ([1.0, 2.0, 3.0], np.zeros(5)))
    assert all(r["status"] == "ok" for r in records["cpu"])
    fn = make_function(HELPERS, "writes")
    records = check(fn, lambda: ([5.0, 2.0, 3.0], np.zeros(5)), native=False)
    declined_with(records, "changes its items")


GRID = """
def kernel(grid, out):
    for i in range(len(grid)):
        for j in range(len(grid[0])):
            out[i, j] = grid[i][j] + grid[i][len(grid[-1]) - 1 - j]
    return len(grid[0])
"""


def test_len_of_a_row_of_a_list_of_lists():
    fn = make_function(GRID)
    records = check(fn, lambda: ([[1, 2, 3], [4, 5, 6]], np.zeros((2, 3), dtype=np.int64)))
    assert all(r["status"] == "ok" for r in records["cpu"])
    check(fn, lambda: (np.arange(6.0).reshape(2, 3), np.zeros((2, 3))))
    # Rows of different lengths, no row 0, or a row that is a number: as Python.
    check(fn, lambda: ([[1, 2, 3], [4, 5]], np.zeros((2, 3), dtype=np.int64)), native=False)
    check(fn, lambda: ([], np.zeros((2, 3), dtype=np.int64)), native=False)
    check(fn, lambda: (np.zeros((0, 3)), np.zeros((2, 3))), native=False)
    records = check(fn, lambda: (np.arange(3.0), np.zeros((3, 3))), native=False)
    declined_with(records, "no row 0")


def test_tuple_index_of_a_list_is_python():
    fn = make_function(
        """
        def kernel(m, out):
            for i in range(2):
                for j in range(3):
                    out[i, j] = m[i, j]
        """
    )
    records = check(fn, lambda: ([[1.5, 2.0, 3.0], [4.0, 5.0, 6.25]], np.zeros((2, 3))), native=False)
    declined_with(records, "indexes it with a tuple")


# --- out of range --------------------------------------------------------------------


def test_out_of_range_keeps_python_partial_writes():
    fn = make_function(
        """
        def kernel(w, a):
            for i in range(len(a)):
                a[i] = w[i] + 1.0
        """
    )
    check(fn, lambda: ([1.0, 2.0, 3.0], np.zeros(6)), native=False)
    got = outcome(fn, ([1.0, 2.0, 3.0], np.zeros(6)), "cpu")
    assert got == ("raise", "IndexError", "list index out of range")
    got = outcome(fn, ((1.0, 2.0, 3.0), np.zeros(6)), "gpu-emulated")
    assert got == ("raise", "IndexError", "tuple index out of range")
    a = np.zeros(6)
    with pytest.raises(IndexError):
        loopscope.run(fn, [1.0, 2.0, 3.0], a, device="cpu")
    assert a.tolist() == [2.0, 3.0, 4.0, 0.0, 0.0, 0.0]


def test_negative_out_of_range():
    fn = make_function(
        """
        def kernel(w, a):
            for i in range(len(a)):
                a[i] = w[-i - 1]
        """
    )
    check(fn, lambda: ([1.0, 2.0], np.zeros(4)), native=False)


# --- declines -------------------------------------------------------------------------


DECLINES = [
    ("ragged", [[1.0, 2.0], [3.0]], "different lengths"),
    ("mixed", [1.0, 2, 3.0], "w[1] is an int among floats"),
    ("numpy scalar", [1.0, np.float64(2.0), 3.0], "w[1] is an np.float64 (a NumPy scalar)"),
    ("deeper", [[[1.0]], [[2.0]]], "inside a row"),
    ("object", [1.0, "2", 3.0], "w[1] is a str, not a float, int or bool"),
    ("bool among ints", [1, True, 3], "w[1] is a bool among ints"),
    ("empty", [], "empty list"),
]


@pytest.mark.parametrize("value,words", [d[1:] for d in DECLINES], ids=[d[0] for d in DECLINES])
def test_values_that_decline(value, words):
    fn = make_function(
        """
        def kernel(w, a):
            for i in range(len(a)):
                a[i] = w[i % 2] if len(w) else 0.0
        """
    )
    records = check(fn, lambda: (list(value), np.zeros(3)), native=False)
    declined_with(records, words)


def test_mutated_list_declines():
    fn = make_function(
        """
        def kernel(w, a):
            for i in range(len(a)):
                w[i % 3] = a[i]
                a[i] = w[(i + 1) % 3]
        """
    )
    records = check(fn, lambda: ([1.0, 2.0, 3.0], np.arange(6.0)), native=False)
    declined_with(records, "changes its items")


def test_augmented_item_declines():
    fn = make_function(
        """
        def kernel(w, a):
            for i in range(len(a)):
                w[i % 3] += a[i]
        """
    )
    records = check(fn, lambda: ([1.0, 2.0, 3.0], np.arange(6.0)), native=False)
    declined_with(records, "changes its items")


def test_mutation_is_seen_by_python():
    # The list itself, not a copy, is what the Python loop changes.
    fn = make_function(
        """
        def kernel(w, a):
            for i in range(len(a)):
                w[i % 3] = a[i] * 2.0
        """
    )
    w = [1.0, 2.0, 3.0]
    loopscope.run(fn, w, np.arange(3.0), device="cpu")
    assert w == [0.0, 2.0, 4.0]


@pytest.mark.parametrize(
    "body,words",
    [
        (["v = w", "a[i] = v[0]"], None),  # an alias
        (["w.append(a[i])", "a[i] = w[0]"], "w.append"),
        (["w.sort()", "a[i] = w[0]"], None),
        (["a[i] = w[0]", "w = [a[i]]"], None),  # rebound
        (["a[i] = sum(w)"], None),  # passed to a function
    ],
    ids=["alias", "append", "sort", "rebound", "passed"],
)
def test_uses_other_than_reads_stay_python(body, words):
    lines = "\n".join(" " * 8 + line for line in body)
    source = f"def kernel(w, a):\n    for i in range(len(a)):\n{lines}\n    return list(w)\n"
    fn = make_function(source)
    records = check(fn, lambda: ([1.0, 2.0, 3.0], np.arange(4.0)), native=False)
    nests = [r for r in _rewrite.NESTS.values() if r.filename == fn.__code__.co_filename]
    assert len(nests) == 1
    if nests[0].declined:  # the front end refuses it whatever w holds
        assert words is None or words in nests[0].decline.reason, nests[0].decline
        return
    for device in ("cpu", "cpu-serial", "gpu-emulated"):
        assert records[device] and all(r["status"] == "declined" for r in records[device]), records[device]
        if words is not None:
            assert all(words in r["reason"] for r in records[device]), records[device]


def test_list_changed_between_calls():
    fn = make_function(
        """
        def kernel(w, a):
            for i in range(len(a)):
                a[i] = w[i % len(w)] * 2.0
        """
    )
    w = [1.0, 2.0, 3.0]
    for device in ("cpu", "gpu-emulated"):
        a = np.zeros(6)
        loopscope.run(fn, w, a, device=device)
        assert a.tolist() == [2.0, 4.0, 6.0, 2.0, 4.0, 6.0]
        w[1] = 10.0
        a = np.zeros(6)
        _run.reset_last_runs()
        loopscope.run(fn, w, a, device=device)
        assert [r["status"] for r in _run.last_runs().values()] == ["ok"]
        assert a.tolist() == [2.0, 20.0, 6.0, 2.0, 20.0, 6.0]
        w.append(4.0)
        a = np.zeros(6)
        loopscope.run(fn, w, a, device=device)
        assert a.tolist() == [2.0, 20.0, 6.0, 8.0, 2.0, 20.0]
        w[:] = [1.0, 2.0, 3.0]


def test_snapshot_values():
    s = _lists.snapshot("w", [1, 2, 3])
    assert type(s) is _lists.Snapshot and s.dtype == np.int64 and not s.flags.writeable
    assert _lists.snapshot("w", [(1.0, 2.0), [3.0, 4.0]]).shape == (2, 2)
    assert _lists.snapshot("w", [True, False]).dtype == np.bool_
    too_long = _lists.MAX_ITEMS
    _lists.MAX_ITEMS = 3
    try:
        assert "more than native code copies" in _lists.snapshot("w", [1.0, 2.0, 3.0, 4.0])
    finally:
        _lists.MAX_ITEMS = too_long


def test_arrays_still_bind_as_numpy():
    # A NumPy array in the same place keeps NumPy's scalar types.
    fn = make_function(
        """
        def kernel(w, a):
            x = 0.0
            for i in range(len(a)):
                x = w[i % 3]
                a[i] = x
            return x
        """
    )
    check(fn, lambda: (np.array([1.0, 2.0, 3.0]), np.zeros(4)))
    assert same(loopscope.run(fn, np.array([1.0, 2.0, 3.0]), np.zeros(4), device="cpu"), np.float64(1.0))
    assert same(loopscope.run(fn, [1.0, 2.0, 3.0], np.zeros(4), device="cpu"), 1.0)
