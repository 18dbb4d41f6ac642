"""Names a loop nest reads that are not what they usually are: builtins
shadowed by the user's functions (abs, min, max, float, int, round, range,
len), ``np`` and ``math`` rebound to other modules or objects,
monkeypatched ``math.sqrt`` and ``np.sin``, arrays that are really lists,
names that change meaning between cells."""

CASES = [
    (
        "user_abs",
        [
            """
import numpy as np
def abs(x): return 10*x
A = np.array([-1.0, 2.0, -3.0])
B = np.zeros(3)
for i in range(3):
    B[i] = abs(A[i])
B
"""
        ],
    ),
    (
        "user_abs_defined_in_earlier_cell",
        [
            """
def abs(x):
    return x + 100
""",
            """
import numpy as np
A = np.array([-1.0, 2.0])
for i in range(2):
    A[i] = abs(A[i])
A
""",
            """
del abs
A2 = np.array([-1.0, 2.0])
for i in range(2):
    A2[i] = abs(A2[i])
A2
""",
        ],
    ),
    (
        "user_min_max",
        [
            """
import numpy as np
def min(a, b): return a + b
def max(a, b): return a * b
x = np.arange(1.0, 6.0)
lo = np.zeros(5)
hi = np.zeros(5)
for i in range(5):
    lo[i] = min(x[i], 2.0)
    hi[i] = max(x[i], 3.0)
lo, hi
"""
        ],
    ),
    (
        "user_max_reduction",
        [
            """
import numpy as np
def max(a, b):
    return a if a < b else b
x = np.array([4.0, 1.0, 7.0, 3.0])
m = 100.0
for i in range(4):
    m = max(m, x[i])
m
"""
        ],
    ),
    (
        "user_float",
        [
            """
import numpy as np
def float(x): return x * 2
A = np.zeros(4)
for i in range(4):
    A[i] = float(i)
A
"""
        ],
    ),
    (
        "user_int",
        [
            """
import numpy as np
def int(x): return -1
A = np.zeros(3, dtype=np.int64)
for i in range(3):
    A[i] = int(i * 2.5)
A
"""
        ],
    ),
    (
        "user_round",
        [
            """
import numpy as np
round = lambda x: 42.0
x = np.array([1.4, 2.6])
y = np.zeros(2)
for i in range(2):
    y[i] = round(x[i])
y
"""
        ],
    ),
    (
        "user_range",
        [
            """
import numpy as np
def range(n):
    return [3, 1, 2, 0][:n]
order = []
A = np.zeros(4)
for i in range(4):
    A[i] = len(order)
    order.append(i)
order, A
"""
        ],
    ),
    (
        "user_range_generator",
        [
            """
import builtins
import numpy as np
def range(*args):
    return builtins.range(*args)[::2]
A = np.zeros(6)
for i in range(6):
    A[i] = 1.0
A, i
"""
        ],
    ),
    (
        "user_len",
        [
            """
import numpy as np
def len(x): return 2
x = np.arange(6.0)
y = np.zeros(6)
for i in range(len(x)):
    y[i] = x[i] * 2
y
"""
        ],
    ),
    (
        "builtins_module_patched_abs",
        [
            """
import builtins
import numpy as np
orig = builtins.abs
builtins.abs = lambda v: 7.0
A = np.array([-2.0, 3.0])
try:
    for i in range(2):
        A[i] = abs(A[i])
finally:
    builtins.abs = orig
A
"""
        ],
    ),
    (
        "np_rebound_to_math",
        [
            """
import math as np
import numpy
A = numpy.array([0.25, 1.0, 4.0])
for i in range(3):
    A[i] = np.sqrt(A[i])
A, np.__name__
"""
        ],
    ),
    (
        "np_rebound_to_object",
        [
            """
import numpy
class FakeNP:
    @staticmethod
    def sqrt(x):
        return -x
np = FakeNP()
A = numpy.array([4.0, 9.0])
for i in range(2):
    A[i] = np.sqrt(A[i])
A
"""
        ],
    ),
    (
        "math_rebound_to_numpy",
        [
            """
import numpy as math
import numpy
A = numpy.array([1.0, 2.0])
B = numpy.zeros(2)
for i in range(2):
    B[i] = math.exp(A[i])
B
"""
        ],
    ),
    (
        "math_rebound_to_object_with_pi",
        [
            """
import numpy as np
class M:
    pi = 3.0
    @staticmethod
    def sin(x):
        return 0.5
math = M()
A = np.zeros(3)
for i in range(3):
    A[i] = math.sin(i) + math.pi
A
"""
        ],
    ),
    (
        "np_pi_constant_shadowed",
        [
            """
import numpy
class NP:
    pi = 100.0
    e = 1.0
np = NP()
A = numpy.zeros(2)
for i in range(2):
    A[i] = np.pi * i + np.e
A
"""
        ],
    ),
    (
        "math_sqrt_monkeypatched",
        [
            """
import math
import numpy as np
math.sqrt = lambda x: 2.0
A = np.array([9.0, 16.0, 25.0])
for i in range(3):
    A[i] = math.sqrt(A[i])
A
"""
        ],
    ),
    (
        "math_sqrt_monkeypatched_in_later_cell",
        [
            """
import math
import numpy as np
A = np.array([9.0, 16.0])
for i in range(2):
    A[i] = math.sqrt(A[i])
""",
            """
orig_sqrt = math.sqrt
math.sqrt = lambda x: -1.0
B = np.array([9.0, 16.0])
for i in range(2):
    B[i] = math.sqrt(B[i])
math.sqrt = orig_sqrt
A, B
""",
        ],
    ),
    (
        "np_sin_monkeypatched",
        [
            """
import numpy as np
np.sin = lambda x: 3.0
x = np.zeros(3)
for i in range(3):
    x[i] = np.sin(i)
x
"""
        ],
    ),
    (
        "np_float64_monkeypatched",
        [
            """
import numpy as np
real_f64 = np.float64
np.float64 = lambda v: real_f64(v) + 1000
A = np.zeros(2)
for i in range(2):
    A[i] = np.float64(i)
np.float64 = real_f64
A
"""
        ],
    ),
    (
        "math_module_attribute_set_on_function_global",
        [
            """
import math
import numpy as np
def f(A):
    for i in range(A.shape[0]):
        A[i] = math.cos(A[i])
    return A
r1 = f(np.zeros(2)).tolist()
math.cos = lambda x: 5.0
r2 = f(np.zeros(2)).tolist()
r1, r2
"""
        ],
    ),
    (
        "shadow_inside_function_local",
        [
            """
import numpy as np
def g(A):
    abs = lambda v: 0.0
    for i in range(A.shape[0]):
        A[i] = abs(A[i])
    return A
g(np.array([-1.0, 1.0]))
"""
        ],
    ),
    (
        "shadow_as_parameter",
        [
            """
import numpy as np
def g(A, min):
    m = 100.0
    for i in range(A.shape[0]):
        m = min(m, A[i])
    return m
g(np.array([5.0, 2.0, 9.0]), lambda a, b: a + b)
"""
        ],
    ),
    (
        "shadow_np_parameter",
        [
            """
import numpy
def g(A, np):
    for i in range(A.shape[0]):
        A[i] = np.sqrt(A[i])
    return A
import math
g(numpy.array([4.0, 16.0]), math), g(numpy.array([1.0]), type('N', (), {'sqrt': staticmethod(lambda v: 99.0)}))
"""
        ],
    ),
    (
        "shadow_in_closure",
        [
            """
import numpy as np
def make():
    def max(a, b):
        return -1.0
    def run(A):
        m = 0.0
        for i in range(A.shape[0]):
            m = max(m, A[i])
        return m
    return run
make()(np.arange(4.0))
"""
        ],
    ),
    (
        "shadow_via_global_statement",
        [
            """
import numpy as np
def install():
    global abs
    abs = lambda v: 1000.0
install()
A = np.array([-3.0])
for i in range(1):
    A[i] = abs(A[i])
A
"""
        ],
    ),
    (
        "shadow_by_class_name",
        [
            """
import numpy as np
class float:
    def __new__(cls, v):
        return 3.5
A = np.zeros(2)
for i in range(2):
    A[i] = float(i)
A
"""
        ],
    ),
    (
        "shadow_by_exec_of_builtins_dict",
        [
            """
import numpy as np
globals()['min'] = lambda a, b: 77.0
m = np.zeros(2)
for i in range(2):
    m[i] = min(i, 5.0)
m
"""
        ],
    ),
    (
        "shadow_removed_restores_builtin",
        [
            """
import numpy as np
abs = lambda v: 0.0
del abs
A = np.array([-2.0, 3.0])
for i in range(2):
    A[i] = abs(A[i])
A
"""
        ],
    ),
    (
        "array_name_is_list",
        [
            """
A = [0.0] * 4
for i in range(4):
    A[i] = i * 2.5
A
"""
        ],
    ),
    (
        "array_name_is_tuple_error",
        [
            """
A = (0, 0, 0)
for i in range(3):
    A[i] = i
"""
        ],
    ),
    (
        "array_name_is_dict",
        [
            """
A = {}
for i in range(3):
    A[i] = i * i
A
"""
        ],
    ),
    (
        "array_name_is_string_read",
        [
            """
import numpy as np
word = 'abc'
codes = np.zeros(3)
for i in range(3):
    codes[i] = len(word[i])
codes
"""
        ],
    ),
    (
        "array_name_is_custom_getitem",
        [
            """
import numpy as np
class Squares:
    def __getitem__(self, k):
        return k * k
S = Squares()
out = np.zeros(5)
for i in range(5):
    out[i] = S[i]
out
"""
        ],
    ),
    (
        "array_name_is_custom_setitem",
        [
            """
class Recorder:
    def __init__(self):
        self.log = []
    def __setitem__(self, k, v):
        self.log.append((k, v))
R = Recorder()
for i in range(3):
    R[i] = i + 0.5
R.log
"""
        ],
    ),
    (
        "array_subclass_masked",
        [
            """
import numpy as np
m = np.ma.masked_array([1.0, 2.0, 3.0, 4.0], mask=[0, 1, 0, 0])
for i in range(4):
    m[i] = m[i] * 2
m.data, m.mask
"""
        ],
    ),
    (
        "array_subclass_custom",
        [
            """
import numpy as np
class Tracked(np.ndarray):
    writes = 0
    def __setitem__(self, k, v):
        Tracked.writes += 1
        super().__setitem__(k, v)
A = np.zeros(4).view(Tracked)
for i in range(4):
    A[i] = i
Tracked.writes, np.asarray(A)
"""
        ],
    ),
    (
        "scalar_name_is_array_0d_changing",
        [
            """
import numpy as np
c = np.array(2.0)
A = np.zeros(3)
for i in range(3):
    A[i] = c
""",
            """
c = 5
for i in range(3):
    A[i] = A[i] + c
A
""",
        ],
    ),
    (
        "scalar_name_is_bool",
        [
            """
import numpy as np
flag = True
A = np.zeros(3)
for i in range(3):
    A[i] = flag + i
A
"""
        ],
    ),
    (
        "scalar_name_is_complex",
        [
            """
import numpy as np
z = 1 + 2j
A = np.zeros(3, dtype=complex)
for i in range(3):
    A[i] = z * i
A
"""
        ],
    ),
    (
        "scalar_name_is_fraction",
        [
            """
from fractions import Fraction
import numpy as np
h = Fraction(1, 3)
acc = 0
for i in range(3):
    acc = acc + h
acc
"""
        ],
    ),
    (
        "scalar_name_is_decimal",
        [
            """
from decimal import Decimal
acc = Decimal('0.1')
for i in range(5):
    acc = acc + Decimal('0.1')
acc
"""
        ],
    ),
    (
        "scalar_is_object_with_mul",
        [
            """
class Mod7:
    def __init__(self, v): self.v = v % 7
    def __mul__(self, o): return Mod7(self.v * (o.v if isinstance(o, Mod7) else o))
    def __repr__(self): return f'Mod7({self.v})'
x = Mod7(3)
for i in range(5):
    x = x * 3
x
"""
        ],
    ),
    (
        "loop_bound_object_with_index",
        [
            """
import numpy as np
class N:
    def __index__(self):
        return 4
A = np.zeros(4)
for i in range(N()):
    A[i] = i
A
"""
        ],
    ),
    (
        "name_changes_from_function_to_array",
        [
            """
import numpy as np
def f(x): return x
A = np.zeros(3)
for i in range(3):
    A[i] = f(i)
""",
            """
f = np.array([10.0, 20.0, 30.0])
for i in range(3):
    A[i] = f[i]
A
""",
        ],
    ),
    (
        "array_rebound_to_list_between_cells",
        [
            """
import numpy as np
data = np.arange(4.0)
for i in range(4):
    data[i] = data[i] + 1
""",
            """
data = list(data)
for i in range(4):
    data[i] = data[i] * 2
data
""",
        ],
    ),
    (
        "dtype_changes_between_runs",
        [
            """
import numpy as np
def sq(A):
    for i in range(A.shape[0]):
        A[i] = A[i] * A[i]
    return A
sq(np.arange(4.0)), sq(np.arange(4)), sq(np.arange(4, dtype=np.float32)), sq(np.array([True, False]))
"""
        ],
    ),
    (
        "builtin_sum_shadowed_unrelated",
        [
            """
import numpy as np
sum = 5
A = np.zeros(3)
for i in range(3):
    A[i] = sum + i
A, sum
"""
        ],
    ),
    (
        "print_shadowed",
        [
            """
printed = []
def print(*a):
    printed.append(a)
for i in range(2):
    for j in range(2):
        print(i, j)
printed
"""
        ],
    ),
    (
        "np_reimported_as_alias",
        [
            """
import numpy as np
import numpy as xp
A = xp.zeros(3)
for i in range(3):
    A[i] = xp.sqrt(i + 1.0) + np.sqrt(i)
A
"""
        ],
    ),
    (
        "from_math_import_names",
        [
            """
from math import sqrt, sin
import numpy as np
A = np.zeros(3)
for i in range(3):
    A[i] = sqrt(i) + sin(i)
A
"""
        ],
    ),
    (
        "from_numpy_import_star_like",
        [
            """
from numpy import zeros, exp
A = zeros(3)
for i in range(3):
    A[i] = exp(-i)
A
"""
        ],
    ),
    (
        "shadow_loop_variable_name_i_global_function",
        [
            """
import numpy as np
def i():
    return 'function i'
A = np.zeros(3)
for i in range(3):
    A[i] = i
i, A
"""
        ],
    ),
    (
        "shadow_math_with_none",
        [
            """
import numpy as np
math = None
A = np.zeros(2)
for i in range(2):
    A[i] = math.sqrt(i)
"""
        ],
    ),
    (
        "np_deleted_name_error",
        [
            """
import numpy as np
A = np.zeros(3)
del np
for i in range(3):
    A[i] = np.sqrt(4.0)
"""
        ],
    ),
]
