#!/bin/bash
# make-bundle.sh - the download: vitmatte-gimp-VERSION-linux-x86_64.tar.gz, a folder vitmatte-gimp/ that goes into
# GIMP 3's plug-ins folder as it is and needs nothing from the system that GIMP does not bring.
# Owns: where each part is built, the run paths, the requirements check and the archive.
#
# Usage: scripts/make-bundle.sh [--root DIR] [--out DIR] [--cuda-module FILE | --no-cuda] [--max-glibc X.Y]
#   --root DIR          the Debian 13 root with GIMP 3 and the -dev packages (default: .gimp-root/, made by
#                       scripts/gimp-root.sh when missing); the plug-in and the CLI are built there, because
#                       libgimp-3.0 exists from Debian 13 on
#   --out DIR           where the archive goes (default: dist/); DIR/stage holds the unpacked folder
#   --cuda-module FILE  put this libvitmatte-cuda.so in (e.g. build-test/kernels/cuda/libvitmatte-cuda.so)
#   --no-cuda           a CPU-only bundle (its name ends in -cpu)
#                       Neither: the CUDA module is built here, on the host, in build-bundle-cuda/ when nvcc is
#                       found (a host with an older glibc than Debian 13 keeps the module's needs low), else the
#                       bundle is CPU-only.
#   --max-glibc X.Y     fail when any file needs a newer glibc (default 2.40: the GNOME 48 Flatpak runtime of
#                       GIMP 3.0, freedesktop-sdk 24.08)
# Needs root (the Debian 13 root is entered with chroot), patchelf, objdump and python3 on the host.
# Prints the archive's path on stdout, everything else on stderr.
set -euo pipefail

REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
ROOT_DIR=""
OUT=$REPO/dist
CUDA_MODULE=""
CUDA=auto
MAX_GLIBC=2.40
STATE_IN_ROOT=/var/tmp/vitmatte-bundle # build folder inside the root, kept for incremental builds

say() { echo "make-bundle: $*" >&2; }
die() { say "$*"; exit 1; }

while [ $# -gt 0 ]; do
  case $1 in
    --root) ROOT_DIR=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --cuda-module) CUDA_MODULE=$(readlink -f "$2"); CUDA=given; shift 2 ;;
    --no-cuda) CUDA=none; shift ;;
    --max-glibc) MAX_GLIBC=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done

[ "$(id -u)" = 0 ] || die "needs root: the plug-in is built inside the Debian 13 root (chroot)"
for tool in patchelf objdump readelf python3; do
  command -v "$tool" >/dev/null || die "$tool not found (apt-get install patchelf binutils python3)"
done
ROOT_DIR=$("$REPO/scripts/gimp-root.sh" ${ROOT_DIR:+"$ROOT_DIR"}) || die "no Debian 13 root (scripts/gimp-root.sh)"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
STAGE=$OUT/stage
rm -rf "$STAGE"
mkdir -p "$STAGE"

# Base-system libraries (glibc, GCC runtime), never shipped: the list build_in_root.sh uses too.
BASE_SYSTEM_RE="^($(grep -v '^#' "$REPO/scripts/bundle/base-system.txt" | paste -sd'|'))\$"
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }

# --- 1. the CUDA module, on the host ---------------------------------------------------------------------------
if [ "$CUDA" = auto ]; then
  nvcc=$(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null || true)
  if [ -n "$nvcc" ]; then
    cuda_build=$REPO/build-bundle-cuda
    say "building the CUDA module on this host ($(ldd --version | head -n 1 | awk '{print "glibc", $NF}'); $nvcc)"
    options=(-Dbuildtype=release -Dcuda=enabled -Dgimp=disabled -Dcli=disabled -Dtests=false)
    if [ -f "$cuda_build/build.ninja" ]; then
      PATH=$(dirname "$nvcc"):$PATH meson setup --reconfigure "$cuda_build" "$REPO" "${options[@]}" >"$cuda_build.setup.log" 2>&1
    else
      PATH=$(dirname "$nvcc"):$PATH meson setup "$cuda_build" "$REPO" "${options[@]}" >"$cuda_build.setup.log" 2>&1
    fi || { tail -n 20 "$cuda_build.setup.log" >&2; die "meson setup of the CUDA module failed"; }
    ninja -C "$cuda_build" kernels/cuda/libvitmatte-cuda.so >"$cuda_build.build.log" 2>&1 ||
      { grep -E "error|FAILED" "$cuda_build.build.log" | head -n 20 >&2; die "building the CUDA module failed"; }
    CUDA_MODULE=$cuda_build/kernels/cuda/libvitmatte-cuda.so
    CUDA=given
  else
    say "no nvcc on this host: the bundle is CPU-only (--cuda-module FILE puts a module built elsewhere in)"
    CUDA=none
  fi
