"""PolyBench/C 4.2 as plain Python: the 30 kernels of the suite written as
loop functions over NumPy arrays, from the kernels' published definitions.

Each entry of ``KERNELS`` is a :class:`Kernel` with

- ``fn``: the plain Python function; it works in place on its array
  arguments, as the C kernel does, and returns nothing (durbin, ludcmp and
  trisolv write their solution vectors in place too);
- ``sizes``: ``{"mini": {...}, "small": {...}, "medium": {...}, "large": {...}}``,
  the parameters of PolyBench 4.2's datasets (the ``*_DATASET`` blocks of
  each kernel's header);
- ``make_args(size)``: fresh, deterministic arguments in PolyBench's spirit
  (``init_array``: values from the indices, such as ``(i * j % n) / n``),
  computed with NumPy so that the large dataset is made quickly;
- ``nests``: what ``loopscope.explain`` reports for every loop nest of
  ``fn`` at run time, in source order: one :class:`NestExpect` per nest,
  with the verdict of each loop (``"parallel"`` or ``"sequential"``, in
  source pre-order) or the sentence that declines the nest (``gpu``: the sentence when only
  the GPU variant declines it). Each verdict
  was checked by hand against the kernel's dependences: a loop reported
  parallel carries no dependence. Floating-point sums keep Python's order
  by default, so a loop that only accumulates a float sum is reported
  sequential (``%loopscope reassociate on`` would let it run in parallel).

Data are float64 (``DATA_TYPE double``); floyd-warshall's ``path`` and
nussinov's ``table`` and ``seq`` are int64, as PolyBench makes them integers.
Where the C code counts down (``for (i = n - 1; i >= 0; i--)``) the Python
uses ``range(n - 1, -1, -1)``.

Import with ``share/`` on ``sys.path``::

    import polybench
    k = polybench.get("gemm")
    args = k.args("small")
    k.fn(*args)
"""

import math
from dataclasses import dataclass, field, replace
from typing import Callable, Dict, List, Tuple

import numpy as np

SIZES = ("mini", "small", "medium", "large")


@dataclass(frozen=True)
class NestExpect:
    """What explain reports for one loop nest: the verdict of each loop in
    source pre-order as ``(var, verdict)``, or ``declined`` (a fragment of
    the sentence) when no native variant takes the nest."""

    loops: Tuple[Tuple[str, str], ...] = ()
    declined: str = ""
    gpu: str = ""  # the start of the sentence when only the GPU variant declines


@dataclass(frozen=True)
class Kernel:
    name: str
    category: str
    fn: Callable
    make_args: Callable
    sizes: Dict[str, dict]
    nests: List[NestExpect] = field(default_factory=list)
    description: str = ""

    def args(self, size="mini"):
        return self.make_args(**self.sizes[size])


def _ij(n, m):
    """Index grids i (rows) and j (columns) as float64, for init formulas."""
    i = np.arange(n, dtype=np.int64)[:, None]
    j = np.arange(m, dtype=np.int64)[None, :]
    return i, j


def _psd(n):
    """PolyBench's positive-definite matrix for cholesky, lu and ludcmp: a
    lower triangle of (-j % n) / n + 1 with a unit diagonal, times its
    transpose."""
    i, j = _ij(n, n)
    L = np.where(j <= i, ((-j) % n) / n + 1.0, 0.0)
    np.fill_diagonal(L, 1.0)
    return L @ L.T


# ============================================================================
# linear-algebra kernels
# ============================================================================


def k2mm(alpha, beta, tmp, A, B, C, D):
    ni, nk = A.shape
    nj = B.shape[1]
    nl = C.shape[1]
    for i in range(ni):
        for j in range(nj):
            tmp[i, j] = 0.0
            for k in range(nk):
                tmp[i, j] += alpha * A[i, k] * B[k, j]
    for i in range(ni):
        for j in range(nl):
            D[i, j] *= beta
            for k in range(nj):
                D[i, j] += tmp[i, k] * C[k, j]


def _2mm_args(ni, nj, nk, nl):
    i, j = _ij(ni, nk)
    A = ((i * j + 1) % ni) / ni
    i, j = _ij(nk, nj)
    B = (i * (j + 1) % nj) / nj
    i, j = _ij(nj, nl)
    C = ((i * (j + 3) + 1) % nl) / nl
    i, j = _ij(ni, nl)
    D = (i * (j + 2) % nk) / nk
    return (1.5, 1.2, np.zeros((ni, nj)), A, B, C, D)


def k3mm(E, A, B, F, C, D, G):
    ni, nk = A.shape
    nj = B.shape[1]
    nm = C.shape[1]
    nl = D.shape[1]
    for i in range(ni):
        for j in range(nj):
            E[i, j] = 0.0
            for k in range(nk):
                E[i, j] += A[i, k] * B[k, j]
    for i in range(nj):
        for j in range(nl):
            F[i, j] = 0.0
            for k in range(nm):
                F[i, j] += C[i, k] * D[k, j]
    for i in range(ni):
        for j in range(nl):
            G[i, j] = 0.0
            for k in range(nj):
                G[i, j] += E[i, k] * F[k, j]


