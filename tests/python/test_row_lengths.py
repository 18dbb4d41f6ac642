"""``len(m[i])`` with a row index that varies (``for j in range(len(m[i]))``),
the sentences about ``len`` and about tuples a loop changes
(kernel/python/loopscope/_iteration.py, _lists.py, analysis/src/frontend.cpp).

Every function runs in CPython and through ``loopscope.run`` on each device
(differential.check): same values with their types, same arrays bit for bit,
same exceptions and partial writes. A row index out of range stops the
native code and Python raises its own IndexError; what must stay Python says
why in a sentence about ``len`` (never "not a known math function").
"""

import numpy as np

import differential
import loopscope
from differential import parallel_loops, use_temporary_cache  # noqa: F401
from nestgen import make_function


def check(fn, make_args, native=True):
    return differential.check(fn, make_args, native)


def declined_with(records, words):
    """Every nest on the native devices ran as Python, saying ``words``."""
    for device in ("cpu", "cpu-serial", "gpu-emulated"):
        recs = records[device]
        assert recs and all(r["status"] == "declined" for r in recs), (device, recs)
        assert all(words in r["reason"] for r in recs), (device, recs)


def static_reasons(fn, *args):
    return [n["decline"]["reason"] for n in loopscope.explain(fn, *args)["nests"] if n.get("decline")]


ROWS = """
def kernel(m, out):
    for i in range(m.shape[0]):
        for j in range(len(m[i])):
            out[i, j] = m[i][j] * 2.0 + i
    return out.sum()
"""


def test_rows_of_a_2d_array_run_natively_in_parallel():
    fn = make_function(ROWS)
    records = check(fn, lambda: (np.arange(12.0).reshape(3, 4), np.zeros((3, 4))))
    assert parallel_loops(records, "cpu") == ["i"]
    assert parallel_loops(records, "gpu-emulated") == ["i"]


def test_row_sums_with_a_scalar_per_row():
    fn = make_function(
        """
        def kernel(m, out):
            for i in range(len(m)):
                s = 0
                for j in range(len(m[i])):
                    s += m[i, j]
                out[i] = s
            return s
        """
    )
    check(fn, lambda: (np.arange(20, dtype=np.int64).reshape(4, 5), np.zeros(4, dtype=np.int64)))


def test_row_index_out_of_range_raises_with_pythons_partial_writes():
    fn = make_function(
        """
        def kernel(m, out, k):
            for i in range(k):
                out[i] = -1.0
                for j in range(len(m[i])):
                    out[i] += m[i, j]
        """
    )
    # k = 5 > 3 rows: Python writes out[0..3] and raises IndexError at i = 3.
    records = check(fn, lambda: (np.arange(12.0).reshape(3, 4), np.zeros(6), 5))
    for device in ("cpu", "cpu-serial", "gpu-emulated"):
        assert all(r["status"] in ("declined", "fallback") for r in records[device])
    check(fn, lambda: (np.arange(12.0).reshape(3, 4), np.zeros(6), 3))


def test_negative_row_indices_in_range():
    fn = make_function(
        """
        def kernel(m, out):
            for i in range(-m.shape[0], 0):
                for j in range(len(m[i])):
                    out[i, j] = m[i, j] - j
        """
    )
    check(fn, lambda: (np.arange(6.0).reshape(2, 3), np.zeros((2, 3))))


def test_row_index_an_expression():
    fn = make_function(
        """
        def kernel(m, out):
            for i in range(1, m.shape[0]):
                t = 0.0
                for j in range(len(m[i - 1])):
                    t += m[i - 1, j] * m[i, j]
                out[i] = t
        """
    )
    check(fn, lambda: (np.arange(12.0).reshape(4, 3), np.zeros(4)))


def test_len_of_a_row_in_an_expression():
    fn = make_function(
        """
        def kernel(m, out):
            for i in range(m.shape[0]):
                out[i] = len(m[i]) * 0.5 + m[i, 0]
        """
    )
    check(fn, lambda: (np.arange(8.0).reshape(2, 4), np.zeros(2)))


def test_list_of_rows_of_one_length():
    fn = make_function(
        """
        def kernel(m, out):
            total = 0
            for i in range(len(m)):
                for j in range(len(m[i])):
                    out[i] += m[i][j]
                    total += m[i][j]
            return total
        """
    )
    check(fn, lambda: ([[1, 2, 3], [4, 5, 6]], np.zeros(2, dtype=np.int64)))
    check(fn, lambda: ([[1, 2], [3, 4], [5, 2**62]], np.zeros(3, dtype=np.int64)))  # the int total overflows int64
    fn = make_function(
        """
        def kernel(m, out):
            for i in range(len(m)):
                for j in range(len(m[i])):
                    out[i] += m[i][j] * j
        """
    )
    check(fn, lambda: (((1.5, 2.0), (3.0, 4.25), (0.5, 0.5)), np.zeros(3)))


