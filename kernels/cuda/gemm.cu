// Matrix products through cuBLASLt (fp32 accumulation; true fp32 in fp32 mode) with the bias and residual add
// done by cuBLASLt's epilogue, plus the elementwise epilogue kernel for what cuBLASLt cannot fuse exactly (erf GELU).
#include <string.h>

#include "act_types.cuh"
#include "cuda_backend.h"

static int alignment_of(const void *p) {
  uintptr_t a = (uintptr_t)p;
  int al = 256;
  while (al > 1 && (a % (uintptr_t)al) != 0) al >>= 1;
  return al;
}

static void plan_destroy(vm_cuda_lt_plan *p) {
  if (p->op) (void)cublasLtMatmulDescDestroy(p->op);
  if (p->a) (void)cublasLtMatrixLayoutDestroy(p->a);
  if (p->b) (void)cublasLtMatrixLayoutDestroy(p->b);
  if (p->c) (void)cublasLtMatrixLayoutDestroy(p->c);
  memset(p, 0, sizeof *p);
}

void vm_cuda_gemm_plans_release(vm_cuda *cu) {
  for (int i = 0; i < VM_CUDA_LT_PLANS; i++) plan_destroy(&cu->lt_plans[i]);
}

static vm_status plan_create(vm_cuda *cu, vm_cuda_lt_plan *p, int64_t rows, int64_t n, int64_t k, int epilogue,
                             int with_c, int cd_f32, int align_a, int align_b, int align_cd, const void *bias,
                             vm_error *err) {
  cudaDataType_t dt = vm_cuda_data_type(cu->base.precision);
  /* An f32 C/D with half A/B is one of cuBLASLt's supported combinations; the bias then is f32 too (it takes D's
   * type by default). */
  cudaDataType_t dt_cd = cd_f32 ? CUDA_R_32F : dt;
  p->rows = rows;
  p->cd_f32 = cd_f32;
  p->n = n;
  p->k = k;
  p->epilogue = epilogue;
  p->with_c = with_c;
  p->align_key = align_a | (align_b << 10) | (align_cd << 20);
  /* CUBLAS_COMPUTE_32F: fp32 accumulation, and in fp32 mode true fp32 products (no TF32). */
  VM_LT(cublasLtMatmulDescCreate(&p->op, CUBLAS_COMPUTE_32F, CUDA_R_32F), "cublasLtMatmulDescCreate");
  cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
  VM_LT(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta), "set TRANSA");
  VM_LT(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb), "set TRANSB");
  cublasLtEpilogue_t ep = (cublasLtEpilogue_t)epilogue;
  VM_LT(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &ep, sizeof ep), "set EPILOGUE");
  if (epilogue == CUBLASLT_EPILOGUE_BIAS)
    VM_LT(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias),
          "set BIAS_POINTER");
  /* Column-major view: out^T [n x rows] = W [n x k] (stored k x n, transposed) * x^T [k x rows]. */
  VM_LT(cublasLtMatrixLayoutCreate(&p->a, dt, (uint64_t)k, (uint64_t)n, k), "layout of W");
  VM_LT(cublasLtMatrixLayoutCreate(&p->b, dt, (uint64_t)k, (uint64_t)rows, k), "layout of x");
  VM_LT(cublasLtMatrixLayoutCreate(&p->c, dt_cd, (uint64_t)n, (uint64_t)rows, n), "layout of out");

  cublasLtMatmulPreference_t pref = NULL;
  VM_LT(cublasLtMatmulPreferenceCreate(&pref), "cublasLtMatmulPreferenceCreate");
  size_t ws = cu->ws_lt.size;
  uint32_t aa = (uint32_t)align_a, ab = (uint32_t)align_b, acd = (uint32_t)align_cd;
  cublasStatus_t s = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
  if (s == CUBLAS_STATUS_SUCCESS)
    s = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &aa, sizeof aa);
  if (s == CUBLAS_STATUS_SUCCESS)
    s = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &ab, sizeof ab);
  if (s == CUBLAS_STATUS_SUCCESS)
    s = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &acd, sizeof acd);
  if (s == CUBLAS_STATUS_SUCCESS)
    s = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &acd, sizeof acd);
  cublasLtMatmulHeuristicResult_t res;
  int found = 0;
  if (s == CUBLAS_STATUS_SUCCESS)
    s = cublasLtMatmulAlgoGetHeuristic(cu->lt, p->op, p->a, p->b, p->c, p->c, pref, 1, &res, &found);
  (void)cublasLtMatmulPreferenceDestroy(pref);
  if (s != CUBLAS_STATUS_SUCCESS) return vm_cuda_lt_fail(err, s, "choosing a matrix product algorithm");
  if (found < 1)
    return vm_fail(err, VM_ERR_DEVICE, "cuBLASLt has no algorithm for a %lld x %lld x %lld product", (long long)rows,
                   (long long)n, (long long)k);
  p->algo = res.algo;
  p->used = true;
  return VM_OK;
}

