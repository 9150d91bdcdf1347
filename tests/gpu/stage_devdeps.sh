#!/usr/bin/env bash
# Builds (here, not on the GPU machine) what tests/gpu/run_gpu.sh runs there, into .devdeps/: the CUDA module (the
# default build, and two built from PTX alone, compute_80 and compute_75, which the GPU JIT-compiles: the code an
# Ampere/Ada and a Turing card run), the GPU tests, the parity test, the CLI and the benchmarks (GPU and CPU) in
# .devdeps/bin, and the shared libraries the GPU machine lacks in .devdeps/lib. Name .devdeps in the device call's
# carry list.
#   tests/gpu/stage_devdeps.sh [BUILD_DIR]      (default build-cuda)
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
build=${1:-build-cuda}
[ -d "$build" ] || meson setup "$build" -Dcuda=enabled -Dgimp=disabled -Dcli=enabled
# the modules of the consumer-card paths: PTX alone, no Hopper code (wgmma), as an RTX 30/40 (compute_80) or an
# RTX 20 (compute_75) runs them
for t in 80 75; do
  [ -d "$build-ptx$t" ] || meson setup "$build-ptx$t" -Dcuda=enabled -Dgimp=disabled -Dcli=disabled -Dtests=false \
    -Dgpu_targets=compute_$t
done
# nvcc under meson 1.0.1 writes no dependency file (ninja -t deps shows none for the .cu objects), so ninja does not
# see header edits: recompile every CUDA object when a header is newer than the last build made here. A stale object
# compiled against an older struct layout crashes or miscomputes.
stamp="$build/.cuda-headers-stamp"
if [ ! -e "$stamp" ] || [ -n "$(find kernels/cuda engine/src engine/include \( -name '*.h' -o -name '*.cuh' \) \
  -newer "$stamp" | head -n 1)" ]; then
  echo "headers changed since the last staging (or none recorded): rebuilding every CUDA object"
  rm -f "$build"/kernels/cuda/libvitmatte-cuda.so.p/*.o "$build"-ptx*/kernels/cuda/libvitmatte-cuda.so.p/*.o
fi
touch "$stamp.new"
ninja -C "$build" kernels/cuda/libvitmatte-cuda.so tests/gpu/test_cuda_ops tests/gpu/test_fallback \
  tests/parity/test_parity tests/gpu/bench tests/gpu/test_memory_fit tests/gpu/fit_probe tools/vitmatte \
  tests/gpu/test_cuda_foreground tests/foreground/bench_foreground tests/perf/bench_cpu \
  tests/perf/fma_peak tests/ops/bench_cpu_ops tests/hardening/test_context_threads
for t in 80 75; do ninja -C "$build-ptx$t" kernels/cuda/libvitmatte-cuda.so; done
mv "$stamp.new" "$stamp"
rm -rf .devdeps/bin .devdeps/lib
mkdir -p .devdeps/bin .devdeps/lib
cp "$build/kernels/cuda/libvitmatte-cuda.so" "$build/tests/gpu/test_cuda_ops" "$build/tests/gpu/test_fallback" \
  "$build/tests/parity/test_parity" .devdeps/bin/
cp "$build/tests/gpu/bench" "$build/tests/gpu/test_memory_fit" "$build/tests/gpu/fit_probe" "$build/tools/vitmatte" \
  "$build/tests/gpu/test_cuda_foreground" "$build/tests/foreground/bench_foreground" "$build/tests/perf/bench_cpu" \
  "$build/tests/perf/fma_peak" "$build/tests/ops/bench_cpu_ops" "$build/tests/hardening/test_context_threads" \
  .devdeps/bin/
for t in 80 75; do
  mkdir -p ".devdeps/bin/ptx$t"
  cp "$build-ptx$t/kernels/cuda/libvitmatte-cuda.so" ".devdeps/bin/ptx$t/"
done
# not on the GPU machine's image (checked with ldd there): json-c; OpenMP's and Fortran's runtimes travel too, in
# case OpenBLAS there was built against other ones
# (the CLI's image libraries too)
for l in libjson-c.so.5 libgomp.so.1 libgfortran.so.5 libquadmath.so.0 libpng16.so.16 libjpeg.so.62 libtiff.so.6 \
  libwebp.so.7 libzstd.so.1 liblzma.so.5 libLerc.so.4 libjbig.so.0 libdeflate.so.0; do
  cp -L "/usr/lib/x86_64-linux-gnu/$l" .devdeps/lib/
done
du -sh .devdeps
