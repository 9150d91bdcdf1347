#!/usr/bin/env bash
# test_cli_inputs.sh - inputs are judged by their headers before they cost memory: a small file declaring a huge
# picture is refused with its size and the memory it needs, before a pixel is decoded; the trimap checks that need
# the pixels; --threads capped; and bad files (truncated pictures, hostile tensor names) told in one line of valid
# UTF-8. Usage: bash test_cli_inputs.sh VITMATTE MAKE_TEST_IMAGES MAKE_CRAFTED MODEL
VITMATTE=$(realpath "$1")
MAKE_TEST_IMAGES=$(realpath "$2")
MAKE_CRAFTED=$(realpath "$3")
MODEL=$(realpath "$4")
# shellcheck source=cli_test_lib.sh
. "$(dirname "$0")/cli_test_lib.sh"

"$MAKE_TEST_IMAGES" "$TMP" || { echo "FAIL cannot make test images"; exit 1; }
cd "$TMP" || exit 1
mkdir out
O=out/alpha.png

echo "vitmatte input limits: headers first, then the memory check, then the pixels"
# 32768 x 32768 (2^30 pixels, the most the engine takes) needs far more memory than a test machine has: the tiny
# model alone plans about 150 GiB on the CPU. The files are a few hundred bytes.
available_kib=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
if [ "${available_kib:-0}" -gt $((160 * 1024 * 1024)) ]; then
  echo "NOTE skipping the memory cases: this machine has more than 160 GiB available"
else
  for format in png jpeg tiff; do
    "$MAKE_CRAFTED" $format 32768 32768 huge.$format || { fail "cannot make huge.$format"; continue; }
    expect_error "a $(stat -c %s huge.$format)-byte $format declaring 32768x32768" 3 \
      "cannot matte huge.$format: the image is 32768 x 32768: matting it needs about" $O -- \
      --model "$MODEL" --device cpu huge.$format huge.$format -o $O
    [[ "$err" == *" MiB of memory (CPU, "*"), more than the "*" MiB available"* ]] ||
      fail "the message gives the memory needed and available: $err"
  done
fi
"$MAKE_CRAFTED" png 32768 32768 huge.png
"$MAKE_CRAFTED" png 70000 8 wide.png && "$MAKE_CRAFTED" png 70000 8 wide_trimap.png
expect_error "a PNG wider than the engine's limit" 1 "cannot matte wide.png: image size 70000 x 8" $O -- \
  --model "$MODEL" --device cpu wide.png wide_trimap.png -o $O
[[ "$err" == *"outside what the engine supports (1 to 65536 pixels a side"* ]] || fail "the limits are named: $err"
# A huge trimap header next to a normal picture: the sizes disagree, said before anything is decoded.
expect_error "a trimap declaring another size" 1 "huge.png is 32768x32768 but image8.png is 67x45" $O -- \
  --model "$MODEL" --device cpu image8.png huge.png -o $O

# `vitmatte foreground` judges its picture and alpha by their headers too: the memory the estimation needs first,
# then the sizes, before a pixel is decoded (the 32768^2 case needs about 114 GiB of host memory).
if [ "${available_kib:-0}" -le $((160 * 1024 * 1024)) ]; then
  expect_error "foreground: a PNG declaring 32768x32768" 3 \
    "cannot cut out huge.png: the image is 32768 x 32768: estimating its foreground colours needs about" out/cut.png \
    -- foreground --device cpu huge.png huge.png -o out/cut.png
  [[ "$err" == *" MiB of memory (CPU, "*"), more than the "*" MiB available"* ]] ||
    fail "foreground: the message gives the memory needed and available: $err"
fi
expect_error "foreground: an alpha declaring another size" 1 "huge.png is 32768x32768 but image8.png is 67x45" \
  out/cut.png -- foreground --device cpu image8.png huge.png -o out/cut.png
expect_error "foreground: a PNG wider than the engine's limit" 1 \
  "cannot cut out wide.png: image size 70000 x 8 is outside what the engine supports" out/cut.png -- \
  foreground --device cpu wide.png wide_trimap.png -o out/cut.png

# --threads beyond 4 per core: capped, with a notice, and the run uses the cap.
most=$((4 * $(nproc)))
run_cli --model "$MODEL" --device cpu --threads 1000 image8.png trimap.png -o out/threads.png
if [ "$rc" -eq 0 ] && [[ "$err" == *"vitmatte: --threads 1000 is more than 4 per core: using $most"* ]] &&
   [[ "$err" == *"on CPU, $most threads"* ]]; then pass "--threads 1000 is capped at $most with a notice"
else fail "--threads 1000: exit $rc, $err"; fi

# A trimap of only black and white leaves the model nothing to decide: refused in the plug-in's words.
"$MAKE_CRAFTED" known-trimap 67 45 known.png
expect_error "a trimap without unknown pixels" 1 \
  "known.png: the trimap has no unknown pixels (1485 background, 1530 foreground), so there is nothing to matte" \
  $O -- --model "$MODEL" --device cpu image8.png known.png -o $O

expect_error "colour trimap" 1 "trimap_colour.png is a colour image (R, G and B differ at pixel 20,10)" $O -- \
  --model "$MODEL" --device cpu image8.png trimap_colour.png -o $O

# Messages about bad files: one line that says what is wrong, valid UTF-8 whatever bytes the file holds.
printable() {
  printf '%s' "$1" | LC_ALL=C grep -q '[[:cntrl:]]' && return 1
  printf '%s' "$1" | iconv -f UTF-8 -t UTF-8 >/dev/null 2>&1
}
head -c 400 image8.png >cut.png
expect_error "a PNG cut short" 1 "cannot read cut.png: truncated PNG: the file ends in the middle of the image data" \
  $O -- --model "$MODEL" --device cpu cut.png trimap.png -o $O
mkdir hostile && cp "$MODEL/config.json" hostile/
json='{"bad\xff\xfe\\nname\\u001b[31m":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
json=$(printf "$json")
length=$(printf '%s' "$json" | wc -c)
{ # the 8-byte little-endian header length, the header, 4 data bytes
  printf "$(printf '\\x%02x' $((length & 255)) $((length >> 8 & 255)) 0 0 0 0 0 0)"
  printf '%s' "$json"
  printf '\0\0\0\0'
} >hostile/model.safetensors
expect_error "a tensor name with stray bytes, a newline and a terminal escape" 2 \
  'unexpected tensor bad\xFF\xFE\x0Aname\x1B[31m [1]' $O -- --model hostile --device cpu image8.png trimap.png -o $O
printable "$err" && pass "that message is valid UTF-8 without control characters" ||
  fail "not printable: $(printf '%s' "$err" | od -c | head -3)"

finish
