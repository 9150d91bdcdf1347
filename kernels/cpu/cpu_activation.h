/* cpu_activation.h - applying the activations of the CPU ops to rows of values.
 * Owns: VM_ACT_* over a row (formulas in cpu_math.h), inline for the ops' own vectorised loops. */
#ifndef VM_CPU_ACTIVATION_H
#define VM_CPU_ACTIVATION_H

#include <stdint.h>

#include "backend.h"
#include "cpu_math.h"

/* v[0..n) := act(v) in place, one loop per activation so that each vectorises; inline, so that it takes the vector
 * width of the (multiversioned) function it is inlined into. */
static inline void cpu_act_apply(vm_act act, float *v, int64_t n) {
  switch (act) {
  case VM_ACT_RELU:
    for (int64_t j = 0; j < n; j++) v[j] = cpu_relu(v[j]);
    break;
  case VM_ACT_GELU:
    for (int64_t j = 0; j < n; j++) v[j] = cpu_gelu(v[j]);
    break;
  case VM_ACT_SIGMOID:
    for (int64_t j = 0; j < n; j++) v[j] = cpu_sigmoid(v[j]);
    break;
  case VM_ACT_NONE:
    break;
  }
}

#endif
