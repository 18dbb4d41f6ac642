"""Soundness of the dependence analysis against a brute-force oracle, on the
benchmark suite and on random nests (see nestgen.py and oracle.py)."""

import warnings

import pytest

import benchmarks
import nestgen
from analysis_check import check, function_source

N_RANDOM = 1200


@pytest.mark.parametrize("name", benchmarks.names())
def test_benchmark_sound_and_expected(name, reassociation):
    import loopscope

    b = benchmarks.get(name)
    src = function_source(b.fn)
    failures, stats = check(src, b.fn, lambda: b.args("small"), name=b.fn.__name__)
    assert not failures, failures
    rep = loopscope.explain(b.fn, *b.args("small"))
    got = [(l["var"], l["verdict"]) for l in rep["loops"]]
    assert [v for v, _ in got] == [l.var for l in b.loops]
    for (var, verdict), exp in zip(got, b.loops):
        if exp.required:
            assert verdict == exp.verdict, (name, var, verdict, exp)
        else:
            assert verdict in (exp.verdict, "sequential"), (name, var, verdict, exp)
    for n in rep["nests"]:
        assert n["analysed"] and n["subscripts_in_range"], n


@pytest.mark.parametrize("size", ["medium", "large"])
def test_benchmark_verdicts_at_size(size, reassociation):
    import loopscope

    for b in benchmarks.BENCHMARKS:
        rep = loopscope.explain(b.fn, *b.args(size))
        for l, exp in zip(rep["loops"], b.loops):
            if exp.required:
                assert l["verdict"] == exp.verdict, (b.name, size, l)
            else:
                assert l["verdict"] in (exp.verdict, "sequential"), (b.name, size, l)


def test_benchmark_float_reductions_keep_pythons_order_by_default():
    # Without reassociation, every reduction of the suite (all on floats)
    # is a sequential loop that says why; the other verdicts are unchanged.
    import loopscope

    for b in benchmarks.BENCHMARKS:
        rep = loopscope.explain(b.fn, *b.args("small"))
        for l, exp in zip(rep["loops"], b.loops):
            if exp.verdict == "reduction":
                assert l["verdict"] == "sequential", (b.name, l)
                assert "keeps Python's order" in l["reasons"][0], (b.name, l)
            elif exp.required:
                assert l["verdict"] == exp.verdict, (b.name, l)


def test_random_nests_sound():
    totals = {}
    failed = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in range(N_RANDOM):
            src, make_args = nestgen.generate(seed)
            fn = nestgen.make_function(src)
            failures, stats = check(src, fn, make_args)
            for k, v in stats.items():
                totals[k] = totals.get(k, 0) + v
            if failures:
                failed.append((seed, failures, src))
    truly = totals["truly_parallel"]
    found = totals["found_parallel"]
    print(
        f"\nrandom nests: {N_RANDOM}, loops analysed: {totals['loops']}, truly parallel: {truly}, "
        f"found parallel: {found} (precision {100.0 * found / max(truly, 1):.1f}%), reductions: "
        f"{totals['reductions']} ({totals['reduction_checked']} checked by reordering), "
        f"out-of-range runs: {totals['oob']}"
    )
    assert not failed, "\n\n".join(f"seed {s}: {f}\n{src}" for s, f, src in failed[:5])
    assert totals["loops"] > 2000
    assert found > 0.5 * truly


def test_random_nests_with_indirect_subscripts_sound():
    """Nests with indirect subscripts (index arrays, int() of elements, index
    arrays written in the nest, values out of range): no loop is called
    parallel or a reduction where the oracle, on the real index values, sees
    otherwise, and no nest that raises claims its subscripts in range."""
    failed, totals, indirect = [], {}, 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in range(9000, 9500):
            src, make_args = nestgen.generate(seed, False, indirect=True)
            indirect += "indirect subscript" in nestgen.describe(seed, False, True)
            failures, stats = check(src, nestgen.make_function(src), make_args)
            for k, v in stats.items():
                totals[k] = totals.get(k, 0) + v
            if failures:
                failed.append((seed, failures, src))
    print(
        f"\nindirect nests: {indirect} of 500, truly parallel {totals['truly_parallel']}, found {totals['found_parallel']}"
    )
    assert not failed, "\n\n".join(f"seed {s}: {f}\n{src}" for s, f, src in failed[:5])
    assert indirect > 250 and totals["loops"] > 800


def test_random_nests_with_tuple_assignments_sound():
    """Nests with tuple assignments (nestgen's tuples=True: swaps of elements
    and scalars, values that read what an earlier target writes, mixed and
    nested targets; extras on even seeds, indirect subscripts on every third):
    no loop is called parallel or a reduction where the oracle, which runs
    the statements as Python does, sees otherwise."""
    failed, totals, tuples = [], {}, 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in range(11000, 11400):
            extras, indirect = seed % 2 == 0, seed % 3 == 0
            src, make_args = nestgen.generate(seed, extras, indirect, tuples=True)
            tuples += "tuple assignment" in nestgen.describe(seed, extras, indirect, True)
            failures, stats = check(src, nestgen.make_function(src), make_args)
            for k, v in stats.items():
                totals[k] = totals.get(k, 0) + v
            if failures:
                failed.append((seed, failures, src))
    print(
        f"\ntuple nests: {tuples} of 400, truly parallel {totals['truly_parallel']}, found {totals['found_parallel']}"
    )
    assert not failed, "\n\n".join(f"seed {s}: {f}\n{src}" for s, f, src in failed[:5])
    assert tuples > 200 and totals["found_parallel"] > 0.4 * totals["truly_parallel"]


def test_random_nests_sound_without_exact_test():
    """The same check with the exact enumeration off, so that ZIV/SIV/GCD/
    Banerjee/Fourier-Motzkin are checked alone (on these small instances the
    exact test would otherwise decide most open pairs)."""
    import _loopscope

    failed = []
    totals = {}
    _loopscope.analysis_set_exact_test(False)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for seed in range(5000, 5600):
                src, make_args = nestgen.generate(seed)
                failures, stats = check(src, nestgen.make_function(src), make_args)
                for k, v in stats.items():
                    totals[k] = totals.get(k, 0) + v
                if failures:
                    failed.append((seed, failures, src))
    finally:
        _loopscope.analysis_set_exact_test(True)
    print(f"\nwithout the exact test: truly parallel {totals['truly_parallel']}, found {totals['found_parallel']}")
    assert not failed, "\n\n".join(f"seed {s}: {f}\n{src}" for s, f, src in failed[:5])


def test_generator_is_deterministic():
    import numpy as np

    a_src, a_make = nestgen.generate(42)
    b_src, b_make = nestgen.generate(42)
    assert a_src == b_src
    for x, y in zip(a_make(), b_make()):
        if isinstance(x, np.ndarray):
            assert np.array_equal(x, y) and x.shape == y.shape
        else:
            assert x == y
    assert nestgen.generate(43)[0] != a_src


def test_oracle_sees_known_dependences():
    import numpy as np
    import oracle

    src = (
        "def kernel(A, n):\n"
        "    for i in range(1, n):\n"
        "        for j in range(n):\n"
        "            A[i, j] = A[i - 1, j] + 1.0\n"
    )
    o = oracle.trace(src, (np.zeros((5, 5)), 5))
    assert o.carried(0) and not o.carried(1)
    assert o.truly_parallel(1) and not o.truly_parallel(0)
