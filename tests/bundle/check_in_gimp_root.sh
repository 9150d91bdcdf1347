#!/bin/bash
# check_in_gimp_root.sh - the download bundle checked where a user would put it: runs inside the --gimp-only Debian 13
# root (the package gimp and what it depends on; no compiler, no -dev packages, no OpenBLAS), unpacks the archive into
# the user's plug-in folder and uses it as a user would. Owns every PASS/FAIL verdict of the bundle test.
#
# Usage: check_in_gimp_root.sh ARCHIVE HELPERS_DIR MODEL_DIR VERSION WORK_DIR
#   ARCHIVE      vitmatte-gimp-VERSION-linux-x86_64[-cpu].tar.gz
#   HELPERS_DIR  vmp-make-test-images and vmp-compare (built in the build root; they need libpng and libtiff, which
#                GIMP depends on, and vmp-compare the engine's libraries, taken from the bundle's lib/)
#   MODEL_DIR    config.json + model.safetensors (the tests' tiny model)
#   VERSION      meson.build's version
#   WORK_DIR     scratch folder (emptied first)
# Prints one line per check and "bundle: N passed, N failed"; exits 1 when anything failed.
set -uo pipefail

ARCHIVE=${1:?ARCHIVE} HELPERS=${2:?HELPERS_DIR} MODEL=${3:?MODEL_DIR} VERSION=${4:?VERSION} WORK=${5:?WORK_DIR}
TOL8=0.0039216 # 1/255: the exported PNG's alpha is 8-bit
GIMP_TIMEOUT=${VMP_GIMP_TIMEOUT:-240}

PASSED=0
FAILED=0
pass() { echo "PASS $*"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL $*"; FAILED=$((FAILED + 1)); }
check() { local rc=$1; shift; if [ "$rc" = 0 ]; then pass "$*"; else fail "$*"; fi; }
finish() {
  echo "bundle: $PASSED passed, $FAILED failed"
  [ "$FAILED" = 0 ]
  exit $?
}

rm -rf "$WORK"
mkdir -p "$WORK/home" "$WORK/in" "$WORK/trimaps" "$WORK/out" "$WORK/ld"
export HOME=$WORK/home
unset DISPLAY GIMP_TESTING_PLUGINDIRS LD_LIBRARY_PATH

# --- the root: GIMP 3, and none of our build dependencies -----------------------------------------------------------
gimp_version=$(gimp-console-3.0 --version 2>/dev/null)
check $? "the root runs GIMP 3 ($gimp_version)"
build_tools=$(for t in gcc cc c99 meson ninja pkg-config nvcc; do command -v "$t"; done)
dev_packages=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' 2>/dev/null | awk '$1 == "ii" && $2 ~ /-dev$/ {print $2}')
headers=$(ls -d /usr/include/gimp-3.0 /usr/include/json-c /usr/include/x86_64-linux-gnu/openblas* 2>/dev/null)
openblas=$(ldconfig -p | grep -E 'libopenblas|libcblas' || true)
[ -z "$build_tools$dev_packages$headers$openblas" ]
check $? "the root has no compiler, build tool, -dev package, header or OpenBLAS:" \
  "${build_tools//$'\n'/ }${dev_packages//$'\n'/ }${headers//$'\n'/ }${openblas//$'\n'/ }"

# --- unpacked as the README says ------------------------------------------------------------------------------------
PLUGINS=$HOME/.config/GIMP/3.0/plug-ins
mkdir -p "$PLUGINS"
tar -xzf "$ARCHIVE" -C "$PLUGINS"
P=$PLUGINS/vitmatte-gimp
[ -x "$P/vitmatte-gimp" ] && [ -x "$P/vitmatte" ] && [ -f "$P/vitmatte-batch.scm" ] && [ -f "$P/README.txt" ]
check $? "$(basename "$ARCHIVE") unpacked into ~/.config/GIMP/3.0/plug-ins: vitmatte-gimp/ holds the plug-in, the CLI," \
  "the Script-Fu helper and README.txt"
[ -x "$P/vitmatte-gimp" ] || finish
case $(basename "$ARCHIVE") in
  "vitmatte-gimp-$VERSION-linux-x86_64.tar.gz" | "vitmatte-gimp-$VERSION-linux-x86_64-cpu.tar.gz")
    pass "the archive's name carries the version $VERSION" ;;
  *) fail "the archive's name carries the version $VERSION" ;;
