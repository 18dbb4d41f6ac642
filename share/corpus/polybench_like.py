"""Kernels in the manner of PolyBench and the BLAS, different from those of
share/polybench.py: matrix-vector forms, sparse products through index
arrays, tensor contractions, more stencils, relaxation and sorting
networks."""

import numpy as np

from ._registry import style

case = style("polybench_like")


def _mat(n, r, m=None):
    return r.random((n, m or n))


@case(lambda n, r: (1.5, _mat(n, r), r.random(n), 0.5, r.random(n)), (6, 80, 500), "y = alpha*A*x + beta*y")
def gemv(alpha, A, x, beta, y):
    m, n = A.shape
    for i in range(m):
        t = 0.0
        for j in range(n):
            t += A[i, j] * x[j]
        y[i] = alpha * t + beta * y[i]


@case(lambda n, r: (_mat(n, r), r.random(n), r.random(n)), (6, 80, 500), "y = A^T x, column order")
def gemv_transposed(A, x, y):
    n = A.shape[0]
    for j in range(A.shape[1]):
        y[j] = 0.0
    for i in range(n):
        for j in range(A.shape[1]):
            y[j] += A[i, j] * x[i]


@case(lambda n, r: (0.7, r.random(n), r.random(n + 3), _mat(n, r, n + 3)), (6, 80, 500), "rank-1 update")
def ger(alpha, x, y, A):
    for i in range(x.shape[0]):
        for j in range(y.shape[0]):
            A[i, j] += alpha * x[i] * y[j]


@case(
    lambda n, r: (_mat(n, r),),
    (6, 200, 1500),
    "trace: a 1-deep loop on the diagonal, min() in the bound; O(n) work, so well under 20 ms at medium",
)
def trace(A):
    t = 0.0
    for i in range(min(A.shape[0], A.shape[1])):
        t += A[i, i]
    return t


@case(lambda n, r: (_mat(n, r),), (6, 80, 500), "Frobenius norm")
def frobenius(A):
    s = 0.0
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            s += A[i, j] * A[i, j]
    return np.sqrt(s)


def _csr(n, r):
    nnz_row = 5
    indptr = np.arange(0, (n + 1) * nnz_row, nnz_row, dtype=np.int64)
    indices = r.integers(0, n, n * nnz_row)
    data = r.random(n * nnz_row)
    return (indptr, indices, data, r.random(n), np.zeros(n))


@case(_csr, (6, 800, 30000), "CSR: bounds and column from index arrays")
def spmv_csr(indptr, indices, data, x, y):
    n = len(y)
    for i in range(n):
        s = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            s += data[k] * x[indices[k]]
        y[i] = s


@case(
    lambda n, r: (r.integers(0, n, 5 * n), r.integers(0, n, 5 * n), r.random(5 * n), r.random(n), np.zeros(n)),
    (6, 800, 30000),
    "COO: scatter through rows[k]",
)
def spmv_coo(rows, cols, vals, x, y):
    for k in range(vals.shape[0]):
        y[rows[k]] += vals[k] * x[cols[k]]


@case(lambda n, r: (r.integers(0, n, (n, 4)), r.random((n, 4)), r.random(n)), (6, 800, 40000), "ELL: fixed width")
def spmv_ell(cols, vals, x):
    n, width = cols.shape
    y = np.zeros(n)
    for i in range(n):
        for k in range(width):
            y[i] += vals[i, k] * x[cols[i, k]]
    return y


@case(lambda n, r: (r.random(n), r.random(7)), (16, 2000, 40000), "1-D valid convolution")
def conv1d(x, w):
    n = len(x)
    k = len(w)
    out = np.zeros(n - k + 1)
    for i in range(n - k + 1):
        for j in range(k):
            out[i] += x[i + j] * w[k - 1 - j]
    return out


@case(lambda n, r: (r.random((n, n, n)), np.zeros((n, n, n)), 2), (5, 14, 40), "7-point 3-D Jacobi with copy back")
def jacobi_3d(A, B, steps):
    n = A.shape[0]
    for t in range(steps):
        for i in range(1, n - 1):
            for j in range(1, n - 1):
                for k in range(1, n - 1):
                    B[i, j, k] = (
                        A[i - 1, j, k]
                        + A[i + 1, j, k]
                        + A[i, j - 1, k]
                        + A[i, j + 1, k]
                        + A[i, j, k - 1]
                        + A[i, j, k + 1]
                    ) / 6.0
        for i in range(1, n - 1):
            for j in range(1, n - 1):
                for k in range(1, n - 1):
                    A[i, j, k] = B[i, j, k]


