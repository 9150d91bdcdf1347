#!/usr/bin/env bash
# The one script the GPU machine runs: the CUDA op suite, the module/end-to-end parity suite for fp32/fp16/bf16
# (tiny fixtures from the repo, ViTMatte-S/-B references generated there), our benchmark and transformers' in the
# same call on the same card, and bench/RESULTS.md. Logs and results go to $OUT.
#
#   tests/gpu/run_gpu.sh [--stages env,ops,parity,sb,bench,torch,results] [--quick]
#   Optional stages: `precision` runs tests/reference/precision_study.py for S and B; `paths` runs the op and parity
#   suites with the modules built from compute_80 and compute_75 PTX alone (what RTX 30/40 and RTX 20 cards run),
#   also under those cards' shared-memory limits; `pathbench` times those paths beside the Hopper one; `fit` checks
#   the fallback when the card's memory is mostly taken and measures the largest image for 6/8/12 GB cards;
#   `missing` hides cuDNN / cuBLAS from the CLI; `bundle` runs tests/gpu/check_bundle.sh on the download bundle
#   staged in .devdeps/bundle.
#   `foreground` tests the GPU's foreground estimation and times it against the CPU at 12 and 24 MP.
#   `cpu` times ViTMatte-S on the machine's CPU, ours against PyTorch and ONNX Runtime at 1-16 threads (about
#   8 minutes). `cpu1` times the peers at 1 thread (which `cpu` leaves for last); `cpupair` times ours and ONNX
#   Runtime at 1024^2 on two CPUs in alternating rounds (about 3 minutes), after the CPUs' multiply-add peak.
#   `fp32conv` times fp32 with Winograd/FFT allowed in cuDNN (VITMATTE_CUDA_CONV_ALGO=any) and checks its parity.
#   Issue 14, GPU fp32: `fp32ops` the fp32 op suite (the register-tiled attention kernel, every convolution layout);
#   `fp32var` S's (and with VM_FP32VAR_PRESETS B's) fp32 benchmark under each switch (VITMATTE_CUDA_ATTN_ROWS,
#   VITMATTE_CUDA_CONV_LAYOUT, VITMATTE_CUDA_CONV_WORKSPACE_MB, VITMATTE_CUDA_BAND_BYTES, VITMATTE_CUDA_CONV_ALGO);
#   `fp32wide` fp32 parity with the defaults and switches on images over 1024 px wide (fx-wide); `fp32prof` Nsight
#   Compute's stall and throughput sections for the fp32 attention kernel at 1024^2 and 2048^2.
#   `abenv` times the fp16 forward on each path without and with the switch VM_AB_ENV (NAME=VALUE), alternating.
#   `hostio` times vm_predict with the host-side pre-processing (the path before the device-side input).
#   `fallback` is the ops stage's device-choice and replay test alone.
#   `input` checks the 8-bit input upload and the alpha download on the Hopper and Turing-PTX modules.
#   `threads` uses one CUDA context from several threads in turn (the GIMP preview's pattern).
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
# appended to: a plan may run this script more than once into one $OUT (last_call.sh s6b)
echo "== run_gpu.sh --stages $stages ($(date -u +%H:%M:%S))" >>"$summary"
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
  # shellcheck disable=SC2086 # VM_OPS_ARGS: e.g. "fp16 bf16 attention" (also the paths stage's)
  "$bin/test_cuda_ops" "$bin/libvitmatte-cuda.so" ${VM_OPS_ARGS:-} >"$OUT/ops.log" 2>&1
  rc=$?
  grep -E "^FAIL" "$OUT/ops.log" | head -n 40
  status "ops: $(tail -n 1 "$OUT/ops.log") (rc $rc, $(elapsed) s)"
fi
if has ops || has fallback; then
  "$bin/test_fallback" "$bin/libvitmatte-cuda.so" data/tiny >"$OUT/fallback.log" 2>&1
  rc=$?
  grep -E "^FAIL" "$OUT/fallback.log"
  status "device choice + replays: $(tail -n 1 "$OUT/fallback.log") (rc $rc)"
fi

parity() { # name model fixtures precision [extra args]; bf16 is held to PyTorch's own bf16 error (torch_bf16_for)
  local name=$1 model=$2 fx=$3 prec=$4
  shift 4
  [ "$prec" = bf16 ] && set -- "$@" --torch-bf16 "$(torch_bf16_file "$name")"
  "$bin/test_parity" --device cuda --precision "$prec" --model "$model" --fixtures "$fx" "$@" \
    >"$OUT/parity-$name$path_suffix-$prec.log" 2>&1
  local rc=$?
  grep -E "FAIL" "$OUT/parity-$name$path_suffix-$prec.log" | head -n 20
  status "parity $name$path_suffix $prec: $(grep -E '^parity:' "$OUT/parity-$name$path_suffix-$prec.log" | tail -n 1) (rc $rc, $(elapsed) s)"
}
if has input; then
  # the 8-bit input pre-processed on the GPU and the alpha's checked download (vm_predict's path), on the Hopper
  # module and the Turing PTX one (the code every older card runs)
  for m in "$bin/libvitmatte-cuda.so" "$bin/ptx75/libvitmatte-cuda.so"; do
    log="$OUT/input-$(basename "$(dirname "$m")").log" # input-bin.log, input-ptx75.log
    "$bin/test_cuda_ops" "$m" input >"$log" 2>&1
    rc=$?
    grep -E "^FAIL" "$log" | head -n 20
    status "input ops ${m#$bin/}: $(tail -n 1 "$log") (rc $rc, $(elapsed) s)"
  done
