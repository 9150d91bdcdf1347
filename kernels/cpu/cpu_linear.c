/* Linear layers (and 1x1 convolutions) on the CPU: the weight packed once per call, then blocks of rows (and, when
 * rows are few, groups of columns) across threads, each a product with its epilogue fused (cpu_gemm.h). */
#include <omp.h>

#include "cpu_activation.h"
#include "cpu_check.h"
#include "cpu_gemm.h"
#include "cpu_ops.h"
#include "cpu_simd.h"
#include "error.h"

/* Outputs narrower than this take dot products row by row: a packed panel of 32 columns would be mostly zeros
 * (the matting head's last layer has one output: 1M rows x 16 inputs at 1024^2). */
enum { NARROW_N = 8, NARROW_CHUNK = 256 };

/* out = residual + act(x w^T + b) for rows [r0, r0 + m), m <= NARROW_CHUNK, n < NARROW_N; tmp: NARROW_CHUNK * n. */
CPU_VECTOR_CLONES
static void narrow_rows(const float *x, int64_t k, const float *w, int64_t n, const float *bias, vm_act act,
                        const float *residual, float *out, int64_t m, float *tmp) {
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) {
      const float *xr = x + i * k, *wr = w + j * k;
      float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
      for (int64_t q = 0; q < k; q++) acc += xr[q] * wr[q];
      tmp[i * n + j] = acc + (bias ? bias[j] : 0.0f);
    }
  const int64_t len = m * n;
  cpu_act_apply(act, tmp, len);
  for (int64_t e = 0; e < len; e++) out[e] = residual ? residual[e] + tmp[e] : tmp[e];
}

cpu_need cpu_linear_need(const cpu_runtime *rt, int64_t k, int64_t n) {
  if (n < NARROW_N) return (cpu_need){(size_t)(NARROW_CHUNK * n), 0};
  const cpu_gemm_isa *isa = rt->gemm;
  return (cpu_need){cpu_gemm_work_floats(isa, cpu_gemm_block_rows(isa, k), n, k),
                    isa->kernel ? cpu_gemm_packed_b_floats(n, k) : 0};
}

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

  const float *bs = cpu_param_data(b), *rs = residual ? residual->data : NULL;
  float *os = out->data;
  float *const *scratch = rt->scratch;
  if (n < NARROW_N) {
    const int64_t chunks = (rows + NARROW_CHUNK - 1) / NARROW_CHUNK;
    const int team = cpu_team(rt, chunks);
    vm_status st = cpu_scratch_reserve(rt, team, (size_t)(NARROW_CHUNK * n), err);
    if (st != VM_OK) return st;
    const float *xs = x->data, *ws = w->data;
#pragma omp parallel for num_threads(team) schedule(static)
    for (int64_t c = 0; c < chunks; c++) {
      const int64_t r0 = c * NARROW_CHUNK, m = rows - r0 < NARROW_CHUNK ? rows - r0 : NARROW_CHUNK;
      narrow_rows(xs + r0 * k, k, ws, n, bs, act, rs ? rs + r0 * n : NULL, os + r0 * n, m,
                  scratch[omp_get_thread_num()]);
    }
    return VM_OK;
  }

  const cpu_gemm_isa *isa = rt->gemm;
  cpu_gemm_b bm;
  vm_status st = cpu_shared_pack_b(rt, w->data, n, k, &bm, err);
  if (st != VM_OK) return st;

  /* Blocks of rows sized for L2; when they are fewer than a few per thread, columns are split too (in whole
   * panels), so that every thread has work and dynamic scheduling can even out the rest. */
  int64_t block = cpu_gemm_block_rows(isa, k);
  if (block > rows) block = rows;
  int64_t row_blocks = (rows + block - 1) / block;
  const int64_t panels = cpu_gemm_panels(n);
  int64_t groups = (4 * (int64_t)rt->threads + row_blocks - 1) / row_blocks;
  if (groups > panels) groups = panels;
  if (groups < 1 || !isa->kernel) groups = 1;
  const int64_t group_cols = (panels + groups - 1) / groups * CPU_GEMM_NR;
  groups = (n + group_cols - 1) / group_cols;
  /* Tasks of equal size finish in ceil(tasks / threads) rounds: with a few blocks more (and smaller), their count
   * becomes a multiple of the thread count and the last round is full (fc2 at 16 threads: 98 -> 112 tasks, 7 rounds
   * of which the last held 2 tasks -> 7 full rounds of smaller ones). */
  if (row_blocks * groups > rt->threads) {
    int64_t a = groups, b = rt->threads;
    while (b) {
      const int64_t r = a % b;
      a = b;
      b = r;
    }
    const int64_t unit = rt->threads / a; /* row_blocks * groups is a multiple of threads when row_blocks is one */
    row_blocks = (row_blocks + unit - 1) / unit * unit;
    if (row_blocks > rows) row_blocks = rows;
    block = (rows + row_blocks - 1) / row_blocks; /* blocks hold rows * b / row_blocks .. rows * (b + 1) / row_blocks */
  }
  const int64_t ntasks = row_blocks * groups;
  const int team = cpu_team(rt, ntasks);
  st = cpu_scratch_reserve(rt, team, cpu_gemm_work_floats(isa, block, group_cols < n ? group_cols : n, k), err);
  if (st != VM_OK) return st;

  const float *xs = x->data;
#pragma omp parallel for num_threads(team) schedule(dynamic, 1)
  for (int64_t t = 0; t < ntasks; t++) {
    const int64_t b = t / groups, r0 = rows * b / row_blocks, m = rows * (b + 1) / row_blocks - r0;
    const int64_t n0 = t % groups * group_cols, n1 = n - n0 < group_cols ? n : n0 + group_cols;
    const cpu_gemm_a a = {.data = xs + r0 * k, .lda = k, .line = 0, .nseg = 1, .kseg = k, .off = {0}};
    const cpu_gemm_epilogue ep = {bs, act, rs ? rs + r0 * n : NULL, n, 1.0f, NULL};
    cpu_gemm_block(isa, &a, 1, m, &bm, n0, n1, os + r0 * n, n, 0, &ep, scratch[omp_get_thread_num()]);
  }
  return VM_OK;
}
