#!/usr/bin/env bash
# test_cli_download.sh - `vitmatte models`, `vitmatte download` and `--model small` against hub_server.py (run by
# with_hub.sh, which sets HUB_URL and HUB_STATE): the listing, the progress bar on a terminal, the downloaded model
# giving the same alpha as the folder it came from, a corrupted file, 404, a server that is gone, Ctrl-C and resume,
# and a full disk (a 512 KiB tmpfs in a private mount namespace; where mounting is not allowed, a file-size limit).
# Usage: with_hub.sh ... -- bash test_cli_download.sh VITMATTE TINY_MODEL_DIR SAMPLE_DIR
VITMATTE=$(realpath "$1")
TINY=$(realpath "$2")
SAMPLE=$(realpath "$3")
# shellcheck source=../cli/cli_test_lib.sh
. "$(dirname "$0")/../cli/cli_test_lib.sh"
[ -n "${HUB_URL:-}" ] || { echo "FAIL run me through with_hub.sh"; exit 1; }
cd "$TMP" || exit 1
export VITMATTE_MODELS=$TMP/models HF_ENDPOINT=$HUB_URL
# shellcheck source=hub_env.sh
. "$(dirname "$0")/hub_env.sh"
mode() { hub_mode "$1"; }
log_mark() { wc -c <"$HUB_STATE/requests.log" 2>/dev/null || echo 0; }
log_since() { tail -c +$(($1 + 1)) "$HUB_STATE/requests.log"; }
IMG=$SAMPLE/image.png
TRI=$SAMPLE/trimap.png
SMALL=$VITMATTE_MODELS/vitmatte-small-composition-1k

echo "vitmatte models / download / --model NAME against a local hub"
mode normal
run_cli models
if [ "$rc" -eq 0 ] && [ "$(grep -c 'not downloaded' <<<"$out")" -eq 4 ] && [[ "$out" == *"Models folder: $VITMATTE_MODELS"* ]]; then
  pass "models: the four official checkpoints, none downloaded, and the models folder"
else fail "models on an empty folder: exit $rc: $out $err"; fi

expect_error "--model small before downloading it" 2 "run 'vitmatte download small'" out.png -- \
  --model small "$IMG" "$TRI" -o out.png

# The progress bar is drawn only on a terminal: script(1) gives the download one.
mode slow
script -qfec "$VITMATTE download small" "$TMP/tty.log" >/dev/null 2>&1
rc=$?
bar=$(tr '\r' '\n' <"$TMP/tty.log")
if [ "$rc" -eq 0 ] && grep -qE '^vitmatte: \[#+\.*\] +[0-9]+% [0-9.]+/1\.4 MB, [0-9.]+ MB/s' <<<"$bar" &&
   grep -q 'checking SHA-256' <<<"$bar" && grep -q "downloaded to $SMALL (SHA-256 checked, commit 6a58ad7" <<<"$bar"; then
  pass "download small: a progress bar with bytes, total and rate on a terminal, then the folder and the commit"
else fail "download small on a terminal: exit $rc: $(tail -c 600 "$TMP/tty.log")"; fi
mode normal

run_cli models --path small
if [ "$rc" -eq 0 ] && [ "$out" = "$SMALL" ]; then pass "models --path small: $out"
else fail "models --path small: exit $rc, '$out' '$err'"; fi
run_cli models
if [[ "$out" == *"small      installed"*"(commit 6a58ad7)"* ]]; then pass "models: small is installed, with its commit"
else fail "models after the download: $out"; fi

run_cli --model small "$IMG" "$TRI" -o by-name.png --quiet
rc1=$rc
run_cli --model "$TINY" "$IMG" "$TRI" -o by-path.png --quiet
if [ "$rc1" -eq 0 ] && [ "$rc" -eq 0 ] && cmp -s by-name.png by-path.png; then
  pass "--model small mattes with the downloaded model: the same alpha as --model $TINY"
else fail "--model small: exit $rc1 / $rc, or the alphas differ"; fi

run_cli download small
if [ "$rc" -eq 0 ] && [[ "$err" == *"already downloaded: $SMALL"* ]]; then pass "download small again: already downloaded"
else fail "download small again: exit $rc: $err"; fi

mode corrupt
expect_error "a corrupted byte" 3 "is damaged: its SHA-256 is" nothing.png -- download --quiet base
if [ ! -e "$VITMATTE_MODELS/vitmatte-base-composition-1k" ] &&
   [ -z "$(find "$VITMATTE_MODELS" -name 'model.safetensors*' -path '*base*')" ]; then
  pass "the damaged model.safetensors was removed and no model folder appeared"