fi

path_suffix=""

# The consumer-card paths: name, module, shared memory per block the module believes in (empty: the card's)
consumer_paths=("ampere $bin/ptx80/libvitmatte-cuda.so -" "ampere-99k $bin/ptx80/libvitmatte-cuda.so 101376"
                "turing $bin/ptx75/libvitmatte-cuda.so -" "turing-64k $bin/ptx75/libvitmatte-cuda.so 65536")
# VM_PATHS="ampere-99k turing-64k" restricts the paths stages to those names
if [ -n "${VM_PATHS:-}" ]; then
  keep=()
  for entry in "${consumer_paths[@]}"; do
    case " $VM_PATHS " in *" ${entry%% *} "*) keep+=("$entry") ;; esac
  done
  consumer_paths=("${keep[@]}")
fi
# with_path NAME MODULE SMEM CMD...: CMD with that module and limit
with_path() {
  local module=$2 smem=$3
  shift 3
  if [ "$smem" = - ]; then
    env VITMATTE_CUDA_MODULE="$module" "$@"
  else
    env VITMATTE_CUDA_MODULE="$module" VITMATTE_CUDA_SMEM_LIMIT="$smem" "$@"
  fi
}
bench_model() { # preset: a checkpoint of that size with random weights (timings), made once per machine
  [ -d "/tmp/fx-$1/model" ] ||
    python3 tests/reference/gen_fixtures.py --out "/tmp/fx-$1" --preset "$1" --e2e --sizes 64x64 \
      --device cuda >"$OUT/model-$1.log" 2>&1 || tail -n 5 "$OUT/model-$1.log"
}
fixtures_for() { # preset: ViTMatte-S/-B references (modules, odd-size end-to-end cases) made once per machine
  [ -f "/tmp/fx-$1/.complete" ] && return 0
  python3 tests/reference/gen_fixtures.py --out "/tmp/fx-$1" --preset "$1" --modules --e2e \
    --sizes 100x150,333x250,517x389 --device cuda >"$OUT/fixtures-$1.log" 2>&1 && touch "/tmp/fx-$1/.complete"
}
# PyTorch's bf16 model on a fixture set's alpha references: its alpha error is the bar of our bf16 parity rows
# (issue 14). Made once per machine and fixture set (again when e2e.safetensors is newer); on failure the bf16 run
# shows the missing file as a failed row.
torch_bf16_file() { # name: the file its bf16 parity runs are given
  if [ "$1" = tiny ]; then echo /tmp/torch-bf16-tiny.safetensors; else echo "/tmp/fx-$1/torch-bf16.safetensors"; fi
}
torch_bf16_for() { # name model fixtures
  local file log=$OUT/torch-bf16-$1.log
  file=$(torch_bf16_file "$1")
  [ -f "$file" ] && [ "$file" -nt "$3/e2e.safetensors" ] && return 0
  rm -f "$file"
  if python3 tests/reference/torch_bf16_alpha.py --model "$2" --fixtures "$3" --out "$file" --device cuda >"$log" 2>&1
  then status "torch bf16 $1: $(grep -E '^PyTorch bf16 max' "$log")"
  else status "torch bf16 $1: FAILED (see torch-bf16-$1.log)"; tail -n 5 "$log"; fi
}

if has parity; then
  precs=${VM_PARITY_PRECISIONS:-fp32 fp16 bf16}
  case " $precs " in *" bf16 "*) torch_bf16_for tiny data/tiny data/fixtures ;; esac
  for p in $precs; do parity tiny data/tiny data/fixtures $p; done
fi

if has sb; then
  # ViTMatte-S and -B: modules on the fixture input, and end-to-end cases at non-square, odd sizes
  for preset in ${VM_SB_PRESETS:-small base}; do
    fixtures_for "$preset" ||
      { status "fixtures $preset: FAILED (see fixtures-$preset.log)"; tail -n 5 "$OUT/fixtures-$preset.log"; continue; }
    torch_bf16_for "$preset" "/tmp/fx-$preset/model" "/tmp/fx-$preset"
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
  presets=${VM_BENCH_PRESETS:-small base}
  [ $quick -eq 1 ] && { iters=5; sizes=1024x1024,2048x2048,3008x4000; presets=small; }
  for preset in $presets; do
    bench_model "$preset"
    "$bin/bench" --model "/tmp/fx-$preset/model" --label "$preset" --sizes "$sizes" --iters $iters \
      --precisions fp16,bf16,fp32 --modules-at 1024x1024 --json "$OUT/bench-$preset.json" \
      >"$OUT/bench-$preset.log" 2>&1
    status "bench $preset: rc $? ($(elapsed) s)"
    tail -n 30 "$OUT/bench-$preset.log"
  done
fi

if has fp32ops; then
  log=$OUT/ops-fp32var.log
  # VM_OPS_MODULE: another build of the module (a kernel variant staged beside the default one)
  "$bin/test_cuda_ops" "${VM_OPS_MODULE:-$bin/libvitmatte-cuda.so}" fp32 ${VM_OPS_ARGS:-} >"$log" 2>&1
  rc=$?
  grep -E "^FAIL" "$log" | head -n 20
  status "ops fp32 (every fp32 attention kernel, NCHW bands, 3xTF32 products): $(tail -n 1 "$log") (rc $rc, $(elapsed) s)"
