#!/usr/bin/env python3
"""Reference fixtures for the engine's tests, computed by transformers' own ViTMatte (the independent reference).

Runs where torch, transformers, safetensors, numpy and pillow are installed (the GPU machine; no network needed):

    python3 tests/reference/gen_fixtures.py --out tests/reference/tiny --modules --e2e --dtype-variants
    python3 tests/reference/gen_fixtures.py --out /tmp/ref-s --preset small --e2e --device cuda \
        --sizes 100x150,512x512,1024x1024

Every reference number is float32 with TF32 off (CPU by default). The script checks itself with asserts (hook
coverage, shapes, the meaning of every captured tensor, the processor's arithmetic, the saved files, float64
agreement), so a failure says what is wrong. See README.md next to it for the outputs.
"""
import argparse
import copy
import json
import math
import os
import struct
import sys
import time
from pathlib import Path

# The machine has no network: never let transformers try the hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
import PIL  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from PIL import Image  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402
from transformers import (  # noqa: E402
    VitDetConfig,
    VitMatteConfig,
    VitMatteForImageMatting,
    VitMatteImageProcessor,
)

# TF32 would put the reference's own fp32 convs/matmuls ~6e-4 off (spec section 7.5).
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False

PRESETS = {
    # Committed to the repository: small, but every code path of the real model is present (windowed layers that
    # need padding, global layers whose 63-row rel-pos tables get resized, residual blocks, all decoder stages).
    "tiny": dict(hidden=64, heads=2, layers=4, mlp_ratio=2, window=[0, 2], residual=[1, 3],
                 convstream=[16, 24, 32], fusion=[48, 32, 24, 8]),
    # ViTMatte-S and ViTMatte-B as released (spec section 5); generated on the GPU machine only, never committed.
    "small": dict(hidden=384, heads=6, layers=12, mlp_ratio=4, window=[0, 1, 3, 4, 6, 7, 9, 10],
                  residual=[2, 5, 8, 11], convstream=[48, 96, 192], fusion=[256, 128, 64, 32]),
    "base": dict(hidden=768, heads=12, layers=12, mlp_ratio=4, window=[0, 1, 3, 4, 6, 7, 9, 10],
                 residual=[2, 5, 8, 11], convstream=[48, 96, 192], fusion=[256, 128, 64, 32]),
}

MODULES_INPUT_HW = (48, 256)             # token grid 3 x 16: 2 windows of 14 x 14, global tables 63 -> 5 / 31
DEFAULT_SIZES = [(100, 150), (333, 250), (64, 96), (37, 61)]
SAMPLE_CASE = 1                           # the 333 x 250 case: also written as PNG files under sample/
GREY_CASE = 2                             # its trimap also holds grey values 1..254 besides 0/128/255
PNG_MAX_SIDE = 1024                       # with --sizes, larger cases keep only the float32 tensors
DTYPE_CASE = 0                            # the 100 x 150 case, run with bf16/f16-rounded weights
UNKNOWN = 128

# Independent random streams per purpose, so that asking for more outputs never changes the others.
STREAM_MODULES_INPUT = 1
STREAM_CASE = 2


def log(msg):
    print(msg, flush=True)


# ----------------------------------------------------------------------------------------------------------------
# model


def build_config(preset):
    p = PRESETS[preset]
    # Lists, not tuples: transformers 5.17 concatenates some of these with lists.
    backbone = VitDetConfig(
        hidden_size=p["hidden"], num_attention_heads=p["heads"], num_hidden_layers=p["layers"],
        mlp_ratio=p["mlp_ratio"], window_size=14, window_block_indices=list(p["window"]),
        residual_block_indices=list(p["residual"]), use_relative_position_embeddings=True, num_channels=4,
        image_size=512, pretrain_image_size=224, patch_size=16, out_features=[f"stage{p['layers']}"])
    # The decoder's input width is the top-level hidden_size: it must equal the backbone's.
    return VitMatteConfig(backbone_config=backbone, hidden_size=p["hidden"],
                          convstream_hidden_sizes=list(p["convstream"]), fusion_hidden_sizes=list(p["fusion"]))