def _3mm_args(ni, nj, nk, nl, nm):
    i, j = _ij(ni, nk)
    A = ((i * j + 1) % ni) / (5 * ni)
    i, j = _ij(nk, nj)
    B = ((i * (j + 1) + 2) % nj) / (5 * nj)
    i, j = _ij(nj, nm)
    C = (i * (j + 3) % nl) / (5 * nl)
    i, j = _ij(nm, nl)
    D = ((i * (j + 2) + 2) % nk) / (5 * nk)
    return (np.zeros((ni, nj)), A, B, np.zeros((nj, nl)), C, D, np.zeros((ni, nl)))


def atax(A, x, y, tmp):
    m, n = A.shape
    for i in range(n):
        y[i] = 0.0
    for i in range(m):
        tmp[i] = 0.0
        for j in range(n):
            tmp[i] = tmp[i] + A[i, j] * x[j]
        for j in range(n):
            y[j] = y[j] + A[i, j] * tmp[i]


def _atax_args(m, n):
    i, j = _ij(m, n)
    A = ((i + j) % n) / (5.0 * m)
    x = 1.0 + np.arange(n) / n
    return (A, x, np.zeros(n), np.zeros(m))


def bicg(A, s, q, p, r):
    n, m = A.shape
    for i in range(m):
        s[i] = 0.0
    for i in range(n):
        q[i] = 0.0
        for j in range(m):
            s[j] = s[j] + r[i] * A[i, j]
            q[i] = q[i] + A[i, j] * p[j]


def _bicg_args(m, n):
    p = (np.arange(m) % m) / m
    r = (np.arange(n) % n) / n
    i, j = _ij(n, m)
    A = (i * (j + 1) % n) / n
    return (A, np.zeros(m), np.zeros(n), p, r)


def doitgen(A, C4, total):
    nr, nq, np_ = A.shape
    for r in range(nr):
        for q in range(nq):
            for p in range(np_):
                total[p] = 0.0
                for s in range(np_):
                    total[p] += A[r, q, s] * C4[s, p]
            for p in range(np_):
                A[r, q, p] = total[p]


def _doitgen_args(nq, nr, np_):
    r = np.arange(nr)[:, None, None]
    q = np.arange(nq)[None, :, None]
    p = np.arange(np_)[None, None, :]
    A = ((r * q + p) % np_) / np_
    i, j = _ij(np_, np_)
    C4 = (i * j % np_) / np_
    return (A.astype(np.float64), C4, np.zeros(np_))


def mvt(x1, x2, y_1, y_2, A):
    n = A.shape[0]
    for i in range(n):
        for j in range(n):
            x1[i] = x1[i] + A[i, j] * y_1[j]
    for i in range(n):
        for j in range(n):
            x2[i] = x2[i] + A[j, i] * y_2[j]


def _mvt_args(n):
    v = np.arange(n)
    i, j = _ij(n, n)
    return (
        (v % n) / n,
        ((v + 1) % n) / n,
        ((v + 3) % n) / n,
        ((v + 4) % n) / n,
        (i * j % n) / n,
    )


# ============================================================================
# BLAS kernels
# ============================================================================


def gemm(alpha, beta, C, A, B):
    ni, nk = A.shape
    nj = B.shape[1]
    for i in range(ni):
        for j in range(nj):
            C[i, j] *= beta
        for k in range(nk):
            for j in range(nj):
                C[i, j] += alpha * A[i, k] * B[k, j]


def _gemm_args(ni, nj, nk):
    i, j = _ij(ni, nj)
    C = ((i * j + 1) % ni) / ni
    i, j = _ij(ni, nk)
    A = (i * (j + 1) % nk) / nk
    i, j = _ij(nk, nj)
    B = (i * (j + 2) % nj) / nj
    return (1.5, 1.2, C, A, B)


def gemver(alpha, beta, A, u1, v1, u2, v2, w, x, y, z):
    n = A.shape[0]
    for i in range(n):
        for j in range(n):
            A[i, j] = A[i, j] + u1[i] * v1[j] + u2[i] * v2[j]
    for i in range(n):
        for j in range(n):
            x[i] = x[i] + beta * A[j, i] * y[j]
    for i in range(n):
        x[i] = x[i] + z[i]
    for i in range(n):
        for j in range(n):
            w[i] = w[i] + alpha * A[i, j] * x[j]


def _gemver_args(n):
    fn = float(n)
    v = np.arange(n)
    i, j = _ij(n, n)
    A = (i * j % n) / fn
    u1 = v.astype(np.float64)
    u2 = ((v + 1) / fn) / 2.0
    v1 = ((v + 1) / fn) / 4.0
    v2 = ((v + 1) / fn) / 6.0
    y = ((v + 1) / fn) / 8.0
    z = ((v + 1) / fn) / 9.0
    return (1.5, 1.2, A, u1, v1, u2, v2, np.zeros(n), np.zeros(n), y, z)


