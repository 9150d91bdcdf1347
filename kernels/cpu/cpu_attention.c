/* Multi-head self-attention with decomposed relative position bias on the CPU, in (head, query block) tiles that
 * walk over the keys in blocks with a running softmax, so that no buffer grows with N beyond the rel-pos rows and
 * one head's keys and values. The products run on the GEMM micro-kernels (cpu_gemm.h): each head's K and V are
 * packed into panels once and read by every query tile of that head; Q and the probabilities are read in place. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "cpu_check.h"
#include "cpu_gemm.h"
#include "cpu_math.h"
#include "cpu_ops.h"
#include "cpu_simd.h"
#include "error.h"

/* A tile is up to ATTN_ROWS queries of one head. Its scores against one block of ATTN_KEYS keys (rows x keys
 * floats, 512 KiB) stay in L2 between the QK^T product, the rel-pos add, the exponentials and the PV product.
 * Holding the scores of all N keys instead (N ~ 47000 for a 12 MP photo) would fall out of cache. ATTN_KEYS is a
 * multiple of the 32 keys of a packed panel. On the development VM (1 MiB L2) 256 x 512 beat 256 x 1024 by ~4% and
 * 128 x 1024 by more (one thread, A/B in one run). */
#ifndef CPU_ATTN_ROWS
#define CPU_ATTN_ROWS 256
#endif
#ifndef CPU_ATTN_KEYS
#define CPU_ATTN_KEYS 512
#endif
enum { ATTN_ROWS = CPU_ATTN_ROWS, ATTN_KEYS = CPU_ATTN_KEYS };

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Query rows of a tile: at most ATTN_ROWS, a whole number of micro-tiles (256 rows are 18 micro-tiles of 14 and 4
 * rows, whose last micro-tile the driver computes over again: 252 made global attention ~3% faster). */
static int64_t tile_rows(const cpu_gemm_isa *isa, int64_t rows) {
  rows = min64(rows, ATTN_ROWS);
  return rows >= isa->mr ? rows / isa->mr * isa->mr : rows;
}

typedef struct attention_shape {
  int64_t tokens, hh, ww, c, d, ld; /* ld = 3C: row stride of q, k and v inside qkv */
  float scale;
} attention_shape;

/* The rel-pos products of a tile's queries in key-grid order: bh[i, y2] = ph[i, y1 - y2 + hh - 1] and
 * bw[i, x2] = pw[i, x1 - x2 + ww - 1] for query r0 + i = (y1, x1), so that adding them walks forwards. */
static void rel_tables(const attention_shape *s, int64_t r0, int64_t m, const float *ph, const float *pw, float *bh,
                       float *bw) {
  const int64_t lh = 2 * s->hh - 1, lw = 2 * s->ww - 1;
  for (int64_t i = 0; i < m; i++) {
    const int64_t q = r0 + i, y1 = q / s->ww, x1 = q % s->ww;
    for (int64_t y2 = 0; y2 < s->hh; y2++) bh[i * s->hh + y2] = ph[i * lh + y1 - y2 + s->hh - 1];
    for (int64_t x2 = 0; x2 < s->ww; x2++) bw[i * s->ww + x2] = pw[i * lw + x1 - x2 + s->ww - 1];
  }
}

/* scores[i, j] += bh[i, y2] + bw[i, x2] for key k0 + j = (y2, x2), added in this order (rel_h first) as
 * transformers does, and block_max[i] = the row's largest score, in the same pass. On grids at least 32 wide the
 * keys are walked a grid row at a time, each run a plain vectorisable loop; narrower grids (windows: 14) would make
 * those runs too short, so there every key's grid row and column come from index tables (yi, xi: kb entries each,
 * the same for every query) and the two tables are gathered, or with AVX-512 held in registers and permuted where
 * the block spans at most 32 key rows (a window's 14 x 14 keys: ~4x faster than the gathers on Zen 5). */
