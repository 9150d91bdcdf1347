/* test_foreground.c - vm_estimate_foreground on the CPU against the NumPy reference's fixtures
 * (data/fixtures/foreground.safetensors, made by tests/reference/gen_foreground_fixtures.py, checked against
 * pymatting), and the API's promises: input types, strides, threads, cancel, errors. One line per check. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fg_check.h"
#include "safetensors.h"
#include "vitmatte.h"

#ifndef VM_SOURCE_ROOT
#define VM_SOURCE_ROOT "."
#endif

#define TOL 1e-4 /* the bound; the CPU sweeps reproduce the reference's arithmetic, so expect 0 */

static checker checks = {0, 0};

/* A fixture case: the inputs as stored, and the four results. */
typedef struct {
  char name[32];
  int w, h, depth;
  const vm_st_tensor *image, *alpha;
  float params[5];
  float *ref[2][2]; /* [sequential, jacobi][F, B] */
} fx_case;

static const vm_safetensors *g_st;

static const vm_st_tensor *find(const char *c, const char *what) {
  char key[96];
  snprintf(key, sizeof key, "%s.%s", c, what);
  return vm_safetensors_find(g_st, key);
}

static float *as_f32(const vm_st_tensor *t) {
  float *out = malloc(sizeof(float) * (size_t)t->numel);
  if (!out) abort();
  if (strcmp(t->dtype_name, "U8") == 0) {
    const uint8_t *p = g_st->data + t->begin;
    for (int64_t i = 0; i < t->numel; i++) out[i] = (float)p[i] / 255.0f;
  } else {
    vm_safetensors_to_f32(g_st, t, out);
  }
  return out;
}

static bool load_case(const char *name, fx_case *c) {
  memset(c, 0, sizeof *c);
  snprintf(c->name, sizeof c->name, "%s", name);
  c->image = find(name, "image");
  c->alpha = find(name, "alpha");
  const vm_st_tensor *p = find(name, "params");
  if (!c->image || !c->alpha || !p || c->image->ndim != 3 || p->numel != 5) return false;
  c->h = (int)c->image->shape[0];
  c->w = (int)c->image->shape[1];
  c->depth = (int)c->image->shape[2];
  vm_safetensors_to_f32(g_st, p, c->params);
  const char *res[2][2] = {{"sequential.F", "sequential.B"}, {"jacobi.F", "jacobi.B"}};
  for (int v = 0; v < 2; v++)
    for (int k = 0; k < 2; k++) {
      const vm_st_tensor *t = find(name, res[v][k]);
      if (!t || t->numel != (int64_t)c->w * c->h * c->depth) return false;
      c->ref[v][k] = as_f32(t);
    }
  return true;
}

static void free_case(fx_case *c) {
  for (int v = 0; v < 2; v++)
    for (int k = 0; k < 2; k++) free(c->ref[v][k]);
}

static vm_image view(const vm_st_tensor *t, int w, int h, int channels) {
  const bool u8 = strcmp(t->dtype_name, "U8") == 0;
  return (vm_image){g_st->data + t->begin, w, h, channels, 0, u8 ? VM_PIXEL_U8 : VM_PIXEL_F32};
}

static vm_foreground_options case_options(const fx_case *c, vm_foreground_method m) {
  vm_foreground_options o;
  vm_foreground_options_default(&o);
  o.method = m;
  o.regularization = c->params[0];
  o.small_iterations = (int)c->params[1];
  o.big_iterations = (int)c->params[2];
  o.small_size = (int)c->params[3];
  o.gradient_weight = c->params[4];
  return o;
}

static vm_context *cpu_context(int threads, vm_progress_fn fn, void *user) {
  vm_context_options o;
  vm_context_options_default(&o);
  o.device = VM_DEVICE_CPU;
  o.cpu_threads = threads;
  o.progress = fn;
  o.progress_user_data = user;
  vm_context *ctx = NULL;
  vm_error err;
  if (vm_context_create(NULL, &o, &ctx, &err) != VM_OK) {
    printf("FAIL a context without a model: %s\n", err.message);
    exit(1);
  }
  return ctx;
}

