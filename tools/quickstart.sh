#!/usr/bin/env bash
# quickstart.sh - from a fresh Debian 12/13 or Ubuntu machine to an alpha matte in one command.
# Installs the missing build packages, builds into build/ (reusing it when present) and runs the vitmatte CLI.
#
#   tools/quickstart.sh [--download] [IMAGE TRIMAP [MODEL]] [-o OUT]
#
# MODEL defaults to $VITMATTE_MODEL, then the downloaded ViTMatte-S (`vitmatte download small`). Without weights
# and with your IMAGE and TRIMAP, it offers to download ViTMatte-S (--download: without asking) or stops: it never
# runs your pictures, or writes OUT, with the random test weights. Without IMAGE and TRIMAP it mattes the bundled
# sample; with no weights that is a demo with the tiny random-weight test model (the pipeline works, the alpha means
# nothing), written into the build folder, not to OUT. OUT defaults to build/alpha.png.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${VITMATTE_BUILD_DIR:-$ROOT/build} # another folder, e.g. for a second configuration

say() { printf 'quickstart: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

usage() {
  # The comment block at the top of this file, without its "# ".
  sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"
}

official_weights_help() {
  cat >&2 <<EOF
  To get the official weights (ViTMatte-S, trained on Composition-1k, about 103 MB):
    $VITMATTE download small          (or: tools/quickstart.sh --download ...)
  ('base' for ViTMatte-B; '$VITMATTE models' lists them), then run this script again, or set
  VITMATTE_MODEL=/path/to/a/model/folder.
EOF
}

# ---- arguments ----
OUT=""
DOWNLOAD=0
POSITIONAL=()
while [ $# -gt 0 ]; do
  case $1 in
    -o|--output) [ $# -ge 2 ] || die "-o needs a file name"; OUT=$2; shift 2 ;;
    -o*) OUT=${1#-o}; shift ;;
    --download) DOWNLOAD=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; POSITIONAL+=("$@"); break ;;
    -*) die "unknown option '$1' (try --help)" ;;
    *) POSITIONAL+=("$1"); shift ;;
  esac
done
case ${#POSITIONAL[@]} in
  0|2|3) ;;
  *) die "give IMAGE and TRIMAP (and optionally MODEL), or nothing for the sample (try --help)" ;;
esac

# ---- packages ----
# nvcc, when CUDA is installed, makes the build include the GPU backend.
[ -d /usr/local/cuda/bin ] && export PATH="/usr/local/cuda/bin:$PATH"
"$ROOT/scripts/install-deps.sh" || die "could not install the build packages"

# The project needs meson >= 1.0 (Debian 12 and Ubuntu 24.04 have it; older releases do not).
meson_version=$(meson --version 2>/dev/null || echo 0)
if [ "$(printf '%s\n1.0.0\n' "$meson_version" | sort -V | head -n 1)" != "1.0.0" ]; then
  die "meson $meson_version is too old (1.0 or newer needed): 'pip install --user meson' and run again"
fi

# ---- build ----
if [ -f "$BUILD/build.ninja" ]; then
  say "building in $BUILD (existing build folder)"
else
  say "configuring $BUILD"
  # Without the tests: this is the shortest way to a matte ('meson configure build -Dtests=true' adds them).
  meson setup "$BUILD" "$ROOT" -Dtests=false >/dev/null || die "meson setup failed (see $BUILD/meson-logs/meson-log.txt)"
fi
ninja -C "$BUILD" >/dev/null || die "the build failed: run 'ninja -C $BUILD' to see why"
VITMATTE=$BUILD/tools/vitmatte
[ -x "$VITMATTE" ] || die "$VITMATTE was not built (is the cli option disabled in $BUILD? 'meson configure $BUILD -Dcli=enabled')"
# What this script writes stays in the build folder unless you name another file: nothing lands in the checkout.
[ -n "$OUT" ] || OUT=$BUILD/alpha.png
# An uninstalled vitmatte never looks into the build tree for its CUDA module (only an installed one's own folders):
# point it at the module this build made, when it made one.
if [ -z "${VITMATTE_CUDA_MODULE:-}" ] && [ -f "$BUILD/kernels/cuda/libvitmatte-cuda.so" ]; then
  export VITMATTE_CUDA_MODULE=$BUILD/kernels/cuda/libvitmatte-cuda.so
fi

# ---- model ----
MODEL=""
if [ ${#POSITIONAL[@]} -eq 3 ]; then
  MODEL=${POSITIONAL[2]}
elif [ -n "${VITMATTE_MODEL:-}" ]; then
  [ -e "$VITMATTE_MODEL" ] || die "VITMATTE_MODEL=$VITMATTE_MODEL does not exist"
  MODEL=$VITMATTE_MODEL
elif "$VITMATTE" models --path small >/dev/null 2>&1; then
  MODEL=small
fi

if [ -z "$MODEL" ]; then
  answer=n
  if [ $DOWNLOAD -eq 1 ]; then
    answer=y
  elif [ ${#POSITIONAL[@]} -ge 2 ] && [ -t 0 ] && [ -t 2 ]; then
    printf 'quickstart: no ViTMatte weights yet. Download ViTMatte-S (about 103 MB) now? [y/N] ' >&2
    read -r answer || answer=n
  fi
  case $answer in
    y|Y|yes|YES)
      "$VITMATTE" download small || die "the download failed (see above); run the same command again to resume"
      MODEL=small ;;
  esac
fi

# ---- inputs ----
if [ -z "$MODEL" ] && [ ${#POSITIONAL[@]} -ge 2 ]; then
  # Your pictures with random weights would give a file that looks like a result and is not one: stop instead.
  say "no ViTMatte weights: ${POSITIONAL[0]} was not matted and nothing was written to $OUT."
  official_weights_help
  exit 1
elif [ ${#POSITIONAL[@]} -ge 2 ]; then
  IMAGE=${POSITIONAL[0]}
  TRIMAP=${POSITIONAL[1]}
elif [ -n "$MODEL" ]; then
  IMAGE=$ROOT/data/sample/image.png
  TRIMAP=$ROOT/data/sample/trimap.png
  say "no IMAGE and TRIMAP given: running the bundled sample with $MODEL"
else
  IMAGE=$ROOT/data/sample/image.png
  TRIMAP=$ROOT/data/sample/trimap.png
  MODEL=$ROOT/data/tiny
  [ -f "$MODEL/config.json" ] || die "no model: neither official weights nor the test model $MODEL were found"
  DEMO_OUT=$BUILD/demo-alpha-random-weights.png
  {
    echo "=========================================================================================="
    echo " DEMO RUN WITH RANDOM WEIGHTS: no ViTMatte weights were found (not given, not in"
    echo " \$VITMATTE_MODEL, not downloaded)."
    echo " Running the bundled sample (data/sample) with the tiny random-weight TEST model (data/tiny)"
    echo " into $DEMO_OUT; $OUT is left alone."
    echo " This checks that everything builds and runs; the alpha it writes is MEANINGLESS."
    echo "=========================================================================================="
  } >&2
  official_weights_help
  OUT=$DEMO_OUT
fi

say "running: $VITMATTE --model $MODEL $IMAGE $TRIMAP -o $OUT"
status=0
"$VITMATTE" --model "$MODEL" "$IMAGE" "$TRIMAP" -o "$OUT" || status=$?
[ $status -eq 0 ] && say "done: $OUT"
exit $status
