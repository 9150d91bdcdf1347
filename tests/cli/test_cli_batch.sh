#!/usr/bin/env bash
# test_cli_batch.sh - folders: `vitmatte --trimaps TRIMAP_DIR IMAGE_DIR|IMAGE... -o OUT_DIR` on a folder of good and
# bad files: every good picture gets exactly the alpha (and cut-out) a single run writes, every bad one is reported
# on its own line and listed at the end, the exit status says that some failed, nothing half-written is left, the
# model is loaded once (deleted after the first picture, the rest still matte), Ctrl-C stops between pictures.
# Usage: bash test_cli_batch.sh VITMATTE MAKE_TEST_IMAGES COMPARE_ALPHA MODEL_DIR
VITMATTE=$(realpath "$1")
MAKE_TEST_IMAGES=$(realpath "$2")
COMPARE_ALPHA=$(realpath "$3")
MODEL=$(realpath -m "$4")
if [ ! -f "$MODEL/config.json" ]; then echo "SKIP: no model at $MODEL"; exit 77; fi
# shellcheck source=cli_test_lib.sh
. "$(dirname "$0")/cli_test_lib.sh"
"$MAKE_TEST_IMAGES" "$TMP" 480 360 || { echo "FAIL cannot make test images"; exit 1; }
cd "$TMP" || exit 1
CPU=(--model "$MODEL" --device cpu --precision fp32)

# The folder: four good pictures in four formats, and every way a picture can fail.
mkdir in tri single
cp image8.png in/a.png;        cp trimap.png tri/a.png
cp image16.tif in/b.tif;       cp trimap.png tri/b.png
cp image.jpg in/c.jpg;         cp trimap.png tri/c.tif    # a trimap found under another extension
cp gray.png in/gray.png;       cp trimap16.png tri/gray.png
printf 'not a picture' >in/broken.png; cp trimap.png tri/broken.png
cp image8.png in/colourtri.png; cp trimap_colour.png tri/colourtri.png
cp image8.png in/wide.png;     cp trimap_wide.png tri/wide.png
cp image8.png in/notrimap.png
cp image8.tif in/a.tif                                    # also called a, after a.png: would write out/a.png again
echo "notes" >in/readme.txt                               # not a picture: left alone
cp image8.png in/.hidden.png                              # hidden: left alone
GOOD=(a b c gray)
BAD=(broken.png colourtri.png wide.png notrimap.png a.tif)

# References: each good picture run alone, PNG and float TIFF alpha and PNG cut-out.
for pair in a.png:a.png b.tif:b.png c.jpg:c.tif gray.png:gray.png; do
  name=${pair%%.*}
  "$VITMATTE" "${CPU[@]}" --quiet "in/${pair%%:*}" "tri/${pair#*:}" -o "single/$name.png" --cutout "single/$name-cut.png" &&
    "$VITMATTE" "${CPU[@]}" --quiet "in/${pair%%:*}" "tri/${pair#*:}" -o "single/$name.tif" ||
    fail "single run of $name"
done

echo "vitmatte folders (model $MODEL, CPU fp32)"
run_cli "${CPU[@]}" --trimaps tri in -o out --cutout cut
if [ "$rc" = 1 ]; then pass "a folder with bad files: exit status 1"; else fail "exit status $rc, expected 1: $err"; fi
for name in "${GOOD[@]}"; do
  if report=$("$COMPARE_ALPHA" "single/$name.png" "out/$name.png" 0 2>&1) && cmp -s "single/$name-cut.png" "cut/$name.png"
  then pass "good picture $name: the alpha and the cut-out are the single run's ($report)"
  else fail "good picture $name: $report; cut-out $(cmp "single/$name-cut.png" "cut/$name.png" 2>&1)"; fi
done
for name in "${BAD[@]}"; do
  listed=$(printf '%s\n' "$err" | grep -c "^vitmatte:   in/$name: ")
  said=$(printf '%s\n' "$err" | grep -cE "^vitmatte: \[[0-9]+/9\] in/$name (failed|skipped): ")
  if [ "$listed" = 1 ] && [ "$said" = 1 ]; then pass "bad picture $name: said when it failed and listed at the end"
  else fail "bad picture $name: said $said times, listed $listed times in: $err"; fi