/* Both variants of one case against the reference, with the stored input types. */
static void parity_case(vm_context *ctx, const fx_case *c) {
  const size_t n = (size_t)c->w * c->h * c->depth;
  float *F = malloc(sizeof(float) * n), *B = malloc(sizeof(float) * n);
  const vm_image im = view(c->image, c->w, c->h, c->depth), al = view(c->alpha, c->w, c->h, 1);
  const char *names[2] = {"sequential", "jacobi"};
  const vm_foreground_method methods[2] = {VM_FOREGROUND_SEQUENTIAL, VM_FOREGROUND_JACOBI};
  for (int v = 0; v < 2; v++) {
    vm_foreground_options o = case_options(c, methods[v]);
    vm_error err;
    vm_status st = vm_estimate_foreground(ctx, &im, &al, &o, F, 0, B, 0, &err);
    if (st != VM_OK) {
      check_true(&checks, false, "%s %s: %s", c->name, names[v], err.message);
      continue;
    }
    const double dF = max_diff(F, c->ref[v][0], n), dB = max_diff(B, c->ref[v][1], n);
    check_true(&checks, dF <= TOL && dB <= TOL,
               "%-7s %dx%dx%d %-10s vs reference: max |dF| %.3g, max |dB| %.3g (tol %g)", c->name, c->w, c->h, c->depth,
               names[v], dF, dB, TOL);
  }
  free(F);
  free(B);
}

/* The rgb case through other input types and layouts: U16, F32, RGBA, strided rows, an 8-bit alpha; results
 * into strided buffers; no background. All must give the reference's numbers. */
static void input_types(vm_context *ctx, const fx_case *c) {
  const int w = c->w, h = c->h;
  const size_t n = (size_t)w * h;
  const uint8_t *p8 = g_st->data + c->image->begin;
  float *alpha = as_f32(c->alpha);
  uint16_t *p16 = malloc(sizeof(uint16_t) * n * 3);
  float *pf = malloc(sizeof(float) * n * 3);
  const size_t rgba_stride = (size_t)w * 4 + 5; /* bytes, with padding at the end of each row */
  uint8_t *rgba = calloc(rgba_stride * h, 1);
  uint8_t *alpha8 = malloc(n);
  for (size_t i = 0; i < n * 3; i++) {
    p16[i] = (uint16_t)(p8[i] * 257);
    pf[i] = (float)p8[i] / 255.0f;
  }
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      for (int k = 0; k < 3; k++) rgba[y * rgba_stride + x * 4 + k] = p8[((size_t)y * w + x) * 3 + k];
      rgba[y * rgba_stride + x * 4 + 3] = (uint8_t)(x * 7 + y); /* ignored */
    }
  const size_t fstride = (size_t)w * 3 + 2;
  float *F = malloc(sizeof(float) * fstride * h);
  const vm_image al = {alpha, w, h, 1, 0, VM_PIXEL_F32};
  struct {
    const char *what;
    vm_image im;
  } inputs[] = {
      {"16-bit RGB (p * 257)", {p16, w, h, 3, 0, VM_PIXEL_U16}},
      {"float RGB (p / 255)", {pf, w, h, 3, 0, VM_PIXEL_F32}},
      {"8-bit RGBA with padded rows", {rgba, w, h, 4, rgba_stride, VM_PIXEL_U8}},
  };
  vm_foreground_options o = case_options(c, VM_FOREGROUND_SEQUENTIAL);
  for (size_t k = 0; k < sizeof inputs / sizeof inputs[0]; k++) {
    for (size_t i = 0; i < fstride * h; i++) F[i] = -7.f;
    vm_error err;
    vm_status st = vm_estimate_foreground(ctx, &inputs[k].im, &al, &o, F, fstride, NULL, 0, &err);
    double d = 0;
    bool pad_kept = true;
    for (int y = 0; y < h; y++) {
      const double dr = max_diff(F + (size_t)y * fstride, c->ref[0][0] + (size_t)y * w * 3, (size_t)w * 3);
      if (dr > d) d = dr;
      pad_kept = pad_kept && F[y * fstride + w * 3] == -7.f && F[y * fstride + w * 3 + 1] == -7.f;
    }
    check_true(&checks, st == VM_OK && d <= TOL && pad_kept, "%s, F into rows of %zu floats, no B: max |dF| %.3g%s%s",
               inputs[k].what, fstride, d, pad_kept ? "" : ", wrote past a row", st == VM_OK ? "" : err.message);
  }
  /* the alpha as 8 bits: the same as its float32 p/255 */
  for (size_t i = 0; i < n; i++) alpha8[i] = (uint8_t)lrintf(alpha[i] * 255.0f);
  float *Fa = malloc(sizeof(float) * n * 3), *Fb = malloc(sizeof(float) * n * 3);
  for (size_t i = 0; i < n; i++) alpha[i] = (float)alpha8[i] / 255.0f;
  const vm_image a8 = {alpha8, w, h, 1, 0, VM_PIXEL_U8}, af = {alpha, w, h, 1, 0, VM_PIXEL_F32};
  vm_error err;
  vm_status s1 = vm_estimate_foreground(ctx, &inputs[1].im, &a8, &o, Fa, 0, NULL, 0, &err);
  vm_status s2 = vm_estimate_foreground(ctx, &inputs[1].im, &af, &o, Fb, 0, NULL, 0, &err);
  check_true(&checks, s1 == VM_OK && s2 == VM_OK && max_diff(Fa, Fb, n * 3) == 0, "an 8-bit alpha is used as p / 255");
  free(Fa);
  free(Fb);
  free(F);
  free(alpha);
  free(alpha8);
  free(p16);
  free(pf);
  free(rgba);
}

