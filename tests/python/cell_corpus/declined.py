"""Loops the engine declines (print in the body, while, break/continue,
for-else, lists and dicts, strings, calls to the user's functions, attribute
writes, tuple assignment...) and declined nests mixed with accepted ones at
several depths, as they appear in ordinary notebook code."""

CASES = [
    # --- declined at the root -----------------------------------------------------------
    (
        "print_in_loop",
        [
            """
for i in range(3):
    print(i, i * i)
"""
        ],
    ),
    (
        "print_nested_then_after",
        [
            """
for i in range(2):
    for j in range(2):
        print(i, j)
print("after")
"""
        ],
    ),
    (
        "print_nested_three_deep",
        [
            """
for i in range(2):
    for j in range(2):
        for k in range(2):
            print(i, j, k, sep='-')
print("done", i, j, k)
"""
        ],
    ),
    (
        "print_end_argument",
        [
            """
for i in range(5):
    print(i, end=' ')
print()
"""
        ],
    ),
    (
        "while_loop_counter",
        [
            """
n = 0
while n < 7:
    n += 3
n
"""
        ],
    ),
    (
        "while_with_inner_for",
        [
            """
import numpy as np
A = np.zeros(4)
step = 0
while step < 3:
    for i in range(4):
        A[i] = A[i] + step
    step += 1
A, step
"""
        ],
    ),
    (
        "for_inside_while_true_break",
        [
            """
import numpy as np
A = np.ones(5)
rounds = 0
while True:
    for i in range(5):
        A[i] = A[i] * 2
    rounds += 1
    if A[0] > 20:
        break
rounds, A
"""
        ],
    ),
    (
        "break_in_loop",
        [
            """
found = -1
for i in range(10):
    if i * i > 20:
        found = i
        break
found, i
"""
        ],
    ),
    (
        "continue_in_loop",
        [
            """
odd_sum = 0
for i in range(10):
    if i % 2 == 0:
        continue
    odd_sum += i
odd_sum
"""
        ],
    ),
    (
        "for_else_no_break",
        [
            """
for i in range(3):
    pass
else:
    print('finished', i)
"""
        ],
    ),
    (
        "for_else_with_break",
        [
            """
for n in range(2, 20):
    for d in range(2, n):
        if n % d == 0:
            break
    else:
        print(n, 'is prime')
"""
        ],
    ),
    (
        "primes_sieve_list",
        [
            """
N = 30
is_prime = [True] * N
is_prime[0] = is_prime[1] = False
for p in range(2, N):
    if is_prime[p]:
        for m in range(p * p, N, p):
            is_prime[m] = False
[k for k in range(N) if is_prime[k]]
"""
        ],
    ),
    (
        "list_append_in_loop",
        [
            """
out = []
for i in range(6):
    out.append(i * 1.5)
out
"""
        ],
    ),
    (
        "list_subscript_writes",
        [
            """
vals = [0] * 6
for i in range(6):
    vals[i] = i ** 2
vals
"""
        ],
    ),
    (
        "nested_lists_matrix",
        [
            """
n = 4
M = [[0] * n for _ in range(n)]
for i in range(n):
    for j in range(n):
        M[i][j] = i * n + j
M
"""
        ],
    ),
    (
        "dict_counting",
        [
            """
counts = {}
for i in range(12):
    key = i % 4
    counts[key] = counts.get(key, 0) + 1
counts
"""
        ],
    ),
    (
        "dict_subscript_assign",
        [
            """
d = {}
for i in range(5):
    d[i] = i * i
d
"""
        ],
    ),
    (
        "string_building",
        [
            """
s = ''
for i in range(5):
    s += str(i)
s
"""
        ],
    ),
    (
        "string_concat_operator",
        [
            """
s = 'x'
for i in range(4):
    s = s + 'y'
s, len(s)
"""
        ],
    ),
    (
        "string_times_int",
        [
            """
word = 'ab'
for i in range(3):
    word = word * 2
word
"""
        ],
    ),
    (
        "string_indexing",
        [
            """
text = 'parallel'
vowels = 0
for i in range(len(text)):
    if text[i] in 'aeiou':
        vowels += 1
vowels
"""
        ],
    ),
    (
        "call_user_function_in_loop",
        [
            """
import numpy as np
def f(x):
    return 3 * x + 1
A = np.zeros(5)
for i in range(5):
    A[i] = f(i)
A
"""
        ],
    ),
    (
        "call_user_function_statement",
        [
            """
log = []
def note(k):
    log.append(k)
for i in range(4):
    note(i)
log
"""
        ],
    ),
    (
        "method_call_in_loop",
        [
            """
import numpy as np
A = np.zeros((3, 3))
for i in range(3):
    A[i].fill(i)
A
"""
        ],
    ),
    (
        "attribute_write_in_loop",
        [
            """
class Acc:
    pass
acc = Acc()
acc.total = 0
for i in range(5):
    acc.total = acc.total + i
acc.total
"""
        ],
    ),
    (
        "attribute_read_in_loop",
        [
            """
import numpy as np
A = np.arange(6.0)
B = np.zeros(6)
for i in range(6):
    B[i] = A.size + A[i]
B
"""
        ],
    ),
    (
        "tuple_assignment_fibonacci",
        [
            """
a, b = 0, 1
for i in range(20):
    a, b = b, a + b
a, b
"""
        ],
    ),
    (
        "chained_assignment_in_loop",
        [
            """
import numpy as np
A = np.zeros(4)
B = np.zeros(4)
for i in range(4):
    A[i] = B[i] = i + 0.5
A, B
"""
        ],
    ),
    (
        "annotated_assignment_in_loop",
        [
            """
total: float = 0.0
for i in range(4):
    x: float = i * 0.5
    total += x
total, x
"""
        ],
    ),
    (
        "slice_in_loop",
        [
            """
import numpy as np
M = np.zeros((3, 4))
for i in range(3):
    M[i, :] = i
M
"""
        ],
    ),
    (
        "slice_read_in_loop",
        [
            """
import numpy as np
M = np.arange(12.0).reshape(3, 4)
s = np.zeros(3)
for i in range(3):
    s[i] = M[i, 1:3].sum()
s
"""
        ],
    ),
    (
        "indirect_subscript",
        [
            """
import numpy as np
idx = np.array([4, 0, 3, 1, 2])
A = np.zeros(5)
for i in range(5):
    A[idx[i]] = i
A
"""
        ],
    ),
    (
        "histogram_indirect",
        [
            """
import numpy as np
rng = np.random.default_rng(3)
data = rng.integers(0, 5, size=50)
hist = np.zeros(5, dtype=np.int64)
for i in range(50):
    hist[data[i]] += 1
hist, hist.sum()
"""
        ],
    ),
    (
        "iterate_over_list",
        [
            """
total = 0
for x in [3, 1, 4, 1, 5, 9, 2, 6]:
    total += x
total
"""
        ],
    ),
    (
        "iterate_over_array",
        [
            """
import numpy as np
acc = 0.0
for v in np.arange(5.0):
    acc += v
acc, type(acc).__name__
"""
        ],
    ),
    (
        "enumerate_zip",
        [
            """
pairs = []
for k, (a, b) in enumerate(zip('abc', range(3))):
    pairs.append((k, a, b))
pairs
"""
        ],
    ),
    (
        "range_with_keyword_like_star",
        [
            """
args = (2, 8, 3)
seen = []
for i in range(*args):
    seen.append(i)
seen, i
"""
        ],
    ),
    (
        "tuple_loop_target",
        [
            """
import numpy as np
A = np.zeros(3)
for i, in [(0,), (1,), (2,)]:
    A[i] = 1
A
"""
        ],
    ),
    (
        "loop_var_is_attribute",
        [
            """
class C:
    pass
c = C()
for c.i in range(3):
    pass
c.i
"""
        ],
    ),
    (
        "loop_var_is_subscript",
        [
            """
import numpy as np
holder = [0]
for holder[0] in range(4):
    pass
holder
"""
        ],
    ),
    (
        "return_like_raise_in_loop",
        [
            """
import numpy as np
A = np.zeros(5)
try:
    for i in range(5):
        if i == 3:
            raise StopIteration('stop at 3')
        A[i] = 1
except StopIteration as e:
    print('caught', e)
A, i
"""
        ],
    ),
    (
        "assert_in_loop",
        [
            """
import numpy as np
A = np.arange(5.0)
for i in range(5):
    assert A[i] >= 0
    A[i] = A[i] + 1
A
"""
        ],
    ),
    (
        "del_in_loop",
        [
            """
for i in range(3):
    tmp = i * 2
    del tmp
i, 'tmp' in globals()
"""
        ],
    ),
    (
        "import_in_loop",
        [
            """
for i in range(2):
    import math
    r = math.factorial(i + 4)
r
"""
        ],
    ),
    (
        "global_statement_in_loop_function",
        [
            """
counter = 0
def bump(n):
    global counter
    for i in range(n):
        counter += 1
    return counter
bump(5), bump(2), counter
"""
        ],
    ),
    (
        "walrus_in_loop",
        [
            """
import numpy as np
A = np.arange(6.0)
for i in range(6):
    if (y := A[i] * 2) > 5:
        A[i] = y
A, y
"""
        ],
    ),
    (
        "lambda_in_loop",
        [
            """
fs = []
for i in range(3):
    fs.append(lambda x, i=i: x + i)
[f(10) for f in fs]
"""
        ],
    ),
    (
        "nested_function_def_in_loop",
        [
            """
results = []
for i in range(3):
    def sq(v):
        return v * v
    results.append(sq(i))
results
"""
        ],
    ),
    (
        "class_def_in_loop",
        [
            """
kinds = []
for i in range(2):
    class K:
        level = i
    kinds.append(K.level)
kinds
"""
        ],
    ),
    (
        "bitwise_ops_in_loop",
        [
            """
import numpy as np
a = np.arange(8, dtype=np.int64)
b = np.zeros(8, dtype=np.int64)
for i in range(8):
    b[i] = (a[i] << 2) ^ (a[i] & 3) | 1
b
"""
        ],
    ),
    (
        "invert_operator",
        [
            """
import numpy as np
a = np.arange(5, dtype=np.int64)
for i in range(5):
    a[i] = ~a[i]
a
"""
        ],
    ),
    (
        "is_comparison",
        [
            """
import numpy as np
A = np.zeros(3)
flag = None
for i in range(3):
    if flag is None:
        A[i] = 1
A
"""
        ],
    ),
    (
        "in_comparison",
        [
            """
allowed = {1, 3}
hits = 0
for i in range(5):
    if i in allowed:
        hits += 1
hits
"""
        ],
    ),
    (
        "match_statement_in_loop",
        [
            """
names = []
for i in range(4):
    match i:
        case 0:
            names.append('zero')
        case 1 | 2:
            names.append('small')
        case _:
            names.append('many')
names
"""
        ],
    ),
    (
        "with_in_loop",
        [
            """
import io
buf = io.StringIO()
for i in range(3):
    with open(__import__('os').devnull, 'w') as fh:
        fh.write(str(i))
    buf.write(str(i))
buf.getvalue()
"""
        ],
    ),
    (
        "try_in_loop",
        [
            """
import numpy as np
A = np.array([1.0, 0.0, 2.0, 0.0])
inv = np.zeros(4)
for i in range(4):
    try:
        inv[i] = 1 / float(A[i])
    except ZeroDivisionError:
        inv[i] = -1
inv
"""
        ],
    ),
    (
        "starred_call_in_loop",
        [
            """
import math
import numpy as np
pts = np.array([[3.0, 4.0], [5.0, 12.0]])
d = np.zeros(2)
for i in range(2):
    d[i] = math.hypot(*pts[i])
d
"""
        ],
    ),
    (
        "keyword_call_in_loop",
        [
            """
import numpy as np
x = np.array([1.234, 5.678])
y = np.zeros(2)
for i in range(2):
    y[i] = round(x[i], ndigits=1)
y
"""
        ],
    ),
    (
        "min_over_iterable_declined",
        [
            """
import numpy as np
rows = np.array([[3, 1, 2], [9, 7, 8]])
m = np.zeros(2, dtype=np.int64)
for i in range(2):
    m[i] = min(rows[i])
m
"""
        ],
    ),
    (
        "mixed_scalar_and_array_name",
        [
            """
import numpy as np
x = np.arange(4.0)
out = np.zeros(4)
for i in range(4):
    out[i] = x[i]
    out = out
out
"""
        ],
    ),
    # --- declined around accepted, at several depths ------------------------------------
    (
        "time_steps_print_then_accepted_inner",
        [
            """
import numpy as np
u = np.zeros(8)
u[4] = 1.0
for t in range(3):
    new = np.zeros(8)
    for i in range(1, 7):
        new[i] = 0.5 * u[i] + 0.25 * (u[i - 1] + u[i + 1])
    u = new
    print(t, round(float(u.sum()), 12))
u
"""
        ],
    ),
    (
        "declined_outer_accepted_inner",
        [
            """
import numpy as np
A = np.zeros((3, 4))
log = []
for i in range(3):
    log.append(i)
    for j in range(4):
        A[i, j] = i * j
A, log, i, j
"""
        ],
    ),
    (
        "accepted_then_declined_sibling",
        [
            """
import numpy as np
A = np.zeros(5)
for i in range(5):
    A[i] = i
for i in range(5):
    print(A[i])
"""
        ],
    ),
    (
        "declined_inside_accepted_depth",
        [
            """
import numpy as np
A = np.zeros((2, 3))
for i in range(2):
    for j in range(3):
        A[i, j] = i + j
    print('row', i, A[i].tolist())
"""
        ],
    ),
    (
        "three_levels_middle_declined",
        [
            """
import numpy as np
T = np.zeros((2, 2, 3))
for a in range(2):
    for b in range(2):
        print('block', a, b)
        for c in range(3):
            T[a, b, c] = a * 100 + b * 10 + c
T.ravel().tolist()
"""
        ],
    ),
    (
        "while_outer_accepted_inner_nest",
        [
            """
import numpy as np
M = np.zeros((3, 3))
sweeps = 0
while sweeps < 2:
    for i in range(3):
        for j in range(3):
            M[i, j] = M[i, j] + i - j
    sweeps += 1
M
"""
        ],
    ),
    (
        "declined_nest_inside_while",
        [
            """
out = []
k = 0
while k < 2:
    for i in range(2):
        for j in range(2):
            out.append((k, i, j))
    k += 1
out
"""
        ],
    ),
    (
        "declined_inside_if",
        [
            """
verbose = True
if verbose:
    for i in range(3):
        print('step', i)
else:
    pass
"""
        ],
    ),
    (
        "accepted_inside_if_else",
        [
            """
import numpy as np
mode = 'square'
A = np.arange(5.0)
if mode == 'square':
    for i in range(5):
        A[i] = A[i] ** 2
else:
    for i in range(5):
        A[i] = -A[i]
A
"""
        ],
    ),
    (
        "break_outer_accepted_inner",
        [
            """
import numpy as np
A = np.zeros((5, 4))
for i in range(5):
    for j in range(4):
        A[i, j] = i + j
    if A[i].sum() > 12:
        break
A, i
"""
        ],
    ),
    (
        "continue_outer_accepted_inner",
        [
            """
import numpy as np
A = np.zeros((4, 3))
for i in range(4):
    if i == 1:
        continue
    for j in range(3):
        A[i, j] = 1 + i
A
"""
        ],
    ),
    (
        "for_else_outer_accepted_inner",
        [
            """
import numpy as np
A = np.zeros((2, 2))
for i in range(2):
    for j in range(2):
        A[i, j] = 5
else:
    print('all rows done')
A
"""
        ],
    ),
    (
        "list_outer_array_inner",
        [
            """
import numpy as np
rows = []
for i in range(3):
    r = np.zeros(4)
    for j in range(4):
        r[j] = i * 4 + j
    rows.append(r)
np.vstack(rows)
"""
        ],
    ),
    (
        "nested_declined_then_accepted_cells",
        [
            """
for i in range(2):
    for j in range(2):
        print(i, j)
""",
            """
import numpy as np
A = np.zeros(4)
for i in range(4):
    A[i] = i
print("after", A)
""",
        ],
    ),
    (
        "accepted_nest_in_list_comprehension_function",
        [
            """
import numpy as np
def row(k):
    r = np.zeros(3)
    for j in range(3):
        r[j] = k + j
    return r
[row(k).tolist() for k in range(3)]
"""
        ],
    ),
    (
        "dict_of_arrays_inner_accepted",
        [
            """
import numpy as np
fields = {'u': np.zeros(4), 'v': np.ones(4)}
for name in ['u', 'v']:
    arr = fields[name]
    for i in range(4):
        arr[i] = arr[i] + i
{k: v.tolist() for k, v in fields.items()}
"""
        ],
    ),
    (
        "print_before_and_after_accepted",
        [
            """
import numpy as np
print('start')
A = np.zeros(3)
for i in range(3):
    A[i] = 2 * i
print('end', A)
"""
        ],
    ),
    (
        "stderr_print_in_loop",
        [
            """
import sys
for i in range(3):
    print('warn', i, file=sys.stderr)
print('out')
"""
        ],
    ),
    (
        "generator_expression_sum",
        [
            """
sum(i * i for i in range(10))
"""
        ],
    ),
    (
        "nested_comprehension_range",
        [
            """
[[i * j for j in range(3)] for i in range(3)]
"""
        ],
    ),
    (
        "set_comprehension",
        [
            """
{i % 3 for i in range(10)}
"""
        ],
    ),
    (
        "dict_comprehension",
        [
            """
{i: i ** 2 for i in range(5)}
"""
        ],
    ),
    (
        "loop_over_range_object",
        [
            """
r = range(4)
acc = 0
for i in r:
    acc += i
acc
"""
        ],
    ),
    (
        "range_call_not_builtin_name",
        [
            """
import builtins
acc = 0
for i in builtins.range(5):
    acc += i
acc
"""
        ],
    ),
    (
        "async_function_defined_only",
        [
            """
async def agen(n):
    total = 0
    for i in range(n):
        total += i
    return total
agen.__name__
"""
        ],
    ),
    (
        "walrus_in_range_bound",
        [
            """
import numpy as np
A = np.zeros(5)
for i in range(n := 5):
    A[i] = n - i
A, n
"""
        ],
    ),
    (
        "conditional_expression_bound",
        [
            """
import numpy as np
flag = False
A = np.zeros(6)
for i in range(6 if flag else 3):
    A[i] = 1.0
A, i
"""
        ],
    ),
    (
        "loop_variable_named_like_array",
        [
            """
import numpy as np
B = np.zeros(3)
for A in range(3):
    B[A] = A * 2
A, B
"""
        ],
    ),
    (
        "module_level_global_statement",
        [
            """
global counter
counter = 0
for i in range(4):
    counter += i
counter
"""
        ],
    ),
]
