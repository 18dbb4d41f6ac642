"""Loops in the style of DSP course notebooks and quantitative-finance
tutorials: FIR and IIR (biquad) filters, autocorrelation, a naive DFT
with math.cos/math.sin, Goertzel, moving statistics, drawdowns, returns,
VWAP, histograms, a 1-D Kalman filter, fixed-point (int16/int32) audio
with wrapping arithmetic, float32 accumulators, strided and transposed
inputs, NaN in the data, rounding (``round``, ``math.floor``,
``math.fmod``, ``%`` and ``//`` of negative values)."""

import math

import numpy as np

from ._registry import style

case = style("signal_finance")

TWO_PI = 2.0 * math.pi
TRADING_DAYS = 252
Q15 = 1 << 15


def _signal(n, r):
    return (np.sin(np.arange(n) * 0.05) + 0.3 * r.standard_normal(n),)


@case(
    lambda n, r: (r.standard_normal(n), np.array([0.1, 0.2, 0.4, 0.2, 0.1])),
    (0, 2000, 100000),
    "FIR filter, taps read backwards",
)
def fir_filter(x, h):
    n = len(x)
    k = len(h)
    y = np.zeros(n)
    for i in range(n):
        acc = 0.0
        for j in range(k):
            if i - j >= 0:
                acc += h[j] * x[i - j]
        y[i] = acc
    return y


@case(
    lambda n, r: (r.standard_normal(2 * n)[::2], np.array([0.25, 0.5, 0.25])),
    (1, 2000, 100000),
    "FIR on a strided view, valid part only",
)
def fir_strided(x, h):
    k = h.shape[0]
    out = np.empty(x.shape[0] - k + 1 if x.shape[0] >= k else 0)
    for i in range(out.shape[0]):
        s = 0.0
        for j in range(k - 1, -1, -1):
            s += x[i + k - 1 - j] * h[j]
        out[i] = s
    return out


@case(_signal, (0, 3000, 200000), "biquad low-pass, direct form I, module constants")
def biquad_lowpass(x):
    b0, b1, b2 = 0.0675, 0.135, 0.0675
    a1, a2 = -1.143, 0.4128
    y = np.zeros_like(x)
    x1 = x2 = y1 = y2 = 0.0
    for i in range(len(x)):
        y[i] = b0 * x[i] + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
        x2, x1 = x1, x[i]
        y2, y1 = y1, y[i]
    return y


@case(
    lambda n, r: (r.standard_normal(n).astype(np.float32),),
    (3, 3000, 200000),
    "one-pole IIR in float32 with a float32 state",
)
def iir_float32(x):
    alpha = np.float32(0.05)
    y = np.empty_like(x)
    state = np.float32(0.0)
    for i in range(x.shape[0]):
        state = state + alpha * (x[i] - state)
        y[i] = state
    return y


@case(
    lambda n, r: (r.standard_normal(n).astype(np.float32), 20),
    (4, 600, 10000),
    "autocorrelation with a float32 accumulator",
)
def autocorr_float32(x, max_lag):
    n = x.shape[0]
    r = np.zeros(max_lag, dtype=np.float32)
    for lag in range(max_lag):
        acc = np.float32(0.0)
        for i in range(n - lag):
            acc += x[i] * x[i + lag]
        r[lag] = acc
    return r


@case(_signal, (0, 120, 1200), "naive DFT with math.cos and math.sin")
def dft_naive(x):
    n = len(x)
    re = np.zeros(n)
    im = np.zeros(n)
    for k in range(n):
        for t in range(n):
            angle = TWO_PI * k * t / n
            re[k] += x[t] * math.cos(angle)
            im[k] -= x[t] * math.sin(angle)
    return re, im


@case(
    lambda n, r: (np.sin(np.arange(n) * 0.3), np.array([3, 10, 21, 40]), float(n)),
    (0, 2000, 100000),
    "Goertzel power at a few bins",
)
def goertzel(x, bins, n_f):
    out = np.zeros(len(bins))
    for b in range(len(bins)):
        w = TWO_PI * bins[b] / n_f if n_f > 0 else 0.0
        coeff = 2.0 * math.cos(w)
        s1 = s2 = 0.0
        for v in x:
            s0 = v + coeff * s1 - s2
            s2 = s1
            s1 = s0
        out[b] = s1 * s1 + s2 * s2 - coeff * s1 * s2
    return out


def _prices(n, r):
    return (100.0 * np.exp(np.cumsum(0.01 * r.standard_normal(n))),)


