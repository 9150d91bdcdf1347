/* foreground.c - vm_estimate_foreground: foreground colours from an image and its alpha (Germer et al. 2020).
 * Owns: checking the call, the image and alpha as float32 0..1, the start colours, choosing the variant and the
 * device, and the copy into the caller's buffers. The sweeps are in foreground_cpu.c and kernels/cuda. */
#include "foreground.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "backend.h"
#include "context_internal.h"
#include "error.h"
#include "foreground_cpu.h"
#include "foreground_job.h"
#include "preprocess.h"

void vm_foreground_options_default(vm_foreground_options *o) {
  *o = (vm_foreground_options){.method = VM_FOREGROUND_AUTO, .regularization = 1e-5f, .gradient_weight = 1.0f,
                               .small_iterations = 10, .big_iterations = 2, .small_size = 32};
}

static vm_status check_options(const vm_foreground_options *o, vm_error *err) {
  if (o->method < VM_FOREGROUND_AUTO || o->method > VM_FOREGROUND_JACOBI)
    return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "unknown foreground method %d", (int)o->method);
  /* Below ~1e-7 the float32 determinant of a pixel with alpha 1/2 rounds to zero. */
  if (!(o->regularization >= 1e-7f && o->regularization <= 1e3f))
    return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "foreground regularization %g is outside 1e-7 .. 1000",
                   (double)o->regularization);
  if (!(o->gradient_weight >= 0.0f && o->gradient_weight <= 1e3f))
    return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "foreground gradient weight %g is outside 0 .. 1000",
                   (double)o->gradient_weight);
  if (o->small_iterations < 0 || o->small_iterations > 10000 || o->big_iterations < 0 || o->big_iterations > 10000)
    return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "foreground iterations %d / %d are outside 0 .. 10000",
                   o->small_iterations, o->big_iterations);
  if (o->small_size < 0) return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "foreground small size %d < 0", o->small_size);
  return VM_OK;
}

/* image -> I (h x w x D), alpha -> A (h x w). Returns false when a float sample is not finite. */
static bool convert_inputs(const vm_image *image, const vm_image *alpha, int D, float *I, float *A, int threads) {
  const int W = image->width, H = image->height, ch = image->channels;
  int bad = 0;
#pragma omp parallel for schedule(static) num_threads(threads) reduction(| : bad) if ((int64_t)W * H >= (1 << 16))
  for (int y = 0; y < H; y++) {
    const unsigned char *src = vm_image_row(image, y), *arow = vm_image_row(alpha, y);
    float *dst = I + (size_t)y * W * D, *adst = A + (size_t)y * W;
    for (int x = 0; x < W; x++) {
      for (int c = 0; c < D; c++) {
        const float v = vm_sample_unit(src, (size_t)x * ch + c, image->type);
        bad |= !isfinite(v);
        dst[(size_t)x * D + c] = v;
      }
      const float a = vm_sample_unit(arow, (size_t)x, alpha->type);
      bad |= !isfinite(a);
      adst[x] = a;
    }
  }
  return !bad;
}

/* The start colours: means of the pixels with alpha > 0.9 (F) and alpha < 0.1 (B), divided by count + 1e-5.
 * The sequential method sums in float32 in row-major order, as pymatting does (its result depends on that
 * rounding: the sum of 12 MP reaches where float32 steps are 0.5); the Jacobi variant sums each row in double,
 * in parallel, and the rows in order, so its start does not depend on the thread count. False: out of memory. */
