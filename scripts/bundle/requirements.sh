#!/bin/bash
# requirements.sh - what a bundle folder needs from the system it runs on, read from its binaries' symbol versions.
# Owns: the oldest glibc / libstdc++ / libgcc_s and the oldest libgimp the bundle's ELF files ask for.
#
# Usage: scripts/bundle/requirements.sh FOLDER [LIBGIMP_SYMBOLS]
#   FOLDER           the vitmatte-gimp/ folder (every ELF file in it and in lib/ is read)
#   LIBGIMP_SYMBOLS  Debian's symbols file of libgimp-3.0-0 (from the build root): for each libgimp symbol the
#                    libgimp version that introduced it. libgimp has no symbol versions of its own, so this record
#                    is how the oldest libgimp that has every symbol the plug-in calls is found.
# Prints KEY=VALUE lines (GLIBC, GLIBCXX, GCC, LIBGIMP, and *_BY naming the file and symbol that set each),
# then the same in words on stderr. Needs objdump (binutils).
set -euo pipefail

folder=${1:?FOLDER}
symbols=${2:-}

# Every undefined, versioned dynamic symbol of every ELF file: "FILE VERSION SYMBOL".
undefined_symbols() {
  local f
  find "$folder" -type f | sort | while read -r f; do
    head -c 4 "$f" | grep -q $'\x7fELF' || continue
    objdump -T "$f" | awk -v file="${f#"$folder"/}" '$3 == "*UND*" && $5 ~ /^\(.*\)$/ {
      v = $5; gsub(/[()]/, "", v); print file, v, $6 }'
  done
}
all=$(undefined_symbols)

newest() { # PREFIX: the newest version of that family and the "file: symbol" that asks for it
  local prefix=$1 best
  best=$(awk -v p="$prefix" 'index($2, p) == 1 { print substr($2, length(p) + 1), $1, $3 }' <<<"$all" |
         sort -V -k1,1 | tail -n 1)
  if [ -z "$best" ]; then echo "- -"; else echo "$best"; fi
}

report() { # KEY PREFIX WORDS
  local key=$1 prefix=$2 words=$3 version file symbol
  read -r version file symbol <<<"$(newest "$prefix")"
  echo "$key=$version"
  echo "${key}_BY=$file: $symbol"
  [ "$version" = - ] || echo "needs $words >= $version (the newest asked for: $symbol in $file)" >&2
}
report GLIBC GLIBC_ "glibc"
report GLIBCXX GLIBCXX_ "libstdc++ (GLIBCXX)"
report GCC GCC_ "libgcc_s (GCC)"
# GLIBC_PRIVATE would tie the bundle to the exact glibc it was built with: nothing may ask for it.
if grep -q " GLIBC_PRIVATE " <<<"$all"; then
  echo "GLIBC_PRIVATE=$(grep " GLIBC_PRIVATE " <<<"$all" | awk '{print $1}' | sort -u | tr '\n' ' ')"
  echo "asks for GLIBC_PRIVATE: $(grep " GLIBC_PRIVATE " <<<"$all" | head -n 3 | tr '\n' ';')" >&2
fi

# libgimp: the plug-in's undefined symbols (unversioned, so objdump shows them without a version) looked up in
# Debian's symbols file, whose lines are " SYMBOL@Base VERSION".
if [ -n "$symbols" ] && [ -f "$folder/vitmatte-gimp" ]; then
  used=$(objdump -T "$folder/vitmatte-gimp" | awk '$3 == "*UND*" {print $NF}' | sort -u)
  best=$(awk 'NR == FNR { used[$1] = 1; next }
              /^ / { split($1, s, "@"); if (s[1] in used) { n++; print $2, s[1] } }' \
             <(echo "$used") "$symbols" | sort -V -k1,1 | tail -n 1)
  count=$(awk 'NR == FNR { used[$1] = 1; next } /^ / { split($1, s, "@"); if (s[1] in used) n++ } END { print n + 0 }' \
              <(echo "$used") "$symbols")
  read -r version symbol <<<"${best:-- -}"
  echo "LIBGIMP=$version"
  echo "LIBGIMP_BY=vitmatte-gimp: $symbol ($count libgimp symbols used)"
  echo "needs libgimp >= $version (the newest of the $count libgimp symbols it calls: $symbol)" >&2
fi
