/* cpu_blas.h - how the CPU backend calls BLAS.
 * Owns: the threading split between OpenMP and BLAS, and the row-major sgemm shorthands the ops use. */
#ifndef VM_CPU_BLAS_H
#define VM_CPU_BLAS_H

#include <cblas.h>

#include "cpu_blas_config.h"

#if VM_HAVE_OPENBLAS_THREADS
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
#endif

/* Threading policy: every op splits its work into tiles across an OpenMP team (num_threads(...) of the backend's
 * thread count) and each tile calls a single-threaded sgemm; BLAS must not start threads of its own.
 * Measured with tests/ops/bench_cpu_ops on the 2-core development VM (OpenBLAS 0.3.21 pthread, Haswell kernels):
 *   fc1 4096 x 384 -> 1536:              one sgemm on 2 OpenBLAS threads 21.9 ms, 2 x 1-thread sgemm 20.7 ms;
 *     with a GELU pass after it:         83 ms against 58 ms;
 *   conv band 4096 x 612 -> 32:          0.80 ms against 0.75 ms; with GELU 8.0 ms against 1.5 ms;
 *   conv band 4096 x 5184 -> 256:        51.7 ms against 50.3 ms.
 * The split is never slower, and much faster once elementwise work follows: OpenBLAS's pthread workers spin
 * (sched_yield) for a while after each call, and on 2 cores they then take the cores from the OpenMP team that
 * runs the epilogue. It is also the only scheme that fits attention and convolutions, whose tiles interleave
 * gathers, softmax and epilogues with their GEMMs. The setting is process-wide in OpenBLAS (0.3.21 has no
 * per-thread variant), so each op that calls BLAS sets it to 1 and gives the host program its own value back
 * when it returns. */
static inline int cpu_blas_single_begin(void) {
#if VM_HAVE_OPENBLAS_THREADS
  int previous = openblas_get_num_threads();
  if (previous != 1) openblas_set_num_threads(1);
  return previous;
#else
  return 1;
#endif
}

static inline void cpu_blas_single_end(int previous) {
#if VM_HAVE_OPENBLAS_THREADS
  if (previous != 1) openblas_set_num_threads(previous);
#else
  (void)previous;
#endif
}

/* C[m, n] = alpha * A[m, k] * B[n, k]^T + beta * C (row-major, leading dimensions in floats). */
static inline void cpu_gemm_nt(int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
                               float beta, float *c, int ldc) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/* C[m, n] = alpha * A[m, k] * B[k, n] + beta * C. */
static inline void cpu_gemm_nn(int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
                               float beta, float *c, int ldc) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

#endif
