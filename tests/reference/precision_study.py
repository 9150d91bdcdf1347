#!/usr/bin/env python3
"""Where half precision loses accuracy in ViTMatte: transformers' fp32 model run with bf16/fp16 rounding emulated
at chosen places, compared with the plain fp32 alpha. Guides which tensors the CUDA backend must keep in fp32.

    python3 tests/reference/precision_study.py --preset small --sizes 333x250,517x389,1024x1024 --device cuda

Schemes (each one a superset of the roundings before it, except "torch"):
  operands   every Linear/Conv2d input, weight and bias rounded (what tensor-core products see); all else fp32
  +stored    also the stored intermediates that feed non-product ops: qkv (attention reads it), the residual
             block's conv3 output (before its LayerNorm), each decoder stage's output
  +alpha     also the alpha itself stored in the half type
  +stream    also the residual stream stored in the half type after every layer and the embeddings
  torch      PyTorch's own model.to(dtype)
The engine before per-tensor dtypes corresponds to "+stream"; with an fp32 alpha it is close to "+stored".

With --attribute it instead rounds the operands of one module group at a time (weights and inputs, weights only,
inputs only), to show where the "operands" error comes from.
"""
import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_fixtures as gf  # noqa: E402

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False

SCHEMES = ["operands", "+stored", "+alpha", "+stream"]


def rounder(dtype):
    return lambda t: t.to(dtype).to(torch.float32) if torch.is_tensor(t) and t.is_floating_point() else t


def install(model, scheme, rnd):
    """Hooks that round where `scheme` says; returns the handles."""
    level = SCHEMES.index(scheme)
    hooks = []
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, (torch.nn.Linear, torch.nn.Conv2d)):
                mod.weight.copy_(rnd(mod.weight))
                if mod.bias is not None:
                    mod.bias.copy_(rnd(mod.bias))
                hooks.append(mod.register_forward_pre_hook(lambda m, a: tuple(rnd(x) for x in a)))
    if level >= 1:
        enc = model.backbone.encoder
        for layer in enc.layer:
            hooks.append(layer.attention.qkv.register_forward_hook(lambda m, a, o: rnd(o)))
            if hasattr(layer, "residual"):
                hooks.append(layer.residual.conv3.register_forward_hook(lambda m, a, o: rnd(o)))
        dec = model.decoder
        for blk in list(dec.convstream.convs) + list(dec.fusion_blocks):
            hooks.append(blk.register_forward_hook(lambda m, a, o: rnd(o)))
        hooks.append(dec.matting_head.matting_convs[2].register_forward_hook(lambda m, a, o: rnd(o)))
    if level >= 3:
        hooks.append(model.backbone.embeddings.register_forward_hook(lambda m, a, o: rnd(o)))
        for layer in model.backbone.encoder.layer:
            def stream(m, a, o):
                return tuple(rnd(x) for x in o) if isinstance(o, tuple) else rnd(o)
            hooks.append(layer.register_forward_hook(stream))
    return hooks


def groups(model):
    """The module groups whose products the attribution rounds one at a time (Linear/Conv2d modules)."""
    bb, dec = model.backbone, model.decoder
    layers = bb.encoder.layer
    g = {"patch": [bb.embeddings.projection],
         "qkv": [l.attention.qkv for l in layers],
         "proj": [l.attention.proj for l in layers],
         "fc1": [l.mlp.fc1 for l in layers],
         "fc2": [l.mlp.fc2 for l in layers],
         "resblock": [m for l in layers if hasattr(l, "residual")
                      for m in (l.residual.conv1, l.residual.conv2, l.residual.conv3)],
         "convstream": [m for m in dec.convstream.modules() if isinstance(m, torch.nn.Conv2d)]}
    for i, f in enumerate(dec.fusion_blocks):
        g[f"fusion{i}"] = [m for m in f.modules() if isinstance(m, torch.nn.Conv2d)]
    g["head"] = [m for m in dec.matting_head.modules() if isinstance(m, torch.nn.Conv2d)]
    return g


