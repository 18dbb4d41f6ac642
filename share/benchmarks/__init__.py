"""The Loopscope benchmark suite: twelve loop-intensive nests written as plain
Python functions over NumPy arrays.

Each entry of ``BENCHMARKS`` is a :class:`Benchmark` with

- ``fn``: the plain Python function (its loops are what Loopscope analyses);
  it works in place on its array arguments and may return a value;
- ``sizes``: ``{"small": {...}, "medium": {...}, "large": {...}}``, the
  parameters of each size;
- ``make_args(**params)``: fresh, deterministic arguments for one size;
- ``loops``: the verdict the analysis should reach for every ``for`` loop of
  ``fn``, in source order (pre-order), as :class:`LoopExpect` values.
  ``required=False`` marks a loop that is truly parallel (or a reduction) but
  whose proof needs more than per-dimension subscript tests (facts about
  values, or coupled subscripts such as ``cov[i, j]`` against ``cov[j, i]``);
  the analysis may keep it sequential. It must never call a truly sequential
  loop parallel.

Use ``get(name)`` or iterate ``BENCHMARKS``. Sizes are chosen so that the
small size runs in CPython in milliseconds, the medium one in a fraction of
a second and the large one in seconds.
"""

import math
from dataclasses import dataclass, field
from typing import Callable, Dict, List

import numpy as np


@dataclass(frozen=True)
class LoopExpect:
    var: str
    verdict: str  # "parallel", "sequential" or "reduction"
    required: bool = True


@dataclass(frozen=True)
class Benchmark:
    name: str
    fn: Callable
    make_args: Callable
    sizes: Dict[str, dict]
    loops: List[LoopExpect] = field(default_factory=list)
    description: str = ""

    def args(self, size="small"):
        return self.make_args(**self.sizes[size])


def _rng(seed=0):
    return np.random.default_rng(seed)


# 1. saxpy: bandwidth bound, transfer dominates on a GPU -----------------------


def saxpy(a, x, y):
    n = x.shape[0]
    for i in range(n):
        y[i] = a * x[i] + y[i]


def _saxpy_args(n):
    r = _rng(1)
    return (2.5, r.random(n), r.random(n))


# 2. black_scholes: compute heavy elementwise -----------------------------------


def black_scholes(S, K, T, r, v, call, put):
    n = S.shape[0]
    for i in range(n):
        sqrt_t = math.sqrt(T[i])
        d1 = (math.log(S[i] / K[i]) + (r + 0.5 * v * v) * T[i]) / (v * sqrt_t)
        d2 = d1 - v * sqrt_t
        nd1 = 0.5 * (1.0 + math.erf(d1 / math.sqrt(2.0)))
        nd2 = 0.5 * (1.0 + math.erf(d2 / math.sqrt(2.0)))
        discount = math.exp(-r * T[i])
        call[i] = S[i] * nd1 - K[i] * discount * nd2
        put[i] = K[i] * discount * (1.0 - nd2) - S[i] * (1.0 - nd1)


def _black_scholes_args(n):
    g = _rng(2)
    S = 5.0 + 30.0 * g.random(n)
    K = 1.0 + 99.0 * g.random(n)
    T = 0.25 + 9.75 * g.random(n)
    return (S, K, T, 0.02, 0.30, np.zeros(n), np.zeros(n))


# 3. gemm: compute bound --------------------------------------------------------


def gemm(alpha, beta, C, A, B):
    ni, nk = A.shape
    nj = B.shape[1]
    for i in range(ni):
        for j in range(nj):
            C[i, j] *= beta
            for k in range(nk):
                C[i, j] += alpha * A[i, k] * B[k, j]


def _gemm_args(n):
    g = _rng(3)
    return (1.5, 1.2, g.random((n, n)), g.random((n, n)), g.random((n, n)))


# 4. mvt: two matrix-vector products --------------------------------------------


def mvt(x1, x2, y1, y2, A):
    n = A.shape[0]
    for i in range(n):
        for j in range(n):
            x1[i] = x1[i] + A[i, j] * y1[j]
    for i in range(n):
        for j in range(n):
            x2[i] = x2[i] + A[j, i] * y2[j]


def _mvt_args(n):
    g = _rng(4)
    return (g.random(n), g.random(n), g.random(n), g.random(n), g.random((n, n)))


# 5. conv2d: stencil with weights -----------------------------------------------


def conv2d(img, w, out):
    h, wd = out.shape
    kh, kw = w.shape
    for i in range(h):
        for j in range(wd):
            for di in range(kh):
                for dj in range(kw):
                    out[i, j] += img[i + di, j + dj] * w[di, dj]


def _conv2d_args(n, k):
    g = _rng(5)
    return (g.random((n + k - 1, n + k - 1)), g.random((k, k)), np.zeros((n, n)))


# 6. jacobi_2d: sequential time loop around two parallel sweeps -----------------


