/* test_fallback.c - choosing the device at context creation: VM_DEVICE_AUTO takes the GPU when the CUDA module can
 * create a backend and otherwise falls back to the CPU with a one-line notice; VM_DEVICE_CUDA fails with
 * VM_ERR_DEVICE when there is no usable GPU. Runs on machines with and without a GPU: it asks the module itself
 * (dlopen + create) whether a GPU is usable and checks the engine's choice against that.
 *
 * Usage: test_fallback MODULE.so MODEL_DIR */
#include <dlfcn.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "vitmatte.h"

static int passed, failed;

static void expect(bool ok, const char *what, const char *detail) {
  printf("%s %s%s%s\n", ok ? "ok  " : "FAIL", what, detail ? ": " : "", detail ? detail : "");
  if (ok)
    passed++;
  else
    failed++;
}

/* Whether the module can create a backend here, and why not. */
static bool gpu_usable(const char *module, char *why, size_t why_len) {
  /* RTLD_NODELETE: cuBLASLt and cuDNN keep one-time allocations (libstdc++'s exception pool) that would read as
   * leaks under LeakSanitizer if the libraries were unmapped after every engine dlopen/dlclose */
  void *h = dlopen(module, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (!h) {
    snprintf(why, why_len, "module does not load: %s", dlerror());
    return false;
  }
  vm_cuda_backend_create_fn create = (vm_cuda_backend_create_fn)dlsym(h, VM_CUDA_CREATE_SYMBOL);
  bool ok = false;
  if (create) {
    vm_backend *be = NULL;
    vm_error e = {0};
    vm_status st = create(0, VM_PRECISION_FP32, &be, &e);
    ok = st == VM_OK;
    if (ok)
      be->ops->destroy(be);
    else
      snprintf(why, why_len, "%s: %s", vm_status_string(st), e.message);
  }
  dlclose(h);
  return ok;
}

/* A small prediction must work on whatever device the context chose. */
static void predict_small(vm_context *ctx, const char *label) {
  enum { W = 45, H = 37 };
  static unsigned char rgb[H * W * 3], tri[H * W];
  for (int i = 0; i < H * W; i++) {
    rgb[3 * i] = (unsigned char)(i * 7);
    rgb[3 * i + 1] = (unsigned char)(i * 13);
    rgb[3 * i + 2] = (unsigned char)(i * 29);
    tri[i] = (unsigned char)((i % W) < 15 ? 0 : (i % W) < 30 ? 128 : 255);
  }
  vm_image im = {rgb, W, H, 3, 0, VM_PIXEL_U8}, tm = {tri, W, H, 1, 0, VM_PIXEL_U8};
  float alpha[H * W];
  vm_error e = {0};
  vm_status st = vm_predict(ctx, &im, &tm, alpha, 0, &e);
  bool finite = st == VM_OK;
  for (int i = 0; i < H * W && finite; i++) finite = isfinite(alpha[i]) && alpha[i] >= 0.f && alpha[i] <= 1.f;
  char what[128];
  snprintf(what, sizeof what, "%s: a 45x37 prediction gives an alpha in [0, 1]", label);
  expect(finite, what, st == VM_OK ? NULL : e.message);
}

static vm_context *make(const vm_model *m, vm_device dev, vm_precision prec, vm_status *st, vm_error *e);

/* The CUDA backend records a resolution's second pass as a graph and replays it from the third on: the same input
 * must give the same alpha in all four passes, and a new input replayed through the recorded graph must give what
 * an eager pass (graphs off) gives for it -- a replay that ignored its new input would fail here. */
static void replay_matches(vm_context *ctx, const vm_model *model) {
  enum { W = 97, H = 61 };
  static unsigned char rgb[H * W * 3], rgb2[H * W * 3], tri[H * W];
  for (int i = 0; i < H * W; i++) {
    rgb[3 * i] = (unsigned char)(i * 11);
    rgb[3 * i + 1] = (unsigned char)(i * 5 + 7);
    rgb[3 * i + 2] = (unsigned char)(i * 3);
    for (int c = 0; c < 3; c++) rgb2[3 * i + c] = (unsigned char)(255 - rgb[3 * i + c] / 2);
    tri[i] = (unsigned char)((i / W) < 20 ? 0 : (i / W) < 40 ? 128 : 255);
  }
  vm_image im = {rgb, W, H, 3, 0, VM_PIXEL_U8}, im2 = {rgb2, W, H, 3, 0, VM_PIXEL_U8},
           tm = {tri, W, H, 1, 0, VM_PIXEL_U8};
  static float alpha[4][H * W], second[H * W], eager[H * W];
  vm_error e = {0};
  bool ok = true;
  for (int pass = 0; pass < 4 && ok; pass++) ok = vm_predict(ctx, &im, &tm, alpha[pass], 0, &e) == VM_OK;
  double worst = 0;
  for (int pass = 1; pass < 4 && ok; pass++)
    for (int i = 0; i < H * W; i++) {
      double d = fabs((double)alpha[pass][i] - alpha[0][i]);
      if (!(d <= worst)) worst = d;
    }
  char detail[160];
  snprintf(detail, sizeof detail, "max difference %.3g", worst);
  expect(ok && worst <= 1e-6, "four predictions of one image agree (ops issued, recorded, replayed twice)",
         ok ? detail : e.message);

  ok = ok && vm_predict(ctx, &im2, &tm, second, 0, &e) == VM_OK;
  setenv("VITMATTE_CUDA_GRAPHS", "0", 1);
  vm_status st;
  vm_context *plain = ok ? make(model, vm_context_device(ctx), vm_context_precision(ctx), &st, &e) : NULL;
  unsetenv("VITMATTE_CUDA_GRAPHS");
  ok = ok && plain && vm_predict(plain, &im2, &tm, eager, 0, &e) == VM_OK;
  double d_eager = 0, d_first = 0;
  for (int i = 0; i < H * W && ok; i++) {
    d_eager = fmax(d_eager, fabs((double)second[i] - eager[i]));
    d_first = fmax(d_first, fabs((double)second[i] - alpha[0][i]));
  }
  snprintf(detail, sizeof detail, "max difference to eager %.3g; to the first image %.3g", d_eager, d_first);
  expect(ok && d_eager <= 1e-6 && d_first > 1e-4,
         "a second image through the replayed pass equals an eager pass on it", ok ? detail : e.message);
  vm_context_free(plain);
}

static vm_context *make(const vm_model *m, vm_device dev, vm_precision prec, vm_status *st, vm_error *e) {
  vm_context_options o;
  vm_context_options_default(&o);
  o.device = dev;
  o.precision = prec;
  o.cpu_threads = 2;
  vm_context *ctx = NULL;
  *st = vm_context_create(m, &o, &ctx, e);
  return ctx;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: test_fallback libvitmatte-cuda.so MODEL_DIR\n");
    return 2;
  }
  const char *module = argv[1];
  vm_model *model = NULL;
  vm_error e = {0};
  if (vm_model_load(argv[2], &model, &e) != VM_OK) {
    fprintf(stderr, "FAIL cannot load the test model %s: %s\n", argv[2], e.message);
    return 1;
  }
  setenv("VITMATTE_CUDA_MODULE", module, 1);
  char why[600] = "";
  bool gpu = gpu_usable(module, why, sizeof why);
  if (gpu)
    printf("this machine: a usable GPU\n");
  else
    printf("this machine: no usable GPU (%s)\n", why);

  vm_status st;
  /* AUTO */
  vm_context *ctx = make(model, VM_DEVICE_AUTO, VM_PRECISION_AUTO, &st, &e);
  expect(st == VM_OK, "VM_DEVICE_AUTO creates a context", st == VM_OK ? NULL : e.message);
  if (ctx) {
    const char *notice = vm_context_notice(ctx);
    if (gpu) {
      expect(vm_context_device(ctx) == VM_DEVICE_CUDA, "AUTO picks CUDA when a GPU is usable",
             vm_context_device_name(ctx));
      expect(notice == NULL, "no fallback notice on the GPU", notice);
      expect(vm_context_precision(ctx) == VM_PRECISION_FP16, "AUTO precision on the GPU is fp16", NULL);
    } else {
      expect(vm_context_device(ctx) == VM_DEVICE_CPU, "AUTO falls back to the CPU without a GPU",
             vm_context_device_name(ctx));
      expect(notice != NULL && strchr(notice, '\n') == NULL && strstr(notice, "CPU") != NULL,
             "the fallback notice is one line that names the CPU", notice ? notice : "(none)");
      expect(vm_context_precision(ctx) == VM_PRECISION_FP32, "the CPU fallback computes in fp32", NULL);
    }
    predict_small(ctx, gpu ? "AUTO (GPU)" : "AUTO (CPU fallback)");
    replay_matches(ctx, model);
    vm_context_free(ctx);
  }
  /* AUTO asking for fp16 still falls back (in fp32) without a GPU */
  ctx = make(model, VM_DEVICE_AUTO, VM_PRECISION_FP16, &st, &e);
  if (gpu)
    expect(st == VM_OK && vm_context_device(ctx) == VM_DEVICE_CUDA, "AUTO + fp16 runs on the GPU", NULL);
  else
    expect(st == VM_OK && vm_context_device(ctx) == VM_DEVICE_CPU && vm_context_precision(ctx) == VM_PRECISION_FP32,
           "AUTO + fp16 without a GPU falls back to the CPU in fp32", st == VM_OK ? NULL : e.message);
  vm_context_free(ctx);
  /* CUDA */
  ctx = make(model, VM_DEVICE_CUDA, VM_PRECISION_FP32, &st, &e);
  if (gpu) {
    expect(st == VM_OK && vm_context_device(ctx) == VM_DEVICE_CUDA, "VM_DEVICE_CUDA gives a GPU context",
           st == VM_OK ? vm_context_device_name(ctx) : e.message);
    if (ctx) predict_small(ctx, "CUDA fp32");
  } else {
    expect(st == VM_ERR_DEVICE && ctx == NULL && e.message[0] != '\0',
           "VM_DEVICE_CUDA without a GPU fails with VM_ERR_DEVICE and a reason", e.message);
  }
  vm_context_free(ctx);
  /* the module missing altogether */
  setenv("VITMATTE_CUDA_MODULE", "/nonexistent/libvitmatte-cuda.so", 1);
  ctx = make(model, VM_DEVICE_AUTO, VM_PRECISION_AUTO, &st, &e);
  expect(st == VM_OK && ctx && vm_context_device(ctx) == VM_DEVICE_CPU && vm_context_notice(ctx) != NULL,
         "AUTO with no loadable CUDA module falls back to the CPU with a notice",
         ctx && vm_context_notice(ctx) ? vm_context_notice(ctx) : e.message);
  vm_context_free(ctx);
  ctx = make(model, VM_DEVICE_CUDA, VM_PRECISION_AUTO, &st, &e);
  expect(st == VM_ERR_DEVICE && ctx == NULL, "VM_DEVICE_CUDA with no loadable CUDA module fails with VM_ERR_DEVICE",
         e.message);
  vm_context_free(ctx);

  vm_model_free(model);
  printf("fallback: %d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
