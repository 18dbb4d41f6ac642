"""Arrays made afresh in each pass of a loop at the top level of a
notebook (time steps, iterative solvers): the names the cells leave
(unbound after a loop that never runs, the same object under two names
after ``a = b``, NumPy's layout), and the shapes that stay Python."""

CASES = [
    (
        "zeros_each_step_zero_trip_leaves_the_name_unbound",
        [
            """
import numpy as np
steps = 0
total = 0.0
for s in range(steps):
    w = np.zeros(4)
    for i in range(4):
        w[i] = i * s
        total += w[i]
total
""",
            "w",
        ],
    ),
    (
        "copy_each_step_fortran_grid",
        [
            """
import numpy as np
T = np.asfortranarray(np.arange(30.0).reshape(5, 6) % 7)
for s in range(4):
    Tn = np.copy(T)
    for i in range(1, 4):
        for j in range(1, 5):
            T[i, j] = Tn[i, j] + 0.1 * (Tn[i + 1, j] + Tn[i - 1, j] + Tn[i, j + 1] + Tn[i, j - 1] - 4 * Tn[i, j])
T, Tn.flags.f_contiguous, Tn.strides
""",
        ],
    ),
    (
        "hillis_steele_names_after_the_loop",
        [
            """
import numpy as np
x = np.arange(1.0, 12.0)
n = len(x)
a = x
offset = 1
while offset < n:
    b = a.copy()
    for i in range(offset, n):
        b[i] = a[i] + a[i - offset]
    a = b
    offset *= 2
a, a is b, a is x, x
""",
        ],
    ),
    (
        "full_uint8_each_generation",
        [
            """
import numpy as np
grid = (np.arange(36).reshape(6, 6) % 3 == 0).astype(np.uint8)
for g in range(3):
    new = np.full((6, 6), 0, dtype=np.uint8)
    for i in range(1, 5):
        for j in range(1, 5):
            s = grid[i - 1, j] + grid[i + 1, j] + grid[i, j - 1] + grid[i, j + 1]
            if s >= 2:
                new[i, j] = 1
    grid = new
grid, new.dtype
""",
        ],
    ),
    (
        "appended_arrays_stay_python",
        [
            """
import numpy as np
kept = []
for s in range(3):
    w = np.ones(3)
    for i in range(3):
        w[i] = w[i] * s + i
    kept.append(w)
[k.tolist() for k in kept], kept[0] is kept[1]
""",
        ],
    ),
    (
        "size_that_raises_at_the_third_pass",
        [
            """
import numpy as np
x = np.zeros(5)
m = -1
for s in range(4):
    x[s] = 1.0
    if s == 2:
        bad = np.zeros(m)
        bad[0] = 1.0
""",
            "x",
        ],
    ),
]
