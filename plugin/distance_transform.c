/* distance_transform.c - exact Euclidean distance transform (Felzenszwalb & Huttenlocher, 2012).
 * Owns: the column pass (binary, two scans) and the row pass (lower envelope of parabolas). */
#include "distance_transform.h"

#include <math.h>
#include <stdlib.h>

/* The 1-D transform d(p) = min_q ((p - q)^2 + f(q)) over the q with finite f (f >= VMP_EDT_FAR means "no
 * parabola here"), by building the lower envelope of the parabolas rooted at those q. Double precision keeps
 * the intersection abscissae exact for any grid a GIMP image can have. */
static void edt_1d(const double *f, int n, double *d, int *v, double *z) {
  int k = -1;
  for (int q = 0; q < n; q++) {
    if (f[q] >= VMP_EDT_FAR)
      continue;
    double s = -INFINITY;
    while (k >= 0) {
      s = ((f[q] + (double)q * q) - (f[v[k]] + (double)v[k] * v[k])) / (2.0 * q - 2.0 * v[k]);
      if (s <= z[k]) {
        k--;
        s = -INFINITY;
      } else {
        break;
      }
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = INFINITY;
  }
  if (k < 0) {
    for (int p = 0; p < n; p++)
      d[p] = VMP_EDT_FAR;
    return;
  }
  int j = 0;
  for (int p = 0; p < n; p++) {
    while (z[j + 1] < p)
      j++;
    double dp = (double)(p - v[j]);
    d[p] = dp * dp + f[v[j]];
  }
}

int vmp_edt_squared(const uint8_t *marked, int width, int height, float *sq_dist) {
  if (width <= 0 || height <= 0)
    return 0;
  size_t w = (size_t)width;
  int *last_marked = malloc(w * sizeof *last_marked); /* per column: the row of the last marked pixel seen */
  /* The 1-D buffers serve the row pass only (the column pass needs none), so one row's worth is enough. */
  double *f = malloc(w * sizeof *f);
  double *d = malloc(w * sizeof *d);
  int *v = malloc(w * sizeof *v);
  double *z = malloc((w + 1) * sizeof *z);
  if (!last_marked || !f || !d || !v || !z) {
    free(last_marked), free(f), free(d), free(v), free(z);
    return -1;
  }

  /* Columns: the input is binary, so the vertical distance to the nearest marked pixel is the smaller of the
   * run lengths up and down; two row-major scans keep the memory access sequential. The linear distance is
   * stored (exact in a float up to 2^24 rows) and squared in the row pass. */
  const float none = VMP_EDT_FAR;
  for (size_t x = 0; x < w; x++)
    last_marked[x] = -1;
  for (int y = 0; y < height; y++) {
    const uint8_t *m = marked + (size_t)y * w;
    float *g = sq_dist + (size_t)y * w;
    for (size_t x = 0; x < w; x++) {
      if (m[x])
        last_marked[x] = y;
      g[x] = last_marked[x] < 0 ? none : (float)(y - last_marked[x]);
    }
  }
  for (size_t x = 0; x < w; x++)
    last_marked[x] = -1;
  for (int y = height - 1; y >= 0; y--) {
    const uint8_t *m = marked + (size_t)y * w;
    float *g = sq_dist + (size_t)y * w;
    for (size_t x = 0; x < w; x++) {
      if (m[x])
        last_marked[x] = y;
      if (last_marked[x] >= 0 && (float)(last_marked[x] - y) < g[x])
        g[x] = (float)(last_marked[x] - y);
    }
  }

  /* Rows: the full 2-D distance is the lower envelope of parabolas rooted at the column distances. */
  for (int y = 0; y < height; y++) {
    float *g = sq_dist + (size_t)y * w;
    for (int x = 0; x < width; x++)
      f[x] = g[x] >= none ? VMP_EDT_FAR : (double)g[x] * (double)g[x];
    edt_1d(f, width, d, v, z);
    for (int x = 0; x < width; x++)
      g[x] = d[x] >= VMP_EDT_FAR ? none : (float)d[x];
  }

  free(last_marked), free(f), free(d), free(v), free(z);
  return 0;
}
