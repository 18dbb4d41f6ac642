"""Loops inside functions, methods (private names, zero-argument super(),
class and static methods, properties), closures, generators, lambdas,
comprehensions, decorators, try/except/finally, with blocks and class
bodies; recursion (factorial, merge sort, quicksort, Fibonacci with a memo)."""

CASES = [
    # --- plain functions ----------------------------------------------------------------
    (
        "function_with_nest",
        [
            """
import numpy as np
def scale(A, c):
    for i in range(A.shape[0]):
        A[i] = A[i] * c
A = np.arange(6.0)
scale(A, 3.0)
A
"""
        ],
    ),
    (
        "function_returns_reduction",
        [
            """
import numpy as np
def norm2(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] * x[i]
    return s
norm2(np.arange(10.0)), type(norm2(np.arange(3.0))).__name__
"""
        ],
    ),
    (
        "function_defined_then_called_later",
        [
            """
import numpy as np
def add_into(out, a, b):
    for i in range(out.shape[0]):
        out[i] = a[i] + b[i]
""",
            """
a = np.arange(5.0)
b = np.ones(5)
out = np.zeros(5)
add_into(out, a, b)
out
""",
            """
add_into(out, out, out)
out
""",
        ],
    ),
    (
        "function_returns_loop_variable",
        [
            """
def last_index(n):
    for i in range(n):
        pass
    return i
last_index(7)
"""
        ],
    ),
    (
        "function_zero_trip_unbound_local",
        [
            """
def last_index(n):
    for i in range(n):
        pass
    return i
last_index(0)
"""
        ],
    ),
    (
        "function_default_args",
        [
            """
import numpy as np
def ramp(n, start=1.0, step=0.5):
    A = np.zeros(n)
    for i in range(n):
        A[i] = start + i * step
    return A
ramp(4), ramp(3, step=2.0), ramp(2, 10.0)
"""
        ],
    ),
    (
        "function_keyword_only",
        [
            """
import numpy as np
def blend(a, b, *, w=0.25):
    out = np.empty_like(a)
    for i in range(a.shape[0]):
        out[i] = (1 - w) * a[i] + w * b[i]
    return out
blend(np.zeros(4), np.ones(4)), blend(np.zeros(2), np.ones(2), w=0.5)
"""
        ],
    ),
    (
        "function_varargs",
        [
            """
import numpy as np
def total(*arrays):
    s = 0.0
    for a in arrays:
        for i in range(a.shape[0]):
            s += a[i]
    return s
total(np.arange(3.0), np.ones(4), np.zeros(0))
"""
        ],
    ),
    (
        "function_with_docstring_and_annotations",
        [
            """
import numpy as np
def axpy(a: float, x: np.ndarray, y: np.ndarray) -> None:
    \"\"\"y <- a*x + y, the BLAS level-1 classic.\"\"\"
    for i in range(x.shape[0]):
        y[i] += a * x[i]
y = np.ones(5)
axpy(2.0, np.arange(5.0), y)
y, axpy.__doc__, axpy.__annotations__['a'].__name__
"""
        ],
    ),
    (
        "function_called_many_times",
        [
            """
import numpy as np
def bump(A):
    for i in range(A.shape[0]):
        A[i] += 1
A = np.zeros(3)
for _ in [0] * 25:
    bump(A)
A
"""
        ],
    ),
    (
        "function_called_in_accepted_shape",
        [
            """
import numpy as np
def fill(n, v):
    A = np.empty(n)
    for i in range(n):
        A[i] = v
    return A
[fill(k, k).sum() for k in range(5)]
"""
        ],
    ),
    (
        "function_attributes_preserved",
        [
            """
def counted(n):
    acc = 0
    for i in range(n):
        acc += i
    return acc
counted.calls = 3
counted.__name__, counted.__qualname__, counted.calls, counted(5)
"""
        ],
    ),
    (
        "function_identity_and_signature",
        [
            """
import inspect
def f(a, b=2, *args, c, **kw):
    for i in range(a):
        b += i
    return b
str(inspect.signature(f)), f.__defaults__, f.__kwdefaults__, f(3, c=0)
"""
        ],
    ),
    (
        "function_globals_changed_between_calls",
        [
            """
import numpy as np
factor = 2.0
def mul(A):
    for i in range(A.shape[0]):
        A[i] = A[i] * factor
A = np.ones(3)
mul(A)
factor = 5.0
mul(A)
A
"""
        ],
    ),
    (
        "function_local_shadows_global",
        [
            """
import numpy as np
n = 100
def first(k):
    n = k
    A = np.zeros(n)
    for i in range(n):
        A[i] = i
    return A
first(3), n
"""
        ],
    ),
    (
        "nested_function_closure",
        [
            """
import numpy as np
def make_scaler(c):
    def apply(A):
        for i in range(A.shape[0]):
            A[i] = A[i] * c
        return A
    return apply
triple = make_scaler(3)
triple(np.arange(4.0))
"""
        ],
    ),
    (
        "closure_over_array",
        [
            """
import numpy as np
def make_accumulator(n):
    store = np.zeros(n)
    def add(v):
        for i in range(n):
            store[i] += v * i
        return store
    return add
acc = make_accumulator(4)
acc(1.0)
acc(0.5).tolist()
"""
        ],
    ),
    (
        "closure_nonlocal_counter",
        [
            """
def counter():
    count = 0
    def step(n):
        nonlocal count
        for i in range(n):
            count += 1
        return count
    return step
s = counter()
s(3), s(4)
"""
        ],
    ),
    (
        "closure_cell_rebound_after",
        [
            """
import numpy as np
def outer():
    k = 1.0
    def inner(A):
        for i in range(A.shape[0]):
            A[i] = k
        return A
    r1 = inner(np.zeros(2)).tolist()
    k = 9.0
    r2 = inner(np.zeros(2)).tolist()
    return r1, r2
outer()
"""
        ],
    ),
    (
        "lambda_calls_function_with_loop",
        [
            """
import numpy as np
def colsum(M):
    out = np.zeros(M.shape[1])
    for i in range(M.shape[0]):
        for j in range(M.shape[1]):
            out[j] += M[i, j]
    return out
f = lambda M: colsum(M) * 2
f(np.arange(6.0).reshape(2, 3))
"""
        ],
    ),
    (
        "lambda_in_sorted_key",
        [
            """
data = [(3, 'c'), (1, 'a'), (2, 'b')]
sorted(data, key=lambda t: -t[0])
"""
        ],
    ),
    (
        "generator_with_range_loop",
        [
            """
def evens(n):
    for i in range(n):
        if i % 2 == 0:
            yield i
list(evens(9))
"""
        ],
    ),
    (
        "generator_with_inner_nest",
        [
            """
import numpy as np
def rows(n, m):
    for i in range(n):
        r = np.zeros(m)
        for j in range(m):
            r[j] = i * m + j
        yield r
[r.tolist() for r in rows(3, 2)]
"""
        ],
    ),
    (
        "generator_partially_consumed",
        [
            """
def gen(n):
    total = 0
    for i in range(n):
        total += i
        yield total
g = gen(10)
first = [next(g) for _ in range(3)]
first
"""
        ],
    ),
    (
        "generator_send",
        [
            """
def running_mean():
    total = 0.0
    count = 0
    while True:
        x = yield (total / count if count else 0.0)
        for k in range(1):
            total += x
            count += 1
g = running_mean()
next(g)
[g.send(v) for v in (1.0, 2.0, 6.0)]
"""
        ],
    ),
    (
        "comprehension_calls_loop_function",
        [
            """
import numpy as np
def tri(n):
    s = 0
    for i in range(n + 1):
        s += i
    return s
[tri(n) for n in range(8)]
"""
        ],
    ),
    (
        "comprehension_inside_function_with_loop",
        [
            """
import numpy as np
def table(n):
    A = np.zeros(n)
    for i in range(n):
        A[i] = i ** 2
    return [int(v) for v in A]
table(6)
"""
        ],
    ),
    (
        "decorated_function",
        [
            """
import functools
import numpy as np
def logged(fn):
    @functools.wraps(fn)
    def wrapper(*a, **k):
        print('calling', fn.__name__)
        return fn(*a, **k)
    return wrapper
@logged
def cumsum(x):
    out = np.zeros_like(x)
    acc = 0.0
    for i in range(x.shape[0]):
        acc += x[i]
        out[i] = acc
    return out
cumsum(np.arange(5.0)), cumsum.__name__
"""
        ],
    ),
    (
        "decorator_with_loop_inside",
        [
            """
def repeat(n):
    def deco(fn):
        def wrapper(x):
            for i in range(n):
                x = fn(x)
            return x
        return wrapper
    return deco
@repeat(4)
def double(x):
    return 2 * x
double(3)
"""
        ],
    ),
    (
        "lru_cache_function_with_loop",
        [
            """
import functools
@functools.lru_cache(maxsize=None)
def partitions(n):
    ways = [1] + [0] * n
    for k in range(1, n + 1):
        for m in range(k, n + 1):
            ways[m] += ways[m - k]
    return ways[n]
partitions(20), partitions.cache_info().hits
"""
        ],
    ),
    # --- try / with -----------------------------------------------------------------------
    (
        "try_except_around_accepted",
        [
            """
import numpy as np
A = np.zeros(5)
try:
    for i in range(5):
        A[i] = 10 - i
except Exception as e:
    print('never', e)
A
"""
        ],
    ),
    (
        "try_except_catches_index_error",
        [
            """
import numpy as np
A = np.zeros(4)
try:
    for i in range(6):
        A[i] = i + 1
except IndexError as e:
    print('caught:', e)
A, i
"""
        ],
    ),
    (
        "try_finally_after_error",
        [
            """
import numpy as np
A = np.zeros(3)
log = []
try:
    try:
        for i in range(5):
            A[i] = 1.0 / (2 - i)
    finally:
        log.append('cleanup')
except ZeroDivisionError as e:
    log.append(str(e))
A, log, i
"""
        ],
    ),
    (
        "try_else_branch_loop",
        [
            """
import numpy as np
A = np.zeros(3)
try:
    x = 1
except ValueError:
    pass
else:
    for i in range(3):
        A[i] = x + i
finally:
    for j in range(3):
        A[j] = A[j] * 2
A
"""
        ],
    ),
    (
        "except_branch_loop",
        [
            """
import numpy as np
A = np.zeros(4)
try:
    int('not a number')
except ValueError:
    for i in range(4):
        A[i] = -1
A
"""
        ],
    ),
    (
        "exception_group_try_star",
        [
            """
import numpy as np
A = np.zeros(3)
try:
    raise ExceptionGroup('eg', [ValueError('v')])
except* ValueError:
    for i in range(3):
        A[i] = 7
A
"""
        ],
    ),
    (
        "with_block_loop",
        [
            """
import contextlib
import numpy as np
events = []
@contextlib.contextmanager
def section(name):
    events.append('enter ' + name)
    yield
    events.append('exit ' + name)
A = np.zeros(4)
with section('fill'):
    for i in range(4):
        A[i] = i * i
events, A
"""
        ],
    ),
    (
        "with_errstate_loop",
        [
            """
import numpy as np
x = np.array([1.0, 0.0, -1.0])
y = np.zeros(3)
with np.errstate(divide='ignore'):
    for i in range(3):
        y[i] = np.log(x[i] + 1.0)
y
"""
        ],
    ),
    (
        "with_suppress_error_in_loop",
        [
            """
import contextlib
import numpy as np
A = np.zeros(3)
with contextlib.suppress(IndexError):
    for i in range(5):
        A[i] = 2.0
A, i
"""
        ],
    ),
    # --- classes ---------------------------------------------------------------------------
    (
        "method_with_nest",
        [
            """
import numpy as np
class Grid:
    def __init__(self, n):
        self.n = n
        self.data = np.zeros((n, n))
    def fill(self):
        data = self.data
        for i in range(self.n):
            for j in range(self.n):
                data[i, j] = i - j
        return data
g = Grid(3)
g.fill()
"""
        ],
    ),
    (
        "method_private_names",
        [
            """
import numpy as np
class Particles:
    def __init__(self, n):
        self.__n = n
        self.__x = np.zeros(n)
    def __advance(self, dt):
        x = self.__x
        for i in range(self.__n):
            x[i] = x[i] + dt * (i + 1)
    def step(self, dt):
        self.__advance(dt)
        return self.__x
p = Particles(4)
p.step(0.5)
p.step(0.25).tolist(), sorted(vars(p))
"""
        ],
    ),
    (
        "private_local_name_in_method",
        [
            """
import numpy as np
class K:
    def run(self, n):
        __acc = 0.0
        for i in range(n):
            __acc += i * 0.5
        return __acc
K().run(6)
"""
        ],
    ),
    (
        "super_zero_arg_with_loop",
        [
            """
import numpy as np
class Base:
    def update(self, A):
        for i in range(A.shape[0]):
            A[i] = A[i] + 1
        return A
class Child(Base):
    def update(self, A):
        A = super().update(A)
        for i in range(A.shape[0]):
            A[i] = A[i] * 10
        return A
Child().update(np.zeros(3))
"""
        ],
    ),
    (
        "super_in_init_then_loop",
        [
            """
import numpy as np
class Field:
    def __init__(self, n):
        self.u = np.zeros(n)
class HeatField(Field):
    def __init__(self, n, hot):
        super().__init__(n)
        for i in range(n):
            self.u[i] = hot if i == n // 2 else 0.0
h = HeatField(5, 100.0)
h.u
"""
        ],
    ),
    (
        "classmethod_and_staticmethod",
        [
            """
import numpy as np
class Kernels:
    scale = 2.0
    @staticmethod
    def ramp(n):
        A = np.zeros(n)
        for i in range(n):
            A[i] = i
        return A
    @classmethod
    def scaled(cls, n):
        A = cls.ramp(n)
        s = cls.scale
        for i in range(n):
            A[i] = A[i] * s
        return A
Kernels.scaled(4), Kernels.ramp(2)
"""
        ],
    ),
    (
        "property_with_loop",
        [
            """
import numpy as np
class Vec:
    def __init__(self, xs):
        self.xs = np.asarray(xs, dtype=float)
    @property
    def norm1(self):
        xs = self.xs
        s = 0.0
        for i in range(xs.shape[0]):
            s += abs(xs[i])
        return s
Vec([3, -4, 1]).norm1
"""
        ],
    ),
    (
        "dunder_methods_with_loops",
        [
            """
import numpy as np
class Poly:
    def __init__(self, coeffs):
        self.c = np.asarray(coeffs, dtype=float)
    def __call__(self, x):
        acc = 0.0
        c = self.c
        for k in range(c.shape[0] - 1, -1, -1):
            acc = acc * x + c[k]
        return acc
    def __len__(self):
        return self.c.shape[0]
    def __repr__(self):
        return f'Poly({self.c.tolist()})'
p = Poly([1, 0, 2])
p(3.0), len(p), p
"""
        ],
    ),
    (
        "class_body_loop",
        [
            """
import numpy as np
class Table:
    size = 5
    values = np.zeros(size)
    for i in range(size):
        values[i] = i * 1.5
Table.values, Table.i
"""
        ],
    ),
    (
        "class_body_declined_loop",
        [
            """
class Registry:
    names = []
    for k in range(3):
        names.append('item%d' % k)
Registry.names
"""
        ],
    ),
    (
        "class_attribute_shadowed_by_instance",
        [
            """
import numpy as np
class Cfg:
    n = 3
    def build(self):
        n = self.n
        A = np.zeros(n)
        for i in range(n):
            A[i] = n
        return A
c = Cfg()
c.n = 5
c.build()
"""
        ],
    ),
    (
        "dataclass_with_loop_method",
        [
            """
from dataclasses import dataclass, field
import numpy as np
@dataclass
class Stencil:
    n: int
    w: float = 0.5
    def apply(self, u):
        out = np.zeros_like(u)
        w = self.w
        for i in range(1, self.n - 1):
            out[i] = w * u[i] + (1 - w) * 0.5 * (u[i - 1] + u[i + 1])
        return out
s = Stencil(6)
s.apply(np.arange(6.0) ** 2), s
"""
        ],
    ),
    (
        "inheritance_override_uses_loop",
        [
            """
import numpy as np
class Op:
    def f(self, x):
        return x
    def apply(self, A):
        for i in range(A.shape[0]):
            A[i] = self.f(A[i])
        return A
class Sq(Op):
    def f(self, x):
        return x * x
Sq().apply(np.arange(4.0))
"""
        ],
    ),
    (
        "method_uses_class_constant_via_self",
        [
            """
import numpy as np
class Damp:
    K = 0.9
    def run(self, A):
        k = self.K
        for i in range(A.shape[0]):
            A[i] = A[i] * k
        return A
Damp().run(np.ones(3))
"""
        ],
    ),
    (
        "metaclass_and_slots",
        [
            """
import numpy as np
class P:
    __slots__ = ('x',)
    def __init__(self, n):
        self.x = np.zeros(n)
        x = self.x
        for i in range(n):
            x[i] = i + 0.5
p = P(3)
p.x
"""
        ],
    ),
    # --- recursion --------------------------------------------------------------------------
    (
        "factorial_recursive",
        [
            """
def fact(n): return 1 if n <= 1 else n*fact(n-1)
fact(10), fact(25)
"""
        ],
    ),
    (
        "factorial_with_loop_and_recursion",
        [
            """
def fact(n):
    if n <= 1:
        return 1
    acc = 1
    for k in range(1):
        acc = n * fact(n - 1)
    return acc
[fact(k) for k in range(8)]
"""
        ],
    ),
    (
        "recursive_function_with_accepted_loop",
        [
            """
import numpy as np
def smooth(u, times):
    if times == 0:
        return u
    v = np.zeros_like(u)
    for i in range(1, u.shape[0] - 1):
        v[i] = (u[i - 1] + u[i] + u[i + 1]) / 3.0
    return smooth(v, times - 1)
smooth(np.arange(8.0) ** 2, 3)
"""
        ],
    ),
    (
        "merge_sort",
        [
            """
def merge_sort(a):
    if len(a) <= 1:
        return a
    mid = len(a) // 2
    left = merge_sort(a[:mid])
    right = merge_sort(a[mid:])
    out = []
    i = j = 0
    while i < len(left) and j < len(right):
        if left[i] <= right[j]:
            out.append(left[i]); i += 1
        else:
            out.append(right[j]); j += 1
    return out + left[i:] + right[j:]
merge_sort([5, 2, 9, 1, 5, 6, 0, -3])
"""
        ],
    ),
    (
        "merge_sort_numpy_index_loops",
        [
            """
import numpy as np
def merge(a, lo, mid, hi, tmp):
    for k in range(lo, hi):
        tmp[k] = a[k]
    i, j = lo, mid
    for k in range(lo, hi):
        if i < mid and (j >= hi or tmp[i] <= tmp[j]):
            a[k] = tmp[i]
            i += 1
        else:
            a[k] = tmp[j]
            j += 1
def msort(a, lo, hi, tmp):
    if hi - lo < 2:
        return
    mid = (lo + hi) // 2
    msort(a, lo, mid, tmp)
    msort(a, mid, hi, tmp)
    merge(a, lo, mid, hi, tmp)
rng = np.random.default_rng(11)
a = rng.integers(-50, 50, size=23).astype(np.float64)
msort(a, 0, a.shape[0], np.empty_like(a))
a, bool(np.all(a[:-1] <= a[1:]))
"""
        ],
    ),
    (
        "quicksort_in_place",
        [
            """
import numpy as np
def partition(a, lo, hi):
    p = a[hi]
    i = lo
    for j in range(lo, hi):
        if a[j] < p:
            t = a[i]
            a[i] = a[j]
            a[j] = t
            i += 1
    t = a[i]
    a[i] = a[hi]
    a[hi] = t
    return i
def qsort(a, lo, hi):
    if lo < hi:
        p = partition(a, lo, hi)
        qsort(a, lo, p - 1)
        qsort(a, p + 1, hi)
rng = np.random.default_rng(5)
a = rng.permutation(15).astype(np.int64)
qsort(a, 0, 14)
a
"""
        ],
    ),
    (
        "fibonacci_memo_dict",
        [
            """
memo = {0: 0, 1: 1}
def fib(n):
    if n not in memo:
        memo[n] = fib(n - 1) + fib(n - 2)
    return memo[n]
fib(60), len(memo)
"""
        ],
    ),
    (
        "fibonacci_loop_bigint",
        [
            """
def fib(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a
fib(150)
"""
        ],
    ),
    (
        "mutual_recursion",
        [
            """
def is_even(n):
    return True if n == 0 else is_odd(n - 1)
def is_odd(n):
    return False if n == 0 else is_even(n - 1)
[is_even(k) for k in range(6)]
"""
        ],
    ),
    (
        "recursion_error",
        [
            """
def down(n):
    total = 0
    for i in range(1):
        total = down(n + 1)
    return total
down(0)
"""
        ],
    ),
    (
        "recursive_power_set_sizes",
        [
            """
import numpy as np
def binom_table(n):
    C = np.zeros((n + 1, n + 1), dtype=np.int64)
    for i in range(n + 1):
        C[i, 0] = 1
        for j in range(1, i + 1):
            C[i, j] = C[i - 1, j - 1] + C[i - 1, j]
    return C
binom_table(10)[10]
"""
        ],
    ),
    (
        "ackermann_small",
        [
            """
def ack(m, n):
    if m == 0:
        return n + 1
    if n == 0:
        return ack(m - 1, 1)
    return ack(m - 1, ack(m, n - 1))
ack(2, 3)
"""
        ],
    ),
    (
        "hanoi_moves",
        [
            """
moves = []
def hanoi(n, a, b, c):
    if n == 0:
        return
    hanoi(n - 1, a, c, b)
    moves.append((a, c))
    hanoi(n - 1, b, a, c)
hanoi(4, 'A', 'B', 'C')
len(moves), moves[:3]
"""
        ],
    ),
    (
        "function_redefined_between_cells",
        [
            """
import numpy as np
def kern(A):
    for i in range(A.shape[0]):
        A[i] = 1.0
A = np.zeros(3)
kern(A)
""",
            """
def kern(A):
    for i in range(A.shape[0]):
        A[i] = A[i] + 2.0
kern(A)
A
""",
        ],
    ),
    (
        "function_object_passed_around",
        [
            """
import numpy as np
def inc(A):
    for i in range(A.shape[0]):
        A[i] += 1
ops = {'inc': inc}
A = np.zeros(2)
ops['inc'](A)
ops['inc'](A)
A, ops['inc'] is inc
"""
        ],
    ),
    (
        "function_with_default_array_mutated",
        [
            """
import numpy as np
def accumulate(v, store=np.zeros(3)):
    for i in range(3):
        store[i] += v
    return store
accumulate(1.0)
accumulate(2.0).tolist()
"""
        ],
    ),
    (
        "function_uses_global_array_written",
        [
            """
import numpy as np
G = np.zeros(4)
def touch():
    for i in range(4):
        G[i] = i * 3
touch()
G
"""
        ],
    ),
    (
        "function_global_scalar_declared",
        [
            """
total = 0.0
def add_all(n):
    global total
    for i in range(n):
        total += 0.5
add_all(6)
total
"""
        ],
    ),
    (
        "inner_function_defined_in_loop_function",
        [
            """
import numpy as np
def outer(n):
    def helper(A):
        for i in range(A.shape[0]):
            A[i] = A[i] + n
        return A
    return helper(np.zeros(n))
outer(3)
"""
        ],
    ),
    (
        "async_def_run_with_asyncio_loop",
        [
            """
import asyncio
import numpy as np
async def work(n):
    A = np.zeros(n)
    for i in range(n):
        A[i] = i * 2
    await asyncio.sleep(0)
    return A.sum()
await work(5)
"""
        ],
    ),
    (
        "function_returns_inside_loop",
        [
            """
def find(n, target):
    for i in range(n):
        if i * i >= target:
            return i
    return -1
find(10, 20), find(3, 100)
"""
        ],
    ),
    (
        "function_loop_variable_used_after_nested",
        [
            """
import numpy as np
def corner(n):
    A = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            A[i, j] = i * j
    return i, j, A[i, j]
corner(4)
"""
        ],
    ),
    (
        "method_calls_other_method_in_loop",
        [
            """
import numpy as np
class Model:
    def rate(self, k):
        return 0.1 * k
    def run(self, n):
        A = np.zeros(n)
        for k in range(n):
            A[k] = self.rate(k)
        return A
Model().run(4)
"""
        ],
    ),
    (
        "function_exception_inside_nest_propagates",
        [
            """
import numpy as np
def bad(A):
    for i in range(A.shape[0] + 2):
        A[i] = i
A = np.zeros(3)
try:
    bad(A)
except IndexError as e:
    print(type(e).__name__, e)
A
"""
        ],
    ),
    (
        "function_error_last_cell",
        [
            """
import numpy as np
def divide(A, d):
    for i in range(A.shape[0]):
        A[i] = A[i] // d
    return A
divide(np.arange(4), 2)
""",
            """
divide(np.arange(4), 0)
""",
        ],
    ),
    # --- arguments that alias, change shape or are not arrays --------------------------------
    (
        "same_array_passed_twice_read_ahead",
        [
            """
import numpy as np
def shift_left(out, a):
    for i in range(out.shape[0] - 1):
        out[i] = a[i + 1]
A = np.arange(8.0)
shift_left(A, A)
A
"""
        ],
    ),
    (
        "same_array_passed_twice_propagates",
        [
            """
import numpy as np
def shift_right(out, a):
    for i in range(out.shape[0] - 1):
        out[i + 1] = a[i]
A = np.arange(8.0)
shift_right(A, A)
A
"""
        ],
    ),
    (
        "overlapping_views_as_arguments",
        [
            """
import numpy as np
def add_into(dst, src):
    for i in range(dst.shape[0]):
        dst[i] = dst[i] + src[i]
A = np.arange(10.0)
add_into(A[1:], A[:-1])
A
"""
        ],
    ),
    (
        "function_called_with_2d_instead_of_1d",
        [
            """
import numpy as np
def double(A):
    for i in range(A.shape[0]):
        A[i] = A[i] * 2
    return A
double(np.arange(3.0)), double(np.arange(6.0).reshape(3, 2))
"""
        ],
    ),
    (
        "function_called_with_list_attribute_error",
        [
            """
import numpy as np
def double(A):
    for i in range(A.shape[0]):
        A[i] = A[i] * 2
    return A
double(np.ones(2))
double([1, 2, 3])
"""
        ],
    ),
    (
        "function_called_with_list_len_bound",
        [
            """
def double(A):
    for i in range(len(A)):
        A[i] = A[i] * 2
    return A
import numpy as np
double(np.ones(2)), double([1, 2, 3]), double(['a', 'b'])
"""
        ],
    ),
    (
        "unbound_local_accumulator",
        [
            """
total = 0
def f(n):
    for i in range(n):
        total += i
    return total
f(3)
"""
        ],
    ),
    (
        "scalar_argument_of_wrong_type",
        [
            """
import numpy as np
def fill(A, v):
    for i in range(A.shape[0]):
        A[i] = v
    return A
fill(np.zeros(2), 3), fill(np.zeros(2), True), fill(np.zeros(2, dtype=np.int64), 2.7)
"""
        ],
    ),
    (
        "scalar_argument_none_type_error",
        [
            """
import numpy as np
def fill(A, v):
    for i in range(A.shape[0]):
        A[i] = v * 2
    return A
fill(np.zeros(2), 1.0)
fill(np.zeros(2), None)
"""
        ],
    ),
    (
        "six_deep_nest",
        [
            """
import numpy as np
T = np.zeros((2, 2, 2, 2, 2, 3))
for a in range(2):
    for b in range(2):
        for c in range(2):
            for d in range(2):
                for e in range(2):
                    for f in range(3):
                        T[a, b, c, d, e, f] = a + 2 * b + 4 * c + 8 * d + 16 * e + 32 * f
T.sum(), T[1, 0, 1, 0, 1, 2]
"""
        ],
    ),
    (
        "many_nests_in_one_cell",
        [
            """
import numpy as np
A = np.zeros(8)
for i in range(8):
    A[i] = i
for i in range(8):
    A[i] = A[i] + 1
for i in range(8):
    A[i] = A[i] * 2
for i in range(8):
    A[i] = A[i] - 3
for i in range(8):
    A[i] = A[i] / 2
for i in range(8):
    A[i] = A[i] ** 2
for i in range(8):
    A[i] = -A[i]
for i in range(8):
    A[i] = abs(A[i])
for i in range(8):
    A[i] = A[i] % 7
for i in range(8):
    A[i] = A[i] // 1
A
"""
        ],
    ),
]
