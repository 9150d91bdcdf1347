/* Which micro-kernels the CPU ops run: chosen once per backend from what the CPU (and the OS, for the AVX-512
 * register state) supports, so one build runs everywhere and uses the widest vectors there. */
#include <stdlib.h>
#include <string.h>

#include "cpu_gemm.h"

#if defined(__x86_64__) && defined(__GNUC__)
void cpu_gemm_kernel_avx512(const float *a, int64_t lda, const int64_t *off, int nseg, int64_t kseg, const float *b,
                            const cpu_tile_ep *ep, float *t, int64_t ldt);
void cpu_gemm_kernel_avx2(const float *a, int64_t lda, const int64_t *off, int nseg, int64_t kseg, const float *b,
                          const cpu_tile_ep *ep, float *t, int64_t ldt);
double cpu_softmax_exp_avx512(float *row, int64_t n, float mx);
double cpu_softmax_exp_ref_avx512(float *row, int64_t n, int64_t k0, int64_t ww, const float *bh, const float *bw,
                                  float *ref);
float cpu_rel_pos_row_avx512(float *row, int64_t kb, const int32_t *yi, const int32_t *xi, const float *bh, int64_t nh,
                             const float *bw, int64_t nw);
void cpu_gelu_avx512(float *v, int64_t n);
static const cpu_gemm_isa isa_avx512 = {"AVX-512", 14, cpu_gemm_kernel_avx512, cpu_softmax_exp_avx512,
                                        cpu_softmax_exp_ref_avx512, cpu_rel_pos_row_avx512, cpu_gelu_avx512};
static const cpu_gemm_isa isa_avx2 = {"AVX2", 6, cpu_gemm_kernel_avx2, NULL, NULL, NULL, NULL};
#endif
static const cpu_gemm_isa isa_blas = {"BLAS", 1, NULL, NULL, NULL, NULL, NULL};

const cpu_gemm_isa *cpu_gemm_isa_select(void) {
  const char *want = getenv("VITMATTE_CPU_ISA");
  if (want && !strcmp(want, "blas")) return &isa_blas;
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  /* __builtin_cpu_supports also checks that the OS saves the wider registers (XGETBV) */
  const int fma = __builtin_cpu_supports("fma");
  if (fma && __builtin_cpu_supports("avx512f") && !(want && !strcmp(want, "avx2"))) return &isa_avx512;
  if (fma && __builtin_cpu_supports("avx2")) return &isa_avx2;
#endif
  return &isa_blas;
}
