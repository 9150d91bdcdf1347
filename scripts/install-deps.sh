#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages the engine, the CLI and the tests need, skipping those already installed.
#   scripts/install-deps.sh [--tests]   (--tests adds clang for the fuzzer, debootstrap for the GIMP tests and
#                                       patchelf for scripts/make-bundle.sh, which the bundle test runs)
set -eu
packages=(gcc libc6-dev pkg-config meson ninja-build python3 libjson-c-dev libopenblas-dev libpng-dev libjpeg-dev
          libtiff-dev libcurl4-openssl-dev)
[ "${1:-}" = "--tests" ] && packages+=(clang libclang-rt-dev debootstrap patchelf)
say() { printf 'install-deps: %s\n' "$*" >&2; }
if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
  say "not a Debian/Ubuntu system: make sure these (or their equivalents) are installed: ${packages[*]}"
  exit 0
fi
missing=()
for p in "${packages[@]}"; do
  # dpkg -s also succeeds for removed packages whose config files remain: check the status word.
  [[ "$(dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null)" == *"install ok installed"* ]] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { say "missing packages (${missing[*]}) and no sudo: run as root or install them"; exit 1; }
  sudo=(sudo)
fi
say "installing ${missing[*]}"
"${sudo[@]}" apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
