#!/usr/bin/env python3
"""Times transformers' ViTMatte on the CPU, in PyTorch and in ONNX Runtime: the peers our CPU engine is compared with.

    python3 tests/reference/cpu_bench.py --model /tmp/fx-small/model --sizes 1024x1024,2048x2048 \
        --threads 16,2,8,4,1 --inputs DIR --json /tmp/cpu-peers.json --deadline 300

For each size the model (VitMatteForImageMatting.from_pretrained(--model), fp32) is exported to ONNX with
torch.onnx.export(..., dynamo=True) at that input size (the legacy exporter gives a wrong model), and ONNX Runtime's
alpha is checked against PyTorch's on the same input before anything is timed. Then, per thread count (PyTorch:
torch.set_num_threads, one inter-op thread; ONNX Runtime: a session with intra_op_num_threads = N, inter_op 1,
sequential execution), the whole prediction is timed - VitMatteImageProcessor on the u8 image and trimap, the
forward pass, the crop of the alpha - and the forward pass alone within the same calls. Times are medians of the
timed calls after one warm-up call; a thread count whose warm-up took longer than --budget seconds gets one timed
call, and one whose predicted time (from the thread counts before) exceeds --budget runs once without warm-up.
Configurations not started before --deadline seconds (counted from the start) are reported as skipped.

--inputs DIR reads the input that tests/perf/bench_cpu --dump wrote (rgb-HxW.u8, tri-HxW.u8) and its alpha
(alpha-HxW.f32), so both peers see the engine's input and their alphas are compared with the engine's; without it
(or where a file is missing) a synthetic input is drawn here.
"""
import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_interop_threads(1)  # before any parallel work: fixed for the process

import onnxruntime as ort  # noqa: E402
import transformers  # noqa: E402
from transformers import VitMatteForImageMatting, VitMatteImageProcessor  # noqa: E402


def log(msg):
    print(msg, flush=True)


def parse_sizes(text):
    sizes = []
    for part in text.split(","):
        h, w = part.lower().split("x")
        sizes.append((int(h), int(w)))
    return sizes


