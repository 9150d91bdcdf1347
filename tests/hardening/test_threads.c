/* test_threads.c - vm_context_create takes 0 (all cores) to vm_cpu_thread_limit() CPU threads and refuses the
 * rest, for CPU contexts and for the host-side threads of AUTO contexts alike; the backend uses what it was given. */
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "vitmatte.h"

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
  checker checks = {0, 0};
  const int limit = vm_cpu_thread_limit();
  check_true(&checks, limit == 4 * omp_get_num_procs(), "the limit is 4 per core: %d with %d cores", limit,
             omp_get_num_procs());

  const int wanted[] = {0, 1, limit};
  for (int i = 0; i < 3; i++) {
    vm_context *ctx;
    vm_status st = make(model, VM_DEVICE_CPU, wanted[i], &ctx, &err);
    char expect[64];
    const int n = wanted[i] ? wanted[i] : omp_get_num_procs();
    snprintf(expect, sizeof expect, "CPU, %d thread%s", n, n == 1 ? "" : "s");
    check_true(&checks, st == VM_OK && strcmp(vm_context_device_name(ctx), expect) == 0, "taken as asked: %d -> %s",
               wanted[i], st == VM_OK ? vm_context_device_name(ctx) : err.message);
    vm_context_free(ctx);
  }
  const int refused[] = {-1, limit + 1, 1000000};
  const vm_device devices[] = {VM_DEVICE_CPU, VM_DEVICE_AUTO};
  for (int d = 0; d < 2; d++)
    for (int i = 0; i < 3; i++) {
      vm_context *ctx;
      vm_status st = make(model, devices[d], refused[i], &ctx, &err);
      check_true(&checks,
                 st == VM_ERR_INVALID_ARGUMENT && ctx == NULL && strstr(err.message, "CPU threads: the count must be"),
                 "refused: %s, %d -> %s", d ? "AUTO" : "CPU", refused[i], err.message);
      vm_context_free(ctx);
    }
  vm_model_free(model);
  return check_finish(&checks, "threads");
}
