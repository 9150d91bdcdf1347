#!/usr/bin/env bash
# test_quickstart.sh - tools/quickstart.sh as a new user meets it (item 7 of issue 11): without weights it never
# writes an alpha of random weights to the user's OUT, it downloads ViTMatte-S when asked (--download, from the test
# hub of with_hub.sh) and then mattes the user's pictures with it, and what it writes by default stays in the build
# folder. The build folder the script sees is a stand-in in the test's own temporary folder (VITMATTE_BUILD_DIR):
# BUILD_DIR's vitmatte, linked, and an empty build.ninja, so the script's ninja has nothing to do; what the script
# writes "into the build folder" lands there, never among a developer's files in BUILD_DIR, and no build runs in
# BUILD_DIR while other tests use it. Usage: with_hub.sh ... -- bash test_quickstart.sh QUICKSTART BUILD_DIR
#        TINY_MODEL_DIR SAMPLE_DIR
QUICKSTART=$(realpath "$1")
REAL_BUILD=$(realpath "$2")
TINY=$(realpath "$3")
SAMPLE=$(realpath "$4")
# shellcheck source=../cli/cli_test_lib.sh
. "$(dirname "$0")/../cli/cli_test_lib.sh"
[ -n "${HUB_URL:-}" ] || { echo "FAIL run me through with_hub.sh"; exit 1; }
[ -x "$REAL_BUILD/tools/vitmatte" ] || { echo "FAIL no $REAL_BUILD/tools/vitmatte"; exit 1; }
BUILD=$TMP/build
mkdir -p "$TMP/cwd" "$TMP/home" "$BUILD/tools"
: >"$BUILD/build.ninja"
ln -s "$REAL_BUILD/tools/vitmatte" "$BUILD/tools/vitmatte"
if [ -f "$REAL_BUILD/kernels/cuda/libvitmatte-cuda.so" ]; then
  mkdir -p "$BUILD/kernels/cuda" && ln -s "$REAL_BUILD/kernels/cuda/libvitmatte-cuda.so" "$BUILD/kernels/cuda/"
fi
VITMATTE=$BUILD/tools/vitmatte
cd "$TMP/cwd" || exit 1
export HOME=$TMP/home VITMATTE_MODELS=$TMP/models VITMATTE_BUILD_DIR=$BUILD HF_ENDPOINT=$HUB_URL
unset VITMATTE_MODEL XDG_CACHE_HOME
# What a developer may have in the real build folder under the names the script writes: left exactly as it is.
real_files() { ls -l --time-style=full-iso "$REAL_BUILD/alpha.png" "$REAL_BUILD/demo-alpha-random-weights.png" 2>/dev/null; }
real_before=$(real_files)
IMG=$SAMPLE/image.png
TRI=$SAMPLE/trimap.png
quick() { "$QUICKSTART" "$@" </dev/null >"$TMP/qs.out" 2>"$TMP/qs.err"; rc=$?; }

echo "tools/quickstart.sh without and with weights"
quick "$IMG" "$TRI" -o "$TMP/out.png"
if [ "$rc" -eq 1 ] && [ ! -e "$TMP/out.png" ] && grep -q "nothing was written to $TMP/out.png" "$TMP/qs.err" &&
   grep -q "download small" "$TMP/qs.err"; then
  pass "your pictures without weights: exit 1, OUT not written, 'vitmatte download small' offered"
else fail "your pictures without weights: exit $rc, $(ls "$TMP" | tr '\n' ' '): $(tail -5 "$TMP/qs.err")"; fi

quick -o "$TMP/out.png"
if [ "$rc" -eq 0 ] && [ ! -e "$TMP/out.png" ] && [ -f "$BUILD/demo-alpha-random-weights.png" ] &&
   grep -q "RANDOM WEIGHTS" "$TMP/qs.err"; then
  pass "the demo without weights writes into the build folder and leaves OUT alone"
else fail "demo: exit $rc: $(tail -5 "$TMP/qs.err")"; fi

quick --download "$IMG" "$TRI" -o "$TMP/out.png"
"$VITMATTE" --quiet --model "$TINY" "$IMG" "$TRI" -o "$TMP/reference.png"
if [ "$rc" -eq 0 ] && cmp -s "$TMP/out.png" "$TMP/reference.png" &&
   [ -f "$VITMATTE_MODELS/vitmatte-small-composition-1k/download.json" ]; then
  pass "--download fetches ViTMatte-S (here: the test model from the local hub) and mattes your pictures with it"
else fail "--download: exit $rc: $(tail -5 "$TMP/qs.err")"; fi

quick "$IMG" "$TRI"
if [ "$rc" -eq 0 ] && [ -f "$BUILD/alpha.png" ] && [ -z "$(ls -A "$TMP/cwd")" ]; then
  pass "with the downloaded model and no -o: the alpha goes to build/alpha.png, nothing into the current folder"
else fail "default output: exit $rc, cwd: $(ls -A "$TMP/cwd"): $(tail -3 "$TMP/qs.err")"; fi
if [ "$(real_files)" = "$real_before" ]; then pass "nothing written to or removed from the real build folder $REAL_BUILD"
else fail "the real build folder changed: before '$real_before', after '$(real_files)'"; fi
finish
