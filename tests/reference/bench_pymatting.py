#!/usr/bin/env python3
"""The peer's time for the CPU comparison of README "Cut-outs": pymatting's estimate_foreground_ml (numba, one
thread, as it compiles it) on an image of the same size and kind as tests/foreground/bench_foreground.c's.

    /usr/bin/python3 tests/reference/bench_pymatting.py --pymatting /tmp/pymatting [--size 3008x4000] [--repeat 3]

Prints the best wall time of the call, after one warm-up call on a small image (numba compiles on first use).
"""
import argparse
import importlib.util
import os
import sys
import tempfile
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pymatting", required=True)
    ap.add_argument("--size", default="3008x4000")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    os.environ.setdefault("NUMBA_CACHE_DIR", tempfile.mkdtemp(prefix="numba-cache-"))
    spec = importlib.util.spec_from_file_location(
        "pm_ml", os.path.join(args.pymatting, "pymatting/foreground/estimate_foreground_ml.py"))
    ml = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ml)
    W, H = map(int, args.size.split("x"))
    # the same picture as bench_foreground.c: smooth gradients with fine noise, a soft disc with thin strands
    y, x = np.mgrid[0:H, 0:W].astype(np.float64)
    rng = np.random.default_rng(1)
    img = np.stack([0.5 + 0.4 * np.sin(0.003 * (c + 1) * x + 0.002 * y * (3 - c)) for c in range(3)], axis=2)
    img = np.clip(np.round(255 * img + rng.integers(0, 32, img.shape) - 16), 0, 255).astype(np.float32) / 255
    r = np.hypot(x - W / 2, y - H / 2) / (0.3 * min(W, H))
    strands = 0.5 + 0.5 * np.sin(0.7 * x + 3 * np.sin(0.01 * y))
    alpha = np.clip(np.where(r < 1, 1, np.where(r < 1.4, strands * (1.4 - r) / 0.4, 0)), 0, 1).astype(np.float32)
    ml.estimate_foreground_ml(img[:64, :64], alpha[:64, :64])  # warm-up
    best = 1e30
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        ml.estimate_foreground_ml(img, alpha)
        best = min(best, time.perf_counter() - t0)
    print(f"| {W} x {H} ({W * H / 1e6:.1f} MP) | pymatting estimate_foreground_ml (numba, 1 thread) | "
          f"{best:.3f} s (best of {args.repeat}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