@case(_prices, (0, 3000, 200000), "EWMA with span, first value seeds")
def ewma(prices, span=20):
    alpha = 2.0 / (span + 1)
    out = np.empty_like(prices)
    for i in range(len(prices)):
        out[i] = prices[i] if i == 0 else alpha * prices[i] + (1 - alpha) * out[i - 1]
    return out


@case(_prices, (0, 3000, 200000), "running maximum drawdown, Python float result")
def max_drawdown(prices):
    peak = -float("inf")
    mdd = 0.0
    for p in prices:
        if p > peak:
            peak = p
        dd = (peak - p) / peak
        mdd = max(mdd, dd)
    return mdd


def _with_nans(n, r):
    x = 100.0 + np.cumsum(r.standard_normal(n))
    x[r.random(n) < 0.05] = np.nan
    return (x, 20)


@case(_with_nans, (5, 3000, 100000), "rolling z-score over a window, NaN in the data")
def rolling_zscore(x, w):
    n = x.shape[0]
    z = np.full(n, np.nan)
    for i in range(w - 1, n):
        s = 0.0
        ss = 0.0
        for j in range(i - w + 1, i + 1):
            s += x[j]
            ss += x[j] * x[j]
        mean = s / w
        var = ss / w - mean * mean
        z[i] = (x[i] - mean) / math.sqrt(var) if var > 0 else 0.0
    return z


@case(_prices, (0, 3000, 200000), "simple and log returns, cumulative product")
def cumulative_returns(prices):
    n = len(prices)
    ret = np.zeros(n)
    logret = np.zeros(n)
    cum = np.ones(n)
    for t in range(1, n):
        ret[t] = prices[t] / prices[t - 1] - 1.0
        logret[t] = math.log(prices[t] / prices[t - 1])
        cum[t] = cum[t - 1] * (1.0 + ret[t])
    return ret, logret, cum


def _trades(n, r):
    return (100 + r.random(n), r.integers(1, 500, n).astype(np.int32), 50)


@case(_trades, (0, 3000, 200000), "VWAP per bucket of trades, int32 volumes")
def vwap_buckets(price, volume, bucket):
    nb = (len(price) + bucket - 1) // bucket
    out = np.zeros(nb)
    for b in range(nb):
        pv = 0.0
        vol = 0
        for i in range(b * bucket, min((b + 1) * bucket, len(price))):
            pv += price[i] * volume[i]
            vol += volume[i]
        out[b] = pv / vol
    return out


@case(
    lambda n, r: (0.02 * r.standard_normal(n), -0.06, 0.06, 24),
    (0, 3000, 200000),
    "histogram of returns, math.floor bins, clipped",
)
def return_histogram(ret, lo, hi, nbins):
    counts = np.zeros(nbins, dtype=np.int64)
    width = (hi - lo) / nbins
    for i in range(len(ret)):
        k = math.floor((ret[i] - lo) / width)
        if 0 <= k < nbins:
            counts[k] += 1
        elif k < 0:
            counts[0] += 1
        else:
            counts[nbins - 1] += 1
    return counts


@case(
    lambda n, r: (np.cumsum(r.standard_normal(n)) + r.standard_normal(n), 1e-3, 0.5),
    (0, 3000, 200000),
    "1-D Kalman filter, constant model",
)
def kalman_1d(z, q, rvar):
    n = len(z)
    xhat = np.zeros(n)
    p = 1.0
    x = 0.0
    for k in range(n):
        p = p + q
        gain = p / (p + rvar)
        x = x + gain * (z[k] - x)
        p = (1 - gain) * p
        xhat[k] = x
    return xhat, p


@case(
    lambda n, r: (r.integers(-30000, 30000, n).astype(np.int16), 3),
    (2, 4000, 200000),
    "fixed-point gain in int16, wrapping products",
)
def q15_gain(samples, gain):
    out = np.empty_like(samples)
    for i in range(samples.shape[0]):
        out[i] = samples[i] * gain
    return out


@case(
    lambda n, r: (r.integers(-30000, 30000, n).astype(np.int16), 19661),
    (2, 4000, 200000),
    "Q15 multiply with a right shift in int32",
)
def q15_multiply(samples, coef):
    out = np.zeros(len(samples), dtype=np.int32)
    for i in range(len(samples)):
        prod = np.int32(samples[i]) * coef
        out[i] = (prod + (Q15 >> 1)) >> 15
    return out


