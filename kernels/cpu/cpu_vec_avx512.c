/* AVX-512 routines besides the GEMM micro-kernel: the softmax's exponentials, with the instructions plain C cannot
 * reach (rounding and scaling by powers of two in one step each). Compiled for AVX-512 by a function attribute and
 * only called where the CPU has it (cpu_gemm_isa.c). */
#include "cpu_gemm.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* e^(row[j .. j + 16) - mx), as cpu_expf computes it, into row and added to acc; `live` the lanes in the row */
__attribute__((target("avx512f,fma"))) static inline __m512 exp16(float *row, __mmask16 live, __m512 vmx, __m512 acc) {
  const __m512 log2e = _mm512_set1_ps(1.44269504088896341f);
  const __m512 ln2_hi = _mm512_set1_ps(0.693359375f), ln2_lo = _mm512_set1_ps(-2.12194440e-4f);
  const __m512 x = _mm512_max_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(live, row), vmx), _mm512_set1_ps(-87.0f));
  const __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(k, ln2_hi, x);
  r = _mm512_fnmadd_ps(k, ln2_lo, r);
  __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  const __m512 e = _mm512_scalef_ps(p, k);
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
#endif
