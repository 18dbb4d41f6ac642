"""What ``explain`` predicts is what ``run`` does.

For every nest execution it analyses, ``explain`` says what each device
will do (``nests[k]["predicted"]``: decline and why, or run natively with
these loops in parallel). Here each function is explained, then run on the
devices, and the first execution of every nest is compared with the
prediction: a decline with the same reason, or a native run with the same
parallel loops (or a native run that fell back while running: a subscript
found out of range, an overflow, which only running tells).

Corpora: the twelve benchmarks, the random nests of nestgen.py (plain and
with extras: symbolic offsets, aliased views, special values), and nests
that the code generators decline although their dependences allow them."""

import math

import numpy as np
import pytest

import benchmarks
import loopscope
import nestgen
from explain_check import mismatches

# The random data overflows and divides by zero in Python's loops too: NumPy's
# warnings are part of what is compared elsewhere (test_cpu_nestgen), not here.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@pytest.mark.parametrize("bench", benchmarks.BENCHMARKS, ids=lambda b: b.name)
def test_benchmarks(bench):
    bad, compared = mismatches(bench.fn, lambda: bench.args("small"))
    assert compared > 0
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("batch", range(4))
def test_random_nests_on_the_cpu(batch):
    failures, compared = [], 0
    for seed in range(batch * 100, batch * 100 + 100):
        for extras in (False, True):
            src, make_args = nestgen.generate(seed, extras)
            fn = nestgen.make_function(src)
            bad, n = mismatches(fn, make_args, ("cpu", "cpu-serial"))
            compared += n
            failures += [f"seed {seed} extras={extras}: {b}\n{src}" for b in bad]
    assert compared > 100
    assert not failures, "\n".join(failures[:5])


@pytest.mark.parametrize("batch", range(2))
def test_random_nests_with_indirect_subscripts(batch):
    failures, compared = [], 0
    for seed in range(7000 + batch * 60, 7060 + batch * 60):
        src, make_args = nestgen.generate(seed, seed % 2 == 0, indirect=True)
        fn = nestgen.make_function(src)
        devices = ("cpu", "cpu-serial") + (("gpu-emulated",) if seed % 10 == 0 else ())
        bad, n = mismatches(fn, make_args, devices)
        compared += n
        failures += [f"seed {seed} (indirect): {b}\n{src}" for b in bad]
    assert compared > 60
    assert not failures, "\n".join(failures[:5])


@pytest.mark.parametrize("seed", range(5000, 5024))
def test_random_nests_on_the_emulated_gpu(seed):
    src, make_args = nestgen.generate(seed, True)
    fn = nestgen.make_function(src)
    bad, _ = mismatches(fn, make_args, ("gpu-emulated",))
    assert not bad, "\n".join(bad) + "\n" + src


# Nests whose dependences allow native code but whose values no code
# generator takes (explain used to call them parallel).
def _ufunc_on_scalars(S, out):
    for i in range(S.shape[0]):
        out[i] = np.exp(S[i]) + 1.0


def _ufunc_on_integers(K, out):
    for i in range(K.shape[0]):
        out[i] = np.exp(K[i]) + 1.0


def _int_accumulator_becomes_float(A):
    s = 0
    for i in range(A.shape[0]):
        s += A[i]
    return s


def _float_into_int_array(A):
    for i in range(A.shape[0]):
        A[i] = 0.5 * i


def _float32_scalar(A, c):
    for i in range(A.shape[0]):
        A[i] = A[i] * c


def _math_is_fine(S, out):
    for i in range(S.shape[0]):
        out[i] = math.exp(S[i]) + 1.0


def _out_of_range(A):
    for i in range(A.shape[0]):
        A[i + 1] = A[i]


DECLINED = [
    # NumPy's own inner loop on the CPU (the GPU declines): NumPy's results.
    (_ufunc_on_scalars, lambda: (np.linspace(0, 1, 50), np.zeros(50)), "native"),
    (_ufunc_on_integers, lambda: (np.arange(50), np.zeros(50)), "declined"),
    # int then float: native code tracks which the variable holds.
    (_int_accumulator_becomes_float, lambda: (np.ones(50),), "native"),
    (_float_into_int_array, lambda: (np.zeros(50, dtype=np.int64),), "declined"),
    # np.float32 and np.float16 scalars run natively on the CPU (the GPU
    # declines them).
    (_float32_scalar, lambda: (np.ones(50), np.float32(0.5)), "native"),
    (_float32_scalar, lambda: (np.ones(50), np.float16(0.5)), "native"),
    (_math_is_fine, lambda: (np.linspace(0, 1, 50), np.zeros(50)), "native"),
    # Out of range at the last iteration: the native code checks it as it
    # runs and falls back (Python then raises the IndexError).
    (_out_of_range, lambda: (np.ones(50),), "native"),
]


@pytest.mark.parametrize("fn,make_args,cpu", DECLINED, ids=[c[0].__name__ for c in DECLINED])
def test_declined_nests(fn, make_args, cpu):
    bad, compared = mismatches(fn, make_args)
    assert compared == 3
    assert not bad, "\n".join(bad)
    rep = loopscope.explain(fn, *make_args())
    (nest,) = rep["nests"]
    assert nest["predicted"]["cpu"]["status"] == cpu
    if all(p["status"] == "declined" for p in nest["predicted"].values()):
        # What run will do is what the loops' verdicts say.
        assert nest["decline"]["reason"] == nest["predicted"]["cpu"]["reason"]
        for loop in nest["loops"]:
            assert loop["verdict"] == "sequential" and nest["decline"]["reason"] in loop["reasons"][0]
