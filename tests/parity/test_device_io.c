/* test_device_io.c - the engine's side of a backend that pre-processes 8-bit pictures on its device and hands the
 * alpha to the caller itself (backend.h: upload_rgbt8, download_alpha, host_alloc; the CUDA backend's), without a GPU:
 * the CPU backend's op table with those entries added here in host code (input.cu's formulas), so CI checks the
 * engine's staging buffers, packing and hand-over, also under the sanitizers. Exits non-zero when a check fails. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "context_internal.h"
#include "vitmatte.h"

#ifndef VM_SOURCE_ROOT
#define VM_SOURCE_ROOT "."
#endif

static int failures = 0;

static void check(int ok, const char *what) {
  printf("%s %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok) failures++;
}

/* ---- the added entries and what the engine asked of them ---- */

static struct {
  const vm_backend_ops *cpu;
  vm_backend_ops ops;
  int uploads_f32, uploads_rgbt8, downloads, downloads_alpha, host_allocs;
  size_t largest_host_alloc;
  int report_not_finite; /* download_alpha says the alpha is not finite (what an fp16 overflow looks like) */
} D;

static vm_status d_upload(vm_backend *be, const vm_tensor *dst, const float *src, vm_error *err) {
  D.uploads_f32++;
  return D.cpu->upload(be, dst, src, err);
}

static vm_status d_download(vm_backend *be, const vm_tensor *src, float *dst, vm_error *err) {
  D.downloads++;
  return D.cpu->download(be, src, dst, err);
}

static vm_status d_upload_rgbt8(vm_backend *be, const vm_tensor *px, const uint8_t *src, int h, int w,
                                vm_error *err) {
  (void)be;
  (void)err;
  D.uploads_rgbt8++;
  float *p = px->data;
  memset(p, 0, sizeof(float) * (size_t)vm_tensor_numel(px));
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      const uint8_t *s = src + ((size_t)y * w + x) * 4;
      float *d = p + ((size_t)y * px->w + x) * 4;
      for (int c = 0; c < 3; c++) d[c] = ((float)s[c] - 127.5f) / 127.5f;
      d[3] = (float)s[3] / 255.0f;
    }
  return VM_OK;
}

static vm_status d_download_alpha(vm_backend *be, const vm_tensor *alpha, float *dst, size_t dst_stride, int width,
                                  int height, bool *finite, vm_error *err) {
  (void)be;
  (void)err;
  D.downloads_alpha++;
  const float *a = alpha->data;
  *finite = !D.report_not_finite;
  for (int y = 0; y < height && *finite; y++)
    for (int x = 0; x < width; x++) *finite = *finite && isfinite(a[(size_t)y * alpha->w + x]);
  if (!*finite) return VM_OK;
  for (int y = 0; y < height; y++) memcpy(dst + (size_t)y * dst_stride, a + (size_t)y * alpha->w, sizeof(float) * width);
  return VM_OK;
}

static vm_status d_host_alloc(vm_backend *be, size_t bytes, void **out, vm_error *err) {
  (void)be;
  (void)err;
  D.host_allocs++;
  if (bytes > D.largest_host_alloc) D.largest_host_alloc = bytes;
  *out = malloc(bytes);
  return *out ? VM_OK : VM_ERR_OUT_OF_MEMORY;
}

static void d_host_free(vm_backend *be, void *p) {
  (void)be;
  free(p);
}

static void counters_reset(void) {
  D.uploads_f32 = D.uploads_rgbt8 = D.downloads = D.downloads_alpha = D.host_allocs = 0;
  D.largest_host_alloc = 0;
}

/* ---- pictures ---- */

typedef struct picture {
  int w, h, ch;
  vm_pixel_type type;
  void *px;
  unsigned char *tri;
} picture;

static picture make_picture(int w, int h, int ch, vm_pixel_type type, unsigned seed) {
  picture p = {w, h, ch, type, NULL, malloc((size_t)w * h)};
  const size_t n = (size_t)w * h * ch;
  p.px = malloc(n * (type == VM_PIXEL_U16 ? 2 : 1));
  for (size_t i = 0; i < n; i++) {
    const unsigned v = (unsigned)(i * 2654435761u + seed) >> 13;
    if (type == VM_PIXEL_U16)
      ((uint16_t *)p.px)[i] = (uint16_t)v;
    else
      ((unsigned char *)p.px)[i] = (unsigned char)v;
  }
  /* background, an unknown band, foreground */
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) p.tri[(size_t)y * w + x] = x < w / 3 ? 0 : x < 2 * w / 3 ? 128 : 255;
  return p;
}

static void free_picture(picture *p) {
  free(p->px);
  free(p->tri);
}

/* vm_predict into rows `stride` floats apart, prefilled with -7 */
static vm_status predict(vm_context *ctx, const picture *p, size_t stride, float *alpha, vm_error *err) {
  for (size_t i = 0; i < stride * p->h; i++) alpha[i] = -7.0f;
  const vm_image im = {p->px, p->w, p->h, p->ch, 0, p->type}, tm = {p->tri, p->w, p->h, 1, 0, VM_PIXEL_U8};
  return vm_predict(ctx, &im, &tm, alpha, stride, err);
}

/* The same picture through the plain CPU context and the one with the device entries: equal bit for bit, the
 * rows' tail untouched. */
