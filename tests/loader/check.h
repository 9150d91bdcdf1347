/* check.h - how the loader tests report: one line per check ("ok   ..." or "FAIL ..."), a count, an exit code.
 * Owns: the checker (pass/fail counts) and the expectations on a vm_status + message. */
#ifndef VM_TEST_CHECK_H
#define VM_TEST_CHECK_H

#include <stdbool.h>

#include "vitmatte.h"

typedef struct checker {
  int passed;
  int failed;
} checker;

#if defined(__GNUC__)
#define CHECK_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CHECK_PRINTF(a, b)
#endif

/* "VM_ERR_FORMAT", ...: the enum names, so a line says exactly which status came back. */
const char *check_status_name(vm_status s);

/* Passes when `ok`; prints the formatted description either way. */
bool check_true(checker *c, bool ok, const char *fmt, ...) CHECK_PRINTF(3, 4);

/* Passes when `got` is `want` and, for failures, the message contains every non-NULL needle. */
bool check_status(checker *c, const char *what, vm_status got, const vm_error *err, vm_status want,
                  const char *needle1, const char *needle2);

/* Prints the summary; returns the process exit code (0 only when nothing failed). */
int check_finish(const checker *c, const char *suite);

#endif
