/* foreground_cpu.c - the multi-level foreground estimation on the CPU (Germer et al. 2020).
 * Owns: the level loop on the host (resampling, buffers, progress) and the sequential and Jacobi sweeps. */
#include "foreground_cpu.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

#if defined(__GNUC__)
#define VM_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define VM_ALWAYS_INLINE inline
#endif

/* dst (wd x hd x D) = nearest-neighbour resampling of src (ws x hs x D), pymatting's index rule. */
static void resize_nearest(float *dst, int wd, int hd, const float *src, int ws, int hs, int D, int threads) {
#pragma omp parallel for schedule(static) num_threads(threads) if ((int64_t)wd * hd >= (1 << 16))
  for (int y = 0; y < hd; y++) {
    const float *srow = src + (size_t)vm_fg_nearest(y, hs, hd) * ws * D;
    float *drow = dst + (size_t)y * wd * D;
    for (int x = 0; x < wd; x++) {
      const float *s = srow + (size_t)vm_fg_nearest(x, ws, wd) * D;
      for (int c = 0; c < D; c++) drow[(size_t)x * D + c] = s[c];
    }
  }
}

/* ---- the sequential sweep ---- */

/* One pixel of the in-place sweep with the types numba gives pymatting's code: alpha, the right-hand sides and
 * da in float32; 1 - alpha, a01, a11, the determinant and the solve in double; the results rounded to float32.
 * Neighbours in the order left, right, up, down; the left and upper ones already hold this sweep's values. */
static VM_ALWAYS_INLINE void sequential_pixel(float *F, float *B, const float *I, const float *A, size_t i,
                                              const size_t j[4], float reg, float gw, const int D) {
  const float a0 = A[i];
  const double a1 = 1.0 - (double)a0;
  float a00 = a0 * a0;
  const double a01 = (double)a0 * a1;
  double a11 = a1 * a1;
  float b0[3], b1[3];
  for (int c = 0; c < D; c++) {
    b0[c] = a0 * I[i * D + c];
    b1[c] = (float)(a1 * (double)I[i * D + c]);
  }
  for (int d = 0; d < 4; d++) {
    const float da = reg + gw * fabsf(a0 - A[j[d]]);
    a00 += da;
    a11 += (double)da;
    for (int c = 0; c < D; c++) {
      b0[c] += da * F[j[d] * D + c];
      b1[c] += da * B[j[d] * D + c];
    }
  }
  const double inv = 1.0 / ((double)a00 * a11 - a01 * a01);
  const double m00 = inv * a11, m01 = inv * -a01, m11 = inv * (double)a00;
  for (int c = 0; c < D; c++) {
    double f = m00 * (double)b0[c] + m01 * (double)b1[c];
    double b = m01 * (double)b0[c] + m11 * (double)b1[c];
    /* max(0.0, min(1.0, v)) as Python evaluates it */
    f = f < 1.0 ? f : 1.0;
    f = f > 0.0 ? f : 0.0;
    b = b < 1.0 ? b : 1.0;
    b = b > 0.0 ? b : 0.0;
    F[i * D + c] = (float)f;
    B[i * D + c] = (float)b;
  }
}

static VM_ALWAYS_INLINE void sequential_sweep(float *F, float *B, const float *I, const float *A, int w, int h,
                                              float reg, float gw, const int D) {
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      const size_t i = (size_t)y * w + x;
      const size_t j[4] = {x > 0 ? i - 1 : i, x < w - 1 ? i + 1 : i, y > 0 ? i - w : i, y < h - 1 ? i + w : i};
      sequential_pixel(F, B, I, A, i, j, reg, gw, D);
    }
}

/* The channel count as a constant, so each variant gets its own unrolled loop. */
static void sequential_sweep1(float *F, float *B, const float *I, const float *A, int w, int h, float reg, float gw) {
  sequential_sweep(F, B, I, A, w, h, reg, gw, 1);
}
static void sequential_sweep3(float *F, float *B, const float *I, const float *A, int w, int h, float reg, float gw) {
  sequential_sweep(F, B, I, A, w, h, reg, gw, 3);
}

/* ---- the Jacobi sweep ---- */

