"""Image-processing loops over uint8, int32 and float images: point
operations with clipping, look-up tables, filters, morphology, geometric
transforms, integral images and colour conversions."""

import math

import numpy as np

from ._registry import style

case = style("image")


def _u8(n, r):
    return (r.integers(0, 256, (n, n), dtype=np.uint8),)


def _rgb(n, r):
    return (r.integers(0, 256, (n, n, 3), dtype=np.uint8),)


@case(lambda n, r: _u8(n, r) + (40,), (6, 40, 300), "brightness with clipping via min()")
def brighten_uint8(img, delta):
    h, w = img.shape
    out = np.empty_like(img)
    for y in range(h):
        for x in range(w):
            out[y, x] = min(int(img[y, x]) + delta, 255)
    return out


@case(lambda n, r: _u8(n, r) + (1.5,), (6, 40, 300), "contrast stretch with if/elif clipping")
def contrast_uint8(img, gain):
    h, w = img.shape
    out = np.zeros((h, w), dtype=np.uint8)
    for i in range(h):
        for j in range(w):
            v = (img[i, j] - 128.0) * gain + 128.0
            if v < 0:
                v = 0
            elif v > 255:
                v = 255
            out[i, j] = v
    return out


@case(lambda n, r: (r.integers(0, 256, (n, n)).astype(np.float64), 128.0), (6, 40, 600), "threshold to 0/255")
def threshold_float(img, t):
    out = np.zeros_like(img)
    for i in range(img.shape[0]):
        for j in range(img.shape[1]):
            if img[i, j] > t:
                out[i, j] = 255.0
    return out


@case(lambda n, r: _u8(n, r) + (2.2,), (6, 40, 500), "gamma through a look-up table (indirect subscript)")
def gamma_lut(img, gamma):
    lut = np.zeros(256, dtype=np.uint8)
    for v in range(256):
        lut[v] = int(255 * (v / 255) ** (1 / gamma) + 0.5)
    out = np.empty_like(img)
    for i in range(img.shape[0]):
        for j in range(img.shape[1]):
            out[i, j] = lut[img[i, j]]
    return out


@case(_u8, (6, 40, 300), "histogram, CDF, look-up table")
def equalize_histogram(img):
    h, w = img.shape
    hist = np.zeros(256, dtype=np.int64)
    for i in range(h):
        for j in range(w):
            hist[img[i, j]] += 1
    cdf = np.zeros(256, dtype=np.int64)
    c = 0
    for v in range(256):
        c += hist[v]
        cdf[v] = c
    lut = np.zeros(256, dtype=np.uint8)
    for v in range(256):
        lut[v] = (cdf[v] * 255) // (h * w)
    out = np.empty_like(img)
    for i in range(h):
        for j in range(w):
            out[i, j] = lut[img[i, j]]
    return out


@case(lambda n, r: (r.random((n, n)),), (6, 40, 250), "Sobel magnitude with math.sqrt")
def sobel(img):
    h, w = img.shape
    out = np.zeros((h, w))
    for y in range(1, h - 1):
        for x in range(1, w - 1):
            gx = (
                img[y - 1, x + 1]
                + 2 * img[y, x + 1]
                + img[y + 1, x + 1]
                - img[y - 1, x - 1]
                - 2 * img[y, x - 1]
                - img[y + 1, x - 1]
            )
            gy = (
                img[y + 1, x - 1]
                + 2 * img[y + 1, x]
                + img[y + 1, x + 1]
                - img[y - 1, x - 1]
                - 2 * img[y - 1, x]
                - img[y - 1, x + 1]
            )
            out[y, x] = math.sqrt(gx * gx + gy * gy)
    return out


@case(lambda n, r: (r.integers(0, 256, (n, n)).astype(np.int32),), (6, 40, 250), "Sobel on int32 with abs()")
def sobel_int32(img):
    h, w = img.shape
    out = np.zeros((h, w), dtype=np.int32)
    for y in range(1, h - 1):
        for x in range(1, w - 1):
            gx = img[y, x + 1] - img[y, x - 1]
            gy = img[y + 1, x] - img[y - 1, x]
            out[y, x] = abs(gx) + abs(gy)
    return out


G5 = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0


@case(lambda n, r: (r.random((n, n)),), (8, 40, 120), "separable 5-tap filter, global weights, 2-D kernel")
def gaussian_5x5(img):
    h, w = img.shape
    out = np.zeros_like(img)
    for i in range(2, h - 2):
        for j in range(2, w - 2):
            s = 0.0
            for u in range(5):
                for v in range(5):
                    s += G5[u] * G5[v] * img[i + u - 2, j + v - 2]
            out[i, j] = s
    return out


