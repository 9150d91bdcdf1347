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

/* ---- scratch sizes (per thread, in floats), shared by the ops and cpu_scratch_estimate ---- */

size_t cpu_patch_embed_scratch(const cpu_gemm_isa *isa, int64_t grid_w, int64_t c, int64_t k_len, int patch);
size_t cpu_linear_scratch(int64_t n_out); /* only when residual aliases out */
size_t cpu_attention_scratch(const cpu_gemm_isa *isa, int64_t tokens, int64_t head_dim, int64_t hh, int64_t ww);
/* and of the shared buffer (one for all threads) */
size_t cpu_attention_shared(const cpu_gemm_isa *isa, int64_t tokens, int64_t head_dim, int64_t hh, int64_t ww);
size_t cpu_conv2d_scratch(const cpu_gemm_isa *isa, int64_t in_h, int64_t in_w, int64_t c_in, int64_t out_w,
                          int64_t c_out, int k, int stride);

/* Bytes of scratch (all threads) a forward pass at padded H x W will hold. */
size_t cpu_scratch_estimate(const cpu_runtime *rt, const vm_config *cfg, int H, int W);

#endif
