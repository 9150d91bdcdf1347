/* weight_values.c - the scan behind vm_tensor_check_values: integer comparisons on the stored bits, so a NaN or an
 * infinity is caught by the same test as a value over the bound (their exponents are larger than any finite one). */
#include "weight_values.h"

#include <inttypes.h>
#include <string.h>

#include "error.h"

/* |v| as the bits of a non-negative f32: for non-negative floats, bit patterns order like the values, and NaN and
 * infinity lie above every finite value. */
static inline uint32_t magnitude_bits(const uint8_t *p, vm_dtype dtype) {
  uint32_t bits;
  if (dtype == VM_DTYPE_F32) {
    bits = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
  } else if (dtype == VM_DTYPE_BF16) {
    bits = ((uint32_t)p[0] | (uint32_t)p[1] << 8) << 16;
  } else {
    /* f16 -> f32 exponent and mantissa, enough to order magnitudes: all-ones exponent (inf/NaN) -> f32's, the
     * rest rebiased (15 -> 127); subnormals land below every normal number, which is all the order needs. */
    const uint32_t h = (uint32_t)p[0] | (uint32_t)p[1] << 8;
    const uint32_t exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
    bits = exponent == 0x1f ? 0x7f800000u | mantissa << 13
           : exponent == 0  ? mantissa
                            : (exponent + 112) << 23 | mantissa << 13;
  }
  return bits & 0x7fffffffu;
}

static float value_of(const vm_safetensors *st, const vm_st_tensor *t, int64_t index) {
  float v;
  vm_st_tensor one = *t;
  one.numel = 1;
  one.begin = t->begin + (uint64_t)index * (t->dtype == VM_DTYPE_F32 ? 4u : 2u);
  vm_safetensors_to_f32(st, &one, &v);
  return v;
}

/* The largest magnitude_bits of n values: one branch-free pass per dtype, so the scan of ViTMatte-B's 97 M weights
 * costs milliseconds. */
static uint32_t max_magnitude_bits(const uint8_t *p, int64_t n, vm_dtype dtype) {
  uint32_t most = 0;
  if (dtype == VM_DTYPE_F32) {
    for (int64_t i = 0; i < n; i++) {
      const uint32_t b = magnitude_bits(p + 4 * (size_t)i, VM_DTYPE_F32);
      most = b > most ? b : most;
    }
  } else if (dtype == VM_DTYPE_BF16) {
    for (int64_t i = 0; i < n; i++) {
      const uint32_t b = magnitude_bits(p + 2 * (size_t)i, VM_DTYPE_BF16);
      most = b > most ? b : most;
    }
  } else {
    for (int64_t i = 0; i < n; i++) {
      const uint32_t b = magnitude_bits(p + 2 * (size_t)i, VM_DTYPE_F16);
      most = b > most ? b : most;
    }
  }
  return most;
}

vm_status vm_tensor_check_values(const vm_safetensors *st, const vm_st_tensor *t, float bound, vm_error *err) {
  if (t->dtype != VM_DTYPE_F32 && t->dtype != VM_DTYPE_F16 && t->dtype != VM_DTYPE_BF16) return VM_OK;
  const size_t size = t->dtype == VM_DTYPE_F32 ? 4 : 2;
  uint32_t limit;
  memcpy(&limit, &bound, sizeof limit);
  const uint8_t *p = st->data + t->begin;
  if (max_magnitude_bits(p, t->numel, t->dtype) <= limit) return VM_OK;
  int64_t bad = 0;
  while (bad < t->numel && magnitude_bits(p + (size_t)bad * size, t->dtype) <= limit) bad++;
  const float v = value_of(st, t, bad);
  const char *what = v != v ? "not a number" : v - v != 0.0f ? "an infinity" : "more than any trained ViTMatte holds";
  return vm_fail(err, VM_ERR_FORMAT, "tensor %s holds %g at index %" PRId64 " (of %" PRId64 "), %s (the bound is %g): "
                 "the checkpoint is damaged", t->name, (double)v, bad, t->numel, what, (double)bound);
}
