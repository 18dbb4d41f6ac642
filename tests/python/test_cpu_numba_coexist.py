"""Numba (llvmlite's LLVM) and the engine's LLVM 19 JIT in one process: JIT
with Loopscope, then compile and run with Numba, then JIT again."""

import numpy as np
import pytest

import loopscope

numba = pytest.importorskip("numba")


def scale(x, y, a):
    n = x.shape[0]
    for i in range(n):
        y[i] = a * x[i] + 1.0


def scale2(x, y, a):
    n = x.shape[0]
    for i in range(n):
        y[i] = a * x[i] - 1.0


def test_numba_and_loopscope_share_a_process():
    x = np.arange(1000.0)
    y = np.zeros(1000)
    loopscope.run(scale, x, y, 3.0, device="cpu")
    assert np.array_equal(y, 3.0 * x + 1.0)

    @numba.njit(parallel=True)
    def nscale(x, y, a):
        for i in numba.prange(x.shape[0]):
            y[i] = a * x[i] + 2.0

    nscale(x, y, 3.0)
    assert np.array_equal(y, 3.0 * x + 2.0)
    loopscope.run(scale2, x, y, 3.0, device="cpu")  # a fresh compilation after numba
    assert np.array_equal(y, 3.0 * x - 1.0)