/* One pixel from the previous iterate (Fp, Bp) into (F, B): float32 throughout, in the order of pymatting's
 * CuPy/OpenCL kernel, so that the CUDA kernel and this one compute the same thing. */
static VM_ALWAYS_INLINE void jacobi_pixel(float *F, float *B, const float *Fp, const float *Bp, const float *I,
                                          const float *A, size_t i, const size_t j[4], float reg, float gw,
                                          const int D) {
  const float a0 = A[i], a1 = 1.0f - a0;
  float b0[3], b1[3], a_sum = 0.0f;
  for (int c = 0; c < D; c++) {
    b0[c] = a0 * I[i * D + c];
    b1[c] = a1 * I[i * D + c];
  }
  for (int d = 0; d < 4; d++) {
    const float da = reg + gw * fabsf(a0 - A[j[d]]);
    a_sum += da;
    for (int c = 0; c < D; c++) {
      b0[c] += da * Fp[j[d] * D + c];
      b1[c] += da * Bp[j[d] * D + c];
    }
  }
  const float a00 = a0 * a0 + a_sum, a11 = a1 * a1 + a_sum, a01 = a0 * a1;
  const float inv = 1.0f / (a00 * a11 - a01 * a01);
  for (int c = 0; c < D; c++) {
    F[i * D + c] = fmaxf(0.0f, fminf(1.0f, inv * (a11 * b0[c] - a01 * b1[c])));
    B[i * D + c] = fmaxf(0.0f, fminf(1.0f, inv * (a00 * b1[c] - a01 * b0[c])));
  }
}

static VM_ALWAYS_INLINE void jacobi_sweep(float *F, float *B, const float *Fp, const float *Bp, const float *I,
                                          const float *A, int w, int h, float reg, float gw, int threads,
                                          const int D) {
#pragma omp parallel for schedule(static) num_threads(threads) if ((int64_t)w * h >= (1 << 14))
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      const size_t i = (size_t)y * w + x;
      const size_t j[4] = {x > 0 ? i - 1 : i, x < w - 1 ? i + 1 : i, y > 0 ? i - w : i, y < h - 1 ? i + w : i};
      jacobi_pixel(F, B, Fp, Bp, I, A, i, j, reg, gw, D);
    }
}

static void jacobi_sweep1(float *F, float *B, const float *Fp, const float *Bp, const float *I, const float *A, int w,
                          int h, float reg, float gw, int threads) {
  jacobi_sweep(F, B, Fp, Bp, I, A, w, h, reg, gw, threads, 1);
}
static void jacobi_sweep3(float *F, float *B, const float *Fp, const float *Bp, const float *I, const float *A, int w,
                          int h, float reg, float gw, int threads) {
  jacobi_sweep(F, B, Fp, Bp, I, A, w, h, reg, gw, threads, 3);
}

/* ---- the level loop ---- */

typedef struct {
  float *small_F[2], *small_B[2]; /* levels below the top, alternating: the previous one and the current one */
  float *small_I, *small_A;       /* the image and alpha resampled to a level below the top */
  float *alt_F, *alt_B;           /* Jacobi: the other iterate (full size) */
} level_buffers;

static void buffers_free(level_buffers *b) {
  free(b->small_F[0]);
  free(b->small_F[1]);
  free(b->small_B[0]);
  free(b->small_B[1]);
  free(b->small_I);
  free(b->small_A);
  free(b->alt_F);
  free(b->alt_B);
}

