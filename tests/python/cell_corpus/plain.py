"""Cells without loops, and the plain loop nests a first notebook on parallel
loops starts with: element-wise updates, reductions, scalars written back,
bounds of every kind (zero-trip, negative steps, NumPy integers, floats),
odd spellings (backslash continuations, comments and strings with ``*/``,
``\\``, triple quotes, ``<script>``)."""

CASES = [
    # --- no loops at all ----------------------------------------------------------------
    ("hello", ["print('hello, GPU world')\n"]),
    ("arithmetic_result", ["2 ** 10 + 3 * 7\n"]),
    (
        "numpy_setup_only",
        [
            """
import numpy as np
x = np.linspace(0.0, 1.0, 11)
y = x ** 2
y.sum()
"""
        ],
    ),
    (
        "strings_and_fstrings",
        [
            """
name = "warp"
width = 32
msg = f"a {name} has {width} threads"
print(msg.upper())
msg
"""
        ],
    ),
    ("list_comprehension_no_for_range", ["squares = [k * k for k in [1, 2, 3]]\nsquares\n"]),
    ("dict_literal", ["cfg = {'blocks': 4, 'threads': 128}\ncfg['blocks'] * cfg['threads']\n"]),
    ("none_result", ["x = None\nx\n"]),
    ("semicolon_suppresses", ["import numpy as np\na = np.arange(5); a.sum();\n"]),
    ("multiple_cells_no_loop", ["a = 3\n", "b = a * 4\n", "print(a + b)\n", "a, b\n"]),
    ("empty_cell", ["", "x = 1\n", "   \n"]),
    ("comment_only_cell", ["# nothing here but a for i in range(10) comment\n"]),
    (
        "numpy_vectorised_saxpy",
        [
            """
import numpy as np
n = 16
a = 2.5
x = np.arange(n, dtype=np.float64)
y = np.ones(n)
y = a * x + y
print(y[:4], y.dtype)
"""
        ],
    ),
    (
        "numpy_matmul_no_loops",
        [
            """
import numpy as np
rng = np.random.default_rng(0)
A = rng.standard_normal((6, 6))
B = rng.standard_normal((6, 6))
C = A @ B
round(float(C.trace()), 10)
"""
        ],
    ),
    ("syntax_error_cell", ["for i in range(3)\n    print(i)\n"]),
    ("syntax_error_then_ok", ["x = (1,\n", "x = 5\nx\n"]),
    ("indentation_error", ["def f():\nreturn 1\n"]),
    ("name_error_no_loop", ["print(undefined_thing)\n"]),
    # --- simple accepted nests ----------------------------------------------------------
    (
        "fill_1d",
        [
            """
import numpy as np
A = np.zeros(10)
for i in range(10):
    A[i] = i * 0.5
A
"""
        ],
    ),
    (
        "saxpy_loop",
        [
            """
import numpy as np
n = 32
a = 2.0
x = np.arange(n, dtype=np.float64)
y = np.full(n, 1.5)
for i in range(n):
    y[i] = a * x[i] + y[i]
print(y.sum())
"""
        ],
    ),
    (
        "saxpy_float32",
        [
            """
import numpy as np
n = 20
a = np.float32(0.1)
x = np.linspace(0, 1, n).astype(np.float32)
y = np.ones(n, dtype=np.float32)
for i in range(n):
    y[i] = a * x[i] + y[i]
y
"""
        ],
    ),
    (
        "vector_add_int64",
        [
            """
import numpy as np
a = np.arange(12, dtype=np.int64)
b = np.arange(12, dtype=np.int64)[::-1].copy()
c = np.empty_like(a)
for i in range(a.shape[0]):
    c[i] = a[i] + b[i]
c
"""
        ],
    ),
    (
        "vector_add_int32",
        [
            """
import numpy as np
a = np.arange(9, dtype=np.int32)
c = np.zeros(9, dtype=np.int32)
for i in range(9):
    c[i] = a[i] * 3 - 7
c
"""
        ],
    ),
    (
        "matrix_fill_2d",
        [
            """
import numpy as np
M = np.zeros((4, 5))
for i in range(4):
    for j in range(5):
        M[i, j] = i * 10 + j
M
"""
        ],
    ),
    (
        "matrix_fill_chained_subscripts",
        [
            """
import numpy as np
M = np.zeros((3, 4))
for i in range(3):
    for j in range(4):
        M[i][j] = (i + 1) * (j - 1)
M
"""
        ],
    ),
    (
        "tensor_fill_3d",
        [
            """
import numpy as np
T = np.zeros((3, 4, 2))
for i in range(3):
    for j in range(4):
        for k in range(2):
            T[i, j, k] = i - j + 0.25 * k
T.sum(), T[2, 3, 1]
"""
        ],
    ),
    (
        "sum_reduction_float",
        [
            """
import numpy as np
x = np.arange(100, dtype=np.float64) / 7.0
s = 0.0
for i in range(100):
    s += x[i]
s
"""
        ],
    ),
    (
        "sum_reduction_int",
        [
            """
import numpy as np
x = np.arange(50, dtype=np.int64)
total = 0
for i in range(50):
    total += x[i] * x[i]
total, type(total).__name__
"""
        ],
    ),
    (
        "sum_pure_python_int",
        [
            """
total = 0
for i in range(1, 101):
    total += i
print(total)
"""
        ],
    ),
    (
        "product_reduction",
        [
            """
p = 1.0
for k in range(1, 15):
    p *= k / 3.0
p
"""
        ],
    ),
    (
        "max_reduction",
        [
            """
import numpy as np
rng = np.random.default_rng(7)
x = rng.standard_normal(64)
best = -1e300
for i in range(64):
    best = max(best, x[i])
best == x.max(), best
"""
        ],
    ),
    (
        "min_reduction_int",
        [
            """
import numpy as np
x = np.array([5, 3, 9, -2, 7, -2, 4])
m = 1000
for i in range(7):
    m = min(m, x[i])
m, type(m).__name__
"""
        ],
    ),
    (
        "dot_product",
        [
            """
import numpy as np
rng = np.random.default_rng(1)
u = rng.random(40)
v = rng.random(40)
d = 0.0
for i in range(40):
    d += u[i] * v[i]
abs(d - u @ v) < 1e-12
"""
        ],
    ),
    (
        "loop_variable_after",
        [
            """
for i in range(5):
    pass
i
"""
        ],
    ),
    (
        "loop_variable_after_with_body",
        [
            """
import numpy as np
A = np.zeros(6)
for k in range(1, 6, 2):
    A[k] = k
k, A
"""
        ],
    ),
    (
        "scalar_last_value",
        [
            """
import numpy as np
A = np.arange(8.0)
for i in range(8):
    t = A[i] * 2
    A[i] = t + 1
t, A
"""
        ],
    ),
    (
        "conditional_body",
        [
            """
import numpy as np
x = np.linspace(-1, 1, 21)
y = np.zeros(21)
for i in range(21):
    if x[i] < 0:
        y[i] = -x[i]
    elif x[i] == 0:
        y[i] = 100.0
    else:
        y[i] = x[i] * x[i]
y
"""
        ],
    ),
    (
        "ternary_relu",
        [
            """
import numpy as np
x = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
out = np.empty(5)
for i in range(5):
    out[i] = x[i] if x[i] > 0 else 0.0
out
"""
        ],
    ),
    (
        "math_functions",
        [
            """
import math
import numpy as np
x = np.linspace(0.1, 2.0, 12)
y = np.zeros(12)
for i in range(12):
    y[i] = math.sqrt(x[i]) + math.exp(-x[i]) * math.sin(x[i]) - math.log(x[i])
y
"""
        ],
    ),
    (
        "numpy_functions_in_loop",
        [
            """
import numpy as np
x = np.linspace(-3, 3, 13)
y = np.zeros(13)
for i in range(13):
    y[i] = np.tanh(x[i]) + np.abs(x[i]) + np.cos(x[i]) ** 2
y
"""
        ],
    ),
    (
        "floor_div_mod_signs",
        [
            """
import numpy as np
a = np.arange(-9, 9, dtype=np.int64)
q = np.zeros(18, dtype=np.int64)
r = np.zeros(18, dtype=np.int64)
for i in range(18):
    q[i] = a[i] // 4
    r[i] = a[i] % 4
q, r
"""
        ],
    ),
    (
        "float_floor_div_mod",
        [
            """
import numpy as np
a = np.linspace(-4.5, 4.5, 10)
q = np.zeros(10)
r = np.zeros(10)
for i in range(10):
    q[i] = a[i] // 1.5
    r[i] = a[i] % 1.5
q, r
"""
        ],
    ),
    (
        "int_true_division",
        [
            """
import numpy as np
a = np.arange(1, 11)
out = np.zeros(10)
for i in range(10):
    out[i] = a[i] / 3
out
"""
        ],
    ),
    (
        "power_operator",
        [
            """
import numpy as np
x = np.arange(6, dtype=np.float64)
y = np.zeros(6)
for i in range(6):
    y[i] = x[i] ** 3 - 2 ** x[i] + x[i] ** 0.5
y
"""
        ],
    ),
    (
        "int_power_scalar",
        [
            """
s = 0
for i in range(10):
    s = s + i ** 3
s
"""
        ],
    ),
    (
        "round_int_float_calls",
        [
            """
import numpy as np
x = np.linspace(-2.5, 2.5, 11)
r = np.zeros(11)
t = np.zeros(11, dtype=np.int64)
for i in range(11):
    r[i] = round(x[i])
    t[i] = int(x[i])
r, t
"""
        ],
    ),
    (
        "bool_array",
        [
            """
import numpy as np
x = np.arange(10)
flags = np.zeros(10, dtype=bool)
for i in range(10):
    flags[i] = x[i] % 3 == 0
flags
"""
        ],
    ),
    (
        "uint8_wraparound",
        [
            """
import numpy as np
img = np.arange(0, 250, 25, dtype=np.uint8)
out = np.zeros_like(img)
for i in range(img.shape[0]):
    out[i] = img[i] + 10
out
"""
        ],
    ),
    (
        "int16_array",
        [
            """
import numpy as np
a = np.arange(8, dtype=np.int16)
for i in range(8):
    a[i] = a[i] * 1000
a
"""
        ],
    ),
    (
        "complex_array_declined_or_not",
        [
            """
import numpy as np
z = np.zeros(5, dtype=complex)
for i in range(5):
    z[i] = i * 2.0
z
"""
        ],
    ),
    # --- bounds -------------------------------------------------------------------------
    (
        "zero_trip_keeps_variable",
        [
            """
i = 'untouched'
for i in range(0):
    print('never')
i
"""
        ],
    ),
    (
        "zero_trip_array_untouched",
        [
            """
import numpy as np
A = np.ones(3)
n = 0
for i in range(n):
    A[i] = 0.0
A, 'i' in dir()
"""
        ],
    ),
    (
        "zero_trip_negative_bound",
        [
            """
import numpy as np
A = np.ones(4)
for j in range(5, 2):
    A[0] = 9
A
"""
        ],
    ),
    (
        "zero_trip_inner",
        [
            """
import numpy as np
A = np.zeros((3, 3))
for i in range(3):
    for j in range(i, i):
        A[i, j] = 1
A, i
"""
        ],
    ),
    (
        "triangular_nest",
        [
            """
import numpy as np
L = np.zeros((5, 5))
for i in range(5):
    for j in range(i + 1):
        L[i, j] = i + j
L, i, j
"""
        ],
    ),
    (
        "negative_step",
        [
            """
import numpy as np
A = np.zeros(10)
for i in range(9, -1, -1):
    A[i] = 9 - i
A, i
"""
        ],
    ),
    (
        "negative_step_by_three",
        [
            """
import numpy as np
A = np.zeros(12)
for i in range(11, 0, -3):
    A[i] = i
A, i
"""
        ],
    ),
    (
        "negative_step_zero_trip",
        [
            """
i = 42
for i in range(0, 5, -1):
    pass
i
"""
        ],
    ),
    (
        "step_zero_value_error",
        [
            """
import numpy as np
A = np.zeros(4)
step = 0
for i in range(0, 4, step):
    A[i] = 1
"""
        ],
    ),
    (
        "float_bound_type_error",
        [
            """
import numpy as np
A = np.zeros(5)
n = 5.0
for i in range(n):
    A[i] = i
"""
        ],
    ),
    (
        "float_step_type_error",
        [
            """
for i in range(0, 10, 2.5):
    pass
"""
        ],
    ),
    (
        "numpy_int_bound",
        [
            """
import numpy as np
n = np.int64(5)
A = np.zeros(5)
for i in range(n):
    A[i] = i * i
A, i, type(i).__name__
"""
        ],
    ),
    (
        "numpy_int32_bound_and_step",
        [
            """
import numpy as np
lo, hi, st = np.int32(1), np.int32(9), np.int32(2)
A = np.zeros(10)
for i in range(lo, hi, st):
    A[i] = 1.0
A, i, type(i).__name__
"""
        ],
    ),
    (
        "numpy_float_bound_type_error",
        [
            """
import numpy as np
n = np.float64(4)
A = np.zeros(4)
for i in range(n):
    A[i] = 1.0
"""
        ],
    ),
    (
        "bool_bound",
        [
            """
import numpy as np
A = np.zeros(3)
for i in range(True, 3):
    A[i] = 2.0
A, i
"""
        ],
    ),
    (
        "shape_bounds",
        [
            """
import numpy as np
A = np.arange(12.0).reshape(3, 4)
B = np.zeros_like(A)
for i in range(A.shape[0]):
    for j in range(A.shape[1]):
        B[i, j] = A[i, j] * 2
B
"""
        ],
    ),
    (
        "len_bound",
        [
            """
import numpy as np
x = np.arange(7.0)
y = np.zeros(7)
for i in range(len(x)):
    y[i] = x[i] + 1
y
"""
        ],
    ),
    (
        "expression_bounds",
        [
            """
import numpy as np
n = 10
A = np.zeros(n)
for i in range(n // 2 - 1, n - n // 4, (n + 2) // 6):
    A[i] = i
A
"""
        ],
    ),
    (
        "big_range_bound_small_trip",
        [
            """
import numpy as np
A = np.zeros(3)
big = 2 ** 62
for i in range(big, big + 3):
    A[i - big] = 1.0
A, i
"""
        ],
    ),
    (
        "huge_int_bound_zero_trip",
        [
            """
big = 10 ** 30
count = 0
for i in range(big, big - 5):
    count += 1
count
"""
        ],
    ),
    (
        "huge_int_bound_few_trips",
        [
            """
big = 10 ** 30
acc = 0
for i in range(big, big + 3):
    acc += i
acc, i
"""
        ],
    ),
    (
        "bound_changes_inside_loop",
        [
            """
import numpy as np
n = 5
A = np.zeros(10)
for i in range(n):
    n = n + 1
    A[i] = n
n, A
"""
        ],
    ),
    (
        "loop_var_reassigned_in_body",
        [
            """
import numpy as np
A = np.zeros(6)
for i in range(6):
    A[i] = i
    i = i * 10
i, A
"""
        ],
    ),
    # --- spelling: continuations, comments, strings --------------------------------------
    (
        "backslash_continuation",
        [
            """
import numpy as np
A = np.arange(6.0)
B = np.zeros(6)
for i in \\
        range(6):
    B[i] = A[i] * 2 + \\
        A[i] - \\
        1
B
"""
        ],
    ),
    (
        "parenthesised_continuation",
        [
            """
import numpy as np
A = np.arange(8.0)
B = np.zeros(8)
for i in range(
        0,
        8):
    B[i] = (A[i]
            + 3.0
            * A[i])
B
"""
        ],
    ),
    (
        "comment_with_c_comment_close",
        [
            """
import numpy as np
A = np.zeros(4)
for i in range(4):  # /* the CUDA comment opens here
    A[i] = i  # */ closes it, and */ again
A
"""
        ],
    ),
    (
        "comment_with_backslash",
        [
            """
import numpy as np
A = np.zeros(4)
for i in range(4):  # a path C:\\temp\\ and a trailing backslash \\
    A[i] = i + 0.5  # \\n is not a newline here
A
"""
        ],
    ),
    (
        "docstring_in_loop_body",
        [
            '''
import numpy as np
A = np.zeros(5)
for i in range(5):
    """A docstring-like string with */ and \\\\ and <script>alert(1)</script>"""
    A[i] = i * 3
A
'''
        ],
    ),
    (
        "triple_quotes_in_string_before_loop",
        [
            "import numpy as np\n"
            'note = """a note with \'\'\' inside and */ and </script>"""\n'
            "A = np.zeros(3)\n"
            "for i in range(3):\n"
            "    A[i] = len(note) + i\n"
            "note, A\n"
        ],
    ),
    (
        "script_tag_names",
        [
            """
import numpy as np
script = np.zeros(4)
lt = np.arange(4.0)
for i in range(4):
    script[i] = lt[i] < 2  # <script>alert('x')</script>
script
"""
        ],
    ),
    (
        "html_in_comments_and_strings",
        [
            """
import numpy as np
title = "<b>bold</b> & <i>it</i>"
A = np.zeros(3)
for i in range(3):  # <img src=x onerror=alert(1)>
    A[i] = i & 1 if False else i
print(title)
A
"""
        ],
    ),
    (
        "unicode_identifiers",
        [
            """
import numpy as np
α = 0.5
données = np.arange(5.0)
résultat = np.zeros(5)
for i in range(5):
    résultat[i] = α * données[i]
résultat
"""
        ],
    ),
    ("tabs_indentation", ["import numpy as np\nA = np.zeros(3)\nfor i in range(3):\n\tA[i] = i + 1\nA\n"]),
    ("one_line_loop", ["import numpy as np\nA = np.zeros(4)\nfor i in range(4): A[i] = i * i\nA\n"]),
    (
        "loop_with_pass_and_docstring",
        [
            """
for i in range(3):
    "just a string"
    pass
i
"""
        ],
    ),
    ("cell_ends_with_loop_no_newline", ["import numpy as np\nA = np.zeros(2)\nfor i in range(2):\n    A[i] = 7"]),
    (
        "loop_then_expression",
        [
            """
import numpy as np
A = np.zeros(5)
for i in range(5):
    A[i] = i
A.sum() * 2
"""
        ],
    ),
    (
        "loop_across_cells",
        [
            """
import numpy as np
N = 8
A = np.arange(N, dtype=np.float64)
""",
            """
for i in range(N):
    A[i] = A[i] * A[i]
""",
            """
A.sum()
""",
        ],
    ),
    (
        "same_loop_run_twice",
        [
            """
import numpy as np
A = np.zeros(5)
""",
            """
for i in range(5):
    A[i] += 1
""",
            """
for i in range(5):
    A[i] += 1
A
""",
        ],
    ),
    (
        "same_cell_different_sizes",
        [
            """
import numpy as np
def run(n):
    A = np.zeros(n)
    for i in range(n):
        A[i] = i * 0.5
    return A.sum()
[run(n) for n in (0, 1, 2, 17, 64)]
"""
        ],
    ),
    (
        "array_replaced_between_cells",
        [
            """
import numpy as np
A = np.zeros(4)
for i in range(4):
    A[i] = 1.0
""",
            """
A = np.zeros(4, dtype=np.int64)
for i in range(4):
    A[i] = 3
A, A.dtype
""",
        ],
    ),
    (
        "fortran_order_array",
        [
            """
import numpy as np
A = np.asfortranarray(np.arange(12.0).reshape(3, 4))
B = np.zeros((3, 4), order='F')
for i in range(3):
    for j in range(4):
        B[i, j] = A[i, j] + i
B, B.flags['F_CONTIGUOUS']
"""
        ],
    ),
    (
        "strided_view",
        [
            """
import numpy as np
base = np.arange(20.0)
v = base[::2]
for i in range(10):
    v[i] = -v[i]
base
"""
        ],
    ),
    (
        "reversed_view",
        [
            """
import numpy as np
base = np.arange(6.0)
r = base[::-1]
for i in range(6):
    r[i] = r[i] + i
base
"""
        ],
    ),
    (
        "column_view",
        [
            """
import numpy as np
M = np.arange(12.0).reshape(3, 4)
c = M[:, 1]
for i in range(3):
    c[i] = 100 + i
M
"""
        ],
    ),
    (
        "aliased_arrays_same_object",
        [
            """
import numpy as np
A = np.arange(6.0)
B = A
for i in range(1, 6):
    B[i] = A[i - 1] + A[i]
A, A is B
"""
        ],
    ),
    (
        "overlapping_views",
        [
            """
import numpy as np
base = np.arange(10.0)
src = base[:-1]
dst = base[1:]
for i in range(9):
    dst[i] = src[i] * 2
base
"""
        ],
    ),
    (
        "zero_dim_array_scalar",
        [
            """
import numpy as np
A = np.zeros(4)
c = np.array(2.5)
for i in range(4):
    A[i] = c * i
A
"""
        ],
    ),
    (
        "negative_indices",
        [
            """
import numpy as np
A = np.arange(6.0)
B = np.zeros(6)
for i in range(6):
    B[i] = A[-1 - i]
B
"""
        ],
    ),
    (
        "empty_array_loop",
        [
            """
import numpy as np
A = np.zeros(0)
for i in range(A.shape[0]):
    A[i] = 1
A, A.shape
"""
        ],
    ),
    (
        "prefix_sum_carried",
        [
            """
import numpy as np
x = np.arange(1.0, 11.0)
for i in range(1, 10):
    x[i] = x[i] + x[i - 1]
x
"""
        ],
    ),
    (
        "reverse_dependence",
        [
            """
import numpy as np
x = np.arange(10.0)
for i in range(9):
    x[i] = x[i + 1] * 0.5
x
"""
        ],
    ),
    (
        "scalar_from_outside_read_only",
        [
            """
import numpy as np
scale = 3
offset = -1.5
A = np.zeros(5)
for i in range(5):
    A[i] = scale * i + offset
scale, offset, A
"""
        ],
    ),
    (
        "boolean_ops_in_condition",
        [
            """
import numpy as np
x = np.arange(20)
hits = 0
for i in range(20):
    if x[i] % 2 == 0 and not x[i] % 3 == 0 or x[i] == 9:
        hits += 1
hits
"""
        ],
    ),
    (
        "chained_comparison",
        [
            """
import numpy as np
x = np.linspace(0, 1, 11)
inside = 0
for i in range(11):
    if 0.2 <= x[i] < 0.7:
        inside += 1
inside
"""
        ],
    ),
    (
        "unary_minus_and_abs",
        [
            """
import numpy as np
x = np.arange(-3, 4, dtype=np.int64)
y = np.zeros(7, dtype=np.int64)
for i in range(7):
    y[i] = -abs(x[i]) + -x[i]
y
"""
        ],
    ),
    (
        "float_scalar_to_int_array",
        [
            """
import numpy as np
A = np.zeros(5, dtype=np.int64)
for i in range(5):
    A[i] = i * 1.7
A
"""
        ],
    ),
    (
        "int_accumulator_becomes_float",
        [
            """
s = 0
for i in range(5):
    s = s + 0.5
s, type(s).__name__
"""
        ],
    ),
    (
        "math_pi_constants",
        [
            """
import math
import numpy as np
A = np.zeros(4)
for i in range(4):
    A[i] = math.pi * i + np.e - math.tau
A
"""
        ],
    ),
    (
        "format_placeholders_in_comments",
        [
            """
import numpy as np
A = np.zeros(4)
for i in range(4):  # {0} {name} %s %(x)d {{}} ${x}$ `code`
    A[i] = i * 2  # '{}'.format() and "%d" % 3 and \\u00e9
A
"""
        ],
    ),
    (
        "markdown_and_latex_in_strings",
        [
            """
import numpy as np
label = r"$\\sum_{i=0}^{n} x_i$ | **bold** | <br> &amp;"
A = np.zeros(3)
for i in range(3):
    A[i] = len(label) + i
label, A
"""
        ],
    ),
    (
        "very_long_identifier_and_line",
        [
            """
import numpy as np
a_very_long_array_name_that_goes_on_and_on_for_quite_a_while_to_test_reports = np.zeros(3)
for index_with_a_long_name_as_well in range(3):
    a_very_long_array_name_that_goes_on_and_on_for_quite_a_while_to_test_reports[index_with_a_long_name_as_well] = index_with_a_long_name_as_well * 1.0 + 2.0 * index_with_a_long_name_as_well - 3.0 + 4.0 * index_with_a_long_name_as_well
a_very_long_array_name_that_goes_on_and_on_for_quite_a_while_to_test_reports
"""
        ],
    ),
    (
        "numpy_bool_bound",
        [
            """
import numpy as np
A = np.zeros(2)
n = np.bool_(True)
for i in range(n):
    A[i] = 5.0
A
"""
        ],
    ),
    (
        "numpy_uint64_bounds",
        [
            """
import numpy as np
lo = np.uint64(1)
hi = np.uint64(4)
A = np.zeros(4)
for i in range(lo, hi):
    A[i] = i
A, i, type(i).__name__
"""
        ],
    ),
    (
        "zero_size_2d_inner",
        [
            """
import numpy as np
A = np.zeros((0, 5))
B = np.zeros((5, 0))
for i in range(A.shape[0]):
    for j in range(A.shape[1]):
        A[i, j] = 1
for i in range(B.shape[0]):
    for j in range(B.shape[1]):
        B[i, j] = 1
i, A.shape, B.shape
"""
        ],
    ),
]
