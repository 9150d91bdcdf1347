/* Checks the safetensors reader on images built in memory: a valid file is read exactly (names, shapes, offsets,
 * every F16/BF16 bit pattern), and every malformed header is refused with VM_ERR_FORMAT and a precise message. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "checkpoint_writer.h"
#include "safetensors.h"

/* Parses a header given as text over `data_size` data bytes. */
static vm_status parse_header(const char *header, size_t data_size, vm_safetensors *st, vm_error *err) {
  uint8_t *bytes;
  size_t size;
  if (!ckw_raw_safetensors(header, data_size, &bytes, &size)) return VM_ERR_OUT_OF_MEMORY;
  return vm_safetensors_parse(bytes, size, st, err);
}

static void expect_header(checker *c, const char *what, const char *header, size_t data_size, vm_status want,
                          const char *needle1, const char *needle2) {
  vm_safetensors st;
  vm_error err = {0};
  vm_status s = parse_header(header, data_size, &st, &err);
  check_status(c, what, s, &err, want, needle1, needle2);
  if (s == VM_OK) vm_safetensors_close(&st);
}

static vm_status parse_copy(const uint8_t *src, size_t n, vm_safetensors *st, vm_error *err) {
  uint8_t *copy = malloc(n + 1);
  if (n) memcpy(copy, src, n);
  return vm_safetensors_parse(copy, n, st, err);
}

static void check_valid(checker *c) {
  const char *h = "{\"__metadata__\": {\"format\": \"pt\"},"
                  " \"b.weight\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [8, 32]},"
                  " \"a.bias\": {\"dtype\": \"F16\", \"shape\": [4], \"data_offsets\": [0, 8]},"
                  " \"c.count\": {\"dtype\": \"I64\", \"shape\": [], \"data_offsets\": [32, 40]},"
                  " \"d.other\": {\"dtype\": \"F64\", \"shape\": [1], \"data_offsets\": [40, 48]},"
                  " \"e.empty\": {\"dtype\": \"F32\", \"shape\": [0, 5], \"data_offsets\": [48, 48]}}";
  vm_safetensors st;
  vm_error err = {0};
  vm_status s = parse_header(h, 48, &st, &err);
  check_status(c, "valid header with metadata, F32/F16/I64/F64 and an empty tensor", s, &err, VM_OK, NULL, NULL);
  if (s != VM_OK) return;
  check_true(c, st.count == 5 && strcmp(st.tensors[0].name, "a.bias") == 0 &&
                    strcmp(st.tensors[4].name, "e.empty") == 0,
             "5 tensors, sorted by name, __metadata__ not among them (got %d)", st.count);
  const vm_st_tensor *b = vm_safetensors_find(&st, "b.weight");
  check_true(c, b && b->dtype == VM_DTYPE_F32 && b->ndim == 2 && b->shape[0] == 2 && b->shape[1] == 3 &&
                    b->numel == 6 && b->begin == 8 && b->end == 32 && strcmp(b->dtype_name, "F32") == 0,
             "b.weight: F32 [2, 3], bytes 8..32 of the data section");
  const vm_st_tensor *cnt = vm_safetensors_find(&st, "c.count");
  check_true(c, cnt && cnt->dtype == VM_DTYPE_I64 && cnt->ndim == 0 && cnt->numel == 1, "c.count: I64 scalar");
  const vm_st_tensor *d = vm_safetensors_find(&st, "d.other");
  check_true(c, d && d->dtype == VM_DTYPE_OTHER && strcmp(d->dtype_name, "F64") == 0, "F64 is read as OTHER, named F64");
  const vm_st_tensor *e = vm_safetensors_find(&st, "e.empty");
  check_true(c, e && e->numel == 0, "a [0, 5] tensor has no elements");
  check_true(c, vm_safetensors_find(&st, "zzz") == NULL && vm_safetensors_find(&st, "a.bia") == NULL,
             "find returns NULL for names not in the file");
  check_true(c, st.data_size == 48 && st.data == st.file + st.file_size - 48, "data section is the last 48 bytes");
  /* The data section holds bytes 0,1,2,...: b.weight's first float is the bytes 08 09 0a 0b little-endian. */
  float v[6];
  vm_safetensors_to_f32(&st, b, v);
  uint32_t bits = 0x0b0a0908u;
  float want;
  memcpy(&want, &bits, 4);
  check_true(c, memcmp(&v[0], &want, 4) == 0, "F32 values are read little-endian from data_offsets[0]");
  vm_safetensors_close(&st);
}