def jacobi_2d(A, B, tsteps):
    n = A.shape[0]
    for t in range(tsteps):
        for i in range(1, n - 1):
            for j in range(1, n - 1):
                B[i, j] = 0.2 * (A[i, j] + A[i, j - 1] + A[i, j + 1] + A[i + 1, j] + A[i - 1, j])
        for i in range(1, n - 1):
            for j in range(1, n - 1):
                A[i, j] = 0.2 * (B[i, j] + B[i, j - 1] + B[i, j + 1] + B[i + 1, j] + B[i - 1, j])


def _jacobi_2d_args(n, tsteps):
    g = _rng(6)
    return (g.random((n, n)), g.random((n, n)), tsteps)


# 7. heat_3d: 3-D grid --------------------------------------------------------


def heat_3d(A, B, tsteps):
    n = A.shape[0]
    for t in range(tsteps):
        for i in range(1, n - 1):
            for j in range(1, n - 1):
                for k in range(1, n - 1):
                    B[i, j, k] = (
                        0.125 * (A[i + 1, j, k] - 2.0 * A[i, j, k] + A[i - 1, j, k])
                        + 0.125 * (A[i, j + 1, k] - 2.0 * A[i, j, k] + A[i, j - 1, k])
                        + 0.125 * (A[i, j, k + 1] - 2.0 * A[i, j, k] + A[i, j, k - 1])
                        + A[i, j, k]
                    )
        for i in range(1, n - 1):
            for j in range(1, n - 1):
                for k in range(1, n - 1):
                    A[i, j, k] = (
                        0.125 * (B[i + 1, j, k] - 2.0 * B[i, j, k] + B[i - 1, j, k])
                        + 0.125 * (B[i, j + 1, k] - 2.0 * B[i, j, k] + B[i, j - 1, k])
                        + 0.125 * (B[i, j, k + 1] - 2.0 * B[i, j, k] + B[i, j, k - 1])
                        + B[i, j, k]
                    )


def _heat_3d_args(n, tsteps):
    g = _rng(7)
    return (g.random((n, n, n)), g.random((n, n, n)), tsteps)


# 8. seidel_2d: every loop carries a dependence ---------------------------------


def seidel_2d(A, tsteps):
    n = A.shape[0]
    for t in range(tsteps):
        for i in range(1, n - 1):
            for j in range(1, n - 1):
                A[i, j] = (
                    A[i - 1, j - 1]
                    + A[i - 1, j]
                    + A[i - 1, j + 1]
                    + A[i, j - 1]
                    + A[i, j]
                    + A[i, j + 1]
                    + A[i + 1, j - 1]
                    + A[i + 1, j]
                    + A[i + 1, j + 1]
                ) / 9.0


def _seidel_2d_args(n, tsteps):
    g = _rng(8)
    return (g.random((n, n)), tsteps)


# 9. lu: outer sequential, triangular inner parallel ----------------------------


def lu(A):
    n = A.shape[0]
    for k in range(n):
        for i in range(k + 1, n):
            A[i, k] = A[i, k] / A[k, k]
            for j in range(k + 1, n):
                A[i, j] -= A[i, k] * A[k, j]


def _lu_args(n):
    g = _rng(9)
    # Diagonally dominant, so no pivoting is needed and values stay tame.
    return (g.random((n, n)) + n * np.eye(n),)


# 10. floyd_warshall: k sequential; i and j parallel only with value facts ------


def floyd_warshall(D):
    n = D.shape[0]
    for k in range(n):
        for i in range(n):
            for j in range(n):
                D[i, j] = min(D[i, j], D[i, k] + D[k, j])


def _floyd_warshall_args(n):
    g = _rng(10)
    D = 1.0 + 99.0 * g.random((n, n))
    np.fill_diagonal(D, 0.0)
    return (D,)


# 11. nbody: pairwise forces, outer parallel, inner reduction -------------------


def nbody(x, y, z, m, fx, fy, fz, eps):
    n = x.shape[0]
    for i in range(n):
        for j in range(n):
            dx = x[j] - x[i]
            dy = y[j] - y[i]
            dz = z[j] - z[i]
            r2 = dx * dx + dy * dy + dz * dz + eps
            inv = m[j] / (r2 * math.sqrt(r2))
            fx[i] += dx * inv
            fy[i] += dy * inv
            fz[i] += dz * inv


def _nbody_args(n):
    g = _rng(11)
    return (g.random(n), g.random(n), g.random(n), 0.5 + g.random(n), np.zeros(n), np.zeros(n), np.zeros(n), 1e-3)


# 12. covariance: several nests, mixed ------------------------------------------


def covariance(data, mean, cov):
    n, m = data.shape
    for j in range(m):
        mean[j] = 0.0
        for i in range(n):
            mean[j] += data[i, j]
        mean[j] /= n
    for i in range(n):
        for j in range(m):
            data[i, j] -= mean[j]
    for i in range(m):
        for j in range(i, m):
            cov[i, j] = 0.0
            for k in range(n):
                cov[i, j] += data[k, i] * data[k, j]
            cov[i, j] /= n - 1.0
            cov[j, i] = cov[i, j]


def _covariance_args(n, m):
    g = _rng(12)
    return (g.random((n, m)), np.zeros(m), np.zeros((m, m)))


P, S, R = "parallel", "sequential", "reduction"