def randomize(model, seed):
    """The library's own init leaves the alpha at a constant 0.5 (norm3 and biases start at zero), which would hide
    bugs. Draw weights that make every op matter: fan-in scaled matrices, norm scales 1 + 0.1 r, biases and tables
    0.1 r, BatchNorm running_var in [0.5, 1.5) and running_mean 0.1 r."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if not t.is_floating_point():
                continue                                  # num_batches_tracked
            r = torch.randn(t.shape, generator=g)
            if name.endswith("running_var"):
                t.copy_(0.5 + torch.rand(t.shape, generator=g))
            elif name.endswith("running_mean"):
                t.copy_(0.1 * r)
            elif t.dim() >= 2 and "position" not in name and "rel_pos" not in name:
                t.copy_(r * (1.0 / t[0].numel()) ** 0.5)
            elif name.endswith("weight"):
                t.copy_(1.0 + 0.1 * r)
            else:
                t.copy_(0.1 * r)
    return model


def check_structure(model, preset):
    """The attribute paths and per-layer options the hooks and the engine rely on (transformers 5.x names)."""
    p = PRESETS[preset]
    cfg = model.config
    bb_cfg = cfg.backbone_config
    assert list(bb_cfg.window_block_indices) == p["window"], bb_cfg.window_block_indices
    assert list(bb_cfg.residual_block_indices) == p["residual"], bb_cfg.residual_block_indices
    assert list(bb_cfg.out_features) == [f"stage{p['layers']}"], bb_cfg.out_features
    head_dim = p["hidden"] // p["heads"]
    assert head_dim * p["heads"] == p["hidden"], head_dim
    layers = model.backbone.encoder.layer
    assert len(layers) == p["layers"], len(layers)
    for i, layer in enumerate(layers):
        windowed = i in p["window"]
        assert layer.window_size == (14 if windowed else 0), (i, layer.window_size)
        assert hasattr(layer, "residual") == (i in p["residual"]), (i, "residual")
        rows = 27 if windowed else 63
        assert tuple(layer.attention.rel_pos_h.shape) == (rows, head_dim), (i, layer.attention.rel_pos_h.shape)
        assert tuple(layer.attention.rel_pos_w.shape) == (rows, head_dim), (i, layer.attention.rel_pos_w.shape)
        assert layer.mlp.fc1.out_features == int(p["hidden"] * p["mlp_ratio"]), layer.mlp.fc1
    assert tuple(model.backbone.embeddings.position_embeddings.shape) == (1, 197, p["hidden"])
    dec = model.decoder
    assert len(dec.convstream.convs) == len(p["convstream"]), len(dec.convstream.convs)
    assert len(dec.fusion_blocks) == len(p["fusion"]), len(dec.fusion_blocks)
    last = dec.matting_head.matting_convs[3]
    assert isinstance(last, torch.nn.Conv2d) and last.out_channels == 1, last


def alpha_stats(alpha):
    a = alpha.double()
    return {"std": a.std().item(), "mid": ((a > 0.02) & (a < 0.98)).double().mean().item(),
            "min": a.min().item(), "max": a.max().item()}


def usable(st):
    return st["std"] > 0.01 and st["mid"] > 0.3


def forward_alpha(model, pixel_values, device):
    with torch.no_grad():
        return model(pixel_values=pixel_values.to(device)).alphas.detach().float().cpu()


def calibrate_head(model, inputs, device):
    """Random weights can push the logits far from 0, and a saturated alpha (all 0 or 1) would hide errors in every
    layer before the sigmoid. When the drawn model is saturated (or flat), scale the last 1x1 conv of the matting
    head (weight and bias together, i.e. the logits) by 1/2 (or 2) until the alpha of every calibration input has
    std > 0.01 and more than 30% of its values in (0.02, 0.98). The factor is stored in the fixtures' metadata."""
    conv = model.decoder.matting_head.matting_convs[3]
    scale = 1.0
    for _ in range(16):
        stats = [alpha_stats(forward_alpha(model, pv, device)[0, 0, :h, :w]) for pv, (h, w) in inputs]
        if all(usable(s) for s in stats):
            return scale, stats
        factor = 0.5 if any(s["mid"] <= 0.3 for s in stats) else 2.0
        with torch.no_grad():
            conv.weight.mul_(factor)
            conv.bias.mul_(factor)
        scale *= factor
    raise AssertionError(f"could not make the alpha usable by scaling the head logits (scale {scale}): {stats}")