@case(lambda n, r: (r.integers(-128, 128, n).astype(np.int8),), (0, 4000, 200000), "int8 delta encoding, wraps")
def delta_encode_int8(x):
    d = np.zeros_like(x)
    prev = np.int8(0)
    for i in range(len(x)):
        d[i] = x[i] - prev
        prev = x[i]
    return d


@case(
    lambda n, r: (r.uniform(-7.5, 7.5, n), 2.5),
    (0, 4000, 200000),
    "phase wrapping with %, //, fmod and copysign on negatives",
)
def phase_wrap(theta, period):
    wrapped = np.empty_like(theta)
    turns = np.empty(len(theta), dtype=np.int64)
    other = np.empty_like(theta)
    for i in range(len(theta)):
        wrapped[i] = theta[i] % period
        turns[i] = int(theta[i] // period)
        other[i] = math.copysign(math.fmod(abs(theta[i]), period), theta[i])
    return wrapped, turns, other


@case(
    lambda n, r: (r.integers(-1000, 1000, n), 7), (0, 4000, 200000), "integer % and // with negative operands, divmod"
)
def int_modulo(x, m):
    q = np.zeros(len(x), dtype=np.int64)
    rem = np.zeros(len(x), dtype=np.int64)
    neg = 0
    for i in range(len(x)):
        a, b = divmod(x[i], m)
        q[i] = a
        rem[i] = x[i] % -m
        neg += 1 if -m < x[i] // m < 0 else 0
    return q, rem, neg


@case(_prices, (0, 3000, 200000), "price ticks rounded with round() and math.ceil")
def tick_rounding(prices):
    n = len(prices)
    cents = np.zeros(n, dtype=np.int64)
    up = np.zeros(n)
    r2 = np.zeros(n)
    for i in range(n):
        cents[i] = round(prices[i] * 100)
        up[i] = math.ceil(prices[i] * 4) / 4
        r2[i] = round(prices[i], 2)
    return cents, up, r2


@case(
    lambda n, r: (r.standard_normal((n, 3)).T.copy(order="F").T, np.array([0.5, 0.3, 0.2])),
    (0, 2000, 100000),
    "portfolio returns from an F-ordered matrix",
)
def portfolio_returns(rets, w):
    t_len, k = rets.shape
    out = np.zeros(t_len)
    for t in range(t_len):
        s = 0.0
        for j in range(k):
            s += w[j] * rets[t, j]
        out[t] = s
    return out


@case(
    lambda n, r: (np.asfortranarray(r.standard_normal((n, 4))),),
    (0, 500, 20000),
    "column means and stds of an F-ordered matrix",
)
def column_stats(a):
    rows, cols = a.shape
    mean = np.zeros(cols)
    std = np.zeros(cols)
    for j in range(cols):
        s = 0.0
        for i in range(rows):
            s += a[i, j]
        m = s / rows if rows else math.nan
        v = 0.0
        for i in range(rows):
            v += (a[i, j] - m) ** 2
        mean[j] = m
        std[j] = math.sqrt(v / rows) if rows else math.nan
    return mean, std


@case(lambda n, r: (r.standard_normal(n) > 0.3,), (0, 4000, 200000), "longest run of True in a bool array, not and or")
def longest_true_run(flags):
    best = cur = 0
    for i in range(len(flags)):
        if not flags[i]:
            cur = 0
            continue
        cur += 1
        best = best if best >= cur else cur
    return best or None


@case(_signal, (0, 3000, 200000), "zero crossings and a sign flag, chained comparisons")
def zero_crossings(x):
    count = 0
    last = 0
    for i in range(1, len(x)):
        if x[i - 1] < 0.0 <= x[i] or x[i - 1] >= 0.0 > x[i]:
            count += 1
            last = i
    return count, last


@case(_with_nans, (5, 3000, 100000), "min, max and mean skipping NaN, result keeps NaN when all are NaN")
def nan_stats(x, w):
    lo = math.inf
    hi = -math.inf
    s = 0.0
    c = 0
    for v in x:
        if v != v:
            continue
        lo = min(lo, v, hi) if c > 10**9 else min(lo, v)
        hi = max(hi, v)
        s += v
        c += 1
    return lo, hi, (s / c if c else math.nan), w


@case(_signal, (0, 2000, 60000), "running median of 5 (spike removal) with np.median on a slice")
def running_median_5(x):
    n = x.shape[0]
    y = x.copy()
    for i in range(2, n - 2):
        y[i] = np.median(x[i - 2 : i + 3])
    return y