fi
if [ "$CUDA" = given ]; then
  [ -f "$CUDA_MODULE" ] || die "no CUDA module at $CUDA_MODULE"
  # cudart must be inside the module (nvcc's static default): the bundle cannot rely on a CUDA toolkit.
  if needed "$CUDA_MODULE" | grep -q '^libcudart'; then die "$CUDA_MODULE links libcudart dynamically"; fi
  cuda_libs=$(needed "$CUDA_MODULE" | grep -vE "$BASE_SYSTEM_RE" || true)
  bad=$(grep -vE '^lib(cublas|cublasLt|cudnn)\.so\.[0-9]+$' <<<"$cuda_libs" || true)
  [ -z "$bad" ] || die "the CUDA module needs libraries the bundle does not document: $bad"
fi

# --- 2. the plug-in and the CLI, in the Debian 13 root ----------------------------------------------------------
say "building the plug-in and the CLI in $ROOT_DIR"
"$REPO/scripts/gimp-root.sh" exec "$ROOT_DIR" --bind "$REPO:/src:ro" --bind "$STAGE:/out" -- \
  /src/scripts/bundle/build_in_root.sh /src "$STATE_IN_ROOT" /out || die "the build in the Debian 13 root failed"
FOLDER=$STAGE/vitmatte-gimp
[ -x "$FOLDER/vitmatte-gimp" ] && [ -x "$FOLDER/vitmatte" ] || die "the root's build left no plug-in or CLI"


