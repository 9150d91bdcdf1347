/* Multi-head self-attention with decomposed relative position bias on the CPU, in (head, query block) tiles that
 * walk over the keys in blocks with a running softmax, so that no buffer grows with N beyond the rel-pos rows. */
#include <math.h>
#include <omp.h>

#include "cpu_ops.h"
#include "cpu_blas.h"
#include "cpu_check.h"
#include "cpu_math.h"
#include "cpu_simd.h"
#include "error.h"

/* A tile is up to ATTN_ROWS queries of one head. Its scores against one block of ATTN_KEYS keys (rows x keys
 * floats, 1 MiB) stay in L2 between the QK^T sgemm, the rel-pos add, the exponentials and the PV sgemm; each
 * sgemm call then repacks only that block of K or V, ~1 copy per 500 flops. Holding the scores of all N keys
 * instead (N ~ 47000 for a 12 MP photo) either falls out of cache or forces few rows per tile, whose sgemms
 * then repack all of K and V for every few queries. */
#ifndef CPU_ATTN_ROWS
#define CPU_ATTN_ROWS 256
#endif
#ifndef CPU_ATTN_KEYS
#define CPU_ATTN_KEYS 1024
#endif
enum { ATTN_ROWS = CPU_ATTN_ROWS, ATTN_KEYS = CPU_ATTN_KEYS };

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

size_t cpu_attention_scratch(int64_t tokens, int64_t head_dim, int64_t hh, int64_t ww) {
  (void)head_dim;
  /* the scores of one key block, then the rel-pos products q.Rh and q.Rw of the tile's queries */
  return (size_t)(min64(ATTN_ROWS, tokens) * (min64(ATTN_KEYS, tokens) + (2 * hh - 1) + (2 * ww - 1)));
}

typedef struct attention_shape {
  int64_t tokens, hh, ww, c, d, ld; /* ld = 3C: row stride of q, k and v inside qkv */
  float scale;
} attention_shape;

/* scores[i, j] += ph[i, y1 - y2 + hh - 1] + pw[i, x1 - x2 + ww - 1] for query r0 + i = (y1, x1) and key
 * k0 + j = (y2, x2), added in this order (rel_h first) as transformers does. Keys are walked a grid row at a
 * time so that the inner loop is a plain vectorisable run. */
static void add_rel_pos(const attention_shape *s, int64_t r0, int64_t m, int64_t k0, int64_t kb, float *scores,
                        const float *ph, const float *pw) {
  const int64_t lh = 2 * s->hh - 1, lw = 2 * s->ww - 1;
  for (int64_t i = 0; i < m; i++) {
    int64_t q = r0 + i, y1 = q / s->ww, x1 = q % s->ww;
    float *row = scores + i * kb;
    const float *rh = ph + i * lh + y1 + s->hh - 1; /* rh[-y2] */
    const float *rw = pw + i * lw + x1 + s->ww - 1; /* rw[-x2] */
    int64_t j = 0, y2 = k0 / s->ww, x2 = k0 % s->ww;
    while (j < kb) {
      const int64_t run = min64(s->ww - x2, kb - j);
      const float bh = rh[-y2];
      float *seg = row + j - x2; /* seg[x] is the key (y2, x) */
      for (int64_t x = x2; x < x2 + run; x++) seg[x] = (seg[x] + bh) + rw[-x];
      j += run;
      x2 = 0;
      y2++;
    }
  }
}

/* The running softmax over one key block: each row of scores becomes exp(s - max so far) in place; the row's
 * running max and sum (in double) are updated, and rescale[i] is the factor exp(old max - new max) by which what
 * was accumulated for earlier blocks must shrink (0 on the first block). Rounding in that factor cancels in the
 * final out / sum, which it scales alike. Block sums run in float over 256 values (`omp simd` reassociates
 * them without -ffast-math), then in double. */
enum { SOFTMAX_SUM_BLOCK = 256 };

CPU_VECTOR_CLONES
static void softmax_block(float *scores, int64_t m, int64_t kb, int first, float *row_max, double *row_sum,
                          float *rescale) {
  for (int64_t i = 0; i < m; i++) {
    float *row = scores + i * kb;
    int32_t mk = INT32_MIN;
#pragma omp simd reduction(max : mk)
    for (int64_t j = 0; j < kb; j++) {
      int32_t k = cpu_float_order(row[j]);
      mk = k > mk ? k : mk;
    }
    float mx = cpu_order_float(mk);
    if (first) {
      rescale[i] = 0.0f;
    } else if (mx > row_max[i]) {
      rescale[i] = cpu_expf(row_max[i] - mx);
    } else {
      mx = row_max[i];
      rescale[i] = 1.0f;
    }
    row_max[i] = mx;
    double sum = 0.0;
    for (int64_t j0 = 0; j0 < kb; j0 += SOFTMAX_SUM_BLOCK) {
      const int64_t j1 = min64(kb, j0 + SOFTMAX_SUM_BLOCK);
      float block = 0.0f;
#pragma omp simd reduction(+ : block)
      for (int64_t j = j0; j < j1; j++) {
        float e = cpu_expf(row[j] - mx);
        row[j] = e;
        block += e;
      }
      sum += block;
    }
    row_sum[i] = first ? sum : row_sum[i] * rescale[i] + sum;
  }
}

