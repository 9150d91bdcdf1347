#!/usr/bin/env bash
# The one script the GPU machine runs: the CUDA op suite, the module/end-to-end parity suite for fp32/fp16/bf16
# (tiny fixtures from the repo, ViTMatte-S/-B references generated there), our benchmark and transformers' in the
# same call on the same card, and bench/RESULTS.md. Logs and results go to $OUT.
#
#   tests/gpu/run_gpu.sh [--stages env,ops,parity,sb,bench,torch,results] [--quick]
#   (the optional stage `precision` runs tests/reference/precision_study.py for S and B; the optional stage `bundle`
#   runs tests/gpu/check_bundle.sh on the download bundle staged in .devdeps/bundle)
#
# Nothing is built there: the binaries come prebuilt in .devdeps/bin (tests/gpu/stage_devdeps.sh makes them here),
# with the shared libraries the device lacks in .devdeps/lib. Each stage logs to $OUT/<stage>.log; the last lines
# printed are a summary table. --quick shortens the benchmark (S only, fewer sizes and iterations).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
OUT=${OUT:-/tmp/vitmatte-gpu-out}
mkdir -p "$OUT"
stages=env,ops,parity,sb,bench,torch,results
quick=0
while [ $# -gt 0 ]; do
  case $1 in
    --stages) stages=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    *) echo "usage: $0 [--stages LIST] [--quick]" >&2; exit 2 ;;
  esac