def gesummv(alpha, beta, A, B, tmp, x, y):
    n = A.shape[0]
    for i in range(n):
        tmp[i] = 0.0
        y[i] = 0.0
        for j in range(n):
            tmp[i] = A[i, j] * x[j] + tmp[i]
            y[i] = B[i, j] * x[j] + y[i]
        y[i] = alpha * tmp[i] + beta * y[i]


def _gesummv_args(n):
    v = np.arange(n)
    i, j = _ij(n, n)
    A = ((i * j + 1) % n) / n
    B = ((i * j + 2) % n) / n
    x = (v % n) / n
    return (1.5, 1.2, A, B, np.zeros(n), x, np.zeros(n))


def symm(alpha, beta, C, A, B):
    m, n = C.shape
    for i in range(m):
        for j in range(n):
            temp2 = 0.0
            for k in range(i):
                C[k, j] += alpha * B[i, j] * A[i, k]
                temp2 += B[k, j] * A[i, k]
            C[i, j] = beta * C[i, j] + alpha * B[i, j] * A[i, i] + alpha * temp2


def _symm_args(m, n):
    i, j = _ij(m, n)
    C = ((i + j) % 100) / m
    B = ((n + i - j) % 100) / m
    i, j = _ij(m, m)
    # Only the lower triangle is read; PolyBench fills the upper with -999.
    A = np.where(j <= i, ((i + j) % 100) / m, -999.0)
    return (1.5, 1.2, C, A, B)


def syr2k(alpha, beta, C, A, B):
    n, m = A.shape
    for i in range(n):
        for j in range(i + 1):
            C[i, j] *= beta
        for k in range(m):
            for j in range(i + 1):
                C[i, j] += A[j, k] * alpha * B[i, k] + B[j, k] * alpha * A[i, k]


def _syr2k_args(m, n):
    i, j = _ij(n, m)
    A = ((i * j + 1) % n) / n
    B = ((i * j + 2) % m) / m
    i, j = _ij(n, n)
    C = ((i * j + 3) % n) / m
    return (1.5, 1.2, C, A, B)


def syrk(alpha, beta, C, A):
    n, m = A.shape
    for i in range(n):
        for j in range(i + 1):
            C[i, j] *= beta
        for k in range(m):
            for j in range(i + 1):
                C[i, j] += alpha * A[i, k] * A[j, k]


def _syrk_args(m, n):
    i, j = _ij(n, m)
    A = ((i * j + 1) % n) / n
    i, j = _ij(n, n)
    C = ((i * j + 2) % m) / m
    return (1.5, 1.2, C, A)


def trmm(alpha, A, B):
    m, n = B.shape
    for i in range(m):
        for j in range(n):
            for k in range(i + 1, m):
                B[i, j] += A[k, i] * B[k, j]
            B[i, j] = alpha * B[i, j]


def _trmm_args(m, n):
    i, j = _ij(m, m)
    A = np.where(j < i, ((i + j) % m) / m, 0.0)
    np.fill_diagonal(A, 1.0)
    i, j = _ij(m, n)
    B = ((n + (i - j)) % n) / n
    return (1.5, A, B)


# ============================================================================
# linear-algebra solvers
# ============================================================================


def cholesky(A):
    n = A.shape[0]
    for i in range(n):
        for j in range(i):
            for k in range(j):
                A[i, j] -= A[i, k] * A[j, k]
            A[i, j] /= A[j, j]
        for k in range(i):
            A[i, i] -= A[i, k] * A[i, k]
        A[i, i] = math.sqrt(A[i, i])


def _cholesky_args(n):
    return (_psd(n),)


def durbin(r, y, z):
    n = r.shape[0]
    y[0] = -r[0]
    beta = 1.0
    alpha = -r[0]
    for k in range(1, n):
        beta = (1 - alpha * alpha) * beta
        total = 0.0
        for i in range(k):
            total += r[k - i - 1] * y[i]
        alpha = -(r[k] + total) / beta
        for i in range(k):
            z[i] = y[i] + alpha * y[k - i - 1]
        for i in range(k):
            y[i] = z[i]
        y[k] = alpha


def _durbin_args(n):
    return ((n + 1 - np.arange(n)).astype(np.float64), np.zeros(n), np.zeros(n))


def gramschmidt(A, R, Q):
    m, n = A.shape
    for k in range(n):
        nrm = 0.0
        for i in range(m):
            nrm += A[i, k] * A[i, k]
        R[k, k] = math.sqrt(nrm)
        for i in range(m):
            Q[i, k] = A[i, k] / R[k, k]
        for j in range(k + 1, n):
            R[k, j] = 0.0
            for i in range(m):
                R[k, j] += Q[i, k] * A[i, j]
            for i in range(m):
                A[i, j] = A[i, j] - Q[i, k] * R[k, j]


def _gramschmidt_args(m, n):
    i, j = _ij(m, n)
    A = ((i * j % m) / m) * 100.0 + 10.0
    return (A, np.zeros((n, n)), np.zeros((m, n)))


