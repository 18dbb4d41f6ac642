"""What the first ``loopscope.run`` of a function costs, split by stage,
against CPython's own call and Numba's first call.

Each function is measured in a process of its own (so that it is truly
first), after ``import loopscope`` and one unrelated function run through
``loopscope.run`` (the import and that warm-up are reported once, apart).
The first ``loopscope.run(fn, *args)`` (``device="auto"``) is split into:

- rewrite: the Python work on the function's source (parsing, lowering,
  inlining, the rewritten function's compilation);
- static analysis: the engine's registration of each nest (front end and
  static phase, ``_loopscope.analysis_register``);
- first run: the rest, the call itself: binding the values, the run-time
  analysis, the cost model, the native compile and the run (or the Python
  loops of declined nests).

Rewrite and static analysis are also measured in CPU time of the calling
thread: on a busy machine the wall-clock time adds the waits for a core.

Against: CPython's call of the plain function (best of up to three, fresh
arguments, after the Loopscope calls), Loopscope's warm call (best of up to
three, once the background compiles are in; the first call less it is what
the first call adds), and for the PolyBench kernels Numba ``@njit``'s first
call and its warm call (the difference is Numba's compile time).

Groups of functions:

- declined: functions whose nests all decline (in the front end, or when
  they run; a nest the cost model sends to Python is not declined): those of
  the loop corpus (share/corpus) and the notebook-style functions below
  (lists, dicts, strings, prints, generators, try/except, classes, ...);
  each measured in ``--repeat`` processes (the median);
- corpus: every function of the loop corpus (small size);
- polybench: the PolyBench kernels (share/polybench.py, small dataset).

Prints a table and writes bench/results/first_call.json; asserts nothing.

    .venv/bin/python bench/bench_first_call.py
    .venv/bin/python bench/bench_first_call.py --only declined --repeat 5
    .venv/bin/python bench/bench_first_call.py --only polybench --cases gemm,lu
    .venv/bin/python bench/bench_first_call.py --baseline "before the change"   # with the old code
"""

import argparse
import collections
import contextlib
import datetime
import io
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
RESULTS = os.path.join(ROOT, "bench", "results", "first_call.json")
GROUPS = ("declined", "corpus", "polybench")


# ---- notebook-style functions whose loops stay Python ---------------------


def word_counts(text):
    counts = {}
    for word in text.split():
        word = word.strip(".,;:!?").lower()
        if word:
            counts[word] = counts.get(word, 0) + 1
    top = []
    for word, n in sorted(counts.items(), key=lambda kv: -kv[1])[:5]:
        top.append(f"{word}: {n}")
    return top


def squares_and_labels(n):
    out = []
    for i in range(n):
        out.append(i * i)
    labels = []
    for k in range(n):
        labels.append(str(k))
    return out, labels


def print_table(rows):
    for i in range(len(rows)):
        name, score = rows[i]
        print(f"{i:3d} {name:<10} {score:6.2f}")
    total = 0.0
    for name, score in rows:
        total += score
    print("total", total)
    return total


def fizzbuzz(n):
    out = []
    for i in range(1, n + 1):
        if i % 15 == 0:
            out.append("FizzBuzz")
        elif i % 3 == 0:
            out.append("Fizz")
        elif i % 5 == 0:
            out.append("Buzz")
        else:
            out.append(str(i))
    return ",".join(out)


def group_by_first_letter(words):
    groups = {}
    for w in words:
        groups.setdefault(w[0], []).append(w)
    sizes = {}
    for letter in sorted(groups):
        sizes[letter] = len(groups[letter])
    return sizes


def evens(n):
    for i in range(n):
        if i % 2 == 0:
            yield i * i


def evens_total(n):
    total = 0
    for v in evens(n):
        total += v
    return total


def parse_numbers(items):
    good, bad = [], 0
    for s in items:
        try:
            good.append(float(s))
        except ValueError:
            bad += 1
    return sum(good), bad


