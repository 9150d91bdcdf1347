/* The AVX-512 micro-kernel: a 14 x 32 tile of C in 28 zmm accumulators, two loads of B and 14 broadcasts of A per
 * step of k, A read in place (row i at a + i * lda, addressed from 5 pointers as p + {0, 1, 2} * lda). Compiled
 * for AVX-512 by a function attribute (the rest of the engine stays baseline x86-64) and only called where the CPU
 * has it (cpu_gemm_isa.c). */
#include "cpu_gemm.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

__attribute__((target("avx512f,fma"))) void cpu_gemm_kernel_avx512(const float *a, int64_t lda, const int64_t *off,
                                                                   int nseg, int64_t kseg, const float *b, float alpha,
                                                                   float *t, int64_t ldt) {
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
  if (alpha != 1.0f) {
    const __m512 f = _mm512_set1_ps(alpha);
#define SCALE(x) c##x##0 = _mm512_mul_ps(c##x##0, f), c##x##1 = _mm512_mul_ps(c##x##1, f);
    SCALE(0) SCALE(1) SCALE(2) SCALE(3) SCALE(4) SCALE(5) SCALE(6) SCALE(7) SCALE(8) SCALE(9) SCALE(a) SCALE(b)
    SCALE(c) SCALE(d)
#undef SCALE
  }
#define STORE(i, x)                                                                                                 \
  _mm512_storeu_ps(t + (i) * ldt, c##x##0);                                                                         \
  _mm512_storeu_ps(t + (i) * ldt + 16, c##x##1);
  STORE(0, 0) STORE(1, 1) STORE(2, 2) STORE(3, 3) STORE(4, 4) STORE(5, 5) STORE(6, 6)
  STORE(7, 7) STORE(8, 8) STORE(9, 9) STORE(10, a) STORE(11, b) STORE(12, c) STORE(13, d)
#undef STORE
}
#endif
