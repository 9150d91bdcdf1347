/* bench_util.h - what the benchmark programs share: their clocks, medians and the synthetic input.
 * Owns: the photo-like image and trimap every benchmark times on (bench.c, tests/perf/bench_cpu.c). */
#ifndef VM_BENCH_UTIL_H
#define VM_BENCH_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static inline double bench_now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU seconds of the whole process (all threads): on a shared machine, time slices lost to other processes do not
 * count. */
static inline double bench_cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Sorts v. */
static inline double bench_median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* A photo-like input: smooth colour gradients with noise, a trimap with a foreground disc and an unknown band. */
static inline void bench_make_image(int H, int W, unsigned char *rgb, unsigned char *tri) {
  uint32_t s = 12345;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      s = s * 1664525u + 1013904223u;
      int n = (int)(s >> 28) - 8;
      size_t i = (size_t)y * W + x;
      rgb[3 * i] = (unsigned char)((x * 255 / (W > 1 ? W - 1 : 1) + n) & 255);
      rgb[3 * i + 1] = (unsigned char)((y * 255 / (H > 1 ? H - 1 : 1) + n) & 255);
      rgb[3 * i + 2] = (unsigned char)(((x + y) * 3 + n) & 255);
      double dx = x - W / 2.0, dy = y - H / 2.0, r = (H < W ? H : W) / 3.0;
      double d2 = dx * dx + dy * dy;
      tri[i] = d2 < 0.8 * 0.8 * r * r ? 255 : d2 < 1.2 * 1.2 * r * r ? 128 : 0;
    }
}

#endif
