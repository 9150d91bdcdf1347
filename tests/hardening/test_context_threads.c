/* test_context_threads.c - one context used by several threads one after the other, as the plug-in's preview uses
 * it (GLib's thread pool runs each recomputation on whichever worker thread is free): made in one thread, then
 * predicting and estimating foreground colours in others, each result equal to the one of the thread that made it.
 * Usage: test_context_threads MODEL_DIR [auto|cpu|cuda]  (cuda: the GPU machine, tests/gpu/run_gpu.sh stage threads) */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "vitmatte.h"

enum { W = 96, H = 72, USES = 4 };
#define TOLERANCE 1e-5

typedef struct use {
  vm_context *ctx;         /* made by the thread (when NULL on entry) or given */
  const vm_model *model;
  vm_device device;
  const vm_image *rgb, *trimap;
  float alpha[W * H], fg[W * H * 3];
  char error[600];
} use;

static void *work(void *arg) {
  use *u = arg;
  vm_error err = {VM_OK, ""};
  if (!u->ctx) {
    vm_context_options o;
    vm_context_options_default(&o);
    o.device = u->device;
    if (vm_context_create(u->model, &o, &u->ctx, &err) != VM_OK) {
      snprintf(u->error, sizeof u->error, "%s", err.message);
      return NULL;
    }
  }
  const vm_image alpha = {u->alpha, W, H, 1, 0, VM_PIXEL_F32};
  if (vm_predict(u->ctx, u->rgb, u->trimap, u->alpha, 0, &err) != VM_OK ||
      vm_estimate_foreground(u->ctx, u->rgb, &alpha, NULL, u->fg, 0, NULL, 0, &err) != VM_OK)
    snprintf(u->error, sizeof u->error, "%s", err.message);
  return NULL;
}

static double worst(const float *a, const float *b, size_t n) {
  double d = 0;
  for (size_t i = 0; i < n; i++)
    d = fmax(d, fabs((double)a[i] - b[i]));
  return d;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: test_context_threads MODEL_DIR [auto|cpu|cuda]\n");
    return 2;
  }
  const char *name = argc > 2 ? argv[2] : "auto";
  const vm_device device = !strcmp(name, "cuda") ? VM_DEVICE_CUDA : !strcmp(name, "cpu") ? VM_DEVICE_CPU : VM_DEVICE_AUTO;
  vm_model *model = NULL;
  vm_error err;
  if (vm_model_load(argv[1], &model, &err) != VM_OK) {
    printf("FAIL model: %s\n", err.message);
    return 1;
  }
  static unsigned char rgb[W * H * 3], tri[W * H];
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      const double d = hypot(x - W / 2.0, y - H / 2.0);
      for (int c = 0; c < 3; c++) rgb[3 * (y * W + x) + c] = (unsigned char)((x * 3 + y * 5 + c * 70) % 256);
      tri[y * W + x] = d < 14 ? 255 : d < 26 ? 128 : 0;
    }
  const vm_image rgb_view = {rgb, W, H, 3, 0, VM_PIXEL_U8}, tri_view = {tri, W, H, 1, 0, VM_PIXEL_U8};

  /* the context is made by a thread that then ends, as the preview's first task makes it */
  static use uses[USES + 1];
  uses[0] = (use){NULL, model, device, &rgb_view, &tri_view, {0}, {0}, ""};
  pthread_t t;
  pthread_create(&t, NULL, work, &uses[0]);
  pthread_join(t, NULL);
  checker checks = {0, 0};
  if (uses[0].error[0] || !uses[0].ctx) {
    printf("FAIL the first thread: %s\n", uses[0].error);
    return 1;
  }
  printf("NOTE the context runs on %s\n", vm_context_device_name(uses[0].ctx));
  for (int i = 1; i <= USES; i++) {
    uses[i] = (use){uses[0].ctx, model, device, &rgb_view, &tri_view, {0}, {0}, ""};
    if (i % 2) { /* other threads, and the main thread, in turn */
      pthread_create(&t, NULL, work, &uses[i]);
      pthread_join(t, NULL);
    } else {
      work(&uses[i]);
    }
    const double da = worst(uses[i].alpha, uses[0].alpha, W * H), df = worst(uses[i].fg, uses[0].fg, W * H * 3);
    check_true(&checks, !uses[i].error[0] && da <= TOLERANCE && df <= TOLERANCE,
               "use %d (%s) of the context another thread made: alpha within %.2g, colours within %.2g%s%s", i,
               i % 2 ? "a new thread" : "the main thread", da, df, uses[i].error[0] ? ": " : "", uses[i].error);
  }
  vm_context_free(uses[0].ctx);
  vm_model_free(model);
  return check_finish(&checks, "context threads");
}
