/* cpu_gemm.h - the matrix products of the CPU ops: C = epilogue(A B^T) over blocks of rows, on our own vector
 * micro-kernels (AVX-512 or AVX2 + FMA, chosen at run time) or, on other CPUs, on BLAS.
 * Owns: the packed layout of B, how A is addressed in place (rows, segments: a convolution's taps), the per-ISA
 * kernel table and the block driver every GEMM-based op calls. */
#ifndef VM_CPU_GEMM_H
#define VM_CPU_GEMM_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

/* Columns of one packed B panel. B [n, k] is stored as ceil(n / 32) panels, each k rows of 32 floats (column j of
 * the panel at offset j of each row), columns past n zero. */
enum { CPU_GEMM_NR = 32 };

/* Most segments an A row may have: a 3x3 convolution has 9 (one per tap), a 16x16 patch embedding 16. */
enum { CPU_GEMM_MAX_SEG = 16 };

/* A, read in place (never copied, except the few rows of a short edge tile). Row i of line l is the nseg * kseg
 * values data[l * line + i * lda + off[s] + q] for s < nseg, q < kseg, in that order: for a linear layer one line
 * of rows (nseg 1, off 0); for a convolution one line per output row, a row per output pixel, a segment per tap
 * of the kernel. */
typedef struct cpu_gemm_a {
  const float *data;
  int64_t lda, line;
  int nseg;
  int64_t kseg;
  int64_t off[CPU_GEMM_MAX_SEG];
} cpu_gemm_a;

/* What a micro-kernel does to its tile of sums p (A rows times one B panel) in registers before storing it, in this
 * order: p *= alpha; p = acc + p (the partial sums of earlier k chunks); p += bias; ReLU; p = row_scale[i] *
 * residual + p (or residual + p). The residual is read before the tile is stored, so it may be the destination. */
typedef struct cpu_tile_ep {
  float alpha;
  const float *acc; /* MR x 32, row i at acc + i * 32; NULL: none */
  const float *bias; /* 32 values; NULL: none */
  int relu;
  const float *residual; /* MR x 32, row i at residual + i * ldr; NULL: none */
  int64_t ldr;
  const float *row_scale; /* MR values; NULL: 1 */
} cpu_tile_ep;

/* A micro-kernel: t[MR][32] (row i at t + i * ldt) = ep(A rows [0, MR) (row i at a + i * lda, segments as above)
 * times one packed B panel of nseg * kseg rows). Every element of the tile is written. */
typedef void (*cpu_gemm_ukernel)(const float *a, int64_t lda, const int64_t *off, int nseg, int64_t kseg,
                                 const float *b, const cpu_tile_ep *ep, float *t, int64_t ldt);

typedef struct cpu_gemm_isa {
  const char *name; /* "AVX-512", "AVX2", "BLAS" */
  int mr;           /* rows per micro-tile */
  cpu_gemm_ukernel kernel; /* NULL: BLAS */
  /* row[j] = exp(row[j] - mx) for j < n, returning the sum (blocks of 256 in float, then double); NULL: the portable
   * loop of cpu_attention.c */
  double (*softmax_exp)(float *row, int64_t n, float mx);
  /* one pass of the softmax against the row's earlier maximum, the rel-pos bias added on the way
   * (cpu_vec_avx512.c); NULL: the two passes of cpu_attention.c */
  double (*softmax_exp_ref)(float *row, int64_t n, int64_t k0, int64_t ww, const float *bh, const float *bw,
                            float *ref);
  /* row[j] = (row[j] + bh[yi[j]]) + bw[xi[j]] for j < kb with tables of nh, nw <= 32 entries, returning the row's
   * largest value (bit-identical to the gathers of cpu_attention.c's add_rel_pos; cpu_vec_avx512.c); NULL: those */
  float (*rel_pos_row)(float *row, int64_t kb, const int32_t *yi, const int32_t *xi, const float *bh, int64_t nh,
                       const float *bw, int64_t nw);
  /* v[j] = GELU(v[j]) for j < n by cpu_gelu's formula (within a few ulp of it, not bit-identical); NULL: cpu_gelu's
   * loop */
  void (*gelu)(float *v, int64_t n);
} cpu_gemm_isa;

/* The best the CPU runs, unless $VITMATTE_CPU_ISA names a lesser one ("avx2", "blas"; for tests and comparisons). */
const cpu_gemm_isa *cpu_gemm_isa_select(void);

/* ---- B ---- */

static inline int64_t cpu_gemm_panels(int64_t n) { return (n + CPU_GEMM_NR - 1) / CPU_GEMM_NR; }
static inline size_t cpu_gemm_packed_b_floats(int64_t n, int64_t k) {
  return (size_t)(cpu_gemm_panels(n) * k * CPU_GEMM_NR);
}

/* Packs panels [p0, p1) of B [n, k] (row j at b + j * ldb) into dst (laid out for all panels). */
void cpu_gemm_pack_b(const float *b, int64_t ldb, int64_t n, int64_t k, int64_t p0, int64_t p1, float *dst);

/* B as the block driver reads it. For the micro-kernels: packed panels, panel p at data + p * panel_stride (rows
 * past the first may be skipped by offsetting data: k0 rows of every panel = data + k0 * 32). For BLAS: a plain
 * matrix, [n, k] (row j at data + j * ld) or, when kn is set, [k, n] (row q at data + q * ld). */
typedef struct cpu_gemm_b {
  const float *data;
  int64_t panel_stride;
  int64_t ld;
  int kn;
} cpu_gemm_b;

/* ---- the block driver ---- */

/* What follows the product: dst = row_scale[i] * residual + act(alpha * product + bias), elementwise; bias (by
 * column), residual and row_scale (by row) may be NULL (row_scale NULL: 1), alpha 0 means 1; residual may be C
 * itself (each element is read before it is written). */
typedef struct cpu_gemm_epilogue {
  const float *bias;
  vm_act act;
  const float *residual; /* row i of line 0 at residual + i * ldr (blocks with a residual have one line) */
  int64_t ldr;
  float alpha;
  const float *row_scale;
} cpu_gemm_epilogue;

/* Floats of per-thread work space cpu_gemm_block needs for lines of m rows of k = nseg * kseg values, n columns. */
size_t cpu_gemm_work_floats(const cpu_gemm_isa *isa, int64_t m, int64_t n, int64_t k);

/* C = epilogue(A B^T) on the calling thread for `lines` lines of m rows of A and columns [n0, n1) of C (n0 a multiple
 * of 32): row i of line l goes to c + l * c_line + i * ldc. work: cpu_gemm_work_floats(isa, m, n1 - n0, k) floats,
 * 64-byte aligned. */
void cpu_gemm_block(const cpu_gemm_isa *isa, const cpu_gemm_a *a, int64_t lines, int64_t m, const cpu_gemm_b *b,
                    int64_t n0, int64_t n1, float *c, int64_t ldc, int64_t c_line, const cpu_gemm_epilogue *ep,
                    float *work);

/* Rows of A a block of one line should have so that they stay in L2 (k values each) next to one B panel. */
int64_t cpu_gemm_block_rows(const cpu_gemm_isa *isa, int64_t k);

#endif