/* The grey case as gray + alpha (2 channels): channel 0 is the colour. */
static void grey_alpha(vm_context *ctx, const fx_case *c) {
  const int w = c->w, h = c->h;
  const size_t n = (size_t)w * h;
  const uint8_t *g = g_st->data + c->image->begin;
  uint8_t *ga = malloc(n * 2);
  for (size_t i = 0; i < n; i++) {
    ga[2 * i] = g[i];
    ga[2 * i + 1] = (uint8_t)(255 - g[i]);
  }
  float *F = malloc(sizeof(float) * n), *B = malloc(sizeof(float) * n);
  const vm_image im = {ga, w, h, 2, 0, VM_PIXEL_U8}, al = view(c->alpha, w, h, 1);
  vm_foreground_options o = case_options(c, VM_FOREGROUND_SEQUENTIAL);
  vm_error err;
  vm_status st = vm_estimate_foreground(ctx, &im, &al, &o, F, 0, B, 0, &err);
  check_true(&checks, st == VM_OK && max_diff(F, c->ref[0][0], n) <= TOL && max_diff(B, c->ref[0][1], n) <= TOL,
             "gray + alpha input: one channel out, the reference's numbers");
  free(ga);
  free(F);
  free(B);
}

/* AUTO is SEQUENTIAL on a CPU context; JACOBI gives the same numbers on 1, 2 and 3 threads. */
static void methods_and_threads(const fx_case *c) {
  const size_t n = (size_t)c->w * c->h * 3;
  const vm_image im = view(c->image, c->w, c->h, 3), al = view(c->alpha, c->w, c->h, 1);
  float *F = malloc(sizeof(float) * n);
  vm_context *ctx = cpu_context(1, NULL, NULL);
  vm_error err;
  vm_status st = vm_estimate_foreground(ctx, &im, &al, NULL, F, 0, NULL, 0, &err);
  check_true(&checks, st == VM_OK && max_diff(F, c->ref[0][0], n) <= TOL,
             "default options on a CPU context: the sequential method");
  vm_context_free(ctx);
  for (int t = 1; t <= 3; t++) {
    ctx = cpu_context(t, NULL, NULL);
    vm_foreground_options o = case_options(c, VM_FOREGROUND_JACOBI);
    st = vm_estimate_foreground(ctx, &im, &al, &o, F, 0, NULL, 0, &err);
    check_true(&checks, st == VM_OK && max_diff(F, c->ref[1][0], n) == 0,
               "jacobi on %d thread%s: the reference's numbers exactly", t, t > 1 ? "s" : "");
    vm_context_free(ctx);
  }
  free(F);
}

typedef struct {
  int calls, cancel_at;
  double last, first;
  bool monotone, stage_ok;
} progress_log;

static int log_progress(void *user, const char *stage, double fraction) {
  progress_log *p = user;
  if (p->calls == 0) p->first = fraction;
  if (fraction < p->last) p->monotone = false;
  if (strcmp(stage, "foreground") != 0) p->stage_ok = false;
  p->last = fraction;
  return ++p->calls == p->cancel_at;
}

