/* safetensors.h - reading the safetensors checkpoint format (8-byte header length, JSON header, raw data).
 * Owns: validating a file's header completely before any tensor is used, and converting tensors to f32. */
#ifndef VM_SAFETENSORS_H
#define VM_SAFETENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vitmatte.h"

typedef enum vm_dtype { VM_DTYPE_F32, VM_DTYPE_F16, VM_DTYPE_BF16, VM_DTYPE_I64, VM_DTYPE_OTHER } vm_dtype;

#define VM_ST_MAX_DIMS 8

typedef struct vm_st_tensor {
  char *name;
  vm_dtype dtype;
  char dtype_name[16];        /* as written in the header, e.g. "F32" */
  int ndim;
  int64_t shape[VM_ST_MAX_DIMS];
  int64_t numel;
  uint64_t begin, end;        /* byte offsets into the data section, validated: end - begin == numel * size */
} vm_st_tensor;

typedef struct vm_safetensors {
  uint8_t *file;              /* whole file contents (owned: malloc'ed, or a read-only mapping when `mapped`) */
  size_t file_size;
  bool mapped;
  const uint8_t *data;        /* start of the data section */
  size_t data_size;
  int count;
  vm_st_tensor *tensors;      /* sorted by name */
} vm_safetensors;

/* Parse and validate a safetensors image held in memory; takes ownership of `bytes` (malloc'ed) on success and
 * on failure. Checks: header length inside the file, JSON well-formed, every entry has dtype/shape/data_offsets,
 * known dtypes, offsets inside the data section, sizes consistent with shape and dtype, no two tensors overlap,
 * no duplicate names. A pickle/zip file (pytorch_model.bin) is refused with a message saying how to get
 * model.safetensors. */
vm_status vm_safetensors_parse(uint8_t *bytes, size_t size, vm_safetensors *st, vm_error *err);

/* Map (or, where mapping fails, read) a file and parse it. */
vm_status vm_safetensors_open(const char *path, vm_safetensors *st, vm_error *err);

void vm_safetensors_close(vm_safetensors *st);

/* Find a tensor by exact name; NULL if absent. */
const vm_st_tensor *vm_safetensors_find(const vm_safetensors *st, const char *name);

/* IEEE half to float, exactly: every half value (subnormals, infinities, NaN payloads) has an exact float. Without
 * branches on the value, so that loops over tensors vectorise: a subnormal is renormalised by one float subtraction,
 * which is exact (2^-14 (1 + m / 1024) - 2^-14 = m 2^-24, all normal floats). */
static inline float vm_half_to_float(uint16_t h) {
  const uint32_t exponent_mask = 0x7c00u << 13;
  uint32_t bits = (uint32_t)(h & 0x7fffu) << 13; /* exponent and mantissa in the float's places */
  const uint32_t exponent = bits & exponent_mask;
  bits += (127u - 15u) << 23; /* rebiased */
  if (exponent == exponent_mask) bits += (128u - 16u) << 23; /* infinity and NaN: the float's all-ones exponent */
  if (exponent == 0) {                                        /* zero and subnormals */
    const float two_to_minus_14 = 6.103515625e-05f;
    float f;
    bits += 1u << 23;
    memcpy(&f, &bits, sizeof f);
    f -= two_to_minus_14;
    memcpy(&bits, &f, sizeof f);
  }
  bits |= (uint32_t)(h & 0x8000u) << 16;
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

/* bfloat16 to float, exactly: the upper half of the float's bits. */
static inline float vm_bf16_to_float(uint16_t h) {
  const uint32_t bits = (uint32_t)h << 16;
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

/* Convert a floating tensor (F32/F16/BF16) to f32 into dst[numel]. */
void vm_safetensors_to_f32(const vm_safetensors *st, const vm_st_tensor *t, float *dst);

#endif