fi

if has fp32var; then
  # name and switches of each variant (default: the 3xTF32 attention kernel on data-centre cards, stride-1 3x3 convolutions in
  # NCHW bands of up to 64 MB made equal, 256 MB workspaces); VM_FP32VAR_VARIANTS="default nhwc ..." picks some by name, VM_FP32VAR_PRESETS
  # the models (small; base adds ViTMatte-B)
  b256=268435456
  for preset in ${VM_FP32VAR_PRESETS:-small}; do
    bench_model "$preset"
    for v in "default:" "nhwc:VITMATTE_CUDA_CONV_LAYOUT=nhwc" "rows-off:VITMATTE_CUDA_ATTN_ROWS=off" \
      "nchw-all:VITMATTE_CUDA_CONV_LAYOUT=nchw-all" "ws64:VITMATTE_CUDA_CONV_WORKSPACE_MB=64" \
      "ws2g:VITMATTE_CUDA_CONV_WORKSPACE_MB=2048" "band64:VITMATTE_CUDA_BAND_BYTES=67108864" \
      "band256:VITMATTE_CUDA_BAND_BYTES=$b256" "find:VITMATTE_CUDA_CONV_ALGO=find" "ffma:VITMATTE_CUDA_ATTN_F32=ffma" "blocks0:VITMATTE_CUDA_ATTN_F32_BLOCKS=0" \
      "gemmtc:VITMATTE_CUDA_GEMM_F32=tc" "cublas:VITMATTE_CUDA_GEMM_F32=cublas" \
      "rows4:VITMATTE_CUDA_ATTN_F32=ffma VITMATTE_CUDA_ATTN_ROWS=4" \
      "rows8:VITMATTE_CUDA_ATTN_F32=ffma VITMATTE_CUDA_ATTN_ROWS=8"; do
      name=${v%%:*}
      case " ${VM_FP32VAR_VARIANTS:-$name} " in *" $name "*) ;; *) continue ;; esac
      [ "$preset" = small ] || name=$preset-$name
      env ${v#*:} "$bin/bench" --model "/tmp/fx-$preset/model" --label "$preset-$name" --sizes ${VM_FP32VAR_SIZES:-1024x1024,2048x2048} \
        --iters 5 --precisions fp32 --modules-at ${VM_FP32VAR_MODULES_AT:-1024x1024} --json "$OUT/fp32var-$name.json" \
        >"$OUT/fp32var-$name.log" 2>&1
      status "bench fp32 $name: rc $? $(grep -E '^ *fp32 +[0-9]+x[0-9]+ +forward' "$OUT/fp32var-$name.log" | awk '{printf "%s %s ms; ", $2, $4}')$(grep -E 'fp32 (convstream|fusion [0-3]|head|global layer 2|windowed layer 0)' "$OUT/fp32var-$name.log" | awk '{printf "%s %s %s; ", $2, $3, $NF}')"
    done
  done
fi

if has fp32prof; then
  # Nsight Compute on the register-tiled fp32 attention kernel (S: 4 rows a thread at 1024^2, 8 at 2048^2): where its
  # cycles stall (issue 14: ~18 TFLOP/s at 1024^2, ~26 at 2048^2); one launch each, clocks left alone (METHOD.md)
  bench_model small
  for sz in ${VM_PROF_SIZES:-1024x1024 2048x2048}; do
    VITMATTE_CUDA_GRAPHS=0 env ${VM_PROF_ENV:-} ncu --clock-control none -k regex:attention_f32 -c 1 --section SpeedOfLight \
      --section WarpStateStats --section SchedulerStats --section Occupancy --section ComputeWorkloadAnalysis \
      --section MemoryWorkloadAnalysis --section InstructionStats --section LaunchStats \
      "$bin/bench" --model /tmp/fx-small/model --label prof --sizes "$sz" --iters 1 --warmup 0 --precisions fp32 \
      --modules-at none >"$OUT/ncu-attention-$sz${VM_PROF_ENV:+-env}.txt" 2>&1
    status "ncu fp32 attention $sz ${VM_PROF_ENV:-}: rc $? $(grep -E 'Duration|Compute \(SM\) Throughput|Issue Slots Busy|No Eligible' "$OUT/ncu-attention-$sz${VM_PROF_ENV:+-env}.txt" | tr -s ' ' | head -n 4 | tr '\n' ';')"
  done
fi

if has fp32wide; then
  # parity: transformers' fp32 alpha on images over 1024 px wide (global layers 66 and 132 tokens wide, which the
  # register-tiled kernel takes), with the defaults, every 3x3 convolution in NCHW, and the generic kernel in NHWC
  [ -f /tmp/fx-wide/.complete ] ||
    { python3 tests/reference/gen_fixtures.py --out /tmp/fx-wide --preset small --modules --e2e \
      --sizes 1040x1100,700x2100 --device cuda >"$OUT/fixtures-wide.log" 2>&1 && touch /tmp/fx-wide/.complete; } ||
    tail -n 5 "$OUT/fixtures-wide.log"
  parity wide /tmp/fx-wide/model /tmp/fx-wide fp32 --no-dtype
  # the register-tiled CUDA-core kernel where the default runs the 3xTF32 one (data-centre cards)
  VITMATTE_CUDA_ATTN_F32=ffma path_suffix=-ffma parity wide /tmp/fx-wide/model /tmp/fx-wide fp32 --no-dtype
  # every product on cuBLAS (the default takes the 3xTF32 products from 4096 rows on data-centre cards: all of the
  # encoder's here), and every product in 3xTF32 (the smaller ones too)
  VITMATTE_CUDA_GEMM_F32=cublas path_suffix=-cublas parity wide /tmp/fx-wide/model /tmp/fx-wide fp32 --no-dtype
  VITMATTE_CUDA_GEMM_F32=tc path_suffix=-gemmtc parity wide /tmp/fx-wide/model /tmp/fx-wide fp32 --no-dtype
  if [ -z "${VM_FP32VAR_QUICK:-}" ]; then
    VITMATTE_CUDA_CONV_LAYOUT=nchw-all path_suffix=-nchwall parity wide /tmp/fx-wide/model /tmp/fx-wide fp32 --no-dtype
    VITMATTE_CUDA_ATTN_ROWS=off VITMATTE_CUDA_CONV_LAYOUT=nhwc path_suffix=-old \
      parity wide /tmp/fx-wide/model /tmp/fx-wide fp32 --no-dtype
  fi
fi

if has hostio; then
  # vm_predict with the pre-processing and the crop on the host (VITMATTE_CUDA_HOST_IO=1, the path before the
  # device-side input and alpha), beside the bench stage's numbers
  VITMATTE_CUDA_HOST_IO=1 "$bin/bench" --model /tmp/fx-small/model --label small-host-io \
    --sizes 1024x1024,2048x2048,3008x4000 --iters 10 --precisions fp16 --modules-at none --json "$OUT/hostio-small.json" >"$OUT/hostio-small.log" 2>&1
  status "bench small, host pre-processing: rc $? $(grep -E '^ *fp16 +[0-9]+x[0-9]+ +forward' "$OUT/hostio-small.log" | awk '{printf "%s forward %s predict %s ms; ", $2, $4, $9}')"
fi

if has torch; then
  if [ $quick -eq 1 ]; then
    python3 tests/reference/torch_bench.py --preset small --sizes 1024x1024,2048x2048 --modes fp16 \
      --modules-at none --json "$OUT/torch-small.json" >"$OUT/torch-small.log" 2>&1
  else
    python3 tests/reference/torch_bench.py --preset small --modes fp32,fp16,bf16 --json "$OUT/torch-small.json" \
      >"$OUT/torch-small.log" 2>&1
    python3 tests/reference/torch_bench.py --preset base --sizes 512x512,1024x1024,2048x2048 --modes fp32,fp16 \
      --modules-at none --json "$OUT/torch-base.json" >"$OUT/torch-base.log" 2>&1
    # torch.compile fp16 at every size (compiled afresh per size: about a minute each); TORCH_COMPILE_SIZES narrows it
    python3 tests/reference/torch_bench.py --preset small --modes compile-fp16 --modules-at none \
      --sizes "${TORCH_COMPILE_SIZES:-512x512,1024x1024,2048x2048,3008x4000}" \
      --json "$OUT/torch-small-compile.json" >"$OUT/torch-small-compile.log" 2>&1
    python3 tests/reference/torch_bench.py --preset base --modes compile-fp16 --modules-at none \
      --sizes "${TORCH_COMPILE_SIZES:-512x512,1024x1024,2048x2048}" \
      --json "$OUT/torch-base-compile.json" >"$OUT/torch-base-compile.log" 2>&1
  fi
  status "torch: done ($(elapsed) s)"
fi

if has archs; then
  # what the default module carries: machine code per architecture, and PTX for newer cards
  { cuobjdump --list-elf "$bin/libvitmatte-cuda.so" | sed -E 's/.*\.(sm_[0-9a-z]+)\.cubin$/\1/' | sort | uniq -c
    cuobjdump --list-ptx "$bin/libvitmatte-cuda.so" | sed -E 's/.*\.(sm_[0-9a-z]+)\.ptx$/PTX \1/' | sort | uniq -c
  } >"$OUT/archs.log" 2>&1
  status "archs: $(awk '{printf "%s%s(%s) ", $2, ($3 ? " " $3 : ""), $1}' "$OUT/archs.log")"
fi

if has paths; then
  for entry in "${consumer_paths[@]}"; do
    read -r name module smem <<<"$entry"
    # shellcheck disable=SC2086 # VM_OPS_ARGS: e.g. "attention" for the attention cases alone (every kernel)
    with_path "$name" "$module" "$smem" "$bin/test_cuda_ops" "$module" ${VM_OPS_ARGS:-} >"$OUT/ops-$name.log" 2>&1
    rc=$?
    grep -E "^FAIL" "$OUT/ops-$name.log" | head -n 20
    status "ops $name: $(head -n 3 "$OUT/ops-$name.log" | grep -m1 '^== fp32 on' | sed 's/^== fp32 on //') $(tail -n 1 "$OUT/ops-$name.log") (rc $rc, $(elapsed) s)"
    precs=${VM_PATH_PRECS:-fp32 fp16 bf16}
    case $name in turing*) precs=${precs/bf16/} ;; esac
    path_suffix="-$name"
    export VITMATTE_CUDA_MODULE=$module
    [ "$smem" = - ] && unset VITMATTE_CUDA_SMEM_LIMIT || export VITMATTE_CUDA_SMEM_LIMIT=$smem
    case " $precs " in *" bf16 "*) torch_bf16_for tiny data/tiny data/fixtures ;; esac
    for p in $precs; do parity tiny data/tiny data/fixtures $p; done
    for preset in ${VM_PATH_PRESETS:-small base}; do
      fixtures_for "$preset" || { status "fixtures $preset: FAILED"; continue; }
      for p in fp32 fp16; do parity "$preset" "/tmp/fx-$preset/model" "/tmp/fx-$preset" $p --no-dtype; done
    done
    export VITMATTE_CUDA_MODULE=$bin/libvitmatte-cuda.so
    unset VITMATTE_CUDA_SMEM_LIMIT
    path_suffix=""
  done
