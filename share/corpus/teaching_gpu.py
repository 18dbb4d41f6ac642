"""Loops in the style of notebooks that teach GPU programming: elementwise
kernels, fractals, Monte Carlo, reductions, scans, matrix products,
stencils, N-body and cellular automata, written as the CPU reference a
lesson starts from."""

import math
import random

import numpy as np

from ._registry import style

case = style("teaching_gpu")


def _vec(*k):
    return lambda n, r: tuple(r.random(n) for _ in range(k[0])) + tuple(np.zeros(n) for _ in range(k[1]))


@case(_vec(2, 1), (16, 2000, 200000), "vector add, out parameter")
def vector_add(a, b, c):
    for i in range(len(a)):
        c[i] = a[i] + b[i]


@case(lambda n, r: (2.5, r.random(n), r.random(n)), (16, 2000, 200000), "y = a*x + y in place")
def saxpy(a, x, y):
    n = x.shape[0]
    for i in range(n):
        y[i] = a * x[i] + y[i]


@case(lambda n, r: (2.5, r.random(n).astype(np.float32), r.random(n).astype(np.float32)), (16, 2000, 200000))
def saxpy_float32(a, x, y):
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = a * x[i] + y[i]
    return out


@case(lambda n, r: (r.random(n), r.random(n)), (16, 2000, 200000), "allocates its result")
def vector_add_return(a, b):
    c = np.zeros_like(a)
    for i in range(a.shape[0]):
        c[i] = a[i] + b[i]
    return c


@case(lambda n, r: (r.random(n) * 2 - 1,), (16, 2000, 400000))
def relu_inplace(x):
    for i in range(len(x)):
        if x[i] < 0:
            x[i] = 0.0


@case(lambda n, r: (r.random(n) * 4 - 2,), (16, 2000, 200000), "max/min builtins in the body")
def clamp_builtin(x):
    for i in range(len(x)):
        x[i] = max(-1.0, min(1.0, x[i]))