CPU_VECTOR_CLONES
static void add_rel_pos(const cpu_gemm_isa *isa, const attention_shape *s, int64_t m, int64_t k0, int64_t kb,
                        float *scores, const float *bh, const float *bw, float *block_max, int32_t *yi, int32_t *xi) {
  if (s->ww < 32) {
    const int64_t y0 = k0 / s->ww, nh = (k0 + kb - 1) / s->ww - y0 + 1; /* the key rows of this block */
    for (int64_t j = 0; j < kb; j++) {
      yi[j] = (int32_t)((k0 + j) / s->ww - y0);
      xi[j] = (int32_t)((k0 + j) % s->ww);
    }
    if (isa->rel_pos_row && nh <= 32) { /* both tables in registers (windows: 14 + 14 values), no gathers */
      for (int64_t i = 0; i < m; i++)
        block_max[i] = isa->rel_pos_row(scores + i * kb, kb, yi, xi, bh + i * s->hh + y0, nh, bw + i * s->ww, s->ww);
      return;
    }
    for (int64_t i = 0; i < m; i++) {
      float *row = scores + i * kb;
      const float *brow_h = bh + i * s->hh + y0, *brow_w = bw + i * s->ww;
      int32_t mk = INT32_MIN;
#pragma omp simd reduction(max : mk)
      for (int64_t j = 0; j < kb; j++) {
        const float v = (row[j] + brow_h[yi[j]]) + brow_w[xi[j]];
        row[j] = v;
        const int32_t k = cpu_float_order(v);
        mk = k > mk ? k : mk;
      }
      block_max[i] = cpu_order_float(mk);
    }
    return;
  }
  for (int64_t i = 0; i < m; i++) {
    float *row = scores + i * kb;
    const float *brow_h = bh + i * s->hh, *brow_w = bw + i * s->ww;
    int32_t mk = INT32_MIN;
    int64_t j = 0, y2 = k0 / s->ww, x2 = k0 % s->ww;
    while (j < kb) {
      const int64_t run = min64(s->ww - x2, kb - j);
      const float b = brow_h[y2];
      float *seg = row + j - x2; /* seg[x] is the key (y2, x) */
#pragma omp simd reduction(max : mk)
      for (int64_t x = x2; x < x2 + run; x++) {
        const float v = (seg[x] + b) + brow_w[x];
        seg[x] = v;
        const int32_t k = cpu_float_order(v);
        mk = k > mk ? k : mk;
      }
      j += run;
      x2 = 0;
      y2++;
    }
    block_max[i] = cpu_order_float(mk);
  }
}

/* The running softmax over one key block: each row of scores becomes exp(s - max so far) in place; the row's
 * running max and sum (in double) are updated, and rescale[i] is the factor exp(old max - new max) by which what
 * was accumulated for earlier blocks must shrink (0 on the first block). Rounding in that factor cancels in the
 * final out / sum, which it scales alike. Block sums run in float over 256 values (`omp simd` reassociates
 * them without -ffast-math), then in double. block_max: the rows' maxima over this block when already known
 * (add_rel_pos finds them), else NULL. */
enum { SOFTMAX_SUM_BLOCK = 256 };