/* Every one of the 65536 half (or bfloat16) patterns against an arithmetic decoding. */
static void check_exhaustive(checker *c, const char *dtype) {
  char header[256];
  snprintf(header, sizeof header, "{\"all\": {\"dtype\": \"%s\", \"shape\": [65536], \"data_offsets\": [0, 131072]}}",
           dtype);
  uint8_t *bytes;
  size_t size;
  ckw_raw_safetensors(header, 131072, &bytes, &size);
  uint8_t *data = bytes + size - 131072;
  for (unsigned i = 0; i < 65536; i++) data[2 * i] = (uint8_t)i, data[2 * i + 1] = (uint8_t)(i >> 8);
  vm_safetensors st;
  vm_error err = {0};
  vm_status s = vm_safetensors_parse(bytes, size, &st, &err);
  check_status(c, dtype, s, &err, VM_OK, NULL, NULL);
  if (s != VM_OK) return;
  float *out = malloc(sizeof *out * 65536);
  vm_safetensors_to_f32(&st, &st.tensors[0], out);
  int bad = 0, first_bad = -1, nans = 0, subnormals = 0;
  const bool half = strcmp(dtype, "F16") == 0;
  for (unsigned i = 0; i < 65536; i++) {
    double want = half ? ckw_half_value((uint16_t)i) : ckw_bfloat_value((uint16_t)i);
    bool ok;
    if (isnan(want)) {
      ok = isnan(out[i]) && (signbit(out[i]) != 0) == ((i >> 15) != 0);
      nans++;
    } else {
      ok = (double)out[i] == want && (signbit(out[i]) != 0) == ((i >> 15) != 0);
      if (want != 0 && fabs(want) < (half ? ldexp(1, -14) : ldexp(1, -126))) subnormals++;
    }
    if (!ok && bad++ == 0) first_bad = (int)i;
  }
  if (bad) printf("     %d patterns differ, the first is 0x%04x\n", bad, (unsigned)first_bad);
  check_true(c, bad == 0, "%s: all 65536 patterns convert exactly (incl. %d subnormals, +-0, +-inf, %d NaNs)", dtype,
             subnormals, nans);
  free(out);
  vm_safetensors_close(&st);
}

