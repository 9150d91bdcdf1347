/* The CPU backend: creation, the op table, and host memory (activations and parameters live in plain RAM).
 * The ops themselves (cpu_ops.h) know only the runtime (cpu_runtime.h), never this file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "cpu_blas.h"
#include "cpu_ops.h"
#include "cpu_runtime.h"
#include "error.h"

typedef struct vm_cpu_backend {
  vm_backend base; /* first, so a vm_backend * is a vm_cpu_backend * */
  cpu_runtime rt;
} vm_cpu_backend;

static cpu_runtime *rt_of(vm_backend *be) { return &((vm_cpu_backend *)be)->rt; }

static void cpu_destroy(vm_backend *be) {
  if (!be) return;
  cpu_runtime_release(rt_of(be));
  free(be);
}

static vm_status cpu_alloc(vm_backend *be, size_t bytes, void **out, vm_error *err) {
  *out = cpu_tracked_alloc(rt_of(be), bytes ? bytes : 1);
  if (!*out) return vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of memory allocating %zu MiB on the CPU", bytes >> 20);
  return VM_OK;
}

static void cpu_free(vm_backend *be, void *ptr) { cpu_tracked_free(rt_of(be), ptr); }

static vm_status cpu_param_upload(vm_backend *be, vm_param_kind kind, const float *host, int64_t numel, void **out,
                                  vm_error *err) {
  (void)kind; /* fp32 everywhere: matrices and vectors alike are copied as they are */
  if (numel < 0 || (numel > 0 && !host))
    return vm_fail(err, VM_ERR_INTERNAL, "param_upload: bad parameter (%lld values)", (long long)numel);
  size_t bytes = (size_t)numel * sizeof(float);
  float *p = cpu_tracked_alloc(rt_of(be), bytes ? bytes : 1);
  if (!p) return vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of memory for a parameter of %lld values", (long long)numel);
  if (bytes) memcpy(p, host, bytes);
  *out = p;
  return VM_OK;
}

static vm_status cpu_upload(vm_backend *be, const vm_tensor *dst, const float *src, vm_error *err) {
  (void)be;
  int64_t n = vm_tensor_numel(dst);
  if (n < 0 || (n > 0 && (!dst->data || !src))) return vm_fail(err, VM_ERR_INTERNAL, "upload: bad tensor");
  if (n) memcpy(dst->data, src, (size_t)n * sizeof(float));
  return VM_OK;
}

static vm_status cpu_download(vm_backend *be, const vm_tensor *src, float *dst, vm_error *err) {
  (void)be;
  int64_t n = vm_tensor_numel(src);
  if (n < 0 || (n > 0 && (!src->data || !dst))) return vm_fail(err, VM_ERR_INTERNAL, "download: bad tensor");
  if (n) memcpy(dst, src->data, (size_t)n * sizeof(float));
  return VM_OK;
}

static vm_status cpu_synchronize(vm_backend *be, vm_error *err) {
  (void)be;
  (void)err; /* every op has finished when it returns */
  return VM_OK;
}

static size_t cpu_peak_memory(vm_backend *be) { return rt_of(be)->peak_bytes; }

static size_t table_scratch_estimate(vm_backend *be, const vm_config *cfg, int H, int W) {
  return cpu_scratch_estimate(rt_of(be), cfg, H, W);
}

/* The op table's entries. Ops that call BLAS run with BLAS single-threaded (cpu_blas.h) and the caller's setting
 * restored; BLAS is called only where the CPU has none of our micro-kernels (cpu_gemm.h), so elsewhere OpenBLAS's
 * process-wide setting is left alone (blas_begin returns 1 there: nothing for cpu_blas_single_end to restore). */
static int blas_begin(vm_backend *be) { return rt_of(be)->gemm->kernel ? 1 : cpu_blas_single_begin(); }

static vm_status table_patch_embed(vm_backend *be, const vm_tensor *px, const vm_param *w, const vm_param *b,
                                   int patch, const vm_param *pos, const vm_tensor *out, vm_error *err) {
  int saved = blas_begin(be);
  vm_status st = cpu_patch_embed(rt_of(be), px, w, b, patch, pos, out, err);
  cpu_blas_single_end(saved);
  return st;
}