static vm_status buffers_alloc(level_buffers *b, const vm_fg_job *job, int jacobi, vm_error *err) {
  const int W = job->width, H = job->height, D = job->depth, n = vm_fg_level_count(W, H);
  size_t small = 1; /* pixels of the largest level below the top */
  for (int i = 0; i < n; i++) {
    const size_t px = (size_t)vm_fg_level_side(W, i, n) * (size_t)vm_fg_level_side(H, i, n);
    if (px > small) small = px;
  }
  *b = (level_buffers){0};
  for (int k = 0; k < 2; k++) {
    b->small_F[k] = malloc(sizeof(float) * small * D);
    b->small_B[k] = malloc(sizeof(float) * small * D);
  }
  b->small_I = malloc(sizeof(float) * small * D);
  b->small_A = malloc(sizeof(float) * small);
  bool ok = b->small_F[0] && b->small_F[1] && b->small_B[0] && b->small_B[1] && b->small_I && b->small_A;
  if (jacobi && ok) {
    b->alt_F = malloc(sizeof(float) * (size_t)W * H * D);
    b->alt_B = malloc(sizeof(float) * (size_t)W * H * D);
    ok = b->alt_F && b->alt_B;
  }
  if (!ok) {
    buffers_free(b);
    return vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of memory for the foreground estimation of a %d x %d image", W,
                   H);
  }
  return VM_OK;
}

static vm_status run_levels(vm_fg_job *job, int jacobi, int threads, vm_error *err) {
  const int W = job->width, H = job->height, D = job->depth, n = vm_fg_level_count(W, H);
  const int resize_threads = jacobi ? threads : 1; /* the sequential method stays on one core throughout */
  level_buffers buf;
  vm_status st = buffers_alloc(&buf, job, jacobi, err);
  if (st != VM_OK) return st;
  const double total = vm_fg_total_work(job);
  double done = 0;
  const float *prev_F = job->f_mean, *prev_B = job->b_mean; /* 1 x 1 */
  int pw = 1, ph = 1;
  for (int i = 0; i <= n && st == VM_OK; i++) {
    const int w = vm_fg_level_side(W, i, n), h = vm_fg_level_side(H, i, n);
    const bool top = i == n;
    const size_t px = (size_t)w * h;
    const float *I = job->image, *A = job->alpha;
    if (!top) {
      resize_nearest(buf.small_I, w, h, job->image, W, H, D, resize_threads);
      resize_nearest(buf.small_A, w, h, job->alpha, W, H, 1, resize_threads);
      I = buf.small_I;
      A = buf.small_A;
    }
    float *F = top ? job->foreground : buf.small_F[i & 1], *B = top ? job->background : buf.small_B[i & 1];
    resize_nearest(F, w, h, prev_F, pw, ph, D, resize_threads);
    resize_nearest(B, w, h, prev_B, pw, ph, D, resize_threads);
    done += (double)px;
    const int iters = vm_fg_iterations(job, w, h);
    float *cur_F = F, *cur_B = B, *nxt_F = buf.alt_F, *nxt_B = buf.alt_B;
    for (int it = 0; it < iters; it++) {
      if (jacobi) {
        (D == 3 ? jacobi_sweep3 : jacobi_sweep1)(nxt_F, nxt_B, cur_F, cur_B, I, A, w, h, job->regularization,
                                                  job->gradient_weight, threads);
        float *t = cur_F;
        cur_F = nxt_F;
        nxt_F = t;
        t = cur_B;
        cur_B = nxt_B;
        nxt_B = t;
      } else {
        (D == 3 ? sequential_sweep3 : sequential_sweep1)(F, B, I, A, w, h, job->regularization,
                                                          job->gradient_weight);
      }
      done += (double)px;
      /* the large levels take most of the time: ask after each of their iterations */
      if (job->progress && px >= (1u << 20) && job->progress(job->progress_user, done / total)) {
        st = vm_fail(err, VM_ERR_CANCELLED, "cancelled");
        break;
      }
    }
    if (st == VM_OK && cur_F != F) {
      memcpy(F, cur_F, sizeof(float) * px * D);
      memcpy(B, cur_B, sizeof(float) * px * D);
    }
    if (st == VM_OK && job->progress && px < (1u << 20) && job->progress(job->progress_user, done / total))
      st = vm_fail(err, VM_ERR_CANCELLED, "cancelled");
    prev_F = F;
    prev_B = B;
    pw = w;
    ph = h;
  }
  buffers_free(&buf);
  return st;
}

vm_status vm_fg_cpu_sequential(vm_fg_job *job, vm_error *err) { return run_levels(job, 0, 1, err); }

vm_status vm_fg_cpu_jacobi(vm_fg_job *job, int threads, vm_error *err) {
  return run_levels(job, 1, threads > 0 ? threads : 1, err);
}