static bool mean_colours(const float *I, const float *A, int W, int H, int D, bool f32_running_sum, int threads,
                         float f_mean[3], float b_mean[3]) {
  double fsum[3] = {0, 0, 0}, bsum[3] = {0, 0, 0}, fcount = 0, bcount = 0;
  if (f32_running_sum) {
    float fs[3] = {0, 0, 0}, bs[3] = {0, 0, 0};
    for (size_t i = 0; i < (size_t)W * H; i++) {
      if (A[i] > 0.9) { /* float compared as double, as numba does; the same set as comparing with 0.9f */
        for (int c = 0; c < D; c++) fs[c] += I[i * D + c];
        fcount++;
      }
      if (A[i] < 0.1) {
        for (int c = 0; c < D; c++) bs[c] += I[i * D + c];
        bcount++;
      }
    }
    for (int c = 0; c < D; c++) {
      fsum[c] = fs[c];
      bsum[c] = bs[c];
    }
  } else {
    double *rows = malloc(sizeof(double) * (size_t)H * 8); /* per row: F sums, B sums, F count, B count */
    if (!rows) return false;
#pragma omp parallel for schedule(static) num_threads(threads) if ((int64_t)W * H >= (1 << 16))
    for (int y = 0; y < H; y++) {
      double *r = rows + (size_t)y * 8;
      memset(r, 0, sizeof(double) * 8);
      for (size_t i = (size_t)y * W; i < (size_t)(y + 1) * W; i++) {
        if (A[i] > 0.9) {
          for (int c = 0; c < D; c++) r[c] += I[i * D + c];
          r[6] += 1;
        }
        if (A[i] < 0.1) {
          for (int c = 0; c < D; c++) r[3 + c] += I[i * D + c];
          r[7] += 1;
        }
      }
    }
    for (int y = 0; y < H; y++) {
      const double *r = rows + (size_t)y * 8;
      for (int c = 0; c < D; c++) {
        fsum[c] += r[c];
        bsum[c] += r[3 + c];
      }
      fcount += r[6];
      bcount += r[7];
    }
    free(rows);
  }
  for (int c = 0; c < 3; c++) {
    f_mean[c] = c < D ? (float)(fsum[c] / (fcount + 1e-5)) : 0.0f;
    b_mean[c] = c < D ? (float)(bsum[c] / (bcount + 1e-5)) : 0.0f;
  }
  return true;
}

typedef struct {
  vm_progress_fn fn;
  void *user;
} progress_relay;

static int relay(void *user, double fraction) {
  const progress_relay *r = user;
  return r->fn ? r->fn(r->user, "foreground", fraction) : 0;
}

static void copy_out(float *dst, size_t stride, const float *src, int W, int H, int D, int threads) {
#pragma omp parallel for schedule(static) num_threads(threads) if ((int64_t)W * H >= (1 << 16))
  for (int y = 0; y < H; y++)
    memcpy(dst + (size_t)y * stride, src + (size_t)y * W * D, sizeof(float) * (size_t)W * D);
}