fi

if has pathbench; then
  # the same benchmark on each path, beside the Hopper one, in this call (one JSON per path and preset)
  for preset in ${VM_BENCH_PRESETS:-small base}; do
    fixtures_for "$preset" || continue
    sizes=${VM_BENCH_SIZES:-1024x1024,2048x2048,3008x4000}
    [ $preset = base ] && sizes=1024x1024,2048x2048
    for entry in "hopper $bin/libvitmatte-cuda.so -" "${consumer_paths[@]}"; do
      read -r name module smem <<<"$entry"
      with_path "$name" "$module" "$smem" "$bin/bench" --model "/tmp/fx-$preset/model" --label "$preset-$name" \
        --sizes "$sizes" --iters 5 --precisions ${VM_BENCH_PRECISIONS:-fp16,fp32} --modules-at none --json "$OUT/path-$name-$preset.json" \
        >"$OUT/path-$name-$preset.log" 2>&1
      status "bench $preset $name: rc $? ($(elapsed) s) $(grep -E '^ *fp16 +[0-9]+x[0-9]+ +forward' "$OUT/path-$name-$preset.log" | awk '{printf "%s %s ms; ", $2, $4}')"
    done
  done
fi

if has abenv; then
  # A switch's effect on each path, measured in one call: the same fp16 benchmark without and with VM_AB_ENV
  # (NAME=VALUE, e.g. VITMATTE_CUDA_ATTN_SMEM=compact) in alternating rounds, twice; VM_AB_HOPPER=0 leaves out the
  # Hopper module (a switch for Turing code only)
  bench_model small
  ab_paths=("${consumer_paths[@]}")
  [ "${VM_AB_HOPPER:-1}" = 0 ] || ab_paths=("hopper $bin/libvitmatte-cuda.so -" "${ab_paths[@]}")
  for entry in "${ab_paths[@]}"; do
    read -r name module smem <<<"$entry"
    for round in 1 2; do
      for which in default switch; do
        envs=()
        [ $which = switch ] && envs=("${VM_AB_ENV:?VM_AB_ENV names the switch}")
        with_path "$name" "$module" "$smem" env "${envs[@]}" "$bin/bench" --model /tmp/fx-small/model --label "small-$name-$which" \
          --sizes "${VM_BENCH_SIZES:-1024x1024,2048x2048,3008x4000}" --iters 5 --precisions fp16 --modules-at none \
          --json "$OUT/ab-$name-$which-$round.json" >"$OUT/ab-$name-$which-$round.log" 2>&1
        status "ab $name $which $round: rc $? $(grep -E '^ *fp16 +[0-9]+x[0-9]+ +forward' "$OUT/ab-$name-$which-$round.log" | awk '{printf "%s %s ms; ", $2, $4}')"
      done
    done
  done
