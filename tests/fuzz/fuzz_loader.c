/* libFuzzer target for the checkpoint loader: safetensors headers, config.json and the config/checkpoint checks.
 * Input: byte 0 even -> the rest is a safetensors image; odd -> bytes 1-2 (little-endian) give the length of a
 * config.json text that follows, and what remains is a safetensors image checked against that config. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What a successful parse promises: offsets inside the data section, sizes that match, names sorted and found. */
static void check_invariants(const vm_safetensors *st) {
  for (int i = 0; i < st->count; i++) {
    const vm_st_tensor *t = &st->tensors[i];
    if (t->begin > t->end || t->end > st->data_size || t->numel < 0) abort();
    if (i > 0 && strcmp(st->tensors[i - 1].name, t->name) >= 0) abort();
    if (vm_safetensors_find(st, t->name) != t) abort();
    if (t->dtype == VM_DTYPE_F32 || t->dtype == VM_DTYPE_F16 || t->dtype == VM_DTYPE_BF16) {
      uint64_t item = t->dtype == VM_DTYPE_F32 ? 4 : 2;
      if (t->end - t->begin != (uint64_t)t->numel * item) abort();
      float *out = malloc(sizeof(float) * (size_t)(t->numel + 1));
      if (!out) continue;
      vm_safetensors_to_f32(st, t, out);
      free(out);
    }
  }
}

static int parse_weights(const uint8_t *bytes, size_t n, vm_safetensors *st) {
  uint8_t *copy = malloc(n ? n : 1);
  if (!copy) return 0;
  if (n) memcpy(copy, bytes, n);
  vm_error err;
  if (vm_safetensors_parse(copy, n, st, &err) != VM_OK) return 0; /* the parser took and freed `copy` */
  check_invariants(st);
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  vm_safetensors st;
  if ((data[0] & 1) == 0) {
    if (parse_weights(data + 1, size - 1, &st)) vm_safetensors_close(&st);
    return 0;
  }
  if (size < 3) return 0;
  size_t config_len = (size_t)data[1] | (size_t)data[2] << 8;
  if (config_len > size - 3) config_len = size - 3;
  vm_config cfg;
  vm_error err;
  if (vm_config_parse((const char *)data + 3, config_len, &cfg, &err) != VM_OK) return 0;
  if (cfg.num_layers_run < 0 || cfg.num_layers_run > cfg.num_hidden_layers || cfg.head_dim * cfg.num_attention_heads != cfg.hidden_size)
    abort();
  if (!parse_weights(data + 3 + config_len, size - 3 - config_len, &st)) return 0;
  struct vm_model model;
  if (vm_model_build(&cfg, &st, &model, &err) == VM_OK) vm_model_destroy(&model);
  vm_safetensors_close(&st);
  return 0;
}
