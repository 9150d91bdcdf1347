#!/bin/bash
# measure_preview.sh - how long the dialog's first preview of a large photo takes, in real GIMP 3 under Xvfb: from the
# moment the dialog is built to the preview drawn (the dialog's own clock, ui/matte_preview.c), N times. Not a test.
#
# Usage (on a machine with GIMP 3, e.g. inside the root: scripts/gimp-root.sh exec ROOT --bind REPO:/src:ro -- ...):
#   tests/gimp/measure_preview.sh SRC_DIR BUILD_DIR MODEL_DIR WORK_DIR [WIDTH HEIGHT [RUNS]]
#   BUILD_DIR  a meson build with plugin/vitmatte-gimp and tests/cli/make_test_images built
#   MODEL_DIR  the checkpoint (ViTMatte-S-sized: tests/perf/bench_cpu --write-model DIR writes one)
# Prints one line per run: "first preview: S s (the dialog's line: ...)".
set -uo pipefail
SRC=$1 BUILD=$2 MODEL=$3 WORK=$4 WIDTH=${5:-4000} HEIGHT=${6:-3000} RUNS=${7:-3}

rm -rf "$WORK"
mkdir -p "$WORK/home"
export HOME=$WORK/home
GIMPLIBDIR=$(pkg-config --variable=gimplibdir gimp-3.0 2>/dev/null || echo /usr/lib/x86_64-linux-gnu/gimp/3.0)
meson install -C "$BUILD" --no-rebuild --tags runtime --destdir "$WORK/install" >"$WORK/install.log" 2>&1 ||
  { echo "meson install failed"; exit 1; }
export GIMP_TESTING_PLUGINDIRS=$WORK/install$GIMPLIBDIR/plug-ins:$GIMPLIBDIR/plug-ins
SCM=$(find "$WORK/install" -name vitmatte-batch.scm | head -1)
"$BUILD/tests/cli/make_test_images" "$WORK" "$WIDTH" "$HEIGHT" || { echo "no test pictures"; exit 1; }

Xvfb -displayfd 3 -screen 0 1600x1200x24 -nolisten tcp 3>"$WORK/display" >"$WORK/xvfb.log" 2>&1 &
xpid=$!
for _ in $(seq 40); do [ -s "$WORK/display" ] && break; sleep 0.25; done
export DISPLAY=:$(head -1 "$WORK/display")
hookfile=$WORK/dialog-hook
export VITMATTE_GIMP_TEST_DIALOG=$hookfile

for run in $(seq "$RUNS"); do
  rm -f "$WORK/report.txt" "$WORK/ran"
  timeout 600 gimp-3.0 --no-splash --batch-interpreter=plug-in-script-fu-eval -b "(begin (load \"$SCM\")
    (let* ((image (car (gimp-file-load RUN-NONINTERACTIVE \"$WORK/large.png\")))
           (layer (vector-ref (car (gimp-image-get-layers image)) 0)))
      (vitmatte-trimap-channel image \"$WORK/large_trimap.png\")
      (gimp-display-new image)
      (catch #f (plug-in-vitmatte #:run-mode RUN-INTERACTIVE #:image image #:drawables (vector layer)
                                  #:model \"$MODEL\" #:device \"cpu\"))
      (gimp-image-clean-all image)))" --quit >"$WORK/gimp-$run.log" 2>&1 &
  gpid=$!
  settled=""
  for _ in $(seq 600); do
    echo "report $WORK/report.txt" >"$hookfile"
    sleep 0.5
    if grep -q "^preview-state: idle$" "$WORK/report.txt" 2>/dev/null; then settled=1; break; fi
  done
  if [ -n "$settled" ]; then
    echo "first preview of the ${WIDTH}x${HEIGHT} layer: $(grep '^preview-latency' "$WORK/report.txt" | cut -d' ' -f2) s" \
      "(model and colours $(grep '^preview-seconds' "$WORK/report.txt" | cut -d' ' -f2) s; the dialog's line:" \
      "$(grep '^preview-status' "$WORK/report.txt" | cut -d' ' -f2-))"
  else
    echo "the preview did not settle: $(tr '\n' ' ' <"$WORK/report.txt" 2>/dev/null)"
  fi
  xdotool search --name '^ViTMatte$' | head -1 | xargs -r -I{} xdotool windowfocus --sync {} key Escape
  wait "$gpid"
done
kill "$xpid" 2>/dev/null