fi

if has convfind; then
  # fp32: cuDNN's algorithms timed once per shape (VITMATTE_CUDA_CONV_ALGO=find) against the heuristic's pick,
  # with per-module times (issue 14: the decoder's fp32 convolutions)
  VITMATTE_CUDA_CONV_ALGO=find "$bin/bench" --model /tmp/fx-small/model --label small-find \
    --sizes 1024x1024,2048x2048 --iters 5 --precisions fp32,fp16 --modules-at 1024x1024 --json "$OUT/find-small.json" \
    >"$OUT/find-small.log" 2>&1
  status "bench small conv-algo find: rc $? $(grep -E '^ *fp32 +[0-9]+x[0-9]+ +forward' "$OUT/find-small.log" | awk '{printf "%s %s ms; ", $2, $4}')"
fi

if has fp32conv; then
  # issue 14, GPU fp32: the find mode was no faster (2026-12-07), so is PyTorch's 3x faster fusion 1 (1.52 vs 4.74
  # ms) its use of Winograd/FFT, which we exclude? VITMATTE_CUDA_CONV_ALGO=any lets them compete: the same bench,
  # then fp32 parity (tiny, S) with them, which says whether they could be the default
  fixtures_for small
  VITMATTE_CUDA_CONV_ALGO=any "$bin/bench" --model /tmp/fx-small/model --label small-any-algo \
    --sizes 1024x1024,2048x2048 --iters 5 --precisions fp32 --modules-at 1024x1024 --json "$OUT/anyalgo-small.json" \
    >"$OUT/anyalgo-small.log" 2>&1
  status "bench small conv-algo any: rc $? $(grep -E '^ *fp32 +[0-9]+x[0-9]+ +forward' "$OUT/anyalgo-small.log" | awk '{printf "%s %s ms; ", $2, $4}')"
  VITMATTE_CUDA_CONV_ALGO=any path_suffix=-anyalgo parity tiny data/tiny data/fixtures fp32
  VITMATTE_CUDA_CONV_ALGO=any path_suffix=-anyalgo parity small /tmp/fx-small/model /tmp/fx-small fp32 --no-dtype
