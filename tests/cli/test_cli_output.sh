#!/usr/bin/env bash
# test_cli_output.sh - the output rules of vitmatte --help (folders, links, read-only files, the inputs themselves),
# checked before the model is opened, and signals that land while the output is being written: the run stops with
# the shell's status for the signal and leaves neither the output nor its temporary file.
# Usage: bash test_cli_output.sh VITMATTE MAKE_TEST_IMAGES MODEL
VITMATTE=$(realpath "$1")
MAKE_TEST_IMAGES=$(realpath "$2")
MODEL=$(realpath "$3")
# shellcheck source=cli_test_lib.sh
. "$(dirname "$0")/cli_test_lib.sh"

"$MAKE_TEST_IMAGES" "$TMP" 640 480 || { echo "FAIL cannot make test images"; exit 1; }
cd "$TMP" || exit 1
mkdir out
# A model folder that would fail to load (exit 2): a refusal with exit 1 proves the check came first.
mkdir model && echo '{}' >model/config.json && : >model/model.safetensors
CPU=(--model "$MODEL" --device cpu --quiet)

# expect_refused WHAT TEXT OUTPUT: exit 1, one line "vitmatte: cannot write OUTPUT: ...TEXT...", no temporary file.
expect_refused() {
  local what=$1 text=$2 output=$3
  run_cli --model model image8.png trimap.png -o "$output"
  if [ "$rc" -eq 1 ] && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] &&
     [[ "$err" == "vitmatte: cannot write $output: "*"$text"* ]] && [ "$(leftovers out)" -eq 0 ]; then
    pass "$what: \"$err\""
  else
    fail "$what: exit $rc (expected 1), stderr: $err"
  fi
}

run_cli --help
[[ "$out" == *"a symbolic link is followed"* && "$out" == *"a read-only file, a folder or one of the"* &&
   "$out" == *"SIGTERM and SIGHUP stop the run and leave no file"* ]] && pass "--help states the output rules" ||
  fail "--help lacks the output rules: $out"

echo "vitmatte output rules, before the model is opened"
mkdir out/folder.png
expect_refused "an output that is a folder" "it is a folder" out/folder.png
echo old >out/readonly.png && chmod 444 out/readonly.png
expect_refused "a read-only output (any user, root too)" "the file is read-only" out/readonly.png
[ "$(cat out/readonly.png)" = old ] || fail "the read-only file changed"
ln -s nowhere.png out/dangling.png
expect_refused "a link to nothing" "symbolic link to a file that does not exist" out/dangling.png
[ ! -e out/nowhere.png ] || fail "the dangling link's target was created"
cp image8.png copy-of-image.png
run_cli --model model copy-of-image.png trimap.png -o copy-of-image.png
if [ "$rc" -eq 1 ] && [[ "$err" == *"cannot write copy-of-image.png: it is the input copy-of-image.png"* ]] &&
   cmp -s image8.png copy-of-image.png; then pass "the input picture as the output: \"$err\""
else fail "the input picture as the output: exit $rc, $err"; fi
ln -s ../trimap.png out/trimap-link.png
expect_refused "a link to the trimap" "it is the input trimap.png" out/trimap-link.png
if [ "$(id -u)" -ne 0 ]; then
  mkdir out/locked && chmod 555 out/locked
  expect_refused "a folder without write permission" "cannot create files in out/locked" out/locked/a.png
  chmod 755 out/locked
else
  echo "NOTE running as root: a folder's missing write permission does not stop root, so that case is skipped"
fi

echo "links are followed, permissions kept"
echo old >out/target.png && ln -s target.png out/link.png
run_cli "${CPU[@]}" image8.png trimap.png -o out/link.png
if [ "$rc" -eq 0 ] && [ -L out/link.png ] && [ "$(head -c 4 out/target.png | tail -c 3)" = PNG ]; then
  pass "writing through a link replaces the file it points to and keeps the link"
else fail "through a link: exit $rc, link $(readlink out/link.png), $err"; fi
echo old >out/mode.png && chmod 640 out/mode.png
run_cli "${CPU[@]}" image8.png trimap.png -o out/mode.png
[ "$rc" -eq 0 ] && [ "$(stat -c %a out/mode.png)" = 640 ] && pass "a replaced output keeps its permissions (640)" ||
  fail "permissions after replacing: exit $rc, mode $(stat -c %a out/mode.png), $err"

# signal_during_write WHAT STATUS SIGNAL...: starts a run, waits for its temporary output file to appear (the
# write has begun), sends the signals, and expects STATUS, no output and no temporary file (STATUS 0: signals the
# run ignores, so exit 0 and the whole output). A run whose write is over before the file is seen is tried again.
signal_during_write() {
  local what=$1 status=$2
  shift 2
  for attempt in 1 2 3 4 5; do
    rm -f out/sig.tif
    "$VITMATTE" "${CPU[@]}" large.png large_trimap.png -o out/sig.tif >"$TMP/stdout" 2>"$TMP/stderr" &
    local pid=$! seen=0
    while kill -0 "$pid" 2>/dev/null; do
      if compgen -G "out/.sig.tif.tmp-*" >/dev/null; then
        for s in "$@"; do kill -"$s" "$pid" 2>/dev/null; done
        seen=1
        break
      fi
    done
    wait "$pid"
    rc=$?
    err=$(cat "$TMP/stderr")
    if [ "$seen" -eq 0 ]; then
      echo "NOTE $what: attempt $attempt ended (exit $rc) before its temporary file was seen"
      continue
    fi
    if [ "$status" -eq 0 ]; then # the signal is ignored: the run finishes and writes its output
      if [ "$rc" -eq 0 ] && [ -s out/sig.tif ] && [ "$(leftovers out)" -eq 0 ]; then
        pass "$what: the run finishes and writes its output"
      else
        fail "$what: exit $rc, stderr '$err', left: $(ls -A out | tr '\n' ' ')"
      fi
      rm -f out/sig.tif
      return
    fi
    # the signal came after the file was complete and renamed (seen just before the rename): a finished run, not a
    # half-written one; the race is the test's, so it tries again
    if [ "$rc" -eq 0 ] && [ -s out/sig.tif ] && [ "$(leftovers out)" -eq 0 ]; then
      echo "NOTE $what: attempt $attempt finished its write before the signal arrived (exit 0, complete output)"
      continue
    fi
    if [ "$rc" -eq "$status" ] && [ ! -e out/sig.tif ] && [ "$(leftovers out)" -eq 0 ] &&
       [[ "$(printf '%s\n' "$err" | tail -n 1)" == "vitmatte: cancelled"* ]]; then
      pass "$what while the output is written: exit $rc, \"$err\", no output, no temporary file"
    else
      fail "$what while the output is written: exit $rc (expected $status), stderr '$err'," \
        "left: $(ls -A out | tr '\n' ' ')"
      rm -f out/.sig.tif.tmp-*
    fi
    return
  done
  fail "$what: the write was never caught in five attempts"
}
echo "signals while the output is written"
signal_during_write "SIGTERM" 143 TERM
# Under nohup (a CI runner started with it, for one) SIGHUP arrives ignored, and the CLI keeps it ignored on purpose
# (nohup's request to outlive the terminal): then the run must finish as if nothing came (expected status 0).
if [ $(( 0x$(awk '/^SigIgn:/ {print $2}' /proc/$$/status) & 1 )) -eq 1 ]; then
  signal_during_write "SIGHUP inherited as ignored (nohup)" 0 HUP
else
  signal_during_write "SIGHUP" 129 HUP
fi
signal_during_write "two Ctrl-C" 130 INT INT

finish
