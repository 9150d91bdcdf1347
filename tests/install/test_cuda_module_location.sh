#!/usr/bin/env bash
# test_cuda_module_location.sh - an installed vitmatte loads its CUDA module only from its own installation (or
# $VITMATTE_CUDA_MODULE): never from the build tree, the current folder or the loader's search path, where a
# library can be planted. Uninstalled test programs, built with the build-tree switch, still find the build's module.
# Usage: bash test_cuda_module_location.sh BUILD PLANTED_MODULE PROBE MODEL MAKE_TEST_IMAGES INSTALLED_CLI MODULE_DIR
#   INSTALLED_CLI and MODULE_DIR are the absolute install paths (prefix included) of the CLI and the module folder.
set -u
BUILD=$(realpath "$1")
PLANTED=$(realpath "$2")
PROBE=$(realpath "$3")
MODEL=$4
MAKE_TEST_IMAGES=$(realpath "$5")
INSTALLED_CLI=$6
MODULE_DIR=$7
NAME=libvitmatte-cuda.so

failures=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
# The install goes into the build tree (as the hardening rule allows), under a folder this run owns.
TMP=$(mktemp -d "$BUILD/tests/install/run-XXXXXX")
BUILD_MODULE_DIR=$BUILD/kernels/cuda
planted_in_build=""
cleanup() {
  [ -n "$planted_in_build" ] && rm -f "$planted_in_build"
  rm -rf "$TMP"
}
trap cleanup EXIT
unset VITMATTE_CUDA_MODULE

DEST=$TMP/dest
if ! meson install -C "$BUILD" --no-rebuild --destdir "$DEST" --tags runtime >"$TMP/install.log" 2>&1; then
  tail -5 "$TMP/install.log"
  echo "FAIL meson install into $DEST"
  exit 1
fi
CLI=$DEST$INSTALLED_CLI
[ -x "$CLI" ] || { fail "no installed CLI at $CLI"; exit 1; }
pass "meson install put the CLI at \$DESTDIR$INSTALLED_CLI"
"$MAKE_TEST_IMAGES" "$TMP" >/dev/null || { echo "FAIL test images"; exit 1; }

# run_cuda NAME [env...]: the installed CLI asked for CUDA (the loader runs when the context is made); sets rc, err.
run_cuda() {
  local marker=$TMP/marker-$1
  shift
  rm -f "$marker"
  env VM_PLANTED_MARKER="$marker" "$@" "$CLI" --model "$MODEL" --device cuda --quiet "$TMP/image8.png" \
    "$TMP/trimap.png" -o "$TMP/out.png" >"$TMP/stdout" 2>"$TMP/stderr"
  rc=$?
  err=$(cat "$TMP/stderr")
}
loaded() { [ -s "$TMP/marker-$1" ]; }

# A CUDA build installed its real module: out of the way, so that only the build tree could supply one.
rm -f "$DEST$MODULE_DIR/$NAME"

# 1. A library planted in the build tree, where the engine of an earlier version looked (an absolute path compiled
#    into every binary). A CUDA build has its real module there: that one must not be loaded either.
if [ -e "$BUILD_MODULE_DIR/$NAME" ]; then
  echo "NOTE the build has a CUDA module in $BUILD_MODULE_DIR; checking that the installed CLI does not open it"
else
  mkdir -p "$BUILD_MODULE_DIR" && cp "$PLANTED" "$BUILD_MODULE_DIR/$NAME" && planted_in_build=$BUILD_MODULE_DIR/$NAME
fi
run_cuda build LD_DEBUG=files LD_DEBUG_OUTPUT="$TMP/ld"
opened=$(cat "$TMP"/ld.* 2>/dev/null | grep -c "file=$BUILD_MODULE_DIR/")
if loaded build || [ "$opened" -ne 0 ]; then
  fail "the installed CLI opened $BUILD_MODULE_DIR/$NAME ($(cat "$TMP/marker-build" 2>/dev/null))"
elif [ "$rc" -ne 3 ] || [[ "$err" != *"not installed"* ]]; then
  fail "installed CLI without a module: expected exit 3 and 'not installed', got $rc: $err"
else
  pass "the installed CLI ignores the build tree's module folder: \"$err\""
fi

# 2. The uninstalled test program (built with the build-tree switch) does look there.
if [ -n "$planted_in_build" ]; then
  rm -f "$TMP/marker-probe"
  VM_PLANTED_MARKER=$TMP/marker-probe "$PROBE" >"$TMP/probe.out" 2>&1
  if loaded probe && grep -q "is not a vitmatte CUDA backend" "$TMP/probe.out"; then
    pass "an uninstalled test program finds the module in the build tree"
  else
    fail "the uninstalled test program did not load $BUILD_MODULE_DIR/$NAME: $(cat "$TMP/probe.out")"
  fi
  rm -f "$planted_in_build"
  planted_in_build=""
fi

# 3. Neither the current folder nor LD_LIBRARY_PATH.
mkdir -p "$TMP/cwd" && cp "$PLANTED" "$TMP/cwd/$NAME"
(cd "$TMP/cwd" && run_cuda cwd LD_LIBRARY_PATH="$TMP/cwd:." && loaded cwd && exit 1; exit 0)
[ $? -eq 0 ] && pass "a module in the current folder or on LD_LIBRARY_PATH is not loaded" ||
  fail "the installed CLI loaded $TMP/cwd/$NAME ($(cat "$TMP/marker-cwd"))"

# 4. The installed module folder is found from the installed binary, also when run through a link elsewhere.
mkdir -p "$DEST$MODULE_DIR" && cp "$PLANTED" "$DEST$MODULE_DIR/$NAME"
run_cuda installed
if loaded installed && [[ "$err" == *"is not a vitmatte CUDA backend"* ]]; then
  pass "the installed CLI loads the module from \$DESTDIR$MODULE_DIR (relative to itself)"
else
  fail "the installed CLI did not load \$DESTDIR$MODULE_DIR/$NAME: exit $rc, $err"
fi
mkdir -p "$TMP/links" && ln -s "$CLI" "$TMP/links/vitmatte"
CLI_REAL=$CLI
CLI=$TMP/links/vitmatte
run_cuda link
loaded link && pass "run through a symbolic link, it still searches beside the real file" ||
  fail "through a link: the installed module was not loaded (exit $rc, $err)"
CLI=$CLI_REAL

# 5. $VITMATTE_CUDA_MODULE names the file outright.
rm -f "$DEST$MODULE_DIR/$NAME"
run_cuda env VITMATTE_CUDA_MODULE="$PLANTED"
loaded env && pass "\$VITMATTE_CUDA_MODULE is loaded" || fail "\$VITMATTE_CUDA_MODULE was not loaded: $err"

if [ "$failures" -ne 0 ]; then
  echo "FAILED: $failures check(s)"
  exit 1
fi
echo OK
