"""What a native run really pays, priced (docs/costmodel.md, sections 2-4):
Python's integer // and % as divides, branches on data as mispredictions,
the random numbers drawn before a native run as their own component, and a
NumPy scalar given to a nest priced by its own type in the interpreter."""

import math
import mmap
import random

import numpy as np
import pytest

import loopscope
from corpus.image import erode_3x3  # a 3x3 running minimum through an if, m = 255 a pixel
from corpus.teaching_gpu import box_blur  # a 3x3 box: s = 0.0, nine adds a pixel
from loopscope import _cost, _report
from loopscope._cost_calibrate import _report_nest  # a row-times-column sum
from test_cost import private_cache  # noqa: F401  (calibrates into a private cache)


def only_nest(fn, *args):
    est = loopscope.estimate(fn, *args)
    assert len(est["nests"]) == 1, est
    return est["nests"][0]


def variant(est, name):
    return next(v for v in est["variants"] if v["variant"] == name)


def test_the_host_profile_has_divides_branches_draws_and_the_l3():
    h = _cost.host_profile()
    for key in ("idiv_ns", "idiv_latency_ns", "idiv_const_ns", "idiv_const_latency_ns", "branch_miss_ns"):
        assert 0 < h[key] < 200, (key, h[key])
    assert h["branch_calibrated"] and h["draws_calibrated"]
    # The last-level cache, past L2: at least main memory's bandwidth (the
    # calibration keeps the larger), and all threads at least one's.
    assert h["l3_calibrated"]
    assert h["l3_bandwidth_gbs"] >= h["dram_bandwidth_gbs"] > 0
    assert h["l3_bandwidth_all_gbs"] >= h["l3_bandwidth_gbs"]
    for key in ("draw_py_ns", "draw_np_ns", "draw_gen_ns", "draw_py_gauss_ns"):
        assert 0 < h[key] < 10_000, (key, h[key])
    # gauss is drawn a pair at a time in Python, uniforms by NumPy at once.
    assert h["draw_py_gauss_ns"] > h["draw_py_ns"]


def test_calibrating_the_draws_leaves_the_generators_where_they_were():
    from loopscope._cost_calibrate import calibrate_draws

    random.seed(5)
    np.random.seed(6)
    py, legacy = random.getstate(), np.random.get_state()
    out = calibrate_draws()
    assert out["draws_calibrated"]
    assert random.getstate() == py
    after = np.random.get_state()
    assert after[0] == legacy[0] and (after[1] == legacy[1]).all() and after[2:] == legacy[2:]


def gcd_pairs(a, b, out):
    for i in range(len(a)):
        x, y = a[i], b[i]
        while y:
            x, y = y, x % y
        out[i] = x


def test_integer_modulo_is_a_divide_on_the_chain():
    a = np.arange(1, 1001, dtype=np.int64)
    est = only_nest(gcd_pairs, a, a[::-1].copy(), np.zeros(1000, dtype=np.int64))
    ops = est["work"]["ops"]
    assert ops["idiv"] == pytest.approx(16 * 1000)  # the while guess: 16 passes
    assert ops["idiv_const"] == 0
    assert est["work"]["ops_recurrence"]["idiv"] == pytest.approx(16 * 1000)
    h = _cost.host_profile()
    cs = variant(est, "cpu-serial")
    assert cs["bound_by"] == "latency"
    assert cs["compute"] >= 16 * 1000 * h["idiv_latency_ns"] * 1e-9


