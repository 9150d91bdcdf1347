#!/bin/bash
# gimp-root.sh - a Debian 13 (trixie) root with GIMP 3 + libgimp-3.0-dev, for building and testing the plug-in
# on hosts without GIMP 3 (Debian 12 has none). Owns: making the root once, reusing it, and running commands in it.
#
# Usage:
#   scripts/gimp-root.sh [--rebuild] [--gimp-only] [DIR]
#       Make the root in DIR (default: .gimp-root/ in the repository) unless its stamp says it is up to date;
#       --gimp-only: a root with the package gimp and nothing else of ours (no build tools, no -dev packages, no
#       OpenBLAS or json-c; default DIR .gimp-root-gimp-only/): where tests/bundle checks the download bundle;
#       prints DIR. DIR must be missing, empty, or a root this script made (or began): any other folder is refused,
#       never deleted. --rebuild deletes DIR, whatever it holds, first. Needs root (debootstrap, chroot, mount).
#   scripts/gimp-root.sh exec DIR [--bind SRC:DST[:ro]]... [--] CMD [ARG...]
#       Run CMD inside the root with /proc and /dev mounted (and SRC bound at DST) for the duration of CMD only.
#       The environment inside is clean (HOME=/root, PATH, LANG=C.UTF-8); use `env K=V CMD` to add to it.
#
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail

readonly SUITE=trixie
readonly MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# What building the project and running tests/gimp need inside the root: GIMP 3 and its headers, the build tools
# and libraries, Xvfb + xdotool for the tests of the user interface (x11-apps + netpbm only for screenshots of a
# failing one). Changing this list makes the next run install the new list into the root (see the stamp below).
readonly PACKAGES="gimp libgimp-3.0-dev meson ninja-build gcc pkg-config libjson-c-dev libopenblas-dev \
libpng-dev libjpeg-dev libtiff-dev libcurl4-openssl-dev python3 ca-certificates xvfb xauth xdotool x11-apps netpbm"
# The --gimp-only root: what a user who installs GIMP 3 from Debian has (without Recommends: the least that works).
readonly GIMP_ONLY_PACKAGES="gimp"
packages=$PACKAGES
readonly STAMP_NAME=.vitmatte-gimp-root-stamp
# Written into DIR before debootstrap starts, so a half-made root is known as ours and may be started over.
readonly BEGUN_NAME=.vitmatte-gimp-root-begun
readonly SCRIPT_PATH="$(readlink -f "$0")"
readonly REPO_ROOT="$(cd "$(dirname "$SCRIPT_PATH")/.." && pwd)"

die() { echo "gimp-root: $*" >&2; exit 1; }
note() { echo "gimp-root: $*" >&2; }

need_root() {
  [ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot and mount); run it with sudo or as root"
}

# The stamp records the suite and the package list, so a changed list is noticed.
stamp_text() { printf 'suite=%s\npackages=%s\n' "$SUITE" "$packages"; }

# --- running a command inside the root --------------------------------------------------------------------

# Mount points we made, innermost last, so the trap can undo them in reverse order.
MOUNTED=()

unmount_all() {
  local i
  for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
    umount -R "${MOUNTED[i]}" 2>/dev/null || umount -l "${MOUNTED[i]}" 2>/dev/null || true
  done
  MOUNTED=()
}

mount_in_root() { # DIR: /proc and /dev (recursively, as a slave so nothing propagates back to the host)
  local dir=$1
  mkdir -p "$dir/proc" "$dir/dev"
  mount -t proc proc "$dir/proc"
  MOUNTED+=("$dir/proc")
  mount --rbind /dev "$dir/dev"
  mount --make-rslave "$dir/dev"
  MOUNTED+=("$dir/dev")
}

bind_in_root() { # DIR SRC:DST[:ro]
  local dir=$1 spec=$2 src dst mode target
  IFS=: read -r src dst mode <<<"$spec"
  [ -n "$src" ] && [ -n "$dst" ] || die "bad --bind '$spec' (want SRC:DST[:ro])"
  [ -e "$src" ] || die "--bind source '$src' does not exist"
  target="$dir/${dst#/}"
  if [ -d "$src" ]; then mkdir -p "$target"; else mkdir -p "$(dirname "$target")"; touch "$target"; fi
  mount --bind "$src" "$target"
  MOUNTED+=("$target")
  if [ "${mode:-}" = ro ]; then mount -o remount,bind,ro "$target"; fi
}

