/* Activations over a row, one loop per activation so that each vectorises, in every vector width. */
#include "cpu_activation.h"
#include "cpu_math.h"
#include "cpu_simd.h"

/* Multiversioned behind a plain function: clang refuses to multiversion a function that callers elsewhere have
 * already seen declared without the attribute. */
CPU_VECTOR_CLONES
static void act_row(vm_act act, float *v, int64_t n) {
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

void cpu_act_row(vm_act act, float *v, int64_t n) {
  if (act != VM_ACT_NONE) act_row(act, v, n);
}
