/* The input band of a convolution tile: [detail, upsample_x2(low)] gathered pixel by pixel, zero outside the image,
 * so that no op ever materialises the concatenated or upsampled input of a whole image. */
#include <string.h>

#include "cpu_conv.h"
#include "cpu_simd.h"

/* Bilinear x2 source taps along one axis (align_corners=False, as PyTorch's upsample_bilinear2d computes them):
 * src = max(0, (dst + 0.5) / 2 - 0.5); i0 = floor(src); i1 = i0 + 1 unless at the end; weight of i1 = src - i0. */
static void upsample_taps(int64_t dst, int64_t in_len, int64_t *i0, int64_t *i1, float *l1) {
  float src = 0.5f * ((float)dst + 0.5f) - 0.5f;
  if (src < 0.0f) src = 0.0f;
  *i0 = (int64_t)src;
  *i1 = *i0 < in_len - 1 ? *i0 + 1 : *i0;
  *l1 = src - (float)*i0;
}

/* Multiversioned behind the plain cpu_conv_gather_band: clang refuses to multiversion a function whose callers saw
 * it declared without the attribute. */
CPU_VECTOR_CLONES
static void gather_band(const conv_geometry *g, const float *detail, const float *low, int64_t img, int64_t y0,
                        int64_t x0, int64_t rows, int64_t cols, float *band) {
  const int64_t hl = g->h / 2, wl = g->w / 2;
  for (int64_t r = 0; r < rows; r++) {
    int64_t y = y0 + r;
    float *dst = band + r * cols * g->cin;
    if (y < 0 || y >= g->h) {
      memset(dst, 0, (size_t)(cols * g->cin) * sizeof(float));
      continue;
    }
    int64_t ya = 0, yb = 0;
    float ly = 0.0f;
    if (low) upsample_taps(y, hl, &ya, &yb, &ly);
    const float *row_a = low ? low + (img * hl + ya) * wl * g->cl : NULL;
    const float *row_b = low ? low + (img * hl + yb) * wl * g->cl : NULL;
    for (int64_t c = 0; c < cols; c++) {
      int64_t x = x0 + c;
      float *px = dst + c * g->cin;
      if (x < 0 || x >= g->w) {
        memset(px, 0, (size_t)g->cin * sizeof(float));
        continue;
      }
      if (detail) {
        const float *src = detail + ((img * g->h + y) * g->w + x) * g->cd;
        for (int64_t ch = 0; ch < g->cd; ch++) px[ch] = src[ch]; /* often 4 channels: no call for that */
      }
      if (low) {
        int64_t xa, xb;
        float lx;
        upsample_taps(x, wl, &xa, &xb, &lx);
        const float h0 = 1.0f - ly, w0 = 1.0f - lx;
        const float *aa = row_a + xa * g->cl, *ab = row_a + xb * g->cl;
        const float *ba = row_b + xa * g->cl, *bb = row_b + xb * g->cl;
        float *o = px + g->cd;
        for (int64_t ch = 0; ch < g->cl; ch++)
          o[ch] = h0 * (w0 * aa[ch] + lx * ab[ch]) + ly * (w0 * ba[ch] + lx * bb[ch]);
      }
    }
  }
}

void cpu_conv_gather_band(const conv_geometry *g, const float *detail, const float *low, int64_t img, int64_t y0,
                          int64_t x0, int64_t rows, int64_t cols, float *band) {
  gather_band(g, detail, low, img, y0, x0, rows, cols, band);
}
