// Window partition (zero padding to whole windows) and unpartition (crop + residual add) of NHWC token grids.
#include "act_types.cuh"
#include "cuda_backend.h"

/* One block-row per output token, threads across the channels in 16-byte units when rows allow it. */
template <typename U>
__global__ void __launch_bounds__(128) partition_kernel(const U *__restrict__ x, U *__restrict__ out, int64_t tokens,
                                                        int h, int w, int ws, int nwy, int nwx, int units) {
  for (int64_t t = blockIdx.x * (int64_t)blockDim.y + threadIdx.y; t < tokens; t += (int64_t)gridDim.x * blockDim.y) {
    int64_t win = t / (ws * ws);
    int r = (int)(t - win * ws * ws);
    int64_t img = win / ((int64_t)nwy * nwx);
    int wi = (int)(win - img * nwy * nwx);
    int y = (wi / nwx) * ws + r / ws, xx = (wi % nwx) * ws + r % ws;
    U *dst = out + t * units;
    if (y < h && xx < w) {
      const U *src = x + ((img * h + y) * (int64_t)w + xx) * units;
      for (int c = threadIdx.x; c < units; c += blockDim.x) dst[c] = src[c];
    } else {
      U zero;
      memset(&zero, 0, sizeof zero);
      for (int c = threadIdx.x; c < units; c += blockDim.x) dst[c] = zero;
    }
  }
}

template <typename T>
__global__ void __launch_bounds__(128) unpartition_kernel(const T *__restrict__ win, const T *residual, T *out,
                                                          int64_t tokens, int h, int w, int ws, int nwy, int nwx,
                                                          int C) {
  for (int64_t t = blockIdx.x * (int64_t)blockDim.y + threadIdx.y; t < tokens; t += (int64_t)gridDim.x * blockDim.y) {
    int64_t img = t / ((int64_t)h * w);
    int r = (int)(t - img * h * w);
    int y = r / w, xx = r % w;
    int64_t wi = img * nwy * nwx + (y / ws) * nwx + xx / ws;
    const T *src = win + ((wi * ws + y % ws) * ws + xx % ws) * (int64_t)C;
    T *dst = out + t * C;
    const T *res = residual ? residual + t * C : NULL;
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
      float v = vm_to_f32<T>(src[c]);
      if (res) v += vm_to_f32<T>(res[c]);
      dst[c] = vm_from_f32<T>(v);
    }
  }
}

static unsigned grid_for_tokens(int64_t tokens, int per_block) {
  int64_t b = (tokens + per_block - 1) / per_block;
  return (unsigned)(b > 2147483647LL ? 2147483647LL : (b < 1 ? 1 : b));
}

vm_status vm_cuda_window_partition(vm_backend *be, const vm_tensor *x, int ws, const vm_tensor *out, vm_error *err) {
  vm_cuda *cu = vm_cuda_of(be);
  VM_TRY(vm_cuda_op_enter(cu, err));
  VM_TRY(vm_cuda_require_act(cu, "window_partition", x, out, NULL, err));
  if (ws <= 0) return vm_fail(err, VM_ERR_INTERNAL, "window_partition: window size %d", ws);
  int64_t nwy = (x->h + ws - 1) / ws, nwx = (x->w + ws - 1) / ws;
  if (out->n != x->n * nwy * nwx || out->h != ws || out->w != ws || out->c != x->c)
    return vm_fail(err, VM_ERR_INTERNAL, "window_partition: output must be [%lld, %d, %d, %lld]",
                   (long long)(x->n * nwy * nwx), ws, ws, (long long)x->c);
  int64_t tokens = vm_tensor_rows(out);
  if (tokens == 0) return VM_OK;
  size_t row_bytes = (size_t)x->c * be->act_size;
  dim3 block(32, 4);
  if (row_bytes % 16 == 0 && ((uintptr_t)x->data % 16) == 0 && ((uintptr_t)out->data % 16) == 0) {
    partition_kernel<uint4><<<grid_for_tokens(tokens, 4), block, 0, cu->stream>>>(
        (const uint4 *)x->data, (uint4 *)out->data, tokens, (int)x->h, (int)x->w, ws, (int)nwy, (int)nwx,
        (int)(row_bytes / 16));
  } else if (be->act_size == 4) {
    partition_kernel<float><<<grid_for_tokens(tokens, 4), block, 0, cu->stream>>>(
        (const float *)x->data, (float *)out->data, tokens, (int)x->h, (int)x->w, ws, (int)nwy, (int)nwx,
        (int)x->c);
  } else {
    partition_kernel<unsigned short><<<grid_for_tokens(tokens, 4), block, 0, cu->stream>>>(
        (const unsigned short *)x->data, (unsigned short *)out->data, tokens, (int)x->h, (int)x->w, ws, (int)nwy,
        (int)nwx, (int)x->c);
  }
  return vm_cuda_launch_check(err, "window_partition");
}

vm_status vm_cuda_window_unpartition(vm_backend *be, const vm_tensor *win, int ws, const vm_tensor *residual,
                                     const vm_tensor *out, vm_error *err) {
  vm_cuda *cu = vm_cuda_of(be);
  VM_TRY(vm_cuda_op_enter(cu, err));
  VM_TRY(vm_cuda_require_act(cu, "window_unpartition", win, residual, out, err));
  if (ws <= 0) return vm_fail(err, VM_ERR_INTERNAL, "window_unpartition: window size %d", ws);
  int64_t nwy = (out->h + ws - 1) / ws, nwx = (out->w + ws - 1) / ws;
  if (win->n != out->n * nwy * nwx || win->h != ws || win->w != ws || win->c != out->c)
    return vm_fail(err, VM_ERR_INTERNAL, "window_unpartition: windows [%lld, %lld, %lld, %lld] do not cover [%lld, "
                   "%lld, %lld]", (long long)win->n, (long long)win->h, (long long)win->w, (long long)win->c,
                   (long long)out->h, (long long)out->w, (long long)out->c);
  if (residual && (vm_tensor_numel(residual) != vm_tensor_numel(out) || residual->c != out->c))
    return vm_fail(err, VM_ERR_INTERNAL, "window_unpartition: residual shape does not match the output");
  int64_t tokens = vm_tensor_rows(out);
  if (tokens == 0) return VM_OK;
  return vm_dispatch(be->precision, [&](auto tag) -> vm_status {
    typedef typename decltype(tag)::type T;
    dim3 block(32, 4);
    unpartition_kernel<T><<<grid_for_tokens(tokens, 4), block, 0, cu->stream>>>(
        (const T *)win->data, residual ? (const T *)residual->data : NULL, (T *)out->data, tokens, (int)out->h,
        (int)out->w, ws, (int)nwy, (int)nwx, (int)out->c);
    return vm_cuda_launch_check(err, "window_unpartition");
  });
}