done
why() { printf '%s\n' "$err" | grep "^vitmatte:   in/$1" | head -1; }
[[ "$(why broken)" == *"cannot read in/broken.png"* ]] && [[ "$(why colourtri)" == *"colour image"* ]] &&
  [[ "$(why wide)" == *"is 68x45 but"* ]] && [[ "$(why notrimap)" == *"no trimap called notrimap.png"* ]] &&
  [[ "$(why a.tif)" == *"in/a.png comes first and is also called a"* ]]
if [ $? = 0 ]; then pass "each failure says what is wrong"; else fail "the reasons: $err"; fi
written=$(find out cut -type f | sort | tr '\n' ' ')
if [ "$written" = "cut/a.png cut/b.png cut/c.png cut/gray.png out/a.png out/b.png out/c.png out/gray.png " ]
then pass "only the good pictures' files were written, no temporary file left"
else fail "files written: $written"; fi
printf '%s\n' "$err" | grep -q "^vitmatte: 4 of 9 pictures matted in .* (the model loaded once); these failed:$" &&
  printf '%s\n' "$err" | grep -q "^vitmatte: 1 file in the folders is not a picture"
if [ $? = 0 ]; then pass "the summary counts 4 of 9 and the file that is not a picture"; else fail "summary: $err"; fi

# A list of files, float TIFF output, quiet: nothing printed, the single run's TIFF exactly.
run_cli "${CPU[@]}" --quiet --trimaps tri in/a.png in/c.jpg -o listed --format tif
if [ "$rc" = 0 ] && [ -z "$err$out" ] && cmp -s single/a.tif listed/a.tif && cmp -s single/c.tif listed/c.tif &&
   [ "$(find listed -type f | wc -l)" = 2 ]
then pass "a list of two pictures, --format tif, --quiet: exit 0, silent, the single runs' TIFFs byte for byte"
else fail "a list of files: rc $rc, $err$out"; fi

# A picture whose cut-out cannot be written fails before it is matted, as a single run does: no alpha for it.
mkdir rocut && echo old >rocut/a.png && chmod 444 rocut/a.png
run_cli "${CPU[@]}" --quiet --trimaps tri in/a.png in/c.jpg -o roout --cutout rocut
if [ "$rc" = 1 ] && [ ! -e roout/a.png ] && [ -s roout/c.png ] && [ -s rocut/c.png ] && [ "$(cat rocut/a.png)" = old ] &&
   [[ "$err" == *"in/a.png failed: cannot write rocut/a.png: the file is read-only"* ]]
then pass "a read-only cut-out: that picture fails before it is matted (no alpha), the next is matted"
else fail "a read-only cut-out: rc $rc, $(find roout rocut -type f | tr '\n' ' '): $err"; fi

# Errors before any picture: one line each, nothing written.
expect_batch_error() { # WHAT TEXT ARGS...
  local what=$1 text=$2
  shift 2
  run_cli "${CPU[@]}" "$@"
  if [ "$rc" = 1 ] && [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] && [[ "$err" == "vitmatte: "*"$text"* ]] &&
     [ ! -e nowhere ]
  then pass "$what: exit 1, \"$err\""
  else fail "$what: rc $rc, stderr: $err"; fi
}
expect_batch_error "--trimaps without pictures" "give the pictures' folder" --trimaps tri -o nowhere
expect_batch_error "--trimaps folder missing" "--trimaps missing" --trimaps missing in -o nowhere
expect_batch_error "no -o folder" "no output folder" --trimaps tri in
expect_batch_error "-o names a file" "is a file, not a folder" --trimaps tri in -o in/readme.txt
expect_batch_error "--cutout is the -o folder" "give --cutout another folder" --trimaps tri in -o nowhere --cutout nowhere
expect_batch_error "--format for a single file" "--format is for folders" in/a.png tri/a.png -o nowhere.png --format tif
expect_batch_error "--format jpg" "--format must be png or tif" --trimaps tri in -o nowhere --format jpg
mkdir -p empty
expect_batch_error "a folder without pictures" "no pictures (.png .jpg .jpeg .tif .tiff) in empty" --trimaps tri empty -o nowhere

# The output folder is the input folder: the PNG pictures would be overwritten, so they fail and stay as they were.
mkdir same
cp image8.png same/p.png && cp image.jpg same/q.jpg && cp trimap.png tri/p.png && cp trimap.png tri/q.png
run_cli "${CPU[@]}" --quiet --trimaps tri same -o same
if [ "$rc" = 1 ] && cmp -s image8.png same/p.png && [ -s same/q.png ] && [[ "$err" == *"would overwrite the input same/p.png"* ]]
then pass "output folder = input folder: p.png refused (kept as it was), q.jpg matted into q.png"
else fail "output folder = input folder: rc $rc, $err"; fi