/* Progress runs from 0 to 1 under the stage "foreground"; a cancel at any call leaves the outputs untouched. */
static void progress_and_cancel(void) {
  enum { W = 1400, H = 900 }; /* above 1 MP: the top level reports after each iteration */
  const size_t n = (size_t)W * H;
  uint8_t *rgb = malloc(n * 3);
  float *alpha = malloc(sizeof(float) * n), *F = malloc(sizeof(float) * n * 3), *B = malloc(sizeof(float) * n * 3);
  for (size_t i = 0; i < n; i++) {
    const int x = (int)(i % W), y = (int)(i / W);
    rgb[3 * i] = (uint8_t)(x * 255 / W);
    rgb[3 * i + 1] = (uint8_t)(y * 255 / H);
    rgb[3 * i + 2] = (uint8_t)((x ^ y) & 255);
    const double r = hypot(x - W / 2.0, y - H / 2.0) / (H / 3.0);
    alpha[i] = (float)fmin(1.0, fmax(0.0, (1.2 - r) * 2.0));
  }
  const vm_image im = {rgb, W, H, 3, 0, VM_PIXEL_U8}, al = {alpha, W, H, 1, 0, VM_PIXEL_F32};
  for (int m = 0; m < 2; m++) {
    const vm_foreground_method method = m ? VM_FOREGROUND_JACOBI : VM_FOREGROUND_SEQUENTIAL;
    progress_log log = {0, 0, 0, -1, true, true};
    vm_context *ctx = cpu_context(0, log_progress, &log);
    vm_foreground_options o;
    vm_foreground_options_default(&o);
    o.method = method;
    vm_error err;
    vm_status st = vm_estimate_foreground(ctx, &im, &al, &o, F, 0, B, 0, &err);
    const int calls = log.calls;
    check_true(
        &checks,
        st == VM_OK && log.monotone && log.stage_ok && log.first == 0.0 && fabs(log.last - 1.0) < 1e-12 && calls >= 4,
        "%s: progress 'foreground' from %g to %g in %d calls", m ? "jacobi" : "sequential", log.first, log.last, calls);
    const int cancel_at[3] = {1, 2, calls};
    for (int k = 0; k < 3; k++) {
      for (size_t i = 0; i < n * 3; i++) F[i] = B[i] = 42.f;
      log = (progress_log){0, cancel_at[k], 0, -1, true, true};
      st = vm_estimate_foreground(ctx, &im, &al, &o, F, 0, B, 0, &err);
      bool untouched = true;
      for (size_t i = 0; i < n * 3; i++) untouched = untouched && F[i] == 42.f && B[i] == 42.f;
      check_true(&checks, st == VM_ERR_CANCELLED && untouched,
                 "%s: cancel at progress call %d of %d: cancelled, outputs untouched", m ? "jacobi" : "sequential",
                 cancel_at[k], calls);
    }
    vm_context_free(ctx);
  }
  free(rgb);
  free(alpha);
  free(F);
  free(B);
}

