/* k x k convolutions of [detail, upsample_x2(low)] on the CPU: each tile of output pixels gathers the band of input
 * pixels it reads (the concatenation, upsampling and zero padding done there, never for the whole image), then one
 * product against w [Cout, k*k*Cin] reads that band in place, a segment of A per tap of the kernel (cpu_gemm.h). */
#include <omp.h>
#include <string.h>

#include "cpu_check.h"
#include "cpu_conv.h"
#include "cpu_gemm.h"
#include "cpu_ops.h"
#include "error.h"

/* Floats of input band per tile we aim for: 256 KiB stay in L2 while every panel of the weight passes over them. */
#ifndef CPU_CONV_BAND_FLOATS
#define CPU_CONV_BAND_FLOATS (1 << 16)
#endif


typedef struct conv_tiling {
  int64_t rows, cols;        /* output rows per tile and output columns per tile (cols < wo only when rows == 1) */
  int64_t band_rows, band_cols; /* input pixels a tile reads, padding included */
  int direct;                /* 1x1, stride 1, detail only: A is the input itself, no band */
} conv_tiling;

static conv_tiling conv_tile_for(int64_t ho, int64_t wo, int64_t cin, int k, int stride, int direct, int threads) {
  conv_tiling t = {0};
  t.direct = direct;
  const int64_t row_band = ((wo - 1) * stride + k) * cin; /* floats of one band row for a whole output row */
  if ((int64_t)k * row_band <= CPU_CONV_BAND_FLOATS) {
    t.cols = wo;
    t.rows = (CPU_CONV_BAND_FLOATS / row_band - k) / stride + 1;
    int64_t fair = (ho + 4 * threads - 1) / (4 * threads); /* a few tiles per thread, for dynamic scheduling */
    if (t.rows > fair) t.rows = fair;
    if (t.rows < 1) t.rows = 1;
  } else {
    t.rows = 1;
    t.cols = (CPU_CONV_BAND_FLOATS / ((int64_t)k * cin) - k) / stride + 1;
    if (t.cols < 16) t.cols = 16; /* a wide input's tile still spans a few micro-tiles */
    if (t.cols > wo) t.cols = wo;
  }
  t.band_rows = (t.rows - 1) * stride + k;
  t.band_cols = (t.cols - 1) * stride + k;
  return t;
}

/* Floats of one tile's product work space: its rows are the whole tile (direct) or one output row's pixels. */
static size_t conv_tile_work(const cpu_gemm_isa *isa, const conv_tiling *t, int64_t kk, int64_t cout) {
  return cpu_gemm_work_floats(isa, t->direct ? t->rows * t->cols : t->cols, cout, kk);
}

/* Scratch floats for one tile: the product's work space, then (unless direct) the band of input pixels. */
static size_t conv_tile_scratch(const cpu_gemm_isa *isa, const conv_tiling *t, int64_t cin, int64_t kk,
                                int64_t cout) {
  return conv_tile_work(isa, t, kk, cout) + (t->direct ? 0 : (size_t)(t->band_rows * t->band_cols * cin));
}

cpu_need cpu_conv2d_need(const cpu_runtime *rt, int64_t h, int64_t w, int64_t cin, int64_t cout, int k, int stride) {
  const cpu_gemm_isa *isa = rt->gemm;
  const int64_t ho = (h + 2 * (k / 2) - k) / stride + 1, wo = (w + 2 * (k / 2) - k) / stride + 1;
  if (k == 3 && stride == 1 && rt->winograd)
    return (cpu_need){cpu_conv3x3_winograd_scratch(isa, wo, cin, cout), cpu_conv3x3_winograd_shared(cin, cout)};
  const int64_t kk = (int64_t)k * k * cin;
  conv_tiling t = conv_tile_for(ho, wo, cin, k, stride, 0, 1); /* one thread: the tallest tiles */
  return (cpu_need){conv_tile_scratch(isa, &t, cin, kk, cout), isa->kernel ? cpu_gemm_packed_b_floats(cout, kk) : 0};
}

