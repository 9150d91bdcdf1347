/* compare_alpha.c - compares alpha files the CLI wrote, read through libpng/libtiff directly.
 * Owns: "same within a tolerance" (any two alphas, scaled to 0..1) and "this PNG is that TIFF, quantized". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_image_files.h"

static double scale(const test_alpha *a) {
  return a->bits == 8 ? 1.0 / 255.0 : a->bits == 16 ? 1.0 / 65535.0 : 1.0;
}

int main(int argc, char **argv) {
  const int quantized = argc == 4 && strcmp(argv[1], "--quantized") == 0;
  if (!quantized && argc != 4) {
    fprintf(stderr, "usage: compare_alpha A B MAX_ABS_DIFF | compare_alpha --quantized FLOAT.tif ALPHA.png\n");
    return 2;
  }
  const char *first = quantized ? argv[2] : argv[1], *second = quantized ? argv[3] : argv[2];
  test_alpha a, b;
  if (test_read_alpha(first, &a) != 0 || test_read_alpha(second, &b) != 0) return 1;
  if (a.width != b.width || a.height != b.height) {
    printf("sizes differ: %dx%d vs %dx%d\n", a.width, a.height, b.width, b.height);
    return 1;
  }
  const size_t n = (size_t)a.width * (size_t)a.height;
  int failed = 0;
  if (quantized) {
    /* b must hold round(clamp(a) * max) exactly, and a must really be floats (not already quantized). */
    const double top = b.bits == 8 ? 255.0 : 65535.0;
    size_t differ = 0, off_grid = 0;
    for (size_t i = 0; i < n; i++) {
      const double v = a.values[i] < 0 ? 0 : a.values[i] > 1 ? 1 : a.values[i];
      if (b.values[i] != floor(v * top + 0.5)) differ++;
      if (fabs(a.values[i] * 255.0 - floor(a.values[i] * 255.0 + 0.5)) > 1e-3) off_grid++;
    }
    printf("%d-bit PNG vs float TIFF: %zu of %zu samples differ from round(clamp(a) * %g); %zu floats are not "
           "multiples of 1/255\n",
           b.bits, differ, n, top, off_grid);
    failed = b.bits == 32 || a.bits != 32 || differ != 0 || off_grid == 0;
  } else {
    const double tolerance = atof(argv[3]);
    double max_diff = 0.0;
    for (size_t i = 0; i < n; i++) {
      const double d = fabs(a.values[i] * scale(&a) - b.values[i] * scale(&b));
      if (!(d <= max_diff)) max_diff = isnan(d) ? INFINITY : d;
    }
    printf("max abs diff %.3g over %zu pixels (allowed %.3g)\n", max_diff, n, tolerance);
    failed = !(max_diff <= tolerance);
  }
  test_alpha_free(&a);
  test_alpha_free(&b);
  return failed;
}
