#!/usr/bin/env python3
"""Times ViTMatte-S's fp32 decoder convolutions (TF32 off) in PyTorch/cuDNN by memory layout and by method: why is
PyTorch's fp32 fusion 1 three times faster than ours (issue 14; ours runs cuDNN on NHWC with exact algorithms)?

    python3 tests/reference/torch_conv_layouts.py [--sizes 1024,2048] [--json out.json]

Per convolution (fusion 0..3 and the head's 3x3 at each size): cuDNN on NCHW and on channels_last (NHWC), each with
the heuristic's choice and with cudnn.benchmark (timed choice), and im2col (F.unfold) + one fp32 matrix product.
Median of 20 CUDA-event-timed calls after 5 warm-up calls.
"""
import argparse
import json

import torch
import torch.nn.functional as F

from torch_bench import time_cuda  # also turns TF32 off


# (name, input channels, output channels, stride of the output grid vs the image)
CONVS = [("fusion 0", 384 + 192, 256, 8), ("fusion 1", 256 + 96, 128, 4), ("fusion 2", 128 + 48, 64, 2),
         ("fusion 3", 64 + 4, 32, 1), ("head conv", 32, 16, 1)]


def timed(fn):
    return time_cuda(fn, warmup=5, iters=20)["median_ms"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1024,2048")
    ap.add_argument("--json")
    args = ap.parse_args()
    rows = []
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}, cuDNN {torch.backends.cudnn.version()}")
    print(f"{'size':>5} {'conv':10} {'GFLOP':>6} {'NCHW':>8} {'NCHW bm':>8} {'NHWC':>8} {'NHWC bm':>8} {'im2col':>8}")
    for size in [int(s) for s in args.sizes.split(",")]:
        for name, cin, cout, div in CONVS:
            h = w = size // div
            x = torch.randn(1, cin, h, w, device="cuda")
            wt = torch.randn(cout, cin, 3, 3, device="cuda") * 0.05
            r = {"size": size, "conv": name, "cin": cin, "cout": cout, "h": h, "w": w,
                 "gflop": 2.0 * h * w * 9 * cin * cout / 1e9}
            ref = F.conv2d(x.double(), wt.double(), padding=1)
            for layout, fmt in (("NCHW", torch.contiguous_format), ("NHWC", torch.channels_last)):
                xl, wl = x.contiguous(memory_format=fmt), wt.contiguous(memory_format=fmt)
                for bm in (False, True):
                    torch.backends.cudnn.benchmark = bm
                    key = layout + (" bm" if bm else "")
                    r[key] = timed(lambda: F.conv2d(xl, wl, padding=1))
                    r[key + " max err"] = (F.conv2d(xl, wl, padding=1).double() - ref).abs().max().item()
            torch.backends.cudnn.benchmark = False
            wm = wt.reshape(cout, -1)

            def im2col():
                cols = F.unfold(x, 3, padding=1)  # [1, cin*9, h*w]
                return (wm @ cols[0]).reshape(1, cout, h, w)
            try:
                r["im2col"] = timed(im2col)
                r["im2col max err"] = (im2col().double() - ref).abs().max().item()
            except torch.cuda.OutOfMemoryError:
                r["im2col"] = float("nan")
            del ref
            torch.cuda.empty_cache()
            rows.append(r)
            print(f"{size:5d} {name:10} {r['gflop']:6.1f} {r['NCHW']:8.3f} {r['NCHW bm']:8.3f} {r['NHWC']:8.3f} "
                  f"{r['NHWC bm']:8.3f} {r['im2col']:8.3f}   max err {r['NCHW max err']:.1e} {r['NHWC max err']:.1e}",
                  flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": torch.cuda.get_device_name(), "torch": torch.__version__,
                       "cudnn": torch.backends.cudnn.version(), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
