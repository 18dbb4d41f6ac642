"""Loops meeting the rest of the notebook: bounds with side effects
(``__len__`` and ``__index__`` that print, user functions in ``range``),
threads and thread pools running nests at the same time, IPython magics
(``%%capture``, ``%who_ls``), nested ``run_cell``, ``exec`` and ``eval``,
``from __future__`` imports, ``if __name__ == "__main__"``, loop variables
that are ``global`` or ``nonlocal``, private names in class bodies,
generators suspended across cells, ``functools.partial``, rich display."""

CASES = [
    # --- bounds and inputs with side effects ---------------------------------------------
    (
        "len_bound_with_side_effect_inner",
        [
            """
import numpy as np
class Noisy:
    def __len__(self):
        print('len called')
        return 3
n = Noisy()
A = np.zeros((2, 3))
for i in range(2):
    for j in range(len(n)):
        A[i, j] = i + j
A
"""
        ],
    ),
    (
        "len_bound_outer_zero_trip_inner_raises",
        [
            """
import numpy as np
class Broken:
    def __len__(self):
        raise RuntimeError('len must not be called')
b = Broken()
A = np.zeros((2, 2))
for i in range(0):
    for j in range(len(b)):
        A[i, j] = 1.0
A
"""
        ],
    ),
    (
        "len_bound_root_with_side_effect",
        [
            """
import numpy as np
calls = []
class Sized:
    def __len__(self):
        calls.append('len')
        return 4
s = Sized()
A = np.zeros(4)
for i in range(len(s)):
    A[i] = i * 2
A, calls
"""
        ],
    ),
    (
        "index_bound_with_side_effect",
        [
            """
import numpy as np
class N:
    def __init__(self, v):
        self.v = v
    def __index__(self):
        print('index', self.v)
        return self.v
A = np.zeros((3, 4))
k = N(4)
for i in range(N(3)):
    for j in range(k):
        A[i, j] = i * j
A.sum()
"""
        ],
    ),
    (
        "user_function_in_bound",
        [
            """
import numpy as np
def size(n):
    print('size called with', n)
    return n
A = np.zeros(5)
for i in range(size(5)):
    A[i] = i + 0.5
A
"""
        ],
    ),
    (
        "user_function_in_inner_bound",
        [
            """
import numpy as np
count = [0]
def width(i):
    count[0] += 1
    return i + 1
T = np.zeros((4, 4))
for i in range(4):
    for j in range(width(i)):
        T[i, j] = 1.0
T.sum(), count
"""
        ],
    ),
    (
        "bound_from_generator_next",
        [
            """
import numpy as np
sizes = iter([3, 2, 4])
A = np.zeros(4)
for i in range(next(sizes)):
    A[i] = 1.0
A, next(sizes)
"""
        ],
    ),
    (
        "shape_attribute_of_custom_object",
        [
            """
import numpy as np
class Shaped:
    reads = 0
    @property
    def shape(self):
        Shaped.reads += 1
        return (3,)
s = Shaped()
A = np.zeros(3)
for i in range(s.shape[0]):
    A[i] = 7.0
A, Shaped.reads
"""
        ],
    ),
    (
        "input_only_in_untaken_branch",
        [
            """
import numpy as np
A = np.zeros(4)
for i in range(4):
    if i > 10:
        A[i] = never_defined_name
    else:
        A[i] = i
A
"""
        ],
    ),
    (
        "array_bound_read_changes_in_loop",
        [
            """
import numpy as np
A = np.zeros(6)
n = 3
for i in range(n):
    n = 6
    A[i] = n
A, n
"""
        ],
    ),
    # --- threads --------------------------------------------------------------------------
    (
        "thread_runs_function_with_nest",
        [
            """
import threading
import numpy as np
def work(A):
    for i in range(A.shape[0]):
        A[i] = i * i
A = np.zeros(16)
t = threading.Thread(target=work, args=(A,))
t.start()
t.join()
del t
A
"""
        ],
    ),
    (
        "thread_pool_concurrent_nests",
        [
            """
from concurrent.futures import ThreadPoolExecutor
import numpy as np
def kernel(k):
    A = np.zeros((8, 8))
    for i in range(8):
        for j in range(8):
            A[i, j] = (i * 8 + j) * k
    s = 0.0
    for i in range(8):
        s += A[i, i]
    return s
with ThreadPoolExecutor(max_workers=4) as ex:
    results = list(ex.map(kernel, range(12)))
results
"""
        ],
    ),
    (
        "thread_pool_shared_output_rows",
        [
            """
from concurrent.futures import ThreadPoolExecutor
import numpy as np
out = np.zeros((6, 10))
def fill_row(r):
    row = out[r]
    for j in range(10):
        row[j] = r * 100 + j
    return r
with ThreadPoolExecutor(max_workers=3) as ex:
    done = sorted(ex.map(fill_row, range(6)))
done, out.sum()
"""
        ],
    ),
    # --- IPython machinery -------------------------------------------------------------------
    (
        "cell_magic_capture",
        [
            """
%%capture captured
import numpy as np
A = np.zeros(3)
for i in range(3):
    A[i] = i
    print('row', i)
""",
            """
captured.stdout, A
""",
        ],
    ),
    (
        "line_magic_who_ls",
        [
            """
import numpy as np
alpha = 1
A = np.zeros(3)
for i in range(3):
    A[i] = alpha
names = %who_ls
names
"""
        ],
    ),
    (
        "nested_run_cell",
        [
            """
import numpy as np
A = np.zeros(4)
for i in range(4):
    A[i] = i
r = get_ipython().run_cell('B = np.ones(3)\\nfor k in range(3):\\n    B[k] = B[k] * 5\\n')
for i in range(4):
    A[i] = A[i] + B[i % 3]
ok = r.success
del r
A, B, ok
"""
        ],
    ),
    (
        "exec_string_with_loop",
        [
            """
import numpy as np
src = '''
C = np.zeros(5)
for i in range(5):
    C[i] = i ** 2
'''
ns = {'np': np}
exec(src, ns)
C_out = ns['C']
del ns
C_out, 'C' in globals()
"""
        ],
    ),
    (
        "exec_into_globals",
        [
            """
import numpy as np
exec('D = np.arange(4.0)\\nfor q in range(4):\\n    D[q] = D[q] * 3\\n')
D, q
"""
        ],
    ),
    (
        "eval_in_loop_declined",
        [
            """
import numpy as np
A = np.zeros(3)
for i in range(3):
    A[i] = eval('i * 2')
A
"""
        ],
    ),
    (
        "future_annotations_import",
        [
            """
from __future__ import annotations
import numpy as np
def scale(x: np.ndarray, c: float) -> np.ndarray:
    for i in range(x.shape[0]):
        x[i] = x[i] * c
    return x
scale(np.ones(3), 4.0), scale.__annotations__
"""
        ],
    ),
    (
        "main_guard_script_style",
        [
            """
import numpy as np
def main():
    n = 6
    A = np.zeros(n)
    for i in range(n):
        A[i] = 1.0 / (i + 1)
    print('harmonic', round(float(A.sum()), 12))
if __name__ == '__main__':
    main()
"""
        ],
    ),
    (
        "globals_dict_written_in_loop",
        [
            """
for i in range(3):
    globals()['var_%d' % i] = i * 10
var_0, var_1, var_2
"""
        ],
    ),
    (
        "display_inside_loop",
        [
            """
from IPython.display import display
for i in range(3):
    display(f'item {i}')
"""
        ],
    ),
    (
        "display_object_repr_after_loop",
        [
            """
import numpy as np
class Result:
    def __init__(self, v):
        self.v = v
    def __repr__(self):
        return f'<Result {self.v:.3f}>'
A = np.linspace(0, 1, 5)
s = 0.0
for i in range(5):
    s += A[i]
Result(s)
"""
        ],
    ),
    (
        "sys_stdout_write_in_loop",
        [
            """
import sys
for i in range(3):
    sys.stdout.write(str(i) + ';')
sys.stdout.write('\\n')
"""
        ],
    ),
    (
        "print_flush_and_sep",
        [
            """
for i in range(3):
    print(i, i * 2, sep=' | ', end='\\n', flush=True)
"""
        ],
    ),
    (
        "warnings_warn_in_loop",
        [
            """
import warnings
for i in range(3):
    if i == 1:
        warnings.warn('halfway there', UserWarning)
i
"""
        ],
    ),
    (
        "numpy_warning_from_vectorised_code_after_loop",
        [
            """
import numpy as np
A = np.zeros(3)
for i in range(3):
    A[i] = i - 1
np.log(A)
"""
        ],
    ),
    (
        "errstate_raise_in_loop_body_python",
        [
            """
import numpy as np
A = np.array([1.0, 0.0])
B = np.zeros(2)
with np.errstate(divide='raise'):
    for i in range(2):
        B[i] = 1.0 / A[i]
"""
        ],
    ),
    (
        "seterr_raise_global",
        [
            """
import numpy as np
old = np.seterr(all='raise')
A = np.array([2.0, 0.0])
B = np.zeros(2)
try:
    for i in range(2):
        B[i] = 1.0 / A[i]
except FloatingPointError as e:
    print('FloatingPointError:', e)
finally:
    np.seterr(**old)
B
"""
        ],
    ),
    (
        "seterr_ignore_overflow_int",
        [
            """
import numpy as np
with np.errstate(over='ignore'):
    x = np.int64(2 ** 62)
    for i in range(3):
        x = x * 2
x
"""
        ],
    ),
    (
        "errstate_warn_and_ignore_mixed",
        [
            """
import numpy as np
A = np.array([1.0, 0.0, -1.0])
B = np.zeros(3)
with np.errstate(divide='ignore', invalid='ignore'):
    for i in range(3):
        B[i] = A[i] / 0.0
B
"""
        ],
    ),
    (
        "warnings_filter_error_for_numpy",
        [
            """
import warnings
import numpy as np
A = np.array([1.0, 0.0])
B = np.zeros(2)
with warnings.catch_warnings():
    warnings.simplefilter('error', RuntimeWarning)
    try:
        for i in range(2):
            B[i] = 1.0 / A[i]
    except RuntimeWarning as w:
        print('caught', w)
B, i
"""
        ],
    ),
    # --- scopes ------------------------------------------------------------------------------
    (
        "global_loop_variable_in_function",
        [
            """
import numpy as np
def run(A):
    global gi
    for gi in range(A.shape[0]):
        A[gi] = gi + 1
A = np.zeros(4)
run(A)
gi, A
"""
        ],
    ),
    (
        "nonlocal_loop_variable",
        [
            """
import numpy as np
def outer():
    k = -1
    def inner(A):
        nonlocal k
        for k in range(A.shape[0]):
            A[k] = k * 3
    A = np.zeros(3)
    inner(A)
    return k, A
outer()
"""
        ],
    ),
    (
        "class_body_private_names",
        [
            """
import numpy as np
class Table:
    __n = 4
    __scale = 0.5
    data = np.zeros(__n)
    for __i in range(__n):
        data[__i] = __i * __scale
Table.data, sorted(k for k in vars(Table) if 'Table' in k)
"""
        ],
    ),
    (
        "method_reads_mangled_global_name_error",
        [
            """
import numpy as np
__limit = 3
class K:
    def run(self):
        A = np.zeros(5)
        for i in range(__limit):
            A[i] = 1
        return A
K().run()
"""
        ],
    ),
    (
        "method_mangled_global_exists",
        [
            """
import numpy as np
_K__limit = 2
class K:
    def run(self):
        A = np.zeros(5)
        for i in range(__limit):
            A[i] = 1
        return A
K().run()
"""
        ],
    ),
    (
        "generator_suspended_across_cells",
        [
            """
import numpy as np
def chunks(n):
    for c in range(3):
        A = np.zeros(n)
        for i in range(n):
            A[i] = c * n + i
        yield A
g = chunks(4)
first = next(g)
""",
            """
second = next(g)
rest = list(g)
first, second, rest
""",
        ],
    ),
    (
        "functools_partial_of_loop_function",
        [
            """
import functools
import numpy as np
def axpy(a, x, y):
    for i in range(x.shape[0]):
        y[i] = a * x[i] + y[i]
    return y
twice = functools.partial(axpy, 2.0)
twice(np.arange(3.0), np.ones(3))
"""
        ],
    ),
    (
        "staticmethod_called_via_instance_and_class",
        [
            """
import numpy as np
class Ops:
    @staticmethod
    def fill(A, v):
        for i in range(A.shape[0]):
            A[i] = v
        return A
Ops.fill(np.zeros(2), 1.0), Ops().fill(np.zeros(2), 2.0)
"""
        ],
    ),
    (
        "function_copied_with_types_function_type",
        [
            """
import types
import numpy as np
def base(A):
    for i in range(A.shape[0]):
        A[i] = A[i] + 1
    return A
clone = types.FunctionType(base.__code__, base.__globals__, 'clone')
clone(np.zeros(3)), clone.__name__
"""
        ],
    ),
    (
        "function_code_inspected",
        [
            """
import inspect
def kern(A):
    for i in range(A.shape[0]):
        A[i] = 0.0
print(inspect.getsource(kern))
kern.__code__.co_varnames, kern.__code__.co_argcount
"""
        ],
    ),
    (
        "traceback_line_of_error_in_nest",
        [
            """
import sys
import traceback
import numpy as np
A = np.zeros(3)
try:
    for i in range(4):
        A[i] = 1.0
except IndexError:
    tb = traceback.extract_tb(sys.exc_info()[2])
    print([f.lineno for f in tb], [f.line for f in tb])
    del tb
"""
        ],
    ),
    (
        "exception_context_chaining",
        [
            """
import numpy as np
A = np.zeros(2)
try:
    try:
        for i in range(3):
            A[i] = 1
    except IndexError as e:
        raise ValueError('wrapped') from e
except ValueError as v:
    print(type(v.__cause__).__name__, v.__cause__)
A
"""
        ],
    ),
    (
        "loop_in_with_open_file",
        [
            """
import io
import numpy as np
buf = io.StringIO()
A = np.arange(4.0)
with buf:
    for i in range(4):
        A[i] = A[i] * 2
    buf.write(str(A.tolist()))
    text = buf.getvalue()
text
"""
        ],
    ),
    (
        "locals_in_function_after_loop",
        [
            """
import numpy as np
def f():
    A = np.zeros(2)
    s = 0.0
    for i in range(2):
        A[i] = i
        s += i
    return sorted(locals())
f()
"""
        ],
    ),
    (
        "vars_of_module_namespace_after_loop",
        [
            """
import numpy as np
A = np.zeros(3)
for i in range(3):
    A[i] = i
sorted(k for k in globals() if not k.startswith('_') and k not in ('In', 'Out', 'exit', 'quit', 'get_ipython'))
"""
        ],
    ),
    (
        "dir_after_error_in_loop",
        [
            """
import numpy as np
A = np.zeros(2)
for i in range(3):
    A[i] = i
""",
            """
sorted(k for k in dir() if not k.startswith('_') and k not in ('In', 'Out', 'exit', 'quit', 'get_ipython'))
""",
        ],
    ),
    (
        "underscore_names_after_loops",
        [
            """
import numpy as np
A = np.zeros(2)
for i in range(2):
    A[i] = i
B = np.zeros(2)
for j in range(3):
    B[j] = j
""",
            """
sorted(k for k in globals() if k.startswith('__') and not k.endswith('__') and not k.startswith('__corpus'))
""",
        ],
    ),
    (
        "errstate_raise_large_loop",
        [
            """
import numpy as np
n = 40000
A = np.linspace(1.0, 2.0, n)
A[n - 10] = 0.0
B = np.zeros(n)
try:
    with np.errstate(divide='raise'):
        for i in range(n):
            B[i] = 1.0 / A[i]
except FloatingPointError as e:
    print('stopped:', e)
i, B[n - 11], B[n - 10], B[n - 1]
"""
        ],
    ),
]
