#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages the engine, the CLI and the tests need, skipping those already installed.
#   scripts/install-deps.sh [--tests] [--gimp]
#     --tests  adds clang for the fuzzer, debootstrap for the GIMP tests and patchelf for scripts/make-bundle.sh,
#              which the bundle test runs
#     --gimp   adds what building the GIMP plug-in needs (libgimp-3.0-dev), where the distribution has it (Debian 13,
#              Ubuntu 25.04 and later; Debian 12 has no GIMP 3: then it says so and fails)
set -eu
packages=(gcc libc6-dev pkg-config meson ninja-build python3 libjson-c-dev libopenblas-dev libpng-dev libjpeg-dev
          libtiff-dev libcurl4-openssl-dev libssl-dev)
gimp=0
for arg in "$@"; do
  case $arg in
    --tests) packages+=(clang libclang-rt-dev debootstrap patchelf openssl) ;;
    --gimp) gimp=1; packages+=(libgimp-3.0-dev) ;;
    *) echo "usage: scripts/install-deps.sh [--tests] [--gimp]" >&2; exit 2 ;;
  esac
done
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
"${sudo[@]}" apt-get update -q
if [ $gimp -eq 1 ] && [[ " ${missing[*]} " == *" libgimp-3.0-dev "* ]] &&
   ! apt-cache policy libgimp-3.0-dev 2>/dev/null | grep -qE 'Candidate: [0-9]'; then
  . /etc/os-release 2>/dev/null || true
  say "${PRETTY_NAME:-this distribution} has no libgimp-3.0-dev (GIMP 3): the plug-in needs Debian 13, Ubuntu 25.04" \
      "or later; scripts/gimp-root.sh makes a Debian 13 root to build and test it in"
  exit 1
fi
say "installing ${missing[*]}"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