def lu(A):
    n = A.shape[0]
    for i in range(n):
        for j in range(i):
            for k in range(j):
                A[i, j] -= A[i, k] * A[k, j]
            A[i, j] /= A[j, j]
        for j in range(i, n):
            for k in range(i):
                A[i, j] -= A[i, k] * A[k, j]


def _lu_args(n):
    return (_psd(n),)


def ludcmp(A, b, x, y):
    n = A.shape[0]
    for i in range(n):
        for j in range(i):
            w = A[i, j]
            for k in range(j):
                w -= A[i, k] * A[k, j]
            A[i, j] = w / A[j, j]
        for j in range(i, n):
            w = A[i, j]
            for k in range(i):
                w -= A[i, k] * A[k, j]
            A[i, j] = w
    for i in range(n):
        w = b[i]
        for j in range(i):
            w -= A[i, j] * y[j]
        y[i] = w
    for i in range(n - 1, -1, -1):
        w = y[i]
        for j in range(i + 1, n):
            w -= A[i, j] * x[j]
        x[i] = w / A[i, i]


def _ludcmp_args(n):
    fn = float(n)
    b = (np.arange(n) + 1) / fn / 2.0 + 4.0
    return (_psd(n), b, np.zeros(n), np.zeros(n))


def trisolv(L, x, b):
    n = L.shape[0]
    for i in range(n):
        x[i] = b[i]
        for j in range(i):
            x[i] -= L[i, j] * x[j]
        x[i] = x[i] / L[i, i]


def _trisolv_args(n):
    i, j = _ij(n, n)
    L = np.where(j <= i, (i + n - j + 1) * 2.0 / n, 0.0)
    return (L, np.full(n, -999.0), np.arange(n, dtype=np.float64))


# ============================================================================
# data mining
# ============================================================================


def correlation(data, corr, mean, stddev):
    n, m = data.shape
    float_n = float(n)
    eps = 0.1
    for j in range(m):
        mean[j] = 0.0
        for i in range(n):
            mean[j] += data[i, j]
        mean[j] /= float_n
    for j in range(m):
        stddev[j] = 0.0
        for i in range(n):
            stddev[j] += (data[i, j] - mean[j]) * (data[i, j] - mean[j])
        stddev[j] /= float_n
        stddev[j] = math.sqrt(stddev[j])
        if stddev[j] <= eps:
            stddev[j] = 1.0
    for i in range(n):
        for j in range(m):
            data[i, j] -= mean[j]
            data[i, j] /= math.sqrt(float_n) * stddev[j]
    for i in range(m - 1):
        corr[i, i] = 1.0
        for j in range(i + 1, m):
            corr[i, j] = 0.0
            for k in range(n):
                corr[i, j] += data[k, i] * data[k, j]
            corr[j, i] = corr[i, j]
    corr[m - 1, m - 1] = 1.0


def _correlation_args(m, n):
    i, j = _ij(n, m)
    data = (i * j) / m + i
    return (data.astype(np.float64), np.zeros((m, m)), np.zeros(m), np.zeros(m))


def covariance(data, cov, mean):
    n, m = data.shape
    float_n = float(n)
    for j in range(m):
        mean[j] = 0.0
        for i in range(n):
            mean[j] += data[i, j]
        mean[j] /= float_n
    for i in range(n):
        for j in range(m):
            data[i, j] -= mean[j]
    for i in range(m):
        for j in range(i, m):
            cov[i, j] = 0.0
            for k in range(n):
                cov[i, j] += data[k, i] * data[k, j]
            cov[i, j] /= float_n - 1.0
            cov[j, i] = cov[i, j]


def _covariance_args(m, n):
    i, j = _ij(n, m)
    return (((i * j) / m).astype(np.float64), np.zeros((m, m)), np.zeros(m))


# ============================================================================
# medley
# ============================================================================


def deriche(alpha, imgIn, imgOut, y1, y2):
    w, h = imgIn.shape
    k = (
        (1.0 - math.exp(-alpha))
        * (1.0 - math.exp(-alpha))
        / (1.0 + 2.0 * alpha * math.exp(-alpha) - math.exp(2.0 * alpha))
    )
    a1 = a5 = k
    a2 = a6 = k * math.exp(-alpha) * (alpha - 1.0)
    a3 = a7 = k * math.exp(-alpha) * (alpha + 1.0)
    a4 = a8 = -k * math.exp(-2.0 * alpha)
    b1 = math.pow(2.0, -alpha)
    b2 = -math.exp(-2.0 * alpha)
    c1 = c2 = 1.0
    for i in range(w):
        ym1 = 0.0
        ym2 = 0.0
        xm1 = 0.0
        for j in range(h):
            y1[i, j] = a1 * imgIn[i, j] + a2 * xm1 + b1 * ym1 + b2 * ym2
            xm1 = imgIn[i, j]
            ym2 = ym1
            ym1 = y1[i, j]
    for i in range(w):
        yp1 = 0.0
        yp2 = 0.0
        xp1 = 0.0
        xp2 = 0.0
        for j in range(h - 1, -1, -1):
            y2[i, j] = a3 * xp1 + a4 * xp2 + b1 * yp1 + b2 * yp2
            xp2 = xp1
            xp1 = imgIn[i, j]
            yp2 = yp1
            yp1 = y2[i, j]
    for i in range(w):
        for j in range(h):
            imgOut[i, j] = c1 * (y1[i, j] + y2[i, j])
    for j in range(h):
        tm1 = 0.0
        ym1 = 0.0
        ym2 = 0.0
        for i in range(w):
            y1[i, j] = a5 * imgOut[i, j] + a6 * tm1 + b1 * ym1 + b2 * ym2
            tm1 = imgOut[i, j]
            ym2 = ym1
            ym1 = y1[i, j]
    for j in range(h):
        tp1 = 0.0
        tp2 = 0.0
        yp1 = 0.0
        yp2 = 0.0
        for i in range(w - 1, -1, -1):
            y2[i, j] = a7 * tp1 + a8 * tp2 + b1 * yp1 + b2 * yp2
            tp2 = tp1
            tp1 = imgOut[i, j]
            yp2 = yp1
            yp1 = y2[i, j]
    for i in range(w):
        for j in range(h):
            imgOut[i, j] = c2 * (y1[i, j] + y2[i, j])


