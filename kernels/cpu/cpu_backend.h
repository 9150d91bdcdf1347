/* cpu_backend.h - the CPU backend's state, shared by its op files.
 * Owns: vm_cpu_backend (thread count, memory accounting, per-thread scratch) and the declarations of its ops. */
#ifndef VM_CPU_BACKEND_H
#define VM_CPU_BACKEND_H

#include <stddef.h>

#include "backend.h"

typedef struct vm_cpu_backend {
  vm_backend base; /* first, so a vm_backend * is a vm_cpu_backend * */
  int threads;

  /* Bytes held now (arena, parameters, scratch) and the most ever held at once. */
  size_t held_bytes;
  size_t peak_bytes;

  /* One scratch buffer per thread, grown (never shrunk) when an op needs more; index = omp_get_thread_num(). */
  float **scratch;
  size_t *scratch_floats;
} vm_cpu_backend;

static inline vm_cpu_backend *cpu_backend_of(vm_backend *be) { return (vm_cpu_backend *)be; }

/* ---- memory (cpu_memory.c) ---- */

/* 64-byte aligned host memory counted in held_bytes/peak_bytes; cpu_tracked_free(NULL) does nothing. */
void *cpu_tracked_alloc(vm_cpu_backend *cb, size_t bytes);
void cpu_tracked_free(vm_cpu_backend *cb, void *ptr);

/* Threads for a parallel loop of `tasks` tasks: never more than there are tasks, so that every thread that runs
 * has a scratch buffer reserved for it (thread ids are < the team size). */
static inline int cpu_team(const vm_cpu_backend *cb, int64_t tasks) {
  return tasks < cb->threads ? (int)(tasks > 0 ? tasks : 1) : cb->threads;
}

/* Makes scratch buffers 0..count-1 hold at least `floats` floats each. Call before a parallel region, never
 * inside one. count is clamped to the thread count. */
vm_status cpu_scratch_reserve(vm_cpu_backend *cb, int count, size_t floats, vm_error *err);
void cpu_scratch_release(vm_cpu_backend *cb);

/* ---- ops (one file each) ---- */

vm_status cpu_patch_embed(vm_backend *be, const vm_tensor *px, const vm_param *w, const vm_param *b, int patch,
                          const vm_param *pos, const vm_tensor *out, vm_error *err);
vm_status cpu_layer_norm(vm_backend *be, const vm_tensor *x, const vm_param *gamma, const vm_param *beta,
                         double eps, vm_act act, const vm_tensor *residual, const vm_tensor *out, vm_error *err);
vm_status cpu_linear(vm_backend *be, const vm_tensor *x, const vm_param *w, const vm_param *b, vm_act act,
                     const vm_tensor *residual, const vm_tensor *out, vm_error *err);
vm_status cpu_window_partition(vm_backend *be, const vm_tensor *x, int ws, const vm_tensor *out, vm_error *err);
vm_status cpu_window_unpartition(vm_backend *be, const vm_tensor *win, int ws, const vm_tensor *residual,
                                 const vm_tensor *out, vm_error *err);
vm_status cpu_attention(vm_backend *be, const vm_tensor *qkv, int heads, const vm_param *rel_h,
                        const vm_param *rel_w, const vm_tensor *out, vm_error *err);
vm_status cpu_conv2d(vm_backend *be, const vm_tensor *detail, const vm_tensor *low, const vm_param *w,
                     const vm_param *b, int k, int stride, vm_act act, const vm_tensor *out, vm_error *err);

/* ---- scratch sizes (per thread, in floats), shared by the ops and scratch_estimate ---- */

size_t cpu_patch_embed_scratch(int64_t out_w, int64_t k_len);
size_t cpu_linear_scratch(int64_t n_out); /* only when residual aliases out */
size_t cpu_attention_scratch(int64_t tokens, int64_t head_dim, int64_t hh, int64_t ww);
size_t cpu_conv2d_scratch(int64_t in_h, int64_t in_w, int64_t c_in, int64_t out_w, int k, int stride);

size_t cpu_scratch_estimate(vm_backend *be, const vm_config *cfg, int H, int W);

#endif