esac
BUNDLED=$(cd "$P/lib" && ls)
# The system may have its own copies of some (Debian's gimp package depends on libjson-c5, libgfortran5, libgomp1,
# libtiff6 ...): the loader checks below show that the bundle's copies are the ones used.
also_system=$(for s in $BUNDLED; do ldconfig -p | grep -q "^\s*$s " && echo "$s"; done | tr '\n' ' ')
echo "NOTE bundled: $(echo $BUNDLED)"
echo "NOTE of these, the root also has (through GIMP's own dependencies): ${also_system:-none}"

# --- the dynamic loader's view: each bundled library comes from the bundle ------------------------------------------
resolved_in_bundle() { # FILE: ldd finds everything, and every bundled library of FILE inside the bundle
  local file=$1 out soname path bad=""
  out=$(ldd "$file" 2>&1) || { echo "ldd failed: $out"; return 1; }
  grep -q 'not found' <<<"$out" && { grep 'not found' <<<"$out"; return 1; }
  while read -r soname path; do
    if [ -e "$P/lib/$soname" ] && [ "$path" != "$P/lib/$soname" ]; then bad="$bad $soname=>$path"; fi
  done < <(awk '$2 == "=>" {print $1, $3}' <<<"$out")
  [ -z "$bad" ] || { echo "from outside the bundle:$bad"; return 1; }
}
for prog in vitmatte-gimp vitmatte; do
  why=$(resolved_in_bundle "$P/$prog")
  check $? "ldd $prog: every library found, each bundled one in vitmatte-gimp/lib ${why:+($why)}"
done