vm_status vm_foreground_run(vm_context *ctx, const vm_image *image, const vm_image *alpha,
                            const vm_foreground_options *options, float *foreground, size_t foreground_row_stride,
                            float *background, size_t background_row_stride, vm_fg_report *report, vm_error *err) {
  vm_error_clear(err);
  if (!ctx || !foreground)
    return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "vm_estimate_foreground: context and foreground are required");
  vm_status st;
  if ((st = vm_image_check(image, 0, "image", err)) != VM_OK) return st;
  if ((st = vm_image_check(alpha, 1, "alpha", err)) != VM_OK) return st;
  if (image->width != alpha->width || image->height != alpha->height)
    return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "the alpha is %d x %d but the image is %d x %d", alpha->width,
                   alpha->height, image->width, image->height);
  const int W = image->width, H = image->height, D = image->channels >= 3 ? 3 : 1;
  if ((st = vm_check_image_size(W, H, err)) != VM_OK) return st;
  vm_foreground_options def;
  if (!options) {
    vm_foreground_options_default(&def);
    options = &def;
  }
  if ((st = check_options(options, err)) != VM_OK) return st;
  const size_t row = (size_t)W * D;
  if (foreground_row_stride == 0) foreground_row_stride = row;
  if (background_row_stride == 0) background_row_stride = row;
  if (foreground_row_stride < row || (background && background_row_stride < row))
    return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "a result row stride is less than a row (%zu floats)", row);

  vm_backend *be = vm_context_backend(ctx);
  const int threads = vm_context_host_threads(ctx);
  vm_foreground_method method = options->method;
  if (method == VM_FOREGROUND_AUTO)
    method = be->device == VM_DEVICE_CUDA ? VM_FOREGROUND_JACOBI : VM_FOREGROUND_SEQUENTIAL;
  const bool on_gpu = method == VM_FOREGROUND_JACOBI && be->ops->foreground_jacobi;

  progress_relay pr;
  vm_context_progress(ctx, &pr.fn, &pr.user);
  if (relay(&pr, 0.0)) return vm_fail(err, VM_ERR_CANCELLED, "cancelled");

  /* The picture and alpha as float32; the result goes through buffers of the sweep's own layout on the CPU, and
   * straight from the GPU into the caller's rows (pageable memory: a one-off upload or download costs less than
   * page-locking a buffer for it). */
  const size_t px = (size_t)W * H;
  float *buf[4] = {malloc(sizeof(float) * px * D), malloc(sizeof(float) * px), NULL, NULL};
  bool ok = buf[0] && buf[1];
  if (ok && !on_gpu) {
    ok = (buf[2] = malloc(sizeof(float) * px * D)) && (buf[3] = malloc(sizeof(float) * px * D));
  }
  vm_fg_job job = {.width = W, .height = H, .depth = D, .image = buf[0], .alpha = buf[1],
                   .foreground = on_gpu ? foreground : buf[2], .background = on_gpu ? background : buf[3],
                   .foreground_stride = on_gpu ? foreground_row_stride : row,
                   .background_stride = on_gpu ? background_row_stride : row,
                   .regularization = options->regularization, .gradient_weight = options->gradient_weight,
                   .small_iterations = options->small_iterations, .big_iterations = options->big_iterations,
                   .small_size = options->small_size, .progress = relay, .progress_user = &pr, .device_ms = -1.f};
  if (!ok)
    st = vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of memory for the foreground estimation of a %d x %d image", W, H);
  else if (!convert_inputs(image, alpha, D, buf[0], buf[1], threads))
    st = vm_fail(err, VM_ERR_INVALID_ARGUMENT, "the image or the alpha has samples that are not numbers");
  else if (!mean_colours(job.image, job.alpha, W, H, D, method == VM_FOREGROUND_SEQUENTIAL, threads, job.f_mean,
                         job.b_mean))
    st = vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of memory");
  else if (method == VM_FOREGROUND_SEQUENTIAL)
    st = vm_fg_cpu_sequential(&job, err);
  else if (on_gpu)
    st = be->ops->foreground_jacobi(be, &job, err);
  else
    st = vm_fg_cpu_jacobi(&job, threads, err);
  if (st == VM_OK) {
    if (!on_gpu) {
      copy_out(foreground, foreground_row_stride, job.foreground, W, H, D, threads);
      if (background) copy_out(background, background_row_stride, job.background, W, H, D, threads);
    }
    if (report) *report = (vm_fg_report){method, on_gpu ? VM_DEVICE_CUDA : VM_DEVICE_CPU, job.device_ms};
  }
  for (int i = 0; i < 4; i++) free(buf[i]);
  return st;
}

size_t vm_foreground_host_bytes(int width, int height) {
  const int D = 3, n = vm_fg_level_count(width, height);
  size_t small = 1; /* pixels of the largest level below the top, as foreground_cpu.c sizes its level buffers */
  for (int i = 0; i < n; i++) {
    const size_t px = (size_t)vm_fg_level_side(width, i, n) * (size_t)vm_fg_level_side(height, i, n);
    if (px > small) small = px;
  }
  const size_t px = (size_t)width * (size_t)height;
  /* image D + alpha 1 + F, B 2D (the sweep's layout) + their Jacobi copies 2D; levels: two F and two B, I and A */
  return sizeof(float) * (px * (5 * D + 1) + small * (5 * D + 1)) + sizeof(double) * 8 * (size_t)height;
}

vm_status vm_estimate_foreground(vm_context *ctx, const vm_image *image, const vm_image *alpha,
                                 const vm_foreground_options *options, float *foreground,
                                 size_t foreground_row_stride, float *background, size_t background_row_stride,
                                 vm_error *err) {
  return vm_foreground_run(ctx, image, alpha, options, foreground, foreground_row_stride, background,
                           background_row_stride, NULL, err);
}
