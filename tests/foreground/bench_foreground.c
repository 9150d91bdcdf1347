/* bench_foreground.c - wall time and peak memory of vm_estimate_foreground on a synthetic image.
 * Not a test: `bench_foreground [--size WxH] [--device cpu|cuda] [--method auto|sequential|jacobi] [--threads N]
 * [--repeat N] [--compare]` prints one table row; --compare (CUDA) also runs the CPU Jacobi sweep and prints the
 * largest difference of F (the two compute the same iterations, so it should stay far below 1/255). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench_util.h"
#include "foreground.h"
#include "vitmatte.h"

static vm_context *context(vm_device device, int threads) {
  vm_context_options o;
  vm_context_options_default(&o);
  o.device = device;
  o.cpu_threads = threads;
  vm_context *ctx = NULL;
  vm_error err;
  if (vm_context_create(NULL, &o, &ctx, &err) != VM_OK) {
    fprintf(stderr, "bench_foreground: %s\n", err.message);
    exit(1);
  }
  return ctx;
}

int main(int argc, char **argv) {
  int W = 3008, H = 4000, threads = 0, repeat = 2, compare = 0;
  vm_device device = VM_DEVICE_CPU;
  vm_foreground_method method = VM_FOREGROUND_AUTO;
  for (int i = 1; i < argc; i++) {
    const char *v = i + 1 < argc ? argv[i + 1] : "";
    if (!strcmp(argv[i], "--size")) sscanf(argv[++i], "%dx%d", &W, &H);
    else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--repeat")) repeat = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--compare")) compare = 1;
    else if (!strcmp(argv[i], "--device")) {
      device = !strcmp(v, "cuda") ? VM_DEVICE_CUDA : VM_DEVICE_CPU;
      i++;
    } else if (!strcmp(argv[i], "--method")) {
      method = !strcmp(v, "sequential") ? VM_FOREGROUND_SEQUENTIAL
               : !strcmp(v, "jacobi")   ? VM_FOREGROUND_JACOBI
                                        : VM_FOREGROUND_AUTO;
      i++;
    } else {
      fprintf(stderr, "bench_foreground: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  /* A photo-like image (smooth gradients and fine texture) and an alpha with a soft disc and thin strands. */
  const size_t n = (size_t)W * H;
  uint8_t *rgb = malloc(n * 3);
  float *alpha = malloc(sizeof(float) * n), *F = malloc(sizeof(float) * n * 3), *F2 = NULL;
  if (!rgb || !alpha || !F) {
    fprintf(stderr, "bench_foreground: out of memory\n");
    return 1;
  }
  uint64_t s = 1;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      const size_t i = (size_t)y * W + x;
      for (int c = 0; c < 3; c++) {
        s = s * 6364136223846793005ull + 1;
        const double base = 0.5 + 0.4 * sin(0.003 * (c + 1) * x + 0.002 * y * (3 - c));
        rgb[3 * i + c] = (uint8_t)fmin(255, fmax(0, 255 * base + (double)(s >> 59) - 16));
      }
      const double r = hypot(x - W / 2.0, y - H / 2.0) / (0.3 * (W < H ? W : H));
      const double strands = 0.5 + 0.5 * sin(0.7 * x + 3 * sin(0.01 * y));
      alpha[i] = (float)fmin(1, fmax(0, r < 1 ? 1 : (r < 1.4 ? strands * (1.4 - r) / 0.4 : 0)));
    }
  const vm_image im = {rgb, W, H, 3, 0, VM_PIXEL_U8}, al = {alpha, W, H, 1, 0, VM_PIXEL_F32};
  vm_foreground_options o;
  vm_foreground_options_default(&o);
  o.method = method;
  vm_context *ctx = context(device, threads);
  vm_error err;
  vm_fg_report rep = {0};
  double best = 1e30, first = 0, best_dev = 1e30;
  for (int r = 0; r < repeat; r++) {
    const double t0 = bench_now_s();
    if (vm_foreground_run(ctx, &im, &al, &o, F, 0, NULL, 0, &rep, &err) != VM_OK) {
      fprintf(stderr, "bench_foreground: %s\n", err.message);
      return 1;
    }
    const double t = bench_now_s() - t0;
    if (r == 0) first = t;
    if (t < best) best = t;
    if (rep.device_ms >= 0 && rep.device_ms < best_dev) best_dev = rep.device_ms;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  char dev[64] = "";
  if (rep.device_ms >= 0) snprintf(dev, sizeof dev, ", GPU levels %.2f ms", best_dev);
  printf("| %d x %d (%.1f MP) | %s | %s | %s | %.3f s (best of %d; first %.3f s%s) | %.0f MiB |\n", W, H, n / 1e6,
         vm_context_device_name(ctx), rep.method == VM_FOREGROUND_SEQUENTIAL ? "sequential" : "jacobi",
         rep.device == VM_DEVICE_CUDA ? "GPU" : "CPU", best, repeat, first, dev, ru.ru_maxrss / 1024.0);
  int rc = 0;
  if (compare) {
    F2 = malloc(sizeof(float) * n * 3);
    vm_context *cpu = context(VM_DEVICE_CPU, 0);
    o.method = VM_FOREGROUND_JACOBI;
    if (!F2 || vm_estimate_foreground(cpu, &im, &al, &o, F2, 0, NULL, 0, &err) != VM_OK) {
      fprintf(stderr, "bench_foreground: CPU Jacobi: %s\n", F2 ? err.message : "out of memory");
      return 1;
    }
    double d = 0;
    for (size_t i = 0; i < n * 3; i++) d = fmax(d, fabs((double)F[i] - F2[i]));
    printf("max |F - F(CPU Jacobi)| = %.3g (%s 1/255)\n", d, d <= 1.0 / 255 ? "within" : "NOT within");
    rc = d <= 1.0 / 255 ? 0 : 1;
    vm_context_free(cpu);
    free(F2);
  }
  vm_context_free(ctx);
  free(rgb);
  free(alpha);
  free(F);
  return rc;
}
