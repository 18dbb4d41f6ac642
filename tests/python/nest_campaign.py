"""A long differential campaign over generated loop nests.

    .venv/bin/python tests/python/nest_campaign.py --nests N [--seed S]
        [--gen extras|plain|random|indirect|tuples|control|all] [--gpu] [--chunk K]

Runs N generated functions, seeds S, S+1, ..., each in CPython and through
loopscope.run on cpu and cpu-serial with quick and optimised code (with
--gpu also on "gpu-emulated", which compiles slowly), and compares return
values, exceptions and every array (bit for bit, NaN equal to any NaN;
parallel floating-point sums within a tolerance). Generators: "extras"
(nestgen.generate(seed, extras=True): symbolic offsets and steps, aliasing
views, NaN/inf/-0.0), "plain" (nestgen.generate(seed)), "random"
(test_cpu_random.py's functions with extras: float32/int/bool arrays, // and
%, conditionals), "indirect" (nestgen.generate(seed, seed % 2 == 0,
indirect=True): subscripts that read index arrays or int() of elements,
index arrays written in the nest, index values out of range), "tuples"
(nestgen.generate(seed, seed % 2 == 0, seed % 3 == 0, tuples=True): swaps
of elements and scalars, values that read what an earlier target writes,
mixed and nested targets), "control" (nestgen.generate(seed, seed % 2 == 0,
seed % 3 == 0, seed % 5 == 0, control=True): while loops with counters of
their own, `while True` left by a break, breaks and continues, while ... else),
"all" (the six in turn; the default).

A seed whose function CPython itself cannot run in REFERENCE_LIMIT_S (a
Python int that doubles its digits at every iteration) is skipped and
counted apart. Seeds run in worker processes of K seeds each; a worker that dies (a crash
of the engine) is reported with the seed it died on, and the campaign goes
on after it. Failing seeds are printed with their source as they are found.
The last line is always ``nests=N wrong=W crashes=C``.
"""

import argparse
import os
import subprocess
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
CPU_CONFIGS = [
    ("cpu", "quick"),
    ("cpu", "optimised"),
    ("cpu-serial", "quick"),
    ("cpu-serial", "optimised"),
    ("cpu-reversed", "quick"),
    ("cpu-reversed", "optimised"),
]
GENS = ("extras", "plain", "random", "indirect", "tuples", "control")
NESTGEN_GENS = ("extras", "plain", "indirect", "tuples", "control")


def gen_of(seed, gen):
    return GENS[seed % len(GENS)] if gen == "all" else gen


def nestgen_args(seed, g):
    """nestgen.generate's (extras, indirect, tuples, control) for generator g."""
    if g == "indirect":
        return seed % 2 == 0, True, False, False
    if g == "tuples":
        return seed % 2 == 0, seed % 3 == 0, True, False
    if g == "control":
        return seed % 2 == 0, seed % 3 == 0, seed % 5 == 0, True
    return g == "extras", False, False, False


def check(seed, gen, gpu):
    """Failure messages for one seed (empty when every device agrees)."""
    import test_cpu_nestgen
    import test_cpu_random

    g = gen_of(seed, gen)
    if g in NESTGEN_GENS:
        configs = CPU_CONFIGS + ([("gpu-emulated", None)] if gpu else [])
        extras, indirect, tuples, control = nestgen_args(seed, g)
        failures, _ = test_cpu_nestgen.check_seed(seed, extras, configs, indirect, tuples, control)
        return failures
    failures = []
    for device, tier in CPU_CONFIGS + ([("gpu-emulated", None)] if gpu else []):
        exact = seed % 2 == 0  # exact data, with parallel float sums; else real data, Python's order
        msg, _ = test_cpu_random.case_failure(seed, exact, device, tier, extras=True)
        if msg:
            failures.append(msg)
    return failures


REFERENCE_LIMIT_S = 10


