/* cpu_conv.h - what the CPU convolutions share: the geometry of a convolution of [detail, upsample_x2(low)] and the
 * gathering of a band of its input pixels (concatenation, upsampling and zero padding done there).
 * Owns: conv_geometry, cpu_conv_gather_band (cpu_conv_band.c) and the Winograd path (cpu_conv_winograd.c). */
#ifndef VM_CPU_CONV_H
#define VM_CPU_CONV_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "cpu_runtime.h"

typedef struct conv_geometry {
  int64_t n, h, w;      /* input (detail) size; low is h/2 x w/2 */
  int64_t cd, cl, cin;  /* detail, low and total channels */
  int64_t ho, wo, cout;
  int k, stride, pad;
  int64_t kk;           /* k*k*cin: one row of A */
} conv_geometry;

/* Fills the band of input pixels [y0, y0 + rows) x [x0, x0 + cols) of image img (coordinates may fall outside the
 * image: those pixels are zero padding), each pixel cin floats: detail channels, then low upsampled. */
void cpu_conv_gather_band(const conv_geometry *g, const float *detail, const float *low, int64_t img, int64_t y0,
                          int64_t x0, int64_t rows, int64_t cols, float *band);

/* 3x3, stride 1 (padding 1) by Winograd's F(2x2, 3x3); only for rt->gemm with micro-kernels. */
vm_status cpu_conv3x3_winograd(cpu_runtime *rt, const conv_geometry *g, const float *detail, const float *low,
                               const float *w, const float *bias, vm_act act, float *out, vm_error *err);
size_t cpu_conv3x3_winograd_scratch(const cpu_gemm_isa *isa, int64_t wo, int64_t cin, int64_t cout);
size_t cpu_conv3x3_winograd_shared(int64_t cin, int64_t cout);

#endif
