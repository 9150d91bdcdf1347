/* fg_check.h - the one-line checks of the foreground tests (CPU and GPU).
 * Owns: check() (prints "ok"/"FAIL" and a message, counts failures) and max_diff(). */
#ifndef VM_FG_CHECK_H
#define VM_FG_CHECK_H

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static int failures = 0;

static void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(bool ok, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("%s ", ok ? "ok  " : "FAIL");
  vprintf(fmt, ap);
  printf("\n");
  va_end(ap);
  if (!ok) failures++;
}

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