static vm_status table_layer_norm(vm_backend *be, const vm_tensor *x, const vm_param *gamma, const vm_param *beta,
                                  double eps, vm_act act, const vm_tensor *residual, const vm_tensor *out,
                                  vm_error *err) {
  return cpu_layer_norm(rt_of(be), x, gamma, beta, eps, act, residual, out, err);
}

static vm_status table_linear(vm_backend *be, const vm_tensor *x, const vm_param *w, const vm_param *b, vm_act act,
                              const vm_tensor *residual, const vm_tensor *out, vm_error *err) {
  int saved = blas_begin(be);
  vm_status st = cpu_linear(rt_of(be), x, w, b, act, residual, out, err);
  cpu_blas_single_end(saved);
  return st;
}

static vm_status table_window_partition(vm_backend *be, const vm_tensor *x, int ws, const vm_tensor *out,
                                        vm_error *err) {
  return cpu_window_partition(rt_of(be), x, ws, out, err);
}

static vm_status table_window_unpartition(vm_backend *be, const vm_tensor *win, int ws, const vm_tensor *residual,
                                          const vm_tensor *out, vm_error *err) {
  return cpu_window_unpartition(rt_of(be), win, ws, residual, out, err);
}

static vm_status table_attention(vm_backend *be, const vm_tensor *qkv, int heads, const vm_param *rel_h,
                                 const vm_param *rel_w, const vm_tensor *out, vm_error *err) {
  int saved = blas_begin(be);
  vm_status st = cpu_attention(rt_of(be), qkv, heads, rel_h, rel_w, out, err);
  cpu_blas_single_end(saved);
  return st;
}

static vm_status table_conv2d(vm_backend *be, const vm_tensor *detail, const vm_tensor *low, const vm_param *w,
                              const vm_param *b, int k, int stride, vm_act act, const vm_tensor *out, vm_error *err) {
  int saved = blas_begin(be);
  vm_status st = cpu_conv2d(rt_of(be), detail, low, w, b, k, stride, act, out, err);
  cpu_blas_single_end(saved);
  return st;
}

static const vm_backend_ops cpu_ops = {
  .destroy = cpu_destroy,
  .alloc = cpu_alloc,
  .free = cpu_free,
  .param_upload = cpu_param_upload,
  .param_free = cpu_free,
  .upload = cpu_upload,
  .download = cpu_download,
  .synchronize = cpu_synchronize,
  .patch_embed = table_patch_embed,
  .layer_norm = table_layer_norm,
  .linear = table_linear,
  .window_partition = table_window_partition,
  .window_unpartition = table_window_unpartition,
  .attention = table_attention,
  .conv2d = table_conv2d,
  .forward_begin = NULL,
  .forward_end = NULL,
  .scratch_estimate = table_scratch_estimate,
  .peak_memory = cpu_peak_memory,
  .host_alloc = NULL, /* malloc'd memory is what the CPU path reads anyway */
  .host_free = NULL,
};

vm_status vm_cpu_backend_create(int threads, vm_backend **out, vm_error *err) {
  if (!out) return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "vm_cpu_backend_create: out is NULL");
  *out = NULL;
  vm_cpu_backend *cb = calloc(1, sizeof *cb);
  if (!cb) return vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of memory creating the CPU backend");
  vm_status st = cpu_runtime_init(&cb->rt, threads, err);
  if (st != VM_OK) {
    free(cb);
    return st;
  }
  cb->base.ops = &cpu_ops;
  cb->base.act_size = sizeof(float);
  cb->base.precision = VM_PRECISION_FP32;
  cb->base.device = VM_DEVICE_CPU;
  /* the kernels it runs (cb->rt.gemm->name) stay out of the name, which callers show and tests match */
  snprintf(cb->base.name, sizeof cb->base.name, "CPU, %d thread%s", cb->rt.threads, cb->rt.threads == 1 ? "" : "s");
  *out = &cb->base;
  return VM_OK;
}
