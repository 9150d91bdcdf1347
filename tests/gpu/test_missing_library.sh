#!/usr/bin/env bash
# test_missing_library.sh - a machine with the CUDA module but without cuDNN (or cuBLAS) installed: the CLI with
# --device auto prints one notice that names the missing library and where to get it, and runs on the CPU; with
# --device cuda it fails with that message. Runs with or without a GPU: the module fails to load before any GPU is
# asked for. The library is really absent for the CLI: in a private mount namespace (unshare, needs root) every
# folder holding it is covered by a folder of links to everything else in it, and LD_LIBRARY_PATH loses the
# folders that hold it.
#
# Usage: test_missing_library.sh MODULE.so VITMATTE_CLI MODEL_DIR IMAGE TRIMAP
set -u
module=$1 cli=$2 model=$3 image=$4 trimap=$5
[ "$(id -u)" = 0 ] && command -v unshare >/dev/null || { echo "SKIP needs root and unshare (a mount namespace)"; exit 77; }
[ -e "$module" ] || { echo "SKIP no CUDA module at $module"; exit 77; }
if ldd "$module" | grep -q "not found"; then
  echo "SKIP the module's libraries are not all found here: $(ldd "$module" | grep 'not found')"
  exit 77
fi
tmp=$(mktemp -d /tmp/vitmatte-missing-lib-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failures=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

# Every folder the dynamic loader could take PATTERN* from: where the module resolves it, the ld.so cache, and
# LD_LIBRARY_PATH.
folders_of() {
  {
    ldd "$module" | awk -v p="$1" '$1 ~ "^"p && $3 ~ /^\// {print $3}'
    ldconfig -p | awk -v p="$1" '$1 ~ "^"p {print $NF}'
    local IFS=:
    for d in ${LD_LIBRARY_PATH:-}; do ls "$d"/"$1"* 2>/dev/null; done
  } | while read -r f; do dirname "$(readlink -f "$f")"; dirname "$f"; done | sort -u
}

# run_hidden PATTERN LABEL: the CLI in a mount namespace where no file named PATTERN* can be found
run_hidden() {
  local pattern=$1 label=$2 dir="$tmp/$2"
  mkdir -p "$dir"
  local folders=() keep=() d
  mapfile -t folders < <(folders_of "$pattern")
  local IFS=:
  for d in ${LD_LIBRARY_PATH:-}; do
    ls "$d"/"$pattern"* >/dev/null 2>&1 || keep+=("$d")
  done
  local ldpath="${keep[*]}"
  unset IFS
  # inside the namespace: each folder bound aside and a folder of links to all but PATTERN* made for it, and only then
  # the folders covered by those: covering first would take libc itself (in /usr/lib/x86_64-linux-gnu with cuDNN's
  # Debian package) from the ln and mount still to run
  local script='set -e; i=0
    for d in "$@"; do
      [ -d "$d" ] || continue
      i=$((i + 1)); mkdir -p "$TMPD/orig$i" "$TMPD/new$i"; mount --bind "$d" "$TMPD/orig$i"
      for f in "$TMPD/orig$i"/* "$TMPD/orig$i"/.[!.]*; do
        [ -e "$f" ] || [ -L "$f" ] || continue
        case "${f##*/}" in $PATTERN*) ;; *) ln -s "$f" "$TMPD/new$i/${f##*/}" ;; esac
      done
    done
    i=0
    for d in "$@"; do
      [ -d "$d" ] || continue
      i=$((i + 1)); mount --bind "$TMPD/new$i" "$d"
    done
    set +e
    LD_LIBRARY_PATH="$LDPATH" VITMATTE_CUDA_MODULE="$MODULE" "$CLI" --model "$MODEL" --device auto --threads 2 \
      "$IMAGE" "$TRIMAP" -o "$TMPD/alpha.png" >"$TMPD/out1" 2>"$TMPD/err1"; echo $? >"$TMPD/rc1"
    LD_LIBRARY_PATH="$LDPATH" VITMATTE_CUDA_MODULE="$MODULE" "$CLI" --model "$MODEL" --device cuda \
      "$IMAGE" "$TRIMAP" -o "$TMPD/alpha2.png" >"$TMPD/out2" 2>"$TMPD/err2"; echo $? >"$TMPD/rc2"'
  TMPD=$dir PATTERN=$pattern LDPATH=$ldpath MODULE=$module CLI=$cli MODEL=$model IMAGE=$image TRIMAP=$trimap \
    unshare --mount --propagation private bash -c "$script" hide "${folders[@]}" ||
    { fail "$label: could not hide ${folders[*]} in a mount namespace"; return; }

  local rc notice
  rc=$(cat "$dir/rc1")
  notice=$(grep "GPU not used" "$dir/err1")
  if [ "$rc" -ne 0 ] || [ ! -s "$dir/alpha.png" ]; then
    fail "$label, --device auto: exit $rc, $(cat "$dir/err1")"
  elif [ "$(grep -c "GPU not used" "$dir/err1")" -ne 1 ] || [[ "$notice" != *"$pattern"* ]] ||
       [[ "$notice" != *install* ]]; then
    fail "$label, --device auto: expected one notice naming $pattern and how to install it: $(cat "$dir/err1")"
  elif ! grep -q " on CPU" "$dir/err1"; then
    fail "$label, --device auto: not run on the CPU: $(cat "$dir/err1")"
  else
    pass "$label hidden (${folders[*]}), --device auto: $notice"
  fi
  rc=$(cat "$dir/rc2")
  if [ "$rc" -eq 0 ] || [ -e "$dir/alpha2.png" ] || ! grep -q "$pattern" "$dir/err2" ||
     [ "$(wc -l <"$dir/err2")" -ne 1 ]; then
    fail "$label, --device cuda: expected one error line naming $pattern, exit $rc: $(cat "$dir/err2")"
  else
    pass "$label hidden, --device cuda: exit $rc: $(cat "$dir/err2")"
  fi
}

run_hidden libcudnn cudnn
run_hidden libcublas cublas
echo "missing library: $failures failed"
[ $failures -eq 0 ]
