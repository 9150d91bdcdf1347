#include "preprocess.h"

#include <math.h>
#include <string.h>

#include <omp.h>

#include "error.h"

vm_status vm_image_check(const vm_image *im, int is_trimap, const char *what, vm_error *err) {
  if (!im || !im->data) return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "%s: no pixel data", what);
  if (im->width <= 0 || im->height <= 0)
    return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "%s: invalid size %d x %d", what, im->width, im->height);
  if (im->type != VM_PIXEL_U8 && im->type != VM_PIXEL_U16 && im->type != VM_PIXEL_F32)
    return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "%s: unknown pixel type %d", what, (int)im->type);
  if (is_trimap ? im->channels != 1 : (im->channels < 1 || im->channels > 4))
    return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "%s: %d channels (expected %s)", what, im->channels,
                   is_trimap ? "1" : "1 to 4: gray, gray+alpha, RGB or RGBA");
  size_t row = (size_t)im->width * (size_t)im->channels * vm_sample_size(im->type);
  if (im->row_stride != 0 && im->row_stride < row)
    return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "%s: row stride %zu is less than a row (%zu bytes)", what,
                   im->row_stride, row);
  return VM_OK;
}

/* One sample mapped to [-1, 1] the way the processor does for each bit depth. */
static float colour_value(const unsigned char *row, int i, vm_pixel_type t) {
  switch (t) {
  case VM_PIXEL_U8: return ((float)row[i] - 127.5f) / 127.5f;
  case VM_PIXEL_U16: {
    uint16_t v;
    memcpy(&v, row + 2 * (size_t)i, 2);
    return ((float)v - 32767.5f) / 32767.5f;
  }
  default: {
    float v;
    memcpy(&v, row + 4 * (size_t)i, 4);
    return (v - 0.5f) / 0.5f;
  }
  }
}

void vm_preprocess(const vm_image *rgb, const vm_image *trimap, int Hp, int Wp, float *px, int threads) {
  const int W = rgb->width, H = rgb->height, ch = rgb->channels;
  const int colour = ch >= 3;
  const vm_pixel_type ct = rgb->type, tt = trimap->type;
  if (threads <= 0) threads = omp_get_max_threads();
  /* Rows are independent; at 12 MP one thread spends ~100 ms here, as long as the GPU's whole forward pass. */
#pragma omp parallel for schedule(static) num_threads(threads) if ((int64_t)Hp * Wp >= (1 << 18))
  for (int y = 0; y < Hp; y++) {
    float *dst = px + (size_t)y * Wp * 4;
    if (y >= H) {
      memset(dst, 0, sizeof(float) * 4 * (size_t)Wp);
      continue;
    }
    const unsigned char *src = vm_image_row(rgb, y), *tri = vm_image_row(trimap, y);
    if (ct == VM_PIXEL_U8 && colour && tt == VM_PIXEL_U8) { /* the common case, without the per-sample switch */
      for (int x = 0; x < W; x++) {
        const unsigned char *p = src + (size_t)x * ch;
        dst[4 * x + 0] = ((float)p[0] - 127.5f) / 127.5f;
        dst[4 * x + 1] = ((float)p[1] - 127.5f) / 127.5f;
        dst[4 * x + 2] = ((float)p[2] - 127.5f) / 127.5f;
        dst[4 * x + 3] = (float)tri[x] / 255.0f;
      }
    } else {
      for (int x = 0; x < W; x++) {
        const int base = x * ch;
        float r = colour_value(src, base, ct);
        dst[4 * x + 0] = r;
        dst[4 * x + 1] = colour ? colour_value(src, base + 1, ct) : r;
        dst[4 * x + 2] = colour ? colour_value(src, base + 2, ct) : r;
        dst[4 * x + 3] = vm_sample_unit(tri, (size_t)x, tt);
      }
    }
    memset(dst + 4 * (size_t)W, 0, sizeof(float) * 4 * (size_t)(Wp - W));
  }
}

bool vm_pack_rgbt8(const vm_image *rgb, const vm_image *trimap, uint8_t *dst, int threads) {
  if (rgb->type != VM_PIXEL_U8 || trimap->type != VM_PIXEL_U8) return false;
  const int W = rgb->width, H = rgb->height, ch = rgb->channels;
  const int g = ch >= 3 ? 1 : 0; /* offset of G and B: 0 replicates gray */
  if (threads <= 0) threads = omp_get_max_threads();
  /* a memory-bound pass of 4-8 bytes a pixel: threads pay off from a few megapixels */
#pragma omp parallel for schedule(static) num_threads(threads) if ((int64_t)H * W >= (1 << 20))
  for (int y = 0; y < H; y++) {
    const unsigned char *src = vm_image_row(rgb, y), *tri = vm_image_row(trimap, y);
    uint8_t *d = dst + (size_t)y * W * 4;
    for (int x = 0; x < W; x++) {
      const unsigned char *p = src + (size_t)x * ch;
      d[4 * x + 0] = p[0];
      d[4 * x + 1] = p[g];
      d[4 * x + 2] = p[2 * g];
      d[4 * x + 3] = tri[x];
    }
  }
  return true;
}

bool vm_alpha_finite(const float *alpha, int row_stride, int width, int height, int threads) {
  if (threads <= 0) threads = omp_get_max_threads();
  int bad = 0;
#pragma omp parallel for schedule(static) num_threads(threads) reduction(| : bad) \
    if ((int64_t)width * height >= (1 << 18))
  for (int y = 0; y < height; y++) {
    const float *row = alpha + (size_t)y * row_stride;
    for (int x = 0; x < width; x++) bad |= !isfinite(row[x]);
  }
  return !bad;
}
