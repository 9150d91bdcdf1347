/* context_internal.h - what tests and benchmarks may see of a context beyond the public API.
 * Owns: access to the backend, the uploaded parameters and the grid of a planned resolution. */
#ifndef VM_CONTEXT_INTERNAL_H
#define VM_CONTEXT_INTERNAL_H

#include <stdbool.h>

#include "backend.h"
#include "modules.h"

vm_backend *vm_context_backend(vm_context *ctx);
const vm_params *vm_context_params(const vm_context *ctx);
const vm_config *vm_context_config(const vm_context *ctx);
/* Whether the context was made with a model (without one it runs vm_estimate_foreground alone). */
bool vm_context_has_model(const vm_context *ctx);
/* Threads for host-side work: the options' cpu_threads, or all cores. */
int vm_context_host_threads(const vm_context *ctx);
/* The progress callback of the options (may be NULL). */
void vm_context_progress(const vm_context *ctx, vm_progress_fn *fn, void **user);
/* The image sizes the engine takes (1 to 65536 pixels a side, at most 2^30 pixels), for every entry point that
 * takes an image: VM_ERR_INVALID_ARGUMENT with the limits in the message otherwise. */
vm_status vm_check_image_size(int width, int height, vm_error *err);
/* Host memory the context needs for a width x height image (the size limits checked first): on the CPU its
 * estimate; on a GPU the pre-processed input and the alpha, or, for an AUTO context whose GPU cannot hold the image
 * (it then runs on the CPU), the CPU's estimate; for a context made without a model, what vm_estimate_foreground
 * takes at most. */
vm_status vm_context_host_bytes(vm_context *ctx, int width, int height, size_t *bytes, vm_error *err);
/* Plan for a padded input of H x W (multiples of 32) and return its grid (position tables in backend memory). */
vm_status vm_context_plan(vm_context *ctx, int H, int W, const vm_grid **grid, vm_error *err);

#endif