vm_status vm_cuda_gemm(vm_cuda *cu, const void *a, const void *w, const void *bias, const void *c, void *out,
                       int64_t rows, int64_t n, int64_t k, vm_error *err) {
  return vm_cuda_gemm_typed(cu, a, w, bias, c, out, 0, rows, n, k, err);
}

bool vm_cuda_gemm_f32tc_takes(const vm_cuda *cu, const void *x, const void *w, int64_t rows, int64_t n, int64_t k);
vm_status vm_cuda_gemm_f32tc(vm_cuda *cu, const void *x, const void *w, const void *bias, const void *c, void *out,
                             int64_t rows, int64_t n, int64_t k, vm_error *err);

vm_status vm_cuda_gemm_typed(vm_cuda *cu, const void *a, const void *w, const void *bias, const void *c, void *out,
                             int cd_f32, int64_t rows, int64_t n, int64_t k, vm_error *err) {
  if (cu->base.act_size == 4) cd_f32 = 0; /* f32 is the activation type: the same plans */
  if (rows == 0) return VM_OK;
  if (vm_cuda_gemm_f32tc_takes(cu, a, w, rows, n, k)) return vm_cuda_gemm_f32tc(cu, a, w, bias, c, out, rows, n, k, err);
  int epilogue = bias ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT;
  int with_c = c != NULL;
  int al_a = alignment_of(w), al_b = alignment_of(a), al_cd = alignment_of(out);
  if (c && alignment_of(c) < al_cd) al_cd = alignment_of(c);
  int align_key = al_a | (al_b << 10) | (al_cd << 20);
  if (!cu->ws_lt.ptr) VM_TRY(vm_cuda_scratch_reserve(cu, &cu->ws_lt, VM_CUDA_LT_WORKSPACE, "the cuBLASLt workspace", err));
  vm_cuda_lt_plan *p = NULL;
  for (int i = 0; i < VM_CUDA_LT_PLANS && !p; i++) {
    vm_cuda_lt_plan *q = &cu->lt_plans[i];
    if (q->used && q->rows == rows && q->n == n && q->k == k && q->epilogue == epilogue && q->with_c == with_c &&
        q->cd_f32 == cd_f32 && q->align_key == align_key)
      p = q;
  }
  if (!p) {
    int slot = vm_cuda_lru_slot(cu->lt_plans, VM_CUDA_LT_PLANS);
    p = &cu->lt_plans[slot];
    plan_destroy(p);
    vm_status st = plan_create(cu, p, rows, n, k, epilogue, with_c, cd_f32, al_a, al_b, al_cd, bias, err);
    if (st != VM_OK) {
      plan_destroy(p);
      return st;
    }
  }
  p->stamp = ++cu->clock;
  if (bias)
    VM_LT(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias),
          "set BIAS_POINTER");
  float alpha = 1.f, beta = c ? 1.f : 0.f;
  VM_LT(cublasLtMatmul(cu->lt, p->op, &alpha, w, p->a, a, p->b, &beta, c ? c : out, p->c, out, p->c, &p->algo,
                       cu->ws_lt.ptr, cu->ws_lt.size, cu->stream),
        "cublasLtMatmul");
  return VM_OK;
}

/* out = [residual +] act(x [+ bias]) over rows x n elements, x of type T, residual and out of type TO. A flat
 * grid-stride loop: the decoder's rows have only 16-64 columns, too few to give a block per row. */
template <typename T, typename TO>
__global__ void __launch_bounds__(256) epilogue_kernel(const T *x, const float *__restrict__ bias, int act,
                                                       const TO *residual, TO *out, int64_t total, int n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    float v = vm_to_f32<T>(x[i]);
    if (bias) v += bias[i % n];
    v = vm_apply_act(v, act);
    if (residual) v += vm_to_f32<TO>(residual[i]);
    out[i] = vm_from_f32<TO>(v);
  }
}

template <typename T, typename TO>
static vm_status launch_epilogue(vm_cuda *cu, const void *x, const float *bias, vm_act act, const void *residual,
                                 void *out, int64_t rows, int64_t n, vm_error *err) {
  int64_t total = rows * n;
  epilogue_kernel<T, TO><<<vm_grid_for(total, 256), 256, 0, cu->stream>>>((const T *)x, bias, (int)act,
                                                                          (const TO *)residual, (TO *)out, total,
                                                                          (int)n);
  return vm_cuda_launch_check(err, "epilogue");
}

vm_status vm_cuda_epilogue(vm_cuda *cu, const void *x, const float *bias, vm_act act, const void *residual, void *out,
                           int64_t rows, int64_t n, vm_error *err) {
  if (rows == 0 || n == 0) return VM_OK;
  if (!bias && act == VM_ACT_NONE && !residual && x == out) return VM_OK;
  return vm_dispatch(cu->base.precision, [&](auto tag) -> vm_status {
    typedef typename decltype(tag)::type T;
    return launch_epilogue<T, T>(cu, x, bias, act, residual, out, rows, n, err);
  });
}

