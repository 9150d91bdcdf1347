/* test_concurrency.c - vitmatte.h's threading promise: one model shared read-only by contexts in several threads at
 * once gives each thread the alpha a lone context gives (run under ASan+UBSan in tests/run.sh too). Within 1e-5, the
 * alpha tolerance of the parity tests, not bit for bit: OpenBLAS's thread count is process-wide, so one context
 * setting it around its GEMM can change another's summation order (measured: up to 3e-7). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "vitmatte.h"

enum { W = 90, H = 70, THREADS = 3, ROUNDS = 2 };
#define TOLERANCE 1e-5

typedef struct job {
  const vm_model *model;
  const vm_image *rgb, *trimap;
  const float *reference;
  int mismatches; /* alphas not bit-identical to the reference (allowed) */
  double worst;   /* largest difference from the reference */
  char error[600];
} job;

static int predict(const vm_model *model, const vm_image *rgb, const vm_image *trimap, float *alpha, char *error,
                   size_t error_size) {
  vm_context_options options;
  vm_context_options_default(&options);
  options.device = VM_DEVICE_CPU;
  options.cpu_threads = 1; /* one thread each: the same arithmetic order as the reference */
  vm_context *ctx = NULL;
  vm_error err = {VM_OK, ""};
  const int ok = vm_context_create(model, &options, &ctx, &err) == VM_OK &&
                 vm_predict(ctx, rgb, trimap, alpha, 0, &err) == VM_OK;
  if (!ok) snprintf(error, error_size, "%s", err.message);
  vm_context_free(ctx);
  return ok;
}

static void *run(void *arg) {
  job *j = arg;
  float *alpha = malloc(sizeof(float) * W * H);
  for (int round = 0; round < ROUNDS && alpha; round++) {
    if (!predict(j->model, j->rgb, j->trimap, alpha, j->error, sizeof j->error)) break;
    if (memcmp(alpha, j->reference, sizeof(float) * W * H) != 0) j->mismatches++;
    for (int i = 0; i < W * H; i++) {
      const double d = alpha[i] > j->reference[i] ? alpha[i] - j->reference[i] : j->reference[i] - alpha[i];
      if (!(d <= j->worst)) j->worst = d;
    }
  }
  free(alpha);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: test_concurrency MODEL_DIR\n");
    return 2;
  }
  vm_model *model = NULL;
  vm_error err;
  if (vm_model_load(argv[1], &model, &err) != VM_OK) {
    printf("FAIL tiny model: %s\n", err.message);
    return 1;
  }
  unsigned char rgb_px[W * H * 3], tri_px[W * H];
  for (int i = 0; i < W * H; i++) {
    const int x = i % W, y = i / W;
    for (int c = 0; c < 3; c++) rgb_px[3 * i + c] = (unsigned char)(x * 3 + y * 5 + c * 40);
    const int d = (x - W / 2) * (x - W / 2) + (y - H / 2) * (y - H / 2);
    tri_px[i] = d < 200 ? 255 : d < 600 ? 128 : 0;
  }
  const vm_image rgb = {rgb_px, W, H, 3, 0, VM_PIXEL_U8}, trimap = {tri_px, W, H, 1, 0, VM_PIXEL_U8};
  float *reference = malloc(sizeof(float) * W * H);
  char error[600] = "";
  if (!predict(model, &rgb, &trimap, reference, error, sizeof error)) {
    printf("FAIL the lone context: %s\n", error);
    return 1;
  }
  job jobs[THREADS];
  pthread_t threads[THREADS];
  for (int t = 0; t < THREADS; t++) {
    jobs[t] = (job){model, &rgb, &trimap, reference, 0, 0.0, ""};
    if (pthread_create(&threads[t], NULL, run, &jobs[t]) != 0) {
      printf("FAIL pthread_create\n");
      return 1;
    }
  }
  checker checks = {0, 0};
  for (int t = 0; t < THREADS; t++) {
    pthread_join(threads[t], NULL);
    check_true(&checks, jobs[t].error[0] == '\0' && jobs[t].worst <= TOLERANCE,
               "thread %d: %d contexts on the shared model, %d alphas not bit-identical to a lone context's, largest "
               "difference %g (allowed %g)%s%s",
               t, ROUNDS, jobs[t].mismatches, jobs[t].worst, TOLERANCE, jobs[t].error[0] ? ": " : "", jobs[t].error);
  }
  free(reference);
  vm_model_free(model);
  return check_finish(&checks, "shared model");
}
