/* AVX-512 routines besides the GEMM micro-kernel: the softmax's exponentials, the rel-pos add of narrow grids and
 * GELU, with the instructions plain C cannot reach (rounding and scaling by powers of two in one step each, a
 * reciprocal estimate, masked loads and stores). Compiled for AVX-512
 * by a function attribute and only called where the CPU has it (cpu_gemm_isa.c). */
#include "cpu_gemm.h"
#include "cpu_math.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* The mask of a vector's first n lanes (none for n <= 0, all 16 for n >= 16). */
static inline __mmask16 first_lanes(int64_t n) {
  return n <= 0 ? 0 : n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
}

/* e^r 2^k for |r| <= ln2 / 2: e^r by its Taylor series to r^7 (truncation error < 6e-9), 2^k by scaling. */
__attribute__((target("avx512f,fma"))) static inline __m512 exp_reduced(__m512 r, __m512 k) {
  __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, k);
}

/* k = round(x / ln 2), the multiple of ln 2 that cpu_expf's range reduction takes out */
__attribute__((target("avx512f,fma"))) static inline __m512 ln2_multiple(__m512 x) {
  return _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                              _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

/* e^x for x in [-87, 88] as cpu_expf computes it: r = x - k ln2 in two steps (ln2 split so that the first is exact),
 * then exp_reduced. */
__attribute__((target("avx512f,fma"))) static inline __m512 exp_core(__m512 x) {
  const __m512 k = ln2_multiple(x);
  __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(k, _mm512_set1_ps(-2.12194440e-4f), r);
  return exp_reduced(r, k);
}

/* e^(row[j .. j + 16) - mx), as cpu_expf computes it, into row and added to acc; `live` the lanes in the row */
__attribute__((target("avx512f,fma"))) static inline __m512 exp16(float *row, __mmask16 live, __m512 vmx, __m512 acc) {
  const __m512 x = _mm512_max_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(live, row), vmx), _mm512_set1_ps(-87.0f));
  const __m512 e = exp_core(x);
  _mm512_mask_storeu_ps(row, live, e);
  return _mm512_mask_add_ps(acc, live, acc, e);
}

/* row[j] = exp(row[j] - mx) for j < n; returns the sum, in float over blocks of 256 values, then in double (as the
 * portable loop of cpu_attention.c sums). exp as cpu_expf computes it (cpu_math.h): x clamped at -87, n = round(x /
 * ln 2), r = x - n ln2 in two steps, e^r by its Taylor series to r^7, times 2^n; max relative error 6.5e-8 on
 * [-40, 0], as the portable one. Whole vectors without a mask, then the tail: a mask made and applied on every
 * vector cost ~30% (development VM, Zen 5). */
__attribute__((target("avx512f,fma"))) double cpu_softmax_exp_avx512(float *row, int64_t n, float mx) {
  const __m512 vmx = _mm512_set1_ps(mx);
  double sum = 0.0;
  for (int64_t j0 = 0; j0 < n; j0 += 256) {
    const int64_t j1 = n - j0 < 256 ? n : j0 + 256;
    __m512 acc = _mm512_setzero_ps();
    int64_t j = j0;
    for (; j + 16 <= j1; j += 16) acc = exp16(row + j, (__mmask16)0xFFFF, vmx, acc);
    if (j < j1) acc = exp16(row + j, first_lanes(j1 - j), vmx, acc);
    sum += _mm512_reduce_add_ps(acc);
  }
  return sum;
}

/* How far values may rise above the reference and still be exponentiated against it: e^30 ~ 1e13, far from float's
 * range in the sums and the P V products. */
#define REF_HEADROOM 30.0f

/* The running state of cpu_softmax_exp_ref_avx512: the reference, its headroom limit, the sums so far. */
typedef struct ref_state {
  float r;
  __m512 vref, limit, acc; /* acc: the current run's sums */
  double sum;              /* the earlier runs' */
} ref_state;

/* One vector of it: v = (row + b) + bw (bw NULL: v = row), exp(v - ref) stored and summed; row - start: the values
 * of the row before this vector (scaled when the reference moves). */