vm_status cpu_conv2d(cpu_runtime *rt, const vm_tensor *detail, const vm_tensor *low, const vm_param *w,
                     const vm_param *b, int k, int stride, vm_act act, const vm_tensor *out, vm_error *err) {
  if (!detail && !low) return vm_fail(err, VM_ERR_INTERNAL, "conv2d: neither detail nor low given");
  if ((detail && !cpu_tensor_ok(detail)) || (low && !cpu_tensor_ok(low)) || !cpu_tensor_ok(out))
    return vm_fail(err, VM_ERR_INTERNAL, "conv2d: missing or empty tensor");
  if ((k != 1 && k != 3) || stride < 1) return vm_fail(err, VM_ERR_INTERNAL, "conv2d: k %d, stride %d", k, stride);
  conv_geometry g = {.k = k, .stride = stride, .pad = k / 2};
  g.n = detail ? detail->n : low->n;
  g.h = detail ? detail->h : 2 * low->h;
  g.w = detail ? detail->w : 2 * low->w;
  g.cd = detail ? detail->c : 0;
  g.cl = low ? low->c : 0;
  g.cin = g.cd + g.cl;
  if (detail && low && (low->n != detail->n || 2 * low->h != detail->h || 2 * low->w != detail->w))
    return vm_fail(err, VM_ERR_INTERNAL, "conv2d: low [%lld, %lld, %lld] is not half of detail [%lld, %lld, %lld]",
                   (long long)low->n, (long long)low->h, (long long)low->w, (long long)detail->n,
                   (long long)detail->h, (long long)detail->w);
  g.ho = (g.h + 2 * g.pad - k) / stride + 1;
  g.wo = (g.w + 2 * g.pad - k) / stride + 1;
  g.cout = out->c;
  g.kk = (int64_t)k * k * g.cin;
  if (out->n != g.n || out->h != g.ho || out->w != g.wo)
    return vm_fail(err, VM_ERR_INTERNAL, "conv2d: out is [%lld, %lld, %lld], expected [%lld, %lld, %lld]",
                   (long long)out->n, (long long)out->h, (long long)out->w, (long long)g.n, (long long)g.ho,
                   (long long)g.wo);
  if (!cpu_param_ok(w, g.cout * g.kk))
    return vm_fail(err, VM_ERR_INTERNAL, "conv2d: weight has %lld values, expected %lld x %d x %d x %lld",
                   w ? (long long)w->numel : 0LL, (long long)g.cout, k, k, (long long)g.cin);
  if (!cpu_optional_param_ok(b, g.cout))
    return vm_fail(err, VM_ERR_INTERNAL, "conv2d: bias needs %lld values", (long long)g.cout);
  if (g.kk > INT32_MAX / 4 || g.cout > INT32_MAX)
    return vm_fail(err, VM_ERR_INTERNAL, "conv2d: dimensions too large for BLAS");

  if (k == 3 && stride == 1 && rt->winograd)
    return cpu_conv3x3_winograd(rt, &g, detail ? detail->data : NULL, low ? low->data : NULL, w->data,
                                cpu_param_data(b), act, out->data, err);
  const cpu_gemm_isa *isa = rt->gemm;
  cpu_gemm_b bm;
  vm_status st = cpu_shared_pack_b(rt, w->data, g.cout, g.kk, &bm, err);
  if (st != VM_OK) return st;

  const int direct = k == 1 && stride == 1 && !low;
  conv_tiling t = conv_tile_for(g.ho, g.wo, g.cin, k, stride, direct, rt->threads);
  const int64_t tiles_y = (g.ho + t.rows - 1) / t.rows, tiles_x = (g.wo + t.cols - 1) / t.cols;
  const int64_t ntasks = g.n * tiles_y * tiles_x;
  const int team = cpu_team(rt, ntasks);
  const size_t work = conv_tile_work(isa, &t, g.kk, g.cout);
  st = cpu_scratch_reserve(rt, team, conv_tile_scratch(isa, &t, g.cin, g.kk, g.cout), err);
  if (st != VM_OK) return st;

  const float *ds = detail ? detail->data : NULL, *ls = low ? low->data : NULL, *bs = cpu_param_data(b);
  float *os = out->data;
  float *const *scratch = rt->scratch;
  const cpu_gemm_epilogue ep = {bs, act, NULL, 0, 1.0f, NULL};
#pragma omp parallel for num_threads(team) schedule(dynamic, 1)
  for (int64_t task = 0; task < ntasks; task++) {
    int64_t img = task / (tiles_y * tiles_x), ty = task / tiles_x % tiles_y, tx = task % tiles_x;
    int64_t oy0 = ty * t.rows, ox0 = tx * t.cols;
    int64_t rows = g.ho - oy0 < t.rows ? g.ho - oy0 : t.rows;
    int64_t cols = g.wo - ox0 < t.cols ? g.wo - ox0 : t.cols;
    /* a tile is whole rows or part of one row, so its outputs are contiguous in out */
    float *dst = os + ((img * g.ho + oy0) * g.wo + ox0) * g.cout;
    float *ws = scratch[omp_get_thread_num()];
    if (direct) {
      const cpu_gemm_a a = {.data = ds + ((img * g.h + oy0) * g.w + ox0) * g.cd, .lda = g.cd, .line = 0, .nseg = 1,
                            .kseg = g.cd, .off = {0}};
      cpu_gemm_block(isa, &a, 1, rows * cols, &bm, 0, g.cout, dst, g.cout, 0, &ep, ws);
      continue;
    }
    float *band = ws + work;
    cpu_conv_gather_band(&g, ds, ls, img, oy0 * stride - g.pad, ox0 * stride - g.pad, (rows - 1) * stride + k,
                         t.band_cols, band);
    /* output row r of the tile is a line of A; pixel c of it starts at band pixel (r * s, c * s); the taps are its
     * segments, each Cin floats of one band pixel */
    cpu_gemm_a a = {.data = band, .lda = stride * g.cin, .line = stride * t.band_cols * g.cin, .nseg = k * k,
                    .kseg = g.cin};
    for (int ky = 0; ky < k; ky++)
      for (int kx = 0; kx < k; kx++) a.off[ky * k + kx] = (ky * t.band_cols + kx) * g.cin;
    cpu_gemm_block(isa, &a, rows, cols, &bm, 0, g.cout, dst, g.cout, g.wo * g.cout, &ep, ws);
  }
  return VM_OK;
}
