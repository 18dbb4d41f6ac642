"""Exceptions and number semantics: out-of-range subscripts with the writes
made before the error, ZeroDivisionError, OverflowError, TypeError and
NameError raised inside nests; Python's big integers; NumPy scalar types
left in variables (and what ``/ 0`` then does); NaN and infinities in
reductions; integer wrap-around in fixed-width arrays; casts."""

CASES = [
    # --- IndexError with partial writes --------------------------------------------------
    (
        "index_error_partial_writes",
        [
            """
import numpy as np
A = np.zeros(5)
for i in range(8):
    A[i] = i + 1
"""
        ],
    ),
    (
        "index_error_partial_writes_inspect",
        [
            """
import numpy as np
A = np.zeros(5)
for i in range(8):
    A[i] = i + 1
""",
            """
A, i
""",
        ],
    ),
    (
        "index_error_read_past_end",
        [
            """
import numpy as np
A = np.arange(5.0)
B = np.zeros(5)
s = 0.0
for i in range(5):
    s += A[i + 1]
    B[i] = s
""",
            """
B, s, i
""",
        ],
    ),
    (
        "index_error_2d_inner",
        [
            """
import numpy as np
M = np.zeros((3, 3))
for i in range(3):
    for j in range(4):
        M[i, j] = 1 + i * 3 + j
""",
            """
M, i, j
""",
        ],
    ),
    (
        "index_error_2d_outer",
        [
            """
import numpy as np
M = np.zeros((2, 3))
for i in range(3):
    for j in range(3):
        M[i, j] = i + j
""",
            """
M, i, j
""",
        ],
    ),
    (
        "index_error_negative_too_far",
        [
            """
import numpy as np
A = np.arange(4.0)
B = np.zeros(6)
for i in range(6):
    B[i] = A[-i - 1]
""",
            """
B
""",
        ],
    ),
    (
        "index_error_parallel_loop_middle",
        [
            """
import numpy as np
n = 64
A = np.zeros(n)
idx_limit = 40
B = np.zeros(idx_limit)
for i in range(n):
    A[i] = i * 2
    B[i] = A[i]
""",
            """
A.sum(), B.sum(), i
""",
        ],
    ),
    (
        "index_error_reduction",
        [
            """
import numpy as np
x = np.arange(10.0)
s = 0.0
for i in range(12):
    s += x[i]
""",
            """
s, i
""",
        ],
    ),
    (
        "index_error_too_many_indices",
        [
            """
import numpy as np
A = np.zeros(4)
for i in range(4):
    A[i, 0] = 1.0
"""
        ],
    ),
    (
        "index_error_inside_function_caught",
        [
            """
import numpy as np
def fill(A, n):
    for i in range(n):
        A[i] = i
A = np.zeros(3)
try:
    fill(A, 10)
except IndexError as exc:
    msg = str(exc)
msg, A
"""
        ],
    ),
    (
        "index_error_in_time_steps",
        [
            """
import numpy as np
u = np.ones(6)
for t in range(3):
    for i in range(1, 6 + t):
        u[i] = u[i] + u[i - 1]
""",
            """
u, t, i
""",
        ],
    ),
    # --- ZeroDivisionError ------------------------------------------------------------------
    (
        "zero_division_float_scalar",
        [
            """
s = 0.0
for i in range(6):
    s += 1.0 / (i - 3)
""",
            """
s, i
""",
        ],
    ),
    (
        "zero_division_int_floordiv",
        [
            """
import numpy as np
A = np.arange(6)
B = np.zeros(6, dtype=np.int64)
for i in range(6):
    B[i] = 100 // (A[i] - 2)
""",
            """
B
""",
        ],
    ),
    (
        "zero_division_python_int_mod",
        [
            """
acc = 0
for i in range(5):
    acc += 17 % (3 - i)
""",
            """
acc, i
""",
        ],
    ),
    (
        "zero_division_numpy_float_array_no_error",
        [
            """
import numpy as np
A = np.array([1.0, 0.0, -1.0, 0.0])
B = np.zeros(4)
for i in range(4):
    B[i] = 1.0 / A[i]
B
"""
        ],
    ),
    (
        "zero_division_numpy_int_array_warns",
        [
            """
import numpy as np
A = np.array([2, 0, 4], dtype=np.int64)
B = np.zeros(3, dtype=np.int64)
for i in range(3):
    B[i] = A[i] // A[i]
B
"""
        ],
    ),
    (
        "zero_division_zero_over_zero_nan",
        [
            """
import numpy as np
A = np.zeros(3)
B = np.zeros(3)
for i in range(3):
    B[i] = A[i] / A[i]
B
"""
        ],
    ),
    (
        "zero_division_after_numpy_float64_accumulator",
        [
            """
import numpy as np
x = np.arange(5, dtype=np.float64)
s = np.float64(0)
for i in range(5):
    s += x[i]
s, type(s).__name__
""",
            """
s / 0
""",
        ],
    ),
    (
        "zero_division_after_float32_accumulator",
        [
            """
import numpy as np
x = np.ones(8, dtype=np.float32)
s = np.float32(0)
for i in range(8):
    s += x[i]
type(s).__name__, s
""",
            """
s / 0
""",
        ],
    ),
    (
        "zero_division_after_int64_accumulator",
        [
            """
import numpy as np
x = np.arange(6, dtype=np.int64)
s = np.int64(0)
for i in range(6):
    s += x[i]
type(s).__name__, s
""",
            """
s // 0
""",
        ],
    ),
    (
        "zero_division_after_python_float_accumulator",
        [
            """
import numpy as np
x = np.arange(6.0)
s = 0.0
for i in range(6):
    s = s + float(x[i])
type(s).__name__
""",
            """
s / 0
""",
        ],
    ),
    (
        "zero_division_accumulator_from_array_element",
        [
            """
import numpy as np
x = np.arange(1.0, 5.0)
s = 0
for i in range(4):
    s = s + x[i]
type(s).__name__, s
""",
            """
s / 0
""",
        ],
    ),
    (
        "zero_division_in_condition_branch",
        [
            """
import numpy as np
A = np.array([3.0, 2.0, 1.0, 0.0])
B = np.zeros(4)
for i in range(4):
    if i < 3:
        B[i] = 6 / (3 - i)
    else:
        B[i] = 1 / 0
""",
            """
B
""",
        ],
    ),
    (
        "zero_division_modulo_float",
        [
            """
r = 0.0
for i in range(3):
    r = 5.5 % (2 - i)
""",
            """
r, i
""",
        ],
    ),
    (
        "zero_division_math_fmod",
        [
            """
import math
import numpy as np
A = np.zeros(3)
for i in range(3):
    A[i] = math.fmod(5.0, 1 - i)
"""
        ],
    ),
    # --- overflow and big integers --------------------------------------------------------
    (
        "overflow_float_power",
        [
            """
x = 10.0
for i in range(400):
    x = x ** 2
"""
        ],
    ),
    (
        "overflow_float_power_state",
        [
            """
x = 10.0
for i in range(400):
    x = x ** 2
""",
            """
x, i
""",
        ],
    ),
    (
        "float_multiply_to_inf_no_error",
        [
            """
x = 10.0
for i in range(400):
    x = x * x
x, i
"""
        ],
    ),
    (
        "overflow_math_exp",
        [
            """
import math
import numpy as np
A = np.zeros(5)
for i in range(5):
    A[i] = math.exp(200.0 * i)
""",
            """
A, i
""",
        ],
    ),
    (
        "numpy_exp_overflow_inf",
        [
            """
import numpy as np
A = np.zeros(4)
for i in range(4):
    A[i] = np.exp(300.0 * i)
A
"""
        ],
    ),
    (
        "big_int_powers_of_three",
        [
            """
s = 1
for i in range(100):
    s = s * 3
s
"""
        ],
    ),
    (
        "big_int_factorial",
        [
            """
f = 1
for k in range(1, 60):
    f *= k
f, f.bit_length()
"""
        ],
    ),
    (
        "big_int_sum_exceeds_int64",
        [
            """
total = 2 ** 62
for i in range(10):
    total += 2 ** 61
total
"""
        ],
    ),
    (
        "big_int_into_int64_array_overflow",
        [
            """
import numpy as np
A = np.zeros(3, dtype=np.int64)
s = 2 ** 62
for i in range(3):
    s = s * 2
    A[i] = s
"""
        ],
    ),
    (
        "big_int_into_float_array",
        [
            """
import numpy as np
A = np.zeros(3)
for i in range(3):
    A[i] = 10 ** (100 + i)
A
"""
        ],
    ),
    (
        "int_power_negative_exponent",
        [
            """
acc = 0
for i in range(1, 4):
    acc = acc + 2 ** -i
acc, type(acc).__name__
"""
        ],
    ),
    (
        "int_pow_large_in_array_loop",
        [
            """
import numpy as np
A = np.zeros(4, dtype=np.int64)
for i in range(4):
    A[i] = 3 ** (20 * i)
"""
        ],
    ),
    (
        "int64_array_wraparound",
        [
            """
import numpy as np
A = np.full(3, 2 ** 62, dtype=np.int64)
for i in range(3):
    A[i] = A[i] * 2 + i
A
"""
        ],
    ),
    (
        "int32_array_wraparound",
        [
            """
import numpy as np
A = np.full(4, 2 ** 30, dtype=np.int32)
for i in range(4):
    A[i] = A[i] * (i + 1)
A
"""
        ],
    ),
    (
        "int8_accumulate_in_array",
        [
            """
import numpy as np
A = np.zeros(1, dtype=np.int8)
for i in range(300):
    A[0] = A[0] + 1
A
"""
        ],
    ),
    (
        "numpy_int64_scalar_overflow_warning",
        [
            """
import numpy as np
x = np.int64(2 ** 62)
for i in range(3):
    x = x * 2
x, type(x).__name__
"""
        ],
    ),
    (
        "numpy_float64_scalar_overflow_warning",
        [
            """
import numpy as np
x = np.float64(1e200)
for i in range(3):
    x = x * 1e100
x
"""
        ],
    ),
    (
        "numpy_float32_accumulator_precision",
        [
            """
import numpy as np
s = np.float32(0.0)
for i in range(1000):
    s = s + np.float32(0.1)
s, type(s).__name__
"""
        ],
    ),
    (
        "numpy_float32_times_python_float",
        [
            """
import numpy as np
s = np.float32(1.0)
for i in range(10):
    s = s * 1.1
s, type(s).__name__
"""
        ],
    ),
    (
        "numpy_int32_plus_python_int",
        [
            """
import numpy as np
s = np.int32(5)
for i in range(4):
    s = s + i
s, type(s).__name__
"""
        ],
    ),
    (
        "numpy_uint8_accumulator_wraps",
        [
            """
import numpy as np
s = np.uint8(250)
for i in range(10):
    s = s + np.uint8(1)
s, type(s).__name__
"""
        ],
    ),
    (
        "mixed_int_float_division_types",
        [
            """
import numpy as np
a = np.int64(7)
q = 0
r = 0.0
for i in range(1, 4):
    q = a // i
    r = a / i
(q, type(q).__name__), (r, type(r).__name__)
"""
        ],
    ),
    (
        "bool_accumulator",
        [
            """
import numpy as np
flags = np.array([True, False, True])
count = 0
for i in range(3):
    count = count + flags[i]
count, type(count).__name__
"""
        ],
    ),
    (
        "numpy_bool_scalar_sum",
        [
            """
import numpy as np
b = np.bool_(False)
for i in range(3):
    b = b + np.bool_(True)
b, type(b).__name__
"""
        ],
    ),
    (
        "python_int_times_array_element_type",
        [
            """
import numpy as np
x = np.arange(3, dtype=np.int32)
t = 0
for i in range(3):
    t = x[i] * 2
t, type(t).__name__
"""
        ],
    ),
    (
        "float32_array_reduction_into_python_float",
        [
            """
import numpy as np
x = np.full(16, 0.1, dtype=np.float32)
s = 0.0
for i in range(16):
    s += x[i]
s, type(s).__name__
"""
        ],
    ),
    (
        "int_scalar_from_float32_element",
        [
            """
import numpy as np
x = np.array([1.5, 2.5], dtype=np.float32)
v = 0
for i in range(2):
    v = int(x[i])
v, type(v).__name__
"""
        ],
    ),
    # --- NaN and infinities -------------------------------------------------------------
    (
        "nan_in_max_reduction",
        [
            """
import numpy as np
x = np.array([1.0, np.nan, 3.0, 2.0])
m = -np.inf
for i in range(4):
    m = max(m, x[i])
m
"""
        ],
    ),
    (
        "nan_first_in_max_reduction",
        [
            """
import numpy as np
x = np.array([np.nan, 5.0, 3.0])
m = x[0]
for i in range(1, 3):
    m = max(m, x[i])
m
"""
        ],
    ),
    (
        "nan_in_min_reduction",
        [
            """
import numpy as np
x = np.array([4.0, 1.0, np.nan, -2.0])
m = np.inf
for i in range(4):
    m = min(m, x[i])
m
"""
        ],
    ),
    (
        "nan_min_argument_order",
        [
            """
import numpy as np
x = np.array([2.0, np.nan, 1.0])
a = 10.0
b = 10.0
for i in range(3):
    a = min(x[i], a)
    b = min(b, x[i])
a, b
"""
        ],
    ),
    (
        "nan_max_python_float",
        [
            """
nan = float('nan')
vals = [1.0, nan, 2.0]
m = 0.0
for i in range(3):
    m = max(m, vals[i])
m
"""
        ],
    ),
    (
        "nan_elementwise_max_min",
        [
            """
import numpy as np
a = np.array([1.0, np.nan, 3.0, np.nan])
b = np.array([np.nan, 2.0, 1.0, np.nan])
hi = np.zeros(4)
lo = np.zeros(4)
for i in range(4):
    hi[i] = max(a[i], b[i])
    lo[i] = min(a[i], b[i])
hi, lo
"""
        ],
    ),
    (
        "nan_np_maximum_minimum",
        [
            """
import numpy as np
a = np.array([1.0, np.nan, 3.0])
b = np.array([np.nan, 2.0, 1.0])
hi = np.zeros(3)
for i in range(3):
    hi[i] = np.maximum(a[i], b[i]) + np.minimum(a[i], b[i])
hi
"""
        ],
    ),
    (
        "nan_sum_reduction",
        [
            """
import numpy as np
x = np.array([1.0, 2.0, np.nan, 4.0])
s = 0.0
for i in range(4):
    s += x[i]
s
"""
        ],
    ),
    (
        "nan_comparisons_branch",
        [
            """
import numpy as np
x = np.array([np.nan, 1.0, -1.0])
pos = 0
neg = 0
other = 0
for i in range(3):
    if x[i] > 0:
        pos += 1
    elif x[i] < 0:
        neg += 1
    else:
        other += 1
pos, neg, other
"""
        ],
    ),
    (
        "nan_equality_counts",
        [
            """
import numpy as np
x = np.array([np.nan, np.nan, 1.0])
same = 0
for i in range(3):
    if x[i] == x[i]:
        same += 1
same
"""
        ],
    ),
    (
        "inf_minus_inf",
        [
            """
import numpy as np
A = np.array([np.inf, -np.inf, 1.0])
B = np.zeros(3)
for i in range(3):
    B[i] = A[i] + A[2 - i]
B
"""
        ],
    ),
    (
        "math_sqrt_negative_value_error",
        [
            """
import math
import numpy as np
x = np.array([4.0, 1.0, -1.0, 9.0])
y = np.zeros(4)
for i in range(4):
    y[i] = math.sqrt(x[i])
""",
            """
y
""",
        ],
    ),
    (
        "math_log_zero_value_error",
        [
            """
import math
import numpy as np
x = np.array([1.0, 0.0])
y = np.zeros(2)
for i in range(2):
    y[i] = math.log(x[i])
""",
            """
y
""",
        ],
    ),
    (
        "numpy_sqrt_negative_nan_warning",
        [
            """
import numpy as np
x = np.array([4.0, -1.0])
y = np.zeros(2)
for i in range(2):
    y[i] = np.sqrt(x[i])
y
"""
        ],
    ),
    (
        "math_domain_acos",
        [
            """
import math
out = 0.0
for i in range(3):
    out = math.acos(0.6 * i)
"""
        ],
    ),
    (
        "negative_float_fractional_power_complex",
        [
            """
z = 0
for i in range(2):
    z = (-8.0) ** (1.0 / 3.0 + i)
z, type(z).__name__
"""
        ],
    ),
    (
        "negative_int_power_zero_error",
        [
            """
x = 0
acc = 0
for i in range(2):
    acc = x ** -1
"""
        ],
    ),
    (
        "zero_to_the_zero",
        [
            """
import numpy as np
A = np.zeros(3)
for i in range(3):
    A[i] = 0.0 ** i
A
"""
        ],
    ),
    # --- other errors in nests --------------------------------------------------------------
    (
        "type_error_string_into_array",
        [
            """
import numpy as np
A = np.zeros(3)
for i in range(3):
    A[i] = 'text'
"""
        ],
    ),
    (
        "value_error_string_number_into_array",
        [
            """
import numpy as np
A = np.zeros(3)
for i in range(3):
    A[i] = '1.5'
A
"""
        ],
    ),
    (
        "type_error_none_in_arithmetic",
        [
            """
import numpy as np
A = np.zeros(3)
c = None
for i in range(3):
    A[i] = c * 2
"""
        ],
    ),
    (
        "name_error_inside_nest",
        [
            """
import numpy as np
A = np.zeros(3)
for i in range(3):
    A[i] = not_defined_anywhere * 2
""",
            """
A, i
""",
        ],
    ),
    (
        "name_error_for_scalar_read_after_loop",
        [
            """
for i in range(0):
    leftover = 1
leftover
"""
        ],
    ),
    (
        "unbound_array_name_error",
        [
            """
for i in range(3):
    undefined_array[i] = 1
"""
        ],
    ),
    (
        "attribute_error_in_nest",
        [
            """
import numpy as np
A = np.zeros(2)
for i in range(2):
    A[i] = A.no_such_attribute
"""
        ],
    ),
    (
        "keyboard_interrupt_raised_manually",
        [
            """
import numpy as np
A = np.zeros(3)
try:
    for i in range(3):
        if i == 2:
            raise KeyboardInterrupt
        A[i] = 1
except KeyboardInterrupt:
    print('interrupted at', i)
A
"""
        ],
    ),
    (
        "custom_exception_in_loop",
        [
            """
class SolverError(Exception):
    pass
import numpy as np
r = np.array([1.0, 0.5, 1e-9])
for i in range(3):
    if r[i] < 1e-6:
        raise SolverError(f'converged at {i}')
"""
        ],
    ),
    (
        "error_then_next_cell_runs",
        [
            """
import numpy as np
A = np.zeros(3)
for i in range(4):
    A[i] = 1
""",
            """
B = np.zeros(3)
for i in range(3):
    B[i] = 2
A, B
""",
        ],
    ),
    (
        "error_inside_function_nest_then_variables",
        [
            """
import numpy as np
def step(u):
    for i in range(u.shape[0]):
        u[i] = 1.0 / (u[i] - 1.0)
u = np.array([3.0, 2.0, 1.0, 0.0])
step(u)
""",
            """
u
""",
        ],
    ),
    (
        "error_in_second_of_two_nests",
        [
            """
import numpy as np
A = np.zeros(4)
B = np.zeros(4)
for i in range(4):
    A[i] = i
for j in range(5):
    B[j] = A[j] * 2
""",
            """
A, B, i, j
""",
        ],
    ),
    (
        "int_of_nan_value_error",
        [
            """
import numpy as np
x = np.array([1.5, np.nan])
y = np.zeros(2, dtype=np.int64)
for i in range(2):
    y[i] = int(x[i])
""",
            """
y
""",
        ],
    ),
    (
        "int_of_inf_overflow_error",
        [
            """
import numpy as np
x = np.array([2.5, np.inf])
k = 0
for i in range(2):
    k = int(x[i])
""",
            """
k
""",
        ],
    ),
    (
        "round_of_nan_error",
        [
            """
v = 0
for i in range(1):
    v = round(float('nan'))
"""
        ],
    ),
    (
        "float_to_int_array_nan_cast",
        [
            """
import numpy as np
x = np.array([1.0, 2.0])
y = np.zeros(2, dtype=np.int64)
for i in range(2):
    y[i] = x[i] * 3
y
"""
        ],
    ),
    (
        "assign_negative_to_uint",
        [
            """
import numpy as np
A = np.zeros(3, dtype=np.uint16)
for i in range(3):
    A[i] = i - 1
A
"""
        ],
    ),
    (
        "assign_python_int_too_big_for_int8",
        [
            """
import numpy as np
A = np.zeros(2, dtype=np.int8)
for i in range(2):
    A[i] = 200 + i
A
"""
        ],
    ),
    (
        "numpy_warnings_large_loop",
        [
            """
import numpy as np
n = 40000
A = np.linspace(-1.0, 1.0, n)
A[n // 2] = 0.0
B = np.zeros(n)
for i in range(n):
    B[i] = 1.0 / A[i]
B[n // 2], B.sum()
"""
        ],
    ),
]
