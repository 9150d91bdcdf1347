#!/usr/bin/env bash
# test_cli_formats.sh - vitmatte runs on every input format and writes every output format, with a real model.
# The same picture in 8-bit, 16-bit (v * 257) and float must give the same alpha; PNG outputs must be the float
# TIFF output quantized; failed writes must leave nothing. Skips (77) without a model.
# Usage: bash test_cli_formats.sh VITMATTE MAKE_TEST_IMAGES COMPARE_ALPHA MODEL_DIR
VITMATTE=$(realpath "$1")
MAKE_TEST_IMAGES=$(realpath "$2")
COMPARE_ALPHA=$(realpath "$3")
MODEL=$(realpath -m "$4")
if [ ! -f "$MODEL/config.json" ]; then
  echo "SKIP: no model at $MODEL (data/tiny is made by the fixture generator, tests/reference/gen_fixtures.py)"
  exit 77
fi
# shellcheck source=cli_test_lib.sh
. "$(dirname "$0")/cli_test_lib.sh"
"$MAKE_TEST_IMAGES" "$TMP" 1024 768 || { echo "FAIL cannot make test images"; exit 1; }
cd "$TMP" || exit 1
mkdir out
CPU=(--model "$MODEL" --device cpu --precision fp32)

# expect_run WHAT OUTPUT ARGS...: a quiet run must succeed silently and write OUTPUT, leaving no temporary file.
expect_run() {
  local what=$1 output=$2
  shift 2
  rm -f "$output"
  run_cli "${CPU[@]}" --quiet "$@" -o "$output"
  if [ "$rc" -ne 0 ]; then fail "$what: exit $rc: $err"; return 1; fi
  if [ -n "$err$out" ]; then fail "$what: --quiet run printed: $err$out"; return 1; fi
  if [ ! -s "$output" ] || [ "$(leftovers "$(dirname "$output")")" -ne 0 ]; then
    fail "$what: no output or a temporary file left"; return 1
  fi
  return 0
}

# expect_same WHAT A B TOLERANCE
expect_same() {
  local report
  if report=$("$COMPARE_ALPHA" "$2" "$3" "$4" 2>&1); then pass "$1: $report"; else fail "$1: $report"; fi
}

echo "vitmatte input and output formats (model $MODEL, CPU fp32)"
expect_run "8-bit PNG picture" out/a8.tif image8.png trimap.png && pass "8-bit PNG picture runs quietly"
expect_run "16-bit PNG picture" out/a16.tif image16.png trimap.png &&
  expect_same "16-bit PNG picture (v * 257) gives the 8-bit alpha" out/a8.tif out/a16.tif 1e-6
expect_run "16-bit PNG trimap" out/t16.tif image8.png trimap16.png &&
  expect_same "16-bit PNG trimap (v * 257) gives the 8-bit alpha" out/a8.tif out/t16.tif 1e-6
expect_run "8-bit TIFF picture" out/tif8.tif image8.tif trimap.png &&
  expect_same "8-bit TIFF picture gives the PNG alpha" out/a8.tif out/tif8.tif 0
expect_run "16-bit TIFF picture" out/tif16.tif image16.tif trimap.png &&
  expect_same "16-bit TIFF picture gives the 8-bit alpha" out/a8.tif out/tif16.tif 1e-6
expect_run "float TIFF picture" out/tiff.tif imagef.tif trimap.png &&
  expect_same "float TIFF picture (v / 255) gives the 8-bit alpha" out/a8.tif out/tiff.tif 1e-5
expect_run "JPEG picture" out/jpg.tif image.jpg trimap.png &&
  expect_same "JPEG picture loads and gives an alpha in 0..1 of the right size" out/a8.tif out/jpg.tif 1
expect_run "gray picture" out/gray.tif gray.png trimap.png && expect_run "gray as RGB" out/grayrgb.tif gray_as_rgb.png trimap.png &&
  expect_same "a gray picture equals the RGB picture with R = G = B" out/gray.tif out/grayrgb.tif 0
expect_run "RGB trimap with equal channels" out/trgb.tif image8.png trimap_rgb.png &&
  expect_same "an RGB trimap with R = G = B equals the gray trimap" out/a8.tif out/trgb.tif 0

expect_run "8-bit PNG output" out/a8.png image8.png trimap.png && {
  if r=$("$COMPARE_ALPHA" --quantized out/a8.tif out/a8.png); then pass "8-bit PNG output: $r"; else fail "8-bit PNG output: $r"; fi; }
expect_run "16-bit PNG output" out/a16.png image8.png trimap.png --bits 16 && {
  if r=$("$COMPARE_ALPHA" --quantized out/a8.tif out/a16.png); then pass "16-bit PNG output: $r"; else fail "16-bit PNG output: $r"; fi; }

expect_run "one thread" out/t1.tif image8.png trimap.png --threads 1 &&
  expect_same "--threads 1 gives the same alpha" out/a8.tif out/t1.tif 1e-5

