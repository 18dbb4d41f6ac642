"""np.float32 scalars given to a nest (`lo = img[0, 0]` of a float32 image,
`np.float32(0.5)`): NumPy's scalar rules (float32 with float32 stays
float32; with a Python float or int, an np.float64 or an np.int64 it becomes
np.float64), their values after the loop with their types, overflow
warnings, and NaN, against CPython on every CPU device and both tiers. The
generated CUDA does not take them and says so.
"""

import warnings

import numpy as np
import pytest

from differential import check, each_cpu_tier, use_temporary_cache  # noqa: F401
from nestgen import make_function

CPU = ("cpu", "cpu-serial")


pytestmark = pytest.mark.usefixtures("each_cpu_tier")  # quick and optimised CPU code


def _fn(source, name):
    return make_function(source, name, namespace={"np": np})


def _img(n=6, seed=4):
    return np.random.default_rng(seed).random((n, n)).astype(np.float32)


NORMALIZE = _fn(
    """
def normalize(img):
    lo = img[0, 0]
    hi = img[0, 0]
    for i in range(img.shape[0]):
        for j in range(img.shape[1]):
            if img[i, j] < lo:
                lo = img[i, j]
            if img[i, j] > hi:
                hi = img[i, j]
    for i in range(img.shape[0]):
        for j in range(img.shape[1]):
            img[i, j] = (img[i, j] - lo) / (hi - lo)
    return lo, hi
""",
    "normalize",
)

MIXES = _fn(
    """
def mixes(x, s, out):
    t = s
    for i in range(x.shape[0]):
        a = s * x[i]          # float32 * float32: float32
        b = s * 2.0           # with a Python float: float64
        c = s + 3             # with a Python int: float64
        d = s + np.float64(1) # with np.float64: float64
        t = t * x[i] + s      # stays float32
        out[i, 0] = a
        out[i, 1] = b + c + d
    return t, a, b, c, d
""",
    "mixes",
)


def test_a_float32_image_normalised():
    recs = check(NORMALIZE, lambda: (_img(),), native=CPU)
    assert "the generated CUDA does not take" in recs["gpu-emulated"][0]["reason"]


@pytest.mark.parametrize("s", [np.float32(0.7), np.float32(-1.5e-3), np.float32(np.nan), np.float32(0.0)])
def test_numpy_rules_for_float32_scalars(s):
    check(MIXES, lambda: (np.linspace(-1, 1, 9, dtype=np.float32), s, np.zeros((9, 2), np.float32)), native=CPU)


def test_float32_overflow_warns_as_numpy_does():
    # s * x[i] overflows float32: NumPy prints a RuntimeWarning, so the loop
    # runs as Python (and warns) after the native run stops.
    big = np.full(4, 3e38, np.float32)
    check(MIXES, lambda: (big.copy(), np.float32(10.0), np.zeros((4, 2), np.float32)), native=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import loopscope

        loopscope.run(MIXES, big.copy(), np.float32(10.0), np.zeros((4, 2), np.float32), device="cpu")
    assert any(issubclass(w.category, RuntimeWarning) for w in caught)


def test_a_float16_scalar_whose_variable_becomes_float32_declines():
    # t = s is an np.float16, then t * x[i] + s an np.float32: one type per
    # variable (np.float16 scalars themselves run natively: test_dtypes_u64_f16)
    recs = check(MIXES, lambda: (np.ones(3, np.float32), np.float16(0.5), np.zeros((3, 2), np.float32)), native=False)
    assert "np.float16" in recs["cpu"][0]["reason"] and "np.float32" in recs["cpu"][0]["reason"]