else fail "after the checksum error: $(find "$VITMATTE_MODELS" -path '*base*')"; fi
mode normal

expect_error "an unknown revision (404)" 2 "HTTP 404" nothing.png -- download --quiet --revision v9 small-646
expect_error "an unknown repository (401)" 2 "HTTP 401" nothing.png -- download --quiet nobody/nothing
expect_error "not a model name" 1 "neither a model name" nothing.png -- download tiny
HF_ENDPOINT=http://127.0.0.1:1 expect_error "server gone" 3 "cannot connect to 127.0.0.1" nothing.png -- \
  download --quiet small-646

# Ctrl-C during a slow download: exit 130, the part kept; the next run resumes with a Range request.
mode slow
part=$VITMATTE_MODELS/.vitmatte-small-distinctions-646.download/model.safetensors.part
"$VITMATTE" download small-646 >/dev/null 2>"$TMP/int.err" &
pid=$!
for _ in $(seq 100); do [ -s "$part" ] && [ "$(stat -c %s "$part")" -gt 50000 ] && break; sleep 0.1; done
kill -INT $pid
wait $pid
rc=$?
kept=$(stat -c %s "$part" 2>/dev/null || echo 0)
if [ "$rc" -eq 130 ] && grep -q "cancelled; what arrived is kept" "$TMP/int.err" && [ "$kept" -gt 0 ]; then
  pass "Ctrl-C: exit 130, $kept bytes kept"
else fail "Ctrl-C: exit $rc, $kept bytes kept: $(cat "$TMP/int.err")"; fi
mode normal
mark=$(log_mark)
run_cli download --quiet small-646
if [ "$rc" -eq 0 ] && log_since "$mark" | grep -q "range=bytes=$kept-" && [ -f "$VITMATTE_MODELS/vitmatte-small-distinctions-646/download.json" ]; then
  pass "the next download resumes at byte $kept and finishes"
else fail "resume after Ctrl-C: exit $rc: $err"; fi

# A full disk. Mounting a tmpfs needs a private mount namespace: root's, else a user namespace's.
not_tested=()
disk_full_case() { # NAME MODE EXPECTED_TEXT
  local what=$1 m=$2 text=$3 dir=$TMP/small-disk
  mkdir -p "$dir"
  mode "$m"
  local script="mount -t tmpfs -o size=512k tmpfs '$dir' && VITMATTE_MODELS='$dir/models' '$VITMATTE' download --quiet base-646;
                echo \"rc=\$?\"; echo \"left: \$(ls -A '$dir/models/.vitmatte-base-distinctions-646.download' 2>/dev/null)\""
  local result
  if [ "$(id -u)" = 0 ]; then result=$(unshare --mount --propagation private sh -c "$script" 2>&1)
  else result=$(unshare --user --map-root-user --mount sh -c "$script" 2>&1); fi
  if ! grep -q '^rc=' <<<"$result"; then
    if [ "$m" != no-length ]; then
      # Passing without the check: CI may lack mount rights. Said where it happens and again at the end.
      not_tested+=("'$what' (the free-space check before a download whose size is known needs a small file system)")
      echo "SKIP $what: NOT TESTED in this run: no tmpfs could be mounted ($result), and the free-space check"
      echo "     it covers needs a small file system (a file-size limit cannot stand in for one)"
      mode normal
      return
    fi
    echo "NOTE cannot mount a tmpfs here ($result): $what falls back to a 512 KiB file-size limit"
    result=$( (trap '' XFSZ; ulimit -f 512; VITMATTE_MODELS=$dir/models "$VITMATTE" download --quiet base-646
               echo "rc=$?"; echo "left: $(ls -A "$dir/models/.vitmatte-base-distinctions-646.download" 2>/dev/null)") 2>&1)
  fi
  if grep -q '^rc=3$' <<<"$result" && grep -q "$text" <<<"$result" && ! grep -q '^left: .*model.safetensors.part' <<<"$result"; then
    pass "$what: exit 3, \"$(grep '^vitmatte:' <<<"$result" | head -1)\", no partial file left"
  else fail "$what: $result"; fi
  mode normal
}
disk_full_case "disk full, size known in advance" normal "not enough space"
disk_full_case "disk full while writing (the server sends no size)" no-length "disk full writing"

run_cli download --quiet small-646
if [ "$rc" -eq 0 ] && [ -z "$out" ] && [[ "$err" == "" ]]; then pass "--quiet prints nothing when all is well"
else fail "--quiet: exit $rc: '$out' '$err'"; fi

for case in "${not_tested[@]}"; do echo "NOT TESTED here (the test still passes): $case"; done
finish
