#!/usr/bin/env python3
"""Quality of the engine's foreground estimation on real photographs whose true foreground is known.

    /usr/bin/python3 tests/reference/eval_foreground.py --vitmatte build/tools/vitmatte [--size 1200x900]
        [--picture docs/foreground-before-after.png]

Needs Debian's python3-numpy python3-pil python3-skimage python3-tifffile python3-png. For each scene of
foreground_scenes.py (a real photo composited over a different real photo with a soft, hair-like alpha; the
composite rounded to 8 bits) it runs the CLI, `vitmatte foreground IMAGE ALPHA -o CUT.png --bits 16` (the 16-bit
RGBA cut-out, read with pypng: the float TIFF's predictor needs a codec Debian's tifffile lacks) with --method
sequential and jacobi on the CPU, and
measures the alpha-weighted mean absolute error of F in the unknown band (0 < alpha < 1):

    sum over band pixels and channels of alpha |F_est - F_true|  /  sum of alpha (times 3 channels)

which is also the mean error a cut-out shows over any new background, per unit of alpha. "raw" is what users get
without decontamination: the image's own colours as F. Prints a markdown table; --picture writes a before/after
crop (raw colours and estimated colours composited over a new background, and the truth).
"""
import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import png
import tifffile
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))
import foreground_scenes as scenes  # noqa: E402


def weighted_mae(F_est, F_true, alpha, band):
    a = alpha[band][:, None].astype(np.float64)
    return float((a * np.abs(F_est[band].astype(np.float64) - F_true[band])).sum() / (a.sum() * F_true.shape[2]))


def run_cli(vitmatte, image_path, alpha_path, out_path, method):
    t0 = time.time()
    subprocess.run([vitmatte, "foreground", "--device", "cpu", "--method", method, "--quiet", "--bits", "16",
                    str(image_path), str(alpha_path), "-o", str(out_path)], check=True)
    secs = time.time() - t0
    w, h, rows, info = png.Reader(filename=str(out_path)).read()
    assert info["bitdepth"] == 16 and info["planes"] == 4
    rgba = np.vstack([np.asarray(r, dtype=np.float64) for r in rows]).reshape(h, w, 4) / 65535
    return rgba[:, :, :3].astype(np.float32), secs


def picture(path, I, alpha, F_seq, F_true, new_bg, box):
    x0, y0, x1, y1 = box
    a = alpha[y0:y1, x0:x1, None]
    panels = [("raw colours", I), ("decontaminated (estimated F)", F_seq), ("true foreground", F_true)]
    tiles = []
    for label, F in panels:
        comp = F[y0:y1, x0:x1] * a + (1 - a) * new_bg[y0:y1, x0:x1]
        tile = Image.fromarray((np.clip(comp, 0, 1) * 255).round().astype(np.uint8))
        d = ImageDraw.Draw(tile)
        d.rectangle([0, 0, 8 + 7 * len(label), 16], fill=(0, 0, 0))
        d.text((4, 3), label, fill=(255, 255, 255))
        tiles.append(tile)
    w, h = tiles[0].size
    out = Image.new("RGB", (3 * w + 8, h), (255, 255, 255))
    for k, t in enumerate(tiles):
        out.paste(t, (k * (w + 4), 0))
    out.save(path, optimize=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vitmatte", required=True)
    ap.add_argument("--size", default="1200x900")
    ap.add_argument("--picture", type=Path)
    args = ap.parse_args()
    W, H = map(int, args.size.split("x"))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for sc in scenes.SCENES:
            I, alpha, F_true = scenes.make_scene(sc, W, H)
            Image.fromarray((I * 255).round().astype(np.uint8)).save(tmp / "image.png")
            tifffile.imwrite(tmp / "alpha.tif", alpha.astype(np.float32))
            band = (alpha > 0) & (alpha < 1)
            res = {"scene": sc["name"], "band": band.mean(), "raw": weighted_mae(I, F_true, alpha, band)}
            for method in ("sequential", "jacobi"):
                F, secs = run_cli(args.vitmatte, tmp / "image.png", tmp / "alpha.tif", tmp / "cut.png", method)
                res[method] = weighted_mae(F, F_true, alpha, band)
                res[method + "_s"] = secs
                if method == "sequential":
                    F_seq = F
            rows.append(res)
            if args.picture and sc is scenes.SCENES[0]:
                # a new background unlike the old one (a bright, warm photo) makes the old sky's fringe visible
                new_bg = scenes.photo("coffee", W, H)
                bw, bh = W // 5, H // 5
                picture(args.picture, I, alpha, F_seq, F_true, new_bg,
                        (W // 2 - bw // 2, H // 5 - bh // 3, W // 2 + bw - bw // 2, H // 5 - bh // 3 + bh))
    print(f"Alpha-weighted mean absolute error of F in the unknown band (0 < alpha < 1), {W}x{H} composites, "
          "8-bit images, values 0..1:\n")
    print("| scene (foreground on background) | unknown band | raw colours | estimated, sequential | estimated, Jacobi |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['scene']} | {100 * r['band']:.0f} % | {r['raw']:.4f} | {r['sequential']:.4f} "
              f"({r['raw'] / r['sequential']:.1f}x lower) | {r['jacobi']:.4f} ({r['raw'] / r['jacobi']:.1f}x lower) |")
    mean = {k: float(np.mean([r[k] for r in rows])) for k in ("raw", "sequential", "jacobi")}
    print(f"| mean | | {mean['raw']:.4f} | {mean['sequential']:.4f} ({mean['raw'] / mean['sequential']:.1f}x lower) "
          f"| {mean['jacobi']:.4f} ({mean['raw'] / mean['jacobi']:.1f}x lower) |")
    print("\nCLI wall time per scene (s): " + ", ".join(
        f"{r['scene']}: sequential {r['sequential_s']:.2f}, jacobi {r['jacobi_s']:.2f}" for r in rows))
    ok = all(r["sequential"] < 0.5 * r["raw"] for r in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
