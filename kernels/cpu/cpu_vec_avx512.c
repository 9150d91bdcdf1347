/* AVX-512 routines besides the GEMM micro-kernel: the softmax's exponentials and GELU, with the instructions plain C
 * cannot reach (rounding and scaling by powers of two in one step each, a reciprocal estimate). Compiled for AVX-512 by a function attribute and
 * only called where the CPU has it (cpu_gemm_isa.c). */
#include "cpu_gemm.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include <math.h>

/* e^x for x in [-87, 88] as cpu_expf computes it: n = round(x / ln 2), r = x - n ln2 in two steps, e^r by its
 * Taylor series to r^7, times 2^n. */
__attribute__((target("avx512f,fma"))) static inline __m512 exp_core(__m512 x) {
  const __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(k, _mm512_set1_ps(-2.12194440e-4f), r);
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
    if (j < j1) acc = exp16(row + j, (__mmask16)((1u << (j1 - j)) - 1u), vmx, acc);
    sum += _mm512_reduce_add_ps(acc);
  }
  return sum;
}

/* One vector of cpu_softmax_exp_ref_avx512: v = (row + b) + bw (bw NULL: v = row), the lanes' maxima of v into *mx,
 * exp(v - ref) (clamped to [-87, 88], as cpu_expf) stored and added to acc. */
__attribute__((target("avx512f,fma"))) static inline __m512 exp_ref16(float *row, const float *bw, __mmask16 live,
                                                                     __m512 b, __m512 vref, __m512 acc, __m512 *mx) {
  __m512 v = _mm512_maskz_loadu_ps(live, row);
  if (bw) v = _mm512_add_ps(_mm512_add_ps(v, b), _mm512_maskz_loadu_ps(live, bw));
  *mx = _mm512_mask_max_ps(*mx, live, *mx, v);
  const __m512 x = _mm512_min_ps(_mm512_max_ps(_mm512_sub_ps(v, vref), _mm512_set1_ps(-87.0f)), _mm512_set1_ps(88.0f));
  const __m512 e = exp_core(x);
  _mm512_mask_storeu_ps(row, live, e);
  return _mm512_mask_add_ps(acc, live, acc, e);
}

/* One pass of the softmax over one row of a key block against a reference `ref` (the row's maximum over the earlier
 * blocks) instead of the block's own maximum, with the rel-pos bias added on the way: v_j = (row[j] + bh[y2]) +
 * bw[x2] for key k0 + j = (y2, x2) of a grid ww wide (bh and bw NULL: v_j = row[j]), row[j] = exp(v_j - ref).
 * Returns the sum (in float over runs of at most 256 keys, then in double) and the largest v_j in *vmax, by which
 * the caller tells whether v overtook ref by more than float's exponentials may (it then starts the row over). */
__attribute__((target("avx512f,fma"))) double cpu_softmax_exp_ref_avx512(float *row, int64_t n, int64_t k0, int64_t ww,
                                                                       const float *bh, const float *bw, float ref,
                                                                       float *vmax) {
  const __m512 vref = _mm512_set1_ps(ref);
  __m512 mx = _mm512_set1_ps(-INFINITY);
  double sum = 0.0;
  int64_t j = 0, y2 = k0 / ww, x2 = k0 % ww;
  while (j < n) {
    int64_t run = bh ? ww - x2 : n - j;
    run = run < n - j ? run : n - j;
    run = run < 256 ? run : 256;
    const __m512 b = bh ? _mm512_set1_ps(bh[y2]) : _mm512_setzero_ps();
    __m512 acc = _mm512_setzero_ps();
    const float *bwr = bh ? bw + x2 : NULL;
    int64_t x = 0;
    for (; x + 16 <= run; x += 16) acc = exp_ref16(row + j + x, bwr ? bwr + x : NULL, 0xFFFF, b, vref, acc, &mx);
    if (x < run)
      acc = exp_ref16(row + j + x, bwr ? bwr + x : NULL, (__mmask16)((1u << (run - x)) - 1u), b, vref, acc, &mx);
    sum += _mm512_reduce_add_ps(acc);
    j += run;
    x2 += run;
    if (bh && x2 >= ww) x2 = 0, y2++;
  }
  *vmax = _mm512_reduce_max_ps(mx);
  return sum;
}

/* GELU of 16 values as cpu_gelu computes it (cpu_math.h: x/2 erfc(-x/sqrt 2), erfc(z) = t exp(-z^2 + P(t)) with
 * t = 1 / (1 + z/2), z^2 split into an exact head and a tail for exp), but t from the reciprocal estimate (2^-14)
 * and one Newton step (then within about 1 ulp of the quotient) instead of a division: a 16-wide division alone
 * issues once every 8-10 cycles on recent Xeons. */
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
  const __m512 hi = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(_mm512_set1_ps(-0.5f), _mm512_mul_ps(xh, xh)), lowest),
                                  highest);
  const __m512 lo = _mm512_sub_ps(p, _mm512_fmadd_ps(xh, xl, _mm512_mul_ps(_mm512_set1_ps(0.5f), _mm512_mul_ps(xl, xl))));
  const __m512 sum = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(hi, lo), lowest), highest);
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(sum, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), hi);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), _mm512_add_ps(r, lo));
  __m512 q = _mm512_set1_ps(1.0f / 5040.0f);
  q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(1.0f / 720.0f));
  q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(1.0f / 120.0f));
  q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(1.0f / 24.0f));
  q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(1.0f / 6.0f));
  q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(0.5f));
  q = _mm512_fmadd_ps(q, r, one);
  q = _mm512_fmadd_ps(q, r, one);
  const __m512 e = _mm512_mul_ps(t, _mm512_scalef_ps(q, n));
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
    const __mmask16 live = (__mmask16)((1u << (n - j)) - 1u);
    _mm512_mask_storeu_ps(v + j, live, gelu16(_mm512_maskz_loadu_ps(live, v + j)));
  }
}
#endif