# gate_open NAME: a named pipe as picture NAME; the test holds its writing end (fd 3) open, so the run's read of it
# waits until gate_release closes it (the run then reads an empty file): the test decides when the run goes on. Start
# the run with 3>&- so that it holds no writing end itself.
gate_open() { rm -f "$1" && mkfifo "$1" && exec 3<>"$1"; }
gate_release() { exec 3>&-; }
# gate_wait PID NAME: returns once process PID has the pipe NAME open (it is reading it, or about to), 1 if it never does.
gate_wait() {
  local path
  path=$(realpath "$2")
  for _ in $(seq 3000); do
    for fd in /proc/"$1"/fd/*; do [ "$(readlink "$fd" 2>/dev/null)" = "$path" ] && return 0; done
    kill -0 "$1" 2>/dev/null || return 1
    sleep 0.02
  done
  return 1
}

# One model load: the model folder is deleted while the run waits for its second picture (a named pipe the test
# holds open), after the first was written; the pictures after it must still be matted. Whatever the machine's speed.
mkdir many manytri gate
for i in 1 2 3 4 5 6; do cp large.png "many/p$i.png"; cp large_trimap.png "manytri/p$i.png"; done
cp trimap.png manytri/gated.png
cp -r "$MODEL" model-copy
gate_open gate/gated.png
"$VITMATTE" --model model-copy --device cpu --trimaps manytri many/p1.png gate/gated.png many/p2.png many/p3.png \
  -o manyout 2>"$TMP/many.err" 3>&- &
pid=$!
waited=no
gate_wait "$pid" gate/gated.png && waited=yes
done_before=$(find manyout -name '*.png' | wc -l)
rm -rf model-copy
gate_release
wait "$pid"
rc=$?
if [ "$waited" = yes ] && [ "$done_before" = 1 ] && [ "$rc" = 1 ] &&
   [ "$(find manyout -name '*.png' | sort | tr '\n' ' ')" = "manyout/p1.png manyout/p2.png manyout/p3.png " ] &&
   grep -q "gate/gated.png failed: cannot read gate/gated.png: the file is empty" "$TMP/many.err"
then pass "the model is loaded once: deleted after the 1st of 4 pictures was written, the 3rd and 4th still matted"
else fail "one model load: waited $waited, rc $rc, $done_before done before the model was deleted: $(cat "$TMP/many.err")"; fi

# Ctrl-C while the second of three pictures is read, the third refused in planning (no trimap): the count says how
# far the run got (2 of 3), not the matted and all the failed (3 of 3, though the third was never reached).
mkdir late
cp image8.png late/zz.png
gate_open gate/gated.png
"$VITMATTE" "${CPU[@]}" --trimaps manytri many/p1.png gate/gated.png late/zz.png -o gated 2>"$TMP/gate.err" 3>&- &
pid=$!
if gate_wait "$pid" gate/gated.png; then kill -INT "$pid"; fi
gate_release
wait "$pid"
rc=$?
if [ "$rc" = 130 ] && grep -q "^vitmatte: cancelled after 2 of 3 pictures$" "$TMP/gate.err" && [ -s gated/p1.png ] &&
   [ "$(leftovers gated)" = 0 ]
then pass "Ctrl-C during the second picture, the third never reached: 'cancelled after 2 of 3 pictures'"
else fail "Ctrl-C count: rc $rc: $(cat "$TMP/gate.err")"; fi

# Ctrl-C: stops at once, exit 130, the pictures finished so far stay, nothing half-written.
"$VITMATTE" "${CPU[@]}" --trimaps manytri many -o stopped 2>"$TMP/stop.err" &
pid=$!
for _ in $(seq 600); do [ -e stopped/p1.png ] && break; sleep 0.02; done
for _ in $(seq 100); do [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$VITMATTE" ] && break; sleep 0.02; done
kill -INT "$pid"
wait "$pid"
rc=$?
n=$(find stopped -name 'p*.png' | wc -l)
if [ "$rc" = 130 ] && grep -q "^vitmatte: cancelled after [0-9] of 6 pictures$" "$TMP/stop.err" && [ "$n" -lt 6 ] &&
   [ "$(leftovers stopped)" = 0 ]
then pass "Ctrl-C: exit 130 after $n of 6 pictures, no temporary file"
else fail "Ctrl-C: rc $rc, $n written: $(cat "$TMP/stop.err")"; fi

finish
