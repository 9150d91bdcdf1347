/* 3x3 stride-1 convolutions by Winograd's minimal filtering F(2x2, 3x3) (Lavin & Gray, 2016): each 2x2 block of
 * output pixels comes from the 4x4 block of input around it through 16 products per (input, output) channel pair
 * instead of 36. For a block of tiles the 16 products are 16 matrix products (tiles x Cin times Cin x Cout) on the GEMM
 * micro-kernels. The input and output transforms only add and subtract, the weight transform halves (exactly) and is
 * computed in double, so the rounding stays close to that of the direct sum (checked against float64 in the op
 * tests). */
#include <omp.h>
#include <string.h>

#include "cpu_activation.h"
#include "cpu_conv.h"
#include "cpu_gemm.h"
#include "cpu_simd.h"
#include "error.h"

/* Floats of one of the 16 transformed-input slices of a block (tiles x Cin): 128 KiB, so a slice stays in L2 while
 * every panel of its weight passes over it. */
enum { WINO_SLICE_FLOATS = 32768, WINO_XI = 16 };

typedef struct wino_tiling {
  int64_t tiles_y, tiles_x; /* 2x2 output tiles */
  int64_t per_block, chunks; /* tiles of one block (part of a tile row), blocks per tile row */
} wino_tiling;

static wino_tiling wino_tiling_for(int64_t ho, int64_t wo, int64_t cin) {
  wino_tiling t = {.tiles_y = (ho + 1) / 2, .tiles_x = (wo + 1) / 2};
  int64_t most = WINO_SLICE_FLOATS / (cin > 0 ? cin : 1);
  if (most < 14) most = 14;
  t.chunks = (t.tiles_x + most - 1) / most;
  t.per_block = (t.tiles_x + t.chunks - 1) / t.chunks;
  return t;
}

static int64_t round16(int64_t v) { return (v + 15) / 16 * 16; }

/* Floats between consecutive xi slices of V or M holding `floats` each: a multiple of 4 KiB plus one cache line, so
 * that the 16 slices a transform reads or writes together start in 16 different L1 sets (T * Cin is often a
 * multiple of 4 KiB, and 16 streams in one 12-way set thrash). */
static int64_t slice_stride(int64_t floats) { return (floats + 1023) / 1024 * 1024 + 16; }

/* Per-thread floats: the band (4 rows), the transformed input V [16][T][cin], the products M [16][T][cout], and the
 * products' work space. */
static size_t wino_scratch(const cpu_gemm_isa *isa, const wino_tiling *t, int64_t cin, int64_t cout) {
  const int64_t T = t->per_block;
  return (size_t)(round16(4 * (2 * T + 2) * cin) + WINO_XI * slice_stride(T * cin) +
                  WINO_XI * slice_stride(T * cout) + round16(4 * cout)) +
         cpu_gemm_work_floats(isa, T, cout, cin);
}

size_t cpu_conv3x3_winograd_scratch(const cpu_gemm_isa *isa, int64_t wo, int64_t cin, int64_t cout) {
  wino_tiling t = wino_tiling_for(2, wo, cin);
  return wino_scratch(isa, &t, cin, cout);
}

size_t cpu_conv3x3_winograd_shared(int64_t cin, int64_t cout) {
  return WINO_XI * cpu_gemm_packed_b_floats(cout, cin);
}

/* U = G g G^T for the output channels of panel p and input channels [ci0, ci1), written into the 16 packed weight
 * matrices (one per element xi of the 4x4 tile): U_xi [cout, cin]. G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]. */
static void transform_weights(const float *w, int64_t cin, int64_t cout, int64_t p, int64_t ci0, int64_t ci1,
                              float *u) {
  const size_t xi_stride = cpu_gemm_packed_b_floats(cout, cin);
  for (int64_t j = 0; j < CPU_GEMM_NR; j++) {
    const int64_t co = p * CPU_GEMM_NR + j;
    for (int64_t ci = ci0; ci < ci1; ci++) {
      double v[16] = {0};
      if (co < cout) {
        double g[3][3], gg[4][3];
        for (int ky = 0; ky < 3; ky++)
          for (int kx = 0; kx < 3; kx++) g[ky][kx] = w[((co * 3 + ky) * 3 + kx) * cin + ci];
        for (int c = 0; c < 3; c++) {
          gg[0][c] = g[0][c];
          gg[1][c] = 0.5 * (g[0][c] + g[1][c] + g[2][c]);
          gg[2][c] = 0.5 * (g[0][c] - g[1][c] + g[2][c]);
          gg[3][c] = g[2][c];
        }
        for (int r = 0; r < 4; r++) {
          v[r * 4 + 0] = gg[r][0];
          v[r * 4 + 1] = 0.5 * (gg[r][0] + gg[r][1] + gg[r][2]);
          v[r * 4 + 2] = 0.5 * (gg[r][0] - gg[r][1] + gg[r][2]);
          v[r * 4 + 3] = gg[r][2];
        }
      }
      for (int xi = 0; xi < WINO_XI; xi++)
        u[xi * xi_stride + (p * cin + ci) * CPU_GEMM_NR + j] = (float)v[xi];
    }
  }
}