static void attention_tile(const attention_shape *s, const float *qkv_img, int64_t head, int64_t r0, int64_t m,
                           const float *rel_h, const float *rel_w, float *out_img, float *scratch) {
  const int64_t n = s->tokens, d = s->d, ld = s->ld, c = s->c;
  const int64_t bk = min64(ATTN_KEYS, n), lh = 2 * s->hh - 1, lw = 2 * s->ww - 1;
  const float *q = qkv_img + r0 * ld + head * d;
  const float *k = qkv_img + c + head * d;
  const float *v = qkv_img + 2 * c + head * d;
  float *scores = scratch, *ph = scores + m * bk, *pw = ph + m * lh;
  if (rel_h) {
    /* the bias uses the unscaled q */
    cpu_gemm_nt((int)m, (int)lh, (int)d, 1.0f, q, (int)ld, rel_h, (int)d, 0.0f, ph, (int)lh);
    cpu_gemm_nt((int)m, (int)lw, (int)d, 1.0f, q, (int)ld, rel_w, (int)d, 0.0f, pw, (int)lw);
  }
  float row_max[ATTN_ROWS], rescale[ATTN_ROWS];
  double row_sum[ATTN_ROWS];
  /* the output rows themselves accumulate sum_j exp(s_j - max) v_j; they are divided by the sum at the end */
  float *o = out_img + r0 * c + head * d;
  for (int64_t k0 = 0; k0 < n; k0 += bk) {
    const int64_t kb = min64(bk, n - k0);
    const int first = k0 == 0;
    cpu_gemm_nt((int)m, (int)kb, (int)d, s->scale, q, (int)ld, k + k0 * ld, (int)ld, 0.0f, scores, (int)kb);
    if (rel_h) add_rel_pos(s, r0, m, k0, kb, scores, ph, pw);
    softmax_block(scores, m, kb, first, row_max, row_sum, rescale);
    if (!first)
      for (int64_t i = 0; i < m; i++)
        if (rescale[i] != 1.0f)
          for (int64_t j = 0; j < d; j++) o[i * c + j] *= rescale[i];
    cpu_gemm_nn((int)m, (int)d, (int)kb, 1.0f, scores, (int)kb, v + k0 * ld, (int)ld, first ? 0.0f : 1.0f, o,
                (int)c);
  }
  for (int64_t i = 0; i < m; i++) {
    const double inv = 1.0 / row_sum[i];
    for (int64_t j = 0; j < d; j++) o[i * c + j] = (float)(o[i * c + j] * inv);
  }
}

vm_status cpu_attention(cpu_runtime *rt, const vm_tensor *qkv, int heads, const vm_param *rel_h,
                        const vm_param *rel_w, const vm_tensor *out, vm_error *err) {
  if (!cpu_tensor_ok(qkv) || !cpu_tensor_ok(out))
    return vm_fail(err, VM_ERR_INTERNAL, "attention: missing or empty tensor");
  if (heads <= 0 || qkv->c % 3 != 0 || (qkv->c / 3) % heads != 0)
    return vm_fail(err, VM_ERR_INTERNAL, "attention: %lld qkv channels do not split into q, k, v of %d heads",
                   (long long)qkv->c, heads);
  attention_shape s = {.tokens = qkv->h * qkv->w, .hh = qkv->h, .ww = qkv->w, .c = qkv->c / 3};
  s.d = s.c / heads;
  s.ld = qkv->c;
  s.scale = (float)(1.0 / sqrt((double)s.d));
  if (out->n != qkv->n || out->h != qkv->h || out->w != qkv->w || out->c != s.c)
    return vm_fail(err, VM_ERR_INTERNAL,
                   "attention: out is [%lld, %lld, %lld, %lld], expected [%lld, %lld, %lld, %lld]",
                   (long long)out->n, (long long)out->h, (long long)out->w, (long long)out->c, (long long)qkv->n,
                   (long long)qkv->h, (long long)qkv->w, (long long)s.c);
  const float *rh = cpu_param_data(rel_h), *rw = cpu_param_data(rel_w);
  if (!rh != !rw) return vm_fail(err, VM_ERR_INTERNAL, "attention: rel_h and rel_w must be given together");
  if (rh && (rel_h->numel != (2 * s.hh - 1) * s.d || rel_w->numel != (2 * s.ww - 1) * s.d))
    return vm_fail(err, VM_ERR_INTERNAL, "attention: rel-pos tables have %lld and %lld values, the %lld x %lld grid "
                   "needs %lld and %lld", (long long)rel_h->numel, (long long)rel_w->numel, (long long)s.hh,
                   (long long)s.ww, (long long)((2 * s.hh - 1) * s.d), (long long)((2 * s.ww - 1) * s.d));
  if (s.ld > INT32_MAX || 2 * s.hh > INT32_MAX || 2 * s.ww > INT32_MAX)
    return vm_fail(err, VM_ERR_INTERNAL, "attention: %lld x %lld tokens are too many for BLAS", (long long)s.hh,
                   (long long)s.ww);

  const int64_t rows = min64(ATTN_ROWS, s.tokens);
  const int64_t blocks = (s.tokens + rows - 1) / rows;
  const int64_t ntasks = qkv->n * heads * blocks;
  const int team = cpu_team(rt, ntasks);
  vm_status st = cpu_scratch_reserve(rt, team, cpu_attention_scratch(s.tokens, s.d, s.hh, s.ww), err);
  if (st != VM_OK) return st;

  const float *qkv_data = qkv->data;
  float *out_data = out->data;
  float *const *scratch = rt->scratch;
  /* tasks ordered (image, head, block): neighbouring tasks share k and v, which then stay in cache */
#pragma omp parallel for num_threads(team) schedule(dynamic, 1)
  for (int64_t t = 0; t < ntasks; t++) {
    int64_t img = t / (heads * blocks), head = t / blocks % heads, blk = t % blocks;
    int64_t r0 = blk * rows, m = s.tokens - r0 < rows ? s.tokens - r0 : rows;
    attention_tile(&s, qkv_data + img * s.tokens * s.ld, head, r0, m, rh, rw, out_data + img * s.tokens * s.c,
                   scratch[omp_get_thread_num()]);
  }
  return VM_OK;
}
