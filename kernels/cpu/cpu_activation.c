/* Activations over a row, in every vector width. */
#include "cpu_activation.h"
#include "cpu_simd.h"

/* Multiversioned behind a plain function: clang refuses to multiversion a function that callers elsewhere have
 * already seen declared without the attribute. */
CPU_VECTOR_CLONES
static void act_row(vm_act act, float *v, int64_t n) { cpu_act_apply(act, v, n); }

void cpu_act_row(vm_act act, float *v, int64_t n) {
  if (act != VM_ACT_NONE) act_row(act, v, n);
}
