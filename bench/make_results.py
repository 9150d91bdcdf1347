#!/usr/bin/env python3
"""Writes bench/RESULTS.md from one GPU run: our engine's bench-*.json (bench/bench.c) and transformers'
torch-*.json (tests/reference/torch_bench.py), measured in the same call on the same card; and, when the run had the
`cpu` stage, the CPU table: cpu-ours-*.json (tests/perf/bench_cpu) and cpu-peers.json (tests/reference/cpu_bench.py,
PyTorch and ONNX Runtime) from the same machine's CPU.

    python3 bench/make_results.py --out RESULTS.md DIR     (DIR holds the JSON files; run by tests/gpu/run_gpu.sh)
"""
import argparse
import datetime
import json
import math
import subprocess
from pathlib import Path

# The targets: (preset, size, precision) -> (max ms, max GiB or None)
TARGETS = {
    ("small", "1024x1024", "fp16"): (2.5, None),
    ("small", "2048x2048", "fp16"): (10.0, 2.0),
    ("small", "3008x4000", "fp16"): (50.0, 4.0),
    ("base", "2048x2048", "fp16"): (20.0, None),
}
# Arithmetic per forward (GFLOP, spec section 6.1 counting; 3008x4000 and base scaled the same way)
GFLOP = {("small", "512x512"): 119.5, ("small", "1024x1024"): 530.1, ("small", "2048x2048"): 3363.9,
         ("small", "3008x4000"): 18400.0, ("base", "512x512"): 302.0, ("base", "1024x1024"): 1271.0,
         ("base", "2048x2048"): 7572.0}
PEAK_TFLOPS = 800.0  # measured bf16/fp16 dense rate of the card (KINDS.md)
FP32_TARGET = 1.5  # the GPU fp32 goal: at least 1.5x PyTorch fp32 (TF32 off on both sides) at every size
TORCH_MODES = [("fp32", "PyTorch fp32"), ("fp16", "PyTorch fp16"), ("bf16", "PyTorch bf16"),
               ("compile-fp16", "torch.compile fp16")]


def load(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def card_name(bench_files):
    """The card the run's JSON names (ours, else PyTorch's), else nvidia-smi's (RESULTS.md written on that machine)."""
    for b in bench_files:
        if b and b.get("device"):
            return b["device"].split(" (")[0]
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30).stdout.strip()
        return out.splitlines()[0] if out else "unknown GPU"
    except (OSError, subprocess.SubprocessError):
        return "unknown GPU"


def ours_row(bench, size, prec):
    for r in (bench or {}).get("full", []):
        if r["size"] == size and r["precision"] == prec:
            return r
    return None


def torch_row(torch_runs, size, mode):
    for t in torch_runs:
        for r in t.get("full", []):
            if r["size"] == size and r["mode"] == mode:
                return r
    return None


def fmt_ours(r, with_mem=True):
    if r is None:
        return "not run"
    if r["status"] != "ok":
        return r["status"].split(":")[0] if "memory" not in r["status"] else "out of memory"
    s = f"{r['forward_ms']:.2f} ms"
    if with_mem:
        s += f", {r['peak_gib']:.2f} GiB"
    return s


def fmt_torch(r):
    if r is None:
        return "not run"
    if r["status"] != "ok":
        return r["status"]
    return f"{r['median_ms']:.2f} ms, {r['peak_gib']:.2f} GiB"


def fp32_table(bench, torch_runs, sizes):
    """Ours fp32 against PyTorch fp32 at each size, with the issue's 1.5x goal; empty without both."""
    rows = []
    for size in sizes:
        o, t = ours_row(bench, size, "fp32"), torch_row(torch_runs, size, "fp32")
        if o is None or t is None:
            continue
        if o["status"] != "ok" or t["status"] != "ok":
            met = "yes (PyTorch: out of memory)" if o["status"] == "ok" and "memory" in t["status"] else "-"
            rows.append(f"| {size} | {fmt_ours(o)} | {fmt_torch(t)} | - | {met} |")
            continue
        ratio = t["median_ms"] / o["forward_ms"]
        # a miss that two decimals would print as the goal itself (1.497x as "1.50x") gets more, rounded down
        shown, digits = f"{ratio:.2f}", 2
        while ratio < FP32_TARGET and float(shown) >= FP32_TARGET and digits < 6:
            digits += 1
            shown = f"{math.floor(ratio * 10 ** digits) / 10 ** digits:.{digits}f}"
        over = FP32_TARGET * o["forward_ms"] / t["median_ms"]
        met = "yes" if ratio >= FP32_TARGET else f"no ({over:.{digits}f}x the time)"
        rows.append(f"| {size} | {fmt_ours(o)} | {fmt_torch(t)} | {shown}x | {met} |")
    if not rows:
        return []
    return [f"fp32 (the exact mode) against PyTorch fp32, TF32 off on both sides (goal: at least {FP32_TARGET}x)", "",
            "| input | ours fp32 | PyTorch fp32 | speed-up | met? |", "|---|---|---|---|---|"] + rows + [""]


