#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages the engine, the CLI and the tests need, skipping those already present.
# Usage: scripts/install-deps.sh [--tests]   (--tests adds clang for the fuzzer and debootstrap for the GIMP tests)
set -eu
pkgs="gcc libc6-dev pkg-config meson ninja-build python3 libopenblas-dev libjson-c-dev libpng-dev libjpeg-dev libtiff-dev"
if [ "${1:-}" = "--tests" ]; then
  pkgs="$pkgs clang libclang-rt-dev debootstrap"
fi
missing=""
for p in $pkgs; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: please install:$missing" >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
