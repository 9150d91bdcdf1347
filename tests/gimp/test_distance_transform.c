/* test_distance_transform.c - checks the exact distance transform against brute force.
 * Owns: random and edge-case grids compared pixel by pixel with an O(n^2) reference. */
#include "distance_transform.h"
#include "unit_check.h"

#include <stdint.h>
#include <stdlib.h>

/* The reference: the minimum over all marked pixels, computed directly in 64-bit integers. */
static void brute_force(const uint8_t *marked, int w, int h, double *out) {
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      long long best = -1;
      for (int qy = 0; qy < h; qy++)
        for (int qx = 0; qx < w; qx++)
          if (marked[qy * w + qx]) {
            long long d = (long long)(x - qx) * (x - qx) + (long long)(y - qy) * (y - qy);
            if (best < 0 || d < best)
              best = d;
          }
      out[y * w + x] = best < 0 ? -1.0 : (double)best;
    }
}

/* Compares one grid; returns the number of mismatching pixels. */
static int compare(const uint8_t *marked, int w, int h) {
  float *got = malloc((size_t)w * h * sizeof *got);
  double *want = malloc((size_t)w * h * sizeof *want);
  int bad = 0;
  if (!got || !want || vmp_edt_squared(marked, w, h, got) != 0) {
    bad = -1;
  } else {
    brute_force(marked, w, h, want);
    for (int i = 0; i < w * h; i++) {
      int ok = want[i] < 0 ? got[i] >= VMP_EDT_FAR : (double)got[i] == want[i];
      if (!ok)
        bad++;
    }
  }
  free(got), free(want);
  return bad;
}

int main(void) {
  unit_tally t = {0, 0};
  unsigned long long rng = 0x9e3779b97f4a7c15ULL;

  /* Random grids of many shapes and densities, including 1-wide and 1-tall ones. */
  static const int sizes[][2] = {{1, 1}, {1, 17}, {23, 1}, {7, 5}, {16, 16}, {31, 9}, {40, 33}, {64, 3}};
  static const int densities[] = {0, 1, 5, 30, 90, 100};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    for (size_t d = 0; d < sizeof densities / sizeof densities[0]; d++) {
      int w = sizes[s][0], h = sizes[s][1];
      uint8_t *m = malloc((size_t)w * h);
      for (int i = 0; i < w * h; i++)
        m[i] = (uint8_t)((int)(unit_rand(&rng) % 100) < densities[d]);
      int bad = compare(m, w, h);
      unit_check(&t, bad == 0, "distance transform equals brute force on a %dx%d grid, %d%% marked (%d mismatches)", w,
                 h, densities[d], bad);
      free(m);
    }
  }

  /* A single marked pixel in a corner: the farthest pixel has the diagonal distance. */
  {
    enum { W = 300, H = 200 };
    uint8_t *m = calloc((size_t)W * H, 1);
    float *got = malloc((size_t)W * H * sizeof *got);
    m[0] = 1;
    vmp_edt_squared(m, W, H, got);
    double far = (double)(W - 1) * (W - 1) + (double)(H - 1) * (H - 1);
    unit_check(&t,
               got[(size_t)W * H - 1] == (float)far && got[0] == 0.0f && got[1] == 1.0f && got[W] == 1.0f &&
                   got[W + 1] == 2.0f,
               "one marked corner pixel: d^2 = 0, 1, 1, 2 next to it and %.0f at the opposite corner (got %.0f)", far,
               (double)got[(size_t)W * H - 1]);
    free(m), free(got);
  }

  /* Nothing marked: every distance is "far". */
  {
    uint8_t m[12] = {0};
    float got[12];
    vmp_edt_squared(m, 4, 3, got);
    int all_far = 1;
    for (int i = 0; i < 12; i++)
      all_far &= got[i] >= VMP_EDT_FAR;
    unit_check(&t, all_far, "no marked pixel: every distance is VMP_EDT_FAR");
  }
  return unit_finish(&t, "distance_transform");
}