@case(_u8, (6, 30, 120), "median of a 3x3 window with np.median on a slice")
def median_3x3(img):
    h, w = img.shape
    out = img.copy()
    for i in range(1, h - 1):
        for j in range(1, w - 1):
            out[i, j] = np.median(img[i - 1 : i + 2, j - 1 : j + 2])
    return out


def _salt_and_pepper(n, r):
    img = r.integers(60, 200, (n, n), dtype=np.uint8)
    noise = r.random((n, n))
    img[noise < 0.05] = 0
    img[noise > 0.95] = 255
    return (img,)


@case(
    _salt_and_pepper,
    (6, 30, 120),
    "salt-and-pepper denoising: 3x3 np.median over an edge-padded uint8 image",
)
def median_denoise_padded(noisy):
    h, w = noisy.shape
    padded = np.pad(noisy, 1, mode="edge")
    clean = np.zeros_like(noisy)
    for y in range(h):
        for x in range(w):
            clean[y, x] = np.median(padded[y : y + 3, x : x + 3])
    return clean


@case(_u8, (6, 30, 200), "erosion: min over the window with a loop")
def erode_3x3(img):
    h, w = img.shape
    out = img.copy()
    for i in range(1, h - 1):
        for j in range(1, w - 1):
            m = 255
            for di in range(-1, 2):
                for dj in range(-1, 2):
                    if img[i + di, j + dj] < m:
                        m = img[i + di, j + dj]
            out[i, j] = m
    return out


@case(lambda n, r: (r.random((n, n)),), (6, 30, 200), "dilation: max() builtin over the window")
def dilate_3x3(img):
    h, w = img.shape
    out = img.copy()
    for i in range(1, h - 1):
        for j in range(1, w - 1):
            m = img[i, j]
            for di in range(-1, 2):
                for dj in range(-1, 2):
                    m = max(m, img[i + di, j + dj])
            out[i, j] = m
    return out


