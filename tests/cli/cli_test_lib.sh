# cli_test_lib.sh - shared checks for the vitmatte CLI test scripts (sourced, not run).
# Owns: running the tool with captured output, the one-line error format, and "no file left behind".
# shellcheck shell=bash

failures=0
TMP=$(mktemp -d /tmp/vitmatte-cli-test-XXXXXX)
trap 'rm -rf "$TMP"' EXIT

pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

# run_cli ARGS...: runs the tool; sets rc, out (stdout) and err (stderr).
run_cli() {
  "$VITMATTE" "$@" >"$TMP/stdout" 2>"$TMP/stderr"
  rc=$?
  # shellcheck disable=SC2034 # read by the scripts that source this file
  out=$(cat "$TMP/stdout")
  err=$(cat "$TMP/stderr")
}

# Files whose names start with "." in the output folder would be temporaries the tool failed to remove.
leftovers() { find "$1" -maxdepth 1 -name '.*' ! -name . 2>/dev/null | wc -l; }

# expect_error WHAT CODE TEXT OUTPUT -- ARGS...: the run must exit with CODE, print exactly one line on stderr
# that starts with "vitmatte: " and contains TEXT, and leave no OUTPUT file and no temporary file.
expect_error() {
  local what=$1 code=$2 text=$3 output=$4
  shift 5
  rm -f "$output"
  run_cli "$@"
  local lines
  lines=$(printf '%s\n' "$err" | wc -l)
  if [ "$rc" -ne "$code" ]; then
    fail "$what: exit status $rc, expected $code (stderr: $err)"
  elif [ "$lines" -ne 1 ] || [ "${err#vitmatte: }" = "$err" ]; then
    fail "$what: expected one line starting 'vitmatte: ', got: $err"
  elif [[ "$err" != *"$text"* ]]; then
    fail "$what: message lacks '$text': $err"
  elif [ -e "$output" ] || [ "$(leftovers "$(dirname "$output")")" -ne 0 ]; then
    fail "$what: a file was left behind"
  else
    pass "$what: exit $rc, \"$err\""
  fi
}

finish() {
  if [ "$failures" -ne 0 ]; then
    echo "FAILED: $failures check(s)"
    exit 1
  fi
  echo "OK"
  exit 0
}
