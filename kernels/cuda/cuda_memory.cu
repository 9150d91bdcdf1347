// Device memory of the CUDA backend: accounted allocations, parameters, growing scratch, host <-> device copies.
#include <stdlib.h>
#include <string.h>

#include "act_types.cuh"
#include "cuda_backend.h"


static double mib(size_t bytes) { return (double)bytes / (1024.0 * 1024.0); }

vm_status vm_cuda_malloc(vm_cuda *cu, size_t bytes, const char *what, void **out, vm_error *err) {
  *out = NULL;
  (void)cudaSetDevice(cu->device);
  if (bytes == 0) bytes = 256;
  if (cu->nblocks == cu->cap_blocks) {
    int cap = cu->cap_blocks ? cu->cap_blocks * 2 : 512;
    vm_cuda_block *b = (vm_cuda_block *)realloc(cu->blocks, (size_t)cap * sizeof *b);
    if (!b) return vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of host memory for the CUDA allocation table");
    cu->blocks = b;
    cu->cap_blocks = cap;
  }
  void *p = NULL;
  cudaError_t e = cudaMalloc(&p, bytes);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    size_t free_b = 0, total_b = 0;
    (void)cudaMemGetInfo(&free_b, &total_b);
    if (e == cudaErrorMemoryAllocation)
      return vm_fail(err, VM_ERR_DEVICE_OUT_OF_MEMORY,
                     "not enough GPU memory: %s needs %.1f MiB more, but only %.1f MiB of %.1f MiB are free "
                     "(this context already holds %.1f MiB)",
                     what, mib(bytes), mib(free_b), mib(total_b), mib(cu->in_use));
    return vm_cuda_rt_fail(err, e, what);
  }
  cu->blocks[cu->nblocks].ptr = p;
  cu->blocks[cu->nblocks].size = bytes;
  cu->nblocks++;
  cu->in_use += bytes;
  if (cu->in_use > cu->peak) cu->peak = cu->in_use;
  *out = p;
  return VM_OK;
}

void vm_cuda_release(vm_cuda *cu, void *ptr) {
  if (!ptr) return;
  for (int i = 0; i < cu->nblocks; i++) {
    if (cu->blocks[i].ptr == ptr) {
      cu->in_use -= cu->blocks[i].size;
      cu->blocks[i] = cu->blocks[--cu->nblocks];
      break;
    }
  }
  (void)cudaFree(ptr);
}

vm_status vm_cuda_scratch_reserve(vm_cuda *cu, vm_cuda_scratch *s, size_t bytes, const char *what, vm_error *err) {
  if (s->size >= bytes && s->ptr) return VM_OK;
  bytes = (bytes + 4095) & ~(size_t)4095;
  if (s->ptr) {
    if (vm_cuda_capturing(cu)) {
      /* The captured graph may already use the old buffer: keep it until the capture has ended. */
      if (cu->ndeferred == (int)(sizeof cu->deferred / sizeof cu->deferred[0]))
        return vm_fail(err, VM_ERR_INTERNAL, "too many scratch buffers replaced during one captured pass");
      cu->deferred[cu->ndeferred] = s->ptr;
      cu->deferred_size[cu->ndeferred] = s->size;
      cu->ndeferred++;
    } else {
      (void)cudaStreamSynchronize(cu->stream);
      vm_cuda_release(cu, s->ptr);
      /* Graphs recorded earlier point into the old buffer. */
      vm_cuda_graphs_invalidate(cu);
    }
    s->ptr = NULL;
    s->size = 0;
  }
  VM_TRY(vm_cuda_malloc(cu, bytes, what, &s->ptr, err));
  s->size = bytes;
  return VM_OK;
}

void vm_cuda_scratch_release(vm_cuda *cu, vm_cuda_scratch *s) {
  vm_cuda_release(cu, s->ptr);
  s->ptr = NULL;
  s->size = 0;
}

/* ---- conversion kernels ---- */

template <typename T> __global__ void f32_to_act(const float *__restrict__ src, T *__restrict__ dst, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    dst[i] = vm_from_f32<T>(src[i]);
}

template <typename T> __global__ void act_to_f32(const T *__restrict__ src, float *__restrict__ dst, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    dst[i] = vm_to_f32<T>(src[i]);
}

static vm_status convert_to_act(vm_cuda *cu, cudaStream_t st, const float *src, void *dst, int64_t n, vm_error *err) {
  return vm_dispatch(cu->base.precision, [&](auto tag) -> vm_status {
    typedef typename decltype(tag)::type T;
    f32_to_act<T><<<vm_grid_for(n, 256), 256, 0, st>>>(src, (T *)dst, n);
    return vm_cuda_launch_check(err, "f32 -> activation conversion");
  });
}

