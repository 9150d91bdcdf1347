#!/bin/bash
# build_in_root.sh - the part of scripts/make-bundle.sh that runs inside the Debian 13 root (GIMP 3 + -dev packages):
# builds the plug-in and the CLI for release, lays them out as plug-ins/vitmatte-gimp/, and copies in every library
# they load that GIMP does not bring. Owns: the release build's options and the rule that decides what is bundled.
#
# Usage: build_in_root.sh SRC_DIR STATE_DIR OUT_DIR
#   SRC_DIR    the repository (read-only is fine)
#   STATE_DIR  build folder inside the root (kept: later runs build incrementally)
#   OUT_DIR    empty folder; receives vitmatte-gimp/ (no run paths set yet: make-bundle.sh does that) and
#              bundled-libraries.txt ("SONAME PACKAGE" per bundled library)
#
# The rule: a library is bundled unless GIMP 3 itself loads it wherever it runs, which is
#   (a) the base system: glibc's libraries and the GCC runtime that GIMP's own C++ code needs (libgcc_s, libstdc++);
#   (b) libgimp-3.0 / libgimpui-3.0 and everything they load (GLib, GTK 3, GEGL, babl, cairo, libpng, ...): the
#       plug-in links them, so they must be GIMP's own copies, and they are there wherever GIMP is.
# (b) is computed here with ldd, not listed, so a new dependency of ours (libcurl, ...) is bundled without edits.
set -euo pipefail

SRC=${1:?SRC_DIR} STATE=${2:?STATE_DIR} OUT=${3:?OUT_DIR}
BUILD=$STATE/build
DEST=$STATE/dest

say() { echo "build_in_root: $*" >&2; }

# (a): the sonames of scripts/bundle/base-system.txt, as one regular expression.
BASE_SYSTEM_RE="^($(grep -v '^#' "$SRC/scripts/bundle/base-system.txt" | paste -sd'|'))\$"

meson_options=(-Dbuildtype=release -Dcuda=disabled -Dgimp=enabled -Dcli=enabled -Dtests=false -Dprefix=/usr)
mkdir -p "$STATE"
if [ -f "$BUILD/build.ninja" ]; then
  meson setup --reconfigure "$BUILD" "$SRC" "${meson_options[@]}" >"$STATE/setup.log" 2>&1 ||
    { tail -n 30 "$STATE/setup.log" >&2; exit 1; }
else
  meson setup "$BUILD" "$SRC" "${meson_options[@]}" >"$STATE/setup.log" 2>&1 ||
    { tail -n 30 "$STATE/setup.log" >&2; exit 1; }
fi
ninja -C "$BUILD" plugin/vitmatte-gimp tools/vitmatte >"$STATE/build.log" 2>&1 ||
  { grep -E "error|FAILED" "$STATE/build.log" | head -n 30 >&2; exit 1; }
rm -rf "$DEST"
# --strip: symbols are for debugging a build, not for the download. The runtime tag is the plug-in, the CLI and the
# Script-Fu helper (not the static engine library and headers).
meson install -C "$BUILD" --no-rebuild --tags runtime --strip --destdir "$DEST" >"$STATE/install.log" 2>&1 ||
  { tail -n 20 "$STATE/install.log" >&2; exit 1; }

plugin=$(find "$DEST" -path '*/plug-ins/vitmatte-gimp/vitmatte-gimp' -type f | head -n 1)
cli=$(find "$DEST" -path '*/bin/vitmatte' -type f | head -n 1)
scm=$(find "$DEST" -name vitmatte-batch.scm -type f | head -n 1)
[ -n "$plugin" ] && [ -n "$cli" ] && [ -n "$scm" ] || { say "meson install did not produce the plug-in, CLI and helper"; exit 1; }

folder=$OUT/vitmatte-gimp
mkdir -p "$folder/lib" "$folder/licenses"
install -m 755 "$plugin" "$folder/vitmatte-gimp"
install -m 755 "$cli" "$folder/vitmatte"
install -m 644 "$scm" "$folder/vitmatte-batch.scm"

# ldd lists the whole closure ("SONAME => PATH (ADDRESS)"); an unresolved one is a broken build root.
closure() { # FILE...: "SONAME PATH" lines (call it as x=$(closure ...): a failure then stops the script)
  local f out
  for f in "$@"; do
    out=$(ldd "$f") || { say "ldd $f failed"; return 1; }
    if grep -q 'not found' <<<"$out"; then grep 'not found' <<<"$out" >&2; say "$f has unresolved libraries"; return 1; fi
    awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' <<<"$out"
  done | sort -u
  return "${PIPESTATUS[0]}"
}

libdir=$(dirname "$(ldconfig -p | awk '/libgimpui-3\.0\.so\.0 .*x86-64/ {print $NF; exit}')")
[ -f "$libdir/libgimpui-3.0.so.0" ] || { say "libgimpui-3.0.so.0 not found (is this the GIMP 3 root?)"; exit 1; }
gimp_closure=$(closure "$libdir/libgimpui-3.0.so.0" "$libdir/libgimp-3.0.so.0")
gimp_libs=$(printf '%s\nlibgimpui-3.0.so.0 -\nlibgimp-3.0.so.0 -\n' "$gimp_closure" | awk '{print $1}' | sort -u)
ours=$(closure "$folder/vitmatte-gimp" "$folder/vitmatte")
: >"$OUT/bundled-libraries.txt"
while read -r soname path; do
  [[ $soname =~ $BASE_SYSTEM_RE ]] && continue
  grep -qxF "$soname" <<<"$gimp_libs" && continue
  real=$(readlink -f "$path")
  install -m 644 "$real" "$folder/lib/$soname" # named by its soname: that is the name the loader asks for
  # The Debian package that owns it, for its copyright file (licences travel with the binaries).
  pkg=$(dpkg-query -S "$real" 2>/dev/null | head -n 1 | cut -d: -f1 || true)
  [ -n "$pkg" ] || pkg=$(dpkg-query -S "${real#/usr}" 2>/dev/null | head -n 1 | cut -d: -f1 || true)
  if [ -n "$pkg" ] && [ -f "/usr/share/doc/$pkg/copyright" ]; then
    install -m 644 "/usr/share/doc/$pkg/copyright" "$folder/licenses/$pkg.copyright"
  fi
  echo "$soname ${pkg:-?} $(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || echo ?)" >>"$OUT/bundled-libraries.txt"
done <<<"$ours"

# What the requirements report needs from this root: GIMP's and GLib's versions here, and Debian's record of the
# libgimp version that introduced each symbol.
{
  echo "gimp $(dpkg-query -W -f='${Version}' libgimp-3.0-0 2>/dev/null)"
  echo "glib $(pkg-config --modversion glib-2.0)"
  echo "gtk3 $(pkg-config --modversion gtk+-3.0)"
  echo "debian $(cat /etc/debian_version)"
} >"$OUT/build-root.txt"
symbols=$(ls /var/lib/dpkg/info/libgimp-3.0-0*.symbols 2>/dev/null | head -n 1 || true)
[ -n "$symbols" ] && cp "$symbols" "$OUT/libgimp.symbols"
say "built $(cat "$OUT/build-root.txt" | tr '\n' ' ')"
