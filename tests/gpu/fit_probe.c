/* fit_probe.c - the largest photo (4:3, sides multiples of 32) a CUDA context computes with the GPU memory that is
 * free now: a binary search over sizes with real predictions (the engine refuses what its estimate says will not fit
 * before allocating, so the answer is what a user meets). For the README's table of card sizes, run by
 * tests/gpu/run_gpu.sh stage `fit` while tests/gpu/hold_memory.py leaves a card's worth of memory free.
 *
 * Usage: fit_probe MODEL_DIR fp16|bf16|fp32 LABEL */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vitmatte.h"

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* 0: ran; 1: did not fit (refused or out of device memory); -1: another error */
static int attempt(vm_context *ctx, int w, int h, double *ms, vm_error *e) {
  const size_t n = (size_t)w * h;
  unsigned char *rgb = malloc(3 * n), *tri = malloc(n);
  float *alpha = malloc(sizeof(float) * n);
  int r = -1;
  if (rgb && tri && alpha) {
    for (size_t i = 0; i < n; i++) {
      int x = (int)(i % (size_t)w);
      rgb[3 * i] = (unsigned char)(x * 7);
      rgb[3 * i + 1] = (unsigned char)(i / (size_t)w * 5);
      rgb[3 * i + 2] = (unsigned char)(x ^ (int)(i / (size_t)w));
      tri[i] = (unsigned char)(x < w / 3 ? 0 : x < 2 * w / 3 ? 128 : 255);
    }
    vm_image im = {rgb, w, h, 3, 0, VM_PIXEL_U8}, tm = {tri, w, h, 1, 0, VM_PIXEL_U8};
    double t0 = now_ms();
    vm_status st = vm_predict(ctx, &im, &tm, alpha, 0, e);
    *ms = now_ms() - t0;
    r = st == VM_OK ? 0 : st == VM_ERR_DEVICE_OUT_OF_MEMORY ? 1 : -1;
  } else {
    snprintf(e->message, sizeof e->message, "out of host memory for a %d x %d picture", w, h);
  }
  free(rgb);
  free(tri);
  free(alpha);
  return r;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: fit_probe MODEL_DIR fp16|bf16|fp32 LABEL\n");
    return 2;
  }
  vm_model *model = NULL;
  vm_context *ctx = NULL;
  vm_error e = {0};
  if (vm_model_load(argv[1], &model, &e) != VM_OK) {
    fprintf(stderr, "fit_probe: %s\n", e.message);
    return 1;
  }
  vm_context_options o;
  vm_context_options_default(&o);
  o.device = VM_DEVICE_CUDA;
  o.precision = !strcmp(argv[2], "fp32") ? VM_PRECISION_FP32 : !strcmp(argv[2], "bf16") ? VM_PRECISION_BF16
                                                                                        : VM_PRECISION_FP16;
  if (vm_context_create(model, &o, &ctx, &e) != VM_OK) {
    fprintf(stderr, "fit_probe: %s\n", e.message);
    return 1;
  }
  /* widths in units of 128 px (height 3/4 of it: a multiple of 32) */
  int lo = 0, hi = 16384 / 128 + 1; /* lo fits (0 = none known), hi does not */
  double ms = 0, best_ms = 0;
  while (hi - lo > 1) {
    int mid = (lo + hi) / 2, w = mid * 128, h = w * 3 / 4;
    int r = attempt(ctx, w, h, &ms, &e);
    printf("  %s %s %5d x %-5d %6.1f MP: %s\n", argv[3], argv[2], w, h, w * (double)h / 1e6,
           r == 0 ? "ran" : r == 1 ? "does not fit" : e.message);
    fflush(stdout);
    if (r < 0) {
      vm_context_free(ctx);
      vm_model_free(model);
      return 1;
    }
    if (r == 0) {
      lo = mid;
      best_ms = ms;
    } else {
      hi = mid;
    }
  }
  int w = lo * 128, h = w * 3 / 4;
  printf("fit %s %s: largest 4:3 image %d x %d (%.1f MP), %.0f ms, peak device memory %.0f MiB\n", argv[3], argv[2], w,
         h, w * (double)h / 1e6, best_ms, (double)vm_context_peak_memory(ctx) / (1 << 20));
  vm_context_free(ctx);
  vm_model_free(model);
  return 0;
}
