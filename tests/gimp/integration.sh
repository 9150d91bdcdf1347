#!/bin/bash
# integration.sh - the GIMP integration tests proper, on a machine that has gimp-console-3.0 (natively or inside the
# Debian 13 root; tests/gimp/run.sh picks). Owns: the test inputs, the CLI reference runs, the gimp-console runs
# (Script-Fu suite, Script-Fu batch example, Python inspector), the user-install layout, and every PASS/FAIL
# verdict.
#
# Usage: tests/gimp/integration.sh SRC_DIR BUILD_DIR WORK_DIR [MODEL_DIR]
#   SRC_DIR    the repository
#   BUILD_DIR  a meson build with plugin/vitmatte-gimp, tools/vitmatte and the tests/gimp helpers built
#   WORK_DIR   scratch folder (emptied first)
#   MODEL_DIR  checkpoint to use; default: SRC_DIR/data/tiny (the fixture model written by transformers)
# Prints one line per check and "gimp: N passed, N failed" ($VMP_SUMMARY_LABEL replaces "gimp"); exits 1 when
# anything failed. Sanitizer reports (AddressSanitizer, UBSan "runtime error:") in any log fail the run.
set -uo pipefail

SRC=$(cd "${1:?SRC_DIR}" && pwd)
BUILD=$(cd "${2:?BUILD_DIR}" && pwd)
WORK=${3:?WORK_DIR}
MODEL=${4:-}
# 8-bit masks hold k/255, at most half a step from the engine's float; the required bound is one step (1/255).
TOL8=0.0039216
# 16-bit and float images: the mask keeps (nearly) the engine's float.
TOL_FINE=0.0002
GIMP_TIMEOUT=${VMP_GIMP_TIMEOUT:-240}

PASSED=0
FAILED=0
pass() { echo "PASS $*"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL $*"; FAILED=$((FAILED + 1)); }
check() { if [ "$1" = 0 ]; then pass "$2"; else fail "$2"; fi; }
compare() { # ARGS of vmp-compare ([--MODE] LABEL ...): its one PASS / FAIL line, counted
  local line
  line=$("$HELPERS/vmp-compare" "$@")
  case $line in PASS*) pass "${line#PASS }" ;; *) fail "${line#FAIL }" ;; esac
}
finish() {
  hub_stop
  echo "${VMP_SUMMARY_LABEL:-gimp}: $PASSED passed, $FAILED failed"
  [ "$FAILED" = 0 ]
  exit $?
}

# The test hub (tests/models/hub_server.py): the test model served as the official checkpoints on 127.0.0.1, for the
# downloads of plug-in-vitmatte-download and of the dialog's Download button.
# shellcheck source=../models/hub_env.sh
. "$SRC/tests/models/hub_env.sh"
CLI=$BUILD/tools/vitmatte
PLUGIN_DIR=$BUILD/plugin
HELPERS=$BUILD/tests/gimp
for f in "$CLI" "$PLUGIN_DIR/vitmatte-gimp" "$HELPERS/vmp-make-test-images" "$HELPERS/vmp-compare" \
         "$HELPERS/vmp-test-trimap-values"; do
  [ -x "$f" ] || { fail "built: $f is missing"; finish; }
done
command -v gimp-console-3.0 >/dev/null || { fail "gimp-console-3.0 not found"; finish; }
# pgrep finds the plug-in among the children of the GIMP this script started (the cancel case, the GUI stage).
command -v pgrep >/dev/null || { fail "pgrep (procps) not found"; finish; }

rm -rf "$WORK"
mkdir -p "$WORK/home" "$WORK/model-without-weights" "$WORK/batch-in" "$WORK/batch-trimaps" "$WORK/batch-out"
export HOME=$WORK/home
unset DISPLAY

# --- inputs ---------------------------------------------------------------------------------------------------
"$HELPERS/vmp-make-test-images" "$WORK" || { fail "test images generated"; finish; }
# The rectangle selection of the selection-band case, seen from its layer at (7, -5); see integration.scm.
"$HELPERS/vmp-make-test-images" --rect-trimap 30 20 40 30 6 7 -5 100 80 "$WORK/rect_trimap.png" ||
  { fail "rectangle band trimap generated"; finish; }
# The small-layer case: the layer is the scene's part (20,15,60,50), with the same rectangle selection.
"$HELPERS/vmp-make-test-images" --rect-trimap 30 20 40 30 6 20 15 60 50 "$WORK/small_trimap.png" &&
  "$HELPERS/vmp-make-test-images" --crop "$WORK/scene.png" 20 15 60 50 "$WORK/small_scene.png" ||
  { fail "small-layer inputs generated"; finish; }
# An 800 x 640 scene and trimap (the scene's pixels repeated 8 times): more pixels than a CPU preview computes.
"$HELPERS/vmp-make-test-images" --enlarge "$WORK/scene.png" 8 "$WORK/scene_large.png" &&
  "$HELPERS/vmp-make-test-images" --enlarge "$WORK/trimap.png" 8 "$WORK/trimap_large.png" ||
  { fail "large preview inputs generated"; finish; }
[ -z "$MODEL" ] && MODEL=$SRC/data/tiny
[ -f "$MODEL/config.json" ] && [ -f "$MODEL/model.safetensors" ] || { fail "model found at $MODEL"; finish; }
echo "NOTE model: $MODEL"
cp "$MODEL/config.json" "$WORK/model-without-weights/"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY HF_TOKEN
hub_start python3 "$SRC/tests/models/hub_server.py" "$MODEL" "$WORK/hub" || { fail "the test hub started"; finish; }
export HF_ENDPOINT=$HUB_URL VITMATTE_MODELS=$WORK/models

# --- the trimap a run and the preview make of a source's values (tests/gimp/test_trimap_values.c; no GIMP running) --
out=$("$HELPERS/vmp-test-trimap-values" 2>&1)
rc=$?
while IFS= read -r line; do
  case $line in PASS*) pass "trimap from values: ${line#PASS }" ;; FAIL*) fail "trimap from values: ${line#FAIL }" ;; esac
done <<<"$out"
check $rc "trimap from values: the test ended normally (exit code $rc)"

# --- the engine's own alpha for the same inputs (the reference every GIMP result is compared with) --------------
cli() { # OUT IMAGE TRIMAP
  local out=$1 image=$2 trimap=$3
  if "$CLI" --model "$MODEL" --device cpu --quiet "$WORK/$image" "$WORK/$trimap" -o "$WORK/$out" 2>"$WORK/$out.log" &&
     ! grep -qE "AddressSanitizer|runtime error:" "$WORK/$out.log"; then
    pass "CLI alpha for $image + $trimap"
  else
    fail "CLI alpha for $image + $trimap: $(tail -1 "$WORK/$out.log")"
  fi
}
cli cli_scene.tif scene.png trimap.png
cli cli_gray.tif scene_gray.png trimap.png
cli cli_rect.tif scene.png rect_trimap.png
cli cli_small.tif small_scene.png small_trimap.png
cli cli_mask.tif scene_rgba.png mask_trimap.png # the rough mask's band (brute force), for the mask and alpha sources
cli cli_mask8.tif scene_rgba.png mask_trimap8.png # the same with band 8 (the preview's second band width)

