/* The block driver of the CPU matrix products: runs the micro-kernel over every (micro-tile of rows, B panel) pair,
 * reading A in place, and applies the epilogue to each 32-column tile while it is in L1; on CPUs without our
 * kernels, one BLAS call per line of rows instead. Also the packing of B. */
#include "cpu_gemm.h"

#include <string.h>

#include "cpu_activation.h"
#include "cpu_blas.h"
#include "cpu_simd.h"

/* L2 bytes a block of A rows may take: with one B panel (k x 32 floats) beside it, both stay in a 1 MiB L2. */
enum { A_BLOCK_BYTES = 256 * 1024 };

/* Longest run of k the micro-kernel sums in one chain of accumulators: longer products are summed in chunks whose
 * partial sums are then added (as BLAS does with its k blocks). One chain of 16384 products gave 3.5e-6 relative
 * error against float64 in the op tests, chunks of 512 give ~4e-7. */
enum { CHUNK_K = 512 };

void cpu_gemm_pack_b(const float *b, int64_t ldb, int64_t n, int64_t k, int64_t p0, int64_t p1, float *dst) {
  for (int64_t p = p0; p < p1; p++) {
    float *panel = dst + p * k * CPU_GEMM_NR;
    const int64_t j0 = p * CPU_GEMM_NR, cols = n - j0 < CPU_GEMM_NR ? n - j0 : CPU_GEMM_NR;
    /* 8 rows of B at a time, each read along k: 8 streams the prefetchers follow */
    for (int64_t j = 0; j < cols; j += 8) {
      const int64_t jn = cols - j < 8 ? cols - j : 8;
      for (int64_t q = 0; q < k; q++)
        for (int64_t jj = 0; jj < jn; jj++) panel[q * CPU_GEMM_NR + j + jj] = b[(j0 + j + jj) * ldb + q];
    }
    if (cols < CPU_GEMM_NR)
      for (int64_t q = 0; q < k; q++)
        memset(panel + q * CPU_GEMM_NR + cols, 0, (size_t)(CPU_GEMM_NR - cols) * sizeof(float));
  }
}

static int64_t round_up(int64_t v, int64_t to) { return (v + to - 1) / to * to; }

size_t cpu_gemm_work_floats(const cpu_gemm_isa *isa, int64_t m, int64_t n, int64_t k) {
  /* BLAS: one line of rows gathered (when A is not plain rows) and its product (when C is also the residual) */
  if (!isa->kernel) return (size_t)(round_up(m * k, 16) + m * n);
  /* the tile and a chunk's tile, then the rows of a line shorter than one micro-tile, gathered and zero-padded */
  return (size_t)(2 * (int64_t)isa->mr * CPU_GEMM_NR + round_up((int64_t)isa->mr * k, 16));
}

/* One chunk of k of a micro-tile: the first starts the partial sums, later ones add theirs (acc), and the last also
 * applies the epilogue and stores into dst; the partial sums stay in u (32 floats a row). */
static void chunk(const cpu_gemm_isa *isa, const float *a, int64_t lda, const int64_t *off, int nseg, int64_t kseg,
                  const float *b, int first, int last, const cpu_tile_ep *ep, float *dst, int64_t ldd, float *u) {
  cpu_tile_ep e = {.alpha = ep->alpha};
  if (last) e = *ep;
  e.acc = first ? NULL : u;
  isa->kernel(a, lda, off, nseg, kseg, b, &e, last ? dst : u, last ? ldd : CPU_GEMM_NR);
}

/* The micro-kernel over all of k, in chunks of at most CHUNK_K (whole segments when they fit, else parts of one):
 * ((c1 + c2) + c3) ..., then the epilogue, into dst. */
static void kernel_chunked(const cpu_gemm_isa *isa, const float *a, int64_t lda, const int64_t *off, int nseg,
                           int64_t kseg, const float *b, const cpu_tile_ep *ep, float *dst, int64_t ldd, float *u) {
  if (nseg * kseg <= CHUNK_K) {
    isa->kernel(a, lda, off, nseg, kseg, b, ep, dst, ldd);
    return;
  }
  if (kseg <= CHUNK_K) {
    const int per = (int)(CHUNK_K / kseg);
    for (int s0 = 0; s0 < nseg; s0 += per) {
      const int ns = nseg - s0 < per ? nseg - s0 : per;
      chunk(isa, a, lda, off + s0, ns, kseg, b + s0 * kseg * CPU_GEMM_NR, s0 == 0, s0 + ns == nseg, ep, dst, ldd, u);
    }
    return;
  }
  for (int s = 0; s < nseg; s++)
    for (int64_t q0 = 0; q0 < kseg; q0 += CHUNK_K) {
      const int64_t o = off[s] + q0, len = kseg - q0 < CHUNK_K ? kseg - q0 : CHUNK_K;
      chunk(isa, a, lda, &o, 1, len, b + (s * kseg + q0) * CPU_GEMM_NR, s == 0 && q0 == 0,
            s == nseg - 1 && q0 + len == kseg, ep, dst, ldd, u);
    }
}