static void check_bad_headers(checker *c) {
  const char *T = "\"t\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}";
  char h[512];

  expect_header(c, "header is a JSON list", "[1, 2, 3]", 0, VM_ERR_FORMAT, "not a JSON object", NULL);
  expect_header(c, "header is invalid JSON", "{\"t\": {\"dtype\": \"F32\",", 0, VM_ERR_FORMAT, "not valid JSON",
                NULL);
  expect_header(c, "garbage after the header JSON", "{\"t\": {\"dtype\": \"F32\", \"shape\": [2], "
                "\"data_offsets\": [0, 8]}} xx", 8, VM_ERR_FORMAT, "extra bytes", NULL);
  expect_header(c, "single-quoted keys", "{'t': {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 8,
                VM_ERR_FORMAT, "single-quoted", NULL);
  expect_header(c, "entry is not an object", "{\"t\": [1]}", 0, VM_ERR_FORMAT, "\"t\"", "not an object");
  expect_header(c, "entry without dtype", "{\"t\": {\"shape\": [2], \"data_offsets\": [0, 8]}}", 8, VM_ERR_FORMAT,
                "\"t\"", "dtype");
  expect_header(c, "entry without shape", "{\"t\": {\"dtype\": \"F32\", \"data_offsets\": [0, 8]}}", 8,
                VM_ERR_FORMAT, "\"t\"", "shape");
  expect_header(c, "entry without data_offsets", "{\"t\": {\"dtype\": \"F32\", \"shape\": [2]}}", 8, VM_ERR_FORMAT,
                "\"t\"", "data_offsets");
  expect_header(c, "dtype is a number", "{\"t\": {\"dtype\": 7, \"shape\": [2], \"data_offsets\": [0, 8]}}", 8,
                VM_ERR_FORMAT, "\"t\"", "dtype");
  expect_header(c, "shape is a string", "{\"t\": {\"dtype\": \"F32\", \"shape\": \"2\", \"data_offsets\": [0, 8]}}",
                8, VM_ERR_FORMAT, "\"t\"", "shape");
  expect_header(c, "negative dimension", "{\"t\": {\"dtype\": \"F32\", \"shape\": [-2], \"data_offsets\": [0, 8]}}",
                8, VM_ERR_FORMAT, "\"t\"", "shape[0]");
  expect_header(c, "non-integer dimension",
                "{\"t\": {\"dtype\": \"F32\", \"shape\": [2.0], \"data_offsets\": [0, 8]}}", 8, VM_ERR_FORMAT, "\"t\"",
                "shape[0]");
  expect_header(c, "numel overflow",
                "{\"t\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296], \"data_offsets\": [0, 8]}}", 8,
                VM_ERR_FORMAT, "\"t\"", "large");
  expect_header(c, "too many dimensions",
                "{\"t\": {\"dtype\": \"F32\", \"shape\": [1,1,1,1,1,1,1,1,1], \"data_offsets\": [0, 4]}}", 4,
                VM_ERR_UNSUPPORTED, "\"t\"", "dimensions");
  expect_header(c, "unknown dtype", "{\"t\": {\"dtype\": \"F128\", \"shape\": [2], \"data_offsets\": [0, 32]}}", 32,
                VM_ERR_FORMAT, "\"t\"", "F128");
  expect_header(c, "sub-byte dtype F4", "{\"t\": {\"dtype\": \"F4\", \"shape\": [2], \"data_offsets\": [0, 1]}}", 1,
                VM_ERR_UNSUPPORTED, "\"t\"", "F4");
  expect_header(c, "data_offsets with one number", "{\"t\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8]}}",
                8, VM_ERR_FORMAT, "\"t\"", "data_offsets");
  expect_header(c, "negative offset", "{\"t\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [-8, 0]}}", 8,
                VM_ERR_FORMAT, "\"t\"", "data_offsets");
  expect_header(c, "end before begin", "{\"t\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 0]}}", 8,
                VM_ERR_FORMAT, "\"t\"", "before it begins");
  expect_header(c, "offsets past the data section",
                "{\"t\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 16]}}", 12, VM_ERR_FORMAT,
                "\"t\"", "[8, 16]");
  expect_header(c, "offsets beyond uint64",
                "{\"t\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 99999999999999999999]}}", 8,
                VM_ERR_FORMAT, "\"t\"", NULL);
  expect_header(c, "size differs from shape x dtype",
                "{\"t\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", 8, VM_ERR_FORMAT, "\"t\"",
                "need 12");
  expect_header(c, "overlapping tensors",
                "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
                " \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}",
                12, VM_ERR_FORMAT, "\"a\" [0, 8]", "\"b\" [4, 12]");
  expect_header(c, "a tensor inside another",
                "{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]},"
                " \"b\": {\"dtype\": \"F16\", \"shape\": [2], \"data_offsets\": [4, 8]}}",
                16, VM_ERR_FORMAT, "overlap", NULL);
  snprintf(h, sizeof h, "{%s, \"u\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 16]}, %s}", T, T);
  expect_header(c, "duplicate names", h, 16, VM_ERR_FORMAT, "duplicate", "\"t\"");
  expect_header(c, "duplicate names spelled with an escape",
                "{\"ab\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
                " \"a\\u0062\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 16]}}",
                16, VM_ERR_FORMAT, "duplicate", "\"ab\"");
  expect_header(c, "a name with a NUL character",
                "{\"a\\u0000b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 8, VM_ERR_FORMAT,
                "NUL", NULL);
  expect_header(c, "__metadata__ value is not a string", "{\"__metadata__\": {\"format\": 1}}", 0, VM_ERR_FORMAT,
                "__metadata__", "format");
  expect_header(c, "__metadata__ is a list", "{\"__metadata__\": [\"pt\"]}", 0, VM_ERR_FORMAT, "__metadata__", NULL);
  expect_header(c, "empty header object", "{}", 0, VM_OK, NULL, NULL);
  expect_header(c, "a key that holds braces and quotes",
                "{\"x{\\\"[,\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4, VM_OK, NULL,
                NULL);
}