BENCHMARKS = [
    Benchmark(
        "saxpy",
        saxpy,
        _saxpy_args,
        {"small": {"n": 1000}, "medium": {"n": 100_000}, "large": {"n": 4_000_000}},
        [LoopExpect("i", P)],
        "1-deep, parallel, 2 flops per element; bandwidth bound",
    ),
    Benchmark(
        "black_scholes",
        black_scholes,
        _black_scholes_args,
        {"small": {"n": 500}, "medium": {"n": 20_000}, "large": {"n": 1_000_000}},
        [LoopExpect("i", P)],
        "1-deep, parallel, exp/log/sqrt/erf; compute heavy elementwise",
    ),
    Benchmark(
        "gemm",
        gemm,
        _gemm_args,
        {"small": {"n": 16}, "medium": {"n": 64}, "large": {"n": 200}},
        [LoopExpect("i", P), LoopExpect("j", P), LoopExpect("k", R)],
        "3-deep, i and j parallel, k a reduction; compute bound",
    ),
    Benchmark(
        "mvt",
        mvt,
        _mvt_args,
        {"small": {"n": 32}, "medium": {"n": 300}, "large": {"n": 1500}},
        [LoopExpect("i", P), LoopExpect("j", R), LoopExpect("i", P), LoopExpect("j", R)],
        "two 2-deep nests, outer parallel, inner reduction; memory bound",
    ),
    Benchmark(
        "conv2d",
        conv2d,
        _conv2d_args,
        {"small": {"n": 16, "k": 3}, "medium": {"n": 128, "k": 5}, "large": {"n": 512, "k": 5}},
        [LoopExpect("i", P), LoopExpect("j", P), LoopExpect("di", R), LoopExpect("dj", R)],
        "4-deep stencil with weights, two outer loops parallel",
    ),
    Benchmark(
        "jacobi_2d",
        jacobi_2d,
        _jacobi_2d_args,
        {"small": {"n": 16, "tsteps": 4}, "medium": {"n": 100, "tsteps": 10}, "large": {"n": 500, "tsteps": 10}},
        [LoopExpect("t", S), LoopExpect("i", P), LoopExpect("j", P), LoopExpect("i", P), LoopExpect("j", P)],
        "sequential time loop around two parallel 2-D sweeps",
    ),
    Benchmark(
        "heat_3d",
        heat_3d,
        _heat_3d_args,
        {"small": {"n": 8, "tsteps": 2}, "medium": {"n": 24, "tsteps": 5}, "large": {"n": 48, "tsteps": 10}},
        [
            LoopExpect("t", S),
            LoopExpect("i", P),
            LoopExpect("j", P),
            LoopExpect("k", P),
            LoopExpect("i", P),
            LoopExpect("j", P),
            LoopExpect("k", P),
        ],
        "sequential time loop around 3-D parallel sweeps",
    ),
    Benchmark(
        "seidel_2d",
        seidel_2d,
        _seidel_2d_args,
        {"small": {"n": 16, "tsteps": 2}, "medium": {"n": 100, "tsteps": 5}, "large": {"n": 400, "tsteps": 10}},
        [LoopExpect("t", S), LoopExpect("i", S), LoopExpect("j", S)],
        "every loop carries a dependence; must stay sequential",
    ),
    Benchmark(
        "lu",
        lu,
        _lu_args,
        {"small": {"n": 16}, "medium": {"n": 80}, "large": {"n": 200}},
        [LoopExpect("k", S), LoopExpect("i", P), LoopExpect("j", P)],
        "outer sequential, triangular inner loops parallel",
    ),
    Benchmark(
        "floyd_warshall",
        floyd_warshall,
        _floyd_warshall_args,
        {"small": {"n": 16}, "medium": {"n": 60}, "large": {"n": 150}},
        # i and j are parallel only because D[k, k] == 0 keeps row and
        # column k unchanged during step k: a fact about values, not
        # subscripts. Classical tests must keep them sequential.
        [LoopExpect("k", S), LoopExpect("i", P, required=False), LoopExpect("j", P, required=False)],
        "k sequential; i and j parallel only with facts about values",
    ),
    Benchmark(
        "nbody",
        nbody,
        _nbody_args,
        {"small": {"n": 32}, "medium": {"n": 300}, "large": {"n": 1500}},
        [LoopExpect("i", P), LoopExpect("j", R)],
        "pairwise forces, outer parallel, inner reduction with private scalars",
    ),
    Benchmark(
        "covariance",
        covariance,
        _covariance_args,
        {"small": {"n": 20, "m": 12}, "medium": {"n": 200, "m": 60}, "large": {"n": 500, "m": 150}},
        [
            LoopExpect("j", P),
            LoopExpect("i", R),
            LoopExpect("i", P),
            LoopExpect("j", P),
            LoopExpect("i", P, required=False),
            LoopExpect("j", P, required=False),
            LoopExpect("k", R),
        ],
        "three nests: column means (reduction), centring, triangular covariance",
    ),
]

_BY_NAME = {b.name: b for b in BENCHMARKS}


def get(name):
    return _BY_NAME[name]


def names():
    return [b.name for b in BENCHMARKS]
