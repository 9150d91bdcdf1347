/* The CPU ops' shared runtime: thread count, host allocations counted so peak_memory can report arena + parameters +
 * scratch, and the per-thread and shared scratch buffers. */
#include "cpu_runtime.h"

#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "huge_pages.h"

/* Each block starts with a header holding its size, padded so the caller's pointer stays 64-byte aligned. */
enum { CPU_ALIGN = 64, CPU_HEADER = 64 };

vm_status cpu_runtime_init(cpu_runtime *rt, int threads, vm_error *err) {
  *rt = (cpu_runtime){0};
  /* More threads than a few per core only add scheduling cost (and a per-thread scratch each). */
  const int most = vm_cpu_thread_limit();
  if (threads <= 0) threads = omp_get_num_procs();
  if (threads > most) threads = most;
  if (threads < 1) threads = 1;
  rt->scratch = calloc((size_t)threads, sizeof *rt->scratch);
  rt->scratch_floats = calloc((size_t)threads, sizeof *rt->scratch_floats);
  if (!rt->scratch || !rt->scratch_floats) {
    free(rt->scratch);
    free(rt->scratch_floats);
    *rt = (cpu_runtime){0};
    return vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of memory creating the CPU backend");
  }
  rt->threads = threads;
  rt->gemm = cpu_gemm_isa_select();
  /* VITMATTE_CPU_CONV=direct keeps every convolution direct (for tests and comparisons) */
  const char *conv = getenv("VITMATTE_CPU_CONV");
  rt->winograd = rt->gemm->kernel != NULL && !(conv && !strcmp(conv, "direct"));
  /* large blocks (the arena, big scratch) in huge pages unless VITMATTE_HUGE_PAGES=off (huge_pages.c says why) */
  rt->huge_pages = vm_huge_pages_wanted();
  return VM_OK;
}

void cpu_runtime_release(cpu_runtime *rt) {
  if (rt->scratch)
    for (int i = 0; i < rt->threads; i++) cpu_tracked_free(rt, rt->scratch[i]);
  cpu_tracked_free(rt, rt->shared);
  free(rt->scratch);
  free(rt->scratch_floats);
  *rt = (cpu_runtime){0};
}

void *cpu_tracked_alloc(cpu_runtime *rt, size_t bytes) {
  if (bytes > SIZE_MAX - CPU_HEADER - CPU_ALIGN) return NULL;
  size_t total = (bytes + CPU_HEADER + CPU_ALIGN - 1) / CPU_ALIGN * CPU_ALIGN;
  /* held_bytes counts what was asked for (header included), not the huge pages' rounding, as it never counted
   * malloc's own overhead: vm_context_estimate_memory's upper bound (vitmatte.h) is a bound of this figure */
  size_t rounded = total;
  unsigned char *block =
      rt->huge_pages && total >= VM_HUGE_PAGES_FROM ? vm_huge_pages_alloc(&rounded) : aligned_alloc(CPU_ALIGN, total);
  if (!block) return NULL;
  memcpy(block, &total, sizeof total);
  rt->held_bytes += total;
  if (rt->held_bytes > rt->peak_bytes) rt->peak_bytes = rt->held_bytes;
  return block + CPU_HEADER;
}

void cpu_tracked_free(cpu_runtime *rt, void *ptr) {
  if (!ptr) return;
  unsigned char *block = (unsigned char *)ptr - CPU_HEADER;
  size_t total;
  memcpy(&total, block, sizeof total);
  rt->held_bytes -= total;
  free(block);
}

/* Grows *buf to hold `floats` floats (contents not kept: freed first so the peak does not count both buffers). */
static vm_status grow(cpu_runtime *rt, float **buf, size_t *have, size_t floats, vm_error *err) {
  if (*have >= floats) return VM_OK;
  if (floats > SIZE_MAX / sizeof(float) / 2)
    return vm_fail(err, VM_ERR_OUT_OF_MEMORY, "CPU scratch of %zu floats is too large", floats);
  cpu_tracked_free(rt, *buf);
  *buf = NULL;
  *have = 0;
  float *p = cpu_tracked_alloc(rt, floats * sizeof(float));
  if (!p)
    return vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of memory for %zu MiB of CPU scratch", floats * sizeof(float) >> 20);
  *buf = p;
  *have = floats;
  return VM_OK;
}

vm_status cpu_scratch_reserve(cpu_runtime *rt, int count, size_t floats, vm_error *err) {
  if (count > rt->threads) count = rt->threads;
  for (int i = 0; i < count; i++) {
    vm_status st = grow(rt, &rt->scratch[i], &rt->scratch_floats[i], floats, err);
    if (st != VM_OK) return st;
  }
  return VM_OK;
}

vm_status cpu_shared_reserve(cpu_runtime *rt, size_t floats, vm_error *err) {
  return grow(rt, &rt->shared, &rt->shared_floats, floats, err);
}

/* The weight split into panels for the micro-kernels, all threads helping: packing costs one pass over it, less
 * than 1% of the product that follows for the encoder's and decoder's shapes. */
vm_status cpu_shared_pack_b(cpu_runtime *rt, const float *w, int64_t n, int64_t k, cpu_gemm_b *b, vm_error *err) {
  if (!rt->gemm->kernel) {
    *b = (cpu_gemm_b){.data = w, .panel_stride = 0, .ld = k, .kn = 0};
    return VM_OK;
  }
  vm_status st = cpu_shared_reserve(rt, cpu_gemm_packed_b_floats(n, k), err);
  if (st != VM_OK) return st;
  float *dst = rt->shared;
  const int64_t panels = cpu_gemm_panels(n);
  const int team = cpu_team(rt, panels);
#pragma omp parallel for num_threads(team) schedule(static)
  for (int64_t p = 0; p < panels; p++) cpu_gemm_pack_b(w, k, n, k, p, p + 1, dst);
  *b = (cpu_gemm_b){.data = dst, .panel_stride = k * CPU_GEMM_NR, .ld = 0, .kn = 0};
  return VM_OK;
}