static void same_alpha(vm_context *plain, vm_context *dev, const picture *p, const char *what) {
  const size_t stride = (size_t)p->w + 9;
  float *a = malloc(sizeof(float) * stride * p->h), *b = malloc(sizeof(float) * stride * p->h);
  vm_error err = {0};
  vm_status sa = predict(plain, p, stride, a, &err), sb = predict(dev, p, stride, b, &err);
  char line[1024];
  snprintf(line, sizeof line, "%s: the same alpha as the host path, bit for bit, the rows' tail untouched%s%s", what,
           sb != VM_OK ? " - " : "", sb != VM_OK ? err.message : "");
  int tail = 1;
  for (int y = 0; y < p->h; y++)
    for (size_t x = (size_t)p->w; x < stride; x++) tail &= b[y * stride + x] == -7.0f;
  check(sa == VM_OK && sb == VM_OK && tail && memcmp(a, b, sizeof(float) * stride * p->h) == 0, line);
  free(a);
  free(b);
}

int main(void) {
  vm_error err;
  vm_model *model = NULL;
  if (vm_model_load(VM_SOURCE_ROOT "/data/tiny", &model, &err) != VM_OK) {
    printf("FAIL load data/tiny: %s\n", err.message);
    return 1;
  }
  vm_context_options o;
  vm_context_options_default(&o);
  o.device = VM_DEVICE_CPU;
  o.cpu_threads = 2;
  vm_context *plain = NULL, *dev = NULL;
  if (vm_context_create(model, &o, &plain, &err) != VM_OK || vm_context_create(model, &o, &dev, &err) != VM_OK) {
    printf("FAIL context: %s\n", err.message);
    return 1;
  }
  /* before the first plan: the host buffers are made by it */
  vm_backend *be = vm_context_backend(dev);
  D.cpu = be->ops;
  D.ops = *be->ops;
  D.ops.upload = d_upload;
  D.ops.download = d_download;
  D.ops.upload_rgbt8 = d_upload_rgbt8;
  D.ops.download_alpha = d_download_alpha;
  D.ops.host_alloc = d_host_alloc;
  D.ops.host_free = d_host_free;
  be->ops = &D.ops;

  picture rgb = make_picture(333, 250, 3, VM_PIXEL_U8, 1);
  same_alpha(plain, dev, &rgb, "8-bit RGB 333x250");
  check(D.uploads_rgbt8 == 1 && D.uploads_f32 == 0 && D.downloads_alpha == 1 && D.downloads == 0,
        "8-bit RGB: the packed upload and the alpha hand-over, no f32 upload or download");
  char line[1024];
  snprintf(line, sizeof line, "8-bit RGB: one host buffer of 4 bytes a padded pixel (asked %zu bytes in %d calls, "
           "want %d)", D.largest_host_alloc, D.host_allocs, 352 * 256 * 4);
  check(D.host_allocs == 1 && D.largest_host_alloc == 352 * 256 * 4, line);

  const int chans[3] = {1, 2, 4};
  for (int k = 0; k < 3; k++) {
    picture p = make_picture(333, 250, chans[k], VM_PIXEL_U8, 7u + (unsigned)k);
    counters_reset();
    snprintf(line, sizeof line, "8-bit %d-channel 333x250", chans[k]);
    same_alpha(plain, dev, &p, line);
    check(D.uploads_rgbt8 == 1 && D.uploads_f32 == 0 && D.host_allocs == 0, "  packed, in the buffer made before");
    free_picture(&p);
  }

  picture grey16 = make_picture(333, 250, 1, VM_PIXEL_U16, 3);
  counters_reset();
  same_alpha(plain, dev, &grey16, "16-bit gray 333x250");
  snprintf(line, sizeof line, "16-bit: the host path's f32 upload, its buffer grown to 16 bytes a pixel (asked %zu), "
           "the alpha still handed over", D.largest_host_alloc);
  check(D.uploads_f32 == 1 && D.uploads_rgbt8 == 0 && D.downloads_alpha == 1 && D.host_allocs == 1 &&
            D.largest_host_alloc == (size_t)352 * 256 * 16,
        line);
  counters_reset();
  same_alpha(plain, dev, &rgb, "8-bit RGB again after it");
  check(D.uploads_rgbt8 == 1 && D.host_allocs == 0, "  packed into the larger buffer, nothing allocated");

  /* a non-finite alpha (an fp16 overflow on a GPU): an error, and the caller's rows as they were */
  D.report_not_finite = 1;
  const size_t stride = 333 + 9;
  float *alpha = malloc(sizeof(float) * stride * 250);
  vm_status st = predict(dev, &rgb, stride, alpha, &err);
  int untouched = 1;
  for (size_t i = 0; i < stride * 250; i++) untouched &= alpha[i] == -7.0f;
  snprintf(line, sizeof line, "a non-finite alpha: refused (%s), the caller's rows untouched",
           st == VM_OK ? "returned OK" : err.message);
  check(st == VM_ERR_INTERNAL && untouched, line);
  D.report_not_finite = 0;
  free(alpha);

  /* a new size plans afresh: its buffers too */
  picture small = make_picture(61, 37, 3, VM_PIXEL_U8, 11);
  counters_reset();
  same_alpha(plain, dev, &small, "8-bit RGB 61x37 (a new plan)");
  snprintf(line, sizeof line, "  a new 4-byte buffer for it (asked %zu bytes, want %d)", D.largest_host_alloc,
           64 * 64 * 4);
  check(D.host_allocs == 1 && D.largest_host_alloc == 64 * 64 * 4, line);

  free_picture(&small);
  free_picture(&grey16);
  free_picture(&rgb);
  vm_context_free(dev);
  vm_context_free(plain);
  vm_model_free(model);
  printf("device io: %d failed\n", failures);
  return failures ? 1 : 0;
}
