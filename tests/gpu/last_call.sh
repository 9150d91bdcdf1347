#!/usr/bin/env bash
# One GPU call in parts, in priority order, each bounded in time (a session has 30 device minutes): every part's
# logs are tarred into $OUT/logs-PART.tgz as soon as it ends, so a call cut short still brings back what ran.
#   tests/gpu/last_call.sh checks|next|bench|compile|cpu|final|s6|s6b|s11|s12|s16|s17a|s17b|s18|s18b|s18c|s19|s21|cpu1|prof
# (bench/make_results.py --out RESULTS.md DIR takes the JSON files of one card gathered into DIR)
set -u
work=/tmp/r
part() { # NAME SECONDS CMD...: run_gpu.sh-style command with OUT=/tmp/r/NAME
  local name=$1 limit=$2
  shift 2
  mkdir -p "$work/$name"
  echo "== part $name (limit $limit s)"
  # its own process group, killed whole at the limit: a stalled test must not run on into the next part (one did,
  # spinning beside the next parts' timings); the output is printed as it comes (a killed pipeline prints nothing)
  OUT=$work/$name setsid "$@" >"$work/$name/part.out" 2>&1 &
  local pid=$!
  (sleep "$limit"; kill -TERM -- "-$pid" 2>/dev/null; sleep 3; kill -KILL -- "-$pid" 2>/dev/null) &
  local dog=$!
  wait "$pid"
  echo "(part $name: exit $?)"
  kill "$dog" 2>/dev/null
  pkill -KILL -g "$pid" 2>/dev/null
  tail -n 40 "$work/$name/part.out"
  # one archive per part (16 MiB a file come back), without the raw inputs and exported models
  tar czf "$OUT/logs-$name.tgz" --exclude=cpu-inputs --exclude='*.onnx' --exclude='*.raw' -C "$work" "$name"
}
fp32_checks() { # the fp32 default checked: op suite, wide parity (about 2 minutes)
  part ops 70 tests/gpu/run_gpu.sh --stages env,fp32ops
  VM_FP32VAR_QUICK=1 part wide 70 tests/gpu/run_gpu.sh --stages fp32wide
}
fp32_timing() { # the fp32 default timed beside cuBLAS's products for S and B, PyTorch fp32 in the same call (2 min)
  VM_FP32VAR_SIZES=512x512,1024x1024,2048x2048 VM_FP32VAR_PRESETS="small base" VM_FP32VAR_VARIANTS="default cublas" \
    part fp32var 70 tests/gpu/run_gpu.sh --stages fp32var
  part torch 60 bash -c 'python3 tests/reference/torch_bench.py --preset small --modes fp32 \
    --sizes 512x512,1024x1024,2048x2048 --modules-at none --json /tmp/r/torch/torch-small.json
    python3 tests/reference/torch_bench.py --preset base --modes fp32 \
    --sizes 512x512,1024x1024,2048x2048 --modules-at none --json /tmp/r/torch/torch-base.json'
}
case ${1:-checks} in
  checks) # the consumer-card paths, foreground, memory fit and missing libraries, the full op suite
    part env 30 tests/gpu/run_gpu.sh --stages env,archs
    VM_PATHS="ampere-99k turing-64k" VM_PATH_PRESETS=small VM_OPS_ARGS=attention \
      part paths 200 tests/gpu/run_gpu.sh --stages paths
    part fg 70 tests/gpu/run_gpu.sh --stages foreground
    part fit 150 tests/gpu/run_gpu.sh --stages fit,missing
    part ops 150 tests/gpu/run_gpu.sh --stages ops ;;
  bench) # every path's benchmark beside the Hopper one, cuDNN's find mode, ours and PyTorch eager for RESULTS.md
    VM_BENCH_PRESETS=small part pathbench 190 tests/gpu/run_gpu.sh --stages pathbench,convfind
    part bench 170 tests/gpu/run_gpu.sh --stages bench
    part torch 190 bash -c 'python3 tests/reference/torch_bench.py --preset small --modes fp32,fp16,bf16 \
        --json $OUT/torch-small.json >$OUT/torch-small.log 2>&1
      python3 tests/reference/torch_bench.py --preset base --sizes 512x512,1024x1024,2048x2048 --modes fp32,fp16 \
        --modules-at none --json $OUT/torch-base.json >$OUT/torch-base.log 2>&1; tail -n 3 $OUT/*.log' ;;
  compile) # torch.compile fp16 at every size, S and B (compiled afresh per size)
    part compile 560 bash -c 'python3 tests/reference/torch_bench.py --preset small --modes compile-fp16 \
        --modules-at none --json $OUT/torch-small-compile.json >$OUT/torch-small-compile.log 2>&1
      python3 tests/reference/torch_bench.py --preset base --modes compile-fp16 --sizes 512x512,1024x1024,2048x2048 \
        --modules-at none --json $OUT/torch-base-compile.json >$OUT/torch-base-compile.log 2>&1; tail -n 3 $OUT/*.log' ;;
  final) # when one call is left: the consumer paths' attention cases and ViTMatte-B parity, foreground, the path
    # benchmark, the CPU stage
    VM_PATHS="ampere-99k turing-64k" VM_PATH_PRESETS=base VM_OPS_ARGS=attention \
      part paths 110 tests/gpu/run_gpu.sh --stages paths
    part fg 35 tests/gpu/run_gpu.sh --stages foreground
    VM_BENCH_PRESETS=small part pathbench 160 tests/gpu/run_gpu.sh --stages pathbench
    CPU_STAGE_SECONDS=235 part cpu 250 tests/gpu/run_gpu.sh --stages cpu ;;
  next) # what the session of 2026-12-07 could not run (three calls of about 9 minutes: next, cpu, bench)
    part missing 60 tests/gpu/run_gpu.sh --stages env,missing
    VM_PATHS="ampere-99k turing-64k" VM_PATH_PRESETS=base VM_OPS_ARGS=attention \
      part paths 200 tests/gpu/run_gpu.sh --stages paths
    VM_PATHS="ampere turing" VM_PATH_PRESETS=" " part pathops 250 tests/gpu/run_gpu.sh --stages paths ;;
  s6) # issue 14 of 2026-12-07: the whole call on the GPU (8-bit input, alpha into the caller's rows), bf16 held to
    # PyTorch's own bf16 error; S's benchmark (vm_predict beside the forward) and cuDNN's timed algorithms in fp32
    part input 90 tests/gpu/run_gpu.sh --stages env,input
    part missing 40 tests/gpu/run_gpu.sh --stages missing
    VM_SB_PRESETS=small part parity 200 tests/gpu/run_gpu.sh --stages parity,sb
    VM_BENCH_PRESETS=small part bench 200 tests/gpu/run_gpu.sh --stages bench,hostio,convfind ;;
  s6b) # the bf16 bar on tiny (Hopper code and the Ampere path at 99 KB), then the CPU stage (issue 14's CPU table)
    part bf16 100 bash -c 'tests/gpu/run_gpu.sh --stages parity
      VM_PATHS=ampere-99k VM_PATH_PRESETS=" " VM_OPS_ARGS=input tests/gpu/run_gpu.sh --stages paths'
    CPU_STAGE_SECONDS=440 CPU_ISA_RUNS=0 part cpu 455 tests/gpu/run_gpu.sh --stages cpu ;;
  s11) # session of 2026-12-07c, last call (about 6 minutes): RESULTS.md in one call (ours in every precision, S and B
    # at every size; PyTorch eager fp32/fp16 for both, torch.compile fp16 for S at every size)
    part bench 170 tests/gpu/run_gpu.sh --stages env,bench
    part torch 200 bash -c 'python3 tests/reference/torch_bench.py --preset base --sizes 512x512,1024x1024,2048x2048 \
        --modes fp32,fp16 --modules-at none --json /tmp/r/torch/torch-base.json >/tmp/r/torch/torch-base.log 2>&1
      python3 tests/reference/torch_bench.py --preset small --modes fp32,fp16,compile-fp16 \
        --json /tmp/r/torch/torch-small.json >/tmp/r/torch/torch-small.log 2>&1; tail -n 14 /tmp/r/torch/*.log' ;;
  s12) # about 3 minutes: ours in every precision for S (quick: 1024^2, 2048^2, 12 MP) and PyTorch eager fp16/fp32
    # for S at 1024^2 and 2048^2 in the same call
    part bench 110 tests/gpu/run_gpu.sh --stages env,bench --quick
    part torch 60 python3 tests/reference/torch_bench.py --preset small --modes fp32,fp16 --sizes 1024x1024,2048x2048 \
        --modules-at none --json /tmp/r/torch/torch-small.json ;;
  prof) # about 3 minutes: the fp32 op suite and wide parity (what changed since s10: equal bands, the estimate), then
    # Nsight Compute on the fp32 attention kernel (S, 1024^2 and 2048^2)
    part ops 50 tests/gpu/run_gpu.sh --stages env,fp32ops
    VM_FP32VAR_QUICK=1 part wide 40 tests/gpu/run_gpu.sh --stages fp32wide
    part prof 100 tests/gpu/run_gpu.sh --stages fp32prof ;;
  s16) # fp32 check and time (about 5 minutes): op suite (every attention kernel, the opt-in 3xTF32 linear layers),
    # wide parity (default, CUDA-core attention, 3xTF32 linears), S and B timed with the defaults, the 3xTF32 linears
    # (gemmtc), without block tiles and with the CUDA-core attention; PyTorch fp32
    part ops 80 tests/gpu/run_gpu.sh --stages env,fp32ops
    VM_FP32VAR_QUICK=1 part wide 80 tests/gpu/run_gpu.sh --stages fp32wide
    VM_FP32VAR_SIZES=512x512,1024x1024,2048x2048 VM_FP32VAR_VARIANTS="default gemmtc blocks0 ffma" \
      part fp32var 60 tests/gpu/run_gpu.sh --stages fp32var
    VM_FP32VAR_SIZES=512x512,1024x1024,2048x2048 VM_FP32VAR_PRESETS=base VM_FP32VAR_VARIANTS="default gemmtc ffma" \
      part fp32b 60 tests/gpu/run_gpu.sh --stages fp32var
    part torch 100 bash -c 'python3 tests/reference/torch_bench.py --preset small --modes fp32 \
        --sizes 512x512,1024x1024,2048x2048 --modules-at none --json /tmp/r/torch/torch-small.json
      python3 tests/reference/torch_bench.py --preset base --modes fp32 \
        --sizes 512x512,1024x1024,2048x2048 --modules-at none --json /tmp/r/torch/torch-base.json' ;;
  s17a) # session of 2026-12-07e, first call (about 8 minutes): the fp32 checks of what no GPU has run yet (the shared
    # attention steps, the 3xTF32 linears, the new op cases), the 3xTF32 linears timed beside the default, then the
    # consolidated run's first half: ours in every precision (S and B, 512^2 to 12 MP) and PyTorch eager
    part ops 80 tests/gpu/run_gpu.sh --stages env,fp32ops
    VM_FP32VAR_QUICK=1 part wide 80 tests/gpu/run_gpu.sh --stages fp32wide
    VM_FP32VAR_SIZES=512x512,1024x1024,2048x2048 VM_FP32VAR_PRESETS="small base" VM_FP32VAR_VARIANTS="default gemmtc" \
      part fp32var 80 tests/gpu/run_gpu.sh --stages fp32var
    part bench 120 tests/gpu/run_gpu.sh --stages bench
    part torch 200 bash -c 'python3 tests/reference/torch_bench.py --preset base --sizes 512x512,1024x1024,2048x2048 \
        --modes fp32,fp16 --modules-at none --json /tmp/r/torch/torch-base.json >/tmp/r/torch/torch-base.log 2>&1
      python3 tests/reference/torch_bench.py --preset small --modes fp32,fp16,bf16 \
        --json /tmp/r/torch/torch-small.json >/tmp/r/torch/torch-small.log 2>&1; tail -n 14 /tmp/r/torch/*.log' ;;
  s17b) # second call (about 7 minutes): torch.compile fp16 for S and B at every size, then every path's fp16
    # benchmark (the Hopper module beside the consumer cards' code) for item 4
    part compile 280 bash -c 'python3 tests/reference/torch_bench.py --preset small --modes compile-fp16 \
        --modules-at none --json $OUT/torch-small-compile.json >$OUT/torch-small-compile.log 2>&1
      python3 tests/reference/torch_bench.py --preset base --modes compile-fp16 --sizes 512x512,1024x1024,2048x2048 \
        --modules-at none --json $OUT/torch-base-compile.json >$OUT/torch-base-compile.log 2>&1; tail -n 3 $OUT/*.log'
    VM_BENCH_PRESETS=small part pathbench 170 tests/gpu/run_gpu.sh --stages pathbench ;;
  s18) # session of 2026-12-07e, last call (about 5 minutes): the fp32 default with the 3xTF32 products of 4096+ rows
    # checked (op suite, wide parity) and timed beside cuBLAS's for S and B, PyTorch fp32 in the same call; then ours
    # against ONNX Runtime on two pinned CPUs in alternating rounds at 1024^2 (the CPU target's thinnest margin)
    fp32_checks
    fp32_timing
    part cpupair 200 tests/gpu/run_gpu.sh --stages cpupair ;;
  s18b) # s18 cut to the device time left (about 3 minutes): the op suite and wide parity ran the 3xTF32 products
    # forced for every product in s17a; here the default (4096+ rows) timed beside cuBLAS's, PyTorch fp32, two pairs
    fp32_timing
    VM_PAIR_ROUNDS=2 part cpupair 140 tests/gpu/run_gpu.sh --stages cpupair ;;
  s18c) # under 2 minutes (what a session's last 4 device minutes allow after a start): the fp32 op suite on the
    # default build (3xTF32 products from 4096 rows, the cuBLAS pass), then that default beside cuBLAS at 1024^2
    part ops 55 tests/gpu/run_gpu.sh --stages env,fp32ops
    VM_FP32VAR_SIZES=1024x1024 VM_FP32VAR_MODULES_AT=none VM_FP32VAR_PRESETS="small base" \
      VM_FP32VAR_VARIANTS="default cublas" part fp32var 60 tests/gpu/run_gpu.sh --stages fp32var ;;
  s19) # session of 2026-12-07f, first call (about 5.5 minutes): the fp32 default (3xTF32 products from 4096 rows)
    # checked (op suite, wide parity) and timed beside cuBLAS for S and B with PyTorch fp32 in the same call; then the
    # CPU's multiply-add peak (one CPU, two, all) and our products and attention on one CPU against it
    fp32_checks
    fp32_timing
    VM_PAIR_ROUNDS=0 part cpudiag 60 tests/gpu/run_gpu.sh --stages cpupair ;;
  s21) # the opt-in attention switches for consumer cards (about 6 minutes): VITMATTE_CUDA_ATTN_SMEM=compact (Q in K's
    # second stage, block tiles' compact bias strides) and VITMATTE_CUDA_ATTENTION=turing-mma (Turing's fp16 attention
    # on the mma.sync kernel as m16n8k8 pairs). Checks first, most telling first: the compute_80 module at 99 KB (the
    # op suite's fp16/bf16 attention cases, whose passes include compact, and tiny fp16 parity with compact), the
    # compute_75 module at 64 KB (the fp16 cases, with passes under turing-mma alone and with compact, and tiny fp16
    # parity under turing-mma), the Hopper module's attention cases; then the fp16 forward timed without and with
    # each switch. (The op suite's passes set and unset the switches themselves, so a switch the part exports
    # reaches the suite's first passes and the parity run, not its later passes.)
    VITMATTE_CUDA_ATTN_SMEM=compact VM_PATHS=ampere-99k VM_PATH_PRESETS=" " VM_PATH_PRECS=fp16 \
      VM_OPS_ARGS="fp16 bf16 attention" part paths 90 tests/gpu/run_gpu.sh --stages env,paths
    VITMATTE_CUDA_ATTENTION=turing-mma VM_PATHS=turing-64k VM_PATH_PRESETS=" " VM_PATH_PRECS=fp16 \
      VM_OPS_ARGS="fp16 attention" part turing 100 tests/gpu/run_gpu.sh --stages paths
    VM_OPS_ARGS="fp16 bf16 attention" part ops 60 tests/gpu/run_gpu.sh --stages ops
    VM_PATHS=ampere-99k VM_AB_ENV=VITMATTE_CUDA_ATTN_SMEM=compact part ab 150 tests/gpu/run_gpu.sh --stages abenv
    VM_PATHS=turing-64k VM_AB_HOPPER=0 VM_AB_ENV=VITMATTE_CUDA_ATTENTION=turing-mma VM_BENCH_SIZES=1024x1024,2048x2048 \
      part abturing 120 tests/gpu/run_gpu.sh --stages abenv ;;
  cpu1) # the peers at 1 thread (the cpu stage's last, cut); CPU1_PART_SECONDS: the part's limit where less is left
    part cpu1 "${CPU1_PART_SECONDS:-560}" tests/gpu/run_gpu.sh --stages cpu1 ;;
  cpu) # CPU_STAGE_SECONDS / CPU_PART_SECONDS: the stage's budget and the part's limit (cpu_bench.py keeps the rows it
    # finished when the limit kills it)
    CPU_STAGE_SECONDS=${CPU_STAGE_SECONDS:-540} part cpu "${CPU_PART_SECONDS:-565}" tests/gpu/run_gpu.sh --stages cpu ;;
esac
