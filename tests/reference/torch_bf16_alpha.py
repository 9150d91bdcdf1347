#!/usr/bin/env python3
"""PyTorch's own bf16 error on a fixture set: the bar `test_parity --torch-bf16` holds our bf16 alpha to (issue 14).

Runs where torch, transformers and safetensors are installed (the GPU machine; no network needed):

    python3 tests/reference/torch_bf16_alpha.py --model data/tiny --fixtures data/fixtures \
        --out /tmp/torch-bf16-tiny.safetensors
    python3 tests/reference/torch_bf16_alpha.py --model /tmp/fx-small/model --fixtures /tmp/fx-small \
        --out /tmp/fx-small/torch-bf16.safetensors

Reads an existing fixture set made by gen_fixtures.py (the model folder it saved, config.json + model.safetensors,
and e2e.safetensors; modules.safetensors and the --dtype-variants outputs where present), checks that the fp32 model
reproduces every reference alpha (so model and fixtures belong together), converts the model to torch.bfloat16
(`model.to(torch.bfloat16)`: PyTorch's bf16 model as torch_bench.py times it, BatchNorm statistics included), runs
each input cast to bf16 and writes, per entry E:

    E.alpha          float32, the reference's shape   PyTorch bf16's alpha
    E.max_abs_err    (1,) float32                     max |PyTorch bf16 alpha - fp32 reference alpha|
    E.mean_abs_err   (1,) float32                     the mean of the same

Entries: case{c} for every end-to-end case (alpha cropped to H x W like the reference); where modules.safetensors
exists, modules.alphas (the model on its input) and modules.decoder.out (the decoder alone on the encoder output
it captured); where dtype.safetensors exists, dtype.bf16 and dtype.f16 (case0 through model-bf16 / model-f16).
These are test_parity's alpha rows. The errors are computed in float64 from the float32 values stored, so
test_parity recomputes the same numbers from E.alpha and the fixtures' reference (and refuses a file made from other
fixtures).
"""
import argparse
import copy
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
from gen_fixtures import forward_alpha, load_as_float32, log, main_output  # noqa: E402

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


def to_bf16(model):
    """PyTorch's bf16 model: every floating parameter and buffer in bf16 (BatchNorm statistics too)."""
    model = model.to(torch.bfloat16)
    floats = [(n, t.dtype) for n, t in list(model.named_parameters()) + list(model.named_buffers())
              if t.is_floating_point()]
    assert floats and all(d == torch.bfloat16 for _, d in floats), [x for x in floats if x[1] != torch.bfloat16][:5]
    return model


def run_whole(model, pixel_values, dtype, device, what):
    """The model's whole alpha (1, 1, H, W) for an unpadded input (the modules fixture's)."""
    full = forward_alpha(model, pixel_values.to(dtype), device)
    assert tuple(full.shape) == (1, 1) + tuple(pixel_values.shape[-2:]), f"{what}: alpha {tuple(full.shape)}"
    assert torch.isfinite(full).all(), f"{what}: non-finite alpha"
    return full


def run_decoder(model, features, pixel_values, dtype, device, what):
    """VitMatteDetailCaptureModule alone on the encoder output and pixel values it saw (test_parity's decoder row)."""
    with torch.no_grad():
        out = main_output(model.decoder(features.to(device, dtype), pixel_values.to(device, dtype)))
    out = out.detach().float().cpu()
    assert tuple(out.shape) == (1, 1) + tuple(pixel_values.shape[-2:]), f"{what}: decoder out {tuple(out.shape)}"
    assert torch.isfinite(out).all(), f"{what}: non-finite alpha"
    return out


class Entries:
    """The output: per entry, PyTorch bf16's alpha and its max / mean error against the fp32 reference."""

    def __init__(self):
        self.tensors, self.summary = {}, []

    def add(self, entry, alpha, ref, fp32_diff, what):
        assert entry not in {e["entry"] for e in self.summary}, f"entry {entry} twice"
        assert torch.isfinite(alpha).all(), f"{entry}: non-finite PyTorch bf16 alpha"
        max_err, mean_err = errors(alpha, ref)
        assert math.isfinite(max_err) and math.isfinite(mean_err), f"{entry}: errors {max_err}, {mean_err}"
        self.tensors[f"{entry}.alpha"] = alpha.float().contiguous()
        self.tensors[f"{entry}.max_abs_err"] = torch.tensor([max_err], dtype=torch.float32)
        self.tensors[f"{entry}.mean_abs_err"] = torch.tensor([mean_err], dtype=torch.float32)
        self.summary.append({"entry": entry, "what": what, "shape": list(ref.shape), "max_abs_err": max_err,
                             "mean_abs_err": mean_err, "fp32_model_max_abs_err": fp32_diff})
        log(f"  {entry} ({what}): PyTorch bf16 vs fp32 reference alpha: max |err| {max_err:.3e}, "
            f"mean |err| {mean_err:.3e} (fp32 model: {fp32_diff:.1e})")