def _deriche_args(w, h):
    i, j = _ij(w, h)
    imgIn = ((313 * i + 991 * j) % 65536) / 65535.0
    return (0.25, imgIn, np.zeros((w, h)), np.zeros((w, h)), np.zeros((w, h)))


def floyd_warshall(path):
    n = path.shape[0]
    for k in range(n):
        for i in range(n):
            for j in range(n):
                if path[i, k] + path[k, j] < path[i, j]:
                    path[i, j] = path[i, k] + path[k, j]


def _floyd_warshall_args(n):
    i, j = _ij(n, n)
    path = i * j % 7 + 1
    far = ((i + j) % 13 == 0) | ((i + j) % 7 == 0) | ((i + j) % 11 == 0)
    return (np.where(far, 999, path).astype(np.int64),)


def nussinov(seq, table):
    n = seq.shape[0]
    for i in range(n - 1, -1, -1):
        for j in range(i + 1, n):
            if j - 1 >= 0:
                table[i, j] = max(table[i, j], table[i, j - 1])
            if i + 1 < n:
                table[i, j] = max(table[i, j], table[i + 1, j])
            if j - 1 >= 0 and i + 1 < n:
                if i < j - 1:
                    pair = 1 if seq[i] + seq[j] == 3 else 0
                    table[i, j] = max(table[i, j], table[i + 1, j - 1] + pair)
                else:
                    table[i, j] = max(table[i, j], table[i + 1, j - 1])
            for k in range(i + 1, j):
                table[i, j] = max(table[i, j], table[i, k] + table[k + 1, j])


def _nussinov_args(n):
    seq = (np.arange(n) + 1) % 4
    return (seq.astype(np.int64), np.zeros((n, n), dtype=np.int64))


# ============================================================================
# stencils
# ============================================================================


def adi(tsteps, u, v, p, q):
    n = u.shape[0]
    DX = 1.0 / n
    DY = 1.0 / n
    DT = 1.0 / tsteps
    B1 = 2.0
    B2 = 1.0
    mul1 = B1 * DT / (DX * DX)
    mul2 = B2 * DT / (DY * DY)
    a = -mul1 / 2.0
    b = 1.0 + mul1
    c = a
    d = -mul2 / 2.0
    e = 1.0 + mul2
    f = d
    for t in range(1, tsteps + 1):
        # column sweep
        for i in range(1, n - 1):
            v[0, i] = 1.0
            p[i, 0] = 0.0
            q[i, 0] = v[0, i]
            for j in range(1, n - 1):
                p[i, j] = -c / (a * p[i, j - 1] + b)
                q[i, j] = (-d * u[j, i - 1] + (1.0 + 2.0 * d) * u[j, i] - f * u[j, i + 1] - a * q[i, j - 1]) / (
                    a * p[i, j - 1] + b
                )
            v[n - 1, i] = 1.0
            for j in range(n - 2, 0, -1):
                v[j, i] = p[i, j] * v[j + 1, i] + q[i, j]
        # row sweep
        for i in range(1, n - 1):
            u[i, 0] = 1.0
            p[i, 0] = 0.0
            q[i, 0] = u[i, 0]
            for j in range(1, n - 1):
                p[i, j] = -f / (d * p[i, j - 1] + e)
                q[i, j] = (-a * v[i - 1, j] + (1.0 + 2.0 * a) * v[i, j] - c * v[i + 1, j] - d * q[i, j - 1]) / (
                    d * p[i, j - 1] + e
                )
            u[i, n - 1] = 1.0
            for j in range(n - 2, 0, -1):
                u[i, j] = p[i, j] * u[i, j + 1] + q[i, j]


def _adi_args(n, tsteps):
    i, j = _ij(n, n)
    u = (i + n - j) / n
    return (tsteps, u.astype(np.float64), np.zeros((n, n)), np.zeros((n, n)), np.zeros((n, n)))