def safetensors_header(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    header.pop("__metadata__", None)
    return header


def check_saved_dtypes(path, float_dtype):
    header = safetensors_header(path)
    assert header, f"{path}: no tensors"
    bad = []
    for key, entry in header.items():
        want = "I64" if key.endswith("num_batches_tracked") else float_dtype
        if entry["dtype"] != want:
            bad.append(f"{key}: {entry['dtype']} (want {want})")
    assert not bad, f"{path}: wrong dtypes: {bad[:10]}"
    log(f"  check: {path.name} holds {len(header)} tensors, all {float_dtype} (num_batches_tracked I64)")
    return header


def save_model(model, directory, float_dtype, expect_state):
    """save_pretrained, then prove the files hold exactly `expect_state` (names, dtypes, values) and load back."""
    model.save_pretrained(directory)
    st_path = directory / "model.safetensors"
    assert st_path.is_file(), f"{directory}: no model.safetensors (sharded or not safetensors?)"
    assert (directory / "config.json").is_file(), f"{directory}: no config.json"
    check_saved_dtypes(st_path, float_dtype)
    stored = load_file(str(st_path))
    assert set(stored) == set(expect_state), (
        f"saved keys differ from the state dict: missing {sorted(set(expect_state) - set(stored))[:5]}, "
        f"extra {sorted(set(stored) - set(expect_state))[:5]}")
    for key, want in expect_state.items():
        assert torch.equal(stored[key], want), f"{st_path}: {key} differs from the model's value"
    log(f"  check: {st_path} has the model's {len(stored)} keys with identical values")
    return stored


def load_as_float32(directory, device):
    model = VitMatteForImageMatting.from_pretrained(str(directory))
    return model.float().eval().to(device)


# ----------------------------------------------------------------------------------------------------------------
# inputs


def rng_for(seed, *purpose):
    return np.random.default_rng([seed, *purpose])


def soft_step(z):
    """1 for z << 0, 0 for z >> 0 (a logistic edge), without overflow warnings."""
    return 1.0 / (1.0 + np.exp(np.clip(z, -60.0, 60.0)))


def blob_field(rng, h, w, blobs):
    """f < 1 inside a union of wobbly ellipses, f = 1 on their outline."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64) + 0.5
    field = np.full((h, w), np.inf)
    radius = np.inf
    for _ in range(blobs):
        cy, cx = h * rng.uniform(0.3, 0.7), w * rng.uniform(0.3, 0.7)
        ry, rx = h * rng.uniform(0.18, 0.32), w * rng.uniform(0.18, 0.32)
        amp, lobes, phase = rng.uniform(0.05, 0.2), int(rng.integers(3, 7)), rng.uniform(0.0, 2 * math.pi)
        dy, dx = (yy - cy) / ry, (xx - cx) / rx
        f = np.hypot(dy, dx) / (1.0 + amp * np.sin(lobes * np.arctan2(dy, dx) + phase))
        field = np.minimum(field, f)
        radius = min(radius, ry, rx)
    return field, radius


def trimap_from_field(field, radius, h, w):
    """Foreground inside the blob, an unknown band around its outline, background elsewhere (0 / 128 / 255)."""
    band = max(2.0, 0.05 * min(h, w)) / radius
    tri = np.zeros((h, w), np.uint8)
    tri[field <= 1.0 + band] = UNKNOWN
    tri[field < 1.0 - band] = 255
    if not (tri == 255).any():                            # a very small image: keep one foreground pixel
        tri[np.unravel_index(np.argmin(field), field.shape)] = 255
    values = set(np.unique(tri).tolist())
    assert values == {0, UNKNOWN, 255}, f"trimap {h}x{w} lacks a region: values {sorted(values)}"
    return tri


def add_grey_values(rng, tri):
    """Anti-aliased / hand-painted trimaps hold any grey: the engine must pass them through unchanged."""
    h, w = tri.shape
    speckle = rng.random((h, w)) < 0.03
    tri[speckle] = rng.integers(1, 255, int(speckle.sum()), dtype=np.uint8)
    row = h // 10
    tri[row:row + max(1, min(4, h // 20)), :] = (1 + (np.arange(w) * 254) // w).astype(np.uint8)  # a 1..254 ramp
    odd = np.setdiff1d(np.unique(tri), [0, UNKNOWN, 255])
    assert odd.size >= min(100, w // 2), f"grey trimap has only {odd.size} grey values"
    return tri


def smooth_image(rng, h, w, field):
    """Smooth shapes + noise, with a foreground object that follows the trimap's blob."""
    y = (np.arange(h, dtype=np.float64)[:, None, None] + 0.5) / h
    x = (np.arange(w, dtype=np.float64)[None, :, None] + 0.5) / w
    img = rng.uniform(40, 215, 3) + rng.uniform(-60, 60, 3) * (y - 0.5) + rng.uniform(-60, 60, 3) * (x - 0.5)
    for _ in range(4):
        cy, cx = rng.uniform(0.0, 1.0, 2)
        ry, rx = rng.uniform(0.08, 0.3, 2)
        mask = soft_step((np.hypot((y - cy) / ry, (x - cx) / rx) - 1.0) / 0.08)
        img = img * (1.0 - mask) + rng.uniform(0, 255, 3) * mask
    fg = soft_step((field[:, :, None] - 1.0) / 0.05)
    img = img * (1.0 - fg) + rng.uniform(0, 255, 3) * fg
    fy, fx, phase = rng.uniform(1, 4), rng.uniform(1, 4), rng.uniform(0, 2 * math.pi)
    img = img + 12.0 * np.sin(2 * math.pi * (fy * y + fx * x) + phase)
    img = img + rng.normal(0.0, 6.0, (h, w, 3))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def make_case(seed, index, h, w):
    rng = rng_for(seed, STREAM_CASE, index, h, w)
    field, radius = blob_field(rng, h, w, blobs=1)
    tri = trimap_from_field(field, radius, h, w)
    img = smooth_image(rng, h, w, field)
    if index == GREY_CASE:
        add_grey_values(rng, tri)
    return img, tri


def pixel_values_from_u8(img, tri, pad_to=1):
    """The processor's arithmetic (spec section 1): RGB u8/127.5 - 1, trimap u8/255, zero padding bottom/right."""
    h, w = tri.shape
    hp, wp = -(-h // pad_to) * pad_to, -(-w // pad_to) * pad_to
    pv = torch.zeros(1, 4, hp, wp, dtype=torch.float32)
    pv[0, :3, :h, :w] = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).float() / 127.5 - 1.0
    pv[0, 3, :h, :w] = torch.from_numpy(np.ascontiguousarray(tri)).float() / 255.0
    return pv


def modules_input(seed):
    """Random RGB (iid u8) with a trimap drawn in blobs, as the processor would present them."""
    h, w = MODULES_INPUT_HW
    rng = rng_for(seed, STREAM_MODULES_INPUT)
    rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    field, radius = blob_field(rng, h, w, blobs=2)
    tri = trimap_from_field(field, radius, h, w)
    pv = pixel_values_from_u8(rgb, tri)
    allowed = torch.tensor([0.0, 128.0, 255.0]) / 255.0
    assert torch.isin(pv[0, 3], allowed).all(), "modules trimap channel is not in {0, 128/255, 1}"
    return pv


def run_processor(processor, img, tri):
    enc = processor(images=img, trimaps=tri, return_tensors="pt", input_data_format="channels_last")
    pv = enc["pixel_values"]
    expect = pixel_values_from_u8(img, tri, pad_to=32)
    assert pv.dtype == torch.float32, pv.dtype
    assert tuple(pv.shape) == tuple(expect.shape), f"processor gave {tuple(pv.shape)}, expected {tuple(expect.shape)}"
    diff = (pv - expect).abs().max().item()
    # The two processor backends differ from the formula by <= 6e-8 (spec section 1).
    assert diff < 1e-6, f"processor output differs from u8/127.5-1, t/255, zero pad by {diff}"
    return pv.contiguous(), diff


def write_png_pair(img, tri, directory):
    """Write with PIL and read back the way a user's files are read, so the PNGs and the tensors agree exactly."""
    directory.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(directory / "image.png", format="PNG")
    Image.fromarray(tri).save(directory / "trimap.png", format="PNG")
    with Image.open(directory / "image.png") as im:
        img2 = np.array(im.convert("RGB"))
    with Image.open(directory / "trimap.png") as im:
        tri2 = np.array(im.convert("L"))
    assert img2.dtype == np.uint8 and np.array_equal(img2, img), "image.png does not read back identically"
    assert tri2.dtype == np.uint8 and np.array_equal(tri2, tri), "trimap.png does not read back identically"
    return img2, tri2


def parse_sizes(text):
    sizes = []
    for item in text.split(","):
        item = item.strip().lower()
        if not item:
            continue
        h, _, w = item.partition("x")
        if not (h.isdigit() and w.isdigit()):
            raise argparse.ArgumentTypeError(f"size {item!r} is not HxW")
        if int(h) < 16 or int(w) < 16:
            raise argparse.ArgumentTypeError(f"size {item!r}: both sides must be at least 16")
        sizes.append((int(h), int(w)))
    if not sizes:
        raise argparse.ArgumentTypeError("no sizes")
    return sizes


# ----------------------------------------------------------------------------------------------------------------
# --modules


class Capture:
    """Forward hooks that copy chosen inputs and outputs of module instances to the CPU, each key exactly once."""

    def __init__(self):
        self.tensors = {}
        self.handles = []

    def put(self, key, value):
        assert key not in self.tensors, f"hook for {key} fired twice"
        assert torch.is_tensor(value), f"{key}: expected a tensor, got {type(value).__name__}"
        self.tensors[key] = value.detach().to("cpu", torch.float32).contiguous().clone()

    def on(self, module, fn):
        def hook(mod, args, kwargs, output):
            fn(args, kwargs, output)
        self.handles.append(module.register_forward_hook(hook, with_kwargs=True))

    def in_out(self, module, prefix):
        self.on(module, lambda a, k, o: (self.put(f"{prefix}.in", arg(a, k, 0, None)),
                                         self.put(f"{prefix}.out", main_output(o))))

    def remove(self):
        for h in self.handles:
            h.remove()
        self.handles = []


def arg(args, kwargs, index, name):
    if name is not None and name in kwargs:
        return kwargs[name]
    if index < len(args):
        return args[index]
    if name is None and len(kwargs) == 1:
        return next(iter(kwargs.values()))
    raise AssertionError(f"argument {index}/{name} not found: {len(args)} positional, kwargs {sorted(kwargs)}")


def main_output(out):
    if torch.is_tensor(out):
        return out
    if hasattr(out, "last_hidden_state"):
        return out.last_hidden_state
    if isinstance(out, (tuple, list)):
        return out[0]                                     # VitDetAttention returns (hidden_state, attention_probs)
    raise AssertionError(f"cannot take the main output of {type(out).__name__}")


def register_module_hooks(model, cap):
    bb, dec = model.backbone, model.decoder
    cap.on(bb.embeddings, lambda a, k, o: cap.put("embeddings.out", main_output(o)))
    cap.on(bb.encoder, lambda a, k, o: (cap.put("encoder.in", arg(a, k, 0, "hidden_states")),
                                        cap.put("encoder.out", main_output(o))))
    for i, layer in enumerate(bb.encoder.layer):
        cap.in_out(layer, f"layer.{i}")
        cap.in_out(layer.norm1, f"layer.{i}.norm1")
        cap.in_out(layer.attention, f"layer.{i}.attention")
        cap.in_out(layer.mlp, f"layer.{i}.mlp")
        if hasattr(layer, "residual"):
            cap.in_out(layer.residual, f"layer.{i}.residual")
            cap.in_out(layer.residual.norm1, f"layer.{i}.residual.norm1")
    for j, conv in enumerate(dec.convstream.convs):
        cap.in_out(conv, f"convstream.convs.{j}")

    def convstream_out(a, k, o):
        for n in range(len(dec.convstream.convs) + 1):
            cap.put(f"convstream.out.{n}", o[f"detailed_feature_map_{n}"] if isinstance(o, dict) else o[n])
    cap.on(dec.convstream, convstream_out)
    for n, block in enumerate(dec.fusion_blocks):
        cap.on(block, lambda a, k, o, n=n: (cap.put(f"fusion.{n}.features", arg(a, k, 0, "features")),
                                            cap.put(f"fusion.{n}.detail", arg(a, k, 1, "detailed_feature_map")),
                                            cap.put(f"fusion.{n}.out", main_output(o))))
    cap.in_out(dec.matting_head, "head")
    cap.on(dec, lambda a, k, o: (cap.put("decoder.features", arg(a, k, 0, "features")),
                                 cap.put("decoder.pixel_values", arg(a, k, 1, "pixel_values")),
                                 cap.put("decoder.out", main_output(o))))


def expected_module_shapes(config, height, width):
    bb = config.backbone_config
    c, patch, ws = bb.hidden_size, bb.patch_size, bb.window_size
    h, w = height // patch, width // patch
    nchw, nhwc = (1, c, h, w), (1, h, w, c)
    shapes = {"pixel_values": (1, bb.num_channels, height, width), "alphas": (1, 1, height, width),
              "embeddings.out": nchw, "encoder.in": nchw, "encoder.out": nchw}
    for i in range(bb.num_hidden_layers):
        if ws > 0 and i in bb.window_block_indices:
            hp, wp = -(-h // ws) * ws, -(-w // ws) * ws
            attn = ((hp // ws) * (wp // ws), ws, ws, c)
        else:
            attn = nhwc
        shapes.update({f"layer.{i}.in": nchw, f"layer.{i}.out": nchw,
                       f"layer.{i}.norm1.in": nhwc, f"layer.{i}.norm1.out": nhwc,
                       f"layer.{i}.attention.in": attn, f"layer.{i}.attention.out": attn,
                       f"layer.{i}.mlp.in": nhwc, f"layer.{i}.mlp.out": nhwc})
        if i in bb.residual_block_indices:
            shapes.update({f"layer.{i}.residual.in": nchw, f"layer.{i}.residual.out": nchw,
                           f"layer.{i}.residual.norm1.in": (1, c // 2, h, w),
                           f"layer.{i}.residual.norm1.out": (1, c // 2, h, w)})
    chans = [bb.num_channels] + list(config.convstream_hidden_sizes)
    for j in range(len(chans) - 1):
        shapes[f"convstream.convs.{j}.in"] = (1, chans[j], height >> j, width >> j)
        shapes[f"convstream.convs.{j}.out"] = (1, chans[j + 1], height >> (j + 1), width >> (j + 1))
    for n in range(len(chans)):
        shapes[f"convstream.out.{n}"] = (1, chans[n], height >> n, width >> n)
    fusion = list(config.fusion_hidden_sizes)
    feats = [config.hidden_size] + fusion
    stages = len(fusion)
    for n in range(stages):
        d = stages - 1 - n                                # detail map used by fusion block n
        shapes[f"fusion.{n}.features"] = (1, feats[n], height >> (d + 1), width >> (d + 1))
        shapes[f"fusion.{n}.detail"] = (1, chans[d], height >> d, width >> d)
        shapes[f"fusion.{n}.out"] = (1, fusion[n], height >> d, width >> d)
    shapes.update({"head.in": (1, fusion[-1], height, width), "head.out": (1, 1, height, width),
                   "decoder.features": nchw, "decoder.pixel_values": (1, bb.num_channels, height, width),
                   "decoder.out": (1, 1, height, width)})
    return shapes


def window_partition_ref(x, ws):
    """(1, h, w, C) -> (windows, ws, ws, C): zero padding at bottom/right, windows row-major (spec section 2.3)."""
    b, h, w, c = x.shape
    hp, wp = -(-h // ws) * ws, -(-w // ws) * ws
    padded = x.new_zeros(b, hp, wp, c)
    padded[:, :h, :w] = x
    return padded.view(b, hp // ws, ws, wp // ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, ws, ws, c)


def window_unpartition_ref(windows, ws, h, w):
    hp, wp = -(-h // ws) * ws, -(-w // ws) * ws
    c = windows.shape[-1]
    x = windows.view(1, hp // ws, wp // ws, ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(1, hp, wp, c)
    return x[:, :h, :w]


def check_module_tensors(t, config):
    """Each key means what the engine's tests assume: the captured tensors must chain into each other."""
    bb = config.backbone_config
    checks = 0

    def same(a, b, what):
        nonlocal checks
        assert torch.equal(t[a] if isinstance(a, str) else a, t[b] if isinstance(b, str) else b), what
        checks += 1

    def close(a, b, what, rtol=1e-6):
        nonlocal checks
        diff = (a - b).abs().max().item()
        assert diff <= rtol * max(1.0, b.abs().max().item()), f"{what}: max |diff| {diff}"
        checks += 1

    layers = bb.num_hidden_layers
    same("embeddings.out", "encoder.in", "embeddings.out != encoder.in")
    same("encoder.in", "layer.0.in", "encoder.in != layer.0.in")
    same(f"layer.{layers - 1}.out", "encoder.out", "last layer out != encoder.out")
    same("encoder.out", "decoder.features", "encoder.out != decoder.features (out_features is not the last stage?)")
    ws = bb.window_size
    for i in range(layers):
        p = f"layer.{i}"
        if i + 1 < layers:
            same(f"{p}.out", f"layer.{i + 1}.in", f"{p}.out != layer.{i + 1}.in")
        same(t[f"{p}.in"].permute(0, 2, 3, 1).contiguous(), f"{p}.norm1.in", f"{p}.norm1.in is not {p}.in as NHWC")
        _, h, w, _ = t[f"{p}.norm1.out"].shape
        if ws > 0 and i in bb.window_block_indices:
            same(window_partition_ref(t[f"{p}.norm1.out"], ws), f"{p}.attention.in",
                 f"{p}.attention.in is not norm1.out zero-padded and split into {ws}x{ws} windows")
            attn = window_unpartition_ref(t[f"{p}.attention.out"], ws, h, w)
        else:
            same(f"{p}.norm1.out", f"{p}.attention.in", f"{p}.attention.in != norm1.out (global layer)")
            attn = t[f"{p}.attention.out"]
        x1 = t[f"{p}.norm1.in"] + attn
        x2 = (x1 + t[f"{p}.mlp.out"]).permute(0, 3, 1, 2)
        if i in bb.residual_block_indices:
            close(x2, t[f"{p}.residual.in"], f"{p}: in + attention.out + mlp.out != residual.in")
            same(f"{p}.residual.out", f"{p}.out", f"{p}.residual.out != {p}.out")
            assert t[f"{p}.residual.norm1.in"].shape[1] == bb.hidden_size // 2
        else:
            close(x2, t[f"{p}.out"], f"{p}: in + attention.out + mlp.out != out")
    n_conv = len(config.convstream_hidden_sizes)
    same("pixel_values", "convstream.out.0", "convstream.out.0 != pixel_values")
    same("pixel_values", "convstream.convs.0.in", "convstream.convs.0.in != pixel_values")
    same("pixel_values", "decoder.pixel_values", "decoder.pixel_values != pixel_values")
    for j in range(n_conv):
        same(f"convstream.convs.{j}.out", f"convstream.out.{j + 1}", f"convs.{j}.out != convstream.out.{j + 1}")
        if j:
            same(f"convstream.convs.{j - 1}.out", f"convstream.convs.{j}.in", f"convs.{j}.in != convs.{j - 1}.out")
    stages = len(config.fusion_hidden_sizes)
    same("encoder.out", "fusion.0.features", "fusion.0.features != encoder.out")
    for n in range(stages):
        same(f"convstream.out.{stages - 1 - n}", f"fusion.{n}.detail", f"fusion.{n}.detail is the wrong map")
        if n:
            same(f"fusion.{n - 1}.out", f"fusion.{n}.features", f"fusion.{n}.features != fusion.{n - 1}.out")
    same(f"fusion.{stages - 1}.out", "head.in", "head.in != last fusion out")
    same("decoder.out", "alphas", "decoder.out != alphas")
    close(torch.sigmoid(t["head.out"]), t["alphas"], "sigmoid(head.out) != alphas")
    return checks


def write_modules(model, pixel_values, device, out_dir, meta):
    log("--modules: one forward with hooks on every module instance")
    cap = Capture()
    register_module_hooks(model, cap)
    try:
        with torch.no_grad():
            alphas = model(pixel_values=pixel_values.to(device)).alphas
    finally:
        cap.remove()
    tensors = cap.tensors
    for key in ("pixel_values", "alphas"):
        assert key not in tensors
    tensors["pixel_values"] = pixel_values.float().contiguous().clone()
    tensors["alphas"] = alphas.detach().float().cpu().contiguous().clone()

    height, width = pixel_values.shape[-2:]
    expected = expected_module_shapes(model.config, height, width)
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    assert not missing, f"hooks did not fire for: {missing}"
    assert not extra, f"unexpected keys: {extra}"
    wrong = [f"{k}: {tuple(tensors[k].shape)} (want {v})" for k, v in expected.items() if tuple(tensors[k].shape) != v]
    assert not wrong, "wrong shapes: " + "; ".join(wrong)
    log(f"  check: all {len(expected)} keys captured once, shapes as specified")
    bad = [k for k, v in tensors.items() if not torch.isfinite(v).all()]
    assert not bad, f"non-finite values in {bad}"
    n = check_module_tensors(tensors, model.config)
    log(f"  check: {n} identities between captured tensors hold (layouts, window partition, residual sums)")

    path = out_dir / "modules.safetensors"
    save_file(tensors, str(path), metadata=dict(meta, input=json.dumps([int(s) for s in pixel_values.shape])))
    size = path.stat().st_size
    log(f"  wrote {path}: {len(tensors)} tensors, {size / 1e6:.2f} MB")
    if size > 6e6:
        largest = sorted(tensors, key=lambda k: -tensors[k].numel())[:6]
        log("  note: above ~6 MB; largest: " + ", ".join(f"{k} {tensors[k].numel() * 4 / 1e6:.2f} MB"
                                                           for k in largest))
    return tensors


# ----------------------------------------------------------------------------------------------------------------
# checks shared by the outputs


def check_against_float64(model, pixel_values, alpha32, what, device):
    """The float32 reference must be float32-accurate (catches TF32 or a reduced-precision path sneaking in)."""
    m64 = copy.deepcopy(model).double()
    with torch.no_grad():
        a64 = m64(pixel_values=pixel_values.to(device).double()).alphas.cpu()
    del m64
    h, w = alpha32.shape[-2:]
    diff = (a64[..., :h, :w] - alpha32.double()).abs().max().item()
    assert diff < 2e-5, f"{what}: float32 alpha is {diff} away from float64 (TF32 on?)"
    log(f"  check: {what} float32 vs float64 max |diff| {diff:.2e} (< 2e-5)")
    return diff


def check_usable(alpha, what):
    st = alpha_stats(alpha)
    assert usable(st), f"{what}: alpha constant or saturated: {st}"
    log(f"  check: {what} alpha std {st['std']:.3f} > 0.01, fraction in (0.02, 0.98) {st['mid']:.2f} > 0.3")


# ----------------------------------------------------------------------------------------------------------------
# --e2e and --dtype-variants


def case_png_dir(out_dir, index, h, w, custom):
    if not custom:
        return out_dir / "sample" if index == SAMPLE_CASE else None
    return out_dir / "sample" / f"case{index}" if max(h, w) <= PNG_MAX_SIDE else None


def write_e2e(model, processor, sizes, custom, args, out_dir, meta, device):
    log(f"--e2e: {len(sizes)} cases through {type(processor).__name__} and the model")
    tensors, cases, failed = {}, [], []
    for index, (h, w) in enumerate(sizes):
        img, tri = make_case(args.seed, index, h, w)
        png_dir = case_png_dir(out_dir, index, h, w, custom)
        if png_dir is not None:
            img, tri = write_png_pair(img, tri, png_dir)
            log(f"  case{index}: wrote {png_dir}/image.png + trimap.png and read them back identically")
        pv, proc_diff = run_processor(processor, img, tri)
        log(f"  case{index} {h}x{w}: processor -> {tuple(pv.shape)}, max |diff| to the formula {proc_diff:.1e}")
        try:
            alpha_full = forward_alpha(model, pv, device)
        except torch.OutOfMemoryError:
            log(f"  case{index} {h}x{w}: OUT OF MEMORY on {device}; skipped")
            failed.append(f"{h}x{w}")
            torch.cuda.empty_cache()
            continue
        assert tuple(alpha_full.shape) == (1, 1) + tuple(pv.shape[-2:]), alpha_full.shape
        alpha = alpha_full[0, 0, :h, :w].contiguous().clone()
        assert torch.isfinite(alpha).all(), f"case{index}: non-finite alpha"
        if args.preset == "tiny":
            if custom:                                    # the calibration saw only the default cases
                st = alpha_stats(alpha)
                log(f"  case{index}: alpha std {st['std']:.3f}, fraction in (0.02, 0.98) {st['mid']:.2f}")
            else:
                check_usable(alpha, f"case{index}")
            check_against_float64(model, pv, alpha, f"case{index}", device)
        grey = np.setdiff1d(np.unique(tri), [0, UNKNOWN, 255]).size
        assert (grey > 0) == (index == GREY_CASE), f"case{index}: {grey} grey trimap values"
        tensors[f"case{index}.image"] = torch.from_numpy(img.astype(np.float32))
        tensors[f"case{index}.trimap"] = torch.from_numpy(tri.astype(np.float32))
        tensors[f"case{index}.pixel_values"] = pv
        tensors[f"case{index}.alpha"] = alpha
        cases.append({"name": f"case{index}", "height": h, "width": w,
                      "padded": [int(pv.shape[-2]), int(pv.shape[-1])], "trimap_grey_values": index == GREY_CASE,
                      "png": None if png_dir is None else str(png_dir.relative_to(out_dir))})
    path = out_dir / "e2e.safetensors"
    save_file(tensors, str(path), metadata=dict(meta, cases=json.dumps(cases), processor=type(processor).__name__,
                                                skipped=json.dumps(failed)))
    log(f"  wrote {path}: {len(cases)} cases, {path.stat().st_size / 1e6:.2f} MB")
    return tensors, failed


def write_dtype_variants(model, processor, args, out_dir, meta, device):
    log("--dtype-variants: weights rounded to bf16 / f16, saved, reloaded, run in float32")
    h, w = DEFAULT_SIZES[DTYPE_CASE]
    img, tri = make_case(args.seed, DTYPE_CASE, h, w)
    pv, _ = run_processor(processor, img, tri)
    alpha32 = forward_alpha(model, pv, device)[0, 0, :h, :w].contiguous().clone()
    tensors = {"f32.alpha": alpha32}
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    for tag, dtype, st_name in (("bf16", torch.bfloat16, "BF16"), ("f16", torch.float16, "F16")):
        directory = out_dir / f"model-{tag}"
        rounded = {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in state.items()}
        save_model(copy.deepcopy(model).cpu().to(dtype), directory, st_name, rounded)
        loaded = load_as_float32(directory, device)
        assert set(loaded.state_dict()) == set(rounded), f"model-{tag}: reloaded keys differ"
        for k, v in loaded.state_dict().items():
            want = rounded[k].float() if rounded[k].is_floating_point() else rounded[k]
            assert torch.equal(v.cpu(), want), f"model-{tag}: reloaded {k} is not the rounded weight"
        alpha = forward_alpha(loaded, pv, device)[0, 0, :h, :w].contiguous().clone()
        del loaded
        diff = (alpha - alpha32).abs().max().item()
        assert 0.0 < diff < 0.1, f"{tag}: alpha moved by {diff} from float32 weights (expected small, nonzero)"
        log(f"  check: {tag}-rounded weights move the {h}x{w} alpha by max {diff:.2e} (0 < diff < 0.1)")
        tensors[f"{tag}.alpha"] = alpha
    path = out_dir / "dtype.safetensors"
    save_file(tensors, str(path), metadata=dict(meta, case=json.dumps({"name": f"case{DTYPE_CASE}", "height": h,
                                                                       "width": w})))
    log(f"  wrote {path}")
    return tensors


# ----------------------------------------------------------------------------------------------------------------


def describe(rows):
    log("")
    log(f"{'key':<34} {'shape':<22} {'min':>10} {'max':>10} {'mean':>10} {'std':>10}")
    for key, t in rows:
        d = t.double()
        log(f"{key:<34} {str(tuple(t.shape)):<22} {d.min().item():>10.5f} {d.max().item():>10.5f} "
            f"{d.mean().item():>10.5f} {d.std().item():>10.5f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, type=Path, help="output folder")
    ap.add_argument("--preset", choices=sorted(PRESETS), default="tiny")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--modules", action="store_true", help="per-module tensors of one forward (modules.safetensors)")
    ap.add_argument("--e2e", action="store_true", help="processor + model cases (e2e.safetensors, PNG sample)")
    ap.add_argument("--dtype-variants", action="store_true", help="bf16/f16 checkpoints and their alphas")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--sizes", type=parse_sizes, default=None,
                    help="e2e case sizes HxW,HxW,... (default 100x150,333x250,64x96,37x61)")
    args = ap.parse_args()
    if not (args.modules or args.e2e or args.dtype_variants):
        ap.error("nothing to do: pass --modules, --e2e and/or --dtype-variants")
    if args.device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda: no CUDA device")

    start = time.time()
    assert torch.backends.cuda.matmul.allow_tf32 is False and torch.backends.cudnn.allow_tf32 is False
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    out_dir = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    log(f"torch {torch.__version__}, transformers {transformers.__version__}, numpy {np.__version__}, "
        f"pillow {PIL.__version__}; preset {args.preset}, seed {args.seed}, device {device}"
        + (f" ({torch.cuda.get_device_name()})" if args.device == "cuda" else ""))

    model = randomize(VitMatteForImageMatting(build_config(args.preset)).eval(), args.seed)
    check_structure(model, args.preset)
    model = model.to(device)
    log(f"  check: model structure as configured ({sum(p.numel() for p in model.parameters()):,} parameters)")

    modules_pv = modules_input(args.seed)
    head_scale = 1.0
    if args.preset == "tiny":
        # Calibrate on a fixed set (the modules input and the default e2e cases) whatever outputs were asked for,
        # so that every run with this seed writes the same model.
        calib = [(modules_pv, MODULES_INPUT_HW)]
        for index, (h, w) in enumerate(DEFAULT_SIZES):
            img, tri = make_case(args.seed, index, h, w)
            calib.append((pixel_values_from_u8(img, tri, pad_to=32), (h, w)))
        head_scale, stats = calibrate_head(model, calib, device)
        log(f"  head logit scale {head_scale:g} (1 = as drawn); calibration alpha std/mid: "
            + ", ".join(f"{s['std']:.3f}/{s['mid']:.2f}" for s in stats))

    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    save_model(model, out_dir / "model", "F32", state)
    reloaded = load_as_float32(out_dir / "model", device)
    assert set(reloaded.state_dict()) == set(state), "from_pretrained(model) has other keys"
    for k, v in reloaded.state_dict().items():
        assert torch.equal(v.cpu(), state[k]), f"from_pretrained(model) changed {k}"
    del reloaded
    log("  check: from_pretrained(model) gives back the same weights")

    meta = {"preset": args.preset, "seed": str(args.seed), "device": str(device), "torch": torch.__version__,
            "transformers": transformers.__version__, "head_logit_scale": repr(head_scale),
            "generator": "tests/reference/gen_fixtures.py"}
    summary = []
    failed = []
    if args.modules:
        t = write_modules(model, modules_pv, device, out_dir, meta)
        if args.preset == "tiny":
            check_usable(t["alphas"], "modules input")
            check_against_float64(model, modules_pv, t["alphas"], "modules input", device)
        summary += [(k, t[k]) for k in ["pixel_values", "embeddings.out", "encoder.out"]
                    + [f"convstream.out.{n}" for n in range(1, len(model.config.convstream_hidden_sizes) + 1)]
                    + [f"fusion.{n}.out" for n in range(len(model.config.fusion_hidden_sizes))]
                    + ["head.out", "alphas"]]
    processor = VitMatteImageProcessor()
    if args.e2e:
        sizes = args.sizes or DEFAULT_SIZES
        t, failed = write_e2e(model, processor, sizes, args.sizes is not None, args, out_dir, meta, device)
        summary += [(k, v) for k, v in t.items() if k.endswith(".alpha") or k.endswith(".pixel_values")]
    if args.dtype_variants:
        t = write_dtype_variants(model, processor, args, out_dir, meta, device)
        summary += list(t.items())
    describe(summary)
    log(f"\nwall time {time.time() - start:.1f} s; outputs in {out_dir}")
    if failed:
        log(f"FAILED cases (out of memory): {failed}")
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
