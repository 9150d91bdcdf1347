#!/usr/bin/env bash
# test_install.sh - what `meson install` gives a user: `vitmatte` in PREFIX/bin (on PATH for /usr/local and
# ~/.local), the header, the library and vitmatte.pc, with which a program outside the project compiles and runs.
# Installs into a scratch DESTDIR. Usage: test_install.sh BUILD_DIR PREFIX BINDIR LIBDIR SOURCE_DIR MODEL_DIR SANITIZE
BUILD=$1 PREFIX=$2 BINDIR=$3 LIBDIR=$4 SRC=$5 MODEL=$6 SANITIZE=$7
if [ "$SANITIZE" != none ]; then
  echo "SKIP a sanitizer build's library needs the sanitizer's flags to link; the normal build checks this"
  exit 77
fi
failures=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
TMP=$(mktemp -d /tmp/vitmatte-install-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
D=$TMP/destdir
case $BINDIR in /*) ;; *) BINDIR=$PREFIX/$BINDIR ;; esac
case $LIBDIR in /*) ;; *) LIBDIR=$PREFIX/$LIBDIR ;; esac

if meson install -C "$BUILD" --no-rebuild --destdir "$D" >"$TMP/install.log" 2>&1; then pass "meson install (into a scratch DESTDIR)"
else fail "meson install: $(tail -5 "$TMP/install.log")"; fi
if "$D$BINDIR/vitmatte" --version >"$TMP/version" 2>&1; then pass "vitmatte is installed as $BINDIR/vitmatte: $(cat "$TMP/version")"
else fail "$BINDIR/vitmatte: $(cat "$TMP/version")"; fi
export PKG_CONFIG_PATH=$D$LIBDIR/pkgconfig PKG_CONFIG_SYSROOT_DIR=$D
if flags=$(pkg-config --cflags --libs vitmatte 2>"$TMP/pc.err"); then pass "pkg-config --cflags --libs vitmatte: $flags"
else fail "pkg-config vitmatte: $(cat "$TMP/pc.err")"; fi
# shellcheck disable=SC2086 # the flags are words
if cc -std=c11 -o "$TMP/use_engine" "$SRC/tests/install/use_engine.c" $flags 2>"$TMP/cc.err"; then
  pass "a program outside the project compiles and links with those flags alone"
else fail "cc with pkg-config's flags: $(head -5 "$TMP/cc.err")"; fi
out=$("$TMP/use_engine" "$MODEL" 2>&1)
case $out in ok*) pass "and it mattes with the installed engine: $out" ;; *) fail "use_engine: $out" ;; esac
[ "$failures" -eq 0 ]
