/* Linear layers (and 1x1 convolutions) on the CPU: row tiles across threads, one sgemm + epilogue per tile. */
#include <omp.h>

#include "cpu_activation.h"
#include "cpu_ops.h"
#include "cpu_blas.h"
#include "cpu_check.h"
#include "error.h"

/* Rows per sgemm: the output tile (rows x N floats, 768 KiB for N = 1536) stays in L2 for the epilogue right after
 * it, and 256 rows amortise the packing of w inside the sgemm. */
enum { LINEAR_TILE_ROWS = 256 };

size_t cpu_linear_scratch(int64_t n_out) { return (size_t)LINEAR_TILE_ROWS * (size_t)n_out; }

vm_status cpu_linear(cpu_runtime *rt, const vm_tensor *x, const vm_param *w, const vm_param *b, vm_act act,
                     const vm_tensor *residual, const vm_tensor *out, vm_error *err) {
  if (!cpu_tensor_ok(x) || !cpu_tensor_ok(out)) return vm_fail(err, VM_ERR_INTERNAL, "linear: missing or empty tensor");
  int64_t rows = vm_tensor_rows(x), k = x->c, n = out->c;
  if (vm_tensor_rows(out) != rows)
    return vm_fail(err, VM_ERR_INTERNAL, "linear: x has %lld rows, out %lld", (long long)rows,
                   (long long)vm_tensor_rows(out));
  if (!cpu_param_ok(w, n * k))
    return vm_fail(err, VM_ERR_INTERNAL, "linear: weight has %lld values, expected %lld x %lld",
                   w ? (long long)w->numel : 0LL, (long long)n, (long long)k);
  if (!cpu_optional_param_ok(b, n))
    return vm_fail(err, VM_ERR_INTERNAL, "linear: bias needs %lld values", (long long)n);
  if (residual && (!cpu_tensor_ok(residual) || vm_tensor_rows(residual) != rows || residual->c != n))
    return vm_fail(err, VM_ERR_INTERNAL, "linear: residual does not match out");
  if (x->data == out->data) return vm_fail(err, VM_ERR_INTERNAL, "linear: out must not alias x");
  if (k > INT32_MAX || n > INT32_MAX) return vm_fail(err, VM_ERR_INTERNAL, "linear: dimensions too large for BLAS");

  /* When out is also the residual, the product cannot be written into out before the residual is read: it goes to
   * a per-thread tile instead. */
  const int aliased = residual && residual->data == out->data;
  int64_t tile = LINEAR_TILE_ROWS;
  if (rows < tile * rt->threads) tile = (rows + rt->threads - 1) / rt->threads;
  int64_t ntiles = (rows + tile - 1) / tile;
  const int team = cpu_team(rt, ntiles);
  if (aliased) {
    vm_status st = cpu_scratch_reserve(rt, team, (size_t)tile * (size_t)n, err);
    if (st != VM_OK) return st;
  }

  const float *xs = x->data, *ws = w->data, *bs = cpu_param_data(b);
  const float *rs = residual ? residual->data : NULL;
  float *os = out->data;
  float *const *scratch = rt->scratch;
#pragma omp parallel for num_threads(team) schedule(static)
  for (int64_t t = 0; t < ntiles; t++) {
    int64_t r0 = t * tile, m = rows - r0 < tile ? rows - r0 : tile;
    float *dst = os + r0 * n;
    float *prod = aliased ? scratch[omp_get_thread_num()] : dst;
    cpu_gemm_nt((int)m, (int)n, (int)k, 1.0f, xs + r0 * k, (int)k, ws, (int)k, 0.0f, prod, (int)n);
    cpu_epilogue(prod, n, dst, n, m, n, bs, act, rs ? rs + r0 * n : NULL, n);
  }
  return VM_OK;
}
