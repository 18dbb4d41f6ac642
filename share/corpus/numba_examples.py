"""Loops in the style of Numba's example programs and the code people
write for ``@njit``: helper functions, ``for x in arr``, ``enumerate`` and
``zip``, shapes unpacked in several ways, ``from math import sqrt`` and
``import math as m``, tuple assignment, NumPy functions on scalars."""

import math
import math as m
import random
from math import exp, log, sqrt

import numpy as np

from ._registry import style

case = style("numba_examples")

RISKFREE = 0.02
VOLATILITY = 0.30


def cnd(d):
    A1 = 0.31938153
    A2 = -0.356563782
    A3 = 1.781477937
    A4 = -1.821255978
    A5 = 1.330274429
    RSQRT2PI = 0.39894228040143267794
    K = 1.0 / (1.0 + 0.2316419 * abs(d))
    ret_val = RSQRT2PI * math.exp(-0.5 * d * d) * (K * (A1 + K * (A2 + K * (A3 + K * (A4 + K * A5)))))
    if d > 0:
        ret_val = 1.0 - ret_val
    return ret_val


def _options(n, r):
    return (np.zeros(n), np.zeros(n), r.uniform(5, 30, n), r.uniform(1, 100, n), r.uniform(0.25, 10, n))


@case(_options, (16, 1000, 40000), "helper cnd() called twice per option")
def black_scholes_helper(call_result, put_result, stock_price, option_strike, option_years):
    S = stock_price
    X = option_strike
    T = option_years
    R = RISKFREE
    V = VOLATILITY
    for i in range(len(S)):
        sqrtT = math.sqrt(T[i])
        d1 = (math.log(S[i] / X[i]) + (R + 0.5 * V * V) * T[i]) / (V * sqrtT)
        d2 = d1 - V * sqrtT
        cndd1 = cnd(d1)
        cndd2 = cnd(d2)
        expRT = math.exp(-R * T[i])
        call_result[i] = S[i] * cndd1 - X[i] * expRT * cndd2
        put_result[i] = X[i] * expRT * (1.0 - cndd2) - S[i] * (1.0 - cndd1)


@case(_options, (16, 1000, 60000), "normal CDF through math.erf, inline")
def black_scholes_erf(call_result, put_result, S, K, T):
    r = RISKFREE
    sigma = VOLATILITY
    for i in range(S.shape[0]):
        d1 = (math.log(S[i] / K[i]) + (r + sigma * sigma / 2) * T[i]) / (sigma * math.sqrt(T[i]))
        d2 = d1 - sigma * math.sqrt(T[i])
        n1 = 0.5 * (1 + math.erf(d1 / math.sqrt(2)))
        n2 = 0.5 * (1 + math.erf(d2 / math.sqrt(2)))
        call_result[i] = S[i] * n1 - K[i] * math.exp(-r * T[i]) * n2
        put_result[i] = call_result[i] - S[i] + K[i] * math.exp(-r * T[i])


@case(_options, (16, 1000, 30000), "np.exp, np.log, np.sqrt on scalars")
def black_scholes_numpy_scalars(call_result, put_result, S, K, T):
    r = RISKFREE
    v = VOLATILITY
    for i in range(len(S)):
        d1 = (np.log(S[i] / K[i]) + (r + 0.5 * v**2) * T[i]) / (v * np.sqrt(T[i]))
        d2 = d1 - v * np.sqrt(T[i])
        disc = np.exp(-r * T[i])
        call_result[i] = S[i] * 0.5 * (1 + math.erf(d1 / 1.4142135623730951)) - K[i] * disc * 0.5 * (
            1 + math.erf(d2 / 1.4142135623730951)
        )
        put_result[i] = call_result[i] + K[i] * disc - S[i]


def distance(a, b):
    s = 0.0
    for k in range(a.shape[0]):
        s += (a[k] - b[k]) ** 2
    return sqrt(s)


@case(lambda n, r: (r.random((n, 3)),), (6, 40, 160), "helper distance(a, b) on rows")
def distance_matrix_helper(points):
    n = points.shape[0]
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            out[i, j] = distance(points[i], points[j])
    return out


@case(lambda n, r: (r.random((n, 3)),), (6, 40, 160), "inline, from math import sqrt")
def distance_matrix_inline(points):
    n, d = points.shape
    out = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            s = 0.0
            for k in range(d):
                t = points[i, k] - points[j, k]
                s += t * t
            out[i, j] = sqrt(s)
    return out


@case(lambda n, r: (r.random((n, 2)), r.random((n + 5, 2))), (6, 40, 300), "two point sets, import math as m")
def cross_distances(a, b):
    out = np.empty((a.shape[0], b.shape[0]))
    for i in range(a.shape[0]):
        for j in range(b.shape[0]):
            out[i, j] = m.hypot(a[i, 0] - b[j, 0], a[i, 1] - b[j, 1])
    return out


