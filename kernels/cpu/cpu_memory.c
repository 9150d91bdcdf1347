/* Host allocations of the CPU backend, counted so peak_memory can report arena + parameters + scratch. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_backend.h"
#include "error.h"

/* Each block starts with a header holding its size, padded so the caller's pointer stays 64-byte aligned. */
enum { CPU_ALIGN = 64, CPU_HEADER = 64 };

void *cpu_tracked_alloc(vm_cpu_backend *cb, size_t bytes) {
  if (bytes > SIZE_MAX - CPU_HEADER - CPU_ALIGN) return NULL;
  size_t total = (bytes + CPU_HEADER + CPU_ALIGN - 1) / CPU_ALIGN * CPU_ALIGN;
  unsigned char *block = aligned_alloc(CPU_ALIGN, total);
  if (!block) return NULL;
  memcpy(block, &total, sizeof total);
  cb->held_bytes += total;
  if (cb->held_bytes > cb->peak_bytes) cb->peak_bytes = cb->held_bytes;
  return block + CPU_HEADER;
}

void cpu_tracked_free(vm_cpu_backend *cb, void *ptr) {
  if (!ptr) return;
  unsigned char *block = (unsigned char *)ptr - CPU_HEADER;
  size_t total;
  memcpy(&total, block, sizeof total);
  cb->held_bytes -= total;
  free(block);
}

vm_status cpu_scratch_reserve(vm_cpu_backend *cb, int count, size_t floats, vm_error *err) {
  if (count > cb->threads) count = cb->threads;
  if (floats > SIZE_MAX / sizeof(float) / 2)
    return vm_fail(err, VM_ERR_OUT_OF_MEMORY, "CPU scratch of %zu floats is too large", floats);
  for (int i = 0; i < count; i++) {
    if (cb->scratch_floats[i] >= floats) continue;
    /* The old contents are not needed: free first so the peak does not count both buffers. */
    cpu_tracked_free(cb, cb->scratch[i]);
    cb->scratch[i] = NULL;
    cb->scratch_floats[i] = 0;
    float *p = cpu_tracked_alloc(cb, floats * sizeof(float));
    if (!p)
      return vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of memory for %zu MiB of CPU scratch",
                     floats * sizeof(float) >> 20);
    cb->scratch[i] = p;
    cb->scratch_floats[i] = floats;
  }
  return VM_OK;
}

void cpu_scratch_release(vm_cpu_backend *cb) {
  for (int i = 0; i < cb->threads; i++) {
    cpu_tracked_free(cb, cb->scratch[i]);
    cb->scratch[i] = NULL;
    cb->scratch_floats[i] = 0;
  }
}
