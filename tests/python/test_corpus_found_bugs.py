"""Bugs found by writing loop functions the engine had not seen (the
dynamic_programming and signal_finance styles of share/corpus, and variants
of their shapes), each reduced to a small function and checked against
CPython on every device (differential.check)."""

import math
import warnings

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


def goertzel_bins(x, bins, n_f):
    out = np.zeros(len(bins))
    for b in range(len(bins)):
        w = 2.0 * math.pi * bins[b] / n_f
        coeff = 2.0 * math.cos(w)
        s1 = 0.0
        s2 = 0.0
        for v in x:
            s0 = v + coeff * s1 - s2
            s2 = s1
            s1 = s0
        out[b] = s1 * s1 + s2 * s2 - coeff * s1 * s2
    return out


def test_an_error_in_the_generated_cuda_keeps_its_sentence():
    # n_f == 0.0: np.float64 / 0.0 is inf (with NumPy's warning) and
    # math.cos(inf) raises ValueError. The kernel's loops stop at the error,
    # leaving s1 and s2 unset in the last iteration, whose check then
    # replaced the error's sentence with "a scalar's value after the loop
    # was set by an earlier iteration than the last".
    def make():
        return (np.sin(np.arange(64) * 0.3), np.array([3, 10]), 0.0)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        recs = check(goertzel_bins, make)
    for device in ("cpu", "cpu-serial", "gpu-emulated"):
        assert [r["status"] for r in recs[device]] == ["fallback"], device
        assert "ValueError" in recs[device][0]["reason"], (device, recs[device][0]["reason"])
