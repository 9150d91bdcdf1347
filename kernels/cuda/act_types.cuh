/* act_types.cuh - the three activation element types (float, __half, __nv_bfloat16) as kernels see them.
 * Owns: f32 <-> element conversions, the activation functions, and dispatching a host call on the precision. */
#ifndef VM_ACT_TYPES_CUH
#define VM_ACT_TYPES_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <type_traits>

extern "C" {
#include "backend.h"
}

template <typename T> __device__ __forceinline__ float vm_to_f32(T v);
template <> __device__ __forceinline__ float vm_to_f32<float>(float v) { return v; }
template <> __device__ __forceinline__ float vm_to_f32<__half>(__half v) { return __half2float(v); }
template <> __device__ __forceinline__ float vm_to_f32<__nv_bfloat16>(__nv_bfloat16 v) { return __bfloat162float(v); }

template <typename T> __device__ __forceinline__ T vm_from_f32(float v);
template <> __device__ __forceinline__ float vm_from_f32<float>(float v) { return v; }
template <> __device__ __forceinline__ __half vm_from_f32<__half>(float v) { return __float2half_rn(v); }
template <> __device__ __forceinline__ __nv_bfloat16 vm_from_f32<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}

/* The activations of backend.h; GELU is the exact erf form transformers uses. */
__device__ __forceinline__ float vm_apply_act(float x, int act) {
  switch (act) {
  case VM_ACT_RELU: return x > 0.f ? x : 0.f;
  case VM_ACT_GELU: return 0.5f * x * (1.f + erff(x * 0.70710678118654752f));
  case VM_ACT_SIGMOID: return 1.f / (1.f + expf(-x));
  default: return x;
  }
}

template <typename T> struct vm_type_tag { typedef T type; };

/* Calls fn(vm_type_tag<T>{}) with T the activation type of `precision`. */
template <typename Fn> static inline auto vm_dispatch(vm_precision precision, Fn &&fn) -> decltype(fn(vm_type_tag<float>{})) {
  switch (precision) {
  case VM_PRECISION_FP16: return fn(vm_type_tag<__half>{});
  case VM_PRECISION_BF16: return fn(vm_type_tag<__nv_bfloat16>{});
  default: return fn(vm_type_tag<float>{});
  }
}

/* cudaDataType_t / cuDNN data type of an activation element. */
static inline cudaDataType_t vm_cuda_data_type(vm_precision p) {
  return p == VM_PRECISION_FP16 ? CUDA_R_16F : p == VM_PRECISION_BF16 ? CUDA_R_16BF : CUDA_R_32F;
}

/* Grid size for a grid-stride loop over n items. */
static inline unsigned vm_grid_for(int64_t n, int threads) {
  int64_t blocks = (n + threads - 1) / threads;
  if (blocks > 65535LL * 16) blocks = 65535LL * 16;
  if (blocks < 1) blocks = 1;
  return (unsigned)blocks;
}

#endif
