/* cpu_ops.h - the CPU backend's ops, one file each, and the scratch each needs.
 * Owns: the op declarations; each takes the shared runtime (cpu_runtime.h), and cpu_backend.c puts them in the op
 * table. The contracts are those of backend.h. */
#ifndef VM_CPU_OPS_H
#define VM_CPU_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "config.h"
#include "cpu_runtime.h"

vm_status cpu_patch_embed(cpu_runtime *rt, const vm_tensor *px, const vm_param *w, const vm_param *b, int patch,
                          const vm_param *pos, const vm_tensor *out, vm_error *err);
vm_status cpu_layer_norm(cpu_runtime *rt, const vm_tensor *x, const vm_param *gamma, const vm_param *beta,
                         double eps, vm_act act, const vm_tensor *residual, const vm_tensor *out, vm_error *err);
vm_status cpu_linear(cpu_runtime *rt, const vm_tensor *x, const vm_param *w, const vm_param *b, vm_act act,
                     const vm_tensor *residual, const vm_tensor *out, vm_error *err);
vm_status cpu_window_partition(cpu_runtime *rt, const vm_tensor *x, int ws, const vm_tensor *out, vm_error *err);
vm_status cpu_window_unpartition(cpu_runtime *rt, const vm_tensor *win, int ws, const vm_tensor *residual,
                                 const vm_tensor *out, vm_error *err);
vm_status cpu_attention(cpu_runtime *rt, const vm_tensor *qkv, int heads, const vm_param *rel_h,
                        const vm_param *rel_w, const vm_tensor *out, vm_error *err);
vm_status cpu_conv2d(cpu_runtime *rt, const vm_tensor *detail, const vm_tensor *low, const vm_param *w,
                     const vm_param *b, int k, int stride, vm_act act, const vm_tensor *out, vm_error *err);

/* ---- scratch each op holds (in floats): per thread, and in the shared buffer (packed weights, keys, values) ---- */

typedef struct cpu_need {
  size_t per_thread, shared;
} cpu_need;

cpu_need cpu_patch_embed_need(const cpu_runtime *rt, int64_t grid_w, int64_t c, int64_t k_len, int patch);
cpu_need cpu_linear_need(const cpu_runtime *rt, int64_t k, int64_t n);
cpu_need cpu_attention_need(const cpu_runtime *rt, int64_t tokens, int64_t head_dim, int64_t hh, int64_t ww);
/* k x k, stride s over an h x w input of cin channels (detail and upsampled low together) */
cpu_need cpu_conv2d_need(const cpu_runtime *rt, int64_t h, int64_t w, int64_t cin, int64_t cout, int k, int stride);

/* Bytes of scratch (all threads, and shared) a forward pass at padded H x W will hold. */
size_t cpu_scratch_estimate(const cpu_runtime *rt, const vm_config *cfg, int H, int W);

#endif