# --- gimp-console runs ----------------------------------------------------------------------------------------
# The plug-in as `meson install` lays it out (plug-ins/vitmatte-gimp/vitmatte-gimp under GIMP's plug-in folder),
# installed into a scratch DESTDIR and found from there. GIMP_TESTING_PLUGINDIRS replaces the whole search path,
# so the system folder (Script-Fu, Python) goes in too.
GIMPLIBDIR=$(pkg-config --variable=gimplibdir gimp-3.0 2>/dev/null || echo /usr/lib/x86_64-linux-gnu/gimp/3.0)
INSTALLED=$WORK/install
meson install -C "$BUILD" --no-rebuild --tags runtime --destdir "$INSTALLED" >"$WORK/install.log" 2>&1
PLUGINS=$INSTALLED$GIMPLIBDIR/plug-ins
BATCH_SCM=$(find "$INSTALLED" -name vitmatte-batch.scm | head -1)
[ -x "$PLUGINS/vitmatte-gimp/vitmatte-gimp" ] && [ -n "$BATCH_SCM" ]
check $? "meson install: ${PLUGINS#$INSTALLED}/vitmatte-gimp/vitmatte-gimp and ${BATCH_SCM#$INSTALLED}"
[ -x "$PLUGINS/vitmatte-gimp/vitmatte-gimp" ] || { tail -5 "$WORK/install.log"; finish; }
export GIMP_TESTING_PLUGINDIRS=$PLUGINS:$GIMPLIBDIR/plug-ins
export VITMATTE_MODEL=$MODEL # for the last-values case, whose defaults find the model this way

# Stderr lines every console run prints (shared/gimp3/NOTES.md 6.3), and the core's report of the failures the
# bad-input cases provoke on purpose; anything else is shown, and crashes, CRITICALs, other GIMP errors and open
# undo groups fail the run.
noise=(
  'Plug-in crashed: "vitmatte-gimp"' 'gimp_plug_in_handle_tile_(get|put): ERROR'
  'plug-ins/vitmatte-gimp/vitmatte-gimp\)$' 'The dying plug-in may have messed up' 'returned no return values'
  'Unable to run plug-in "file-' 'plug-ins/file-[a-z]+/file-[a-z]+\)$' 'Failed to execute child process .*/plug-ins/file-'
  'stale context' 'list of contexts not empty' 'cannot open display' 'gimp_wire_read\(\): unexpected EOF'
  'Welcome to GIMP' 'batch command executed successfully' 'gimp_flush\(\): error: Broken pipe'
  'Failed to parse tag cache' '^script-fu-Warning: vitmatte: ' '^\s*$'
)
NOISE=$(IFS='|'; echo "${noise[*]}")
gimp_run() { # NAME INTERPRETER COMMAND (the process ID of its `timeout` goes to WORK/NAME.pid while it runs)
  local name=$1 interpreter=$2 command=$3 rc=0 pid
  timeout "$GIMP_TIMEOUT" gimp-console-3.0 -i --batch-interpreter="$interpreter" -b "$command" --quit \
    >"$WORK/$name.log" 2>&1 &
  pid=$!
  echo "$pid" >"$WORK/$name.pid"
  wait "$pid" || rc=$?
  check "$rc" "gimp-console $name run ended normally (exit code $rc)"
  local bad crashes tile_errors allowed=0
  # The cancel cases kill the plug-in on purpose; GIMP reports each kill as a crash (or, were a kill to come in the
  # middle of a pixel transfer, as a failed tile request).
  [ "$name" = suite ] && allowed=$(grep -c '^killed$' "$WORK/cancel.note" 2>/dev/null)
  allowed=${allowed:-0}
  crashes=$(grep -c 'Plug-in crashed: "vitmatte-gimp"' "$WORK/$name.log")
  tile_errors=$(grep -cE 'gimp_plug_in_handle_tile_(get|put): ERROR' "$WORK/$name.log")
  # GIMP sometimes fails to start a stock raw loader in a fresh profile ("Unable to run plug-in \"file-darktable\"");
  # only our plug-in's start-up failures count.
  bad=$(grep -E "CRITICAL|Plug-in crashed|inconsistent state|GIMP-Error|AddressSanitizer|runtime error:" "$WORK/$name.log" |
        grep -vE "GIMP-Error: (Calling|Execution) error for procedure 'plug-in-vitmatte(-download)?'" |
        grep -vE 'GIMP-Error: Unable to run plug-in "[^"]*"' || true)
  bad=$bad$(grep -E 'GIMP-Error: Unable to run plug-in "vitmatte' "$WORK/$name.log" || true)
  if [ "$crashes" -le "$allowed" ] && [ "$tile_errors" -le "$allowed" ]; then
    bad=$(printf '%s' "$bad" | grep -vE 'Plug-in crashed: "vitmatte-gimp"|gimp_plug_in_handle_tile_(get|put): ERROR' ||
          true)
  fi
  if [ -n "$bad" ]; then fail "gimp-console $name: no crash, CRITICAL, open undo group or GIMP error: $bad"
  else pass "gimp-console $name: no crash, CRITICAL, open undo group or unexpected GIMP error"; fi
  grep -vE "$NOISE" "$WORK/$name.log" | grep -vE "^GIMP-Error: (Calling|Execution) error for procedure 'plug-in-vitmatte(-download)?'" |
    sed "s/^/NOTE $name stderr: /" | head -20
}

wait_for() { # FILE SECONDS
  local i
  for ((i = 0; i < $2 * 4; i++)); do [ -f "$1" ] && return 0; sleep 0.25; done
  return 1
}
# Only plug-ins of a GIMP this script started count (natively, the user may run GIMP and ViTMatte at the same time):
# walked down from the process ID of the `timeout` that runs that GIMP, its child GIMP, and GIMP's child named
# vitmatte-gimp.
plug_in_pid() { # TIMEOUT_PID: the process ID of the vitmatte-gimp that GIMP runs, if any
  local gimp
  for gimp in $(pgrep -P "$1"); do
    pgrep -P "$gimp" -x vitmatte-gimp && return 0
  done
  return 1
}
plug_in_done() { # TIMEOUT_PID SECONDS: wait until that GIMP's plug-in process has ended
  local i
  sleep 0.5
  for ((i = 0; i < $2 * 4; i++)); do
    plug_in_pid "$1" >/dev/null || return 0
    sleep 0.25
  done
  echo "NOTE gui: the plug-in was still running after $2 s"
  return 1
}
# The cancel cases (integration.scm): the suite writes cancel-armed, and with VITMATTE_GIMP_TEST_PAUSE naming that
# file the plug-in announces cancel-armed.paused and waits once its output is ready and before it changes the image:
# the last moment GIMP's Cancel can end it. Each time, this kills it there as GIMP does (SIGKILL), and notes it.
CANCEL_CASES=3
cancel_watcher() {
  local pid n
  wait_for "$WORK/cancel-armed" "$GIMP_TIMEOUT" || return 0
  for ((n = 0; n < CANCEL_CASES; n++)); do
    if ! wait_for "$WORK/cancel-armed.paused" 60; then
      echo "the plug-in never paused before writing" >>"$WORK/cancel.note"
      break
    fi
    if ! pid=$(plug_in_pid "$(cat "$WORK/suite.pid")"); then
      echo "no vitmatte-gimp under our GIMP" >>"$WORK/cancel.note"
      break
    fi
    rm -f "$WORK/cancel-armed.paused"
    if kill -KILL "$pid" 2>/dev/null; then echo killed >>"$WORK/cancel.note"
    else echo "the plug-in had ended before the kill" >>"$WORK/cancel.note"; fi
  done
  rm -f "$WORK/cancel-armed" # no later run may pause
}

