/* weight_values.h - refusing checkpoints that hold numbers no trained ViTMatte has: NaN, infinity, absurd sizes.
 * Owns: the bounds (and why they are where they are) and the scan of a tensor's values as stored. */
#ifndef VM_WEIGHT_VALUES_H
#define VM_WEIGHT_VALUES_H

#include "safetensors.h"

/* Learned parameters (weights, biases, norms, position tables): at most 65504 in magnitude, the largest finite
 * fp16 number. The GPU's default precision stores the weights in fp16, where anything larger is infinity; and
 * training keeps weights near their initialisation's scale (N(0, 0.02), norms at 1): the transformers-made models
 * of data/ peak at 1.75, and trained ViT/CNN weights stay within tens. A bigger value is damage or tampering. */
#define VM_WEIGHT_MAGNITUDE_MAX 65504.0f

/* BatchNorm running statistics are moments of activations, not learned weights, and are folded into the
 * convolutions in double precision at load (never stored in fp16): they get a wider bound. A running variance of
 * 1e10 is a standard deviation of 1e5, thousands of times the activations a ViTMatte computes (|x| ~ 20). */
#define VM_BN_STATISTIC_MAGNITUDE_MAX 1.0e10f

/* Checks every value of the float tensor `t` (F32, F16 or BF16, as stored): finite and at most `bound` in
 * magnitude. Fails with VM_ERR_FORMAT and a message naming the tensor, the first bad index and its value. */
vm_status vm_tensor_check_values(const vm_safetensors *st, const vm_st_tensor *t, float bound, vm_error *err);

#endif