def agree32(diff, what):
    """The fp32 model must give the fixtures' numbers, or the bar would be measured on another model."""
    assert diff < FP32_AGREEMENT, (
        f"{what}: the fp32 model is {diff:.2e} from the fixtures: --model and --fixtures differ?")
    return diff


def e2e_entries(model32, model_bf16, e2e, cases, device, entries):
    for c in cases:
        ref, pv = e2e[f"case{c}.alpha"], e2e[f"case{c}.pixel_values"]
        d32 = agree32(errors(run_case(model32, pv, ref, torch.float32, device, f"case{c} fp32"), ref)[0], f"case{c}")
        alpha = run_case(model_bf16, pv, ref, torch.bfloat16, device, f"case{c} bf16")
        entries.add(f"case{c}", alpha, ref, d32, f"end-to-end {ref.shape[0]}x{ref.shape[1]}")


def module_entries(model32, model_bf16, fixtures, device, entries):
    """test_parity's two alpha rows of the module suite: the whole model on the modules input (`alphas`) and the
    decoder alone on the encoder output it captured (`decoder.out`), as entries modules.alphas and
    modules.decoder.out."""
    path = fixtures / "modules.safetensors"
    if not path.is_file():
        log(f"  no {path}: no modules entries")
        return
    m = load_file(str(path))
    missing = [k for k in ("pixel_values", "alphas", "decoder.features", "decoder.pixel_values", "decoder.out")
               if k not in m]
    assert not missing, f"{path}: missing {missing}"
    pv, ref = m["pixel_values"], m["alphas"]
    d32 = agree32(errors(run_whole(model32, pv, torch.float32, device, "modules fp32"), ref)[0], "modules alphas")
    entries.add("modules.alphas", run_whole(model_bf16, pv, torch.bfloat16, device, "modules bf16"), ref, d32,
                f"VitMatteForImageMatting on the modules input {pv.shape[-2]}x{pv.shape[-1]}")
    feats, dpv, ref = m["decoder.features"], m["decoder.pixel_values"], m["decoder.out"]
    d32 = agree32(errors(run_decoder(model32, feats, dpv, torch.float32, device, "decoder fp32"), ref)[0], "decoder")
    entries.add("modules.decoder.out", run_decoder(model_bf16, feats, dpv, torch.bfloat16, device, "decoder bf16"), ref,
                d32, "VitMatteDetailCaptureModule on the captured encoder output")


def checkpoint_entries(fixtures, e2e, device, entries):
    """test_parity's rows for checkpoints stored as bf16 / f16 (--dtype-variants): case0 through model-{tag},
    against dtype.safetensors' {tag}.alpha, as entries dtype.bf16 and dtype.f16."""
    path = fixtures / "dtype.safetensors"
    if not path.is_file():
        log(f"  no {path}: no checkpoint entries")
        return
    d = load_file(str(path))
    pv = e2e["case0.pixel_values"]
    for tag in ("bf16", "f16"):
        directory = fixtures / f"model-{tag}"
        assert f"{tag}.alpha" in d and directory.is_dir(), f"{path}: {tag}.alpha or {directory} missing"
        ref = d[f"{tag}.alpha"]
        model32 = load_as_float32(directory, device)
        d32 = agree32(errors(run_case(model32, pv, ref, torch.float32, device, f"{tag} fp32"), ref)[0],
                      f"checkpoint {tag}")
        alpha = run_case(to_bf16(model32), pv, ref, torch.bfloat16, device, f"checkpoint {tag} bf16")
        entries.add(f"dtype.{tag}", alpha, ref, d32, f"checkpoint stored as {tag}, case0")
        del model32


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

    model32 = load_as_float32(args.model, device)
    model_bf16 = to_bf16(copy.deepcopy(model32))
    entries = Entries()
    e2e_entries(model32, model_bf16, e2e, cases, device, entries)
    module_entries(model32, model_bf16, args.fixtures, device, entries)
    del model32, model_bf16
    checkpoint_entries(args.fixtures, e2e, device, entries)

    meta = {"generator": "tests/reference/torch_bf16_alpha.py", "torch": torch.__version__,
            "transformers": transformers.__version__,
            "device": str(device) + (f" ({torch.cuda.get_device_name()})" if args.device == "cuda" else ""),
            "model": str(args.model), "fixtures": str(args.fixtures), "errors": json.dumps(entries.summary)}
    for key in ("preset", "seed", "head_logit_scale"):
        if key in fx_meta:
            meta[f"fixtures_{key}"] = fx_meta[key]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_file(entries.tensors, str(args.out), metadata=meta)
    back = load_file(str(args.out))
    assert set(back) == set(entries.tensors), f"{args.out}: keys read back differ"
    for key, want in entries.tensors.items():
        assert back[key].dtype == torch.float32 and torch.equal(back[key], want), (
            f"{args.out}: {key} reads back otherwise")
    log(f"  wrote {args.out}: {len(entries.summary)} entries, {len(back)} tensors, read back identically")
    # one line for run_gpu.sh's summary
    log("PyTorch bf16 max |err| per entry: "
        + ", ".join(f"{e['entry']} {e['max_abs_err']:.1e}" for e in entries.summary))
    log(f"wall time {time.time() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
