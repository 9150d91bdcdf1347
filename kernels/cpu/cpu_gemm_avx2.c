/* The AVX2 + FMA micro-kernel: a 6 x 32 tile of C as two 6 x 16 halves, each in 12 ymm accumulators (16 registers in
 * all), one pass over A per half, A read in place (row i at a + i * lda), the epilogue on the registers. Compiled
 * for AVX2 by a function attribute and only called where the CPU has it (cpu_gemm_isa.c). */
#include "cpu_gemm.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

__attribute__((target("avx2,fma"))) void cpu_gemm_kernel_avx2(const float *a, int64_t lda, const int64_t *off,
                                                              int nseg, int64_t kseg, const float *b,
                                                              const cpu_tile_ep *ep, float *t, int64_t ldt) {
  const int64_t l2 = 2 * lda;
  /* the epilogue's operands in locals: float stores could otherwise alias ep->alpha */
  const float alpha = ep->alpha, *acc = ep->acc, *bias = ep->bias, *res = ep->residual, *rs = ep->row_scale;
  const int relu = ep->relu;
  const int64_t ldr = ep->ldr;
  for (int half = 0; half < 2; half++) {
    const float *bp = b + 16 * half;
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int s = 0; s < nseg; s++) {
      const float *p0 = a + off[s], *p1 = p0 + 3 * lda;
      for (int64_t q = 0; q < kseg; q++) {
        const __m256 b0 = _mm256_load_ps(bp), b1 = _mm256_load_ps(bp + 8);
#define ROW(src, i)                                                                                                 \
  {                                                                                                                 \
    const __m256 ai = _mm256_broadcast_ss(&(src));                                                                  \
    c##i##0 = _mm256_fmadd_ps(ai, b0, c##i##0);                                                                     \
    c##i##1 = _mm256_fmadd_ps(ai, b1, c##i##1);                                                                     \
  }
        ROW(p0[0], 0) ROW(p0[lda], 1) ROW(p0[l2], 2) ROW(p1[0], 3) ROW(p1[lda], 4) ROW(p1[l2], 5)
#undef ROW
        p0++, p1++;
        bp += CPU_GEMM_NR;
      }
    }
    /* the epilogue on the registers (cpu_tile_ep's order, each step only where asked), as the AVX-512 kernel */
    const int64_t h = 16 * half;
    float *tt = t + h;
#define ROW_OUT(i)                                                                                                  \
  {                                                                                                                 \
    if (alpha != 1.0f)                                                                                              \
      c##i##0 = _mm256_mul_ps(c##i##0, _mm256_set1_ps(alpha)),                                                      \
      c##i##1 = _mm256_mul_ps(c##i##1, _mm256_set1_ps(alpha));                                                      \
    if (acc)                                                                                                        \
      c##i##0 = _mm256_add_ps(_mm256_loadu_ps(acc + (i) * CPU_GEMM_NR + h), c##i##0),                               \
      c##i##1 = _mm256_add_ps(_mm256_loadu_ps(acc + (i) * CPU_GEMM_NR + h + 8), c##i##1);                           \
    if (bias)                                                                                                       \
      c##i##0 = _mm256_add_ps(c##i##0, _mm256_loadu_ps(bias + h)),                                                  \
      c##i##1 = _mm256_add_ps(c##i##1, _mm256_loadu_ps(bias + h + 8));                                              \
    if (relu) /* negative (and -0) to +0 by the sign bit, as cpu_relu */                                            \
      c##i##0 = _mm256_castsi256_ps(_mm256_andnot_si256(_mm256_srai_epi32(_mm256_castps_si256(c##i##0), 31),        \
                                                        _mm256_castps_si256(c##i##0))),                             \
      c##i##1 = _mm256_castsi256_ps(_mm256_andnot_si256(_mm256_srai_epi32(_mm256_castps_si256(c##i##1), 31),        \
                                                        _mm256_castps_si256(c##i##1)));                             \
    if (res) {                                                                                                      \
      const float *r = res + (i) * ldr + h;                                                                         \
      if (rs) {                                                                                                     \
        const __m256 g = _mm256_set1_ps(rs[i]);                                                                     \
        c##i##0 = _mm256_fmadd_ps(g, _mm256_loadu_ps(r), c##i##0);                                                  \
        c##i##1 = _mm256_fmadd_ps(g, _mm256_loadu_ps(r + 8), c##i##1);                                              \
      } else {                                                                                                      \
        c##i##0 = _mm256_add_ps(_mm256_loadu_ps(r), c##i##0);                                                       \
        c##i##1 = _mm256_add_ps(_mm256_loadu_ps(r + 8), c##i##1);                                                   \
      }                                                                                                             \
    }                                                                                                               \
    _mm256_storeu_ps(tt + (i) * ldt, c##i##0);                                                                      \
    _mm256_storeu_ps(tt + (i) * ldt + 8, c##i##1);                                                                  \
  }
    ROW_OUT(0) ROW_OUT(1) ROW_OUT(2) ROW_OUT(3) ROW_OUT(4) ROW_OUT(5)
#undef ROW_OUT
  }
}
#endif