def _grid(n, r):
    w = n
    h = max(2, (2 * n) // 3)
    return (np.zeros((h, w), dtype=np.int64), 50)


@case(_grid, (12, 48, 160), "escape-time loop with while")
def mandelbrot_while(image, max_iter):
    h, w = image.shape
    for py in range(h):
        for px in range(w):
            x0 = -2.0 + 3.0 * px / w
            y0 = -1.0 + 2.0 * py / h
            x = 0.0
            y = 0.0
            it = 0
            while x * x + y * y <= 4.0 and it < max_iter:
                x, y = x * x - y * y + x0, 2.0 * x * y + y0
                it += 1
            image[py, px] = it


@case(_grid, (12, 48, 200), "escape-time loop as for + break")
def mandelbrot_break(image, max_iter):
    height = image.shape[0]
    width = image.shape[1]
    for row in range(height):
        for col in range(width):
            cr = -2.0 + 3.0 * col / width
            ci = -1.0 + 2.0 * row / height
            zr = 0.0
            zi = 0.0
            count = max_iter
            for k in range(max_iter):
                zr2 = zr * zr
                zi2 = zi * zi
                if zr2 + zi2 > 4.0:
                    count = k
                    break
                zi = 2.0 * zr * zi + ci
                zr = zr2 - zi2 + cr
            image[row, col] = count


def mandel_point(c, max_iter):
    z = 0j
    for i in range(max_iter):
        z = z * z + c
        if abs(z) > 2.0:
            return i
    return max_iter


@case(_grid, (12, 48, 200), "complex numbers and a helper that returns from inside its loop")
def mandelbrot_complex_helper(image, max_iter):
    h, w = image.shape
    for y in range(h):
        for x in range(w):
            c = complex(-2.0 + 3.0 * x / w, -1.0 + 2.0 * y / h)
            image[y, x] = mandel_point(c, max_iter)


@case(_grid, (12, 48, 160), "complex numbers inline, while loop")
def mandelbrot_complex_inline(image, max_iter):
    h, w = image.shape
    for y in range(h):
        for x in range(w):
            c = -2.0 + 3.0 * x / w + 1j * (-1.0 + 2.0 * y / h)
            z = 0
            n = 0
            while abs(z) <= 2 and n < max_iter:
                z = z * z + c
                n += 1
            image[y, x] = n


@case(lambda n, r: (np.zeros((n, n)), -0.8 + 0.156j, 40), (10, 40, 170), "complex constant argument")
def julia_set(out, c, max_iter):
    n = out.shape[0]
    for i in range(n):
        for j in range(n):
            z = complex(-1.5 + 3.0 * j / n, -1.5 + 3.0 * i / n)
            k = 0
            while k < max_iter and z.real * z.real + z.imag * z.imag < 4.0:
                z = z * z + c
                k += 1
            out[i, j] = k / max_iter


@case(lambda n, r: (np.zeros((n, n)), -0.8, 0.156, 40), (10, 40, 180), "real arithmetic, for + break")
def julia_real(out, cr, ci, max_iter):
    n = out.shape[0]
    for i in range(n):
        for j in range(n):
            zr = -1.5 + 3.0 * j / n
            zi = -1.5 + 3.0 * i / n
            k = 0
            for k in range(max_iter):
                if zr * zr + zi * zi >= 4.0:
                    break
                zr, zi = zr * zr - zi * zi + cr, 2 * zr * zi + ci
            out[i, j] = k / max_iter


@case(lambda n, r: (n, 7), (50, 2000, 400000), "random module, seeded inside")
def monte_carlo_pi(samples, seed):
    random.seed(seed)
    inside = 0
    for i in range(samples):
        x = random.random()
        y = random.random()
        if x * x + y * y <= 1.0:
            inside += 1
    return 4.0 * inside / samples


@case(lambda n, r: (n, 11), (50, 2000, 100000), "np.random scalars, seeded inside")
def monte_carlo_pi_numpy_random(samples, seed):
    np.random.seed(seed)
    hits = 0
    for _ in range(samples):
        x, y = np.random.random(), np.random.random()
        if x**2 + y**2 < 1:
            hits += 1
    return 4 * hits / samples


@case(lambda n, r: (r.random(n), r.random(n)), (50, 2000, 200000), "samples drawn outside the loop")
def monte_carlo_pi_arrays(xs, ys):
    count = 0
    for i in range(xs.shape[0]):
        if xs[i] * xs[i] + ys[i] * ys[i] <= 1.0:
            count += 1
    return 4.0 * count / xs.shape[0]


@case(lambda n, r: (n, 3), (50, 2000, 100000), "Generator object made inside")
def monte_carlo_pi_generator(samples, seed):
    rng = np.random.default_rng(seed)
    pts = rng.random((samples, 2))
    inside = 0
    for i in range(samples):
        if pts[i, 0] ** 2 + pts[i, 1] ** 2 <= 1.0:
            inside += 1
    return 4.0 * inside / samples


def _rgb_u8(n, r):
    return (r.integers(0, 256, (n, n, 3), dtype=np.uint8),)


@case(_rgb_u8, (6, 40, 200), "uint8 image in, uint8 out")
def grayscale_uint8(img):
    h, w, _ = img.shape
    gray = np.zeros((h, w), dtype=np.uint8)
    for i in range(h):
        for j in range(w):
            gray[i, j] = 0.299 * img[i, j, 0] + 0.587 * img[i, j, 1] + 0.114 * img[i, j, 2]
    return gray


@case(lambda n, r: (r.random((n, n, 3)),), (6, 40, 300), "float image")
def grayscale_float(img):
    rows, cols = img.shape[0], img.shape[1]
    out = np.empty((rows, cols))
    for r in range(rows):
        for c in range(cols):
            out[r, c] = 0.2126 * img[r, c, 0] + 0.7152 * img[r, c, 1] + 0.0722 * img[r, c, 2]
    return out


@case(lambda n, r: (r.integers(0, 256, (n, n), dtype=np.uint8),), (6, 40, 300), "255 - pixel on uint8")
def invert_uint8(img):
    for i in range(img.shape[0]):
        for j in range(img.shape[1]):
            img[i, j] = 255 - img[i, j]


@case(lambda n, r: (r.random((n, n)), np.zeros((n, n))), (6, 40, 300), "box blur, 3x3 neighbourhood")
def box_blur(src, dst):
    h, w = src.shape
    for i in range(1, h - 1):
        for j in range(1, w - 1):
            s = 0.0
            for di in range(-1, 2):
                for dj in range(-1, 2):
                    s += src[i + di, j + dj]
            dst[i, j] = s / 9.0


@case(
    lambda n, r: (r.random((n, n)), np.array([[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]])),
    (6, 40, 200),
    "small kernel from an argument",
)
def convolve_3x3(img, kernel):
    h, w = img.shape
    kh, kw = kernel.shape
    out = np.zeros((h - kh + 1, w - kw + 1))
    for i in range(h - kh + 1):
        for j in range(w - kw + 1):
            acc = 0.0
            for u in range(kh):
                for v in range(kw):
                    acc += img[i + u, j + v] * kernel[u, v]
            out[i, j] = acc
    return out


@case(lambda n, r: (r.integers(0, 256, n), np.zeros(256, dtype=np.int64)), (32, 4000, 200000), "hist[data[i]] += 1")
def histogram_indirect(data, hist):
    for i in range(data.shape[0]):
        hist[data[i]] += 1


@case(lambda n, r: (r.random(n), 16), (32, 4000, 100000), "bin index computed with int()")
def histogram_float_bins(x, nbins):
    hist = np.zeros(nbins, dtype=np.int64)
    lo, hi = 0.0, 1.0
    for i in range(len(x)):
        b = int((x[i] - lo) / (hi - lo) * nbins)
        if b == nbins:
            b = nbins - 1
        hist[b] += 1
    return hist


@case(lambda n, r: (r.random((n, n)), r.random((n, n)), np.zeros((n, n))), (4, 16, 60), "triple loop")
def matmul_naive(A, B, C):
    n = A.shape[0]
    m = B.shape[1]
    p = A.shape[1]
    for i in range(n):
        for j in range(m):
            for k in range(p):
                C[i, j] += A[i, k] * B[k, j]


@case(lambda n, r: (r.random((n, n)), r.random((n, n))), (4, 16, 60), "local accumulator, result allocated")
def matmul_local_sum(A, B):
    n, p = A.shape
    m = B.shape[1]
    C = np.zeros((n, m))
    for i in range(n):
        for j in range(m):
            tmp = 0.0
            for k in range(p):
                tmp += A[i, k] * B[k, j]
            C[i, j] = tmp
    return C


@case(lambda n, r: (r.random((n, n)), r.random((n, n)), np.zeros((n, n)), 8), (5, 18, 60), "min() in the bounds")
def matmul_tiled(A, B, C, tile):
    n = A.shape[0]
    for ii in range(0, n, tile):
        for jj in range(0, n, tile):
            for kk in range(0, n, tile):
                for i in range(ii, min(ii + tile, n)):
                    for j in range(jj, min(jj + tile, n)):
                        s = C[i, j]
                        for k in range(kk, min(kk + tile, n)):
                            s += A[i, k] * B[k, j]
                        C[i, j] = s


@case(lambda n, r: (r.random((n, n + 3)),), (5, 40, 500), "rows and columns swapped into a new array")
def transpose(a):
    rows, cols = a.shape
    t = np.empty((cols, rows))
    for i in range(rows):
        for j in range(cols):
            t[j, i] = a[i, j]
    return t


@case(lambda n, r: (r.random((n, n)), np.zeros((n, n)), 16), (6, 40, 500), "tiled, min() in the bounds")
def transpose_tiled(a, out, bs):
    n = a.shape[0]
    for i0 in range(0, n, bs):
        for j0 in range(0, n, bs):
            for i in range(i0, min(i0 + bs, n)):
                for j in range(j0, min(j0 + bs, n)):
                    out[j, i] = a[i, j]


@case(lambda n, r: (r.random((n, n)),), (6, 40, 500), "in-place swap by tuple assignment")
def transpose_inplace(a):
    n = a.shape[0]
    for i in range(n):
        for j in range(i + 1, n):
            a[i, j], a[j, i] = a[j, i], a[i, j]


@case(lambda n, r: (r.random(n),), (16, 4000, 300000), "float sum")
def sum_reduction(x):
    total = 0.0
    for i in range(len(x)):
        total += x[i]
    return total


@case(lambda n, r: (r.random(n),), (16, 4000, 400000), "running max with an if")
def max_reduction(x):
    best = x[0]
    for i in range(1, x.shape[0]):
        if x[i] > best:
            best = x[i]
    return best


@case(lambda n, r: (r.random(n), r.random(n)), (16, 4000, 200000))
def dot_product(a, b):
    result = 0.0
    for i in range(a.size):
        result += a[i] * b[i]
    return result


@case(lambda n, r: (r.integers(-100, 100, n),), (16, 4000, 400000), "integer sum of an int64 array")
def int_sum(x):
    s = 0
    for i in range(len(x)):
        s += x[i]
    return s


@case(lambda n, r: (r.random(n),), (16, 4000, 200000), "tree reduction: while over a halving stride")
def tree_reduction(x):
    buf = x.copy()
    n = buf.shape[0]
    stride = 1
    while stride < n:
        for i in range(0, n - stride, 2 * stride):
            buf[i] += buf[i + stride]
        stride *= 2
    return buf[0]


@case(lambda n, r: (r.random(n), np.zeros(n)), (16, 4000, 200000), "inclusive scan")
def prefix_sum_inclusive(x, out):
    out[0] = x[0]
    for i in range(1, len(x)):
        out[i] = out[i - 1] + x[i]


@case(lambda n, r: (r.integers(0, 10, n),), (16, 4000, 200000), "exclusive scan with a running scalar")
def prefix_sum_exclusive(x):
    out = np.zeros_like(x)
    running = 0
    for i in range(x.shape[0]):
        out[i] = running
        running += x[i]
    return out


@case(lambda n, r: (r.integers(0, 10, 1 << n).astype(np.float64),), (4, 11, 16), "Hillis-Steele scan with while")
def prefix_sum_doubling(x):
    n = len(x)
    a = x.copy()
    offset = 1
    while offset < n:
        b = a.copy()
        for i in range(offset, n):
            b[i] = a[i] + a[i - offset]
        a = b
        offset *= 2
    return a


def _bodies(n, r):
    return (r.random((n, 3)), r.random((n, 3)) * 0.01, r.random(n) + 0.5, 0.01)


@case(_bodies, (6, 40, 180), "pairwise forces, sqrt, softening")
def nbody_step(pos, vel, mass, dt):
    n = pos.shape[0]
    acc = np.zeros((n, 3))
    for i in range(n):
        for j in range(n):
            if i != j:
                dx = pos[j, 0] - pos[i, 0]
                dy = pos[j, 1] - pos[i, 1]
                dz = pos[j, 2] - pos[i, 2]
                d2 = dx * dx + dy * dy + dz * dz + 1e-3
                inv = mass[j] / (d2 * math.sqrt(d2))
                acc[i, 0] += dx * inv
                acc[i, 1] += dy * inv
                acc[i, 2] += dz * inv
    for i in range(n):
        for k in range(3):
            vel[i, k] += dt * acc[i, k]
            pos[i, k] += dt * vel[i, k]


@case(_bodies, (6, 40, 250), "potential energy over pairs j > i, ** -0.5")
def nbody_energy(pos, vel, mass, dt):
    n = len(mass)
    e = 0.0
    for i in range(n):
        e += 0.5 * mass[i] * (vel[i, 0] ** 2 + vel[i, 1] ** 2 + vel[i, 2] ** 2)
        for j in range(i + 1, n):
            r2 = (pos[i, 0] - pos[j, 0]) ** 2 + (pos[i, 1] - pos[j, 1]) ** 2 + (pos[i, 2] - pos[j, 2]) ** 2
            e -= mass[i] * mass[j] * (r2 + 1e-3) ** -0.5
    return e


@case(lambda n, r: (r.random(n), 10, 0.25), (16, 400, 8000), "time loop, two buffers swapped by tuple assignment")
def heat_1d(u, steps, alpha):
    a = u.copy()
    b = u.copy()
    n = len(u)
    for t in range(steps):
        for i in range(1, n - 1):
            b[i] = a[i] + alpha * (a[i - 1] - 2 * a[i] + a[i + 1])
        a, b = b, a
    return a


@case(lambda n, r: (r.random((n, n)), 5), (6, 30, 120), "Jacobi iterations with copy back")
def jacobi_2d_copy(grid, iters):
    n, m = grid.shape
    new = grid.copy()
    for it in range(iters):
        for i in range(1, n - 1):
            for j in range(1, m - 1):
                new[i, j] = 0.25 * (grid[i - 1, j] + grid[i + 1, j] + grid[i, j - 1] + grid[i, j + 1])
        for i in range(1, n - 1):
            for j in range(1, m - 1):
                grid[i, j] = new[i, j]


@case(lambda n, r: (r.random((n, n)), 1e-3), (6, 16, 28), "iterate until converged: while with a residual")
def jacobi_until_converged(grid, tol):
    n = grid.shape[0]
    new = grid.copy()
    diff = tol + 1.0
    iters = 0
    while diff > tol and iters < 500:
        diff = 0.0
        for i in range(1, n - 1):
            for j in range(1, n - 1):
                new[i, j] = 0.25 * (grid[i - 1, j] + grid[i + 1, j] + grid[i, j - 1] + grid[i, j + 1])
                diff = max(diff, abs(new[i, j] - grid[i, j]))
        grid, new = new, grid
        iters += 1
    return iters, diff


@case(lambda n, r: ((r.random((n, n)) < 0.3).astype(np.int64), 3), (6, 30, 120), "neighbour count, int64 board")
def game_of_life(board, steps):
    rows, cols = board.shape
    nxt = np.zeros_like(board)
    for s in range(steps):
        for i in range(1, rows - 1):
            for j in range(1, cols - 1):
                live = 0
                for di in range(-1, 2):
                    for dj in range(-1, 2):
                        if di != 0 or dj != 0:
                            live += board[i + di, j + dj]
                if board[i, j] == 1 and (live == 2 or live == 3):
                    nxt[i, j] = 1
                elif board[i, j] == 0 and live == 3:
                    nxt[i, j] = 1
                else:
                    nxt[i, j] = 0
        board[:, :] = nxt
    return board


@case(lambda n, r: ((r.random((n, n)) < 0.3).astype(np.uint8),), (6, 30, 160), "uint8 board, wrap-around with %")
def game_of_life_torus(board):
    n, m = board.shape
    out = np.zeros_like(board)
    for i in range(n):
        for j in range(m):
            c = 0
            for di in (-1, 0, 1):
                for dj in (-1, 0, 1):
                    if di or dj:
                        c += board[(i + di) % n, (j + dj) % m]
            out[i, j] = 1 if c == 3 or (c == 2 and board[i, j]) else 0
    return out


@case(lambda n, r: (r.random(n), np.zeros(n)), (16, 4000, 200000), "three-point stencil with edges")
def stencil_1d(x, y):
    n = x.shape[0]
    y[0] = x[0]
    y[n - 1] = x[n - 1]
    for i in range(1, n - 1):
        y[i] = (x[i - 1] + x[i] + x[i + 1]) / 3.0


@case(lambda n, r: (r.random(n), r.random(n)), (16, 4000, 200000), "elementwise sqrt and exp from math")
def elementwise_math(x, y):
    out = np.empty(len(x))
    for i in range(len(x)):
        out[i] = math.sqrt(x[i]) * math.exp(-y[i])
    return out


@case(lambda n, r: (r.random(n),), (16, 4000, 200000), "norm: acc ** 2 then sqrt")
def vector_norm(v):
    acc = 0
    for i in range(v.shape[0]):
        acc += v[i] ** 2
    return math.sqrt(acc)


@case(lambda n, r: (r.random(n) - 0.5,), (16, 4000, 400000), "counting with a condition")
def count_positive(x):
    count = 0
    for i in range(len(x)):
        if x[i] > 0:
            count = count + 1
    return count


@case(lambda n, r: (r.random((n, n)), r.random(n)), (6, 60, 400), "matrix-vector product")
def matvec(A, x):
    rows, cols = A.shape
    y = np.zeros(rows)
    for i in range(rows):
        for j in range(cols):
            y[i] += A[i, j] * x[j]
    return y


@case(lambda n, r: (r.random(n), r.random(n), np.zeros(n)), (16, 4000, 200000), "grid-stride loop, as in a kernel")
def grid_stride_add(a, b, out):
    n = a.shape[0]
    threads = 64
    for tid in range(threads):
        for i in range(tid, n, threads):
            out[i] = a[i] + b[i]


@case(lambda n, r: (r.random(n),), (16, 4000, 200000), "1-D convolution with a list of weights")
def convolve_weights_list(signal):
    weights = [0.25, 0.5, 0.25]
    out = np.zeros_like(signal)
    for i in range(1, len(signal) - 1):
        acc = 0.0
        for k in range(len(weights)):
            acc += weights[k] * signal[i + k - 1]
        out[i] = acc
    return out


NEIGHBOURS = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


@case(lambda n, r: ((r.random((n, n)) < 0.3).astype(np.int64),), (6, 30, 160), "life step over a list of 8 offsets")
def game_of_life_offsets(board):
    rows, cols = board.shape
    nxt = np.zeros_like(board)
    for i in range(1, rows - 1):
        for j in range(1, cols - 1):
            live = 0
            for di, dj in NEIGHBOURS:
                live += board[i + di, j + dj]
            if live == 3 or (live == 2 and board[i, j] == 1):
                nxt[i, j] = 1
    return nxt


@case(
    lambda n, r: (r.random(n) * 2 - 1, [1.0, -0.5, 0.25, 3.0, -2.0]),
    (16, 4000, 200000),
    "Horner with a coefficient list",
)
def polyval_horner_list(x, coeffs):
    y = np.empty_like(x)
    for i in range(len(x)):
        acc = 0.0
        for c in coeffs:
            acc = acc * x[i] + c
        y[i] = acc
    return y


@case(
    lambda n, r: (r.integers(0, 101, (n, 4)).astype(np.float64), np.array([0.2, 0.3, 0.25, 0.25])),
    (8, 3000, 150000),
    "weighted course grades and class average, rounded with round(x, 2)",
)
def course_grades(scores, weights):
    students, parts = scores.shape
    final = np.zeros(students)
    passed = 0
    for i in range(students):
        grade = 0.0
        for j in range(parts):
            grade += scores[i, j] * weights[j]
        final[i] = round(grade, 2)
        if round(grade / 10) >= 5:
            passed += 1
    average = 0.0
    for i in range(students):
        average += float(final[i])
    return final, passed, round(average / students, 1)
