/* cpu_runtime.h - what every CPU op shares: the thread team, per-thread scratch and counted host memory.
 * Owns: cpu_runtime. The ops (cpu_ops.h) take one; the backend (cpu_backend.c) owns one and calls the ops. */
#ifndef VM_CPU_RUNTIME_H
#define VM_CPU_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "cpu_gemm.h"
#include "vitmatte.h"

typedef struct cpu_runtime {
  int threads;
  const cpu_gemm_isa *gemm; /* the micro-kernels (or BLAS) this CPU runs */
  int winograd;             /* 3x3 stride-1 convolutions by Winograd's F(2x2, 3x3) (not with BLAS) */
  int huge_pages;           /* large blocks in 2 MiB pages, advised for transparent huge pages (huge_pages.h) */

  /* Bytes held now (arena, parameters, scratch) and the most ever held at once. */
  size_t held_bytes;
  size_t peak_bytes;

  /* One scratch buffer per thread, grown (never shrunk) when an op needs more; index = omp_get_thread_num(). */
  float **scratch;
  size_t *scratch_floats;

  /* One buffer all threads of an op read (e.g. a packed weight matrix), grown like the scratch buffers. */
  float *shared;
  size_t shared_floats;
} cpu_runtime;

/* threads <= 0: all cores (capped at a few per core). Fails only when out of memory. */
vm_status cpu_runtime_init(cpu_runtime *rt, int threads, vm_error *err);
void cpu_runtime_release(cpu_runtime *rt);

/* 64-byte aligned host memory counted in held_bytes/peak_bytes (the bytes asked for and a 64-byte header); with
 * huge_pages, blocks of 4 MiB or more are whole 2 MiB pages, 2 MiB aligned and advised for transparent huge pages
 * (huge_pages.h; the rounding is not counted). cpu_tracked_free(NULL) does nothing. */
void *cpu_tracked_alloc(cpu_runtime *rt, size_t bytes);
void cpu_tracked_free(cpu_runtime *rt, void *ptr);

/* Threads for a parallel loop of `tasks` tasks: never more than there are tasks, so that every thread that runs
 * has a scratch buffer reserved for it (thread ids are < the team size). */
static inline int cpu_team(const cpu_runtime *rt, int64_t tasks) {
  return tasks < rt->threads ? (int)(tasks > 0 ? tasks : 1) : rt->threads;
}

/* Makes scratch buffers 0..count-1 hold at least `floats` floats each. Call before a parallel region, never
 * inside one. count is clamped to the thread count. */
vm_status cpu_scratch_reserve(cpu_runtime *rt, int count, size_t floats, vm_error *err);

/* Makes the shared buffer hold at least `floats` floats (outside parallel regions). */
vm_status cpu_shared_reserve(cpu_runtime *rt, size_t floats, vm_error *err);

/* Packs B [n, k] (row-major, e.g. a weight) for rt->gemm's micro-kernels into the shared buffer, all threads helping,
 * and describes it in *b (for BLAS: B itself, not copied). */
vm_status cpu_shared_pack_b(cpu_runtime *rt, const float *w, int64_t n, int64_t k, cpu_gemm_b *b, vm_error *err);

#endif