def fdtd_2d(tmax, ex, ey, hz, fict):
    nx, ny = ex.shape
    for t in range(tmax):
        for j in range(ny):
            ey[0, j] = fict[t]
        for i in range(1, nx):
            for j in range(ny):
                ey[i, j] = ey[i, j] - 0.5 * (hz[i, j] - hz[i - 1, j])
        for i in range(nx):
            for j in range(1, ny):
                ex[i, j] = ex[i, j] - 0.5 * (hz[i, j] - hz[i, j - 1])
        for i in range(nx - 1):
            for j in range(ny - 1):
                hz[i, j] = hz[i, j] - 0.7 * (ex[i, j + 1] - ex[i, j] + ey[i + 1, j] - ey[i, j])


def _fdtd_2d_args(tmax, nx, ny):
    i, j = _ij(nx, ny)
    ex = (i * (j + 1)) / nx
    ey = (i * (j + 2)) / ny
    hz = (i * (j + 3)) / nx
    fict = np.arange(tmax, dtype=np.float64)
    return (tmax, ex.astype(np.float64), ey.astype(np.float64), hz.astype(np.float64), fict)


def heat_3d(tsteps, A, B):
    n = A.shape[0]
    for t in range(1, tsteps + 1):
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
    i = np.arange(n)[:, None, None]
    j = np.arange(n)[None, :, None]
    k = np.arange(n)[None, None, :]
    A = (i + j + (n - k)) * 10.0 / n
    return (tsteps, A, A.copy())


def jacobi_1d(tsteps, A, B):
    n = A.shape[0]
    for t in range(tsteps):
        for i in range(1, n - 1):
            B[i] = 0.33333 * (A[i - 1] + A[i] + A[i + 1])
        for i in range(1, n - 1):
            A[i] = 0.33333 * (B[i - 1] + B[i] + B[i + 1])


def _jacobi_1d_args(n, tsteps):
    v = np.arange(n)
    return (tsteps, (v + 2.0) / n, (v + 3.0) / n)


def jacobi_2d(tsteps, A, B):
    n = A.shape[0]
    for t in range(tsteps):
        for i in range(1, n - 1):
            for j in range(1, n - 1):
                B[i, j] = 0.2 * (A[i, j] + A[i, j - 1] + A[i, 1 + j] + A[1 + i, j] + A[i - 1, j])
        for i in range(1, n - 1):
            for j in range(1, n - 1):
                A[i, j] = 0.2 * (B[i, j] + B[i, j - 1] + B[i, 1 + j] + B[1 + i, j] + B[i - 1, j])


def _jacobi_2d_args(n, tsteps):
    i, j = _ij(n, n)
    return (tsteps, (i * (j + 2) + 2.0) / n, (i * (j + 3) + 3.0) / n)


def seidel_2d(tsteps, A):
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
    i, j = _ij(n, n)
    return (tsteps, (i * (j + 2) + 2.0) / n)


# ============================================================================
# the suite
# ============================================================================

P, S = "parallel", "sequential"


def _n(*loops, declined="", gpu=""):
    """One nest: loops as "var:P" / "var:S" strings, in source pre-order."""
    return NestExpect(tuple((s.split(":")[0], P if s.endswith(":P") else S) for s in loops), declined, gpu)


