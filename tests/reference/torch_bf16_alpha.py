#!/usr/bin/env python3
"""PyTorch's own bf16 error on a fixture set: the bar `test_parity --torch-bf16` holds our bf16 alpha to (issue 14).

Runs where torch, transformers and safetensors are installed (the GPU machine; no network needed):

    python3 tests/reference/torch_bf16_alpha.py --model data/tiny --fixtures data/fixtures \
        --out /tmp/torch-bf16-tiny.safetensors
    python3 tests/reference/torch_bf16_alpha.py --model /tmp/fx-small/model --fixtures /tmp/fx-small \
        --out /tmp/fx-small/torch-bf16.safetensors

Reads an existing fixture set made by gen_fixtures.py (the model folder it saved, config.json + model.safetensors,
and e2e.safetensors), checks that the fp32 model reproduces the reference alphas (so model and fixtures belong
together), converts the model to torch.bfloat16 (`model.to(torch.bfloat16)`: PyTorch's bf16 model as torch_bench.py
times it, BatchNorm statistics included), runs every end-to-end case's pixel_values cast to bf16, crops the alpha
as the fp32 reference is cropped and writes, per case c:

    case{c}.alpha          (H, W) float32   PyTorch bf16's alpha
    case{c}.max_abs_err    (1,) float32     max |PyTorch bf16 alpha - fp32 reference alpha|, over the H x W pixels
    case{c}.mean_abs_err   (1,) float32     the mean of the same

The errors are computed in float64 from the float32 values stored, so test_parity recomputes the same numbers from
case{c}.alpha and the fixtures' case{c}.alpha (and refuses a file made from other fixtures).
"""
import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

# The machine has no network: never let transformers try the hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402
import transformers  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_fixtures import forward_alpha, load_as_float32, log  # noqa: E402

MAX_CASES = 64       # test_parity reads case0, case1, ... up to the first one missing, at most 64
FP32_AGREEMENT = 1e-4  # the fp32 model against the fixtures' alpha: ~1e-6 when they belong together (TF32 is off)


def errors(alpha, ref):
    """max and mean |alpha - ref| in float64, from the float32 values that are stored."""
    assert alpha.shape == ref.shape, f"alpha {tuple(alpha.shape)} vs reference {tuple(ref.shape)}"
    d = (alpha.float().double() - ref.float().double()).abs()
    return d.max().item(), d.mean().item()


def fixture_cases(e2e, path):
    """Indices of the end-to-end cases, as test_parity finds them: case0, case1, ... without a gap."""
    n = 0
    while n < MAX_CASES and f"case{n}.alpha" in e2e:
        n += 1
    indices = {int(k[4:].split(".")[0]) for k in e2e if k.startswith("case") and k.endswith(".alpha")}
    assert indices == set(range(n)), f"{path}: cases {sorted(indices)} are not case0..case{n - 1}"
    assert n > 0, f"{path}: no case{{c}}.alpha"
    for c in range(n):
        assert f"case{c}.pixel_values" in e2e, f"{path}: case{c}.pixel_values is missing"
    return list(range(n))