fi

if has fit; then
  fixtures_for small
  # another process leaves 1000 MiB free; our own CUDA context and weights take about 600 MiB of it on an H100, so a
  # 2048^2 image (about 800 MiB more for ViTMatte-S fp16) does not fit and a small one does
  hold() { # LEAVE_MIB: start the holder, wait until it holds
    rm -f "$OUT/hold.log"
    python3 tests/gpu/hold_memory.py "$1" < <(sleep 100000) >"$OUT/hold.log" 2>&1 &
    holder=$! # the holder itself, so release ends it and nothing else
    for _ in $(seq 120); do grep -q holding "$OUT/hold.log" 2>/dev/null && break; sleep 0.5; done
    cat "$OUT/hold.log" | tail -n 1
  }
  release() { kill "$holder"; wait "$holder"; sleep 1; }
  hold 1000 >"$OUT/fit.log"
  "$bin/test_memory_fit" /tmp/fx-small/model 2048 2048 >>"$OUT/fit.log" 2>&1
  rc=$?
  grep -E "^(ok|FAIL)" "$OUT/fit.log" | cut -c1-250
  status "memory fit: $(tail -n 1 "$OUT/fit.log") (rc $rc)"
  python3 - "$OUT" <<'PY'
import sys, numpy as np
from PIL import Image
out = sys.argv[1]
rng = np.random.default_rng(1)
Image.fromarray(rng.integers(0, 255, (2048, 2048, 3), dtype=np.uint8)).save("/tmp/fit-image.png")
t = np.zeros((2048, 2048), np.uint8); t[:, 700:1400] = 128; t[:, 1400:] = 255
Image.fromarray(t).save("/tmp/fit-trimap.png")
PY
  for dev in auto cuda; do
    "$bin/vitmatte" --model /tmp/fx-small/model --device $dev /tmp/fit-image.png /tmp/fit-trimap.png \
      -o "/tmp/fit-alpha-$dev.png" >>"$OUT/fit.log" 2>&1
    echo "cli --device $dev: exit $?" >>"$OUT/fit.log"
  done
  release
  grep -E "^vitmatte|^cli" "$OUT/fit.log"
  # the largest 4:3 photo per card size, ViTMatte-S and -B in fp16: what is free on a card of that size once the
  # driver and a desktop with GIMP have taken their share (assumed: 800 MiB)
  [ "${VM_FIT_PRESETS:-small base}" = "small" ] || [ "${VM_FIT_PRESETS:-}" = none ] || fixtures_for base
  [ "${VM_FIT_PRESETS:-}" = none ] || for gb in 6 8 12; do
    hold $((gb * 1024 - 800)) >>"$OUT/fit.log"; tail -n 1 "$OUT/fit.log"
    for preset in ${VM_FIT_PRESETS:-small base}; do
      "$bin/fit_probe" "/tmp/fx-$preset/model" fp16 "$preset-${gb}GB" >>"$OUT/fit.log" 2>&1
    done
    release
  done
  grep -E "^fit " "$OUT/fit.log" | tee -a "$summary"
fi

if has missing; then
  bash tests/gpu/test_missing_library.sh "$bin/libvitmatte-cuda.so" "$bin/vitmatte" data/tiny data/sample/image.png \
    data/sample/trimap.png >"$OUT/missing.log" 2>&1
  rc=$?
  status "missing library: $(tail -n 1 "$OUT/missing.log") (rc $rc)"
  grep -E "^(PASS|FAIL|SKIP)" "$OUT/missing.log" | cut -c1-220
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

# Foreground estimation (vm_estimate_foreground): the GPU's Jacobi iterations against the reference's fixtures and
# the CPU's, then 12 MP and 24 MP on the GPU, on one CPU core (the sequential method) and on all cores (Jacobi).
if has foreground; then
  "$bin/test_cuda_foreground" data/fixtures/foreground.safetensors >"$OUT/foreground.log" 2>&1
  rc=$?
  grep -E "^(FAIL|device)" "$OUT/foreground.log"
  status "foreground: $(tail -n 1 "$OUT/foreground.log") (rc $rc)"
  for size in 3008x4000 4000x6000; do
    for run in "--device cuda --method jacobi --compare --repeat 5" "--device cpu --method sequential --threads 1" \
               "--device cpu --method jacobi --threads 0"; do
      # shellcheck disable=SC2086
      "$bin/bench_foreground" --size $size $run >>"$OUT/foreground-bench.log" 2>&1 ||
        status "foreground bench $size $run: FAILED"
    done
  done
  status "foreground bench: done ($(elapsed) s)"
  cat "$OUT/foreground-bench.log"
fi