/* Products with very few output columns (the matting head's 16 -> 1): one thread per row, fp32 accumulation. */
template <typename T, typename TO>
__global__ void __launch_bounds__(256) narrow_linear(const T *__restrict__ x, const T *__restrict__ w,
                                                     const float *__restrict__ bias, int act, const TO *residual,
                                                     TO *out, int64_t rows, int n, int k) {
  for (int64_t r = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; r < rows; r += (int64_t)gridDim.x * blockDim.x) {
    const T *xr = x + r * k;
    for (int j = 0; j < n; j++) {
      const T *wr = w + (int64_t)j * k;
      float acc = 0.f;
      for (int i = 0; i < k; i++) acc = fmaf(vm_to_f32<T>(xr[i]), vm_to_f32<T>(wr[i]), acc);
      if (bias) acc += bias[j];
      acc = vm_apply_act(acc, act);
      if (residual) acc += vm_to_f32<TO>(residual[r * n + j]);
      out[r * n + j] = vm_from_f32<TO>(acc);
    }
  }
}

vm_status vm_cuda_linear(vm_backend *be, const vm_tensor *x, const vm_param *w, const vm_param *b, vm_act act,
                         const vm_tensor *residual, const vm_tensor *out, vm_error *err) {
  vm_cuda *cu = vm_cuda_of(be);
  VM_TRY(vm_cuda_op_enter(cu, err));
  int64_t rows = vm_tensor_rows(x), K = x->c, N = out->c;
  if (vm_tensor_rows(out) != rows)
    return vm_fail(err, VM_ERR_INTERNAL, "linear: %lld input rows but %lld output rows", (long long)rows,
                   (long long)vm_tensor_rows(out));
  if (!w || !w->data || w->numel != N * K)
    return vm_fail(err, VM_ERR_INTERNAL, "linear: weight has %lld values, expected %lld x %lld",
                   (long long)(w ? w->numel : 0), (long long)N, (long long)K);
  if (b && b->data && b->numel != N)
    return vm_fail(err, VM_ERR_INTERNAL, "linear: bias has %lld values, expected %lld", (long long)b->numel,
                   (long long)N);
  if (residual && (vm_tensor_rows(residual) != rows || residual->c != N))
    return vm_fail(err, VM_ERR_INTERNAL, "linear: residual shape does not match the output");
  VM_TRY(vm_cuda_require_act(cu, "linear (input)", x, NULL, NULL, err));
  if (residual && residual->elem != out->elem && be->act_size != 4)
    return vm_fail(err, VM_ERR_INTERNAL, "linear: residual and output differ in element type");
  const bool out_f32 = out->elem == VM_ELEM_F32 && be->act_size != 4;
  if (N <= 4 && K <= 256) {
    return vm_dispatch(be->precision, [&](auto tag) -> vm_status {
      typedef typename decltype(tag)::type T;
      const float *bias = (b && b->data) ? (const float *)b->data : NULL;
      if (out_f32)
        narrow_linear<T, float><<<vm_grid_for(rows, 256), 256, 0, cu->stream>>>(
            (const T *)x->data, (const T *)w->data, bias, (int)act, residual ? (const float *)residual->data : NULL,
            (float *)out->data, rows, (int)N, (int)K);
      else
        narrow_linear<T, T><<<vm_grid_for(rows, 256), 256, 0, cu->stream>>>(
            (const T *)x->data, (const T *)w->data, bias, (int)act, residual ? (const T *)residual->data : NULL,
            (T *)out->data, rows, (int)N, (int)K);
      return vm_cuda_launch_check(err, "narrow linear");
    });
  }
  /* With an f32 output cuBLASLt takes the f32 bias; otherwise its copy in the activation type. */
  const void *bias_lt = (b && b->data) ? (out_f32 ? b->data : vm_cuda_vector_shadow(cu, b)) : NULL;
  const void *res = residual ? residual->data : NULL;
  const int cd_f32 = out_f32 ? 1 : 0;
  if (act == VM_ACT_NONE)
    return vm_cuda_gemm_typed(cu, x->data, w->data, bias_lt, res, out->data, cd_f32, rows, N, K, err);
  if (!res) {
    VM_TRY(vm_cuda_gemm_typed(cu, x->data, w->data, bias_lt, NULL, out->data, cd_f32, rows, N, K, err));
    if (out_f32) return launch_epilogue<float, float>(cu, out->data, NULL, act, NULL, out->data, rows, N, err);
    return vm_cuda_epilogue(cu, out->data, NULL, act, NULL, out->data, rows, N, err);
  }
  /* residual + act(...): the product goes to scratch first, because the residual may be the output. */
  size_t es = vm_tensor_elem_size(be, out);
  VM_TRY(vm_cuda_scratch_reserve(cu, &cu->tmp, (size_t)(rows * N) * es, "linear scratch", err));
  VM_TRY(vm_cuda_gemm_typed(cu, x->data, w->data, bias_lt, NULL, cu->tmp.ptr, cd_f32, rows, N, K, err));
  if (out_f32) return launch_epilogue<float, float>(cu, cu->tmp.ptr, NULL, act, res, out->data, rows, N, err);
  return vm_cuda_epilogue(cu, cu->tmp.ptr, NULL, act, res, out->data, rows, N, err);
}
