/* test_cuda_foreground.c - vm_estimate_foreground on a CUDA context: the GPU's Jacobi iterations against the NumPy
 * reference's fixtures (data/fixtures/foreground.safetensors) and against the CPU's Jacobi sweep on larger images,
 * cancel, and the sequential method on a CUDA context (it runs on the host). Exits 77 without a usable GPU.
 *   test_cuda_foreground [FIXTURES]   (the CUDA module is found as the engine finds it: $VITMATTE_CUDA_MODULE, ...) */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fg_check.h"
#include "foreground.h"
#include "safetensors.h"
#include "vitmatte.h"

#ifndef VM_SOURCE_ROOT
#define VM_SOURCE_ROOT "."
#endif

#define TOL (1.0 / 255) /* the bound; the kernel rounds each operation as the CPU does, so expect 0 */

static checker checks = {0, 0};

static vm_context *context(vm_device device, vm_progress_fn fn, void *user, vm_error *err) {
  vm_context_options o;
  vm_context_options_default(&o);
  o.device = device;
  o.progress = fn;
  o.progress_user_data = user;
  vm_context *ctx = NULL;
  return vm_context_create(NULL, &o, &ctx, err) == VM_OK ? ctx : NULL;
}

static float *tensor_f32(const vm_safetensors *st, const char *c, const char *what, int64_t numel) {
  char key[96];
  snprintf(key, sizeof key, "%s.%s", c, what);
  const vm_st_tensor *t = vm_safetensors_find(st, key);
  if (!t || t->numel != numel) return NULL;
  float *out = malloc(sizeof(float) * (size_t)numel);
  if (out) vm_safetensors_to_f32(st, t, out);
  return out;
}

static void fixture_cases(vm_context *gpu, const vm_safetensors *st) {
  const char *names[] = {"rgb", "grey", "params", "float", "thin", "one"};
  for (int k = 0; k < 6; k++) {
    char key[64];
    snprintf(key, sizeof key, "%s.image", names[k]);
    const vm_st_tensor *ti = vm_safetensors_find(st, key);
    snprintf(key, sizeof key, "%s.alpha", names[k]);
    const vm_st_tensor *ta = vm_safetensors_find(st, key);
    snprintf(key, sizeof key, "%s.params", names[k]);
    const vm_st_tensor *tp = vm_safetensors_find(st, key);
    if (!ti || !ta || !tp || ti->ndim != 3) {
      check_true(&checks, false, "fixture case %s is missing", names[k]);
      continue;
    }
    const int h = (int)ti->shape[0], w = (int)ti->shape[1], d = (int)ti->shape[2];
    const int64_t n = (int64_t)w * h * d;
    float p[5];
    vm_safetensors_to_f32(st, tp, p);
    const bool i8 = strcmp(ti->dtype_name, "U8") == 0, a8 = strcmp(ta->dtype_name, "U8") == 0;
    const vm_image im = {st->data + ti->begin, w, h, d, 0, i8 ? VM_PIXEL_U8 : VM_PIXEL_F32};
    const vm_image al = {st->data + ta->begin, w, h, 1, 0, a8 ? VM_PIXEL_U8 : VM_PIXEL_F32};
    vm_foreground_options o;
    vm_foreground_options_default(&o);
    o.regularization = p[0];
    o.small_iterations = (int)p[1];
    o.big_iterations = (int)p[2];
    o.small_size = (int)p[3];
    o.gradient_weight = p[4];
    float *refs[4] = {tensor_f32(st, names[k], "jacobi.F", n), tensor_f32(st, names[k], "jacobi.B", n),
                      tensor_f32(st, names[k], "sequential.F", n), tensor_f32(st, names[k], "sequential.B", n)};
    float *F = malloc(sizeof(float) * n), *B = malloc(sizeof(float) * n);
    for (int m = 0; m < 2; m++) { /* AUTO (the GPU's Jacobi) and SEQUENTIAL (on the host) */
      o.method = m ? VM_FOREGROUND_SEQUENTIAL : VM_FOREGROUND_AUTO;
      vm_fg_report rep = {0};
      vm_error err;
      vm_status s = vm_foreground_run(gpu, &im, &al, &o, F, 0, B, 0, &rep, &err);
      const vm_device want = m ? VM_DEVICE_CPU : VM_DEVICE_CUDA;
      if (s != VM_OK || !refs[2 * m] || !refs[2 * m + 1]) {
        check_true(&checks, false, "%s %s: %s", names[k], m ? "sequential" : "jacobi",
                   s != VM_OK ? err.message : "no reference");
        continue;
      }
      const double dF = max_diff(F, refs[2 * m], (size_t)n), dB = max_diff(B, refs[2 * m + 1], (size_t)n);
      check_true(&checks, dF <= (m ? 1e-4 : TOL) && dB <= (m ? 1e-4 : TOL) && rep.device == want,
                 "%-7s %dx%dx%d %s on the %s vs reference: max |dF| %.3g, max |dB| %.3g", names[k], w, h, d,
                 m ? "sequential" : "jacobi", rep.device == VM_DEVICE_CUDA ? "GPU" : "CPU", dF, dB);
    }
    for (int r = 0; r < 4; r++) free(refs[r]);
    free(F);
    free(B);
  }
}

/* A photo-like image and an alpha with soft and thin structures. */
static void synthetic(int W, int H, int ch, uint8_t *img, float *alpha) {
  uint64_t s = 3;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      const size_t i = (size_t)y * W + x;
      for (int c = 0; c < ch; c++) {
        s = s * 6364136223846793005ull + 1;
        const double base = 0.5 + 0.4 * sin(0.01 * (c + 1) * x + 0.007 * y * (3 - c));
        img[i * ch + c] = (uint8_t)fmin(255, fmax(0, 255 * base + (double)(s >> 59) - 16));
      }
      const double r = hypot(x - W / 2.0, y - H / 2.0) / (0.3 * (W < H ? W : H));
      const double strands = 0.5 + 0.5 * sin(0.7 * x + 3 * sin(0.02 * y));
      alpha[i] = (float)fmin(1, fmax(0, r < 1 ? 1 : (r < 1.4 ? strands * (1.4 - r) / 0.4 : 0)));
    }
}

