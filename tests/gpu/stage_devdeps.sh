#!/usr/bin/env bash
# Builds (here, not on the GPU machine) what tests/gpu/run_gpu.sh runs there, into .devdeps/: the CUDA module, the
# GPU tests, the parity test and the benchmark in .devdeps/bin, and the shared libraries the GPU machine lacks in
# .devdeps/lib. Name .devdeps in the device call's carry list.
#   tests/gpu/stage_devdeps.sh [BUILD_DIR]      (default build-cuda)
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
build=${1:-build-cuda}
[ -d "$build" ] || meson setup "$build" -Dcuda=enabled -Dgimp=disabled -Dcli=disabled
ninja -C "$build" kernels/cuda/libvitmatte-cuda.so tests/gpu/test_cuda_ops tests/gpu/test_fallback \
  tests/parity/test_parity tests/gpu/bench
rm -rf .devdeps/bin .devdeps/lib
mkdir -p .devdeps/bin .devdeps/lib
cp "$build/kernels/cuda/libvitmatte-cuda.so" "$build/tests/gpu/test_cuda_ops" "$build/tests/gpu/test_fallback" \
  "$build/tests/parity/test_parity" .devdeps/bin/
cp "$build/tests/gpu/bench" .devdeps/bin/
# not on the GPU machine's image (checked with ldd there): json-c; OpenMP's and Fortran's runtimes travel too, in
# case OpenBLAS there was built against other ones
for l in libjson-c.so.5 libgomp.so.1 libgfortran.so.5 libquadmath.so.0; do
  cp -L "/usr/lib/x86_64-linux-gnu/$l" .devdeps/lib/
done
du -sh .devdeps