/* Host f32 -> device activation type through the staging buffer, on stream `st`. */
static vm_status host_to_act(vm_cuda *cu, cudaStream_t st, void *dst, const float *host, int64_t numel,
                             vm_error *err, bool dst_f32 = false) {
  if (cu->base.act_size == 4 || dst_f32) {
    VM_CU(cudaMemcpyAsync(dst, host, (size_t)numel * 4, cudaMemcpyHostToDevice, st), "copy to the GPU");
    return VM_OK;
  }
  int64_t chunk = numel < VM_CUDA_STAGING_FLOATS ? numel : VM_CUDA_STAGING_FLOATS;
  VM_TRY(vm_cuda_scratch_reserve(cu, &cu->staging, (size_t)chunk * 4, "the upload staging buffer", err));
  for (int64_t off = 0; off < numel; off += chunk) {
    int64_t n = numel - off < chunk ? numel - off : chunk;
    /* Stream order keeps this copy behind the conversion that still reads the staging buffer. */
    VM_CU(cudaMemcpyAsync(cu->staging.ptr, host + off, (size_t)n * 4, cudaMemcpyHostToDevice, st), "copy to the GPU");
    VM_TRY(convert_to_act(cu, st, (const float *)cu->staging.ptr, (char *)dst + off * (int64_t)cu->base.act_size, n,
                          err));
  }
  return VM_OK;
}

/* ---- the op table's memory entries ---- */

vm_status vm_cuda_alloc(vm_backend *be, size_t bytes, void **out, vm_error *err) {
  return vm_cuda_malloc(vm_cuda_of(be), bytes, "the activation arena", out, err);
}

void vm_cuda_free(vm_backend *be, void *ptr) {
  vm_cuda *cu = vm_cuda_of(be);
  (void)cudaSetDevice(cu->device);
  if (!ptr) return;
  (void)cudaStreamSynchronize(cu->stream);
  vm_cuda_graphs_invalidate(cu);
  vm_cuda_release(cu, ptr);
}

vm_status vm_cuda_param_upload(vm_backend *be, vm_param_kind kind, const float *host, int64_t numel, void **out,
                               vm_error *err) {
  vm_cuda *cu = vm_cuda_of(be);
  *out = NULL;
  if (!host || numel <= 0) return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "param_upload: no data");
  if (vm_cuda_capturing(cu))
    return vm_fail(err, VM_ERR_INTERNAL, "param_upload called inside a recorded forward pass");
  void *p = NULL;
  if (kind == VM_PARAM_MATRIX) {
    VM_TRY(vm_cuda_malloc(cu, (size_t)numel * cu->base.act_size, "the model weights", &p, err));
    vm_status st = host_to_act(cu, cu->stream, p, host, numel, err);
    if (st != VM_OK) {
      vm_cuda_release(cu, p);
      return st;
    }
  } else {
    /* f32 values, and in fp16/bf16 a copy in the activation type right after them (cuBLASLt and cuDNN take their
     * bias in the output type). */
    size_t bytes = cu->base.act_size == 4 ? (size_t)numel * 4
                                          : vm_cuda_shadow_offset(numel) + (size_t)numel * cu->base.act_size;
    VM_TRY(vm_cuda_malloc(cu, bytes, "the model parameters", &p, err));
    cudaError_t e = cudaMemcpyAsync(p, host, (size_t)numel * 4, cudaMemcpyHostToDevice, cu->stream);
    if (e != cudaSuccess) {
      vm_cuda_release(cu, p);
      return vm_cuda_rt_fail(err, e, "param_upload");
    }
    if (cu->base.act_size != 4) {
      vm_status st = convert_to_act(cu, cu->stream, (const float *)p, (char *)p + vm_cuda_shadow_offset(numel), numel,
                                    err);
      if (st != VM_OK) {
        vm_cuda_release(cu, p);
        return st;
      }
    }
  }
  /* Weights upload once per model: wait here so a failure is reported by this call. */
  cudaError_t e = cudaStreamSynchronize(cu->stream);
  if (e != cudaSuccess) {
    vm_cuda_release(cu, p);
    return vm_cuda_rt_fail(err, e, "param_upload");
  }
  *out = p;
  return VM_OK;
}

void vm_cuda_param_free(vm_backend *be, void *ptr) {
  vm_cuda *cu = vm_cuda_of(be);
  (void)cudaSetDevice(cu->device);
  if (!ptr) return;
  (void)cudaStreamSynchronize(cu->stream);
  vm_cuda_graphs_invalidate(cu);
  for (int i = 0; i < VM_CUDA_PADDED; i++) {
    if (cu->padded[i].data && cu->padded[i].src == ptr) {
      vm_cuda_release(cu, cu->padded[i].data);
      memset(&cu->padded[i], 0, sizeof cu->padded[i]);
    }
  }
  vm_cuda_release(cu, ptr);
}