class Account:
    def __init__(self, owner):
        self.owner = owner
        self.history = []

    def deposit(self, amount):
        self.history.append(amount)


def run_accounts(names, n):
    accounts = []
    for name in names:
        accounts.append(Account(name))
    for i in range(n):
        accounts[i % len(accounts)].deposit(i)
    return [sum(a.history) for a in accounts]


def collatz_lengths(n):
    lengths = []
    for start in range(1, n):
        x, steps = start, 0
        while x != 1:
            x = x // 2 if x % 2 == 0 else 3 * x + 1
            steps += 1
        lengths.append(steps)
    return max(lengths)


def caesar(text, shift):
    out = ""
    for ch in text:
        if ch.isalpha():
            base = ord("a") if ch.islower() else ord("A")
            out += chr((ord(ch) - base + shift) % 26 + base)
        else:
            out += ch
    return out


def unique_pairs(values):
    seen = set()
    pairs = []
    for i in range(len(values)):
        for j in range(i + 1, len(values)):
            pair = tuple(sorted((values[i], values[j])))
            if pair not in seen:
                seen.add(pair)
                pairs.append(pair)
    return len(pairs)


def flatten(rows):
    flat = []
    for row in rows:
        for x in row:
            flat.append(x)
    return flat


def moving_average_list(xs, k):
    out = []
    window = []
    for x in xs:
        window.append(x)
        if len(window) > k:
            window.pop(0)
        out.append(sum(window) / len(window))
    return out


def fibonacci_strings(n):
    a, b = "a", "b"
    for _ in range(n):
        a, b = b, a + b
    return len(b)


def primes_sieve_list(n):
    is_prime = [True] * (n + 1)
    primes = []
    for p in range(2, n + 1):
        if is_prime[p]:
            primes.append(p)
            for q in range(p * p, n + 1, p):
                is_prime[q] = False
    return primes


def matrix_as_lists(n):
    m = []
    for i in range(n):
        row = []
        for j in range(n):
            row.append(i * j)
        m.append(row)
    trace = 0
    for i in range(n):
        trace += m[i][i]
    return trace


def report_lines(records):
    lines = []
    for r in records:
        lines.append("{name}: {value:.1f}".format(**r))
    with io.StringIO() as buf:
        for line in lines:
            buf.write(line + "\n")
        return buf.getvalue()


TEXT = "the quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs! " * 20
WORDS = TEXT.split()

NOTEBOOK = {
    "word_counts": (word_counts, lambda: (TEXT,)),
    "squares_and_labels": (squares_and_labels, lambda: (200,)),
    "print_table": (print_table, lambda: ([(f"n{k}", k * 1.5) for k in range(20)],)),
    "fizzbuzz": (fizzbuzz, lambda: (100,)),
    "group_by_first_letter": (group_by_first_letter, lambda: (WORDS,)),
    "evens_total": (evens_total, lambda: (100,)),
    "parse_numbers": (parse_numbers, lambda: (["1", "2.5", "x", "4", "?", "6e1"] * 10,)),
    "run_accounts": (run_accounts, lambda: (["ann", "bob", "cy"], 60)),
    "collatz_lengths": (collatz_lengths, lambda: (60,)),
    "caesar": (caesar, lambda: (TEXT[:200], 3)),
    "unique_pairs": (unique_pairs, lambda: ([k % 7 for k in range(30)],)),
    "flatten": (flatten, lambda: ([[k, k + 1, k + 2] for k in range(50)],)),
    "moving_average_list": (moving_average_list, lambda: ([float(k % 13) for k in range(100)], 5)),
    "fibonacci_strings": (fibonacci_strings, lambda: (15,)),
    "primes_sieve_list": (primes_sieve_list, lambda: (500,)),
    "matrix_as_lists": (matrix_as_lists, lambda: (20,)),
    "report_lines": (report_lines, lambda: ([{"name": f"r{k}", "value": k / 3} for k in range(20)],)),
}


