// The attention op: checks the shapes, then runs the tensor-core kernel (fp16/bf16, head dim 32/64/128, code for
// sm_80 or newer, tiles that fit the card's shared memory); in fp32 mode for head dim 64 and images at least 64 tokens
// wide (the global layers) the 3xTF32 tensor-core kernel (data-centre cards) or the register-tiled CUDA-core one
// (the others); else the fp32-arithmetic generic kernel (windows, other head dims, Turing, what does not fit).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attention_common.cuh"
#include "cuda_backend.h"

vm_status vm_cuda_attention_tc(vm_cuda *cu, const vm_attn_args &a, int n, int heads, vm_error *err);
bool vm_cuda_attention_tc_takes(const vm_cuda *cu, int d);
vm_status vm_cuda_attention_generic(vm_cuda *cu, const vm_attn_args &a, int n, int heads, vm_error *err);
size_t vm_cuda_attention_tc_scratch(const vm_cuda *cu, int hh, int ww, int d, bool *taken);
size_t vm_cuda_attention_generic_scratch(const vm_cuda *cu, int hh, int ww, int d);
int vm_cuda_attention_f32_rows(const vm_cuda *cu, const vm_attn_args &a, int n, int heads);
size_t vm_cuda_attention_f32_scratch(const vm_cuda *cu, int hh, int ww, int d);
vm_status vm_cuda_attention_f32(vm_cuda *cu, const vm_attn_args &a, int n, int heads, int rows, vm_error *err);
bool vm_cuda_attention_f32tc_takes(const vm_cuda *cu, const vm_attn_args &a);
size_t vm_cuda_attention_f32tc_scratch(const vm_cuda *cu, int hh, int ww, int d);
vm_status vm_cuda_attention_f32tc(vm_cuda *cu, const vm_attn_args &a, int n, int heads, vm_error *err);

static bool tc_path(const vm_cuda *cu, int d) {
  return cu->base.precision != VM_PRECISION_FP32 && !cu->attention_generic_only &&
         (cu->mma || vm_cuda_attention_turing_mma(cu)) && vm_cuda_attention_tc_takes(cu, d);
}

size_t vm_cuda_attention_scratch(const vm_cuda *cu, int hh, int ww, int d) {
  if (tc_path(cu, d)) {
    bool taken = false;
    size_t s = vm_cuda_attention_tc_scratch(cu, hh, ww, d, &taken);
    if (taken) return s;
  }
  size_t f = vm_cuda_attention_f32_scratch(cu, hh, ww, d), g = vm_cuda_attention_generic_scratch(cu, hh, ww, d);
  const size_t t = vm_cuda_attention_f32tc_scratch(cu, hh, ww, d);
  if (t > f) f = t;
  return f > g ? f : g;
}

vm_status vm_cuda_attention(vm_backend *be, const vm_tensor *qkv, int heads, const vm_param *rel_h,
                            const vm_param *rel_w, const vm_tensor *out, vm_error *err) {
  vm_cuda *cu = vm_cuda_of(be);
  VM_TRY(vm_cuda_op_enter(cu, err));
  VM_TRY(vm_cuda_require_act(cu, "attention", qkv, out, NULL, err));
  if (heads <= 0 || qkv->c % 3 != 0 || (qkv->c / 3) % heads != 0)
    return vm_fail(err, VM_ERR_INTERNAL, "attention: %lld qkv channels do not split into 3 x %d heads",
                   (long long)qkv->c, heads);
  int64_t C = qkv->c / 3, d = C / heads;
  if (out->n != qkv->n || out->h != qkv->h || out->w != qkv->w || out->c != C)
    return vm_fail(err, VM_ERR_INTERNAL, "attention: output must be [%lld, %lld, %lld, %lld]", (long long)qkv->n,
                   (long long)qkv->h, (long long)qkv->w, (long long)C);
  int64_t N = qkv->h * qkv->w;
  if (N == 0 || qkv->n == 0) return VM_OK;
  if (N > 0x7fffffffLL / 2 || qkv->n > 65535 || heads > 65535)
    return vm_fail(err, VM_ERR_UNSUPPORTED, "attention: %lld images of %lld tokens and %d heads is too large",
                   (long long)qkv->n, (long long)N, heads);
  bool has_rel = rel_h && rel_h->data;
  if (has_rel != (rel_w && rel_w->data))
    return vm_fail(err, VM_ERR_INTERNAL, "attention: rel_h and rel_w must both be given or both be NULL");
  if (has_rel && (rel_h->numel != (2 * qkv->h - 1) * d || rel_w->numel != (2 * qkv->w - 1) * d))
    return vm_fail(err, VM_ERR_INTERNAL, "attention: rel-pos tables hold %lld and %lld values, expected %lld x %lld "
                   "and %lld x %lld", (long long)rel_h->numel, (long long)rel_w->numel, (long long)(2 * qkv->h - 1),
                   (long long)d, (long long)(2 * qkv->w - 1), (long long)d);
  vm_attn_args a;
  memset(&a, 0, sizeof a);
  a.qkv = qkv->data;
  a.out = out->data;
  a.rel_h = has_rel ? (const float *)rel_h->data : NULL;
  a.rel_w = has_rel ? (const float *)rel_w->data : NULL;
  a.hh = (int)qkv->h;
  a.ww = (int)qkv->w;
  a.N = (int)N;
  a.C = (int)C;
  a.d = (int)d;
  a.scale = (float)(1.0 / sqrt((double)d));
  if (tc_path(cu, a.d))
    return vm_cuda_attention_tc(cu, a, (int)qkv->n, heads, err);
  if (vm_cuda_attention_f32tc_takes(cu, a)) return vm_cuda_attention_f32tc(cu, a, (int)qkv->n, heads, err);
  const int rows = vm_cuda_attention_f32_rows(cu, a, (int)qkv->n, heads); /* 0: not this layer */
  if (rows) return vm_cuda_attention_f32(cu, a, (int)qkv->n, heads, rows, err);
  return vm_cuda_attention_generic(cu, a, (int)qkv->n, heads, err);
}