vm_status vm_cuda_upload(vm_backend *be, const vm_tensor *dst, const float *src, vm_error *err) {
  vm_cuda *cu = vm_cuda_of(be);
  (void)cudaSetDevice(cu->device);
  int64_t n = vm_tensor_numel(dst);
  if (n == 0) return VM_OK;
  if (!dst->data || !src) return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "upload: NULL buffer");
  if (vm_cuda_capturing(cu)) {
    /* The main stream is recording, not running: copy now on the side stream, before the graph is launched. */
    VM_TRY(host_to_act(cu, cu->side, dst->data, src, n, err, dst->elem == VM_ELEM_F32));
    VM_CU(cudaStreamSynchronize(cu->side), "upload");
    return VM_OK;
  }
  return host_to_act(cu, cu->stream, dst->data, src, n, err, dst->elem == VM_ELEM_F32);
}

vm_status vm_cuda_download(vm_backend *be, const vm_tensor *src, float *dst, vm_error *err) {
  vm_cuda *cu = vm_cuda_of(be);
  (void)cudaSetDevice(cu->device);
  int64_t numel = vm_tensor_numel(src);
  VM_TRY(vm_cuda_pass_flush(cu, err));
  if (numel == 0) return vm_cuda_synchronize(be, err);
  if (!src->data || !dst) return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "download: NULL buffer");
  if (cu->base.act_size == 4 || src->elem == VM_ELEM_F32) {
    VM_CU(cudaMemcpyAsync(dst, src->data, (size_t)numel * 4, cudaMemcpyDeviceToHost, cu->stream), "copy from the GPU");
    VM_CU(cudaStreamSynchronize(cu->stream), "copy from the GPU");
    return VM_OK;
  }
  int64_t chunk = numel < VM_CUDA_STAGING_FLOATS ? numel : VM_CUDA_STAGING_FLOATS;
  VM_TRY(vm_cuda_scratch_reserve(cu, &cu->staging, (size_t)chunk * 4, "the download staging buffer", err));
  for (int64_t off = 0; off < numel; off += chunk) {
    int64_t n = numel - off < chunk ? numel - off : chunk;
    vm_status st = vm_dispatch(cu->base.precision, [&](auto tag) -> vm_status {
      typedef typename decltype(tag)::type T;
      act_to_f32<T><<<vm_grid_for(n, 256), 256, 0, cu->stream>>>((const T *)src->data + off, (float *)cu->staging.ptr,
                                                                  n);
      return vm_cuda_launch_check(err, "activation -> f32 conversion");
    });
    VM_TRY(st);
    VM_CU(cudaMemcpyAsync(dst + off, cu->staging.ptr, (size_t)n * 4, cudaMemcpyDeviceToHost, cu->stream),
          "copy from the GPU");
    VM_CU(cudaStreamSynchronize(cu->stream), "copy from the GPU");
  }
  return VM_OK;
}

vm_status vm_cuda_synchronize(vm_backend *be, vm_error *err) {
  vm_cuda *cu = vm_cuda_of(be);
  (void)cudaSetDevice(cu->device);
  VM_TRY(vm_cuda_pass_flush(cu, err));
  VM_CU(cudaStreamSynchronize(cu->stream), "synchronize");
  return VM_OK;
}

size_t vm_cuda_peak_memory(vm_backend *be) { return vm_cuda_of(be)->peak; }

vm_status vm_cuda_memory_info(vm_backend *be, size_t *free_bytes, size_t *total_bytes, size_t *held_bytes,
                              vm_error *err) {
  vm_cuda *cu = vm_cuda_of(be);
  VM_CU(cudaSetDevice(cu->device), "cudaSetDevice");
  VM_CU(cudaMemGetInfo(free_bytes, total_bytes), "cudaMemGetInfo");
  *held_bytes = cu->in_use;
  return VM_OK;
}

vm_status vm_cuda_host_alloc(vm_backend *be, size_t bytes, void **out, vm_error *err) {
  vm_cuda *cu = vm_cuda_of(be);
  (void)cudaSetDevice(cu->device);
  *out = NULL;
  cudaError_t e = cudaHostAlloc(out, bytes ? bytes : 1, cudaHostAllocDefault);
  if (e != cudaSuccess) {
    *out = NULL;
    (void)cudaGetLastError();
    return vm_cuda_rt_fail(err, e, "page-locked host memory");
  }
  return VM_OK;
}

void vm_cuda_host_free(vm_backend *be, void *ptr) {
  (void)cudaSetDevice(vm_cuda_of(be)->device);
  if (ptr) (void)cudaFreeHost(ptr);
}