# Without --quiet and with stderr not a terminal: a summary line, no progress bar.
run_cli "${CPU[@]}" image8.png trimap.png -o out/summary.png
if [ "$rc" -eq 0 ] && [[ "$err" == *"vitmatte: wrote out/summary.png (67x45)"* ]] && [[ "$err" != *$'\r'* ]]; then
  pass "the summary names the output, size and device, and no progress bar is drawn off a terminal: $err"
else fail "summary: exit $rc, stderr: $err"; fi

# An existing output is replaced by a successful run.
echo "old" >out/replace.png
expect_run "replacing an output" out/replace.png image8.png trimap.png &&
  { if [ "$(head -c 4 out/replace.png | tail -c 3)" = "PNG" ]; then pass "a successful run replaces an existing output"
    else fail "the existing output was not replaced"; fi; }

# Writing fails: a missing folder, and a write cut short by the file size limit (as on a full disk).
expect_error "output into a missing folder" 1 "cannot write out/none/a.png: the folder out/none does not exist" out/none/a.png -- \
  "${CPU[@]}" image8.png trimap.png -o out/none/a.png
echo "old" >out/limited.tif
( trap '' XFSZ; ulimit -f 1; "$VITMATTE" "${CPU[@]}" image8.png trimap.png -o out/limited.tif >"$TMP/stdout" 2>"$TMP/stderr" )
rc=$?
err=$(cat "$TMP/stderr")
if [ "$rc" -eq 0 ] && [ "$(leftovers out)" -eq 0 ]; then
  echo "NOTE write-failure check not exercised: this alpha compresses below 1 KiB (test_image_io covers that path)"
elif [ "$rc" -eq 1 ] && [[ "$err" == "vitmatte: cannot write out/limited.tif"* ]] && [ "$(cat out/limited.tif)" = "old" ] &&
   [ "$(leftovers out)" -eq 0 ]; then
  pass "a write cut short keeps the old file and leaves no temporary: $err"
else fail "write cut short: exit $rc, stderr '$err', old file '$(head -c 20 out/limited.tif)'"; fi

# CUDA: runs where a GPU is usable, else exit 3 with one line.
run_cli --model "$MODEL" --device cuda --quiet image8.png trimap.png -o out/cuda.tif
if [ "$rc" -eq 0 ]; then pass "--device cuda ran on a GPU"
elif [ "$rc" -eq 3 ] && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] && [ ! -e out/cuda.tif ]; then
  pass "--device cuda without a usable GPU: exit 3, \"$err\""
else fail "--device cuda: exit $rc, stderr: $err"; fi

# Ctrl-C. The tool installs its SIGINT handler first thing; /proc/PID/status shows when (SigCgt bit 2), so the
# signal is never sent too early (to a process that would still ignore it, as background jobs of scripts do).
# start_large: starts a run on the large picture in the background and waits until it catches SIGINT.
start_large() {
  rm -f out/cancelled.tif # a previous, inconclusive run may have finished and written it
  "$VITMATTE" "${CPU[@]}" large.png large_trimap.png -o out/cancelled.tif >"$TMP/stdout" 2>"$TMP/stderr" &
  pid=$!
  local tries=0 mask
  while [ $tries -lt 500 ]; do
    mask=$(awk '/^SigCgt:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || break
    # the forked shell catches SIGINT too until it has exec'd the tool: the tool's own image first
    [ "$(readlink "/proc/$pid/exe")" = "$VITMATTE" ] && [ -n "$mask" ] && (( 16#$mask & 2 )) && return 0
    sleep 0.01
    tries=$((tries + 1))
  done
  return 1
}
# expect_cancelled WHAT: the background run must end with 130, "vitmatte: cancelled" last, and no output.
expect_cancelled() {
  wait "$pid"
  rc=$?
  err=$(cat "$TMP/stderr")
  if [ "$rc" -eq 0 ]; then
    echo "NOTE $1: not conclusive, the run finished before the signal"
  elif [ "$rc" -eq 130 ] && [ "$(printf '%s\n' "$err" | tail -n 1)" = "vitmatte: cancelled" ] &&
       [ ! -e out/cancelled.tif ] && [ "$(leftovers out)" -eq 0 ]; then
    pass "$1: exit 130, 'vitmatte: cancelled', no output"
  else fail "$1: exit $rc, stderr: $err"; fi
}

# As soon as the handler is in place: the run stops at its next check, before or inside the model.
if start_large; then kill -INT "$pid"; expect_cancelled "SIGINT at the start"
else wait "$pid"; fail "the SIGINT handler was never installed"; fi

# In the middle of the run, timed from a complete run, so that it lands inside the engine's forward pass and the
# engine's progress callback is what stops it.
start_ns=$(date +%s%N)
run_cli "${CPU[@]}" large.png large_trimap.png -o out/timing.tif
half_s=$(awk -v ns=$(( $(date +%s%N) - start_ns )) 'BEGIN { printf "%.3f", ns / 2e9 }')
if [ "$rc" -ne 0 ]; then fail "the large run failed: $err"
elif start_large; then sleep "$half_s"; kill -INT "$pid" 2>/dev/null; expect_cancelled "SIGINT after ${half_s} s (half a run)"
else wait "$pid"; fail "the SIGINT handler was never installed"; fi

finish
