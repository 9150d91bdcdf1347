#!/usr/bin/env python3
"""Reference of Germer et al., "Fast Multi-Level Foreground Estimation" (2020), in NumPy, for the engine's tests.

Owns the two variants the engine implements:
  * `sequential`: the published method as pymatting's estimate_foreground_ml runs it. Each iteration sweeps the
    pixels in row-major order and updates F and B in place, so a pixel sees its left and upper neighbours' new
    values and its right and lower neighbours' old ones. Here the sweep is computed one anti-diagonal (x + y = k)
    at a time: the pixels of one anti-diagonal depend only on the previous one, so this gives the same numbers as
    the pixel-by-pixel loop, vectorised. The arithmetic follows pymatting's numba types exactly (float32 inputs,
    float32 right-hand sides, the 2x2 solve in float64, a float32 running sum for the mean colours), so the
    result matches pymatting to the last bit or nearly (tests/reference/check_foreground.py measures it).
  * `jacobi`: the parallel update of pymatting's CuPy/OpenCL kernel: every pixel reads its neighbours' values of
    the previous iteration, all arithmetic in float32 in the kernel's order. The engine's Jacobi variant keeps the
    sequential method's start and schedule (mean colours at 1 x 1, the small-level rule max(w, h) <= small_size,
    the last iterate of each level passed on). `gpu_compat=True` instead reproduces pymatting's GPU wrapper as it
    is (start from pixel (0, 0), the rule min(w, h) <= small_size, gradient weight 1, and the wrapper's buffer
    swap that passes on the second-to-last iterate of each level), used only to check this kernel against
    pymatting's own OpenCL code.

Common to both: level i of n = ceil(log2(max(w0, h0))) has size round(w0^(i/n)) x round(h0^(i/n)); every level
resamples the input image and alpha, and the previous level's F and B, by nearest neighbour
(src = min(size_src - 1, dst * size_src // size_dst)); borders repeat the edge pixel; F and B are clamped to
[0, 1] after every update.

Needs only NumPy. Used by gen_foreground_fixtures.py, check_foreground.py and eval_foreground.py.
"""
import math

import numpy as np

F32 = np.float32
F64 = np.float64

DEFAULTS = dict(regularization=1e-5, n_small_iterations=10, n_big_iterations=2, small_size=32, gradient_weight=1.0)


def level_count(w0, h0):
    """n = ceil(log2(max(w0, h0))), computed exactly: the smallest n with 2^n >= max(w0, h0)."""
    m = max(w0, h0)
    return (m - 1).bit_length()


def level_sizes(w0, h0):
    """[(w, h)] of every level, from 1 x 1 up to w0 x h0. A 1 x 1 image has the one level 1 x 1."""
    n = level_count(w0, h0)
    if n == 0:
        return [(1, 1)]
    # Python's round() is round-half-to-even, as pymatting's (it runs the same expression).
    return [(round(w0 ** (i / n)), round(h0 ** (i / n))) for i in range(n + 1)]


