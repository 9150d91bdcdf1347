/* The AVX-512 micro-kernel: a 14 x 32 tile of C in 28 zmm accumulators, two loads of B and 14 broadcasts of A per
 * step of k, A read in place (row i at a + i * lda, addressed from 5 pointers as p + {0, 1, 2} * lda); the
 * epilogue (scale, earlier chunks, bias, ReLU, residual) on the registers before the one store. Compiled
 * for AVX-512 by a function attribute (the rest of the engine stays baseline x86-64) and only called where the CPU
 * has it (cpu_gemm_isa.c). */
#include "cpu_gemm.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

__attribute__((target("avx512f,fma"))) void cpu_gemm_kernel_avx512(const float *a, int64_t lda, const int64_t *off,
                                                                   int nseg, int64_t kseg, const float *b,
                                                                   const cpu_tile_ep *ep, float *t, int64_t ldt) {
  __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  __m512 c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
  __m512 c80 = c00, c81 = c00, c90 = c00, c91 = c00, ca0 = c00, ca1 = c00, cb0 = c00, cb1 = c00;
  __m512 cc0 = c00, cc1 = c00, cd0 = c00, cd1 = c00;
  const int64_t l2 = 2 * lda;
  for (int s = 0; s < nseg; s++) {
    const float *p0 = a + off[s], *p1 = p0 + 3 * lda, *p2 = p0 + 6 * lda, *p3 = p0 + 9 * lda, *p4 = p0 + 12 * lda;
    for (int64_t q = 0; q < kseg; q++) {
      const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#define ROW(src, x)                                                                                                 \
  {                                                                                                                 \
    const __m512 ai = _mm512_set1_ps(src);                                                                          \
    c##x##0 = _mm512_fmadd_ps(ai, b0, c##x##0);                                                                     \
    c##x##1 = _mm512_fmadd_ps(ai, b1, c##x##1);                                                                     \
  }
      ROW(p0[0], 0) ROW(p0[lda], 1) ROW(p0[l2], 2) ROW(p1[0], 3) ROW(p1[lda], 4) ROW(p1[l2], 5)
      ROW(p2[0], 6) ROW(p2[lda], 7) ROW(p2[l2], 8) ROW(p3[0], 9) ROW(p3[lda], a) ROW(p3[l2], b)
      ROW(p4[0], c) ROW(p4[lda], d)
#undef ROW
      p0++, p1++, p2++, p3++, p4++;
      b += CPU_GEMM_NR;
    }
  }
  /* the epilogue's operands in locals: the tile's float stores could otherwise alias ep->alpha and make the compiler
   * read ep again after every row */
  const float alpha = ep->alpha, *acc = ep->acc, *bias = ep->bias, *res = ep->residual, *rs = ep->row_scale;
  const int relu = ep->relu;
  const int64_t ldr = ep->ldr;
  if (alpha != 1.0f) {
    const __m512 f = _mm512_set1_ps(alpha);
#define SCALE(x) c##x##0 = _mm512_mul_ps(c##x##0, f), c##x##1 = _mm512_mul_ps(c##x##1, f);
    SCALE(0) SCALE(1) SCALE(2) SCALE(3) SCALE(4) SCALE(5) SCALE(6) SCALE(7) SCALE(8) SCALE(9) SCALE(a) SCALE(b)
    SCALE(c) SCALE(d)
#undef SCALE
  }
  if (!acc && !bias && !relu && !res) { /* a plain product (most calls with a short k): the stores alone */
#define STORE(i, x)                                                                                                 \
  _mm512_storeu_ps(t + (i) * ldt, c##x##0);                                                                         \
  _mm512_storeu_ps(t + (i) * ldt + 16, c##x##1);
    STORE(0, 0) STORE(1, 1) STORE(2, 2) STORE(3, 3) STORE(4, 4) STORE(5, 5) STORE(6, 6)
    STORE(7, 7) STORE(8, 8) STORE(9, 9) STORE(10, a) STORE(11, b) STORE(12, c) STORE(13, d)
#undef STORE
    return;
  }
  /* one row of the tile through the rest of the epilogue (cpu_tile_ep's order; each step only where asked, so that
   * results are those of the steps taken one by one) and stored; the operands are read from memory in each step:
   * the 28 accumulators leave no registers to hold them */
#define ROW_OUT(i, x)                                                                                               \
  {                                                                                                                 \
    if (acc)                                                                                                        \
      c##x##0 = _mm512_add_ps(_mm512_loadu_ps(acc + (i) * CPU_GEMM_NR), c##x##0),                                   \
      c##x##1 = _mm512_add_ps(_mm512_loadu_ps(acc + (i) * CPU_GEMM_NR + 16), c##x##1);                              \
    if (bias)                                                                                                       \
      c##x##0 = _mm512_add_ps(c##x##0, _mm512_loadu_ps(bias)),                                                      \
      c##x##1 = _mm512_add_ps(c##x##1, _mm512_loadu_ps(bias + 16));                                                 \
    if (relu) /* negative (and -0) to +0 by the sign bit, as cpu_relu */                                            \
      c##x##0 = _mm512_castsi512_ps(_mm512_andnot_si512(_mm512_srai_epi32(_mm512_castps_si512(c##x##0), 31),        \
                                                        _mm512_castps_si512(c##x##0))),                             \
      c##x##1 = _mm512_castsi512_ps(_mm512_andnot_si512(_mm512_srai_epi32(_mm512_castps_si512(c##x##1), 31),        \
                                                        _mm512_castps_si512(c##x##1)));                             \
    if (res) {                                                                                                      \
      const float *r = res + (i) * ldr;                                                                             \
      if (rs) {                                                                                                     \
        const __m512 g = _mm512_set1_ps(rs[i]);                                                                     \
        c##x##0 = _mm512_fmadd_ps(g, _mm512_loadu_ps(r), c##x##0);                                                  \
        c##x##1 = _mm512_fmadd_ps(g, _mm512_loadu_ps(r + 16), c##x##1);                                             \
      } else {                                                                                                      \
        c##x##0 = _mm512_add_ps(_mm512_loadu_ps(r), c##x##0);                                                       \
        c##x##1 = _mm512_add_ps(_mm512_loadu_ps(r + 16), c##x##1);                                                  \
      }                                                                                                             \
    }                                                                                                               \
    _mm512_storeu_ps(t + (i) * ldt, c##x##0);                                                                       \
    _mm512_storeu_ps(t + (i) * ldt + 16, c##x##1);                                                                  \
  }
  ROW_OUT(0, 0) ROW_OUT(1, 1) ROW_OUT(2, 2) ROW_OUT(3, 3) ROW_OUT(4, 4) ROW_OUT(5, 5) ROW_OUT(6, 6)
  ROW_OUT(7, 7) ROW_OUT(8, 8) ROW_OUT(9, 9) ROW_OUT(10, a) ROW_OUT(11, b) ROW_OUT(12, c) ROW_OUT(13, d)
#undef ROW_OUT
}
#endif
