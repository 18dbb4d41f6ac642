"""Loops in the style of scientific scripts: finite differences, ODE steps,
particles, dynamic-programming tables, moving averages, quadrature,
scans, outer products, pairwise potentials and small dense solvers."""

import math

import numpy as np

from ._registry import style

case = style("scientific")


@case(lambda n, r: (np.sin(np.linspace(0, 6, n)), 6.0 / (n - 1)), (16, 4000, 200000), "central differences")
def derivative_central(f, h):
    n = f.shape[0]
    d = np.zeros(n)
    d[0] = (f[1] - f[0]) / h
    d[n - 1] = (f[n - 1] - f[n - 2]) / h
    for i in range(1, n - 1):
        d[i] = (f[i + 1] - f[i - 1]) / (2 * h)
    return d


@case(lambda n, r: (r.random(n), 0.1), (16, 4000, 200000), "second derivative, negative index at the end")
def laplacian_periodic(u, h):
    n = len(u)
    out = np.empty(n)
    for i in range(n):
        out[i] = (u[i - 1] - 2 * u[i] + u[(i + 1) % n]) / (h * h)
    return out


@case(lambda n, r: (1.0, 0.0, 1e-3, n), (20, 4000, 1000000), "Euler steps of y' = -y, scalars only")
def euler_decay(y0, t0, dt, steps):
    y = y0
    t = t0
    for k in range(steps):
        y = y + dt * (-y)
        t = t + dt
    return t, y


@case(lambda n, r: (np.zeros(n), np.zeros(n), 0.01), (20, 4000, 100000), "Euler for a harmonic oscillator")
def euler_oscillator(x, v, dt):
    x[0] = 1.0
    v[0] = 0.0
    for k in range(1, len(x)):
        x[k] = x[k - 1] + dt * v[k - 1]
        v[k] = v[k - 1] - dt * x[k - 1]


def rhs(t, y):
    return -2.0 * t * y


@case(lambda n, r: (1.0, 0.0, 2.0 / n, n), (20, 2000, 100000), "RK4 with a helper right-hand side")
def rk4_helper(y0, t0, h, steps):
    y = y0
    t = t0
    for i in range(steps):
        k1 = rhs(t, y)
        k2 = rhs(t + h / 2, y + h * k1 / 2)
        k3 = rhs(t + h / 2, y + h * k2 / 2)
        k4 = rhs(t + h, y + h * k3)
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        t = t + h
    return y


@case(lambda n, r: (np.zeros((n, 2)), 0.01), (20, 2000, 60000), "RK4 of a pendulum, inline, history array")
def rk4_pendulum(state, h):
    state[0, 0] = 1.0
    state[0, 1] = 0.0
    for i in range(1, state.shape[0]):
        th = state[i - 1, 0]
        om = state[i - 1, 1]
        k1t = om
        k1o = -math.sin(th)
        k2t = om + 0.5 * h * k1o
        k2o = -math.sin(th + 0.5 * h * k1t)
        k3t = om + 0.5 * h * k2o
        k3o = -math.sin(th + 0.5 * h * k2t)
        k4t = om + h * k3o
        k4o = -math.sin(th + h * k3t)
        state[i, 0] = th + h / 6 * (k1t + 2 * k2t + 2 * k3t + k4t)
        state[i, 1] = om + h / 6 * (k1o + 2 * k2o + 2 * k3o + k4o)


@case(lambda n, r: (n * 2.0, 0.01, 0.1, 0.02, 0.5, 0.01), (2, 200, 5000), "Lotka-Volterra, tuple update, while on time")
def lotka_volterra(t_end, dt, a, b, c, d):
    x, y = 10.0, 5.0
    t = 0.0
    while t < t_end:
        x, y = x + dt * (a * x - b * x * y), y + dt * (d * x * y - c * y)
        t += dt
    return x, y


@case(lambda n, r: (r.random((n, 2)), r.random((n, 2)) - 0.5, 0.01, 20), (8, 200, 3000), "particles bouncing in a box")
def particles_bounce(pos, vel, dt, steps):
    n = pos.shape[0]
    for s in range(steps):
        for i in range(n):
            for d in range(2):
                pos[i, d] += vel[i, d] * dt
                if pos[i, d] < 0.0:
                    pos[i, d] = -pos[i, d]
                    vel[i, d] = -vel[i, d]
                elif pos[i, d] > 1.0:
                    pos[i, d] = 2.0 - pos[i, d]
                    vel[i, d] = -vel[i, d]