# ---- one function, in a process of its own ---------------------------------


def warm_up(a):
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i] * 2.0
    return s


class Stages:
    """Exclusive time per stage: wraps the entry points of a stage so that
    the time spent in one, less what the stages it calls take, counts to it.
    ``times``: wall-clock seconds; ``cpu``: this thread's CPU seconds (what
    the stage costs on an idle machine: a busy one adds the waits for a core)."""

    def __init__(self):
        self.times = collections.Counter()
        self.cpu = collections.Counter()
        self.stack = []

    def wrap(self, owner, name, stage):
        inner = getattr(owner, name)

        def timed(*args, **kwargs):
            return self.call(stage, inner, *args, **kwargs)

        setattr(owner, name, timed)

    def call(self, stage, fn, *args, **kwargs):
        self.stack.append([0.0, 0.0])
        t0, c0 = time.perf_counter(), time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            dt, dc = time.perf_counter() - t0, time.thread_time() - c0
            children, children_cpu = self.stack.pop()
            self.times[stage] += dt - children
            self.cpu[stage] += dc - children_cpu
            if self.stack:
                self.stack[-1][0] += dt
                self.stack[-1][1] += dc


def case_of(group, name):
    """``(function, a maker of fresh arguments)``."""
    sys.path.insert(0, os.path.join(ROOT, "share"))
    if group == "notebook":
        return NOTEBOOK[name]
    if group == "corpus":
        import corpus

        c = corpus.get(name)
        return c.fn, lambda: c.make("small")
    import polybench

    k = polybench.get(name)
    return k.fn, lambda: k.args("small")


def best_of(fn, make, count=3, budget=0.5):
    times = []
    while len(times) < count:
        args = make()
        with contextlib.redirect_stdout(io.StringIO()):
            t0 = time.perf_counter()
            try:
                fn(*args)
            except Exception:
                pass
            times.append(time.perf_counter() - t0)
        if sum(times) > budget:
            break
    return min(times)


def worker(group, name, numba_too):
    t0 = time.perf_counter()
    import numpy as np

    t1 = time.perf_counter()
    import loopscope
    from loopscope import _rewrite, _run

    loopscope.run  # noqa: B018  (the lazy import of run)
    t2 = time.perf_counter()
    import _loopscope

    loopscope.run(warm_up, np.arange(64.0))
    t3 = time.perf_counter()
    fn, make = case_of(group, name)
    row = {"group": group, "name": name, "import_numpy_s": t1 - t0, "import_loopscope_s": t2 - t1}
    row["warm_up_s"] = t3 - t2

    stages = Stages()
    stages.wrap(_rewrite, "compile_function", "rewrite")
    stages.wrap(_loopscope, "analysis_register", "static")
    stages.wrap(_loopscope, "analysis_info", "static")
    nests = []
    compile_function = _rewrite.compile_function

    def keep_nests(*args, **kwargs):
        new_fn, found = compile_function(*args, **kwargs)
        nests.extend(found)
        return new_fn, found

    _rewrite.compile_function = keep_nests
    _run.reset_last_runs()
    args = make()
    with contextlib.redirect_stdout(io.StringIO()):
        t0 = time.perf_counter()
        try:
            stages.call("run", loopscope.run, fn, *args)
        except Exception as exc:
            row["raised"] = type(exc).__name__
        row["first_s"] = time.perf_counter() - t0
    row["rewrite_s"] = stages.times["rewrite"]
    row["static_s"] = stages.times["static"]
    row["run_s"] = stages.times["run"]
    row["rewrite_cpu_s"] = stages.cpu["rewrite"]
    row["static_cpu_s"] = stages.cpu["static"]
    runs = _run.last_runs()
    own = [r for r in nests if r.function]
    row["nests"] = len(own)
    row["declined_statically"] = sum(1 for r in own if r.declined and r.lazy is None)
    row["ran_natively"] = sum(1 for r in runs.values() if r.get("status") == "ok")
    # Every nest declined: by the front end, or when it ran (not the cost model's choice of Python).
    row["all_declined"] = "raised" not in row and all(
        (r.declined and r.lazy is None) or runs.get(r.id, {}).get("status") in ("declined", "fallback") for r in own
    )
    _loopscope.cpu_wait_compiles()
    row["second_s"] = best_of(lambda *a: loopscope.run(fn, *a), make)
    row["cpython_s"] = best_of(fn, make)
    if numba_too:
        try:
            import numba

            f = numba.njit(fn)
            args = make()
            t0 = time.perf_counter()
            f(*args)
            row["numba_first_s"] = time.perf_counter() - t0
            row["numba_second_s"] = best_of(f, make, count=2)
        except Exception as exc:
            row["numba_status"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
    print("ROW " + json.dumps(row), flush=True)


# ---- the driver ---------------------------------------------------------------


def run_worker(group, name, numba_too, timeout):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", f"{group}:{name}"]
    if numba_too:
        cmd.append("--numba")
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"group": group, "name": name, "failed": f"ran past {timeout:.0f} s"}
    for line in p.stdout.splitlines():
        if line.startswith("ROW "):
            return json.loads(line[4:])
    tail = " ".join(p.stderr.strip().splitlines()[-2:])[:300]
    return {"group": group, "name": name, "failed": f"exited with status {p.returncode}: {tail}"}