def reference_too_slow(seed, gen):
    """True when CPython itself needs more than REFERENCE_LIMIT_S for the
    seed's function (a Python int squared at every iteration grows to
    billions of digits): not a result, the seed is skipped. The engine runs
    only after this, so a hang of the engine is still a hang."""
    import signal

    import nestgen
    import test_cpu_random

    g = gen_of(seed, gen)
    if g in NESTGEN_GENS:
        src, make_args = nestgen.generate(seed, *nestgen_args(seed, g))
        fn, args = nestgen.make_function(src), make_args()
    else:
        built, fn, _ = test_cpu_random.build(seed, True, True)
        args = built.make_args()[1]

    class TooSlow(Exception):
        pass

    def expire(signum, frame):
        raise TooSlow()

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(REFERENCE_LIMIT_S)
    try:
        fn(*args)
    except TooSlow:
        return True
    except Exception:  # the function's own exception: the comparison checks it
        pass
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    return False


def worker(first, last, gen, gpu):
    sys.path.insert(0, HERE)
    warnings.simplefilter("ignore")
    try:
        import test_cpu_nestgen  # noqa: F401  (the engine, loaded once)
        import test_cpu_random  # noqa: F401
    except Exception as exc:  # e.g. the extension is being rebuilt right now
        print(f"SETUP {type(exc).__name__}: {exc}", flush=True)
        sys.exit(3)
    for seed in range(first, last):
        print(f"START {seed}", flush=True)
        if reference_too_slow(seed, gen):
            print(f"SKIP {seed}", flush=True)
            continue
        try:
            failures = check(seed, gen, gpu)
        except Exception as exc:  # a bug of the harness or the engine's Python side
            failures = [f"seed {seed}: {type(exc).__name__}: {exc}"]
        for f in failures:
            print("FAIL " + f.replace("\n", "\n     "), flush=True)
        print(f"DONE {seed} {'wrong' if failures else 'ok'}", flush=True)


def campaign(first, count, gen, gpu, chunk):
    """(wrong, crashes, skipped) over `count` seeds from `first`."""
    wrong = crashes = skipped = setup_failures = 0
    seed, end = first, first + count
    while seed < end:
        stop = min(end, seed + chunk)
        cmd = [sys.executable, "-u", os.path.abspath(__file__), "--worker", str(seed), str(stop), "--gen", gen]
        if gpu:
            cmd.append("--gpu")
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=HERE)
        current = None
        setup = None
        for line in proc.stdout:
            if line.startswith("SETUP "):
                setup = line[6:].strip()
            elif line.startswith("START "):
                current = int(line.split()[1])
            elif line.startswith("SKIP "):
                current = None
                skipped += 1
                seed = int(line.split()[1]) + 1
                print(f"skipped seed {seed - 1}: CPython needs more than {REFERENCE_LIMIT_S} s", flush=True)
            elif line.startswith("DONE "):
                _, s, verdict = line.split()
                current = None
                if verdict == "wrong":
                    wrong += 1
                seed = int(s) + 1
            elif line.startswith("FAIL ") or line.startswith("     "):
                print(line, end="", flush=True)
        rc = proc.wait()
        if setup is not None:  # the engine did not load: not a result, try again
            setup_failures += 1
            if setup_failures > 3:
                raise SystemExit(f"the engine does not load: {setup}")
            time.sleep(20)
            continue
        setup_failures = 0
        if current is not None:  # died inside a seed
            crashes += 1
            print(f"CRASH seed {current} ({gen_of(current, gen)}): the worker exited with status {rc}", flush=True)
            seed = current + 1
        elif rc != 0 and seed < stop:
            crashes += 1
            print(f"CRASH before seed {seed}: the worker exited with status {rc}", flush=True)
            seed += 1
    return wrong, crashes, skipped


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nests", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--gen", choices=GENS + ("all",), default="all")
    ap.add_argument("--gpu", action="store_true", help="also run every seed on gpu-emulated (slow)")
    ap.add_argument("--chunk", type=int, default=200)
    ap.add_argument("--worker", nargs=2, type=int, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        worker(a.worker[0], a.worker[1], a.gen, a.gpu)
        return 0
    wrong, crashes, skipped = campaign(a.seed, a.nests, a.gen, a.gpu, max(1, a.chunk))
    if skipped:
        print(f"{skipped} seeds skipped: CPython needs more than {REFERENCE_LIMIT_S} s for them")
    print(f"nests={a.nests - skipped} wrong={wrong} crashes={crashes}")
    return 1 if wrong or crashes else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
