#!/usr/bin/env bash
# The session's last GPU call, in priority order, each part bounded in time (device minutes were short).
set -u
export VM_PATHS="ampere-99k turing-64k" VM_PATH_PRESETS=small VM_OPS_ARGS=attention VM_FIT_PRESETS=none
part() {
  local name=$1 limit=$2
  shift 2
  mkdir -p "/tmp/r/$name"
  OUT=/tmp/r/$name timeout "$limit" "$@" 2>&1 | tail -n 40
  tar czf "$OUT/logs.tgz" -C /tmp r # after every part: a call cut short still brings back what ran
}
part paths 130 tests/gpu/run_gpu.sh --stages paths
part fit 60 tests/gpu/run_gpu.sh --stages fit,missing
part fg 45 tests/gpu/run_gpu.sh --stages foreground
VM_PATHS="ampere ampere-99k turing turing-64k" VM_BENCH_PRESETS=small VM_BENCH_SIZES=1024x1024,2048x2048 \
  VM_BENCH_PRECISIONS=fp16 part bench 50 tests/gpu/run_gpu.sh --stages pathbench
