#!/usr/bin/env bash
# The project's test command: installs what is missing, builds, runs every test that needs no GPU (also under
# AddressSanitizer + UndefinedBehaviorSanitizer), bounded fuzz runs, the headless GIMP 3 tests and the download
# bundle's test (made, unpacked and used in a Debian 13 root with only GIMP), then prints
# the parity table and a last line "N passed, N failed".
#   tests/run.sh            everything
#   tests/run.sh --quick    the normal build's tests only (no sanitizers, fuzzing or GIMP)
#   tests/run.sh --no-gimp  everything but the GIMP 3 integration tests and the bundle test
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
quick=0
gimp=1
case "${1:-}" in
  --quick) quick=1 ;;
  --no-gimp) gimp=0 ;;
  "") ;;
  *) echo "usage: tests/run.sh [--quick | --no-gimp]" >&2; exit 2 ;;
esac

scripts/install-deps.sh --tests || { echo "0 passed, 1 failed"; exit 1; }
[ -d /usr/local/cuda/bin ] && export PATH="/usr/local/cuda/bin:$PATH"

passed=0
failed=0
note() { printf '\n=== %s\n' "$*"; }

# meson_suite NAME BUILD_DIR [meson setup options...]: configure, build, run `meson test`, count its results.
meson_suite() {
  local name=$1 dir=$2
  shift 2
  note "$name: configure and build ($dir)"
  if [ -d "$dir" ]; then
    meson setup --reconfigure "$dir" "$@" >"$dir.setup.log" 2>&1 || meson setup --wipe "$dir" "$@" >"$dir.setup.log" 2>&1
  else
    meson setup "$dir" "$@" >"$dir.setup.log" 2>&1
  fi
  if [ $? -ne 0 ] || ! ninja -C "$dir" >"$dir.build.log" 2>&1; then
    tail -n 40 "$dir.setup.log" "$dir.build.log" 2>/dev/null
    echo "$name: BUILD FAILED"
    failed=$((failed + 1))
    return
  fi
  note "$name: meson test"
  meson test -C "$dir" --print-errorlogs --num-processes 2 2>&1 | grep -vE '^\s*$' | tail -n 60
  local rc=${PIPESTATUS[0]} counts
  counts=$(python3 - "$dir/meson-logs/testlog.json" <<'PY'
import json, sys
ok = bad = 0
for line in open(sys.argv[1]):
    r = json.loads(line).get("result")
    if r in ("OK", "SKIP", "EXPECTEDFAIL"):
        ok += r == "OK"
    else:
        bad += 1
print(ok, bad)
PY
)
  if ! [[ "$counts" =~ ^[0-9]+\ [0-9]+$ ]]; then
    echo "$name: no test log (meson test exited $rc)"
    failed=$((failed + 1))
    return
  fi
  passed=$((passed + ${counts% *}))
  failed=$((failed + ${counts#* }))
  # meson test failing with no failed test in its log (e.g. a crash of the runner) still counts as a failure
  if [ "$rc" -ne 0 ] && [ "${counts#* }" -eq 0 ]; then failed=$((failed + 1)); fi
}

# summary_suite TITLE PREFIX CMD...: run a suite that ends with "PREFIX: N passed, N failed", show its end, count it.
summary_suite() {
  local title=$1 prefix=$2 out rc line p f
  shift 2
  note "$title"
  out=$("$@" 2>&1); rc=$?
  printf '%s\n' "$out" | tail -n 60
  line=$(printf '%s\n' "$out" | grep -E "^$prefix: [0-9]+ passed, [0-9]+ failed" | tail -n 1)
  if [ -n "$line" ]; then
    p=$(echo "$line" | sed -E "s/^$prefix: ([0-9]+) passed.*/\\1/"); f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    passed=$((passed + p)); failed=$((failed + f))
    [ $rc -ne 0 ] && [ "$f" -eq 0 ] && failed=$((failed + 1))
  else
    failed=$((failed + 1))
  fi
}

meson_suite "tests" build-test -Dtests=true
# The parity table as measured (from the normal build's log).
python3 - build-test/meson-logs/testlog.json <<'PY' || true
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("name", "").endswith("/ parity"):
        print("\n" + r.get("stdout", ""))
PY

if [ $quick -eq 0 ]; then
  meson_suite "tests under ASan+UBSan" build-test-asan -Dtests=true -Db_sanitize=address,undefined \
    -Db_lundef=false -Dbuildtype=debugoptimized -Dcuda=disabled -Dgimp=disabled
  if command -v clang >/dev/null 2>&1 && [ -f tests/fuzz/meson.build ]; then
    note "fuzzing the loader, the PNG/JPEG/TIFF readers and the trimap construction (tests/fuzz/README.md)"
    fz=build-test-fuzz
    fuzz_options=(-Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false -Dcuda=disabled -Dgimp=disabled
                  -Dcli=disabled)
    # target, seconds, dictionary, committed seeds
    fuzz_runs=("loader 60 loader.dict corpus" "png 40 png.dict corpus_png" "jpeg 40 jpeg.dict corpus_jpeg"
               "tiff 40 tiff.dict corpus_tiff" "trimap 30 - corpus_trimap")
    if { if [ -d $fz ]; then meson setup --reconfigure $fz "${fuzz_options[@]}"
         else CC=clang meson setup $fz "${fuzz_options[@]}"; fi; } >$fz.setup.log 2>&1 &&
       ninja -C $fz tests/fuzz/fuzz_loader tests/fuzz/fuzz_png tests/fuzz/fuzz_jpeg tests/fuzz/fuzz_tiff \
         tests/fuzz/fuzz_trimap >$fz.build.log 2>&1; then
      for run in "${fuzz_runs[@]}"; do
        read -r target seconds dict seeds <<<"$run"
        mkdir -p $fz/fuzz-corpus-$target
        dict_option=()
        [ "$dict" != - ] && dict_option=(-dict=tests/fuzz/$dict)
        if $fz/tests/fuzz/fuzz_$target -max_total_time=$seconds -timeout=25 "${dict_option[@]}" \
             -artifact_prefix=$fz/$target- $fz/fuzz-corpus-$target tests/fuzz/$seeds >$fz.$target.log 2>&1; then
          tail -n 1 $fz.$target.log; echo "fuzz $target: PASS"; passed=$((passed + 1))
        else
          tail -n 30 $fz.$target.log; echo "fuzz $target: FAIL"; failed=$((failed + 1))
        fi
      done
    else
      tail -n 30 $fz.setup.log $fz.build.log 2>/dev/null; echo "fuzz: BUILD FAILED"; failed=$((failed + 1))
    fi
  fi
  if [ $gimp -eq 1 ] && [ -x tests/gimp/run.sh ]; then
    summary_suite "GIMP 3 headless integration tests" gimp tests/gimp/run.sh
  fi
  if [ $gimp -eq 1 ] && [ -x tests/bundle/run.sh ]; then
    summary_suite "the download bundle, unpacked into a Debian 13 root that has only GIMP" bundle tests/bundle/run.sh
  fi
fi

echo
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