@case(lambda n, r: (r.random((n, n)), np.zeros((n, n))), (6, 40, 250), "9-point stencil")
def stencil_9pt(A, B):
    n, m = A.shape
    for i in range(1, n - 1):
        for j in range(1, m - 1):
            s = 0.0
            for di in range(3):
                for dj in range(3):
                    s += A[i + di - 1, j + dj - 1]
            B[i, j] = s / 9.0


@case(lambda n, r: (r.random((n, n)), 1.5, 5), (6, 30, 120), "SOR with over-relaxation")
def sor(A, omega, sweeps):
    n = A.shape[0]
    for s in range(sweeps):
        for i in range(1, n - 1):
            for j in range(1, n - 1):
                A[i, j] = (1 - omega) * A[i, j] + omega * 0.25 * (A[i - 1, j] + A[i + 1, j] + A[i, j - 1] + A[i, j + 1])


@case(lambda n, r: (r.random((n, n)), 5), (6, 30, 140), "red-black Gauss-Seidel, start depends on i")
def red_black(A, sweeps):
    n = A.shape[0]
    for s in range(sweeps):
        for color in range(2):
            for i in range(1, n - 1):
                for j in range(1 + (i + color) % 2, n - 1, 2):
                    A[i, j] = 0.25 * (A[i - 1, j] + A[i + 1, j] + A[i, j - 1] + A[i, j + 1])


@case(lambda n, r: (r.random((n, n, n)), r.random((n, n))), (4, 14, 50), "contraction over two indices")
def tensor_contract(T, M):
    a, b, c = T.shape
    out = np.zeros(a)
    for i in range(a):
        for j in range(b):
            for k in range(c):
                out[i] += T[i, j, k] * M[j, k]
    return out


@case(
    lambda n, r: (r.random((n, n, n)), r.random((n, 4)), r.random((n, 4)), np.zeros((n, 4))),
    (4, 12, 45),
    "MTTKRP",
)
def mttkrp(X, B, C, A):
    I, J, K = X.shape
    R = A.shape[1]
    for i in range(I):
        for j in range(J):
            for k in range(K):
                for r in range(R):
                    A[i, r] += X[i, j, k] * B[j, r] * C[k, r]


@case(lambda n, r: (r.random((n, 8, 8)), r.random((n, 8))), (3, 40, 2000), "batched small matrix-vector products")
def batched_matvec(As, xs):
    batch, m, k = As.shape
    out = np.zeros((batch, m))
    for b in range(batch):
        for i in range(m):
            for j in range(k):
                out[b, i] += As[b, i, j] * xs[b, j]
    return out


@case(lambda n, r: (r.random((4, 4)), r.random((n, n))), (3, 15, 80), "Kronecker product, computed subscripts")
def kron(A, B):
    p, q = A.shape
    r, s = B.shape
    K = np.zeros((p * r, q * s))
    for i in range(p):
        for j in range(q):
            for k in range(r):
                for l in range(s):
                    K[i * r + k, j * s + l] = A[i, j] * B[k, l]
    return K


@case(lambda n, r: (r.random((n, 5)), r.random(n)), (8, 800, 40000), "banded matrix-vector product")
def band_matvec(band, x):
    n, w = band.shape
    half = w // 2
    y = np.zeros(n)
    for i in range(n):
        for d in range(w):
            j = i + d - half
            if 0 <= j < n:
                y[i] += band[i, d] * x[j]
    return y


@case(lambda n, r: (r.random(n), r.random(n), r.random(n), r.random(n) + 3), (8, 2000, 60000), "Thomas algorithm")
def tridiagonal_solve(a, b_rhs, c, d):
    n = len(d)
    cp = np.zeros(n)
    dp = np.zeros(n)
    cp[0] = c[0] / d[0]
    dp[0] = b_rhs[0] / d[0]
    for i in range(1, n):
        den = d[i] - a[i] * cp[i - 1]
        cp[i] = c[i] / den
        dp[i] = (b_rhs[i] - a[i] * dp[i - 1]) / den
    x = np.zeros(n)
    x[n - 1] = dp[n - 1]
    for i in range(n - 2, -1, -1):
        x[i] = dp[i] - cp[i] * x[i + 1]
    return x