@case(lambda n, r: (r.random(n), np.zeros(n), 0.01, 50), (8, 100, 4000), "leapfrog for independent oscillators")
def leapfrog(x, v, dt, steps):
    for s in range(steps):
        for i in range(x.shape[0]):
            v[i] -= 0.5 * dt * x[i]
            x[i] += dt * v[i]
            v[i] -= 0.5 * dt * x[i]


def _seqs(n, r):
    return (r.integers(0, 4, n), r.integers(0, 4, n + n // 3))


@case(_seqs, (6, 60, 300), "Smith-Waterman: max() of four values")
def smith_waterman(a, b):
    n, m = len(a), len(b)
    H = np.zeros((n + 1, m + 1), dtype=np.int64)
    best = 0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            s = 3 if a[i - 1] == b[j - 1] else -3
            H[i, j] = max(0, H[i - 1, j - 1] + s, H[i - 1, j] - 2, H[i, j - 1] - 2)
            if H[i, j] > best:
                best = H[i, j]
    return best


@case(_seqs, (6, 60, 300), "Needleman-Wunsch: borders, then the table")
def needleman_wunsch(a, b):
    n = a.shape[0]
    m = b.shape[0]
    gap = -1
    F = np.zeros((n + 1, m + 1), dtype=np.int64)
    for i in range(n + 1):
        F[i, 0] = gap * i
    for j in range(m + 1):
        F[0, j] = gap * j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            match = F[i - 1, j - 1] + (1 if a[i - 1] == b[j - 1] else -1)
            delete = F[i - 1, j] + gap
            insert = F[i, j - 1] + gap
            F[i, j] = max(match, delete, insert)
    return F[n, m]


@case(_seqs, (6, 60, 300), "edit distance with if/elif instead of max")
def edit_distance(a, b):
    n, m = len(a), len(b)
    D = np.zeros((n + 1, m + 1), dtype=np.int64)
    for i in range(n + 1):
        D[i, 0] = i
    for j in range(m + 1):
        D[0, j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d = D[i - 1, j] + 1
            if D[i, j - 1] + 1 < d:
                d = D[i, j - 1] + 1
            if D[i - 1, j - 1] + cost < d:
                d = D[i - 1, j - 1] + cost
            D[i, j] = d
    return D[n, m]


@case(_seqs, (6, 60, 300), "longest common subsequence")
def lcs_length(a, b):
    n, m = len(a), len(b)
    L = np.zeros((n + 1, m + 1), dtype=np.int64)
    for i in range(n):
        for j in range(m):
            if a[i] == b[j]:
                L[i + 1, j + 1] = L[i, j] + 1
            else:
                L[i + 1, j + 1] = max(L[i, j + 1], L[i + 1, j])
    return L[n, m]


@case(
    lambda n, r: (r.integers(1, 20, n), r.integers(1, 30, n), 5 * n),
    (5, 40, 300),
    "0/1 knapsack, backward inner range",
)
def knapsack(weights, values, capacity):
    best = np.zeros(capacity + 1, dtype=np.int64)
    for i in range(len(weights)):
        w = weights[i]
        for c in range(capacity, w - 1, -1):
            if best[c - w] + values[i] > best[c]:
                best[c] = best[c - w] + values[i]
    return best[capacity]


@case(lambda n, r: (r.random(n), 5), (16, 4000, 50000), "moving average with np.mean of a slice")
def moving_average_slice(x, w):
    n = len(x)
    out = np.zeros(n - w + 1)
    for i in range(n - w + 1):
        out[i] = np.mean(x[i : i + w])
    return out


@case(lambda n, r: (r.random(n), 8), (16, 4000, 100000), "moving average with an inner loop")
def moving_average_loop(x, w):
    n = x.shape[0]
    out = np.zeros(n - w + 1)
    for i in range(n - w + 1):
        s = 0.0
        for k in range(w):
            s += x[i + k]
        out[i] = s / w
    return out


@case(lambda n, r: (r.random(n), 8), (16, 4000, 200000), "running window sum, carried scalar")
def moving_average_running(x, w):
    n = len(x)
    out = np.empty(n - w + 1)
    s = 0.0
    for i in range(w):
        s += x[i]
    out[0] = s / w
    for i in range(w, n):
        s += x[i] - x[i - w]
        out[i - w + 1] = s / w
    return out


@case(lambda n, r: (r.random(n), 0.1), (16, 4000, 200000), "exponential smoothing")
def exp_smoothing(x, alpha):
    y = np.empty_like(x)
    y[0] = x[0]
    for t in range(1, len(x)):
        y[t] = alpha * x[t] + (1 - alpha) * y[t - 1]
    return y


@case(lambda n, r: (r.random(8), np.linspace(-1, 1, n)), (16, 4000, 60000), "Horner's rule per point")
def polyval_horner(coeffs, xs):
    out = np.zeros(len(xs))
    for i in range(len(xs)):
        acc = 0.0
        for c in range(len(coeffs)):
            acc = acc * xs[i] + coeffs[c]
        out[i] = acc
    return out


@case(lambda n, r: (r.random(6), np.linspace(-1, 1, n)), (16, 4000, 40000), "powers with ** and a for over coeffs")
def polyval_powers(coeffs, xs):
    out = np.zeros_like(xs)
    for i in range(len(xs)):
        for k, c in enumerate(coeffs):
            out[i] += c * xs[i] ** k
    return out


@case(lambda n, r: (0.0, math.pi, n), (16, 4000, 800000), "trapezoid rule of math.sin")
def trapezoid_sin(a, b, n):
    h = (b - a) / n
    s = 0.5 * (math.sin(a) + math.sin(b))
    for i in range(1, n):
        s += math.sin(a + i * h)
    return s * h


@case(lambda n, r: (np.linspace(0, 2, n), np.exp(np.linspace(0, 2, n))), (16, 4000, 200000), "trapezoid of samples")
def trapezoid_samples(x, y):
    total = 0.0
    for i in range(len(x) - 1):
        total += (x[i + 1] - x[i]) * (y[i] + y[i + 1]) / 2
    return total


@case(lambda n, r: (0.0, 1.0, 2 * n), (8, 2000, 200000), "Simpson with a step-2 range and a helper")
def simpson(a, b, n):
    def f(x):
        return 4.0 / (1.0 + x * x)

    h = (b - a) / n
    s = f(a) + f(b)
    for i in range(1, n, 2):
        s += 4 * f(a + i * h)
    for i in range(2, n, 2):
        s += 2 * f(a + i * h)
    return s * h / 3


@case(lambda n, r: (r.random(n),), (16, 4000, 200000), "cumulative sum in place")
def cumsum_inplace(x):
    for i in range(1, len(x)):
        x[i] += x[i - 1]


@case(lambda n, r: (r.random(n) + 0.5,), (16, 4000, 200000), "cumulative product into a new array")
def cumprod(x):
    out = np.empty_like(x)
    p = 1.0
    for i in range(x.shape[0]):
        p *= x[i]
        out[i] = p
    return out


@case(lambda n, r: (r.random(n), r.random(n + 2)), (6, 80, 500), "outer product")
def outer_product(u, v):
    out = np.zeros((len(u), len(v)))
    for i in range(len(u)):
        for j in range(len(v)):
            out[i, j] = u[i] * v[j]
    return out


@case(lambda n, r: (r.random((n, 3)) * n,), (6, 40, 160), "Lennard-Jones energy and forces over pairs")
def lennard_jones(pos):
    n = pos.shape[0]
    forces = np.zeros_like(pos)
    energy = 0.0
    for i in range(n - 1):
        for j in range(i + 1, n):
            dx = pos[i, 0] - pos[j, 0]
            dy = pos[i, 1] - pos[j, 1]
            dz = pos[i, 2] - pos[j, 2]
            r2 = dx * dx + dy * dy + dz * dz + 0.5
            inv6 = 1.0 / (r2 * r2 * r2)
            energy += 4.0 * (inv6 * inv6 - inv6)
            f = (48.0 * inv6 * inv6 - 24.0 * inv6) / r2
            forces[i, 0] += f * dx
            forces[i, 1] += f * dy
            forces[i, 2] += f * dz
            forces[j, 0] -= f * dx
            forces[j, 1] -= f * dy
            forces[j, 2] -= f * dz
    return energy, forces


@case(lambda n, r: (r.random(n) * 10, r.random(n) - 0.5), (6, 100, 600), "Coulomb potential, charges, cutoff")
def coulomb_potential(x, q):
    n = len(x)
    pot = np.zeros(n)
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            r = abs(x[i] - x[j])
            if r < 5.0:
                pot[i] += q[j] / (r + 1e-9)
    return pot


def _spd(n, r):
    a = r.random((n, n))
    return (a @ a.T + n * np.eye(n),)


@case(_spd, (5, 30, 100), "LU without pivoting, in place")
def lu_nopivot(A):
    n = A.shape[0]
    for k in range(n):
        for i in range(k + 1, n):
            A[i, k] = A[i, k] / A[k, k]
            for j in range(k + 1, n):
                A[i, j] -= A[i, k] * A[k, j]


@case(_spd, (5, 30, 100), "LU with partial pivoting: argmax and row swaps")
def lu_partial_pivot(A):
    n = A.shape[0]
    perm = np.arange(n)
    for k in range(n - 1):
        p = k
        for i in range(k + 1, n):
            if abs(A[i, k]) > abs(A[p, k]):
                p = i
        if p != k:
            for j in range(n):
                A[k, j], A[p, j] = A[p, j], A[k, j]
            perm[k], perm[p] = perm[p], perm[k]
        for i in range(k + 1, n):
            A[i, k] /= A[k, k]
            for j in range(k + 1, n):
                A[i, j] -= A[i, k] * A[k, j]
    return perm


def _tri(n, r):
    L = np.tril(r.random((n, n))) + n * np.eye(n)
    return (L, r.random(n))


@case(_tri, (6, 80, 800), "forward substitution")
def forward_substitution(L, b):
    n = len(b)
    x = np.zeros(n)
    for i in range(n):
        s = b[i]
        for j in range(i):
            s -= L[i, j] * x[j]
        x[i] = s / L[i, i]
    return x


@case(lambda n, r: (np.triu(r.random((n, n))) + n * np.eye(n), r.random(n)), (6, 80, 800), "backward substitution")
def back_substitution(U, b):
    n = U.shape[0]
    x = np.zeros(n)
    for i in range(n - 1, -1, -1):
        s = b[i]
        for j in range(i + 1, n):
            s -= U[i, j] * x[j]
        x[i] = s / U[i, i]
    return x


@case(lambda n, r: (_spd(n, r)[0], r.random(n), 10), (6, 40, 120), "Gauss-Seidel sweeps")
def gauss_seidel(A, b, sweeps):
    n = len(b)
    x = np.zeros(n)
    for s in range(sweeps):
        for i in range(n):
            acc = b[i]
            for j in range(n):
                if j != i:
                    acc -= A[i, j] * x[j]
            x[i] = acc / A[i, i]
    return x


@case(lambda n, r: (_spd(n, r)[0], 1e-10), (5, 30, 250), "power iteration until converged (while)")
def power_iteration(A, tol):
    n = A.shape[0]
    v = np.ones(n) / math.sqrt(n)
    lam = 0.0
    for it in range(200):
        w = np.zeros(n)
        for i in range(n):
            for j in range(n):
                w[i] += A[i, j] * v[j]
        norm = 0.0
        for i in range(n):
            norm += w[i] * w[i]
        norm = math.sqrt(norm)
        for i in range(n):
            v[i] = w[i] / norm
        if abs(norm - lam) < tol:
            break
        lam = norm
    return lam


@case(lambda n, r: (r.random(n) * 100 + 1,), (16, 2000, 20000), "Newton's square root in a while, per element")
def newton_sqrt(x):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        g = x[i] / 2
        while abs(g * g - x[i]) > 1e-9 * x[i]:
            g = 0.5 * (g + x[i] / g)
        out[i] = g
    return out


@case(lambda n, r: (r.random(n) * 3 + 0.5,), (16, 1000, 8000), "bisection on x^3 - c, fixed iterations + break")
def bisection_cuberoot(c):
    out = np.zeros(len(c))
    for i in range(len(c)):
        lo, hi = 0.0, 2.0
        for it in range(60):
            mid = 0.5 * (lo + hi)
            if mid * mid * mid < c[i]:
                lo = mid
            else:
                hi = mid
            if hi - lo < 1e-12:
                break
        out[i] = 0.5 * (lo + hi)
    return out


@case(lambda n, r: (np.linspace(2.5, 4.0, n), 200), (8, 100, 1200), "logistic map per parameter")
def logistic_map(rs, iters):
    out = np.empty(len(rs))
    for k in range(len(rs)):
        x = 0.5
        for t in range(iters):
            x = rs[k] * x * (1 - x)
        out[k] = x
    return out


@case(lambda n, r: (np.exp(-((np.linspace(0, 1, n) - 0.3) ** 2) * 100), 0.5, 20), (16, 400, 4000), "upwind advection")
def advection_upwind(u, c, steps):
    n = u.shape[0]
    new = np.empty_like(u)
    for t in range(steps):
        new[0] = u[0]
        for i in range(1, n):
            new[i] = u[i] - c * (u[i] - u[i - 1])
        for i in range(n):
            u[i] = new[i]


@case(lambda n, r: (np.sin(np.linspace(0, 3, n)), 0.3, 20), (16, 400, 4000), "wave equation, three time levels")
def wave_1d(u0, c2, steps):
    n = len(u0)
    prev = u0.copy()
    cur = u0.copy()
    nxt = np.zeros(n)
    for t in range(steps):
        for i in range(1, n - 1):
            nxt[i] = 2 * cur[i] - prev[i] + c2 * (cur[i + 1] - 2 * cur[i] + cur[i - 1])
        prev, cur, nxt = cur, nxt, prev
    return cur


@case(lambda n, r: (r.random((n, n)), 0.1, 5), (6, 40, 130), "explicit 2-D heat with np.copy per step")
def heat_2d_explicit(T, alpha, steps):
    nx, ny = T.shape
    for s in range(steps):
        Tn = np.copy(T)
        for i in range(1, nx - 1):
            for j in range(1, ny - 1):
                T[i, j] = Tn[i, j] + alpha * (Tn[i + 1, j] + Tn[i - 1, j] + Tn[i, j + 1] + Tn[i, j - 1] - 4 * Tn[i, j])
    return T


@case(
    lambda n, r: (r.random(n), np.ones(n) / n, 30),
    (8, 2000, 100000),
    "Jacobi sweeps: np.zeros_like each sweep, u = unew",
)
def jacobi_1d_fresh(u, f, sweeps):
    n = u.shape[0]
    for k in range(sweeps):
        unew = np.zeros_like(u)
        unew[0] = u[0]
        unew[n - 1] = u[n - 1]
        for i in range(1, n - 1):
            unew[i] = 0.5 * (u[i - 1] + u[i + 1] + f[i])
        u = unew
    return u


@case(
    lambda n, r: ((r.random((n, n)) < 0.3).astype(np.uint8), 6),
    (6, 60, 400),
    "Game of Life: a new uint8 grid per generation",
)
def life_generations(grid, generations):
    n, m = grid.shape
    for g in range(generations):
        new = np.zeros((n, m), dtype=np.uint8)
        for i in range(1, n - 1):
            for j in range(1, m - 1):
                alive = (
                    grid[i - 1, j - 1]
                    + grid[i - 1, j]
                    + grid[i - 1, j + 1]
                    + grid[i, j - 1]
                    + grid[i, j + 1]
                    + grid[i + 1, j - 1]
                    + grid[i + 1, j]
                    + grid[i + 1, j + 1]
                )
                if alive == 3 or (alive == 2 and grid[i, j] == 1):
                    new[i, j] = 1
        grid = new
    return grid


@case(lambda n, r: (r.random((n, 3)), 0.05, 20), (6, 300, 3000), "gradient steps: np.empty per step for the gradient")
def gradient_descent_fresh(x, rate, steps):
    n = x.shape[0]
    loss = 0.0
    for s in range(steps):
        grad = np.empty((n, 3))
        loss = 0.0
        for i in range(n):
            for d in range(3):
                grad[i, d] = 2.0 * (x[i, d] - 0.5)
                loss += (x[i, d] - 0.5) ** 2
        for i in range(n):
            for d in range(3):
                x[i, d] -= rate * grad[i, d]
    return x, loss


@case(lambda n, r: (n, 100, 21), (8, 50, 1000), "Brownian particles, random.gauss")
def brownian(n, steps, seed):
    import random

    random.seed(seed)
    x = np.zeros(n)
    for s in range(steps):
        for i in range(n):
            x[i] += random.gauss(0.0, 0.1)
    return x


@case(lambda n, r: (r.random(n), r.random(n)), (16, 4000, 200000), "Pearson correlation: sums, then formula")
def pearson(x, y):
    n = len(x)
    sx = sy = sxx = syy = sxy = 0.0
    for i in range(n):
        sx += x[i]
        sy += y[i]
        sxx += x[i] * x[i]
        syy += y[i] * y[i]
        sxy += x[i] * y[i]
    num = n * sxy - sx * sy
    den = math.sqrt(n * sxx - sx * sx) * math.sqrt(n * syy - sy * sy)
    return num / den


@case(lambda n, r: (r.random(n), r.random(n)), (16, 4000, 200000), "least-squares line: two passes with means")
def linear_regression(x, y):
    n = x.shape[0]
    mx = 0.0
    my = 0.0
    for i in range(n):
        mx += x[i]
        my += y[i]
    mx /= n
    my /= n
    num = 0.0
    den = 0.0
    for i in range(n):
        num += (x[i] - mx) * (y[i] - my)
        den += (x[i] - mx) ** 2
    slope = num / den
    return slope, my - slope * mx


@case(lambda n, r: (r.random(n), r.random(n), 8), (16, 4000, 60000), "2-D histogram, int() bins (indirect)")
def histogram_2d(x, y, bins):
    H = np.zeros((bins, bins), dtype=np.int64)
    for i in range(len(x)):
        bx = min(int(x[i] * bins), bins - 1)
        by = min(int(y[i] * bins), bins - 1)
        H[bx, by] += 1
    return H


@case(lambda n, r: (r.random(n),), (16, 4000, 200000), "variance with Welford's update")
def welford_variance(x):
    mean = 0.0
    m2 = 0.0
    count = 0
    for v in x:
        count += 1
        delta = v - mean
        mean += delta / count
        m2 += delta * (v - mean)
    return mean, m2 / (count - 1)


def _reciprocal_args(n, r):
    x = r.random(n) * 2 + 1
    x[(2 * n) // 3] = 0.5
    return (x,)


@case(_reciprocal_args, (16, 4000, 600000), "ZeroDivisionError two thirds of the way through the loop")
def reciprocal_sum_raises(x):
    total = 0.0
    for i in range(len(x)):
        total += 1.0 / math.floor(x[i])
    return total


@case(lambda n, r: (r.random(n), r.random(n - 1)), (16, 4000, 200000), "off-by-one: IndexError at the last element")
def diff_index_error(a, b):
    out = np.zeros(len(a))
    for i in range(len(a)):
        out[i] = a[i] - b[i]
    return out


@case(
    lambda n, r: (np.sin(np.linspace(0, 2 * np.pi, n, endpoint=False)), n * 0.37 + 0.25),
    (16, 4000, 200000),
    "periodic shift with linear interpolation, wrapped with math.fmod",
)
def periodic_shift_fmod(u, shift):
    n = u.shape[0]
    out = np.empty(n)
    for i in range(n):
        x = math.fmod(i + shift, n)
        if x < 0:
            x += n
        j = int(x)
        f = x - j
        out[i] = (1 - f) * u[j] + f * u[(j + 1) % n]
    return out


@case(lambda n, r: (r.random((n, n + 3)),), (5, 60, 500), "transpose over a flat index: row, col = divmod(k, ncols)")
def transpose_flat_divmod(a):
    nrows, ncols = a.shape
    out = np.empty((ncols, nrows))
    for k in range(nrows * ncols):
        row, col = divmod(k, ncols)
        out[col, row] = a[row, col]
    return out


@case(lambda n, r: (r.random(n), 50), (16, 200, 2000), "u[i] = u_new[i] = 0.0 to start, then Jacobi sweeps")
def jacobi_chain_init(f, sweeps):
    n = f.shape[0]
    u = np.empty(n)
    u_new = np.empty(n)
    for i in range(n):
        u[i] = u_new[i] = 0.0
    h2 = 1.0 / ((n - 1) * (n - 1))
    for s in range(sweeps):
        for i in range(1, n - 1):
            u_new[i] = 0.5 * (u[i - 1] + u[i + 1] + h2 * f[i])
        for i in range(1, n - 1):
            u[i] = u_new[i]
    return u
