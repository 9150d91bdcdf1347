#!/bin/bash
# run.sh - the download bundle's test: makes the bundle (scripts/make-bundle.sh, in the Debian 13 build root) and
# checks it in a second Debian 13 root that has only the package gimp (tests/bundle/check_in_gimp_root.sh).
# Owns: the two roots, the test helpers' build and what is bound into the GIMP-only root.
#
# Usage: tests/bundle/run.sh [--root DIR] [--gimp-only-root DIR] [--model DIR] [--cuda-module FILE | --no-cuda]
#   --root DIR            the build root (default .gimp-root/, as tests/gimp/run.sh; made when missing)
#   --gimp-only-root DIR  the root with only gimp (default .gimp-root-gimp-only/; made when missing: about 40 s and
#                         120 MB of packages on the development VM)
#   --model DIR           checkpoint (default data/tiny)
#   --cuda-module FILE    put this CUDA module into the bundle; default: build-test's when tests/run.sh built one,
#                         else a CPU-only bundle (the test never compiles CUDA code itself)
# Ends with "bundle: N passed, N failed"; exits non-zero when anything failed or could not run. Needs root.
set -uo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
ROOT_DIR=""
GIMP_ONLY_DIR=""
MODEL=$REPO/data/tiny
CUDA_ARGS=()
while [ $# -gt 0 ]; do
  case $1 in
    --root) ROOT_DIR=$2; shift 2 ;;
    --gimp-only-root) GIMP_ONLY_DIR=$2; shift 2 ;;
    --model) MODEL=$(cd "$2" && pwd) || exit 2; shift 2 ;;
    --cuda-module) CUDA_ARGS=(--cuda-module "$2"); shift 2 ;;
    --no-cuda) CUDA_ARGS=(--no-cuda); shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ ${#CUDA_ARGS[@]} -eq 0 ]; then
  if [ -f "$REPO/build-test/kernels/cuda/libvitmatte-cuda.so" ]; then
    CUDA_ARGS=(--cuda-module "$REPO/build-test/kernels/cuda/libvitmatte-cuda.so")
  else
    CUDA_ARGS=(--no-cuda)
  fi
fi

could_not_run() {
  echo "FAIL $*"
  echo "bundle: 0 passed, 1 failed"
  exit 1
}
seconds() { echo $(($(date +%s) - $1)); }

[ "$(id -u)" = 0 ] || could_not_run "the bundle test needs root (debootstrap, chroot and mount)"
ROOT_DIR=$("$REPO/scripts/gimp-root.sh" ${ROOT_DIR:+"$ROOT_DIR"}) || could_not_run "making the Debian 13 build root"
start=$(date +%s)
GIMP_ONLY_DIR=$("$REPO/scripts/gimp-root.sh" --gimp-only ${GIMP_ONLY_DIR:+"$GIMP_ONLY_DIR"} 2>"$REPO/build-bundle-test.root.log") ||
  { tail -n 20 "$REPO/build-bundle-test.root.log"; could_not_run "making the GIMP-only Debian 13 root"; }
echo "NOTE GIMP-only root $GIMP_ONLY_DIR ready in $(seconds "$start") s"

OUT=$REPO/build-bundle-test
start=$(date +%s)
archive=$("$REPO/scripts/make-bundle.sh" --root "$ROOT_DIR" --out "$OUT" "${CUDA_ARGS[@]}" 2>"$OUT.make.log") ||
  { tail -n 30 "$OUT.make.log"; could_not_run "scripts/make-bundle.sh ${CUDA_ARGS[*]}"; }
echo "NOTE made $(basename "$archive") in $(seconds "$start") s ($(du -h "$archive" | cut -f1)); make-bundle said:"
grep -E "^make-bundle: (GLIBC|bundled|left)|^needs " "$OUT.make.log" | sed 's/^/NOTE   /'

# The test helpers (test pictures, comparison), built in the build root: the GIMP-only root has no compiler.
HELPERS_STATE=/var/tmp/vitmatte-bundle-test
"$REPO/scripts/gimp-root.sh" exec "$ROOT_DIR" --bind "$REPO:/src:ro" -- /bin/sh -c "
  set -e; b=$HELPERS_STATE/helpers
  [ -f \$b/build.ninja ] || meson setup \$b /src -Dcuda=disabled -Dgimp=disabled -Dcli=enabled -Dtests=true >/dev/null
  ninja -C \$b tests/gimp/vmp-make-test-images tests/gimp/vmp-compare >/dev/null" >"$OUT.helpers.log" 2>&1 ||
  { tail -n 20 "$OUT.helpers.log"; could_not_run "building the test helpers in the build root"; }
HELPERS=$ROOT_DIR$HELPERS_STATE/helpers/tests/gimp

VERSION=$(sed -n "s/^ *version: *'\([^']*\)'.*/\1/p" "$REPO/meson.build" | head -n 1)
start=$(date +%s)
"$REPO/scripts/gimp-root.sh" exec "$GIMP_ONLY_DIR" --bind "$REPO/tests/bundle:/test:ro" --bind "$OUT:/bundle:ro" \
  --bind "$HELPERS:/helpers:ro" --bind "$MODEL:/model:ro" -- \
  /test/check_in_gimp_root.sh "/bundle/$(basename "$archive")" /helpers /model "$VERSION" /var/tmp/vitmatte-bundle-check
rc=$?
echo "NOTE the checks in the GIMP-only root took $(seconds "$start") s"
exit $rc
