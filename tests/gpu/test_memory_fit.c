/* test_memory_fit.c - an image that does not fit in the GPU's free memory: a VM_DEVICE_AUTO context computes it on
 * the CPU with a notice giving the MiB needed and free, a VM_DEVICE_CUDA context refuses it with that message before
 * allocating, and both go on using the GPU for an image that fits. Run on the GPU machine while another process
 * holds most of the card's memory (tests/gpu/hold_memory.py; tests/gpu/run_gpu.sh stage `fit`).
 *
 * Usage: test_memory_fit MODEL_DIR WIDTH HEIGHT   (an image of that size must not fit in what is free) */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "context_internal.h"
#include "vitmatte.h"

static checker checks;

static void expect(bool ok, const char *what, const char *detail) {
  check_true(&checks, ok, "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
}

typedef struct {
  unsigned char *rgb, *tri;
  float *alpha;
  vm_image im, tm;
} picture;

static bool picture_make(picture *p, int w, int h) {
  const size_t n = (size_t)w * h;
  p->rgb = malloc(3 * n);
  p->tri = malloc(n);
  p->alpha = malloc(sizeof(float) * n);
  if (!p->rgb || !p->tri || !p->alpha) return false;
  for (size_t i = 0; i < n; i++) {
    int x = (int)(i % (size_t)w);
    p->rgb[3 * i] = (unsigned char)(x * 7);
    p->rgb[3 * i + 1] = (unsigned char)(i * 13);
    p->rgb[3 * i + 2] = (unsigned char)(x * 29 + i / (size_t)w);
    p->tri[i] = (unsigned char)(x < w / 3 ? 0 : x < 2 * w / 3 ? 128 : 255);
    p->alpha[i] = -7.f; /* a prediction that writes nothing leaves this */
  }
  p->im = (vm_image){p->rgb, w, h, 3, 0, VM_PIXEL_U8};
  p->tm = (vm_image){p->tri, w, h, 1, 0, VM_PIXEL_U8};
  return true;
}

static void picture_free(picture *p) {
  free(p->rgb);
  free(p->tri);
  free(p->alpha);
}

static bool alpha_valid(const picture *p) {
  const size_t n = (size_t)p->im.width * p->im.height;
  for (size_t i = 0; i < n; i++)
    if (!(p->alpha[i] >= 0.f && p->alpha[i] <= 1.f)) return false;
  return true;
}

static bool untouched(const picture *p) {
  const size_t n = (size_t)p->im.width * p->im.height;
  for (size_t i = 0; i < n; i++)
    if (p->alpha[i] != -7.f) return false;
  return true;
}

static vm_context *make(const vm_model *m, vm_device dev) {
  vm_context_options o;
  vm_context_options_default(&o);
  o.device = dev;
  vm_context *ctx = NULL;
  vm_error e = {0};
  if (vm_context_create(m, &o, &ctx, &e) != VM_OK) {
    printf("FAIL context: %s\n", e.message);
    return NULL;
  }
  return ctx;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: test_memory_fit MODEL_DIR WIDTH HEIGHT\n");
    return 2;
  }
  const int W = atoi(argv[2]), H = atoi(argv[3]);
  vm_model *model = NULL;
  vm_error e = {0};
  if (vm_model_load(argv[1], &model, &e) != VM_OK) {
    printf("FAIL model: %s\n", e.message);
    return 1;
  }
  picture big, small;
  if (!picture_make(&big, W, H) || !picture_make(&small, 96, 64)) {
    printf("FAIL out of host memory\n");
    return 1;
  }

  /* --device cuda: refused before anything is allocated, with the MiB needed and free; then a small image works */
  vm_context *cuda = make(model, VM_DEVICE_CUDA);
  if (cuda) {
    vm_status st = vm_predict(cuda, &big.im, &big.tm, big.alpha, 0, &e);
    expect(st == VM_ERR_DEVICE_OUT_OF_MEMORY && strstr(e.message, "MiB") && strstr(e.message, "free") &&
               untouched(&big),
           "CUDA context: an image that does not fit is refused with the MiB needed and free", e.message);
    st = vm_predict(cuda, &small.im, &small.tm, small.alpha, 0, &e);
    expect(st == VM_OK && alpha_valid(&small), "CUDA context: a small image afterwards runs on the GPU",
           st == VM_OK ? vm_context_device_name(cuda) : e.message);
    vm_context_free(cuda);
  }

  /* --device auto: the big image on the CPU, with the notice; the small one back on the GPU without it */
  vm_context *aut = make(model, VM_DEVICE_AUTO);
  if (aut) {
    expect(vm_context_device(aut) == VM_DEVICE_CUDA && vm_context_notice(aut) == NULL,
           "AUTO context: on the GPU", vm_context_device_name(aut));
    /* the host-memory check (vm_context_check_host_memory) counts what the CPU will hold for this image */
    size_t host = 0, cpu_need = 0;
    vm_context *cpu = make(model, VM_DEVICE_CPU);
    const vm_status hs = vm_context_host_bytes(aut, W, H, &host, &e);
    if (cpu) vm_context_estimate_memory(cpu, W, H, &cpu_need, &e);
    char detail[160];
    snprintf(detail, sizeof detail, "%zu bytes counted, the CPU's estimate %zu", host, cpu_need);
    expect(hs == VM_OK && cpu && host == cpu_need,
           "AUTO context: the host-memory check counts the CPU's estimate for the image the GPU cannot hold", detail);
    vm_context_free(cpu);
    vm_status st = vm_predict(aut, &big.im, &big.tm, big.alpha, 0, &e);
    const char *n = vm_context_notice(aut);
    expect(st == VM_OK && alpha_valid(&big) && n && strstr(n, "GPU not used for this") && strstr(n, "MiB") &&
               strstr(n, "free") && strstr(n, "CPU"),
           "AUTO context: the image that does not fit runs on the CPU, with a notice", st == VM_OK ? n : e.message);
    st = vm_predict(aut, &small.im, &small.tm, small.alpha, 0, &e);
    expect(st == VM_OK && alpha_valid(&small) && vm_context_notice(aut) == NULL,
           "AUTO context: a small image afterwards runs on the GPU again, no notice", st == VM_OK ? NULL : e.message);
    vm_context_free(aut);
  }
  picture_free(&big);
  picture_free(&small);
  vm_model_free(model);
  return check_finish(&checks, "memory fit");
}