def resize_nearest(src, w, h):
    """Nearest-neighbour resampling of src (h_src, w_src[, c]) to (h, w[, c]) as pymatting indexes it."""
    h_src, w_src = src.shape[:2]
    xs = np.minimum(w_src - 1, (np.arange(w, dtype=np.int64) * w_src) // w)
    ys = np.minimum(h_src - 1, (np.arange(h, dtype=np.int64) * h_src) // h)
    return src[ys[:, None], xs[None, :]].copy()


def mean_colours_f32(image, alpha):
    """The start colours: means over alpha > 0.9 (F) and alpha < 0.1 (B), summed in float32 in row-major order
    and divided by count + 1e-5, as pymatting does (np.cumsum accumulates strictly in order)."""
    depth = image.shape[2]
    a = alpha.astype(F64).ravel()
    flat = image.reshape(-1, depth)
    out = []
    for mask in (a > 0.9, a < 0.1):
        sel = flat[mask]
        count = int(mask.sum())
        sums = [np.cumsum(sel[:, c], dtype=F32)[-1] if count else F32(0) for c in range(depth)]
        out.append(np.array([F32(F64(s) / (count + 1e-5)) for s in sums], dtype=F32))
    return out[0], out[1]


def mean_colours_f64(image, alpha):
    """The start colours of the engine's Jacobi variant: the same means, summed in float64 (a parallel sum gives
    the same float32 result, unlike a float32 running sum over millions of pixels)."""
    depth = image.shape[2]
    a = alpha.astype(F64).ravel()
    flat = image.reshape(-1, depth).astype(F64)
    out = []
    for mask in (a > 0.9, a < 0.1):
        count = int(mask.sum())
        s = flat[mask].sum(axis=0) if count else np.zeros(depth)
        out.append((s / (count + 1e-5)).astype(F32))
    return out[0], out[1]


# Neighbour order of the update (left, right, up, down): the sums of the right-hand sides follow it.
DIRECTIONS = ((-1, 0), (1, 0), (0, -1), (0, 1))


def sweep_sequential(F, B, image, alpha, reg, gw):
    """One in-place sweep in row-major order, one anti-diagonal at a time, with pymatting's numba types."""
    h, w, depth = image.shape
    reg, gw = F32(reg), F32(gw)
    for k in range(h + w - 1):
        y = np.arange(max(0, k - w + 1), min(h - 1, k) + 1)
        x = k - y
        a0 = alpha[y, x]                               # f32
        a1 = 1.0 - a0.astype(F64)                      # f64: 1.0 - f32 is f64 in numba
        a00 = a0 * a0                                  # f32
        a01 = a0.astype(F64) * a1                      # f64
        a11 = a1 * a1                                  # f64
        img = image[y, x]
        b0 = a0[:, None] * img                         # f32
        b1 = (a1[:, None] * img.astype(F64)).astype(F32)  # f64 product stored in the f32 array
        for dx, dy in DIRECTIONS:
            x2 = np.clip(x + dx, 0, w - 1)
            y2 = np.clip(y + dy, 0, h - 1)
            da = reg + gw * np.abs(a0 - alpha[y2, x2])  # f32
            a00 = a00 + da
            a11 = a11 + da.astype(F64)
            b0 = b0 + da[:, None] * F[y2, x2]           # f32: left/upper neighbours already hold new values
            b1 = b1 + da[:, None] * B[y2, x2]
        det = a00.astype(F64) * a11 - a01 * a01
        inv = 1.0 / det
        b00 = (inv * a11)[:, None]
        b01 = (inv * -a01)[:, None]
        b11 = (inv * a00.astype(F64))[:, None]
        b0d, b1d = b0.astype(F64), b1.astype(F64)
        F[y, x] = np.maximum(0.0, np.minimum(1.0, b00 * b0d + b01 * b1d)).astype(F32)
        B[y, x] = np.maximum(0.0, np.minimum(1.0, b01 * b0d + b11 * b1d)).astype(F32)


def sweep_jacobi(F, B, image, alpha, reg, gw):
    """One Jacobi iteration: every pixel from the previous iterate, float32 in the CuPy kernel's order."""
    h, w, depth = image.shape
    reg, gw = F32(reg), F32(gw)
    a0 = alpha
    a1 = F32(1) - a0
    b0 = a0[:, :, None] * image
    b1 = a1[:, :, None] * image
    a_sum = np.zeros_like(a0)
    xs, ys = np.arange(w), np.arange(h)
    for dx, dy in DIRECTIONS:
        x2 = np.clip(xs + dx, 0, w - 1)[None, :]
        y2 = np.clip(ys + dy, 0, h - 1)[:, None]
        da = reg + gw * np.abs(a0 - alpha[y2, x2])
        a_sum = a_sum + da
        b0 = b0 + da[:, :, None] * F[y2, x2]
        b1 = b1 + da[:, :, None] * B[y2, x2]
    a00 = a0 * a0 + a_sum
    a11 = a1 * a1 + a_sum
    a01 = a0 * a1
    inv = F32(1) / (a00 * a11 - a01 * a01)
    Fn = inv[:, :, None] * (a11[:, :, None] * b0 - a01[:, :, None] * b1)
    Bn = inv[:, :, None] * (a00[:, :, None] * b1 - a01[:, :, None] * b0)
    return (np.maximum(F32(0), np.minimum(F32(1), Fn)).astype(F32),
            np.maximum(F32(0), np.minimum(F32(1), Bn)).astype(F32))


def estimate_foreground(image, alpha, variant="sequential", regularization=1e-5, n_small_iterations=10,
                        n_big_iterations=2, small_size=32, gradient_weight=1.0, gpu_compat=False):
    """F, B (float32, h x w x depth) of `image` (h x w x depth, 0..1) given `alpha` (h x w, 0..1)."""
    image = np.ascontiguousarray(image, dtype=F32)
    alpha = np.ascontiguousarray(alpha, dtype=F32)
    if image.ndim == 2:
        image = image[:, :, None]
    h0, w0, depth = image.shape
    assert alpha.shape == (h0, w0)
    if gpu_compat:
        assert variant == "jacobi" and gradient_weight == 1.0
        F = resize_nearest(image, 1, 1)
        B = F.copy()
    else:
        fm, bm = (mean_colours_f32 if variant == "sequential" else mean_colours_f64)(image, alpha)
        F = np.broadcast_to(fm, (1, 1, depth)).copy()
        B = np.broadcast_to(bm, (1, 1, depth)).copy()
    for w, h in level_sizes(w0, h0):
        img_l = resize_nearest(image, w, h)
        alpha_l = resize_nearest(alpha, w, h)
        F = resize_nearest(F, w, h)
        B = resize_nearest(B, w, h)
        small = (min(w, h) if gpu_compat else max(w, h)) <= small_size
        n_iter = n_small_iterations if small else n_big_iterations
        if variant == "sequential":
            for _ in range(n_iter):
                sweep_sequential(F, B, img_l, alpha_l, regularization, gradient_weight)
        elif variant == "jacobi":
            prev_F, prev_B = F, B
            for _ in range(n_iter):
                prev_F, prev_B = F, B
                F, B = sweep_jacobi(F, B, img_l, alpha_l, regularization, gradient_weight)
            if gpu_compat and n_iter > 0:
                F, B = prev_F, prev_B  # pymatting's wrapper keeps the buffer written one iteration earlier
        else:
            raise ValueError(variant)
    return F, B


def level_schedule(w0, h0, small_size=32, n_small=10, n_big=2):
    """[(w, h, iterations)] of the engine's schedule, for documentation and tests."""
    return [(w, h, n_small if max(w, h) <= small_size else n_big) for w, h in level_sizes(w0, h0)]


if __name__ == "__main__":
    for size in ((3008, 4000), (4000, 6000), (64, 48), (1, 1), (1, 17)):
        print(size, level_schedule(*size), "levels", len(level_sizes(*size)), "log2", math.log2(max(size)))