def round_modules(mods, rnd_w, rnd_i):
    with torch.no_grad():
        for m in mods:
            if rnd_w:
                m.weight.copy_(rnd_w(m.weight))
                if m.bias is not None:
                    m.bias.copy_(rnd_w(m.bias))
            if rnd_i:
                m.register_forward_pre_hook(lambda mm, a: tuple(rnd_i(x) for x in a))


def attribute(base, cases, device, rnd):
    """Max alpha error with one group's operands rounded: weights+inputs, weights only, inputs only."""
    def err(setup):
        model = gf.copy.deepcopy(base)
        setup(model)
        out = [(gf.forward_alpha(model, pv, device) - ref)[0, 0, :h, :w].abs().max().item()
               for _, pv, (h, w), ref in cases]
        del model
        return " ".join(f"{e:9.2e}" for e in out)
    print(f"{'group':11} {'weights+inputs':>20} {'weights only':>20} {'inputs only':>20}")
    for name in groups(base):
        cols = [err(lambda m, rw=rw, ri=ri: round_modules(groups(m)[name], rw, ri))
                for rw, ri in ((rnd, rnd), (rnd, None), (None, rnd))]
        print(f"{name:11} " + " | ".join(cols), flush=True)


def run(model, pv, device, scheme=None, rnd=None):
    alpha = gf.forward_alpha(model, pv, device)
    if scheme is not None and SCHEMES.index(scheme) >= 2:
        alpha = rnd(alpha)
    return alpha


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", choices=sorted(gf.PRESETS), default="small")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sizes", type=gf.parse_sizes, default=[(333, 250), (517, 389)])
    ap.add_argument("--dtypes", default="bf16,fp16")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--attribute", action="store_true", help="round one module group at a time (first dtype only)")
    args = ap.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    base = gf.randomize(gf.VitMatteForImageMatting(gf.build_config(args.preset)).eval(), args.seed).to(device)
    processor = gf.VitMatteImageProcessor()
    cases = []
    for index, (h, w) in enumerate(args.sizes):
        img, tri = gf.make_case(args.seed, index, h, w)
        pv, _ = gf.run_processor(processor, img, tri)
        cases.append((f"{h}x{w}", pv, (h, w), gf.forward_alpha(base, pv, device)))
    print(f"preset {args.preset}, seed {args.seed}, device {device}"
          + (f" ({torch.cuda.get_device_name()})" if args.device == "cuda" else ""))
    if args.attribute:
        name = args.dtypes.split(",")[0]
        print(f"max |alpha - fp32 alpha| per case ({', '.join(c[0] for c in cases)}), {name} operands of one group")
        attribute(base, cases, device, rounder({"bf16": torch.bfloat16, "fp16": torch.float16}[name]))
        return 0
    print("max |alpha - fp32 alpha| per case")
    print(f"{'dtype':6} {'scheme':10} " + " ".join(f"{c[0]:>10}" for c in cases))
    for name in args.dtypes.split(","):
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[name]
        rnd = rounder(dtype)
        for scheme in SCHEMES + ["torch"]:
            errs = []
            if scheme == "torch":
                model = gf.copy.deepcopy(base).to(dtype)
                for _, pv, (h, w), ref in cases:
                    with torch.no_grad():
                        a = model(pixel_values=pv.to(device, dtype)).alphas.float().cpu()
                    errs.append((a - ref)[0, 0, :h, :w].abs().max().item())
            else:
                model = gf.copy.deepcopy(base)
                install(model, scheme, rnd)
                for _, pv, (h, w), ref in cases:
                    a = run(model, pv, device, scheme, rnd)
                    errs.append((a - ref)[0, 0, :h, :w].abs().max().item())
            del model
            print(f"{name:6} {scheme:10} " + " ".join(f"{e:10.2e}" for e in errs), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
