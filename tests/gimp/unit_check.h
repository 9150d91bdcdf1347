/* unit_check.h - the tiny reporting helper the plug-in's unit tests share.
 * Owns: printing one PASS/FAIL line per check and counting failures. */
#ifndef VMP_UNIT_CHECK_H
#define VMP_UNIT_CHECK_H

#include <stdarg.h>
#include <stdio.h>

typedef struct unit_tally {
  int passed;
  int failed;
} unit_tally;

/* Prints "PASS what" or "FAIL what" and counts it; returns `ok` so callers can stop early. */
static inline int unit_check(unit_tally *t, int ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static inline int unit_check(unit_tally *t, int ok, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs(ok ? "PASS " : "FAIL ", stdout);
  vprintf(fmt, ap);
  fputc('\n', stdout);
  va_end(ap);
  if (ok)
    t->passed++;
  else
    t->failed++;
  return ok;
}

/* The exit status for meson: 0 when everything passed. */
static inline int unit_finish(const unit_tally *t, const char *suite) {
  printf("%s: %d passed, %d failed\n", suite, t->passed, t->failed);
  return t->failed ? 1 : 0;
}

/* A small deterministic generator (xorshift64*), so failures reproduce. */
static inline unsigned unit_rand(unsigned long long *state) {
  unsigned long long x = *state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *state = x;
  return (unsigned)((x * 2685821657736338717ULL) >> 33);
}

#endif