int64_t cpu_gemm_block_rows(const cpu_gemm_isa *isa, int64_t k) {
  const int64_t mr = isa->kernel ? isa->mr : 16;
  int64_t rows = A_BLOCK_BYTES / (int64_t)sizeof(float) / (k > 0 ? k : 1) / mr * mr;
  return rows < mr ? mr : rows;
}

/* Copies rows [0, m) of one line of A (segments joined) into dst as plain rows of k floats. */
static void gather_rows(const cpu_gemm_a *a, const float *line, int64_t m, float *dst) {
  const int64_t k = a->nseg * a->kseg;
  for (int64_t i = 0; i < m; i++)
    for (int s = 0; s < a->nseg; s++)
      memcpy(dst + i * k + s * a->kseg, line + i * a->lda + a->off[s], (size_t)a->kseg * sizeof(float));
}

/* dst[i][j] = row_scale[i] * residual[i][j] + act(alpha * t[i][j] + bias[j]) for i < m, j < n (t rows `ldt` apart;
 * ep's pointers already at row 0, column 0 of the tile). */
CPU_VECTOR_CLONES
static void tile_epilogue(float *t, int64_t ldt, int64_t m, int64_t n, float *dst, int64_t ldd,
                          const cpu_gemm_epilogue *ep) {
  const float *bias = ep->bias, *residual = ep->residual;
  const vm_act act = ep->act;
  const int64_t ldr = ep->ldr;
  const float alpha = ep->alpha;
  for (int64_t i = 0; i < m; i++) {
    float *s = t + i * ldt;
    if (alpha != 0.0f && alpha != 1.0f)
      for (int64_t j = 0; j < n; j++) s[j] *= alpha;
    if (bias)
      for (int64_t j = 0; j < n; j++) s[j] += bias[j];
  }
  /* the activation over the whole tile in one loop where its rows are contiguous (a full-width tile of the micro-
   * kernels: 14 x 32): row by row, GELU's loop set-up (some twenty constants) came for every 32 values */
  if (ldt == n)
    cpu_act_apply(act, t, m * n);
  else
    for (int64_t i = 0; i < m; i++) cpu_act_apply(act, t + i * ldt, n);
  for (int64_t i = 0; i < m; i++) {
    float *s = t + i * ldt;
    float *d = dst + i * ldd;
    if (residual && ep->row_scale) {
      const float *r = residual + i * ldr;
      const float f = ep->row_scale[i];
      for (int64_t j = 0; j < n; j++) d[j] = f * r[j] + s[j];
    } else if (residual) {
      const float *r = residual + i * ldr;
      for (int64_t j = 0; j < n; j++) d[j] = r[j] + s[j];
    } else if (d != s) {
      memcpy(d, s, (size_t)n * sizeof(float));
    }
  }
}

/* ep moved to row i0 and column j0 of a block (pointers that are NULL stay NULL). */
static cpu_gemm_epilogue ep_at(const cpu_gemm_epilogue *ep, int64_t i0, int64_t j0) {
  cpu_gemm_epilogue e = ep ? *ep : (cpu_gemm_epilogue){0};
  if (e.bias) e.bias += j0;
  if (e.residual) e.residual += i0 * e.ldr + j0;
  if (e.row_scale) e.row_scale += i0;
  return e;
}

static void block_blas(const cpu_gemm_a *a, int64_t lines, int64_t m, const cpu_gemm_b *b, int64_t n0, int64_t n1,
                       float *c, int64_t ldc, int64_t c_line, const cpu_gemm_epilogue *ep, float *work) {
  const int64_t n = n1 - n0, k = a->nseg * a->kseg;
  const cpu_gemm_epilogue e = ep_at(ep, 0, n0);
  for (int64_t l = 0; l < lines; l++) {
    const float *line = a->data + l * a->line;
    const float *rows = line + a->off[0];
    int64_t lda = a->lda;
    if (a->nseg > 1) { /* rows of several segments: gathered into plain rows first */
      gather_rows(a, line, m, work);
      rows = work;
      lda = k;
    }
    float *cl = c + l * c_line + n0;
    /* the product may go to C only when C is not also the residual, which must be read first */
    const int aliased = e.residual && e.residual == cl;
    float *prod = aliased ? work + round_up(m * k, 16) : cl;
    const int64_t ldp = aliased ? n : ldc;
    if (b->kn)
      cpu_gemm_nn((int)m, (int)n, (int)k, 1.0f, rows, (int)lda, b->data + n0, (int)b->ld, 0.0f, prod, (int)ldp);
    else
      cpu_gemm_nt((int)m, (int)n, (int)k, 1.0f, rows, (int)lda, b->data + n0 * b->ld, (int)b->ld, 0.0f, prod,
                  (int)ldp);
    tile_epilogue(prod, ldp, m, n, cl, ldc, &e);
  }
}

/* The one segment of the gathered rows of a short line starts at their row's start. */
static const int64_t no_offset = 0;

