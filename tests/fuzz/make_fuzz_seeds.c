/* Writes the seed corpus for fuzz_loader: small valid checkpoints (config + weights) in F32/F16/BF16 and a few
 * safetensors images, in the input format fuzz_loader.c describes. Usage: make_fuzz_seeds OUTPUT_DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint_writer.h"

/* The smallest config that still has windows, a residual block, rel-pos, abs-pos and two fusion blocks. */
static ckw_config micro(void) {
  ckw_config c = ckw_tiny();
  c.hidden = 8, c.heads = 2, c.layers = 2, c.image_size = 8, c.pretrain_image_size = 8, c.window_size = 1;
  c.n_window = 1, c.window_blocks[0] = 0, c.n_residual = 1, c.residual_blocks[0] = 1, c.out_stage = 2;
  c.conv[0] = 2, c.fusion[0] = 4, c.fusion[1] = 2;
  return c;
}

static int write_seed(const char *dir, const char *name, const uint8_t *mode, size_t mode_len, const char *config,
                      const uint8_t *weights, size_t weights_len) {
  size_t clen = config ? strlen(config) : 0;
  size_t n = mode_len + clen + weights_len;
  uint8_t *buf = malloc(n + 1);
  memcpy(buf, mode, mode_len);
  if (clen) memcpy(buf + mode_len, config, clen);
  memcpy(buf + mode_len + clen, weights, weights_len);
  int ok = ckw_write_file(dir, name, buf, n);
  free(buf);
  return ok;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
    return 2;
  }
  const char *dir = argv[1];
  static const char *dtypes[] = {"F32", "F16", "BF16"};
  int ok = 1;
  for (int i = 0; i < 3; i++) {
    ckw_config c = micro();
    if (i == 2) c.qkv_bias = false, c.use_abs = false;
    ckw_set set;
    uint8_t *bytes = NULL;
    size_t size = 0;
    if (!ckw_build(&c, dtypes[i], 100 + (uint64_t)i, &set) || !ckw_serialize(&set, &bytes, &size)) {
      fprintf(stderr, "make_fuzz_seeds: out of memory\n");
      return 1;
    }
    char *config = ckw_config_json(&c);
    size_t clen = strlen(config);
    uint8_t both[3] = {1, (uint8_t)clen, (uint8_t)(clen >> 8)}, only[1] = {0};
    char name[64];
    snprintf(name, sizeof name, "model_%s", dtypes[i]);
    ok &= write_seed(dir, name, both, 3, config, bytes, size);
    snprintf(name, sizeof name, "safetensors_%s", dtypes[i]);
    ok &= write_seed(dir, name, only, 1, NULL, bytes, size);
    free(config);
    free(bytes);
    ckw_free(&set);
  }
  static const char *headers[] = {
      "{\"__metadata__\": {\"format\": \"pt\"}, \"a\": {\"dtype\": \"I64\", \"shape\": [], \"data_offsets\": [0, 8]},"
      " \"b\": {\"dtype\": \"F64\", \"shape\": [1, 1], \"data_offsets\": [8, 16]}}",
      "{\"e\": {\"dtype\": \"U8\", \"shape\": [0, 3], \"data_offsets\": [16, 16]},"
      " \"f\": {\"dtype\": \"BOOL\", \"shape\": [16], \"data_offsets\": [0, 16]}}",
  };
  for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
    uint8_t *bytes = NULL;
    size_t size = 0;
    uint8_t only[1] = {0};
    char name[64];
    ok &= ckw_raw_safetensors(headers[i], 16, &bytes, &size);
    snprintf(name, sizeof name, "header_%zu", i);
    ok &= write_seed(dir, name, only, 1, NULL, bytes, size);
    free(bytes);
  }
  if (!ok) fprintf(stderr, "make_fuzz_seeds: could not write every seed to %s\n", dir);
  return ok ? 0 : 1;
}