static void check_bad_files(checker *c) {
  vm_safetensors st;
  vm_error err = {0};
  uint8_t *good;
  size_t size;
  ckw_raw_safetensors("{\"weight\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}", 16, &good,
                      &size);
  const size_t hlen = size - 8 - 16;

  check_status(c, "empty file", parse_copy(good, 0, &st, &err), &err, VM_ERR_FORMAT, "0 bytes", "too short");
  check_status(c, "truncated inside the length (5 bytes)", parse_copy(good, 5, &st, &err), &err, VM_ERR_FORMAT,
               "5 bytes", "too short");
  check_status(c, "truncated inside the header", parse_copy(good, 8 + hlen / 2, &st, &err), &err, VM_ERR_FORMAT,
               "truncated", NULL);
  check_status(c, "truncated at the end of the header", parse_copy(good, 8 + hlen, &st, &err), &err,
               VM_ERR_FORMAT, "\"weight\"", "[0, 16]");
  check_status(c, "truncated inside the data", parse_copy(good, size - 3, &st, &err), &err, VM_ERR_FORMAT,
               "\"weight\"", "truncated");

  uint8_t *bad = malloc(size);
  memcpy(bad, good, size);
  uint64_t past = size; /* header length larger than what follows the 8 bytes */
  for (int k = 0; k < 8; k++) bad[k] = (uint8_t)(past >> (8 * k));
  check_status(c, "header length past the end of the file", parse_copy(bad, size, &st, &err), &err, VM_ERR_FORMAT,
               "past the end", NULL);
  uint64_t absurd = 1ull << 40;
  for (int k = 0; k < 8; k++) bad[k] = (uint8_t)(absurd >> (8 * k));
  check_status(c, "absurd header length (1 TB)", parse_copy(bad, size, &st, &err), &err, VM_ERR_FORMAT,
               "header length", NULL);
  for (int k = 0; k < 8; k++) bad[k] = 0;
  check_status(c, "header length 0", parse_copy(bad, size, &st, &err), &err, VM_ERR_FORMAT, "header length",
               NULL);
  free(bad);

  static const uint8_t pickle[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8};
  check_status(c, "pickle (protocol 2) bytes", parse_copy(pickle, sizeof pickle, &st, &err), &err, VM_ERR_FORMAT,
               "pytorch_model.bin", "model.safetensors");
  static const uint8_t pickle4[] = {0x80, 0x04, 0x95};
  check_status(c, "3-byte pickle (protocol 4)", parse_copy(pickle4, sizeof pickle4, &st, &err), &err,
               VM_ERR_FORMAT, "pickle", NULL);
  static const uint8_t zip[] = {'P', 'K', 3, 4, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  check_status(c, "zip (torch.save) bytes", parse_copy(zip, sizeof zip, &st, &err), &err, VM_ERR_FORMAT,
               "pickle", "save_pretrained");
  static const char lfs[] = "version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 103\n";
  check_status(c, "Git LFS pointer", parse_copy((const uint8_t *)lfs, sizeof lfs - 1, &st, &err), &err,
               VM_ERR_FORMAT, "LFS", NULL);

  check_status(c, "open a missing file", vm_safetensors_open("/nonexistent/model.safetensors", &st, &err), &err,
               VM_ERR_IO, "/nonexistent/model.safetensors", NULL);
  check_status(c, "open a folder", vm_safetensors_open("/tmp", &st, &err), &err, VM_ERR_IO, "directory", NULL);
  check_status(c, "NULL bytes with a size", vm_safetensors_parse(NULL, 10, &st, &err), &err,
               VM_ERR_INVALID_ARGUMENT, NULL, NULL);
  free(good);
}

int main(void) {
  checker c = {0};
  check_valid(&c);
  check_exhaustive(&c, "F16");
  check_exhaustive(&c, "BF16");
  check_bad_headers(&c);
  check_bad_files(&c);
  return check_finish(&c, "test_safetensors");
}