# What explain reports, checked by hand against each kernel's dependences.
# The notes say why a loop that is parallel in PolyBench's sense is reported
# sequential: a float sum kept in Python's order, a scratch array shared by
# the iterations (doitgen's total, PolyBench's sum), or a fact about values
# (floyd-warshall).
NESTS = {
    "2mm": [_n("i:P", "j:P", "k:S"), _n("i:P", "j:P", "k:S")],
    "3mm": [_n("i:P", "j:P", "k:S"), _n("i:P", "j:P", "k:S"), _n("i:P", "j:P", "k:S")],
    "atax": [_n("i:P"), _n("i:S", "j:S", "j:P")],
    "bicg": [_n("i:P"), _n("i:S", "j:S")],
    "doitgen": [_n("r:S", "q:S", "p:P", "s:S", "p:P")],
    "mvt": [_n("i:P", "j:S"), _n("i:P", "j:S")],
    "gemm": [_n("i:P", "j:P", "k:S", "j:P")],
    "gemver": [_n("i:P", "j:P"), _n("i:P", "j:S"), _n("i:P"), _n("i:P", "j:S")],
    "gesummv": [_n("i:P", "j:S")],
    "symm": [_n("i:S", "j:P", "k:S")],
    "syr2k": [_n("i:P", "j:P", "k:S", "j:P")],
    "syrk": [_n("i:P", "j:P", "k:S", "j:P")],
    "trmm": [_n("i:S", "j:P", "k:S")],
    "cholesky": [_n("i:S", "j:S", "k:S", "k:S")],
    "durbin": [_n("k:S", "i:S", "i:P", "i:P")],
    "gramschmidt": [_n("k:S", "i:S", "i:P", "j:P", "i:S", "i:P")],
    "lu": [
        _n("i:S", "j:S", "k:S", "j:P", "k:S", gpu="no GPU version: the scalar j is assigned in two parts of the nest")
    ],
    "ludcmp": [
        _n("i:S", "j:S", "k:S", "j:P", "k:S", gpu="no GPU version: the scalar j is assigned in two parts of the nest"),
        _n("i:S", "j:S"),
        _n("i:S", "j:S"),
    ],
    "trisolv": [_n("i:S", "j:S")],
    "correlation": [_n("j:P", "i:S"), _n("j:P", "i:S"), _n("i:P", "j:P"), _n("i:P", "j:P", "k:S")],
    "covariance": [_n("j:P", "i:S"), _n("i:P", "j:P"), _n("i:P", "j:P", "k:S")],
    "deriche": [
        _n("i:P", "j:S"),
        _n("i:P", "j:S"),
        _n("i:P", "j:P"),
        _n("j:P", "i:S"),
        _n("j:P", "i:S"),
        _n("i:P", "j:P"),
    ],
    "floyd-warshall": [_n("k:S", "i:S", "j:S")],
    "nussinov": [_n("i:S", "j:S", "k:S")],
    "adi": [
        _n(
            "t:S",
            "i:P",
            "j:S",
            "j:S",
            "i:P",
            "j:S",
            "j:S",
            gpu="no GPU version: the scalar j is assigned in two parts of the nest",
        )
    ],
    "fdtd-2d": [_n("t:S", "j:P", "i:P", "j:P", "i:P", "j:P", "i:P", "j:P")],
    "heat-3d": [_n("t:S", "i:P", "j:P", "k:P", "i:P", "j:P", "k:P")],
    "jacobi-1d": [_n("t:S", "i:P", "i:P")],
    "jacobi-2d": [_n("t:S", "i:P", "j:P", "i:P", "j:P")],
    "seidel-2d": [_n("t:S", "i:S", "j:S")],
}


def _sizes(params, mini, small, medium, large):
    return {name: dict(zip(params, v)) for name, v in zip(SIZES, (mini, small, medium, large))}