/* V = B^T d B for the T tiles of a block, d the 4x4 input pixels of a tile (Cin floats each, from the band),
 * B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]; V [xi][t][ci]. Vectorised over the channels. */
CPU_VECTOR_CLONES
static void transform_input(const float *band, int64_t T, int64_t cin, float *v, int64_t xs) {
  const int64_t row = (2 * T + 2) * cin; /* between band rows; xs: between the xi slices */
  for (int64_t t = 0; t < T; t++) {
    const float *restrict d0 = band + 2 * t * cin, *restrict d1 = d0 + row, *restrict d2 = d1 + row;
    const float *restrict d3 = d2 + row;
    float *restrict o = v + t * cin;
#pragma omp simd
    for (int64_t ci = 0; ci < cin; ci++) {
      /* rows: B^T d, column by column */
      const float a0 = d0[ci], a1 = d0[cin + ci], a2 = d0[2 * cin + ci], a3 = d0[3 * cin + ci];
      const float b0 = d1[ci], b1 = d1[cin + ci], b2 = d1[2 * cin + ci], b3 = d1[3 * cin + ci];
      const float e0 = d2[ci], e1 = d2[cin + ci], e2 = d2[2 * cin + ci], e3 = d2[3 * cin + ci];
      const float f0 = d3[ci], f1 = d3[cin + ci], f2 = d3[2 * cin + ci], f3 = d3[3 * cin + ci];
      const float r00 = a0 - e0, r01 = a1 - e1, r02 = a2 - e2, r03 = a3 - e3;
      const float r10 = b0 + e0, r11 = b1 + e1, r12 = b2 + e2, r13 = b3 + e3;
      const float r20 = e0 - b0, r21 = e1 - b1, r22 = e2 - b2, r23 = e3 - b3;
      const float r30 = b0 - f0, r31 = b1 - f1, r32 = b2 - f2, r33 = b3 - f3;
      /* then columns: (B^T d) B */
      o[0 * xs + ci] = r00 - r02, o[1 * xs + ci] = r01 + r02, o[2 * xs + ci] = r02 - r01, o[3 * xs + ci] = r01 - r03;
      o[4 * xs + ci] = r10 - r12, o[5 * xs + ci] = r11 + r12, o[6 * xs + ci] = r12 - r11, o[7 * xs + ci] = r11 - r13;
      o[8 * xs + ci] = r20 - r22, o[9 * xs + ci] = r21 + r22, o[10 * xs + ci] = r22 - r21;
      o[11 * xs + ci] = r21 - r23;
      o[12 * xs + ci] = r30 - r32, o[13 * xs + ci] = r31 + r32, o[14 * xs + ci] = r32 - r31;
      o[15 * xs + ci] = r31 - r33;
    }
  }
}

/* Y = A^T m A (A^T = [1 1 1 0; 0 1 -1 -1]) for each tile, + bias, activation, into the output pixels that exist
 * (the others go to `spare`, cout floats). Vectorised over the channels. */
CPU_VECTOR_CLONES
static void transform_output(const float *m, int64_t xs, int64_t T, int64_t cout, const float *bias, vm_act act,
                             float *out, int64_t wo, int64_t x0, int rows_out, float *spare) {
  for (int64_t t = 0; t < T; t++) {
    const int64_t x = x0 + 2 * t;
    if (x >= wo) break;
    const float *restrict s = m + t * cout;
    float *o[4];
    for (int q = 0; q < 4; q++) {
      const int dy = q / 2, dx = q % 2;
      o[q] = dy < rows_out && x + dx < wo ? out + (dy * wo + x + dx) * cout : spare + q * cout;
    }
    float *restrict o0 = o[0], *restrict o1 = o[1], *restrict o2 = o[2], *restrict o3 = o[3];
#pragma omp simd
    for (int64_t co = 0; co < cout; co++) {
      const float m00 = s[0 * xs + co], m01 = s[1 * xs + co], m02 = s[2 * xs + co], m03 = s[3 * xs + co];
      const float m10 = s[4 * xs + co], m11 = s[5 * xs + co], m12 = s[6 * xs + co], m13 = s[7 * xs + co];
      const float m20 = s[8 * xs + co], m21 = s[9 * xs + co], m22 = s[10 * xs + co], m23 = s[11 * xs + co];
      const float m30 = s[12 * xs + co], m31 = s[13 * xs + co], m32 = s[14 * xs + co], m33 = s[15 * xs + co];
      /* rows: A^T m, column by column */
      const float p0 = (m00 + m10) + m20, p1 = (m01 + m11) + m21, p2 = (m02 + m12) + m22, p3 = (m03 + m13) + m23;
      const float q0 = (m10 - m20) - m30, q1 = (m11 - m21) - m31, q2 = (m12 - m22) - m32, q3 = (m13 - m23) - m33;
      const float b = bias ? bias[co] : 0.0f;
      o0[co] = ((p0 + p1) + p2) + b;
      o1[co] = ((p1 - p2) - p3) + b;
      o2[co] = ((q0 + q1) + q2) + b;
      o3[co] = ((q1 - q2) - q3) + b;
    }
    for (int q = 0; q < 4; q++) cpu_act_apply(act, o[q], cout);
  }
}

