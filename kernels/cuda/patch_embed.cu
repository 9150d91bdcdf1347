// Patch embedding: gather p x p x in_ch patches into bands of an im2col matrix and multiply them with the weight,
// the bias and the (resized) position table added by cuBLASLt's epilogue.
#include "act_types.cuh"
#include "cuda_backend.h"


/* band[t][(ky*p + kx)*in_ch + ci] = px[ty*p + ky][tx*p + kx][ci] for tokens t0 .. t0+nt-1. A row of one patch line
 * (p*in_ch values) is contiguous in px, so threads copy along it. */
template <typename T>
__global__ void patch_gather(const T *__restrict__ px, T *__restrict__ band, int64_t t0, int64_t nt, int tokens_w,
                             int W, int p, int in_ch) {
  int line = p * in_ch;
  int64_t K = (int64_t)p * line;
  int64_t total = nt * K;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t t = i / K;
    int kk = (int)(i - t * K);
    int ky = kk / line, j = kk - ky * line;
    int64_t tok = t0 + t;
    int64_t ty = tok / tokens_w, tx = tok - ty * tokens_w;
    band[i] = px[((ty * p + ky) * (int64_t)W + tx * p) * in_ch + j];
  }
}

vm_status vm_cuda_patch_embed(vm_backend *be, const vm_tensor *px, const vm_param *w, const vm_param *b, int patch,
                              const vm_param *pos, const vm_tensor *out, vm_error *err) {
  vm_cuda *cu = vm_cuda_of(be);
  VM_TRY(vm_cuda_op_enter(cu, err));
  VM_TRY(vm_cuda_require_act(cu, "patch_embed", px, out, NULL, err));
  int64_t C = out->c, th = out->h, tw = out->w, in_ch = px->c;
  if (patch <= 0 || px->n != 1 || out->n != 1 || th * patch > px->h || tw * patch > px->w)
    return vm_fail(err, VM_ERR_INTERNAL, "patch_embed: output %lldx%lld does not fit input %lldx%lld / %d",
                   (long long)th, (long long)tw, (long long)px->h, (long long)px->w, patch);
  int64_t K = (int64_t)patch * patch * in_ch;
  if (!w || !w->data || w->numel != C * K)
    return vm_fail(err, VM_ERR_INTERNAL, "patch_embed: weight has %lld values, expected %lld",
                   (long long)(w ? w->numel : 0), (long long)(C * K));
  if (b && b->data && b->numel != C) return vm_fail(err, VM_ERR_INTERNAL, "patch_embed: bias size");
  if (pos && pos->data && pos->numel != th * tw * C)
    return vm_fail(err, VM_ERR_INTERNAL, "patch_embed: position table has %lld values, expected %lld",
                   (long long)pos->numel, (long long)(th * tw * C));
  int64_t tokens = th * tw;
  if (tokens == 0) return VM_OK;
  size_t limit = cu->band_limit < VM_CUDA_PATCH_BAND_BYTES ? cu->band_limit : VM_CUDA_PATCH_BAND_BYTES;
  int64_t per_band = (int64_t)limit / (K * (int64_t)be->act_size);
  if (per_band < 1) per_band = 1;
  if (per_band > tokens) per_band = tokens;
  VM_TRY(vm_cuda_scratch_reserve(cu, &cu->band, (size_t)(per_band * K) * be->act_size, "the patch gather band", err));
  const char *bias = (b && b->data) ? (const char *)vm_cuda_vector_shadow(cu, b) : NULL;
  const char *posd = (pos && pos->data) ? (const char *)vm_cuda_vector_shadow(cu, pos) : NULL;
  size_t es = be->act_size;
  for (int64_t t0 = 0; t0 < tokens; t0 += per_band) {
    int64_t nt = tokens - t0 < per_band ? tokens - t0 : per_band;
    vm_status st = vm_dispatch(be->precision, [&](auto tag) -> vm_status {
      typedef typename decltype(tag)::type T;
      patch_gather<T><<<vm_grid_for(nt * K, 256), 256, 0, cu->stream>>>(
          (const T *)px->data, (T *)cu->band.ptr, t0, nt, (int)tw, (int)px->w, patch, (int)in_ch);
      return vm_cuda_launch_check(err, "patch gather");
    });
    VM_TRY(st);
    VM_TRY(vm_cuda_gemm(cu, cu->band.ptr, w->data, bias, posd ? posd + (size_t)(t0 * C) * es : NULL,
                        (char *)out->data + (size_t)(t0 * C) * es, nt, C, K, err));
  }
  return VM_OK;
}
