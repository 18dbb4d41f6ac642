"""Loops in the style of algorithm textbooks and programming-contest
tutorials: dynamic-programming tables over integer arrays (edit distance,
LCS, knapsack, coin change, longest increasing subsequence, Viterbi,
Smith-Waterman, matrix-chain order), filled forwards and backwards
(``range(n - 1, -1, -1)``), with ``min``/``max`` of three or four values,
infinities as initial values, conditional expressions, chained
comparisons, ``divmod`` and helper functions with defaults."""

import math

import numpy as np

from ._registry import style

case = style("dynamic_programming")

INF = float("inf")
GAP = -2
MATCH = 3
MISMATCH = -1
BIG = 10**9


def _two_seqs(n, r):
    return (r.integers(0, 4, n), r.integers(0, 4, n + n // 3))


@case(_two_seqs, (0, 40, 300), "Levenshtein distance, min of three, int table")
def levenshtein_table(a, b):
    n, m = len(a), len(b)
    d = np.zeros((n + 1, m + 1), dtype=np.int64)
    for i in range(n + 1):
        d[i, 0] = i
    for j in range(m + 1):
        d[0, j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d[i, j] = min(d[i - 1, j] + 1, d[i, j - 1] + 1, d[i - 1, j - 1] + cost)
    return d[n, m]


@case(_two_seqs, (3, 40, 300), "edit distance with two rolling rows returned as a Python int")
def edit_distance_rows(a, b):
    n, m = len(a), len(b)
    prev = list(range(m + 1))
    cur = [0] * (m + 1)
    for i in range(1, n + 1):
        cur[0] = i
        for j in range(1, m + 1):
            sub = prev[j - 1] + (a[i - 1] != b[j - 1])
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, sub)
        prev, cur = cur, prev
    return int(prev[m])


@case(_two_seqs, (0, 40, 300), "longest common subsequence, max of two, int32 table")
def lcs_int32_table(x, y):
    n = x.shape[0]
    m = y.shape[0]
    L = np.zeros((n + 1, m + 1), dtype=np.int32)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            if x[i - 1] == y[j - 1]:
                L[i, j] = L[i - 1, j - 1] + 1
            else:
                L[i, j] = max(L[i - 1, j], L[i, j - 1])
    return L[n, m]


@case(_two_seqs, (4, 40, 300), "LCS filled backwards, range(n - 1, -1, -1)")
def lcs_backwards(x, y):
    n, m = len(x), len(y)
    T = np.zeros((n + 1, m + 1), dtype=np.int64)
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            T[i, j] = T[i + 1, j + 1] + 1 if x[i] == y[j] else max(T[i + 1, j], T[i, j + 1])
    return T


def _knap(n, r):
    return (r.integers(1, 30, n), r.integers(1, 100, n), 4 * n)


@case(_knap, (0, 30, 250), "0/1 knapsack, one row updated backwards")
def knapsack_01(weights, values, capacity):
    best = np.zeros(capacity + 1, dtype=np.int64)
    for k in range(len(weights)):
        w = weights[k]
        v = values[k]
        for c in range(capacity, w - 1, -1):
            if best[c - w] + v > best[c]:
                best[c] = best[c - w] + v
    return best[capacity]


@case(_knap, (4, 30, 200), "0/1 knapsack with a full 2-D table and a conditional expression")
def knapsack_table(weights, values, capacity):
    n = len(weights)
    K = np.zeros((n + 1, capacity + 1), dtype=np.int64)
    for i in range(1, n + 1):
        for c in range(capacity + 1):
            skip = K[i - 1, c]
            K[i, c] = max(skip, K[i - 1, c - weights[i - 1]] + values[i - 1]) if weights[i - 1] <= c else skip
    return K


def _coins(n, r):
    return (np.array([1, 5, 10, 25, 50]), 20 * n)


@case(_coins, (0, 100, 5000), "fewest coins with float('inf') as the start, result a float or an int")
def coin_change_min(coins, amount):
    dp = np.full(amount + 1, INF)
    dp[0] = 0.0
    for a in range(1, amount + 1):
        for c in coins:
            if c <= a and dp[a - c] + 1 < dp[a]:
                dp[a] = dp[a - c] + 1
    return -1 if dp[amount] == INF else int(dp[amount])


@case(lambda n, r: (np.array([2, 3, 7]), 10 * n), (0, 100, 4000), "number of ways, int64 counts")
def coin_change_ways(coins, amount):
    ways = np.zeros(amount + 1, dtype=np.int64)
    ways[0] = 1
    for k in range(coins.shape[0]):
        c = coins[k]
        for a in range(c, amount + 1):
            ways[a] += ways[a - c]
    return ways[amount]


@case(lambda n, r: (r.integers(-50, 50, n),), (0, 120, 1200), "longest increasing subsequence, O(n^2)")
def lis_quadratic(seq):
    n = len(seq)
    lis = np.ones(n, dtype=np.int64)
    for i in range(1, n):
        for j in range(i):
            if seq[j] < seq[i] and lis[j] + 1 > lis[i]:
                lis[i] = lis[j] + 1
    best = 0
    for i in range(n):
        best = max(best, lis[i])
    return best


@case(lambda n, r: (r.integers(-50, 50, n).astype(np.int16),), (1, 120, 1200), "LIS on int16 with a predecessor array")
def lis_with_parent(seq):
    n = len(seq)
    length = np.ones(n, dtype=np.int16)
    parent = np.full(n, -1, dtype=np.int32)
    for i in range(n):
        for j in range(i):
            if seq[j] < seq[i] and length[j] + 1 > length[i]:
                length[i] = length[j] + 1
                parent[i] = j
    return length, parent


@case(lambda n, r: (r.normal(0, 3, n),), (0, 1000, 100000), "Kadane's maximum subarray with -np.inf start")
def kadane(x):
    best = -np.inf
    cur = 0.0
    for i in range(len(x)):
        cur = max(x[i], cur + x[i])
        best = max(best, cur)
    return best


@case(lambda n, r: (r.integers(-20, 20, n),), (0, 1000, 100000), "maximum subarray on ints, start and end kept")
def max_subarray_bounds(x):
    best, best_lo, best_hi = -BIG, 0, -1
    cur, lo = 0, 0
    for i in range(len(x)):
        if cur <= 0:
            cur, lo = x[i], i
        else:
            cur += x[i]
        if cur > best:
            best, best_lo, best_hi = cur, lo, i
    return best, best_lo, best_hi


def _viterbi(n, r):
    k = 4
    a = r.random((k, k)) + 0.1
    a /= a.sum(axis=1, keepdims=True)
    b = r.random((k, 3)) + 0.1
    b /= b.sum(axis=1, keepdims=True)
    pi = np.full(k, 1.0 / k)
    return (np.log(pi), np.log(a), np.log(b), r.integers(0, 3, n))


@case(_viterbi, (1, 200, 20000), "Viterbi in log space, argmax by hand, backtrack downwards")
def viterbi_log(log_pi, log_a, log_b, obs):
    k = log_pi.shape[0]
    t_len = obs.shape[0]
    delta = np.empty((t_len, k))
    psi = np.zeros((t_len, k), dtype=np.int64)
    for s in range(k):
        delta[0, s] = log_pi[s] + log_b[s, obs[0]]
    for t in range(1, t_len):
        for s in range(k):
            best, arg = -math.inf, 0
            for p in range(k):
                v = delta[t - 1, p] + log_a[p, s]
                if v > best:
                    best, arg = v, p
            delta[t, s] = best + log_b[s, obs[t]]
            psi[t, s] = arg
    path = np.zeros(t_len, dtype=np.int64)
    last = 0
    for s in range(1, k):
        if delta[t_len - 1, s] > delta[t_len - 1, last]:
            last = s
    path[t_len - 1] = last
    for t in range(t_len - 2, -1, -1):
        path[t] = psi[t + 1, path[t + 1]]
    return path


def score(x, y, match=MATCH, mismatch=MISMATCH):
    if x == y:
        return match
    return mismatch


@case(_two_seqs, (0, 40, 250), "Smith-Waterman, max of four, helper with defaults")
def local_alignment_max4(a, b):
    n, m = len(a), len(b)
    H = np.zeros((n + 1, m + 1), dtype=np.int64)
    best = 0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            H[i, j] = max(0, H[i - 1, j - 1] + score(a[i - 1], b[j - 1]), H[i - 1, j] + GAP, H[i, j - 1] + GAP)
            if H[i, j] > best:
                best = H[i, j]
    return best


@case(_two_seqs, (2, 40, 250), "Needleman-Wunsch with int16 scores that stay small")
def global_alignment_int16(a, b):
    n, m = len(a), len(b)
    F = np.zeros((n + 1, m + 1), dtype=np.int16)
    for i in range(n + 1):
        F[i, 0] = GAP * i
    for j in range(m + 1):
        F[0, j] = GAP * j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            s = MATCH if a[i - 1] == b[j - 1] else MISMATCH
            F[i, j] = max(F[i - 1, j - 1] + s, F[i - 1, j] + GAP, F[i, j - 1] + GAP)
    return F


@case(
    lambda n, r: (r.integers(5, 60, n + 1),),
    (1, 25, 110),
    "matrix-chain order, diagonal by diagonal, int64 with inf sentinel",
)
def matrix_chain(p):
    n = len(p) - 1
    m = np.zeros((n, n), dtype=np.int64)
    s = np.zeros((n, n), dtype=np.int64)
    for length in range(2, n + 1):
        for i in range(n - length + 1):
            j = i + length - 1
            m[i, j] = BIG * BIG
            for k in range(i, j):
                q = m[i, k] + m[k + 1, j] + p[i] * p[k + 1] * p[j + 1]
                if q < m[i, j]:
                    m[i, j] = q
                    s[i, j] = k
    return m, s


@case(lambda n, r: (r.integers(0, 100, (n, n)),), (0, 40, 400), "minimum path sum down and right, min in place")
def min_path_sum(grid):
    rows, cols = grid.shape
    cost = np.zeros((rows, cols), dtype=np.int64)
    for i in range(rows):
        for j in range(cols):
            if i == 0 and j == 0:
                cost[i, j] = grid[i, j]
            elif i == 0:
                cost[i, j] = cost[i, j - 1] + grid[i, j]
            elif j == 0:
                cost[i, j] = cost[i - 1, j] + grid[i, j]
            else:
                cost[i, j] = grid[i, j] + min(cost[i - 1, j], cost[i, j - 1])
    return cost


@case(lambda n, r: (r.random((n, n)).T,), (3, 40, 400), "triangle minimum path from the bottom row, a transposed input")
def triangle_bottom_up(t):
    n = t.shape[0]
    best = np.zeros(n + 1)
    for i in range(n - 1, -1, -1):
        for j in range(i + 1):
            best[j] = t[i, j] + min(best[j], best[j + 1])
    return best[0]


@case(lambda n, r: (r.integers(1, 9, n),), (0, 300, 30000), "house robber with two Python ints, returned")
def house_robber(vals):
    take, skip = 0, 0
    for v in vals:
        take, skip = skip + v, max(take, skip)
    return max(take, skip)


@case(lambda n, r: (3 * n + 1,), (0, 500, 40000), "Collatz steps for every start, divmod and a while")
def collatz_divmod(limit):
    steps = np.zeros(limit, dtype=np.int32)
    for start in range(1, limit):
        x = start
        c = 0
        while x != 1:
            q, rem = divmod(x, 2)
            x = q if rem == 0 else 3 * x + 1
            c += 1
        steps[start] = c
    return steps


@case(lambda n, r: (n,), (0, 60, 600), "integer partitions p(n), bottom-up with int64")
def partitions_count(n):
    p = np.zeros(n + 1, dtype=np.int64)
    p[0] = 1
    for part in range(1, n + 1):
        for total in range(part, n + 1):
            p[total] += p[total - part]
    return p[n]


@case(lambda n, r: (n,), (1, 40, 60), "Pascal triangle rows in uint16, wrapping past 65535")
def pascal_uint16(n):
    row = np.zeros(n + 1, dtype=np.uint16)
    row[0] = 1
    for k in range(1, n + 1):
        for j in range(k, 0, -1):
            row[j] = row[j] + row[j - 1]
    return row


@case(lambda n, r: (r.integers(0, 50, n),), (0, 200, 2000), "rod cutting with a helper returning early")
def rod_cutting(price):
    n = len(price)
    best = np.zeros(n + 1, dtype=np.int64)
    for length in range(1, n + 1):
        q = -1
        for cut in range(1, length + 1):
            q = max(q, price[cut - 1] + best[length - cut])
        best[length] = q
    return best[n] if n > 0 else 0


@case(lambda n, r: (r.integers(1, 100, n), 7), (0, 2000, 200000), "stock profit with a fee, buy/sell states as floats")
def stock_with_fee(prices, fee):
    cash, hold = 0, -prices[0] if len(prices) else 0
    for i in range(1, len(prices)):
        cash = max(cash, hold + prices[i] - fee)
        hold = max(hold, cash - prices[i])
    return cash