start=$(date +%s)
cancel_watcher &
watcher=$!
VITMATTE_GIMP_TEST_PAUSE=$WORK/cancel-armed gimp_run suite plug-in-script-fu-eval \
  "(begin (load \"$BATCH_SCM\") (load \"$SRC/tests/gimp/integration.scm\")
          (vmp-run-all \"$WORK\" \"$MODEL\" \"$WORK/model-without-weights\"))"
kill "$watcher" 2>/dev/null # when the suite ended before the cancel cases
wait "$watcher" 2>/dev/null
rm -f "$WORK/cancel-armed"
RESULTS=$WORK/results.txt
grep -q '^DONE$' "$RESULTS" 2>/dev/null
check $? "Script-Fu suite ran every case"
# GIMP's record of the registration: the menu entry Filters > Matting > ViTMatte... of plug-in-vitmatte.
PLUGINRC=$HOME/.config/GIMP/3.0/pluginrc
grep -q '"plug-in-vitmatte"' "$PLUGINRC" 2>/dev/null && grep -q '"<Image>/Filters/Matting"' "$PLUGINRC" &&
  grep -q '"_ViTMatte..."' "$PLUGINRC"
check $? "registered: plug-in-vitmatte with the menu entry <Image>/Filters/Matting/ViTMatte... (pluginrc)"

# The batch example of plugin/README.md, as documented, over a folder. Its model argument is "" and
# $VITMATTE_MODEL is unset, so the plug-in has to find the model in its own folder (plug-ins/vitmatte-gimp/model).
# scene.tif shares its name with scene.png and must be skipped (it holds the grey picture, so a scene.png made from
# it would not match the CLI's alpha of the colour scene).
cp "$WORK/scene.png" "$WORK/batch-in/scene.png"
cp "$WORK/scene_gray.png" "$WORK/batch-in/scene.tif"
cp "$WORK/scene_gray.png" "$WORK/batch-in/portrait.png"
cp "$WORK/trimap.png" "$WORK/batch-trimaps/scene.png"
cp "$WORK/trimap.png" "$WORK/batch-trimaps/portrait.png"
ln -s "$MODEL" "$PLUGINS/vitmatte-gimp/model"
unset VITMATTE_MODEL
gimp_run batch plug-in-script-fu-eval \
  "(begin (load \"$BATCH_SCM\") (vitmatte-folder \"$WORK/batch-in\" \"$WORK/batch-trimaps\" \"$WORK/batch-out\" \"\"))"

# The user interface under Xvfb (tests/gimp/gui_session.scm sets the scenes): the dialog in interactive mode,
# real Ctrl+Z / Ctrl+Y in the image window (the PDB has no undo), and ViTMatte started from the menus, once with
# a missing trimap (the error must come up as a GIMP message) and once for real. xdotool plays the user; there is no
# window manager, so every key goes to an explicitly focused window. Needs Xvfb, xdotool and gimp-3.0.
GUI_RAN=0
screenshot() { # NAME: the screen as WORK/NAME.png, when xwd and netpbm are there (for reading failures)
  command -v xwd >/dev/null && command -v xwdtopnm >/dev/null && command -v pnmtopng >/dev/null &&
    xwd -root -silent 2>/dev/null | xwdtopnm 2>/dev/null | pnmtopng >"$WORK/$1.png" 2>/dev/null &&
    echo "NOTE gui: screenshot $WORK/$1.png"
}
find_window() { # NAME_REGEX SECONDS -> window id
  timeout "$2" xdotool search --sync --name "$1" 2>/dev/null | head -1
}
press() { # WINDOW KEY...
  local window=$1
  shift
  [ -n "$window" ] && xdotool windowfocus --sync "$window" key "$@"
}
image_window() { find_window 'RGB color.* – GIMP$' 10; }
close_message() { # WINDOW: OK, and make sure it went (GIMP adds later messages to an open message window)
  local i
  [ -n "$1" ] || return 0
  sleep 1
  for i in 1 2 3; do
    press "$1" Return
    sleep 1
    window_exists "$1" '^GIMP Message$' || return 0
  done
  press "$1" Escape
}
# Filters > Matting > ViTMatte... by its name, through Search Actions ("/"), as a keyboard user would.
start_from_menu() {
  sleep 1 # the image window shows the new image
  press "$(image_window)" slash || { echo "NOTE gui: no image window for the menus"; return 1; }
  local search
  search=$(find_window '^Search Actions$' 10)
  [ -n "$search" ] || { echo "NOTE gui: Search Actions did not open"; screenshot gui-no-search; return 1; }
  sleep 0.5
  # The box keeps the last search: select it all so the typing replaces it.
  press "$search" ctrl+a && xdotool type --delay 40 "ViTMatte" && sleep 1 && press "$search" Return
}
window_exists() { xdotool search --name "$2" 2>/dev/null | grep -qx "$1"; }
answer_dialog() { # press OK (Return) in the ViTMatte dialog, again if the first press came too early
  local dialog i
  dialog=$(find_window '^ViTMatte$' 30)
  [ -n "$dialog" ] || { echo "NOTE gui: the ViTMatte dialog did not open"; screenshot gui-no-dialog; return 1; }
  sleep 1 # let the dialog take its final size before typing into it
  for i in 1 2 3; do
    press "$dialog" Return
    sleep 1
    window_exists "$dialog" '^ViTMatte$' || return 0
  done
  echo "NOTE gui: the ViTMatte dialog did not close on Return"
  screenshot gui-dialog-stays
  return 1
}
hook() { # COMMAND: one command for the dialog's test hook, and wait until the dialog took it
  echo "$1" >"$WORK/dialog-hook"
  local i
  for ((i = 0; i < 40; i++)); do [ -e "$WORK/dialog-hook" ] || return 0; sleep 0.25; done
  echo "NOTE gui: the dialog did not take the command: $1"
  return 1
}
# The dialog of the run from the menus that fails (issue 13, item 3): a setting changed there must survive the
# failure, Help must open the procedure's own help, and the line under Model must name the model a run uses.
dialog_checks() {
  local dialog help
  dialog=$(find_window '^ViTMatte$' 30)
  [ -n "$dialog" ] || return 0 # answer_dialog reports it
  sleep 1
  rm -f "$WORK/dialog-report.txt"
  hook "set band-width 23" && hook "report $WORK/dialog-report.txt" && wait_for "$WORK/dialog-report.txt" 10
  grep -qx "model-line: A run uses the model in $MODEL" "$WORK/dialog-report.txt" 2>/dev/null
  check $? "gui: the line under Model names the model a run uses ($(head -1 "$WORK/dialog-report.txt" 2>/dev/null))"
  press "$dialog" F1 # GIMP's Help key; the Help button calls the same function
  help=$(find_window '^ViTMatte help$' 10)
  [ -n "$help" ] && sleep 1 && screenshot gui-help
  [ -n "$help" ]
  check $? "gui: Help (F1) opens the procedure's own help (not the missing GIMP manual)"
  [ -n "$help" ] && press "$help" Escape && sleep 1
  [ -z "$help" ] || ! window_exists "$help" '^ViTMatte help$'
  check $? "gui: Escape closes the help window"
}
window_shot() { # NAME WINDOW: that window alone as WORK/NAME.png (the screenshots of the README)
  xwd -id "$2" -silent 2>/dev/null | xwdtopnm 2>/dev/null | pnmtopng >"$WORK/$1.png" 2>/dev/null
}
preview_report() { # NAME [STATE]: reports until the preview is up to date (idle, or STATE) and drawn, at most 90 s
  local i
  for ((i = 0; i < 90; i++)); do
    rm -f "$WORK/$1.txt"
    hook "report $WORK/$1.txt" && wait_for "$WORK/$1.txt" 5 && grep -q "^preview-state: ${2:-idle}$" "$WORK/$1.txt" &&
      sleep 0.5 && return 0
    sleep 0.5
  done
  echo "NOTE gui: the preview did not settle: $(tr '\n' ' ' <"$WORK/$1.txt" 2>/dev/null)"
  return 1
}
# Step 5, the preview (issue 13): each view mode on the screen against the same mode computed from the CLI's alpha,
# a second band width, and OK: the mask must be the preview's last (full-size) alpha.
PREVIEW_MODES=(overlay on-black on-white on-checkerboard alpha trimap cutout)
step_dialog() { # STEP: waits for STEP-ready, lets gui_session.scm open the dialog (STEP-armed); its id in STEP_DIALOG
  wait_for "$WORK/$1-ready" 30 || { fail "gui: the $1 step began"; return 1; }
  touch "$WORK/$1-armed"
  STEP_DIALOG=$(find_window '^ViTMatte$' 30)
  [ -n "$STEP_DIALOG" ] || { fail "gui: the dialog of the $1 step opened"; return 1; }
}
preview_step() {
  local dialog mode
  step_dialog preview || return
  dialog=$STEP_DIALOG
  hook "set trimap-source layer-mask" && hook "set band-width 5" && hook "set output layer-mask" &&
    hook "set decontaminate-amount 100" && hook "set preview TRUE"
  for mode in "${PREVIEW_MODES[@]}"; do
    hook "set preview-mode $mode"
    if preview_report "preview-$mode"; then
      screenshot "gui-preview-$mode"
      window_shot "dialog-preview-$mode" "$dialog"
      compare --preview "gui: the preview shows the matte in the view mode $mode" "$mode" \
        "$WORK/gui-preview-$mode.png" "$WORK/preview-$mode.txt" "$WORK/scene.png" "$WORK/cli_mask.tif" \
        "$WORK/mask_trimap.png" 1
    else
      fail "gui: the preview in the view mode $mode settled"
    fi
  done
  grep -q "^preview-status: The whole 100 x 80 layer, on CPU" "$WORK/preview-overlay.txt" 2>/dev/null
  check $? "gui: the preview's line says what it shows ($(grep '^preview-status' "$WORK/preview-overlay.txt" 2>/dev/null))"
  grep -q "^preview-colours: no$" "$WORK/preview-overlay.txt" 2>/dev/null &&
    grep -q "^preview-colours: yes$" "$WORK/preview-cutout.txt" 2>/dev/null
  check $? "gui: the preview estimates the foreground colours only for the Cut-out view (none for Overlay; switching to Cut-out computes them)"
  hook "set preview-mode alpha" && hook "set band-width 8"
  if preview_report preview-band8; then
    screenshot gui-preview-band8
    compare --preview "gui: after the band width changed to 8 the preview shows the new matte" \
      alpha "$WORK/gui-preview-band8.png" "$WORK/preview-band8.txt" "$WORK/scene.png" "$WORK/cli_mask8.tif" \
      "$WORK/mask_trimap8.png" 1
    ! cmp -s "$WORK/preview-alpha.txt.alpha.f32" "$WORK/preview-band8.txt.alpha.f32" &&
      ! cmp -s "$WORK/gui-preview-alpha.png" "$WORK/gui-preview-band8.png"
    check $? "gui: the preview changed when the band width changed (alpha and screen differ from band 5)"
  else
    fail "gui: the preview settled after the band width changed"
  fi
  answer_dialog && wait_for "$WORK/preview-done" 60
  check $? "gui: OK after the preview runs ViTMatte and the run ends"
}
# Step 6: a layer of more pixels than the CPU preview computes is previewed as a downscaled copy, whose trimap (made
# from GIMP's thumbnail of the channel) must be the full trimap's, downscaled; sources it cannot use get a run's words.
preview_large_step() {
  local dialog size source got want
  step_dialog preview-large || return
  dialog=$STEP_DIALOG
  # A source that cannot serve: the downscaled preview says what a run says (the console suite's cases of the same
  # layer without alpha or mask), word for word.
  for source in layer-alpha:bad-no-alpha layer-mask:bad-no-layer-mask; do
    hook "set trimap-source ${source%%:*}"
    if preview_report "preview-large-${source%%:*}" failed; then
      got=$(grep '^preview-status: ' "$WORK/preview-large-${source%%:*}.txt" | cut -d' ' -f2-)
      want=$(grep "^CASE ${source#*:} failed " "$RESULTS" 2>/dev/null | sed 's/.*plug-in-vitmatte failed: //')
      [ -n "$want" ] && [ "$got" = "$want" ]
      check $? "gui: the downscaled preview refuses trimap source ${source%%:*} in a run's words ($got)"
    else
      fail "gui: the downscaled preview with trimap source ${source%%:*} failed"
    fi
  done
  hook "set trimap-source channel" && hook "set preview-mode trimap"
  if preview_report preview-large; then
    size=$(grep '^preview-size: ' "$WORK/preview-large.txt" | cut -d' ' -f2-)
    read -r w h lw lh <<<"$size"
    [ "$lw $lh" = "800 640" ] && [ $((w * h)) -le 322560 ] && [ $((w * h)) -ge 245760 ] &&
      grep -q "^preview-status: A ${w} x ${h} copy of the 800 x 640 layer (on the CPU the preview is downscaled" \
        "$WORK/preview-large.txt"
    check $? "gui: an 800 x 640 layer is previewed on the CPU as a ${w:-?} x ${h:-?} copy, and the line says so"
    compare --classes "gui: the downscaled preview's trimap is the channel's, downscaled" \
      "$WORK/preview-large.txt.trimap.f32" "$WORK/trimap_large.png" 0.05
  else
    fail "gui: the downscaled preview settled"
  fi
  press "$dialog" Escape && wait_for "$WORK/preview-large-done" 30
  check $? "gui: Escape closes the dialog during the preview"
}
gui_stage() {
  local xpid gpid rc=0 message display_file=$WORK/xvfb.display
  Xvfb -displayfd 3 -screen 0 1280x1024x24 -nolisten tcp 3>"$display_file" >"$WORK/xvfb.log" 2>&1 &
  xpid=$!
  wait_for "$display_file" 10 && sleep 0.5
  export DISPLAY=:$(head -1 "$display_file" 2>/dev/null)
  # An empty models folder (step 0 needs no model anywhere; step 4 downloads into it), and the hook through which the
  # steps play the user in the dialog (ui/test_hook.h; the hook file exists only while a command waits).
  VITMATTE_MODELS=$WORK/gui-models VITMATTE_GIMP_TEST_DIALOG=$WORK/dialog-hook \
  timeout "$GIMP_TIMEOUT" gimp-3.0 --no-splash --batch-interpreter=plug-in-script-fu-eval -b \
    "(begin (load \"$BATCH_SCM\") (load \"$SRC/tests/gimp/integration.scm\") (load \"$SRC/tests/gimp/gui_session.scm\")
            (vmp-gui-all \"$WORK\" \"$MODEL\"))" \
    --quit >"$WORK/gui.log" 2>&1 &
  gpid=$!

  wait_for "$WORK/ready-dialog" 90 && answer_dialog
  check $? "gui: the ViTMatte dialog opened (interactive mode) and took OK"
  if wait_for "$WORK/ran" 60; then
    cp "$HOME/.config/GIMP/3.0/plug-in-settings/GimpProcedureConfigRun-plug-in-vitmatte.last" \
      "$WORK/settings-after-first-dialog.last" 2>/dev/null # the last step's run replaces them
    press "$(image_window)" ctrl+z && wait_for "$WORK/undone" 20 && press "$(image_window)" ctrl+y &&
      wait_for "$WORK/redone" 20
  fi
  if wait_for "$WORK/decon-ran" 60; then
    sleep 1 # the new display shows the image
    press "$(image_window)" ctrl+z && wait_for "$WORK/decon-undone" 20
  fi

  message=""
  if wait_for "$WORK/menu-error-ready" 20 && start_from_menu && dialog_checks && answer_dialog; then
    message=$(find_window '^GIMP Message$' 30)
    [ -n "$message" ] || { echo "NOTE gui: no GIMP Message window came up"; screenshot gui-no-message; }
  fi
  cp "$HOME/.config/GIMP/3.0/plug-in-settings/GimpProcedureConfigRun-plug-in-vitmatte.last" \
    "$WORK/settings-after-failure.last" 2>/dev/null
  grep -q "(band-width 23)" "$WORK/settings-after-failure.last" 2>/dev/null
  check $? "gui: after the failed run the dialog's values are kept for the next one (band-width 23 remembered)"
  [ -n "$message" ]
  check $? "gui: started from the menus without a trimap channel, the error comes up as a GIMP message"
  close_message "$message"
  plug_in_done "$gpid" 30
  touch "$WORK/next-step"

  wait_for "$WORK/menu-ready" 20 && start_from_menu && answer_dialog && plug_in_done "$gpid" 60
  touch "$WORK/menu-run-done"
  wait_for "$WORK/menu-done" 60
  check $? "gui: started from the menus (Search Actions: ViTMatte), the run ends"

  # Step 4: Download in the dialog, from a slow server so that the progress can be seen (and photographed): Stop
  # half way (what arrived stays, no model appears), then Download again (it resumes), then OK.
  local downloaded=$WORK/gui-models/vitmatte-base-composition-1k
  local part=$WORK/gui-models/.vitmatte-base-composition-1k.download/model.safetensors.part kept=0 mark
  if wait_for "$WORK/download-ready" 30; then
    hub_mode slow
    touch "$WORK/download-armed"
    if [ -n "$(find_window '^ViTMatte$' 30)" ]; then
      rm -f "$WORK/model-report.txt"
      hook "choose " && hook "report $WORK/model-report.txt" && wait_for "$WORK/model-report.txt" 10
      grep -q "^model-line: No model installed yet: choose ViTMatte-S (small) above and press Download" \
        "$WORK/model-report.txt" 2>/dev/null
      check $? "gui: with no model anywhere, the line under Model says so and how to get one"
      echo "download base" >"$WORK/dialog-hook"
      for _ in $(seq 100); do [ "$(stat -c %s "$part" 2>/dev/null || echo 0)" -gt 300000 ] && break; sleep 0.1; done
      screenshot gui-download-progress
      echo stop >"$WORK/dialog-hook"
      sleep 2
      kept=$(stat -c %s "$part" 2>/dev/null || echo 0)
      screenshot gui-download-stopped
      [ "$kept" -gt 300000 ] && [ ! -e "$downloaded" ] && [ ! -e "$WORK/dialog-hook" ]
      check $? "gui: Stop during the dialog's download: it stops, the $kept bytes that arrived stay, no model appears"
      mark=$(wc -c <"$WORK/hub/requests.log")
      echo "download base" >"$WORK/dialog-hook"
      wait_for "$downloaded/download.json" 60 && tail -c +$((mark + 1)) "$WORK/hub/requests.log" | grep -q "range=bytes=$kept-"
      check $? "gui: Download again resumes at byte $kept and puts ViTMatte-B into the models folder"
      sleep 1
      screenshot gui-download-done
    else
      fail "gui: the dialog for the download opened"
    fi
    answer_dialog && wait_for "$WORK/download-done" 60
    check $? "gui: after the download, OK runs ViTMatte and the run ends"
    hub_mode normal
  else
    fail "gui: the download step began"
  fi

  preview_step
  preview_large_step

  touch "$WORK/stop-waiting"
  wait "$gpid" || rc=$?
  kill "$xpid" 2>/dev/null
  unset DISPLAY
  check "$rc" "gui: gimp-3.0 (user interface under Xvfb) ended normally (exit code $rc)"
  local bad
  # One CRITICAL is GIMP's own: a dialog of a plug-in that Script-Fu started in interactive mode asks the core for
  # the progress window, and a batch call has none ("gimp_progress_get_window_id: assertion ... failed").
  bad=$(grep -E "CRITICAL|Plug-in crashed|inconsistent state|duplicate mnemonic|vitmatte-gimp.*(WARNING|Error)|AddressSanitizer|runtime error:" \
        "$WORK/gui.log" | grep -v "gimp_progress_get_window_id: assertion 'GIMP_IS_PROGRESS (progress)' failed" |
        grep -v "gimp_flush(): error: Broken pipe" || true)
  if [ -n "$bad" ]; then fail "gui: no crash, CRITICAL, open undo group or dialog warning: $bad"
  else pass "gui: no crash, CRITICAL, open undo group or dialog warning"; fi
  GUI_RAN=1
}
if command -v Xvfb >/dev/null && command -v xdotool >/dev/null && command -v gimp-3.0 >/dev/null; then
  rm "$PLUGINS/vitmatte-gimp/model" # no default model for this run (gui_session.scm step 0)
  gui_stage
else
  echo "NOTE Xvfb, xdotool or gimp-3.0 missing: the dialog, menu and real-undo checks are skipped"
fi

ls "$WORK"/*.xcf >"$WORK/inspect.list" 2>/dev/null
export VMP_INSPECT_LIST=$WORK/inspect.list
gimp_run inspect python-fu-eval "exec(open('$SRC/tests/gimp/inspect_images.py').read())"
echo "NOTE gimp-console runs took $(($(date +%s) - start)) s"

# --- (a) results equal the CLI's alpha ------------------------------------------------------------------------
case_ok() { grep -q "^CASE $1 ok$" "$RESULTS" 2>/dev/null; }
good_case() { # NAME DUMP CLI_REFERENCE TOLERANCE WHAT
  local name=$1 dump=$2 ref=$3 tol=$4 what=$5
  if case_ok "$name"; then pass "$name: plug-in-vitmatte returned success"
  else fail "$name: plug-in-vitmatte returned success ($(grep "^CASE $name " "$RESULTS" 2>/dev/null))"; return; fi
  compare "$name: $what equals the CLI alpha" "$WORK/$dump" "$WORK/$ref" "$tol"
}
good_case channel-mask channel-mask.layer0.mask.f32 cli_scene.tif $TOL8 "layer mask (trimap channel found by name)"
good_case channel-to-selection channel-to-selection.layer0.mask.f32 cli_scene.tif $TOL8 \
  "selection (trimap channel by ID; copied into a mask to be saved)"
good_case channel-selected channel-selected.layer0.mask.f32 cli_scene.tif $TOL8 \
  "mask (started with the trimap channel selected: that channel is the trimap, the only layer is matted)"
good_case selection-band selection-band.layer0.mask.f32 cli_rect.tif $TOL8 \
  "mask (6 px band around a rectangle selection, layer at (7,-5) partly off the canvas)"
good_case small-layer small-layer.layer0.mask.f32 cli_small.tif $TOL8 \
  "mask (60x50 layer at (20,15) on a 100x80 canvas, selection band)"
good_case new-layer new-layer.layer0.mask.f32 cli_scene.tif $TOL8 "mask of the new layer"
good_case new-layer-over-mask new-layer-over-mask.layer0.mask.f32 cli_scene.tif $TOL8 \
  "mask of the new layer made from a layer with a mask (switched off)"
good_case gray gray.layer0.mask.f32 cli_gray.tif $TOL8 "mask of a grey image"
good_case u16 u16.layer0.mask.f32 cli_scene.tif $TOL_FINE "mask of a 16-bit image"
good_case float float.layer0.mask.f32 cli_scene.tif $TOL_FINE "mask of a 32-bit float linear image"
good_case float-grey30 float-grey30.layer0.mask.f32 cli_scene.tif $TOL_FINE \
  "mask of a float linear image whose trimap's unknown ring is 30 % grey (stored as linear 0.074: read as Y', unknown)"
good_case with-alpha with-alpha.layer0.mask.f32 cli_scene.tif $TOL8 "mask of a layer with an alpha channel"
good_case replace-mask replace-mask.layer0.mask.f32 cli_scene.tif $TOL8 "replaced mask (replace-mask TRUE)"
good_case last-values last-values.layer0.mask.f32 cli_scene.tif $TOL8 \
  "mask in last-values mode (model from \$VITMATTE_MODEL)"
good_case source-mask source-mask.layer0.mask.f32 cli_mask.tif $TOL8 \
  "mask from the band around the layer's rough mask (5 px; hard and soft edges)"
good_case source-mask-new-layer source-mask-new-layer.layer0.mask.f32 cli_mask.tif $TOL8 \
  "new layer's mask from the rough mask (started with the mask selected)"
good_case source-alpha source-alpha.layer0.mask.f32 cli_mask.tif $TOL8 "mask from the band around the layer's alpha"
good_case source-alpha-u16 source-alpha-u16.layer0.mask.f32 cli_mask.tif $TOL_FINE \
  "mask from the band around a 16-bit layer's alpha"
[ "$(grep -c "^layer [0-9]* name=" "$WORK/source-mask.state" 2>/dev/null)" = 1 ] &&
  ! cmp -s "$WORK/source-mask-before.layer0.mask.f32" "$WORK/source-mask.layer0.mask.f32"
check $? "source-mask: the rough mask is replaced by the matte (one layer, its mask changed; no replace-mask needed)"
case $([ -s "$WORK/source-mask-before.layer0.mask.f32" ] &&
         "$HELPERS/vmp-compare" rough "$WORK/source-mask-before.layer0.mask.f32" "$WORK/cli_mask.tif" $TOL8) in
  FAIL*) pass "source-mask: the rough mask itself is not within 1/255 of the CLI alpha (the checks above can fail)" ;;
  *) fail "source-mask: the rough mask before the run was already the CLI alpha (or was not saved)" ;;
esac
compare "batch example (model found next to the plug-in): exported PNG's alpha equals the CLI alpha" \
  "$WORK/batch-out/scene.png" "$WORK/cli_scene.tif" $TOL8
compare "batch example, grey picture: exported PNG's alpha equals the CLI alpha" "$WORK/batch-out/portrait.png" \
  "$WORK/cli_gray.tif" $TOL8
grep -q "^script-fu-Warning: vitmatte: skipped $WORK/batch-in/scene.tif: another picture called scene" "$WORK/batch.log"
check $? "batch example: scene.tif, whose output would be scene.png too, is reported and skipped"
line=$(grep "^CASE batch-two-layers " "$RESULTS" 2>/dev/null)
case $line in
  "CASE batch-two-layers failed "*"has 2 layers"*)
    pass "vitmatte-file refuses a picture of two layers: ${line#CASE batch-two-layers failed }" ;;
  *) fail "vitmatte-file refuses a picture of two layers with a message (got: ${line:-nothing})" ;;
esac
[ ! -e "$WORK/two-layers-out.png" ]
check $? "vitmatte-file wrote nothing for the picture of two layers"

# new-layer: the copy sits above the original, which keeps its pixels and gets no mask.
state_line() { grep "^$2 " "$WORK/$1.state" 2>/dev/null | head -1; }
before=$(state_line new-layer-before "layer 0")
after=$(state_line new-layer "layer 1")
[ -n "$before" ] && [ "${before#layer 0 }" = "${after#layer 1 }" ]
check $? "new-layer: the original layer (now second) is unchanged and has no mask"
grep -q "^layer 0 name=Background (ViTMatte) .* mask=yes" "$WORK/new-layer.state" 2>/dev/null
check $? "new-layer: the new layer 'Background (ViTMatte)' is on top and has the mask"
before=$(grep "^layer 0 " "$WORK/new-layer-over-mask-before.state" 2>/dev/null)
after=$(grep "^layer 1 " "$WORK/new-layer-over-mask.state" 2>/dev/null)
[ -n "$before" ] && [ "$(echo "$before" | sed 's/^layer 0 //')" = "$(echo "$after" | sed 's/^layer 1 //')" ] &&
  grep -q "^layer 1 mask-applied=False$" "$WORK/new-layer-over-mask.state"
check $? "new-layer-over-mask: the original layer keeps its pixels and its switched-off mask"
grep -q "^layer 0 name=Background (ViTMatte) .* mask=yes" "$WORK/new-layer-over-mask.state" 2>/dev/null &&
  grep -q "^layer 0 mask-applied=True$" "$WORK/new-layer-over-mask.state"
check $? "new-layer-over-mask: the new layer is on top with the alpha as its mask, switched on"
grep -q "^selection empty=False " "$WORK/channel-to-selection.state" 2>/dev/null
check $? "channel-to-selection: GIMP sees the new selection as not empty"
grep -q "^layer 0 .*offset=20,15 size=60x50 .*mask=yes" "$WORK/small-layer.state" 2>/dev/null
check $? "small-layer: the layer is 60x50 at (20,15) and has a mask of its size"
grep -q "^layer 0 .*offset=7,-5 size=100x80 .*mask=yes" "$WORK/selection-band.state" 2>/dev/null
check $? "selection-band: the mask covers the whole layer, also the part off the canvas"

# --- decontaminated colours: the layer's colours equal the engine's estimation (recomputed here from the layer
# before the run, in its own encoding) blended by the amount in the unknown band, within 1/255 ------------------
decon_case() { # NAME LAYER ALPHA AMOUNT WHAT
  local name=$1 layer=$2 alpha=$3 amount=$4 what=$5
  if case_ok "$name"; then pass "$name: plug-in-vitmatte returned success"
  else fail "$name: plug-in-vitmatte returned success ($(grep "^CASE $name " "$RESULTS" 2>/dev/null))"; return; fi
  compare --decontaminated "$name: $what" "$WORK/$name-before.layer0.pixels.f32" \
    "$WORK/$name.layer$layer.pixels.f32" "$alpha" "$amount" $TOL8
}
decon_case decon-mask 0 "$WORK/cli_scene.tif" 1 "8-bit RGB, amount 100 %: decontaminated colours"
decon_case decon-mask-40 0 "$WORK/cli_scene.tif" 0.4 "amount 40 %: 40 % of the way to the estimated colours"
decon_case decon-new-layer 0 "$WORK/cli_scene.tif" 1 "new layer with decontaminated colours"
decon_case decon-gray 0 "$WORK/cli_gray.tif" 1 "grey image (one colour channel)"
decon_case decon-alpha 0 "$WORK/cli_scene.tif" 1 "layer with an alpha channel (kept as it was)"
decon_case decon-u16 0 "$WORK/cli_scene.tif" 1 "16-bit perceptual image, estimated in its perceptual values"
# the float image's own alpha is its float mask (the plug-in reads the layer as R'G'B' float for the model, which
# differs from the CLI's 8-bit input by float rounding)
decon_case decon-float 0 "$WORK/decon-float.layer0.mask.f32" 1 "32-bit float linear image, estimated in its linear values"
decon_case decon-selection 0 "$WORK/cli_scene.tif" 1 "with a selection active: the whole layer"
compare "decon-mask: its mask equals the CLI alpha" "$WORK/decon-mask.layer0.mask.f32" "$WORK/cli_scene.tif" $TOL8
grep -q "^FACT decon-mask layers 1$" "$RESULTS" 2>/dev/null &&
  grep -q "^layer 0 name=Background offset=0,0 size=100x80 alpha=False mask=yes" "$WORK/decon-mask.state" 2>/dev/null
check $? "decon-mask: the layer is replaced in place by its decontaminated copy (one layer, same name, size and place, with the mask)"
[ -n "$(state_line decon-selection "selection")" ] &&
  [ "$(state_line decon-selection-before "selection")" = "$(state_line decon-selection "selection")" ]
check $? "decon-selection: the selection is as before the run"
before=$(state_line decon-new-layer-before "layer 0")
after=$(state_line decon-new-layer "layer 1")
[ -n "$before" ] && [ "${before#layer 0 }" = "${after#layer 1 }" ] &&
  grep -q "^layer 1 visible=False$" "$WORK/decon-new-layer.state" &&
  grep -q "^layer 0 name=Background (ViTMatte) .* mask=yes" "$WORK/decon-new-layer.state" &&
  grep -q "^layer 0 visible=True$" "$WORK/decon-new-layer.state"
check $? "decon-new-layer: the decontaminated copy is on top with the mask; the original below is unchanged and hidden"
before=$(state_line decon-ignored-before "layer 0" | grep -oE ' pixels=[0-9a-f]+')
after=$(state_line decon-ignored "layer 0" | grep -oE ' pixels=[0-9a-f]+')
case_ok decon-ignored && [ -n "$before" ] && [ "$before" = "$after" ] && grep -q "^layer 0 .*mask=yes" "$WORK/decon-ignored.state"
check $? "decon-ignored: decontaminate with the plain layer-mask output adds the mask and leaves the colours alone"

# --- (b) bad inputs: an error status with a message that says what is wrong, and the image unchanged -------------
pdb_error() { # NAME EXPECTED_MESSAGE_PART
  local name=$1 expect=$2 line
  line=$(grep "^CASE $name " "$RESULTS" 2>/dev/null)
  case $line in
    "CASE $name failed "*"$expect"*) pass "$name: PDB error with the message \"...$expect...\" (${line#*failed })" ;;
    *) fail "$name: PDB error with a message containing \"$expect\" (got: ${line:-nothing})" ;;
  esac
}
bad_case() { # NAME EXPECTED_MESSAGE_PART
  local name=$1
  pdb_error "$name" "$2"
  if [ -s "$WORK/$name-before.state" ] && cmp -s "$WORK/$name-before.state" "$WORK/$name.state"; then
    pass "$name: image unchanged (layers, pixels, masks, channels, selection)"
  else
    fail "$name: image unchanged: $(diff "$WORK/$name-before.state" "$WORK/$name.state" 2>&1 | tr '\n' ' ')"
  fi
}
# The engine's words, as the CLI prints them (vm_trimap_check), capitalised.
bad_case bad-no-unknown "The trimap has no unknown pixels (0 background, "
bad_case bad-indexed "Indexed images are not supported"
bad_case bad-empty-selection "selection is empty"
bad_case bad-missing-model "Could not load the ViTMatte model"
bad_case bad-model-without-weights "Could not load the ViTMatte model"
bad_case bad-existing-mask "already has a mask"
bad_case bad-outside-canvas "outside the canvas"
bad_case bad-no-channel "No trimap channel"
bad_case bad-no-layer-mask "has no mask to start from"
bad_case bad-no-alpha "has no alpha channel"
bad_case bad-mask-without-edge "no unknown pixels"
# The tests build without CUDA, so asking for the GPU must fail with a GPU message (not fall back silently).
bad_case bad-gpu-unavailable "GPU error"
bad_case bad-fp16-on-cpu "GPU precisions"

# --- models downloaded by plug-in-vitmatte-download (the dialog's download function, non-interactive) ------------
line=$(grep "^FACT download-small folder " "$RESULTS" 2>/dev/null)
downloaded=$WORK/models/vitmatte-small-composition-1k
if case_ok download-small && [ "${line#FACT download-small folder }" = "$downloaded" ] &&
   cmp -s "$downloaded/model.safetensors" "$MODEL/model.safetensors" && cmp -s "$downloaded/config.json" "$MODEL/config.json" &&
   grep -q '"commit": "6a58ad7646403c1df626fbd746900aec7361ea1d"' "$downloaded/download.json"; then
  pass "plug-in-vitmatte-download \"small\": both files arrived byte for byte in \$VITMATTE_MODELS, commit recorded"
else fail "plug-in-vitmatte-download \"small\": $(grep "^CASE download-small " "$RESULTS" 2>/dev/null) ${line:-no folder}"; fi
grep -q "GET /hustvl/vitmatte-small-composition-1k/resolve/main/config.json" "$WORK/hub/requests.log" 2>/dev/null &&
  grep -q "GET /lfs/" "$WORK/hub/requests.log"
check $? "the download came from the test hub (resolve, then the LFS redirect)"
good_case download-then-matte download-then-matte.layer0.mask.f32 cli_scene.tif $TOL8 \
  "mask with #:model \"small\", the model plug-in-vitmatte-download fetched"
line=$(grep "^CASE download-unknown-repo " "$RESULTS" 2>/dev/null)
case $line in
  "CASE download-unknown-repo failed "*"Could not download nobody/nothing"*"HTTP 401"*)
    pass "plug-in-vitmatte-download of a repository the hub does not have: PDB error with the hub's 401" ;;
  *) fail "plug-in-vitmatte-download of an unknown repository (got: ${line:-nothing})" ;;
esac
bad_case bad-not-downloaded "is not downloaded"

# Layers too large (never filled, so GIMP holds them sparse): an error giving the size, before a pixel is read.
huge_case() { # NAME EXPECTED_MESSAGE_PART
  local name=$1
  pdb_error "$name" "$2"
  grep -q "^FACT $name layers 1 channels 0 mask 0$" "$RESULTS"
  check $? "$name: the image still has its one layer, no mask, no channel"
}
huge_case huge-memory "the image is 32768 x 32768: matting it needs about"
huge_case huge-memory-decon "the image is 32768 x 32768: estimating its foreground colours needs about"
huge_case huge-limits "image size 70000 x 16 is outside what the engine supports"

# --- cancel -------------------------------------------------------------------------------------------------------
kills=$(grep -c '^killed$' "$WORK/cancel.note" 2>/dev/null)
[ "${kills:-0}" = "$CANCEL_CASES" ]
check $? "cancel: the plug-in paused with its output ready before changing the image, and was killed there,\
 $CANCEL_CASES times ($(tr '\n' ';' <"$WORK/cancel.note" 2>/dev/null))"
for name in cancel-mask cancel-new-layer cancel-decontaminated; do
  line=$(grep "^CASE $name " "$RESULTS" 2>/dev/null)
  what="$name: the plug-in killed at the last moment Cancel can act ends the call with an error"
  case $line in
    "CASE $name failed "*) pass "$what" ;;
    *) fail "$what (got: ${line:-nothing})" ;;
  esac
  [ -s "$WORK/$name-before.state" ] && cmp -s "$WORK/$name-before.state" "$WORK/$name.state"
  check $? "$name: the image is unchanged after the kill (layers, pixels, masks, channels, selection)"
  grep -q "^FACT $name dirty 0$" "$RESULTS" 2>/dev/null
  check $? "$name: the image is still clean after the kill (the prepared output pushed no undo step)"
done
leaked=$(grep -oE 'EEEEeEeek! [0-9]+ GeglBuffers leaked' "$WORK/suite.log" | head -1)
[ -z "$leaked" ] || echo "NOTE cancel: GIMP's \"$leaked\" at exit: the outputs the killed runs had made outside" \
  "the image, which GIMP keeps until it quits (plugin/README.md)"

# --- what a run adds (the undo itself is the gui Ctrl+Z check below) --------------------------------------------
grep -q "^FACT mask-only undo-enabled 1$" "$RESULTS" 2>/dev/null && case_ok mask-only
check $? "mask-only: the run succeeded and left the image's undo enabled"
sed -E -e 's/ mask=yes (pixels=[0-9a-f]+) mask_pixels=[0-9a-f]+$/ mask=no \1 mask_pixels=-/' \
  -e '/^layer [0-9]+ mask-applied=/d' "$WORK/mask-only-after.state" 2>/dev/null |
  cmp -s - "$WORK/mask-only-before.state" && grep -q "mask=yes" "$WORK/mask-only-after.state"
check $? "mask-only: the run changed nothing but adding the layer mask"
[ -s "$WORK/mask-only-before.state" ] && cmp -s "$WORK/mask-only-before.state" "$WORK/mask-only-removed.state"
check $? "mask-only: removing that mask by hand gives back the image as before the run, bit for bit"
! grep -q "inconsistent state" "$WORK/suite.log"
check $? "undo groups: every run that finished closed its undo group (no 'left image undo in inconsistent state')"

# --- (c) undo and interactive mode in the user interface ---------------------------------------------------------
if [ "$GUI_RAN" = 1 ]; then
  GUI_RESULTS=$WORK/gui-results.txt
  RESULTS=$GUI_RESULTS bad_case bad-no-model-found "No ViTMatte model found"
  grep -q "^CASE gui-interactive ok$" "$GUI_RESULTS" 2>/dev/null
  check $? "gui: the interactive run returned success"
  settings=$HOME/.config/GIMP/3.0/plug-in-settings/GimpProcedureConfigRun-plug-in-vitmatte.last
  grep -q "(model \"$MODEL\")" "$WORK/settings-after-first-dialog.last" 2>/dev/null
  check $? "gui: the interactive run's values are remembered for the next run ($(basename "$settings"))"
  compare "gui: mask from the interactive run equals the CLI alpha" "$WORK/gui-after.layer0.mask.f32" \
    "$WORK/cli_scene.tif" $TOL8
  [ -s "$WORK/gui-before.state" ] && cmp -s "$WORK/gui-before.state" "$WORK/gui-undone.state"
  check $? "gui: one Ctrl+Z (Edit > Undo) gives back the image as before the run, its old mask too, bit for bit"
  [ -s "$WORK/gui-after.state" ] && cmp -s "$WORK/gui-after.state" "$WORK/gui-redone.state"
  check $? "gui: Ctrl+Y (Edit > Redo) brings the same mask back"
  grep -q "^CASE gui-decon ok$" "$GUI_RESULTS" 2>/dev/null && [ -s "$WORK/gui-decon-after.state" ] &&
    ! cmp -s "$WORK/gui-decon-before.state" "$WORK/gui-decon-after.state"
  check $? "gui: the run with Layer mask + decontaminated colours returned success and changed the image"
  [ -s "$WORK/gui-decon-before.state" ] && cmp -s "$WORK/gui-decon-before.state" "$WORK/gui-decon-undone.state"
  check $? "gui: one Ctrl+Z after Layer mask + decontaminated colours gives back the image as before, bit for bit"
  [ -s "$WORK/gui-menu-error-before.state" ] &&
    cmp -s "$WORK/gui-menu-error-before.state" "$WORK/gui-menu-error.state"
  check $? "gui: the failed run from the menus left the image unchanged"
  compare "gui: mask from the run started from the menus equals the CLI alpha" "$WORK/gui-menu.layer0.mask.f32" \
    "$WORK/cli_scene.tif" $TOL8
  grep -q "^CASE gui-download ok$" "$GUI_RESULTS" 2>/dev/null &&
    cmp -s "$WORK/gui-models/vitmatte-base-composition-1k/model.safetensors" "$MODEL/model.safetensors"
  check $? "gui: the run after Download succeeded, and the downloaded weights are the served ones byte for byte"
  grep -q '(model "base")' "$settings" 2>/dev/null
  check $? "gui: the dialog chose the downloaded model by name (model \"base\" remembered)"
  compare "gui: mask from the downloaded ViTMatte-B equals the CLI alpha" "$WORK/gui-download.layer0.mask.f32" \
    "$WORK/cli_scene.tif" $TOL8
  grep -q "^CASE gui-preview ok$" "$GUI_RESULTS" 2>/dev/null
  check $? "gui: the run after the preview returned success"
  compare "gui: OK gives the mask of the preview's full-size computation (band 8)" \
    "$WORK/gui-preview.layer0.mask.f32" "$WORK/preview-band8.txt.alpha.f32" $TOL8
  compare "gui: the mask after the preview equals the CLI alpha for the band-8 trimap" \
    "$WORK/gui-preview.layer0.mask.f32" "$WORK/cli_mask8.tif" $TOL8
fi

# --- (d) the user install the README gives (-Duser_install=true), once: release build only -----------------------
if [[ "$BUILD" == *build-release ]]; then
  USERCFG=$WORK/user-config
  rm -rf "$WORK/build-user" "$USERCFG"
  # configure only: the install path is decided at configure time from $XDG_CONFIG_HOME
  XDG_CONFIG_HOME=$USERCFG meson setup "$WORK/build-user" "$SRC" -Dcuda=disabled -Dgimp=enabled -Dcli=disabled \
    -Dtests=false -Duser_install=true >"$WORK/build-user.log" 2>&1 &&
    meson introspect "$WORK/build-user" --installed | grep -q "\"$USERCFG/GIMP/3.0/plug-ins/vitmatte-gimp/vitmatte-gimp\""
  check $? "-Duser_install=true installs the plug-in as \$XDG_CONFIG_HOME/GIMP/3.0/plug-ins/vitmatte-gimp/vitmatte-gimp"
  # GIMP's default search path (no GIMP_TESTING_PLUGINDIRS), a fresh profile, the plug-in only in the user folder
  mkdir -p "$USERCFG/GIMP/3.0/plug-ins"
  cp -r "$PLUGINS/vitmatte-gimp" "$USERCFG/GIMP/3.0/plug-ins/"
  (unset GIMP_TESTING_PLUGINDIRS; export XDG_CONFIG_HOME=$USERCFG
   timeout "$GIMP_TIMEOUT" gimp-console-3.0 -i --batch-interpreter=plug-in-script-fu-eval -b '(gimp-message "ok")' \
     --quit >"$WORK/user-install.log" 2>&1)
  [ ! -e "$GIMPLIBDIR/plug-ins/vitmatte-gimp" ] && grep -q '"plug-in-vitmatte"' "$USERCFG/GIMP/3.0/pluginrc" 2>/dev/null &&
    grep -qE "(\\\$\{gimp_dir\}|$USERCFG/GIMP/3.0)/plug-ins/vitmatte-gimp/vitmatte-gimp" "$USERCFG/GIMP/3.0/pluginrc"
  check $? "GIMP registers plug-in-vitmatte from the user's plug-in folder ($(basename "$USERCFG")/GIMP/3.0/plug-ins)"
fi

finish
