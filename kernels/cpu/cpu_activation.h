/* cpu_activation.h - the activations and the bias/activation/residual epilogue of the CPU ops.
 * Owns: applying VM_ACT_* (formulas in cpu_math.h) and the epilogue that every GEMM-based op ends with. */
#ifndef VM_CPU_ACTIVATION_H
#define VM_CPU_ACTIVATION_H

#include <stdint.h>
#include <string.h>

#include "backend.h"

/* v[0..n) := act(v) in place (cpu_activation.c). */
void cpu_act_row(vm_act act, float *v, int64_t n);

/* dst := residual + act(src + bias) over a rows x n block (row strides in floats); bias and residual may be NULL.
 * src is worked on in place first (it is a GEMM result the caller owns), then added to the residual into dst.
 * dst may be src, and residual may be dst (then src must be another buffer). */
static inline void cpu_epilogue(float *src, int64_t lds, float *dst, int64_t ldd, int64_t rows, int64_t n,
                                const float *bias, vm_act act, const float *residual, int64_t ldr) {
  for (int64_t r = 0; r < rows; r++) {
    float *s = src + r * lds;
    float *d = dst + r * ldd;
    if (bias)
      for (int64_t j = 0; j < n; j++) s[j] += bias[j];
    cpu_act_row(act, s, n);
    if (residual) {
      const float *res = residual + r * ldr;
      for (int64_t j = 0; j < n; j++) d[j] = res[j] + s[j];
    } else if (d != s) {
      memcpy(d, s, (size_t)n * sizeof(float));
    }
  }
}

#endif