@case(lambda n, r: (r.random(1 << n),), (3, 9, 13), "bitonic sort: while loops and swaps")
def bitonic_sort(a):
    n = len(a)
    k = 2
    while k <= n:
        j = k // 2
        while j > 0:
            for i in range(n):
                l = i ^ j
                if l > i:
                    up = (i & k) == 0
                    if (up and a[i] > a[l]) or (not up and a[i] < a[l]):
                        a[i], a[l] = a[l], a[i]
            j //= 2
        k *= 2


@case(lambda n, r: (r.random(n),), (8, 300, 1600), "odd-even transposition sort, range(start, n - 1, 2)")
def odd_even_sort(a):
    n = a.shape[0]
    for phase in range(n):
        start = phase % 2
        for i in range(start, n - 1, 2):
            if a[i] > a[i + 1]:
                t = a[i]
                a[i] = a[i + 1]
                a[i + 1] = t


@case(lambda n, r: (r.integers(0, 1000, n),), (8, 2000, 50000), "counting sort: counts, scan, scatter")
def counting_sort(a):
    k = 1000
    counts = np.zeros(k, dtype=np.int64)
    for i in range(len(a)):
        counts[a[i]] += 1
    pos = 0
    for v in range(k):
        c = counts[v]
        counts[v] = pos
        pos += c
    out = np.empty_like(a)
    for i in range(len(a)):
        out[counts[a[i]]] = a[i]
        counts[a[i]] += 1
    return out


@case(lambda n, r: (r.random((n, n)), r.random((n, n))), (4, 20, 70), "symmetric product, lower triangle only")
def syrk_lower(A, C):
    n, k = A.shape
    for i in range(n):
        for j in range(i + 1):
            s = 0.0
            for p in range(k):
                s += A[i, p] * A[j, p]
            C[i, j] = s


@case(lambda n, r: (r.random((n, n)), r.random((n, n))), (4, 20, 70), "C += A^T B")
def gemm_tn(A, B):
    k, n = A.shape
    m = B.shape[1]
    C = np.zeros((n, m))
    for i in range(n):
        for j in range(m):
            for p in range(k):
                C[i, j] += A[p, i] * B[p, j]
    return C


@case(lambda n, r: (r.random((n, n)), r.random((n, n)), np.zeros((n, n))), (4, 20, 70), "ikj loop order")
def gemm_ikj(A, B, C):
    n = A.shape[0]
    for i in range(n):
        for k in range(n):
            a = A[i, k]
            for j in range(n):
                C[i, j] += a * B[k, j]


@case(lambda n, r: (r.random((n, n)),), (4, 30, 400), "column means then centred copy")
def center_columns(X):
    n, m = X.shape
    mean = np.zeros(m)
    for j in range(m):
        for i in range(n):
            mean[j] += X[i, j]
        mean[j] /= n
    Y = np.empty_like(X)
    for i in range(n):
        for j in range(m):
            Y[i, j] = X[i, j] - mean[j]
    return Y


@case(lambda n, r: (r.random((n, 3)) * 100, 5.0), (6, 60, 20000), "cell lists: neighbours through a bin array")
def neighbor_count_bins(pos, cell):
    n = pos.shape[0]
    nb = int(100 // cell) + 1
    counts = np.zeros((nb, nb), dtype=np.int64)
    for i in range(n):
        cx = int(pos[i, 0] // cell)
        cy = int(pos[i, 1] // cell)
        counts[cx, cy] += 1
    result = np.zeros(n, dtype=np.int64)
    for i in range(n):
        cx = int(pos[i, 0] // cell)
        cy = int(pos[i, 1] // cell)
        for dx in range(-1, 2):
            for dy in range(-1, 2):
                x, y = cx + dx, cy + dy
                if 0 <= x < nb and 0 <= y < nb:
                    result[i] += counts[x, y]
    return result