done
has() { case ",$stages," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

bin=$root/.devdeps/bin
export LD_LIBRARY_PATH="$root/.devdeps/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# cuDNN / cuBLASLt may live in the Python wheels rather than in the toolkit folder
for lib in libcudnn.so.9 libcublasLt.so.13; do
  if ! ldconfig -p 2>/dev/null | grep -q "$lib" && [ ! -e /usr/local/cuda/lib64/$lib ]; then
    d=$(find / -xdev -name "$lib" -not -path '*/proc/*' 2>/dev/null | head -n 1)
    [ -n "$d" ] && export LD_LIBRARY_PATH="$(dirname "$d"):$LD_LIBRARY_PATH"
  fi
done
export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:/usr/local/cuda/lib64"
export VITMATTE_CUDA_MODULE=$bin/libvitmatte-cuda.so
export PYTHONUNBUFFERED=1
summary=$OUT/summary.txt
: >"$summary"
status() { echo "$1" | tee -a "$summary"; }
t_start=$(date +%s)
elapsed() { echo $(( $(date +%s) - t_start )); }

if has env; then
  {
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
    echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
    for f in "$bin"/*; do echo "== ldd $f"; ldd "$f" | grep -E "not found|cudnn|cublas|json|openblas|gomp" ; done
    python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)"
  } >"$OUT/env.log" 2>&1
  grep -q "not found" "$OUT/env.log" && status "env: MISSING LIBRARIES (see env.log)" || status "env: ok"
  head -n 2 "$OUT/env.log"
fi

if has ops; then
  "$bin/test_cuda_ops" "$bin/libvitmatte-cuda.so" >"$OUT/ops.log" 2>&1
  rc=$?
  grep -E "^FAIL" "$OUT/ops.log" | head -n 40
  status "ops: $(tail -n 1 "$OUT/ops.log") (rc $rc, $(elapsed) s)"
  "$bin/test_fallback" "$bin/libvitmatte-cuda.so" data/tiny >"$OUT/fallback.log" 2>&1
  rc=$?
  grep -E "^FAIL" "$OUT/fallback.log"
  status "device choice + replays: $(tail -n 1 "$OUT/fallback.log") (rc $rc)"
fi

parity() { # name model fixtures precision [extra args]
  local name=$1 model=$2 fx=$3 prec=$4
  shift 4
  "$bin/test_parity" --device cuda --precision "$prec" --model "$model" --fixtures "$fx" "$@" \
    >"$OUT/parity-$name-$prec.log" 2>&1
  local rc=$?
  grep -E "FAIL" "$OUT/parity-$name-$prec.log" | head -n 20
  status "parity $name $prec: $(grep -E '^parity:' "$OUT/parity-$name-$prec.log" | tail -n 1) (rc $rc, $(elapsed) s)"
}

if has parity; then
  for p in fp32 fp16 bf16; do parity tiny data/tiny data/fixtures $p; done
fi

if has sb; then
  # ViTMatte-S and -B: modules on the fixture input, and end-to-end cases at non-square, odd sizes
  for preset in small base; do
    python3 tests/reference/gen_fixtures.py --out "/tmp/fx-$preset" --preset "$preset" --modules --e2e \
      --sizes 100x150,333x250,517x389 --device cuda >"$OUT/fixtures-$preset.log" 2>&1 ||
      { status "fixtures $preset: FAILED (see fixtures-$preset.log)"; tail -n 5 "$OUT/fixtures-$preset.log"; continue; }
    for p in fp32 fp16 bf16; do parity "$preset" "/tmp/fx-$preset/model" "/tmp/fx-$preset" $p --no-dtype; done
    # the same fixtures on the CPU backend (all cores of the GPU machine)
    "$bin/test_parity" --device cpu --model "/tmp/fx-$preset/model" --fixtures "/tmp/fx-$preset" --no-dtype \
      >"$OUT/parity-$preset-cpu.log" 2>&1
    rc=$?
    status "parity $preset cpu fp32: $(grep -E '^parity:' "$OUT/parity-$preset-cpu.log" | tail -n 1) (rc $rc)"
  done
fi

if has bench; then
  iters=10
  sizes=512x512,1024x1024,2048x2048,3008x4000
  presets="small base"
  [ $quick -eq 1 ] && { iters=5; sizes=1024x1024,2048x2048,3008x4000; presets=small; }
  for preset in $presets; do
    [ -d "/tmp/fx-$preset/model" ] ||
      python3 tests/reference/gen_fixtures.py --out "/tmp/fx-$preset" --preset "$preset" --e2e --sizes 64x64 \
        --device cuda >"$OUT/model-$preset.log" 2>&1 || tail -n 5 "$OUT/model-$preset.log"
    "$bin/bench" --model "/tmp/fx-$preset/model" --label "$preset" --sizes "$sizes" --iters $iters \
      --precisions fp16,bf16,fp32 --modules-at 1024x1024 --json "$OUT/bench-$preset.json" \
      >"$OUT/bench-$preset.log" 2>&1
    status "bench $preset: rc $? ($(elapsed) s)"
    tail -n 30 "$OUT/bench-$preset.log"
  done
fi

if has torch; then
  if [ $quick -eq 1 ]; then
    python3 tests/reference/torch_bench.py --preset small --sizes 1024x1024,2048x2048 --modes fp16 \
      --modules-at none --json "$OUT/torch-small.json" >"$OUT/torch-small.log" 2>&1
  else
    python3 tests/reference/torch_bench.py --preset small --modes fp32,fp16,bf16 --json "$OUT/torch-small.json" \
      >"$OUT/torch-small.log" 2>&1
    python3 tests/reference/torch_bench.py --preset small --sizes 1024x1024 --modes compile-fp16 --modules-at none \
      --json "$OUT/torch-small-compile.json" >"$OUT/torch-small-compile.log" 2>&1
    python3 tests/reference/torch_bench.py --preset base --sizes 512x512,1024x1024,2048x2048 --modes fp32,fp16 \
      --modules-at none --json "$OUT/torch-base.json" >"$OUT/torch-base.log" 2>&1
  fi
  status "torch: done ($(elapsed) s)"
fi

# Not in the default stages (about a minute): where half precision loses alpha accuracy, emulated in transformers'
# model (the bf16 table of bench/RESULTS.md).
if has precision; then
  for preset in small base; do
    python3 tests/reference/precision_study.py --preset "$preset" --sizes 100x150,333x250,517x389,1024x1024 \
      --device cuda >"$OUT/precision-$preset.log" 2>&1
    status "precision study $preset: rc $?"
    grep -vi warning "$OUT/precision-$preset.log" | tail -n 12
  done
fi

# Not in the default stages: the download bundle's GPU path on this machine, from the archive made here with
# `sudo scripts/make-bundle.sh --cuda-module .devdeps/bin/libvitmatte-cuda.so --out .devdeps/bundle`.
if has bundle; then
  archive=$(ls "$root"/.devdeps/bundle/vitmatte-gimp-*-linux-x86_64.tar.gz 2>/dev/null | head -n 1)
  if [ -z "$archive" ]; then
    status "bundle: no archive in .devdeps/bundle"
  else
    tests/gpu/check_bundle.sh "$archive" "${TMPDIR:-/tmp}/vitmatte-bundle-gpu" data/tiny data/sample/image.png \
      data/sample/trimap.png >"$OUT/bundle.log" 2>&1
    rc=$?
    status "bundle: $(tail -n 1 "$OUT/bundle.log") (rc $rc)"
    grep -E '^(FAIL|NOTE)' "$OUT/bundle.log" | head -n 12
  fi
fi

if has results; then
  python3 bench/make_results.py --out "$OUT/RESULTS.md" "$OUT" && status "results: $OUT/RESULTS.md"
fi

echo
echo "== summary ($(elapsed) s)"
cat "$summary"
