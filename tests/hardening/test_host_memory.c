/* test_host_memory.c - vm_context_check_host_memory and vm_check_foreground_host_memory: MemAvailable parsing, the
 * exact boundary of the check, the engine's size limits, and that an unreadable meminfo never refuses. Uses the tiny
 * model of data/tiny. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "host_memory.h"
#include "vitmatte.h"

static checker checks = {0, 0};

static void write_meminfo(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
    printf("FAIL cannot write %s\n", path);
    exit(1);
  }
}

/* A meminfo file whose MemAvailable is `bytes` rounded down to whole KiB, as the kernel writes it. */
static void write_available(const char *path, size_t bytes) {
  char text[256];
  snprintf(text, sizeof text, "MemTotal:       32000000 kB\nMemFree:          100000 kB\nMemAvailable:   %zu kB\n",
           bytes / 1024);
  write_meminfo(path, text);
}

static void test_parsing(const char *path) {
  size_t bytes = 0;
  write_meminfo(path, "MemTotal:       24552340 kB\nMemFree:         1234 kB\nMemAvailable:   20969732 kB\n");
  check_true(&checks, vm_host_memory_available(path, &bytes) == VM_OK && bytes == (size_t)20969732 * 1024,
             "MemAvailable is read in kB");
  write_meminfo(path, "MemTotal:       24552340 kB\nMemFree:         1234 kB\n");
  check_true(&checks, vm_host_memory_available(path, &bytes) == VM_ERR_IO, "no MemAvailable line: unknown");
  write_meminfo(path, "MemAvailable:   garbage\n");
  check_true(&checks, vm_host_memory_available(path, &bytes) == VM_ERR_IO, "a malformed line: unknown");
  write_meminfo(path, "MemAvailable:   99999999999999999999 kB\n");
  check_true(&checks, vm_host_memory_available(path, &bytes) == VM_ERR_IO || bytes == (size_t)-1,
             "an absurd value does not wrap around");
  check_true(&checks, vm_host_memory_available("/nonexistent/meminfo", &bytes) == VM_ERR_IO, "no file: unknown");
}

static void test_check(vm_context *ctx, const char *path) {
  vm_error err;
  const int w = 400, h = 300;
  const size_t caller = 12345;
  size_t estimate = 0;
  if (vm_context_estimate_memory(ctx, w, h, &estimate, &err) != VM_OK) {
    check_true(&checks, false, "estimate: %s", err.message);
    return;
  }
  /* On the CPU the context's share is the whole estimate; the caller's bytes come on top. */
  const size_t need = estimate + caller;
  write_available(path, (need + 1023) / 1024 * 1024);
  vm_status st = vm_context_check_host_memory_at(ctx, w, h, caller, path, &err);
  check_true(&checks, st == VM_OK,
             "fits when the memory available covers the estimate plus the caller's bytes: need %zu bytes, %s", need,
             err.message);
  write_available(path, need - 1024);
  st = vm_context_check_host_memory_at(ctx, w, h, caller, path, &err);
  check_status(&checks, "refused with the size and the memory needed when 1 KiB short", st, &err, VM_ERR_OUT_OF_MEMORY,
               "the image is 400 x 300: matting it needs about", "MiB available");
  st = vm_context_check_host_memory_at(ctx, w, h, caller, "/nonexistent/meminfo", &err);
  check_status(&checks, "where the memory available cannot be read, nothing is refused", st, &err, VM_OK, NULL, NULL);
  st = vm_context_check_host_memory_at(ctx, 70000, 10, caller, path, &err);
  check_status(&checks, "beyond the engine's limits: invalid argument, whatever the memory", st, &err,
               VM_ERR_INVALID_ARGUMENT, "outside what the engine supports", NULL);
  st = vm_context_check_host_memory_at(ctx, 0, 10, caller, path, &err);
  check_status(&checks, "a zero width is refused", st, &err, VM_ERR_INVALID_ARGUMENT, NULL, NULL);
  write_available(path, (size_t)1 << 40);
  st = vm_context_check_host_memory_at(ctx, w, h, (size_t)-1, path, &err);
  check_status(&checks, "caller bytes near SIZE_MAX saturate instead of wrapping around", st, &err,
               VM_ERR_OUT_OF_MEMORY, NULL, NULL);
  /* The real machine: 2^30 pixels need about 150 GiB with this model. */
  size_t real = 0;
  const bool known = vm_host_memory_available("/proc/meminfo", &real) == VM_OK;
  if (known && real < (size_t)140 << 30) {
    st = vm_context_check_host_memory(ctx, 32768, 32768, 0, &err);
    check_status(&checks, "32768 x 32768 does not fit in this machine's memory", st, &err, VM_ERR_OUT_OF_MEMORY, NULL,
                 NULL);
  } else {
    printf("SKIP 32768 x 32768 does not fit in this machine's memory: %s\n",
           known ? "140 GiB or more are available here" : "/proc/meminfo says nothing of the memory available");
  }
}