__attribute__((target("avx512f,fma"))) static inline void exp_ref16(float *row, int64_t start, const float *bw,
                                                                   __mmask16 live, __m512 b, ref_state *st) {
  float *dst = row + start;
  __m512 v = _mm512_maskz_loadu_ps(live, dst);
  if (bw) v = _mm512_add_ps(_mm512_add_ps(v, b), _mm512_maskz_loadu_ps(live, bw));
  if (_mm512_mask_cmp_ps_mask(live, v, st->limit, _CMP_GT_OQ)) {
    /* a new reference, this vector's largest value: the row so far and the sums scaled by e^(old - new) */
    const float nr = _mm512_mask_reduce_max_ps(live, v);
    const __m512 f = exp_core(_mm512_max_ps(_mm512_set1_ps(st->r - nr), _mm512_set1_ps(-87.0f)));
    for (int64_t i = 0; i < start; i += 16) {
      const __mmask16 m = first_lanes(start - i);
      _mm512_mask_storeu_ps(row + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, row + i), f));
    }
    st->acc = _mm512_mul_ps(st->acc, f);
    st->sum *= (double)_mm512_cvtss_f32(f);
    st->r = nr;
    st->vref = _mm512_set1_ps(nr);
    st->limit = _mm512_set1_ps(nr + REF_HEADROOM);
  }
  const __m512 e = exp_core(_mm512_max_ps(_mm512_sub_ps(v, st->vref), _mm512_set1_ps(-87.0f)));
  _mm512_mask_storeu_ps(dst, live, e);
  st->acc = _mm512_mask_add_ps(st->acc, live, st->acc, e);
}

/* One pass of the softmax over one row of a key block against a reference *ref (the row's maximum over the earlier
 * blocks) instead of the block's own maximum, with the rel-pos bias added on the way: v_j = (row[j] + bh[y2]) +
 * bw[x2] for key k0 + j = (y2, x2) of a grid ww wide (bh and bw NULL: v_j = row[j]), row[j] = exp(v_j - ref).
 * Where a vector rises more than REF_HEADROOM above the reference, its largest value becomes the reference and what
 * the row has so far is scaled down to it (rare in a trained model: rows' maxima are close across blocks). Returns
 * the sum (in float over runs of at most 256 keys, then in double) against the final reference, left in *ref. */
__attribute__((target("avx512f,fma"))) double cpu_softmax_exp_ref_avx512(float *row, int64_t n, int64_t k0, int64_t ww,
                                                                       const float *bh, const float *bw, float *ref) {
  ref_state st = {.r = *ref, .vref = _mm512_set1_ps(*ref), .limit = _mm512_set1_ps(*ref + REF_HEADROOM), .sum = 0.0};
  int64_t j = 0, y2 = k0 / ww, x2 = k0 % ww;
  while (j < n) {
    int64_t run = bh ? ww - x2 : n - j;
    run = run < n - j ? run : n - j;
    run = run < 256 ? run : 256;
    const __m512 b = bh ? _mm512_set1_ps(bh[y2]) : _mm512_setzero_ps();
    const float *bwr = bh ? bw + x2 : NULL;
    st.acc = _mm512_setzero_ps();
    int64_t x = 0;
    for (; x + 16 <= run; x += 16) exp_ref16(row, j + x, bwr ? bwr + x : NULL, 0xFFFF, b, &st);
    if (x < run) exp_ref16(row, j + x, bwr ? bwr + x : NULL, first_lanes(run - x), b, &st);
    st.sum += _mm512_reduce_add_ps(st.acc);
    j += run;
    x2 += run;
    if (bh && x2 >= ww) x2 = 0, y2++;
  }
  *ref = st.r;
  return st.sum;
}

/* row[j] = (row[j] + bh[yi[j]]) + bw[xi[j]] for j < kb, and the row's largest value: add_rel_pos of cpu_attention.c
 * on a narrow grid (the same sums in the same order, the maximum by cpu_float_order), with both tables (at most 32
 * entries each: nh, nw) held in registers and looked up by permutes where the portable loop gathers from memory. */
__attribute__((target("avx512f,fma"))) float cpu_rel_pos_row_avx512(float *row, int64_t kb, const int32_t *yi,
                                                                   const int32_t *xi, const float *bh, int64_t nh,
                                                                   const float *bw, int64_t nw) {
  const __m512 bh0 = _mm512_maskz_loadu_ps(first_lanes(nh), bh);
  const __m512 bh1 = _mm512_maskz_loadu_ps(first_lanes(nh - 16), bh + 16);
  const __m512 bw0 = _mm512_maskz_loadu_ps(first_lanes(nw), bw);
  const __m512 bw1 = _mm512_maskz_loadu_ps(first_lanes(nw - 16), bw + 16);
  __m512i mk = _mm512_set1_epi32(INT32_MIN);
  for (int64_t j = 0; j < kb; j += 16) {
    const __mmask16 live = first_lanes(kb - j);
    const __m512 h = _mm512_permutex2var_ps(bh0, _mm512_maskz_loadu_epi32(live, yi + j), bh1);
    const __m512 w = _mm512_permutex2var_ps(bw0, _mm512_maskz_loadu_epi32(live, xi + j), bw1);
    const __m512 v = _mm512_add_ps(_mm512_add_ps(_mm512_maskz_loadu_ps(live, row + j), h), w);
    _mm512_mask_storeu_ps(row + j, live, v);
    /* cpu_float_order: negative values get their magnitude bits flipped, so that integers order as the floats */
    const __m512i bits = _mm512_castps_si512(v);
    const __m512i key = _mm512_xor_si512(bits, _mm512_srli_epi32(_mm512_srai_epi32(bits, 31), 1));
    mk = _mm512_mask_max_epi32(mk, live, mk, key);
  }
  return cpu_order_float(_mm512_reduce_max_epi32(mk));
}

