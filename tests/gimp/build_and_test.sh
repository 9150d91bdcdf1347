#!/bin/bash
# build_and_test.sh - builds what the GIMP integration tests need and runs them, once per build variant, on a
# machine with GIMP 3 (natively, or inside the Debian 13 root; tests/gimp/run.sh calls it). Owns: the meson
# configurations of the variants and the combined summary line.
#
# Usage: tests/gimp/build_and_test.sh SRC_DIR STATE_DIR MODEL_DIR|"" VARIANT...
#   VARIANT  release: the optimised build users get;
#            sanitize: AddressSanitizer + UndefinedBehaviorSanitizer in the plug-in and the CLI (leak checks off:
#            GLib and GTK keep memory until exit by design)
# Builds go to STATE_DIR/build-VARIANT (kept, so later runs are incremental), scratch to STATE_DIR/work-VARIANT.
# Ends with "gimp: N passed, N failed" over all variants.
set -uo pipefail

SRC=$1 STATE=$2 MODEL=$3
shift 3
TARGETS=(plugin/vitmatte-gimp tools/vitmatte tests/gimp/vmp-make-test-images tests/gimp/vmp-compare
         tests/gimp/vmp-test-trimap-values)
COMMON=(-Dcuda=disabled -Dgimp=enabled -Dcli=enabled -Dtests=true)

total_passed=0
total_failed=0
for variant in "$@"; do
  case $variant in
    release) options=("${COMMON[@]}" -Dbuildtype=release) ;;
    sanitize) options=("${COMMON[@]}" -Dbuildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false) ;;
    *) echo "build_and_test.sh: unknown variant $variant" >&2; exit 2 ;;
  esac
  build=$STATE/build-$variant
  echo "=== GIMP integration tests, $variant build"
  mkdir -p "$STATE"
  if [ -f "$build/build.ninja" ]; then
    meson setup --reconfigure "$build" "$SRC" "${options[@]}" >"$build.setup.log" 2>&1
  else
    meson setup "$build" "$SRC" "${options[@]}" >"$build.setup.log" 2>&1
  fi
  if [ $? -ne 0 ]; then
    tail -n 30 "$build.setup.log"
    echo "FAIL meson setup of the $variant build (see above)"
    total_failed=$((total_failed + 1))
    continue
  fi
  if ! ninja -C "$build" "${TARGETS[@]}" >"$build.build.log" 2>&1; then
    grep -E "error:|FAILED" "$build.build.log" | head -n 30
    echo "FAIL build of the plug-in, CLI and helpers ($variant)"
    total_failed=$((total_failed + 1))
    continue
  fi
  echo "PASS built the plug-in, the CLI and the test helpers ($variant; meson $(meson --version);" \
       "$(gimp-console-3.0 --version))"
  total_passed=$((total_passed + 1))

  # halt_on_error makes any UBSan report end the process, which the tests then see as a failed run.
  out=$(ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        VMP_SUMMARY_LABEL="gimp ($variant build)" \
        "$SRC/tests/gimp/integration.sh" "$SRC" "$build" "$STATE/work-$variant" ${MODEL:+"$MODEL"} 2>&1)
  printf '%s\n' "$out"
  line=$(printf '%s\n' "$out" | grep -E "^gimp \($variant build\): [0-9]+ passed, [0-9]+ failed$" | tail -n 1)
  if [ -z "$line" ]; then
    echo "FAIL the $variant integration run ended without a summary"
    total_failed=$((total_failed + 1))
    continue
  fi
  p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
  f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed$/\1/')
  total_passed=$((total_passed + p))
  total_failed=$((total_failed + f))
done

echo "gimp: $total_passed passed, $total_failed failed"
[ "$total_failed" = 0 ]
