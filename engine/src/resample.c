#include "resample.h"

#include <math.h>
#include <string.h>

static double cubic_near(double x, double A) { return ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0; }
static double cubic_far(double x, double A) { return ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A; }

/* The 4 taps and weights of one output coordinate; PyTorch's cubic rule does not clamp the source coordinate,
 * it clamps the tap indices (border replicate). */
static void bicubic_taps(int in, int out, int dst, int idx[4], double wt[4]) {
  const double A = -0.75;
  double scale = (double)in / (double)out;
  double src = scale * (dst + 0.5) - 0.5;
  double fl = floor(src);
  double t = src - fl;
  int i = (int)fl;
  wt[0] = cubic_far(t + 1.0, A);
  wt[1] = cubic_near(t, A);
  wt[2] = cubic_near(1.0 - t, A);
  wt[3] = cubic_far(2.0 - t, A);
  for (int k = 0; k < 4; k++) {
    int j = i - 1 + k;
    idx[k] = j < 0 ? 0 : (j > in - 1 ? in - 1 : j);
  }
}

void vm_resize_pos_bicubic(const float *pos, int grid, int C, int h, int w, float *out) {
  if (h == grid && w == grid) {
    memcpy(out, pos, sizeof(float) * (size_t)grid * grid * C);
    return;
  }
  for (int y = 0; y < h; y++) {
    int iy[4];
    double wy[4];
    bicubic_taps(grid, h, y, iy, wy);
    for (int x = 0; x < w; x++) {
      int ix[4];
      double wx[4];
      bicubic_taps(grid, w, x, ix, wx);
      float *o = out + ((size_t)y * w + x) * C;
      for (int c = 0; c < C; c++) {
        double acc = 0.0;
        for (int a = 0; a < 4; a++) {
          double row = 0.0;
          for (int b = 0; b < 4; b++) row += wx[b] * pos[((size_t)iy[a] * grid + ix[b]) * C + c];
          acc += wy[a] * row;
        }
        o[c] = (float)acc;
      }
    }
  }
}

void vm_resize_rel_pos_linear(const float *table, int L_in, int d, int L_out, float *out) {
  if (L_in == L_out) {
    memcpy(out, table, sizeof(float) * (size_t)L_in * d);
    return;
  }
  double scale = (double)L_in / (double)L_out;
  for (int j = 0; j < L_out; j++) {
    double src = scale * (j + 0.5) - 0.5;
    if (src < 0.0) src = 0.0;
    int i0 = (int)src;
    int i1 = i0 < L_in - 1 ? i0 + 1 : i0;
    double lam = src - i0;
    for (int c = 0; c < d; c++)
      out[(size_t)j * d + c] = (float)((1.0 - lam) * table[(size_t)i0 * d + c] + lam * table[(size_t)i1 * d + c]);
  }
}
