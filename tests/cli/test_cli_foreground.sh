#!/usr/bin/env bash
# test_cli_foreground.sh - cut-outs from the CLI: `vitmatte ... --cutout` and `vitmatte foreground IMAGE ALPHA -o OUT`
# write exactly the engine's foreground colours (quantized for PNG) and the alpha, for every input type and output
# format; the error paths say one line and leave nothing. Needs the tiny test model (data/tiny) for the alphas.
# Usage: bash test_cli_foreground.sh VITMATTE MAKE_TEST_IMAGES COMPARE_CUTOUT MODEL_DIR
VITMATTE=$(realpath "$1")
MAKE_TEST_IMAGES=$(realpath "$2")
COMPARE_CUTOUT=$(realpath "$3")
MODEL=$(realpath -m "$4")
if [ ! -f "$MODEL/config.json" ]; then echo "SKIP: no model at $MODEL"; exit 77; fi
# shellcheck source=cli_test_lib.sh
. "$(dirname "$0")/cli_test_lib.sh"
"$MAKE_TEST_IMAGES" "$TMP" 640 480 || { echo "FAIL cannot make test images"; exit 1; }
cd "$TMP" || exit 1
mkdir out
CPU=(--device cpu --quiet)

# expect_file WHAT OUTPUT IMAGE ALPHA -- ARGS...: a quiet run must succeed silently, write OUTPUT and nothing else, and
# OUTPUT must hold the engine's foreground of IMAGE with ALPHA (METHOD=jacobi: the Jacobi variant's).
expect_file() {
  local what=$1 output=$2 image=$3 alpha=$4
  shift 5
  rm -f "$output"
  run_cli "$@"
  if [ "$rc" -ne 0 ]; then fail "$what: exit $rc: $err"; return; fi
  if [ -n "$err$out" ]; then fail "$what: --quiet run printed: $err$out"; return; fi
  if [ ! -s "$output" ] || [ "$(leftovers out)" -ne 0 ]; then fail "$what: no output or a temporary file left"; return; fi
  local report
  if report=$("$COMPARE_CUTOUT" "$image" "$alpha" "$output" "${METHOD:-sequential}" 2>&1); then pass "$what: $report"
  else fail "$what: $report"; fi
}

echo "vitmatte cut-outs (model $MODEL, CPU)"
# --cutout on a normal run: the alpha as float TIFF, so the check sees the exact alpha the cut-out was made from
expect_file "--cutout PNG: 8-bit RGBA, the foreground colours and the alpha" out/cut.png image8.png out/a.tif -- \
  --model "$MODEL" "${CPU[@]}" image8.png trimap.png -o out/a.tif --cutout out/cut.png
expect_file "--cutout PNG --bits 16: 16-bit RGBA" out/cut16.png image8.png out/a.tif -- \
  --model "$MODEL" "${CPU[@]}" image8.png trimap.png -o out/a.tif --cutout out/cut16.png --bits 16
expect_file "--cutout TIFF: float RGBA" out/cut.tif image8.png out/a.tif -- \
  --model "$MODEL" "${CPU[@]}" image8.png trimap.png -o out/a.tif --cutout out/cut.tif
expect_file "--cutout of a gray picture: gray + alpha" out/cutg.png gray.png out/ag.tif -- \
  --model "$MODEL" "${CPU[@]}" gray.png trimap.png -o out/ag.tif --cutout out/cutg.png

# the foreground command on a given alpha
expect_file "foreground -o TIFF: float RGB colours" out/F.tif image8.png out/a.tif -- \
  foreground "${CPU[@]}" image8.png out/a.tif -o out/F.tif
expect_file "foreground of a 16-bit picture" out/F16.tif image16.png out/a.tif -- \
  foreground "${CPU[@]}" image16.png out/a.tif -o out/F16.tif
expect_file "foreground of a float TIFF picture" out/Ff.tif imagef.tif out/a.tif -- \
  foreground "${CPU[@]}" imagef.tif out/a.tif -o out/Ff.tif
expect_file "foreground of a gray picture: one float channel" out/Fg.tif gray.png out/ag.tif -- \
  foreground "${CPU[@]}" gray.png out/ag.tif -o out/Fg.tif
expect_file "foreground -o PNG with an 8-bit alpha: the RGBA cut-out" out/c8.png image8.png trimap.png -- \
  foreground "${CPU[@]}" image8.png trimap.png -o out/c8.png --threads 1
METHOD=jacobi expect_file "foreground --method jacobi: the parallel variant's colours" out/Fj.tif image8.png out/a.tif -- \
  foreground "${CPU[@]}" --method jacobi image8.png out/a.tif -o out/Fj.tif
if cmp -s out/Fj.tif out/F.tif; then fail "--method jacobi wrote the sequential method's colours"
else pass "--method jacobi and the default (sequential on the CPU) differ"; fi
# the command and --cutout agree
run_cli foreground "${CPU[@]}" image8.png out/a.tif -o out/same.png
if [ "$rc" -eq 0 ] && cmp -s out/same.png out/cut.png; then pass "foreground -o PNG equals the --cutout file of the run"
else fail "foreground -o PNG differs from --cutout (exit $rc: $err)"; fi
run_cli foreground --device cpu image8.png out/a.tif -o out/summary.tif
if [ "$rc" -eq 0 ] && [[ "$err" == *"vitmatte: wrote out/summary.tif (67x45)"* ]]; then pass "summary line: $err"
else fail "summary: exit $rc, stderr: $err"; fi
run_cli foreground --help
if [ "$rc" -eq 0 ] && [[ "$out" == *"Usage: vitmatte foreground"* ]]; then pass "foreground --help prints its usage"
else fail "foreground --help: exit $rc: $out$err"; fi

