/* weight_values.c - the scan behind vm_tensor_check_values: integer comparisons on the stored bits, so a NaN or an
 * infinity is caught by the same test as a value over the bound (their exponents are larger than any finite one). */
#include "weight_values.h"

#include <inttypes.h>
#include <string.h>

#include "error.h"

/* The value stored at p (F32, F16 or BF16, little-endian), exactly. */
static inline float stored_value(const uint8_t *p, vm_dtype dtype) {
  if (dtype == VM_DTYPE_F32) {
    const uint32_t bits = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    float v;
    memcpy(&v, &bits, sizeof v);
    return v;
  }
  const uint16_t h = (uint16_t)(p[0] | p[1] << 8);
  return dtype == VM_DTYPE_BF16 ? vm_bf16_to_float(h) : vm_half_to_float(h);
}

/* |v| as the bits of a non-negative f32: for non-negative floats, bit patterns order like the values, and NaN and
 * infinity lie above every finite value. */
static inline uint32_t magnitude_bits(const uint8_t *p, vm_dtype dtype) {
  const float v = stored_value(p, dtype);
  uint32_t bits;
  memcpy(&bits, &v, sizeof bits);
  return bits & 0x7fffffffu;
}

static inline size_t stored_size(vm_dtype dtype) { return dtype == VM_DTYPE_F32 ? 4 : 2; }

/* The largest magnitude_bits of n values; inlined below once per dtype (a constant there), so that each is a
 * branch-free loop of its own and the scan of ViTMatte-B's 97 M weights costs milliseconds. */
static inline uint32_t max_bits_of(const uint8_t *p, int64_t n, vm_dtype dtype) {
  uint32_t most = 0;
  for (int64_t i = 0; i < n; i++) {
    const uint32_t b = magnitude_bits(p + stored_size(dtype) * (size_t)i, dtype);
    most = b > most ? b : most;
  }
  return most;
}

static uint32_t max_magnitude_bits(const uint8_t *p, int64_t n, vm_dtype dtype) {
  if (dtype == VM_DTYPE_F32) return max_bits_of(p, n, VM_DTYPE_F32);
  if (dtype == VM_DTYPE_BF16) return max_bits_of(p, n, VM_DTYPE_BF16);
  return max_bits_of(p, n, VM_DTYPE_F16);
}

vm_status vm_tensor_check_values(const vm_safetensors *st, const vm_st_tensor *t, float bound, vm_error *err) {
  if (t->dtype != VM_DTYPE_F32 && t->dtype != VM_DTYPE_F16 && t->dtype != VM_DTYPE_BF16) return VM_OK;
  const size_t size = stored_size(t->dtype);
  uint32_t limit;
  memcpy(&limit, &bound, sizeof limit);
  const uint8_t *p = st->data + t->begin;
  if (max_magnitude_bits(p, t->numel, t->dtype) <= limit) return VM_OK;
  int64_t bad = 0;
  while (bad < t->numel && magnitude_bits(p + (size_t)bad * size, t->dtype) <= limit) bad++;
  const float v = stored_value(p + (size_t)bad * size, t->dtype);
  const char *what = v != v ? "not a number" : v - v != 0.0f ? "an infinity" : "more than any trained ViTMatte holds";
  return vm_fail(err, VM_ERR_FORMAT, "tensor %s holds %g at index %" PRId64 " (of %" PRId64 "), %s (the bound is %g): "
                 "the checkpoint is damaged", t->name, (double)v, bad, t->numel, what, (double)bound);
}