# Not in the default stages (about 8 minutes): the CPU path on this machine's CPU, ours against PyTorch and ONNX
# Runtime at 1, 2, 4, 8 and 16 threads, 1024^2 and 2048^2, ViTMatte-S fp32 (the CPU table of bench/RESULTS.md).
# CPU_STAGE_SECONDS (default 420) bounds it: the peers' configurations not started by then are reported as skipped,
# PyTorch at 2048^2 and the 1-thread runs first.
if has cpu; then
  cpu_t0=$(date +%s)
  cpu_budget=${CPU_STAGE_SECONDS:-420}
  {
    lscpu
    echo "nproc: $(nproc)"
    # whether our large buffers' huge-page advice applies there ("madvise"), is moot ("always") or refused ("never")
    echo "transparent huge pages: $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo none)"
    python3 -c "import onnxruntime, torch; print('onnxruntime', onnxruntime.__version__, 'torch', torch.__version__)"
  } >"$OUT/cpu-env.log" 2>&1
  grep -E "Model name|^CPU\(s\)|Thread\(s\) per core|Core\(s\) per socket|transparent huge" "$OUT/cpu-env.log"
  flags=$(grep -E "^Flags" "$OUT/cpu-env.log" | grep -o -w -E "fma|avx2|avx512f|avx512_bf16|amx_tile" | sort -u)
  echo "vector flags: ${flags//$'\n'/ }"
  bench_model small
  model=/tmp/fx-small/model
  mkdir -p "$OUT/cpu-inputs"
  # ours: each thread count in a context of its own; 1 thread (the slowest) once, without a warm-up call
  for size in 1024x1024 2048x2048; do
    iters=3
    [ $size = 2048x2048 ] && iters=1 # 17 s a pass at 2 threads on the Xeon there: the peers need the time
    "$bin/bench_cpu" --model "$model" --label ViTMatte-S --sizes $size --threads 16,8,4,2 --iters $iters --warmup 1 \
      --budget 10 --profile --dump "$OUT/cpu-inputs" --json "$OUT/cpu-ours-$size.json" >"$OUT/cpu-ours-$size.log" 2>&1
    status "cpu: ours $size 16/8/4/2 threads rc $?"
    # 1 thread at 2048^2 (about 33 s there) only when the stage has the time: the peers' 2-16 threads come first
    if [ $size = 1024x1024 ] || [ "$cpu_budget" -ge 500 ]; then
      "$bin/bench_cpu" --model "$model" --label ViTMatte-S --sizes $size --threads 1 --iters 1 --warmup 0 \
        --json "$OUT/cpu-ours-$size-1.json" >"$OUT/cpu-ours-$size-1.log" 2>&1
      status "cpu: ours $size 1 thread rc $?"
    fi
    grep -h -m2 -E "^(kernels|BLAS):" "$OUT/cpu-ours-$size.log"
    grep -h -E "forward .* s " "$OUT/cpu-ours-$size.log" "$OUT"/cpu-ours-$size-1.log 2>/dev/null
  done
  # where the gain comes from on this CPU: the same forward on OpenBLAS's products (as before our kernels) and on the
  # AVX2 kernels, 2 threads at 1024^2 (CPU_ISA_RUNS=0 leaves the time to the peers)
  for isa in blas avx2; do
    [ "${CPU_ISA_RUNS:-1}" = 0 ] && break
    VITMATTE_CPU_ISA=$isa "$bin/bench_cpu" --model "$model" --label "ViTMatte-S, VITMATTE_CPU_ISA=$isa" \
      --sizes 1024x1024 --threads 2 --iters 1 --warmup 1 >"$OUT/cpu-ours-isa-$isa.log" 2>&1
    echo "$isa: $(grep -E "forward .* s " "$OUT/cpu-ours-isa-$isa.log")"
  done
  left=$(( cpu_budget - ($(date +%s) - cpu_t0) - 30 ))
  [ $left -lt 60 ] && left=60
  python3 tests/reference/cpu_bench.py --model "$model" --sizes 1024x1024,2048x2048 --threads 16,8,4,2,1 \
    --inputs "$OUT/cpu-inputs" --onnx-dir /tmp/vitmatte-onnx --deadline $left --json "$OUT/cpu-peers.json" \
    >"$OUT/cpu-peers.log" 2>&1
  rc=$?
  grep -E "vs PyTorch|threads:|exported|Error|error" "$OUT/cpu-peers.log" | head -n 40
  status "cpu: peers rc $rc ($(( $(date +%s) - cpu_t0 )) s for the stage, $(elapsed) s in all)"
  rm -rf "$OUT/cpu-inputs" # 80 MB of raw inputs and alphas: only the comparison above needs them
fi

if has cpu1; then
  # the peers at 1 thread, which the cpu stage times last and its limit usually cuts (about 8 minutes: PyTorch takes
  # ~100 s a call at 2048^2 there); the alpha checks on all cores. make_results.py merges cpu-peers-1.json.
  bench_model small
  model=/tmp/fx-small/model
  mkdir -p /tmp/cpu1-inputs
  "$bin/bench_cpu" --model "$model" --sizes 1024x1024,2048x2048 --threads "$(nproc)" --iters 1 --warmup 0 \
    --dump /tmp/cpu1-inputs >"$OUT/cpu1-dump.log" 2>&1
  python3 tests/reference/cpu_bench.py --model "$model" --sizes 1024x1024,2048x2048 --threads 1 \
    --check-threads "$(nproc)" --inputs /tmp/cpu1-inputs --onnx-dir /tmp/vitmatte-onnx \
    --deadline "${CPU1_SECONDS:-420}" --json "$OUT/cpu-peers-1.json" >"$OUT/cpu-peers-1.log" 2>&1
  status "cpu1: peers at 1 thread rc $? ($(elapsed) s in all)"
  grep -E "vs PyTorch|threads:|Error|error" "$OUT/cpu-peers-1.log" | head -n 12
  rm -rf /tmp/cpu1-inputs
