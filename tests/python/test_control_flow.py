"""Sequential control flow inside loop nests: `while` loops, `break`,
`continue`, `for ... else` and `while ... else`. Every function runs in
CPython and through loopscope.run on each device and must give the same
return values (with their types), the same arrays, the same exceptions (type
and message) and the same partial writes. The verdicts are checked with the
run records and loopscope.explain: a loop that a `break` may leave runs in
order, the loops around it keep theirs (Mandelbrot's pixel loops stay
parallel on the CPU and form the GPU's grid).
"""

import math
import random
import threading
import time
import warnings

import numpy as np
import pytest

import _loopscope
import differential
import explain_check
import loopscope
from differential import DEVICES, parallel_loops, same, use_temporary_cache  # noqa: F401
from test_cpu_semantics import Interrupts


def check(fn, make_args, native=True, devices=DEVICES):
    return differential.check(fn, make_args, native, devices, hidden_words=("else1",))


def explain_text(fn, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return str(loopscope.explain(fn, *args))


# --- while loops ----------------------------------------------------------------


def mandelbrot(out, xs, ys, max_iter):
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            cr = xs[j]
            ci = ys[i]
            zr = 0.0
            zi = 0.0
            n = 0
            while zr * zr + zi * zi < 4.0 and n < max_iter:
                zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
                n += 1
            out[i, j] = n
    return out, n, zr, zi, i, j


def mandelbrot_temps(out, xs, ys, max_iter):
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            zr = 0.0
            zi = 0.0
            n = 0
            while not (zr * zr + zi * zi >= 4.0 or n >= max_iter):
                t = zr * zr - zi * zi + xs[j]
                zi = 2.0 * zr * zi + ys[i]
                zr = t
                n = n + 1
            out[i, j] = n
    return out


def mandelbrot_break(out, xs, ys, max_iter):
    n = 0  # read after the loop over n, which may not run: a value from before the nest
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            zr = 0.0
            zi = 0.0
            for n in range(max_iter):
                if zr * zr + zi * zi > 4.0:
                    break
                zr, zi = zr * zr - zi * zi + xs[j], 2.0 * zr * zi + ys[i]
            out[i, j] = n
    return out, n


def _mandel_args(rows=12, cols=17, max_iter=60):
    return lambda: (
        np.zeros((rows, cols), np.int64),
        np.linspace(-2.0, 0.7, cols),
        np.linspace(-1.2, 1.2, rows),
        max_iter,
    )


@pytest.mark.parametrize("fn", [mandelbrot, mandelbrot_temps, mandelbrot_break])
def test_mandelbrot(fn):
    recs = check(fn, _mandel_args())
    # The escape loop is sequential; the pixel loops stay parallel.
    assert parallel_loops(recs, "cpu") == ["i"]
    assert parallel_loops(recs, "gpu-emulated") == ["i, j"]


def test_mandelbrot_explain_says_the_pixel_loops_are_parallel():
    text = explain_text(mandelbrot, *_mandel_args()())
    assert "parallel" in text
    text = explain_text(mandelbrot_break, *_mandel_args()())
    assert "break" in text


def collatz_lengths(a, out):
    total = 0
    for i in range(a.shape[0]):
        n = a[i]
        steps = 0
        while n != 1:
            if n % 2 == 0:
                n = n // 2
            else:
                n = 3 * n + 1
            steps += 1
        out[i] = steps
        total += out[i]
    return total, n, steps


def test_collatz():
    recs = check(collatz_lengths, lambda: (np.arange(1, 200, dtype=np.int64), np.zeros(199, np.int64)))
    assert parallel_loops(recs, "cpu") == ["i"]


def newton_sqrt(a, out, tol):
    for i in range(a.shape[0]):
        x = a[i]
        g = x if x > 1.0 else 1.0
        it = 0
        while abs(g * g - x) > tol * x and it < 100:
            g = 0.5 * (g + x / g)
            it += 1
        out[i] = g
    return it


def test_newton_with_a_tolerance():
    recs = check(newton_sqrt, lambda: (np.linspace(0.5, 1000.0, 300), np.zeros(300), 1e-12))
    assert parallel_loops(recs, "cpu") == ["i"]


def newton_divides_by_zero(a, out):
    for i in range(a.shape[0]):
        x = float(a[i])  # a Python float: x / 0.0 raises (NumPy's float64 would warn)
        g = x
        k = 0
        while k < 5:
            g = 0.5 * (g + x / g)
            k += 1
        out[i] = g


def test_while_that_divides_by_zero_midway():
    # a[7] is 0: x / g raises ZeroDivisionError with out[:7] written.
    check(newton_divides_by_zero, lambda: (np.concatenate([np.linspace(1, 7, 7), [0.0], [4.0]]), np.zeros(9)))


def fill_rows(out, counts):
    for i in range(out.shape[0]):
        k = 0
        while k < counts[i]:
            out[i, k] = i * 10 + k
            k += 1


def test_while_that_writes_out_of_range_midway():
    # Row 3 asks for 6 elements of a row of 5: IndexError after partial writes.
    check(fill_rows, lambda: (np.zeros((5, 5), np.int64), np.array([1, 5, 2, 6, 1])))
    recs = check(fill_rows, lambda: (np.zeros((5, 5), np.int64), np.array([1, 5, 2, 4, 0])))
    assert parallel_loops(recs, "cpu") == ["i"]


def zero_trip_while(a, out):
    t = -1
    for i in range(a.shape[0]):
        n = 0
        while n < a[i]:
            t = n
            n += 2
        out[i] = n
    return t, n


def test_zero_trip_while():
    # t is assigned by some iterations only, the last not among them: the
    # GPU's parallel code does not keep such a value (it stops, and Python
    # runs the loop); the CPU combines its chunks in order.
    check(zero_trip_while, lambda: (np.array([0, -3, 0]), np.zeros(3, np.int64)), native=("cpu", "cpu-serial"))
    check(zero_trip_while, lambda: (np.array([0, 5, 0, 3, -1]), np.zeros(5, np.int64)), native=("cpu", "cpu-serial"))
    check(zero_trip_while, lambda: (np.array([0, 5, 0, 3, 1]), np.zeros(5, np.int64)))


def while_reads_what_it_writes(a):
    for i in range(1, a.shape[0]):
        k = 0
        while a[i] > a[i - 1] + 1 and k < 50:
            a[i] -= 1
            k += 1
    return a


def test_while_whose_condition_reads_an_element_it_writes():
    check(while_reads_what_it_writes, lambda: (np.array([0.0, 5.5, 3.0, 9.25, 1.0]),))


def countdown_while_else(a, out):
    for i in range(a.shape[0]):
        k = a[i]
        while k > 0:
            if k == 7:
                out[i] = -7
                break
            k -= 1
        else:
            out[i] = 100 + a[i]
    return k


def test_while_else():
    check(countdown_while_else, lambda: (np.array([3, 9, 0, 7, 5]), np.zeros(5, np.int64)))


# --- break and continue -----------------------------------------------------------


def first_index(a, t, idx):
    for i in range(a.shape[0]):
        idx[i] = -1
        for j in range(a.shape[1]):
            if a[i, j] == t:
                idx[i] = j
                break
    return i, j


def test_first_index_search():
    recs = check(first_index, lambda: (np.random.RandomState(0).randint(0, 6, (9, 8)), 3, np.zeros(9, np.int64)))
    assert parallel_loops(recs, "cpu") == ["i"]
    assert parallel_loops(recs, "gpu-emulated") == ["i"]
    text = explain_text(first_index, np.random.RandomState(0).randint(0, 6, (9, 8)), 3, np.zeros(9, np.int64))
    assert "break" in text


def skip_negatives(a, out):
    count = 0
    for i in range(a.shape[0]):
        if a[i] < 0:
            continue
        out[i] = math.sqrt(a[i])
        count += 1
    return count


def test_skip_with_continue():
    recs = check(skip_negatives, lambda: (np.random.RandomState(1).randn(101), np.zeros(101)))
    # continue does not make the loop sequential: an integer count is a reduction.
    assert parallel_loops(recs, "cpu") == ["i"]
    assert parallel_loops(recs, "gpu-emulated") == ["i"]


def continue_keeps_last_values(a, out):
    last = -1
    for i in range(a.shape[0]):
        if a[i] % 3 == 0:
            continue
        last = i
        out[i] = a[i] * 2
    return last, i


def test_continue_and_the_value_after_the_loop():
    # The last iteration continues: last keeps the value of an earlier one.
    check(continue_keeps_last_values, lambda: (np.arange(1, 31), np.zeros(30, np.int64)), native=("cpu", "cpu-serial"))
    check(continue_keeps_last_values, lambda: (np.arange(1, 32), np.zeros(31, np.int64)))


def nested_breaks(a, out):
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            for k in range(a.shape[2]):
                if a[i, j, k] > 7:
                    break
                out[i, j] += a[i, j, k]
            if out[i, j] > 12:
                break
    return i, j, k


def test_inner_break_only_leaves_the_inner_loop():
    recs = check(
        nested_breaks, lambda: (np.random.RandomState(2).randint(0, 10, (6, 5, 4)), np.zeros((6, 5), np.int64))
    )
    assert parallel_loops(recs, "cpu") == ["i"]


def break_in_outer_loop(a, t):
    s = 0
    for i in range(a.shape[0]):
        if a[i] > t:
            break
        s += a[i]
    return s, i


def test_break_in_the_outermost_loop():
    check(break_in_outer_loop, lambda: (np.array([1, 2, 3, 9, 4]), 5))
    check(break_in_outer_loop, lambda: (np.array([1, 2, 3]), 5))


def continue_in_while(a, out):
    for i in range(a.shape[0]):
        k = 0
        s = 0
        while k < a[i]:
            k += 1
            if k % 2 == 0:
                continue
            s += k
        out[i] = s


def test_continue_in_a_while():
    check(continue_in_while, lambda: (np.array([0, 1, 5, 8, 3]), np.zeros(5, np.int64)))


def infinite_while_with_break(a, out):
    for i in range(a.shape[0]):
        k = 0
        while True:
            k += 1
            if k * k >= a[i]:
                break
        out[i] = k


def test_while_true_with_break():
    recs = check(infinite_while_with_break, lambda: (np.array([0, 1, 17, 100, 99]), np.zeros(5, np.int64)))
    assert parallel_loops(recs, "cpu") == ["i"]


def for_else(a, out):
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            if a[i, j] > 5:
                out[i] = j
                break
        else:
            out[i] = -1
    return i, j


def test_for_else():
    recs = check(for_else, lambda: (np.random.RandomState(3).randint(0, 7, (8, 5)), np.zeros(8, np.int64)))
    assert parallel_loops(recs, "cpu") == ["i"]


def for_else_without_break(a, out):
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            out[i] += a[i, j]
        else:
            out[i] *= 2


def test_for_else_without_break_runs_the_else_always():
    check(for_else_without_break, lambda: (np.arange(12).reshape(3, 4), np.zeros(3, np.int64)))


def break_then_continue(a, out):
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            if a[i, j] < 0:
                continue
            if a[i, j] > 100:
                break
            out[i] += a[i, j]
        else:
            continue
        out[i] = -out[i]


def test_break_and_continue_in_one_loop():
    check(break_then_continue, lambda: (np.array([[1, -2, 3], [4, 200, 5], [-1, -1, -1]]), np.zeros(3, np.int64)))


def search_raises(a, b, out):
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            if int(a[i, j]) // int(b[j]) > 2:  # Python ints: // 0 raises
                out[i] = j
                break


def test_break_loop_that_raises():
    # b[2] is 0: ZeroDivisionError in row 0 only when no earlier j breaks.
    check(search_raises, lambda: (np.array([[9, 9, 1], [1, 1, 1]]), np.array([1, 1, 0]), np.zeros(2, np.int64)))
    check(search_raises, lambda: (np.array([[1, 1, 1], [1, 1, 1]]), np.array([1, 1, 0]), np.zeros(2, np.int64)))


# --- what declines -------------------------------------------------------------


def break_in_one_case_of_an_elif(a, out):
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            if a[i, j] > 5:
                out[i] += 1
            elif a[i, j] < 0:
                break
            out[i] += 10


def test_break_in_one_case_with_statements_after_declines_with_a_sentence():
    check(
        break_in_one_case_of_an_elif,
        lambda: (np.array([[1, 9, -1, 3], [2, 2, 2, 2]]), np.zeros(2, np.int64)),
        native=False,
    )
    text = explain_text(break_in_one_case_of_an_elif, np.ones((2, 2), np.int64), np.zeros(2, np.int64))
    assert "the 'break' on line" in text and "else branch" in text


# --- interrupts -------------------------------------------------------------------


def spin(a, out):
    for i in range(a.shape[0]):
        k = 0
        while True:
            k += 1
            if k < 0:
                break
        out[i] = k


@pytest.mark.parametrize("device", ["cpu", "cpu-serial"])
def test_ctrl_c_stops_a_while_true(capfd, device):
    loopscope.run(spin, np.ones(0), np.zeros(0, np.int64), device=device)  # compiled first
    a = np.ones(4)
    out = np.zeros(4, np.int64)
    with pytest.raises(KeyboardInterrupt), Interrupts(0.5) as ctrl_c:
        loopscope.run(spin, a, out, device=device)
    ctrl_c.check(capfd, 0.5 + 2.0)
    assert not _loopscope.cpu_cancel_requested()
    # the engine still works afterwards
    check(collatz_lengths, lambda: (np.arange(1, 20, dtype=np.int64), np.zeros(19, np.int64)), devices=(device,))


def test_the_kernels_interrupt_stops_a_while_true_on_the_emulated_gpu():
    """The kernel's signal thread sets the native cancel flag on Ctrl-C (a
    plain Python process has no such thread, and its own handler waits for
    the call to return): set here from another thread, it stops the
    emulated kernel's while loop."""
    loopscope.run(spin, np.ones(0), np.zeros(0, np.int64), device="gpu-emulated")  # the emulator's library is built
    timer = threading.Timer(0.3, lambda: _loopscope.cpu_set_cancel(True))
    timer.start()
    t0 = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        loopscope.run(spin, np.ones(4), np.zeros(4, np.int64), device="gpu-emulated")
    timer.join()
    assert time.perf_counter() - t0 < 0.3 + 2.0
    assert not _loopscope.cpu_cancel_requested()


def draws_until(out, p):
    for i in range(out.shape[0]):
        x = random.random()
        if x < p:
            break
        out[i] = x
    return i


def draws_skipping(out, p):
    for i in range(out.shape[0]):
        if out[i] < 0:
            continue
        out[i] = random.random() * p


@pytest.mark.parametrize("fn", [draws_until, draws_skipping])
def test_random_draws_with_break_or_continue_run_in_python(fn):
    # How many numbers Python draws depends on the values: drawing them all
    # before the loop would leave the generator elsewhere (and, with continue,
    # give the iterations other numbers).
    for device in DEVICES:
        random.seed(5)
        want_out = np.array([1.0, -1.0, 2.0, 3.0, -1.0, 4.0] * 3)
        want = fn(want_out, 0.2)
        want_next = random.random()
        random.seed(5)
        got_out = np.array([1.0, -1.0, 2.0, 3.0, -1.0, 4.0] * 3)
        got = loopscope.run(fn, got_out, 0.2, device=device)
        assert same(want, got) and same(want_out, got_out), device
        assert random.random() == want_next, device


# --- random nests with while loops, breaks and continues ----------------------------


def _random_block(rng, depth, counter):
    """Statements for the body of a loop (indented by the caller): every while
    loop steps a counter of its own first and is bounded by it."""
    out = []
    for n in range(rng.randint(1, 3)):
        kind = rng.choice(["acc", "while", "for", "if"] if depth < 2 else ["acc", "if"])
        if depth == 0 and n == 0:
            kind = rng.choice(["while", "for"])
        if kind == "acc":
            out.append(f"s += a[i, {rng.choice(['0', 'i % m', 'c % m'])}] - {rng.randint(0, 5)}")
        elif kind == "if":
            jump = rng.choice(["", "break", "continue"]) if counter else ""
            cond = f"a[i, c % m] {rng.choice(['>', '<', '=='])} {rng.randint(0, 9)}"
            if jump:
                out.append(f"if {cond}:\n    {jump}")
            else:
                out.append(f"if {cond}:\n    s -= 1\nelse:\n    s += 2")
        elif kind == "while":
            k = f"k{depth}"
            bound = rng.choice([f"a[i, {rng.randint(0, 3)}] % 4", str(rng.randint(0, 5)), "m"])
            head = rng.choice([f"while {k} < {bound}:", "while True:"])
            body = [f"{k} += 1", f"c += {k}"]
            if head == "while True:":
                body.append(f"if {k} > {bound}:\n    break")
            body += _random_block(rng, depth + 1, k)
            tail = "else:\n    s += 100\n" if rng.random() < 0.3 else ""
            out.append(f"{k} = 0\n{head}\n" + _indent("\n".join(body)) + "\n" + tail.rstrip("\n"))
        else:
            v = f"j{depth}"
            body = [f"c += {v}"] + _random_block(rng, depth + 1, v)
            tail = "else:\n    s += 1000\n" if rng.random() < 0.3 else ""
            out.append(
                f"for {v} in range({rng.choice(['m', '3', 'm - 3'])}):\n"
                + _indent("\n".join(body))
                + "\n"
                + tail.rstrip("\n")
            )
    return [x.rstrip("\n") for x in out]


def _indent(text, by="    "):
    return "\n".join(by + line if line else line for line in text.split("\n"))


def random_nest(seed):
    import linecache

    rng = random.Random(seed)
    body = _random_block(rng, 0, None)
    src = (
        "def f(a, out, m):\n"
        "    total = 0\n"
        "    for i in range(a.shape[0]):\n"
        "        s = 0\n"
        "        c = 0\n" + _indent("\n".join(body), "        ") + "\n"
        "        out[i] = s * 7 + c\n"
        "        total += out[i]\n"
        "    return total, s, c\n"
    )
    name = f"<control-flow-{seed}>"
    linecache.cache[name] = (len(src), None, src.splitlines(True), name)
    ns = {}
    exec(compile(src, name, "exec"), ns)
    return ns["f"], src


@pytest.mark.parametrize("seed", range(60))
def test_random_nests_with_control_flow(seed):
    fn, src = random_nest(seed)
    rng = np.random.RandomState(seed)
    a = rng.randint(0, 10, (7, 5))
    try:
        check(fn, lambda: (a.copy(), np.zeros(7, np.int64), 5), native=("cpu", "cpu-serial"))
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{src}") from None


def newton_step(g, x):
    return 0.5 * (g + x / g)


def far(g, x):
    return abs(g * g - x) > 1e-12 * x


def newton_with_a_helper(a, out):
    for i in range(a.shape[0]):
        x = float(a[i])
        g = x
        k = 0
        while k < 60 and abs(g * g - x) > 1e-12 * x:
            g = newton_step(g, x)
            k += 1
        out[i] = g


def newton_helper_in_condition(a, out):
    for i in range(a.shape[0]):
        x = float(a[i])
        g = x
        while far(g, x):
            g = newton_step(g, x)
        out[i] = g


def test_user_functions_called_in_a_while():
    # Inlined in the body; a call in the condition (computed before every
    # pass) declines with a sentence.
    recs = check(newton_with_a_helper, lambda: (np.linspace(1.0, 50.0, 40), np.zeros(40)))
    assert parallel_loops(recs, "cpu") == ["i"]
    check(newton_helper_in_condition, lambda: (np.linspace(1.0, 50.0, 40), np.zeros(40)), native=False)
    text = explain_text(newton_helper_in_condition, np.linspace(1.0, 50.0, 4), np.zeros(4))
    assert "condition of the while loop" in text


# --- explain predicts run ------------------------------------------------------------


@pytest.mark.parametrize(
    "fn,make_args",
    [
        (mandelbrot, _mandel_args()),
        (mandelbrot_break, _mandel_args()),
        (collatz_lengths, lambda: (np.arange(1, 60, dtype=np.int64), np.zeros(59, np.int64))),
        (first_index, lambda: (np.random.RandomState(0).randint(0, 6, (9, 8)), 3, np.zeros(9, np.int64))),
        (skip_negatives, lambda: (np.random.RandomState(1).randn(50), np.zeros(50))),
        (for_else, lambda: (np.random.RandomState(3).randint(0, 7, (8, 5)), np.zeros(8, np.int64))),
        (countdown_while_else, lambda: (np.array([3, 9, 0, 7, 5]), np.zeros(5, np.int64))),
        (break_in_outer_loop, lambda: (np.array([1, 2, 3, 9, 4]), 5)),
        (zero_trip_while, lambda: (np.array([0, 5, 0, 3, -1]), np.zeros(5, np.int64))),
    ],
    ids=lambda x: getattr(x, "__name__", ""),
)
def test_explain_predicts_run(fn, make_args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bad, compared = explain_check.mismatches(fn, make_args)
    assert not bad, "\n".join(bad)
    assert compared > 0


# --- the cost model ---------------------------------------------------------------------


def counted_passes(a, out):
    for i in range(a.shape[0]):
        k = 0
        while k < a[i]:
            k += 1
        out[i] = k


def test_cost_model_counts_the_passes_of_a_while_that_steps_towards_its_limit():
    # docs/costmodel.md: a while that steps a name by a constant towards a
    # limit its body does not change (k += 1 while k < a[i]) is counted for
    # the passes it makes, a[i] in row i: 1 + a[i] + 1 per row.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e = loopscope.estimate(counted_passes, np.arange(10), np.zeros(10, np.int64), sweep=False)
    (nest,) = e["nests"]
    assert nest["work"]["ok"], nest["work"]
    assert nest["work"]["statements"] == pytest.approx(10 * (1 + 1) + sum(range(10)))
    assert nest["choice"] and nest["reason"]


def collatz_passes(a, out):
    for i in range(a.shape[0]):
        x = a[i]
        k = 0
        while x > 1:
            if x % 2 == 0:
                x = x // 2
            else:
                x = 3 * x + 1
            k += 1
        out[i] = k


def test_cost_model_counts_a_fixed_number_of_passes_per_while_it_cannot_count():
    # A while whose passes depend on what its body computes is counted 16
    # times each time it is reached: x = a[i], k = 0, 16 passes of two
    # statements (the if and k += 1), out[i] = k.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e = loopscope.estimate(collatz_passes, np.arange(1, 11), np.zeros(10, np.int64), sweep=False)
    (nest,) = e["nests"]
    assert nest["work"]["ok"], nest["work"]
    assert nest["work"]["statements"] == pytest.approx(10 * (2 + 16 * 2 + 1))
    assert nest["choice"] and nest["reason"]