@case(lambda n, r: (r.random((n, n + 2)),), (6, 40, 600), "horizontal flip, swap by tuple assignment")
def flip_horizontal(img):
    h, w = img.shape
    for i in range(h):
        for j in range(w // 2):
            img[i, j], img[i, w - 1 - j] = img[i, w - 1 - j], img[i, j]


@case(lambda n, r: (r.random((n, n + 2)),), (6, 40, 600), "rotation by 90 degrees into a new array")
def rotate_90(img):
    h, w = img.shape
    out = np.empty((w, h))
    for i in range(h):
        for j in range(w):
            out[w - 1 - j, i] = img[i, j]
    return out


@case(lambda n, r: (r.random((2 * n, 2 * n)),), (4, 30, 300), "2x2 average pooling, strided loops")
def downsample_2x2(img):
    h, w = img.shape
    out = np.zeros((h // 2, w // 2))
    for i in range(0, h - 1, 2):
        for j in range(0, w - 1, 2):
            out[i // 2, j // 2] = (img[i, j] + img[i + 1, j] + img[i, j + 1] + img[i + 1, j + 1]) / 4
    return out


@case(lambda n, r: (r.random((n, n)), 3), (4, 20, 200), "nearest-neighbour upscaling, // in subscripts")
def upscale_nearest(img, f):
    h, w = img.shape
    out = np.empty((h * f, w * f))
    for i in range(h * f):
        for j in range(w * f):
            out[i, j] = img[i // f, j // f]
    return out


@case(lambda n, r: (r.random((n, n)), n + n // 2), (4, 30, 180), "bilinear resize with int() and floats")
def resize_bilinear(img, size):
    h, w = img.shape
    out = np.zeros((size, size))
    sy = (h - 1) / (size - 1)
    sx = (w - 1) / (size - 1)
    for i in range(size):
        for j in range(size):
            y = i * sy
            x = j * sx
            y0 = int(y)
            x0 = int(x)
            y1 = min(y0 + 1, h - 1)
            x1 = min(x0 + 1, w - 1)
            fy = y - y0
            fx = x - x0
            top = img[y0, x0] * (1 - fx) + img[y0, x1] * fx
            bot = img[y1, x0] * (1 - fx) + img[y1, x1] * fx
            out[i, j] = top * (1 - fy) + bot * fy
    return out


@case(lambda n, r: (r.random((n, n, 3)), r.random((n, n, 3)), r.random((n, n))), (6, 30, 150), "alpha blend")
def alpha_blend(fg, bg, alpha):
    h, w, c = fg.shape
    out = np.empty_like(fg)
    for i in range(h):
        for j in range(w):
            a = alpha[i, j]
            for k in range(c):
                out[i, j, k] = a * fg[i, j, k] + (1 - a) * bg[i, j, k]
    return out


@case(_rgb, (6, 30, 150), "sepia tone on uint8 with min(255, ...)")
def sepia_uint8(img):
    h, w, _ = img.shape
    out = np.empty_like(img)
    for i in range(h):
        for j in range(w):
            r = img[i, j, 0]
            g = img[i, j, 1]
            b = img[i, j, 2]
            out[i, j, 0] = min(255, int(0.393 * r + 0.769 * g + 0.189 * b))
            out[i, j, 1] = min(255, int(0.349 * r + 0.686 * g + 0.168 * b))
            out[i, j, 2] = min(255, int(0.272 * r + 0.534 * g + 0.131 * b))
    return out


@case(_rgb, (6, 30, 400), "RGB to BGR, swapping channels with a tuple")
def rgb_to_bgr(img):
    for i in range(img.shape[0]):
        for j in range(img.shape[1]):
            img[i, j, 0], img[i, j, 2] = img[i, j, 2], img[i, j, 0]


@case(lambda n, r: (r.random((n, n, 3)),), (6, 30, 220), "RGB to HSV hue with max()/min() of three")
def rgb_to_hue(img):
    h, w, _ = img.shape
    hue = np.zeros((h, w))
    for i in range(h):
        for j in range(w):
            r, g, b = img[i, j, 0], img[i, j, 1], img[i, j, 2]
            mx = max(r, g, b)
            mn = min(r, g, b)
            d = mx - mn
            if d == 0:
                hue[i, j] = 0.0
            elif mx == r:
                hue[i, j] = (60 * ((g - b) / d) + 360) % 360
            elif mx == g:
                hue[i, j] = 60 * ((b - r) / d) + 120
            else:
                hue[i, j] = 60 * ((r - g) / d) + 240
    return hue


@case(lambda n, r: (r.random((n, n)),), (6, 40, 300), "summed-area table, two carried directions")
def integral_image(img):
    h, w = img.shape
    S = np.zeros((h + 1, w + 1))
    for i in range(h):
        for j in range(w):
            S[i + 1, j + 1] = img[i, j] + S[i, j + 1] + S[i + 1, j] - S[i, j]
    return S


@case(lambda n, r: (r.random((n, n)), 2), (6, 40, 200), "box filter from an integral image")
def box_filter_integral(img, rad):
    h, w = img.shape
    S = np.zeros((h + 1, w + 1))
    for i in range(h):
        row = 0.0
        for j in range(w):
            row += img[i, j]
            S[i + 1, j + 1] = S[i, j + 1] + row
    out = np.zeros((h, w))
    for i in range(rad, h - rad):
        for j in range(rad, w - rad):
            y0, x0, y1, x1 = i - rad, j - rad, i + rad + 1, j + rad + 1
            out[i, j] = (S[y1, x1] - S[y0, x1] - S[y1, x0] + S[y0, x0]) / ((2 * rad + 1) ** 2)
    return out


@case(lambda n, r: (r.random((n, n)), 1.0), (6, 40, 200), "unsharp mask: blur, then a second pass")
def unsharp_mask(img, amount):
    h, w = img.shape
    blur = img.copy()
    for i in range(1, h - 1):
        for j in range(1, w - 1):
            blur[i, j] = (img[i - 1, j] + img[i + 1, j] + img[i, j - 1] + img[i, j + 1] + 4 * img[i, j]) / 8
    out = np.empty_like(img)
    for i in range(h):
        for j in range(w):
            out[i, j] = img[i, j] + amount * (img[i, j] - blur[i, j])
    return out


@case(_u8, (6, 40, 300), "emboss on uint8: arithmetic wraps, then clip with max/min")
def emboss_uint8(img):
    h, w = img.shape
    out = np.zeros_like(img)
    for i in range(1, h):
        for j in range(1, w):
            v = int(img[i, j]) - int(img[i - 1, j - 1]) + 128
            out[i, j] = max(0, min(255, v))
    return out


@case(lambda n, r: (r.random((n, n)), 2, 3), (8, 40, 600), "crop and pad with a border, copy loops")
def pad_copy(img, top, left):
    h, w = img.shape
    out = np.zeros((h + 2 * top, w + 2 * left))
    for i in range(h):
        for j in range(w):
            out[i + top, j + left] = img[i, j]
    return out


@case(lambda n, r: ((r.random((n, n)) < 0.4).astype(np.int64),), (6, 30, 100), "connected components by propagation")
def label_components(mask):
    h, w = mask.shape
    labels = np.zeros((h, w), dtype=np.int64)
    nxt = 1
    for i in range(h):
        for j in range(w):
            if mask[i, j]:
                labels[i, j] = nxt
                nxt += 1
    changed = True
    while changed:
        changed = False
        for i in range(h):
            for j in range(w):
                if labels[i, j]:
                    best = labels[i, j]
                    if i > 0 and labels[i - 1, j] and labels[i - 1, j] < best:
                        best = labels[i - 1, j]
                    if j > 0 and labels[i, j - 1] and labels[i, j - 1] < best:
                        best = labels[i, j - 1]
                    if i < h - 1 and labels[i + 1, j] and labels[i + 1, j] < best:
                        best = labels[i + 1, j]
                    if j < w - 1 and labels[i, j + 1] and labels[i, j + 1] < best:
                        best = labels[i, j + 1]
                    if best != labels[i, j]:
                        labels[i, j] = best
                        changed = True
    return labels


@case(lambda n, r: (r.random((n, n)).astype(np.float32),), (6, 40, 300), "float32 image, normalise to [0, 1]")
def normalize_float32(img):
    lo = img[0, 0]
    hi = img[0, 0]
    for i in range(img.shape[0]):
        for j in range(img.shape[1]):
            if img[i, j] < lo:
                lo = img[i, j]
            if img[i, j] > hi:
                hi = img[i, j]
    for i in range(img.shape[0]):
        for j in range(img.shape[1]):
            img[i, j] = (img[i, j] - lo) / (hi - lo)


@case(lambda n, r: (r.integers(0, 256, (n, n), dtype=np.uint16),), (6, 40, 300), "uint16 image, right shift")
def uint16_to_8bit(img):
    out = np.zeros(img.shape, dtype=np.uint8)
    for i in range(img.shape[0]):
        for j in range(img.shape[1]):
            out[i, j] = img[i, j] >> 1
    return out


@case(_u8, (6, 40, 800), "mean brightness of uint8 with for row in img")
def mean_brightness(img):
    total = 0
    count = 0
    for row in img:
        for p in row:
            total += int(p)
            count += 1
    return total / count


@case(lambda n, r: (r.random((n, n)), 0.0, 1.0), (6, 40, 200), "clip with np.clip on a scalar")
def clip_numpy_scalar(img, lo, hi):
    for i in range(img.shape[0]):
        for j in range(img.shape[1]):
            img[i, j] = np.clip(img[i, j] * 1.3 - 0.1, lo, hi)


@case(lambda n, r: (r.random((n, n)), 8), (6, 40, 300), "quantise to levels with round()")
def quantize(img, levels):
    out = np.empty_like(img)
    for i in range(img.shape[0]):
        for j in range(img.shape[1]):
            out[i, j] = round(img[i, j] * (levels - 1)) / (levels - 1)
    return out


def _f16(n, r):
    return (r.random((n, n)).astype(np.float16),)


@case(lambda n, r: _f16(n, r) + (np.zeros((n, n), dtype=np.float16),), (6, 40, 300), "float16 image, 4-neighbour blur")
def blur_float16(img, out):
    for i in range(1, img.shape[0] - 1):
        for j in range(1, img.shape[1] - 1):
            out[i, j] = (img[i - 1, j] + img[i + 1, j] + img[i, j - 1] + img[i, j + 1]) * 0.25


@case(
    lambda n, r: (
        (r.random((n, 2 * n)) - 0.5).astype(np.float16),
        r.random(2 * n).astype(np.float16),
        r.random(n).astype(np.float16),
        np.zeros(n, dtype=np.float16),
    ),
    (6, 40, 300),
    "float16 weights: a dense layer with ReLU, rounded to float16 at each step",
)
def dense_relu_float16(w, x, b, y):
    for i in range(w.shape[0]):
        acc = b[i]
        for j in range(w.shape[1]):
            acc = acc + w[i, j] * x[j]
        if acc > 0:
            y[i] = acc
        else:
            y[i] = 0.0