vm_status cpu_conv3x3_winograd(cpu_runtime *rt, const conv_geometry *g, const float *detail, const float *low,
                               const float *w, const float *bias, vm_act act, float *out, vm_error *err) {
  const cpu_gemm_isa *isa = rt->gemm;
  const int64_t cin = g->cin, cout = g->cout;
  vm_status st = cpu_shared_reserve(rt, cpu_conv3x3_winograd_shared(cin, cout), err);
  if (st != VM_OK) return st;
  float *u = rt->shared;
  /* one task per (panel, 64 input channels): the decoder's widest layer has only 8 panels */
  const int64_t panels = cpu_gemm_panels(cout), ci_chunks = (cin + 63) / 64, wtasks = panels * ci_chunks;
#pragma omp parallel for num_threads(cpu_team(rt, wtasks)) schedule(static)
  for (int64_t wt = 0; wt < wtasks; wt++) {
    const int64_t p = wt / ci_chunks, ci0 = wt % ci_chunks * 64, ci1 = ci0 + 64 < cin ? ci0 + 64 : cin;
    transform_weights(w, cin, cout, p, ci0, ci1, u);
  }

  const wino_tiling t = wino_tiling_for(g->ho, g->wo, cin);
  const int64_t T = t.per_block, ntasks = g->n * t.tiles_y * t.chunks;
  const int team = cpu_team(rt, ntasks);
  st = cpu_scratch_reserve(rt, team, wino_scratch(isa, &t, cin, cout), err);
  if (st != VM_OK) return st;
  const size_t xi_stride = cpu_gemm_packed_b_floats(cout, cin);
  float *const *scratch = rt->scratch;
  const cpu_gemm_epilogue plain = {NULL, VM_ACT_NONE, NULL, 0, 1.0f, NULL};
#pragma omp parallel for num_threads(team) schedule(dynamic, 1)
  for (int64_t task = 0; task < ntasks; task++) {
    const int64_t img = task / (t.tiles_y * t.chunks), ty = task / t.chunks % t.tiles_y, ch = task % t.chunks;
    const int64_t tx0 = ch * T, n_t = t.tiles_x - tx0 < T ? t.tiles_x - tx0 : T;
    float *band = scratch[omp_get_thread_num()];
    const int64_t vs = slice_stride(T * cin), ms = slice_stride(T * cout);
    float *v = band + round16(4 * (2 * T + 2) * cin), *m = v + WINO_XI * vs;
    float *spare = m + WINO_XI * ms, *work = spare + round16(4 * cout);
    /* the band of a whole block (T tiles) even when it has fewer: past the image it is zero */
    cpu_conv_gather_band(g, detail, low, img, 2 * ty - 1, 2 * tx0 - 1, 4, 2 * T + 2, band);
    transform_input(band, T, cin, v, vs);
    for (int xi = 0; xi < WINO_XI; xi++) {
      const cpu_gemm_a a = {.data = v + xi * vs, .lda = cin, .line = 0, .nseg = 1, .kseg = cin, .off = {0}};
      const cpu_gemm_b b = {.data = u + xi * xi_stride, .panel_stride = cin * CPU_GEMM_NR, .ld = 0, .kn = 0};
      cpu_gemm_block(isa, &a, 1, n_t, &b, 0, cout, m + xi * ms, cout, 0, &plain, work);
    }
    const int rows_out = g->ho - 2 * ty >= 2 ? 2 : 1;
    transform_output(m, ms, T, cout, bias, act, out + ((img * g->ho + 2 * ty) * g->wo) * cout, g->wo, 2 * tx0, rows_out,
                     spare);
  }
  return VM_OK;
}
