"""Whole small programs as they appear in teaching notebooks on GPU
programming, numeric scripts, Numba example programs and PolyBench-like
kernels: stencils and time steps, Game of Life, Mandelbrot and Julia sets,
matrix kernels, image filters, n-body, Monte Carlo with fixed seeds, ODE
integrators, dynamic programming. Sizes are small so that CPython runs
every cell quickly."""

CASES = [
    # --- "from a slow loop to a parallel kernel" ----------------------------------------
    (
        "tour_vector_add_three_ways",
        [
            """
import numpy as np
N = 64
a = np.arange(N, dtype=np.float64)
b = 2 * np.arange(N, dtype=np.float64)
c = np.zeros(N)
""",
            """
# the loop a CUDA thread would run once: one i per thread
for i in range(N):
    c[i] = a[i] + b[i]
""",
            """
assert np.array_equal(c, a + b)
c[:5], c[-1]
""",
        ],
    ),
    (
        "tour_grid_stride_style",
        [
            """
import numpy as np
n = 50
x = np.linspace(0, 1, n)
y = np.zeros(n)
threads = 8
for t in range(threads):
    for i in range(t, n, threads):
        y[i] = 3 * x[i] ** 2
np.allclose(y, 3 * x ** 2), y[7]
"""
        ],
    ),
    (
        "tour_blocks_and_threads",
        [
            """
import numpy as np
blocks, threads = 4, 8
out = np.zeros(blocks * threads, dtype=np.int64)
for b in range(blocks):
    for t in range(threads):
        gid = b * threads + t
        out[gid] = gid * gid
out
"""
        ],
    ),
    (
        "matmul_naive",
        [
            """
import numpy as np
rng = np.random.default_rng(42)
n, m, p = 6, 5, 4
A = rng.random((n, m))
B = rng.random((m, p))
C = np.zeros((n, p))
for i in range(n):
    for j in range(p):
        acc = 0.0
        for k in range(m):
            acc += A[i, k] * B[k, j]
        C[i, j] = acc
np.allclose(C, A @ B), C[0, 0]
"""
        ],
    ),
    (
        "matmul_accumulate_in_place",
        [
            """
import numpy as np
n = 8
A = np.arange(n * n, dtype=np.float64).reshape(n, n) / n
B = np.eye(n) * 2 + 1
C = np.zeros((n, n))
for i in range(n):
    for j in range(n):
        for k in range(n):
            C[i, j] += A[i, k] * B[k, j]
C
"""
        ],
    ),
    (
        "matmul_int_matrices",
        [
            """
import numpy as np
A = np.arange(12, dtype=np.int64).reshape(3, 4)
B = np.arange(8, dtype=np.int64).reshape(4, 2)
C = np.zeros((3, 2), dtype=np.int64)
for i in range(3):
    for j in range(2):
        for k in range(4):
            C[i, j] += A[i, k] * B[k, j]
C, np.array_equal(C, A @ B)
"""
        ],
    ),
    (
        "matmul_ikj_order",
        [
            """
import numpy as np
n = 7
A = np.fromfunction(lambda i, j: (i + 1) / (j + 2), (n, n))
B = np.fromfunction(lambda i, j: i - j, (n, n))
C = np.zeros((n, n))
for i in range(n):
    for k in range(n):
        a = A[i, k]
        for j in range(n):
            C[i, j] += a * B[k, j]
C
"""
        ],
    ),
    (
        "transpose",
        [
            """
import numpy as np
A = np.arange(20.0).reshape(4, 5)
T = np.zeros((5, 4))
for i in range(4):
    for j in range(5):
        T[j, i] = A[i, j]
np.array_equal(T, A.T), T
"""
        ],
    ),
    (
        "in_place_transpose_square",
        [
            """
import numpy as np
n = 5
A = np.arange(n * n, dtype=np.float64).reshape(n, n)
for i in range(n):
    for j in range(i + 1, n):
        t = A[i, j]
        A[i, j] = A[j, i]
        A[j, i] = t
A
"""
        ],
    ),
    (
        "matvec",
        [
            """
import numpy as np
rng = np.random.default_rng(2)
A = rng.standard_normal((9, 7))
x = rng.standard_normal(7)
y = np.zeros(9)
for i in range(9):
    for j in range(7):
        y[i] += A[i, j] * x[j]
np.allclose(y, A @ x)
"""
        ],
    ),
    (
        "outer_product",
        [
            """
import numpy as np
u = np.arange(1.0, 5.0)
v = np.arange(1.0, 4.0)
O = np.zeros((4, 3))
for i in range(4):
    for j in range(3):
        O[i, j] = u[i] * v[j]
O
"""
        ],
    ),
    (
        "row_sums_and_col_sums",
        [
            """
import numpy as np
M = np.arange(24.0).reshape(4, 6)
rs = np.zeros(4)
cs = np.zeros(6)
for i in range(4):
    for j in range(6):
        rs[i] += M[i, j]
        cs[j] += M[i, j]
rs, cs
"""
        ],
    ),
    # --- stencils and time steps ------------------------------------------------------------
    (
        "jacobi_1d",
        [
            """
import numpy as np
n, steps = 20, 5
A = np.fromfunction(lambda i: (i + 2) / n, (n,))
B = np.fromfunction(lambda i: (i + 3) / n, (n,))
for t in range(steps):
    for i in range(1, n - 1):
        B[i] = 0.33333 * (A[i - 1] + A[i] + A[i + 1])
    for i in range(1, n - 1):
        A[i] = 0.33333 * (B[i - 1] + B[i] + B[i + 1])
A, B
"""
        ],
    ),
    (
        "jacobi_2d",
        [
            """
import numpy as np
n, steps = 10, 4
A = np.fromfunction(lambda i, j: i * (j + 2) / n, (n, n))
B = np.fromfunction(lambda i, j: i * (j + 3) / n, (n, n))
for t in range(steps):
    for i in range(1, n - 1):
        for j in range(1, n - 1):
            B[i, j] = 0.2 * (A[i, j] + A[i, j - 1] + A[i, j + 1] + A[i + 1, j] + A[i - 1, j])
    for i in range(1, n - 1):
        for j in range(1, n - 1):
            A[i, j] = 0.2 * (B[i, j] + B[i, j - 1] + B[i, j + 1] + B[i + 1, j] + B[i - 1, j])
A.sum(), A[3, 4], B[5, 5]
"""
        ],
    ),
    (
        "heat_1d_explicit_print_each_step",
        [
            """
import numpy as np
nx = 12
alpha = 0.25
u = np.zeros(nx)
u[nx // 2] = 1.0
for step in range(4):
    un = u.copy()
    for i in range(1, nx - 1):
        u[i] = un[i] + alpha * (un[i + 1] - 2 * un[i] + un[i - 1])
    print(step, ' '.join(f'{v:.4f}' for v in u))
"""
        ],
    ),
    (
        "heat_2d_time_stepped_inner_nest",
        [
            """
import numpy as np
n = 9
T = np.zeros((n, n))
T[0, :] = 100.0
for it in range(6):
    Tn = T.copy()
    for i in range(1, n - 1):
        for j in range(1, n - 1):
            T[i, j] = 0.25 * (Tn[i + 1, j] + Tn[i - 1, j] + Tn[i, j + 1] + Tn[i, j - 1])
round(float(T.sum()), 9), T[1, 4]
"""
        ],
    ),
    (
        "heat_3d_small",
        [
            """
import numpy as np
n = 6
A = np.fromfunction(lambda i, j, k: (i + j + (n - k)) * 10 / n, (n, n, n))
B = A.copy()
for t in range(2):
    for i in range(1, n - 1):
        for j in range(1, n - 1):
            for k in range(1, n - 1):
                B[i, j, k] = (0.125 * (A[i + 1, j, k] - 2.0 * A[i, j, k] + A[i - 1, j, k])
                              + 0.125 * (A[i, j + 1, k] - 2.0 * A[i, j, k] + A[i, j - 1, k])
                              + 0.125 * (A[i, j, k + 1] - 2.0 * A[i, j, k] + A[i, j, k - 1])
                              + A[i, j, k])
    for i in range(1, n - 1):
        for j in range(1, n - 1):
            for k in range(1, n - 1):
                A[i, j, k] = B[i, j, k]
A.sum()
"""
        ],
    ),
    (
        "seidel_2d_in_place",
        [
            """
import numpy as np
n = 8
A = np.fromfunction(lambda i, j: (i * (j + 2) + 2) / n, (n, n))
for t in range(2):
    for i in range(1, n - 1):
        for j in range(1, n - 1):
            A[i, j] = (A[i - 1, j - 1] + A[i - 1, j] + A[i - 1, j + 1]
                       + A[i, j - 1] + A[i, j] + A[i, j + 1]
                       + A[i + 1, j - 1] + A[i + 1, j] + A[i + 1, j + 1]) / 9.0
A
"""
        ],
    ),
    (
        "fdtd_2d",
        [
            """
import numpy as np
tmax, nx, ny = 3, 6, 7
ex = np.fromfunction(lambda i, j: i * (j + 1) / nx, (nx, ny))
ey = np.fromfunction(lambda i, j: i * (j + 2) / ny, (nx, ny))
hz = np.fromfunction(lambda i, j: i * (j + 3) / nx, (nx, ny))
fict = np.arange(tmax, dtype=np.float64)
for t in range(tmax):
    for j in range(ny):
        ey[0, j] = fict[t]
    for i in range(1, nx):
        for j in range(ny):
            ey[i, j] = ey[i, j] - 0.5 * (hz[i, j] - hz[i - 1, j])
    for i in range(nx):
        for j in range(1, ny):
            ex[i, j] = ex[i, j] - 0.5 * (hz[i, j] - hz[i, j - 1])
    for i in range(nx - 1):
        for j in range(ny - 1):
            hz[i, j] = hz[i, j] - 0.7 * (ex[i, j + 1] - ex[i, j] + ey[i + 1, j] - ey[i, j])
ex.sum(), ey.sum(), hz.sum()
"""
        ],
    ),
    (
        "wave_1d_leapfrog",
        [
            """
import numpy as np
n = 16
c2 = 0.5
prev = np.zeros(n)
cur = np.zeros(n)
cur[n // 2] = 1.0
for step in range(5):
    nxt = np.zeros(n)
    for i in range(1, n - 1):
        nxt[i] = 2 * cur[i] - prev[i] + c2 * (cur[i + 1] - 2 * cur[i] + cur[i - 1])
    prev, cur = cur, nxt
cur
"""
        ],
    ),
    (
        "advection_upwind",
        [
            """
import numpy as np
n = 20
u = np.where(np.arange(n) < 5, 1.0, 0.0)
c = 0.4
for step in range(6):
    un = u.copy()
    for i in range(1, n):
        u[i] = un[i] - c * (un[i] - un[i - 1])
u
"""
        ],
    ),
    (
        "laplace_relaxation_until_converged",
        [
            """
import numpy as np
n = 8
phi = np.zeros((n, n))
phi[:, 0] = 1.0
for sweep in range(200):
    old = phi.copy()
    for i in range(1, n - 1):
        for j in range(1, n - 1):
            phi[i, j] = 0.25 * (old[i + 1, j] + old[i - 1, j] + old[i, j + 1] + old[i, j - 1])
    if np.abs(phi - old).max() < 1e-6:
        break
sweep, round(float(phi[n // 2, 1]), 10)
"""
        ],
    ),
    (
        "gauss_seidel_sor",
        [
            """
import numpy as np
n = 7
omega = 1.5
x = np.zeros((n, n))
x[0, :] = 1.0
for it in range(10):
    for i in range(1, n - 1):
        for j in range(1, n - 1):
            x[i, j] = (1 - omega) * x[i, j] + omega * 0.25 * (x[i - 1, j] + x[i + 1, j] + x[i, j - 1] + x[i, j + 1])
x[3]
"""
        ],
    ),
    # --- Game of Life ----------------------------------------------------------------------
    (
        "game_of_life_padded",
        [
            """
import numpy as np
n = 10
grid = np.zeros((n + 2, n + 2), dtype=np.int64)
for (r, c) in [(1, 2), (2, 3), (3, 1), (3, 2), (3, 3)]:
    grid[r, c] = 1
for gen in range(4):
    new = np.zeros_like(grid)
    for i in range(1, n + 1):
        for j in range(1, n + 1):
            s = (grid[i - 1, j - 1] + grid[i - 1, j] + grid[i - 1, j + 1]
                 + grid[i, j - 1] + grid[i, j + 1]
                 + grid[i + 1, j - 1] + grid[i + 1, j] + grid[i + 1, j + 1])
            if grid[i, j] == 1 and (s == 2 or s == 3):
                new[i, j] = 1
            elif grid[i, j] == 0 and s == 3:
                new[i, j] = 1
    grid = new
grid.sum(), np.argwhere(grid).tolist()
"""
        ],
    ),
    (
        "game_of_life_torus_modulo",
        [
            """
import numpy as np
n = 8
board = np.zeros((n, n), dtype=np.int8)
board[1, 2] = board[2, 3] = board[3, 1] = board[3, 2] = board[3, 3] = 1
def step(b):
    out = np.zeros_like(b)
    for i in range(n):
        for j in range(n):
            k = 0
            for di in range(-1, 2):
                for dj in range(-1, 2):
                    if di != 0 or dj != 0:
                        k += b[(i + di) % n, (j + dj) % n]
            out[i, j] = 1 if k == 3 or (k == 2 and b[i, j] == 1) else 0
    return out
for _ in range(8):
    board = step(board)
np.argwhere(board).tolist()
"""
        ],
    ),
    (
        "game_of_life_print_board",
        [
            """
import numpy as np
n = 6
g = np.zeros((n, n), dtype=int)
g[2, 1:4] = 1
for gen in range(2):
    nb = np.zeros((n, n), dtype=int)
    for i in range(1, n - 1):
        for j in range(1, n - 1):
            nb[i, j] = g[i-1, j-1] + g[i-1, j] + g[i-1, j+1] + g[i, j-1] + g[i, j+1] + g[i+1, j-1] + g[i+1, j] + g[i+1, j+1]
    for i in range(n):
        for j in range(n):
            g[i, j] = 1 if nb[i, j] == 3 or (nb[i, j] == 2 and g[i, j] == 1) else 0
    for i in range(n):
        print(''.join('#' if g[i, j] else '.' for j in range(n)))
    print()
"""
        ],
    ),
    (
        "rule_30_automaton",
        [
            """
import numpy as np
w, steps = 21, 8
row = np.zeros(w, dtype=np.int64)
row[w // 2] = 1
rows = [row.copy()]
for s in range(steps):
    nxt = np.zeros(w, dtype=np.int64)
    for i in range(1, w - 1):
        pattern = 4 * row[i - 1] + 2 * row[i] + row[i + 1]
        nxt[i] = (30 // 2 ** pattern) % 2
    row = nxt
    rows.append(row.copy())
print('\\n'.join(''.join('X' if v else ' ' for v in r) for r in rows))
"""
        ],
    ),
    # --- fractals ------------------------------------------------------------------------
    (
        "mandelbrot_while_escape",
        [
            """
import numpy as np
w, h, maxit = 16, 10, 30
img = np.zeros((h, w), dtype=np.int64)
for py in range(h):
    for px in range(w):
        x0 = -2.0 + 2.6 * px / w
        y0 = -1.2 + 2.4 * py / h
        x = y = 0.0
        k = 0
        while x * x + y * y <= 4.0 and k < maxit:
            x, y = x * x - y * y + x0, 2 * x * y + y0
            k += 1
        img[py, px] = k
img.sum(), img[h // 2].tolist()
"""
        ],
    ),
    (
        "mandelbrot_fixed_iterations_no_break",
        [
            """
import numpy as np
w, h, maxit = 14, 9, 25
counts = np.zeros((h, w), dtype=np.int64)
for py in range(h):
    for px in range(w):
        cr = -2.0 + 2.5 * px / w
        ci = -1.1 + 2.2 * py / h
        zr = 0.0
        zi = 0.0
        n = 0
        for k in range(maxit):
            if zr * zr + zi * zi <= 4.0:
                t = zr * zr - zi * zi + cr
                zi = 2.0 * zr * zi + ci
                zr = t
                n += 1
        counts[py, px] = n
counts
"""
        ],
    ),
    (
        "mandelbrot_complex_numbers_function",
        [
            """
import numpy as np
def mandel(c, maxit):
    z = 0j
    for k in range(maxit):
        z = z * z + c
        if abs(z) > 2:
            return k
    return maxit
w, h = 12, 8
img = np.zeros((h, w), dtype=np.int32)
for i in range(h):
    for j in range(w):
        img[i, j] = mandel(complex(-2 + 2.5 * j / w, -1 + 2 * i / h), 20)
img
"""
        ],
    ),
    (
        "mandelbrot_ascii_art",
        [
            """
chars = ' .:-=+*#%@'
for row in range(8):
    line = ''
    for col in range(24):
        c = complex(-2.1 + col * 0.11, -1.0 + row * 0.28)
        z = 0
        n = 0
        for n in range(9):
            z = z * z + c
            if abs(z) > 2:
                break
        line += chars[n]
    print(line)
"""
        ],
    ),
    (
        "julia_set_escape_time",
        [
            """
import numpy as np
w, h = 12, 8
cr, ci = -0.8, 0.156
out = np.zeros((h, w), dtype=np.int64)
for i in range(h):
    for j in range(w):
        zr = -1.5 + 3.0 * j / w
        zi = -1.0 + 2.0 * i / h
        it = 0
        for k in range(40):
            if zr * zr + zi * zi < 4.0:
                zr, zi = zr * zr - zi * zi + cr, 2 * zr * zi + ci
                it = k
        out[i, j] = it
out.sum()
"""
        ],
    ),
    (
        "burning_ship_abs",
        [
            """
import numpy as np
w, h = 10, 6
img = np.zeros((h, w))
for i in range(h):
    for j in range(w):
        x0 = -2.0 + 3.0 * j / w
        y0 = -1.8 + 2.5 * i / h
        x = 0.0
        y = 0.0
        last = 0.0
        for k in range(20):
            if x * x + y * y < 4.0:
                xt = x * x - y * y + x0
                y = abs(2.0 * x * y) + y0
                x = xt
                last = k
        img[i, j] = last
img
"""
        ],
    ),
    # --- image processing -------------------------------------------------------------------
    (
        "grayscale_conversion",
        [
            """
import numpy as np
rng = np.random.default_rng(9)
img = rng.integers(0, 256, size=(5, 6, 3)).astype(np.float64)
gray = np.zeros((5, 6))
for i in range(5):
    for j in range(6):
        gray[i, j] = 0.299 * img[i, j, 0] + 0.587 * img[i, j, 1] + 0.114 * img[i, j, 2]
gray
"""
        ],
    ),
    (
        "box_blur_3x3",
        [
            """
import numpy as np
img = np.arange(64, dtype=np.float64).reshape(8, 8) % 7
out = np.zeros_like(img)
for i in range(1, 7):
    for j in range(1, 7):
        s = 0.0
        for di in range(-1, 2):
            for dj in range(-1, 2):
                s += img[i + di, j + dj]
        out[i, j] = s / 9.0
out
"""
        ],
    ),
    (
        "convolution_2d_kernel_array",
        [
            """
import numpy as np
img = np.fromfunction(lambda i, j: np.sin(i) + np.cos(j), (9, 9))
k = np.array([[0.0, -1.0, 0.0], [-1.0, 4.0, -1.0], [0.0, -1.0, 0.0]])
out = np.zeros((7, 7))
for i in range(7):
    for j in range(7):
        acc = 0.0
        for a in range(3):
            for b in range(3):
                acc += k[a, b] * img[i + a, j + b]
        out[i, j] = acc
out
"""
        ],
    ),
    (
        "sobel_edges",
        [
            """
import numpy as np
img = np.zeros((7, 7))
img[:, 3:] = 1.0
gx = np.zeros((7, 7))
gy = np.zeros((7, 7))
mag = np.zeros((7, 7))
for i in range(1, 6):
    for j in range(1, 6):
        gx[i, j] = (img[i - 1, j + 1] + 2 * img[i, j + 1] + img[i + 1, j + 1]
                    - img[i - 1, j - 1] - 2 * img[i, j - 1] - img[i + 1, j - 1])
        gy[i, j] = (img[i + 1, j - 1] + 2 * img[i + 1, j] + img[i + 1, j + 1]
                    - img[i - 1, j - 1] - 2 * img[i - 1, j] - img[i - 1, j + 1])
        mag[i, j] = np.sqrt(gx[i, j] ** 2 + gy[i, j] ** 2)
mag
"""
        ],
    ),
    (
        "threshold_uint8_image",
        [
            """
import numpy as np
img = (np.arange(48).reshape(6, 8) * 5 % 256).astype(np.uint8)
binary = np.zeros_like(img)
for i in range(6):
    for j in range(8):
        binary[i, j] = 255 if img[i, j] > 100 else 0
binary
"""
        ],
    ),
    (
        "image_flip_horizontal",
        [
            """
import numpy as np
img = np.arange(15).reshape(3, 5)
out = np.zeros_like(img)
w = img.shape[1]
for i in range(3):
    for j in range(w):
        out[i, w - 1 - j] = img[i, j]
out
"""
        ],
    ),
    (
        "histogram_equalisation_cdf",
        [
            """
import numpy as np
rng = np.random.default_rng(4)
img = rng.integers(0, 8, size=40)
hist = np.zeros(8, dtype=np.int64)
for v in img:
    hist[v] += 1
cdf = np.zeros(8, dtype=np.int64)
cdf[0] = hist[0]
for i in range(1, 8):
    cdf[i] = cdf[i - 1] + hist[i]
hist, cdf
"""
        ],
    ),
    # --- n-body, particles ------------------------------------------------------------------
    (
        "nbody_forces",
        [
            """
import numpy as np
rng = np.random.default_rng(0)
n = 12
pos = rng.random((n, 3))
mass = rng.random(n) + 0.5
acc = np.zeros((n, 3))
eps = 1e-3
for i in range(n):
    ax = 0.0
    ay = 0.0
    az = 0.0
    for j in range(n):
        dx = pos[j, 0] - pos[i, 0]
        dy = pos[j, 1] - pos[i, 1]
        dz = pos[j, 2] - pos[i, 2]
        r2 = dx * dx + dy * dy + dz * dz + eps
        inv = mass[j] / (r2 * np.sqrt(r2))
        ax += dx * inv
        ay += dy * inv
        az += dz * inv
    acc[i, 0] = ax
    acc[i, 1] = ay
    acc[i, 2] = az
acc.sum(axis=0), acc[0]
"""
        ],
    ),
    (
        "nbody_leapfrog_steps",
        [
            """
import math
import numpy as np
n = 6
x = np.linspace(0.0, 1.0, n)
v = np.zeros(n)
m = np.ones(n)
dt = 0.01
for step in range(5):
    a = np.zeros(n)
    for i in range(n):
        for j in range(n):
            if i != j:
                d = x[j] - x[i]
                a[i] += m[j] * d / (math.fabs(d) ** 3 + 0.01)
    for i in range(n):
        v[i] += a[i] * dt
        x[i] += v[i] * dt
x, v
"""
        ],
    ),
    (
        "pairwise_distances",
        [
            """
import numpy as np
rng = np.random.default_rng(8)
P = rng.random((7, 2))
D = np.zeros((7, 7))
for i in range(7):
    for j in range(7):
        D[i, j] = np.sqrt((P[i, 0] - P[j, 0]) ** 2 + (P[i, 1] - P[j, 1]) ** 2)
np.allclose(D, D.T), D[1, 3]
"""
        ],
    ),
    (
        "kmeans_assignment_step",
        [
            """
import numpy as np
rng = np.random.default_rng(21)
X = rng.random((15, 2))
C = np.array([[0.2, 0.2], [0.8, 0.8], [0.2, 0.8]])
labels = np.zeros(15, dtype=np.int64)
for i in range(15):
    best = 1e9
    for k in range(3):
        d = (X[i, 0] - C[k, 0]) ** 2 + (X[i, 1] - C[k, 1]) ** 2
        if d < best:
            best = d
            labels[i] = k
labels
"""
        ],
    ),
    (
        "kmeans_full_iterations",
        [
            """
import numpy as np
rng = np.random.default_rng(1)
X = np.vstack([rng.normal(0, 0.3, (8, 2)), rng.normal(2, 0.3, (8, 2))])
C = X[[0, 15]].copy()
for it in range(3):
    lab = np.zeros(16, dtype=np.int64)
    for i in range(16):
        d0 = (X[i, 0] - C[0, 0]) ** 2 + (X[i, 1] - C[0, 1]) ** 2
        d1 = (X[i, 0] - C[1, 0]) ** 2 + (X[i, 1] - C[1, 1]) ** 2
        lab[i] = 0 if d0 <= d1 else 1
    for k in range(2):
        C[k] = X[lab == k].mean(axis=0)
lab, np.round(C, 12)
"""
        ],
    ),
    # --- Monte Carlo, statistics -----------------------------------------------------------
    (
        "monte_carlo_pi_precomputed_randoms",
        [
            """
import numpy as np
rng = np.random.default_rng(12345)
n = 2000
xs = rng.random(n)
ys = rng.random(n)
inside = 0
for i in range(n):
    if xs[i] * xs[i] + ys[i] * ys[i] <= 1.0:
        inside += 1
4.0 * inside / n
"""
        ],
    ),
    (
        "monte_carlo_pi_legacy_seed",
        [
            """
import numpy as np
np.random.seed(0)
pts = np.random.random((500, 2))
hits = 0
for i in range(500):
    hits += 1 if pts[i, 0] ** 2 + pts[i, 1] ** 2 < 1 else 0
hits
"""
        ],
    ),
    (
        "random_walk_cumulative",
        [
            """
import numpy as np
rng = np.random.default_rng(3)
steps = rng.choice([-1, 1], size=50)
pos = np.zeros(51, dtype=np.int64)
for t in range(50):
    pos[t + 1] = pos[t] + steps[t]
pos.max(), pos.min(), pos[-1]
"""
        ],
    ),
    (
        "mean_and_variance_two_pass",
        [
            """
import numpy as np
rng = np.random.default_rng(6)
x = rng.normal(5.0, 2.0, 100)
s = 0.0
for i in range(100):
    s += x[i]
mean = s / 100
ss = 0.0
for i in range(100):
    ss += (x[i] - mean) ** 2
var = ss / 99
abs(mean - x.mean()) < 1e-12, abs(var - x.var(ddof=1)) < 1e-12
"""
        ],
    ),
    (
        "welford_online_variance",
        [
            """
import numpy as np
x = np.sin(np.arange(30.0))
n = 0
mean = 0.0
m2 = 0.0
for i in range(30):
    n += 1
    delta = x[i] - mean
    mean += delta / n
    m2 += delta * (x[i] - mean)
mean, m2 / (n - 1)
"""
        ],
    ),
    (
        "covariance_matrix",
        [
            """
import numpy as np
m, n = 5, 4
data = np.fromfunction(lambda i, j: (i * j) / m + i, (n, m))
mean = np.zeros(m)
for j in range(m):
    for i in range(n):
        mean[j] += data[i, j]
    mean[j] /= n
for i in range(n):
    for j in range(m):
        data[i, j] -= mean[j]
cov = np.zeros((m, m))
for i in range(m):
    for j in range(i, m):
        for k in range(n):
            cov[i, j] += data[k, i] * data[k, j]
        cov[i, j] /= n - 1.0
        cov[j, i] = cov[i, j]
cov
"""
        ],
    ),
    (
        "correlation_matrix",
        [
            """
import math
import numpy as np
m, n = 4, 6
data = np.fromfunction(lambda i, j: (i * j) / m + i + 0.5 * j * j, (n, m))
mean = np.zeros(m)
std = np.zeros(m)
for j in range(m):
    for i in range(n):
        mean[j] += data[i, j]
    mean[j] /= n
for j in range(m):
    for i in range(n):
        std[j] += (data[i, j] - mean[j]) ** 2
    std[j] = math.sqrt(std[j] / n)
    std[j] = 1.0 if std[j] <= 0.1 else std[j]
for i in range(n):
    for j in range(m):
        data[i, j] = (data[i, j] - mean[j]) / (math.sqrt(n) * std[j])
corr = np.eye(m)
for i in range(m - 1):
    for j in range(i + 1, m):
        corr[i, j] = 0.0
        for k in range(n):
            corr[i, j] += data[k, i] * data[k, j]
        corr[j, i] = corr[i, j]
corr
"""
        ],
    ),
    (
        "moving_average",
        [
            """
import numpy as np
x = np.cos(np.arange(20.0) / 3)
w = 4
out = np.zeros(20 - w + 1)
for i in range(20 - w + 1):
    s = 0.0
    for k in range(w):
        s += x[i + k]
    out[i] = s / w
out
"""
        ],
    ),
    (
        "exponential_smoothing",
        [
            """
import numpy as np
x = np.arange(10.0) ** 1.5
alpha = 0.3
s = np.zeros(10)
s[0] = x[0]
for t in range(1, 10):
    s[t] = alpha * x[t] + (1 - alpha) * s[t - 1]
s
"""
        ],
    ),
    # --- finance, physics ------------------------------------------------------------------
    (
        "black_scholes_erf",
        [
            """
import math
import numpy as np
rng = np.random.default_rng(17)
n = 16
S = rng.uniform(5, 30, n)
K = rng.uniform(1, 100, n)
T = rng.uniform(0.25, 10, n)
r, v = 0.02, 0.3
call = np.zeros(n)
put = np.zeros(n)
for i in range(n):
    sqrtT = math.sqrt(T[i])
    d1 = (math.log(S[i] / K[i]) + (r + 0.5 * v * v) * T[i]) / (v * sqrtT)
    d2 = d1 - v * sqrtT
    cnd1 = 0.5 * (1.0 + math.erf(d1 / math.sqrt(2.0)))
    cnd2 = 0.5 * (1.0 + math.erf(d2 / math.sqrt(2.0)))
    expRT = math.exp(-r * T[i])
    call[i] = S[i] * cnd1 - K[i] * expRT * cnd2
    put[i] = K[i] * expRT * (1.0 - cnd2) - S[i] * (1.0 - cnd1)
call, put
"""
        ],
    ),
    (
        "compound_interest_schedule",
        [
            """
balance = 1000.0
rate = 0.05 / 12
history = []
for month in range(24):
    balance = balance * (1 + rate) - 20.0
    if month % 6 == 5:
        history.append(round(balance, 6))
history, balance
"""
        ],
    ),
    (
        "euler_ode_decay",
        [
            """
import numpy as np
k = 0.7
dt = 0.05
steps = 40
y = np.zeros(steps + 1)
y[0] = 1.0
for n in range(steps):
    y[n + 1] = y[n] - dt * k * y[n]
y[-1], y[::10]
"""
        ],
    ),
    (
        "rk4_harmonic_oscillator",
        [
            """
def f(x, v):
    return v, -x
x, v = 1.0, 0.0
h = 0.1
for step in range(20):
    k1x, k1v = f(x, v)
    k2x, k2v = f(x + h / 2 * k1x, v + h / 2 * k1v)
    k3x, k3v = f(x + h / 2 * k2x, v + h / 2 * k2v)
    k4x, k4v = f(x + h * k3x, v + h * k3v)
    x += h / 6 * (k1x + 2 * k2x + 2 * k3x + k4x)
    v += h / 6 * (k1v + 2 * k2v + 2 * k3v + k4v)
x, v
"""
        ],
    ),
    (
        "lotka_volterra_arrays",
        [
            """
import numpy as np
steps = 50
prey = np.zeros(steps)
pred = np.zeros(steps)
prey[0], pred[0] = 10.0, 5.0
a, b, c, d, dt = 1.1, 0.4, 0.4, 0.1, 0.01
for t in range(steps - 1):
    prey[t + 1] = prey[t] + dt * (a * prey[t] - b * prey[t] * pred[t])
    pred[t + 1] = pred[t] + dt * (d * prey[t] * pred[t] - c * pred[t])
prey[-1], pred[-1]
"""
        ],
    ),
    (
        "logistic_map_bifurcation",
        [
            """
import numpy as np
rs = np.linspace(2.5, 4.0, 12)
final = np.zeros(12)
for k in range(12):
    x = 0.5
    for it in range(100):
        x = rs[k] * x * (1 - x)
    final[k] = x
final
"""
        ],
    ),
    (
        "projectile_with_drag",
        [
            """
import math
x, y = 0.0, 0.0
vx, vy = 10 * math.cos(0.7), 10 * math.sin(0.7)
dt, g, kdrag = 0.01, 9.81, 0.1
for step in range(300):
    speed = math.sqrt(vx * vx + vy * vy)
    vx -= kdrag * speed * vx * dt
    vy -= (g + kdrag * speed * vy) * dt
    x += vx * dt
    y += vy * dt
    if y < 0:
        break
round(x, 9), step
"""
        ],
    ),
    # --- numerical methods -----------------------------------------------------------------
    (
        "trapezoid_integration",
        [
            """
import math
n = 100
a, b = 0.0, math.pi
h = (b - a) / n
s = 0.5 * (math.sin(a) + math.sin(b))
for k in range(1, n):
    s += math.sin(a + k * h)
s * h
"""
        ],
    ),
    (
        "simpson_integration_array",
        [
            """
import numpy as np
n = 20
x = np.linspace(0, 2, n + 1)
f = np.exp(-x ** 2)
h = 2 / n
s = f[0] + f[n]
for k in range(1, n):
    if k % 2 == 1:
        s += 4 * f[k]
    else:
        s += 2 * f[k]
s * h / 3
"""
        ],
    ),
    (
        "newton_sqrt_iterations",
        [
            """
import numpy as np
vals = np.array([2.0, 10.0, 0.5, 144.0])
roots = np.zeros(4)
for i in range(4):
    g = vals[i]
    for it in range(20):
        g = 0.5 * (g + vals[i] / g)
    roots[i] = g
roots, np.sqrt(vals)
"""
        ],
    ),
    (
        "horner_polynomial",
        [
            """
import numpy as np
coef = np.array([1.0, -3.0, 0.5, 2.0])
xs = np.linspace(-1, 1, 9)
ys = np.zeros(9)
for i in range(9):
    acc = 0.0
    for k in range(4):
        acc = acc * xs[i] + coef[k]
    ys[i] = acc
ys
"""
        ],
    ),
    (
        "lu_decomposition_inplace",
        [
            """
import numpy as np
n = 6
A = np.fromfunction(lambda i, j: 1.0 / (i + j + 1), (n, n)) + np.eye(n) * n
for k in range(n):
    for i in range(k + 1, n):
        A[i, k] = A[i, k] / A[k, k]
        for j in range(k + 1, n):
            A[i, j] = A[i, j] - A[i, k] * A[k, j]
A
"""
        ],
    ),
    (
        "lu_polybench_style",
        [
            """
import numpy as np
n = 6
A = np.zeros((n, n))
for i in range(n):
    for j in range(i + 1):
        A[i, j] = (-j % n) / n + 1
    for j in range(i + 1, n):
        A[i, j] = 0
    A[i, i] = 1
A = A @ A.T
for i in range(n):
    for j in range(i):
        for k in range(j):
            A[i, j] -= A[i, k] * A[k, j]
        A[i, j] /= A[j, j]
    for j in range(i, n):
        for k in range(i):
            A[i, j] -= A[i, k] * A[k, j]
A
"""
        ],
    ),
    (
        "cholesky",
        [
            """
import math
import numpy as np
n = 5
M = np.fromfunction(lambda i, j: 1.0 / (1 + abs(i - j)), (n, n)) + n * np.eye(n)
L = np.zeros((n, n))
for j in range(n):
    s = 0.0
    for k in range(j):
        s += L[j, k] * L[j, k]
    L[j, j] = math.sqrt(M[j, j] - s)
    for i in range(j + 1, n):
        s = 0.0
        for k in range(j):
            s += L[i, k] * L[j, k]
        L[i, j] = (M[i, j] - s) / L[j, j]
np.allclose(L @ L.T, M), L[n - 1]
"""
        ],
    ),
    (
        "trisolv_forward_substitution",
        [
            """
import numpy as np
n = 7
L = np.fromfunction(lambda i, j: (i + n - j + 1) * 2 / n, (n, n))
b = np.arange(n, dtype=np.float64)
x = np.zeros(n)
for i in range(n):
    x[i] = b[i]
    for j in range(i):
        x[i] -= L[i, j] * x[j]
    x[i] = x[i] / L[i, i]
x
"""
        ],
    ),
    (
        "back_substitution_negative_step",
        [
            """
import numpy as np
n = 5
U = np.triu(np.fromfunction(lambda i, j: i + j + 1.0, (n, n)))
b = np.ones(n)
x = np.zeros(n)
for i in range(n - 1, -1, -1):
    s = b[i]
    for j in range(i + 1, n):
        s -= U[i, j] * x[j]
    x[i] = s / U[i, i]
np.allclose(U @ x, b), x
"""
        ],
    ),
    (
        "gramschmidt",
        [
            """
import math
import numpy as np
m, n = 5, 4
A = np.fromfunction(lambda i, j: ((i * j) % m) / m * 100 + 10, (m, n))
R = np.zeros((n, n))
Q = np.zeros((m, n))
for k in range(n):
    nrm = 0.0
    for i in range(m):
        nrm += A[i, k] * A[i, k]
    R[k, k] = math.sqrt(nrm)
    for i in range(m):
        Q[i, k] = A[i, k] / R[k, k]
    for j in range(k + 1, n):
        R[k, j] = 0.0
        for i in range(m):
            R[k, j] += Q[i, k] * A[i, j]
        for i in range(m):
            A[i, j] = A[i, j] - Q[i, k] * R[k, j]
R
"""
        ],
    ),
    (
        "power_iteration",
        [
            """
import math
import numpy as np
A = np.array([[2.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 4.0]])
v = np.ones(3)
for it in range(30):
    w = np.zeros(3)
    for i in range(3):
        for j in range(3):
            w[i] += A[i, j] * v[j]
    nrm = 0.0
    for i in range(3):
        nrm += w[i] * w[i]
    nrm = math.sqrt(nrm)
    for i in range(3):
        v[i] = w[i] / nrm
round(nrm, 10)
"""
        ],
    ),
    (
        "conjugate_gradient_small",
        [
            """
import numpy as np
n = 5
A = np.fromfunction(lambda i, j: np.where(i == j, 4.0, np.where(abs(i - j) == 1, -1.0, 0.0)), (n, n))
b = np.ones(n)
x = np.zeros(n)
r = b.copy()
p = r.copy()
rs = 0.0
for i in range(n):
    rs += r[i] * r[i]
for it in range(n):
    Ap = np.zeros(n)
    for i in range(n):
        for j in range(n):
            Ap[i] += A[i, j] * p[j]
    pAp = 0.0
    for i in range(n):
        pAp += p[i] * Ap[i]
    alpha = rs / pAp
    for i in range(n):
        x[i] += alpha * p[i]
        r[i] -= alpha * Ap[i]
    rs_new = 0.0
    for i in range(n):
        rs_new += r[i] * r[i]
    if rs_new < 1e-20:
        break
    for i in range(n):
        p[i] = r[i] + rs_new / rs * p[i]
    rs = rs_new
np.allclose(A @ x, b), it
"""
        ],
    ),
    # --- PolyBench-like linear algebra -----------------------------------------------------
    (
        "polybench_2mm",
        [
            """
import numpy as np
ni, nj, nk, nl = 4, 5, 6, 3
alpha, beta = 1.5, 1.2
A = np.fromfunction(lambda i, j: ((i * j + 1) % ni) / ni, (ni, nk))
B = np.fromfunction(lambda i, j: (i * (j + 1) % nj) / nj, (nk, nj))
C = np.fromfunction(lambda i, j: ((i * (j + 3) + 1) % nl) / nl, (nj, nl))
D = np.fromfunction(lambda i, j: (i * (j + 2) % nk) / nk, (ni, nl))
tmp = np.zeros((ni, nj))
for i in range(ni):
    for j in range(nj):
        tmp[i, j] = 0.0
        for k in range(nk):
            tmp[i, j] += alpha * A[i, k] * B[k, j]
for i in range(ni):
    for j in range(nl):
        D[i, j] *= beta
        for k in range(nj):
            D[i, j] += tmp[i, k] * C[k, j]
D
"""
        ],
    ),
    (
        "polybench_3mm",
        [
            """
import numpy as np
n = 4
A = np.fromfunction(lambda i, j: ((i * j + 1) % n) / (5 * n), (n, n))
B = np.fromfunction(lambda i, j: ((i * (j + 1) + 2) % n) / (5 * n), (n, n))
C = np.fromfunction(lambda i, j: (i * (j + 3) % n) / (5 * n), (n, n))
D = np.fromfunction(lambda i, j: ((i * (j + 2) + 2) % n) / (5 * n), (n, n))
E = np.zeros((n, n))
F = np.zeros((n, n))
G = np.zeros((n, n))
for i in range(n):
    for j in range(n):
        for k in range(n):
            E[i, j] += A[i, k] * B[k, j]
for i in range(n):
    for j in range(n):
        for k in range(n):
            F[i, j] += C[i, k] * D[k, j]
for i in range(n):
    for j in range(n):
        for k in range(n):
            G[i, j] += E[i, k] * F[k, j]
G
"""
        ],
    ),
    (
        "polybench_atax",
        [
            """
import numpy as np
m, n = 5, 6
A = np.fromfunction(lambda i, j: ((i + j) % n) / (5 * m), (m, n))
x = 1 + np.arange(n) / n
y = np.zeros(n)
tmp = np.zeros(m)
for i in range(m):
    tmp[i] = 0.0
    for j in range(n):
        tmp[i] = tmp[i] + A[i, j] * x[j]
    for j in range(n):
        y[j] = y[j] + A[i, j] * tmp[i]
y
"""
        ],
    ),
    (
        "polybench_bicg",
        [
            """
import numpy as np
m, n = 5, 4
A = np.fromfunction(lambda i, j: (i * (j + 1) % n) / n, (n, m))
p = (np.arange(m) % m) / m
r = (np.arange(n) % n) / n
s = np.zeros(m)
q = np.zeros(n)
for i in range(n):
    q[i] = 0.0
    for j in range(m):
        s[j] = s[j] + r[i] * A[i, j]
        q[i] = q[i] + A[i, j] * p[j]
s, q
"""
        ],
    ),
    (
        "polybench_mvt",
        [
            """
import numpy as np
n = 6
x1 = (np.arange(n) % n) / n
x2 = ((np.arange(n) + 1) % n) / n
y1 = ((np.arange(n) + 3) % n) / n
y2 = ((np.arange(n) + 4) % n) / n
A = np.fromfunction(lambda i, j: (i * j % n) / n, (n, n))
for i in range(n):
    for j in range(n):
        x1[i] = x1[i] + A[i, j] * y1[j]
for i in range(n):
    for j in range(n):
        x2[i] = x2[i] + A[j, i] * y2[j]
x1, x2
"""
        ],
    ),
    (
        "polybench_gesummv",
        [
            """
import numpy as np
n = 6
alpha, beta = 1.5, 1.2
A = np.fromfunction(lambda i, j: ((i * j + 1) % n) / n, (n, n))
B = np.fromfunction(lambda i, j: ((i * j + 2) % n) / n, (n, n))
x = (np.arange(n) % n) / n
tmp = np.zeros(n)
y = np.zeros(n)
for i in range(n):
    tmp[i] = 0.0
    y[i] = 0.0
    for j in range(n):
        tmp[i] = A[i, j] * x[j] + tmp[i]
        y[i] = B[i, j] * x[j] + y[i]
    y[i] = alpha * tmp[i] + beta * y[i]
y
"""
        ],
    ),
    (
        "polybench_syrk",
        [
            """
import numpy as np
n, m = 5, 4
alpha, beta = 1.5, 1.2
A = np.fromfunction(lambda i, j: ((i * j + 1) % n) / n, (n, m))
C = np.fromfunction(lambda i, j: ((i * j + 2) % m) / m, (n, n))
for i in range(n):
    for j in range(i + 1):
        C[i, j] *= beta
    for k in range(m):
        for j in range(i + 1):
            C[i, j] += alpha * A[i, k] * A[j, k]
C
"""
        ],
    ),
    (
        "polybench_syr2k",
        [
            """
import numpy as np
n, m = 4, 3
alpha, beta = 1.5, 1.2
A = np.fromfunction(lambda i, j: ((i * j + 1) % n) / n, (n, m))
B = np.fromfunction(lambda i, j: ((i * j + 2) % m) / m, (n, m))
C = np.fromfunction(lambda i, j: ((i * j + 3) % n) / m, (n, n))
for i in range(n):
    for j in range(i + 1):
        C[i, j] *= beta
    for k in range(m):
        for j in range(i + 1):
            C[i, j] += A[j, k] * alpha * B[i, k] + B[j, k] * alpha * A[i, k]
C
"""
        ],
    ),
    (
        "polybench_trmm",
        [
            """
import numpy as np
m, n = 4, 5
alpha = 1.5
A = np.fromfunction(lambda i, j: ((i + j) % m) / m, (m, m))
B = np.fromfunction(lambda i, j: ((n + (i - j)) % n) / n, (m, n))
for i in range(m):
    for j in range(n):
        for k in range(i + 1, m):
            B[i, j] += A[k, i] * B[k, j]
        B[i, j] = alpha * B[i, j]
B
"""
        ],
    ),
    (
        "polybench_doitgen",
        [
            """
import numpy as np
nr, nq, np_ = 3, 4, 5
A = np.fromfunction(lambda i, j, k: ((i * j + k) % np_) / np_, (nr, nq, np_))
C4 = np.fromfunction(lambda i, j: (i * j % np_) / np_, (np_, np_))
s = np.zeros(np_)
for r in range(nr):
    for q in range(nq):
        for p in range(np_):
            s[p] = 0.0
            for t in range(np_):
                s[p] = s[p] + A[r, q, t] * C4[t, p]
        for p in range(np_):
            A[r, q, p] = s[p]
A.sum()
"""
        ],
    ),
    (
        "polybench_gemver",
        [
            """
import numpy as np
n = 5
alpha, beta = 1.5, 1.2
fn = float(n)
u1 = np.arange(n, dtype=np.float64)
u2 = ((np.arange(n) + 1) / fn) / 2.0
v1 = ((np.arange(n) + 1) / fn) / 4.0
v2 = ((np.arange(n) + 1) / fn) / 6.0
y = ((np.arange(n) + 1) / fn) / 8.0
z = ((np.arange(n) + 1) / fn) / 9.0
x = np.zeros(n)
w = np.zeros(n)
A = np.fromfunction(lambda i, j: (i * j % n) / n, (n, n))
for i in range(n):
    for j in range(n):
        A[i, j] = A[i, j] + u1[i] * v1[j] + u2[i] * v2[j]
for i in range(n):
    for j in range(n):
        x[i] = x[i] + beta * A[j, i] * y[j]
for i in range(n):
    x[i] = x[i] + z[i]
for i in range(n):
    for j in range(n):
        w[i] = w[i] + alpha * A[i, j] * x[j]
w
"""
        ],
    ),
    (
        "polybench_durbin",
        [
            """
import numpy as np
n = 6
r = (n + 1 - np.arange(n, dtype=np.float64))
y = np.zeros(n)
z = np.zeros(n)
y[0] = -r[0]
beta = 1.0
alpha = -r[0]
for k in range(1, n):
    beta = (1 - alpha * alpha) * beta
    s = 0.0
    for i in range(k):
        s += r[k - i - 1] * y[i]
    alpha = -(r[k] + s) / beta
    for i in range(k):
        z[i] = y[i] + alpha * y[k - i - 1]
    for i in range(k):
        y[i] = z[i]
    y[k] = alpha
y
"""
        ],
    ),
    (
        "polybench_floyd_warshall",
        [
            """
import numpy as np
n = 6
path = np.fromfunction(lambda i, j: i * j % 7 + 1, (n, n))
for i in range(n):
    for j in range(n):
        if (i + j) % 13 == 0 or (i + j) % 7 == 0 or (i + j) % 11 == 0:
            path[i, j] = 999
for k in range(n):
    for i in range(n):
        for j in range(n):
            path[i, j] = path[i, j] if path[i, j] < path[i, k] + path[k, j] else path[i, k] + path[k, j]
path
"""
        ],
    ),
    (
        "polybench_nussinov_like",
        [
            """
import numpy as np
n = 8
seq = (np.arange(n) + 1) % 4
table = np.zeros((n, n), dtype=np.int64)
for i in range(n - 1, -1, -1):
    for j in range(i + 1, n):
        if j - 1 >= 0:
            table[i, j] = max(table[i, j], table[i, j - 1])
        if i + 1 < n:
            table[i, j] = max(table[i, j], table[i + 1, j])
        if j - 1 >= 0 and i + 1 < n:
            if i < j - 1:
                table[i, j] = max(table[i, j], table[i + 1, j - 1] + (1 if seq[i] + seq[j] == 3 else 0))
            else:
                table[i, j] = max(table[i, j], table[i + 1, j - 1])
        for k in range(i + 1, j):
            table[i, j] = max(table[i, j], table[i, k] + table[k + 1, j])
table[0]
"""
        ],
    ),
    (
        "polybench_deriche_simplified",
        [
            """
import math
import numpy as np
w, h = 6, 5
alpha = 0.25
k = (1.0 - math.exp(-alpha)) * (1.0 - math.exp(-alpha)) / (1.0 + 2.0 * alpha * math.exp(-alpha) - math.exp(2.0 * alpha))
a1 = k
a2 = k * math.exp(-alpha) * (alpha - 1.0)
b1 = 2.0 ** (-alpha)
b2 = -math.exp(-2.0 * alpha)
img = np.fromfunction(lambda i, j: ((313 * i + 991 * j) % 65536) / 65535.0, (w, h))
y1 = np.zeros((w, h))
for i in range(w):
    ym1 = 0.0
    ym2 = 0.0
    xm1 = 0.0
    for j in range(h):
        y1[i, j] = a1 * img[i, j] + a2 * xm1 + b1 * ym1 + b2 * ym2
        xm1 = img[i, j]
        ym2 = ym1
        ym1 = y1[i, j]
y1
"""
        ],
    ),
    (
        "polybench_adi_like_sweeps",
        [
            """
import numpy as np
n, tsteps = 6, 2
u = np.fromfunction(lambda i, j: (i + n - j) / n, (n, n))
v = np.zeros((n, n))
p = np.zeros((n, n))
q = np.zeros((n, n))
a, b, c = -0.25, 1.5, -0.25
for t in range(tsteps):
    for i in range(1, n - 1):
        v[0, i] = 1.0
        p[i, 0] = 0.0
        q[i, 0] = v[0, i]
        for j in range(1, n - 1):
            p[i, j] = -c / (a * p[i, j - 1] + b)
            q[i, j] = (-a * u[j, i - 1] + (1.0 + 2.0 * a) * u[j, i] - c * u[j, i + 1] - a * q[i, j - 1]) / (a * p[i, j - 1] + b)
        v[n - 1, i] = 1.0
        for j in range(n - 2, 0, -1):
            v[j, i] = p[i, j] * v[j + 1, i] + q[i, j]
v.sum()
"""
        ],
    ),
    # --- dynamic programming, integers ------------------------------------------------------
    (
        "edit_distance_dp",
        [
            """
import numpy as np
a = 'kitten'
b = 'sitting'
D = np.zeros((len(a) + 1, len(b) + 1), dtype=np.int64)
for i in range(len(a) + 1):
    D[i, 0] = i
for j in range(len(b) + 1):
    D[0, j] = j
for i in range(1, len(a) + 1):
    for j in range(1, len(b) + 1):
        cost = 0 if a[i - 1] == b[j - 1] else 1
        D[i, j] = min(D[i - 1, j] + 1, D[i, j - 1] + 1, D[i - 1, j - 1] + cost)
D[len(a), len(b)]
"""
        ],
    ),
    (
        "longest_common_subsequence_arrays",
        [
            """
import numpy as np
x = np.array([1, 3, 4, 1, 2, 1, 3])
y = np.array([3, 4, 1, 2, 1, 3, 3, 1])
L = np.zeros((8, 9), dtype=np.int64)
for i in range(1, 8):
    for j in range(1, 9):
        if x[i - 1] == y[j - 1]:
            L[i, j] = L[i - 1, j - 1] + 1
        else:
            L[i, j] = max(L[i - 1, j], L[i, j - 1])
L[7, 8]
"""
        ],
    ),
    (
        "knapsack_01",
        [
            """
import numpy as np
weights = np.array([1, 3, 4, 5])
values = np.array([1, 4, 5, 7])
W = 7
best = np.zeros(W + 1, dtype=np.int64)
for k in range(4):
    for w in range(W, weights[k] - 1, -1):
        best[w] = max(best[w], best[w - weights[k]] + values[k])
best
"""
        ],
    ),
    (
        "pascal_triangle_int_overflow_free",
        [
            """
import numpy as np
n = 12
P = np.zeros((n, n), dtype=np.int64)
for i in range(n):
    P[i, 0] = 1
    for j in range(1, i + 1):
        P[i, j] = P[i - 1, j - 1] + P[i - 1, j]
P[n - 1]
"""
        ],
    ),
    (
        "collatz_lengths",
        [
            """
import numpy as np
lengths = np.zeros(30, dtype=np.int64)
for start in range(1, 30):
    n = start
    steps = 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    lengths[start] = steps
lengths.argmax(), lengths.max()
"""
        ],
    ),
    (
        "gcd_table",
        [
            """
import math
import numpy as np
G = np.zeros((8, 8), dtype=np.int64)
for a in range(8):
    for b in range(8):
        G[a, b] = math.gcd(a, b)
G
"""
        ],
    ),
    (
        "bubble_sort_numpy",
        [
            """
import numpy as np
a = np.array([5.0, 1.0, 4.0, 2.0, 8.0, 0.5])
n = a.shape[0]
for i in range(n):
    for j in range(n - i - 1):
        if a[j] > a[j + 1]:
            t = a[j]
            a[j] = a[j + 1]
            a[j + 1] = t
a
"""
        ],
    ),
    (
        "insertion_sort_while_inner",
        [
            """
import numpy as np
a = np.array([9, 4, 7, 1, 8, 2], dtype=np.int64)
for i in range(1, a.shape[0]):
    key = a[i]
    j = i - 1
    while j >= 0 and a[j] > key:
        a[j + 1] = a[j]
        j -= 1
    a[j + 1] = key
a
"""
        ],
    ),
    (
        "sieve_numpy_bool",
        [
            """
import numpy as np
N = 50
sieve = np.ones(N, dtype=bool)
sieve[:2] = False
for p in range(2, 8):
    if sieve[p]:
        for m in range(p * p, N, p):
            sieve[m] = False
np.nonzero(sieve)[0]
"""
        ],
    ),
    (
        "digit_sums_int_ops",
        [
            """
import numpy as np
nums = np.arange(100, 120, dtype=np.int64)
sums = np.zeros(20, dtype=np.int64)
for i in range(20):
    v = nums[i]
    s = 0
    for d in range(3):
        s += v % 10
        v = v // 10
    sums[i] = s
sums
"""
        ],
    ),
    # --- machine learning style ---------------------------------------------------------------
    (
        "softmax_rows",
        [
            """
import math
import numpy as np
X = np.arange(12.0).reshape(3, 4) / 4
out = np.zeros_like(X)
for i in range(3):
    m = X[i, 0]
    for j in range(1, 4):
        m = max(m, X[i, j])
    s = 0.0
    for j in range(4):
        out[i, j] = math.exp(X[i, j] - m)
        s += out[i, j]
    for j in range(4):
        out[i, j] = out[i, j] / s
out, out.sum(axis=1)
"""
        ],
    ),
    (
        "dense_layer_relu",
        [
            """
import numpy as np
rng = np.random.default_rng(10)
W = rng.standard_normal((4, 6))
b = rng.standard_normal(4)
x = rng.standard_normal(6)
h = np.zeros(4)
for i in range(4):
    acc = b[i]
    for j in range(6):
        acc += W[i, j] * x[j]
    h[i] = acc if acc > 0 else 0.0
h
"""
        ],
    ),
    (
        "logistic_regression_gradient_steps",
        [
            """
import math
import numpy as np
rng = np.random.default_rng(13)
X = rng.standard_normal((12, 2))
y = (X[:, 0] + X[:, 1] > 0).astype(np.float64)
w = np.zeros(2)
lr = 0.5
for epoch in range(5):
    g = np.zeros(2)
    for i in range(12):
        z = w[0] * X[i, 0] + w[1] * X[i, 1]
        p = 1.0 / (1.0 + math.exp(-z))
        g[0] += (p - y[i]) * X[i, 0]
        g[1] += (p - y[i]) * X[i, 1]
    for k in range(2):
        w[k] -= lr * g[k] / 12
w
"""
        ],
    ),
    (
        "cosine_similarity_matrix",
        [
            """
import math
import numpy as np
V = np.array([[1.0, 0.0, 1.0], [0.5, 0.5, 0.0], [0.0, 1.0, 1.0], [1.0, 1.0, 1.0]])
S = np.zeros((4, 4))
for a in range(4):
    for b in range(4):
        dot = 0.0
        na = 0.0
        nb = 0.0
        for k in range(3):
            dot += V[a, k] * V[b, k]
            na += V[a, k] * V[a, k]
            nb += V[b, k] * V[b, k]
        S[a, b] = dot / math.sqrt(na * nb)
S
"""
        ],
    ),
    (
        "layer_norm_float32",
        [
            """
import numpy as np
x = (np.arange(16, dtype=np.float32).reshape(2, 8) - 5) / 3
y = np.zeros_like(x)
for r in range(2):
    mu = np.float32(0)
    for c in range(8):
        mu += x[r, c]
    mu = mu / 8
    var = np.float32(0)
    for c in range(8):
        var += (x[r, c] - mu) ** 2
    var = var / 8
    for c in range(8):
        y[r, c] = (x[r, c] - mu) / np.sqrt(var + np.float32(1e-5))
y, y.dtype
"""
        ],
    ),
    (
        "one_hot_encoding",
        [
            """
import numpy as np
labels = np.array([2, 0, 1, 2, 1])
onehot = np.zeros((5, 3))
for i in range(5):
    for k in range(3):
        onehot[i, k] = 1.0 if labels[i] == k else 0.0
onehot
"""
        ],
    ),
    (
        "confusion_matrix_indirect",
        [
            """
import numpy as np
truth = np.array([0, 1, 2, 2, 1, 0, 1])
pred = np.array([0, 2, 2, 2, 1, 0, 0])
cm = np.zeros((3, 3), dtype=np.int64)
for i in range(7):
    cm[truth[i], pred[i]] += 1
cm
"""
        ],
    ),
    (
        "numba_style_sum_of_squares_function",
        [
            """
import numpy as np
def sum_sq(a):
    acc = 0.0
    for i in range(a.shape[0]):
        acc += a[i] ** 2
    return acc
a = np.linspace(0, 1, 101)
sum_sq(a), sum_sq(a[:0]), sum_sq(a[::10])
"""
        ],
    ),
    (
        "numba_style_rolling_mean_function",
        [
            """
import numpy as np
def rolling_mean(x, w):
    out = np.empty(x.shape[0] - w + 1)
    for i in range(out.shape[0]):
        s = 0.0
        for j in range(w):
            s += x[i + j]
        out[i] = s / w
    return out
rolling_mean(np.arange(10.0) ** 2, 3)
"""
        ],
    ),
    (
        "numba_style_bubble_in_function",
        [
            """
import numpy as np
def bubble(a):
    n = a.shape[0]
    for i in range(n - 1):
        for j in range(n - 1 - i):
            if a[j] > a[j + 1]:
                a[j], a[j + 1] = a[j + 1], a[j]
    return a
bubble(np.array([3, 9, 1, 7, 2, 8]))
"""
        ],
    ),
    (
        "numba_style_laplace_function_time_loop",
        [
            """
import numpy as np
def laplace(u, iters):
    n, m = u.shape
    for it in range(iters):
        for i in range(1, n - 1):
            for j in range(1, m - 1):
                u[i, j] = ((u[i + 1, j] + u[i - 1, j]) + (u[i, j + 1] + u[i, j - 1])) * 0.25
    return u
u = np.zeros((6, 7))
u[0, :] = 1.0
laplace(u, 5)
"""
        ],
    ),
    (
        "numba_style_histogram_function",
        [
            """
import numpy as np
def histogram(data, bins, lo, hi):
    h = np.zeros(bins, dtype=np.int64)
    width = (hi - lo) / bins
    for i in range(data.shape[0]):
        k = int((data[i] - lo) / width)
        if 0 <= k < bins:
            h[k] += 1
    return h
rng = np.random.default_rng(99)
histogram(rng.normal(size=200), 8, -2.0, 2.0)
"""
        ],
    ),
    (
        "numba_style_monte_carlo_function_argument_arrays",
        [
            """
import numpy as np
def estimate(xs, ys):
    acc = 0
    for i in range(xs.shape[0]):
        if xs[i] ** 2 + ys[i] ** 2 < 1.0:
            acc += 1
    return 4.0 * acc / xs.shape[0]
rng = np.random.default_rng(2024)
estimate(rng.random(1000), rng.random(1000))
"""
        ],
    ),
    (
        "numba_style_cumulative_product_function",
        [
            """
import numpy as np
def cumprod(x):
    out = np.empty_like(x)
    acc = 1.0
    for i in range(x.shape[0]):
        acc *= x[i]
        out[i] = acc
    return out, acc
cumprod(np.linspace(0.5, 1.5, 9))
"""
        ],
    ),
    (
        "multi_cell_simulation_notebook",
        [
            """
import numpy as np
n = 12
dx = 1.0 / (n - 1)
x = np.linspace(0, 1, n)
u = np.sin(np.pi * x)
nu = 0.1
dt = 0.2 * dx * dx / nu
""",
            """
def step(u):
    un = u.copy()
    for i in range(1, n - 1):
        u[i] = un[i] + nu * dt / dx ** 2 * (un[i + 1] - 2 * un[i] + un[i - 1])
    return u
""",
            """
for t in range(10):
    u = step(u)
print(f'{u.max():.12f}')
""",
            """
energy = 0.0
for i in range(n):
    energy += u[i] ** 2 * dx
energy
""",
        ],
    ),
    (
        "multi_cell_matrix_notebook_with_error_cell",
        [
            """
import numpy as np
A = np.arange(9.0).reshape(3, 3)
B = np.zeros((3, 3))
""",
            """
for i in range(3):
    for j in range(3):
        B[i, j] = A[j, i] * 2
B
""",
            """
for i in range(4):
    for j in range(3):
        B[i, j] = 0.0
""",
            """
B
""",
        ],
    ),
    (
        "large_float_sum_and_dot",
        [
            """
import numpy as np
rng = np.random.default_rng(31)
n = 40000
x = rng.standard_normal(n)
y = rng.standard_normal(n)
s = 0.0
d = 0.0
for i in range(n):
    s += x[i]
    d += x[i] * y[i]
s, d
"""
        ],
    ),
]