def median_row(rows):
    """The row whose first call is the median of ``rows`` (the same function
    measured in several processes)."""
    ok = [r for r in rows if "first_s" in r]
    if not ok:
        return rows[0]
    ok.sort(key=lambda r: r["first_s"])
    row = dict(ok[(len(ok) - 1) // 2])
    row["processes"] = len(ok)
    row["first_s_all"] = [r["first_s"] for r in ok]
    # The least any process took (the closest to an idle machine).
    row["rewrite_and_static_best_s"] = min(r["rewrite_s"] + r["static_s"] for r in ok)
    row["rewrite_and_static_cpu_s"] = statistics.median(r["rewrite_cpu_s"] + r["static_cpu_s"] for r in ok)
    return row


def us(v):
    if v is None:
        return "–"
    return f"{v * 1e6:.0f} us" if v < 1e-3 else (f"{v * 1e3:.2f} ms" if v < 1 else f"{v:.2f} s")


def print_rows(title, rows, numba=False):
    print(f"\n{title}")
    head = f"{'function':28s} {'nests':>5s} {'native':>6s} {'rewrite':>9s} {'static':>9s} {'run':>9s} {'first':>9s}"
    head += f" {'warm':>9s} {'CPython':>9s} {'first/Py':>8s}"
    if numba:
        head += f" {'Numba 1st':>9s} {'Numba cc':>9s} {'LS/Numba':>8s}"
    print(head)
    for r in rows:
        if "first_s" not in r:
            print(f"{r['name']:28s} {r.get('failed', '?')}")
            continue
        line = (
            f"{r['name'][:28]:28s} {r['nests']:5d} {r['ran_natively']:6d} {us(r['rewrite_s']):>9s} "
            f"{us(r['static_s']):>9s} {us(r['run_s']):>9s} {us(r['first_s']):>9s} {us(r['second_s']):>9s} "
            f"{us(r['cpython_s']):>9s} {r['first_s'] / r['cpython_s']:8.1f}"
        )
        if numba:
            cc = numba_compile(r)
            ratio = max(overhead(r), 1e-6) / cc if cc else None
            line += f" {us(r.get('numba_first_s')):>9s} {us(cc):>9s} {'–' if ratio is None else f'{ratio:8.3f}':>8s}"
        print(line)


def overhead(r):
    """What Loopscope's first call adds: the first call less a warm one."""
    return max(r["first_s"] - r["second_s"], 0.0)


def numba_compile(r):
    if r.get("numba_first_s") is None or r.get("numba_second_s") is None:
        return None
    return max(r["numba_first_s"] - r["numba_second_s"], 0.0)


def geomean(xs):
    xs = [x for x in xs if x and x > 0 and math.isfinite(x)]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def summarise(groups):
    s = {}
    for name, rows in groups.items():
        ok = [r for r in rows if "first_s" in r]
        if not ok:
            continue
        totals = [r["first_s"] for r in ok]
        g = {
            "functions": len(ok),
            "median_first_s": statistics.median(totals),
            "max_first_s": max(totals),
            "median_rewrite_s": statistics.median(r["rewrite_s"] for r in ok),
            "median_static_s": statistics.median(r["static_s"] for r in ok),
            "median_run_s": statistics.median(r["run_s"] for r in ok),
            "geomean_first_over_cpython": geomean([r["first_s"] / r["cpython_s"] for r in ok]),
            "first_slower_than_cpython": sum(1 for r in ok if r["first_s"] > r["cpython_s"]),
        }
        if name == "declined":
            # Rewriting and analysis: what a function whose nests all decline costs more than its Python.
            added = [r["rewrite_s"] + r["static_s"] for r in ok]
            g["median_rewrite_and_static_s"] = statistics.median(added)
            g["max_rewrite_and_static_s"] = max(added)
            g["under_1ms"] = sum(1 for x in added if x < 1e-3)
            best = [r.get("rewrite_and_static_best_s", r["rewrite_s"] + r["static_s"]) for r in ok]
            g["under_1ms_best"] = sum(1 for x in best if x < 1e-3)
            cpu = [r.get("rewrite_and_static_cpu_s", r["rewrite_cpu_s"] + r["static_cpu_s"]) for r in ok]
            g["median_rewrite_and_static_cpu_s"] = statistics.median(cpu)
            g["max_rewrite_and_static_cpu_s"] = max(cpu)
            g["under_1ms_cpu"] = sum(1 for x in cpu if x < 1e-3)
        if name == "polybench":
            pairs = [(overhead(r), numba_compile(r)) for r in ok if numba_compile(r)]
            g["geomean_loopscope_overhead_s"] = geomean([a for a, _ in pairs])
            g["geomean_numba_compile_s"] = geomean([b for _, b in pairs])
            g["geomean_overhead_over_numba_compile"] = geomean([max(a, 1e-6) / b for a, b in pairs])
            g["at_most_tenth_of_numba"] = sum(1 for a, b in pairs if a <= 0.1 * b)
            g["with_numba"] = len(pairs)
        s[name] = g
    return s


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="groups: " + ",".join(GROUPS))
    ap.add_argument("--cases", default="", help="comma-separated function names (within the groups)")
    ap.add_argument("--repeat", type=int, default=3, help="processes per function of the declined group")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per process")
    ap.add_argument("--no-write", action="store_true", help="print only")
    ap.add_argument(
        "--baseline",
        default="",
        help="store this run's summary as the baseline the report compares with (the numbers before a change), "
        "described by this text",
    )
    ap.add_argument("--worker", default="", help=argparse.SUPPRESS)
    ap.add_argument("--numba", action="store_true", help=argparse.SUPPRESS)
    opts = ap.parse_args()
    if opts.worker:
        group, name = opts.worker.split(":", 1)
        worker(group, name, opts.numba)
        return
    sys.path.insert(0, os.path.join(ROOT, "share"))
    import corpus
    import polybench

    only = {g for g in opts.only.split(",") if g} or set(GROUPS)
    cases = {c for c in opts.cases.split(",") if c}
    pick = lambda names: [n for n in names if not cases or n in cases]  # noqa: E731
    t_start = time.monotonic()
    groups = {}
    corpus_rows = []
    if only & {"declined", "corpus"}:
        print(f"corpus: {len(pick(corpus.names()))} functions, one process each", flush=True)
        for name in pick(corpus.names()):
            corpus_rows.append(run_worker("corpus", name, False, opts.timeout))
    if "declined" in only:
        rows = []
        for name in pick(list(NOTEBOOK)):
            rows.append(median_row([run_worker("notebook", name, False, opts.timeout) for _ in range(opts.repeat)]))
        for r in corpus_rows:
            if r.get("all_declined"):
                more = [run_worker("corpus", r["name"], False, opts.timeout) for _ in range(opts.repeat - 1)]
                rows.append(median_row([r] + more))
        groups["declined"] = rows
        print_rows(f"declined: every nest declines (median of {opts.repeat} processes)", rows)
    if "corpus" in only:
        groups["corpus"] = corpus_rows
        print_rows("corpus: every function (small size)", corpus_rows)
    if "polybench" in only:
        rows = [run_worker("polybench", name, True, opts.timeout) for name in pick(polybench.names())]
        groups["polybench"] = rows
        print_rows("polybench: small dataset", rows, numba=True)
    every = [r for rows in groups.values() for r in rows if "first_s" in r]
    imports = {
        "import_numpy_s": statistics.median(r["import_numpy_s"] for r in every) if every else None,
        "import_loopscope_s": statistics.median(r["import_loopscope_s"] for r in every) if every else None,
        "warm_up_s": statistics.median(r["warm_up_s"] for r in every) if every else None,
    }
    summary = summarise(groups)
    print(
        f"\nimport numpy {us(imports['import_numpy_s'])}, import loopscope {us(imports['import_loopscope_s'])}, "
        f"warm-up function {us(imports['warm_up_s'])} (medians over the processes)"
    )
    for name, g in summary.items():
        line = (
            f"{name}: {g['functions']} functions, first call median {us(g['median_first_s'])} "
            f"(rewrite {us(g['median_rewrite_s'])}, static {us(g['median_static_s'])}, run {us(g['median_run_s'])}), "
            f"slower than CPython for {g['first_slower_than_cpython']}"
        )
        if name == "declined":
            line += (
                f"; rewrite + static analysis median {us(g['median_rewrite_and_static_s'])}, "
                f"max {us(g['max_rewrite_and_static_s'])}, under 1 ms for {g['under_1ms']} "
                f"({g['under_1ms_best']} in the fastest of their processes); in CPU time median "
                f"{us(g['median_rewrite_and_static_cpu_s'])}, max {us(g['max_rewrite_and_static_cpu_s'])}, "
                f"under 1 ms for {g['under_1ms_cpu']}"
            )
        if name == "polybench" and g.get("with_numba"):
            line += (
                f"; first-call overhead {us(g['geomean_loopscope_overhead_s'])} against Numba's compile "
                f"{us(g['geomean_numba_compile_s'])} (geomean ratio {g['geomean_overhead_over_numba_compile']:.3f}, "
                f"at most 0.1 for {g['at_most_tenth_of_numba']} of {g['with_numba']})"
            )
        print(line)
    print(f"({time.monotonic() - t_start:.0f} s)")
    if opts.no_write or opts.cases:
        return
    data = {}
    if os.path.exists(RESULTS):
        with open(RESULTS) as f:
            data = json.load(f)
    now = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average": os.getloadavg()[0],
        "repeat": opts.repeat,
        "imports": imports,
    }
    if not opts.baseline:
        data.update(now)
    if opts.baseline:
        # Only the summary: the results of the current code stay as they are.
        base = data.setdefault("baseline", {"summary": {}})
        base["summary"].update(summary)
        base.update({"note": opts.baseline, "date": now["date"], "imports": imports})
        base["rows"] = {g: {r["name"]: r.get("first_s") for r in rows} for g, rows in groups.items()}
    else:
        data.setdefault("groups", {}).update(groups)
        data.setdefault("summary", {}).update(summary)
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as f:
        json.dump(data, f, indent=1)
    print(f"wrote {os.path.relpath(RESULTS, ROOT)}")


if __name__ == "__main__":
    main()
