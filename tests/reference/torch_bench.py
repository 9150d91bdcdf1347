#!/usr/bin/env python3
"""Times transformers' VitMatteForImageMatting on the GPU: the PyTorch numbers the engine is compared with.

    python3 tests/reference/torch_bench.py --preset small --json /tmp/torch-small.json
    python3 tests/reference/torch_bench.py --preset base --sizes 1024x1024,2048x2048 --modules-at none

Modes: eager fp32 (TF32 off), eager fp16, eager bf16, torch.compile fp16 (mode "default", compiled afresh for
each size so every size gets its own specialised graph). Each number is the median of --iters runs after
--warmup runs, timed with CUDA events around model(pixel_values=x) under torch.no_grad(); peak memory is
torch.cuda.max_memory_allocated() over the timed runs (weights and input included). Random weights drawn like the
fixtures' (gen_fixtures.randomize); timing does not depend on their values.
"""
import argparse
import copy
import gc
import json
import os
import statistics
import sys
import time
import traceback
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import VitMatteForImageMatting  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_fixtures import PRESETS, build_config, parse_sizes, randomize  # noqa: E402

# fp32 means fp32: TF32 would make the fp32 column a different, faster computation (spec section 7.5).
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False

MODES = {  # name: (dtype, compiled)
    "fp32": (torch.float32, False),
    "fp16": (torch.float16, False),
    "bf16": (torch.bfloat16, False),
    "compile-fp16": (torch.float16, True),
}
MODE_TITLES = {"fp32": "fp32 eager", "fp16": "fp16 eager", "bf16": "bf16 eager",
               "compile-fp16": "torch.compile fp16"}
DEFAULT_SIZES = "512x512,1024x1024,2048x2048,3008x4000"


def log(msg):
    print(msg, flush=True)


def padded(h, w):
    """The model needs multiples of 16; pad like the processor does (to 32)."""
    return -(-h // 32) * 32, -(-w // 32) * 32


def make_input(h, w, dtype, device, seed):
    g = torch.Generator().manual_seed(seed)
    rgb = torch.rand(1, 3, h, w, generator=g) * 2 - 1
    tri = torch.randint(0, 3, (1, 1, h, w), generator=g).float() / 2
    return torch.cat([rgb, tri], 1).to(device=device, dtype=dtype)


def is_oom(exc):
    return isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower()


def reset_dynamo():
    import torch._dynamo  # loaded on first use: only the compile mode needs it

    torch._dynamo.reset()


def free_cuda():
    gc.collect()
    torch.cuda.empty_cache()


def time_cuda(fn, warmup, iters):
    """Median/min/max ms of fn() over iters runs after warmup runs, and the peak allocation over the timed runs."""
    with torch.no_grad():
        for _ in range(warmup):
            fn()
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        times = []
        for _ in range(iters):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end))
    return {"median_ms": statistics.median(times), "min_ms": min(times), "max_ms": max(times),
            "peak_gib": torch.cuda.max_memory_allocated() / 2**30}


def failure(exc):
    if is_oom(exc):
        return "OOM"
    traceback.print_exception(type(exc), exc, exc.__traceback__, limit=3, file=sys.stderr)
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"FAILED: {type(exc).__name__}: {first[:300]}"


def bench_full(master, modes, sizes, args, device):
    results = []
    for mode in modes:
        dtype, compiled = MODES[mode]
        model = copy.deepcopy(master).to(device=device, dtype=dtype).eval()
        for h, w in sizes:
            hp, wp = padded(h, w)
            row = {"mode": mode, "size": f"{h}x{w}", "input": [1, 4, hp, wp]}
            x, run = None, None
            try:
                x = make_input(hp, wp, dtype, device, args.seed)
                run = model
                if compiled:
                    reset_dynamo()
                    run = torch.compile(model)
                    t0 = time.perf_counter()
                    with torch.no_grad():
                        run(pixel_values=x)
                    torch.cuda.synchronize()
                    row["compile_s"] = time.perf_counter() - t0
                row.update(time_cuda(lambda: run(pixel_values=x), args.warmup, args.iters))
                row["status"] = "ok"
            except Exception as exc:  # noqa: BLE001 - every failure is reported in the table, OOM included
                row["status"] = failure(exc)
            finally:
                x, run = None, None
                free_cuda()
            results.append(row)
            log(f"  {mode:>13} {h}x{w}: " + (f"{row['median_ms']:.2f} ms, peak {row['peak_gib']:.2f} GiB"
                                              if row["status"] == "ok" else row["status"]))
        model = None
        free_cuda()
        if compiled:
            try:
                reset_dynamo()
            except Exception as exc:  # noqa: BLE001 - already reported per size
                log(f"  dynamo reset failed: {exc}")
    return results


