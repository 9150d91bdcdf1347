/* LayerNorm over the channels of each row, with an optional activation and residual, on the CPU. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "cpu_activation.h"
#include "cpu_ops.h"
#include "cpu_check.h"
#include "cpu_simd.h"
#include "error.h"

/* Statistics and the normalised value are computed in double: C is at most a few thousand, so this costs little
 * next to the GEMMs around it and keeps the result within an ulp of a float64 LayerNorm. The variance is the mean
 * of (x-u)*(x-u) after the mean (two passes, biased), as nn.LayerNorm defines it. The row goes through `tmp` so that
 * out may be x and residual may be out: every read of x and residual comes before the write of that element. */
CPU_VECTOR_CLONES
static void layer_norm_row(const float *x, const float *gamma, const float *beta, double eps, vm_act act,
                           const float *residual, float *out, float *tmp, int64_t c) {
  double sum = 0.0;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = 0; i < c; i++) sum += x[i];
  const double mean = sum / (double)c;
  double sq = 0.0;
#pragma omp simd reduction(+ : sq)
  for (int64_t i = 0; i < c; i++) {
    double d = (double)x[i] - mean;
    sq += d * d;
  }
  const double rstd = 1.0 / sqrt(sq / (double)c + eps);
  for (int64_t i = 0; i < c; i++) tmp[i] = (float)(((double)x[i] - mean) * rstd * gamma[i] + beta[i]);
  cpu_act_apply(act, tmp, c);
  if (residual)
    for (int64_t i = 0; i < c; i++) out[i] = residual[i] + tmp[i];
  else
    memcpy(out, tmp, (size_t)c * sizeof(float));
}

vm_status cpu_layer_norm(cpu_runtime *rt, const vm_tensor *x, const vm_param *gamma, const vm_param *beta,
                         double eps, vm_act act, const vm_tensor *residual, const vm_tensor *out, vm_error *err) {
  if (!cpu_tensor_ok(x) || !cpu_tensor_ok(out))
    return vm_fail(err, VM_ERR_INTERNAL, "layer_norm: missing or empty tensor");
  int64_t rows = vm_tensor_rows(x), c = x->c;
  if (vm_tensor_rows(out) != rows || out->c != c)
    return vm_fail(err, VM_ERR_INTERNAL, "layer_norm: out has %lld x %lld values, x has %lld x %lld",
                   (long long)vm_tensor_rows(out), (long long)out->c, (long long)rows, (long long)c);
  if (residual && (!cpu_tensor_ok(residual) || vm_tensor_rows(residual) != rows || residual->c != c))
    return vm_fail(err, VM_ERR_INTERNAL, "layer_norm: residual does not match x");
  if (!cpu_param_ok(gamma, c) || !cpu_param_ok(beta, c))
    return vm_fail(err, VM_ERR_INTERNAL, "layer_norm: gamma/beta need %lld values", (long long)c);
  if (!(eps >= 0.0)) return vm_fail(err, VM_ERR_INTERNAL, "layer_norm: bad eps %g", eps);

  vm_status st = cpu_scratch_reserve(rt, rt->threads, (size_t)c, err);
  if (st != VM_OK) return st;
  const float *xs = x->data, *g = gamma->data, *bt = beta->data;
  const float *rs = residual ? residual->data : NULL;
  float *os = out->data;
  float *const *scratch = rt->scratch;
#pragma omp parallel for num_threads(rt->threads) schedule(static)
  for (int64_t r = 0; r < rows; r++)
    layer_norm_row(xs + r * c, g, bt, eps, act, rs ? rs + r * c : NULL, os + r * c, scratch[omp_get_thread_num()], c);
  return VM_OK;
}
