#!/bin/bash
# run.sh - runs the GIMP 3 integration tests: natively where gimp-console-3.0 exists, else inside the Debian 13 root
# that scripts/gimp-root.sh makes once and reuses. Owns: choosing where the tests run and what goes into the root.
#
# Usage: tests/gimp/run.sh [--quick] [--root DIR] [--state DIR] [--model DIR]
#   --quick      only the release build (default: the release build, then an ASan+UBSan build)
#   --root DIR   the Debian 13 root to use (default: .gimp-root/ in the repository; made when missing)
#   --state DIR  where builds and scratch files go (in the root: a path inside it, default /var/tmp/vitmatte-gimp;
#                natively: default build-gimp-tests/ in the repository), so runs from several checkouts can share
#                one root
#   --model DIR  checkpoint for the tests (default: data/tiny)
# Environment: VMP_GIMP_TIMEOUT (seconds per GIMP run, default 240).
# Ends with "gimp: N passed, N failed"; exits non-zero when anything failed or could not run.
set -uo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
ROOT_DIR=""
MODEL=""
STATE=""
VARIANTS=(release sanitize)
while [ $# -gt 0 ]; do
  case $1 in
    --quick) VARIANTS=(release); shift ;;
    --root) ROOT_DIR=$2; shift 2 ;;
    --state) STATE=$2; shift 2 ;;
    --model) MODEL=$(cd "$2" && pwd) || exit 2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

could_not_run() {
  echo "FAIL $*"
  echo "gimp: 0 passed, 1 failed"
  exit 1
}

if command -v gimp-console-3.0 >/dev/null 2>&1; then
  echo "NOTE gimp-console-3.0 found on this host: testing natively"
  exec "$REPO/tests/gimp/build_and_test.sh" "$REPO" "${STATE:-$REPO/build-gimp-tests}" "$MODEL" "${VARIANTS[@]}"
fi

# No GIMP 3 here (Debian 12 has none): the Debian 13 root. Making it needs root (debootstrap, chroot, mount).
[ "$(id -u)" = 0 ] ||
  could_not_run "no gimp-console-3.0 on this host, and making the Debian 13 root needs root (run as root or with sudo)"
ROOT_DIR=$("$REPO/scripts/gimp-root.sh" ${ROOT_DIR:+"$ROOT_DIR"}) ||
  could_not_run "making the Debian 13 root (scripts/gimp-root.sh)"
echo "NOTE testing inside the Debian 13 root $ROOT_DIR"

# The repository goes in read-only at /src; builds and scratch files stay inside the root (/var/tmp/vitmatte-gimp),
# so later runs build incrementally and the logs can be read from the host under ROOT_DIR/var/tmp/vitmatte-gimp.
binds=(--bind "$REPO:/src:ro")
model_in_root=""
if [ -n "$MODEL" ]; then
  binds+=(--bind "$MODEL:/model:ro")
  model_in_root=/model
fi
exec "$REPO/scripts/gimp-root.sh" exec "$ROOT_DIR" "${binds[@]}" -- \
  /src/tests/gimp/build_and_test.sh /src "${STATE:-/var/tmp/vitmatte-gimp}" "$model_in_root" "${VARIANTS[@]}"
