/* The CPU backend: creation, the op table, and host memory (activations and parameters live in plain RAM). */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_backend.h"
#include "cpu_blas.h"
#include "error.h"

static void cpu_destroy(vm_backend *be) {
  if (!be) return;
  vm_cpu_backend *cb = cpu_backend_of(be);
  cpu_scratch_release(cb);
  free(cb->scratch);
  free(cb->scratch_floats);
  free(cb);
}

static vm_status cpu_alloc(vm_backend *be, size_t bytes, void **out, vm_error *err) {
  *out = cpu_tracked_alloc(cpu_backend_of(be), bytes ? bytes : 1);
  if (!*out) return vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of memory allocating %zu MiB on the CPU", bytes >> 20);
  return VM_OK;
}

static void cpu_free(vm_backend *be, void *ptr) { cpu_tracked_free(cpu_backend_of(be), ptr); }

static vm_status cpu_param_upload(vm_backend *be, vm_param_kind kind, const float *host, int64_t numel, void **out,
                                  vm_error *err) {
  (void)kind; /* fp32 everywhere: matrices and vectors alike are copied as they are */
  if (numel < 0 || (numel > 0 && !host))
    return vm_fail(err, VM_ERR_INTERNAL, "param_upload: bad parameter (%lld values)", (long long)numel);
  size_t bytes = (size_t)numel * sizeof(float);
  float *p = cpu_tracked_alloc(cpu_backend_of(be), bytes ? bytes : 1);
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

static size_t cpu_peak_memory(vm_backend *be) { return cpu_backend_of(be)->peak_bytes; }

/* The ops that call BLAS, each run with BLAS single-threaded (cpu_blas.h) and the caller's setting restored. */
static vm_status blas_patch_embed(vm_backend *be, const vm_tensor *px, const vm_param *w, const vm_param *b,
                                  int patch, const vm_param *pos, const vm_tensor *out, vm_error *err) {
  int saved = cpu_blas_single_begin();
  vm_status st = cpu_patch_embed(be, px, w, b, patch, pos, out, err);
  cpu_blas_single_end(saved);
  return st;
}

static vm_status blas_linear(vm_backend *be, const vm_tensor *x, const vm_param *w, const vm_param *b, vm_act act,
                             const vm_tensor *residual, const vm_tensor *out, vm_error *err) {
  int saved = cpu_blas_single_begin();
  vm_status st = cpu_linear(be, x, w, b, act, residual, out, err);
  cpu_blas_single_end(saved);
  return st;
}

static vm_status blas_attention(vm_backend *be, const vm_tensor *qkv, int heads, const vm_param *rel_h,
                                const vm_param *rel_w, const vm_tensor *out, vm_error *err) {
  int saved = cpu_blas_single_begin();
  vm_status st = cpu_attention(be, qkv, heads, rel_h, rel_w, out, err);
  cpu_blas_single_end(saved);
  return st;
}

static vm_status blas_conv2d(vm_backend *be, const vm_tensor *detail, const vm_tensor *low, const vm_param *w,
                             const vm_param *b, int k, int stride, vm_act act, const vm_tensor *out, vm_error *err) {
  int saved = cpu_blas_single_begin();
  vm_status st = cpu_conv2d(be, detail, low, w, b, k, stride, act, out, err);
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
  .patch_embed = blas_patch_embed,
  .layer_norm = cpu_layer_norm,
  .linear = blas_linear,
  .window_partition = cpu_window_partition,
  .window_unpartition = cpu_window_unpartition,
  .attention = blas_attention,
  .conv2d = blas_conv2d,
  .forward_begin = NULL,
  .forward_end = NULL,
  .scratch_estimate = cpu_scratch_estimate,
  .peak_memory = cpu_peak_memory,
  .host_alloc = NULL, /* malloc'd memory is what the CPU path reads anyway */
  .host_free = NULL,
};

vm_status vm_cpu_backend_create(int threads, vm_backend **out, vm_error *err) {
  if (!out) return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "vm_cpu_backend_create: out is NULL");
  *out = NULL;
  /* More threads than a few per core only add scheduling cost (and a per-thread scratch each). */
  const int most = vm_cpu_thread_limit();
  if (threads <= 0) threads = omp_get_num_procs();
  if (threads > most) threads = most;
  if (threads < 1) threads = 1;
  vm_cpu_backend *cb = calloc(1, sizeof *cb);
  if (cb) {
    cb->scratch = calloc((size_t)threads, sizeof *cb->scratch);
    cb->scratch_floats = calloc((size_t)threads, sizeof *cb->scratch_floats);
  }
  if (!cb || !cb->scratch || !cb->scratch_floats) {
    if (cb) {
      free(cb->scratch);
      free(cb->scratch_floats);
    }
    free(cb);
    return vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of memory creating the CPU backend");
  }
  cb->threads = threads;
  cb->base.ops = &cpu_ops;
  cb->base.act_size = sizeof(float);
  cb->base.precision = VM_PRECISION_FP32;
  cb->base.device = VM_DEVICE_CPU;
  snprintf(cb->base.name, sizeof cb->base.name, "CPU, %d thread%s", threads, threads == 1 ? "" : "s");
  *out = &cb->base;
  return VM_OK;
}