def module_paths(config):
    bb = config.backbone_config
    windowed = [i for i in range(bb.num_hidden_layers) if i in bb.window_block_indices]
    global_res = [i for i in bb.residual_block_indices if i not in bb.window_block_indices]
    paths = [("embeddings", "backbone.embeddings")]
    if windowed:
        paths.append((f"windowed layer {windowed[0]}", f"backbone.encoder.layer.{windowed[0]}"))
    if global_res:
        paths.append((f"global layer {global_res[0]} (+residual)", f"backbone.encoder.layer.{global_res[0]}"))
    paths += [("encoder (all layers)", "backbone.encoder"), ("convstream", "decoder.convstream")]
    paths += [(f"fusion {k}", f"decoder.fusion_blocks.{k}") for k in range(len(config.fusion_hidden_sizes))]
    paths += [("head", "decoder.matting_head"), ("decoder", "decoder")]
    return paths


def tree_map(value, fn):
    if torch.is_tensor(value):
        return fn(value)
    if isinstance(value, (list, tuple)):
        return type(value)(tree_map(v, fn) for v in value)
    if isinstance(value, dict):
        return {k: tree_map(v, fn) for k, v in value.items()}
    return value


def shapes_of(args):
    return [list(a.shape) for a in args if torch.is_tensor(a)]


def bench_modules(master, size, args, device):
    """Time submodules called directly on the inputs they receive in a full forward (captured with hooks)."""
    h, w = padded(*size)
    paths = module_paths(master.config)
    model32 = copy.deepcopy(master).to(device).eval()
    captured, handles = {}, []
    for label, path in paths:
        def hook(mod, a, k, out, label=label):
            if label not in captured:
                captured[label] = (tree_map(a, lambda t: t.detach().clone()), tree_map(k, lambda t: t.detach().clone()))
        handles.append(model32.get_submodule(path).register_forward_hook(hook, with_kwargs=True))
    x32 = make_input(h, w, torch.float32, device, args.seed)
    with torch.no_grad():
        model32(pixel_values=x32)
    for handle in handles:
        handle.remove()
    missing = [label for label, _ in paths if label not in captured]
    assert not missing, f"hooks did not fire for {missing}"

    rows = []
    for dname, dtype in (("fp32", torch.float32), ("fp16", torch.float16)):
        model = model32 if dtype == torch.float32 else copy.deepcopy(master).to(device=device, dtype=dtype).eval()
        x = x32.to(dtype)
        for label, path in paths + [("full model", None)]:
            row = {"module": label, "path": path, "dtype": dname}
            try:
                if path is None:
                    row.update(time_cuda(lambda: model(pixel_values=x), args.warmup, args.iters))
                    row["inputs"] = [list(x.shape)]
                else:
                    mod = model.get_submodule(path)
                    cast = (lambda t: t.to(dtype) if t.is_floating_point() else t)
                    a, k = tree_map(captured[label][0], cast), tree_map(captured[label][1], cast)
                    row["inputs"] = shapes_of(a)
                    row.update(time_cuda(lambda: mod(*a, **k), args.warmup, args.iters))
                    a = k = None
                row["status"] = "ok"
            except Exception as exc:  # noqa: BLE001
                row["status"] = failure(exc)
            free_cuda()
            rows.append(row)
            log(f"  {dname} {label}: " + (f"{row['median_ms']:.3f} ms" if row["status"] == "ok" else row["status"]))
        model = None
        free_cuda()
    model32, captured = None, None
    free_cuda()
    return {"size": f"{size[0]}x{size[1]}", "input": [1, 4, h, w], "rows": rows}


