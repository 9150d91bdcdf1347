/* foreground.h - what tests and benchmarks may see of vm_estimate_foreground beyond the public API.
 * Owns: the report of one estimation (which variant ran where, and the GPU's time). */
#ifndef VM_FOREGROUND_H
#define VM_FOREGROUND_H

#include "vitmatte.h"

typedef struct vm_fg_report {
  vm_foreground_method method; /* what ran: SEQUENTIAL or JACOBI */
  vm_device device;            /* where the sweeps ran: CPU or CUDA */
  float device_ms;             /* GPU time of the levels (uploads and downloads included), -1 on the CPU */
} vm_fg_report;

/* Host memory one estimation of a width x height colour image takes at most (the CPU's Jacobi variant: the image,
 * alpha, F and B as floats, their second copies, the levels below the top), for the host-memory check of a context
 * made without a model. */
size_t vm_foreground_host_bytes(int width, int height);

/* vm_estimate_foreground, also filling `report` (may be NULL). */
vm_status vm_foreground_run(vm_context *ctx, const vm_image *image, const vm_image *alpha,
                            const vm_foreground_options *options, float *foreground, size_t foreground_row_stride,
                            float *background, size_t background_row_stride, vm_fg_report *report, vm_error *err);

#endif