def _kmeans(n, r):
    return (r.random((n, 2)), r.random((4, 2)), np.zeros(n, dtype=np.int64))


@case(_kmeans, (8, 500, 20000), "nearest centroid, index of the minimum")
def kmeans_assign(points, centroids, labels):
    n = points.shape[0]
    k = centroids.shape[0]
    for i in range(n):
        best = 0
        best_d = np.inf
        for c in range(k):
            d = (points[i, 0] - centroids[c, 0]) ** 2 + (points[i, 1] - centroids[c, 1]) ** 2
            if d < best_d:
                best_d = d
                best = c
        labels[i] = best


@case(
    lambda n, r: (r.random((n, 2)), r.integers(0, 4, n), np.zeros((4, 2))),
    (8, 500, 40000),
    "centroid update through labels (indirect)",
)
def kmeans_update(points, labels, centroids):
    counts = np.zeros(centroids.shape[0])
    for c in range(centroids.shape[0]):
        centroids[c, 0] = 0.0
        centroids[c, 1] = 0.0
    for i in range(points.shape[0]):
        c = labels[i]
        centroids[c, 0] += points[i, 0]
        centroids[c, 1] += points[i, 1]
        counts[c] += 1
    for c in range(centroids.shape[0]):
        if counts[c] > 0:
            centroids[c, 0] /= counts[c]
            centroids[c, 1] /= counts[c]


@case(lambda n, r: (np.zeros((n, n)), 10), (6, 30, 120), "Laplace equation, ashape = a.shape")
def laplace_solve(a, iterations):
    ashape = a.shape
    for j in range(ashape[1]):
        a[0, j] = 1.0
    for it in range(iterations):
        for i in range(1, ashape[0] - 1):
            for j in range(1, ashape[1] - 1):
                a[i, j] = (a[i - 1, j] + a[i + 1, j] + a[i, j - 1] + a[i, j + 1]) * 0.25


@case(lambda n, r: (r.random((n, n)), 1.0), (8, 40, 200), "kernel weights built with math.exp in a loop")
def gaussian_blur(img, sigma):
    radius = 2
    size = 2 * radius + 1
    w = np.zeros(size)
    total = 0.0
    for k in range(size):
        w[k] = math.exp(-((k - radius) ** 2) / (2 * sigma * sigma))
        total += w[k]
    for k in range(size):
        w[k] /= total
    h, wd = img.shape
    tmp = np.zeros_like(img)
    out = np.zeros_like(img)
    for i in range(h):
        for j in range(radius, wd - radius):
            s = 0.0
            for k in range(size):
                s += w[k] * img[i, j + k - radius]
            tmp[i, j] = s
    for i in range(radius, h - radius):
        for j in range(wd):
            s = 0.0
            for k in range(size):
                s += w[k] * tmp[i + k - radius, j]
            out[i, j] = s
    return out


@case(lambda n, r: (np.zeros((n, n)),), (6, 24, 150), "ray marching a sphere: while with two exits")
def ray_march(image):
    h, w = image.shape
    for y in range(h):
        for x in range(w):
            dx = (x - w / 2) / w
            dy = (y - h / 2) / h
            dz = 1.0
            norm = math.sqrt(dx * dx + dy * dy + dz * dz)
            dx, dy, dz = dx / norm, dy / norm, dz / norm
            t = 0.0
            steps = 0
            hit = False
            while steps < 64:
                px, py, pz = t * dx, t * dy, t * dz - 3.0
                d = math.sqrt(px * px + py * py + pz * pz) - 1.0
                if d < 1e-4:
                    hit = True
                    break
                t += d
                if t > 10.0:
                    break
                steps += 1
            image[y, x] = 1.0 - steps / 64 if hit else 0.0


@case(lambda n, r: (np.zeros((n, n)), 0.3), (6, 30, 220), "signed distance with min/max of floats")
def sdf_box_circle(out, radius):
    n = out.shape[0]
    for i in range(n):
        for j in range(n):
            x = 2.0 * j / n - 1.0
            y = 2.0 * i / n - 1.0
            circle = math.sqrt(x * x + y * y) - radius
            qx = abs(x) - 0.5
            qy = abs(y) - 0.25
            box = math.sqrt(max(qx, 0.0) ** 2 + max(qy, 0.0) ** 2) + min(max(qx, qy), 0.0)
            out[i, j] = min(circle, box)


@case(lambda n, r: (r.random(n),), (16, 4000, 600000), "for x in arr")
def sum_iterating_values(arr):
    s = 0.0
    for x in arr:
        s += x
    return s


