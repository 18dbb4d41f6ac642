"""The fine print of Python and NumPy arithmetic that native code can get
wrong: NumPy scalar promotion (float32 with Python floats, small integer
types, unsigned wrap-around, booleans), the type and identity of the values
a nest leaves in scalars, signed zeros, FMA contraction, correctly rounded
int/int division, exact int/float comparison, CPython's own math.gamma and
lgamma, math functions returning int, values that do not fit the array's
dtype, read-only and byte-swapped arrays, dtypes native code may not know
(float16, longdouble, object, datetime), and the dependences a parallel
loop must respect (output dependences, reverse copies, conditional
scalars that carry from one iteration to the next)."""

CASES = [
    # --- NumPy scalar promotion -----------------------------------------------------------
    (
        "float32_array_times_python_float",
        [
            """
import numpy as np
x = np.linspace(0, 1, 9).astype(np.float32)
y = np.zeros(9, dtype=np.float32)
z = np.zeros(9)
for i in range(9):
    y[i] = x[i] * 0.1 + 0.2
    z[i] = x[i] * 0.1 + 0.2
y, z
"""
        ],
    ),
    (
        "float32_scalar_chain_stays_float32",
        [
            """
import numpy as np
x = np.arange(1, 6, dtype=np.float32) / 3
acc = np.float32(0)
last = None
for i in range(5):
    last = x[i] * x[i]
    acc = acc + last
acc, type(acc).__name__, last, type(last).__name__
"""
        ],
    ),
    (
        "float32_with_float64_array_mixed",
        [
            """
import numpy as np
a = (np.arange(6, dtype=np.float32) + 0.1).astype(np.float32)
b = np.arange(6, dtype=np.float64) / 7
out32 = np.zeros(6, dtype=np.float32)
for i in range(6):
    out32[i] = a[i] * b[i] + a[i] / 3
out32
"""
        ],
    ),
    (
        "int32_times_int32_into_int64",
        [
            """
import numpy as np
a = np.array([2 ** 20, 3, 2 ** 16, -(2 ** 17)], dtype=np.int32)
b = np.array([2 ** 12, 5, 2 ** 16, 2 ** 15], dtype=np.int32)
c = np.zeros(4, dtype=np.int64)
for i in range(4):
    c[i] = a[i] * b[i]
c
"""
        ],
    ),
    (
        "int32_times_python_int_promotes",
        [
            """
import numpy as np
a = np.array([2 ** 30, 7], dtype=np.int32)
c = np.zeros(2, dtype=np.int64)
for i in range(2):
    c[i] = a[i] * 4
c
"""
        ],
    ),
    (
        "uint8_minus_python_int_into_int64",
        [
            """
import numpy as np
u = np.array([0, 1, 200], dtype=np.uint8)
out = np.zeros(3, dtype=np.int64)
for i in range(3):
    out[i] = u[i] - 1
out
"""
        ],
    ),
    (
        "uint8_minus_uint8_wraps",
        [
            """
import numpy as np
u = np.array([0, 1, 200], dtype=np.uint8)
one = np.uint8(1)
out = np.zeros(3, dtype=np.int64)
for i in range(3):
    out[i] = u[i] - one
out
"""
        ],
    ),
    (
        "uint64_plus_int64_is_float",
        [
            """
import numpy as np
u = np.array([2 ** 64 - 1, 2 ** 63 + 11], dtype=np.uint64)
k = np.array([1, 1], dtype=np.int64)
f = np.zeros(2)
for i in range(2):
    f[i] = u[i] + k[i]
f
"""
        ],
    ),
    (
        "uint64_large_values_copy",
        [
            """
import numpy as np
u = np.array([2 ** 64 - 1, 2 ** 63, 5], dtype=np.uint64)
v = np.zeros(3, dtype=np.uint64)
for i in range(3):
    v[i] = u[i]
v, v == u
"""
        ],
    ),
    (
        "uint32_division_and_modulo",
        [
            """
import numpy as np
u = np.array([4000000000, 7, 3000000000], dtype=np.uint32)
q = np.zeros(3, dtype=np.uint32)
r = np.zeros(3, dtype=np.uint32)
for i in range(3):
    q[i] = u[i] // 3
    r[i] = u[i] % 7
q, r
"""
        ],
    ),
    (
        "int8_array_arithmetic_in_int8",
        [
            """
import numpy as np
a = np.array([100, -100, 127, -128], dtype=np.int8)
b = np.zeros(4, dtype=np.int8)
w = np.zeros(4, dtype=np.int64)
for i in range(4):
    b[i] = a[i] // 3
    w[i] = a[i] * a[i]
b, w
"""
        ],
    ),
    (
        "bool_plus_bool_is_logical_or",
        [
            """
import numpy as np
f = np.array([True, True, False])
g = np.array([True, False, False])
s = np.zeros(3, dtype=np.int64)
for i in range(3):
    s[i] = f[i] + g[i]
s
"""
        ],
    ),
    (
        "bool_times_float",
        [
            """
import numpy as np
mask = np.array([True, False, True, True])
x = np.arange(4.0)
y = np.zeros(4)
for i in range(4):
    y[i] = mask[i] * x[i] + (1 - mask[i]) * -1.0
y
"""
        ],
    ),
    (
        "comparison_result_scalar_type",
        [
            """
import numpy as np
x = np.array([1.0, -2.0])
c = None
d = None
for i in range(2):
    c = x[i] > 0
    d = float(i) > 0
(c, type(c).__name__), (d, type(d).__name__)
"""
        ],
    ),
    (
        "boolop_or_returns_operand",
        [
            """
import numpy as np
x = np.array([0.0, 0.0, 3.0])
found = False
for i in range(3):
    found = found or x[i] > 1
found, type(found).__name__
"""
        ],
    ),
    (
        "boolop_and_returns_operand_value",
        [
            """
import numpy as np
x = np.array([2.0, 5.0, 0.0])
v = 1
for i in range(3):
    v = x[i] and i
v, type(v).__name__
"""
        ],
    ),
    (
        "bool_accumulator_plus_np_bool",
        [
            """
import numpy as np
x = np.array([-1.0, 2.0, -3.0])
count = False
for i in range(3):
    count = count + (x[i] < 0)
count, type(count).__name__
"""
        ],
    ),
    (
        "ifexp_with_different_types",
        [
            """
import numpy as np
x = np.array([1.0, -1.0, 2.0, -2.0])
v = None
for i in range(4):
    v = 1 if x[i] > 0 else 0.5
v, type(v).__name__
"""
        ],
    ),
    (
        "min_max_ties_keep_first_argument",
        [
            """
import numpy as np
x = np.array([0.0, 0.0, 0.0])
lo = 0
hi = 0
for i in range(3):
    lo = min(lo, x[i])
    hi = max(hi, x[i])
(lo, type(lo).__name__), (hi, type(hi).__name__)
"""
        ],
    ),
    (
        "min_max_mixed_int_float_types",
        [
            """
import numpy as np
xs = np.array([3, 1, 4], dtype=np.int64)
m = 2.5
M = 2.5
for i in range(3):
    m = min(m, xs[i])
    M = max(M, xs[i])
(m, type(m).__name__), (M, type(M).__name__)
"""
        ],
    ),
    (
        "round_types_python_and_numpy",
        [
            """
import numpy as np
x = np.array([0.5, 1.5, -0.5, 2.5])
r = np.zeros(4)
last_np = None
last_py = None
for i in range(4):
    r[i] = round(x[i])
    last_np = round(x[i])
    last_py = round(float(x[i]))
r, (last_np, type(last_np).__name__), (last_py, type(last_py).__name__)
"""
        ],
    ),
    (
        "round_two_arguments",
        [
            """
import numpy as np
x = np.array([2.675, 1.005, -0.125])
y = np.zeros(3)
for i in range(3):
    y[i] = round(x[i], 2)
y
"""
        ],
    ),
    (
        "abs_of_int64_min",
        [
            """
import numpy as np
a = np.array([-2 ** 63, -5], dtype=np.int64)
b = np.zeros(2, dtype=np.int64)
for i in range(2):
    b[i] = abs(a[i])
b
"""
        ],
    ),
    (
        "numpy_int_negative_power_error",
        [
            """
import numpy as np
a = np.arange(1, 4, dtype=np.int64)
b = np.zeros(3)
for i in range(3):
    b[i] = a[i] ** -1
"""
        ],
    ),
    (
        "numpy_int_power_wraps",
        [
            """
import numpy as np
a = np.array([3, 7], dtype=np.int64)
b = np.zeros(2, dtype=np.int64)
for i in range(2):
    b[i] = a[i] ** 41
b
"""
        ],
    ),
    (
        "numpy_float_zero_negative_power_inf",
        [
            """
import numpy as np
a = np.array([0.0, 2.0])
b = np.zeros(2)
for i in range(2):
    b[i] = a[i] ** -1
b
"""
        ],
    ),
    (
        "np_float32_constructor_in_loop",
        [
            """
import numpy as np
x = np.arange(5) / 3
y = np.zeros(5)
for i in range(5):
    y[i] = np.float32(x[i]) * 3
y
"""
        ],
    ),
    (
        "np_int64_of_float_in_loop",
        [
            """
import numpy as np
x = np.array([1.9, -1.9, 2.5])
y = np.zeros(3, dtype=np.int64)
for i in range(3):
    y[i] = np.int64(x[i])
y
"""
        ],
    ),
    # --- Python numbers ------------------------------------------------------------------------
    (
        "python_int_true_division_correctly_rounded",
        [
            """
big = 2 ** 53 + 1
q = 0.0
for i in range(3):
    q = (big + 3 * i) / 3
q, (2 ** 53 + 1) / 3
"""
        ],
    ),
    (
        "python_int_float_exact_comparison",
        [
            """
k = 2 ** 53 + 1
f = 2.0 ** 53
eq = 0
lt = 0
for i in range(2):
    if k + i == f:
        eq += 1
    if f < k + i:
        lt += 1
eq, lt
"""
        ],
    ),
    (
        "python_int_floor_division_negative",
        [
            """
q = 0
r = 0
for i in range(-7, 8, 3):
    q = q + i // -4
    r = r + i % -4
q, r
"""
        ],
    ),
    (
        "python_float_modulo_signs",
        [
            """
import numpy as np
vals = np.array([5.0, -5.0, 5.5, -5.5, 0.0])
out = np.zeros((5, 2))
for i in range(5):
    out[i, 0] = float(vals[i]) % -5.0
    out[i, 1] = float(vals[i]) % 5.0
out, np.signbit(out)
"""
        ],
    ),
    (
        "signed_zero_negation",
        [
            """
import numpy as np
A = np.zeros(3)
B = np.zeros(3)
for i in range(3):
    A[i] = -A[i]
    B[i] = 0.0 - B[i]
np.signbit(A), np.signbit(B)
"""
        ],
    ),
    (
        "signed_zero_min_max",
        [
            """
import numpy as np
z = np.array([0.0, -0.0, 0.0, -0.0])
hi = -0.0
lo = 0.0
for i in range(4):
    hi = max(hi, z[i])
    lo = min(lo, z[i])
np.signbit(hi), np.signbit(lo)
"""
        ],
    ),
    (
        "signed_zero_abs_and_sqrt",
        [
            """
import math
import numpy as np
z = np.array([-0.0, -0.0])
a = np.zeros(2)
for i in range(2):
    a[0] = abs(z[i])
    a[1] = math.sqrt(z[i])
np.signbit(a)
"""
        ],
    ),
    (
        "no_fma_contraction",
        [
            """
import numpy as np
x = np.array([1 + 2.0 ** -30] * 3)
y = np.array([1 - 2.0 ** -30] * 3)
z = np.ones(3)
r = np.zeros(3)
for i in range(3):
    r[i] = x[i] * y[i] - z[i]
r
"""
        ],
    ),
    (
        "division_not_reciprocal_multiply",
        [
            """
import numpy as np
x = np.arange(1, 200, dtype=np.float64) * 0.7
y = np.zeros(199)
for i in range(199):
    y[i] = x[i] / 10.0
bool(np.array_equal(y, x / 10.0)), y[:3]
"""
        ],
    ),
    (
        "large_int_scalar_product_beyond_int64",
        [
            """
p = 1
for i in range(1, 30):
    p = p * (i + 10)
p
"""
        ],
    ),
    (
        "python_int_power_large",
        [
            """
v = 0
for i in range(3):
    v = 7 ** (25 + i)
v
"""
        ],
    ),
    (
        "int_of_huge_float_is_big_int",
        [
            """
import numpy as np
x = np.array([1e30, 1e300])
k = 0
for i in range(2):
    k = int(x[i])
k, type(k).__name__
"""
        ],
    ),
    (
        "float_of_huge_int_overflow",
        [
            """
big = 2 ** 1100
x = 0.0
for i in range(2):
    x = float(big + i)
"""
        ],
    ),
    (
        "math_floor_ceil_return_int",
        [
            """
import math
import numpy as np
x = np.array([1.5, -1.5, 2.0])
f = 0
c = 0
t = 0
for i in range(3):
    f = math.floor(x[i])
    c = math.ceil(x[i])
    t = math.trunc(x[i])
(f, type(f).__name__), (c, type(c).__name__), (t, type(t).__name__)
"""
        ],
    ),
    (
        "math_floor_of_huge_float",
        [
            """
import math
x = 1e300
k = 0
for i in range(1):
    k = math.floor(x)
k == int(x), type(k).__name__
"""
        ],
    ),
    (
        "math_floor_of_inf_error",
        [
            """
import math
import numpy as np
x = np.array([1.0, np.inf])
y = np.zeros(2)
for i in range(2):
    y[i] = math.floor(x[i])
""",
            """
y
""",
        ],
    ),
    (
        "math_floor_of_nan_error",
        [
            """
import math
import numpy as np
x = np.array([np.nan])
y = np.zeros(1)
for i in range(1):
    y[i] = math.ceil(x[i])
"""
        ],
    ),
    (
        "math_gamma_cpython_own",
        [
            """
import math
import numpy as np
x = np.linspace(0.1, 20.0, 37)
g = np.zeros(37)
lg = np.zeros(37)
for i in range(37):
    g[i] = math.gamma(x[i])
    lg[i] = math.lgamma(x[i])
g, lg
"""
        ],
    ),
    (
        "math_gamma_pole_error",
        [
            """
import math
import numpy as np
x = np.array([1.5, 0.0])
g = np.zeros(2)
for i in range(2):
    g[i] = math.gamma(x[i])
""",
            """
g
""",
        ],
    ),
    (
        "math_gamma_overflow_error",
        [
            """
import math
v = 0.0
for i in range(170, 175):
    v = math.gamma(i + 0.5)
"""
        ],
    ),
    (
        "math_erf_erfc_values",
        [
            """
import math
import numpy as np
x = np.linspace(-3, 3, 25)
a = np.zeros(25)
b = np.zeros(25)
for i in range(25):
    a[i] = math.erf(x[i])
    b[i] = math.erfc(x[i])
a, b
"""
        ],
    ),
    (
        "math_transcendentals_large_arguments",
        [
            """
import math
import numpy as np
x = np.array([1e5, 1e10, 1e22, 3.0e15, 0.1])
s = np.zeros(5)
c = np.zeros(5)
t = np.zeros(5)
for i in range(5):
    s[i] = math.sin(x[i])
    c[i] = math.cos(x[i])
    t[i] = math.atan2(x[i], 3.0)
s, c, t
"""
        ],
    ),
    (
        "math_exp_log_family_values",
        [
            """
import math
import numpy as np
x = np.linspace(0.01, 5.0, 30)
out = np.zeros((30, 6))
for i in range(30):
    out[i, 0] = math.exp(x[i])
    out[i, 1] = math.log(x[i])
    out[i, 2] = math.log2(x[i])
    out[i, 3] = math.log10(x[i])
    out[i, 4] = math.log1p(x[i])
    out[i, 5] = math.expm1(x[i])
out.sum(axis=0), out[7]
"""
        ],
    ),
    (
        "numpy_ufunc_values_in_loop",
        [
            """
import numpy as np
x = np.linspace(-0.99, 0.99, 21)
out = np.zeros((21, 6))
for i in range(21):
    out[i, 0] = np.arcsin(x[i])
    out[i, 1] = np.arccos(x[i])
    out[i, 2] = np.arctan(x[i])
    out[i, 3] = np.sinh(x[i])
    out[i, 4] = np.cosh(x[i])
    out[i, 5] = np.expm1(x[i])
out[3], out.sum(axis=0)
"""
        ],
    ),
    (
        "math_pow_errors",
        [
            """
import math
v = 0.0
for i in range(2):
    v = math.pow(-8.0 + i * 0, 1.0 / 3.0)
"""
        ],
    ),
    (
        "math_domain_errors_each",
        [
            """
import math
errs = []
for f, arg in [(math.log1p, -1.0), (math.acosh, 0.5), (math.atanh, 1.0), (math.expm1, 1000.0), (math.cosh, 1000.0)]:
    try:
        f(arg)
    except (ValueError, OverflowError) as e:
        errs.append((f.__name__, type(e).__name__, str(e)))
errs
"""
        ],
    ),
    (
        "math_hypot_copysign_fmod",
        [
            """
import math
import numpy as np
a = np.array([3.0, -1e300, 5.5, -0.0])
b = np.array([4.0, 1e300, -2.0, 1.0])
out = np.zeros((4, 3))
for i in range(4):
    out[i, 0] = math.hypot(a[i], b[i])
    out[i, 1] = math.copysign(b[i], a[i])
    out[i, 2] = math.fmod(a[i], b[i])
out, np.signbit(out)
"""
        ],
    ),
    (
        "np_sign_of_zero_and_nan",
        [
            """
import numpy as np
x = np.array([-0.0, 0.0, np.nan, -3.0])
s = np.zeros(4)
for i in range(4):
    s[i] = np.sign(x[i])
s, np.signbit(s)
"""
        ],
    ),
    (
        "python_float_divided_by_numpy_zero",
        [
            """
import numpy as np
x = np.float64(0.0)
A = np.zeros(3)
for i in range(3):
    A[i] = 1.0 / (x * i)
A
"""
        ],
    ),
    (
        "python_float_scalar_divided_by_zero_error",
        [
            """
import numpy as np
x = 0.0
A = np.zeros(3)
for i in range(3):
    A[i] = 1.0 / (x * i)
"""
        ],
    ),
    (
        "array_element_divided_by_python_zero",
        [
            """
import numpy as np
A = np.array([1.0, -1.0, 0.0])
for i in range(3):
    A[i] = A[i] / 0
A
"""
        ],
    ),
    (
        "array_int_modulo_zero",
        [
            """
import numpy as np
A = np.array([5, -5, 0], dtype=np.int64)
B = np.zeros(3, dtype=np.int64)
C = np.zeros(3)
for i in range(3):
    B[i] = A[i] % 0
    C[i] = A[i] / 0
B, C
"""
        ],
    ),
    # --- values that do not fit -----------------------------------------------------------
    (
        "store_nan_into_int_array",
        [
            """
import numpy as np
x = np.array([1.0, np.nan, 3.0])
A = np.zeros(3, dtype=np.int64)
for i in range(3):
    A[i] = x[i]
""",
            """
A
""",
        ],
    ),
    (
        "store_inf_into_int_array",
        [
            """
import numpy as np
A = np.zeros(2, dtype=np.int32)
for i in range(2):
    A[i] = float('inf') if i == 1 else 1.0
""",
            """
A
""",
        ],
    ),
    (
        "store_huge_float_into_int_array",
        [
            """
import numpy as np
A = np.zeros(2, dtype=np.int64)
for i in range(2):
    A[i] = 1e20 * i
""",
            """
A
""",
        ],
    ),
    (
        "store_float_into_bool_array",
        [
            """
import numpy as np
x = np.array([0.0, -0.0, 0.5, np.nan])
B = np.zeros(4, dtype=bool)
for i in range(4):
    B[i] = x[i]
B
"""
        ],
    ),
    (
        "store_int_into_float32_rounds",
        [
            """
import numpy as np
A = np.zeros(3, dtype=np.float32)
for i in range(3):
    A[i] = 2 ** 24 + 1 + i
A
"""
        ],
    ),
    (
        "store_negative_into_uint64",
        [
            """
import numpy as np
A = np.zeros(2, dtype=np.uint64)
for i in range(2):
    A[i] = i - 1
""",
            """
A
""",
        ],
    ),
    # --- arrays native code must respect or decline ----------------------------------------
    (
        "read_only_array_write_error",
        [
            """
import numpy as np
A = np.zeros(4)
A.flags.writeable = False
for i in range(4):
    A[i] = 1.0
""",
            """
A
""",
        ],
    ),
    (
        "read_only_array_read_ok",
        [
            """
import numpy as np
src = np.arange(5.0)
src.flags.writeable = False
dst = np.zeros(5)
for i in range(5):
    dst[i] = src[i] * 2
dst
"""
        ],
    ),
    (
        "broadcast_to_read_zero_stride",
        [
            """
import numpy as np
row = np.arange(4.0)
M = np.broadcast_to(row, (3, 4))
out = np.zeros((3, 4))
for i in range(3):
    for j in range(4):
        out[i, j] = M[i, j] + i
out
"""
        ],
    ),
    (
        "broadcast_to_write_error",
        [
            """
import numpy as np
M = np.broadcast_to(np.arange(3.0), (2, 3))
for i in range(2):
    for j in range(3):
        M[i, j] = 0.0
"""
        ],
    ),
    (
        "byte_swapped_array",
        [
            """
import numpy as np
A = np.arange(6, dtype='>f8')
B = np.zeros(6, dtype='>i4')
for i in range(6):
    A[i] = A[i] * 1.5
    B[i] = i * 1000
A, B, A.dtype.str
"""
        ],
    ),
    (
        "structured_array_field_views",
        [
            """
import numpy as np
rec = np.zeros(4, dtype=[('x', 'f8'), ('n', 'i4')])
xs = rec['x']
ns = rec['n']
for i in range(4):
    xs[i] = i * 0.25
    ns[i] = i * i
rec
"""
        ],
    ),
    (
        "unaligned_view",
        [
            """
import numpy as np
buf = np.zeros(8 * 5 + 1, dtype=np.uint8)
A = np.frombuffer(buf.data, dtype=np.float64, count=5, offset=1)
A = A.copy() if not A.flags.writeable else A
B = np.ndarray((5,), dtype=np.float64, buffer=buf, offset=1)
for i in range(5):
    B[i] = i + 0.5
B, B.flags.aligned
"""
        ],
    ),
    (
        "float16_array",
        [
            """
import numpy as np
h = np.arange(6, dtype=np.float16) / 3
out = np.zeros(6, dtype=np.float16)
for i in range(6):
    out[i] = h[i] * h[i] + 0.1
out, out.dtype
"""
        ],
    ),
    (
        "longdouble_array",
        [
            """
import numpy as np
L = np.arange(4, dtype=np.longdouble) / 3
for i in range(4):
    L[i] = L[i] * 3 - i
L, L.dtype
"""
        ],
    ),
    (
        "complex64_array",
        [
            """
import numpy as np
z = np.zeros(3, dtype=np.complex64)
for i in range(3):
    z[i] = (1 + 1j) * i
z
"""
        ],
    ),
    (
        "object_array_big_ints",
        [
            """
import numpy as np
A = np.array([1, 2, 3], dtype=object)
for i in range(3):
    A[i] = A[i] * 10 ** 20
A
"""
        ],
    ),
    (
        "datetime_array",
        [
            """
import numpy as np
d = np.array(['2024-01-01', '2024-02-01'], dtype='datetime64[D]')
for i in range(2):
    d[i] = d[i] + np.timedelta64(i, 'D')
d
"""
        ],
    ),
    (
        "zero_d_accumulator_identity",
        [
            """
import numpy as np
x = np.arange(4.0)
s = np.zeros(())
keep = s
for i in range(4):
    s += x[i]
s, type(s).__name__, s is keep
"""
        ],
    ),
    (
        "aliased_views_different_dtype",
        [
            """
import numpy as np
A = np.arange(4, dtype=np.int64)
B = A.view(np.uint64)
for i in range(4):
    B[i] = A[i] + 10
A
"""
        ],
    ),
    (
        "array_aliases_preserved_names",
        [
            """
import numpy as np
A = np.zeros(3)
B = A
C = A[:]
for i in range(3):
    B[i] = i
    C[i] = C[i] + 1
A, A is B, C.base is A
"""
        ],
    ),
    # --- dependences a parallel loop must respect ------------------------------------------
    (
        "output_dependence_same_element",
        [
            """
import numpy as np
A = np.zeros(2)
for i in range(64):
    A[0] = i
    A[1] = A[1] + 1
A
"""
        ],
    ),
    (
        "output_dependence_floor_div_index",
        [
            """
import numpy as np
A = np.zeros(32)
for i in range(64):
    A[i // 2] = i
A[:6], A[-1]
"""
        ],
    ),
    (
        "modulo_index_accumulate",
        [
            """
import numpy as np
A = np.zeros(4)
for i in range(40):
    A[i % 4] += i
A
"""
        ],
    ),
    (
        "reverse_copy_in_place",
        [
            """
import numpy as np
n = 10
A = np.arange(n, dtype=np.float64)
for i in range(n):
    A[n - 1 - i] = A[i]
A
"""
        ],
    ),
    (
        "stride_two_dependence",
        [
            """
import numpy as np
A = np.arange(16.0)
for i in range(8):
    A[2 * i] = A[i] + 100
A
"""
        ],
    ),
    (
        "gauss_seidel_1d_both_neighbours",
        [
            """
import numpy as np
A = np.arange(12.0) ** 2
for i in range(1, 11):
    A[i] = 0.5 * (A[i - 1] + A[i + 1])
A
"""
        ],
    ),
    (
        "scalar_carried_shift",
        [
            """
import numpy as np
A = np.arange(1.0, 7.0)
prev = 0.0
for i in range(6):
    t = A[i]
    A[i] = prev
    prev = t
A, prev, t
"""
        ],
    ),
    (
        "conditional_scalar_carried_between_iterations",
        [
            """
import numpy as np
x = np.array([5.0, -1.0, -2.0, 7.0, -3.0, 8.0])
B = np.zeros(6)
t = -100.0
for i in range(6):
    if x[i] > 0:
        t = x[i]
    B[i] = t
B, t
"""
        ],
    ),
    (
        "conditional_last_value_never_assigned",
        [
            """
import numpy as np
x = np.arange(8.0)
for i in range(8):
    if x[i] > 100:
        found = i
""",
            """
found
""",
        ],
    ),
    (
        "conditional_last_value_assigned_sometimes",
        [
            """
import numpy as np
x = np.array([3.0, 9.0, 1.0, 12.0, 2.0])
found = -1
for i in range(5):
    if x[i] > 5:
        found = i
found, type(found).__name__
"""
        ],
    ),
    (
        "inner_loop_variable_after_zero_trip_inner",
        [
            """
import numpy as np
A = np.zeros((3, 3))
for i in range(3):
    for j in range(0):
        A[i, j] = 1
i
""",
            """
j
""",
        ],
    ),
    (
        "inner_loop_variable_from_earlier_outer_iteration",
        [
            """
import numpy as np
A = np.zeros((4, 4))
for i in range(4):
    for j in range(i, 3):
        A[i, j] = i + j
i, j, A
"""
        ],
    ),
    (
        "outer_zero_trip_inner_var_undefined",
        [
            """
import numpy as np
A = np.zeros((2, 2))
for i in range(0):
    for j in range(2):
        A[i, j] = 1
""",
            """
i
""",
        ],
    ),
    (
        "accumulator_zero_trip_keeps_type",
        [
            """
import numpy as np
x = np.arange(5.0)
s = 0
for i in range(0):
    s += x[i]
s, type(s).__name__
"""
        ],
    ),
    (
        "reduction_minus_and_reverse",
        [
            """
import numpy as np
x = np.arange(1.0, 9.0) / 3
s = 100.0
t = 0.0
for i in range(8):
    s -= x[i]
    t = x[i] - t
s, t
"""
        ],
    ),
    (
        "product_reduction_numpy_int_wraps",
        [
            """
import numpy as np
x = np.arange(1, 26, dtype=np.int64)
p = 1
for i in range(25):
    p *= x[i]
p, type(p).__name__
"""
        ],
    ),
    (
        "two_reductions_sharing_loop",
        [
            """
import numpy as np
rng = np.random.default_rng(77)
x = rng.standard_normal(50)
lo = np.inf
hi = -np.inf
arg = -1
for i in range(50):
    if x[i] > hi:
        hi = x[i]
        arg = i
    lo = min(lo, x[i])
lo, hi, arg
"""
        ],
    ),
    (
        "nested_reduction_into_array_element",
        [
            """
import numpy as np
M = np.arange(20.0).reshape(4, 5)
tot = np.zeros(1)
for i in range(4):
    for j in range(5):
        tot[0] += M[i, j] * (i - j)
tot
"""
        ],
    ),
    (
        "loop_writes_its_own_bound_array",
        [
            """
import numpy as np
n = np.array([3])
A = np.zeros(6)
for i in range(n[0]):
    A[i] = 1
    n[0] = 6
A, n
"""
        ],
    ),
    (
        "loop_reads_scalar_it_writes_later",
        [
            """
import numpy as np
A = np.zeros(5)
c = 1.0
for i in range(5):
    A[i] = c
    c = c * 2
A, c
"""
        ],
    ),
    # --- libm and NumPy's own implementations, many arguments ------------------------------
    (
        "pow_half_is_not_sqrt",
        [
            """
import numpy as np
x = np.array([-0.0, -np.inf, 4.0, 2.0, np.inf, 0.0])
y = np.zeros(6)
z = np.zeros(6)
for i in range(6):
    y[i] = x[i] ** 0.5
    z[i] = float(x[i]) ** 0.5 if x[i] >= 0 or x[i] == -np.inf else 0.0
y, np.signbit(y), z
"""
        ],
    ),
    (
        "pow_small_integer_exponents_random",
        [
            """
import numpy as np
rng = np.random.default_rng(123)
x = rng.uniform(-3.0, 3.0, 300)
p3 = np.zeros(300)
p5 = np.zeros(300)
pm1 = np.zeros(300)
pm2 = np.zeros(300)
for i in range(300):
    p3[i] = x[i] ** 3
    p5[i] = x[i] ** 5
    pm1[i] = x[i] ** -1
    pm2[i] = x[i] ** -2.0
p3, p5, pm1, pm2
"""
        ],
    ),
    (
        "pow_python_floats_random",
        [
            """
import math
import numpy as np
rng = np.random.default_rng(5)
a = rng.uniform(0.1, 4.0, 200)
b = rng.uniform(-3.0, 3.0, 200)
out = np.zeros(200)
out2 = np.zeros(200)
for i in range(200):
    out[i] = float(a[i]) ** float(b[i])
    out2[i] = math.pow(a[i], b[i])
out, out2
"""
        ],
    ),
    (
        "numpy_float64_ufuncs_random",
        [
            """
import numpy as np
rng = np.random.default_rng(2718)
x = rng.uniform(-10.0, 10.0, 256)
p = rng.uniform(1e-3, 50.0, 256)
out = np.zeros((256, 10))
for i in range(256):
    out[i, 0] = np.exp(x[i])
    out[i, 1] = np.log(p[i])
    out[i, 2] = np.sin(x[i])
    out[i, 3] = np.cos(x[i])
    out[i, 4] = np.tan(x[i])
    out[i, 5] = np.tanh(x[i])
    out[i, 6] = np.log2(p[i])
    out[i, 7] = np.log10(p[i])
    out[i, 8] = np.arctan2(x[i], p[i])
    out[i, 9] = np.power(p[i], x[i] / 4)
[out[:, k].tobytes().hex()[:16] for k in range(10)], out.sum(axis=0)
"""
        ],
    ),
    (
        "numpy_float32_ufuncs_random",
        [
            """
import numpy as np
rng = np.random.default_rng(1618)
x = rng.uniform(-6.0, 6.0, 256).astype(np.float32)
p = rng.uniform(1e-2, 20.0, 256).astype(np.float32)
out = np.zeros((256, 7), dtype=np.float32)
for i in range(256):
    out[i, 0] = np.exp(x[i])
    out[i, 1] = np.log(p[i])
    out[i, 2] = np.sin(x[i])
    out[i, 3] = np.cos(x[i])
    out[i, 4] = np.sqrt(p[i])
    out[i, 5] = np.tanh(x[i])
    out[i, 6] = np.abs(x[i]) * np.float32(0.5)
out.dtype, [out[:, k].tobytes().hex()[:16] for k in range(7)]
"""
        ],
    ),
    (
        "math_functions_on_float32_elements",
        [
            """
import math
import numpy as np
x = np.linspace(0.1, 3.0, 40).astype(np.float32)
y = np.zeros(40)
last = None
for i in range(40):
    y[i] = math.sin(x[i]) + math.sqrt(x[i]) + math.log(x[i])
    last = math.exp(x[i])
y, type(last).__name__
"""
        ],
    ),
    (
        "math_functions_random_many",
        [
            """
import math
import numpy as np
rng = np.random.default_rng(99)
x = rng.uniform(-20.0, 20.0, 300)
q = rng.uniform(1e-6, 1e6, 300)
out = np.zeros((300, 9))
for i in range(300):
    out[i, 0] = math.exp(x[i])
    out[i, 1] = math.log(q[i])
    out[i, 2] = math.sin(x[i])
    out[i, 3] = math.cos(x[i])
    out[i, 4] = math.atan(x[i])
    out[i, 5] = math.sinh(x[i] / 4)
    out[i, 6] = math.cosh(x[i] / 4)
    out[i, 7] = math.tanh(x[i])
    out[i, 8] = math.sqrt(q[i])
[out[:, k].tobytes().hex()[:16] for k in range(9)]
"""
        ],
    ),
    (
        "int_arithmetic_exact_before_float_division",
        [
            """
import numpy as np
A = np.zeros(10)
for i in range(10):
    A[i] = i * 2 ** 40 * 2 ** 30 / 3
A
"""
        ],
    ),
    (
        "int8_min_floor_divided_by_minus_one",
        [
            """
import numpy as np
a = np.array([-128, 100], dtype=np.int8)
b = np.zeros(2, dtype=np.int8)
for i in range(2):
    b[i] = a[i] // np.int8(-1)
b
"""
        ],
    ),
    (
        "int64_min_floor_divided_by_minus_one",
        [
            """
import numpy as np
a = np.array([-2 ** 63, 7], dtype=np.int64)
b = np.zeros(2, dtype=np.int64)
for i in range(2):
    b[i] = a[i] // -1
b
"""
        ],
    ),
    # --- subscripts computed with Python's integer semantics ---------------------------------
    (
        "subscript_modulo_negative_not_length",
        [
            """
import numpy as np
A = np.arange(8.0) * 10
B = np.zeros(8)
for i in range(8):
    B[i] = A[(i - 5) % 4]
B
"""
        ],
    ),
    (
        "subscript_floor_division_negative",
        [
            """
import numpy as np
A = np.arange(8.0) * 10
B = np.zeros(8)
for i in range(8):
    B[i] = A[(i - 5) // 2]
B
"""
        ],
    ),
    (
        "subscript_exactly_minus_length",
        [
            """
import numpy as np
n = 6
A = np.arange(n, dtype=np.float64)
B = np.zeros(n)
for i in range(n):
    B[i] = A[i - n] * 2
B
"""
        ],
    ),
    (
        "subscript_float_index_error",
        [
            """
import numpy as np
A = np.arange(6.0)
B = np.zeros(3)
for i in range(3):
    B[i] = A[i / 1]
"""
        ],
    ),
    (
        "subscript_negative_modulo_write",
        [
            """
import numpy as np
A = np.zeros(6)
for i in range(6):
    A[(2 - i) % 6] = i
A
"""
        ],
    ),
    (
        "scalar_argument_big_int_later_call",
        [
            """
import numpy as np
def scaled(A, k):
    for i in range(A.shape[0]):
        A[i] = k * i
    return A
scaled(np.zeros(4), 3), scaled(np.zeros(4), 2 ** 62), scaled(np.zeros(4), 2 ** 70)
"""
        ],
    ),
    (
        "scalar_argument_big_int_into_int_array",
        [
            """
import numpy as np
def scaled(A, k):
    for i in range(A.shape[0]):
        A[i] = k * i - k * (i - 1)
    return A
scaled(np.zeros(4, dtype=np.int64), 3), scaled(np.zeros(4, dtype=np.int64), 2 ** 62)
"""
        ],
    ),
    (
        "strides_change_between_calls",
        [
            """
import numpy as np
def rowscale(M):
    for i in range(M.shape[0]):
        for j in range(M.shape[1]):
            M[i, j] = M[i, j] * (i + 1) - j
    return M
A = np.arange(12.0).reshape(3, 4)
r1 = rowscale(A.copy())
r2 = rowscale(A.T.copy().T)
r3 = rowscale(A[:, ::2])
r4 = rowscale(A.T)
r1, r2, r3, r4, A
"""
        ],
    ),
    (
        "range_shadowed_after_first_call",
        [
            """
import numpy as np
def fill(A):
    for i in range(A.shape[0]):
        A[i] = i + 1
    return A
first = fill(np.zeros(3))
def range(n):
    return [0]
second = fill(np.zeros(3))
del range
first, second
"""
        ],
    ),
]
