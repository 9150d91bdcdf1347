/* test_host_memory.c - vm_context_check_host_memory: MemAvailable parsing, the exact boundary of the check, the
 * engine's size limits, and that an unreadable meminfo never refuses. Uses the tiny model of data/tiny. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host_memory.h"
#include "vitmatte.h"

static int failures = 0;

static void check(int ok, const char *what, const char *detail) {
  printf("%s %s%s%s\n", ok ? "PASS" : "FAIL", what, detail ? ": " : "", detail ? detail : "");
  if (!ok) failures++;
}

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
  check(vm_host_memory_available(path, &bytes) == VM_OK && bytes == (size_t)20969732 * 1024,
        "MemAvailable is read in kB", NULL);
  write_meminfo(path, "MemTotal:       24552340 kB\nMemFree:         1234 kB\n");
  check(vm_host_memory_available(path, &bytes) == VM_ERR_IO, "no MemAvailable line: unknown", NULL);
  write_meminfo(path, "MemAvailable:   garbage\n");
  check(vm_host_memory_available(path, &bytes) == VM_ERR_IO, "a malformed line: unknown", NULL);
  write_meminfo(path, "MemAvailable:   99999999999999999999 kB\n");
  check(vm_host_memory_available(path, &bytes) == VM_ERR_IO || bytes == (size_t)-1,
        "an absurd value does not wrap around", NULL);
  check(vm_host_memory_available("/nonexistent/meminfo", &bytes) == VM_ERR_IO, "no file: unknown", NULL);
}

static void test_check(vm_context *ctx, const char *path) {
  char detail[700];
  vm_error err;
  const int w = 400, h = 300;
  const size_t caller = 12345;
  size_t estimate = 0;
  if (vm_context_estimate_memory(ctx, w, h, &estimate, &err) != VM_OK) {
    check(0, "estimate", err.message);
    return;
  }
  /* On the CPU the context's share is the whole estimate; the caller's bytes come on top. */
  const size_t need = estimate + caller;
  write_available(path, (need + 1023) / 1024 * 1024);
  vm_status st = vm_context_check_host_memory_at(ctx, w, h, caller, path, &err);
  snprintf(detail, sizeof detail, "need %zu bytes, %s", need, err.message);
  check(st == VM_OK, "fits when the memory available covers the estimate plus the caller's bytes", detail);
  write_available(path, need - 1024);
  st = vm_context_check_host_memory_at(ctx, w, h, caller, path, &err);
  check(st == VM_ERR_OUT_OF_MEMORY && strstr(err.message, "the image is 400 x 300: matting it needs about") &&
            strstr(err.message, "MiB available"),
        "refused with the size and the memory needed when 1 KiB short", err.message);
  st = vm_context_check_host_memory_at(ctx, w, h, caller, "/nonexistent/meminfo", &err);
  check(st == VM_OK, "where the memory available cannot be read, nothing is refused", err.message);
  st = vm_context_check_host_memory_at(ctx, 70000, 10, caller, path, &err);
  check(st == VM_ERR_INVALID_ARGUMENT && strstr(err.message, "outside what the engine supports"),
        "beyond the engine's limits: invalid argument, whatever the memory", err.message);
  st = vm_context_check_host_memory_at(ctx, 0, 10, caller, path, &err);
  check(st == VM_ERR_INVALID_ARGUMENT, "a zero width is refused", err.message);
  write_available(path, (size_t)1 << 40);
  st = vm_context_check_host_memory_at(ctx, w, h, (size_t)-1, path, &err);
  check(st == VM_ERR_OUT_OF_MEMORY, "caller bytes near SIZE_MAX saturate instead of wrapping around", err.message);
  /* The real machine: 2^30 pixels need about 150 GiB with this model. */
  size_t real = 0;
  if (vm_host_memory_available("/proc/meminfo", &real) == VM_OK && real < (size_t)140 << 30) {
    st = vm_context_check_host_memory(ctx, 32768, 32768, 0, &err);
    check(st == VM_ERR_OUT_OF_MEMORY, "32768 x 32768 does not fit in this machine's memory", err.message);
  }
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
  vm_model *model = NULL;
  vm_context *ctx = NULL;
  vm_error err;
  vm_context_options options;
  vm_context_options_default(&options);
  options.device = VM_DEVICE_CPU;
  options.cpu_threads = 1;
  if (vm_model_load(argv[1], &model, &err) != VM_OK || vm_context_create(model, &options, &ctx, &err) != VM_OK) {
    check(0, "tiny model context", err.message);
  } else {
    test_check(ctx, path);
  }
  vm_context_free(ctx);
  vm_model_free(model);
  unlink(path);
  printf("host memory: %d failure%s\n", failures, failures == 1 ? "" : "s");
  return failures ? 1 : 0;
}
