/* bench_cpu.c - CPU time and peak memory of one prediction, with ViTMatte-S-sized random weights by default.
 * Not a test: `bench_cpu [--size WxH] [--threads N] [--model DIR] [--repeat N]` prints one table row. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "checkpoint_writer.h"
#include "vitmatte.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int progress(void *user, const char *stage, double f) {
  (void)user;
  (void)stage;
  (void)f;
  return 0;
}

int main(int argc, char **argv) {
  int W = 1024, H = 1024, threads = 0, repeat = 2;
  const char *model_dir = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--size")) sscanf(argv[i + 1], "%dx%d", &W, &H);
    else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--model")) model_dir = argv[i + 1];
    else if (!strcmp(argv[i], "--repeat")) repeat = atoi(argv[i + 1]);
  }
  char tmp[4096] = "";
  if (!model_dir) {
    /* ViTMatte-S shapes, random weights: the timing does not depend on the values. */
    ckw_config c = ckw_small();
    ckw_set set;
    if (!ckw_make_dir(tmp) || !ckw_build(&c, "F32", 7, &set) || !ckw_write_checkpoint(tmp, &c, NULL, &set)) {
      fprintf(stderr, "bench_cpu: could not write a checkpoint\n");
      return 1;
    }
    ckw_free(&set);
    model_dir = tmp;
  }
  vm_error err;
  vm_model *m = NULL;
  vm_context *ctx = NULL;
  double t0 = now();
  if (vm_model_load(model_dir, &m, &err) != VM_OK) {
    fprintf(stderr, "bench_cpu: %s\n", err.message);
    return 1;
  }
  double t_load = now() - t0;
  vm_context_options o;
  vm_context_options_default(&o);
  o.device = VM_DEVICE_CPU;
  o.cpu_threads = threads;
  o.progress = progress;
  if (vm_context_create(m, &o, &ctx, &err) != VM_OK) {
    fprintf(stderr, "bench_cpu: %s\n", err.message);
    return 1;
  }
  unsigned char *rgb = malloc((size_t)W * H * 3), *tri = malloc((size_t)W * H);
  float *alpha = malloc(sizeof(float) * (size_t)W * H);
  uint64_t s = 1;
  for (size_t i = 0; i < (size_t)W * H * 3; i++) rgb[i] = (unsigned char)((s = s * 6364136223846793005ull + 1) >> 56);
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      int dx = x - W / 2, dy = y - H / 2, r2 = dx * dx + dy * dy, R = (W < H ? W : H) / 3;
      tri[(size_t)y * W + x] = r2 < (R - 20) * (R - 20) ? 255 : (r2 < (R + 20) * (R + 20) ? 128 : 0);
    }
  vm_image im = {rgb, W, H, 3, 0, VM_PIXEL_U8}, tm = {tri, W, H, 1, 0, VM_PIXEL_U8};
  double best = 1e30, first = 0;
  for (int r = 0; r < repeat; r++) {
    t0 = now();
    if (vm_predict(ctx, &im, &tm, alpha, 0, &err) != VM_OK) {
      fprintf(stderr, "bench_cpu: %s\n", err.message);
      return 1;
    }
    double t = now() - t0;
    if (r == 0) first = t;
    if (t < best) best = t;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("| %s | %d x %d | %s | %.2f s | %.2f s | %.0f MiB | %.0f MiB |\n", model_dir == tmp ? "ViTMatte-S (random)" : model_dir,
         W, H, vm_context_device_name(ctx), first, best, (double)vm_context_peak_memory(ctx) / (1 << 20),
         (double)ru.ru_maxrss / 1024.0);
  fprintf(stderr, "(model load %.2f s; columns: first prediction incl. planning, best of %d, planned memory, peak RSS)\n",
          t_load, repeat);
  vm_context_free(ctx);
  vm_model_free(m);
  free(rgb);
  free(tri);
  free(alpha);
  if (tmp[0]) ckw_remove_dir(tmp);
  return 0;
}