def test_ragged_list_of_rows_runs_as_python():
    fn = make_function(
        """
        def kernel(m, out):
            for i in range(len(m)):
                for j in range(len(m[i])):
                    out[i] += m[i][j]
        """
    )
    records = check(fn, lambda: ([[1.0, 2.0, 3.0], [4.0], [5.0, 6.0]], np.zeros(3)), native=False)
    declined_with(records, "the rows of m have different lengths (m[0] has 3 items, m[1] has 1)")


def test_a_1d_array_runs_as_python_which_raises():
    fn = make_function(ROWS)
    records = check(fn, lambda: (np.arange(4.0), np.zeros((4, 4))), native=False)
    declined_with(records, "len(m[i]) reads the length of a row of m, which has 1 dimension(s)")


def test_a_3d_array_runs_as_python():
    fn = make_function(
        """
        def kernel(m, out):
            for i in range(m.shape[0]):
                for j in range(len(m[i])):
                    out[i] += m[i, j, 0]
        """
    )
    records = check(fn, lambda: (np.arange(12.0).reshape(2, 3, 2), np.zeros(2)), native=False)
    declined_with(records, "which has 3 dimension(s)")


def test_empty_rows_run_as_python():
    fn = make_function(ROWS)
    records = check(fn, lambda: (np.zeros((3, 0)), np.zeros((3, 0))), native=False)
    declined_with(records, "the rows of m are empty")


def test_a_list_that_is_not_rows_runs_as_python():
    fn = make_function(
        """
        def kernel(m, out):
            for i in range(len(m)):
                for j in range(len(m[i])):
                    out[i, j] = m[i][j]
        """
    )
    records = check(fn, lambda: ([1.0, 2.0], np.zeros((2, 2))), native=False)
    declined_with(records, "len(m[i]) reads the length of a row of m, which has 1 dimension(s)")


def test_len_in_a_while_test():
    fn = make_function(
        """
        def kernel(m, out):
            for i in range(len(m)):
                j = 0
                while j < len(m[i]):
                    out[i] += m[i][j]
                    j += 1
            return j
        """
    )
    check(fn, lambda: (np.arange(6.0).reshape(2, 3), np.zeros(2)))
    check(fn, lambda: ([[1, 2], [3, 4], [5, 6]], np.zeros(3)))


def test_len_in_the_test_of_a_while_that_changes_the_row_says_len():
    fn = make_function(
        """
        def kernel(m, out):
            for k in range(m.shape[0]):
                i = 0
                while i < len(m[i]):
                    out[k] += m[i, 0]
                    i += 1
        """
    )
    records = check(fn, lambda: (np.arange(6.0).reshape(3, 2), np.zeros(3)), native=False)
    reasons = static_reasons(fn, np.arange(6.0).reshape(3, 2), np.zeros(3))
    assert reasons and all("the length len(m[i])" in r and "math function" not in r for r in reasons), reasons
    assert all(r["status"] != "ok" for r in records["cpu"])


def test_len_at_the_root_and_of_other_things_says_len():
    fn = make_function(
        """
        def kernel(m, out, k):
            for j in range(len(m[k])):
                out[j] = m[k, j]
        """
    )
    check(fn, lambda: (np.arange(6.0).reshape(2, 3), np.zeros(3), 1), native=False)
    reasons = static_reasons(fn, np.arange(6.0).reshape(2, 3), np.zeros(3), 1)
    assert reasons and all("the length len(m[k])" in r and "n = len(m[k])" in r for r in reasons), reasons
    fn = make_function(
        """
        def kernel(m, out):
            for i in range(m.shape[0]):
                out[i] = len(m[i, :])
        """
    )
    check(fn, lambda: (np.arange(6.0).reshape(2, 3), np.zeros(2)), native=False)
    reasons = static_reasons(fn, np.arange(6.0).reshape(2, 3), np.zeros(2))
    assert reasons and all("the length len(m[i, :])" in r for r in reasons), reasons


# --- tuples the loop changes ------------------------------------------------------------


def test_a_tuple_assigned_in_the_loop_says_python_refuses_it():
    fn = make_function(
        """
        def kernel(t, out):
            for i in range(len(out)):
                out[i] = t[i]
                t[i] = 0.0
        """
    )
    records = check(fn, lambda: ((1.0, 2.0, 3.0), np.zeros(3)), native=False)
    declined_with(
        records,
        "t is a Python tuple, which native code only reads, and the loop assigns its items (t[i] = ...), which "
        "Python refuses for a tuple (TypeError)",
    )
    records = check(fn, lambda: ([1.0, 2.0, 3.0], np.zeros(3)), native=False)
    declined_with(
        records, "t is a Python list, which native code only reads, and the loop changes its items (t[i] = ...)"
    )


def test_a_tuple_augmented_in_the_loop_says_python_refuses_it():
    fn = make_function(
        """
        def kernel(t, out):
            for i in range(len(out)):
                t[i] += out[i]
        """
    )
    records = check(fn, lambda: ((1.0, 2.0, 3.0), np.zeros(3)), native=False)
    declined_with(records, "the loop assigns its items (t[i] = ...), which Python refuses for a tuple (TypeError)")