def run_case(model, pixel_values, ref, dtype, device, what):
    """The model's alpha for one padded input, cast to `dtype`, cropped to the reference's H x W."""
    assert pixel_values.dim() == 4 and tuple(pixel_values.shape[:2]) == (1, 4), (
        f"{what}: pixel_values {tuple(pixel_values.shape)}")
    assert ref.dim() == 2, f"{what}: reference alpha {tuple(ref.shape)} is not (H, W)"
    h, w = ref.shape
    hp, wp = pixel_values.shape[-2:]
    assert h <= hp and w <= wp, f"{what}: reference {h}x{w} larger than the input {hp}x{wp}"
    full = forward_alpha(model, pixel_values.to(dtype), device)
    assert tuple(full.shape) == (1, 1, hp, wp), f"{what}: alpha {tuple(full.shape)} for an input {hp}x{wp}"
    alpha = full[0, 0, :h, :w].contiguous().clone()
    assert torch.isfinite(alpha).all(), f"{what}: non-finite alpha"
    return alpha


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, type=Path,
                    help="the fixtures' model folder (config.json + model.safetensors)")
    ap.add_argument("--fixtures", required=True, type=Path, help="the folder with e2e.safetensors")
    ap.add_argument("--out", required=True, type=Path, help="output .safetensors file")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cuda")
    args = ap.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda: no CUDA device")
    start = time.time()
    device = torch.device(args.device)
    e2e_path = args.fixtures / "e2e.safetensors"
    log(f"torch {torch.__version__}, transformers {transformers.__version__}; model {args.model}, fixtures "
        f"{args.fixtures}, device {device}" + (f" ({torch.cuda.get_device_name()})" if args.device == "cuda" else ""))

    e2e = load_file(str(e2e_path))
    with safe_open(str(e2e_path), framework="pt") as f:
        fx_meta = f.metadata() or {}
    cases = fixture_cases(e2e, e2e_path)

    # The fp32 model first: it must give the fixtures' alphas, or the bar would be measured on another model.
    model = load_as_float32(args.model, device)
    fp32_diff = {}
    for c in cases:
        ref = e2e[f"case{c}.alpha"]
        a32 = run_case(model, e2e[f"case{c}.pixel_values"], ref, torch.float32, device, f"case{c} fp32")
        fp32_diff[c] = errors(a32, ref)[0]
        assert fp32_diff[c] < FP32_AGREEMENT, (
            f"case{c}: the fp32 model is {fp32_diff[c]:.2e} from the fixtures' alpha: --model and --fixtures differ?")

    model = model.to(torch.bfloat16)
    floats = [(n, t.dtype) for n, t in list(model.named_parameters()) + list(model.named_buffers())
              if t.is_floating_point()]
    assert floats and all(d == torch.bfloat16 for _, d in floats), [x for x in floats if x[1] != torch.bfloat16][:5]
    log(f"  check: fp32 model reproduces the {len(cases)} reference alphas (max |diff| "
        f"{max(fp32_diff.values()):.1e} < {FP32_AGREEMENT:g}); {len(floats)} parameters and buffers now bf16")

    tensors, summary = {}, []
    for c in cases:
        ref = e2e[f"case{c}.alpha"]
        h, w = ref.shape
        alpha = run_case(model, e2e[f"case{c}.pixel_values"], ref, torch.bfloat16, device, f"case{c} bf16")
        max_err, mean_err = errors(alpha, ref)
        assert math.isfinite(max_err) and math.isfinite(mean_err), f"case{c}: errors {max_err}, {mean_err}"
        tensors[f"case{c}.alpha"] = alpha.float()
        tensors[f"case{c}.max_abs_err"] = torch.tensor([max_err], dtype=torch.float32)
        tensors[f"case{c}.mean_abs_err"] = torch.tensor([mean_err], dtype=torch.float32)
        summary.append({"entry": f"case{c}", "height": h, "width": w, "max_abs_err": max_err, "mean_abs_err": mean_err})
        log(f"  case{c} {h}x{w}: PyTorch bf16 vs fp32 reference alpha: max |err| {max_err:.3e}, "
            f"mean |err| {mean_err:.3e} (fp32 model: {fp32_diff[c]:.1e})")

    meta = {"generator": "tests/reference/torch_bf16_alpha.py", "torch": torch.__version__,
            "transformers": transformers.__version__,
            "device": str(device) + (f" ({torch.cuda.get_device_name()})" if args.device == "cuda" else ""),
            "model": str(args.model), "fixtures": str(args.fixtures), "errors": json.dumps(summary)}
    for key in ("preset", "seed", "head_logit_scale"):
        if key in fx_meta:
            meta[f"fixtures_{key}"] = fx_meta[key]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(args.out), metadata=meta)
    back = load_file(str(args.out))
    assert set(back) == set(tensors), f"{args.out}: keys read back differ"
    for key, want in tensors.items():
        assert back[key].dtype == torch.float32 and torch.equal(back[key], want), (
            f"{args.out}: {key} reads back otherwise")
    log(f"  wrote {args.out}: {len(summary)} entries, {len(tensors)} tensors, read back identically")
    # one line for run_gpu.sh's summary
    log("PyTorch bf16 max |err| per case: " + ", ".join(f"{e['entry']} {e['max_abs_err']:.1e}" for e in summary))
    log(f"wall time {time.time() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