def fibonacci_modular(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, (a + b) % 1000000007
    return a


def test_modulo_by_a_constant_is_cheaper_but_still_on_the_chain():
    est = only_nest(fibonacci_modular, 100_000)
    ops = est["work"]["ops"]
    assert ops["idiv"] == ops["idiv_const"] == pytest.approx(100_000)
    assert est["work"]["ops_recurrence"]["idiv_const"] == pytest.approx(100_000)
    h = _cost.host_profile()
    assert variant(est, "cpu-serial")["compute"] >= 100_000 * h["idiv_const_latency_ns"] * 1e-9


def count_positive(x):
    count = 0
    for i in range(len(x)):
        if x[i] > 0:
            count = count + 1
    return count


def running_max(x):
    hi = x[0]
    for i in range(len(x)):
        if x[i] > hi:
            hi = x[i]
    return hi


def test_a_branch_on_random_data_is_mispredicted_about_half_the_time():
    x = np.random.default_rng(0).random(10_000) - 0.5
    est = only_nest(count_positive, x)
    misses = est["work"]["ops"]["branch_miss"]
    assert misses == pytest.approx(5_000, rel=0.15)  # the rarer way's share, sampled
    assert variant(est, "cpu-serial")["details"]["branch_misses"] == pytest.approx(misses)
    h = _cost.host_profile()
    assert variant(est, "cpu-serial")["compute"] >= misses * h["branch_miss_ns"] * 1e-9
    # A running maximum is predicted (new maxima are rare).
    assert only_nest(running_max, x)["work"]["ops"]["branch_miss"] == 0


def monte_carlo_pi(samples):
    inside = 0
    for i in range(samples):
        x = random.random()
        y = random.random()
        if x * x + y * y <= 1.0:
            inside += 1
    return 4.0 * inside / samples


def brownian(x, steps):
    for s in range(steps):
        for i in range(x.shape[0]):
            x[i] += random.gauss(0.0, 0.1)


def test_draws_are_priced_per_number_by_generator():
    random.seed(3)
    state = random.getstate()
    est = only_nest(monte_carlo_pi, 10_000)
    assert random.getstate() == state  # estimated, not drawn for good
    h = _cost.host_profile()
    assert est["work"]["draws"] == 20_000
    for name in ("cpu-serial", "cpu", "gpu"):
        assert variant(est, name)["draws"] == pytest.approx(20_000 * h["draw_py_ns"] * 1e-9 + h["draw_setup_us"] * 1e-6)
    py = variant(est, "python")
    assert py["draws"] == 0
    cs = variant(est, "cpu-serial")
    parts = cs["scheduling"] + cs["transfer"] + cs["compute"] + cs["compile"] + cs["draws"]
    assert cs["total"] == pytest.approx(parts)
    gauss = only_nest(brownian, np.zeros(100), 10)
    assert gauss["work"]["draws"] == 1000
    assert variant(gauss, "cpu-serial")["draws"] == pytest.approx(
        1000 * h["draw_py_gauss_ns"] * 1e-9 + h["draw_setup_us"] * 1e-6
    )


def test_the_draws_are_their_own_component_in_the_report():
    est = only_nest(monte_carlo_pi, 10_000)
    report = _report.NestReport(nest={"line": 2, "var": "i", "source": ""}, estimate=est)
    bars = _report.chart_spec(report)["vconcat"][0]
    assert "draws" in bars["encoding"]["color"]["scale"]["domain"]
    assert any(b["component"] == "draws" and b["seconds"] > 0 for b in bars["data"]["values"])
    assert "<th>draws</th>" in _report._cost_table(report)
    # A nest that draws nothing shows no draws column.
    plain = only_nest(count_positive, np.ones(100))
    plain_report = _report.NestReport(nest={"line": 2, "var": "i", "source": ""}, estimate=plain)
    assert "draws" not in _report.chart_spec(plain_report)["vconcat"][0]["encoding"]["color"]["scale"]["domain"]
    assert "<th>draws</th>" not in _report._cost_table(plain_report)


def normalize(img, lo, hi):
    for i in range(img.shape[0]):
        for j in range(img.shape[1]):
            if img[i, j] < lo:
                lo = img[i, j]
            if img[i, j] > hi:
                hi = img[i, j]
    return lo, hi


def test_a_numpy_scalar_input_is_priced_by_its_type():
    img = np.random.default_rng(1).random((50, 50)).astype(np.float32)
    as_numpy = only_nest(normalize, img, img[0, 0], img[0, 0])
    as_python = only_nest(normalize, img, float(img[0, 0]), float(img[0, 0]))
    # float32 elements against float32 scalars: NumPy's fast path; against
    # Python floats, its slow path.
    assert as_numpy["work"]["ops"]["py_mixed"] == 0
    assert as_python["work"]["ops"]["py_mixed"] > 0
    assert variant(as_numpy, "python")["total"] < variant(as_python, "python")["total"] / 3


def squares(x):
    s = 0.0
    for i in range(len(x)):
        s += (x[i] - 0.5) ** 2
    return s


def test_a_float_power_is_a_pow_call_even_squared():
    """Both code generators call the C library's pow() for ``x ** 2``, as
    CPython does (not x * x): a libm call, not a multiply."""
    est = only_nest(squares, np.ones(1000))
    ops = est["work"]["ops"]
    assert ops["pow"] == 1000 and ops["mul"] == 0
    assert est["work"]["ops_vector"]["pow"] == 0  # a call: the loop is not vectorised


# ------------------------------------------------- trip counts it can know --
# (docs/costmodel.md, section 2: bounds through float arithmetic, while loops
# that step a name towards a limit, inner trips far from linear.)


def loop_iterations(est):
    return {loop["var"]: loop["iterations"] for loop in est["work"]["loops"]}


def divisor_counts(n, out):
    for k in range(2, n):
        for d in range(2, int(k**0.5) + 1):
            out[k] += 1


def test_a_bound_through_a_float_square_root_is_counted():
    n = 3000
    est = only_nest(divisor_counts, n, np.zeros(n, dtype=np.int64))
    assert est["work"]["ok"], est["work"]["reason"]
    want = sum(max(0, int(k**0.5) - 1) for k in range(2, n))
    assert loop_iterations(est)["d"] == pytest.approx(want, rel=0.05)
    # Counted, the native variants are priced (not at the interpreter's price).
    assert 0 < variant(est, "cpu-serial")["compute"] < variant(est, "python")["compute"] / 5


def euler_steps(t_end, dt, k, x):
    t = 0.0
    while t < t_end:
        x = x + dt * (-k * x)
        t += dt
    return x


def halving_sum(buf, n):
    stride = 1
    while stride < n:
        for i in range(0, n - stride, 2 * stride):
            buf[i] += buf[i + stride]
        stride *= 2


def test_a_while_loop_stepping_a_name_towards_a_limit_counts_its_passes():
    # 5000 passes of two statements, where the guess would count 16.
    est = only_nest(euler_steps, 5.0, 0.001, 0.5, 1.0)
    assert est["work"]["ok"], est["work"]["reason"]
    assert est["work"]["statements"] == pytest.approx(2 * 5000, rel=0.01)
    # The limit is a float the count reads: another value is counted again.
    est = only_nest(euler_steps, 10.0, 0.001, 0.5, 1.0)
    assert est["work"]["statements"] == pytest.approx(2 * 10000, rel=0.01)
    # Doubling: 10 passes at their own strides, n - 1 additions in all.
    n = 1024
    est = only_nest(halving_sum, np.ones(n), n)
    assert loop_iterations(est)["i"] == pytest.approx(n - 1)
    assert est["work"]["statements"] == pytest.approx(n - 1 + 10)


def sieve(n, flags):
    for i in range(2, n):
        for j in range(i * i, n, i):
            flags[j] = 0


def test_inner_trips_far_from_linear_are_weighed_by_what_they_run():
    """``range(i * i, n, i)`` runs n/i times: the 25 evenly spaced samples
    of i, weighed by the trapezoid rule, counted the first (n/2 iterations)
    for n/24 values of i, some 30 times too many."""
    for n in (1000, 100_000):
        est = only_nest(sieve, n, np.ones(n, dtype=np.int64))
        want = sum(len(range(i * i, n, i)) for i in range(2, n))
        assert loop_iterations(est)["j"] == pytest.approx(want, rel=0.15), n


def unknown_passes(x, n):
    it = 0
    while x[it % n] > 0.5 and it < 1000:
        it += 1
    return it


def test_a_while_loop_on_data_keeps_the_guess():
    est = only_nest(unknown_passes, np.ones(10), 10)
    assert est["work"]["statements"] == pytest.approx(16)


def capped_search(x, n, limit):
    it = 0
    while it < limit and x[it % n] > 0.5:
        it += 1
    return it


def test_a_counted_condition_caps_the_guess_of_a_while_on_data():
    # `it < 3 and ...`: at most 3 passes; `it < 1000 and ...`: the guess.
    assert only_nest(capped_search, np.ones(10), 10, 3)["work"]["statements"] == pytest.approx(3)
    assert only_nest(capped_search, np.ones(10), 10, 1000)["work"]["statements"] == pytest.approx(16)


def uint64_hash(keys, out):
    for i in range(keys.shape[0]):
        z = keys[i]
        z ^= z << np.uint64(23)
        out[i] = z ^ (z >> np.uint64(29))


def test_a_numpy_constructor_is_a_numpy_call_in_python_and_a_conversion_natively():
    n = 1000
    est = only_nest(uint64_hash, np.arange(n, dtype=np.uint64), np.zeros(n, dtype=np.uint64))
    ops = est["work"]["ops"]
    # Two np.uint64(...) per element: NumPy calls in the interpreter (half
    # the price of np.sqrt(x) each), not libm calls (exp) in the native code.
    assert ops["np_call"] == pytest.approx(n)
    assert ops["exp"] == 0 and ops["call"] == pytest.approx(2 * n)


def test_a_moment_of_other_work_does_not_make_the_cores_busy():
    """cores_free counts as other work the threads runnable now, at most the
    last minute's load average less this process's share of it."""
    # Quiet for a minute (load 1.0: this process, busy all along), one other
    # thread runnable this instant: both cores free for the parallel regions.
    assert _cost.cores_free_from(2, "1.00 0.90 0.80 2/300 123", 1, 1.0) == 2.0
    # Not known yet (the process's first minute): the instant decides.
    assert _cost.cores_free_from(2, "1.00 0.90 0.80 2/300 123", 1, None) < 2.0
    # Another program busy for a minute next to an idle notebook: contended.
    assert _cost.cores_free_from(2, "1.00 0.90 0.80 2/300 123", 1, 0.0) < 2.0
    # Busy for a minute (load 2.5: 1.5 others) and now (2 others).
    busy = _cost.cores_free_from(2, "2.50 2.40 2.30 3/300 123", 1, 1.0)
    assert busy == pytest.approx(2 * (2 / 3.5) / (2 / 2.5))
    # Busy a minute ago, quiet now.
    assert _cost.cores_free_from(2, "2.50 2.40 2.30 1/300 123", 1, 1.0) == 2.0
    assert _cost.cores_free_from(4, "", 1) == 4.0


def weighted(w, x, out):
    for i in range(len(out)):
        s = 0.0
        for k in range(len(w)):
            s += w[k] * x[i + k]
        out[i] = s


def test_the_snapshot_of_a_list_is_priced_on_every_native_variant():
    """A list the nest reads is copied into a NumPy snapshot before each
    native run (loopscope/_lists.py): per item, a calibrated price, in the
    transfer component; Python reads the list itself."""
    h = _cost.host_profile()
    assert h["lists_calibrated"] and 0 < h["list_item_ns"] < 10_000
    w = [0.5] * 3000
    est = only_nest(weighted, w, np.ones(3010), np.zeros(10))
    assert est["work"]["list_items"] == 3000
    for name in ("cpu-serial", "cpu"):
        v = variant(est, name)
        assert v["details"]["list_items"] == 3000
        assert v["transfer"] >= 3000 * h["list_item_ns"] * 1e-9
    assert variant(est, "python")["transfer"] == 0
    # An array in its place is not copied.
    est = only_nest(weighted, np.array(w), np.ones(3010), np.zeros(10))
    assert est["work"]["list_items"] == 0


def strike_multiples(n, flags):
    for i in range(2, int(n**0.5) + 1):
        if flags[i]:
            flags[i * i :: i] = 0


def test_a_slice_is_a_numpy_call_in_the_interpreter():
    """The loop a slice is lowered to runs natively as a loop, but in CPython
    as one NumPy call: the interpreter's price counts the call and about a
    nanosecond an element, not interpreted iterations."""
    n = 1_000_000
    est = only_nest(strike_multiples, n, np.ones(n, dtype=np.int64))
    work = est["work"]
    inner = sum(loop["iterations"] for loop in work["loops"] if loop["var"] != "i")  # the slice's index
    assert inner > n  # the native code runs the slice's elements
    assert work["ops_numpy"]["store"] == pytest.approx(inner)
    # The data guard: half the values of i (the samples moved to where the
    # slices are long weigh the guard itself only roughly).
    assert work["numpy_slices"] == pytest.approx(999 / 2, rel=0.25)
    py = variant(est, "python")
    h = _cost.host_profile()
    interpreted = inner * (h["py_iter_ns"] + h["py_store_ns"]) * 1e-9
    assert py["compute"] < interpreted / 2
    assert py["details"]["numpy_calls"] >= work["numpy_slices"]


def set_beside_the_sum(x, out):
    n = x.shape[0]
    s = 0.0
    for i in range(n):
        for j in range(2):
            s = x[j]
        for k in range(n):
            for m in range(3):
                s += x[m]
        out[i] = s


def test_a_short_accumulation_started_again_per_element_is_not_a_latency_chain():
    """`s = 0.0` and nine adds for each pixel: the pixels' chains are
    independent and overlap in the core; a sum over a whole row waits add
    after add."""
    est = only_nest(box_blur, np.ones((60, 60)), np.zeros((60, 60)))
    assert est["work"]["chain_ops"] == 0
    est = only_nest(_report_nest, np.ones((60, 60)), np.ones((60, 60)), np.zeros((60, 60)))
    assert est["work"]["chain_ops"] == pytest.approx(60**3)
    assert variant(est, "cpu-serial")["details"]["chain_s"] > 0
    # Set in a loop beside the sum's, not around it: one chain through k.
    est = only_nest(set_beside_the_sum, np.ones(40), np.zeros(40))
    assert est["work"]["chain_ops"] == pytest.approx(40 * 40 * 3)


def window_5x5(img, out):
    for i in range(2, img.shape[0] - 2):
        for j in range(2, img.shape[1] - 2):
            s = 0.0
            for u in range(5):
                for v in range(5):
                    s += img[i + u - 2, j + v - 2]
            out[i, j] = s


def window_of_run_time_size(img, out, k):
    for i in range(1, img.shape[0] - 1):
        for j in range(1, img.shape[1] - 1):
            s = 0.0
            for di in range(k):
                for dj in range(k):
                    s += img[i + di - 1, j + dj - 1]
            out[i, j] = s


def restarted_in_some_iterations(x, out):
    s = 0.0
    for i in range(x.shape[0]):
        if x[i] > 0.5:
            s = 0.0
        for m in range(3):
            s += x[m]
        out[i] = s


def test_a_3x3_window_unrolls_into_the_pixel_loop_and_it_vectorises():
    """O3 unrolls a window loop over literal bounds fully: the pixel loop is
    then the innermost one, and with the window's sum (or running minimum)
    started again for each pixel its lanes are independent."""
    img = np.random.default_rng(3).random((60, 60))
    pixels = (img * 255).astype(np.uint8)
    for fn, args in ((box_blur, (img, np.zeros((60, 60)))), (erode_3x3, (pixels,))):
        work = only_nest(fn, *args)["work"]
        assert work["innermost_iterations"] == 58 * 58, fn.__name__
        assert work["chain_ops"] == 0
        assert work["ops"]["branch_miss"] == 0
        assert work["ops_vector"]["load"] == work["ops"]["load"] > 0, fn.__name__
    # A 5 x 5 window is too long to unroll whole: its inner loop unrolls,
    # the outer one stays the innermost loop, in order.
    work = only_nest(window_5x5, img, np.zeros((60, 60)))["work"]
    assert work["innermost_iterations"] == 56 * 56 * 5
    assert work["ops_vector"].get("load", 0) == 0
    # Bounds known only at run time: nothing is unrolled.
    work = only_nest(window_of_run_time_size, img, np.zeros((60, 60)), 3)["work"]
    assert work["innermost_iterations"] == 58 * 58 * 9
    # Set in a branch, the accumulator runs on across the loop: a chain.
    work = only_nest(restarted_in_some_iterations, img[0], np.zeros(60))["work"]
    assert work["innermost_iterations"] == 60
    assert work["chain_ops"] == 60 * 3
    assert work["ops_vector"].get("add", 0) == 0


def bin_positions(pos, out, cell):
    for i in range(pos.shape[0]):
        out[i] = pos[i] // cell


def remainders(pos, out, cell):
    for i in range(pos.shape[0]):
        out[i] = pos[i] % cell
        out[i] += math.fmod(pos[i], cell)


def test_float_floor_division_and_remainder_are_priced_as_the_c_librarys_fmod():
    """Python's float // and % (and math.fmod) call fmod, whose loop over the
    quotient's bits costs some 20 ns on random data: a divide's price was
    ten times too low for binning positions into cells."""
    h = _cost.host_profile()
    assert h["fmod_calibrated"] and 0.5 < h["fmod_ns"] < 1000
    pos = np.random.default_rng(4).random(1000) * 100
    est = only_nest(bin_positions, pos, np.zeros(1000), 5.0)
    assert 850 < est["work"]["ops"]["fmod"] <= 1000  # x >= 5: 95 % of them
    assert est["work"]["ops_vector"].get("fmod", 0) == 0  # a call: not vectorised
    assert variant(est, "cpu-serial")["details"]["arith_s"] >= est["work"]["ops"]["fmod"] * h["fmod_ns"] * 1e-9
    # Its loop runs once per bit of the quotient: x // 5 for x in [0, 100)
    # has about 2.8 bits beyond the first (sampled from the data); x // 200
    # none, and a value below the divisor comes back at once: a divide.
    ops = est["work"]["ops"]
    assert 2.0 < ops["fmod_bits"] / 1000 < 3.6
    assert variant(est, "cpu-serial")["details"]["arith_s"] >= ops["fmod_bits"] * h["fmod_bit_ns"] * 1e-9
    ops = only_nest(bin_positions, pos, np.zeros(1000), 200.0)["work"]["ops"]
    assert ops["fmod"] == 0 and ops["fmod_bits"] == 0 and ops["div"] == 1000
    est = only_nest(remainders, pos, np.zeros(1000), 5.0)
    assert 1700 < est["work"]["ops"]["fmod"] <= 2000


def bounce(pos, vel):
    for i in range(pos.shape[0]):
        if pos[i] < 0.0:
            pos[i] = -pos[i]
            vel[i] = -vel[i]


def bounce_computed(pos, vel):
    for i in range(pos.shape[0]):
        d = pos[i] - 0.5
        if d < 0.0:
            pos[i] = -pos[i]
            vel[i] = -vel[i]


def test_a_condition_on_the_arrays_is_sampled_for_how_often_it_holds():
    """A branch on array elements is taken as often as the condition holds
    at points sampled from the arrays as they are, and mispredicted as often
    as it goes the rarer way: a bounce that never happens costs nothing."""
    # (The arrays are sampled at the first count for their shapes: each
    # case has its own length.)
    n = 4000
    rng = np.random.default_rng(5)
    inside, outside, mixed = rng.random(n), -rng.random(n + 1), rng.random(n + 2) - 0.5
    ops = only_nest(bounce, inside, np.zeros(n))["work"]["ops"]
    assert ops["branch_miss"] == 0 and ops["store"] == 0
    ops = only_nest(bounce, outside, np.zeros(n + 1))["work"]["ops"]
    assert ops["branch_miss"] == 0 and ops["store"] == 2 * (n + 1)
    ops = only_nest(bounce, mixed, np.zeros(n + 2))["work"]["ops"]
    assert 0.3 * n < ops["branch_miss"] <= 0.5 * (n + 2)
    assert 0.6 * n < ops["store"] < 1.4 * n
    # A condition on a value the nest computes: half taken, half a miss.
    ops = only_nest(bounce_computed, inside, np.zeros(n))["work"]["ops"]
    assert ops["branch_miss"] == 0.5 * n and ops["store"] == n


def fill(out):
    for i in range(out.shape[0]):
        out[i] = 1.0


def test_pages_written_for_the_first_time_are_priced_on_every_variant():
    """A fresh array above the allocator's mmap threshold has no page in
    memory: the run that writes it pays a fault and the kernel's zeroing of
    each page, whichever variant runs. Asked at each estimate (the count is
    kept, the pages change)."""
    h = _cost.host_profile()
    assert h["first_touch_calibrated"] and h["first_touch_gbs"] > 0
    # Mapped fresh (np.empty may reuse the heap's pages: glibc raises its
    # mmap threshold to the largest block a process frees).
    pages = mmap.mmap(-1, 16 << 20)
    fresh = np.frombuffer(pages, dtype=np.float64)
    est = only_nest(fill, fresh)
    for name in ("python", "cpu-serial", "cpu"):
        v = variant(est, name)
        assert v["details"]["first_touch_bytes"] > 0.9 * fresh.nbytes, name
        threads = v["details"].get("speedup", 1)
        assert v["transfer"] >= 0.9 * fresh.nbytes / (h["first_touch_gbs"] * 1e9 * threads), name
    fresh[:] = 0.0
    est = only_nest(fill, fresh)
    for name in ("python", "cpu-serial", "cpu"):
        assert variant(est, name)["details"]["first_touch_bytes"] == 0, name


def floors(x, out):
    for i in range(x.shape[0]):
        out[i] = math.floor(x[i]) + round(x[i] * 0.5, 2) * 0.0


def floors_to_int(x, out):
    for i in range(x.shape[0]):
        out[i] = int(math.floor(x[i]))


def squared_modulus(z, out):
    for i in range(z.shape[0]):
        out[i] = z[i].real * z[i].real + z[i].imag * z[i].imag


def test_rounding_and_parts_of_complex_numbers_are_instructions_not_calls():
    """floor, ceil, trunc and round(x) are one instruction (roundsd), z.real
    and z.imag a register's half: not libm calls. A float made an int is
    checked for int64's range, a branch that keeps the loop in order."""
    x = np.random.default_rng(6).random(1000) * 100
    work = only_nest(floors, x, np.zeros(1000))["work"]
    assert work["ops"].get("exp", 0) == 1000  # round(x, 2) is a call
    assert work["ops"]["add"] >= 1000
    work = only_nest(floors_to_int, x, np.zeros(1000, dtype=np.int64))["work"]
    assert work["ops"].get("exp", 0) == 0
    assert work["ops_vector"].get("load", 0) == 0
    z = x + 1j * x
    work = only_nest(squared_modulus, z, np.zeros(1000))["work"]
    assert work["ops"].get("exp", 0) == 0


# ---- loops left by a break -------------------------------------------------------


def first_divisors(n, out):
    for k in range(2, n):
        for d in range(2, int(k**0.5) + 1):
            if k % d == 0:
                out[k] = d
                break


def first_above(x, t, out):
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            if x[i, j] > t:
                out[i] = j
                break


def first_above_written(x, t, out):
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            if x[i, j] > t:
                break
            x[i, j] = 0.0  # the condition reads what the nest writes: not stepped


def first_above_computed(x, t, out):
    for i in range(x.shape[0]):
        s = 0.0
        for j in range(x.shape[1]):
            s += x[i, j]
            if s > t:  # a running sum: computed by the nest, not stepped
                out[i] = j
                break


def test_a_search_left_by_a_break_is_counted_for_the_passes_it_runs():
    # Trial division stops at the first divisor: 14 % of the sqrt(k) range
    # runs below 50000; counted for all of it, the count was 7 times too many.
    n = 20000
    est = only_nest(first_divisors, n, np.zeros(n, dtype=np.int64))
    assert est["work"]["ok"], est["work"]["reason"]
    want = 0
    for k in range(2, n):
        for d in range(2, int(k**0.5) + 1):
            want += 1
            if k % d == 0:
                break
    assert loop_iterations(est)["d"] == pytest.approx(want, rel=0.25)
    # Rows searched for their first element above t: uniform data; t = 0.9,
    # about 10 passes a row of 400; t = 0.99, about 100, many rows beyond
    # the passes stepped (their rest at the rate the late passes stopped).
    rng = np.random.default_rng(2)
    x = rng.random((300, 400))
    for t in (0.9, 0.99):
        est = only_nest(first_above, x, t, np.zeros(300, dtype=np.int64))
        want = sum(int(np.argmax(row > t)) + 1 if (row > t).any() else 400 for row in x)
        assert loop_iterations(est)["j"] == pytest.approx(want, rel=0.25), t
    # Nothing above t: every row runs whole.
    est = only_nest(first_above, x, 2.0, np.zeros(300, dtype=np.int64))
    assert loop_iterations(est)["j"] == pytest.approx(300 * 400)


@pytest.mark.parametrize("fn", [first_above_written, first_above_computed], ids=lambda f: f.__name__)
def test_a_break_on_what_the_nest_computes_or_writes_counts_the_whole_range(fn):
    x = np.random.default_rng(3).random((50, 80))
    est = only_nest(fn, x, 0.5, np.zeros(50, dtype=np.int64))
    assert loop_iterations(est)["j"] == pytest.approx(50 * 80)


# ---- the engine's hook, paid by every variant -------------------------------------


def fill_four(a):
    for i in range(4):
        a[i] = 1.0


def test_a_nest_run_as_python_pays_the_engines_hook_too():
    # Binding the values and recording the run come before the loop whatever
    # the variant: the native fixed cost holds them, and so does Python's price.
    from loopscope import _run  # noqa: F401  (registers the engine's calibration)

    h = _cost.host_profile()
    assert h["dispatch_calibrated"]
    assert 0 < h["py_dispatch_us"] <= h["native_call_us"] + 1, (h["py_dispatch_us"], h["native_call_us"])
    est = only_nest(fill_four, np.zeros(4))
    py = variant(est, "python")
    assert py["scheduling"] == pytest.approx(h["py_dispatch_us"] * 1e-6)
    assert py["details"]["py_dispatch_us"] == pytest.approx(h["py_dispatch_us"])
    assert py["total"] == pytest.approx(py["compute"] + py["scheduling"] + py["transfer"])
    # A time measured on the values replaces the count, not the hook.
    from test_compile_ahead import _bound_env

    nest_id, env = _bound_env(fill_four, np.zeros(4))
    measured = _cost.estimate_nest(nest_id, env, nvrtc=False, facts={"python_measured_s": 1e-3})
    assert variant(measured, "python")["total"] == pytest.approx(1e-3 + h["py_dispatch_us"] * 1e-6)
