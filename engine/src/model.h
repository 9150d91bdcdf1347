/* model.h - a loaded checkpoint: its config and its parameters in the engine's layout on the host.
 * Owns: the vm_model struct and turning a validated safetensors file into vm_params (checks, f32, BN folding). */
#ifndef VM_MODEL_H
#define VM_MODEL_H

#include "config.h"
#include "params.h"
#include "safetensors.h"

struct vm_model {
  vm_config cfg;
  vm_params params;       /* host f32 in the layouts of params.h; data points into `storage` */
  float *storage;         /* one allocation holding every parameter */
  int64_t num_parameters; /* trainable parameters as stored in the checkpoint */
  const char *stored_dtype;
};

/* Check every tensor of `st` against `cfg` (names, dtypes, shapes; nothing missing, nothing unexpected apart from
 * BatchNorm's num_batches_tracked) and every value (finite, within the bounds of weight_values.h), convert to f32,
 * transpose to the engine layouts and fold BatchNorm.
 * On failure `model` holds nothing that needs freeing. */
vm_status vm_model_build(const vm_config *cfg, const vm_safetensors *st, struct vm_model *model, vm_error *err);

/* Frees what vm_model_build allocated (not the struct itself). */
void vm_model_destroy(struct vm_model *model);

#endif