/* The cut-out's check without a context: the same decision as a context made without a model, at the boundary, and
 * the same limits. */
static void test_foreground_check(const char *path) {
  vm_error err;
  const int w = 640, h = 480;
  const size_t caller = 4321;
  vm_context *ctx = NULL;
  vm_context_options options;
  vm_context_options_default(&options);
  options.device = VM_DEVICE_CPU;
  options.cpu_threads = 1;
  if (vm_context_create(NULL, &options, &ctx, &err) != VM_OK) {
    check_true(&checks, false, "a context without a model: %s", err.message);
    return;
  }
  /* the boundary: find the least whole-KiB MemAvailable the context check accepts */
  size_t lo = 0, hi = (size_t)1 << 34;
  while (hi - lo > 1024) {
    const size_t mid = (lo + hi) / 2 / 1024 * 1024;
    write_available(path, mid);
    if (vm_context_check_host_memory_at(ctx, w, h, caller, path, &err) == VM_OK)
      hi = mid;
    else
      lo = mid;
  }
  check_true(&checks, lo > caller, "a foreground estimation of 640 x 480 needs memory: boundary at %zu bytes", hi);
  write_available(path, hi);
  vm_status st = vm_check_foreground_host_memory_at(w, h, caller, path, &err);
  check_status(&checks, "fits where a context without a model says it fits", st, &err, VM_OK, NULL, NULL);
  write_available(path, lo);
  st = vm_check_foreground_host_memory_at(w, h, caller, path, &err);
  check_status(&checks, "refused where a context without a model refuses, with the size and the work", st, &err,
               VM_ERR_OUT_OF_MEMORY, "the image is 640 x 480: estimating its foreground colours needs about",
               "MiB available");
  check_true(&checks, strstr(err.message, "CPU") == NULL, "the message names no device (none was asked): %s",
             err.message);
  st = vm_check_foreground_host_memory_at(w, h, caller, "/nonexistent/meminfo", &err);
  check_status(&checks, "foreground: where the memory available cannot be read, nothing is refused", st, &err, VM_OK,
               NULL, NULL);
  st = vm_check_foreground_host_memory_at(70000, 10, caller, path, &err);
  check_status(&checks, "foreground: beyond the engine's limits, invalid argument", st, &err, VM_ERR_INVALID_ARGUMENT,
               "outside what the engine supports", NULL);
  write_available(path, (size_t)1 << 40);
  st = vm_check_foreground_host_memory_at(w, h, (size_t)-1, path, &err);
  check_status(&checks, "foreground: caller bytes near SIZE_MAX saturate", st, &err, VM_ERR_OUT_OF_MEMORY, NULL, NULL);
  vm_context_free(ctx);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: test_host_memory MODEL_DIR\n");
    return 2;
  }
  char path[] = "/tmp/vitmatte-meminfo-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return 1;
  close(fd);
  test_parsing(path);
  test_foreground_check(path);
  vm_model *model = NULL;
  vm_context *ctx = NULL;
  vm_error err;
  vm_context_options options;
  vm_context_options_default(&options);
  options.device = VM_DEVICE_CPU;
  options.cpu_threads = 1;
  if (vm_model_load(argv[1], &model, &err) != VM_OK || vm_context_create(model, &options, &ctx, &err) != VM_OK) {
    check_true(&checks, false, "tiny model context: %s", err.message);
  } else {
    test_check(ctx, path);
  }
  vm_context_free(ctx);
  vm_model_free(model);
  unlink(path);
  return check_finish(&checks, "host memory");
}
