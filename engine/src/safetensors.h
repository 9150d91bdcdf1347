/* safetensors.h - reading the safetensors checkpoint format (8-byte header length, JSON header, raw data).
 * Owns: validating a file's header completely before any tensor is used, and converting tensors to f32. */
#ifndef VM_SAFETENSORS_H
#define VM_SAFETENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* Convert a floating tensor (F32/F16/BF16) to f32 into dst[numel]. */
void vm_safetensors_to_f32(const vm_safetensors *st, const vm_st_tensor *t, float *dst);

#endif