KERNELS = [
    Kernel(
        "2mm",
        "linear-algebra",
        k2mm,
        _2mm_args,
        _sizes("ni nj nk nl".split(), (16, 18, 22, 24), (40, 50, 70, 80), (180, 190, 210, 220), (800, 900, 1100, 1200)),
        description="D = alpha*A*B*C + beta*D",
    ),
    Kernel(
        "3mm",
        "linear-algebra",
        k3mm,
        _3mm_args,
        _sizes(
            "ni nj nk nl nm".split(),
            (16, 18, 20, 22, 24),
            (40, 50, 60, 70, 80),
            (180, 190, 200, 210, 220),
            (800, 900, 1000, 1100, 1200),
        ),
        description="G = (A*B)*(C*D)",
    ),
    Kernel(
        "atax",
        "linear-algebra",
        atax,
        _atax_args,
        _sizes(("m", "n"), (38, 42), (116, 124), (390, 410), (1900, 2100)),
        description="y = A^T (A x)",
    ),
    Kernel(
        "bicg",
        "linear-algebra",
        bicg,
        _bicg_args,
        _sizes(("m", "n"), (38, 42), (116, 124), (390, 410), (1900, 2100)),
        description="BiCG sub-kernel: s = A^T r, q = A p",
    ),
    Kernel(
        "doitgen",
        "linear-algebra",
        doitgen,
        _doitgen_args,
        _sizes(("nq", "nr", "np_"), (8, 10, 12), (20, 25, 30), (40, 50, 60), (140, 150, 160)),
        description="multiresolution analysis kernel (MADNESS)",
    ),
    Kernel(
        "mvt",
        "linear-algebra",
        mvt,
        _mvt_args,
        _sizes(("n",), (40,), (120,), (400,), (2000,)),
        description="x1 += A y1, x2 += A^T y2",
    ),
    Kernel(
        "gemm",
        "blas",
        gemm,
        _gemm_args,
        _sizes(("ni", "nj", "nk"), (20, 25, 30), (60, 70, 80), (200, 220, 240), (1000, 1100, 1200)),
        description="C = alpha*A*B + beta*C",
    ),
    Kernel(
        "gemver",
        "blas",
        gemver,
        _gemver_args,
        _sizes(("n",), (40,), (120,), (400,), (2000,)),
        description="vector multiplication and matrix addition",
    ),
    Kernel(
        "gesummv",
        "blas",
        gesummv,
        _gesummv_args,
        _sizes(("n",), (30,), (90,), (250,), (1300,)),
        description="y = alpha*A*x + beta*B*x",
    ),
    Kernel(
        "symm",
        "blas",
        symm,
        _symm_args,
        _sizes(("m", "n"), (20, 30), (60, 80), (200, 240), (1000, 1200)),
        description="C = alpha*A*B + beta*C, A symmetric (lower triangle)",
    ),
    Kernel(
        "syr2k",
        "blas",
        syr2k,
        _syr2k_args,
        _sizes(("m", "n"), (20, 30), (60, 80), (200, 240), (1000, 1200)),
        description="symmetric rank-2k update (lower triangle)",
    ),
    Kernel(
        "syrk",
        "blas",
        syrk,
        _syrk_args,
        _sizes(("m", "n"), (20, 30), (60, 80), (200, 240), (1000, 1200)),
        description="symmetric rank-k update (lower triangle)",
    ),
    Kernel(
        "trmm",
        "blas",
        trmm,
        _trmm_args,
        _sizes(("m", "n"), (20, 30), (60, 80), (200, 240), (1000, 1200)),
        description="B = alpha*A^T*B, A unit lower triangular",
    ),
    Kernel(
        "cholesky",
        "solvers",
        cholesky,
        _cholesky_args,
        _sizes(("n",), (40,), (120,), (400,), (2000,)),
        description="Cholesky decomposition in place",
    ),
    Kernel(
        "durbin",
        "solvers",
        durbin,
        _durbin_args,
        _sizes(("n",), (40,), (120,), (400,), (2000,)),
        description="Toeplitz system (Levinson-Durbin)",
    ),
    Kernel(
        "gramschmidt",
        "solvers",
        gramschmidt,
        _gramschmidt_args,
        _sizes(("m", "n"), (20, 30), (60, 80), (200, 240), (1000, 1200)),
        description="QR by modified Gram-Schmidt",
    ),
    Kernel(
        "lu",
        "solvers",
        lu,
        _lu_args,
        _sizes(("n",), (40,), (120,), (400,), (2000,)),
        description="LU decomposition without pivoting",
    ),
    Kernel(
        "ludcmp",
        "solvers",
        ludcmp,
        _ludcmp_args,
        _sizes(("n",), (40,), (120,), (400,), (2000,)),
        description="LU decomposition and forward/back substitution",
    ),
    Kernel(
        "trisolv",
        "solvers",
        trisolv,
        _trisolv_args,
        _sizes(("n",), (40,), (120,), (400,), (2000,)),
        description="triangular solver (forward substitution)",
    ),
    Kernel(
        "correlation",
        "datamining",
        correlation,
        _correlation_args,
        _sizes(("m", "n"), (28, 32), (80, 100), (240, 260), (1200, 1400)),
        description="correlation matrix",
    ),
    Kernel(
        "covariance",
        "datamining",
        covariance,
        _covariance_args,
        _sizes(("m", "n"), (28, 32), (80, 100), (240, 260), (1200, 1400)),
        description="covariance matrix",
    ),
    Kernel(
        "deriche",
        "medley",
        deriche,
        _deriche_args,
        _sizes(("w", "h"), (64, 64), (192, 128), (720, 480), (4096, 2160)),
        description="Deriche edge detector (recursive filters)",
    ),
    Kernel(
        "floyd-warshall",
        "medley",
        floyd_warshall,
        _floyd_warshall_args,
        _sizes(("n",), (60,), (180,), (500,), (2800,)),
        description="all-pairs shortest paths (int64)",
    ),
    Kernel(
        "nussinov",
        "medley",
        nussinov,
        _nussinov_args,
        _sizes(("n",), (60,), (180,), (500,), (2500,)),
        description="RNA folding, dynamic programming (int64)",
    ),
    Kernel(
        "adi",
        "stencils",
        adi,
        _adi_args,
        _sizes(("n", "tsteps"), (20, 20), (60, 40), (200, 100), (1000, 500)),
        description="alternating direction implicit solver",
    ),
    Kernel(
        "fdtd-2d",
        "stencils",
        fdtd_2d,
        _fdtd_2d_args,
        _sizes(("tmax", "nx", "ny"), (20, 20, 30), (40, 60, 80), (100, 200, 240), (500, 1000, 1200)),
        description="2-D finite-difference time domain",
    ),
    Kernel(
        "heat-3d",
        "stencils",
        heat_3d,
        _heat_3d_args,
        _sizes(("n", "tsteps"), (10, 20), (20, 40), (40, 100), (120, 500)),
        description="3-D heat equation",
    ),
    Kernel(
        "jacobi-1d",
        "stencils",
        jacobi_1d,
        _jacobi_1d_args,
        _sizes(("n", "tsteps"), (30, 20), (120, 40), (400, 100), (2000, 500)),
        description="1-D Jacobi stencil",
    ),
    Kernel(
        "jacobi-2d",
        "stencils",
        jacobi_2d,
        _jacobi_2d_args,
        _sizes(("n", "tsteps"), (30, 20), (90, 40), (250, 100), (1300, 500)),
        description="2-D Jacobi stencil",
    ),
    Kernel(
        "seidel-2d",
        "stencils",
        seidel_2d,
        _seidel_2d_args,
        _sizes(("n", "tsteps"), (40, 20), (120, 40), (400, 100), (2000, 500)),
        description="2-D Gauss-Seidel stencil",
    ),
]

KERNELS = [replace(k, nests=NESTS[k.name]) for k in KERNELS]

_BY_NAME = {k.name: k for k in KERNELS}


def get(name):
    return _BY_NAME[name]


def names():
    return [k.name for k in KERNELS]
