#!/usr/bin/env bash
# check_bundle.sh - the download bundle's GPU path, on the GPU machine (a system the bundle was not built on): unpack
# the archive, give it this machine's cuBLAS/cuDNN through its cuda/ folder as README.txt says, and run the bundled
# CLI on CUDA in fp32 and fp16 against its own CPU alpha. Owns the bundle stage of tests/gpu/run_gpu.sh.
#
# Usage: tests/gpu/check_bundle.sh ARCHIVE WORK_DIR MODEL_DIR IMAGE TRIMAP
# Prints one line per check and "bundle-gpu: N passed, N failed". Needs python3 with numpy and Pillow (the GPU
# machine has them for transformers).
set -uo pipefail

ARCHIVE=${1:?ARCHIVE} WORK=${2:?WORK_DIR} MODEL=${3:?MODEL_DIR} IMAGE=${4:?IMAGE} TRIMAP=${5:?TRIMAP}
PASSED=0
FAILED=0
check() { local rc=$1; shift; if [ "$rc" = 0 ]; then echo "PASS $*"; PASSED=$((PASSED + 1)); else echo "FAIL $*"; FAILED=$((FAILED + 1)); fi; }
finish() { echo "bundle-gpu: $PASSED passed, $FAILED failed"; [ "$FAILED" = 0 ]; exit $?; }

rm -rf "$WORK"
mkdir -p "$WORK"
tar -xzf "$ARCHIVE" -C "$WORK" || { check 1 "unpack $ARCHIVE"; finish; }
P=$WORK/vitmatte-gimp
[ -f "$P/libvitmatte-cuda.so" ] || { check 1 "$(basename "$ARCHIVE") has the CUDA module"; finish; }

# The bundle is built for systems that have GIMP 3 (README.txt: "glibc X or newer"); an older GPU machine cannot run
# it at all, which is said as such instead of as a run of failures.
needs=$(sed -n 's/.*glibc \([0-9.]*\) or newer.*/\1/p' "$P/README.txt" | head -n 1)
have=$(ldd --version | head -n 1 | awk '{print $NF}')
if [ -n "$needs" ] && [ "$(printf '%s\n%s\n' "$needs" "$have" | sort -V | head -n 1)" != "$needs" ]; then
  echo "NOTE this machine has glibc $have; the bundle needs $needs (README.txt): not run here"
  finish
fi

# This machine's cuBLAS 13 / cuDNN 9 / NVRTC 13, wherever they are (toolkit, system, Python wheels), linked into
# cuda/ (links are fine outside Flatpak). Nothing else may help: LD_LIBRARY_PATH and VITMATTE_CUDA_MODULE are unset.
for pattern in 'libcublas.so.13*' 'libcublasLt.so.13*' 'libcudnn*.so.9*' 'libnvrtc*.so.13*'; do
  find / -xdev -name "$pattern" -not -path '/proc/*' -not -path "$WORK/*" 2>/dev/null | while read -r f; do
    [ -e "$P/cuda/$(basename "$f")" ] || ln -s "$f" "$P/cuda/$(basename "$f")"
  done
done
echo "NOTE cuda/: $(cd "$P/cuda" && ls | tr '\n' ' ')"
run() { env -u LD_LIBRARY_PATH -u VITMATTE_CUDA_MODULE "$@"; }
missing=$(run ldd "$P/libvitmatte-cuda.so" | grep 'not found')
[ -z "$missing" ]
check $? "ldd libvitmatte-cuda.so: every library found through its run path ${missing:+($missing)}"
# (Not the plug-in: this machine has no GIMP, so libgimp is missing here by design.)
missing=$(run ldd "$P/vitmatte" 2>&1 | grep -E 'not found')
[ -z "$missing" ]
check $? "ldd vitmatte on this machine (glibc $have): every library found ${missing:+($missing)}"

for run_case in cpu:fp32 cuda:fp32 cuda:fp16; do
  device=${run_case%%:*} precision=${run_case#*:}
  run "$P/vitmatte" --model "$MODEL" --device "$device" --precision "$precision" "$IMAGE" "$TRIMAP" \
    -o "$WORK/alpha-$device-$precision.tif" >"$WORK/$device-$precision.log" 2>&1
  check $? "bundled CLI on $device $precision: $(tail -n 1 "$WORK/$device-$precision.log")"
done
# fp32 on the GPU matches the CPU as the parity tests do (they hold 1e-5 against transformers); fp16 within the 2e-3
# goal of the README.
verdicts=$(python3 - "$WORK" 2>&1 <<'PY'
import sys
import numpy as np
from PIL import Image
work = sys.argv[1]
for precision, tol in (("fp32", 1e-4), ("fp16", 2e-3)):
    try:
        cpu = np.asarray(Image.open(f"{work}/alpha-cpu-fp32.tif"), dtype=np.float64)
        gpu = np.asarray(Image.open(f"{work}/alpha-cuda-{precision}.tif"), dtype=np.float64)
        d = float(np.abs(gpu - cpu).max())
        ok = gpu.shape == cpu.shape and d <= tol
        print(f"{'PASS' if ok else 'FAIL'} bundled CLI: CUDA {precision} alpha vs CPU fp32, max diff {d:.2e} (<= {tol:g})")
    except Exception as e:  # a missing output was reported above; say so here too
        print(f"FAIL bundled CLI: CUDA {precision} alpha vs CPU fp32 ({e})")
PY
)
printf '%s\n' "$verdicts"
PASSED=$((PASSED + $(grep -c '^PASS' <<<"$verdicts")))
FAILED=$((FAILED + $(grep -c '^FAIL' <<<"$verdicts")))
[ "$(grep -cE '^(PASS|FAIL)' <<<"$verdicts")" = 2 ] || { echo "FAIL the comparison did not run: $verdicts"; FAILED=$((FAILED + 1)); }
finish