static void against_cpu(vm_context *gpu, vm_context *cpu) {
  const int sizes[3][3] = {{1500, 1000, 3}, {1001, 1333, 1}, {4000, 3000, 3}};
  for (int k = 0; k < 3; k++) {
    const int W = sizes[k][0], H = sizes[k][1], ch = sizes[k][2];
    const size_t n = (size_t)W * H;
    uint8_t *img = malloc(n * ch);
    float *alpha = malloc(sizeof(float) * n), *Fg = malloc(sizeof(float) * n * ch), *Fc = malloc(sizeof(float) * n * ch);
    float *Bg = malloc(sizeof(float) * n * ch), *Bc = malloc(sizeof(float) * n * ch);
    synthetic(W, H, ch, img, alpha);
    const vm_image im = {img, W, H, ch, 0, VM_PIXEL_U8}, al = {alpha, W, H, 1, 0, VM_PIXEL_F32};
    vm_foreground_options o;
    vm_foreground_options_default(&o);
    o.method = VM_FOREGROUND_JACOBI;
    vm_fg_report rg = {0}, rc = {0};
    vm_error e1, e2;
    vm_status s1 = vm_foreground_run(gpu, &im, &al, &o, Fg, 0, Bg, 0, &rg, &e1);
    vm_status s2 = vm_foreground_run(cpu, &im, &al, &o, Fc, 0, Bc, 0, &rc, &e2);
    const double dF = max_diff(Fg, Fc, n * ch), dB = max_diff(Bg, Bc, n * ch);
    check_true(&checks, s1 == VM_OK && s2 == VM_OK && rg.device == VM_DEVICE_CUDA && dF <= TOL && dB <= TOL,
               "%dx%dx%d: GPU Jacobi (levels %.2f ms) vs CPU Jacobi: max |dF| %.3g, max |dB| %.3g%s%s", W, H, ch,
               rg.device_ms, dF, dB, s1 == VM_OK ? "" : e1.message, s2 == VM_OK ? "" : e2.message);
    free(img);
    free(alpha);
    free(Fg);
    free(Fc);
    free(Bg);
    free(Bc);
  }
}

typedef struct {
  int calls, cancel_at;
} cancel_state;

static int cancel_progress(void *user, const char *stage, double f) {
  (void)stage;
  (void)f;
  cancel_state *c = user;
  return ++c->calls == c->cancel_at;
}

static void cancel(void) {
  enum { W = 2000, H = 1500 };
  const size_t n = (size_t)W * H;
  uint8_t *img = malloc(n * 3);
  float *alpha = malloc(sizeof(float) * n), *F = malloc(sizeof(float) * n * 3);
  synthetic(W, H, 3, img, alpha);
  const vm_image im = {img, W, H, 3, 0, VM_PIXEL_U8}, al = {alpha, W, H, 1, 0, VM_PIXEL_F32};
  cancel_state cs = {0, 0};
  vm_error err;
  vm_context *gpu = context(VM_DEVICE_CUDA, cancel_progress, &cs, &err);
  if (!gpu) {
    check_true(&checks, false, "a second CUDA context: %s", err.message);
    return;
  }
  vm_status st = vm_estimate_foreground(gpu, &im, &al, NULL, F, 0, NULL, 0, &err);
  const int calls = cs.calls;
  check_true(&checks, st == VM_OK && calls >= 3, "progress on the GPU: %d calls", calls);
  const int at[3] = {1, 2, calls};
  for (int k = 0; k < 3; k++) {
    for (size_t i = 0; i < n * 3; i++) F[i] = 42.f;
    cs = (cancel_state){0, at[k]};
    st = vm_estimate_foreground(gpu, &im, &al, NULL, F, 0, NULL, 0, &err);
    bool untouched = true;
    for (size_t i = 0; i < n * 3; i++) untouched = untouched && F[i] == 42.f;
    check_true(&checks, st == VM_ERR_CANCELLED && untouched,
               "GPU: cancel at progress call %d of %d: cancelled, F untouched", at[k], calls);
  }
  cs = (cancel_state){0, 0};
  st = vm_estimate_foreground(gpu, &im, &al, NULL, F, 0, NULL, 0, &err);
  check_true(&checks, st == VM_OK, "the context works after a cancel%s%s", st == VM_OK ? "" : ": ",
             st == VM_OK ? "" : err.message);
  vm_context_free(gpu);
  free(img);
  free(alpha);
  free(F);
}

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : VM_SOURCE_ROOT "/data/fixtures/foreground.safetensors";
  vm_error err;
  vm_context *gpu = context(VM_DEVICE_CUDA, NULL, NULL, &err);
  if (!gpu) {
    printf("SKIP no usable GPU: %s\n", err.message);
    return 77;
  }
  vm_context *cpu = context(VM_DEVICE_CPU, NULL, NULL, &err);
  vm_safetensors st;
  if (!cpu || vm_safetensors_open(path, &st, &err) != VM_OK) {
    printf("FAIL %s\n", err.message);
    return 1;
  }
  printf("device: %s\n", vm_context_device_name(gpu));
  fixture_cases(gpu, &st);
  against_cpu(gpu, cpu);
  cancel();
  vm_safetensors_close(&st);
  vm_context_free(gpu);
  vm_context_free(cpu);
  return check_finish(&checks, "foreground on CUDA");
}