CPU_TARGET = 1.3  # the CPU goal: at least 1.3x ONNX Runtime from 2 to 16 threads


def cpu_section(d):
    """The CPU table, or [] when the run had no cpu stage."""
    ours = []
    for path in sorted(d.glob("cpu-ours-*.json")):
        run = load(path) or {}
        ours += [dict(r, warmup=run.get("warmup", 1)) for r in run.get("rows", [])]
    # cpu-peers.json from the cpu stage, and cpu-peers-1.json from cpu1 (the peers at 1 thread, which the cpu stage
    # leaves for last and its time limit usually skips): rows of both, a timed row before a skipped one
    peers = {}
    for path in sorted(d.glob("cpu-peers*.json")):
        run = load(path) or {}
        rows = peers.get("rows", []) + run.get("rows", [])
        checks = peers.get("checks", []) + [c for c in run.get("checks", [])
                                            if c.get("size") not in {k.get("size") for k in peers.get("checks", [])}]
        peers = {**run, **peers, "rows": rows, "checks": checks}
    if not ours and not peers:
        return []

    def pick(rows, size, threads, peer=None):
        found = [r for r in rows
                 if r.get("size") == size and r.get("threads") == threads and (peer is None or r.get("peer") == peer)]
        return next((r for r in found if r.get("status") == "ok"), found[0] if found else None)

    def secs(r, key):
        if r is None:
            return "not run"
        if r.get("status") != "ok":
            return r.get("status", "?")
        return f"{r[key]:.2f} s" + ("*" if r.get("warmup", 1) == 0 else "")

    keys = []
    for r in ours + peers.get("rows", []):
        if r.get("threads", 0) > 0 and (r["size"], r["threads"]) not in keys:
            keys.append((r["size"], r["threads"]))
    keys.sort(key=lambda k: (int(k[0].split("x")[0]) * int(k[0].split("x")[1]), k[1]))
    cpu = peers.get("cpu")
    if not cpu:  # the peers' run failed: the stage's lscpu still names the CPU
        try:
            cpu = next(line.split(":", 1)[1].strip() for line in (d / "cpu-env.log").read_text().splitlines()
                       if line.startswith("Model name"))
        except (OSError, StopIteration):
            cpu = "unknown CPU"
    isa = next((r["isa"] for r in ours if r.get("isa")), "?")
    try:  # the kernel's huge-page setting, which decides whether our buffers' advice applies (stages since 2026-12-08)
        thp = next(line.split(":", 1)[1].strip() for line in (d / "cpu-env.log").read_text().splitlines()
                   if line.startswith("transparent huge pages"))
        thp = f" (transparent huge pages: {thp})"
    except (OSError, StopIteration):
        thp = ""
    lines = ["## CPU: ViTMatte-S fp32 on the same machine's CPU", "",
             f"CPU: **{cpu}** ({peers.get('logical_cpus', '?')} logical CPUs); ours on its {isa} kernels{thp}; "
             f"PyTorch {peers.get('torch', '?')} (torch.set_num_threads, 1 inter-op thread), ONNX Runtime "
             f"{peers.get('onnxruntime', '?')} (model exported with torch.onnx.export(dynamo=True) at each size, "
             "intra_op_num_threads = N, inter_op 1, sequential). Same model (random weights), same u8 input. "
             "*forward*: the model alone; *predict*: the whole call (pre-processing of the u8 image and trimap, "
             "forward, crop of the alpha; ours: `vm_predict`). Medians after a warm-up call; * marks a single call "
             "without one (the slowest configurations, to keep the stage short). Target: ours at least 1.3x ONNX "
             "Runtime from 2 to 16 threads.", "",
             "| input | threads | ours forward | ours predict | ONNX Runtime forward | ONNX Runtime predict | "
             "PyTorch forward | PyTorch predict | forward: ORT / ours | forward: PyTorch / ours | target met? |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    prows = peers.get("rows", [])
    for size, t in keys:
        o = pick(ours, size, t)
        ox = pick(prows, size, t, "ONNX Runtime")
        pt = pick(prows, size, t, "PyTorch")
        ok_o = o is not None and o.get("status") == "ok"

        def ratio(r):
            if ok_o and r is not None and r.get("status") == "ok":
                return r["forward_s"] / o["forward_s"]
            return None

        rx, rp = ratio(ox), ratio(pt)
        met = "-"
        if t >= 2 and rx is not None:
            met = "yes" if rx >= CPU_TARGET else f"no ({rx / CPU_TARGET:.2f}x of the goal)"
        lines.append(f"| {size} | {t} | {secs(o, 'forward_s')} | {secs(o, 'predict_s')} | {secs(ox, 'forward_s')} | "
                     f"{secs(ox, 'predict_s')} | {secs(pt, 'forward_s')} | {secs(pt, 'predict_s')} | "
                     f"{f'{rx:.2f}x' if rx else '-'} | {f'{rp:.2f}x' if rp else '-'} | {met} |")
    lines.append("")
    for r in prows:
        if r.get("threads", 1) == 0:
            lines.append(f"{r['peer']} at {r['size']}: {r['status']}")
    checks = peers.get("checks", [])
    if checks:
        parts = []
        for c in checks:
            bits = []
            if "onnxruntime_vs_pytorch" in c:
                bits.append(f"ONNX Runtime vs PyTorch {c['onnxruntime_vs_pytorch']:.1e}")
            if "ours_vs_pytorch" in c:
                bits.append(f"ours vs PyTorch {c['ours_vs_pytorch']:.1e}")
            parts.append(f"{c['size']}: " + ", ".join(bits or ["-"]))
        lines.append("Alphas on the timed input (max |difference|), checked before timing: " + "; ".join(parts) + ".")
        lines.append("")
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    d = args.dir
    lines = [f"# Benchmark: vitmatte-gimp engine vs transformers", "",
             f"Card: **{card_name([load(d / f) for f in ('bench-small.json', 'bench-base.json', 'torch-small.json', 'torch-base.json')])}**; date: {datetime.date.today().isoformat()}; both measured in the same call.",
             "Random weights (timing does not depend on them). Our times: median of the timed passes after warm-up, "
             "CUDA events around one forward pass (the recorded CUDA graph replayed; the input upload and alpha "
             "download are outside), peak = device memory the context held (weights, arena, scratch). "
             "`vm_predict` = wall time of the whole public call (preprocessing, upload, forward, download). "
             "PyTorch: median of CUDA-event-timed `model(pixel_values=x)` after warm-up, peak = "
             "`torch.cuda.max_memory_allocated`, TF32 off.", ""]
    for preset, title in (("small", "ViTMatte-S"), ("base", "ViTMatte-B")):
        bench = load(d / f"bench-{preset}.json")
        torch_runs = [t for t in (load(d / f"torch-{preset}.json"), load(d / f"torch-{preset}-compile.json")) if t]
        if not bench and not torch_runs:
            continue
        sizes = []
        for r in (bench or {}).get("full", []):
            if r["size"] not in sizes:
                sizes.append(r["size"])
        for t in torch_runs:
            for r in t.get("full", []):
                if r["size"] not in sizes:
                    sizes.append(r["size"])
        lines += [f"## {title}", "",
                  "| input | ours fp16 | ours bf16 | ours fp32 | ours fp16 vm_predict | "
                  + " | ".join(t for _, t in TORCH_MODES) + " | fp16 speed-up vs PyTorch fp32 / fp16 / compile |",
                  "|---|---|---|---|---|" + "---|" * len(TORCH_MODES) + "---|"]
        for size in sizes:
            o16, obf, o32 = (ours_row(bench, size, p) for p in ("fp16", "bf16", "fp32"))
            cells = [fmt_ours(o16), fmt_ours(obf), fmt_ours(o32),
                     f"{o16['predict_ms']:.1f} ms" if o16 and o16["status"] == "ok" else "-"]
            trs = [torch_row(torch_runs, size, m) for m, _ in TORCH_MODES]
            cells += [fmt_torch(r) for r in trs]
            ratios = []
            for r in (trs[0], trs[1], trs[3]):
                if o16 and o16["status"] == "ok" and r and r["status"] == "ok":
                    ratios.append(f"{r['median_ms'] / o16['forward_ms']:.1f}x")
                else:
                    ratios.append("-")
            cells.append(" / ".join(ratios))
            lines.append(f"| {size} | " + " | ".join(cells) + " |")
        lines.append("")
        # floor and targets
        lines += ["| input | arithmetic | floor at 800 TFLOP/s | ours fp16 | fraction of the floor rate | target | met? |",
                  "|---|---|---|---|---|---|---|"]
        for size in sizes:
            g = GFLOP.get((preset, size))
            o16 = ours_row(bench, size, "fp16")
            floor = g / PEAK_TFLOPS if g else None
            t = TARGETS.get((preset, size, "fp16"))
            ok = o16 is not None and o16["status"] == "ok"
            frac = f"{floor / o16['forward_ms'] * 100:.0f}%" if ok and floor else "-"
            target = "-"
            met = "-"
            if t:
                target = f"<= {t[0]} ms" + (f", <= {t[1]} GiB" if t[1] else "")
                if ok:
                    good = o16["forward_ms"] <= t[0] and (t[1] is None or o16["peak_gib"] <= t[1])
                    met = "yes" if good else (f"no ({o16['forward_ms'] / t[0]:.2f}x the time"
                                               + (f", {o16['peak_gib']:.2f} GiB" if t[1] else "") + ")")
            lines.append(f"| {size} | {g / 1000:.2f} TFLOP | {floor:.2f} ms | " if g else f"| {size} | - | - | ")
            lines[-1] += f"{fmt_ours(o16)} | {frac} | {target} | {met} |"
        lines.append("")
        lines += fp32_table(bench, torch_runs, sizes)
        mods = (bench or {}).get("modules")
        tmods = next((t["modules"] for t in torch_runs if "modules" in t), None)
        if mods:
            lines += [f"Per-module times at {mods['size']} (median ms; ours: CUDA events around the module's ops, "
                      "replayed as a graph; PyTorch: the submodule called on captured inputs)", "",
                      "| module | ours fp32 | PyTorch fp32 | ours fp16 | PyTorch fp16 | fp16 speed-up |",
                      "|---|---|---|---|---|---|"]
            labels = []
            for r in mods["rows"]:
                if r["module"] not in labels:
                    labels.append(r["module"])
            for label in labels:
                ours = {r["precision"]: r["median_ms"] for r in mods["rows"] if r["module"] == label}
                theirs = {}
                if tmods:
                    theirs = {r["dtype"]: r.get("median_ms") for r in tmods["rows"]
                              if r["module"] == label and r["status"] == "ok"}

                def f(v):
                    return f"{v:.3f}" if v is not None and v >= 0 else "-"

                sp = "-"
                if ours.get("fp16", -1) > 0 and theirs.get("fp16"):
                    sp = f"{theirs['fp16'] / ours['fp16']:.1f}x"
                lines.append(f"| {label} | {f(ours.get('fp32'))} | {f(theirs.get('fp32'))} | {f(ours.get('fp16'))} | "
                             f"{f(theirs.get('fp16'))} | {sp} |")
            lines.append("")
    lines += paths_table(d)
    lines += cpu_section(d)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


PATHS = [("hopper", "Hopper: sm_90a code (wgmma attention)"),
         ("ampere", "compute_80 PTX alone: the mma.sync path RTX 30/40/50 and A100 cards run, JIT on this card"),
         ("ampere-99k", "compute_80 PTX, 99 KB shared memory a block (RTX 30/40/50 limits)"),
         ("turing", "compute_75 PTX (the RTX 20 code: no mma.sync kernels, no bf16)"),
         ("turing-64k", "compute_75 PTX, 64 KB shared memory a block (RTX 20 limits)")]


def paths_table(d):
    """The consumer-card paths of one run (tests/gpu/run_gpu.sh stage pathbench): path-NAME-PRESET.json."""
    out = []
    for preset, title in (("small", "ViTMatte-S"), ("base", "ViTMatte-B")):
        runs = [(name, label, load(d / f"path-{name}-{preset}.json")) for name, label in PATHS]
        runs = [r for r in runs if r[2]]
        if not runs:
            continue
        sizes = []
        for _, _, b in runs:
            for r in b.get("full", []):
                if r["size"] not in sizes:
                    sizes.append(r["size"])
        out += [f"## {title} on each GPU code path (this card standing in for the consumer cards)", "",
                "The same card runs the code each kind of card gets: modules built from one PTX target alone, "
                "JIT-compiled here, optionally believing in a consumer card's shared-memory limit "
                "(VITMATTE_CUDA_SMEM_LIMIT). These are the kernels and tile sizes an RTX card runs, not an RTX "
                "card's times: its memory bandwidth and SM count are far below this card's.", "",
                "| path | " + " | ".join(f"{s} fp16" for s in sizes) + " | " + " | ".join(f"{s} fp32" for s in sizes)
                + " |", "|---|" + "---|" * (2 * len(sizes))]
        for name, label, b in runs:
            cells = [fmt_ours(ours_row(b, s, "fp16"), with_mem=False) for s in sizes]
            cells += [fmt_ours(ours_row(b, s, "fp32"), with_mem=False) for s in sizes]
            out.append(f"| {label} | " + " | ".join(cells) + " |")
        out.append("")
    return out


if __name__ == "__main__":
    raise SystemExit(main())
