#!/usr/bin/env python3
"""hold_memory.py - takes GPU memory in another process, as the desktop, GIMP's display and other programs do on a
consumer card, so that at most LEAVE_MIB stay free; holds it until its standard input closes.

Usage: hold_memory.py LEAVE_MIB   (prints "holding N MiB, F MiB free of T MiB" once the memory is taken)"""
import sys

import torch


def main() -> int:
    leave = int(sys.argv[1]) << 20
    free, total = torch.cuda.mem_get_info()
    hold = free - leave
    ballast = torch.empty(max(hold, 0), dtype=torch.uint8, device="cuda") if hold > 0 else None
    free_now, _ = torch.cuda.mem_get_info()
    print(f"holding {max(hold, 0) >> 20} MiB, {free_now >> 20} MiB free of {total >> 20} MiB", flush=True)
    sys.stdin.read()
    del ballast
    return 0


if __name__ == "__main__":
    sys.exit(main())
