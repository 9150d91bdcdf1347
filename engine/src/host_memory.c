/* host_memory.c - whether a prediction fits in the host's free memory, asked before any pixel is read.
 * The kernel's MemAvailable (free memory plus what it can reclaim without swapping) is the figure to compare with:
 * beyond it the run would swap or meet the out-of-memory killer after minutes of work. */
#include "host_memory.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "context_internal.h"
#include "error.h"
#include "foreground.h"

vm_status vm_host_memory_available(const char *meminfo_path, size_t *bytes) {
  FILE *f = fopen(meminfo_path, "r");
  if (!f) return VM_ERR_IO;
  char line[256];
  vm_status st = VM_ERR_IO;
  while (fgets(line, sizeof line, f)) {
    unsigned long long kib = 0;
    char unit[8] = "";
    if (strncmp(line, "MemAvailable:", 13) != 0) continue;
    if (sscanf(line + 13, "%llu %7s", &kib, unit) == 2 && strcmp(unit, "kB") == 0) {
      *bytes = kib > SIZE_MAX / 1024 ? SIZE_MAX : (size_t)kib * 1024;
      st = VM_OK;
    }
    break;
  }
  fclose(f);
  return st;
}

static size_t add_saturating(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }

/* engine_host + caller_bytes against MemAvailable; `what` is the work, `device` (may be NULL) where it runs. */
static vm_status check_need(int width, int height, size_t engine_host, size_t caller_bytes, const char *what,
                            const char *device, const char *meminfo_path, vm_error *err) {
  const size_t need = add_saturating(engine_host, caller_bytes);
  size_t available = 0;
  if (vm_host_memory_available(meminfo_path, &available) != VM_OK) return VM_OK; /* cannot tell: do not refuse */
  if (need <= available) return VM_OK;
  const double mib = 1024.0 * 1024.0;
  return vm_fail(err, VM_ERR_OUT_OF_MEMORY, "the image is %d x %d: %s needs about %.0f MiB of memory%s%s%s, more than "
                 "the %.0f MiB available", width, height, what, (double)need / mib, device ? " (" : "",
                 device ? device : "", device ? ")" : "", (double)available / mib);
}

vm_status vm_context_check_host_memory_at(vm_context *ctx, int width, int height, size_t caller_bytes,
                                          const char *meminfo_path, vm_error *err) {
  vm_error_clear(err);
  if (!ctx) return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "vm_context_check_host_memory: context is required");
  size_t engine_host = 0;
  vm_status st = vm_context_host_bytes(ctx, width, height, &engine_host, err);
  if (st != VM_OK) return st;
  return check_need(width, height, engine_host, caller_bytes,
                    vm_context_has_model(ctx) ? "matting it" : "estimating its foreground colours",
                    vm_context_device_name(ctx), meminfo_path, err);
}

vm_status vm_check_foreground_host_memory_at(int width, int height, size_t caller_bytes, const char *meminfo_path,
                                             vm_error *err) {
  vm_error_clear(err);
  vm_status st = vm_check_image_size(width, height, err);
  if (st != VM_OK) return st;
  return check_need(width, height, vm_foreground_host_bytes(width, height), caller_bytes,
                    "estimating its foreground colours", NULL, meminfo_path, err);
}

vm_status vm_check_foreground_host_memory(int width, int height, size_t caller_bytes, vm_error *err) {
  return vm_check_foreground_host_memory_at(width, height, caller_bytes, "/proc/meminfo", err);
}

vm_status vm_context_check_host_memory(vm_context *ctx, int width, int height, size_t caller_bytes, vm_error *err) {
  return vm_context_check_host_memory_at(ctx, width, height, caller_bytes, "/proc/meminfo", err);
}