O=out/err.png
expect_error "foreground without -o" 1 "no output file" $O -- foreground image8.png out/a.tif
expect_error "foreground with one file" 1 "expected IMAGE and ALPHA, got 1 file name" $O -- foreground image8.png -o $O
expect_error "foreground to .bmp" 1 "must end in .png, .tif or .tiff" out/f.bmp -- foreground image8.png out/a.tif -o out/f.bmp
expect_error "foreground --bits with TIFF" 1 "--bits is for PNG output" out/f.tif -- foreground image8.png out/a.tif -o out/f.tif --bits 16
expect_error "foreground bad --method" 1 "--method must be auto, sequential or jacobi" $O -- foreground image8.png out/a.tif -o $O --method fast
expect_error "foreground bad --device" 1 "--device must be auto, cpu or cuda" $O -- foreground image8.png out/a.tif -o $O --device gpu
expect_error "foreground alpha of another size" 1 "trimap_wide.png is 68x45 but image8.png is 67x45" $O -- \
  foreground image8.png trimap_wide.png -o $O
expect_error "foreground colour alpha" 1 "the alpha must be gray" $O -- foreground image8.png trimap_colour.png -o $O
expect_error "foreground unreadable alpha" 1 "cannot read nothing.tif" $O -- foreground image8.png nothing.tif -o $O
expect_error "--cutout to .bmp" 1 "the cut-out's name must end in .png, .tif or .tiff" out/c.bmp -- \
  --model "$MODEL" image8.png trimap.png -o out/x.png --cutout out/c.bmp
expect_error "--cutout onto the alpha's name" 1 "give them different names" out/x.png -- \
  --model "$MODEL" image8.png trimap.png -o out/x.png --cutout out/x.png
# The output is checked before anything is read: never one of the inputs, never a read-only file.
cp image8.png photo.png
run_cli foreground "${CPU[@]}" photo.png out/a.tif -o photo.png
if [ "$rc" -eq 1 ] && [ "$err" = "vitmatte: cannot write photo.png: it is the input photo.png" ] && cmp -s image8.png photo.png
then pass "foreground -o the input picture: \"$err\", the picture kept"
else fail "foreground -o the input picture: exit $rc, picture kept: $(cmp -s image8.png photo.png && echo yes || echo no), $err"; fi
cp out/a.tif out/alpha-copy.tif
run_cli foreground "${CPU[@]}" image8.png out/alpha-copy.tif -o out/alpha-copy.tif
if [ "$rc" -eq 1 ] && [[ "$err" == *"it is the input out/alpha-copy.tif" ]] && cmp -s out/a.tif out/alpha-copy.tif
then pass "foreground -o the alpha: \"$err\", the alpha kept"
else fail "foreground -o the alpha: exit $rc, $err"; fi
echo old >out/readonly.png && chmod 444 out/readonly.png
run_cli foreground "${CPU[@]}" image8.png nothing.tif -o out/readonly.png
if [ "$rc" -eq 1 ] && [[ "$err" == "vitmatte: cannot write out/readonly.png: the file is read-only"* ]] &&
   [ "$(cat out/readonly.png)" = old ]; then pass "foreground to a read-only file: refused before the inputs are read"
else fail "foreground to a read-only file: exit $rc, $err"; fi
rm -f out/readonly.png out/alpha-copy.tif photo.png

# CUDA: runs where a GPU is usable, else exit 3 with one line and no file.
run_cli foreground --device cuda --quiet image8.png out/a.tif -o out/cuda.tif
if [ "$rc" -eq 0 ] && [ -s out/cuda.tif ]; then pass "foreground --device cuda ran on a GPU"
elif [ "$rc" -eq 3 ] && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] && [ ! -e out/cuda.tif ]; then
  pass "foreground --device cuda without a usable GPU: exit 3, \"$err\""
else fail "foreground --device cuda: exit $rc, stderr: $err"; fi

# Ctrl-C as soon as the handler is in place (the run then stops at its next check): exit 130, no output.
"$VITMATTE" foreground --device cpu large.png large_trimap.png -o out/cancelled.png >"$TMP/stdout" 2>"$TMP/stderr" &
pid=$!
tries=0
# (the forked shell catches SIGINT too until it has exec'd the tool: wait for the tool's own image first)
while [ $tries -lt 500 ]; do
  mask=$(awk '/^SigCgt:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || break
  [ "$(readlink "/proc/$pid/exe")" = "$VITMATTE" ] && [ -n "$mask" ] && (( 16#$mask & 2 )) && break
  sleep 0.01
  tries=$((tries + 1))
done
kill -INT "$pid" 2>/dev/null
wait "$pid"
rc=$?
err=$(cat "$TMP/stderr")
if [ "$rc" -eq 0 ]; then echo "NOTE Ctrl-C: not conclusive, the run finished before the signal"
elif [ "$rc" -eq 130 ] && [ "$(printf '%s\n' "$err" | tail -n 1)" = "vitmatte: cancelled" ] && [ ! -e out/cancelled.png ] &&
     [ "$(leftovers out)" -eq 0 ]; then pass "foreground cancelled by Ctrl-C: exit 130, 'vitmatte: cancelled', no output"
else fail "foreground Ctrl-C: exit $rc, stderr: $err"; fi

finish
