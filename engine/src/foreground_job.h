/* foreground_job.h - one foreground estimation as the engine hands it to a sweep (CPU here, CUDA in kernels/cuda).
 * Owns: the job (host buffers, start colours, parameters, progress) and the level schedule every implementation
 * shares: level i of n = ceil(log2(max(w, h))) is round(w^(i/n)) x round(h^(i/n)), nearest-neighbour resampled. */
#ifndef VM_FOREGROUND_JOB_H
#define VM_FOREGROUND_JOB_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

typedef struct vm_fg_job {
  int width, height, depth;  /* depth 1 (gray) or 3 (RGB) */
  const float *image;        /* host, height x width x depth, packed */
  const float *alpha;        /* host, height x width */
  float *foreground;         /* host, height x width x depth: the result, rows foreground_stride floats apart */
  float *background;         /* host, the same: the estimated background (always computed; the GPU variant may
                              * get NULL: not wanted, not downloaded) */
  size_t foreground_stride, background_stride; /* floats from one row to the next (>= width x depth) */
  float f_mean[3], b_mean[3];/* the 1 x 1 start of F and B: mean colours of alpha > 0.9 and alpha < 0.1 */
  float regularization, gradient_weight;
  int small_iterations, big_iterations, small_size;
  /* Called between levels with the fraction done; non-zero cancels (the sweep returns VM_ERR_CANCELLED). */
  int (*progress)(void *user, double fraction);
  void *progress_user;
  float device_ms;           /* out: GPU time of the levels where a GPU ran them (CUDA events), else -1 (set by
                              * vm_foreground_run before any sweep; the CPU sweeps leave it) */
} vm_fg_job;

/* n: the smallest n with 2^n >= max(w, h) (= ceil(log2(max(w, h))), exactly). 0 for a 1 x 1 image. */
static inline int vm_fg_level_count(int w, int h) {
  const int m = w > h ? w : h;
  int n = 0;
  while (((int64_t)1 << n) < m) n++;
  return n;
}

/* Side of level i of n for a full side s: round(s^(i/n)), ties to even (Python's round(), as pymatting). */
static inline int vm_fg_level_side(int s, int i, int n) {
  if (n == 0) return 1;
  return (int)nearbyint(pow((double)s, (double)i / (double)n));
}

static inline int vm_fg_iterations(const vm_fg_job *job, int w, int h) {
  return w <= job->small_size && h <= job->small_size ? job->small_iterations : job->big_iterations;
}

/* The nearest-neighbour source index of dst in a resampling from n_src to n_dst samples; host and device code (the
 * CUDA module's resampling kernel calls it too). */
#ifdef __CUDACC__
__host__ __device__
#endif
static inline int vm_fg_nearest(int dst, int n_src, int n_dst) {
  const int64_t s = (int64_t)dst * n_src / n_dst;
  return s < n_src - 1 ? (int)s : n_src - 1;
}

/* Pixel updates of the whole job, the unit of its progress fractions. */
static inline double vm_fg_total_work(const vm_fg_job *job) {
  const int n = vm_fg_level_count(job->width, job->height);
  double total = 0;
  for (int i = 0; i <= n; i++) {
    const int w = vm_fg_level_side(job->width, i, n), h = vm_fg_level_side(job->height, i, n);
    total += (double)w * h * (vm_fg_iterations(job, w, h) + 1);
  }
  return total;
}

#endif
