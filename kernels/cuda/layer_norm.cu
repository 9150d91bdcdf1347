// LayerNorm over the channels of each row, with the activation and the residual add fused into the same pass.
#include "act_types.cuh"
#include "cuda_backend.h"

#include <type_traits>

/* Rows up to this many channels keep their values in registers (one warp per row, 32 values per lane). */
#define VM_LN_REG_MAX 1024

/* One warp per row; NV values per lane (C <= 32 NV), so narrow rows do not walk the 32 slots of the widest.
 * Values stay in registers between the mean, the variance and the output, so the row is read
 * once. x, residual and out may alias: each lane reads its elements before it writes them. */
template <typename T, int NV>
__global__ void __launch_bounds__(256) layer_norm_rows(const T *x, const float *__restrict__ gamma,
                                                       const float *__restrict__ beta, float eps, int act,
                                                       const T *residual, T *out, int64_t rows, int C) {
  int lane = threadIdx.x & 31;
  int64_t row = blockIdx.x * (int64_t)(blockDim.x >> 5) + (threadIdx.x >> 5);
  if (row >= rows) return;
  const T *xr = x + row * C;
  float v[NV];
  float sum = 0.f;
#pragma unroll
  for (int i = 0; i < NV; i++) {
    int c = lane + 32 * i;
    v[i] = c < C ? vm_to_f32<T>(xr[c]) : 0.f;
    sum += v[i];
  }
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
  float mean = sum / (float)C;
  float sq = 0.f;
#pragma unroll
  for (int i = 0; i < NV; i++) {
    int c = lane + 32 * i;
    float d = c < C ? v[i] - mean : 0.f;
    sq += d * d;
  }
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) sq += __shfl_xor_sync(0xffffffffu, sq, o);
  float rstd = 1.f / sqrtf(sq / (float)C + eps);
  T *orow = out + row * C;
  const T *rrow = residual ? residual + row * C : NULL;
#pragma unroll
  for (int i = 0; i < NV; i++) {
    int c = lane + 32 * i;
    if (c < C) {
      float y = vm_apply_act((v[i] - mean) * rstd * gamma[c] + beta[c], act);
      if (rrow) y += vm_to_f32<T>(rrow[c]);
      orow[c] = vm_from_f32<T>(y);
    }
  }
}

/* Wide rows: one block per row, statistics in two passes over global memory, then the output pass. */
template <typename T>
__global__ void __launch_bounds__(256) layer_norm_wide(const T *x, const float *__restrict__ gamma,
                                                       const float *__restrict__ beta, float eps, int act,
                                                       const T *residual, T *out, int C) {
  __shared__ float red[32];
  __shared__ float stat;
  int64_t row = blockIdx.x;
  const T *xr = x + row * C;
  float s = 0.f;
  for (int c = threadIdx.x; c < C; c += blockDim.x) s += vm_to_f32<T>(xr[c]);
  for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
  if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = s;
  __syncthreads();
  if (threadIdx.x == 0) {
    float t = 0.f;
    for (int i = 0; i < (int)(blockDim.x >> 5); i++) t += red[i];
    stat = t / (float)C;
  }
  __syncthreads();
  float mean = stat;
  __syncthreads();
  s = 0.f;
  for (int c = threadIdx.x; c < C; c += blockDim.x) {
    float d = vm_to_f32<T>(xr[c]) - mean;
    s += d * d;
  }
  for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
  if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = s;
  __syncthreads();
  if (threadIdx.x == 0) {
    float t = 0.f;
    for (int i = 0; i < (int)(blockDim.x >> 5); i++) t += red[i];
    stat = 1.f / sqrtf(t / (float)C + eps);
  }
  __syncthreads();
  float rstd = stat;
  T *orow = out + row * C;
  const T *rrow = residual ? residual + row * C : NULL;
  for (int c = threadIdx.x; c < C; c += blockDim.x) {
    float y = vm_apply_act((vm_to_f32<T>(xr[c]) - mean) * rstd * gamma[c] + beta[c], act);
    if (rrow) y += vm_to_f32<T>(rrow[c]);
    orow[c] = vm_from_f32<T>(y);
  }
}

vm_status vm_cuda_layer_norm(vm_backend *be, const vm_tensor *x, const vm_param *gamma, const vm_param *beta,
                             double eps, vm_act act, const vm_tensor *residual, const vm_tensor *out, vm_error *err) {
  vm_cuda *cu = vm_cuda_of(be);
  VM_TRY(vm_cuda_op_enter(cu, err));
  VM_TRY(vm_cuda_require_act(cu, "layer_norm", x, residual, out, err));
  int64_t rows = vm_tensor_rows(x);
  int64_t C = x->c;
  if (vm_tensor_numel(out) != rows * C || out->c != C)
    return vm_fail(err, VM_ERR_INTERNAL, "layer_norm: output shape does not match the input");
  if (residual && (vm_tensor_rows(residual) != rows || residual->c != C))
    return vm_fail(err, VM_ERR_INTERNAL, "layer_norm: residual shape does not match the input");
  if (!gamma || !gamma->data || !beta || !beta->data || gamma->numel != C || beta->numel != C)
    return vm_fail(err, VM_ERR_INTERNAL, "layer_norm: gamma/beta must hold %lld values", (long long)C);
  if (rows == 0) return VM_OK;
  return vm_dispatch(be->precision, [&](auto tag) -> vm_status {
    typedef typename decltype(tag)::type T;
    const T *res = residual ? (const T *)residual->data : NULL;
    if (C <= VM_LN_REG_MAX) {
      int64_t blocks = (rows + 7) / 8;
      auto run = [&](auto nv) {
        layer_norm_rows<T, decltype(nv)::value><<<(unsigned)blocks, 256, 0, cu->stream>>>(
            (const T *)x->data, (const float *)gamma->data, (const float *)beta->data, (float)eps, (int)act, res,
            (T *)out->data, rows, (int)C);
      };
      if (C <= 128) run(std::integral_constant<int, 4>{});
      else if (C <= 256) run(std::integral_constant<int, 8>{});
      else if (C <= 384) run(std::integral_constant<int, 12>{});
      else if (C <= 512) run(std::integral_constant<int, 16>{});
      else if (C <= 768) run(std::integral_constant<int, 24>{});
      else run(std::integral_constant<int, VM_LN_REG_MAX / 32>{});
    } else {
      if (rows > 0x7fffffffLL) return vm_fail(err, VM_ERR_UNSUPPORTED, "layer_norm: too many rows");
      layer_norm_wide<T><<<(unsigned)rows, 256, 0, cu->stream>>>((const T *)x->data, (const float *)gamma->data,
                                                                 (const float *)beta->data, (float)eps, (int)act, res,
                                                                 (T *)out->data, (int)C);
    }
    return vm_cuda_launch_check(err, "layer_norm");
  });
}
