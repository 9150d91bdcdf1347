/* test_printable_text.c - vm_text_sanitize and the messages built on it: whatever bytes a file puts into a message
 * (a tensor name, a config string), the message is valid UTF-8 on one line. glibc's iconv is the judge of validity;
 * a checkpoint with a hostile tensor name goes through the whole loader. */
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "checkpoint_writer.h"
#include "vitmatte.h"

static checker checks = {0, 0};

/* Valid UTF-8 by iconv's decoder, and no byte below 0x20 or 0x7f. */
static int printable_utf8(const char *text) {
  for (const unsigned char *p = (const unsigned char *)text; *p; p++)
    if (*p < 0x20 || *p == 0x7f) return 0;
  iconv_t cd = iconv_open("UTF-8", "UTF-8");
  if (cd == (iconv_t)-1) return 0;
  char out[4096];
  char *in = (char *)text, *to = out;
  size_t left = strlen(text), room = sizeof out;
  const size_t done = iconv(cd, &in, &left, &to, &room);
  iconv_close(cd);
  return done != (size_t)-1 && left == 0;
}

static void expect(const char *what, const char *input, size_t size, const char *want) {
  char text[1024];
  snprintf(text, sizeof text, "%s", input);
  vm_text_sanitize(text, size);
  const int ok = printable_utf8(text) && (!want || strcmp(text, want) == 0);
  check_true(&checks, ok, "%s: \"%s\"", what, printable_utf8(text) ? text : "(not printable)");
}

static void sanitize_cases(void) {
  expect("plain ASCII stays", "model.safetensors [1, 2]", 1024, "model.safetensors [1, 2]");
  expect("UTF-8 stays (2, 3 and 4 bytes)", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 1024,
         "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  expect("stray bytes", "bad\xff\xfe name", 1024, "bad\\xFF\\xFE name");
  expect("a newline, a tab and a terminal escape", "a\nb\tc\x1b[31m", 1024, "a\\x0Ab\\x09c\\x1B[31m");
  expect("a C1 control (U+009B, CSI)", "x\xc2\x9by", 1024, "x\\xC2\\x9By");
  expect("an overlong slash", "\xc0\xaf", 1024, "\\xC0\\xAF");
  expect("a surrogate (U+D800)", "\xed\xa0\x80", 1024, "\\xED\\xA0\\x80");
  expect("beyond U+10FFFF", "\xf4\x90\x80\x80", 1024, "\\xF4\\x90\\x80\\x80");
  expect("a sequence cut by an earlier truncation", "name \xe2\x82", 1024, "name \\xE2\\x82");
  expect("a full buffer cuts before an escape", "abc\xff", 6, "abc");
  expect("a full buffer cuts before a character", "ab\xe2\x82\xac", 5, "ab");
}

/* A tiny checkpoint plus one tensor whose name holds stray bytes, a newline and a terminal escape: the loader's
 * "unexpected tensor" message quotes it. */
static void loader_message(void) {
  ckw_config cc = ckw_tiny();
  ckw_set set;
  char dir[4096];
  if (!ckw_build(&cc, "F32", 3, &set) || !ckw_make_dir(dir)) {
    check_true(&checks, false, "fixture");
    return;
  }
  ckw_put(&set, "decoder.extra\xff\xfe\n\x1b[31m", "F32", CKW_EXTRA, 1, (const int64_t[]){2});
  ckw_write_checkpoint(dir, &cc, NULL, &set);
  vm_model *model = NULL;
  vm_error err = {VM_OK, ""};
  const vm_status st = vm_model_load(dir, &model, &err);
  const int ok = st == VM_ERR_MODEL && printable_utf8(err.message) &&
                 strstr(err.message, "unexpected tensor decoder.extra\\xFF\\xFE\\x0A\\x1B[31m") != NULL;
  check_true(&checks, ok, "a hostile tensor name in the loader's message: \"%s\"",
             printable_utf8(err.message) ? err.message : "(not printable)");
  vm_model_free(model);
  ckw_free(&set);
  ckw_remove_dir(dir);
}

int main(void) {
  sanitize_cases();
  loader_message();
  return check_finish(&checks, "printable text");
}