/* GELU of 16 values by cpu_gelu's formula (cpu_math.h: x/2 erfc(-x/sqrt 2), erfc(z) = t exp(-z^2 + P(t)) with
 * t = 1 / (1 + z/2), z^2 split into an exact head and a tail for exp), but t from the reciprocal estimate (2^-14)
 * and one Newton step (then within about 1 ulp of the quotient) instead of a division: a 16-wide division alone
 * issues once every 8-10 cycles on recent Xeons. Not bit-identical to cpu_gelu: within a few ulp, 1e-6 relative. */
__attribute__((target("avx512f,fma"))) static inline __m512 gelu16(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.0f), lowest = _mm512_set1_ps(-87.0f), highest = _mm512_set1_ps(88.0f);
  const __m512i xb = _mm512_castps_si512(x);
  const __m512 z = _mm512_mul_ps(_mm512_castsi512_ps(_mm512_and_si512(xb, _mm512_set1_epi32(0x7FFFFFFF))),
                                 _mm512_set1_ps(0.70710678118654752f));
  const __m512 den = _mm512_fmadd_ps(_mm512_set1_ps(0.5f), z, one);
  __m512 t = _mm512_rcp14_ps(den);
  t = _mm512_fmadd_ps(t, _mm512_fnmadd_ps(den, t, one), t);
  __m512 p = _mm512_set1_ps(0.17087277f);
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.82215223f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.48851587f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.13520398f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.27886807f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.18628806f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.09678418f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.37409196f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.00002368f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.26551223f));
  /* exp(hi + lo), hi = -xh^2 / 2 exact, lo = P(t) - (xh xl + xl^2 / 2): cpu_expf2 */
  const __m512 xh = _mm512_castsi512_ps(_mm512_and_si512(xb, _mm512_set1_epi32((int)0xFFFFF000u)));
  const __m512 xl = _mm512_sub_ps(x, xh);
  const __m512 hi_raw = _mm512_mul_ps(_mm512_set1_ps(-0.5f), _mm512_mul_ps(xh, xh));
  const __m512 hi = _mm512_min_ps(_mm512_max_ps(hi_raw, lowest), highest);
  /* the tail dropped where hi is past exp's range, as cpu_gelu does (else it overflows for |x| over ~3e4) */
  const __mmask16 in_range = _mm512_cmp_ps_mask(hi_raw, lowest, _CMP_GE_OQ);
  const __m512 lo = _mm512_maskz_sub_ps(
      in_range, p, _mm512_fmadd_ps(xh, xl, _mm512_mul_ps(_mm512_set1_ps(0.5f), _mm512_mul_ps(xl, xl))));
  const __m512 sum = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(hi, lo), lowest), highest);
  const __m512 n = ln2_multiple(sum);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), hi);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), _mm512_add_ps(r, lo));
  const __m512 e = _mm512_mul_ps(t, exp_reduced(r, n));
  /* erfc(u) = e for x < 0 (by the sign bit, -0 included, as cpu_gelu), 2 - e otherwise */
  const __mmask16 negative = _mm512_cmplt_epi32_mask(xb, _mm512_setzero_si512());
  const __m512 erfc_u = _mm512_mask_blend_ps(negative, _mm512_sub_ps(_mm512_set1_ps(2.0f), e), e);
  return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x), erfc_u);
}

/* v[j] = GELU(v[j]) for j < n. */
__attribute__((target("avx512f,fma"))) void cpu_gelu_avx512(float *v, int64_t n) {
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) _mm512_storeu_ps(v + j, gelu16(_mm512_loadu_ps(v + j)));
  if (j < n) {
    const __mmask16 live = first_lanes(n - j);
    _mm512_mask_storeu_ps(v + j, live, gelu16(_mm512_maskz_loadu_ps(live, v + j)));
  }
}
#endif