@case(lambda n, r: (r.random(n),), (16, 4000, 200000), "enumerate")
def weighted_sum_enumerate(arr):
    s = 0.0
    for i, x in enumerate(arr):
        s += i * x
    return s


@case(lambda n, r: (r.random(n), r.random(n)), (16, 4000, 200000), "zip")
def dot_zip(a, b):
    s = 0.0
    for x, y in zip(a, b):
        s += x * y
    return s


@case(lambda n, r: (r.random((n, n)),), (6, 60, 700), "for row in a: for v in row")
def sum_rows_nested_iteration(a):
    total = 0.0
    for row in a:
        for v in row:
            total += v
    return total


@case(lambda n, r: (r.random((n, n + 1)),), (6, 60, 400), "n, m = a.shape")
def row_sums(a):
    n, m = a.shape
    out = np.zeros(n)
    for i in range(n):
        for j in range(m):
            out[i] += a[i, j]
    return out


@case(lambda n, r: (r.random((n, n)),), (6, 60, 400), "a.size over a raveled view")
def sum_of_squares_size(a):
    flat = a.ravel()
    acc = 0
    for i in range(a.size):
        acc += flat[i] ** 2
    return acc


@case(lambda n, r: (r.random(n) * 10,), (16, 4000, 200000), "math.floor and int()")
def floor_int(x):
    out = np.zeros(len(x), dtype=np.int64)
    for i in range(len(x)):
        out[i] = int(math.floor(x[i]))
    return out


@case(lambda n, r: (r.random(n),), (16, 200, 1200), "bubble sort with a swap flag and break")
def bubble_sort(a):
    n = len(a)
    for i in range(n):
        swapped = False
        for j in range(n - 1 - i):
            if a[j] > a[j + 1]:
                a[j], a[j + 1] = a[j + 1], a[j]
                swapped = True
        if not swapped:
            break


@case(lambda n, r: (r.random(n),), (16, 200, 1200), "insertion sort: while inside for")
def insertion_sort(a):
    for i in range(1, len(a)):
        key = a[i]
        j = i - 1
        while j >= 0 and a[j] > key:
            a[j + 1] = a[j]
            j -= 1
        a[j + 1] = key


@case(lambda n, r: (r.random(n),), (16, 200, 1500), "selection sort: index of min, swap")
def selection_sort(a):
    n = a.shape[0]
    for i in range(n):
        k = i
        for j in range(i + 1, n):
            if a[j] < a[k]:
                k = j
        a[i], a[k] = a[k], a[i]