def markdown_full(results, modes, sizes):
    lines = ["| input | " + " | ".join(MODE_TITLES[m] for m in modes) + " |",
             "|---|" + "---|" * len(modes)]
    for h, w in sizes:
        cells = []
        for m in modes:
            r = next(r for r in results if r["mode"] == m and r["size"] == f"{h}x{w}")
            cells.append(f"{r['median_ms']:.2f} ms, {r['peak_gib']:.2f} GiB" if r["status"] == "ok" else r["status"])
        hp, wp = padded(h, w)
        label = f"{h} x {w}" + ("" if (hp, wp) == (h, w) else f" (padded {hp} x {wp})")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown_modules(table):
    lines = [f"Per-module times at {table['size']} (median ms; called directly on captured inputs)", "",
             "| module | inputs | fp32 | fp16 |", "|---|---|---|---|"]
    labels = []
    for r in table["rows"]:
        if r["module"] not in labels:
            labels.append(r["module"])
    for label in labels:
        cells, inputs = [], ""
        for d in ("fp32", "fp16"):
            r = next(r for r in table["rows"] if r["module"] == label and r["dtype"] == d)
            cells.append(f"{r['median_ms']:.3f}" if r["status"] == "ok" else r["status"])
            inputs = inputs or " ".join("x".join(map(str, s)) for s in r.get("inputs", []))
        lines.append(f"| {label} | {inputs} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", choices=sorted(PRESETS), default="small")
    ap.add_argument("--sizes", type=parse_sizes, default=parse_sizes(DEFAULT_SIZES), help="HxW,HxW,...")
    ap.add_argument("--modes", default=",".join(MODES), help="comma list of " + ", ".join(MODES))
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--modules-at", default="1024x1024", help="HxW for the per-module table, or 'none'")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None, help="write all results here")
    args = ap.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        ap.error(f"unknown modes {unknown}; choose from {list(MODES)}")
    if args.iters < 1 or args.warmup < 0:
        ap.error("--iters must be >= 1 and --warmup >= 0")
    modules_at = None if args.modules_at.lower() == "none" else parse_sizes(args.modules_at)[0]
    if not torch.cuda.is_available():
        ap.error("no CUDA device")

    start = time.time()
    device = torch.device("cuda")
    assert torch.backends.cuda.matmul.allow_tf32 is False and torch.backends.cudnn.allow_tf32 is False
    master = randomize(VitMatteForImageMatting(build_config(args.preset)).eval(), args.seed)
    params = sum(p.numel() for p in master.parameters())
    info = {"device": torch.cuda.get_device_name(), "torch": torch.__version__,
            "transformers": transformers.__version__, "preset": args.preset, "params": params,
            "iters": args.iters, "warmup": args.warmup, "tf32": False}
    log(f"{info['device']}; torch {info['torch']}, transformers {info['transformers']}; preset {args.preset} "
        f"({params / 1e6:.1f} M params); median of {args.iters} after {args.warmup} warm-ups")

    info["full"] = bench_full(master, modes, args.sizes, args, device)
    if modules_at is not None:
        info["modules"] = bench_modules(master, modules_at, args, device)
    info["wall_s"] = time.time() - start

    log("")
    log(f"ViTMatte {args.preset} ({params / 1e6:.1f} M params) on {info['device']}, median of {args.iters}, "
        "peak = torch.cuda.max_memory_allocated")
    log("")
    log(markdown_full(info["full"], modes, args.sizes))
    compile_rows = [r for r in info["full"] if "compile_s" in r]
    if compile_rows:
        log("\ntorch.compile first call (compile + run): "
            + ", ".join(f"{r['size']} {r['compile_s']:.1f} s" for r in compile_rows))
    if "modules" in info:
        log("")
        log(markdown_modules(info["modules"]))
    log(f"\nwall time {info['wall_s']:.1f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(info, indent=1))
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