fi

if has cpupair; then
  # Ours against ONNX Runtime where the margin is thinnest (1024^2, 2 threads), paired: both pinned to the same two
  # CPUs (the guest cannot see which of its CPUs share a core, and the scheduler may place two threads differently
  # from one run to the next), in alternating rounds, so that a neighbour's load or a clock change between two runs
  # falls on both. VM_PAIR_ROUNDS rounds (default 3), VM_PAIR_CPUS the CPU list (default 0-1).
  cpus=${VM_PAIR_CPUS:-0-1}
  # nproc follows OMP_NUM_THREADS / OMP_THREAD_LIMIT where set: the CPUs of the list alone
  nthreads=$(taskset -c "$cpus" env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc 2>/dev/null || echo 0)
  rounds=${VM_PAIR_ROUNDS:-3}
  [ "$nthreads" -ge 1 ] 2>/dev/null || { status "cpupair: taskset -c $cpus gave no CPUs"; nthreads=1; rounds=0; }
  bench_model small
  model=/tmp/fx-small/model
  grep -m1 -E "Model name" /proc/cpuinfo; grep -m1 -E "^model\s" /proc/cpuinfo
  # the AVX-512 multiply-add peak of one CPU, of the pair at once (each halves if they share a core) and of all
  { for set in 0 1 0,1 0,8 "$(seq -s, 0 $(($(nproc) - 1)))"; do "$bin/fma_peak" "$set" 1 | tail -n 1; done; } \
    >"$OUT/pair-fma-peak.log" 2>&1
  cat "$OUT/pair-fma-peak.log"
  # the products and the attention alone on one CPU of the pair: their rate against that peak
  taskset -c "${cpus%%[-,]*}" "$bin/bench_cpu_ops" 1 ops >"$OUT/pair-ops.log" 2>&1
  grep -E "attention N=4096|linear" "$OUT/pair-ops.log"
  mkdir -p /tmp/pair-inputs
  taskset -c "$cpus" "$bin/bench_cpu" --model "$model" --sizes 1024x1024 --threads "$nthreads" --iters 1 --warmup 0 \
    --dump /tmp/pair-inputs >"$OUT/pair-dump.log" 2>&1
  ours() {
    taskset -c "$cpus" "$bin/bench_cpu" --model "$model" --label ViTMatte-S --sizes 1024x1024 --threads "$nthreads" \
      --iters 3 --warmup 1 --json "$OUT/pair-ours-$1.json" >"$OUT/pair-ours-$1.log" 2>&1
    grep -E "forward .* s " "$OUT/pair-ours-$1.log" | sed -E 's/.*forward +([0-9.]+) s.*/\1/'
  }
  onnx() {
    taskset -c "$cpus" python3 tests/reference/cpu_bench.py --model "$model" --peers onnxruntime --sizes 1024x1024 \
      --threads "$nthreads" --iters 3 --inputs /tmp/pair-inputs --onnx-dir /tmp/vitmatte-onnx \
      --json "$OUT/pair-onnx-$1.json" >"$OUT/pair-onnx-$1.log" 2>&1
    grep -E "ONNX Runtime 1024x1024 .*forward" "$OUT/pair-onnx-$1.log" | sed -E 's/.*forward +([0-9.]+) s.*/\1/'
  }
  for r in $(seq 1 "$rounds"); do
    if [ $((r % 2)) = 1 ]; then o=$(ours $r); x=$(onnx $r); else x=$(onnx $r); o=$(ours $r); fi
    status "cpu pair round $r (CPUs $cpus, $nthreads threads, 1024^2): ours ${o:-?} s, ONNX Runtime ${x:-?} s$(
      [ -n "$o" ] && [ -n "$x" ] && awk -v o="$o" -v x="$x" 'BEGIN { printf ", %.2fx", x / o }')"
  done
  grep -h -E "vs PyTorch|Error|error" "$OUT"/pair-onnx-*.log | sort | uniq -c | head -n 6
  rm -rf /tmp/pair-inputs
fi

# One CUDA context used by several threads one after the other, as the GIMP plug-in's preview uses it (made in one
# worker thread, used by the next free one): each result equal to the first thread's.
if has threads; then
  "$bin/test_context_threads" data/tiny cuda >"$OUT/threads.log" 2>&1
  rc=$?
  grep -E "^(FAIL|NOTE)" "$OUT/threads.log"
  status "threads: $(tail -n 1 "$OUT/threads.log") (rc $rc)"
fi

if has results; then
  python3 bench/make_results.py --out "$OUT/RESULTS.md" "$OUT" && status "results: $OUT/RESULTS.md"
fi

echo
echo "== summary ($(elapsed) s)"
cat "$summary"
