#!/usr/bin/env bash
# test_cli_parity.sh - the CLI's float TIFF alpha for data/sample against transformers' alpha (case1.alpha of
# data/fixtures/e2e.safetensors), max abs diff <= 1e-5. Skips (77) until the fixtures exist.
# Usage: bash test_cli_parity.sh VITMATTE COMPARE_E2E SOURCE_ROOT
VITMATTE=$(realpath "$1")
COMPARE_E2E=$(realpath "$2")
ROOT=$(realpath "$3")
FIXTURE=$ROOT/data/fixtures/e2e.safetensors
if [ ! -f "$FIXTURE" ]; then
  echo "SKIP: data/fixtures/e2e.safetensors not found"
  exit 77
fi
# shellcheck source=cli_test_lib.sh
. "$(dirname "$0")/cli_test_lib.sh"
for f in "$ROOT/data/tiny/config.json" "$ROOT/data/tiny/model.safetensors" "$ROOT/data/sample/image.png" "$ROOT/data/sample/trimap.png"; do
  [ -f "$f" ] || { echo "FAIL $f is missing although the fixture exists"; exit 1; }
done
echo "CLI parity with transformers on data/sample (model data/tiny, CPU fp32)"
run_cli --model "$ROOT/data/tiny" --device cpu --precision fp32 --quiet "$ROOT/data/sample/image.png" \
  "$ROOT/data/sample/trimap.png" -o "$TMP/alpha.tif"
if [ "$rc" -ne 0 ]; then
  fail "vitmatte on data/sample: exit $rc: $err"
elif report=$("$COMPARE_E2E" "$TMP/alpha.tif" "$FIXTURE" case1.alpha 1e-5 2>&1); then
  pass "$report"
else
  fail "$report"
fi
finish