# --- the bundled CLI -----------------------------------------------------------------------------------------------
out=$("$P/vitmatte" --version 2>&1)
[ "$out" = "vitmatte $VERSION" ]
check $? "vitmatte --version prints 'vitmatte $VERSION' (got '$out')"
"$HELPERS/vmp-make-test-images" "$WORK" || { fail "test images generated"; finish; }
for case in scene:scene.png gray:scene_gray.png; do
  name=${case%%:*} image=${case#*:}
  "$P/vitmatte" --model "$MODEL" --device cpu --quiet "$WORK/$image" "$WORK/trimap.png" -o "$WORK/cli_$name.tif" \
    >"$WORK/cli_$name.log" 2>&1
  check $? "bundled CLI: alpha of $image + trimap.png $(tail -n 1 "$WORK/cli_$name.log")"
done
# The GPU path: the CLI finds the bundled CUDA module next to itself; this root has no cuBLAS/cuDNN (nor a GPU), so
# the module cannot load, and the CLI must say which library is missing, with the device error status 3.
"$P/vitmatte" --model "$MODEL" --device cuda --quiet "$WORK/scene.png" "$WORK/trimap.png" -o "$WORK/cuda.png" \
  >"$WORK/cuda.log" 2>&1
rc=$?
if [ -f "$P/libvitmatte-cuda.so" ]; then
  [ "$rc" = 3 ] && grep -Eq "CUDA backend could not be loaded: cu(BLAS|DNN) [0-9]+ is not installed \(libcu[a-zA-Z]*\.so\.[0-9]+ not found\): install" "$WORK/cuda.log"
  check $? "bundled CUDA module found next to the CLI; without cuBLAS/cuDNN it names the missing library (exit $rc:" \
    "$(tail -n 1 "$WORK/cuda.log"))"
  unresolved=$(ldd "$P/libvitmatte-cuda.so" | awk '/not found/ {print $1}' | grep -vE '^lib(cublas|cublasLt|cudnn)\.so\.' || true)
  [ -z "$unresolved" ]
  check $? "ldd libvitmatte-cuda.so: only NVIDIA's cuBLAS/cuDNN are missing here ${unresolved:+(also: $unresolved)}"
else
  [ "$rc" = 3 ] && grep -q "is not installed" "$WORK/cuda.log"
  check $? "CPU-only bundle: --device cuda says the CUDA backend is not installed (exit $rc: $(tail -n 1 "$WORK/cuda.log"))"
fi
[ ! -e "$WORK/cuda.png" ]
check $? "the failed GPU run wrote no output file"

# --- GIMP ----------------------------------------------------------------------------------------------------------
# The model where README.txt says: model/ inside the plug-in's folder; the batch call leaves the model argument empty.
mkdir -p "$P/model" && cp "$MODEL/config.json" "$MODEL/model.safetensors" "$P/model/"
cp "$WORK/scene.png" "$WORK/in/scene.png"
cp "$WORK/scene_gray.png" "$WORK/in/portrait.png"
cp "$WORK/trimap.png" "$WORK/trimaps/scene.png"
cp "$WORK/trimap.png" "$WORK/trimaps/portrait.png"

gimp_batch() { # NAME SCHEME [ENV...]: gimp-console-3.0 with GIMP's default plug-in search path and a fresh profile
  local name=$1 scheme=$2 rc=0
  shift 2
  env "$@" timeout "$GIMP_TIMEOUT" gimp-console-3.0 -i --batch-interpreter=plug-in-script-fu-eval -b "$scheme" --quit \
    >"$WORK/$name.log" 2>&1 || rc=$?
  check "$rc" "gimp-console $name run ended normally (exit code $rc)"
  if grep -E 'Plug-in crashed|GIMP-Error|CRITICAL' "$WORK/$name.log" | grep -vE 'Unable to run plug-in "(file-|script-fu-server)' |
     grep -q .; then
    fail "gimp-console $name: no crash or GIMP error: $(grep -E 'Plug-in crashed|GIMP-Error|CRITICAL' "$WORK/$name.log" | head -n 3)"
  fi
}

# 1. First start: GIMP queries the plug-ins of the user's folder (starting the bundled executable) and records ours
# in pluginrc, with the blurb the PDB reports, which carries the version.
gimp_batch register '(gimp-message "started")'
PLUGINRC=$HOME/.config/GIMP/3.0/pluginrc
grep -qE '^\(plug-in-def "(\$\{gimp_dir\}|'"$HOME"'/.config/GIMP/3.0)/plug-ins/vitmatte-gimp/vitmatte-gimp"' "$PLUGINRC" 2>/dev/null &&
  grep -q '(proc-def "plug-in-vitmatte"' "$PLUGINRC"
check $? "GIMP registered plug-in-vitmatte from the user's plug-in folder (pluginrc)"
blurb=$(grep -A1 '(proc-def "plug-in-vitmatte"' "$PLUGINRC" 2>/dev/null | tail -n 1 | sed 's/^ *"//; s/"$//')
[[ "$blurb" == *"(vitmatte-gimp $VERSION)" ]]
check $? "the procedure's blurb ends with (vitmatte-gimp $VERSION) (pluginrc: '$blurb')"

# 2. The Script-Fu matting of the integration tests (the batch example of plugin/README.md), with the helper that
# came in the bundle. LD_DEBUG=libs makes every process of this run write which file it loaded for each library.
gimp_batch matte "(begin (load \"$P/vitmatte-batch.scm\")
  (vitmatte-folder \"$WORK/in\" \"$WORK/trimaps\" \"$WORK/out\" \"\"))" \
  LD_DEBUG=libs LD_DEBUG_OUTPUT="$WORK/ld/trace"
for case in scene:scene gray:portrait; do
  name=${case%%:*} file=${case#*:}
  # vmp-compare links the engine (it recomputes decontaminated colours in the GIMP suite): it takes the libraries
  # the bundle brings, as a test helper, not through the plug-in's own run paths
  LD_LIBRARY_PATH="$P/lib" "$HELPERS/vmp-compare" "GIMP's mask ($name)" "$WORK/out/$file.png" "$WORK/cli_$name.tif" "$TOL8" >"$WORK/compare_$name.log" 2>&1
  check $? "GIMP's exported alpha of the $name picture equals the bundled CLI's alpha within 1/255:" \
    "$(tail -n 1 "$WORK/compare_$name.log")"
done
# The plug-in processes GIMP started (their traces name the plug-in's RUNPATH) took every bundled library the
# plug-in needs from the bundle and no other copy of it. (The CLI's libtiff & co. may come from the system there:
# GIMP's own GEGL modules load them in every plug-in process.)
plugin_libs=$(ldd "$P/vitmatte-gimp" | awk -v lib="$P/lib/" '$2 == "=>" && index($3, lib) == 1 {print $1}')
traces=$(grep -lF "(RUNPATH from file $P/vitmatte-gimp)" "$WORK"/ld/trace.* 2>/dev/null)
if [ -z "$traces" ] || [ -z "$plugin_libs" ]; then
  fail "LD_DEBUG: no trace of a vitmatte-gimp process started by GIMP, or no bundled library in its ldd"
else
  bad=""
  for t in $traces; do
    for s in $plugin_libs; do
      loads=$(grep -E "calling init: .*/${s//./\\.}\$" "$t" | sed 's/.*calling init: //' | sort -u)
      [ "$loads" = "$P/lib/$s" ] || bad="$bad $(basename "$t"):$s<-[${loads//$'\n'/,}]"
    done
  done
  [ -z "$bad" ]
  check $? "LD_DEBUG: the $(wc -w <<<"$traces") plug-in process(es) GIMP started loaded the plug-in's" \
    "$(wc -w <<<"$plugin_libs") bundled libraries ($(echo $plugin_libs)) from vitmatte-gimp/lib, and no other copy" \
    "${bad:+($bad)}"
fi
rm -rf "$WORK/ld" # tens of MB of traces; the verdict above is what counts

finish
