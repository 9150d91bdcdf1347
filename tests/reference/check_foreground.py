#!/usr/bin/env python3
"""Checks foreground_ref.py against pymatting itself on real photographs (run by hand; nothing here is committed
from pymatting and CI does not run it).

    /usr/bin/python3 tests/reference/check_foreground.py --pymatting /tmp/pymatting [--opencl]

`--pymatting` is a checkout of github.com/pymatting/pymatting (its modules are loaded from their files, so it need
not be installed; numba comes from Debian's python3-numba). Cases: pymatting's own lemur photo with its alpha
(data/lemur, real hair), and composites of scikit-image's sample photos (Debian python3-skimage) with the
evaluation's synthetic hair alpha. For each case it prints the largest difference of F and B between
estimate_foreground_ml and our `sequential` reference. With `--opencl` it also runs pymatting's OpenCL code
(estimate_foreground_ml_pyopencl: the same kernel as its CuPy code) on the CPU through pocl (Debian's
python3-pyopencl and pocl-opencl-icd) against our `jacobi` reference in `gpu_compat` mode.
"""
import argparse
import importlib.util
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import foreground_ref as ref  # noqa: E402
import foreground_scenes as scenes  # noqa: E402


def load_module(path, name):
    # pymatting asks numba to cache compiled functions beside its files; a cache written by another loader of the
    # file cannot be read back, so each run compiles into a fresh folder.
    os.environ.setdefault("NUMBA_CACHE_DIR", tempfile.mkdtemp(prefix="numba-cache-"))
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def cases(pm_root):
    lemur = pm_root / "data" / "lemur"
    image = np.asarray(Image.open(lemur / "lemur.png").convert("RGB"), dtype=np.float32) / np.float32(255)
    alpha = np.asarray(Image.open(lemur / "lemur_alpha.png").convert("L"), dtype=np.float32) / np.float32(255)
    yield "lemur 680x440 (pymatting's photo and alpha)", image, alpha
    for sc in scenes.SCENES[:2]:
        image, alpha, _F = scenes.make_scene(sc, 480, 360)
        yield f"composite {sc['name']} 480x360", image, alpha
    image, alpha, _F = scenes.make_scene(scenes.SCENES[0], 97, 61)
    yield "composite 97x61 (odd sizes)", image, alpha
    yield "grey lemur 680x440 (one channel)", image_grey(lemur), \
        np.asarray(Image.open(lemur / "lemur_alpha.png").convert("L"), dtype=np.float32) / np.float32(255)


def image_grey(lemur):
    g = np.asarray(Image.open(lemur / "lemur.png").convert("L"), dtype=np.float32) / np.float32(255)
    return g[:, :, None].copy()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pymatting", required=True, type=Path)
    ap.add_argument("--opencl", action="store_true")
    args = ap.parse_args()
    ml = load_module(args.pymatting / "pymatting/foreground/estimate_foreground_ml.py", "pm_ml")
    ocl = None
    if args.opencl:
        os.environ.setdefault("PYOPENCL_CTX", "0")
        ocl = load_module(args.pymatting / "pymatting/foreground/estimate_foreground_ml_pyopencl.py", "pm_ocl")
    params = dict(regularization=2e-4, n_small_iterations=7, n_big_iterations=3, small_size=20, gradient_weight=0.5)
    worst = 0.0
    for name, image, alpha in cases(args.pymatting):
        for label, kw in (("defaults", {}), ("other parameters", params)):
            t0 = time.time()
            F_pm, B_pm = ml.estimate_foreground_ml(image, alpha, return_background=True, **kw)
            t1 = time.time()
            F_ref, B_ref = ref.estimate_foreground(image, alpha, "sequential", **kw)
            t2 = time.time()
            F_pm = F_pm.reshape(F_ref.shape)
            B_pm = B_pm.reshape(B_ref.shape)
            dF = float(np.abs(F_pm - F_ref).max())
            dB = float(np.abs(B_pm - B_ref).max())
            same = int(np.count_nonzero(F_pm == F_ref))
            worst = max(worst, dF, dB)
            print(f"sequential | {name} | {label} | max|dF| {dF:.3e} | max|dB| {dB:.3e} | "
                  f"F bit-identical {same}/{F_ref.size} | pymatting {t1 - t0:.1f} s, reference {t2 - t1:.1f} s",
                  flush=True)
        if ocl is not None and image.shape[2] == 3:
            F_cl, B_cl = ocl.estimate_foreground_ml_pyopencl(image, alpha, return_background=True)
            F_ref, B_ref = ref.estimate_foreground(image, alpha, "jacobi", gpu_compat=True)
            dF = float(np.abs(F_cl - F_ref).max())
            dB = float(np.abs(B_cl - B_ref).max())
            print(f"jacobi (gpu_compat) vs pymatting OpenCL on pocl | {name} | max|dF| {dF:.3e} | max|dB| {dB:.3e}",
                  flush=True)
            F_ours, _ = ref.estimate_foreground(image, alpha, "jacobi")
            F_seq, _ = ref.estimate_foreground(image, alpha, "sequential")
            band = (alpha > 0) & (alpha < 1)
            print(f"  our jacobi vs our sequential | {name} | max|dF| {np.abs(F_ours - F_seq).max():.3e}, "
                  f"in the unknown band {np.abs(F_ours - F_seq)[band].max():.3e}", flush=True)
    print(f"largest difference, sequential reference vs pymatting: {worst:.3e}")
    return 0 if worst <= 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
