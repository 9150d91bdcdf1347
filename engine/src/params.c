#include "params.h"

#include <stdlib.h>

#include "error.h"

vm_status vm_params_each(vm_params *ps, vm_param_fn fn, void *user) {
  vm_status st;
  for (int i = 0; i < VM_STEM_COUNT; i++)
    if ((st = fn(&ps->stem[i], user)) != VM_OK) return st;
  for (int l = 0; l < ps->num_layers; l++)
    for (int i = 0; i < VM_L_COUNT; i++)
      if ((st = fn(&ps->layer[l][i], user)) != VM_OK) return st;
  for (int s = 0; s < ps->num_convstream; s++)
    for (int i = 0; i < VM_CONV_COUNT; i++)
      if ((st = fn(&ps->convstream[s][i], user)) != VM_OK) return st;
  for (int s = 0; s < ps->num_fusion; s++)
    for (int i = 0; i < VM_CONV_COUNT; i++)
      if ((st = fn(&ps->fusion[s][i], user)) != VM_OK) return st;
  for (int i = 0; i < VM_HEAD_COUNT; i++)
    if ((st = fn(&ps->head[i], user)) != VM_OK) return st;
  return VM_OK;
}

vm_status vm_params_init(vm_params *ps, const vm_config *cfg, vm_error *err) {
  *ps = (vm_params){0};
  ps->num_layers = cfg->num_hidden_layers;
  ps->num_convstream = cfg->num_convstream;
  ps->num_fusion = cfg->num_fusion;
  ps->layer = calloc((size_t)ps->num_layers + 1, sizeof *ps->layer);
  ps->convstream = calloc((size_t)ps->num_convstream + 1, sizeof *ps->convstream);
  ps->fusion = calloc((size_t)ps->num_fusion + 1, sizeof *ps->fusion);
  if (!ps->layer || !ps->convstream || !ps->fusion) {
    vm_params_release_slots(ps);
    return vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of memory for the parameter table");
  }
  return VM_OK;
}

void vm_params_release_slots(vm_params *ps) {
  free(ps->layer);
  free(ps->convstream);
  free(ps->fusion);
  ps->layer = NULL;
  ps->convstream = NULL;
  ps->fusion = NULL;
}
