"""Bugs found by writing loop functions the engine had not seen (the
dynamic_programming and signal_finance styles of share/corpus, and variants
of their shapes), each reduced to a small function and checked against
CPython on every device (differential.check)."""

import math
import warnings

import numpy as np
import pytest

import loopscope
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


def running_sum(a):
    s = 0
    for i in range(len(a)):
        s += a[i]
    return s


def running_sum_from(a, s):
    for i in range(len(a)):
        s = s + a[i]
    return s


def warnings_of(fn, args, device):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(*args) if device is None else loopscope.run(fn, *args, device=device)
    return result, [(w.category, str(w.message)) for w in caught]


def test_an_np_int64_sum_warns_on_the_gpu():
    # The generated CUDA added the threads' partial sums of an np.int64
    # unchecked (NumPy's wrap, without its warning): Python warns 5000 times
    # here, and every device must (the CPU's checked partial sums stop the
    # run, and Python runs the loop).
    many = np.full(20000, 2**62, dtype=np.int64)
    for fn, args in [(running_sum, (many,)), (running_sum_from, (many, np.int64(0)))]:
        want = warnings_of(fn, args, None)
        assert want[1], "Python warns"
        for device in ("cpu", "cpu-serial", "gpu-emulated", "auto"):
            got = warnings_of(fn, args, device)
            assert type(got[0]) is type(want[0]) and got[0] == want[0], (fn.__name__, device)
            assert got[1] == want[1], (fn.__name__, device, len(got[1]), len(want[1]))


@pytest.mark.xfail(
    strict=False,
    reason="docs/cpu.md: the CPU's parallel integer sums do not see an overflow "
    "that only Python's running sum makes (the total back in range)",
)
def test_an_np_int64_sum_warns_where_only_python_s_running_sum_overflows():
    # big, then big, -big, -big far away: Python's running sum overflows
    # (NumPy warns twice, then wraps back to 0); the partial sums of the
    # chunks of the CPU's parallel loop do not overflow.
    big = 3 * 2**61
    a = np.zeros(20000, dtype=np.int64)
    a[0], a[-3], a[-2], a[-1] = big, big, -big, -big
    want = warnings_of(running_sum, (a,), None)
    assert want[1], "Python warns"
    for device in ("cpu", "cpu-serial", "gpu-emulated", "auto"):
        assert warnings_of(running_sum, (a,), device) == want, device


def test_an_int_sum_of_python_ints_stays_parallel():
    a = np.arange(20000)

    def make():
        return (a.copy(),)

    def int_sum(a):
        s = 0
        for i in range(len(a)):
            s += int(a[i])
        return s

    recs = check(int_sum, make)
    assert parallel_loops(recs, "cpu") == ["i"]


def weighted_hist(idx, w, hist):
    for i in range(len(idx)):
        hist[idx[i]] -= w[i]


def count_hist(idx, hist):
    for i in range(len(idx)):
        hist[idx[i]] += 1


@pytest.mark.xfail(
    strict=False,
    reason="docs/cpu.md: the CPU's parallel integer array reductions do not see an "
    "overflow that only Python's running element makes (the total back in range)",
)
def test_an_array_reduction_of_both_signs_warns_where_python_overflows():
    # The threads' zeroed copies of hist add up without overflowing where
    # Python's running element does (int32: NumPy warns twice).
    big = 3 * 2**29
    w = np.zeros(40000, dtype=np.int32)
    w[0], w[-3], w[-2], w[-1] = -big, -big, big, big
    idx = np.zeros(40000, dtype=np.int64)
    want_hist = np.zeros(4, dtype=np.int32)
    _, want = warnings_of(weighted_hist, (idx, w, want_hist), None)
    assert want, "Python warns"
    for device in ("cpu", "cpu-serial", "gpu-emulated", "auto"):
        hist = np.zeros(4, dtype=np.int32)
        _, got = warnings_of(weighted_hist, (idx, w, hist), device)
        assert got == want and np.array_equal(hist, want_hist), device


def test_a_histogram_of_counts_stays_parallel():
    idx = np.arange(40000) % 7
    recs = check(count_hist, lambda: (idx.copy(), np.zeros(7, dtype=np.int64)))
    assert parallel_loops(recs, "cpu") == ["i"]