run_in_root() { # DIR BINDS... -- CMD...   (mounts, runs, unmounts on any exit)
  local dir=$1; shift
  local binds=()
  while [ $# -gt 0 ]; do
    case $1 in
      --bind) binds+=("$2"); shift 2 ;;
      --) shift; break ;;
      *) break ;;
    esac
  done
  [ $# -gt 0 ] || die "exec: no command given"
  trap unmount_all EXIT
  trap 'exit 130' INT TERM
  mount_in_root "$dir"
  local b
  for b in "${binds[@]+"${binds[@]}"}"; do bind_in_root "$dir" "$b"; done
  local rc=0
  chroot "$dir" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@" || rc=$?
  unmount_all
  trap - EXIT
  return "$rc"
}

# In a private mount namespace (when unshare works) the mounts cannot leak to the host even if we are killed;
# the trap still unmounts them on a normal exit.
cmd_exec() {
  need_root
  local dir=${1:-}; [ -n "$dir" ] || die "exec: give the root DIR"
  shift
  dir=$(readlink -f "$dir")
  [ -f "$dir/$STAMP_NAME" ] || die "exec: $dir is not a finished root (run scripts/gimp-root.sh $dir first)"
  if [ -z "${VITMATTE_ROOT_IN_NS:-}" ] && unshare --mount --propagation private true 2>/dev/null; then
    VITMATTE_ROOT_IN_NS=1 exec unshare --mount --propagation private "$SCRIPT_PATH" exec "$dir" "$@"
  fi
  run_in_root "$dir" "$@"
}

# --- making the root --------------------------------------------------------------------------------------

install_packages() { # DIR
  local dir=$1
  # apt inside the root needs name resolution; the host's resolv.conf is enough.
  cp -L /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null || true
  # shellcheck disable=SC2086  # PACKAGES is a word list on purpose
  run_in_root "$dir" /bin/sh -c "export DEBIAN_FRONTEND=noninteractive; \
    apt-get update -q && apt-get install -y -q --no-install-recommends $packages && apt-get clean"
}

cmd_make() {
  local rebuild=0 dir="" default_name=.gimp-root
  while [ $# -gt 0 ]; do
    case $1 in
      --rebuild) rebuild=1; shift ;;
      --gimp-only) packages=$GIMP_ONLY_PACKAGES; default_name=.gimp-root-gimp-only; shift ;;
      -h|--help) sed -n '2,17p' "$SCRIPT_PATH"; exit 0 ;;
      -*) die "unknown option $1" ;;
      *) dir=$1; shift ;;
    esac
  done
  dir=${dir:-$REPO_ROOT/$default_name}
  mkdir -p "$(dirname "$dir")"
  dir=$(readlink -f "$dir")
  [ "$dir" != / ] || die "refusing to use / as the root"

  if [ "$rebuild" = 0 ] && [ -f "$dir/$STAMP_NAME" ] && [ "$(cat "$dir/$STAMP_NAME")" = "$(stamp_text)" ]; then
    echo "$dir"
    return 0
  fi
  need_root
  command -v debootstrap >/dev/null || die "debootstrap not found (apt-get install debootstrap)"
  if [ "$rebuild" = 1 ] && [ -d "$dir" ]; then
    note "deleting $dir"
    rm -rf --one-file-system "$dir"
  fi

  # Only a folder that is ours may be deleted here: one with our marker (begun or finished by this script). Any
  # other non-empty folder (a typo in --root, someone's data) is refused.
  if [ -e "$dir" ] && [ ! -f "$dir/.debootstrap-done" ] && [ ! -f "$dir/$BEGUN_NAME" ]; then
    [ -d "$dir" ] || die "$dir exists and is not a folder"
    [ -z "$(ls -A "$dir")" ] ||
      die "$dir is not empty and is not a root made by this script (no .debootstrap-done); give a new or empty" \
          "folder, or --rebuild to delete everything in it"
  fi
  # debootstrap leaves a marker of its own only when it finished; a half-made root is started again.
  if [ ! -x "$dir/usr/bin/apt-get" ] || [ ! -f "$dir/.debootstrap-done" ]; then
    rm -rf --one-file-system "$dir"
    mkdir -p "$dir"
    touch "$dir/$BEGUN_NAME"
    note "debootstrap $SUITE into $dir (a few minutes)"
    debootstrap --variant=minbase "$SUITE" "$dir" "$MIRROR" >&2
    touch "$dir/.debootstrap-done"
  fi
  rm -f "$dir/$STAMP_NAME"
  note "installing: $packages"
  install_packages "$dir" >&2
  run_in_root "$dir" gimp-console-3.0 --version >&2 || die "gimp-console-3.0 does not run inside $dir"
  stamp_text >"$dir/$STAMP_NAME"
  echo "$dir"
}

case ${1:-} in
  exec) shift; cmd_exec "$@" ;;
  *) cmd_make "$@" ;;
esac
