/* test_threads.c - vm_context_create takes 0 (all cores) to vm_cpu_thread_limit() CPU threads and refuses the
 * rest, for CPU contexts and for the host-side threads of AUTO contexts alike; the backend uses what it was given. */
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "vitmatte.h"

static int failures = 0;

static void check(int ok, const char *what, const char *detail) {
  printf("%s %s: %s\n", ok ? "PASS" : "FAIL", what, detail);
  if (!ok) failures++;
}

static vm_status make(const vm_model *model, vm_device device, int threads, vm_context **ctx, vm_error *err) {
  vm_context_options options;
  vm_context_options_default(&options);
  options.device = device;
  options.cpu_threads = threads;
  *ctx = NULL;
  return vm_context_create(model, &options, ctx, err);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: test_threads MODEL_DIR\n");
    return 2;
  }
  vm_model *model = NULL;
  vm_error err;
  if (vm_model_load(argv[1], &model, &err) != VM_OK) {
    printf("FAIL tiny model: %s\n", err.message);
    return 1;
  }
  const int limit = vm_cpu_thread_limit();
  char detail[700];
  snprintf(detail, sizeof detail, "%d with %d cores", limit, omp_get_num_procs());
  check(limit == 4 * omp_get_num_procs(), "the limit is 4 per core", detail);

  const int wanted[] = {0, 1, limit};
  for (int i = 0; i < 3; i++) {
    vm_context *ctx;
    vm_status st = make(model, VM_DEVICE_CPU, wanted[i], &ctx, &err);
    char expect[64];
    const int n = wanted[i] ? wanted[i] : omp_get_num_procs();
    snprintf(expect, sizeof expect, "CPU, %d thread%s", n, n == 1 ? "" : "s");
    snprintf(detail, sizeof detail, "%d -> %s", wanted[i], st == VM_OK ? vm_context_device_name(ctx) : err.message);
    check(st == VM_OK && strcmp(vm_context_device_name(ctx), expect) == 0, "taken as asked", detail);
    vm_context_free(ctx);
  }
  const int refused[] = {-1, limit + 1, 1000000};
  const vm_device devices[] = {VM_DEVICE_CPU, VM_DEVICE_AUTO};
  for (int d = 0; d < 2; d++)
    for (int i = 0; i < 3; i++) {
      vm_context *ctx;
      vm_status st = make(model, devices[d], refused[i], &ctx, &err);
      snprintf(detail, sizeof detail, "%s, %d -> %s", d ? "AUTO" : "CPU", refused[i], err.message);
      check(st == VM_ERR_INVALID_ARGUMENT && ctx == NULL && strstr(err.message, "CPU threads: the count must be"),
            "refused", detail);
      vm_context_free(ctx);
    }
  vm_model_free(model);
  printf("threads: %d failure%s\n", failures, failures == 1 ? "" : "s");
  return failures ? 1 : 0;
}