# --- 3. the CUDA module and its folder ---------------------------------------------------------------------------
if [ "$CUDA" = given ]; then
  install -m 755 "$CUDA_MODULE" "$FOLDER/libvitmatte-cuda.so" # next to the programs: the engine looks there first
  strip --strip-unneeded "$FOLDER/libvitmatte-cuda.so"
  mkdir -p "$FOLDER/cuda"
  built_runpath=$(readelf -d "$CUDA_MODULE" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')
  # $LD_LIBRARY_PATH first (another CUDA installation), then cuda/ next to it, then the toolkit it was built with.
  patchelf --set-rpath "\$ORIGIN/cuda${built_runpath:+:$built_runpath}:/usr/local/cuda/lib64" "$FOLDER/libvitmatte-cuda.so"
  # Which GPUs it has code for: the -Dgpu_targets of the build it came from (when that build is at hand).
  cuda_targets=""
  cuda_build_dir=$(dirname "$(dirname "$(dirname "$CUDA_MODULE")")")
  if [ -f "$cuda_build_dir/meson-info/intro-buildoptions.json" ]; then
    cuda_targets=$(python3 -c 'import json,sys
for o in json.load(open(sys.argv[1])):
    if o["name"] == "gpu_targets": print(" ".join(o["value"]))' "$cuda_build_dir/meson-info/intro-buildoptions.json")
  fi
fi

# --- 4. run paths: every program and library finds the bundled libraries next to itself --------------------------
# DT_RUNPATH, which serves only the file's own needs: the programs' needs are met from lib/, the libraries' from
# lib/ too, and nothing else in the process looks there. (An executable's DT_RPATH would also serve every library
# GIMP's code loads later, e.g. GEGL modules, which would then get the CLI's libtiff instead of the system's.)
# $LD_LIBRARY_PATH, when set, is searched first: a terminal with a conda or CUDA environment can override.
patchelf --set-rpath '$ORIGIN/lib' "$FOLDER/vitmatte-gimp" "$FOLDER/vitmatte"
for lib in "$FOLDER"/lib/*; do
  [ -e "$lib" ] || continue
  patchelf --set-rpath '$ORIGIN' "$lib"
done
# Every need of every file is met inside the bundle, or left to the system (base system, GIMP's own libraries).
: >"$STAGE/from-gimp.txt"
for f in "$FOLDER/vitmatte-gimp" "$FOLDER/vitmatte" "$FOLDER"/lib/*; do
  [ -e "$f" ] || continue
  for soname in $(needed "$f"); do
    [ -e "$FOLDER/lib/$soname" ] && continue
    grep -qE "$BASE_SYSTEM_RE" <<<"$soname" && continue
    grep -q "^$soname " "$STAGE/bundled-libraries.txt" && die "$soname is listed but missing"
    # Left to the system: GIMP's own libraries (the rule in build_in_root.sh). Name them in the report.
    echo "$soname" >>"$STAGE/from-gimp.txt"
  done
done
sort -u -o "$STAGE/from-gimp.txt" "$STAGE/from-gimp.txt"

# The version: meson.build's, as the built CLI reports it (run with the bundle's own run paths, no environment).
VERSION=$(sed -n "s/^ *version: *'\([^']*\)'.*/\1/p" "$REPO/meson.build" | head -n 1)
cli_version=$("$REPO/scripts/gimp-root.sh" exec "$ROOT_DIR" --bind "$FOLDER:/bundle:ro" -- /bundle/vitmatte --version)
[ "$cli_version" = "vitmatte $VERSION" ] || die "meson.build says $VERSION, the built CLI says '$cli_version'"

# --- 5. what it needs from the system --------------------------------------------------------------------------
say "requirements, from the binaries' symbol versions:"
requirements=$("$REPO/scripts/bundle/requirements.sh" "$FOLDER" "$STAGE/libgimp.symbols")
val() { sed -n "s/^$1=//p" <<<"$requirements"; }
GLIBC=$(val GLIBC)
[ -z "$(val GLIBC_PRIVATE)" ] || die "these files ask for GLIBC_PRIVATE: $(val GLIBC_PRIVATE)"
if [ "$(printf '%s\n%s\n' "$GLIBC" "$MAX_GLIBC" | sort -V | tail -n 1)" != "$MAX_GLIBC" ]; then
  die "the bundle needs glibc $GLIBC ($(val GLIBC_BY)), newer than --max-glibc $MAX_GLIBC"
fi

# --- 6. the README inside, and the archive -----------------------------------------------------------------------
suffix=""
[ "$CUDA" = given ] || suffix=-cpu
ARCHIVE=vitmatte-gimp-$VERSION-linux-x86_64$suffix.tar.gz
export VERSION ARCHIVE GLIBC MAX_GLIBC CUDA CUDA_MODULE cuda_targets
export GLIBCXX=$(val GLIBCXX) GCC=$(val GCC) LIBGIMP=$(val LIBGIMP) STAGE FOLDER REPO
export CUDA_LIBS=${cuda_libs:-}
python3 - <<'PY'
import os, re
e = os.environ
stage, folder = e["STAGE"], e["FOLDER"]
info = dict(line.split(" ", 1) for line in open(f"{stage}/build-root.txt").read().splitlines() if " " in line)
libs = [l.split() for l in open(f"{stage}/bundled-libraries.txt").read().splitlines() if l.strip()]
def ver(v): return tuple(int(x) for x in re.findall(r"\d+", v))
glibc_note = ""
if ver(e["GLIBC"]) <= (2, 40):
    glibc_note = (" (every distribution that packages GIMP 3 has a newer one, and so have GIMP's Flatpak\n"
                  "    runtimes: GNOME 48 with glibc 2.40, GNOME 49 and 50 with glibc 2.42)")
if e["CUDA"] == "given":
    libs_needed = e["CUDA_LIBS"].split()
    cuda_text = f"""libvitmatte-cuda.so runs the model on an NVIDIA GPU (Device: auto or GPU in the dialog). It brings its own
CUDA runtime, but needs from the system an NVIDIA driver for CUDA 13 (version 580 or newer) and NVIDIA's
{" and ".join(libs_needed)} (cuBLAS 13 and cuDNN 9 for CUDA 13, about 1 GB: too big to ship
here). They are looked for, in this order, in $LD_LIBRARY_PATH, in the cuda/ folder next to
libvitmatte-cuda.so, in the CUDA toolkit (/usr/local/cuda/lib64) and in the system's library folders (where
NVIDIA's apt/dnf packages put them). With the Flatpak GIMP only the cuda/ folder works (the sandbox does not
see /usr/local): copy -- not link -- libcublas.so.13, libcublasLt.so.13, every libcudnn*.so.9 and
libnvrtc*.so.13* (cuDNN compiles some kernels at run time) into vitmatte-gimp/cuda/.
GPU code in this build: {e.get("cuda_targets") or "(not recorded)"}
(sm_XY: machine code for compute capability X.Y; compute_XY: PTX that newer GPUs compile on first use). Without
a usable GPU the plug-in says why, and Device: auto runs on the CPU."""
    cuda_files = ("  libvitmatte-cuda.so  the CUDA backend (loaded only when a GPU run is asked for)\n"
                  "  cuda/                the folder for your copies of cuBLAS and cuDNN (see above)\n")
else:
    cuda_text = ("This is the CPU-only build (no libvitmatte-cuda.so): the model runs on the CPU. The archive without -cpu\n"
                 "in its name adds the CUDA backend.")
    cuda_files = ""
values = {
    "VERSION": e["VERSION"], "ARCHIVE": e["ARCHIVE"], "LIBGIMP": e["LIBGIMP"], "GLIBC": e["GLIBC"],
    "GLIBC_NOTE": glibc_note, "GLIBCXX": e["GLIBCXX"], "GCC": e["GCC"],
    "DEBIAN": info.get("debian", "?"), "BUILT_GIMP": info.get("gimp", "?"), "GLIB": info.get("glib", "?"),
    "GTK3": info.get("gtk3", "?"), "CUDA_TEXT": cuda_text, "CUDA_FILES": cuda_files.rstrip("\n"),
    "LIBRARIES": "\n".join(f"                         {s:<24} (Debian {p} {v})" for s, p, v in libs),
}
text = open(f"{e['REPO']}/scripts/bundle/README.txt.in").read()
text = re.sub(r"@([A-Z0-9_]+)@", lambda m: values[m.group(1)], text)
text = text.replace("\n\n\n", "\n\n")
open(f"{folder}/README.txt", "w").write(text)
PY
if [ "$CUDA" = given ]; then
  printf '%s\n' "Put cuBLAS and cuDNN for CUDA 13 here (copies, for the Flatpak GIMP): see ../README.txt, NVIDIA GPU." \
    >"$FOLDER/cuda/README.txt"
fi

# Reproducible: names sorted, owner root, times of the last commit, no gzip timestamp.
epoch=$(git -C "$REPO" log -1 --format=%ct 2>/dev/null || date +%s)
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" -C "$STAGE" -cf - vitmatte-gimp |
  gzip -n -9 >"$OUT/$ARCHIVE.part"
mv "$OUT/$ARCHIVE.part" "$OUT/$ARCHIVE"
say "$(printf '%s\n' "$requirements" | grep -E '^(GLIBC|GLIBCXX|GCC|LIBGIMP)=' | tr '\n' ' ')"
say "bundled: $(awk '{print $1}' "$STAGE/bundled-libraries.txt" | tr '\n' ' ')"
say "left to GIMP: $(tr '\n' ' ' <"$STAGE/from-gimp.txt")"
say "$OUT/$ARCHIVE: $(du -h "$OUT/$ARCHIVE" | cut -f1) packed, $(du -sh "$FOLDER" | cut -f1) unpacked" \
    "(CUDA module: $([ "$CUDA" = given ] && echo yes || echo no))"
echo "$OUT/$ARCHIVE"