@case(lambda n, r: (r.random(n),), (16, 4000, 200000), "reverse in place by swaps")
def reverse_inplace(a):
    n = len(a)
    for i in range(n // 2):
        a[i], a[n - 1 - i] = a[n - 1 - i], a[i]


@case(lambda n, r: (n,), (20, 2000, 100000), "Python ints that outgrow 64 bits")
def fibonacci_mod(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a % 1000000007


@case(lambda n, r: (n,), (20, 2000, 1000000), "wrapping modular arithmetic")
def fibonacci_modular(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, (a + b) % 1000000007
    return a


@case(lambda n, r: (n,), (20, 300, 5000), "Collatz lengths: while inside for")
def collatz_lengths(n):
    out = np.zeros(n, dtype=np.int64)
    for i in range(1, n):
        x = i
        steps = 0
        while x != 1:
            if x % 2 == 0:
                x = x // 2
            else:
                x = 3 * x + 1
            steps += 1
        out[i] = steps
    return out


@case(lambda n, r: (r.integers(1, 10**6, n), r.integers(1, 10**6, n)), (16, 2000, 60000), "Euclid's gcd in a while")
def gcd_pairs(a, b):
    out = np.empty_like(a)
    for i in range(len(a)):
        x, y = a[i], b[i]
        while y:
            x, y = y, x % y
        out[i] = x
    return out


@case(lambda n, r: (n,), (30, 2000, 50000), "trial division: for-else")
def primes_for_else(n):
    primes = []
    for k in range(2, n):
        for d in range(2, int(k**0.5) + 1):
            if k % d == 0:
                break
        else:
            primes.append(k)
    return len(primes)


@case(lambda n, r: (n,), (30, 5000, 10000000), "sieve with slice assignment in the body")
def sieve_slices(n):
    is_prime = np.ones(n + 1, dtype=np.bool_)
    is_prime[0] = False
    is_prime[1] = False
    for i in range(2, int(n**0.5) + 1):
        if is_prime[i]:
            is_prime[i * i :: i] = False
    return int(is_prime.sum())


@case(lambda n, r: (n,), (30, 5000, 100000), "sieve with an inner strided range")
def sieve_loops(n):
    flags = np.ones(n + 1, dtype=np.int64)
    flags[0] = 0
    flags[1] = 0
    for i in range(2, n + 1):
        if flags[i]:
            for j in range(i * i, n + 1, i):
                flags[j] = 0
    count = 0
    for i in range(n + 1):
        count += flags[i]
    return count


@case(lambda n, r: (np.sort(r.random(n)),), (16, 4000, 200000), "early exit: return inside the loop (sorted input)")
def is_sorted(a):
    for i in range(len(a) - 1):
        if a[i] > a[i + 1]:
            return False
    return True


@case(lambda n, r: (np.sort(r.random(n)), 0.5), (16, 4000, 800000), "search: break on the first match")
def first_index_above(a, threshold):
    idx = -1
    for i in range(a.shape[0]):
        if a[i] > threshold:
            idx = i
            break
    return idx


@case(lambda n, r: (r.random(n),), (16, 4000, 400000), "argmax with an index and a value")
def argmax_loop(a):
    best_i = 0
    best_v = a[0]
    for i in range(1, len(a)):
        if a[i] > best_v:
            best_v = a[i]
            best_i = i
    return best_i, best_v


@case(lambda n, r: (r.random(n) * 2 - 1, 0.5), (16, 4000, 200000), "continue to skip elements")
def sum_skip_small(x, cut):
    s = 0.0
    for i in range(len(x)):
        if abs(x[i]) < cut:
            continue
        s += x[i]
    return s


@case(lambda n, r: (n, 5), (50, 2000, 400000), "random walk with random.choice-like draws")
def random_walk_1d(steps, seed):
    random.seed(seed)
    pos = 0
    maxpos = 0
    for i in range(steps):
        if random.random() < 0.5:
            pos += 1
        else:
            pos -= 1
        if pos > maxpos:
            maxpos = pos
    return pos, maxpos


@case(lambda n, r: (n, 17), (50, 2000, 60000), "np.random.normal scalars")
def gaussian_random_walk(steps, seed):
    np.random.seed(seed)
    path = np.zeros(steps)
    for i in range(1, steps):
        path[i] = path[i - 1] + np.random.normal(0.0, 1.0)
    return path


@case(lambda n, r: (r.random(n) + 0.1,), (16, 4000, 200000), "log and exp imported by name")
def geometric_mean(x):
    s = 0.0
    for i in range(len(x)):
        s += log(x[i])
    return exp(s / len(x))


@case(lambda n, r: (r.random((n, n)),), (6, 60, 400), "np.float64 constructor and np.abs on a scalar")
def abs_max_numpy(a):
    best = np.float64(0.0)
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            v = np.abs(a[i, j] - 0.5)
            if v > best:
                best = v
    return best


@case(lambda n, r: (r.random(n), 3), (16, 4000, 200000), "integer power, pow() builtin")
def power_builtin(x, k):
    out = np.empty_like(x)
    for i in range(len(x)):
        out[i] = pow(x[i], k)
    return out


@case(lambda n, r: (r.random(n),), (16, 4000, 200000), "list built with append")
def squares_list(x):
    out = []
    for i in range(len(x)):
        out.append(x[i] * x[i])
    return out


@case(lambda n, r: (r.random(n), r.random(n)), (16, 4000, 100000), "hypot with nested helper")
def pairwise_hypot(x, y):
    def h(a, b):
        return m.sqrt(a * a + b * b)

    out = np.empty(len(x))
    for i in range(len(x)):
        out[i] = h(x[i], y[i])
    return out


@case(
    lambda n, r: (np.array([88172645463325252], dtype=np.uint64), np.zeros(n, dtype=np.uint64)),
    (16, 4000, 200000),
    "xorshift64 random numbers in a uint64 array, shifts by np.uint64",
)
def xorshift64_fill(state, out):
    x = state[0]
    for i in range(out.shape[0]):
        x ^= x << np.uint64(13)
        x ^= x >> np.uint64(7)
        x ^= x << np.uint64(17)
        out[i] = x
    state[0] = x


@case(
    lambda n, r: (r.integers(0, 2**63, n, dtype=np.uint64) * np.uint64(2) + np.uint64(1), np.zeros(n, dtype=np.uint64)),
    (16, 4000, 200000),
    "hash of uint64 keys with rotations and xor (values above 2**63)",
)
def rotate_xor_hash_uint64(keys, out):
    for i in range(keys.shape[0]):
        z = keys[i]
        z ^= (z << np.uint64(23)) | (z >> np.uint64(41))
        z ^= (z << np.uint64(47)) | (z >> np.uint64(17))
        out[i] = z ^ (z >> np.uint64(29))
