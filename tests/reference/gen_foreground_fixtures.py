#!/usr/bin/env python3
"""Writes data/fixtures/foreground.safetensors: inputs and foreground_ref.py's results for the engine's tests.

    /usr/bin/python3 tests/reference/gen_foreground_fixtures.py [--out data/fixtures/foreground.safetensors]

Needs NumPy, Pillow and scikit-image (Debian: python3-numpy python3-pil python3-skimage); deterministic.
Each case c has `c.image` (h x w x depth; U8 holding 8-bit values, read as p/255, or F32), `c.alpha` (h x w; F32,
or U8 read as p/255), `c.params` (F32: regularization, n_small_iterations, n_big_iterations, small_size,
gradient_weight) and the results `c.sequential.F`, `c.sequential.B`, `c.jacobi.F`, `c.jacobi.B` (F32,
h x w x depth). The reference computes on float32 inputs: an 8-bit value p becomes float32(p) / float32(255).
The safetensors file is written here (8-byte little-endian header length, JSON header, raw data) because Debian
has no python3-safetensors; the engine's own reader checks it when the tests load it.
"""
import argparse
import json
import struct
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import foreground_ref as ref  # noqa: E402
import foreground_scenes as scenes  # noqa: E402

OTHER_PARAMS = dict(regularization=2e-4, n_small_iterations=7, n_big_iterations=3, small_size=20,
                    gradient_weight=0.5)


def u8(x):
    return np.round(np.asarray(x, dtype=np.float64) * 255).astype(np.uint8)


def cases():
    img, alpha, _ = scenes.make_scene(scenes.SCENES[0], 56, 40)
    yield "rgb", u8(img), alpha.astype(np.float32), {}
    img, alpha, _ = scenes.make_scene(scenes.SCENES[1], 37, 29)
    grey = img @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    yield "grey", u8(grey)[:, :, None], u8(alpha), {}
    img, alpha, _ = scenes.make_scene(scenes.SCENES[2], 45, 31)
    yield "params", u8(img), alpha.astype(np.float32), OTHER_PARAMS
    # Values between the 8-bit steps: the float32 input path.
    rng = np.random.default_rng(7)
    img, alpha, _ = scenes.make_scene(scenes.SCENES[3], 40, 30)
    img = np.clip(img + rng.uniform(-0.002, 0.002, img.shape), 0, 1).astype(np.float32)
    yield "float", img, alpha.astype(np.float32), {}
    img, alpha, _ = scenes.make_scene(scenes.SCENES[0], 1, 17)
    yield "thin", u8(img), alpha.astype(np.float32), {}
    yield "one", np.array([[[200, 100, 50]]], np.uint8), np.array([[0.25]], np.float32), {}


def as_f32(x):
    return x.astype(np.float32) / np.float32(255) if x.dtype == np.uint8 else x


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        dtype = {np.dtype(np.float32): "F32", np.dtype(np.uint8): "U8"}[arr.dtype]
        data = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for b in blobs:
            f.write(b)


def main():
    ap = argparse.ArgumentParser()
    root = Path(__file__).resolve().parents[2]
    ap.add_argument("--out", type=Path, default=root / "data/fixtures/foreground.safetensors")
    args = ap.parse_args()
    tensors, names = {}, []
    for name, image, alpha, params in cases():
        p = dict(ref.DEFAULTS, **params)
        tensors[f"{name}.image"] = image
        tensors[f"{name}.alpha"] = alpha
        tensors[f"{name}.params"] = np.array([p["regularization"], p["n_small_iterations"], p["n_big_iterations"],
                                              p["small_size"], p["gradient_weight"]], np.float32)
        for variant in ("sequential", "jacobi"):
            F, B = ref.estimate_foreground(as_f32(image), as_f32(alpha), variant, **p)
            tensors[f"{name}.{variant}.F"] = F
            tensors[f"{name}.{variant}.B"] = B
            band = (as_f32(alpha) > 0) & (as_f32(alpha) < 1)
            print(f"{name:7s} {image.shape} {variant:10s} F mean {F.mean():.4f}, unknown band {band.mean():.2f}")
        names.append(name)
    meta = {"cases": json.dumps(names), "generator": "tests/reference/gen_foreground_fixtures.py",
            "numpy": np.__version__}
    write_safetensors(args.out, tensors, meta)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
