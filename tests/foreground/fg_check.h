/* fg_check.h - what the foreground tests (CPU and GPU) compare with.
 * Owns: max_diff(); the checks themselves report through tests/loader/check.h. */
#ifndef VM_FG_CHECK_H
#define VM_FG_CHECK_H

#include <math.h>
#include <stddef.h>

/* Largest |a - b|; a NaN makes it NaN, which fails every bound. */
static double max_diff(const float *a, const float *b, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; i++) {
    const double d = fabs((double)a[i] - (double)b[i]);
    if (!(d <= m)) m = d;
  }
  return m;
}

#endif