def cpu_name():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def synthetic_input(h, w, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    noise = rng.integers(-8, 8, (h, w))
    rgb = np.stack([(xx * 255 // max(w - 1, 1) + noise) & 255, (yy * 255 // max(h - 1, 1) + noise) & 255,
                    ((xx + yy) * 3 + noise) & 255], axis=-1).astype(np.uint8)
    r = min(h, w) / 3.0
    d2 = (xx - w / 2.0) ** 2 + (yy - h / 2.0) ** 2
    tri = np.where(d2 < (0.8 * r) ** 2, 255, np.where(d2 < (1.2 * r) ** 2, 128, 0)).astype(np.uint8)
    return rgb, tri


def load_input(directory, h, w):
    """The engine benchmark's input and alpha for this size, or a synthetic input and None."""
    if directory:
        d = Path(directory)
        rgb_path, tri_path = d / f"rgb-{h}x{w}.u8", d / f"tri-{h}x{w}.u8"
        if rgb_path.exists() and tri_path.exists():
            rgb = np.fromfile(rgb_path, dtype=np.uint8).reshape(h, w, 3)
            tri = np.fromfile(tri_path, dtype=np.uint8).reshape(h, w)
            alpha_path = d / f"alpha-{h}x{w}.f32"
            ours = np.fromfile(alpha_path, dtype=np.float32).reshape(h, w) if alpha_path.exists() else None
            return rgb, tri, ours, "the engine benchmark's input"
    rgb, tri = synthetic_input(h, w)
    return rgb, tri, None, "a synthetic input"


class AlphaOnly(torch.nn.Module):
    """The model with the alpha as its only output (what the ONNX graph returns)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, pixel_values):
        return self.model(pixel_values=pixel_values).alphas


class Peer:
    """One implementation: predict() returns (alpha, seconds of the whole call, seconds of the forward alone)."""

    name = ""

    def set_threads(self, n):
        raise NotImplementedError

    def predict(self, rgb, tri):
        raise NotImplementedError


class TorchPeer(Peer):
    name = "PyTorch"

    def __init__(self, model, processor):
        self.model, self.processor = model, processor

    def set_threads(self, n):
        torch.set_num_threads(n)

    def predict(self, rgb, tri):
        h, w = tri.shape
        t0 = time.perf_counter()
        enc = self.processor(images=rgb, trimaps=tri, return_tensors="pt", input_data_format="channels_last")
        t1 = time.perf_counter()
        with torch.inference_mode():
            alphas = self.model(pixel_values=enc["pixel_values"]).alphas
        t2 = time.perf_counter()
        alpha = alphas[0, 0, :h, :w].numpy().copy()
        t3 = time.perf_counter()
        return alpha, t3 - t0, t2 - t1


class OrtPeer(Peer):
    name = "ONNX Runtime"

    def __init__(self, path, processor):
        self.path, self.processor, self.session = path, processor, None

    def set_threads(self, n):
        so = ort.SessionOptions()
        so.intra_op_num_threads = n
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = None
        self.session = ort.InferenceSession(str(self.path), so, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def predict(self, rgb, tri):
        h, w = tri.shape
        t0 = time.perf_counter()
        enc = self.processor(images=rgb, trimaps=tri, return_tensors="np", input_data_format="channels_last")
        pv = np.ascontiguousarray(enc["pixel_values"], dtype=np.float32)
        t1 = time.perf_counter()
        out = self.session.run(None, {self.input_name: pv})[0]
        t2 = time.perf_counter()
        alpha = out[0, 0, :h, :w].copy()
        t3 = time.perf_counter()
        return alpha, t3 - t0, t2 - t1


def export_onnx(model, hp, wp, path):
    x = torch.zeros(1, 4, hp, wp, dtype=torch.float32)
    t0 = time.perf_counter()
    with torch.no_grad():  # not inference_mode: torch.export traces with tensors autograd may still look at
        torch.onnx.export(AlphaOnly(model).eval(), (x,), str(path), dynamo=True, input_names=["pixel_values"],
                          output_names=["alphas"])
    return time.perf_counter() - t0


def time_config(peer, threads, rgb, tri, args, predicted):
    """One peer at one thread count: a warm-up call (left out when a call is predicted to take longer than
    --cold-over seconds), then timed calls until --iters are done or they have taken --budget seconds (at least
    one)."""
    peer.set_threads(threads)
    row = {"peer": peer.name, "threads": threads, "warmup": 0}
    if predicted is None or predicted <= args.cold_over:
        _, row["first_s"], _ = peer.predict(rgb, tri)
        row["warmup"] = 1
    calls, spent = [], 0.0
    while len(calls) < args.iters and (not calls or spent < args.budget):
        _, whole, fwd = peer.predict(rgb, tri)
        calls.append((whole, fwd))
        spent += whole
    row["predict_s"] = statistics.median(c[0] for c in calls)
    row["forward_s"] = statistics.median(c[1] for c in calls)
    row["iters"] = len(calls)
    row["status"] = "ok"
    return row


def time_peer(peer, size, threads, rgb, tri, args, start, rows, last, saved):
    """The thread counts of one peer at one size, each predicted from the one timed before (last[(peer, size)]);
    saved() after each row."""
    for t in threads:
        if time.time() - start > args.deadline:
            rows.append({"peer": peer.name, "size": size, "threads": t, "status": "skipped (time)"})
            log(f"  {peer.name:>12} {size} {t:2d} threads: skipped (the stage's time budget is spent)")
            continue
        previous = last.get((peer.name, size))
        predicted = previous[1] * previous[0] / t if previous else None
        try:
            row = time_config(peer, t, rgb, tri, args, predicted)
        except Exception as exc:  # noqa: BLE001 - reported in the table
            traceback.print_exc()
            row = {"peer": peer.name, "threads": t, "status": f"FAILED: {type(exc).__name__}: {str(exc)[:200]}"}
        row["size"] = size
        rows.append(row)
        saved()
        if row["status"] == "ok":
            last[(peer.name, size)] = (t, row["predict_s"])
            log(f"  {peer.name:>12} {size} {t:2d} threads: forward {row['forward_s']:8.3f} s  predict "
                f"{row['predict_s']:8.3f} s  ({row['iters']} timed, {row['warmup']} warm-up)")
        else:
            log(f"  {peer.name:>12} {size} {t:2d} threads: {row['status']}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="folder with config.json + model.safetensors")
    ap.add_argument("--sizes", type=parse_sizes, default=parse_sizes("1024x1024,2048x2048"))
    ap.add_argument("--threads", default="16,8,4,2,1",
                    help="thread counts, in the order they are run (1 thread after all the others)")
    ap.add_argument("--peers", default="onnxruntime,pytorch")
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--budget", type=float, default=10.0, help="seconds of timed calls per configuration")
    ap.add_argument("--cold-over", type=float, default=30.0,
                    help="no warm-up call where a call is predicted to take longer than this (seconds)")
    ap.add_argument("--check-threads", type=int, default=0,
                    help="threads of the alpha checks before timing (default: the most of --threads)")
    ap.add_argument("--deadline", type=float, default=1e9, help="seconds after which no configuration starts")
    ap.add_argument("--inputs", default=None, help="folder of tests/perf/bench_cpu --dump")
    ap.add_argument("--onnx-dir", default=None, help="where the exported models go (default: a temporary folder)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(",") if t.strip()]
    peers_wanted = [p.strip() for p in args.peers.split(",") if p.strip()]
    start = time.time()

    model = VitMatteForImageMatting.from_pretrained(args.model).float().eval()
    processor = VitMatteImageProcessor()
    params = sum(p.numel() for p in model.parameters())
    info = {"cpu": cpu_name(), "logical_cpus": os.cpu_count(), "torch": torch.__version__,
            "onnxruntime": ort.__version__, "transformers": transformers.__version__, "params": params,
            "iters": args.iters, "budget_s": args.budget, "rows": [], "checks": []}
    log(f"{info['cpu']} ({info['logical_cpus']} logical CPUs); torch {info['torch']}, onnxruntime "
        f"{info['onnxruntime']}, transformers {info['transformers']}; {params / 1e6:.1f} M params")
    onnx_dir = Path(args.onnx_dir) if args.onnx_dir else Path(tempfile.mkdtemp(prefix="vitmatte-onnx-"))
    onnx_dir.mkdir(parents=True, exist_ok=True)

    # First the checks at every size (PyTorch's alpha on all threads, the export, ONNX Runtime's alpha), then the
    # timings in order of what the targets need, so that a deadline cuts the least useful: ONNX Runtime at 2+
    # threads at every size, then PyTorch at 2+ threads, then everyone at 1 thread.
    inputs, ort_peers, torch_peer = {}, {}, TorchPeer(model, processor)
    for h, w in args.sizes:
        size = f"{h}x{w}"
        hp, wp = -(-h // 32) * 32, -(-w // 32) * 32
        rgb, tri, ours_alpha, where = load_input(args.inputs, h, w)
        inputs[size] = (rgb, tri)
        log(f"\n== {size} ({where})")
        torch_peer.set_threads(args.check_threads or max(threads))
        ref_alpha, _, _ = torch_peer.predict(rgb, tri)
        check = {"size": size, "input": where}
        info["checks"].append(check)
        if ours_alpha is not None:
            check["ours_vs_pytorch"] = float(np.abs(ours_alpha.astype(np.float64) - ref_alpha).max())
            log(f"  ours vs PyTorch: max |alpha difference| {check['ours_vs_pytorch']:.3e}")
        if "onnxruntime" not in peers_wanted:
            continue
        path = onnx_dir / f"vitmatte-{hp}x{wp}.onnx"
        try:
            if not path.exists():
                check["export_s"] = export_onnx(model, hp, wp, path)
                log(f"  exported {path.name} in {check['export_s']:.1f} s")
            ort_peer = OrtPeer(path, processor)
            ort_peer.set_threads(args.check_threads or max(threads))
            ort_alpha, _, _ = ort_peer.predict(rgb, tri)
            ort_peer.session = None
            diff = float(np.abs(ort_alpha.astype(np.float64) - ref_alpha).max())
            check["onnxruntime_vs_pytorch"] = diff
            log(f"  ONNX Runtime vs PyTorch: max |alpha difference| {diff:.3e}")
            if diff <= 1e-4:
                ort_peers[size] = ort_peer
            else:
                log("  ONNX Runtime's alpha differs from PyTorch's: not timed")
                info["rows"].append({"peer": "ONNX Runtime", "size": size, "threads": 0,
                                     "status": f"alpha differs from PyTorch by {diff:.2e}"})
        except Exception as exc:  # noqa: BLE001 - reported in the table
            traceback.print_exc()
            info["rows"].append({"peer": "ONNX Runtime", "size": size, "threads": 0,
                                 "status": f"export/session failed: {type(exc).__name__}: {str(exc)[:200]}"})
    many = [t for t in threads if t > 1]
    plan = [(ort_peers[size], size, many) for size in inputs if size in ort_peers]
    if "pytorch" in peers_wanted:
        plan += [(torch_peer, size, many) for size in inputs]
    if 1 in threads:
        plan += [(p, size, [1]) for p, size, _ in list(plan)]

    def save():  # after every row: a run killed at its time limit keeps the rows it finished
        info["wall_s"] = time.time() - start
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            tmp = args.json.with_name(args.json.name + ".part")
            tmp.write_text(json.dumps(info, indent=1))
            tmp.replace(args.json)

    last = {}
    for peer, size, counts in plan:
        log(f"\n== {peer.name} at {size}, threads {counts}")
        rgb, tri = inputs[size]
        time_peer(peer, size, counts, rgb, tri, args, start, info["rows"], last, save)
        if isinstance(peer, OrtPeer):
            peer.session = None
    save()
    log(f"\nwall time {info['wall_s']:.1f} s")
    if args.json:
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
