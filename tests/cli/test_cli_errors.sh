#!/usr/bin/env bash
# test_cli_errors.sh - every way a vitmatte run can go wrong before the model runs: exit status, the one-line
# message, and no file left behind. Needs no real model. Usage: bash test_cli_errors.sh VITMATTE MAKE_TEST_IMAGES VERSION
VITMATTE=$(realpath "$1")
MAKE_TEST_IMAGES=$(realpath "$2")
VERSION=$3
# shellcheck source=cli_test_lib.sh
. "$(dirname "$0")/cli_test_lib.sh"

"$MAKE_TEST_IMAGES" "$TMP" || { echo "FAIL cannot make test images"; exit 1; }
cd "$TMP" || exit 1
# A model folder that looks right; the errors below happen before it is opened.
mkdir model && echo '{}' >model/config.json && : >model/model.safetensors
# A PyTorch pickle checkpoint: protocol-2 pickle bytes, as torch.save writes them (old format).
mkdir torch-ckpt && echo '{}' >torch-ckpt/config.json && printf '\x80\x02\x8a\x0alfc\x95' >torch-ckpt/pytorch_model.bin
mkdir out
printf 'not a picture\n' >text.png
O=out/alpha.png

echo "vitmatte error paths: exit status, one 'vitmatte: ' line, nothing written"
expect_error "missing model folder" 2 "no-such-model" $O -- --model no-such-model image8.png trimap.png -o $O
expect_error "pickle checkpoint file" 2 "safetensors" $O -- --model torch-ckpt/pytorch_model.bin image8.png trimap.png -o $O
expect_error "folder with only a pickle checkpoint" 2 "safetensors" $O -- --model torch-ckpt image8.png trimap.png -o $O
expect_error "unreadable image" 1 "cannot read text.png: not a PNG, JPEG or TIFF file" $O -- --model model text.png trimap.png -o $O
expect_error "missing image" 1 "cannot read nothing.png: No such file or directory" $O -- --model model nothing.png trimap.png -o $O
expect_error "unreadable trimap" 1 "cannot read text.png" $O -- --model model image8.png text.png -o $O
expect_error "size mismatch" 1 "trimap_wide.png is 68x45 but image8.png is 67x45" $O -- --model model image8.png trimap_wide.png -o $O
expect_error "unknown output extension" 1 "must end in .png, .tif or .tiff" out/alpha.bmp -- --model model image8.png trimap.png -o out/alpha.bmp
expect_error "bad --device" 1 "--device must be auto, cpu or cuda, not 'gpu'" $O -- --model model image8.png trimap.png -o $O --device gpu
expect_error "bad --precision" 1 "--precision must be auto, fp32, fp16 or bf16, not 'fp64'" $O -- --model model image8.png trimap.png -o $O --precision fp64
expect_error "bad --threads" 1 "--threads must be a whole number" $O -- --model model image8.png trimap.png -o $O --threads -2
expect_error "bad --bits" 1 "--bits must be 8 or 16, not '12'" $O -- --model model image8.png trimap.png -o $O --bits 12
expect_error "--bits with TIFF output" 1 "--bits is for PNG output" out/a.tif -- --model model image8.png trimap.png -o out/a.tif --bits 16
expect_error "no output" 1 "no output file" $O -- --model model image8.png trimap.png
expect_error "no model" 1 "no model" $O -- image8.png trimap.png -o $O
expect_error "one file name" 1 "expected IMAGE and TRIMAP, got 1 file name" $O -- --model model image8.png -o $O
expect_error "unknown option" 1 "unknown option '--frobnicate'" $O -- --frobnicate --model model image8.png trimap.png -o $O
expect_error "option without its value" 1 "--threads needs a value" $O -- --model model image8.png trimap.png -o $O --threads

# The cut-out is checked as the alpha is, before the model is opened (this model folder would fail with exit 2).
cp image8.png photo.png
run_cli --model model photo.png trimap.png -o $O --cutout photo.png
if [ "$rc" -eq 1 ] && [ "$err" = "vitmatte: cannot write photo.png: it is the input photo.png" ] &&
   cmp -s image8.png photo.png && [ ! -e $O ]; then pass "--cutout onto the input picture: \"$err\", the picture kept"
else fail "--cutout onto the input picture: exit $rc, picture kept: $(cmp -s image8.png photo.png && echo yes || echo no), $err"; fi
expect_error "--cutout onto the trimap" 1 "cannot write trimap.png: it is the input trimap.png" $O -- \
  --model model image8.png trimap.png -o $O --cutout trimap.png
[ -s trimap.png ] || fail "the trimap was touched"
echo old >out/readonly-cut.png && chmod 444 out/readonly-cut.png
expect_error "read-only --cutout, before the model" 1 "cannot write out/readonly-cut.png: the file is read-only" $O -- \
  --model model image8.png trimap.png -o $O --cutout out/readonly-cut.png
[ "$(cat out/readonly-cut.png)" = old ] || fail "the read-only cut-out changed"
rm -f out/readonly-cut.png

# An existing output survives a failed run unchanged.
echo "old alpha" >$O
run_cli --model model image8.png trimap_wide.png -o $O
if [ "$rc" -ne 0 ] && [ "$(cat $O)" = "old alpha" ]; then pass "a failed run leaves an existing output untouched"
else fail "a failed run changed the existing output (exit $rc)"; fi
rm -f $O

run_cli --help
if [ "$rc" -eq 0 ] && [[ "$out" == *"Usage: vitmatte --model"* ]] && [ -z "$err" ]; then pass "--help prints usage on stdout"
else fail "--help: exit $rc, stdout '$out', stderr '$err'"; fi
run_cli --version
if [ "$rc" -eq 0 ] && [ "$out" = "vitmatte $VERSION" ]; then pass "--version prints 'vitmatte $VERSION'"
else fail "--version: exit $rc, '$out'"; fi

finish
