/* host_memory.h - whether a prediction fits in the host's free memory, asked before any pixel is read.
 * Owns: reading MemAvailable, and the host share of a context's memory for one image size. */
#ifndef VM_HOST_MEMORY_H
#define VM_HOST_MEMORY_H

#include <stddef.h>

#include "vitmatte.h"

/* MemAvailable of a /proc/meminfo-style file, in bytes (saturating). VM_ERR_IO when the file or the line is
 * missing or malformed: then nobody can tell, and callers do not refuse. */
vm_status vm_host_memory_available(const char *meminfo_path, size_t *bytes);

/* vm_context_check_host_memory and vm_check_foreground_host_memory against the MemAvailable of `meminfo_path`
 * instead of /proc/meminfo. */
vm_status vm_context_check_host_memory_at(vm_context *ctx, int width, int height, size_t caller_bytes,
                                          const char *meminfo_path, vm_error *err);
vm_status vm_check_foreground_host_memory_at(int width, int height, size_t caller_bytes, const char *meminfo_path,
                                             vm_error *err);

#endif