void cpu_gemm_block(const cpu_gemm_isa *isa, const cpu_gemm_a *a, int64_t lines, int64_t m, const cpu_gemm_b *b,
                    int64_t n0, int64_t n1, float *c, int64_t ldc, int64_t c_line, const cpu_gemm_epilogue *ep,
                    float *work) {
  if (m <= 0 || lines <= 0 || n1 <= n0) return;
  if (!isa->kernel) {
    block_blas(a, lines, m, b, n0, n1, c, ldc, c_line, ep, work);
    return;
  }
  const int64_t mr = isa->mr, k = a->nseg * a->kseg;
  float *t = work, *u = work + mr * CPU_GEMM_NR, *edge = u + mr * CPU_GEMM_NR;
  /* A line shorter than a micro-tile is gathered into zero-padded rows (one segment); in longer lines the last
   * micro-tile is moved back to end at the line's end, so it overlaps the one before: those rows are computed
   * twice, but stored once where a residual is read (it may be C itself). */
  const int short_line = m < mr;
  /* The kernel applies the scale, bias and ReLU on its registers, and the residual where it stores straight into C
   * (a whole panel of columns); GELU and sigmoid, and the tiles it stores into t, get the rest in tile_epilogue. */
  const vm_act act = ep ? ep->act : VM_ACT_NONE;
  const int act_in_kernel = act == VM_ACT_NONE || act == VM_ACT_RELU;
  /* GELU on the tile in t by the ISA's own routine where it has one, else in tile_epilogue */
  void (*gelu)(float *, int64_t) = act == VM_ACT_GELU ? isa->gelu : NULL;
  cpu_gemm_epilogue rest = ep ? *ep : (cpu_gemm_epilogue){0};
  rest.alpha = 1.0f;
  rest.bias = NULL;
  if (act_in_kernel || gelu) rest.act = VM_ACT_NONE;
  const cpu_tile_ep base = {.alpha = ep && ep->alpha != 0.0f ? ep->alpha : 1.0f, .relu = act == VM_ACT_RELU};
  float bias_pad[CPU_GEMM_NR]; /* the bias of a panel past n, zero-padded: the kernel reads 32 */
  if (short_line) memset(edge, 0, (size_t)(mr * k) * sizeof(float));
  /* B panel outer: it stays in L1/L2 while every micro-tile of the block passes it */
  for (int64_t j0 = n0; j0 < n1; j0 += CPU_GEMM_NR) {
    const float *bp = b->data + (j0 / CPU_GEMM_NR) * b->panel_stride;
    const int64_t cols = n1 - j0 < CPU_GEMM_NR ? n1 - j0 : CPU_GEMM_NR;
    cpu_tile_ep pe = base;
    if (ep && ep->bias && cols == CPU_GEMM_NR) {
      pe.bias = ep->bias + j0;
    } else if (ep && ep->bias) {
      memset(bias_pad, 0, sizeof bias_pad);
      memcpy(bias_pad, ep->bias + j0, (size_t)cols * sizeof(float));
      pe.bias = bias_pad;
    }
    for (int64_t l = 0; l < lines; l++) {
      const float *line = a->data + l * a->line;
      float *cl = c + l * c_line + j0;
      if (short_line) {
        gather_rows(a, line, m, edge); /* rows past m stay zero */
        kernel_chunked(isa, edge, k, &no_offset, 1, k, bp, &pe, t, CPU_GEMM_NR, u);
        if (gelu) gelu(t, m * CPU_GEMM_NR);
        const cpu_gemm_epilogue e = ep_at(&rest, 0, j0);
        tile_epilogue(t, CPU_GEMM_NR, m, cols, cl, ldc, &e);
        continue;
      }
      for (int64_t i0 = 0; i0 < m; i0 += mr) {
        const int64_t start = i0 + mr <= m ? i0 : m - mr, skip = i0 - start;
        if (cols == CPU_GEMM_NR && act_in_kernel && (!rest.residual || skip == 0)) { /* all of it in the kernel */
          cpu_tile_ep full = pe;
          if (rest.residual) {
            full.residual = rest.residual + start * rest.ldr + j0;
            full.ldr = rest.ldr;
            full.row_scale = rest.row_scale ? rest.row_scale + start : NULL;
          }
          kernel_chunked(isa, line + start * a->lda, a->lda, a->off, a->nseg, a->kseg, bp, &full, cl + start * ldc,
                         ldc, u);
          continue;
        }
        kernel_chunked(isa, line + start * a->lda, a->lda, a->off, a->nseg, a->kseg, bp, &pe, t, CPU_GEMM_NR, u);
        if (gelu) gelu(t + skip * CPU_GEMM_NR, (mr - skip) * CPU_GEMM_NR);
        const cpu_gemm_epilogue e = ep_at(&rest, i0, j0);
        tile_epilogue(t + skip * CPU_GEMM_NR, CPU_GEMM_NR, mr - skip, cols, cl + i0 * ldc, ldc, &e);
      }
    }
  }
}
