/* error.h - filling a vm_error: the one way the engine and its backends report failures.
 * Owns: vm_fail (format a message, return the status) and the status names. */
#ifndef VM_ERROR_H
#define VM_ERROR_H

#include "vitmatte.h"

#if defined(__GNUC__)
#define VM_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define VM_PRINTF(a, b)
#endif

/* Sets err (if not NULL) to `status` and the formatted message; returns `status`. */
vm_status vm_fail(vm_error *err, vm_status status, const char *fmt, ...) VM_PRINTF(3, 4);

/* Clears err to VM_OK and an empty message. */
void vm_error_clear(vm_error *err);

#endif
