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

/* Host buffers: page-locked from the backend when its GPU moves them (uploads at bus speed), else malloc. */
typedef struct {
  vm_backend *be; /* NULL: malloc */
  void *p[4];
} host_buffers;

static void host_free(host_buffers *h);

/* All four buffers page-locked, or (when there is no such memory, or not enough) all four from malloc. */
static bool host_alloc(host_buffers *h, const size_t bytes[4]) {
  if (h->be) {
    vm_error ignored;
    int k = 0;
    while (k < 4 && h->be->ops->host_alloc(h->be, bytes[k], &h->p[k], &ignored) == VM_OK) k++;
    if (k == 4) return true;
    h->p[k] = NULL;
    host_free(h);
    memset(h->p, 0, sizeof h->p);
    h->be = NULL;
  }
  for (int k = 0; k < 4; k++)
    if (!(h->p[k] = malloc(bytes[k]))) return false;
  return true;
}

static void host_free(host_buffers *h) {
  for (int i = 0; i < 4; i++) {
    if (!h->p[i]) continue;
    if (h->be)
      h->be->ops->host_free(h->be, h->p[i]);
    else
      free(h->p[i]);
  }
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

  const size_t px = (size_t)W * H;
  host_buffers hb = {.be = on_gpu && be->ops->host_alloc && be->ops->host_free ? be : NULL};
  const size_t bytes[4] = {sizeof(float) * px * D, sizeof(float) * px, sizeof(float) * px * D,
                           sizeof(float) * px * D};
  if (!host_alloc(&hb, bytes)) {
    host_free(&hb);
    return vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of memory for the foreground estimation of a %d x %d image", W,
                   H);
  }
  vm_fg_job job = {.width = W, .height = H, .depth = D, .image = hb.p[0], .alpha = hb.p[1], .foreground = hb.p[2],
                   .background = hb.p[3], .regularization = options->regularization,
                   .gradient_weight = options->gradient_weight, .small_iterations = options->small_iterations,
                   .big_iterations = options->big_iterations, .small_size = options->small_size,
                   .progress = relay, .progress_user = &pr, .device_ms = -1.f};
  if (!convert_inputs(image, alpha, D, hb.p[0], hb.p[1], threads)) {
    host_free(&hb);
    return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "the image or the alpha has samples that are not numbers");
  }
  if (!mean_colours(job.image, job.alpha, W, H, D, method == VM_FOREGROUND_SEQUENTIAL, threads, job.f_mean,
                    job.b_mean))
    st = vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of memory");
  else if (method == VM_FOREGROUND_SEQUENTIAL)
    st = vm_fg_cpu_sequential(&job, err);
  else if (on_gpu)
    st = be->ops->foreground_jacobi(be, &job, err);
  else
    st = vm_fg_cpu_jacobi(&job, threads, err);
  if (st == VM_OK) {
    copy_out(foreground, foreground_row_stride, job.foreground, W, H, D, threads);
    if (background) copy_out(background, background_row_stride, job.background, W, H, D, threads);
    if (report) *report = (vm_fg_report){method, on_gpu ? VM_DEVICE_CUDA : VM_DEVICE_CPU, job.device_ms};
  }
  host_free(&hb);
  return st;
}

vm_status vm_estimate_foreground(vm_context *ctx, const vm_image *image, const vm_image *alpha,
                                 const vm_foreground_options *options, float *foreground,
                                 size_t foreground_row_stride, float *background, size_t background_row_stride,
                                 vm_error *err) {
  return vm_foreground_run(ctx, image, alpha, options, foreground, foreground_row_stride, background,
                           background_row_stride, NULL, err);
}