CPU_VECTOR_CLONES
static void softmax_block(const cpu_gemm_isa *isa, float *scores, int64_t m, int64_t kb, int first,
                          const float *block_max, float *row_max, double *row_sum, float *rescale) {
  for (int64_t i = 0; i < m; i++) {
    float *row = scores + i * kb;
    float mx;
    if (block_max) {
      mx = block_max[i];
    } else {
      int32_t mk = INT32_MIN;
#pragma omp simd reduction(max : mk)
      for (int64_t j = 0; j < kb; j++) {
        int32_t k = cpu_float_order(row[j]);
        mk = k > mk ? k : mk;
      }
      mx = cpu_order_float(mk);
    }
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
    if (isa->softmax_exp) { /* the same sums, with the CPU's own rounding and scaling instructions */
      sum = isa->softmax_exp(row, kb, mx);
      row_sum[i] = first ? sum : row_sum[i] * rescale[i] + sum;
      continue;
    }
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

/* One (image, head)'s operands as the products read them: K as B of S = Q K^T (n = keys, k = d), V as B of O = P V
 * (n = d, k = keys), and the rel-pos tables as B of q.Rh and q.Rw (n = 2hh-1 or 2ww-1, k = d). */
typedef struct head_operands {
  cpu_gemm_b kt, v, rh, rw;
} head_operands;

static size_t packed_kv_floats(const attention_shape *s) {
  return cpu_gemm_packed_b_floats(s->tokens, s->d) + cpu_gemm_packed_b_floats(s->d, s->tokens);
}

/* The keys and values of one head of one image: packed into `dst` (packed_kv_floats) for the micro-kernels, panels
 * [p0, p1) of the keys and then of the values (panel indices run over both: keys first), or for BLAS read in
 * place. */
static void pack_kv(const cpu_gemm_isa *isa, const attention_shape *s, const float *qkv_img, int64_t head, int64_t p0,
                    int64_t p1, float *dst, head_operands *h) {
  const int64_t n = s->tokens, d = s->d, ld = s->ld;
  const float *k = qkv_img + s->c + head * d, *v = qkv_img + 2 * s->c + head * d;
  if (!isa->kernel) {
    h->kt = (cpu_gemm_b){.data = k, .panel_stride = 0, .ld = ld, .kn = 0};
    h->v = (cpu_gemm_b){.data = v, .panel_stride = 0, .ld = ld, .kn = 1};
    return;
  }
  const int64_t kpanels = cpu_gemm_panels(n);
  float *vdst = dst + cpu_gemm_packed_b_floats(n, d);
  for (int64_t p = p0; p < p1; p++) {
    if (p < kpanels) {
      cpu_gemm_pack_b(k, ld, n, d, p, p + 1, dst);
      continue;
    }
    /* V is already [keys][d]: a panel of 32 of its columns is a copy of those columns of every row */
    const int64_t vp = p - kpanels, c0 = vp * CPU_GEMM_NR, cols = d - c0 < CPU_GEMM_NR ? d - c0 : CPU_GEMM_NR;
    float *panel = vdst + vp * n * CPU_GEMM_NR;
    for (int64_t j = 0; j < n; j++) {
      memcpy(panel + j * CPU_GEMM_NR, v + j * ld + c0, (size_t)cols * sizeof(float));
      if (cols < CPU_GEMM_NR) memset(panel + j * CPU_GEMM_NR + cols, 0, (size_t)(CPU_GEMM_NR - cols) * sizeof(float));
    }
  }
  h->kt = (cpu_gemm_b){.data = dst, .panel_stride = d * CPU_GEMM_NR, .ld = 0, .kn = 0};
  h->v = (cpu_gemm_b){.data = vdst, .panel_stride = n * CPU_GEMM_NR, .ld = 0, .kn = 0};
}

static int64_t kv_panels(const attention_shape *s) { return cpu_gemm_panels(s->tokens) + cpu_gemm_panels(s->d); }

/* Per-thread floats of one tile of m queries: scores of a key block, the rel-pos products, the products' work. */
static size_t tile_floats(const cpu_gemm_isa *isa, const attention_shape *s, int64_t m) {
  const int64_t bk = min64(ATTN_KEYS, s->tokens), lh = 2 * s->hh - 1, lw = 2 * s->ww - 1;
  int64_t widest = bk > lh ? bk : lh;
  widest = widest > lw ? widest : lw;
  const int64_t deepest = bk > s->d ? bk : s->d;
  return (size_t)(m * (bk + lh + lw + s->hh + s->ww)) + cpu_gemm_work_floats(isa, m, widest, deepest) + 16;
}

/* B starting `k0` rows into every panel (micro-kernels) or into the plain matrix. */
static cpu_gemm_b rows_from(const cpu_gemm_b *b, int64_t k0) {
  cpu_gemm_b r = *b;
  r.data += r.panel_stride ? k0 * CPU_GEMM_NR : k0 * (r.kn ? r.ld : 1);
  return r;
}

/* B starting at column (key) j0: whole panels for the micro-kernels, rows of the plain [n, k] matrix for BLAS. */
static cpu_gemm_b cols_from(const cpu_gemm_b *b, int64_t j0) {
  cpu_gemm_b r = *b;
  r.data += r.panel_stride ? j0 / CPU_GEMM_NR * r.panel_stride : j0 * r.ld;
  return r;
}

/* The softmax of key blocks after the first where the ISA has the one-pass routine: each row exponentiated against
 * its maximum so far, the rel-pos bias added on the way; the output row and sum need rescaling only where the
 * routine moved that reference up (by more than its headroom). */
static void softmax_block_ref(const cpu_gemm_isa *isa, const attention_shape *s, int64_t m, int64_t k0, int64_t kb,
                              float *scores, const float *bh, const float *bw, float *row_max, double *row_sum,
                              float *rescale) {
  for (int64_t i = 0; i < m; i++) {
    float ref = row_max[i];
    const double sum = isa->softmax_exp_ref(scores + i * kb, kb, k0, s->ww, bh ? bh + i * s->hh : NULL,
                                            bw ? bw + i * s->ww : NULL, &ref);
    if (ref == row_max[i]) {
      rescale[i] = 1.0f;
      row_sum[i] += sum;
    } else {
      rescale[i] = cpu_expf(row_max[i] - ref);
      row_sum[i] = row_sum[i] * rescale[i] + sum;
      row_max[i] = ref;
    }
  }
}

static void attention_tile(const cpu_gemm_isa *isa, const attention_shape *s, const float *qkv_img, int64_t head,
                           int64_t r0, int64_t m, const head_operands *h, int rel, float *out_img, float *scratch) {
  const int64_t n = s->tokens, d = s->d, ld = s->ld, c = s->c;
  const int64_t bk = min64(ATTN_KEYS, n), lh = 2 * s->hh - 1, lw = 2 * s->ww - 1;
  float *scores = scratch, *ph = scores + m * bk, *pw = ph + m * lh, *bh = pw + m * lw, *bw = bh + m * s->hh;
  float *work = bw + m * s->ww;
  work += (16 - ((uintptr_t)work / sizeof(float)) % 16) % 16; /* 64-byte aligned, as the micro-kernels store */
  const cpu_gemm_a q = {.data = qkv_img + r0 * ld + head * d, .lda = ld, .line = 0, .nseg = 1, .kseg = d};
  const cpu_gemm_epilogue plain = {NULL, VM_ACT_NONE, NULL, 0, 1.0f, NULL};
  if (rel) {
    /* the bias uses the unscaled q */
    cpu_gemm_block(isa, &q, 1, m, &h->rh, 0, lh, ph, lh, 0, &plain, work);
    cpu_gemm_block(isa, &q, 1, m, &h->rw, 0, lw, pw, lw, 0, &plain, work);
    rel_tables(s, r0, m, ph, pw, bh, bw);
  }
  float row_max[ATTN_ROWS], block_max[ATTN_ROWS], rescale[ATTN_ROWS];
  int32_t key_y[ATTN_KEYS], key_x[ATTN_KEYS];
  double row_sum[ATTN_ROWS];
  /* the output rows themselves accumulate sum_j exp(s_j - max) v_j; they are divided by the sum at the end */
  float *o = out_img + r0 * c + head * d;
  const cpu_gemm_epilogue scaled = {NULL, VM_ACT_NONE, NULL, 0, s->scale, NULL};
  for (int64_t k0 = 0; k0 < n; k0 += bk) {
    const int64_t kb = min64(bk, n - k0);
    const int first = k0 == 0;
    const cpu_gemm_b kt = cols_from(&h->kt, k0), v = rows_from(&h->v, k0);
    cpu_gemm_block(isa, &q, 1, m, &kt, 0, kb, scores, kb, 0, &scaled, work);
    if (!first && isa->softmax_exp_ref) {
      softmax_block_ref(isa, s, m, k0, kb, scores, rel ? bh : NULL, rel ? bw : NULL, row_max, row_sum, rescale);
    } else {
      if (rel) add_rel_pos(isa, s, m, k0, kb, scores, bh, bw, block_max, key_y, key_x);
      softmax_block(isa, scores, m, kb, first, rel ? block_max : NULL, row_max, row_sum, rescale);
    }
    /* o = rescale * o + P V; rescale is exactly 1 for rows whose maximum did not move (or kept as the reference) */
    const cpu_gemm_a p = {.data = scores, .lda = kb, .line = 0, .nseg = 1, .kseg = kb};
    const cpu_gemm_epilogue acc = {NULL, VM_ACT_NONE, first ? NULL : o, c, 1.0f, first ? NULL : rescale};
    cpu_gemm_block(isa, &p, 1, m, &v, 0, d, o, c, 0, &acc, work);
  }
  for (int64_t i = 0; i < m; i++) {
    const double inv = 1.0 / row_sum[i];
    for (int64_t j = 0; j < d; j++) o[i * c + j] = (float)(o[i * c + j] * inv);
  }
}

/* Per-thread floats of a small group (a window: one task packs its own keys and values), or of a tile of a large
 * group's query block of `rows` queries. */
static size_t task_floats(const cpu_gemm_isa *isa, const attention_shape *s, int64_t rows) {
  if (s->tokens <= ATTN_KEYS) return packed_kv_floats(s) + 16 + tile_floats(isa, s, tile_rows(isa, s->tokens));
  return tile_floats(isa, s, rows);
}

/* Floats of the shared buffer: the packed rel-pos tables and, for large groups, one head's packed keys and values. */
static size_t shared_floats(const cpu_gemm_isa *isa, const attention_shape *s) {
  if (!isa->kernel) return 0;
  return cpu_gemm_packed_b_floats(2 * s->hh - 1, s->d) + cpu_gemm_packed_b_floats(2 * s->ww - 1, s->d) +
         (s->tokens > ATTN_KEYS ? packed_kv_floats(s) : 0);
}

cpu_need cpu_attention_need(const cpu_runtime *rt, int64_t tokens, int64_t head_dim, int64_t hh, int64_t ww) {
  attention_shape s = {.tokens = tokens, .hh = hh, .ww = ww, .d = head_dim};
  return (cpu_need){task_floats(rt->gemm, &s, tile_rows(rt->gemm, tokens)), shared_floats(rt->gemm, &s)};
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

  const cpu_gemm_isa *isa = rt->gemm;
  const int64_t lh = 2 * s.hh - 1, lw = 2 * s.ww - 1;
  vm_status st = cpu_shared_reserve(rt, shared_floats(isa, &s), err);
  if (st != VM_OK) return st;
  head_operands base = {0};
  float *kv_shared = NULL;
  if (isa->kernel) {
    float *rhp = rt->shared, *rwp = rhp + cpu_gemm_packed_b_floats(lh, s.d);
    kv_shared = rwp + cpu_gemm_packed_b_floats(lw, s.d);
    if (rh) {
      cpu_gemm_pack_b(rh, s.d, lh, s.d, 0, cpu_gemm_panels(lh), rhp);
      cpu_gemm_pack_b(rw, s.d, lw, s.d, 0, cpu_gemm_panels(lw), rwp);
    }
    base.rh = (cpu_gemm_b){.data = rhp, .panel_stride = s.d * CPU_GEMM_NR, .ld = 0, .kn = 0};
    base.rw = (cpu_gemm_b){.data = rwp, .panel_stride = s.d * CPU_GEMM_NR, .ld = 0, .kn = 0};
  } else {
    base.rh = (cpu_gemm_b){.data = rh, .panel_stride = 0, .ld = s.d, .kn = 0};
    base.rw = (cpu_gemm_b){.data = rw, .panel_stride = 0, .ld = s.d, .kn = 0};
  }
  const int rel = rh != NULL;
  const float *qkv_data = qkv->data;
  float *out_data = out->data;
  float *const *scratch = rt->scratch;
  const int64_t groups = qkv->n * heads;

  if (s.tokens <= ATTN_KEYS) {
    /* Small groups (windows): one task per (image, head) packs its own keys and values and runs its queries. */
    const int team = cpu_team(rt, groups);
    st = cpu_scratch_reserve(rt, team, task_floats(isa, &s, 0), err);
    if (st != VM_OK) return st;
    const size_t kv = packed_kv_floats(&s) + 16;
    const int64_t tile = tile_rows(isa, s.tokens);
#pragma omp parallel for num_threads(team) schedule(dynamic, 1)
    for (int64_t g = 0; g < groups; g++) {
      const int64_t img = g / heads, head = g % heads;
      const float *qkv_img = qkv_data + img * s.tokens * s.ld;
      float *ws = scratch[omp_get_thread_num()];
      head_operands h = base;
      pack_kv(isa, &s, qkv_img, head, 0, kv_panels(&s), ws, &h);
      for (int64_t r0 = 0; r0 < s.tokens; r0 += tile)
        attention_tile(isa, &s, qkv_img, head, r0, min64(tile, s.tokens - r0), &h, rel,
                       out_data + img * s.tokens * s.c, ws + kv);
    }
    return VM_OK;
  }

  /* Large groups (global attention): per (image, head), the keys and values are packed once by all threads, then
   * the query blocks are spread over them; blocks shrink when there are many threads so that each gets several. */
  int64_t rows = (s.tokens + 4 * rt->threads - 1) / (4 * rt->threads);
  rows = tile_rows(isa, rows < 64 ? 64 : rows);
  const int64_t blocks = (s.tokens + rows - 1) / rows;
  const int team = cpu_team(rt, blocks);
  st = cpu_scratch_reserve(rt, team, task_floats(isa, &s, rows), err);
  if (st != VM_OK) return st;
  for (int64_t g = 0; g < groups; g++) {
    const int64_t img = g / heads, head = g % heads;
    const float *qkv_img = qkv_data + img * s.tokens * s.ld;
    head_operands h = base;
    if (isa->kernel) {
      const int64_t panels = kv_panels(&s);
#pragma omp parallel for num_threads(cpu_team(rt, panels)) schedule(static)
      for (int64_t p = 0; p < panels; p++) {
        head_operands ignored;
        pack_kv(isa, &s, qkv_img, head, p, p + 1, kv_shared, &ignored);
      }
    }
    pack_kv(isa, &s, qkv_img, head, 0, 0, kv_shared, &h); /* describes the packed operands, packs nothing */
#pragma omp parallel for num_threads(team) schedule(dynamic, 1)
    for (int64_t blk = 0; blk < blocks; blk++) {
      const int64_t r0 = blk * rows;
      attention_tile(isa, &s, qkv_img, head, r0, min64(rows, s.tokens - r0), &h, rel,
                     out_data + img * s.tokens * s.c, scratch[omp_get_thread_num()]);
    }
  }
  return VM_OK;
}
