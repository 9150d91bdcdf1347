/* test_api.c - the public API's promises beyond the numbers: strides, grey and 16-bit inputs, cancelling, size
 * checks and the memory estimate. Each check prints one line; exits non-zero when any fails. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vitmatte.h"

#ifndef VM_SOURCE_ROOT
#define VM_SOURCE_ROOT "."
#endif

enum { W = 70, H = 45 };

static int failures = 0;

static void check(int ok, const char *what, const char *detail) {
  printf("%s %s%s%s\n", ok ? "ok  " : "FAIL", what, detail ? ": " : "", detail ? detail : "");
  if (!ok) failures++;
}

static double max_diff(const float *a, const float *b, int n) {
  double m = 0;
  for (int i = 0; i < n; i++) {
    double d = fabs((double)a[i] - b[i]);
    if (!(d <= m)) m = d;
  }
  return m;
}

typedef struct { int calls, cancel_at; } cancel_state;

static int cancel_progress(void *user, const char *stage, double fraction) {
  (void)stage;
  (void)fraction;
  cancel_state *s = user;
  return ++s->calls == s->cancel_at;
}

int main(void) {
  vm_error err;
  vm_model *model = NULL;
  vm_context *ctx = NULL;
  if (vm_model_load(VM_SOURCE_ROOT "/data/tiny", &model, &err) != VM_OK) {
    printf("FAIL load data/tiny: %s\n", err.message);
    return 1;
  }
  cancel_state cs = {0, 0};
  vm_context_options o;
  vm_context_options_default(&o);
  o.device = VM_DEVICE_CPU;
  o.progress = cancel_progress;
  o.progress_user_data = &cs;
  if (vm_context_create(model, &o, &ctx, &err) != VM_OK) {
    printf("FAIL context: %s\n", err.message);
    return 1;
  }

  unsigned char rgb[H * W * 3], grey[H * W], tri[H * W];
  uint16_t rgb16[H * W * 3];
  uint64_t s = 12345;
  for (int i = 0; i < H * W; i++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    grey[i] = (unsigned char)(s >> 56);
    int x = i % W, y = i / W, dx = x - W / 2, dy = y - H / 2, r2 = dx * dx + dy * dy;
    tri[i] = r2 < 100 ? 255 : (r2 < 400 ? 128 : 0);
  }
  for (int i = 0; i < H * W; i++)
    for (int c = 0; c < 3; c++) {
      rgb[3 * i + c] = grey[i];
      rgb16[3 * i + c] = (uint16_t)(grey[i] * 257);
    }
  vm_image im = {rgb, W, H, 3, 0, VM_PIXEL_U8}, tm = {tri, W, H, 1, 0, VM_PIXEL_U8};
  float base[H * W], other[H * W];
  char detail[600];

  vm_status st = vm_predict(ctx, &im, &tm, base, 0, &err);
  check(st == VM_OK, "predict a 70x45 picture", st == VM_OK ? NULL : err.message);

  /* A caller's row stride: rows land where the stride says, the gap between them is not written. */
  enum { STRIDE = W + 7 };
  static float strided[H * STRIDE];
  for (int i = 0; i < H * STRIDE; i++) strided[i] = -1.0f;
  st = vm_predict(ctx, &im, &tm, strided, STRIDE, &err);
  double d = 0;
  int gap_ok = 1;
  for (int y = 0; y < H; y++) {
    d = fmax(d, max_diff(strided + y * STRIDE, base + y * W, W));
    for (int x = W; x < STRIDE; x++) gap_ok &= strided[y * STRIDE + x] == -1.0f;
  }
  snprintf(detail, sizeof detail, "max diff %.1e, gap untouched %s", d, gap_ok ? "yes" : "no");
  check(st == VM_OK && d == 0 && gap_ok, "alpha row stride", detail);

  /* Grey (1 channel) = RGB with R = G = B; 16-bit v*257 = 8-bit v (the processor's arithmetic differs by rounding). */
  vm_image gi = {grey, W, H, 1, 0, VM_PIXEL_U8};
  st = vm_predict(ctx, &gi, &tm, other, 0, &err);
  d = max_diff(other, base, H * W);
  snprintf(detail, sizeof detail, "max diff %.1e", d);
  check(st == VM_OK && d == 0, "grey image equals its RGB copy", detail);
  vm_image i16 = {rgb16, W, H, 3, 0, VM_PIXEL_U16};
  st = vm_predict(ctx, &i16, &tm, other, 0, &err);
  d = max_diff(other, base, H * W);
  snprintf(detail, sizeof detail, "max diff %.1e", d);
  check(st == VM_OK && d <= 1e-6, "16-bit image (v*257) equals the 8-bit one", detail);

  /* Cancelling from the progress callback: VM_ERR_CANCELLED, nothing written, the context still usable. */
  for (int i = 0; i < H * W; i++) other[i] = -2.0f;
  cs = (cancel_state){0, 3};
  st = vm_predict(ctx, &im, &tm, other, 0, &err);
  int untouched = 1;
  for (int i = 0; i < H * W; i++) untouched &= other[i] == -2.0f;
  snprintf(detail, sizeof detail, "status '%s', alpha untouched %s", vm_status_string(st), untouched ? "yes" : "no");
  check(st == VM_ERR_CANCELLED && untouched, "cancel at the third progress report", detail);
  cs = (cancel_state){0, 0};
  st = vm_predict(ctx, &im, &tm, other, 0, &err);
  check(st == VM_OK && max_diff(other, base, H * W) == 0, "the next prediction after a cancel", NULL);

  /* A trimap of another size is refused with both sizes in the message. */
  vm_image small = {tri, W - 1, H, 1, 0, VM_PIXEL_U8};
  st = vm_predict(ctx, &im, &small, other, 0, &err);
  check(st == VM_ERR_INVALID_ARGUMENT && strstr(err.message, "69 x 45") && strstr(err.message, "70 x 45"),
        "trimap of another size", err.message);
  vm_image rgb_trimap = {rgb, W, H, 3, 0, VM_PIXEL_U8};
  st = vm_predict(ctx, &im, &rgb_trimap, other, 0, &err);
  check(st == VM_ERR_INVALID_ARGUMENT, "three-channel trimap", err.message);

  /* The estimate for a size bounds what a fresh context then holds at that size; 384 x 96 and 128 x 320 are sizes
   * where the scratch blocks just pass 4 MiB (huge pages: their 2 MiB rounding must stay out of the count). */
  static const int bounds[][2] = {{333, 250}, {384, 96}, {128, 320}};
  for (size_t b = 0; b < sizeof bounds / sizeof bounds[0]; b++) {
    const int BW = bounds[b][0], BH = bounds[b][1];
    vm_context_options bo;
    vm_context_options_default(&bo);
    bo.device = VM_DEVICE_CPU;
    vm_context *bctx = NULL;
    size_t estimate = 0, peak = 0;
    st = vm_context_create(model, &bo, &bctx, &err);
    if (st == VM_OK) st = vm_context_estimate_memory(bctx, BW, BH, &estimate, &err);
    unsigned char *brgb = calloc((size_t)BW * BH * 3, 1), *btri = calloc((size_t)BW * BH, 1);
    float *balpha = malloc(sizeof(float) * BW * BH);
    for (int i = 0; i < BW * BH; i++) btri[i] = (unsigned char)(i % 3 == 0 ? 128 : 0);
    vm_image bi = {brgb, BW, BH, 3, 0, VM_PIXEL_U8}, bt = {btri, BW, BH, 1, 0, VM_PIXEL_U8};
    vm_status st2 = st == VM_OK ? vm_predict(bctx, &bi, &bt, balpha, 0, &err) : st;
    if (bctx) peak = vm_context_peak_memory(bctx);
    char what[64];
    snprintf(what, sizeof what, "memory estimate >= peak at %dx%d", BW, BH);
    snprintf(detail, sizeof detail, "estimate %.3f MiB, peak %.3f MiB", estimate / 1048576.0, peak / 1048576.0);
    check(st == VM_OK && st2 == VM_OK && peak > 0 && peak <= estimate, what, detail);
    vm_context_free(bctx);
    free(brgb);
    free(btri);
    free(balpha);
  }

  vm_context_free(ctx);
  vm_model_free(model);
  printf("api: %d failed\n", failures);
  return failures ? 1 : 0;
}
