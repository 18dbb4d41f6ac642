"""Bugs found by writing loop functions the engine had not seen (the
dynamic_programming and signal_finance styles of share/corpus, and variants
of their shapes), each reduced to a small function and checked against
CPython on every device (differential.check)."""

import numpy as np

from differential import check, parallel_loops, use_temporary_cache  # noqa: F401


def min_item_first(a):
    m = 0
    for i in range(len(a)):
        m = min(a[i], m)
    return m


def max_item_first(a):
    m = 0
    for i in range(len(a)):
        m = max(a[i], m)
    return m


def min_accumulator_first(a):
    m = 0
    for i in range(len(a)):
        m = min(m, a[i])
    return m


def test_min_of_item_and_accumulator_keeps_the_item_on_a_tie():
    # min(a[i], m) with m == a[i] is a[i]: the Python int 0 becomes the
    # np.int64 0 of the array. The CPU's parallel reduction combined its
    # chunks keeping the accumulator on ties and returned the int 0.
    a = np.abs(np.arange(-600, 600))
    recs = check(min_item_first, lambda: (a.copy(),))
    assert parallel_loops(recs, "cpu") == [""]
    check(max_item_first, lambda: (-a,))
    check(min_item_first, lambda: (a + 1,))  # no tie: an int all along


def test_min_of_accumulator_and_item_still_runs_in_parallel():
    a = np.abs(np.arange(-600, 600))
    recs = check(min_accumulator_first, lambda: (a.copy(),))
    assert parallel_loops(recs, "cpu") == ["i"]