static void errors(void) {
  vm_context *ctx = cpu_context(1, NULL, NULL);
  uint8_t rgb[4 * 3 * 3] = {0};
  float alpha[4 * 3] = {0}, F[4 * 3 * 3], nan_rgb[4 * 3 * 3] = {0};
  nan_rgb[7] = NAN;
  const vm_image im = {rgb, 4, 3, 3, 0, VM_PIXEL_U8}, al = {alpha, 4, 3, 1, 0, VM_PIXEL_F32};
  const vm_image al_small = {alpha, 3, 3, 1, 0, VM_PIXEL_F32}, al_rgb = {rgb, 4, 3, 3, 0, VM_PIXEL_U8};
  const vm_image im_nan = {nan_rgb, 4, 3, 3, 0, VM_PIXEL_F32};
  vm_foreground_options bad_reg, bad_iter, bad_method;
  vm_foreground_options_default(&bad_reg);
  bad_reg.regularization = 0;
  vm_foreground_options_default(&bad_iter);
  bad_iter.big_iterations = -1;
  vm_foreground_options_default(&bad_method);
  bad_method.method = (vm_foreground_method)7;
  struct {
    const char *what;
    vm_context *ctx;
    const vm_image *im, *al;
    const vm_foreground_options *o;
    float *F;
    size_t stride;
    vm_status want;
  } cases[] = {
      {"no context", NULL, &im, &al, NULL, F, 0, VM_ERR_INVALID_ARGUMENT},
      {"no foreground buffer", ctx, &im, &al, NULL, NULL, 0, VM_ERR_INVALID_ARGUMENT},
      {"alpha of another size", ctx, &im, &al_small, NULL, F, 0, VM_ERR_INVALID_ARGUMENT},
      {"alpha with 3 channels", ctx, &im, &al_rgb, NULL, F, 0, VM_ERR_INVALID_ARGUMENT},
      {"regularization 0", ctx, &im, &al, &bad_reg, F, 0, VM_ERR_INVALID_ARGUMENT},
      {"negative iterations", ctx, &im, &al, &bad_iter, F, 0, VM_ERR_INVALID_ARGUMENT},
      {"unknown method", ctx, &im, &al, &bad_method, F, 0, VM_ERR_INVALID_ARGUMENT},
      {"a NaN in a float image", ctx, &im_nan, &al, NULL, F, 0, VM_ERR_INVALID_ARGUMENT},
      {"row stride shorter than a row", ctx, &im, &al, NULL, F, 11, VM_ERR_INVALID_ARGUMENT},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    vm_error err = {0};
    vm_status st = vm_estimate_foreground(cases[k].ctx, cases[k].im, cases[k].al, cases[k].o, cases[k].F,
                                          cases[k].stride, NULL, 0, &err);
    check_true(&checks, st == cases[k].want && err.status == st && err.message[0], "refused: %s (%s)", cases[k].what,
               err.message);
  }
  /* a side over the engine's limit: refused by the same size check as vm_predict, which names the limits */
  uint8_t *wide = calloc((size_t)65537 * 3, 1);
  const vm_image im_wide = {wide, 65537, 1, 3, 0, VM_PIXEL_U8}, al_wide = {wide, 65537, 1, 1, 0, VM_PIXEL_U8};
  vm_error werr = {0};
  vm_status wst = wide ? vm_estimate_foreground(ctx, &im_wide, &al_wide, NULL, F, 0, NULL, 0, &werr) : VM_OK;
  check_true(&checks,
             wst == VM_ERR_INVALID_ARGUMENT &&
                 strstr(werr.message, "outside what the engine supports (1 to 65536 pixels a side"),
             "refused: an image of 65537 x 1 (%s)", werr.message);
  free(wide);
  float px[3 * 32 * 32] = {0}, a[32 * 32] = {0}, alpha_out[32 * 32];
  const vm_image im32 = {px, 32, 32, 3, 0, VM_PIXEL_F32}, tri = {a, 32, 32, 1, 0, VM_PIXEL_F32};
  vm_error err = {0};
  vm_status st = vm_predict(ctx, &im32, &tri, alpha_out, 0, &err);
  check_true(&checks, st == VM_ERR_INVALID_ARGUMENT, "a context without a model refuses vm_predict (%s)", err.message);
  vm_context_free(ctx);
}

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : VM_SOURCE_ROOT "/data/fixtures/foreground.safetensors";
  vm_safetensors st;
  vm_error err;
  if (vm_safetensors_open(path, &st, &err) != VM_OK) {
    printf("FAIL %s: %s\n", path, err.message);
    return 1;
  }
  g_st = &st;
  const char *names[] = {"rgb", "grey", "params", "float", "thin", "one"};
  fx_case cases[6];
  vm_context *ctx = cpu_context(0, NULL, NULL);
  for (int k = 0; k < 6; k++) {
    if (!load_case(names[k], &cases[k])) {
      check_true(&checks, false, "fixture case %s is missing or malformed", names[k]);
      return 1;
    }
    parity_case(ctx, &cases[k]);
  }
  input_types(ctx, &cases[0]);
  grey_alpha(ctx, &cases[1]);
  vm_context_free(ctx);
  methods_and_threads(&cases[0]);
  progress_and_cancel();
  errors();
  for (int k = 0; k < 6; k++) free_case(&cases[k]);
  vm_safetensors_close(&st);
  return check_finish(&checks, "foreground");
}
